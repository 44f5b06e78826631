"""Parse throughput of our parser against the PyPI libraries ``iec62056-21`` (pwitab) and ``iec62056`` (jonkerj).

Run by ``scripts/bench``, in a separate environment (bench/.venv) so that neither library becomes a dependency.
Corpus: the real telegrams with a complete, verified frame, plus the simulator's profiles. Each parser gets the
same bytes in the form its API takes; a telegram it rejects counts as a failure, not as data sets.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path
import sys
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_ours() -> Any:
    """Our protocol package under its own name: the jonkerj library is also called ``iec62056``."""
    package = ROOT / "custom_components" / "e450" / "iec62056"
    spec = importlib.util.spec_from_file_location(
        "e450_iec62056", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["e450_iec62056"] = module
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


def measure(name: str, parse: Any, frames: list[bytes], repeat: int = 50) -> tuple[str, int, int, float]:
    ok, sets = 0, 0
    for frame in frames:
        try:
            sets += parse(frame)
            ok += 1
        except Exception:
            pass
    started = time.perf_counter()
    for _ in range(repeat):
        for frame in frames:
            with contextlib.suppress(Exception):
                parse(frame)
    elapsed = time.perf_counter() - started
    return name, ok, sets, sets * repeat / elapsed if elapsed else 0.0


def main() -> None:
    ours = load_ours()
    frames = corpus(ours)

    def parse_ours(frame: bytes) -> int:
        return len(ours.parse_transcript(frame).datasets)

    rows = [measure("e450 (this project)", parse_ours, frames)]
    try:
        from iec62056_21 import messages

        def parse_pwitab(frame: bytes) -> int:
            text = frame[frame.index(b"\x02") :].decode("latin-1")
            message = messages.ReadoutDataMessage.from_representation(text)
            return sum(len(line.data_sets) for line in message.data_block.data_lines)

        rows.append(measure("iec62056-21 (pwitab)", parse_pwitab, frames))
    except ImportError:
        print("iec62056-21 not installed: skipped")
    try:
        import iec62056.parser

        parser = iec62056.parser.Parser()

        def parse_jonkerj(frame: bytes) -> int:
            telegram = parser.parse(frame.decode("latin-1"))
            return len(getattr(telegram, "objects", None) or getattr(telegram, "registers", None) or [])

        rows.append(measure("iec62056 (jonkerj)", parse_jonkerj, frames, repeat=5))
    except ImportError:
        print("iec62056 not installed: skipped")
    kinds = "real captures with a verified BCC + simulator profiles"
    print(f"\nParse throughput on {len(frames)} framed telegrams ({kinds}):")
    print("\n| parser | telegrams accepted | data sets found | data sets/s |\n|---|---|---|---|")
    for name, ok, sets, rate in rows:
        print(f"| {name} | {ok}/{len(frames)} | {sets} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
