"""The simulated meter's line: a pty (or a TCP port) that carries bytes at the meter's baud rate.

On a pty the simulator sees the speed the client set (the master shares the slave's termios) and garbles its
output when that speed differs from its own, as a real optical link would. Over TCP nothing shows the client's
speed, so every byte arrives intact; unless the line is fixed (``fixed_baud``): then the TCP port is a raw bridge
whose serial side stays at that speed whatever the client asks, and whatever the meter sends at another speed
arrives as garbage (and what the client sends then is noise to the meter), as on a real bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import logging
import os
import select
import termios
import tty
from typing import Any

from .faults import FaultPlan

_LOGGER = logging.getLogger(__name__)

# Fast mode waits this long for the client's baud switch; generous, so that a busy event loop in a test (a cold
# Home Assistant start) cannot turn into a spurious garbled readout.
FAST_MODE_SWITCH_WAIT = 5.0
TCP_SWITCH_WAIT = 0.4
FAST_MODE_SETTLE = 0.02
CLOSE_WAIT = 5.0  # what closing the TCP side may take: a client that never lets go does not hold the simulator
WATCH_INTERVAL = 0.005  # how often the pty is checked for a client opening or closing it
# Two speeds no client uses, taken in turn (see Pty.park()); a new pty starts at B38400.
PARK_SPEEDS = (termios.B38400, termios.B57600)
SPEEDS: dict[int, int] = {
    baud: getattr(termios, f"B{baud}") for baud in (300, 600, 1200, 2400, 4800, 9600, 19200, 115200)
}
DROP_AFTER = 64  # bridge_drop: a message longer than this (a readout, a push; not an identification) breaks off
_GARBLE = bytes((0x80, 0xF8, 0xFE, 0x00, 0xE0, 0x78))


async def _closed(writer: asyncio.StreamWriter) -> None:
    """Close a client's connection and wait, within ``CLOSE_WAIT``, until it is."""
    writer.close()
    with contextlib.suppress(OSError, ConnectionError, TimeoutError):
        async with asyncio.timeout(CLOSE_WAIT):
            await writer.wait_closed()


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
        self._parked = PARK_SPEEDS[0]
        self.create()

    def create(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline while nobody has configured the port yet
        self.slave_name = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(master, False)
        self.master = master
        self._parked = PARK_SPEEDS[0]  # the park speed written last: a new pty's own speed counts as the first
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

    def attributes(self) -> list[Any]:
        """The line's termios, as the client set them (the master shares the slave's)."""
        return termios.tcgetattr(self.master)

    def speed(self) -> int:
        speed: int = self.attributes()[5]
        return speed

    def park(self, attrs: list[Any]) -> None:
        """Move the line to a speed no client uses.

        Why: a pty keeps only CS8 without parity, and glibc's tcsetattr (Debian's, at least) reports EINVAL when
        the line is the same after the call as before it while the parity or character size asked for is not in
        force. A reopen at the settings the last client left (7E1) would fail so: the next open must find something
        to change. Parked while a client is connected too (the simulator remembers the client's speed): a client
        that closes and reopens faster than the simulator can notice the close still finds the line parked.

        The two park speeds take turns. The park lands right after a client's tcsetattr, and may land between
        that call's write and its check (the client sets the line in a thread of its own): had the park restored
        the speed the line had before the call, the check would find nothing changed and fail the client's open
        or baud switch with EINVAL. The other park speed always differs from what the call found.

        ``attrs`` is what the caller has just read: read once, so that the write carries what was just seen."""
        self._parked = PARK_SPEEDS[1] if self._parked == PARK_SPEEDS[0] else PARK_SPEEDS[0]
        attrs = list(attrs)
        attrs[4] = attrs[5] = self._parked
        termios.tcsetattr(self.master, termios.TCSANOW, attrs)


class Line:
    """One client at a time, on a pty or a TCP port. ``baud`` is the meter's current rate; a session ends at 300."""

    def __init__(
        self,
        faults: FaultPlan,
        *,
        realtime: bool,
        link: str | None,
        tcp_port: int | None,
        fixed_baud: int | None = None,
    ) -> None:
        self.faults = faults
        self.fixed_baud = fixed_baud  # TCP only: a raw bridge's serial side, fixed at this speed
        self.realtime = realtime
        self.baud = 300
        self.home_baud = 300  # where the meter waits for the next client: 300 Bd for a sign-on, 9600 for direct HDLC
        self.connected = asyncio.Event()
        self.port = ""  # the path or URL for the client, once open
        self._link = link
        self._tcp_port = tcp_port
        self._pty: Pty | None = None
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._queue: asyncio.Queue[Received] = asyncio.Queue()
        self._reading = False
        self._client_speed: int | None = None  # what the client set, while the line is parked (Pty.park)

    @property
    def on_pty(self) -> bool:
        return self._pty is not None

    async def open(self) -> None:
        if self._tcp_port is not None:
            self._server = await asyncio.start_server(self._on_tcp_client, "127.0.0.1", self._tcp_port)
            port = self._server.sockets[0].getsockname()[1]
            self.port = f"socket://127.0.0.1:{port}"
        else:
            self._pty = Pty(self._link)
            self.port = self._pty.path

    async def close(self) -> None:
        if self._writer is not None:
            await _closed(self._writer)
            self._writer = None
        if self._server is not None:
            self._server.close()
            # a connection accepted as the server closes (a client reconnecting after a drop) has no handler left to
            # close it: without this its transport would detach from the closed server when collected, an
            # exception in __del__ (asyncio's Server.wait_closed waits for the clients, 3.13+)
            self._server.abort_clients()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_WAIT):
                    await self._server.wait_closed()
        if self._pty is not None:
            self._remove_reader()
            self._pty.destroy()

    # --- the pty ----------------------------------------------------------------------------------------------

    async def watch(self) -> None:
        """Follow the client opening and closing the pty; read while it is open. Runs until cancelled."""
        assert self._pty is not None
        while True:
            is_open = self._pty.master >= 0 and self._pty.client_open()
            if is_open and not self._reading:
                asyncio.get_running_loop().add_reader(self._pty.master, self._on_pty_readable)
                self._reading = True
                self.connected.set()
            elif self._reading and not is_open:
                self._on_client_closed()
            if is_open:
                self._note_client_speed()
            await asyncio.sleep(WATCH_INTERVAL)

    def unplug(self) -> None:
        """The adapter disappears: the pty closes (the client's fd hangs up) and the link path vanishes."""
        assert self._pty is not None
        _LOGGER.info("simulator: unplugging %s", self._pty.path)
        self._remove_reader()
        self.connected.clear()
        self._pty.destroy()

    def replug(self) -> None:
        """The adapter comes back, at the same link path (a new pty behind it)."""
        assert self._pty is not None
        self._pty.create()
        self.baud = self.home_baud
        self._client_speed = None
        _LOGGER.info("simulator: replugged at %s", self._pty.path)

    def _note_client_speed(self) -> None:
        """Remember the speed the client set, and park the line again (see Pty.park)."""
        assert self._pty is not None
        with contextlib.suppress(termios.error, OSError):
            attrs = self._pty.attributes()
            if attrs[5] not in PARK_SPEEDS:
                self._client_speed = attrs[5]
                self._pty.park(attrs)

    def _on_client_closed(self) -> None:
        """Park the line at once, unless it is parked already: a client may reopen right away (see Pty.park).
        A line left parked is not written again: a new client may be setting it up at this very moment, and a
        park then would overwrite the speed it sets before the simulator could see it."""
        self._remove_reader()
        self.connected.clear()
        self.baud = self.home_baud
        self._client_speed = None
        if self._pty is not None and self._pty.master >= 0:
            with contextlib.suppress(termios.error, OSError):
                attrs = self._pty.attributes()
                if attrs[5] not in PARK_SPEEDS:
                    self._pty.park(attrs)

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

    # --- TCP --------------------------------------------------------------------------------------------------

    async def _on_tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:  # one client at a time, like a serial port
            await _closed(writer)
            return
        self._writer = writer
        self.connected.set()
        try:
            while data := await reader.read(4096):
                self._deliver(data)
        except (ConnectionError, OSError):
            pass
        finally:
            self.connected.clear()
            self._writer = None
            self.baud = self.home_baud
            # gone before the server closes: a transport left to the garbage collector after it detaches from a
            # closed server, which Python 3.14's asyncio reports as an exception in __del__
            await _closed(writer)

    # --- speed matching ---------------------------------------------------------------------------------------

    def _speed_matches(self) -> bool:
        return self._client_speed_is(self.baud)

    def _client_speed_is(self, baud: int) -> bool:
        if self._pty is None:
            return self.fixed_baud is None or baud == self.fixed_baud
        if self._pty.master < 0:
            return True
        try:
            speed = self._pty.speed()
        except termios.error:
            return False
        # a parked line carries the speed the client set last; anything else is a speed the client just set
        return (self._client_speed if speed in PARK_SPEEDS else speed) == SPEEDS.get(baud)

    async def wait_for_client_speed(self, baud: int) -> None:
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

    # --- receiving and sending --------------------------------------------------------------------------------

    def _deliver(self, data: bytes) -> None:
        if self.faults.echoes():
            self._write_now(data)  # the optical head reflects what the client sends
        self._queue.put_nowait(Received(data, self._speed_matches(), asyncio.get_running_loop().time()))

    async def _next_received(self, deadline: float | None) -> Received | None:
        """The next chunk that arrives (at any speed) before ``deadline``; ``None`` when none does."""
        loop = asyncio.get_running_loop()
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), remaining)
        except TimeoutError:
            return None

    async def read_line(self, timeout: float | None) -> bytes | None:
        """A line received at the right speed, ending in LF; ``None`` on timeout."""
        line = bytearray()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while (received := await self._next_received(deadline)) is not None:
            if not received.speed_ok:
                line.clear()  # the client talks at another speed: the meter sees noise
                continue
            for byte in received.data:
                line.append(byte & 0x7F)
                if byte & 0x7F == 0x0A:
                    if self.realtime:  # the line only reached the meter after its wire time
                        await asyncio.sleep(max(0.0, received.at + len(line) * 10 / self.baud - loop.time()))
                    return bytes(line)
        return None

    async def receive(self, timeout: float | None) -> bytes | None:
        """What arrived at the meter's speed (a chunk at another speed is noise to it, dropped); ``None`` when
        nothing did in ``timeout``. In realtime mode the bytes count as arrived once their wire time is over."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while (received := await self._next_received(deadline)) is not None:
            if not received.speed_ok:
                continue
            if self.realtime:
                await asyncio.sleep(max(0.0, received.at + len(received.data) * 10 / self.baud - loop.time()))
            return received.data
        return None

    def _write_now(self, data: bytes) -> None:
        if self._pty is not None:
            if self._pty.master < 0:
                return
            with contextlib.suppress(OSError):
                os.write(self._pty.master, data)
        elif self._writer is not None:
            self._writer.write(data)

    async def transmit(self, data: bytes, *, stop_after: int | None = None) -> None:
        """Send at the meter's baud: paced at wire speed in realtime mode, garbled if the client's speed differs."""
        if stop_after is not None:
            data = data[:stop_after]
        drop = self.faults.drops_connection() and self._writer is not None and len(data) > DROP_AFTER
        if drop:
            data = data[: len(data) // 2]
        loop = asyncio.get_running_loop()
        char_time = 10 / self.baud
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
        if drop and self._writer is not None:  # the bridge resets the connection in the middle of the message
            self._writer.transport.abort()
