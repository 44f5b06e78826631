"""Supply and meter anomalies from readouts and a short history. Pure: no Home Assistant import.

Limits follow EN 50160 for low-voltage supply (docs/iec62056-21.md §6.1): the 10-minute mean voltage within
nominal ±10 %, every value within +10 % / −15 %; frequency within ±1 % (sustained) and +4 % / −6 % (always).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from .wire import Readout
from .wire.obis import ERROR_REGISTER, FREQUENCY, PHASE_VOLTAGES

HISTORY_WINDOW = 600.0  # seconds: the EN 50160 10-minute mean


class AnomalyKind(StrEnum):
    """What is wrong; also the repair issue's translation key."""

    PHASE_LOSS = "phase_loss"
    VOLTAGE_OUT_OF_LIMITS = "voltage_out_of_limits"
    VOLTAGE_MEAN_OUT_OF_RANGE = "voltage_mean_out_of_range"
    FREQUENCY_OUT_OF_LIMITS = "frequency_out_of_limits"
    FREQUENCY_DEVIATION = "frequency_deviation"
    METER_ERROR = "meter_error"
    LINK_LOST = "link_lost"
    METER_CHANGED = "meter_changed"
    REPEATED_OVERLOAD = "repeated_overload"
    CLOCK_AHEAD = "clock_ahead"
    CLOCK_BEHIND = "clock_behind"
    TARIFFS_INCONSISTENT = "tariffs_inconsistent"
    ENERGY_FROZEN = "energy_frozen"
    SCALE_WAITING = "scale_waiting"  # registers held back until a check (or the user) settles their scale
    SCALE_UNCERTAIN = "scale_uncertain"  # registers held back: the checks leave their scale open
    SCALE_CORRECTED = "scale_corrected"  # registers shown at another power of ten than the list's
    SUBMETER_SILENT = "submeter_silent"  # an M-Bus channel's sub-meter no longer read (submeter_watch.py)
    SUBMETER_ERROR = "submeter_error"  # the M-Bus master reports an error for a channel's sub-meter
    SUBMETER_SCALE = "submeter_scale"  # a channel's total held back: neither the meter nor the user said its scale


class Severity(StrEnum):
    """How urgent an anomaly is (maps to repair issue severity)."""

    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One active condition. ``key`` identifies it (kind plus phase) across reads."""

    kind: AnomalyKind
    severity: Severity
    placeholders: dict[str, str] = field(default_factory=dict, compare=False)
    phase: str = ""

    @property
    def key(self) -> str:
        """Stable id: the same condition keeps the same repair issue while it lasts."""
        return f"{self.kind}_{self.phase.lower()}" if self.phase else self.kind


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Limits, from the entry's options."""

    nominal_voltage: float = 230.0
    voltage_tolerance: float = 10.0  # percent, for the 10-minute mean
    voltage_high: float = 10.0  # percent, any single reading
    voltage_low: float = 15.0  # percent, any single reading
    nominal_frequency: float = 50.0
    frequency_sustained_minutes: float = 5.0
    phase_loss_voltage: float = 50.0


# Landis+Gyr error register bits whose meaning the model manuals define (docs/iec62056-21.md §6.2). Keyed by a model
# prefix; values are (mask, meaning) pairs checked against the register value.
ERROR_MEANINGS: dict[str, tuple[tuple[int, str], ...]] = {
    "ZMD": (  # E650 (ZMD300/400) manual: grouped bytes
        (0x01000000, "backup battery low"),
        (0x02000000, "clock invalid"),
        (0x00FF0000, "main memory access error (fatal, contact the utility)"),
    ),
    "ZMF": ((0xFF, "meter fault reported by the E350 (code {code})"),),
    "ZCF": ((0xFF, "meter fault reported by the E350 (code {code})"),),
    "ZMR": ((0x00040000, "date/time invalid"), (0x00020000, "EEPROM access error"), (0x80000000, "clock drift")),
}


