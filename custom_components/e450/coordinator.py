"""One coordinator per meter: reads it (one read at a time, never on the event loop) and keeps statistics."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .anomalies import Anomaly, AnomalyDetector, Severity, Thresholds
from .const import (
    CONF_ACCEPTED_SERIAL,
    CONF_AUTHENTICATION_KEY,
    CONF_DEVICE_ADDRESS,
    CONF_DLMS_BAUD,
    CONF_DLMS_PARITY,
    CONF_DLMS_PROFILE,
    CONF_ENCRYPTION_KEY,
    CONF_LINK_LOST_MINUTES,
    CONF_MAX_BAUD,
    CONF_NOMINAL_FREQUENCY,
    CONF_NOMINAL_VOLTAGE,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    CONF_SWITCH_DELAY,
    CONF_TRANSPORT,
    CONF_VOLTAGE_TOLERANCE,
    CONF_WAKE_UP,
    DEFAULT_LINK_LOST_MINUTES,
    DEFAULT_MAX_BAUD,
    DEFAULT_NOMINAL_FREQUENCY,
    DEFAULT_NOMINAL_VOLTAGE,
    DEFAULT_PUBLISH_INTERVAL,
    DEFAULT_PUSH_INTERVAL,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_SWITCH_DELAY_MS,
    DEFAULT_VOLTAGE_TOLERANCE,
    DLMS_PROFILE_AUTO,
    DOMAIN,
    FIRST_PUSH_WAIT,
    FLOW_DLMS_LISTEN_SECONDS,
    KEY_FAILURES_BEFORE_REAUTH,
    MISSED_PUSHES,
    RECONNECT_DELAY,
    TRANSPORT_DLMS,
)
from .dlms import DlmsError, NoPushError, Push, PushDecoder
from .dlms.driver import open_push_port, read_pushes
from .dlms.errors import NO_KEY, NOT_NOTIFICATION, TAG_MISMATCH, UNKNOWN_LAYOUT, WRONG_KEY
from .iec62056 import (
    ChecksumError,
    DlmsPushDetectedError,
    FramingError,
    IEC62056Error,
    NoAnswerError,
    PortUnavailableError,
    Readout,
    ReadoutTimeoutError,
    SessionConfig,
    read_meter,
)
from .iec62056.driver import close_port
from .meter_info import meter_serial

_LOGGER = logging.getLogger(__name__)

type E450ConfigEntry = ConfigEntry[E450Coordinator]


def session_config(data: Mapping[str, Any], *, detect_dlms: bool = False) -> SessionConfig:
    """Session settings from config entry data merged with options (or a flow's settings)."""
    return SessionConfig(
        max_baud=int(data.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD)),
        address=str(data.get(CONF_DEVICE_ADDRESS) or ""),
        wake_up=bool(data.get(CONF_WAKE_UP, False)),
        switch_delay=float(data.get(CONF_SWITCH_DELAY, DEFAULT_SWITCH_DELAY_MS)) / 1000,
        detect_dlms=detect_dlms,
        dlms_listen=FLOW_DLMS_LISTEN_SECONDS,
    )


def settings(entry: ConfigEntry) -> dict[str, Any]:
    """The entry's effective settings: options override the data the flow stored."""
    return {**entry.data, **entry.options}


def is_push(values: Mapping[str, Any]) -> bool:
    """The entry reads a meter that pushes DLMS/COSEM (rather than one that answers IEC 62056-21)."""
    return values.get(CONF_TRANSPORT) == TRANSPORT_DLMS


def scan_interval(values: Mapping[str, Any]) -> timedelta:
    """Time between reads (or, for a push meter, between publications), from the options."""
    default = DEFAULT_PUBLISH_INTERVAL if is_push(values) else DEFAULT_SCAN_INTERVAL
    return timedelta(seconds=int(values.get(CONF_SCAN_INTERVAL, default.seconds)))


# Why a push could not be used, as the config flow's error keys: every one of these means "check the keys".
KEY_ERRORS = (NO_KEY, TAG_MISMATCH, WRONG_KEY, NOT_NOTIFICATION)


def push_profile(values: Mapping[str, Any]) -> str | None:
    """The positional layout the options force, ``None`` for "chosen by the body's signature"."""
    profile = values.get(CONF_DLMS_PROFILE) or DLMS_PROFILE_AUTO
    return None if profile == DLMS_PROFILE_AUTO else str(profile)


