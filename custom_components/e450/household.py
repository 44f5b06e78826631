"""The household's own limits: overload against its fuses or its contract, and phase unbalance. Pure: no Home
Assistant import.

These are live problems — they switch on and off with the data (binary sensors) — with a tolerance before they
switch on and a hysteresis before they switch off, so a value hovering at the limit does not flap. Overloads that
keep coming back within a day become a repair issue. A meter that does not send a code a rule needs has no such
check; no limit set means no overload check.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from .anomalies import Anomaly, AnomalyKind, Severity
from .scales import in_base
from .wire import Readout

PHASE_CURRENTS: Final = (("L1", "31.7.0"), ("L2", "51.7.0"), ("L3", "71.7.0"))
PHASE_POWERS: Final = (("L1", "21.7.0"), ("L2", "41.7.0"), ("L3", "61.7.0"))
PHASE_VOLTAGES: Final = (("L1", "32.7.0"), ("L2", "52.7.0"), ("L3", "72.7.0"))
APPARENT_POWER: Final = "9.7.0"
ACTIVE_POWER: Final = "1.7.0"

OVERLOAD_TOLERANCE: Final = 30.0  # seconds above the limit before it counts (a kettle's inrush is not an overload)
RELEASE: Final = 0.95  # back below 95 % of the limit: the overload is over
# VDE-AR-N 4100 §5.5: single-phase loads may unbalance the phases by at most 4.6 kVA
UNBALANCE_KVA: Final = 4.6
UNBALANCE_RELEASE: Final = 0.9
# EN 50160: voltage unbalance within 2 % (approximated as the largest deviation from the mean of the three phases)
VOLTAGE_UNBALANCE_PERCENT: Final = 2.0
UNBALANCE_TOLERANCE: Final = 300.0  # seconds: unbalance matters when it lasts
REPEATED_WINDOW: Final = 24 * 3600.0
REPEATED_OVERLOADS: Final = 3  # overloads within the window that make a repair issue
PHASE_LOSS_VOLTAGE: Final = 50.0  # below this a phase is lost (a repair issue of its own), not unbalanced

POWERS: Final = ("power", "apparent_power")  # the unit families a load is measured in (W, VA, and multiples)


class LiveProblem(StrEnum):
    """A condition shown as a binary sensor; also its translation key."""

    OVERLOAD = "overload"
    PHASE_UNBALANCE = "phase_unbalance"


@dataclass(frozen=True, slots=True)
class Limits:
    """The household's limits, from the options. ``None``: not set, not checked."""

    fuse_current: float | None = None  # A per phase
    contract_power: float | None = None  # kVA (compared with the apparent power, else the active power)
    nominal_voltage: float = 230.0


def _power(readout: Readout, code: str) -> float | None:
    """A power reading in kW (or kVA); ``None`` when absent or in no power unit."""
    reading = readout.number(code)
    base = None if reading is None else in_base(float(reading.value), reading.unit, *POWERS)
    return None if base is None else base / 1000


def _current(readout: Readout, code: str) -> float | None:
    """A current reading in A; ``None`` when absent or in no current unit."""
    reading = readout.number(code)
    return None if reading is None else in_base(float(reading.value), reading.unit, "current")


@dataclass
class Hysteresis:
    """One live condition: on after ``tolerance`` seconds beyond its limit, off once back below the release."""

    tolerance: float
    on: bool = False
    _beyond_since: float | None = None

    def update(self, ratio: float | None, release: float, now: float) -> bool:
        """``ratio``: value / limit (above 1: beyond it); ``None``: nothing to judge, which switches it off."""
        if ratio is None:
            self.on, self._beyond_since = False, None
        elif ratio > 1.0:
            if self._beyond_since is None:
                self._beyond_since = now
            if now - self._beyond_since >= self.tolerance:
                self.on = True
        else:
            self._beyond_since = None
            if ratio < release:
                self.on = False
        return self.on


@dataclass(frozen=True, slots=True)
class Overload:
    """How far the household is from its limits in one reading."""

    ratio: float  # the highest value / limit
    value: float
    unit: str  # "A" or "kVA"/"kW"
    phase: str  # "" for the total power


