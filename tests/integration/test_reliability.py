"""Reliability through the whole integration: every simulator fault, unplug/replug, two meters, a soak.

Policy (documented in the README): a failed read makes the meter's entities unavailable until the next good read;
the coordinator logs once when reads start failing and once when they recover; energy registers never show a 0, a
dip or a spike, whatever the link does.

Run ``pytest tests/integration/test_reliability.py -s`` to see the fault matrix and the figures of the short leak
check and soak; ``--run-slow`` (bench/reliability.sh) adds the full lengths, 1,000 and 10,000 cycles.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
from dataclasses import dataclass, field, replace
import gc
import itertools
import logging
import os
from pathlib import Path
import random
import termios
import tracemalloc
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
import pytest

from custom_components.e450.const import DOMAIN
from custom_components.e450.wire import SessionConfig
from custom_components.e450.wire.port import close_port, open_port
from simulator import FAULTS as SIMULATOR_FAULTS, MeterSimulator
from simulator.faults import FaultPlan
from simulator.transport import PARK_SPEEDS, SPEEDS, Line
from tests.conftest import FAST

from .conftest import E450_SERIAL, entry_for

ENERGY_SUFFIXES = ("energy_import", "energy_export", "reactive_energy_import", "reactive_energy_export")
# Shorter timings so that a failing cycle costs about two seconds, not ten; the identification timeout stays at the
# standard's tr ≤ 1.5 s plus margin, and DLMS listening stays off as at run time.
CYCLE = replace(FAST, identification_timeout=2.0, inter_character_timeout=0.3)


def use_session(coordinator: Any, session: SessionConfig) -> None:
    """Read with test timings: the settings as the entry's options would give them, with another session."""
    coordinator.settings = replace(coordinator.settings, session=session)


@dataclass
class EnergyWatch:
    """Every value published on the meter's total_increasing sensors, in order."""

    values: dict[str, list[float]] = field(default_factory=dict)
    unavailable: int = 0
    stop: Any = None  # unsubscribes the listener

    def problems(self) -> list[str]:
        found = []
        for entity_id, series in self.values.items():
            for before, after in itertools.pairwise(series):
                if after < before:
                    found.append(f"{entity_id}: dip {before} → {after}")
                if after > before * 1.5 + 10:
                    found.append(f"{entity_id}: spike {before} → {after}")
            if any(value == 0 for value in series[1:]) and series[0] != 0:
                found.append(f"{entity_id}: published 0")
        return found

    def summary(self) -> str:
        """How many values were published on the energy sensors, and how many of them were a 0, a dip or a spike."""
        published = zeros = dips = spikes = 0
        for series in self.values.values():
            published += len(series) - 1  # the first is the state found when watching began
            zeros += sum(1 for value in series[1:] if value == 0)
            dips += sum(1 for before, after in itertools.pairwise(series) if after < before)
            spikes += sum(1 for before, after in itertools.pairwise(series) if after > before * 1.5 + 10)
        return (
            f"{published:,} values published on {len(self.values)} sensors ({self.unavailable:,} times unavailable): "
            f"{zeros} zeros, {dips} dips, {spikes} spikes"
        )


def watch_energy(hass: HomeAssistant) -> EnergyWatch:
    watch = EnergyWatch()
    entity_ids = [e for e in hass.states.async_entity_ids("sensor") if e.endswith(ENERGY_SUFFIXES)]
    for entity_id in entity_ids:
        state = hass.states.get(entity_id)
        assert state is not None
        watch.values[entity_id] = [float(state.state)]

    @callback
    def listener(event: Event[EventStateChangedData]) -> None:
        state = event.data["new_state"]
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            watch.unavailable += 1
            return
        watch.values[event.data["entity_id"]].append(float(state.state))

    watch.stop = async_track_state_change_event(hass, entity_ids, listener)
    return watch


