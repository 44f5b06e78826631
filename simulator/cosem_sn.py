"""The simulated meter's READ service over short names (IEC 62056-5-3, the xDLMS Read service): ReadRequest
with variable names, parameterized access and block-number access; ReadResponse with data, data-access-errors and
data-block-results (docs/dlms-client.md §9).

Written from the standard for the meter's side, independently of the client's :mod:`custom_components.e450.wire
.dlms.client.shortname`: it shares only the A-XDR encoder and decoder.
"""

from __future__ import annotations

from typing import Final

from custom_components.e450.wire.dlms.axdr import Data, decode, decode_length, encode, encode_length
from custom_components.e450.wire.errors import DlmsError

from .cosem_objects import CosemObjects
from .faults import FaultPlan

READ_RESPONSE: Final = 0x0C
OBJECT_UNDEFINED: Final = 4
OTHER_REASON: Final = 250
LONG_READ_ABORTED: Final = 15  # long-get-aborted: the same table serves READ (Green Book Table 106)
DATA_BLOCK_NUMBER_INVALID: Final = 19
TYPE_UNMATCHED: Final = 12


class ShortNameReads:
    """ReadRequests on one association; an answer too long for one APDU goes in blocks numbered from 1."""

    def __init__(self, objects: CosemObjects, faults: FaultPlan) -> None:
        self.objects = objects
        self.faults = faults
        self._blocks: list[bytes] = []
        self._sent = 0  # the number of the last block sent: the client acknowledges it to get the next

    def reset(self) -> None:
        self._blocks, self._sent = [], 0

    def handle(self, apdu: bytes, limit: int) -> bytes:
        """The ReadResponse to ``apdu`` (a ReadRequest, tag 0x05) in APDUs of at most ``limit`` bytes."""
        try:
            count, pos = decode_length(apdu, 1)
            if apdu[pos : pos + 1] == b"\x05":  # block-number-access: the last block the client received
                return self._next_block(int.from_bytes(apdu[pos + 1 : pos + 3], "big"))
            results = []
            for _ in range(count):
                result, pos = self._one(apdu, pos)
                results.append(result)
        except (DlmsError, IndexError, ValueError):
            return bytes([READ_RESPONSE, 1, 1, TYPE_UNMATCHED])
        body = encode_length(count) + b"".join(results)
        if len(body) + 1 <= limit:
            return bytes([READ_RESPONSE]) + body
        # in blocks: one value alone, a list with its count and choices (the rest of the ReadResponse)
        raw = results[0][1:] if count == 1 else body
        size = limit - 8  # tag, count, choice, last, number, length
        self._blocks = [raw[start : start + size] for start in range(0, len(raw), size)]
        self._sent = 0
        return self._next_block(0)

    def _one(self, apdu: bytes, pos: int) -> tuple[bytes, int]:
        """One Variable-Access-Specification and its Read-Response choice (``00`` data or ``01`` error)."""
        kind, name = apdu[pos], int.from_bytes(apdu[pos + 1 : pos + 3], "big")
        selection: tuple[int, Data] | None = None
        pos += 3
        if kind == 0x04:  # parameterized access: selector, parameters
            parameters, end = decode(apdu, pos + 1)
            selection, pos = (apdu[pos], parameters), end
            if self.faults.refuses_selective_access():
                return bytes([0x01, OTHER_REASON]), pos
        elif kind != 0x02:
            raise ValueError(f"variable access specification 0x{kind:02x}")
        found = self.objects.resolve(name)
        if found is None:
            return bytes([0x01, OBJECT_UNDEFINED]), pos
        item, attribute = found
        value = self.objects.get(item.class_id, item.obis, attribute, selection)
        return (b"\x00" + encode(value) if isinstance(value, Data) else bytes([0x01, value])), pos

    def _next_block(self, acknowledged: int) -> bytes:
        if not self._blocks or acknowledged != self._sent:
            self.reset()
            return bytes([READ_RESPONSE, 1, 1, DATA_BLOCK_NUMBER_INVALID])
        if acknowledged >= 1 and self.faults.aborts_block_transfer():
            self.reset()
            return bytes([READ_RESPONSE, 1, 1, LONG_READ_ABORTED])
        piece = self._blocks.pop(0)
        self._sent += 1
        last = 0 if self._blocks else 1
        header = bytes([READ_RESPONSE, 1, 0x02, last]) + self._sent.to_bytes(2, "big")
        return header + encode_length(len(piece)) + piece
