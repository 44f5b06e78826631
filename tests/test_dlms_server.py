"""The DLMS client and the simulated meter's DLMS server over a real pty (serialx end to end), the same meter read
by gurux-dlms's client, every fault ending in its error with the port closed, and the ``read`` command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Any

from gurux_dlms.enums import ObjectType
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSProfileGeneric, GXDLMSRegister
import pytest

from custom_components.e450.wire.commands.dlms import main
from custom_components.e450.wire.dlms.client.client import DlmsClient
from custom_components.e450.wire.dlms.client.config import ClientConfig
from custom_components.e450.wire.dlms.client.driver import read_client, read_dlms
from custom_components.e450.wire.dlms.client.get import Attribute
from custom_components.e450.wire.dlms.client.hdlc_link import LinkSettings
from custom_components.e450.wire.dlms.units import Scaling
from custom_components.e450.wire.errors import ClientProblem, DlmsClientError, NoAnswerError
from custom_components.e450.wire.framing.hdlc import physical_from_serial
from custom_components.e450.wire.iec62056.session import SessionConfig
from custom_components.e450.wire.models import Reading, Readout
from custom_components.e450.wire.port import close_port, run_on_port
from custom_components.e450.wire.submeters import submeters
from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK, METER_NUMBER

from .gurux_peer import GuruxReader, gurux_client, open_hdlc
from .processes import simulator_pty
from .test_driver import assert_port_released

Factory = Callable[..., contextlib.AbstractAsyncContextManager[Any]]
ROOT = Path(__file__).parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
QUICK = ClientConfig(response_timeout=0.3, retries=1)
MODE_E = SessionConfig(identification_timeout=0.6, switch_delay=0.05)


async def test_direct_hdlc_read_with_scalers_kept(sim_factory: Factory) -> None:
    scalers: dict[Attribute, Scaling | None] = {}
    async with sim_factory("e450-hdlc") as sim:
        readout = await read_dlms(sim.port, QUICK, scalers)
        await assert_port_released(sim.port)
        again = await read_dlms(sim.port, QUICK, scalers)
        assert sim.dlms.connections == 2
    assert readout.readings["1.8.0"].unit == "Wh" and readout.readings["31.7.0"].unit == "A"
    assert readout.text("42.0.0") == "LGZ1030655933512" and readout.timings.baud == 9600
    assert again.timings.bytes_sent < readout.timings.bytes_sent  # no scaler_unit asked for the second time
    assert again.readings.keys() == readout.readings.keys()


async def test_lls_client_with_a_serial_derived_address_and_every_register(sim_factory: Factory) -> None:
    link = LinkSettings(client=32, physical=physical_from_serial(30137181))
    async with sim_factory("e450-hdlc") as sim:
        first = await read_client(sim.port, ClientConfig(link=link, password="12345678", registers=()))
        readout, offered = first.readout, first.object_list
        assert offered is not None and first.invocation_counter is None
        second = await read_client(sim.port, ClientConfig(link=link, password="12345678", offered=offered.registers))
    assert len(readout.readings) == 25 and readout.readings["14.7.0"].unit == "Hz"
    assert offered.objects == 31 and len(offered.registers) == 25
    assert (4, "1-0:1.6.0") in offered.registers and (5, "1-0:1.4.0") in offered.registers
    assert readout.readings["13.7.0"] == Reading(0.98, None) and readout.readings["73.7.0"] == Reading(0.98, None)
    assert readout.readings["1.6.0"] == Reading(4210, "W") and readout.readings["96.14.0"] == Reading(1, None)
    # the serial number is read beside the logical device name (identity, not a register of the object list)
    assert readout.text("96.1.0") == METER_NUMBER and (1, "0-0:96.1.0") not in offered.registers
    # the registers the object list offered, read again without it: the same registers, fewer bytes asked for
    again = second.readout
    assert second.object_list is None and again.readings.keys() == readout.readings.keys()
    assert again.timings.bytes_received < readout.timings.bytes_received


async def test_mode_e_signs_on_then_speaks_hdlc(sim_factory: Factory) -> None:
    async with sim_factory("e450-mode-e") as sim:
        readout = await read_dlms(sim.port, ClientConfig(mode_e=True, session=MODE_E))
        await assert_port_released(sim.port)
        assert sim.requests == 1
    assert readout.identification is not None and readout.identification.hdlc_capable
    assert readout.timings.baud == 9600 and readout.readings["1.8.0"].value > 0
    assert not readout.timings.retried


async def test_a_mode_e_meter_that_stays_at_300_bd_is_read_at_300_bd(sim_factory: Factory) -> None:
    """A ZMD120: it acknowledges the speed it proposed and stays at 300 Bd; no UA at 9600 Bd, so the client
    connects again at 300 Bd, as the IEC side retries at 300 Bd after a failed switch."""
    async with sim_factory("e450-mode-e", fault="stays_at_300") as sim:
        config = ClientConfig(mode_e=True, session=MODE_E, response_timeout=0.3, retries=1)
        client = DlmsClient(config)
        readout = await run_on_port(sim.port, client, 300, 7, "E")
        await assert_port_released(sim.port)
    assert isinstance(readout, Readout) and client.stayed_at_300
    assert readout.timings.baud == 300 and readout.timings.retried and readout.readings["1.8.0"].value > 0


async def test_mode_e_meter_that_does_not_sign_on(sim_factory: Factory) -> None:
    async with sim_factory("e450-mode-e", fault="no_answer") as sim:
        with pytest.raises(NoAnswerError):
            await read_dlms(sim.port, ClientConfig(mode_e=True, session=MODE_E))
        await assert_port_released(sim.port)


@pytest.mark.parametrize(
    ("fault", "config", "reason"),
    [
        ("no_ua", QUICK, ClientProblem.NO_UA),
        ("aarq_rejected", QUICK, ClientProblem.ASSOCIATION_REFUSED),
        ("ns_mismatch", QUICK, ClientProblem.SEQUENCE_ERROR),
        ("vanish", QUICK, ClientProblem.NO_ANSWER),
        ("block_interrupted", ClientConfig(registers=(), max_pdu=0x100), ClientProblem.BLOCK_TRANSFER_ABORTED),
        (None, ClientConfig(link=LinkSettings(client=32), password="1234"), ClientProblem.WRONG_PASSWORD),
    ],
)
async def test_faults_end_in_a_clear_error_with_the_port_closed(
    sim_factory: Factory, fault: str | None, config: ClientConfig, reason: ClientProblem
) -> None:
    async with sim_factory("e450-hdlc", fault=fault) as sim:
        with pytest.raises(DlmsClientError) as caught:
            await read_dlms(sim.port, config)
        await assert_port_released(sim.port)
    assert caught.value.reason is reason


@pytest.mark.parametrize("fault", ["lost_frame", "repeated_frame"])
async def test_lost_and_repeated_frames_still_read(sim_factory: Factory, fault: str) -> None:
    async with sim_factory("e450-hdlc", fault=fault) as sim:
        readout = await read_dlms(sim.port, QUICK)
    assert readout.readings["1.8.0"].value == 12345678
    assert readout.timings.retried is (fault == "lost_frame")


async def test_gurux_client_reads_the_simulated_meter(sim_factory: Factory) -> None:
    """Someone else's client proves the meter our client is tested against: LLS, GET normal, with a list, the
    object list and a load profile in blocks, release and disconnect."""
    async with sim_factory("e450-hdlc") as sim:
        serial = await open_hdlc(sim.port)
        try:
            reader = GuruxReader(serial, gurux_client(32, "12345678"))
            await reader.connect()
            name = GXDLMSData("0.0.42.0.0.255")
            await reader.read(name, 2)
            clock = GXDLMSClock("0.0.1.0.0.255")
            await reader.read(clock, 2)
            voltage = GXDLMSRegister("1.0.32.7.0.255")
            await reader.read(voltage, 3)
            await reader.read(voltage, 2)
            objects = await reader.objects()
            currents = [GXDLMSRegister(f"1.0.{c}.7.0.255") for c in (31, 51, 71)]
            await reader.read_list([(item, 2) for item in currents])
            profile = objects.findByLN(ObjectType.PROFILE_GENERIC, "1.0.99.1.0.255")
            assert isinstance(profile, GXDLMSProfileGeneric)
            await reader.read(profile, 3)
            await reader.read(profile, 2)
            await reader.close()
        finally:
            await close_port(serial)
    assert bytes(name.value) == b"LGZ1030655933512"
    assert clock.time.value.year == 2026 or clock.time.value.year > 2000
    assert voltage.scaler == 0.1 and voltage.unit == 35 and 220 < voltage.value < 240
    assert len(objects) == 31 and all(isinstance(item.value, int) and item.value > 0 for item in currents)
    assert len(profile.buffer) == 96 and len(profile.captureObjects) == 4


async def test_gurux_and_our_client_agree_on_every_register(sim_factory: Factory) -> None:
    """Every register and data object the object list offers, read by gurux-dlms (value and scaler_unit) and by
    our client from the same object list: the same numbers and units."""
    async with sim_factory("e450-hdlc", frozen=True) as sim:
        ours = await read_dlms(sim.port, ClientConfig(registers=()))
        serial = await open_hdlc(sim.port)
        try:
            reader = GuruxReader(serial, gurux_client())
            await reader.connect()
            objects = await reader.objects()
            theirs: dict[str, tuple[float, int | None]] = {}
            for kind in (ObjectType.REGISTER, ObjectType.EXTENDED_REGISTER, ObjectType.DEMAND_REGISTER):
                for item in objects.getObjects(kind):
                    await reader.read(item, 4 if kind == ObjectType.DEMAND_REGISTER else 3)
                    await reader.read(item, 2)
                    value = item.currentAverageValue if kind == ObjectType.DEMAND_REGISTER else item.value
                    theirs[item.logicalName] = (value, item.unit)
            tariff = GXDLMSData("0.0.96.14.0.255")
            await reader.read(tariff, 2)
            await reader.close()
        finally:
            await close_port(serial)
    assert len(theirs) == 24 and ours.readings["96.14.0"].value == tariff.value == 1
    units = {27: "W", 30: "Wh", 32: "varh", 33: "A", 35: "V", 44: "Hz", 255: None}
    for name, (value, unit) in theirs.items():
        code = ".".join(name.split(".")[2:5])
        assert ours.readings[code] == Reading(pytest.approx(value), units[unit]), code


async def test_gurux_reads_the_sub_meters_as_our_client_does(sim_factory: Factory) -> None:
    """The M-Bus channels of ``e450-client-submeters`` read by gurux-dlms (the M-Bus client's device type, the
    extended register's value, scaler_unit, status and capture time, the serial number) and by our client: the
    same sub-meters."""
    async with sim_factory("e450-client-submeters", frozen=True) as sim:
        ours = submeters(await read_dlms(sim.port, ClientConfig(registers=())))
        serial = await open_hdlc(sim.port)
        try:
            reader = GuruxReader(serial, gurux_client())
            await reader.connect()
            objects = await reader.objects()
            theirs = []
            for client in objects.getObjects(ObjectType.MBUS_CLIENT):
                channel = int(client.logicalName.split(".")[1])
                register = objects.findByLN(ObjectType.EXTENDED_REGISTER, f"0.{channel}.24.2.1.255")
                number = GXDLMSData(f"0.{channel}.96.1.0.255")
                await reader.read(client, 9)
                for index in (3, 2, 4, 5):
                    await reader.read(register, index)
                await reader.read(number, 2)
                captured = register.captureTime.value.replace(tzinfo=None)
                # gurux scales the value by the scaler it read; unit 13 is the DLMS enumeration's m³
                theirs.append(
                    (channel, bytes(number.value).decode(), client.deviceType, register.value, register.unit, captured)
                )
            await reader.close()
        finally:
            await close_port(serial)
    assert len(theirs) == 2
    assert [(f.channel, f.serial, f.device_type, f.value, 13, f.captured) for f in ours if f.unit == "m³"] == theirs


@pytest.fixture
def hdlc_simulator() -> Iterator[str]:
    with simulator_pty("e450-hdlc") as port:
        yield port


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custom_components.e450.dlms", "read", *args],
        capture_output=True,
        env=ENV,
        cwd=ROOT,
        text=True,
        timeout=60,
        check=False,
    )


def test_read_command_contract(hdlc_simulator: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(hdlc_simulator, "--registers", "1.8.0,32.7.0", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["readings"]["1.8.0"]["unit"] == "Wh"
    assert main(["read", hdlc_simulator, "--registers", "1.8.0,32.7.0", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"logical_device_name", "clock", "readings", "timing", "referencing"}
    assert document["referencing"] == "ln"
    assert document["logical_device_name"] == "LGZ1030655933512"
    assert document["clock"] is not None and "T" in document["clock"]
    assert document["readings"]["1.8.0"]["unit"] == "Wh" and document["readings"]["32.7.0"]["unit"] == "V"
    assert set(document["timing"]) == {"total", "baud"} and document["timing"]["baud"] == 9600
    assert main(["read", hdlc_simulator, "--client", "32", "--password", "12345678", "--registers", "all"]) == 0
    table = capsys.readouterr().out
    assert "LGZ1030655933512 at 9600 Bd" in table and "14.7.0" in table
    assert main(["read", hdlc_simulator, "--client", "32", "--password", "nope", "--json"]) == 2
    wrong = capsys.readouterr()
    assert wrong.out == "" and wrong.err.startswith("error: the meter refused the password")


@pytest.mark.parametrize("address", [["--address-size", "1"], ["--address-size", "4", "--physical", "17"], []])
def test_read_command_reads_the_object_list_at_any_address_size(
    hdlc_simulator: str, capsys: pytest.CaptureFixture[str], address: list[str]
) -> None:
    assert main(["read", hdlc_simulator, "--registers", "all", "--json", *address]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["object_count"] == 31 and document["readings"]["13.7.0"] == {"value": 0.98, "unit": None}
    assert len(document["readings"]) == 25


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        (["--address-size", "1", "--physical", "17"], "has no physical address"),
        (["--address-size", "2", "--physical", "300"], "do not fit in a 2-byte address"),
    ],
)
def test_read_command_refuses_addresses_that_do_not_fit(
    capsys: pytest.CaptureFixture[str], address: list[str], problem: str
) -> None:
    with pytest.raises(SystemExit):
        main(["read", "/dev/null", *address])
    assert problem in capsys.readouterr().err


def test_read_command_errors(tmp_path: Path) -> None:
    missing = run_cli(str(tmp_path / "nope"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    empty = run_cli(str(tmp_path / "nope"), "--registers", ",")
    assert empty.returncode == 2 and "name at least one register" in empty.stderr


KEYS = ["--ek", EXAMPLE_EK.hex(), "--ak", EXAMPLE_AK.hex()]


def test_read_command_with_keys(hdlc_simulator: str, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):  # the second starts above the counters the first used: the meter's frame counter says where
        assert main(["read", hdlc_simulator, "--client", "1", *KEYS, "--registers", "1.8.0", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["readings"]["1.8.0"]["unit"] == "Wh"
    wrong = ["--ek", EXAMPLE_AK.hex(), "--ak", EXAMPLE_AK.hex(), "--system-title", "4534350000000001"]
    assert main(["read", hdlc_simulator, "--client", "1", *wrong]) == 2
    assert capsys.readouterr().err.startswith("error: high level security (HLS-GMAC) failed")
    with pytest.raises(SystemExit):
        main(["read", hdlc_simulator, "--ek", EXAMPLE_EK.hex()])
    assert "needs both --ek and --ak" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["read", hdlc_simulator, *KEYS, "--system-title", "E45"])
