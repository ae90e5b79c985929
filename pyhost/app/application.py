"""The interfaces an application provides to plugins: DCHub, DCConnection, DCQueue, DCUI,
DCTagger and DCDataAccess, as Python classes.

pyhost is not a DC client. The application that embeds it implements the interfaces it
can offer, one object per interface, and hands them to the host::

    class MyHubs(HubService):
        def send_message(self, hub, message, third_person): my_client.say(hub.url, message)
        ...

    host = Host(home, app=Application(hub=MyHubs(), ui=MyUI()))

pyhost exposes each object to plugins as the interface's ABI function table
(:mod:`pyhost.services.app_tables`): it converts the C arguments into the value types below,
calls the method, and converts the result back. An interface the application leaves as
``None`` is not registered: ``query_interface`` answers NULL for it, as in a host without it.
Without ``app=``, the host uses :class:`pyhost.world.SimulatedWorld`, which provides all six.

Rules every implementation can rely on:

- Methods are called on the plugin's thread (often the thread firing a hook), with the GIL.
  An exception is caught at the C boundary: logged (logger ``pyhost.app``), recorded as the
  call's effect with an ``error``, and the plugin gets NULL / False / nothing.
- Arguments are already validated: a NULL string or object the function needs never reaches
  the method (the call is refused and recorded as an error effect).
- Entities travel as frozen value types. ``handle`` is the application's own identifier for
  the entity (any integer that fits a pointer; 0 = none): it is stored in the ``object``
  field of the ABI struct and comes back unchanged when a plugin passes the struct back, so
  the application can find its entity again whatever copy the plugin holds.
- Ownership is not the application's business: the structs handed to plugins are copies
  that pyhost allocates (``isManaged = False``) and that the plugin gives back with the
  interface's ``release`` / ``release_user``, which are native code (native/app_data.c).
- Text is ``str`` (UTF-8 in C). Tagger positions are UTF-8 byte offsets, as in the ABI.
- An application may also do its own processing of each event unless a plugin handled it:
  :class:`DefaultActions` (``default_action(outcome)``, told by the host after every hook it
  fires; the simulated world implements it).
"""
from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Optional

__all__ = [
    "ProtocolType", "MsgType", "QueuePrio",
    "Hub", "User", "Connection", "QueueItem", "Tag", "TaggedText",
    "HubService", "ConnectionService", "QueueService", "UIService", "UICommand",
    "Tagger", "TaggerService", "SimpleTagger", "DataAccessService", "HookOutcome",
    "DefaultActions", "Application", "INTERFACES",
]


class ProtocolType(enum.IntEnum):
    ADC = 0
    NMDC = 1
    DHT = 2


class MsgType(enum.IntEnum):
    """Kinds of local (not sent) hub messages."""
    CLIENT = 0
    STATUS = 1
    SYSTEM = 2


class QueuePrio(enum.IntEnum):
    DEFAULT = -1
    LOWEST = 1
    LOW = 2
    NORMAL = 3
    HIGH = 4
    HIGHEST = 5


def _enum(cls, value):
    """The enum member for a known value; unknown values pass through as plain ints."""
    try:
        return cls(value)
    except ValueError:
        return int(value)


# ---- value types -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Hub:
    """A hub (HubData)."""
    url: str
    ip: str = ""
    port: int = 0
    protocol: ProtocolType = ProtocolType.ADC
    is_op: bool = False
    is_secure: bool = False
    handle: int = 0

    def summary(self) -> dict:
        return {"url": self.url}


@dataclass(frozen=True)
class User:
    """A user on a hub (UserData). ``hub_url`` is the ABI's ``hubHint``."""
    nick: str
    cid: str = ""
    hub_url: str = ""
    sid: int = 0
    protocol: ProtocolType = ProtocolType.ADC
    is_op: bool = False
    handle: int = 0

    def summary(self) -> dict:
        return {"nick": self.nick, "cid": self.cid, "hub": self.hub_url}


@dataclass(frozen=True)
class Connection:
    """A client-to-client connection (ConnectionData)."""
    ip: str
    port: int = 0
    protocol: ProtocolType = ProtocolType.ADC
    is_op: bool = False
    is_secure: bool = False
    handle: int = 0

    def summary(self) -> dict:
        return {"ip": self.ip, "port": self.port}


@dataclass(frozen=True)
class QueueItem:
    """A download queue item (QueueData)."""
    target: str
    location: str = ""
    hash: str = ""
    size: int = 0
    is_file_list: bool = False
    handle: int = 0

    def summary(self) -> dict:
        return {"target": self.target}


