"""Push variants real meters send besides the textbook forms: one register alone, a scaler with a unit the
enumeration lacks, descriptions in other orders, firmware quirks, several bodies or blocks in one frame, bodies
without a header, M-Bus chains whose last segment does not say so. Every input is built here, byte by byte."""

from __future__ import annotations

from datetime import datetime
import json
from pathlib import Path
import struct

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.e450.wire import BccStatus, DlmsError, Layout, PushDecoder, Readout
from custom_components.e450.wire.commands.dlms import main
from custom_components.e450.wire.dlms.apdu import parse_notification
from custom_components.e450.wire.dlms.push.bodies import decode_body
from custom_components.e450.wire.framing import Framing
from custom_components.e450.wire.framing.hdlc import build_hdlc_frame
from custom_components.e450.wire.framing.mbus import build_mbus_frame
from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK, array, glo_ciphered, i8, octets, structure, u16, u32

HEADER = b"\x0f\x00\x00\x00\x01\x00"  # data-notification, invoke-id 1, no date-time
LLC = b"\xe6\xe7\x00"


def code(text: str) -> bytes:
    """``1.0.1.7.0.255`` as a tagged octet-string."""
    return octets(bytes(int(part) for part in text.split(".")))


def unit(scaler: int, enum: int) -> bytes:
    return structure(i8(scaler), b"\x16" + bytes([enum]))


def readings(body: bytes) -> dict[str, tuple[int | float | None, str | None]]:
    decoded = decode_body(body)
    assert decoded.layout is Layout.DESCRIBED
    return {ds.address: (ds.number, ds.values[0].unit) for ds in decoded.datasets}


def pushes(data: bytes, *, framing: Framing = Framing.AUTO, ek: bytes | None = None) -> list[object]:
    return PushDecoder(ek, None, framing=framing).feed(data)  # type: ignore[return-value]


def values_of(push: object) -> dict[str, int | float | None]:
    """Every register's number as the push delivered it: published, or held back because nothing settles its
    scale (these bodies carry no scaler and no meter identity: the structure is what is tested here)."""
    readout = push.readout  # type: ignore[attr-defined]
    assert readout is not None, push.error  # type: ignore[attr-defined]
    numbers = {ds.address: ds.number for ds in readout.datasets}
    return numbers | {held.address: held.raw for held in readout.withheld.values()}


# --- bodies ---------------------------------------------------------------------------------------------------


def test_one_register_alone_when_it_carries_its_scaler() -> None:
    """Aidon's list 1 is its active power alone; one bare {OBIS, value} is too little to call a list."""
    power = structure(code("1.0.1.7.0.255"), u32(1234), unit(0, 27))
    assert readings(array(power)) == {"1-0:1.7.0": (1234, "W")}
    assert readings(power) == {"1-0:1.7.0": (1234, "W")}
    with pytest.raises(DlmsError) as caught:  # a push setup's name before a serial number is no register
        decode_body(structure(code("0.6.25.9.0.255"), octets(b"1121378381199"), u32(5)))
    assert caught.value.reason == "unknown_layout"


def test_a_scaler_holds_whatever_the_unit_says() -> None:
    """An enumeration value the table lacks (0 is none at all) keeps the scaler, and the unit comes from the OBIS
    table; a unit the table has wins over the table's default."""
    body = array(
        structure(code("1.0.1.8.0.255"), u32(12345), unit(-1, 0)),
        structure(code("1.0.32.7.0.255"), u16(2301), unit(-1, 35)),
        structure(code("1.0.13.7.0.255"), u16(990), unit(-3, 255)),
    )
    assert readings(body) == {"1-0:1.8.0": (1234.5, "Wh"), "1-0:32.7.0": (230.1, "V"), "1-0:13.7.0": (0.99, None)}


