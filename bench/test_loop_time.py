"""Event-loop time of one coordinator update against the floor: what Home Assistant itself needs for the same state
writes. A benchmark, run by ``scripts/bench loop``: it prints (or writes JSON), it asserts only what it counts.

Update: parse a 60-line readout (on the event loop, as the driver does) and hand it to the coordinator; 20 values
change, so 20 sensors write their state. Floor, measured in the same run, interleaved with the updates: 20 plain
``SensorEntity`` objects with the same device class, state class, unit and display precision as those 20 sensors,
each given its new value and written (``async_write_ha_state``). The loop runs without asyncio's debug mode, as in
production (the test harness turns it on; its slow-callback bookkeeping would inflate both figures), and the
state-change listener that counts the writes is a callback (a plain function would run in the executor, once per
write, and cost more than the writes themselves). Printed as well, not part of the JSON: a whole scheduled refresh
(``async_refresh``, the read handed over already parsed), i.e. the update plus the coordinator's own work on a
readout (statistics, anomaly rules, repair issues).

Push: a push meter's update, from its bytes: a 30-register DLMS push (the Aidon SE list grown to 30, as
``bench/dlms.py``; 20 of its values change from one push to the next) through the listener as its ``run`` does it
(``PushDecoder.feed``, ``PushListener.on_push``), then the coordinator's publication (``async_refresh``: the
monitor's rules, the repair issues, the entity updates and their state writes); its floor: Home Assistant writing
the states of plain sensors like those the push changed. Memory: what one entry holds (tracemalloc, from before its
set-up) after 1,000 updates, and after 100: growth would show as a difference.

Event-loop time, updates and floors alike, is the processor time of the loop's thread (``time.thread_time``) from
start to end: everything the loop runs, and nothing it merely waits for (nor another process's time on a shared
machine). The processor time of all threads is reported beside it (``cpu_ms``, ``push_cpu_ms``): work moved off
the loop into the executor would show there, not vanish (docs/benchmarks.md: why the parse stays on the loop).

Every figure is the least, over ``ROUNDS`` rounds, of the round's median (the machine's other work only ever adds
to a round); update and floor alternate within each round.

    E450_BENCH_JSON=out.json      write {"update_ms": …, "floor_ms": …, "push_update_ms": …, …} there
    E450_BENCH_PROFILE=out.prof   write a cProfile of the IEC updates there (pstats format)
    E450_BENCH_PUSH_PROFILE=out.prof   the same of the push updates
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import cProfile
import gc
import json
import os
from pathlib import Path
from statistics import median
import time
import tracemalloc
from typing import Any
from unittest.mock import patch

from homeassistant.components.sensor import SensorEntity
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_platform
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockEntityPlatform

from bench.dlms import thirty_values
from custom_components.e450 import binary_sensor, button, sensor  # noqa: F401  # loaded before memory is traced
from custom_components.e450.const import CONF_DLMS_BAUD, CONF_DLMS_PARITY, CONF_TRANSPORT, DOMAIN, TRANSPORT_DLMS
from custom_components.e450.listener import PushListener
from custom_components.e450.wire import PushDecoder, parse_transcript
from custom_components.e450.wire.dlms.apdu import parse_notification
from custom_components.e450.wire.dlms.axdr import ARRAY, Data, decode_all, encode
from custom_components.e450.wire.framing.hdlc import build_hdlc_frame
from custom_components.e450.wire.iec62056 import dataset
from custom_components.e450.wire.iec62056.frames import build_data_message

ROUNDS = 5  # each of PER_ROUND updates (and as many floors, alternating)
PER_ROUND = 80
WARM_UP = 20
REFRESHES = 200
MEMORY_UPDATES = 1000
# the push's registers that change from one push to the next (20 of 30): powers, currents, voltages, energies
PUSH_CHANGING = (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 17, 19, 22, 23, 24, 25, 26)
RESULT: dict[str, float] = {}
loop_time = time.thread_time  # processor time of the event loop's thread: all it runs, nothing it waits for


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


def push_frame(step: int) -> bytes:
    """The 30-register push of ``bench/dlms.py`` with 20 values moved by ``step`` (energies only ever grow)."""
    raw = thirty_values()
    (push,) = PushDecoder().feed(raw)
    notification = parse_notification(push.raw)
    header = push.raw[: len(push.raw) - len(notification.body)]
    items = list(decode_all(notification.body).items)
    for index in PUSH_CHANGING:
        code, value, scaler_unit = items[index].items
        moved = int(value.value) + (step if 23 <= index <= 26 else step % 7)  # type: ignore[call-overload]
        items[index] = Data(items[index].tag, (code, Data(value.tag, moved), scaler_unit))
    return build_hdlc_frame(b"\xe6\xe7\x00" + header + encode(Data(ARRAY, tuple(items))))


def save(profile: cProfile.Profile | None = None) -> None:
    """Write what the environment asks for (after the measurements: blocking is harmless there)."""
    if path := os.environ.get("E450_BENCH_JSON"):
        Path(path).write_text(json.dumps(RESULT), encoding="utf-8")
    if profile is not None:
        profile.dump_stats(os.environ["E450_BENCH_PROFILE"])


def least(samples: list[list[float]]) -> float:
    """ms: the least, over rounds, of a round's median."""
    return round(min(median(round_) for round_ in samples) * 1000, 4)


