"""The scale judge: which power of ten each register a push sent without its scaler gets, or none.

A register's scale is settled when the meter sent it, when the user set it, when a maker's or a utility's
convention names it (:mod:`.conventions`) and no check contradicts it, or when the OBIS table's assumption is
confirmed by a physics check (:mod:`.physics`); it is *corrected* when at least two checks agree on another power
of ten and nothing else fits as well. Anything else is held back: the register is taken out of the readout and
listed in :attr:`~..models.Readout.withheld` with the reason and the scales the evidence allows. An energy register
is never published before its scale is settled (docs/scaling.md §4). Sans-IO: fed readouts and time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
import logging
from typing import Final

from ..frozen import fast_constructor
from ..models import DataSet, DataValue, Readout, RegisterScale, Scale, Withheld, scaled, scaled_text
from ..obis import LOGICAL_DEVICE_NAME
from .conventions import Convention, ListIdentity, convention_for
from .physics import EXPONENTS, RULE_CODES, Doubt, EnergyIntegral, Evidence, Group, group_of, instant_evidence

_LOGGER = logging.getLogger(__name__)

MIN_CHECKS_TO_CORRECT: Final = 2


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the judge decided for a group of registers: a correction ``k`` (the scale is 10^k times the prior's)
    and how sure it is."""

    scale: Scale
    correction: int = 0
    doubt: Doubt | None = None
    candidates: tuple[int, ...] = ()  # corrections the evidence allows, for the user to choose from
    rules: tuple[str, ...] = ()  # the checks behind it


# A group's standing before the evidence: sent, a convention or assumed, and the corrections it may take (empty:
# any of EXPONENTS; a convention with alternatives, such as Kamstrup's 10 Wh or Wh, allows just those).
Prior = tuple[Group, Scale, tuple[int, ...]]


def _solutions(
    groups: list[Group], domains: Mapping[Group, tuple[int, ...]], evidence: list[Evidence]
) -> list[dict[Group, int]]:
    """Every assignment of corrections to ``groups`` (the others: 0) that satisfies all the evidence, found by
    assigning one group after another and checking each piece of evidence as soon as its groups are assigned."""
    due: list[list[Evidence]] = [[] for _ in groups]  # the evidence complete once groups[: i + 1] are assigned
    for item in evidence:
        due[max(groups.index(g) for g, _ in item.terms if g in groups)].append(item)
    found: list[dict[Group, int]] = []
    assignment: dict[Group, int] = {}

    def extend(index: int) -> None:
        if index == len(groups):
            found.append(dict(assignment))
            return
        group = groups[index]
        for k in domains[group]:
            assignment[group] = k
            if all(sum(c * assignment.get(g, 0) for g, c in item.terms) == item.value for item in due[index]):
                extend(index + 1)
        del assignment[group]

    extend(0)
    return found


