"""general-glo-ciphering (DLMS UA 1000-2 Green Book §9.2.7; docs/dlms.md §4): split the APDU, check the
tag, decrypt. AES-GCM with IV = system title ‖ invocation counter and AAD = security control ‖ AK; encryption
without authentication is GCM's counter mode alone."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from hmac import compare_digest
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import DlmsError, PushProblem
from ..models import Security, TagStatus
from .apdu import CIPHERED
from .axdr import decode_length

TAG_SIZE: Final = 12
# security control byte (Green Book §9.2.7.2.4.1): suite in bits 0-3
SC_AUTHENTICATION: Final = 0x10
SC_ENCRYPTION: Final = 0x20
SC_BROADCAST: Final = 0x40
SC_COMPRESSION: Final = 0x80
SUITE_MASK: Final = 0x0F


@dataclass(frozen=True, slots=True)
class GloCiphered:
    """general-glo-ciphering: ``DB | 08 | system title | length | SC | IC (4) | ciphertext [| tag (12)]``."""

    system_title: bytes
    security_control: int
    invocation_counter: int
    payload: bytes  # ciphertext, and the tag when the security control asks for authentication

    @property
    def authenticated(self) -> bool:
        """The push carries a GCM tag."""
        return bool(self.security_control & SC_AUTHENTICATION)

    @property
    def encrypted(self) -> bool:
        """The payload is ciphertext."""
        return bool(self.security_control & SC_ENCRYPTION)

    @property
    def security(self) -> Security:
        """``authenticated`` (tag present) or ``encrypted`` (encryption only), as the command line reports it."""
        return Security.AUTHENTICATED if self.authenticated else Security.ENCRYPTED

    @property
    def iv(self) -> bytes:
        """GCM initialisation vector: system title ‖ invocation counter."""
        return self.system_title + self.invocation_counter.to_bytes(4, "big")


def parse_glo_ciphered(apdu: bytes) -> GloCiphered:
    """Split a general-glo- or general-ded-ciphering APDU into its header and payload (the length field checked;
    bytes after the content are padding).

    Both have the same layout (Green Book §9.3.5): glo- is ciphered with the global key, ded- with a dedicated
    key; a push carries no association that could agree one, so the key the user gives serves for either.
    """
    if len(apdu) < 2 or apdu[0] not in CIPHERED:
        raise DlmsError(PushProblem.MALFORMED, "not a general-glo- or general-ded-ciphering APDU")
    title_size = apdu[1]
    system_title = apdu[2 : 2 + title_size]
    if title_size != 8 or len(system_title) != 8:
        raise DlmsError(PushProblem.MALFORMED, f"system title of {title_size} bytes")
    size, start = decode_length(apdu, 10)
    content = apdu[start : start + size]  # bytes after it (some meters pad their frames) are not the push's
    if len(content) != size or size < 5:
        raise DlmsError(PushProblem.MALFORMED, f"ciphered content of {len(content)} bytes, length field says {size}")
    security_control = content[0]
    if security_control & SC_COMPRESSION or security_control & SUITE_MASK > 1:
        # suites 0 and 1 cipher with AES-GCM-128 alike (suite 1 adds ECDSA signatures, which pushes do not carry);
        # suite 2 needs 256-bit keys (Green Book §9.2.7.2.4.1; docs/dlms.md §4.2)
        raise DlmsError(
            PushProblem.UNSUPPORTED, f"security control 0x{security_control:02x} (compression or suite > 1)"
        )
    ciphered = GloCiphered(system_title, security_control, int.from_bytes(content[1:5], "big"), content[5:])
    if ciphered.authenticated and len(ciphered.payload) < TAG_SIZE:
        raise DlmsError(PushProblem.MALFORMED, "authenticated push shorter than its tag")
    return ciphered


@lru_cache(maxsize=16)
def _gcm(ek: bytes) -> AESGCM:
    """AES-GCM with this key, made once per key (a meter has one; the key schedule is not redone per push)."""
    return AESGCM(ek)


def _ctr(ek: bytes, iv: bytes, data: bytes) -> bytes:
    """GCM's encryption without the tag: AES-CTR from counter block IV ‖ 00000002. Counter mode is its own
    inverse, so GCM *encrypting* the ciphertext yields the plaintext (the tag it appends is dropped)."""
    return _gcm(bytes(ek)).encrypt(iv, data, None)[: len(data)]


def decrypt(ciphered: GloCiphered, ek: bytes | None, ak: bytes | None) -> tuple[bytes, TagStatus | None]:
    """``(plaintext APDU, tag status)``; tag status ``ok``, ``unchecked`` (no AK) or ``None`` (no tag).

    With an authentication key the tag must verify (AAD = SC ‖ AK); otherwise :class:`DlmsError`
    ``tag_mismatch``. Without one, the caller must check that the plaintext parses completely.
    """
    payload = ciphered.payload
    header = bytes([ciphered.security_control])
    if not ciphered.authenticated:
        if ek is None:
            raise DlmsError(PushProblem.NO_KEY, "the push is encrypted; an encryption key is needed")
        return _ctr(ek, ciphered.iv, payload), None
    body, tag = payload[:-TAG_SIZE], payload[-TAG_SIZE:]
    if not ciphered.encrypted:  # authentication only: the APDU is in clear, the tag covers it
        if ak is None:
            return body, TagStatus.UNCHECKED
        if ek is None:
            raise DlmsError(PushProblem.NO_KEY, "checking the tag needs the encryption key")
        # the tag of GCM over no ciphertext, with the whole clear APDU as additional data (the 12 bytes sent
        # are the first 12 of GCM's 16)
        if not compare_digest(_gcm(bytes(ek)).encrypt(ciphered.iv, b"", header + ak + body)[:TAG_SIZE], tag):
            raise DlmsError(PushProblem.TAG_MISMATCH, "the authentication tag does not match the keys")
        return body, TagStatus.OK
    if ek is None:
        raise DlmsError(PushProblem.NO_KEY, "the push is encrypted; an encryption key is needed")
    if ak is None:
        return _ctr(ek, ciphered.iv, body), TagStatus.UNCHECKED
    plaintext = _ctr(ek, ciphered.iv, body)
    # GCM encrypting the plaintext gives back this ciphertext and, after it, the tag over it (truncated as sent)
    sealed = _gcm(bytes(ek)).encrypt(ciphered.iv, plaintext, header + ak)
    if not compare_digest(sealed[len(body) : len(body) + TAG_SIZE], tag):
        raise DlmsError(PushProblem.TAG_MISMATCH, "the authentication tag does not match the keys")
    return plaintext, TagStatus.OK


def seal(ek: bytes, ak: bytes, iv: bytes, security_control: int, plaintext: bytes) -> bytes:
    """What follows ``SC ‖ IC`` in a ciphered APDU the client sends (Green Book §9.2.7.2.4): ciphertext ‖ tag
    with SC 0x30 (AAD = SC ‖ AK), the clear APDU ‖ tag with SC 0x10 (AAD = SC ‖ AK ‖ APDU: GMAC, also the HLS
    proof), the ciphertext alone with SC 0x20. Tags are GCM's first 12 bytes."""
    header = bytes([security_control])
    if not security_control & SC_ENCRYPTION:
        return plaintext + _gcm(bytes(ek)).encrypt(iv, b"", header + ak + plaintext)[:TAG_SIZE]
    if not security_control & SC_AUTHENTICATION:
        return _ctr(ek, iv, plaintext)
    return _gcm(bytes(ek)).encrypt(iv, plaintext, header + ak)[: len(plaintext) + TAG_SIZE]
