"""Listening to a push meter: open its port at the push's line settings and decode pushes as they come."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

from serialx.common import SerialException

from ..bridges import bridge_of
from ..errors import NoPushError, PortProblem, PortUnavailableError, PushProblem
from ..models import Readout
from ..port import READ_CHUNK, classify_os_error, close_port, open_port
from .push import Push, PushDecoder

# A push that failed for one of these reasons is no verdict on the port or the keys: listening began mid-push,
# or the meter repeated itself.
NOT_A_VERDICT = frozenset({PushProblem.INTERRUPTED, PushProblem.DUPLICATE})
# Pushes come every few seconds (a quarter-hour list comes with frequent ones): this long without a byte, a bridge's
# connection is taken for dead (a TCP connection whose far end vanished says nothing) and the port for silent.
PUSH_SILENCE = 300.0


async def open_push_port(port: str, baud: int, parity: str) -> Any:
    """Open ``port`` at 8 data bits, ``parity`` (``N``/``E``), one stop bit: the only form pushes use."""
    return await open_port(port, baud, byte_size=8, parity=parity)


async def read_pushes(
    serial: Any, decoder: PushDecoder, *, port: str = "", silence: float | None = None
) -> AsyncIterator[Push]:
    """Yield pushes as the meter sends them, until the port fails or says nothing for ``silence`` seconds
    (``PUSH_SILENCE`` unless given; :class:`PortUnavailableError`). The decoder is told the time of each chunk
    (for the checks that span pushes: the energy against the power's integral)."""
    bridge = bridge_of(port) is not None
    silence = PUSH_SILENCE if silence is None else silence
    clock = asyncio.get_running_loop().time
    try:
        while True:
            try:
                async with asyncio.timeout(silence):
                    data = await serial.read(READ_CHUNK)
            except TimeoutError:
                problem = PortProblem.SILENT if bridge else PortProblem.IO
                raise PortUnavailableError(port, problem, f"nothing received for {silence:g} s") from None
            if not data:
                problem = PortProblem.DROPPED if bridge else PortProblem.IO
                raise PortUnavailableError(port, problem, "the port closed")
            for push in decoder.feed(data, clock()):
                yield push
    except (OSError, SerialException) as err:
        raise classify_os_error(port, err) from err


async def capture_push(
    port: str,
    baud: int,
    parity: str,
    decoder: PushDecoder,
    seconds: float,
    wanted: Callable[[Readout], bool] | None = None,
) -> Push:
    """Listen until one push arrives (decoded or not) and return it; the port is closed again either way.

    ``wanted``: keep listening until the registers of the decoded pushes so far, carried over from one to the next,
    satisfy it (a meter that pushes several lists may name itself in only some of them); the push returned then
    carries them all. When time runs out first, the pushes decoded so far are returned all the same.
    A push that failed only because of a block transfer broken off by the start of listening is skipped.
    Raises :class:`NoPushError` when nothing complete arrives within ``seconds``.
    """
    serial = await open_push_port(port, baud, parity)
    gathered: Push | None = None
    try:
        async with asyncio.timeout(seconds):
            async for push in read_pushes(serial, decoder, port=port):
                if push.error is not None and push.error.reason in NOT_A_VERDICT:
                    continue
                if push.readout is None or wanted is None:
                    if gathered is None:
                        return push
                    continue  # one list that does not decode does not undo the others
                previous = gathered.readout if gathered is not None else None
                gathered = replace(push, readout=push.readout.carried_over(previous))
                assert gathered.readout is not None
                if wanted(gathered.readout):
                    return gathered
    except TimeoutError:
        if gathered is not None:
            return gathered
    finally:
        await close_port(serial)
    raise NoPushError(seconds, decoder.bytes_received)
