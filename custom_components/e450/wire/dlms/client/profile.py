"""Reading a load profile: a profile generic object (interface class 7, IEC 62056-6-2 §4.3.6 / Blue Book §4.3.6)
read as a :class:`~.reading.Read` (docs/dlms-client.md §5).

The columns first (attribute 3 ``capture_objects``) and the capture period (attribute 4), then the ``scaler_unit``
of every captured register not yet known, then the buffer (attribute 2) restricted by a range descriptor (access
selector 1: the clock column between two date-times; Green Book §9.3.6, GET with selective access). A meter that
refuses selective access (a data-access-result, an exception-response, or no selective-access conformance bit)
gives its whole buffer, filtered here by the same range. Over short names the range travels as parameterized
access of a ReadRequest (:mod:`.shortname`), the same selector and parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, auto
from typing import Final

from ...errors import ClientProblem, DlmsClientError
from ...models import Identification, LoadProfile, ProfileEntry, Reading, Timings
from ...obis import normalize_address
from ..axdr import (
    ARRAY,
    DATE_TIME,
    INT8,
    NULL,
    NUMERIC,
    OCTET_STRING,
    STRUCTURE,
    UINT16,
    Data,
    cosem_datetime,
    encode,
    obis_bytes,
    obis_text,
)
from .association import Association
from .cosem import CLOCK, EXTENDED_REGISTER, PROFILE_GENERIC, REGISTER, scaled, scaling_of
from .get import Attribute, DataAccessResult, Result
from .reading import Request, Scalers, batches

BUFFER: Final = 2
CAPTURE_OBJECTS: Final = 3
CAPTURE_PERIOD: Final = 4
BY_RANGE: Final = 1  # access selector 1: range_descriptor (Blue Book class 7, attribute 2)
DEMAND_REGISTER: Final = 5
LOAD_PROFILE: Final = "1-0:99.1.0"  # load profile with recording period 1 (IEC 62056-6-1 §5.10)
# where each register class keeps its scaler_unit (class 5: attribute 4; its values are attributes 2 and 3)
SCALER_ATTRIBUTE: Final = {REGISTER: 3, EXTENDED_REGISTER: 3, DEMAND_REGISTER: 4}
STATUS_GROUPS: Final = (96, 10)  # C.D of the status registers 0-0:96.10.n (IEC 62056-6-1 §7.5.3)
_UNSPECIFIED_DEVIATION: Final = 0x8000


class ColumnKind(Enum):
    """What a captured object is to a reader of the profile."""

    CLOCK = auto()
    REGISTER = auto()
    STATUS = auto()
    OTHER = auto()  # captured, but not a value with a unit (an event code, a counter of another class): skipped


@dataclass(frozen=True, slots=True)
class Column:
    """One capture object ``{class_id, logical_name, attribute_index, data_index}``."""

    attribute: Attribute
    data_index: int

    @property
    def kind(self) -> ColumnKind:
        attribute, obis = self.attribute, self.attribute.obis
        if attribute.class_id == CLOCK and attribute.attribute == 2:
            return ColumnKind.CLOCK
        if self.data_index == 0 and obis[2:4] == bytes(STATUS_GROUPS):
            return ColumnKind.STATUS
        if self.data_index == 0 and attribute.attribute in (2, 3) and attribute.class_id in SCALER_ATTRIBUTE:
            return ColumnKind.REGISTER
        return ColumnKind.OTHER

    @property
    def code(self) -> str:
        """The normalised code (``1.8.0``, ``96.10.1``)."""
        return normalize_address(obis_text(self.attribute.obis))[0]

    @property
    def scaler(self) -> Attribute:
        """The register's ``scaler_unit`` attribute."""
        attribute = self.attribute
        return Attribute(attribute.class_id, attribute.obis, SCALER_ATTRIBUTE[attribute.class_id])


