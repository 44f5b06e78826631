"""The DLMS/COSEM client, sans-IO: its builders checked against gurux-dlms, its link and its machine driven against
the simulated meter's server in-process with a fake clock (every timing path, every fault, no port)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import random
import re

from gurux_dlms import GXDLMSClient
import pytest

from custom_components.e450.wire import PushDecoder, Readout, Timings
from custom_components.e450.wire.actions import Configure, Done, Drain, Send, Wait
from custom_components.e450.wire.dlms.axdr import (
    BIT_STRING,
    BOOLEAN,
    DATE_TIME,
    NULL,
    OCTET_STRING,
    STRUCTURE,
    UINT8,
    UINT32,
    VISIBLE_STRING,
    Data,
    decode_all,
    encode,
    obis_bytes,
    obis_text,
)
from custom_components.e450.wire.dlms.client.association import (
    Association,
    Conformance,
    Mechanism,
    build_aarq,
    build_rlrq,
    parse_aare,
    parse_rlre,
)
from custom_components.e450.wire.dlms.client.client import DlmsClient, State
from custom_components.e450.wire.dlms.client.config import ClientConfig
from custom_components.e450.wire.dlms.client.cosem import (
    CLOCK_TIME,
    DEFAULT_REGISTERS,
    OBJECT_LIST,
    ObjectListEntry,
    clock_of,
    meter_time,
    parse_object_list,
    reading_attributes,
    register,
    register_dataset,
    registers_offered,
    scaled,
    scaler_of,
    text_of,
)
from custom_components.e450.wire.dlms.client.get import (
    Answer,
    Attribute,
    Block,
    DataAccessResult,
    get_next,
    get_normal,
    get_with_list,
    parse_get_response,
)
from custom_components.e450.wire.dlms.client.hdlc_link import HdlcLink, LinkSettings, parse_parameters
from custom_components.e450.wire.dlms.client.reading import ObjectList, RegisterRead, list_size
from custom_components.e450.wire.dlms.units import Scaling
from custom_components.e450.wire.errors import ClientProblem, DlmsClientError
from custom_components.e450.wire.framing.hdlc import (
    DM,
    FRMR,
    SNRM,
    UA,
    HdlcReader,
    build_frame,
    decode_address,
    encode_address,
    parse_frame,
    physical_from_serial,
    server_address,
)
from custom_components.e450.wire.submeters import Medium, SubMeter, is_submeter_serial, submeters
from simulator.cosem_objects import CosemObjects
from simulator.cosem_server import Application
from simulator.dlms_push import (
    GAS_SERIAL,
    LOGICAL_DEVICE_NAME,
    METER_NUMBER,
    WATER_SERIAL,
    push_frame,
    submeter_readings,
)
from simulator.dlms_server import HdlcServer
from simulator.faults import FaultPlan
from simulator.profiles import PROFILES, MeterState
from simulator.registers import Registers

from .gurux_peer import translate

# --- HDLC frames and addresses ---------------------------------------------------------------------------------


def test_addresses_of_one_two_and_four_bytes() -> None:
    assert encode_address(16, 1) == b"\x21"
    assert server_address(1, 17) == b"\x02\x23"  # the SNRM in docs/dlms.md §4.1: 7E A0 08 02 23 21 93 …
    assert server_address(1, None) == b"\x03"
    assert server_address(1, 17, 4) == b"\x00\x02\x00\x23"
    derived = physical_from_serial(30137181)
    assert derived == 8181
    assert decode_address(server_address(1, derived)) == GXDLMSClient.getServerAddressFromSerialNumber(30137181, 1)
    assert decode_address(server_address(1, 17)) == GXDLMSClient.getServerAddress(1, 17)
    with pytest.raises(ValueError, match="does not fit"):
        encode_address(128, 1)
    with pytest.raises(ValueError, match="do not fit"):
        server_address(1, 200, 2)


def test_frames_match_gurux_and_parse_back() -> None:
    snrm = build_frame(server_address(1, 17), encode_address(16, 1), SNRM)
    gurux = GXDLMSClient(True, 16, GXDLMSClient.getServerAddress(1, 17))
    assert snrm == bytes(gurux.snrmRequest()) == bytes.fromhex("7EA00802232193BD647E")
    frame = parse_frame(build_frame(b"\x21", b"\x03", 0x10, b"\xe6\xe6\x00\x01", segmented=True)[1:-1])
    assert frame is not None and frame.segmented and frame.information == b"\xe6\xe6\x00\x01"
    with pytest.raises(ValueError, match="11-bit"):
        build_frame(b"\x21", b"\x03", 0x10, bytes(2100))


# --- A-XDR encoding ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        Data(STRUCTURE, (Data(0x0F, -1), Data(0x16, 30))),
        Data(OCTET_STRING, b"x" * 300),
        Data(VISIBLE_STRING, "LGZ"),
        Data(0x0C, "Zähler"),
        Data(BOOLEAN, True),
        Data(BIT_STRING, b"\x80"),
        Data(DATE_TIME, bytes(12)),
        Data(NULL, None),
        Data(UINT32, 4_000_000_000),
    ],
)
def test_encode_is_the_inverse_of_decode(data: Data) -> None:
    assert decode_all(encode(data)) == data


def test_encode_refuses_an_unknown_type() -> None:
    with pytest.raises(ValueError, match="0x7f"):
        encode(Data(0x7F, None))


def test_obis_codes_in_every_written_form() -> None:
    assert obis_bytes("1.8.0") == bytes([1, 0, 1, 8, 0, 255])
    assert obis_bytes("32.7") == bytes([1, 0, 32, 7, 0, 255])
    assert obis_bytes("96.1.0") == bytes([0, 0, 96, 1, 0, 255])
    assert obis_bytes("0.9.1") == bytes([0, 0, 0, 9, 1, 255])
    assert obis_bytes("1-1:1.8.0*101") == bytes([1, 1, 1, 8, 0, 101])
    for wrong in ("1.8", "1.8.0.0.0", "1-0:256.8.0", "x"):
        with pytest.raises(ValueError):
            obis_bytes(wrong if wrong != "1.8" else "1.8.0.1")


# --- association and GET APDUs, read back by gurux ------------------------------------------------------------


def frame_of(apdu: bytes) -> bytes:
    return build_frame(server_address(1, 17), encode_address(32, 1), 0x10, b"\xe6\xe6\x00" + apdu)


def test_gurux_reads_our_aarq_with_and_without_a_password() -> None:
    public = translate(frame_of(build_aarq()))
    assert '<ApplicationContextName Value="LN" />' in public and "MechanismName" not in public
    assert '<ProposedMaxPduSize Value="FFFF" />' in public
    for bit in ("Get", "BlockTransferWithGetOrRead", "MultipleReferences", "SelectiveAccess"):
        assert f'<ConformanceBit Name="{bit}" />' in public
    lls = translate(frame_of(build_aarq(Mechanism.LOW, b"12345678", max_pdu=0x200)))
    assert '<MechanismName Value="Low" />' in lls
    assert '<CallingAuthentication Value="3132333435363738" />' in lls
    assert '<ProposedMaxPduSize Value="0200" />' in lls
    # the LLS example of dlms-cosem's tests, byte for byte but for the conformance block and PDU size
    assert build_aarq(Mechanism.LOW, b"12345678").startswith(
        bytes.fromhex("6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738BE10040E")
    )


def test_gurux_reads_our_get_requests() -> None:
    value = register("1.8.0")
    normal = translate(frame_of(get_normal(1, value)))
    assert '<ClassId Value="0003" />' in normal and '<InstanceId Value="0100010800FF" />' in normal
    assert '<AttributeId Value="02" />' in normal and '<InvokeIdAndPriority Value="C1" />' in normal
    listed = translate(frame_of(get_with_list(2, [value, CLOCK_TIME])))
    assert "<GetRequestWithList>" in listed and listed.count("<AttributeDescriptor>") == 2
    following = translate(frame_of(get_next(3, 7)))
    assert "<GetRequestForNextDataBlock>" in following and '<BlockNumber Value="00000007" />' in following
    release = translate(frame_of(build_rlrq()))
    assert "<ReleaseRequest>" in release


def aare(result: int, diagnostic: int, information: bytes) -> bytes:
    body = (
        bytes.fromhex("A109060760857405080101")
        + bytes([0xA2, 3, 2, 1, result, 0xA3, 5, 0xA1, 3, 2, 1, diagnostic])
        + bytes([0xBE, len(information) + 2, 0x04, len(information)])
        + information
    )
    return bytes([0x61, len(body)]) + body


ACCEPTED = bytes.fromhex("0800065F1F040000121401F40007")


def test_aare_accepted_gives_the_agreed_conformance_and_pdu() -> None:
    association = parse_aare(aare(0, 0, ACCEPTED))
    assert association.max_pdu == 0x1F4
    assert association.allows(Conformance.GET) and association.allows(Conformance.MULTIPLE_REFERENCES)
    assert not association.allows(Conformance.GENERAL_BLOCK_TRANSFER)
    with_qos = parse_aare(aare(0, 0, bytes.fromhex("080105065F1F040000001001000007")))
    assert with_qos.conformance == 0x10 and with_qos.max_pdu == 0x100


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        (13, ClientProblem.WRONG_PASSWORD),
        (14, ClientProblem.AUTHENTICATION_REQUIRED),
        (12, ClientProblem.AUTHENTICATION_REQUIRED),
        (1, ClientProblem.ASSOCIATION_REFUSED),
        (2, ClientProblem.ASSOCIATION_REFUSED),
    ],
)
def test_aare_refusals_name_their_reason(diagnostic: int, reason: ClientProblem) -> None:
    with pytest.raises(DlmsClientError) as caught:
        parse_aare(aare(1, diagnostic, bytes.fromhex("0E010600")))
    assert caught.value.reason is reason
    assert f"diagnostic {diagnostic}" in str(caught.value) and "initiate error 010600" in str(caught.value)


@pytest.mark.parametrize(
    "apdu",
    [b"", b"\x60\x00", bytes.fromhex("6103A10100"), aare(0, 0, b"\x08\x00"), b"\x61\x05\xa2\x03\x02", b"\x61\x81"],
)
def test_malformed_aares(apdu: bytes) -> None:
    with pytest.raises(DlmsClientError) as caught:
        parse_aare(apdu)
    assert caught.value.reason is ClientProblem.MALFORMED


def test_rlre() -> None:
    parse_rlre(bytes.fromhex("6303800100"))
    with pytest.raises(DlmsClientError, match="RLRE"):
        parse_rlre(b"\x61")


def test_get_responses_of_every_shape() -> None:
    assert parse_get_response(bytes.fromhex("C401C100060000000A"), 1) == Answer((Data(UINT32, 10),))
    assert parse_get_response(bytes.fromhex("C401C1010B"), 1) == Answer((DataAccessResult.OBJECT_UNAVAILABLE,))
    listed = parse_get_response(bytes.fromhex("C403C2030006000000010104 0000".replace(" ", "")), 2)
    assert listed == Answer((Data(UINT32, 1), DataAccessResult.OBJECT_UNDEFINED, Data(NULL, None)))
    block = parse_get_response(bytes.fromhex("C402C1000000000100030A0B0C"), 1)
    assert block == Block(False, 1, b"\x0a\x0b\x0c")
    aborted = parse_get_response(bytes.fromhex("C402C10100000002010F"), 1)
    assert isinstance(aborted, Block) and aborted.error is DataAccessResult.LONG_GET_ABORTED
    assert DataAccessResult.of(99) is DataAccessResult.OTHER_REASON
    assert str(register("1.8.0")) == "class 3 1-0:1.8.0 attribute 2"


@pytest.mark.parametrize(
    ("apdu", "reason"),
    [
        ("D80102", ClientProblem.REJECTED),
        ("0E0106", ClientProblem.REJECTED),
        ("C401C2000600000001", ClientProblem.MALFORMED),  # another invoke id
        ("C401C100060000000101", ClientProblem.MALFORMED),  # bytes after the result
        ("C401C10006000000", ClientProblem.MALFORMED),  # a value cut short
        ("C401C102", ClientProblem.MALFORMED),  # no such Get-Data-Result choice
        ("C401C1", ClientProblem.MALFORMED),
        ("C403C1020006000000010", ClientProblem.MALFORMED),
        ("C403C1850006000000", ClientProblem.MALFORMED),  # a bad length form
        ("C403C101000600000001FF", ClientProblem.MALFORMED),
        ("C402C1000000000100050A", ClientProblem.MALFORMED),  # block shorter than its length
        ("C402C100000000010085", ClientProblem.MALFORMED),
        ("C405C10000", ClientProblem.MALFORMED),
        ("C5", ClientProblem.MALFORMED),
    ],
)
def test_broken_get_responses(apdu: str, reason: ClientProblem) -> None:
    with pytest.raises(DlmsClientError) as caught:
        parse_get_response(bytes.fromhex(apdu if len(apdu) % 2 == 0 else apdu + "0"), 1)
    assert caught.value.reason is reason


# --- COSEM meanings -------------------------------------------------------------------------------------------


def test_scaled_values_keep_the_scalers_decimals() -> None:
    assert scaled(2288, Scaling("V", -1)) == (228.8, "228.8")
    assert scaled(5, Scaling("Wh", 3)) == (5000, "5000")
    assert scaled(1.5, Scaling("W", 1)) == (15.0, "15.0")
    assert scaled(7, None) == (7, "7")
    assert register_dataset(register("1.8.0"), Data(OCTET_STRING, b"x"), None) is None
    assert register_dataset(register("1.8.0"), Data(BOOLEAN, True), None) is None
    assert register_dataset(register("1.8.0"), None, None) is None


def test_names_clocks_and_object_lists_of_other_shapes() -> None:
    assert text_of(Data(VISIBLE_STRING, "LGZ1")) == "LGZ1" and text_of(Data(UINT32, 1)) is None
    assert clock_of(Data(UINT32, 1)) is None
    assert meter_time("261301", "120000") is None and meter_time(None, None) is None
    assert parse_object_list(DataAccessResult.READ_WRITE_DENIED) == ()
    odd = Data(0x01, (Data(UINT32, 1), Data(STRUCTURE, (Data(0x12, 3), Data(0x11, 0), Data(OCTET_STRING, b"x")))))
    assert parse_object_list(odd) == ()


# --- the link -------------------------------------------------------------------------------------------------


def test_hdlc_parameters() -> None:
    assert parse_parameters(b"") == {}
    assert parse_parameters(bytes.fromhex("818007050200800601FF")) == {5: 128, 6: 255}
    for wrong in ("8180", "818003050200", "8180040501"):
        with pytest.raises(DlmsClientError, match="HDLC parameters"):
            parse_parameters(bytes.fromhex(wrong))


def test_a_link_proposes_lengths_only_when_they_differ() -> None:
    assert HdlcLink().connect() == bytes.fromhex("7EA00802232193BD647E")
    proposing = HdlcLink(LinkSettings(max_info_receive=512, address_size=1))
    snrm = parse_frame(proposing.connect()[1:-1])
    assert snrm is not None and snrm.destination == b"\x03"
    assert parse_parameters(snrm.information)[6] == 512


def reply(link: HdlcLink, control: int, information: bytes = b"", *, segmented: bool = False):  # type: ignore[no-untyped-def]
    frame = parse_frame(build_frame(link.client, link.server, control, information, segmented=segmented)[1:-1])
    assert frame is not None
    return frame


def test_link_sequence_errors_and_refusals() -> None:
    link = HdlcLink()
    with pytest.raises(DlmsClientError) as refused:
        link.accept_ua(reply(link, DM))
    assert refused.value.reason is ClientProblem.CONNECTION_REFUSED
    with pytest.raises(DlmsClientError, match="control 0x10"):
        link.accept_ua(reply(link, 0x10))
    link.accept_ua(reply(link, UA))
    for control, reason in ((DM, ClientProblem.DISCONNECTED), (FRMR, ClientProblem.SEQUENCE_ERROR)):
        with pytest.raises(DlmsClientError) as caught:
            link.receive(reply(link, control))
        assert caught.value.reason is reason
    with pytest.raises(DlmsClientError, match="unexpected control"):
        link.receive(reply(link, 0x05 | 0x10))
    with pytest.raises(DlmsClientError, match="N\\(S\\) 3 received"):
        link.receive(reply(link, 0x36))
    link.send(b"\xc0")
    assert link.next_frame() is not None
    with pytest.raises(DlmsClientError, match="N\\(R\\) 0 acknowledges"):
        link.receive(reply(link, 0x10, b"\xe6\xe7\x00\xc4"))
    with pytest.raises(DlmsClientError, match="N\\(R\\) 3 acknowledges"):
        link.receive(reply(link, 0x71))


def test_link_segments_both_ways() -> None:
    link = HdlcLink()
    link.accept_ua(reply(link, UA, bytes.fromhex("8180080602000A0502000A")))
    assert link.negotiated.max_info_transmit == 10 and link.negotiated.max_info_receive == 10
    link.send(bytes(range(20)))  # 23 bytes with the LLC: three segments of at most 10
    sent = []
    while (frame := link.next_frame()) is not None:
        parsed = parse_frame(frame[1:-1])
        assert parsed is not None
        sent.append(parsed)
        assert link.receive(reply(link, 0x01 | ((len(sent) & 7) << 5) | 0x10)) is None  # the meter's RR
    assert [frame.segmented for frame in sent] == [True, True, False]
    assert b"".join(frame.information for frame in sent) == b"\xe6\xe6\x00" + bytes(range(20))
    first = reply(link, 0x10 | (3 << 5), b"\xe6\xe7\x00\xc4\x01", segmented=True)
    assert link.receive(first) is None
    rr = parse_frame((link.next_frame() or b"")[3:-1] and (link.retransmit())[1:-1])
    assert rr is not None and rr.control == 0x31  # RR, N(R) = 1
    assert link.receive(first) is None and link.repeated_frames == 1  # sent twice: dropped
    assert link.receive(reply(link, 0x12 | (3 << 5), b"\xc1\x00")) == b"\xc4\x01\xc1\x00"


# --- the client against the simulated meter, in-process -------------------------------------------------------


@dataclass
class Wire:
    """The client and the simulated meter's server joined by a fake line; ``now`` advances only on waits."""

    fault: str | None = None
    echo: bool = False  # an optical head that reflects what the client sends
    profile: str = "e450-hdlc"
    now: float = 100.0
    sent: list[bytes] = field(default_factory=list)
    actions: list[object] = field(default_factory=list)

    def __post_init__(self) -> None:
        faults = FaultPlan(self.fault, random.Random(1))
        profile = PROFILES[self.profile]
        self.registers = Registers(profile, MeterState(), faults, frozen=True)
        objects = CosemObjects(self.registers, submeters=profile.mbus_submeters)
        self.server = HdlcServer(Application(objects, faults), faults)
        self.reader = HdlcReader()

    def run(self, client: DlmsClient, limit: int = 2000) -> object:
        answers: list[bytes] = []
        for _ in range(limit):
            action = client.next_action(self.now)
            self.actions.append(action)
            if isinstance(action, Send):
                self.sent.append(action.data)
                if self.echo:
                    answers.append(action.data)
                for frame in self.reader.feed(action.data):
                    answers += self.server.on_frame(frame)
            elif isinstance(action, Wait):
                if answers:
                    self.now += 0.01
                    client.receive_data(b"".join(answers), self.now)
                    answers = []
                else:
                    self.now = max(self.now, action.deadline)
            elif isinstance(action, Done):
                return action.result
            else:
                assert isinstance(action, Configure | Drain)
        raise AssertionError("the client never finished")


