"""HDLC frames as DLMS/COSEM uses them (frame format type 3: IEC 62056-46 §6.4, Green Book §8.4; docs/dlms.md
§2): the checksum, the frame parser, the addresses, builders and a streaming reader. Shared by detection, the push
decoder, the DLMS client's link (:mod:`..dlms.client.hdlc_link`) and the simulated meter; knows nothing of the
APDUs inside nor of the connection's state.

Frames are cut by the length in the format field, not by scanning for flags: E450 pushes carry 0x7E unescaped
inside the information field (docs/dlms.md §2.2). Every candidate is checked (format type, closing flag, HCS, FCS)
before it is believed; anything else is junk and skipped byte by byte (resynchronisation).
"""

from __future__ import annotations

from binascii import crc_hqx
from dataclasses import dataclass
from typing import Final

FLAG: Final = 0x7E
FORMAT_TYPE_3: Final = 0xA0
SEGMENTED: Final = 0x08  # in the first format byte
MIN_FRAME: Final = 7  # format (2) + 1-byte addresses (2) + control + FCS (2)
MAX_FRAME: Final = 0x7FF  # 11-bit length
LLC_HEADERS: Final = (b"\xe6\xe7\x00", b"\xe6\xe6\x00")  # response (pushes), command


_REVERSED: Final = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))  # each byte's bits in reverse order


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25 (reflected 0x1021, init and xorout 0xFFFF): the HDLC HCS and FCS.

    The reflected CRC is the plain CRC-16/CCITT (``binascii.crc_hqx``, in C) of the bit-reversed bytes, with its
    result bit-reversed: fifteen times faster than a table-driven loop in Python.
    """
    crc = crc_hqx(bytes(data).translate(_REVERSED), 0xFFFF)
    return ((_REVERSED[crc & 0xFF] << 8) | _REVERSED[crc >> 8]) ^ 0xFFFF


def strip_llc(information: bytes) -> bytes:
    """The APDU bytes without the ``E6 E7 00`` LLC header (only the first frame of a push has one)."""
    for header in LLC_HEADERS:
        if information.startswith(header):
            return information[len(header) :]
    return information


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


def frame_length(data: bytes | bytearray, start: int) -> int | None:
    """The length field of a frame opening at ``start`` (bytes between the flags), ``None`` if no frame can."""
    if start + 3 > len(data) or data[start + 1] & 0xF0 != FORMAT_TYPE_3:
        return None
    length = ((data[start + 1] & 0x07) << 8) | data[start + 2]
    return length if length >= MIN_FRAME else None


def find_hdlc_frame(data: bytes) -> HdlcFrame | None:
    """The first complete, checksum-valid frame in ``data``. Frames are cut by the length field, not by
    scanning for 0x7E, because the E450 does not byte-stuff its information field."""
    position = 0
    while (start := data.find(bytes([FLAG]), position)) >= 0:
        position = start + 1
        length = frame_length(data, start)
        if length is None or start + 1 + length >= len(data) or data[start + 1 + length] != FLAG:
            continue
        if (frame := parse_frame(data[start + 1 : start + 1 + length])) is not None:
            return frame
    return None


# Control field values (IEC 62056-46 §6.4.3; docs/dlms-client.md §1): the poll/final bit is set on every frame
# of a normal response mode exchange with a window of one.
POLL_FINAL: Final = 0x10
SNRM: Final = 0x93
UA: Final = 0x73
DISC: Final = 0x53
DM: Final = 0x1F
FRMR: Final = 0x97
UI: Final = 0x13
RR: Final = 0x01  # | N(R) << 5
RNR: Final = 0x05


def information_control(send_sequence: int, receive_sequence: int) -> int:
    """An I-frame's control: ``N(R) P N(S) 0`` (sequence numbers modulo 8)."""
    return ((receive_sequence & 7) << 5) | POLL_FINAL | ((send_sequence & 7) << 1)


def receive_ready_control(receive_sequence: int) -> int:
    """An RR frame's control: ``N(R) P 0 0 0 1``."""
    return ((receive_sequence & 7) << 5) | POLL_FINAL | RR


