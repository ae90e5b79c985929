"""The host's event stream: a typed, bounded record of what happened.

The idea is libtorrent's alerts. The host posts small, frozen, plain-data events (plugin
installed / loaded / failed / unloaded / updated / removed / configured, plugin log messages,
exceptions caught in Python subscribers). Each event class has a fixed :class:`Category`, and
the application can do three things with them:

- switch categories off entirely with :meth:`EventStream.set_categories`. Events that are
  filtered out are never built, never queued and never counted as dropped;
- :meth:`EventStream.poll` queued events, optionally only some categories. Events of other
  categories stay queued for another poller;
- :meth:`EventStream.subscribe` a callback that is called synchronously, on the emitting
  thread, for every matching event.

Emitting (the host does this, never the application)::

    stream.emit(PluginLoaded, guid=g, name=n, version=v, state="ON_LOAD")

The stream assigns ``seq`` (monotonic per stream, starting at 1) and ``time``
(``time.time()``); emitters pass only the event's own fields. ``emit`` returns the event, or
``None`` when its category is switched off. :meth:`EventStream.wants` lets an emitter skip
building costly fields for a category nobody wants.

Nothing is silently dropped. The queue holds at most ``maxlen`` events. When it is full the
oldest event is dropped and counted, and the next :meth:`~EventStream.poll` returns an
:class:`EventsDropped` carrying that count first (subscribers get it too), then the count
resets. Subscribers never miss an event through overflow, because they are called at emit
time; the bound protects the memory of an application that polls too slowly, or never.

Threads: every method can be called from any thread. Plugins log from their own threads, so
``emit`` runs on whatever thread the plugin used, and subscribers run there too. Events from
one thread reach a subscriber in ``seq`` order. Events emitted at the same moment from
different threads may reach a subscriber out of ``seq`` order; ``poll`` always returns them in
``seq`` order.
"""
from __future__ import annotations

import collections
import enum
import logging
import re
import threading
import time as _time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar, Optional, TypeVar

__all__ = [
    "Category",
    "Event",
    "EventStream",
    "EventsDropped",
    "PluginConfigured",
    "PluginCrashed",
    "PluginFailed",
    "PluginInstalled",
    "PluginLoaded",
    "PluginLog",
    "PluginRemoved",
    "PluginRestarted",
    "PluginUnloaded",
    "PluginUpdated",
    "SubscriberException",
]

log = logging.getLogger("pyhost.events")


class Category(enum.Flag):
    """What an event is about. An event can be in several categories."""

    PLUGIN = enum.auto()  # plugin lifecycle: installed, loaded, unloaded, updated, ...
    LOG = enum.auto()     # messages plugins write through DCLog
    ERROR = enum.auto()   # failures and exceptions
    HOOK = enum.auto()    # reserved for hook-level events
    ALL = PLUGIN | LOG | ERROR | HOOK


# Listed explicitly: iterating a combined Flag only works from Python 3.11 on.
_SINGLE_CATEGORIES = (Category.PLUGIN, Category.LOG, Category.ERROR, Category.HOOK)

