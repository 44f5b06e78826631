"""DLMS/COSEM client benchmark (not a test): a read cycle of 20 registers at 9600 Bd against its wire-time floor,
over logical names and over short names.

    scripts/bench client [--runs N] [--json]

The simulated E450 with a DLMS server (profile ``e450-hdlc``, direct HDLC at 9600 8N1), and the simulated ZMD that
speaks short names and takes 62-byte frames (profile ``zmd-sn``), run in realtime mode: every
byte takes its 10 bit times each way and the meter answers as soon as a request has arrived. The floor of a read is
then the wire time of all the bytes both sides sent (SNRM/UA, AARQ/AARE, the GETs and their answers, RLRQ/RLRE,
DISC/UA); what the read takes beyond it is the client's own time: parsing, deciding, the event loop, the pty.
Two cycles are measured: the first (scaler_unit read with the values; over short names also the LN context refused,
the SN association and its object list) and a following one (scalers and short names kept, values only), as the
coordinator runs them. Then as an entry set up from the object list reads: the set-up (the object list, then every
register it offers with its scaler_unit, once) and a cycle of exactly the registers it offered (scalers kept, no
object list). ``--json`` prints one object: ``{"registers": 20, "first": {"seconds", "floor", "ratio"}, "kept":
{…}, "setup": {…}, "offered": {…}, "sn": {"first": {…}, "kept": {…}, "setup": {…}, "offered": {…}}}``.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
import json
from statistics import median
import sys
import time

from custom_components.e450.wire.dlms.client.config import ClientConfig
from custom_components.e450.wire.dlms.client.driver import read_client
from custom_components.e450.wire.dlms.client.get import Attribute
from custom_components.e450.wire.dlms.client.shortname import ShortNames
from custom_components.e450.wire.dlms.units import Scaling
from custom_components.e450.wire.iec62056.session import wire_time
from simulator import MeterSimulator

REGISTERS = 20  # the client's default list: energies per tariff, powers, voltages, currents, frequency, PF


async def cycles(runs: int, profile: str = "e450-hdlc") -> dict[str, dict[str, float]]:
    results: dict[str, list[tuple[float, float]]] = {"first": [], "kept": [], "setup": [], "offered": []}
    listed = ClientConfig(registers=())
    async with MeterSimulator(profile, realtime=True) as meter:
        for _ in range(runs):
            for kinds, config in ((("first", "kept"), ClientConfig()), (("setup", "offered"), listed)):
                scalers: dict[Attribute, Scaling | None] = {}
                names = ShortNames()
                for kind in kinds:
                    started = time.perf_counter()
                    read = await read_client(meter.port, config, scalers, names)
                    seconds = time.perf_counter() - started
                    assert len(read.readout.readings) >= REGISTERS - 2, read.readout.readings  # the E450: 18 of 20
                    if read.object_list is not None:  # from now on exactly what it offered, as an entry does
                        config = replace(config, offered=read.object_list.registers)
                    timings = read.readout.timings
                    floor = wire_time(timings.bytes_sent + timings.bytes_received, timings.baud)
                    results[kind].append((seconds, floor))
                    await asyncio.sleep(0.3)
    summary = {}
    for kind, rows in results.items():
        seconds, floor = median(row[0] for row in rows), median(row[1] for row in rows)
        summary[kind] = {"seconds": round(seconds, 4), "floor": round(floor, 4), "ratio": round(seconds / floor, 3)}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    summary = asyncio.run(cycles(args.runs))
    short = asyncio.run(cycles(args.runs, "zmd-sn"))
    if args.json:
        print(json.dumps({"registers": REGISTERS, **summary, "sn": short}))
        return
    print(f"| DLMS read at 9600 Bd ({REGISTERS} registers unless said) | seconds | wire-time floor | ratio |")
    print("|---|---|---|---|")
    rows = (
        (summary, "first", "LN, first cycle (values and scalers)"),
        (summary, "kept", "LN, next cycles (scalers kept)"),
        (summary, "setup", "LN, set-up: object list, then its 25 registers and scalers"),
        (summary, "offered", "LN, cycles of the 25 registers it offered (scalers kept)"),
        (short, "first", "SN, 62-byte frames, first cycle (context fallback, object list, scalers)"),
        (short, "kept", "SN, 62-byte frames, next cycles (names and scalers kept)"),
    )
    for found, kind, label in rows:
        row = found[kind]
        print(f"| {label} | {row['seconds']:.3f} | {row['floor']:.3f} | {row['ratio']:.2f} × |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
