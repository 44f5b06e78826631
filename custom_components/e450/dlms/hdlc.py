"""HDLC frame reader for DLMS/COSEM pushes (IEC 62056-46), sans-IO.

Frames are cut by the length in the format field: E450 pushes carry 0x7E unescaped inside the information field,
so scanning for flags alone would split real frames. Every candidate is checked (format type, closing flag, HCS,
FCS) before it is believed; anything else is junk and skipped byte by byte (resynchronisation).
"""

from __future__ import annotations

from typing import Final

from ..iec62056.hdlc import FLAG, HdlcFrame, frame_length, parse_frame

__all__ = ["HdlcFrame", "HdlcReader", "parse_frame"]

MAX_FRAME: Final = 0x7FF  # 11-bit length


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
            length = frame_length(buffer, start)
            if length is None:
                continue
            end = start + 1 + length  # index of the closing flag
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
