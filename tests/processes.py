"""The simulator as a process of its own on a pty, for tests of the command lines (which run their own event
loop)."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@contextlib.contextmanager
def simulator_pty(profile: str) -> Iterator[str]:
    """``python -m simulator --profile PROFILE --pty``: its pty's path, the process ended after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--profile", profile, "--pty"],
        stdout=subprocess.PIPE,
        env=ENV,
        cwd=ROOT,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
