"""Registers that contradict themselves or the world: a drifting meter clock, tariff registers that no longer add up
to their total, an energy register that stopped while power flows. Pure: no Home Assistant import.

Energy values reach these rules through the same guard as the sensors (:mod:`.guard`): a value the guard holds back
(a glitch that went down) never feeds a rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from .anomalies import Anomaly, AnomalyKind, Severity
from .const import RESET_CONFIRMATIONS
from .guard import EnergyGuard, GuardVerdict
from .meter_info import meter_clock
from .scales import in_base
from .wire import DataSet, Readout

CLOCK_RELEASE: Final = 0.8  # a drift flagged at the threshold clears below 80 % of it
FROZEN_AFTER: Final = 3600.0  # seconds an energy register may stand still while power flows
FROZEN_MIN_POWER: Final = 50.0  # W: below this, a register standing still is plausible (standby)
FROZEN_MIN_STEPS: Final = 10  # the energy that flowed must be worth this many steps of the register's last digit
TARIFFS: Final = range(1, 10)
# (direction, power code, energy total code)
DIRECTIONS: Final = (("import", "1.7.0", "1.8.0"), ("export", "2.7.0", "2.8.0"))
# the tariff registers of each total (1.8.0: 1.8.1 … 1.8.9)
TARIFF_CODES: Final = {total: tuple(f"{total[:-1]}{t}" for t in TARIFFS) for _, _, total in DIRECTIONS}


def _resolution(text: str) -> float:
    """One step of the last transmitted digit (``012345.678`` → 0.001)."""
    return 10.0 ** -len(text.split(".", 1)[1]) if "." in text else 1.0


@dataclass(frozen=True, slots=True)
class Energy:
    """An energy register in Wh, with the size of its last digit in Wh."""

    wh: float
    step: float


@dataclass
class GuardedEnergy:
    """The energy registers as the sensors would publish them: one guard per code."""

    _guards: dict[str, EnergyGuard] = field(default_factory=dict)
    reset: set[str] = field(default_factory=set)  # codes whose last value was a confirmed meter reset
    # per code: the readout and data set of the last verdict, and the verdict (one per readout)
    _read: dict[str, tuple[Readout, DataSet, Energy | None]] = field(default_factory=dict)

    def read(self, readout: Readout, code: str) -> Energy | None:
        """The register in Wh, ``None`` when absent, in an unknown unit, or held back by the guard. A register that
        reads as it did (the same data set) keeps its verdict, unless the guard waits for confirmations: those are
        counted in readouts."""
        dataset = readout.current(code)
        if dataset is None:
            return None
        known = self._read.get(code)
        if known is not None and (
            known[0] is readout or (known[1] is dataset and not (code in self._guards and self._guards[code].pending))
        ):
            return known[2]
        energy = self._check(dataset, code)
        self._read[code] = (readout, dataset, energy)
        return energy

    def _check(self, dataset: DataSet, code: str) -> Energy | None:
        if dataset.number is None or not dataset.values:
            return None
        factor = in_base(1.0, dataset.values[0].unit, "energy")  # Wh per unit as transmitted
        if factor is None:
            return None
        value = float(dataset.number) * factor
        verdict = self._guards.setdefault(code, EnergyGuard(RESET_CONFIRMATIONS)).check(value)
        if verdict is GuardVerdict.HELD:
            return None
        if verdict is GuardVerdict.RESET:
            self.reset.add(code)
        return Energy(value, _resolution(dataset.values[0].value) * factor)


@dataclass
class ClockCheck:
    """The meter's clock against Home Assistant's, in minutes."""

    threshold: float = 5.0
    _active: bool = False

    def evaluate(self, readout: Readout, wall: datetime) -> Anomaly | None:
        """``wall``: the local time now (aware). Meters that keep standard time all year are not drifting."""
        meter = readout.push.time if readout.push is not None and readout.push.time else meter_clock(readout)
        if meter is None or self.threshold <= 0:
            self._active = False
            return None
        local = wall.replace(tzinfo=None)
        offsets = [meter - local]
        if dst := wall.dst():
            offsets.append(meter - (local - dst))  # the meter's clock ignores summer time
        drift = min(offsets, key=abs) / timedelta(minutes=1)
        limit = self.threshold * (CLOCK_RELEASE if self._active else 1.0)
        self._active = abs(drift) > limit
        if not self._active:
            return None
        kind = AnomalyKind.CLOCK_AHEAD if drift > 0 else AnomalyKind.CLOCK_BEHIND
        return Anomaly(kind, Severity.WARNING, {"minutes": f"{abs(drift):.0f}", "threshold": f"{self.threshold:g}"})


@dataclass
class TariffCheck:
    """The tariff registers of a direction must move as their total does.

    A constant offset is normal (tariff registers cleared when the tariff was set up); a changing one is not.
    """

    _baseline: dict[str, tuple[tuple[str, ...], float]] = field(default_factory=dict)

    def evaluate(self, readout: Readout, energy: GuardedEnergy) -> list[Anomaly]:
        anomalies: list[Anomaly] = []
        for direction, _, total_code in DIRECTIONS:
            total = energy.read(readout, total_code)
            tariffs = {code: value for code in TARIFF_CODES[total_code] if (value := energy.read(readout, code))}
            if total is None or not tariffs:
                self._baseline.pop(direction, None)
                continue
            offset = total.wh - sum(value.wh for value in tariffs.values())
            codes = tuple(sorted(tariffs))
            known = self._baseline.get(direction)
            if known is None or known[0] != codes or energy.reset & {total_code, *codes}:
                self._baseline[direction] = (codes, offset)  # a new meter, or other tariffs: start again
                energy.reset -= {total_code, *codes}
                continue
            tolerance = total.step + sum(value.step for value in tariffs.values())  # each register rounds down
            if abs(offset - known[1]) > tolerance:
                anomalies.append(
                    Anomaly(
                        AnomalyKind.TARIFFS_INCONSISTENT,
                        Severity.WARNING,
                        {
                            "total": total_code,
                            "tariffs": " + ".join(codes),
                            "difference": f"{(offset - known[1]) / 1000:+.3f} kWh",
                        },
                        direction,
                    )
                )
        return anomalies


@dataclass
class _Still:
    value: float
    since: float
    last: float
    expected: float = 0.0  # Wh that flowed, by the power readings, since the register last moved


@dataclass
class FrozenCheck:
    """An energy register that stands still for an hour while the power says energy flows."""

    _still: dict[str, _Still] = field(default_factory=dict)

    def evaluate(self, readout: Readout, energy: GuardedEnergy, now: float) -> list[Anomaly]:
        anomalies: list[Anomaly] = []
        for direction, power_code, energy_code in DIRECTIONS:
            register = energy.read(readout, energy_code)
            reading = readout.number(power_code)
            power = None if reading is None else in_base(float(reading.value), reading.unit, "power")
            if register is None or power is None:
                self._still.pop(direction, None)
                continue
            still = self._still.get(direction)
            if still is None or register.wh != still.value or power < FROZEN_MIN_POWER:
                # moving, or too little power to expect movement: start watching again from here
                self._still[direction] = _Still(register.wh, now, now)
                continue
            still.expected += power * (now - still.last) / 3600
            still.last = now
            if now - still.since >= FROZEN_AFTER and still.expected >= FROZEN_MIN_STEPS * register.step:
                anomalies.append(
                    Anomaly(
                        AnomalyKind.ENERGY_FROZEN,
                        Severity.ERROR,
                        {
                            "code": energy_code,
                            "hours": f"{(now - still.since) / 3600:.1f}",
                            "expected": f"{still.expected / 1000:.2f} kWh",
                        },
                        direction,
                    )
                )
        return anomalies
