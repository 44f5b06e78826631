"""What an entry read by the DLMS/COSEM client keeps between reads (docs/dlms-client.md §2.3, §4.3).

- The registers the meter's object list offered: read once at set-up (and on reconfigure, or on the first read of
  an entry made before they were kept), then exactly those every cycle.
- With HLS-GMAC, the invocation counter: the meter refuses one at or below the last it accepted, in any association,
  so the entry reserves counters ahead (:data:`~.const.INVOCATION_RESERVE` at a time) and a read starts above the
  reservation after a restart. A counter the meter still refuses (it was read by another client, or the entry was
  restored from an old backup) is corrected once from the meter's frame counter, read by the public client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
import logging
from typing import Any

from .const import CONF_INVOCATION_COUNTER, CONF_REGISTERS, INVOCATION_RESERVE
from .wire.dlms.client.config import ClientConfig
from .wire.dlms.client.driver import ClientRead, next_invocation_counter, read_client, read_profile_counted
from .wire.dlms.client.get import Attribute
from .wire.dlms.client.reading import ObjectList
from .wire.dlms.client.shortname import ShortNames
from .wire.dlms.units import Scaling
from .wire.errors import ClientProblem, DlmsClientError
from .wire.iec62056.frames import INITIAL_BAUD
from .wire.models import LoadProfile

_LOGGER = logging.getLogger(__name__)

Scalers = dict[Attribute, Scaling | None]


def registers_data(listed: ObjectList) -> list[list[int | str]]:
    """The offered registers as entry data: ``[[class, "1-0:13.7.0"], …]``."""
    return [[class_id, code] for class_id, code in listed.registers]


async def first_read(port: str, config: ClientConfig) -> tuple[ClientRead, dict[str, Any]]:
    """A set-up's (or a reconfiguration's) read: the object list first, with HLS-GMAC the meter's frame counter
    before it; the entry data to keep (offered registers, the counter reserved)."""
    config = replace(config, offered=(), registers=())
    if config.keys is not None:  # never below what an entry reserved before (a reconfiguration)
        config = replace(config, invocation_counter=await next_invocation_counter(port, config))
    read = await read_client(port, config)
    kept: dict[str, Any] = {}
    if read.object_list is not None:
        kept[CONF_REGISTERS] = registers_data(read.object_list)
    if read.invocation_counter is not None:
        kept[CONF_INVOCATION_COUNTER] = read.invocation_counter + INVOCATION_RESERVE
    return read, kept


def kept_data(stored: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """An entry's data with what a read keeps; the counter never below what is stored (a reconfiguration may
    have stored a higher one while a read was under way)."""
    data = {**stored, **updates}
    if CONF_INVOCATION_COUNTER in updates:
        data[CONF_INVOCATION_COUNTER] = max(
            int(stored.get(CONF_INVOCATION_COUNTER, 0)), updates[CONF_INVOCATION_COUNTER]
        )
    return data


class ClientKeeper:
    """Reads for one entry with what it keeps; ``save`` writes entry data (the coordinator's entry update)."""

    def __init__(self, port: str, save: Callable[[Mapping[str, Any]], None], reserved: int) -> None:
        self.port = port
        self._save = save
        self.reserved = reserved  # counters below this may have been used: a read starts here after a restart
        self.counter = reserved
        self.slow = False  # a mode E meter that stayed at 300 Bd (a ZMD120): asked for 300 Bd until a reload
        self.names = ShortNames()  # a short name meter's object list, read once (docs/dlms-client.md §9)

    @classmethod
    def of(cls, port: str, save: Callable[[Mapping[str, Any]], None], data: Mapping[str, Any]) -> ClientKeeper:
        """The keeper of an entry with ``data``: its reads start at the counter it reserved."""
        return cls(port, save, int(data.get(CONF_INVOCATION_COUNTER, 0)))

    def _reserve(self, counter: int) -> None:
        """Keep ``counter`` and everything the next reads use inside the reservation in the entry."""
        self.counter = max(self.counter, counter)
        if self.counter + INVOCATION_RESERVE // 2 > self.reserved:
            self.reserved = self.counter + INVOCATION_RESERVE
            self._save({CONF_INVOCATION_COUNTER: self.reserved})

    async def profile(self, start: datetime, end: datetime, config: ClientConfig, scalers: Scalers) -> LoadProfile:
        """The load profile between ``start`` and ``end``, with the kept counter."""
        if config.keys is not None:
            self._reserve(self.counter)
            config = replace(config, invocation_counter=self.counter)
        profile, counter = await read_profile_counted(self.port, start, end, config, scalers=scalers, names=self.names)
        if counter is not None:
            self._reserve(counter)
        return profile

    async def read(self, config: ClientConfig, scalers: Scalers) -> ClientRead:
        """One read; the registers the object list offered (when it was read) and the counter are kept."""
        if self.slow:
            config = replace(config, baud=INITIAL_BAUD)
        if config.keys is not None:
            self._reserve(self.counter)
            config = replace(config, invocation_counter=self.counter)
        try:
            read = await read_client(self.port, config, scalers, self.names)
        except DlmsClientError as err:
            if config.keys is None or err.reason is not ClientProblem.AUTHENTICATION_FAILED:
                raise
            meter = await next_invocation_counter(self.port, replace(config, invocation_counter=0))
            if meter <= self.counter:
                raise  # the counter was not the reason: the keys are wrong
            _LOGGER.info("%s: the meter expects invocation counter %s, not %s", self.port, meter, self.counter)
            self._reserve(meter)
            read = await read_client(self.port, replace(config, invocation_counter=self.counter), scalers, self.names)
        if read.invocation_counter is not None:
            self._reserve(read.invocation_counter)
        if config.mode_e and read.readout.timings.baud == INITIAL_BAUD < config.baud:
            _LOGGER.info("%s: the meter stays at %s Bd in mode E: signing on at that speed", self.port, INITIAL_BAUD)
            self.slow = True
        if read.object_list is not None:
            self._save({CONF_REGISTERS: registers_data(read.object_list)})
        return read