async def floor_like(
    hass: HomeAssistant, changed: list[Any], name: str
) -> tuple[list[PlainSensor], Callable[[int], float]]:
    """Plain sensors like ``changed``, and a function that writes them all once (a new value), returning the time."""
    plain = [PlainSensor(number, like) for number, like in enumerate(changed)]
    for sensor_ in plain:
        sensor_._attr_unique_id = f"{name}_{sensor_._attr_unique_id}"
    await MockEntityPlatform(hass, domain="sensor", platform_name=name).async_add_entities(plain)
    await hass.async_block_till_done()

    def write(step: int) -> float:
        value = 1000 + step * 0.001
        started = loop_time()
        for sensor_ in plain:
            sensor_._attr_native_value = value
            sensor_.async_write_ha_state()
        return loop_time() - started

    return plain, write


STEPS = range(2, 2 + WARM_UP + ROUNDS * PER_ROUND)


async def alternate(
    hass: HomeAssistant,
    writes: list[str],
    update: Callable[[int], Awaitable[tuple[float, float, float]]],
    write_floor: Callable[[int], float],
) -> tuple[list[list[float]], list[list[float]], list[list[float]], list[list[float]], list[int], list[int]]:
    """``update`` (its event-loop time, the loop time of its first part, its processor time in all threads) and
    the floor in turn, at every step: the times by round (updates, parts, processor times, floors; the warm-up left
    out) and the state writes of each update and floor."""
    updates: list[list[float]] = [[] for _ in range(ROUNDS)]
    parts: list[list[float]] = [[] for _ in range(ROUNDS)]
    cpus: list[list[float]] = [[] for _ in range(ROUNDS)]
    floors: list[list[float]] = [[] for _ in range(ROUNDS)]
    update_writes, floor_writes = [], []
    for step in STEPS:
        writes.clear()
        elapsed, part, cpu = await update(step)
        await hass.async_block_till_done()
        update_writes.append(len(writes))
        writes.clear()
        floor = write_floor(step)
        await hass.async_block_till_done()
        floor_writes.append(len(writes))
        if step >= 2 + WARM_UP:
            round_ = (step - 2 - WARM_UP) // PER_ROUND
            updates[round_].append(elapsed)
            parts[round_].append(part)
            cpus[round_].append(cpu)
            floors[round_].append(floor)
    return updates, parts, cpus, floors, update_writes, floor_writes


def entities(hass: HomeAssistant) -> dict[str, Any]:
    return {
        entity.entity_id: entity
        for platform in entity_platform.async_get_platforms(hass, DOMAIN)
        for entity in platform.entities.values()
    }


