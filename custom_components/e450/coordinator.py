"""One coordinator per meter: gets its readouts (one read at a time, never on the event loop), keeps statistics,
evaluates the anomaly rules and hands the result to the repair issues.

:class:`E450Coordinator` holds what both kinds of meter share; :class:`E450ReadCoordinator` reads a meter that
answers IEC 62056-21, :class:`E450PushCoordinator` publishes what its :class:`~.listener.PushListener` heard.
"""

from __future__ import annotations

from abc import abstractmethod
import asyncio
from collections.abc import Awaitable, Callable, Mapping
import contextlib
from dataclasses import dataclass, replace
from datetime import datetime
import logging
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .anomalies import Anomaly, AnomalyKind, Severity
from .client_reads import ClientKeeper, kept_data
from .const import CONF_ACCEPTED_SERIAL, DEFAULT_PUSH_INTERVAL, DOMAIN, FIRST_PUSH_WAIT, MISSED_PUSHES
from .dispatch import Dispatcher
from .gap_filler import GapFiller
from .household import Limits, LiveProblem
from .issues import IssueTracker, link_lost
from .line_speed import HeldSpeed, learned_speed
from .listener import PushListener
from .messages import error_key
from .meter_info import device_names, known_type, meter_serial, readout_type
from .meter_names import MeterType
from .monitor import MeterMonitor
from .scale_review import scale_anomalies
from .settings import Settings, merged, push_decoder
from .submeter_settings import channel_options, total_of
from .submeter_watch import SubMeterWatch
from .wire import MeterError, NoPushError, Readout, ReadoutTimeoutError, read_meter
from .wire.dlms.client.config import ClientConfig
from .wire.dlms.client.get import Attribute
from .wire.dlms.units import Scaling
from .wire.iec62056.driver import read_profile as read_iec_profile
from .wire.models import LoadProfile
from .wire.port import CLOSE_TIMEOUT, OPEN_TIMEOUT, READ_LIMIT

_LOGGER = logging.getLogger(__name__)

type E450ConfigEntry = ConfigEntry[E450Coordinator]

# A fetch as a whole: the driver bounds every step and the read itself; this bounds whatever is left.
FETCH_LIMIT = OPEN_TIMEOUT + READ_LIMIT + CLOSE_TIMEOUT + 30.0


@dataclass
class ReadStatistics:
    """Per-entry read statistics, for diagnostics and the diagnostic sensors."""

    reads: int = 0
    successes: int = 0
    failures: int = 0
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str | None = None
    last_duration: float | None = None
    baud: int | None = None

    @property
    def success_rate(self) -> float | None:
        """Successful reads in percent, ``None`` before the first read."""
        return round(100 * self.successes / self.reads, 1) if self.reads else None


