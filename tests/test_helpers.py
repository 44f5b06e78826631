"""Pure helpers of the integration: the energy guard, meter identity, port listing, unit conversion."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
import os
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import patch

import pytest

from custom_components.e450.guard import EnergyGuard, GuardVerdict
from custom_components.e450.meter_info import firmware, manufacturer_name, meter_clock, meter_serial
from custom_components.e450.ports import list_ports, preferred_port, same_port
from custom_components.e450.scales import scale
from custom_components.e450.wire import BccStatus, DataSet, DataValue, Identification, ProtocolMode, Readout


def test_guard_accepts_increases_and_holds_drops() -> None:
    guard = EnergyGuard(confirmations=3)
    assert guard.check(100.0) is GuardVerdict.ACCEPTED
    assert guard.check(100.5) is GuardVerdict.ACCEPTED
    assert guard.check(0.0) is GuardVerdict.HELD  # a glitch: 0 is never published over a positive register
    assert guard.published == 100.5
    assert guard.check(101.0) is GuardVerdict.ACCEPTED and guard.pending == []
    assert [guard.check(v) for v in (2.0, 2.1, 2.2)] == [GuardVerdict.HELD, GuardVerdict.HELD, GuardVerdict.RESET]
    assert guard.published == 2.2


def test_guard_candidates_must_count_up() -> None:
    guard = EnergyGuard(confirmations=3, published=500.0)
    assert guard.check(5.0) is GuardVerdict.HELD
    assert guard.check(4.0) is GuardVerdict.HELD  # not a counting register: restart the confirmation
    assert guard.pending == [4.0]
    assert guard.check(4.5) is GuardVerdict.HELD
    assert guard.check(4.6) is GuardVerdict.RESET
    assert EnergyGuard().check(0.0) is GuardVerdict.ACCEPTED  # a new meter may well start at 0


def _readout(*datasets: tuple[str, str, str | None], ident: Identification | None = None) -> Readout:
    return Readout(ident, tuple(DataSet.of(a, (DataValue(v, u),)) for a, v, u in datasets), BccStatus.OK)


IDENT = Identification("LGZ", "5", ProtocolMode.C, 9600, ("2",), "ZMD3104407.B32")


@pytest.mark.parametrize(
    ("datasets", "serial"),
    [
        ((("C.1.0", "18438636", None),), "18438636"),
        ((("0.0", "        18438636", None),), "18438636"),
        ((("1-0:0.0.1*255", "1ISK0063355730", None),), "1ISK0063355730"),
        ((("0-0:96.1.0*255", "A1", None),), "A1"),
        ((("C.1.0", "00000000", None), ("0.0.0", "42", None)), "42"),
        ((("1.8.0", "1", "kWh"),), "LGZ_ZMD3104407.B32"),
    ],
)
def test_meter_serial(datasets: tuple[tuple[str, str, str | None], ...], serial: str) -> None:
    assert meter_serial(_readout(*datasets, ident=IDENT)) == serial


def test_meter_serial_needs_something() -> None:
    with pytest.raises(ValueError):
        meter_serial(_readout(("1.8.0", "1", "kWh")))


def test_manufacturer_firmware_clock() -> None:
    assert manufacturer_name("LGZ") == "Landis+Gyr"
    assert manufacturer_name("ISk") == "Iskraemeco"
    assert manufacturer_name("XYZ") == "XYZ"
    assert firmware(_readout(("0.2.0", "M27", None))) == "M27"
    assert firmware(_readout(("1.8.0", "1", "kWh"))) is None
    assert meter_clock(_readout(("0.9.1", "185532", None), ("0.9.2", "210410", None))) == datetime(
        2021, 4, 10, 18, 55, 32
    )
    assert meter_clock(_readout(("0.9.1", "23:16:43", None), ("0.9.2", "21-01-04", None))) == datetime(
        2021, 1, 4, 23, 16, 43
    )
    assert meter_clock(_readout(("0.9.1", "105644", None), ("0.9.2", "0220127", None))) == datetime(
        2022, 1, 27, 10, 56, 44
    )
    assert meter_clock(_readout(("0.9.1", "256161", None), ("0.9.2", "211340", None))) is None
    assert meter_clock(_readout(("0.9.2", "210410", None))) is None


@pytest.mark.parametrize(
    ("value", "unit", "target", "expected"),
    [
        (1.5, "kWh", "kWh", 1.5),
        (1500.0, "Wh", "kWh", 1.5),
        (1.5, "MWh", "kWh", 1500.0),
        (2.0, "kW", "W", 2000.0),
        (230.0, "V", "kWh", None),
        (1.0, None, None, 1.0),
        (1.0, "kvarh", "varh", 1000.0),
    ],
)
def test_scale(value: float, unit: str | None, target: str | None, expected: float | None) -> None:
    factor = scale(unit, target)
    converted = None if factor is None else value * factor
    assert converted == (pytest.approx(expected) if expected is not None else None)


def test_list_ports_labels_and_by_id(tmp_path: Path) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    target = tmp_path / "ttyUSB0"
    target.write_text("")
    os.symlink(target, by_id / "usb-FTDI_FT232R_A10K1-if00-port0")
    infos = [
        SimpleNamespace(device=str(target), manufacturer="FTDI", product="FT232R", serial_number="A10K1", vid=0x0403),
        SimpleNamespace(
            device="/dev/ttyACM0",
            manufacturer=None,
            product=None,
            serial_number=None,
            interface_description="Sonoff Zigbee 3.0 USB Dongle Plus",
            vid=0x10C4,
        ),
        SimpleNamespace(device="/dev/ttyS0", manufacturer=None, product=None, serial_number=None, vid=None),
    ]
    with patch("custom_components.e450.ports.serialx.list_serial_ports", return_value=infos):
        ports = list_ports(by_id)
    assert ports[0].path == str(by_id / "usb-FTDI_FT232R_A10K1-if00-port0")
    assert ports[0].label == f"FTDI FT232R (A10K1) — {ports[0].path}"
    assert not ports[0].is_radio
    assert ports[1].path == "/dev/ttyACM0" and ports[1].is_radio
    assert ports[0].is_usb and not ports[2].is_usb
    # offered first: the one USB adapter that is no radio; never the built-in UART; none among several heads
    assert preferred_port(ports) == ports[0].path
    assert preferred_port(ports[1:]) is None
    assert preferred_port([ports[0], replace(ports[0], path="/dev/ttyUSB1")]) is None
    with patch("custom_components.e450.ports.serialx.list_serial_ports", return_value=infos[:1]):
        assert list_ports(tmp_path / "absent")[0].path == str(target)  # no by-id folder: the kernel name
    assert same_port(ports[0].path, str(target))
    assert not same_port("socket://a:1", "socket://b:1")
    assert same_port("socket://a:1", "socket://a:1")


def test_an_unforeseen_error_still_has_a_message() -> None:
    from custom_components.e450.messages import error_key
    from custom_components.e450.wire import MeterError

    assert error_key(MeterError("new kind of failure")) == ("unknown", {})


def test_fast_constructors_make_the_same_immutable_instances() -> None:
    import dataclasses

    import pytest

    from custom_components.e450.wire.dlms.axdr import Data
    from custom_components.e450.wire.frozen import fast_constructor

    make = fast_constructor(DataSet)
    assert make is not DataSet
    sample = ("1-0:1.8.0*01", (DataValue("1", "kWh"),), "1.8.0", "*01", 1)
    made = make(*sample)
    assert made == DataSet(*sample) and type(made) is DataSet
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.number = 2  # type: ignore[misc]
    assert fast_constructor(Data)(0x11, 5) == Data(0x11, 5)
    # a class it cannot build more cheaply is built by the class itself
    assert fast_constructor(Readout) is Readout  # __post_init__ indexes the current values
    assert fast_constructor(int) is int
