#!/usr/bin/env bash
# The GPU check on a node that has its own python3 and torch and no network: the wheels carried in .whl/
# (make gpu-wheels) are installed offline into a folder of their own, the source tree goes on PYTHONPATH, and
# benchmarks.gpu_steps runs each step with its own time cap. Never `make install`, never the network.
#   bash benchmarks/gpu/run.sh [--out DIR] [--device cuda|cpu] [--tiny] [--only a,b] [--skip a,b] [--budget S] [--list]
# DIR: --out, else $GPU_CHECK_OUT, else runs/gpu_check. $PYTHON replaces python3; $GPU_CHECK_SITE the install folder;
# $GPU_CHECK_WHEELS the wheels' folder (.whl), empty for none.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-python3}
OUT=${GPU_CHECK_OUT:-runs/gpu_check}
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --out=*) OUT=${1#--out=}; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
: > "$OUT/install.txt"
SITE=${GPU_CHECK_SITE:-${TMPDIR:-/tmp}/sfd-gpu-site}
rm -rf "$SITE"
mkdir -p "$SITE"
start=$(date +%s)
shopt -s nullglob
WHEEL_DIR=${GPU_CHECK_WHEELS-$ROOT/.whl}  # set empty: install nothing (an environment that has every package)
WHEELS=()
[ -z "$WHEEL_DIR" ] || WHEELS=("$WHEEL_DIR"/*.whl)
if [ ${#WHEELS[@]} -gt 0 ]; then  # what the node has at the carried version or newer, it keeps
  mapfile -t WHEELS < <("$PYTHON" "$ROOT/benchmarks/gpu/pick_wheels.py" "${WHEELS[@]}" 2> >(tee -a "$OUT/install.txt" >&2))
  [ -n "${WHEELS[0]:-}" ] || WHEELS=()
fi
if [ -z "$WHEEL_DIR" ]; then
  :
elif [ ! -d "$WHEEL_DIR" ]; then
  echo "[gpu-check] no wheels in $WHEEL_DIR: run make gpu-wheels where the registries are, and ship .whl/ with the tree" >&2
elif [ ${#WHEELS[@]} -eq 0 ]; then
  :
elif "$PYTHON" -m pip --version >/dev/null 2>&1; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check --target "$SITE" "${WHEELS[@]}"
else  # no pip on the node: a wheel is a zip of what goes into site-packages
  for wheel in "${WHEELS[@]}"; do "$PYTHON" -m zipfile -e "$wheel" "$SITE"; done
fi
echo "[gpu-check] $("$PYTHON" --version 2>&1): ${#WHEELS[@]} carried wheels into $SITE in $(( $(date +%s) - start )) s" | tee -a "$OUT/install.txt"
export PYTHONPATH="$ROOT:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 WANDB_MODE=disabled PYTHONUNBUFFERED=1
export SFD_CACHE_DIR=${SFD_CACHE_DIR:-$SITE/../sfd-gpu-cache}
cd "$ROOT"
exec "$PYTHON" -m benchmarks.gpu_steps --out "$OUT" ${ARGS[@]+"${ARGS[@]}"}