@lru_cache(maxsize=64)
def solve(priors: frozenset[Prior], evidence: frozenset[Evidence]) -> dict[Group, Verdict]:
    """Each judged group's verdict. A sent group's correction is 0; a convention's is 0 unless the evidence says
    otherwise (or one of its alternatives); an assumed group has no preference. Of the corrections that satisfy
    every piece of evidence, those that depart from the fewest conventions are kept; a group is settled when they
    all give it the same correction, and ambiguous when they differ."""
    scales = {group: scale for group, scale, _ in priors}
    alternatives = {group: domain for group, _, domain in priors}
    unknown = sorted(group for group, scale in scales.items() if scale in (Scale.CONVENTION, Scale.ASSUMED))
    relevant = [
        item
        for item in evidence
        if all(g in scales for g, _ in item.terms) and any(g in unknown for g, _ in item.terms)
    ]
    involved = [group for group in unknown if any(g is group for item in relevant for g, _ in item.terms)]
    involved.sort(key=lambda group: -sum(any(g is group for g, _ in item.terms) for item in relevant))
    domains = {group: alternatives[group] or tuple(EXPONENTS) for group in involved}
    solutions = _solutions(involved, domains, relevant)
    firm = {group for group in unknown if scales[group] is Scale.CONVENTION and not alternatives[group]}
    if solutions:
        departures = [sum(1 for g, k in solution.items() if k and g in firm) for solution in solutions]
        solutions = [s for s, d in zip(solutions, departures, strict=True) if d == min(departures)]
    verdicts: dict[Group, Verdict] = {}
    for group in unknown:
        checks = tuple(sorted({item.rule for item in relevant if any(g is group for g, _ in item.terms)}))
        if group not in involved:
            if group in firm:
                verdicts[group] = Verdict(Scale.CONVENTION)
            else:  # nothing checks it: the convention's alternatives, or the OBIS table's guess, remain open
                doubt = Doubt.AMBIGUOUS if alternatives[group] else Doubt.UNCHECKED
                if group is Group.ENERGY:
                    doubt = Doubt.WAITING  # the power's integral will tell, given a quarter of an hour
                verdicts[group] = Verdict(Scale.UNCERTAIN, doubt=doubt, candidates=alternatives[group] or (0,))
            continue
        if not solutions:
            candidates = alternatives[group] or (0,)
            verdicts[group] = Verdict(Scale.UNCERTAIN, doubt=Doubt.CONFLICT, candidates=candidates, rules=checks)
            continue
        corrections = tuple(sorted({solution[group] for solution in solutions}, key=lambda k: (abs(k), k)))
        if len(corrections) > 1:
            verdicts[group] = Verdict(Scale.UNCERTAIN, doubt=Doubt.AMBIGUOUS, candidates=corrections, rules=checks)
            continue
        k = corrections[0]
        if scales[group] is Scale.CONVENTION and (k == 0 or alternatives[group]):
            verdicts[group] = Verdict(Scale.CONVENTION, k, rules=checks)  # the convention, or its alternative
        elif k == 0:
            verdicts[group] = Verdict(Scale.CHECKED, rules=checks)
        elif len(checks) >= MIN_CHECKS_TO_CORRECT:
            verdicts[group] = Verdict(Scale.CORRECTED, k, rules=checks)
        else:
            verdicts[group] = Verdict(Scale.UNCERTAIN, k, Doubt.SINGLE_CHECK, (k, 0), checks)
    return verdicts


def identity(readout: Readout) -> ListIdentity:
    """What a push says about its meter, for the conventions."""
    flag = readout.push.manufacturer if readout.push is not None else None
    name = readout.text(LOGICAL_DEVICE_NAME)
    if flag is None and name and len(name) >= 3 and name[:3].isalpha():
        flag = name[:3].upper()
    return ListIdentity(
        readout.text("0.2.129"),
        flag,
        readout.text("96.1.1"),
        readout.push.layout if readout.push is not None else None,
    )


@dataclass(frozen=True, slots=True)
class _Register:
    """A register the judge decides, as its list sends it: its group, and the scale before the verdict."""

    code: str
    group: Group | None
    scale: Scale
    exponent: int
    unit: str | None
    source: str | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What does not change from one push of a list to the next: its registers' groups and prior scales, and each
    group's standing. Made once per list (a meter pushing several lists has one per list)."""

    registers: tuple[_Register, ...]
    priors: dict[Group, Prior]
    convention: Convention | None
    # the codes the rules read: (code, the exponent the plan gives it, or None: as the readout has it)
    rule_values: tuple[tuple[str, int | None], ...]


@dataclass(frozen=True, slots=True)
class _Outcome:
    """The verdicts applied to a plan: each register's scale, exponent and source, or why it is held back."""

    shown: dict[str, tuple[Scale, int, str | None]]
    held: dict[str, tuple[str, tuple[int, ...]]]
    rescaled: frozenset[str]  # shown at another exponent or unit than the readout has them


_note = fast_constructor(RegisterScale)
_RANK: Final = {Scale.SENT: 0, Scale.CONVENTION: 1, Scale.ASSUMED: 2}
PLANS_KEPT: Final = 8  # lists per meter (Kaifa and Iskraemeco push up to three)


