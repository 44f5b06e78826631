"""The meter that talks without being asked: mode D telegrams (docs/iec62056-21.md §4.4) and DLMS/COSEM pushes
in the E450's layouts (docs/dlms.md §6, built by simulator/dlms_push.py) at their line settings (docs/dlms.md §1.1).
"""

from __future__ import annotations

import asyncio

from .dlms_push import push_frame
from .faults import FaultPlan
from .profiles import Profile
from .registers import Registers
from .transport import Line

FAST_PUSH_INTERVAL = 0.5  # the longest pause between pushes outside realtime mode
FIRST_INVOCATION_COUNTER = 0x00218000


class PushSender:
    """Sends one telegram or push per interval while a client is connected."""

    def __init__(
        self, profile: Profile, line: Line, faults: FaultPlan, registers: Registers, *, realtime: bool
    ) -> None:
        self.profile = profile
        self.line = line
        self.faults = faults
        self.registers = registers
        self.realtime = realtime
        self.invocation_counter = FIRST_INVOCATION_COUNTER

    async def serve(self) -> None:
        """Push until cancelled. Nobody listens while the line is closed, so the meter waits for a client rather
        than counting pushes into the void."""
        profile = self.profile
        interval = profile.push_interval if self.realtime else min(profile.push_interval, FAST_PUSH_INTERVAL)
        self.line.baud = profile.push_baud
        while True:
            await self.line.connected.wait()
            self.line.baud = profile.push_baud  # a client closing the line set it back to 300
            self.faults.pick()
            if self.faults.answers():
                telegram = self._telegram() if profile.mode == "D" else self._dlms_push()
                await self.line.transmit(telegram, stop_after=self.faults.truncate_at(len(telegram)))
                self.registers.readouts += 1
            await asyncio.sleep(interval)

    def _telegram(self) -> bytes:
        """Identification, an empty line and the data block, unframed."""
        identification = b"/" + self.profile.identification.encode("ascii") + b"\r\n"
        return identification + b"\r\n" + self.registers.data_block()

    def _dlms_push(self) -> bytes:
        """One data-notification in HDLC frames; each push uses the next invocation counter (docs/dlms.md §4.6)."""
        self.registers.advance()
        self.invocation_counter += 1
        frame = push_frame(
            self.registers.state,
            self.registers.now(),
            self.invocation_counter,
            layout=self.profile.dlms_layout,
            security=self.profile.dlms_security,
            framing=self.profile.dlms_framing,
        )
        return self.faults.damage_push(frame)
