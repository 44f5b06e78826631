"""Probing ports for the config flow, with what is being tried now for its progress dialog. No HA import.

One :class:`Probe` runs detection (:mod:`.wire.detect`) on each port in turn, each port opened once and closed
again, and stops at the first meter found. It keeps the phase the detector is in (signing on at 300 Bd, reading,
listening for pushes at 9600 8N1 …) and lets the flow wait for the next change, so the dialog can say what is
happening during the 20-40 s a push meter takes to find.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import logging

from .wire import DetectConfig, MeterError, PushMeter, Readout
from .wire.actions import Action
from .wire.detect import Detector, Phase
from .wire.port import run_on_port

_LOGGER = logging.getLogger(__name__)


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


class Probe:
    """Detection over ``ports``, one after another, until a meter is found."""

    def __init__(self, ports: list[str], config: DetectConfig) -> None:
        self.ports = ports
        self.config = config
        self.step: Step | None = Step(ports[0], Detector(config).phase) if ports else None
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
                detector = Detector(self.config)
                self.moved(Step(port, detector.phase))
                try:
                    found = await run_on_port(port, _Observed(detector, self, port))
                except MeterError as err:
                    _LOGGER.debug("No meter on %s: %s", port, err)
                    self.outcome.errors[port] = err
                except Exception as err:  # reported to the user as "unknown", logged here
                    _LOGGER.exception("Unexpected error probing %s", port)
                    self.outcome.errors[port] = err
                else:
                    self.outcome.port, self.outcome.found = port, found
                    break
            return self.outcome
        finally:
            self.finished = True
            self._changed.set()  # wakes whoever waits for the next step: probing is over
