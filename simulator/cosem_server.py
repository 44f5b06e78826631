"""The simulated meter's COSEM application layer: associations (AARQ → AARE, RLRQ → RLRE) and the GET service
(normal, with a list, answers in blocks), as a meter implements them (IEC 62056-5-3; docs/dlms-client.md §2-§3).
A short name meter accepts only the SN context and answers READ instead (:mod:`.cosem_sn`).

Written from the standard for the meter's side, independently of the client (:mod:`custom_components.e450.wire
.dlms.client.client`): it shares only the A-XDR encoder and decoder with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from custom_components.e450.wire.dlms.axdr import Data, decode, encode, encode_length
from custom_components.e450.wire.errors import DlmsError

from .cosem_hls import HLS_GMAC, LN_CIPHERED_CONTEXT, MANAGEMENT_CLIENT, SecureSession, ServerKeys
from .cosem_objects import SN_ASSOCIATION_BASE, CosemObjects
from .cosem_sn import ShortNameReads
from .faults import FaultPlan

# client SAP → the password it must give (None: the public client, no authentication), or the keys of HLS-GMAC
CLIENTS: Final[dict[int, str | ServerKeys | None]] = {
    16: None,
    32: "12345678",
    48: "12345678",
    MANAGEMENT_CLIENT: ServerKeys(),
}
SERVER_CONFORMANCE: Final = 0x00121D  # block transfer with get, multiple references, get, set, selective access, action
SERVER_CONFORMANCE_SN: Final = 0x101220  # read, block transfer with read, multiple references, parameterized access
SERVER_MAX_PDU: Final = 0x01F4  # what the meter receives, and the most it sends in one APDU
_LN_CONTEXT: Final = bytes.fromhex("60857405080101")
_SN_CONTEXT: Final = bytes.fromhex("60857405080102")
_LLS: Final = bytes.fromhex("60857405080201")
LONG_GET_ABORTED: Final = 15
OTHER_REASON: Final = 250
CIPHERING_OVERHEAD: Final = 22  # glo- tag, length (up to 3), SC, IC, GCM tag
NO_LONG_GET_IN_PROGRESS: Final = 16


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag, len(content)]) + content


def _fields(content: bytes) -> dict[int, bytes]:
    """BER fields with one-byte tags and short lengths (every AARQ field is short)."""
    fields: dict[int, bytes] = {}
    pos = 0
    while pos + 2 <= len(content):
        tag, size = content[pos], content[pos + 1]
        fields[tag] = content[pos + 2 : pos + 2 + size]
        pos += 2 + size
    return fields


@dataclass
class Association:
    """What was agreed: the conformance and the largest APDU the client takes."""

    conformance: int
    client_pdu: int


class Application:
    """One meter's application layer; an association lasts until RLRQ, a new SNRM or a DISC (:meth:`reset`)."""

    def __init__(self, objects: CosemObjects, faults: FaultPlan) -> None:
        self.objects = objects
        self.faults = faults
        self.association: Association | None = None
        self.secure: SecureSession | None = None  # an HLS association's ciphering
        self._blocks: list[bytes] = []  # the rest of an answer in blocks
        self._block_number = 0
        self.associations = 0  # accepted, for tests
        self.reads = ShortNameReads(objects, faults) if objects.short_names else None
        self._context = _SN_CONTEXT if objects.short_names else _LN_CONTEXT  # the only one it accepts

    def reset(self) -> None:
        self.association = None
        self.secure = None
        self._blocks = []
        if self.reads is not None:
            self.reads.reset()

    def handle(self, client: int, apdu: bytes) -> bytes:
        """The answer to one APDU from ``client``."""
        tag = apdu[:1]
        if tag == b"\x60":
            return self._associate(client, apdu)
        if tag == b"\x62":
            self.reset()
            return _tlv(0x63, _tlv(0x80, b"\x00"))
        if self.secure is not None and self.association is not None:
            return self._ciphered(self.secure, apdu)
        if tag == b"\xc0" and self.association is not None and self.reads is None:
            return self._get(apdu)
        if tag == b"\x05" and self.association is not None and self.reads is not None:
            return self.reads.handle(apdu, min(self.association.client_pdu, SERVER_MAX_PDU))
        return b"\xd8\x01\x02"  # exception-response: state error service-not-allowed, service unknown

    def _ciphered(self, secure: SecureSession, apdu: bytes) -> bytes:
        """After an HLS AARE: only glo-ciphered requests, and nothing but the reply to our challenge until it
        checked out (Green Book §9.2.7.4)."""
        plain = secure.open(apdu)
        if plain is None:
            return b"\xd8\x01\x05"  # exception-response: service-not-allowed, deciphering error
        self.objects.invocation_counter = secure.client_counter  # kept across associations, as a meter does
        if plain[0] == 0xC3:
            return secure.seal(secure.reply(plain))
        if not secure.authenticated:
            return b"\xd8\x01\x01"  # service-not-allowed, operation not possible: HLS still pending
        return secure.seal(self._get(plain))

    # --- association ------------------------------------------------------------------------------------------

    def _associate(self, client: int, apdu: bytes) -> bytes:
        fields = _fields(_fields(apdu).get(0x60, b""))
        context = _fields(fields.get(0xA1, b"")).get(0x06, b"")
        mechanism = fields.get(0x8B)
        secret = _fields(fields.get(0xAC, b"")).get(0x80)
        initiate = _fields(fields.get(0xBE, b"")).get(0x04, b"")
        required = CLIENTS.get(client)
        if self.faults.refuses_association():
            return self._aare(1, 1)  # rejected permanent, no reason given
        if required is not None and mechanism is None:
            return self._aare(1, 14)  # authentication required
        self.secure = None
        if isinstance(required, ServerKeys) and self.reads is not None:
            return self._aare(1, 11)  # no HLS over short names on this meter
        if isinstance(required, ServerKeys):
            title = _fields(fields.get(0xA6, b"")).get(0x04, b"")
            if mechanism != HLS_GMAC:
                return self._aare(1, 11)  # mechanism not recognised
            if context != LN_CIPHERED_CONTEXT or len(title) != 8 or not 8 <= len(secret or b"") <= 64:
                return self._aare(1, 2)
            # the client's invocation counter must go above the last this meter accepted, in any association
            secure = SecureSession(required, title, secret or b"", client_counter=self.objects.invocation_counter)
            opened = secure.open(initiate)
            if opened is None:
                return self._aare(1, 13)  # the ciphered InitiateRequest does not open: wrong keys, or a replay
            self.objects.invocation_counter = secure.client_counter
            initiate, mechanism, context, self.secure = opened, None, _LN_CONTEXT, secure
        if mechanism is not None and mechanism != _LLS:
            return self._aare(1, 11)  # mechanism not recognised (HLS from a client that has none)
        if context != self._context or len(initiate) < 14 or initiate[0] != 0x01:
            return self._aare(1, 2)  # application context name not supported
        if mechanism is not None and secret != (required if isinstance(required, str) else "").encode():
            return self._aare(1, 13)  # authentication failure
        pos = 4 if initiate[1:4] == b"\x00\x00\x00" else 5  # dedicated key, response allowed, QoS absent
        proposed = int.from_bytes(initiate[pos + 5 : pos + 8], "big")
        client_pdu = int.from_bytes(initiate[pos + 8 : pos + 10], "big")
        offered = SERVER_CONFORMANCE_SN if self.reads is not None else SERVER_CONFORMANCE
        self.association = Association(proposed & offered, client_pdu)
        self.associations += 1
        self._blocks = []
        return self._aare(0, 0)

    def _aare(self, result: int, diagnostic: int) -> bytes:
        secure = self.secure if result == 0 else None
        if result == 0:
            assert self.association is not None
            information = (
                b"\x08\x00\x06\x5f\x1f\x04\x00"
                + self.association.conformance.to_bytes(3, "big")
                + SERVER_MAX_PDU.to_bytes(2, "big")
                + (SN_ASSOCIATION_BASE if self.reads is not None else 0x0007).to_bytes(2, "big")  # VAA name
            )
        else:
            information = b"\x0e\x01\x06\x00"  # confirmed-service-error: initiate error, other
        if secure is None:
            return _tlv(0x61, self._aare_fields(self._context, result, diagnostic, information))
        # HLS: accepted with 'authentication required' until the client answers StoC (Green Book §9.3.2)
        hls = (
            _tlv(0xA4, _tlv(0x04, secure.keys.system_title))  # responding-AP-title
            + _tlv(0x88, b"\x07\x80")  # responder-acse-requirements: authentication
            + _tlv(0x89, HLS_GMAC)  # mechanism-name
            + _tlv(0xAA, _tlv(0x80, secure.stoc))  # responding-authentication-value: StoC
        )
        body = self._aare_fields(LN_CIPHERED_CONTEXT, 0, 14, secure.seal(information), hls)
        return _tlv(0x61, body)

    @staticmethod
    def _aare_fields(context: bytes, result: int, diagnostic: int, information: bytes, hls: bytes = b"") -> bytes:
        return (
            _tlv(0xA1, _tlv(0x06, context))
            + _tlv(0xA2, _tlv(0x02, bytes([result])))
            + _tlv(0xA3, _tlv(0xA1, _tlv(0x02, bytes([diagnostic]))))
            + hls
            + _tlv(0xBE, _tlv(0x04, information))
        )

    # --- GET ----------------------------------------------------------------------------------------------------

    def _result(self, descriptor: bytes, selection: tuple[int, Data] | None = None) -> bytes:
        value = self.objects.get(int.from_bytes(descriptor[0:2], "big"), descriptor[2:8], descriptor[8], selection)
        return b"\x00" + encode(value) if isinstance(value, Data) else bytes([0x01, value])

    def _selection(self, apdu: bytes) -> tuple[int, Data] | int | None:
        """A GET-Request-Normal's selective access (``01 selector parameters``), a data-access-result when it is
        refused or does not parse, ``None`` when there is none."""
        if apdu[12:13] != b"\x01":
            return None
        if self.faults.refuses_selective_access() or len(apdu) < 15:
            return OTHER_REASON
        try:
            parameters, end = decode(apdu, 14)
        except DlmsError:
            return OTHER_REASON
        return (apdu[13], parameters) if end == len(apdu) else OTHER_REASON

    def _get(self, apdu: bytes) -> bytes:
        kind, invoke = apdu[1], apdu[2]
        if kind == 0x01:  # normal: the descriptor, then the access selection
            selection = self._selection(apdu)
            if isinstance(selection, int):
                return bytes([0xC4, 0x01, invoke, 0x01, selection])
            answer = self._result(apdu[3:12], selection)
            if answer[0] == 0x01:
                return bytes([0xC4, 0x01, invoke]) + answer
            return self._maybe_blocks(0x01, invoke, answer, answer[1:])
        if kind == 0x03:  # with a list
            count, pos = apdu[3], 4
            results = []
            for _ in range(count):
                results.append(self._result(apdu[pos : pos + 9]))
                pos += 10 if apdu[pos + 9] == 0 else len(apdu)  # selective access in a list: not offered
            joined = encode_length(count) + b"".join(results)
            return self._maybe_blocks(0x03, invoke, joined, joined)
        if kind == 0x02:  # next block
            return self._next_block(invoke, int.from_bytes(apdu[3:7], "big"))
        return b"\xd8\x01\x02"

    def _maybe_blocks(self, kind: int, invoke: int, whole: bytes, raw: bytes) -> bytes:
        """The answer in one APDU when it fits the client's and the meter's limit, else its first block."""
        assert self.association is not None
        limit = min(self.association.client_pdu, SERVER_MAX_PDU) - (CIPHERING_OVERHEAD if self.secure else 0)
        if len(whole) + 3 <= limit:
            return bytes([0xC4, kind, invoke]) + whole
        size = limit - 16  # header, block number, length
        self._blocks = [raw[start : start + size] for start in range(0, len(raw), size)]
        self._block_number = 0
        return self._next_block(invoke, 0)

    def _next_block(self, invoke: int, acknowledged: int) -> bytes:
        if not self._blocks or acknowledged != self._block_number:
            self._blocks = []
            return bytes([0xC4, 0x02, invoke, 0x01]) + (acknowledged + 1).to_bytes(4, "big") + bytes([0x01, 16])
        if self._block_number >= 1 and self.faults.aborts_block_transfer():
            self._blocks = []
            return bytes([0xC4, 0x02, invoke, 0x01]) + (acknowledged + 1).to_bytes(4, "big") + bytes([0x01, 15])
        piece = self._blocks.pop(0)
        self._block_number += 1
        last = b"\x01" if not self._blocks else b"\x00"
        return (
            bytes([0xC4, 0x02, invoke])
            + last
            + self._block_number.to_bytes(4, "big")
            + b"\x00"
            + encode_length(len(piece))
            + piece
        )
