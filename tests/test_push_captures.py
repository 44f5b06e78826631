"""Real pushes of other meters than the E450 — Aidon, Kamstrup, Kaifa, Sagemcom, Iskra — in HDLC and M-Bus frames,
plain and glo-ciphered (security suites 0 and 1), with OBIS codes or by a utility's positions: each decodes to the
values its source states (file headers)."""

from __future__ import annotations

from datetime import datetime

import pytest

from custom_components.e450.meter_info import meter_serial
from custom_components.e450.wire import PROFILES, DlmsError, Layout, Push, PushDecoder
from custom_components.e450.wire.dlms.axdr import OCTET_STRING, STRUCTURE, UINT32, Data, decode_all, encode
from custom_components.e450.wire.dlms.cipher import decrypt, parse_glo_ciphered
from custom_components.e450.wire.dlms.push.bodies import decode_body
from custom_components.e450.wire.framing.hdlc import parse_frame, strip_llc

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


def test_values_are_written_with_the_decimals_of_their_scale() -> None:
    """Every phase's current with as many decimals as its scale gives (0.01 A: two), as the meter's display shows
    them: "5.60", not "5.6" beside "5.81"; whether the body sent the scaler or the list's convention gave it."""
    first, _ = pushes("kamstrup_se_hdlc_obis_value_flat_list2_list3")
    assert first.readout is not None
    assert [first.readout.text(c) for c in ("31.7.0", "51.7.0", "71.7.0")] == ["5.81", "5.60", "4.46"]
    aidon, _ = pushes("aidon_no_hdlc_obis_scaler_list3")
    assert aidon.readout is not None
    assert [aidon.readout.text(c) for c in ("32.7.0", "52.7.0", "72.7.0")] == ["233.0", "233.4", "231.1"]
    assert aidon.readout.text("1.7.0") == "4027"  # scaler 0: a whole number


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


def test_kaifa_norway_lists_1_and_2_by_element_count_without_obis_codes() -> None:
    list_1, list_2 = pushes("kaifa_no_hdlc_positional_list1_list2")
    assert (list_1.info.layout, list_1.info.profile) == (Layout.POSITIONAL, "kaifa-norway")
    assert list_1.info.time == datetime(2023, 3, 22, 3, 28, 42)  # the header's date-time, tagged 09 0C
    assert values(list_1) == {"1.7.0": (2277, "W")}  # list 1: +P alone
    assert list_2.info.time == datetime(2023, 3, 22, 3, 28, 50)
    readings = values(list_2)
    # stated (amsreader-firmware's golden row): P+ 2269 W, P- 0, U 236.70 / 0.00 / 236.70 V, I 7.09 / 6.90 / 4.21 A
    assert (readings["1.7.0"], readings["2.7.0"]) == ((2269, "W"), (0, "W"))
    assert [readings[c] for c in ("32.7.0", "52.7.0", "72.7.0")] == [(236.7, "V"), (0.0, "V"), (236.7, "V")]
    assert [readings[c][0] for c in ("31.7.0", "51.7.0", "71.7.0")] == pytest.approx([7.09, 6.90, 4.21], abs=0.005)
    assert readings["31.7.0"] == (7.087, "A") and readings["4.7.0"] == (720, "var")  # mA and var as pushed
    assert list_2.readout is not None and meter_serial(list_2.readout) == "6970631409168767"
    assert list_2.readout.text("0.2.129") == "KFM_001" and list_2.readout.text("96.1.7") == "MA304H3E"


