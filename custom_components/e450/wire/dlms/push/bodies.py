"""How a notification body maps to OBIS codes: push object list, OBIS/value pairs, registers the body describes,
or a utility's positions (:mod:`.positional`).

Scalers and units are not pushed (only attribute 2 of each register is), so they come from the one OBIS table
(:data:`...obis.OBIS`); codes the table does not know keep their raw value and no unit (docs/dlms.md §6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
import re
from typing import Final

from ...errors import DlmsError, PushProblem
from ...frozen import fast_constructor
from ...models import DataSet, DataValue, Layout, RegisterScale, Scale, scaled, scaled_text
from ...obis import CLOCK_DATE, CLOCK_TIME, OBIS, normalize_address
from ..axdr import (
    ARRAY,
    BOOLEAN,
    DATE_TIME,
    NUMERIC,
    OCTET_STRING,
    STRUCTURE,
    VISIBLE_STRING,
    Data,
    cosem_datetime,
    decode_all,
    decode_length,
    obis_text,
)
from ..units import Scaling, attribute_value
from .czech import elements as czech_elements
from .described import DATE_TIME_OCTETS, Registers, find_registers
from .positional import CLOCK, DATE, PROFILES, TIME, UNKNOWN, Fields
from .shape import shape

CLASS_DATA: Final = 1
CLASS_REGISTER: Final = 3
CLASS_EXTENDED_REGISTER: Final = 4
CLASS_CLOCK: Final = 8
CLASS_PUSH_SETUP: Final = 40
CLASS_MBUS_CLIENT: Final = 72
# attribute 2 is a register's value; the others of these classes describe it (docs/mbus-submeters.md §2)
DESCRIBED_CLASSES: Final = frozenset({CLASS_REGISTER, CLASS_EXTENDED_REGISTER, CLASS_MBUS_CLIENT})


def default_scaling(code: str) -> Scaling:
    """The unit and scaler of a register by its normalised code, from the one OBIS table."""
    quantity = OBIS.get(code)
    return Scaling(None) if quantity is None else Scaling(quantity.unit, quantity.exponent)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A body turned into data sets, and how; ``scales``: the numeric registers the body sent without their
    scaler, and how each was scaled (a positional list's by its profile, the others by the OBIS table)."""

    layout: Layout
    profile: str | None
    datasets: tuple[DataSet, ...]
    clock: datetime | None
    scales: dict[str, RegisterScale] = field(default_factory=dict)
    # attributes other than the value, by (address, attribute): ``Readout.attributes``
    attributes: dict[tuple[str, int], object] = field(default_factory=dict)


def _text(raw: bytes) -> str:
    """An octet-string as text: ASCII when it is, a COSEM date-time (a maximum demand's time) as ISO 8601, else
    hex."""
    printable = raw.rstrip(b"\x00")
    if printable and all(0x20 <= byte < 0x7F for byte in printable):
        return printable.decode("ascii")
    if len(raw) == DATE_TIME_OCTETS and (stamp := cosem_datetime(raw)) is not None:
        return stamp.isoformat(sep=" ")
    return raw.hex()


_value = fast_constructor(DataValue)
_dataset = fast_constructor(DataSet)
_note = fast_constructor(RegisterScale)


@lru_cache(maxsize=1024)
def _register(address: str, scaling: Scaling | None) -> tuple[str, str | None, str | None, int]:
    """Normalised code, history suffix, unit and exponent of a register: from the layout's scaling, else from the
    OBIS table. Once per address: a meter pushes the same registers every time."""
    code, history = normalize_address(address)
    if scaling is None:
        scaling = default_scaling(code)
    elif scaling.from_table:  # the body's scaler, with a unit it did not name well
        return code, history, default_scaling(code).unit, scaling.exponent
    return code, history, scaling.unit, scaling.exponent


