"""Short name referencing end to end: our client against the simulated ZMD-style meter (auto fallback from the
refused LN context, the SN object list read once, LLS, lists and answers in blocks, the load profile by range with
parameterized access, 62-byte frames toward the meter), gurux-dlms's SN client agreeing on every value, and the
APDUs themselves (docs/dlms-client.md §9)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
from datetime import timedelta
import json
from typing import Any

from gurux_dlms.enums import ObjectType
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSExtendedRegister, GXDLMSProfileGeneric, GXDLMSRegister
import pytest

from custom_components.e450.wire.commands.dlms import main
from custom_components.e450.wire.dlms.axdr import ARRAY, INT16, STRUCTURE, UINT8, UINT16, Data, obis_bytes
from custom_components.e450.wire.dlms.client.association import (
    Association,
    Conformance,
    ContextRefused,
    Mechanism,
    Referencing,
    build_aarq,
    parse_aare,
)
from custom_components.e450.wire.dlms.client.config import ClientConfig
from custom_components.e450.wire.dlms.client.cosem import OBJECT_LIST, parse_object_list, register
from custom_components.e450.wire.dlms.client.driver import read_client, read_dlms, read_profile
from custom_components.e450.wire.dlms.client.get import Answer, Block, DataAccessResult
from custom_components.e450.wire.dlms.client.hdlc_link import LinkSettings
from custom_components.e450.wire.dlms.client.hls import ClientKeys
from custom_components.e450.wire.dlms.client.profile import range_descriptor
from custom_components.e450.wire.dlms.client.reading import Request
from custom_components.e450.wire.dlms.client.shortname import (
    SN_OBJECT_LIST,
    ShortNames,
    ShortNameService,
    parse_read_response,
    read_next,
    read_request,
    short_name,
)
from custom_components.e450.wire.dlms.units import UNIT_NAMES
from custom_components.e450.wire.errors import ClientProblem, DlmsClientError
from custom_components.e450.wire.iec62056.session import SessionConfig
from custom_components.e450.wire.port import close_port
from simulator.cosem_objects import ZMD_DEVICE_NAME, ZMD_SERIAL
from simulator.registers import FROZEN_TIME

from .gurux_peer import GuruxReader, gurux_client, open_hdlc, translate
from .processes import simulator_pty
from .test_dlms_client import frame_of
from .test_driver import assert_port_released

Factory = Callable[..., contextlib.AbstractAsyncContextManager[Any]]
QUICK = ClientConfig(response_timeout=0.3, retries=1)
MODE_E = SessionConfig(identification_timeout=0.6, switch_delay=0.05)
ZMD_REGISTERS = 29  # energies (11), powers (5), voltages, currents, frequency, power factors (4), maximum demand


async def test_auto_falls_back_to_short_names_and_reads_the_object_list_once(sim_factory: Factory) -> None:
    names = ShortNames()
    async with sim_factory("zmd-sn", frozen=True) as sim:
        first = await read_dlms(sim.port, ClientConfig(), names=names)
        await assert_port_released(sim.port)
        again = await read_dlms(sim.port, ClientConfig(), names=names)
        assert sim.dlms.connections == 2 and sim.dlms.application.associations == 2
    assert first.referencing == again.referencing == "sn"
    assert first.text("42.0.0") == ZMD_DEVICE_NAME and len(first.readings) == 20
    assert first.readings["1.8.0"].value == 12345680 and first.readings["1.8.0"].unit == "Wh"
    assert first.readings["32.7.0"].unit == "V" and first.readings["31.7.0"].unit == "A"
    assert again.readings == first.readings
    # the second read proposes SN at once, reads no object list and no scaler (kept by the caller: none here)
    assert names.known and again.timings.bytes_received < first.timings.bytes_received / 2


async def test_every_register_of_the_object_list_over_short_names(sim_factory: Factory) -> None:
    async with sim_factory("zmd-sn") as sim:
        names = ShortNames()
        read = await read_client(sim.port, ClientConfig(registers=(), referencing=Referencing.SN), names=names)
        listed = read.object_list
        assert listed is not None and (4, "1-0:1.6.0") in listed.registers and (3, "1-0:13.7.0") in listed.registers
        # what an entry keeps: exactly the registers the SN object list offered, the names known
        offered = ClientConfig(offered=listed.registers, referencing=Referencing.SN)
        again = await read_client(sim.port, offered, names=names)
    readout = read.readout
    assert readout.referencing == "sn" and len(readout.readings) == ZMD_REGISTERS == len(listed.registers)
    assert listed.objects > len(listed.registers) and again.object_list is None
    assert set(again.readout.readings) == set(readout.readings)
    assert readout.readings["13.7.0"].unit is None and 0 < readout.readings["13.7.0"].value <= 1
    assert readout.readings["1.6.0"].unit == "W" and readout.readings["1.8.4"].value > 0


@pytest.mark.parametrize(("profile", "referencing"), [("zmd-sn", Referencing.LN), ("e450-hdlc", Referencing.SN)])
async def test_a_forced_referencing_the_meter_refuses(
    sim_factory: Factory, profile: str, referencing: Referencing
) -> None:
    async with sim_factory(profile) as sim:
        with pytest.raises(DlmsClientError) as caught:
            await read_dlms(sim.port, ClientConfig(referencing=referencing, response_timeout=0.3))
        await assert_port_released(sim.port)
    assert caught.value.reason is ClientProblem.ASSOCIATION_REFUSED


async def test_auto_reads_a_logical_name_meter_as_before(sim_factory: Factory) -> None:
    names = ShortNames()
    async with sim_factory("e450-hdlc") as sim:
        readout = await read_dlms(sim.port, QUICK, names=names)
    assert readout.referencing == "ln" and not names.known and len(readout.readings) == 18


async def test_known_names_of_a_meter_that_now_speaks_logical_names(sim_factory: Factory) -> None:
    """``auto`` proposes SN first once the meter spoke it; a refusal falls back to LN (the meter was replaced)."""
    names = ShortNames({}, Data(ARRAY, ()))
    async with sim_factory("e450-hdlc") as sim:
        readout = await read_dlms(sim.port, QUICK, names=names)
    assert readout.referencing == "ln"


async def test_password_over_short_names(sim_factory: Factory) -> None:
    lls = ClientConfig(link=LinkSettings(client=32), password="12345678")
    wrong = ClientConfig(link=LinkSettings(client=32), password="87654321")
    async with sim_factory("zmd-sn") as sim:
        readout = await read_dlms(sim.port, lls)
        with pytest.raises(DlmsClientError) as caught:
            await read_dlms(sim.port, wrong)
    assert readout.referencing == "sn" and readout.readings["1.8.0"].value > 0
    assert caught.value.reason is ClientProblem.WRONG_PASSWORD


async def test_lists_and_the_object_list_in_blocks(sim_factory: Factory) -> None:
    """A client PDU of 64 bytes: the object list and the lists of values both come back in blocks."""
    async with sim_factory("zmd-sn", frozen=True) as sim:
        small = await read_dlms(sim.port, ClientConfig(max_pdu=64))
        large = await read_dlms(sim.port, ClientConfig())
    assert small.readings == large.readings and len(small.readings) == 20


async def test_an_interrupted_block_transfer_over_short_names(sim_factory: Factory) -> None:
    async with sim_factory("zmd-sn", fault="block_interrupted") as sim:
        with pytest.raises(DlmsClientError) as caught:
            await read_dlms(sim.port, QUICK)
        await assert_port_released(sim.port)
    assert caught.value.reason is ClientProblem.BLOCK_TRANSFER_ABORTED


@pytest.mark.parametrize("fault", [None, "no_selective_access"])
async def test_load_profile_by_range_over_short_names(sim_factory: Factory, fault: str | None) -> None:
    end = FROZEN_TIME.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=2)
    async with sim_factory("zmd-sn", frozen=True, fault=fault) as sim:
        profile = await read_profile(sim.port, start, end, QUICK)
        registers = await read_dlms(sim.port, QUICK)
    assert profile.referencing == "sn" and len(profile.entries) == 9 and profile.period == 900
    assert [entry.time for entry in profile.entries] == [start + timedelta(minutes=15 * n) for n in range(9)]
    last = profile.entries[-1].values["1.8.0"]
    assert last.unit == "Wh" and last.value % 10 == 0 and last.value <= registers.readings["1.8.0"].value


async def test_mode_e_then_short_names(sim_factory: Factory) -> None:
    async with sim_factory("zmd-sn-mode-e") as sim:
        readout = await read_dlms(sim.port, ClientConfig(mode_e=True, session=MODE_E))
    assert readout.identification is not None and readout.identification.hdlc_capable
    assert readout.referencing == "sn" and readout.readings["14.7.0"].unit == "Hz"


async def test_frames_longer_than_the_meter_takes_go_in_segments(sim_factory: Factory) -> None:
    """The ZMD takes 62 bytes of information per frame and refuses a longer one (FRMR): an AARQ with a long
    password goes in two segments, reaches the meter whole and is answered (here: the password is wrong)."""
    password = "a-password-of-thirty-characters"
    assert len(build_aarq(Mechanism.LOW, password.encode(), referencing=Referencing.SN)) + 3 > 62
    async with sim_factory("zmd-sn") as sim:
        with pytest.raises(DlmsClientError) as caught:
            await read_dlms(sim.port, ClientConfig(link=LinkSettings(client=48), password=password))
    assert caught.value.reason is ClientProblem.WRONG_PASSWORD


async def test_gurux_short_name_client_agrees_on_every_value(sim_factory: Factory) -> None:
    """gurux-dlms's SN client reads the simulated ZMD (its object list by base names, every register's value and
    scaler, the clock, the profile) and our client reads the same frozen meter: every value agrees."""
    async with sim_factory("zmd-sn", frozen=True) as sim:
        serial = await open_hdlc(sim.port)
        try:
            reader = GuruxReader(serial, gurux_client(logical_names=False))
            await reader.connect()
            objects = await reader.objects()
            registers = [item for item in objects if isinstance(item, GXDLMSRegister)]
            for item in registers:
                await reader.read(item, 3)
                await reader.read(item, 2)
            name = objects.findByLN(ObjectType.DATA, "0.0.42.0.0.255")
            serial_number = objects.findByLN(ObjectType.DATA, "0.0.96.1.0.255")
            clock = objects.findByLN(ObjectType.CLOCK, "0.0.1.0.0.255")
            profile = objects.findByLN(ObjectType.PROFILE_GENERIC, "1.0.99.1.0.255")
            assert isinstance(name, GXDLMSData) and isinstance(serial_number, GXDLMSData)
            assert isinstance(clock, GXDLMSClock) and isinstance(profile, GXDLMSProfileGeneric)
            for item in (name, serial_number, clock):
                await reader.read(item, 2)
            await reader.read(profile, 3)
            await reader.read(profile, 2)
            await reader.close()
        finally:
            await close_port(serial)
        ours = await read_dlms(sim.port, ClientConfig(registers=()))
        start, end = FROZEN_TIME - timedelta(days=2), FROZEN_TIME
        our_profile = await read_profile(sim.port, start, end, ClientConfig())
    assert len(registers) == ZMD_REGISTERS
    assert any(isinstance(item, GXDLMSExtendedRegister) for item in registers)
    for item in registers:
        c, d, e = item.logicalName.split(".")[2:5]
        reading = ours.readings[f"{c}.{d}.{e}"]
        assert reading.value == pytest.approx(item.value), item.logicalName
        assert reading.unit == UNIT_NAMES.get(int(item.unit)), item.logicalName
    assert as_text(name.value) == ours.text("42.0.0") == ZMD_DEVICE_NAME
    assert as_text(serial_number.value) == ZMD_SERIAL
    meter_clock = clock.time.value.replace(tzinfo=None)
    assert meter_clock.strftime("%y%m%d%H%M%S") == ours.text("0.9.2") + ours.text("0.9.1")
    assert len(profile.buffer) == len(our_profile.entries) == 96
    for row, entry in zip(profile.buffer, our_profile.entries, strict=True):
        assert row[0].value.replace(tzinfo=None) == entry.time
        assert row[2] == entry.values["1.8.0"].value and row[3] == entry.values["2.8.0"].value  # both scaled


def as_text(value: Any) -> str:
    """gurux-dlms gives an octet-string of printable characters as text, others as bytes."""
    return value if isinstance(value, str) else bytes(value).decode()


@pytest.fixture
def zmd_simulator() -> Iterator[str]:
    with simulator_pty("zmd-sn") as port:
        yield port


def test_read_and_profile_commands_over_short_names(zmd_simulator: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["read", zmd_simulator, "--registers", "1.8.0,13.7.0", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["referencing"] == "sn" and document["logical_device_name"] == ZMD_DEVICE_NAME
    assert document["readings"]["1.8.0"]["unit"] == "Wh" and set(document["readings"]) == {"1.8.0", "13.7.0"}
    assert main(["read", zmd_simulator, "--referencing", "ln"]) == 2
    assert capsys.readouterr().err.startswith("error: the meter refused the association")
    assert (
        main(["profile", zmd_simulator, "--referencing", "sn", "--from", "2020-01-01", "--to", "2100-01-01", "--json"])
        == 0
    )
    profile = json.loads(capsys.readouterr().out)
    assert profile["referencing"] == "sn" and len(profile["entries"]) == 96
    with pytest.raises(SystemExit):
        main(["read", zmd_simulator, "--referencing", "sn", "--ek", "00" * 16, "--ak", "00" * 16])
    assert "logical names only" in capsys.readouterr().err


# --- the APDUs ----------------------------------------------------------------------------------------------------


def test_attribute_offsets_follow_the_blue_book() -> None:
    assert short_name(0x2000, 1) == 0x2000 and short_name(0x2000, 2) == 0x2008 and short_name(0xFA00, 2) == 0xFA08
    assert short_name(0xFFF8, 3) == 0x0008  # the 16-bit name wraps


def test_read_requests() -> None:
    assert read_request([0x2008]) == bytes.fromhex("0501022008")
    assert read_request([0x2008, 0x2010]) == bytes.fromhex("050202200802 2010".replace(" ", ""))
    assert read_request([0x2068], b"\x01\x02\x00") == bytes.fromhex("050104206801020 0".replace(" ", ""))
    assert read_next(2) == bytes.fromhex("0501050002")


def test_gurux_reads_our_short_name_apdus() -> None:
    """gurux-dlms's translator reads every APDU the client sends over short names as we mean it."""
    aarq = translate(frame_of(build_aarq(referencing=Referencing.SN)))
    assert '<ApplicationContextName Value="SN" />' in aarq
    for bit in ("Read", "BlockTransferWithGetOrRead", "MultipleReferences", "ParameterizedAccess"):
        assert f'<ConformanceBit Name="{bit}" />' in aarq
    listed = translate(frame_of(read_request([0x2008, 0x2010])))
    assert '<ReadRequest Qty="02" >' in listed and '<VariableName Value="2010" />' in listed
    ranged = translate(frame_of(read_request([0x2468], range_descriptor(FROZEN_TIME, FROZEN_TIME))))
    assert "<ParameterisedAccess>" in ranged and '<VariableName Value="2468" />' in ranged
    assert '<Selector Value="01" />' in ranged and '<OctetString Value="0000010000FF" />' in ranged
    following = translate(frame_of(read_next(1)))
    assert "<BlockNumberAccess>" in following and '<BlockNumber Value="0001" />' in following


