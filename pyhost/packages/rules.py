"""The rules every package is judged by: size limits, the errors a refusal raises, and how
names and paths are checked and shown in the one-sentence messages."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional, Union

KiB = 1 << 10
MiB = 1 << 20

@dataclass(frozen=True)
class Limits:
    """Bounds every package must stay within; the defaults fit any real DC plugin many times
    over. Sizes are bytes; a ratio is uncompressed size / compressed size."""

    max_package_size: int = 64 * MiB    # the .dcext file itself
    max_entries: int = 1000             # entries in the archive, directories included
    max_name_length: int = 255          # bytes in one entry name
    max_entry_size: int = 64 * MiB      # one entry, uncompressed
    max_total_size: int = 128 * MiB     # all entries, uncompressed
    max_ratio: int = 100                # one entry (checked while it is being inflated)
    max_total_ratio: int = 50           # the whole archive
    ratio_min_size: int = 1 * MiB       # ratios are only checked above this uncompressed size
    max_info_size: int = 256 * KiB      # info.xml, uncompressed

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, not {value!r}.")


DEFAULT_LIMITS = Limits()


class DcextError(ValueError):
    """A package that cannot be used here; the message is one sentence.

    ``code`` names the kind of problem ("not-zip", "encrypted", "dotdot", ...): stable
    identifiers for scripts (``pyhost inspect --json``) and tests.
    """

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class InvalidPackageError(DcextError):
    """The package breaks the format or one of pyhost's rules: no host may install it."""


class NotAZipError(InvalidPackageError):
    """The file is not a ZIP archive at all (a .tar.gz renamed to .dcext, a bare library...)."""


class IncompatiblePackageError(DcextError):
    """A valid package with no plugin for this host's platform."""


def _show(raw: Union[bytes, str]) -> str:
    """A name as it can be printed on one line: non-ASCII and control bytes escaped."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    out = []
    for b in raw:
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C):
            out.append(chr(b))
        elif b == 0x5C:
            out.append("\\")
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"'


def _and(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items) or "nothing"
    return ", ".join(items[:-1]) + " and " + items[-1]


def _one_line(text: str) -> str:
    return " ".join(text.split())


_DRIVE = re.compile(r"^[A-Za-z]:")


def check_path(path: str, *, allow_dir: bool = False) -> Optional[str]:
    """Why ``path`` is not a safe relative path inside a package, or None if it is.

    The answer completes a sentence such as 'entry "x" ...'.
    """
    if not path:
        return "is empty"
    if path.startswith("/"):
        return "is an absolute path"
    if "\\" in path:
        return "contains a backslash (the separator is /)"
    if _DRIVE.match(path):
        return "starts with a drive letter"
    if ":" in path:
        return "contains a colon"
    body = path[:-1] if allow_dir and path.endswith("/") else path
    parts = body.split("/")
    if ".." in parts:
        return 'has a ".." component'
    if any(p in ("", ".") for p in parts):
        return 'is not a normalised path (it has an empty or "." component)'
    return None
