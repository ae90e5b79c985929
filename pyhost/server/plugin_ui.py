"""Where a plugin's own UI part is, and serving its files safely.

A plugin may ship static files (HTML, scripts, styles, images) that the web page shows in a
sandboxed frame of its own:

- a plugin installed from a ``.dcext`` package: the package's ``File`` entries under
  ``ui/`` (installed beside the library, so ``<version directory>/ui/``);
- a Python plugin that is a package directory: its ``ui/`` directory.

The UI exists when that directory holds an ``index.html``. A plugin installed as a bare
library or a single ``.py`` file has none (the directory beside such a file is the user's,
not the plugin's).
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any, Optional

from pyhost.host import plugin_files

UI_DIR = "ui"
INDEX = "index.html"
MAX_FILE_BYTES = 16 * 1024 * 1024


def ui_dir(host: Any, record: Any) -> Optional[Path]:
    """The plugin's UI directory, or None when it has none."""
    path = Path(record.path)
    candidates = []
    version_dir = plugin_files.version_dir_of(plugin_files.plugins_root(host.home), record.path)
    if version_dir is not None:
        candidates.append(version_dir / UI_DIR)
    if record.kind == "python" and path.is_dir():
        candidates.append(path / UI_DIR)
    for candidate in candidates:
        if (candidate / INDEX).is_file():
            return candidate
    return None


def ui_file(root: Path, relative: str) -> Optional[tuple[Path, str]]:
    """The file ``relative`` of a UI directory and its content type; None when it is not a
    regular file inside ``root`` (``..``, absolute paths and symlinks out are refused)."""
    relative = relative or INDEX
    if "\x00" in relative or "\\" in relative or len(relative) > 1024:
        return None
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." or p.startswith(".") for p in parts):
        return None
    base = root.resolve()
    target = base.joinpath(*parts)
    try:
        real = target.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(base) or not real.is_file() or \
            real.stat().st_size > MAX_FILE_BYTES:
        return None
    kind = mimetypes.guess_type(real.name)[0] or "application/octet-stream"
    return real, kind
