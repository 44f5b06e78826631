"""Energy-register integrity: never publish a drop that a bad read caused. No Home Assistant import.

Home Assistant treats a decrease of a ``total_increasing`` sensor by more than 10 % as a meter reset and starts a
new cycle, which wrecks the Energy dashboard's statistics. A register can only go down when the meter really was
reset or replaced, so a lower value is held back until several consecutive good reads agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
import logging


class GuardVerdict(StrEnum):
    """What the guard did with a value."""

    ACCEPTED = "accepted"
    HELD = "held"  # lower than the published value: the published value stays
    RESET = "reset"  # a lower value confirmed by consecutive reads: a real meter reset or replacement


@dataclass
class EnergyGuard:
    """Per-register state: the value last published and the lower values waiting for confirmation."""

    confirmations: int = 3
    published: float | None = None
    pending: list[float] = field(default_factory=list)

    def check(self, value: float) -> GuardVerdict:
        """Decide about ``value``; afterwards :attr:`published` is what may be shown."""
        if self.published is None or value >= self.published:
            self.published = value
            self.pending.clear()
            return GuardVerdict.ACCEPTED
        if self.pending and value < self.pending[-1]:
            self.pending.clear()  # the candidates must themselves be a counting register
        self.pending.append(value)
        if len(self.pending) >= self.confirmations:
            self.published = value
            self.pending.clear()
            return GuardVerdict.RESET
        return GuardVerdict.HELD

    def restored(self, value: float) -> EnergyGuard:
        """A guard seeded with ``value``, the one recorded before a restart, with what this guard published since
        (a read that came before the restore) judged against it."""
        guard = EnergyGuard(self.confirmations, published=value)
        if self.published is not None:
            guard.check(self.published)
        return guard


def log_verdict(
    logger: logging.Logger,
    verdict: GuardVerdict,
    where: str,
    what: str,
    value: float,
    previous: float | None,
    unit: str,
) -> None:
    """Say why a lower value was held back, or taken as a reset."""
    if verdict is GuardVerdict.HELD:
        logger.warning(
            "%s: %s read %s %s, lower than %s; holding the last value until the meter confirms it",
            where, what, value, unit, previous,
        )  # fmt: skip
    elif verdict is GuardVerdict.RESET:
        logger.warning(
            "%s: %s went from %s to %s %s over several reads: the meter was reset or replaced",
            where, what, previous, value, unit,
        )  # fmt: skip
