"""The IEC 62056-21 load profile P.01: two real answers (tests/fixtures/telegrams, each header naming its source)
parsed into the same model a DLMS profile read gives, the request bytes, and every malformed answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.e450.wire.errors import FramingError
from custom_components.e450.wire.iec62056.frames import bcc
from custom_components.e450.wire.iec62056.profile import (
    parse_profile,
    parse_profile_time,
    profile_request,
    programming_ack,
)
from custom_components.e450.wire.models import Reading

FIXTURES = Path(__file__).parent / "fixtures" / "telegrams"
CHANNELS = ["1.5.0", "2.5.0", "5.5.0", "6.5.0", "7.5.0", "8.5.0"]
UNITS = ["kW", "kW", "kvar", "kvar", "kvar", "kvar"]


def capture(name: str) -> str:
    """The telegram below a fixture's header, line ends as a meter sends them."""
    text = (FIXTURES / name).read_text()
    return text.split("---- telegram starts below this line ----\n", 1)[1].replace("\n", "\r\n")


def test_emh_lzqj_capture() -> None:
    """Runamook/iec_62056-21 test_parser.py P01_data_1 (EMH): 15 min, 6 channels (1.5 … 8.5, no A-B: prefix),
    an 8-digit status, the time with its leading season digit 1 (summer time, 23 August)."""
    profile = parse_profile(capture("EMH_LZQJ_2_P01.txt"))
    assert profile.code == "P.01" and profile.period == 900 and profile.status_code is None
    assert [entry.time for entry in profile.entries] == [datetime(2022, 8, 23, 16, 15), datetime(2022, 8, 23, 16, 30)]
    first, second = profile.entries
    assert list(first.values) == CHANNELS and [reading.unit for reading in first.values.values()] == UNITS
    assert [reading.value for reading in first.values.values()] == [0.18374, 0.00078, 0.0, 0.00006, 0.00087, 0.02431]
    assert [reading.value for reading in second.values.values()] == [0.16832, 0.0, 0.0, 0.0, 0.0, 0.02686]
    assert first.status == 0 and second.status == 0


def test_metcom_capture() -> None:
    """Runamook/iec_62056-21 test_parser.py P01_data_2 (MetCom): the same structure with full OBIS codes
    (1-0:1.5.0) and a 2-digit status (08), four rows from 15:00."""
    profile = parse_profile(capture("Metcom_MCS301_2_P01.txt").encode("ascii"))
    assert profile.period == 900 and len(profile.entries) == 4
    assert [entry.time for entry in profile.entries] == [
        datetime(2022, 8, 23, 15, 0) + timedelta(minutes=15 * index) for index in range(4)
    ]
    assert all(entry.status == 0x08 and list(entry.values) == CHANNELS for entry in profile.entries)
    assert profile.entries[0].values["2.5.0"] == Reading(0.12683, "kW")
    assert profile.entries[1].values["6.5.0"] == Reading(0.07409, "kvar")
    assert profile.entries[3].values["1.5.0"] == Reading(0.00006, "kW")
    assert profile.entries[3].values["5.5.0"] == Reading(0.00082, "kvar")
    document = profile.as_dict()
    assert document["profile"] == "P.01" and document["entries"][0]["time"] == "2022-08-23T15:00:00"
    assert document["entries"][0]["values"]["6.5.0"] == {"value": 0.11411, "unit": "kvar"}


def test_blocks_a_new_header_starts() -> None:
    """A status change starts a block of its own; ``value*unit`` and placeholders; the ``!`` line; UTC times."""
    answer = (
        "P.01(0260329013000)(00)(15)(2)(1.8.0)(kWh)(2.8.0)(kWh)\r\n"
        "(00012.5)(00001.0)\r\n"
        "P.01(2260329010000)(80)(30)(2)(1-0:1.8.0)()(1-0:2.8.0)(kWh)\r\n"
        "(00013.0*kWh)(-)\r\n"
        "(00013.5)(00001.5)\r\n"
        "!\r\n"
    )
    profile = parse_profile(answer)
    assert profile.period == 900
    times = [entry.time for entry in profile.entries]
    assert times == [
        datetime(2026, 3, 29, 1, 30),
        datetime(2026, 3, 29, 1, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    ]
    assert [entry.status for entry in profile.entries] == [0, 0x80, 0x80]
    assert profile.entries[1].values == {"1.8.0": Reading(13.0, "kWh")}  # its own unit; "-" is no value
    assert profile.entries[2].values == {"1.8.0": Reading(13.5, None), "2.8.0": Reading(1.5, "kWh")}


def test_times_with_and_without_season_or_seconds() -> None:
    assert parse_profile_time("2208231615") == datetime(2022, 8, 23, 16, 15)
    assert parse_profile_time("02208231615") == datetime(2022, 8, 23, 16, 15)
    assert parse_profile_time("220823161530") == datetime(2022, 8, 23, 16, 15, 30)
    assert parse_profile_time("22208231615") == datetime(2022, 8, 23, 16, 15, tzinfo=UTC)
    for wrong in ("32208231615", "220823", "0221323161500", "x2208231615"):
        with pytest.raises(FramingError, match=r"P\.01 time"):
            parse_profile_time(wrong)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("P.01(ERROR)\r\n", "answered 'P.01\\(ERROR\\)'"),
        ("(ERROR)\r\n", "answered"),
        ("", "no P.01 header"),
        ("(1.0)(2.0)\r\n", "neither a header nor a row"),
        ("P.01(02208231615)(00)(15)\r\n", "a header of 3 fields"),
        ("P.01(02208231615)(zz)(15)(1)(1.8.0)(kWh)\r\n", "not a number"),
        ("P.01(02208231615)(00)(15)(2)(1.8.0)(kWh)\r\n", "2 fields for 2 channels"),
        ("P.01(02208231615)(00)(0)(1)(1.8.0)(kWh)\r\n", "2 fields for 1 channels"),
        ("P.01(02208231615)(00)(15)(1)(1.8.0)(kWh)\r\n(1)(2)\r\n", "line 2: 2 values for 1 channels"),
        ("P.01(02208231615)(00)(15)(1)(1.8.0)(kWh)\r\n1.8.0(1)\r\n", "neither a header nor a row"),
    ],
)
def test_answers_that_are_no_profile(answer: str, message: str) -> None:
    with pytest.raises(FramingError, match=message):
        parse_profile(answer)


def test_an_empty_status_and_the_request() -> None:
    profile = parse_profile("P.01(02208231615)()(60)(1)(1.8.0)(kWh)\r\n(1)\r\n")
    assert profile.period == 3600 and profile.entries[0].status is None
    request = profile_request(datetime(2022, 8, 23, 16, 15), datetime(2022, 8, 23, 17, 0))
    assert request == b"\x01R5\x02P.01(02208231615;02208231700)\x03" + bytes([bcc(request[1:-1])])
    assert profile_request(datetime(2022, 1, 1), datetime(2022, 1, 2), profile=2)[4:9] == b"P.02("
    with pytest.raises(ValueError, match="before it starts"):
        profile_request(datetime(2022, 1, 2), datetime(2022, 1, 1))
    assert programming_ack("5") == b"\x06051\r\n"
