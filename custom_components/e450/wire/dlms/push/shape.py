"""What a push body the decoder did not know looks like, for a report that carries no private data: its types and
lengths (:func:`shape`), or its values with every string but OBIS codes and date-times replaced (:func:`redacted`).
No Home Assistant import."""

from __future__ import annotations

from typing import Final

from ..axdr import ARRAY, OCTET_STRING, STRUCTURE, Data
from .described import DATE_TIME_OCTETS, MAX_DEPTH, looks_like_obis

_NAMES: Final = {
    0x00: "null",
    0x01: "array",
    0x02: "structure",
    0x03: "boolean",
    0x04: "bit-string",
    0x05: "int32",
    0x06: "uint32",
    0x09: "octet-string",
    0x0A: "visible-string",
    0x0C: "utf8-string",
    0x0D: "bcd",
    0x0F: "int8",
    0x10: "int16",
    0x11: "uint8",
    0x12: "uint16",
    0x14: "int64",
    0x15: "uint64",
    0x16: "enum",
    0x17: "float32",
    0x18: "float64",
    0x19: "date-time",
    0x1A: "date",
    0x1B: "time",
}
SHAPE_ITEMS: Final = 8  # elements shown per level; the rest is counted


def shape(data: Data, depth: int = 2) -> str:
    """The types and lengths of a value, for telling a user (and us) what a push the decoder did not know looked
    like, without its content: ``structure(3)[uint32, octet-string(6), array(2)[…]]``."""
    name = _NAMES.get(data.tag, f"0x{data.tag:02x}")
    if data.tag in (ARRAY, STRUCTURE):
        items = data.items
        if depth <= 0 or not items:
            return f"{name}({len(items)})"
        inner = ", ".join(shape(item, depth - 1) for item in items[:SHAPE_ITEMS])
        more = f", … {len(items) - SHAPE_ITEMS} more" if len(items) > SHAPE_ITEMS else ""
        return f"{name}({len(items)})[{inner}{more}]"
    if isinstance(data.value, bytes | str):
        return f"{name}({len(data.value)})"
    return name


def redacted(data: Data, depth: int = MAX_DEPTH + 2) -> object:
    """A body as JSON for a report of a push the decoder did not know: types, numbers, OBIS codes and date-times
    kept, every other string replaced by its type and length (serial numbers, names, keys never leave the
    machine). Deeper levels than ``depth`` are summarised by :func:`shape`."""
    name = _NAMES.get(data.tag, f"0x{data.tag:02x}")
    if data.tag in (ARRAY, STRUCTURE):
        if depth <= 0:
            return shape(data, 0)
        return {name: [redacted(item, depth - 1) for item in data.items]}
    raw = data.value
    if looks_like_obis(data):
        assert isinstance(raw, bytes)
        return {"obis": f"{raw[0]}-{raw[1]}:{raw[2]}.{raw[3]}.{raw[4]}.{raw[5]}"}
    if isinstance(raw, bytes) and data.tag == OCTET_STRING and len(raw) == DATE_TIME_OCTETS:
        return {name: raw.hex()}  # a date-time: when, not who
    if isinstance(raw, bytes | str):
        return f"{name}({len(raw)})"
    return {name: raw}
