"""Options (apply without a restart) and reconfigure (move a meter to another port), at full branch coverage."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.e450.const import CONF_ADVANCED, CONF_PORT, DOMAIN
from simulator import MeterSimulator

from .conftest import entry_for

Simulated = Callable[..., contextlib.AbstractAsyncContextManager[MeterSimulator]]
OPTIONS = {
    "scan_interval": 30,
    "max_baud": "4800",
    "switch_delay": 400,
    "nominal_voltage": "240",
    "voltage_tolerance": 5,
    "nominal_frequency": "60",
    "link_lost_minutes": 30,
}


async def _loaded(hass: HomeAssistant, port: str) -> Any:
    entry = entry_for(port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_options_apply_without_restart(hass: HomeAssistant, meter: MeterSimulator) -> None:
    entry = await _loaded(hass, meter.port)
    coordinator = entry.runtime_data
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    minimum = float(result["description_placeholders"]["minimum"])
    assert 5 <= minimum < 10  # the last read's duration plus the margin
    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert coordinator is entry.runtime_data
    assert coordinator.update_interval is not None and coordinator.update_interval.total_seconds() == 30
    assert coordinator.settings.session.max_baud == 4800
    assert coordinator.settings.session.switch_delay == pytest.approx(0.4)
    assert coordinator.monitor.supply.thresholds.nominal_voltage == 240
    assert coordinator.monitor.supply.thresholds.nominal_frequency == 60
    assert coordinator.settings.link_lost_after.total_seconds() == 1800
    await coordinator.async_refresh()
    assert coordinator.statistics.baud == 4800  # the next read used the new cap
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(("interval", "error"), [(0, "scan_interval_too_short"), (604800, "scan_interval_too_long")])
async def test_scan_interval_limits(hass: HomeAssistant, meter: MeterSimulator, interval: int, error: str) -> None:
    entry = await _loaded(hass, meter.port)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS, "scan_interval": interval}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"scan_interval": error}
    assert entry.options == {"clock_drift_minutes": 0}  # unchanged
    await hass.config_entries.async_unload(entry.entry_id)


async def test_scan_interval_must_exceed_the_read_time(hass: HomeAssistant, meter: MeterSimulator) -> None:
    entry = await _loaded(hass, meter.port)
    entry.runtime_data.statistics.last_duration = 40.0  # a long readout at 300 Bd
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["description_placeholders"]["minimum"] == "42"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {**OPTIONS, "scan_interval": 41})
    assert result["errors"] == {"scan_interval": "scan_interval_too_short"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {**OPTIONS, "scan_interval": 42})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.config_entries.async_unload(entry.entry_id)


async def _reconfigure(hass: HomeAssistant, entry: Any, port: str, **advanced: Any) -> dict[str, Any]:
    with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
        result = await entry.start_reconfigure_flow(hass)
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "reconfigure"
        settings = {"max_baud": "9600", "device_address": "", "wake_up": False, **advanced}
        return dict(
            await hass.config_entries.flow.async_configure(
                result["flow_id"], {CONF_PORT: port, CONF_ADVANCED: settings}
            )
        )


async def test_reconfigure_to_a_new_port(hass: HomeAssistant, simulated: Simulated, tmp_path: Path) -> None:
    async with simulated("e450", frozen=True) as old, simulated("e450", frozen=True) as new:
        entry = await _loaded(hass, old.port)
        hass.config_entries.async_update_entry(entry, options={"max_baud": 2400, "scan_interval": 30})
        result = await _reconfigure(hass, entry, str(tmp_path / "nope"))
        assert result["errors"] == {"base": "port_not_found"}
        result = await _reconfigure(hass, entry, "  ")
        assert result["errors"] == {"base": "port_not_found"}
        result = await _reconfigure(hass, entry, new.port, max_baud="4800")
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_PORT] == new.port
        assert entry.data["max_baud"] == 4800
        assert entry.options == {"scan_interval": 30}  # the older cap from the options no longer overrides
        assert entry.runtime_data.port == new.port  # reloaded on the new port
        await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_refuses_another_meter(hass: HomeAssistant, simulated: Simulated) -> None:
    async with simulated("e450", frozen=True) as ours, simulated("zmd", frozen=True) as other:
        entry = await _loaded(hass, ours.port)
        result = await _reconfigure(hass, entry, other.port)
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "wrong_meter"
        assert result["description_placeholders"]["serial"] == "001LGZ0056859504"
        assert entry.data[CONF_PORT] == ours.port
        await hass.config_entries.async_unload(entry.entry_id)
        assert not [e for e in hass.config_entries.async_entries(DOMAIN) if e.entry_id != entry.entry_id]


async def test_reconfigure_onto_a_push_port_says_so(hass: HomeAssistant, simulated: Simulated) -> None:
    """An IEC 62056-21 meter cannot move to a port that carries DLMS pushes: the form says what is there."""
    async with simulated("e450", frozen=True) as ours, simulated("e450-dlms") as pushing:
        entry = await _loaded(hass, ours.port)
        result = await _reconfigure(hass, entry, pushing.port)
        assert result["errors"] == {"base": "dlms_push_plain"}
        assert (result["description_placeholders"]["baud"], result["description_placeholders"]["framing"]) == (
            "2400",
            "8E1",
        )
        assert entry.data[CONF_PORT] == ours.port
        await hass.config_entries.async_unload(entry.entry_id)
