"""The DLMS/COSEM push decoder against every real vector, and against what goes wrong on real lines."""

from __future__ import annotations

import asyncio
from datetime import datetime
import json
from pathlib import Path
import subprocess
import sys
from unittest.mock import patch

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.e450.meter_info import meter_serial
from custom_components.e450.wire import DlmsError, Push, PushDecoder
from custom_components.e450.wire.commands.dlms import as_bytes, main
from custom_components.e450.wire.dlms.apdu import BlockAssembler, parse_block, parse_notification
from custom_components.e450.wire.dlms.axdr import Data, cosem_datetime, decode, decode_all, decode_length, encode
from custom_components.e450.wire.dlms.cipher import GloCiphered, decrypt, parse_glo_ciphered
from custom_components.e450.wire.dlms.push.bodies import decode_body
from custom_components.e450.wire.framing.hdlc import HdlcReader, build_hdlc_frame, parse_frame

from .dlms_vectors import all_vectors, vector

ROOT = Path(__file__).parent.parent


def decoded(name: str, **keys: bytes | None) -> list[Push]:
    source = vector(name)
    ek = keys.get("ek", source.key("EK"))
    ak = keys.get("ak", source.key("AK"))
    return PushDecoder(ek, ak).feed(source.data)


def values(push: Push) -> dict[str, float]:
    assert push.readout is not None, push.error
    return {code: reading.value for code, reading in push.readout.readings.items()}


def test_every_stream_vector_frames_without_junk_except_the_stated_two_bytes() -> None:
    for name in all_vectors():
        source = vector(name)
        if source.header["Kind"] != "hdlc-stream":
            continue
        decoder = PushDecoder(source.key("EK"), source.key("AK"))
        decoder.feed(source.data)
        assert decoder.frames == len(source.lines) - (1 if "nokey" in name else 0), name
        assert decoder.junk_bytes == (2 if "nokey" in name else 0), name


def test_netz_burgenland_tag_verifies_and_positions_map_to_obis() -> None:
    (push,) = decoded("e450_at_netzburgenland_encrypted_ek_ak")
    assert push.error is None
    info = push.info
    assert (info.security, info.tag, info.layout, info.profile) == (
        "authenticated",
        "ok",
        "positional",
        "netz-burgenland",
    )
    assert info.system_title == bytes.fromhex("4C475A6772A9A111")
    assert info.invocation_counter == 0x002180F6
    assert info.time == datetime(2023, 3, 28, 19, 11, 20)
    assert values(push) == {
        "32.7.0": 236, "52.7.0": 237, "72.7.0": 236,
        "31.7.0": 0, "51.7.0": 0.04, "71.7.0": 0.26,
        "1.7.0": 29, "2.7.0": 0, "1.8.0": 31358606, "2.8.0": 7619,
        "81.7.4": 400, "81.7.15": 53, "81.7.26": 295,
    }  # fmt: skip
    assert push.readout is not None
    assert push.readout.text("96.1.0") == "30137181"
    assert push.readout.readings["81.7.4"].unit is None  # angle kept raw: its unit is not published
    assert meter_serial(push.readout) == "30137181"