def test_kaifa_norway_hourly_list_3_adds_the_clock_and_the_energies() -> None:
    """No list 3 was captured: built from the captured list 2, with a clock and four energies appended."""
    list_2 = vector("kaifa_no_hdlc_positional_list1_list2").lines[1]
    apdu = strip_llc(parse_frame(list_2[1:-1]).information)  # type: ignore[union-attr]
    body = decode_all(apdu[19:])  # after 0F, invoke-id, 09 0C and the 12 bytes of the header's date-time
    clock = Data(OCTET_STRING, bytes.fromhex("07E703160304000000800000"))  # 2023-03-22 04:00:00
    energies = tuple(Data(UINT32, value) for value in (14706201, 0, 12345, 2929))
    hourly = decode_body(encode(Data(STRUCTURE, (*body.items, clock, *energies))))
    assert hourly.profile == "kaifa-norway" and hourly.clock == datetime(2023, 3, 22, 4, 0, 0)
    readings = {ds.obis: ds.first.value for ds in hourly.datasets if ds.first}
    assert (readings["1.8.0"], readings["4.8.0"], readings["32.7.0"]) == ("14706201", "2929", "236.7")
    # one phase: list 2 of 9 and list 3 of 14 elements, one current and one voltage
    one_phase = Data(STRUCTURE, (*body.items[:8], body.items[10]))
    assert {ds.obis for ds in decode_body(encode(one_phase)).datasets} >= {"31.7.0", "32.7.0"}
    assert decode_body(encode(Data(STRUCTURE, (*one_phase.items, clock, *energies)))).clock == hourly.clock
    with pytest.raises(DlmsError) as caught:  # another count is no Kaifa list
        decode_body(encode(Data(STRUCTURE, body.items[:12])))
    assert caught.value.reason == "unknown_layout"


def test_iskra_elektro_celje_list() -> None:
    first, second = pushes("iskra_si_hdlc_positional_celje")
    assert first.info.profile == second.info.profile == "iskra-elektro-celje"
    assert first.info.time == datetime(2023, 11, 1, 12, 12, 18)
    # stated (amsreader-firmware's expected rows for these frames): P+ 2399 / 2400 W, P- 0, U 231.40 / 230.30 /
    # 234.80 (234.70) V, I 4.51 / 5.25 / 0.88 (4.59 / 5.26 / 0.84) A, meter id "UP_3f"
    for push, power, voltages, currents in (
        (first, 2399, (231.4, 230.3, 234.8), (4.51, 5.25, 0.88)),
        (second, 2400, (231.4, 230.3, 234.7), (4.59, 5.26, 0.84)),
    ):
        readings = values(push)
        assert (readings["1.7.0"], readings["2.7.0"]) == ((power, "W"), (0, "W"))
        assert [readings[c] for c in ("32.7.0", "52.7.0", "72.7.0")] == [(volts, "V") for volts in voltages]
        assert [readings[c] for c in ("31.7.0", "51.7.0", "71.7.0")] == [(amps, "A") for amps in currents]
        assert push.readout is not None and push.readout.text("96.1.2") == "UP_3f"
        assert meter_serial(push.readout) == "ISK1030789014731"  # the logical device name
    # not stated: the reactive powers; their place is checked by the apparent power U·I ≥ √(P² + Q²)
    readings = values(first)
    apparent = sum(
        readings[u][0] * readings[i][0] for u, i in (("32.7.0", "31.7.0"), ("52.7.0", "51.7.0"), ("72.7.0", "71.7.0"))
    )
    assert readings["4.7.0"] == (264, "var") and apparent >= (2399**2 + 264**2) ** 0.5


def test_iskra_croatia_list() -> None:
    """An APDU alone (the meter splits each push over two HDLC frames; only the first was captured whole)."""
    source = vector("iskra_hr_hdlc_positional_hep")
    push = PushDecoder().decode_apdu(source.data)
    assert push.error is None and push.info.profile == "iskra-croatia"
    assert push.readout is not None and meter_serial(push.readout) == "92029691"
    # stated: the date-time 2025-12-19 23:55:40; the time and date positions make the same clock
    assert push.info.time == datetime(2025, 12, 19, 23, 55, 40)
    assert (push.readout.text("0.9.1"), push.readout.text("0.9.2")) == ("23:55:40", "25-12-19")
    readings = values(push)
    # the stated scaling (W, Wh, varh as pushed, voltage ×0.1, current ×0.01, power factor ×0.001) on the positions
    # the source's decoder reads
    assert readings["1.8.0"] == (7088218, "Wh") and readings["2.8.0"] == (5793962, "Wh")
    assert readings["1.8.1"][0] + readings["1.8.2"][0] == readings["1.8.0"][0]  # the tariffs add to the total
    assert readings["2.8.1"][0] + readings["2.8.2"][0] == readings["2.8.0"][0]
    assert (readings["1.7.0"], readings["13.7.0"]) == ((382, "W"), (0.889, None))
    assert [readings[c] for c in ("32.7.0", "52.7.0", "72.7.0")] == [(238.8, "V"), (235.7, "V"), (237.7, "V")]
    assert [readings[c] for c in ("31.7.0", "51.7.0", "71.7.0")] == [(0.55, "A"), (0.89, "A"), (0.77, "A")]
    assert readings["21.7.0"][0] + readings["41.7.0"][0] + readings["61.7.0"][0] == pytest.approx(382, abs=2)
    assert readings["5.8.0"] == (1568471, "varh") and len(push.readout.datasets) == 28  # five positions unexplained


