"""After a gap in the readings, the meter's load profile fills the energy statistics (docs/backfill.md).

The read coordinator calls :meth:`GapFiller.resumed` after each good read. Start-up (a restart is a gap) and the
first good read after a failed one mark the moment the readings resumed; the next good read then starts a
background task: it finds the hours the energy sensors' statistics lack before that moment
(:func:`.backfill.async_find_gap`), reads the profile for them (the DLMS client's profile generic, or an IEC
62056-21 meter's ``P.01`` in programming mode; under the coordinator's read lock: the port opens exclusively) and
imports the readings (:func:`.backfill.async_backfill`). The report stays for the diagnostics. Before the sensors
have a state (the read that sets up the entry runs before they exist) there is nothing to continue from, so the
search waits for a later good read; it still looks before the moment the readings resumed, so the rows Home
Assistant compiles meanwhile do not hide the gap. A meter that refuses to give a profile is not asked again until
the entry reloads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .backfill import BackfillReport, async_backfill, async_find_gap
from .const import DOMAIN
from .wire import MeterError
from .wire.errors import ProgrammingRefusedError
from .wire.models import LoadProfile
from .wire.obis import OBIS, Kind

_LOGGER = logging.getLogger(__name__)

ProfileReader = Callable[[datetime, datetime], Awaitable[LoadProfile]]  # meter-local naive times, both included


class GapFiller:
    """Finds the statistics' gaps of one entry's energy sensors and fills them from the load profile."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, lock: asyncio.Lock, max_power: float | None) -> None:
        self.hass = hass
        self.entry = entry
        self.lock = lock  # the coordinator's read lock
        self.max_power = max_power  # W: the most the supply carries, for the plausibility of a rise
        self.report: BackfillReport | None = None
        self.last_error: str | None = None
        self.unsupported = False  # the meter refused to give a load profile: not asked again until a reload
        # when the readings resumed, while a search for the gap before it is due (a restart is a gap)
        self._resumed_at: datetime | None = dt_util.utcnow()
        self._running = False

    def resumed(self, after_failure: bool, read_profile: ProfileReader) -> None:
        """A good read; ``after_failure``: the one before it failed. Starts the search when there may be a gap."""
        if after_failure:
            self._resumed_at = dt_util.utcnow()
        if self._resumed_at is None or self._running or self.unsupported:
            return
        self._running = True
        self.entry.async_create_background_task(
            self.hass, self._async_fill(self._resumed_at, read_profile), f"{DOMAIN} backfill {self.entry.title}"
        )

    def energy_entities(self) -> dict[str, str]:
        """The entry's enabled energy sensors with a state, by register code (``{"1.8.0": "sensor.…"}``)."""
        serial = self.entry.unique_id or self.entry.entry_id
        found: dict[str, str] = {}
        for entity in er.async_entries_for_config_entry(er.async_get(self.hass), self.entry.entry_id):
            code = entity.unique_id.removeprefix(f"{serial}_")
            quantity = OBIS.get(code)
            if entity.domain != Platform.SENSOR or entity.disabled or quantity is None:
                continue
            if quantity.kind is Kind.ENERGY and self.hass.states.get(entity.entity_id) is not None:
                found[code] = entity.entity_id
        return found

    async def _async_fill(self, resumed: datetime, read_profile: ProfileReader) -> None:
        try:
            entities = self.energy_entities()
            if not entities:
                return  # the sensors are not there yet (set-up): the next good read tries again
            self._resumed_at = None
            await self._async_fill_gap(resumed, entities, read_profile)
        finally:
            self._running = False

    async def _async_fill_gap(self, resumed: datetime, entities: dict[str, str], read_profile: ProfileReader) -> None:
        gap = await async_find_gap(self.hass, entities.values(), until=resumed)
        if gap is None:
            return
        start, end = dt_util.as_local(gap.start).replace(tzinfo=None), dt_util.as_local(gap.end).replace(tzinfo=None)
        try:
            async with self.lock:
                profile = await read_profile(start, end)
        except ProgrammingRefusedError as err:  # an IEC 62056-21 meter without P.01 (or with a password)
            self.unsupported, self.last_error = True, str(err)
            _LOGGER.info("The meter gives no load profile; gaps are not filled: %s", err)
            return
        except MeterError as err:
            self.last_error = str(err)
            _LOGGER.info("The load profile for %s … %s could not be read: %s", start, end, err)
            return
        codes = {code for entry in profile.entries for code in entry.values}
        self.report = await async_backfill(
            self.hass,
            {code: entity_id for code, entity_id in entities.items() if code in codes},
            profile.entries,
            gap.start,
            until=resumed,
            max_power=self.max_power,
        )
        self.last_error = None
        _LOGGER.debug("Backfill from the load profile: %s", self.report.as_dict())
