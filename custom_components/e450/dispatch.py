"""Which of a coordinator's listeners an update concerns. No Home Assistant import.

Home Assistant's coordinator calls every listener on every update; a meter's entities each show one register (or a
few), and most registers of a readout read as they did last time. Here a listener says which registers it shows
(its *codes*; ``None``: every update, as Home Assistant does it), and an update calls only the listeners of the
registers that changed, appeared or went (their data sets, or the other attributes a push carries:
``Readout.attributes``, by the address's code) — plus everyone when the update's availability changed (a failed
read, the recovery), since every entity's availability follows it. Pseudo-codes name what is not a register:
:data:`LIVE_PROBLEMS` (the household's live problems changed), :data:`NEW_REGISTERS` (the readout has registers the
last one had not). :attr:`Dispatcher.every_read` names registers whose listeners must see every new readout, changed
or not (a lower energy value waiting for its confirmations: docs/benchmarks.md, "Home Assistant side").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, Final

from .wire import Readout
from .wire.obis import normalize_address

LIVE_PROBLEMS: Final = "live problems"
NEW_REGISTERS: Final = "new registers"

type Listener = Callable[[], None]


def changed_codes(previous: Readout, readout: Readout) -> set[str]:
    """The codes whose current data set differs between the readouts (changed, new or gone), or whose scale note
    does; identity first (the IEC parser hands back the same data set for the same line), then the number. Nothing
    is allocated for the registers that did not change."""
    changed: set[str] = set()
    if readout is previous:
        return changed
    before, now = previous._current, readout._current  # each readout's index of its current data sets, as built
    for code, dataset in now.items():
        was = before.get(code)
        if was is not dataset and (was is None or was.number != dataset.number or was != dataset):
            changed.add(code)
    if len(before) != len(now) - sum(1 for code in changed if code not in before):
        changed.update(code for code in before if code not in now)
    if readout.scales is not previous.scales:
        noted = previous.scales
        for code, note in readout.scales.items():
            if (was_noted := noted.get(code)) is not note and was_noted != note:
                changed.add(code)
        changed.update(code for code in noted if code not in readout.scales)
    if readout.attributes is not previous.attributes:
        changed.update(_attribute_changes(previous.attributes, readout.attributes))
    return changed


def _attribute_changes(before: Mapping[tuple[str, int], object], now: Mapping[tuple[str, int], object]) -> set[str]:
    """The codes of the addresses whose attributes other than the value (a capture time, a status, a scaler_unit, an
    M-Bus device type) changed, appeared or went."""
    addresses = {key[0] for key, value in now.items() if key not in before or before[key] != value}
    addresses.update(key[0] for key in before if key not in now)
    return {normalize_address(address)[0] for address in addresses}


class Dispatcher:
    """The listeners, by the codes they show; what they were last told."""

    def __init__(self) -> None:
        self._count = 0
        self._all: dict[int, Listener] = {}  # by the order they were added
        self._every: dict[int, Listener] = {}
        self._by_code: dict[str, dict[int, Listener]] = {}
        self.every_read: set[str] = set()
        self._told = False
        self._readout: Readout | None = None
        self._success = False
        self._holding: frozenset[str] = frozenset()
        self._live: Mapping[Any, bool] = {}

    def add(self, listener: Listener, codes: Iterable[str] | None) -> Callable[[], None]:
        """Call ``listener`` for the updates that concern ``codes`` (``None``: every update); returns its removal."""
        self._count += 1
        key = self._count
        self._all[key] = listener
        if codes is None:
            self._every[key] = listener
            return partial(self._forget, key)
        shown = tuple(codes)
        for code in shown:
            self._by_code.setdefault(code, {})[key] = listener

        def remove() -> None:
            del self._all[key]
            for code in shown:
                listeners = self._by_code[code]
                del listeners[key]
                if not listeners:
                    del self._by_code[code]

        return remove

    def _forget(self, key: int) -> None:
        del self._all[key], self._every[key]

    def due(
        self, readout: Readout | None, success: bool, holding: set[str], live: Mapping[Any, bool]
    ) -> list[Listener]:
        """The listeners this update concerns, in the order they were added; from now on, what they were told is
        ``readout`` (or a failure), the registers ``holding`` held unavailable and the ``live`` problems."""
        changed = self._changes(readout, success, holding, live)
        if changed is None:
            return list(self._all.values())
        due = dict(self._every)
        for code in changed:
            if (subscribed := self._by_code.get(code)) is not None:
                due.update(subscribed)
        return [due[key] for key in sorted(due)]

    def _changes(
        self, readout: Readout | None, success: bool, holding: set[str], live: Mapping[Any, bool]
    ) -> set[str] | None:
        """What changed since the listeners were last told; ``None``: everything may have."""
        previous, self._readout = self._readout, readout
        told, self._told = self._told, True
        was_success, self._success = self._success, success
        changed: set[str] | None = None
        if told and success == was_success and readout is not None and previous is not None:
            changed = changed_codes(previous, readout)
            if any(previous.current(code) is None for code in changed):
                changed.add(NEW_REGISTERS)
            if readout is not previous:
                changed.update(self.every_read)
            if holding != self._holding:
                changed.update(holding ^ self._holding)
            if live != self._live:
                changed.add(LIVE_PROBLEMS)
        if holding != self._holding:
            self._holding = frozenset(holding)
        if live != self._live:
            self._live = dict(live)
        return changed