FAST = ClientConfig(response_timeout=0.5, retries=1)


def test_a_read_of_registers_clock_and_name() -> None:
    wire = Wire()
    scalers: dict[Attribute, Scaling | None] = {}
    readout = wire.run(DlmsClient(FAST, scalers))
    assert readout.readings["1.8.0"].value == 12345678 and readout.readings["1.8.0"].unit == "Wh"  # type: ignore[attr-defined]
    assert readout.readings["32.7.0"].unit == "V" and readout.text("42.0.0") == "LGZ1030655933512"  # type: ignore[attr-defined]
    assert readout.text("0.9.2") == "261128" and readout.text("0.9.1") == "120000"  # type: ignore[attr-defined]
    assert wire.actions[0] == Configure(9600, 8, "N")
    assert len(scalers) == 20
    # every frame the client sent is one gurux reads as HDLC with a PDU it knows
    for frame in wire.sent:
        xml = translate(frame)
        assert re.search(r"<HDLC len=", xml) and "Error" not in xml, xml
    again = Wire()
    second = again.run(DlmsClient(FAST, scalers))
    assert sum(map(len, again.sent)) < sum(map(len, wire.sent))  # the scalers are not asked for again
    assert second.readings == readout.readings  # type: ignore[attr-defined]


def test_object_list_in_blocks_then_every_register_one_by_one() -> None:
    wire = Wire()
    config = ClientConfig(registers=(), list_size=1, max_pdu=0x100)
    readout = wire.run(DlmsClient(config))
    assert len(readout.readings) == 25  # type: ignore[attr-defined]
    assert any(b"\xc0\x02" in frame for frame in wire.sent)  # GET-Request-Next: the list came in blocks


