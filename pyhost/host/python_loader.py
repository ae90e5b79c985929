"""Opening Python plugins: the opener of kind ``"python"`` (see ``pyhost.host.OPENERS``).

A Python plugin comes as one of:

``/path/to/plugin.py``
    a single module;
``/path/to/package/`` (or its ``__init__.py``)
    a package directory; its modules import each other relatively (``from . import x``);
``entry-point:NAME``
    the entry point ``NAME`` in the group ``pyhost.plugins`` of an installed distribution
    (``[project.entry-points."pyhost.plugins"] NAME = "package.module:plugin"``), imported
    the usual way, by its own module name.

A file or package is imported afresh each time it is opened, under a private module name
(``_pyhost_plugin_<n>_<stem>``), and dropped from ``sys.modules`` when the host closes it, so
a disable/enable or an update runs the new code, as dlclose/dlopen do for a library. An
entry point's module is imported once per process (as Python does); its :class:`Plugin` is
reused across loads.

The module must hold exactly one :class:`pyhost.plugin.Plugin` at its top level (an entry
point may also name the Plugin object itself). Functions marked ``@hook`` at the top level of
that module are its subscribers.

Everything that goes wrong while opening (the file is missing, does not import, declares no
plugin or a bad one) is a :class:`~pyhost.loader.PluginError` with one sentence; the host
reports it as a ``PluginFailed`` event.

:func:`attach` gives a host the ``pyhost.host.Runtime`` interface its Python plugins use to
report exceptions (as ``SubscriberException`` / ``PluginFailed`` events) and to know when a
released subscriber can be freed. The ``.dcext`` convention (which file of a package is a
Python plugin's entry) is :mod:`pyhost.python_package`; pyhost.dcext and pyhost.packages
apply it and open the extracted entry with :func:`open_plugin`.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
import logging
import os
import re
import sys
import weakref
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

from pyhost.abi._ffi import lib
from pyhost.abi.interfaces import ExportedTable, export
from pyhost.abi.runtime import HostRuntime
from pyhost.host.file_checks import check_regular
from pyhost.host.loader import PluginError, PluginMeta
from pyhost.plugin import Plugin
from pyhost.plugin.settings import Int64

ENTRY_POINT_GROUP = "pyhost.plugins"
ENTRY_POINT_PREFIX = "entry-point:"
KIND = "python"

_counter = itertools.count(1)
# Module name -> the name of the Python plugin it belongs to, kept after the plugin is
# closed: a thread a plugin left running is named by its code's module.
_module_plugins: dict[str, str] = {}


def plugin_of_module(module_name: str) -> Optional[str]:
    """The name of the Python plugin whose code lives in ``module_name`` (or a submodule
    of it), or None."""
    while module_name:
        name = _module_plugins.get(module_name)
        if name is not None:
            return name
        module_name = module_name.rpartition(".")[0]
    return None


class PythonPlugin:
    """The host's view of an opened Python plugin (the loader's ``Plugin`` protocol)."""

    kind = KIND

    def __init__(self, path: Path, plugin: Plugin, modules: tuple[str, ...] = ()):
        self.path = path
        self.plugin = plugin
        self._modules = modules  # private module names to drop at close

    @property
    def meta(self) -> PluginMeta:
        return self.plugin.meta

    def main(self, state: int, core: Any, data: Any = None) -> bool:
        try:
            return self.plugin._main(state, core, data)
        except (SystemExit, GeneratorExit) as exc:
            # The host catches Exception: these would otherwise end the program.
            raise RuntimeError(f"{self.meta.name} called {type(exc).__name__}"
                               f"({getattr(exc, 'code', '')})") from None

    def close(self) -> None:
        self.plugin._closed(refused_unload=self.plugin.loaded)
        for name in self._modules:
            _forget(name)
        self._modules = ()

    def __repr__(self) -> str:
        return f"<PythonPlugin {self.meta.name} from {self.path}>"


# -- opening ------------------------------------------------------------------------------------

def open_plugin(spec: str | os.PathLike[str]) -> PythonPlugin:
    """Opens a Python plugin from a ``.py`` file, a package directory or ``entry-point:NAME``."""
    text = os.fspath(spec)
    if text.startswith(ENTRY_POINT_PREFIX):
        return open_entry_point(text[len(ENTRY_POINT_PREFIX):])
    path = Path(text).expanduser().resolve()
    check_regular(path, "Python plugin", directory_ok=True)  # a FIFO would block the import
    if path.is_dir():
        entry, package = path / "__init__.py", path
        if not entry.is_file():
            raise PluginError(f"{path}: a Python plugin directory needs an __init__.py.")
    elif path.is_file():
        if path.suffix != ".py":
            raise PluginError(f"{path.name} is not a Python plugin (a .py file or a "
                              "package directory).")
        entry, package = path, (path.parent if path.name == "__init__.py" else None)
        if package is not None:
            path = package
    else:
        raise PluginError(f"{path}: no such plugin file.")
    label = path.name
    module_name = f"_pyhost_plugin_{next(_counter)}_{_identifier(path.stem)}"
    module = _import_file(module_name, entry, package, label)
    try:
        plugin = find_plugin(module, label)
        plugin.collect(vars(module))
    except BaseException:
        _forget(module_name)
        raise
    _module_plugins[module_name] = plugin.meta.name
    return PythonPlugin(path, plugin, (module_name,))


def _identifier(stem: str) -> str:
    return re.sub(r"\W", "_", stem) or "plugin"


def _import_file(module_name: str, entry: Path, package: Optional[Path], label: str
                 ) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        module_name, entry,
        submodule_search_locations=[str(package)] if package is not None else None)
    if spec is None or spec.loader is None:
        raise PluginError(f"{label} cannot be imported as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        _forget(module_name)
        raise
    except BaseException as exc:
        _forget(module_name)
        raise PluginError(f"{label} could not be imported: {_one_line(exc)}.") from exc
    return module


def _forget(module_name: str) -> None:
    prefix = module_name + "."
    for key in [k for k in sys.modules if k == module_name or k.startswith(prefix)]:
        del sys.modules[key]


def _one_line(exc: BaseException) -> str:
    message = " ".join(str(exc).split()).rstrip(".")
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def find_plugin(obj: Any, label: str) -> Plugin:
    """The one Plugin of a module (or the object itself if it is a Plugin)."""
    if isinstance(obj, Plugin):
        return obj
    namespace = vars(obj) if isinstance(obj, ModuleType) else {}
    found: list[Plugin] = []
    for value in namespace.values():
        if isinstance(value, Plugin) and not any(value is f for f in found):
            found.append(value)
    if not found:
        raise PluginError(f"{label} declares no plugin (it needs a top-level "
                          "pyhost.plugin.Plugin(...)).")
    if len(found) > 1:
        names = ", ".join(p.meta.name for p in found)
        raise PluginError(f"{label} declares {len(found)} plugins ({names}); "
                          "one module is one plugin.")
    return found[0]


# -- installed distributions --------------------------------------------------------------------

def entry_points() -> list[importlib.metadata.EntryPoint]:
    """The ``pyhost.plugins`` entry points of the installed distributions."""
    return sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                  key=lambda ep: ep.name)


def open_entry_point(name: str) -> PythonPlugin:
    """Opens the plugin an installed distribution declares as entry point ``name``."""
    matches = [ep for ep in entry_points() if ep.name == name]
    label = f"{ENTRY_POINT_PREFIX}{name}"
    if not matches:
        raise PluginError(f"No installed distribution declares the entry point {name!r} "
                          f"in the group {ENTRY_POINT_GROUP}.")
    if len({ep.value for ep in matches}) > 1:
        raise PluginError(f"Several installed distributions declare the entry point "
                          f"{name!r} in {ENTRY_POINT_GROUP}; uninstall all but one.")
    try:
        obj = matches[0].load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise PluginError(f"{label} could not be imported: {_one_line(exc)}.") from exc
    plugin = find_plugin(obj, label)
    module = obj if isinstance(obj, ModuleType) else sys.modules.get(matches[0].module)
    if module is not None:
        plugin.collect(vars(module))  # the @hook functions of the entry point's module
        _module_plugins[module.__name__] = plugin.meta.name
    if plugin.loaded:
        raise PluginError(f"{plugin.meta.name} ({label}) is already loaded in this process.")
    return PythonPlugin(Path(label), plugin)


def declared_settings(spec: str | os.PathLike[str]) -> dict[str, tuple[str, Any]]:
    """The settings a Python plugin declares (``Plugin(settings={...})``) as
    ``{key: (type, default)}`` in the registry's type names; its module is imported, its
    main is not called."""
    opened = open_plugin(spec)
    try:
        return {key: (_setting_type(value), value)
                for key, value in opened.plugin.settings.defaults.items()}
    finally:
        opened.close()


def _setting_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Int64):
        return "int64"
    if isinstance(value, int):
        return "int" if -2**31 <= value < 2**31 else "int64"
    return "string"


def kind_of(spec: str | os.PathLike[str]) -> Optional[str]:
    """``"python"`` when ``spec`` names a Python plugin (.py, package, entry point)."""
    text = os.fspath(spec)
    if text.startswith(ENTRY_POINT_PREFIX):
        return KIND
    path = Path(text)
    if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").is_file()):
        return KIND
    return None


# -- the host's side ----------------------------------------------------------------------------

class _Runtime(HostRuntime):
    """pyhost.host.Runtime, implemented by the host for its Python plugins."""

    def __init__(self, host: Any):
        self._host = weakref.ref(host)

    def report_exception(self, guid, name, where, what, error, traceback):
        from pyhost.host.events import PluginFailed, SubscriberException
        host = self._host()
        logger = logging.getLogger(f"pyhost.plugin.{name}")
        logger.error("%s raised %s (in %s)", what, error, where)
        logger.debug("%s", traceback)  # shown with --debug
        if host is None:
            return
        if where and where.startswith("ON_"):
            host.events.emit(PluginFailed, guid=guid, name=name, path=None,
                             reason=f"{name} raised {error} in {where}.")
        else:
            host.events.emit(SubscriberException, hook=where or "", subscriber=what or "",
                             plugin=name, error=error or "", traceback=traceback or "")

    def pending_reclaim(self):
        host = self._host()
        if host is None or getattr(host.bus, "_bus", None) is None:
            return 1
        return lib.phn_bus_pending_reclaim(host.bus.native)


def attach(host: Any) -> ExportedTable:
    """Registers pyhost.host.Runtime on the host's bus; the host keeps the returned table."""
    table = export(_Runtime(host))
    if host.bus.register_interface(HostRuntime.guid, table.pointer) is None:
        raise RuntimeError(f"{HostRuntime.guid} is already registered on this bus")
    return table
