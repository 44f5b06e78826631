"""A Landis+Gyr ZMD-style meter that answers DLMS with short names, set up from the UI against the simulator on a
real pty: the flow's DLMS client falls back from logical to short names by itself, the entry reads it with the
object list learnt once, and the load profile read over short names fills a gap in the Energy statistics."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.e450.const import CONF_MODE_E, CONF_REGISTERS, CONF_TRANSPORT, TRANSPORT_CLIENT
from simulator import MeterSimulator
from simulator.cosem_objects import ZMD_DEVICE_NAME

from .recorder_clock import RecorderClock
from .test_dlms_client import configure, user_flow


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database is prepared before ``hass`` (as Home Assistant's own recorder tests do)."""


async def test_a_short_name_meter_is_set_up_from_the_ui(hass: HomeAssistant) -> None:
    async with MeterSimulator("zmd-sn", frozen=True) as meter:
        result = await user_flow(hass, meter.port, protocol="dlms")
        assert result["step_id"] == "confirm_client", result
        assert result["description_placeholders"]["mode"] == "DLMS/COSEM (HDLC)"
        result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        data = result["data"]
        assert data[CONF_TRANSPORT] == TRANSPORT_CLIENT and data[CONF_MODE_E] is False
        # the registers the SN association's object list offered, kept as over logical names
        assert [3, "1-0:13.7.0"] in data[CONF_REGISTERS] and [4, "1-0:1.6.0"] in data[CONF_REGISTERS]
        await hass.async_block_till_done()
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED
        coordinator = entry.runtime_data
        readout = coordinator.data
        assert readout.referencing == "sn" and readout.text("42.0.0") == ZMD_DEVICE_NAME
        assert readout.readings["1.8.0"].unit == "Wh" and readout.readings["1.8.0"].value == 12345680
        assert coordinator._keeper.names.known  # the SN object list, read once for the entry
        associations = meter.dlms.application.associations
        await coordinator.async_refresh()
        assert coordinator.last_update_success and coordinator.data.readings == readout.readings
        assert meter.dlms.application.associations == associations + 1  # SN proposed at once: one AARQ
        energy = hass.states.get(entity_of(hass, entry.entry_id, "1.8.0"))
        assert energy is not None and float(energy.state) > 0
        await hass.config_entries.async_unload(entry.entry_id)


def entity_of(hass: HomeAssistant, entry_id: str, code: str) -> str:
    for entity in er.async_entries_for_config_entry(er.async_get(hass), entry_id):
        if entity.unique_id.endswith(f"_{code}"):
            return entity.entity_id
    raise AssertionError(f"no entity for {code}")


@pytest.mark.freeze_time(tick=True)  # time runs on between the jumps: the port's and the meter's waits end
async def test_the_profile_read_over_short_names_fills_a_gap(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory, tmp_path: Path
) -> None:
    """Set up at t0; the adapter gone from t0 + 1.2 h (reads fail) to t0 + 5 h 20, the meter counting on
    meanwhile; the first good read after the failures reads the meter's load profile over short names and the
    gap's hours get their statistics, between the readings before and after it."""
    await hass.config.async_set_time_zone("UTC")  # the simulated meter keeps UTC (the frozen clock's) as its time
    assert await async_setup_component(hass, "sensor", {})
    await async_wait_recording_done(hass)
    clock = RecorderClock(hass, freezer)
    link = str(tmp_path / "zmd")
    async with MeterSimulator("zmd-sn", link=link) as meter:
        result = await user_flow(hass, meter.port, protocol="dlms")
        result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        entry = result["result"]
        coordinator = entry.runtime_data
        coordinator.update_interval = None  # the reads below only: none started while the clock jumps
        energy = entity_of(hass, entry.entry_id, "1.8.0")
        before = float(hass.states.get(energy).state)
    await clock.advance(clock.t0 + timedelta(hours=1.2))
    await coordinator.async_refresh()  # the adapter is gone: the port does not exist
    assert not coordinator.last_update_success
    await clock.advance(clock.t0 + timedelta(hours=5, minutes=20))
    async with MeterSimulator("zmd-sn", link=link) as meter:  # the adapter back, at the same path
        meter.state.import_kwh += 5.0  # what the house used meanwhile
        await coordinator.async_refresh()
        assert coordinator.last_update_success and coordinator.data.referencing == "sn"
        await hass.async_block_till_done(wait_background_tasks=True)
        await async_wait_recording_done(hass)
        report = coordinator.gaps.report
        after = float(hass.states.get(energy).state)
        await hass.config_entries.async_unload(entry.entry_id)
    await clock.advance(clock.t0 + timedelta(hours=5, minutes=26))
    assert report is not None and report.hours_filled == 8, report  # four hours of import and of export
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, clock.t0, None, {energy}, "hour", None, {"state", "sum"}
    )
    hours = [round((row["start"] - clock.t0.timestamp()) / 3600) for row in found[energy]]
    states = [row["state"] for row in found[energy]]
    assert hours[:5] == [0, 1, 2, 3, 4], found
    assert before <= states[1] < states[2] < states[3] < states[4] <= after