def push_decoder(values: Mapping[str, Any]) -> PushDecoder:
    """A decoder with the entry's (or a flow's) keys and layout profile."""
    ek, ak = values.get(CONF_ENCRYPTION_KEY), values.get(CONF_AUTHENTICATION_KEY)
    return PushDecoder(bytes.fromhex(ek) if ek else None, bytes.fromhex(ak) if ak else None, push_profile(values))


def thresholds(values: Mapping[str, Any]) -> Thresholds:
    """Anomaly limits from the options."""
    return Thresholds(
        nominal_voltage=float(values.get(CONF_NOMINAL_VOLTAGE, DEFAULT_NOMINAL_VOLTAGE)),
        voltage_tolerance=float(values.get(CONF_VOLTAGE_TOLERANCE, DEFAULT_VOLTAGE_TOLERANCE)),
        nominal_frequency=float(values.get(CONF_NOMINAL_FREQUENCY, DEFAULT_NOMINAL_FREQUENCY)),
    )


def error_key(err: IEC62056Error) -> tuple[str, dict[str, str]]:
    """Translation key and placeholders for a protocol error (shared by the flow and the coordinator)."""
    if isinstance(err, PortUnavailableError):
        return f"port_{err.reason}", {"port": err.port, "detail": err.detail}
    if isinstance(err, DlmsPushDetectedError):
        kind = "encrypted" if err.encrypted else "plain"
        return f"dlms_push_{kind}", {"baud": str(err.baud), "framing": f"8{err.parity}1"}
    if isinstance(err, ChecksumError):
        return "checksum", {}
    if isinstance(err, ReadoutTimeoutError):
        return "readout_timeout", {}
    if isinstance(err, FramingError):
        return "framing", {}
    if isinstance(err, NoAnswerError):
        return "no_answer", {}
    if isinstance(err, NoPushError):
        return "no_push", {"seconds": f"{err.seconds:g}"}
    if isinstance(err, DlmsError):
        return err.reason if err.reason in (*KEY_ERRORS, UNKNOWN_LAYOUT) else "dlms_malformed", {"detail": err.detail}
    return "unknown", {}


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
    """Reads one meter at a fixed interval and keeps its repair issues in sync with what it reads."""

    config_entry: E450ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: E450ConfigEntry) -> None:
        values = settings(entry)
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.data[CONF_PORT]}",
            update_interval=scan_interval(values),
            always_update=False,
        )
        self.port: str = entry.data[CONF_PORT]
        self.statistics = ReadStatistics()
        self.detector = AnomalyDetector()
        self.session_config: SessionConfig
        self.link_lost_after: timedelta
        self.apply_options()  # scan interval, session, thresholds and link-lost time, as later option changes
        self.anomalies: dict[str, Anomaly] = {}  # active, by key
        self._meter_anomalies: list[Anomaly] = []  # from the last good readout
        self._since: dict[str, datetime] = {}
        self._started = dt_util.utcnow()
        self._read_lock = asyncio.Lock()
        self._read_task: asyncio.Task[Readout] | None = None

    def apply_options(self) -> None:
        """Take new options into use for the next read, without a reload."""
        values = settings(self.config_entry)
        self.update_interval = scan_interval(values)
        self.session_config = session_config(values)
        self.detector.thresholds = thresholds(values)
        self.link_lost_after = timedelta(minutes=float(values.get(CONF_LINK_LOST_MINUTES, DEFAULT_LINK_LOST_MINUTES)))

    async def _async_update_data(self) -> Readout:
        async with self._read_lock:  # the port opens exclusively: one read at a time
            self.statistics.reads += 1
            started = time.monotonic()
            self._read_task = asyncio.ensure_future(self._async_read())
            try:
                readout = await self._read_task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # we ourselves are being cancelled
                # async_shutdown abandoned the read: a failed update, not a cancelled refresh
                raise UpdateFailed(
                    "read abandoned", translation_domain=DOMAIN, translation_key="read_abandoned"
                ) from None
            except IEC62056Error as err:
                self.statistics.failures += 1
                self.statistics.last_failure = dt_util.utcnow()
                self.statistics.last_error = str(err)
                self.statistics.last_duration = time.monotonic() - started
                self._update_issues()
                key, placeholders = error_key(err)
                raise UpdateFailed(
                    str(err),
                    translation_domain=DOMAIN,
                    translation_key=key,
                    translation_placeholders=placeholders,
                ) from err
            finally:
                self._read_task = None
        self.statistics.successes += 1
        self.statistics.last_success = dt_util.utcnow()
        if readout.push is None:  # a push is not read: its duration and speed are the meter's, not ours
            self.statistics.last_duration = readout.timings.total
            self.statistics.baud = readout.timings.baud
        model = readout.identification.model if readout.identification else ""
        self._meter_anomalies = self.detector.evaluate(readout, time.monotonic(), model)
        changed = self._meter_changed(readout)
        if changed is not None:
            self._meter_anomalies.append(changed)
        self._update_issues()
        return readout

    async def _async_read(self) -> Readout:
        """One complete read of the meter."""
        return await read_meter(self.port, self.session_config)

    def _meter_changed(self, readout: Readout) -> Anomaly | None:
        entry = self.config_entry
        try:
            serial = meter_serial(readout)
        except ValueError:
            return None
        if serial in (entry.unique_id, entry.options.get(CONF_ACCEPTED_SERIAL)):
            return None
        return Anomaly("meter_changed", Severity.ERROR, {"old": entry.unique_id or "", "new": serial})

    def _update_issues(self) -> None:
        """Create, update and delete this entry's repair issues so they match the active anomalies."""
        now = dt_util.utcnow()
        stats = self.statistics
        last_good = stats.last_success or self._started
        # what the last good readout showed stays true until a good read says otherwise: a failed read is not news
        active = {anomaly.key: anomaly for anomaly in self._meter_anomalies}
        failing = stats.last_failure is not None and (
            stats.last_success is None or stats.last_failure > stats.last_success
        )
        if failing and now - last_good >= self.link_lost_after:
            lost = Anomaly(
                "link_lost",
                Severity.ERROR,
                {"minutes": f"{self.link_lost_after.total_seconds() / 60:g}", "error": stats.last_error or ""},
            )
            active[lost.key] = lost
        entry = self.config_entry
        for key in set(self.anomalies) - set(active):
            ir.async_delete_issue(self.hass, DOMAIN, f"{entry.entry_id}_{key}")
            self._since.pop(key, None)
        for key, anomaly in active.items():
            since = self._since.setdefault(key, last_good if anomaly.kind == "link_lost" else now)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                f"{entry.entry_id}_{key}",
                is_fixable=anomaly.kind == "meter_changed",
                is_persistent=False,
                severity=ir.IssueSeverity(anomaly.severity.value),
                translation_key=anomaly.kind,
                translation_placeholders={
                    **anomaly.placeholders,
                    "meter": entry.title,
                    "port": self.port,
                    "since": dt_util.as_local(since).strftime("%Y-%m-%d %H:%M"),
                },
                data={"entry_id": entry.entry_id, **anomaly.placeholders},
            )
        self.anomalies = active

    def clear_issues(self) -> None:
        """Forget every issue of this entry (it is being unloaded: nothing watches these conditions any more)."""
        for key in self.anomalies:
            ir.async_delete_issue(self.hass, DOMAIN, f"{self.config_entry.entry_id}_{key}")
        self.anomalies = {}

    async def async_shutdown(self) -> None:
        """Stop polling and abandon a read in progress (the driver closes the port as it unwinds)."""
        await super().async_shutdown()
        if self._read_task is not None and not self._read_task.done():
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, IEC62056Error):
                await self._read_task


