"""What a read through a raw TCP bridge teaches about the bridge's speed. No Home Assistant import.

A raw bridge (``socket://``: ESPHome's ``stream_server``, Tasmota's TCP bridge, ser2net in raw mode) keeps its
serial side at the speed set on it: the mode C switch to the meter's faster speed gets garbage, and the read
succeeds only on its retry at the initial 300 Bd (``Timings.retried``). Paying that failed switch on every poll
costs seconds each time; after the first such read the entry stays at the speed that worked, and tries the faster
one again only after a reload (the bridge may have been reconfigured, or replaced by an RFC 2217 one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .wire import Readout
from .wire.bridges import is_raw_bridge


@dataclass(frozen=True, slots=True)
class HeldSpeed:
    """The entry reads at ``baud`` (no switch) since ``since``, because a switch towards ``tried`` failed."""

    baud: int
    tried: int
    since: datetime

    def as_dict(self) -> dict[str, object]:
        """For diagnostics: the speed, since when, and why."""
        return {
            "baud": self.baud,
            "since": self.since.isoformat(),
            "why": f"the switch to up to {self.tried} Bd failed and the read succeeded on its retry at {self.baud} Bd: "
            "a raw TCP bridge keeps one speed; reads stay at this speed until the entry is reloaded",
        }


def learned_speed(port: str, readout: Readout, tried: int, now: datetime) -> HeldSpeed | None:
    """The speed to hold after ``readout`` (read with a switch of up to ``tried`` Bd), or ``None``: the read did
    not need the retry, or the port is not a raw bridge (a local head or an RFC 2217 bridge follow the switch, and
    a retry there is a one-off)."""
    if not readout.timings.retried or not is_raw_bridge(port) or readout.timings.baud >= tried:
        return None
    return HeldSpeed(readout.timings.baud, tried, now)
