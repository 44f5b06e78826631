"""Immutable result models: parsed once at the boundary, typed, comparable by value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .obis import normalize_address


class ProtocolMode(StrEnum):
    """IEC 62056-21 protocol modes (clause 6)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class BccStatus(StrEnum):
    """Outcome of the block check of a data message."""

    OK = "ok"
    MISMATCH = "mismatch"
    ABSENT = "absent"


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
        """A lowercase third flag letter allows a 20 ms reaction time (IEC 62056-21 6.3.14)."""
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


@dataclass(frozen=True, slots=True)
class Reading:
    """A current numeric register value with its unit exactly as transmitted."""

    value: float
    unit: str | None


@dataclass(frozen=True, slots=True)
class DataSet:
    """``address(value*unit)(...)``: one data set of a readout."""

    address: str
    values: tuple[DataValue, ...]

    @property
    def obis(self) -> str:
        """Normalised code: no ``A-B:`` prefix, no ``*255``, padded to three groups."""
        return normalize_address(self.address)[0]

    @property
    def history(self) -> str | None:
        """Stored-value suffix (``*12``, ``&03``) or ``None`` for the current value."""
        return normalize_address(self.address)[1]

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
    security: str  # none, encrypted, authenticated
    tag: str | None  # ok, failed, unchecked; None without a tag
    time: datetime | None = None  # the meter's local time of the push
    layout: str | None = None
    profile: str | None = None

    @property
    def manufacturer(self) -> str | None:
        """The three-letter flag id that opens an E450's system title (``LGZ``)."""
        flag = (self.system_title or b"")[:3]
        return flag.decode("ascii") if len(flag) == 3 and flag.isalpha() else None


@dataclass(frozen=True, slots=True)
class Readout:
    """Everything one read produced."""

    identification: Identification | None
    datasets: tuple[DataSet, ...]
    bcc: BccStatus
    # what was read, not how long it took: two readouts with the same content compare equal
    raw: bytes = field(default=b"", compare=False)
    timings: Timings = field(default_factory=Timings, compare=False)
    push: PushInfo | None = field(default=None, compare=False)  # set when the values came from a DLMS push

    @property
    def readings(self) -> dict[str, Reading]:
        """Current numeric values with a unit, keyed by normalised OBIS code (first one wins)."""
        from .dataset import numeric_value  # local: dataset imports models

        result: dict[str, Reading] = {}
        for dataset in self.datasets:
            first = dataset.first
            if first is None or dataset.history is not None or not first.unit:
                continue
            number = numeric_value(first.value)
            if number is None or dataset.obis in result:
                continue
            result[dataset.obis] = Reading(number, first.unit)
        return result

    def current(self, obis: str) -> DataSet | None:
        """The current (non-history) data set for a normalised code."""
        for dataset in self.datasets:
            if dataset.history is None and dataset.obis == obis:
                return dataset
        return None

    def text(self, obis: str) -> str | None:
        """The first value of the current data set for a code, as transmitted."""
        dataset = self.current(obis)
        if dataset is None or dataset.first is None:
            return None
        return dataset.first.value

    def number(self, obis: str) -> Reading | None:
        """The current value of a code as a number, with its unit if it has one (``13.7.0(0.98)`` has none)."""
        from .dataset import numeric_value  # local: dataset imports models

        dataset = self.current(obis)
        if dataset is None or dataset.first is None:
            return None
        value = numeric_value(dataset.first.value)
        return None if value is None else Reading(value, dataset.first.unit)
