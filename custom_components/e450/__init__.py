"""The e450 integration: electricity meters read through an optical head (IEC 62056-21) or a customer
interface that pushes DLMS/COSEM."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .const import CONF_RESCALE_PENDING
from .coordinator import E450ConfigEntry, E450Coordinator, E450PushCoordinator, E450ReadCoordinator
from .rescale import hold_until_compiled, rescaled_energy
from .settings import is_push, merged, user_scales

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: E450ConfigEntry) -> bool:
    """Read the meter once (ConfigEntryNotReady when that fails), then create its entities.

    A push meter's listener starts first; the first refresh waits for its first push.
    """
    push = is_push(merged(entry))
    coordinator: E450Coordinator = E450PushCoordinator(hass, entry) if push else E450ReadCoordinator(hass, entry)
    # a new scale (a register's, a sub-meter channel's: submeter_options.py) or a restart before the period ended
    if pending := set(entry.options.get(CONF_RESCALE_PENDING, [])):
        entry.async_on_unload(hold_until_compiled(hass, entry, coordinator, pending))
    if isinstance(coordinator, E450PushCoordinator):
        coordinator.start()
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
    """New options apply from the next read on, without a restart. The user's new scales apply from the next push;
    the energy registers shown at another scale are held until their statistics start again (rescale.py). A reload
    only when a limit set or cleared adds or removes a problem sensor."""
    coordinator = entry.runtime_data
    if isinstance(coordinator, E450PushCoordinator) and coordinator.scales != (scales := user_scales(merged(entry))):
        changed = rescaled_energy(coordinator.data, coordinator.scales, scales)
        coordinator.use_scales(scales)
        if changed:
            pending = sorted({*entry.options.get(CONF_RESCALE_PENDING, []), *changed})
            entry.async_on_unload(hold_until_compiled(hass, entry, coordinator, changed))
            hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_RESCALE_PENDING: pending})
        await coordinator.async_request_refresh()
    before = coordinator.live_problems()
    coordinator.apply_options()
    if coordinator.live_problems() != before:
        hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: E450ConfigEntry) -> bool:
    """Unload the platforms, abandon a read in progress, and withdraw this meter's repair issues."""
    unloaded: bool = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_shutdown()
        entry.runtime_data.clear_issues()
    return unloaded
