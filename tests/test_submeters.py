"""The sub-meters on an E450's M-Bus channels (custom_components/e450/wire/submeters.py): the real capture's gas
meter, the simulator's list with every attribute, and the silent and failed channels' issues."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from custom_components.e450.anomalies import AnomalyKind
from custom_components.e450.meter_info import meter_serial, serial_number
from custom_components.e450.submeter_options import _shown
from custom_components.e450.submeter_settings import CONF_SUBMETERS, ChannelOptions, Total, channel_options, total_of
from custom_components.e450.submeter_watch import SubMeterWatch
from custom_components.e450.wire import BccStatus, DataSet, DataValue, PushDecoder, Readout
from custom_components.e450.wire.submeters import Medium, SubMeter, is_submeter_serial, submeters
from simulator.dlms_push import (
    GAS_SERIAL,
    METER_NUMBER,
    WATER_SERIAL,
    data_notification,
    framed,
    octets,
    push_frame,
    submeter_readings,
    swiss_body,
    u32,
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
    watch = SubMeterWatch(lambda _: True)
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


def test_a_client_readouts_channels_lag_the_clock_the_client_read() -> None:
    """A DLMS client's readout has no push time: the lag rule uses the meter clock read with the values (0.9.2 and
    0.9.1), and is skipped when the readout has none (Home Assistant's clock is not the meter's)."""
    watch = SubMeterWatch(lambda _: True)
    pushed = simulated()
    channels = tuple(dataset for dataset in pushed.datasets if dataset.address[:3] in ("0-1", "0-2"))

    def read_at(clock: datetime | None) -> Readout:
        moment = () if clock is None else (
            DataSet.of("0-0:0.9.2", (DataValue(f"{clock:%y%m%d}", None),)),
            DataSet.of("0-0:0.9.1", (DataValue(f"{clock:%H%M%S}", None),)),
        )  # fmt: skip
        return Readout(None, (*moment, *channels), BccStatus.OK, attributes=pushed.attributes)

    assert watch.anomalies(read_at(NOW)) == []
    late = watch.anomalies(read_at(NOW + timedelta(hours=26)))
    assert {(a.kind, a.key) for a in late} == {
        (AnomalyKind.SUBMETER_SILENT, "submeter_silent_1"),
        (AnomalyKind.SUBMETER_SILENT, "submeter_silent_2"),
    }
    assert watch.anomalies(read_at(None)) == []


def test_a_channel_whose_scale_nobody_said_raises_an_issue_until_the_user_says() -> None:
    options: dict[int, ChannelOptions] = {}
    watch = SubMeterWatch(lambda found: total_of(found, options.get(found.channel)).settled)
    readout = simulated()
    (unsettled,) = watch.anomalies(readout)  # the gas meter's list says its medium, not its scale; the water's both
    assert (unsettled.kind, unsettled.key, unsettled.placeholders) == (
        AnomalyKind.SUBMETER_SCALE, "submeter_scale_1", {"channel": "1", "serial": GAS_SERIAL}
    )  # fmt: skip
    options[1] = ChannelOptions(Medium.GAS, "m³", -3)
    assert watch.anomalies(readout) == []
    # a channel with a serial and no number has nothing to show at any scale
    bare = tuple(dataset for dataset in readout.datasets if dataset.address != "0-1:24.2.1")
    del options[1]
    assert watch.anomalies(replace(readout, datasets=bare)) == []


def test_a_totals_unit_and_scale_from_the_options_or_the_meter_else_none() -> None:
    gas = SubMeter(1, GAS_SERIAL, 1234567, medium=Medium.GAS)
    # the medium is said, the scale is not: no unit, not settled (litres shown as m³ would be 1,000 times too large)
    unsettled = total_of(gas, None)
    assert unsettled == Total(Medium.GAS, None, 0, sent=False) and not unsettled.settled
    assert unsettled.device_class is None and unsettled.usual_unit == "m³"
    assert not total_of(gas, ChannelOptions(Medium.GAS)).settled  # a medium chosen, no unit: still not settled
    chosen = ChannelOptions(Medium.GAS, "m³", -3)
    assert total_of(gas, chosen) == Total(Medium.GAS, "m³", -3, sent=False) and total_of(gas, chosen).settled
    assert total_of(gas, chosen).value(1234567) == 1234.567 and total_of(gas, chosen).device_class == "gas"
    # a heat meter sending Wh × 10^3 is shown in kWh; one sending J × 10^6 in GJ
    heat = SubMeter(3, "1", 5, exponent=3, unit="Wh", medium=Medium.HEAT)
    assert total_of(heat, None) == Total(Medium.HEAT, "kWh", 0, sent=True) and total_of(heat, None).settled
    assert total_of(replace(heat, unit="J", exponent=6), None) == Total(Medium.HEAT, "GJ", -3, sent=True)
    # nothing says what it measures nor its scale: not settled either
    unknown = total_of(SubMeter(4, "9", 7), None)
    assert unknown == Total(Medium.OTHER, None, 0, sent=False) and unknown.device_class is None
    assert not unknown.settled
    # a unit Home Assistant does not take for the medium gives no device class
    assert Total(Medium.GAS, "kWh", 0, sent=False).device_class is None


def test_channel_options_ignore_what_is_not_valid() -> None:
    stored = {
        CONF_SUBMETERS: {
            "1": {"medium": "gas", "unit": "m³", "exponent": -3},
            "2": {"medium": "lava", "unit": "furlongs", "exponent": 99},
            "x": {"medium": "gas"},
            "3": "water",
        }
    }
    assert channel_options(stored) == {1: ChannelOptions(Medium.GAS, "m³", -3), 2: ChannelOptions()}
    assert ChannelOptions(Medium.WATER, "L", 0).as_dict() == {"medium": "water", "unit": "L", "exponent": 0}


def test_a_channel_with_a_serial_but_no_reading_and_channels_beyond_four() -> None:
    readout = simulated()
    beyond = DataSet.of("0-7:24.2.1", (DataValue("5", None),), 5)
    bare = tuple(dataset for dataset in readout.datasets if dataset.address != "0-1:24.2.1")
    found = submeters(replace(readout, datasets=(*bare, beyond)))
    assert [submeter.channel for submeter in found] == [1, 2]  # an E450 has four channels
    assert (found[0].raw, found[0].value) == (None, None)
    assert _shown(found[0], total_of(found[0], None)) == "–"
    gas = submeters(readout)[0]
    assert gas.raw is not None and _shown(gas, total_of(gas, None)) == "–"  # a number, but its scale is not said
    assert _shown(found[1], total_of(found[1], None)) == f"{found[1].value:.3f} m³"


def test_the_meters_own_serial_is_never_a_channels() -> None:
    # the simulator's list names the meter (0-0:96.1.1, 0-0:42.0.0) and a gas meter on channel 1 (0-1:96.1.0)
    readout = simulated()
    assert is_submeter_serial(readout, "96.1.0") and not is_submeter_serial(readout, "96.1.1")
    assert meter_serial(readout) == METER_NUMBER and serial_number(readout) == METER_NUMBER
    # a 0-1:96.1.0 with no M-Bus object on channel 1 is the meter's (Kamstrup writes B = 1 on every code)
    kamstrup = Readout(None, (DataSet.of("0-1:96.1.0", (DataValue("5706567", None),)),), readout.bcc)
    assert not is_submeter_serial(kamstrup, "96.1.0") and meter_serial(kamstrup) == "5706567"
    assert not is_submeter_serial(kamstrup, "1.8.0")
    # the real capture names nothing else: its channel 1's serial stays the one name it gives
    assert meter_serial(capture_readout()) == "24521662"


def test_an_unspecified_capture_time_or_a_malformed_scaler_unit_is_left_out() -> None:
    extra = [
        (4, "0-3:24.2.1", 2, u32(42)),
        (4, "0-3:24.2.1", 3, u32(7)),  # not a {scaler, unit} structure
        (4, "0-3:24.2.1", 5, octets(b"\xff" * 12)),  # every field unspecified
    ]
    body = swiss_body(MeterState(), NOW, extra)
    (push,) = PushDecoder().feed(framed(data_notification(body, NOW, 1), blocks=True))
    assert push.readout is not None
    (third,) = (found for found in submeters(push.readout) if found.channel == 3)
    assert (third.raw, third.exponent, third.captured) == (42, None, None)
