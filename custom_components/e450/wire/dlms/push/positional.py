"""Positional layouts: bodies that carry values without their OBIS codes, whose meaning a utility's list gives by
position (docs/dlms.md §6.3, §6.5).

A profile is one utility's set of lists: a meter pushes several (every second, every quarter of an hour, every
hour), each a structure of a fixed number of elements. A body matches a list only when it has exactly its number of
elements with exactly its A-XDR types; forcing a profile by name restricts the choice to its lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..axdr import (
    ARRAY,
    BOOLEAN,
    DATE_TIME,
    ENUM,
    INT16,
    INT32,
    OCTET_STRING,
    STRUCTURE,
    UINT8,
    UINT16,
    UINT32,
    VISIBLE_STRING,
    Data,
)
from ..units import Scaling

CLOCK: Final = "0-0:1.0.0"  # a position holding the meter's date and time
TIME: Final = "0-0:0.9.1"  # a position holding the meter's time alone (a 4-byte COSEM time as an octet-string)
DATE: Final = "0-0:0.9.2"  # … its date alone (a 5-byte COSEM date as an octet-string)
UNKNOWN: Final = ""  # a position no source explains: its type is part of the list's signature, its value unused


@dataclass(frozen=True, slots=True)
class Field:
    """One position of a list: the register it holds, the A-XDR types it may have, its unit and scaler."""

    address: str
    types: frozenset[int]
    scaling: Scaling = Scaling(None)  # noqa: RUF009 - frozen: one shared instance is safe
    size: int | None = None  # a string's exact length, where it tells lists of the same types apart


Fields = tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Profile:
    """A utility's positional lists: the meaning of each element of each body structure it pushes."""

    name: str
    lists: tuple[Fields, ...]

    def layout(self, body: Data) -> Fields | None:
        """The list whose positions and A-XDR types the body has exactly, or ``None``."""
        if body.tag != STRUCTURE:
            return None
        items = body.items
        for fields in self.lists:
            if len(items) == len(fields) and all(
                item.tag in spec.types and (spec.size is None or len(item.value) == spec.size)  # type: ignore[arg-type]
                for item, spec in zip(items, fields, strict=True)
            ):
                return fields
        return None

    def matches(self, body: Data) -> bool:
        """The body is one of this profile's lists."""
        return self.layout(body) is not None


_U32 = frozenset({UINT32})
_U16 = frozenset({UINT16})
_OCTETS = frozenset({OCTET_STRING})
_U8 = frozenset({UINT8})
_TEXT = frozenset({OCTET_STRING, VISIBLE_STRING})
_DATE_TIME = frozenset({OCTET_STRING, DATE_TIME})
# Kaifa's list document gives currents as long (int16) and voltages as long-unsigned, while the meters send
# double-long-unsigned: any integer of 2 or 4 bytes is accepted where the list has a number
_INTEGER = frozenset({UINT32, INT32, UINT16, INT16})


def _fields(types: frozenset[int], unit: str | None, exponent: int, *codes: str) -> Fields:
    return tuple(Field(code, types, Scaling(unit, exponent)) for code in codes)


def _texts(*codes: str) -> Fields:
    return tuple(Field(code, _TEXT) for code in codes)


# Wiener Netze (optical port): date-time, +A, -A, +R, -R (Wh, varh), +P, -P, +Q, -Q (W, var)
WIENER_NETZE: Final = (
    Field(CLOCK, _DATE_TIME, size=12),  # an Iskraemeco list of a name and eight numbers differs only by this length
    *_fields(_U32, "Wh", 0, "1-0:1.8.0", "1-0:2.8.0"),
    *_fields(_U32, "varh", 0, "1-0:3.8.0", "1-0:4.8.0"),
    *_fields(_U32, "W", 0, "1-0:1.7.0", "1-0:2.7.0"),
    *_fields(_U32, "var", 0, "1-0:3.7.0", "1-0:4.7.0"),
)

# Netz Burgenland: U L1-L3 (V), I L1-L3 (0.01 A), +P, -P (W), +A, -A (Wh), angle U-I L1-L3 (unit not published:
# kept raw), meter number
NETZ_BURGENLAND: Final = (
    *_fields(_U16, "V", 0, "1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"),
    *_fields(_U16, "A", -2, "1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"),
    *_fields(_U32, "W", 0, "1-0:1.7.0", "1-0:2.7.0"),
    *_fields(_U32, "Wh", 0, "1-0:1.8.0", "1-0:2.8.0"),
    *_fields(_U16, None, 0, "1-0:81.7.4", "1-0:81.7.15", "1-0:81.7.26"),
    *_texts("0-0:96.1.0"),
)


