"""Files given by a user (a plugin, a package, a replay file) are checked before they are
read: a FIFO would block the reader forever, a device such as /dev/zero would feed it
without end. Opening never blocks (O_NONBLOCK), and the type is checked on the opened
descriptor, so nothing can be swapped in between."""
from __future__ import annotations

import os
import stat
from typing import IO

from pyhost.host.errors import PluginError
from pyhost.host.registry.file_kinds import describe


class FileTypeError(PluginError):
    """The path is not a regular file (or directory, where one is allowed); one sentence.
    ``kind`` says what it is instead ("a FIFO (named pipe)", "a character device"...)."""

    def __init__(self, message: str, kind: str = ""):
        super().__init__(message)
        self.kind = kind


def check_regular(path: str | os.PathLike[str], what: str,
                  directory_ok: bool = False) -> os.stat_result | None:
    """The stat of ``path`` when it is a regular file (or a directory, if allowed); None
    when it does not exist (the caller says what that means); FileTypeError otherwise."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileTypeError(f"Cannot read the {what} {os.fspath(path)}: "
                            f"{(exc.strerror or str(exc)).lower()}.") from None
    if stat.S_ISREG(st.st_mode) or (directory_ok and stat.S_ISDIR(st.st_mode)):
        return st
    raise FileTypeError(f"{os.fspath(path)} is {describe(st.st_mode)}, not a file; "
                        f"refusing to read it as a {what}.", describe(st.st_mode))


def open_regular(path: str | os.PathLike[str], what: str, *, binary: bool = True,
                 encoding: str = "utf-8", errors: str = "replace") -> IO:
    """Opens a regular file for reading without ever blocking on it; FileTypeError for
    anything else, OSError when it cannot be opened."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileTypeError(f"{os.fspath(path)} is {describe(st.st_mode)}, not a file; "
                                f"refusing to read it as a {what}.", describe(st.st_mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        if binary:
            return os.fdopen(fd, "rb")
        return os.fdopen(fd, "r", encoding=encoding, errors=errors, newline=None)
    except BaseException:
        os.close(fd)
        raise
