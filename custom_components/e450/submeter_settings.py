"""What a sub-meter's total is: its medium, its unit and the power of ten of its number, from the meter where it
says them (the M-Bus client's device type, the extended register's scaler_unit) and else from the user's options
for the channel (docs/mbus-submeters.md §4). Where neither says the scale, the total is not settled: it is held back
(no state) and a repair issue asks the user, rather than a number at a guessed scale reaching the Energy dashboard.
Pure: no entity, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import UnitOfEnergy, UnitOfVolume

from .wire.models import scaled
from .wire.submeters import Medium, SubMeter

CONF_SUBMETERS: Final = "submeters"  # options: {"1": {"medium": "gas", "unit": "m³", "exponent": -3}, …}
CONF_MEDIUM: Final = "medium"
CONF_UNIT: Final = "unit"
CONF_EXPONENT: Final = "exponent"
AS_SENT: Final = "meter"  # the options' choice for "what the meter says"

# the units a user may give a channel's number, by medium; the first is the one a medium gets when nothing says
UNITS_FOR: Final[dict[Medium, tuple[str, ...]]] = {
    Medium.GAS: (UnitOfVolume.CUBIC_METERS,),
    Medium.WATER: (UnitOfVolume.CUBIC_METERS, UnitOfVolume.LITERS),
    Medium.HEAT: (UnitOfEnergy.KILO_WATT_HOUR, UnitOfEnergy.MEGA_WATT_HOUR, UnitOfEnergy.GIGA_JOULE),
    Medium.OTHER: (
        UnitOfVolume.CUBIC_METERS,
        UnitOfVolume.LITERS,
        UnitOfEnergy.KILO_WATT_HOUR,
        UnitOfEnergy.MEGA_WATT_HOUR,
        UnitOfEnergy.GIGA_JOULE,
    ),
}
ALL_UNITS: Final = UNITS_FOR[Medium.OTHER]
EXPONENTS: Final = (-4, -3, -2, -1, 0, 1, 2, 3)
DEVICE_CLASSES: Final[dict[Medium, SensorDeviceClass]] = {
    Medium.GAS: SensorDeviceClass.GAS,
    Medium.WATER: SensorDeviceClass.WATER,
    Medium.HEAT: SensorDeviceClass.ENERGY,
}
# the DLMS units a sub-meter's scaler_unit names, as the unit shown and the powers of ten from one to the other
_SENT_UNITS: Final[dict[str, tuple[str, int]]] = {
    "m³": (UnitOfVolume.CUBIC_METERS, 0),
    "L": (UnitOfVolume.LITERS, 0),
    "Wh": (UnitOfEnergy.KILO_WATT_HOUR, -3),
    "J": (UnitOfEnergy.GIGA_JOULE, -9),
}


@dataclass(frozen=True, slots=True)
class ChannelOptions:
    """The user's choices for one channel; ``None``: as the meter says."""

    medium: Medium | None = None
    unit: str | None = None
    exponent: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """As stored in the entry's options."""
        return {CONF_MEDIUM: self.medium, CONF_UNIT: self.unit, CONF_EXPONENT: self.exponent}


def channel_options(options: Mapping[str, Any]) -> dict[int, ChannelOptions]:
    """The channels' options from the entry's options; values that are not (or no longer) valid are ignored."""
    found: dict[int, ChannelOptions] = {}
    for key, stored in (options.get(CONF_SUBMETERS) or {}).items():
        if not isinstance(stored, Mapping) or not str(key).isdigit():
            continue
        medium = stored.get(CONF_MEDIUM)
        unit, exponent = stored.get(CONF_UNIT), stored.get(CONF_EXPONENT)
        found[int(key)] = ChannelOptions(
            Medium(medium) if medium in set(Medium) else None,
            unit if unit in ALL_UNITS else None,
            exponent if isinstance(exponent, int) and exponent in EXPONENTS else None,
        )
    return found


@dataclass(frozen=True, slots=True)
class Total:
    """How a channel's total is shown: medium, unit, power of ten applied to the number as sent, and whether the
    meter (``True``) or the user's options said the scale. ``unit`` is ``None`` when nothing said it: the total is
    not settled, and shows no number until the user chooses (:attr:`settled`)."""

    medium: Medium
    unit: str | None
    exponent: int
    sent: bool

    @property
    def settled(self) -> bool:
        """Whether the meter or the user said the unit and scale: only then is the total a number to show."""
        return self.unit is not None

    @property
    def usual_unit(self) -> str:
        """The unit the options step offers first: the one said, else the medium's usual one."""
        return self.unit or UNITS_FOR[self.medium][0]

    @property
    def device_class(self) -> SensorDeviceClass | None:
        """The device class, when the unit is one Home Assistant takes for the medium."""
        device_class = DEVICE_CLASSES.get(self.medium)
        return device_class if device_class is not None and self.unit in UNITS_FOR[self.medium] else None

    def value(self, raw: int | float) -> int | float:
        """The number as sent, in the total's unit."""
        return scaled(raw, self.exponent)


def total_of(submeter: SubMeter, options: ChannelOptions | None) -> Total:
    """The medium, unit and scale of a channel's total: the user's options first, then what the meter sent; else
    not settled (no unit: a gas meter counting litres shown as m³ at 10^0 would be 1,000 times too large)."""
    chosen = options or ChannelOptions()
    medium = chosen.medium or submeter.medium or Medium.OTHER
    if chosen.unit is not None and chosen.exponent is not None:
        return Total(medium, chosen.unit, chosen.exponent, sent=False)
    if submeter.exponent is not None and submeter.unit in _SENT_UNITS:
        unit, shift = _SENT_UNITS[submeter.unit]
        return Total(medium, unit, submeter.exponent + shift, sent=True)
    return Total(medium, None, 0, sent=False)