def test_class_obis_scaler_value_and_value_class_scaler_unit_obis() -> None:
    """{class, OBIS, int8 scaler, value}: a scaler where IDIS has its attribute 2; {value, class, scaler_unit,
    OBIS}: the description after the value."""
    body = array(
        structure(u16(3), code("1.0.1.8.0.255"), i8(-2), u32(123456)),
        structure(u16(3), code("1.0.2.8.0.255"), i8(2), u32(77)),  # IDIS: attribute 2, the value as it is
        structure(u32(4321), u16(3), unit(-1, 27), code("1.0.1.7.0.255")),
    )
    assert readings(body) == {"1-0:1.8.0": (1234.56, "Wh"), "1-0:2.8.0": (77, "Wh"), "1-0:1.7.0": (432.1, "W")}


def test_billing_period_codes_up_to_126_are_codes() -> None:
    body = array(structure(code("1.0.1.8.0.101"), u32(5)), structure(code("1.0.1.8.0.255"), u32(6)))
    assert readings(body) == {"1-0:1.8.0*101": (5, "Wh"), "1-0:1.8.0": (6, "Wh")}


def test_an_obis_code_tagged_the_wrong_way_round() -> None:
    """``06 09 <code>`` where ``09 06 <code>`` belongs (a Landis+Gyr firmware): read once the body does not decode
    as it should, and never where it does."""
    swapped = b"\x06\x09" + bytes((1, 0, 1, 8, 0, 255))
    body = array(
        structure(swapped, u32(1000), unit(0, 30)),
        structure(b"\x06\x09" + bytes((1, 0, 2, 7, 0, 255)), u32(20), unit(0, 27)),
    )
    assert readings(body) == {"1-0:1.8.0": (1000, "Wh"), "1-0:2.7.0": (20, "W")}
    plain = array(
        structure(code("1.0.1.8.0.255"), b"\x06\x09\x01\x00\x01", unit(0, 30)), structure(code("1.0.2.8.0.255"), u32(1))
    )
    assert readings(plain)["1-0:1.8.0"] == (0x09010001, "Wh")  # a number that starts with 09 stays a number


def test_a_first_element_that_is_an_untagged_descriptor() -> None:
    """``class (2) | OBIS (6) | attribute (1)`` with no tags, then the tagged value, first in each structure."""

    def described(obis: tuple[int, ...], value: bytes) -> bytes:
        return b"\x02\x01" + b"\x00\x03" + bytes(obis) + b"\x02" + value

    body = array(described((1, 0, 1, 8, 0, 255), u32(5000)), described((1, 0, 1, 7, 0, 255), u32(250)))
    assert readings(body) == {"1-0:1.8.0": (5000, "Wh"), "1-0:1.7.0": (250, "W")}


def test_several_bodies_after_one_header() -> None:
    """Some meters put two structures after the notification header: both are read, pairs included."""
    first = structure(code("1.0.1.8.0.255"), u32(11), code("1.0.2.8.0.255"), u32(22))
    second = structure(code("1.0.3.8.0.255"), u32(33), code("1.0.4.8.0.255"), u32(44))
    (push,) = pushes(build_hdlc_frame(LLC + HEADER + first + second))
    assert values_of(push) == {"1-0:1.8.0": 11, "1-0:2.8.0": 22, "1-0:3.8.0": 33, "1-0:4.8.0": 44}
    assert decode_body(first).layout is Layout.OBIS_PAIRS  # alone, the same structure is a list of pairs
    with pytest.raises(DlmsError) as caught:  # a number after the body is no second body
        decode_body(first + u32(1))
    assert caught.value.reason == "malformed"


# --- headers, blocks, ciphering, framing ------------------------------------------------------------------------


def test_the_header_date_time_as_an_octet_string_of_any_length() -> None:
    body = structure(code("1.0.1.8.0.255"), u32(1), code("1.0.2.8.0.255"), u32(2))
    stamp = bytes.fromhex("07EA0C0203100000FF800000")
    assert parse_notification(b"\x0f\x00\x00\x00\x01\x09\x00" + body).body == body
    dated = parse_notification(b"\x0f\x00\x00\x00\x01\x09\x0c" + stamp + body)
    assert (dated.datetime, dated.body) == (datetime(2026, 12, 2, 16, 0, 0), body)


