#!/bin/sh
# fake_python.sh - stands in for KBREED_PYTHON in tests of the search loop on
# machines without a GPU: the bridge runs for real under $FAKE_PYTHON_REAL
# (default /usr/bin/python3) on the CPU, except that PyTorch's timings and the
# machine's ceilings, which need CUDA, are canned.
# With $KBREED_FAKE_EVENT_LOG naming a file, the reference step appends
# "reference start" and "reference end" to it, and the time step "time
# eager" or "time compile", and the describe step "describe FILE"; with
# $KBREED_FAKE_REFERENCE_AWAITS_NVCC set too, it first waits (60 s at most)
# for a line "nvcc ..." there (tests/cli/fake_nvcc.sh writes one as it
# starts), so that it ends only after a compile began, and notes "reference:
# no compile started" when none did: a test of overlap that reads the order
# of the lines, not the clock. The time step's switches are beside it.
#   $1 = bridge script, [--verbose,] $2 = command, rest = its arguments
real=${KBREED_FAKE_PYTHON_REAL:-/usr/bin/python3}
verbose=""   # kbreed -v puts --verbose before the command: passed on to the bridge
if [ "${2:-}" = --verbose ]; then
	s=$1
	shift 2
	set -- "$s" "$@"
	verbose=--verbose
fi
case "$2" in
time)
	# torch.compile (--compile) at 1.5 ms; "time eager" or "time compile" in
	# the event log.
	compile=null
	case " $* " in
	*" --compile "*) compile='{"median_ms": 1.5, "min_ms": 1.4, "max_ms": 1.6, "reps": 30}' ;;
	esac
	# eager with TF32 off (--eager-fp32) at 6 ms.
	fp32=null
	case " $* " in
	*" --eager-fp32 "*) fp32='{"median_ms": 6.0, "min_ms": 5.9, "max_ms": 6.1, "reps": 30}' ;;
	esac
	[ -n "${KBREED_FAKE_EVENT_LOG:-}" ] &&
		echo "time $([ "$compile" = null ] && echo eager || echo compile)" >>"$KBREED_FAKE_EVENT_LOG"
	# With $KBREED_FAKE_WORKER_STARTS (the fake worker's "start PID" lines)
	# too: "workers N", the workers still alive while PyTorch is timed.
	if [ -n "${KBREED_FAKE_EVENT_LOG:-}" ] && [ -n "${KBREED_FAKE_WORKER_STARTS:-}" ]; then
		live=0
		for pid in $(awk '{print $2}' "$KBREED_FAKE_WORKER_STARTS" 2>/dev/null); do
			kill -0 "$pid" 2>/dev/null && live=$((live + 1))
		done
		echo "workers $live" >>"$KBREED_FAKE_EVENT_LOG"
	fi
	# $KBREED_FAKE_TIME_OOM_AT=N: the N-th time step (counted by the event
	# log's "time" lines) fails as the bridge does when CUDA runs out of memory.
	if [ -n "${KBREED_FAKE_TIME_OOM_AT:-}" ] && [ -n "${KBREED_FAKE_EVENT_LOG:-}" ] &&
		[ "$(grep -c '^time' "$KBREED_FAKE_EVENT_LOG")" -eq "$KBREED_FAKE_TIME_OOM_AT" ]; then
		echo '{"error": "out of memory: OutOfMemoryError: CUDA out of memory (fake)"}'
		exit 1
	fi
	echo '{"eager": {"median_ms": 2.0, "min_ms": 1.9, "max_ms": 2.2, "reps": 30}, "eager_fp32": '"$fp32"', "compile": '"$compile"', "gpu": "Fake GPU", "torch": "fake"}'
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
	log=${KBREED_FAKE_EVENT_LOG:-}
	if [ -z "$log" ]; then
		# shellcheck disable=SC2086
		exec "$real" "$script" $verbose $args
	fi
	echo "reference start" >>"$log"
	if [ -n "${KBREED_FAKE_REFERENCE_AWAITS_NVCC:-}" ]; then
		i=0
		while ! grep -q '^nvcc' "$log" && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		grep -q '^nvcc' "$log" || echo "reference: no compile started" >>"$log"
	fi
	# shellcheck disable=SC2086
	"$real" "$script" $verbose $args
	rc=$?
	echo "reference end" >>"$log"
	exit $rc
	;;
describe)
	# "describe FILE" in the event log as it starts.
	[ -n "${KBREED_FAKE_EVENT_LOG:-}" ] && echo "describe $(basename "$3")" >>"$KBREED_FAKE_EVENT_LOG"
	s=$1
	shift
	exec "$real" "$s" $verbose "$@"
	;;
*)
	s=$1
	shift
	exec "$real" "$s" $verbose "$@"
	;;
esac
