"""The serial port: open (exclusively), configure, close — always — and run a sans-IO machine over it.

serialx is Home Assistant's serial library; a path (``/dev/ttyUSB0``) or a URL (``socket://host:port``) opens the
same way. Both protocols use this module; nothing else in the wire package touches a port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import errno
import logging
from typing import Any

import serialx
from serialx.common import SerialException, UnknownUriScheme

from .actions import Configure, Done, Drain, Machine, Send, Wait
from .errors import PortProblem, PortUnavailableError
from .models import LoadProfile, PushMeter, Readout

_LOGGER = logging.getLogger(__name__)
READ_CHUNK = 4096
INITIAL_BAUD = 300  # IEC 62056-21 sign-on speed: where a port opens unless told otherwise
CLOSE_TIMEOUT = 5.0


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


async def open_port(port: str, baud: int = INITIAL_BAUD, byte_size: int = 7, parity: str = "E") -> Any:
    """Open ``port`` (a device path or a serialx URL) exclusively; typed errors only."""
    serial = serialx.async_serial_for_url(
        port, baudrate=baud, byte_size=byte_size, parity=parity, stopbits=1, exclusive=True
    )
    try:
        await serial.open()
    except (OSError, SerialException, ValueError) as err:
        raise classify_os_error(port, err) from err
    return serial


async def close_port(serial: Any) -> None:
    """Close and wait; a vanished device must not leave the caller hanging."""
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await serial.close()
    except (OSError, SerialException, TimeoutError):
        serial.abort()
        _LOGGER.debug("Port did not close cleanly", exc_info=True)


async def reconfigure(serial: Any, action: Configure) -> None:
    """New line settings with reading paused: serialx sets them in an executor thread and then flushes the input
    while the loop keeps reading; a byte arriving meanwhile (an echoing head's copy of our ACK, noise) wakes the
    reader, the flush takes it, and the empty read that follows is taken for a hang-up (EIO). Paused, the flush
    just discards it."""
    transport = serial.transport
    try:
        transport.pause_reading()
    except NotImplementedError:  # serialx's ESPHome/Pyodide transports cannot pause
        await serial.reconfigure_port(baudrate=action.baud, byte_size=action.byte_size, parity=action.parity)
        return
    try:
        await serial.reconfigure_port(baudrate=action.baud, byte_size=action.byte_size, parity=action.parity)
    finally:
        if not transport.is_closing():
            transport.resume_reading()


async def run(
    serial: Any, machine: Machine, *, port: str = "", clock: Callable[[], float] | None = None
) -> Readout | PushMeter | LoadProfile:
    """Do what the machine asks until it is done. Port errors become :class:`PortUnavailableError`."""
    now = clock or asyncio.get_running_loop().time
    try:
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
                    raise PortUnavailableError(port, PortProblem.IO, "the port closed during the read")
                machine.receive_data(data, now())
            elif isinstance(action, Send):
                await serial.write(action.data)
            elif isinstance(action, Drain):
                await serial.flush()
            elif isinstance(action, Configure):
                await reconfigure(serial, action)
            else:
                # a mode E handover (HdlcHandover) never leaves the DLMS client that signed on
                assert isinstance(action, Done) and isinstance(action.result, Readout | PushMeter | LoadProfile)
                return action.result
    except (OSError, SerialException) as err:
        raise classify_os_error(port, err) from err


async def run_on_port(
    port: str, machine: Machine, baud: int = INITIAL_BAUD, byte_size: int = 7, parity: str = "E"
) -> Readout | PushMeter | LoadProfile:
    """Open ``port``, run ``machine`` over it, close it whatever happens."""
    serial = await open_port(port, baud, byte_size, parity)
    try:
        return await run(serial, machine, port=port)
    finally:
        await close_port(serial)