@lru_cache(maxsize=4096, typed=True)  # typed: 1 and 1.0 are written "1" and "1.0"
def _number(
    address: str, value: int | float, scaling: Scaling | None, convention: str | None
) -> tuple[DataSet, RegisterScale | None]:
    """A register's number as a data set, with the note of where its scale came from when the body did not send
    it. Cached: a register that reads as in the last push is the very data set made then (whoever compares two
    readouts finds it unchanged by identity), and costs a lookup."""
    code, history, unit, exponent = _register(address, scaling)
    if exponent:
        number = scaled(value, exponent)
        text = scaled_text(value, exponent, number)
    else:  # times 10**0 is the value itself
        number, text = value, repr(value)
    dataset = _dataset(address, (_value(text, unit),), code, history, number)
    if history is None and (scaling is None or convention is not None) and (unit or exponent):
        origin = Scale.ASSUMED if convention is None else Scale.CONVENTION
        return dataset, _note(origin, value, exponent, unit, convention)
    return dataset, None


class _Builder:
    def __init__(self) -> None:
        self.datasets: list[DataSet] = []
        self.clock: datetime | None = None
        self.scales: dict[str, RegisterScale] = {}
        self.attributes: dict[tuple[str, int], object] = {}

    def add(
        self, address: str, tag: int, value: object, scaling: Scaling | None = None, convention: str | None = None
    ) -> None:
        """A register's value (an A-XDR tag and the value :class:`..axdr.Data` holds for it). ``scaling``: the
        body's, or the ``convention``'s (a positional profile) that names it; ``None``: the OBIS table's, assumed."""
        if tag in NUMERIC and isinstance(value, int | float):  # most of a push: first
            dataset, note = _number(address, value, scaling, convention)
            self.datasets.append(dataset)
            if note is not None:
                self.scales[dataset.obis] = note
            return
        code, history, _, _ = _register(address, scaling)
        if tag == DATE_TIME or (tag == OCTET_STRING and code == "1.0.0" and len(value) == 12):  # type: ignore[arg-type]
            self.add_clock(value)
            return
        if tag == BOOLEAN:
            self.datasets.append(
                _dataset(address, (_value("1" if value else "0", None),), code, history, int(bool(value)))
            )
            return
        if isinstance(value, bytes):
            text = _text(value)
        elif isinstance(value, str):
            text = value.rstrip("\x00")
        else:
            return  # null-data, arrays and structures carry no register value
        # a string is a name (a meter number, a list id), never a number, however many digits it has
        self.datasets.append(_dataset(address, (_value(text, None),), code, history, None))

    def decoded(self, layout: Layout, profile: str | None = None) -> Decoded:
        return Decoded(layout, profile, tuple(self.datasets), self.clock, self.scales, self.attributes)

    def attribute(self, address: str, attribute: int, data: Data) -> None:
        """An attribute that describes a register rather than being its value: a scaler_unit as a
        :class:`..units.Scaling`, a capture time as the meter's local time, anything else as decoded."""
        if (value := attribute_value(attribute, data)) is not None:
            self.attributes[address, attribute] = value

    def add_clock(self, value: object) -> None:
        stamp = cosem_datetime(value) if isinstance(value, bytes) else None
        if stamp is None:
            return
        self.clock = stamp
        # the same codes an IEC 62056-21 readout uses for the meter's local date and time
        self.datasets.append(DataSet.of(f"0-0:{CLOCK_TIME}", (DataValue(stamp.strftime("%H:%M:%S"), None),)))
        self.datasets.append(DataSet.of(f"0-0:{CLOCK_DATE}", (DataValue(stamp.strftime("%y-%m-%d"), None),)))


@lru_cache(maxsize=1024)
def _obis(raw: bytes) -> str:
    """:func:`~..axdr.obis_text`, once per code: a meter pushes the same codes every time."""
    return obis_text(raw)


