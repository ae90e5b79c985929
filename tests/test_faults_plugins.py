"""One bad plugin must not hold the others hostage (issue 11): commands about one plugin do
not run the others, a plugin that crashed the process while loading is remembered and
skipped, signals stop a host whose plugin never returns, KeyboardInterrupt is never
swallowed, a plugin's stray thread does not keep the command alive, and a plugin's log
lines cannot drive the terminal. The hostile plugins are built from tests/hostile/."""
import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from hostile_plugins import build, python_plugin
from pyhost.abi.paths import sample_plugin
from test_cli import PYHOST, NEUTRAL_DIR, pyhost

CRASH = "{0bad0bad-0000-4000-8000-00000000c0de}"
HANG = "{0bad0bad-0000-4000-8000-0000000000a6}"
DEV = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"
SEGV = -signal.SIGSEGV


def ok(home, *args, **kw):
    result = pyhost(home, *args, **kw)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


# ---------------------------------------------------------------------------------------
# A plugin that segfaults in ON_LOAD


def test_a_plugin_crashing_in_on_load_holds_no_command_hostage(tmp_path):
    home = tmp_path / "home"
    crash = build("crash_on_load", tmp_path / "build")
    ok(home, "install", str(sample_plugin("dev_plugin")))
    ok(home, "install", str(crash))  # ON_INSTALL is fine; ON_LOAD segfaults
    # None of these runs the crashing plugin (before issue 11, remove exited 139).
    assert "Crash on load" in ok(home, "list").stdout
    ok(home, "config", DEV, "loads")
    ok(home, "disable", DEV)
    ok(home, "enable", DEV)
    ok(home, "move", CRASH, "up")
    ok(home, "configure", DEV)
    ok(home, "remove", DEV)
    ok(home, "install", str(sample_plugin("dev_plugin")))

    # Running it kills the process, once; the registry remembers where it died.
    died = pyhost(home, "run", "--seconds", "0")
    assert died.returncode == SEGV, (died.returncode, died.stderr)
    listing = ok(home, "list").stdout
    row = next(line for line in listing.splitlines() if "Crash on load" in line)
    assert row.split()[1] == "crashed"
    assert f"`pyhost enable {CRASH}` tries it again, `pyhost remove {CRASH}` removes it" \
        in listing
    assert json.loads(ok(home, "list", "--json").stdout)[0]["status"] == "crashed"

    # The next start skips it, says so once, and the others run.
    again = ok(home, "run", "--seconds", "0", "--json")
    events = [json.loads(line) for line in again.stdout.splitlines()]
    failed = [e["host_event"] for e in events if "host_event" in e
              and e["host_event"]["kind"] == "plugin_failed"]
    assert [f["guid"] for f in failed] == [CRASH]
    assert "crashed a pyhost process while loading" in failed[0]["reason"]
    loaded = [e["host_event"]["name"] for e in events if "host_event" in e
              and e["host_event"]["kind"] == "plugin_loaded"]
    assert loaded == ["Dev plugin"]
    assert events[-1]["summary"]["errors"] == 1  # the skipped plugin counts as an error
    assert again.stderr.count("crashed a pyhost process while loading") == 1

    # `enable` tries it again (and it crashes again); `remove` does not run it at all.
    ok(home, "enable", CRASH)
    assert "enabled" in ok(home, "list").stdout.splitlines()[1]
    assert pyhost(home, "run", "--seconds", "0").returncode == SEGV
    removed = ok(home, "remove", CRASH)
    assert removed.stdout.strip() == "removed Crash on load 1.0"
    assert "Crash on load" not in ok(home, "list").stdout
    ok(home, "run", "--seconds", "0")


def test_configure_and_install_load_only_what_they_need(tmp_path):
    home = tmp_path / "home"
    crash = build("crash_on_load", tmp_path / "build")
    ok(home, "install", str(crash))
    for name in ("dep_base", "dep_child", "dev_plugin"):  # dep_child needs dep_base
        ok(home, "install", str(sample_plugin(name)))
    ok(home, "configure", DEV)
    ok(home, "configure", "Dependency child")  # loads dep_base for it, not the crasher
    ok(home, "remove", "Dependency child")
    listing = ok(home, "list").stdout
    assert "crashed" not in listing and "Dependency base" in listing


