"""The COSEM objects a reading client asks for, and what their answers mean (IEC 62056-6-2 interface classes;
docs/dlms-client.md §4): registers (class 3, and 4 extended, with attribute 3 ``scaler_unit``; class 5 demand
registers with attribute 4), data objects (class 1, value only), the clock (class 8), the logical device name
(class 1, 0-0:42.0.0), the association's object list (class 15 attribute 2), and the M-Bus sub-meters' channel
objects (class 72 attribute 9, the extended register's status and capture time; docs/mbus-submeters.md §7).

Everything here is pure: descriptors in, :class:`~...models.DataSet` out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ...models import DataSet, DataValue
from ...obis import OBIS, Kind, normalize_address
from ...submeters import CHANNELS, CLIENT_CODE, DEVICE_TYPE, SERIAL_CODE, STATUS, VALUE_CODE
from ..axdr import (
    ARRAY,
    DATE_TIME,
    NUMERIC,
    OCTET_STRING,
    STRUCTURE,
    UINT16,
    VISIBLE_STRING,
    Data,
    cosem_datetime,
    obis_bytes,
    obis_text,
)
from ..units import CAPTURE_TIME, SCALER_UNIT, Scaling, attribute_value, scaler_unit
from .get import Attribute, Result

DATA: Final = 1
REGISTER: Final = 3
EXTENDED_REGISTER: Final = 4
DEMAND_REGISTER: Final = 5
PROFILE_GENERIC: Final = 7
CLOCK: Final = 8
ASSOCIATION_LN: Final = 15
MBUS_CLIENT: Final = 72
VALUE: Final = 2
REGISTER_CLASSES: Final = frozenset({REGISTER, EXTENDED_REGISTER})
# where each class keeps its scaler_unit (Blue Book: register and extended register 3, demand register 4)
SCALER_ATTRIBUTES: Final = {REGISTER: SCALER_UNIT, EXTENDED_REGISTER: SCALER_UNIT, DEMAND_REGISTER: 4}
# an M-Bus channel's objects a read asks for, by (class, code of value groups C.D.E): the sub-meter's reading, its
# medium (the M-Bus client's device type) and its serial number (docs/mbus-submeters.md §1, §7)
CHANNEL_OBJECTS: Final = frozenset({(EXTENDED_REGISTER, VALUE_CODE), (MBUS_CLIENT, CLIENT_CODE), (DATA, SERIAL_CODE)})
# what a sub-meter's reading is read with, every cycle (its scaler_unit once, as any register's)
READING_ATTRIBUTES: Final = (STATUS, CAPTURE_TIME)

LOGICAL_DEVICE_NAME: Final = Attribute(DATA, obis_bytes("0-0:42.0.0"), VALUE)
SERIAL_NUMBER: Final = Attribute(DATA, obis_bytes("0-0:96.1.0"), VALUE)  # device ID 1: the serial number
CLOCK_TIME: Final = Attribute(CLOCK, obis_bytes("0-0:1.0.0"), 2)
OBJECT_LIST: Final = Attribute(ASSOCIATION_LN, obis_bytes("0-0:40.0.0"), 2)  # the current association

# What a read asks for when the caller names nothing: an E450's billing and instantaneous registers
DEFAULT_REGISTERS: Final = (
    "1.8.0",
    "1.8.1",
    "1.8.2",
    "2.8.0",
    "2.8.1",
    "2.8.2",
    "3.8.0",
    "4.8.0",
    "1.7.0",
    "2.7.0",
    "21.7.0",
    "41.7.0",
    "61.7.0",
    "32.7.0",
    "52.7.0",
    "72.7.0",
    "31.7.0",
    "51.7.0",
    "71.7.0",
    "14.7.0",
)


def register(code: str, class_id: int = REGISTER) -> Attribute:
    """The value attribute of the register ``code`` (``1.8.0``, ``1-0:1.8.0``, ``1-0:1.8.0*255``); of an M-Bus
    client, its device type."""
    return value_attribute(class_id, obis_bytes(code))


def value_attribute(class_id: int, obis: bytes) -> Attribute:
    """What a read cycle reads of an object: its value (attribute 2); an M-Bus client's device type (attribute 9,
    the sub-meter's medium: the client's other attributes address the device on the bus)."""
    return Attribute(class_id, obis, DEVICE_TYPE if class_id == MBUS_CLIENT else VALUE)


def channel_object(value: Attribute) -> str | None:
    """The code (``24.2.1``, ``24.1.0``, ``96.1.0``) of an M-Bus channel's object ``0-n:…`` (n = 1…4) of the class
    :data:`CHANNEL_OBJECTS` names for it; ``None`` for any other object."""
    a, b, c, d, e, _ = value.obis
    code = f"{c}.{d}.{e}"
    return code if a == 0 and b in CHANNELS and (value.class_id, code) in CHANNEL_OBJECTS else None


def reading_attributes(value: Attribute) -> tuple[Attribute, ...]:
    """What is read beside a sub-meter's reading every cycle: its extended register's status and capture time
    (the master reads the sub-meter hourly or daily: the time tells which hour the reading belongs to)."""
    if channel_object(value) != VALUE_CODE:
        return ()
    return tuple(Attribute(value.class_id, value.obis, index) for index in READING_ATTRIBUTES)


def described(attribute: Attribute, result: Result | None) -> tuple[tuple[str, int], object] | None:
    """An attribute that describes a value (a scaler_unit, a status, a capture time, a device type) as
    ``Readout.attributes`` keeps it, the push decoder's way: ``((address, attribute), value)``; ``None`` when the
    meter gave none."""
    if not isinstance(result, Data) or (value := attribute_value(attribute.attribute, result)) is None:
        return None
    return (obis_text(attribute.obis), attribute.attribute), value


def scaler_of(value: Attribute) -> Attribute | None:
    """The ``scaler_unit`` attribute beside a register's value; ``None`` for a class without one (data)."""
    index = SCALER_ATTRIBUTES.get(value.class_id)
    return None if index is None else Attribute(value.class_id, value.obis, index)


