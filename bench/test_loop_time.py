"""Event-loop time of one coordinator update against the floor: what Home Assistant itself needs for the same state
writes. A benchmark, run by ``scripts/bench loop``: it prints (or writes JSON), it asserts only what it counts.

Update: parse a 60-line readout (the driver parses on the event loop) and hand it to the coordinator; 20 values
change, so 20 sensors write their state. Floor, measured in the same run, interleaved with the updates: 20 plain
``SensorEntity`` objects with the same device class, state class, unit and display precision as those 20 sensors,
each given its new value and written (``async_write_ha_state``). The loop runs without asyncio's debug mode, as in
production (the test harness turns it on; its slow-callback bookkeeping would inflate both figures), and the
state-change listener that counts the writes is a callback (a plain function would run in the executor, once per
write, and cost more than the writes themselves). Printed as well, not part of the JSON: a whole scheduled refresh
(``async_refresh``, the read handed over already parsed), i.e. the update plus the coordinator's own work on a
readout (statistics, anomaly rules, repair issues).

    E450_BENCH_JSON=out.json      write {"update_ms": …, "floor_ms": …} there
    E450_BENCH_PROFILE=out.prof   write a cProfile of the updates there (pstats format)
"""

from __future__ import annotations

import cProfile
import json
import os
from pathlib import Path
from statistics import median
import time
from typing import Any
from unittest.mock import patch

from homeassistant.components.sensor import SensorEntity
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_platform
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockEntityPlatform

from custom_components.e450.const import DOMAIN
from custom_components.e450.wire import parse_transcript
from custom_components.e450.wire.iec62056.frames import build_data_message

ROUNDS = 400
WARM_UP = 20
REFRESHES = 200


def telegram(step: int) -> bytes:
    """60 data sets, as an E450-class meter with tariffs, per-phase values and history entries sends them."""
    lines = ["F.F(00000000)", "0.0.0(71234567)", "C.1.0(71234567)", "0.2.0(B22)", "0.9.1(120000)", "0.9.2(261128)"]
    lines += [f"1.8.{t}({1000 * (t + 1) + step * 0.001:010.3f}*kWh)" for t in range(5)]
    lines += [f"2.8.{t}({100 * (t + 1) + step * 0.001:010.3f}*kWh)" for t in range(5)]
    lines += [f"{c}.8.0({50 + step * 0.001:010.3f}*kvarh)" for c in (3, 4)]
    lines += [f"1.8.0*{m:02d}({900 - m:010.3f}*kWh)" for m in range(1, 13)]
    lines += [f"{c}.7.0({1.2 + step * 0.01:06.3f}*kW)" for c in (1, 2, 21, 41, 61, 22, 42, 62)]
    lines += [f"{c}.7.0({230 + step % 3:05.1f}*V)" for c in (32, 52, 72)]
    lines += [f"{c}.7.0({2 + step * 0.01:06.2f}*A)" for c in (31, 51, 71)]
    lines += ["14.7.0(50.00*Hz)", "13.7.0(0.98)", "81.7.1(120*deg)", "81.7.2(240*deg)", "C.7.0(0004)"]
    lines += [f"C.70.{n}({n:04d})" for n in range(60 - len(lines))]
    assert len(lines) == 60
    block = "".join(f"{line}\r\n" for line in lines).encode() + b"!\r\n"
    return b"/LGZ5\\2ZMXi320AP.B22\r\n" + build_data_message(block)


class PlainSensor(SensorEntity):
    """A sensor with nothing of its own: a value, set and written."""

    _attr_should_poll = False
    _attr_has_entity_name = True

    def __init__(self, number: int, like: SensorEntity) -> None:
        self._attr_unique_id = f"plain_{number}"
        self._attr_name = f"Plain {number}"
        self._attr_device_class = like.device_class
        self._attr_state_class = like.state_class
        self._attr_native_unit_of_measurement = like.native_unit_of_measurement
        self._attr_suggested_display_precision = like.suggested_display_precision


