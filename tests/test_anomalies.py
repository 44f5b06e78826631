"""Anomaly rules on readouts and a short history (pure: no Home Assistant)."""

from __future__ import annotations

from custom_components.e450.anomalies import AnomalyDetector, Severity, Thresholds, error_register_anomaly
from custom_components.e450.wire import BccStatus, DataSet, DataValue, Readout


def readout(u1: float = 230.0, u2: float = 231.0, u3: float = 229.0, hz: float = 50.0, ff: str = "00") -> Readout:
    rows = [("32.7.0", f"{u1:.1f}", "V"), ("52.7.0", f"{u2:.1f}", "V"), ("72.7.0", f"{u3:.1f}", "V")]
    rows += [("14.7.0", f"{hz:.2f}", "Hz"), ("F.F", ff, None)]
    return Readout(None, tuple(DataSet.of(a, (DataValue(v, u),)) for a, v, u in rows), BccStatus.OK)


def kinds(anomalies: list) -> set[str]:  # type: ignore[type-arg]
    return {anomaly.key for anomaly in anomalies}


def test_normal_supply_has_no_anomaly() -> None:
    detector = AnomalyDetector()
    for minute in range(20):
        assert detector.evaluate(readout(), minute * 60.0) == []


def test_single_readings_outside_plus_10_minus_15_percent() -> None:
    detector = AnomalyDetector()
    (high,) = detector.evaluate(readout(u1=254.0), 0.0)
    assert (high.kind, high.severity, high.phase) == ("voltage_out_of_limits", Severity.ERROR, "L1")
    assert high.placeholders == {"phase": "L1", "value": "254", "low": "195.5", "high": "253"}
    assert kinds(detector.evaluate(readout(u3=195.0), 60.0)) == {"voltage_out_of_limits_l3"}
    assert detector.evaluate(readout(u3=196.0), 120.0) == []  # within -15 %: only the 10-minute mean may object


def test_ten_minute_mean_needs_a_covered_window() -> None:
    # 245 V is inside the any-time limits (195.5-253 V) but outside a ±5 % band for the mean (218.5-241.5 V)
    detector = AnomalyDetector(Thresholds(voltage_tolerance=5.0))
    results = [detector.evaluate(readout(u2=245.0), minute * 60.0) for minute in range(11)]
    assert all(result == [] for result in results[:8])  # less than 8 of the 10 minutes covered
    warning = results[9][0]
    assert (warning.kind, warning.severity, warning.phase) == ("voltage_mean_out_of_range", Severity.WARNING, "L2")
    assert warning.placeholders["value"] == "245.0"
    # the condition clears once the mean is back inside the band
    cleared = [detector.evaluate(readout(u2=230.0), 660.0 + minute * 60.0) for minute in range(11)]
    assert cleared[-1] == []


def test_phase_loss() -> None:
    (loss,) = AnomalyDetector().evaluate(readout(u2=0.4), 0.0)
    assert (loss.kind, loss.phase, loss.placeholders["value"]) == ("phase_loss", "L2", "0.4")
    single_phase = Readout(None, (DataSet.of("32.7.0", (DataValue("0.0", "V"),)),), BccStatus.OK)
    assert kinds(AnomalyDetector().evaluate(single_phase, 0.0)) == {"voltage_out_of_limits_l1"}


def test_frequency() -> None:
    detector = AnomalyDetector()
    assert kinds(detector.evaluate(readout(hz=52.5), 0.0)) == {"frequency_out_of_limits"}
    detector = AnomalyDetector()
    assert detector.evaluate(readout(hz=50.7), 0.0) == []  # one sample is no sustained deviation
    results = [detector.evaluate(readout(hz=50.7), minute * 60.0) for minute in range(1, 6)]
    assert kinds(results[-1]) == {"frequency_deviation"}
    assert results[-1][0].placeholders["minutes"] == "5"
    assert detector.evaluate(readout(hz=50.0), 360.0) == []
    sixty = AnomalyDetector(Thresholds(nominal_frequency=60.0))
    assert sixty.evaluate(readout(hz=60.0), 0.0) == []
    assert kinds(sixty.evaluate(readout(hz=50.0), 60.0)) == {"frequency_out_of_limits"}


def test_error_register() -> None:
    assert error_register_anomaly(readout(ff="00000000")) is None
    assert error_register_anomaly(readout(ff="garbage")) is None
    zmd = error_register_anomaly(readout(ff="03000000"), "ZMD3104407.B32")
    assert zmd is not None and zmd.placeholders["code"] == "03000000"
    assert zmd.placeholders["meaning"] == "backup battery low; clock invalid"
    unknown = error_register_anomaly(readout(ff="00000800"), "XYZ")
    assert unknown is not None and "not documented" in unknown.placeholders["meaning"]
    e350 = error_register_anomaly(readout(ff="21"), "ZMF100AC.M27")
    assert e350 is not None and "(code 21)" in e350.placeholders["meaning"]
    assert Readout(None, (), BccStatus.OK).text("F.F") is None
    assert error_register_anomaly(Readout(None, (), BccStatus.OK)) is None
