"""Shared fixtures: the meter simulator on a real pty."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import contextlib
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run the full soak and leak tests (minutes)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="full-length reliability run: use --run-slow (or bench/reliability.sh)")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