async def port_is_free(path: str) -> bool:
    """serialx opens exclusively: if we can open it, the integration did not leave it open. A bridge serves one
    client at a time: a second one is let in and hung up on at once."""
    try:
        serial = await open_port(path, 9600, 8, "N")
    except Exception:
        return False
    if path.startswith("socket://"):
        try:
            async with asyncio.timeout(0.3):
                hung_up = await serial.read(1) == b""
        except TimeoutError:
            hung_up = False
        if hung_up:
            await close_port(serial)
            return False
    await close_port(serial)
    await asyncio.sleep(0.05)  # let the simulator see the close and park its line (see simulator.transport.Pty.park)
    return True


@contextlib.asynccontextmanager
async def loaded(hass: HomeAssistant, port: str, unique_id: str = E450_SERIAL) -> AsyncIterator[Any]:
    entry = entry_for(port, unique_id=unique_id)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    use_session(entry.runtime_data, replace(CYCLE, max_baud=9600))
    try:
        yield entry
    finally:
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)


# the DLMS server's faults (an HDLC link's, an association's) act on a DLMS read: tests/integration/test_dlms_client.py
DLMS_SERVER_FAULTS = frozenset(
    {"no_ua", "aarq_rejected", "lost_frame", "repeated_frame", "ns_mismatch", "block_interrupted", "vanish"}
    | {"no_selective_access"}
)
# every simulator fault that acts on one IEC read; unplug and a DLMS port are staged by the matrix itself, and the
# intermittent mix is the soak's. meter_reset comes last: the meter's registers restart near 0 for good, and three
# good reads in a later row would confirm the reset and publish the lower value, which that row counts as a dip.
FAULTS = tuple(
    sorted(
        (f for f in SIMULATOR_FAULTS if f not in {"unplug", "intermittent", "bridge_drop", *DLMS_SERVER_FAULTS}),
        key=lambda fault: fault == "meter_reset",
    )
)
# rows on a meter behind a network bridge of its own: the simulator's options, and the fault of the middle cycle
BRIDGES: dict[str, tuple[dict[str, Any], str | None]] = {
    "rfc2217_bridge": ({"rfc2217": True, "answer_masks": False}, None),  # as pyserial's PortManager, over the pty
    "raw_bridge_drop": ({"tcp_port": 0}, "bridge_drop"),  # the connection reset in the middle of the readout
}
# which faults fail a cycle (the others are absorbed: retried at 300 Bd, echo dropped, slow meter waited for)
FAILS = {
    "no_answer", "garbage", "bad_bcc", "truncated", "drop_after_ident", "unplug", "dlms_port", "raw_bridge_drop",
    "nak_readout",  # an IEC entry: the meter refuses the readout (a DLMS client entry reads it: test_dlms_client.py)
}  # fmt: skip
# what the failed cycle says, where the fault has a message of its own
REASONS = {"nak_readout": "readout_refused"}  # not "no data message": the meter said no


@dataclass
class Outcome:
    fault: str
    reason: str | None = None  # the failed cycle's translation key
    failed_cycle: bool = False
    unavailable: bool = False
    recovered: bool = False
    port_free: bool = False
    energy_ok: bool = False
    logs_ok: bool = False
    traceback_free: bool = False
    detail: list[str] = field(default_factory=list)

    def row(self) -> str:
        marks = [self.failed_cycle, self.unavailable, self.recovered, self.port_free, self.energy_ok, self.logs_ok]
        cells = " | ".join("yes" if mark else "no" for mark in marks)
        return f"| {self.fault} | {cells} | {'yes' if self.traceback_free else 'NO'} |"


