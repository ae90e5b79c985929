"""Talking to a running pyhost from Python programs: exported methods, events, any Web API
request. Needs only aiohttp; it never imports the host.

    from pyhost.client import Client

    with Client("http://127.0.0.1:5600", username="alice", password="...") as host:
        host.call("notes.add", "buy milk")          # <plugin>.<method>, arguments by position
        host.notes.add(text="buy milk")              # the same, by attribute, named
        host.methods()                               # what can be called, by whom
        host.listen("plugin_event")                  # then: host.next_event(timeout=5)

    async with AsyncClient(url, token=TOKEN) as host:   # asyncio: the same, awaited
        await host.call("rpc_demo.add", 2, 3)
        async for event in host.events(): ...

A token (``sessions/authorize``'s ``auth_token``) or a user name and password authorize the
client; without either it may call only methods of level NONE. See docs/exported-methods.md.
"""
from pyhost.client.aio import AsyncClient, Event
from pyhost.client.errors import ApiError, ClientError, RpcError
from pyhost.client.sync import Client

__all__ = ["ApiError", "AsyncClient", "Client", "ClientError", "Event", "RpcError"]
