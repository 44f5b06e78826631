"""Network bridges benchmark (not a test): ``iec62056 read`` through a bridge against the same read on a pty.

    scripts/bench bridges [--runs N] [--json]

The simulated E450 runs in realtime mode as its own process (``python -m simulator --realtime``): on a pty (a USB
head), behind the simulator's RFC 2217 server (as ser2net; and as pyserial's PortManager, which leaves the two
state-mask requests unanswered), and behind a raw TCP bridge fixed at 300 Bd. The command line reads it as a user
would (``python -m custom_components.e450.iec62056 read PORT --json``, its own process); the figures are the
read's own time as the command reports it (``timing.total``: sign-on to the end of the readout) and the whole
command's (Python's start-up, the open, an RFC 2217 negotiation, the close), medians of ``--runs``. The raw bridge
is read twice: with the default maximum of 9600 Bd (the switch fails, the read succeeds on its retry at 300 Bd:
what every poll paid before the entry learned to hold the bridge's speed, and what the first poll of an entry pays
now) and with ``--max-baud 300`` (what every later poll pays). ``--json`` prints one object:
``{row: {"seconds": …, "command": …, "baud": …, "bytes_sent": …}}`` (a read retried at 300 Bd signed on twice).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from statistics import median
import subprocess
import sys
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROWS: dict[str, tuple[list[str], list[str]]] = {
    # name: (the simulator's options, the read's options)
    "pty": (["--pty"], []),
    "rfc2217 (ser2net)": (["--rfc2217"], []),
    "rfc2217 (PortManager)": (["--rfc2217", "--quiet-masks"], []),
    "raw bridge at 300 Bd, max 9600": (["--tcp", "0", "--fixed-line", "300"], []),
    "raw bridge at 300 Bd, max 300": (["--tcp", "0", "--fixed-line", "300"], ["--max-baud", "300"]),
}
STARTUP = 30.0  # seconds for the simulator to print its port
READ = 120.0  # seconds one read may take, all told


def _python(args: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True, **kwargs)


def row(simulator: list[str], read: list[str], runs: int) -> dict[str, Any]:
    meter = _python(["-m", "simulator", "--profile", "e450", "--realtime", *simulator], stdout=subprocess.PIPE)
    try:
        assert meter.stdout is not None
        port = meter.stdout.readline().strip()  # the simulator prints its port first, or exits
        seconds, walls, outcome = [], [], {}
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "custom_components.e450.iec62056", "read", port, "--json", *read],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
                timeout=READ,
                check=True,
            )
            walls.append(time.perf_counter() - started)
            timings = json.loads(done.stdout)["timing"]
            seconds.append(timings["total"])
            outcome = {"baud": timings["baud"], "bytes_sent": timings["bytes_sent"]}  # a retry signs on twice
        return {"seconds": round(median(seconds), 3), "command": round(median(walls), 3), **outcome}
    finally:
        meter.terminate()
        try:
            meter.wait(STARTUP)
        except subprocess.TimeoutExpired:
            meter.kill()
            meter.wait(STARTUP)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = {name: row(simulator, read, args.runs) for name, (simulator, read) in ROWS.items()}
    if args.json:
        print(json.dumps(results))
        return
    print("| e450, realtime | read (s) | whole command (s) | baud | bytes sent (a retry signs on twice) |")
    print("|---|---|---|---|---|")
    for name, result in results.items():
        cells = f"{result['seconds']:.3f} | {result['command']:.3f} | {result['baud']} | {result['bytes_sent']}"
        print(f"| {name} | {cells} |")
    failed, held = results["raw bridge at 300 Bd, max 9600"], results["raw bridge at 300 Bd, max 300"]
    print(
        f"\nThe failed switch costs {failed['seconds'] - held['seconds']:.1f} s: once per entry now (its first poll), "
        "every poll before."
    )


if __name__ == "__main__":
    main()
