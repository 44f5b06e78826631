"""A-XDR coding of COSEM data (IEC 61334-6 / DLMS Blue Book 4.1.5): decoding of the types E450 pushes use, and
encoding for what the DLMS client sends (and the simulated meter answers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import struct
from typing import Final

from ..errors import DlmsError, PushProblem
from ..frozen import fast_constructor

NULL: Final = 0x00
ARRAY: Final = 0x01
STRUCTURE: Final = 0x02
BOOLEAN: Final = 0x03
BIT_STRING: Final = 0x04
INT32: Final = 0x05
UINT32: Final = 0x06
OCTET_STRING: Final = 0x09
VISIBLE_STRING: Final = 0x0A
UTF8_STRING: Final = 0x0C
BCD: Final = 0x0D
INT8: Final = 0x0F
INT16: Final = 0x10
UINT8: Final = 0x11
UINT16: Final = 0x12
INT64: Final = 0x14
UINT64: Final = 0x15
ENUM: Final = 0x16
FLOAT32: Final = 0x17
FLOAT64: Final = 0x18
DATE_TIME: Final = 0x19
DATE: Final = 0x1A
TIME: Final = 0x1B

FIXED: Final[dict[int, struct.Struct]] = {
    tag: struct.Struct(fmt)
    for tag, fmt in {
        INT32: ">i",
        UINT32: ">I",
        INT8: ">b",
        INT16: ">h",
        UINT8: ">B",
        UINT16: ">H",
        INT64: ">q",
        UINT64: ">Q",
        ENUM: ">B",
        BCD: ">B",
        FLOAT32: ">f",
        FLOAT64: ">d",
    }.items()
}
NUMERIC: Final = frozenset(FIXED)
_RAW_SIZE: Final = {DATE_TIME: 12, DATE: 5, TIME: 4}
MAX_DEPTH: Final = 16


@dataclass(frozen=True, slots=True)
class Data:
    """One decoded COSEM value with its A-XDR tag.

    ``value`` is ``int``/``float``/``bool`` for numbers, ``bytes`` for octet-strings, bit-strings and raw dates,
    ``str`` for strings, a tuple of :class:`Data` for arrays and structures, ``None`` for null-data.
    """

    tag: int
    value: object

    @property
    def items(self) -> tuple[Data, ...]:
        """The elements of an array or structure (empty for anything else)."""
        return self.value if isinstance(self.value, tuple) else ()

    def is_octets(self, size: int | None = None) -> bool:
        """An octet-string, optionally of exactly ``size`` bytes."""
        return self.tag == OCTET_STRING and (size is None or len(self.value) == size)  # type: ignore[arg-type]


def fixed_size(tag: int) -> int | None:
    """The size of a fixed-length value of type ``tag`` (numbers, dates), ``None`` for other types."""
    fixed = FIXED.get(tag)
    if fixed is not None:
        return fixed.size
    if tag == BOOLEAN:
        return 1
    return _RAW_SIZE.get(tag)


def decode_length(data: bytes, pos: int) -> tuple[int, int]:
    """A-XDR length: one byte below 0x80, else 0x8N followed by N big-endian bytes."""
    if pos >= len(data):
        raise DlmsError(PushProblem.MALFORMED, "length beyond the end of the data")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size == 0 or size > 4 or pos + 1 + size > len(data):
        raise DlmsError(PushProblem.MALFORMED, f"bad length form 0x{first:02x}")
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


_data: Final = fast_constructor(Data)
_COMPOUND: Final = frozenset({ARRAY, STRUCTURE})
_STRINGS: Final = frozenset({OCTET_STRING, VISIBLE_STRING, UTF8_STRING})


def _take(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    end = pos + size
    if end > len(data):
        raise DlmsError(PushProblem.MALFORMED, f"{size} bytes wanted at offset {pos}, {len(data) - pos} left")
    return data[pos:end], end


def decode(data: bytes, pos: int = 0, depth: int = 0) -> tuple[Data, int]:
    """Decode one value at ``pos``; return it and the position after it."""
    if depth > MAX_DEPTH:
        raise DlmsError(PushProblem.MALFORMED, "nesting too deep")
    size = len(data)
    if pos >= size:
        raise DlmsError(PushProblem.MALFORMED, "value beyond the end of the data")
    tag = data[pos]
    if tag not in _COMPOUND:
        tag, value, pos = leaf(data, pos)
        return _data(tag, value), pos
    pos += 1
    first = data[pos] if pos < size else 0x80
    count, pos = (first, pos + 1) if first < 0x80 else decode_length(data, pos)
    if count > size - pos:  # every element takes at least one byte
        raise DlmsError(PushProblem.MALFORMED, f"{count} elements cannot fit in {size - pos} bytes")
    elements = []
    leaves = depth < MAX_DEPTH  # the elements' depth is allowed: leaves may be read here, without recursion
    for _ in range(count):
        child = data[pos] if leaves and pos < size else NULL
        if (fixed := FIXED.get(child)) is not None and pos + 1 + fixed.size <= size:
            elements.append(_data(child, fixed.unpack_from(data, pos + 1)[0]))
            pos += 1 + fixed.size
        elif (
            child == OCTET_STRING
            and pos + 1 < size
            and (length := data[pos + 1]) < 0x80  # a one-byte length
            and pos + 2 + length <= size
        ):
            elements.append(_data(child, data[pos + 2 : pos + 2 + length]))
            pos += 2 + length
        else:
            element, pos = decode(data, pos, depth + 1)
            elements.append(element)
    return _data(tag, tuple(elements)), pos


def leaf(data: bytes, pos: int) -> tuple[int, object, int]:
    """Decode one value that is not an array or structure at ``pos``: its tag, its Python value (as
    :class:`Data` holds it) and the position after it."""
    size = len(data)
    if pos >= size:
        raise DlmsError(PushProblem.MALFORMED, "value beyond the end of the data")
    tag = data[pos]
    pos += 1
    fixed = FIXED.get(tag)
    if fixed is not None:
        end = pos + fixed.size
        if end > size:
            raise DlmsError(PushProblem.MALFORMED, f"{fixed.size} bytes wanted at offset {pos}, {size - pos} left")
        return tag, fixed.unpack_from(data, pos)[0], end
    if tag in _STRINGS:
        first = data[pos] if pos < size else 0x80
        length, pos = (first, pos + 1) if first < 0x80 else decode_length(data, pos)
        end = pos + length
        if end > size:
            raise DlmsError(PushProblem.MALFORMED, f"{length} bytes wanted at offset {pos}, {size - pos} left")
        raw = data[pos:end]
        if tag == OCTET_STRING:
            return tag, raw, end
        return tag, raw.decode("latin-1" if tag == VISIBLE_STRING else "utf-8", errors="replace"), end
    if tag == BOOLEAN:
        raw, pos = _take(data, pos, 1)
        return tag, raw[0] != 0, pos
    if tag == BIT_STRING:
        bits, pos = decode_length(data, pos)
        raw, pos = _take(data, pos, (bits + 7) // 8)
        return tag, raw, pos
    if tag in _RAW_SIZE:
        raw, pos = _take(data, pos, _RAW_SIZE[tag])
        return tag, raw, pos
    if tag == NULL:
        return tag, None, pos
    raise DlmsError(PushProblem.MALFORMED, f"unsupported A-XDR type 0x{tag:02x} at offset {pos - 1}")


def decode_all(data: bytes) -> Data:
    """Decode exactly one value that spans all of ``data``."""
    value, end = decode(data)
    if end != len(data):
        raise DlmsError(PushProblem.MALFORMED, f"{len(data) - end} bytes left after the value")
    return value


def cosem_datetime(raw: bytes) -> datetime | None:
    """A 12-byte COSEM date-time as naive local meter time; ``None`` when unspecified or invalid.

    Layout: year (2), month, day, weekday, hour, minute, second, hundredths, deviation (2), clock status.
    Unspecified fields are 0xFF (0xFFFF for the year); E450 pushes leave the deviation unspecified (0x8000).
    """
    if len(raw) != 12:
        return None
    year = int.from_bytes(raw[0:2], "big")
    month, day, _weekday, hour, minute, second, hundredths = raw[2:9]
    if year == 0xFFFF or 0xFF in (month, day, hour, minute, second):
        return None
    micro = hundredths * 10_000 if hundredths < 100 else 0
    try:
        return datetime(year, month, day, hour, minute, second, micro)
    except ValueError:
        return None


def encode_length(size: int) -> bytes:
    """A-XDR length: one byte below 0x80, else 0x8N and N big-endian bytes."""
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode(data: Data) -> bytes:
    """The A-XDR bytes of ``data``: the inverse of :func:`decode` for every type it reads."""
    tag, value = data.tag, data.value
    fixed = FIXED.get(tag)
    if fixed is not None:
        return bytes([tag]) + fixed.pack(value)
    if tag in _COMPOUND:
        items = data.items
        return bytes([tag]) + encode_length(len(items)) + b"".join(encode(item) for item in items)
    if tag in _STRINGS:
        raw = value.encode("latin-1" if tag == VISIBLE_STRING else "utf-8") if isinstance(value, str) else value
        assert isinstance(raw, bytes)
        return bytes([tag]) + encode_length(len(raw)) + raw
    if tag == BOOLEAN:
        return bytes([tag, 1 if value else 0])
    if tag == BIT_STRING:
        assert isinstance(value, bytes)
        return bytes([tag]) + encode_length(8 * len(value)) + value
    if tag in _RAW_SIZE:
        assert isinstance(value, bytes) and len(value) == _RAW_SIZE[tag]
        return bytes([tag]) + value
    if tag == NULL:
        return b"\x00"
    raise ValueError(f"cannot encode A-XDR type 0x{tag:02x}")


def obis_bytes(code: str) -> bytes:
    """``1-0:1.8.0`` or ``1-0:1.8.0*255`` (F = 255 when absent) as six bytes; ``1.8.0`` alone means ``1-0:``
    for electricity codes C ≥ 1 and ``0-0:`` for abstract ones (C = 0, 96 … 99: clock, identities, status)."""
    text = code.strip()
    f = 255
    if "*" in text:
        text, tail = text.split("*", 1)
        f = int(tail)
    if ":" in text:
        ab, cde = text.split(":", 1)
        a, b = (int(part) for part in ab.split("-"))
    else:
        cde = text
        a, b = -1, 0
    groups = [int(part) for part in cde.split(".")]
    if len(groups) == 2:
        groups.append(0)
    if len(groups) != 3 or not all(0 <= part <= 255 for part in (*groups, f, b)):
        raise ValueError(f"not an OBIS code: {code!r}")
    if a < 0:
        a = 0 if groups[0] == 0 or groups[0] >= 96 else 1
    return bytes([a, b, *groups, f])


def obis_text(raw: bytes) -> str:
    """Six OBIS bytes as ``A-B:C.D.E`` (``*F`` only when F is not 255, the "current value" marker)."""
    a, b, c, d, e, f = raw
    return f"{a}-{b}:{c}.{d}.{e}" + ("" if f == 0xFF else f"*{f}")
