"""The IEC 62056-21 load profile P.01: two real answers (tests/fixtures/telegrams, each header naming its source)
parsed into the same model a DLMS profile read gives, the request bytes, and every malformed answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.e450.wire.commands.iec62056 import main
from custom_components.e450.wire.errors import (
    ChecksumError,
    FramingError,
    ProgrammingRefusedError,
    ReadoutTimeoutError,
)
from custom_components.e450.wire.iec62056.assembly import MessageAssembly
from custom_components.e450.wire.iec62056.driver import read_profile as read_iec_profile
from custom_components.e450.wire.iec62056.frames import ACK, NAK, bcc, build_command, build_data_message
from custom_components.e450.wire.iec62056.profile import (
    parse_profile,
    parse_profile_time,
    profile_request,
    programming_ack,
)
from custom_components.e450.wire.iec62056.programming import ProfileSession
from custom_components.e450.wire.iec62056.session import SessionConfig, State
from custom_components.e450.wire.models import LoadProfile, Reading

from .scripted import Script
from .test_driver import assert_port_released

Factory = Callable[..., contextlib.AbstractAsyncContextManager[Any]]

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


# --- the programming-mode read (ProfileSession): scripted with a fake clock ---------------------------------------

IDENT = b"/LGZ5\\2ZMXi320AP.B22\r\n"
P0 = build_command("P0", b"(71234567)")
B0 = build_command("B0")
MORNING = (datetime(2026, 11, 28, 6, 0), datetime(2026, 11, 28, 6, 30))
R5 = profile_request(*MORNING)
ANSWER = (
    b"P.01(0261128060000)(00)(15)(2)(1.8.0)(kWh)(2.8.0)(kWh)\r\n"
    b"(12339.678)(01234.567)\r\n(12339.928)(01234.567)\r\n(12340.178)(01234.567)\r\n"
)
QUICK = SessionConfig(identification_timeout=0.6, fallback_wait=0.2, switch_delay=0.05)
Respond = Callable[[bytes, float, int], list[tuple[float, bytes]]]


def fake_meter(
    answer: list[bytes] | None = None,
    *,
    operand: bytes | None = P0,
    password: bytes | None = None,
    r5_naks: int = 0,
    mode_char: bytes = b"5",
) -> Respond:
    """A meter answering the programming-mode exchange; ``answer`` the messages (partial blocks) it gives R5, each
    sent after the previous one's ACK, repeated after a NAK; ``None``: silence."""
    blocks = list(answer if answer is not None else [build_data_message(ANSWER)])
    state = {"block": 0, "naks": r5_naks}

    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.2, IDENT.replace(b"5\\2", mode_char + b"\\2"))]
        if sent.startswith(b"\x06") and len(sent) > 1:
            return [(0.5, operand)] if operand is not None else []
        if sent.startswith(b"\x01P1"):
            return [(0.2, password)] if password is not None else []
        if sent.startswith(b"\x01R5"):
            if state["naks"]:
                state["naks"] -= 1
                return [(0.2, bytes([NAK]))]
            state["block"] = 0
            return [(0.3, blocks[0])] if answer != [] else []
        if sent == bytes([ACK]):
            state["block"] += 1
            return [(0.2, blocks[state["block"]])] if state["block"] < len(blocks) else []
        if sent == bytes([NAK]):
            return [(0.2, blocks[state["block"]].replace(b"BROKEN", b""))]
        return []

    return respond


def scripted(
    respond: Callable[[bytes, float, int], list[tuple[float, bytes]]], config: SessionConfig = QUICK
) -> Script:
    return Script(ProfileSession(*MORNING, config), respond=respond)


def broken(message: bytes) -> bytes:
    """A block whose BCC is wrong: marked so that the fake meter sends it right when asked again."""
    return message[:-1] + bytes([message[-1] ^ 0x21])


def test_a_profile_read_in_programming_mode() -> None:
    script = scripted(fake_meter())
    profile = script.result()
    assert isinstance(profile, LoadProfile)
    assert script.sent == [b"/?!\r\n", programming_ack("5"), R5, B0]
    assert [action.baud for action in script.configured] == [9600, 300]
    assert [entry.time for entry in profile.entries] == [datetime(2026, 11, 28, 6, m) for m in (0, 15, 30)]
    assert profile.entries[2].values == {"1.8.0": Reading(12340.178, "kWh"), "2.8.0": Reading(1234.567, "kWh")}
    assert profile.timings.baud == 9600 and profile.timings.bytes_received > len(ANSWER)
    assert isinstance(script.session, ProfileSession) and script.session.state is State.DONE


