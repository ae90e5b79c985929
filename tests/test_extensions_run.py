"""`pyhost run` with extensions, end to end through the command: a replay where a C plugin,
a Python plugin and a Node extension all follow incoming chat (the effects show each one's
work; the extension's reject drops the message for the host), the Web API on port 5600 when
--listen is not given, and `pyhost extension list|start|stop|restart|logs|remove` talking
to the running pyhost."""
import json
import signal
import subprocess

from pathlib import Path

from extension_helpers import FILTER, HUB, WATCHER, packed, wait_for  # noqa: F401
from pyhost.abi.paths import sample_plugin
from pyhost.server.extensions import installer
from test_cli import NEUTRAL_DIR, PYHOST

PY_PLUGIN = '''\
from pyhost.plugin import MSG_STATUS, Plugin, hook

plugin = Plugin(guid="{5e1c7a0e-3b2d-4c1f-9a57-c0ffee00e2e0}", name="Chat echo",
                version=1.0, author="tests", description="says what it saw")

@hook("dcpp.chat.onIncomingChat")
def on_chat(hub, message):
    hub.local_message(f"python saw: {message}", MSG_STATUS)
    return False
'''


def pyhost(home: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*PYHOST, "--home", str(home), *args], cwd=NEUTRAL_DIR,
                          capture_output=True, text=True, timeout=120, **kw)


def test_a_replay_with_a_c_plugin_a_python_plugin_and_a_node_extension(packed, tmp_path):
    home = tmp_path / "home"
    plugin = tmp_path / "chat_echo.py"
    plugin.write_text(PY_PLUGIN)
    for source in (sample_plugin("app_demo"), sample_plugin("chat_guard"), plugin):
        assert pyhost(home, "install", str(source)).returncode == 0
    assert pyhost(home, "extension", "install", str(packed[FILTER])).returncode == 0
    lines = ["!ping", "<bob> buy spam", "<bob> a badword here", "<bob> bye"]
    replay = tmp_path / "chat.jsonl"
    replay.write_text("".join(json.dumps({"hook": "chat.onIncomingChat", "object": HUB,
                                          "data": line}) + "\n" for line in lines))
    r = pyhost(home, "run", "--listen", "127.0.0.1:0", "--replay", str(replay), "--json")
    assert r.returncode == 0, r.stderr
    records = [json.loads(x) for x in r.stdout.splitlines()]
    events = [x for x in records if "hook" in x]
    assert [e["handled"] for e in events] == [False, True, True, False]
    work = [[(f["interface"], f["function"], f["args"].get("subscriber") or
              f["args"].get("message")) for f in e["effects"]] for e in events]
    saw = "python saw: "
    # 1: the C plugin answers !ping, the Python plugin reports it, the extension accepts
    assert work[0] == [("DCHub", "send_message", "pong"),
                       ("DCHub", "local_message", saw + "!ping")]
    # 2: the C plugin drops spam and stops the chain: neither the Python plugin nor the
    #    extension (bound after the plugins) sees it
    assert work[1] == []
    # 3: the Python plugin sees it, then the extension rejects it: dropped for the host
    assert work[2] == [("DCHub", "local_message", saw + "<bob> a badword here"),
                       ("api", "hub_incoming_message_hook.reject",
                        "pyhost chat filter (pyhost_chat_filter)")]
    assert events[2]["default"]["done"] is False  # the application did not show it
    assert work[3] == [("DCHub", "local_message", saw + "<bob> bye")]
    kinds = [x["host_event"]["kind"] for x in records if "host_event" in x]
    assert kinds.count("extension_started") == kinds.count("extension_stopped") == 1
    assert records[-1]["summary"]["events"] == 4
    assert "pyhost: extensions: airdcpp-pyhost-chat-filter" in r.stderr


def test_the_web_api_for_extensions_defaults_to_port_5600(packed, tmp_path):
    home = tmp_path / "home"
    installer.install(home, packed[FILTER], 7)
    r = pyhost(home, "run", "--seconds", "0")
    if r.returncode == 0:
        assert "pyhost: Web API on http://127.0.0.1:5600/api/v1/ (for the extensions)" in \
            r.stderr
    else:  # something else holds 5600 on this machine: the refusal names it
        assert r.returncode == 2 and "Cannot listen on 127.0.0.1:5600" in r.stderr, r.stderr
        assert "--no-extensions" in r.stderr
    r = pyhost(home, "run", "--seconds", "0", "--no-extensions")
    assert r.returncode == 0 and "Web API" not in r.stderr
    r = pyhost(home, "run", "--seconds", "0", "--extension-timeout", "61")
    assert r.returncode == 2 and "--extension-timeout must be from 1 to 60" in r.stderr


def test_the_command_line_controls_the_running_pyhost(packed, tmp_path):
    home = tmp_path / "home"
    for name in (FILTER, WATCHER):
        installer.install(home, packed[name], 7)
    proc = subprocess.Popen([*PYHOST, "--home", str(home), "run", "--listen", "127.0.0.1:0"],
                            cwd=NEUTRAL_DIR, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        while not proc.stderr.readline().startswith("pyhost: running"):
            assert proc.poll() is None

        def rows():
            return {r["name"]: r for r in json.loads(
                pyhost(home, "extension", "list", "--json").stdout)}
        assert {n: r["state"] for n, r in rows().items()} == {FILTER: "running",
                                                              WATCHER: "running"}
        pid = json.loads((home / "extensions" / FILTER / "state.json").read_text())["pid"]
        r = pyhost(home, "extension", "stop", FILTER)
        assert r.returncode == 0 and r.stdout.strip() == f"Stopped extension {FILTER}."
        assert rows()[FILTER]["state"] == "stopped"
        assert pyhost(home, "extension", "start", FILTER).stdout.strip() == \
            f"Started extension {FILTER}."
        r = pyhost(home, "extension", "restart", FILTER)
        assert r.returncode == 0 and rows()[FILTER]["state"] == "running"
        new_pid = json.loads((home / "extensions" / FILTER / "state.json").read_text())["pid"]
        assert new_pid != pid
        wait_for(lambda: "chat filter ready" in pyhost(home, "extension", "logs", FILTER).stdout)
        assert "chat filter ready" in pyhost(home, "extension", "logs", FILTER, "--old").stdout
        r = pyhost(home, "extension", "stop", "airdcpp-not-installed")
        assert r.returncode == 2 and "There is no installed extension" in r.stderr
        r = pyhost(home, "extension", "remove", WATCHER)  # through the running pyhost
        assert r.returncode == 0 and not (home / "extensions" / WATCHER).exists()
        assert set(rows()) == {FILTER}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rows()[FILTER]["state"] == "stopped"
    r = pyhost(home, "extension", "stop", FILTER)
    assert r.returncode == 2 and "No pyhost is running" in r.stderr
