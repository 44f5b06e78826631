"""Load profile backfill (custom_components/e450/backfill.py) against Home Assistant's own recorder: the statistics
compiled the way Home Assistant compiles them (5-minute periods, the hourly summary at :55), a gap in the
sensors' states, the profile imported, and the Energy dashboard's view of the result."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistic_during_period, statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.e450.backfill import (
    BackfillReport,
    Gap,
    Skip,
    Status,
    async_backfill,
    async_find_gap,
)
from custom_components.e450.const import DOMAIN
from custom_components.e450.gap_filler import GapFiller
from custom_components.e450.wire import NoAnswerError
from custom_components.e450.wire.errors import ProgrammingRefusedError
from custom_components.e450.wire.models import LoadProfile

from .recorder_clock import RecorderClock


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database is prepared before ``hass`` (the integration tests' autouse fixtures make ``hass``
    first): as Home Assistant's own recorder tests do."""


IMPORT = "sensor.meter_energy_import"
EXPORT = "sensor.meter_energy_export"
ENTITIES = {"1.8.0": IMPORT, "2.8.0": EXPORT}
HOUR = timedelta(hours=1)


def _attributes(unit: str = "kWh") -> dict[str, Any]:
    return {"state_class": "total_increasing", "device_class": "energy", "unit_of_measurement": unit}


@dataclass(frozen=True)
class Value:
    value: float
    unit: str | None


@dataclass(frozen=True)
class Entry:
    """What the wire side's ProfileEntry carries: a time and the captured registers."""

    time: datetime
    values: Mapping[str, Value | tuple[float, str | None]]


