"""The Pythonic face of the native hook bus.

A :class:`Bus` owns one native bus (its DCCore and DCHooks tables). Hooks are created,
bound, fired and released exactly as the ABI says (see sdk_headers/dcplugin.h); Python
callables can subscribe next to C plugins.

A Python subscriber is called as ``fn(object, data, common)`` where object and data are the
raw ``void*`` cdata of the event and common is whatever was given to :meth:`Bus.bind`. Its
return value is the result: false-ish = not handled, ``True``/``HANDLED`` = handled,
``BREAK`` = stop the dispatch, ``HANDLED | BREAK`` = both. An exception never reaches C: it
is logged (logger ``pyhost.bus``), handed to ``Bus.on_subscriber_error`` and counts as "not
handled" (a KeyboardInterrupt is raised again in the main thread once C returns). Python
subscribers are called by the bridge's C trampoline (:mod:`pyhost.abi.trampoline`).

The GIL: :meth:`Hook.run` releases it around the dispatch, so C subscribers run without it
and other Python threads go on, except when every subscriber of the hook is a Python one:
then it is kept, since each of them would take it back at once. ``run_many`` releases it
once per batch, every other compiled call (cffi) once per call. A Python subscriber called
from a thread that does not hold the GIL takes it for the duration of its call.
"""
from __future__ import annotations

import collections
import logging
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.interrupts import redeliver
from pyhost.abi.trampoline import PYTHON_SUBSCRIBER, RAW, SubscriberCall, runner

log = logging.getLogger("pyhost.bus")

HANDLED = 1  # the event was handled: the host skips its own processing
BREAK = 2    # stop calling the remaining subscribers

Subscriber = Callable[[Any, Any, Any], Any]


class BusError(RuntimeError):
    """A bus operation was refused (duplicate hook, unknown hook, no free bus slot...)."""


@dataclass(frozen=True)
class SubscriberError:
    """An exception raised by a Python subscriber, caught at the C boundary."""

    hook: str
    subscriber: str
    exception: BaseException
    traceback: str = field(repr=False)


def _as_pointer(value: Any):
    """None -> NULL; cdata pointers pass through; ints are addresses."""
    if value is None:
        return ffi.NULL
    if isinstance(value, int):
        return ffi.cast("void*", value)
    return value


class _PythonSubscriber:
    """A callable bound with Bus.bind: the trampoline's call and what reports its errors."""

    __slots__ = ("fn", "common", "bus", "hook_guid", "call")

    def __init__(self, fn: Subscriber, common: Any, bus: "Bus", hook_guid: str):
        self.fn = fn
        self.common = common
        self.bus = bus
        self.hook_guid = hook_guid
        self.call = SubscriberCall(fn, self._failed, nargs=3, extra=common,
                                   object_kind=RAW, data_kind=RAW)

    def _failed(self, exc: BaseException) -> None:
        self.bus._subscriber_failed(self, exc)


def _call_python(sub: _PythonSubscriber, obj, data, brk) -> int:
    """Runs a Python default procedure under the ABI's rules; never lets an exception escape."""
    try:
        result = sub.fn(obj, data, sub.common)
        if not result:
            return 0
        if result is True:
            return 1
        flags = int(result)
    except BaseException as exc:  # never unwind into C
        sub.bus._subscriber_failed(sub, exc)
        return 0
    if flags & BREAK:
        brk[0] = 1
    return flags & HANDLED


class Hook:
    """A hook created on a bus (or looked up by guid).

    ``hook.run(obj=None, data=None)`` fires one event and answers True when a subscriber (or
    the default procedure) handled it; obj and data are None (NULL), cdata pointers or
    addresses (int). It is a compiled builtin bound to this hook (pyhost/abi/_bridge.c), so
    a call from Python is one C call.
    """

    __slots__ = ("bus", "guid", "handle", "_default", "run")

    def __init__(self, bus: "Bus", guid: str, handle, default=None):
        self.bus = bus
        self.guid = guid
        self.handle = handle
        self._default = default  # keeps a Python default procedure's callback alive
        self.run: Callable[..., bool] = runner(int(ffi.cast("uintptr_t", handle)))

    def run_many(self, events: "EventBatch | Iterable[tuple[Any, Any]]") -> int:
        """Fires a batch of events in one call into C; returns how many were handled.

        Pass an :class:`EventBatch` to reuse a prepared batch (its ``results`` then hold each
        event's result), or any iterable of ``(object, data)`` pairs.
        """
        batch = events if isinstance(events, EventBatch) else EventBatch(events)
        return batch._run(self.handle)

    @property
    def subscribers(self) -> int:
        return lib.phn_hook_subscribers(self.handle)

    def destroy(self) -> bool:
        """Destroys the hook; its subscriptions stay valid handles (release answers 0)."""
        ok = lib.phn_destroy_hook(self.handle) == 1
        if ok:
            self.bus._hooks.pop(self.guid, None)
        return ok

    def __repr__(self) -> str:
        return f"<Hook {self.guid}>"


