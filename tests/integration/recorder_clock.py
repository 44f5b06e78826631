"""Time under a test's control, with Home Assistant's recorder compiling the statistics as time passes: each
5-minute period 10 s after it ends (the hour's summary with the period at :55), as Home Assistant does while it
runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

FIVE = timedelta(minutes=5)


class RecorderClock:
    """Starts whole hours ahead of the real clock (the recorder's run started now: states must come after it)."""

    def __init__(self, hass: HomeAssistant, freezer: FrozenDateTimeFactory, hours_ahead: int = 2) -> None:
        self.hass, self.freezer = hass, freezer
        self.t0 = (dt_util.utcnow() + timedelta(hours=hours_ahead)).replace(minute=0, second=0, microsecond=0)
        self.compiled = self.t0  # the start of the next period to compile
        freezer.move_to(self.t0)

    async def advance(self, to: datetime) -> None:
        """Let time pass to ``to``, compiling every period that ends before it."""
        while self.compiled + FIVE <= to:
            self.freezer.move_to(self.compiled + FIVE + timedelta(seconds=10))
            do_adhoc_statistics(self.hass, start=self.compiled)
            await async_wait_recording_done(self.hass)
            self.compiled += FIVE
        self.freezer.move_to(to)