def test_a_meter_without_an_object_list_is_read_for_the_default_registers() -> None:
    read = RegisterRead(registers=())
    read.begin(Association(Conformance.MULTIPLE_REFERENCES, 0x200), 10)
    request = read.next_request()
    assert request is not None and request.attributes == (OBJECT_LIST,)
    read.answered(request, (DataAccessResult.READ_WRITE_DENIED,))
    assert read.object_list == ObjectList(0, tuple((3, f"1-0:{code}") for code in DEFAULT_REGISTERS))
    asked = [attribute for request in iter(read.next_request, None) for attribute in request.attributes]
    assert register("1.8.0") in asked and scaler_of(register("14.7.0")) in asked


def test_lists_fit_the_meters_pdu() -> None:
    lists = Conformance.MULTIPLE_REFERENCES
    assert list_size(Association(lists, 0x1F4), 10) == 10
    assert list_size(Association(lists, 100), 10) == 7  # 26 bytes of header and ciphering, 10 per attribute
    assert list_size(Association(lists, 20), 10) == 1
    assert list_size(Association(0, 0x1F4), 10) == list_size(Association(lists, 0x1F4), 1) == 1


def test_what_an_object_list_offers_to_read() -> None:
    def entry(class_id: int, code: str) -> ObjectListEntry:
        return ObjectListEntry(class_id, 0, obis_bytes(code))

    listed = (
        entry(3, "1-0:13.7.0"),
        entry(4, "1-0:1.6.0"),
        entry(5, "1-0:1.4.0"),
        entry(1, "0-0:96.14.0"),
        entry(1, "0-0:96.1.0"),  # the serial number: not read each cycle
        entry(1, "0-0:43.1.0"),  # a frame counter: a security object
        entry(8, "0-0:1.0.0"),  # the clock: read anyway
        entry(7, "1-0:99.1.0"),  # a profile: read on its own
    )
    assert [obis_text(value.obis) for value in registers_offered(listed)] == [
        "1-0:13.7.0",
        "1-0:1.6.0",
        "1-0:1.4.0",
        "0-0:96.14.0",
    ]
    assert scaler_of(register("1.4.0", 5)) == Attribute(5, obis_bytes("1.4.0"), 4)
    assert scaler_of(register("96.14.0", 1)) is None
    tariff = register_dataset(register("0-0:96.13.0", 1), Data(VISIBLE_STRING, "Hello"), None)
    assert tariff is not None and tariff.values[0].value == "Hello" and tariff.number is None
    assert register_dataset(register("0-0:96.13.0", 1), Data(OCTET_STRING, b"\x00\x01"), None) is None
    assert register_dataset(register("0-0:96.13.0", 1), Data(OCTET_STRING, b""), None) is None