@dataclass(frozen=True, slots=True)
class ObjectListEntry:
    """One object the association offers."""

    class_id: int
    version: int
    obis: bytes


def parse_object_list(data: Result) -> tuple[ObjectListEntry, ...]:
    """``array of {class_id, version, logical_name, access_rights}`` (an LN association's), or of ``{base_name,
    class_id, version, logical_name}`` (an SN association's, Blue Book class 12); an entry of another shape is
    skipped."""
    if not isinstance(data, Data) or data.tag != ARRAY:
        return ()
    entries = []
    for item in data.items:
        fields = item.items
        if item.tag == STRUCTURE and len(fields) == 4 and fields[3].is_octets(6) and fields[1].tag == UINT16:
            fields = fields[1:]  # the SN shape: the base name first
        if item.tag != STRUCTURE or len(fields) < 3 or fields[0].tag != UINT16 or not fields[2].is_octets(6):
            continue
        class_id, version, obis = fields[0].value, fields[1].value, fields[2].value
        assert isinstance(class_id, int) and isinstance(obis, bytes)
        entries.append(ObjectListEntry(class_id, version if isinstance(version, int) else 0, obis))
    return tuple(entries)


def _worth_reading(entry: ObjectListEntry) -> bool:
    """Whether a read cycle asks for the object's value: every register (class 3, 4, 5); an M-Bus channel's
    objects (a sub-meter's reading, medium and serial number: a sub-meter can be swapped); a data object (class 1)
    unless it names the meter (serial numbers, firmware: they do not change from one read to the next, and the
    logical device name is read anyway) or counts frames (0-0:43.1.x, a security object)."""
    if entry.class_id in SCALER_ATTRIBUTES or channel_object(value_attribute(entry.class_id, entry.obis)):
        return True
    if entry.class_id != DATA or entry.obis[:3] == bytes((0, 0, 43)):
        return False
    quantity = OBIS.get(normalize_address(obis_text(entry.obis))[0])
    return quantity is None or quantity.kind is not Kind.IDENTITY


