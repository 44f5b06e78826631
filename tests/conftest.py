"""Shared fixtures: the meter simulator on a real pty."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import contextlib
from typing import Any

import pytest

from custom_components.e450.iec62056.session import SessionConfig
from simulator import MeterSimulator

# Short, still standard-shaped timings for the simulator's fast mode.
FAST = SessionConfig(identification_timeout=0.6, dlms_listen=0.4, fallback_wait=0.2, switch_delay=0.05)


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
