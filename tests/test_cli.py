"""The `pyhost` command: --help and --version, exit codes (0 success, 2 bad input or refused,
1 unexpected failure), one-sentence errors without tracebacks, --json that parses, and the
commands of issue 6: run (timers, --seconds, Ctrl-C / SIGTERM, --replay), configure, config.
Commands run in a subprocess, as a user runs them."""
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyhost import __version__
from pyhost.cli.errors import CommandError
from pyhost.cli.main import build_parser, main
from pyhost.cli.settings import parse_setting
from pyhost.abi.paths import sample_plugin

DEV = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"
APP_DEMO = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000a00}"
UNKNOWN = "{00000000-0000-0000-0000-000000000000}"
# As the `pyhost` console script runs it. The child runs in the test's own directory, never
# the checkout: there `pyhost/` (sources, no compiled module) would shadow the install.
PYHOST = [sys.executable, "-m", "pyhost"]
NEUTRAL_DIR = Path(__file__).resolve().parent


def pyhost(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*PYHOST, "--home", str(home), *args], cwd=NEUTRAL_DIR,
                          capture_output=True, text=True, timeout=120, input=stdin)


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli(capsys):
    """Runs `pyhost --home HOME ARGS...` in this process (fast); returns a Result."""
    plugin_logger = logging.getLogger("pyhost.plugin")

    def run(home: Path, *args: str) -> Result:
        capsys.readouterr()
        before = list(plugin_logger.handlers)
        try:
            code = main(["--home", str(home), *args])
        except SystemExit as exc:
            code = exc.code
        finally:
            for handler in plugin_logger.handlers[:]:  # main() adds one per call
                if handler not in before:
                    plugin_logger.removeHandler(handler)
        out, err = capsys.readouterr()
        return Result(code, out, err)
    return run