@dataclass(frozen=True)
class Tag:
    """A tag added by a plugin: UTF-8 byte offsets into the text at the time it was added
    (moved by later replacements, as the reference host does)."""
    start: int
    end: int
    id: str
    attributes: str


@dataclass(frozen=True)
class TaggedText:
    """The result of dcpp.ui.onChatTags: the final text, its tags, and the merged markup
    (``<id attributes>text</id>``, text XML-escaped)."""
    text: str
    tags: tuple[Tag, ...]
    markup: str

    def to_dict(self) -> dict:
        return {"text": self.text, "markup": self.markup,
                "tags": [{"start": t.start, "end": t.end, "id": t.id,
                          "attributes": t.attributes} for t in self.tags]}


# ---- the interfaces --------------------------------------------------------------------------

class HubService(ABC):
    """DCHub, ``dcpp.network.DCHub`` version 1. ``copy``, ``release``, ``copy_user`` and
    ``release_user`` are pyhost's own (native) and are not part of this class."""

    @abstractmethod
    def add_hub(self, url: str, nick: str, password: str) -> Optional[Hub]:
        """Connects to a hub (or finds it if already connected); None if that fails."""

    @abstractmethod
    def find_hub(self, url: str) -> Optional[Hub]:
        """The connected hub with this url, or None."""

    @abstractmethod
    def remove_hub(self, hub: Hub) -> None:
        """Disconnects from the hub."""

    @abstractmethod
    def emulate_protocol_cmd(self, hub: Hub, cmd: str) -> None:
        """Handles ``cmd`` as if the hub had sent it."""

    @abstractmethod
    def send_protocol_cmd(self, hub: Hub, cmd: str) -> None:
        """Sends a raw protocol command to the hub."""

    @abstractmethod
    def send_message(self, hub: Hub, message: str, third_person: bool) -> None:
        """Sends a chat message to the hub (``/me`` style when third_person)."""

    @abstractmethod
    def local_message(self, hub: Hub, message: str, type: MsgType) -> None:
        """Shows a message in the hub's window without sending it."""

    @abstractmethod
    def send_private_message(self, user: User, message: str, third_person: bool) -> bool:
        """Sends a private message; False when the user is not online."""

    @abstractmethod
    def find_user(self, cid: str, hub_url: str) -> Optional[User]:
        """The online user with this CID (on this hub, if given), or None."""


class ConnectionService(ABC):
    """DCConnection, ``dcpp.network.DCConnection`` version 1. A UserData from get_user is
    released with DCHub's ``release_user``."""

    @abstractmethod
    def send_udp_data(self, ip: str, port: int, data: bytes) -> None:
        """Sends a UDP datagram."""

    @abstractmethod
    def send_protocol_cmd(self, connection: Connection, cmd: str) -> None:
        """Sends a raw protocol command on a client connection."""

    @abstractmethod
    def terminate_conn(self, connection: Connection, graceless: bool) -> None:
        """Closes a client connection."""

    @abstractmethod
    def get_user(self, connection: Connection) -> Optional[User]:
        """The user at the other end of the connection, or None."""


class QueueService(ABC):
    """DCQueue, ``dcpp.queue.DCQueue`` version 1 (``copy`` / ``release`` are pyhost's)."""

    @abstractmethod
    def add_list(self, user: User, silent: bool) -> Optional[QueueItem]:
        """Queues the user's file list; the new item, or None."""

    @abstractmethod
    def add_download(self, hash: str, size: int, target: str) -> Optional[QueueItem]:
        """Queues a download by TTH; the new item, or None if it cannot be queued."""

    @abstractmethod
    def find_download(self, target: str) -> Optional[QueueItem]:
        """The queued item with this target, or None."""

    @abstractmethod
    def remove_download(self, item: QueueItem) -> None:
        """Removes the item from the queue."""

    @abstractmethod
    def set_priority(self, item: QueueItem, priority: int) -> None:
        """Sets the item's priority (a QueuePrio value; others are passed as ints)."""

    @abstractmethod
    def pause(self, item: QueueItem) -> bool:
        """Toggles pause; True when the item is now paused."""


