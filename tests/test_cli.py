"""The command-line contracts: ``parse``, ``read`` and ``probe``, and the simulator's own command line."""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

from custom_components.e450.wire.commands.iec62056 import main

from .processes import simulator_pty
from .telegrams import FIXTURES, load

ROOT = Path(__file__).parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_parse_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = tmp_path / "capture.bin"
    capture.write_bytes(load(FIXTURES / "LandisGyr_ZMD-B40_1.txt"))
    assert main(["parse", str(capture)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"identification", "bcc", "datasets", "readings"}
    assert document["identification"] is None
    assert document["bcc"] == "ok"
    first_multi = next(ds for ds in document["datasets"] if ds["address"] == "1-1:1.6.0")
    assert first_multi == {
        "address": "1-1:1.6.0",
        "values": [{"value": "10.102", "unit": "kW"}, {"value": "2104070015", "unit": None}],
    }
    assert document["readings"]["1.6.0"] == {"value": 10.102, "unit": "kW"}
    assert all("*" not in code and ":" not in code for code in document["readings"])


def test_parse_identification_from_stdin() -> None:
    raw = load(FIXTURES / "Iskra_MT174_1.txt")
    result = subprocess.run(
        [sys.executable, "-m", "custom_components.e450.iec62056", "parse", "-"],
        input=raw,
        capture_output=True,
        env=ENV,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    ident = json.loads(result.stdout)["identification"]
    assert ident == {
        "manufacturer": "ISk",
        "baud_char": "5",
        "mode": "C",
        "max_baud": 9600,
        "capabilities": [],
        "model": "MT174-0001",
        "fast_reaction": True,
    }


def test_parse_failure_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x7f\x7f\x00 nothing here")
    assert main(["parse", str(junk)]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


@pytest.fixture
def simulator_process() -> Iterator[str]:
    with simulator_pty("e450") as port:
        yield port


def test_read_json_against_simulator_process(simulator_process: str) -> None:
    assert simulator_process.startswith("/dev/pts/")
    result = subprocess.run(
        [sys.executable, "-m", "custom_components.e450.iec62056", "read", simulator_process, "--json"],
        capture_output=True,
        env=ENV,
        cwd=ROOT,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    timing = document["timing"]
    assert set(timing) == {"total", "sign_on", "identification", "readout", "baud", "bytes_sent", "bytes_received"}
    assert timing["baud"] == 9600 and timing["bytes_sent"] == 11
    assert document["readings"]["1.8.0"]["unit"] == "kWh"
    table = subprocess.run(
        [sys.executable, "-m", "custom_components.e450.iec62056", "read", simulator_process, "--max-baud", "2400"],
        capture_output=True,
        env=ENV,
        cwd=ROOT,
        text=True,
        timeout=60,
        check=False,
    )
    assert table.returncode == 0, table.stderr
    assert "at 2400 Bd" in table.stdout and "1.8.0" in table.stdout


def test_read_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["read", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_probe_only_opens_named_ports(simulator_process: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "custom_components.e450.iec62056",
            "probe",
            "--try",
            simulator_process,
            str(tmp_path / "absent"),
        ],
        capture_output=True,
        env=ENV,
        cwd=ROOT,
        text=True,
        timeout=60,
        check=False,
    )
    assert f"{simulator_process}: LGZ ZMXi320AP.B22 answered" in result.stdout
    assert "absent: Port" in result.stdout
    assert result.returncode == 1


def test_probe_lists_ports(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import serialx

    class Port:
        device = "/dev/ttyUSB0"
        manufacturer = "FTDI"
        product = "IR head"
        serial_number = "A1"

    monkeypatch.setattr(serialx, "list_serial_ports", lambda: [Port()])
    assert main(["probe"]) == 0
    assert "/dev/ttyUSB0  FTDI, IR head, A1" in capsys.readouterr().out
    monkeypatch.setattr(serialx, "list_serial_ports", list)
    assert main(["probe"]) == 0
    assert "No serial ports found." in capsys.readouterr().out


def test_probe_names_a_push_meter_and_how_to_decode_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push meter found is a meter found: its line settings, its system title and the command that reads it."""
    import serialx

    from custom_components.e450.wire import PushMeter
    from custom_components.e450.wire.commands import iec62056

    async def found(port: str, config: object) -> PushMeter:
        return PushMeter(9600, "N", True, bytes.fromhex("4C475A6772A9A111"))

    monkeypatch.setattr(serialx, "list_serial_ports", list)
    monkeypatch.setattr(iec62056, "detect_meter", found)
    assert main(["probe", "--try", "/dev/ttyUSB7"]) == 0
    out = capsys.readouterr().out
    assert "/dev/ttyUSB7: the meter pushes encrypted DLMS/COSEM (HDLC frames at 9600 Bd 8N1" in out
    assert "system title 4C475A6772A9A111" in out
    assert "python -m custom_components.e450.dlms listen PORT --baud 9600 --parity N --framing hdlc --ek KEY" in out


def test_wire_package_never_imports_home_assistant() -> None:
    """Everything on the wire is usable without Home Assistant: prove it statically and at run time."""
    package = ROOT / "custom_components" / "e450" / "wire"
    for source in package.rglob("*.py"):
        assert "homeassistant" not in source.read_text(), source.name
    # imported as a top-level package, so that the integration's own __init__ (which uses HA) stays out
    modules = sorted(
        ".".join(("wire", *path.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
        for path in package.rglob("*.py")
    )
    probe = (
        "import sys, importlib; sys.path.insert(0, 'custom_components/e450');"
        f"[importlib.import_module(m) for m in {modules!r}];"
        "assert not [m for m in sys.modules if m.startswith('homeassistant')], 'HA imported'"
    )
    env = {key: value for key, value in ENV.items() if key != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