def test_read_responses() -> None:
    assert parse_read_response(bytes.fromhex("0c0100120102")) == Answer((Data(UINT16, 0x0102),))
    assert parse_read_response(bytes.fromhex("0c02010400110a")) == Answer(
        (DataAccessResult.OBJECT_UNDEFINED, Data(UINT8, 10))
    )
    assert parse_read_response(bytes.fromhex("0c010200000103 00aabb".replace(" ", ""))) == Block(
        False, 1, bytes.fromhex("00aabb")
    )
    assert parse_read_response(bytes.fromhex("0c01020100020100")) == Block(True, 2, b"\x00")


@pytest.mark.parametrize(
    ("apdu", "reason"),
    [
        ("c40100", ClientProblem.MALFORMED),  # a GET-Response where a ReadResponse belongs
        ("0c0102000001", ClientProblem.MALFORMED),  # a block cut before its length
        ("0c0102000001050102", ClientProblem.MALFORMED),  # shorter than its length
        ("0e0106", ClientProblem.REJECTED),  # confirmed-service-error
    ],
)
def test_malformed_read_responses(apdu: str, reason: ClientProblem) -> None:
    with pytest.raises(DlmsClientError) as caught:
        parse_read_response(bytes.fromhex(apdu))
    assert caught.value.reason is reason


