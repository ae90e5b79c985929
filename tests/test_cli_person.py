"""The command line as a person uses it (issue 11): config options anywhere, --unset KEY,
integers that are integers, plugins named as people name them, an aligned `list`, samples
apart from test fixtures, a Python plugin's declared defaults, homes that cannot be one,
arguments that are not UTF-8, and Host.install guessing the kind as the CLI does."""
import json
import os
import subprocess

import pytest

from hostile_plugins import python_plugin
from pyhost.abi.paths import sample_plugin, sample_plugins
from pyhost.host.host import Host
from test_cli import NEUTRAL_DIR, PYHOST, cli  # noqa: F401 (cli is a fixture)

DEV = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"
DEV_PY = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000502}"


@pytest.fixture
def home(tmp_path, cli):
    home = tmp_path / "home"
    for name in ("dev_plugin", "app_demo", "chat_guard"):
        assert cli(home, "install", str(sample_plugin(name))).returncode == 0
    return home


def test_config_options_may_come_anywhere(home, cli):
    for args in (["config", DEV, "n", "5", "--type", "int64"],
                 ["config", DEV, "n", "--type", "int64", "5"],
                 ["config", DEV, "--type", "int64", "n", "5"],
                 ["config", "--type", "int64", DEV, "n", "5"],
                 ["config", "--json", DEV, "--type", "int64", "n", "5"]):
        result = cli(home, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert cli(home, "config", DEV, "n", "--json").stdout.strip() == \
            json.dumps({"guid": DEV, "key": "n", "type": "int64", "value": 5})
    assert cli(home, "config", DEV, "neg", "--type", "int", "-7").stdout.strip() == \
        "neg = -7 (int)"
    for args in (["config", DEV, "--unset", "n"], ["config", "--unset", "neg", DEV]):
        result = cli(home, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout.startswith("removed ")
    assert "n " not in cli(home, "config", DEV).stdout
    result = cli(home, "config", DEV, "a", "b", "c")
    assert result.returncode == 2 and "at most KEY and VALUE" in result.stderr


@pytest.mark.parametrize("text", ["1_000", "+5", "\u0663", "\uff15", " 5", "0x10", "5.0"])
def test_integers_are_ascii_digits_only(home, cli, text):
    guessed = cli(home, "config", DEV, "guess", text)
    assert guessed.returncode == 0 and guessed.stdout.strip().endswith("(string)"), \
        guessed.stdout
    refused = cli(home, "config", DEV, "count", text, "--type", "int")
    assert refused.returncode == 2
    assert "is not an int (32-bit integer written with the digits 0-9)" in refused.stderr
    assert cli(home, "config", DEV, "count").returncode == 2  # nothing was stored


@pytest.mark.parametrize("name", [DEV, DEV.strip("{}"), DEV.upper(), DEV.strip("{}").upper(),
                                  "Dev plugin", "dev", "DEV PL"])
def test_plugins_are_named_as_people_name_them(home, cli, name):
    result = cli(home, "disable", name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "disabled Dev plugin"
    assert cli(home, "enable", name).returncode == 0


def test_an_unknown_or_ambiguous_name_says_what_to_do(home, cli):
    result = cli(home, "remove", "Dve plugin")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr == ("pyhost: No installed plugin is named 'Dve plugin'; run "
                             f"`pyhost list` to see them. Did you mean Dev plugin {DEV}?\n")
    typo = DEV[:-3] + "00}"
    suggested = cli(home, "config", typo).stderr
    assert "run `pyhost list` to see them. Did you mean " in suggested
    assert f"Dev plugin {DEV}" in suggested
    assert cli(home, "install", str(sample_plugin("dep_base"))).returncode == 0
    assert cli(home, "install", str(sample_plugin("dep_child"))).returncode == 0
    result = cli(home, "configure", "Depend")
    assert result.returncode == 2
    assert "'Depend' names several installed plugins (Dependency base" in result.stderr


def test_list_is_an_aligned_table_with_a_status(home, cli, tmp_path):
    copy = tmp_path / "copy_of_refuses_unload.so"
    copy.write_bytes(sample_plugin("refuses_unload").read_bytes())
    assert cli(home, "install", str(copy)).returncode == 0
    copy.unlink()
    assert cli(home, "disable", "Chat guard").returncode == 0
    lines = cli(home, "list").stdout.splitlines()
    header = lines[0].split()
    assert header == ["#", "status", "name", "version", "kind", "guid"]
    starts = [lines[0].index(h) for h in ("status", "name", "version", "kind", "guid")]
    for line in lines[1:]:
        for start in starts:  # every column starts where its header does
            assert line[start - 2:start] == "  " and line[start] != " ", (line, start)
    statuses = {line[starts[1]:].split("  ")[0]: line[starts[0]:starts[1]].strip()
                for line in lines[1:]}
    assert statuses == {"Dev plugin": "enabled", "App demo": "enabled",
                        "Chat guard": "disabled", "Refuses unload": "missing file"}


def test_samples_are_apart_from_test_fixtures_and_say_what_they_are(cli, tmp_path):
    out = cli(tmp_path, "samples").stdout
    samples, fixtures = out.split("Test fixtures")
    assert "dev_plugin " in samples and "chat_commands.py" in samples
    assert "refuses_load" in fixtures and "refuses_load" not in samples
    assert "returns False from every load state" in fixtures
    listed = json.loads(cli(tmp_path, "samples", "--json").stdout)
    assert set(listed) == {"samples", "test fixtures"}
    names = set(listed["samples"]) | set(listed["test fixtures"])
    assert names == set(sample_plugins())
    assert all(entry["description"] for group in listed.values() for entry in group.values())


def test_config_shows_the_defaults_a_python_plugin_declares(cli, tmp_path):
    home = tmp_path / "home"
    assert cli(home, "install", str(sample_plugins()["dev_plugin.py"])).returncode == 0
    lines = cli(home, "config", DEV_PY).stdout.splitlines()
    assert any(line.split()[:3] == ["loads", "int64", "1"] and "(default)" not in line
               for line in lines)  # stored at install
    assert any(line.split() == ["chat_seen", "int", "0", "(default)"] for line in lines)
    assert any(line.split() == ["configured", "bool", "false", "(default)"] for line in lines)
    assert cli(home, "config", DEV_PY, "chat_seen").stdout.strip() == "0  (default)"
    # a value typed for a declared key takes the declared type
    assert cli(home, "config", DEV_PY, "configured", "yes").stdout.strip() == \
        "configured = true (bool)"
    defaults = json.loads(cli(home, "config", DEV_PY, "--json").stdout)["defaults"]
    assert defaults["last_tick"] == {"type": "int64", "value": 0}


def test_homes_that_cannot_be_one_are_refused_in_one_sentence(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for home, words in (("", "The home directory is an empty path"),
                        (str(a_file), f"The home {a_file} is a file, not a directory.")):
        done = subprocess.run([*PYHOST, "--home", home, "list"], cwd=NEUTRAL_DIR,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert words in done.stderr
    env = dict(os.environ, PYHOST_HOME=str(a_file))
    done = subprocess.run([*PYHOST, "list"], cwd=NEUTRAL_DIR, capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 2 and "is a file, not a directory" in done.stderr


def test_invalid_utf8_in_an_argument_is_refused(tmp_path):
    for args in ([b"config", DEV.encode(), b"key", b"caf\xe9"],
                 [b"install", b"/tmp/\xff\xfe.so"]):
        done = subprocess.run([*map(os.fsencode, PYHOST), b"--home", os.fsencode(tmp_path),
                               *args], cwd=NEUTRAL_DIR, capture_output=True, timeout=60)
        err = done.stderr.decode()
        assert done.returncode == 2 and err.count("\n") == 1, err
        assert "is not valid UTF-8 text." in err and "Traceback" not in err


def test_host_install_detects_the_kind_as_the_cli_does(tmp_path):
    plugin = python_plugin(tmp_path, "kind", "", "{0bad0bad-0000-4000-8000-000000000091}",
                           "Kind")
    with Host(tmp_path / "home", timers=False) as host:
        assert host.install(plugin).kind == "python"  # no kind= given
        assert host.install(sample_plugin("dev_plugin")).kind == "native"
        package_dir = tmp_path / "a_package"
        python_plugin(package_dir, "__init__", "", "{0bad0bad-0000-4000-8000-000000000092}",
                      "Package")
        assert host.install(package_dir).kind == "python"
