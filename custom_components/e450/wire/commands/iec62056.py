"""Command line: ``python -m custom_components.e450.iec62056 {parse,read,profile,probe}``.

``parse FILE|-``   parse raw bytes a port delivered and print JSON (the contract other tools rely on)
``read PORT``      do a real read: ``[--max-baud N] [--address A] [--wake-up] [--json]``
``probe``          list serial ports; ``--try PORT …`` signs on to each named port (and only those)
``profile PORT``   read the load profile P.01 in programming mode: ``--from ISO --to ISO [--max-baud N]
                   [--address A] [--password P] [--json]`` → ``{"profile": "P.01", "entries": [{"time": ISO,
                   "values": {"1.8.0": {"value": …, "unit": …}}}]}``, as ``… .dlms profile`` prints; times are meter
                   time; exit 0, else the reason on stderr
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import json
import sys
from typing import Any

from ..detect import DetectConfig, detect_meter
from ..errors import MeterError
from ..iec62056.driver import read_meter, read_profile
from ..iec62056.session import SessionConfig
from ..iec62056.transcript import parse_transcript
from ..models import PushMeter, Readout
from .profiles import meter_moment, profile_output


def readout_json(readout: Readout) -> dict[str, Any]:
    """The JSON document of the ``parse`` contract."""
    identification = readout.identification
    return {
        "identification": identification.as_dict() if identification else None,
        "bcc": readout.bcc.value,
        "datasets": [
            {"address": ds.address, "values": [{"value": v.value, "unit": v.unit} for v in ds.values]}
            for ds in readout.datasets
        ],
        "readings": readout.readings_json(),
    }


def _table(readout: Readout) -> str:
    lines = []
    ident = readout.identification
    if ident is not None:
        lines.append(f"Meter: {ident.manufacturer} {ident.model} (mode {ident.mode}, max {ident.max_baud} Bd)")
    timing = readout.timings
    lines.append(
        f"Read in {timing.total:.2f} s at {timing.baud} Bd, BCC {readout.bcc}, {len(readout.datasets)} data sets"
    )
    width = max((len(ds.address) for ds in readout.datasets), default=8)
    for dataset in readout.datasets:
        values = "  ".join(f"{v.value} {v.unit or ''}".rstrip() for v in dataset.values)
        lines.append(f"  {dataset.address:<{width}}  {values}")
    return "\n".join(lines)


def _cmd_parse(args: argparse.Namespace) -> int:
    raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()  # noqa: SIM115
    try:
        transcript = parse_transcript(raw)
    except MeterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    document = readout_json(transcript.readout(raw))
    print(json.dumps(document, indent=2))
    return 0


def _cmd_read(args: argparse.Namespace) -> int:
    config = SessionConfig(max_baud=args.max_baud, address=args.address, wake_up=args.wake_up)
    try:
        readout = asyncio.run(read_meter(args.port, config))
    except (MeterError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        document = readout_json(readout)
        document["timing"] = readout.timings.as_dict()
        print(json.dumps(document, indent=2))
    else:
        print(_table(readout))
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    if args.end < args.start:
        print(f"error: --to ({args.end.isoformat()}) is before --from ({args.start.isoformat()})", file=sys.stderr)
        return 2
    config = SessionConfig(max_baud=args.max_baud, address=args.address, password=args.password)
    try:
        profile = asyncio.run(read_profile(args.port, config, args.start, args.end))
    except (MeterError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(profile_output(profile, as_json=args.json))
    return 0


def push_meter_text(found: PushMeter) -> str:
    """What ``probe`` says of a push meter, with the command line that decodes its pushes."""
    kind = "encrypted " if found.encrypted else ""
    sender = f", system title {found.system_title.hex().upper()}" if found.system_title else ""
    return (
        f"the meter pushes {kind}DLMS/COSEM (HDLC frames at {found.baud} Bd 8{found.parity}1{sender}); "
        "it does not answer an IEC 62056-21 sign-on. Decode it with: python -m custom_components.e450.dlms "
        f"listen PORT --baud {found.baud} --parity {found.parity} --framing {found.framing}"
        + (" --ek KEY" if found.encrypted else "")
    )


def _cmd_probe(args: argparse.Namespace) -> int:
    import serialx  # only for listing: parse/read stay importable without enumerating hardware

    ports = serialx.list_serial_ports()
    if not ports:
        print("No serial ports found.")
    for port in ports:
        details = ", ".join(
            str(part)
            for part in (
                getattr(port, "manufacturer", None),
                getattr(port, "product", None),
                getattr(port, "serial_number", None),
            )
            if part
        )
        print(f"{port.device}  {details}")
    failures = 0
    for target in args.try_ports:
        try:
            found = asyncio.run(detect_meter(target, DetectConfig()))  # listens a push interval per line setting
        except MeterError as err:
            failures += 1
            print(f"{target}: {err}")
            continue
        if isinstance(found, PushMeter):
            print(f"{target}: {push_meter_text(found)}")
            continue
        ident = found.identification
        name = f"{ident.manufacturer} {ident.model}" if ident else "meter"
        print(f"{target}: {name} answered, {len(found.datasets)} data sets at {found.timings.baud} Bd")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.e450.iec62056",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    parse = commands.add_parser("parse", help="parse raw bytes from a file or stdin")
    parse.add_argument("file")
    parse.set_defaults(func=_cmd_parse)
    read = commands.add_parser("read", help="read a meter")
    read.add_argument("port")
    read.add_argument("--max-baud", type=int, default=19200)
    read.add_argument("--address", default="")
    read.add_argument("--wake-up", action="store_true")
    read.add_argument("--json", action="store_true")
    read.set_defaults(func=_cmd_read)
    profile = commands.add_parser("profile", help="read the load profile P.01 between two times")
    profile.add_argument("port")
    profile.add_argument("--from", dest="start", type=meter_moment, required=True, help="first entry (ISO 8601)")
    profile.add_argument("--to", dest="end", type=meter_moment, required=True, help="last entry (ISO 8601)")
    profile.add_argument("--max-baud", type=int, default=19200)
    profile.add_argument("--address", default="")
    profile.add_argument("--password", default="", help="programming-mode password (P1), when the meter asks")
    profile.add_argument("--json", action="store_true")
    profile.set_defaults(func=_cmd_profile)
    probe = commands.add_parser("probe", help="list serial ports; sign on to those named with --try")
    probe.add_argument("--try", dest="try_ports", nargs="+", default=[], metavar="PORT")
    probe.set_defaults(func=_cmd_probe)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
