"""What the web page needs from the server besides the Web API it had: installing by upload
(the same checks as pyhost install, size limit, JSON errors, nothing left behind), removing
and moving plugins, settings as definitions, the page itself, plugins' own UI files (with
the sandbox), and pyhost call against a running host."""
import asyncio
import json
import os
import signal
import subprocess
import sys

import aiohttp

from dcext_fixtures import info_xml, zip_package
from extension_helpers import PYTHON, pack
from pyhost.abi.paths import sample_plugin, sample_plugins
from server_helpers import PASSWORD, Served, WsClient, http, login_http, run

C_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee0000c1}"
NOTES_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000504}"


async def upload(session, served, name, content: bytes, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = served.url + "plugins/upload" + ("" if name is None else f"?filename={name}")
    async with session.post(url, data=content, headers=headers) as resp:
        text = await resp.text()
        assert "Traceback" not in text
        return resp.status, json.loads(text)


def uploads(served):
    root = served.host.home / "uploads"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_installing_by_upload(tmp_path):
    served = Served(tmp_path / "home", max_upload_bytes=2 * 1024 * 1024)
    host = served.host
    library = sample_plugin("rpc_demo").read_bytes()

    async def scenario():
        async with aiohttp.ClientSession() as s:
            admin = await login_http(s, served.url)
            viewer = await login_http(s, served.url, "viewer")
            code, err = await upload(s, served, "rpc_demo.so", library)
            assert code == 401
            code, err = await upload(s, served, "rpc_demo.so", library, viewer)
            assert code == 403 and "admin" in err["message"]
            for name, content, message in [
                    (None, library, "filename"),
                    ("../evil.so", library, "filename"),
                    ("tool.exe", library, "not a plugin file"),
                    ("empty.so", b"", "empty"),
                    ("garbage.so", b"\x7fELF" + b"\0" * 60, ""),
                    ("text.so", b"just text", ""),
                    ("broken.py", b"def broken(:\n", "could not be imported"),
                    ("noplugin.py", b"x = 1\n", "declares no plugin"),
                    ("bad.dcext", b"PK\x03\x04 not a zip", ""),
                    ("ext.tgz", b"\x1f\x8b not really", "not a .tgz package")]:
                code, err = await upload(s, served, name, content, admin)
                assert code == 400, (name, code, err)
                assert message in err["message"] or message in err.get("field", ""), err
                assert "Traceback" not in err["message"]
                # the file is named as the client named it, not by the server's scratch path
                assert str(host.home) not in err["message"], err
            code, err = await upload(s, served, "huge.so", b"\0" * (3 * 1024 * 1024), admin)
            assert code == 413
            assert uploads(served) == [] and host.plugins() == []   # nothing left behind

            c = await WsClient.open(served.ws_url)
            await c.login("viewer")
            await c.ok("POST", "plugins/listeners/plugin_installed")
            code, data = await upload(s, served, "rpc_demo.so", library, admin)
            assert code == 200, data
            assert (data["guid"], data["action"], data["status"]) == (C_GUID, "installed",
                                                                      "loaded")
            assert (await c.next_event())["data"]["guid"] == C_GUID   # others hear of it
            assert host.rpc.lookup("rpc_demo.add") is not None
            assert host.plugin(C_GUID).path.startswith(str(host.home / "uploads"))
            code, err = await upload(s, served, "rpc_demo.so", library, admin)
            assert code == 400 and "already installed" in err["message"]
            assert len(uploads(served)) == 1                           # the refused copy went

            notes = (sample_plugins()["notes"] / "__init__.py").read_bytes()
            code, data = await upload(s, served, "notes.py", notes, admin)
            assert (code, data["kind"], data["ui"]) == (200, "python", None)  # a lone file
            assert len(uploads(served)) == 2

            # Removing deletes the uploaded file; a package brings its ui/ files.
            await c.login("admin")
            await c.ok("DELETE", f"plugins/{C_GUID}")
            assert len(uploads(served)) == 1
            package = zip_package({
                "info.xml": info_xml(uuid=C_GUID, name="RPC demo", plugins={
                    "elf-x64": "x64/rpc_demo.so"}, files=[("ui/index.html", None),
                                                           ("ui/app.js", None)]),
                "x64/rpc_demo.so": library,
                "ui/index.html": "<!doctype html><script src='app.js'></script><p>demo</p>",
                "ui/app.js": "document.body.dataset.ok = 1;"})
            code, data = await upload(s, served, "rpc demo.dcext", package, admin)
            assert code == 200, data
            assert data["ui"] == "/plugin-ui/%7B5e1c7a0e-3b2d-4c1f-9a57-c0ffee0000c1%7D/"
            root = served.url.replace("/api/v1/", "")
            async with s.get(root + data["ui"]) as resp:
                assert resp.status == 200 and "<p>demo</p>" in await resp.text()
                policy = resp.headers["Content-Security-Policy"]
                assert policy.startswith("sandbox allow-scripts allow-forms;")
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
            async with s.get(root + data["ui"] + "app.js") as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith("text/javascript")
            for bad in ("../info.xml", "..%2Finfo.xml", "%2e%2e/info.xml", "x64/../../x",
                        ".hidden", "missing.html"):
                async with s.get(root + data["ui"] + bad) as resp:
                    assert resp.status == 404, bad
            async with s.get(root + "/plugin-ui/%7Bnope%7D/") as resp:
                assert resp.status == 404

            # An extension package goes to the extensions area.
            await c.ok("POST", "extensions/listeners/extension_added")
            tgz = pack.pack(PYTHON, tmp_path / "packed").read_bytes()
            code, data = await upload(s, served, f"{PYTHON}.tgz", tgz, admin)
            assert code == 200, data
            assert (data["name"], data["action"], data["managed"]) == (PYTHON, "installed",
                                                                       True)
            event = await c.next_event()
            while event["event"] != "extension_added":      # the plugins' events before it
                event = await c.next_event()
            assert event["data"]["name"] == PYTHON
            assert [e["name"] for e in await c.ok("GET", "extensions")] == [PYTHON]
            assert (served.host.home / "extensions" / PYTHON / "package" /
                    "package.json").is_file()
            code, data = await upload(s, served, f"{PYTHON}.tgz", tgz, admin)
            assert (code, data["action"]) == (200, "updated")
            await c.close()
    try:
        run(scenario())
    finally:
        served.close()


def test_page_move_remove_and_settings_definitions(tmp_path):
    served = Served(tmp_path / "home")
    host = served.host
    host.install(sample_plugin("rpc_demo"))
    host.install(sample_plugins()["notes"], kind="python")

    async def scenario():
        async with aiohttp.ClientSession() as s:
            root = served.url.replace("/api/v1/", "")
            async with s.get(root + "/") as resp:
                page = await resp.text()
                assert resp.status == 200 and '<script type="module" src="/web/app.js">' in page
                assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
            for name in ("app.js", "api.js", "plugins.js", "forms.js", "events.js",
                         "methods.js", "extensions.js", "frames.js", "dom.js",
                         "plugin-frame.js", "style.css"):
                async with s.get(root + "/web/" + name) as resp:
                    assert resp.status == 200, name
            for bad in ("../app.py", "nope.js", "App.js", ".hidden.js"):
                async with s.get(root + "/web/" + bad) as resp:
                    assert resp.status == 404, bad

        c = await WsClient.open(served.ws_url)
        await c.login("admin")
        plugins = await c.ok("GET", "plugins")
        assert [p["name"] for p in plugins] == ["RPC demo", "Notes"]
        notes = plugins[1]
        assert notes["ui"] and notes["status"] == "loaded" and notes["kind"] == "python"
        await c.ok("POST", "plugins/listeners/plugin_moved")
        moved = await c.ok("POST", f"plugins/{NOTES_GUID}/move", {"direction": "up"})
        assert moved == {"moved": True, "order": [NOTES_GUID, C_GUID]}
        event = await c.next_event()
        assert (event["event"], event["id"], event["data"]["direction"]) == \
            ("plugin_moved", NOTES_GUID, "up")
        assert (await c.ok("POST", f"plugins/{NOTES_GUID}/move", {"direction": "up"}))[
            "moved"] is False
        code, err = await c.request("POST", f"plugins/{NOTES_GUID}/move", {"direction": "x"})
        assert code == 400
        for data in ({}, {"direction": None}):  # required, as the OpenAPI document says
            code, err = await c.request("POST", f"plugins/{C_GUID}/move", data)
            assert (code, err["field"], err["code"]) == (400, "direction", "missing_field")
        assert [p["guid"] for p in await c.ok("GET", "plugins")] == [NOTES_GUID, C_GUID]

        defs = await c.ok("GET", f"plugins/{NOTES_GUID}/settings/definitions")
        assert [(d["key"], d["type"], d["default_value"]) for d in defs] == [
            ("max_notes", "number", 100), ("greeting", "string",
                                           "Hello from the notes plugin"),
            ("upper", "boolean", False)]
        code, err = await c.request("PATCH", f"plugins/{NOTES_GUID}/settings",
                                    {"max_notes": "many"})
        assert code == 400 and "int setting" in err["message"]   # the declared type counts
        assert await c.ok("PATCH", f"plugins/{NOTES_GUID}/settings",
                          {"upper": True, "max_notes": 2}) == {"upper": True, "max_notes": 2}
        assert (await c.ok("POST", "plugins/notes/rpc/add", ["shout"]))["result"]["text"] == \
            "SHOUT"                                              # the plugin reads it
        assert await c.ok("GET", f"plugins/{C_GUID}/settings/definitions") == []

        await c.ok("DELETE", f"plugins/{C_GUID}")
        assert [p["guid"] for p in await c.ok("GET", "plugins")] == [NOTES_GUID]
        assert host.rpc.lookup("rpc_demo.add") is None
        code, err = await c.request("DELETE", f"plugins/{C_GUID}")
        assert code == 404
        await c.close()
        c = await WsClient.open(served.ws_url)
        await c.login("viewer")
        code, err = await c.request("DELETE", f"plugins/{NOTES_GUID}")
        assert code == 403
        await c.close()
    try:
        run(scenario())
    finally:
        served.close()


def test_host_event_stream(tmp_path):
    served = Served(tmp_path / "home")

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login("viewer")
        await c.ok("POST", "events/listeners/host_event")
        await asyncio.get_running_loop().run_in_executor(
            None, served.host.install, str(sample_plugin("rpc_demo")))
        kinds = []
        while "plugin_installed" not in kinds:
            event = await c.next_event()
            assert event["event"] == "host_event"
            kinds.append(event["data"]["kind"])
            assert event["data"]["category"] and event["data"]["seq"] > 0
        assert kinds[:1] == ["rpc_method_added"] and "plugin_loaded" in kinds
        latest = await c.ok("GET", "events/host")
        assert [e["kind"] for e in latest][-len(kinds):] == kinds
        await c.close()
    try:
        run(scenario())
    finally:
        served.close()


def test_pyhost_call_against_a_running_host(tmp_path):
    served = Served(tmp_path / "home")
    served.host.install(sample_plugin("rpc_demo"))
    served.host.install(sample_plugins()["notes"], kind="python")
    root = served.url.replace("/api/v1/", "")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYHOST_")}

    def call(*args, stdin="", **extra):
        result = subprocess.run([sys.executable, "-m", "pyhost", "call", *args],
                                capture_output=True, text=True, input=stdin, timeout=60,
                                cwd=tmp_path,  # not the checkout: its unbuilt package would shadow
                                env={**env, "PYHOST_URL": root, **extra})
        assert "Traceback" not in result.stderr
        return result

    try:
        r = call("notes.stats", "--json")
        assert r.returncode == 0 and json.loads(r.stdout)["count"] == 0
        r = call("notes.add", "hi")
        assert r.returncode == 2 and r.stderr == "pyhost: notes.add needs a login (level " \
                                                 "NORMAL).\n"
        login = {"PYHOST_USER": "admin", "PYHOST_PASSWORD": PASSWORD}
        r = call("rpc_demo.add", "2", "40", **login)
        assert (r.returncode, r.stdout) == (0, "42\n")
        r = call("notes.add", "a note", **login)
        assert json.loads(r.stdout) == {"id": 1, "text": "a note"}
        r = call("notes.add", "--params", '{"text": "named"}', "--json", **login)
        assert r.stdout == '{"id": 2, "text": "named"}\n'
        r = call("rpc_demo.echo", '"2"', "[1,2]", "plain", "true", "--json", **login)
        assert json.loads(r.stdout) == ["2", [1, 2], "plain", True]
        r = call("--user", "admin", "--password-stdin", "notes.list", stdin=PASSWORD + "\n")
        assert [n["text"] for n in json.loads(r.stdout)] == ["a note", "named"]
        r = call("--list", "--json", **login)
        assert len(json.loads(r.stdout)) == 10
        r = call("--list", PYHOST_USER="viewer", PYHOST_PASSWORD=PASSWORD)
        assert "- notes.add" in r.stdout and "  notes.list" in r.stdout
        r = call("rpc_demo.fail", **login)
        assert (r.returncode, r.stderr) == (2, "pyhost: rpc_demo failed on purpose.\n")
        r = call("nothing", **login)
        assert r.returncode == 2 and "PLUGIN.METHOD" in r.stderr
        r = call("notes.add", "x", "--params", "[]", **login)
        assert r.returncode == 2 and "not both" in r.stderr
        r = call("notes.list", PYHOST_USER="admin", PYHOST_PASSWORD="wrong")
        assert r.returncode == 2 and "Invalid username or password" in r.stderr
        r = call("notes.stats", "--url", "http://127.0.0.1:9")
        assert r.returncode == 2 and "Cannot reach pyhost" in r.stderr

        async def token():
            async with aiohttp.ClientSession() as s:
                return await login_http(s, served.url)
        r = call("notes.list", PYHOST_TOKEN=run(token()))
        assert r.returncode == 0 and len(json.loads(r.stdout)) == 2
    finally:
        served.close()


def test_pyhost_call_finds_the_run_of_its_home(tmp_path):
    """Without --url, $PYHOST_URL or credentials, `pyhost call` reaches the `pyhost run
    --listen` of the same home with that run's own admin session; given an address alone it
    is anonymous, and the same ADMIN method is refused."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYHOST_")}

    def pyhost(*args):
        result = subprocess.run([sys.executable, "-m", "pyhost", "--home", str(home), *args],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path,
                                env=env)
        assert "Traceback" not in result.stderr
        return result

    assert pyhost("install", str(sample_plugin("rpc_demo"))).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "pyhost", "--home", str(home), "run",
                             "--listen", "127.0.0.1:0", "--no-extensions"], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    control = home / "run-api.json"
    try:
        while not proc.stderr.readline().startswith("pyhost: running"):
            assert proc.poll() is None, proc.stderr.read()
        assert control.exists()
        r = pyhost("call", "rpc_demo.reset")  # level ADMIN
        assert (r.returncode, r.stdout, r.stderr) == (0, "null\n", "")
        r = pyhost("call", "rpc_demo.add", "1", "2")
        assert (r.returncode, r.stdout) == (0, "3\n")
        url = json.loads(control.read_text())["url"]
        r = pyhost("call", "--url", url, "rpc_demo.reset")
        assert r.returncode == 2 and "needs a login (level ADMIN)" in r.stderr
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not control.exists()