def test_a_body_without_the_notification_header() -> None:
    body = structure(code("1.0.1.8.0.255"), u32(12345), code("1.0.2.8.0.255"), u32(7))
    (clear,) = pushes(build_hdlc_frame(LLC + body))
    assert values_of(clear) == {"1-0:1.8.0": 12345, "1-0:2.8.0": 7}
    ciphered = glo_ciphered(body, 7, tagged=False)
    (deciphered,) = pushes(build_hdlc_frame(LLC + ciphered), ek=EXAMPLE_EK)
    assert values_of(deciphered) == {"1-0:1.8.0": 12345, "1-0:2.8.0": 7}
    wrong = bytes(15) + b"\x01"  # another key: what comes out is noise
    for candidate in range(256):  # find a counter whose noise starts like a structure, to show it is not believed
        noise = glo_ciphered(b"\x02\x02\x06\x00\x00\x00\x01\x06\x00\x00", candidate, tagged=False, ek=wrong)
        plain = PushDecoder(EXAMPLE_EK, framing=Framing.RAW).decode_apdu(noise)
        if plain.error is not None and plain.error.reason == "wrong_key" and "no notification" in plain.error.detail:
            break
    else:
        pytest.fail("no counter gave noise starting with an array or structure")


def test_two_blocks_in_one_frame_and_blocks_numbered_from_zero() -> None:
    apdu = HEADER + structure(code("1.0.1.8.0.255"), u32(1), code("1.0.2.8.0.255"), u32(2))

    def block(number: int, part: bytes, *, last: bool) -> bytes:
        return b"\xe0" + bytes([0x80 if last else 0x00]) + struct.pack(">HH", number, 0) + bytes([len(part)]) + part

    one_frame = block(1, apdu[:10], last=False) + block(2, apdu[10:], last=True)
    (push,) = pushes(build_hdlc_frame(LLC + one_frame))
    assert values_of(push) == {"1-0:1.8.0": 1, "1-0:2.8.0": 2}
    from_zero = [
        build_hdlc_frame(LLC + block(0, apdu[:10], last=False)),
        build_hdlc_frame(LLC + block(1, apdu[10:], last=True)),
    ]
    decoder = PushDecoder()
    (push,) = decoder.feed(from_zero[0]) + decoder.feed(from_zero[1])
    assert values_of(push) == {"1-0:1.8.0": 1, "1-0:2.8.0": 2}


def test_padding_after_the_ciphered_content() -> None:
    body = structure(code("1.0.1.8.0.255"), u32(3), code("1.0.2.8.0.255"), u32(4))
    padded = glo_ciphered(HEADER + body, 9) + b"\x00\x00"
    (push,) = PushDecoder(EXAMPLE_EK, EXAMPLE_AK, framing=Framing.RAW).feed(padded)
    assert values_of(push) == {"1-0:1.8.0": 3, "1-0:2.8.0": 4}


def test_m_bus_chains_whose_last_segment_does_not_say_so() -> None:
    """The CI field's last-segment bit is left clear by some meters: an APDU that is complete is read anyway."""
    apdu = HEADER + structure(code("1.0.1.8.0.255"), u32(5), code("1.0.2.8.0.255"), u32(6))
    tsap = b"\x01\x67"
    (alone,) = pushes(build_mbus_frame(0x00, tsap + apdu))
    assert values_of(alone) == {"1-0:1.8.0": 5, "1-0:2.8.0": 6}
    decoder = PushDecoder()
    first, second = build_mbus_frame(0x00, tsap + apdu[:12]), build_mbus_frame(0x01, tsap + apdu[12:])
    assert decoder.feed(first) == []  # incomplete: waits for the rest
    (chained,) = decoder.feed(second)
    assert values_of(chained) == {"1-0:1.8.0": 5, "1-0:2.8.0": 6}


# --- the command line: a capture is known to hold pushes ----------------------------------------------------------