def test_an_object_lists_m_bus_channels() -> None:
    """A sub-meter's reading, medium and serial number are read on channels 1-4 (docs/mbus-submeters.md §7): the
    M-Bus client's device type (attribute 9), not its value; the reading with its status and capture time."""

    def entry(class_id: int, code: str) -> ObjectListEntry:
        return ObjectListEntry(class_id, 0, obis_bytes(code))

    listed = (
        entry(4, "0-1:24.2.1"),
        entry(72, "0-1:24.1.0"),
        entry(1, "0-1:96.1.0"),  # channel 1's serial: the sub-meter's, read though 96.1.0 names the meter
        entry(1, "0-4:96.1.0"),
        entry(72, "0-5:24.1.0"),  # no channel 5
        entry(72, "1-1:24.1.0"),  # not an abstract object
        entry(1, "0-0:96.1.0"),  # the meter's own serial: read anyway, not each cycle as a register
    )
    assert [(value.class_id, obis_text(value.obis), value.attribute) for value in registers_offered(listed)] == [
        (4, "0-1:24.2.1", 2),
        (72, "0-1:24.1.0", 9),
        (1, "0-1:96.1.0", 2),
        (1, "0-4:96.1.0", 2),
    ]
    assert register("0-2:24.1.0", 72) == Attribute(72, obis_bytes("0-2:24.1.0"), 9)
    assert [value.attribute for value in reading_attributes(register("0-3:24.2.1", 4))] == [4, 5]
    assert reading_attributes(register("1-0:1.6.0", 4)) == reading_attributes(register("0-1:24.2.1", 3)) == ()


