"""The serial port: open (exclusively), configure, close — always — and run a sans-IO machine over it.

serialx is Home Assistant's serial library; a path (``/dev/ttyUSB0``) or a URL (``socket://host:port``,
``rfc2217://host:port``) opens the same way. Both protocols use this module; nothing else in the wire package
touches a port.

No step awaits without a deadline (docs/architecture in the README): opening, a change of line settings, a write, a
drain and the close each have one, derived from the wire time of what they wait for; a read as a whole has
``READ_LIMIT``. A step that runs out ends the read with :class:`PortUnavailableError` (``timeout``), and the port
is closed (aborted, if it will not close).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import errno
import logging
import socket
from typing import Any, Final

import serialx
from serialx.common import SerialException, UnknownUriScheme
from serialx.descriptor_transport import DescriptorTransport
from serialx.platforms.serial_rfc2217 import RFC2217SerialTransport
from serialx.platforms.serial_rfc2217.types import Rfc2217Command, SetLinestateMaskCmd, SetModemstateMaskCmd

from .actions import Configure, Done, Drain, Machine, Send, Wait
from .bridges import bridge_of, is_rfc2217
from .errors import NoAnswerError, PortProblem, PortUnavailableError, ReadoutTimeoutError
from .models import LoadProfile, PushMeter, Readout

_LOGGER = logging.getLogger(__name__)
READ_CHUNK = 4096
INITIAL_BAUD = 300  # IEC 62056-21 sign-on speed: where a port opens unless told otherwise
CONNECT_TIMEOUT: Final = 5.0  # a bridge's TCP connection, and an RFC 2217 server's negotiation after it
OPEN_TIMEOUT: Final = 10.0  # opening, all told (a local port opens in an executor thread)
RECONFIGURE_TIMEOUT: Final = 5.0  # new line settings: tcsetattr, or three acknowledged RFC 2217 requests
MASK_ACK_WAIT: Final = 0.5  # RFC 2217 state-mask requests that some servers never answer (pyserial's PortManager)
STEP_MARGIN: Final = 2.0  # what a write or a drain may take beyond the wire time of the bytes it waits for
CLOSE_TIMEOUT: Final = 5.0
READ_LIMIT: Final = 900.0  # one read (or probe) as a whole: a 25 kB readout at 300 Bd, with every timeout
BITS_PER_CHAR: Final = 11  # start, 8 data (or 7 and parity), stop, and a spare: a byte's wire time, rounded up


def wire_time(size: int, baud: int) -> float:
    """Seconds ``size`` bytes take on the line at ``baud``."""
    return size * BITS_PER_CHAR / max(baud, 1)


class _NoNegotiation(SerialException):
    """The RFC 2217 server accepted the connection and then did not negotiate."""


class Rfc2217Transport(RFC2217SerialTransport):
    """serialx's RFC 2217 transport, for servers as they are: an unanswered state-mask request (pyserial's
    PortManager ignores both; ser2net answers) holds the open for ``MASK_ACK_WAIT`` only, and a server that
    accepts the connection but never negotiates is told apart from one that cannot be reached."""

    async def _connect(self, **kwargs: Any) -> None:
        try:
            await super()._connect(**kwargs)
        except TimeoutError as err:
            if self._tcp_transport is not None:  # connected: the negotiation ran out
                raise _NoNegotiation("no RFC 2217 negotiation") from err
            raise

    async def _send_and_wait(self, cmd: Rfc2217Command) -> Rfc2217Command:
        if not isinstance(cmd, SetLinestateMaskCmd | SetModemstateMaskCmd):
            return await super()._send_and_wait(cmd)
        try:
            async with asyncio.timeout(MASK_ACK_WAIT):
                return await super()._send_and_wait(cmd)
        except TimeoutError:
            _LOGGER.debug("RFC 2217 server left %s unanswered", type(cmd).__name__)
            return cmd


def classify_os_error(port: str, err: BaseException) -> PortUnavailableError:
    """Map what opening or using a port raised to a typed, actionable error."""
    if isinstance(err, PortUnavailableError):
        return err
    if isinstance(err, UnknownUriScheme):
        return PortUnavailableError(port, PortProblem.UNSUPPORTED, str(err))
    code = getattr(err, "errno", None)
    cause = err.__cause__ or err.__context__
    if code is None and isinstance(cause, OSError):
        code = cause.errno
    if bridge_of(port) is not None:
        bridge = _classify_bridge_error(port, err, cause, code)
        if bridge is not None:
            return bridge
    if isinstance(err, FileNotFoundError) or code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return PortUnavailableError(port, PortProblem.NOT_FOUND, str(err))
    if isinstance(err, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return PortUnavailableError(port, PortProblem.PERMISSION, str(err))
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "lock" in str(err).lower():
        return PortUnavailableError(port, PortProblem.BUSY, str(err))
    if code in (errno.ENOTTY, errno.EISDIR, errno.ENOTDIR):
        return PortUnavailableError(port, PortProblem.UNSUPPORTED, str(err))
    if isinstance(err, ConnectionRefusedError):
        return PortUnavailableError(port, PortProblem.NOT_FOUND, str(err))
    return PortUnavailableError(port, PortProblem.IO, str(err) or type(err).__name__)


def _classify_bridge_error(
    port: str, err: BaseException, cause: BaseException | None, code: int | None
) -> PortUnavailableError | None:
    """What went wrong with a network bridge, in its own words; ``None``: nothing bridge-specific."""
    causes = (err, cause)
    if isinstance(err, _NoNegotiation):
        return PortUnavailableError(port, PortProblem.SILENT, "no RFC 2217 negotiation")
    if any(isinstance(e, ConnectionRefusedError) for e in causes) or code == errno.ECONNREFUSED:
        return PortUnavailableError(port, PortProblem.REFUSED, str(err))
    unreachable = (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ETIMEDOUT, errno.EADDRNOTAVAIL)
    if any(isinstance(e, socket.gaierror | TimeoutError) for e in causes) or code in unreachable:
        return PortUnavailableError(port, PortProblem.UNREACHABLE, str(err) or "no answer to the connection")
    dropped = (errno.EIO, errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)
    if any(isinstance(e, ConnectionError) for e in causes) or code in dropped:
        return PortUnavailableError(port, PortProblem.DROPPED, str(err))
    return None


async def open_port(port: str, baud: int = INITIAL_BAUD, byte_size: int = 7, parity: str = "E") -> Any:
    """Open ``port`` (a device path or a serialx URL) exclusively, within ``OPEN_TIMEOUT``; typed errors only."""
    bridge = bridge_of(port) is not None
    serial = serialx.async_serial_for_url(
        port,
        transport_cls=Rfc2217Transport if is_rfc2217(port) else None,
        baudrate=baud,
        byte_size=byte_size,
        parity=parity,
        stopbits=1,
        exclusive=True,
        connect_timeout=CONNECT_TIMEOUT,  # a bridge's; serialx drops it for a local port
    )
    try:
        async with asyncio.timeout(OPEN_TIMEOUT):  # serialx releases what it opened when cancelled
            await serial.open()
    except TimeoutError as err:
        if bridge:  # the TCP connection (or an RFC 2217 negotiation) ran out
            raise classify_os_error(port, err) from err
        raise PortUnavailableError(port, PortProblem.TIMEOUT, "opening the port") from err
    except (OSError, SerialException, ValueError) as err:
        raise classify_os_error(port, err) from err
    return serial


async def close_port(serial: Any) -> None:
    """Close and wait; a vanished device (or a bridge that never acknowledges) must not leave the caller hanging."""
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await serial.close()
    except (OSError, SerialException, TimeoutError):
        serial.abort()
        _LOGGER.debug("Port did not close cleanly", exc_info=True)


async def reconfigure(serial: Any, action: Configure) -> None:
    """New line settings (the caller bounds the wait: ``RECONFIGURE_TIMEOUT``).

    A local serial port's reading is paused meanwhile: serialx sets the settings in an executor thread and then
    flushes the input while the loop keeps reading; a byte arriving meanwhile (an echoing head's copy of our ACK,
    noise) wakes the reader, the flush takes it, and the empty read that follows is taken for a hang-up (EIO).
    Paused, the flush just discards it. Only there: an RFC 2217 transport reads the server's acknowledgement of
    the new settings through the very connection a pause would stop (and a raw TCP socket has nothing to set)."""
    transport = serial.transport
    pause = isinstance(transport, DescriptorTransport)
    if pause:
        transport.pause_reading()
    try:
        await serial.reconfigure_port(baudrate=action.baud, byte_size=action.byte_size, parity=action.parity)
    finally:
        if pause and not transport.is_closing():
            transport.resume_reading()


async def _step[T](port: str, what: str, seconds: float, step: Awaitable[T]) -> T:
    """One awaited step on the port, within ``seconds``; running out is a typed error naming the step."""
    try:
        async with asyncio.timeout(seconds):
            return await step
    except TimeoutError as err:
        raise PortUnavailableError(port, PortProblem.TIMEOUT, what) from err


async def run(
    serial: Any,
    machine: Machine,
    *,
    port: str = "",
    clock: Callable[[], float] | None = None,
    baud: int = INITIAL_BAUD,
    limit: float = READ_LIMIT,
) -> Readout | PushMeter | LoadProfile:
    """Do what the machine asks until it is done, ``limit`` seconds at most; ``baud``: the line's speed now.
    Port errors become :class:`PortUnavailableError`; a silent bridge's :class:`NoAnswerError` names it."""
    try:
        async with asyncio.timeout(limit):
            return await _run(serial, machine, port, clock or asyncio.get_running_loop().time, baud)
    except TimeoutError as err:
        raise ReadoutTimeoutError(f"the read did not end within {limit:g} s") from err
    except NoAnswerError as err:
        err.bridge = bridge_of(port)
        raise
    except (OSError, SerialException) as err:
        raise classify_os_error(port, err) from err