def test_decode_reads_a_capture_with_no_framing_in_auto(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No HDLC or M-Bus frame in a capture: its APDUs are read raw, and a lone body without its header too."""
    body = structure(code("1.0.1.7.0.255"), u32(12345), code("1.0.2.7.0.255"), u32(7))
    for name, data in (("apdus", (HEADER + body) * 2), ("body", body)):
        capture = tmp_path / f"{name}.hex"
        capture.write_text(data.hex(" "))
        assert main(["decode", str(capture)]) == 0, name
        document = json.loads(capsys.readouterr().out)
        # two powers and nothing to check their scale against: held back, with what was sent
        held = [{code: read["raw"] for code, read in push["uncertain"].items()} for push in document["pushes"]]
        assert held == [{"1.7.0": 12345, "2.7.0": 7}] * (2 if name == "apdus" else 1), document
    capture = tmp_path / "framed.hex"
    capture.write_text(body.hex())
    assert main(["decode", str(capture), "--framing", "hdlc"]) == 1  # a framing named is the framing used
    assert "no valid HDLC frame" in json.loads(capsys.readouterr().out)["errors"][0]


def test_a_date_time_beside_another_code_is_a_time_not_hex() -> None:
    """A maximum demand's time (1-0:1.6.0's capture time) comes as a 12-byte octet-string."""
    stamp = bytes.fromhex("07E9030F060C1E0000800000")
    body = structure(code("1.0.1.6.0.255"), octets(stamp), code("1.0.1.8.0.255"), u32(1))
    decoded = decode_body(body)
    assert {ds.address: ds.values[0].value for ds in decoded.datasets} == {
        "1-0:1.6.0": "2025-03-15 12:30:00",
        "1-0:1.8.0": "1",
    }
    assert decoded.clock is None  # the meter's clock is 0-0:1.0.0 alone


REGISTER = st.tuples(
    st.tuples(st.integers(1, 99), st.sampled_from((7, 8)), st.integers(0, 4)),  # C, D, E of an electricity code
    st.integers(0, 2**32 - 1),
    st.integers(-3, 3).filter(lambda scaler: scaler != 2),  # int8 2 in {class, OBIS, x, value} is IDIS's attribute
    st.sampled_from((27, 29, 30, 32, 33, 35, 44)),
)


@given(st.lists(REGISTER, min_size=1, max_size=40, unique_by=lambda register: register[0]), st.data())
@settings(max_examples=150, deadline=None)
def test_registers_in_any_form_read_back(
    registers: list[tuple[tuple[int, int, int], int, int, int]], data: st.DataObject
) -> None:
    """Whatever form carries them, in an array or flat in a structure, registers come back with their scalers."""
    form = data.draw(st.sampled_from(("structures", "flat", "class-scaler", "value-first")))
    parts = []
    for (c, d, e), value, scaler, enum in registers:
        obis = code(f"1.0.{c}.{d}.{e}.255")
        if form == "structures":
            parts.append(structure(obis, u32(value), unit(scaler, enum)))
        elif form == "flat":
            parts += [obis, u32(value), unit(scaler, enum)]
        elif form == "class-scaler":
            parts.append(structure(u16(3), obis, i8(scaler), u32(value)))
        else:
            parts.append(structure(u32(value), u16(3), unit(scaler, enum), obis))
    body = structure(*parts) if form == "flat" else array(*parts)
    decoded = decode_body(body)
    assert decoded.layout is Layout.DESCRIBED
    expected = {
        f"1-0:{c}.{d}.{e}": value * 10**scaler if scaler >= 0 else value / 10**-scaler
        for (c, d, e), value, scaler, _ in registers
    }
    assert {ds.address: ds.number for ds in decoded.datasets} == pytest.approx(expected)


def test_registers_carried_over_from_one_list_to_the_next() -> None:
    """A register the latest push lacks keeps the value of the last list that carried it; one the latest push has
    takes the new value."""
    quarter = decode_body(
        array(
            structure(code("1.0.1.8.0.255"), u32(100), unit(0, 30)),
            structure(code("1.0.1.7.0.255"), u32(5), unit(0, 27)),
        )
    )
    second = decode_body(array(structure(code("1.0.1.7.0.255"), u32(7), unit(0, 27))))
    first = Readout(None, quarter.datasets, BccStatus.ABSENT)
    latest = Readout(None, second.datasets, BccStatus.ABSENT)
    merged = latest.carried_over(first)
    assert {code: reading.value for code, reading in merged.readings.items()} == {"1.7.0": 7, "1.8.0": 100}
    assert latest.carried_over(None) is latest and first.carried_over(latest).readings["1.7.0"].value == 5
