"""Import paths of pyhost before its rooms existed (0.1), kept working as aliases.

``import pyhost.world`` gives the module now at ``pyhost.app.world`` (the same object, not a
copy), so code and docs written for the flat layout keep running. New code should use the
new paths; the table says where each module went.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

OLD_TO_NEW = {
    "pyhost._ffi": "pyhost.abi._ffi",
    "pyhost.bus": "pyhost.abi.bus",
    "pyhost.views": "pyhost.abi.views",
    "pyhost.interfaces": "pyhost.abi.interfaces",
    "pyhost.standard_hooks": "pyhost.abi.hook_specs",
    "pyhost.paths": "pyhost.abi.paths",
    "pyhost.services": "pyhost.host.services",
    "pyhost.services.app": "pyhost.app.application",
    "pyhost.services.app_tables": "pyhost.host.services.app_tables",
    "pyhost.services.config": "pyhost.host.services.config",
    "pyhost.services.log": "pyhost.host.services.log",
    "pyhost.world": "pyhost.app.world",
    "pyhost.loader": "pyhost.host.loader",
    "pyhost.python_loader": "pyhost.host.python_loader",
    "pyhost.plugin_core": "pyhost.host.plugin_core",
    "pyhost.registry": "pyhost.host.registry",
    "pyhost.events": "pyhost.host.events",
    "pyhost.timers": "pyhost.host.timers",
    "pyhost.binary": "pyhost.host.binary",
    "pyhost.dcext": "pyhost.packages.dcext",
    "pyhost.python_package": "pyhost.packages.python_package",
    "pyhost.replay": "pyhost.testbench.replay",
    "pyhost.commands": "pyhost.cli",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)  # the real module, already initialised

    def exec_module(self, module) -> None:
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        new = OLD_TO_NEW.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


def install() -> None:
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        # First in line: otherwise the path finder would load a second copy of a module
        # under its old name through an aliased parent package (pyhost.services.*).
        sys.meta_path.insert(0, _AliasFinder())
