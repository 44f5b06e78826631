"""High level security with GMAC (mechanism 5) and the ciphering of an association (Green Book §9.2.7.2,
§9.2.7.4, §9.3.2; docs/dlms-client.md §2.3).

The AARQ carries our system title, a challenge CtoS and the xDLMS InitiateRequest glo-ciphered; the AARE the meter's
system title, its challenge StoC and the InitiateResponse glo-ciphered. Then each side proves it holds the keys:
the client calls ``reply_to_HLS_authentication`` (method 1 of the association, class 15) with
f(StoC) = SC ‖ IC ‖ GMAC(SC ‖ AK ‖ StoC), and the meter answers f(CtoS) the same way with its own system title and
counter. Every APDU after the AARE travels glo-ciphered (security control 0x30: authenticated and encrypted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ...errors import ClientProblem, DlmsClientError, DlmsError
from ..axdr import OCTET_STRING, decode, decode_length, encode_length, obis_bytes
from ..cipher import SC_AUTHENTICATION, SC_ENCRYPTION, GloCiphered, decrypt, parse_glo_ciphered, seal
from .get import EXCEPTION_RESPONSE, Attribute, check_not_refused, invoke_byte

# "E45" in place of a manufacturer's FLAG id, then five zero bytes: a system title is eight bytes (§4.3.4)
DEFAULT_SYSTEM_TITLE: Final = b"E45" + bytes(5)
SECURITY_CONTROL: Final = SC_AUTHENTICATION | SC_ENCRYPTION  # 0x30, suite 0 (AES-GCM-128)
MIN_CHALLENGE: Final = 8  # the Green Book allows 8-64 bytes (§9.2.7.4); 32 keeps every AARQ field short
MAX_CHALLENGE: Final = 32
ACTION_REQUEST: Final = 0xC3
ACTION_RESPONSE: Final = 0xC7
GENERAL_GLO_CIPHERING: Final = 0xDB
# glo-ciphered APDU tags (Green Book Table 74): the plain APDU → its glo- form, and back
GLO_OF: Final = {0x01: 0x21, 0xC0: 0xC8, 0xC3: 0xCB}  # initiate, GET, ACTION requests
PLAIN_OF: Final = {0x28: 0x08, 0xCC: 0xC4, 0xCF: 0xC7}  # initiate, GET, ACTION responses
ASSOCIATION: Final = Attribute(15, obis_bytes("0-0:40.0.0"), 1)  # current association, method 1
REPLY_TO_HLS_AUTHENTICATION: Final = 1
KEY_SIZE: Final = 16


@dataclass(frozen=True, slots=True)
class ClientKeys:
    """The keys of the security setup: the global unicast encryption key, the authentication key, and the
    system title this client sends (our 'name' in every IV)."""

    ek: bytes
    ak: bytes
    system_title: bytes = DEFAULT_SYSTEM_TITLE

    def __post_init__(self) -> None:
        if len(self.ek) != KEY_SIZE or len(self.ak) != KEY_SIZE:
            raise ValueError("the encryption and authentication keys are 16 bytes each")
        if len(self.system_title) != 8:
            raise ValueError("a system title is 8 bytes")


def check_challenge(challenge: bytes) -> bytes:
    """CtoS of an allowed length."""
    if not MIN_CHALLENGE <= len(challenge) <= MAX_CHALLENGE:
        raise ValueError(f"a challenge is {MIN_CHALLENGE}-{MAX_CHALLENGE} bytes, not {len(challenge)}")
    return challenge


def _failed(detail: str) -> DlmsClientError:
    return DlmsClientError(ClientProblem.AUTHENTICATION_FAILED, detail)


class Ciphering:
    """One association's ciphering: our invocation counter goes up by one per APDU sent; the meter's must go up
    too (a repeated or older one is a replay, Green Book §9.2.7.2.4.3)."""

    def __init__(self, keys: ClientKeys, challenge: bytes, invocation_counter: int = 0) -> None:
        self.keys = keys
        self.challenge = check_challenge(challenge)
        self.invocation_counter = invocation_counter  # the next one we use; the caller may keep it across reads
        self.server_title = b""
        self._server_counter = -1

    def _iv(self, title: bytes, counter: int) -> bytes:
        return title + counter.to_bytes(4, "big")

    def _next_counter(self) -> int:
        counter = self.invocation_counter
        if counter > 0xFFFFFFFF:
            raise _failed("the invocation counter is used up: new keys are needed")
        self.invocation_counter += 1
        return counter

    def protect(self, apdu: bytes) -> bytes:
        """The glo- form of a request: ``tag | length | SC | IC (4) | ciphertext | tag (12)``."""
        counter = self._next_counter()
        payload = seal(self.keys.ek, self.keys.ak, self._iv(self.keys.system_title, counter), SECURITY_CONTROL, apdu)
        content = bytes([SECURITY_CONTROL]) + counter.to_bytes(4, "big") + payload
        return bytes([GLO_OF[apdu[0]]]) + encode_length(len(content)) + content

    def unprotect(self, apdu: bytes) -> bytes:
        """The plain APDU of a glo- (or general-glo-ciphering) response; a refusal in clear passes through."""
        if apdu[:1] in (bytes([EXCEPTION_RESPONSE]), b"\x0e"):
            return apdu
        if apdu[:1] == bytes([GENERAL_GLO_CIPHERING]):
            try:
                ciphered = parse_glo_ciphered(apdu)
            except DlmsError as err:
                raise DlmsClientError(ClientProblem.MALFORMED, err.detail) from err
            if ciphered.system_title != self.server_title:
                raise _failed(f"APDU from system title {ciphered.system_title.hex()}, not the meter's")
            return self._open(ciphered)
        if not apdu or apdu[0] not in PLAIN_OF:
            first = f"0x{apdu[0]:02x}" if apdu else "nothing"
            raise DlmsClientError(ClientProblem.MALFORMED, f"APDU {first} in clear in a ciphered association")
        try:
            size, start = decode_length(apdu, 1)
        except DlmsError as err:
            raise DlmsClientError(ClientProblem.MALFORMED, err.detail) from err
        content = apdu[start:]
        if len(content) != size or size < 5:
            raise DlmsClientError(ClientProblem.MALFORMED, f"ciphered APDU of {len(content)} bytes, length {size}")
        ciphered = GloCiphered(self.server_title, content[0], int.from_bytes(content[1:5], "big"), content[5:])
        plain = self._open(ciphered)
        if plain[:1] != bytes([PLAIN_OF[apdu[0]]]):
            raise DlmsClientError(ClientProblem.MALFORMED, f"0x{apdu[0]:02x} deciphered to {plain[:1].hex()}")
        return plain

    def _open(self, ciphered: GloCiphered) -> bytes:
        if not ciphered.authenticated:  # without a tag anyone could have made it: our AARQ asked for 0x30
            raise _failed(f"security control 0x{ciphered.security_control:02x} without authentication")
        if ciphered.invocation_counter <= self._server_counter:
            raise _failed(f"the meter's invocation counter went from {self._server_counter} to "
                          f"{ciphered.invocation_counter} (a replay)")  # fmt: skip
        try:
            plain, _status = decrypt(ciphered, self.keys.ek, self.keys.ak)
        except DlmsError as err:
            raise _failed(f"{err.detail} (invocation counter {ciphered.invocation_counter})") from err
        self._server_counter = ciphered.invocation_counter
        return plain

    def initiate_response(self, server_title: bytes, apdu: bytes) -> bytes:
        """The AARE's glo-initiate-response deciphered with the meter's system title (responding-AP-title)."""
        if len(server_title) != 8:
            raise DlmsClientError(ClientProblem.MALFORMED, f"responding-AP-title {server_title.hex() or 'missing'}")
        self.server_title = server_title
        return self.unprotect(apdu)

    def _gmac(self, title: bytes, counter: int, challenge: bytes) -> bytes:
        """SC ‖ IC ‖ GMAC(SC ‖ AK ‖ challenge) with IV = title ‖ IC (Green Book §9.2.7.4, HLS mechanism 5)."""
        iv = self._iv(title, counter)
        tag = seal(self.keys.ek, self.keys.ak, iv, SC_AUTHENTICATION, challenge)[len(challenge) :]
        return bytes([SC_AUTHENTICATION]) + counter.to_bytes(4, "big") + tag

    def reply_to_hls(self, invoke_id: int, stoc: bytes) -> bytes:
        """ACTION-Request-Normal: ``reply_to_HLS_authentication`` of the association with f(StoC), ciphered."""
        # the proof takes a counter of its own: an IV is never used twice with one key (§9.2.7.2.4.3)
        proof = self._gmac(self.keys.system_title, self._next_counter(), stoc)
        request = bytes([ACTION_REQUEST, 0x01, invoke_byte(invoke_id)]) + ASSOCIATION.encode()
        return self.protect(request + bytes([0x01, OCTET_STRING, len(proof)]) + proof)

    def check_reply(self, apdu: bytes, invoke_id: int) -> None:
        """The meter's ACTION-Response: success with f(CtoS), computed with its system title and counter."""
        plain = self.unprotect(apdu)
        check_not_refused(plain)
        if len(plain) < 4 or plain[:2] != bytes([ACTION_RESPONSE, 0x01]) or plain[2] & 0x0F != invoke_id & 0x0F:
            raise DlmsClientError(ClientProblem.MALFORMED, f"expected an ACTION-Response, got {plain[:3].hex()}")
        if plain[3] != 0:
            raise _failed(f"the meter did not accept our reply to its challenge (action result {plain[3]})")
        if plain[4:6] != b"\x01\x00":  # return parameters present, and data (not a data-access-result)
            raise _failed("the meter gave no proof of its own")
        try:
            proof, end = decode(plain, 6)
        except DlmsError as err:
            raise DlmsClientError(ClientProblem.MALFORMED, err.detail) from err
        value = proof.value
        if end != len(plain) or not isinstance(value, bytes) or len(value) != 17 or value[0] != SC_AUTHENTICATION:
            raise _failed(f"the meter's proof {plain[6:].hex()} is not SC 0x10 ‖ IC ‖ GMAC")
        if value != self._gmac(self.server_title, int.from_bytes(value[1:5], "big"), self.challenge):
            raise _failed("the meter's answer to our challenge does not match the keys")
