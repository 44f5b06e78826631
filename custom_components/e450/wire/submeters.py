"""The meters behind the meter: gas, water and heat meters an E450 reads over its M-Bus port, one per channel.

A DLMS meter with an M-Bus master keeps, per channel ``n`` (value group B, 1 to 4), the sub-meter's reading in the
extended register ``0-n:24.2.1`` (class 4: value, scaler_unit, status, capture_time), its serial number in
``0-n:96.1.0`` and its medium in the M-Bus client ``0-n:24.1.0`` (class 72, attribute 9 ``device_type``, the
EN 13757-3 medium code). A push carries what its list names: often only the value and the serial
(docs/mbus-submeters.md). :func:`submeters` reads a :class:`~.models.Readout` once into one :class:`SubMeter` per
channel that has a sub-meter. No Home Assistant import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import re
from typing import Any, Final

from .dlms.units import CAPTURE_TIME, SCALER_UNIT, Scaling
from .models import Readout, scaled

CHANNELS: Final = range(1, 5)  # an E450's M-Bus master serves four devices
VALUE_CODE: Final = "24.2.1"  # the extended register holding the sub-meter's reading
SERIAL_CODE: Final = "96.1.0"
CLIENT_CODE: Final = "24.1.0"  # the M-Bus client (class 72)
STATUS: Final = 4  # the extended register's (its scaler_unit and capture time: dlms/units.py)
DEVICE_TYPE: Final = 9  # M-Bus client attribute: the EN 13757-3 medium code

_ADDRESS: Final = re.compile(r"^0-(?P<channel>\d):(?P<code>\d+\.\d+\.\d+)(?:\*255)?$")


class Medium(StrEnum):
    """What a sub-meter measures, as far as the Energy dashboard tells them apart."""

    GAS = "gas"
    WATER = "water"
    HEAT = "heat"
    OTHER = "other"


# EN 13757-3 medium (device type) codes the Energy dashboard has a section for; any other code is "other"
MEDIA: Final[dict[int, Medium]] = {
    0x03: Medium.GAS,
    0x04: Medium.HEAT,  # heat, outlet
    0x0C: Medium.HEAT,  # heat, inlet
    0x0D: Medium.HEAT,  # heat and cooling
    0x06: Medium.WATER,  # warm water
    0x07: Medium.WATER,
    0x15: Medium.WATER,  # hot water
    0x16: Medium.WATER,  # cold water
    0x17: Medium.WATER,  # dual register water
}


@dataclass(frozen=True, slots=True)
class SubMeter:
    """One channel's sub-meter as the last readout had it.

    ``raw``: the register's number as sent; ``exponent`` and ``unit``: its scaler_unit when the meter sent it
    (``None``: it did not, the user's options say); ``status``: the extended register's status (0: no error);
    ``captured``: when the E450 read it from the sub-meter (meter's local time, naive); ``medium``: from the
    M-Bus client's device type when sent.
    """

    channel: int
    serial: str | None
    raw: int | float | None
    exponent: int | None = None
    unit: str | None = None
    status: int | None = None
    captured: datetime | None = None
    medium: Medium | None = None
    device_type: int | None = None

    @property
    def value(self) -> int | float | None:
        """The reading at the scale the meter sent (``raw`` when it sent none)."""
        if self.raw is None:
            return None
        return scaled(self.raw, self.exponent) if self.exponent else self.raw

    @property
    def failed(self) -> bool:
        """The M-Bus master reports an error for this channel (a non-zero status)."""
        return bool(self.status)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the ``decode`` command-line contract's ``submeters``."""
        return {
            "channel": self.channel,
            "serial": self.serial,
            "value": self.value,
            "unit": self.unit,
            "status": self.status,
            "captured": self.captured.isoformat() if self.captured else None,
            "medium": self.medium.value if self.medium else None,
        }


def _serial(text: str | None) -> str | None:
    """A serial number as sent; ``None`` for the empty or all-zero one an unused channel carries."""
    value = (text or "").strip()
    return value if value.strip("0") else None


def submeters(readout: Readout) -> tuple[SubMeter, ...]:
    """The sub-meters a readout names, by channel. A channel counts when it carries a serial number, a device type
    or a non-zero value: an E450 sends 0 and an empty serial for a channel with no device."""
    serials: dict[int, str | None] = {}
    values: dict[int, tuple[str, int | float]] = {}
    for dataset in readout.datasets:
        match = _ADDRESS.match(dataset.address)
        if match is None or dataset.history is not None or not dataset.values:
            continue
        channel, code = int(match["channel"]), match["code"]
        if channel not in CHANNELS:
            continue
        if code == SERIAL_CODE:
            serials.setdefault(channel, _serial(dataset.values[0].value))
        elif code == VALUE_CODE and dataset.number is not None:
            values.setdefault(channel, (dataset.address, dataset.number))
    found = []
    for channel in CHANNELS:
        address, raw = values.get(channel, (f"0-{channel}:{VALUE_CODE}", None))
        attributes = readout.attributes
        device_type = _int(attributes.get((f"0-{channel}:{CLIENT_CODE}", DEVICE_TYPE)))
        serial = serials.get(channel)
        if serial is None and device_type is None and not raw:
            continue
        scaling = attributes.get((address, SCALER_UNIT))
        captured = attributes.get((address, CAPTURE_TIME))
        found.append(
            SubMeter(
                channel,
                serial,
                raw,
                scaling.exponent if isinstance(scaling, Scaling) else None,
                scaling.unit if isinstance(scaling, Scaling) else None,
                _int(attributes.get((address, STATUS))),
                captured if isinstance(captured, datetime) else None,
                None if device_type is None else MEDIA.get(device_type, Medium.OTHER),
                device_type,
            )
        )
    return tuple(found)


def is_submeter_serial(readout: Readout, code: str) -> bool:
    """The current data set of ``code`` is the serial number of an M-Bus channel's sub-meter (``0-1:96.1.0`` beside
    ``0-1:24.2.1``), not the meter's own: channel 1 shares its normalised code with the meter's ``0-0:96.1.0``."""
    dataset = readout.current(code)
    match = _ADDRESS.match(dataset.address) if dataset is not None else None
    if match is None or match["code"] != SERIAL_CODE or int(match["channel"]) not in CHANNELS:
        return False
    prefix = f"0-{match['channel']}:24."
    return any(other.address.startswith(prefix) for other in readout.datasets) or any(
        key[0].startswith(prefix) for key in readout.attributes
    )


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
