"""The physics a meter's numbers must obey, each rule with its tolerance in this one place (docs/scaling.md §3).

Each rule looks at the numbers of one readout (or, for the energy, at a quarter of an hour of them) and says, when
the load allows it, which powers of ten make them agree: an *evidence* ``Σ coefficient × k(group) = value`` over
the unknown corrections ``k`` of the register groups it involves. A voltage of 2357 says ``k(voltage) = -1``; a
total power 100 times what the voltages and currents carry says ``k(power) - k(voltage) - k(current) = -2``, which
alone cannot tell whether the power or the currents are wrong. The judge (:mod:`.judge`) weighs them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
import math
from typing import Final

from ..obis import OBIS, Kind


class Group(StrEnum):
    """Registers that share a scale in every list we know of (docs/scaling.md §2): one correction each."""

    VOLTAGE = "voltage"
    CURRENT = "current"
    POWER = "power"  # totals: active, reactive, apparent
    PHASE_POWER = "phase_power"  # per phase
    ENERGY = "energy"
    FREQUENCY = "frequency"
    POWER_FACTOR = "power_factor"


class Doubt(StrEnum):
    """Why a register's scale is not settled."""

    WAITING = "waiting"  # an energy register: a quarter of an hour of power readings will tell
    UNCHECKED = "unchecked"  # nothing in the readout can check it
    SINGLE_CHECK = "single_check"  # one check says another power of ten: not enough to change what is shown
    AMBIGUOUS = "ambiguous"  # several powers of ten fit the checks equally well
    CONFLICT = "conflict"  # the checks contradict each other


# --- the rules' numbers ------------------------------------------------------------------------------------------
# Nominal voltages phase to neutral (IEC 60038: 230 V, 240 V; 120/127 V in the Americas; 220 V in older networks;
# 100 V in Japan) and 400 V between phases, within ±20 %: the bands of one decade never reach into the next.
NOMINAL_VOLTAGES: Final = (100.0, 120.0, 127.0, 220.0, 230.0, 240.0, 400.0)
VOLTAGE_TOLERANCE: Final = 0.20
FREQUENCY_RANGE: Final = (45.0, 65.0)  # Hz: 50 and 60 Hz grids, with room for an island network's drift
# Active power against U·I: the power factor of a household load lies between these when it draws enough for the
# ratio to mean anything; sent, the power factor itself is used, within PF_TOLERANCE.
POWER_FACTOR_RANGE: Final = (0.5, 1.05)
PF_TOLERANCE: Final = 0.2
# VA (in the numbers as decoded): below it, a step of the last digit of the current moves the ratio too much
MIN_APPARENT_POWER: Final = 20.0
SUM_TOLERANCE: Final = 0.1  # the total power against the sum of the phases' (their readings are not simultaneous)
# The energy's rise against the integral of the power: over at least a quarter of an hour, and at least this many
# steps of the register's last digit, so that its rounding cannot move the ratio by more than a tenth.
ENERGY_WINDOW: Final = 900.0  # s
ENERGY_MIN_STEPS: Final = 10
ENERGY_TOLERANCE: Final = 0.3  # ±30 %: the power is sampled, the register rounds
MAX_GAP: Final = 300.0  # s between two readouts: longer, and the integral restarts
EXPONENTS: Final = range(-3, 4)  # the corrections considered


@lru_cache(maxsize=512)
def group_of(code: str) -> Group | None:
    """The group of a normalised code (``None``: a register no rule checks)."""
    quantity = OBIS.get(code)
    kind = quantity.kind if quantity is not None else None
    match kind:
        case Kind.VOLTAGE:
            return Group.VOLTAGE
        case Kind.CURRENT:
            return Group.CURRENT
        case Kind.ENERGY:
            return Group.ENERGY
        case Kind.FREQUENCY:
            return Group.FREQUENCY
        case Kind.POWER_FACTOR:
            return Group.POWER_FACTOR if code == "13.7.0" else None  # per-phase factors: no rule uses them
        case Kind.POWER:
            return Group.PHASE_POWER if _phase(code) else Group.POWER
    return None


def _phase(code: str) -> int:
    """1, 2 or 3 for a per-phase code (C = 21…40, 41…60, 61…80; IEC 62056-6-1 §7.5.1), else 0."""
    c = int(code.split(".", 1)[0]) if code[:1].isdigit() else 0
    return (c - 1) // 20 if 21 <= c <= 80 else 0


