"""What kind of file a path is, in words; standard library only, as the whole registry
package (the crash test's child loads it by path, with no pyhost around it)."""
from __future__ import annotations

import stat


def describe(mode: int) -> str:
    """What kind of file a st_mode is, in words ("a FIFO", "a character device"...)."""
    for test, words in ((stat.S_ISFIFO, "a FIFO (named pipe)"),
                        (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device"),
                        (stat.S_ISSOCK, "a socket"),
                        (stat.S_ISDIR, "a directory")):
        if test(mode):
            return words
    return "not a regular file"