class E450Coordinator(DataUpdateCoordinator[Readout]):
    """What every meter's coordinator does with a readout: statistics, anomalies, repair issues.

    A listener's context is the codes it shows (:mod:`.dispatch`): an update calls only the listeners of the
    registers that changed, and everyone when its availability changed; no context: every update.
    """

    config_entry: E450ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: E450ConfigEntry) -> None:
        self.settings = Settings.of(entry)
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {self.settings.port}",
            update_interval=self.settings.scan_interval,
            always_update=False,
        )
        self.port = self.settings.port
        self.statistics = ReadStatistics()
        self.monitor = MeterMonitor()
        self.monitor.configure(self.settings.thresholds, self.settings.limits, self.settings.clock_drift_minutes)
        self.issues = IssueTracker(hass, entry, self.port)
        self._meter_anomalies: list[Anomaly] = []  # from the last good readout
        self._started = dt_util.utcnow()
        self.holding: set[str] = set()  # energy registers held unavailable while their scale changes (rescale.py)
        self.dispatch = Dispatcher()
        # the M-Bus channels' sub-meters, pushed or read: silent, failed or unscaled (submeter_watch.py); the
        # channels' options reload the entry when they change (submeters.py)
        chosen = channel_options(entry.options)
        self.submeters = SubMeterWatch(lambda found: total_of(found, chosen.get(found.channel)).settled)

    @callback
    def async_add_listener(self, update_callback: CALLBACK_TYPE, context: Any = None) -> Callable[[], None]:
        """Listen for the updates that concern ``context``, the codes the listener shows (``None``: every update)."""
        remove = super().async_add_listener(update_callback, context)
        forget = self.dispatch.add(update_callback, context)

        @callback
        def remove_listener() -> None:
            forget()
            remove()

        return remove_listener

    @callback
    def async_update_listeners(self) -> None:
        """Call the listeners this update concerns (:mod:`.dispatch`); one that fails does not stop the others."""
        for update_callback in self.dispatch.due(self.data, self.last_update_success, self.holding, self.monitor.live):
            try:
                update_callback()
            except Exception:
                self.logger.exception("Unexpected error updating listener %s for %s", id(update_callback), self.name)

    @property
    def anomalies(self) -> dict[str, Anomaly]:
        """The active anomalies, by key."""
        return self.issues.active

    def live_problems(self) -> set[LiveProblem]:
        """The live problems this meter's data and the household's limits allow to check."""
        return self.monitor.load.supports(self.data) if self.data is not None else set()

    def apply_options(self) -> None:
        """Take new options into use from the next read on, without a reload."""
        self.settings = Settings.of(self.config_entry)
        self.update_interval = self.settings.scan_interval
        self.monitor.configure(self.settings.thresholds, self.settings.limits, self.settings.clock_drift_minutes)

    @abstractmethod
    async def _async_fetch(self) -> Readout:
        """The next readout; raises :class:`MeterError` when there is none."""

    def _count_success(self, readout: Readout) -> None:
        """What a good readout says about the link (read duration, speed)."""

    def _resumed(self, after_failure: bool) -> None:
        """A good read (``after_failure``: the previous one failed)."""

    def _readout_anomalies(self, readout: Readout) -> list[Anomaly]:
        """What this kind of meter's readout says beyond the supply and meter rules: silent or failed sub-meters."""
        return self.submeters.anomalies(readout)

    async def _async_update_data(self) -> Readout:
        self.statistics.reads += 1
        started = time.monotonic()
        try:
            readout = await self._async_fetch()
        except MeterError as err:
            stats = self.statistics
            stats.failures += 1
            stats.last_failure = dt_util.utcnow()
            stats.last_error = str(err)
            stats.last_duration = time.monotonic() - started
            self._sync_issues()
            key, placeholders = error_key(err, self.meter_type())
            raise UpdateFailed(
                str(err), translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
            ) from err
        stats = self.statistics
        after_failure = stats.last_failure is not None and (
            stats.last_success is None or stats.last_failure > stats.last_success
        )
        stats.successes += 1
        stats.last_success = dt_util.utcnow()
        self._count_success(readout)
        last: Readout | None = self.data  # None until the first good read
        if last is None:
            self._retitle(readout)
        self._resumed(after_failure)
        model = readout.identification.model if readout.identification else ""
        live = dict(self.monitor.live)
        self._meter_anomalies = self.monitor.evaluate(readout, time.monotonic(), dt_util.now(), model)
        self._meter_anomalies.extend(self._readout_anomalies(readout))
        if self.monitor.live != live and readout == self.data:
            # the readout did not change but a live problem did (a tolerance ran out, a limit changed): the
            # coordinator only tells its entities about new data, so tell them here
            self.async_update_listeners()
        if (changed := self._meter_changed(readout)) is not None:
            self._meter_anomalies.append(changed)
        self._sync_issues()
        return readout

    def _retitle(self, readout: Readout) -> None:
        """On the first good read: a title an earlier set-up wrote ("DLMS 30137181") becomes the name the meter is
        known by now ("Aidon 6534"), before any repair issue names it; a title the user chose stays."""
        entry = self.config_entry
        if (name := device_names(readout, entry.title, entry.unique_id).name) != entry.title:
            self.hass.config_entries.async_update_entry(entry, title=name)

    def meter_type(self) -> MeterType | None:
        """The meter's type (docs/meter-names.md): from the last good readout, or after a reload from the model the
        device registry kept."""
        last: Readout | None = self.data  # None until the first good read
        if last is not None:
            return readout_type(last)
        registry = dr.async_get(self.hass)
        devices = dr.async_entries_for_config_entry(registry, self.config_entry.entry_id)
        return next((found for d in devices if (found := known_type(d.manufacturer, d.model)) is not None), None)

    def _meter_changed(self, readout: Readout) -> Anomaly | None:
        entry = self.config_entry
        try:
            serial = meter_serial(readout)
        except ValueError:
            return None
        if serial in (entry.unique_id, entry.options.get(CONF_ACCEPTED_SERIAL)):
            return None
        return Anomaly(AnomalyKind.METER_CHANGED, Severity.ERROR, {"old": entry.unique_id or "", "new": serial})

    def _sync_issues(self) -> None:
        # what the last good readout showed stays true until a good read says otherwise: a failed read is not news
        stats = self.statistics
        lost = link_lost(
            last_success=stats.last_success,
            last_failure=stats.last_failure,
            last_error=stats.last_error,
            started=self._started,
            after=self.settings.link_lost_after,
            now=dt_util.utcnow(),
        )
        self.issues.sync([*self._meter_anomalies, *([lost] if lost else [])], stats.last_success or self._started)

    def clear_issues(self) -> None:
        """Withdraw this entry's repair issues (it is being unloaded)."""
        self.issues.clear()