class Subscription:
    """One subscriber bound to a hook; release it to unsubscribe."""

    __slots__ = ("bus", "hook_guid", "handle", "_python")

    def __init__(self, bus: "Bus", hook_guid: str, handle, python: Optional[_PythonSubscriber]):
        self.bus = bus
        self.hook_guid = hook_guid
        self.handle = handle
        self._python = python

    def release(self) -> int:
        """Unsubscribes; returns how many subscribers the hook has left (0 if already gone)."""
        if self.handle is None:
            return 0
        left = lib.phn_release_hook(self.handle)
        self.handle = None
        if self._python is not None:
            self.bus._retire_python(self._python)
            self._python = None
        return left


class EventBatch:
    """A native array of (object, data) events, fired with :meth:`Hook.run_many`.

    Build it once and fire it as often as needed: no Python objects are made per event.
    """

    __slots__ = ("_events", "_results", "_keep", "size")

    def __init__(self, events: Iterable[tuple[Any, Any]] = (), size: Optional[int] = None):
        pairs = list(events)
        self.size = len(pairs) if size is None else size
        if len(pairs) > self.size:
            raise ValueError(f"{len(pairs)} events do not fit in a batch of {self.size}")
        self._events = ffi.new("phn_event[]", max(self.size, 1))
        self._results = ffi.new("Bool[]", max(self.size, 1))
        self._keep = []
        for i, (obj, data) in enumerate(pairs):
            self[i] = (obj, data)

    def __len__(self) -> int:
        return self.size

    def __setitem__(self, index: int, event: tuple[Any, Any]) -> None:
        if not 0 <= index < self.size:
            raise IndexError(f"event {index} is outside a batch of {self.size}")
        obj, data = event
        self._keep.append(event)  # the caller's cdata must outlive the batch
        self._events[index].object = _as_pointer(obj)
        self._events[index].data = _as_pointer(data)

    @property
    def results(self) -> list[bool]:
        """Each event's result from the last run."""
        return [r == 1 for r in ffi.unpack(self._results, self.size)]

    def _run(self, hook_handle) -> int:
        return lib.phn_run_many(hook_handle, self._events, self.size, self._results)