def _sn_entry(base: int, class_id: int, code: str) -> Data:
    return Data(STRUCTURE, (Data(INT16, base), Data(UINT16, class_id), Data(UINT8, 0), Data(0x09, obis_bytes(code))))


def test_the_sn_object_list_names_attributes_and_lists_registers() -> None:
    listing = Data(ARRAY, (_sn_entry(-0x8000, 3, "1-0:1.8.0"), _sn_entry(0x2068, 8, "0-0:1.0.0"), Data(UINT8, 1)))
    names = ShortNames()
    names.learn(listing)
    assert names.name_of(register("1.8.0")) == 0x8008 and names.name_of(SN_OBJECT_LIST) == 0xFA08
    assert names.name_of(register("2.8.0")) is None
    assert [entry.class_id for entry in parse_object_list(listing)] == [3, 8]
    service = ShortNameService(names)
    request = Request((register("2.8.0"), OBJECT_LIST, register("1.8.0")))
    assert service.request(1, request) == read_request([0x8008])
    assert service.results((Data(UINT8, 7),)) == (DataAccessResult.OBJECT_UNDEFINED, listing, Data(UINT8, 7))
    with pytest.raises(DlmsClientError) as caught:
        service.results(())
    assert caught.value.reason is ClientProblem.MALFORMED
    assert service.request(2, Request((register("2.8.0"),))) is None
    assert service.results(()) == (DataAccessResult.OBJECT_UNDEFINED,)


