#!/bin/sh
# fake_nvcc.sh - stands in for nvcc (KBREED_NVCC) in tests that need many
# candidates fast: answers --version, and "compiles" by copying an empty
# shared object (built once with cc, so that the judge's link-time check
# reads a real ELF file) to the -o path (logging the start of each compile to
# $KBREED_FAKE_EVENT_LOG when set). The fake worker judges candidates
# by name, so nothing is ever loaded.
# A source may ask for a broken machine, for as long as a file exists:
#   // fake_nvcc: killed while /path/to/flag exists   (nvcc dies by SIGKILL)
#   // fake_nvcc: disk full while /path/to/flag exists (exits 1, ENOSPC message)
#   // this does not compile                             (a compile error, see below)
# With $KBREED_FAKE_SLOW_TEXT set, a source that contains that text gets the
# line "kbreed-fake-slow" after its shared object's bytes: the fake worker
# (KBREED_FAKE_SEARCH) times it 1 ms slower, as a naive kernel is slow on a
# GPU, so that a test's winner does not hang on a hash of the sources.
# Groups (src/compile_group.h): "-c GROUP.cu" checks the group's text as one
# source and writes, as its "object", the members' paths (from the unit's
# #line directives); a link of that object with
# --defsym=kbreed_forward=kbreed_forward__member<i> makes member i's shared
# object as above.
if [ "$1" = --version ]; then
	echo "fake nvcc for kbreed tests, release 0.0"
	exit 0
fi
out=""
src=""
object=""
member=""
unit=false
while [ $# -gt 0 ]; do
	case "$1" in
	-o) out=$2; shift ;;
	-c) unit=true ;;
	*.cu) src=$1 ;;
	*.o) object=$1 ;;
	--defsym=kbreed_forward=kbreed_forward__member*) member=${1#--defsym=kbreed_forward=kbreed_forward__member} ;;
	esac
	shift
done
if [ -n "$object" ] && [ -n "$member" ]; then
	# A member's link: its source is line <member + 1> of the object.
	src=$(sed -n "$((member + 1))p" "$object")
fi
[ -n "$out" ] && [ -n "$src" ] || { echo "fake_nvcc: need -o OUT and a .cu" >&2; exit 2; }
members=""
$unit && members=$(sed -n 's|^#line 1 "\(.*\)"$|\1|p' "$src" | grep -vxF -- "$src")
# $KBREED_FAKE_EVENT_LOG: one line per compile, as it starts (see
# tests/unit/fake_python.sh); a group's line names its members.
if [ -n "${KBREED_FAKE_EVENT_LOG:-}" ] && [ -z "$object" ]; then
	if $unit; then
		echo "nvcc group $(for m in $members; do basename "$m"; done | tr '\n' ' ')" >>"$KBREED_FAKE_EVENT_LOG"
	else
		echo "nvcc $(basename "$src")" >>"$KBREED_FAKE_EVENT_LOG"
	fi
fi
flag_for() { sed -n "s|.*fake_nvcc: $1 while \(.*\) exists.*|\1|p" "$src" | head -n 1; }
# One grep for both markers: the tests that use this compile thousands of
# candidates, each a few processes.
marks=$(grep -o -e "fake_nvcc: " -e "this does not compile" "$src")
case $marks in
*"fake_nvcc: "*)
	flag=$(flag_for killed)
	[ -n "$flag" ] && [ -e "$flag" ] && kill -KILL $$
	flag=$(flag_for "disk full")
	[ -n "$flag" ] && [ -e "$flag" ] && { echo "fake_nvcc: write to TMPDIR: No space left on device" >&2; exit 1; }
	;;
esac
# A compile error as nvcc prints it, after a diagnostic about another file
# that quotes one of its lines (what "#include" of a file of the machine
# makes nvcc print): kbreed must never pass that line on to a model.
case $marks in *"this does not compile"*)
	printf '/etc/kbreed-fake-secret(1): error: identifier "FAKE_SECRET_WORD" is undefined\n  FAKE_SECRET_WORD:x:0:0\n  ^\n\n' >&2
	printf '%s(3): error: fake compile error\n  // this does not compile\n  ^\n\n2 errors detected in the compilation of "%s".\n' "$src" "$src" >&2
	exit 1 ;;
esac
if $unit; then
	printf '%s\n' "$members" >"$out"
	exit 0
fi
# The empty object, one per user (the name: $USER where set, else id -u).
empty=${TMPDIR:-/tmp}/kbreed-fake-nvcc-${USER:-$(id -u)}.so
if [ ! -s "$empty" ]; then
	echo 'int kbreed_fake_nvcc_marker;' | cc -shared -fPIC -x c - -o "$empty.$$" && mv -f "$empty.$$" "$empty" ||
		{ echo "fake_nvcc: cannot build an empty shared object" >&2; exit 2; }
fi
cp "$empty" "$out"
if [ -n "${KBREED_FAKE_SLOW_TEXT:-}" ] && grep -qF -- "$KBREED_FAKE_SLOW_TEXT" "$src"; then
	echo kbreed-fake-slow >>"$out"
fi