@dataclass(frozen=True, slots=True)
class Evidence:
    """``Σ coefficient × k(group) = value``: what one rule says about the groups' corrections."""

    rule: str
    terms: tuple[tuple[Group, int], ...]
    value: int


def decade(ratio: float, low: float, high: float) -> int | None:
    """The power of ten ``m`` for which ``ratio × 10^-m`` lies within ``[low, high]``, if exactly one does."""
    if ratio <= 0 or not math.isfinite(ratio):
        return None
    found = [m for m in EXPONENTS if low <= ratio / 10.0**m <= high]
    return found[0] if len(found) == 1 else None


@lru_cache(maxsize=1024)
def _voltage_fits(volts: float) -> frozenset[int]:
    """The powers of ten that bring ``volts`` within the tolerance of a nominal voltage."""
    fits = set()
    for nominal in NOMINAL_VOLTAGES:
        m = round(math.log10(nominal / volts))
        if m in EXPONENTS and abs(volts * 10.0**m - nominal) <= VOLTAGE_TOLERANCE * nominal:
            fits.add(m)
    return frozenset(fits)


def _voltage(values: Mapping[str, float]) -> Evidence | None:
    exponents: set[int] = set()
    for code in VOLTAGES:
        volts = abs(values.get(code, 0.0))
        if volts <= 0:
            continue  # a phase that is not connected says nothing
        fits = _voltage_fits(volts)
        if len(fits) != 1:
            return None  # a voltage no nominal explains: the rule abstains
        exponents |= fits
    if len(exponents) != 1:
        return None
    return Evidence("voltage_nominal", ((Group.VOLTAGE, 1),), exponents.pop())


def _frequency(values: Mapping[str, float]) -> Evidence | None:
    hertz = values.get("14.7.0")
    if not hertz:
        return None
    m = decade(1 / hertz, 1 / FREQUENCY_RANGE[1], 1 / FREQUENCY_RANGE[0])
    return None if m is None else Evidence("frequency_range", ((Group.FREQUENCY, 1),), m)


def _net(values: Mapping[str, float], forward: str, reverse: str, signed: str | None = None) -> float | None:
    if signed is not None and signed in values:
        return abs(values[signed])
    if forward not in values and reverse not in values:
        return None
    return abs(values.get(forward, 0.0) - values.get(reverse, 0.0))


def _apparent(values: Mapping[str, float], phases: tuple[int, ...]) -> float | None:
    """Σ U·I over the phases that have both."""
    total, seen = 0.0, False
    for phase in phases:
        volts, amps = values.get(PHASE_VOLTAGE[phase]), values.get(PHASE_CURRENT[phase])
        if volts is not None and amps is not None:
            total += abs(volts * amps)
            seen = True
    return total if seen else None


_UI: Final = ((Group.VOLTAGE, -1), (Group.CURRENT, -1))
VOLTAGES: Final = ("32.7.0", "52.7.0", "72.7.0", "12.7.0")
PHASE_VOLTAGE: Final = {phase: f"{12 + 20 * phase}.7.0" for phase in (1, 2, 3)}
PHASE_CURRENT: Final = {phase: f"{11 + 20 * phase}.7.0" for phase in (1, 2, 3)}
# per phase: import, export, signed (IEC 62056-6-1: C = 21/22/36, 41/42/56, 61/62/76)
PHASE_POWERS: Final = {phase: tuple(f"{20 * phase + c}.7.0" for c in (1, 2, 16)) for phase in (1, 2, 3)}


def _against_ui(rule: str, group: Group, power: float | None, apparent: float | None) -> Evidence | None:
    """Power against U·I: the power factor lies in :data:`POWER_FACTOR_RANGE`."""
    if power is None or apparent is None or apparent < MIN_APPARENT_POWER or power <= 0:
        return None
    m = decade(power / apparent, *POWER_FACTOR_RANGE)
    return None if m is None else Evidence(rule, ((group, 1), *_UI), -m)


def _total_power(values: Mapping[str, float]) -> Evidence | None:
    active = _net(values, "1.7.0", "2.7.0", "16.7.0")
    reactive = _net(values, "3.7.0", "4.7.0", "131.7.0")
    power = math.hypot(active, reactive) if active is not None and reactive is not None else active
    return _against_ui("total_power", Group.POWER, power, _apparent(values, (1, 2, 3)))


