"""Sensors, created from what the meter actually sends, through one table keyed by normalised OBIS code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
import logging
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntityDescription,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .const import RESET_CONFIRMATIONS
from .coordinator import E450ConfigEntry, E450Coordinator
from .dispatch import NEW_REGISTERS
from .entity import E450Entity
from .guard import EnergyGuard, log_verdict
from .meter_info import meter_clock
from .read_sensors import STATISTICS_SENSORS, E450StatisticsSensor
from .scales import scale
from .submeters import async_setup_submeters
from .units import UNITS, decimals
from .wire import DataSet, Readout
from .wire.obis import CLOCK_DATE, CLOCK_TIME, OBIS, Kind, Quantity

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0


@dataclass
class E450StoredData(SensorExtraStoredData):
    """What a register's sensor keeps across restarts: the value, its unit and the power of ten it was shown at
    (``None``: the meter sent its scale)."""

    exponent: int | None

    def as_dict(self) -> dict[str, Any]:
        """The sensor's stored data with the exponent."""
        return {**super().as_dict(), "exponent": self.exponent}


@dataclass(frozen=True, kw_only=True)
class E450SensorEntityDescription(SensorEntityDescription):
    """A sensor fed from one OBIS code of the readout."""

    value_fn: Callable[[Readout, str], StateType | datetime] | None = None  # None: the numeric value
    energy_register: bool = False  # guarded against drops; usable in the Energy dashboard
    reads: tuple[str, ...] = ()  # the codes value_fn reads besides the sensor's own


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


def _description(code: str, quantity: Quantity) -> E450SensorEntityDescription | None:
    """The sensor of a code the OBIS table names; ``None`` for codes without a sensor of their own."""
    name = quantity.name
    if name is None:
        return None
    per_phase = name[-3:] in ("_l1", "_l2", "_l3")
    match quantity.kind:
        case Kind.ENERGY:
            return _energy(code, name)
        case Kind.POWER_FACTOR:
            return E450SensorEntityDescription(
                key=code,
                translation_key=name,
                device_class=SensorDeviceClass.POWER_FACTOR,
                state_class=SensorStateClass.MEASUREMENT,
                entity_category=EntityCategory.DIAGNOSTIC if per_phase else None,
                entity_registry_enabled_default=not per_phase,
                value_fn=_power_factor,
            )
        case Kind.STATUS:
            return E450SensorEntityDescription(
                key=code, translation_key=name, entity_category=EntityCategory.DIAGNOSTIC, value_fn=_text
            )
        case Kind.COUNTER:
            return E450SensorEntityDescription(
                key=code,
                translation_key=name,
                state_class=SensorStateClass.TOTAL_INCREASING,
                entity_category=EntityCategory.DIAGNOSTIC,
                value_fn=_counter,
            )
        case Kind.CLOCK:
            return E450SensorEntityDescription(
                key="clock",
                translation_key=name,
                device_class=SensorDeviceClass.TIMESTAMP,
                entity_category=EntityCategory.DIAGNOSTIC,
                value_fn=_clock,
                reads=(CLOCK_DATE,),
            )
    # per-phase powers and the phase angles are for diagnosis; voltages and currents per phase are everyday values
    return _measurement(
        code, name, diagnostic=quantity.kind is Kind.ANGLE or (per_phase and quantity.kind is Kind.POWER)
    )


SENSORS: dict[str, E450SensorEntityDescription] = {
    code: description for code, quantity in OBIS.items() if (description := _description(code, quantity)) is not None
}

TARIFF_KEYS = frozenset(
    {"energy_import_tariff", "energy_export_tariff", "reactive_energy_import_tariff", "reactive_energy_export_tariff"}
)


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
            if dataset.first.unit and dataset.number is not None:
                description = _generic(code)
            else:
                continue
        elif description.value_fn is None and dataset.number is None:
            continue
        if code == CLOCK_TIME and meter_clock(readout) is None:
            continue
        seen.add(code)
        found.append((code, description, dataset))
    return found


async def async_setup_entry(
    hass: HomeAssistant, entry: E450ConfigEntry, async_add_entities: AddEntitiesCallback
) -> None:
    """Create the sensors the first readout supports, and those of registers that appear later (a meter that
    pushes several lists names its energies only in the quarter-hourly or hourly one)."""
    coordinator = entry.runtime_data
    known: set[str] = set()

    @callback
    def add_new_registers() -> None:
        found = [register for register in descriptions_for(coordinator.data) if register[0] not in known]
        known.update(code for code, _, _ in found)
        if found:
            async_add_entities(E450ObisSensor(coordinator, *register) for register in found)

    add_new_registers()
    async_setup_submeters(entry, async_add_entities)  # gas, water and heat meters on the M-Bus channels
    async_add_entities(E450StatisticsSensor(coordinator, description) for description in STATISTICS_SENSORS)
    entry.async_on_unload(coordinator.async_add_listener(add_new_registers, (NEW_REGISTERS,)))


