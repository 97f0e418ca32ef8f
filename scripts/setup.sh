#!/usr/bin/env bash
# Idempotent set-up: Debian's Fashion-MNIST, a venv (.venv) with the locked stack, the nag package.
# Fast when already done: the lock is reinstalled only when requirements.lock or pyproject.toml change.
set -euo pipefail
cd "$(dirname "$0")/.."

FM_DIR=/usr/share/datasets/fashion-mnist
if [ ! -f "$FM_DIR/train-images-idx3-ubyte.gz" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's dataset-fashion-mnist"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "setup: $FM_DIR missing and apt-get is not usable as root here;" \
         "install dataset-fashion-mnist or set data.source in params.yaml" >&2
  fi
fi

VENV=.venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
stamp="$VENV/.nag-installed"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the locked stack into $VENV"
  "$VENV/bin/python" -m pip install -q uv==0.13.9
  extra=()
  [ -n "${PIP_FIND_LINKS:-}" ] && extra+=(--find-links "$PIP_FIND_LINKS")
  [ -n "${NAG_TORCH_INDEX:-}" ] && extra+=(--extra-index-url "$NAG_TORCH_INDEX" --index-strategy unsafe-best-match)
  "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --compile-bytecode "${extra[@]}" -r requirements.lock
  "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --no-deps -e .
  echo "$want" > "$stamp"
fi
