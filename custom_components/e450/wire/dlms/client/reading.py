"""What one association reads, planned apart from how it travels: the client (:mod:`.client`) connects,
associates, sends the requests a read plans, hands back each answer, and releases; a read decides what to ask next
from what came back and makes the result (docs/dlms-client.md §3-§4).

:class:`RegisterRead` reads registers, clock and logical device name into a :class:`~...models.Readout`, and the
M-Bus sub-meters' objects the way a push carries them (docs/mbus-submeters.md §7); the load profile read
(:mod:`.profile`) follows the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from ...errors import ClientProblem, DlmsClientError
from ...models import BccStatus, DataSet, Identification, LoadProfile, Readout, Timings
from ...submeters import CLIENT_CODE, VALUE_CODE
from ..axdr import obis_text
from ..units import SCALER_UNIT, Scaling
from .association import Association, Conformance
from .cosem import (
    CLOCK_TIME,
    DEFAULT_REGISTERS,
    LOGICAL_DEVICE_NAME,
    OBJECT_LIST,
    SERIAL_NUMBER,
    channel_object,
    clock_datasets,
    clock_of,
    described,
    name_dataset,
    parse_object_list,
    reading_attributes,
    register,
    register_dataset,
    registers_offered,
    scaler_of,
    scaling_of,
    serial_dataset,
    text_of,
)
from .get import Attribute, Result

Scalers = dict[Attribute, Scaling | None]  # value attribute → its scaling, kept by the caller across reads
DESCRIPTOR_SIZE: Final = 10  # class (2), logical name (6), attribute (1), no selective access (1)
LIST_OVERHEAD: Final = 4 + 22  # GET-Request-With-List, invoke id, count; a glo-ciphered APDU's header and tag


@dataclass(frozen=True, slots=True)
class Request:
    """One GET: several attributes (with a list when there are more than one), or one with selective access
    (``access``: the access selector and its parameters, A-XDR)."""

    attributes: tuple[Attribute, ...]
    access: bytes = b""


class Read(Protocol):
    """What an association reads: requests in, answers back, one result at the end."""

    def begin(self, association: Association, list_size: int) -> None:
        """The association is open: ``list_size`` attributes may go in one request (1: no lists)."""

    def next_request(self) -> Request | None:
        """The next GET, or ``None`` when everything is read."""

    def answered(self, request: Request, results: tuple[Result, ...]) -> None:
        """The meter's answer to ``request``, one result per attribute (a refusal is a data-access-result)."""

    def result(self, identification: Identification | None, timings: Timings) -> Readout | LoadProfile:
        """What was read; raises :class:`~...errors.DlmsClientError` when nothing useful was."""


def batches(attributes: list[Attribute], size: int) -> list[Request]:
    """``attributes`` in requests of at most ``size``."""
    return [Request(tuple(attributes[start : start + size])) for start in range(0, len(attributes), size)]


