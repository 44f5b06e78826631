#!/usr/bin/env bash
# The reliability suite at full length: the fault matrix (printed), 1,000-cycle leak check, 10,000-cycle soak.
# Takes about 40 minutes; the default `scripts/test` runs the short versions.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup
PYTHONPATH=$PWD exec .venv/bin/python -m pytest -p no:cacheprovider tests/integration/test_reliability.py --run-slow -s -q "$@"
