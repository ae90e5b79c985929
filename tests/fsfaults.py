"""Real file-system faults for tests: a small tmpfs (a full disk is ENOSPC for real) that
can be remounted read-only (EROFS for real). Mounting needs root (CAP_SYS_ADMIN); without
it the tests that need one are skipped, saying so."""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@contextlib.contextmanager
def small_fs(where: Path, size_kib: int = 1024):
    """A fresh tmpfs of ``size_kib`` KiB mounted on ``where`` (created), unmounted after."""
    where.mkdir(parents=True, exist_ok=True)
    done = _mount("-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs", str(where))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount(where: Path, mode: str) -> None:
    """``mode`` "ro" or "rw"."""
    done = _mount("-o", f"remount,{mode}", str(where))
    assert done.returncode == 0, done.stderr


def fill(where: Path, leave_bytes: int = 0) -> Path:
    """Fills the file system holding ``where`` until at most ``leave_bytes`` are free."""
    filler = where / "filler"
    with open(filler, "wb") as f:
        chunk = b"\0" * 65536
        while True:
            st = os.statvfs(where)
            free = st.f_bavail * st.f_frsize
            if free <= leave_bytes:
                break
            try:
                f.write(chunk[: max(1, min(len(chunk), free - leave_bytes))])
                f.flush()
            except OSError:
                break
    return filler
