"""HLS-GMAC (mechanism 5) and glo-ciphered APDUs: our ciphering byte for byte against gurux-dlms, our AARQ and
requests deciphered by gurux's translator, a read of the simulated meter's management client in-process and over
a pty, gurux's secure client reading the same meter, every refusal and forgery ending in its error."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gurux_dlms.AesGcmParameter import AesGcmParameter
from gurux_dlms.enums import Security
from gurux_dlms.GXDLMSChippering import GXDLMSChippering
from gurux_dlms.GXSecure import GXSecure
from gurux_dlms.objects import GXDLMSData, GXDLMSRegister
import pytest

from custom_components.e450.wire.dlms.cipher import GloCiphered, decrypt, seal
from custom_components.e450.wire.dlms.client.association import Mechanism, build_aarq, initiate_request, parse_aare
from custom_components.e450.wire.dlms.client.client import DlmsClient, State
from custom_components.e450.wire.dlms.client.config import ClientConfig
from custom_components.e450.wire.dlms.client.cosem import register
from custom_components.e450.wire.dlms.client.driver import read_client, read_dlms, read_invocation_counter
from custom_components.e450.wire.dlms.client.get import get_normal
from custom_components.e450.wire.dlms.client.hdlc_link import LinkSettings
from custom_components.e450.wire.dlms.client.hls import DEFAULT_SYSTEM_TITLE, Ciphering, ClientKeys
from custom_components.e450.wire.errors import ClientProblem, DlmsClientError
from custom_components.e450.wire.framing.hdlc import build_frame, encode_address, parse_frame, server_address
from custom_components.e450.wire.port import close_port
from simulator.cosem_hls import SecureSession, ServerKeys
from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK, SYSTEM_TITLE

from .gurux_peer import GuruxReader, gurux_secure_client, open_hdlc, translate
from .test_dlms_client import Wire, aare

KEYS = ClientKeys(EXAMPLE_EK, EXAMPLE_AK)
CTOS = b"P6wRJ21F"
HLS = ClientConfig(link=LinkSettings(client=1), keys=KEYS, challenge=CTOS, response_timeout=0.5, retries=1)


def frame_of(apdu: bytes) -> bytes:
    return build_frame(server_address(1, 17), encode_address(1, 1), 0x10, b"\xe6\xe6\x00" + apdu)


def fails(reason: ClientProblem, call: Any, *args: Any) -> DlmsClientError:
    with pytest.raises(DlmsClientError) as caught:
        call(*args)
    assert caught.value.reason is reason, caught.value
    return caught.value


# --- our ciphering against gurux ---------------------------------------------------------------------------------


def test_glo_ciphered_requests_and_the_proof_match_gurux_byte_for_byte() -> None:
    ciphering = Ciphering(KEYS, CTOS, invocation_counter=7)
    plain = get_normal(2, register("1.8.0"))
    parameter = AesGcmParameter(0xC8, KEYS.system_title, EXAMPLE_EK, EXAMPLE_AK)
    parameter.security = Security.AUTHENTICATION_ENCRYPTION
    parameter.invocationCounter = 7
    assert ciphering.protect(plain) == bytes(GXDLMSChippering.encryptAesGcm(parameter, plain))
    stoc = bytes(range(16))
    secure = gurux_secure_client(1, EXAMPLE_EK, EXAMPLE_AK, KEYS.system_title)
    expected = bytes(GXSecure.secure(secure.settings, secure.ciphering, 8, stoc, KEYS.system_title))
    action = ciphering.reply_to_hls(1, stoc)  # the proof takes counter 8, the ciphered ACTION 9
    assert ciphering.invocation_counter == 10
    xml = translate(frame_of(action), (EXAMPLE_EK, EXAMPLE_AK, KEYS.system_title))
    assert f'<OctetString Value="{expected.hex().upper()}" />' in xml and '<MethodId Value="01" />' in xml


def test_gurux_deciphers_our_aarq_and_requests() -> None:
    ciphering = Ciphering(KEYS, CTOS)
    initiate = ciphering.protect(initiate_request(0xFFFF))
    aarq = build_aarq(Mechanism.HIGH_GMAC, CTOS, calling_title=KEYS.system_title, user_information=initiate)
    xml = translate(frame_of(aarq), (EXAMPLE_EK, EXAMPLE_AK, KEYS.system_title))
    assert '<ApplicationContextName Value="LN_WITH_CIPHERING" />' in xml
    assert '<MechanismName Value="HighGmac" />' in xml and '<CallingAPTitle Value="4534350000000000" />' in xml
    assert f'<CallingAuthentication Value="{CTOS.hex().upper()}" />' in xml
    assert "Security: 48" in xml and '<ProposedMaxPduSize Value="FFFF" />' in xml  # deciphered: SC 0x30
    get = translate(
        frame_of(ciphering.protect(get_normal(2, register("1.8.0")))), (EXAMPLE_EK, EXAMPLE_AK, KEYS.system_title)
    )
    assert "<glo_GetRequest" in get and '<InstanceId Value="0100010800FF" />' in get


# --- the client against the simulated meter, in-process -----------------------------------------------------------


def test_a_read_with_hls_gmac_every_request_ciphered() -> None:
    wire = Wire()
    client = DlmsClient(HLS)
    readout = wire.run(client)
    assert readout.readings == Wire().run(DlmsClient(ClientConfig())).readings  # type: ignore[attr-defined]
    apdus = [frame.information[3:] for raw in wire.sent if (frame := parse_frame(raw[1:-1])) and frame.information]
    assert apdus[0][:1] == b"\x60" and b"\xa6\x0a\x04\x08" + DEFAULT_SYSTEM_TITLE in apdus[0]
    assert apdus[1][:1] == b"\xcb"  # reply_to_HLS_authentication, glo-ciphered
    assert {apdu[0] for apdu in apdus[2:-1]} == {0xC8} and apdus[-1][:1] == b"\x62"  # GETs ciphered, RLRQ plain
    assert client.ciphering is not None and client.ciphering.invocation_counter == len(apdus)
    later = wire.run(DlmsClient(replace(HLS, challenge=None, invocation_counter=500)))
    assert later.readings == readout.readings  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        (replace(HLS, keys=ClientKeys(EXAMPLE_AK, EXAMPLE_AK)), ClientProblem.AUTHENTICATION_FAILED),  # wrong EK
        (replace(HLS, keys=ClientKeys(EXAMPLE_EK, EXAMPLE_EK)), ClientProblem.AUTHENTICATION_FAILED),  # wrong AK
        (replace(HLS, keys=None), ClientProblem.AUTHENTICATION_REQUIRED),  # the management client needs HLS
        (replace(HLS, keys=None, password="12345678"), ClientProblem.ASSOCIATION_REFUSED),  # LLS is not enough
        (replace(HLS, link=LinkSettings(client=16)), ClientProblem.ASSOCIATION_REFUSED),  # the public client has none
    ],
)
def test_wrong_keys_and_wrong_clients(config: ClientConfig, reason: ClientProblem) -> None:
    wire = Wire()
    client = DlmsClient(config)
    fails(reason, wire.run, client)
    assert parse_frame(wire.sent[-1][1:-1]).control == 0x53  # type: ignore[union-attr]  # DISC, then the error
    assert client.state is State.FAILED


def test_a_meter_that_rejects_our_proof_or_forges_its_own() -> None:
    wire = Wire()
    client = DlmsClient(HLS)
    assert client.ciphering is not None
    client.ciphering._gmac = lambda title, counter, challenge: b"\x10" + bytes(16)  # type: ignore[method-assign]
    error = fails(ClientProblem.AUTHENTICATION_FAILED, wire.run, client)
    assert "action result 3" in str(error)  # read-write-denied
    forged = Wire()
    original = SecureSession.reply

    def reply(self: SecureSession, action: bytes) -> bytes:
        answer = original(self, action)
        return answer[:-1] + bytes([answer[-1] ^ 1])

    handler = forged.server.application._ciphered

    def ciphered(secure: SecureSession, apdu: bytes) -> bytes:
        if apdu[:1] == b"\xcb":  # the ACTION: the meter's proof spoilt
            return secure.seal(reply(secure, secure.open(apdu) or b""))
        return handler(secure, apdu)

    forged.server.application._ciphered = ciphered  # type: ignore[method-assign]
    error = fails(ClientProblem.AUTHENTICATION_FAILED, forged.run, DlmsClient(HLS))
    assert "does not match the keys" in str(error)


def test_the_meter_refuses_what_does_not_come_ciphered_and_authenticated() -> None:
    wire = Wire()
    application = wire.server.application
    keys, title = ServerKeys(), DEFAULT_SYSTEM_TITLE
    secure = SecureSession(keys, title, CTOS)
    ciphering = Ciphering(KEYS, CTOS)
    ciphering.server_title = SYSTEM_TITLE
    application.association, application.secure = object(), secure  # type: ignore[assignment]
    get = get_normal(1, register("1.8.0"))
    assert application.handle(1, get) == b"\xd8\x01\x05"  # in clear: not deciphered
    assert application.handle(1, ciphering.protect(get)) == b"\xd8\x01\x01"  # HLS still pending
    replayed = Ciphering(KEYS, CTOS)
    assert application.handle(1, replayed.protect(get)) == b"\xd8\x01\x05"  # counter 0 again: a replay
    wrong_method = ciphering.protect(bytes.fromhex("C301C1000F0000280000FF0200"))
    assert ciphering.unprotect(application.handle(1, wrong_method))[3] == 4  # object-undefined
    no_proof = ciphering.protect(bytes.fromhex("C301C1000F0000280000FF0100"))
    assert ciphering.unprotect(application.handle(1, no_proof))[3] == 0xFA  # other-reason
    assert secure.open(b"\xc8") is None and secure.open(b"\xc8\x05\x30\x00\x00\x00\x09") is None
    assert secure.seal(b"\xd8\x01\x02") == b"\xd8\x01\x02"
    fresh = Wire().server.application
    aarq = build_aarq(Mechanism.HIGH_GMAC, CTOS, calling_title=title, user_information=Ciphering(KEYS, CTOS).protect(
        initiate_request(0xFFFF)))  # fmt: skip
    assert b"\xa3\x05\xa1\x03\x02\x01\x0e" in fresh.handle(1, aarq)  # accepted, authentication pending
    bad_context = aarq.replace(b"\x08\x01\x03", b"\x08\x01\x01")
    assert b"\xa2\x03\x02\x01\x01\xa3\x05\xa1\x03\x02\x01\x02" in fresh.handle(1, bad_context)
    scrambled = aarq[:-1] + bytes([aarq[-1] ^ 1])
    assert b"\xa3\x05\xa1\x03\x02\x01\x0d" in fresh.handle(1, scrambled)  # authentication failure


# --- client-side checks of what the meter sends -----------------------------------------------------------------


def meter_side() -> tuple[Ciphering, SecureSession]:
    ciphering = Ciphering(KEYS, CTOS)
    ciphering.server_title = SYSTEM_TITLE
    return ciphering, SecureSession(ServerKeys(), DEFAULT_SYSTEM_TITLE, CTOS)


def test_what_the_client_refuses_in_a_ciphered_association() -> None:
    ciphering, meter = meter_side()
    answer = meter.seal(bytes.fromhex("C401C100060000000A"))
    assert ciphering.unprotect(answer) == bytes.fromhex("C401C100060000000A")
    assert "a replay" in str(fails(ClientProblem.AUTHENTICATION_FAILED, ciphering.unprotect, answer))
    tampered = meter.seal(bytes.fromhex("C401C100060000000A"))
    fails(ClientProblem.AUTHENTICATION_FAILED, ciphering.unprotect, tampered[:-1] + bytes([tampered[-1] ^ 1]))
    encrypted_only = bytearray(meter.seal(bytes.fromhex("C401C100060000000A")))
    encrypted_only[2] = 0x20
    fails(ClientProblem.AUTHENTICATION_FAILED, ciphering.unprotect, bytes(encrypted_only))
    assert ciphering.unprotect(b"\xd8\x01\x02") == b"\xd8\x01\x02"  # a refusal may come in clear
    for clear in (bytes.fromhex("C401C100060000000A"), b"", b"\xcc\x03\x30\x00", b"\xcc\x85", b"\xdb\x07"):
        fails(ClientProblem.MALFORMED, ciphering.unprotect, clear)
    mislabelled = meter.seal(bytes.fromhex("C701C100"))
    fails(ClientProblem.MALFORMED, ciphering.unprotect, b"\xcc" + mislabelled[1:])
    body = meter.seal(bytes.fromhex("C401C100060000000B"))[1:]
    general = b"\xdb\x08" + SYSTEM_TITLE + body
    assert ciphering.unprotect(general).endswith(b"\x0b")
    stranger = b"\xdb\x08" + bytes(8) + body
    fails(ClientProblem.AUTHENTICATION_FAILED, ciphering.unprotect, stranger)
    fails(ClientProblem.MALFORMED, ciphering.initiate_response, b"short", b"\x28")


def test_the_meters_reply_to_our_challenge_is_checked() -> None:
    ciphering, meter = meter_side()
    meter.stoc = b"0123456789abcdef"
    action = meter.open(Ciphering(KEYS, CTOS, 100).reply_to_hls(1, meter.stoc))
    assert action is not None
    ciphering.check_reply(meter.seal(meter.reply(action)), 1)
    for reply, reason in (
        (b"\xc7\x01\xc1\x00\x00", ClientProblem.AUTHENTICATION_FAILED),  # success, but no proof
        (b"\xc7\x01\xc1\x00\x01\x00\x09\x02\x10\x00", ClientProblem.AUTHENTICATION_FAILED),  # not SC ‖ IC ‖ GMAC
        (b"\xc7\x01\xc1\x00\x01\x00\x09\x11\x10", ClientProblem.MALFORMED),  # cut short
        (b"\xc7\x01\xc2\x00", ClientProblem.MALFORMED),  # another invoke id
        (b"\xc4\x01\xc1\x00", ClientProblem.MALFORMED),
        (b"\xd8\x01\x02", ClientProblem.REJECTED),
    ):
        fails(reason, ciphering.check_reply, meter.seal(reply), 1)


def test_keys_challenges_and_counters_are_checked() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        ClientKeys(b"short", EXAMPLE_AK)
    with pytest.raises(ValueError, match="8 bytes"):
        ClientKeys(EXAMPLE_EK, EXAMPLE_AK, b"E45")
    with pytest.raises(ValueError, match="8-32"):
        Ciphering(KEYS, b"1234567")
    iv = SYSTEM_TITLE + bytes(4)
    encrypted = seal(EXAMPLE_EK, EXAMPLE_AK, iv, 0x20, b"\x0f plain")  # encryption only: what pushes use
    assert decrypt(GloCiphered(SYSTEM_TITLE, 0x20, 0, encrypted), EXAMPLE_EK, None) == (b"\x0f plain", None)
    _, meter = meter_side()
    long_list = Ciphering(KEYS, CTOS).protect(b"\xc0\x03\xc1" + bytes(200))  # a length of two bytes
    assert meter.open(long_list) == b"\xc0\x03\xc1" + bytes(200)
    relabelled = Ciphering(KEYS, CTOS, 5).protect(b"\xc0\x01\xc1")
    assert meter.open(b"\xcb" + relabelled[1:]) is None  # a GET dressed as an ACTION
    spent = Ciphering(KEYS, CTOS, 0x1_0000_0000)
    fails(ClientProblem.AUTHENTICATION_FAILED, spent.protect, b"\xc0")
    no_challenge = aare(0, 14, bytes.fromhex("0800065F1F040000121401F40007"))
    fails(ClientProblem.MALFORMED, parse_aare, no_challenge, Mechanism.HIGH_GMAC, lambda title, raw: raw)
    refused = aare(1, 13, bytes.fromhex("0E010600"))
    fails(ClientProblem.AUTHENTICATION_FAILED, parse_aare, refused, Mechanism.HIGH_GMAC)


# --- over a pty: our client and gurux's secure client (the command line: test_dlms_server.py) -------------


async def test_our_client_and_gurux_read_the_management_client_over_a_pty(sim_factory: Any) -> None:
    """Both clients ciphered, one after the other: each starts above the frame counter the meter keeps for the
    management client (0-0:43.1.0, read by the public client first), as a real meter requires."""
    async with sim_factory("e450-hdlc") as sim:
        readout = await read_dlms(sim.port, replace(HLS, challenge=None, response_timeout=0.3))
        used = await read_invocation_counter(sim.port, HLS)
        serial = await open_hdlc(sim.port)
        try:
            secure = gurux_secure_client(1, EXAMPLE_EK, EXAMPLE_AK)
            secure.ciphering.invocationCounter = used + 1
            reader = GuruxReader(serial, secure)
            await reader.connect()
            name = GXDLMSData("0.0.42.0.0.255")
            await reader.read(name, 2)
            energy = GXDLMSRegister("1.0.1.8.0.255")
            await reader.read(energy, 3)
            await reader.read(energy, 2)
            objects = await reader.objects()  # in blocks, each block ciphered
            await reader.close()
        finally:
            await close_port(serial)
    assert readout.readings["1.8.0"].unit == "Wh" and readout.text("42.0.0") == "LGZ1030655933512"
    assert bytes(name.value) == b"LGZ1030655933512" and energy.value == readout.readings["1.8.0"].value
    assert energy.unit == 30 and len(objects) == 31 and used > 0


async def test_a_counter_below_the_meters_is_refused_and_the_frame_counter_says_where_to_start(
    sim_factory: Any,
) -> None:
    config = replace(HLS, challenge=None, response_timeout=0.3)
    async with sim_factory("e450-hdlc") as sim:
        first = await read_client(sim.port, replace(config, invocation_counter=100))
        assert first.invocation_counter is not None and first.invocation_counter > 100
        with pytest.raises(DlmsClientError) as refused:  # a restart that forgot the counter starts at 0 again
            await read_dlms(sim.port, config)
        used = await read_invocation_counter(sim.port, config)
        assert used == first.invocation_counter - 1  # the last the meter accepted
        again = await read_client(sim.port, replace(config, invocation_counter=used + 1))
        with pytest.raises(DlmsClientError) as missing:
            await read_invocation_counter(sim.port, config, "0-0:43.1.7")
    assert refused.value.reason is ClientProblem.AUTHENTICATION_FAILED
    assert again.readout.readings["1.8.0"].unit == "Wh"
    assert missing.value.reason is ClientProblem.OBJECT_UNAVAILABLE