E = TypeVar("E", bound="Event")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Event:
    """Base class of every host event.

    ``seq`` and ``time`` are keyword-only and set by :meth:`EventStream.emit`; subclasses
    declare their own fields, a class-level ``category``, and get ``kind`` (the class name in
    snake case, e.g. ``"plugin_loaded"``) for free.
    """

    category: ClassVar[Category]
    kind: ClassVar[str]

    seq: int = field(kw_only=True)
    time: float = field(kw_only=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind = _snake(cls.__name__)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict: kind, seq, time, category names, then the fields."""
        return {
            "kind": self.kind,
            "seq": self.seq,
            "time": self.time,
            "category": [c.name for c in _SINGLE_CATEGORIES if c in self.category],
            **{k: v for k, v in asdict(self).items() if k not in ("seq", "time")},
        }


@dataclass(frozen=True)
class PluginInstalled(Event):
    """Emitted by the host after a plugin was added to the registry (before ON_INSTALL)."""

    category: ClassVar[Category] = Category.PLUGIN
    guid: str
    name: str
    version: str
    path: str


@dataclass(frozen=True)
class PluginLoaded(Event):
    """Emitted by the host when a load state returned True.

    ``state`` is the lifecycle state name: ``"ON_LOAD"``, ``"ON_INSTALL"`` or
    ``"ON_LOAD_RUNTIME"``.
    """

    category: ClassVar[Category] = Category.PLUGIN
    guid: str
    name: str
    version: str
    state: str


@dataclass(frozen=True)
class PluginFailed(Event):
    """Emitted by the host when a plugin could not be installed or loaded.

    Covers a rejected binary, a bad ``pluginInit``, False from a load state, a missing or
    cyclic dependency, an exception from a Python plugin. guid and name are None when the
    failure happened before they were known (e.g. the file is not a plugin at all).
    ``reason`` is one sentence for the user.
    """

    category: ClassVar[Category] = Category.PLUGIN | Category.ERROR
    guid: Optional[str]
    name: Optional[str]
    path: Optional[str]
    reason: str


@dataclass(frozen=True)
class PluginUnloaded(Event):
    """Emitted by the host after ON_UNLOAD (disable, update, shutdown).

    ``kept_mapped`` is True when the plugin returned False from ON_UNLOAD, so its library
    stays mapped until the host shuts down.
    """

    category: ClassVar[Category] = Category.PLUGIN
    guid: str
    name: str
    kept_mapped: bool


@dataclass(frozen=True)
class PluginUpdated(Event):
    """Emitted by the host when a newer version replaced an installed plugin in place."""

    category: ClassVar[Category] = Category.PLUGIN
    guid: str
    name: str
    old_version: str
    new_version: str


@dataclass(frozen=True)
class PluginRemoved(Event):
    """Emitted by the host after a plugin was removed (ON_UNINSTALL, registry row deleted).

    ``kept_settings`` says whether its settings were left in the registry.
    """

    category: ClassVar[Category] = Category.PLUGIN
    guid: str
    name: str
    kept_settings: bool


@dataclass(frozen=True)
class PluginConfigured(Event):
    """Emitted by the host after ON_CONFIGURE; ``result`` is what the plugin returned."""

    category: ClassVar[Category] = Category.PLUGIN
    guid: str
    name: str
    result: bool


@dataclass(frozen=True)
class PluginCrashed(Event):
    """Emitted by the host when an isolated plugin's process ended without being asked to.

    ``signal`` names the signal that ended it ("SIGSEGV", "SIGABRT"; "SIGKILL" when pyhost
    killed it, then ``deadline`` is True) or ``exit_code`` its exit status. ``hook`` is what
    it was doing: the guid of the hook call that was waiting for it, a lifecycle state
    ("ON_LOAD"), "pluginInit", "interface GUID" or "UI command NAME"; None when it was idle.
    That call counted as not handled. ``replay`` is the JSON Lines file of its last hook
    calls (``pyhost run --replay FILE --in-process`` reproduces them), ``crashes`` the
    crashes in a row, ``action`` what happens next: "restarting", "disabled" (too many
    crashes in a row: the plugin is marked crashed until enabled again) or "none" (it was
    not running: a crash while loading, unloading or restarting).
    """

    category: ClassVar[Category] = Category.PLUGIN | Category.ERROR
    guid: Optional[str]
    name: str
    signal: Optional[str]
    exit_code: Optional[int]
    hook: Optional[str]
    deadline: bool
    replay: Optional[str]
    crashes: int
    action: str


@dataclass(frozen=True)
class PluginRestarted(Event):
    """Emitted by the host when an isolated plugin runs again after a crash (a new process,
    ON_LOAD_RUNTIME returned True); ``attempt`` counts the crashes in a row before it."""

    category: ClassVar[Category] = Category.PLUGIN
    guid: str
    name: str
    attempt: int


@dataclass(frozen=True)
class PluginLog(Event):
    """Emitted by the DCLog service for each message a plugin logs (on the plugin's thread)."""

    category: ClassVar[Category] = Category.LOG
    guid: str
    name: str
    message: str


@dataclass(frozen=True)
class SubscriberException(Event):
    """Emitted by the host when a Python subscriber of a hook raised.

    The exception is stored as text (``error`` is ``"Type: message"``, ``traceback`` the
    formatted traceback) so that events stay plain data. ``plugin`` is the name of the Python
    plugin that owns the subscriber, None for an application callable.
    """

    category: ClassVar[Category] = Category.ERROR
    hook: str
    subscriber: str
    plugin: Optional[str]
    error: str
    traceback: str


@dataclass(frozen=True)
class EventsDropped(Event):
    """Emitted by the stream itself: ``count`` queued events were dropped on overflow.

    Its category is ALL so that any poller or subscriber sees it: dropped events can be of
    any category. Its ``seq`` is taken when the loss is reported (at poll time), so it is
    higher than the seq of the events returned after it.
    """

    category: ClassVar[Category] = Category.ALL
    count: int


Callback = Callable[[Event], Any]


class EventStream:
    """A thread-safe, bounded queue of host events with category filters and subscribers."""

    def __init__(self, maxlen: int = 10_000) -> None:
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1, not {maxlen}")
        self.maxlen = maxlen
        self._lock = threading.Lock()
        self._queue: collections.deque[Event] = collections.deque()
        self._next_seq = 1
        self._dropped = 0
        self._mask = Category.ALL
        # Copy-on-write tuple: emit reads it under the lock and calls outside the lock.
        self._subscribers: tuple[tuple[Callback, Category], ...] = ()

    # -- filter ------------------------------------------------------------------------

    @property
    def categories(self) -> Category:
        """The categories currently emitted (all by default)."""
        return self._mask

    def set_categories(self, mask: Category) -> None:
        """Emit only events in ``mask``; the others are not built, queued or counted."""
        with self._lock:
            self._mask = Category(mask)

    def wants(self, event_cls: type[Event]) -> bool:
        """Whether ``emit(event_cls, ...)`` would currently produce an event."""
        return bool(event_cls.category & self._mask)

    # -- producing ---------------------------------------------------------------------

    def _make(self, event_cls: type[E], fields: dict[str, Any]) -> E:
        """Build an event with the next seq. Call with the lock held."""
        # seq is consumed only once construction succeeded, so a bad emit leaves no gap.
        event = event_cls(seq=self._next_seq, time=_time.time(), **fields)
        self._next_seq += 1
        return event

    def emit(self, event_cls: type[E], **fields: Any) -> Optional[E]:
        """Post one event; returns it, or None when its category is switched off.

        ``fields`` are the event's own fields; seq and time are assigned here. Matching
        subscribers are called before emit returns, on this thread, outside the lock.
        """
        if not (isinstance(event_cls, type) and issubclass(event_cls, Event)) or event_cls in (
            Event,
            EventsDropped,  # the stream's own report; emitting it by hand would fake a loss
        ):
            raise TypeError(f"{event_cls!r} is not an event class the host can emit")
        if "seq" in fields or "time" in fields:
            raise TypeError("seq and time are assigned by the stream, do not pass them")
        with self._lock:
            if not event_cls.category & self._mask:
                return None
            event = self._make(event_cls, fields)
            if len(self._queue) >= self.maxlen:
                self._queue.popleft()
                self._dropped += 1
            self._queue.append(event)
            subscribers = self._subscribers
        self._deliver(event, subscribers)
        return event

    # -- consuming ---------------------------------------------------------------------

    def poll(self, categories: Category = Category.ALL, limit: Optional[int] = None) -> list[Event]:
        """Remove and return queued events in ``categories``, oldest first, at most ``limit``.

        If events were dropped since the last report, an :class:`EventsDropped` comes first
        (it takes one of the ``limit`` slots) and is also given to the subscribers.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, not {limit}")
        if limit == 0:
            return []
        out: list[Event] = []
        report: Optional[EventsDropped] = None
        with self._lock:
            if self._dropped:
                report = self._make(EventsDropped, {"count": self._dropped})
                self._dropped = 0
                out.append(report)
            if (categories & Category.ALL) == Category.ALL and limit is None:
                out.extend(self._queue)  # common case: take everything
                self._queue.clear()
            else:
                keep: collections.deque[Event] = collections.deque()
                for event in self._queue:
                    if (limit is None or len(out) < limit) and event.category & categories:
                        out.append(event)
                    else:
                        keep.append(event)
                self._queue = keep
            subscribers = self._subscribers
        if report is not None:
            self._deliver(report, subscribers)
        return out

    def __len__(self) -> int:
        """Number of events waiting to be polled."""
        with self._lock:
            return len(self._queue)

    def subscribe(self, callback: Callback, categories: Category = Category.ALL) -> Callable[[], None]:
        """Call ``callback(event)`` for every event in ``categories``, at emit time.

        Returns a callable that unsubscribes (calling it twice is harmless; an emit already
        under way on another thread may still deliver one event). A callback that
        raises is logged (logger ``pyhost.events``) and does not affect emit or the other
        subscribers. A callback may emit events itself.
        """
        entry = (callback, Category(categories))
        with self._lock:
            self._subscribers = self._subscribers + (entry,)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not entry)

        return unsubscribe

    @staticmethod
    def _deliver(event: Event, subscribers: tuple[tuple[Callback, Category], ...]) -> None:
        for callback, categories in subscribers:
            if not event.category & categories:
                continue
            try:
                callback(event)
            except Exception:
                # An exception here must never reach the emitter: it is a plugin's thread,
                # or the host in the middle of a lifecycle step.
                log.exception("event subscriber %r raised on %s", callback, event.kind)
