"""A "Read now" button: an immediate read, outside the schedule."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .const import DOMAIN
from .coordinator import E450ConfigEntry, E450Coordinator
from .entity import E450Entity

PARALLEL_UPDATES = 1

READ_NOW = ButtonEntityDescription(key="read_now", translation_key="read_now", entity_category=EntityCategory.CONFIG)


async def async_setup_entry(
    hass: HomeAssistant, entry: E450ConfigEntry, async_add_entities: AddEntitiesCallback
) -> None:
    """Add the button."""
    async_add_entities([E450ReadNowButton(entry.runtime_data)])


class E450ReadNowButton(E450Entity, ButtonEntity):
    """Reads the meter now."""

    entity_description = READ_NOW

    def __init__(self, coordinator: E450Coordinator) -> None:
        super().__init__(coordinator, READ_NOW.key, ())  # nothing of the button changes with the data

    @property
    def available(self) -> bool:
        """Pressing it is how a user checks a link that just failed."""
        return True

    @callback
    def _handle_coordinator_update(self) -> None:
        """Nothing of the button changes with the data: no state write per read."""

    async def async_press(self) -> None:
        """Read, and tell the user why when it fails."""
        await self.coordinator.async_refresh()
        if not self.coordinator.last_update_success:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="read_failed",
                translation_placeholders={"error": self.coordinator.statistics.last_error or ""},
            )
