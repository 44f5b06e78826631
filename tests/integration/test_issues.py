"""Anomalies become repair issues through the coordinator (real reads of the simulator), and go away again."""

from __future__ import annotations

from datetime import timedelta
import json

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from syrupy.assertion import SnapshotAssertion

from custom_components.e450.const import CONF_ACCEPTED_SERIAL, CONF_LINK_LOST_MINUTES, DOMAIN
from custom_components.e450.diagnostics import async_get_config_entry_diagnostics, async_get_device_diagnostics
from custom_components.e450.repairs import async_create_fix_flow
from simulator import MeterSimulator

from .conftest import E450_SERIAL, entry_for, meter_device


async def _setup(hass: HomeAssistant, meter: MeterSimulator, unique_id: str = E450_SERIAL, **options: object):  # type: ignore[no-untyped-def]
    entry = entry_for(meter.port, unique_id=unique_id)
    entry.add_to_hass(hass)
    if options:
        hass.config_entries.async_update_entry(entry, options={**entry.options, **options})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _issues(hass: HomeAssistant) -> dict[str, ir.IssueEntry]:
    return {issue_id: issue for (domain, issue_id), issue in ir.async_get(hass).issues.items() if domain == DOMAIN}


async def test_supply_anomalies_raise_and_clear(hass: HomeAssistant, meter: MeterSimulator) -> None:
    meter.state.voltages = (230.0, 0.0, 258.0)  # L2 lost, L3 too high
    meter.state.error_register = 0x01000000
    entry = await _setup(hass, meter)
    issues = _issues(hass)
    assert set(issues) == {
        f"{entry.entry_id}_phase_loss_l2",
        f"{entry.entry_id}_voltage_out_of_limits_l3",
        f"{entry.entry_id}_meter_error",
    }
    phase = issues[f"{entry.entry_id}_phase_loss_l2"]
    assert phase.severity is ir.IssueSeverity.ERROR
    assert phase.translation_key == "phase_loss"
    assert phase.translation_placeholders is not None
    assert phase.translation_placeholders["phase"] == "L2"
    assert phase.translation_placeholders["meter"] == entry.title
    assert phase.translation_placeholders["since"]
    error = issues[f"{entry.entry_id}_meter_error"]
    assert error.translation_placeholders is not None and error.translation_placeholders["code"] == "01000000"
    assert not error.is_fixable

    meter.state.voltages = (230.0, 231.0, 229.0)
    meter.state.error_register = 0
    meter.state.frequency = 52.5  # outside 47-52 Hz
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert set(_issues(hass)) == {f"{entry.entry_id}_frequency_out_of_limits"}
    meter.state.frequency = 50.0
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert _issues(hass) == {}
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_withdraws_issues(hass: HomeAssistant, meter: MeterSimulator) -> None:
    meter.state.error_register = 0x02000000
    entry = await _setup(hass, meter)
    assert _issues(hass)
    await hass.config_entries.async_unload(entry.entry_id)
    assert _issues(hass) == {}


async def test_link_lost_after_the_configured_time(hass: HomeAssistant, meter: MeterSimulator) -> None:
    entry = await _setup(hass, meter, **{CONF_LINK_LOST_MINUTES: 2})
    coordinator = entry.runtime_data
    meter.fault = "no_answer"
    # the last good read was 61 s ago: not yet a lost link
    coordinator.statistics.last_success = dt_util.utcnow() - timedelta(seconds=61)
    await coordinator.async_refresh()
    assert _issues(hass) == {}
    coordinator.statistics.last_success = dt_util.utcnow() - timedelta(seconds=122)
    await coordinator.async_refresh()
    issue = _issues(hass)[f"{entry.entry_id}_link_lost"]
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["minutes"] == "2"
    assert "No answer" in issue.translation_placeholders["error"]
    assert issue.translation_placeholders["port"] == meter.port
    meter.fault = None
    await coordinator.async_refresh()
    assert _issues(hass) == {}
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("action", ["adopt", "keep"])
async def test_meter_changed_repair_flow(hass: HomeAssistant, meter: MeterSimulator, action: str) -> None:
    assert await async_setup_component(hass, "repairs", {})
    entry = await _setup(hass, meter, unique_id="OLD-METER-1")
    issue_id = f"{entry.entry_id}_meter_changed"
    issue = _issues(hass)[issue_id]
    assert issue.is_fixable and issue.data is not None
    assert (issue.data["old"], issue.data["new"]) == ("OLD-METER-1", E450_SERIAL)

    flow = await async_create_fix_flow(hass, issue_id, dict(issue.data))
    flow.hass = hass
    flow.issue_id = issue_id
    result = await flow.async_step_init()
    assert result["step_id"] == "choose"
    assert result["description_placeholders"] == {
        "old": "OLD-METER-1",
        "new": E450_SERIAL,
        "meter": entry.title,
        "port": meter.port,
    }
    result = await flow.async_step_choose({"action": action})
    assert result["type"] == "create_entry"
    assert issue_id not in _issues(hass)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    if action == "adopt":
        assert entry.unique_id == E450_SERIAL
        assert meter_device(hass, E450_SERIAL) is not None
        energy = registry.async_get_entity_id("sensor", DOMAIN, f"{E450_SERIAL}_1.8.0")
        assert energy == "sensor.landis_gyr_e450_energy_import"  # same entity, same history
    else:
        assert entry.unique_id == "OLD-METER-1"
        assert entry.options[CONF_ACCEPTED_SERIAL] == E450_SERIAL
        await entry.runtime_data.async_refresh()
        assert issue_id not in _issues(hass)  # accepted: not asked again
    await hass.config_entries.async_unload(entry.entry_id)


async def test_repair_flow_for_a_removed_entry(hass: HomeAssistant) -> None:
    flow = await async_create_fix_flow(hass, "x", {"entry_id": "gone", "old": "a", "new": "b"})
    flow.hass = hass
    result = await flow.async_step_init()
    assert result["type"] == "abort" and result["reason"] == "entry_removed"


async def test_diagnostics_are_redacted(
    hass: HomeAssistant, meter: MeterSimulator, snapshot: SnapshotAssertion
) -> None:
    meter.state.error_register = 0x01000000
    entry = entry_for(meter.port, device_address="71234567")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    text = json.dumps(diagnostics)
    assert E450_SERIAL not in text  # neither in the settings, nor the raw readout, nor the parsed data sets
    assert diagnostics["entry"]["data"]["device_address"] == "**REDACTED**"
    assert "**REDACTED**" in diagnostics["last_readout"]["raw"]
    assert "1.8.0(012345.678*kWh)" in diagnostics["last_readout"]["raw"]
    assert diagnostics["statistics"]["successes"] == 1
    assert diagnostics["anomalies"][0]["kind"] == "meter_error"
    stable = {**diagnostics, "statistics": None, "last_readout": {**diagnostics["last_readout"], "timings": None}}
    stable["entry"] = {**stable["entry"], "data": {**stable["entry"]["data"], "port": "<pty>"}}
    assert stable == snapshot
    device = meter_device(hass, E450_SERIAL)
    assert device is not None
    assert await async_get_device_diagnostics(hass, entry, device) == diagnostics
    await hass.config_entries.async_unload(entry.entry_id)