@pytest.mark.parametrize(
    ("ek", "ak"),
    [
        (bytes.fromhex("34743677397A24432646294A404E6353"), bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")),
        (bytes.fromhex("34743677397A24432646294A404E6352"), bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECE")),
    ],
    ids=["wrong-ek", "wrong-ak"],
)
def test_a_wrong_key_fails_the_tag_and_yields_no_values(ek: bytes, ak: bytes) -> None:
    (push,) = decoded("e450_at_netzburgenland_encrypted_ek_ak", ek=ek, ak=ak)
    assert push.readout is None
    assert push.error is not None and push.error.reason == "tag_mismatch"
    assert push.info.tag == "failed"
    assert push.as_dict()["tag"] == "failed" and "readings" not in push.as_dict()


def test_without_the_authentication_key_the_plaintext_must_parse() -> None:
    (push,) = decoded("e450_at_netzburgenland_encrypted_ek_ak", ak=None)
    assert push.info.tag == "unchecked" and values(push)["1.8.0"] == 31358606
    (wrong,) = decoded("e450_at_netzburgenland_encrypted_ek_ak", ek=bytes(16), ak=None)
    assert wrong.error is not None and wrong.error.reason in ("wrong_key", "not_notification")
    (none,) = decoded("e450_at_netzburgenland_encrypted_ek_ak", ek=None, ak=None)
    assert none.error is not None and none.error.reason == "no_key"


def test_tampered_ciphertext_is_rejected() -> None:
    source = vector("e450_at_netzburgenland_encrypted_ek_ak")
    frame = source.lines[0]
    information = bytearray(parse_frame(frame[1:-1]).information)  # type: ignore[union-attr]
    information[40] ^= 0x01
    tampered = build_hdlc_frame(bytes(information))
    (push,) = PushDecoder(source.key("EK"), source.key("AK")).feed(tampered)
    assert push.error is not None and push.error.reason == "tag_mismatch"


def test_burgenland_ciphertext_only_vector() -> None:
    source = vector("e450_at_netzburgenland_ciphertext_only")
    iv = bytes.fromhex(source.header["IV"])
    ciphered = GloCiphered(iv[:8], 0x30, int.from_bytes(iv[8:], "big"), source.data)
    plaintext, tag = decrypt(ciphered, source.key("EK"), source.key("AK"))
    assert tag == "ok"
    notification = parse_notification(plaintext, decrypted=True)
    assert notification.invoke_id == 0x057E41
    assert notification.datetime == datetime(2022, 12, 12, 12, 35, 45)
    result = decode_body(notification.body)
    raw = {ds.obis: ds.first.value for ds in result.datasets if ds.first}
    # the tag verifies, so these are the meter's bytes: 0x01A96EBD = 27881149 (the vector header's 27889341 is a
    # transcription slip of one hex digit)
    assert bytes.fromhex("0601A96EBD") in plaintext
    assert raw["1.8.0"] == "27881149" and raw["1.7.0"] == "125" and raw["51.7.0"] == "0.46"
    assert raw["96.1.0"] == "30137181"


def test_green_book_gcm_example() -> None:
    source = vector("greenbook_glo_cipher_get_request")
    iv = bytes.fromhex(source.header["IV"])
    ciphered = GloCiphered(iv[:8], 0x30, int.from_bytes(iv[8:], "big"), source.data)
    assert decrypt(ciphered, source.key("EK"), source.key("AK")) == (
        bytes.fromhex("C0010000080000010000FF0200"),
        "ok",
    )
    with pytest.raises(DlmsError) as caught:
        decrypt(ciphered, source.key("EK"), bytes(16))
    assert caught.value.reason == "tag_mismatch"


def test_dlms_cosem_apdu_verifies_but_its_body_is_no_known_layout() -> None:
    source = vector("dlmscosem_glo_cipher_data_notification")
    push = PushDecoder(source.key("EK"), source.key("AK")).decode_apdu(source.data)
    assert push.info.tag == "ok" and push.info.invocation_counter == 0x1E5
    assert push.error is not None and push.error.reason == "unknown_layout"


def test_graz_style_obis_pairs_in_block_transfer() -> None:
    (push,) = decoded("e450_at_rj12_encrypted_obis_tagged")
    assert (push.info.layout, push.info.tag, push.info.security) == ("obis-pairs", "unchecked", "authenticated")
    assert push.info.time == datetime(2022, 2, 23, 21, 36)
    assert values(push) == {
        "1.8.0": 6226327, "1.8.1": 4395170, "1.8.2": 1831157, "1.7.0": 769,
        "2.8.0": 0, "2.8.1": 0, "2.8.2": 0, "2.7.0": 0,
        "3.8.0": 1139036, "3.8.1": 689910, "3.8.2": 449126, "3.7.0": 0,
        "4.8.0": 1373822, "4.8.1": 958712, "4.8.2": 415110, "4.7.0": 442,
    }  # fmt: skip
    assert push.readout is not None and push.readout.readings["3.8.0"].unit == "varh"


def test_wiener_netze_optical_frames_need_the_key() -> None:
    pushes = decoded("e450_at_wienernetze_ir_encrypted_nokey")
    assert [push.info.invocation_counter for push in pushes] == [0x0A1409, 0x0A140A, 0x0A140B, 0x0A140C]
    assert {push.error.reason for push in pushes if push.error} == {"no_key"}
    assert all(push.info.security == "encrypted" and push.info.tag is None for push in pushes)
    wrong = decoded("e450_at_wienernetze_ir_encrypted_nokey", ek=bytes(16))
    assert {push.error.reason for push in wrong if push.error} <= {"wrong_key", "not_notification"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (0, (datetime(2023, 3, 11, 13, 27, 47), [5107912, 0, 1126903, 566784, 230, 0, 88, 21])),
        (1, (datetime(2023, 9, 19, 22, 44, 1), [222813, 13818, 10442, 116328, 2765, 0, 0, 428])),
        (2, (datetime(2023, 9, 19, 22, 44, 27), [1077098, 0, 12642, 17025, 3243, 0, 395, 330])),
        (3, (datetime(2023, 9, 19, 22, 44, 58), [1096897, 52, 14, 107045, 3279, 0, 126, 436])),
    ],
)
def test_wiener_netze_bodies(line: int, expected: tuple[datetime, list[int]]) -> None:
    result = decode_body(vector("e450_at_wienernetze_plaintext_bodies").lines[line])
    assert (result.layout, result.profile, result.clock) == ("positional", "wiener-netze", expected[0])
    numbers = [float(ds.first.value) for ds in result.datasets if ds.first and ds.first.unit]
    assert numbers == expected[1]
    units = [ds.first.unit for ds in result.datasets if ds.first and ds.first.unit]
    assert units == ["Wh", "Wh", "varh", "varh", "W", "W", "var", "var"]


def test_swiss_push_list_restarts_after_an_interrupted_block_transfer() -> None:
    interrupted, push = decoded("e450_ch_cii_unencrypted_pushlist_2021")
    assert interrupted.error is not None and interrupted.error.reason == "interrupted"
    assert push.info.layout == "push-list" and push.info.security == "none"
    assert push.readout is not None
    assert push.readout.text("42.0.0") == "LGZ1030655933512"
    assert push.readout.text("96.1.1") == "1935912"
    assert (push.readout.text("0.9.2"), push.readout.text("0.9.1")) == ("21-07-06", "14:58:18")
    assert values(push) == {
        "1.7.0": 28, "2.7.0": 0, "3.7.0": 0, "4.7.0": 10, "1.8.0": 886977, "2.8.0": 0,
        "5.8.0": 18, "6.8.0": 1, "7.8.0": 0, "8.8.0": 291341, "13.7.0": 0.941,
    }  # fmt: skip
    assert push.readout.readings["13.7.0"].unit is None  # a power factor has none
    assert meter_serial(push.readout) == "1935912"


def test_swiss_2022_and_vse_2026_lists() -> None:
    (push,) = decoded("e450_ch_cii_unencrypted_pushlist_2022")
    # this list names no maker (no system title, no logical device name) and carries no voltage or current: its
    # powers and energies have no scaler, no convention and no check, so they are held back with what was sent
    assert values(push) == {}
    assert push.readout is not None and meter_serial(push.readout) == "44337811"
    held = push.readout.withheld
    assert {code: item.raw for code, item in held.items()} == {
        "1.7.0": 777, "2.7.0": 0, "1.8.0": 25149419, "2.8.0": 4422366,
        "5.8.0": 3132846, "6.8.0": 13247, "7.8.0": 3633198, "8.8.0": 15745368,
    }  # fmt: skip
    assert (held["1.7.0"].reason, held["1.8.0"].reason, held["1.8.0"].unit) == ("unchecked", "waiting", "Wh")
    (vse,) = decoded("e450_ch_cii_unencrypted_vse2026")
    assert values(vse) == {
        "1.8.0": 482939, "2.8.0": 0, "3.8.0": 37, "4.8.0": 344697, "1.7.0": 28, "2.7.0": 0,
        "32.7.0": 236, "52.7.0": 236, "72.7.0": 0, "31.7.0": 0.09, "51.7.0": 0.08, "71.7.0": 0,
    }  # fmt: skip
    assert vse.readout is not None and vse.readout.text("42.0.0") == "LGZ1030653520967"


def test_m_bus_channels_and_cyprus_list_keep_unknown_codes_raw() -> None:
    (mbus,) = decoded("e450_cii_unencrypted_mbus_channels_2024")
    assert mbus.readout is not None
    assert mbus.readout.number("24.2.1") is not None and mbus.readout.number("24.2.1").value == 30545  # type: ignore[union-attr]
    # no unit or scaler is known for sub-meter channels: the raw number, and nothing guessed
    assert {code: reading.unit for code, reading in mbus.readout.readings.items()} == dict.fromkeys(
        mbus.readout.readings, None
    )
    assert mbus.readout.readings["24.2.1"].value == 30545
    # the four M-Bus channels stay apart: channel 1's gas reading is never overwritten by the empty channels 2-4
    assert [mbus.readout.readings[f"{channel}24.2.1"].value for channel in ("", "0-2:", "0-3:", "0-4:")] == [
        30545, 0, 0, 0,
    ]  # fmt: skip
    assert mbus.readout.text("96.1.0") == "24521662" and mbus.readout.text("0-4:96.1.0") == "00"
    (cyprus,) = decoded("e450_cy_unencrypted_gbt")
    assert values(cyprus) == {
        "1.8.1": 3546968, "1.8.2": 3589758, "2.8.1": 102067, "2.8.2": 2586837,
        "1.8.0": 7136726, "2.8.0": 2688904, "3.8.0": 313101, "4.8.0": 2561113,
        "96.3.10": 1,  # the disconnector's state: connected
    }  # fmt: skip
    assert cyprus.readout is not None and cyprus.readout.text("96.14.0") == "RATE2"


def test_e570_encryption_only_push_list_with_scalers() -> None:
    (push,) = decoded("e570_ch_cii_encrypted_sc20")
    assert (push.info.security, push.info.tag) == ("encrypted", None)
    assert push.info.invocation_counter == 0x2476
    assert push.readout is not None and push.readout.text("42.0.0") == "LGZ1030769231253"
    assert values(push)["1.8.0"] == 862055
    assert push.readout.number("13.7.0").value == 1.0  # type: ignore[union-attr]
    # no current flows: nothing tells the E570's whole amperes from the E450's hundredths (Landis+Gyr's lists name
    # no model), so the currents are held back until a load shows which
    held = push.readout.withheld["31.7.0"]
    assert (held.raw, held.reason, held.candidates) == (0, "ambiguous", (-2, 0))


def test_repeated_invocation_counter_is_dropped_and_a_reset_is_accepted(caplog: pytest.LogCaptureFixture) -> None:
    source = vector("e450_at_netzburgenland_encrypted_ek_ak")
    decoder = PushDecoder(source.key("EK"), source.key("AK"))
    first, again = decoder.feed(source.data + source.data)
    assert first.readout is not None
    assert again.error is not None and again.error.reason == "duplicate"
    # a push with a lower counter (meter reset) is accepted and logged
    decoder._counters[first.info.system_title] = first.info.invocation_counter + 10  # type: ignore[index,operator]
    (after_reset,) = decoder.feed(source.data)
    assert after_reset.readout is not None
    assert "went back" in caplog.text


def test_resync_after_junk_and_stray_flags_split_anywhere() -> None:
    source = vector("e450_ch_cii_unencrypted_pushlist_2022")
    stream = b"\x7e\x7e\xa0\x10garbage\x7e" + source.data + b"\x00\x7e\xa8"
    for size in (1, 3, 7, 64):
        decoder = PushDecoder()
        pushes = [push for i in range(0, len(stream), size) for push in decoder.feed(stream[i : i + size])]
        assert [push.info.layout for push in pushes] == ["push-list"], size


def test_a_stray_flag_with_a_long_length_does_not_hold_back_the_next_frame() -> None:
    source = vector("e450_at_netzburgenland_encrypted_ek_ak")
    decoder = PushDecoder(source.key("EK"), source.key("AK"))
    (push,) = decoder.feed(b"\x7e\xa7\xff\x01\x02" + source.data)
    assert push.readout is not None


def test_block_sequence_rules() -> None:
    assembler = BlockAssembler()
    block = parse_block(bytes.fromhex("E0 00 0001 0000 02 AAAA"))
    assert assembler.add(block) == (None, False)
    # block 3 after 1: the sequence is dropped
    assert assembler.add(parse_block(bytes.fromhex("E0 80 0003 0000 01 BB"))) == (None, True)
    assert assembler.add(parse_block(bytes.fromhex("E0 00 0001 0000 01 01"))) == (None, False)
    assert assembler.add(parse_block(bytes.fromhex("E0 80 0002 0000 01 02"))) == (b"\x01\x02", False)
    with pytest.raises(DlmsError):
        parse_block(bytes.fromhex("E0 80 0002 0000 05 02"))


def test_hdlc_segmentation_and_addresses_of_any_length() -> None:
    source = vector("e450_ch_cii_unencrypted_pushlist_2022")
    (plain,) = PushDecoder().feed(source.data)
    assert plain.raw
    apdu = plain.raw
    half = len(apdu) // 2
    first = build_hdlc_frame(b"\xe6\xe7\x00" + apdu[:half], destination=b"\x00\x02\x00\x01", source=b"\x21")
    first = first[:1] + bytes([first[1] | 0x08]) + first[2:]
    # recompute the checksums after setting the segmentation bit
    body = bytearray(first[1:-1])
    from custom_components.e450.wire.framing.hdlc import crc16_x25

    header_end = 2 + 4 + 1 + 1
    body[header_end : header_end + 2] = crc16_x25(bytes(body[:header_end])).to_bytes(2, "little")
    body[-2:] = crc16_x25(bytes(body[:-2])).to_bytes(2, "little")
    segmented = b"\x7e" + bytes(body) + b"\x7e"
    last = build_hdlc_frame(apdu[half:], destination=b"\x00\x02\x00\x01", source=b"\x21")
    (push,) = PushDecoder().feed(segmented + last)
    assert push.readout == plain.readout
    assert HdlcReader().feed(segmented)[0].destination == b"\x00\x02\x00\x01"


def test_crc_check_value() -> None:
    from custom_components.e450.wire.framing.hdlc import crc16_x25

    assert crc16_x25(b"123456789") == 0x906E  # the CRC-16/X.25 catalogue check value


def test_axdr_types_and_lengths() -> None:
    assert decode_length(b"\x82\x01\x03", 0) == (259, 3)
    data = bytes.fromhex(
        "02 0A 03 01 05 FFFFFFFF 0A 02 4142 0F FF 10 FF38 11 05 14 FFFFFFFFFFFFFFFF 16 02 17 3FC00000 19"
    )
    data += bytes.fromhex("07EA0B1C06090F05FF800000")
    value = decode_all(data)
    assert [item.value for item in value.items] == [
        True,
        -1,
        "AB",
        -1,
        -200,
        5,
        -1,
        2,
        1.5,
        bytes.fromhex("07EA0B1C06090F05FF800000"),
    ]
    assert cosem_datetime(value.items[-1].value) == datetime(2026, 11, 28, 9, 15, 5)  # type: ignore[arg-type]
    assert cosem_datetime(bytes.fromhex("FFFF0B1C06090F05FF800000")) is None
    assert cosem_datetime(bytes.fromhex("07EA0D1C06090F05FF800000")) is None  # month 13
    for bad in ("02 02 11", "13 00", "09 05 0102", "82", "01 85 0000000001"):
        with pytest.raises(DlmsError):
            decode_all(bytes.fromhex(bad))
    assert decode(bytes.fromhex("00 04 0C ABCD"), 0)[0] == Data(0, None)
    assert decode(bytes.fromhex("04 0C ABCD"), 0)[0] == Data(4, bytes.fromhex("ABCD"))


def test_glo_ciphering_header_checks() -> None:
    for bad in (
        "DB 07 4C475A6772A9A1",
        "DB 08 4C475A6772A9A111 10 30 00000001",
        "DB 08 4C475A6772A9A111 05 B0 00000001",
    ):
        with pytest.raises(DlmsError):
            parse_glo_ciphered(bytes.fromhex(bad))


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_streams_never_raise(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([n for n in all_vectors() if vector(n).header["Kind"] == "hdlc-stream"]))
    source = vector(name)
    stream = bytearray(source.data)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(stream) - 1))
        stream[position] = data.draw(st.integers(0, 255))
    decoder = PushDecoder(source.key("EK"), source.key("AK"))
    for push in decoder.feed(bytes(stream)):
        assert (push.error is None) != (push.readout is None)


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_random_apdus_only_give_typed_errors(apdu: bytes) -> None:
    for prefix in (b"", b"\x0f", b"\xdb\x08", b"\xe0"):
        push = PushDecoder(bytes(16), bytes(16)).decode_apdu(prefix + apdu) if prefix + apdu else None
        if push is not None:
            assert push.error is None or isinstance(push.error, DlmsError)


