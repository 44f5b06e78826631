"""An update calls only the entities whose register changed (dispatch.py), on a simulated meter."""

from __future__ import annotations

from dataclasses import replace
import logging
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
import pytest

from custom_components.e450.sensor import E450ObisSensor
from custom_components.e450.wire import DataSet, DataValue
from simulator import MeterSimulator

from .test_sensor import _setup


async def test_only_the_changed_register_is_updated(hass: HomeAssistant, meter: MeterSimulator) -> None:
    called: list[str] = []
    handler = E450ObisSensor._handle_coordinator_update

    def spy(self: E450ObisSensor) -> None:
        called.append(self._code)
        handler(self)

    with patch.object(E450ObisSensor, "_handle_coordinator_update", spy):
        entry = await _setup(hass, meter.port)
        coordinator = entry.runtime_data
        data = coordinator.data
        power = data.current("1.7.0")
        moved = DataSet.of(power.address, (DataValue("99.999", power.values[0].unit),))
        called.clear()
        coordinator.async_set_updated_data(
            replace(data, datasets=tuple(moved if dataset is power else dataset for dataset in data.datasets))
        )
        assert called == ["1.7.0"]
        assert hass.states.get("sensor.landis_gyr_e450_power_import").state == "99.999"
        called.clear()
        coordinator.async_set_update_error(RuntimeError("the link failed"))  # availability: everyone
        assert len(called) > 1 and "1.8.0" in called
        assert hass.states.get("sensor.landis_gyr_e450_power_import").state == "unavailable"
        await hass.config_entries.async_unload(entry.entry_id)


async def test_a_failing_listener_does_not_stop_the_others(
    hass: HomeAssistant, meter: MeterSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await _setup(hass, meter.port)
    coordinator = entry.runtime_data
    after: list[Any] = []

    def broken() -> None:
        raise RuntimeError("broken listener")

    remove_broken = coordinator.async_add_listener(broken)
    remove_after = coordinator.async_add_listener(lambda: after.append(coordinator.data))
    with caplog.at_level(logging.ERROR):
        coordinator.async_set_update_error(RuntimeError("the link failed"))
    assert "Unexpected error updating listener" in caplog.text
    assert after == [coordinator.data]
    remove_broken()
    remove_after()
    await hass.config_entries.async_unload(entry.entry_id)
