"""Opening and closing a COSEM association: AARQ, AARE, RLRQ, RLRE (IEC 62056-5-3 §6 / Green Book §9.3;
docs/dlms-client.md §2).

The ACSE APDUs are BER-encoded (ISO 8650 / ITU-T X.227), the xDLMS InitiateRequest and InitiateResponse inside
their user-information field A-XDR-encoded. Only what a reading client needs: logical or short name referencing
(the application context proposed, and the one the AARE names), no security, low level security (a password), or
HLS-GMAC with ciphering over logical names (the fields it adds here, the ciphering in :mod:`.hls`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum
from typing import Final

from ...errors import ClientProblem, DlmsClientError

AARQ: Final = 0x60
AARE: Final = 0x61
RLRQ: Final = 0x62
RLRE: Final = 0x63
INITIATE_REQUEST: Final = 0x01
INITIATE_RESPONSE: Final = 0x08
CONFIRMED_SERVICE_ERROR: Final = 0x0E
DLMS_VERSION: Final = 6
# joint-iso-ctt(2) country(16) country-name(756) identified-organization(5) DLMS-UA(8): 60 85 74 05 08
_DLMS_UA: Final = bytes.fromhex("6085740508")
APPLICATION_CONTEXT_LN: Final = 1  # logical name referencing, no ciphering (…08 01 01)
APPLICATION_CONTEXT_SN: Final = 2  # short name referencing, no ciphering (…08 01 02)
APPLICATION_CONTEXT_LN_CIPHERED: Final = 3  # logical name referencing with ciphering (…08 01 03)
APPLICATION_CONTEXT_SN_CIPHERED: Final = 4  # short name referencing with ciphering (…08 01 04): recognised only


class Referencing(StrEnum):
    """How the client names what it reads: logical names (GET on class, OBIS, attribute) or short names (READ on a
    base name plus the attribute's offset); ``auto`` proposes logical names and falls back to short names when the
    meter refuses the context (docs/dlms-client.md §9.1)."""

    AUTO = "auto"
    LN = "ln"
    SN = "sn"


class Mechanism(IntEnum):
    """Authentication mechanism names (…08 02 xx; Green Book §9.2.2.2.2)."""

    NONE = 0
    LOW = 1  # LLS: a password in the AARQ
    HIGH_GMAC = 5  # HLS with GMAC: challenge and response, keys of the security setup


class Conformance:
    """Bits of the 24-bit conformance block (Green Book Table 80: bit 0 is the first, most significant, bit)."""

    GENERAL_BLOCK_TRANSFER: Final = 1 << (23 - 2)
    READ: Final = 1 << (23 - 3)  # short names
    BLOCK_TRANSFER_WITH_GET: Final = 1 << (23 - 11)
    MULTIPLE_REFERENCES: Final = 1 << (23 - 14)
    PARAMETERIZED_ACCESS: Final = 1 << (23 - 18)  # short names: a read with an access selector
    GET: Final = 1 << (23 - 19)
    SELECTIVE_ACCESS: Final = 1 << (23 - 21)


# What a reading client proposes: GET, in blocks, with lists, and selective access for load profiles
PROPOSED_CONFORMANCE: Final = (
    Conformance.GET
    | Conformance.BLOCK_TRANSFER_WITH_GET
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.SELECTIVE_ACCESS
)
# over short names: READ, in blocks (bit 11 covers both services), with lists, and parameterized access
PROPOSED_CONFORMANCE_SN: Final = (
    Conformance.READ
    | Conformance.BLOCK_TRANSFER_WITH_GET
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.PARAMETERIZED_ACCESS
)


class AssociationResult(IntEnum):
    """AARE ``result`` (ISO 8650 Associate-result)."""

    ACCEPTED = 0
    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


class UserDiagnostic(IntEnum):
    """``acse-service-user`` diagnostics of a refused AARQ (Green Book §9.3.2, Table 87)."""

    NULL = 0
    NO_REASON = 1
    APPLICATION_CONTEXT_NOT_SUPPORTED = 2
    MECHANISM_NOT_RECOGNISED = 11
    MECHANISM_REQUIRED = 12
    AUTHENTICATION_FAILURE = 13
    AUTHENTICATION_REQUIRED = 14


def _tlv(tag: int, content: bytes) -> bytes:
    if len(content) >= 0x80:  # every field of an AARQ is short; one byte of length keeps the parser honest
        raise ValueError(f"BER field 0x{tag:02x} of {len(content)} bytes")
    return bytes([tag, len(content)]) + content


def _oid(kind: int, value: int) -> bytes:
    """``60 85 74 05 08 <kind> <value>``: an application context (kind 1) or mechanism name (kind 2)."""
    return _DLMS_UA + bytes([kind, value])


def _conformance_block(bits: int) -> bytes:
    """``5F 1F 04 00 xx xx xx``: [APPLICATION 31] BIT STRING of 24 bits, no unused bits."""
    return b"\x5f\x1f\x04\x00" + bits.to_bytes(3, "big")


def initiate_request(max_pdu: int, conformance: int = PROPOSED_CONFORMANCE) -> bytes:
    """xDLMS InitiateRequest: no dedicated key, response allowed, no quality of service, version 6."""
    header = bytes([INITIATE_REQUEST, 0, 0, 0, DLMS_VERSION])
    return header + _conformance_block(conformance) + max_pdu.to_bytes(2, "big")


def build_aarq(
    mechanism: Mechanism = Mechanism.NONE,
    secret: bytes = b"",
    *,
    max_pdu: int = 0xFFFF,
    conformance: int | None = None,
    calling_title: bytes = b"",
    user_information: bytes = b"",
    referencing: Referencing = Referencing.LN,
) -> bytes:
    """An AARQ for logical (or, ``referencing`` SN, short) name referencing; with LLS, ``secret`` is the password.
    With ciphering (HLS-GMAC, logical names only), ``secret`` is the challenge CtoS, ``calling_title`` our system
    title and ``user_information`` the glo-ciphered InitiateRequest (Green Book §9.3.2: the context is then 'with
    ciphering')."""
    short = referencing is Referencing.SN
    context = APPLICATION_CONTEXT_SN if short else APPLICATION_CONTEXT_LN
    if calling_title:
        context = APPLICATION_CONTEXT_LN_CIPHERED
    if conformance is None:
        conformance = PROPOSED_CONFORMANCE_SN if short else PROPOSED_CONFORMANCE
    fields = _tlv(0xA1, _tlv(0x06, _oid(1, context)))
    if calling_title:
        fields += _tlv(0xA6, _tlv(0x04, calling_title))  # calling-AP-title [6], before the ACSE requirements
    if mechanism is not Mechanism.NONE:
        fields += _tlv(0x8A, b"\x07\x80")  # sender-acse-requirements: authentication (one bit of eight)
        fields += _tlv(0x8B, _oid(2, mechanism))
        fields += _tlv(0xAC, _tlv(0x80, secret))  # calling-authentication-value, charstring
    fields += _tlv(0xBE, _tlv(0x04, user_information or initiate_request(max_pdu, conformance)))
    return _tlv(AARQ, fields)


def build_rlrq() -> bytes:
    """A release request, reason normal (Green Book §9.3.3)."""
    return _tlv(RLRQ, _tlv(0x80, b"\x00"))


def ber_fields(content: bytes) -> dict[int, bytes]:
    """The tag → content map of a run of BER fields with one-byte tags (lengths of one or more bytes)."""
    fields: dict[int, bytes] = {}
    pos = 0
    while pos < len(content):
        if pos + 2 > len(content):
            raise DlmsClientError(ClientProblem.MALFORMED, "BER field cut short")
        tag, size = content[pos], content[pos + 1]
        pos += 2
        if size & 0x80:
            count = size & 0x7F
            size = int.from_bytes(content[pos : pos + count], "big")
            pos += count
        if pos + size > len(content):
            raise DlmsClientError(ClientProblem.MALFORMED, f"BER field 0x{tag:02x} longer than its APDU")
        fields[tag] = content[pos : pos + size]
        pos += size
    return fields


@dataclass(frozen=True, slots=True)
class Association:
    """What the meter accepted: the conformance block agreed and the largest APDU it receives."""

    conformance: int
    max_pdu: int
    mechanism: Mechanism = Mechanism.NONE
    challenge: bytes = b""  # the server's challenge StoC (HLS only)
    server_title: bytes = b""  # the server's system title, responding-AP-title (ciphering only)
    referencing: Referencing = Referencing.LN  # the context the AARE names

    def allows(self, bit: int) -> bool:
        """The negotiated conformance includes ``bit``."""
        return bool(self.conformance & bit)

    @property
    def selective_access(self) -> bool:
        """A read may carry an access selector: selective access (GET), parameterized access (READ)."""
        short = self.referencing is Referencing.SN
        return self.allows(Conformance.PARAMETERIZED_ACCESS if short else Conformance.SELECTIVE_ACCESS)


def _small_int(field: bytes | None, inner: int = 0x02) -> int | None:
    """The integer of ``02 01 xx`` (or of ``A1 03 02 01 xx`` one level down)."""
    if field is None:
        return None
    values = ber_fields(field)
    if values.get(inner):
        return int.from_bytes(values[inner], "big")
    for nested in values.values():  # result-source-diagnostic: a choice of service-user [1] / provider [2]
        found = ber_fields(nested).get(0x02)
        if found:
            return int.from_bytes(found, "big")
    return None


Decipher = Callable[[bytes, bytes], bytes]  # (the meter's system title, glo-initiate-response) → InitiateResponse


class ContextRefused(DlmsClientError):
    """The meter refused the application context proposed (diagnostic 2, or an AARE naming the other one): with
    ``auto`` referencing the client proposes the other context."""


class ContextChoice:
    """Which context the AARQ proposes: the configured one; with ``auto``, short names first when the meter
    spoke them before (``short_known``), else logical names, and the other one once when the meter refuses the
    first (never with ciphering: HLS-GMAC is logical names only)."""

    def __init__(self, configured: Referencing, *, short_known: bool, ciphered: bool) -> None:
        self._may_switch = configured is Referencing.AUTO and not ciphered
        self.proposed: Referencing
        if configured is not Referencing.AUTO:
            self.proposed = configured
        else:
            self.proposed = Referencing.SN if short_known and not ciphered else Referencing.LN

    def other(self) -> bool:
        """Propose the other context after a refusal; ``False`` when that is not allowed (or already done)."""
        if not self._may_switch:
            return False
        self._may_switch = False
        self.proposed = Referencing.LN if self.proposed is Referencing.SN else Referencing.SN
        return True


def _named_referencing(field: bytes | None) -> Referencing | None:
    """The referencing of the application-context-name an AARE carries (``A1 09 06 07 60 85 74 05 08 01 xx``)."""
    name = ber_fields(field or b"").get(0x06, b"")
    if len(name) != 7 or name[:5] != _DLMS_UA or name[5] != 1:
        return None
    return Referencing.SN if name[6] in (APPLICATION_CONTEXT_SN, APPLICATION_CONTEXT_SN_CIPHERED) else Referencing.LN


def parse_aare(
    apdu: bytes,
    mechanism: Mechanism = Mechanism.NONE,
    decipher: Decipher | None = None,
    proposed: Referencing = Referencing.LN,
) -> Association:
    """The association the meter accepted; :class:`DlmsClientError` with the reason when it refused
    (:class:`ContextRefused` when it was the application context). With ciphering, ``decipher`` opens the
    glo-initiate-response (0x28) with the responding-AP-title."""
    if not apdu or apdu[0] != AARE:
        first = f"0x{apdu[0]:02x}" if apdu else "nothing"
        raise DlmsClientError(ClientProblem.MALFORMED, f"expected an AARE (0x61), got {first}")
    fields = ber_fields(ber_fields(apdu).get(AARE, b""))
    result = _small_int(fields.get(0xA2))
    diagnostic = _small_int(fields.get(0xA3))
    if result is None:
        raise DlmsClientError(ClientProblem.MALFORMED, "AARE without a result")
    user_information = ber_fields(fields.get(0xBE, b"")).get(0x04, b"")
    named = _named_referencing(fields.get(0xA1)) or proposed
    if result != AssociationResult.ACCEPTED:
        detail = f"result {result}, diagnostic {diagnostic}"
        if user_information.startswith(bytes([CONFIRMED_SERVICE_ERROR])):
            detail += f", initiate error {user_information[1:].hex()}"
        if diagnostic == UserDiagnostic.APPLICATION_CONTEXT_NOT_SUPPORTED or named is not proposed:
            raise ContextRefused(ClientProblem.ASSOCIATION_REFUSED, f"{detail}, {proposed} context refused")
        if diagnostic == UserDiagnostic.AUTHENTICATION_FAILURE and mechanism is Mechanism.HIGH_GMAC:
            raise DlmsClientError(ClientProblem.AUTHENTICATION_FAILED, detail)  # the ciphered AARQ did not open
        if diagnostic == UserDiagnostic.AUTHENTICATION_FAILURE:
            raise DlmsClientError(ClientProblem.WRONG_PASSWORD, detail)
        if diagnostic in (UserDiagnostic.AUTHENTICATION_REQUIRED, UserDiagnostic.MECHANISM_REQUIRED):
            raise DlmsClientError(ClientProblem.AUTHENTICATION_REQUIRED, detail)
        raise DlmsClientError(ClientProblem.ASSOCIATION_REFUSED, detail)
    challenge = ber_fields(fields.get(0xAA, b"")).get(0x80, b"")
    title = ber_fields(fields.get(0xA4, b"")).get(0x04, b"")  # responding-AP-title [4]
    if decipher is not None:
        if mechanism is Mechanism.HIGH_GMAC and not challenge:
            raise DlmsClientError(ClientProblem.MALFORMED, "AARE of an HLS association without the challenge StoC")
        user_information = decipher(title, user_information)
    return replace(_initiate_response(user_information, mechanism, challenge, title), referencing=named)


def _initiate_response(raw: bytes, mechanism: Mechanism, challenge: bytes, title: bytes) -> Association:
    """``08 | quality of service (00, or 01 xx) | 06 | 5F 1F 04 00 c c c | max PDU (2) | VAA name (2)``."""
    pos = 2 if raw[1:2] == b"\x00" else 3
    if len(raw) < pos + 12 or raw[0] != INITIATE_RESPONSE or raw[pos + 1 : pos + 5] != b"\x5f\x1f\x04\x00":
        raise DlmsClientError(ClientProblem.MALFORMED, f"InitiateResponse {raw.hex()}")
    conformance = int.from_bytes(raw[pos + 5 : pos + 8], "big")
    max_pdu = int.from_bytes(raw[pos + 8 : pos + 10], "big")
    return Association(conformance, max_pdu, mechanism, challenge, title)


def parse_rlre(apdu: bytes) -> None:
    """A release response; anything else is malformed (a meter that does not release at all is the caller's)."""
    if not apdu or apdu[0] != RLRE:
        raise DlmsClientError(ClientProblem.MALFORMED, f"expected an RLRE (0x63), got {apdu[:1].hex() or 'nothing'}")
