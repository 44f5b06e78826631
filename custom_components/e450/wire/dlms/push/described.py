"""Bodies that describe themselves: registers found by the OBIS codes the push carries beside their values, with no
per-meter profile (docs/dlms.md §6).

Shapes recognised, flat or nested in arrays and structures (a few levels deep):

- ``{OBIS, value}`` and ``{OBIS, value, scaler_unit}`` structures (Aidon, Kaifa, Iskra AM550/MT371 lists);
- four-element structures: ``{class_id, OBIS, attribute, value}`` (IDIS style), ``{class_id, OBIS, scaler,
  value}`` and ``{value, class_id, scaler_unit, OBIS}``;
- flat lists in which an OBIS code is followed by its value and, optionally, its scaler_unit, mixed with strings
  and date-times that belong to no code (Kamstrup Omnipower's list: list version id, OBIS, value, …);
- several arrays or structures one after the other, read as one body.

A capture object ``{class_id, OBIS, attribute, data index}`` is a push list's entry, never a register. A body that
does not decode as A-XDR should is walked once more with two firmware quirks allowed (:func:`_swapped_obis`,
:func:`_descriptor`). The walk reads the body's bytes and builds the registers directly, without a tree of
values: a push of thirty registers is read in well under the 0.2 ms budget (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
import struct
from typing import Final

from ...errors import DlmsError
from ..axdr import (
    ARRAY,
    ENUM,
    FIXED,
    INT8,
    NUMERIC,
    OCTET_STRING,
    STRUCTURE,
    UINT16,
    UINT32,
    Data,
    decode,
    decode_length,
    leaf,
)
from ..units import Scaling, scaling

MAX_DEPTH: Final = 4
MIN_REGISTERS: Final = 2  # one stray 6-byte string is no list of registers

# A register the body describes: its OBIS code (6 bytes), its value's A-XDR tag and value (as :class:`..axdr.Data`
# holds them) and, when the body says, its scaling. A plain tuple: a push makes dozens, every second.
Entry = tuple[bytes, int, object, Scaling | None]

_CONTAINERS: Final = frozenset({ARRAY, STRUCTURE})
_SCALER: Final = struct.Struct(">b")
DATE_TIME_OCTETS: Final = 12  # a COSEM date-time carried as an octet-string (IEC 62056-6-2 §4.1.6.1)


@dataclass(frozen=True, slots=True)
class Registers:
    """What a walk over a body's bytes found: the registers it describes, in order, and the body's own elements
    as ``(tag, value)`` (``None`` for an array or structure), for :mod:`.bodies` to tell OBIS/value pairs."""

    entries: tuple[Entry, ...]
    elements: tuple[tuple[int, object], ...]
    single: bool = True  # one value spans the body (some meters put several structures after the header)

    @property
    def described(self) -> bool:
        """Enough registers for the body to be a list of them: two, or one that carries its own scaler (Aidon's
        list 1, its active power alone, is one ``{OBIS, value, scaler_unit}``)."""
        entries = self.entries
        return len(entries) >= MIN_REGISTERS or (len(entries) == 1 and entries[0][3] is not None)


def looks_like_obis(data: Data) -> bool:
    """A 6-byte octet-string with plausible value groups: A (medium) below 16, F 255 or a billing period."""
    raw = data.value
    return data.tag == OCTET_STRING and isinstance(raw, bytes) and _obis(raw)


def _obis(raw: bytes) -> bool:
    # F: 255 (not used), 0-99 a billing period, 101-126 the last, second last … period (Blue Book §7.3.2)
    return len(raw) == 6 and raw[0] < 16 and (raw[5] == 0xFF or raw[5] <= 126)


def _count(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    return (first, pos + 1) if first < 0x80 else decode_length(data, pos)


def _scaler_unit(data: bytes, pos: int) -> tuple[Scaling, int] | None:
    """A ``scaler_unit`` structure ``{int8, enum}`` at ``pos``: its scaling and the position after it."""
    if data[pos] != STRUCTURE:
        return None
    count, at = _count(data, pos + 1)
    if count != 2 or data[at] != INT8 or data[at + 2] != ENUM:
        return None
    return scaling(_SCALER.unpack_from(data, at + 1)[0], data[at + 3]), at + 4


def _tagged_obis(data: bytes, at: int) -> bytes | None:
    """The OBIS code of an octet-string of 6 plausible bytes at ``at``."""
    if data[at] != OCTET_STRING or data[at + 1] != 6:
        return None
    code = data[at + 2 : at + 8]
    return code if _obis(code) else None


def _four(data: bytes, at: int, depth: int, found: list[Entry]) -> int | None:
    """The four elements of a structure from ``at``, when they describe one register: adds it and returns the
    position after the structure; ``None`` when they are something else.

    - ``{class_id, OBIS, attribute, value}`` (IDIS): the attribute is 2, a register's value. A capture object
      ``{class, OBIS, attribute, data index 0}`` is a push list's entry, not a value; a value that is an array or a
      structure is walked for the registers it holds.
    - ``{class_id, OBIS, scaler, value}``: the same place holds an ``int8`` scaler other than 2 (the unit is the
      OBIS table's).
    - ``{value, class_id, scaler_unit, OBIS}``: the value first, its description after it.
    """
    if data[at] == UINT16:
        code = _tagged_obis(data, at + 3)
        if code is None or data[at + 11] not in NUMERIC:
            return None
        third, number, after = leaf(data, at + 11)
        if data[after] in _CONTAINERS:
            return _walk(data, after, depth + 1, found, None)
        tag, value, end = leaf(data, after)
        if tag == UINT16 and value == 0:
            return end
        scaler = Scaling(None, number, from_table=True) if third == INT8 and number != 2 else None  # type: ignore[arg-type]
        found.append((code, tag, value, scaler))
        return end
    if data[at] in _CONTAINERS:
        return None
    tag, value, after = leaf(data, at)
    if data[after] != UINT16 or (unit := _scaler_unit(data, after + 3)) is None:
        return None
    code = _tagged_obis(data, unit[1])
    if code is None:
        return None
    found.append((code, tag, value, unit[0]))
    return unit[1] + 8


# Encodings some firmware gets wrong, read only when a body does not decode as it should (find_registers):


def _swapped_obis(data: bytes, at: int) -> bytes | None:
    """An OBIS code tagged ``06 09`` instead of ``09 06`` (a Landis+Gyr firmware's)."""
    if data[at] == UINT32 and data[at + 1] == OCTET_STRING and _obis(code := data[at + 2 : at + 8]):
        return code
    return None


def _descriptor(data: bytes, at: int) -> tuple[Entry, int] | None:
    """A first element that is an untagged descriptor ``class_id (2) | OBIS (6) | attribute (1)`` before its
    tagged value: the register and the position after it."""
    if data[at] != 0x00 or data[at + 8] == 0 or not _obis(code := data[at + 2 : at + 8]):
        return None
    if data[at + 9] in _CONTAINERS:
        return None
    tag, value, end = leaf(data, at + 9)
    return (code, tag, value, None), end


def _walk(
    data: bytes, pos: int, depth: int, found: list[Entry], top: list[tuple[int, object]] | None, quirks: bool = False
) -> int:
    """Walk the array or structure at ``pos`` for registers; return the position after it. ``top`` collects what
    each element is (only for the body itself)."""
    if depth > MAX_DEPTH:
        return decode(data, pos, depth)[1]  # deeper than registers are looked for: passed over whole
    count, at = _count(data, pos + 1)
    if data[pos] == STRUCTURE and count == 4 and (end := _four(data, at, depth, found)) is not None:
        return end
    size = len(data)
    code: bytes | None = None  # an OBIS code waiting for its value
    value: tuple[int, object] | None = None  # its value, waiting to see whether a scaler_unit follows
    for index in range(count):
        tag = data[at]
        item: object
        if quirks and index == 0 and (described := _descriptor(data, at)) is not None:
            found.append(described[0])
            at = described[1]
            continue
        if quirks and (swapped := _swapped_obis(data, at)) is not None:
            tag, item, at = OCTET_STRING, swapped, at + 8
        elif tag in _CONTAINERS:
            if value is not None:  # OBIS, value, and now: a scaler_unit, or the next element
                assert code is not None
                unit = _scaler_unit(data, at)
                found.append((code, *value, None if unit is None else unit[0]))
                value = code = None
                if unit is not None:
                    at = unit[1]
                    if top is not None:
                        top.append((tag, None))
                    continue
            code = None  # an OBIS code followed by a structure is no register's
            if top is not None:
                top.append((tag, None))
            at = _walk(data, at, depth + 1, found, None, quirks)
            continue
        elif (fixed := FIXED.get(tag)) is not None:  # the numbers: most of a push, read here
            item = fixed.unpack_from(data, at + 1)[0]
            at += 1 + fixed.size
        elif tag == OCTET_STRING and (length := data[at + 1]) < 0x80:
            item = data[at + 2 : at + 2 + length]
            at += 2 + length
            if at > size:
                raise IndexError(at)
        else:
            tag, item, at = leaf(data, at)
        if value is not None:  # OBIS, value, then no scaler_unit
            assert code is not None
            found.append((code, *value, None))
            value = code = None
        if code is not None:
            value = (tag, item)
        elif tag == OCTET_STRING and _obis(item):  # type: ignore[arg-type]
            code = item  # type: ignore[assignment]
        if top is not None:
            top.append((tag, item))
    if value is not None:
        assert code is not None
        found.append((code, *value, None))
    return at


def _registers(body: bytes, *, quirks: bool) -> Registers | None:
    found: list[Entry] = []
    top: list[tuple[int, object]] = []
    values = 0
    try:
        end = 0
        while end < len(body) and (values == 0 or body[end] in _CONTAINERS):
            if body[end] in _CONTAINERS:
                end = _walk(body, end, 0, found, top if values == 0 else None, quirks)
            else:
                end = leaf(body, end)[2]
            values += 1
    except (IndexError, struct.error, DlmsError):
        return None
    if end != len(body):
        return None
    return Registers(tuple(found), tuple(top), single=values == 1)


def find_registers(body: bytes) -> Registers | None:
    """Walk a body's A-XDR bytes for the registers it describes, building them directly (no tree of values);
    ``None`` when the bytes are not well-formed values (:func:`..axdr.decode_all` then says why). Several arrays
    or structures one after the other are walked as one body; a body that does not decode as it should is walked
    once more with the firmware quirks of :func:`_quirk` allowed."""
    registers = _registers(body, quirks=False)
    if registers is None or not registers.described:
        registers = _registers(body, quirks=True) or registers
    return registers


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