def test_partial_blocks_are_acknowledged_and_a_broken_one_asked_again() -> None:
    lines = ANSWER.splitlines(keepends=True)
    first, second = b"".join(lines[:2]), b"".join(lines[2:])
    damaged = broken(build_data_message(first, partial=True))
    answer = [damaged, build_data_message(second)]
    sent: list[bytes] = []
    meter = fake_meter(answer)

    def respond(data: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        sent.append(data)
        if data == bytes([NAK]):
            return [(0.2, build_data_message(first, partial=True))]
        return meter(data, now, baud)

    profile = scripted(respond).result()
    assert isinstance(profile, LoadProfile) and len(profile.entries) == 3
    assert sent[2:] == [R5, bytes([NAK]), bytes([ACK]), B0]


def test_a_block_that_stays_broken_ends_with_a_break() -> None:
    damaged = broken(build_data_message(ANSWER, partial=True))
    script = scripted(fake_meter([damaged, damaged, damaged]))

    def respond(data: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        return [(0.2, damaged)] if data == bytes([NAK]) else fake_meter([damaged])(data, now, baud)

    script.respond = respond
    with pytest.raises(ChecksumError):
        script.result()
    assert script.sent[-1] == B0 and script.sent.count(bytes([NAK])) == 2


@pytest.mark.parametrize(
    ("meter", "error", "message"),
    [
        (fake_meter([build_data_message(b"P.01(ERROR)\r\n")]), ProgrammingRefusedError, "no load profile"),
        (fake_meter([]), ReadoutTimeoutError, "No data message"),
        (fake_meter(r5_naks=3), ProgrammingRefusedError, "NAK, three times"),
        (fake_meter([build_data_message(b"(1)(2)\r\n")]), FramingError, "neither a header nor a row"),
        (fake_meter([build_data_message(ANSWER)[:40]]), ReadoutTimeoutError, "truncated"),
    ],
)
def test_answers_to_r5_that_give_no_profile(meter: Any, error: type[Exception], message: str) -> None:
    """A meter without the profile, one that never answers R5, one that keeps NAKing it, a malformed answer and
    one cut short: a clear error, and the break sent first, so the meter is free again."""
    script = scripted(meter)
    with pytest.raises(error, match=message):
        script.result()
    assert script.sent[-1] == B0 and script.sent.count(R5) == (3 if "three" in message else 1)


def test_a_nak_to_r5_has_it_sent_again() -> None:
    script = scripted(fake_meter(r5_naks=1))
    assert isinstance(script.result(), LoadProfile)
    assert script.sent.count(R5) == 2


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (bytes([ACK]), None),
        (bytes([NAK]), "refused the password \\(NAK"),
        (build_data_message(b"(ERROR)"), "refused the password: '\\(ERROR\\)'"),
        (None, "did not acknowledge"),
    ],
)
def test_the_password(reply: bytes | None, outcome: str | None) -> None:
    script = scripted(fake_meter(password=reply), replace(QUICK, password="0000.0000"))
    if outcome is None:
        assert isinstance(script.result(), LoadProfile)
        assert script.sent[2:] == [build_command("P1", b"(0000.0000)"), R5, B0]
        return
    with pytest.raises(ProgrammingRefusedError, match=outcome):
        script.result()
    assert script.sent[-1] == B0 and R5 not in script.sent


def test_meters_that_will_not_enter_programming_mode() -> None:
    """A NAK to ACK 0 Z 1 (at the new speed: no retry at 300 Bd), no operand at all (one retry at 300 Bd), a data
    readout instead of P0, and a mode A meter."""
    refusing = scripted(fake_meter(operand=bytes([NAK])))
    with pytest.raises(ProgrammingRefusedError, match="refused programming mode"):
        refusing.result()
    assert refusing.sent == [b"/?!\r\n", programming_ack("5")]
    silent = scripted(fake_meter(operand=None))
    with pytest.raises(ReadoutTimeoutError):
        silent.result()
    assert [action.baud for action in silent.configured] == [9600, 300]
    readout = scripted(fake_meter(operand=build_data_message(b"1.8.0(1*kWh)\r\n!\r\n")))
    with pytest.raises(FramingError, match="instead of the operand P0"):
        readout.result()
    mode_a = scripted(fake_meter(mode_char=b"@"))
    with pytest.raises(ProgrammingRefusedError, match="mode A"):
        mode_a.result()
    with pytest.raises(ValueError, match="before it starts"):
        ProfileSession(MORNING[1], MORNING[0])