@dataclass
class AnomalyDetector:
    """Keeps the samples it needs (10 minutes) and evaluates each new readout."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    _voltages: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)
    _frequencies: deque[tuple[float, float]] = field(default_factory=deque)

    def evaluate(self, readout: Readout, now: float, model: str = "") -> list[Anomaly]:
        """Anomalies active after ``readout`` (read at monotonic time ``now``)."""
        anomalies: list[Anomaly] = []
        anomalies.extend(self._voltage(readout, now))
        anomalies.extend(self._frequency(readout, now))
        error = error_register_anomaly(readout, model)
        if error is not None:
            anomalies.append(error)
        return anomalies

    def _voltage(self, readout: Readout, now: float) -> Iterable[Anomaly]:
        limits = self.thresholds
        nominal = limits.nominal_voltage
        values = {phase: _number(readout, code) for phase, code in PHASE_VOLTAGES}
        present = {phase: value for phase, value in values.items() if value is not None}
        if len(present) == 3:
            healthy = [v for v in present.values() if v >= nominal * (1 - limits.voltage_low / 100)]
            for phase, value in present.items():
                if value < limits.phase_loss_voltage and len(healthy) >= 1:
                    yield Anomaly(
                        AnomalyKind.PHASE_LOSS,
                        Severity.ERROR,
                        {"phase": phase, "value": f"{value:g}"},
                        phase,
                    )
        for phase, value in present.items():
            history = self._voltages.setdefault(phase, deque())
            history.append((now, value))
            while history and history[0][0] < now - HISTORY_WINDOW:
                history.popleft()
            if value < limits.phase_loss_voltage and len(present) == 3:
                continue  # reported as a phase loss
            high = nominal * (1 + limits.voltage_high / 100)
            low = nominal * (1 - limits.voltage_low / 100)
            if value > high or value < low:
                yield Anomaly(
                    AnomalyKind.VOLTAGE_OUT_OF_LIMITS,
                    Severity.ERROR,
                    {"phase": phase, "value": f"{value:g}", "low": f"{low:g}", "high": f"{high:g}"},
                    phase,
                )
                continue
            # the 10-minute mean counts once the window is (almost) covered, so one sample is not a "mean"
            if history[0][0] <= now - HISTORY_WINDOW * 0.8:
                mean = sum(sample for _, sample in history) / len(history)
                band = nominal * limits.voltage_tolerance / 100
                if abs(mean - nominal) > band:
                    yield Anomaly(
                        AnomalyKind.VOLTAGE_MEAN_OUT_OF_RANGE,
                        Severity.WARNING,
                        {
                            "phase": phase,
                            "value": f"{mean:.1f}",
                            "low": f"{nominal - band:g}",
                            "high": f"{nominal + band:g}",
                        },
                        phase,
                    )

    def _frequency(self, readout: Readout, now: float) -> Iterable[Anomaly]:
        value = _number(readout, FREQUENCY)
        if value is None:
            return
        limits = self.thresholds
        nominal = limits.nominal_frequency
        self._frequencies.append((now, value))
        window = limits.frequency_sustained_minutes * 60
        while self._frequencies and self._frequencies[0][0] < now - max(window, HISTORY_WINDOW):
            self._frequencies.popleft()
        low_always, high_always = nominal * 0.94, nominal * 1.04
        if value < low_always or value > high_always:
            yield Anomaly(
                AnomalyKind.FREQUENCY_OUT_OF_LIMITS,
                Severity.ERROR,
                {"value": f"{value:g}", "low": f"{low_always:g}", "high": f"{high_always:g}"},
            )
            return
        low, high = nominal * 0.99, nominal * 1.01
        recent = [sample for at, sample in self._frequencies if at >= now - window]
        covered = self._frequencies[0][0] <= now - window * 0.8
        if covered and len(recent) >= 2 and all(sample < low or sample > high for sample in recent):
            yield Anomaly(
                AnomalyKind.FREQUENCY_DEVIATION,
                Severity.WARNING,
                {
                    "value": f"{value:g}",
                    "low": f"{low:g}",
                    "high": f"{high:g}",
                    "minutes": f"{limits.frequency_sustained_minutes:g}",
                },
            )


def _number(readout: Readout, code: str) -> float | None:
    reading = readout.number(code)
    return None if reading is None else reading.value


def error_register_anomaly(readout: Readout, model: str = "") -> Anomaly | None:
    """A non-zero F.F, with what it means where the model's manual says."""
    text = (readout.text(ERROR_REGISTER) or "").strip()
    if not text:
        return None
    try:
        code = int(text, 16)
    except ValueError:
        return None
    if code == 0:
        return None
    meanings = [
        meaning.format(code=text)
        for prefix, table in ERROR_MEANINGS.items()
        if model.upper().startswith(prefix)
        for mask, meaning in table
        if code & mask
    ]
    return Anomaly(
        AnomalyKind.METER_ERROR,
        Severity.ERROR,
        {"code": text, "meaning": "; ".join(meanings) or "not documented for this model; contact the utility"},
    )
