"""Sensors about the reads themselves (read duration, baud rate, success rate), beside the meter's registers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.helpers.typing import StateType

from .coordinator import E450Coordinator, ReadStatistics
from .entity import E450Entity


@dataclass(frozen=True, kw_only=True)
class E450StatisticsSensorEntityDescription(SensorEntityDescription):
    """A sensor about the reads themselves."""

    statistic_fn: Callable[[ReadStatistics], StateType]


STATISTICS_SENSORS: tuple[E450StatisticsSensorEntityDescription, ...] = (
    E450StatisticsSensorEntityDescription(
        key="last_read_duration",
        translation_key="last_read_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        statistic_fn=lambda stats: None if stats.last_duration is None else round(stats.last_duration, 3),
    ),
    E450StatisticsSensorEntityDescription(
        key="baud",
        translation_key="baud",
        native_unit_of_measurement="Bd",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        statistic_fn=lambda stats: stats.baud,
    ),
    E450StatisticsSensorEntityDescription(
        key="read_success_rate",
        translation_key="read_success_rate",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        statistic_fn=lambda stats: stats.success_rate,
    ),
)


class E450StatisticsSensor(E450Entity, SensorEntity):
    """Read duration, baud rate in use, success rate: available even when the last read failed."""

    entity_description: E450StatisticsSensorEntityDescription

    def __init__(self, coordinator: E450Coordinator, description: E450StatisticsSensorEntityDescription) -> None:
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """The statistics are about the link, so they stay available when it fails."""
        return True

    @property
    def native_value(self) -> StateType:
        """The statistic's current value."""
        return self.entity_description.statistic_fn(self.coordinator.statistics)
