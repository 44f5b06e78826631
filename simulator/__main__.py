"""``python -m simulator --profile NAME [--pty | --tcp PORT [--fixed-line BAUD] | --rfc2217 [--quiet-masks]]
[--realtime] [--fault KIND] [--link PATH]``.

Prints the device path (or URL) on its first stdout line, then serves until stopped (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from .faults import FAULTS
from .meter import MeterSimulator
from .profiles import PROFILES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--profile", default="e450", choices=sorted(PROFILES))
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (default)")
    where.add_argument("--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT (0 picks one)")
    where.add_argument(
        "--rfc2217", action="store_true", help="serve on a pty behind an RFC 2217 server on 127.0.0.1 (as ser2net)"
    )
    parser.add_argument(
        "--fixed-line",
        type=int,
        metavar="BAUD",
        help="with --tcp: a raw bridge whose serial side stays at BAUD whatever the client asks",
    )
    parser.add_argument(
        "--quiet-masks",
        action="store_true",
        help="with --rfc2217: leave the state-mask requests unanswered, as pyserial's PortManager does",
    )
    parser.add_argument("--realtime", action="store_true", help="pace every byte at the wire rate")
    parser.add_argument("--fault", choices=FAULTS)
    parser.add_argument("--link", help="stable symlink to the pty (survives an unplug)")
    parser.add_argument("--address", default="", help="device address the meter answers to")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--unplug-every", type=float, default=20.0)
    parser.add_argument("--unplug-for", type=float, default=5.0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    simulator = MeterSimulator(
        args.profile,
        fault=args.fault,
        realtime=args.realtime,
        link=args.link,
        tcp_port=args.tcp,
        seed=args.seed,
        unplug_every=args.unplug_every,
        unplug_for=args.unplug_for,
        address=args.address,
        fixed_baud=args.fixed_line,
        rfc2217=args.rfc2217,
        answer_masks=not args.quiet_masks,
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with simulator:
            print(simulator.port, flush=True)
            await stop.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