def _kaifa(phases: int, *, hourly: bool) -> Fields:
    """Kaifa's Norwegian HAN list 2 (every 10 s) or 3 (every hour, with the clock and the energies), one- or
    three-phase: list version id (KFM_001), meter id (GS1), meter type, +P, -P (W), +Q, -Q (var), I (mA), U (0.1 V)
    per phase (Kaifa "HAN OBIS codes KFM_001"; units as amsreader-firmware reads them: current / 1000, voltage / 10,
    energy in Wh)."""
    currents = ("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0")[:phases]
    voltages = ("1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0")[:phases]
    fields = (
        *_texts("1-1:0.2.129", "0-0:96.1.0", "0-0:96.1.7"),
        *_fields(_INTEGER, "W", 0, "1-0:1.7.0", "1-0:2.7.0"),
        *_fields(_INTEGER, "var", 0, "1-0:3.7.0", "1-0:4.7.0"),
        *_fields(_INTEGER, "A", -3, *currents),
        *_fields(_INTEGER, "V", -1, *voltages),
    )
    if not hourly:
        return fields
    return (
        *fields,
        Field(CLOCK, _DATE_TIME),
        *_fields(_INTEGER, "Wh", 0, "1-0:1.8.0", "1-0:2.8.0"),
        *_fields(_INTEGER, "varh", 0, "1-0:3.8.0", "1-0:4.8.0"),
    )


# Kaifa (MA304, MA105) on the Norwegian HAN port: list 1 (every 2 s) is +P alone; lists 2 and 3 by element count
# (9 and 14 one-phase, 13 and 18 three-phase), as the NVE HAN lists define them.
KAIFA_NORWAY: Final = (
    (Field("1-0:1.7.0", _U32, Scaling("W")),),
    _kaifa(1, hourly=False),
    _kaifa(3, hourly=False),
    _kaifa(1, hourly=True),
    _kaifa(3, hourly=True),
)

# Iskraemeco AM550 of Elektro Ljubljana (Slovenia), P1 port. The utility's table (amsreader-firmware issues #615,
# #956; read the same way by its decoder): logical device name, device id, then every second +P, -P (W), +Q, -Q
# (var), U L1-L3 (0.1 V), I L1-L3 (0.01 A), +P L1-L3, -P L1-L3 (W); every quarter of an hour the disconnect
# control state, the active tariff, +A total, tariff 1, tariff 2, -A total, tariff 1, tariff 2 (Wh), +R, -R (varh).
# Meters with firmware ED1.21 and other set-ups push shorter lists (issue #869, read by the same decoder; the
# energies' places confirmed by the captures: tariffs add to their total, +A grows with +P over a quarter hour):
# single-phase every second, with or without the current and the phase's +P, -P; a name and +A, -A every quarter
# hour; three-phase, the logical device name, +P, -P (W) and the six energies (Wh).
ISKRA_LJUBLJANA_ED121: Final = (
    (
        *_texts("0-0:42.0.0", "0-0:96.1.2"),
        *_fields(_U32, "W", 0, "1-0:1.7.0", "1-0:2.7.0"),
        *_fields(_U32, "var", 0, "1-0:3.7.0", "1-0:4.7.0"),
        Field("1-0:32.7.0", _U16, Scaling("V", -1)),
        *_fields(_U32, "Wh", 0, "1-0:2.8.1", "1-0:2.8.2"),
    ),
    (
        *_texts("0-0:42.0.0", "0-0:96.1.2"),
        *_fields(_U32, "W", 0, "1-0:1.7.0", "1-0:2.7.0"),
        *_fields(_U32, "var", 0, "1-0:3.7.0", "1-0:4.7.0"),
        Field("1-0:32.7.0", _U16, Scaling("V", -1)),
        Field("1-0:31.7.0", _U16, Scaling("A", -2)),
        *_fields(_U32, "W", 0, "1-0:21.7.0", "1-0:22.7.0"),
    ),
    (Field(UNKNOWN, _OCTETS), Field(UNKNOWN, _U8), *_fields(_U32, "Wh", 0, "1-0:1.8.0", "1-0:2.8.0")),
    (
        *_texts("0-0:42.0.0"),
        *_fields(_U32, "W", 0, "1-0:1.7.0", "1-0:2.7.0"),
        *_fields(_U32, "Wh", 0, "1-0:1.8.0", "1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.0", "1-0:2.8.1", "1-0:2.8.2"),
    ),
)
ISKRA_LJUBLJANA: Final = (
    (
        *_texts("0-0:42.0.0", "0-0:96.1.3"),
        *_fields(_U32, "W", 0, "1-0:1.7.0", "1-0:2.7.0"),
        *_fields(_U32, "var", 0, "1-0:3.7.0", "1-0:4.7.0"),
        *_fields(_U16, "V", -1, "1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"),
        *_fields(_U16, "A", -2, "1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"),
        *_fields(_U32, "W", 0, "1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0", "1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0"),
    ),
    (
        *_texts("0-0:42.0.0", "0-0:96.1.3"),
        Field("0-0:96.3.10", frozenset({ENUM, BOOLEAN})),
        *_texts("0-0:96.14.0"),
        *_fields(_U32, "Wh", 0, "1-0:1.8.0", "1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.0", "1-0:2.8.1", "1-0:2.8.2"),
        *_fields(_U32, "varh", 0, "1-0:3.8.0", "1-0:4.8.0"),
    ),
)

