#!/usr/bin/env bash
# The reliability suite at full length: the fault matrix, the 1,000-cycle leak check and the 10,000-cycle soak (and
# the short versions, as `scripts/test` runs them). Each long run prints its figures: cycles, reads ok / failed /
# abandoned as the test and the coordinator counted them, energy values published with any 0, dip or spike, file
# descriptors and memory before and after.
#
# About 40 minutes on the 2-core development machine (36 min on 2026-12-02, shared with other test runs), nearly all
# of it the soak: about 0.2 s a cycle with tracemalloc on, 35 minutes; the leak check takes under a minute. A long
# run has up to 1 s a cycle on average (CYCLE_BUDGET in the test), five times what it needs, so that a loaded machine
# slows it down without failing it; past that it stops, reports how far it got (a read cut off counts as abandoned)
# and fails.
#
# The output also goes to $E450_RELIABILITY_LOG (default: a dated file in ${TMPDIR:-/tmp}).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup
LOG=${E450_RELIABILITY_LOG:-${TMPDIR:-/tmp}/e450-reliability-$(date +%Y%m%d-%H%M%S).log}
echo "bench/reliability.sh: output also in $LOG" >&2
PYTHONPATH=$PWD .venv/bin/python -m pytest -p no:cacheprovider tests/integration/test_reliability.py --run-slow -q \
    "$@" 2>&1 | tee "$LOG"