# ---------------------------------------------------------------------------------------
# Signals


def _start(home, *args):
    return subprocess.Popen([*PYHOST, "--home", str(home), *args], cwd=NEUTRAL_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path, text, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        if proc.poll() is not None:
            raise AssertionError(f"exited early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared")


@pytest.fixture
def hanging(tmp_path):
    """A home whose only plugin never returns from dcpp.chat.onIncomingChat, and a replay
    that fires that hook (its output goes to a file, to see when it got there)."""
    home = tmp_path / "home"
    ok(home, "install", str(build("hang_in_hook", tmp_path / "build")))
    events = tmp_path / "events.jsonl"
    events.write_text('{"hook": "timer.onSecond"}\n'
                      '{"hook": "chat.onIncomingChat", "object": "adc://h", "data": "x"}\n')
    return home, events


def _run_stuck(home, events, out):
    proc = subprocess.Popen([*PYHOST, "--home", str(home), "run", "--replay", str(events),
                             "--json"], cwd=NEUTRAL_DIR, stdout=open(out, "w"),
                            stderr=subprocess.PIPE, text=True)
    _wait_for(out, '"event": 1', proc)  # the timer event came out; chat is stuck now
    time.sleep(0.3)
    assert proc.poll() is None
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_hook_that_never_returns_cannot_keep_the_process_alive(hanging, tmp_path, sig):
    home, events = hanging
    proc = _run_stuck(home, events, tmp_path / "out.jsonl")
    sent = time.monotonic()
    proc.send_signal(sig)  # a clean stop is asked for; the plugin never lets it happen
    _, err = proc.communicate(timeout=30)
    waited = time.monotonic() - sent
    assert proc.returncode == 128 + sig, err
    assert 4.5 < waited < 15, waited  # 5 s without progress
    lines = [line for line in err.splitlines() if line.startswith("pyhost:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "Hang in hook (a subscriber of dcpp.chat.onIncomingChat) did not return" in lines[0]
    assert "5 s without progress" in lines[0]


def test_a_second_signal_ends_the_process_at_once(hanging, tmp_path):
    home, events = hanging
    proc = _run_stuck(home, events, tmp_path / "out.jsonl")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert proc.poll() is None  # the first one asks, and waits
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 3
    assert proc.returncode == 128 + signal.SIGINT
    assert "Hang in hook (a subscriber of dcpp.chat.onIncomingChat) did not return; " \
        "stopping at once after SIGINT (a second signal)." in err


def test_a_timer_hook_that_never_returns_is_named_too(tmp_path):
    home = tmp_path / "home"
    ok(home, "install", str(build("hang_in_hook", tmp_path / "build",
                                  HANG_HOOK="dcpp.timer.onSecond")))
    proc = _start(home, "run")
    try:
        time.sleep(3)  # the timer thread is stuck in the plugin by now
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Hang in hook (a subscriber of dcpp.timer.onSecond) did not return" in err


def test_a_clean_stop_is_still_clean(tmp_path):
    home = tmp_path / "home"
    ok(home, "install", str(sample_plugin("dev_plugin")))
    proc = _start(home, "run")
    try:
        while "running Dev plugin" not in proc.stderr.readline():
            assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Dev plugin: unloading" in err and "stopped after" in err


# ---------------------------------------------------------------------------------------
# KeyboardInterrupt, stray threads, terminal escapes, unknown hooks (Python plugins)

KI_SCRIPT = textwrap.dedent('''
    import sys, time
    from pyhost.abi._ffi import ffi
    from pyhost.abi.bus import Bus
    from pyhost.host.host import Host

    which = sys.argv[2]
    with Host(sys.argv[1], timers=False) as host:
        host.install(sys.argv[3])
        chat = host.hooks["dcpp.chat.onIncomingChat"]
        if which == "bus":  # a plain Python subscriber of the bus, not a plugin's
            def subscriber(obj, data, common):
                raise KeyboardInterrupt
            host.bus.bind("dcpp.chat.onIncomingChat", subscriber)
        if which == "app":  # the application, inside a plugin's DCHub.send_message
            def send_message(hub, message, third_person):
                raise KeyboardInterrupt
            host.app.hub.send_message = send_message
        try:
            if which == "app":  # a hub for the plugin to answer on
                host.fire.incoming_chat("adc://hub.example:1511", "ctrl-c")
            else:
                chat.run(None, ffi.new("char[]", b"ctrl-c"))
            time.sleep(5)  # it comes back in the main thread as soon as C has returned
        except KeyboardInterrupt:
            print("interrupted", [e.kind for e in host.events.poll()
                                  if e.kind == "subscriber_exception"])
            sys.exit(0)
        print("swallowed")
        sys.exit(1)
''')


@pytest.mark.parametrize("which", ["plugin", "bus", "app"])
def test_keyboard_interrupt_in_a_subscriber_is_never_swallowed(tmp_path, which):
    body = {"bus": "", "plugin": '''
        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            raise KeyboardInterrupt  # what Ctrl-C does inside a slow subscriber
    ''', "app": '''
        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            hub.send_message("pong")  # the application is interrupted in there
    '''}[which]
    plugin = python_plugin(tmp_path, "ctrl_c", body, "{0bad0bad-0000-4000-8000-0000000000c1}",
                           "Ctrl C")
    script = tmp_path / "ki.py"
    script.write_text(KI_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "home"), which,
                           str(plugin)], cwd=NEUTRAL_DIR, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "interrupted []"  # raised, not reported as a plugin error


def test_a_thread_left_running_does_not_keep_the_command_alive(tmp_path):
    plugin = python_plugin(tmp_path, "stray", '''
        import threading, time

        def forever():
            while True:
                time.sleep(0.05)

        @plugin.main
        def main(state, core, data):
            if state in (ON_LOAD, ON_INSTALL):
                threading.Thread(target=forever, name="stray-worker").start()
            return True
    ''', "{0bad0bad-0000-4000-8000-0000000000d1}", "Stray thread")
    home = tmp_path / "home"
    started = time.monotonic()
    result = pyhost(home, "install", str(plugin))
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 60
    assert "pyhost: Stray thread left the thread 'stray-worker' running after it was " \
        "unloaded; exiting without waiting for it." in result.stderr
    result = pyhost(home, "run", "--seconds", "0")
    assert result.returncode == 0 and "Stray thread left the thread" in result.stderr


def test_plugin_log_lines_cannot_drive_the_terminal(tmp_path):
    plugin = python_plugin(tmp_path, "noisy", '''
        @plugin.main
        def main(state, core, data):
            if state == ON_LOAD:
                plugin.log.info("\\x1b[2J\\x1b[31mred\\x07 bell\\rback\\nnext\\tkept")
            return True
    ''', "{0bad0bad-0000-4000-8000-0000000000e1}", "Noisy")
    home = tmp_path / "home"
    ok(home, "install", str(plugin))
    err = ok(home, "run", "--seconds", "0").stderr
    assert "Noisy: \\x1b[2J\\x1b[31mred\\x07 bell\\rback\\nnext\tkept" in err
    assert "\x1b" not in err and "\x07" not in err and "\r" not in err


def test_an_unknown_hook_is_one_sentence_with_the_closest_standard_hook(tmp_path):
    plugin = python_plugin(tmp_path, "typo", '''
        @hook("dcpp.chat.onIncomingChatt")
        def on_chat(hub, message):
            return False
    ''', "{0bad0bad-0000-4000-8000-0000000000f1}", "Typo")
    home = tmp_path / "home"
    result = pyhost(home, "install", str(plugin))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "dcpp.chat.onIncomingChatt" in result.stderr
    assert "did you mean dcpp.chat.onIncomingChat?" in result.stderr
    assert "returned False" not in result.stderr
    assert ok(home, "list").stdout.strip() == "no plugins installed"
