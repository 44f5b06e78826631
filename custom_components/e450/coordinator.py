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
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_DEVICE_ADDRESS,
    CONF_MAX_BAUD,
    CONF_PORT,
    CONF_WAKE_UP,
    DEFAULT_MAX_BAUD,
    DEFAULT_SCAN_INTERVAL,
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

_LOGGER = logging.getLogger(__name__)

type E450ConfigEntry = ConfigEntry[E450Coordinator]


def session_config(data: Mapping[str, Any], *, detect_dlms: bool = False) -> SessionConfig:
    """Session settings from config entry data (or a flow's settings)."""
    return SessionConfig(
        max_baud=int(data.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD)),
        address=str(data.get(CONF_DEVICE_ADDRESS) or ""),
        wake_up=bool(data.get(CONF_WAKE_UP, False)),
        detect_dlms=detect_dlms,
        dlms_listen=FLOW_DLMS_LISTEN_SECONDS,
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
    """Reads one meter at a fixed interval."""

    config_entry: E450ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: E450ConfigEntry) -> None:
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.data[CONF_PORT]}",
            update_interval=timedelta(seconds=entry.options.get("scan_interval", DEFAULT_SCAN_INTERVAL.seconds)),
            always_update=False,
        )
        self.port: str = entry.data[CONF_PORT]
        self.session_config = session_config(entry.data)
        self.statistics = ReadStatistics()
        self._read_lock = asyncio.Lock()
        self._read_task: asyncio.Task[Readout] | None = None

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
        return readout

    async def async_shutdown(self) -> None:
        """Stop polling and abandon a read in progress (the driver closes the port as it unwinds)."""
        await super().async_shutdown()
        if self._read_task is not None and not self._read_task.done():
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, IEC62056Error):
                await self._read_task
