"""What the scale judge's verdicts mean for the user: one repair issue per group of registers held back or
corrected (docs/scaling.md §5). Pure: no Home Assistant import.

A held-back group's issue is fixable: its flow (:mod:`.repairs`) shows each register's number at each scale and
stores the user's choice (``scales`` in the options). A corrected group's issue explains, and can be dismissed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .anomalies import Anomaly, AnomalyKind, Severity
from .wire import Readout
from .wire.models import Scale, Withheld, scaled
from .wire.scaling import Doubt, Group, Verdict
from .wire.scaling.physics import group_of

# held back only because nothing has checked them yet: a quarter of an hour of power readings may settle them
WAITING: frozenset[str] = frozenset({Doubt.WAITING.value, Doubt.UNCHECKED.value})


def held_by_group(readout: Readout) -> dict[Group, dict[str, Withheld]]:
    """The registers held back, by group."""
    groups: dict[Group, dict[str, Withheld]] = {}
    for code, held in readout.withheld.items():
        group = group_of(code)
        if group is not None:
            groups.setdefault(group, {})[code] = held
    return groups


def _checks(verdict: Verdict | None) -> str:
    return ", ".join(verdict.rules) if verdict is not None and verdict.rules else "-"


def checks_made(verdicts: Mapping[Group, Verdict], group: str) -> str:
    """The checks behind a group's verdict, for the user's text (``-``: none)."""
    return _checks(next((verdict for g, verdict in verdicts.items() if g.value == group), None))


def scale_anomalies(readout: Readout, verdicts: Mapping[Group, Verdict]) -> list[Anomaly]:
    """An issue per group held back (its registers and what was sent) and per group corrected."""
    anomalies = []
    for group, held in held_by_group(readout).items():
        verdict = verdicts.get(group)
        waiting = all(item.reason in WAITING for item in held.values())
        anomalies.append(
            Anomaly(
                AnomalyKind.SCALE_WAITING if waiting else AnomalyKind.SCALE_UNCERTAIN,
                Severity.WARNING,
                # no numbers: they change with every push, and an issue is written again when its text changes
                # (its fix flow shows them as they are then)
                {"registers": ", ".join(sorted(held)), "checks": _checks(verdict), "group": group.value},
                group.value,
            )
        )
    for group, verdict in verdicts.items():
        if verdict.scale is not Scale.CORRECTED:
            continue
        codes = sorted(
            code for code, note in readout.scales.items() if note.scale is Scale.CORRECTED and group_of(code) is group
        )
        if codes:
            anomalies.append(
                Anomaly(
                    AnomalyKind.SCALE_CORRECTED,
                    Severity.WARNING,
                    {"registers": ", ".join(codes), "factor": f"10^{verdict.correction}", "checks": _checks(verdict)},
                    group.value,
                )
            )
    return anomalies


# the units a meter's display shows, for the values offered at each scale: unit as decoded -> (display unit,
# decimal places it moves)
DISPLAY_UNITS: Final = {"Wh": ("kWh", 3), "varh": ("kvarh", 3)}
CHOICES_AROUND: Final = 3  # scales offered either side of the prior's
SHOWN_PER_CHOICE: Final = 3  # registers shown in each choice


def scale_choices(held: Mapping[str, Withheld]) -> list[int]:
    """The exponents to offer: those the evidence allows first, then the others around the prior's."""
    first = next(iter(held.values()))
    around = range(first.exponent - CHOICES_AROUND, first.exponent + CHOICES_AROUND + 1)
    return [*first.candidates, *(exponent for exponent in around if exponent not in first.candidates)]


FITTING: Final = frozenset({Doubt.AMBIGUOUS.value, Doubt.SINGLE_CHECK.value})  # candidates the checks allow
FITS: Final = "✓ "  # marks them in the choices (the fix flow's text explains it)


def display_values(held: Mapping[str, Withheld], exponent: int) -> str:
    """The registers' numbers at ``exponent``, as the meter's display would show them (energy in kWh); marked when
    the checks allow this scale."""
    first = next(iter(held.values()))
    fits = first.reason in FITTING and exponent in first.candidates
    shown = []
    for code, item in sorted(held.items())[:SHOWN_PER_CHOICE]:
        unit, shift = DISPLAY_UNITS.get(item.unit or "", (item.unit or "", 0))
        value = scaled(item.raw, exponent - shift)
        shown.append(f"{code} = {value:,.{max(0, shift - exponent)}f} {unit}".rstrip())
    more = len(held) - SHOWN_PER_CHOICE
    return (FITS if fits else "") + "; ".join(shown) + (f"; … (+{more})" if more > 0 else "")
