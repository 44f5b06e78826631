"""The simulated meter's COSEM objects (IEC 62056-6-2 interface classes; docs/dlms-client.md §4): registers with
scaler and unit, the clock, the logical device name, the meter number, a load profile and the association that
lists them all. Two families: E450-like over logical names (association LN, class 15), with the power factor, the
maximum demand (extended register, class 4), the current average demand (demand register, class 5), the active
tariff and the HLS client's frame counter; and ZMD-like (Landis+Gyr ZMD/ZxD/E650) over short names, with more
tariffs, the power factor per phase, a maximum demand and the SN association (class 12 at base name 0xFA00) listing
every object with its base name (docs/dlms-client.md §9). An E450 may also have M-Bus sub-meters: a gas meter on
channel 1 and a water meter on channel 2 (docs/mbus-submeters.md §1, §7), with the readings its pushes carry.

Values come from the same :class:`~.profiles.MeterState` the IEC readout and the pushes show, so the three paths
agree. A-XDR is built with the wire package's encoder (a builder, shared as the design allows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
import struct
from typing import Final

from custom_components.e450.wire.dlms.axdr import (
    ARRAY,
    ENUM,
    INT8,
    INT16,
    NULL,
    OCTET_STRING,
    STRUCTURE,
    UINT8,
    UINT16,
    UINT32,
    Data,
    obis_bytes,
)

from .dlms_push import GAS_SERIAL, LOGICAL_DEVICE_NAME, METER_NUMBER, WATER_SERIAL, cosem_datetime, submeter_readings
from .registers import PROFILE_ENTRIES, PROFILE_PERIOD, Registers


def _u32(value: float) -> Data:
    return Data(UINT32, max(0, min(0xFFFFFFFF, round(value))))


def _u16(value: float) -> Data:
    return Data(UINT16, max(0, min(0xFFFF, round(value))))


def _octets(raw: bytes) -> Data:
    return Data(OCTET_STRING, raw)


def scaler_unit(scaler: int, unit: int) -> Data:
    """``{integer scaler, enum unit}`` (27 W, 30 Wh, 32 varh, 33 A, 35 V, 44 Hz)."""
    return Data(STRUCTURE, (Data(INT8, scaler), Data(ENUM, unit)))


Getter = Callable[[], Data]
Selector = Callable[[int, Data], Data | int]  # (access selector, its parameters) → the selection or a result
OTHER_REASON: Final = 250  # data-access-result of a selection the meter cannot make
ZMD_DEVICE_NAME: Final = "LGZ0073181234567"
ZMD_SERIAL: Final = "73181234"
SN_ASSOCIATION_BASE: Final = 0xFA00  # the current SN association (Blue Book §4.4.3)
SN_FIRST_BASE: Final = 0x2000  # where this meter's base names start
SN_SPACING: Final = 0x68  # base names this far apart: room for every attribute and method of class 7
POWER_FACTOR: Final = 980  # 0.980 at 10^-3, on every phase
MAXIMUM_DEMAND_W: Final = 4210
MBUS_CLIENT_VERSION: Final = 1  # the M-Bus client (class 72) of the Blue Book's current edition
M3: Final = 13  # the DLMS unit "m³" (volume)
# the sub-meters an E450 with M-Bus reads: (channel, serial number, EN 13757-3 medium); gas on 1, water on 2 as
# dlms_push.submeter_readings has them
SUBMETERS: Final = ((1, GAS_SERIAL, 0x03), (2, WATER_SERIAL, 0x07))


def meter_time(raw: object) -> datetime | None:
    """A 12-byte COSEM date-time as wall-clock meter time (deviation and status ignored, as the E450 compares
    its profile's times); unspecified hours, minutes or seconds (0xFF) count as 0."""
    if not isinstance(raw, bytes) or len(raw) != 12:
        return None
    year, month, day, _weekday, hour, minute, second = struct.unpack(">HBBBBBB", raw[:8])
    hour, minute, second = (0 if part == 0xFF else part for part in (hour, minute, second))
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


@dataclass(frozen=True)
class CosemObject:
    """One object: its class, version and logical name, and a getter per readable attribute."""

    class_id: int
    version: int
    obis: bytes
    attributes: dict[int, Getter]
    selections: dict[int, Selector] = field(default_factory=dict)  # attributes read with selective access

    def list_entry(self) -> Data:
        """Its entry in an association's object list: ``{class, version, name, access rights}``, every attribute
        read-only, no methods."""
        rights = Data(
            ARRAY,
            tuple(
                Data(STRUCTURE, (Data(INT8, index), Data(ENUM, 1), Data(NULL, None)))
                for index in range(1, max(self.attributes) + 1)
            ),
        )
        return Data(
            STRUCTURE,
            (
                _u16(self.class_id),
                Data(UINT8, self.version),
                _octets(self.obis),
                Data(STRUCTURE, (rights, Data(ARRAY, ()))),
            ),
        )


class CosemObjects:
    """The meter's objects, keyed by (class, logical name); over short names also by base name."""

    def __init__(self, registers: Registers, *, short_names: bool = False, submeters: bool = False) -> None:
        self.registers = registers
        self.short_names = short_names
        self.invocation_counter = -1  # the last the HLS client used (0-0:43.1.0 shows it; cosem_server.py keeps it)
        objects = self._zmd() if short_names else self._e450()
        if submeters:
            objects[-1:-1] = self._submeters()  # before the load profile, as an E450 lists its channels
        if short_names:
            association = CosemObject(12, 2, obis_bytes("0-0:40.0.0"), {1: self._name("0-0:40.0.0"), 2: self._sn_list})
        else:
            association = CosemObject(
                15, 1, obis_bytes("0-0:40.0.0"), {1: self._name("0-0:40.0.0"), 2: self._object_list}
            )
        objects.append(association)
        self.objects = {(item.class_id, item.obis): item for item in objects}
        self.bases = {SN_FIRST_BASE + index * SN_SPACING: item for index, item in enumerate(objects[:-1])}
        self.bases[SN_ASSOCIATION_BASE] = association

    def _e450(self) -> list[CosemObject]:
        state = self.registers.state
        return [
            self._data("0-0:42.0.0", lambda: _octets(LOGICAL_DEVICE_NAME.encode())),
            self._data("0-0:96.1.0", lambda: _octets(METER_NUMBER.encode())),
            self._clock(),
            self._register("1-0:1.8.0", lambda: _u32(state.import_kwh * 1000), 0, 30),
            self._register("1-0:1.8.1", lambda: _u32(state.import_kwh * 620), 0, 30),
            self._register("1-0:1.8.2", lambda: _u32(state.import_kwh * 380), 0, 30),
            self._register("1-0:2.8.0", lambda: _u32(state.export_kwh * 1000), 0, 30),
            self._register("1-0:3.8.0", lambda: _u32(state.reactive_import_kvarh * 1000), 0, 32),
            self._register("1-0:4.8.0", lambda: _u32(state.reactive_export_kvarh * 1000), 0, 32),
            *self._instantaneous(-1, -2),
            *self._power_factors(),
            self._maximum_demand(),
            self._average_demand(),
            self._data("0-0:96.14.0", lambda: Data(UINT8, 1)),  # the active tariff: T1
            self._data("0-0:43.1.0", lambda: _u32(self.invocation_counter)),  # the frame counter, read publicly
            self._load_profile(),
        ]

    def _zmd(self) -> list[CosemObject]:
        """A ZMD-like meter: energies in tens of Wh, four tariffs, quadrant reactive energy, voltages in
        hundredths, currents in mA, the power factor per phase, the maximum demand with its time."""
        state = self.registers.state

        def factors() -> tuple[float, ...]:
            per_phase = tuple(
                min(1.0, power * 1000 / (voltage * current)) if voltage * current else 1.0
                for power, voltage, current in zip(state.phase_power_kw, state.voltages, state.currents, strict=True)
            )
            total = sum(state.phase_power_kw) * 1000
            apparent = sum(voltage * current for voltage, current in zip(state.voltages, state.currents, strict=True))
            return (min(1.0, total / apparent) if apparent else 1.0, *per_phase)

        def factor(index: int) -> Getter:
            return lambda: Data(INT16, round(factors()[index] * 1000))

        def tariff(share: float) -> Getter:
            return lambda: _u32(state.import_kwh * 100 * share)

        tariffs = (0.41, 0.29, 0.18, 0.12)
        return [
            self._data("0-0:42.0.0", lambda: _octets(ZMD_DEVICE_NAME.encode())),
            self._data("0-0:96.1.0", lambda: _octets(ZMD_SERIAL.encode())),
            self._clock(),
            self._register("1-0:1.8.0", lambda: _u32(state.import_kwh * 100), 1, 30),
            *(self._register(f"1-0:1.8.{n}", tariff(share), 1, 30) for n, share in enumerate(tariffs, start=1)),
            self._register("1-0:2.8.0", lambda: _u32(state.export_kwh * 100), 1, 30),
            self._register("1-0:2.8.1", lambda: _u32(state.export_kwh * 70), 1, 30),
            self._register("1-0:2.8.2", lambda: _u32(state.export_kwh * 30), 1, 30),
            self._register("1-0:3.8.0", lambda: _u32(state.reactive_import_kvarh * 100), 1, 32),
            self._register("1-0:4.8.0", lambda: _u32(state.reactive_export_kvarh * 100), 1, 32),
            self._register("1-0:5.8.0", lambda: _u32(state.reactive_import_kvarh * 100), 1, 32),
            self._register("1-0:8.8.0", lambda: _u32(state.reactive_export_kvarh * 100), 1, 32),
            *self._instantaneous(-2, -3),
            *(self._register(f"1-0:{c}.7.0", factor(i), -3, 255) for i, c in enumerate((13, 33, 53, 73))),
            self._maximum_demand(),
            self._load_profile(100),
        ]

    def _instantaneous(self, volts: int, amps: int) -> list[CosemObject]:
        """Import and export power, per-phase power, voltages and currents (at the scalers given), frequency."""
        state = self.registers.state
        return [
            self._register("1-0:1.7.0", lambda: _u32(sum(state.phase_power_kw) * 1000), 0, 27),
            self._register("1-0:2.7.0", lambda: _u32(0), 0, 27),
            *self._phases((21, 41, 61), lambda: state.phase_power_kw, 1000, 0, 27),
            *self._phases((32, 52, 72), lambda: state.voltages, 10**-volts, volts, 35),
            *self._phases((31, 51, 71), lambda: state.currents, 10**-amps, amps, 33),
            self._register("1-0:14.7.0", lambda: _u16(state.frequency * 100), -2, 44),
        ]

    def _clock(self) -> CosemObject:
        return CosemObject(
            8,
            0,
            obis_bytes("0-0:1.0.0"),
            {1: self._name("0-0:1.0.0"), 2: lambda: _octets(cosem_datetime(self._now())), 3: lambda: Data(0x10, 60)},
        )

    def _sn_list(self) -> Data:
        """The SN association's object list: ``{long base_name, long-unsigned class_id, unsigned version,
        octet-string logical_name}`` per object (Blue Book class 12, attribute 2)."""
        return Data(
            ARRAY,
            tuple(
                Data(
                    STRUCTURE,
                    (
                        Data(INT16, base - 0x10000 if base >= 0x8000 else base),
                        _u16(item.class_id),
                        Data(UINT8, item.version),
                        _octets(item.obis),
                    ),
                )
                for base, item in self.bases.items()
            ),
        )

    def resolve(self, name: int) -> tuple[CosemObject, int] | None:
        """The object and attribute a short name designates (``base + 8·(attribute − 1)``), if any."""
        for base, item in self.bases.items():
            offset = name - base
            if 0 <= offset < 8 * max(item.attributes) and offset % 8 == 0:
                return item, offset // 8 + 1
        return None

    def _now(self) -> datetime:
        return self.registers.now().replace(microsecond=0)

    @staticmethod
    def _name(code: str) -> Getter:
        raw = obis_bytes(code)
        return lambda: _octets(raw)

    def _data(self, code: str, value: Getter) -> CosemObject:
        return CosemObject(1, 0, obis_bytes(code), {1: self._name(code), 2: value})

    def _register(self, code: str, value: Getter, scaler: int, unit: int) -> CosemObject:
        return CosemObject(
            3, 0, obis_bytes(code), {1: self._name(code), 2: value, 3: lambda: scaler_unit(scaler, unit)}
        )

    def _phases(
        self, codes: tuple[int, ...], values: Callable[[], tuple[float, ...]], factor: int, scaler: int, unit: int
    ) -> list[CosemObject]:
        """L1-L3 registers of one quantity; ``factor`` turns the state's value into the register's integer."""
        encoder = _u32 if unit == 27 else _u16

        def getter(index: int) -> Getter:
            return lambda: encoder(values()[index] * factor)

        return [self._register(f"1-0:{c}.7.0", getter(i), scaler, unit) for i, c in enumerate(codes)]

    def _power_factors(self) -> list[CosemObject]:
        """1-0:13.7.0 and per phase 33/53/73.7.0, 0.001 without a unit (255), as the IEC readout's 13.7.0(0.98)."""
        return [self._register(f"1-0:{c}.7.0", lambda: Data(INT16, POWER_FACTOR), -3, 255) for c in (13, 33, 53, 73)]

    def _maximum_demand(self) -> CosemObject:
        """1-0:1.6.0, class 4: the largest quarter-hour average import this billing period, in W, with its time."""
        code = "1-0:1.6.0"
        return CosemObject(
            4,
            0,
            obis_bytes(code),
            {
                1: self._name(code),
                2: lambda: _u32(MAXIMUM_DEMAND_W),
                3: lambda: scaler_unit(0, 27),
                4: lambda: Data(UINT8, 0),
                5: lambda: _octets(cosem_datetime(self._now().replace(day=1, hour=18, minute=15, second=0))),
            },
        )

    def _submeters(self) -> list[CosemObject]:
        """The sub-meters' channels (:data:`SUBMETERS`)."""
        return [item for channel, serial, medium in SUBMETERS for item in self._channel(channel, serial, medium)]

    def _channel(self, channel: int, serial: str, medium: int) -> list[CosemObject]:
        """A channel's sub-meter: its serial number (0-n:96.1.0, class 1), its M-Bus client (0-n:24.1.0, class 72,
        attribute 9 the medium) and its reading (0-n:24.2.1, class 4: litres as m³ × 10^-3, status, the hour it
        was captured), as the pushes carry them (dlms_push.submeter_readings)."""
        register, client = f"0-{channel}:24.2.1", f"0-{channel}:24.1.0"

        def reading() -> Data:
            _, gas, water = submeter_readings(self._now())
            return _u32(gas if channel == 1 else water)

        def captured() -> Data:
            return _octets(cosem_datetime(submeter_readings(self._now())[0]))

        return [
            self._data(f"0-{channel}:96.1.0", lambda: _octets(serial.encode())),
            CosemObject(
                72, MBUS_CLIENT_VERSION, obis_bytes(client), {1: self._name(client), 9: lambda: Data(UINT8, medium)}
            ),
            CosemObject(
                4,
                0,
                obis_bytes(register),
                {
                    1: self._name(register),
                    2: reading,
                    3: lambda: scaler_unit(-3, M3),
                    4: lambda: Data(UINT8, 0),
                    5: captured,
                },
            ),
        ]

    def _average_demand(self) -> CosemObject:
        """1-0:1.4.0, class 5: the running average of the import over the current quarter hour (attribute 2), its
        scaler and unit at attribute 4."""
        state, code = self.registers.state, "1-0:1.4.0"
        return CosemObject(
            5,
            0,
            obis_bytes(code),
            {
                1: self._name(code),
                2: lambda: _u32(sum(state.phase_power_kw) * 1000),
                3: lambda: _u32(sum(state.phase_power_kw) * 1000),
                4: lambda: scaler_unit(0, 27),
            },
        )

    def _object_list(self) -> Data:
        return Data(ARRAY, tuple(item.list_entry() for item in self.objects.values()))

    def _load_profile(self, per_kwh: int = 1000) -> CosemObject:
        """1-0:99.1.0, class 7: {clock, status, +A, -A} every quarter hour, the last day; ``per_kwh``: the
        energy registers' integer per kWh (their scaler's)."""
        captured = (("0-0:1.0.0", 8, 2), ("0-0:96.10.1", 1, 2), ("1-0:1.8.0", 3, 2), ("1-0:2.8.0", 3, 2))

        def rows() -> list[tuple[datetime, Data]]:
            return [
                (
                    moment,
                    Data(
                        STRUCTURE,
                        (
                            _octets(cosem_datetime(moment)),
                            Data(UINT8, 0),
                            _u32(energy * per_kwh),
                            _u32(export * per_kwh),
                        ),
                    ),
                )
                for moment, energy, export in self.registers.profile_entries()
            ]

        def buffer() -> Data:
            return Data(ARRAY, tuple(row for _, row in rows()))

        def select(selector: int, parameters: Data) -> Data | int:
            """Blue Book class 7 attribute 2: selector 1 a range of the clock column (both ends included),
            selector 2 entries ``from_entry``…``to_entry`` (1-based, 0: the last); every column either way."""
            fields, entries = parameters.items, rows()
            if selector == 1 and len(fields) == 4 and fields[0].items[1:2] == (_octets(obis_bytes("0-0:1.0.0")),):
                start, end = meter_time(fields[1].value), meter_time(fields[2].value)
                if start is None or end is None:
                    return OTHER_REASON
                return Data(ARRAY, tuple(row for moment, row in entries if start <= moment <= end))
            if selector == 2 and len(fields) == 4 and all(isinstance(item.value, int) for item in fields):
                first, last = fields[0].value, fields[1].value
                assert isinstance(first, int) and isinstance(last, int)
                return Data(ARRAY, tuple(row for _, row in entries[max(first, 1) - 1 : last or None]))
            return OTHER_REASON

        def capture_objects() -> Data:
            return Data(
                ARRAY,
                tuple(
                    Data(STRUCTURE, (_u16(cls), _octets(obis_bytes(code)), Data(INT8, attr), _u16(0)))
                    for code, cls, attr in captured
                ),
            )

        return CosemObject(
            7,
            1,
            obis_bytes("1-0:99.1.0"),
            {
                1: self._name("1-0:99.1.0"),
                2: buffer,
                3: capture_objects,
                4: lambda: _u32(PROFILE_PERIOD),
                7: lambda: _u32(PROFILE_ENTRIES),
                8: lambda: _u32(PROFILE_ENTRIES),
            },
            {2: select},
        )

    def get(self, class_id: int, obis: bytes, attribute: int, selection: tuple[int, Data] | None = None) -> Data | int:
        """The attribute's value (with ``selection``, an access selector and its parameters: the part selected),
        or a data-access-result: 4 object-undefined, 3 read-write-denied (no such attribute), 9
        object-class-inconsistent (right name, other class), 250 other-reason (a selection it cannot make)."""
        item = self.objects.get((class_id, obis))
        if item is None:
            if any(name == obis for _, name in self.objects):
                return 9
            return 4
        if selection is not None:
            selector = item.selections.get(attribute)
            return selector(*selection) if selector is not None else OTHER_REASON
        getter = item.attributes.get(attribute)
        return getter() if getter is not None else 3
