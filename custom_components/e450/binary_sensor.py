"""Live problems of the household as binary sensors: overload against its own limits, phase unbalance.

They switch on and off with the data (with a tolerance and a hysteresis, see :mod:`.household`); the Energy
dashboard is untouched. Only the problems the meter's data and the limits set allow to check get a sensor.
"""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .coordinator import E450ConfigEntry, E450Coordinator
from .dispatch import LIVE_PROBLEMS
from .entity import E450Entity
from .household import LiveProblem

PARALLEL_UPDATES = 0

DESCRIPTIONS: dict[LiveProblem, BinarySensorEntityDescription] = {
    problem: BinarySensorEntityDescription(
        key=problem.value, translation_key=problem.value, device_class=BinarySensorDeviceClass.PROBLEM
    )
    for problem in LiveProblem
}


async def async_setup_entry(
    hass: HomeAssistant, entry: E450ConfigEntry, async_add_entities: AddEntitiesCallback
) -> None:
    """A sensor per live problem this meter can be checked for."""
    coordinator = entry.runtime_data
    async_add_entities(E450ProblemSensor(coordinator, problem) for problem in sorted(coordinator.live_problems()))


class E450ProblemSensor(E450Entity, BinarySensorEntity):
    """On while the problem lasts."""

    def __init__(self, coordinator: E450Coordinator, problem: LiveProblem) -> None:
        super().__init__(coordinator, DESCRIPTIONS[problem].key, (LIVE_PROBLEMS,))
        self.entity_description = DESCRIPTIONS[problem]
        self._problem = problem
        self._attr_is_on = coordinator.monitor.live.get(problem, False)
        self._shown: tuple[bool | None, bool] | None = None

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when it changed."""
        if self.coordinator.last_update_success:
            self._attr_is_on = self.coordinator.monitor.live.get(self._problem, False)
        shown = (self._attr_is_on, self.available)
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()