def _max_power(limits: Limits) -> float | None:
    """W: the most the supply carries (the contracted power, else three phases at the fuse rating)."""
    if limits.contract_power:
        return limits.contract_power * 1000
    if limits.fuse_current:
        return limits.fuse_current * limits.nominal_voltage * 3
    return None


class E450ReadCoordinator(E450Coordinator):
    """Reads a meter that answers IEC 62056-21, at the scan interval."""

    def __init__(self, hass: HomeAssistant, entry: E450ConfigEntry) -> None:
        super().__init__(hass, entry)
        self._read_lock = asyncio.Lock()
        self._read_task: asyncio.Task[Readout] | None = None
        self._scalers: dict[Attribute, Scaling | None] = {}
        # the DLMS client's registers and invocation counter, kept in the entry, and a short name meter's object
        # list, read once (client_reads.py)
        self._keeper = ClientKeeper.of(self.port, self._keep, entry.data)
        self.held_speed: HeldSpeed | None = None  # a raw bridge's fixed speed, learned from a read (line_speed.py)
        self.gaps = GapFiller(hass, entry, self._read_lock, _max_power(self.settings.limits))

    async def _async_fetch(self) -> Readout:
        async with self._read_lock:  # the port opens exclusively: one read at a time
            self._read_task = asyncio.ensure_future(self._read())
            try:
                return await self._read_task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # we ourselves are being cancelled
                # async_shutdown abandoned the read: a failed update, not a cancelled refresh
                raise UpdateFailed(
                    "read abandoned", translation_domain=DOMAIN, translation_key="read_abandoned"
                ) from None
            finally:
                self._read_task = None

    async def _read(self) -> Readout:
        try:
            async with asyncio.timeout(FETCH_LIMIT):
                return await self._read_once()
        except TimeoutError as err:
            raise ReadoutTimeoutError(f"the read did not end within {FETCH_LIMIT:g} s") from err

    def _read_once(self) -> Awaitable[Readout]:
        client = self.settings.client
        if client is not None:  # the DLMS/COSEM client: each register's scaler_unit is read once and kept
            return self._read_client(client)
        session = self.settings.session
        if self.held_speed is not None:
            session = replace(session, max_baud=self.held_speed.baud)
        return read_meter(self.port, session)

    async def _read_client(self, client: ClientConfig) -> Readout:
        return (await self._keeper.read(client, self._scalers)).readout

    def _keep(self, data: Mapping[str, Any]) -> None:
        """What the DLMS client keeps in the entry; the next reads take it from the settings (at once: the first
        read runs before the entry's update listener is there)."""
        entry = self.config_entry
        self.hass.config_entries.async_update_entry(entry, data=kept_data(entry.data, data))
        self.settings = Settings.of(entry)

    def _count_success(self, readout: Readout) -> None:
        self.statistics.last_duration = readout.timings.total
        self.statistics.baud = readout.timings.baud
        if self.held_speed is None and self.settings.client is None:
            held = learned_speed(self.port, readout, self.settings.session.max_baud, dt_util.utcnow())
            if held is not None:
                _LOGGER.info(
                    "%s: the switch to a faster speed failed and the retry at %s Bd worked: a bridge at a fixed speed; "
                    "reading at %s Bd until the entry is reloaded",
                    self.port,
                    held.baud,
                    held.baud,
                )
                self.held_speed = held

    def _resumed(self, after_failure: bool) -> None:
        if not self.settings.backfill:
            return
        client, session = self.settings.client, self.settings.session

        def read_profile(start: datetime, end: datetime) -> Awaitable[LoadProfile]:
            if client is not None:  # the profile generic 1.0.99.1.0.255
                return self._keeper.profile(start, end, client, self._scalers)
            return read_iec_profile(self.port, session, start, end)  # P.01 in programming mode

        self.gaps.max_power = _max_power(self.settings.limits)
        self.gaps.resumed(after_failure, read_profile)

    async def async_shutdown(self) -> None:
        """Stop polling and abandon a read in progress (the driver closes the port as it unwinds)."""
        await super().async_shutdown()
        if self._read_task is not None and not self._read_task.done():
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, MeterError):
                await self._read_task


