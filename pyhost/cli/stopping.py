"""Stopping a command on SIGINT (Ctrl-C) or SIGTERM, even when a plugin never returns.

The first signal asks for a clean stop: ``pyhost run`` ends its run (plugins unloaded in
reverse order), other commands are interrupted (KeyboardInterrupt, then the host shuts
down). If the host makes no progress for :data:`GRACE` seconds after that, or a second
signal comes, the process ends at once (exit status 128 + the signal's number) with one
line naming the plugin and the hook or lifecycle state that did not return.

A plugin stuck in C holds the main thread where Python signal handlers never run: the
signals are therefore read by a watcher thread from the interpreter's wakeup file
descriptor (written by the C-level handler whatever the main thread is doing).
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from typing import Any, Callable, Optional

from pyhost.abi import interrupts

GRACE = 5.0
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopper:
    def __init__(self, grace: float = GRACE):
        self.grace = grace
        self.requested = threading.Event()
        self.interruptible = True   # False: the command polls `requested` itself (run)
        self.hosts: list[Any] = []  # hosts whose plugins may be what does not return
        self.extra_progress: Callable[[], int] = lambda: 0
        self._count = 0
        self._saved: dict[int, Any] = {}
        self._wakeup_saved: Optional[int] = None
        self._sockets: Optional[tuple[socket.socket, socket.socket]] = None
        self._watcher: Optional[threading.Thread] = None
        self._closing = False
        self._interrupted = False  # the main thread has had its KeyboardInterrupt

    # -- installing ---------------------------------------------------------------------
    def install(self) -> "Stopper":
        if threading.current_thread() is not threading.main_thread():
            return self
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        reader.settimeout(0.2)
        self._sockets = (reader, writer)
        self._wakeup_saved = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        for signum in SIGNALS:
            self._saved[signum] = signal.signal(signum, self._python_handler)
        self._watcher = threading.Thread(target=self._watch, name="pyhost-stop", daemon=True)
        self._watcher.start()
        return self

    def uninstall(self) -> None:
        if self._sockets is None:
            return
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._wakeup_saved if self._wakeup_saved is not None else -1)
        self._closing = True
        if self._watcher is not None and self._watcher.ident is not None:
            try:
                self._watcher.join(1.0)
            except RuntimeError:  # interrupted while it was starting
                pass
        for sock in self._sockets:
            sock.close()
        self._sockets = None

    def __enter__(self) -> "Stopper":
        try:
            return self.install()
        except BaseException:  # a signal while installing: leave nothing installed
            self.uninstall()
            raise

    def __exit__(self, *exc) -> None:
        self.uninstall()

    # -- the two sides ----------------------------------------------------------------------
    def _python_handler(self, signum, frame) -> None:
        """Runs in the main thread when it runs Python: the clean stop of a command that
        does not poll `requested` is a KeyboardInterrupt. (Not judged by `requested`: the
        watcher thread, woken by the same signal, often sets it before this runs.)"""
        self.requested.set()
        handed_back = time.monotonic() - interrupts.last_redelivery < 1.0
        if self.interruptible and (not self._interrupted or handed_back):
            self._interrupted = True
            raise KeyboardInterrupt  # (handed back: a plugin's code had caught it first)

    def _watch(self) -> None:
        reader = self._sockets[0]
        deadline_base: Optional[tuple[int, float]] = None  # (progress, when) once stopping
        while not self._closing:
            try:
                data = reader.recv(64)
            except socket.timeout:
                data = b""
            except OSError:
                return
            for signum in data:
                if signum == signal.SIGINT and \
                        time.monotonic() - interrupts.last_redelivery < 1.0:
                    continue  # a KeyboardInterrupt handed back to the main thread
                self._count += 1
                self.requested.set()
                if self._count >= 2:
                    self._exit_now(signum, "a second signal")
                self._first = signum
                deadline_base = (self._progress(), time.monotonic())
            if deadline_base is not None:
                progress = self._progress()
                if progress != deadline_base[0]:
                    deadline_base = (progress, time.monotonic())
                elif time.monotonic() - deadline_base[1] >= self.grace:
                    self._exit_now(self._first, f"{self.grace:g} s without progress")

    def _progress(self) -> int:
        total = self.extra_progress()
        for host in list(self.hosts):
            total += getattr(host, "progress", 0)
        return total

    def _exit_now(self, signum: int, why: str) -> None:
        from pyhost.host.activity import describe
        stuck: list[str] = []
        for host in list(self.hosts):
            try:
                stuck += describe(host)
            except Exception:  # naming is best effort; exiting is not
                pass
        what = "; ".join(stuck) if stuck else "the command"
        name = signal.Signals(signum).name
        message = (f"pyhost: {what} did not return; stopping at once after {name} "
                   f"({why}).\n")
        try:
            os.write(sys.stderr.fileno(), message.encode("utf-8", "replace"))
            sys.stdout.flush()
        except Exception:
            pass
        os._exit(128 + signum)


#: The stopper of the command being run (main() installs it), or None.
current: Optional[Stopper] = None


def watch(host: Any) -> None:
    """Lets the current stopper name ``host``'s plugins when one does not return."""
    if current is not None:
        current.hosts.append(host)
