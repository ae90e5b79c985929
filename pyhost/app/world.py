"""The simulated world: the default application behind DCHub, DCConnection, DCQueue, DCUI,
DCTagger and DCDataAccess, so plugins can run and be tested with no DC client at all.

Everything is in memory and behaves plausibly:

- **Hubs** are known by url. ``add_hub`` connects (or returns the hub if it is already
  online) and fires ``dcpp.hubs.onOnline``; ``find_hub`` finds online hubs only;
  ``remove_hub`` disconnects and fires ``dcpp.hubs.onOffline`` (its users go offline too).
  ``send_message`` / ``local_message`` / ``send_protocol_cmd`` / ``emulate_protocol_cmd``
  append to the hub's ``chat`` / ``status`` / ``sent`` / ``emulated`` lists. A url's scheme
  gives the protocol (``adc``/``adcs`` -> ADC, ``dchub``/``nmdc``/``nmdcs`` -> NMDC; the
  ``s`` ones are secure), its port the port (default 411), and a name that is not an IP
  address a stable documentation address (192.0.2.x).
- **Users** are known by CID and hub. A user without a CID gets a stable one made from the
  nick. ``find_user`` and ``send_private_message`` succeed for online users only; private
  messages land in the user's ``pms``.
- **Connections** are known by ip:port; ``send_protocol_cmd`` appends to ``sent``,
  ``terminate_conn`` closes it, ``get_user`` answers the user it was opened with.
- **Queue**: ``add_download`` wants a TTH (39 base32 characters), puts a relative target
  under ``download_dir``, refuses a target already queued (the reference host's
  add throws, and the plugin gets NULL), and fires ``dcpp.queue.onAdded``. ``add_list``
  queues ``FileLists/<nick>.<cid>.xml.bz2``. ``find_download`` matches the target as given
  or under ``download_dir``; ``pause`` toggles and answers whether the item is now paused;
  ``set_priority`` takes QueuePrio values; ``remove_download`` fires ``dcpp.queue.onRemoved``.
- **UI**: commands, sounds and notifications are kept (``commands``, ``sounds``,
  ``notifications``); :meth:`SimulatedWorld.click` runs a plugin's command.
- **Tagger**: pyhost's :class:`~pyhost.services.app.SimpleTagger` (the reference semantics).
- **Data access**: requests are recorded in ``http_requests``; nothing is fetched (fire
  ``dcpp.dataaccessor.onHTTPResourceNotification`` yourself to answer one).

Events the world fires in response to a plugin's call (onOnline after add_hub, ...) run
synchronously inside that call, as the reference host's listeners do, and are recorded as
effects with interface ``"world"``, function ``"fire"``. They nest at most
``max_nesting`` deep (then they are skipped with a warning), so two plugins cannot
ping-pong forever. ``SimulatedWorld(fire_events=False)`` turns them off.

When the host fires a standard hook about an entity (StandardHooks), the world learns of it:
a hub or user in an event is online (created if new), a queue item in onAdded is queued,
and after hubs/users.onOffline and queue.onRemoved/onFinished it is gone.

Every call a plugin makes is recorded as an effect by the bridge (``host.effects``), for the
world and for any other application alike.

The world is a DC client: after each hook fired through ``host.fire`` it does what a client
does with the event unless a plugin handled it (:meth:`SimulatedWorld.default_action`,
``world_defaults``): shows incoming chat and PMs, sends outgoing ones, applies incoming hub
protocol lines (``world_protocol``: users join and quit, chat arrives), sends outgoing lines,
runs its own chat commands (/me, /clear, /help) and displays chat (``StringData.out`` when
handled).
"""
from __future__ import annotations

import itertools
import logging
import threading
import weakref
from typing import Any, Optional
from urllib.parse import urlsplit

from pyhost.app.application import (
    DEFAULT_TAGGER_SERVICE,
    Connection,
    DefaultActions,
    HookOutcome,
    Hub,
    ProtocolType,
    QueueItem,
    UICommand,
    User,
)
from pyhost.app.world_defaults import default_action
from pyhost.app.world_entities import (
    _SCHEMES,
    ChatLine,
    WorldConnection,
    WorldHub,
    WorldQueueItem,
    WorldUser,
    _doc_ip,
    make_cid,
)
from pyhost.app.world_services import _UI, _Connections, _DataAccess, _Hubs, _Queue

log = logging.getLogger("pyhost.world")


# ---- the world ------------------------------------------------------------------------------

