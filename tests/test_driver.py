"""The asyncio driver against the simulator over a real pty (serialx end to end)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import dataclasses
import json
import os
from pathlib import Path
import select
import sys
import threading
import time
from typing import Any
import unittest.mock

import pytest
from serialx.platforms import serial_posix

from custom_components.e450.wire import (
    BccStatus,
    ChecksumError,
    DetectConfig,
    MeterError,
    ModeDConfig,
    NoAnswerError,
    PortUnavailableError,
    ProtocolMode,
    PushMeter,
    Readout,
    ReadoutTimeoutError,
    detect_meter,
    read_meter,
    receive_telegram,
)
from custom_components.e450.wire.commands.iec62056 import push_meter_text
from custom_components.e450.wire.port import classify_os_error, close_port, open_port

from .conftest import FAST

Factory = Callable[..., contextlib.AbstractAsyncContextManager[Any]]


async def assert_port_released(path: str) -> None:
    """serialx opens exclusively: a second open right after the read proves the driver closed the port."""
    serial = await open_port(path, 9600, 8, "N")  # within its deadline, as every open
    await close_port(serial)


PROFILE_EXPECTATIONS = {
    "e450": ("LGZ", ProtocolMode.C, 9600, "1.8.0", "kWh"),
    "e350": ("LGZ", ProtocolMode.C, 4800, "32.7.0", "V"),
    "zmd": ("LGZ", ProtocolMode.C, 9600, "1.8.1", "kWh"),
    "mt174": ("ISk", ProtocolMode.C, 300, "1.8.0", "kWh"),
    "mode-a": ("ABC", ProtocolMode.A, 300, "16.7.0", "W"),
    "mode-b": ("SIE", ProtocolMode.B, 2400, "2.8.0", "kWh"),
}


@pytest.mark.parametrize("profile", sorted(PROFILE_EXPECTATIONS))
async def test_profiles(sim_factory: Factory, profile: str) -> None:
    flag, mode, baud, code, unit = PROFILE_EXPECTATIONS[profile]
    async with sim_factory(profile) as sim:
        readout = await read_meter(sim.port, FAST)
        await assert_port_released(sim.port)
        again = await read_meter(sim.port, FAST)  # the next cycle starts again at 300 Bd
    assert readout.identification is not None
    assert (readout.identification.manufacturer, readout.identification.mode) == (flag, mode)
    assert readout.timings.baud == baud
    assert readout.bcc is BccStatus.OK
    assert readout.readings[code].unit == unit
    assert again.readings.keys() == readout.readings.keys()
    assert readout.timings.bytes_received > 100


async def test_history_never_shadows_current_value(sim_factory: Factory) -> None:
    async with sim_factory("zmd") as sim:
        readout = await read_meter(sim.port, FAST)
    current = readout.readings["1.8.0"].value
    history = [float(ds.values[0].value) for ds in readout.datasets if ds.address.startswith("1-1:1.8.0*")]
    assert history and all(value < current for value in history)


async def test_mode_d_push(sim_factory: Factory) -> None:
    async with sim_factory("mode-d") as sim:
        readout = await receive_telegram(sim.port, ModeDConfig(baud=2400))
    assert readout.bcc is BccStatus.ABSENT
    assert readout.readings["1.8.0"].unit == "kWh"
    assert readout.timings.bytes_sent == 0


async def test_user_cap(sim_factory: Factory) -> None:
    async with sim_factory("e450") as sim:
        readout = await read_meter(sim.port, dataclasses.replace(FAST, max_baud=2400))
    assert readout.timings.baud == 2400


@pytest.mark.parametrize(
    ("profile", "baud", "parity", "encrypted"),
    [("e450-dlms", 2400, "E", False), ("e450-dlms-encrypted", 9600, "N", True)],
)
async def test_dlms_push_port_is_recognised(
    sim_factory: Factory, profile: str, baud: int, parity: str, encrypted: bool
) -> None:
    async with sim_factory(profile) as sim:
        found = await detect_meter(sim.port, DetectConfig(FAST, listen=1.2))
        await assert_port_released(sim.port)
    assert isinstance(found, PushMeter)
    assert (found.baud, found.parity, found.encrypted) == (baud, parity, encrypted)
    # what the user is told: the line settings, who sends (a ciphered push names its system title), how to decode
    assert found.system_title == (b"LGZg\x72\xa9\xa1\x11" if encrypted else None)
    text = push_meter_text(found)
    assert f"listen PORT --baud {baud} --parity {parity}" in text
    assert ("4C475A6772A9A111" in text) is encrypted


async def test_dlms_listen_command_prints_pushes_live(sim_factory: Factory) -> None:
    async with sim_factory("e450-dlms-encrypted") as sim:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "custom_components.e450.dlms", "listen", sim.port, "--baud", "9600",
            "--ek", "000102030405060708090A0B0C0D0E0F", "--ak", "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parent.parent,
        )  # fmt: skip
        assert process.stdout is not None
        try:
            async with asyncio.timeout(30):
                line = await process.stdout.readline()
        finally:
            process.terminate()
            async with asyncio.timeout(10):
                await process.wait()
    push = json.loads(line)
    assert push["tag"] == "ok" and push["profile"] == "netz-burgenland"
    assert push["readings"]["1.8.0"]["unit"] == "Wh"


async def test_dlms_listen_reports_a_port_error(tmp_path: Path) -> None:
    from custom_components.e450.wire.commands.dlms import main

    assert await asyncio.to_thread(main, ["listen", str(tmp_path / "missing")]) == 2


FAULT_OUTCOMES: dict[str, type[MeterError] | None] = {
    "no_answer": NoAnswerError,
    "garbage": NoAnswerError,
    "bad_bcc": ChecksumError,
    "truncated": ReadoutTimeoutError,
    "drop_after_ident": ReadoutTimeoutError,
    "slow": None,
    "echo": None,
    "wrong_baud": None,  # recovered by the retry at 300 Bd
    "meter_reset": None,
}


@pytest.mark.parametrize("fault", sorted(FAULT_OUTCOMES))
async def test_faults(sim_factory: Factory, fault: str) -> None:
    expected = FAULT_OUTCOMES[fault]
    # tr = 1.5 s is still within the standard: the default identification timeout must wait for it
    config = dataclasses.replace(FAST, identification_timeout=2.0) if fault == "slow" else FAST
    async with sim_factory("e450", fault=fault) as sim:
        started = time.monotonic()
        if expected is None:
            readout = await read_meter(sim.port, config)
            assert readout.bcc is BccStatus.OK
            assert readout.readings["1.8.0"].value > 0
            if fault == "wrong_baud":
                assert readout.timings.retried and readout.timings.baud == 300
        else:
            with pytest.raises(expected):
                await read_meter(sim.port, FAST)
        elapsed = time.monotonic() - started
        await assert_port_released(sim.port)
    assert elapsed < 15  # a typed error within a bounded time, never a hang


async def test_meter_reset_is_visible_to_the_caller(sim_factory: Factory) -> None:
    async with sim_factory("e450", fault="meter_reset") as sim:
        values = [(await read_meter(sim.port, FAST)).readings["1.8.0"].value for _ in range(4)]
    assert values[0] > 10000 and values[-1] < 10


async def test_unplug_and_replug_at_the_same_path(sim_factory: Factory, tmp_path: Path) -> None:
    link = str(tmp_path / "ttyMETER")
    config = dataclasses.replace(FAST, identification_timeout=0.3)
    async with sim_factory("e450", fault="unplug", link=link, unplug_every=0.4, unplug_for=0.6) as sim:
        outcomes: list[str] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                await read_meter(link, config)
                outcomes.append("ok")
            except PortUnavailableError as err:
                outcomes.append(err.reason)
            except MeterError:
                outcomes.append("error")
            failed = [i for i, outcome in enumerate(outcomes) if outcome != "ok"]
            if failed and "ok" in outcomes[failed[0] :]:
                break  # failed while unplugged, then read again once it came back
            await asyncio.sleep(0.05)
        assert sim.port == link
    first_failure = next(i for i, outcome in enumerate(outcomes) if outcome != "ok")
    assert "ok" in outcomes[first_failure:], outcomes
    assert {outcome for outcome in outcomes if outcome != "ok"} <= {"not_found", "io", "error"}


async def test_open_errors(tmp_path: Path) -> None:
    regular = tmp_path / "file"
    regular.write_text("x")
    cases = {
        str(tmp_path / "missing"): "not_found",
        str(tmp_path): "unsupported",
        str(regular): "unsupported",
        "nonsense://x": "unsupported",
    }
    for port, reason in cases.items():
        with pytest.raises(PortUnavailableError) as caught:
            await read_meter(port, FAST)
        assert caught.value.reason == reason, port
        assert caught.value.port == port


async def test_busy_port(sim_factory: Factory) -> None:
    async with sim_factory("e450") as sim:
        holder = await open_port(sim.port, 9600, 8, "N")
        try:
            with pytest.raises(PortUnavailableError) as caught:
                await read_meter(sim.port, FAST)
            assert caught.value.reason == "busy"
        finally:
            await close_port(holder)


def test_error_classification() -> None:
    import errno

    assert classify_os_error("p", PermissionError(errno.EACCES, "denied")).reason == "permission"
    assert classify_os_error("p", OSError(errno.EBUSY, "busy")).reason == "busy"
    assert classify_os_error("p", OSError(errno.EIO, "io")).reason == "io"
    assert classify_os_error("p", ConnectionRefusedError()).reason == "not_found"
    wrapped = RuntimeError("x")
    wrapped.__cause__ = OSError(errno.ENOENT, "gone")
    assert classify_os_error("p", wrapped).reason == "not_found"
    same = PortUnavailableError("p", "busy")
    assert classify_os_error("p", same) is same
    assert "dialout" in str(PortUnavailableError("/dev/x", "permission"))


async def test_port_vanishing_during_read_is_typed(sim_factory: Factory) -> None:
    async with sim_factory("e450", fault="no_answer") as sim:
        task = asyncio.ensure_future(read_meter(sim.port, FAST))
        await asyncio.sleep(0.2)
        sim.unplug()  # the adapter disappears
        with pytest.raises(MeterError):
            await task


@pytest.mark.usefixtures("socket_enabled")
async def test_tcp_url(sim_factory: Factory) -> None:
    """``socket://host:port`` (ser2net, ESP links): the same read over a network bridge."""
    async with sim_factory("e450", tcp_port=0) as sim:
        assert sim.port.startswith("socket://127.0.0.1:")
        first = await read_meter(sim.port, FAST)
        second = await read_meter(sim.port, FAST)  # the bridge's single connection was released
    assert first.bcc is BccStatus.OK and first.readings.keys() == second.readings.keys()
    assert first.timings.baud == 9600


