"""Units as meters transmit them, in Home Assistant's spelling, and conversion within a unit family."""

from __future__ import annotations

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import (
    DEGREE,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactivePower,
)

# Unit families: the unit a meter transmits, as Home Assistant spells it, and its factor to the family's base.
UNITS: dict[str, tuple[str, float, SensorDeviceClass | None]] = {
    "wh": (UnitOfEnergy.WATT_HOUR, 1.0, SensorDeviceClass.ENERGY),
    "kwh": (UnitOfEnergy.KILO_WATT_HOUR, 1e3, SensorDeviceClass.ENERGY),
    "mwh": (UnitOfEnergy.MEGA_WATT_HOUR, 1e6, SensorDeviceClass.ENERGY),
    "w": (UnitOfPower.WATT, 1.0, SensorDeviceClass.POWER),
    "kw": (UnitOfPower.KILO_WATT, 1e3, SensorDeviceClass.POWER),
    "mw": ("MW", 1e6, SensorDeviceClass.POWER),
    "var": (UnitOfReactivePower.VOLT_AMPERE_REACTIVE, 1.0, SensorDeviceClass.REACTIVE_POWER),
    "kvar": ("kvar", 1e3, None),
    "varh": ("varh", 1.0, None),
    "kvarh": ("kvarh", 1e3, None),
    "va": (UnitOfApparentPower.VOLT_AMPERE, 1.0, SensorDeviceClass.APPARENT_POWER),
    "kva": ("kVA", 1e3, None),
    "vah": ("VAh", 1.0, None),
    "kvah": ("kVAh", 1e3, None),
    "v": (UnitOfElectricPotential.VOLT, 1.0, SensorDeviceClass.VOLTAGE),
    "kv": (UnitOfElectricPotential.KILOVOLT, 1e3, SensorDeviceClass.VOLTAGE),
    "a": (UnitOfElectricCurrent.AMPERE, 1.0, SensorDeviceClass.CURRENT),
    "ma": (UnitOfElectricCurrent.MILLIAMPERE, 1e-3, SensorDeviceClass.CURRENT),
    "hz": (UnitOfFrequency.HERTZ, 1.0, SensorDeviceClass.FREQUENCY),
    "deg": (DEGREE, 1.0, None),
    "°": (DEGREE, 1.0, None),
}
_FAMILY = {
    key: family
    for family, keys in {
        "energy": ("wh", "kwh", "mwh"),
        "power": ("w", "kw", "mw"),
        "reactive_power": ("var", "kvar"),
        "reactive_energy": ("varh", "kvarh"),
        "apparent_power": ("va", "kva"),
        "apparent_energy": ("vah", "kvah"),
        "voltage": ("v", "kv"),
        "current": ("a", "ma"),
    }.items()
    for key in keys
}


def decimals(text: str) -> int:
    """Decimal places of a value as transmitted: what the meter's display shows."""
    return len(text.split(".", 1)[1].strip()) if "." in text else 0


def factor(unit: str | None, target: str | None) -> float | None:
    """What a value in ``unit`` is multiplied by to be in ``target`` (same family only); ``None``: not convertible."""
    source, wanted = (unit or "").lower(), (target or "").lower()
    if source == wanted:
        return 1.0
    if source in _FAMILY and _FAMILY.get(source) == _FAMILY.get(wanted):
        return UNITS[source][1] / UNITS[wanted][1]
    return None


def convert(value: float, unit: str | None, target: str | None) -> float | None:
    """``value`` in ``unit`` expressed in ``target`` (same family only); ``None`` when not convertible."""
    scale = factor(unit, target)
    return None if scale is None else value * scale
