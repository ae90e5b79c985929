"""Hooks in Python plugins: ``@hook``, the subscriptions it makes, and hooks a plugin creates.

A subscriber is called by the bridge's C trampoline (:mod:`pyhost.abi.trampoline`): it
hands the function None for a NULL pointer, a ``str`` or an ``int`` where the hook's types
say so, and a typed view made by a small factory for struct pointers; it calls the function
and turns its result into the C answer. An exception never unwinds into C: it is reported
through the plugin and counts as not handled (a KeyboardInterrupt is raised again in the
main thread once C returns: Ctrl-C is never swallowed).
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional

from pyhost.abi._ffi import ffi
from pyhost.abi import trampoline
from pyhost.abi.hook_specs import SPECS as STANDARD_HOOK_SPECS
from pyhost.abi.hook_types import HookTypeError, declare_hook
from pyhost.abi.views import (
    CommandData,
    ConnectionData,
    DataArray,
    HubData,
    QueueData,
    StringData,
    Table,
    TagData,
    UDPData,
    UserData,
    View,
    pointer_of,
)

__all__ = ["HOOK_TYPES", "Hook", "HookError", "PluginDeclarationError", "Subscription", "hook"]

# What a subscriber receives for the object and the data of each standard hook: a view
# class, str (a C string), int (a uint64_t* tick) or None (the raw pointer). The table of
# standard hooks is pyhost.abi.hook_specs.SPECS (docs/abi.md, "Standard hooks").
_KINDS = {"hub": HubData, "user": UserData, "connection": ConnectionData, "udp": UDPData,
          "queue": QueueData, "host": None, "text": str, "tick": int, "tags": TagData,
          "display": StringData, "command": CommandData, "bytes": DataArray, None: None}
HOOK_TYPES: dict[str, tuple[Any, Any]] = {
    spec.guid: (_KINDS[spec.object], _KINDS[spec.data]) for spec in STANDARD_HOOK_SPECS}

_DEFAULT = object()  # "use HOOK_TYPES" in hook(object=..., data=...)

# The kind (pyhost.abi.hook_types) each declared type stands for.
_KIND_OF = {HubData: "hub", UserData: "user", ConnectionData: "connection", UDPData: "udp",
            QueueData: "queue", str: "text", int: "tick", TagData: "tags",
            StringData: "display", CommandData: "command", DataArray: "bytes"}


def declare_types(guid: str, object: Any, data: Any) -> None:
    """Declares what a hook that is not standard carries, from the object= / data= of a
    @hook, so isolated plugins receive it too. Not given = NULL; a raw pointer declares
    nothing."""
    if guid in HOOK_TYPES or (object is _DEFAULT and data is _DEFAULT):
        return
    kinds = []
    for value in (object, data):
        if value is _DEFAULT:
            kinds.append(None)
        elif value in _KIND_OF:
            kinds.append(_KIND_OF[value])
        else:
            return
    try:
        declare_hook(guid, *kinds)
    except HookTypeError as exc:
        logging.getLogger("pyhost.plugin").warning("%s", exc)


class PluginDeclarationError(ValueError):
    """A Plugin(...) declaration or a @hook is malformed."""


class HookError(RuntimeError):
    """A hook could not be created or bound (duplicate guid, unknown hook)."""


# -- declaring hooks --------------------------------------------------------------------------

class _HookSpec:
    __slots__ = ("guid", "fn", "object", "data", "raw")

    def __init__(self, guid: str, fn: Callable, object: Any, data: Any, raw: bool):
        self.guid, self.fn, self.object, self.data, self.raw = guid, fn, object, data, raw


def _types_for(guid: str, object: Any, data: Any) -> tuple[Any, Any]:
    std_object, std_data = HOOK_TYPES.get(guid, (None, None))
    object = std_object if object is _DEFAULT else object
    data = std_data if data is _DEFAULT else data
    for what, value in (("object", object), ("data", data)):
        if value not in (None, str, int) and not (isinstance(value, type)
                                                 and issubclass(value, View)):
            raise PluginDeclarationError(
                f"hook {guid!r}: {what}= must be a view class (HubData, StringData...), "
                f"str, int or None, not {value!r}.")
    return object, data


def hook(guid: str, *, object: Any = _DEFAULT, data: Any = _DEFAULT, raw: bool = False):
    """Marks a function as a subscriber of the hook ``guid``.

    The function is called as ``fn(object, data)``. For the standard hooks both are typed as
    docs/abi.md says (``HOOK_TYPES``); for other hooks they are raw cdata pointers unless
    ``object=`` / ``data=`` name a view class, ``str`` (a C string) or ``int`` (a
    ``uint64_t*``). ``raw=True`` passes the two ``void*`` untouched (the fastest path).

    Module-level functions marked with ``@hook`` in the plugin's entry module are bound for
    the plugin found there; elsewhere use ``@plugin.hook``.
    """
    if not isinstance(guid, str) or not guid:
        raise PluginDeclarationError("@hook needs the hook's guid, e.g. "
                                     "@hook(\"dcpp.chat.onIncomingChat\").")
    types = _types_for(guid, object, data)
    declare_types(guid, object, data)

    def mark(fn: Callable) -> Callable:
        if not callable(fn):
            raise PluginDeclarationError(f"@hook({guid!r}) decorates {fn!r}, "
                                         "which is not callable.")
        specs = fn.__dict__.setdefault("_pyhost_hooks", [])
        specs.append(_HookSpec(guid, fn, types[0], types[1], raw))
        return fn

    return mark


# -- the per-event path ---------------------------------------------------------------------

_new = object.__new__


def _view_factory(cls: type, owner: "Subscription") -> Callable[[Any], View]:
    """Makes a view of ``cls`` around the pointer, without copying or reading anything."""
    def make(pointer):
        view = _new(cls)
        view._p = pointer
        view._c = None
        view._owner = owner
        return view
    return make


def _conversion(cls: Any, owner: "Subscription") -> tuple[int, Optional[Callable]]:
    """How the trampoline hands over a pointer declared as ``cls`` (see _types_for)."""
    if cls is None:
        return trampoline.POINTER, None
    if cls is str:
        return trampoline.TEXT, None
    if cls is int:
        return trampoline.U64, None
    return trampoline.VIEW, _view_factory(cls, owner)


class Subscription:
    """One bound subscriber of a Python plugin; released at unload, or by ``release()``."""

    __slots__ = ("plugin", "guid", "fn", "raw", "handle", "call", "_outs", "__weakref__")

    def __init__(self, plugin: Any, spec: _HookSpec):
        self.plugin = plugin
        self.guid = spec.guid
        self.fn = spec.fn
        self.raw = spec.raw
        self.handle = None
        self._outs: dict[int, Any] = {}   # thread id -> the last StringData.out it set
        if spec.raw:
            okind, oconv, dkind, dconv = trampoline.RAW, None, trampoline.RAW, None
        else:
            okind, oconv = _conversion(spec.object, self)
            dkind, dconv = _conversion(spec.data, self)
        # The `common` the trampoline gets back: the function, the conversions, the report.
        self.call = trampoline.SubscriberCall(spec.fn, self._failed, object_kind=okind,
                                              object_conv=oconv, data_kind=dkind,
                                              data_conv=dconv)

    def _failed(self, exc: BaseException) -> None:
        self.plugin._report(self.guid, _name_of(self.fn), exc)

    # views call these
    def table(self, name: str) -> Table:
        return self.plugin.table(name)

    def keep_out(self, buffer) -> None:
        """Keeps the string this subscriber set as StringData.out on this thread alive, and
        lets the previous one (already copied by the host) go."""
        self._outs[threading.get_ident()] = buffer

    def release(self) -> int:
        """Unsubscribes; returns the subscribers the hook has left (0 if already gone)."""
        return self.plugin._release_subscription(self)

    @property
    def active(self) -> bool:
        return self.handle is not None

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"<Subscription {name} on {self.guid}{'' if self.active else ' (released)'}>"


def unknown_hook_hint(guid: str) -> str:
    """" (did you mean dcpp.chat.onIncomingChat?)" for a guid close to a standard hook's,
    else ""."""
    import difflib
    close = difflib.get_close_matches(guid, list(HOOK_TYPES), 1, 0.8)
    return f" (did you mean {close[0]}?)" if close else ""


def _name_of(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


# -- hooks this plugin creates ----------------------------------------------------------------

class Hook:
    """A hook created by this plugin; only its creator can fire it (``run``)."""

    def __init__(self, plugin: Any, guid: str, default: Optional[Callable]):
        self.plugin = plugin
        self.guid = guid
        self.default = default
        self.handle = None
        self._default_cb = None

    def run(self, object: Any = None, data: Any = None) -> bool:
        """Fires the hook with ``DCHooks.run_hook``; True when a subscriber handled it.

        ``object`` and ``data`` may be views, cdata pointers, None (NULL) or, for data,
        a ``str`` (passed as a C string for the duration of the call).
        """
        if self.handle is None:
            raise HookError(f"hook {self.guid!r} is not created (the plugin is not loaded)")
        if isinstance(data, str):
            data = ffi.new("char[]", data.encode("utf-8"))
        if isinstance(object, str):
            object = ffi.new("char[]", object.encode("utf-8"))
        return self.plugin._dchooks.run_hook(self.handle, pointer_of(object),
                                             pointer_of(data)) == 1

    def __repr__(self) -> str:
        return f"<Hook {self.guid}{'' if self.handle is not None else ' (not created)'}>"
