"""Home Assistant fixtures: the integration loaded from custom_components, a simulated meter on a pty."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Mapping
import contextlib
from enum import Enum
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import (
    EntityRegistryEntrySnapshot,
    HomeAssistantSnapshotExtension,
    HomeAssistantSnapshotSerializer,
    StateSnapshot,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.types import SerializableData

from custom_components.e450.compat import sensor_device_class
from custom_components.e450.const import (
    CONF_CLOCK_DRIFT,
    CONF_DEVICE_ADDRESS,
    CONF_MAX_BAUD,
    CONF_PORT,
    CONF_WAKE_UP,
    DOMAIN,
)
from custom_components.e450.ports import SerialPort
from custom_components.e450.units import VERSION_DEPENDENT
from simulator import MeterSimulator

E450_SERIAL = "71234567"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/e450."""


@pytest.fixture(autouse=True)
def short_dlms_listen() -> Generator[None]:
    """Listening 6 s per line setting is right for a real port and slow for a test."""
    with patch("custom_components.e450.config_flow.PUSH_LISTEN_SECONDS", 0.4):
        yield


@pytest.fixture
async def meter() -> AsyncIterator[MeterSimulator]:
    """An E450 profile whose values stand still, so snapshots are reproducible."""
    async with MeterSimulator("e450", frozen=True) as simulator:
        yield simulator


@pytest.fixture
def simulated(
    meter: MeterSimulator,
) -> Callable[..., contextlib.AbstractAsyncContextManager[MeterSimulator]]:
    """Another simulator with any profile or fault: ``async with simulated("zmd", fault=...)``."""

    @contextlib.asynccontextmanager
    async def factory(profile: str = "e450", **kwargs: Any) -> AsyncIterator[MeterSimulator]:
        async with MeterSimulator(profile, **kwargs) as simulator:
            yield simulator

    return factory


def entry_for(
    port: str, unique_id: str = E450_SERIAL, options: dict[str, Any] | None = None, **data: Any
) -> MockConfigEntry:
    """An entry for the simulated E450. The simulator's clock stands still on a fixed date, so the clock check is
    off unless a test turns it on."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Landis+Gyr ZMXi320AP.B22",
        unique_id=unique_id,
        data={CONF_PORT: port, CONF_MAX_BAUD: 9600, CONF_DEVICE_ADDRESS: "", CONF_WAKE_UP: False, **data},
        options={CONF_CLOCK_DRIFT: 0} if options is None else options,
    )


def fake_ports(*ports: tuple[str, str]) -> list[SerialPort]:
    return [
        SerialPort(path, path, f"{label} — {path}", "zigbee" in label.lower() or "z-wave" in label.lower())
        for path, label in ports
    ]


# The entity registry fields a snapshot shows. Home Assistant adds fields and changes how some print from one
# version to the next (2026: aliases as a list holding None, object_id_base, suggested_object_id); these are the
# ones that say what the integration made, and they print the same on every version we test.
REGISTRY_FIELDS = (
    "area_id",
    "capabilities",
    "config_entry_id",
    "config_subentry_id",
    "device_class",
    "device_id",
    "disabled_by",
    "domain",
    "entity_category",
    "entity_id",
    "has_entity_name",
    "hidden_by",
    "icon",
    "id",
    "labels",
    "name",
    "options",
    "original_device_class",
    "original_icon",
    "original_name",
    "platform",
    "previous_unique_id",
    "supported_features",
    "translation_key",
    "unique_id",
    "unit_of_measurement",
)


class VersionDependent:
    """Stands in a snapshot for a device class that only some Home Assistant versions give (units.py)."""

    def __init__(self, device_class: str) -> None:
        self.device_class = device_class

    def __repr__(self) -> str:
        return f"<{self.device_class} where Home Assistant accepts the unit>"


def _plain_keys(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    """Keys as plain strings: 2026 keys capabilities and state attributes by StrEnum members."""
    return {key.value if isinstance(key, Enum) else key: value for key, value in mapping.items()}


def _version_dependent(unit: object, device_class: object) -> object:
    """The device class, or a stand-in where it depends on the version; checked against this version's answer."""
    name = VERSION_DEPENDENT.get(str(unit).lower()) if unit else None
    if name is None:
        return device_class
    expected = sensor_device_class(name, str(unit))
    assert device_class == expected, f"{unit}: device class {device_class!r}, expected {expected!r} here"
    return VersionDependent(name)


class StableSnapshotSerializer(HomeAssistantSnapshotSerializer):
    """Home Assistant's serialiser, printing entity registry entries and states the same on every Home Assistant
    version we test (the floor and the newest): one set of snapshots for both."""

    @classmethod
    def _serializable_entity_registry_entry(cls, data: er.RegistryEntry) -> SerializableData:
        full = super()._serializable_entity_registry_entry(data)
        entry = EntityRegistryEntrySnapshot({field: full[field] for field in REGISTRY_FIELDS})
        entry["capabilities"] = _plain_keys(entry["capabilities"] or {}) or entry["capabilities"]
        entry["original_device_class"] = _version_dependent(data.unit_of_measurement, data.original_device_class)
        return entry

    @classmethod
    def _serializable_state(cls, data: State) -> SerializableData:
        state = StateSnapshot(super()._serializable_state(data))
        attributes = _plain_keys(state["attributes"])
        if "device_class" in attributes or attributes.get("unit_of_measurement"):
            device_class = _version_dependent(attributes.get("unit_of_measurement"), attributes.get("device_class"))
            if device_class is not None:
                attributes["device_class"] = device_class
        state["attributes"] = dict(sorted(attributes.items()))
        return state


class StableSnapshotExtension(HomeAssistantSnapshotExtension):
    serializer_class = StableSnapshotSerializer


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serialiser (ids and timestamps as ANY), the same on every version we test."""
    return snapshot.use_extension(StableSnapshotExtension)


def meter_device(hass: HomeAssistant, serial: str) -> dr.DeviceEntry | None:
    """The meter's device by its identifier (``async_get_device`` is deprecated on Home Assistant 2026)."""
    registry = dr.async_get(hass)
    devices = (
        device
        for entry in hass.config_entries.async_entries(DOMAIN)
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
    )
    return next((device for device in devices if (DOMAIN, serial) in device.identifiers), None)
