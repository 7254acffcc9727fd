#!/bin/sh
# scripts/device.sh - one call on the GPU machine: `make test-gpu` and the
# benchmarks, with everything written under $OUT.
#
# The GPU machine has no -dev headers, so kbreed is built on a development
# machine (`make`) and build/ travels with the call; the worker and the
# candidates are compiled with that machine's nvcc. Usage there:
#   OUT=/some/dir sh scripts/device.sh [test|bench|all]
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build/device-out}
mkdir -p "$OUT"
what=${1:-all}
export KBREED_CACHE=${KBREED_CACHE:-/tmp/kbreed-cache}
export PYTHONUNBUFFERED=1
{
	echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
	nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader
	python3 -c 'import torch; print("torch", torch.__version__)'
	build/kbreed version
} 2>&1 | tee "$OUT/machine.txt"
rc=0
if [ "$what" = test ] || [ "$what" = all ]; then
	KBREED_RESULTS=build/gpu-results sh tests/gpu/run.sh 2>&1 | tee "$OUT/test-gpu.txt"
	tail -1 "$OUT/test-gpu.txt" | grep -q ' 0 failed' || rc=1
fi
if [ "$what" = all ]; then
	sh bench/table.sh build/gpu-results/naive-*.json | tee "$OUT/bench-naive.md"
fi
# $OUT returns at most 8 files: the detailed results travel as one archive.
tar czf "$OUT/results.tgz" -C build gpu-results 2>/dev/null
exit $rc
