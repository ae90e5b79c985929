"""The official AirDC++ client library, airdcpp-apisocket (npm, pinned in
tests/node/package-lock.json), run by node against pyhost: login, socket reconnect with a
token, listeners (all and per entity), hooks that resolve, reject and time out, logout, an
expired token, permissions. tests/node/driver.js runs the library; this test drives it."""
import json
import subprocess
import threading
import time

import pytest

from pyhost.server.hook_bridge import ApiHookTimedOut
from server_helpers import NODE_DIR, PASSWORD, Served, node_modules, served  # noqa: F401

HUB = "adc://hub.example:1511"


class Node:
    """tests/node/driver.js: commands in, JSON lines out."""

    def __init__(self, url: str):
        node_modules()
        self.proc = subprocess.Popen(["node", str(NODE_DIR / "driver.js"), url],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     cwd=NODE_DIR)
        self.ids = 0
        self.backlog: list[dict] = []
        assert self.read() == {"started": True}

    def read(self, timeout: float = 15) -> dict:
        result: list = []
        t = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()))
        t.start()
        t.join(timeout)
        if not result or not result[0]:
            raise AssertionError(f"node said nothing; stderr: {self.stderr()}")
        return json.loads(result[0])

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read()

    def send(self, cmd: str, **fields) -> int:
        self.ids += 1
        self.proc.stdin.write(json.dumps({"id": self.ids, "cmd": cmd, **fields}) + "\n")
        self.proc.stdin.flush()
        return self.ids

    def call(self, cmd: str, **fields) -> dict:
        """Sends a command and returns its result; other lines are kept in the backlog."""
        wanted = self.send(cmd, **fields)
        while True:
            line = self.read()
            if line.get("id") == wanted:
                return line
            self.backlog.append(line)

    def ok(self, cmd: str, **fields):
        result = self.call(cmd, **fields)
        assert result["ok"], result
        return result["data"]

    def next(self) -> dict:
        return self.backlog.pop(0) if self.backlog else self.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def node(served):
    n = Node(served.ws_url)
    yield n
    n.close()


def fire(fn, *args):
    """Fires on another thread (the hook waits for node's answer); returns a getter."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn(*args)))
    t.start()

    def result(timeout: float = 10):
        t.join(timeout)
        assert out, "the hook never returned"
        return out[0]
    return result


def test_login_system_info_and_listeners(served, node):
    auth = node.ok("connect", username="admin", password=PASSWORD)
    assert auth["system_info"]["api_version"] == 1 and auth["user"]["username"] == "admin"
    assert node.ok("connected") is True
    assert node.ok("get", path="system/system_info")["api_feature_level"] >= 4
    node.ok("listen", key="all", module="hubs", event="hub_message")
    served.host.fire.incoming_chat(HUB, "<bob> hi")
    ev = node.next()
    assert ev["event"] == "hub_message" and ev["data"]["text"] == "<bob> hi"
    hub_id = ev["entity"]
    # one entity's listener besides the all-hubs one: the library routes by "event + id"
    node.ok("listen", key="one", module="hubs", event="hub_status", entity=hub_id)
    node.ok("post", path=f"hubs/{hub_id}/status_message", data={"text": "note"})
    ev = node.next()
    assert ev["key"] == "one" and ev["entity"] == hub_id and ev["data"]["text"] == "note"
    node.ok("unlisten", key="all")
    served.host.fire.incoming_chat(HUB, "<bob> unheard")
    node.ok("post", path=f"hubs/{hub_id}/status_message", data={"text": "second"})
    ev = node.next()
    assert ev["data"]["text"] == "second"  # the hub_message above never arrived
    bad = node.call("post", path=f"hubs/{hub_id}/chat_message", data={"text": 3})
    assert bad["ok"] is False and bad["code"] == 400


def test_hooks_resolve_reject_and_time_out(served, node):
    timeouts = []
    served.host.events.subscribe(
        lambda e: timeouts.append(e) if isinstance(e, ApiHookTimedOut) else None)
    node.ok("connect", username="chatter", password=PASSWORD)
    node.ok("hook", key="h", module="hubs", event="hub_incoming_message_hook", mode="filter",
            word="spam", subscriber="chat_filter", name="Chat filter")
    for text, handled in (("<bob> hello", False), ("<bob> buy spam", True)):
        result = fire(served.host.fire.incoming_chat, HUB, text)
        call = node.next()
        assert call["hook"] == "hub_incoming_message_hook" and call["data"]["text"] == text
        assert call["data"]["from"]["nick"] == "bob"
        assert result() is handled
    node.ok("hookMode", event="hub_incoming_message_hook", mode="ignore")
    started = time.monotonic()
    result = fire(served.host.fire.incoming_chat, HUB, "<bob> nobody answers")
    assert node.next()["hook"] == "hub_incoming_message_hook"
    assert result() is False  # a timeout counts as accepted
    assert 0.8 < time.monotonic() - started < 5
    assert [(t.hook, t.subscriber) for t in timeouts] == [
        ("hub_incoming_message_hook", "Chat filter (chat_filter)")]
    # private chat hook and the outgoing hook, through the library's addHook
    node.ok("hook", key="pm", module="private_chat", event="private_chat_incoming_message_hook",
            mode="reject", subscriber="pm")
    result = fire(served.host.fire.incoming_pm, {"nick": "eve", "hub": HUB}, "psst")
    call = node.next()
    assert call["data"]["from"]["nick"] == "eve" and call["data"]["text"] == "psst"
    assert result() is True


def test_reconnect_with_token_logout_and_stale_token(served, node):
    auth = node.ok("connect", username="admin", password=PASSWORD)
    node.ok("disconnect")
    assert node.next()["disconnected"]["wasClean"] is True
    again = node.ok("reconnect", token=auth["auth_token"])
    assert again["session_id"] == auth["session_id"]
    node.ok("logout")
    assert node.next()["disconnected"]["reason"] == "Logged out"
    # the logged-out token is refused: the library reports the failed authentication
    refused = node.call("reconnect", token=auth["auth_token"])
    assert refused["ok"] is False and refused["code"] == 400


def test_permissions_are_403_for_the_library(served, node):
    node.ok("connect", username="viewer", password=PASSWORD)
    denied = node.call("post", path="events", data={"text": "x"})
    assert denied["ok"] is False and denied["code"] == 403
    assert "events_edit" in denied["error"]
    hook = node.call("hook", key="h", module="hubs", event="hub_incoming_message_hook",
                     mode="accept")
    assert hook["ok"] is False and hook["code"] == 403
    wrong = Node(served.ws_url)
    try:
        bad = wrong.call("connect", username="viewer", password="wrong")
        assert bad["ok"] is False and bad["code"] == 401
    finally:
        wrong.close()


def test_an_expired_session_cannot_reconnect(tmp_path):
    s = Served(tmp_path / "home", session_inactivity=0.3, expiry_interval=0.1)
    n = Node(s.ws_url)
    try:
        auth = n.ok("connect", username="admin", password=PASSWORD)
        n.ok("disconnect")
        assert "disconnected" in n.next()
        time.sleep(0.8)
        refused = n.call("reconnect", token=auth["auth_token"])
        assert refused["ok"] is False and refused["code"] == 400
    finally:
        n.close()
        s.close()
