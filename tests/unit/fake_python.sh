#!/bin/sh
# fake_python.sh - stands in for KBREED_PYTHON in tests of the search loop on
# machines without a GPU: the bridge runs for real under $FAKE_PYTHON_REAL
# (default /usr/bin/python3) on the CPU, except that PyTorch's timings and the
# machine's ceilings, which need CUDA, are canned.
#   $1 = bridge script, $2 = command, rest = its arguments
real=${KBREED_FAKE_PYTHON_REAL:-/usr/bin/python3}
case "$2" in
time)
	echo '{"eager": {"median_ms": 2.0, "min_ms": 1.9, "max_ms": 2.2, "reps": 30}, "compile": null, "gpu": "Fake GPU", "torch": "fake"}'
	;;
ceilings)
	echo '{"gpu": "Fake GPU", "bandwidth_gbs": 3000.0, "fp32_tflops": 50.0, "tf32_tflops": 300.0, "fp16_tflops": 700.0, "bf16_tflops": 700.0, "sm_count": 132, "l2_bytes": 52428800, "cc": "9.0"}'
	;;
reference)
	# The same data, made on the CPU.
	script=$1
	shift
	args=""
	for a in "$@"; do
		[ "$a" = cuda ] && a=cpu
		args="$args $a"
	done
	# shellcheck disable=SC2086
	exec "$real" "$script" $args
	;;
*)
	exec "$real" "$@"
	;;
esac
