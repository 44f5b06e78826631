"""Run Home Assistant with the integration and a simulated (or real) meter, onboarded and configured.

Started by ``scripts/develop`` (which puts the repository root on the path); see its header for the options.
Stops everything on Ctrl-C or SIGTERM. The launching itself is simulator/launcher.py, shared with the browser test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys

from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK
from simulator.launcher import PASSWORD, ROOT, USER, Simulated, add_meter, launch

# scripts/develop --ha latest runs the newest Home Assistant: its own folder, since a newer version migrates the
# storage in .storage/ to formats the floor cannot read
CONFIG = ROOT / ("config-latest" if os.environ.get("E450_HA") == "latest" else "config")


def meter_keys(args: argparse.Namespace) -> dict[str, str]:
    """The keys the user gave; for the simulator's push profiles, its example keys where none were given."""
    keys = {"encryption_key": args.ek or "", "authentication_key": args.ak or ""}
    if args.port is None:
        keys["encryption_key"] = args.ek or EXAMPLE_EK.hex()
        if args.profile == "e450-dlms-encrypted":  # the only profile whose pushes carry a tag (SC 0x30)
            keys["authentication_key"] = args.ak or EXAMPLE_AK.hex()
    return {name: value for name, value in keys.items() if value}


async def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/develop")
    parser.add_argument("--port", help="a real meter's port or URL instead of the simulator")
    parser.add_argument("--profile", default="e450", help="simulator profile (default e450)")
    parser.add_argument("--fault", help="simulator fault")
    parser.add_argument("--fresh", action="store_true", help=f"start from an empty {CONFIG.name}/")
    parser.add_argument("--ek", help="encryption key of a DLMS push meter (default: the simulator's)")
    parser.add_argument("--ak", help="authentication key of a DLMS push meter (default: the simulator's)")
    args = parser.parse_args()
    meter = args.port if args.port is not None else Simulated(args.profile, realtime=True, fault=args.fault)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with launch(CONFIG, fresh=args.fresh, meter=meter, say=print) as running:
        print(await add_meter(running, meter_keys(args)))
        print(f"\nOpen {running.url} and log in as '{USER}' with password '{PASSWORD}'.")
        print(f"Logs: {CONFIG}/home-assistant.log. Ctrl-C stops everything.")
        while not stop.is_set() and running.hass.poll() is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
