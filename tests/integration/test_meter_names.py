"""The name users know on the device, and a silent meter's message that uses its type (docs/meter-names.md)."""

from __future__ import annotations

from collections.abc import Callable
import contextlib

from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed

from custom_components.e450.coordinator import E450ReadCoordinator
from simulator import MeterSimulator

from .conftest import E450_SERIAL, entry_for, meter_device

Simulated = Callable[..., contextlib.AbstractAsyncContextManager[MeterSimulator]]


def failure(coordinator: E450ReadCoordinator) -> tuple[str | None, dict[str, str] | None]:
    error = coordinator.last_exception
    assert isinstance(error, UpdateFailed)
    return error.translation_key, error.translation_placeholders


async def test_the_device_and_a_silent_meter_use_the_type(hass: HomeAssistant, simulated: Simulated) -> None:
    async with simulated("e450", frozen=True) as meter:
        entry = entry_for(meter.port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        device = meter_device(hass, E450_SERIAL)
        assert device is not None
        assert (device.name, device.model, device.sw_version) == ("Landis+Gyr E450", "E450 (ZMXi320AP)", "B22")
        assert entry.unique_id == E450_SERIAL  # the name changed, the ids did not

        # the identification came, the data did not: the type is known from the last good readout
        coordinator = entry.runtime_data
        meter.fault = "drop_after_ident"
        await coordinator.async_refresh()
        assert failure(coordinator) == ("readout_timeout_customer_push", {"meter": "E450 (ZMXi320AP)"})

        # after a reload the first read fails before any readout: the type comes from the device registry
        assert await hass.config_entries.async_unload(entry.entry_id)
        meter.fault = "no_answer"
        reloaded = E450ReadCoordinator(hass, entry)
        await reloaded.async_refresh()
        assert failure(reloaded) == ("no_answer_customer_push", {"meter": "E450 (ZMXi320AP)"})
        await reloaded.async_shutdown()
        reloaded.clear_issues()


async def test_an_unknown_meter_keeps_the_plain_message(hass: HomeAssistant, simulated: Simulated) -> None:
    async with simulated("mt174", fault="no_answer") as meter:
        entry = entry_for(meter.port, unique_id="MT174")
        entry.add_to_hass(hass)
        coordinator = E450ReadCoordinator(hass, entry)
        await coordinator.async_refresh()
        assert failure(coordinator) == ("no_answer", {})
        await coordinator.async_shutdown()
        coordinator.clear_issues()
