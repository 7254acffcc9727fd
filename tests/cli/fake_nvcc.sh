#!/bin/sh
# fake_nvcc.sh - stands in for nvcc (KBREED_NVCC) in tests that need many
# candidates fast. tests/cli/fake_nvcc.c does the work (what it answers,
# the broken machines a source may ask for, compile groups): `make test`
# builds it into build/tests/fake_nvcc, which this runs in its place, so
# that a compile costs one process.
case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
bin=$here/../../build/tests/fake_nvcc
[ -x "$bin" ] || { echo "fake_nvcc: $bin is missing: run make test (or make build/tests/fake_nvcc)" >&2; exit 2; }
exec "$bin" "$@"