def _push_list(body: Data) -> tuple[tuple[int, str, int], ...] | None:
    """``(class, OBIS, attribute)`` per element when the body starts with its push object list."""
    items = body.items
    if body.tag != STRUCTURE or not items or items[0].tag != ARRAY or len(items[0].items) != len(items):
        return None
    entries = []
    for entry in items[0].items:
        parts = entry.items
        if len(parts) != 4:
            return None
        code, class_id, attribute = parts[1], parts[0].value, parts[2].value
        if code.tag != OCTET_STRING or len(code.value) != 6:  # type: ignore[arg-type]
            return None
        if not isinstance(class_id, int) or not isinstance(attribute, int):
            return None
        entries.append((class_id, _obis(bytes(code.value)), attribute))  # type: ignore[call-overload]
    return tuple(entries)


def _pairs_start(elements: tuple[tuple[int, object], ...]) -> int | None:
    """Index of the first OBIS code when a structure's elements are (date-time,) OBIS, value, OBIS, value …."""
    if len(elements) < 2:
        return None
    tag, first = elements[0]
    start = 1 if tag == DATE_TIME or (tag == OCTET_STRING and len(first) == DATE_TIME_OCTETS) else 0  # type: ignore[arg-type]
    rest = elements[start::2]
    if len(elements) - start < 2 or (len(elements) - start) % 2:
        return None
    if not all(tag == OCTET_STRING and len(code) == 6 for tag, code in rest):  # type: ignore[arg-type]
        return None
    return start


def _opens_with_array(raw: bytes) -> bool:
    """A structure whose first element is an array: a push object list's place (read from the decoded tree)."""
    if len(raw) < 3 or raw[0] != STRUCTURE:
        return False
    try:
        first = decode_length(raw, 1)[1]
    except DlmsError:
        return True  # malformed: the tree's decoder says how
    return first < len(raw) and raw[first] == ARRAY


def _pairs(elements: tuple[tuple[int, object], ...], start: int) -> Decoded:
    builder = _Builder()
    if start:
        builder.add_clock(elements[0][1])
    for (_, code), (tag, value) in zip(elements[start::2], elements[start + 1 :: 2], strict=True):
        builder.add(_obis(code), tag, value)
    return builder.decoded(Layout.OBIS_PAIRS)


# A list version identifier (Kamstrup_V0001, KFM_001, AIDON_V0001): Kamstrup's list opens with it as the one
# element without its OBIS code, 1-1:0.2.129.255 (Kamstrup HAN-NVE interface description rev. 3.1, §2.7.1).
_LIST_ID: Final = re.compile(r"[A-Z][A-Za-z]+_[A-Z]?\d{3,4}")
LIST_ID_CODE: Final = "1-1:0.2.129"


def _described(registers: Registers) -> Decoded:
    builder = _Builder()
    if registers.elements and registers.elements[0][0] in (OCTET_STRING, VISIBLE_STRING):
        first = registers.elements[0][1]
        text = first.decode("ascii", "replace") if isinstance(first, bytes) else str(first)
        if _LIST_ID.fullmatch(text):
            builder.add(LIST_ID_CODE, VISIBLE_STRING, text)
    for code, tag, value, scaling in registers.entries:
        builder.add(_obis(code), tag, value, scaling)
    return builder.decoded(Layout.DESCRIBED)


def _positional(builder: _Builder, fields: Fields, body: Data, profile: str) -> None:
    """A positional list's values; a date and a time in positions of their own make the meter's clock."""
    parts: dict[str, bytes] = {}
    for spec, data in zip(fields, body.items, strict=True):
        if spec.address == CLOCK:
            builder.add_clock(data.value)
        elif spec.address in (DATE, TIME) and isinstance(data.value, bytes):
            parts[spec.address] = data.value
        elif spec.address != UNKNOWN:
            builder.add(spec.address, data.tag, data.value, spec.scaling, profile)
    date, time = parts.get(DATE, b""), parts.get(TIME, b"")
    if len(date) == 5 and len(time) == 4:  # COSEM date and time: a date-time with no deviation, status unknown
        builder.add_clock(date + time + b"\x80\x00\xff")


