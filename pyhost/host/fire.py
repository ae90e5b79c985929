"""Firing the standard hooks of docs/abi.md with correctly built objects and data.

``host.fire`` is a :class:`StandardHooks`. Each method builds the hook's object and data
exactly as the reference host does, runs the hook, and returns its result::

    host.fire.incoming_chat("adc://hub.example:1511", "hello")       # -> handled?
    handled, text = host.fire.chat_display("alice", "<b>hi</b>")      # StringData.out
    host.fire.chat_command("adc://hub.example:1511", "/echo hi there")  # command "echo"
    handled, tagged = host.fire.chat_tags("alice", "see https://x.org")  # via DCTagger

Entities can be given as value types (:class:`~pyhost.services.app.Hub`, ``User``,
``Connection``, ``QueueItem``), as a dict of their fields, or as a plain string (hub url,
user nick, queue target). With the simulated world they are looked up or created there
(``world.hub_for`` & co.), so what a plugin does in response (``find_hub``, ``send_message``)
acts on the same entity.

Objects: HubData / UserData / ConnectionData / QueueData are host-owned blocks
(``isManaged = True``, see AppServices.managed), stable for the entity's lifetime: a plugin
may compare pointers between events, and must copy what it keeps after the entity goes
(hubs/users.onOffline, queue.onRemoved / onFinished free it once the hook returns). UDPData,
the message strings, the tick, StringData, CommandData, TagData and DataArray live for the
dispatch only.

Who calls: the application (or ``pyhost run --replay``), from any thread; subscribers run on
that thread. The return value is the hook's: True = handled, the host skips its own
processing of the event.

After the plugins answered, the application is told the outcome: its ``default_action``
(:class:`~pyhost.app.application.DefaultActions`), when it has one, gets a
:class:`~pyhost.app.application.HookOutcome` and does (or skips, when handled) its own
processing. What it reports is :attr:`FireResult.default` of :meth:`StandardHooks.fire`.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.hook_specs import spec, split_command
from pyhost.app.application import Connection, HookOutcome, Hub, QueueItem, TaggedText, User
from pyhost.host.timers import tick_ms

# Hooks after which the entity is gone: its managed block is freed when the hook returns.
_GONE = {"dcpp.hubs.onOffline", "dcpp.users.onOffline", "dcpp.queue.onRemoved",
         "dcpp.queue.onFinished"}
log = logging.getLogger("pyhost.app")


@dataclass(frozen=True)
class FireResult:
    handled: bool
    replacement: Optional[str] = None      # dcpp.ui.onChatDisplay
    tags: Optional[TaggedText] = None      # dcpp.ui.onChatTags
    default: Any = None                    # what the application's default_action did


HubLike = Union[Hub, str, Mapping[str, Any]]
UserLike = Union[User, str, Mapping[str, Any]]
ConnectionLike = Union[Connection, Mapping[str, Any]]
ItemLike = Union[QueueItem, str, Mapping[str, Any]]


def _cstr(value: Union[str, bytes]):
    return ffi.new("char[]", value if isinstance(value, bytes) else value.encode("utf-8"))


def _text(value: Union[str, bytes]) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class StandardHooks:
    """The host-side firing of every standard hook (see the module docstring)."""

    def __init__(self, host):
        self._host = host
        self._last = threading.local()  # .default: the last default_action report here

    @property
    def _services(self):
        return self._host.app_services

    # -- entities ------------------------------------------------------------------------------
    def _resolve(self, value: Any, cls: type, resolver: str, key: str):
        if isinstance(value, cls) and getattr(value, "handle", 0):
            return value
        if isinstance(value, cls):  # no handle: look it up by what it says (not defaults)
            fields = {k: getattr(value, k) for k, f in value.__dataclass_fields__.items()
                      if k != "handle" and getattr(value, k) != f.default}
        elif isinstance(value, str):
            fields = {key: value}
        elif isinstance(value, Mapping):
            fields = dict(value)
        else:
            raise TypeError(f"expected {cls.__name__}, a str or a dict, "
                            f"got {type(value).__name__}")
        make = getattr(self._services.app, resolver, None)
        if callable(make):
            return make(**fields)
        fields.pop("user", None)  # only the world tracks who is behind a connection
        return cls(**fields)

    def hub(self, hub: HubLike) -> Hub:
        return self._resolve(hub, Hub, "hub_for", "url")

    def user(self, user: UserLike) -> User:
        return self._resolve(user, User, "user_for", "nick")

    def connection(self, connection: ConnectionLike) -> Connection:
        """A dict may name the user at the other end (``"user"``: a User, nick or dict);
        the simulated world answers DCConnection.get_user with it."""
        if isinstance(connection, Mapping) and connection.get("user") is not None \
                and not isinstance(connection["user"], User):
            connection = dict(connection, user=self.user(connection["user"]))
        return self._resolve(connection, Connection, "connection_for", "ip")

    def queue_item(self, item: ItemLike) -> QueueItem:
        return self._resolve(item, QueueItem, "queue_item_for", "target")

    # -- the core ------------------------------------------------------------------------------
    def _run(self, guid: str, obj, data, entity: Any = None) -> bool:
        hook = self._host.hooks[guid]  # a local: pyhost.host.activity finds it in the stack
        handled = hook.run(obj, data)
        if entity is not None:
            observe = getattr(self._services.app, "event_fired", None)
            if callable(observe):
                observe(guid, entity)
            if guid in _GONE:
                self._services.forget(entity)
        return handled

    def _entity_event(self, guid: str, entity: Any, data=None, value: Any = None) -> bool:
        handled = self._run(guid, self._services.managed(entity), data, entity)
        return self._default(guid, entity, value, handled)

    def _default(self, guid: str, subject: Any, value: Any, handled: bool, **extra) -> bool:
        """Tells the application the outcome (its default_action, if any); returns handled."""
        act = getattr(self._services.app, "default_action", None)
        report = None
        if callable(act):
            try:
                report = act(HookOutcome(guid, subject, value, handled, **extra))
            except Exception as exc:  # the application's bug: logged, never the firer's
                log.exception("default_action for %s failed", guid)
                report = {"error": f"{type(exc).__name__}: {exc}"}
        self._last.default = report  # after nested events: the outermost one wins
        return handled

    @staticmethod
    def _host_object(obj: Optional[int]):
        return ffi.NULL if obj is None else ffi.cast("void*", obj)

    # -- chat ----------------------------------------------------------------------------------
    def incoming_chat(self, hub: HubLike, message: str) -> bool:
        return self._entity_event("dcpp.chat.onIncomingChat", self.hub(hub), _cstr(message),
                                  _text(message))

    def outgoing_chat(self, hub: HubLike, message: str) -> bool:
        return self._entity_event("dcpp.chat.onOutgoingChat", self.hub(hub), _cstr(message),
                                  _text(message))

    def incoming_pm(self, user: UserLike, message: str) -> bool:
        return self._entity_event("dcpp.chat.onIncomingPM", self.user(user), _cstr(message),
                                  _text(message))

    def outgoing_pm(self, user: UserLike, message: str) -> bool:
        return self._entity_event("dcpp.chat.onOutgoingPM", self.user(user), _cstr(message),
                                  _text(message))

    # -- timers --------------------------------------------------------------------------------
    def _timer(self, guid: str, tick: Optional[int]) -> bool:
        tick = tick_ms() if tick is None else tick
        return self._default(guid, None, tick,
                             self._run(guid, None, ffi.new("uint64_t*", tick)))

    def timer_second(self, tick: Optional[int] = None) -> bool:
        return self._timer("dcpp.timer.onSecond", tick)

    def timer_minute(self, tick: Optional[int] = None) -> bool:
        return self._timer("dcpp.timer.onMinute", tick)

    # -- hubs and users ------------------------------------------------------------------------
    def hub_online(self, hub: HubLike) -> bool:
        return self._entity_event("dcpp.hubs.onOnline", self.hub(hub))

    def hub_offline(self, hub: HubLike) -> bool:
        return self._entity_event("dcpp.hubs.onOffline", self.hub(hub))

    def user_online(self, user: UserLike) -> bool:
        return self._entity_event("dcpp.users.onOnline", self.user(user))

    def user_offline(self, user: UserLike) -> bool:
        return self._entity_event("dcpp.users.onOffline", self.user(user))

    # -- network -------------------------------------------------------------------------------
    def hub_data_in(self, hub: HubLike, line: Union[str, bytes]) -> bool:
        return self._entity_event("dcpp.network.onHubDataIn", self.hub(hub), _cstr(line),
                                  _text(line))

    def hub_data_out(self, hub: HubLike, line: Union[str, bytes]) -> bool:
        return self._entity_event("dcpp.network.onHubDataOut", self.hub(hub), _cstr(line),
                                  _text(line))

    def client_data_in(self, connection: ConnectionLike, line: Union[str, bytes]) -> bool:
        return self._entity_event("dcpp.network.onClientDataIn", self.connection(connection),
                                  _cstr(line), _text(line))

    def client_data_out(self, connection: ConnectionLike, line: Union[str, bytes]) -> bool:
        return self._entity_event("dcpp.network.onClientDataOut", self.connection(connection),
                                  _cstr(line), _text(line))

    def _udp(self, guid: str, ip: str, port: int, payload: Union[str, bytes]) -> bool:
        ip_buffer = _cstr(ip)
        udp = ffi.new("UDPData*", {"ip": ip_buffer, "port": port})
        return self._default(guid, (ip, port), _text(payload),
                             self._run(guid, udp, _cstr(payload)))

    def udp_data_in(self, ip: str, port: int, payload: Union[str, bytes]) -> bool:
        return self._udp("dcpp.network.onUDPDataIn", ip, port, payload)

    def udp_data_out(self, ip: str, port: int, payload: Union[str, bytes]) -> bool:
        return self._udp("dcpp.network.onUDPDataOut", ip, port, payload)

    # -- queue ---------------------------------------------------------------------------------
    def queue_added(self, item: ItemLike) -> bool:
        return self._entity_event("dcpp.queue.onAdded", self.queue_item(item))

    def queue_moved(self, item: ItemLike) -> bool:
        return self._entity_event("dcpp.queue.onMoved", self.queue_item(item))

    def queue_removed(self, item: ItemLike) -> bool:
        return self._entity_event("dcpp.queue.onRemoved", self.queue_item(item))

    def queue_finished(self, item: ItemLike) -> bool:
        return self._entity_event("dcpp.queue.onFinished", self.queue_item(item))

    # -- UI ------------------------------------------------------------------------------------
    def ui_created(self, obj: Optional[int] = None) -> bool:
        """``obj``: the host-specific object (an address, or None for NULL)."""
        return self._default("dcpp.ui.onCreated", obj, None,
                             self._run("dcpp.ui.onCreated", self._host_object(obj), None))

    def chat_tags(self, user: Optional[UserLike], text: str) -> tuple[bool, TaggedText]:
        """Runs onChatTags with a TagData whose tagger (the application's DCTagger, else
        pyhost's SimpleTagger) holds ``text``; returns (handled, the tagged result)."""
        tagger = self._services.tagger_service.new_tagger(text)
        keep = ffi.new_handle(tagger)
        tag_data = ffi.new("TagData*", {"object": keep, "isManaged": 1})
        user = None if user is None else self.user(user)
        obj = ffi.NULL if user is None else self._services.managed(user)
        self._services.open_tag_session(tag_data, tagger)
        try:
            handled = self._run("dcpp.ui.onChatTags", obj, tag_data)
        finally:
            self._services.close_tag_session(tag_data)
        tagged = tagger.result()
        self._default("dcpp.ui.onChatTags", user, text, handled, tags=tagged)
        return handled, tagged

    def chat_display(self, user: Optional[UserLike], text: str) -> tuple[bool, Optional[str]]:
        """Runs onChatDisplay with StringData{in = text, out = NULL}; returns (handled,
        the replacement) where the replacement is a copy of ``out`` when the hook was
        handled and set it, else None. ``out`` stays the plugin's: pyhost never frees it."""
        in_buffer = _cstr(text)
        data = ffi.new("StringData*", {"in": in_buffer, "out": ffi.NULL})
        user = None if user is None else self.user(user)
        obj = ffi.NULL if user is None else self._services.managed(user)
        handled = self._run("dcpp.ui.onChatDisplay", obj, data)
        replacement = None
        if handled and data.out != ffi.NULL:
            replacement = ffi.string(data.out).decode("utf-8", "replace")
        self._default("dcpp.ui.onChatDisplay", user, text, handled, replacement=replacement)
        return handled, replacement

    def _command(self, guid: str, entity: Any, line: Optional[str], command: Optional[str],
                 params: Optional[str]) -> bool:
        if line is not None:
            command, params = split_command(line)
        if command is None:
            raise ValueError("give a command line ('/cmd params') or a command")
        c, p = _cstr(command), _cstr(params or "")
        data = ffi.new("CommandData*", {"command": c, "params": p})
        handled = self._run(guid, self._services.managed(entity), data)
        return self._default(guid, entity, (command, params or ""), handled)

    def chat_command(self, hub: HubLike, line: Optional[str] = None, *,
                     command: Optional[str] = None, params: Optional[str] = None) -> bool:
        """Runs onChatCommand for ``/cmd some params`` (see split_command), or for an
        already split ``command`` and ``params``."""
        return self._command("dcpp.ui.onChatCommand", self.hub(hub), line, command, params)

    def chat_command_pm(self, user: UserLike, line: Optional[str] = None, *,
                        command: Optional[str] = None, params: Optional[str] = None) -> bool:
        return self._command("dcpp.ui.onChatCommandPM", self.user(user), line, command,
                             params)

    # -- data access ---------------------------------------------------------------------------
    def _data(self, guid: str, data: Union[bytes, str], obj: Optional[int]) -> bool:
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        block = self._services.new_block(raw, managed=True)
        try:
            handled = self._run(guid, self._host_object(obj), block)
        finally:
            lib.phn_app_free(block)
        return self._default(guid, obj, raw, handled)

    def http_notification(self, data: Union[bytes, str], obj: Optional[int] = None) -> bool:
        return self._data("dcpp.dataaccessor.onHTTPResourceNotification", data, obj)

    def http_notification_failed(self, data: Union[bytes, str], obj: Optional[int] = None) -> bool:
        return self._data("dcpp.dataaccessor.onHTTPResourceNotificationFailed", data, obj)

    def http_stream(self, data: Union[bytes, str], obj: Optional[int] = None) -> bool:
        return self._data("dcpp.dataaccessor.onHTTPResourceStream", data, obj)

    # -- by name -------------------------------------------------------------------------------
    def fire(self, hook: str, obj: Any = None, data: Any = None) -> FireResult:
        """Fires a standard hook by guid, short name or method name, with the object and
        data in the forms the methods take (udp: a dict with ip and port; command: a line
        or a dict with command and params). ``default`` of the result is what the
        application's default_action reported for this event."""
        self._last.default = None
        result = self._fire(hook, obj, data)
        default = getattr(self._last, "default", None)
        self._last.default = None
        if default is None:
            return result
        return FireResult(result.handled, result.replacement, result.tags, default)

    def _fire(self, hook: str, obj: Any, data: Any) -> FireResult:
        s = spec(hook)
        method = getattr(self, s.method)
        if s.object is None:
            return FireResult(method(data))
        if s.object == "host":
            return FireResult(method(obj) if s.data is None else method(data, obj))
        if s.object == "udp":
            if not isinstance(obj, Mapping) or "ip" not in obj:
                raise ValueError("the object of a UDP hook needs an ip (and a port)")
            return FireResult(method(obj["ip"], int(obj.get("port", 0)), data))
        if s.data == "tags":
            handled, tagged = method(obj, data)
            return FireResult(handled, tags=tagged)
        if s.data == "display":
            handled, replacement = method(obj, data)
            return FireResult(handled, replacement=replacement)
        if s.data == "command":
            if isinstance(data, Mapping):
                return FireResult(method(obj, command=data.get("command"),
                                         params=data.get("params", "")))
            return FireResult(method(obj, data))
        if s.data is None:
            return FireResult(method(obj))
        return FireResult(method(obj, data))
