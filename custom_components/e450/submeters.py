"""Gas, water and heat meters behind the meter: one device per M-Bus channel, with a total the Energy dashboard
takes (docs/mbus-submeters.md).

Each channel that names a sub-meter (:func:`.wire.submeters.submeters`) becomes a device of its own, ``via_device``
the electricity meter, named by its medium and serial ("Gas meter 24521662"). Its total is ``total_increasing``,
guarded like the meter's energy registers (no 0, no dip; a lower reading confirmed by several pushes is a swapped
sub-meter), and shows the reading with the time the meter captured it. A sub-meter is read hourly or daily: when a
new capture arrives, the hours since the capture, which Home Assistant compiled with the reading before, are
restated with it (:func:`.backfill.async_restate`), so the Energy dashboard shows the consumption in the hour it was
captured, not in the hour the push came. A total whose unit and scale neither the meter nor the user said shows no
number (a repair issue asks for them, :mod:`.submeter_watch`): a gas meter counting litres, taken for m³, would be
1,000 times too large in the Energy dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
import logging
from typing import Any, cast

from homeassistant.components.sensor import RestoreSensor, SensorExtraStoredData, SensorStateClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from .backfill import COMPILE_MARGIN, async_restate
from .backfill_rows import capture_hour, hour_of
from .compat import via_device
from .const import CONF_RESCALE_PENDING, DOMAIN, RESET_CONFIRMATIONS
from .coordinator import E450ConfigEntry, E450Coordinator
from .dispatch import NEW_REGISTERS
from .guard import EnergyGuard, GuardVerdict, log_verdict
from .rescale import hold_until_compiled
from .submeter_settings import Total, channel_options, total_of
from .wire import Readout
from .wire.obis import normalize_address
from .wire.submeters import CHANNELS, CLIENT_CODE, SERIAL_CODE, VALUE_CODE, SubMeter, submeters

_LOGGER = logging.getLogger(__name__)


def channel_code(channel: int) -> str:
    """The code a channel's total is known by: its extended register (also its sensor's unique id suffix, which
    :mod:`.rescale` uses)."""
    return f"0-{channel}:{VALUE_CODE}"


def channel_of(readout: Readout | None, channel: int) -> SubMeter | None:
    """The channel's sub-meter in a readout (``None``: the readout names none there)."""
    return next((found for found in submeters(readout) if found.channel == channel), None) if readout else None


def channel_codes(channel: int, *addresses: str) -> frozenset[str]:
    """The codes a channel's ``addresses`` (codes of value groups C.D.E) are dispatched by (:mod:`.dispatch`)."""
    return frozenset(normalize_address(f"0-{channel}:{address}")[0] for address in addresses)


# what names a sub-meter: a serial number, a reading, a device type (wire/submeters.py), on every channel
NAMING: frozenset[str] = frozenset().union(
    *(channel_codes(channel, SERIAL_CODE, VALUE_CODE, CLIENT_CODE) for channel in CHANNELS)
)


def meter_time(captured: datetime) -> datetime:
    """A capture time as an aware time: the meter keeps local time, Home Assistant's zone."""
    return captured.replace(tzinfo=dt_util.get_default_time_zone()) if captured.tzinfo is None else captured


@callback
def async_setup_submeters(entry: E450ConfigEntry, async_add_entities: AddEntitiesCallback) -> None:
    """A total per channel that names a sub-meter, now and whenever a push names a new one."""
    coordinator = entry.runtime_data
    known: set[int] = set()

    @callback
    def add_new_channels() -> None:
        found = [submeter for submeter in submeters(coordinator.data) if submeter.channel not in known]
        known.update(submeter.channel for submeter in found)
        if found:
            async_add_entities(SubMeterTotal(coordinator, submeter) for submeter in found)

    add_new_channels()
    entry.async_on_unload(coordinator.async_add_listener(add_new_channels, NAMING | {NEW_REGISTERS}))
    reload_on_channel_change(entry)


