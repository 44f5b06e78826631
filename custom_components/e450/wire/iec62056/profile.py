"""The IEC 62056-21 load profile ``P.01``, as meters following the VDEW/DIN EN 62056-21 conventions keep it
(docs/iec62056-21.md §7): the request that asks for a range, and the answer parsed into the same
:class:`~..models.LoadProfile` a DLMS profile read gives.

The meter is read in programming mode (option select ``ACK 0 Z 1``, IEC 62056-21:2002 §6.3.3 and Table 10, mode
control 1), then asked ``SOH R5 STX P.01(from;to) ETX BCC`` (§6.3.7, command R5: read, VDEW formatted). It answers
one data message whose data block is made of header lines, each followed by the rows it describes::

    P.01(1220823161500)(00000000)(15)(6)(1.5)(kW)(2.5)(kW)…
    (0.18374)(0.00078)(0.00000)(0.00006)(0.00087)(0.02431)
    (0.16832)(0.00000)(0.00000)(0.00000)(0.00000)(0.02686)

Header: the first row's time ``ZST`` (``s yymmddhhmm[ss]``: a season digit, 0 normal time, 1 summer time, 2 UTC,
then the date and time; without the season digit on some meters), the status word of the rows (hexadecimal,
its bits the meter's), the capture period in minutes, the number of channels, then code and unit of each
channel. Each following line is one row, one bracket per channel; row ``k`` is ``k`` periods after the header's
time. A new header starts a new block (a status change, a clock change, a gap).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import re
from typing import Final

from ..errors import FramingError
from ..models import LoadProfile, ProfileEntry, Reading, Timings, number
from ..obis import normalize_address
from .frames import build_ack, build_command

PROFILE_CODE: Final = "P.01"
PROGRAMMING_MODE: Final = "1"  # option select mode control Y = 1: programming mode (§6.3.3)
READ_FORMATTED: Final = "R5"  # read command, VDEW: formatted data (the profile)
_BRACKETS: Final = re.compile(r"\(([^()]*)\)")
_HEADER: Final = re.compile(r"^\s*P\.(\d\d)\s*((?:\([^()]*\))*)\s*$")
_ROW: Final = re.compile(r"^\s*((?:\([^()]*\))+)\s*$")
_SEASONS: Final = {"0": "normal", "1": "summer", "2": "utc"}
_TIME_FORMATS: Final = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}


def request_time(moment: datetime) -> str:
    """``s yymmddhhmm`` of a request bound: season digit 0 (the meter compares its wall clock) and the minute."""
    return f"0{moment:%y%m%d%H%M}"


def profile_request(start: datetime, end: datetime, profile: int = 1) -> bytes:
    """``SOH R5 STX P.0n(from;to) ETX BCC``: the entries from ``start`` to ``end`` (meter time)."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    data = f"P.{profile:02d}({request_time(start)};{request_time(end)})"
    return build_command(READ_FORMATTED, data.encode("ascii"))


def programming_ack(baud_char: str) -> bytes:
    """``ACK 0 Z 1 CRLF``: switch to ``baud_char``'s rate in programming mode (a profile is not in the readout)."""
    return build_ack(baud_char, PROGRAMMING_MODE)


def parse_profile_time(text: str) -> datetime:
    """``syymmddhhmm[ss]`` or ``yymmddhhmm[ss]``; a season digit 2 gives a UTC time, 0 and 1 the meter's wall
    clock (naive)."""
    digits = text.strip()
    season = ""
    if len(digits) in (11, 13):
        season, digits = digits[0], digits[1:]
    layout = _TIME_FORMATS.get(len(digits))
    if layout is None or not digits.isdigit() or (season and season not in _SEASONS):
        raise FramingError(f"P.01 time {text!r} is not s yymmddhhmm[ss]")
    try:
        moment = datetime.strptime(digits, layout)
    except ValueError:
        raise FramingError(f"P.01 time {text!r} is not a date") from None
    return moment.replace(tzinfo=UTC) if season == "2" else moment


def _fields(text: str) -> list[str]:
    return _BRACKETS.findall(text)


def _reading(text: str, unit: str | None) -> Reading | None:
    """One bracket of a row: ``value`` or ``value*unit`` (its own unit wins); ``None`` when not a number (a
    meter's placeholder for a missing value)."""
    value, _, own = text.partition("*")
    parsed = number(value)
    return None if parsed is None else Reading(parsed, own.strip() or unit)


class _Block:
    """One header and the rows after it."""

    def __init__(self, line_number: int, fields: list[str]) -> None:
        if len(fields) < 4:
            raise FramingError(f"P.01 line {line_number}: a header of {len(fields)} fields")
        self.time = parse_profile_time(fields[0])
        try:
            self.status = int(fields[1], 16) if fields[1].strip() else None
            self.period = int(fields[2])
            count = int(fields[3])
        except ValueError:
            raise FramingError(f"P.01 line {line_number}: status, period or channel count not a number") from None
        channels = fields[4:]
        if self.period <= 0 or count < 0 or len(channels) != 2 * count:
            raise FramingError(f"P.01 line {line_number}: {len(channels)} fields for {count} channels")
        self.codes = [normalize_address(code)[0] for code in channels[0::2]]
        self.units = [unit.strip() or None for unit in channels[1::2]]
        self.rows = 0

    def entry(self, line_number: int, fields: list[str]) -> ProfileEntry:
        if len(fields) != len(self.codes):
            raise FramingError(f"P.01 line {line_number}: {len(fields)} values for {len(self.codes)} channels")
        moment = self.time + timedelta(minutes=self.period * self.rows)
        self.rows += 1
        values = {
            code: reading
            for code, unit, text in zip(self.codes, self.units, fields, strict=True)
            if (reading := _reading(text, unit)) is not None
        }
        return ProfileEntry(moment, values, self.status)


def _lines(block: bytes | str) -> Iterator[tuple[int, str]]:
    text = block.decode("ascii", "replace") if isinstance(block, bytes) else block
    for line_number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and line.strip() != "!":
            yield line_number, line


def parse_profile(block: bytes | str, timings: Timings | None = None) -> LoadProfile:
    """The data block of a ``P.01`` answer (between STX and ETX) as a load profile: entries in the order sent, the
    period of the first header (in seconds). ``P.01(ERROR)``, or ``(ERROR)`` alone, is the meter's refusal."""
    blocks: list[_Block] = []
    entries: list[ProfileEntry] = []
    for line_number, line in _lines(block):
        if "ERROR" in line.upper():
            raise FramingError(f"the meter answered {line.strip()!r}: no such profile, or the range was refused")
        if (header := _HEADER.match(line)) is not None:
            blocks.append(_Block(line_number, _fields(header.group(2))))
        elif _ROW.match(line) is not None and blocks:
            entries.append(blocks[-1].entry(line_number, _fields(line)))
        else:
            raise FramingError(f"P.01 line {line_number} is neither a header nor a row: {line.strip()[:40]!r}")
    if not blocks:
        raise FramingError("no P.01 header in the answer")
    return LoadProfile(PROFILE_CODE, blocks[0].period * 60, tuple(entries), timings=timings or Timings())