def save(result: dict[str, float], profile: cProfile.Profile | None) -> None:
    """Write what the environment asks for (after the measurements: blocking is harmless there)."""
    if path := os.environ.get("E450_BENCH_JSON"):
        Path(path).write_text(json.dumps(result), encoding="utf-8")
    if profile is not None:
        profile.dump_stats(os.environ["E450_BENCH_PROFILE"])


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/e450."""


async def test_update_cost(hass: HomeAssistant) -> None:
    hass.loop.set_debug(False)
    first = parse_transcript(telegram(0)).readout()

    async def fake_read(*args: Any, **kwargs: Any) -> Any:
        return first  # the readout of the step being measured

    entry = MockConfigEntry(domain=DOMAIN, title="Bench", unique_id="71234567", data={"port": "/dev/null"})
    entry.add_to_hass(hass)
    with patch("custom_components.e450.coordinator.read_meter", fake_read):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    coordinator = entry.runtime_data
    writes: list[str] = []

    @callback
    def written(event: Event[Any]) -> None:
        writes.append(event.data["entity_id"])

    hass.bus.async_listen(EVENT_STATE_CHANGED, written)  # a callback: runs in the loop, costs both sides alike

    # which sensors an update changes: the floor gets one plain sensor like each of them
    coordinator.async_set_updated_data(parse_transcript(telegram(1)).readout())
    await hass.async_block_till_done()
    ours = {
        entity.entity_id: entity
        for platform in entity_platform.async_get_platforms(hass, DOMAIN)
        for entity in platform.entities.values()
    }
    changed = [ours[entity_id] for entity_id in writes]
    assert isinstance(changed[0], SensorEntity)
    plain = [PlainSensor(number, like) for number, like in enumerate(changed)]  # type: ignore[arg-type]
    await MockEntityPlatform(hass, domain="sensor", platform_name="bench_floor").async_add_entities(plain)
    await hass.async_block_till_done()

    profile = cProfile.Profile() if os.environ.get("E450_BENCH_PROFILE") else None
    updates, parses, floors, update_writes, floor_writes = [], [], [], [], []
    for step in range(2, 2 + WARM_UP + ROUNDS):
        raw = telegram(step)
        writes.clear()
        if profile is not None:
            profile.enable()
        started = time.perf_counter()
        readout = parse_transcript(raw).readout()  # parsing is part of the cost of an update
        parse = time.perf_counter() - started
        coordinator.async_set_updated_data(readout)
        elapsed = time.perf_counter() - started
        if profile is not None:
            profile.disable()
        await hass.async_block_till_done()
        update_writes.append(len(writes))

        writes.clear()
        value = 1000 + step * 0.001
        started = time.perf_counter()
        for sensor in plain:
            sensor._attr_native_value = value
            sensor.async_write_ha_state()
        floor = time.perf_counter() - started
        await hass.async_block_till_done()
        floor_writes.append(len(writes))
        if step >= 2 + WARM_UP:
            updates.append(elapsed)
            parses.append(parse)
            floors.append(floor)

    # A whole refresh as the schedule runs it: the read (here: handing over a parsed readout) and what the
    # coordinator does with it (statistics, anomaly rules, repair issues), then the same entity updates.
    refreshes = []
    with patch("custom_components.e450.coordinator.read_meter", fake_read):
        for last in range(step + 1, step + 1 + REFRESHES):
            first = parse_transcript(telegram(last)).readout()
            started = time.perf_counter()
            await coordinator.async_refresh()
            refreshes.append(time.perf_counter() - started)
            await hass.async_block_till_done()
    anomalies = sorted(coordinator.anomalies)

    writes.clear()
    unchanged = parse_transcript(telegram(last)).readout()  # the last readout again: nothing to write
    for _ in range(50):
        coordinator.async_set_updated_data(unchanged)
        await hass.async_block_till_done()
    unchanged_writes = len(writes) / 50
    await hass.config_entries.async_unload(entry.entry_id)

    result = {
        "update_ms": round(median(updates) * 1000, 4),
        "floor_ms": round(median(floors) * 1000, 4),
        "parse_ms": round(median(parses) * 1000, 4),  # of update_ms: the 60 data sets parsed
    }
    save(result, profile)
    print(
        f"\nCoordinator update with a 60-line readout, median of {ROUNDS}: {result['update_ms']:.3f} ms of event-loop "
        f"time (parse + entity updates + {median(update_writes):.0f} state writes); floor, {median(floor_writes):.0f} "
        f"plain sensors written: {result['floor_ms']:.3f} ms (ratio {result['update_ms'] / result['floor_ms']:.2f}; "
        f"the parse alone {result['parse_ms']:.3f} ms); "
        f"{unchanged_writes:.0f} state writes when nothing changed. A whole refresh (async_refresh: read handed "
        f"over already parsed, the coordinator's own work, the same entity updates), median of {REFRESHES}: "
        f"{median(refreshes) * 1000:.3f} ms; active anomalies: {', '.join(anomalies) or 'none'}."
    )
    assert set(update_writes) == set(floor_writes) == {len(plain)}  # every update changes the same 20 values
    assert unchanged_writes == 0
