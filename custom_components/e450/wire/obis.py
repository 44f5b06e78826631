"""OBIS codes: normalisation of addresses as meters write them, and the one table of the codes this project knows.

The table says, per normalised code, what the quantity is (its name, which the sensors use as their translation
key), its kind, and the unit and decimal scaler a DLMS/COSEM register of that code has when a push does not carry
its scaler_unit. Sensors, the anomaly rules, the meter identity and the DLMS body layouts all read it from here.
Codes follow IEC 62056-6-1 (value groups C.D.E); see docs/iec62056-21.md §5.4 and §6.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
import re
from typing import Final

# value groups A-B: prefix ("1-0:", "0-0:", "1-1:", "0-1:")
_PREFIX = re.compile(r"^(?P<medium>\d{1,3})-(?P<channel>\d{1,3}):")
_HISTORY = re.compile(r"^(?P<code>[^*&]+)(?P<suffix>[*&]\d+)?$")


@lru_cache(maxsize=4096)
def normalize_address(address: str) -> tuple[str, str | None]:
    """Return ``(code, history)`` for a data-set address.

    ``1-0:1.8.0*255`` → ``("1.8.0", None)``; ``1.8.1*12`` → ``("1.8.1", "*12")``;
    ``32.7`` → ``("32.7.0", None)``. ``*255`` marks the current value (IEC 62056-6-1), any other ``*NN``
    or ``&NN`` a stored billing-period value that must never overwrite the current register.

    Value group B is the channel (IEC 62056-6-1 §5.3). Channels 0 and 1 are dropped with A: most meters write 0,
    Kamstrup writes 1 on every code, its clock ``0-1:1.0.0`` included. A higher channel is kept with A, so that
    two channels never merge into one code: ``0-2:24.2.1`` (the second M-Bus device's reading) stays apart from
    channel 1's ``24.2.1``.
    """
    text = address.strip()
    channel = ""
    if (prefix := _PREFIX.match(text)) is not None:
        medium, number = int(prefix["medium"]), int(prefix["channel"])
        if number > 1:
            channel = f"{medium}-{number}:"
        text = text[prefix.end() :]
    match = _HISTORY.match(text)
    if match is None:
        return channel + text, None
    code, suffix = match.group("code"), match.group("suffix")
    if suffix == "*255":
        suffix = None
    parts = code.split(".")
    # reduced numeric forms C.D ("32.7", "0.0") gain the implied E group 0; letter codes (F.F, C.7) stay
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        code = f"{code}.0"
    return channel + code, suffix


class Kind(StrEnum):
    """What kind of quantity a code carries."""

    ENERGY = "energy"  # a cumulative register: never goes down but for a meter reset
    POWER = "power"
    VOLTAGE = "voltage"
    CURRENT = "current"
    FREQUENCY = "frequency"
    POWER_FACTOR = "power_factor"
    ANGLE = "angle"
    COUNTER = "counter"
    STATUS = "status"  # the error register: hexadecimal flags, not a number
    CLOCK = "clock"
    IDENTITY = "identity"  # serial numbers, device names, firmware: text


@dataclass(frozen=True, slots=True)
class Quantity:
    """One known code."""

    name: str | None  # the sensor's translation key; ``None``: no sensor of its own
    kind: Kind
    unit: str | None = None  # a DLMS register's unit when the push does not say
    exponent: int = 0  # and its decimal scaler (-2: hundredths)


# Codes with a meaning of their own, named once for every module.
CLOCK_TIME: Final = "0.9.1"
CLOCK_DATE: Final = "0.9.2"
ERROR_REGISTER: Final = "F.F"
POWER_FAILURES: Final = "C.7.0"
FREQUENCY: Final = "14.7.0"
PHASE_VOLTAGES: Final = (("L1", "32.7.0"), ("L2", "52.7.0"), ("L3", "72.7.0"))
METER_NUMBER: Final = "96.1.0"
LOGICAL_DEVICE_NAME: Final = "42.0.0"  # COSEM: flag id + serial
# Where meters put their serial number, in order of preference (docs/iec62056-21.md §6.4; DLMS pushes use 96.1.x
# for the meter number and 42.0.0 for the logical device name).
# Kamstrup pushes their GS1 meter id as 0.0.5 and the meter type as 96.1.1.
SERIAL_CODES: Final = ("C.1.0", "0.0.0", "0.0.1", "0.0.5", METER_NUMBER, "96.1.1", LOGICAL_DEVICE_NAME)
FIRMWARE_CODES: Final = ("0.2.0",)


def _table() -> dict[str, Quantity]:
    table: dict[str, Quantity] = {}
    directions = {1: "energy_import", 2: "energy_export", 3: "reactive_energy_import", 4: "reactive_energy_export"}
    for c in range(1, 9):  # active import/export, reactive import/export and quadrants I-IV: total and tariffs
        unit = "Wh" if c <= 2 else "varh"
        name = directions.get(c)
        table[f"{c}.8.0"] = Quantity(name, Kind.ENERGY, unit)
        for tariff in range(1, 10):
            table[f"{c}.8.{tariff}"] = Quantity(f"{name}_tariff" if name else None, Kind.ENERGY, unit)
    table["15.8.0"] = Quantity("energy_absolute", Kind.ENERGY, "Wh")
    for c in (9, 10):
        table[f"{c}.8.0"] = Quantity(None, Kind.ENERGY, "VAh")
        table[f"{c}.7.0"] = Quantity(None, Kind.POWER, "VA")
    powers = {
        1: ("power_import", "W"),
        2: ("power_export", "W"),
        3: ("reactive_power_import", "var"),
        4: ("reactive_power_export", "var"),
        5: (None, "var"),
        6: (None, "var"),
        7: (None, "var"),
        8: (None, "var"),
        16: ("power", "W"),
        131: ("reactive_power", "var"),
        21: ("power_import_l1", "W"),
        41: ("power_import_l2", "W"),
        61: ("power_import_l3", "W"),
        22: ("power_export_l1", "W"),
        42: ("power_export_l2", "W"),
        62: ("power_export_l3", "W"),
        36: ("power_l1", "W"),
        56: ("power_l2", "W"),
        76: ("power_l3", "W"),
        151: ("reactive_power_l1", "var"),
        171: ("reactive_power_l2", "var"),
        191: ("reactive_power_l3", "var"),
    }
    for c, (name, unit) in powers.items():
        table[f"{c}.7.0"] = Quantity(name, Kind.POWER, unit)
    for c, name in ((12, None), (32, "voltage_l1"), (52, "voltage_l2"), (72, "voltage_l3")):
        table[f"{c}.7.0"] = Quantity(name, Kind.VOLTAGE, "V")
    # E450 CII lists: currents in 0.01 A (VSE 2026 vector: 9 → 0.09 A)
    for c, name in ((11, None), (31, "current_l1"), (51, "current_l2"), (71, "current_l3"), (91, None)):
        table[f"{c}.7.0"] = Quantity(name, Kind.CURRENT, "A", -2)
    table[FREQUENCY] = Quantity("frequency", Kind.FREQUENCY, "Hz")
    # power factor: 0.001 (E570 vector: 1000 → 1.000)
    for c, name in ((13, "power_factor"), (33, "power_factor_l1"), (53, "power_factor_l2"), (73, "power_factor_l3")):
        table[f"{c}.7.0"] = Quantity(name, Kind.POWER_FACTOR, None, -3)
    for e, name in (
        (1, "angle_u2_u1"),
        (2, "angle_u3_u1"),
        (4, "angle_i1_u1"),
        (15, "angle_i2_u2"),
        (26, "angle_i3_u3"),
    ):
        table[f"81.7.{e}"] = Quantity(name, Kind.ANGLE)  # unit not published for pushes: kept raw there
    table[ERROR_REGISTER] = Quantity("error_register", Kind.STATUS)
    table[POWER_FAILURES] = Quantity("power_failures", Kind.COUNTER)
    table[CLOCK_TIME] = Quantity("meter_clock", Kind.CLOCK)
    table[CLOCK_DATE] = Quantity(None, Kind.CLOCK)
    for code in (*SERIAL_CODES, *FIRMWARE_CODES, "96.1.1", "0.2.129"):
        table.setdefault(code, Quantity(None, Kind.IDENTITY))
    return table


OBIS: Final[dict[str, Quantity]] = _table()
# Codes whose numbers are names, flags or dates: never readings.
NOT_READINGS: Final = frozenset(
    code for code, quantity in OBIS.items() if quantity.kind in (Kind.STATUS, Kind.CLOCK, Kind.IDENTITY)
)
