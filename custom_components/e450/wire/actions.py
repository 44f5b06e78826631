"""What a sans-IO state machine (the IEC session, detection) asks its driver to do next.

The machines never touch a port or a clock: the driver feeds them what arrived (``receive_data(data, now)``) and
asks ``next_action(now)`` until it gets :class:`Done`. Every timing path is therefore testable with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .models import HdlcHandover, LoadProfile, PushMeter, Readout


@dataclass(frozen=True, slots=True)
class Send:
    """Write these bytes."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Drain:
    """Wait until everything written has physically left the transmitter (tcdrain)."""


@dataclass(frozen=True, slots=True)
class Configure:
    """Set the line to ``baud`` with ``byte_size`` data bits and ``parity``, one stop bit."""

    baud: int
    byte_size: int = 7
    parity: str = "E"


@dataclass(frozen=True, slots=True)
class Wait:
    """Deliver received data with ``receive_data``, or come back at ``deadline``."""

    deadline: float


@dataclass(frozen=True, slots=True)
class Done:
    """The machine has finished: a readout, (detection) the push meter it found, or (an IEC session signing on
    for mode E) the line handed over to HDLC."""

    result: Readout | PushMeter | HdlcHandover | LoadProfile


Action = Send | Drain | Configure | Wait | Done


class Machine(Protocol):
    """What a driver runs."""

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes arrived from the port."""

    def next_action(self, now: float) -> Action:
        """What to do next; raises a :class:`~.errors.MeterError` when the exchange failed."""
