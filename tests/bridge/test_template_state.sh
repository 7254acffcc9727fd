#!/bin/sh
# tests/bridge/test_template_state.sh [PYTHON] - no template keeps a
# call's grid-wide state (partial sums, tickets, scratch) in a mutable
# __device__ or __managed__ global: a candidate exported into PyTorch may be
# called on two CUDA streams at once, and both calls would then share it.
# Each call takes its own, stream-ordered (templates/common/host.cuh says
# how). Constants
# (__constant__, const, constexpr) are fine; functions are not variables.
# The scan first proves itself on made-up declarations, then reads every
# .cu and .cuh under templates/. Needs no build, no nvcc, no Python.
# Where the build and nvcc are here (and not in the sanitizer run), the
# compiler's view follows, which no spelling of a declaration escapes (a
# macro, an included header, a template's instantiation): each template's
# realisation compiled to PTX (sm_90a) declares no .global variable but the
# initialised ones its source declares const or constexpr (__constant__ is
# .const; a mutable variable, zeroed or initialised, is .global). A template
# that needs a problem's defines is realised --for the problem of tests/data
# named below, which runs the bridge (PYTHON, else $KBREED_PYTHON).
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

# ptx_state FILE.cu FILE.ptx: "FILE.cu: declaration" for each .global
# variable of FILE.ptx (nvcc -ptx of FILE.cu) that is not an initialised
# constant of FILE.cu: uninitialised (zeroed), or its name (demangled from
# _Z...E where in a namespace) never declared const or constexpr in FILE.cu.
ptx_state() {
	grep -E '^[[:blank:]]*(\.(visible|extern|weak)[[:blank:]]+)?\.global[[:blank:]]' "$2" | while read -r line; do
		name=$(printf '%s\n' "$line" | sed -e 's/[=;[].*//' -e 's/[[:blank:]]*$//' -e 's/.*[[:blank:]]//')
		case $line in
		*=*)
			id=$(printf '%s\n' "$name" | sed -n 's/^_Z.*[0-9]\([A-Za-z_][A-Za-z0-9_]*\)E$/\1/p')
			id=${id:-$name}
			grep -Eq "(^|[^A-Za-z0-9_])(const|constexpr)([^A-Za-z0-9_;=(]|[^;=(]*[^A-Za-z0-9_])$id([^A-Za-z0-9_]|\$)" "$1" &&
				continue ;;
		esac
		printf '%s: %s\n' "$1" "$line"
	done
}

# The problem a template that needs its defines is realised for.
problem_for() {
	case $1 in
	conv_igemm) echo tests/data/odd_conv2d.py ;;
	esac
}

export KBREED_PYTHON="${1:-${KBREED_PYTHON:-/usr/bin/python3}}"
case ${KBREED_BUILD:-build} in
/*) B=$KBREED_BUILD ;;
*) B=$(pwd)/${KBREED_BUILD:-build} ;;
esac
nvcc=${CUDA_HOME:+$CUDA_HOME/bin/}nvcc
[ -x /usr/local/cuda/bin/nvcc ] && [ -z "${CUDA_HOME:-}" ] && nvcc=/usr/local/cuda/bin/nvcc
if [ -n "${SANITIZER_LOGS:-}" ]; then
	echo "# the compiled templates are not scanned in the sanitizer run"
elif ! command -v "$nvcc" >/dev/null 2>&1 || [ ! -x "$B/kbreed" ]; then
	echo "# no nvcc ($nvcc) or no build ($B/kbreed): the compiled templates are not scanned"
else
	# The PTX scan itself, on the made-up files with a kernel that uses
	# every variable (an unused one may be dropped, and holds no state).
	cat "$tmp/state.cu" - >"$tmp/state-k.cu" <<'EOF_K'
__global__ void k(float *y, int i)
{
	g_ticket++; g_partial[i] = 1; g_wsp[i] = 2; g_stats[i].x = 3; g_part[i].y = 4;
	g_count++; g_flag = 1;
	y[i] = (float)g_init;
}
EOF_K
	sed -i 's|^__device__ float2 g_stats\[64\] = {};.*|&\n__device__ int g_init = 3;               /* 8: initialised, mutable */|' "$tmp/state-k.cu"
	cat "$tmp/clean.cu" - >"$tmp/clean-k.cu" <<'EOF_K'
