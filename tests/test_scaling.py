"""The scale judge (custom_components/e450/wire/scaling): registers a push sends without their scaler are scaled by a
maker's or utility's convention, confirmed, corrected or held back by the physics checks, and never published at a
power of ten nothing settles."""

from __future__ import annotations

from dataclasses import dataclass
import math
import struct

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.e450.wire import PushDecoder
from custom_components.e450.wire.framing.hdlc import build_hdlc_frame
from custom_components.e450.wire.models import Layout, Scale
from custom_components.e450.wire.scaling import CONVENTIONS, Doubt, Group
from custom_components.e450.wire.scaling.conventions import ListIdentity, convention_for
from custom_components.e450.wire.scaling.judge import solve
from custom_components.e450.wire.scaling.physics import (
    ENERGY_WINDOW,
    EnergyIntegral,
    Evidence,
    decade,
    group_of,
    instant_evidence,
)

LLC = b"\xe6\xe7\x00"
HEADER = b"\x0f\x00\x00\x00\x01\x00"


def obis(code: str) -> bytes:
    a, b, c, d, e = (int(part) for part in code.replace("-", ".").replace(":", ".").split("."))
    return b"\x09\x06" + bytes([a, b, c, d, e, 255])


def u32(value: int) -> bytes:
    return b"\x06" + struct.pack(">I", value)


def text(value: str) -> bytes:
    return b"\x0a" + bytes([len(value)]) + value.encode()


def pairs(values: dict[str, int], list_id: str | None = None) -> bytes:
    """A flat structure of OBIS/value pairs (Kamstrup's shape), optionally opened by a bare list id."""
    items = [text(list_id)] if list_id else []
    for code, value in values.items():
        items += [obis(code), u32(value)]
    return b"\x02" + bytes([len(items)]) + b"".join(items)


def push(body: bytes) -> bytes:
    return build_hdlc_frame(LLC + HEADER + body)


# --- the rules --------------------------------------------------------------------------------------------------


def test_groups_of_the_codes() -> None:
    assert [group_of(code) for code in ("32.7.0", "31.7.0", "1.7.0", "21.7.0", "1.8.1", "14.7.0", "13.7.0")] == [
        Group.VOLTAGE, Group.CURRENT, Group.POWER, Group.PHASE_POWER, Group.ENERGY, Group.FREQUENCY,
        Group.POWER_FACTOR,
    ]  # fmt: skip
    assert group_of("96.1.0") is None and group_of("33.7.0") is None  # names, and per-phase power factors


def test_decade_is_the_one_power_of_ten_that_fits() -> None:
    assert decade(0.8, 0.5, 1.05) == 0 and decade(80, 0.5, 1.05) == 2 and decade(0.008, 0.5, 1.05) == -2
    assert decade(0.3, 0.5, 1.05) is None and decade(0.0, 0.5, 1.05) is None and decade(math.inf, 0.5, 1.05) is None


def test_a_voltage_says_its_own_power_of_ten_and_a_missing_phase_says_nothing() -> None:
    (evidence,) = instant_evidence({"32.7.0": 2357.0, "52.7.0": 0.0, "72.7.0": 2301.0})
    assert evidence == Evidence("voltage_nominal", ((Group.VOLTAGE, 1),), -1)
    assert instant_evidence({"32.7.0": 0.0}) == []
    assert instant_evidence({"32.7.0": 2357.0, "52.7.0": 230.0}) == []  # phases that disagree: the rule abstains
    assert instant_evidence({"32.7.0": 60.0}) == []  # no nominal explains it


def test_power_against_u_i_relates_three_groups() -> None:
    # E570 under load, as its source states it: 258.9 kW beside 400/200/601 A read as 4.00/2.00/6.01 A
    values = {"1.7.0": 258874.0, "32.7.0": 229.0, "52.7.0": 230.0, "72.7.0": 229.0}
    values |= {"31.7.0": 4.0, "51.7.0": 2.0, "71.7.0": 6.01}
    found = {item.rule: item for item in instant_evidence(values)}
    assert found["total_power"].value == -2  # k(power) - k(voltage) - k(current) = -2
    assert found["voltage_nominal"].value == 0
    # below 20 VA, or a power factor below 0.5: no evidence
    assert "total_power" not in {
        item.rule for item in instant_evidence({"1.7.0": 3.0, "32.7.0": 230.0, "31.7.0": 0.05})
    }
    low = {"1.7.0": 30.0, "32.7.0": 230.0, "31.7.0": 1.0}
    assert "total_power" not in {item.rule for item in instant_evidence(low)}


