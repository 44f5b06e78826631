"""Units as meters transmit them, in Home Assistant's spelling and with their device class; conversion within a
unit family comes from :mod:`.scales`."""

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

from .compat import sensor_device_class

# Units whose device class depends on the Home Assistant version (see compat.sensor_device_class): 2025.4 has no
# reactive energy and takes only var and VA for reactive and apparent power; current versions take all of these.
VERSION_DEPENDENT: dict[str, str] = {
    "kvar": "reactive_power",
    "kva": "apparent_power",
    "varh": "reactive_energy",
    "kvarh": "reactive_energy",
}

# The unit a meter transmits, as Home Assistant spells it, and the device class it gives a sensor.
UNITS: dict[str, tuple[str, SensorDeviceClass | None]] = {
    "wh": (UnitOfEnergy.WATT_HOUR, SensorDeviceClass.ENERGY),
    "kwh": (UnitOfEnergy.KILO_WATT_HOUR, SensorDeviceClass.ENERGY),
    "mwh": (UnitOfEnergy.MEGA_WATT_HOUR, SensorDeviceClass.ENERGY),
    "w": (UnitOfPower.WATT, SensorDeviceClass.POWER),
    "kw": (UnitOfPower.KILO_WATT, SensorDeviceClass.POWER),
    "mw": ("MW", SensorDeviceClass.POWER),
    "var": (UnitOfReactivePower.VOLT_AMPERE_REACTIVE, SensorDeviceClass.REACTIVE_POWER),
    "kvar": ("kvar", sensor_device_class(VERSION_DEPENDENT["kvar"], "kvar")),
    "varh": ("varh", sensor_device_class(VERSION_DEPENDENT["varh"], "varh")),
    "kvarh": ("kvarh", sensor_device_class(VERSION_DEPENDENT["kvarh"], "kvarh")),
    "va": (UnitOfApparentPower.VOLT_AMPERE, SensorDeviceClass.APPARENT_POWER),
    "kva": ("kVA", sensor_device_class(VERSION_DEPENDENT["kva"], "kVA")),
    "vah": ("VAh", None),
    "kvah": ("kVAh", None),
    "v": (UnitOfElectricPotential.VOLT, SensorDeviceClass.VOLTAGE),
    "kv": (UnitOfElectricPotential.KILOVOLT, SensorDeviceClass.VOLTAGE),
    "a": (UnitOfElectricCurrent.AMPERE, SensorDeviceClass.CURRENT),
    "ma": (UnitOfElectricCurrent.MILLIAMPERE, SensorDeviceClass.CURRENT),
    "hz": (UnitOfFrequency.HERTZ, SensorDeviceClass.FREQUENCY),
    "deg": (DEGREE, None),
    "°": (DEGREE, None),
}


def decimals(text: str) -> int:
    """Decimal places of a value as transmitted: what the meter's display shows."""
    return len(text.split(".", 1)[1].strip()) if "." in text else 0
