"""The house's shape: rooms import only the rooms below them, no module imports another in a
loop (counting imports inside functions and under TYPE_CHECKING), and the import paths of
the flat layout before 0.2 still give the same module objects."""
import ast
import importlib
from pathlib import Path

import pytest

import pyhost
from pyhost import _aliases

PACKAGE = Path(pyhost.__file__).resolve().parent

# Which rooms each room may import (besides itself). Top-level modules (pyhost/__init__,
# __main__, _aliases) may import anything: they only re-export and dispatch.
ALLOWED = {
    "abi": set(),
    "app": set(),
    "client": set(),  # talks to a running host over the network only
    "plugin": {"abi"},
    "host": {"abi", "app", "plugin"},
    "packages": {"abi", "host"},
    "testbench": {"abi", "app", "host"},
    "server": {"abi", "app", "host", "plugin", "packages", "testbench"},
    "bench": {"abi", "app", "host", "plugin", "packages", "server", "testbench"},
    "cli": {"abi", "app", "host", "plugin", "packages", "server", "testbench", "bench",
            "client"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if not (path.parent / "__init__.py").is_file() and path.parent != PACKAGE:
            continue  # not pyhost's code: e.g. the Python sample plugins an install ships
        if (path.relative_to(PACKAGE).parts[0] not in ALLOWED
                and len(path.relative_to(PACKAGE).parts) > 1):
            continue
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    targets = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for n in names:
            while n and n not in known:
                n = n.rpartition(".")[0]
            if n and n != name and n != "pyhost" and not name.startswith(n + "."):
                targets.add(n)
    return targets


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(m, p, set(modules)) for m, p in modules.items()}


def _room(module: str):
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else None


def test_every_room_is_known():
    rooms = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    rooms.discard("sample_plugins")  # an installed package ships the Python samples there
    assert rooms <= set(ALLOWED), f"rooms without declared arrows: {rooms - set(ALLOWED)}"


def test_rooms_import_only_the_rooms_below_them():
    wrong = []
    for module, targets in _graph().items():
        room = _room(module)
        if room is None:
            continue
        for target in targets:
            other = _room(target)
            if other is not None and other != room and other not in ALLOWED[room]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the arrows: " + ", ".join(sorted(wrong))


def test_no_import_cycles():
    graph = _graph()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


@pytest.mark.parametrize("old,new", sorted(_aliases.OLD_TO_NEW.items()))
def test_old_import_paths_are_the_new_modules(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_documented_public_imports():
    from pyhost import BREAK, HANDLED, Bus  # noqa: F401
    from pyhost.host import Host
    from pyhost.plugin import Plugin, hook  # noqa: F401
    from pyhost.services.app import Application, Hub, HubService  # noqa: F401
    from pyhost.app import Application as App
    assert App is Application
    from pyhost import packages
    assert callable(packages.install) and callable(packages.pack)
    assert Host.__module__ == "pyhost.host.host"