class E450PushCoordinator(E450Coordinator):
    """A meter that pushes DLMS/COSEM by itself: its listener keeps the port open and decodes every push; the
    coordinator publishes the latest one at the configured interval and goes unavailable when pushes stop."""

    def __init__(self, hass: HomeAssistant, entry: E450ConfigEntry) -> None:
        super().__init__(hass, entry)
        line = self.settings.push
        assert line is not None
        self.listener = PushListener(self.port, line.baud, line.parity, push_decoder(merged(entry)))
        self.statistics.baud = line.baud
        self._listening: asyncio.Task[None] | None = None

    def apply_options(self) -> None:
        """Publication interval, thresholds and the layout profile: all live (the user's scales reload)."""
        super().apply_options()
        self.listener.decoder.profile = self.settings.profile

    @property
    def scales(self) -> dict[str, int]:
        """The user's scales the decoder applies."""
        return dict(self.listener.decoder.judge.user)

    def use_scales(self, scales: dict[str, int]) -> None:
        """The user's new scales, from the next push on; the evidence gathered at the old ones is dropped where
        they change it."""
        self.listener.decoder.judge = self.listener.decoder.judge.with_user(scales)

    def _readout_anomalies(self, readout: Readout) -> list[Anomaly]:
        """Registers held back or corrected for their scale (docs/scaling.md §5); silent or failed sub-meters."""
        return [*scale_anomalies(readout, self.listener.decoder.judge.verdicts), *super()._readout_anomalies(readout)]

    def start(self) -> None:
        """Start listening (the port stays open until unload)."""
        self._listening = self.config_entry.async_create_background_task(
            self.hass, self.listener.run(), f"{DOMAIN} listener {self.port}"
        )

    @property
    def stale_after(self) -> float:
        """Seconds without a push after which the values are no longer current."""
        return MISSED_PUSHES * (self.listener.statistics.push_interval or DEFAULT_PUSH_INTERVAL) + 1.0

    async def _async_fetch(self) -> Readout:
        listener = self.listener
        if listener.latest is None:  # set-up: wait for the first push (or for the keys to fail on a few)
            try:
                async with asyncio.timeout(FIRST_PUSH_WAIT):
                    await listener.settled.wait()
            except TimeoutError:
                if not listener.key_failures:
                    raise NoPushError(FIRST_PUSH_WAIT, listener.decoder.bytes_received) from None
        if listener.keys_rejected or listener.latest is None:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="keys_rejected",
                translation_placeholders={"error": listener.statistics.last_error or ""},
            )
        silent = time.monotonic() - listener.latest_at
        if silent > self.stale_after:
            raise NoPushError(round(silent), listener.decoder.bytes_received)
        return listener.latest

    async def async_shutdown(self) -> None:
        """Stop publishing and listening; the listener closes the port as it unwinds."""
        await super().async_shutdown()
        listening, self._listening = self._listening, None
        if listening is not None and not listening.done():
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
