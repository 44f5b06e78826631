"""What a readout says about the meter: maker, serial number, firmware, clock. No Home Assistant import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import re

from .meter_names import MeterType, list_maker, meter_type, pushed_type, stored_type
from .wire import Readout
from .wire.obis import CLOCK_DATE, CLOCK_TIME, FIRMWARE_CODES, LOGICAL_DEVICE_NAME, METER_NUMBER, SERIAL_CODES
from .wire.scaling.judge import identity
from .wire.submeters import is_submeter_serial

# Three-letter flag ids (IEC 62056-21:2002 §6.3.2, registered with the DLMS UA; docs/iec62056-21.md §2.4).
# Case-insensitive: the third letter's case only announces the reaction time.
MANUFACTURERS: dict[str, str] = {
    "ABB": "ABB",
    "ACE": "Actaris",
    "AEG": "AEG",
    "AMT": "Aidon",
    "APA": "Apator",
    "AUX": "Ningbo Sanxing (AUX)",
    "DZG": "DZG Metering",
    "EBZ": "EBZ",
    "ELS": "Elster",
    "EMH": "EMH metering",
    "ESY": "EasyMeter",
    "GAV": "Carlo Gavazzi",
    "HAG": "Hager",
    "HLY": "Holley",
    "ISK": "Iskraemeco",
    "ITF": "Itron",
    "ITR": "Itron",
    "KAM": "Kamstrup",
    "KFM": "Kaifa",
    "LGZ": "Landis+Gyr",
    "LOG": "Logarex",
    "MCS": "MetCom Solutions",
    "PAF": "Pafal",
    "SAG": "Sagemcom",
    "SIE": "Siemens",
    "ZPA": "ZPA Smart Energy",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def manufacturer_name(flag: str) -> str:
    """Readable maker for a flag id (``LGZ`` → ``Landis+Gyr``); the flag itself when unknown."""
    return MANUFACTURERS.get(flag.upper(), flag)


def _stated(readout: Readout, code: str) -> str:
    """The text of a serial code, unless it is an M-Bus sub-meter's (wire/submeters.py)."""
    return "" if is_submeter_serial(readout, code) else (readout.text(code) or "").strip()


def meter_serial(readout: Readout) -> str:
    """The meter's serial number, or a stable id from the identification as a last resort. A meter read with the
    DLMS client is known by its logical device name, which every COSEM meter has (its entries always were): the
    serial number it states (0-0:96.1.0) is shown, not used as its id."""
    if readout.referencing is not None and (name := _stated(readout, LOGICAL_DEVICE_NAME)):
        return name
    for code in SERIAL_CODES:
        value = _stated(readout, code)
        if value and value.strip("0"):
            return value
    ident = readout.identification
    if ident is not None:
        return _UNSAFE.sub("_", f"{ident.manufacturer}_{ident.model}").strip("_")
    if readout.push is not None and readout.push.system_title:
        return readout.push.system_title.hex().upper()  # unique per meter (docs/dlms.md §4.1)
    # a list that names nothing but its M-Bus channel 1's serial: still the one stable name it gives
    if (last := (readout.text(METER_NUMBER) or "").strip()).strip("0"):
        return last
    raise ValueError("the readout identifies neither a serial number nor a meter model")


def identified(readout: Readout) -> bool:
    """The readout names its meter (:func:`meter_serial` finds something)."""
    try:
        meter_serial(readout)
    except ValueError:
        return False
    return True


def maker_and_model(readout: Readout) -> tuple[str | None, str | None]:
    """Manufacturer name and model as sent: from the identification, or from what a push says about its meter."""
    found = meter_identity(readout)
    return found.maker, found.sent_model


def _push_flag(readout: Readout) -> str | None:
    """A push's maker: the flag id of its system title or logical device name, else the one its list version
    identifier names (``AIDON_V0001``, ``KFM_001``, ``Kamstrup_V0001``)."""
    pushed = identity(readout)
    return pushed.maker or list_maker((pushed.list_id or "").strip())


def _pushed_type_text(readout: Readout, flag: str | None) -> str | None:
    """The meter type a push sends: 0-0:96.1.7 (Aidon, Kaifa), Kamstrup's 1-1:96.1.1."""
    for code in ("96.1.7", *(("96.1.1",) if flag == "KAM" else ())):
        if value := (readout.text(code) or "").strip():
            return value
    return None


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    """Who the meter is, from what it sends, the same for every path (IEC identification, push lists and system
    title, DLMS client objects)."""

    maker: str | None  # readable: "Aidon"
    sent_model: str | None  # the identification's or the push's type as sent: "ZMXi320AP.B22", "6534"
    type: MeterType | None  # a known type (docs/meter-names.md)
    serial: str | None  # the serial number as the meter states it, or the tail of its logical device name
    pushed: bool = False  # the type came from a push's list (its text is the name users know)

    @property
    def name(self) -> str | None:
        """The name users know: ``E450``, ``OMNIPOWER``, or the type a push sends (``6534``)."""
        return self.type.name if self.type is not None else (self.sent_model if self.pushed else None)

    @property
    def model(self) -> str | None:
        """For the device's model: ``E450 (ZMXi320AP)``, ``OMNIPOWER (6841131BN245101092)``, ``6534``."""
        return self.type.model if self.type is not None else self.sent_model