def parse_capture_objects(result: Result) -> tuple[Column, ...]:
    """``array of {long-unsigned class_id, octet-string logical_name, integer attribute_index, long-unsigned
    data_index}``; ``()`` when the meter gave none."""
    if not isinstance(result, Data) or result.tag != ARRAY:
        return ()
    columns = []
    for item in result.items:
        fields = item.items
        if item.tag != STRUCTURE or len(fields) != 4 or not fields[1].is_octets(6):
            raise DlmsClientError(ClientProblem.MALFORMED, f"capture object {item}")
        class_id, obis, index, data_index = (field.value for field in fields)
        if not (isinstance(class_id, int) and isinstance(obis, bytes) and isinstance(index, int)):
            raise DlmsClientError(ClientProblem.MALFORMED, f"capture object {item}")
        columns.append(Column(Attribute(class_id, obis, index), data_index if isinstance(data_index, int) else 0))
    return tuple(columns)


def datetime_octets(moment: datetime) -> bytes:
    """A 12-byte COSEM date-time of meter time: hundredths 0, deviation unspecified, clock status 0."""
    return (
        moment.year.to_bytes(2, "big")
        + bytes([moment.month, moment.day, moment.isoweekday(), moment.hour, moment.minute, moment.second, 0])
        + _UNSPECIFIED_DEVIATION.to_bytes(2, "big")
        + b"\x00"
    )


def range_descriptor(start: datetime, end: datetime) -> bytes:
    """Access selector 1 and its ``range_descriptor``: restricting object the clock column {8, 0-0:1.0.0, 2, 0},
    from and to as date-time octet-strings, ``selected_values`` empty (every column)."""
    restricting = Data(
        STRUCTURE,
        (Data(UINT16, CLOCK), Data(OCTET_STRING, obis_bytes("0-0:1.0.0")), Data(INT8, 2), Data(UINT16, 0)),
    )
    parameters = Data(
        STRUCTURE,
        (
            restricting,
            Data(OCTET_STRING, datetime_octets(start)),
            Data(OCTET_STRING, datetime_octets(end)),
            Data(ARRAY, ()),
        ),
    )
    return bytes([BY_RANGE]) + encode(parameters)


def dotted(obis: bytes) -> str:
    """``1.0.99.1.0.255``: the six groups as the command line names a profile."""
    return ".".join(str(group) for group in obis)


