"""APDUs straight on the line, with no HDLC or M-Bus framing around them (Salzburg Netz, Sagemcom XT211 and ZPA
meters in Czechia; docs/dlms.md §2.9). An APDU delimits itself: the ciphered and block-transfer APDUs carry their
length, a data-notification ends where its A-XDR value ends. Anything that does not start a complete APDU is
junk and skipped a byte at a time."""

from __future__ import annotations

from typing import Final

from ..apdu import DATA_NOTIFICATION, DED_CIPHERING, GENERAL_BLOCK_TRANSFER, GLO_CIPHERING, MAX_APDU
from ..axdr import ARRAY, BIT_STRING, NULL, OCTET_STRING, STRUCTURE, UTF8_STRING, VISIBLE_STRING, fixed_size
from .czech import DESCRIPTOR, opens as czech_body

STARTS: Final = frozenset({DATA_NOTIFICATION, GENERAL_BLOCK_TRANSFER, GLO_CIPHERING, DED_CIPHERING})
INCOMPLETE: Final = -1
INVALID: Final = -2
MAX_DEPTH: Final = 16


def _length(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    """An A-XDR length: ``(value, position after it)``; ``(INCOMPLETE, …)`` or ``(INVALID, …)`` otherwise."""
    if pos >= len(data):
        return INCOMPLETE, pos
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size == 0 or size > 4:
        return INVALID, pos
    if pos + 1 + size > len(data):
        return INCOMPLETE, pos
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


def _value_end(data: bytes | bytearray, pos: int, depth: int = 0) -> int:
    """Where the A-XDR value at ``pos`` ends, ``INCOMPLETE`` or ``INVALID``."""
    if depth > MAX_DEPTH:
        return INVALID
    if pos >= len(data):
        return INCOMPLETE
    tag = data[pos]
    if tag in (ARRAY, STRUCTURE):
        count, pos = _length(data, pos + 1)
        if count < 0:
            return count
        for _ in range(count):
            pos = _value_end(data, pos, depth + 1)
            if pos < 0:
                return pos
        return pos
    if tag in (OCTET_STRING, VISIBLE_STRING, UTF8_STRING, BIT_STRING):
        size, pos = _length(data, pos + 1)
        if size < 0:
            return size
        end = pos + (size + 7) // 8 if tag == BIT_STRING else pos + size
        return end if end <= len(data) else INCOMPLETE
    if tag == NULL:
        return pos + 1
    fixed = fixed_size(tag)
    if fixed is None:
        return INVALID
    return pos + 1 + fixed if pos + 1 + fixed <= len(data) else INCOMPLETE


def _czech_end(data: bytes | bytearray, pos: int) -> int:
    """Where a Czech distributors' body ends: its elements' descriptors carry no tags (:mod:`.czech`)."""
    if pos + 6 > len(data):
        return INCOMPLETE
    count, pos = data[pos + 5], pos + 6
    for _ in range(count):
        if pos + 2 + DESCRIPTOR > len(data):
            return INCOMPLETE
        if data[pos] != STRUCTURE or data[pos + 1] != 2:
            return INVALID
        pos = _value_end(data, pos + 2 + DESCRIPTOR)
        if pos < 0:
            return pos
    return pos


def apdu_end(data: bytes | bytearray, start: int) -> int:
    """Where the APDU at ``start`` ends (exclusive), ``INCOMPLETE`` when more must arrive, ``INVALID`` when none
    starts there."""
    tag = data[start]
    if tag in (GLO_CIPHERING, DED_CIPHERING):  # tag | title length | title | length | content
        if start + 2 > len(data):
            return INCOMPLETE
        size, pos = _length(data, start + 2 + data[start + 1])
        end = pos + size
    elif tag == GENERAL_BLOCK_TRANSFER:  # tag | control | number (2) | acknowledged (2) | length | data
        size, pos = _length(data, start + 6)
        end = pos + size
    elif tag == DATA_NOTIFICATION:  # tag | invoke id (4) | date-time | body
        pos = start + 5
        if pos >= len(data):
            return INCOMPLETE
        if data[pos] == 0x00:
            pos += 1
        elif data[pos] == 0x0C:
            pos += 13
        elif data[pos] == OCTET_STRING:
            if pos + 1 >= len(data):
                return INCOMPLETE
            pos += 2 + data[pos + 1]
        else:
            return INVALID
        return _czech_end(data, pos) if czech_body(data, pos) else _value_end(data, pos)
    else:
        return INVALID
    if size < 0:
        return size
    if size > MAX_APDU:
        return INVALID
    return end if end <= len(data) else INCOMPLETE


class RawReader:
    """Feed bytes as they arrive; get back the complete APDUs."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.junk_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        """APDUs completed by ``data``, in order."""
        self._buffer += data
        apdus: list[bytes] = []
        buffer = self._buffer
        while buffer:
            skip = 0
            if buffer[0] in STARTS:
                end = apdu_end(buffer, 0)
                if end > 0:
                    apdus.append(bytes(buffer[:end]))
                    del buffer[:end]
                    continue
                if end == INCOMPLETE:
                    # still arriving — unless a complete APDU starts later, which makes this start a stray byte
                    later = self._complete_after(0)
                    if later is None and len(buffer) <= MAX_APDU:
                        break
                    skip = later or len(buffer)
            if not skip:  # no APDU starts here: skip to the next byte that could start one
                skip = next((index for index in range(1, len(buffer)) if buffer[index] in STARTS), len(buffer))
            self.junk_bytes += skip
            del buffer[:skip]
        return apdus

    def _complete_after(self, start: int) -> int | None:
        """A later start whose APDU ends exactly where the bytes received end: a push that came after junk (a
        chance APDU inside the bytes of one still arriving would hardly end exactly there)."""
        buffer = self._buffer
        for index in range(start + 1, len(buffer)):
            if buffer[index] in STARTS and apdu_end(buffer, index) == len(buffer):
                return index
        return None
