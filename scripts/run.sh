#!/usr/bin/env bash
# README command 1: set up, run the default pipeline (dvc repro), then log it to MLflow and register
# its models (python -m flows.register: @challenger, promoted to @champion when the gate passes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
dvc repro "$@"
python -m flows.register
