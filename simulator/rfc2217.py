"""An RFC 2217 server in front of the simulated meter's pty, as ser2net is in front of a USB head.

Each TCP client gets the device opened for it (and closed when it leaves), one client at a time; the speed it
asks for is set on the device with termios, so the simulated meter sees it exactly as it sees a local client's.
Every COM-PORT-OPTION request is acknowledged, as ser2net does; ``answer_masks=False`` leaves the two state-mask
requests unanswered, as pyserial's ``serial.rfc2217.PortManager`` does (a client must not wait for them forever).
Data bits, parity and stop bits are acknowledged but not set: the pty carries 8N1 whatever is asked (see
transport.Pty), and the simulator judges a line by its speed alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import termios
import tty

from .transport import CLOSE_WAIT, SPEEDS

_LOGGER = logging.getLogger(__name__)

IAC, SE, SB, WILL, WONT, DO, DONT = 255, 240, 250, 251, 252, 253, 254
BINARY, SGA, COM_PORT_OPTION = 0, 3, 44
SET_BAUDRATE, SET_LINESTATE_MASK, SET_MODEMSTATE_MASK = 1, 10, 11
SERVER_OFFSET = 100  # a server's answer to request n is n + 100 (RFC 2217 §3)
ACCEPTED = frozenset({BINARY, SGA, COM_PORT_OPTION})


class Rfc2217Server:
    """Serve ``device`` (a path) on 127.0.0.1:``port`` (0 picks one); ``url`` once started."""

    def __init__(self, device: str, port: int = 0, *, answer_masks: bool = True) -> None:
        self.device = device
        self.answer_masks = answer_masks
        self.url = ""
        self.connections = 0  # accepted clients, for tests
        self._port = port
        self._server: asyncio.Server | None = None
        self._busy = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port)
        self.url = f"rfc2217://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.close_clients()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_WAIT):
                    await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._busy:  # one client at a time, like the serial port behind it
            writer.close()
            return
        self._busy = True
        self.connections += 1
        session: _Session | None = None
        try:
            session = _Session(self.device, writer, answer_masks=self.answer_masks)
            while data := await reader.read(4096):
                session.from_client(data)
        except (ConnectionError, OSError) as err:
            _LOGGER.debug("rfc2217 bridge: client gone (%s)", err)
        finally:
            if session is not None:
                session.close()
            writer.close()
            self._busy = False


class _Session:
    """One client's connection: the telnet stream in, the device's bytes out."""

    def __init__(self, device: str, writer: asyncio.StreamWriter, *, answer_masks: bool) -> None:
        self._writer = writer
        self._answer_masks = answer_masks
        self._fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self._fd)
        self._set_baud(300)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._fd, self._from_device)
        self._pending = bytearray()  # an incomplete telnet command carried to the next chunk
        self._ours: set[int] = set()  # options we agreed to perform (WILL)
        self._theirs: set[int] = set()  # options we agreed the client performs (DO)

    def close(self) -> None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    def _set_baud(self, baud: int) -> None:
        speed = SPEEDS.get(baud)
        if speed is None:
            return
        attrs = termios.tcgetattr(self._fd)
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(self._fd, termios.TCSANOW, attrs)

    def _from_device(self) -> None:
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return
        except OSError:  # the device went away (an unplug): so does the client's connection
            self.close()
            self._writer.close()
            return
        self._send(data.replace(b"\xff", b"\xff\xff"))

    def from_client(self, data: bytes) -> None:
        buffer = self._pending + data
        out = bytearray()
        i = 0
        while i < len(buffer):
            byte = buffer[i]
            if byte != IAC:
                out.append(byte)
                i += 1
                continue
            used = self._command(buffer, i, out)
            if used == 0:  # incomplete: wait for the rest
                break
            i += used
        self._pending = buffer[i:]
        if out and self._fd >= 0:
            os.write(self._fd, bytes(out))

    def _command(self, buffer: bytearray, i: int, out: bytearray) -> int:
        """Handle the telnet command at ``buffer[i]`` (an IAC); the bytes used, 0 when it is incomplete."""
        if i + 1 >= len(buffer):
            return 0
        kind = buffer[i + 1]
        if kind == IAC:
            out.append(IAC)
            return 2
        if kind in (WILL, WONT, DO, DONT):
            if i + 2 >= len(buffer):
                return 0
            self._negotiate(kind, buffer[i + 2])
            return 3
        if kind == SB:
            end = buffer.find(bytes((IAC, SE)), i + 2)
            if end < 0:
                return 0
            self._subnegotiation(bytes(buffer[i + 2 : end]).replace(b"\xff\xff", b"\xff"))
            return end + 2 - i
        return 2  # a command RFC 2217 does not use

    def _negotiate(self, kind: int, option: int) -> None:
        """Answer a request that changes an option's state; one that confirms it is not answered (RFC 854's rule,
        or the two sides would echo each other's confirmations forever)."""
        if kind in (WILL, DO):
            agreed = self._theirs if kind == WILL else self._ours
            if option in agreed:
                return
            if option in ACCEPTED:
                agreed.add(option)
                self._send(bytes((IAC, DO if kind == WILL else WILL, option)))
            else:
                self._send(bytes((IAC, DONT if kind == WILL else WONT, option)))
        else:
            (self._theirs if kind == WONT else self._ours).discard(option)

    def _subnegotiation(self, payload: bytes) -> None:
        if len(payload) < 2 or payload[0] != COM_PORT_OPTION:
            return
        command, value = payload[1], payload[2:]
        if command in (SET_LINESTATE_MASK, SET_MODEMSTATE_MASK) and not self._answer_masks:
            return  # what pyserial's PortManager does
        if command == SET_BAUDRATE and len(value) == 4:
            (baud,) = struct.unpack("!I", value)
            if baud:
                self._set_baud(baud)
        answer = bytes((COM_PORT_OPTION, command + SERVER_OFFSET)) + value
        self._send(bytes((IAC, SB)) + answer.replace(b"\xff", b"\xff\xff") + bytes((IAC, SE)))

    def _send(self, data: bytes) -> None:
        if not self._writer.is_closing():  # a client that has gone gets nothing more
            self._writer.write(data)
