"""The command line under hostile input found by an audit: each case gets one sentence and
exit status 2, never "unexpected error" (status 1), a traceback or a half-done change."""
import json
import os
import subprocess
import textwrap

import pytest

from test_cli import NEUTRAL_DIR, PYHOST, cli  # noqa: F401 (cli is a fixture)


def _run_bytes(home, *args, stdin: bytes, env=None):
    return subprocess.run([*PYHOST, "--home", str(home), *args], cwd=NEUTRAL_DIR,
                          capture_output=True, input=stdin, timeout=120, env=env)


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_a_password_on_stdin_that_is_not_utf8_is_refused(tmp_path, locale):
    env = dict(os.environ, LC_ALL=locale, PYTHONIOENCODING="")
    home = tmp_path / "home"
    result = _run_bytes(home, "user", "add", "carol", "--password-stdin",
                        stdin=b"pw\xff\n", env=env)
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, err
    assert "The password on stdin is not valid UTF-8 text." in err
    assert "unexpected" not in err and "Traceback" not in err
    listed = _run_bytes(home, "user", "list", "--json", stdin=b"")
    assert json.loads(listed.stdout) == []  # nobody was added
    # pyhost call reads --password-stdin the same way (refused before any connection)
    called = _run_bytes(home, "call", "x.y", "--user", "carol", "--password-stdin",
                        "--url", "http://127.0.0.1:9", stdin=b"\xfe\n", env=env)
    err = called.stderr.decode("utf-8", "replace")
    assert called.returncode == 2 and "not valid UTF-8 text" in err, err


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e308"])
def test_call_timeout_must_be_a_usable_number_of_seconds(tmp_path, cli, value):
    result = cli(tmp_path / "home", "call", "--url", "http://127.0.0.1:9", "--timeout",
                 value, "x.y")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("pyhost: --timeout must be a number of seconds above 0")
    assert "unexpected" not in result.stderr and "did not answer" not in result.stderr


def test_ctrl_c_interrupts_a_command_whichever_thread_sees_the_signal_first():
    """The watcher thread and the main thread's handler both learn of one SIGINT; when the
    watcher came first, the command used to wait out the 5 s grace and end with 'did not
    return' instead of being interrupted at once (pyhost call waiting for its answer)."""
    import signal
    import time

    from pyhost.cli import stopping

    stopper = stopping.Stopper(grace=60)
    before = signal.getsignal(signal.SIGINT)
    with stopper:
        stopper.requested.set()  # what the watcher does when it reads the signal first
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler interrupts this
    assert signal.getsignal(signal.SIGINT) is before


def test_a_signal_while_the_stopper_installs_leaves_nothing_installed(monkeypatch, cli,
                                                                       tmp_path):
    """Ctrl-C in the instant the command's signal handling is being set up: 'interrupted'
    and 130, not a traceback, and the previous handlers are back."""
    import signal
    import threading

    from pyhost.cli import stopping

    real_start = threading.Thread.start

    def start(thread):
        real_start(thread)
        if thread.name == "pyhost-stop":
            raise KeyboardInterrupt
    monkeypatch.setattr(threading.Thread, "start", start)
    before = signal.getsignal(signal.SIGINT)
    try:
        result = cli(tmp_path / "home", "list")
    except KeyboardInterrupt:  # (not left to pytest, which would end the whole run)
        signal.signal(signal.SIGINT, before)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        pytest.fail("the KeyboardInterrupt escaped main() with a traceback")
    assert (result.returncode, result.stderr) == (130, "pyhost: interrupted\n")
    assert signal.getsignal(signal.SIGINT) is before and stopping.current is None
    assert signal.set_wakeup_fd(-1) == -1  # no wakeup fd left behind


