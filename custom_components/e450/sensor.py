"""Sensors, created from what the meter actually sends, through one table keyed by normalised OBIS code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
import logging

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    DEGREE,
    PERCENTAGE,
    EntityCategory,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactivePower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .const import RESET_CONFIRMATIONS
from .coordinator import E450ConfigEntry, E450Coordinator, ReadStatistics
from .entity import E450Entity
from .guard import EnergyGuard, GuardVerdict
from .iec62056 import DataSet, Readout
from .iec62056.dataset import numeric_value
from .meter_info import meter_clock

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0

# Unit families: the unit a meter transmits, as Home Assistant spells it, and its factor to the family's base.
_UNITS: dict[str, tuple[str, float, SensorDeviceClass | None]] = {
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


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1].strip()) if "." in text else 0


def convert(value: float, unit: str | None, target: str | None) -> float | None:
    """``value`` in ``unit`` expressed in ``target`` (same family only); ``None`` when not convertible."""
    source, wanted = (unit or "").lower(), (target or "").lower()
    if source == wanted:
        return value
    if source in _FAMILY and _FAMILY.get(source) == _FAMILY.get(wanted):
        return value * _UNITS[source][1] / _UNITS[wanted][1]
    return None


@dataclass(frozen=True, kw_only=True)
class E450SensorEntityDescription(SensorEntityDescription):
    """A sensor fed from one OBIS code of the readout."""

    value_fn: Callable[[Readout, str], StateType | datetime] | None = None  # None: the numeric value
    energy_register: bool = False  # guarded against drops; usable in the Energy dashboard


def _energy(key: str, translation_key: str) -> E450SensorEntityDescription:
    return E450SensorEntityDescription(
        key=key,
        translation_key=translation_key,
        state_class=SensorStateClass.TOTAL_INCREASING,
        energy_register=True,
    )


def _measurement(key: str, translation_key: str, *, diagnostic: bool = False) -> E450SensorEntityDescription:
    return E450SensorEntityDescription(
        key=key,
        translation_key=translation_key,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC if diagnostic else None,
        entity_registry_enabled_default=not diagnostic,
    )


def _text(readout: Readout, code: str) -> str | None:
    return readout.text(code)


def _counter(readout: Readout, code: str) -> int | None:
    reading = readout.number(code)
    return None if reading is None else int(reading.value)


def _clock(readout: Readout, code: str) -> datetime | None:
    clock = meter_clock(readout)
    return None if clock is None else clock.replace(tzinfo=dt_util.get_default_time_zone())


def _power_factor(readout: Readout, code: str) -> float | None:
    reading = readout.number(code)
    return None if reading is None else reading.value


SENSORS: dict[str, E450SensorEntityDescription] = {
    "1.8.0": _energy("1.8.0", "energy_import"),
    "2.8.0": _energy("2.8.0", "energy_export"),
    "15.8.0": _energy("15.8.0", "energy_absolute"),
    "3.8.0": _energy("3.8.0", "reactive_energy_import"),
    "4.8.0": _energy("4.8.0", "reactive_energy_export"),
    **{f"1.8.{t}": _energy(f"1.8.{t}", "energy_import_tariff") for t in range(1, 10)},
    **{f"2.8.{t}": _energy(f"2.8.{t}", "energy_export_tariff") for t in range(1, 10)},
    **{f"3.8.{t}": _energy(f"3.8.{t}", "reactive_energy_import_tariff") for t in range(1, 10)},
    **{f"4.8.{t}": _energy(f"4.8.{t}", "reactive_energy_export_tariff") for t in range(1, 10)},
    "1.7.0": _measurement("1.7.0", "power_import"),
    "2.7.0": _measurement("2.7.0", "power_export"),
    "16.7.0": _measurement("16.7.0", "power"),
    "3.7.0": _measurement("3.7.0", "reactive_power_import"),
    "4.7.0": _measurement("4.7.0", "reactive_power_export"),
    "131.7.0": _measurement("131.7.0", "reactive_power"),
    **{
        f"{c}.7.0": _measurement(f"{c}.7.0", key, diagnostic=True)
        for c, key in (
            (21, "power_import_l1"),
            (41, "power_import_l2"),
            (61, "power_import_l3"),
            (22, "power_export_l1"),
            (42, "power_export_l2"),
            (62, "power_export_l3"),
            (36, "power_l1"),
            (56, "power_l2"),
            (76, "power_l3"),
            (151, "reactive_power_l1"),
            (171, "reactive_power_l2"),
            (191, "reactive_power_l3"),
        )
    },
    "32.7.0": _measurement("32.7.0", "voltage_l1"),
    "52.7.0": _measurement("52.7.0", "voltage_l2"),
    "72.7.0": _measurement("72.7.0", "voltage_l3"),
    "31.7.0": _measurement("31.7.0", "current_l1"),
    "51.7.0": _measurement("51.7.0", "current_l2"),
    "71.7.0": _measurement("71.7.0", "current_l3"),
    "14.7.0": _measurement("14.7.0", "frequency"),
    "13.7.0": E450SensorEntityDescription(
        key="13.7.0",
        translation_key="power_factor",
        device_class=SensorDeviceClass.POWER_FACTOR,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_power_factor,
    ),
    **{
        f"{c}.7.0": E450SensorEntityDescription(
            key=f"{c}.7.0",
            translation_key=key,
            device_class=SensorDeviceClass.POWER_FACTOR,
            state_class=SensorStateClass.MEASUREMENT,
            entity_category=EntityCategory.DIAGNOSTIC,
            entity_registry_enabled_default=False,
            value_fn=_power_factor,
        )
        for c, key in ((33, "power_factor_l1"), (53, "power_factor_l2"), (73, "power_factor_l3"))
    },
    **{
        f"81.7.{e}": _measurement(f"81.7.{e}", key, diagnostic=True)
        for e, key in (
            (1, "angle_u2_u1"),
            (2, "angle_u3_u1"),
            (4, "angle_i1_u1"),
            (15, "angle_i2_u2"),
            (26, "angle_i3_u3"),
        )
    },
    "F.F": E450SensorEntityDescription(
        key="F.F", translation_key="error_register", entity_category=EntityCategory.DIAGNOSTIC, value_fn=_text
    ),
    "C.7.0": E450SensorEntityDescription(
        key="C.7.0",
        translation_key="power_failures",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_counter,
    ),
    "0.9.1": E450SensorEntityDescription(
        key="clock",
        translation_key="meter_clock",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_clock,
    ),
}

TARIFF_KEYS = frozenset(
    {"energy_import_tariff", "energy_export_tariff", "reactive_energy_import_tariff", "reactive_energy_export_tariff"}
)
PHASE_ANGLE_CODES = frozenset(code for code in SENSORS if code.startswith("81.7."))


def _generic(code: str) -> E450SensorEntityDescription:
    """An OBIS code we have no description for: numeric with a unit, shown but disabled by default."""
    return E450SensorEntityDescription(
        key=code,
        translation_key="obis_value",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
    )


def descriptions_for(readout: Readout) -> list[tuple[str, E450SensorEntityDescription, DataSet]]:
    """The sensors this meter's readout supports, in readout order, once per code."""
    found: list[tuple[str, E450SensorEntityDescription, DataSet]] = []
    seen: set[str] = set()
    for dataset in readout.datasets:
        code = dataset.obis
        if dataset.history is not None or code in seen or dataset.first is None:
            continue
        description = SENSORS.get(code)
        if description is None:
            if dataset.first.unit and numeric_value(dataset.first.value) is not None:
                description = _generic(code)
            else:
                continue
        elif description.value_fn is None and numeric_value(dataset.first.value) is None:
            continue
        if code == "0.9.1" and meter_clock(readout) is None:
            continue
        seen.add(code)
        found.append((code, description, dataset))
    return found


