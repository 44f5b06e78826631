"""Push framings besides HDLC: M-Bus long frames (one or several per push), raw APDUs, and hex in every form."""

from __future__ import annotations

import pytest

from custom_components.e450.wire import PushDecoder
from custom_components.e450.wire.commands.dlms import as_bytes
from custom_components.e450.wire.dlms.push.raw import INCOMPLETE, INVALID, RawReader, apdu_end
from custom_components.e450.wire.framing import Framing
from custom_components.e450.wire.framing.mbus import MbusReader, build_mbus_frame, parse_long_frame

from .dlms_vectors import vector

BURGENLAND = vector("e450_at_netzburgenland_encrypted_ek_ak")
EK, AK = BURGENLAND.key("EK"), BURGENLAND.key("AK")
STATED = {"1.8.0": 31358606, "2.8.0": 7619, "32.7.0": 236}


def apdu() -> bytes:
    """The ciphered APDU of the real Netz Burgenland push, as the meter sent it inside HDLC."""
    (push,) = PushDecoder(EK, AK).feed(BURGENLAND.data)
    assert push.readout is not None
    return push.raw


def mbus_segments(payload: bytes, size: int) -> bytes:
    """The APDU over M-Bus as Kaifa meters send it: CI = sequence number, bit 4 on the last; STSAP, DTSAP."""
    chunks = [payload[offset : offset + size] for offset in range(0, len(payload), size)]
    return b"".join(
        build_mbus_frame(index | (0x10 if index == len(chunks) - 1 else 0), b"\x01\x67" + chunk)
        for index, chunk in enumerate(chunks)
    )


def values(pushes: list) -> dict[str, float]:  # type: ignore[type-arg]
    (push,) = [push for push in pushes if push.readout is not None]
    readings = push.readout.readings
    return {code: readings[code].value for code in STATED}


@pytest.mark.parametrize("size", [250, 60])
@pytest.mark.parametrize("framing", [Framing.AUTO, Framing.MBUS])
def test_the_same_push_in_m_bus_frames_one_or_several(size: int, framing: Framing) -> None:
    stream = b"\x10\x40\xff\x3f\x16" + mbus_segments(apdu(), size)  # an M-Bus short frame first: skipped
    decoder = PushDecoder(EK, AK, framing=framing)
    pushes = [push for start in range(0, len(stream), 7) for push in decoder.feed(stream[start : start + 7])]
    assert values(pushes) == STATED
    assert decoder.framing is Framing.MBUS  # auto settled on what it found


def test_an_m_bus_chain_that_breaks_off_is_reported_and_the_next_push_decodes() -> None:
    whole = mbus_segments(apdu(), 60)
    first_only = whole[: whole.index(b"\x16") + 1]
    pushes = PushDecoder(EK, AK, framing=Framing.MBUS).feed(first_only + whole)
    assert [push.error.reason for push in pushes if push.error] == ["interrupted"]
    assert values(pushes) == STATED


def test_m_bus_frames_are_checked() -> None:
    frame = build_mbus_frame(0x10, b"\x01\x67\x0f")
    assert parse_long_frame(frame, 0)[0] is not None
    assert parse_long_frame(frame[:-3] + b"\x00" + frame[-2:], 0) == (None, 1)  # a wrong checksum
    assert parse_long_frame(frame[:5], 0) == (None, -1)  # still arriving
    reader = MbusReader()
    # a stray 0x68 announcing a long frame does not hold back the real one after it
    assert len(reader.feed(b"\x68\xf0\xf0\x68" + frame)) == 1 and reader.junk_bytes == 4
    with pytest.raises(ValueError):
        build_mbus_frame(0x10, bytes(300))


def test_raw_apdus_straight_on_the_line() -> None:
    ciphered = apdu()
    stream = b"\x00\x42junk" + ciphered + ciphered[:10]
    decoder = PushDecoder(EK, AK, framing=Framing.RAW)
    pushes = decoder.feed(stream)
    assert values(pushes) == STATED
    assert decoder.junk_bytes == 6
    # the second push completes later; its repeated invocation counter makes it a duplicate
    (again,) = decoder.feed(ciphered[10:])
    assert again.error is not None and again.error.reason == "duplicate"