@dataclass
class ScaleJudge:
    """Judges the scales of one meter's pushes, keeping the evidence between them. ``user``: the exponents the
    user set, by code (the number as the meter sent it × 10^exponent)."""

    user: Mapping[str, int] = field(default_factory=dict)
    verdicts: dict[Group, Verdict] = field(default_factory=dict)
    convention: Convention | None = None
    _evidence: dict[str, Evidence] = field(default_factory=dict)
    _priors: dict[Group, Prior] = field(default_factory=dict)
    _energy: EnergyIntegral = field(default_factory=EnergyIntegral)
    _plans: dict[object, _Plan] = field(default_factory=dict)
    _outcomes: dict[int, tuple[_Plan, _Outcome]] = field(default_factory=dict)
    _last_plan: _Plan | None = None

    @property
    def evidence(self) -> list[Evidence]:
        """The latest evidence of each rule."""
        return list(self._evidence.values())

    def with_user(self, user: Mapping[str, int]) -> ScaleJudge:
        """A judge for the user's new scales that keeps what was learned of the groups they leave alone (the
        energy's quarter of an hour against the power, for one, when neither scale changed)."""
        changed = {group_of(code) for code in set(self.user) | set(user) if self.user.get(code) != user.get(code)}
        judge = ScaleJudge(dict(user))
        judge._evidence = {
            rule: item for rule, item in self._evidence.items() if not any(g in changed for g, _ in item.terms)
        }
        if not changed & {Group.ENERGY, Group.POWER}:
            judge._energy = self._energy
        return judge

    def judge(self, readout: Readout, now: float | None = None) -> Readout:
        """``readout`` with each unsent scale decided: rescaled, or held back. ``now``: seconds on any steady
        clock (the integral of the power needs it; without it the energy waits for a convention or the user)."""
        if not readout.scales and not self.user:
            return readout  # every scale was sent
        plan = self._plan(readout)
        self.convention = plan.convention
        values = self._values(readout, plan)
        found = instant_evidence(values)
        if now is not None:
            steps = {r.code: 10.0**r.exponent for r in plan.registers if r.group is Group.ENERGY}
            found += self._energy.feed(values, steps, now)
        changed = plan is not self._last_plan
        for item in found:
            if self._evidence.get(item.rule) != item:
                self._evidence[item.rule] = item
                changed = True
        if changed:  # new evidence, or another list's registers: decide again (solve() keeps its answers)
            self._last_plan = plan
            self._priors.update(plan.priors)
            verdicts = solve(frozenset(self._priors.values()), frozenset(self._evidence.values()))
            if verdicts != self.verdicts:
                self._log_changes(verdicts)
                self.verdicts, self._outcomes = verdicts, {}
        return self._apply(readout, plan)

    def _plan(self, readout: Readout) -> _Plan:
        """The list's plan: made on its first push, then looked up."""
        key = (
            identity(readout),
            tuple((code, n.scale, n.exponent, n.unit, n.source) for code, n in readout.scales.items()),
            tuple(code for code in self.user if code not in readout.scales and readout.number(code) is not None),
        )
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= PLANS_KEPT:
                self._plans.clear()
            plan = self._plans[key] = self._make_plan(readout, key[0])
        return plan

    def _make_plan(self, readout: Readout, list_identity: ListIdentity) -> _Plan:
        """Each unsent register with the user's or the convention's exponent, where there is one; each group's
        standing (sent, convention or assumed) and the alternatives its convention allows."""
        convention = convention_for(list_identity)
        registers: list[_Register] = []
        for code, note in readout.scales.items():
            group = group_of(code)
            if code in self.user:
                registers.append(_Register(code, group, Scale.USER, self.user[code], note.unit, None))
            elif note.scale is Scale.ASSUMED and convention and group is not None and group in convention.exponents:
                exponent = convention.exponents[group][0]
                registers.append(_Register(code, group, Scale.CONVENTION, exponent, note.unit, convention.name))
            else:
                registers.append(_Register(code, group, note.scale, note.exponent, note.unit, note.source))
        for code in self.user:  # a register the meter sends with its scaler, scaled by the user all the same
            if code not in readout.scales and (reading := readout.number(code)) is not None:
                registers.append(_Register(code, group_of(code), Scale.USER, self.user[code], reading.unit, None))
        standing: dict[Group, Scale] = {}
        for code in readout.readings:
            if (group := group_of(code)) is not None:
                standing.setdefault(group, Scale.SENT)
        for register in registers:
            if register.group is not None:
                scale: Scale = Scale.SENT if register.scale is Scale.USER else register.scale
                if _RANK[scale] > _RANK[standing.get(register.group, Scale.SENT)]:
                    standing[register.group] = scale
        priors: dict[Group, Prior] = {}
        for group, scale in standing.items():
            exponents = convention.exponents.get(group, ()) if convention is not None else ()
            follows = all(r.source == convention.name for r in registers if r.group is group) if convention else False
            domain = tuple(e - exponents[0] for e in exponents) if len(exponents) > 1 and follows else ()
            priors[group] = (group, scale, domain)
        planned = {register.code: register.exponent for register in registers}
        rule_values = tuple((code, planned.get(code)) for code in readout.readings if code in RULE_CODES)
        return _Plan(tuple(registers), priors, convention, rule_values)

    @staticmethod
    def _values(readout: Readout, plan: _Plan) -> dict[str, float]:
        """The numbers the rules read, at the plan's scales."""
        values: dict[str, float] = {}
        scales = readout.scales
        for code, exponent in plan.rule_values:
            dataset = readout.current(code)
            if dataset is None or dataset.number is None:
                continue
            if exponent is None:
                values[code] = float(dataset.number)
            else:
                note = scales.get(code)
                values[code] = float(scaled(note.raw if note is not None else dataset.number, exponent))
        return values

    def _log_changes(self, verdicts: Mapping[Group, Verdict]) -> None:
        for group, verdict in verdicts.items():
            before = self.verdicts.get(group)
            if verdict.scale is Scale.CORRECTED and (before is None or before != verdict):
                _LOGGER.warning(
                    "The %s registers are off by 10^%d by %s: shown corrected",
                    group.value,
                    -verdict.correction,
                    " and ".join(verdict.rules),
                )

    def _outcome(self, plan: _Plan, scales: Mapping[str, RegisterScale]) -> _Outcome:
        """The verdicts applied to the plan's registers, once per plan and set of verdicts."""
        cached = self._outcomes.get(id(plan))
        if cached is not None and cached[0] is plan:
            return cached[1]
        units = {register.code: register.unit for register in plan.registers}
        shown: dict[str, tuple[Scale, int, str | None]] = {}
        held: dict[str, tuple[str, tuple[int, ...]]] = {}
        for register in plan.registers:
            group = register.group
            verdict = self.verdicts.get(group) if group is not None and register.scale is not Scale.USER else None
            if verdict is None:
                shown[register.code] = (register.scale, register.exponent, register.source)
            elif verdict.scale is Scale.UNCERTAIN:
                reason = verdict.doubt.value if verdict.doubt else Doubt.UNCHECKED.value
                held[register.code] = (reason, tuple(register.exponent + k for k in verdict.candidates))
            else:
                source = register.source if verdict.scale is Scale.CONVENTION else ", ".join(verdict.rules)
                shown[register.code] = (verdict.scale, register.exponent + verdict.correction, source)
        rescaled = frozenset(
            code
            for code, (_, exponent, _) in shown.items()
            if (note := scales.get(code)) is None or note.exponent != exponent or note.unit != units[code]
        )
        outcome = _Outcome(shown, held, rescaled)
        self._outcomes[id(plan)] = (plan, outcome)
        return outcome

    def _apply(self, readout: Readout, plan: _Plan) -> Readout:
        scales = readout.scales
        outcome = self._outcome(plan, scales)
        notes: dict[str, RegisterScale] = {}
        withheld: dict[str, Withheld] = {}
        for register in plan.registers:
            code = register.code
            note = scales.get(code)
            raw = note.raw if note is not None else readout.number(code).value  # type: ignore[union-attr]
            if (decided := outcome.shown.get(code)) is not None:
                notes[code] = _note(decided[0], raw, decided[1], register.unit, decided[2])
            else:
                reason, candidates = outcome.held[code]
                dataset = readout.current(code)
                address = dataset.address if dataset is not None else code
                withheld[code] = Withheld(address, raw, register.unit, register.exponent, reason, candidates)
        if not withheld and not outcome.rescaled:  # every number as decoded: only the notes change
            return replace(readout, scales=notes, withheld=withheld)
        datasets: list[DataSet] = []
        for dataset in readout.datasets:
            code = dataset.obis
            if dataset.history is not None or (code not in outcome.rescaled and code not in withheld):
                datasets.append(dataset)
            elif code in notes:
                note = notes[code]
                value = scaled(note.raw, note.exponent)
                text = scaled_text(note.raw, note.exponent, value)
                datasets.append(DataSet.of(dataset.address, (DataValue(text, note.unit),), value))
        return replace(readout, datasets=tuple(datasets), scales=notes, withheld=withheld)
