"""Registers against themselves and the world: clock drift, tariff sums, frozen energy registers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from custom_components.e450.anomalies import AnomalyKind
from custom_components.e450.register_checks import (
    FROZEN_AFTER,
    ClockCheck,
    FrozenCheck,
    GuardedEnergy,
    TariffCheck,
)
from custom_components.e450.wire import BccStatus, DataSet, DataValue, PushInfo, Readout, Security

ZURICH = ZoneInfo("Europe/Zurich")


def readout(*rows: tuple[str, str, str | None], push: PushInfo | None = None) -> Readout:
    return Readout(None, tuple(DataSet.of(a, (DataValue(v, u),)) for a, v, u in rows), BccStatus.OK, push=push)


def clock(at: datetime) -> Readout:
    return readout(("0.9.1", at.strftime("%H:%M:%S"), None), ("0.9.2", at.strftime("%y-%m-%d"), None))


def test_clock_drift_either_way_with_hysteresis() -> None:
    wall = datetime(2026, 1, 15, 12, 0, tzinfo=ZURICH)
    check = ClockCheck(threshold=5.0)
    assert check.evaluate(clock(datetime(2026, 1, 15, 12, 4, 50)), wall) is None
    ahead = check.evaluate(clock(datetime(2026, 1, 15, 12, 7)), wall)
    assert ahead is not None and ahead.kind is AnomalyKind.CLOCK_AHEAD and ahead.placeholders["minutes"] == "7"
    # once flagged, it stays until the drift is under 80 % of the threshold
    assert check.evaluate(clock(datetime(2026, 1, 15, 12, 4, 30)), wall) is not None
    assert check.evaluate(clock(datetime(2026, 1, 15, 12, 3, 50)), wall) is None
    behind = check.evaluate(clock(datetime(2026, 1, 15, 11, 50)), wall)
    assert behind is not None and behind.kind is AnomalyKind.CLOCK_BEHIND and behind.placeholders["minutes"] == "10"


def test_a_meter_on_standard_time_in_summer_is_not_drifting() -> None:
    summer = datetime(2026, 7, 1, 14, 0, tzinfo=ZURICH)  # CEST: the meter shows 13:00 CET
    assert ClockCheck().evaluate(clock(datetime(2026, 7, 1, 13, 0, 30)), summer) is None
    assert ClockCheck().evaluate(clock(datetime(2026, 7, 1, 14, 0, 30)), summer) is None
    assert ClockCheck().evaluate(clock(datetime(2026, 7, 1, 12, 0)), summer) is not None


def test_a_push_carries_its_own_time_and_no_clock_no_check() -> None:
    wall = datetime(2026, 1, 15, 12, 0, tzinfo=ZURICH)
    push = PushInfo(None, None, Security.NONE, None, time=datetime(2026, 1, 15, 12, 30))
    drift = ClockCheck().evaluate(readout(("1.8.0", "1", "Wh"), push=push), wall)
    assert drift is not None and drift.placeholders["minutes"] == "30"
    assert ClockCheck().evaluate(readout(("1.8.0", "1", "Wh")), wall) is None


def energy(total: str, t1: str, t2: str, unit: str = "kWh") -> Readout:
    return readout(("1.8.0", total, unit), ("1.8.1", t1, unit), ("1.8.2", t2, unit))


def test_tariffs_may_carry_a_constant_offset_but_must_move_with_the_total() -> None:
    check, guarded = TariffCheck(), GuardedEnergy()
    assert check.evaluate(energy("1000.000", "400.000", "500.000"), guarded) == []  # offset 100: the baseline
    assert check.evaluate(energy("1001.002", "401.000", "500.000"), guarded) == []  # within three steps
    (wrong,) = check.evaluate(energy("1002.000", "401.000", "500.000"), guarded)
    assert wrong.kind is AnomalyKind.TARIFFS_INCONSISTENT and wrong.key == "tariffs_inconsistent_import"
    assert wrong.placeholders == {"total": "1.8.0", "tariffs": "1.8.1 + 1.8.2", "difference": "+1.000 kWh"}
    assert check.evaluate(energy("1002.000", "402.000", "500.000"), guarded) == []  # adds up again


def test_a_glitch_the_guard_holds_back_never_feeds_the_tariff_rule() -> None:
    check, guarded = TariffCheck(), GuardedEnergy()
    check.evaluate(energy("1000.000", "400.000", "600.000"), guarded)
    assert check.evaluate(energy("0.000", "400.000", "600.000"), guarded) == []  # a 0 read: held, not judged
    assert check.evaluate(energy("1000.500", "400.500", "600.000"), guarded) == []


def power(kw: str, total: str) -> Readout:
    return readout(("1.7.0", kw, "kW"), ("1.8.0", total, "kWh"))


def test_a_register_standing_still_while_power_flows() -> None:
    check, guarded = FrozenCheck(), GuardedEnergy()
    for minute in range(0, 61, 5):
        anomalies = check.evaluate(power("1.2", "500.000"), guarded, minute * 60.0)
    (frozen,) = anomalies
    assert frozen.kind is AnomalyKind.ENERGY_FROZEN and frozen.placeholders["code"] == "1.8.0"
    assert frozen.placeholders["expected"] == "1.20 kWh"
    assert check.evaluate(power("1.2", "500.001"), guarded, FROZEN_AFTER + 60) == []  # it moved


def test_standby_and_coarse_registers_are_not_frozen() -> None:
    check, guarded = FrozenCheck(), GuardedEnergy()
    for minute in range(0, 121, 5):  # 30 W of standby: a kWh register may well stand still
        assert check.evaluate(power("0.030", "500.000"), guarded, minute * 60.0) == []
    coarse, guarded = FrozenCheck(), GuardedEnergy()
    for minute in range(0, 61, 5):  # 100 W for an hour is 0.1 kWh: not ten steps of a whole-kWh register
        assert coarse.evaluate(power("0.1", "500"), guarded, minute * 60.0) == []


def test_an_unchanged_register_keeps_its_verdict_but_a_held_one_counts_readouts() -> None:
    guarded = GuardedEnergy()
    total = DataSet.of("1.8.0", (DataValue("1000.000", "kWh"),))
    first = guarded.read(Readout(None, (total,), BccStatus.OK), "1.8.0")
    assert first is not None and first.wh == 1_000_000
    again = guarded.read(Readout(None, (total,), BccStatus.OK), "1.8.0")  # the same data set, a new readout
    assert again is first
    assert guarded.read(Readout(None, (), BccStatus.OK), "1.8.0") is None  # absent
    assert guarded.read(readout(("2.8.0", "n/a", "kWh")), "2.8.0") is None  # no number
    assert guarded.read(readout(("3.8.0", "12.000", "kvarh")), "3.8.0") is None  # no energy unit
    # a lower value, the same data set in every readout (a parser hands back the same for the same line): each
    # readout counts as one confirmation until the guard takes it as a reset
    lower = DataSet.of("1.8.0", (DataValue("5.000", "kWh"),))
    verdicts = [guarded.read(Readout(None, (lower,), BccStatus.OK), "1.8.0") for _ in range(3)]
    assert verdicts[:2] == [None, None]
    assert verdicts[2] is not None and verdicts[2].wh == 5000
    assert guarded.reset == {"1.8.0"}
