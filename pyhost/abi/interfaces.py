"""Interface tables described once in Python: exported to C plugins, or imported from them.

An ABI interface is a struct whose first field is ``uint32_t apiVersion`` followed by
function pointers (see docs/abi.md, "Interfaces"). A subclass of :class:`Interface` describes one
such table, slot by slot, in the order of the C struct::

    class Calculator(Interface, guid="sample.python.Calculator", version=1):
        @function("int(int a, int b)")
        def add(self, a, b):
            return a + b

        @function("const char*(int n)")
        def describe(self, n):
            return "even" if n % 2 == 0 else "odd"

is the table a C plugin declares as::

    typedef struct { uint32_t apiVersion; int (DCAPI* add)(int a, int b);
                     const char* (DCAPI* describe)(int n); } Calculator;

The same class serves both directions:

- :func:`export` turns an *instance* into a C function table (one cffi callback per slot)
  that a Python plugin registers with ``DCCore.register_interface`` (``plugin.provide``);
- :func:`bind_table` (``plugin.interface(Calculator)``) reads a table some other plugin
  registered and gives an object whose attributes call its C functions.

Conversions are deliberately few: a ``const char*`` parameter reaches a Python
implementation as ``str`` (None for NULL) and accepts ``str`` (or bytes) when calling into C;
a ``const char*`` result is returned as ``str`` from C, and a Python implementation may
return ``str`` (the host keeps that string alive until the next call of the same function on
the same table). Every other type is plain cffi: ints, floats, and cdata pointers. Types the
compiled bridge knows (every ABI struct: ``HubData*``, ``UserData*``...) can appear in
signatures; plugin-defined structs go as ``void*``.

The table layout is ``apiVersion`` then pointers, so it is built as a ``void*[]`` whose slot 0
holds the version: with natural alignment that is the struct's layout on every platform
pyhost supports (a 32-bit ``uint32_t`` at offset 0, padded to pointer alignment).
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional

from pyhost.abi._ffi import ffi
from pyhost.abi.interrupts import redeliver

log = logging.getLogger("pyhost.interfaces")

_CONST_CHAR = re.compile(r"^const\s+char\s*\*\s*(\w+)?$")


class InterfaceError(Exception):
    """An interface class or table is malformed (bad signature, missing guid...)."""


@dataclass(frozen=True)
class Slot:
    """One function pointer of a table: its name, C signature and string conversions."""

    name: str
    index: int             # 1-based position in the table (0 is apiVersion)
    ctype: str             # e.g. "int(*)(int, int)"
    str_args: tuple[int, ...]  # positions of const char* parameters
    str_result: bool       # the result is const char*
    pointer_result: bool   # the result is a pointer (None is returned as NULL)


def _split_params(text: str) -> list[str]:
    params, depth, current = [], 0, []
    for ch in text:
        if ch == "," and depth == 0:
            params.append("".join(current).strip())
            current = []
            continue
        depth += ch == "("
        depth -= ch == ")"
        current.append(ch)
    last = "".join(current).strip()
    if last:
        params.append(last)
    return [] if params == ["void"] else params


def parse_signature(name: str, index: int, signature: str) -> Slot:
    """``"const char*(int n)"`` -> Slot(ctype="const char*(*)(int)", ...)."""
    text = " ".join(signature.split())
    open_at = text.find("(")
    if open_at <= 0 or not text.endswith(")"):
        raise InterfaceError(f"{name}: {signature!r} is not a C function signature "
                             "such as 'int(int a, int b)'.")
    result = text[:open_at].strip()
    params = _split_params(text[open_at + 1:-1])
    types = params  # cffi accepts parameter names: "int(*)(int a, int b)"
    ctype = f"{result}(*)({', '.join(types) or 'void'})"
    try:
        ffi.typeof(ctype)
    except (ffi.error, TypeError, ValueError) as exc:
        raise InterfaceError(f"{name}: cannot use the C signature {signature!r} ({exc}); "
                             "plugin-defined structs must be passed as void*.") from None
    str_args = tuple(i for i, t in enumerate(types) if _CONST_CHAR.match(t))
    pointer_result = ffi.typeof(ctype).result.kind == "pointer"
    return Slot(name, index, ctype, str_args, bool(_CONST_CHAR.match(result)), pointer_result)


class function:
    """Marks a method of an :class:`Interface` subclass as one slot of the C table."""

    def __init__(self, signature: str):
        self.signature = signature
        self.fn: Optional[Callable] = None
        self.name = ""

    def __call__(self, fn: Callable) -> "function":
        self.fn = fn
        return self

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        if self.fn is None:
            raise NotImplementedError(f"{owner.__name__}.{self.name} has no implementation")
        return self.fn.__get__(instance, owner)


class Interface:
    """Base class of a described interface table (see the module docstring)."""

    guid: ClassVar[str] = ""
    version: ClassVar[int] = 1
    slots: ClassVar[tuple[Slot, ...]] = ()

    def __init_subclass__(cls, guid: Optional[str] = None, version: Optional[int] = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if guid is not None:
            cls.guid = guid
        if version is not None:
            cls.version = int(version)
        # Slots in definition order, the base class's first; a subclass may re-implement a
        # slot with a plain method (it keeps its place and signature).
        names: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                if isinstance(value, function):
                    names[attr] = value.signature
        cls.slots = tuple(parse_signature(n, i + 1, s) for i, (n, s) in enumerate(names.items()))
        if cls.guid and cls.slots:
            _declare_for_isolation(cls)


# -- crossing processes ----------------------------------------------------------------------

def signature_codes(cls: type[Interface]) -> str:
    """The table's signature in the codes of native/isolation/iso_ffi.h ("i:ii;s:i"), which
    lets an isolated plugin (pyhost.host.isolation) call the table across processes, or
    provide it. Raises InterfaceError naming the first slot that cannot cross: only
    integers, floats, doubles and ``const char*`` can (any other pointer means nothing in
    another process)."""
    return ";".join(_slot_codes(slot) for slot in cls.slots)


def _slot_codes(slot: Slot) -> str:
    fn = ffi.typeof(slot.ctype)
    result = "s" if slot.str_result else _code(slot, "the result", fn.result, result=True)
    params = "".join("s" if i in slot.str_args else _code(slot, f"parameter {i + 1}", t)
                     for i, t in enumerate(fn.args))
    return f"{result}:{params}"


def _code(slot: Slot, what: str, ctype, result: bool = False) -> str:
    if ctype.kind == "void" and result:
        return "v"
    if ctype.kind == "enum" and ffi.sizeof(ctype) == 4:
        return "i"
    if ctype.kind == "primitive":
        if ctype.cname == "float":
            return "f"
        if ctype.cname == "double":
            return "d"
        size = ffi.sizeof(ctype)
        try:
            signed = int(ffi.cast(ctype, -1)) < 0
        except (TypeError, ValueError):  # char, floating types cffi does not treat as ints
            signed = None
        codes = {1: "bB", 2: "hH", 4: "iI", 8: "qQ"}.get(size)
        if signed is not None and codes:
            return codes[0] if signed else codes[1]
    raise InterfaceError(f"{slot.name}: {what} ({ctype.cname}) cannot cross processes; "
                         "only integers, floats and const char* can.")


def _declare_for_isolation(cls: type[Interface]) -> None:
    """Tells the native side how to forward this table (first description of a guid wins)."""
    from pyhost.abi._ffi import lib
    try:
        codes = signature_codes(cls)
    except InterfaceError as exc:
        cls.not_forwardable = str(exc)
        return
    cls.not_forwardable = None
    if lib.phn_iso_declare_interface(cls.guid.encode("utf-8"), codes.encode()) == 1:
        log.debug("%s: another description of %s is already declared", cls.__name__, cls.guid)


# -- exporting a Python implementation -----------------------------------------------------

ErrorHandler = Callable[[Interface, str, BaseException], None]


class ExportedTable:
    """The C table of one Python implementation; keep it alive while it is registered."""

    def __init__(self, impl: Interface, on_error: Optional[ErrorHandler] = None):
        cls = type(impl)
        if not cls.guid:
            raise InterfaceError(f"{cls.__name__} declares no guid "
                                 "(class X(Interface, guid=..., version=...)).")
        self.impl = impl
        self.guid = cls.guid
        self.version = cls.version
        self._on_error = on_error
        self._results = threading.local()  # the last string each function returned
        self._callbacks = []
        self.table = ffi.new("void*[]", len(cls.slots) + 1)
        ffi.cast("uint32_t*", self.table)[0] = cls.version
        for slot in cls.slots:
            callback = ffi.callback(slot.ctype, self._python_side(slot),
                                    onerror=self._onerror(slot))
            self._callbacks.append(callback)
            self.table[slot.index] = ffi.cast("void*", callback)

    @property
    def pointer(self):
        """The table as the ``dcptr_t`` register_interface takes."""
        return ffi.cast("void*", self.table)

    def _python_side(self, slot: Slot) -> Callable:
        method = getattr(self.impl, slot.name)
        if not slot.str_args and not slot.pointer_result:
            return method
        str_args, results, name = slot.str_args, self._results, slot.name
        string = ffi.string

        def call(*args):
            if str_args:
                args = list(args)
                for i in str_args:
                    p = args[i]
                    args[i] = string(p).decode("utf-8", "replace") if p else None
            value = method(*args)
            if value is None and slot.pointer_result:
                return ffi.NULL
            if not slot.str_result:
                return value
            if isinstance(value, str):
                value = value.encode("utf-8")
            if isinstance(value, bytes):
                value = ffi.new("char[]", value)
            setattr(results, name, value)  # valid until this function's next call here
            return value

        return call

    def _onerror(self, slot: Slot):
        def onerror(exc_type, exc, tb):
            if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
                redeliver()  # never swallowed: raised again once C returns
                return None
            if self._on_error is not None:
                try:
                    self._on_error(self.impl, slot.name, exc)
                    return None
                except Exception:
                    log.exception("reporting an interface error failed")
            log.error("%s.%s raised", self.guid, slot.name, exc_info=(exc_type, exc, tb))
        return onerror


def export(impl: Interface, on_error: Optional[ErrorHandler] = None) -> ExportedTable:
    """Builds the C function table of ``impl`` (an instance of an Interface subclass)."""
    return ExportedTable(impl, on_error)


# -- importing a table registered in C (or by another Python plugin) ------------------------

class BoundTable:
    """A registered table seen through its Interface description: call its slots by name."""

    def __init__(self, spec: type[Interface], pointer):
        self.spec = spec
        self.pointer = ffi.cast("void*", pointer)
        self.version = ffi.cast("uint32_t*", pointer)[0]
        entries = ffi.cast("void**", pointer)
        for slot in spec.slots:
            fn = entries[slot.index]
            setattr(self, slot.name, None if fn == ffi.NULL else _c_side(slot, fn))

    def __repr__(self) -> str:
        return f"<{self.spec.__name__} table {self.spec.guid} v{self.version}>"


def _c_side(slot: Slot, raw):
    fn = ffi.cast(slot.ctype, raw)
    if not slot.str_args and not slot.str_result:
        return fn
    str_args, string = slot.str_args, ffi.string

    def call(*args):
        if str_args:
            args = list(args)
            for i in str_args:
                if isinstance(args[i], str):
                    args[i] = args[i].encode("utf-8")
                elif args[i] is None:
                    args[i] = ffi.NULL
        result = fn(*args)
        if slot.str_result:
            return string(result).decode("utf-8", "replace") if result else None
        return result

    call.__name__ = slot.name
    return call


def bind_table(spec: type[Interface], pointer) -> Optional[BoundTable]:
    """``spec``'s view of a table pointer; None for NULL."""
    if pointer is None or pointer == ffi.NULL:
        return None
    return BoundTable(spec, pointer)