namespace kb { __device__ constexpr float k_tab[3] = {1.0f, 2.0f, 3.0f}; }
__global__ void k2(float *y, int i)
{
	y[i] = c_taps[i] * k_half * k_lanes + twice(y[i]) + add2(make_float2(1, 2), make_float2(3, 4)).x +
	       load4((const float4 *)y).x + kb::k_tab[i % 3];
}
EOF_K
	found=""
	for f in state-k clean-k; do
		"$nvcc" -ptx -std=c++17 -arch=sm_90a -o "$tmp/$f.ptx" "$tmp/$f.cu" >"$tmp/$f.log" 2>&1 ||
			found="$found$f: nvcc failed $(head -5 "$tmp/$f.log")
"
	done
	n=$(ptx_state "$tmp/state-k.cu" "$tmp/state-k.ptx" | grep -c "g_")
	[ -z "$found" ] && [ "$n" -eq 8 ] && ok "the PTX scan finds all 8 mutable globals of a made-up file (zeroed, initialised, managed)" ||
		not_ok "the PTX scan finds all 8 mutable globals of a made-up file (found $n)" "$found$(ptx_state "$tmp/state-k.cu" "$tmp/state-k.ptx")"
	bad=$(ptx_state "$tmp/clean-k.cu" "$tmp/clean-k.ptx")
	[ -z "$found" ] && [ -s "$tmp/clean-k.ptx" ] && [ -z "$bad" ] &&
		ok "the PTX scan passes __constant__, const and constexpr (in a namespace too)" ||
		not_ok "the PTX scan passes __constant__, const and constexpr (in a namespace too)" "$found$bad"

	# Each template, at its defaults: realised, then compiled to PTX a few
	# at a time (nvcc waits on one process at a time).
	names=$("$B/kbreed" template 2>/dev/null | sed -n 's/^\([a-z_0-9]*\) (family .*/\1/p')
	scanned=0
	why=""
	mkdir -p "$tmp/t"
	for t in $names; do
		p=$(problem_for "$t")
		"$B/kbreed" -q template ${p:+--for "$p"} "$t" >"$tmp/t/$t.cu" 2>"$tmp/t/$t.err" ||
			{ why="$why$t: not realised ${p:+for $p}: $(head -3 "$tmp/t/$t.err")
"; rm -f "$tmp/t/$t.cu"; }
	done
	jobs=$(nproc 2>/dev/null || echo 2)
	[ "$jobs" -gt 4 ] && jobs=4
	ls "$tmp"/t/*.cu 2>/dev/null | xargs -r -P "$jobs" -I{} sh -c \
		'"$1" -ptx -O3 -std=c++17 -arch=sm_90a -Iinclude -o "${2%.cu}.ptx" "$2" >"${2%.cu}.log" 2>&1 || rm -f "${2%.cu}.ptx"' \
		sh "$nvcc" {}
	for t in $names; do
		[ -f "$tmp/t/$t.cu" ] || continue
		if [ ! -f "$tmp/t/$t.ptx" ]; then
			why="$why$t: nvcc -ptx failed: $(grep -m3 error "$tmp/t/$t.log")
"
			continue
		fi
		scanned=$((scanned + 1))
		why="$why$(ptx_state "$tmp/t/$t.cu" "$tmp/t/$t.ptx" | sed "s|^$tmp/t/||")"
	done
	total=$(printf '%s\n' "$names" | grep -c .)
	[ "$total" -ge 10 ] && [ "$scanned" -eq "$total" ] && [ -z "$why" ] &&
		ok "none of the $total templates' realisations, compiled to PTX, declares a mutable .global variable" ||
		not_ok "the templates' realisations, compiled to PTX, declare no mutable .global variable ($scanned of $total scanned)" "$why"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
