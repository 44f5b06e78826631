"""Gas and water meters on an E450's M-Bus channels, end to end: the simulator's ``e450-cii-submeters`` pushes a gas
meter on channel 1 and a water meter on channel 2 (docs/mbus-submeters.md); set up from the UI, they are devices
of their own, the Energy dashboard takes their totals, their statistics put each reading in the hour it was
captured, and a new scale in the options restarts a total's statistics instead of breaking them."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
import contextlib
from dataclasses import replace
from datetime import datetime, timedelta
import json
import time
from typing import Any
from unittest.mock import ANY, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.e450.backfill import Skip, Status, async_restate
from custom_components.e450.compat import vol
from custom_components.e450.const import (
    CONF_DLMS_BAUD,
    CONF_DLMS_PARITY,
    CONF_PORT,
    CONF_RESCALE_PENDING,
    CONF_TRANSPORT,
    DOMAIN,
    TRANSPORT_DLMS,
)
from custom_components.e450.coordinator import E450PushCoordinator
from custom_components.e450.diagnostics import async_get_config_entry_diagnostics
from custom_components.e450.rescale import period_compiled
from custom_components.e450.submeter_settings import CONF_SUBMETERS
from custom_components.e450.submeters import meter_time
from custom_components.e450.wire import DataSet, DataValue, PushDecoder, Readout
from simulator import MeterSimulator
from simulator.dlms_push import GAS_SERIAL, METER_NUMBER, WATER_SERIAL, push_frame, submeter_readings
from simulator.profiles import MeterState
from simulator.registers import FROZEN_TIME

from .recorder_clock import RecorderClock
from .test_dlms import configure, quick_reconnect, user_flow  # noqa: F401 - the fixture applies here too

SETTINGS = {
    "scan_interval": 10, "dlms_profile": "auto", "nominal_voltage": "230", "voltage_tolerance": 10,
    "nominal_frequency": "50", "link_lost_minutes": 15,
}  # fmt: skip


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database is prepared before ``hass`` (as Home Assistant's own recorder tests do)."""


@contextlib.asynccontextmanager
async def submeters_meter() -> AsyncIterator[MeterSimulator]:
    async with MeterSimulator("e450-cii-submeters", frozen=True) as simulator:
        yield simulator