def state_writes(hass: HomeAssistant) -> list[str]:
    """The entity ids written from now on (a callback: runs in the loop, costs both sides alike)."""
    writes: list[str] = []

    @callback
    def written(event: Event[Any]) -> None:
        writes.append(event.data["entity_id"])

    hass.bus.async_listen(EVENT_STATE_CHANGED, written)
    return writes


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
    writes = state_writes(hass)

    # which sensors an update changes: the floor gets one plain sensor like each of them
    coordinator.async_set_updated_data(parse_transcript(telegram(1)).readout())
    await hass.async_block_till_done()
    ours = entities(hass)
    changed = [ours[entity_id] for entity_id in writes]
    assert isinstance(changed[0], SensorEntity)
    plain, write_floor = await floor_like(hass, changed, "bench_floor")

    profile = cProfile.Profile() if os.environ.get("E450_BENCH_PROFILE") else None

    async def update(step: int) -> tuple[float, float, float]:
        raw = telegram(step)
        if profile is not None:
            profile.enable()
        started, cpu = loop_time(), time.process_time()
        readout = parse_transcript(
            raw
        ).readout()  # parsing is part of the cost of an update: the driver parses on the event loop
        parsed = loop_time() - started
        coordinator.async_set_updated_data(readout)
        elapsed = loop_time() - started
        if profile is not None:
            profile.disable()
        return elapsed, parsed, time.process_time() - cpu

    updates, parses, cpus, floors, update_writes, floor_writes = await alternate(hass, writes, update, write_floor)

    # A whole refresh as the schedule runs it: the read (here: handing over a parsed readout) and what the
    # coordinator does with it (statistics, anomaly rules, repair issues), then the same entity updates.
    refreshes = []
    with patch("custom_components.e450.coordinator.read_meter", fake_read):
        for last in range(STEPS.stop, STEPS.stop + REFRESHES):
            first = parse_transcript(telegram(last)).readout()
            started = loop_time()
            await coordinator.async_refresh()
            refreshes.append(loop_time() - started)
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
        "update_ms": least(updates),
        "floor_ms": least(floors),
        "parse_ms": least(parses),  # of update_ms: the 60 data sets parsed
        "cpu_ms": least(cpus),  # processor time in all threads (the executor's work included)
    }
    result["ratio"] = round(result["update_ms"] / result["floor_ms"], 3)
    RESULT.update(result)
    save(profile)
    print(
        f"\nCoordinator update with a 60-line readout, least of {ROUNDS} rounds' medians of {PER_ROUND}: "
        f"{result['update_ms']:.3f} ms of event-loop time (parse + entity updates + {median(update_writes):.0f} state "
        f"writes); floor, {median(floor_writes):.0f} plain sensors written: {result['floor_ms']:.3f} ms (ratio "
        f"{result['ratio']:.2f}; the parse alone {result['parse_ms']:.3f} ms; processor time in all threads "
        f"{result['cpu_ms']:.3f} ms); "
        f"{unchanged_writes:.0f} state writes when nothing changed. A whole refresh (async_refresh: read handed "
        f"over already parsed, the coordinator's own work, the same entity updates), median of {REFRESHES}: "
        f"{median(refreshes) * 1000:.3f} ms; active anomalies: {', '.join(anomalies) or 'none'}."
    )
    assert set(update_writes) == set(floor_writes) == {len(plain)}  # every update changes the same 20 values
    assert unchanged_writes == 0