class UICommand:
    """A command a plugin added to the UI. Call it to run the plugin's function (with the
    command's name, as the ABI says). Calling it after the plugin removed it, or after the
    plugin was unloaded, raises RuntimeError."""

    def __init__(self, guid: str, name: str, icon: str, invoke: Callable[[], None]):
        self.guid = guid
        self.name = name
        self.icon = icon
        self._invoke: Optional[Callable[[], None]] = invoke

    @property
    def valid(self) -> bool:
        return self._invoke is not None

    def invalidate(self) -> None:
        self._invoke = None

    def __call__(self) -> None:
        if self._invoke is None:
            raise RuntimeError(f"UI command {self.name!r} of {self.guid} is no longer "
                               "available (removed, or its plugin was unloaded).")
        self._invoke()

    def __repr__(self) -> str:
        return f"<UICommand {self.guid} {self.name!r}{'' if self.valid else ' (gone)'}>"


class UIService(ABC):
    """DCUI, ``dcpp.ui.DCUI`` version 1."""

    @abstractmethod
    def add_command(self, guid: str, name: str, command: UICommand, icon: str) -> None:
        """Adds a menu command; call ``command()`` when the user picks it."""

    @abstractmethod
    def remove_command(self, guid: str, name: str) -> None:
        """Removes a command added earlier (also called by pyhost when the plugin that
        added it is unloaded without removing it)."""

    @abstractmethod
    def play_sound(self, path: str) -> None:
        """Plays a sound file."""

    @abstractmethod
    def notify(self, title: str, message: str) -> None:
        """Shows a notification."""


class Tagger(ABC):
    """One chat message being tagged (what TagData.object points to). Positions are UTF-8
    byte offsets into the current text."""

    @abstractmethod
    def get_text(self) -> str:
        """The current text."""

    @abstractmethod
    def add_tag(self, start: int, end: int, id: str, attributes: str) -> None:
        """Tags text[start:end] as ``<id attributes>...</id>``."""

    @abstractmethod
    def replace_text(self, start: int, end: int, replacement: str) -> None:
        """Replaces text[start:end]; tags after it move, tags inside it collapse to start."""

    @abstractmethod
    def result(self) -> TaggedText:
        """The final text, tags and merged markup."""


class TaggerService(ABC):
    """DCTagger, ``dcpp.xml.DCTagger`` version 1: makes the Tagger for each message fired
    through dcpp.ui.onChatTags. The table's get_text / add_tag / replace_text go to it."""

    @abstractmethod
    def new_tagger(self, text: str) -> Tagger:
        """A tagger for one message."""


class DataAccessService(ABC):
    """DCDataAccess, ``dcpp.dataaccessor.DCDataAccess`` version 1 (``copy`` / ``release``
    of DataArray are pyhost's). The application reports the outcome by firing
    dcpp.dataaccessor.onHTTPResourceNotification (or ...Failed / ...Stream)."""

    @abstractmethod
    def get_http_resource(self, uri: str, local_path: str) -> None:
        """Starts fetching ``uri`` into ``local_path``."""


# ---- a reference Tagger ----------------------------------------------------------------------

def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SimpleTagger(Tagger):
    """The reference host's Tagger semantics, in Python.

    Offsets out of range (or start > end) raise ValueError; the bridge turns that into an
    error effect instead of the reference host's undefined behaviour.
    """

    def __init__(self, text: str):
        self._text = text.encode("utf-8")
        # [position, markup, opening?, partner index]
        self._tags: list[list[Any]] = []
        self._added: list[tuple[int, int, str, str]] = []

    def _check(self, start: int, end: int) -> None:
        if not 0 <= start <= end <= len(self._text):
            raise ValueError(f"range {start}..{end} is outside the text "
                             f"({len(self._text)} bytes)")

    def get_text(self) -> str:
        return self._text.decode("utf-8", "replace")

    def add_tag(self, start: int, end: int, id: str, attributes: str) -> None:
        self._check(start, end)
        n = len(self._tags)
        self._tags.append([start, f"<{id} {attributes}>", True, n + 1, id, attributes])
        self._tags.append([end, f"</{id}>", False, n, id, attributes])

    def replace_text(self, start: int, end: int, replacement: str) -> None:
        self._check(start, end)
        new = replacement.encode("utf-8")
        self._text = self._text[:start] + new + self._text[end:]
        delta = len(new) - (end - start)
        for tag in self._tags:
            if tag[0] >= end:
                tag[0] += delta
            elif tag[0] > start:
                tag[0] = start

    def result(self) -> TaggedText:
        order = sorted(range(len(self._tags)), key=lambda i: self._tags[i][0])  # stable
        out: list[str] = []
        pos = 0
        open_tags: list[int] = []
        text = self._text
        for i in order:
            at, markup, opening, partner = self._tags[i][:4]
            out.append(_escape(text[pos:at].decode("utf-8", "replace")))
            pos = at
            if opening:
                out.append(markup)
                open_tags.append(i)
            elif open_tags and open_tags[-1] == partner:
                out.append(markup)
                open_tags.pop()
            elif partner in open_tags:
                # Entangled tags: close the ones opened after our partner, close ours,
                # and reopen them.
                k = open_tags.index(partner)
                later = open_tags[k + 1:]
                for j in reversed(later):
                    out.append(f"</{self._tags[j][4]}>")
                out.append(markup)
                for j in later:
                    out.append(self._tags[j][1])
                del open_tags[k]
        out.append(_escape(text[pos:].decode("utf-8", "replace")))
        tags = tuple(Tag(self._tags[i][0], self._tags[i + 1][0], self._tags[i][4],
                         self._tags[i][5])
                     for i in range(0, len(self._tags), 2))
        return TaggedText(self.get_text(), tags, "".join(out))


