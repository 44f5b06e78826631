"""What the scale judge's verdicts become for the user (custom_components/e450/scale_review.py): one repair issue per
group held back or corrected, and the fix flow's choices shown as the meter's display shows them."""

from __future__ import annotations

from custom_components.e450.anomalies import AnomalyKind
from custom_components.e450.scale_review import display_values, scale_anomalies, scale_choices
from custom_components.e450.wire import BccStatus, DataSet, DataValue, Readout
from custom_components.e450.wire.models import RegisterScale, Scale, Withheld
from custom_components.e450.wire.scaling import Doubt, Group, Verdict


def test_choices_put_what_the_checks_allow_first_and_mark_it() -> None:
    current = {"31.7.0": Withheld("1-0:31.7.0", 400, "A", -2, Doubt.AMBIGUOUS.value, (-2, 0))}
    assert scale_choices(current) == [-2, 0, -5, -4, -3, -1, 1]
    assert display_values(current, 0) == "✓ 31.7.0 = 400 A"
    assert display_values(current, -2) == "✓ 31.7.0 = 4.00 A"
    assert display_values(current, -1) == "31.7.0 = 40.0 A"
    waiting = {
        "1.8.0": Withheld("1-1:1.8.0", 1234568, "Wh", 0, Doubt.WAITING.value, (0,)),
        "2.8.0": Withheld("1-1:2.8.0", 123457, "Wh", 0, Doubt.WAITING.value, (0,)),
    }
    # nothing checked it: no mark; energies in kWh, with the decimals the scale gives them
    assert display_values(waiting, 1) == "1.8.0 = 12,345.68 kWh; 2.8.0 = 1,234.57 kWh"
    assert display_values(waiting, -1) == "1.8.0 = 123.4568 kWh; 2.8.0 = 12.3457 kWh"


def test_an_issue_per_group_held_back_and_per_group_corrected() -> None:
    voltage = DataSet.of("1-0:32.7.0", (DataValue("235.7", "V"),), 235.7)
    readout = Readout(
        None,
        (voltage,),
        BccStatus.ABSENT,
        scales={"32.7.0": RegisterScale(Scale.CORRECTED, 2357, -1, "V", "total_power, voltage_nominal")},
        withheld={"1.8.0": Withheld("1-0:1.8.0", 5, "Wh", 0, Doubt.WAITING.value, (0,))},
    )
    verdicts = {
        Group.VOLTAGE: Verdict(Scale.CORRECTED, -1, rules=("total_power", "voltage_nominal")),
        Group.ENERGY: Verdict(Scale.UNCERTAIN, doubt=Doubt.WAITING, candidates=(0,)),
    }
    found = {anomaly.key: anomaly for anomaly in scale_anomalies(readout, verdicts)}
    assert set(found) == {"scale_waiting_energy", "scale_corrected_voltage"}
    assert found["scale_waiting_energy"].kind is AnomalyKind.SCALE_WAITING
    assert found["scale_waiting_energy"].placeholders == {"registers": "1.8.0", "checks": "-", "group": "energy"}
    corrected = found["scale_corrected_voltage"].placeholders
    assert (corrected["registers"], corrected["factor"]) == ("32.7.0", "10^-1")
    readout = Readout(
        None, (), BccStatus.ABSENT, withheld={"1.7.0": Withheld("1-0:1.7.0", 5, "W", 0, Doubt.AMBIGUOUS.value, (0, 1))}
    )
    (uncertain,) = scale_anomalies(readout, {Group.POWER: Verdict(Scale.UNCERTAIN, rules=("total_power",))})
    assert uncertain.kind is AnomalyKind.SCALE_UNCERTAIN and uncertain.placeholders["checks"] == "total_power"