def registers_offered(entries: tuple[ObjectListEntry, ...]) -> tuple[Attribute, ...]:
    """The value attributes of the registers (class 3, 4, 5), data objects (class 1) and M-Bus clients (class 72,
    their device type) an object list offers and a read cycle asks for, in its order (the clock and the logical
    device name are read anyway)."""
    return tuple(value_attribute(entry.class_id, entry.obis) for entry in entries if _worth_reading(entry))


def scaled(raw: int | float, scaling: Scaling | None) -> tuple[int | float, str]:
    """The register's value in its unit, and as text with as many decimals as the scaler gives."""
    exponent = scaling.exponent if scaling is not None else 0
    if isinstance(raw, float):
        value: int | float = raw * 10**exponent
        return value, repr(value)
    if exponent >= 0:
        whole = raw * 10**exponent
        return whole, str(whole)
    value = round(raw * 10**exponent, -exponent)
    return value, f"{value:.{-exponent}f}"


def register_dataset(value: Attribute, result: Result | None, scaling: Scaling | None) -> DataSet | None:
    """A register read as a data set (``1-0:1.8.0``, the scaled number, the DLMS unit); a data object's text as
    text; ``None`` when the meter gave neither."""
    if value.class_id == DATA and (text := text_of(result)) and text.isprintable():
        return DataSet.of(obis_text(value.obis), (DataValue(text, None),))
    if not isinstance(result, Data) or result.tag not in NUMERIC or isinstance(result.value, bool):
        return None
    raw = result.value
    assert isinstance(raw, int | float)
    number, text = scaled(raw, scaling)
    unit = scaling.unit if scaling is not None else None
    return DataSet.of(obis_text(value.obis), (DataValue(text, unit),), number)


def scaling_of(result: Result | None) -> Scaling | None:
    """A ``scaler_unit`` answer, or ``None`` when the meter gave none (a class 1 object has no attribute 3)."""
    return scaler_unit(result) if isinstance(result, Data) else None


def text_of(result: Result | None) -> str | None:
    """A logical device name (octet-string or visible-string) as text."""
    if isinstance(result, Data) and result.tag in (OCTET_STRING, VISIBLE_STRING):
        value = result.value
        return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


def clock_of(result: Result | None) -> datetime | None:
    """The clock's time attribute (date-time or its 12-byte octet-string), as naive meter time."""
    if isinstance(result, Data) and (result.tag == DATE_TIME or result.is_octets(12)):
        raw = result.value
        assert isinstance(raw, bytes)
        return cosem_datetime(raw)
    return None


def clock_datasets(moment: datetime) -> tuple[DataSet, ...]:
    """The clock as an IEC 62056-21 readout carries it (0.9.2 date ``yymmdd``, 0.9.1 time ``hhmmss``), so the
    clock check and the meter-clock sensor read a DLMS meter as they read any other."""
    return (
        DataSet.of("0-0:0.9.2", (DataValue(f"{moment:%y%m%d}", None),)),
        DataSet.of("0-0:0.9.1", (DataValue(f"{moment:%H%M%S}", None),)),
    )


def name_dataset(name: str) -> DataSet:
    """The logical device name (flag id and serial, ``LGZ1030655933512``)."""
    return DataSet.of("0-0:42.0.0", (DataValue(name, None),))


def serial_dataset(serial: str) -> DataSet:
    """The serial number as the meter states it (0-0:96.1.0, device ID 1)."""
    return DataSet.of("0-0:96.1.0", (DataValue(serial, None),))


def meter_time(date_text: str | None, time_text: str | None) -> datetime | None:
    """The inverse of :func:`clock_datasets` (for the command line)."""
    try:
        return datetime.strptime(f"{date_text}{time_text}", "%y%m%d%H%M%S")
    except ValueError:
        return None
