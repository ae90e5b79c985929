"""The watchdog that leaves no extension process behind, however pyhost ends.

Each extension runs in its own process group. pyhost starts this small process once (run by
path, importing nothing of pyhost) and tells it, through a pipe only pyhost holds, which
groups are live (``+PGID`` / ``-PGID`` lines). When pyhost ends cleanly it says ``x`` and
the watchdog leaves. When pyhost dies any other way (SIGKILL, a crash), the pipe reaches
end-of-file: the watchdog sends SIGTERM to every group still listed, then SIGKILL to what is
left after 3 s, and exits. It runs in a session of its own, so a Ctrl-C in the terminal
does not reach it. This covers the extensions' own child processes too, which
``PR_SET_PDEATHSIG`` (set on each extension process) does not.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

GRACE_S = 3.0


class Watchdog:
    """pyhost's end of the pipe (thread-safe)."""

    def __init__(self) -> None:
        read_end, self._write_end = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid())],
                stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, close_fds=True)
        finally:
            os.close(read_end)
        self._lock = threading.Lock()

    def _say(self, line: str) -> None:
        with self._lock:
            if self._write_end is not None:
                try:
                    os.write(self._write_end, line.encode() + b"\n")
                except OSError:
                    pass

    def watch(self, pgid: int) -> None:
        self._say(f"+{pgid}")

    def forget(self, pgid: int) -> None:
        self._say(f"-{pgid}")

    def close(self) -> None:
        """pyhost ends cleanly: the watchdog leaves without killing anything."""
        self._say("x")
        with self._lock:
            fd, self._write_end = self._write_end, None
        if fd is not None:
            os.close(fd)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _kill(groups: set, sig: int) -> None:
    for pgid in list(groups):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):  # gone (or no longer ours)
            groups.discard(pgid)


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups: set[int] = set()
    for raw in sys.stdin.buffer:
        line = raw.strip().decode("ascii", "replace")
        if line == "x":
            return 0
        if line[:1] in "+-" and line[1:].isdigit():
            (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
    # end of file: pyhost is gone without saying goodbye
    _kill(groups, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while groups and time.monotonic() < deadline:
        time.sleep(0.1)
        _kill(groups, 0)  # drops the groups that are gone
    _kill(groups, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
