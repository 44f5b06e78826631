"""Immutable result models, parsed once at the boundary: typed, comparable by value, shared by every protocol.

A :class:`DataSet` knows its normalised OBIS code, its history suffix and its number from the moment it is made;
a :class:`Readout` indexes its current values once. Nothing downstream parses text again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
import re
from typing import Any

from .obis import NOT_READINGS, normalize_address


class ProtocolMode(StrEnum):
    """IEC 62056-21 protocol modes (IEC 62056-21:2002 §6)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class BccStatus(StrEnum):
    """Outcome of the block check of a data message."""

    OK = "ok"
    MISMATCH = "mismatch"
    ABSENT = "absent"


class Security(StrEnum):
    """How a DLMS/COSEM push was protected."""

    NONE = "none"
    ENCRYPTED = "encrypted"  # ciphered, no authentication tag
    AUTHENTICATED = "authenticated"  # carries a GCM tag (ciphered or not)


class TagStatus(StrEnum):
    """What became of a push's authentication tag."""

    OK = "ok"
    FAILED = "failed"
    UNCHECKED = "unchecked"  # no authentication key given: the tag was not verified


class Layout(StrEnum):
    """How a push body maps to OBIS codes (docs/dlms.md §6)."""

    PUSH_LIST = "push-list"
    OBIS_PAIRS = "obis-pairs"
    DESCRIBED = "described"  # registers found by the OBIS codes (and scaler_units) the body carries
    POSITIONAL = "positional"
    # structure{enum, array of {class id | logical name | attribute, value}}, the descriptor untagged: the Czech
    # distributors' RS-485 push (docs/dlms.md §6.6)
    CZECH = "czech"


@dataclass(frozen=True, slots=True)
class Identification:
    """The meter's identification message ``/XXXZ[\\W]*ident``."""

    manufacturer: str
    baud_char: str
    mode: ProtocolMode
    max_baud: int
    capabilities: tuple[str, ...]
    model: str

    @property
    def fast_reaction(self) -> bool:
        """A lowercase third flag letter allows a 20 ms reaction time (IEC 62056-21:2002 §6.3.14)."""
        return len(self.manufacturer) == 3 and self.manufacturer[2].islower()

    @property
    def hdlc_capable(self) -> bool:
        """``\\2`` announces binary HDLC (mode E) capability."""
        return "2" in self.capabilities

    def as_dict(self) -> dict[str, object]:
        """JSON shape of the command line contract."""
        return {
            "manufacturer": self.manufacturer,
            "baud_char": self.baud_char,
            "mode": self.mode.value,
            "max_baud": self.max_baud,
            "capabilities": list(self.capabilities),
            "model": self.model,
            "fast_reaction": self.fast_reaction,
        }


@dataclass(frozen=True, slots=True)
class DataValue:
    """One bracket of a data set, value and unit trimmed as transmitted."""

    value: str
    unit: str | None


class Scale(StrEnum):
    """Where a register's power of ten came from (docs/scaling.md). Only ``assumed`` is not a verdict: the decoder
    took the OBIS table's scaler for a register the push sent without one, and the scale judge
    (:mod:`.scaling.judge`) decides what it becomes."""

    SENT = "sent"  # the meter said it: a scaler_unit, an IEC readout's decimals and unit
    CONVENTION = "convention"  # the maker's or the utility's interface description for this list
    CHECKED = "checked"  # the OBIS table's scaler, confirmed by the physics checks
    CORRECTED = "corrected"  # several checks agreed on another power of ten
    USER = "user"  # the user set it
    UNCERTAIN = "uncertain"  # not settled: held back, never published
    ASSUMED = "assumed"  # the OBIS table's scaler, not judged yet