def test_cli_decode_contract(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(ROOT / "tests/fixtures/dlms/e450_at_netzburgenland_encrypted_ek_ak.txt")
    keys = ["--ek", "34743677397A24432646294A404E6352", "--ak", "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF"]
    assert main(["decode", path, *keys]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["errors"] == []
    (push,) = document["pushes"]
    assert push == {
        "system_title": "4c475a6772a9a111",
        "invocation_counter": 2195702,
        "security": "authenticated",
        "tag": "ok",
        "datetime": "2023-03-28T19:11:20",
        "layout": "positional",
        "profile": "netz-burgenland",
        "readings": push["readings"],
    }
    # a positional list: the utility's list gives each scale, and says so
    convention = {"scale": "convention", "scale_source": "netz-burgenland"}
    assert push["readings"]["1.8.0"] == {"value": 31358606, "unit": "Wh", **convention}
    assert push["readings"]["51.7.0"] == {"value": 0.04, "unit": "A", **convention}
    # a failed tag: the push is listed without readings, the error is reported, the exit status says so
    assert main(["decode", path, keys[0], keys[1], "--ak", "00" * 16]) == 1
    failed = json.loads(capsys.readouterr().out)
    assert failed["pushes"][0]["tag"] == "failed" and "readings" not in failed["pushes"][0]
    assert "tag_mismatch" in failed["errors"][0]


def test_cli_decode_raw_stdin_and_profile() -> None:
    raw = vector("e450_ch_cii_unencrypted_pushlist_2021").data
    result = subprocess.run(
        [sys.executable, "-m", "custom_components.e450.dlms", "decode", "-"],
        input=raw, capture_output=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert len(document["pushes"]) == 1 and "interrupted" in document["errors"][0]
    assert as_bytes(raw) == raw and as_bytes(b"# c\n7e 01\n") == b"\x7e\x01"


def test_cli_decode_nothing_and_bad_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02 hello")
    assert main(["decode", str(junk)]) == 1
    assert "no valid HDLC or M-Bus frame" in json.loads(capsys.readouterr().out)["errors"][0]
    with pytest.raises(SystemExit):
        main(["decode", str(junk), "--ek", "1234"])
    nokey = str(ROOT / "tests/fixtures/dlms/e450_at_wienernetze_ir_encrypted_nokey.txt")
    assert main(["decode", nokey, "--profile", "wiener-netze"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert len(document["pushes"]) == 4 and all("no_key" in error for error in document["errors"])


def test_decoder_rejects_short_keys() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        PushDecoder(b"\x00" * 15)


def _authenticated_only(apdu: bytes, ek: bytes, ak: bytes, counter: int = 7) -> bytes:
    """general-glo-ciphering with SC 0x10: the APDU in clear, a GMAC tag over SC ‖ AK ‖ APDU."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    title = b"LGZgtest"
    iv = title + counter.to_bytes(4, "big")
    tag = AESGCM(ek).encrypt(iv, b"", b"\x10" + ak + apdu)[:12]
    content = b"\x10" + counter.to_bytes(4, "big") + apdu + tag
    return b"\xdb\x08" + title + b"\x82" + len(content).to_bytes(2, "big") + content


def test_authentication_only_pushes() -> None:
    (plain,) = decoded("e450_ch_cii_unencrypted_pushlist_2022")
    ek, ak = bytes(range(16)), bytes(range(16, 32))
    sealed = _authenticated_only(plain.raw, ek, ak)
    push = PushDecoder(ek, ak).decode_apdu(sealed)
    assert (push.info.security, push.info.tag) == ("authenticated", "ok")
    # the same body; its system title names the maker (LGZ), so Landis+Gyr's convention scales what the plain
    # push, with nothing naming its meter, had to hold back
    assert plain.readout is not None and push.readout is not None and not push.readout.withheld
    sent = {code: held.raw for code, held in plain.readout.withheld.items()}
    assert {code: reading.value for code, reading in push.readout.readings.items()} == sent
    assert PushDecoder(ek, bytes(16)).decode_apdu(sealed).error.reason == "tag_mismatch"  # type: ignore[union-attr]
    assert PushDecoder(None, None).decode_apdu(sealed).info.tag == "unchecked"
    assert PushDecoder(None, ak).decode_apdu(sealed).error.reason == "no_key"  # type: ignore[union-attr]


def test_hdlc_frame_checks() -> None:
    good = build_hdlc_frame(b"\xe6\xe7\x00\x0f")[1:-1]
    assert parse_frame(good) is not None
    assert parse_frame(good[:5]) is None  # too short
    assert parse_frame(b"\x80" + good[1:]) is None  # not frame format type 3
    header_only = build_hdlc_frame(b"")[1:-1]
    frame = parse_frame(header_only)
    assert frame is not None and frame.information == b"" and frame.control == 0x13
    from custom_components.e450.wire.framing.hdlc import crc16_x25

    def sealed(body: bytes) -> bytes:
        return body + crc16_x25(body).to_bytes(2, "little")

    assert parse_frame(sealed(b"\xa0\x09\xce\xfe\xfe\xfe\xfe")) is None  # no address ends within 4 bytes
    assert parse_frame(sealed(b"\xa0\x0a\xce\xff\x03\x13\x00\x00\x0f")) is None  # bad HCS
    assert parse_frame(sealed(b"\xa0\x08\xce\xff\x03\x13\x00")) is None  # header check cut short


def test_notification_forms_and_failures() -> None:
    body = bytes.fromhex("0203 1101 1102 1103")
    assert parse_notification(b"\x0f\x00\x00\x00\x01\x00" + body).datetime is None
    stamp = bytes.fromhex("07EA0B1C06090F05FF800000")
    assert parse_notification(b"\x0f\x00\x00\x00\x01\x09\x0c" + stamp + body).datetime == datetime(
        2026, 11, 28, 9, 15, 5
    )
    for bad, reason in (
        (b"\x0f\x00", "malformed"),
        (b"\x0f\x00\x00\x00\x01\x07" + body, "malformed"),
        (b"\xc0\x01", "unsupported"),
        (b"", "unsupported"),
    ):
        with pytest.raises(DlmsError) as caught:
            parse_notification(bad)
        assert caught.value.reason == reason, bad
    with pytest.raises(DlmsError) as caught:
        parse_notification(b"\x0f\x00", decrypted=True)
    assert caught.value.reason == "not_notification"
    with pytest.raises(DlmsError) as caught:  # the body is checked as it is decoded: it must end with the APDU
        decode_body(body + b"\x00")
    assert caught.value.reason == "malformed"


def test_layout_value_kinds_and_unknown_profiles() -> None:
    from custom_components.e450.wire.dlms.axdr import (
        ARRAY,
        BOOLEAN,
        FLOAT32,
        NULL,
        OCTET_STRING,
        STRUCTURE,
        VISIBLE_STRING,
    )

    def pair(code: str, value: Data) -> tuple[Data, Data]:
        return Data(OCTET_STRING, bytes(int(part) for part in code.split("."))), value

    items = (
        *pair("1.0.14.7.0.255", Data(FLOAT32, 50.0)),
        *pair("0.0.96.50.0.255", Data(BOOLEAN, True)),
        *pair("0.0.96.13.0.255", Data(VISIBLE_STRING, "hello\x00")),
        *pair("0.0.96.99.0.255", Data(NULL, None)),
        *pair("0.0.96.98.0.255", Data(ARRAY, ())),
        *pair("0.0.96.97.0.255", Data(OCTET_STRING, b"\x01\xff")),
        *pair("0.0.1.0.0.255", Data(OCTET_STRING, bytes(12))),  # a clock that is not a date
    )
    result = decode_body(encode(Data(STRUCTURE, items)))
    texts = {ds.obis: ds.first.value for ds in result.datasets if ds.first}
    assert texts == {"14.7.0": "50.0", "96.50.0": "1", "96.13.0": "hello", "96.97.0": "01ff"}
    assert result.clock is None
    with pytest.raises(DlmsError) as caught:
        decode_body(encode(Data(STRUCTURE, (Data(0x11, 1),))), profile="nowhere")
    assert caught.value.reason == "unknown_layout"
    # a push list whose entries are not {class, OBIS, attribute, index} is no push list
    bad_list = Data(ARRAY, (Data(STRUCTURE, (Data(0x12, 3),)),))
    with pytest.raises(DlmsError):
        decode_body(encode(Data(STRUCTURE, (bad_list,))))
    forced = decode_body(vector("e450_at_wienernetze_plaintext_bodies").lines[0], profile="wiener-netze")
    assert forced.profile == "wiener-netze"


def test_block_transfer_edges_in_the_stream() -> None:
    decoder = PushDecoder()
    first_block = build_hdlc_frame(bytes.fromhex("E6E700 E0 00 0001 0000 02 0F00"))
    broken_block = build_hdlc_frame(bytes.fromhex("E0 80 0002 0000 09 00"))  # shorter than its length
    plain = vector("e450_ch_cii_unencrypted_pushlist_2022")
    (bad,) = decoder.feed(first_block + broken_block)
    assert bad.error is not None and bad.error.reason == "malformed"
    # a block sequence cut short by a plain APDU: reported, and the plain APDU still decoded
    (full,) = PushDecoder().feed(plain.data)
    pushes = decoder.feed(first_block + build_hdlc_frame(b"\xe6\xe7\x00" + full.raw))
    assert [push.error.reason if push.error else "ok" for push in pushes] == ["interrupted", "ok"]
    assert decoder.feed(build_hdlc_frame(b"\xe6\xe7\x00")) == []  # an empty information field


def test_endless_sequences_are_given_up() -> None:
    from custom_components.e450.wire.dlms.apdu import MAX_APDU
    from custom_components.e450.wire.framing.hdlc import crc16_x25

    piece = bytes(1000)
    blocks = b"".join(
        build_hdlc_frame(b"\xe0\x00" + n.to_bytes(2, "big") + b"\x00\x00\x82\x03\xe8" + piece)
        for n in range(1, MAX_APDU // 1000 + 3)
    )
    pushes = PushDecoder().feed(blocks)
    assert [push.error.reason for push in pushes if push.error] == ["interrupted"]
    # HDLC segments without an end: the segmentation bit set on every frame
    segment = bytearray(build_hdlc_frame(piece)[1:-1])
    segment[0] |= 0x08
    segment[6:8] = crc16_x25(bytes(segment[:6])).to_bytes(2, "little")  # HCS after format, addresses, control
    segment[-2:] = crc16_x25(bytes(segment[:-2])).to_bytes(2, "little")
    chain = (b"\x7e" + bytes(segment) + b"\x7e") * (MAX_APDU // 1000 + 2)
    assert [push.error.reason for push in PushDecoder().feed(chain) if push.error] == ["malformed"]


async def test_read_pushes_and_capture_on_a_fake_port() -> None:
    from custom_components.e450.wire import NoPushError, PortUnavailableError, capture_push
    from custom_components.e450.wire.dlms.push.listen import read_pushes

    class FakePort:
        def __init__(self, chunks: list[bytes | Exception]) -> None:
            self.chunks = chunks

        async def read(self, size: int) -> bytes:
            if not self.chunks:
                await asyncio.sleep(10)
            chunk = self.chunks.pop(0)
            if isinstance(chunk, Exception):
                raise chunk
            return chunk

    data = vector("e450_ch_cii_unencrypted_pushlist_2022").data
    pushes = []
    with pytest.raises(PortUnavailableError):
        async for push in read_pushes(FakePort([data, b""]), PushDecoder(), port="fake"):
            pushes.append(push)
    assert len(pushes) == 1
    with pytest.raises(PortUnavailableError) as caught:
        async for _ in read_pushes(FakePort([OSError(5, "I/O error")]), PushDecoder(), port="fake"):
            pass
    assert caught.value.reason == "io"
    fake = FakePort([b"\x00" * 10])

    async def opened(*args: object) -> FakePort:
        return fake

    async def closed(serial: object) -> None:
        return None

    with (
        patch("custom_components.e450.wire.dlms.push.listen.open_push_port", opened),
        patch("custom_components.e450.wire.dlms.push.listen.close_port", closed),
        pytest.raises(NoPushError) as silent,
    ):
        await capture_push("fake", 9600, "N", PushDecoder(), 0.2)
    assert silent.value.received_bytes == 10
