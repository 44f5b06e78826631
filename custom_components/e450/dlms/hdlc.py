"""HDLC frame reader for DLMS/COSEM pushes (IEC 62056-46), sans-IO.

Frames are cut by the length in the format field: E450 pushes carry 0x7E unescaped inside the information field,
so scanning for flags alone would split real frames. Every candidate is checked (format type, closing flag, HCS,
FCS) before it is believed; anything else is junk and skipped byte by byte (resynchronisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..iec62056.hdlc import crc16_x25

FLAG: Final = 0x7E
FORMAT_TYPE_3: Final = 0xA0
SEGMENTED: Final = 0x08  # in the first format byte
MAX_FRAME: Final = 0x7FF  # 11-bit length
MIN_FRAME: Final = 7  # format (2) + 1-byte addresses (2) + control + FCS (2)


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    """A frame whose format field, HCS and FCS check out."""

    destination: bytes
    source: bytes
    control: int
    segmented: bool
    information: bytes


def _address_end(body: bytes, start: int) -> int | None:
    """Index after an address of 1-4 bytes; its last byte has bit 0 (the extension bit) set."""
    for index in range(start, min(start + 4, len(body))):
        if body[index] & 0x01:
            return index + 1
    return None


def parse_frame(body: bytes) -> HdlcFrame | None:
    """``body`` is everything between the flags (format field … FCS); ``None`` unless every check passes."""
    if len(body) < MIN_FRAME or body[0] & 0xF0 != FORMAT_TYPE_3:
        return None
    if crc16_x25(body[:-2]) != int.from_bytes(body[-2:], "little"):
        return None
    destination_end = _address_end(body, 2)
    source_end = _address_end(body, destination_end) if destination_end is not None else None
    if destination_end is None or source_end is None or source_end >= len(body) - 2:
        return None
    control = body[source_end]
    header_end = source_end + 1
    information = b""
    if len(body) > header_end + 2:  # an information field follows: the header has its own check sequence
        if len(body) < header_end + 4:
            return None
        if crc16_x25(body[:header_end]) != int.from_bytes(body[header_end : header_end + 2], "little"):
            return None
        information = body[header_end + 2 : -2]
    return HdlcFrame(
        destination=body[2:destination_end],
        source=body[destination_end:source_end],
        control=control,
        segmented=bool(body[0] & SEGMENTED),
        information=information,
    )


class HdlcReader:
    """Feed bytes as they arrive; get back the complete, valid frames. Keeps at most one frame of bytes."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.junk_bytes = 0  # skipped because no valid frame starts there

    def feed(self, data: bytes) -> list[HdlcFrame]:
        """Frames completed by ``data``, in order."""
        self._buffer += data
        frames: list[HdlcFrame] = []
        while True:
            found = self._next()
            if found is None:
                break
            frames.append(found)
        return frames

    def _next(self) -> HdlcFrame | None:
        buffer = self._buffer
        keep_from: int | None = None  # first flag whose frame may still be arriving
        position = 0
        while (start := buffer.find(FLAG, position)) >= 0:
            position = start + 1
            if start + 3 > len(buffer):
                keep_from = start if keep_from is None else keep_from
                break
            if buffer[start + 1] & 0xF0 != FORMAT_TYPE_3:
                continue
            length = ((buffer[start + 1] & 0x07) << 8) | buffer[start + 2]
            end = start + 1 + length  # index of the closing flag
            if length < MIN_FRAME:
                continue
            if end >= len(buffer):
                keep_from = start if keep_from is None else keep_from
                continue  # a later flag may still start a complete frame (this one may be a stray 0x7E)
            if buffer[end] != FLAG:
                continue
            frame = parse_frame(bytes(buffer[start + 1 : end]))
            if frame is None:
                continue
            self.junk_bytes += sum(1 for byte in buffer[:start] if byte != FLAG)
            del buffer[:end]  # keep the closing flag: some meters let it open the next frame
            return frame
        cut = len(buffer) if keep_from is None else keep_from
        if cut:
            self.junk_bytes += sum(1 for byte in buffer[:cut] if byte != FLAG)
            del buffer[:cut]
        if len(buffer) > 2 * (MAX_FRAME + 2):  # cannot happen with a bounded length field; belt and braces
            self.junk_bytes += len(buffer)
            buffer.clear()
        return None
