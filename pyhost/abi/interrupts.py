"""Ctrl-C inside Python code that C called (a hook subscriber, an interface method, a UI
command, a host callback): the exception cannot unwind into C, and it must not be
swallowed either. :func:`redeliver` raises it again in the main thread right after the C
code has returned.

Why a helper thread: a Python-level interrupt set from inside the callback would be raised
at once, in the callback itself (CPython checks for pending signals after every call),
where it would be lost again. A short-lived thread sets it once the callback has returned
to C (it can only run when the main thread has released the interpreter lock, which it does
when it returns to C), so the KeyboardInterrupt surfaces in the Python code that fired the
hook, within milliseconds.
"""
from __future__ import annotations

import _thread
import logging
import signal
import threading
import time
from typing import Callable, Optional

#: time.monotonic() of the last redelivery: a signal watcher that sees SIGINT arrive just
#: then knows it is this one, not the user pressing Ctrl-C a second time.
last_redelivery = 0.0


def _interrupt_main_soon() -> None:
    time.sleep(0.001)  # let the callback return to C first
    _interrupt_main()


def _interrupt_main() -> None:
    """A real SIGINT to the main thread where Python handles SIGINT (so a blocking call
    there, a sleep or a wait, is interrupted as by Ctrl-C); else interrupt_main()."""
    global last_redelivery
    last_redelivery = time.monotonic()
    if callable(signal.getsignal(signal.SIGINT)) and hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    else:
        _thread.interrupt_main()


def redeliver() -> int:
    """Schedules the KeyboardInterrupt again in the main thread; returns 0 ("not handled"),
    the answer a trampoline gives C."""
    global last_redelivery
    last_redelivery = time.monotonic()
    if threading.current_thread() is threading.main_thread():
        _thread.start_new_thread(_interrupt_main_soon, ())
    else:
        _interrupt_main()
    return 0


def callback_errors(logger: logging.Logger, what: str) -> Callable[..., None]:
    """The ``onerror`` of an ``ffi.callback`` the host hands to C: its exception never
    unwinds into C. A KeyboardInterrupt is raised again in the main thread
    (:func:`redeliver`); anything else is logged on ``logger`` as "<what> failed: <exc>",
    with its traceback at debug level. The callback then returns 0 (NULL, nothing)."""
    def onerror(exc_type: Optional[type], exc: Optional[BaseException], tb) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            redeliver()  # never swallowed: raised again once C returns
            return None
        logger.error("%s failed: %r", what, exc)
        logger.debug("%s failed", what, exc_info=(exc_type, exc, tb))
        return None
    return onerror