async def test_raw_apdus_and_m_bus_segments_over_a_real_port(sim_factory: Factory) -> None:
    """The simulated Aidon-style meter with no framing at 115200 8N1, and the Kaifa over M-Bus at 2400 8E1."""
    from custom_components.e450.wire import PushDecoder, capture_push
    from custom_components.e450.wire.framing import Framing
    from simulator.dlms_push import EXAMPLE_EK

    async with sim_factory("aidon-raw") as sim:
        push = await capture_push(sim.port, 115200, "N", PushDecoder(framing=Framing.RAW), 5.0)
        await assert_port_released(sim.port)
    assert push.readout is not None and push.readout.readings["32.7.0"].unit == "V"
    async with sim_factory("kaifa-mbus") as sim:
        push = await capture_push(sim.port, 2400, "E", PushDecoder(EXAMPLE_EK, framing=Framing.MBUS), 5.0)
    assert push.readout is not None and push.readout.readings["1.8.0"].unit == "Wh"
    assert push.info.security == "encrypted"


async def test_a_byte_arriving_while_the_speed_changes_is_not_a_hang_up(sim_factory: Factory) -> None:
    """serialx sets the new speed and flushes the input in a thread of its own: a byte arriving in between (an
    echoing head's late copy of our ACK) woke the reader, the flush took it, and the empty read that followed was
    taken for a hang-up (EIO). The driver pauses reading while the line is reconfigured."""
    loop = asyncio.get_running_loop()
    flush, calls = serial_posix.tcflush, []

    def hold(started: threading.Event, release: threading.Event) -> None:
        started.set()
        release.wait(2)

    def late_byte_then_flush(fd: int, queue: int) -> None:  # serialx's executor thread
        calls.append(fd)
        if len(calls) == 2:  # the baud switch; the first is the open, before the reader exists
            first, second = (threading.Event(), threading.Event()), (threading.Event(), threading.Event())
            loop.call_soon_threadsafe(hold, *first)
            first[0].wait(2)
            os.write(master, b"\x06")
            select.select([fd], [], [], 1)
            loop.call_soon_threadsafe(hold, *second)  # runs just before the reader's queued callback
            first[1].set()
            second[0].wait(2)
            flush(fd, queue)
            second[1].set()
            return
        flush(fd, queue)

    async with sim_factory("e450") as sim:
        master = sim._line._pty.master
        with unittest.mock.patch.object(serial_posix, "tcflush", late_byte_then_flush):
            readout = await read_meter(sim.port, dataclasses.replace(FAST, max_baud=9600))
    assert readout.timings.baud == 9600


async def test_capture_waits_for_the_list_that_names_the_meter(sim_factory: Factory) -> None:
    """Aidon's list 1 (the power alone) names no meter: listening goes on until the full list does, and what is
    returned carries the registers of both; when time runs out first, the lists heard so far are returned."""
    from custom_components.e450.wire import PushDecoder, capture_push

    def named(readout: Readout) -> bool:
        return readout.text("96.1.0") is not None

    async with sim_factory("aidon-lists") as sim:
        push = await capture_push(sim.port, 2400, "N", PushDecoder(), 15.0, wanted=named)
        assert push.readout is not None and named(push.readout)
        assert push.readout.readings["1.8.0"].unit == "Wh" and push.readout.readings["1.7.0"].unit == "W"
        heard = await capture_push(sim.port, 2400, "N", PushDecoder(), 2.5, wanted=lambda readout: False)
        await assert_port_released(sim.port)
    assert heard.readout is not None and "1.7.0" in heard.readout.readings
