"""DLMS push decoder benchmark (not a timed test): decoded pushes per second and the cost of one push.

    PYTHONPATH=. .venv/bin/python bench/dlms.py

The listener decodes every push on the event loop as it arrives (an E450 pushes every 1-5 s), so the time of one
push is the event-loop time it costs: it must stay far below a millisecond.
"""

from __future__ import annotations

import sys
import time

from custom_components.e450.dlms import PushDecoder

sys.path.insert(0, ".")
from tests.dlms_vectors import vector

CASES = (
    ("Swiss CII push list, 4 blocks, clear", "e450_ch_cii_unencrypted_vse2026"),
    ("Netz Burgenland, AES-GCM + tag", "e450_at_netzburgenland_encrypted_ek_ak"),
    ("Graz OBIS pairs, 3 blocks, AES-GCM", "e450_at_rj12_encrypted_obis_tagged"),
    ("E570 push list, 5 blocks, AES-CTR (SC 0x20)", "e570_ch_cii_encrypted_sc20"),
)


def main() -> None:
    print("| push | bytes | pushes/s | µs per push |")
    print("|---|---|---|---|")
    for label, name in CASES:
        source = vector(name)
        data = source.data
        rounds = 2000
        start = time.perf_counter()
        for _ in range(rounds):
            decoder = PushDecoder(source.key("EK"), source.key("AK"))  # fresh: the counter check would drop repeats
            (push,) = [p for p in decoder.feed(data) if p.error is None or p.error.reason != "interrupted"]
            assert push.readout is not None, push.error
        elapsed = time.perf_counter() - start
        print(f"| {label} | {len(data)} | {rounds / elapsed:,.0f} | {elapsed / rounds * 1e6:.0f} |")


if __name__ == "__main__":
    main()
