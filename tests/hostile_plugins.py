"""Building the hostile plugins of tests/hostile/ (C sources compiled here, with gcc,
against pyhost's SDK header; Python sources copied as they are)."""
from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from pyhost.abi.paths import sdk_include_dir

SOURCES = Path(__file__).resolve().parent / "hostile"


def build(name: str, out_dir: Path, **defines: str) -> Path:
    """Compiles tests/hostile/<name>.c into ``out_dir``; ``defines`` become -D options
    (strings are quoted for C)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "".join(f"-{k}" for k in sorted(defines))
    target = out_dir / f"{name}{suffix}.so"
    flags = [f'-D{key}="{value}"' for key, value in defines.items()]
    done = subprocess.run(["gcc", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror",
                           f"-I{sdk_include_dir()}", *flags, str(SOURCES / f"{name}.c"),
                           "-o", str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return target


def python_plugin(out_dir: Path, name: str, body: str, guid: str, plugin_name: str,
                  **declaration: str) -> Path:
    """A one-file Python plugin ``name``.py: a Plugin(...) declaration then ``body``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = "".join(f", {k}={v}" for k, v in declaration.items())
    path = out_dir / f"{name}.py"
    path.write_text("from pyhost.plugin import *\n"
                    f"plugin = Plugin(guid={guid!r}, name={plugin_name!r}, version=1.0{extra})\n"
                    + textwrap.dedent(body))
    return path
