"""Load profile backfill, the pure part: which profile entries are hour readings, and which hours a gap gets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from custom_components.e450.backfill_rows import Planned, Row, Skip, plan, readings

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
HOUR = timedelta(hours=1)


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
