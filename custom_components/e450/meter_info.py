"""What a readout says about the meter: maker, serial number, firmware, clock. No Home Assistant import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import re

from .meter_names import MeterType, meter_type, stored_type
from .wire import Readout
from .wire.obis import CLOCK_DATE, CLOCK_TIME, FIRMWARE_CODES, LOGICAL_DEVICE_NAME, SERIAL_CODES

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


def meter_serial(readout: Readout) -> str:
    """The meter's serial number, or a stable id from the identification as a last resort."""
    for code in SERIAL_CODES:
        value = (readout.text(code) or "").strip()
        if value and value.strip("0"):
            return value
    ident = readout.identification
    if ident is not None:
        return _UNSAFE.sub("_", f"{ident.manufacturer}_{ident.model}").strip("_")
    if readout.push is not None and readout.push.system_title:
        return readout.push.system_title.hex().upper()  # unique per meter (docs/dlms.md §4.1)
    raise ValueError("the readout identifies neither a serial number nor a meter model")


def identified(readout: Readout) -> bool:
    """The readout names its meter (:func:`meter_serial` finds something)."""
    try:
        meter_serial(readout)
    except ValueError:
        return False
    return True


def maker_and_model(readout: Readout) -> tuple[str | None, str | None]:
    """Manufacturer name and model: from the identification, or from a push's system title (no model there)."""
    ident = readout.identification
    if ident is not None:
        return manufacturer_name(ident.manufacturer), ident.model
    flag = readout.push.manufacturer if readout.push is not None else None
    device_name = (readout.text(LOGICAL_DEVICE_NAME) or "").strip()  # COSEM logical device name: flag id + serial
    if flag is None and len(device_name) > 3 and device_name[:3].isalpha():
        flag = device_name[:3]
    return (manufacturer_name(flag) if flag else None), None


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


def device_names(readout: Readout | None, title: str) -> DeviceNames:
    """Maker, name, model and firmware of the meter's device. A known type shows the name users know ("Landis+Gyr
    E450", model "E450 (ZMXi320AP)"); the entry's title stays the name unless it is the identification as the
    set-up wrote it ("Landis+Gyr ZMXi320AP.B22"), so a title the user chose is kept."""
    if readout is None:
        return DeviceNames(None, title, None, None)
    maker, model = maker_and_model(readout)
    found = readout_type(readout)
    if found is None:
        return DeviceNames(maker, title, model, firmware(readout))
    name = f"{maker} {found.name}" if title in (f"{maker} {model}", f"{maker} {found.name}") else title
    return DeviceNames(maker, name, found.model, firmware(readout) or found.firmware)


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
