"""Network bridges as users have them, in front of the simulator: RFC 2217 (as ser2net, and as pyserial's
PortManager, which leaves two option requests unanswered), a raw TCP bridge fixed at one speed, a bridge that
refuses, cannot be reached, says nothing or drops the connection; and a port that never finishes a step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import dataclasses
import errno
import gc
import os
import socket
from typing import Any
import warnings

import pytest

from custom_components.e450 import listener as listener_module, probe as probe_module
from custom_components.e450.listener import PushListener
from custom_components.e450.messages import error_key
from custom_components.e450.probe import Probe
from custom_components.e450.wire import (
    BccStatus,
    DetectConfig,
    NoAnswerError,
    PortProblem,
    PortUnavailableError,
    PushDecoder,
    Readout,
    ReadoutTimeoutError,
    capture_push,
    port as port_module,
    read_meter,
)
from custom_components.e450.wire.actions import Action, Configure, Done, Drain, Send, Wait
from custom_components.e450.wire.bridges import bridge_of, is_raw_bridge, is_rfc2217
from custom_components.e450.wire.dlms.client.config import ClientConfig
from custom_components.e450.wire.dlms.client.driver import read_dlms
from custom_components.e450.wire.dlms.push import listen as listen_module
from custom_components.e450.wire.dlms.push.listen import read_pushes
from custom_components.e450.wire.port import classify_os_error, run, run_on_port
from simulator import MeterSimulator
from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK

from .conftest import FAST

pytestmark = pytest.mark.usefixtures("socket_enabled")

Factory = Callable[..., contextlib.AbstractAsyncContextManager[MeterSimulator]]


@pytest.mark.parametrize("answer_masks", [True, False], ids=["ser2net", "pyserial-portmanager"])
async def test_rfc2217_mode_c_switches_speed(sim_factory: Factory, answer_masks: bool) -> None:
    """The speed switch of mode C goes through the RFC 2217 server: the read ends at 9600 Bd with no retry, and
    the server's connection is released for the next read."""
    async with sim_factory("e450", rfc2217=True, answer_masks=answer_masks) as sim:
        assert sim.port.startswith("rfc2217://127.0.0.1:")
        first = await read_meter(sim.port, FAST)
        second = await read_meter(sim.port, dataclasses.replace(FAST, max_baud=4800))
        assert sim.bridge is not None and sim.bridge.connections == 2
    assert first.bcc is BccStatus.OK and first.timings.baud == 9600 and not first.timings.retried
    assert second.timings.baud == 4800 and not second.timings.retried
    assert first.readings.keys() == second.readings.keys()


@pytest.mark.parametrize("answer_masks", [True, False], ids=["ser2net", "pyserial-portmanager"])
async def test_rfc2217_mode_e_hands_over_to_hdlc(sim_factory: Factory, answer_masks: bool) -> None:
    """Mode E signs on at 300 Bd 7E1 and continues in HDLC at 9600 Bd 8N1: both changes through the server."""
    async with sim_factory("e450-mode-e", rfc2217=True, answer_masks=answer_masks) as sim:
        readout = await read_dlms(sim.port, ClientConfig(mode_e=True, session=FAST))
    assert readout.timings.baud == 9600
    assert readout.readings["1.8.0"].value > 0


async def test_raw_bridge_at_a_fixed_speed(sim_factory: Factory) -> None:
    """A raw bridge fixed at 300 Bd: the switch gets garbage and the read succeeds only on its retry at 300 Bd;
    with the maximum baud rate at 300 there is no switch and no retry."""
    async with sim_factory("e450", tcp_port=0, fixed_baud=300) as sim:
        switched = await read_meter(sim.port, FAST)
        held = await read_meter(sim.port, dataclasses.replace(FAST, max_baud=300))
    assert switched.timings.retried and switched.timings.baud == 300
    assert not held.timings.retried and held.timings.baud == 300
    assert switched.readings.keys() == held.readings.keys()


