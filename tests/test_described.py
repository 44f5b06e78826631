"""Bodies that describe themselves: registers found by their OBIS codes and scaler_units, no per-meter profile."""

from __future__ import annotations

from datetime import datetime
import random
import struct
from typing import Any
from unittest.mock import patch

import pytest

from custom_components.e450.wire import DlmsError, Layout, PushDecoder, Reading
from custom_components.e450.wire.dlms.axdr import decode_all
from custom_components.e450.wire.dlms.push import described
from custom_components.e450.wire.dlms.push.bodies import decode_body
from custom_components.e450.wire.dlms.push.shape import redacted
from simulator.dlms_push import CYCLING, LAYOUTS, push_frame
from simulator.profiles import MeterState

from .dlms_vectors import all_vectors, vector


def obis(text: str) -> bytes:
    """``1.0.1.7.0.255`` as an A-XDR octet-string."""
    return b"\x09\x06" + bytes(int(part) for part in text.split("."))


def u32(value: int) -> bytes:
    return b"\x06" + struct.pack(">I", value)


def u16(value: int) -> bytes:
    return b"\x12" + struct.pack(">H", value)


def i32(value: int) -> bytes:
    return b"\x05" + struct.pack(">i", value)


def scaler_unit(scaler: int, unit: int) -> bytes:
    return b"\x02\x02\x0f" + struct.pack(">b", scaler) + b"\x16" + bytes([unit])


def structure(*items: bytes) -> bytes:
    return b"\x02" + bytes([len(items)]) + b"".join(items)


def array(*items: bytes) -> bytes:
    return b"\x01" + bytes([len(items)]) + b"".join(items)


def text(value: str) -> bytes:
    return b"\x0a" + bytes([len(value)]) + value.encode()


def readings(body: bytes) -> dict[str, tuple[float, str | None]]:
    decoded = decode_body(body)
    assert decoded.layout is Layout.DESCRIBED
    current = {ds.obis: ds for ds in decoded.datasets}
    return {code: (ds.number, ds.values[0].unit) for code, ds in current.items() if ds.number is not None}


def test_obis_value_scaler_unit_structures_in_an_array() -> None:
    """Aidon/Kaifa/Iskra style: the body's own scaler and unit win over the table's defaults."""
    body = array(
        structure(obis("1.0.1.7.0.255"), u32(1234), scaler_unit(0, 27)),
        structure(obis("1.0.32.7.0.255"), u16(2301), scaler_unit(-1, 35)),
        structure(obis("1.0.31.7.0.255"), i32(-52), scaler_unit(-1, 33)),
        structure(obis("1.0.1.8.0.255"), u32(7654321), scaler_unit(1, 30)),
        structure(obis("0.0.96.1.0.255"), b"\x09\x04" + b"7359"),
    )
    assert readings(body) == {
        "1.7.0": (1234, "W"),
        "32.7.0": (230.1, "V"),
        "31.7.0": (-5.2, "A"),
        "1.8.0": (76543210, "Wh"),
    }  # the meter number is a name, not a reading


def test_obis_value_pairs_without_scaler_take_the_table() -> None:
    body = structure(structure(obis("1.0.1.8.0.255"), u32(1000)), structure(obis("1.0.31.7.0.255"), u16(123)))
    assert readings(body) == {"1.8.0": (1000, "Wh"), "31.7.0": (1.23, "A")}


def test_flat_list_mixed_with_strings_kamstrup_style() -> None:
    body = structure(
        text("Kamstrup_V0001"),
        obis("1.1.0.0.5.255"),
        text("5706567000000000"),
        obis("1.1.1.7.0.255"),
        u32(532),
        obis("1.1.32.7.0.255"),
        u16(229),
        obis("1.1.1.8.0.255"),
        u32(12345),
        scaler_unit(1, 30),
    )
    assert readings(body) == {"1.7.0": (532, "W"), "32.7.0": (229, "V"), "1.8.0": (123450, "Wh")}
    decoded = decode_body(body)
    # the list version identifier, the one element without its code, takes the code Kamstrup gives it
    assert (decoded.datasets[0].address, decoded.datasets[0].values[0].value) == ("1-1:0.2.129", "Kamstrup_V0001")
    assert decoded.datasets[1].address == "1-1:0.0.5"  # the A-B fields are kept in the address


def test_idis_class_obis_attribute_value() -> None:
    body = array(
        structure(u16(3), obis("1.0.1.7.0.255"), b"\x0f\x02", u32(88)),
        structure(u16(3), obis("1.0.2.7.0.255"), b"\x0f\x02", u32(0)),
    )
    assert readings(body) == {"1.7.0": (88, "W"), "2.7.0": (0, "W")}


