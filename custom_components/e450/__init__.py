"""The e450 integration: electricity meters read through an IEC 62056-21 optical head."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .coordinator import E450ConfigEntry, E450Coordinator

PLATFORMS: list[Platform] = [Platform.BUTTON, Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: E450ConfigEntry) -> bool:
    """Read the meter once (ConfigEntryNotReady when that fails), then create its entities."""
    coordinator = E450Coordinator(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: E450ConfigEntry) -> bool:
    """Unload the platforms; the coordinator shuts down with the entry and abandons a read in progress."""
    unloaded: bool = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_shutdown()
    return unloaded