@pytest.mark.parametrize(
    ("profile", "baud", "parity", "keys"),
    [("e450-dlms", 2400, "E", ()), ("e450-dlms-encrypted", 9600, "N", (EXAMPLE_EK, EXAMPLE_AK))],
)
async def test_push_meter_over_a_raw_bridge(
    sim_factory: Factory, profile: str, baud: int, parity: str, keys: tuple[bytes, ...]
) -> None:
    """Pushes over a raw bridge at the push's own speed arrive as on a local port."""
    async with sim_factory(profile, tcp_port=0, fixed_baud=baud) as sim:
        push = await capture_push(sim.port, baud, parity, PushDecoder(*keys), 10.0)
    assert push.readout is not None and push.readout.readings["1.8.0"].unit == "Wh"


async def test_a_bridge_that_refuses(unused_tcp_port: int) -> None:
    for url in (f"socket://127.0.0.1:{unused_tcp_port}", f"rfc2217://127.0.0.1:{unused_tcp_port}"):
        with pytest.raises(PortUnavailableError) as caught:
            await read_meter(url, FAST)
        assert caught.value.reason is PortProblem.REFUSED
        assert caught.value.bridge == f"127.0.0.1:{unused_tcp_port}"
        key, placeholders = error_key(caught.value)
        assert key == "port_refused" and placeholders["bridge"] == f"127.0.0.1:{unused_tcp_port}"
        assert "refused the connection" in str(caught.value)


async def test_a_bridge_that_cannot_be_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    """No answer to the connection at all (a bridge that is off, behind a router that drops packets)."""

    async def never(*args: Any, **kwargs: Any) -> Any:
        await asyncio.Event().wait()

    monkeypatch.setattr(port_module, "CONNECT_TIMEOUT", 0.2)
    monkeypatch.setattr(asyncio.get_running_loop(), "create_connection", never)
    for url in ("socket://192.0.2.1:8888", "rfc2217://192.0.2.1:8888"):
        with pytest.raises(PortUnavailableError) as caught:
            await read_meter(url, FAST)
        assert caught.value.reason is PortProblem.UNREACHABLE, url
        assert error_key(caught.value)[0] == "port_unreachable"
        assert "192.0.2.1:8888" in str(caught.value)


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts and then says nothing: a bridge whose serial side is dead."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(30):
                await reader.read()  # until the client closes
        held.remove(writer)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()


async def test_a_bridge_that_accepts_then_says_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(port_module, "CONNECT_TIMEOUT", 0.3)
    async with silent_server() as tcp_port:
        bridge = f"127.0.0.1:{tcp_port}"
        # raw: nothing comes from the meter behind it
        with pytest.raises(NoAnswerError) as raw:
            await read_meter(f"socket://{bridge}", FAST)
        assert raw.value.bridge == bridge
        assert error_key(raw.value) == ("port_silent", {"port": bridge, "bridge": bridge, "detail": ""})
        # RFC 2217: the server never negotiates
        with pytest.raises(PortUnavailableError) as rfc2217:
            await read_meter(f"rfc2217://{bridge}", FAST)
        assert rfc2217.value.reason is PortProblem.SILENT
        assert error_key(rfc2217.value)[0] == "port_silent"


async def test_a_silent_local_port_is_still_the_head(sim_factory: Factory) -> None:
    """A meter that does not answer on a local port keeps the message about the head."""
    async with sim_factory("e450", fault="no_answer") as sim:
        with pytest.raises(NoAnswerError) as caught:
            await read_meter(sim.port, FAST)
    assert caught.value.bridge is None and error_key(caught.value)[0] == "no_answer"


async def test_a_bridge_dropping_mid_read_then_the_next_read(sim_factory: Factory) -> None:
    """The bridge resets the connection in the middle of the readout: a typed error naming the bridge; the next
    read connects again."""
    async with sim_factory("e450", tcp_port=0, fault="bridge_drop") as sim:
        with pytest.raises(PortUnavailableError) as caught:
            await read_meter(sim.port, FAST)
        assert caught.value.reason is PortProblem.DROPPED
        assert error_key(caught.value)[0] == "port_dropped"
        sim.fault = None
        readout = await read_meter(sim.port, FAST)
    assert readout.bcc is BccStatus.OK