# --- over a pty: the simulator's E450 ------------------------------------------------------------------------------


async def test_the_simulated_e450_gives_its_day(sim_factory: Factory) -> None:
    """The 96 quarter hours the simulator's DLMS server keeps too, in partial blocks; a range picks entries."""
    async with sim_factory("e450", frozen=True) as sim:
        day = await read_iec_profile(sim.port, QUICK, datetime(2026, 11, 27), datetime(2026, 11, 29))
        await asyncio.sleep(0.5)  # a meter takes a moment to leave programming mode after the break (B0)
        morning = await read_iec_profile(sim.port, QUICK, *MORNING)
        expected = sim._registers.profile_entries()
    assert len(day.entries) == 96 and day.period == 900 and day.timings.bytes_received > 2048
    assert [(e.time, e.values["1.8.0"].value, e.values["2.8.0"].value) for e in day.entries] == [
        (moment, round(energy, 3), round(export, 3)) for moment, energy, export in expected
    ]
    assert [entry.time for entry in morning.entries] == [datetime(2026, 11, 28, 6, m) for m in (0, 15, 30)]
    assert morning.entries[0].values["1.8.0"].unit == "kWh"


@pytest.mark.parametrize(
    ("profile", "fault", "password", "error", "message"),
    [
        ("e350", None, "", ProgrammingRefusedError, "no load profile"),
        ("e450", "truncated", "", ReadoutTimeoutError, "truncated"),
        ("e450-password", None, "", ProgrammingRefusedError, "no load profile"),
        ("e450-password", None, "wrong", ProgrammingRefusedError, "refused the password"),
    ],
)
async def test_simulated_meters_that_give_no_profile(
    sim_factory: Factory, profile: str, fault: str | None, password: str, error: type[Exception], message: str
) -> None:
    async with sim_factory(profile, fault=fault, frozen=True) as sim:
        with pytest.raises(error, match=message):
            await read_iec_profile(sim.port, replace(QUICK, password=password), *MORNING)
        sim.fault = None
        if profile != "e350":  # the break freed the meter for the next read
            again = await read_iec_profile(sim.port, replace(QUICK, password="00000000"), *MORNING)
            assert len(again.entries) == 3
        await assert_port_released(sim.port)


async def test_a_broken_block_over_the_pty_is_sent_again(sim_factory: Factory) -> None:
    async with sim_factory("e450", fault="bad_bcc", frozen=True) as sim:
        profile = await read_iec_profile(sim.port, QUICK, datetime(2026, 11, 27), datetime(2026, 11, 29))
    assert len(profile.entries) == 96


async def test_the_profile_command(sim_factory: Factory, capsys: pytest.CaptureFixture[str]) -> None:
    async with sim_factory("e450", frozen=True) as sim:
        arguments = ["profile", sim.port, "--from", "2026-11-28T06:00", "--to", "2026-11-28T06:30"]
        code = await asyncio.to_thread(main, [*arguments, "--json"])
        document = json.loads(capsys.readouterr().out)
        await asyncio.sleep(0.5)  # the meter leaves programming mode after the break (B0)
        table = await asyncio.to_thread(main, arguments)
        text, table_err = capsys.readouterr()
        await asyncio.sleep(0.5)
        refused = await asyncio.to_thread(main, ["profile", sim.port, "--from", "2020-01-01", "--to", "2020-01-02"])
        err = capsys.readouterr().err
    assert code == 0 and document["profile"] == "P.01" and set(document) == {"profile", "entries"}
    assert [entry["time"] for entry in document["entries"]] == [
        "2026-11-28T06:00:00",
        "2026-11-28T06:15:00",
        "2026-11-28T06:30:00",
    ]
    assert document["entries"][0]["values"]["1.8.0"] == {"value": 12339.678, "unit": "kWh"}
    assert table == 0, table_err
    assert "P.01: 3 entries every 900 s" in text and "1.8.0 12339.678 kWh" in text
    assert refused == 2 and "no load profile" in err
    assert main(["profile", "/dev/null", "--from", "2026-01-02", "--to", "2026-01-01"]) == 2
    assert "is before --from" in capsys.readouterr().err


def test_an_assembly_without_a_message_has_no_bang_to_end_at() -> None:
    assert MessageAssembly().ended_at_bang(bytearray(b"1.8.0(1)\r\n!\r\n")) is None
