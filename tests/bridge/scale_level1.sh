#!/bin/sh
# tests/bridge/scale_level1.sh SRC_DIR DST_DIR - writes scaled-down copies of
# the KernelBench problems in SRC_DIR into DST_DIR: the same code, with every
# integer literal above 32 on a module-level size assignment (`batch_size =
# 4096`, `N = 2048 * 2`, `input_shape = (32768,)`) replaced by 32 + n % 8 (which keeps divisibility by 2, 4 and 8, for groups), so
# that a CPU can build the tensors. Hyper-parameters (kernel sizes, strides,
# dims, groups) are at most 32 and stay as they are.
set -eu
src=$1
dst=$2
mkdir -p "$dst"
for f in "$src"/*.py; do
	awk '
	/^[A-Za-z_][A-Za-z_0-9]*[ \t]*=[ \t]*[-0-9(),*+ \t]+([ \t]*#.*)?$/ {
		code = $0; comment = ""
		c = index(code, "#")
		if (c > 0) { comment = substr(code, c); code = substr(code, 1, c - 1) }
		eq = index(code, "=")
		head = substr(code, 1, eq); rest = substr(code, eq + 1); out = ""
		while (match(rest, /[0-9]+/)) {
			n = substr(rest, RSTART, RLENGTH) + 0
			if (n > 32) n = 32 + n % 8
			out = out substr(rest, 1, RSTART - 1) n
			rest = substr(rest, RSTART + RLENGTH)
		}
		print head out rest comment
		next
	}
	{ print }
	' "$f" >"$dst/$(basename "$f")"
done
