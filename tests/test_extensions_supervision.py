"""Supervision of extension processes: restart requests (exit 75) after the restart delay,
crashes restarted with a growing back-off and marked crashed after 5 in a row, start-up
going on without an extension that never signals ready, stop as SIGTERM then SIGKILL (the
whole process group), and no process left behind when pyhost itself is killed.

Delays are shortened here (tests/extension_helpers.FAST); the real defaults are checked by
value."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extension_helpers import (  # noqa: F401
    CRASHER, FILTER, HUB, NEVER_READY, Hosted, packed, wait_for)
from pyhost.server.extensions.events import (
    ExtensionCrashed,
    ExtensionExited,
    ExtensionReadyTimedOut,
)
from pyhost.server.extensions.manager import Options
from pyhost.server.extensions.supervisor import RESTART_EXIT_CODES, backoff_delay
from test_cli import NEUTRAL_DIR, PYHOST


def test_the_default_delays_are_airdcpps_and_the_issues():
    o = Options()
    assert (o.restart_delay, o.stop_timeout, o.ready_timeout) == (3.0, 5.0, 5.0)
    assert o.max_failures == 5 and RESTART_EXIT_CODES == (124, 74, 75)
    assert [backoff_delay(n, o.backoff_initial, o.backoff_max) for n in range(1, 9)] == [
        1, 2, 4, 8, 16, 32, 60, 60]
    assert set(o.engines) == {"node", "python3"}
    assert o.engines["python3"][0] == sys.executable


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" not in status.read_text()


def test_a_crashing_extension_is_restarted_then_marked_crashed(packed, tmp_path):
    h = Hosted(tmp_path / "home", [packed[CRASHER]])
    try:
        ext = h.ext(CRASHER)
        wait_for(lambda: ext.ready, what="crasher ready")
        first_pid = ext.process.pid
        # a restart request: exit 75, started again after the restart delay, not a failure
        h.host.fire.chat_command(HUB, "/restartme")
        wait_for(lambda: ext.state == "restarting")
        assert ext.failures == 0 and ext.exit_code == 75
        left = time.monotonic()
        wait_for(lambda: ext.state == "running" and ext.ready, what="restarted")
        assert time.monotonic() - left >= 0.2  # FAST restart_delay 0.3 s, counted from exit
        pids = [first_pid, ext.process.pid]
        for n in range(1, 6):
            h.host.fire.chat_command(HUB, "/crash")
            wait_for(lambda: ext.state in ("restarting", "crashed"), what=f"crash {n}")
            assert ext.failures == n and ext.exit_code == 1
            if n < 5:
                wait_for(lambda: ext.state == "running" and ext.ready, what=f"restart {n}")
                pids.append(ext.process.pid)
        assert len(set(pids)) == 6 and not any(alive(p) for p in pids)
        assert ext.state == "crashed" and ext.process is None and ext.session is None
        error_log = h.home / "extensions" / CRASHER / "logs" / "error.log"
        assert ext.reason == (f"{CRASHER} exited with code 1, 5 failures in a row; it is not "
                              f"restarted (see {error_log})")
        assert "crash requested in chat" in error_log.read_text()
        exited = [e for e in h.seen if isinstance(e, ExtensionExited)]
        assert [(e.exit_code, e.failures) for e in exited] == [(75, 0), (1, 1), (1, 2), (1, 3),
                                                              (1, 4)]
        assert [e.restart_in_s for e in exited] == [0.3, 0.1, 0.2, 0.4, 0.4]
        crashed = [e for e in h.seen if isinstance(e, ExtensionCrashed)]
        assert len(crashed) == 1 and crashed[0].reason == ext.reason
        time.sleep(0.6)
        assert ext.state == "crashed"  # and it stays so
        # the state the command line shows
        state = json.loads((h.home / "extensions" / CRASHER / "state.json").read_text())
        assert (state["state"], state["failures"], state["reason"]) == ("crashed", 5,
                                                                        ext.reason)
        r = subprocess.run([*PYHOST, "--home", str(h.home), "extension", "list"],
                           cwd=NEUTRAL_DIR, capture_output=True, text=True, timeout=60)
        assert f"{CRASHER} 1.0.0 [crashed]" in r.stdout and str(error_log) in r.stdout
        # a user's start gives it a fresh count
        h.manager.start(CRASHER)
        assert ext.state == "running" and ext.failures == 0
    finally:
        h.close()


def test_start_up_goes_on_without_an_extension_that_never_signals_ready(packed, tmp_path):
    h = Hosted(tmp_path / "home", [packed[NEVER_READY], packed[FILTER]], ready_timeout=1.0)
    try:
        started = time.monotonic()
        late = h.manager.wait_ready()
        took = time.monotonic() - started
        assert late == [NEVER_READY] and 0.9 <= took < 5
        assert h.ext(FILTER).ready and h.ext(NEVER_READY).connected()
        timed_out = [e for e in h.seen if isinstance(e, ExtensionReadyTimedOut)]
        assert [(e.name, e.timeout_s) for e in timed_out] == [(NEVER_READY, 1.0)]
        assert h.ext(NEVER_READY).state == "running"  # late is not dead
    finally:
        h.close()


STUBBORN = """\
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(f"stubborn {os.getpid()} child {child.pid}", flush=True)
time.sleep(600)
"""


def stubborn_package(tmp_path: Path) -> Path:
    src = tmp_path / "stubborn"
    src.mkdir()
    (src / "package.json").write_text(json.dumps({
        "name": "airdcpp-stubborn", "version": "1.0.0", "description": "ignores SIGTERM",
        "author": "tests", "main": "main.py", "engines": {"python3": "*"},
        "airdcpp": {"apiVersion": 1}}))
    (src / "main.py").write_text(STUBBORN)
    return src


def children(home: Path, name: str) -> tuple[int, int]:
    log = home / "extensions" / name / "logs" / "output.log"
    line = wait_for(lambda: log.exists() and log.read_text().strip(), what="pids")
    words = line.split()
    return int(words[1]), int(words[3])


def test_stop_is_sigterm_then_sigkill_for_the_whole_group(tmp_path):
    h = Hosted(tmp_path / "home", [stubborn_package(tmp_path)], stop_timeout=1.0)
    try:
        pid, child = children(h.home, "airdcpp-stubborn")
        started = time.monotonic()
        h.manager.stop("airdcpp-stubborn")
        took = time.monotonic() - started
        assert 1.0 <= took < 4
        ext = h.ext("airdcpp-stubborn")
        assert ext.exit_code == 128 + signal.SIGKILL and ext.state == "stopped"
        assert not alive(pid)
        # its child got the group's SIGKILL too (delivered asynchronously)
        wait_for(lambda: not alive(child), timeout=5, what="the extension's child gone")
    finally:
        h.close()


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_no_process_is_left_when_pyhost_ends(packed, tmp_path, how):
    home = tmp_path / "home"
    from pyhost.server.extensions import installer
    installer.install(home, stubborn_package(tmp_path), 7)
    installer.install(home, packed[FILTER], 7)
    proc = subprocess.Popen([*PYHOST, "--home", str(home), "run", "--listen", "127.0.0.1:0",
                             "--extension-timeout", "1"], cwd=NEUTRAL_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(3):  # Web API, extensions, running
            line = proc.stderr.readline()
            assert "Traceback" not in line, line
            if line.startswith("pyhost: running"):
                break
        pid, child = children(home, "airdcpp-stubborn")
        state = json.loads((home / "extensions" / FILTER / "state.json").read_text())
        node = state["pid"]
        assert state["state"] == "running" and alive(node)
        control = json.loads((home / "run-api.json").read_text())
        assert control["pid"] == proc.pid
        assert oct((home / "run-api.json").stat().st_mode & 0o777) == "0o600"
        proc.send_signal(getattr(signal, how))
        proc.wait(30)
        wait_for(lambda: not any(alive(p) for p in (pid, child, node)), timeout=15,
                 what="extension processes gone")
        if how == "SIGTERM":  # a clean end says goodbye to the command line too
            assert proc.returncode == 0 and not (home / "run-api.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
