"""Everything the integration watches in a meter's readouts, in one place for the coordinator: supply quality
(:mod:`.anomalies`), the household's limits (:mod:`.household`) and the registers themselves
(:mod:`.register_checks`). Pure: no Home Assistant import."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .anomalies import Anomaly, AnomalyDetector, Thresholds
from .household import Limits, LiveProblem, LoadMonitor
from .register_checks import ClockCheck, FrozenCheck, GuardedEnergy, TariffCheck
from .wire import Readout


@dataclass
class MeterMonitor:
    """Feed it every good readout; it answers with the persistent anomalies and keeps the live problems."""

    supply: AnomalyDetector = field(default_factory=AnomalyDetector)
    load: LoadMonitor = field(default_factory=LoadMonitor)
    clock: ClockCheck = field(default_factory=ClockCheck)
    tariffs: TariffCheck = field(default_factory=TariffCheck)
    frozen: FrozenCheck = field(default_factory=FrozenCheck)
    energy: GuardedEnergy = field(default_factory=GuardedEnergy)
    live: dict[LiveProblem, bool] = field(default_factory=dict)

    def configure(self, thresholds: Thresholds, limits: Limits, clock_drift_minutes: float) -> None:
        """New limits from the options, effective from the next readout."""
        self.supply.thresholds = thresholds
        self.load.limits = limits
        self.clock.threshold = clock_drift_minutes

    def evaluate(self, readout: Readout, now: float, wall: datetime, model: str = "") -> list[Anomaly]:
        """Anomalies active after ``readout``, read at monotonic ``now`` and local time ``wall``."""
        anomalies = self.supply.evaluate(readout, now, model)
        self.live, repeated = self.load.evaluate(readout, now)
        anomalies.extend(repeated)
        if (drift := self.clock.evaluate(readout, wall)) is not None:
            anomalies.append(drift)
        anomalies.extend(self.tariffs.evaluate(readout, self.energy))
        anomalies.extend(self.frozen.evaluate(readout, self.energy, now))
        return anomalies
