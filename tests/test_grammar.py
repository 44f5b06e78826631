"""Frames, identification, data-set grammar and OBIS normalisation: every variant real meters send."""

from __future__ import annotations

import pytest

from custom_components.e450.wire import (
    BccStatus,
    DataValue,
    FramingError,
    ProtocolMode,
    parse_transcript,
)
from custom_components.e450.wire.iec62056.dataset import parse_data_block
from custom_components.e450.wire.iec62056.frames import (
    bcc,
    build_ack,
    build_command,
    build_data_message,
    build_request,
    parse_identification,
    split_data_message,
)
from custom_components.e450.wire.models import number as numeric_value
from custom_components.e450.wire.obis import normalize_address


def test_request_and_ack_bytes() -> None:
    assert build_request() == b"/?!\r\n"
    assert build_request("12345678") == b"/?12345678!\r\n"
    assert build_ack("5") == b"\x06050\r\n"
    assert build_ack("0", "1") == b"\x06001\r\n"
    for bad in ("a!b", "x/y", "new\nline", "\x00"):
        with pytest.raises(ValueError):
            build_request(bad)


def test_bcc_is_xor_after_stx_including_etx() -> None:
    # LandisGyr_ZMF100AC_3 verifies with 0x01 (fixtures README); a minimal hand-checked case:
    assert bcc(b"A\x03") == ord("A") ^ 0x03
    message = build_data_message(b"1.8.0(1*kWh)\r\n!\r\n")
    assert message[0] == 0x02
    assert message[-2] == 0x03
    assert bcc(message[1:-1]) == message[-1]
    assert build_command("B0") == b"\x01B0\x03" + bytes([bcc(b"B0\x03")])
    assert build_command("R1", b"1.8.0()").startswith(b"\x01R1\x021.8.0()\x03")


def test_split_reads_exactly_one_byte_after_etx() -> None:
    block = b"0.0(1)\r\n!\r\n"
    body = block + b"\x03"
    for check in (b"\r", b"\n", b"!"):  # the BCC may be any byte
        message = b"\x02" + body + check
        cut = split_data_message(message + b"tail", 0)
        assert cut is not None
        assert cut[1] == len(message)
        expected = BccStatus.OK if bcc(body) == check[0] else BccStatus.MISMATCH
        assert cut[0].bcc is expected
    assert split_data_message(b"\x02" + body, 0) is None  # BCC not yet received
    assert split_data_message(b"\x02abc", 0) is None


def test_partial_block_ends_with_eot() -> None:
    message = build_data_message(b"1.8.0(1*kWh)\r\n", partial=True)
    cut = split_data_message(message, 0)
    assert cut is not None and cut[0].partial and cut[0].bcc is BccStatus.OK


@pytest.mark.parametrize(
    ("line", "manufacturer", "baud_char", "mode", "max_baud", "capabilities", "model", "fast"),
    [
        (b"/LGZ4ZMF100AC.M23", "LGZ", "4", ProtocolMode.C, 4800, (), "ZMF100AC.M23", False),
        (b"/LGZ5\\2ZMD3104407.B32", "LGZ", "5", ProtocolMode.C, 9600, ("2",), "ZMD3104407.B32", False),
        (b"/ISk5MT174-0001", "ISk", "5", ProtocolMode.C, 9600, (), "MT174-0001", True),
        (b"/EMH5\\@\\2LZQJL0013F", "EMH", "5", ProtocolMode.C, 9600, ("@", "2"), "LZQJL0013F", False),
        (b"/ACE0\\3k260V01.19", "ACE", "0", ProtocolMode.C, 300, ("3",), "k260V01.19", False),
        (b"/SIEC2WR5", "SIE", "C", ProtocolMode.B, 2400, (), "2WR5", False),
        (b"/ABC@SIM", "ABC", "@", ProtocolMode.A, 300, (), "SIM", False),
        (b"/XYZ7RESERVED", "XYZ", "7", ProtocolMode.A, 300, (), "RESERVED", False),
        (b"\x7f\x00/ESY5Q3DA1004 V3.02\r\n", "ESY", "5", ProtocolMode.C, 9600, (), "Q3DA1004 V3.02", False),
    ],
)
def test_identification(
    line: bytes,
    manufacturer: str,
    baud_char: str,
    mode: ProtocolMode,
    max_baud: int,
    capabilities: tuple[str, ...],
    model: str,
    fast: bool,
) -> None:
    ident = parse_identification(line)
    assert (ident.manufacturer, ident.baud_char, ident.mode, ident.max_baud) == (
        manufacturer,
        baud_char,
        mode,
        max_baud,
    )
    assert ident.capabilities == capabilities
    assert ident.model == model
    assert ident.fast_reaction is fast
    assert ident.hdlc_capable is ("2" in capabilities)
    assert ident.as_dict()["fast_reaction"] is fast


def test_identification_rejects_non_identification() -> None:
    with pytest.raises(FramingError):
        parse_identification(b"no slash here")


