"""Where pyhost's installed files are: the compiled sample plugins and the SDK header."""
from __future__ import annotations

from pathlib import Path

from pyhost.abi import _ffi

# The compiled files are installed in the package's top directory, one above the cffi module
# (in an editable install that is the build's install tree, not the source tree).
INSTALL_DIR = Path(_ffi.__file__).resolve().parent.parent


def sample_plugin(name: str) -> Path:
    """Path of a compiled sample plugin from sample_plugins/, e.g. ``sample_plugin("chat_guard")``."""
    path = INSTALL_DIR / "sample_plugins" / f"{name}.so"
    if not path.is_file():
        raise FileNotFoundError(f"no compiled sample plugin named {name!r} at {path}")
    return path


def sample_plugins() -> dict[str, Path]:
    """Every sample plugin, by name: compiled ones by their stem ("dev_plugin"), Python
    ones by file name ("dev_plugin.py") or package directory name."""
    directory = INSTALL_DIR / "sample_plugins"
    found = {p.stem: p for p in sorted(directory.glob("*.so"))}
    python = directory / "python"
    found.update({p.name: p for p in sorted(python.glob("*.py"))})
    found.update({p.name: p for p in sorted(python.iterdir())
                  if (p / "__init__.py").is_file()} if python.is_dir() else {})
    return found


def sdk_include_dir() -> Path:
    """Directory holding dcplugin.h, for compiling plugins against pyhost's SDK header."""
    return INSTALL_DIR / "include"


def runner() -> Path:
    """The pyhost-runner program that runs an isolated plugin in its own process."""
    path = INSTALL_DIR / "bin" / "pyhost-runner"
    if not path.is_file():
        raise FileNotFoundError(f"the isolation runner is missing ({path}); rebuild pyhost")
    return path