class SimulatedWorld(DefaultActions):
    """In-memory hubs, users, connections, queue and UI (see the module docstring)."""

    def __init__(self, *, nick: str = "pyhost", download_dir: str = "Downloads/",
                 fire_events: bool = True, max_nesting: int = 4):
        self.nick = nick
        self.download_dir = download_dir if download_dir.endswith("/") else download_dir + "/"
        self.fire_events = fire_events
        self.max_nesting = max_nesting
        self.hubs: dict[str, WorldHub] = {}
        self.users: dict[tuple[str, str], WorldUser] = {}
        self.connections: dict[tuple[str, int], WorldConnection] = {}
        self.downloads: dict[str, WorldQueueItem] = {}
        self.commands: dict[tuple[str, str], UICommand] = {}
        self.sounds: list[str] = []
        self.notifications: list[tuple[str, str]] = []
        self.http_requests: list[tuple[str, str]] = []
        self.udp_sent: list[tuple[str, int, bytes]] = []
        self.udp_received: list[tuple[str, int, bytes]] = []
        self.displayed: list[ChatLine] = []   # what ui.onChatDisplay let the client show
        self._lock = threading.RLock()
        self._handles = itertools.count(0x1000)
        self._sids = itertools.count(1)
        self._host_ref = None
        self._nesting = threading.local()
        self._speaker = threading.local()   # who said the message being fired (its hook)
        # The interfaces, as the Application attributes pyhost looks for.
        self.hub = _Hubs(self)
        self.connection = _Connections(self)
        self.queue = _Queue(self)
        self.ui = _UI(self)
        self.tagger = DEFAULT_TAGGER_SERVICE
        self.data_access = _DataAccess(self)

    def attach(self, host) -> None:
        """Called by the host: the world fires events through ``host.fire``."""
        self._host_ref = weakref.ref(host)

    # -- finding and making entities (also used by StandardHooks and replay) -----------------
    def hub_for(self, url: str, **fields: Any) -> Hub:
        """The hub with this url, created (online) if new; given fields update it."""
        with self._lock:
            hub = self._hub(url, create=True)
            hub.online = True
            for name in ("ip", "port", "protocol", "is_op", "is_secure"):
                if fields.get(name) is not None:
                    setattr(hub, name, fields[name])
            return hub.value()

    def user_for(self, nick: str = "", cid: str = "", hub_url: str = "", **fields: Any) -> User:
        """The user with this CID (or the nick's CID) on ``hub_url``, created if new."""
        with self._lock:
            if not cid and not nick:
                raise ValueError("a user needs a nick or a cid")
            cid = cid or make_cid(nick)
            if hub_url:
                self.hub_for(hub_url)
            user = self.users.get((cid, hub_url))
            if user is None:
                user = WorldUser(nick or cid[:8], cid, hub_url, next(self._sids),
                                 next(self._handles))
                self.users[(cid, hub_url)] = user
            elif nick:
                user.nick = nick
            user.online = True
            for name in ("sid", "protocol", "is_op"):
                if fields.get(name) is not None:
                    setattr(user, name, fields[name])
            return user.value()

    def connection_for(self, ip: str, port: int = 0, user: Optional[User] = None,
                       **fields: Any) -> Connection:
        """The connection to ip:port, opened if new; ``user`` is who is at the other end."""
        with self._lock:
            conn = self.connections.get((ip, port))
            if conn is None:
                conn = WorldConnection(ip, port, next(self._handles))
                self.connections[(ip, port)] = conn
            conn.open = True
            if user is not None:
                conn.user = (user.cid, user.hub_url)
            for name in ("protocol", "is_op", "is_secure"):
                if fields.get(name) is not None:
                    setattr(conn, name, fields[name])
            return conn.value()

    def queue_item_for(self, target: str, **fields: Any) -> QueueItem:
        """The queued item with this target, queued if new."""
        with self._lock:
            item = self.downloads.get(target)
            if item is None:
                item = WorldQueueItem(target, next(self._handles),
                                      location=target.rpartition("/")[0] + "/"
                                      if "/" in target else "")
                self.downloads[target] = item
            for name in ("hash", "size", "location", "is_file_list"):
                if fields.get(name) is not None:
                    setattr(item, name, fields[name])
            return item.value()

    def event_fired(self, guid: str, entity: Any) -> None:
        """Called by StandardHooks after each standard hook: entities that went away go."""
        with self._lock:
            if guid == "dcpp.hubs.onOffline" and isinstance(entity, Hub):
                hub = self._find_hub(entity)
                if hub is not None:
                    self._hub_offline(hub)
            elif guid == "dcpp.users.onOffline" and isinstance(entity, User):
                user = self._find_user(entity)
                if user is not None:
                    user.online = False
            elif guid in ("dcpp.queue.onRemoved", "dcpp.queue.onFinished") and \
                    isinstance(entity, QueueItem):
                self.downloads.pop(entity.target, None)

    def default_action(self, outcome: HookOutcome) -> Optional[dict]:
        """What a DC client does with the event unless a plugin handled it: shows incoming
        chat and PMs, sends outgoing ones, applies and sends protocol lines, runs the
        client's own chat commands, displays chat (pyhost.app.world_defaults)."""
        return default_action(self, outcome)

    def click(self, guid: str, name: str) -> None:
        """Runs a plugin's UI command, as a user picking it from the menu."""
        command = self.commands.get((guid, name))
        if command is None:
            raise LookupError(f"no UI command {name!r} was added by {guid}")
        command()

    def snapshot(self) -> dict:
        """The world's state as plain data (for tests and `pyhost run --json`)."""
        with self._lock:
            return {
                "hubs": {u: {"online": h.online, "chat": [str(c) for c in h.chat],
                             "status": [s for s, _ in h.status], "sent": list(h.sent),
                             "received": list(h.received), "emulated": list(h.emulated)}
                         for u, h in self.hubs.items()},
                "users": [{"nick": u.nick, "cid": u.cid, "hub": u.hub_url, "online": u.online,
                           "pms": [str(p) for p in u.pms]} for u in self.users.values()],
                "connections": {f"{c.ip}:{c.port}": {"open": c.open, "sent": list(c.sent),
                                                     "received": list(c.received)}
                                for c in self.connections.values()},
                "displayed": [str(d) for d in self.displayed],
                "queue": {t: {"size": i.size, "hash": i.hash, "priority": int(i.priority),
                              "paused": i.paused, "file_list": i.is_file_list}
                          for t, i in self.downloads.items()},
                "commands": [{"guid": g, "name": n} for g, n in self.commands],
                "sounds": list(self.sounds),
                "notifications": [list(n) for n in self.notifications],
                "http_requests": [list(r) for r in self.http_requests],
            }

    # -- internals --------------------------------------------------------------------------
    def _hub(self, url: str, create: bool = False) -> Optional[WorldHub]:
        hub = self.hubs.get(url)
        if hub is None and create:
            parts = urlsplit(url)
            protocol, secure = _SCHEMES.get(parts.scheme.lower(), (ProtocolType.ADC, False))
            try:
                port = parts.port or 411
            except ValueError:
                port = 411
            hub = WorldHub(url, _doc_ip(parts.hostname or url), port, protocol, secure,
                           next(self._handles), nick=self.nick)
            self.hubs[url] = hub
        return hub

    def _find_hub(self, hub: Hub) -> Optional[WorldHub]:
        if hub.handle:
            for known in self.hubs.values():
                if known.handle == hub.handle:
                    return known
        return self.hubs.get(hub.url)

    def _find_user(self, user: User) -> Optional[WorldUser]:
        if user.handle:
            for known in self.users.values():
                if known.handle == user.handle:
                    return known
        found = self.users.get((user.cid, user.hub_url))
        if found is None and not user.hub_url:
            found = next((u for (cid, _), u in self.users.items() if cid == user.cid), None)
        return found

    def _find_connection(self, conn: Connection) -> Optional[WorldConnection]:
        if conn.handle:
            for known in self.connections.values():
                if known.handle == conn.handle:
                    return known
        return self.connections.get((conn.ip, conn.port))

    def _find_item(self, item: QueueItem) -> Optional[WorldQueueItem]:
        found = self.downloads.get(item.target)
        if found is None and item.handle:
            found = next((i for i in self.downloads.values() if i.handle == item.handle), None)
        return found

    def _hub_offline(self, hub: WorldHub) -> None:
        hub.online = False
        for (_, url), user in self.users.items():
            if url == hub.url:
                user.online = False

    def _fire(self, method: str, guid: str, value: Any, data: Optional[str] = None) -> bool:
        """Fires a standard hook about ``value`` (with ``data``, a text, if given) through
        the host, recorded as an effect; False when events are off or nested too deep."""
        host = self._host_ref() if self._host_ref is not None else None
        if host is None or not self.fire_events:
            return False
        depth = getattr(self._nesting, "depth", 0)
        if depth >= self.max_nesting:
            log.warning("the world did not fire %s: events nested %d deep", guid, depth)
            return False
        args = {"hook": guid, "object": value}
        fire = getattr(host.fire, method)
        if data is not None:
            args["data"] = data
        self._nesting.depth = depth + 1
        try:
            host.app_services.call("world", "fire", args,
                                   (lambda: fire(value)) if data is None else
                                   (lambda: fire(value, data)))
        finally:
            self._nesting.depth = depth
        return True

    def _fire_message(self, method: str, guid: str, value: Any, text: str, nick: str,
                      third_person: bool) -> bool:
        """Fires an incoming chat or PM the world received from ``nick``, so that its
        default action shows it as theirs; False if not fired (see _fire)."""
        previous = getattr(self._speaker, "who", None)
        self._speaker.who = (guid, text, nick, third_person)
        try:
            return self._fire(method, guid, value, text)
        finally:
            self._speaker.who = previous

    def _speaker_of(self, outcome: HookOutcome) -> tuple[str, bool]:
        """(nick, third person) of the message an outcome is about, when the world fired it
        from a protocol line; ("", False) otherwise."""
        who = getattr(self._speaker, "who", None)
        if who is not None and who[0] == outcome.hook and who[1] == outcome.data:
            return who[2], who[3]
        return "", False


