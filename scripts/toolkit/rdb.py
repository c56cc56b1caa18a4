"""Read the string keys of an RDB file (the format of ``dump.rdb``).

The embedded fakeredis server cannot load RDB files itself, so this small reader
gives it the same starting keys a real ``redis-server`` loads. It understands what
``redis-server`` writes for plain string keys (raw, integer-encoded and LZF-compressed
values, with or without expiry) and refuses other value types with a clear error.
"""

from __future__ import annotations

import struct
from pathlib import Path

_OP_MODULE_AUX, _OP_IDLE, _OP_FREQ, _OP_AUX = 0xF7, 0xF8, 0xF9, 0xFA
_OP_RESIZEDB, _OP_EXPIRETIME_MS, _OP_EXPIRETIME, _OP_SELECTDB, _OP_EOF = (
    0xFB,
    0xFC,
    0xFD,
    0xFE,
    0xFF,
)
_TYPE_STRING = 0


class RdbError(ValueError):
    """The file is not an RDB file this reader understands."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise RdbError("RDB file ends too early")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def length(self) -> tuple[int, bool]:
        """Return (value, is_special_encoding)."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return struct.unpack(">I", self.take(4))[0], False
        if first == 0x81:
            return struct.unpack(">Q", self.take(8))[0], False
        raise RdbError(f"unknown length encoding 0x{first:02x}")

    def string(self) -> bytes:
        size, special = self.length()
        if not special:
            return self.take(size)
        if size == 0:
            return str(struct.unpack("<b", self.take(1))[0]).encode()
        if size == 1:
            return str(struct.unpack("<h", self.take(2))[0]).encode()
        if size == 2:
            return str(struct.unpack("<i", self.take(4))[0]).encode()
        if size == 3:
            compressed_len, _ = self.length()
            plain_len, _ = self.length()
            return _lzf_decompress(self.take(compressed_len), plain_len)
        raise RdbError(f"unknown string encoding {size}")


def _lzf_decompress(data: bytes, expected: int) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            out += data[i : i + ctrl + 1]
            i += ctrl + 1
            continue
        length = ctrl >> 5
        if length == 7:
            length += data[i]
            i += 1
        ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        for _ in range(length + 2):
            out.append(out[ref])
            ref += 1
    if len(out) != expected:
        raise RdbError("corrupt LZF string in RDB file")
    return bytes(out)


def read_string_keys(path: str | Path) -> dict[bytes, bytes]:
    """Return the string keys of database 0 of the RDB file at ``path``."""
    reader = _Reader(Path(path).read_bytes())
    if reader.take(5) != b"REDIS":
        raise RdbError(f"{path} is not an RDB file (no REDIS magic)")
    reader.take(4)  # version digits
    keys: dict[bytes, bytes] = {}
    db = 0
    while True:
        op = reader.byte()
        if op == _OP_EOF:
            return keys
        if op == _OP_AUX:
            reader.string()
            reader.string()
        elif op == _OP_SELECTDB:
            db, _ = reader.length()
        elif op == _OP_RESIZEDB:
            reader.length()
            reader.length()
        elif op == _OP_EXPIRETIME_MS:
            reader.take(8)
        elif op == _OP_EXPIRETIME:
            reader.take(4)
        elif op == _OP_IDLE:
            reader.length()
        elif op == _OP_FREQ:
            reader.take(1)
        elif op == _OP_MODULE_AUX:
            raise RdbError("RDB files with module data are not supported")
        elif op == _TYPE_STRING:
            key = reader.string()
            value = reader.string()
            if db == 0:
                keys[key] = value
        else:
            raise RdbError(
                f"value type {op} is not supported by the embedded server (strings only)"
            )