def test_phase_sum_and_power_factor() -> None:
    values = {"1.7.0": 2300.0, "21.7.0": 100.0, "41.7.0": 100.0, "61.7.0": 30.0}
    assert {item.rule: item.value for item in instant_evidence(values)} == {"phase_sum": -1}
    values = {"1.7.0": 900.0, "32.7.0": 230.0, "31.7.0": 4.35, "13.7.0": 0.9}
    assert {item.rule: item.value for item in instant_evidence(values)}["power_factor"] == 0
    values["13.7.0"] = 900.0  # a power factor sent in 0.001 and read as is
    assert {item.rule: item.value for item in instant_evidence(values)}["power_factor"] == 3


def test_the_energy_against_the_power_over_a_quarter_of_an_hour() -> None:
    integral = EnergyIntegral()
    found: list[Evidence] = []
    raw = 100_000  # the register in 10 Wh steps, read as Wh
    for second in range(0, int(ENERGY_WINDOW) + 60, 10):
        found += integral.feed({"1.7.0": 1200.0, "1.8.0": float(raw + 1200 * second // 36000)}, {"1.8.0": 1.0}, second)
    assert found == [Evidence("energy_import", ((Group.ENERGY, 1), (Group.POWER, -1)), 1)]
    # a gap, or a register that went down, starts the window again
    assert integral.feed({"1.7.0": 1200.0, "1.8.0": 1.0}, {}, 2000) == []
    assert integral.feed({"1.7.0": 1200.0, "1.8.0": 1.0e9}, {}, 9000) == []


# --- the conventions ----------------------------------------------------------------------------------------------


def test_conventions_are_chosen_by_what_the_push_says() -> None:
    def named(list_id: str | None = None, maker: str | None = None, meter_type: str | None = None) -> str | None:
        row = convention_for(ListIdentity(list_id, maker, meter_type, Layout.OBIS_PAIRS))
        return row.name if row else None

    assert named("Kamstrup_V0001") == "Kamstrup convention"
    assert named("Kamstrup_V0001", meter_type="6851131BN") == "Kamstrup convention (current transformer meter)"
    assert named(maker="KAM", meter_type="6841131BN") == "Kamstrup convention"
    assert named("KFM_001") == named(maker="KFM") == "Kaifa convention"
    assert named(maker="LGZ") == "Landis+Gyr convention" and named(maker="ISK") == "Iskraemeco convention"
    assert named("AIDON_V0001") is None and named() is None  # Aidon sends its scalers
    assert convention_for(ListIdentity(None, None, None, Layout.CZECH)).name == "Czech distributors' convention"  # type: ignore[union-attr]
    assert convention_for(ListIdentity("Kamstrup_V0001", None, None, Layout.POSITIONAL)) is None  # a profile's own


def test_every_convention_has_its_section_in_the_docs() -> None:
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "scaling.md").read_text()
    for row in CONVENTIONS:
        assert f'<a id="{row.doc}"></a>' in doc, row.doc


# --- the solver -------------------------------------------------------------------------------------------------


def test_a_voltage_off_by_ten_is_corrected_when_two_checks_agree() -> None:
    """A Landis+Gyr E360 on the Swiss list: 2357 V read as whole volts (source: 235.7 V)."""
    priors = frozenset(
        {
            (Group.VOLTAGE, Scale.CONVENTION, ()),
            (Group.CURRENT, Scale.CONVENTION, ()),
            (Group.POWER, Scale.CONVENTION, ()),
        }
    )
    alone = solve(priors, frozenset({Evidence("voltage_nominal", ((Group.VOLTAGE, 1),), -1)}))
    assert alone[Group.VOLTAGE].scale is Scale.UNCERTAIN and alone[Group.VOLTAGE].doubt is Doubt.SINGLE_CHECK
    both = solve(
        priors,
        frozenset(
            {
                Evidence("voltage_nominal", ((Group.VOLTAGE, 1),), -1),
                Evidence("total_power", ((Group.POWER, 1), (Group.VOLTAGE, -1), (Group.CURRENT, -1)), 1),
            }
        ),
    )
    assert both[Group.VOLTAGE].scale is Scale.CORRECTED and both[Group.VOLTAGE].correction == -1
    assert both[Group.CURRENT].scale is Scale.CONVENTION and both[Group.POWER].scale is Scale.CONVENTION


def test_the_e570_current_is_told_from_the_power_only_by_the_energy() -> None:
    """Landis+Gyr's convention allows 0.01 A (E450) or whole amperes (E570): under load the power against U·I
    says the current is 100 × what 0.01 A gives; that or a power 100 × too large, until the energy decides."""
    priors = frozenset(
        {
            (Group.VOLTAGE, Scale.CONVENTION, (0, -1)),
            (Group.CURRENT, Scale.CONVENTION, (0, 2)),
            (Group.POWER, Scale.CONVENTION, ()),
            (Group.ENERGY, Scale.CONVENTION, ()),
        }
    )
    load = {
        Evidence("voltage_nominal", ((Group.VOLTAGE, 1),), 0),
        Evidence("total_power", ((Group.POWER, 1), (Group.VOLTAGE, -1), (Group.CURRENT, -1)), -2),
    }
    verdicts = solve(priors, frozenset(load))
    # the current's alternative costs no departure from the conventions, the power's correction does
    assert verdicts[Group.CURRENT].scale is Scale.CONVENTION and verdicts[Group.CURRENT].correction == 2
    assert verdicts[Group.POWER].scale is Scale.CONVENTION and verdicts[Group.POWER].correction == 0
    idle = solve(priors, frozenset({Evidence("voltage_nominal", ((Group.VOLTAGE, 1),), 0)}))
    assert idle[Group.CURRENT].doubt is Doubt.AMBIGUOUS and idle[Group.CURRENT].candidates == (0, 2)


def test_assumed_groups_related_only_to_each_other_stay_open() -> None:
    """Energy and power of a list nobody describes agree with each other: that says nothing of their scale."""
    priors = frozenset({(Group.POWER, Scale.ASSUMED, ()), (Group.ENERGY, Scale.ASSUMED, ())})
    verdicts = solve(priors, frozenset({Evidence("energy_import", ((Group.ENERGY, 1), (Group.POWER, -1)), 0)}))
    assert {verdict.doubt for verdict in verdicts.values()} == {Doubt.AMBIGUOUS}
    waiting = solve(priors, frozenset())
    assert waiting[Group.ENERGY].doubt is Doubt.WAITING and waiting[Group.POWER].doubt is Doubt.UNCHECKED


def test_contradicting_evidence_holds_everything_it_touches() -> None:
    priors = frozenset({(Group.VOLTAGE, Scale.ASSUMED, (0,))})
    evidence = frozenset({Evidence("voltage_nominal", ((Group.VOLTAGE, 1),), -1)})
    assert solve(priors, evidence)[Group.VOLTAGE].doubt is Doubt.CONFLICT


# --- end to end through the decoder -----------------------------------------------------------------------------


def test_kamstrup_list_by_its_list_id_and_the_energy_chosen_by_the_power() -> None:
    """Kamstrup's Norwegian 10 Wh or the Wh of Swedish meters: a quarter of an hour of power readings decides."""
    decoder = PushDecoder()
    readings = {"1-1:1.7.0": 3600, "1-1:32.7.0": 231, "1-1:31.7.0": 1732}
    first = decoder.feed(push(pairs({**readings, "1-1:1.8.0": 1_000_000}, "Kamstrup_V0001")), 0.0)[0].readout
    assert first is not None
    assert first.readings["31.7.0"].value == 17.32 and first.scale("31.7.0") is Scale.CONVENTION
    assert first.scales["1.7.0"].source == "Kamstrup convention"
    held = first.withheld["1.8.0"]
    assert (held.raw, held.reason, held.candidates) == (1_000_000, "waiting", (1, 0))
    last = first
    for second in range(10, 1000, 10):  # 3.6 kW for 990 s: 990 Wh, 99 steps of 10 Wh
        body = pairs({**readings, "1-1:1.8.0": 1_000_000 + second // 10}, "Kamstrup_V0001")
        (decoded,) = decoder.feed(push(body), float(second))
        assert decoded.readout is not None
        last = decoded.readout
    assert last.readings["1.8.0"].value == 10_000_990 and last.scale("1.8.0") is Scale.CONVENTION
    assert decoder.judge.verdicts[Group.ENERGY].rules == ("energy_import",)


def test_the_user_scale_wins_and_anchors_the_checks() -> None:
    body = pairs({"1-0:1.7.0": 500, "1-0:1.8.0": 123456})
    (plain,) = PushDecoder().feed(push(body))
    assert plain.readout is not None and set(plain.readout.withheld) == {"1.7.0", "1.8.0"}
    (chosen,) = PushDecoder(scales={"1.8.0": 1, "1.7.0": 0}).feed(push(body))
    assert chosen.readout is not None and not chosen.readout.withheld
    assert chosen.readout.readings["1.8.0"].value == 1234560 and chosen.readout.scale("1.8.0") is Scale.USER
    document = chosen.as_dict()
    assert document["readings"]["1.8.0"] == {"value": 1234560, "unit": "Wh", "scale": "user"}


# --- the property: right or held back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hidden:
    """A meter's true state and the powers of ten its list sends each group at, unsaid."""

    volts: float
    amps: tuple[float, float, float]
    factor: float
    exponents: dict[str, int]
    registers: frozenset[str]
    energy_wh: float

    def true_values(self, seconds: float) -> dict[str, float]:
        powers = [self.volts * amps * self.factor for amps in self.amps]
        values = {"32.7.0": self.volts, "52.7.0": self.volts, "72.7.0": self.volts}
        values |= dict(zip(("31.7.0", "51.7.0", "71.7.0"), self.amps, strict=True))
        values |= {"1.7.0": sum(powers), "21.7.0": powers[0], "41.7.0": powers[1], "61.7.0": powers[2]}
        values["1.8.0"] = self.energy_wh + sum(powers) * seconds / 3600
        return {code: value for code, value in values.items() if code in self.registers}

    def sent(self, seconds: float) -> dict[str, int]:
        groups = {"32": "voltage", "52": "voltage", "72": "voltage", "31": "current", "51": "current"}
        groups |= {"71": "current", "1": "power", "21": "phase_power", "41": "phase_power", "61": "phase_power"}
        sent = {}
        for code, value in self.true_values(seconds).items():
            group = "energy" if code == "1.8.0" else groups[code.split(".")[0]]
            sent[f"1-0:{code}"] = max(0, round(value / 10 ** self.exponents[group]))
        return sent


@st.composite
def hidden(draw: st.DrawFn) -> Hidden:
    codes = ["32.7.0", "52.7.0", "72.7.0", "31.7.0", "51.7.0", "71.7.0", "1.7.0", "21.7.0", "41.7.0", "61.7.0"]
    registers = draw(st.sets(st.sampled_from([*codes, "1.8.0"]), min_size=2))
    exponents = {group: draw(st.integers(-3, 1)) for group in ("voltage", "current", "power", "phase_power", "energy")}
    amps = tuple(draw(st.floats(0.0, 60.0)) for _ in range(3))
    return Hidden(
        volts=draw(st.sampled_from([120.0, 127.0, 230.0, 240.0])) * draw(st.floats(0.95, 1.05)),
        amps=amps,  # type: ignore[arg-type]
        factor=draw(st.floats(0.6, 1.0)),
        exponents=exponents,
        registers=frozenset(registers),
        # what a double-long-unsigned holds at the energy's hidden scale
        energy_wh=draw(st.floats(1e3, 4e9)) * 10.0 ** exponents["energy"],
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hidden())
def test_every_published_value_is_right_or_held_back(meter: Hidden) -> None:
    """Lists whose scales are hidden (no scaler, no convention), pushed every 10 s for 20 minutes: whatever the
    judge publishes is the true value within the rounding of what was sent; the rest is held back."""
    decoder = PushDecoder()
    for seconds in range(0, 1200, 10):
        (decoded,) = decoder.feed(push(pairs(meter.sent(seconds))), float(seconds))
        readout = decoded.readout
        assert readout is not None
        truth = meter.true_values(seconds)
        for code, reading in readout.readings.items():
            group = group_of(code)
            assert group is not None
            step = 10.0 ** meter.exponents[group.value]  # one step of what was sent
            assert reading.value == pytest.approx(truth[code], abs=step), (code, readout.scales[code])
        assert set(readout.readings) | set(readout.withheld) == set(truth)


def test_new_user_scales_keep_the_evidence_of_the_groups_they_leave_alone() -> None:
    """Choosing the currents' scale does not send a checked energy back to a quarter of an hour of waiting."""
    decoder = PushDecoder(scales={"1.7.0": 0})
    readings = {"1-0:1.7.0": 3600, "1-0:32.7.0": 231}
    for second in range(0, 1000, 10):
        decoder.feed(push(pairs({**readings, "1-0:1.8.0": 1_000_000 + second})), float(second))
    assert decoder.judge.verdicts[Group.ENERGY].scale is Scale.CHECKED
    judge = decoder.judge.with_user({"1.7.0": 0, "31.7.0": -2})
    assert {item.rule for item in judge.evidence} == {"voltage_nominal", "energy_import"}
    assert decoder.judge.with_user({"1.7.0": 1}).evidence == [decoder.judge.evidence[0]]  # the power's changed
