"""Short name referencing: the xDLMS Read service on base names (IEC 62056-5-3: ReadRequest/ReadResponse and the
Variable-Access-Specification; docs/dlms-client.md §9).

A meter that speaks short names lists its objects in the SN association (base name 0xFA00, attribute 2): each
entry gives the object's base name, class, version and logical name. Attribute ``n`` of an object is the variable
named ``base_name + 8·(n − 1)`` (Blue Book §4.1, the same for every interface class). :class:`ShortNames` keeps
what the list taught across reads; :class:`ShortNameService` turns the reads planned on logical names
(:mod:`.reading`, :mod:`.profile`) into ReadRequests, so nothing above the client knows which referencing is in
use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ...errors import ClientProblem, DlmsClientError, DlmsError
from ...models import Identification, LoadProfile, Readout, Timings
from ..axdr import ARRAY, INT16, STRUCTURE, UINT16, Data, decode_length, encode_length, obis_bytes
from .association import Association
from .cosem import OBJECT_LIST
from .get import Answer, Attribute, Block, DataAccessResult, Result, check_not_refused, parse_list_results
from .reading import Read, Request

READ_REQUEST: Final = 0x05
READ_RESPONSE: Final = 0x0C
VARIABLE_NAME: Final = 0x02  # Variable-Access-Specification choices (IEC 62056-5-3, the xDLMS ASN.1)
PARAMETERISED_ACCESS: Final = 0x04
BLOCK_NUMBER_ACCESS: Final = 0x05
DATA_BLOCK_RESULT: Final = 0x02  # Read-Response choice: one block of an answer in blocks
ASSOCIATION_SN: Final = 12
SN_ASSOCIATION_BASE: Final = 0xFA00  # the current SN association's base name (Blue Book §4.4.3)
# the object list of the current SN association: attribute 2, base name 0xFA00 + 8
SN_OBJECT_LIST: Final = Attribute(ASSOCIATION_SN, obis_bytes("0-0:40.0.0"), 2)


def short_name(base_name: int, attribute: int) -> int:
    """The variable name of attribute ``attribute`` of the object at ``base_name`` (Blue Book §4.1)."""
    return (base_name + 8 * (attribute - 1)) & 0xFFFF


def read_request(names: list[int], access: bytes = b"") -> bytes:
    """A ReadRequest of ``names`` (variable-name), or of one name with parameterized access (``access``: the
    selector and its parameters, A-XDR, as selective access carries them over logical names)."""
    if access:
        return bytes([READ_REQUEST, 1, PARAMETERISED_ACCESS]) + names[0].to_bytes(2, "big") + access
    specs = b"".join(bytes([VARIABLE_NAME]) + name.to_bytes(2, "big") for name in names)
    return bytes([READ_REQUEST]) + encode_length(len(names)) + specs


def read_next(block_number: int) -> bytes:
    """A ReadRequest for the block after ``block_number`` of an answer in blocks (block-number-access carries the
    number of the last block received, as GET-Request-Next does)."""
    return bytes([READ_REQUEST, 1, BLOCK_NUMBER_ACCESS]) + block_number.to_bytes(2, "big")


def parse_read_response(apdu: bytes) -> Answer | Block:
    """A ReadResponse: one Read-Response choice per name (``00`` data, ``01`` data-access-error, the same
    encoding as a GET's results), or one ``data-block-result`` {last-block, block-number (2), raw-data}."""
    check_not_refused(apdu)
    if len(apdu) < 3 or apdu[0] != READ_RESPONSE:
        raise DlmsClientError(ClientProblem.MALFORMED, f"expected a ReadResponse, got {apdu[:2].hex()}")
    if apdu[1:3] == bytes([1, DATA_BLOCK_RESULT]):
        try:
            size, start = decode_length(apdu, 6)
        except DlmsError as err:
            raise DlmsClientError(ClientProblem.MALFORMED, f"ReadResponse {apdu[:8].hex()}") from err
        raw = apdu[start : start + size]
        if start + size != len(apdu):
            raise DlmsClientError(ClientProblem.MALFORMED, f"data-block-result of {size} bytes in {len(apdu)}")
        return Block(apdu[3] != 0, int.from_bytes(apdu[4:6], "big"), raw)
    return Answer(parse_list_results(apdu, 1))


@dataclass
class ShortNames:
    """What an SN association's object list taught: each logical name's base name, and the list itself (kept by
    the caller across reads, so it is read once)."""

    bases: dict[bytes, int] = field(default_factory=dict)  # logical name → base name
    listing: Data | None = None  # the object list as the meter gave it

    @property
    def known(self) -> bool:
        """The object list has been read."""
        return self.listing is not None

    def learn(self, result: Result) -> None:
        """``array of {long base_name, long-unsigned class_id, unsigned version, octet-string logical_name}``."""
        if not isinstance(result, Data) or result.tag != ARRAY:
            why = result.name.lower() if isinstance(result, DataAccessResult) else f"type 0x{result.tag:02x}"
            raise DlmsClientError(ClientProblem.OBJECT_UNAVAILABLE, f"SN association's object list: {why}")
        bases = {}
        for item in result.items:
            fields = item.items
            shaped = item.tag == STRUCTURE and len(fields) >= 4 and fields[3].is_octets(6)
            if shaped and fields[0].tag in (INT16, UINT16):
                base, obis = fields[0].value, fields[3].value
                assert isinstance(base, int) and isinstance(obis, bytes)
                bases[obis] = base & 0xFFFF
        self.bases, self.listing = bases, result

    def name_of(self, attribute: Attribute) -> int | None:
        """The variable name of ``attribute``, or ``None`` when the meter lists no such object."""
        if attribute == SN_OBJECT_LIST:
            return short_name(SN_ASSOCIATION_BASE, 2)
        base = self.bases.get(attribute.obis)
        return short_name(base, attribute.attribute) if base is not None else None


class ShortNameService:
    """Reads planned on logical names, sent as ReadRequests: an object the list does not name is answered here
    (object-undefined) and the logical name association's object list with the SN one already read."""

    def __init__(self, names: ShortNames) -> None:
        self.names = names
        self._local: dict[int, Result] = {}  # position in the request → the result given here
        self._asked = 0

    def request(self, invoke_id: int, request: Request) -> bytes | None:
        """The ReadRequest for ``request``, or ``None`` when every result is given here."""
        self._local, names = {}, []
        for position, attribute in enumerate(request.attributes):
            name = self.names.name_of(attribute)
            if attribute == OBJECT_LIST and self.names.listing is not None:
                self._local[position] = self.names.listing
            elif name is None:
                self._local[position] = DataAccessResult.OBJECT_UNDEFINED
            else:
                names.append(name)
        self._asked = len(names)
        return read_request(names, request.access) if names else None

    def parse(self, apdu: bytes, invoke_id: int) -> Answer | Block:
        return parse_read_response(apdu)

    def next_block(self, invoke_id: int, block: Block) -> bytes:
        return read_next(block.number)

    def results(self, answered: tuple[Result, ...]) -> tuple[Result, ...]:
        """The meter's results for the names asked, with the ones given here in their places."""
        if len(answered) != self._asked:
            raise DlmsClientError(ClientProblem.MALFORMED, f"{len(answered)} results for {self._asked}")
        remote = iter(answered)
        count = self._asked + len(self._local)
        return tuple(self._local[index] if index in self._local else next(remote) for index in range(count))


class LearnNames:
    """A read over short names: the SN association's object list first when it is not known yet, then ``read``."""

    def __init__(self, names: ShortNames, read: Read) -> None:
        self.names = names
        self.read = read
        self._association: Association | None = None
        self._size = 1

    def begin(self, association: Association, list_size: int) -> None:
        self._association, self._size = association, list_size
        if self.names.known:
            self.read.begin(association, list_size)

    def next_request(self) -> Request | None:
        if not self.names.known:
            return Request((SN_OBJECT_LIST,))
        return self.read.next_request()

    def answered(self, request: Request, results: tuple[Result, ...]) -> None:
        if request.attributes == (SN_OBJECT_LIST,) and not self.names.known:
            self.names.learn(results[0])
            assert self._association is not None
            self.read.begin(self._association, self._size)
            return
        self.read.answered(request, results)

    def result(self, identification: Identification | None, timings: Timings) -> Readout | LoadProfile:
        return self.read.result(identification, timings)
