"""How a notification body maps to OBIS codes: push object list, OBIS/value pairs, or a utility's positions.

Scalers and units are not pushed (only attribute 2 of each register is), so they come from one table of what
is known for these meters; codes the table does not know keep their raw value and no unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from ..iec62056.models import DataSet, DataValue
from ..iec62056.obis import normalize_address
from .axdr import (
    ARRAY,
    BOOLEAN,
    DATE_TIME,
    NUMERIC,
    OCTET_STRING,
    STRUCTURE,
    UINT16,
    UINT32,
    VISIBLE_STRING,
    Data,
    cosem_datetime,
    obis_text,
)
from .errors import UNKNOWN_LAYOUT, DlmsError

PUSH_LIST: Final = "push-list"
OBIS_PAIRS: Final = "obis-pairs"
POSITIONAL: Final = "positional"

CLASS_DATA: Final = 1
CLASS_REGISTER: Final = 3
CLASS_EXTENDED_REGISTER: Final = 4
CLASS_CLOCK: Final = 8
CLASS_PUSH_SETUP: Final = 40


@dataclass(frozen=True, slots=True)
class Scaling:
    """Unit and power-of-ten scaler of a register whose scaler_unit the push does not carry."""

    unit: str | None
    exponent: int = 0


def _register_scaling() -> dict[str, Scaling]:
    table: dict[str, Scaling] = {}
    for c in (1, 2):  # active import / export: total and per tariff
        table[f"{c}.7.0"] = Scaling("W")
        for e in range(5):
            table[f"{c}.8.{e}"] = Scaling("Wh")
    for c in range(3, 9):  # reactive: import/export and quadrants I-IV
        table[f"{c}.7.0"] = Scaling("var")
        for e in range(5):
            table[f"{c}.8.{e}"] = Scaling("varh")
    for c in (9, 10):
        table[f"{c}.7.0"] = Scaling("VA")
        table[f"{c}.8.0"] = Scaling("VAh")
    for c in (21, 22, 41, 42, 61, 62):
        table[f"{c}.7.0"] = Scaling("W")
    for c in (12, 32, 52, 72):
        table[f"{c}.7.0"] = Scaling("V")
    for c in (11, 31, 51, 71, 91):  # E450 CII lists: 0.01 A (VSE 2026 vector: 9 → 0.09 A)
        table[f"{c}.7.0"] = Scaling("A", -2)
    for c in (13, 33, 53, 73):  # power factor: 0.001 (E570 vector: 1000 → 1.000)
        table[f"{c}.7.0"] = Scaling(None, -3)
    return table


# Keyed by normalised code (no A-B prefix). One table for every layout that carries OBIS codes.
REGISTER_SCALING: Final[dict[str, Scaling]] = _register_scaling()


@dataclass(frozen=True, slots=True)
class Field:
    """One position of a positional layout."""

    address: str
    types: frozenset[int]
    scaling: Scaling = Scaling(None)


@dataclass(frozen=True, slots=True)
class Profile:
    """A utility's positional layout: the meaning of each element of the body structure."""

    name: str
    fields: tuple[Field, ...]

    def matches(self, body: Data) -> bool:
        """The body has exactly these positions, with these A-XDR types."""
        items = body.items
        return (
            body.tag == STRUCTURE
            and len(items) == len(self.fields)
            and all(item.tag in spec.types for item, spec in zip(items, self.fields, strict=True))
        )


_CLOCK: Final = "0-0:1.0.0"
_U32 = frozenset({UINT32})
_U16 = frozenset({UINT16})
_TEXT = frozenset({OCTET_STRING, VISIBLE_STRING})