async def run_fault(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, meter: MeterSimulator, fault: str, link: str
) -> Outcome:
    """One good read, one cycle under ``fault``, one good cycle — on the same meter, whose registers keep counting."""
    outcome = Outcome(fault)
    caplog.clear()
    async with loaded(hass, link) as entry:
        coordinator = entry.runtime_data
        energy = watch_energy(hass)
        caplog.set_level(logging.INFO, logger="custom_components.e450")
        dlms: MeterSimulator | None = None
        if fault == "unplug":
            meter.unplug()
        elif fault == "dlms_port":
            meter.unplug()
            dlms = MeterSimulator("e450-dlms", link=link)  # the same path now carries DLMS pushes
            await dlms.start()
        elif fault in BRIDGES:
            meter.fault = BRIDGES[fault][1]
        else:
            meter.fault = fault
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        outcome.failed_cycle = not coordinator.last_update_success
        outcome.reason = getattr(coordinator.last_exception, "translation_key", None)
        state = hass.states.get("sensor.landis_gyr_e450_energy_import")
        outcome.unavailable = state is not None and state.state == STATE_UNAVAILABLE
        if dlms is not None:
            await dlms.stop()
        if fault in ("unplug", "dlms_port"):
            meter.replug()  # plugged back in, at the same path
        outcome.port_free = await port_is_free(link)
        meter.fault = None
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        outcome.recovered = coordinator.last_update_success
        energy.stop()
        outcome.detail = energy.problems()
        outcome.energy_ok = not outcome.detail
        errors = caplog.text.count("Error fetching")
        recovered_logs = caplog.text.count("data recovered")
        expected = 1 if outcome.failed_cycle else 0
        outcome.logs_ok = errors == expected and recovered_logs == expected
        outcome.traceback_free = "Traceback" not in caplog.text
    return outcome