def test_raw_apdu_lengths() -> None:
    notification = b"\x0f\x00\x00\x00\x01\x00\x02\x02\x06\x00\x00\x00\x01\x12\x00\x02"
    assert apdu_end(notification, 0) == len(notification)
    assert apdu_end(notification[:-1], 0) == INCOMPLETE
    assert apdu_end(b"\x0f\x00\x00\x00\x01\x07", 0) == INVALID  # no date-time field starts with 0x07
    assert apdu_end(b"\x0f\x00\x00\x00\x01\x00\xee", 0) == INVALID  # no A-XDR type 0xEE
    block = b"\xe0\x80\x00\x01\x00\x00\x03abc"
    assert apdu_end(block, 0) == len(block)
    # a stray 0x0F whose "value" would need more bytes does not hold back the complete APDU after it
    reader = RawReader()
    assert reader.feed(b"\x0f\x00\x00\x00\x01\x00\x01\x09" + notification) == [notification]


@pytest.mark.parametrize(
    "text",
    [
        "7E A0 07 CE FF 03 13 00",
        "7E:A0:07:CE:FF:03:13:00",
        "0x7E, 0xA0, 0x07, 0xCE, 0xFF, 0x03, 0x13, 0x00",
        "// a C array literal\nconst uint8_t frame[] = {0x7e, 0xa0, 0x07,\n  0xce, 0xff, 0x03, 0x13, 0x00};",
        "# comment\n7EA007CE\nFF031300\n",
    ],
)
def test_hex_in_every_common_form(text: str) -> None:
    assert as_bytes(text.encode()) == bytes.fromhex("7EA007CEFF031300")


def test_raw_bytes_stay_raw() -> None:
    assert as_bytes(b"\x7e\xa0\x07binary") == b"\x7e\xa0\x07binary"


@pytest.mark.parametrize(
    ("apdu", "end"),
    [
        (b"\xdb\x08LGZg1234\x82\x00\x03abc", 16),  # a two-byte length form
        (b"\xdb\x08LGZg1234\x82\x00", INCOMPLETE),  # the length itself still arriving
        (b"\xdb\x08LGZg1234\x85\x00", INVALID),  # no length takes five bytes
        (b"\xdb\x08LGZg1234\x83\xff\xff\xff", INVALID),  # longer than any APDU may be
        (b"\xdb", INCOMPLETE),
        (b"\xe0\x80\x00\x01\x00\x00\x05ab", INCOMPLETE),
        (b"\x0f\x00\x00\x00\x01", INCOMPLETE),  # the date-time field not yet here
        (b"\x0f\x00\x00\x00\x01\x0c" + bytes(12) + b"\x11\x05", 20),  # a 12-byte date-time, then uint8
        (b"\x0f\x00\x00\x00\x01\x09\x0c" + bytes(12) + b"\x00", 20),  # the date-time as an octet-string, null
        (b"\x0f\x00\x00\x00\x01\x00\x04\x0a\xff\x03", 10),  # a bit-string of 10 bits
        (b"\x0f\x00\x00\x00\x01\x00\x0a\x05ab", INCOMPLETE),  # a visible-string still arriving
        (b"\x0f\x00\x00\x00\x01\x00\x01\x85", INVALID),  # an array with an impossible count form
        (b"\x0f\x00\x00\x00\x01\x00" + b"\x01\x01" * 20 + b"\x00", INVALID),  # nested beyond any push
        (b"\x0f\x00\x00\x00\x01\x00\x06\x00\x00", INCOMPLETE),  # a uint32 cut short
        (b"\x42", INVALID),
    ],
)
def test_raw_apdu_ends(apdu: bytes, end: int) -> None:
    assert apdu_end(apdu, 0) == end


def test_raw_reader_skips_junk_and_gives_up_on_an_endless_start() -> None:
    reader = RawReader()
    assert reader.feed(b"\x01\x02\x03") == [] and reader.junk_bytes == 3
    # an APDU that announces more than any push holds is junk, not something to wait for
    assert reader.feed(b"\xdb\x08LGZg1234\x83\x02\x00\x00") == []
    assert reader.junk_bytes > 3