async def async_setup_entry(
    hass: HomeAssistant, entry: E450ConfigEntry, async_add_entities: AddEntitiesCallback
) -> None:
    """Create the sensors the first readout supports."""
    coordinator = entry.runtime_data
    entities: list[E450Entity] = [
        E450ObisSensor(coordinator, code, description, dataset)
        for code, description, dataset in descriptions_for(coordinator.data)
    ]
    entities.extend(E450StatisticsSensor(coordinator, description) for description in STATISTICS_SENSORS)
    async_add_entities(entities)


class E450ObisSensor(E450Entity, RestoreSensor):
    """A register of the meter."""

    entity_description: E450SensorEntityDescription

    def __init__(
        self, coordinator: E450Coordinator, code: str, description: E450SensorEntityDescription, dataset: DataSet
    ) -> None:
        super().__init__(coordinator, description.key)
        self.entity_description = description
        self._code = code
        first = dataset.first
        assert first is not None
        unit_info = _UNITS.get((first.unit or "").lower())
        if description.value_fn is None and first.unit:
            # units exactly as the meter transmits them (kWh, Wh, MWh, kW, W …), never rescaled to a fixed unit
            self._attr_native_unit_of_measurement = unit_info[0] if unit_info else first.unit
            self._attr_device_class = unit_info[2] if unit_info else None
            self._attr_suggested_display_precision = _decimals(first.value)
        if description.translation_key in TARIFF_KEYS:
            self._attr_translation_placeholders = {"tariff": code.rsplit(".", 1)[1]}
        elif description.translation_key == "obis_value":
            self._attr_translation_placeholders = {"code": code}
        self._guard = EnergyGuard(RESET_CONFIRMATIONS) if description.energy_register else None
        self._attr_native_value = self._value()
        self._shown: tuple[object, bool] | None = None  # what the state machine has

    async def async_added_to_hass(self) -> None:
        """Seed the energy guard with the last value recorded before a restart."""
        await super().async_added_to_hass()
        if self._guard is None:
            return
        last = await self.async_get_last_sensor_data()
        if (
            last is not None
            and isinstance(last.native_value, (int, float, Decimal))
            and last.native_unit_of_measurement == self.native_unit_of_measurement
        ):
            # the first read ran before the restore: judge it against the value recorded before the restart
            current = self._guard.published
            self._guard = EnergyGuard(RESET_CONFIRMATIONS, published=float(last.native_value))
            if current is not None:
                self._guard.check(current)
            self._attr_native_value = self._guard.published

    def _value(self) -> StateType | datetime:
        readout = self.coordinator.data
        description = self.entity_description
        if description.value_fn is not None:
            return description.value_fn(readout, self._code)
        reading = readout.number(self._code)
        if reading is None:
            return None
        value = convert(reading.value, reading.unit, self.native_unit_of_measurement)
        if value is None or self._guard is None:
            return value
        previous = self._guard.published
        verdict = self._guard.check(value)
        if verdict is GuardVerdict.HELD:
            _LOGGER.warning(
                "%s: %s read %s %s, lower than %s; holding the last value until the meter confirms it",
                self.coordinator.config_entry.title,
                self._code,
                value,
                self.native_unit_of_measurement,
                previous,
            )
        elif verdict is GuardVerdict.RESET:
            _LOGGER.warning(
                "%s: %s went from %s to %s %s over %s reads: the meter was reset or replaced",
                self.coordinator.config_entry.title,
                self._code,
                previous,
                value,
                self.native_unit_of_measurement,
                RESET_CONFIRMATIONS,
            )
        return self._guard.published

    @property
    def available(self) -> bool:
        """Unavailable when the read failed or the meter stopped sending this register."""
        return super().available and self._attr_native_value is not None

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when something changed: an unchanged meter costs no state writes."""
        if self.coordinator.last_update_success:
            self._attr_native_value = self._value()
        shown = (self._attr_native_value, self.available)
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()


@dataclass(frozen=True, kw_only=True)
class E450StatisticsSensorEntityDescription(SensorEntityDescription):
    """A sensor about the reads themselves."""

    statistic_fn: Callable[[ReadStatistics], StateType]


STATISTICS_SENSORS: tuple[E450StatisticsSensorEntityDescription, ...] = (
    E450StatisticsSensorEntityDescription(
        key="last_read_duration",
        translation_key="last_read_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        statistic_fn=lambda stats: None if stats.last_duration is None else round(stats.last_duration, 3),
    ),
    E450StatisticsSensorEntityDescription(
        key="baud",
        translation_key="baud",
        native_unit_of_measurement="Bd",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        statistic_fn=lambda stats: stats.baud,
    ),
    E450StatisticsSensorEntityDescription(
        key="read_success_rate",
        translation_key="read_success_rate",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        statistic_fn=lambda stats: stats.success_rate,
    ),
)


class E450StatisticsSensor(E450Entity, SensorEntity):
    """Read duration, baud rate in use, success rate: available even when the last read failed."""

    entity_description: E450StatisticsSensorEntityDescription

    def __init__(self, coordinator: E450Coordinator, description: E450StatisticsSensorEntityDescription) -> None:
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """The statistics are about the link, so they stay available when it fails."""
        return True

    @property
    def native_value(self) -> StateType:
        """The statistic's current value."""
        return self.entity_description.statistic_fn(self.coordinator.statistics)
