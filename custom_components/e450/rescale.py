"""A register's scale changed by the user: its energy statistics start again, cleanly (docs/scaling.md §6).

Home Assistant builds an energy sensor's long-term sums from its states: a value 10^k apart from the last would add
a jump of the whole reading to them (an increase), or count as a meter reset and add the whole new reading (a
decrease). Its rows at the old, wrong scale are of no use either. So the sensors whose scale changed are held
unavailable until the recorder has compiled the 5-minute period in which the change came; then their statistics
are cleared and they are shown again, at the new scale: the first period after it starts from a state that is not
a number, and the new sums start from the first value at the new scale, with no jump. A change waiting for its
period to end is kept in the entry's options, so that a restart in between finishes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .backfill import RECORDER
from .const import CONF_RESCALE_PENDING, DOMAIN
from .wire import Readout
from .wire.obis import OBIS, Kind

if TYPE_CHECKING:
    from .coordinator import E450Coordinator

_LOGGER = logging.getLogger(__name__)

PERIOD: Final = timedelta(minutes=5)  # the recorder's short-term statistics period
# after a period ends, the recorder compiles it 10 s later (later when busy): the clearing is queued after that
COMPILED_AFTER: Final = timedelta(seconds=30)


def rescaled_energy(readout: Readout | None, before: Mapping[str, int], after: Mapping[str, int]) -> set[str]:
    """The energy registers the user's new scales show at another power of ten than they were shown at."""
    changed = set()
    for code in set(before) | set(after):
        quantity = OBIS.get(code)
        if quantity is None or quantity.kind is not Kind.ENERGY or before.get(code) == after.get(code):
            continue
        if readout is not None and code in readout.withheld:
            continue  # never shown at a scale: there are no statistics to mend
        note = readout.scales.get(code) if readout is not None else None
        if note is not None and code in after and note.exponent == after[code]:
            continue  # the user chose the scale it is already shown at
        changed.add(code)
    return changed


def period_compiled(now: datetime) -> datetime:
    """When the recorder will have compiled the 5-minute period ``now`` lies in."""
    start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    return start + PERIOD + COMPILED_AFTER


@callback
def hold_until_compiled(
    hass: HomeAssistant, entry: ConfigEntry, coordinator: E450Coordinator, codes: set[str]
) -> Callable[[], None]:
    """Hold the sensors of ``codes`` unavailable; once the period is compiled, clear their statistics and show them
    again. Returns the cancel of the timer."""
    coordinator.holding |= codes
    coordinator.async_update_listeners()

    @callback
    def release(_: datetime) -> None:
        restart_statistics(hass, entry.unique_id or entry.entry_id, codes)
        coordinator.holding -= codes
        pending = [code for code in entry.options.get(CONF_RESCALE_PENDING, []) if code not in codes]
        hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_RESCALE_PENDING: pending})
        coordinator.async_update_listeners()

    return async_track_point_in_utc_time(hass, release, period_compiled(dt_util.utcnow()))


def restart_statistics(hass: HomeAssistant, unique_prefix: str, codes: set[str]) -> list[str]:
    """Clear the long-term statistics of the sensors of ``codes``; returns their entity ids."""
    registry = er.async_get(hass)
    entity_ids = [
        entity_id
        for code in sorted(codes)
        if (entity_id := registry.async_get_entity_id("sensor", DOMAIN, f"{unique_prefix}_{code}")) is not None
    ]
    if not entity_ids or RECORDER not in hass.config.components:
        return []
    _LOGGER.warning(
        "%s shown at a new scale: their statistics start again (the old rows were at the old scale)",
        ", ".join(entity_ids),
    )
    get_instance(hass).async_clear_statistics(entity_ids)
    return entity_ids
