"""The simulator's fault plan: names, run-time changes, and what a cycle of each fault does (no I/O)."""

from __future__ import annotations

import random

import pytest

from simulator import FAULTS, MeterSimulator
from simulator.faults import INTERMITTENT_FAULTS, Fault, FaultPlan


def test_fault_names_are_plain_strings() -> None:
    assert all(type(name) is str for name in FAULTS)
    assert set(FAULTS) == set(Fault)
    assert Fault.BAD_BCC == "bad_bcc"


def test_fault_is_assignable_by_name_and_checked() -> None:
    meter = MeterSimulator("e450", fault="no_answer")
    assert meter.fault is Fault.NO_ANSWER
    meter.fault = "bad_bcc"
    assert meter.fault == "bad_bcc"
    meter.fault = None
    assert meter.fault is None
    with pytest.raises(ValueError, match="unknown fault 'loose_wire'"):
        meter.fault = "loose_wire"
    with pytest.raises(ValueError, match="unknown fault"):
        MeterSimulator("e450", fault="loose_wire")


def test_a_changed_fault_applies_from_the_next_cycle() -> None:
    plan = FaultPlan(None, random.Random(1))
    plan.configured = "no_answer"
    assert plan.answers()  # the cycle under way is not affected
    plan.pick()
    assert not plan.answers()


def test_each_fault_answers_its_questions() -> None:
    plan = FaultPlan("truncated", random.Random(1))
    assert plan.truncate_at(10) == 5 and plan.block_check(0x40) == 0x40 and plan.switched_baud(9600) == 9600
    plan.configured = "bad_bcc"
    plan.pick()
    assert plan.truncate_at(10) is None and plan.block_check(0x40) == 0x61
    assert plan.damage_push(b"\x00\x00\x00") == b"\x00\x10\x00"
    plan.configured = "wrong_baud"
    plan.pick()
    assert plan.switched_baud(9600) == 4800 and plan.switched_baud(300) == 300
    plan.configured = "slow"
    plan.pick()
    assert plan.reaction(0.2) == 1.5
    plan.configured = "garbage"
    plan.pick()
    assert plan.babbles() and len(plan.damage_push(b"x")) == 17


def test_intermittent_faults_are_reproducible_for_a_seed() -> None:
    def cycles(seed: int) -> list[Fault | None]:
        plan = FaultPlan("intermittent", random.Random(seed))
        picked = []
        for _ in range(200):
            plan.pick()
            picked.append(plan.current)
        return picked

    picked = cycles(3)
    assert picked == cycles(3)
    assert None in picked and set(picked) - {None} <= set(INTERMITTENT_FAULTS)


def test_a_meter_reset_happens_once_after_two_readouts() -> None:
    plan = FaultPlan("meter_reset", random.Random(1))
    assert not plan.resets_energy(1)
    assert plan.resets_energy(2)
    assert not plan.resets_energy(3)
