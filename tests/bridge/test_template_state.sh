#!/bin/sh
# tests/bridge/test_template_state.sh - no template keeps a call's grid-wide
# state (partial sums, tickets, scratch) in a mutable __device__ or
# __managed__ global: a candidate exported into PyTorch may be called on two
# CUDA streams at once, and both calls would then share it. Each call takes
# its own, stream-ordered (templates/common/host.cuh says how). Constants
# (__constant__, const, constexpr) are fine; functions are not variables.
# The scan first proves itself on made-up declarations, then reads every
# .cu and .cuh under templates/. Needs no build, no nvcc, no Python.
# Prints "ok - ..." / "not ok - ..." and "N passed, M failed" last, like the
# other shell tests.
set -u
cd "$(dirname "$0")/../.." || exit 2
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -20 | sed 's/^/  /'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# mutable_globals FILE...: "FILE:LINE: declaration" for each declaration that
# opens with [static] __device__ or __managed__ and is a variable, not a
# function (no parenthesis before its first ';', '{' or '=', once any
# __align__(N) is dropped), nor a constant (const or constexpr before that).
# A declaration may run over several lines.
mutable_globals() {
	awk '
	!open && /^[ \t]*(static[ \t]+)?(__device__|__managed__)([ \t]|$)/ { open = 1; at = FNR; decl = "" }
	open {
		decl = decl " " $0
		if (decl !~ /[;{]/)
			next
		d = decl
		gsub(/__align__[ \t]*\([^)]*\)/, "", d)
		sub(/[;{=].*/, "", d)
		if (d !~ /\(/ && d !~ /(^|[^A-Za-z0-9_])(const|constexpr)([^A-Za-z0-9_]|$)/) {
			gsub(/[ \t]+/, " ", decl)
			print FILENAME ":" at ":" decl
		}
		open = 0
	}' "$@"
}

# The scan itself: it finds the kinds of state the templates used to keep,
# and passes what is not state.
cat >"$tmp/state.cu" <<'EOF'
__device__ unsigned g_ticket;            /* 1 */
static __device__ double g_partial[4096];  /* 2 */
__device__ __align__(16) float g_wsp[1 << 20];  /* 3 */
__device__ float2 g_stats[64] = {};      /* 4 */
static __device__
double2 g_part[256];                     /* 5: over two lines */
__managed__ int g_count;                 /* 6 */
__device__ __managed__ int g_flag = 0;   /* 7 */
EOF
cat >"$tmp/clean.cu" <<'EOF'
__constant__ float c_taps[16];
static const int k_rows = 4;
__device__ const float k_half = 0.5f;
static __device__ constexpr int k_lanes = 32;
static __device__ __forceinline__ float twice(float v) { return 2.0f * v; }
__device__ __forceinline__ float2 add2(float2 a,
				       float2 b)
{
	return make_float2(a.x + b.x, a.y + b.y);
}
static __device__ __forceinline__ float4
load4(const float4 *p)
{
	return *p;
}
__global__ void k(float *y) { __shared__ float sh[32]; y[0] = sh[0]; }
template <int NW> __device__ void block_ms(float &m, float &s, float2 *sh);
/* __device__ unsigned g_ticket; in a comment, indented: not a declaration */
EOF
found=$(mutable_globals "$tmp/state.cu")
n=$(printf '%s\n' "$found" | grep -c "g_")
[ "$n" -eq 7 ] && ok "the scan finds all 7 mutable globals of a made-up file (arrays, aligned, initialised, over two lines, managed)" ||
	not_ok "the scan finds all 7 mutable globals of a made-up file (found $n)" "$found"
found=$(mutable_globals "$tmp/clean.cu")
[ -z "$found" ] && ok "the scan passes constants, functions over several lines, shared memory and comments" ||
	not_ok "the scan passes constants, functions over several lines, shared memory and comments" "$found"

# The templates.
files=$(find templates -name '*.cu' -o -name '*.cuh' | sort)
count=$(printf '%s\n' "$files" | grep -c .)
if [ "$count" -lt 10 ]; then
	not_ok "templates found under templates/ (only $count)"
else
	# shellcheck disable=SC2086
	found=$(mutable_globals $files)
	[ -z "$found" ] && ok "none of the $count template files under templates/ keeps a mutable __device__ global" ||
		not_ok "template files keep mutable __device__ globals (a call's state shared by every call)" "$found"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