def test_the_sub_meters_are_read_as_a_push_carries_them() -> None:
    """The client puts the channels in the readout exactly as the push decoder does (raw number, its scaler_unit,
    status, capture time and the M-Bus client's device type in ``Readout.attributes``): ``submeters`` reads both the
    same, and the meter's own serial number stays its own."""
    wire = Wire(profile="e450-client-submeters")
    scalers: dict[Attribute, Scaling | None] = {}
    read = RegisterRead(registers=(), scalers=scalers)
    readout = wire.run(DlmsClient(ClientConfig(registers=()), scalers, read))
    assert isinstance(readout, Readout) and read.object_list is not None
    offered = read.object_list.registers
    assert {(72, "0-1:24.1.0"), (1, "0-1:96.1.0"), (4, "0-2:24.2.1")} <= set(offered)
    captured, gas_litres, water_litres = submeter_readings(wire.registers.now())
    gas, water = submeters(readout)
    assert gas == SubMeter(1, GAS_SERIAL, gas_litres, -3, "m³", 0, captured, Medium.GAS, 3)
    assert water == SubMeter(2, WATER_SERIAL, water_litres, -3, "m³", 0, captured, Medium.WATER, 7)
    assert readout.text("96.1.0") == METER_NUMBER and readout.text("42.0.0") == LOGICAL_DEVICE_NAME
    assert not is_submeter_serial(readout, "96.1.0")
    assert "24.2.1" not in readout.readings or readout.readings["24.2.1"].unit is None  # no unit: no generic sensor
    # the water meter as the Swiss push carries it (the gas meter's push has no scaler_unit): the same sub-meter
    frame = push_frame(MeterState(), wire.registers.now(), 1, layout="swiss-submeters", security="none")
    (push,) = PushDecoder().feed(frame)
    assert push.readout is not None and submeters(push.readout)[1] == water
    # the next cycle reads exactly what the object list offered, the scalers kept: the same sub-meters
    assert readout.attributes[("0-1:24.2.1", 3)] == Scaling("m³", -3)
    again = Wire(profile="e450-client-submeters")
    next_read = again.run(DlmsClient(ClientConfig(registers=(), offered=offered), scalers))
    assert isinstance(next_read, Readout) and submeters(next_read) == (gas, water)
    # gurux reads the requests as asking for the M-Bus client's device type and the reading's status and capture time
    asked = "".join(translate(frame) for frame in wire.sent)
    assert "Error" not in asked
    for class_id, name, attribute in (("0048", "0001180100FF", "09"), ("0004", "0002180201FF", "05")):
        descriptor = f'<ClassId Value="{class_id}" /><InstanceId Value="{name}" /><AttributeId Value="{attribute}" />'
        assert descriptor in re.sub(r">\s+<", "><", asked), descriptor
    scaler = scaler_of(register("0-1:24.2.1", 4))
    assert scaler is not None and any(scaler.encode() in frame for frame in wire.sent)
    assert not any(scaler.encode() in frame for frame in again.sent)  # read once, kept