async def from_the_ui(hass: HomeAssistant, port: str) -> ConfigEntry:
    """The user adds the meter: port, then the push found is confirmed."""
    result = await user_flow(hass, port)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "confirm_push", result.get("errors")
    result = await configure(hass, result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    return entry


# the user's options say the gas meter's number is its reading in m³ (the simulated one counts litres: the tests
# below care for where and when its readings land, not for its scale)
GAS_AS_SENT = {CONF_SUBMETERS: {"1": {"medium": "gas", "unit": "m³", "exponent": 0}}}


async def with_gas_as_sent(hass: HomeAssistant, entry: ConfigEntry) -> E450PushCoordinator:
    """The entry reloaded with :data:`GAS_AS_SENT`; its coordinator."""
    hass.config_entries.async_update_entry(entry, options={**entry.options, **GAS_AS_SENT})
    await hass.async_block_till_done()
    coordinator = entry.runtime_data
    assert isinstance(coordinator, E450PushCoordinator)
    return coordinator


def total_of(hass: HomeAssistant, channel: int, meter: str = METER_NUMBER) -> str:
    """A channel's total, by the entry's unique id (``meter``: a push entry's is the meter number)."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{meter}_0-{channel}:24.2.1")
    assert entity_id is not None
    return entity_id


async def compile_now(hass: HomeAssistant, periods_on: int = 0) -> None:
    """Compile the 5-minute period in progress (or one ``periods_on`` after it: a period is compiled once), as the
    recorder will at its end."""
    now = dt_util.utcnow()
    start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    do_adhoc_statistics(hass, start=start + timedelta(minutes=5 * periods_on))
    await async_wait_recording_done(hass)


async def validate(hass: HomeAssistant, ws: WebSocketGenerator, gas: str, water: str) -> dict[str, Any]:
    """The Energy dashboard's gas and water sources, and what its validation says of them."""
    client = await ws(hass)
    source = {"stat_cost": None, "entity_energy_price": None, "number_energy_price": None}
    await client.send_json_auto_id(
        {
            "type": "energy/save_prefs",
            "energy_sources": [
                {"type": "gas", "stat_energy_from": gas, **source},
                {"type": "water", "stat_energy_from": water, **source},
            ],
        }
    )
    saved = await client.receive_json()
    assert saved["success"], saved
    await client.send_json_auto_id({"type": "energy/validate"})
    answer = await client.receive_json()
    assert answer["success"], answer
    result: dict[str, Any] = answer["result"]
    return result


async def held_until_compiled(hass: HomeAssistant, entry: ConfigEntry, code: str, held: str, shown: str) -> None:
    """The total of ``code`` (``held``) is unavailable until its 5-minute period is compiled, then released; the
    other total (``shown``) goes on (rescale.py)."""
    coordinator = entry.runtime_data
    assert code in coordinator.holding
    assert hass.states.get(held).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert hass.states.get(shown).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    async_fire_time_changed(hass, period_compiled(dt_util.utcnow()))
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    assert coordinator.holding == set() and entry.options[CONF_RESCALE_PENDING] == []


async def test_gas_and_water_meters_from_the_ui_in_the_energy_dashboard(
    recorder_mock: Recorder, hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    assert await async_setup_component(hass, "energy", {})
    assert await async_setup_component(hass, "repairs", {})
    async with submeters_meter() as meter:
        entry = await from_the_ui(hass, meter.port)
        coordinator = entry.runtime_data
        assert isinstance(coordinator, E450PushCoordinator)
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        assert len(devices) == 3
        by_name = {device.name: device for device in devices}
        electricity = next(device for device in devices if (DOMAIN, METER_NUMBER) in device.identifiers)
        gas_device, water_device = by_name[f"Gas meter {GAS_SERIAL}"], by_name[f"Water meter {WATER_SERIAL}"]
        assert gas_device.via_device_id == water_device.via_device_id == electricity.id
        assert (gas_device.serial_number, water_device.serial_number) == (GAS_SERIAL, WATER_SERIAL)
        # diagnostics list the channels, and name neither sub-meter by its serial number anywhere
        report = await async_get_config_entry_diagnostics(hass, entry)
        assert [(found["channel"], found["medium"], found["serial"]) for found in report["submeters"]] == [
            (1, "gas", "**REDACTED**"),
            (2, "water", "**REDACTED**"),
        ]
        assert GAS_SERIAL not in json.dumps(report, default=str) and WATER_SERIAL not in json.dumps(report, default=str)

        captured, gas_litres, water_litres = submeter_readings(FROZEN_TIME)
        gas, water = total_of(hass, 1), total_of(hass, 2)
        gas_state, water_state = hass.states.get(gas), hass.states.get(water)
        assert gas_state is not None and water_state is not None
        assert er.async_get(hass).async_get(gas).device_id == gas_device.id  # type: ignore[union-attr]
        # the gas meter's push names its medium but not its scale (it counts litres): no number at a guessed
        # scale, but a repair issue naming the channel, whose fix is the channel's form
        assert gas_state.state == STATE_UNAVAILABLE
        issue_id = f"{entry.entry_id}_submeter_scale_1"
        issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
        assert issue is not None and issue.is_fixable
        assert issue.translation_placeholders == {
            "channel": "1", "serial": GAS_SERIAL, "meter": entry.title, "port": meter.port, "since": ANY,
        }  # fmt: skip
        assert ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_submeter_scale_2") is None
        # the water meter's push names its scaler_unit: litres as m³
        assert float(water_state.state) == water_litres / 1000
        assert (
            water_state.attributes["device_class"] == "water" and water_state.attributes["unit_of_measurement"] == "m³"
        )
        await compile_now(hass)
        result = await validate(hass, hass_ws_client, gas, water)
        assert result["energy_sources"][1] == [], result
        assert {found["type"] for found in result["energy_sources"][0]} == {
            "statistics_not_defined",
            "entity_unavailable",
        }

        # the repair: the user reads the gas meter's display and says it counts litres (m³ × 10^-3)
        flows = repairs_flow_manager(hass)
        assert flows is not None
        flow = await flows.async_init(DOMAIN, data={"issue_id": issue_id})
        assert flow["type"] is FlowResultType.FORM and flow["step_id"] == "channel"
        placeholders = flow["description_placeholders"]
        assert (placeholders["raw"], placeholders["shown"], placeholders["serial"]) == (
            str(gas_litres),
            "–",
            GAS_SERIAL,
        )
        # the form offers the medium the meter said, and no power of ten: that one is read off the display
        defaults = {str(key): key.default() for key in flow["data_schema"].schema if key.default is not vol.UNDEFINED}
        assert defaults == {"medium": "gas", "unit": "m3"}
        wrong = await flows.async_configure(flow["flow_id"], {"medium": "gas", "unit": "kwh", "exponent": "-3"})
        assert wrong["errors"] == {"unit": "unit_not_for_medium"}
        hasty = await flows.async_configure(flow["flow_id"], {"medium": "gas", "unit": "m3"})
        assert hasty["errors"] == {"exponent": "exponent_missing"}  # no power of ten taken for granted
        done = await flows.async_configure(flow["flow_id"], {"medium": "gas", "unit": "m3", "exponent": "-3"})
        assert done["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert entry.options[CONF_SUBMETERS]["1"] == {"medium": "gas", "unit": "m³", "exponent": -3}
        # it was never shown: no statistics to restart, the reloaded entry shows it at once
        assert entry.options.get(CONF_RESCALE_PENDING, []) == []
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
        gas_state = hass.states.get(gas)
        assert gas_state is not None and float(gas_state.state) == gas_litres / 1000
        assert gas_state.attributes["device_class"] == "gas" and gas_state.attributes["unit_of_measurement"] == "m³"
        assert gas_state.attributes["state_class"] == "total_increasing"
        when = captured.replace(tzinfo=dt_util.get_default_time_zone()).isoformat()
        assert (gas_state.attributes["captured"], gas_state.attributes["channel"]) == (when, 1)
        await compile_now(hass, periods_on=1)
        result = await validate(hass, hass_ws_client, gas, water)
        assert result["energy_sources"] == [[], []], result

        # the options show each channel's value as shown; the user says the water meter counts tens of litres
        flow = await hass.config_entries.options.async_init(entry.entry_id)
        flow = await hass.config_entries.options.async_configure(flow["flow_id"], SETTINGS)
        assert flow["type"] is FlowResultType.FORM and flow["step_id"] == "submeter"
        assert flow["description_placeholders"]["serial"] == GAS_SERIAL
        assert flow["description_placeholders"]["shown"] == f"{gas_litres / 1000:.3f} m³"
        flow = await hass.config_entries.options.async_configure(
            flow["flow_id"], {"medium": "gas", "unit": "m3", "exponent": "-3"}
        )
        assert flow["step_id"] == "submeter" and flow["description_placeholders"]["serial"] == WATER_SERIAL
        assert flow["description_placeholders"]["shown"] == f"{water_litres / 1000:.3f} m³"
        wrong = await hass.config_entries.options.async_configure(
            flow["flow_id"], {"medium": "water", "unit": "gj", "exponent": "0"}
        )
        assert wrong["errors"] == {"unit": "unit_not_for_medium"}
        flow = await hass.config_entries.options.async_configure(
            flow["flow_id"], {"medium": "water", "unit": "m3", "exponent": "-2"}
        )
        assert flow["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert entry.options[CONF_SUBMETERS]["2"] == {"medium": "water", "unit": "m³", "exponent": -2}
        assert entry.options[CONF_RESCALE_PENDING] == ["0-2:24.2.1"]  # the gas meter's scale did not change

        # the entry reloads; the water total is held until its period is compiled, then starts again at 10^-2
        assert isinstance(entry.runtime_data, E450PushCoordinator)
        await held_until_compiled(hass, entry, "0-2:24.2.1", water, gas)
        assert float(hass.states.get(gas).state) == gas_litres / 1000  # type: ignore[union-attr]
        water_state = hass.states.get(water)
        assert water_state is not None and float(water_state.state) == water_litres / 100
        assert water_state.attributes["unit_of_measurement"] == "m³"
        await compile_now(hass, periods_on=2)
        result = await validate(hass, hass_ws_client, gas, water)
        assert result["energy_sources"] == [[], []], result
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_total_an_earlier_version_showed_at_a_guessed_scale_restarts_its_statistics(
    hass: HomeAssistant,
) -> None:
    """Before the scale of a channel had to be said, its number was shown at its medium's unit and 10^0: a total
    restored with such a number, its scale still unsaid, has its statistics restarted once the period is compiled,
    as a new scale does; the repair flow of a meter removed meanwhile has nothing to choose."""
    gas = f"sensor.gas_meter_{GAS_SERIAL}"
    stored = {"native_value": 30545.0, "native_unit_of_measurement": "m³", "exponent": 0}
    mock_restore_cache_with_extra_data(hass, [(State(gas, "30545.0", {"unit_of_measurement": "m³"}), stored)])
    async with submeters_meter() as meter:
        entry = await from_the_ui(hass, meter.port)
        coordinator = entry.runtime_data
        assert isinstance(coordinator, E450PushCoordinator)
        assert total_of(hass, 1) == gas and hass.states.get(gas).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
        assert entry.options[CONF_RESCALE_PENDING] == ["0-1:24.2.1"] and coordinator.holding == {"0-1:24.2.1"}
        with patch("custom_components.e450.rescale.restart_statistics") as restart:
            async_fire_time_changed(hass, period_compiled(dt_util.utcnow()))
            await hass.async_block_till_done()
        restart.assert_called_once_with(hass, METER_NUMBER, {"0-1:24.2.1"})
        assert entry.options[CONF_RESCALE_PENDING] == [] and coordinator.holding == set()
        assert hass.states.get(gas).state == STATE_UNAVAILABLE  # type: ignore[union-attr]  # still unsaid

        assert await async_setup_component(hass, "repairs", {})
        flows = repairs_flow_manager(hass)
        assert flows is not None
        issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_submeter_scale_1")
        assert issue is not None and issue.data is not None
        gone = await flows.async_init(DOMAIN, data={"issue_id": issue.issue_id})
        assert (await hass.config_entries.async_remove(entry.entry_id))["require_restart"] is False
        gone = await flows.async_configure(gone["flow_id"], {"medium": "gas", "unit": "m3", "exponent": "-3"})
        assert gone["type"] is FlowResultType.ABORT and gone["reason"] == "channel_gone"


async def test_a_restart_before_the_period_ended_restarts_the_statistics_once(hass: HomeAssistant) -> None:
    """Home Assistant restarted while a guessed total's restart was pending: the entry holds it again from its
    options (__init__.py), and the total restored with its old number does not ask a second time."""
    gas = f"sensor.gas_meter_{GAS_SERIAL}"
    stored = {"native_value": 30545.0, "native_unit_of_measurement": "m³", "exponent": 0}
    mock_restore_cache_with_extra_data(hass, [(State(gas, "30545.0", {"unit_of_measurement": "m³"}), stored)])
    async with submeters_meter() as meter:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id=METER_NUMBER,
            data={CONF_PORT: meter.port, CONF_TRANSPORT: TRANSPORT_DLMS, CONF_DLMS_BAUD: 2400, CONF_DLMS_PARITY: "E"},
            options={CONF_RESCALE_PENDING: ["0-1:24.2.1"]},
        )
        entry.add_to_hass(hass)
        er.async_get(hass).async_get_or_create(
            "sensor", DOMAIN, f"{METER_NUMBER}_0-1:24.2.1", suggested_object_id=gas.split(".")[1]
        )
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.holding == {"0-1:24.2.1"}
        assert entry.options[CONF_RESCALE_PENDING] == ["0-1:24.2.1"]
        with patch("custom_components.e450.rescale.restart_statistics") as restart:
            async_fire_time_changed(hass, period_compiled(dt_util.utcnow()))
            await hass.async_block_till_done()
        restart.assert_called_once_with(hass, METER_NUMBER, {"0-1:24.2.1"})
        assert entry.options[CONF_RESCALE_PENDING] == [] and entry.runtime_data.holding == set()
        assert await hass.config_entries.async_unload(entry.entry_id)


async def readout_at(moment: datetime, counter: int) -> Readout:
    """The simulated E450's push at ``moment`` (the meter's local time, naive)."""
    (push,) = PushDecoder().feed(push_frame(MeterState(), moment, counter, layout="swiss-submeters", security="none"))
    assert push.readout is not None
    return push.readout


async def test_each_reading_lands_in_the_hour_it_was_captured(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    await hass.config.async_set_time_zone("UTC")  # the simulated meter's local time
    clock = RecorderClock(hass, freezer)
    t0 = clock.t0
    first = await readout_at(t0.replace(tzinfo=None) + timedelta(minutes=10), 1)

    def pushed(coordinator: E450PushCoordinator) -> None:
        """The listener heard the first push (the pushes below stand for the meter's: time is the test's here)."""
        coordinator.listener.latest, coordinator.listener.latest_at = first, time.monotonic()
        coordinator.listener.settled.set()

    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Landis+Gyr {METER_NUMBER}",
        unique_id=METER_NUMBER,
        data={CONF_PORT: "/dev/null", CONF_TRANSPORT: TRANSPORT_DLMS, CONF_DLMS_BAUD: 2400, CONF_DLMS_PARITY: "E"},
        options=GAS_AS_SENT,
    )
    entry.add_to_hass(hass)
    with patch.object(E450PushCoordinator, "start", pushed):
        await clock.advance(t0 + timedelta(minutes=10))
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    coordinator = entry.runtime_data
    coordinator.update_interval = None
    gas = total_of(hass, 1)
    for counter, moment in enumerate((t0 + timedelta(hours=1, minutes=2), t0 + timedelta(hours=2, minutes=20)), 2):
        await clock.advance(moment)
        coordinator.async_set_updated_data(await readout_at(moment.replace(tzinfo=None), counter))
        await hass.async_block_till_done()
        await async_wait_recording_done(hass)
        if counter == 2:  # the restatement waits for the hour before to be compiled
            await clock.advance(t0 + timedelta(hours=1, minutes=6))
            async_fire_time_changed(hass, dt_util.utcnow())
            await hass.async_block_till_done()
            await async_wait_recording_done(hass)
    await clock.advance(t0 + timedelta(hours=3, minutes=1))
    rows = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, t0, None, {gas}, "hour", None, {"change", "state"}
    )
    readings = {hour: submeter_readings(t0.replace(tzinfo=None) + timedelta(hours=hour))[1] for hour in range(3)}
    # the reading captured at t0 + 1 h (the end of the first hour, pushed after it) is the first hour's consumption,
    # the one captured at t0 + 2 h the second's: not the hours the pushes came in
    assert [(row["state"], row["change"]) for row in rows[gas]] == [
        (readings[1], readings[1] - readings[0]),
        (readings[2], readings[2] - readings[1]),
        (readings[2], 0),
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_silent_channel_raises_an_issue_naming_it(hass: HomeAssistant) -> None:
    async with submeters_meter() as meter:
        entry = await from_the_ui(hass, meter.port)
        coordinator = entry.runtime_data
        readout = coordinator.data
        kept = tuple(dataset for dataset in readout.datasets if not dataset.address.startswith("0-2:"))
        attributes = {key: value for key, value in readout.attributes.items() if not key[0].startswith("0-2:")}
        coordinator.listener.latest = replace(readout, datasets=kept, attributes=attributes)
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_submeter_silent_2")
        assert issue is not None and issue.translation_placeholders["serial"] == WATER_SERIAL  # type: ignore[index]
        assert issue.translation_placeholders["channel"] == "2"  # type: ignore[index]
        # the total keeps its last reading
        assert float(hass.states.get(total_of(hass, 2)).state) == submeter_readings(FROZEN_TIME)[2] / 1000  # type: ignore[union-attr]
        assert await hass.config_entries.async_unload(entry.entry_id)


def with_gas(readout: Readout, raw: int, captured: datetime | None = None) -> Readout:
    """The readout with the gas meter's reading (and its capture time) replaced."""
    datasets = tuple(
        DataSet.of(dataset.address, (DataValue(str(raw), None),), raw) if dataset.address == "0-1:24.2.1" else dataset
        for dataset in readout.datasets
    )
    attributes = dict(readout.attributes)
    if captured is not None:
        attributes["0-1:24.2.1", 5] = captured
    return replace(readout, datasets=datasets, attributes=attributes)


async def test_a_gas_total_never_dips_nor_drops_to_0_and_follows_a_swapped_meter(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    async with submeters_meter() as meter:
        entry = await from_the_ui(hass, meter.port)
        coordinator = await with_gas_as_sent(hass, entry)
        coordinator.update_interval = None
        gas = total_of(hass, 1)
        first = coordinator.data
        start = float(hass.states.get(gas).state)  # type: ignore[union-attr]

        async def push(readout: Readout) -> float:
            coordinator.async_set_updated_data(readout)
            await hass.async_block_till_done()
            return float(hass.states.get(gas).state)  # type: ignore[union-attr]

        assert await push(with_gas(first, 0)) == start  # an emptied channel's 0 is no reading
        assert await push(with_gas(first, 500)) == start  # a dip: held
        assert "holding the last value" in caplog.text
        assert await push(with_gas(first, 510)) == start
        assert await push(with_gas(first, 520)) == 520  # lower three pushes in a row: a swapped sub-meter
        assert "the meter was reset or replaced" in caplog.text
        # readings captured in the hour in progress, or one after the other before the hour before is compiled:
        # one restatement at most, and none left behind at unload
        now = dt_util.now().replace(tzinfo=None)
        assert await push(with_gas(first, 530, now)) == 530
        earlier = now - timedelta(hours=2)
        assert await push(with_gas(first, 540, earlier)) == 540
        assert await push(with_gas(first, 550, earlier + timedelta(hours=1))) == 550
        # the total hears only its own register's changes, yet a lower reading counts every push until decided:
        # the same lower reading three times is a swapped sub-meter too
        for expected in (550, 550, 100):
            assert await push(with_gas(first, 100, earlier + timedelta(hours=1))) == expected
        # only the capture time changed (an attribute, not a data set): the total shows it
        later = earlier + timedelta(hours=1, minutes=30)
        await push(with_gas(first, 100, later))
        assert hass.states.get(gas).attributes["captured"] == meter_time(later).isoformat()  # type: ignore[union-attr]
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_restating_needs_a_recorder_statistics_and_a_unit_they_take(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    assert await async_setup_component(hass, "sensor", {})  # its recorder platform compiles the statistics
    captured = dt_util.utcnow() - timedelta(hours=2)
    report = await async_restate(hass, "sensor.nothing", captured, 1.0, "m³")
    assert report.status is Status.NO_STATISTICS
    hass.states.async_set("sensor.gas", "1", {"state_class": "total_increasing", "unit_of_measurement": "m³"})
    await compile_now(hass)
    report = await async_restate(hass, "sensor.gas", captured, 1.0, "kWh")
    assert report.status is Status.DONE and report.skipped == Counter({Skip.UNIT: 1})
    report = await async_restate(hass, "sensor.gas", captured, 2.0, "m³")
    assert report.filled == []  # no hour compiled since the capture but the one in progress


async def test_restating_without_a_recorder(hass: HomeAssistant) -> None:
    report = await async_restate(hass, "sensor.gas", dt_util.utcnow(), 1.0, "m³")
    assert report.status is Status.NO_RECORDER
