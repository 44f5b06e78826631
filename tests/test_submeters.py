"""The sub-meters on an E450's M-Bus channels (custom_components/e450/wire/submeters.py): the real capture's gas
meter, the simulator's list with every attribute, and the silent and failed channels' issues."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from custom_components.e450.anomalies import AnomalyKind
from custom_components.e450.submeter_watch import SubMeterWatch
from custom_components.e450.wire import PushDecoder, Readout
from custom_components.e450.wire.submeters import Medium, SubMeter, submeters
from simulator.dlms_push import (
    GAS_SERIAL,
    WATER_SERIAL,
    push_frame,
    submeter_readings,
)
from simulator.profiles import MeterState

from .dlms_vectors import vector

NOW = datetime(2026, 3, 5, 14, 20, 5)


def capture_readout() -> Readout:
    source = vector("e450_cii_unencrypted_mbus_channels_2024")
    (push,) = PushDecoder().feed(source.data)
    assert push.readout is not None
    return push.readout


def simulated(now: datetime = NOW) -> Readout:
    frame = push_frame(MeterState(), now, 1, layout="swiss-submeters", security="none")
    (push,) = PushDecoder().feed(frame)
    assert push.error is None and push.readout is not None
    return push.readout


def test_the_real_capture_names_one_gas_meter_on_channel_1() -> None:
    # the header: 0-1:96.1.0 '24521662', 0-1:24.2.1 = 30545, channels 2-4 an empty serial (one 00 byte) and 0
    (found,) = submeters(capture_readout())
    assert found == SubMeter(1, "24521662", 30545)
    # the push names neither the scale nor the medium: the options say (submeter_settings.py)
    assert (found.value, found.unit, found.exponent, found.medium, found.captured, found.failed) == (
        30545, None, None, None, None, False,
    )  # fmt: skip


def test_a_list_with_every_attribute() -> None:
    readout = simulated()
    captured, gas, water = submeter_readings(NOW)
    assert captured == datetime(2026, 3, 5, 14, 0)
    first, second = submeters(readout)
    assert first == SubMeter(1, GAS_SERIAL, gas, None, None, 0, captured, Medium.GAS, 3)
    assert second == SubMeter(2, WATER_SERIAL, water, -3, "m³", 0, captured, Medium.WATER, 7)
    assert second.value == water / 1000
    # the attributes are no register values: the electricity meter's readings are as before, and the register's
    # value is its attribute 2 however the list orders them
    assert readout.number("0-2:24.2.1") is not None and readout.number("0-2:24.2.1").value == water  # type: ignore[union-attr]
    assert readout.text("0-2:24.1.0") is None


def test_decode_prints_the_submeters() -> None:
    frame = push_frame(MeterState(), NOW, 1, layout="swiss-submeters", security="none")
    (push,) = PushDecoder().feed(frame)
    document = push.as_dict()
    assert document["submeters"][1] == {
        "channel": 2, "serial": WATER_SERIAL, "value": submeter_readings(NOW)[2] / 1000, "unit": "m³", "status": 0,
        "captured": "2026-03-05T14:00:00", "medium": "water",
    }  # fmt: skip


def test_carried_over_keeps_a_channels_attributes() -> None:
    full = simulated()
    bare = Readout(None, (), full.bcc)
    (gas, _) = submeters(bare.carried_over(full))
    assert gas.captured == datetime(2026, 3, 5, 14, 0)


def test_an_unknown_medium_code_is_other() -> None:
    readout = simulated()
    attributes = {**readout.attributes, ("0-1:24.1.0", 9): 0x02}  # electricity
    assert submeters(replace(readout, attributes=attributes))[0].medium is Medium.OTHER


def test_silent_and_failed_channels_raise_issues_naming_them() -> None:
    watch = SubMeterWatch()
    readout = simulated()
    assert watch.anomalies(readout) == []
    # the water meter reports an M-Bus error
    failed = replace(readout, attributes={**readout.attributes, ("0-2:24.2.1", 4): 0x14})
    (error,) = watch.anomalies(failed)
    assert (error.kind, error.key, error.placeholders) == (
        AnomalyKind.SUBMETER_ERROR, "submeter_error_2", {"channel": "2", "serial": WATER_SERIAL, "status": "0x14"},
    )  # fmt: skip
    # both readings are more than a day and an hour old
    assert readout.push is not None
    late = replace(readout, push=replace(readout.push, time=NOW + timedelta(hours=26)))
    assert {(a.kind, a.key, a.placeholders["serial"]) for a in watch.anomalies(late)} == {
        (AnomalyKind.SUBMETER_SILENT, "submeter_silent_1", GAS_SERIAL),
        (AnomalyKind.SUBMETER_SILENT, "submeter_silent_2", WATER_SERIAL),
    }
    assert watch.anomalies(replace(readout, push=replace(readout.push, time=NOW + timedelta(hours=24)))) == []
    # the water meter is gone from the pushes
    kept = tuple(dataset for dataset in readout.datasets if not dataset.address.startswith("0-2:"))
    attributes = {key: value for key, value in readout.attributes.items() if not key[0].startswith("0-2:")}
    gone = replace(readout, datasets=kept, attributes=attributes)
    (missing,) = watch.anomalies(gone)
    assert missing.key == "submeter_silent_2" and missing.placeholders["serial"] == WATER_SERIAL
