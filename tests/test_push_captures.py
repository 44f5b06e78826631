"""Real pushes of other meters than the E450 — Aidon, Kamstrup, Kaifa, Sagemcom, Iskra — in HDLC and M-Bus frames,
plain and glo-ciphered (security suites 0 and 1): each decodes to the values its source states (file headers)."""

from __future__ import annotations

from datetime import datetime

import pytest

from custom_components.e450.meter_info import meter_serial
from custom_components.e450.wire import Layout, Push, PushDecoder

from .dlms_vectors import vector


def pushes(name: str) -> list[Push]:
    source = vector(name)
    decoded = PushDecoder(source.key("EK"), source.key("AK")).feed(source.data)
    assert decoded and all(push.error is None for push in decoded), [push.error for push in decoded]
    return decoded


def values(push: Push) -> dict[str, tuple[float, str | None]]:
    assert push.readout is not None
    return {code: (reading.value, reading.unit) for code, reading in push.readout.readings.items()}


def test_aidon_norway_list_3_obis_scaler_unit_structures() -> None:
    first, second = pushes("aidon_no_hdlc_obis_scaler_list3")
    stated = {"1.7.0": 4027, "2.7.0": 0, "32.7.0": 233.0, "52.7.0": 233.4, "72.7.0": 231.1}
    stated |= {"31.7.0": 0.5, "51.7.0": 0.3, "71.7.0": 16.8}
    assert {code: values(first)[code][0] for code in stated} == pytest.approx(stated)
    assert first.info.layout is Layout.DESCRIBED and values(first)["1.7.0"][1] == "W"
    # A+ 109552.248 kWh stated; the register counts in 10 Wh (scaler +1): 10955225 × 10 Wh
    assert values(first)["1.8.0"] == (pytest.approx(109552.248e3, abs=10), "Wh")
    assert values(second)["1.7.0"][0] == 763 and values(second)["1.8.0"][0] == pytest.approx(109562.072e3, abs=10)
    assert first.readout is not None and meter_serial(first.readout) == "7359992890497997"


def test_aidon_sweden_long_frame_with_per_phase_powers() -> None:
    (push,) = pushes("aidon_se_hdlc_obis_scaler_long_frame")
    readings = values(push)
    assert readings["1.7.0"] == (2021, "W") and readings["2.7.0"] == (0, "W")
    assert [readings[c][0] for c in ("32.7.0", "52.7.0", "72.7.0")] == pytest.approx([227.5, 226.4, 227.1])
    assert [readings[c][0] for c in ("31.7.0", "51.7.0", "71.7.0")] == pytest.approx([0.9, 3.7, 4.6])
    assert readings["1.8.0"] == (pytest.approx(63068.772e3, abs=10), "Wh")
    assert readings["21.7.0"] == (213, "W")  # a per-phase power the body's own unit names


def test_kamstrup_sweden_flat_obis_value_list() -> None:
    first, second = pushes("kamstrup_se_hdlc_obis_value_flat_list2_list3")
    assert values(first)["1.7.0"] == (3503, "W")
    assert [values(first)[c][0] for c in ("31.7.0", "51.7.0", "71.7.0")] == pytest.approx([5.81, 5.60, 4.46])
    assert [values(first)[c][0] for c in ("32.7.0", "52.7.0", "72.7.0")] == [243, 242, 243]
    assert values(second)["1.7.0"] == (2269, "W")
    assert second.readout is not None and meter_serial(second.readout) == "5706567331323526"


def test_kaifa_netz_noe_example_in_two_m_bus_segments_decrypts_to_the_brochure() -> None:
    (push,) = pushes("kaifa_at_mbus_netznoe_example_encrypted")
    readings = values(push)
    assert readings["1.8.0"] == (12937, "Wh") and readings["32.7.0"] == (pytest.approx(233.7), "V")
    assert readings["13.7.0"] == (pytest.approx(1.0), None)
    assert push.info.time == datetime(2021, 9, 27, 9, 47, 15)
    # the meter number closes the list as a bare string with no code: the system title identifies the meter
    assert push.readout is not None and meter_serial(push.readout) == "4B464D6750000009"


def test_tinetz_example_with_security_suite_1() -> None:
    (push,) = pushes("kaifa_at_mbus_tinetz_example_sc21")
    readings = values(push)
    assert push.info.security == "encrypted" and push.info.time == datetime(2021, 7, 19, 15, 46, 35)
    assert readings["1.8.0"] == (9108, "Wh") and readings["32.7.0"] == (pytest.approx(230.8), "V")


def test_sagemcom_frame_whose_length_byte_holds_only_the_low_byte() -> None:
    (push,) = pushes("sagemcom_at_mbus_encrypted_length_quirk")
    readings = values(push)
    assert readings["1.8.0"] == (627660, "Wh") and readings["1.7.0"] == (515, "W")
    assert [readings[c][0] for c in ("32.7.0", "52.7.0", "72.7.0")] == pytest.approx([232.9, 236.5, 237.2])


def test_iskra_push_list_in_hdlc_segments_with_the_makers_voltage_scale() -> None:
    (push,) = pushes("iskra_ch_hdlc_segmented_pushlist_vse2026")
    readings = values(push)
    stated = {"1.7.0": 27, "2.7.0": 0, "1.8.0": 15207, "2.8.0": 8987, "3.8.0": 12784, "4.8.0": 5654}
    assert {code: readings[code][0] for code in stated} == stated
    assert readings["32.7.0"] == (pytest.approx(234.7), "V") and readings["31.7.0"] == (pytest.approx(0.12), "A")
    assert push.readout is not None and meter_serial(push.readout) == "ISK1030783821282"