def list_size(association: Association, configured: int) -> int:
    """Attributes per request: the configured number when the meter agreed to lists (else one), and no more than
    a request the meter receives whole (its max PDU from the AARE) carries."""
    if not association.allows(Conformance.MULTIPLE_REFERENCES) or configured <= 1:
        return 1
    return max(1, min(configured, (association.max_pdu - LIST_OVERHEAD) // DESCRIPTOR_SIZE))


@dataclass(frozen=True, slots=True)
class ObjectList:
    """What a read found in the association's object list: how many objects it lists, and the registers it keeps
    reading from it, as ``(interface class, "1-0:13.7.0")`` (docs/dlms-client.md §4.1)."""

    objects: int  # 0: the meter gave no object list (the default registers were read instead)
    registers: tuple[tuple[int, str], ...]


def offered_attributes(offered: tuple[tuple[int, str], ...]) -> tuple[Attribute, ...]:
    """The value attributes of registers kept from an object list as ``(class, "1-0:13.7.0")``."""
    return tuple(register(code, class_id) for class_id, code in offered)


class RegisterRead:
    """Registers (their ``scaler_unit`` once), clock and logical device name. ``offered``: exactly these registers,
    as an earlier read of the object list found them (``(class, "1-0:13.7.0")``); else ``registers`` (class 3); with
    neither, the association's object list first, then every register it offers (the default registers when the
    meter lists none)."""

    def __init__(
        self,
        registers: tuple[str, ...] = DEFAULT_REGISTERS,
        scalers: Scalers | None = None,
        offered: tuple[tuple[int, str], ...] = (),
    ) -> None:
        self.scalers: Scalers = scalers if scalers is not None else {}
        self._registers = offered_attributes(offered) or tuple(register(code) for code in registers)
        self.object_list: ObjectList | None = None  # what the object list offered, when it was read
        self._requests: list[Request] = []
        self._results: dict[Attribute, Result] = {}
        self._size = 1

    def begin(self, association: Association, list_size: int) -> None:
        self._size = list_size
        if self._registers:
            self._plan()
        else:
            self._requests = [Request((OBJECT_LIST,))]

    def _plan(self) -> None:
        """Name, serial number, clock, the scalers not yet known, the values (a sub-meter's with its status and
        capture time); in lists if agreed."""
        wanted = [LOGICAL_DEVICE_NAME, SERIAL_NUMBER, CLOCK_TIME]
        unknown = (scaler_of(value) for value in self._registers if value not in self.scalers)
        wanted += [scaler for scaler in unknown if scaler is not None]
        wanted += self._registers
        wanted += [extra for value in self._registers for extra in reading_attributes(value)]
        self._requests = batches(wanted, self._size)

    def next_request(self) -> Request | None:
        return self._requests.pop(0) if self._requests else None

    def answered(self, request: Request, results: tuple[Result, ...]) -> None:
        self._results.update(zip(request.attributes, results, strict=True))
        if request.attributes == (OBJECT_LIST,):
            entries = parse_object_list(results[0])
            # a meter that lists no register (or refuses its list) is read as an E450 would be
            self._registers = registers_offered(entries) or tuple(register(code) for code in DEFAULT_REGISTERS)
            listed = tuple((value.class_id, obis_text(value.obis)) for value in self._registers)
            self.object_list = ObjectList(len(entries), listed)
            self._plan()

    def result(self, identification: Identification | None, timings: Timings) -> Readout:
        datasets: list[DataSet] = []
        if (name := text_of(self._results.get(LOGICAL_DEVICE_NAME))) is not None:
            datasets.append(name_dataset(name))
        if (serial := text_of(self._results.get(SERIAL_NUMBER))) is not None and serial.strip():
            datasets.append(serial_dataset(serial.strip()))
        if (moment := clock_of(self._results.get(CLOCK_TIME))) is not None:
            datasets += clock_datasets(moment)
        attributes: dict[tuple[str, int], object] = {}
        read = 0
        for value in self._registers:
            scaler = scaler_of(value)
            if scaler is not None and scaler in self._results:
                self.scalers[value] = scaling_of(self._results[scaler])
            channel = channel_object(value)
            if channel == CLIENT_CODE:  # an M-Bus client: its device type describes the channel, as in a push
                if (kept := described(value, self._results.get(value))) is not None:
                    attributes[kept[0]] = kept[1]
                    read += 1
                continue
            if channel == VALUE_CODE:  # a sub-meter's number as sent, described beside it, as a push keeps it
                dataset = register_dataset(value, self._results.get(value), None)
                attributes.update(self._described(value))
            else:
                dataset = register_dataset(value, self._results.get(value), self.scalers.get(value))
            if dataset is not None:
                datasets.append(dataset)
                read += 1
        if self._registers and not read:
            raise DlmsClientError(ClientProblem.OBJECT_UNAVAILABLE, f"{len(self._registers)} registers asked for")
        return Readout(
            identification=identification,
            datasets=tuple(datasets),
            bcc=BccStatus.OK,
            timings=timings,
            attributes=attributes,
        )

    def _described(self, value: Attribute) -> dict[tuple[str, int], object]:
        """A sub-meter's reading's scaler_unit (read once, kept), status and capture time (read every cycle), by
        ``(address, attribute)`` as :attr:`~...models.Readout.attributes` keeps them."""
        found: dict[tuple[str, int], object] = {}
        if (scaling := self.scalers.get(value)) is not None:
            found[obis_text(value.obis), SCALER_UNIT] = scaling
        for attribute in reading_attributes(value):
            if (kept := described(attribute, self._results.get(attribute))) is not None:
                found[kept[0]] = kept[1]
        return found