async def _run(
    serial: Any, machine: Machine, port: str, now: Callable[[], float], baud: int
) -> Readout | PushMeter | LoadProfile:
    unsent = 0  # bytes written since the last drain: what a drain waits for
    while True:
        action = machine.next_action(now())
        if isinstance(action, Wait):
            timeout = action.deadline - now()
            if timeout <= 0:
                continue
            try:
                async with asyncio.timeout(timeout):
                    data = await serial.read(READ_CHUNK)
            except TimeoutError:
                continue
            if not data:  # end of stream: the adapter or the socket went away
                problem = PortProblem.DROPPED if bridge_of(port) else PortProblem.IO
                raise PortUnavailableError(port, problem, "the port closed during the read")
            machine.receive_data(data, now())
        elif isinstance(action, Send):
            unsent += len(action.data)
            await _step(port, "writing", STEP_MARGIN + wire_time(unsent, baud), serial.write(action.data))
        elif isinstance(action, Drain):
            await _step(port, "draining the output", STEP_MARGIN + wire_time(unsent, baud), serial.flush())
            unsent = 0
        elif isinstance(action, Configure):
            what = f"changing the line to {action.baud} Bd"
            await _step(port, what, RECONFIGURE_TIMEOUT, reconfigure(serial, action))
            baud = action.baud
        else:
            # a mode E handover (HdlcHandover) never leaves the DLMS client that signed on
            assert isinstance(action, Done) and isinstance(action.result, Readout | PushMeter | LoadProfile)
            return action.result


async def run_on_port(
    port: str,
    machine: Machine,
    baud: int = INITIAL_BAUD,
    byte_size: int = 7,
    parity: str = "E",
    *,
    limit: float = READ_LIMIT,
) -> Readout | PushMeter | LoadProfile:
    """Open ``port``, run ``machine`` over it (``limit`` seconds at most), close it whatever happens."""
    serial = await open_port(port, baud, byte_size, parity)
    try:
        return await run(serial, machine, port=port, baud=baud, limit=limit)
    finally:
        await close_port(serial)