class ProfileRead:
    """One profile generic's entries between ``start`` and ``end`` (meter time, both included)."""

    def __init__(self, start: datetime, end: datetime, code: str = LOAD_PROFILE, scalers: Scalers | None = None):
        if end < start:
            raise ValueError(f"the range ends ({end}) before it starts ({start})")
        self.start, self.end = start, end
        self.scalers: Scalers = scalers if scalers is not None else {}
        obis = obis_bytes(code)
        self.buffer = Attribute(PROFILE_GENERIC, obis, BUFFER)
        self._capture_objects = Attribute(PROFILE_GENERIC, obis, CAPTURE_OBJECTS)
        self._capture_period = Attribute(PROFILE_GENERIC, obis, CAPTURE_PERIOD)
        self._requests: list[Request] = []
        self._size = 1
        self._selective = False
        self._columns: tuple[Column, ...] = ()
        self._period = 0
        self._rows: Result | None = None
        self.filtered_here = False  # the meter gave its whole buffer: the range was applied by the client

    def begin(self, association: Association, list_size: int) -> None:
        self._size = list_size
        self._selective = association.selective_access
        self._requests = batches([self._capture_objects, self._capture_period], list_size)

    def next_request(self) -> Request | None:
        return self._requests.pop(0) if self._requests else None

    def answered(self, request: Request, results: tuple[Result, ...]) -> None:
        for attribute, result in zip(request.attributes, results, strict=True):
            if attribute == self._capture_objects:
                self._plan(result)
            elif attribute == self._capture_period:
                self._period = result.value if isinstance(result, Data) and isinstance(result.value, int) else 0
            elif attribute == self.buffer:
                self._buffer(request, result)
            else:
                value = Attribute(attribute.class_id, attribute.obis, 2)
                self.scalers[value] = scaling_of(result)

    def _plan(self, result: Result) -> None:
        """The columns are known: the scalers still missing, then the buffer (by range when the meter allows)."""
        self._columns = parse_capture_objects(result)
        if not self._columns:
            why = result.name.lower() if isinstance(result, DataAccessResult) else "no capture objects"
            raise DlmsClientError(ClientProblem.OBJECT_UNAVAILABLE, f"profile {obis_text(self.buffer.obis)}: {why}")
        if not any(column.kind is ColumnKind.CLOCK for column in self._columns):
            raise DlmsClientError(ClientProblem.MALFORMED, "the profile captures no clock: its entries have no time")
        missing = [
            column.scaler
            for column in self._columns
            if column.kind is ColumnKind.REGISTER and self._value(column) not in self.scalers
        ]
        self._requests += batches(list(dict.fromkeys(missing)), self._size)
        access = range_descriptor(self.start, self.end) if self._selective else b""
        self.filtered_here = not access
        self._requests.append(Request((self.buffer,), access))

    @staticmethod
    def _value(column: Column) -> Attribute:
        return Attribute(column.attribute.class_id, column.attribute.obis, 2)

    def _buffer(self, request: Request, result: Result) -> None:
        if isinstance(result, DataAccessResult) and request.access:
            self.filtered_here = True  # selective access refused: the whole buffer, filtered here
            self._requests.append(Request((self.buffer,)))
            return
        if not isinstance(result, Data) or result.tag != ARRAY:
            why = result.name.lower() if isinstance(result, DataAccessResult) else f"type 0x{result.tag:02x}"
            raise DlmsClientError(ClientProblem.OBJECT_UNAVAILABLE, f"profile buffer: {why}")
        self._rows = result

    def result(self, identification: Identification | None, timings: Timings) -> LoadProfile:
        assert isinstance(self._rows, Data)
        status = next((column for column in self._columns if column.kind is ColumnKind.STATUS), None)
        entries = tuple(entry for entry in self._entries(self._rows.items) if self.start <= entry.time <= self.end)
        return LoadProfile(
            dotted(self.buffer.obis), self._period, entries, status.code if status else None, timings=timings
        )

    def _entries(self, rows: tuple[Data, ...]) -> list[ProfileEntry]:
        """Rows in capture order; a null clock is the previous entry's time plus the period (Blue Book §4.3.6:
        meters may leave out a time that follows from the one before)."""
        entries: list[ProfileEntry] = []
        previous: datetime | None = None
        for row in rows:
            fields = row.items
            if row.tag != STRUCTURE or len(fields) != len(self._columns):
                raise DlmsClientError(ClientProblem.MALFORMED, f"a profile row of {len(fields)} columns")
            moment: datetime | None = None
            values: dict[str, Reading] = {}
            status: int | None = None
            for column, field in zip(self._columns, fields, strict=True):
                kind = column.kind
                if kind is ColumnKind.CLOCK:
                    moment = self._time(field, previous)
                elif kind is ColumnKind.STATUS and isinstance(field.value, int):
                    status = field.value
                elif kind is ColumnKind.REGISTER and field.tag in NUMERIC and isinstance(field.value, int | float):
                    scaling = self.scalers.get(self._value(column))
                    number, _ = scaled(field.value, scaling)
                    values[column.code] = Reading(number, scaling.unit if scaling is not None else None)
            if moment is None:
                continue  # an entry whose time is neither given nor implied cannot be placed
            previous = moment
            entries.append(ProfileEntry(moment, values, status))
        return entries

    def _time(self, field: Data, previous: datetime | None) -> datetime | None:
        if field.tag == NULL:
            return previous + timedelta(seconds=self._period) if previous is not None and self._period else None
        if field.tag == DATE_TIME or field.is_octets(12):
            assert isinstance(field.value, bytes)
            return cosem_datetime(field.value)
        return None
