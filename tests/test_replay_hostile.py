"""The test bench under hostile input (issue 11): every malformed line is reported and
skipped while the run goes on, every output line is strict JSON, files that are not files
are refused before they are read, start-up events and plugin failures are part of the
output and of the summary, exceptions show on their event's line, --strict, and a readable
line per event without --json."""
import json
import os
import subprocess
import threading

import pytest

from hostile_plugins import python_plugin
from pyhost.abi.paths import sample_plugin
from test_cli import NEUTRAL_DIR, PYHOST, pyhost

CHAT = {"hook": "chat.onIncomingChat", "object": "adc://h", "data": "!ping"}


def strict_json(line: str):
    """json.loads that refuses what is not JSON (NaN, Infinity)."""
    def refuse(name):
        raise ValueError(f"{name} in the output")
    return json.loads(line, parse_constant=refuse)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("hostile-replay") / "home"
    assert pyhost(home, "install", str(sample_plugin("app_demo"))).returncode == 0
    return home


HOSTILE_LINES = [
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ('{"hook": "timer.onSecond", "id": ' + "7" * 5000 + "}", "integer string conversion"),
    ('{"hook": "chat.onIncomingChat", "object": "adc://h", "data": "\\ud800"}',
     "lone surrogate such as \\ud800"),
    ('{"hook": "timer.onSecond", "id": NaN}', "NaN is not a JSON value"),
    ('{"hook": "timer.onSecond", "id": Infinity}', "Infinity is not a JSON value"),
    ('{"hook": "timer.onSecond", "id": -Infinity}', "-Infinity is not a JSON value"),
    ('{"hook": "timer.onSecond", "id": ' + "[" * 100 + "]" * 100 + "}",
     "nested more than 64 levels deep"),
    ('{"hook": "timer.onSecond", "id": "' + "x" * (1 << 21) + '"}', "longer than 1048576"),
    ('{"hook": "chat.onIncomingChat", "object": "adc://\\udfff", "data": "x"}',
     "lone surrogate"),
]


def test_every_hostile_line_is_reported_and_skipped_and_the_run_goes_on(demo_home, tmp_path):
    events = tmp_path / "hostile.jsonl"
    lines = []
    for hostile, _ in HOSTILE_LINES:
        lines += [hostile, json.dumps(CHAT)]
    events.write_text("\n".join(lines) + "\n")
    result = pyhost(demo_home, "run", "--replay", str(events), "--json")
    assert result.returncode == 2, result.stderr  # malformed lines were skipped
    assert "Traceback" not in result.stderr
    records = [strict_json(line) for line in result.stdout.splitlines()]
    errors = [r for r in records if "error" in r]
    fired = [r for r in records if r.get("hook") == "dcpp.chat.onIncomingChat"]
    assert [e["line"] for e in errors] == list(range(1, 2 * len(HOSTILE_LINES), 2))
    for error, (_, words) in zip(errors, HOSTILE_LINES):
        assert words in error["error"], error
    assert len(fired) == len(HOSTILE_LINES)  # every good line after a bad one still ran
    summary = records[-1]["summary"]
    assert summary["events"] == len(HOSTILE_LINES)
    assert summary["error_lines"] == [e["line"] for e in errors]
    assert summary["errors"] == len(HOSTILE_LINES)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
