"""What a DLMS client entry keeps between reads (custom_components/e450/client_reads.py), against the simulated
meter over a pty: the invocation counter reserved ahead and corrected from the meter's frame counter, the
registers the object list offered, and the errors that are not the counter's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
import contextlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from custom_components.e450.client_reads import ClientKeeper, first_read, kept_data
from custom_components.e450.const import CONF_INVOCATION_COUNTER, CONF_REGISTERS, INVOCATION_RESERVE
from custom_components.e450.wire.dlms.axdr import OCTET_STRING, Data, obis_bytes
from custom_components.e450.wire.dlms.client.config import ClientConfig
from custom_components.e450.wire.dlms.client.driver import next_invocation_counter, read_invocation_counter
from custom_components.e450.wire.dlms.client.hdlc_link import LinkSettings
from custom_components.e450.wire.dlms.client.hls import ClientKeys
from custom_components.e450.wire.errors import ClientProblem, DlmsClientError
from custom_components.e450.wire.iec62056.session import SessionConfig
from simulator.cosem_objects import CosemObject
from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK

Factory = Callable[..., contextlib.AbstractAsyncContextManager[Any]]
HLS = ClientConfig(link=LinkSettings(client=1), keys=ClientKeys(EXAMPLE_EK, EXAMPLE_AK), response_timeout=0.3)
FRAME_COUNTER = (1, obis_bytes("0-0:43.1.0"))


class Saved:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def __call__(self, data: Mapping[str, Any]) -> None:
        self.data.update(data)


async def test_counters_are_reserved_ahead_and_a_profile_read_uses_them(sim_factory: Factory) -> None:
    saved = Saved()
    async with sim_factory("e450-hdlc", frozen=True) as sim:
        read, kept = await first_read(sim.port, HLS)
        assert read.object_list is not None and len(kept[CONF_REGISTERS]) == 25
        keeper = ClientKeeper(sim.port, saved, kept[CONF_INVOCATION_COUNTER])
        config = replace(HLS, offered=read.object_list.registers)
        cycle = await keeper.read(config, {})
        assert cycle.object_list is None and saved.data[CONF_INVOCATION_COUNTER] == keeper.reserved
        end = sim.dlms.application.objects.registers.now()
        profile = await keeper.profile(end - timedelta(hours=2), end, config, {})
        used = sim.dlms.application.objects.invocation_counter
    assert profile.entries and keeper.counter == used + 1
    assert used < keeper.reserved <= used + 1 + INVOCATION_RESERVE  # a restart starts above every counter used


async def test_errors_that_are_not_the_counters_are_raised(sim_factory: Factory) -> None:
    async with sim_factory("e450-hdlc", frozen=True) as sim:
        keeper = ClientKeeper(sim.port, Saved(), 1000)
        wrong = replace(HLS, keys=ClientKeys(EXAMPLE_AK, EXAMPLE_AK))
        with pytest.raises(DlmsClientError) as keys:  # the frame counter is below ours: the keys are wrong
            await keeper.read(wrong, {})
        objects = sim.dlms.application.objects.objects
        objects[FRAME_COUNTER] = CosemObject(1, 0, FRAME_COUNTER[1], {2: lambda: Data(OCTET_STRING, b"n/a")})
        with pytest.raises(DlmsClientError) as text:
            await read_invocation_counter(sim.port, HLS)
        del objects[FRAME_COUNTER]
        assert await next_invocation_counter(sim.port, HLS) == 0  # a meter without a frame counter: start at 0
        sim.fault = "no_ua"
        sim.dlms.faults.pick()  # from the next connection on
        with pytest.raises(DlmsClientError) as silent:
            await next_invocation_counter(sim.port, replace(HLS, retries=0))
        with pytest.raises(DlmsClientError) as public:
            await ClientKeeper(sim.port, Saved(), 0).read(ClientConfig(response_timeout=0.3, retries=0), {})
    assert keys.value.reason is ClientProblem.AUTHENTICATION_FAILED
    assert text.value.reason is ClientProblem.OBJECT_UNAVAILABLE
    assert silent.value.reason is public.value.reason is ClientProblem.NO_UA


async def test_a_mode_e_meter_that_stays_at_300_bd_is_asked_for_300_bd_from_then_on(sim_factory: Factory) -> None:
    config = ClientConfig(mode_e=True, session=SessionConfig(switch_delay=0.05), response_timeout=0.3, retries=1)
    async with sim_factory("e450-mode-e", fault="stays_at_300") as sim:
        keeper = ClientKeeper(sim.port, Saved(), 0)
        first = await keeper.read(config, {})
        assert keeper.slow and first.readout.timings.retried
        await asyncio.sleep(0.5)
        second = await keeper.read(config, {})
    assert second.readout.timings.baud == 300 and not second.readout.timings.retried


def test_a_read_never_lowers_the_counter_an_entry_keeps() -> None:
    stored = {CONF_INVOCATION_COUNTER: 5000, CONF_REGISTERS: []}
    assert kept_data(stored, {CONF_INVOCATION_COUNTER: 3000})[CONF_INVOCATION_COUNTER] == 5000
    assert kept_data(stored, {CONF_INVOCATION_COUNTER: 7000})[CONF_INVOCATION_COUNTER] == 7000
    assert kept_data(stored, {CONF_REGISTERS: [[3, "1-0:1.8.0"]]}) == {**stored, CONF_REGISTERS: [[3, "1-0:1.8.0"]]}
    assert ClientKeeper.of("/dev/null", Saved(), stored).counter == 5000
