"""Event-loop time per coordinator update (parse + state writes) with a 60-line readout, and state writes per
update when nothing changed (should be 0). A benchmark, run by scripts/bench: it prints, it asserts only the 0."""

from __future__ import annotations

from statistics import median
import time
from typing import Any
from unittest.mock import patch

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.e450.const import DOMAIN
from custom_components.e450.iec62056 import parse_transcript
from custom_components.e450.iec62056.frames import build_data_message


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


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/e450."""


async def test_update_cost(hass: HomeAssistant) -> None:
    readouts = [parse_transcript(telegram(step)).readout(telegram(step)) for step in range(202)]

    async def fake_read(*args: Any, **kwargs: Any) -> Any:
        return readouts[0]

    entry = MockConfigEntry(domain=DOMAIN, title="Bench", unique_id="71234567", data={"port": "/dev/null"})
    entry.add_to_hass(hass)
    with patch("custom_components.e450.coordinator.read_meter", fake_read):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    coordinator = entry.runtime_data
    writes: list[str] = []
    hass.bus.async_listen(EVENT_STATE_CHANGED, lambda event: writes.append(event.data["entity_id"]))
    durations = []
    for step in range(1, 201):
        raw = telegram(step)
        started = time.perf_counter()
        readout = parse_transcript(raw).readout()  # parsing is part of the cost of an update
        coordinator.async_set_updated_data(readout)
        durations.append(time.perf_counter() - started)
        await hass.async_block_till_done()
    changed_writes = len(writes) / 200
    writes.clear()
    unchanged = parse_transcript(telegram(200)).readout()
    for _ in range(50):
        coordinator.async_set_updated_data(unchanged)
        await hass.async_block_till_done()
    print(
        f"\nCoordinator update with a 60-line readout: {median(durations) * 1000:.2f} ms of event-loop time "
        f"(median of 200; parse + entity updates + state writes), {changed_writes:.0f} state writes per update "
        f"when values change, {len(writes) / 50:.0f} when they do not."
    )
    assert writes == []
    await hass.config_entries.async_unload(entry.entry_id)
