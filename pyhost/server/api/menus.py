"""``menus``: context menu items that API clients (extensions) add to the application's
menus, as in AirDC++ (any session may use them).

For each menu id (``hub``, ``hub_user``, ``private_chat``, ``extension``, ``events``, ...,
AirDC++'s list): the hook ``menus/hooks/<menu>_list_menuitems`` (a subscriber is asked,
within 1 s, which items it has for ``{selected_ids, entity_id, permissions, supports}`` and
resolves with ``{menuitems: [{id, title, icon?, urls?, form_definitions?}], title?,
icon?}``), the listener ``<menu>_menuitem_selected``, and the endpoints ``POST
menus/<menu>/list_grouped {selected_ids, entity_id?, supports?}`` (the items of every
subscriber, grouped: ``[{id, title, icon, items: [{id, title, icon, hook_id, urls,
form_definitions}]}]``) and ``POST menus/<menu>/select {hook_id, menuitem_id,
selected_ids, entity_id?, supports?, form_definitions?, form_value?}`` (tells the
listeners ``{hook_id, menuitem_id, selected_ids, entity_id, permissions, supports,
form_values}``; form values are validated against the definitions given).
"""
from __future__ import annotations

import logging
from typing import Any

from pyhost.server.extensions.settings import parse_definitions
from pyhost.server.hook_bridge import BridgedHook
from pyhost.server.protocol import ApiError, body, text
from pyhost.server.routes import Call
from pyhost.server.subscriptions import add_hooks, add_listeners

log = logging.getLogger("pyhost.server")

MENUS = ("transfers", "queue", "share_roots", "events", "favorite_hubs", "queue_bundle",
         "queue_file", "transfer", "favorite_hub", "extension", "share_root", "user",
         "hinted_user", "hub", "search_instance", "private_chat", "filelist", "view_file",
         "hub_user", "filelist_item", "grouped_search_result", "hub_message_highlight",
         "private_chat_message_highlight")
LIST_TIMEOUT_S = 1.0  # AirDC++'s list_menuitems_hook_timeout
LIST_SCHEMA = {"type": "object", "properties": {"selected_ids": {"type": "array"},
                                                "supports": {"type": "array"}}}
SELECT_SCHEMA = {"type": "object", "required": ["hook_id", "menuitem_id"],
                 "properties": {"hook_id": {"type": "string"},
                                "menuitem_id": {"type": "string"},
                                "selected_ids": {"type": "array"}}}


class MenusApi:
    def __init__(self, server: Any):
        self.server = server
        for menu in MENUS:
            server.bridge.define(BridgedHook(None, "menus", f"{menu}_list_menuitems", None,
                                             LIST_TIMEOUT_S, lambda obj, data: data))
        add_listeners(server, "menus", None, [f"{m}_menuitem_selected" for m in MENUS])
        add_hooks(server, "menus", None)
        r = server.routes
        for menu in MENUS:
            r.add("POST", f"menus/{menu}/list_grouped", None,
                  lambda call, m=menu: self.list_grouped(call, m),
                  f"The items API clients add to the {menu} menu", body=LIST_SCHEMA)
            r.add("POST", f"menus/{menu}/select", None,
                  lambda call, m=menu: self.select(call, m),
                  f"Select an item of the {menu} menu", body=SELECT_SCHEMA)

    def list_grouped(self, call: Call, menu: str) -> list:
        data = body(call.data, required=False)
        payload = {"selected_ids": _list(data, "selected_ids"),
                   "permissions": sorted(call.session.permissions),
                   "entity_id": data.get("entity_id"),
                   "supports": _list(data, "supports")}
        groups = []
        for sub, answer in self.server.bridge.collect(f"{menu}_list_menuitems", payload):
            try:
                groups.append(_group(sub, answer))
            except ApiError as exc:
                log.warning("menu items of %s for %s ignored: %s", sub.label, menu, exc.message)
        return groups

    def select(self, call: Call, menu: str) -> None:
        data = body(call.data)
        values = data.get("form_value") or {}
        definitions = data.get("form_definitions")
        form_values: dict = {}
        if definitions:
            by_key = {d.key: d for d in parse_definitions(definitions)}
            if not isinstance(values, dict):
                raise ApiError(400, "Field 'form_value' must be an object.", "form_value")
            for key, value in values.items():
                d = by_key.get(key)
                if d is None:
                    raise ApiError(400, "Definition for the value was not found", key)
                form_values[key] = d.validate(value)
        self.server.listeners.publish(f"{menu}_menuitem_selected", {
            "hook_id": text(data, "hook_id", max_len=200),
            "menuitem_id": text(data, "menuitem_id", max_len=200),
            "selected_ids": _list(data, "selected_ids"),
            "entity_id": data.get("entity_id"),
            "permissions": sorted(call.session.permissions),
            "supports": _list(data, "supports"),
            "form_values": form_values})


def _list(data: dict, key: str) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError(400, f"Field {key!r} must be a list.", key)
    return value


def _group(sub: Any, answer: Any) -> dict:
    answer = answer if isinstance(answer, dict) else {}
    items = answer.get("menuitems") or []
    if not isinstance(items, list):
        raise ApiError(400, "Field 'menuitems' must be a list.", "menuitems")
    title = answer.get("title")
    return {"id": sub.id, "title": title if isinstance(title, str) and title else sub.name,
            "icon": _icon(answer.get("icon")),
            "items": [_item(sub, item) for item in items]}


def _item(sub: Any, item: Any) -> dict:
    if not isinstance(item, dict):
        raise ApiError(400, "A menu item must be an object.")
    urls = item.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ApiError(400, "Field 'urls' must be a list of strings.", "urls")
    forms = item.get("form_definitions")
    return {"id": text(item, "id", max_len=200), "title": text(item, "title", max_len=500),
            "icon": _icon(item.get("icon")), "hook_id": sub.id, "urls": urls,
            "form_definitions": [d.to_dict() for d in parse_definitions(forms)]
            if forms else None}


def _icon(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, "Field 'icon' must be an object.", "icon")
    return {str(k): str(v) for k, v in value.items()}


def register(server: Any) -> MenusApi:
    return MenusApi(server)
