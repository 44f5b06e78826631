"""Scales a push leaves open, in Home Assistant (docs/scaling.md): a list nobody describes holds its energy back and
raises a repair issue; the user's choice in its fix flow publishes the right values; a scale changed after
statistics exist starts them again with no jump; the Czech distributors' push from the UI to the Energy sensors."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.e450.const import (
    CONF_DLMS_BAUD,
    CONF_DLMS_PARITY,
    CONF_PORT,
    CONF_RESCALE_PENDING,
    CONF_SCALES,
    CONF_TRANSPORT,
    DOMAIN,
    TRANSPORT_DLMS,
)
from custom_components.e450.coordinator import E450PushCoordinator
from custom_components.e450.diagnostics import async_get_config_entry_diagnostics
from custom_components.e450.repairs import async_create_fix_flow
from simulator.dlms_push import push_frame
from simulator.profiles import MeterState

from .recorder_clock import RecorderClock
from .test_dlms import configure, publish, pushing, settle, user_flow

SERIAL = "5706567000000042"  # the unknown-pairs profile's meter id (1-1:0.0.5)


def shown(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    assert state is not None
    return float(state.state)


def sensor(hass: HomeAssistant, code: str, serial: str = SERIAL) -> str | None:
    return er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{serial}_{code}")


async def test_an_unknown_list_holds_its_energy_back_until_the_user_chooses(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "repairs", {})
    async with pushing("unknown-pairs") as meter:
        result = await user_flow(hass, meter.port)
        assert result["step_id"] == "confirm_push", result
        shown = result["description_placeholders"]
        # the confirmation: no energy shown at a guessed scale; both registers held back, with what was sent
        assert shown["energy_held"] == "1.8.0 (1234568), 2.8.0 (123457)"
        assert shown["energy_sent"] == shown["energy_convention"] == shown["energy_checked"] == "-"
        result = await configure(hass, result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        await hass.async_block_till_done()
        coordinator = entry.runtime_data
        assert isinstance(coordinator, E450PushCoordinator)

        # no energy sensor, a repair issue for the energies; the voltage, checked by its nominal, is shown
        assert sensor(hass, "1.8.0") is None
        voltage = sensor(hass, "32.7.0")
        assert voltage is not None and float(hass.states.get(voltage).state) == 230  # type: ignore[union-attr]
        issues = ir.async_get(hass)
        issue_id = f"{entry.entry_id}_scale_waiting_energy"
        issue = issues.async_get_issue(DOMAIN, issue_id)
        assert issue is not None and issue.is_fixable and issue.translation_key == "scale_waiting"
        assert issue.translation_placeholders is not None
        assert issue.translation_placeholders["registers"] == "1.8.0, 2.8.0"
        # power and currents agree with each other but nothing anchors them: held back too
        assert issues.async_get_issue(DOMAIN, f"{entry.entry_id}_scale_uncertain_power") is not None
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        assert diagnostics["scaling"]["withheld"]["1.8.0"]["reason"] == "waiting"
        assert diagnostics["scaling"]["verdicts"]["voltage"]["scale"] == "checked"

        # the fix flow: the numbers at each scale, as the display shows them (kWh); the user picks 10 Wh
        flow = await async_create_fix_flow(hass, issue_id, dict(issue.data))
        flow.hass = hass
        flow.issue_id = issue_id
        result = await flow.async_step_init()
        assert result["step_id"] == "choose"
        assert result["description_placeholders"]["sent"] == "1.8.0 = 1234568, 2.8.0 = 123457"
        choices = {
            option["value"]: option["label"]
            for option in result["data_schema"].schema["exponent"].config["options"]  # type: ignore[union-attr]
        }
        assert next(iter(choices)) == "0"  # the OBIS table's Wh, which nothing contradicts, first
        assert choices["1"] == "1.8.0 = 12,345.68 kWh; 2.8.0 = 1,234.57 kWh"  # 10 Wh: two decimals
        assert choices["0"] == "1.8.0 = 1,234.568 kWh; 2.8.0 = 123.457 kWh"
        result = await flow.async_step_choose({"exponent": "1"})
        assert result["type"] == "create_entry"
        assert entry.options[CONF_SCALES] == {"1.8.0": 1, "2.8.0": 1}
        await hass.async_block_till_done()

        # reloaded with the user's scale: the energy is published right, the issue is gone
        await settle(hass, lambda: sensor(hass, "1.8.0") is not None, 20)
        energy = sensor(hass, "1.8.0")
        assert energy is not None
        await settle(hass, lambda: (state := hass.states.get(energy)) is not None and state.state != STATE_UNAVAILABLE)
        state = hass.states.get(energy)
        assert state is not None and float(state.state) == 12345680 and state.attributes["unit_of_measurement"] == "Wh"
        assert issues.async_get_issue(DOMAIN, issue_id) is None
        await hass.config_entries.async_unload(entry.entry_id)


async def test_the_czech_push_from_the_ui_to_the_energy_sensors(hass: HomeAssistant) -> None:
    """A Sagemcom XT211 on a ČEZ or EG.D meter: raw APDUs at 9600 8N1, found by detection, scaled by the
    distributors' units, energy sensors ready for the Energy dashboard."""
    async with pushing("czech-xt211") as meter:
        with patch("custom_components.e450.config_flow.PUSH_LISTEN_SECONDS", 3.0):
            result = await user_flow(hass, meter.port)
        assert result["step_id"] == "confirm_push", result
        shown = result["description_placeholders"]
        assert shown["layout"] == "czech, RAW" and shown["baud"] == "9600"
        assert shown["convention"] == "Czech distributors' convention"
        assert shown["energy_convention"].startswith("1.8.0 = 12,345.678 kWh")
        result = await configure(hass, result["flow_id"], {})
        entry = result["result"]
        await hass.async_block_till_done()
        await publish(hass)
        energy = sensor(hass, "1.8.0", "30137181")
        assert energy is not None
        state = hass.states.get(energy)
        assert state is not None and float(state.state) == 12345678
        assert (state.attributes["state_class"], state.attributes["device_class"]) == ("total_increasing", "energy")
        tariff = sensor(hass, "1.8.1", "30137181")
        assert tariff is not None and hass.states.get(tariff) is not None
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database is prepared before ``hass``, as Home Assistant's own recorder tests do."""