@dataclass(frozen=True, slots=True)
class RegisterScale:
    """How a DLMS register's number was scaled: ``value = raw × 10^exponent`` in ``unit``; ``source`` names the
    convention (or profile) or the checks behind it."""

    scale: Scale
    raw: int | float
    exponent: int
    unit: str | None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Withheld:
    """A register held back because its scale is not settled: the number as sent, the scales it could have, and
    why none was chosen (a :class:`~.scaling.physics.Doubt` value)."""

    address: str  # as the push names it
    raw: int | float
    unit: str | None
    exponent: int  # the prior's (convention or OBIS table), for reference
    reason: str
    candidates: tuple[int, ...] = ()  # exponents the evidence allows, best first

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the ``uncertain`` object of the command-line contract."""
        return {
            "raw": self.raw,
            "unit": self.unit,
            "reason": self.reason,
            "candidates": [{"exponent": exponent, "value": scaled(self.raw, exponent)} for exponent in self.candidates],
        }


def scaled(value: int | float, exponent: int) -> int | float:
    """A register value times 10^exponent; whole numbers stay ``int`` (and exact). A whole number divided by a
    power of ten is the float nearest the decimal (2357 × 10^-1 is 235.7)."""
    factor: int = 10 ** abs(exponent)
    return value * factor if exponent >= 0 else value / factor


def scaled_text(raw: int | float, exponent: int, value: int | float) -> str:
    """A register's ``value`` (``raw`` × 10^exponent) as text with the decimals its scaler gives: 190 at 10^-2 is
    ``1.90``, as a meter's display shows it, so every phase's current has the same. A number sent as a float
    keeps its own digits."""
    if isinstance(raw, float) or exponent >= 0:
        return repr(value)
    return f"{value:.{-exponent}f}"


@dataclass(frozen=True, slots=True)
class Reading:
    """A current numeric register value with its unit exactly as transmitted (``None``: none was)."""

    value: int | float
    unit: str | None


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def number(text: str) -> int | float | None:
    """The number in a value field (``000219.252``, ``( 001.67``, ``-000.82``), or ``None`` if not a number.

    Whole numbers written without a point stay ``int``: a counter is not a measurement.
    """
    compact = text.replace(" ", "") if " " in text else text
    if _NUMBER.fullmatch(compact) is None:
        return None
    return float(compact) if "." in compact else int(compact)


@dataclass(frozen=True, slots=True)
class DataSet:
    """``address(value*unit)(...)``: one data set of a readout, with what its address and first value mean.

    Make one with :meth:`of`; ``obis``, ``history`` and ``number`` are computed there, once.
    """

    address: str
    values: tuple[DataValue, ...]
    obis: str  # normalised: no ``A-B:`` prefix, no ``*255``, padded to three groups
    history: str | None  # stored-value suffix (``*12``, ``&03``), ``None`` for the current value
    number: int | float | None  # the first value as a number, ``None`` when it is not one

    @classmethod
    def of(cls, address: str, values: tuple[DataValue, ...], value: int | float | None = None) -> DataSet:
        """A data set; ``value``: the number when the caller already has it (a DLMS register), else parsed."""
        obis, history = normalize_address(address)
        if value is None and values:
            value = number(values[0].value)
        return cls(address, values, obis, history, value)

    @property
    def first(self) -> DataValue | None:
        """The first bracket, or ``None`` for an address without brackets."""
        return self.values[0] if self.values else None


@dataclass(frozen=True, slots=True)
class Timings:
    """Seconds spent in each phase of one read, and the bytes exchanged."""

    total: float = 0.0
    sign_on: float = 0.0
    identification: float = 0.0
    readout: float = 0.0
    baud: int = 300
    bytes_sent: int = 0
    bytes_received: int = 0
    retried: bool = False

    def as_dict(self) -> dict[str, object]:
        """JSON shape of the command line contract."""
        return {
            "total": round(self.total, 4),
            "sign_on": round(self.sign_on, 4),
            "identification": round(self.identification, 4),
            "readout": round(self.readout, 4),
            "baud": self.baud,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
        }


@dataclass(frozen=True, slots=True)
class PushInfo:
    """A DLMS/COSEM push beside its values: who sent it, how it was protected, how its body was laid out."""

    system_title: bytes | None
    invocation_counter: int | None
    security: Security
    tag: TagStatus | None  # ``None``: the push has no tag
    time: datetime | None = None  # the meter's local time of the push
    layout: Layout | None = None
    profile: str | None = None

    @property
    def manufacturer(self) -> str | None:
        """The three-letter flag id that opens an E450's system title (``LGZ``)."""
        flag = (self.system_title or b"")[:3]
        return flag.decode("ascii") if len(flag) == 3 and flag.isalpha() else None

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the ``decode`` command-line contract (without the readings)."""
        return {
            "system_title": self.system_title.hex() if self.system_title else None,
            "invocation_counter": self.invocation_counter,
            "security": self.security.value,
            "tag": self.tag.value if self.tag else None,
            "datetime": self.time.isoformat() if self.time else None,
            "layout": self.layout.value if self.layout else None,
            "profile": self.profile,
        }


UNPROTECTED = PushInfo(None, None, Security.NONE, None)


@dataclass(frozen=True, slots=True)
class PushMeter:
    """What detection found instead of an IEC 62056-21 answer: a meter pushing DLMS/COSEM HDLC frames."""

    baud: int
    parity: str  # "N", "E" or "O"; 8 data bits, one stop bit
    encrypted: bool
    system_title: bytes | None = None
    framing: str = "hdlc"  # how the APDUs travel (:class:`~.framing.Framing`)


@dataclass(frozen=True, slots=True)
class HdlcHandover:
    """Mode E (IEC 62056-21 Annex E): the sign-on is over and the line runs at ``baud`` 8N1, for HDLC."""

    identification: Identification
    baud: int


@dataclass(frozen=True, slots=True)
class Readout:
    """Everything one read (or one push) produced."""

    identification: Identification | None
    datasets: tuple[DataSet, ...]
    bcc: BccStatus
    # what was read, not how long it took: two readouts with the same content compare equal
    raw: bytes = field(default=b"", compare=False)
    timings: Timings = field(default_factory=Timings, compare=False)
    push: PushInfo | None = field(default=None, compare=False)  # set when the values came from a DLMS push
    # registers a DLMS push sent without their scaler (by code): how each was scaled; absent: sent by the meter
    scales: Mapping[str, RegisterScale] = field(default_factory=dict, compare=False)
    # registers held back because their scale is not settled (by code): they are not among the data sets
    withheld: Mapping[str, Withheld] = field(default_factory=dict, compare=False)
    # a push list's attributes other than values, by (address as sent, attribute): wire/submeters.py reads them
    attributes: Mapping[tuple[str, int], object] = field(default_factory=dict, compare=False)
    # current (non-history) data sets by normalised code, first one wins: built once
    _current: dict[str, DataSet] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        current: dict[str, DataSet] = {}
        for dataset in self.datasets:
            if dataset.history is None and dataset.obis not in current:
                current[dataset.obis] = dataset
        object.__setattr__(self, "_current", current)

    @property
    def readings(self) -> dict[str, Reading]:
        """Current numeric values (not clocks, identifiers or status flags) by normalised code."""
        return {
            code: Reading(dataset.number, dataset.values[0].unit)
            for code, dataset in self._current.items()
            if dataset.number is not None and code not in NOT_READINGS
        }

    def carried_over(self, previous: Readout | None) -> Readout:
        """This readout with the current registers of ``previous`` that it does not carry itself. A meter that
        pushes several lists (every second, every quarter hour, every hour) sends each register in only some of
        them: a register keeps the value of the last list that carried it until its list comes again."""
        if previous is None:
            return self
        missing = tuple(
            dataset
            for code, dataset in previous._current.items()
            if code not in self._current and code not in self.withheld  # held back now: not shown as before
        )
        if not missing:
            return self
        scales = {code: note for code, note in previous.scales.items() if code not in self._current}
        carried = {dataset.address for dataset in missing}
        attributes = {key: value for key, value in previous.attributes.items() if key[0] in carried}
        attributes.update(self.attributes)
        return replace(self, datasets=self.datasets + missing, scales={**scales, **self.scales}, attributes=attributes)

    def readings_json(self) -> dict[str, dict[str, Any]]:
        """The readings as every command line prints them: ``{code: {"value": …, "unit": …}}``; a register whose
        scale the meter did not send says where it came from (``"scale"``, ``"scale_source"``)."""
        document: dict[str, dict[str, Any]] = {}
        for code, reading in self.readings.items():
            entry: dict[str, Any] = {"value": reading.value, "unit": reading.unit}
            if (note := self.scales.get(code)) is not None:
                entry["scale"] = note.scale.value
                if note.source:
                    entry["scale_source"] = note.source
            document[code] = entry
        return document

    def scale(self, code: str) -> Scale:
        """Where the scale of a current register came from."""
        note = self.scales.get(code)
        return Scale.SENT if note is None else note.scale

    def current(self, obis: str) -> DataSet | None:
        """The current (non-history) data set for a normalised code."""
        return self._current.get(obis)

    def text(self, obis: str) -> str | None:
        """The first value of the current data set for a code, as transmitted."""
        dataset = self._current.get(obis)
        return None if dataset is None or not dataset.values else dataset.values[0].value

    def number(self, obis: str) -> Reading | None:
        """The current value of a code as a number, with its unit if it has one (``13.7.0(0.98)`` has none)."""
        dataset = self._current.get(obis)
        if dataset is None or dataset.number is None:
            return None
        return Reading(dataset.number, dataset.values[0].unit)


@dataclass(frozen=True, slots=True)
class ProfileEntry:
    """One capture of a load profile: when (meter time, as the meter keeps it) and the value of each captured
    register by normalised code, in its unit; ``status`` the entry's status word when the profile carries one."""

    time: datetime
    values: Mapping[str, Reading]
    status: int | None = None


@dataclass(frozen=True, slots=True)
class LoadProfile:
    """A load profile read once: its code (``1.0.99.1.0.255``, ``P.01``), the capture period in seconds and the
    entries in time order. ``status_code`` names the status column (``96.10.1``) when the meter captures one."""

    code: str
    period: int
    entries: tuple[ProfileEntry, ...]
    status_code: str | None = None
    timings: Timings = field(default_factory=Timings, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the ``profile`` command-line contract: the status, when there is one, is a column of
        its own code (no unit), as the meter captures it."""
        entries = []
        for entry in self.entries:
            values: dict[str, dict[str, Any]] = {
                code: {"value": reading.value, "unit": reading.unit} for code, reading in entry.values.items()
            }
            if entry.status is not None and self.status_code is not None:
                values[self.status_code] = {"value": entry.status, "unit": None}
            entries.append({"time": entry.time.isoformat(), "values": values})
        return {"profile": self.code, "entries": entries}
