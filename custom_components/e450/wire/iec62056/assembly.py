"""Putting one data message together from what arrives: ``STX … ETX BCC``, or partial blocks ``STX … EOT BCC``
each acknowledged for the next (IEC 62056-21:2002 §6.3.4-§6.3.6; docs/iec62056-21.md §4.3).

Shared by the data readout (:mod:`.session`) and the programming-mode answers (:mod:`.programming`): it cuts
messages out of the session's buffer and says what to send back, but keeps no time; the session owns deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..errors import ChecksumError, FramingError, MeterError, ReadoutRefusedError, ReadoutTimeoutError
from ..models import BccStatus
from .frames import ACK, NAK, SOH, STX, split_data_message

MAX_NAKS: Final = 2


@dataclass(frozen=True, slots=True)
class Message:
    """A complete message: its data (all partial blocks joined), the BCC verdict, and the command of a
    programming message (``P0``, ``B0``; ``None`` for ``STX … ETX``)."""

    block: bytes
    bcc: BccStatus = BccStatus.OK
    command: str | None = None


class MessageAssembly:
    """One message in the making. :meth:`step` returns the bytes to answer (ACK for the next partial block, NAK to
    have a damaged one repeated), the complete :class:`Message`, or ``None`` while more must arrive."""

    def __init__(self) -> None:
        self.blocks: list[bytes] = []
        self.naks = 0
        self.frame_seen = False
        self.command: str | None = None

    def step(self, buffer: bytearray) -> bytes | Message | None:
        """Consume what ``buffer`` holds of the message; raises :class:`ChecksumError` for a block that stays
        damaged (or a damaged single message, which cannot be asked for again)."""
        while (start := frame_start(buffer)) >= 0:
            if buffer[start] == SOH and not self.blocks:
                head = bytes(buffer[start + 1 : start + 3])
                self.command = head.decode("ascii", "replace") if len(head) == 2 else None
            cut = split_data_message(bytes(buffer), start)
            if cut is None:
                return None
            message, consumed = cut
            del buffer[:consumed]
            self.frame_seen = True
            if message.bcc is BccStatus.MISMATCH:
                if message.partial and self.naks < MAX_NAKS:
                    self.naks += 1
                    return bytes([NAK])  # ask for the block again (§6.3.6)
                assert message.expected_bcc is not None and message.received_bcc is not None
                raise ChecksumError(message.expected_bcc, message.received_bcc)
            self.blocks.append(message.block)
            if message.partial:
                self.naks = 0
                return bytes([ACK])  # request the next partial block
            return Message(b"".join(self.blocks), BccStatus.OK, self.command)
        return None

    def ended_at_bang(self, buffer: bytearray) -> bytes | None:
        """The data block of a message that ends at its ``!`` line and then falls silent, with no ETX and BCC
        (some E350 firmware; docs/iec62056-21.md §4.1): complete, but unchecked. ``None`` for a message cut before
        its ``!``: that one is truncated, never accepted."""
        start = frame_start(buffer)
        if start < 0:
            return None
        text = bytes(buffer[start + 1 :])
        if buffer[start] == SOH and STX in text:
            text = text[text.index(STX) + 1 :]
        for end in (b"\n!\r\n", b"\n!\n"):  # the "!" line, complete: alone on its line, its line end arrived
            if (bang := (b"\n" + text).find(end)) >= 0:
                return b"".join(self.blocks) + text[: bang - 1 + len(end)]
        return None

    def timeout_error(self, buffer: bytearray, baud: int, first_byte_timeout: float, *, heard: bool) -> MeterError:
        """Why the message did not come: nothing at all, bytes that are no message, or a message cut short."""
        if not self.frame_seen and frame_start(buffer) < 0 and not heard:
            return ReadoutTimeoutError(f"No data message from the meter within {first_byte_timeout:g} s at {baud} Bd")
        if not self.frame_seen and refusal(buffer):
            return ReadoutRefusedError(
                f"The meter refused the data readout at {baud} Bd (NAK): it wants a password, or reads over DLMS only"
            )
        if frame_start(buffer) < 0:
            return FramingError(f"Received {len(buffer)} bytes at {baud} Bd but no data message")
        return ReadoutTimeoutError(f"The data message stopped arriving at {baud} Bd (truncated)")


def refusal(buffer: bytearray) -> bool:
    """A lone NAK (line ends and NULs around it aside) and nothing else: the meter refuses what was asked."""
    return bytes(buffer).strip(b"\r\n\x00") == bytes([NAK])


def frame_start(buffer: bytearray) -> int:
    """Where the next message starts (its STX or SOH), or -1."""
    starts = [index for index in (buffer.find(STX), buffer.find(SOH)) if index >= 0]
    return min(starts, default=-1)
