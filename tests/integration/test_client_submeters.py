"""Gas and water meters on an E450's M-Bus channels, read by the DLMS client (docs/mbus-submeters.md §7): the
simulator's ``e450-client-submeters`` answers a client with a gas meter on channel 1 and a water meter on channel 2,
the sub-meters ``e450-cii-submeters`` pushes. Set up from the UI, the client reads each channel's medium and scale
from the meter: the totals are settled with no question asked, and the meter stays known by its own name."""

from __future__ import annotations

from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.e450.const import CONF_REGISTERS, CONF_RESCALE_PENDING, CONF_TRANSPORT, DOMAIN, TRANSPORT_CLIENT
from custom_components.e450.coordinator import E450ReadCoordinator
from custom_components.e450.submeter_settings import CONF_SUBMETERS
from simulator import MeterSimulator
from simulator.dlms_push import GAS_SERIAL, LOGICAL_DEVICE_NAME, METER_NUMBER, WATER_SERIAL, submeter_readings
from simulator.registers import FROZEN_TIME

from .conftest import meter_device
from .test_dlms_client import configure, user_flow
from .test_submeters import (  # noqa: F401 - the recorder fixture applies here too
    compile_now,
    held_until_compiled,
    mock_recorder_before_hass,
    total_of,
    validate,
)


async def test_a_client_entry_reads_its_sub_meters_settled_by_the_meter(
    recorder_mock: Recorder, hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    assert await async_setup_component(hass, "energy", {})
    assert await async_setup_component(hass, "repairs", {})
    async with MeterSimulator("e450-client-submeters", frozen=True) as meter:
        result = await user_flow(hass, meter.port, protocol="dlms")
        assert result["step_id"] == "confirm_client", result
        # the E450's 31 objects and the two channels' three each; 25 registers read and the six channel objects
        placeholders = result["description_placeholders"]
        assert (placeholders["objects"], placeholders["registers"]) == ("37", "31")
        assert placeholders["serial"] == METER_NUMBER  # the meter's own, not the gas meter's on channel 1
        result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY and result["data"][CONF_TRANSPORT] == TRANSPORT_CLIENT
        kept = result["data"][CONF_REGISTERS]
        assert [72, "0-1:24.1.0"] in kept and [1, "0-2:96.1.0"] in kept and [4, "0-2:24.2.1"] in kept
        await hass.async_block_till_done()
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED and isinstance(entry.runtime_data, E450ReadCoordinator)

        # the meter keeps its own identity: channel 1's serial (0-1:96.1.0, normalised 96.1.0) is the gas meter's
        assert entry.unique_id == LOGICAL_DEVICE_NAME and entry.title == f"Landis+Gyr {LOGICAL_DEVICE_NAME}"
        electricity = meter_device(hass, LOGICAL_DEVICE_NAME)
        assert electricity is not None and electricity.serial_number == METER_NUMBER
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        by_name = {device.name: device for device in devices}
        assert len(devices) == 3
        gas_device, water_device = by_name[f"Gas meter {GAS_SERIAL}"], by_name[f"Water meter {WATER_SERIAL}"]
        assert gas_device.via_device_id == water_device.via_device_id == electricity.id
        assert (gas_device.serial_number, water_device.serial_number) == (GAS_SERIAL, WATER_SERIAL)

        # medium and scale from the meter (device type, scaler_unit m³ × 10^-3): settled, no repair issue
        captured, gas_litres, water_litres = submeter_readings(FROZEN_TIME)
        gas, water = total_of(hass, 1, LOGICAL_DEVICE_NAME), total_of(hass, 2, LOGICAL_DEVICE_NAME)
        for entity_id, litres, device_class in ((gas, gas_litres, "gas"), (water, water_litres, "water")):
            state = hass.states.get(entity_id)
            assert state is not None and float(state.state) == litres / 1000
            assert state.attributes["device_class"] == device_class and state.attributes["unit_of_measurement"] == "m³"
            assert state.attributes["state_class"] == "total_increasing"
            when = captured.replace(tzinfo=dt_util.get_default_time_zone()).isoformat()
            assert state.attributes["captured"] == when
        issues = [issue for (domain, issue) in ir.async_get(hass).issues if domain == DOMAIN]
        assert not [issue for issue in issues if "submeter" in issue], issues
        assert not [code for code in entry.runtime_data.anomalies if "submeter" in code]
        # no generic sensor beside the totals: the channel's number is the sub-meter's, not a register's
        registry = er.async_get(hass)
        assert registry.async_get_entity_id("sensor", DOMAIN, f"{LOGICAL_DEVICE_NAME}_24.2.1") is None
        await compile_now(hass)
        result = await validate(hass, hass_ws_client, gas, water)
        assert result["energy_sources"] == [[], []], result

        # the next read, from what the entry kept, gives the same totals
        await entry.runtime_data.async_refresh()
        assert entry.runtime_data.last_update_success
        assert float(hass.states.get(gas).state) == gas_litres / 1000  # type: ignore[union-attr]

        # the user says the water meter counts tens of litres: its statistics restart as a push entry's do
        flow = await hass.config_entries.options.async_init(entry.entry_id)
        defaults = {str(key): key.default() for key in flow["data_schema"].schema if callable(key.default)}
        flow = await hass.config_entries.options.async_configure(flow["flow_id"], defaults)
        assert flow["step_id"] == "submeter" and flow["description_placeholders"]["sent"] == "m³ × 10^-3"
        flow = await hass.config_entries.options.async_configure(
            flow["flow_id"], {"medium": "gas", "unit": "meter", "exponent": "-3"}
        )
        assert flow["step_id"] == "submeter" and flow["description_placeholders"]["serial"] == WATER_SERIAL
        flow = await hass.config_entries.options.async_configure(
            flow["flow_id"], {"medium": "water", "unit": "m3", "exponent": "-2"}
        )
        assert flow["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        options: dict[str, Any] = dict(entry.options)
        assert options[CONF_SUBMETERS]["1"] == {"medium": "gas", "unit": None, "exponent": None}  # as the meter says
        assert options[CONF_RESCALE_PENDING] == ["0-2:24.2.1"]
        assert isinstance(entry.runtime_data, E450ReadCoordinator)
        await held_until_compiled(hass, entry, "0-2:24.2.1", water, gas)
        assert float(hass.states.get(gas).state) == gas_litres / 1000  # type: ignore[union-attr]
        assert float(hass.states.get(water).state) == water_litres / 100  # type: ignore[union-attr]
        assert await hass.config_entries.async_unload(entry.entry_id)