def _czech(raw: bytes) -> Decoded | None:
    """The Czech distributors' body (:mod:`.czech`): each element names its object; attribute 2 of a register or
    a data object is its value, a disconnect control's state (class 70) and a limiter's threshold (class 71) are
    attribute 3; the push setup's own name is left out."""
    found = czech_elements(raw)
    if found is None:
        return None
    builder = _Builder()
    for class_id, code, attribute, tag, value in found:
        if class_id == CLASS_PUSH_SETUP or attribute == 1:
            continue
        builder.add(_obis(code), tag, value)
    return builder.decoded(Layout.CZECH)


class _Body:
    """A body being read: its bytes, and the views the readers share, each made once when a reader first asks
    (the bytes' registers for the common bodies, the tree of values for push lists and positions)."""

    def __init__(self, raw: bytes, profile: str | None) -> None:
        self.raw, self.profile = raw, profile
        self.array_first = _opens_with_array(raw)  # a push object list's place

    @cached_property
    def registers(self) -> Registers | None:
        return find_registers(self.raw)

    @cached_property
    def tree(self) -> Data:
        return decode_all(self.raw)


def _read_czech(body: _Body) -> Decoded | None:
    return _czech(body.raw)


def _read_pairs(body: _Body) -> Decoded | None:
    """A structure of (date-time,) OBIS, value, OBIS, value …."""
    registers = None if body.array_first else body.registers
    if registers is None or not registers.single or body.raw[0] != STRUCTURE:
        return None
    start = _pairs_start(registers.elements)
    return _pairs(registers.elements, start) if start is not None else None


def _read_push_list(body: _Body) -> Decoded | None:
    """A body that opens with its push object list: ``(class, OBIS, attribute)`` per value that follows."""
    if not body.array_first or (entries := _push_list(tree := body.tree)) is None:
        return None
    builder = _Builder()
    for (class_id, address, attribute), data in zip(entries[1:], tree.items[1:], strict=True):
        if class_id == CLASS_PUSH_SETUP or attribute == 1:
            continue  # the push setup and logical names describe the push, not the meter
        if class_id == CLASS_CLOCK:
            builder.add_clock(data.value)
        elif class_id in DESCRIBED_CLASSES and attribute != 2:
            builder.attribute(address, attribute, data)
        else:
            builder.add(address, data.tag, data.value)  # no scaler: the conventions say (scaling.judge)
    return builder.decoded(Layout.PUSH_LIST)


def _read_described(body: _Body) -> Decoded | None:
    registers = body.registers
    return _described(registers) if registers is not None and registers.described else None


def _read_positional(body: _Body) -> Decoded | None:
    """A utility's positions (:mod:`.positional`): the forced profile, else the first whose layout fits."""
    if body.profile is not None:
        chosen = PROFILES.get(body.profile)
        if chosen is None:
            raise DlmsError(PushProblem.UNKNOWN_LAYOUT, f"no profile named {body.profile!r}")
        candidates = [chosen]
    else:
        candidates = list(PROFILES.values())
    tree = body.tree
    for candidate in candidates:
        if (fields := candidate.layout(tree)) is not None:
            builder = _Builder()
            _positional(builder, fields, tree, candidate.name)
            return builder.decoded(Layout.POSITIONAL, candidate.name)
    return None


# One reader per layout, tried in this order; the first that recognises the body reads it. Those reading the bytes
# come first (the common bodies, and the fast way); a push list is read from the tree, and only a body opening with
# an array can carry one, so a body that describes its registers is never decoded into a tree.
READERS: Final[tuple[Callable[[_Body], Decoded | None], ...]] = (
    _read_czech,
    _read_pairs,
    _read_push_list,
    _read_described,
    _read_positional,
)


def decode_body(raw: bytes, profile: str | None = None) -> Decoded:
    """Turn a notification body, its A-XDR bytes, into data sets with the first of :data:`READERS` that
    recognises it. ``profile`` forces a positional layout by name. Bytes that are not well-formed values raise
    ``malformed``; a body no layout describes, ``unknown_layout``.
    """
    body = _Body(raw, profile)
    for reader in READERS:
        if (decoded := reader(body)) is not None:
            return decoded
    raise DlmsError(PushProblem.UNKNOWN_LAYOUT, f"no layout describes a body shaped {shape(body.tree)}")
