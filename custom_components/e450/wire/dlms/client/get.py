"""The xDLMS GET service with logical name referencing: normal, with a list, and answers in blocks
(IEC 62056-5-3 §6.6 and §6.7, Green Book §9.3.6; docs/dlms-client.md §3).

Requests are built here and answers parsed here; which to send when is the client's (:mod:`.client`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from ...errors import ClientProblem, DlmsClientError, DlmsError
from ..axdr import Data, decode, decode_length, encode_length, obis_text

GET_REQUEST: Final = 0xC0
GET_RESPONSE: Final = 0xC4
EXCEPTION_RESPONSE: Final = 0xD8
CONFIRMED_SERVICE_ERROR: Final = 0x0E
NORMAL: Final = 0x01
NEXT: Final = 0x02
WITH_LIST: Final = 0x03
WITH_DATABLOCK: Final = 0x02  # the response's choice for an answer in blocks
PRIORITY_HIGH: Final = 0x80
CONFIRMED: Final = 0x40


class DataAccessResult(IntEnum):
    """Why the meter could not give an attribute (Green Book Table 106)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250

    @classmethod
    def of(cls, code: int) -> DataAccessResult:
        """The member, or ``OTHER_REASON`` for a code this table does not name."""
        try:
            return cls(code)
        except ValueError:
            return cls.OTHER_REASON


Result = Data | DataAccessResult  # what one attribute read gave


@dataclass(frozen=True, slots=True)
class Attribute:
    """A COSEM attribute descriptor: interface class, logical name (OBIS, six bytes) and attribute index."""

    class_id: int
    obis: bytes
    attribute: int

    def encode(self) -> bytes:
        return self.class_id.to_bytes(2, "big") + self.obis + bytes([self.attribute])

    def __str__(self) -> str:
        return f"class {self.class_id} {obis_text(self.obis)} attribute {self.attribute}"


def invoke_byte(invoke_id: int) -> int:
    """Invoke-id-and-priority: high priority, confirmed service, the id in the low four bits."""
    return PRIORITY_HIGH | CONFIRMED | (invoke_id & 0x0F)


def get_normal(invoke_id: int, attribute: Attribute, access: bytes = b"") -> bytes:
    """GET-Request-Normal; ``access`` is a selective-access selector and its parameters (A-XDR), if any."""
    selection = b"\x01" + access if access else b"\x00"
    return bytes([GET_REQUEST, NORMAL, invoke_byte(invoke_id)]) + attribute.encode() + selection


def get_next(invoke_id: int, block_number: int) -> bytes:
    """GET-Request-Next: the block after ``block_number``."""
    return bytes([GET_REQUEST, NEXT, invoke_byte(invoke_id)]) + block_number.to_bytes(4, "big")


def get_with_list(invoke_id: int, attributes: list[Attribute]) -> bytes:
    """GET-Request-With-List (needs the multiple-references conformance bit)."""
    body = b"".join(attribute.encode() + b"\x00" for attribute in attributes)
    return bytes([GET_REQUEST, WITH_LIST, invoke_byte(invoke_id)]) + encode_length(len(attributes)) + body


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a GET answer in blocks: raw data to join, or the reason the transfer stopped."""

    last: bool
    number: int
    raw: bytes
    error: DataAccessResult | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete GET answer: one result per attribute asked for."""

    results: tuple[Result, ...]


def _result(data: bytes, pos: int) -> tuple[Result, int]:
    """Get-Data-Result: ``00`` + Data, or ``01`` + data-access-result."""
    if pos >= len(data):
        raise DlmsClientError(ClientProblem.MALFORMED, "GET answer cut short")
    if data[pos] == 0x00:
        try:
            return decode(data, pos + 1)
        except DlmsError as err:
            raise DlmsClientError(ClientProblem.MALFORMED, err.detail) from err
    if data[pos] == 0x01 and pos + 1 < len(data):
        return DataAccessResult.of(data[pos + 1]), pos + 2
    raise DlmsClientError(ClientProblem.MALFORMED, f"Get-Data-Result choice 0x{data[pos]:02x}")


def parse_list_results(data: bytes, pos: int = 0) -> tuple[Result, ...]:
    """``count`` Get-Data-Results spanning the rest of ``data``."""
    try:
        count, pos = decode_length(data, pos)
    except DlmsError as err:
        raise DlmsClientError(ClientProblem.MALFORMED, err.detail) from err
    results = []
    for _ in range(count):
        result, pos = _result(data, pos)
        results.append(result)
    if pos != len(data):
        raise DlmsClientError(ClientProblem.MALFORMED, f"{len(data) - pos} bytes after the GET results")
    return tuple(results)


def parse_single_result(data: bytes) -> Result:
    """The Data a GET answer in blocks carries, once its blocks are joined (normal GET)."""
    try:
        value, end = decode(data)
    except DlmsError as err:
        raise DlmsClientError(ClientProblem.MALFORMED, err.detail) from err
    if end != len(data):
        raise DlmsClientError(ClientProblem.MALFORMED, f"{len(data) - end} bytes after the value")
    return value


def check_not_refused(apdu: bytes) -> None:
    """An exception-response or confirmed-service-error instead of an answer: the meter rejected the request."""
    if apdu[:1] == bytes([EXCEPTION_RESPONSE]):
        raise DlmsClientError(ClientProblem.REJECTED, f"exception-response {apdu[1:].hex()}")
    if apdu[:1] == bytes([CONFIRMED_SERVICE_ERROR]):
        raise DlmsClientError(ClientProblem.REJECTED, f"confirmed-service-error {apdu[1:].hex()}")


def parse_get_response(apdu: bytes, invoke_id: int) -> Answer | Block:
    """A GET-Response: normal or with a list (an :class:`Answer`), or one block of an answer in blocks."""
    check_not_refused(apdu)
    if len(apdu) < 4 or apdu[0] != GET_RESPONSE:
        raise DlmsClientError(ClientProblem.MALFORMED, f"expected a GET-Response, got {apdu[:2].hex()}")
    if apdu[2] & 0x0F != invoke_id & 0x0F:
        raise DlmsClientError(ClientProblem.MALFORMED, f"answer to invoke id {apdu[2] & 0x0F}, not {invoke_id}")
    kind = apdu[1]
    if kind == NORMAL:
        result, end = _result(apdu, 3)
        if end != len(apdu):
            raise DlmsClientError(ClientProblem.MALFORMED, f"{len(apdu) - end} bytes after the GET result")
        return Answer((result,))
    if kind == WITH_LIST:
        return Answer(parse_list_results(apdu, 3))
    if kind == WITH_DATABLOCK and len(apdu) >= 9:
        last, number = apdu[3] != 0, int.from_bytes(apdu[4:8], "big")
        if apdu[8] == 0x01 and len(apdu) >= 10:
            return Block(True, number, b"", DataAccessResult.of(apdu[9]))
        if apdu[8] == 0x00:
            try:
                size, start = decode_length(apdu, 9)
            except DlmsError as err:
                raise DlmsClientError(ClientProblem.MALFORMED, err.detail) from err
            raw = apdu[start : start + size]
            if len(raw) == size and start + size == len(apdu):
                return Block(last, number, raw)
    raise DlmsClientError(ClientProblem.MALFORMED, f"GET-Response {apdu[:12].hex()}")
