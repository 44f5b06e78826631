"""Probing ports for the config flow, with what is being tried now for its progress dialog. No HA import.

One :class:`Probe` runs detection (:mod:`.wire.detect`) on each port in turn, each port opened and closed again
for every attempt, and stops at the first meter found. It keeps the phase the detector is in (signing on at 300 Bd,
reading, listening for pushes at 9600 8N1 …) and lets the flow wait for the next change, so the dialog can say what
is happening during the 20-40 s a push meter takes to find. A meter whose identification announces mode E
(``\2``) but gives no readout is then read with the DLMS/COSEM client (IEC 62056-21 Annex E); with ``client_only``
the client alone is tried (direct HDLC, or mode E as configured).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
import logging
from typing import Any

from .client_reads import first_read
from .wire import DetectConfig, MeterError, PushMeter, Readout, ReadoutTimeoutError
from .wire.actions import Action
from .wire.detect import Detector, Phase
from .wire.dlms.client.config import ClientConfig
from .wire.dlms.client.reading import ObjectList
from .wire.errors import ClientProblem, DlmsClientError
from .wire.port import CLOSE_TIMEOUT, OPEN_TIMEOUT, READ_LIMIT, run_on_port

_LOGGER = logging.getLogger(__name__)
# a mode E attempt that ends so proves no DLMS server answers: the readout's own failure is the one to tell
NOT_DLMS = frozenset({ClientProblem.NO_UA, ClientProblem.CONNECTION_REFUSED})
# One attempt on one port, all told: the driver bounds every step and the read; this bounds whatever is left.
ATTEMPT_LIMIT = OPEN_TIMEOUT + READ_LIMIT + CLOSE_TIMEOUT + 30.0


@dataclass(frozen=True, slots=True)
class Step:
    """A phase of detection on one port."""

    port: str
    phase: Phase


@dataclass(slots=True)
class Outcome:
    """What probing found: the port and its meter, or for every port tried the error it ended with."""

    port: str | None = None
    found: Readout | PushMeter | None = None
    client: ClientConfig | None = None  # the DLMS client settings that read the meter, when it was the client
    kept: dict[str, Any] = field(default_factory=dict)  # and what its entry keeps from the read (client_reads.py)
    object_list: ObjectList | None = None  # what the meter's object list offered
    errors: dict[str, MeterError | Exception] = field(default_factory=dict)


class _Observed:
    """The detector, reporting each change of phase to the probe as the driver runs it."""

    def __init__(self, detector: Detector, probe: Probe, port: str) -> None:
        self._detector, self._probe, self._port = detector, probe, port

    def receive_data(self, data: bytes, now: float) -> None:
        self._detector.receive_data(data, now)

    def next_action(self, now: float) -> Action:
        try:
            return self._detector.next_action(now)
        finally:
            self._probe.moved(Step(self._port, self._detector.phase))


def client_phase(client: ClientConfig) -> Phase:
    """What the progress dialog says while the DLMS client reads: the sign-on at 300 Bd 7E1 first in mode E."""
    return Phase("dlms", 300, "7E1") if client.mode_e else Phase("dlms", client.baud, "8N1")


class Probe:
    """Detection over ``ports``, one after another, until a meter is found."""

    def __init__(
        self, ports: list[str], config: DetectConfig, client: ClientConfig | None = None, *, client_only: bool = False
    ) -> None:
        self.ports = ports
        self.config = config
        self.client = client
        self.client_only = client_only and client is not None
        first = client_phase(client) if client is not None and self.client_only else Detector(config).phase
        self.step: Step | None = Step(ports[0], first) if ports else None
        self.outcome = Outcome()
        self.finished = False
        self._changed = asyncio.Event()

    def moved(self, step: Step) -> None:
        """The detector is (still) at ``step``."""
        if step != self.step:
            self.step = step
            self._changed.set()

    async def next_change(self) -> None:
        """Return once the step has changed since the last call, or at once when probing has ended."""
        await self._changed.wait()
        if not self.finished:
            self._changed.clear()

    async def run(self) -> Outcome:
        """Probe every port until a meter answers or pushes; each port is closed again whatever happens."""
        try:
            for port in self.ports:
                if await self._probe(port):
                    break
            return self.outcome
        finally:
            self.finished = True
            self._changed.set()  # wakes whoever waits for the next step: probing is over

    async def _probe(self, port: str) -> bool:
        client = self.client if self.client_only else None
        if client is None:
            detector = Detector(self.config)
            self.moved(Step(port, detector.phase))
            found = await self._attempt(port, run_on_port(port, _Observed(detector, self, port)))
            if isinstance(found, Readout | PushMeter):
                self.outcome.port, self.outcome.found = port, found
                return True
            identification = detector.identification
            if self.client is None or identification is None or not identification.hdlc_capable:
                return False
            # the identification announced mode E, but no readout came: ask in DLMS/COSEM instead
            client = replace(self.client, mode_e=True)
        iec_error = self.outcome.errors.get(port)
        self.moved(Step(port, client_phase(client)))
        attempt = await self._attempt(port, first_read(port, client))
        if attempt is None:
            failure = self.outcome.errors.get(port)
            if iec_error is not None and isinstance(failure, DlmsClientError) and failure.reason in NOT_DLMS:
                self.outcome.errors[port] = iec_error  # no DLMS server there: the readout's failure says more
            return False
        read, self.outcome.kept = attempt
        self.outcome.port, self.outcome.found, self.outcome.client = port, read.readout, client
        self.outcome.object_list = read.object_list
        return True

    async def _attempt[T](self, port: str, attempt: Awaitable[T]) -> T | None:
        try:
            async with asyncio.timeout(ATTEMPT_LIMIT):
                return await attempt
        except TimeoutError:
            self.outcome.errors[port] = ReadoutTimeoutError(f"probing {port} did not end within {ATTEMPT_LIMIT:g} s")
        except MeterError as err:
            _LOGGER.debug("No meter on %s: %s", port, err)
            self.outcome.errors[port] = err
        except Exception as err:  # reported to the user as "unknown", logged here
            _LOGGER.exception("Unexpected error probing %s", port)
            self.outcome.errors[port] = err
        return None