@pytest.mark.parametrize("result", [DataAccessResult.READ_WRITE_DENIED, Data(UINT8, 1)])
def test_an_sn_association_without_an_object_list(result: Any) -> None:
    with pytest.raises(DlmsClientError) as caught:
        ShortNames().learn(result)
    assert caught.value.reason is ClientProblem.OBJECT_UNAVAILABLE


def _aare(context: int, result: int, diagnostic: int) -> bytes:
    fields = (
        bytes.fromhex("a109060760857405080101")[:-1]
        + bytes([context])
        + bytes([0xA2, 3, 2, 1, result, 0xA3, 5, 0xA1, 3, 2, 1, diagnostic])
        + bytes.fromhex("be10040e0800065f1f0400101220 01f4 fa00".replace(" ", ""))
    )
    return bytes([0x61, len(fields)]) + fields


def test_the_aare_says_which_context() -> None:
    association = parse_aare(_aare(2, 0, 0), proposed=Referencing.SN)
    assert association.referencing is Referencing.SN and association.selective_access
    assert association.allows(Conformance.READ) and association.max_pdu == 0x01F4
    assert not Association(Conformance.SELECTIVE_ACCESS, 100, referencing=Referencing.SN).selective_access
    with pytest.raises(ContextRefused):
        parse_aare(_aare(2, 1, 1))  # refused, naming the SN context: the LN context was the problem
    with pytest.raises(ContextRefused):
        parse_aare(_aare(1, 1, 2))  # application context name not supported
    unnamed = _aare(1, 0, 0).replace(bytes.fromhex("a109060760857405080101"), b"")
    unnamed = bytes([0x61, len(unnamed) - 2]) + unnamed[2:]
    assert parse_aare(unnamed, proposed=Referencing.SN).referencing is Referencing.SN  # no context: as proposed


def test_hls_is_offered_over_logical_names_only() -> None:
    keys = ClientKeys(bytes(16), bytes(16))
    with pytest.raises(ValueError, match="logical name"):
        ClientConfig(keys=keys, referencing=Referencing.SN)


def test_sn_aarq_proposes_the_sn_context_and_read_conformance() -> None:
    aarq = build_aarq(referencing=Referencing.SN)
    assert bytes.fromhex("60857405080102") in aarq and bytes.fromhex("5f1f0400101220") in aarq
    assert bytes.fromhex("60857405080101") in build_aarq()
    assert bytes.fromhex("5f1f0400100000") in build_aarq(conformance=Conformance.READ, referencing=Referencing.SN)
