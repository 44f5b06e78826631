"""Meters read by our DLMS/COSEM client, set up from the UI against the simulator's DLMS server on a real pty:
mode E after the sign-on, direct HDLC, and a meter that refuses the public client."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.e450.config_flow import E450ConfigFlow
from custom_components.e450.const import (
    CONF_ADDRESS_SIZE,
    CONF_ADVANCED,
    CONF_AUTHENTICATION_KEY,
    CONF_BACKFILL,
    CONF_CLIENT,
    CONF_DLMS_BAUD,
    CONF_DLMS_PARITY,
    CONF_ENCRYPTION_KEY,
    CONF_INVOCATION_COUNTER,
    CONF_LOGICAL,
    CONF_MODE_E,
    CONF_PASSWORD,
    CONF_PHYSICAL,
    CONF_PORT,
    CONF_REGISTERS,
    CONF_SYSTEM_TITLE,
    CONF_TRANSPORT,
    DOMAIN,
    TRANSPORT_CLIENT,
    TRANSPORT_DLMS,
)
from custom_components.e450.diagnostics import async_get_config_entry_diagnostics
from simulator import MeterSimulator
from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK, METER_NUMBER

from .conftest import meter_device
from .flows import finish_progress

ADVANCED = {"max_baud": "9600", "device_address": "", "wake_up": False}


async def user_flow(hass: HomeAssistant, port: str, **advanced: Any) -> dict[str, Any]:
    with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
        data = {CONF_PORT: port, CONF_ADVANCED: {**ADVANCED, **advanced}}
        return await finish_progress(hass, await hass.config_entries.flow.async_configure(result["flow_id"], data))


def set_fault(meter: MeterSimulator, fault: str | None) -> None:
    """The simulated meter's fault from its next connection on, without waiting for it to see the line closed."""
    meter.fault = fault
    assert meter.dlms is not None
    meter.dlms.faults.pick()