def test_a_channel_the_meter_answers_in_part() -> None:
    """A refused device type, status or capture time, or a refused reading, leaves out what is missing and keeps
    the rest; a device type alone still counts as read."""
    offered = ((72, "0-1:24.1.0"), (4, "0-1:24.2.1"), (4, "0-2:24.2.1"), (72, "0-2:24.1.0"))
    read = RegisterRead(offered=offered)
    read.begin(Association(Conformance.MULTIPLE_REFERENCES, 0x200), 20)
    refused = DataAccessResult.OBJECT_UNDEFINED
    answers = {
        register("0-1:24.1.0", 72): refused,
        register("0-1:24.2.1", 4): Data(UINT32, 30545),
        scaler_of(register("0-1:24.2.1", 4)): Data(STRUCTURE, (Data(UINT8, 3), Data(UINT8, 13))),  # not a scaler
        Attribute(4, obis_bytes("0-1:24.2.1"), 4): refused,
        Attribute(4, obis_bytes("0-1:24.2.1"), 5): Data(OCTET_STRING, bytes.fromhex("07EA0305FF0E0000FF800000")),
        register("0-2:24.2.1", 4): refused,
        register("0-2:24.1.0", 72): Data(UINT8, 7),
    }
    for request in iter(read.next_request, None):
        read.answered(request, tuple(answers.get(attribute, refused) for attribute in request.attributes))
    readout = read.result(None, Timings())
    assert readout.attributes == {("0-1:24.2.1", 5): datetime(2026, 3, 5, 14, 0), ("0-2:24.1.0", 9): 7}
    gas, water = submeters(readout)
    assert gas == SubMeter(1, None, 30545, captured=datetime(2026, 3, 5, 14, 0))
    assert water == SubMeter(2, None, None, medium=Medium.WATER, device_type=7)
    only_medium = RegisterRead(offered=((72, "0-2:24.1.0"),))
    only_medium.begin(Association(0, 0x200), 1)
    for request in iter(only_medium.next_request, None):
        only_medium.answered(request, tuple(answers.get(attribute, refused) for attribute in request.attributes))
    assert only_medium.result(None, Timings()).attributes == {("0-2:24.1.0", 9): 7}


