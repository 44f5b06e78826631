"""Bodies that describe themselves: registers found by the OBIS codes the push carries beside their values, with no
per-meter profile (docs/dlms.md §6).

Shapes recognised, flat or nested in arrays and structures (a few levels deep):

- ``{OBIS, value}`` and ``{OBIS, value, scaler_unit}`` structures (Aidon, Kaifa, Iskra AM550/MT371 lists);
- ``{class_id, OBIS, attribute, value}`` structures (IDIS style);
- flat lists in which an OBIS code is followed by its value and, optionally, its scaler_unit, mixed with strings
  and date-times that belong to no code (Kamstrup Omnipower's list: list version id, OBIS, value, …).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .axdr import ARRAY, NUMERIC, OCTET_STRING, STRUCTURE, UINT16, Data
from .units import Scaling, scaler_unit

MAX_DEPTH: Final = 4
MIN_REGISTERS: Final = 2  # one stray 6-byte string is no list of registers


@dataclass(frozen=True, slots=True)
class Entry:
    """A register the body describes: its OBIS code (6 bytes), its value and, when the body says, its scaling."""

    code: bytes
    value: Data
    scaling: Scaling | None


def looks_like_obis(data: Data) -> bool:
    """A 6-byte octet-string with plausible value groups: A (medium) below 16, F 255 or a billing period."""
    raw = data.value
    if data.tag != OCTET_STRING or not isinstance(raw, bytes) or len(raw) != 6:
        return False
    return raw[0] < 16 and (raw[5] == 0xFF or raw[5] < 100)


def _octets(data: Data) -> bytes:
    assert isinstance(data.value, bytes)
    return data.value


def _structure_entry(data: Data) -> Entry | None:
    if data.tag != STRUCTURE:
        return None
    items = data.value
    assert isinstance(items, tuple)
    if len(items) == 4 and items[0].tag == UINT16 and looks_like_obis(items[1]) and items[2].tag in NUMERIC:
        if items[3].tag == UINT16 and items[3].value == 0:
            return None  # a capture object {class, OBIS, attribute, data index}: a push list's, not a value
        return Entry(_octets(items[1]), items[3], None)  # IDIS {class, OBIS, attribute, value}
    if len(items) in (2, 3) and looks_like_obis(items[0]) and items[1].tag not in (ARRAY, STRUCTURE):
        scaling = scaler_unit(items[2]) if len(items) == 3 else None
        if len(items) == 3 and scaling is None:
            return None
        return Entry(_octets(items[0]), items[1], scaling)
    return None


def _walk(data: Data, depth: int, found: list[Entry]) -> None:
    if depth > MAX_DEPTH or data.tag not in (ARRAY, STRUCTURE):
        return
    if (entry := _structure_entry(data)) is not None:
        found.append(entry)
        return
    items = data.items
    index = 0
    while index < len(items):
        item = items[index]
        following = items[index + 1] if index + 1 < len(items) else None
        if looks_like_obis(item) and following is not None and following.tag not in (ARRAY, STRUCTURE):
            # flat: OBIS, value (, scaler_unit)
            after = items[index + 2] if index + 2 < len(items) else None
            scaling = scaler_unit(after) if after is not None else None
            found.append(Entry(_octets(item), following, scaling))
            index += 3 if scaling is not None else 2
            continue
        _walk(item, depth + 1, found)
        index += 1


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


DATE_TIME_OCTETS: Final = 12  # a COSEM date-time carried as an octet-string (IEC 62056-6-2 §4.1.6.1)


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


def find_registers(body: Data) -> list[Entry] | None:
    """The registers a body describes, in order; ``None`` when it describes too few to be such a body."""
    found: list[Entry] = []
    _walk(body, 0, found)
    return found if len(found) >= MIN_REGISTERS else None