class E450ObisSensor(E450Entity, RestoreSensor):
    """A register of the meter."""

    entity_description: E450SensorEntityDescription

    def __init__(
        self, coordinator: E450Coordinator, code: str, description: E450SensorEntityDescription, dataset: DataSet
    ) -> None:
        super().__init__(coordinator, description.key, (code, *description.reads))
        self.entity_description = description
        self._code = code
        first = dataset.first
        assert first is not None
        unit_info = UNITS.get((first.unit or "").lower())
        if description.value_fn is None and first.unit:
            # units exactly as the meter transmits them (kWh, Wh, MWh, kW, W …), never rescaled to a fixed unit
            self._attr_native_unit_of_measurement = unit_info[0] if unit_info else first.unit
            self._attr_device_class = unit_info[1] if unit_info else None
            self._attr_suggested_display_precision = self._precision(first.value)
        if description.translation_key in TARIFF_KEYS:
            self._attr_translation_placeholders = {"tariff": code.rsplit(".", 1)[1]}
        elif description.translation_key == "obis_value":
            self._attr_translation_placeholders = {"code": code}
        self._guard = EnergyGuard(RESET_CONFIRMATIONS) if description.energy_register else None
        self._guarded_at = self._exponent  # the scale the guard's values are at
        self._precise_at = self._exponent  # the scale the display precision was taken from
        self._last: DataSet | None = None  # the data set the value was last computed from
        self._factors: dict[str | None, float | None] = {}  # unit as sent -> factor to the sensor's unit
        self._computed: StateType | datetime = None
        self._attr_native_value = self._computed = self._value()
        self._shown: tuple[object, bool] | None = None  # what the state machine has

    @property
    def _exponent(self) -> int | None:
        """The power of ten the register's number is shown at, where the push left its scale to us (``None``: the
        meter sent it)."""
        note = self.coordinator.data.scales.get(self._code) if self.coordinator.data is not None else None
        return None if note is None else note.exponent

    def _precision(self, text: str) -> int:
        """Decimals to show: as many as the register's scaler gives where the push left its scale to us (10^-2:
        two), else as many as the meter writes (an IEC readout, or a DLMS value written at its sent scaler)."""
        exponent = self._exponent
        return decimals(text) if exponent is None else max(0, -exponent)

    def _follow_scale(self) -> None:
        """The register is shown at another scale (the user's or the checks' choice, rescale.py): its decimals follow
        from the next update on, in the entity registry too, where the frontend reads them."""
        self._precise_at = self._exponent
        dataset = self.coordinator.data.current(self._code)
        if dataset is None or dataset.first is None or not hasattr(self, "_attr_suggested_display_precision"):
            return
        self._attr_suggested_display_precision = self._precision(dataset.first.value)
        if self.registry_entry is not None:
            self._update_suggested_precision()

    @property
    def extra_restore_state_data(self) -> E450StoredData:
        """The value, its unit, and the scale it was shown at."""
        return E450StoredData(self.native_value, self.native_unit_of_measurement, self._exponent)

    async def async_added_to_hass(self) -> None:
        """Seed the energy guard with the last value recorded before a restart, unless it was shown at another
        scale (the user or the checks changed it since): a value 10^k apart is no reading to hold the next to."""
        await super().async_added_to_hass()
        if self._guard is None:
            return
        last = await self.async_get_last_sensor_data()
        extra = await self.async_get_last_extra_data()
        stored = extra.as_dict() if extra is not None else {}
        if "exponent" in stored and stored["exponent"] != self._exponent:
            _LOGGER.info(
                "%s: %s is now shown at 10^%s instead of 10^%s: its last value is not restored",
                self.coordinator.config_entry.title,
                self._code,
                self._exponent,
                stored["exponent"],
            )
            return
        if (
            last is not None
            and isinstance(last.native_value, (int, float, Decimal))
            and last.native_unit_of_measurement == self.native_unit_of_measurement
        ):
            # the first read ran before the restore: judge it against the value recorded before the restart
            self._guard = self._guard.restored(float(last.native_value))
            self._attr_native_value = self._computed = self._guard.published
            self._last = None  # judged against the restored value from now on
            self._watch(self._guard)

    def _value(self) -> StateType | datetime:
        readout = self.coordinator.data
        description = self.entity_description
        if description.value_fn is not None:
            return description.value_fn(readout, self._code)
        dataset = readout.current(self._code)
        if dataset is not None and dataset is self._last and not (self._guard and self._guard.pending):
            return self._computed  # the register reads as last time: nothing to decide
        self._last = dataset
        if dataset is None or dataset.number is None:
            return None
        if self._guard is not None and self._exponent != self._guarded_at:
            # shown at another scale from now on (rescale.py): the old values are no reading to hold this one to
            self._guard, self._guarded_at = EnergyGuard(RESET_CONFIRMATIONS), self._exponent
        unit = dataset.values[0].unit
        if unit not in self._factors:  # a meter keeps its units: look each up once
            self._factors[unit] = scale(unit, self.native_unit_of_measurement)
        factor = self._factors[unit]
        if factor is None:
            return None
        value = dataset.number * factor
        if self._guard is None:
            return value
        previous = self._guard.published
        verdict = self._guard.check(value)
        self._watch(self._guard)
        unit = self.native_unit_of_measurement or ""
        log_verdict(_LOGGER, verdict, self.coordinator.config_entry.title, self._code, value, previous, unit)
        return self._guard.published

    def _watch(self, guard: EnergyGuard) -> None:
        """A lower value waiting for its confirmations counts reads, not changes: be told of every new readout
        until the guard has decided."""
        every_read = self.coordinator.dispatch.every_read
        if guard.pending:
            every_read.add(self._code)
        else:
            every_read.discard(self._code)

    @property
    def available(self) -> bool:
        """Unavailable when the read failed, the meter stopped sending this register, or its scale is changing
        (until its statistics start again: rescale.py)."""
        holding = getattr(self.coordinator, "holding", ())
        return super().available and self._attr_native_value is not None and self._code not in holding

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when something changed: an unchanged meter costs no state writes."""
        if self.coordinator.last_update_success:
            self._attr_native_value = self._computed = self._value()
            if self._exponent != self._precise_at:
                self._follow_scale()
        shown = (self._attr_native_value, self.available)
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()
