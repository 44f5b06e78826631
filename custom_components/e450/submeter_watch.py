"""Sub-meters that went silent, report an error or whose scale nobody said: repair issues naming the channel
(docs/mbus-submeters.md §4, §6). Pure: no Home Assistant import.

A channel is silent when a sub-meter it had is gone from the pushes or reads (no serial, no value), or when the time
its reading was captured lags the meter's clock by more than :data:`SILENT_AFTER` (the E450 reads its M-Bus devices
hourly or daily: a day and an hour without a new capture is a sub-meter the master no longer reaches). The meter's
clock is the push's time, or the clock a DLMS client read with the values (0-0:1.0.0); a readout with neither
skips the lag rule rather than compare with Home Assistant's clock, which the meter's may be hours away from. A non-zero
status of the extended register is the M-Bus master's error for that channel. A channel whose number comes with
no unit and scale the meter or the user said shows none: its issue opens the channel's form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Final

from .anomalies import Anomaly, AnomalyKind, Severity
from .meter_info import meter_clock
from .wire import Readout
from .wire.submeters import SubMeter, submeters

SILENT_AFTER: Final = timedelta(hours=25)


class SubMeterWatch:
    """The channels one meter's pushes or reads have named, and what is wrong with them now. ``settled``: whether a
    channel's total has its unit and scale (from the meter, or the user's options: submeter_settings.py)."""

    def __init__(self, settled: Callable[[SubMeter], bool]) -> None:
        self.seen: dict[int, str] = {}  # channel -> what names it (its serial, else its channel)
        self.settled = settled

    def anomalies(self, readout: Readout) -> list[Anomaly]:
        """The silent and failed channels in ``readout``, and those whose scale is not said."""
        result: list[Anomaly] = []
        found = submeters(readout)
        present = {submeter.channel for submeter in found}
        for channel, name in sorted(self.seen.items()):
            if channel not in present:
                result.append(_anomaly(AnomalyKind.SUBMETER_SILENT, channel, name))
        clock = readout.push.time if readout.push is not None else meter_clock(readout)
        for submeter in found:
            name = self.seen[submeter.channel] = submeter.serial or str(submeter.channel)
            captured = submeter.captured
            if captured is not None and clock is not None and clock - captured > SILENT_AFTER:
                result.append(_anomaly(AnomalyKind.SUBMETER_SILENT, submeter.channel, name))
            if submeter.raw is not None and not self.settled(submeter):
                result.append(_anomaly(AnomalyKind.SUBMETER_SCALE, submeter.channel, name))
            if submeter.failed:
                status = {"status": f"0x{submeter.status:02X}"}
                result.append(_anomaly(AnomalyKind.SUBMETER_ERROR, submeter.channel, name, status))
        return result


def _anomaly(kind: AnomalyKind, channel: int, name: str, extra: dict[str, str] | None = None) -> Anomaly:
    return Anomaly(kind, Severity.WARNING, {"channel": str(channel), "serial": name, **(extra or {})}, str(channel))
