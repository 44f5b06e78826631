"""DLMS APDUs of a push: LLC, general-block-transfer, general-glo-ciphering and data-notification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..iec62056.hdlc import GENERAL_BLOCK_TRANSFER, GLO_CIPHERING
from .axdr import Data, cosem_datetime, decode, decode_length
from .errors import MALFORMED, NO_KEY, NOT_NOTIFICATION, TAG_MISMATCH, UNSUPPORTED, WRONG_KEY, DlmsError

DATA_NOTIFICATION: Final = 0x0F
TAG_SIZE: Final = 12
MAX_APDU: Final = 65536  # far above any push (the largest E450 push seen is 0x1FF bytes)
# security control byte (DLMS green book 9.2.7.2.4.1): suite in bits 0-3
SC_AUTHENTICATION: Final = 0x10
SC_ENCRYPTION: Final = 0x20
SC_BROADCAST: Final = 0x40
SC_COMPRESSION: Final = 0x80


@dataclass(frozen=True, slots=True)
class Block:
    """One general-block-transfer block."""

    last: bool
    number: int
    data: bytes


def parse_block(apdu: bytes) -> Block:
    """``E0 | control | number (2) | acknowledged (2) | A-XDR length | data``."""
    if len(apdu) < 7 or apdu[0] != GENERAL_BLOCK_TRANSFER:
        raise DlmsError(MALFORMED, "not a general-block-transfer APDU")
    size, start = decode_length(apdu, 6)
    data = apdu[start : start + size]
    if len(data) != size:
        raise DlmsError(MALFORMED, f"block {int.from_bytes(apdu[2:4], 'big')} is shorter than its length")
    return Block(last=bool(apdu[1] & 0x80), number=int.from_bytes(apdu[2:4], "big"), data=data)


class BlockAssembler:
    """Joins general-block-transfer blocks into one APDU: restarts on block 1, drops broken sequences."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._next = 1

    @property
    def pending(self) -> bool:
        """Blocks are waiting for the rest of their sequence."""
        return bool(self._parts)

    def add(self, block: Block) -> tuple[bytes | None, bool]:
        """``(apdu or None, whether an unfinished sequence was dropped)``."""
        dropped = False
        if block.number == 1:
            dropped = bool(self._parts)
            self._parts = []
        elif block.number != self._next:
            dropped = bool(self._parts)  # a later block with nothing before it: listening began mid-push
            self._parts, self._next = [], 1
            return None, dropped
        self._parts.append(block.data)
        self._next = block.number + 1
        if sum(map(len, self._parts)) > MAX_APDU:  # a sequence that never ends: give it up
            self._parts, self._next = [], 1
            return None, True
        if not block.last:
            return None, dropped
        apdu = b"".join(self._parts)
        self._parts, self._next = [], 1
        return apdu, dropped

    def reset(self) -> bool:
        """Forget an unfinished sequence; ``True`` when there was one."""
        dropped = bool(self._parts)
        self._parts, self._next = [], 1
        return dropped


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
    def security(self) -> str:
        """``authenticated`` (tag present) or ``encrypted`` (encryption only), as the command line reports it."""
        return "authenticated" if self.authenticated else "encrypted"

    @property
    def iv(self) -> bytes:
        """GCM initialisation vector: system title ‖ invocation counter."""
        return self.system_title + self.invocation_counter.to_bytes(4, "big")


def parse_glo_ciphered(apdu: bytes) -> GloCiphered:
    """Split a general-glo-ciphering APDU into its header and payload (whole-APDU length checked)."""
    if len(apdu) < 2 or apdu[0] != GLO_CIPHERING:
        raise DlmsError(MALFORMED, "not a general-glo-ciphering APDU")
    title_size = apdu[1]
    system_title = apdu[2 : 2 + title_size]
    if title_size != 8 or len(system_title) != 8:
        raise DlmsError(MALFORMED, f"system title of {title_size} bytes")
    size, start = decode_length(apdu, 10)
    content = apdu[start:]
    if len(content) != size or size < 5:
        raise DlmsError(MALFORMED, f"ciphered content of {len(content)} bytes, length field says {size}")
    security_control = content[0]
    if security_control & (SC_COMPRESSION | 0x0F):
        raise DlmsError(UNSUPPORTED, f"security control 0x{security_control:02x} (compression or suite > 0)")
    ciphered = GloCiphered(system_title, security_control, int.from_bytes(content[1:5], "big"), content[5:])
    if ciphered.authenticated and len(ciphered.payload) < TAG_SIZE:
        raise DlmsError(MALFORMED, "authenticated push shorter than its tag")
    return ciphered


