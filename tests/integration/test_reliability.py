"""Reliability through the whole integration: every simulator fault, unplug/replug, two meters, a soak.

Policy (documented in the README): a failed read makes the meter's entities unavailable until the next good read;
the coordinator logs once when reads start failing and once when they recover; energy registers never show a 0, a
dip or a spike, whatever the link does.

Run ``pytest tests/integration/test_reliability.py -s`` to see the fault matrix; ``--run-slow`` for the full soak.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field, replace
import gc
import itertools
import logging
import os
from pathlib import Path
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
    """serialx opens exclusively: if we can open it, the integration did not leave it open."""
    try:
        serial = await open_port(path, 9600, 8, "N")
    except Exception:
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
        (f for f in SIMULATOR_FAULTS if f not in {"unplug", "intermittent", *DLMS_SERVER_FAULTS}),
        key=lambda fault: fault == "meter_reset",
    )
)
# which faults fail a cycle (the others are absorbed: retried at 300 Bd, echo dropped, slow meter waited for)
FAILS = {"no_answer", "garbage", "bad_bcc", "truncated", "drop_after_ident", "unplug", "dlms_port"}


@dataclass
class Outcome:
    fault: str
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
        else:
            meter.fault = fault
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        outcome.failed_cycle = not coordinator.last_update_success
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
    for outcome in outcomes:
        failing = outcome.fault in FAILS
        assert outcome.failed_cycle is failing, outcome
        assert outcome.unavailable is failing, outcome
        assert outcome.recovered, outcome
        assert outcome.port_free, outcome
        assert outcome.energy_ok, outcome.detail
        assert outcome.logs_ok, outcome
        assert outcome.traceback_free, outcome


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


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


@pytest.mark.parametrize(
    "cycles", [pytest.param(150, id="short"), pytest.param(1000, id="full", marks=pytest.mark.slow)]
)
async def test_no_leaks_over_fast_cycles(hass: HomeAssistant, cycles: int) -> None:
    async with MeterSimulator("mt174", frozen=True) as meter, loaded(hass, meter.port, unique_id="44837564") as entry:
        coordinator = entry.runtime_data
        for _ in range(20):  # warm up caches and pools before measuring
            await coordinator.async_refresh()
        gc.collect()
        fds, tasks = _fds(), len(asyncio.all_tasks())
        for _ in range(cycles):
            await coordinator.async_refresh()
        await hass.async_block_till_done()
        gc.collect()
        assert coordinator.statistics.failures == 0
        assert _fds() <= fds
        assert len(asyncio.all_tasks()) <= tasks


# The soak runs in the simulator's fast mode with tight timeouts (the simulated meter answers within 10 ms), so
# that a faulty cycle costs a fraction of a second and 10,000 cycles fit in about half an hour.
SOAK = replace(
    CYCLE, identification_timeout=0.3, readout_first_byte_timeout=0.3, inter_character_timeout=0.1, fallback_wait=0.05
)


@pytest.mark.parametrize(
    "cycles", [pytest.param(150, id="short"), pytest.param(10_000, id="full", marks=pytest.mark.slow)]
)
async def test_soak_with_intermittent_faults(hass: HomeAssistant, tmp_path: Path, cycles: int) -> None:
    async with MeterSimulator("mt174", seed=7) as meter, loaded(hass, meter.port, unique_id="44837564") as entry:
        meter.fault = "intermittent"
        coordinator = entry.runtime_data
        use_session(coordinator, SOAK)
        energy = watch_energy(hass)
        for _ in range(30):
            await coordinator.async_refresh()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        fds = _fds()
        for _ in range(cycles):
            await coordinator.async_refresh()
        await hass.async_block_till_done()
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        stats = coordinator.statistics
        assert stats.successes + stats.failures == stats.reads == cycles + 31
        assert stats.failures > cycles // 10  # the faults really happened
        assert stats.successes > cycles // 2
        energy.stop()
        assert energy.problems() == []
        assert _fds() <= fds
        assert growth < 2_000_000, f"memory grew by {growth} bytes"


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
