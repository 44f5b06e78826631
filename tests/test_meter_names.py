"""Type designations → the names users know (docs/meter-names.md): each row as its source gives it, what a
designation decodes to, the device's name and model, and the no-answer messages that use the type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.e450.messages import error_key
from custom_components.e450.meter_info import device_names, known_type, meter_identity, readout_type, serial_number
from custom_components.e450.meter_names import FAMILIES, MeterType, list_maker, meter_type, pushed_type, stored_type
from custom_components.e450.wire import (
    BccStatus,
    ChecksumError,
    DataSet,
    DataValue,
    Identification,
    NoAnswerError,
    NoPushError,
    ProtocolMode,
    PushDecoder,
    Readout,
    ReadoutTimeoutError,
)

from .dlms_vectors import vector

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "meter-names.md").read_text(encoding="utf-8")


# (model as the identification or the source writes it, commercial name, designation, firmware); the source is the
# row's in docs/meter-names.md
ROWS = [
    ("ZMXi320AP.B22", "E450", "ZMXi320AP", "B22"),  # this project's E450 (issue 15), simulator profile e450
    ("ZMX300Px", "E450", "ZMX300Px", None),  # E450 PLC 3-phase S2 manual D000030640
    ("ZCX110Px", "E450", "ZCX110Px", None),  # E450 PLC 1-phase manual D000029326: ZCX110Px, ZCX120Px
    ("ZCX310", "E470", "ZCX310", None),  # E470 Series 3 SMETS2 manual D000058620
    ("ZMF100AC.M27", "E350", "ZMF100AC", "M27"),  # vzlogger's E350 capture (LandisGyr_ZMF100AC_1)
    ("ZFF100CB", "E350", "ZFF100CB", None),  # E350 manual D000027979, range of validity
    ("ZCF100AC.MXX", "E350", "ZCF100AC", "MXX"),  # E350 1-phase manual D000030875 readout example
    ("ZMD3104407.B32", "E650", "ZMD3104407", "B32"),  # docs/iec62056-21.md §2.2 example ident
    ("ZMD4054459.B40", "E650", "ZMD4054459", "B40"),  # pwitab/iec62056-21 issue #16
    ("ZFD405CT", "E650", "ZFD405CT", None),  # E650 technical data D000030106: ZFD405AT/CT
    ("ZMG310AR", "E550", "ZMG310AR", None),  # E550 Series 2 D000029785: ZMG310AR/CR
    ("ZFG400CR", "E550", "ZFG400CR", None),  # ibid.: ZxG400AR/CR
    ("ZMQ200", "E850", "ZMQ200", None),  # E850 functional description: ZMQ200, ZFQ200, ZCQ200
    ("ZCQ200", "E850", "ZCQ200", None),
    ("ZMR110CR.K53", "E230", "ZMR110CR", "K53"),  # ident quoted in public code; E230 manual D000044352: ZMR1x0AR/CR
    ("ZCR100AC", "E230", "ZCR100AC", None),  # E230 manual: ZxR100xC
]


@pytest.mark.parametrize(("model", "name", "designation", "firmware"), ROWS)
def test_rows_from_the_sources(model: str, name: str, designation: str, firmware: str | None) -> None:
    found = meter_type("LGZ", model)
    assert found is not None
    assert (found.name, found.designation, found.firmware) == (name, designation, firmware)
    assert found.model == f"{name} ({designation})"


@pytest.mark.parametrize(
    ("flag", "model"),
    [
        ("LGZ", "ZMD120APt.G03"),  # ZMD120AP: no source names it
        ("LGZ", "2ZMD120APt.G03"),  # the vzlogger transcription that lost the backslash
        ("LGZ", "ZMXi320AP B22"),  # not a designation with a firmware suffix
        ("ISk", "MT174-0001"),  # Iskraemeco identifications already carry the commercial name
        ("ELS", "@V9.30"),  # Elster AS1440: firmware only
        ("XYZ", "ZMXi320AP.B22"),  # another maker's flag
    ],
)
def test_unknown_designations_keep_todays_display(flag: str, model: str) -> None:
    assert meter_type(flag, model) is None


def test_the_flag_case_does_not_matter() -> None:
    assert meter_type("lgz", "ZMF100AC.M27") == meter_type("LGZ", "ZMF100AC.M27")


def test_the_longest_prefix_wins() -> None:
    one_phase = meter_type("LGZ", "ZCX120Px")
    smets = meter_type("LGZ", "ZCX310")
    assert one_phase is not None and one_phase.name == "E450"
    assert smets is not None and smets.name == "E470"


@pytest.mark.parametrize(
    ("model", "network", "energy"),
    [
        ("ZMF100AC.M27", "three-phase four-wire", "active energy"),  # D000027979: "for active energy"
        ("ZFF100CC", "three-phase three-wire", "active and reactive energy"),  # ibid.
        ("ZCF100AC.MXX", "single-phase", "active energy"),  # D000030926: single-phase two-wire
        ("ZMD400CT", "three-phase four-wire", "active and reactive energy"),  # D000062026 §2.3
        ("ZMD3104407.B32", "three-phase four-wire", None),  # the digits after 310 are not documented
        ("ZMXi320AP.B22", "three-phase four-wire", None),  # the E450's letters after the digits: no source
    ],
)
def test_what_a_designation_decodes_to(model: str, network: str, energy: str | None) -> None:
    found = meter_type("LGZ", model)
    assert found is not None
    assert (found.network, found.energy) == (network, energy)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("E450 (ZMXi320AP)", "E450"),  # as this version stores it
        ("ZMXi320AP.B22", "E450"),  # as older versions stored it
        ("E350 (ZMXi320AP)", None),  # a name that does not fit the designation
        ("E450", None),
        ("MT174-0001", None),
    ],
)
def test_the_type_from_a_stored_model(model: str, expected: str | None) -> None:
    found = stored_type("LGZ", model)
    assert (found.name if found else None) == expected
    found = known_type("Landis+Gyr", model)
    assert (found.name if found else None) == expected


def test_no_stored_model_no_type() -> None:
    assert known_type(None, "E450 (ZMXi320AP)") is None
    assert known_type("Landis+Gyr", None) is None
    assert known_type("Iskraemeco", "MT174-0001") is None


def readout(flag: str, model: str, firmware: str | None = None) -> Readout:
    ident = Identification(flag, "5", ProtocolMode.C, 9600, ("2",), model)
    datasets = (DataSet.of("0.2.0", (DataValue(firmware, None),)),) if firmware else ()
    return Readout(ident, datasets, BccStatus.OK, b"")


def test_the_device_shows_the_name_users_know() -> None:
    names = device_names(readout("LGZ", "ZMXi320AP.B22"), "Landis+Gyr ZMXi320AP.B22")
    assert (names.manufacturer, names.name, names.model) == ("Landis+Gyr", "Landis+Gyr E450", "E450 (ZMXi320AP)")
    assert names.sw_version == "B22"  # the firmware left the model: it stays in sw_version
    names = device_names(readout("LGZ", "ZMXi320AP.B22", firmware="B23"), "Landis+Gyr E450")
    assert (names.name, names.sw_version) == ("Landis+Gyr E450", "B23")  # 0.2.0 wins over the identification


def test_a_title_the_user_chose_stays_the_name() -> None:
    names = device_names(readout("LGZ", "ZMXi320AP.B22"), "Basement meter")
    assert (names.name, names.model) == ("Basement meter", "E450 (ZMXi320AP)")


def test_an_unknown_type_keeps_todays_device() -> None:
    names = device_names(readout("ISk", "MT174-0001"), "Iskraemeco MT174-0001")
    assert (names.manufacturer, names.name, names.model, names.sw_version) == (
        "Iskraemeco",
        "Iskraemeco MT174-0001",
        "MT174-0001",
        None,
    )
    assert device_names(None, "DLMS 4C475A").name == "DLMS 4C475A"


def pushed(name: str) -> Readout:
    """The last push of a capture that names its meter."""
    source = vector(name)
    found = [push.readout for push in PushDecoder(source.key("EK"), source.key("AK")).feed(source.data)]
    named = [readout for readout in found if readout is not None and serial_number(readout) is not None]
    assert named
    return named[-1]


@pytest.mark.parametrize(
    ("capture", "maker", "model", "name", "serial"),
    [
        # list version AIDON_V0001 names the maker, 0-0:96.1.7 the type; no system title in a clear push
        ("aidon_no_hdlc_obis_scaler_list3", "Aidon", "6534", "Aidon 6534", "7359992890497997"),
        # Kaifa's positional list 2: KFM_001, the GS1 id, the type MA304H3E
        ("kaifa_no_hdlc_positional_list1_list2", "Kaifa", "MA304H3E", "Kaifa MA304H3E", "6970631409168767"),
        # Kamstrup_V0001, its type number in 1-1:96.1.1: an OMNIPOWER
        (
            "kamstrup_se_hdlc_obis_value_flat_list2_list3",
            "Kamstrup",
            "OMNIPOWER (6841131BN245101092)",
            "Kamstrup OMNIPOWER",
            "5706567331323526",
        ),
        # the flag id of the logical device name; no type in the list: the set-up's title stays the name
        ("e570_ch_cii_encrypted_sc20", "Landis+Gyr", None, "DLMS x", "1030769231253"),
    ],
)
def test_a_push_meter_shows_who_it_is(capture: str, maker: str, model: str | None, name: str, serial: str) -> None:
    names = device_names(pushed(capture), "DLMS x", "x")
    assert (names.manufacturer, names.model, names.name, names.serial_number) == (maker, model, name, serial)


def test_a_push_title_the_user_chose_stays_the_name() -> None:
    names = device_names(pushed("aidon_no_hdlc_obis_scaler_list3"), "Cellar", "7359992890497997")
    assert (names.name, names.model) == ("Cellar", "6534")
    names = device_names(pushed("aidon_no_hdlc_obis_scaler_list3"), "DLMS 7359992890497997", "7359992890497997")
    assert names.name == "Aidon 6534"


def test_the_serial_number_is_not_the_logical_device_name() -> None:
    """A DLMS client reads the logical device name (flag id and serial); the serial is its tail, unless the meter
    states its serial number (0-0:96.1.0)."""
    name = DataSet.of("0-0:42.0.0", (DataValue("LGZ1030655933512", None),))
    assert serial_number(Readout(None, (name,), BccStatus.OK, b"")) == "1030655933512"
    number = DataSet.of("0-0:96.1.0", (DataValue("30137181", None),))
    assert serial_number(Readout(None, (name, number), BccStatus.OK, b"")) == "30137181"
    assert serial_number(Readout(None, (), BccStatus.OK, b"")) is None
    found = meter_identity(Readout(None, (name,), BccStatus.OK, b""))
    assert (found.maker, found.model, found.name, found.serial) == ("Landis+Gyr", None, None, "1030655933512")


def test_list_ids_and_pushed_types() -> None:
    assert [list_maker(text) for text in ("AIDON_V0001", "KFM_001", "Kamstrup_V0001", "OTHER", None)] == [
        "AMT",
        "KFM",
        "KAM",
        None,
        None,
    ]
    ct = pushed_type("kam", "6851121BN243101040")
    assert ct is not None and ct.name == "OMNIPOWER" and ct.designation == "6851121BN243101040"
    assert pushed_type("KAM", "1234") is None and pushed_type("AMT", "6534") is None


def test_readout_type() -> None:
    found = readout_type(readout("LGZ", "ZMXi320AP.B22"))
    assert found is not None and found.model == "E450 (ZMXi320AP)"
    assert readout_type(Readout(None, (), BccStatus.ABSENT, b"")) is None


def e450() -> MeterType:
    found = meter_type("LGZ", "ZMXi320AP.B22")
    assert found is not None
    return found


def test_a_silent_e450_is_told_about_its_customer_interface() -> None:
    assert error_key(NoAnswerError(), e450()) == ("no_answer_customer_push", {"meter": "E450 (ZMXi320AP)"})
    timeout = ReadoutTimeoutError("No data message from the meter within 2 s at 9600 Bd")
    assert error_key(timeout, e450()) == ("readout_timeout_customer_push", {"meter": "E450 (ZMXi320AP)"})


def test_other_errors_and_types_keep_their_messages() -> None:
    assert error_key(NoAnswerError()) == ("no_answer", {})
    assert error_key(ReadoutTimeoutError("truncated")) == ("readout_timeout", {})
    e350 = meter_type("LGZ", "ZMF100AC.M27")
    assert error_key(NoAnswerError(), e350) == ("no_answer", {})  # no source names an E350 customer push
    assert error_key(ChecksumError(1, 2), e450()) == ("checksum", {})
    assert error_key(NoPushError(30), e450())[0] == "no_push"


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_the_messages_exist_in_every_language(language: str) -> None:
    path = ROOT / "custom_components" / "e450" / "translations" / f"{language}.json"
    exceptions = json.loads(path.read_text(encoding="utf-8"))["exceptions"]
    for key in ("no_answer_customer_push", "readout_timeout_customer_push"):
        assert "{meter}" in exceptions[key]["message"], key


def test_the_document_lists_every_row() -> None:
    for families in FAMILIES.values():
        for family in families:
            assert f"| {family.name} |" in DOC, family.name
            for prefix in family.prefixes:
                assert f"`{prefix}`" in DOC, prefix
