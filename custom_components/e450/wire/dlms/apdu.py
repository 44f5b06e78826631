"""DLMS APDUs of a push in the clear: general-block-transfer and data-notification (DLMS UA 1000-2 Green
Book; docs/dlms.md §3 and §5). Ciphered APDUs are :mod:`.cipher`'s."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ..errors import DlmsError, PushProblem
from .axdr import cosem_datetime, decode_length

# APDU tags of the xDLMS APDUs (docs/dlms.md §3-§5)
DATA_NOTIFICATION: Final = 0x0F
GLO_CIPHERING: Final = 0xDB  # general-glo-ciphering
DED_CIPHERING: Final = 0xDC  # general-ded-ciphering: the same layout, ciphered with a dedicated key
CIPHERED: Final = frozenset({GLO_CIPHERING, DED_CIPHERING})
GENERAL_BLOCK_TRANSFER: Final = 0xE0
BARE_BODY: Final = frozenset({0x01, 0x02})  # an array or a structure: a notification body without its header
MAX_APDU: Final = 65536  # far above any push (the largest E450 push seen is 0x1FF bytes)


@dataclass(frozen=True, slots=True)
class Block:
    """One general-block-transfer block; ``size``: its bytes in the APDU (several may follow one another)."""

    last: bool
    number: int
    data: bytes
    size: int = 0


def parse_block(apdu: bytes, start: int = 0) -> Block:
    """``E0 | control | number (2) | acknowledged (2) | A-XDR length | data`` at ``start``."""
    if len(apdu) < start + 7 or apdu[start] != GENERAL_BLOCK_TRANSFER:
        raise DlmsError(PushProblem.MALFORMED, "not a general-block-transfer APDU")
    number = int.from_bytes(apdu[start + 2 : start + 4], "big")
    size, begin = decode_length(apdu, start + 6)
    data = apdu[begin : begin + size]
    if len(data) != size:
        raise DlmsError(PushProblem.MALFORMED, f"block {number} is shorter than its length")
    return Block(last=bool(apdu[start + 1] & 0x80), number=number, data=data, size=begin + size - start)


def parse_blocks(apdu: bytes) -> list[Block]:
    """The blocks one after the other in ``apdu`` (some meters put a whole sequence in one frame); bytes after
    them that start no block are padding."""
    blocks = [parse_block(apdu)]
    end = blocks[0].size
    while end < len(apdu) and apdu[end] == GENERAL_BLOCK_TRANSFER:
        blocks.append(parse_block(apdu, end))
        end += blocks[-1].size
    return blocks


class BlockAssembler:
    """Joins general-block-transfer blocks into one APDU: restarts on the first block (numbered 1, or 0 by some
    meters), drops broken sequences."""

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
        continuing = bool(self._parts) and block.number == self._next  # block 1 after a block 0 continues
        if block.number in (0, 1) and not continuing:
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
class DataNotification:
    """``0F | long-invoke-id-and-priority (4) | date-time (00, or 0C + 12 bytes) | body``; the body stays A-XDR
    bytes, for :func:`.push.bodies.decode_body` (which reads the common bodies without a tree of values)."""

    invoke_id: int | None  # None: a body sent without the notification's header
    datetime: datetime | None
    body: bytes


def parse_notification(apdu: bytes, *, decrypted: bool = False) -> DataNotification:
    """Parse the header of a data-notification; the body is the rest of ``apdu``.

    Some meters send the body alone, an array or structure with no header before it: taken as such. For a
    decrypted APDU, any other first byte than 0x0F means the key was wrong (``wrong_key``); any other failure is
    ``not_notification`` (for clear APDUs: ``unsupported``, or ``malformed``).
    """
    if apdu and apdu[0] in BARE_BODY:
        return DataNotification(None, None, apdu)
    if not apdu or apdu[0] != DATA_NOTIFICATION:
        first = f"0x{apdu[0]:02x}" if apdu else "nothing"
        if decrypted:
            raise DlmsError(PushProblem.WRONG_KEY, f"decrypted APDU starts with {first}: the encryption key is wrong")
        # clear traffic that is not a push (another client's requests on a shared bus): no key can help
        raise DlmsError(PushProblem.UNSUPPORTED, f"APDU {first} is not a data-notification")
    problem = PushProblem.NOT_NOTIFICATION if decrypted else PushProblem.MALFORMED
    if len(apdu) < 7:
        raise DlmsError(problem, "data-notification too short")
    invoke_id = int.from_bytes(apdu[1:5], "big") & 0x00FFFFFF
    pos = 5
    stamp: datetime | None = None
    if apdu[pos] == 0x00:
        pos += 1
    elif apdu[pos] == 0x0C:
        stamp = cosem_datetime(apdu[pos + 1 : pos + 13])
        pos += 13
    elif apdu[pos] == 0x09 and pos + 1 < len(apdu):  # some firmware sends it as an octet-string (or an empty one)
        stamp = cosem_datetime(apdu[pos + 2 : pos + 2 + apdu[pos + 1]])
        pos += 2 + apdu[pos + 1]
    else:
        raise DlmsError(problem, f"date-time field starts with 0x{apdu[pos]:02x}")
    if pos >= len(apdu):
        raise DlmsError(problem, "data-notification without a body")
    return DataNotification(invoke_id, stamp, apdu[pos:])
