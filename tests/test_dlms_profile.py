"""Load profiles over DLMS/COSEM (profile generic, class 7): the range descriptor checked by gurux's translator, the
read driven against the simulated meter in-process (by range, refused selective access, a meter without it, kept
scalers, every error), then over a pty (direct and mode E) beside gurux's own ``readRowsByRange``, and the
``profile`` command line."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from datetime import datetime, timedelta
import json
from typing import Any

from gurux_dlms import GXReplyData
from gurux_dlms.objects import GXDLMSProfileGeneric
import pytest

from custom_components.e450.wire.commands.dlms import main
from custom_components.e450.wire.dlms.axdr import (
    ARRAY,
    DATE_TIME,
    INT8,
    NULL,
    OCTET_STRING,
    STRUCTURE,
    UINT8,
    UINT16,
    UINT32,
    Data,
    decode_all,
    encode,
    obis_bytes,
)
from custom_components.e450.wire.dlms.client.association import Association, Conformance, build_aarq
from custom_components.e450.wire.dlms.client.client import DlmsClient
from custom_components.e450.wire.dlms.client.config import ClientConfig
from custom_components.e450.wire.dlms.client.driver import read_profile
from custom_components.e450.wire.dlms.client.get import Attribute, DataAccessResult, get_normal
from custom_components.e450.wire.dlms.client.profile import (
    BY_RANGE,
    ProfileRead,
    datetime_octets,
    parse_capture_objects,
    range_descriptor,
)
from custom_components.e450.wire.dlms.units import Scaling
from custom_components.e450.wire.errors import ClientProblem, DlmsClientError
from custom_components.e450.wire.iec62056.session import SessionConfig
from custom_components.e450.wire.models import LoadProfile, Reading, Timings
from custom_components.e450.wire.port import close_port
from simulator.cosem_objects import meter_time
import simulator.cosem_server
from simulator.cosem_server import Application
from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK
from simulator.registers import FROZEN_TIME

from .gurux_peer import GuruxReader, gurux_client, open_hdlc, translate
from .test_dlms_client import FAST, Wire, frame_of
from .test_driver import assert_port_released

Factory = Callable[..., contextlib.AbstractAsyncContextManager[Any]]
BUFFER_BY_RANGE = bytes.fromhex("00070100630100FF020101")  # class 7, 1-0:99.1.0, attribute 2, access: selector 1
MORNING = (datetime(2026, 11, 28, 6, 0), datetime(2026, 11, 28, 9, 0))  # the frozen meter's clock: 12:00


def read(wire: Wire, start: datetime, end: datetime, **kwargs: Any) -> tuple[LoadProfile, ProfileRead]:
    profile_read = ProfileRead(start, end, **kwargs)
    result = wire.run(DlmsClient(FAST, profile_read.scalers, profile_read))
    assert isinstance(result, LoadProfile)
    return result, profile_read


def test_the_range_descriptor_as_gurux_reads_it() -> None:
    start, end = MORNING
    assert datetime_octets(start) == bytes.fromhex("07EA0B1C0606000000800000")  # a Saturday, deviation unspecified
    access = range_descriptor(start, end)
    assert access[0] == BY_RANGE
    xml = translate(frame_of(get_normal(1, ProfileRead(start, end).buffer, access)))
    assert '<AccessSelector Value="01" />' in xml and '<ClassId Value="0007" />' in xml
    assert '<UInt16 Value="0008" />' in xml and '<OctetString Value="0000010000FF" />' in xml
    assert "07EA0B1C0606000000800000" in xml and "07EA0B1C0609000000800000" in xml
    assert '<Array Qty="00" >' in xml or '<Array Qty="00" />' in xml


def test_a_range_read_by_selective_access() -> None:
    wire = Wire()
    profile, profile_read = read(wire, *MORNING)
    assert profile.code == "1.0.99.1.0.255" and profile.period == 900 and profile.status_code == "96.10.1"
    assert [entry.time for entry in profile.entries] == [
        MORNING[0] + timedelta(minutes=15 * index) for index in range(13)
    ]
    last = profile.entries[-1]
    assert last.values == {"1.8.0": Reading(12342678, "Wh"), "2.8.0": Reading(1234567, "Wh")} and last.status == 0
    assert not profile_read.filtered_here and not profile.timings.retried
    assert sum(BUFFER_BY_RANGE in frame for frame in wire.sent) == 1
    # only the 13 rows travelled: no GET-Request-Next, and far less than the whole buffer
    assert not any(b"\xc0\x02" in frame for frame in wire.sent) and profile.timings.bytes_received < 800
    document = profile.as_dict()
    assert document["profile"] == "1.0.99.1.0.255" and document["entries"][0]["time"] == "2026-11-28T06:00:00"
    assert document["entries"][0]["values"]["96.10.1"] == {"value": 0, "unit": None}
    assert document["entries"][-1]["values"]["1.8.0"] == {"value": 12342678, "unit": "Wh"}


def test_scalers_are_read_once() -> None:
    scalers: dict[Any, Scaling | None] = {}
    first, _ = read(Wire(), *MORNING, scalers=scalers)
    assert set(scalers.values()) == {Scaling("Wh", 0)}
    second, _ = read(Wire(), *MORNING, scalers=scalers)
    assert second.entries == first.entries and second.timings.bytes_sent < first.timings.bytes_sent


def test_refused_selective_access_reads_the_whole_buffer_and_filters() -> None:
    wanted, _ = read(Wire(), *MORNING)
    wire = Wire("no_selective_access")
    profile, profile_read = read(wire, *MORNING)
    assert profile.entries == wanted.entries and profile_read.filtered_here
    assert any(b"\xc0\x02" in frame for frame in wire.sent)  # the 96 rows came in blocks


def test_an_exception_response_to_selective_access_is_a_refusal_too() -> None:
    wanted, _ = read(Wire(), *MORNING)
    wire = Wire()
    original = wire.server.application.handle

    def handle(client: int, apdu: bytes) -> bytes:
        selective = apdu[:2] == b"\xc0\x01" and apdu[12:13] == b"\x01"
        return b"\xd8\x01\x02" if selective else original(client, apdu)

    wire.server.application.handle = handle  # type: ignore[method-assign]
    profile, profile_read = read(wire, *MORNING)
    assert profile.entries == wanted.entries and profile_read.filtered_here


def test_a_meter_without_selective_access_is_not_asked_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulator.cosem_server, "SERVER_CONFORMANCE", 0x001019)  # no selective-access bit
    wanted, _ = read(Wire(), datetime(2026, 11, 28, 11, 30), datetime(2026, 11, 28, 23, 0))
    assert [entry.time.minute for entry in wanted.entries] == [30, 45, 0]
    wire = Wire()
    _, profile_read = read(wire, *MORNING)
    assert profile_read.filtered_here and not any(BUFFER_BY_RANGE in frame for frame in wire.sent)


def test_a_range_with_no_entries_and_one_with_all() -> None:
    empty, _ = read(Wire(), datetime(2026, 12, 1), datetime(2026, 12, 2))
    assert empty.entries == ()
    everything, _ = read(Wire(), datetime(2000, 1, 1), datetime(2100, 1, 1))
    assert len(everything.entries) == 96 and everything.entries[-1].time == FROZEN_TIME


@pytest.mark.parametrize(
    ("code", "patch", "reason"),
    [
        ("1-0:99.2.0", None, ClientProblem.OBJECT_UNAVAILABLE),  # no such profile
        ("1-0:99.1.0", ("buffer", 3), ClientProblem.OBJECT_UNAVAILABLE),  # buffer refused with and without access
        ("1-0:99.1.0", ("buffer", Data(UINT32, 1)), ClientProblem.OBJECT_UNAVAILABLE),  # a buffer that is no array
        ("1-0:99.1.0", ("columns", Data(ARRAY, ())), ClientProblem.OBJECT_UNAVAILABLE),
        ("1-0:99.1.0", ("columns", Data(ARRAY, (Data(UINT8, 1),))), ClientProblem.MALFORMED),
        ("1-0:99.1.0", ("row", Data(ARRAY, (Data(STRUCTURE, ()),))), ClientProblem.MALFORMED),
    ],
)
def test_profiles_that_cannot_be_read(code: str, patch: tuple[str, object] | None, reason: ClientProblem) -> None:
    wire = Wire()
    objects = wire.server.application.objects
    profile = objects.objects[7, obis_bytes("1-0:99.1.0")]
    if patch is not None:
        what, value = patch
        attribute = 3 if what == "columns" else 2
        profile.attributes[attribute] = lambda: value  # type: ignore[assignment,return-value]
        profile.selections[2] = lambda selector, parameters: value  # type: ignore[assignment,return-value]
    with pytest.raises(DlmsClientError) as caught:
        read(wire, *MORNING, code=code)
    assert caught.value.reason is reason


def columns(*entries: tuple[int, str, int, int]) -> Data:
    return Data(
        ARRAY,
        tuple(
            Data(STRUCTURE, (Data(UINT16, c), Data(OCTET_STRING, obis_bytes(o)), Data(INT8, a), Data(UINT16, i)))
            for c, o, a, i in entries
        ),
    )


def test_columns_of_every_kind_and_a_compressed_clock() -> None:
    """A demand register (class 5, its scaler in attribute 4), a column of another class (skipped), an element of a
    structure (skipped), and rows whose clock is left out because it follows from the one before."""
    start = datetime(2026, 1, 1)
    profile_read = ProfileRead(start, start + timedelta(hours=1))
    profile_read.begin(Association(Conformance.GET | Conformance.SELECTIVE_ACCESS, 0x1F4), 1)
    first, period = profile_read.next_request(), profile_read.next_request()
    assert first is not None and period is not None
    captured = columns(
        (8, "0-0:1.0.0", 2, 0), (5, "1-0:1.4.0", 3, 0), (1, "0-0:96.240.12", 2, 0), (3, "1-0:2.8.0", 2, 1)
    )
    profile_read.answered(first, (captured,))
    profile_read.answered(period, (Data(UINT32, 900),))
    scaler = profile_read.next_request()
    assert scaler is not None and [str(item) for item in scaler.attributes] == ["class 5 1-0:1.4.0 attribute 4"]
    profile_read.answered(scaler, (Data(STRUCTURE, (Data(INT8, -3), Data(0x16, 27))),))
    buffer = profile_read.next_request()
    assert buffer is not None and buffer.access[:1] == bytes([BY_RANGE])
    assert profile_read.next_request() is None

    def row(clock: Data, demand: int) -> Data:
        return Data(STRUCTURE, (clock, Data(UINT32, demand), Data(UINT8, 7), Data(UINT32, 1)))

    rows = (
        row(Data(OCTET_STRING, datetime_octets(start)), 1500),
        row(Data(NULL, None), 1250),
        row(Data(DATE_TIME, datetime_octets(start + timedelta(minutes=45))), 1000),
        row(Data(UINT32, 0), 1),  # no time at all: left out
    )
    profile_read.answered(buffer, (Data(ARRAY, rows),))
    profile = profile_read.result(None, Timings())
    assert [(entry.time.minute, entry.values["1.4.0"]) for entry in profile.entries] == [
        (0, Reading(1.5, "W")),
        (15, Reading(1.25, "W")),
        (45, Reading(1.0, "W")),
    ]
    assert profile.status_code is None and all(entry.status is None for entry in profile.entries)
    assert profile.as_dict()["entries"][0] == {
        "time": "2026-01-01T00:00:00",
        "values": {"1.4.0": {"value": 1.5, "unit": "W"}},
    }


def test_profiles_without_a_clock_or_a_range() -> None:
    profile_read = ProfileRead(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(DlmsClientError, match="captures no clock"):
        profile_read._plan(columns((3, "1-0:1.8.0", 2, 0)))
    with pytest.raises(DlmsClientError, match="object_undefined"):
        profile_read._plan(DataAccessResult.OBJECT_UNDEFINED)
    assert parse_capture_objects(DataAccessResult.READ_WRITE_DENIED) == ()
    with pytest.raises(DlmsClientError, match="capture object"):
        parse_capture_objects(Data(ARRAY, (Data(STRUCTURE, (Data(NULL, None),) * 3 + (Data(UINT16, 0),)),)))
    odd = Data(STRUCTURE, (Data(OCTET_STRING, b"x"), Data(OCTET_STRING, bytes(6)), Data(INT8, 2), Data(UINT16, 0)))
    with pytest.raises(DlmsClientError, match="capture object"):
        parse_capture_objects(Data(ARRAY, (odd,)))
    with pytest.raises(ValueError, match="before it starts"):
        ProfileRead(datetime(2026, 1, 2), datetime(2026, 1, 1))


# --- over a pty: our client and gurux's read the same range ------------------------------------------------------

QUICK = ClientConfig(response_timeout=0.3, retries=1)


async def test_direct_and_mode_e_reads_and_gurux_reads_the_same_range(sim_factory: Factory) -> None:
    start, end = MORNING
    async with sim_factory("e450-hdlc", frozen=True) as sim:
        ours = await read_profile(sim.port, start, end, QUICK)
        await assert_port_released(sim.port)
        serial = await open_hdlc(sim.port)
        try:
            reader = GuruxReader(serial, gurux_client(32, "12345678"))
            await reader.connect()
            profile = GXDLMSProfileGeneric("1.0.99.1.0.255")
            await reader.read(profile, 3)
            reply = GXReplyData()
            await reader.block(reader.client.readRowsByRange(profile, start, end), reply)
            reader.client.updateValue(profile, 2, reply.value)
            await reader.close()
        finally:
            await close_port(serial)
    rows = [(row[0].value.replace(tzinfo=None), row[1], row[2], row[3]) for row in profile.buffer]
    assert len(rows) == 13 and len(ours.entries) == 13
    assert rows == [
        (entry.time, entry.status, entry.values["1.8.0"].value, entry.values["2.8.0"].value) for entry in ours.entries
    ]
    async with sim_factory("e450-mode-e", frozen=True) as sim:
        config = ClientConfig(mode_e=True, session=SessionConfig(identification_timeout=0.6, switch_delay=0.05))
        by_mode_e = await read_profile(sim.port, start, end, config)
    assert by_mode_e.entries == ours.entries


async def test_a_meter_refusing_selective_access_over_a_pty(sim_factory: Factory) -> None:
    async with sim_factory("e450-hdlc", frozen=True, fault="no_selective_access") as sim:
        profile = await read_profile(sim.port, *MORNING, QUICK)
        await assert_port_released(sim.port)
    assert len(profile.entries) == 13 and profile.timings.bytes_received > 3000


# --- the command line ----------------------------------------------------------------------------------------------


async def test_profile_command_contract(sim_factory: Factory, capsys: pytest.CaptureFixture[str]) -> None:
    async with sim_factory("e450-hdlc", frozen=True) as sim:
        port = sim.port
        arguments = ["profile", port, "--from", "2026-11-28T06:00", "--to", "2026-11-28T07:00"]
        code = await _in_thread(main, [*arguments, "--json"])
        document = json.loads(capsys.readouterr().out)
        table = await _in_thread(main, [*arguments, "--client", "32", "--password", "12345678"])
        text, err = capsys.readouterr()
        wrong = await _in_thread(main, [*arguments, "--client", "32", "--password", "nope", "--json"])
        refused = capsys.readouterr()
        keys = ["--client", "1", "--ek", EXAMPLE_EK.hex(), "--ak", EXAMPLE_AK.hex(), "--json"]
        ciphered = [await _in_thread(main, [*arguments, *keys]) for _ in range(2)]  # the frame counter first
        assert ciphered == [0, 0] and json.loads(capsys.readouterr().out.split("\n}\n")[0] + "}") == document
    assert code == 0 and set(document) == {"profile", "entries", "referencing"} and document["referencing"] == "ln"
    assert document["profile"] == "1.0.99.1.0.255"
    assert [entry["time"] for entry in document["entries"]] == [
        f"2026-11-28T{t}:00" for t in ("06:00", "06:15", "06:30", "06:45", "07:00")
    ]
    assert set(document["entries"][0]) == {"time", "values"}
    assert document["entries"][0]["values"]["1.8.0"]["unit"] == "Wh"
    assert table == 0 and "5 entries every 900 s" in text and "1.8.0 12339678 Wh" in text, (text, err)
    assert wrong == 2 and refused.out == "" and "refused the password" in refused.err


async def _in_thread(function: Callable[[list[str]], int], argv: list[str]) -> int:
    """``main`` runs its own event loop: off the test's loop, in a thread."""
    import asyncio

    return await asyncio.to_thread(function, argv)


