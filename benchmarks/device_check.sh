#!/usr/bin/env bash
# One-shot accelerator check of issue 19: full-size Turbo / v1 with random weights, one JSON line per figure
# (see benchmarks/device_check.py). Needs the package's own dependencies (torch, transformers, einops,
# safetensors), no network and no weights. Budget: under 8 minutes on one H100 / H200.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
exec timeout 480 python benchmarks/device_check.py --device "${DEVICE:-cuda}" "$@"
