"""The listener and hook endpoints every API module shares, registered per module.

``add_listeners`` gives a module ``POST/DELETE <module>/listeners/<event>`` and, when it has
entities, ``POST/DELETE <module>/<id>/listeners/<event>``; ``add_hooks`` gives it
``POST/DELETE <module>/hooks/<hook>`` and ``POST <module>/hooks/<hook>/<completion_id>/
resolve|reject``. Later API areas (extensions, plugin events, menus) reuse the same two calls.
All of them need a WebSocket: listeners and hook calls are pushed over it.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from pyhost.server.protocol import ApiError, body, text
from pyhost.server.routes import Call

SUBSCRIBER_SCHEMA = {"type": "object", "required": ["id", "name"],
                     "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}
REJECT_SCHEMA = {"type": "object", "properties": {"reject_id": {"type": "string"},
                                                  "message": {"type": "string"}}}


def add_listeners(server: Any, module: str, permission: Optional[str], events: Iterable[str],
                  entity_events: Iterable[str] = (),
                  entity_exists: Optional[Callable[[str], bool]] = None,
                  on_add: Optional[Callable[[Call, str, Optional[str]], None]] = None) -> None:
    """``on_add(call, event, entity)`` runs (on the loop) after a listener was added."""
    routes, listeners = server.routes, server.listeners
    events, entity_events = frozenset(events), frozenset(entity_events)

    def event_of(call: Call, known: frozenset) -> str:
        name = call.params["event"]
        if name not in known:
            raise ApiError(404, f"{module} has no listener event {name!r} (known: "
                                f"{', '.join(sorted(known)) or 'none'}).")
        return name

    def entity_of(call: Call) -> str:
        entity = call.params["id"]
        if entity_exists is not None and not entity_exists(entity):
            raise ApiError(404, f"{module} has no entity {entity!r}.")
        return entity

    async def add(call: Call) -> None:
        name = event_of(call, events)
        listeners.add(call.require_socket(), name)
        if on_add is not None:
            on_add(call, name, None)

    async def remove(call: Call) -> None:
        if not listeners.remove(call.require_socket(), event_of(call, events)):
            raise ApiError(404, f"There is no {call.params['event']} listener to remove.")

    async def add_entity(call: Call) -> None:
        name = event_of(call, entity_events)
        entity = entity_of(call)
        listeners.add(call.require_socket(), name, entity)
        if on_add is not None:
            on_add(call, name, entity)

    async def remove_entity(call: Call) -> None:
        name = event_of(call, entity_events)
        if not listeners.remove(call.require_socket(), name, call.params["id"]):
            raise ApiError(404, f"There is no {name} listener for {call.params['id']}.")

    opts = {"socket_only": True}
    routes.add("POST", f"{module}/listeners/{{event}}", permission, add,
               f"Listen to a {module} event", **opts)
    routes.add("DELETE", f"{module}/listeners/{{event}}", permission, remove,
               f"Stop listening to a {module} event", **opts)
    if entity_events:
        routes.add("POST", f"{module}/{{id}}/listeners/{{event}}", permission, add_entity,
                   f"Listen to the events of one {module} entity", **opts)
        routes.add("DELETE", f"{module}/{{id}}/listeners/{{event}}", permission,
                   remove_entity, f"Stop listening to one {module} entity", **opts)


def add_hooks(server: Any, module: str, permission: Optional[str]) -> None:
    routes, bridge = server.routes, server.bridge

    def hook_of(call: Call) -> str:
        name = call.params["hook"]
        hook = bridge.hooks.get(name)
        if hook is None or hook.module != module:
            known = sorted(n for n, h in bridge.hooks.items() if h.module == module)
            raise ApiError(404, f"{module} has no hook {name!r} (known: "
                                f"{', '.join(known) or 'none'}).")
        return name

    def completion_of(call: Call) -> int:
        raw = call.params["completion_id"]
        if not raw.isdigit() or len(raw) > 15:
            raise ApiError(400, "The completion id must be a positive integer.")
        return int(raw)

    async def subscribe(call: Call) -> None:
        name = hook_of(call)
        data = body(call.data)
        bridge.subscribe(call.require_socket(), name, text(data, "id", max_len=200),
                         text(data, "name", max_len=200))

    async def unsubscribe(call: Call) -> None:
        name = hook_of(call)
        if not bridge.unsubscribe(call.require_socket(), name):
            raise ApiError(404, f"This socket has no {name} subscriber.")

    async def resolve(call: Call) -> None:
        name = hook_of(call)
        bridge.complete(call.require_socket(), name, completion_of(call),
                        ("resolve", call.data))

    async def reject(call: Call) -> None:
        name = hook_of(call)
        data = body(call.data, required=False)
        bridge.complete(call.require_socket(), name, completion_of(call),
                        ("reject", text(data, "reject_id", required=False, max_len=200) or "",
                         text(data, "message", required=False, max_len=4096, empty=True)
                         or ""))

    async def subscribers(call: Call) -> list:
        return bridge.subscribers(hook_of(call))

    opts = {"socket_only": True}
    routes.add("POST", f"{module}/hooks/{{hook}}", permission, subscribe,
               f"Subscribe to a {module} hook", body=SUBSCRIBER_SCHEMA, **opts)
    routes.add("DELETE", f"{module}/hooks/{{hook}}", permission, unsubscribe,
               f"Unsubscribe from a {module} hook", **opts)
    routes.add("GET", f"{module}/hooks/{{hook}}", permission, subscribers,
               f"The API subscribers of a {module} hook")
    routes.add("POST", f"{module}/hooks/{{hook}}/{{completion_id}}/resolve", permission,
               resolve, "Accept a hook call", **opts)
    routes.add("POST", f"{module}/hooks/{{hook}}/{{completion_id}}/reject", permission,
               reject, "Reject a hook call (the event counts as handled)",
               body=REJECT_SCHEMA, **opts)
