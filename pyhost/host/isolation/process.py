"""An isolated plugin: what the host sees as the Plugin, with the library in a runner process.

:class:`IsolatedPlugin` has the same face as a :class:`~pyhost.host.loader.NativePlugin`
(metadata, ``main(state, core)``, ``close()``); the host drives its lifecycle the same way.
Behind it is one :class:`RunnerProcess` at a time. A thread per process waits for the
process to end; an end nobody asked for is a crash, handed to the crash handler
(pyhost.host.isolation.crashes), which may start the next process with :meth:`restart`.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any, Callable, Optional

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.meta import STATE_NAMES, PluginMeta
from pyhost.host.isolation.options import IsolationOptions, ns
from pyhost.host.isolation.wire import Reader, WireError
from pyhost.host.loader import InspectionCache, PluginError, _read_meta, inspect_plugin_file

log = logging.getLogger("pyhost.isolation")

LOAD_STATES = (lib.ON_INSTALL, lib.ON_LOAD, lib.ON_LOAD_RUNTIME)
UNLOAD_STATES = (lib.ON_UNLOAD, lib.ON_UNINSTALL)
_STOP_WAIT_S = 5.0


def describe_status(status: Optional[int]) -> tuple[Optional[str], Optional[int]]:
    """(signal name, exit code) of a wait status; one of them is None."""
    if status is None or status < 0:
        return None, None
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return signal.Signals(number).name, None
        except ValueError:
            return f"signal {number}", None
    if os.WIFEXITED(status):
        return None, os.WEXITSTATUS(status)
    return None, None


class RunnerProcess:
    """One pyhost-runner process, its channel, and the thread that waits for its end.

    When the process ends, the waiting thread first captures what the native side knows
    about the end (what it was doing, whether it was killed for a deadline, the record of
    the last calls), then sets :attr:`exited`; the channel and the plugin's native state
    stay valid until then, because closing waits for :attr:`exited`.
    """

    def __init__(self, native_plugin, runner_path: str,
                 on_exit: Callable[["RunnerProcess"], None]):
        err = ffi.new("char[512]")
        self.channel = lib.phn_iso_spawn(native_plugin, runner_path.encode(), err, len(err))
        if self.channel == ffi.NULL:
            raise PluginError(ffi.string(err).decode("utf-8", "replace") + ".")
        self._native = native_plugin
        self.pid = lib.phn_iso_pid(self.channel)
        self.status: Optional[int] = None
        self.what: Optional[str] = None      # the call that failed when it died
        self.deadline = False                # killed for missing a deadline
        self.history: Optional[bytes] = None  # the native record of the last calls
        self.expected = False  # set when it acknowledged SHUTDOWN, or we killed it to stop
        self.exited = threading.Event()
        self.reported = threading.Event()  # its end was reported (or needed no report)
        self._freed = False
        self._on_exit = on_exit
        threading.Thread(target=self._wait, name=f"pyhost-runner-{self.pid}",
                         daemon=True).start()

    def _wait(self) -> None:
        self.status = lib.phn_iso_wait(self.channel)  # blocks without the GIL
        try:
            self.what, self.deadline = _crash_info(self.channel)
            if not self.expected:
                self.history = _history(self._native)
        finally:
            self.exited.set()
        if not self.expected:
            try:
                self._on_exit(self)
            except Exception:  # never let a crash report take the waiter thread down
                log.exception("handling the end of runner %d failed", self.pid)
        self.reported.set()

    @property
    def alive(self) -> bool:
        return not self.exited.is_set()

    def settle(self, timeout: float) -> None:
        """If it is dead, waits (at most ``timeout``) until its end has been reported."""
        if not self._freed and lib.phn_iso_dead(self.channel):
            self.reported.wait(timeout)

    def describe(self) -> str:
        """"SIGSEGV", "exit status 3", "killed after missing its deadline"..."""
        sig, code = describe_status(self.status)
        if self.deadline:
            return "killed after missing its deadline"
        if sig is not None:
            return sig
        return f"exit status {code}" if code is not None else "ended"

    def stop(self, budget_s: float) -> None:
        """Closes the plugin in the runner and lets the process exit; kills it if it does
        not go in time."""
        if self.alive:
            if lib.phn_iso_shutdown(self.channel, ns(budget_s)) == 0:
                self.expected = True
            lib.phn_iso_hangup(self.channel)
            if not self.exited.wait(_STOP_WAIT_S):
                self.expected = True
                lib.phn_iso_kill(self.channel)
        self.exited.wait(_STOP_WAIT_S)

    def free(self) -> None:
        if not self._freed and self.exited.is_set():
            self._freed = True
            lib.phn_iso_channel_free(self.channel)


def _crash_info(channel) -> tuple[Optional[str], bool]:
    blob = ffi.new("phn_iso_blob*")
    deadline = ffi.new("int*")
    lib.phn_iso_crash_info(channel, blob, deadline)
    what = None
    if blob.data != ffi.NULL:
        what = ffi.unpack(ffi.cast("char*", blob.data), blob.len).decode("utf-8", "replace")
        lib.phn_iso_blob_free(blob)
    return what, bool(deadline[0])


def _history(native) -> Optional[bytes]:
    blob = ffi.new("phn_iso_blob*")
    if lib.phn_iso_history(native, blob) != 0:
        return None
    try:
        return ffi.unpack(ffi.cast("char*", blob.data), blob.len)
    finally:
        lib.phn_iso_blob_free(blob)


class IsolatedPlugin:
    """A compiled plugin whose library is loaded by a runner process (see the module)."""

    kind = "native"
    isolated = True

    def __init__(self, path: Path, options: IsolationOptions, bus,
                 on_crash: Callable[["IsolatedPlugin", RunnerProcess], None]):
        self.path = path
        self.options = options
        self.meta: Optional[PluginMeta] = None
        self.native = lib.phn_iso_plugin_new(bus.native, path.name.encode(), options.history)
        if self.native == ffi.NULL:
            raise MemoryError("out of memory for an isolated plugin")
        for prefix, seconds in options.deadlines.items():
            lib.phn_iso_plugin_deadline(self.native, prefix.encode(), ns(seconds))
        lib.phn_iso_plugin_deadline(self.native, b"", ns(options.default_deadline))
        lib.phn_iso_plugin_budgets(self.native, ns(options.lifecycle_deadline),
                                   ns(options.call_deadline))
        for prefix in options.async_hooks:
            lib.phn_iso_plugin_async(self.native, prefix.encode())
        self.runner: Optional[RunnerProcess] = None
        self.active = False        # a load state succeeded and no unload state came yet
        self.crashes_in_row = 0
        self.calls_mark = 0        # answered hook calls when the crash count last moved
        self._core: Any = None
        self._on_crash = on_crash
        self._closed = False
        self._dead_runners: list[RunnerProcess] = []
        # Held while the native state is used from outside the host's lock (interface
        # resolution) and while it is freed.
        self.native_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.meta.name if self.meta is not None else self.path.name

    @classmethod
    def open(cls, path, *, options: IsolationOptions, bus,
             on_crash: Callable[["IsolatedPlugin", RunnerProcess], None],
             inspected: Optional[InspectionCache] = None) -> "IsolatedPlugin":
        """Inspects the file, then starts a runner that dlopens it and calls pluginInit;
        raises PluginError (nothing left running) when it is not a plugin this host can
        load, or when it crashes on the way."""
        path = inspect_plugin_file(path, inspected)
        plugin = cls(path, options, bus, on_crash)
        try:
            plugin.meta = plugin._start()
        except BaseException:
            plugin.close()
            raise
        return plugin

    # -- the runner process ----------------------------------------------------------------
    def _start(self) -> PluginMeta:
        runner = RunnerProcess(self.native, self.options.runner_path(), self._exited)
        self.runner = runner
        blob = ffi.new("phn_iso_blob*")
        rc = lib.phn_iso_open(runner.channel, os.fsencode(self.path),
                              ns(self.options.lifecycle_deadline), blob)
        if rc < 0:
            runner.exited.wait(_STOP_WAIT_S)
            raise PluginError(f"{self.path.name} crashed in pluginInit ({runner.describe()}).")
        try:
            data = ffi.unpack(ffi.cast("char*", blob.data), blob.len)
        finally:
            lib.phn_iso_blob_free(blob)
        try:
            meta = _parse_open(self.path.name, data)
        except BaseException:
            runner.stop(self.options.lifecycle_deadline)
            raise
        lib.phn_iso_activate(runner.channel)
        return meta

    def _exited(self, runner: RunnerProcess) -> None:
        if not self._closed:
            self._on_crash(self, runner)

    def restart(self) -> str:
        """Starts a new runner after a crash and loads the plugin in it again
        (ON_LOAD_RUNTIME): "ok", "refused" (main returned False, or it is another plugin
        now) or "crashed" (its own end is reported like any crash)."""
        if self._closed:
            return "refused"
        old = self.runner
        if old is not None:
            self._dead_runners.append(old)
        try:
            meta = self._start()
        except PluginError as exc:
            if self.runner is not None and not self.runner.alive:
                return "crashed"
            log.error("%s", exc)
            return "refused"
        if self.meta is not None and meta.guid != self.meta.guid:
            self.runner.stop(self.options.lifecycle_deadline)
            return "refused"
        rc = lib.phn_iso_main(self.runner.channel, lib.ON_LOAD_RUNTIME,
                              ns(self.options.lifecycle_deadline))
        if rc < 0:
            return "crashed"
        return "ok" if rc == 1 else "refused"

    # -- the Plugin face ---------------------------------------------------------------------
    def main(self, state: int, core: Any, data: Any = None) -> bool:
        if core is not None:
            self._core = core  # kept: the host serves the runner's calls through it
            lib.phn_iso_plugin_set_core(self.native, core)
        if state in UNLOAD_STATES:
            self.active = False  # a crash from here on is not restarted
        runner = self.runner
        if runner is None or not runner.alive:
            if state in UNLOAD_STATES:
                return True  # nothing of it is mapped anywhere any more
            raise PluginError(f"{self.name} is not running (its runner process ended).")
        rc = lib.phn_iso_main(runner.channel, state, ns(self.options.lifecycle_deadline))
        if rc >= 0:
            if state in LOAD_STATES and rc == 1:
                self.active = True
            return rc == 1
        runner.exited.wait(_STOP_WAIT_S)
        if state in UNLOAD_STATES:
            return True
        if state == lib.ON_CONFIGURE:
            return False
        raise PluginError(f"{self.name} crashed in {STATE_NAMES.get(state, state)} "
                          f"({runner.describe()}).")

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stops the runner; the native state goes once no dispatch can reach it."""
        if self._closed:
            return
        self._closed = True
        self.active = False
        for runner in [*self._dead_runners, self.runner]:
            if runner is not None:
                runner.stop(self.options.lifecycle_deadline)
                runner.free()
        with self.native_lock:
            lib.phn_iso_plugin_free(self.native)
            self.native = ffi.NULL

    @property
    def pid(self) -> Optional[int]:
        """The runner's process id while it runs."""
        runner = self.runner
        return runner.pid if runner is not None and runner.alive else None

    def __repr__(self) -> str:
        return f"<IsolatedPlugin {self.name} pid={self.pid}>"


