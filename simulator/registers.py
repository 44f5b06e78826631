"""What the simulated meter measures, as both the IEC 62056-21 responder and the push sender read it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Final

from .faults import FaultPlan
from .profiles import MeterState, Profile

FROZEN_TIME = datetime(2026, 11, 28, 12, 0, 0)
PROFILE_PERIOD: Final = 900  # seconds: quarter-hour load profile
PROFILE_ENTRIES: Final = 96  # one day


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

    def profile_entries(self) -> list[tuple[datetime, float, float]]:
        """The load profile the meter keeps, the same for DLMS and IEC 62056-21: the last day's quarter hours up
        to now, each ``(time, import kWh, export kWh)``, import a quarter kWh less each period back."""
        now = self.now().replace(microsecond=0)
        end = now.replace(minute=now.minute // 15 * 15, second=0)
        state = self.state
        entries = []
        for index in range(PROFILE_ENTRIES):
            back = PROFILE_ENTRIES - 1 - index
            moment = end - timedelta(seconds=PROFILE_PERIOD * back)
            entries.append((moment, max(0.0, state.import_kwh - back * 0.25), state.export_kwh))
        return entries