def _ctr(ek: bytes, iv: bytes, data: bytes) -> bytes:
    """GCM's encryption without the tag: AES-CTR from counter block IV ‖ 00000002."""
    decryptor = Cipher(algorithms.AES(ek), modes.CTR(iv + b"\x00\x00\x00\x02")).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def decrypt(ciphered: GloCiphered, ek: bytes | None, ak: bytes | None) -> tuple[bytes, str | None]:
    """``(plaintext APDU, tag status)``; tag status ``ok``, ``unchecked`` (no AK) or ``None`` (no tag).

    With an authentication key the tag must verify (AAD = SC ‖ AK); otherwise :class:`DlmsError`
    ``tag_mismatch``. Without one, the caller must check that the plaintext parses completely.
    """
    payload = ciphered.payload
    header = bytes([ciphered.security_control])
    if not ciphered.authenticated:
        if ek is None:
            raise DlmsError(NO_KEY, "the push is encrypted; an encryption key is needed")
        return _ctr(ek, ciphered.iv, payload), None
    body, tag = payload[:-TAG_SIZE], payload[-TAG_SIZE:]
    if not ciphered.encrypted:  # authentication only: the APDU is in clear, the tag covers it
        if ak is None:
            return body, "unchecked"
        if ek is None:
            raise DlmsError(NO_KEY, "checking the tag needs the encryption key")
        encryptor = Cipher(algorithms.AES(ek), modes.GCM(ciphered.iv, tag, min_tag_length=TAG_SIZE)).decryptor()
        encryptor.authenticate_additional_data(header + ak + body)
        try:
            encryptor.finalize()
        except InvalidTag:
            raise DlmsError(TAG_MISMATCH, "the authentication tag does not match the keys") from None
        return body, "ok"
    if ek is None:
        raise DlmsError(NO_KEY, "the push is encrypted; an encryption key is needed")
    if ak is None:
        return _ctr(ek, ciphered.iv, body), "unchecked"
    decryptor = Cipher(algorithms.AES(ek), modes.GCM(ciphered.iv, tag, min_tag_length=TAG_SIZE)).decryptor()
    decryptor.authenticate_additional_data(header + ak)
    plaintext = decryptor.update(body)
    try:
        decryptor.finalize()
    except InvalidTag:
        raise DlmsError(TAG_MISMATCH, "the authentication tag does not match the keys") from None
    return plaintext, "ok"


@dataclass(frozen=True, slots=True)
class DataNotification:
    """``0F | long-invoke-id-and-priority (4) | date-time (00, or 0C + 12 bytes) | body``."""

    invoke_id: int
    datetime: datetime | None
    body: Data


def parse_notification(apdu: bytes, *, decrypted: bool = False) -> DataNotification:
    """Parse a data-notification that must span all of ``apdu``.

    For a decrypted APDU, a first byte other than 0x0F means the key was wrong (``wrong_key``); any other
    failure is ``not_notification`` (for clear APDUs: ``unsupported``, or ``malformed``).
    """
    if not apdu or apdu[0] != DATA_NOTIFICATION:
        first = f"0x{apdu[0]:02x}" if apdu else "nothing"
        if decrypted:
            raise DlmsError(WRONG_KEY, f"decrypted APDU starts with {first}: the encryption key is wrong")
        # clear traffic that is not a push (another client's requests on a shared bus): no key can help
        raise DlmsError(UNSUPPORTED, f"APDU {first} is not a data-notification")
    try:
        if len(apdu) < 6:
            raise DlmsError(MALFORMED, "data-notification too short")
        invoke_id = int.from_bytes(apdu[1:5], "big") & 0x00FFFFFF
        pos = 5
        stamp: datetime | None = None
        if apdu[pos] == 0x00:
            pos += 1
        elif apdu[pos] == 0x0C:
            stamp = cosem_datetime(apdu[pos + 1 : pos + 13])
            pos += 13
        elif apdu[pos : pos + 2] == b"\x09\x0c":  # some firmware sends the date-time as an octet-string
            stamp = cosem_datetime(apdu[pos + 2 : pos + 14])
            pos += 14
        else:
            raise DlmsError(MALFORMED, f"date-time field starts with 0x{apdu[pos]:02x}")
        body, end = decode(apdu, pos)
        if end != len(apdu):
            raise DlmsError(MALFORMED, f"{len(apdu) - end} bytes after the notification body")
    except DlmsError as err:
        raise DlmsError(NOT_NOTIFICATION if decrypted else MALFORMED, err.detail) from err
    return DataNotification(invoke_id, stamp, body)
