"""Shared fixtures: the meter simulator on a real pty; deprecations that name this integration fail the test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
import logging
import re
from typing import Any

import pytest

from custom_components.e450.wire.iec62056.session import SessionConfig
from simulator import MeterSimulator

# Short, still standard-shaped timings for the simulator's fast mode.
FAST = SessionConfig(identification_timeout=0.6, fallback_wait=0.2, switch_delay=0.05)


@pytest.fixture
def sim_factory() -> Callable[..., contextlib.AbstractAsyncContextManager[MeterSimulator]]:
    """``async with sim_factory("e450", fault=...) as sim`` → a running simulator, always stopped after."""

    @contextlib.asynccontextmanager
    async def factory(profile: str = "e450", **kwargs: Any) -> AsyncIterator[MeterSimulator]:
        simulator = MeterSimulator(profile, **kwargs)
        await simulator.start()
        try:
            yield simulator
        finally:
            await simulator.stop()

    return factory


# Home Assistant reports a deprecated use by an integration with its frame helper (helpers/frame.py report_usage:
# "Detected that custom integration 'e450' … This will stop working in Home Assistant 2026.x") or its deprecation
# helper (helpers/deprecation.py: "… was used from e450, this is a deprecated constant which will be removed …");
# entity checks name the class (custom_components.e450.sensor…). Python's own DeprecationWarnings raised from our
# modules are errors through pyproject.toml's filterwarnings.
DEPRECATION = re.compile(r"deprecat|will stop working|will be removed|no longer (be )?supported", re.IGNORECASE)
NAMES_US = re.compile(r"custom_components[./]e450\b|integration '?e450\b|\bfrom e450\b|'e450'")


def deprecations_naming_us(records: list[logging.LogRecord]) -> list[str]:
    messages = (record.getMessage() for record in records if record.levelno >= logging.WARNING)
    return [message for message in messages if DEPRECATION.search(message) and NAMES_US.search(message)]


@pytest.fixture(autouse=True)
def no_deprecations_naming_us(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test during which Home Assistant reported a deprecated use by this integration."""
    yield
    records = [record for when in ("setup", "call", "teardown") for record in caplog.get_records(when)]
    if found := deprecations_naming_us(records):
        pytest.fail("deprecated use by the integration:\n" + "\n".join(found), pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run the full soak and leak tests (minutes)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="full-length reliability run: use --run-slow (or bench/reliability.sh)")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
