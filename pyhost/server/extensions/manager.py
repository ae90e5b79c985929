"""The extensions of a running server: the installed (managed) ones, whose processes pyhost
launches and supervises, and the unmanaged ones that API clients register.

Every process is started, watched and stopped by one supervision thread (see
:mod:`~pyhost.server.extensions.supervisor`); the methods here hand it commands and wait.
Each managed process gets its own API session (kind ``"extension"``, permissions
:data:`EXTENSION_PERMISSIONS`, not admin), valid only while the process runs: its token ends
when the process does.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from pyhost.server.extensions import package
from pyhost.server.extensions.layout import Layout
from pyhost.server.extensions.package import PackageError, PackageInfo
from pyhost.server.extensions.process import STOP_TIMEOUT_S, ExtensionProcess
from pyhost.server.extensions.setting_values import ExtensionSettings, SettingsStore
from pyhost.server.extensions.supervisor import EXTENSION_PERMISSIONS, Supervisor
from pyhost.server.protocol import ApiError

log = logging.getLogger("pyhost.extensions")
__all__ = ["EXTENSION_PERMISSIONS", "Extension", "ExtensionManager", "Options"]



def default_engines() -> dict[str, tuple[str, ...]]:
    """AirDC++'s engines: node ("nodejs" or "node" in PATH) and python3 (the interpreter
    running pyhost first, so Python extensions see pyhost's packages, then "python3",
    "python")."""
    return {"node": ("nodejs", "node"), "python3": (sys.executable, "python3", "python")}


@dataclass
class Options:
    engines: dict = field(default_factory=default_engines)
    restart_delay: float = 3.0      # after a restart request (exit code 124, 74, 75)
    backoff_initial: float = 1.0    # after the first failure; doubled for each next one
    backoff_max: float = 60.0
    max_failures: int = 5           # failures in a row before "crashed"
    stable_after: float = 60.0      # a run this long resets the count of failures
    stop_timeout: float = STOP_TIMEOUT_S
    ready_timeout: float = 5.0      # AirDC++'s extensions_init_timeout (1-60 s)
    debug: bool = False             # --debug for the extensions
    poll_interval: float = 0.1


@dataclass
class Extension:
    name: str
    info: PackageInfo
    managed: bool
    settings: ExtensionSettings
    session: Any = None
    process: Optional[ExtensionProcess] = None
    state: str = "stopped"   # stopped, running, restarting, crashed, failed
    ready: bool = False
    failures: int = 0
    exit_code: Optional[int] = None
    reason: str = ""
    restart_at: Optional[float] = None
    engine: str = ""
    session_since: float = 0.0  # the session's last_activity when it was made

    @property
    def running(self) -> bool:
        return self.process is not None if self.managed else self.session is not None

    def connected(self) -> bool:
        """Its session has a socket, or has made a request (a REST-only extension)."""
        s = self.session
        return s is not None and (bool(s.sockets) or s.last_activity > self.session_since)


class ExtensionManager:
    def __init__(self, server: Any, options: Optional[Options] = None):
        self.server = server
        self.layout = Layout(server.host.home)
        self.options = options or Options()
        self.api_url: Optional[str] = None   # --apiUrl; None: extensions cannot be launched
        self.launch_problem = "the Web API is not listening"
        self._lock = threading.RLock()
        self._extensions: dict[str, Extension] = {}
        self.on_change: list[Callable[[str, Extension, Any], None]] = []
        self.supervisor = Supervisor(self)

    # -- the list ------------------------------------------------------------------------
    def load(self) -> None:
        """Reads the installed extensions (a package that no longer loads is logged)."""
        for name in self.layout.names():
            try:
                info = package.load(self.layout.package(name), self.feature_level)
            except PackageError as exc:
                log.error("extension %s cannot be loaded: %s", name, exc)
                continue
            with self._lock:
                if name not in self._extensions:
                    self._extensions[name] = Extension(
                        name, info, True, ExtensionSettings(SettingsStore(
                            self.layout.settings(name))))

    @property
    def feature_level(self) -> int:
        return self.server.feature_level

    def all(self) -> list[Extension]:
        with self._lock:
            return list(self._extensions.values())

    def get(self, name: str) -> Extension:
        with self._lock:
            ext = self._extensions.get(name)
        if ext is None:
            raise ApiError(404, f"There is no extension {name[:100]}.")
        return ext

    def disabled(self, ext: Extension) -> bool:
        return ext.managed and self.layout.disabled(ext.name)

    def notify(self, event: str, ext: Extension, data: Any = None) -> None:
        for callback in list(self.on_change):
            try:
                callback(event, ext, data)
            except Exception:
                log.exception("extension listener failed")

    # -- managed: commands for the supervision thread ------------------------------------
    def start(self, name: str) -> Extension:
        ext = self._managed(name)
        self.supervisor.call(lambda: self.supervisor.start(ext, by_user=True))
        if ext.state == "failed":
            raise ApiError(500, f"Cannot start {name}: {ext.reason}.")
        return ext

    def stop(self, name: str) -> Extension:
        ext = self._managed(name)
        self.supervisor.call(lambda: self.supervisor.stop(ext))
        return ext

    def restart(self, name: str) -> Extension:
        ext = self._managed(name)
        self.supervisor.call(lambda: (self.supervisor.stop(ext),
                                      self.supervisor.start(ext, by_user=True)))
        if ext.state == "failed":
            raise ApiError(500, f"Cannot start {name}: {ext.reason}.")
        return ext

    def start_enabled(self) -> list[Extension]:
        """Starts every installed extension that is not disabled (at pyhost run's start)."""
        started = []
        for ext in self.all():
            if ext.managed and not self.disabled(ext):
                self.supervisor.call(lambda e=ext: self.supervisor.start(e, by_user=True))
                if ext.running:
                    started.append(ext)
        return started

    def stop_all(self) -> None:
        if self.supervisor.alive:
            self.supervisor.call(self.supervisor.stop_everything,
                                 timeout=self.options.stop_timeout * 2 + 30)
        self.supervisor.close()

    def _managed(self, name: str) -> Extension:
        ext = self.get(name)
        if not ext.managed:
            raise ApiError(400, f"{name} is an unmanaged extension: its own process runs it.")
        return ext

    def wait_ready(self, timeout: Optional[float] = None,
                   cancel: Callable[[], bool] = lambda: False) -> list[str]:
        """Waits (at most ``timeout``, default the ready timeout, or until ``cancel()``)
        until every running managed extension is ready: signalled it (signalReady) or,
        without signalReady, connected. Returns the names that were not, after reporting
        them."""
        from pyhost.server.extensions.events import ExtensionReadyTimedOut
        timeout = self.options.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout

        def waiting() -> list[Extension]:
            return [e for e in self.all() if e.managed and e.running and not (
                e.ready if e.info.signal_ready else e.connected())]
        late = waiting()
        while late and time.monotonic() < deadline and not cancel():
            time.sleep(0.02)
            late = waiting()
        for ext in late:
            what = "signal ready" if ext.info.signal_ready else "connect"
            reason = f"{ext.name} did not {what} within {timeout:g} s; start-up goes on"
            log.warning("%s", reason)
            self.server.host.events.emit(ExtensionReadyTimedOut, name=ext.name,
                                         timeout_s=timeout, reason=reason)
        return [e.name for e in late]

    def mark_ready(self, ext: Extension) -> None:
        ext.ready = True

    # -- managed: install, remove, enable ------------------------------------------------
    def installed(self, name: str) -> Extension:
        """After ``pyhost extension install`` or the API: (re)reads one package."""
        info = package.load(self.layout.package(name), self.feature_level)
        with self._lock:
            ext = self._extensions.get(name)
            if ext is not None and ext.managed:
                ext.info = info
                self.notify("extension_package_updated", ext)
                return ext
            ext = Extension(name, info, True,
                            ExtensionSettings(SettingsStore(self.layout.settings(name))))
            self._extensions[name] = ext
        self.notify("extension_added", ext)
        return ext

    def uninstall(self, name: str) -> None:
        from pyhost.server.extensions import installer
        ext = self._managed(name)
        self.supervisor.call(lambda: self.supervisor.stop(ext))
        installer.remove(self.layout.home, name)
        with self._lock:
            self._extensions.pop(name, None)
        self.notify("extension_removed", ext)

    def set_disabled(self, name: str, disabled: bool) -> Extension:
        ext = self._managed(name)
        self.layout.set_disabled(name, disabled)
        self.notify("extension_updated", ext)
        return ext

    # -- unmanaged ------------------------------------------------------------------------
    def register_remote(self, session: Any, data: Any) -> Extension:
        """POST /extensions: an API client registers itself with its package.json."""
        try:
            info = package.parse(data, self.feature_level, managed=False)
        except PackageError as exc:
            raise ApiError(400, str(exc)) from None
        with self._lock:
            existing = self._extensions.get(info.name)
            if existing is not None and existing.managed:
                raise ApiError(400, f"An extension named {info.name} is installed already.")
            ext = Extension(info.name, info, False, ExtensionSettings(None), session=session,
                            state="running")
            self._extensions[info.name] = ext
        if existing is not None:
            self.notify("extension_removed", existing)
        session.on_close.append(lambda s: self.session_closed(s))
        self.notify("extension_added", ext)
        return ext

    def unregister(self, ext: Extension) -> None:
        with self._lock:
            if self._extensions.get(ext.name) is not ext:
                return
            del self._extensions[ext.name]
        ext.session = None
        ext.state = "stopped"
        self.notify("extension_removed", ext)

    def session_closed(self, session: Any) -> None:
        """A session or one of its sockets ended: its unmanaged extensions go."""
        for ext in self.all():
            if not ext.managed and ext.session is session:
                self.unregister(ext)

    # -- sessions ------------------------------------------------------------------------
    def end_session(self, session: Any) -> None:
        """Ends a session from any thread: the token stops working now; its sockets lose
        their listeners and hooks on the server's loop."""
        server = self.server
        server.sessions.remove(session)
        loop = server.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(server.end_session, session)
                return
            except RuntimeError:
                pass
        for callback in session.on_close:
            callback(session)
        session.on_close.clear()

    def write_state(self, ext: Extension) -> None:
        if not ext.managed:
            return
        proc = ext.process
        try:
            self.layout.write_state(ext.name, {
                "state": ext.state, "pid": proc.pid if proc is not None else None,
                "exit_code": ext.exit_code, "failures": ext.failures, "reason": ext.reason,
                "host_pid": os.getpid(), "time": int(time.time())})
        except OSError as exc:
            log.warning("cannot record the state of %s: %s", ext.name, exc)