class _SimpleTaggerService(TaggerService):
    def new_tagger(self, text: str) -> Tagger:
        return SimpleTagger(text)


DEFAULT_TAGGER_SERVICE: TaggerService = _SimpleTaggerService()


# ---- what the application does with an event ---------------------------------------------------

@dataclass(frozen=True)
class HookOutcome:
    """A standard hook the host fired, and what the plugins answered.

    ``object`` is the entity (Hub, User, Connection, QueueItem), ``(ip, port)`` for the UDP
    hooks, the host-specific address (or None) for ui.onCreated and the dataaccessor hooks,
    None for the timers. ``data`` is the text (``str``) of text hooks, the tick (``int``),
    ``(command, params)`` for chat commands, the input text for ui.onChatDisplay and
    ui.onChatTags, ``bytes`` for the dataaccessor hooks, None when the hook has none.
    """
    hook: str                               # the guid, e.g. "dcpp.chat.onIncomingChat"
    object: Any
    data: Any
    handled: bool                           # True: the application skips its own processing
    replacement: Optional[str] = None       # ui.onChatDisplay: StringData.out if handled
    tags: Optional[TaggedText] = None       # ui.onChatTags: the tagged result


class DefaultActions(ABC):
    """What the application does with each standard hook it fires unless a plugin handled
    it (the ABI's "handled: the host skips its own processing").

    The host calls ``default_action`` after every hook it fires through ``host.fire``
    (``StandardHooks``), once the plugins have answered, on the thread that fired the hook.
    The application does its own processing (shows an incoming message, sends an outgoing
    one, runs a chat command it knows, applies a protocol line), or skips it when
    ``outcome.handled`` (for ui.onChatDisplay: shows ``outcome.replacement`` instead of the
    text when handled and set). Events it fires from there are nested in this one.
    """

    @abstractmethod
    def default_action(self, outcome: HookOutcome) -> Optional[dict]:
        """Does (or skips) the processing of one event; returns what it did as a JSON-able
        dict (shown as ``"default"`` in replay output), or None when the application does
        nothing with this hook. An exception is logged and shown as ``{"error": ...}``."""


# ---- the application -------------------------------------------------------------------------

@dataclass
class Application:
    """The interfaces an application provides; None = not provided (not registered).
    ``default_action`` is the :meth:`DefaultActions.default_action` of the application, if
    it has one (None: the host reports no default processing)."""
    hub: Optional[HubService] = None
    connection: Optional[ConnectionService] = None
    queue: Optional[QueueService] = None
    ui: Optional[UIService] = None
    tagger: Optional[TaggerService] = None
    data_access: Optional[DataAccessService] = None
    default_action: Optional[Callable[[HookOutcome], Optional[dict]]] = None


# attribute of the application -> (ABI guid, version, short name)
INTERFACES = {
    "hub": ("dcpp.network.DCHub", 1, "DCHub"),
    "connection": ("dcpp.network.DCConnection", 1, "DCConnection"),
    "queue": ("dcpp.queue.DCQueue", 1, "DCQueue"),
    "ui": ("dcpp.ui.DCUI", 1, "DCUI"),
    "tagger": ("dcpp.xml.DCTagger", 1, "DCTagger"),
    "data_access": ("dcpp.dataaccessor.DCDataAccess", 1, "DCDataAccess"),
}
