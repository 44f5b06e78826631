"""A simulated IEC 62056-21 meter (and DLMS push meter) on a pty or a TCP port.

The meter side of the protocol is written here independently of the client's session logic: it shares only the
frame builders and the BCC. On a pty it sees the speed the client set (the master shares the slave's termios)
and garbles its output when that speed differs from its own, as a real optical link would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
from datetime import datetime
import logging
import os
from pathlib import Path
import random
import select
import termios
import tty

from custom_components.e450.iec62056.frames import BAUD_MODE_C, bcc

from .dlms_push import push_frame
from .profiles import PROFILES, MeterState, Profile

_LOGGER = logging.getLogger(__name__)

FAULTS = (
    "no_answer",
    "garbage",
    "bad_bcc",
    "truncated",
    "slow",
    "echo",
    "drop_after_ident",
    "wrong_baud",
    "unplug",
    "meter_reset",
    "intermittent",
)
INTERMITTENT_FAULTS = ("no_answer", "garbage", "bad_bcc", "truncated", "drop_after_ident", "wrong_baud", "echo")
OPTION_SELECT_TIMEOUT = 2.2  # tt upper bound: how long the meter waits for the ACK
SLOW_REACTION = 1.5
# Fast mode waits this long for the client's baud switch; generous, so that a busy event loop in a test (a cold
# Home Assistant start) cannot turn into a spurious garbled readout.
FAST_MODE_SWITCH_WAIT = 5.0
TCP_SWITCH_WAIT = 0.4
FAST_MODE_SETTLE = 0.02
PARK_SPEED = termios.B38400  # see Pty.park()
SPEEDS = {
    300: termios.B300,
    600: termios.B600,
    1200: termios.B1200,
    2400: termios.B2400,
    4800: termios.B4800,
    9600: termios.B9600,
    19200: termios.B19200,
}
FROZEN_TIME = datetime(2026, 11, 28, 12, 0, 0)
_GARBLE = bytes((0x80, 0xF8, 0xFE, 0x00, 0xE0, 0x78))


@dataclass
class Received:
    data: bytes
    speed_ok: bool
    at: float


class Pty:
    """A pty whose slave is the simulated serial port. Tracks whether a client has it open."""

    def __init__(self, link: str | None) -> None:
        self.link = link
        self.master = -1
        self.slave_name = ""
        self.create()

    def create(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline while nobody has configured the port yet
        self.slave_name = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(master, False)
        self.master = master
        if self.link:
            tmp = f"{self.link}.tmp{os.getpid()}"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(self.slave_name, tmp)
            os.replace(tmp, self.link)

    def destroy(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
        if self.link:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.link)

    @property
    def path(self) -> str:
        return self.link or self.slave_name

    def client_open(self) -> bool:
        poller = select.poll()
        poller.register(self.master, select.POLLIN)
        return not any(event & select.POLLHUP for _, event in poller.poll(0))

    def speed(self) -> int:
        speed: int = termios.tcgetattr(self.master)[5]
        return speed

    def park(self) -> None:
        """Move the line to a speed no client uses. On a pty, a tcsetattr that changes nothing (a reopen at the
        settings the last client left, 7E1 or 8E1) fails with EINVAL, so the next open must find something to
        change. Parked while a client is connected too (the simulator remembers the client's speed): a client
        that closes and reopens faster than the simulator can notice the close still finds the line parked."""
        attrs = termios.tcgetattr(self.master)
        attrs[4] = attrs[5] = PARK_SPEED
        termios.tcsetattr(self.master, termios.TCSANOW, attrs)


class MeterSimulator:
    """Serve one profile. Use ``async with`` (or start/stop); ``port`` is the path or URL for the client."""

    def __init__(
        self,
        profile: str | Profile = "e450",
        *,
        fault: str | None = None,
        realtime: bool = False,
        link: str | None = None,
        tcp_port: int | None = None,
        seed: int = 1,
        unplug_every: float = 20.0,
        unplug_for: float = 5.0,
        address: str = "",
        frozen: bool = False,
    ) -> None:
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
        self.fault = fault
        self.realtime = realtime
        self.state = MeterState(seed=seed)
        self.rng = random.Random(seed)
        self.address = address
        self.frozen = frozen  # values and clock stand still: reproducible readouts for snapshot tests
        self.unplug_every = unplug_every
        self.unplug_for = unplug_for
        self.readouts = 0
        self.requests = 0
        self._link = link
        self._tcp_port = tcp_port
        self._pty: Pty | None = None
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._queue: asyncio.Queue[Received] = asyncio.Queue()
        self._baud = 300
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()
        self._reading = False
        self._client_speed: int | None = None  # what the client set, while the line is parked (Pty.park)
        self._current_fault: str | None = fault
        self._reset_done = False
        self._invocation_counter = 0x00218000
        self.port = ""

    # --- lifecycle --------------------------------------------------------------------------------------------

    async def __aenter__(self) -> MeterSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._tcp_port is not None:
            self._server = await asyncio.start_server(self._on_tcp_client, "127.0.0.1", self._tcp_port)
            port = self._server.sockets[0].getsockname()[1]
            self.port = f"socket://127.0.0.1:{port}"
        else:
            self._pty = Pty(self._link)
            self.port = self._pty.path
            self._spawn(self._watch_pty())
            if self.fault == "unplug":
                self._spawn(self._unplug_cycle())
        self._spawn(self._serve())

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await self._writer.wait_closed()
            self._writer = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._pty is not None:
            self._remove_reader()
            self._pty.destroy()

    def _spawn(self, coro: Awaitable[None]) -> None:
        self._tasks.append(asyncio.ensure_future(coro))

    # --- transports -------------------------------------------------------------------------------------------

    async def _watch_pty(self) -> None:
        """Follow the client opening and closing the pty; read while it is open."""
        assert self._pty is not None
        while True:
            is_open = self._pty.master >= 0 and self._pty.client_open()
            if is_open and not self._reading:
                asyncio.get_running_loop().add_reader(self._pty.master, self._on_pty_readable)
                self._reading = True
                self._connected.set()
            elif self._reading and not is_open:
                self._on_client_closed()
            if is_open:
                self._note_client_speed()
            await asyncio.sleep(0.005)

    def _note_client_speed(self) -> None:
        """Remember the speed the client set, and park the line again (see Pty.park)."""
        assert self._pty is not None
        with contextlib.suppress(termios.error, OSError):
            speed = self._pty.speed()
            if speed != PARK_SPEED:
                self._client_speed = speed
                self._pty.park()

    def _on_client_closed(self) -> None:
        """Park the line at once: a client may reopen right away (see Pty.park)."""
        self._remove_reader()
        self._connected.clear()
        self._baud = 300
        self._client_speed = None
        if self._pty is not None and self._pty.master >= 0:
            self._pty.park()

    def _remove_reader(self) -> None:
        if self._reading and self._pty is not None and self._pty.master >= 0:
            asyncio.get_running_loop().remove_reader(self._pty.master)
        self._reading = False

    def _on_pty_readable(self) -> None:
        assert self._pty is not None
        try:
            data = os.read(self._pty.master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: the client closed the port
            self._on_client_closed()
            return
        if data:
            self._deliver(data)

    def _deliver(self, data: bytes) -> None:
        if self._current_fault == "echo":
            self._write_now(data)  # the optical head reflects what the client sends
        self._queue.put_nowait(Received(data, self._speed_matches(), asyncio.get_running_loop().time()))

    async def _on_tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:  # one client at a time, like a serial port
            writer.close()
            return
        self._writer = writer
        self._connected.set()
        try:
            while data := await reader.read(4096):
                self._deliver(data)
        except (ConnectionError, OSError):
            pass
        finally:
            self._connected.clear()
            self._writer = None
            self._baud = 300
            writer.close()

    def _speed_matches(self) -> bool:
        return self._client_speed_is(self._baud)

    def _client_speed_is(self, baud: int) -> bool:
        if self._pty is None or self._pty.master < 0:
            return True
        try:
            speed = self._pty.speed()
        except termios.error:
            return False
        # a parked line carries the speed the client set last; anything else is a speed the client just set
        return (self._client_speed if speed == PARK_SPEED else speed) == SPEEDS.get(baud)

    def _write_now(self, data: bytes) -> None:
        if self._pty is not None:
            if self._pty.master < 0:
                return
            with contextlib.suppress(OSError):
                os.write(self._pty.master, data)
        elif self._writer is not None:
            self._writer.write(data)

    async def _transmit(self, data: bytes, *, stop_after: int | None = None) -> None:
        """Send at the meter's baud: paced at wire speed in realtime mode, garbled if the client's speed differs."""
        if stop_after is not None:
            data = data[:stop_after]
        loop = asyncio.get_running_loop()
        char_time = 10 / self._baud
        chunk = max(1, int(0.02 / char_time)) if self.realtime else 256
        start = loop.time()
        for offset in range(0, len(data), chunk):
            piece = data[offset : offset + chunk]
            if self.realtime:  # a character is complete at the receiver when its stop bit has arrived
                await asyncio.sleep(max(0.0, start + (offset + len(piece)) * char_time - loop.time()))
            else:
                await asyncio.sleep(0)
            if not self._speed_matches():
                piece = bytes(_GARBLE[(offset + i) % len(_GARBLE)] for i in range(len(piece)))
            self._write_now(piece)

    # --- the meter --------------------------------------------------------------------------------------------

    async def _serve(self) -> None:
        mode = self.profile.mode
        if mode in ("D", "dlms"):
            await self._push_loop()
        else:
            await self._answer_loop()

    async def _read_line(self, timeout: float | None) -> bytes | None:
        """A line received at the right speed, ending in LF; ``None`` on timeout."""
        line = bytearray()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return None
            try:
                received = await asyncio.wait_for(self._queue.get(), remaining)
            except TimeoutError:
                return None
            if not received.speed_ok:
                line.clear()  # the client talks at another speed: the meter sees noise
                continue
            for byte in received.data:
                line.append(byte & 0x7F)
                if byte & 0x7F == 0x0A:
                    if self.realtime:  # the line only reached the meter after its wire time
                        await asyncio.sleep(max(0.0, received.at + len(line) * 10 / self._baud - loop.time()))
                    return bytes(line)

    def _reaction(self) -> float:
        if self._current_fault == "slow":
            return SLOW_REACTION
        if self.realtime:
            return self.profile.reaction
        return min(self.profile.reaction, 0.01)

    def _pick_fault(self) -> None:
        if self.fault == "intermittent":
            self._current_fault = self.rng.choice(INTERMITTENT_FAULTS) if self.rng.random() < 0.35 else None
        else:
            self._current_fault = self.fault

    async def _answer_loop(self) -> None:
        while True:
            line = await self._read_line(None)
            if line is None or not line.startswith(b"/?") or not line.rstrip(b"\r\n").endswith(b"!"):
                continue
            address = line[2:].rstrip(b"\r\n")[:-1].decode("ascii", "replace")
            if address and self.address and address != self.address:
                continue  # addressed to another meter on the bus
            self.requests += 1
            self._pick_fault()
            await self._answer_request()
            self._baud = 300

    async def _answer_request(self) -> None:
        fault = self._current_fault
        if fault == "no_answer":
            return
        await asyncio.sleep(self._reaction())
        if fault == "garbage":
            await self._transmit(bytes(self.rng.randrange(0x20, 0x7F) for _ in range(48)))
            return
        await self._transmit(b"/" + self.profile.identification.encode("ascii") + b"\r\n")
        if fault == "drop_after_ident":
            return
        profile = self.profile
        if profile.mode == "A" or profile.sends_without_ack:
            await asyncio.sleep(self._reaction())
            await self._send_readout()
            return
        if profile.mode == "B":
            await asyncio.sleep(self._reaction())
            await self._wait_for_client_speed(profile.max_baud)
            self._baud = profile.max_baud
            await self._send_readout()
            return
        ack = await self._read_line(OPTION_SELECT_TIMEOUT)
        if ack is None or len(ack) < 6 or ack[0] != 0x06:
            return  # E350: "without ACK no data is sent"
        baud_char, mode_char = chr(ack[2]), chr(ack[3])
        baud = BAUD_MODE_C.get(baud_char)
        if baud is None or baud > profile.max_baud or mode_char != "0":
            await self._transmit(b"\x15")  # NAK: option not supported
            return
        await asyncio.sleep(self._reaction())
        await self._wait_for_client_speed(baud)
        if fault == "wrong_baud" and baud != 300:
            baud //= 2  # the meter switches to another rate than the one it acknowledged
        self._baud = baud
        await self._send_readout()

    async def _wait_for_client_speed(self, baud: int) -> None:
        """Fast mode only: hold the data until the client has switched, so fast runs stay deterministic. In
        realtime mode the meter keeps real timing and a late switch garbles the start of the readout."""
        if self.realtime:
            return
        if self._pty is None:
            # over TCP nothing shows the client's speed: keep a real meter's timing (ACK on the wire, then tr)
            await asyncio.sleep(TCP_SWITCH_WAIT)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FAST_MODE_SWITCH_WAIT
        while not self._client_speed_is(baud) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        # the client flushes its buffers right after setting the speed (serialx does tcflush after tcsetattr):
        # data sent in between would be discarded, so give the switch a moment to complete, as tr would
        await asyncio.sleep(FAST_MODE_SETTLE)

    def _now(self) -> datetime:
        return FROZEN_TIME if self.frozen else datetime.now()

    def _advance(self) -> None:
        if not self.frozen:
            self.state.advance(asyncio.get_running_loop().time())

    def _readout_block(self) -> bytes:
        now = self._now()
        self._advance()
        if self._current_fault == "meter_reset" and self.readouts >= 2 and not self._reset_done:
            self.state.reset_energy()
            self._reset_done = True
        lines = self.profile.lines(self.state, now)
        return "".join(f"{line}\r\n" for line in lines).encode("ascii") + b"!\r\n"

    async def _send_readout(self) -> None:
        block = self._readout_block() + b"\x03"
        check = bcc(block)
        if self._current_fault == "bad_bcc":
            check ^= 0x21
        message = b"\x02" + block + bytes([check])
        stop_after = len(message) // 2 if self._current_fault == "truncated" else None
        await self._transmit(message, stop_after=stop_after)
        self.readouts += 1

    async def _push_loop(self) -> None:
        profile = self.profile
        interval = profile.push_interval if self.realtime else min(profile.push_interval, 0.5)
        self._baud = profile.push_baud
        while True:
            await self._connected.wait()
            self._baud = profile.push_baud
            self._pick_fault()
            if self._current_fault != "no_answer":
                if profile.mode == "D":
                    telegram = b"/" + profile.identification.encode("ascii") + b"\r\n\r\n" + self._readout_block()
                else:
                    self._advance()
                    if self._current_fault == "meter_reset" and self.readouts >= 2 and not self._reset_done:
                        self.state.reset_energy()
                        self._reset_done = True
                    self._invocation_counter += 1
                    telegram = push_frame(
                        self.state,
                        self._now(),
                        self._invocation_counter,
                        layout=profile.dlms_layout,
                        security=profile.dlms_security,
                    )
                    if self._current_fault in ("garbage", "bad_bcc"):  # line noise: junk, or a bit flipped in flight
                        middle = len(telegram) // 2
                        telegram = (
                            bytes(self.rng.randrange(256) for _ in range(16)) + telegram
                            if self._current_fault == "garbage"
                            else telegram[:middle] + bytes([telegram[middle] ^ 0x10]) + telegram[middle + 1 :]
                        )
                stop_after = len(telegram) // 2 if self._current_fault == "truncated" else None
                await self._transmit(telegram, stop_after=stop_after)
                self.readouts += 1
            await asyncio.sleep(interval)

    def unplug(self) -> None:
        """The adapter disappears: the pty closes (the client's fd hangs up) and the link path vanishes."""
        assert self._pty is not None
        _LOGGER.info("simulator: unplugging %s", self._pty.path)
        self._remove_reader()
        self._connected.clear()
        self._pty.destroy()

    def replug(self) -> None:
        """The adapter comes back, at the same link path (a new pty behind it)."""
        assert self._pty is not None
        self._pty.create()
        self._baud = 300
        self._client_speed = None
        _LOGGER.info("simulator: replugged at %s", self._pty.path)

    async def _unplug_cycle(self) -> None:
        while True:
            await asyncio.sleep(self.unplug_every)
            self.unplug()
            await asyncio.sleep(self.unplug_for)
            self.replug()


async def serve_forever(simulator: MeterSimulator, on_ready: Callable[[str], None]) -> None:
    """Run until cancelled (the command line's main loop)."""
    async with simulator:
        on_ready(simulator.port)
        await asyncio.Event().wait()


def default_link(name: str) -> Path:
    return Path(f"/tmp/e450-sim-{name}")
