"""Our DLMS push decoder against an independent one: gurux-dlms (GPL-2.0), a test-only dependency that the
integration never imports.

For every capture, gurux reads the bytes the way a DLMS client of its own would (HDLC or M-Bus frames, segments,
general-block-transfer, deciphering, the data-notification) and must find what our decoder finds: the same invoke-id
and header date-time, and the same A-XDR value tree (same types, same numbers, same octet strings). Where a push is
ciphered, gurux deciphers it too and must get our plaintext; enciphering that plaintext again with gurux must give
back the captured bytes, authentication tag included where the capture's keys are published.

A capture gurux cannot read in full is listed in :data:`GURUX_LIMITS` with the reason; the test then checks that
gurux indeed fails there (so the list cannot go stale) and compares at the deepest level gurux can read.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
import struct
from typing import Any
from xml.etree import ElementTree

from gurux_dlms import AesGcmParameter, GXByteBuffer, GXCiphering, GXDLMSSettings, GXDLMSTranslator, GXReplyData
from gurux_dlms.enums import Command, DataType, DateTimeSkips, InterfaceType, Security, TranslatorOutputType
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.secure import GXDLMSSecureClient
from gurux_dlms.TranslatorSimpleTags import TranslatorSimpleTags
import pytest

from custom_components.e450.wire import PushDecoder
from custom_components.e450.wire.detect import peek_security
from custom_components.e450.wire.dlms.apdu import GLO_CIPHERING, parse_notification
from custom_components.e450.wire.dlms.axdr import ARRAY, STRUCTURE, VISIBLE_STRING, Data, decode_all
from custom_components.e450.wire.dlms.cipher import decrypt, parse_glo_ciphered
from custom_components.e450.wire.framing import Framing

from .dlms_vectors import Vector, all_vectors, vector

ROOT = Path(__file__).parent.parent

# What gurux-dlms 1.0.203 cannot read, and why. "apdu": it cannot read the frames, so it is given the APDU our
# framing assembled; "body": nor the notification, so it is given the A-XDR body our notification parser found;
# "none": there is nothing either decoder can read.
GURUX_LIMITS: dict[str, tuple[str, str]] = {
    "kaifa_no_hdlc_positional_list1_list2": (
        "body",
        "HDLC frames with control 0x10 (an I-frame) to address 0: gurux's client takes only UI frames (0x03, 0x13)"
        " addressed to it as pushes; and its data-notification parser reads the header date-time as a length byte"
        " plus data, so the octet-string form 09 0C of this Kaifa firmware becomes 9 bytes and then an invalid type",
    ),
    "sagemcom_at_mbus_encrypted_length_quirk": (
        "apdu",
        "the first M-Bus frame's L field holds only the low byte of its length (0x01 for 257 bytes): gurux takes the"
        " frame as 1 byte long and the ciphered APDU as an invalid command",
    ),
    "e450_at_wienernetze_ir_encrypted_nokey": (
        "none",
        "the key is not published: neither decoder can decipher the pushes (their plaintext bodies, from other"
        " pushes, are e450_at_wienernetze_plaintext_bodies)",
    ),
    "czech_xt211_egd_raw_spec_example": (
        "none",
        "each element's capture-object descriptor travels without A-XDR tags: no generic A-XDR reader, gurux's or"
        " ours, reads the body; our Czech reader does (tests/test_czech.py)",
    ),
    "greenbook_glo_cipher_get_request": (
        "none",
        "a get-request, not a push: only the deciphering (plaintext and re-enciphered bytes) is compared",
    ),
}

Tree = tuple[int, Any]  # (A-XDR tag, value): a tuple of trees for arrays and structures


def our_tree(data: Data) -> Tree:
    """Our decoded value as a plain tree; strings as the bytes they were sent as."""
    if data.tag in (ARRAY, STRUCTURE):
        return data.tag, tuple(our_tree(item) for item in data.items)
    if isinstance(data.value, str):
        return data.tag, data.value.encode("latin-1" if data.tag == VISIBLE_STRING else "utf-8")
    return data.tag, data.value


_GURUX_TAGS: dict[int, str] = {}
TranslatorSimpleTags.getDataTypeTags(_GURUX_TAGS)
GURUX_TYPES = {name: key - _GXCommon.DATA_TYPE_OFFSET for key, name in _GURUX_TAGS.items()}  # "UInt32" → 6
_SIGNED = {DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64}
_UNSIGNED = {DataType.UINT8, DataType.UINT16, DataType.UINT32, DataType.UINT64, DataType.ENUM, DataType.BCD}
_RAW = {DataType.OCTET_STRING, DataType.STRING, DataType.STRING_UTF8, DataType.DATETIME, DataType.DATE, DataType.TIME}


def gurux_tree(element: ElementTree.Element) -> Tree:
    """A value of gurux's XML translation (numbers and strings in hex) as a plain tree."""
    tag = GURUX_TYPES[element.tag]
    text = element.get("Value", "")
    if tag in (DataType.ARRAY, DataType.STRUCTURE):
        children = tuple(gurux_tree(child) for child in element)
        assert len(children) == int(element.get("Qty", "0"), 16), ElementTree.tostring(element)
        return tag, children
    if tag in _UNSIGNED:
        return tag, int(text, 16)
    if tag in _SIGNED:
        value, bits = int(text, 16), 4 * len(text)
        return tag, value - (1 << bits) if value >> (bits - 1) else value
    if tag in _RAW:
        return tag, bytes.fromhex(text)
    if tag in (DataType.FLOAT32, DataType.FLOAT64):
        return tag, struct.unpack(">f" if tag == DataType.FLOAT32 else ">d", bytes.fromhex(text))[0]
    if tag == DataType.BOOLEAN:
        return tag, text == "True"
    if tag == DataType.BITSTRING:
        return tag, int(text.ljust(-(-len(text) // 8) * 8, "0"), 2).to_bytes(-(-len(text) // 8), "big")
    assert tag == DataType.NONE, element.tag
    return tag, None


def gurux_body(body: bytes) -> Tree:
    """gurux's reading of one A-XDR value."""
    translator = GXDLMSTranslator(TranslatorOutputType.SIMPLE_XML)
    translator.showStringAsHex = True
    return gurux_tree(ElementTree.fromstring(translator.dataToXml(GXByteBuffer(body))))


@dataclass(frozen=True)
class Notification:
    """One data-notification as a decoder read it."""

    invoke_id: int
    time: datetime | None
    body: Tree


# --- ours ------------------------------------------------------------------------------------------------------


def keys(source: Vector) -> tuple[bytes | None, bytes | None]:
    return source.key("EK"), source.key("AK")


def our_apdus(source: Vector) -> list[bytes]:
    """The APDUs of the capture's complete pushes as our decoder received them (ciphered if they were)."""
    decoder = PushDecoder(*keys(source))
    if source.header["Kind"] == "apdu":
        return [decoder.decode_apdu(source.data).raw]
    return [push.raw for line in source.lines for push in decoder.feed(line) if push.raw]


def our_plaintext(apdu: bytes, source: Vector) -> bytes:
    return decrypt(parse_glo_ciphered(apdu), *keys(source))[0] if apdu[0] == GLO_CIPHERING else apdu


def our_notification(apdu: bytes, source: Vector) -> Notification:
    plaintext = our_plaintext(apdu, source)
    notification = parse_notification(plaintext, decrypted=apdu[0] == GLO_CIPHERING)
    return Notification(notification.invoke_id, notification.datetime, our_tree(decode_all(notification.body)))


def body_offset(plaintext: bytes) -> int:
    """Where the body of a data-notification starts: after 0F, the invoke-id and the header date-time (absent,
    0C + 12 bytes, or the octet-string form 09 0C + 12 bytes)."""
    return {0x00: 6, 0x0C: 18, 0x09: 19}[plaintext[5]]


# --- gurux ------------------------------------------------------------------------------------------------------


def gurux_client(interface: InterfaceType, source: Vector) -> GXDLMSSecureClient:
    client = GXDLMSSecureClient(True, interfaceType=interface)
    ek, ak = keys(source)
    if ek is not None:
        client.settings.cipher.blockCipherKey = bytearray(ek)
    if ak is not None:
        client.settings.cipher.authenticationKey = bytearray(ak)
    return client


def gurux_time(stamp: Any) -> datetime | None:
    """gurux's date-time as the meter's wall clock, ``None`` when a field is not specified."""
    whole = DateTimeSkips.YEAR | DateTimeSkips.MONTH | DateTimeSkips.DAY
    whole |= DateTimeSkips.HOUR | DateTimeSkips.MINUTE | DateTimeSkips.SECOND
    if stamp is None or stamp.skip & whole:
        return None
    value: datetime = stamp.value
    return value.replace(tzinfo=None)


def gurux_read(chunks: list[bytes], client: GXDLMSSecureClient) -> list[Notification]:
    """The data-notifications gurux's client finds in ``chunks``, fed one at a time as they arrived."""
    found = []
    reply, notify = GXReplyData(), GXReplyData()
    for chunk in chunks:
        buffer = GXByteBuffer(chunk)
        while True:
            start = buffer.position
            client.getData(buffer, reply, notify)
            if notify.complete and not notify.isMoreData() and notify.command == Command.DATA_NOTIFICATION:
                notify.data.position = 0
                body = gurux_body(bytes(notify.data.array()))
                invoke_id = (notify.invokeId or reply.invokeId) & 0x00FFFFFF  # the long-invoke-id-and-priority
                found.append(Notification(invoke_id, gurux_time(notify.time), body))
                notify.clear()
                reply.clear()
            if buffer.position in (start, len(buffer)):
                break
    return found


def gurux_stream(source: Vector) -> list[Notification]:
    interface = {"hdlc-stream": InterfaceType.HDLC, "mbus-stream": InterfaceType.WIRED_MBUS}[source.header["Kind"]]
    return gurux_read(list(source.lines), gurux_client(interface, source))


def gurux_apdu(apdu: bytes, source: Vector) -> list[Notification]:
    return gurux_read([apdu], gurux_client(InterfaceType.PDU, source))


def gurux_decipher(apdu: bytes, source: Vector) -> tuple[bytes, AesGcmParameter]:
    """gurux's plaintext of a general-glo-ciphering APDU (it does not check the tag: see the re-enciphering)."""
    ek, ak = keys(source)
    settings = GXDLMSSettings(True, None)
    settings.cipher = GXCiphering(b"ABCDEFGH")
    parameter = AesGcmParameter(0, None, bytearray(ek or bytes(16)), bytearray(ak or bytes(16)))
    return bytes(GXCiphering.decrypt(settings, parameter, GXByteBuffer(apdu))), parameter


def gurux_encipher(plaintext: bytes, parameter: AesGcmParameter, source: Vector) -> bytes:
    """gurux's general-glo-ciphering APDU of ``plaintext`` with the system title, security and invocation counter
    gurux read from the captured APDU."""
    ek, ak = keys(source)
    again = AesGcmParameter(Command.GENERAL_GLO_CIPHERING, parameter.systemTitle, bytearray(ek or bytes(16)))
    again.authenticationKey = bytearray(ak or bytes(16))
    again.security, again.securitySuite = parameter.security, parameter.securitySuite
    again.invocationCounter = parameter.invocationCounter
    return bytes(GXCiphering.encrypt(again, bytearray(plaintext)))


def check_ciphering(apdu: bytes, source: Vector) -> None:
    """gurux deciphers to our plaintext, and enciphering it again gives back the captured APDU."""
    ours = our_plaintext(apdu, source)
    theirs, parameter = gurux_decipher(apdu, source)
    assert theirs == ours
    ciphered = parse_glo_ciphered(apdu)
    assert (bytes(parameter.systemTitle), parameter.invocationCounter) == (
        ciphered.system_title,
        ciphered.invocation_counter,
    )
    again = gurux_encipher(ours, parameter, source)
    if parameter.security == Security.AUTHENTICATION_ENCRYPTION and keys(source)[1] is None:
        assert again[:-12] == apdu[:-12]  # no published authentication key: the tag cannot be computed
    else:
        assert again == apdu  # the tag too: gurux computes the one our decoder verified


def gcm_apdu(source: Vector) -> bytes:
    """A ``gcm-ciphertext`` capture (ciphertext and tag, IV and AAD in the header) as the APDU it came in."""
    iv, aad = bytes.fromhex(source.header["IV"]), bytes.fromhex(source.header["AAD"])
    content = aad[:1] + iv[8:] + source.data  # security control, invocation counter, ciphertext and tag
    assert len(content) < 0x80  # a one-byte A-XDR length
    return bytes([GLO_CIPHERING, len(iv[:8])]) + iv[:8] + bytes([len(content)]) + content


# --- the cross-check --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", all_vectors())
def test_gurux_reads_every_capture_as_we_do(name: str) -> None:
    source = vector(name)
    kind = source.header["Kind"]
    limit = GURUX_LIMITS.get(name, ("stream", ""))[0]
    if kind == "notification-body":
        for line in source.lines:
            assert gurux_body(line) == our_tree(decode_all(line))
        return
    apdus = [gcm_apdu(source)] if kind == "gcm-ciphertext" else our_apdus(source)
    if limit == "none":
        check_none(name, source, apdus)
        return
    assert apdus, "no push decoded: nothing was compared"
    for apdu in apdus:
        if apdu[0] == GLO_CIPHERING:
            check_ciphering(apdu, source)
    ours = [our_notification(apdu, source) for apdu in apdus]
    if kind in ("hdlc-stream", "mbus-stream"):
        if limit == "stream":
            assert gurux_stream(source) == ours
            return
        assert fails(lambda: gurux_stream(source), ours), "gurux now reads the frames: update GURUX_LIMITS"
    if limit in ("stream", "apdu"):  # an APDU capture, or frames gurux cannot read
        assert [notification for apdu in apdus for notification in gurux_apdu(apdu, source)] == ours
        return
    assert limit == "body"
    for apdu, notification in zip(apdus, ours, strict=True):
        assert fails(lambda apdu=apdu: gurux_apdu(apdu, source), [notification]), "gurux now reads the APDU"
        plaintext = our_plaintext(apdu, source)
        assert gurux_body(plaintext[body_offset(plaintext) :]) == notification.body


def fails(read: Callable[[], list[Notification]], ours: list[Notification]) -> bool:
    """gurux raises, or reads something else than we do: the listed limit still holds."""
    try:
        return read() != ours
    except Exception:
        return True


def check_none(name: str, source: Vector, apdus: list[bytes]) -> None:
    if name == "greenbook_glo_cipher_get_request":
        (apdu,) = apdus
        check_ciphering(apdu, source)
        assert our_plaintext(apdu, source)[0] == 0xC0  # a get-request: no notification to compare
        return
    if name == "czech_xt211_egd_raw_spec_example":
        (apdu,) = apdus
        (push,) = PushDecoder(framing=Framing.RAW).feed(apdu)
        assert push.error is None and push.info.layout == "czech"
        assert fails(lambda: gurux_apdu(apdu, source), [])  # gurux reads the elements as tagged values
        return
    assert name == "e450_at_wienernetze_ir_encrypted_nokey"
    pushes = PushDecoder().feed(source.data)
    assert pushes and {push.error.reason for push in pushes if push.error} == {"no_key"}
    found = []
    for line in source.lines:
        try:
            found.extend(gurux_stream(Vector(name, source.header, (line,))))
        except ValueError:  # gurux deciphers with its default key and fails on the garbage
            continue
    assert not found


def test_a_disagreement_fails() -> None:
    """The comparison sees a wrong number, a wrong type and a wrong octet string."""
    source = vector("e450_at_netzburgenland_encrypted_ek_ak")
    (ours,) = [our_notification(apdu, source) for apdu in our_apdus(source)]
    (theirs,) = gurux_stream(source)
    assert theirs == ours
    tag, items = ours.body
    for index, changed in ((0, (items[0][0], items[0][1] + 1)), (6, (0x05, items[6][1])), (13, (9, b"30137180"))):
        mutated = Notification(ours.invoke_id, ours.time, (tag, (*items[:index], changed, *items[index + 1 :])))
        assert mutated != theirs


def test_the_limits_are_captures_that_exist() -> None:
    assert set(GURUX_LIMITS) <= set(all_vectors())


def test_gurux_is_imported_by_tests_only() -> None:
    """GPL-2.0: a test oracle, never a run-time dependency of the integration, the simulator or the tools."""
    for folder in ("custom_components", "simulator", "scripts", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                assert not any(name.split(".")[0] == "gurux_dlms" for name in names), path


@pytest.mark.parametrize("security", [Security.ENCRYPTION, Security.AUTHENTICATION_ENCRYPTION])
def test_a_general_ded_ciphered_push_enciphered_by_gurux_decodes(security: Security) -> None:
    """No public capture uses general-ded-ciphering (0xDC) for a push: gurux enciphers a real clear push that
    way, and our decoder must read the same registers as from the clear push (and check the tag)."""
    source = vector("aidon_no_hdlc_obis_scaler_list3")
    (clear,) = PushDecoder().feed(source.lines[0])
    assert clear.readout is not None
    plaintext = clear.raw
    ek, ak, title = bytes(range(16)), bytes(range(16, 32)), b"AMT\x00\x01\x02\x03\x04"
    parameter = AesGcmParameter(Command.GENERAL_DED_CIPHERING, bytearray(title), bytearray(ek))
    parameter.authenticationKey = bytearray(ak)
    parameter.security, parameter.invocationCounter = security, 0x1234
    apdu = bytes(GXCiphering.encrypt(parameter, bytearray(plaintext)))
    assert apdu[0] == 0xDC
    assert peek_security(apdu) == (True, title)
    (push,) = PushDecoder(ek, ak, framing=Framing.RAW).feed(apdu)
    assert push.error is None and push.readout is not None
    assert push.readout.readings == clear.readout.readings
    assert push.info.invocation_counter == 0x1234 and push.info.system_title == title
    (wrong,) = PushDecoder(bytes(16), ak, framing=Framing.RAW).feed(apdu)  # another key: nothing is published
    assert wrong.readout is None and wrong.error is not None
