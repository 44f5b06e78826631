"""Parse what a port delivered — echo lines, identification, data message, garbage — in one go.

This is the offline view used by the ``parse`` command and by tests on recorded telegrams; the live
:class:`~.session.Session` applies the same frame and grammar functions incrementally.
"""

from __future__ import annotations

from dataclasses import dataclass
import re

from ..errors import FramingError
from ..models import BccStatus, DataSet, Identification, Readout
from .dataset import parse_data_block
from .frames import SOH, STX, parse_identification, split_data_message

_REQUEST_ECHO = re.compile(rb"^/[?#][^!\r\n]*!\s*$")
_REQUEST_ECHO_LINE = re.compile(rb"/[?#][^!\r\n]*!\r?\n?")
_PARITY = bytes(byte & 0x7F for byte in range(256))  # bytes.translate table: drop bit 7
_STX, _SOH = bytes([STX]), bytes([SOH])


@dataclass(frozen=True, slots=True)
class Transcript:
    """The identification, data sets and BCC verdict found in a byte capture."""

    identification: Identification | None
    datasets: tuple[DataSet, ...]
    bcc: BccStatus

    def readout(self, raw: bytes = b"") -> Readout:
        """The same content as a :class:`Readout`."""
        return Readout(self.identification, self.datasets, self.bcc, raw)


def find_identification(data: bytes, *, complete: bool = False) -> tuple[Identification | None, int]:
    """First ``/`` line that is not our own request coming back; returns it and where its line ends.

    ``complete``: only a line whose LF has arrived counts (the live session must not act on half a line).
    """
    position = 0
    while (slash := data.find(b"/", position)) >= 0:
        end = data.find(b"\n", slash)
        if end < 0 and complete:
            return None, 0
        line_end = len(data) if end < 0 else end + 1
        line = data[slash:line_end].rstrip(b"\r\n")
        stx = line.find(_STX)
        if stx >= 0:  # a data message starts on the same line: the identification cannot be after it
            line, line_end = line[:stx], slash + stx
        if _REQUEST_ECHO.match(line) is None:
            try:
                return parse_identification(line), line_end
            except FramingError:
                pass
        position = line_end
    return None, 0


def parse_transcript(raw: bytes) -> Transcript:
    """Parse a capture. Raises :class:`FramingError` when it holds neither identification nor data sets."""
    data = bytes(raw).translate(_PARITY)  # the parity bit stays in bit 7 at 8-bit port settings
    identification, after_ident = find_identification(data)
    starts = [index for index in (data.find(_STX, after_ident), data.find(_SOH, after_ident)) if index >= 0]
    frame_start = min(starts, default=-1)
    bcc = BccStatus.ABSENT
    if frame_start >= 0:
        blocks: list[bytes] = []
        position = frame_start
        while True:
            cut = split_data_message(data, position)
            if cut is None:  # no ETX: keep what arrived, unverified
                blocks.append(data[position + 1 :])
                break
            message, position = cut
            blocks.append(message.block)
            if message.bcc is BccStatus.MISMATCH or bcc is BccStatus.ABSENT:
                bcc = message.bcc if bcc is not BccStatus.MISMATCH else bcc
            if not message.partial:
                break
            next_start = data.find(_STX, position)
            if next_start < 0:
                break
            position = next_start
        datasets = parse_data_block(b"".join(blocks))
    elif identification is not None:
        datasets = parse_data_block(data[after_ident:])
    else:  # bare data lines (a capture without framing): drop our own request echoes first
        datasets = parse_data_block(_REQUEST_ECHO_LINE.sub(b"", data))
    if identification is None and not datasets:
        raise FramingError("no identification and no data sets found")
    return Transcript(identification, datasets, bcc)
