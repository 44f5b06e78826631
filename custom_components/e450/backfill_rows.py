"""Which statistics rows a gap gets from a load profile: the profile's readings at hour boundaries, and the rows
that continue the statistics around them under the energy guard's rules. Pure: no Home Assistant import
(:mod:`.backfill` reads and writes the recorder; docs/backfill.md has the reasoning).

* ``start`` is the hour's start (UTC), ``state`` the register at the hour's end (the profile entry stamped at the
  hour's end), ``sum`` = ``sum_before + (state - state_before)`` where *before* is the last statistics row before
  the gap (hourly or 5-minute, whichever ends later): every row of a cycle has the same ``sum - state``.
* Only hours without any row (hourly or 5-minute) are filled; a row there is never rewritten.
* The guard's rules (:mod:`.guard`): a reading below the one before it is dropped (a dip is never imported);
  readings that fall consistently are a meter reset, after which nothing of that gap is imported. A reading above
  the first reading after the gap (the next row, else the sensor's state now) is dropped, as is one that rose
  faster than the meter can carry. A gap without a row before it, without a reading after it, or over which the
  statistics started a new cycle (``sum - state`` differs on either side) is left alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
import math
from typing import Final, Protocol

from .const import RESET_CONFIRMATIONS
from .guard import EnergyGuard, GuardVerdict
from .scales import SCALES

HOUR: Final = timedelta(hours=1)
ON_THE_HOUR: Final = timedelta(minutes=1)  # a profile entry this close to an hour boundary is that boundary's


class ProfileValue(Protocol):
    """A captured register value in its unit (the wire side's ``Reading``)."""

    @property
    def value(self) -> float: ...

    @property
    def unit(self) -> str | None: ...


class ProfileEntry(Protocol):
    """One capture of a load profile: when, and the registers by code (``1.8.0``), as a value with a unit or a
    ``(value, unit)`` pair. ``time`` is the end of the capture period; naive times are in ``tz`` (by default Home
    Assistant's time zone)."""

    @property
    def time(self) -> datetime: ...

    @property
    def values(self) -> Mapping[str, ProfileValue | tuple[float, str | None]]: ...


class Skip(StrEnum):
    """Why an hour was not imported."""

    RECORDED = "recorded"  # it has statistics already (Home Assistant's, or an earlier backfill's)
    NO_VALUE = "no_value"  # the profile has no reading at the hour's end
    UNIT = "unit"  # the reading's unit does not convert to the statistics' unit
    DIP = "dip"  # lower than the reading before it
    RESET = "reset"  # readings that kept falling: a meter reset, after which the gap is left alone
    ABOVE_LATER = "above_later"  # higher than the first reading after the gap
    IMPLAUSIBLE = "implausible"  # rose faster than max_power allows
    NO_ANCHOR = "no_anchor"  # no statistics row before the gap to continue from
    NO_LATER = "no_later"  # no reading after the gap to check the profile against (sensor unavailable)
    NEW_CYCLE = "new_cycle"  # the statistics started a new cycle during the gap (meter reset or replaced)


@dataclass(frozen=True, slots=True)
class Row:
    """A statistics row as stored: hourly (``end - start`` one hour) or 5-minute."""

    start: datetime
    end: datetime
    state: float
    sum: float


@dataclass(frozen=True, slots=True)
class Planned:
    """A row to import."""

    start: datetime
    state: float
    sum: float


def convert(value: float, unit: str | None, target: str | None) -> float | None:
    """``value`` in ``unit`` as a value in ``target`` (same family only), ``None`` when it does not convert. Divides
    by the target's size rather than multiplying by a ratio: 1002000 Wh is exactly 1002 kWh."""
    source, wanted = (unit or "").lower(), (target or "").lower()
    if source == wanted:
        return value
    have, want = SCALES.get(source), SCALES.get(wanted)
    if have is None or want is None or have[0] != want[0]:
        return None
    return value * have[1] / want[1]


def hour_of(moment: datetime) -> datetime:
    """The start of ``moment``'s hour, in UTC (``moment`` aware)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def readings(entries: Iterable[ProfileEntry], code: str, unit: str | None, tz: tzinfo) -> dict[datetime, float | None]:
    """The register ``code`` at each hour boundary (UTC) the profile covers, in ``unit``; ``None`` where the
    profile's unit does not convert. The first entry for a boundary wins (a repeated hour when clocks go back)."""
    found: dict[datetime, float | None] = {}
    for entry in entries:
        raw = entry.values.get(code)
        if raw is None:
            continue
        value, source = raw if isinstance(raw, tuple) else (raw.value, raw.unit)
        moment = entry.time if entry.time.tzinfo is not None else entry.time.replace(tzinfo=tz)
        boundary = hour_of(moment + timedelta(minutes=30))  # the nearest hour boundary
        if abs(moment - boundary) > ON_THE_HOUR:
            continue  # a quarter-hour capture: not the end of an hour
        found.setdefault(boundary, convert(float(value), source, unit))
    return found


def plan(
    rows: Sequence[Row],
    values: Mapping[datetime, float | None],
    start: datetime,
    end: datetime,
    current: float | None,
    max_per_hour: float | None,
    skipped: Counter[Skip],
) -> list[Planned]:
    """The rows to import for the hours ``[start, end)`` (UTC, whole hours) that no row covers.

    ``rows``: the sensor's hourly and 5-minute rows from well before ``start`` on; ``values``: the register at
    hour boundaries (:func:`readings`); ``current``: the sensor's state now, the bound of a gap no row follows;
    ``max_per_hour``: the most the register can rise in an hour (``None``: no such check).
    """
    taken = {hour_of(row.start) for row in rows}
    points = sorted(rows, key=lambda row: row.end)
    planned: list[Planned] = []
    gap: list[datetime] = []
    hour = start
    while hour <= end:
        if hour < end and hour not in taken:
            gap.append(hour)
        else:
            if gap:
                planned.extend(_fill(gap, points, values, current, max_per_hour, skipped))
                gap = []
            if hour < end:
                skipped[Skip.RECORDED] += 1
        hour += HOUR
    return planned


def _fill(
    gap: list[datetime],
    points: list[Row],
    values: Mapping[datetime, float | None],
    current: float | None,
    max_per_hour: float | None,
    skipped: Counter[Skip],
) -> list[Planned]:
    """The rows of one run of consecutive hours without statistics."""
    first, after_gap = gap[0], gap[-1] + HOUR
    before = [row for row in points if row.end <= first]
    later = min((row for row in points if row.start >= after_gap), key=lambda row: row.end, default=None)
    if not before:
        skipped[Skip.NO_ANCHOR] += len(gap)
        return []
    anchor = before[-1]
    offset = anchor.sum - anchor.state  # the same for every row of a cycle
    if later is not None and not math.isclose(later.sum - later.state, offset, rel_tol=1e-9, abs_tol=1e-6):
        skipped[Skip.NEW_CYCLE] += len(gap)
        return []
    ceiling = later.state if later is not None else current
    if ceiling is None:
        skipped[Skip.NO_LATER] += len(gap)
        return []
    guard = EnergyGuard(RESET_CONFIRMATIONS, published=anchor.state)
    level, level_at = anchor.state, anchor.end  # the last reading accepted, and when
    planned: list[Planned] = []
    for index, hour in enumerate(gap):
        at = hour + HOUR
        if at not in values:
            skipped[Skip.NO_VALUE] += 1
            continue
        value = values[at]
        if value is None:
            skipped[Skip.UNIT] += 1
            continue
        if value > ceiling:
            skipped[Skip.ABOVE_LATER] += 1
            continue
        if max_per_hour is not None and value - level > max_per_hour * ((at - level_at) / HOUR):
            skipped[Skip.IMPLAUSIBLE] += 1
            continue
        verdict = guard.check(value)
        if verdict is GuardVerdict.HELD:
            skipped[Skip.DIP] += 1
            continue
        if verdict is GuardVerdict.RESET:
            skipped[Skip.RESET] += len(gap) - index
            break
        level, level_at = value, at
        planned.append(Planned(hour, value, value + offset))
    return planned


def capture_hour(captured: datetime) -> datetime:
    """The start of the hour a reading captured at ``captured`` (aware) closes: a capture on the hour (within
    :data:`ON_THE_HOUR`) is the reading at the end of the hour before, any other one lies inside its own hour."""
    boundary = hour_of(captured + timedelta(minutes=30))
    return boundary - HOUR if abs(captured - boundary) <= ON_THE_HOUR else hour_of(captured)


def restate(
    rows: Sequence[Row], value: float, captured: datetime, end: datetime, skipped: Counter[Skip]
) -> list[Planned]:
    """The hourly rows that put a reading captured at ``captured`` in the hour it was captured in, not the hour it
    arrived in (a sub-meter read hourly or daily, docs/mbus-submeters.md §5): every hourly row from the capture's
    hour up to ``end`` (the hour Home Assistant still compiles, left to it) that says less gets ``state`` = the
    reading and ``sum`` = the reading plus its cycle's ``sum - state``, as :func:`plan`'s rows do. Under the guard's
    rules: a reading below the row before the capture's hour (or the capture hour's own, where the statistics begin
    there) is a dip, and rows from another cycle (a reset since) change nothing."""
    first = capture_hour(captured)
    hourly = sorted((row for row in rows if row.end - row.start == HOUR), key=lambda row: row.start)
    within = [row for row in hourly if first <= row.start < end]
    before = [row for row in hourly if row.end <= first]
    if not within:
        return []  # no hour compiled since the capture: Home Assistant compiles the reading where it belongs
    anchor = before[-1] if before else within[0]  # the statistics may begin in the capture's hour
    offset = anchor.sum - anchor.state
    if value < anchor.state:
        skipped[Skip.DIP] += 1
        return []
    planned: list[Planned] = []
    for row in within:
        if not math.isclose(row.sum - row.state, offset, rel_tol=1e-9, abs_tol=1e-6):
            skipped[Skip.NEW_CYCLE] += 1
            return []
        if row.state >= value:
            skipped[Skip.RECORDED] += 1
            continue
        planned.append(Planned(row.start, value, value + offset))
    return planned