async def configure(hass: HomeAssistant, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return await finish_progress(hass, await hass.config_entries.flow.async_configure(flow_id, data))


@pytest.mark.parametrize(("profile", "fault"), [("e450-mode-e-only", None), ("e450-mode-e", "nak_readout")])
async def test_a_mode_e_meter_without_a_readout_is_read_with_the_dlms_client(
    hass: HomeAssistant, profile: str, fault: str | None
) -> None:
    """The identification announces mode E (``\\2``) and the readout is refused (a meter without one, or an
    E550/ZMD that NAKs a readout asked without a password): the flow reads the meter with the DLMS client after the
    sign-on, and the entry keeps reading it that way, scalers and all; the power factor has its sensor."""
    shown: list[str] = []
    original = E450ConfigFlow.async_show_progress

    def record(flow: E450ConfigFlow, **kwargs: Any) -> Any:
        shown.append(kwargs["progress_action"])
        return original(flow, **kwargs)

    async with MeterSimulator(profile, frozen=True, fault=fault) as meter:
        with patch.object(E450ConfigFlow, "async_show_progress", record):
            result = await user_flow(hass, meter.port)
        assert result["step_id"] == "confirm_client", result
        assert shown[0] == "sign_on" and shown[-1] == "dlms"
        placeholders = result["description_placeholders"]
        assert placeholders["mode"] == "E (DLMS/COSEM)"
        assert placeholders["model"] == "E450 (ZMXi320AP)"
        # 31 objects; 25 registers read (the power factors, maximum and average demand, the tariff among them);
        # 22 with a meaning of their own
        assert (placeholders["objects"], placeholders["registers"], placeholders["sensors"]) == ("31", "25", "22")
        result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY and result["title"] == "Landis+Gyr E450"
        data = result["data"]
        assert data[CONF_TRANSPORT] == TRANSPORT_CLIENT and data[CONF_MODE_E] is True
        assert (data[CONF_CLIENT], data[CONF_LOGICAL], data[CONF_PHYSICAL], data[CONF_PASSWORD]) == (16, 1, 17, "")
        assert [3, "1-0:13.7.0"] in data[CONF_REGISTERS] and [4, "1-0:1.6.0"] in data[CONF_REGISTERS]
        await hass.async_block_till_done()
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED
        # the serial number the meter states (0-0:96.1.0), not the logical device name the entry is keyed by
        assert entry.unique_id == "LGZ1030655933512" and placeholders["serial"] == METER_NUMBER
        device = meter_device(hass, entry.unique_id)
        assert device is not None and device.serial_number == METER_NUMBER
        assert (device.manufacturer, device.name) == ("Landis+Gyr", "Landis+Gyr E450")
        coordinator = entry.runtime_data
        energy = coordinator.data.readings["1.8.0"]
        assert energy.unit in ("Wh", "kWh") and energy.value > 0
        first_scalers = dict(coordinator._scalers)
        assert first_scalers  # read once with the first values, kept for the next reads
        # exactly the registers the object list offered, without reading it again
        assert len(coordinator.settings.client.offered) == 25
        await coordinator.async_refresh()
        assert coordinator.last_update_success and coordinator._scalers == first_scalers
        registry = er.async_get(hass)
        power_factor = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_13.7.0")
        assert power_factor is not None and float(hass.states.get(power_factor).state) == 0.98
        phase = registry.async_get(registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_33.7.0"))
        demand = registry.async_get(registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_1.6.0"))
        assert phase.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert demand.disabled_by is er.RegistryEntryDisabler.INTEGRATION and demand.entity_category == "diagnostic"
        await hass.config_entries.async_unload(entry.entry_id)


async def test_direct_hdlc_when_chosen_and_credentials_when_refused(hass: HomeAssistant) -> None:
    """A meter without sign-on, read over direct HDLC (advanced setting); it refuses the public client, so the
    flow asks for the client address and password and proves them; the password never reaches diagnostics."""
    async with MeterSimulator("e450-hdlc", frozen=True, fault="aarq_rejected") as meter:
        result = await user_flow(hass, meter.port, protocol="dlms")
        assert result["step_id"] == "dlms_client", result
        assert result["errors"] == {"base": "client_association_refused"}
        flow = result["flow_id"]
        credentials = {CONF_CLIENT: 32, CONF_PASSWORD: "12345678", CONF_LOGICAL: 1, CONF_PHYSICAL: 17}
        result = await configure(hass, flow, credentials)  # still refused while the fault lasts
        assert result["step_id"] == "dlms_client" and result["errors"] == {"base": "client_association_refused"}
        meter.fault = None
        await asyncio.sleep(1.0)  # the simulated meter takes its fault anew when it sees the line closed
        result = await configure(hass, flow, {**credentials, CONF_PASSWORD: "nope"})
        assert result["errors"] == {"base": "client_wrong_password"}
        result = await configure(hass, flow, credentials)
        assert result["step_id"] == "confirm_client", result
        assert result["description_placeholders"]["mode"] == "DLMS/COSEM (HDLC)"
        result = await configure(hass, flow, {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_MODE_E] is False and result["data"][CONF_PASSWORD] == "12345678"
        await hass.async_block_till_done()
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        assert diagnostics["entry"]["data"][CONF_PASSWORD] == "**REDACTED**"
        assert str(diagnostics).count("12345678") == str(diagnostics).count("'value': '12345678'")  # 1.8.0, by chance
        await hass.config_entries.async_unload(entry.entry_id)


async def test_a_silent_dlms_meter_is_explained_and_other_addresses_asked_for(hass: HomeAssistant) -> None:
    """No answer at the default addresses: the client form says so and takes others (a 1-byte server address
    here); addresses that do not fit the size chosen are refused before any read."""
    async with MeterSimulator("e450-hdlc", frozen=True, fault="no_ua") as meter:
        result = await user_flow(hass, meter.port, protocol="dlms")
        assert result["step_id"] == "dlms_client" and result["errors"] == {"base": "client_no_ua"}
        flow = result["flow_id"]
        addresses = {CONF_CLIENT: 16, CONF_LOGICAL: 1, CONF_PHYSICAL: 300, CONF_ADDRESS_SIZE: "2"}
        result = await configure(hass, flow, addresses)
        assert result["errors"] == {CONF_PHYSICAL: "address_too_large"}
        set_fault(meter, None)
        result = await configure(hass, flow, {**addresses, CONF_ADDRESS_SIZE: "1"})
        assert result["step_id"] == "confirm_client", result
        result = await configure(hass, flow, {})
        assert result["type"] is FlowResultType.CREATE_ENTRY and result["data"][CONF_ADDRESS_SIZE] == 1
        await hass.async_block_till_done()
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED and entry.runtime_data.settings.client.link.address_size == 1
        await hass.config_entries.async_unload(entry.entry_id)


async def test_hls_gmac_from_the_form_survives_a_restart(hass: HomeAssistant) -> None:
    """The keys in the form (client 1), the invocation counter from the meter's frame counter before the first
    ciphered association, kept in the entry ahead of use: a reload starts above it, and a counter lost (an old
    backup) is corrected once from the meter's frame counter; wrong keys get their error; diagnostics redact."""
    async with MeterSimulator("e450-hdlc", frozen=True, fault="aarq_rejected") as meter:
        result = await user_flow(hass, meter.port, protocol="dlms")
        assert result["step_id"] == "dlms_client", result
        flow = result["flow_id"]
        set_fault(meter, None)
        meter.dlms.application.objects.invocation_counter = 41  # another client used the meter before
        keys = {CONF_CLIENT: 1, CONF_LOGICAL: 1, CONF_PHYSICAL: 17, CONF_ENCRYPTION_KEY: EXAMPLE_EK.hex()}
        result = await configure(hass, flow, keys)
        assert result["errors"] == {CONF_AUTHENTICATION_KEY: "invalid_key"}
        result = await configure(hass, flow, {**keys, CONF_AUTHENTICATION_KEY: EXAMPLE_EK.hex()})
        assert result["errors"] == {"base": "client_authentication_failed"}
        good = {**keys, CONF_AUTHENTICATION_KEY: EXAMPLE_AK.hex(), CONF_SYSTEM_TITLE: "45 34 35 00 00 00 00 07"}
        result = await configure(hass, flow, {**good, CONF_SYSTEM_TITLE: "E45"})
        assert result["errors"] == {CONF_SYSTEM_TITLE: "invalid_system_title"}
        result = await configure(hass, flow, good)
        assert result["step_id"] == "confirm_client", result
        result = await configure(hass, flow, {})
        data = result["data"]
        assert data[CONF_SYSTEM_TITLE] == "4534350000000007" and data[CONF_INVOCATION_COUNTER] > 1000 + 42
        await hass.async_block_till_done()
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED
        used = meter.dlms.application.objects.invocation_counter
        assert used >= 42 and entry.data[CONF_INVOCATION_COUNTER] > used  # reserved ahead of what was used
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED and meter.dlms.application.objects.invocation_counter > used
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_INVOCATION_COUNTER: 0})
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED  # corrected from the frame counter, once
        assert entry.data[CONF_INVOCATION_COUNTER] > meter.dlms.application.objects.invocation_counter
        diagnostics = str(await async_get_config_entry_diagnostics(hass, entry))
        assert EXAMPLE_AK.hex().upper() not in diagnostics and "4534350000000007" not in diagnostics
        await hass.config_entries.async_unload(entry.entry_id)


async def test_an_entry_made_before_the_object_list_reads_it_once(hass: HomeAssistant) -> None:
    async with MeterSimulator("e450-hdlc", frozen=True) as meter:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id="LGZ1030655933512",
            data={CONF_PORT: meter.port, CONF_TRANSPORT: TRANSPORT_CLIENT, CONF_MODE_E: False},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert len(entry.data[CONF_REGISTERS]) == 25
        assert len(entry.runtime_data.settings.client.offered) == 25
        assert "13.7.0" in entry.runtime_data.data.readings
        await hass.config_entries.async_unload(entry.entry_id)


async def test_the_backfill_option_is_offered_where_a_profile_can_be_read(hass: HomeAssistant) -> None:
    """DLMS client meters (profile generic) and IEC 62056-21 meters (P.01) have the option, on by default; push
    meters, whose profile nobody can ask for, do not."""
    client = MockConfigEntry(domain=DOMAIN, data={CONF_PORT: "/dev/null", CONF_TRANSPORT: TRANSPORT_CLIENT})
    iec = MockConfigEntry(domain=DOMAIN, data={CONF_PORT: "/dev/null"})
    push = MockConfigEntry(
        domain=DOMAIN,
        data={CONF_PORT: "/dev/null", CONF_TRANSPORT: TRANSPORT_DLMS, CONF_DLMS_BAUD: 9600, CONF_DLMS_PARITY: "N"},
    )
    for entry in (client, iec, push):
        entry.add_to_hass(hass)
    for entry in (client, iec):
        result = await hass.config_entries.options.async_init(entry.entry_id)
        fields = {str(key): key for key in result["data_schema"].schema}
        assert fields[CONF_BACKFILL].default() is True
        defaults = {str(key): key.default() for key in result["data_schema"].schema if callable(key.default)}
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**defaults, CONF_BACKFILL: False}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY and entry.options[CONF_BACKFILL] is False
    result = await hass.config_entries.options.async_init(push.entry_id)
    assert CONF_BACKFILL not in {str(key) for key in result["data_schema"].schema}


async def test_reconfigure_reads_the_object_list_again(hass: HomeAssistant) -> None:
    """Reconfiguring a client entry reads the object list again (the meter may offer other registers now); a
    meter that does not answer at the entry's addresses keeps the entry as it was."""
    async with MeterSimulator("e450-hdlc", frozen=True) as meter:
        stale = [[3, "1-0:1.8.0"]]
        data = {CONF_PORT: meter.port, CONF_TRANSPORT: TRANSPORT_CLIENT, CONF_MODE_E: False, CONF_REGISTERS: stale}
        entry = MockConfigEntry(domain=DOMAIN, unique_id="LGZ1030655933512", data=data)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert set(entry.runtime_data.data.readings) == {"1.8.0"}  # exactly what the entry kept
        result = await entry.start_reconfigure_flow(hass)
        await hass.config_entries.async_unload(entry.entry_id)
        set_fault(meter, "no_ua")
        with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
            result = await configure(hass, result["flow_id"], {CONF_PORT: meter.port, CONF_ADVANCED: ADVANCED})
            assert result["errors"] == {"base": "client_no_ua"} and entry.data[CONF_REGISTERS] == stale
            set_fault(meter, None)
            result = await configure(hass, result["flow_id"], {CONF_PORT: meter.port, CONF_ADVANCED: ADVANCED})
        assert result["reason"] == "reconfigure_successful"
        assert len(entry.data[CONF_REGISTERS]) == 25
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(entry.entry_id)