@pytest.fixture
def no_listener() -> Generator[None]:
    """Pushes are fed by the test, not read from a port."""
    with patch.object(E450PushCoordinator, "start", lambda self: None):
        yield


class FedMeter:
    """A push meter whose pushes the test hands to the listener, with the clock under the test's control."""

    def __init__(self, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
        self.hass = hass
        self.state = MeterState()
        self.counter = 0
        self.clock = RecorderClock(hass, freezer)
        self.t0 = self.clock.t0

    def feed(self, coordinator: E450PushCoordinator, kwh: float) -> None:
        self.state.import_kwh = kwh
        self.counter += 1
        frame = push_frame(self.state, datetime(2026, 12, 6), self.counter, layout="unknown-pairs", security="none")
        listener = coordinator.listener
        for decoded in listener.decoder.feed(frame, asyncio.get_running_loop().time()):
            listener.on_push(decoded)

    async def publish(self, entry: MockConfigEntry, kwh: float) -> None:
        coordinator = entry.runtime_data
        self.feed(coordinator, kwh)
        await coordinator.async_refresh()
        await self.hass.async_block_till_done()

    async def compile_until(self, minutes: float) -> None:
        """Let time pass to t0 + minutes, compiling each 5-minute period that ends before it."""
        await self.clock.advance(self.t0 + timedelta(minutes=minutes))


async def test_a_new_scale_restarts_the_energy_statistics_without_a_jump(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory, no_listener: None
) -> None:
    """The user first took the sent numbers as Wh (10 times too small: the meter counts 10 Wh), and the statistics
    recorded them; then sets 10 Wh. Kept, the old rows would add a jump of 9 × the reading to the sums; they are
    cleared, and the statistics begin again from the first value at the new scale."""
    assert await async_setup_component(hass, "sensor", {})
    await async_wait_recording_done(hass)
    meter = FedMeter(hass, freezer)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"DLMS {SERIAL}",
        unique_id=SERIAL,
        data={CONF_PORT: "/dev/e450-fed", CONF_TRANSPORT: TRANSPORT_DLMS, CONF_DLMS_BAUD: 2400, CONF_DLMS_PARITY: "N"},
        options={CONF_SCALES: {"1.8.0": 0, "2.8.0": 0, "1.7.0": 0}},
    )
    entry.add_to_hass(hass)

    def first_push(coordinator: E450PushCoordinator) -> None:
        meter.feed(coordinator, meter.state.import_kwh)

    with patch.object(E450PushCoordinator, "start", first_push):
        meter.state.import_kwh = 1000.0
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        energy = sensor(hass, "1.8.0")
        assert energy is not None and shown(hass, energy) == 100000
        await meter.compile_until(2)
        await meter.publish(entry, 1000.5)  # 100050 "Wh"
        await meter.compile_until(12)

        # the user sets 10 Wh: the sensor is held unavailable until the recorder compiled the period of the change
        meter.feed(entry.runtime_data, 1000.5)  # a push just before: the meter is not silent
        hass.config_entries.async_update_entry(entry, options={CONF_SCALES: {"1.8.0": 1, "2.8.0": 1, "1.7.0": 0}})
        await hass.async_block_till_done()
        assert entry.options[CONF_RESCALE_PENDING] == ["1.8.0", "2.8.0"]
        await meter.publish(entry, 1000.5)  # decoded at 10 Wh: 1000500
        assert hass.states.get(energy).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
        await meter.compile_until(17)  # the period of the change, 10-15, compiled at 15:10
        async_fire_time_changed(hass, dt_util.utcnow())
        await hass.async_block_till_done()
        await async_wait_recording_done(hass)
        assert shown(hass, energy) == 1000500  # shown again, at 10 Wh
        assert entry.options[CONF_RESCALE_PENDING] == []
        await meter.publish(entry, 1001.0)
        await meter.compile_until(27)

    rows = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, meter.t0, None, {energy}, "5minute", None, {"state", "sum"}
    )
    found = [(round((row["start"] - meter.t0.timestamp()) / 60), row["state"], row["sum"]) for row in rows[energy]]
    # the rows at the old scale are gone; from the change on, the sum grows by what was consumed, with no jump
    assert found == [(15, 1001000, 500), (20, 1001000, 500)]