class Meter:
    """The sensors' states over time, compiled by the recorder as time passes (each 5-minute period 10 s after its
    end, the hour's summary with the period at :55), as Home Assistant does while it runs."""

    def __init__(self, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
        self.hass = hass
        self.clock = RecorderClock(hass, freezer)
        self.t0 = self.clock.t0

    @classmethod
    async def start(cls, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> Meter:
        """The sensor integration's recorder platform compiles the statistics of sensors."""
        assert await async_setup_component(hass, "sensor", {})
        await async_wait_recording_done(hass)
        return cls(hass, freezer)

    def at(self, hours: float) -> datetime:
        return self.t0 + timedelta(hours=hours)

    async def advance(self, hours: float) -> None:
        """Let time pass to ``t0 + hours``, compiling every period that ends before it."""
        await self.clock.advance(self.at(hours))

    async def set(self, hours: float, **states: float | str) -> None:
        await self.advance(hours)
        for key, value in states.items():
            entity_id = IMPORT if key == "imported" else EXPORT
            self.hass.states.async_set(entity_id, str(value), _attributes())
        await async_wait_recording_done(self.hass)


# The registers (kWh) at each hour boundary of the gap, as the meter's load profile has them. The head is
# unplugged at 09:12 (t0 + 1.2 h) and back at 14:20; Home Assistant read 1001.0/50.2 last before the gap.
IMPORT_PROFILE = {1: 1000.8, 2: 1001.4, 3: 1002.0, 4: 1004.0, 5: 1006.5, 6: 1008.0}
EXPORT_PROFILE = {1: 50.1, 2: 50.3, 3: 50.5, 4: 50.6, 5: 50.8, 6: 50.9}


def profile(meter: Meter, imported: Mapping[int, float] = IMPORT_PROFILE) -> list[Entry]:
    """A 15-minute profile over the gap: 1.8.0 in Wh with aware times, 2.8.0 in kWh with naive local times (meter
    time, as the wire side returns it). The quarter-hour entries lie between the hours' values."""
    entries: list[Entry] = []
    hours = sorted(imported)
    for hour in hours:
        for quarter in range(4 if hour != hours[-1] else 1):
            moment = meter.at(hour + quarter / 4)
            later = min(hour + 1, hours[-1])
            share = quarter / 4
            value_in = imported[hour] + share * (imported[later] - imported[hour])
            value_out = EXPORT_PROFILE[hour] + share * (EXPORT_PROFILE[later] - EXPORT_PROFILE[hour])
            local = dt_util.as_local(moment).replace(tzinfo=None)
            entries.append(Entry(moment, {"1.8.0": Value(round(value_in * 1000, 3), "Wh")}))
            entries.append(Entry(local, {"2.8.0": (round(value_out, 3), "kWh")}))
    return entries


async def gap_history(meter: Meter, back: float = 1009.0, exported: float | None = 51.0) -> None:
    """Readings before the gap, the gap (the sensors unavailable), the first reading after it (14:20; export only
    when ``exported``), and time to 14:26 (the period 14:20 compiled)."""
    await meter.set(0, imported=1000.0, exported=50.0)
    await meter.set(0.5, imported=1000.5)
    await meter.set(1 + 10 / 60, imported=1001.0, exported=50.2)
    await meter.set(1.2, imported="unavailable", exported="unavailable")
    if exported is None:
        await meter.set(6 + 20 / 60, imported=back)
    else:
        await meter.set(6 + 20 / 60, imported=back, exported=exported)
    await meter.advance(6 + 26 / 60)


async def rows(hass: HomeAssistant, meter: Meter, entity_id: str, *types: str) -> list[dict[str, Any]]:
    """The hourly rows from t0 on, with the hour as its offset from t0."""
    result = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, meter.t0, None, {entity_id}, "hour", None, set(types)
    )
    return [
        {"hour": round((row["start"] - meter.t0.timestamp()) / 3600)} | {key: row.get(key) for key in types}
        for row in result.get(entity_id, [])
    ]


async def backfill(hass: HomeAssistant, meter: Meter, entries: list[Entry], **kwargs: Any) -> BackfillReport:
    report = await async_backfill(hass, ENTITIES, entries, meter.at(1.2), until=meter.at(6 + 20 / 60), **kwargs)
    await async_wait_recording_done(hass)
    return report


def changes(found: list[dict[str, Any]]) -> dict[int, float]:
    return {row["hour"]: round(row["change"], 6) for row in found}


async def test_gap_filled_with_the_hours_readings(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    meter = await Meter.start(hass, freezer)
    await gap_history(meter)
    before = await rows(hass, meter, IMPORT, "state", "sum")
    assert [row["hour"] for row in before] == [0, 1]  # the gap has no rows; 14:00 is in progress

    report = await backfill(hass, meter, profile(meter))

    # hours 10:00 … 13:00 (t0 + 2 … 5): state = the register at the hour's end, sum continuing the row before the
    # gap (09:00: state 1001.0, sum 1.0; the 1.8.0 profile was in Wh, the statistics are in kWh)
    imported = await rows(hass, meter, IMPORT, "state", "sum")
    assert [(row["hour"], row["state"], round(row["sum"], 6)) for row in imported] == [
        (0, 1000.5, 0.5),
        (1, 1001.0, 1.0),
        (2, 1002.0, 2.0),
        (3, 1004.0, 4.0),
        (4, 1006.5, 6.5),
        (5, 1008.0, 8.0),
    ]
    exported = await rows(hass, meter, EXPORT, "state", "sum")
    assert [(row["hour"], row["state"], round(row["sum"], 6)) for row in exported] == [
        (0, 50.0, 0.0),
        (1, 50.2, 0.2),
        (2, 50.5, 0.5),
        (3, 50.6, 0.6),
        (4, 50.8, 0.8),
        (5, 50.9, 0.9),
    ]
    sensor = report.sensors[IMPORT]
    assert sensor.status is Status.DONE
    assert sensor.unit == "kWh"
    assert sensor.filled == [meter.at(hour) for hour in (2, 3, 4, 5)]
    assert sensor.skipped == {Skip.RECORDED: 1}  # 09:00, compiled before the gap
    assert report.hours_filled == 8
    assert report.as_dict()["sensors"][0] == {
        "code": "1.8.0",
        "entity_id": IMPORT,
        "status": "done",
        "unit": "kWh",
        "filled": 4,
        "hours": [meter.at(hour).isoformat() for hour in (2, 3, 4, 5)],
        "skipped": {"recorded": 1},
    }


@pytest.mark.parametrize("fill", [True, False], ids=["backfilled", "not-backfilled"])
async def test_energy_dashboard_shows_the_gap_where_it_happened(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory, fill: bool
) -> None:
    """The dashboard's hourly changes after Home Assistant compiled the hour the gap ended in (14:00)."""
    meter = await Meter.start(hass, freezer)
    await gap_history(meter)
    if fill:
        await backfill(hass, meter, profile(meter))
    await meter.set(6 + 40 / 60, imported=1009.5)
    await meter.advance(7.05)

    hourly = changes(await rows(hass, meter, IMPORT, "change"))
    period = await get_instance(hass).async_add_executor_job(
        statistic_during_period, hass, meter.t0, meter.at(7), IMPORT, {"change"}, None
    )
    assert period["change"] == pytest.approx(9.5)  # the register's rise, counted once
    if fill:
        assert hourly == {0: 0.5, 1: 0.5, 2: 1.0, 3: 2.0, 4: 2.5, 5: 1.5, 6: 1.5}
    else:  # what the backfill is for: the gap's 7 kWh and 14:00's own in one hour
        assert hourly == {0: 0.5, 1: 0.5, 6: 8.5}


async def test_backfill_after_home_assistant_compiled_the_spike(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Sums are absolute: importing the gap's rows after the hour it ended in was compiled takes the spike out."""
    meter = await Meter.start(hass, freezer)
    await gap_history(meter)
    await meter.set(6 + 40 / 60, imported=1009.5)
    await meter.advance(8.1)
    assert changes(await rows(hass, meter, IMPORT, "change"))[6] == 8.5

    report = await backfill(hass, meter, profile(meter))

    assert report.sensors[IMPORT].filled == [meter.at(hour) for hour in (2, 3, 4, 5)]
    assert changes(await rows(hass, meter, IMPORT, "change")) == {
        0: 0.5,
        1: 0.5,
        2: 1.0,
        3: 2.0,
        4: 2.5,
        5: 1.5,
        6: 1.5,
        7: 0.0,
    }


async def test_running_twice_changes_nothing(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    meter = await Meter.start(hass, freezer)
    await gap_history(meter)
    await backfill(hass, meter, profile(meter))
    first = await rows(hass, meter, IMPORT, "state", "sum")

    # the same profile, and one that disagrees: rows there are never rewritten
    again = await backfill(hass, meter, profile(meter))
    other = await backfill(hass, meter, profile(meter, {hour: value + 0.1 for hour, value in IMPORT_PROFILE.items()}))

    assert await rows(hass, meter, IMPORT, "state", "sum") == first
    for report in (again, other):
        assert report.hours_filled == 0
        assert report.sensors[IMPORT].skipped == {Skip.RECORDED: 5}
    assert await async_find_gap(hass, ENTITIES.values(), until=meter.at(6 + 20 / 60)) is None


async def test_a_dip_in_the_profile_is_not_imported(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    meter = await Meter.start(hass, freezer)
    await gap_history(meter)
    dipped = dict(IMPORT_PROFILE) | {4: 1001.5}  # 12:00 below 11:00's 1002.0: a bad capture

    report = await backfill(hass, meter, profile(meter, dipped))

    found = await rows(hass, meter, IMPORT, "state", "change")
    assert [(row["hour"], row["state"]) for row in found] == [
        (0, 1000.5),
        (1, 1001.0),
        (2, 1002.0),
        (4, 1006.5),  # 11:00 (its end reading dipped) has no row: its energy shows in 12:00
        (5, 1008.0),
    ]
    assert all(row["change"] >= 0 for row in found)
    assert changes(found)[4] == 4.5
    assert report.sensors[IMPORT].skipped == {Skip.RECORDED: 1, Skip.DIP: 1}


async def test_readings_above_the_reading_after_the_gap_or_too_steep_are_dropped(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    meter = await Meter.start(hass, freezer)
    await gap_history(meter)
    glitch = dict(IMPORT_PROFILE) | {3: 9999.0}  # 11:00: higher than the 1009.0 read at 14:20

    # 2.2 kW: 10:00 → 12:00 (3.0 kWh in 2 h) fits, 12:00 → 13:00 (2.5 kWh) does not, 12:00 → 14:00 (4.0 kWh in
    # 2 h) does
    report = await backfill(hass, meter, profile(meter, glitch), max_power=2200)

    found = await rows(hass, meter, IMPORT, "state", "sum")
    assert [(row["hour"], row["state"], round(row["sum"], 6)) for row in found] == [
        (0, 1000.5, 0.5),
        (1, 1001.0, 1.0),
        (3, 1004.0, 4.0),
        (5, 1008.0, 8.0),
    ]
    assert report.sensors[IMPORT].skipped == {Skip.RECORDED: 1, Skip.ABOVE_LATER: 1, Skip.IMPLAUSIBLE: 1}


async def test_nothing_imported_over_a_meter_replacement(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The meter after the gap reads 3.0: Home Assistant starts a new cycle, which no reading of the old meter's
    profile continues consistently."""
    meter = await Meter.start(hass, freezer)
    await gap_history(meter, back=3.0)

    report = await backfill(hass, meter, profile(meter))

    assert [row["hour"] for row in await rows(hass, meter, IMPORT, "state")] == [0, 1]
    assert report.sensors[IMPORT].skipped == {Skip.RECORDED: 1, Skip.NEW_CYCLE: 4}
    assert report.sensors[EXPORT].filled == [meter.at(hour) for hour in (2, 3, 4, 5)]


async def test_readings_that_keep_falling_are_a_reset(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The guard's rule: lower values confirmed by consecutive readings are a reset; the gap is left alone from
    there (importing them would need a new cycle)."""
    meter = await Meter.start(hass, freezer)
    await gap_history(meter)
    falling = dict(IMPORT_PROFILE) | {3: 0.5, 4: 0.6, 5: 0.7}  # a new register from 11:00 on

    report = await backfill(hass, meter, profile(meter, falling))

    assert [row["hour"] for row in await rows(hass, meter, IMPORT, "state")] == [0, 1]
    assert report.sensors[IMPORT].skipped == {Skip.RECORDED: 1, Skip.DIP: 2, Skip.RESET: 2}


async def test_what_is_left_alone(recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """A sensor without statistics; a gap no reading follows; hours Home Assistant compiles itself."""
    meter = await Meter.start(hass, freezer)
    await gap_history(meter, exported=None)  # the export register did not come back
    entities = {"1.8.0": IMPORT, "2.8.0": EXPORT, "1.8.1": "sensor.meter_energy_import_tariff_1"}

    # until now (14:26): the hour in progress is still Home Assistant's
    report = await async_backfill(hass, entities, profile(meter), meter.at(1.2))
    await async_wait_recording_done(hass)

    assert report.sensors["sensor.meter_energy_import_tariff_1"].status is Status.NO_STATISTICS
    assert report.sensors[IMPORT].filled == [meter.at(hour) for hour in (2, 3, 4, 5)]
    assert report.sensors[EXPORT].filled == []  # no row after the gap and no state now: nothing bounds the profile
    assert report.sensors[EXPORT].skipped == {Skip.RECORDED: 1, Skip.NO_LATER: 4}
    assert report.until == meter.at(6 + 21 / 60)  # now, less the margin the recorder's own compiling has
    # from 14:00 on: not a whole hour that is not Home Assistant's
    late = await async_backfill(hass, entities, profile(meter), meter.at(6))
    assert late.hours_filled == 0
    assert all(not sensor.skipped for sensor in late.sensors.values())


async def test_find_gap(recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    meter = await Meter.start(hass, freezer)
    await gap_history(meter)
    until = meter.at(6 + 20 / 60)

    # the statistics stop with the hour of the last reading (09:00's row ends at 10:00); 14:00 is compiled again
    assert await async_find_gap(hass, ENTITIES.values(), until=until) == Gap(meter.at(2), meter.at(6))
    assert await async_find_gap(hass, ["sensor.never_recorded"], until=until) is None
    await backfill(hass, meter, profile(meter))
    assert await async_find_gap(hass, ENTITIES.values(), until=until) is None


async def test_without_the_recorder(hass: HomeAssistant) -> None:
    now = dt_util.utcnow()
    report = await async_backfill(hass, ENTITIES, [], now - timedelta(hours=5), until=now)
    assert {sensor.status for sensor in report.sensors.values()} == {Status.NO_RECORDER}
    assert await async_find_gap(hass, ENTITIES.values()) is None
    with pytest.raises(ValueError, match="aware"):
        await async_backfill(hass, ENTITIES, [], datetime(2025, 1, 1))
    assert report.since == now - timedelta(hours=5)


async def test_the_gap_filler_reads_the_profile_for_the_gap_and_imports_it(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """What the read coordinator runs after good reads: the entry's energy sensors found in the entity registry,
    the gap before the readings resumed found in their statistics, the profile read for it (meter-local times,
    under the read lock), the readings imported; not searched again until a read fails."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id="S1", title="meter")
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    for code, entity_id in ENTITIES.items():
        object_id = entity_id.removeprefix("sensor.")
        registry.async_get_or_create("sensor", DOMAIN, f"S1_{code}", config_entry=entry, suggested_object_id=object_id)
    registry.async_get_or_create("sensor", DOMAIN, "S1_32.7.0", config_entry=entry, suggested_object_id="voltage")
    meter = await Meter.start(hass, freezer)
    lock = asyncio.Lock()
    filler = GapFiller(hass, entry, lock, max_power=None)
    asked: list[tuple[datetime, datetime, bool]] = []

    async def read_profile(start: datetime, end: datetime) -> LoadProfile:
        asked.append((start, end, lock.locked()))
        return LoadProfile("1.0.99.1.0.255", 900, tuple(profile(meter)))  # type: ignore[arg-type]

    async def settle() -> None:
        await hass.async_block_till_done(wait_background_tasks=True)
        await async_wait_recording_done(hass)

    filler.resumed(False, read_profile)  # start-up: the sensors have no state yet, so the search waits
    await settle()
    assert filler.energy_entities() == {} and not asked
    await meter.set(0, imported=1000.0, exported=50.0)
    assert filler.energy_entities() == ENTITIES  # energy registers with a state; the voltage is none
    filler.resumed(False, read_profile)  # the next good read: no whole hour missing yet
    await settle()
    assert not asked and filler.report is None
    await meter.set(0.5, imported=1000.5)
    await meter.set(1 + 10 / 60, imported=1001.0, exported=50.2)
    await meter.set(1.2, imported="unavailable", exported="unavailable")  # reads fail from 09:12
    await meter.set(6 + 20 / 60, imported=1009.0, exported=51.0)
    filler.resumed(True, read_profile)  # 14:20: the first good read after the failures
    await settle()
    # from where the statistics stop (the hour of 09:00 was compiled from its readings up to 09:12) to 14:00
    local = [dt_util.as_local(moment).replace(tzinfo=None) for moment in (meter.at(2), meter.at(6))]
    assert [(start, end) for start, end, _ in asked] == [(local[0], local[1])] and asked[0][2]
    assert filler.report is not None and filler.report.hours_filled == 8
    await meter.advance(6 + 26 / 60)
    imported = await rows(hass, meter, IMPORT, "state")
    assert [row["state"] for row in imported] == [1000.5, 1001.0, 1002.0, 1004.0, 1006.5, 1008.0]

    filler.resumed(False, read_profile)  # a good read after a good one: no search
    await settle()
    assert len(asked) == 1

    async def unreachable(start: datetime, end: datetime) -> LoadProfile:
        raise NoAnswerError()

    await meter.set(9, imported="unavailable", exported="unavailable")
    await meter.set(12.5, imported=1020.0, exported=52.0)
    filler.resumed(True, unreachable)  # another gap, and the profile cannot be read: said, nothing imported
    await settle()
    assert filler.last_error is not None and filler.last_error.startswith("No answer from the meter")

    async def refused(start: datetime, end: datetime) -> LoadProfile:
        asked.append((start, end, lock.locked()))
        raise ProgrammingRefusedError("P.01(ERROR)")

    await meter.set(13, imported="unavailable", exported="unavailable")
    await meter.set(16.5, imported=1030.0, exported=53.0)
    filler.resumed(True, refused)  # a meter without a profile: said once, then not asked again
    await settle()
    assert filler.unsupported and len(asked) == 2
    filler.resumed(True, refused)
    await settle()
    assert len(asked) == 2