@pytest.mark.parametrize(
    ("address", "code", "history"),
    [
        ("1.8.0", "1.8.0", None),
        ("1-0:1.8.0*255", "1.8.0", None),
        ("1-1:1.8.1*12", "1.8.1", "*12"),
        ("1.8.1&03", "1.8.1", "&03"),
        ("32.7", "32.7.0", None),
        ("0.0", "0.0.0", None),
        ("F.F", "F.F", None),
        ("C.1.0", "C.1.0", None),
        ("0-0:C.1.0*255", "C.1.0", None),
        ("0.1.2*00", "0.1.2", "*00"),
        ("21.7.255*255", "21.7.255", None),
        ("0-1:1.0.0*255", "1.0.0", None),  # Kamstrup writes channel 1 on every code
        ("0-2:24.2.1*255", "0-2:24.2.1", None),  # the second M-Bus device stays apart from the first
        ("1-2:1.8.0*12", "1-2:1.8.0", "*12"),
    ],
)
def test_obis_normalisation(address: str, code: str, history: str | None) -> None:
    assert normalize_address(address) == (code, history)


def _values(block: bytes) -> dict[str, list[tuple[str, str | None]]]:
    return {ds.address: [(v.value, v.unit) for v in ds.values] for ds in parse_data_block(block)}


def test_grammar_variants() -> None:
    block = (
        b"1.6.0(10.102*kW)(2104070015)\r\n"  # several brackets
        b"1-0:1.7.0(001.322kW)\r\n"  # no '*' before the unit
        b"1.8.0(013925.5*)\r\n"  # empty unit
        b"1.8.0*01(0000010.2)\r\n"  # history, no unit
        b"16.7( 001.67*kW)\r\n"  # space padded
        b"36.7.0(-000.82*kW)\r\n"  # signed
        b"C.5(0000E0F0)\r\n"  # hex status, not a number with a unit
        b"0.2.8(7F42)\r\n"
        b"C.1.1(        )\r\n"  # spaces only
        b"0.0.0()\r\n"  # empty
        b"9.4(088*C&082*C)\r\n"  # '&' sub-values
        b"6.8(0029.055*MWh)6.26(01589.28*m3)\r\n"  # two data sets on one line
        b"P.01(1220823161500)(00000000)(15)\r\n(0.18)(0.00)\r\n"  # continuation line
        b"0.2.0(V01.69#EEA3546C)!"
    )
    values = _values(block)
    assert values["1.6.0"] == [("10.102", "kW"), ("2104070015", None)]
    assert values["1-0:1.7.0"] == [("001.322", "kW")]
    assert values["1.8.0"] == [("013925.5", None)]
    assert values["1.8.0*01"] == [("0000010.2", None)]
    assert values["16.7"] == [("001.67", "kW")]
    assert values["36.7.0"] == [("-000.82", "kW")]
    assert values["C.5"] == [("0000E0F0", None)]
    assert values["0.2.8"] == [("7F42", None)]
    assert values["C.1.1"] == [("", None)]
    assert values["0.0.0"] == [("", None)]
    assert values["9.4"] == [("088", "C"), ("082", "C")]
    assert values["6.8"] == [("0029.055", "MWh")]
    assert values["6.26"] == [("01589.28", "m3")]
    assert values["P.01"] == [("1220823161500", None), ("00000000", None), ("15", None), ("0.18", None), ("0.00", None)]
    assert values["0.2.0"] == [("V01.69#EEA3546C", None)]


def test_line_ends_garbage_and_terminator() -> None:
    block = b"\x7f\x7f1.8.0(1.5*kWh)\n\n2.8.0(2*kWh)\r\x00Y\x02\x01!\r\n3.8.0(9*kvarh)\r\n"
    values = _values(block)
    assert values == {"1.8.0": [("1.5", "kWh")], "2.8.0": [("2", "kWh")]}  # "!" ends the block


def test_damaged_bracket_drops_only_that_line() -> None:
    values = _values(b"1.8.0(12.5*kWh\r\n2.8.0(3*kWh)\r\n(orphan)\r\n")
    assert values["2.8.0"] == [("3", "kWh"), ("orphan", None)]
    assert "1.8.0" not in values
    assert _values(b"(lonely)\r\n") == {"": [("lonely", None)]}


@pytest.mark.parametrize(
    ("text", "number"),
    [("000219.252", 219.252), (" 001.67", 1.67), ("-000.82", -0.82), ("+000.8", 0.8), ("12.", 12.0), (".5", 0.5)],
)
def test_numbers(text: str, number: float) -> None:
    assert numeric_value(text) == number


@pytest.mark.parametrize("text", ["", "   ", "0000E0F0", "7F42", "21-01-04", "V01.69", "1.2.3", "-"])
def test_not_numbers(text: str) -> None:
    assert numeric_value(text) is None


def test_readings_skip_history_and_unitless_values() -> None:
    raw = b"/LGZ5\\2ZMD\r\n\x02" + b"1-1:1.8.0(00123.4*kWh)\r\n1-1:1.8.0*01(00100.0*kWh)\r\nF.F(00)\r\n!\r\n\x03"
    raw += bytes([bcc(raw[raw.index(b"\x02") + 1 :])])
    transcript = parse_transcript(raw)
    readout = transcript.readout(raw)
    assert transcript.bcc is BccStatus.OK
    assert {code: (r.value, r.unit) for code, r in readout.readings.items()} == {"1.8.0": (123.4, "kWh")}
    assert readout.text("F.F") == "00"
    assert readout.text("9.9.9") is None
    assert readout.datasets[0].first == DataValue("00123.4", "kWh")


def test_transcript_needs_something() -> None:
    with pytest.raises(FramingError):
        parse_transcript(b"\x7f\x7f garbage without structure")
    with pytest.raises(FramingError):
        parse_transcript(b"/?!\r\n")  # only our own request echo