async def test_fault_matrix(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = os.environ.get("E450_MATRIX", ",".join((*FAULTS, "unplug", "dlms_port"))).split(",")
    link = str(tmp_path / "ttyMETER")
    async with MeterSimulator("e450", link=link) as meter:
        outcomes = [await run_fault(hass, caplog, meter, fault, link) for fault in faults]
    table = [
        "| fault | cycle failed | entities unavailable | recovered next cycle | port free | energy: no 0/dip/spike "
        "| one log down, one up | no traceback |",
        "|---|---|---|---|---|---|---|---|",
        *(outcome.row() for outcome in outcomes),
    ]
    with capsys.disabled():
        print("\n" + "\n".join(table))
    check(outcomes)


@pytest.mark.usefixtures("socket_enabled")  # 127.0.0.1 only
@pytest.mark.parametrize("fault", sorted(BRIDGES))
async def test_fault_matrix_behind_a_bridge(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    """The matrix's rows for a meter behind a network bridge (a meter of its own, so a Home Assistant of its own:
    its registers do not continue the pty meter's)."""
    options, _ = BRIDGES[fault]
    async with MeterSimulator("e450", **options) as bridged:
        outcome = await run_fault(hass, caplog, bridged, fault, bridged.port)
    with capsys.disabled():
        print("\n" + outcome.row())
    check([outcome])


def check(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        failing = outcome.fault in FAILS
        assert outcome.failed_cycle is failing, outcome
        if outcome.fault in REASONS:
            assert outcome.reason == REASONS[outcome.fault], outcome
        assert outcome.unavailable is failing, outcome
        assert outcome.recovered, outcome
        assert outcome.port_free, outcome
        assert outcome.energy_ok, outcome.detail
        assert outcome.logs_ok, outcome
        assert outcome.traceback_free, outcome


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_the_simulator_never_parks_the_line_where_a_client_found_it() -> None:
    """The simulator parks its pty right after a client sets a speed (simulator.transport.Pty.park). The client sets
    it in a thread of its own, and glibc checks its tcsetattr by reading the line back: had a park landed in between
    and put back the speed the client found, the check would see nothing changed and fail the open or the baud
    switch with EINVAL (a flake of the fault matrix, about one read in 200 under load). So a park always moves the
    line to a speed the client did not find there, and the simulator still knows the client's speed."""
    line = Line(FaultPlan(None, random.Random(1)), realtime=False, link=None, tcp_port=None)
    await line.open()
    client = os.open(line.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        for baud in (300, 9600, 300, 300, 9600, 9600):
            found = termios.tcgetattr(client)
            wanted = [*found[:4], SPEEDS[baud], SPEEDS[baud], found[6]]
            termios.tcsetattr(client, termios.TCSANOW, wanted)
            line._note_client_speed()  # what the simulator's watch does within 5 ms
            parked = termios.tcgetattr(client)
            assert parked[5] in PARK_SPEEDS and parked[5] != found[5], (baud, found[5], parked[5])
            assert line._client_speed_is(baud)
    finally:
        os.close(client)
        await line.close()


async def test_unplug_replug_reload_and_unload(hass: HomeAssistant, tmp_path: Path) -> None:
    link = str(tmp_path / "ttyMETER")
    async with MeterSimulator("e450", link=link) as meter, loaded(hass, link) as entry:
        meter.unplug()  # the adapter disappears between reads
        await entry.runtime_data.async_refresh()
        assert not entry.runtime_data.last_update_success
        assert "does not exist" in (entry.runtime_data.statistics.last_error or "")
        # a reload while the port is gone: the first read fails, so the entry waits and retries by itself
        assert not await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_RETRY
        meter.replug()  # back at the same path
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        use_session(entry.runtime_data, CYCLE)
        # the adapter disappears in the middle of a read
        refresh = hass.async_create_task(entry.runtime_data.async_refresh())
        await asyncio.sleep(0.05)
        meter.unplug()
        await refresh
        meter.replug()
        # the meter itself is still in the interrupted session, waiting up to tt (2.2 s) for an ACK that will never
        # come: the first cycle after the replug may find it deaf, the next one reads it
        for _ in range(2):
            await entry.runtime_data.async_refresh()
            if entry.runtime_data.last_update_success:
                break
            await asyncio.sleep(1.5)
        assert entry.runtime_data.last_update_success
        meter.unplug()
        assert await hass.config_entries.async_unload(entry.entry_id)  # unload while the port is gone
        meter.replug()


# --- the long runs -----------------------------------------------------------------------------------------------
# Each run gets time in proportion to its cycles: CYCLE_BUDGET seconds per cycle on average, some 5-10 × what a cycle
# takes on a loaded 2-core machine, so that load slows a run down without failing it; the run stops itself when
# that is spent (and reports how far it got), and pytest-timeout's limit, RUN_OVERHEAD above it, only catches a
# hang outside the cycles (start, warm-up, unload). bench/reliability.sh runs the full lengths.
CYCLE_BUDGET = 1.0
RUN_OVERHEAD = 300.0
PROGRESS_FROM = 1000  # cycles: a run this long prints its progress every tenth of the way


def lengths(short: int, full: int) -> list[Any]:
    """The short run of the normal suite and the full-length one (``--run-slow``), each with its time limit."""
    return [
        pytest.param(count, id=name, marks=[*marks, pytest.mark.timeout(RUN_OVERHEAD + count * CYCLE_BUDGET)])
        for count, name, marks in ((short, "short", ()), (full, "full", (pytest.mark.slow,)))
    ]


# Home Assistant logs at WARNING unless told otherwise, but the caplog fixture turns DEBUG on and pytest keeps every
# record of a test until it ends: 10,000 debug-logged cycles would leave some 250,000 records in memory. The long
# runs log as an instance does out of the box.
RUN_LOG_LEVEL = logging.WARNING
# What pytest keeps is the harness's memory, not the integration's: during the measured cycles log records are
# counted and dropped (logs_counted_not_kept), and allocations made under logging's or pytest's frames are left out
# of the soak's heap growth.
HARNESS = (
    tracemalloc.Filter(False, logging.__file__, all_frames=True),
    tracemalloc.Filter(False, "*/_pytest/*", all_frames=True),
    tracemalloc.Filter(False, tracemalloc.__file__),  # the measurements themselves
)
TRACE_FRAMES = 8  # deep enough to see logging's frames under the allocations it makes
# Home Assistant's caches and the parser's (an LRU of 4,096 brackets) fill over the first few thousand cycles: the
# limit applies to the second half of the run, where a leak still grows and a full cache no longer does.
HEAP_GROWTH_LIMIT = 2_000_000


def heap_sizes() -> dict[tracemalloc.Traceback, int]:
    """The Python heap in bytes by the line that allocated them, what the harness holds left out (the statistics
    only: a whole snapshot would weigh on the memory the run reports)."""
    snapshot = tracemalloc.take_snapshot().filter_traces(HARNESS)
    return {stat.traceback: stat.size for stat in snapshot.statistics("lineno")}


def heap_growth(before: dict[tracemalloc.Traceback, int], after: dict[tracemalloc.Traceback, int]) -> tuple[int, str]:
    """Bytes the heap grew by between two ``heap_sizes``, and where it grew most."""
    grown = {line: after.get(line, 0) - before.get(line, 0) for line in before.keys() | after.keys()}
    largest = sorted(grown.items(), key=lambda item: item[1], reverse=True)[:5]
    return sum(grown.values()), "; ".join(f"{line} {size:+,}" for line, size in largest)


class LogCount(logging.Handler):
    """Counts log records by level, formats them as a handler would, and keeps none."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)
        self.counts[record.levelname] += 1

    def summary(self) -> str:
        return ", ".join(f"{count:,} {level}" for level, count in sorted(self.counts.items())) or "none"


@contextlib.contextmanager
def logs_counted_not_kept(caplog: pytest.LogCaptureFixture) -> Iterator[LogCount]:
    """pytest keeps every record of a test, and a record keeps its arguments: Home Assistant's "Error fetching"
    keeps the failed read's exception, its traceback and every frame on it (some 7 KB a record; 15 MB over the
    10,000-cycle soak, which its memory check counted against the integration). During the measured cycles the
    records are counted and dropped instead, as Home Assistant's own handlers drop them once written."""
    root = logging.getLogger()
    captured = [handler for handler in root.handlers if isinstance(handler, type(caplog.handler))]
    count = LogCount()
    for handler in captured:
        root.removeHandler(handler)
    root.addHandler(count)
    try:
        yield count
    finally:
        root.removeHandler(count)
        for handler in captured:
            root.addHandler(handler)


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@dataclass
class Run:
    """What a run of read cycles did: each cycle counted once, as it ended (ok or failed) or as it was cut off
    (abandoned: the read in flight when the run ran out of time); and what the coordinator counted meanwhile."""

    name: str
    planned: int
    started: int = 0
    ok: int = 0
    failed: int = 0
    out_of_time: bool = False
    seconds: float = 0.0
    reads: int = 0  # the coordinator's statistics over the same cycles
    successes: int = 0
    failures: int = 0
    figures: dict[str, str] = field(default_factory=dict)  # fds, memory, energy: before → after

    @property
    def abandoned(self) -> int:
        return self.started - self.ok - self.failed

    async def cycle(
        self,
        coordinator: Any,
        halfway: Callable[[], None] = lambda: None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """``planned`` refreshes in CYCLE_BUDGET × planned seconds; ``halfway`` is called before the second half,
        ``progress`` after every tenth of a long run."""
        stats = coordinator.statistics
        reads, successes, failures = stats.reads, stats.successes, stats.failures
        loop = asyncio.get_running_loop()
        start = loop.time()
        if self.planned < PROGRESS_FROM:
            progress = None
        if progress is not None:
            progress(f"\n{self.name}, under way:")
        with contextlib.suppress(TimeoutError):  # out of time: the read in flight is cancelled, the run ends
            async with asyncio.timeout(self.planned * CYCLE_BUDGET) as deadline:
                for count in range(self.planned):
                    if count == self.planned // 2:
                        halfway()
                    self.started += 1
                    await coordinator.async_refresh()
                    if coordinator.last_update_success:
                        self.ok += 1
                    else:
                        self.failed += 1
                    if progress is not None and self.started % (self.planned // 10) == 0:
                        progress(
                            f"  {self.started:,} of {self.planned:,} cycles, {self.ok:,} ok, {self.failed:,} failed, "
                            f"{loop.time() - start:.0f} s"
                        )
        self.out_of_time = deadline.expired()
        self.seconds = loop.time() - start
        self.reads = stats.reads - reads
        self.successes = stats.successes - successes
        self.failures = stats.failures - failures

    def report(self) -> str:
        counted = f"{self.reads:,} reads: {self.successes:,} succeeded, {self.failures:,} failed"
        lines = [
            f"{self.name}: {self.started:,} of {self.planned:,} cycles in {self.seconds:.0f} s "
            f"({self.seconds / max(self.started, 1):.3f} s a cycle){', OUT OF TIME' if self.out_of_time else ''}",
            f"  reads: {self.ok:,} ok, {self.failed:,} failed, {self.abandoned} abandoned (coordinator: {counted})",
            *(f"  {what}: {value}" for what, value in self.figures.items()),
        ]
        return "\n".join(lines)

    def check_counts(self) -> None:
        """Every cycle counted once, here and by the coordinator, and every planned cycle run in time. An abandoned
        read is one the coordinator started (``reads``) and never finished: neither a success nor a failure."""
        assert self.reads == self.started, self.report()
        assert (self.successes, self.failures) == (self.ok, self.failed), self.report()
        assert self.reads - self.successes - self.failures == self.abandoned, self.report()
        assert not self.out_of_time, f"ran out of its {self.planned * CYCLE_BUDGET:,.0f} s\n{self.report()}"
        assert self.started == self.planned, self.report()


def printer(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> Callable[[str], None] | None:
    """Where a run's progress and figures go with ``-s`` or ``--run-slow`` (bench/reliability.sh): the terminal."""
    if not (request.config.getoption("--run-slow") or request.config.getoption("capture") == "no"):
        return None

    def show(text: str) -> None:
        with capsys.disabled():
            print(text, flush=True)

    return show


def show(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str], run: Run) -> None:
    """Print the run's figures with ``-s`` or ``--run-slow``; a failure shows them anyway."""
    if (output := printer(request, capsys)) is not None:
        output(f"\n{run.report()}")


@pytest.mark.parametrize("cycles", lengths(150, 1000))
async def test_no_leaks_over_fast_cycles(
    hass: HomeAssistant,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    cycles: int,
) -> None:
    run = Run(f"leak check ({cycles:,} cycles, no faults)", cycles)
    caplog.set_level(RUN_LOG_LEVEL)
    async with MeterSimulator("mt174", frozen=True) as meter, loaded(hass, meter.port, unique_id="44837564") as entry:
        coordinator = entry.runtime_data
        for _ in range(20):  # warm up caches and pools before measuring
            await coordinator.async_refresh()
        gc.collect()
        fds, tasks, rss = _fds(), len(asyncio.all_tasks()), _rss_kib()
        try:
            with logs_counted_not_kept(caplog) as logs:
                await run.cycle(coordinator)
                await hass.async_block_till_done()
        finally:
            gc.collect()
            run.figures["log records (counted, not kept)"] = logs.summary()
            run.figures["file descriptors"] = f"{fds} → {_fds()}"
            run.figures["tasks"] = f"{tasks} → {len(asyncio.all_tasks())}"
            run.figures["RSS"] = f"{rss / 1024:.1f} → {_rss_kib() / 1024:.1f} MiB"
            show(request, capsys, run)
        run.check_counts()
        assert run.failed == 0, run.report()
        assert _fds() <= fds, run.report()
        assert len(asyncio.all_tasks()) <= tasks, run.report()


# The soak runs in the simulator's fast mode with tight timeouts (the simulated meter answers within 10 ms), so
# that a faulty cycle costs a fraction of a second (with tracemalloc on, a cycle takes 0.2-0.4 s on average).
SOAK = replace(
    CYCLE, identification_timeout=0.3, readout_first_byte_timeout=0.3, inter_character_timeout=0.1, fallback_wait=0.05
)


@pytest.mark.parametrize("cycles", lengths(150, 10_000))
async def test_soak_with_intermittent_faults(
    hass: HomeAssistant,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    cycles: int,
) -> None:
    run = Run(f"soak ({cycles:,} cycles, intermittent faults)", cycles)
    caplog.set_level(RUN_LOG_LEVEL)
    async with MeterSimulator("mt174", seed=7) as meter, loaded(hass, meter.port, unique_id="44837564") as entry:
        meter.fault = "intermittent"
        coordinator = entry.runtime_data
        use_session(coordinator, SOAK)
        energy = watch_energy(hass)
        for _ in range(30):
            await coordinator.async_refresh()
        gc.collect()
        fds, rss = _fds(), _rss_kib()
        tracemalloc.start(TRACE_FRAMES)
        heap = [heap_sizes()]

        def halfway() -> None:
            gc.collect()
            heap.append(heap_sizes())

        try:
            with logs_counted_not_kept(caplog) as logs:
                await run.cycle(coordinator, halfway, printer(request, capsys))
                await hass.async_block_till_done()
        finally:
            energy.stop()
            gc.collect()
            heap.append(heap_sizes())
            tracemalloc.stop()
            # caches (the parser's, Home Assistant's) fill during the first half; a leak grows in both halves
            total, _ = heap_growth(heap[0], heap[-1])
            growth, largest = heap_growth(heap[1], heap[-1]) if len(heap) == 3 else (0, "")
            run.figures["energy"] = energy.summary()
            run.figures["log records (counted, not kept)"] = logs.summary()
            run.figures["file descriptors"] = f"{fds} → {_fds()}"
            run.figures["RSS (read with tracemalloc off)"] = f"{rss / 1024:.1f} → {_rss_kib() / 1024:.1f} MiB"
            second_half = f"{growth:+,} over its second half" if len(heap) == 3 else "second half not reached"
            run.figures["Python heap (log capture left out)"] = f"{total:+,} bytes over the run, {second_half}"
            show(request, capsys, run)
        run.check_counts()
        assert run.failed > cycles // 10, run.report()  # the faults really happened
        assert run.ok > cycles // 2, run.report()
        assert energy.problems() == [], run.report()
        assert _fds() <= fds, run.report()
        assert growth < HEAP_GROWTH_LIMIT, f"{run.report()}\n  grew most at: {largest}"


async def test_two_meters_at_once(hass: HomeAssistant, tmp_path: Path) -> None:
    async with (
        MeterSimulator("e450", frozen=True) as first,
        MeterSimulator("zmd", frozen=True) as second,
        loaded(hass, first.port) as one,
        loaded(hass, second.port, unique_id="001LGZ0056859504") as two,
    ):
        before = (one.runtime_data.statistics.successes, two.runtime_data.statistics.successes)
        await asyncio.gather(one.runtime_data.async_refresh(), two.runtime_data.async_refresh())
        assert one.runtime_data.last_update_success and two.runtime_data.last_update_success
        after = (one.runtime_data.statistics.successes, two.runtime_data.statistics.successes)
        assert after == (before[0] + 1, before[1] + 1)  # both read in the same cycle, each on its own port
        assert one.runtime_data.data.identification.model != two.runtime_data.data.identification.model
        assert len(hass.config_entries.async_entries(DOMAIN)) == 2
        second.fault = "no_answer"  # one meter failing does not disturb the other
        await asyncio.gather(one.runtime_data.async_refresh(), two.runtime_data.async_refresh())
        assert one.runtime_data.last_update_success and not two.runtime_data.last_update_success
        # a third entry on a port that an entry already reads is refused before anything is opened
        requests = first.requests
        from unittest.mock import patch

        from homeassistant import config_entries

        with patch("custom_components.e450.config_flow.list_ports", return_value=[]):
            result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"],
                {"port": first.port, "advanced": {"max_baud": "9600", "device_address": "", "wake_up": False}},
            )
        assert result["errors"] == {"port": "port_in_use_by_entry"}
        assert first.requests == requests  # refused before anything was opened
        assert result["description_placeholders"]["detail"] == one.title
