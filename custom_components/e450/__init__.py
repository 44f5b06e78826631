"""The e450 integration: electricity meters read through an optical head (IEC 62056-21) or a customer
interface that pushes DLMS/COSEM."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .coordinator import E450ConfigEntry, E450Coordinator, E450PushCoordinator, is_push, settings

PLATFORMS: list[Platform] = [Platform.BUTTON, Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: E450ConfigEntry) -> bool:
    """Read the meter once (ConfigEntryNotReady when that fails), then create its entities.

    A push meter's listener starts first; the first refresh waits for its first push.
    """
    coordinator: E450Coordinator
    if is_push(settings(entry)):
        coordinator = push = E450PushCoordinator(hass, entry)
        push.start()
    else:
        coordinator = E450Coordinator(hass, entry)
    try:
        await coordinator.async_config_entry_first_refresh()
    except Exception:
        await coordinator.async_shutdown()  # a push meter's listener must not keep the port open
        raise
    entry.runtime_data = coordinator
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_options_updated(hass: HomeAssistant, entry: E450ConfigEntry) -> None:
    """New options apply from the next read on; no reload, no restart."""
    entry.runtime_data.apply_options()


async def async_unload_entry(hass: HomeAssistant, entry: E450ConfigEntry) -> bool:
    """Unload the platforms, abandon a read in progress, and withdraw this meter's repair issues."""
    unloaded: bool = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_shutdown()
        entry.runtime_data.clear_issues()
    return unloaded
