"""The command line under hostile input found by an audit: each case gets one sentence and
exit status 2, never "unexpected error" (status 1), a traceback or a half-done change."""
import json
import os
import subprocess

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