def test_long_answers_come_in_hdlc_segments() -> None:
    wire = Wire()
    client = DlmsClient(ClientConfig(list_size=30))
    readout = wire.run(client)
    assert len(readout.readings) == 18  # type: ignore[attr-defined]
    assert any(parse_frame(frame[1:-1]).control & 0x0F == 0x01 for frame in wire.sent)  # type: ignore[union-attr]


def test_lls_client_and_its_password() -> None:
    good = ClientConfig(link=LinkSettings(client=32), password="12345678")
    assert Wire().run(DlmsClient(good)).readings  # type: ignore[attr-defined]
    for password, reason in (("wrong", ClientProblem.WRONG_PASSWORD), (None, ClientProblem.AUTHENTICATION_REQUIRED)):
        wire = Wire()
        client = DlmsClient(ClientConfig(link=LinkSettings(client=32), password=password))
        with pytest.raises(DlmsClientError) as caught:
            wire.run(client)
        assert caught.value.reason is reason
        assert parse_frame(wire.sent[-1][1:-1]).control == 0x53  # type: ignore[union-attr]  # DISC, then the error
        assert client.state is State.FAILED
        with pytest.raises(DlmsClientError, match="already failed"):
            client.next_action(wire.now)


@pytest.mark.parametrize(
    ("fault", "config", "reason"),
    [
        ("no_ua", FAST, ClientProblem.NO_UA),
        ("aarq_rejected", FAST, ClientProblem.ASSOCIATION_REFUSED),
        ("ns_mismatch", FAST, ClientProblem.SEQUENCE_ERROR),
        ("vanish", FAST, ClientProblem.NO_ANSWER),
        ("block_interrupted", ClientConfig(registers=(), max_pdu=0x100), ClientProblem.BLOCK_TRANSFER_ABORTED),
    ],
)
def test_faults_end_in_their_error(fault: str, config: ClientConfig, reason: ClientProblem) -> None:
    wire = Wire(fault)
    with pytest.raises(DlmsClientError) as caught:
        wire.run(DlmsClient(config))
    assert caught.value.reason is reason


