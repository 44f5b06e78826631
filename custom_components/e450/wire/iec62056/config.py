"""What the user and the caller may tune in an IEC 62056-21 session (:mod:`.session`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DEFAULT_SWITCH_DELAY: Final = 0.3  # seconds after the ACK has left the UART, before changing the baud


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What the user and the caller may tune. Defaults follow the standard and field practice."""

    max_baud: int = 19200  # user cap for the ACK option select (mode C)
    address: str = ""  # device address / serial in the request, when the meter needs one
    wake_up: bool = False  # battery meters: NUL preamble
    switch_delay: float = DEFAULT_SWITCH_DELAY  # USB adapters need it (docs/iec62056-21.md §3.3)
    identification_timeout: float = 2.0  # first byte after the request left: tr ≤ 1.5 s plus margin
    inter_character_timeout: float = 1.5  # ta
    readout_first_byte_timeout: float = 3.0  # after the switch: the meter's tr plus its own switch
    readout_budget_bytes: int = 16384  # the overall readout deadline scales with this at the baud in force
    retry_at_300: bool = True  # one more attempt with <ACK>000 when the switched read failed
    fallback_wait: float = 2.5  # silence before the retry, so the meter is back at 300 Bd
    password: str = ""  # programming mode (load profile): sent as P1 when the meter's P0 asks; empty: none sent
    hdlc: bool = False  # mode E: option select ``ACK 2 Z 2``, then hand the line over to HDLC (Annex E)