def test_bridge_error_classification() -> None:
    url = "socket://meter.local:23"
    assert classify_os_error(url, socket.gaierror(-2, "Name or service not known")).reason is PortProblem.UNREACHABLE
    assert classify_os_error(url, OSError(errno.EHOSTUNREACH, "no route")).reason is PortProblem.UNREACHABLE
    assert classify_os_error(url, ConnectionResetError()).reason is PortProblem.DROPPED
    assert classify_os_error(url, OSError(errno.EIO, "socket closed by peer")).reason is PortProblem.DROPPED
    assert classify_os_error(url, OSError(errno.EBUSY, "busy")).reason is PortProblem.BUSY  # nothing bridge-like
    assert classify_os_error("/dev/ttyUSB0", OSError(errno.EIO, "io")).reason is PortProblem.IO
    assert bridge_of("rfc2217://10.0.0.5:4001?logging=debug") == "10.0.0.5:4001"
    assert bridge_of("/dev/ttyUSB0") is None and bridge_of("esphome://x") is None
    assert is_raw_bridge("TCP://h:1") and not is_raw_bridge("rfc2217://h:1") and is_rfc2217("rfc2217://h:1")


# --- a port that never finishes a step -----------------------------------------------------------------------


class Stuck:
    """A port (serialx's AsyncSerial, as far as the driver uses it) that never finishes ``step``."""

    def __init__(self, step: str) -> None:
        self.step = step
        self.closed = self.aborted = False
        self.transport = self

    async def _maybe_hang(self, step: str) -> None:
        if step == self.step:
            await asyncio.Event().wait()

    async def open(self) -> None:
        await self._maybe_hang("open")

    async def read(self, size: int) -> bytes:
        await self._maybe_hang("read")
        await asyncio.sleep(0.01)  # a byte now and then
        return b"x"

    async def write(self, data: bytes) -> None:
        await self._maybe_hang("write")

    async def flush(self) -> None:
        await self._maybe_hang("drain")

    async def reconfigure_port(self, **settings: Any) -> None:
        await self._maybe_hang("reconfigure")

    async def close(self) -> None:
        await self._maybe_hang("close")
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


class Script:
    """A machine that asks for these actions in turn, then is done."""

    def __init__(self, *actions: Action) -> None:
        self._actions = list(actions)

    def receive_data(self, data: bytes, now: float) -> None:
        pass

    def next_action(self, now: float) -> Action:
        return self._actions.pop(0) if self._actions else Done(Readout(None, (), BccStatus.ABSENT))


@pytest.mark.parametrize(
    ("step", "what"),
    [
        ("open", "opening the port"),
        ("write", "writing"),
        ("drain", "draining the output"),
        ("reconfigure", "changing the line to 9600 Bd"),
    ],
)
async def test_a_step_that_never_finishes_ends_the_read(monkeypatch: pytest.MonkeyPatch, step: str, what: str) -> None:
    """Each step has its deadline: the read ends with a typed error naming the step, and the port is closed."""
    for name in ("OPEN_TIMEOUT", "RECONFIGURE_TIMEOUT", "STEP_MARGIN"):
        monkeypatch.setattr(port_module, name, 0.1)
    stuck = Stuck(step)
    monkeypatch.setattr(port_module.serialx, "async_serial_for_url", lambda *args, **kwargs: stuck)
    script = Script(Send(b"/?!\r\n"), Drain(), Configure(9600), Wait(0.0))
    with pytest.raises(PortUnavailableError) as caught:
        await run_on_port("/dev/ttyUSB9", script)
    assert caught.value.reason is PortProblem.TIMEOUT and caught.value.detail == what
    assert error_key(caught.value) == (
        "port_timeout",
        {"port": "/dev/ttyUSB9", "detail": what, "bridge": "/dev/ttyUSB9"},
    )
    assert stuck.closed is (step != "open")  # an open that never finished has nothing to close


async def test_a_close_that_never_finishes_is_aborted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(port_module, "CLOSE_TIMEOUT", 0.1)
    stuck = Stuck("close")
    monkeypatch.setattr(port_module.serialx, "async_serial_for_url", lambda *args, **kwargs: stuck)
    result = await run_on_port("/dev/ttyUSB9", Script(Send(b"x")))
    assert isinstance(result, Readout) and stuck.aborted and not stuck.closed


async def test_a_read_as_a_whole_has_a_limit() -> None:
    """A line that keeps delivering bytes to a machine that keeps waiting: the read still ends."""

    class Endless(Script):
        def next_action(self, now: float) -> Action:
            return Wait(now + 60)

    with pytest.raises(ReadoutTimeoutError, match=r"did not end within 0\.2 s"):
        await run(Stuck("nothing"), Endless(), port="/dev/ttyUSB9", limit=0.2)


