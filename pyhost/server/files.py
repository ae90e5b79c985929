"""JSON files of the home that a running server and the command line both change
(api-users.json, run-api.json, extensions' state and settings): each is written atomically
(a temporary file in the same directory, fsync, rename, the directory synced), so a crash
never leaves half a file, and read-modify-write changes hold an advisory lock (``flock`` of
``<name>.lock`` beside the file), so two writers never lose each other's change."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

try:
    import fcntl
except ImportError:  # not POSIX: callers' in-process locks only
    fcntl = None


def write_json(path: Path, data: Any, mode: Optional[int] = None) -> None:
    """Replaces ``path`` with ``data`` as JSON, atomically; ``mode`` for a new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    try:
        if mode is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError, AttributeError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Holds the advisory lock of ``path`` (other processes' ``locked`` wait for it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_UN)
