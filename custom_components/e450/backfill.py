"""Load profile backfill: the hours a gap left without statistics, filled from the meter's load profile.

After a gap (Home Assistant restarted, the head was unplugged, the meter did not answer) the energy sensors have no
statistics for the hours in between, and the first hour Home Assistant compiles after the gap carries all the
energy of the gap: a spike in the Energy dashboard. The meter's load profile (``1.0.99.1.0.255``: 1.8.0, 2.8.0 …
captured every 15 or 60 minutes) knows the registers at each hour; :func:`async_backfill` imports them as the
hourly long-term statistics rows of the sensors (``statistic_id`` = entity id, source ``recorder``), so the
dashboard shows the energy in the hour it was used. Independent of how the profile was read: entries are anything
with a ``time`` and ``values`` by code (:class:`ProfileEntry`).

How a row is made (docs/backfill.md has the whole reasoning):

* Rows: ``state`` the register at the hour's end, ``sum`` = ``sum_before + (state - state_before)``, *before*
  being the last row before the gap; the guard's rules decide which readings qualify (:mod:`.backfill_rows`).
  Every row of a cycle has the same ``sum - state``: the sum is an absolute function of the register, so the rows
  imported and the rows Home Assistant compiles agree whatever their order.
* The first hour compiled after the gap: Home Assistant's sensor compiler continues from the last *5-minute* row
  (its state and sum), which is the row before the gap (nothing was compiled during it). It computes the hour in
  progress when the gap ended as ``sum_before + (state_now - state_before)``: the same line as the imported rows,
  so that hour's change is ``state_now - state_at_its_start``, its own consumption, not the gap's. That holds
  whenever the backfill runs, also after that hour was compiled: importing the rows then takes the spike back out.
* Hours Home Assistant compiles itself are never written: an hour that has an hourly row, an hour that has a
  5-minute row (its hourly row is on its way: the recorder inserts it without looking, and a row already there
  would fail that whole insert), and every hour from the one holding ``until`` (the first reading after the gap)
  on. So the hour in which the gap began keeps what was compiled before it (its row ends at the last reading);
  the energy from there to that hour's end lands in the first imported hour. Running twice imports nothing.

Profile values must be register readings (the usual capture of 1.8.0/2.8.0 and their tariffs, 3.8.0/4.8.0): a
value at a moment. Interval energies (a consumption per capture period, ``1.29.0``/``2.29.0`` or an "energy per
period" column) are not imported: they can be cumulated into register readings from a register reading at one
boundary, which needs the two columns side by side; such codes simply have no sensor in ``entities``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import partial
import logging
import math
from typing import Any, Final, cast

from homeassistant.components.recorder.models import StatisticData, StatisticMetaData
from homeassistant.components.recorder.statistics import (
    async_import_statistics,
    get_metadata,
    statistics_during_period,
)
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .backfill_rows import (
    HOUR,
    ProfileEntry,
    ProfileValue,
    Row,
    Skip,
    capture_hour,
    convert,
    hour_of,
    plan,
    readings,
    restate,
)

_LOGGER = logging.getLogger(__name__)

RECORDER: Final = "recorder"  # the domain, and the source of a sensor's statistics
FIVE_MINUTES: Final = timedelta(minutes=5)
ANCHOR_LOOKBACK: Final = timedelta(days=7)  # how far before ``since`` the row a gap continues from is looked for
MAX_GAP: Final = timedelta(days=31)  # async_find_gap looks this far back for the last row
# the recorder compiles a 5-minute period 10 s after its end, later when it is busy: an hour that ended less than
# this long ago may still get a row of Home Assistant's own, and is left to it
COMPILE_MARGIN: Final = timedelta(minutes=5)


class Status(StrEnum):
    """What happened to one sensor."""

    DONE = "done"  # looked at every hour of the window (imported some, or none were missing)
    NO_STATISTICS = "no_statistics"  # the sensor has no long-term statistics with a sum to continue
    NO_RECORDER = "no_recorder"


@dataclass
class SensorBackfill:
    """One sensor's part of a backfill."""

    code: str
    entity_id: str
    status: Status = Status.DONE
    unit: str | None = None
    filled: list[datetime] = field(default_factory=list)  # hour starts imported
    skipped: Counter[Skip] = field(default_factory=Counter)  # hours not imported, by reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "entity_id": self.entity_id,
            "status": str(self.status),
            "unit": self.unit,
            "filled": len(self.filled),
            "hours": [hour.isoformat() for hour in self.filled],
            "skipped": {str(reason): count for reason, count in sorted(self.skipped.items())},
        }


