"""Scaler and unit of a register (COSEM class 3 attribute 3, ``scaler_unit``): the power of ten its value is
multiplied by, and the unit from the DLMS unit enumeration (DLMS UA 1000-1 Blue Book, "unit" of the Register
interface class; docs/dlms.md §7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .axdr import ENUM, INT8, STRUCTURE, Data, cosem_datetime

# where a register (class 3) and an extended register (class 4) keep what describes their value (Blue Book)
SCALER_UNIT: Final = 3
CAPTURE_TIME: Final = 5


@dataclass(frozen=True, slots=True)
class Scaling:
    """Unit and power-of-ten scaler of a register. ``from_table``: the unit was an enumeration value we do not
    know, so the unit comes from the OBIS table while the scaler is the body's."""

    unit: str | None
    exponent: int = 0
    from_table: bool = False


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
    15: "m³/h",
    16: "m³/h",
    19: "L",
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
    52: "K",
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


def scaling(scaler: int, unit: int) -> Scaling:
    """The :class:`Scaling` of a ``scaler_unit``'s two numbers. The scaler holds whatever the unit: a unit
    this table does not name (0 and other values meters send by mistake among them) leaves the unit to the OBIS
    table."""
    if (known := _SCALINGS.get((scaler, unit))) is not None:
        return known
    made = Scaling(UNIT_NAMES[unit], scaler) if unit in UNIT_NAMES else Scaling(None, scaler, from_table=True)
    _SCALINGS[scaler, unit] = made
    return made


def attribute_value(attribute: int, data: Data) -> object | None:
    """An attribute that describes a register rather than being its value, as a push and a client read keep it in
    ``Readout.attributes``: a scaler_unit as a :class:`Scaling`, a capture time as the meter's local time (naive),
    anything else (a status, a device type) as decoded; ``None`` when there is nothing to keep."""
    if attribute == SCALER_UNIT:
        return scaler_unit(data)
    if attribute == CAPTURE_TIME and isinstance(data.value, bytes):
        return cosem_datetime(data.value)
    return data.value
