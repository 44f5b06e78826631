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

from dataclasses import dataclass, field
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
    data: bytes,
    pos: int,
    depth: int,
    found: list[Entry],
    top: list[tuple[int, object]] | None,
    quirks: bool = False,
    slots: Slots | None = None,
) -> int:
    """Walk the array or structure at ``pos`` for registers; return the position after it. ``top`` collects what
    each element is (only for the body itself); ``slots`` where each value lies, for a :class:`Template`."""
    if depth > MAX_DEPTH:
        return decode(data, pos, depth)[1]  # deeper than registers are looked for: passed over whole
    count, at = _count(data, pos + 1)
    if data[pos] == STRUCTURE and count == 4 and (end := _four(data, at, depth, found)) is not None:
        if slots is not None:
            slots.usable = False  # what _four makes of a structure depends on its numbers, not only its layout
        return end
    size = len(data)
    code: bytes | None = None  # an OBIS code waiting for its value
    value: tuple[int, object] | None = None  # its value, waiting to see whether a scaler_unit follows
    value_slot: Slot | None = None
    for index in range(count):
        tag = data[at]
        item: object
        slot: Slot | None
        if quirks and index == 0 and (described := _descriptor(data, at)) is not None:
            found.append(described[0])
            at = described[1]
            continue
        if quirks and (swapped := _swapped_obis(data, at)) is not None:
            tag, item, at, slot = OCTET_STRING, swapped, at + 8, None
        elif tag in _CONTAINERS:
            if value is not None:  # OBIS, value, and now: a scaler_unit, or the next element
                assert code is not None
                unit = _scaler_unit(data, at)
                found.append((code, *value, None if unit is None else unit[0]))
                if slots is not None and value_slot is not None:
                    slots.entries.append((len(found) - 1, value_slot))
                value = code = None
                if unit is not None:
                    at = unit[1]
                    if top is not None:
                        top.append((tag, None))
                    continue
            code = None  # an OBIS code followed by a structure is no register's
            if top is not None:
                top.append((tag, None))
            at = _walk(data, at, depth + 1, found, None, quirks, slots)
            continue
        elif (fixed := FIXED.get(tag)) is not None:  # the numbers: most of a push, read here
            item = fixed.unpack_from(data, at + 1)[0]
            slot = (at + 1, fixed.format[1:])
            at += 1 + fixed.size
        elif tag == OCTET_STRING and (length := data[at + 1]) < 0x80:
            item = data[at + 2 : at + 2 + length]
            # a date-time moves with every push; any other string (an OBIS code, a name) is part of the layout
            slot = (at + 2, f"{length}s") if length == DATE_TIME_OCTETS else None
            at += 2 + length
            if at > size:
                raise IndexError(at)
        else:
            tag, item, at = leaf(data, at)
            slot = None
        if value is not None:  # OBIS, value, then no scaler_unit
            assert code is not None
            found.append((code, *value, None))
            if slots is not None and value_slot is not None:
                slots.entries.append((len(found) - 1, value_slot))
            value = code = None
        if code is not None:
            value, value_slot = (tag, item), slot
        elif tag == OCTET_STRING and _obis(item):  # type: ignore[arg-type]
            code = item  # type: ignore[assignment]
        if top is not None:
            top.append((tag, item))
            if slots is not None and slot is not None:
                slots.elements.append((len(top) - 1, slot))
    if value is not None:
        assert code is not None
        found.append((code, *value, None))
        if slots is not None and value_slot is not None:
            slots.entries.append((len(found) - 1, value_slot))
    return at


