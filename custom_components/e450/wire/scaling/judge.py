"""The scale judge: which power of ten each register a push sent without its scaler gets, or none.

A register's scale is settled when the meter sent it, when the user set it, when a maker's or a utility's
convention names it (:mod:`.conventions`) and no check contradicts it, or when the OBIS table's assumption is
confirmed by a physics check (:mod:`.physics`); it is *corrected* when at least two checks agree on another power
of ten and nothing else fits as well. Anything else is held back: the register is taken out of the readout and
listed in :attr:`~..models.Readout.withheld` with the reason and the scales the evidence allows. An energy register
is never published before its scale is settled (docs/scaling.md §4). Sans-IO: fed readouts and time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
import logging
from typing import Final

from ..models import DataSet, DataValue, Readout, RegisterScale, Scale, Withheld, scaled
from ..obis import LOGICAL_DEVICE_NAME
from .conventions import Convention, ListIdentity, convention_for
from .physics import EXPONENTS, Doubt, EnergyIntegral, Evidence, Group, group_of, instant_evidence

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

    @property
    def evidence(self) -> list[Evidence]:
        """The latest evidence of each rule."""
        return list(self._evidence.values())

    def judge(self, readout: Readout, now: float | None = None) -> Readout:
        """``readout`` with each unsent scale decided: rescaled, or held back. ``now``: seconds on any steady
        clock (the integral of the power needs it; without it the energy waits for a convention or the user)."""
        if not readout.scales and not self.user:
            return readout  # every scale was sent
        prepared = self._prepare(readout)
        values = {code: float(reading.value) for code, reading in readout.readings.items()}
        values |= {code: float(scaled(note.raw, note.exponent)) for code, note in prepared.items()}
        steps = {code: 10.0**note.exponent for code, note in prepared.items()}
        found = instant_evidence(values)
        if now is not None:
            found += self._energy.feed(values, steps, now)
        self._evidence.update((item.rule, item) for item in found)
        for group, scale in self._priors_of(prepared, values):
            exponents = self._alternatives(group, prepared)
            self._priors[group] = (group, scale, tuple(e - exponents[0] for e in exponents) if exponents else ())
        verdicts = solve(frozenset(self._priors.values()), frozenset(self._evidence.values()))
        self._log_changes(verdicts)
        self.verdicts = verdicts
        return self._apply(readout, prepared)

    def _prepare(self, readout: Readout) -> dict[str, RegisterScale]:
        """Each unsent register with the user's or the convention's exponent, where there is one."""
        self.convention = convention_for(identity(readout))
        prepared: dict[str, RegisterScale] = {}
        for code, note in readout.scales.items():
            group = group_of(code)
            if code in self.user:
                prepared[code] = RegisterScale(Scale.USER, note.raw, self.user[code], note.unit)
            elif (
                note.scale is Scale.ASSUMED
                and self.convention
                and group is not None
                and group in self.convention.exponents
            ):
                exponent = self.convention.exponents[group][0]
                prepared[code] = RegisterScale(Scale.CONVENTION, note.raw, exponent, note.unit, self.convention.name)
            else:
                prepared[code] = note
        for code in self.user.keys() - prepared.keys():  # a register the meter sends with its scaler
            if (reading := readout.number(code)) is not None:
                prepared[code] = RegisterScale(Scale.USER, reading.value, self.user[code], reading.unit)
        return prepared

    def _alternatives(self, group: Group, prepared: Mapping[str, RegisterScale]) -> tuple[int, ...]:
        """The exponents the convention allows a group, when it allows several and its registers follow it."""
        convention = self.convention
        exponents = convention.exponents.get(group, ()) if convention is not None else ()
        if len(exponents) < 2 or convention is None:
            return ()
        notes = [note for code, note in prepared.items() if group_of(code) is group]
        return exponents if all(note.source == convention.name for note in notes) else ()

    @staticmethod
    def _priors_of(prepared: Mapping[str, RegisterScale], values: Mapping[str, float]) -> Iterable[tuple[Group, Scale]]:
        """Each group's standing: sent (no register of it judged), convention, or assumed."""
        standing: dict[Group, Scale] = {}
        for code in values:
            if (group := group_of(code)) is None:
                continue
            note = prepared.get(code)
            scale = Scale.SENT if note is None or note.scale is Scale.USER else note.scale
            rank = (Scale.SENT, Scale.CONVENTION, Scale.ASSUMED)
            if group not in standing or rank.index(scale) > rank.index(standing[group]):
                standing[group] = scale
        return standing.items()

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

    def _apply(self, readout: Readout, prepared: Mapping[str, RegisterScale]) -> Readout:
        notes: dict[str, RegisterScale] = {}
        withheld: dict[str, Withheld] = {}
        for code, note in prepared.items():
            group = group_of(code)
            verdict = self.verdicts.get(group) if group is not None and note.scale is not Scale.USER else None
            if verdict is None:
                notes[code] = note
            elif verdict.scale is Scale.UNCERTAIN:
                candidates = tuple(note.exponent + k for k in verdict.candidates)
                reason = verdict.doubt.value if verdict.doubt else Doubt.UNCHECKED.value
                dataset = readout.current(code)
                address = dataset.address if dataset is not None else code
                withheld[code] = Withheld(address, note.raw, note.unit, note.exponent, reason, candidates)
            else:
                source = note.source if verdict.scale is Scale.CONVENTION else ", ".join(verdict.rules)
                notes[code] = RegisterScale(
                    verdict.scale, note.raw, note.exponent + verdict.correction, note.unit, source
                )
        datasets: list[DataSet] = []
        for dataset in readout.datasets:
            code = dataset.obis
            if dataset.history is not None or code not in prepared:
                datasets.append(dataset)
            elif code in notes:
                note = notes[code]
                value = scaled(note.raw, note.exponent)
                if value == dataset.number and note.unit == (dataset.first.unit if dataset.first else None):
                    datasets.append(dataset)
                else:
                    datasets.append(DataSet.of(dataset.address, (DataValue(repr(value), note.unit),), value))
        return replace(readout, datasets=tuple(datasets), scales=notes, withheld=withheld)
