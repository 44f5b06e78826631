"""Set-up, unload, not-ready, unavailable → recovered, the read-now button, statistics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from datetime import timedelta
import logging

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.e450.const import DOMAIN
from simulator import MeterSimulator

from .conftest import E450_SERIAL, entry_for, meter_device

Simulated = Callable[..., contextlib.AbstractAsyncContextManager[MeterSimulator]]
ENERGY = "sensor.landis_gyr_e450_energy_import"
POWER = "sensor.landis_gyr_e450_power_import"


async def test_setup_and_unload(hass: HomeAssistant, meter: MeterSimulator) -> None:
    entry = entry_for(meter.port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.statistics.successes == 1
    device = meter_device(hass, E450_SERIAL)
    assert device is not None
    assert (device.manufacturer, device.model, device.serial_number, device.sw_version) == (
        "Landis+Gyr",
        "E450 (ZMXi320AP)",  # the name users know and the type designation (docs/meter-names.md)
        E450_SERIAL,
        "B22",
    )
    assert hass.states.get(ENERGY).state == "12345.678"
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_not_ready_when_the_first_read_fails(hass: HomeAssistant, simulated: Simulated) -> None:
    async with simulated("e450", fault="no_answer") as meter:
        entry = entry_for(meter.port)
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_RETRY
        # the error text, or on Home Assistant 2026 its translation
        assert any(text in (entry.reason or "") for text in ("No answer from the meter", "The meter did not answer"))
        await hass.config_entries.async_unload(entry.entry_id)


async def test_unavailable_then_recovered(
    hass: HomeAssistant, simulated: Simulated, caplog: pytest.LogCaptureFixture
) -> None:
    async with simulated("e450", frozen=True) as meter:
        entry = entry_for(meter.port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        coordinator = entry.runtime_data
        meter.fault = "no_answer"
        caplog.set_level(logging.INFO)
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
        await hass.async_block_till_done(wait_background_tasks=True)
        await _settle(hass, lambda: coordinator.statistics.failures == 1)
        assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
        assert hass.states.get(POWER).state == STATE_UNAVAILABLE
        meter.fault = None
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=122))
        await _settle(hass, lambda: coordinator.statistics.successes == 2)
        assert hass.states.get(ENERGY).state == "12345.678"
        assert coordinator.statistics.reads == 3
        assert coordinator.statistics.success_rate == pytest.approx(66.7)
        assert "No answer from the meter" in (coordinator.statistics.last_error or "")
        assert caplog.text.count("Error fetching") == 1  # one log when unavailable …
        assert caplog.text.count("data recovered") == 1  # … and one when back
        await hass.config_entries.async_unload(entry.entry_id)


async def _settle(hass: HomeAssistant, condition: Callable[[], bool]) -> None:
    for _ in range(200):
        await hass.async_block_till_done()
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_read_now_button(hass: HomeAssistant, simulated: Simulated) -> None:
    async with simulated("e450", frozen=True) as meter:
        entry = entry_for(meter.port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        button = er.async_get(hass).async_get_entity_id("button", DOMAIN, f"{E450_SERIAL}_read_now")
        assert button is not None
        await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
        assert entry.runtime_data.statistics.reads == 2
        meter.fault = "no_answer"
        with pytest.raises(HomeAssistantError) as caught:
            await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
        assert caught.value.translation_key == "read_failed"
        assert hass.states.get(button).state != STATE_UNAVAILABLE
        await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_during_a_read_closes_the_port(hass: HomeAssistant, simulated: Simulated) -> None:
    async with simulated("e450", fault="slow") as meter:
        entry = entry_for(meter.port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        refresh = hass.async_create_task(entry.runtime_data.async_refresh())
        await asyncio.sleep(0.3)  # the read is waiting for the slow meter's identification
        assert await hass.config_entries.async_unload(entry.entry_id)
        await refresh
        from .test_config_flow import close_port, open_port

        holder = await open_port(meter.port, 9600, 8, "N")  # exclusive open succeeds: the port was released
        await close_port(holder)
