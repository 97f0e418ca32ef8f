#!/usr/bin/env bash
# README command 1: set up, then run the default pipeline (dvc repro).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
dvc repro "$@"
