"""The household's limits through Home Assistant: problem sensors that follow the options, and the clock check,
against the simulated E450 on a pty."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir

from custom_components.e450.const import CONF_CLOCK_DRIFT, CONF_CONTRACT_POWER, CONF_FUSE_CURRENT, DOMAIN
from simulator import MeterSimulator

from .conftest import entry_for

OVERLOAD = "binary_sensor.landis_gyr_e450_overload"
UNBALANCE = "binary_sensor.landis_gyr_e450_phase_unbalance"


async def test_problem_sensors_follow_the_limits(hass: HomeAssistant, meter: MeterSimulator) -> None:
    """No limit: no overload sensor. A fuse rating below the meter's L3 current (2.2 A): overload on, and the
    sensor appears without a restart; clearing the limit removes the check again."""
    entry = entry_for(meter.port)
    entry.add_to_hass(hass)
    with patch("custom_components.e450.household.OVERLOAD_TOLERANCE", 0.0):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert hass.states.get(OVERLOAD) is None
        assert hass.states.get(UNBALANCE).state == STATE_OFF  # three currents of 1.3-2.2 A: balanced
        hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_FUSE_CURRENT: 2.0})
        await hass.async_block_till_done()  # the new limit adds a sensor: the entry reloads
        await entry.runtime_data.async_refresh()
        await hass.async_block_till_done()
        assert hass.states.get(OVERLOAD).state == STATE_ON
        assert hass.states.get(OVERLOAD).attributes["device_class"] == "problem"
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_FUSE_CURRENT: 0, CONF_CONTRACT_POWER: 5.0}
        )
        await hass.async_block_till_done()  # another limit, the same sensor: applied without a reload
        await entry.runtime_data.async_refresh()
        await hass.async_block_till_done()
        assert hass.states.get(OVERLOAD).state == STATE_OFF  # 1.2 kW of a 5 kVA contract
    registry = er.async_get(hass)
    assert registry.async_get(OVERLOAD) is not None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_clock_drift_becomes_a_repair_issue(hass: HomeAssistant, meter: MeterSimulator) -> None:
    """The frozen simulator's clock stands on 2026-11-28 12:00: with the check on, far behind the real time."""
    entry = entry_for(meter.port, options={CONF_CLOCK_DRIFT: 5})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issues = ir.async_get(hass).issues
    issue = issues.get((DOMAIN, f"{entry.entry_id}_clock_behind")) or issues.get(
        (DOMAIN, f"{entry.entry_id}_clock_ahead")
    )
    assert issue is not None and issue.translation_placeholders is not None
    assert int(issue.translation_placeholders["minutes"]) > 5
    assert issue.translation_placeholders["threshold"] == "5"
    hass.config_entries.async_update_entry(entry, options={CONF_CLOCK_DRIFT: 0})  # the user turns the check off
    await hass.async_block_till_done()
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert not [key for key in ir.async_get(hass).issues if key[0] == DOMAIN]
    await hass.config_entries.async_unload(entry.entry_id)