def test_a_body_that_describes_nothing_is_an_unknown_layout_naming_its_shape() -> None:
    with pytest.raises(DlmsError) as caught:
        decode_body(structure(u32(1), u32(2), u16(3)))
    assert caught.value.reason == "unknown_layout"
    assert caught.value.detail.endswith("shaped structure(3)[uint32, uint32, uint16]")


def test_an_unknown_shape_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    from custom_components.e450.wire import PushDecoder
    from custom_components.e450.wire.framing import Framing

    notification = b"\x0f\x00\x00\x00\x01\x00" + structure(u32(1), text("x" * 40), array(*[u16(n) for n in range(10)]))
    decoder = PushDecoder(framing=Framing.RAW)
    pushes = decoder.feed(notification) + decoder.feed(notification)
    assert [push.error.reason for push in pushes if push.error] == ["unknown_layout"] * 2
    assert caplog.text.count("please report it") == 1
    assert "visible-string(40)" in caplog.text and "array(10)[uint16" in caplog.text and "… 2 more" in caplog.text


def test_an_unknown_body_is_kept_for_the_report_with_its_strings_redacted() -> None:
    """What a user files: types, numbers, OBIS codes and date-times; never a serial number or a name."""
    from custom_components.e450.wire import PushDecoder
    from custom_components.e450.wire.framing import Framing

    stamp = bytes.fromhex("07ea0c0203100000ff800000")
    body = structure(text("SERIAL1234567"), obis("1.0.1.7.0.255"), u32(1234), array(b"\x09\x0c" + stamp, u16(5)))
    (push,) = PushDecoder(framing=Framing.RAW).feed(b"\x0f\x00\x00\x00\x01\x00" + body)
    assert push.error is not None and push.error.reason == "unknown_layout"
    assert push.undecoded == {
        "structure": [
            "visible-string(13)",
            {"obis": "1-0:1.7.0.255"},
            {"uint32": 1234},
            {"array": [{"octet-string": stamp.hex()}, {"uint16": 5}]},
        ]
    }
    assert "SERIAL" not in str(push.undecoded)
    deep = decode_all(structure(structure(structure(structure(structure(structure(structure(u16(1)))))))))
    assert "structure(1)" in str(redacted(deep))  # nesting past the report's depth is summarised by its shape


def test_capture_objects_are_never_registers() -> None:
    """``{class, OBIS, attribute, data index 0}`` describes what a push carries, not a value: a list of them (a push
    object list out of its place) yields no register, while the registers beside it are read."""
    capture = structure(u16(3), obis("1.0.1.8.0.255"), b"\x0f\x02", u16(0))
    body = structure(
        array(capture, structure(u16(3), obis("1.0.2.8.0.255"), b"\x0f\x02", u16(0))),
        structure(obis("1.0.1.7.0.255"), u32(5), scaler_unit(0, 27)),
        structure(obis("1.0.2.7.0.255"), u32(6), scaler_unit(0, 27)),
    )
    assert readings(body) == {"1.7.0": (5, "W"), "2.7.0": (6, "W")}


def test_registers_nested_deeper_than_four_levels_are_passed_over() -> None:
    deep = structure(structure(structure(structure(structure(obis("1.0.1.8.0.255"), u32(9))))))  # level 5
    body = array(
        structure(obis("1.0.1.7.0.255"), u32(5)),
        structure(obis("1.0.2.7.0.255"), u32(6)),
        deep,
    )
    assert readings(body) == {"1.7.0": (5, "W"), "2.7.0": (6, "W")}
    assert readings(array(body)) == readings(body)  # one level more still reaches the first two


@pytest.mark.parametrize(
    "body",
    [
        array(structure(obis("1.0.1.7.0.255"), u32(5)), structure(obis("1.0.2.7.0.255"), u32(6)))[:-2],  # cut short
        array(structure(obis("1.0.1.7.0.255"), u32(5)), structure(obis("1.0.2.7.0.255"), b"\x13\x00")),  # type 0x13
        array(structure(obis("1.0.1.7.0.255"), u32(5)), structure(obis("0.0.96.1.0.255"), text("abcdef")))[:-1],
        array(structure(obis("1.0.1.7.0.255"), u32(5)), structure(obis("0.0.96.1.0.255"), b"\x09\x04abc")),
        b"\x02\x84\xff\xff\xff\xff",  # a count that cannot fit
        b"\x02\x85\x00\x00",  # a length of five bytes
    ],
)
def test_bytes_that_are_no_value_are_malformed(body: bytes) -> None:
    with pytest.raises(DlmsError) as caught:
        decode_body(body)
    assert caught.value.reason == "malformed"


