"""Ctrl-C inside Python code that C called (a hook subscriber, an interface method, a UI
command, a host callback): the exception cannot unwind into C, and it must not be
swallowed either. :func:`redeliver` raises it again in the main thread as soon as the C
call returns there (as if the key had been pressed again at that moment)."""
from __future__ import annotations

import _thread
import time

#: time.monotonic() of the last redelivery: a signal watcher that sees SIGINT arrive just
#: then knows it is this one, not the user pressing Ctrl-C a second time.
last_redelivery = 0.0


def redeliver() -> int:
    """Schedules the KeyboardInterrupt again in the main thread; returns 0 ("not handled"),
    the answer a trampoline gives C."""
    global last_redelivery
    last_redelivery = time.monotonic()
    _thread.interrupt_main()
    return 0
