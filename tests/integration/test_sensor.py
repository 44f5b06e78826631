"""Sensors: what each profile creates (snapshots), the energy guard, units as transmitted, no idle writes."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from datetime import timedelta
import itertools
import logging
from typing import Any
from unittest.mock import PropertyMock, patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.e450.const import DOMAIN
from simulator import MeterSimulator

from .conftest import E450_SERIAL, entry_for
from .test_init import _settle

Simulated = Callable[..., contextlib.AbstractAsyncContextManager[MeterSimulator]]
ENERGY = "sensor.landis_gyr_e450_energy_import"


async def _setup(hass: HomeAssistant, port: str, unique_id: str = E450_SERIAL) -> Any:
    entry = entry_for(port, unique_id=unique_id)
    entry.add_to_hass(hass)
    with patch("custom_components.e450.PLATFORMS", [Platform.SENSOR]):
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
def entity_registry_enabled_by_default() -> Any:
    """Create the entities that are disabled by default too."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_e450_sensors(
    hass: HomeAssistant, meter: MeterSimulator, entity_registry: er.EntityRegistry, snapshot: SnapshotAssertion
) -> None:
    # the read statistics change with every read's duration: they have their own test
    with patch("custom_components.e450.sensor.STATISTICS_SENSORS", ()):
        entry = await _setup(hass, meter.port)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_statistics_sensors(hass: HomeAssistant, meter: MeterSimulator) -> None:
    entry = await _setup(hass, meter.port)
    prefix = "sensor.landis_gyr_e450_"
    assert hass.states.get(prefix + "baud_rate").state == "9600"
    assert hass.states.get(prefix + "read_success_rate").state == "100.0"
    assert 0 < float(hass.states.get(prefix + "last_read_duration").state) < 10
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("profile", ["e350", "zmd", "mt174", "mode-b"])
async def test_other_profiles_create_the_right_sensors(hass: HomeAssistant, simulated: Simulated, profile: str) -> None:
    async with simulated(profile, frozen=True) as meter:
        entry = await _setup(hass, meter.port, unique_id=f"{profile}-meter")
        registry = er.async_get(hass)
        codes = {e.unique_id.split("_", 1)[1] for e in er.async_entries_for_config_entry(registry, entry.entry_id)}
        assert "1.8.0" in codes
        history = [code for code in codes if "*" in code or "&" in code]
        assert not history  # stored values never become sensors of their own
        if profile == "e350":
            assert {"32.7.0", "52.7.0", "72.7.0", "31.7.0", "16.7.0", "15.8.0", "F.F", "C.7.0"} <= codes
            voltage = hass.states.get(registry.async_get_entity_id("sensor", DOMAIN, f"{profile}-meter_32.7.0"))
            assert voltage is not None and voltage.attributes["unit_of_measurement"] == "V"
        if profile == "mode-b":
            power = hass.states.get(registry.async_get_entity_id("sensor", DOMAIN, f"{profile}-meter_16.7.0"))
            assert power is not None and power.attributes["unit_of_measurement"] == "W"  # as transmitted
        if profile == "zmd":
            assert {"36.7.0", "56.7.0", "76.7.0"} <= codes
            energy = hass.states.get(registry.async_get_entity_id("sensor", DOMAIN, f"{profile}-meter_1.8.0"))
            assert energy is not None and float(energy.state) == pytest.approx(12345.68)
        await hass.config_entries.async_unload(entry.entry_id)


async def test_energy_dashboard_attributes(hass: HomeAssistant, meter: MeterSimulator) -> None:
    entry = await _setup(hass, meter.port)
    state = hass.states.get(ENERGY)
    assert state is not None
    assert state.attributes["device_class"] == "energy"
    assert state.attributes["state_class"] == "total_increasing"
    assert state.attributes["unit_of_measurement"] == "kWh"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_energy_guard_through_a_meter_reset(
    hass: HomeAssistant, simulated: Simulated, caplog: pytest.LogCaptureFixture
) -> None:
    """A register that drops is held until three consecutive reads confirm it; never a 0 or a dip before."""
    caplog.set_level(logging.WARNING)
    async with simulated("e450", fault="meter_reset") as meter:
        entry = await _setup(hass, meter.port)
        coordinator = entry.runtime_data
        published: list[tuple[int, float]] = [(1, float(hass.states.get(ENERGY).state))]

        @callback_listener(hass, ENERGY)
        def record(state: State) -> None:
            published.append((coordinator.statistics.successes, float(state.state)))

        for reads in range(2, 8):
            async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61 * reads))
            await _settle(hass, lambda reads=reads: coordinator.statistics.successes >= reads)
        # reads 1-2 normal; the meter resets before read 3; reads 3-4 held; read 5 is the 3rd confirmation
        drops = [(a, b) for a, b in itertools.pairwise(published) if b[1] < a[1]]
        assert len(drops) == 1  # exactly one decrease, and no 0 before it
        (_, before), (read, after) = drops[0]
        assert before > 10000 and 0 < after < 10
        assert read == 5  # the meter reset before read 3; reads 3 and 4 were held, read 5 confirmed it
        assert all(value > 10000 for when, value in published if when < 5)
        assert "holding the last value" in caplog.text
        assert "the meter was reset or replaced" in caplog.text
        await hass.config_entries.async_unload(entry.entry_id)


def callback_listener(hass: HomeAssistant, entity_id: str) -> Callable[[Callable[[State], None]], Any]:
    from homeassistant.core import Event, EventStateChangedData, callback
    from homeassistant.helpers.event import async_track_state_change_event

    def decorator(function: Callable[[State], None]) -> Any:
        @callback
        def listener(event: Event[EventStateChangedData]) -> None:
            state = event.data["new_state"]
            if state is not None and state.state not in ("unavailable", "unknown"):
                function(state)

        return async_track_state_change_event(hass, [entity_id], listener)

    return decorator


async def test_restored_value_guards_the_first_read(hass: HomeAssistant, meter: MeterSimulator) -> None:
    """After a restart, a first read lower than the recorded value is held (the recorder keeps its cycle)."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(ENERGY, "20000.0"),
                {"native_value": 20000.0, "native_unit_of_measurement": "kWh"},
            )
        ],
    )
    entry = await _setup(hass, meter.port)
    assert hass.states.get(ENERGY).state == "20000.0"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_no_state_writes_when_nothing_changed(hass: HomeAssistant, meter: MeterSimulator) -> None:
    entry = await _setup(hass, meter.port)
    coordinator = entry.runtime_data
    writes: list[str] = []
    from homeassistant.const import EVENT_STATE_CHANGED

    hass.bus.async_listen(EVENT_STATE_CHANGED, lambda event: writes.append(event.data["entity_id"]))
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert coordinator.statistics.successes == 2
    assert [w for w in writes if "last_read" not in w and "success_rate" not in w] == []
    await hass.config_entries.async_unload(entry.entry_id)