# Iskraemeco AM550 of Elektro Celje (Slovenia), RJ12 port: logical device name, meter id, U L1-L3 (0.1 V), I L1-L3
# (0.01 A), +P, -P (W), +Q, -Q (var) (amsreader-firmware's decoder and the values its tests state for issue #615's
# frames; tests/fixtures/dlms/iskra_si_hdlc_positional_celje.txt).
ISKRA_CELJE: Final = (
    *_texts("0-0:42.0.0", "0-0:96.1.2"),
    *_fields(_U16, "V", -1, "1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"),
    *_fields(_U16, "A", -2, "1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"),
    *_fields(_U32, "W", 0, "1-0:1.7.0", "1-0:2.7.0"),
    *_fields(_U32, "var", 0, "1-0:3.7.0", "1-0:4.7.0"),
)

# Iskraemeco IE.5 in Croatia (Elektra Zabok), P1 port: serial, time, date, +A total, tariff 1, 2, -A total, tariff 1,
# 2 (Wh), reactive energy of quadrants I-IV (varh), +P, -P (W), power factor (0.001), +P L1-L3, -P L1-L3 (W), U L1-L3
# (0.1 V), I L1-L3 (0.01 A), then five values no source explains (amsreader-firmware issue #1072, its decoder and
# the scaling stated there; tests/fixtures/dlms/iskra_hr_hdlc_positional_hep.txt).
ISKRA_CROATIA: Final = (
    Field("0-0:96.1.0", _OCTETS),
    Field(TIME, _OCTETS),
    Field(DATE, _OCTETS),
    *_fields(_U32, "Wh", 0, "1-0:1.8.0", "1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.0", "1-0:2.8.1", "1-0:2.8.2"),
    *_fields(_U32, "varh", 0, "1-0:5.8.0", "1-0:6.8.0", "1-0:7.8.0", "1-0:8.8.0"),
    *_fields(_U32, "W", 0, "1-0:1.7.0", "1-0:2.7.0"),
    Field("1-0:13.7.0", _U16, Scaling(None, -3)),
    *_fields(_U32, "W", 0, "1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0", "1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0"),
    *_fields(_U16, "V", -1, "1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"),
    *_fields(_U16, "A", -2, "1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"),
    Field(UNKNOWN, _U32),
    *(Field(UNKNOWN, frozenset({ARRAY})) for _ in range(3)),
    Field(UNKNOWN, frozenset({BOOLEAN})),
)
# … and its 28-element list (HEP Elektroistra, issue #1174): the same without the reactive energies and the power
# factor.
ISKRA_CROATIA_28: Final = tuple(field for index, field in enumerate(ISKRA_CROATIA) if index not in (9, 10, 11, 12, 15))

PROFILES: Final[dict[str, Profile]] = {
    profile.name: profile
    for profile in (
        Profile("wiener-netze", (WIENER_NETZE,)),
        Profile("netz-burgenland", (NETZ_BURGENLAND,)),
        Profile("kaifa-norway", KAIFA_NORWAY),
        Profile("iskra-elektro-ljubljana", (*ISKRA_LJUBLJANA, *ISKRA_LJUBLJANA_ED121)),
        Profile("iskra-elektro-celje", (ISKRA_CELJE,)),
        Profile("iskra-croatia", (ISKRA_CROATIA, ISKRA_CROATIA_28)),
    )
}
