"""Protocol benchmarks (not timed tests): read-cycle time against the wire-time floor, parse throughput.

    scripts/bench            # or: PYTHONPATH=. .venv/bin/python bench/protocol.py [--runs N]

(1) For each realtime simulator profile: wall time of a full read divided by the floor, i.e. every byte at the
baud in force (10 bits per character) plus the mandated reactions: the meter's tr before its identification and
its data message, our tr before the ACK, and the switch delay where it does not overlap the meter's tr.
(2) Data sets per second of the parser over the real-telegram corpus.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
from statistics import median
import sys
import time

from custom_components.e450.wire import read_meter
from custom_components.e450.wire.iec62056.dataset import parse_data_block
from custom_components.e450.wire.iec62056.session import REACTION_TIME, SessionConfig, wire_time
from custom_components.e450.wire.iec62056.transcript import parse_transcript
from simulator import MeterSimulator
from simulator.profiles import PROFILES

sys.path.insert(0, ".")
from tests.telegrams import load, telegram_files

READ_PROFILES = ("e450", "e350", "zmd", "mt174", "mode-a", "mode-b")


def floor_seconds(profile: str, ident_len: int, received: int, sent: int, baud: int, config: SessionConfig) -> float:
    meter = PROFILES[profile]
    tr = meter.reaction
    request = 5
    data = received - ident_len
    floor = wire_time(request, 300) + tr + wire_time(ident_len, 300) + tr + wire_time(data, baud)
    if sent > request and baud != 300:
        # mode C: our reaction and the ACK on the wire; the meter's tr runs from the end of the ACK and our
        # switch delay from the moment the ACK left, so only a switch delay longer than both adds time
        ack = sent - request
        floor += REACTION_TIME + wire_time(ack, 300) + max(0.0, config.switch_delay - wire_time(ack, 300) - tr)
    return floor


async def read_cycles(runs: int) -> list[tuple[str, int, float, float, float]]:
    rows = []
    config = SessionConfig()
    for profile in READ_PROFILES:
        async with MeterSimulator(profile, realtime=True) as sim:
            walls, floors = [], []
            baud = 300
            for _ in range(runs):
                started = time.perf_counter()
                readout = await read_meter(sim.port, config)
                walls.append(time.perf_counter() - started)
                ident = readout.identification
                assert ident is not None
                ident_len = len(b"/" + PROFILES[profile].identification.encode() + b"\r\n")
                t = readout.timings
                baud = t.baud
                floors.append(floor_seconds(profile, ident_len, t.bytes_received, t.bytes_sent, t.baud, config))
                await asyncio.sleep(0.3)
        rows.append((profile, baud, median(walls), median(floors), median(walls) / median(floors)))
    return rows


def prototype_read(port: str) -> tuple[float, int, bool]:
    """The original Flask prototype's read, for comparison: 300 Bd 7E1, 5 s timeout, ``/?!``, sleep 0.2 s, read up
    to 100 bytes, write ``/000``, sleep 1 s, read up to 1000 bytes, never switch baud. Blocking (run in a thread)."""
    import serialx

    started = time.perf_counter()
    serial = serialx.serial_for_url(port, baudrate=300, byte_size=7, parity="E", read_timeout=5)
    serial.open()
    try:
        serial.write(b"/?!\r\n")
        time.sleep(0.2)
        first = serial.read(100)
        serial.write(b"/000\r\n")
        time.sleep(1)
        second = serial.read(1000)
    finally:
        serial.close()
    received = first + second
    got_data = b"\x02" in received and b"\x03" in received
    return time.perf_counter() - started, len(received), got_data


async def prototype_cycles(runs: int) -> tuple[float, int, bool]:
    async with MeterSimulator("e450", realtime=True) as sim:
        results = []
        for _ in range(runs):
            results.append(await asyncio.to_thread(prototype_read, sim.port))
            await asyncio.sleep(2.5)  # let the meter time out of the session the prototype left open
    return median(r[0] for r in results), max(r[1] for r in results), any(r[2] for r in results)


def parse_throughput(repeat: int = 200) -> tuple[int, float, float]:
    corpus = [load(path) for path in telegram_files()]
    datasets = sum(len(parse_transcript(raw).datasets) for raw in corpus)
    started = time.perf_counter()
    for _ in range(repeat):
        for raw in corpus:
            parse_transcript(raw)
    elapsed = time.perf_counter() - started
    blocks_started = time.perf_counter()
    for _ in range(repeat):
        for raw in corpus:
            parse_data_block(raw)
    blocks = time.perf_counter() - blocks_started
    return datasets, datasets * repeat / elapsed, datasets * repeat / blocks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-reads", action="store_true")
    args = parser.parse_args()
    machine = f"{platform.node()}, {platform.machine()}, Python {platform.python_version()}"
    print(f"# e450 protocol benchmark — {time.strftime('%Y-%m-%d')} — {machine}")
    if not args.skip_reads:
        print("\n| profile | baud | read (s) | wire floor (s) | ratio |\n|---|---|---|---|---|")
        for profile, baud, wall, floor, ratio in asyncio.run(read_cycles(args.runs)):
            print(f"| {profile} | {baud} | {wall:.3f} | {floor:.3f} | {ratio:.3f} |")
        wall, received, complete = asyncio.run(prototype_cycles(args.runs))
        outcome = "complete readout" if complete else "no data message (never sends an ACK)"
        print(f"| e450, read like the Flask prototype | 300 | {wall:.3f} | – | {outcome}, {received} bytes |")
    count, transcript_rate, block_rate = parse_throughput()
    print(f"\nParse throughput over {count} data sets of the real-telegram corpus:")
    print(f"- parse_transcript: {transcript_rate:,.0f} data sets/s; parse_data_block: {block_rate:,.0f} data sets/s")


if __name__ == "__main__":
    main()