PROFILES: Final[dict[str, Profile]] = {
    profile.name: profile
    for profile in (
        # Wiener Netze (optical port): date-time, +A, -A, +R, -R (Wh, varh), +P, -P, +Q, -Q (W, var)
        Profile(
            "wiener-netze",
            (
                Field(_CLOCK, frozenset({OCTET_STRING, DATE_TIME})),
                Field("1-0:1.8.0", _U32, Scaling("Wh")),
                Field("1-0:2.8.0", _U32, Scaling("Wh")),
                Field("1-0:3.8.0", _U32, Scaling("varh")),
                Field("1-0:4.8.0", _U32, Scaling("varh")),
                Field("1-0:1.7.0", _U32, Scaling("W")),
                Field("1-0:2.7.0", _U32, Scaling("W")),
                Field("1-0:3.7.0", _U32, Scaling("var")),
                Field("1-0:4.7.0", _U32, Scaling("var")),
            ),
        ),
        # Netz Burgenland: U L1-L3 (V), I L1-L3 (0.01 A), +P, -P (W), +A, -A (Wh), angle U-I L1-L3 (unit not
        # published: kept raw), meter number
        Profile(
            "netz-burgenland",
            (
                Field("1-0:32.7.0", _U16, Scaling("V")),
                Field("1-0:52.7.0", _U16, Scaling("V")),
                Field("1-0:72.7.0", _U16, Scaling("V")),
                Field("1-0:31.7.0", _U16, Scaling("A", -2)),
                Field("1-0:51.7.0", _U16, Scaling("A", -2)),
                Field("1-0:71.7.0", _U16, Scaling("A", -2)),
                Field("1-0:1.7.0", _U32, Scaling("W")),
                Field("1-0:2.7.0", _U32, Scaling("W")),
                Field("1-0:1.8.0", _U32, Scaling("Wh")),
                Field("1-0:2.8.0", _U32, Scaling("Wh")),
                Field("1-0:81.7.4", _U16),
                Field("1-0:81.7.15", _U16),
                Field("1-0:81.7.26", _U16),
                Field("0-0:96.1.0", _TEXT),
            ),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Decoded:
    """A body turned into data sets, and how."""

    layout: str
    profile: str | None
    datasets: tuple[DataSet, ...]
    clock: datetime | None


def _number_text(value: int | float, exponent: int) -> str:
    if isinstance(value, float):
        return repr(value * 10**exponent) if exponent else repr(value)
    return str(Decimal(value).scaleb(exponent)) if exponent else str(value)


def _text(raw: bytes) -> str:
    printable = raw.rstrip(b"\x00")
    if printable and all(0x20 <= byte < 0x7F for byte in printable):
        return printable.decode("ascii")
    return raw.hex()


class _Builder:
    def __init__(self) -> None:
        self.datasets: list[DataSet] = []
        self.clock: datetime | None = None

    def add(self, address: str, data: Data, scaling: Scaling | None = None) -> None:
        code = normalize_address(address)[0]
        if scaling is None:
            scaling = REGISTER_SCALING.get(code, Scaling(None))
        if data.tag == DATE_TIME or (data.is_octets(12) and code == "1.0.0"):
            self.add_clock(data)
            return
        value = data.value
        if data.tag == BOOLEAN:
            text = "1" if value else "0"
        elif data.tag in NUMERIC and isinstance(value, int | float):
            text = _number_text(value, scaling.exponent)
        elif isinstance(value, bytes):
            text = _text(value)
        elif isinstance(value, str):
            text = value.rstrip("\x00")
        else:
            return  # null-data, arrays and structures carry no register value
        self.datasets.append(DataSet(address, (DataValue(text, scaling.unit if data.tag in NUMERIC else None),)))

    def add_clock(self, data: Data) -> None:
        stamp = cosem_datetime(data.value) if isinstance(data.value, bytes) else None
        if stamp is None:
            return
        self.clock = stamp
        # the same codes an IEC 62056-21 readout uses for the meter's local date and time
        self.datasets.append(DataSet("0-0:0.9.1", (DataValue(stamp.strftime("%H:%M:%S"), None),)))
        self.datasets.append(DataSet("0-0:0.9.2", (DataValue(stamp.strftime("%y-%m-%d"), None),)))


def _push_list(body: Data) -> tuple[tuple[int, str, int], ...] | None:
    """``(class, OBIS, attribute)`` per element when the body starts with its push object list."""
    items = body.items
    if body.tag != STRUCTURE or not items or items[0].tag != ARRAY or len(items[0].items) != len(items):
        return None
    entries = []
    for entry in items[0].items:
        parts = entry.items
        if len(parts) != 4 or not parts[1].is_octets(6):
            return None
        class_id, attribute = parts[0].value, parts[2].value
        if not isinstance(class_id, int) or not isinstance(attribute, int):
            return None
        entries.append((class_id, obis_text(parts[1].value), attribute))  # type: ignore[arg-type]
    return tuple(entries)


def _pairs_start(body: Data) -> int | None:
    """Index of the first OBIS code when the body is (date-time,) OBIS, value, OBIS, value …."""
    items = body.items
    if body.tag != STRUCTURE or len(items) < 2:
        return None
    start = 1 if items[0].is_octets(12) or items[0].tag == DATE_TIME else 0
    rest = items[start:]
    if len(rest) < 2 or len(rest) % 2 or not all(item.is_octets(6) for item in rest[::2]):
        return None
    return start


def decode_body(body: Data, profile: str | None = None) -> Decoded:
    """Turn a notification body into data sets. ``profile`` forces a positional layout by name."""
    builder = _Builder()
    if (entries := _push_list(body)) is not None:
        for (class_id, address, attribute), data in zip(entries[1:], body.items[1:], strict=True):
            if class_id == CLASS_PUSH_SETUP or attribute == 1:
                continue  # the push setup and logical names describe the push, not the meter
            if class_id == CLASS_CLOCK:
                builder.add_clock(data)
            else:
                builder.add(address, data)
        return Decoded(PUSH_LIST, None, tuple(builder.datasets), builder.clock)
    if (start := _pairs_start(body)) is not None:
        items = body.items
        if start:
            builder.add_clock(items[0])
        for code, data in zip(items[start::2], items[start + 1 :: 2], strict=True):
            builder.add(obis_text(code.value), data)  # type: ignore[arg-type]
        return Decoded(OBIS_PAIRS, None, tuple(builder.datasets), builder.clock)
    if profile is not None:
        chosen = PROFILES.get(profile)
        if chosen is None:
            raise DlmsError(UNKNOWN_LAYOUT, f"no profile named {profile!r}")
        candidates = [chosen]
    else:
        candidates = list(PROFILES.values())
    for candidate in candidates:
        if candidate.matches(body):
            for spec, data in zip(candidate.fields, body.items, strict=True):
                if spec.address == _CLOCK:
                    builder.add_clock(data)
                else:
                    builder.add(spec.address, data, spec.scaling)
            return Decoded(POSITIONAL, candidate.name, tuple(builder.datasets), builder.clock)
    shape = ", ".join(f"0x{item.tag:02x}" for item in body.items) or f"0x{body.tag:02x}"
    raise DlmsError(UNKNOWN_LAYOUT, f"no layout describes a body of types [{shape}]")