@pytest.mark.parametrize("fault", ["lost_frame", "repeated_frame"])
def test_lost_and_repeated_frames_are_recovered(fault: str) -> None:
    wire = Wire(fault)
    client = DlmsClient(FAST)
    readout = wire.run(client)
    assert readout.readings == Wire().run(DlmsClient(FAST)).readings  # type: ignore[attr-defined]
    if fault == "lost_frame":
        assert readout.timings.retried and client.link.retransmissions == 1  # type: ignore[attr-defined]
    else:
        assert client.link.repeated_frames == 1


def test_unknown_registers_only_is_object_unavailable() -> None:
    wire = Wire()
    with pytest.raises(DlmsClientError) as caught:
        wire.run(DlmsClient(ClientConfig(registers=("99.99.9", "1-0:1.8.0*7"))))
    assert caught.value.reason is ClientProblem.OBJECT_UNAVAILABLE
    partial = Wire().run(DlmsClient(ClientConfig(registers=("1.8.0", "99.99.9"))))
    assert set(partial.readings) == {"1.8.0"}  # type: ignore[attr-defined]


def test_a_meter_that_does_not_release_is_disconnected_anyway() -> None:
    wire = Wire()
    original = wire.server.application.handle
    wire.server.application.handle = (
        lambda client, apdu: (  # type: ignore[method-assign]
            b"\x61" if apdu[:1] == b"\x62" else original(client, apdu)
        )
    )
    assert wire.run(DlmsClient(FAST)).readings  # type: ignore[attr-defined]
    silent = Wire()
    handle = silent.server.on_frame
    silent.server.on_frame = lambda frame: (  # type: ignore[method-assign]
        [] if frame.information.startswith(b"\xe6\xe6\x00\x62") or frame.control == 0x53 else handle(frame)
    )
    assert silent.run(DlmsClient(FAST)).readings  # type: ignore[attr-defined]


def test_a_meter_that_refuses_the_connection() -> None:
    wire = Wire()
    wire.server.on_frame = lambda frame: [build_frame(frame.source, frame.destination, DM)]  # type: ignore[method-assign]
    with pytest.raises(DlmsClientError) as caught:
        wire.run(DlmsClient(FAST))
    assert caught.value.reason is ClientProblem.CONNECTION_REFUSED


def test_get_answers_the_client_cannot_use() -> None:
    """A list answer with the wrong count, and a block out of order: malformed and aborted."""
    for patch, reason in (
        (bytes.fromhex("C403C10100060000000A"), ClientProblem.MALFORMED),
        (bytes.fromhex("C402C100000000020003010203"), ClientProblem.BLOCK_TRANSFER_ABORTED),
    ):
        wire = Wire()
        original = wire.server.application.handle

        def handle(client: int, apdu: bytes, original=original, patch=patch) -> bytes:  # type: ignore[no-untyped-def]
            answer = original(client, apdu)
            return patch[:2] + answer[2:3] + patch[3:] if apdu[:1] == b"\xc0" else answer

        wire.server.application.handle = handle  # type: ignore[method-assign]
        with pytest.raises(DlmsClientError) as caught:
            wire.run(DlmsClient(FAST))
        assert caught.value.reason is reason


def test_frames_of_other_stations_are_ignored() -> None:
    client = DlmsClient(FAST)
    assert isinstance(client.next_action(0.0), Configure)
    assert isinstance(client.next_action(0.0), Send)
    assert isinstance(client.next_action(0.0), Drain)
    client.receive_data(build_frame(b"\x41", b"\x03", UA), 0.1)  # for client 32, not us
    assert isinstance(client.next_action(0.2), Wait)
    assert client.state is State.AWAIT_UA
    assert OBJECT_LIST.attribute == 2


def test_an_echoing_head_and_a_caller_that_asks_again() -> None:
    client = DlmsClient(FAST)
    readout = Wire(echo=True).run(client)
    assert readout.readings  # type: ignore[attr-defined]
    assert client.next_action(1000.0) == Done(readout)  # type: ignore[arg-type]
    assert client.state is State.DONE


def test_odd_apdus_at_the_edges() -> None:
    from custom_components.e450.wire.dlms.client.association import ber_fields
    from custom_components.e450.wire.dlms.client.get import parse_single_result

    assert parse_single_result(bytes.fromhex("0600000001")) == Data(UINT32, 1)
    for raw in ("06000000", "060000000100"):
        with pytest.raises(DlmsClientError, match="bytes"):
            parse_single_result(bytes.fromhex(raw))
    assert ber_fields(bytes.fromhex("A28103020100")) == {0xA2: bytes.fromhex("020100")}
    with pytest.raises(DlmsClientError, match="cut short"):
        ber_fields(b"\xa2")
    with pytest.raises(ValueError, match="BER field 0x80"):
        build_aarq(Mechanism.LOW, b"x" * 200)
