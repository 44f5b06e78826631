"""Load profile backfill, the pure part: which profile entries are hour readings, and which hours a gap gets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from custom_components.e450.backfill_rows import Planned, Row, Skip, capture_hour, plan, readings, restate

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
HOUR = timedelta(hours=1)
FIVE = timedelta(minutes=5)


@dataclass(frozen=True)
class Entry:
    time: datetime
    values: Mapping[str, tuple[float, str | None]]


def hourly(hour: int, state: float, total: float) -> Row:
    return Row(T0 + hour * HOUR, T0 + (hour + 1) * HOUR, state, total)


def test_hour_readings_from_a_profile() -> None:
    entries = [
        Entry(T0 + timedelta(seconds=20), {"1.8.0": (1000.0, "kWh")}),  # a meter clock 20 s late: still 08:00
        Entry(T0 + timedelta(minutes=15), {"1.8.0": (1000.2, "kWh")}),  # a quarter: not an hour's end
        Entry(T0 + HOUR, {"1.8.0": (1000500, "Wh"), "2.8.0": (3.0, "kWh")}),
        Entry(T0 + HOUR, {"1.8.0": (1000.7, "kWh")}),  # the same boundary again (clocks went back): first wins
        Entry(T0 + 2 * HOUR, {"1.8.0": (1.0, "kvarh")}),  # a unit that is not energy: no value
        Entry(datetime(2025, 3, 1, 12), {"1.8.0": (1001.0, "kWh")}),  # naive: in the zone given (11:00 UTC)
    ]
    assert readings(entries, "1.8.0", "kWh", timezone(timedelta(hours=1))) == {
        T0: 1000.0,
        T0 + HOUR: 1000.5,
        T0 + 2 * HOUR: None,
        T0 + 3 * HOUR: 1001.0,
    }
    assert readings(entries, "2.8.0", "Wh", UTC) == {T0 + HOUR: 3000.0}
    # India's half-hour offset: local hours are not UTC hours, quarters are
    india = timezone(timedelta(hours=5, minutes=30))
    assert readings([Entry(datetime(2025, 3, 1, 14), {"1.8.0": (1.0, "kWh")})], "1.8.0", "kWh", india) == {}


def test_plan_skips_what_it_cannot_place() -> None:
    skipped: Counter[Skip] = Counter()
    rows = [hourly(4, 1005.0, 5.0)]  # nothing before the first gap; one row after it
    values = {T0 + HOUR: 1001.0, T0 + 3 * HOUR: 1003.0, T0 + 4 * HOUR: None, T0 + 6 * HOUR: 1006.0}
    planned = plan(rows, values, T0, T0 + 7 * HOUR, 1007.0, None, skipped)
    # 08:00 … 11:00: no row before them; 12:00 recorded; 13:00 reads 1006.0 at 14:00; 14:00 has no reading at 15:00
    assert planned == [Planned(T0 + 5 * HOUR, 1006.0, 6.0)]
    assert skipped == {Skip.NO_ANCHOR: 4, Skip.RECORDED: 1, Skip.NO_VALUE: 1}


def test_plan_unit_and_no_value() -> None:
    skipped: Counter[Skip] = Counter()
    rows = [hourly(0, 1000.0, 0.0)]
    values = {T0 + 2 * HOUR: None, T0 + 4 * HOUR: 1002.0}
    assert plan(rows, values, T0 + HOUR, T0 + 4 * HOUR, 1003.0, None, skipped) == [Planned(T0 + 3 * HOUR, 1002.0, 2.0)]
    assert skipped == {Skip.UNIT: 1, Skip.NO_VALUE: 1}


def test_a_capture_on_the_hour_closes_the_hour_before_any_other_lies_in_its_own() -> None:
    assert capture_hour(T0 + HOUR) == T0
    assert capture_hour(T0 + HOUR + timedelta(seconds=40)) == T0  # a sub-meter clock 40 s off: still the boundary
    assert capture_hour(T0 + HOUR + timedelta(minutes=20)) == T0 + HOUR


def test_rows_since_a_capture_are_restated_with_its_reading() -> None:
    # Home Assistant compiled hours 0-2 with the reading 100 (sum - state = -90); the sub-meter's reading 104 was
    # captured at the end of hour 1 and pushed during hour 3, which Home Assistant compiles itself
    rows = [
        hourly(0, 100, 10),
        hourly(1, 100, 10),
        hourly(2, 100, 10),
        Row(T0 + 3 * HOUR, T0 + 3 * HOUR + FIVE, 100, 10),
    ]
    skipped: Counter[Skip] = Counter()
    assert restate(rows, 104, T0 + 2 * HOUR, T0 + 3 * HOUR, skipped) == [
        Planned(T0 + HOUR, 104, 14),
        Planned(T0 + 2 * HOUR, 104, 14),
    ]
    # where the statistics begin in the capture's hour, that hour's own row gives the cycle
    assert restate(rows[1:], 104, T0 + 2 * HOUR, T0 + 3 * HOUR, skipped) == [
        Planned(T0 + HOUR, 104, 14),
        Planned(T0 + 2 * HOUR, 104, 14),
    ]
    assert not skipped
    # captured in the hour Home Assistant still compiles: nothing to restate
    assert restate(rows, 104, T0 + 3 * HOUR + timedelta(minutes=10), T0 + 3 * HOUR, skipped) == []


def test_a_restatement_never_dips_nor_crosses_a_reset() -> None:
    skipped: Counter[Skip] = Counter()
    rows = [hourly(0, 100, 10), hourly(1, 103, 13), hourly(2, 103, 13)]
    assert restate(rows, 99, T0 + 2 * HOUR, T0 + 3 * HOUR, skipped) == []  # below the hour before the capture
    assert restate(rows, 103, T0 + 2 * HOUR, T0 + 3 * HOUR, skipped) == []  # the rows say so already
    reset = [hourly(0, 100, 10), hourly(1, 101, 11), hourly(2, 1, 12)]  # a new cycle since the capture
    assert restate(reset, 104, T0 + 2 * HOUR, T0 + 3 * HOUR, skipped) == []
    assert skipped == Counter({Skip.DIP: 1, Skip.RECORDED: 2, Skip.NEW_CYCLE: 1})