@dataclass
class BackfillReport:
    """What a backfill did, per sensor (by entity id); kept for diagnostics."""

    since: datetime
    until: datetime
    ran_at: datetime
    entries: int
    sensors: dict[str, SensorBackfill] = field(default_factory=dict)

    @property
    def hours_filled(self) -> int:
        return sum(len(sensor.filled) for sensor in self.sensors.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "ran_at": self.ran_at.isoformat(),
            "entries": self.entries,
            "hours_filled": self.hours_filled,
            "sensors": [sensor.as_dict() for sensor in self.sensors.values()],
        }


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}")
    return dt_util.as_utc(moment)


def _rows(hass: HomeAssistant, statistic_ids: set[str], start: datetime) -> dict[str, list[Row]]:
    """The hourly rows from ``ANCHOR_LOOKBACK`` before ``start`` and the 5-minute rows from an hour before it on
    (a 5-minute row matters as the last reading before a gap, or as a sign that Home Assistant compiles the hour).
    In the recorder's executor."""
    found: dict[str, list[Row]] = {statistic_id: [] for statistic_id in statistic_ids}
    hourly = statistics_during_period(
        hass, start - ANCHOR_LOOKBACK, None, statistic_ids, "hour", None, {"state", "sum"}
    )
    short = statistics_during_period(hass, start - HOUR, None, statistic_ids, "5minute", None, {"state", "sum"})
    for result, length in ((hourly, HOUR), (short, FIVE_MINUTES)):
        for statistic_id, stats in result.items():
            for stat in stats:
                state, total = stat.get("state"), stat.get("sum")
                if state is None or total is None:
                    continue
                begin = datetime.fromtimestamp(stat["start"], UTC)
                found[statistic_id].append(Row(begin, begin + length, state, total))
    return found


def _current(hass: HomeAssistant, entity_id: str, unit: str | None) -> float | None:
    """The sensor's state now in the statistics' unit; ``None`` when it has no number."""
    state = hass.states.get(entity_id)
    if state is None:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    return convert(value, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT), unit) if math.isfinite(value) else None


def _import_metadata(existing: StatisticMetaData) -> StatisticMetaData:
    """The metadata the sensor's statistics have, as Home Assistant wrote it: importing with it changes nothing
    about them, and carries whatever fields this version has (``mean_type``, ``unit_class`` …). ``has_mean`` is
    dropped: deprecated since ``mean_type`` came."""
    return cast(StatisticMetaData, {key: value for key, value in existing.items() if key != "has_mean"})


async def async_backfill(
    hass: HomeAssistant,
    entities: Mapping[str, str],
    entries: Sequence[ProfileEntry],
    since: datetime,
    *,
    until: datetime | None = None,
    max_power: float | None = None,
    tz: tzinfo | None = None,
) -> BackfillReport:
    """Import the profile's readings for the hours from ``since``'s on that have no statistics.

    ``entities``: energy sensors by the code of their register (``{"1.8.0": "sensor.meter_energy_import"}``);
    ``until``: when the sensors had a reading again (the first good read after the gap; default now): hours from
    the one holding it on are Home Assistant's to compile; ``max_power``: W, the most the meter can carry (fuse or
    contract), for the plausibility of a rise; ``tz``: the zone of naive entry times (default Home Assistant's).
    The rows are queued in the recorder; the report says what was imported and what was not, and why.
    """
    now = dt_util.utcnow()
    since = _aware(since, "since")
    until = min(_aware(until, "until") if until is not None else now, now - COMPILE_MARGIN)
    report = BackfillReport(since, until, now, len(entries))
    report.sensors = {entity_id: SensorBackfill(code, entity_id) for code, entity_id in entities.items()}
    if RECORDER not in hass.config.components:
        for sensor in report.sensors.values():
            sensor.status = Status.NO_RECORDER
        return report
    start, end = hour_of(since), hour_of(until)
    if start >= end:
        return report
    instance = get_instance(hass)
    ids = set(report.sensors)
    metadata = await instance.async_add_executor_job(partial(get_metadata, hass, statistic_ids=ids))
    rows = await instance.async_add_executor_job(_rows, hass, ids, start)
    zone = tz or dt_util.get_default_time_zone()
    for entity_id, sensor in report.sensors.items():
        known = metadata.get(entity_id)
        if known is None or not known[1]["has_sum"] or known[1]["source"] != RECORDER:
            sensor.status = Status.NO_STATISTICS
            continue
        meta = known[1]
        sensor.unit = unit = meta["unit_of_measurement"]
        per_hour = None if max_power is None else convert(max_power, "Wh", unit)  # W for an hour: Wh
        planned = plan(
            rows[entity_id],
            readings(entries, sensor.code, unit, zone),
            start,
            end,
            _current(hass, entity_id, unit),
            per_hour,
            sensor.skipped,
        )
        if not planned:
            continue
        async_import_statistics(
            hass,
            _import_metadata(meta),
            [StatisticData(start=row.start, state=row.state, sum=row.sum) for row in planned],
        )
        sensor.filled = [row.start for row in planned]
        _LOGGER.info(
            "%s: imported %d hours from the load profile (%s … %s)",
            entity_id,
            len(planned),
            planned[0].start.isoformat(),
            planned[-1].start.isoformat(),
        )
    return report