@dataclass
class LoadMonitor:
    """Overload and phase unbalance, live, and the overloads of the last day."""

    limits: Limits = field(default_factory=Limits)
    overload: Hysteresis = field(default_factory=lambda: Hysteresis(OVERLOAD_TOLERANCE))
    unbalance: Hysteresis = field(default_factory=lambda: Hysteresis(UNBALANCE_TOLERANCE))
    voltage_unbalance: Hysteresis = field(default_factory=lambda: Hysteresis(UNBALANCE_TOLERANCE))
    _episodes: deque[tuple[float, Overload]] = field(default_factory=deque)  # start, peak

    def supports(self, readout: Readout) -> set[LiveProblem]:
        """The live problems this meter's data and the limits set allow to check."""
        supported: set[LiveProblem] = set()
        if self._overload(readout) is not None:
            supported.add(LiveProblem.OVERLOAD)
        if self._phase_loads(readout) is not None or self._phase_voltages(readout) is not None:
            supported.add(LiveProblem.PHASE_UNBALANCE)
        return supported

    def evaluate(self, readout: Readout, now: float) -> tuple[dict[LiveProblem, bool], list[Anomaly]]:
        """The live problems after ``readout`` (at monotonic ``now``), and the repeated-overload issue if due."""
        worst = self._overload(readout)
        was_on = self.overload.on
        on = self.overload.update(worst.ratio if worst else None, RELEASE, now)
        if on and worst is not None:
            if not was_on:
                self._episodes.append((now, worst))
            elif worst.ratio > self._episodes[-1][1].ratio:
                self._episodes[-1] = (self._episodes[-1][0], worst)  # keep the episode's peak
        while self._episodes and self._episodes[0][0] < now - REPEATED_WINDOW:
            self._episodes.popleft()
        loads, voltages = self._phase_loads(readout), self._phase_voltages(readout)
        unbalanced = self.unbalance.update(
            None if loads is None else (max(loads) - min(loads)) / UNBALANCE_KVA, UNBALANCE_RELEASE, now
        )
        if voltages is not None:
            mean = sum(voltages) / 3
            deviation = max(abs(voltage - mean) for voltage in voltages) / mean * 100
            ratio: float | None = deviation / VOLTAGE_UNBALANCE_PERCENT
        else:
            ratio = None
        unbalanced = self.voltage_unbalance.update(ratio, UNBALANCE_RELEASE, now) or unbalanced
        live = {LiveProblem.OVERLOAD: on, LiveProblem.PHASE_UNBALANCE: unbalanced}
        return live, self._repeated()

    def _repeated(self) -> list[Anomaly]:
        if len(self._episodes) < REPEATED_OVERLOADS:
            return []
        peak = max((episode for _, episode in self._episodes), key=lambda episode: episode.ratio)
        limit = peak.value / peak.ratio
        return [
            Anomaly(
                AnomalyKind.REPEATED_OVERLOAD,
                Severity.WARNING,
                {
                    "count": str(len(self._episodes)),
                    "peak": f"{peak.value:.1f} {peak.unit}" + (f" ({peak.phase})" if peak.phase else ""),
                    "limit": f"{limit:g} {peak.unit}",
                },
            )
        ]

    def _overload(self, readout: Readout) -> Overload | None:
        """The reading closest to (or furthest beyond) a limit; ``None`` when no limit can be checked."""
        limits = self.limits
        candidates: list[Overload] = []
        if limits.fuse_current:
            for phase, code in PHASE_CURRENTS:
                current = _current(readout, code)
                if current is not None:
                    candidates.append(Overload(abs(current) / limits.fuse_current, abs(current), "A", phase))
        if limits.contract_power:
            apparent = _power(readout, APPARENT_POWER)
            power, unit = (
                (apparent, "kVA")
                if apparent is not None
                else (
                    _power(readout, ACTIVE_POWER),
                    "kW",
                )
            )
            if power is not None:
                candidates.append(Overload(abs(power) / limits.contract_power, abs(power), unit, ""))
        return max(candidates, key=lambda candidate: candidate.ratio, default=None)

    def _phase_loads(self, readout: Readout) -> list[float] | None:
        """Per-phase load in kVA: per-phase powers, else currents times voltages (or the nominal voltage)."""
        powers = [_power(readout, code) for _, code in PHASE_POWERS]
        if all(power is not None for power in powers):
            return [abs(power) for power in powers if power is not None]
        currents = [_current(readout, code) for _, code in PHASE_CURRENTS]
        if any(current is None for current in currents):
            return None
        voltages = self._phase_voltages(readout) or [self.limits.nominal_voltage] * 3
        return [abs(current or 0.0) * voltage / 1000 for current, voltage in zip(currents, voltages, strict=True)]

    @staticmethod
    def _phase_voltages(readout: Readout) -> list[float] | None:
        voltages = [readout.number(code) for _, code in PHASE_VOLTAGES]
        values = [float(reading.value) for reading in voltages if reading is not None]
        if len(values) != 3 or min(values) < PHASE_LOSS_VOLTAGE:
            return None
        return values
