"""The meter side of an IEC 62056-21 readout in modes A, B and C (docs/iec62056-21.md §1.2).

Written independently of the client's session logic: it shares only the frame constants and the BCC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from custom_components.e450.wire.iec62056.frames import BAUD_MODE_C, bcc

from .faults import FaultPlan
from .profiles import Profile
from .programming import ProgrammingMode
from .registers import Registers
from .transport import Line

OPTION_SELECT_TIMEOUT = 2.2  # tt upper bound: how long the meter waits for the ACK (docs/iec62056-21.md §3.1)
FAST_REACTION = 0.01  # tr outside realtime mode: fast tests, same order of events


class Responder:
    """Answers sign-on requests addressed to it; ``requests`` counts them."""

    def __init__(
        self,
        profile: Profile,
        line: Line,
        faults: FaultPlan,
        registers: Registers,
        *,
        realtime: bool,
        address: str,
        hdlc: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.profile = profile
        self.line = line
        self.faults = faults
        self.registers = registers
        self.realtime = realtime
        self.address = address
        self.hdlc = hdlc  # mode E: the DLMS server that takes the line over after ACK 2 Z 2 (Annex E)
        self.requests = 0

    async def serve(self) -> None:
        """Answer requests until cancelled; every exchange ends at 300 Bd (docs/iec62056-21.md §3.6)."""
        while True:
            request = await self.line.read_line(None)
            if request is None or not request.startswith(b"/?") or not request.rstrip(b"\r\n").endswith(b"!"):
                continue
            address = request[2:].rstrip(b"\r\n")[:-1].decode("ascii", "replace")
            if address and self.address and address != self.address:
                continue  # addressed to another meter on the bus (docs/iec62056-21.md §2.1)
            self.requests += 1
            self.faults.pick()
            await self._answer()
            self.line.baud = 300

    def _reaction(self) -> float:
        normal = self.profile.reaction if self.realtime else min(self.profile.reaction, FAST_REACTION)
        return self.faults.reaction(normal)

    async def _answer(self) -> None:
        """Identification, then the readout: at once (mode A, or a meter that does not wait for the ACK), at the
        announced rate (mode B) or at the rate the ACK selects (mode C) (docs/iec62056-21.md §3.2-§3.5)."""
        faults, profile = self.faults, self.profile
        if not faults.answers():
            return
        await asyncio.sleep(self._reaction())
        if faults.babbles():
            await self.line.transmit(faults.garbage())
            return
        await self.line.transmit(b"/" + profile.identification.encode("ascii") + b"\r\n")
        if faults.drops_after_identification():
            return
        if profile.mode == "A" or profile.sends_without_ack:
            await asyncio.sleep(self._reaction())
            await self._send_readout()
            return
        if profile.mode == "B":
            await asyncio.sleep(self._reaction())
            await self.line.wait_for_client_speed(profile.max_baud)
            self.line.baud = profile.max_baud
            await self._send_readout()
            return
        ack = await self.line.read_line(OPTION_SELECT_TIMEOUT)
        if ack is None or len(ack) < 6 or ack[0] != 0x06:
            return  # E350: "without ACK no data is sent"
        protocol_char, baud_char, mode_char = chr(ack[1]), chr(ack[2]), chr(ack[3])
        baud = BAUD_MODE_C.get(baud_char)
        if protocol_char == "2" and mode_char == "2" and self.hdlc is not None and baud and baud <= profile.max_baud:
            # Annex E: the meter confirms at the old speed, then both sides switch to 8N1 at the new one
            await asyncio.sleep(self._reaction())
            await self.line.transmit(ack)
            self.line.baud = baud  # from here on, what the client sends at the old speed is noise
            await self.line.wait_for_client_speed(baud)
            await self.hdlc(self.faults.switched_baud(baud))
            return
        if mode_char == "1" and baud is not None and baud <= profile.max_baud:
            # programming mode (docs/iec62056-21.md §7): the operand, commands, the break
            programming = ProgrammingMode(
                self.line,
                faults,
                self.registers,
                has_profile=profile.load_profile,
                password=profile.password,
                reaction=self._reaction,
            )
            await programming.serve(baud)
            return
        if (
            baud is None
            or baud > profile.max_baud
            or mode_char != "0"
            or not profile.readout
            or faults.refuses_readout()
        ):
            await self.line.transmit(b"\x15")  # NAK: option not supported
            return
        await asyncio.sleep(self._reaction())
        await self.line.wait_for_client_speed(baud)
        self.line.baud = faults.switched_baud(baud)
        await self._send_readout()

    async def _send_readout(self) -> None:
        """``STX block ETX BCC`` (docs/iec62056-21.md §4.1, §4.2)."""
        block = self.registers.data_block() + b"\x03"
        message = b"\x02" + block + bytes([self.faults.block_check(bcc(block))])
        await self.line.transmit(message, stop_after=self.faults.truncate_at(len(message)))
        self.registers.readouts += 1