async def async_restate(
    hass: HomeAssistant, entity_id: str, captured: datetime, value: float, unit: str | None
) -> SensorBackfill:
    """Put a reading captured at ``captured`` (aware) in its hour: the sensor's hourly rows from the capture's hour
    on, which Home Assistant compiled with the reading before it, get this one (:func:`.backfill_rows.restate`).
    Hours from the one in progress on are left to Home Assistant: run it once the hour before is compiled
    (:data:`COMPILE_MARGIN` past the hour)."""
    report = SensorBackfill("", entity_id)
    if RECORDER not in hass.config.components:
        report.status = Status.NO_RECORDER
        return report
    captured = _aware(captured, "captured")
    end = hour_of(dt_util.utcnow())
    instance = get_instance(hass)
    metadata = await instance.async_add_executor_job(partial(get_metadata, hass, statistic_ids={entity_id}))
    known = metadata.get(entity_id)
    if known is None or not known[1]["has_sum"] or known[1]["source"] != RECORDER:
        report.status = Status.NO_STATISTICS
        return report
    meta = known[1]
    report.unit = meta["unit_of_measurement"]
    reading = convert(value, unit, report.unit)
    if reading is None:
        report.skipped[Skip.UNIT] += 1
        return report
    rows = await instance.async_add_executor_job(_rows, hass, {entity_id}, capture_hour(captured))
    planned = restate(rows[entity_id], reading, captured, end, report.skipped)
    if planned:
        async_import_statistics(
            hass,
            _import_metadata(meta),
            [StatisticData(start=row.start, state=row.state, sum=row.sum) for row in planned],
        )
        report.filled = [row.start for row in planned]
        _LOGGER.debug("%s: the reading captured at %s restated %d hours", entity_id, captured, len(planned))
    return report


@dataclass(frozen=True, slots=True)
class Gap:
    """Hours without statistics: the profile is needed from ``start`` (where the statistics stop) to ``end`` (the
    start of the hour Home Assistant compiles again)."""

    start: datetime
    end: datetime


def _last_end(hass: HomeAssistant, statistic_ids: set[str], until: datetime) -> dict[str, datetime]:
    """Where each sensor's statistics stop before ``until``: the end of its newest row (hourly or 5-minute)."""
    found: dict[str, datetime] = {}
    hourly = statistics_during_period(hass, until - MAX_GAP, until, statistic_ids, "hour", None, {"sum"})
    for statistic_id, stats in hourly.items():
        if stats:
            found[statistic_id] = datetime.fromtimestamp(stats[-1]["start"], UTC) + HOUR
    if found:
        since = min(found.values()) - HOUR
        short = statistics_during_period(hass, since, until, set(found), "5minute", None, {"sum"})
        for statistic_id, stats in short.items():
            if stats:
                end = datetime.fromtimestamp(stats[-1]["start"], UTC) + FIVE_MINUTES
                found[statistic_id] = max(found[statistic_id], end)
    return found


async def async_find_gap(
    hass: HomeAssistant, entity_ids: Iterable[str], *, until: datetime | None = None
) -> Gap | None:
    """The gap the sensors' statistics have before ``until`` (the first good read after a gap; default now), or
    ``None`` when no whole hour is missing (or there are no statistics to continue). Read the profile for
    ``[gap.start, gap.end]`` and pass ``since=gap.start, until=until`` to :func:`async_backfill`."""
    if RECORDER not in hass.config.components:
        return None
    now = dt_util.utcnow()
    until = min(_aware(until, "until"), now) if until is not None else now
    ends = await get_instance(hass).async_add_executor_job(_last_end, hass, set(entity_ids), until)
    if not ends:
        return None
    start, end = min(ends.values()), hour_of(until)
    first = hour_of(start) + (HOUR if start != hour_of(start) else timedelta())  # the first hour no row touches
    return Gap(start, end) if first < end else None


__all__ = [
    "BackfillReport",
    "Gap",
    "ProfileEntry",
    "ProfileValue",
    "SensorBackfill",
    "Skip",
    "Status",
    "async_backfill",
    "async_find_gap",
    "async_restate",
]
