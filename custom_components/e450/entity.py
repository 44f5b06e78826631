"""Base entity: one device per meter, identified by its serial number."""

from __future__ import annotations

from collections.abc import Iterable

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import E450Coordinator
from .meter_info import device_names


class E450Entity(CoordinatorEntity[E450Coordinator]):
    """An entity of the meter's device, told of the updates that concern ``codes``: the registers it shows (and
    :mod:`.dispatch`'s pseudo-codes); ``None``: every update."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: E450Coordinator, key: str, codes: Iterable[str] | None = None) -> None:
        super().__init__(coordinator, None if codes is None else frozenset(codes))
        serial = coordinator.config_entry.unique_id or coordinator.config_entry.entry_id
        self._attr_unique_id = f"{serial}_{key}"
        # the name users know for a known type ("Landis+Gyr E450", model "E450 (ZMXi320AP)"): docs/meter-names.md
        names = device_names(coordinator.data, coordinator.config_entry.title, coordinator.config_entry.unique_id)
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, serial)},
            manufacturer=names.manufacturer,
            model=names.model,
            serial_number=names.serial_number or serial,
            sw_version=names.sw_version,
            name=names.name,
        )
