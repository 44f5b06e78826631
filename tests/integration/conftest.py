"""Home Assistant fixtures: the integration loaded from custom_components, a simulated meter on a pty."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator
import contextlib
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.e450.const import (
    CONF_CLOCK_DRIFT,
    CONF_DEVICE_ADDRESS,
    CONF_MAX_BAUD,
    CONF_PORT,
    CONF_WAKE_UP,
    DOMAIN,
)
from custom_components.e450.ports import SerialPort
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


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serialiser (ids and timestamps as ANY)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def meter_device(hass: HomeAssistant, serial: str) -> dr.DeviceEntry | None:
    """The meter's device by its identifier (``async_get_device`` is deprecated on Home Assistant 2026)."""
    registry = dr.async_get(hass)
    devices = (
        device
        for entry in hass.config_entries.async_entries(DOMAIN)
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
    )
    return next((device for device in devices if (DOMAIN, serial) in device.identifiers), None)
