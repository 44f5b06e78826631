"""Mode D (IEC 62056-21:2002 §6.4.4): the meter sends its telegram by itself, every few seconds; we never transmit.

A small sans-IO machine of its own: wait for an identification line, then for the end of the telegram — an
``STX … ETX BCC`` data message, or (EMH eHZ, EasyMeter) unframed data lines closed by ``!`` CR LF, which carry
no BCC (docs/iec62056-21.md §4.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..actions import Action, Done, Wait
from ..errors import ChecksumError, NoAnswerError, ReadoutTimeoutError
from ..models import BccStatus, Identification, Readout, Timings
from .dataset import parse_data_block
from .frames import SOH, STX, split_data_message
from .transcript import find_identification

DEFAULT_BAUD: Final = 2400  # eHZ and EasyMeter info interfaces push at 2400 (some at 9600) 7E1


@dataclass(frozen=True, slots=True)
class ModeDConfig:
    """Line speed, and how long to wait for a telegram."""

    baud: int = DEFAULT_BAUD
    timeout: float = 30.0  # a whole telegram interval, with margin
    inter_character_timeout: float = 1.5  # ta: a telegram that stops this long is cut


class ModeDSession:
    """Receive one mode D telegram. The driver opens the line at :attr:`baud`, 7E1."""

    def __init__(self, config: ModeDConfig | None = None) -> None:
        self.config = config or ModeDConfig()
        self._buffer = bytearray()
        self._raw = bytearray()
        self._identification: Identification | None = None
        self._started: float | None = None
        self._last_rx: float | None = None
        self._t_ident = 0.0
        self.bytes_received = 0

    @property
    def baud(self) -> int:
        """The speed the line runs at."""
        return self.config.baud

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes that arrived from the port (the parity bit is dropped)."""
        if not data:
            return
        self.bytes_received += len(data)
        self._last_rx = now
        data = bytes(byte & 0x7F for byte in data)
        self._raw += data
        self._buffer += data

    def next_action(self, now: float) -> Action:
        """``Wait`` for more of the telegram, or ``Done``; raises when none (or only part of one) came."""
        if self._started is None:
            self._started = now
        deadline = self._started + self.config.timeout
        if self._identification is None:
            identification, line_end = find_identification(bytes(self._buffer), complete=True)
            if identification is None:
                if now < deadline:
                    return Wait(deadline)
                raise NoAnswerError(
                    "No telegram from the meter: a mode D meter pushes by itself; check the head and the baud rate",
                    received_bytes=self.bytes_received,
                )
            self._identification, self._t_ident = identification, now
            del self._buffer[:line_end]
        readout = self._telegram(now)
        if readout is not None:
            return Done(readout)
        assert self._last_rx is not None
        cut_at = min(deadline, self._last_rx + self.config.inter_character_timeout)
        if now < cut_at:
            return Wait(cut_at)
        raise ReadoutTimeoutError(f"The telegram stopped arriving at {self.baud} Bd (truncated)")

    def _telegram(self, now: float) -> Readout | None:
        buffer = bytes(self._buffer)
        starts = [index for index in (buffer.find(STX), buffer.find(SOH)) if index >= 0]
        if starts:
            cut = split_data_message(buffer, min(starts))
            if cut is None:
                return None
            message, _ = cut
            if message.bcc is BccStatus.MISMATCH:
                assert message.expected_bcc is not None and message.received_bcc is not None
                raise ChecksumError(message.expected_bcc, message.received_bcc)
            return self._readout(now, message.block, BccStatus.OK)
        end = buffer.find(b"!")
        if end >= 0 and buffer.find(b"\n", end) >= 0:
            return self._readout(now, buffer[:end], BccStatus.ABSENT)
        return None

    def _readout(self, now: float, block: bytes, bcc: BccStatus) -> Readout:
        assert self._started is not None
        timings = Timings(
            total=now - self._started,
            identification=self._t_ident - self._started,
            readout=now - self._t_ident,
            baud=self.baud,
            bytes_received=self.bytes_received,
        )
        return Readout(self._identification, parse_data_block(block), bcc, bytes(self._raw), timings)
