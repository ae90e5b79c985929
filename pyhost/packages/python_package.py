"""How a .dcext package carries a Python plugin (docs/python-plugins.md, ".dcext packages").

The dcext schema is fixed: ``Plugin`` is compulsory and its ``Platform`` is one of four
codes. The convention that keeps a package valid: **a package holds a Python plugin when
the ``Plugin`` entry chosen for the host names a ``.py`` file**. The package lists the same
entry file under every platform code (Python is platform-independent); the other modules of
a package plugin are platform-independent ``File`` entries, installed at their relative
paths next to it. A compiled library for the host's own platform code wins over a ``.py``
entry; a host whose platform has no code (or whose code is not listed) takes any ``Plugin``
entry naming a ``.py`` file.

Pure Python (no native code), so :mod:`pyhost.dcext` can use it while validating.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Mapping, Optional

from pyhost.host.binary import BinaryInfo

PYTHON_SUFFIX = ".py"


class PythonEntryError(ValueError):
    """A package names a Python entry it does not hold, or an unsafe one; one sentence."""


def is_python_entry(path: str) -> bool:
    """Whether a ``Plugin`` path of info.xml names a Python plugin's entry."""
    return path.endswith(PYTHON_SUFFIX)


def python_entry(info: Any, names: Iterable[str], platform: Optional[str] = None
                 ) -> Optional[str]:
    """The archive path of a package's Python entry for ``platform``, or None when the host
    loads a compiled library from it (or nothing at all).

    ``info`` is the parsed info.xml's plugins: a mapping platform code -> path, a list of
    (platform, path) pairs, or an object with such a ``plugins`` attribute. ``names`` are the
    member names of the archive. Raises PythonEntryError when the entry is not in the
    archive or is not a safe relative path.
    """
    plugins = getattr(info, "plugins", info)
    pairs = list(plugins.items()) if isinstance(plugins, Mapping) else \
        [tuple(p) for p in plugins]
    own = [path for code, path in pairs if platform is not None and code == platform]
    if own and not is_python_entry(own[0]):
        return None  # the host's own platform has a compiled library: that one wins
    candidates = own or [path for _, path in pairs if is_python_entry(path)]
    if not candidates or not is_python_entry(candidates[0]):
        return None
    entry = candidates[0]
    pure = PurePosixPath(entry)
    if pure.is_absolute() or ".." in pure.parts or "\\" in entry:
        raise PythonEntryError(f"The Python entry {entry!r} of this package is not a "
                               "relative path inside the archive.")
    if entry not in set(names):
        raise PythonEntryError(f"The package names {entry!r} as its Python plugin, but the "
                               "archive has no such file.")
    return entry


def installed_entry(directory: str | Path, entry: str) -> Path:
    """What to give the opener once a package is extracted into ``directory``: the module
    file, or the package directory when the entry is an ``__init__.py``."""
    path = Path(directory).joinpath(*PurePosixPath(entry).parts)
    return path.parent if path.name == "__init__.py" else path


@dataclass(frozen=True)
class PythonSource(BinaryInfo):
    """What a ``.py`` Plugin entry is, in the place of a binary's description."""

    format: str = "python"
    bits: int = 0
    machine: str = "any"
    platform: Optional[str] = None
    is_shared_library: bool = True
    plugin_init_symbol: Optional[str] = None

    def describe(self) -> str:
        return "Python source (runs on any platform)"


def python_source(platform: str) -> PythonSource:
    """The description of a ``.py`` Plugin entry declared for ``platform``."""
    return PythonSource(platform=platform)
