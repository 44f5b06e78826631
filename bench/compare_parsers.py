"""Parse throughput of our parser against the PyPI libraries ``iec62056-21`` (pwitab) and ``iec62056`` (jonkerj).

    scripts/bench parse [--json]     # runs this in bench/.venv, made on demand

Run in a separate environment (bench/.venv) so that neither library becomes a dependency; our ``wire`` package is
loaded from custom_components/e450/wire as a top-level package of its own (it has no Home Assistant import).
Corpus: the real telegrams with a complete, verified frame, plus the simulator's profiles. Each parser gets the
same bytes in the form its API takes; a telegram it rejects counts as a failure, not as data sets.

Each round parses the corpus ``REPEAT`` times with every parser in turn (interleaved, so that a busy moment of the
machine hits all of them); the figure is the median over the rounds. Ours as used: its bracket cache warm, as it
is for a meter that repeats most of its values from one read to the next; "cold" clears every cache of ours
before each pass, so that nothing is remembered from one pass over the corpus to the next.

``--json``: one object, ``{"ours": data sets/s, "pwitab": data sets/s}``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import contextlib
import importlib.util
import json
from pathlib import Path
from statistics import median
import sys
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROUNDS = 9
REPEAT = 20


def load_ours() -> Any:
    """The wire package as a top-level package of its own: the jonkerj library is also called ``iec62056``."""
    package = ROOT / "custom_components" / "e450" / "wire"
    spec = importlib.util.spec_from_file_location(
        "e450_wire", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["e450_wire"] = module
    spec.loader.exec_module(module)
    return module


def corpus(ours: Any) -> list[bytes]:
    from datetime import datetime

    from tests.telegrams import load, telegram_files

    # simulator/profiles.py on its own: the simulator package imports the integration (and so Home Assistant)
    spec = importlib.util.spec_from_file_location("sim_profiles", ROOT / "simulator" / "profiles.py")
    assert spec is not None and spec.loader is not None
    profiles = importlib.util.module_from_spec(spec)
    sys.modules["sim_profiles"] = profiles
    spec.loader.exec_module(profiles)
    PROFILES, MeterState = profiles.PROFILES, profiles.MeterState

    frames = []
    for path in telegram_files():
        raw = load(path)
        if ours.parse_transcript(raw).bcc.value == "ok" and b"/" in raw.split(b"\x02")[0]:
            frames.append(raw)
    state = MeterState()
    for name in ("e450", "e350", "zmd", "mt174"):
        profile = PROFILES[name]
        block = "".join(f"{line}\r\n" for line in profile.lines(state, datetime(2026, 11, 28, 12))) + "!\r\n"
        body = block.encode() + b"\x03"
        check = 0
        for byte in body:
            check ^= byte
        frames.append(b"/" + profile.identification.encode() + b"\r\n\x02" + body + bytes([check]))
    return frames


class Parser:
    """One contender: how it is called, what it accepted, and its rate per round."""

    def __init__(self, name: str, parse: Callable[[bytes], int], before_pass: Callable[[], None] | None = None):
        self.name = name
        self.parse = parse
        self.before_pass = before_pass
        self.accepted = 0
        self.datasets = 0
        self.rates: list[float] = []

    def check(self, frames: list[bytes]) -> None:
        for frame in frames:
            try:
                self.datasets += self.parse(frame)
                self.accepted += 1
            except Exception:  # a rejected telegram is a result, not an error
                pass

    def round(self, frames: list[bytes], repeat: int) -> None:
        parse, before_pass, elapsed = self.parse, self.before_pass, 0.0
        for _ in range(repeat):
            if before_pass is not None:
                before_pass()
            started = time.perf_counter()
            for frame in frames:
                with contextlib.suppress(Exception):
                    parse(frame)
            elapsed += time.perf_counter() - started
        self.rates.append(self.datasets * repeat / elapsed if elapsed else 0.0)

    @property
    def rate(self) -> float:
        return median(self.rates)


def contenders(ours: Any, *, everything: bool) -> list[Parser]:
    def parse_ours(frame: bytes) -> int:
        return len(ours.parse_transcript(frame).datasets)

    caches = {  # every lru_cache of our package, by identity
        id(value): value
        for name, module in list(sys.modules.items())
        if name.startswith("e450_wire")
        for value in vars(module).values()
        if callable(getattr(value, "cache_clear", None))
    }

    def forget() -> None:
        for cache in caches.values():
            cache.cache_clear()

    parsers = [Parser("e450 (this project)", parse_ours)]
    if everything:
        parsers.append(Parser("e450, cold (its caches cleared before every pass)", parse_ours, forget))
    try:
        from iec62056_21 import messages

        def parse_pwitab(frame: bytes) -> int:
            text = frame[frame.index(b"\x02") :].decode("latin-1")
            message = messages.ReadoutDataMessage.from_representation(text)
            return sum(len(line.data_sets) for line in message.data_block.data_lines)

        parsers.append(Parser("iec62056-21 0.0.2 (pwitab)", parse_pwitab))
    except ImportError:
        print("iec62056-21 not installed: skipped", file=sys.stderr)
    if everything:
        try:
            import iec62056.parser

            jonkerj = iec62056.parser.Parser()

            def parse_jonkerj(frame: bytes) -> int:
                telegram = jonkerj.parse(frame.decode("latin-1"))
                return len(getattr(telegram, "objects", None) or getattr(telegram, "registers", None) or [])

            parsers.append(Parser("iec62056 0.5.1 (jonkerj)", parse_jonkerj))
        except ImportError:
            print("iec62056 not installed: skipped", file=sys.stderr)
    return parsers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true", help='print one JSON object: {"ours": …, "pwitab": …}')
    args = parser.parse_args()
    ours = load_ours()
    frames = corpus(ours)
    parsers = contenders(ours, everything=not args.json)
    for contender in parsers:
        contender.check(frames)
    measured = [contender for contender in parsers if contender.accepted]  # one that accepts nothing: no rate
    for _ in range(ROUNDS):
        for contender in measured:
            contender.round(frames, REPEAT)
    if args.json:
        rates = {contender.name: contender.rate for contender in measured}
        ours_rate, pwitab_rate = rates["e450 (this project)"], rates["iec62056-21 0.0.2 (pwitab)"]
        print(json.dumps({"ours": round(ours_rate), "pwitab": round(pwitab_rate)}))
        return
    kinds = "real captures with a verified BCC + simulator profiles"
    print(f"\nParse throughput on {len(frames)} framed telegrams ({kinds}), median of {ROUNDS} interleaved rounds:")
    print("\n| parser | telegrams accepted | data sets found | data sets/s |\n|---|---|---|---|")
    for contender in parsers:
        rate = f"{contender.rate:,.0f}" if contender.rates else "–"
        print(f"| {contender.name} | {contender.accepted}/{len(frames)} | {contender.datasets} | {rate} |")


if __name__ == "__main__":
    main()
