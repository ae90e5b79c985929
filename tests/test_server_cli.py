"""`pyhost user` (the Web API's users: scrypt hashes, never the clear password), `pyhost run
--listen` refusals (non-loopback without TLS, half a TLS pair, bad addresses) and serving over
TLS, and secrets kept out of logs."""
import io
import json
import logging
import shutil
import ssl
import subprocess

import aiohttp
import pytest

from pyhost.server import ServerError, parse_listen, serve
from server_helpers import PASSWORD, Served, WsClient, http, run
from test_cli import cli, pyhost, refused  # noqa: F401


def test_user_add_list_passwd_remove(tmp_path, cli, monkeypatch):
    home = tmp_path / "home"

    def user(*args, stdin=None):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin or ""))
        return cli(home, "user", *args)

    # one real process, as a script would run it
    result = pyhost(home, "user", "add", "alice", "--password-stdin",
                    "--permissions", "hubs_view,hubs_send", stdin="s3cret pass\n")
    assert result.returncode == 0, result.stderr
    assert "alice" in result.stdout and "s3cret" not in result.stdout + result.stderr
    stored = (home / "api-users.json").read_text()
    assert "s3cret" not in stored and '"kdf": "scrypt"' in stored
    assert (home / "api-users.json").stat().st_mode & 0o777 == 0o600
    listed = json.loads(user("list", "--json").stdout)
    assert listed == [{"username": "alice", "permissions": ["hubs_view", "hubs_send"]}]
    for args, stdin, error in (
            (("add", "alice", "--password-stdin"), "x\n", "exists already"),
            (("add", "bob", "--password-stdin", "--permissions", "root"), "x\n",
             "Unknown permission"),
            (("add", "../x", "--password-stdin"), "x\n", "not a valid user name"),
            (("add", "carol", "--password-stdin"), "", "No password"),
            (("passwd", "alice"), "", "No terminal"),
            (("passwd", "nobody", "--password-stdin"), "x\n", "no user named nobody")):
        result = user(*args, stdin=stdin)
        assert result.returncode == 2 and error in result.stderr, (args, result.stderr)
    assert json.loads(user("list", "--json").stdout) == listed  # nothing changed
    before = (home / "api-users.json").read_text()
    assert user("passwd", "alice", "--password-stdin", stdin="new pass\n").returncode == 0
    assert (home / "api-users.json").read_text() != before
    assert user("passwd", "alice", "--keep-password", "--permissions", "admin").returncode == 0
    assert json.loads(user("list", "--json").stdout)[0]["permissions"] == ["admin"]
    assert user("remove", "alice").returncode == 0
    assert "no user named alice" in user("remove", "alice").stderr
    assert [p.name for p in home.iterdir() if p.name.startswith(".api-users")] == []


def test_run_listen_refusals(tmp_path):
    home = tmp_path / "home"
    assert "without TLS" in refused(home, "run", "--listen", "0.0.0.0:0", "--seconds", "0")
    assert "both --tls-cert and --tls-key" in refused(
        home, "run", "--listen", "127.0.0.1:0", "--tls-cert", "x.pem", "--seconds", "0")
    assert "not a port number" in refused(home, "run", "--listen", "127.0.0.1:http",
                                          "--seconds", "0")
    assert "go with --listen" in refused(home, "run", "--insecure-http", "--seconds", "0")
    assert "Cannot use the TLS certificate" in refused(
        home, "run", "--listen", "127.0.0.1:0", "--tls-cert", str(tmp_path / "no.pem"),
        "--tls-key", str(tmp_path / "no.key"), "--seconds", "0")
    assert not (home / "registry.sqlite3").exists()  # refused before the host opened


def test_parse_listen():
    assert parse_listen("5600") == ("127.0.0.1", 5600)
    assert parse_listen("0.0.0.0:80") == ("0.0.0.0", 80)
    assert parse_listen("[::1]:5600") == ("::1", 5600)
    for bad in ("::1:5600", "host:", "70000", "[::1]5600"):
        with pytest.raises(ValueError):
            parse_listen(bad)


def test_a_port_in_use_is_one_sentence(tmp_path):
    s = Served(tmp_path / "home")
    try:
        with pytest.raises(ServerError, match="Cannot listen on 127.0.0.1"):
            serve(s.host, f"127.0.0.1:{s.server.port}")
    finally:
        s.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_tls(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    s = Served(tmp_path / "home", tls_cert=str(cert), tls_key=str(key))
    try:
        assert s.url.startswith("https://")
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False

        async def scenario():
            connector = aiohttp.TCPConnector(ssl=context)  # verifies our self-signed cert
            async with aiohttp.ClientSession(connector=connector) as session:
                code, data = await http(session, "POST", s.url + "sessions/authorize",
                                        {"username": "admin", "password": PASSWORD})
                assert code == 200
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.ClientConnectorCertificateError):
                    await http(session, "GET", s.url + "hubs")  # not trusted by default
            c = await WsClient.open(s.ws_url, ssl=context)
            assert (await c.login())["system_info"]["api_version"] == 1
            await c.close()
        run(scenario())
    finally:
        s.close()


def test_tokens_and_passwords_never_reach_the_log(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    s = Served(tmp_path / "home", session_inactivity=0.2, expiry_interval=0.05)
    secrets = []
    try:
        async def scenario():
            async with aiohttp.ClientSession() as session:
                code, data = await http(session, "POST", s.url + "sessions/authorize",
                                        {"username": "admin", "password": PASSWORD})
                secrets.extend([data["auth_token"], data["refresh_token"]])
                for bad in ("Bearer " + data["auth_token"][:-1], data["auth_token"] + "x"):
                    async with session.get(s.url + "hubs",
                                           headers={"Authorization": bad}) as r:
                        assert r.status == 401
                        assert data["auth_token"][:20] not in await r.text()
            c = await WsClient.open(s.ws_url)
            await c.ok("POST", "sessions/socket", {"auth_token": data["auth_token"]})
            code, err = await c.request("POST", "sessions/socket", {"auth_token": "z" * 43})
            assert "z" * 43 not in str(err)
            await c.ws.send_str('{"method": "POST", "path": "sessions/authorize", '
                                f'"data": {{"username": "admin", "password": 7}}}}')
            await c.close()
        run(scenario())
    finally:
        s.close()
    text = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    for secret in secrets + [PASSWORD]:
        assert secret not in text
