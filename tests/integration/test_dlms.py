"""DLMS/COSEM push meters end to end: the simulator pushes on a real pty, the integration listens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator
import contextlib
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.e450.config_flow import E450ConfigFlow
from custom_components.e450.const import (
    AUTO_DETECT,
    CONF_ADVANCED,
    CONF_AUTHENTICATION_KEY,
    CONF_DLMS_BAUD,
    CONF_DLMS_PARITY,
    CONF_DLMS_PROFILE,
    CONF_ENCRYPTION_KEY,
    CONF_PORT,
    CONF_TRANSPORT,
    DOMAIN,
    TRANSPORT_DLMS,
)
from custom_components.e450.coordinator import E450PushCoordinator
from custom_components.e450.diagnostics import async_get_config_entry_diagnostics
from custom_components.e450.wire import PushMeter
from custom_components.e450.wire.port import close_port, open_port
from simulator import MeterSimulator
from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK, METER_NUMBER, SYSTEM_TITLE

from .conftest import fake_ports, meter_device
from .flows import finish_progress

Simulated = Callable[..., contextlib.AbstractAsyncContextManager[MeterSimulator]]
EK, AK = EXAMPLE_EK.hex().upper(), EXAMPLE_AK.hex().upper()
WRONG = "00112233445566778899AABBCCDDEEFF"
TITLE = SYSTEM_TITLE.hex().upper()
ADVANCED = {CONF_ADVANCED: {"max_baud": "9600", "device_address": "", "wake_up": False}}


@pytest.fixture(autouse=True)
def quick_reconnect() -> Generator[None]:
    """Reopen a vanished port after 0.2 s instead of 5 s (and 1 s at most instead of 2 minutes)."""
    with (
        patch("custom_components.e450.listener.RECONNECT_DELAY", 0.2),
        patch("custom_components.e450.listener.RECONNECT_MAX", 1.0),
    ):
        yield


@contextlib.asynccontextmanager
async def pushing(profile: str, **kwargs: Any) -> AsyncIterator[MeterSimulator]:
    async with MeterSimulator(profile, frozen=True, **kwargs) as simulator:
        yield simulator


async def user_flow(hass: HomeAssistant, port: str) -> dict[str, Any]:
    with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
        return await configure(hass, result["flow_id"], {CONF_PORT: port, **ADVANCED})


async def configure(hass: HomeAssistant, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return await finish_progress(hass, await hass.config_entries.flow.async_configure(flow_id, data))


def push_entry(
    port: str, *, baud: int = 9600, parity: str = "N", unique_id: str = METER_NUMBER, **keys: str
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Landis+Gyr {unique_id}",
        unique_id=unique_id,
        data={CONF_PORT: port, CONF_TRANSPORT: TRANSPORT_DLMS, CONF_DLMS_BAUD: baud, CONF_DLMS_PARITY: parity, **keys},
    )


async def set_up(hass: HomeAssistant, meter: MeterSimulator) -> tuple[MockConfigEntry, E450PushCoordinator]:
    """A loaded entry for the encrypted simulator, with the right keys."""
    entry = push_entry(meter.port, **{CONF_ENCRYPTION_KEY: EK, CONF_AUTHENTICATION_KEY: AK})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data
    assert isinstance(coordinator, E450PushCoordinator)
    return entry, coordinator


async def settle(hass: HomeAssistant, condition: Callable[[], bool], seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.05)):
        await hass.async_block_till_done()
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def publish(hass: HomeAssistant, seconds: float = 11) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done()


def energy_entity(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_1.8.0")
    assert entity_id is not None
    return entity_id


async def test_swiss_push_list_is_found_without_keys(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms") as meter:
        result = await user_flow(hass, meter.port)
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "confirm_push", result.get("errors")
        placeholders = result["description_placeholders"]
        assert placeholders["manufacturer"] == "Landis+Gyr"  # from the logical device name LGZ…
        assert placeholders["serial"] == METER_NUMBER
        assert (placeholders["baud"], placeholders["framing"]) == ("2400", "8E1")
        assert placeholders["security"] == "none" and placeholders["layout"] == "push-list, HDLC"
        result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == f"Landis+Gyr {METER_NUMBER}"
        assert result["data"] == {
            CONF_PORT: meter.port, CONF_TRANSPORT: TRANSPORT_DLMS, CONF_DLMS_BAUD: 2400, CONF_DLMS_PARITY: "E",
            "dlms_framing": "hdlc",
        }  # fmt: skip
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        assert entry.state is ConfigEntryState.LOADED
        state = hass.states.get(energy_entity(hass, entry))
        assert state is not None and float(state.state) == 12345678 and state.attributes["unit_of_measurement"] == "Wh"
        current = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{METER_NUMBER}_31.7.0")
        assert current is not None and float(hass.states.get(current).state) == pytest.approx(1.74)  # 0.01 A scaler
        await hass.config_entries.async_unload(entry.entry_id)


async def test_encrypted_meter_asks_for_keys_and_tells_the_errors_apart(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-encrypted") as meter:
        result = await user_flow(hass, meter.port)
        assert result["step_id"] == "dlms_key"
        assert result["description_placeholders"]["system_title"] == TITLE
        assert result["description_placeholders"]["framing"] == "8N1"
        flow = result["flow_id"]
        result = await configure(hass, flow, {CONF_ENCRYPTION_KEY: "12345", CONF_AUTHENTICATION_KEY: "xyz"})
        assert result["errors"] == {CONF_ENCRYPTION_KEY: "invalid_key", CONF_AUTHENTICATION_KEY: "invalid_key"}
        result = await configure(hass, flow, {CONF_ENCRYPTION_KEY: WRONG, CONF_AUTHENTICATION_KEY: AK})
        assert result["errors"] == {"base": "tag_mismatch"}
        result = await configure(hass, flow, {CONF_ENCRYPTION_KEY: EK, CONF_AUTHENTICATION_KEY: WRONG})
        assert result["errors"] == {"base": "tag_mismatch"}
        result = await configure(hass, flow, {CONF_ENCRYPTION_KEY: WRONG})
        assert result["errors"]["base"] in ("wrong_key", "not_notification")
        spaced = " ".join(EK[i : i + 2] for i in range(0, 32, 2)).lower()
        result = await configure(hass, flow, {CONF_ENCRYPTION_KEY: spaced, CONF_AUTHENTICATION_KEY: AK})
        assert result["step_id"] == "confirm_push"
        assert result["description_placeholders"]["security"] == "authenticated (tag ok)"
        assert result["description_placeholders"]["layout"] == "positional (netz-burgenland), HDLC"
        result = await configure(hass, flow, {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_ENCRYPTION_KEY] == EK and result["data"][CONF_AUTHENTICATION_KEY] == AK
        assert result["result"].unique_id == METER_NUMBER
        await hass.async_block_till_done()
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED
        voltage = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{METER_NUMBER}_32.7.0")
        assert voltage is not None and float(hass.states.get(voltage).state) == 230
        device = meter_device(hass, METER_NUMBER)
        assert device is not None and device.manufacturer == "Landis+Gyr"

        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        assert diagnostics["entry"]["data"][CONF_ENCRYPTION_KEY] == "**REDACTED**"
        assert diagnostics["entry"]["data"][CONF_AUTHENTICATION_KEY] == "**REDACTED**"
        push = diagnostics["last_readout"]["push"]
        assert push["system_title"] == "**REDACTED**" and push["tag"] == "ok"
        assert diagnostics["statistics"]["pushes"]["pushes"] >= 1
        assert EK not in str(diagnostics) and METER_NUMBER not in str(diagnostics) and TITLE not in str(diagnostics)
        await hass.config_entries.async_unload(entry.entry_id)


async def test_wiener_netze_meter_is_identified_by_its_system_title(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-wienernetze") as meter:
        result = await user_flow(hass, meter.port)
        assert result["step_id"] == "dlms_key"
        result = await configure(hass, result["flow_id"], {CONF_ENCRYPTION_KEY: EK})
        assert result["step_id"] == "confirm_push"
        assert result["description_placeholders"]["security"] == "encrypted"
        assert result["description_placeholders"]["serial"] == TITLE
        result = await configure(hass, result["flow_id"], {})
        assert result["data"].get(CONF_AUTHENTICATION_KEY) == ""
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)


async def test_auto_detect_finds_a_push_meter(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-encrypted") as meter:
        ports = fake_ports((meter.port, "FTDI IR head"))
        with patch("custom_components.e450.config_flow.list_ports", return_value=ports):
            result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
            result = await configure(hass, result["flow_id"], {CONF_PORT: AUTO_DETECT, **ADVANCED})
            assert result["step_id"] == "detect"
            result = await configure(hass, result["flow_id"], {})
        assert result["step_id"] == "dlms_key"


async def test_undecodable_push_meter_is_explained(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms") as meter:
        with (
            patch("custom_components.e450.config_flow.FIRST_PUSH_WAIT", 1.0),
            patch("custom_components.e450.wire.dlms.bodies.PROFILES", {}),
            patch("custom_components.e450.wire.dlms.bodies._push_list", return_value=None),
            patch("custom_components.e450.wire.dlms.bodies.find_registers", return_value=None),
        ):
            result = await user_flow(hass, meter.port)
        assert result["errors"] == {"base": "unknown_layout"}
        assert "no layout" in result["description_placeholders"]["detail"]
        ports = fake_ports((meter.port, "FTDI IR head"))
        with (
            patch("custom_components.e450.config_flow.list_ports", return_value=ports),
            patch("custom_components.e450.wire.dlms.bodies._push_list", return_value=None),
            patch("custom_components.e450.wire.dlms.bodies.find_registers", return_value=None),
        ):
            result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
            result = await configure(hass, result["flow_id"], {CONF_PORT: AUTO_DETECT, **ADVANCED})
            result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "push_not_decoded"
        assert result["description_placeholders"]["port"] == meter.port


async def test_runtime_publishes_goes_unavailable_and_recovers_without_dips(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-encrypted") as meter:
        entry, coordinator = await set_up(hass, meter)
        assert coordinator.update_interval == timedelta(seconds=10)  # publish interval, not the push rhythm
        energy = energy_entity(hass, entry)
        first = float(hass.states.get(energy).state)
        await settle(hass, lambda: coordinator.listener.statistics.push_interval is not None)
        # the meter falls silent (the head is pulled off): unavailable after three push intervals
        meter.unplug()
        await asyncio.sleep(coordinator.stale_after + 0.2)
        await publish(hass)
        await settle(hass, lambda: hass.states.get(energy).state == STATE_UNAVAILABLE)
        assert coordinator.statistics.last_error is not None and "No DLMS push" in coordinator.statistics.last_error
        before = coordinator.listener.statistics.pushes
        meter.replug()
        # the listener notices the adapter is gone, waits, and reopens the port (slow on a loaded machine)
        await settle(
            hass, lambda: coordinator.listener.connected and coordinator.listener.statistics.reconnects >= 1, 30
        )
        # pushes are decoded again (a loaded machine may take a while to reopen the port and hear a whole one)
        await settle(hass, lambda: coordinator.listener.statistics.pushes > before, seconds=30)
        # the next publications show the values again; on a loaded machine the first may still find the last push
        # older than the stale limit, so publish until one does (within the same 15 s as every other wait)
        for _ in range(30):
            await publish(hass, 22)
            if hass.states.get(energy).state != STATE_UNAVAILABLE:
                break
            await asyncio.sleep(0.5)
        await settle(hass, lambda: hass.states.get(energy).state != STATE_UNAVAILABLE)
        assert float(hass.states.get(energy).state) >= first
        await hass.config_entries.async_unload(entry.entry_id)
        # unloading closed the port: it opens again at once
        holder = await open_port(meter.port, 9600, 8, "N")
        await close_port(holder)


async def test_damaged_pushes_are_skipped_not_published(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-encrypted", fault="intermittent", seed=3) as meter:
        entry, coordinator = await set_up(hass, meter)
        energy = energy_entity(hass, entry)
        values = []
        for _ in range(6):
            await asyncio.sleep(0.6)
            await publish(hass)
            values.append(hass.states.get(energy).state)
        assert STATE_UNAVAILABLE not in values and "0" not in values
        assert coordinator.listener.statistics.pushes >= 3
        await hass.config_entries.async_unload(entry.entry_id)


async def test_wrong_keys_at_start_up_ask_for_new_keys(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-encrypted") as meter:
        entry = push_entry(meter.port, **{CONF_ENCRYPTION_KEY: WRONG, CONF_AUTHENTICATION_KEY: AK})
        entry.add_to_hass(hass)
        assert not await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_ERROR
        (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert flow["context"]["source"] == config_entries.SOURCE_REAUTH
        # the listener let go of the port, so the reauth flow can prove the new keys on a live push
        result = await configure(hass, flow["flow_id"], {CONF_ENCRYPTION_KEY: "nope"})
        assert result["errors"] == {CONF_ENCRYPTION_KEY: "invalid_key"}
        result = await configure(hass, flow["flow_id"], {CONF_ENCRYPTION_KEY: WRONG, CONF_AUTHENTICATION_KEY: AK})
        assert result["errors"] == {"base": "tag_mismatch"}
        result = await configure(hass, flow["flow_id"], {CONF_ENCRYPTION_KEY: EK, CONF_AUTHENTICATION_KEY: AK})
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "reauth_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_ENCRYPTION_KEY] == EK
        assert entry.state is ConfigEntryState.LOADED
        await hass.config_entries.async_unload(entry.entry_id)


async def test_key_rotation_while_running_starts_reauth_on_the_rejected_push(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-encrypted") as meter:
        entry, coordinator = await set_up(hass, meter)
        energy = energy_entity(hass, entry)
        coordinator.listener.decoder.ek = bytes.fromhex(WRONG)  # the utility changed the key in the meter
        await settle(hass, lambda: coordinator.listener.statistics.rejected >= 3)
        await publish(hass)
        await settle(hass, lambda: bool(hass.config_entries.flow.async_progress_by_handler(DOMAIN)))
        assert hass.states.get(energy).state == STATE_UNAVAILABLE
        assert coordinator.listener.rejected_push
        (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        result = await configure(hass, flow["flow_id"], {CONF_ENCRYPTION_KEY: WRONG})
        assert result["errors"]["base"] in ("wrong_key", "not_notification")  # checked on the rejected push
        result = await configure(hass, flow["flow_id"], {CONF_ENCRYPTION_KEY: EK, CONF_AUTHENTICATION_KEY: AK})
        assert result["reason"] == "reauth_successful"
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        await hass.config_entries.async_unload(entry.entry_id)


async def test_reauth_refuses_another_meter(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-encrypted") as meter:
        entry = push_entry(meter.port, unique_id="99999999", **{CONF_ENCRYPTION_KEY: WRONG})
        entry.add_to_hass(hass)
        with patch("custom_components.e450.coordinator.FIRST_PUSH_WAIT", 2.0):
            assert not await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        result = await configure(hass, flow["flow_id"], {CONF_ENCRYPTION_KEY: EK})
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "wrong_meter"
        assert result["description_placeholders"]["serial"] == METER_NUMBER


async def test_options_and_reconfigure_of_a_push_meter(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-encrypted") as meter:
        entry, coordinator = await set_up(hass, meter)
        result = await hass.config_entries.options.async_init(entry.entry_id)
        fields = {str(key) for key in result["data_schema"].schema}
        assert CONF_DLMS_PROFILE in fields and "max_baud" not in fields and "switch_delay" not in fields
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                "scan_interval": 30, CONF_DLMS_PROFILE: "netz-burgenland", "nominal_voltage": "230",
                "voltage_tolerance": 10, "nominal_frequency": "50", "link_lost_minutes": 15,
            },
        )  # fmt: skip
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert coordinator.listener.decoder.profile == "netz-burgenland"
        assert coordinator.update_interval == timedelta(seconds=30)

        result = await entry.start_reconfigure_flow(hass)
        assert CONF_ADVANCED not in {str(key) for key in result["data_schema"].schema}
        await hass.config_entries.async_unload(entry.entry_id)
        with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
            result = await configure(hass, result["flow_id"], {CONF_PORT: meter.port})
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(entry.entry_id)


async def test_port_busy_in_the_key_step(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-encrypted") as meter:
        result = await user_flow(hass, meter.port)
        holder = await open_port(meter.port, 9600, 8, "N")
        try:
            result = await configure(hass, result["flow_id"], {CONF_ENCRYPTION_KEY: EK})
        finally:
            await close_port(holder)
        assert result["errors"] == {"base": "port_busy"}
        assert result["description_placeholders"]["port"] == meter.port


async def test_first_push_never_comes(hass: HomeAssistant, tmp_path: Any) -> None:
    """A silent push port and a vanished adapter: set-up is retried later, the listener stops, nothing lingers."""
    async with pushing("e450-dlms-encrypted", fault="no_answer") as meter:
        for port in (meter.port, str(tmp_path / "gone")):
            entry = push_entry(port, **{CONF_ENCRYPTION_KEY: EK})
            entry.add_to_hass(hass)
            with patch("custom_components.e450.coordinator.FIRST_PUSH_WAIT", 0.8):
                assert not await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            assert entry.state is ConfigEntryState.SETUP_RETRY
            assert "No DLMS push" in str(entry.reason)
            await hass.config_entries.async_remove(entry.entry_id)
        holder = await open_port(meter.port, 9600, 8, "N")  # the listener let go of the port
        await close_port(holder)


async def test_repeated_and_broken_pushes_are_counted_not_published(hass: HomeAssistant) -> None:
    async with pushing("e450-dlms-encrypted") as meter:
        entry, coordinator = await set_up(hass, meter)
        from custom_components.e450.wire import PushDecoder
        from simulator.dlms_push import framed, push_frame
        from simulator.profiles import MeterState

        frame = push_frame(
            MeterState(), dt_util.now().replace(tzinfo=None), 5, layout="burgenland", security="authenticated"
        )
        decoder = PushDecoder(EXAMPLE_EK, EXAMPLE_AK)
        for push in decoder.feed(frame + frame):  # the same invocation counter twice: a replay
            coordinator.listener.on_push(push)
        for push in decoder.feed(framed(b"\x0f" * 300, blocks=True)[:-40]):
            coordinator.listener.on_push(push)
        for push in decoder.feed(framed(b"\x0f" * 20, blocks=False)):  # damaged: not a key problem
            coordinator.listener.on_push(push)
        for push in decoder.feed(framed(bytes.fromhex("C0010000080000010000FF0200"), blocks=False)):
            coordinator.listener.on_push(push)  # another client's clear request on a shared bus: no key can help either
        stats = coordinator.listener.statistics
        assert stats.duplicates == 1 and stats.rejected == 2 and coordinator.listener.key_failures == 0
        for push in decoder.feed(framed(b"\x0f" * 300, blocks=True)[:120] + framed(b"\x0f" * 300, blocks=True)):
            coordinator.listener.on_push(push)
        assert stats.interrupted == 1
        # a clear push of a layout nobody knows: diagnostics carry its structure, strings redacted, to report
        unknown = b"\x0f\x00\x00\x00\x09\x00\x02\x02\x0a\x08ABC12345\x06\x00\x00\x04\xd2"
        for push in decoder.feed(framed(unknown, blocks=False)):
            coordinator.listener.on_push(push)
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        undecoded = diagnostics["statistics"]["pushes"]["undecoded_body"]
        assert undecoded == {"structure": ["visible-string(8)", {"uint32": 1234}]}
        await hass.config_entries.async_unload(entry.entry_id)


async def test_clear_looking_detection_of_a_ciphered_meter_asks_for_keys(hass: HomeAssistant) -> None:
    """A block-transfer push caught mid-way looks clear to the detection; the first whole push says otherwise."""
    async with pushing("e450-dlms-encrypted") as meter:
        with patch("custom_components.e450.probe.run_on_port", return_value=PushMeter(9600, "N", False)):
            result = await user_flow(hass, meter.port)
        assert result["step_id"] == "dlms_key"
        assert result["description_placeholders"]["system_title"] == "?"


async def test_a_kaifa_meter_pushing_m_bus_frames_is_set_up_from_the_ui(hass: HomeAssistant) -> None:
    """The simulated Kaifa MA309 (Netz NÖ): encrypted pushes in M-Bus segments, registers with their own
    scaler and unit. Detection finds the M-Bus frames at 2400 8E1, asks for the key, and the entry keeps the
    framing."""
    async with pushing("kaifa-mbus") as meter:
        result = await user_flow(hass, meter.port)
        assert result["step_id"] == "dlms_key"
        assert result["description_placeholders"]["framing"] == "8E1"
        result = await configure(hass, result["flow_id"], {CONF_ENCRYPTION_KEY: EK})
        assert result["step_id"] == "confirm_push"
        assert result["description_placeholders"]["layout"] == "described, MBUS"
        # its system title opens with Kaifa's flag id; the MA309's list names no type
        assert result["description_placeholders"]["manufacturer"] == "Kaifa"
        result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == f"Kaifa {result['result'].unique_id}"
        assert result["data"]["dlms_framing"] == "mbus" and result["data"][CONF_DLMS_PARITY] == "E"
        await hass.async_block_till_done()
        entry = result["result"]
        assert entry.state is ConfigEntryState.LOADED
        serial = entry.unique_id
        device = meter_device(hass, str(serial))
        assert device is not None and (device.manufacturer, device.name) == ("Kaifa", entry.title)
        voltage = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{serial}_32.7.0")
        assert voltage is not None and float(hass.states.get(voltage).state) == 230.0  # 2300 × 10^-1 V
        power_factor = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{serial}_13.7.0")
        assert power_factor is not None and float(hass.states.get(power_factor).state) == 1.0
        # shown with the decimals the registers' scalers give, the same for every phase (10^-2 A: two)
        for code, places in (("31.7.0", 2), ("51.7.0", 2), ("71.7.0", 2), ("32.7.0", 1), ("1.7.0", 0)):
            entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{serial}_{code}")
            found = er.async_get(hass).async_get(entity_id) if entity_id else None
            assert found is not None and found.options["sensor"]["suggested_display_precision"] == places, code
        await hass.config_entries.async_unload(entry.entry_id)


async def test_an_aidon_style_list_without_keys(hass: HomeAssistant) -> None:
    async with pushing("aidon") as meter:
        result = await user_flow(hass, meter.port)
        assert result["step_id"] == "confirm_push"
        assert result["description_placeholders"]["security"] == "none"
        assert result["description_placeholders"]["layout"] == "described, HDLC"
        # who the meter is, from its list: the list version id names the maker, 0-0:96.1.7 the type
        assert result["description_placeholders"]["manufacturer"] == "Aidon 6534"
        assert result["description_placeholders"]["serial"] == METER_NUMBER
        result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY and result["result"].unique_id == METER_NUMBER
        assert result["title"] == "Aidon 6534"
        await hass.async_block_till_done()
        device = meter_device(hass, METER_NUMBER)
        assert device is not None
        assert (device.manufacturer, device.model, device.name) == ("Aidon", "6534", "Aidon 6534")
        assert device.serial_number == METER_NUMBER
        await hass.config_entries.async_unload(result["result"].entry_id)


async def test_an_existing_push_meter_takes_its_name_unless_the_user_renamed_it(hass: HomeAssistant) -> None:
    """An entry set up before its meter was known by its type ("DLMS 30137181") shows it as "Aidon 6534" now, its
    title too; a device the user renamed keeps the user's name, an entry the user renamed the user's title."""
    async with pushing("aidon") as meter:
        entry = push_entry(meter.port, baud=2400, parity="E")
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(entry, title=f"DLMS {METER_NUMBER}")
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        device = meter_device(hass, METER_NUMBER)
        assert device is not None and (device.name, device.model) == ("Aidon 6534", "6534")
        assert entry.title == "Aidon 6534"
        dr.async_get(hass).async_update_device(device.id, name_by_user="Garage meter")
        hass.config_entries.async_update_entry(entry, title="Garage")
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        device = meter_device(hass, METER_NUMBER)
        assert device is not None and device.name_by_user == "Garage meter" and device.name == "Garage"
        assert entry.title == "Garage"
        await hass.config_entries.async_unload(entry.entry_id)


async def test_the_progress_dialog_says_what_is_being_tried(hass: HomeAssistant) -> None:
    """Sign-on at 300 Bd, then each line setting listened at, then the first push: each shown as it happens."""
    shown: list[tuple[str, dict[str, str]]] = []
    original = E450ConfigFlow.async_show_progress

    def record(flow: E450ConfigFlow, **kwargs: Any) -> Any:
        shown.append((kwargs["progress_action"], dict(kwargs["description_placeholders"])))
        return original(flow, **kwargs)

    async with pushing("aidon") as meter:  # a clear push at 2400 8N1
        # longer than the simulator's push interval (0.5 s), so that no line setting is silent throughout
        with (
            patch.object(E450ConfigFlow, "async_show_progress", record),
            patch("custom_components.e450.config_flow.PUSH_LISTEN_SECONDS", 1.5),
        ):
            result = await user_flow(hass, meter.port)
    assert result["step_id"] == "confirm_push"
    steps = [(action, values["baud"], values["line"]) for action, values in shown]
    assert steps[0] == ("sign_on", "300", "7E1")
    listened = [(baud, line) for action, baud, line in steps if action == "listen"]
    # a pty carries the speed but not the parity: the 2400 Bd push is heard at the first 2400 Bd setting
    assert listened == [("9600", "8N1"), ("2400", "8E1")]
    assert steps[-1] == ("push", "2400", "8E1")
    assert all(values["port"] == meter.port for _, values in shown)


async def test_a_meter_pushing_raw_apdus_is_set_up_from_the_ui(hass: HomeAssistant) -> None:
    """No framing at all (Aidon list as raw APDUs at 115200 8N1): detection takes a whole burst of complete APDUs
    for a push, and the entry keeps the raw framing."""
    async with pushing("aidon-raw") as meter:
        # a raw push is only taken when heard whole, from silence to silence: listen for more than two pushes
        with patch("custom_components.e450.config_flow.PUSH_LISTEN_SECONDS", 1.5):
            result = await user_flow(hass, meter.port)
        assert result["step_id"] == "confirm_push", result
        assert result["description_placeholders"]["baud"] == "115200"
        assert result["description_placeholders"]["layout"].endswith(", RAW")
        result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["dlms_framing"] == "raw"
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)


async def test_a_meter_pushing_several_lists_is_named_and_keeps_every_register(hass: HomeAssistant) -> None:
    """Aidon's list 1 is the power alone; the full list with the meter number and the energies comes every fourth
    push. Set-up waits for a push that names the meter; the energies get their sensors when their list comes, and
    keep their value while list 1 is the latest push."""
    async with pushing("aidon-lists") as meter:
        result = await user_flow(hass, meter.port)
        assert result["step_id"] == "confirm_push", result.get("errors")
        assert result["description_placeholders"]["serial"] == METER_NUMBER
        result = await configure(hass, result["flow_id"], {})
        entry = result["result"]
        await hass.async_block_till_done()
        coordinator = entry.runtime_data
        registry = er.async_get(hass)

        def entity(code: str) -> str | None:
            return registry.async_get_entity_id("sensor", DOMAIN, f"{METER_NUMBER}_{code}")

        def latest_pushed(code: str) -> bool:
            latest = coordinator.listener.latest
            return latest is not None and latest.push is not None and latest.datasets[0].obis == code

        # a full list, published: the energy sensor exists (made then, if the first publication had list 1 only)
        await settle(hass, lambda: latest_pushed("0.2.129"), 20)
        await publish(hass)
        await settle(hass, lambda: entity("1.8.0") is not None)
        energy = entity("1.8.0")
        assert energy is not None
        await settle(hass, lambda: hass.states.get(energy) is not None)
        imported = hass.states.get(energy).state
        # then list 1, published: the power is new, the energy keeps the value its list gave
        await settle(hass, lambda: latest_pushed("1.7.0"), 20)
        await publish(hass, 22)
        power = entity("1.7.0")
        assert power is not None and hass.states.get(power).state != STATE_UNAVAILABLE
        assert hass.states.get(energy).state == imported != STATE_UNAVAILABLE
        await hass.config_entries.async_unload(entry.entry_id)
