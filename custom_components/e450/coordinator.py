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
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .anomalies import Anomaly, AnomalyDetector, Severity, Thresholds
from .const import (
    CONF_ACCEPTED_SERIAL,
    CONF_DEVICE_ADDRESS,
    CONF_LINK_LOST_MINUTES,
    CONF_MAX_BAUD,
    CONF_NOMINAL_FREQUENCY,
    CONF_NOMINAL_VOLTAGE,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    CONF_SWITCH_DELAY,
    CONF_VOLTAGE_TOLERANCE,
    CONF_WAKE_UP,
    DEFAULT_LINK_LOST_MINUTES,
    DEFAULT_MAX_BAUD,
    DEFAULT_NOMINAL_FREQUENCY,
    DEFAULT_NOMINAL_VOLTAGE,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_SWITCH_DELAY_MS,
    DEFAULT_VOLTAGE_TOLERANCE,
    DOMAIN,
    FLOW_DLMS_LISTEN_SECONDS,
)
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


def scan_interval(values: Mapping[str, Any]) -> timedelta:
    """Time between reads, from the options."""
    return timedelta(seconds=int(values.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL.seconds)))


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
            self._read_task = asyncio.ensure_future(read_meter(self.port, self.session_config))
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
        self.statistics.last_duration = readout.timings.total
        self.statistics.baud = readout.timings.baud
        model = readout.identification.model if readout.identification else ""
        self._meter_anomalies = self.detector.evaluate(readout, time.monotonic(), model)
        changed = self._meter_changed(readout)
        if changed is not None:
            self._meter_anomalies.append(changed)
        self._update_issues()
        return readout

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
