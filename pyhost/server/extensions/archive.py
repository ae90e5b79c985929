"""Unpacking an extension package safely: a .tgz in ``npm pack``'s layout (one top
directory, usually ``package/``, holding package.json), or a directory.

Refused: members with absolute paths, ``..``, backslashes or NUL; symbolic and hard links,
devices and FIFOs; members outside the single top directory; a member listed twice; archives
over the size and count limits (an archive bomb stops when the limit is reached, not after).
Files are written by pyhost itself (never by ``tarfile.extract``) into a fresh directory,
with mode 0644, or 0755 when the archive marks them executable.

A directory source is copied the same way; in it, a symbolic link whose target stays inside
the directory is copied as a link (``node_modules/.bin`` has such links), any other is
refused.
"""
from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pyhost.server.extensions.package import PackageError

MiB = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    max_archive: int = 64 * MiB       # the .tgz file
    max_members: int = 20_000         # files and directories
    max_member: int = 128 * MiB       # one file, unpacked
    max_total: int = 256 * MiB        # everything, unpacked


DEFAULT_LIMITS = ArchiveLimits()
_CHUNK = 256 * 1024


def unpack_tgz(source: Path, dest: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> Path:
    """Unpacks into ``dest`` (an empty directory); returns the package directory (the single
    top directory). PackageError with the reason otherwise."""
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise PackageError(f"Cannot read {source}: {exc.strerror or exc}.") from None
    if not source.is_file():
        raise PackageError(f"{source} is not a file.")
    if size > limits.max_archive:
        raise PackageError(f"The package is larger than {limits.max_archive // MiB} MiB.")
    try:
        archive = tarfile.open(source, "r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        # "r:*" tried every compression: its error lists each attempt, one per line
        reason = "neither a gzip-compressed nor a plain tar archive" \
            if isinstance(exc, tarfile.ReadError) and "\n" in str(exc) else _reason(exc)
        raise PackageError(f"{source.name} is not a .tgz package ({reason}).") from None
    top = None
    total = members = 0
    with archive:
        try:
            for member in archive:
                members += 1
                if members > limits.max_members:
                    raise PackageError(f"The package has more than {limits.max_members} "
                                       "entries.")
                parts = _parts(member.name)
                if not parts:
                    continue  # "." or "./"
                kind = _kind(member)
                if kind is not None:
                    raise PackageError(f"The package holds {kind} {_show(member.name)}: "
                                       "refused.")
                if top is None:
                    top = parts[0]
                elif parts[0] != top:
                    raise PackageError("The package must hold one top directory (found "
                                       f"{_show(top)} and {_show(parts[0])}).")
                if len(parts) == 1:
                    if member.isdir():
                        continue
                    raise PackageError(f"The package must hold one top directory, not the "
                                       f"file {_show(member.name)}.")
                target = dest.joinpath(*parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if member.size > limits.max_member:
                    raise PackageError(f"{_show(member.name)} is larger than "
                                       f"{limits.max_member // MiB} MiB.")
                total += member.size
                if total > limits.max_total:
                    raise PackageError(f"The package unpacks to more than "
                                       f"{limits.max_total // MiB} MiB.")
                stream = archive.extractfile(member)
                if stream is None:
                    raise PackageError(f"Cannot read {_show(member.name)} in the package.")
                _write(target, stream, member.size, member.mode & 0o111 != 0, member.name)
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            if isinstance(exc, PackageError):
                raise
            raise PackageError(f"The package is damaged ({_reason(exc)}).") from None
    if top is None:
        raise PackageError("The package is empty.")
    return dest / top


def copy_directory(source: Path, dest: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> Path:
    """Copies a package directory into ``dest``; returns the copy."""
    root = source.resolve()
    out = dest / "package"
    out.mkdir()
    total = count = 0
    for base, dirs, files in os.walk(root):
        rel = Path(base).relative_to(root)
        if rel == Path("."):
            dirs[:] = [d for d in dirs if d != ".git"]
        for name in sorted(dirs + files):
            count += 1
            if count > limits.max_members:
                raise PackageError(f"The package has more than {limits.max_members} entries.")
            src = Path(base) / name
            target = out / rel / name
            if src.is_symlink():
                _copy_link(src, target, root)
                if name in dirs:
                    dirs.remove(name)  # not walked into: it is a link
                continue
            if name in dirs:
                target.mkdir()
                continue
            if not src.is_file():
                raise PackageError(f"The package holds a special file {_show(str(rel / name))}: "
                                   "refused.")
            size = src.stat().st_size
            total += size
            if size > limits.max_member or total > limits.max_total:
                raise PackageError(f"The package is larger than {limits.max_total // MiB} MiB.")
            with open(src, "rb") as stream:
                _write(target, stream, size, os.access(src, os.X_OK), str(rel / name))
    return out


def _copy_link(src: Path, target: Path, root: Path) -> None:
    link = os.readlink(src)
    resolved = (src.parent / link).resolve()
    if os.path.isabs(link) or not (resolved == root or root in resolved.parents):
        raise PackageError(f"The package holds a symbolic link {_show(str(src.relative_to(root)))} "
                           "that points outside it: refused.")
    os.symlink(link, target)


def _write(target: Path, stream: BinaryIO, size: int, executable: bool, name: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o755 if executable else 0o644)
    except FileExistsError:
        raise PackageError(f"The package lists {_show(name)} twice.") from None
    written = 0
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            written += len(chunk)
            if written > size:
                raise PackageError(f"{_show(name)} is longer than the archive says.")
            out.write(chunk)


def _parts(name: str) -> tuple[str, ...]:
    if "\x00" in name or "\\" in name:
        raise PackageError(f"The package holds a member with a bad name {_show(name)}: "
                           "refused.")
    path = PurePosixPath(name)
    if path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise PackageError(f"The package holds an absolute path {_show(name)}: refused.")
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if ".." in parts:
        raise PackageError(f"The package holds a path that leaves its directory "
                           f"{_show(name)}: refused.")
    return parts


def _kind(member: tarfile.TarInfo) -> str | None:
    if member.issym():
        return "a symbolic link"
    if member.islnk():
        return "a hard link"
    if member.isdev() or member.isfifo():
        return "a device or FIFO"
    if not (member.isreg() or member.isdir()):
        return "a special entry"
    return None


def _show(name: str, limit: int = 100) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in name)
    return repr(clean if len(clean) <= limit else clean[:limit] + "...")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
