"""Scaler and unit of a register (COSEM class 3 attribute 3, ``scaler_unit``): the power of ten its value is
multiplied by, and the unit from the DLMS unit enumeration (DLMS UA 1000-1 Blue Book, "unit" of the Register
interface class; docs/dlms.md §7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .axdr import ENUM, INT8, STRUCTURE, Data


@dataclass(frozen=True, slots=True)
class Scaling:
    """Unit and power-of-ten scaler of a register."""

    unit: str | None
    exponent: int = 0


# The DLMS unit enumeration, as far as electricity meters use it; 255 is "count" (no unit).
UNIT_NAMES: Final[dict[int, str | None]] = {
    1: "a",
    2: "mo",
    3: "wk",
    4: "d",
    5: "h",
    6: "min",
    7: "s",
    8: "°",
    9: "°C",
    13: "m³",
    14: "m³",
    27: "W",
    28: "VA",
    29: "var",
    30: "Wh",
    31: "VAh",
    32: "varh",
    33: "A",
    34: "C",
    35: "V",
    44: "Hz",
    56: "%",
    57: "Ah",
    255: None,
}


_SCALINGS: dict[tuple[int, int], Scaling] = {}  # one object per (scaler, unit): a meter repeats them every push


def scaler_unit(data: Data) -> Scaling | None:
    """A ``scaler_unit`` structure ``{integer scaler, enum unit}``; ``None`` when ``data`` is not one."""
    items = data.items
    if data.tag != STRUCTURE or len(items) != 2 or items[0].tag != INT8 or items[1].tag != ENUM:
        return None
    scaler, unit = items[0].value, items[1].value
    assert isinstance(scaler, int) and isinstance(unit, int)
    return scaling(scaler, unit)


def scaling(scaler: int, unit: int) -> Scaling | None:
    """The :class:`Scaling` of a ``scaler_unit``'s two numbers; ``None`` for a unit no electricity register
    uses (then it was no scaler_unit after all)."""
    if (known := _SCALINGS.get((scaler, unit))) is not None:
        return known
    if unit not in UNIT_NAMES:
        return None
    made = _SCALINGS[scaler, unit] = Scaling(UNIT_NAMES[unit], scaler)
    return made
