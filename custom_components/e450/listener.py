"""The push meter's listener: keeps the port open, decodes every push, remembers the latest. No Home Assistant import.

The push coordinator owns one and runs :meth:`PushListener.run` as a background task; it reopens a port that
failed (an unplugged adapter, a network bridge that dropped the connection or went silent) by itself, waiting
longer after each attempt that brought no push (up to ``RECONNECT_MAX``), and measures the meter's push interval.
Every port it opens is closed again before the next attempt: a bridge that keeps failing leaves no socket behind.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import logging
import time
from typing import Final

from .wire import KEY_PROBLEMS, PortUnavailableError, Push, PushDecoder, PushProblem, Readout, Security
from .wire.dlms.listen import open_push_port, read_pushes
from .wire.port import close_port

_LOGGER = logging.getLogger(__name__)

RECONNECT_DELAY: Final = 5.0  # seconds before the first attempt to reopen a push port that failed
RECONNECT_MAX: Final = 120.0  # the longest wait between attempts (doubling from RECONNECT_DELAY)
KEY_FAILURES_BEFORE_REAUTH: Final = 3  # consecutive undecryptable pushes before asking for new keys
INTERVALS_KEPT: Final = 8  # push intervals the measured interval is the median of


@dataclass
class PushStatistics:
    """What the listener saw on a push meter's port, for diagnostics."""

    pushes: int = 0  # decoded
    rejected: int = 0  # undecodable: wrong keys, damaged, unknown layout
    duplicates: int = 0
    interrupted: int = 0
    reconnects: int = 0
    junk_bytes: int = 0
    last_error: str | None = None
    push_interval: float | None = None  # measured, seconds


class PushListener:
    """Listens on ``port`` at ``baud``/``parity`` (8 data bits) with ``decoder``."""

    def __init__(self, port: str, baud: int, parity: str, decoder: PushDecoder) -> None:
        self.port = port
        self.baud = baud
        self.parity = parity
        self.decoder = decoder
        self.statistics = PushStatistics()
        self.latest: Readout | None = None
        self.latest_at = 0.0  # monotonic time of the latest decoded push
        self.key_failures = 0  # consecutive ciphered pushes the keys could not open
        self.rejected_push: bytes | None = None  # the last push the keys could not open (for the reauth flow)
        self.undecoded: object = None  # the last body of an unknown layout, strings redacted (for diagnostics)
        self.connected = False
        self.settled = asyncio.Event()  # the first push decoded, or the keys were rejected often enough
        self._intervals: list[float] = []
        self._failed_attempts = 0  # attempts in a row that brought no push: the backoff's exponent

    @property
    def keys_rejected(self) -> bool:
        """Enough pushes in a row failed on the keys to ask the user for new ones."""
        return self.key_failures >= KEY_FAILURES_BEFORE_REAUTH

    @property
    def reconnect_delay(self) -> float:
        """Seconds before the next attempt: doubling with each attempt in a row that brought no push."""
        return min(RECONNECT_MAX, RECONNECT_DELAY * 2.0 ** min(self._failed_attempts, 8))

    async def run(self) -> None:
        """Listen until cancelled, reopening the port after a failure."""
        while True:
            try:
                serial = await open_push_port(self.port, self.baud, self.parity)
            except PortUnavailableError as err:
                self._port_failed(err)
                await self._back_off()
                continue
            self.connected = True
            pushes = self.statistics.pushes
            try:
                async for push in read_pushes(serial, self.decoder, port=self.port):
                    self.on_push(push)
            except PortUnavailableError as err:
                self._port_failed(err)
            finally:
                self.connected = False
                await close_port(serial)
            if self.statistics.pushes > pushes:
                self._failed_attempts = 0  # it worked for a while: try again soon
            await self._back_off()
            self.statistics.reconnects += 1

    async def _back_off(self) -> None:
        delay = self.reconnect_delay
        self._failed_attempts += 1
        await asyncio.sleep(delay)

    def _port_failed(self, err: PortUnavailableError) -> None:
        if self.statistics.last_error != str(err):
            _LOGGER.debug("Push port %s: %s", self.port, err)
        self.statistics.last_error = str(err)

    def on_push(self, push: Push) -> None:
        """Take a push the decoder completed: keep it when it decoded, count it when not."""
        stats = self.statistics
        stats.junk_bytes = self.decoder.junk_bytes
        now = time.monotonic()
        if push.readout is not None:
            stats.pushes += 1
            self.key_failures = 0
            self.rejected_push = None
            if self.latest is not None:
                self._intervals = [*self._intervals[1 - INTERVALS_KEPT :], now - self.latest_at]
                stats.push_interval = sorted(self._intervals)[len(self._intervals) // 2]
            # a meter pushing several lists sends each register in some: the others keep their last value
            self.latest, self.latest_at = push.readout.carried_over(self.latest), now
            self.settled.set()
            return
        assert push.error is not None
        reason = push.error.reason
        if reason is PushProblem.DUPLICATE:
            stats.duplicates += 1
            return
        if reason is PushProblem.INTERRUPTED:
            stats.interrupted += 1
            return
        stats.rejected += 1
        stats.last_error = str(push.error)
        if push.undecoded is not None:
            self.undecoded = push.undecoded
        if reason in KEY_PROBLEMS and push.info.security is not Security.NONE:  # only a ciphered push doubts the keys
            self.key_failures += 1
            self.rejected_push = push.raw
            if self.keys_rejected:
                self.settled.set()
        _LOGGER.debug("Push from %s rejected: %s", self.port, push.error)
