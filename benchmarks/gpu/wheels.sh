#!/usr/bin/env bash
# make gpu-wheels: download exactly the wheels of benchmarks/gpu/wheels.txt, without dependencies, for CPython 3.12
# manylinux x86_64, into .whl/ (git-ignored), and print their size beside the source tree's against the 64 MiB a GPU
# check may carry. Needs the package registries; $PYTHON is any Python with pip (the wheels' target is fixed).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
LIMIT=$((64 * 1024 * 1024))
rm -rf .whl
mkdir -p .whl
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --implementation cp --python-version 3.12 \
  --platform manylinux_2_28_x86_64 --dest .whl -r benchmarks/gpu/wheels.txt
wheels=$(du -cb .whl/*.whl | tail -1 | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | awk '$2 == "total" {s += $1} END {print s}')
ls -1 .whl
awk -v w="$wheels" -v t="$tree" -v l="$LIMIT" 'BEGIN {
  printf "gpu-wheels: %d wheels, %.1f MiB; source tree %.1f MiB; together %.1f MiB of the %.0f MiB limit\n", ARGV[1], w / 2^20, t / 2^20, (w + t) / 2^20, l / 2^20 }' \
  "$(ls .whl/*.whl | wc -l)"
if [ $((wheels + tree)) -gt $LIMIT ]; then echo "gpu-wheels: over the limit" >&2; exit 1; fi