async def test_push_update_cost(hass: HomeAssistant) -> None:
    """A push meter: each push's bytes decoded by the listener's decoder, then published by the coordinator."""
    hass.loop.set_debug(False)
    first = push_frame(0)

    async def listen(listener: PushListener) -> None:  # the port: the first push, then silence
        for push in listener.decoder.feed(first):
            listener.on_push(push)
        await asyncio.Event().wait()

    data = {"port": "/dev/null", CONF_TRANSPORT: TRANSPORT_DLMS, CONF_DLMS_BAUD: 2400, CONF_DLMS_PARITY: "E"}
    entry = MockConfigEntry(domain=DOMAIN, title="Bench push", unique_id="7359992890941742", data=data)
    entry.add_to_hass(hass)
    with patch.object(PushListener, "run", listen):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    coordinator = entry.runtime_data
    listener = coordinator.listener
    writes = state_writes(hass)

    # which sensors a push changes: the floor gets one plain sensor like each of them
    await coordinator.async_refresh()
    listener.on_push(next(iter(listener.decoder.feed(push_frame(1)))))
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    ours = entities(hass)
    changed = [ours[entity_id] for entity_id in writes if entity_id in ours]
    plain, write_floor = await floor_like(hass, changed, "bench_push_floor")

    profile = cProfile.Profile() if os.environ.get("E450_BENCH_PUSH_PROFILE") else None

    async def update(step: int) -> tuple[float, float, float]:
        raw = push_frame(step)
        if profile is not None:
            profile.enable()
        started, cpu = loop_time(), time.process_time()
        for push in listener.decoder.feed(raw, time.monotonic()):  # as PushListener.run does with each chunk
            listener.on_push(push)
        decoded = loop_time() - started
        await coordinator.async_refresh()  # runs to its end without waiting: the push is there
        if profile is not None:
            profile.disable()
        return loop_time() - started, decoded, time.process_time() - cpu

    updates, decodes, cpus, floors, update_writes, floor_writes = await alternate(hass, writes, update, write_floor)
    await hass.config_entries.async_unload(entry.entry_id)

    RESULT.update({"push_update_ms": least(updates), "push_floor_ms": least(floors)})
    RESULT["push_decode_ms"] = least(decodes)  # of push_update_ms: the push decoded (listener)
    RESULT["push_cpu_ms"] = least(cpus)  # processor time in all threads (the executor's work included)
    RESULT["push_ratio"] = round(RESULT["push_update_ms"] / RESULT["push_floor_ms"], 3)
    save()
    if profile is not None:
        profile.dump_stats(os.environ["E450_BENCH_PUSH_PROFILE"])
    print(
        f"\nPush meter, 30-register push decoded and published, least of {ROUNDS} rounds' medians of {PER_ROUND}: "
        f"{RESULT['push_update_ms']:.3f} ms of event-loop time ({median(update_writes):.0f} state writes; the decode "
        f"alone {RESULT['push_decode_ms']:.3f} ms; processor time in all threads {RESULT['push_cpu_ms']:.3f} ms); "
        "floor, "
        f"{median(floor_writes):.0f} plain sensors written: {RESULT['push_floor_ms']:.3f} ms (ratio "
        f"{RESULT['push_ratio']:.2f})."
    )
    assert len(plain) == median(update_writes) == median(floor_writes)


async def test_memory_of_an_entry(hass: HomeAssistant) -> None:
    """What one IEC entry holds after 100 and after 1,000 updates (traced from before its set-up, after a first
    entry was set up and unloaded: what Home Assistant loads once for the integration is not counted)."""
    hass.loop.set_debug(False)  # as in production: debug mode keeps a traceback with every scheduled callback
    first = parse_transcript(telegram(0)).readout()

    async def fake_read(*args: Any, **kwargs: Any) -> Any:
        return first

    async def set_up(unique_id: str) -> MockConfigEntry:
        entry = MockConfigEntry(domain=DOMAIN, title="Memory", unique_id=unique_id, data={"port": "/dev/null"})
        entry.add_to_hass(hass)
        with patch("custom_components.e450.coordinator.read_meter", fake_read):
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
        return entry

    # what Home Assistant loads once for the integration (platforms, translations) is not the entry's
    await hass.config_entries.async_unload((await set_up("70000000")).entry_id)
    # the parser's caches (process-wide, bounded) are counted as this entry fills them, whatever ran before
    dataset._line.cache_clear()
    dataset._bracket.cache_clear()
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    entry = await set_up("71234567")
    coordinator = entry.runtime_data
    held: dict[int, float] = {}
    for step in range(1, MEMORY_UPDATES + 1):
        coordinator.async_set_updated_data(parse_transcript(telegram(step)).readout())
        await hass.async_block_till_done()
        if step in (100, MEMORY_UPDATES):
            gc.collect()
            held[step] = (tracemalloc.get_traced_memory()[0] - baseline) / 1024
    tracemalloc.stop()
    await hass.config_entries.async_unload(entry.entry_id)
    RESULT.update(
        {"memory_kib_after_100": round(held[100], 1), "memory_kib_after_1000": round(held[MEMORY_UPDATES], 1)}
    )
    save()
    print(
        f"\nOne entry holds {held[MEMORY_UPDATES]:.0f} KiB after {MEMORY_UPDATES} updates, {held[100]:.0f} KiB after "
        "100 (tracemalloc, from before its set-up)."
    )
