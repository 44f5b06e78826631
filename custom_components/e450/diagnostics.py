"""Diagnostics: settings, the meter's identity, the last raw readout and its parse, timings, statistics, issues,
the sub-meters on its M-Bus channels.

The serial numbers (the meter's and its sub-meters') are redacted everywhere they appear (also inside the raw
readout text), as are the device address and anything that looks like a password or a key.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry

from .const import CONF_ACCEPTED_SERIAL, CONF_DEVICE_ADDRESS, CONF_PASSWORD
from .coordinator import E450ConfigEntry, E450Coordinator, E450PushCoordinator, E450ReadCoordinator
from .wire.obis import SERIAL_CODES
from .wire.submeters import submeters

TO_REDACT = {
    CONF_DEVICE_ADDRESS,
    CONF_ACCEPTED_SERIAL,
    "unique_id",
    "password",
    CONF_PASSWORD,
    "key",
    "encryption_key",
    "authentication_key",
}


def _secrets(entry: E450ConfigEntry) -> list[str]:
    """Strings that must not leave the machine: serial numbers and the device address."""
    coordinator = entry.runtime_data
    values = {
        entry.unique_id or "",
        str(entry.data.get(CONF_DEVICE_ADDRESS) or ""),
        str(entry.options.get(CONF_ACCEPTED_SERIAL) or ""),
    }
    readout = coordinator.data
    if readout is not None:
        for code in SERIAL_CODES:
            values.add((readout.text(code) or "").strip())
        if readout.push is not None and readout.push.system_title:
            values.update((readout.push.system_title.hex(), readout.push.system_title.hex().upper()))
        values.update(found.serial for found in submeters(readout) if found.serial)
    return sorted((value for value in values if len(value) >= 3), key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _session(coordinator: E450Coordinator) -> dict[str, Any]:
    """How the meter is read: the push's line settings and layout, or the IEC 62056-21 session settings."""
    if isinstance(coordinator, E450PushCoordinator):
        listener = coordinator.listener
        return {"baud": listener.baud, "parity": listener.parity, "profile": listener.decoder.profile}
    session = asdict(coordinator.settings.session)
    for secret in ("address", "password"):  # a device address, a programming-mode password
        if secret in session:
            session[secret] = REDACTED if session[secret] else ""
    if isinstance(coordinator, E450ReadCoordinator):  # a raw bridge's fixed speed, learned from a read
        session["held_speed"] = coordinator.held_speed.as_dict() if coordinator.held_speed else None
    return session


def _scaling(coordinator: E450PushCoordinator) -> dict[str, Any]:
    """How the scales the push leaves open were decided: the convention, each group's verdict and the evidence,
    each register's scale, and the registers held back (docs/scaling.md)."""
    judge = coordinator.listener.decoder.judge
    readout = coordinator.data
    return {
        "convention": judge.convention.name if judge.convention else None,
        "user": dict(judge.user),
        "verdicts": {
            group.value: {
                "scale": verdict.scale.value,
                "correction": verdict.correction,
                "doubt": verdict.doubt.value if verdict.doubt else None,
                "candidates": list(verdict.candidates),
                "checks": list(verdict.rules),
            }
            for group, verdict in sorted(judge.verdicts.items())
        },
        "evidence": [
            {"check": item.rule, "terms": {group.value: c for group, c in item.terms}, "value": item.value}
            for item in judge.evidence
        ],
        "registers": {
            code: {"scale": note.scale.value, "exponent": note.exponent, "source": note.source}
            for code, note in (readout.scales.items() if readout is not None else ())
        },
        "withheld": {code: held.as_dict() for code, held in (readout.withheld.items() if readout is not None else ())},
    }


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: E450ConfigEntry) -> dict[str, Any]:
    """Everything needed to understand a read problem, without identifying the meter or its owner."""
    coordinator = entry.runtime_data
    secrets = _secrets(entry)
    readout = coordinator.data
    last: dict[str, Any] | None = None
    if readout is not None:
        ident = readout.identification
        push = readout.push
        last = {
            "identification": ident.as_dict() if ident else None,
            "bcc": readout.bcc.value,
            # a push's APDU is binary and carries the meter number in ways a text scrub cannot find: left out
            "raw": _scrub(readout.raw.decode("ascii", "backslashreplace"), secrets) if push is None else None,
            "push": None
            if push is None
            else {
                "system_title": REDACTED if push.system_title else None,
                "invocation_counter": push.invocation_counter,
                "security": push.security,
                "tag": push.tag,
                "time": push.time.isoformat() if push.time else None,
                "layout": push.layout,
                "profile": push.profile,
            },
            "datasets": [
                {
                    "address": dataset.address,
                    "values": [{"value": _scrub(value.value, secrets), "unit": value.unit} for value in dataset.values],
                }
                for dataset in readout.datasets
            ],
            "timings": readout.timings.as_dict() | {"retried": readout.timings.retried},
        }
    statistics = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in asdict(coordinator.statistics).items()
    }
    statistics["last_error"] = _scrub(statistics["last_error"] or "", secrets) or None
    if isinstance(coordinator, E450PushCoordinator):
        listener = coordinator.listener
        pushes = asdict(listener.statistics)
        pushes["last_error"] = _scrub(pushes["last_error"] or "", secrets) or None
        statistics["pushes"] = pushes | {
            "connected": listener.connected,
            "stale_after": coordinator.stale_after,
            # a body of a layout this version does not know: its structure, strings redacted, to report
            "undecoded_body": listener.undecoded,
        }
    return {
        "entry": {
            "title": _scrub(entry.title, secrets),
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "session": _session(coordinator),
        "last_readout": last,
        "statistics": statistics,
        "backfill": (
            {
                "report": coordinator.gaps.report.as_dict() if coordinator.gaps.report else None,
                "last_error": coordinator.gaps.last_error,
                "unsupported": coordinator.gaps.unsupported,
            }
            if isinstance(coordinator, E450ReadCoordinator)
            else None
        ),
        "scaling": _scaling(coordinator) if isinstance(coordinator, E450PushCoordinator) else None,
        # what each M-Bus channel's sub-meter sent (docs/mbus-submeters.md), its serial number redacted
        "submeters": [
            found.as_dict() | {"serial": REDACTED if found.serial else None}
            for found in (submeters(readout) if readout is not None else ())
        ],
        "live_problems": {
            str(problem): coordinator.monitor.live.get(problem, False)
            for problem in sorted(coordinator.live_problems())
        },
        "anomalies": [
            {
                "kind": str(anomaly.kind),
                "severity": anomaly.severity.value,
                "phase": anomaly.phase,
                "placeholders": {key: _scrub(value, secrets) for key, value in anomaly.placeholders.items()},
            }
            for anomaly in coordinator.anomalies.values()
        ],
    }


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: E450ConfigEntry, device: DeviceEntry
) -> dict[str, Any]:
    """The meter and its sub-meters share the entry's report."""
    return await async_get_config_entry_diagnostics(hass, entry)