def meter_identity(readout: Readout) -> MeterIdentity:
    """Maker, model and serial number of the meter behind a readout."""
    ident = readout.identification
    serial = serial_number(readout)
    if ident is not None:
        return MeterIdentity(manufacturer_name(ident.manufacturer), ident.model, readout_type(readout), serial)
    flag = _push_flag(readout)
    text = _pushed_type_text(readout, flag) if readout.push is not None else None
    found = pushed_type(flag, text) if flag and text else None
    return MeterIdentity(manufacturer_name(flag) if flag else None, text, found, serial, pushed=text is not None)


def serial_number(readout: Readout) -> str | None:
    """The serial number the meter states (0-0:96.1.0 and the other serial codes), else the tail of its logical
    device name (``LGZ1030655933512`` → ``1030655933512``: flag id and serial); ``None`` when it states neither."""
    for code in SERIAL_CODES:
        value = _stated(readout, code)
        if not value or not value.strip("0"):
            continue
        if code == LOGICAL_DEVICE_NAME and len(value) > 3 and value[:3].isalpha():
            return value[3:]
        return value
    return None


def readout_type(readout: Readout) -> MeterType | None:
    """The meter's type from its identification (docs/meter-names.md); ``None`` for a push or an unknown type."""
    ident = readout.identification
    return meter_type(ident.manufacturer, ident.model) if ident is not None else None


def known_type(manufacturer: str | None, model: str | None) -> MeterType | None:
    """The type from what the device registry kept of a meter (its manufacturer name and model)."""
    if not manufacturer or not model:
        return None
    flags = [flag for flag, name in MANUFACTURERS.items() if name == manufacturer] or [manufacturer]
    return next((found for flag in flags if (found := stored_type(flag, model)) is not None), None)


@dataclass(frozen=True, slots=True)
class DeviceNames:
    """How the meter's device is shown."""

    manufacturer: str | None
    name: str
    model: str | None
    sw_version: str | None
    serial_number: str | None = None  # as the meter states it (not the logical device name)


def device_names(readout: Readout | None, title: str, unique_id: str | None = None) -> DeviceNames:
    """Maker, name, model and firmware of the meter's device. A known type shows the name users know ("Landis+Gyr
    E450", model "E450 (ZMXi320AP)"; a push meter "Aidon 6534"); the entry's title stays the name unless it is one
    the set-up wrote ("Landis+Gyr ZMXi320AP.B22", "DLMS 30137181"), so a title the user chose is kept."""
    if readout is None:
        return DeviceNames(None, title, None, None)
    found = meter_identity(readout)
    maker, known = found.maker, found.name
    if known is None:
        return DeviceNames(maker, title, found.model, firmware(readout), found.serial)
    written = {f"{maker} {found.sent_model}", f"{maker} {known}"}
    if unique_id:  # a push meter's set-up title: maker (or "DLMS") and serial
        written |= {f"{maker or 'DLMS'} {unique_id}", f"DLMS {unique_id}"}
    name = f"{maker} {known}" if maker and title in written else title
    sw_version = firmware(readout) or (found.type.firmware if found.type is not None else None)
    return DeviceNames(maker, name, found.model, sw_version, found.serial)


def firmware(readout: Readout) -> str | None:
    """Firmware version (0.2.0) as transmitted."""
    for code in FIRMWARE_CODES:
        value = (readout.text(code) or "").strip()
        if value:
            return value
    return None


_TIME = re.compile(r"^(\d\d):?(\d\d):?(\d\d)$")
_DATE = re.compile(r"^\d?(\d\d)-?(\d\d)-?(\d\d)$")  # yymmdd, yy-mm-dd, and a leading season/century digit


def meter_clock(readout: Readout) -> datetime | None:
    """The meter's local date and time (0.9.2 date, 0.9.1 time), naive; ``None`` when absent or invalid."""
    date_text = (readout.text(CLOCK_DATE) or "").strip()
    time_text = (readout.text(CLOCK_TIME) or "").strip()
    date_match, time_match = _DATE.match(date_text), _TIME.match(time_text)
    if date_match is None or time_match is None:
        return None
    year, month, day = (int(part) for part in date_match.groups())
    hour, minute, second = (int(part) for part in time_match.groups())
    try:
        return datetime(2000 + year, month, day, hour, minute, second)
    except ValueError:
        return None
