"""What the simulated meter measures, as both the IEC 62056-21 responder and the push sender read it."""

from __future__ import annotations

import asyncio
from datetime import datetime

from .faults import FaultPlan
from .profiles import MeterState, Profile

FROZEN_TIME = datetime(2026, 11, 28, 12, 0, 0)


class Registers:
    """The meter's values and clock, moved on once per readout or push; ``readouts`` counts those sent.

    ``frozen``: values and clock stand still, so readouts are reproducible for snapshot tests."""

    def __init__(self, profile: Profile, state: MeterState, faults: FaultPlan, *, frozen: bool) -> None:
        self.profile = profile
        self.state = state
        self.faults = faults
        self.frozen = frozen
        self.readouts = 0

    def now(self) -> datetime:
        return FROZEN_TIME if self.frozen else datetime.now()

    def advance(self) -> None:
        """Integrate up to now; a meter_reset fault restarts the energy registers (once, even when frozen)."""
        if not self.frozen:
            self.state.advance(asyncio.get_running_loop().time())
        if self.faults.resets_energy(self.readouts):
            self.state.reset_energy()

    def data_block(self) -> bytes:
        """The data lines and ``!`` of a readout or mode D telegram (docs/iec62056-21.md §4.1, §4.4)."""
        now = self.now()
        self.advance()
        lines = self.profile.lines(self.state, now)
        return "".join(f"{line}\r\n" for line in lines).encode("ascii") + b"!\r\n"
