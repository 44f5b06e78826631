"""A meter behind a network bridge, through the whole integration: set up through ``socket://`` (a raw bridge at a
fixed speed) and ``rfc2217://`` end to end; a raw bridge's speed learned from a read and held until a reload; a
fetch that cannot end is bounded."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.e450.const import CONF_ADVANCED, CONF_MAX_BAUD, CONF_PORT, DOMAIN
from custom_components.e450.diagnostics import async_get_config_entry_diagnostics
from simulator import MeterSimulator

from .conftest import E450_SERIAL, entry_for
from .flows import finish_progress

pytestmark = pytest.mark.usefixtures("socket_enabled")
ADVANCED = {"max_baud": "9600", "device_address": "", "wake_up": False}


async def submit(hass: HomeAssistant, port: str) -> dict[str, Any]:
    with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
        data = {CONF_PORT: port, CONF_ADVANCED: ADVANCED}
        return await finish_progress(hass, await hass.config_entries.flow.async_configure(result["flow_id"], data))


async def test_set_up_through_a_raw_bridge_at_a_fixed_speed(hass: HomeAssistant) -> None:
    """The probe's switch to 9600 Bd fails on a bridge fixed at 300 Bd and the retry at 300 Bd reads the meter:
    the flow says so and offers 300 Bd as the maximum; the entry then reads at 300 Bd with no failed switch."""
    async with MeterSimulator("e450", frozen=True, tcp_port=0, fixed_baud=300) as meter:
        result = await submit(hass, meter.port)
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "bridge_speed"
        assert result["description_placeholders"] == {"port": meter.port, "baud": "300"}
        schema = result["data_schema"].schema
        assert next(key for key in schema if key == CONF_MAX_BAUD).default() == "300"
        result = dict(await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_MAX_BAUD: "300"}))
        assert result["step_id"] == "confirm" and result["description_placeholders"]["baud"] == "300"
        result = dict(await hass.config_entries.flow.async_configure(result["flow_id"], {}))
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_PORT] == meter.port and result["data"][CONF_MAX_BAUD] == 300
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        assert entry.state is ConfigEntryState.LOADED
        coordinator = entry.runtime_data
        assert coordinator.data.timings.baud == 300 and not coordinator.data.timings.retried
        assert coordinator.held_speed is None  # nothing to learn: the entry does not switch
        await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_onto_a_raw_bridge_at_a_fixed_speed(hass: HomeAssistant) -> None:
    """The meter moves from its USB head to a raw bridge fixed at 300 Bd: the re-probe needs the retry at 300 Bd,
    so reconfigure asks for the bridge's speed as the new set-up does, and the entry reads at 300 Bd after it."""
    async with (
        MeterSimulator("e450", frozen=True) as usb,
        MeterSimulator("e450", frozen=True, tcp_port=0, fixed_baud=300) as bridge,
    ):
        entry = entry_for(usb.port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
            result = await entry.start_reconfigure_flow(hass)
            data = {CONF_PORT: bridge.port, CONF_ADVANCED: ADVANCED}
            result = dict(await hass.config_entries.flow.async_configure(result["flow_id"], data))
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "bridge_speed"
        assert result["description_placeholders"] == {"port": bridge.port, "baud": "300"}
        assert entry.data[CONF_PORT] == usb.port  # nothing saved before the speed is chosen
        result = dict(await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_MAX_BAUD: "300"}))
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_PORT] == bridge.port and entry.data[CONF_MAX_BAUD] == 300
        assert entry.state is ConfigEntryState.LOADED
        timings = entry.runtime_data.data.timings
        assert timings.baud == 300 and not timings.retried  # read at the bridge's speed, no failed switch first
        await hass.config_entries.async_unload(entry.entry_id)


async def test_set_up_through_rfc2217(hass: HomeAssistant) -> None:
    """An RFC 2217 server (here one that leaves the state-mask requests unanswered, as pyserial's does) follows
    the speed switch: the meter is found at 9600 Bd, and the entry reads it there."""
    async with MeterSimulator("e450", frozen=True, rfc2217=True, answer_masks=False) as meter:
        result = await submit(hass, meter.port)
        assert result["step_id"] == "confirm"
        assert result["description_placeholders"]["baud"] == "9600"
        assert result["description_placeholders"]["serial"] == E450_SERIAL
        result = dict(await hass.config_entries.flow.async_configure(result["flow_id"], {}))
        assert result["type"] is FlowResultType.CREATE_ENTRY and result["data"][CONF_PORT] == meter.port
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.data.timings.baud == 9600
        await hass.config_entries.async_unload(entry.entry_id)


async def test_a_bridge_that_refuses_is_named_in_the_flow(hass: HomeAssistant, unused_tcp_port: int) -> None:
    result = await submit(hass, f"socket://127.0.0.1:{unused_tcp_port}")
    assert result["step_id"] == "user" and result["errors"] == {"base": "port_refused"}
    assert result["description_placeholders"]["bridge"] == f"127.0.0.1:{unused_tcp_port}"


async def test_the_entry_holds_a_raw_bridges_speed_until_a_reload(hass: HomeAssistant) -> None:
    """An entry made before the bridge was fixed (or with the maximum left at 9600): the first read pays the
    failed switch and its retry; from then on the entry reads at 300 Bd, and diagnostics say so and why. A reload
    tries the faster speed again."""
    async with MeterSimulator("e450", frozen=True, tcp_port=0, fixed_baud=300) as meter:
        entry = entry_for(meter.port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        coordinator = entry.runtime_data
        assert coordinator.data.timings.retried
        assert coordinator.held_speed is not None and coordinator.held_speed.baud == 300
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        held = diagnostics["session"]["held_speed"]
        assert held["baud"] == 300 and "retry at 300 Bd" in held["why"] and "reloaded" in held["why"]
        requests = meter.requests
        await coordinator.async_refresh()
        assert coordinator.last_update_success
        assert not coordinator.data.timings.retried and coordinator.data.timings.baud == 300
        assert meter.requests == requests + 1  # one sign-on, no retry
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data is not coordinator
        assert entry.runtime_data.data.timings.retried  # tried 9600 Bd again, and learned again
        await hass.config_entries.async_unload(entry.entry_id)


async def test_a_fetch_that_cannot_end_is_bounded(hass: HomeAssistant, meter: MeterSimulator) -> None:
    """Whatever hangs below the coordinator, its fetch ends: a failed update, translated, and polling goes on."""
    entry = entry_for(meter.port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data

    async def hang(*args: Any) -> Any:
        await asyncio.Event().wait()

    with (
        patch("custom_components.e450.coordinator.FETCH_LIMIT", 0.2),
        patch("custom_components.e450.coordinator.read_meter", hang),
    ):
        await coordinator.async_refresh()
    assert not coordinator.last_update_success
    assert isinstance(coordinator.last_exception, Exception)
    # the E450's own wording of a read that broke off (it names the customer interface it has)
    assert coordinator.last_exception.translation_key == "readout_timeout_customer_push"  # type: ignore[attr-defined]
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    await hass.config_entries.async_unload(entry.entry_id)