def test_profile_command_errors(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    assert main(["profile", str(tmp_path / "nope"), "--from", "2026-01-02", "--to", "2026-01-01"]) == 2
    assert "is before --from" in capsys.readouterr().err
    assert main(["profile", str(tmp_path / "nope"), "--from", "2026-01-01", "--to", "2026-01-02T00:00+01:00"]) == 2
    assert "does not exist" in capsys.readouterr().err
    for wrong in (
        ["--from", "yesterday", "--to", "2026-01-01"],
        ["--from", "2026-01-01", "--to", "2026-01-02", "--code", "x"],
    ):
        with pytest.raises(SystemExit) as caught:
            main(["profile", "/dev/null", *wrong])
        assert caught.value.code == 2
        assert "error: argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["profile", "/dev/null", "--to", "2026-01-01"])


def test_an_exception_response_to_a_plain_get_is_an_error() -> None:
    wire = Wire()
    wire.server.application.handle = (
        lambda client, apdu: (  # type: ignore[method-assign]
            b"\xd8\x01\x02" if apdu[:1] == b"\xc0" else original(client, apdu)
        )
    )
    original = Application.handle.__get__(wire.server.application)
    with pytest.raises(DlmsClientError) as caught:
        read(wire, *MORNING)
    assert caught.value.reason is ClientProblem.REJECTED


def test_the_simulated_meters_selections() -> None:
    """Selector 2 (entries), and every selection it cannot make answered other-reason (250)."""
    application = Wire().server.application
    application.handle(16, build_aarq())
    buffer = get_normal(1, ProfileRead(*MORNING).buffer)[:-1]

    def selected(access: bytes) -> bytes:
        return application.handle(16, buffer + b"\x01" + access)

    entries = Data(STRUCTURE, (Data(UINT32, 95), Data(UINT32, 0), Data(UINT16, 1), Data(UINT16, 0)))
    answer = selected(b"\x02" + encode(entries))
    assert answer[:4] == bytes.fromhex("C401C100") and decode_all(answer[4:]).items[0].items[0].value == (
        datetime_octets(FROZEN_TIME - timedelta(minutes=15))[:8] + bytes.fromhex("FF800000")
    )
    clock = range_descriptor(*MORNING)
    not_a_time = clock[:-30] + b"\x09\x0c" + bytes(12) + clock[-16:]
    for access in (
        b"\x03" + encode(entries),
        b"\x02" + encode(Data(ARRAY, ())),
        not_a_time,
        clock + b"\x00",
        b"\x01",
        b"\x01\x02\x04",
    ):
        assert selected(access)[3:] == b"\x01\xfa", access.hex()
    register = get_normal(2, Attribute(3, obis_bytes("1.8.0"), 2), clock)
    assert application.handle(16, register)[3:] == b"\x01\xfa"  # no selective access on a register
    assert meter_time(b"\x07\xea\x0b\x1c\x06\xff\xff\xff" + bytes(4)) == datetime(2026, 11, 28)
