#!/bin/bash
# tests/bridge/test_frobenius.sh [PYTHON] - the Frobenius-norm template on
# real graphs: for a scaled-down copy of KernelBench level 1's 37 and the
# odd-shaped problems of tests/data (odd_frobenius*.py: a scalar tail, a
# full grid), recognition names frobenius_norm and writes NORM_FRO_PLAIN;
# `kbreed template frobenius --for` realises them and nvcc compiles them at
# the defaults and at the knob extremes (sm_90a; not in the sanitizer run).
# Graphs that are not exactly x / ||x||_F (an eps added, the norm over some
# dims) get no NORM_FRO_PLAIN, are refused by `template --for`, and a dry
# run's round 0 holds frobenius only for the plain one.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies 37_FrobeniusNorm_
cp tests/data/odd_frobenius*.py "$tmp/p/"
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	want_op "$name" frobenius_norm "NORM_FRO_PLAIN 1"
	realise frobenius "$f" default
	case $name in
	odd_frobenius)
		realise frobenius "$f" low THREADS=256 BLOCKS_PER_SM=1 UNROLL=1 STREAM=0
		realise frobenius "$f" high THREADS=1024 BLOCKS_PER_SM=4 UNROLL=4 STREAM=1 ;;
	esac
done
compile_realisations

# Not x / ||x||_F: each from odd_frobenius.py with another forward.
variant() { # name, forward body
	sed -e "s|norm = torch.norm(x, p='fro')|norm = $2|" tests/data/odd_frobenius.py >"$tmp/$1.py"
}
variant eps "torch.norm(x, p='fro') + 1e-6"
variant some_dims "torch.norm(x, p='fro', dim=[1, 2], keepdim=True)"
variant p1 "torch.norm(x, p=1)"
for name in eps some_dims p1; do
	describe "$tmp/$name.py"
	grep -q NORM_FRO_PLAIN "$tmp/$name.desc" && not_ok "$name: no NORM_FRO_PLAIN" "$(cat "$tmp/$name.desc")" ||
		ok "$name: no NORM_FRO_PLAIN ($(sed -n 's/^family *\(.*\)/\1/p' "$tmp/$name.desc"))"
	refused frobenius "$tmp/$name.py"
done

export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
round0_holds frobenius "$tmp/p/odd_frobenius.py" 1
round0_holds frobenius "$tmp/eps.py" 0
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
