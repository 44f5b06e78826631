"""IEC 62056-21 messages: build and recognise the bytes on the wire (IEC 62056-21:2002 §6.3; docs/iec62056-21.md §2)."""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Final

from ..errors import FramingError
from ..models import BccStatus, Identification, ProtocolMode

SOH: Final = 0x01
STX: Final = 0x02
ETX: Final = 0x03
EOT: Final = 0x04
ACK: Final = 0x06
NAK: Final = 0x15
CRLF: Final = b"\r\n"
ETX_BYTE: Final = bytes([ETX])
EOT_BYTE: Final = bytes([EOT])

# Baud rate character Z (IEC 62056-21 6.3.14): digits for modes C/E, letters for mode B.
BAUD_MODE_C: Final[dict[str, int]] = {
    "0": 300,
    "1": 600,
    "2": 1200,
    "3": 2400,
    "4": 4800,
    "5": 9600,
    "6": 19200,
}
BAUD_MODE_B: Final[dict[str, int]] = {
    "A": 600,
    "B": 1200,
    "C": 2400,
    "D": 4800,
    "E": 9600,
    "F": 19200,
}
BAUD_CHAR_C: Final[dict[int, str]] = {baud: char for char, baud in BAUD_MODE_C.items()}
INITIAL_BAUD: Final = 300

# "/" then 3 flag letters, the baud character, any number of "\W" escapes, the identification.
_IDENT = re.compile(rb"/([A-Za-z]{2}[A-Za-z])(.)((?:\\.)*)([^\r\n]*)")


def bcc(data: bytes) -> int:
    """XOR of the bytes, 7-bit (IEC 62056-21:2002 §6.2, ISO 1155 over SOH/STX-exclusive … ETX/EOT-inclusive)."""
    # fold the block as one integer: each step XORs its upper half onto its lower half, bytewise
    value, size = int.from_bytes(data, "little"), len(data)
    while size > 1:
        half = (size + 1) >> 1
        value = (value >> (half << 3)) ^ (value & ((1 << (half << 3)) - 1))
        size = half
    return value & 0x7F


def build_request(address: str = "") -> bytes:
    """Sign-on request ``/?[address]!CRLF`` (6.3.1); the address may be a serial or a password."""
    if any(char in address for char in "/!?\r\n") or not address.isprintable():
        raise ValueError(f"invalid device address {address!r}")
    return b"/?" + address.encode("ascii") + b"!" + CRLF


def build_ack(baud_char: str, mode_char: str = "0", protocol_char: str = "0") -> bytes:
    """Acknowledgement/option select ``ACK V Z Y CRLF`` (6.3.3); Y=0 data readout."""
    return bytes([ACK]) + f"{protocol_char}{baud_char}{mode_char}".encode("ascii") + CRLF


def build_command(command: str, data: bytes = b"", *, partial: bool = False) -> bytes:
    """Programming command ``SOH C D STX data ETX BCC`` (6.3.7); ``B0`` has no data part."""
    body = command.encode("ascii") + (bytes([STX]) + data if data else b"") + bytes([EOT if partial else ETX])
    return bytes([SOH]) + body + bytes([bcc(body)])


def build_data_message(block: bytes, *, partial: bool = False) -> bytes:
    """``STX data ETX BCC`` (§6.3.4); the data block carries its own ``!CRLF`` terminator."""
    body = block + bytes([EOT if partial else ETX])
    return bytes([STX]) + body + bytes([bcc(body)])


def parse_identification(line: bytes) -> Identification:
    """Parse ``/XXXZ[\\W]*ident`` (6.3.2). Any ``\\X`` pair is accepted (meters use ``\\2``, ``\\@``, ``\\3``)."""
    match = _IDENT.search(line)
    if match is None:
        raise FramingError(f"not an identification message: {line[:40]!r}")
    flag, baud_raw, escapes, ident = match.groups()
    baud_char = baud_raw.decode("ascii", "replace")
    if baud_char in BAUD_MODE_C:
        mode, max_baud = ProtocolMode.C, BAUD_MODE_C[baud_char]
    elif baud_char in BAUD_MODE_B:
        mode, max_baud = ProtocolMode.B, BAUD_MODE_B[baud_char]
    else:
        # Any other character: mode A, 300 Bd only. Reserved digits 7-9 land here too.
        mode, max_baud = ProtocolMode.A, INITIAL_BAUD
    capabilities = tuple(escapes.decode("ascii", "replace")[1::2])
    return Identification(
        manufacturer=flag.decode("ascii"),
        baud_char=baud_char,
        mode=mode,
        max_baud=max_baud,
        capabilities=capabilities,
        model=ident.decode("ascii", "replace").strip(),
    )


@dataclass(frozen=True, slots=True)
class DataMessage:
    """A framed data block: its text between STX and ETX, and the BCC verdict."""

    block: bytes
    bcc: BccStatus
    expected_bcc: int | None = None
    received_bcc: int | None = None
    partial: bool = False


def split_data_message(buffer: bytes, start: int) -> tuple[DataMessage, int] | None:
    """Cut one ``STX … ETX|EOT BCC`` message starting at ``buffer[start]`` (an STX or SOH).

    Returns the message and the index after its BCC, or ``None`` when it is still incomplete. Exactly one byte
    after ETX/EOT is the BCC, whatever its value (it may be CR, LF or ``!``).
    """
    ends = [index for index in (buffer.find(ETX_BYTE, start + 1), buffer.find(EOT_BYTE, start + 1)) if index >= 0]
    if not ends:
        return None
    index = min(ends)
    if index + 1 >= len(buffer):
        return None
    body = buffer[start + 1 : index + 1]
    expected, received = bcc(body), buffer[index + 1] & 0x7F
    status = BccStatus.OK if expected == received else BccStatus.MISMATCH
    text = body[:-1]
    if buffer[start] == SOH and STX in text:
        text = text[text.index(STX) + 1 :]
    return DataMessage(text, status, expected, received, partial=buffer[index] == EOT), index + 2