def test_files_that_are_not_files_are_refused_before_they_are_read(demo_home, tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "events.jsonl"
        os.mkfifo(path)
        words = "is a FIFO (named pipe), not a file"
    elif kind == "dev-zero":
        path, words = "/dev/zero", "is a character device, not a file"
    else:
        path, words = tmp_path, "is a directory, not a file"
    for args in (["run", "--replay", str(path)], ["inspect", str(path)],
                 ["install", str(path) if kind != "directory" else str(path) + "/x.dcext"]):
        done = subprocess.run([*PYHOST, "--home", str(demo_home), *args], cwd=NEUTRAL_DIR,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
        if kind != "directory" or args[0] == "run":
            assert words in done.stderr or "not a regular file" in done.stderr, done.stderr


def test_a_fifo_as_a_plugin_is_refused_without_blocking(demo_home, tmp_path):
    for name in ("plugin.so", "plugin.py", "plugin.dcext"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        done = subprocess.run([*PYHOST, "--home", str(demo_home), "install", str(fifo)],
                              cwd=NEUTRAL_DIR, capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and "FIFO" in done.stderr, done.stderr


def test_standard_input_that_is_a_device_is_refused(demo_home):
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run([*PYHOST, "--home", str(demo_home), "run", "--replay", "-"],
                              cwd=NEUTRAL_DIR, stdin=zero, capture_output=True, text=True,
                              timeout=30)
    assert done.returncode == 2
    assert "The standard input is a device" in done.stderr
    with open(os.devnull, "rb") as null:  # an empty replay is fine
        done = subprocess.run([*PYHOST, "--home", str(demo_home), "run", "--replay", "-"],
                              cwd=NEUTRAL_DIR, stdin=null, capture_output=True, text=True,
                              timeout=30)
    assert done.returncode == 0, done.stderr


def test_a_writer_that_never_ends_its_line_cannot_grow_memory(demo_home):
    """A never-ending line through a pipe: read in bounded pieces, reported, skipped."""
    proc = subprocess.Popen([*PYHOST, "--home", str(demo_home), "run", "--replay", "-",
                             "--json"], cwd=NEUTRAL_DIR, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def feed():
        chunk = b"x" * 65536
        for _ in range((8 << 20) // len(chunk)):  # 8 MiB without a newline
            proc.stdin.write(chunk)
        proc.stdin.write(b"\n" + json.dumps(CHAT).encode() + b"\n")
        proc.stdin.close()
    writer = threading.Thread(target=feed)
    writer.start()
    out = proc.stdout.read()
    writer.join(120)
    assert proc.wait(120) == 2, proc.stderr.read()
    records = [strict_json(line) for line in out.decode().splitlines()]
    (error,) = [r for r in records if "error" in r]
    assert error["error"] == "line 1: longer than 1048576 characters; skipped unread"
    assert any(r.get("hook") == "dcpp.chat.onIncomingChat" for r in records)


# ---------------------------------------------------------------------------------------
# Host events, plugin errors, --strict, the readable output


@pytest.fixture(scope="module")
def troubled_home(tmp_path_factory):
    """App demo, a Python plugin that fails ON_LOAD (not ON_INSTALL), and one whose chat
    subscriber raises."""
    tmp = tmp_path_factory.mktemp("troubled")
    home = tmp / "home"
    fails = python_plugin(tmp, "fails_on_load", '''
        @plugin.main
        def main(state, core, data):
            if state == ON_LOAD:
                raise RuntimeError("no database")
            return True
    ''', "{0bad0bad-0000-4000-8000-0000000000b1}", "Fails on load")
    raises = python_plugin(tmp, "raises_on_chat", '''
        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            if message == "boom":
                raise ValueError("cannot parse " + message)
            return False
    ''', "{0bad0bad-0000-4000-8000-0000000000b2}", "Raises on chat")
    for plugin in (sample_plugin("app_demo"), fails, raises):
        assert pyhost(home, "install", str(plugin)).returncode == 0
    events = tmp / "events.jsonl"
    events.write_text("\n".join(json.dumps(dict(CHAT, data=d)) for d in ("hi", "boom", "ok"))
                      + "\n")
    return home, events


def test_run_json_shows_the_start_up_and_counts_plugin_errors(troubled_home):
    home, events = troubled_home
    result = pyhost(home, "run", "--replay", str(events), "--json")
    assert result.returncode == 0, result.stderr  # plugin errors alone: not without --strict
    records = [strict_json(line) for line in result.stdout.splitlines()]
    startup = [r["host_event"] for r in records[:4] if "host_event" in r]
    assert [(e["kind"], e["name"]) for e in startup] == [
        ("plugin_loaded", "App demo"), ("plugin_failed", "Fails on load"),
        ("plugin_loaded", "Raises on chat")]
    assert "raised RuntimeError('no database') in ON_LOAD" in startup[1]["reason"]
    by_data = {r["line"]: r for r in records if r.get("hook")}
    assert "errors" not in by_data[1] and "errors" not in by_data[3]
    (error,) = by_data[2]["errors"]
    assert error["plugin"] == "Raises on chat" and error["hook"] == "dcpp.chat.onIncomingChat"
    assert error["error"] == "ValueError('cannot parse boom')"
    summary = records[-1]["summary"]
    assert (summary["events"], summary["errors"], summary["error_lines"],
            summary["plugin_errors"]) == (3, 2, [], 2)
    strict = pyhost(home, "run", "--replay", str(events), "--json", "--strict")
    assert strict.returncode == 1
    assert "--strict: 2 plugin error(s)" in strict.stderr


def test_without_json_each_event_is_a_readable_line(troubled_home):
    home, events = troubled_home
    result = pyhost(home, "run", "--replay", str(events))
    lines = result.stdout.splitlines()
    assert lines[0].startswith("start-up; DCUI.add_command(")
    assert lines[1].startswith("event 1 (line 1) dcpp.chat.onIncomingChat: not handled")
    assert lines[1].endswith("; the application did show_chat")  # the world's own handling
    assert "Raises on chat raised ValueError('cannot parse boom') in " \
           "dcpp.chat.onIncomingChat" in lines[2]
    assert all(not line.startswith("{") for line in lines)
    assert "pyhost: 3 event(s), 2 error(s): 0 malformed line(s), 2 plugin error(s)." \
        in result.stderr


def test_the_summary_has_its_fields_in_every_mode(troubled_home):
    home, _ = troubled_home
    for args in (["--seconds", "0"], ["--replay", os.devnull], ["--replay", os.devnull,
                                                               "--seconds", "0"]):
        result = pyhost(home, "run", "--json", *args)
        summary = strict_json(result.stdout.splitlines()[-1])["summary"]
        assert {"events", "errors", "error_lines", "seconds", "interrupted"} <= set(summary)
        assert summary["errors"] == 1  # Fails on load
