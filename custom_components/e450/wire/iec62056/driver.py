"""Reading a meter over a port: the IEC 62056-21 machines run by :mod:`..port`, which always closes the port."""

from __future__ import annotations

from datetime import datetime

from ..models import LoadProfile, Readout
from ..port import run_on_port
from .frames import INITIAL_BAUD
from .mode_d import ModeDConfig, ModeDSession
from .programming import ProfileSession
from .session import Session, SessionConfig


async def read_meter(port: str, config: SessionConfig | None = None) -> Readout:
    """One complete read (modes A-C) of the meter on ``port`` (``/dev/…``, ``socket://host:port``, …)."""
    result = await run_on_port(port, Session(config), INITIAL_BAUD)
    assert isinstance(result, Readout)
    return result


async def read_profile(port: str, config: SessionConfig | None, start: datetime, end: datetime) -> LoadProfile:
    """The load profile ``P.01`` from ``start`` to ``end`` (meter time) of the mode C meter on ``port``, read in
    programming mode (docs/iec62056-21.md §7)."""
    result = await run_on_port(port, ProfileSession(start, end, config), INITIAL_BAUD)
    assert isinstance(result, LoadProfile)
    return result


async def receive_telegram(port: str, config: ModeDConfig | None = None) -> Readout:
    """The next telegram of a mode D meter on ``port``; nothing is sent to it."""
    session = ModeDSession(config)
    result = await run_on_port(port, session, session.baud)
    assert isinstance(result, Readout)
    return result
