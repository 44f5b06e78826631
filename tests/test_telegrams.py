"""Every real telegram in tests/fixtures/telegrams parses to what its source shows."""

from __future__ import annotations

import pytest

from custom_components.e450.wire import BccStatus, ProtocolMode, parse_transcript
from custom_components.e450.wire.iec62056.session import Session, SessionConfig

from .scripted import run_script
from .telegrams import FIXTURES, load, telegram_files

# file stem: (flag id, model, mode, bcc, data sets, {code: (value, unit)} spot checks from the file's text)
EXPECTED: dict[str, tuple[str | None, str | None, str | None, str, int, dict[str, tuple[float, str]]]] = {
    "ABB_AS1440_1": ("ABB", "V9.21", "C", "absent", 20, {"1.8.1": (52481.2, "kWh")}),
    "EMH_LZQJ_1": ("EMH", "\x01LZQJL0013F", "C", "absent", 5, {}),
    "EMH_LZQJ_2_P01": (None, None, None, "absent", 1, {}),
    "EMH_eHZ_1": ("EMH", "----eHZ-E0018E", "C", "absent", 4, {}),
    "Easymeter_Q3DA1004_1": ("ESY", "Q3DA1004 V3.02", "C", "absent", 6, {"1.8.0": (24234.101082, "kWh")}),
    "Elster_AS1440_1": ("ELS", "@V9.30", "C", "absent", 15, {"1.8.1": (1896.93, "kWh")}),
    "Elster_AS3000_1": (None, None, None, "absent", 50, {"1.8.1": (2288.481, "kWh")}),
    "Iskra_MT174_1": ("ISk", "MT174-0001", "C", "ok", 343, {"1.7.0": (0.908, "kW"), "1.8.0": (8048.375, "kWh")}),
    "Iskra_MT174_2": ("ISk", "MT174-0002", "C", "ok", 4, {"1.8.0": (502.853, "kWh"), "2.8.0": (98697.318, "kWh")}),
    "Iskra_MT382_1": ("ISK", "MT382-1008", "C", "absent", 25, {"1.7.0": (1.322, "kW"), "1.8.0": (10192.57, "kWh")}),
    "Itron_ACE3000_1": ("ACE", "k260V01.19", "C", "mismatch", 4, {}),
    "Itron_EM214_1": ("ITR", "EM214", "C", "absent", 21, {"1.7.0": (0.49, "kW")}),
    "LandisGyr_ZMD-B40_1": (None, None, None, "ok", 173, {"1.6.0": (10.102, "kW")}),
    "LandisGyr_ZMD120AP_1": ("LGZ", "2ZMD120APt.G03", "C", "absent", 8, {"1.8.1": (1846.0, "kWh")}),
    "LandisGyr_ZMD405_1": ("LGZ", "ZMD4054459.B40", "C", "absent", 62, {"1.8.1": (302.826, "kWh")}),
    "LandisGyr_ZMF100AC_1": ("LGZ", "ZMF100AC.M27", "C", "absent", 23, {"1.8.0": (219.252, "kWh")}),
    "LandisGyr_ZMF100AC_2": ("LGZ", "ZMF100AC.M23", "C", "absent", 18, {"32.7.0": (229.0, "V")}),
    "LandisGyr_ZMF100AC_3": ("LGZ", "ZMF100AC.M26", "C", "ok", 22, {"32.7.0": (241.0, "V"), "31.7.0": (0.35, "A")}),
    "LandisGyr_ZMF100AC_4_manual": ("LGZ", "ZMF100AC.MXX", "C", "ok", 9, {"1.8.0": (65.3, "kWh")}),
    "Logarex_LK13BE_1": (None, None, None, "ok", 24, {"16.7.0": (28.0, "W"), "32.7.0": (235.2, "V")}),
    "Metcom_MCS301_1": (None, None, None, "absent", 19, {}),
    "Metcom_MCS301_2_P01": (None, None, None, "absent", 1, {}),
    "Pafal_20EC3gr_1": ("PAF", "EC3gr00006", "C", "absent", 9, {}),
    "Siemens_2WR5_1": ("SIE", "2WR5", "B", "mismatch", 50, {"6.8.0": (29.055, "MWh")}),
    "Siemens_TD3511_1": (None, None, None, "absent", 27, {"1.8.0": (31550.191, "kWh")}),
}


def test_every_fixture_has_an_expectation() -> None:
    assert {path.stem for path in telegram_files()} == set(EXPECTED)


@pytest.mark.parametrize("path", telegram_files(), ids=lambda path: path.stem)
def test_telegram(path: object) -> None:
    assert hasattr(path, "stem")
    flag, model, mode, bcc, count, spot = EXPECTED[path.stem]  # type: ignore[attr-defined]
    transcript = parse_transcript(load(path))  # type: ignore[arg-type]
    ident = transcript.identification
    assert (ident.manufacturer if ident else None) == flag
    assert (ident.model if ident else None) == model
    assert (ident.mode.value if ident else None) == mode
    assert transcript.bcc.value == bcc
    assert len(transcript.datasets) == count
    readings = transcript.readout().readings
    for code, (value, unit) in spot.items():
        assert readings[code].value == pytest.approx(value)
        assert readings[code].unit == unit
    # history entries never shadow the current register
    for dataset in transcript.datasets:
        if dataset.history is not None and dataset.obis in readings and dataset.first and dataset.first.unit:
            current = transcript.readout().current(dataset.obis)
            assert current is not None and current.history is None


def test_p01_rows_are_appended_to_their_header() -> None:
    transcript = parse_transcript(load(FIXTURES / "EMH_LZQJ_2_P01.txt"))
    (profile,) = transcript.datasets
    assert profile.address == "P.01"
    assert len(profile.values) > 16  # 16 header fields, then the value rows
    assert profile.values[15].value == "kvar"
    assert profile.values[16].value == "0.18374"


@pytest.mark.parametrize("stem", ["Iskra_MT174_1", "Iskra_MT174_2", "LandisGyr_ZMF100AC_3"])
def test_session_reads_real_byte_exact_telegrams(stem: str) -> None:
    """The live state machine accepts the same real bytes, echo lines included, as the offline parser."""
    raw = load(FIXTURES / f"{stem}.txt")
    ident_end = raw.index(b"\n", raw.index(b"/", raw.index(b"/?!") + 1 if raw.startswith(b"/?!") else 0)) + 1
    session = Session(SessionConfig(max_baud=300))
    readout = run_script(session, [(0.3, raw[:ident_end]), (0.5, raw[ident_end:])])
    offline = parse_transcript(raw)
    assert readout.bcc is BccStatus.OK
    assert readout.datasets == offline.datasets
    assert readout.identification is not None and readout.identification.mode is ProtocolMode.C
