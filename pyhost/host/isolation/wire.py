"""Reading what the native isolation code hands to Python (native/isolation/iso_wire.h):
little-endian integers, doubles and length-prefixed strings. A short or malformed blob
raises WireError instead of returning garbage."""
from __future__ import annotations

import struct
from typing import Optional

NULL_STR = 0xFFFFFFFF


class WireError(ValueError):
    """The bytes do not hold what the reader expected."""


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def _take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise WireError(f"truncated at byte {self.pos} (wanted {size} more)")
        value = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += size
        return value

    def u8(self) -> int:
        return self._take("<B")

    def u32(self) -> int:
        return self._take("<I")

    def u64(self) -> int:
        return self._take("<Q")

    def f64(self) -> float:
        return self._take("<d")

    def raw(self) -> Optional[bytes]:
        """A string as bytes (None for NULL), without decoding."""
        n = self.u32()
        if n == NULL_STR:
            return None
        end = self.pos + n
        if end + 1 > len(self.data) or self.data[end] != 0:
            raise WireError(f"bad string at byte {self.pos}")
        value = self.data[self.pos:end]
        self.pos = end + 1
        return value

    def str(self) -> Optional[str]:
        value = self.raw()
        return None if value is None else value.decode("utf-8", "replace")

    def block(self) -> bytes:
        """u32 length, then that many bytes (no NUL)."""
        n = self.u32()
        if self.pos + n > len(self.data):
            raise WireError(f"truncated block at byte {self.pos}")
        value = self.data[self.pos:self.pos + n]
        self.pos += n
        return value