def _parse_open(name: str, data: bytes) -> PluginMeta:
    """The runner's answer to OPEN (native/isolation/runner/runner_serve.c), validated by
    the loader's own rules so an isolated plugin is refused exactly like one in process."""
    r = Reader(data)
    try:
        status = r.u32()
        if status == 1:
            raise PluginError(f"{name} could not be opened: {r.str()}.")
        if status == 2:
            raise PluginError(f"{name} does not export pluginInit.")
        if status != 0:
            raise PluginError(f"{name}: the runner refused to open it ({r.str()}).")
        has_main = r.u32()
        fields = [r.raw() for _ in range(5)]
        api_version = r.u32()
        version = r.f64()
        count = r.u32()
        present = r.u32()
        deps = [r.raw() for _ in range(count)] if present and count <= 1024 else []
    except WireError as exc:
        raise PluginError(f"{name}: garbled answer from the runner ({exc}).") from None
    keep = [ffi.new("char[]", f) if f is not None else ffi.NULL for f in fields + deps]
    info = ffi.new("MetaData*")
    info.name, info.author, info.description, info.web, info.guid = keep[:5]
    dep_array = ffi.new("const char*[]", keep[5:]) if deps else ffi.NULL
    info.dependencies = dep_array if present else ffi.NULL
    info.numDependencies = count
    info.apiVersion = api_version
    info.version = version
    main = ffi.cast("DCMAIN", 1) if has_main else ffi.NULL
    return _read_meta(name, info, main)
