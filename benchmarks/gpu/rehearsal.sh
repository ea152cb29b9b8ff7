#!/usr/bin/env bash
# make gpu-rehearsal: the GPU node mimicked here before any GPU time is spent. A virtual environment of CPython 3.12
# with the node's packages (benchmarks/gpu/node.txt, torch 2.11 among them, with what pip resolves for them) stands
# in for its image; then benchmarks/gpu/run.sh, exactly as the node runs it (the offline install from .whl/, the
# source tree on PYTHONPATH), with --device cpu --tiny. Downloads are cached in $REHEARSAL_DIR (runs/gpu_rehearsal);
# the environment is rebuilt when node.txt changes or with FRESH=1. Exit 0 when every step passed.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${REHEARSAL_DIR:-runs/gpu_rehearsal}
PY=
for candidate in "${REHEARSAL_PYTHON:-}" python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12; do
  if [ -n "$candidate" ] && "$candidate" -c 'import sys, venv; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
    PY=$candidate; break
  fi
done
if [ -z "$PY" ]; then
  echo "gpu-rehearsal: no CPython 3.12 here (REHEARSAL_PYTHON=...): the node's interpreter and the cp312 torchvision wheel cannot be rehearsed" >&2
  exit 2
fi
ls .whl/*.whl >/dev/null 2>&1 || { echo "gpu-rehearsal: .whl/ is empty: make gpu-wheels first" >&2; exit 2; }
start=$(date +%s)
VENV=$DIR/node
stamp=$(cat benchmarks/gpu/node.txt "$PY" 2>/dev/null | cksum | cut -d' ' -f1)
if [ -n "${FRESH:-}" ] || [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "gpu-rehearsal: building the node's environment with $("$PY" --version) (torch 2.11 with its CUDA libraries: a few GB, cached)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --cache-dir "$DIR/pip-cache" -r benchmarks/gpu/node.txt
  echo "$stamp" > "$VENV/.stamp"
fi
echo "gpu-rehearsal: node environment ready in $(( $(date +%s) - start )) s; what it lacks, as the node does:"
"$VENV/bin/python" -c "import importlib.util as u, torch
lacks = [m for m in ('diffusers', 'jsonargparse', 'torchvision', 'wandb', 'torch_fidelity', 'optuna', 'nudenet', 'dlib') if u.find_spec(m) is None]
print('  torch', torch.__version__, '- lacks', ', '.join(lacks))"
rm -rf "$DIR/out"
PYTHON="$VENV/bin/python" GPU_CHECK_SITE="$DIR/site" bash benchmarks/gpu/run.sh --out "$DIR/out" --device cpu --tiny --budget 4000 "$@"
"$VENV/bin/python" - "$DIR/out/gpu_check.json" <<'PY'
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
bad = [f"{s['name']}: {s['status']}" for s in steps if s["status"] != "ok"]
print(f"gpu-rehearsal: {len(steps) - len(bad)}/{len(steps)} steps ok" + "".join(f"\n  {b}" for b in bad))
sys.exit(1 if bad else 0)
PY
echo "gpu-rehearsal: passed in $(( $(date +%s) - start )) s; results in $DIR/out/gpu_check.md"
