"""DLMS/COSEM HDLC frames (IEC 62056-46): the checksum, the frame parser and a builder, shared by the push
detection of the IEC 62056-21 session and the push decoder (``..dlms``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

FLAG: Final = 0x7E
FORMAT_TYPE_3: Final = 0xA0
SEGMENTED: Final = 0x08  # in the first format byte
MIN_FRAME: Final = 7  # format (2) + 1-byte addresses (2) + control + FCS (2)
GLO_CIPHERING: Final = 0xDB  # general-glo-ciphering APDU (DLMS green book 9.3)
GENERAL_BLOCK_TRANSFER: Final = 0xE0
LLC_HEADERS: Final = (b"\xe6\xe7\x00", b"\xe6\xe6\x00")  # response (pushes), command


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE: Final = _crc_table()


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25 (reflected 0x1021, init and xorout 0xFFFF): the HDLC HCS and FCS. Table-driven."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


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

    @property
    def apdu_start(self) -> bytes:
        """The start of the APDU: without the LLC header and, in block transfer, without the block header."""
        info = strip_llc(self.information)
        if info[:1] == bytes([GENERAL_BLOCK_TRANSFER]) and len(info) > 7:
            # E0 | block control | block number (2) | acknowledged (2) | A-XDR length | block data
            size_byte = info[6]
            return info[7 if size_byte < 0x80 else 7 + (size_byte & 0x7F) :]
        return info

    @property
    def encrypted(self) -> bool:
        """The APDU is general-glo-ciphering (0xDB), directly or inside block transfer."""
        return self.apdu_start[:1] == bytes([GLO_CIPHERING])

    @property
    def system_title(self) -> bytes | None:
        """The sender's 8-byte system title, which a ciphered push carries (``LGZg…`` on an E450)."""
        apdu = self.apdu_start
        return apdu[2:10] if self.encrypted and apdu[1:2] == b"\x08" and len(apdu) >= 10 else None


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


def build_hdlc_frame(information: bytes, *, destination: bytes = b"\xce\xff", source: bytes = b"\x03") -> bytes:
    """A UI frame (control 0x13) around ``information``, as E450 pushes are framed."""
    header_length = 2 + len(destination) + len(source) + 1
    length = header_length + 2 + len(information) + 2
    header = bytes([0xA0 | (length >> 8), length & 0xFF]) + destination + source + b"\x13"
    hcs = crc16_x25(header).to_bytes(2, "little")
    body = header + hcs + information
    return bytes([FLAG]) + body + crc16_x25(body).to_bytes(2, "little") + bytes([FLAG])