async def test_a_silent_push_port_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A push listener's read has a deadline too: a bridge's connection that went quiet is taken for dead."""
    for url, problem in (("socket://10.0.0.9:23", PortProblem.SILENT), ("/dev/ttyUSB9", PortProblem.IO)):
        with pytest.raises(PortUnavailableError) as caught:
            async for _ in read_pushes(Stuck("read"), PushDecoder(), port=url, silence=0.1):
                pass
        assert caught.value.reason is problem and "nothing received for 0.1 s" in caught.value.detail


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (the caller bounds the wait): the listener's counters have no event to wait for."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def run_listener(listener: PushListener, *checkpoints: int) -> list[int]:
    """Run ``listener`` until it has reconnected ``checkpoints[-1]`` times; the fd count at each checkpoint. A
    connection the listener dropped without closing it (closed only by the garbage collector) fails the test."""
    task = asyncio.ensure_future(listener.run())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            async with asyncio.timeout(60):
                counts = []
                for reconnects in checkpoints:
                    await until(lambda: listener.statistics.reconnects >= reconnects)  # noqa: B023
                    counts.append(_fds())
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        gc.collect()
    assert not [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    return counts


@pytest.fixture
def quick_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listener_module, "RECONNECT_DELAY", 0.01)
    monkeypatch.setattr(listener_module, "RECONNECT_MAX", 0.05)


@pytest.mark.usefixtures("quick_reconnect")
async def test_a_push_listener_gives_up_a_silent_bridge_and_leaves_no_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bridge whose connection stays up but carries nothing (its far end gone, the meter unplugged from it):
    the listener gives the connection up after the silence limit, closes it and connects again; the number of
    open file descriptors stays flat however often."""
    monkeypatch.setattr(listen_module, "PUSH_SILENCE", 0.05)
    async with silent_server() as tcp_port:
        listener = PushListener(f"socket://127.0.0.1:{tcp_port}", 2400, "E", PushDecoder())
        counts = await run_listener(listener, 4, 8, 12, 16)
    assert "said nothing: nothing received for 0.05 s" in (listener.statistics.last_error or "")
    assert max(counts) - min(counts) <= 2, counts  # a leak would add two per reconnect (both ends): 24 over the run


@pytest.mark.usefixtures("quick_reconnect")
async def test_a_push_listener_on_a_dropping_bridge_reconnects_and_leaves_no_socket(sim_factory: Factory) -> None:
    """A raw bridge that resets the connection in the middle of every push: the listener reconnects each time
    (backing off, reset by a push that decodes) and the number of open file descriptors stays flat."""
    async with sim_factory("e450-dlms", tcp_port=0, fixed_baud=2400, fault="bridge_drop") as sim:
        listener = PushListener(sim.port, 2400, "E", PushDecoder())
        task = asyncio.ensure_future(listener.run())
        try:
            async with asyncio.timeout(60):
                counts = []
                for reconnects in (4, 8, 12, 16):
                    await until(lambda: listener.statistics.reconnects >= reconnects)  # noqa: B023
                    counts.append(_fds())
                assert "closed the connection in the middle of the read" in (listener.statistics.last_error or "")
                assert listener.statistics.pushes == 0 and listener.reconnect_delay == 0.05  # backed off
                sim.fault = None  # the bridge is well again: pushes decode, the backoff starts over
                await until(lambda: listener.statistics.pushes >= 2)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert max(counts) - min(counts) <= 2, counts  # a leak would add one per reconnect: 12 over the run
    assert listener.latest is not None and not listener.connected


async def test_a_probe_that_cannot_end_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever hangs below the config flow's probe, each attempt ends, with an error the flow can show."""

    async def hang(*args: Any, **kwargs: Any) -> Any:
        await asyncio.Event().wait()

    monkeypatch.setattr(probe_module, "ATTEMPT_LIMIT", 0.1)
    monkeypatch.setattr(probe_module, "run_on_port", hang)
    outcome = await Probe(["/dev/ttyUSB9"], DetectConfig(FAST)).run()
    assert outcome.port is None
    assert isinstance(outcome.errors["/dev/ttyUSB9"], ReadoutTimeoutError)
    assert error_key(outcome.errors["/dev/ttyUSB9"])[0] == "readout_timeout"