async def test_the_display_precision_follows_a_new_scale_without_a_reload(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, no_listener: None
) -> None:
    """The user first took the currents as whole amperes, then sets 0.01 A: the sensors show two decimals from the
    next push on, in the entity registry where the frontend reads them, with no reload."""
    meter = FedMeter(hass, freezer)
    amperes = dict.fromkeys(("31.7.0", "51.7.0", "71.7.0"), 0)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"DLMS {SERIAL}",
        unique_id=SERIAL,
        data={CONF_PORT: "/dev/e450-fed", CONF_TRANSPORT: TRANSPORT_DLMS, CONF_DLMS_BAUD: 2400, CONF_DLMS_PARITY: "N"},
        options={CONF_SCALES: amperes},
    )
    entry.add_to_hass(hass)
    with patch.object(E450PushCoordinator, "start", lambda coordinator: meter.feed(coordinator, 1000.0)):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    registry = er.async_get(hass)
    currents = [sensor(hass, code) for code in amperes]
    assert None not in currents

    def precision(entity_id: str | None) -> int | None:
        assert entity_id is not None
        entity = registry.async_get(entity_id)
        assert entity is not None
        return entity.options.get("sensor", {}).get("suggested_display_precision")

    assert [precision(entity_id) for entity_id in currents] == [0, 0, 0]
    first = shown(hass, currents[0])  # type: ignore[arg-type]
    reloads = 0

    def count_reload(*_: object) -> None:
        nonlocal reloads
        reloads += 1

    with patch.object(hass.config_entries, "async_schedule_reload", count_reload):
        hass.config_entries.async_update_entry(entry, options={CONF_SCALES: dict.fromkeys(amperes, -2)})
        await hass.async_block_till_done()
        await meter.publish(entry, 1000.0)
    assert reloads == 0
    assert [precision(entity_id) for entity_id in currents] == [2, 2, 2]
    assert shown(hass, currents[0]) == pytest.approx(first / 100)  # type: ignore[arg-type]
    await hass.config_entries.async_unload(entry.entry_id)
