"""Config flow, through the simulator on a real pty (serialx end to end) wherever a case allows it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.e450.const import AUTO_DETECT, CONF_ADVANCED, CONF_PORT, DOMAIN
from custom_components.e450.wire import FramingError
from custom_components.e450.wire.port import close_port, open_port
from simulator import MeterSimulator

from .conftest import E450_SERIAL, entry_for, fake_ports
from .flows import finish_progress

Simulated = Callable[..., contextlib.AbstractAsyncContextManager[MeterSimulator]]
ADVANCED = {CONF_ADVANCED: {"max_baud": "9600", "device_address": "", "wake_up": False}}


async def start(hass: HomeAssistant, ports: list[Any] | None = None) -> dict[str, Any]:
    with patch("custom_components.e450.config_flow.list_ports", return_value=ports or []):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"
    return dict(result)


async def submit(hass: HomeAssistant, flow_id: str, port: str, **advanced: Any) -> dict[str, Any]:
    data = {CONF_PORT: port, CONF_ADVANCED: {**ADVANCED[CONF_ADVANCED], **advanced}}
    with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
        return await finish_progress(hass, await hass.config_entries.flow.async_configure(flow_id, data))


async def test_full_flow_with_the_simulated_meter(hass: HomeAssistant, meter: MeterSimulator) -> None:
    ports = fake_ports((meter.port, "FTDI FT232R IR head (A10K1)"), ("/dev/ttyACM9", "Nabu Casa ZBT-1 Zigbee"))
    result = await start(hass, ports)
    schema = result["data_schema"].schema
    port_selector = schema[next(key for key in schema if key == CONF_PORT)]
    values = [option["value"] for option in port_selector.config["options"]]
    assert values == [meter.port, "/dev/ttyACM9", AUTO_DETECT]
    assert port_selector.config["custom_value"] is True
    assert meter.requests == 0  # nothing was opened before the user submitted

    result = await submit(hass, result["flow_id"], meter.port)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "confirm"
    placeholders = result["description_placeholders"]
    assert placeholders["manufacturer"] == "Landis+Gyr"
    assert placeholders["model"] == "E450 (ZMXi320AP)"
    assert placeholders["serial"] == E450_SERIAL
    assert placeholders["mode"] == "C" and placeholders["baud"] == "9600"
    assert placeholders["values"] == "28"

    result = dict(await hass.config_entries.flow.async_configure(result["flow_id"], {}))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Landis+Gyr E450"
    assert result["data"] == {CONF_PORT: meter.port, "max_baud": 9600, "device_address": "", "wake_up": False}
    assert result["result"].unique_id == E450_SERIAL
    await hass.async_block_till_done()
    # the probe closed the port: serialx opens exclusively, and the entry's own first read succeeded
    assert hass.config_entries.async_entries(DOMAIN)[0].state is config_entries.ConfigEntryState.LOADED


async def test_cap_and_address_are_used(hass: HomeAssistant, simulated: Simulated) -> None:
    async with simulated("e450", address="12345678") as meter:
        result = await start(hass)
        result = await submit(hass, result["flow_id"], meter.port, max_baud="2400", device_address=" 12345678 ")
        assert result["step_id"] == "confirm"
        assert result["description_placeholders"]["baud"] == "2400"
        result = dict(await hass.config_entries.flow.async_configure(result["flow_id"], {}))
        assert result["data"]["device_address"] == "12345678"
        assert result["data"]["max_baud"] == 2400
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("profile", "fault", "error"),
    [
        ("e450", "no_answer", "no_answer"),
        ("e450", "bad_bcc", "checksum"),
        ("e450", "truncated", "readout_timeout"),
    ],
)
async def test_meter_errors(
    hass: HomeAssistant, simulated: Simulated, profile: str, fault: str | None, error: str
) -> None:
    async with simulated(profile, fault=fault) as meter:
        result = await start(hass)
        result = await submit(hass, result["flow_id"], meter.port)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"
    assert result["errors"] == {"base": error}
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_port_errors(hass: HomeAssistant, meter: MeterSimulator, tmp_path: Path) -> None:
    regular = tmp_path / "file"
    regular.write_text("")
    cases = {
        str(tmp_path / "missing"): "port_not_found",
        str(tmp_path): "port_unsupported",
        str(regular): "port_unsupported",
        "gopher://meter": "port_unsupported",
    }
    result = await start(hass)
    for port, error in cases.items():
        result = await submit(hass, result["flow_id"], port)
        assert result["errors"] == {"base": error}, port
        assert result["description_placeholders"]["port"] == port
    holder = await open_port(meter.port, 9600, 8, "N")
    try:
        result = await submit(hass, result["flow_id"], meter.port)
    finally:
        await close_port(holder)
    assert result["errors"] == {"base": "port_busy"}
    result = await submit(hass, result["flow_id"], "   ")
    assert result["errors"] == {CONF_PORT: "port_not_found"}


@pytest.mark.parametrize("address", ["a/b", "x!", "?", "1" * 33, "tab\there"])
async def test_invalid_address(hass: HomeAssistant, address: str) -> None:
    result = await start(hass)
    result = await submit(hass, result["flow_id"], "/dev/null", device_address=address)
    assert result["errors"] == {CONF_ADVANCED: "invalid_address"}


async def test_framing_and_unknown_errors(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    """Cases the simulator cannot produce on purpose: a framing error and a bug."""
    result = await start(hass)
    with patch("custom_components.e450.probe.run_on_port", side_effect=FramingError("x")):
        result = await submit(hass, result["flow_id"], "/dev/ttyUSB0")
    assert result["errors"] == {"base": "framing"}
    with patch("custom_components.e450.probe.run_on_port", side_effect=RuntimeError("boom")):
        result = await submit(hass, result["flow_id"], "/dev/ttyUSB0")
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error probing /dev/ttyUSB0" in caplog.text


async def test_duplicate_updates_the_port(hass: HomeAssistant, meter: MeterSimulator) -> None:
    entry = entry_for("/dev/serial/by-id/old-adapter")
    entry.add_to_hass(hass)
    result = await start(hass)
    result = await submit(hass, result["flow_id"], meter.port)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    assert entry.data[CONF_PORT] == meter.port


async def test_auto_detect_skips_radios_busy_and_configured_ports(
    hass: HomeAssistant, meter: MeterSimulator, simulated: Simulated, tmp_path: Path
) -> None:
    async with simulated("e450", fault="no_answer") as silent:
        other = entry_for(silent.port, unique_id="other-meter")
        other.add_to_hass(hass)
        ports = fake_ports(
            ("/dev/ttyACM0", "Silicon Labs Zigbee coordinator"),
            (silent.port, "already used by the other entry"),
            (str(tmp_path / "gone"), "unplugged adapter"),
            (meter.port, "FTDI IR head"),
        )
        result = await start(hass, ports)
        with patch("custom_components.e450.config_flow.list_ports", return_value=ports):
            result = dict(
                await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: AUTO_DETECT, **ADVANCED})
            )
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "detect"
        listed = result["description_placeholders"]["ports"]
        assert "Zigbee" not in listed and silent.port not in listed and meter.port in listed
        assert meter.requests == 0  # consent first
        result = await finish_progress(hass, await hass.config_entries.flow.async_configure(result["flow_id"], {}))
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "confirm"
        assert result["description_placeholders"]["port"] == meter.port
        assert silent.requests == 0


async def test_auto_detect_finds_nothing(hass: HomeAssistant, simulated: Simulated) -> None:
    async with simulated("e450", fault="no_answer") as silent:
        ports = fake_ports((silent.port, "FTDI IR head"))
        result = await start(hass, ports)
        with patch("custom_components.e450.config_flow.list_ports", return_value=ports):
            result = dict(
                await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: AUTO_DETECT, **ADVANCED})
            )
        result = await finish_progress(hass, await hass.config_entries.flow.async_configure(result["flow_id"], {}))
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "no_meter_found"
        assert silent.requests == 1


async def test_auto_detect_without_ports(hass: HomeAssistant) -> None:
    result = await start(hass)
    radios = fake_ports(("/dev/ttyUSB3", "Aeotec Z-Wave stick"))
    with patch("custom_components.e450.config_flow.list_ports", return_value=radios):
        result = dict(
            await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: AUTO_DETECT, **ADVANCED})
        )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "no_ports"


async def test_closing_the_dialog_while_probing_frees_the_port(hass: HomeAssistant, simulated: Simulated) -> None:
    """Detection of a silent port takes half a minute; closing the dialog stops it and closes the port."""
    async with simulated("e450", fault="no_answer") as silent:
        result = await start(hass)
        with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
            result = dict(
                await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: silent.port, **ADVANCED})
            )
        assert result["type"] is FlowResultType.SHOW_PROGRESS and result["progress_action"] == "sign_on"
        assert result["description_placeholders"] == {"port": silent.port, "baud": "300", "line": "7E1"}
        hass.config_entries.flow.async_abort(result["flow_id"])
        await asyncio.sleep(0.2)  # the sign-on alone would take seconds more at 300 Bd
        holder = await open_port(silent.port, 300)  # serialx opens exclusively: this fails while the flow holds it
        await close_port(holder)