@dataclass
class PushStatistics:
    """What the listener saw on a push meter's port, for diagnostics."""

    pushes: int = 0  # decoded
    rejected: int = 0  # undecodable: wrong keys, damaged, unknown layout
    duplicates: int = 0
    interrupted: int = 0
    reconnects: int = 0
    junk_bytes: int = 0
    last_error: str | None = None
    push_interval: float | None = None  # measured, seconds


class E450PushCoordinator(E450Coordinator):
    """A meter that pushes DLMS/COSEM by itself: a listener keeps the port open and decodes every push; the
    coordinator publishes the latest one at the configured interval and goes unavailable when pushes stop."""

    def __init__(self, hass: HomeAssistant, entry: E450ConfigEntry) -> None:
        super().__init__(hass, entry)
        values = settings(entry)
        self.baud = int(values[CONF_DLMS_BAUD])
        self.parity = str(values[CONF_DLMS_PARITY])
        self.statistics.baud = self.baud
        self.push_statistics = PushStatistics()
        self.decoder = push_decoder(values)
        self._latest: Readout | None = None
        self._latest_at = 0.0
        self._arrivals: list[float] = []
        self._settled = asyncio.Event()  # the first push decoded, or the keys were rejected often enough
        self._key_failures = 0
        self.rejected_push: bytes | None = None  # the last push the keys could not open (for the reauth flow)
        self._listener: asyncio.Task[None] | None = None
        self.connected = False

    def apply_options(self) -> None:
        """Publication interval, thresholds and the layout profile: all live."""
        super().apply_options()
        decoder = getattr(self, "decoder", None)
        if decoder is not None:
            decoder.profile = push_profile(settings(self.config_entry))

    def start(self) -> None:
        """Start listening (the port stays open until unload)."""
        self._listener = self.config_entry.async_create_background_task(
            self.hass, self._async_listen(), f"{DOMAIN} listener {self.port}"
        )

    async def _async_listen(self) -> None:
        while True:
            try:
                serial = await open_push_port(self.port, self.baud, self.parity)
            except PortUnavailableError as err:
                self._port_failed(err)
                await asyncio.sleep(RECONNECT_DELAY)
                continue
            self.connected = True
            try:
                async for push in read_pushes(serial, self.decoder, port=self.port):
                    self._on_push(push)
            except PortUnavailableError as err:
                self._port_failed(err)
            finally:
                self.connected = False
                await close_port(serial)
            await asyncio.sleep(RECONNECT_DELAY)
            self.push_statistics.reconnects += 1

    def _port_failed(self, err: PortUnavailableError) -> None:
        if self.push_statistics.last_error != str(err):
            _LOGGER.debug("Push port %s: %s", self.port, err)
        self.push_statistics.last_error = str(err)

    def _on_push(self, push: Push) -> None:
        stats = self.push_statistics
        stats.junk_bytes = self.decoder.junk_bytes
        now = time.monotonic()
        if push.readout is not None:
            stats.pushes += 1
            self._key_failures = 0
            self.rejected_push = None
            if self._latest is not None:
                self._arrivals = [*self._arrivals[-7:], now - self._latest_at]
                stats.push_interval = sorted(self._arrivals)[len(self._arrivals) // 2]
            self._latest, self._latest_at = push.readout, now
            self._settled.set()
            return
        assert push.error is not None
        reason = push.error.reason
        if reason == "duplicate":
            stats.duplicates += 1
            return
        if reason == "interrupted":
            stats.interrupted += 1
            return
        stats.rejected += 1
        stats.last_error = str(push.error)
        if reason in KEY_ERRORS and push.info.security != "none":  # only a ciphered push can doubt the keys
            self._key_failures += 1
            self.rejected_push = push.raw
            if self._key_failures >= KEY_FAILURES_BEFORE_REAUTH:
                self._settled.set()
        _LOGGER.debug("Push from %s rejected: %s", self.port, push.error)

    @property
    def stale_after(self) -> float:
        """Seconds without a push after which the values are no longer current."""
        return MISSED_PUSHES * (self.push_statistics.push_interval or DEFAULT_PUSH_INTERVAL) + 1.0

    async def _async_read(self) -> Readout:
        if self._latest is None:  # set-up: wait for the first push (or for the keys to fail on a few)
            try:
                async with asyncio.timeout(FIRST_PUSH_WAIT):
                    await self._settled.wait()
            except TimeoutError:
                if not self._key_failures:
                    raise NoPushError(FIRST_PUSH_WAIT, self.decoder.bytes_received) from None
        if self._key_failures >= KEY_FAILURES_BEFORE_REAUTH or self._latest is None:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="keys_rejected",
                translation_placeholders={"error": self.push_statistics.last_error or ""},
            )
        assert self._latest is not None
        silent = time.monotonic() - self._latest_at
        if silent > self.stale_after:
            raise NoPushError(round(silent), self.decoder.bytes_received)
        return self._latest

    async def async_shutdown(self) -> None:
        """Stop publishing and listening; the listener closes the port as it unwinds."""
        await super().async_shutdown()
        listener, self._listener = self._listener, None
        if listener is not None and not listener.done():
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