def ok(home: Path, *args: str) -> subprocess.CompletedProcess:
    result = pyhost(home, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def refused(home: Path, *args: str) -> str:
    """Runs a command that must be refused; returns its one-sentence error."""
    result = pyhost(home, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [l for l in result.stderr.splitlines() if l.startswith("pyhost: ")]
    assert len(errors) == 1, result.stderr
    return errors[0].removeprefix("pyhost: ")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A home with App demo and Dev plugin installed (in that order)."""
    home = tmp_path_factory.mktemp("cli") / "home"
    ok(home, "install", str(sample_plugin("app_demo")))
    ok(home, "install", str(sample_plugin("dev_plugin")))
    return home


# ---- --help, --version ------------------------------------------------------------------------

def _commands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_the_issue_6_commands_exist():
    assert {"run", "configure", "config", "list", "enable", "disable", "move",
            "install", "remove"} <= set(_commands())


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: pyhost") and "--home" in out


def test_top_level_help_and_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0 and "run" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"pyhost {__version__}"


def test_usage_errors_exit_2(tmp_path, cli):
    assert pyhost(tmp_path, "no-such-command").returncode == 2
    assert cli(tmp_path, "run", "--seconds", "soon").returncode == 2
    assert cli(tmp_path, "move", DEV, "sideways").returncode == 2


# ---- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("enable", UNKNOWN), ("disable", UNKNOWN), ("move", UNKNOWN, "up"), ("remove", UNKNOWN),
    ("configure", UNKNOWN), ("config", UNKNOWN), ("config", UNKNOWN, "key", "1"),
])
def test_an_unknown_guid_is_a_one_sentence_error(tmp_path, cli, args):
    result = cli(tmp_path, *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"pyhost: No installed plugin is named '{UNKNOWN}'; run "
                             "`pyhost list` to see them.\n")


def test_an_unknown_guid_in_a_real_process(tmp_path):
    assert refused(tmp_path, "configure", UNKNOWN) == \
        f"No installed plugin is named '{UNKNOWN}'; run `pyhost list` to see them."


def test_an_unexpected_failure_exits_1_without_a_traceback(tmp_path):
    # A bug in a command (here: one planted in `list`) is the unexpected failure.
    planted = ("import sys, pyhost.cli.plugins as p; p.cmd_list = lambda args: 1 // 0; "
               "from pyhost.cli.main import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", planted, "--home", str(tmp_path), "list"],
                            cwd=NEUTRAL_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("pyhost: unexpected error:")
    assert len(result.stderr.strip().splitlines()) == 1


# ---- --json -------------------------------------------------------------------------------

def test_json_outputs_parse(installed, tmp_path):
    plugins = json.loads(ok(installed, "list", "--json").stdout)
    assert [p["name"] for p in plugins] == ["App demo", "Dev plugin"]
    record = json.loads(ok(tmp_path / "other", "install", "--json",
                           str(sample_plugin("chat_guard"))).stdout)
    assert record["name"] == "Chat guard"
    settings = json.loads(ok(installed, "config", DEV, "--json").stdout)
    assert settings["settings"]["last_state"] == {"type": "string", "value": "install"}
    configured = json.loads(ok(installed, "configure", DEV, "--json").stdout)
    assert configured == {"guid": DEV, "name": "Dev plugin", "result": True}
    lines = ok(installed, "run", "--json", "--seconds", "0").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert records[-1]["summary"]["interrupted"] is False


# ---- configure / config -------------------------------------------------------------------

def test_configure_sends_on_configure(installed):
    result = ok(installed, "configure", DEV)
    assert result.stdout.strip() == "configured Dev plugin"
    assert "Dev plugin: configure requested" in result.stderr  # DCLog, prefixed
    assert ok(installed, "config", DEV, "configured").stdout.strip() == "true"


def test_configure_refuses_a_disabled_plugin(tmp_path, cli):
    assert cli(tmp_path, "install", str(sample_plugin("dev_plugin"))).returncode == 0
    assert cli(tmp_path, "disable", DEV).returncode == 0
    result = cli(tmp_path, "configure", DEV)
    assert result.returncode == 2
    assert result.stderr.strip() == \
        f"pyhost: Dev plugin is disabled; `pyhost enable {DEV}` first."


@pytest.mark.parametrize("text, type_name, current, expected", [
    ("7", None, None, ("int", 7)),
    ("-2147483648", None, None, ("int", -2**31)),
    ("2147483648", None, None, ("int64", 2**31)),
    ("99999999999999999999", None, None, ("string", "99999999999999999999")),
    ("true", None, None, ("bool", True)),
    ("False", None, None, ("bool", False)),
    ("hello", None, None, ("string", "hello")),
    ("12", None, "string", ("string", "12")),       # keeps the stored type
    ("41", None, "int64", ("int64", 41)),
    ("on", "bool", "int", ("bool", True)),          # --type wins
    ("0", "bool", None, ("bool", False)),
    ("123", "string", None, ("string", "123")),
])
def test_setting_values_are_typed(text, type_name, current, expected):
    assert parse_setting(text, type_name, current) == expected


@pytest.mark.parametrize("text, type_name, current, message", [
    ("many", None, "int64", "'many' is not an int64 (64-bit integer written with the digits "
                            "0-9); use --type"),
    ("99999999999", "int", None, "'99999999999' is not an int (32-bit integer written with "
                                 "the digits 0-9)."),
    ("maybe", "bool", None, "'maybe' is not a bool (true or false)."),
])
def test_setting_values_that_do_not_fit_are_refused(text, type_name, current, message):
    with pytest.raises(CommandError) as error:
        parse_setting(text, type_name, current)
    assert str(error.value).startswith(message)


def test_config_reads_and_writes_settings(tmp_path, cli):
    home = tmp_path
    assert cli(home, "install", str(sample_plugin("dev_plugin"))).returncode == 0
    assert cli(home, "config", DEV, "loads").stdout.strip() == "1"
    assert cli(home, "config", DEV, "loads", "41").stdout.strip() == "loads = 41 (int64)"
    assert cli(home, "config", DEV, "big", "9000000000").stdout.strip() == \
        "big = 9000000000 (int64)"
    assert cli(home, "config", DEV, "text", "123", "--type", "string").stdout.strip() == \
        "text = 123 (string)"
    got = json.loads(cli(home, "config", DEV, "text", "--json").stdout)
    assert got == {"guid": DEV, "key": "text", "type": "string", "value": "123"}
    listing = cli(home, "config", DEV).stdout
    assert "loads" in listing and "int64" in listing and "41" in listing
    for args, message in [
        (("loads", "many"), "'many' is not an int64"),
        (("missing",), "Dev plugin has no setting 'missing'."),
        (("--unset",), "--unset and --type need a KEY."),
        (("k", "v", "--unset"), "Give either a VALUE or --unset, not both."),
        (("k", "--type", "int"), "--type needs a VALUE to store."),
    ]:
        result = cli(home, "config", DEV, *args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    assert cli(home, "config", DEV, "text", "--unset").stdout.strip() == "removed text"
    assert cli(home, "config", DEV, "text", "--unset").returncode == 2
    # The plugin sees what was written: it counts its loads on from 41.
    assert cli(home, "run", "--seconds", "0").returncode == 0
    assert cli(home, "config", DEV, "loads").stdout.strip() == "42"


def test_config_values_are_what_plugins_read_as_text(tmp_path, cli):
    """`pyhost config` keeps types; a plugin reads DCConfig's text of them (docs/abi.md)."""
    from pyhost.abi._ffi import ffi, lib
    from pyhost.host.host import Host
    home = tmp_path
    assert cli(home, "install", str(sample_plugin("dev_plugin"))).returncode == 0
    assert cli(home, "config", DEV, "flag", "false").stdout.strip() == "flag = false (bool)"
    assert cli(home, "config", DEV, "word", "false", "--type", "string").returncode == 0
    assert cli(home, "config", DEV, "n", "41").stdout.strip() == "n = 41 (int)"
    with Host(home, timers=False) as host:
        cfg = ffi.cast("DCConfig*", host.bus.query_interface("generic.plugins.DCConfig", 1))

        def read(key, kind, ctype):
            value = cfg.get_cfg(DEV.encode(), key.encode(), kind)
            try:
                got = ffi.cast(ctype, value).value
                return ffi.string(got) if kind == lib.CFG_TYPE_STRING else got
            finally:
                cfg.release(value)

        assert read("flag", lib.CFG_TYPE_STRING, "ConfigStr*") == b"0"
        assert read("flag", lib.CFG_TYPE_BOOL, "ConfigBool*") == 0
        assert read("word", lib.CFG_TYPE_BOOL, "ConfigBool*") == 1   # "false" != "0"
        assert read("n", lib.CFG_TYPE_STRING, "ConfigStr*") == b"41"
        assert read("n", lib.CFG_TYPE_INT64, "ConfigInt64*") == 41


# ---- run ----------------------------------------------------------------------------------

def test_run_fires_timers_and_unloads_cleanly_after_seconds(tmp_path):
    ok(tmp_path, "install", str(sample_plugin("app_demo")))
    ok(tmp_path, "install", str(sample_plugin("dev_plugin")))
    started = time.monotonic()
    result = ok(tmp_path, "run", "--json", "--seconds", "1.5")
    assert 1.4 < time.monotonic() - started < 30
    events = [json.loads(l)["host_event"] for l in result.stdout.splitlines()
              if "host_event" in l]
    unloaded = [e["name"] for e in events if e["kind"] == "plugin_unloaded"]
    assert unloaded == ["Dev plugin", "App demo"]  # reverse load order
    assert "Dev plugin: unloading" in result.stderr
    assert int(ok(tmp_path, "config", DEV, "last_tick").stdout) > 0  # onSecond fired


def test_run_shows_effects_as_they_happen(tmp_path, cli):
    cli(tmp_path, "install", str(sample_plugin("app_demo")))
    cli(tmp_path, "config", APP_DEMO, "trace", "true")
    result = ok(tmp_path, "run", "--seconds", "1.3")
    assert "pyhost: running App demo for 1.3s" in result.stderr
    assert "App demo: timer.onSecond" in result.stderr  # its DCLog, prefixed


def _until(proc, text: str, timeout: float = 30) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"{text!r} not seen in: {seen}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_end_the_run_cleanly(tmp_path, sig):
    ok(tmp_path, "install", str(sample_plugin("dev_plugin")))
    proc = subprocess.Popen([*PYHOST, "--home", str(tmp_path), "run"], cwd=NEUTRAL_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _until(proc, "pyhost: running Dev plugin until Ctrl-C")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Dev plugin: unloading" in err and "stopped after" in err
    assert "Traceback" not in err


def test_run_replay_prints_one_json_line_per_event(tmp_path):
    ok(tmp_path, "install", str(sample_plugin("app_demo")))
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"hook": "chat.onIncomingChat", "object": "adc://h", "data": "!ping"}\n'
        'this is not json\n'
        '{"hook": "ui.onChatCommand", "object": "adc://h", "data": "/beep"}\n')
    result = pyhost(tmp_path, "run", "--replay", str(events), "--json")
    assert result.returncode == 2  # a malformed line was skipped
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert "summary" in records.pop() and "host_event" in records.pop(0)  # plugin_loaded
    records = [r for r in records if "host_event" not in r]
    assert [r.get("event") for r in records] == [0, 1, None, 2]
    assert records[2] == {"line": 2, "error": "line 2: not JSON (Expecting value at column 1)"}
    assert records[3]["effects"][0]["function"] == "play_sound"
    assert "1 malformed line(s) skipped (line 2)" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_replay_from_stdin_and_shipped_examples(tmp_path, cli):
    cli(tmp_path, "install", str(sample_plugin("app_demo")))
    result = pyhost(tmp_path, "run", "--replay", "-", "--json",
                    stdin='{"hook": "ui.onChatCommand", "object": "adc://h", "data": "/beep"}\n')
    assert result.returncode == 0
    events = [r for r in map(json.loads, result.stdout.splitlines()) if r.get("event")]
    assert len(events) == 1 and events[0]["handled"] is True
    example = cli(tmp_path, "run", "--replay", "example:chat", "--json")
    assert example.returncode == 0
    records = [json.loads(line) for line in example.stdout.splitlines()]
    assert all("error" not in r for r in records) and len(records) > 10
    assert records[-1]["summary"]["errors"] == 0
    nope = cli(tmp_path, "run", "--replay", "example:nope")
    assert nope.returncode == 2
    assert "There is no shipped example 'nope' (known: chat" in nope.stderr


def test_run_refuses_bad_input(tmp_path, cli):
    assert refused(tmp_path, "run", "--replay", str(tmp_path / "missing.jsonl")) == \
        f"Cannot read {tmp_path / 'missing.jsonl'}: No such file or directory."
    result = cli(tmp_path, "run", "--seconds", "-1")
    assert (result.returncode, result.stderr.strip()) == \
        (2, "pyhost: --seconds must be a non-negative number, not -1.")
    bad_header = tmp_path / "v9.jsonl"
    bad_header.write_text('{"pyhost_replay": 9}\n')
    result = cli(tmp_path, "run", "--replay", str(bad_header))
    assert result.returncode == 2 and "pyhost-replay version 9" in result.stderr