def _phase_power(values: Mapping[str, float]) -> Evidence | None:
    found = set()
    for phase in (1, 2, 3):
        power = _net(values, *PHASE_POWERS[phase])
        evidence = _against_ui("phase_power", Group.PHASE_POWER, power, _apparent(values, (phase,)))
        if evidence is not None:
            found.add(evidence)
    return found.pop() if len(found) == 1 else None


def _phase_sum(values: Mapping[str, float]) -> Evidence | None:
    total = _net(values, "1.7.0", "2.7.0", "16.7.0")
    phases = [_net(values, *PHASE_POWERS[phase]) for phase in (1, 2, 3)]
    known = [power for power in phases if power is not None]
    if total is None or len(known) != 3 or sum(known) < MIN_APPARENT_POWER:
        return None
    m = decade(total / sum(known), 1 - SUM_TOLERANCE, 1 + SUM_TOLERANCE)
    return None if m is None else Evidence("phase_sum", ((Group.POWER, 1), (Group.PHASE_POWER, -1)), -m)


def _power_factor(values: Mapping[str, float]) -> Evidence | None:
    factor = abs(values.get("13.7.0", 0.0))
    power = _net(values, "1.7.0", "2.7.0", "16.7.0")
    apparent = _apparent(values, (1, 2, 3))
    if not factor or not power or apparent is None or apparent < MIN_APPARENT_POWER:
        return None
    m = decade(power / apparent / factor, 1 - PF_TOLERANCE, 1 + PF_TOLERANCE)
    terms = ((Group.POWER, 1), *_UI, (Group.POWER_FACTOR, -1))
    return None if m is None else Evidence("power_factor", terms, -m)


RULES: Final = (_voltage, _frequency, _total_power, _phase_power, _phase_sum, _power_factor)
DIRECTIONS: Final = (("energy_import", "1.7.0", "1.8.0"), ("energy_export", "2.7.0", "2.8.0"))
# every code a rule reads: the judge hands the rules these only
RULE_CODES: Final = frozenset(
    {
        *VOLTAGES,
        *PHASE_CURRENT.values(),
        *(code for codes in PHASE_POWERS.values() for code in codes),
        "1.7.0", "2.7.0", "3.7.0", "4.7.0", "16.7.0", "131.7.0", "13.7.0", "14.7.0",
        *(code for _, _, code in DIRECTIONS),
    }
)  # fmt: skip


def instant_evidence(values: Mapping[str, float]) -> list[Evidence]:
    """What one readout's numbers (by code, in the OBIS table's units, as decoded) say."""
    return [evidence for rule in RULES if (evidence := rule(values)) is not None]


# --- the energy against the power, over time ---------------------------------------------------------------------


@dataclass
class _Window:
    start: float
    energy: float
    last: float
    power: float
    integral: float = 0.0  # Wh


@dataclass
class EnergyIntegral:
    """The rise of each energy register against the integral of its power, window after window."""

    _windows: dict[str, _Window] = field(default_factory=dict)

    def feed(self, values: Mapping[str, float], steps: Mapping[str, float], now: float) -> list[Evidence]:
        """``steps``: the size of each energy register's last digit, as decoded. Evidence when a window closes."""
        found = []
        for rule, power_code, energy_code in DIRECTIONS:
            power, energy = values.get(power_code), values.get(energy_code)
            window = self._windows.get(rule)
            if power is None or energy is None:
                continue  # a list without them: the window waits for the list that has them
            if window is None or energy < window.energy or now - window.last > MAX_GAP or now < window.last:
                self._windows[rule] = _Window(now, energy, now, power)
                continue
            window.integral += (window.power + power) / 2 * (now - window.last) / 3600
            window.last, window.power = now, power
            rise = energy - window.energy
            if now - window.start < ENERGY_WINDOW or rise < ENERGY_MIN_STEPS * steps.get(energy_code, 1.0):
                continue
            if window.integral > 0:
                m = decade(window.integral / rise, 1 - ENERGY_TOLERANCE, 1 + ENERGY_TOLERANCE)
                if m is not None:
                    found.append(Evidence(rule, ((Group.ENERGY, 1), (Group.POWER, -1)), m))
            self._windows[rule] = _Window(now, energy, now, power)
        return found
