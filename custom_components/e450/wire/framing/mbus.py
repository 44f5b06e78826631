"""M-Bus long frames (EN 13757-2) as meters use them to carry DLMS/COSEM pushes, sans-IO (docs/dlms.md §2.8).

``68 L L 68 | C A CI | data | checksum 16``: L counts C to the end of the data, the checksum is their sum modulo
256. Kaifa and Sagemcom meters in Austria (EVN/Netz NÖ, TINETZ, Salzburg, Vorarlberg) push this way, a push split
over several frames when it is longer than one frame holds. As with HDLC, every candidate is checked (both length
bytes, the second start byte, the checksum, the stop byte) before it is believed, and junk is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

START: Final = 0x68
STOP: Final = 0x16
HEADER: Final = 4  # 68 L L 68
MIN_LENGTH: Final = 3  # C, A, CI
# CI fields of DLMS/COSEM data over M-Bus: bits 0-3 a segment's sequence number, bit 4 set on the last segment
CI_DLMS_MAX: Final = 0x1F
CI_LAST_SEGMENT: Final = 0x10


@dataclass(frozen=True, slots=True)
class MbusFrame:
    """A long frame whose lengths, checksum and stop byte check out."""

    control: int
    address: int
    ci: int
    data: bytes

    @property
    def carries_dlms(self) -> bool:
        """The CI field announces a DLMS/COSEM segment."""
        return self.ci <= CI_DLMS_MAX

    @property
    def last_segment(self) -> bool:
        """No further segment of this APDU follows."""
        return bool(self.ci & CI_LAST_SEGMENT)


def build_mbus_frame(ci: int, data: bytes, *, control: int = 0x53, address: int = 0xFF) -> bytes:
    """A long frame around ``data`` (for tests and the simulator)."""
    body = bytes([control, address, ci]) + data
    if len(body) > 0xFF:
        raise ValueError("an M-Bus long frame holds at most 252 data bytes")
    return bytes([START, len(body), len(body), START]) + body + bytes([sum(body) & 0xFF, STOP])


def parse_long_frame(buffer: bytes | bytearray, start: int) -> tuple[MbusFrame | None, int]:
    """``(frame, end)`` for a long frame at ``start``: ``end`` is the index after it, ``-1`` when it may still be
    arriving; ``frame`` is ``None`` when no valid frame starts there."""
    if start + HEADER > len(buffer):
        return None, -1
    length = buffer[start + 1]
    if buffer[start + 2] != length or buffer[start + 3] != START:
        return None, start + 1
    # Some Sagemcom meters put only the low byte of a 257-byte length in L (68 01 01 68 …): a frame whose checksum
    # and stop byte fit 256 bytes further on is that frame (docs/dlms.md §2.8)
    waiting = False
    for size in (length,) if length >= MIN_LENGTH else (length + 0x100,):  # below 3, L cannot be meant as it is
        end = start + HEADER + size + 2
        if end > len(buffer):
            waiting = True
            continue
        body = bytes(buffer[start + HEADER : start + HEADER + size])
        if buffer[end - 2] == sum(body) & 0xFF and buffer[end - 1] == STOP:
            return MbusFrame(body[0], body[1], body[2], body[3:]), end
    return (None, -1) if waiting else (None, start + 1)


class MbusReader:
    """Feed bytes as they arrive; get back the complete, valid long frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.junk_bytes = 0

    def feed(self, data: bytes) -> list[MbusFrame]:
        """Frames completed by ``data``, in order."""
        self._buffer += data
        frames: list[MbusFrame] = []
        buffer = self._buffer
        position, keep_from = 0, -1  # keep_from: the first start whose frame may still be arriving
        while (start := buffer.find(START, position)) >= 0:
            frame, end = parse_long_frame(buffer, start)
            if frame is None:
                if end < 0 and keep_from < 0:
                    keep_from = start
                position = start + 1  # a later start may hold a complete frame (this one may be a stray 0x68)
                continue
            self.junk_bytes += start
            del buffer[:end]
            frames.append(frame)
            position, keep_from = 0, -1
        cut = len(buffer) if keep_from < 0 else keep_from
        self.junk_bytes += cut
        del buffer[:cut]
        return frames
