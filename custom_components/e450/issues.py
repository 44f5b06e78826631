"""Repair issues: the active anomalies of a meter, kept in sync with Home Assistant's issue registry.

One issue per anomaly key and entry (:func:`issue_id`); created when a condition appears, updated while it lasts,
deleted when it clears or the entry unloads.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .anomalies import Anomaly, AnomalyKind, Severity
from .const import DOMAIN

# the issues whose repair flow (repairs.py) settles them: a replaced meter, registers or a sub-meter's total held
# back for their scale
FIXABLE = frozenset(
    {AnomalyKind.METER_CHANGED, AnomalyKind.SCALE_WAITING, AnomalyKind.SCALE_UNCERTAIN, AnomalyKind.SUBMETER_SCALE}
)


def issue_id(entry_id: str, key: str) -> str:
    """The repair issue's id for an anomaly key of an entry."""
    return f"{entry_id}_{key}"


def link_lost(
    *,
    last_success: datetime | None,
    last_failure: datetime | None,
    last_error: str | None,
    started: datetime,
    after: timedelta,
    now: datetime,
) -> Anomaly | None:
    """The link-lost anomaly when reads have been failing for at least ``after``."""
    failing = last_failure is not None and (last_success is None or last_failure > last_success)
    if not failing or now - (last_success or started) < after:
        return None
    return Anomaly(
        AnomalyKind.LINK_LOST,
        Severity.ERROR,
        {"minutes": f"{after.total_seconds() / 60:g}", "error": last_error or ""},
    )


class IssueTracker:
    """The repair issues of one entry."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, port: str) -> None:
        self._hass = hass
        self._entry = entry
        self._port = port
        self.active: dict[str, Anomaly] = {}
        self._since: dict[str, datetime] = {}
        self._written: dict[str, tuple[Severity, dict[str, str]]] = {}

    def sync(self, anomalies: list[Anomaly], last_good: datetime) -> None:
        """Create, update and delete issues so that they match ``anomalies``.

        ``last_good``: when the link last worked, the start of a lost link.
        """
        now = dt_util.utcnow()
        active = {anomaly.key: anomaly for anomaly in anomalies}
        entry = self._entry
        for key in set(self.active) - set(active):
            ir.async_delete_issue(self._hass, DOMAIN, issue_id(entry.entry_id, key))
            self._since.pop(key, None)
            self._written.pop(key, None)
        for key, anomaly in active.items():
            since = self._since.setdefault(key, last_good if anomaly.kind is AnomalyKind.LINK_LOST else now)
            written = (anomaly.severity, anomaly.placeholders)
            if self._written.get(key) == written:
                continue  # the registry has it as it is: no write (and no event) per read
            self._written[key] = written
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                issue_id(entry.entry_id, key),
                is_fixable=anomaly.kind in FIXABLE,
                is_persistent=False,
                severity=ir.IssueSeverity(anomaly.severity.value),
                translation_key=anomaly.kind.value,
                translation_placeholders={
                    **anomaly.placeholders,
                    "meter": entry.title,
                    "port": self._port,
                    "since": dt_util.as_local(since).strftime("%Y-%m-%d %H:%M"),
                },
                data={"entry_id": entry.entry_id, "kind": anomaly.kind.value, **anomaly.placeholders},
            )
        self.active = active

    def clear(self) -> None:
        """Withdraw every issue of this entry (it is being unloaded: nothing watches these conditions any more)."""
        for key in self.active:
            ir.async_delete_issue(self._hass, DOMAIN, issue_id(self._entry.entry_id, key))
        self.active = {}
        self._since = {}
        self._written = {}