def test_iskra_elektro_ljubljana_firmware_ed121_lists() -> None:
    """Shorter lists of the same utility (amsreader-firmware issue #869): single-phase every second, a name and the
    energies every quarter hour."""
    first, second, quarter, next_quarter, third = pushes("iskra_si_hdlc_positional_ed121")
    assert {push.info.profile for push in (first, second, quarter, next_quarter, third)} == {"iskra-elektro-ljubljana"}
    # stated (amsreader-firmware's expected row for line 2): 592 W, 231.30 V, meter id "ISK84605887"
    readings = values(second)
    assert (readings["1.7.0"], readings["32.7.0"], readings["4.7.0"]) == ((592, "W"), (231.3, "V"), (112, "var"))
    assert second.readout is not None and second.readout.text("96.1.2") == "ISK84605887"
    # +A over the quarter hour from 20:45 to 21:00 (151 Wh) is the mean of the ~600 W the second lists show
    assert values(next_quarter)["1.8.0"][0] - values(quarter)["1.8.0"][0] == 151
    assert values(next_quarter)["1.8.0"] == (7924792, "Wh")
    assert values(third)["1.7.0"] == (599, "W")


def test_iskra_elektro_ljubljana_single_phase_list_with_current() -> None:
    push = PushDecoder().decode_apdu(vector("iskra_si_hdlc_positional_ed121_10").data)
    assert push.error is None and push.info.profile == "iskra-elektro-ljubljana"
    readings = values(push)
    # stated (the expected row): 540 W, 0 W, 0 var, 282 var, 233.6 V, 2.78 A, the phase's 540 W and 0 W
    assert [readings[c] for c in ("1.7.0", "2.7.0", "3.7.0", "4.7.0", "21.7.0", "22.7.0")] == [
        (540, "W"), (0, "W"), (0, "var"), (282, "var"), (540, "W"), (0, "W"),
    ]  # fmt: skip
    assert (readings["32.7.0"], readings["31.7.0"]) == ((233.6, "V"), (2.78, "A"))


def test_iskra_elektro_ljubljana_three_phase_tariffs_are_no_wiener_netze_list() -> None:
    """A name and eight numbers, as Wiener Netze's date-time and eight numbers: the string's length tells them
    apart (read as Wiener Netze's, it gave 1.8.0 = 625 Wh)."""
    push = PushDecoder().decode_apdu(vector("iskra_si_hdlc_positional_tariffs").data)
    assert push.error is None and push.info.profile == "iskra-elektro-ljubljana"
    readings = values(push)
    # stated (the expected row): 625 W and 12789.950 kWh
    assert (readings["1.7.0"], readings["1.8.0"]) == ((625, "W"), (12789950, "Wh"))
    assert readings["1.8.1"][0] + readings["1.8.2"][0] == readings["1.8.0"][0]
    assert readings["2.8.1"][0] + readings["2.8.2"][0] == readings["2.8.0"][0] == 250


