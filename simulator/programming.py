"""The meter side of IEC 62056-21 programming mode (docs/iec62056-21.md §7): after ``ACK 0 Z 1`` the operand
``P0``, the password ``P1``, the load profile ``R5 P.01(from;to)`` and the break ``B0``.

Written independently of the client's programming session: it shares only the BCC and the command builder. The
profile is the one the DLMS server keeps (:meth:`~.registers.Registers.profile_entries`), written as an E450
answering in the VDEW layout would (the captures in tests/fixtures/telegrams/*_P01.txt): one header, then a row
of cumulative import and export energy per quarter hour; long answers go out in partial blocks, each ACKed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
import re
from typing import Final

from custom_components.e450.wire.iec62056.frames import bcc, build_command

from .faults import FaultPlan
from .registers import PROFILE_PERIOD, Registers
from .transport import Line

INACTIVITY: Final = 60.0  # the meter drops programming mode after this silence (docs/iec62056-21.md §1.6)
BLOCK_BYTES: Final = 1024  # a longer answer goes out in partial blocks (EOT, then the client's ACK)
OPERAND: Final = b"(71234567)"  # the serial, as L+G meters show it in P0
ERROR: Final = b"(ERROR)"
CLIENT_CHECK: Final = 0.05  # how often a waiting meter looks whether the client is still there
_RANGE: Final = re.compile(rb"P\.01\((\d{10,12})?;(\d{10,12})?\)")


def _moment(digits: bytes | None) -> datetime | None:
    """``s yymmddhhmm`` of a request bound (the season digit ignored: the meter compares its wall clock)."""
    if not digits:
        return None
    return datetime.strptime(digits.decode("ascii")[-10:], "%y%m%d%H%M")


def _message(text: bytes, *, partial: bool = False) -> bytes:
    body = text + (b"\x04" if partial else b"\x03")
    return b"\x02" + body + bytes([bcc(body)])


class ProgrammingMode:
    """One programming-mode session; ``password``: what P1 must carry before R5 is answered (else ``(ERROR)``);
    empty: none needed, any taken."""

    def __init__(
        self,
        line: Line,
        faults: FaultPlan,
        registers: Registers,
        *,
        has_profile: bool,
        password: str,
        reaction: Callable[[], float],
    ) -> None:
        self.line = line
        self.faults = faults
        self.registers = registers
        self.has_profile = has_profile
        self.password = password
        self.reaction = reaction
        self._pending = bytearray()

    async def serve(self, baud: int) -> None:
        """Switch to ``baud``, send the operand, then answer commands until the break or silence."""
        await asyncio.sleep(self.reaction())
        await self.line.wait_for_client_speed(baud)
        self.line.baud = baud
        await self.line.transmit(build_command("P0", OPERAND))
        authorised = not self.password
        while (message := await self._receive(INACTIVITY)) is not None:
            if message[-1] != bcc(message[1:-1]):
                await self._answer(b"\x15")  # NAK: send it again (§6.3.6)
                continue
            command, _, data = message[1:-2].partition(b"\x02")
            if command == b"B0":
                return
            if command == b"P1":
                authorised = not self.password or data == f"({self.password})".encode("ascii")
                await self._answer(b"\x06" if authorised else b"\x15")
            elif command == b"R5" and authorised and (match := _RANGE.fullmatch(data)) is not None:
                await self._send_profile(_moment(match.group(1)), _moment(match.group(2)))
            else:
                await self._answer(_message(ERROR))

    async def _answer(self, data: bytes) -> None:
        await asyncio.sleep(self.reaction())
        await self.line.transmit(data)

    async def _receive(self, timeout: float) -> bytes | None:
        """The next ``SOH … ETX|EOT BCC`` (or ``STX …``) from the client, or a lone ACK/NAK; ``None`` on silence."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            buffer = self._pending
            if buffer and buffer[0] in (0x06, 0x15):  # the client's ACK or NAK to a block
                byte = bytes(buffer[:1])
                del buffer[:1]
                return byte
            starts = [index for index in (buffer.find(b"\x01"), buffer.find(b"\x02")) if index >= 0]
            if starts:
                start = min(starts)
                ends = [i for i in (buffer.find(b"\x03", start), buffer.find(b"\x04", start)) if i >= 0]
                if ends and min(ends) + 1 < len(buffer):
                    end = min(ends) + 2
                    message = bytes(buffer[start:end])
                    del buffer[:end]
                    return message
            elif buffer:
                del buffer[:1]  # noise between messages
                continue
            if not self.line.connected.is_set() or loop.time() >= deadline:
                return None  # the client closed the port: its B0 may have been lost in the switch back to 300 Bd
            chunk = await self.line.receive(min(CLIENT_CHECK, max(0.0, deadline - loop.time())))
            if chunk is None:
                continue
            self._pending += bytes(byte & 0x7F for byte in chunk)

    def _profile_text(self, start: datetime | None, end: datetime | None) -> bytes:
        entries = [
            entry
            for entry in self.registers.profile_entries()
            if (start is None or entry[0] >= start) and (end is None or entry[0] <= end)
        ]
        if not entries:
            return ERROR
        season = "1" if entries[0][0].astimezone().dst() else "0"
        header = f"P.01({season}{entries[0][0]:%y%m%d%H%M%S})(00)({PROFILE_PERIOD // 60})(2)(1.8.0)(kWh)(2.8.0)(kWh)"
        rows = [f"({energy:010.3f})({export:010.3f})" for _, energy, export in entries]
        return "".join(f"{line}\r\n" for line in (header, *rows)).encode("ascii")

    async def _send_profile(self, start: datetime | None, end: datetime | None) -> None:
        """The answer to ``R5 P.01(from;to)``: ``(ERROR)`` without a profile or an entry in the range; else the
        text in partial blocks of whole lines. A bad_bcc fault damages the first block once (the client's NAK
        has it sent again); truncated breaks the first block off and leaves the client waiting."""
        text = self._profile_text(start, end) if self.has_profile else ERROR
        blocks = self._blocks(text)
        for index, block in enumerate(blocks):
            last = index == len(blocks) - 1
            message = _message(block, partial=not last)
            if index == 0:
                damaged = message[:-1] + bytes([self.faults.block_check(message[-1])])
                stop = self.faults.truncate_at(len(message))
                await self._answer(damaged if stop is None else damaged[:stop])
                if stop is not None:
                    return
                if damaged != message and await self._receive(INACTIVITY) == b"\x15":
                    await self._answer(message)
            else:
                await self._answer(message)
            if last:
                break
            if await self._receive(INACTIVITY) != b"\x06":
                return  # the client broke off (a B0, or silence)
        self.registers.readouts += 1

    @staticmethod
    def _blocks(text: bytes) -> list[bytes]:
        blocks: list[bytes] = [b""]
        for line in text.splitlines(keepends=True):
            if blocks[-1] and len(blocks[-1]) + len(line) > BLOCK_BYTES:
                blocks.append(b"")
            blocks[-1] += line
        return blocks
