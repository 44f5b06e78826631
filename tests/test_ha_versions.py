"""What differs between the Home Assistant versions we test (the floor and the newest): the deprecation gate of
tests/conftest.py, and the device classes compat.py gives where a version has them."""

from __future__ import annotations

import logging

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS

from custom_components.e450.compat import sensor_device_class
from custom_components.e450.units import UNITS, VERSION_DEPENDENT

from .conftest import deprecations_naming_us


def record(message: str, level: int = logging.WARNING, name: str = "homeassistant.helpers.frame") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_the_gate_catches_what_home_assistant_reports_for_us() -> None:
    reports = [
        # helpers/frame.py, by integration domain and by frame
        "Detected that custom integration 'e450' has an update listener and should use it for scheduling a reload. "
        "This will stop working in Home Assistant 2026.12.0, please create a bug report at https://example.invalid",
        "Detected that custom integration 'e450' calls async_get_device at custom_components/e450/repairs.py, line 9: "
        "devices.async_get_device(...). This will stop working in Home Assistant 2027.1, please report it",
        # helpers/deprecation.py
        "UNIT_X was used from e450, this is a deprecated constant which will be removed in HA Core 2027.1. "
        "Use UnitX instead, please report it to the author of the 'e450' custom integration",
        # an entity's deprecated property, named by its class
        "Entity sensor.x (<class 'custom_components.e450.sensor.E450ObisSensor'>) is using deprecated state_class",
    ]
    assert deprecations_naming_us([record(message) for message in reports]) == reports


def test_the_gate_lets_other_integrations_and_our_own_warnings_be() -> None:
    others = [
        record("Detected that custom integration 'hacs' calls x. This will stop working in Home Assistant 2027.1"),
        record("Detected that custom integration 'e4500' does y, which is deprecated"),
        record("Landis+Gyr E450: 1.8.0 read 1 kWh, lower than 2; holding it", name="custom_components.e450.sensor"),
        record("custom integration 'e450' is deprecated", level=logging.INFO),  # below WARNING: not a report
    ]
    assert deprecations_naming_us(others) == []


def test_version_dependent_units_get_their_device_class_where_home_assistant_has_it() -> None:
    for unit, name in VERSION_DEPENDENT.items():
        spelling, device_class = UNITS[unit]
        known = {member.value: member for member in SensorDeviceClass}
        expected = known.get(name)
        if expected is not None and spelling not in DEVICE_CLASS_UNITS.get(expected, ()):
            expected = None
        assert device_class == expected, unit
    assert sensor_device_class("no_such_class", "kWh") is None
    assert sensor_device_class("energy", "kWh") is SensorDeviceClass.ENERGY
    assert sensor_device_class("energy", "kvarh") is None  # not a unit of that class
