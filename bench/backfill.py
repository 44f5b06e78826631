"""Load profile backfill benchmark (not a test): what filling 7 days of 15-minute profile values costs the event loop.

    scripts/bench backfill [--json]

:func:`custom_components.e450.backfill.async_backfill` reads the statistics in the recorder's executor and hands
the rows to the recorder's queue; on the event loop it runs, per energy sensor, :func:`readings` (the profile's
values at hour boundaries) and :func:`plan` (which hours to fill and their state and sum), and builds the rows it
queues. This measures exactly those steps for a 7-day gap of a 15-minute profile carrying 1.8.0 and 2.8.0 (672
entries each, meter-local naive times as the DLMS client returns them), the statistics stopping at the gap's start.
``--json`` prints one object: ``{"entries": 1344, "hours_filled": …, "loop_ms": …}`` (median of 15 runs).
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json
from statistics import median
import time
from zoneinfo import ZoneInfo

from custom_components.e450.backfill_rows import Row, Skip, plan, readings
from custom_components.e450.wire.models import LoadProfile, ProfileEntry, Reading

DAYS = 7
ZONE = ZoneInfo("Europe/Vienna")
CODES = {"1.8.0": 0.35, "2.8.0": 0.05}  # kWh per quarter hour, import and export


@dataclass(frozen=True, slots=True)
class Report:
    hours: int
    seconds: float


def profile(start: datetime) -> LoadProfile:
    """Seven days of quarter-hour readings of both registers, in Wh, meter-local naive times."""
    entries = []
    for quarter in range(DAYS * 96 + 1):
        moment = (start + timedelta(minutes=15 * quarter)).astimezone(ZONE).replace(tzinfo=None)
        values = {code: Reading(round((1000 + rate * quarter) * 1000, 1), "Wh") for code, rate in CODES.items()}
        entries.append(ProfileEntry(moment, values))
    return LoadProfile("1.0.99.1.0.255", 900, tuple(entries))


def once(load: LoadProfile, start: datetime) -> Report:
    end = start + timedelta(days=DAYS)
    anchor = {code: Row(start - timedelta(hours=1), start, 1000.0, 0.0) for code in CODES}
    started = time.perf_counter()
    hours = 0
    for code in CODES:
        values = readings(load.entries, code, "kWh", ZONE)
        planned = plan([anchor[code]], values, start, end, values[end], None, Counter[Skip]())
        rows = [{"start": row.start, "state": row.state, "sum": row.sum} for row in planned]  # what is queued
        hours += len(rows)
    return Report(hours, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    load = profile(start)
    runs = [once(load, start) for _ in range(15)]
    loop_ms = median(run.seconds for run in runs) * 1000
    result = {"entries": len(load.entries) * len(CODES), "hours_filled": runs[0].hours, "loop_ms": round(loop_ms, 2)}
    if args.json:
        print(json.dumps(result))
        return
    print("| backfill of 7 days, 15-minute profile, 1.8.0 and 2.8.0 | hours filled | event-loop ms |")
    print("|---|---|---|")
    print(f"| {result['entries']} profile values | {result['hours_filled']} | {result['loop_ms']:.2f} |")


if __name__ == "__main__":
    main()
