"""Differences between the Home Assistant versions we support (2025.4 … current).

Home Assistant validated with ``voluptuous`` until 2026 and with ``probatio`` (an API-compatible successor) since;
flows must hand it schemas of the library it serialises. Use the one its own config validation uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr

vol: Any = getattr(cv, "probatio", None) or getattr(cv, "vol")  # noqa: B009 - not re-exported for mypy


def sensor_device_class(name: str, unit: str) -> SensorDeviceClass | None:
    """The device class ``name`` for a sensor in ``unit`` where this Home Assistant has the class and accepts the
    unit for it, else none (Home Assistant rejects a unit its device class does not list). Reactive energy (varh,
    kvarh) arrived after 2025.4, and kvar and kVA joined reactive and apparent power after it too."""
    try:
        device_class = SensorDeviceClass(name)
    except ValueError:
        return None
    return device_class if unit in DEVICE_CLASS_UNITS.get(device_class, ()) else None


def update_and_reload(
    hass: HomeAssistant,
    entry: ConfigEntry,
    data_updates: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
    *,
    only_if_changed: bool = False,
) -> None:
    """Update an entry's data (and options) and reload it, as a reconfigure or re-authentication must.

    Not ``async_update_reload_and_abort`` or ``_abort_if_unique_id_configured(updates=…)``: since 2026 Home Assistant
    reports an integration with an update listener that reloads through them ("should use it for scheduling a
    reload") and stops reloading there in 2026.12, while our listener only applies options. ``only_if_changed``:
    reload only when something changed and the entry is running or retrying (what the unique-id abort did).
    """
    manager = hass.config_entries
    data = {**entry.data, **data_updates}
    changed = (
        manager.async_update_entry(entry, data=data)
        if options is None
        else manager.async_update_entry(entry, data=data, options=options)
    )
    if not only_if_changed or (changed and entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_RETRY)):
        manager.async_schedule_reload(entry.entry_id)


def via_device(hass: HomeAssistant, entry: ConfigEntry, parent: tuple[str, str]) -> dict[str, Any]:
    """The device info that puts a device behind ``parent`` (another device of ``entry``, by its identifier):
    ``via_device`` until 2026; since, ``via_device_id``, the parent's registry id (the parent is registered first
    when it is not yet), as ``via_device`` is deprecated there."""
    if "via_device_id" not in dr.DeviceInfo.__annotations__:
        return {"via_device": parent}
    registry = dr.async_get(hass)  # pragma: no cover - Home Assistant 2026 and later (E450_HA=latest runs it)
    device = registry.async_get_or_create(config_entry_id=entry.entry_id, identifiers={parent})  # pragma: no cover
    return {"via_device_id": device.id}  # pragma: no cover
