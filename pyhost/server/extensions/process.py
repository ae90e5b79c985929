"""One extension process: its command line (AirDC++'s startup arguments), its log files, and
how it is started and stopped.

The command is ``<engine> [engine arguments] <root>/package/<main> --name=<name>
--apiUrl=<host:port>/api/v1/ --authToken=<token> --logPath=<root>/logs/
--settingsPath=<root>/settings/ [--debug] [--signalReady] --appPid=<pid>``, the engine being
the first command of the package's engines found on this system. stdout goes to
``logs/output.log`` and stderr to ``logs/error.log``; the previous run's files are kept as
``.old``.

No orphans: the process runs in its own process group (stop signals the whole group); on
Linux it is asked to receive SIGTERM when the thread that started it dies
(``PR_SET_PDEATHSIG``): the manager starts every process from its one supervision thread,
which lives as long as pyhost does, so a pyhost that is killed takes its extensions along;
and the watchdog (:mod:`~pyhost.server.extensions.watchdog`) ends the whole group, the
extension's own children included. Extensions also watch ``--appPid`` themselves (the
official library checks every 5 s).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from pyhost.server.extensions.layout import ERROR_LOG, LOG_DIR, OUTPUT_LOG, SETTINGS_DIR

STOP_TIMEOUT_S = 5.0
PR_SET_PDEATHSIG = 1


def _pdeathsig_setter() -> Optional[Callable[[], None]]:
    """A preexec function (resolved before any fork) that sets PR_SET_PDEATHSIG, on Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    parent = os.getpid()
    term = int(signal.SIGTERM)

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, term, 0, 0, 0)
        if os.getppid() != parent:  # pyhost died between fork and prctl
            os._exit(69)
    return preexec


_PREEXEC = _pdeathsig_setter()


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    cwd: Path
    logs: Path


def resolve_engine(names: Sequence[str], engines: dict[str, Sequence[str]]) -> list[str]:
    """The command (and its fixed arguments) of the first engine of the package that this
    system has; ValueError with a sentence otherwise."""
    problems = []
    for name in names:
        commands = engines.get(name)
        if not commands:
            problems.append(f"no engine {name!r} is configured")
            continue
        for command in commands:
            argv = command.split() if isinstance(command, str) else list(command)
            if not argv:
                continue
            found = shutil.which(argv[0]) if not os.path.isabs(argv[0]) else (
                argv[0] if os.access(argv[0], os.X_OK) else None)
            if found:
                return [found, *argv[1:]]
        problems.append(f"the engine {name!r} is not installed (tried "
                        f"{', '.join(c if isinstance(c, str) else ' '.join(c) for c in commands)})")
    raise ValueError("; ".join(problems) or "the package names no engine")


def build(engine: list[str], root: Path, entry: Path, name: str, api_url: str, token: str,
          debug: bool, signal_ready: bool, app_pid: int) -> Launch:
    sep = os.sep
    argv = [*engine, str(entry), f"--name={name}", f"--apiUrl={api_url}",
            f"--authToken={token}", f"--logPath={root / LOG_DIR}{sep}",
            f"--settingsPath={root / SETTINGS_DIR}{sep}"]
    if debug:
        argv.append("--debug")
    if signal_ready:
        argv.append("--signalReady")
    argv.append(f"--appPid={app_pid}")
    return Launch(argv, entry.parent, root / LOG_DIR)


def rotate(path: Path) -> None:
    """``x.log`` -> ``x.log.old`` (the older one is dropped)."""
    old = path.with_name(path.name + ".old")
    with contextlib.suppress(FileNotFoundError):
        old.unlink()
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, old)


class ExtensionProcess:
    def __init__(self, launch: Launch, env: Optional[dict] = None):
        self.launch = launch
        launch.logs.mkdir(parents=True, exist_ok=True)
        out_path, err_path = launch.logs / OUTPUT_LOG, launch.logs / ERROR_LOG
        rotate(out_path)
        rotate(err_path)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            self.popen = subprocess.Popen(
                launch.argv, cwd=launch.cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, preexec_fn=_PREEXEC, close_fds=True,
                env=env if env is not None else _child_env())
        self.pid = self.popen.pid
        self.started = time.monotonic()

    def poll(self) -> Optional[int]:
        """The exit code once it has exited (a signal N is 128+N, as a shell reports it)."""
        code = self.popen.poll()
        if code is None:
            return None
        return 128 - code if code < 0 else code

    def stop(self, timeout: float = STOP_TIMEOUT_S,
             waiting: Callable[[], None] = lambda: None) -> int:
        """SIGTERM to the process group, SIGKILL after ``timeout``; returns the exit code.
        ``waiting`` is called about every second meanwhile (a sign of progress)."""
        if self.poll() is None:
            self._signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    self.popen.wait(max(0.0, min(1.0, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    waiting()
                    if time.monotonic() >= deadline:
                        self._signal(signal.SIGKILL)
                        self.popen.wait()
                        break
        self._signal(signal.SIGKILL)  # leftovers of the group (the extension's children)
        return self.poll() or 0

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)


def _child_env() -> dict:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")  # Python extensions' logs appear as they write
    return env