def encode_address(value: int, size: int) -> bytes:
    """An HDLC address of ``size`` (1, 2 or 4) bytes: seven bits per byte, bit 0 set on the last (§6.4.2.2).

    A 2-byte server address carries the upper (logical) address in its first byte and the lower (physical) in its
    second; a 4-byte one gives each 14 bits."""
    if size not in (1, 2, 4) or value < 0 or value >= 1 << (7 * size):
        raise ValueError(f"address {value} does not fit in {size} byte(s)")
    septets = [(value >> (7 * index)) & 0x7F for index in reversed(range(size))]
    return bytes(septet << 1 for septet in septets[:-1]) + bytes([(septets[-1] << 1) | 1])


def decode_address(raw: bytes) -> int:
    """The value of an address as :func:`encode_address` wrote it."""
    value = 0
    for byte in raw:
        value = (value << 7) | (byte >> 1)
    return value


def server_address(logical: int, physical: int | None, size: int | None = None) -> bytes:
    """The server (meter) address: upper = logical device (1 = management), lower = physical device.

    ``physical`` ``None`` gives the 1-byte form (upper address only). Without ``size``, two bytes when both fit in
    seven bits, else four (fourteen bits each)."""
    if physical is None:
        return encode_address(logical, 1)
    if size is None:
        size = 2 if logical < 0x80 and physical < 0x80 else 4
    shift = 7 if size == 2 else 14
    if size not in (2, 4) or logical >= 1 << shift or physical >= 1 << shift:
        raise ValueError(f"logical {logical} / physical {physical} do not fit in a {size}-byte address")
    return encode_address((logical << shift) | physical, size)


def physical_from_serial(serial_number: int) -> int:
    """The lower HDLC address a meter derives from its serial number, ``SN mod 10000 + 1000`` (docs/dlms-client.md
    §1.2): always four digits, so a 4-byte address."""
    return serial_number % 10_000 + 1_000


def build_frame(
    destination: bytes, source: bytes, control: int, information: bytes = b"", *, segmented: bool = False
) -> bytes:
    """One frame between flags; the HCS only when an information field follows (§6.4.4)."""
    header_length = 2 + len(destination) + len(source) + 1
    length = header_length + (2 + len(information) if information else 0) + 2
    if length > MAX_FRAME:
        raise ValueError(f"a frame of {length} bytes does not fit the 11-bit length field")
    header = (
        bytes([FORMAT_TYPE_3 | (SEGMENTED if segmented else 0) | (length >> 8), length & 0xFF])
        + destination
        + source
        + bytes([control])
    )
    body = header + (crc16_x25(header).to_bytes(2, "little") + information if information else b"")
    return bytes([FLAG]) + body + crc16_x25(body).to_bytes(2, "little") + bytes([FLAG])


def build_hdlc_frame(information: bytes, *, destination: bytes = b"\xce\xff", source: bytes = b"\x03") -> bytes:
    """A UI frame (control 0x13) around ``information``, as E450 pushes are framed."""
    header_length = 2 + len(destination) + len(source) + 1
    length = header_length + 2 + len(information) + 2
    header = bytes([0xA0 | (length >> 8), length & 0xFF]) + destination + source + b"\x13"
    hcs = crc16_x25(header).to_bytes(2, "little")
    body = header + hcs + information
    return bytes([FLAG]) + body + crc16_x25(body).to_bytes(2, "little") + bytes([FLAG])


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
            self.junk_bytes += start - buffer.count(FLAG, 0, start)
            del buffer[:end]  # keep the closing flag: some meters let it open the next frame
            return frame
        cut = len(buffer) if keep_from is None else keep_from
        if cut:
            self.junk_bytes += cut - buffer.count(FLAG, 0, cut)
            del buffer[:cut]
        if len(buffer) > 2 * (MAX_FRAME + 2):  # cannot happen with a bounded length field; belt and braces
            self.junk_bytes += len(buffer)
            buffer.clear()
        return None
