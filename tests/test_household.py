"""The household's limits: overload (fuse or contract), phase unbalance, repeated overloads — edges and hysteresis."""

from __future__ import annotations

import pytest

from custom_components.e450.household import (
    OVERLOAD_TOLERANCE,
    REPEATED_OVERLOADS,
    REPEATED_WINDOW,
    UNBALANCE_TOLERANCE,
    Limits,
    LiveProblem,
    LoadMonitor,
)
from custom_components.e450.wire import BccStatus, DataSet, DataValue, Readout


def readout(*rows: tuple[str, str, str | None]) -> Readout:
    return Readout(None, tuple(DataSet.of(a, (DataValue(v, u),)) for a, v, u in rows), BccStatus.OK)


def currents(l1: float, l2: float = 1.0, l3: float = 1.0, unit: str = "A") -> Readout:
    return readout(("31.7.0", f"{l1}", unit), ("51.7.0", f"{l2}", unit), ("71.7.0", f"{l3}", unit))


def test_no_limit_no_check() -> None:
    monitor = LoadMonitor()
    assert LiveProblem.OVERLOAD not in monitor.supports(currents(80.0))
    live, issues = monitor.evaluate(currents(80.0), 0.0)
    assert not live[LiveProblem.OVERLOAD] and issues == []


def test_fuse_overload_needs_the_tolerance_and_releases_with_hysteresis() -> None:
    monitor = LoadMonitor(Limits(fuse_current=25.0))
    assert LiveProblem.OVERLOAD in monitor.supports(currents(1.0))
    assert not monitor.evaluate(currents(25.0), 0.0)[0][LiveProblem.OVERLOAD]  # at the limit: not above it
    assert not monitor.evaluate(currents(26.0), 10.0)[0][LiveProblem.OVERLOAD]  # above, not for long yet
    assert not monitor.evaluate(currents(24.9), 20.0)[0][LiveProblem.OVERLOAD]  # dipped: the tolerance restarts
    assert not monitor.evaluate(currents(1.0, 26.0), 30.0)[0][LiveProblem.OVERLOAD]
    assert monitor.evaluate(currents(1.0, 26.0), 30.0 + OVERLOAD_TOLERANCE)[0][LiveProblem.OVERLOAD]
    # hovering just under the limit keeps it on; below 95 % it is over
    assert monitor.evaluate(currents(1.0, 24.0), 100.0)[0][LiveProblem.OVERLOAD]
    assert not monitor.evaluate(currents(1.0, 23.7), 110.0)[0][LiveProblem.OVERLOAD]


def test_milliamperes_and_a_missing_phase() -> None:
    monitor = LoadMonitor(Limits(fuse_current=10.0))
    monitor.evaluate(currents(12000.0, unit="mA"), 0.0)
    assert monitor.evaluate(currents(12000.0, unit="mA"), OVERLOAD_TOLERANCE)[0][LiveProblem.OVERLOAD]
    # a meter without per-phase currents has no fuse check at all
    assert LiveProblem.OVERLOAD not in LoadMonitor(Limits(fuse_current=10.0)).supports(readout(("1.7.0", "9", "kW")))


@pytest.mark.parametrize(
    ("rows", "limit_unit"),
    [
        ((("1.7.0", "9.5", "kW"),), "kW"),  # active power where no apparent power is sent
        ((("1.7.0", "2.0", "kW"), ("9.7.0", "9500", "VA")), "kVA"),  # apparent power wins
    ],
)
def test_contract_power(rows: tuple[tuple[str, str, str], ...], limit_unit: str) -> None:
    monitor = LoadMonitor(Limits(contract_power=9.0))
    monitor.evaluate(readout(*rows), 0.0)
    live, _ = monitor.evaluate(readout(*rows), OVERLOAD_TOLERANCE)
    assert live[LiveProblem.OVERLOAD]
    for step in range(1, REPEATED_OVERLOADS):
        monitor.evaluate(readout(("1.7.0", "0.1", "kW")), 1000.0 * step)
        monitor.evaluate(readout(*rows), 1000.0 * step + 1)
        live, issues = monitor.evaluate(readout(*rows), 1000.0 * step + 1 + OVERLOAD_TOLERANCE)
    (repeated,) = issues
    assert repeated.placeholders["count"] == str(REPEATED_OVERLOADS)
    assert repeated.placeholders["peak"] == f"9.5 {limit_unit}"
    assert repeated.placeholders["limit"] == f"9 {limit_unit}"
    # a day later the episodes have aged out
    assert monitor.evaluate(readout(("1.7.0", "0.1", "kW")), REPEATED_WINDOW + 5000.0)[1] == []


def test_current_unbalance_of_a_single_phase_charger() -> None:
    monitor = LoadMonitor()
    charging = currents(32.0, 1.0, 1.0)  # 32 A × 230 V ≈ 7.4 kVA on L1 alone: above the 4.6 kVA rule
    assert LiveProblem.PHASE_UNBALANCE in monitor.supports(charging)
    assert not monitor.evaluate(charging, 0.0)[0][LiveProblem.PHASE_UNBALANCE]
    assert monitor.evaluate(charging, UNBALANCE_TOLERANCE)[0][LiveProblem.PHASE_UNBALANCE]
    balanced = currents(10.0, 10.0, 10.0)
    assert not monitor.evaluate(balanced, UNBALANCE_TOLERANCE + 60)[0][LiveProblem.PHASE_UNBALANCE]


def test_per_phase_powers_are_preferred_and_voltage_unbalance_counts() -> None:
    monitor = LoadMonitor()
    powers = readout(("21.7.0", "5.0", "kW"), ("41.7.0", "0.2", "kW"), ("61.7.0", "0.2", "kW"))
    monitor.evaluate(powers, 0.0)
    assert monitor.evaluate(powers, UNBALANCE_TOLERANCE)[0][LiveProblem.PHASE_UNBALANCE]
    volts = LoadMonitor()
    skewed = readout(("32.7.0", "236.0", "V"), ("52.7.0", "226.0", "V"), ("72.7.0", "230.0", "V"))
    assert LiveProblem.PHASE_UNBALANCE in volts.supports(skewed)
    volts.evaluate(skewed, 0.0)
    assert volts.evaluate(skewed, UNBALANCE_TOLERANCE)[0][LiveProblem.PHASE_UNBALANCE]
    # a lost phase is a phase loss (a repair issue of its own), not an unbalance
    lost = readout(("32.7.0", "236.0", "V"), ("52.7.0", "0.5", "V"), ("72.7.0", "230.0", "V"))
    assert LiveProblem.PHASE_UNBALANCE not in LoadMonitor().supports(lost)