def _registers(body: bytes, *, quirks: bool, slots: Slots | None = None) -> Registers | None:
    found: list[Entry] = []
    top: list[tuple[int, object]] = []
    values = 0
    try:
        end = 0
        while end < len(body) and (values == 0 or body[end] in _CONTAINERS):
            if body[end] in _CONTAINERS:
                end = _walk(body, end, 0, found, top if values == 0 else None, quirks, slots)
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
    once more with the firmware quirks of :func:`_quirk` allowed.

    A meter pushes the same list again and again with new numbers: a body in the layout of the last one of its
    length is read from that one's :class:`Template`, without a walk."""
    size = len(body)
    if (template := _TEMPLATES.get(size)) is not None and (registers := template.read(body)) is not None:
        return registers
    slots = Slots()
    registers = _registers(body, quirks=False, slots=slots)
    if registers is not None and registers.described:
        if (made := Template.of(body, registers, slots)) is not None:
            if len(_TEMPLATES) >= MAX_TEMPLATES:
                _TEMPLATES.clear()
            _TEMPLATES[size] = made
        return registers
    return _registers(body, quirks=True) or registers


# A value's place in a body: its offset and its struct format character(s) (``"I"``, ``"12s"``)
Slot = tuple[int, str]
MAX_TEMPLATES: Final = 16  # layouts remembered, by body length (a meter pushes one to three lists)


@dataclass(slots=True)
class Slots:
    """Where a walk found each value it read: of the registers (by index) and of the body's own elements."""

    entries: list[tuple[int, Slot]] = field(default_factory=list)
    elements: list[tuple[int, Slot]] = field(default_factory=list)
    usable: bool = True  # False: what the walk found depends on more than the layout (a four-element structure)


@dataclass(frozen=True, slots=True)
class Template:
    """A body's layout as a walk found it: every byte but the values' (the tags, lengths, OBIS codes, scaler_units,
    names) and where the values lie (fixed-size numbers, date-times). A body with the same bytes outside the values
    describes the same registers with its own values: one ``struct`` call reads them all, and the layout bytes
    come with them, to be compared. The walk depends on nothing else (a four-element structure, which it reads by
    its numbers, makes no template); tests/test_described.py holds the two ways to the same registers."""

    layout: struct.Struct  # layout bytes and values, alternating: b"…", value, b"…", …, b"…"
    fixed: tuple[bytes, ...]  # the layout bytes of the body the template was made from
    registers: Registers
    entries: tuple[tuple[int, int], ...]  # (register index, value index)
    elements: tuple[tuple[int, int], ...]  # (element index, value index)

    @classmethod
    def of(cls, body: bytes, registers: Registers, slots: Slots) -> Template | None:
        """The template of a walked body (``None`` when its registers depend on more than its layout)."""
        if not slots.usable:
            return None
        places = sorted({slot for _, slot in (*slots.entries, *slots.elements)})
        formats, position = [">"], 0
        for offset, code in places:
            formats.append(f"{offset - position}s{code}")
            position = offset + struct.calcsize(f">{code}")
        formats.append(f"{len(body) - position}s")
        layout = struct.Struct("".join(formats))
        index = {slot: number for number, slot in enumerate(places)}
        return cls(
            layout,
            layout.unpack_from(body)[0::2],
            registers,
            tuple((entry, index[slot]) for entry, slot in slots.entries),
            tuple((element, index[slot]) for element, slot in slots.elements),
        )

    def read(self, body: bytes) -> Registers | None:
        """The registers of ``body`` when it has this layout, with its values; ``None`` when it has another."""
        if len(body) != self.layout.size:
            return None
        fields = self.layout.unpack_from(body)
        if fields[0::2] != self.fixed:
            return None
        values = fields[1::2]
        entries = list(self.registers.entries)
        for entry, number in self.entries:
            code, tag, _, scaled = entries[entry]
            entries[entry] = (code, tag, values[number], scaled)
        elements = self.registers.elements
        if self.elements:
            changed = list(elements)
            for element, number in self.elements:
                changed[element] = (changed[element][0], values[number])
            elements = tuple(changed)
        return Registers(tuple(entries), elements, self.registers.single)


_TEMPLATES: dict[int, Template] = {}