def test_a_deciphered_body_that_is_no_value_is_no_notification() -> None:
    """The key deciphered the APDU, but what came out does not decode: said as such, not as a malformed frame."""
    from custom_components.e450.wire import PushDecoder
    from custom_components.e450.wire.framing import Framing
    from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK, glo_ciphered

    apdu = glo_ciphered(b"\x0f\x00\x00\x00\x01\x00\x02\x02\x06\x00", 1, tagged=False)
    push = PushDecoder(EXAMPLE_EK, EXAMPLE_AK, framing=Framing.RAW).decode_apdu(apdu)
    assert push.error is not None and push.error.reason == "not_notification"


def test_a_structure_of_class_obis_attribute_and_a_list_is_walked_as_any_other() -> None:
    body = structure(
        structure(u16(3), obis("1.0.1.8.0.255"), b"\x0f\x02", array(obis("1.0.1.7.0.255"), u32(7))),
        structure(obis("1.0.2.7.0.255"), u32(6)),
    )
    assert readings(body) == {"1.7.0": (7, "W"), "2.7.0": (6, "W")}


def walked_bodies() -> list[bytes]:
    """Every body the decoder walks for registers in the real captures (tests/fixtures/dlms) and the simulator's
    pushes of every layout."""
    bodies: dict[bytes, None] = {}
    walk = described._registers

    def spy(body: bytes, **kwargs: Any) -> described.Registers | None:
        bodies[bytes(body)] = None
        return walk(body, **kwargs)

    with patch.object(described, "_registers", spy):
        for name in all_vectors():
            source = vector(name)
            if source.data:
                described._TEMPLATES.clear()  # a template of an earlier body would spare this one its walk
                PushDecoder(source.key("EK"), source.key("AK")).feed(source.data)
        for layout in (*LAYOUTS, *CYCLING):
            described._TEMPLATES.clear()
            PushDecoder().feed(push_frame(MeterState(), datetime(2026, 12, 6, 12), 7, layout=layout, security="none"))
    return list(bodies)


def test_a_body_in_the_layout_of_the_last_is_read_as_a_walk_reads_it() -> None:
    """Each body's template, given the body with other numbers and date-times in its values' places, gives what a
    walk of that body gives; a body that differs outside its values is left to the walk."""
    rng = random.Random(2026)
    templated = 0
    for body in walked_bodies():
        slots = described.Slots()
        registers = described._registers(body, quirks=False, slots=slots)
        if registers is None or not registers.described:
            continue
        template = described.Template.of(body, registers, slots)
        if template is None:
            continue
        templated += 1
        assert template.read(body) == registers
        places = sorted({slot for _, slot in (*slots.entries, *slots.elements)})
        for _ in range(20):
            moved = bytearray(body)
            for offset, code in places:
                size = struct.calcsize(f">{code}")
                moved[offset : offset + size] = rng.randbytes(size)
            if any(code in "fd" for _, code in places):
                continue  # a random float may be NaN, which compares unequal to itself
            assert template.read(bytes(moved)) == described._registers(bytes(moved), quirks=False), body.hex()
        for offset in rng.sample(range(len(body)), min(10, len(body))):
            if any(start <= offset < start + struct.calcsize(f">{code}") for start, code in places):
                continue
            changed = bytearray(body)
            changed[offset] ^= 0x01
            assert template.read(bytes(changed)) is None  # another layout: walked
    assert templated >= 10


def test_the_decoder_reads_a_pushed_list_again_from_its_template() -> None:
    described._TEMPLATES.clear()
    frames = [
        push_frame(
            MeterState(import_kwh=kwh, voltages=volts), datetime(2026, 12, 6, 12), 1, layout="aidon", security="none"
        )
        for kwh, volts in ((12345.678, (230.0, 231.0, 229.0)), (12345.912, (232.0, 230.5, 229.5)))
    ]
    with patch.object(described, "_registers", wraps=described._registers) as walk:
        first = PushDecoder().feed(frames[0])
        assert walk.call_count == 1
        second = PushDecoder().feed(frames[1])
        assert walk.call_count == 1  # the second push's body: no walk
    assert first[0].readout is not None and second[0].readout is not None
    assert second[0].readout.number("1.8.0") == Reading(12345912, "Wh") != first[0].readout.number("1.8.0")
    assert second[0].readout.number("32.7.0") == Reading(232.0, "V")
    described._TEMPLATES.clear()
    assert second[0].readout == PushDecoder().feed(frames[1])[0].readout  # as a walk reads it