@callback
def reload_on_channel_change(entry: ConfigEntry) -> None:
    """Reload the entry when the channels' options change (the totals' medium, unit and device name come from
    them when they are made)."""
    taken = channel_options(entry.options)

    async def changed(hass: HomeAssistant, entry: ConfigEntry) -> None:
        if channel_options(entry.options) != taken:
            hass.config_entries.async_schedule_reload(entry.entry_id)

    entry.async_on_unload(entry.add_update_listener(changed))


@dataclass
class SubMeterStoredData(SensorExtraStoredData):
    """A total's value and unit across restarts, with the power of ten it was shown at: a reading 10^k apart is
    no reading to hold the next one to."""

    exponent: int | None

    def as_dict(self) -> dict[str, Any]:
        """The stored data with the exponent."""
        return {**super().as_dict(), "exponent": self.exponent}


class SubMeterTotal(CoordinatorEntity[E450Coordinator], RestoreSensor):
    """A sub-meter's reading: its device's one sensor, named as the device."""

    _attr_has_entity_name = True
    _attr_name = None
    _attr_state_class = SensorStateClass.TOTAL_INCREASING

    def __init__(self, coordinator: E450Coordinator, submeter: SubMeter) -> None:
        channel, code = submeter.channel, channel_code(submeter.channel)
        # told of its reading's changes (the value, or its capture time, status or scaler: attributes), and of
        # the scale held while it changes (rescale.py holds the total's own code)
        super().__init__(coordinator, channel_codes(channel, VALUE_CODE) | {code})
        entry = coordinator.config_entry
        self.channel, self.code = channel, code
        meter = entry.unique_id or entry.entry_id
        self._attr_unique_id = f"{meter}_{self.code}"
        self.total: Total = total_of(submeter, channel_options(entry.options).get(channel))
        self._attr_native_unit_of_measurement = self.total.unit
        self._attr_device_class = self.total.device_class
        self._attr_suggested_display_precision = max(0, -self.total.exponent)
        self._attr_translation_key = "submeter_total"
        device = {
            "identifiers": {(DOMAIN, f"{meter}_mbus_{channel}")},
            "translation_key": f"submeter_{self.total.medium}",
            "translation_placeholders": {"serial": submeter.serial or f"M-Bus {channel}"},
            "serial_number": submeter.serial,
            "model": f"M-Bus {channel}",
        }
        self._attr_device_info = cast(DeviceInfo, device | via_device(coordinator.hass, entry, (DOMAIN, meter)))
        self._guard = EnergyGuard(RESET_CONFIRMATIONS)
        self._captured: datetime | None = None  # the capture time of the reading shown
        self._last: SubMeter | None = None
        self._restating: CALLBACK_TYPE | None = None
        self._shown: tuple[object, ...] | None = None  # what the state machine has
        self._attr_native_value = self._value(submeter)

    @property
    def extra_restore_state_data(self) -> SubMeterStoredData:
        """The value, its unit, and the power of ten it was shown at."""
        return SubMeterStoredData(self.native_value, self.native_unit_of_measurement, self.total.exponent)

    async def async_added_to_hass(self) -> None:
        """Hold the first reading to the one recorded before a restart, when it was at the same unit and scale."""
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel_restate)
        last = await self.async_get_last_sensor_data()
        extra = await self.async_get_last_extra_data()
        number = last.native_value if last is not None else None
        if not self.total.settled:
            if isinstance(number, (int, float, Decimal)):
                self._restart_guessed_statistics()
            return
        if (
            last is not None
            and isinstance(number, (int, float, Decimal))
            and (extra is None or extra.as_dict().get("exponent") == self.total.exponent)
            and last.native_unit_of_measurement == self.native_unit_of_measurement
        ):
            self._guard = self._guard.restored(float(number))
            self._attr_native_value = self._guard.published

    def _restart_guessed_statistics(self) -> None:
        """A version before this one showed an unsettled total at its medium's unit and 10^0: its statistics were
        made at a guessed scale. Restart them as a new scale does (rescale.py), once the period is compiled."""
        entry, coordinator = self.coordinator.config_entry, self.coordinator
        pending = entry.options.get(CONF_RESCALE_PENDING, [])
        if self.code in pending:
            return  # already waiting (__init__.py holds the pending codes)
        entry.async_on_unload(hold_until_compiled(self.hass, entry, coordinator, {self.code}))
        options = {**entry.options, CONF_RESCALE_PENDING: sorted({*pending, self.code})}
        self.hass.config_entries.async_update_entry(entry, options=options)

    @callback
    def _cancel_restate(self) -> None:
        if self._restating is not None:
            self._restating()
            self._restating = None

    def _value(self, submeter: SubMeter | None) -> float | None:
        """The guarded total of the channel's reading (the last one published when the reading is missing or held;
        none while the scale is not settled)."""
        if not self.total.settled:
            return None
        if submeter is None or submeter.raw is None:
            return self._guard.published
        if submeter == self._last and not self._guard.pending:
            return self._guard.published  # the same capture as last time: nothing to decide
        self._last = submeter
        if submeter.raw == 0 and self._guard.published:
            return self._guard.published  # an emptied channel's 0 is no reading (the silent-channel issue says so)
        value = float(self.total.value(submeter.raw))
        previous = self._guard.published
        verdict = self._guard.check(value)
        self._watch()
        where, what = self.coordinator.config_entry.title, f"M-Bus channel {self.channel}"
        log_verdict(_LOGGER, verdict, where, what, value, previous, self.native_unit_of_measurement or "")
        if verdict is GuardVerdict.HELD:
            return self._guard.published
        captured = submeter.captured
        if (
            verdict is GuardVerdict.ACCEPTED
            and previous is not None
            and value > previous
            and captured is not None
            and captured != self._captured
        ):
            self._schedule_restate(captured, value)
        self._captured = captured
        return self._guard.published

    def _watch(self) -> None:
        """A lower reading waiting for its confirmations counts pushes, not changes: be told of every new readout
        until the guard has decided."""
        every_read = self.coordinator.dispatch.every_read
        if self._guard.pending:
            every_read.add(self.code)
        else:
            every_read.discard(self.code)

    def _schedule_restate(self, captured: datetime, value: float) -> None:
        """Restate the hours since the capture once the hour before this one is compiled."""
        moment = meter_time(captured)
        now = dt_util.utcnow()
        if capture_hour(moment) >= hour_of(now):
            return  # the reading of the hour in progress: Home Assistant puts it there itself
        unit = self.native_unit_of_measurement

        @callback
        def run(_: datetime) -> None:
            self._restating = None
            self.coordinator.config_entry.async_create_background_task(
                self.hass,
                async_restate(self.hass, self.entity_id, moment, value, unit),
                f"{DOMAIN} restate {self.entity_id}",
            )

        self._cancel_restate()
        self._restating = async_track_point_in_utc_time(self.hass, run, max(now, hour_of(now) + COMPILE_MARGIN))

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """When the meter captured the reading shown, and the channel it came on."""
        captured = self._captured
        return {"channel": self.channel, "captured": None if captured is None else meter_time(captured).isoformat()}

    @property
    def available(self) -> bool:
        """Unavailable when the pushes stopped, before a first reading, while the scale is not settled or while it
        changes (rescale.py)."""
        holding = getattr(self.coordinator, "holding", ())
        return super().available and self._attr_native_value is not None and self.code not in holding

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when something changed: a sub-meter read hourly costs no write per push."""
        if self.coordinator.last_update_success:
            self._attr_native_value = self._value(channel_of(self.coordinator.data, self.channel))
        shown = (self._attr_native_value, self._captured, self.available)
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()