def test_ctrl_c_while_the_command_is_still_importing_is_one_line():
    """The `pyhost` script (pyhost.__main__.program) turns a SIGINT that comes while the
    command's modules load into 'interrupted' and 130, not a KeyboardInterrupt traceback."""
    import sys
    code = textwrap.dedent("""
        import builtins, os, signal, sys
        import pyhost.__main__ as entry
        real_import = builtins.__import__
        def importing(name, *args, **kwargs):
            if name == "pyhost.cli.main":
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the imports
            return real_import(name, *args, **kwargs)
        builtins.__import__ = importing
        sys.argv = ["pyhost", "--version"]
        sys.exit(entry.program())
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=NEUTRAL_DIR,
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr, result.stdout) == \
        (130, "pyhost: interrupted\n", "")
    # without a signal the same entry point runs the command
    result = subprocess.run([sys.executable, "-c", "import sys, pyhost.__main__ as e; "
                             "sys.argv = ['pyhost', '--version']; sys.exit(e.program())"],
                            cwd=NEUTRAL_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("pyhost ")


@pytest.mark.parametrize("content", [b"garbage\n", b"", b"\x1f\x8b\x08\x00garbage"])
def test_an_extension_package_that_is_no_archive_is_one_sentence(tmp_path, cli, content):
    package = tmp_path / "broken.tgz"
    package.write_bytes(content)
    home = tmp_path / "home"
    result = cli(home, "extension", "install", str(package))
    assert result.returncode == 2
    assert result.stderr.startswith("pyhost: broken.tgz is not a .tgz package (")
    assert result.stderr.count("\n") == 1, result.stderr  # one line
    assert not (home / "extensions").exists() or not any((home / "extensions").iterdir())


@pytest.mark.parametrize("action", ["remove", "enable", "disable", "start", "logs", "config"])
@pytest.mark.parametrize("name", ["x", "", "../airdcpp-x"])
def test_an_impossible_extension_name_is_not_blamed_on_package_json(tmp_path, cli, action,
                                                                     name):
    result = cli(tmp_path / "home", "extension", action, name)
    assert result.returncode == 2
    assert result.stderr == (f"pyhost: There is no installed extension {name!r}: extension "
                             "names start with 'airdcpp-' (`pyhost extension list` shows "
                             "them).\n")


@pytest.mark.parametrize("args", [["install", ""], ["extension", "install", ""],
                                  ["pack", ""], ["pack", "dir", "-o", ""], ["inspect", ""],
                                  ["run", "--replay", "", "--seconds", "0"],
                                  ["run", "--listen", "127.0.0.1:0", "--tls-cert", "",
                                   "--tls-key", "k", "--seconds", "0"]])
def test_an_empty_path_names_nothing(tmp_path, cli, args):
    """Not taken as the current directory ("/tmp is a directory, not a file")."""
    result = cli(tmp_path / "home", *args)
    assert result.returncode == 2
    assert result.stderr.rstrip().endswith(": the empty string names no file or directory")


def test_names_and_settings_a_plugin_gives_cannot_drive_the_terminal(tmp_path, cli):
    """A plugin's name and its settings reach the terminal with their control
    characters written as escapes (an OSC sequence could retitle the window, worse on some
    terminals); --json output stays exact."""
    from hostile_plugins import python_plugin
    guid = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee00e5c0}"
    path = python_plugin(tmp_path / "src", "evil", "", guid, "Evil\x1b]0;pwned\x07 name")
    home = tmp_path / "home"
    outputs = [cli(home, "install", str(path)), cli(home, "list"), cli(home, "enable", guid),
               cli(home, "config", guid, "k\x1b[31m", "v\x1b[2J"), cli(home, "config", guid),
               cli(home, "isolate", guid)]
    exact = json.loads(cli(home, "config", guid, "--json").stdout)
    assert exact["settings"] == {"k\x1b[31m": {"type": "string", "value": "v\x1b[2J"}}
    outputs.append(cli(home, "remove", guid))
    assert [r.returncode for r in outputs] == [0, 0, 0, 0, 0, 2, 0], [r.stderr for r in outputs]
    for result in outputs:
        assert "\x1b" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert "Evil\\x1b]0;pwned\\x07 name" in outputs[1].stdout
    assert "k\\x1b[31m  string  v\\x1b[2J" in outputs[4].stdout
    assert "Evil\\x1b]0;pwned\\x07 name is a python plugin" in outputs[5].stderr
    assert outputs[6].stdout == "removed Evil\\x1b]0;pwned\\x07 name 1.0\n"


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_tls_certificate_that_is_a_fifo_or_device_is_refused_not_waited_on(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "cert.pem"
        os.mkfifo(path)  # nobody writes it: reading it would block for ever
    else:
        path = "/dev/zero"
    try:
        result = subprocess.run([*PYHOST, "--home", str(tmp_path / "home"), "run", "--listen",
                                 "127.0.0.1:0", "--tls-cert", str(path), "--tls-key",
                                 str(path), "--seconds", "0"], cwd=NEUTRAL_DIR,
                                capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("pyhost run waited on the TLS certificate")
    words = "a FIFO (named pipe)" if kind == "fifo" else "a character device"
    assert (result.returncode, result.stderr) == (
        2, f"pyhost: {path} is {words}, not a file; refusing to read it as a TLS "
           "certificate.\n")


@pytest.mark.parametrize("name, args", [
    ("api-users.json", ["user", "list"]),
    ("api-users.json", ["user", "add", "bob", "--password-stdin"]),
    ("run-api.json", ["call", "x.y"])])
def test_a_fifo_in_place_of_a_home_file_is_not_waited_on(tmp_path, name, args):
    home = tmp_path / "home"
    home.mkdir()
    os.mkfifo(home / name)
    try:
        result = subprocess.run([*PYHOST, "--home", str(home), *args], cwd=NEUTRAL_DIR,
                                input="pw\n", capture_output=True, text=True, timeout=30,
                                env={k: v for k, v in os.environ.items()
                                     if not k.startswith("PYHOST_")})  # call reads the file
    except subprocess.TimeoutExpired:
        pytest.fail(f"pyhost {' '.join(args)} waited on the FIFO {name}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    if name == "api-users.json":
        assert result.stderr == (f"pyhost: {home / name} is a FIFO (named pipe), not a file; "
                                 "refusing to read it as a users file.\n")
    assert (home / name).is_fifo()  # left as it was


def test_fifos_in_an_extensions_directory_are_not_waited_on(tmp_path, cli):
    source = tmp_path / "src"
    source.mkdir()
    (source / "package.json").write_text(json.dumps({
        "name": "airdcpp-quiet", "version": "1.0.0", "description": "d", "author": "me",
        "main": "index.js", "airdcpp": {"apiVersion": 1, "minApiFeatureLevel": 1}}))
    (source / "index.js").write_text("")
    home = tmp_path / "home"
    assert cli(home, "extension", "install", str(source)).returncode == 0
    root = home / "extensions" / "airdcpp-quiet"
    (root / "settings").mkdir(exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    for fifo in ("state.json", "settings/pyhost-settings.json", "logs/output.log"):
        os.mkfifo(root / fifo)
    checks = [(["extension", "list"], 0, "airdcpp-quiet 1.0.0"),
              (["extension", "config", "airdcpp-quiet"], 2, "has not defined its settings"),
              (["extension", "logs", "airdcpp-quiet"], 2, "is a FIFO (named pipe), not a file")]
    for args, code, words in checks:
        try:
            result = subprocess.run([*PYHOST, "--home", str(home), *args], cwd=NEUTRAL_DIR,
                                    capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"pyhost {' '.join(args)} waited on a FIFO")
        assert result.returncode == code and words in result.stdout + result.stderr, \
            (args, result.stdout, result.stderr)


def test_an_api_client_that_does_not_answer_a_hook_is_no_plugin_error():
    """pyhost run's tally (the summary's plugin_errors, --strict's exit status 1) counts
    what plugins did: an API hook subscriber timing out made a --strict run fail with
    'a plugin raised or failed to load'."""
    from pyhost.cli.run import _Tally
    from pyhost.host.events import SubscriberException
    from pyhost.server.hook_bridge import ApiHookSkipped, ApiHookTimedOut
    tally = _Tally()
    tally(ApiHookTimedOut(hook="hub_incoming_message_hook", subscriber="x", user="u",
                          timeout_s=2.0, seq=1, time=0.0))
    tally(ApiHookSkipped(hook="hub_incoming_message_hook", reason="loop", seq=2, time=0.0))
    assert tally.plugin_errors == 0
    tally(SubscriberException(hook="h", subscriber="s", plugin="p", error="E: x",
                              traceback="", seq=3, time=0.0))
    assert tally.plugin_errors == 1


@pytest.mark.parametrize("url", ["", "  "])
def test_call_with_an_empty_url_is_refused_not_sent_to_the_homes_run(tmp_path, cli, url):
    """`pyhost call --url "$HOST" ...` with $HOST unset must not call the run of this home
    (with its admin session) or the default address instead."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "run-api.json").write_text(json.dumps({"pid": os.getpid(), "token": "t",
                                                   "url": "http://127.0.0.1:9/api/v1/"}))
    result = cli(home, "call", "--url", url, "x.y")
    assert (result.returncode, result.stderr) == (
        2, "pyhost: --url is empty: give the host's address, http://HOST:PORT.\n")


def test_config_without_a_plugin_names_only_what_is_missing(tmp_path, cli):
    result = cli(tmp_path / "home", "config")
    assert result.returncode == 2
    assert result.stderr.rstrip().endswith("error: the following arguments are required: "
                                           "PLUGIN")


def test_a_home_that_is_a_fifo_is_called_one(tmp_path, cli):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = cli(fifo, "list")
    assert (result.returncode, result.stderr) == (
        2, f"pyhost: The home {fifo} is a FIFO (named pipe), not a directory.\n")