class Bus:
    """One native hook bus with its DCCore and DCHooks tables."""

    MAX_BUSES = lib.PHN_MAX_BUSES
    _GRAVEYARD_SWEEP = 64
    _ERRORS_KEPT = 1000

    def __init__(self, host_name: str = "pyhost"):
        self._bus = lib.phn_bus_new(host_name.encode())
        if self._bus == ffi.NULL:
            raise BusError(
                f"cannot create a hook bus: at most {self.MAX_BUSES} can be alive at once"
            )
        self._hooks: dict[str, Hook] = {}
        self._graveyard: list[_PythonSubscriber] = []
        self._python_subs: set[_PythonSubscriber] = set()
        self.subscriber_errors: collections.deque[SubscriberError] = collections.deque(
            maxlen=self._ERRORS_KEPT
        )
        # The host's event stream plugs in here (a later seam); None keeps the deque only.
        self.on_subscriber_error: Optional[Callable[[SubscriberError], None]] = None

    # -- tables plugins receive ----------------------------------------------------------
    @property
    def core(self):
        """The ``DCCore*`` handed to plugins."""
        return lib.phn_bus_core(self._require())

    @property
    def hooks_table(self):
        """The ``DCHooks*`` interface table."""
        return lib.phn_bus_hooks(self._require())

    @property
    def native(self):
        """The ``phn_bus*`` for code that calls the native API directly."""
        return self._require()

    # -- hooks ---------------------------------------------------------------------------
    def create_hook(self, guid: str, default: Optional[Subscriber] = None) -> Hook:
        """Creates a hook; raises BusError if the guid exists.

        ``default`` (a Python callable, or a ``DCHOOK`` cdata) runs only when the hook has no
        subscribers at all.
        """
        def_proc, keep = ffi.NULL, None
        if default is not None:
            if isinstance(default, ffi.CData):
                def_proc = default
            else:
                keep = ffi.callback("DCHOOK", _default_proc_adapter(self, guid, default))
                def_proc = keep
        handle = lib.phn_create_hook(self._require(), guid.encode(), def_proc)
        if handle == ffi.NULL:
            raise BusError(f"hook {guid!r} already exists")
        hook = Hook(self, guid, handle, keep)
        self._hooks[guid] = hook
        return hook

    def hook(self, guid: str) -> Optional[Hook]:
        """The hook with this guid, whoever created it, or None."""
        known = self._hooks.get(guid)
        handle = lib.phn_find_hook(self._require(), guid.encode())
        if handle == ffi.NULL:
            return None
        if known is not None and known.handle == handle:
            return known
        return Hook(self, guid, handle)

    def bind(self, guid: str, fn: Subscriber, common: Any = None) -> Subscription:
        """Subscribes ``fn`` (Python callable or ``DCHOOK`` cdata) to an existing hook."""
        if isinstance(fn, ffi.CData):
            handle = lib.phn_bind_hook(self._require(), guid.encode(), fn, _as_pointer(common))
            python = None
        else:
            python = _PythonSubscriber(fn, common, self, guid)
            handle = lib.phn_bind_hook(
                self._require(), guid.encode(), PYTHON_SUBSCRIBER, python.call.common
            )
        if handle == ffi.NULL:
            raise BusError(f"cannot bind to hook {guid!r}: no such hook")
        if python is not None:
            self._python_subs.add(python)
        return Subscription(self, guid, handle, python)

    def run(self, guid: str, obj: Any = None, data: Any = None) -> bool:
        """Fires the hook named ``guid``; raises BusError if it does not exist."""
        hook = self.hook(guid)
        if hook is None:
            raise BusError(f"cannot run hook {guid!r}: no such hook")
        return hook.run(obj, data)

    # -- interfaces and plugins (DCCore) --------------------------------------------------
    def register_interface(self, guid: str, table) -> Any:
        """Registers an interface table; None if the guid is already registered."""
        handle = lib.phn_register_interface(self._require(), guid.encode(), table)
        return None if handle == ffi.NULL else handle

    def query_interface(self, guid: str, version: int):
        """The registered table (``DCInterface*``) or None (unknown, or older than asked)."""
        table = lib.phn_query_interface(self._require(), guid.encode(), version)
        return None if table == ffi.NULL else table

    def release_interface(self, handle) -> bool:
        return lib.phn_release_interface(self._require(), handle) == 1

    def set_plugin_present(self, guid: str, present: bool) -> None:
        """Keeps ``has_plugin`` in step with the loader."""
        if lib.phn_bus_set_plugin(self._require(), guid.encode(), int(present)) != 0:
            raise MemoryError("out of memory recording a loaded plugin")

    def has_plugin(self, guid: str) -> bool:
        return lib.phn_has_plugin(self._require(), guid.encode()) == 1

    @property
    def host_name(self) -> str:
        return ffi.string(lib.phn_host_name(self._require())).decode()

    # -- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        """Frees the native bus. No dispatch may be running; plugins must be unloaded."""
        if self._bus is not None:
            lib.phn_bus_free(self._bus)
            self._bus = None
            self._hooks.clear()
            self._graveyard.clear()
            self._python_subs.clear()

    def __enter__(self) -> "Bus":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _require(self):
        if self._bus is None:
            raise BusError("the bus is closed")
        return self._bus

    # -- Python subscriber bookkeeping ----------------------------------------------------
    def _retire_python(self, sub: _PythonSubscriber) -> None:
        """Keeps a released subscriber's handle alive while a dispatch may still see it."""
        self._python_subs.discard(sub)
        self._graveyard.append(sub)
        if len(self._graveyard) >= self._GRAVEYARD_SWEEP and self._bus is not None:
            # Nothing retired is still waiting: no dispatch can hold any of these handles.
            if lib.phn_bus_pending_reclaim(self._bus) == 0:
                self._graveyard.clear()

    def _subscriber_failed(self, sub: _PythonSubscriber, exc: BaseException) -> None:
        if isinstance(exc, KeyboardInterrupt):  # never swallowed: raised again once C returns
            redeliver()
            return
        name = getattr(sub.fn, "__qualname__", repr(sub.fn))
        error = SubscriberError(sub.hook_guid, name, exc,
                                "".join(traceback.format_exception(type(exc), exc,
                                                                   exc.__traceback__)))
        log.error("subscriber %s of hook %s raised %r", name, sub.hook_guid, exc,
                  exc_info=exc)
        self.subscriber_errors.append(error)
        handler = self.on_subscriber_error
        if handler is not None:
            try:
                handler(error)
            except Exception:  # a broken handler must not break dispatch either
                log.exception("on_subscriber_error handler failed")


def _default_proc_adapter(bus: Bus, guid: str, fn: Subscriber):
    """Wraps a Python default procedure as a DCHOOK body with the subscriber rules."""
    holder = _PythonSubscriber(fn, None, bus, guid)

    def default_proc(obj, data, common, brk):
        return _call_python(holder, obj, data, brk)

    return default_proc
