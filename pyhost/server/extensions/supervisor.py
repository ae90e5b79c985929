"""The supervision thread: the only thread that starts, watches and stops extension
processes (so ``PR_SET_PDEATHSIG`` ties them to a thread that lives as long as pyhost).

Other threads hand it commands with :meth:`Supervisor.call`. Between commands it polls the
processes. When one ends without being asked to:

- exit code 124, 74 or 75 (the extension asks to be restarted: a dropped socket, a system
  that slept): started again after ``restart_delay`` (3 s), as AirDC++ does;
- any other code: a failure. It is started again after an exponential back-off
  (``backoff_initial`` 1 s, doubled per failure in a row, at most ``backoff_max`` 60 s);
  after ``max_failures`` (5) failures in a row it is marked ``crashed`` and left stopped,
  with a host event and a one-line reason that points at its error.log. A run that lasted
  ``stable_after`` (60 s) resets the count.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Optional

from pyhost.server.extensions import package, process
from pyhost.server.extensions.events import (
    ExtensionCrashed,
    ExtensionExited,
    ExtensionFailed,
    ExtensionStarted,
    ExtensionStopped,
)
from pyhost.server.extensions.layout import ERROR_LOG, LOG_DIR
from pyhost.server.extensions.package import PackageError
from pyhost.server.extensions.watchdog import Watchdog
from pyhost.server.sessions import MAX_INACTIVITY_S
from pyhost.server.users import ApiUser

log = logging.getLogger("pyhost.extensions")

RESTART_EXIT_CODES = (124, 74, 75)
_STOP = object()

# What an extension's own session may do: chat (listen, send, hooks, status messages) in
# hubs and private chats, the event log, and reading the server settings (the official
# library reads ping_timeout at start and exits if it cannot). Not admin: no other
# sessions, no plugins, no server settings changes, no other extensions' settings, no
# replays. Its own settings and ready signal are allowed by ownership, not by permission.
EXTENSION_PERMISSIONS = ("hubs_view", "hubs_send", "hubs_edit", "private_chat_view",
                         "private_chat_send", "private_chat_edit", "events_view",
                         "events_edit", "settings_view")


def backoff_delay(failures: int, initial: float, maximum: float) -> float:
    """Seconds before the next start after ``failures`` failures in a row (1, 2, 4, ...)."""
    return min(maximum, initial * 2 ** max(0, failures - 1))


class Supervisor:
    def __init__(self, manager: Any):
        self.m = manager
        self._queue: queue.Queue = queue.Queue()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._closed = False
        self._watchdog: Optional[Watchdog] = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def call(self, fn: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Runs ``fn`` on the supervision thread and returns its result."""
        if threading.current_thread() is self._thread:
            return fn()
        with self._lock:
            if self._closed:
                raise RuntimeError("the extension supervisor has stopped")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="pyhost-extensions")
                self._thread.start()
            future: Future = Future()
            self._queue.put((fn, future))
        return future.result(timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout=60)
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.m.options.poll_interval)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            if item is not None:
                fn, future = item
                try:
                    future.set_result(fn())
                except BaseException as exc:
                    future.set_exception(exc)
            try:
                self._check()
            except Exception:
                log.exception("extension supervision failed")

    # -- on the supervision thread --------------------------------------------------------
    def start(self, ext: Any, by_user: bool = False) -> None:
        if ext.process is not None:
            return
        if by_user:
            ext.failures = 0
        ext.restart_at = None
        m = self.m
        root = m.layout.root(ext.name)
        session = None
        try:
            if m.api_url is None:
                raise ValueError(m.launch_problem)
            info = package.load(m.layout.package(ext.name), m.feature_level)
            ext.info = info
            engine = process.resolve_engine(info.engines, m.options.engines)
            session = m.server.sessions.create(ApiUser(ext.name, EXTENSION_PERMISSIONS),
                                               MAX_INACTIVITY_S, kind="extension")
            launch = process.build(engine, root, package.entry_path(m.layout.package(ext.name),
                                                                    info),
                                   ext.name, m.api_url, session.token, m.options.debug,
                                   info.signal_ready, os.getpid())
            if self._watchdog is None:
                self._watchdog = Watchdog()
            ext.process = process.ExtensionProcess(launch)
            self._watchdog.watch(ext.process.pid)  # its group id: it leads a session
        except (PackageError, ValueError, OSError) as exc:
            if session is not None:
                m.end_session(session)
            reason = getattr(exc, "strerror", None) or str(exc)
            ext.state, ext.reason = "failed", reason.rstrip(".")
            log.error("extension %s cannot be started: %s", ext.name, ext.reason)
            m.server.host.events.emit(ExtensionFailed, name=ext.name, reason=ext.reason)
            m.write_state(ext)
            m.notify("extension_updated", ext)
            return
        ext.session, ext.session_since = session, session.last_activity
        ext.state, ext.reason, ext.ready, ext.engine = "running", "", False, engine[0]
        m.server.host.events.emit(ExtensionStarted, name=ext.name, pid=ext.process.pid,
                                  engine=engine[0])
        m.write_state(ext)
        m.notify("extension_started", ext)

    def stop(self, ext: Any) -> None:
        ext.restart_at = None
        proc = ext.process
        if proc is None:
            if ext.state in ("crashed", "restarting", "failed"):
                ext.state = "stopped"
                self.m.write_state(ext)
                self.m.notify("extension_updated", ext)
            return
        code = proc.stop(self.m.options.stop_timeout, self._progress)
        self._ended(ext, code)
        ext.state, ext.reason = "stopped", ""
        self.m.server.host.events.emit(ExtensionStopped, name=ext.name, exit_code=code)
        self.m.write_state(ext)
        self.m.notify("extension_stopped", ext)

    def _progress(self) -> None:
        """A stop that waits for a process is progress (the command line's stopper ends a
        pyhost that makes none for 5 s after Ctrl-C)."""
        host = self.m.server.host
        host.progress = getattr(host, "progress", 0) + 1

    def stop_everything(self) -> None:
        for ext in self.m.all():
            if ext.managed:
                self.stop(ext)

    def _ended(self, ext: Any, code: int) -> None:
        proc = ext.process
        proc.stop(0)  # what is left of its process group goes too
        if self._watchdog is not None:
            self._watchdog.forget(proc.pid)
        ext.process = None
        ext.exit_code = code
        ext.ready = False
        ext.settings.reset()  # AirDC++ forgets definitions; the next run posts them again
        if ext.session is not None:
            self.m.end_session(ext.session)
            ext.session = None

    def _check(self) -> None:
        now = time.monotonic()
        for ext in self.m.all():
            if not ext.managed:
                continue
            proc = ext.process
            if proc is not None:
                code = proc.poll()
                if code is not None:
                    self._exited(ext, code, now - proc.started)
                elif ext.settings.changed_on_disk():
                    applied = ext.settings.take_pending()
                    if applied:
                        self.m.notify("extension_settings_updated", ext, applied)
            elif ext.restart_at is not None and now >= ext.restart_at:
                self.start(ext)

    def _exited(self, ext: Any, code: int, uptime: float) -> None:
        m, o = self.m, self.m.options
        self._ended(ext, code)
        error_log = m.layout.root(ext.name) / LOG_DIR / ERROR_LOG
        if code in RESTART_EXIT_CODES:
            delay = o.restart_delay
            reason = f"{ext.name} asked to be restarted (exit code {code})"
        else:
            if uptime >= o.stable_after:
                ext.failures = 0
            ext.failures += 1
            if ext.failures >= o.max_failures:
                ext.state = "crashed"
                ext.reason = (f"{ext.name} exited with code {code}, {ext.failures} failures "
                              f"in a row; it is not restarted (see {error_log})")
                log.error("%s", ext.reason)
                m.server.host.events.emit(ExtensionCrashed, name=ext.name, exit_code=code,
                                          failures=ext.failures, reason=ext.reason)
                m.write_state(ext)
                m.notify("extension_stopped", ext)
                return
            delay = backoff_delay(ext.failures, o.backoff_initial, o.backoff_max)
            reason = f"{ext.name} exited with code {code} (see {error_log})"
        ext.state, ext.reason = "restarting", reason
        ext.restart_at = time.monotonic() + delay
        log.warning("%s; starting it again in %g s", reason, delay)
        m.server.host.events.emit(ExtensionExited, name=ext.name, exit_code=code,
                                  failures=ext.failures, restart_in_s=delay, reason=reason)
        m.write_state(ext)
        m.notify("extension_stopped", ext)
