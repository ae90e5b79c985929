"""The chat objects have the keys AirDC++'s serializers give them (Serializer.cpp,
OnlineUserUtils, MessageUtils, HubApi, PrivateChatApi), since real extensions read them:
messages, online and hinted users, status messages, hubs, private chats, the outgoing hook
data and text commands."""
import asyncio

from server_helpers import USERS, WsClient, run, served  # noqa: F401

HUB = "adc://hub.example:1511"
ONLINE_USER = {"cid", "nick", "hub_url", "hub_name", "hub_session_id", "flags", "share_size",
               "description", "tag", "upload_speed", "download_speed", "ip4", "ip6", "email",
               "file_count", "supports", "upload_slots"}
HINTED_USER = {"cid", "nicks", "hub_url", "hub_names", "hub_urls", "flags"}
MESSAGE = {"id", "text", "from", "time", "is_read", "third_person", "highlights",
           "has_mention"}
STATUS = {"id", "text", "time", "severity", "label", "is_read", "highlights", "type"}
HUB_OBJECT = {"id", "hub_url", "identity", "connect_state", "favorite_hub", "share_profile",
              "message_counts", "encryption", "settings"}


def test_hub_chat_shapes(served):
    host = served.host

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login("chatter")
        for event in ("hub_message", "hub_status", "hub_text_command"):
            await c.ok("POST", f"hubs/listeners/{event}")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, host.fire.incoming_chat, HUB,
                                   "<bob> hey pyhost, look")
        ev = await c.next_event()
        message, hub_id = ev["data"], ev["id"]
        assert set(message) == MESSAGE and "to" not in message and "reply_to" not in message
        assert set(message["from"]) == ONLINE_USER
        assert message["from"]["hub_session_id"] == hub_id and message["highlights"] == []
        assert message["has_mention"] is True  # our nick (pyhost) is in someone's message
        assert message["from"]["ip4"] == {"str": "", "country": "", "ip": ""}
        hub = await c.ok("GET", f"hubs/{hub_id}")
        assert HUB_OBJECT <= set(hub) and hub["identity"] == {"name": HUB, "description": ""}
        assert hub["connect_state"]["id"] == "connected" and hub["encryption"] is None
        assert set(hub["message_counts"]) == {"total", "unread"}
        await c.ok("POST", f"hubs/{hub_id}/status_message", {"text": "note"})
        ev = await c.next_event()
        assert ev["event"] == "hub_status" and set(ev["data"]) == STATUS
        assert (ev["data"]["label"], ev["data"]["type"]) == ("chatter", "system")
        await c.ok("POST", f"hubs/{hub_id}/chat_message",
                   {"text": '/find "two words" and more'})
        ev = await c.next_event()
        assert ev["data"] == {"command": "find", "args": ["two words", "and", "more"],
                              "permissions": sorted(USERS["chatter"])}
        await c.ok("POST", "hubs/hooks/hub_outgoing_message_hook", {"id": "o", "name": "O"})
        sending = loop.create_task(c.request("POST", f"hubs/{hub_id}/chat_message",
                                             {"text": "out"}))
        call = await c.next_event()
        assert call["data"] == {"text": "out", "third_person": False, "hub_url": HUB,
                                "session_id": hub_id}
        await c.ok("POST", f"hubs/hooks/hub_outgoing_message_hook/{call['completion_id']}"
                           "/resolve")
        await sending
        await c.close()
    run(scenario())


def test_private_chat_shapes(served):
    host = served.host

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login("chatter")
        await c.ok("POST", "private_chat/listeners/private_chat_message")
        loop = asyncio.get_running_loop()
        carol = {"nick": "carol", "hub_url": HUB, "is_op": True}
        await loop.run_in_executor(None, host.fire.incoming_pm, carol, "hi")
        ev = await c.next_event()
        message = ev["data"]
        assert set(message) == MESSAGE | {"to", "reply_to"}
        assert set(message["from"]) == set(message["to"]) == ONLINE_USER
        assert message["from"]["flags"] == ["op"] and message["to"]["flags"] == ["self"]
        chat = await c.ok("GET", f"private_chat/{ev['id']}")
        assert set(chat) == {"id", "user", "ccpm_state", "message_counts"}
        assert set(chat["user"]) == HINTED_USER and chat["user"]["nicks"] == "carol"
        assert chat["user"]["hub_urls"] == [HUB] and chat["user"]["flags"] == ["op"]
        await c.close()
    run(scenario())