def test_iskra_croatia_28_value_list() -> None:
    """The 33-element list without the reactive energies and the power factor (a body alone, issue #1174)."""
    decoded = decode_body(vector("iskra_hr_hdlc_positional_28").data)
    assert (decoded.profile, decoded.clock) == ("iskra-croatia", datetime(2026, 4, 7, 15, 0, 40))
    readings = {ds.obis: ds.number for ds in decoded.datasets if ds.number is not None}
    # no value stated by the source: the tariffs add to their totals, the phases to +P, and the rest is plausible
    assert readings["1.8.0"] == readings["1.8.1"] + readings["1.8.2"] == 4052883
    assert readings["21.7.0"] + readings["41.7.0"] + readings["61.7.0"] == pytest.approx(readings["1.7.0"], abs=3)
    assert [readings[c] for c in ("32.7.0", "52.7.0", "72.7.0")] == [241.0, 242.3, 238.3]
    assert "13.7.0" not in readings and "5.8.0" not in readings


def test_iskra_elektro_ljubljana_second_and_quarter_hour_lists() -> None:
    quarter, second = pushes("iskra_si_hdlc_positional_1s_15min")
    assert second.info.profile == quarter.info.profile == "iskra-elektro-ljubljana"
    assert second.info.time == quarter.info.time == datetime(2025, 5, 16, 23, 45)
    readings = values(second)
    # stated (amsreader-firmware's golden row and test): P+ 246 W, P- 0, U 232.50 / 232.10 / 232.80 V,
    # I 1.52 / 0.11 / 0.16 A
    assert (readings["1.7.0"], readings["2.7.0"]) == ((246, "W"), (0, "W"))
    assert [readings[c] for c in ("32.7.0", "52.7.0", "72.7.0")] == [(232.5, "V"), (232.1, "V"), (232.8, "V")]
    assert [readings[c] for c in ("31.7.0", "51.7.0", "71.7.0")] == [(1.52, "A"), (0.11, "A"), (0.16, "A")]
    # the per-phase powers add up to the total (within the meters' rounding): the positions are the right ones
    assert readings["21.7.0"][0] + readings["41.7.0"][0] + readings["61.7.0"][0] == pytest.approx(246, abs=2)
    assert readings["4.7.0"] == (286, "var") and readings["22.7.0"] == (0, "W")
    energies = values(quarter)
    # no value stated by the source for the quarter-hour list; each total is the sum of its two tariffs
    assert energies["1.8.0"] == (471547, "Wh") and energies["2.8.0"] == (44620, "Wh")
    assert energies["1.8.1"][0] + energies["1.8.2"][0] == energies["1.8.0"][0]
    assert energies["2.8.1"][0] + energies["2.8.2"][0] == energies["2.8.0"][0]
    assert (energies["3.8.0"], energies["4.8.0"]) == ((20507, "varh"), (313837, "varh"))
    assert quarter.readout is not None and quarter.readout.text("96.14.0") == "0002"  # active tariff
    # the logical device name identifies the meter in both lists (the device id differs from list to list)
    assert second.readout is not None and meter_serial(second.readout) == meter_serial(quarter.readout)
    assert meter_serial(second.readout) == "ISK1030792283067"
    assert (second.readout.text("96.1.3"), quarter.readout.text("96.1.3")) == ("16820005", "16820006")


def test_kelag_pushes_decrypt_to_the_stated_plaintext_but_no_source_gives_their_list() -> None:
    source = vector("iskra_at_hdlc_kelag_encrypted_ek")
    decoder = PushDecoder(source.key("EK"))
    decoded = decoder.feed(source.data)
    assert [push.info.invocation_counter for push in decoded] == [0x03D784, 0x03D785, 0x03D786]
    stated = source.header["Expected (stated by source)"].split("first push: ")[1].split(".")[0]
    ciphered = parse_glo_ciphered(decoded[0].raw)
    assert decrypt(ciphered, source.key("EK"), None)[0] == bytes.fromhex(stated)
    # positional without codes, and no published list says which register each number is: not guessed at
    assert {push.error.reason for push in decoded if push.error} == {"unknown_layout"}
    assert all(push.readout is None for push in decoded)
    assert decoded[0].error is not None and "structure(12)[octet-string(6), octet-string(13)" in str(decoded[0].error)
    for name in PROFILES:  # nor does forcing one of the known lists read it
        forced = PushDecoder(source.key("EK"), profile=name).feed(source.lines[0])
        assert forced[0].error is not None and forced[0].error.reason == "unknown_layout"
