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
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.e450.config_flow import E450ConfigFlow
from custom_components.e450.const import (
    CONF_ADVANCED,
    CONF_BACKFILL,
    CONF_CLIENT,
    CONF_DLMS_BAUD,
    CONF_DLMS_PARITY,
    CONF_LOGICAL,
    CONF_MODE_E,
    CONF_PASSWORD,
    CONF_PHYSICAL,
    CONF_PORT,
    CONF_TRANSPORT,
    DOMAIN,
    TRANSPORT_CLIENT,
    TRANSPORT_DLMS,
)
from custom_components.e450.diagnostics import async_get_config_entry_diagnostics
from simulator import MeterSimulator

from .conftest import meter_device
from .flows import finish_progress

ADVANCED = {"max_baud": "9600", "device_address": "", "wake_up": False}


async def user_flow(hass: HomeAssistant, port: str, **advanced: Any) -> dict[str, Any]:
    with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
        data = {CONF_PORT: port, CONF_ADVANCED: {**ADVANCED, **advanced}}
        return await finish_progress(hass, await hass.config_entries.flow.async_configure(result["flow_id"], data))


async def configure(hass: HomeAssistant, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return await finish_progress(hass, await hass.config_entries.flow.async_configure(flow_id, data))


async def test_a_mode_e_meter_without_a_readout_is_read_with_the_dlms_client(hass: HomeAssistant) -> None:
    """The identification announces mode E (``\\2``) and the readout is refused: the flow reads the meter with the
    DLMS client after the sign-on, and the entry keeps reading it that way, scalers and all."""
    shown: list[str] = []
    original = E450ConfigFlow.async_show_progress

    def record(flow: E450ConfigFlow, **kwargs: Any) -> Any:
        shown.append(kwargs["progress_action"])
        return original(flow, **kwargs)

    async with MeterSimulator("e450-mode-e-only", frozen=True) as meter:
        with patch.object(E450ConfigFlow, "async_show_progress", record):
            result = await user_flow(hass, meter.port)
        assert result["step_id"] == "confirm", result
        assert shown[0] == "sign_on" and shown[-1] == "dlms"
        placeholders = result["description_placeholders"]
        assert placeholders["mode"] == "E (DLMS/COSEM)"
        assert placeholders["model"] == "E450 (ZMXi320AP)"
        result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY and result["title"] == "Landis+Gyr E450"
        data = result["data"]
        assert data[CONF_TRANSPORT] == TRANSPORT_CLIENT and data[CONF_MODE_E] is True
        assert (data[CONF_CLIENT], data[CONF_LOGICAL], data[CONF_PHYSICAL], data[CONF_PASSWORD]) == (16, 1, 17, "")
        await hass.async_block_till_done()
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED
        # the serial number, not the logical device name (flag id and serial) the client reads and keys the entry by
        assert entry.unique_id == f"LGZ{placeholders['serial']}"
        device = meter_device(hass, entry.unique_id)
        assert device is not None and device.serial_number == placeholders["serial"]
        assert (device.manufacturer, device.name) == ("Landis+Gyr", "Landis+Gyr E450")
        coordinator = entry.runtime_data
        energy = coordinator.data.readings["1.8.0"]
        assert energy.unit in ("Wh", "kWh") and energy.value > 0
        first_scalers = dict(coordinator._scalers)
        assert first_scalers  # read once with the first values, kept for the next reads
        await coordinator.async_refresh()
        assert coordinator.last_update_success and coordinator._scalers == first_scalers
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
        assert result["step_id"] == "confirm", result
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


async def test_a_silent_dlms_meter_is_explained(hass: HomeAssistant) -> None:
    async with MeterSimulator("e450-hdlc", frozen=True, fault="no_ua") as meter:
        result = await user_flow(hass, meter.port, protocol="dlms")
    assert result["step_id"] == "user" and result["errors"] == {"base": "client_no_ua"}


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
