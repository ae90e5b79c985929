"""The Python face of the bridge's C half (pyhost/abi/_bridge.c): Python subscribers as
DCHOOKs, and the ``run()`` builtin of each hook.

Every Python subscriber, whether bound with :meth:`pyhost.abi.bus.Bus.bind` or declared with
a Python plugin's ``@hook``, is the same C function, :data:`PYTHON_SUBSCRIBER`, bound with a
:class:`SubscriberCall` as its ``common``: a small C struct that says which callable to call,
how to hand it the event's object and data pointers, and where an exception goes. The C
side calls the function with CPython's vectorcall, so an event costs the GIL and one Python
call, with no cffi callback machinery and no per-event cdata unless the subscriber asked for
a pointer.

The struct holds borrowed pointers (``id()`` is the object's address in CPython, which the
compiled module is built for): a :class:`SubscriberCall` keeps every object it points to
alive, and its owner keeps it alive until no dispatch can still see the subscriber.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from pyhost.abi._ffi import ffi, lib

__all__ = ["PYTHON_SUBSCRIBER", "RAW", "POINTER", "TEXT", "U64", "VIEW", "SubscriberCall",
           "runner"]

# How a subscriber receives the event's object or data (see _bridge.c).
RAW = lib.PHPY_RAW          # the void* cdata, NULL included
POINTER = lib.PHPY_PTR      # the void* cdata, None for NULL
TEXT = lib.PHPY_TEXT        # str from a UTF-8 C string, None for NULL
U64 = lib.PHPY_U64          # int read from a uint64_t*, None for NULL
VIEW = lib.PHPY_VIEW        # conv(cdata), None for NULL

_VOIDP = ffi.typeof("void*")


def _address(value: Any):
    return ffi.NULL if value is None else ffi.cast("void*", id(value))


_exports: dict[str, Any] = {}
if lib.phpy_init(_address(_exports), _address(_VOIDP), _address(ffi.NULL)) != 0:
    raise ImportError("pyhost: the compiled bridge could not be set up")

#: ``runner(handle_as_int)`` -> the ``run(obj=None, data=None)`` builtin of that hook.
runner: Callable[[int], Callable[..., bool]] = _exports["runner"]

#: The DCHOOK behind every Python subscriber; its ``common`` is a SubscriberCall.
PYTHON_SUBSCRIBER = lib.phpy_hook_proc


@ffi.def_extern()
def _pyhost_thread_attach():
    """Nothing to do: calling it is what gives a native thread its Python thread state."""


class SubscriberCall:
    """One Python subscriber as the trampoline sees it (a ``phpy_sub``).

    ``fn`` is called as ``fn(object, data)``, or ``fn(object, data, extra)`` when
    ``nargs`` is 3; ``object_kind`` and ``data_kind`` say how each pointer is handed over
    (RAW, POINTER, TEXT, U64, or VIEW with ``object_conv``/``data_conv`` making the view);
    ``report(exc)`` receives any exception fn raises (the event then counts as not handled).
    """

    __slots__ = ("struct", "common", "_refs")

    def __init__(self, fn: Callable, report: Optional[Callable[[BaseException], Any]], *,
                 nargs: int = 2, extra: Any = None, object_kind: int = RAW,
                 data_kind: int = RAW, object_conv: Optional[Callable] = None,
                 data_conv: Optional[Callable] = None):
        if nargs not in (2, 3):
            raise ValueError("a subscriber takes 2 or 3 arguments")
        for kind, conv in ((object_kind, object_conv), (data_kind, data_conv)):
            if kind not in (RAW, POINTER, TEXT, U64, VIEW) or (kind == VIEW) != callable(conv):
                raise ValueError(f"bad conversion {kind!r} / {conv!r}")
        s = ffi.new("phpy_sub*")
        s.fn = _address(fn)
        s.extra = ffi.cast("void*", id(extra)) if nargs == 3 else ffi.NULL
        s.report = _address(report)
        s.object_conv = _address(object_conv)
        s.data_conv = _address(data_conv)
        s.nargs = nargs
        s.object_kind = object_kind
        s.data_kind = data_kind
        self.struct = s
        self.common = ffi.cast("void*", s)     # what bind_hook gets as pCommon
        # Everything the struct points to lives as long as this object does.
        self._refs = (fn, extra, report, object_conv, data_conv)
