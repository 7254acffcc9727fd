#!/bin/sh
# tests/layers/check.sh - the house's rule, checked: every file of src/
# belongs to one layer, and a file includes headers of its own layer or of
# the layers below it, never above:
#
#   base   log, util, proc, sandbox, home: the logger, buffers and files,
#          child processes and their sandbox. Depends on nothing of kbreed's.
#   judge  dtype, problem, graph, recognize, views, bridge, refbudget, json_text, compile, compile_group, policy, linkcheck, compare,
#          evaluate, worker_client, verdict, report, judge: a problem and the
#          judging of candidates for it. Depends on base. Never on breed.
#   breed  template, realize, propose, generate, http, llm*, store, export, report_html,
#          population, proposer*, search, slurm, show: the population, the proposers,
#          the loop, and the stored runs exported and shown. Depends on judge and base.
#   main   main.c: the command line, over everything.
#
# Also: no two files include each other's headers (a file never calls back
# into the file that calls it). Prints "ok - ..." / "not ok - ..." and
# "N passed, M failed" last, like the other shell tests.
cd "$(dirname "$0")/../.." || exit 2
passed=0
failed=0

layer_of() {
	case $1 in
	log | util | proc | sandbox | home) echo 0 ;;
	dtype | problem | graph | recognize | views | pointwise | bridge | bridge_json | refbudget | json_text | compile | compile_group | policy | linkcheck | compare | \
		evaluate | worker_client | verdict | report | judge) echo 1 ;;
	template | realize | propose | generate | http | llm | llm_json | llm_propose | store | \
		population | proposer | proposer_playbook | proposer_llm | proposer_generated | search | slurm | \
		export | report_html | show) echo 2 ;;
	main) echo 3 ;;
	*) echo "" ;;
	esac
}
name_of() {
	case $1 in 0) echo base ;; 1) echo judge ;; 2) echo breed ;; 3) echo main ;; esac
}

problems=""
for f in src/*.c src/*.h; do
	stem=$(basename "$f"); stem=${stem%.*}
	mine=$(layer_of "$stem")
	if [ -z "$mine" ]; then
		problems="$problems\n$f belongs to no layer (name it in tests/layers/check.sh)"
		continue
	fi
	for h in $(sed -n 's/^#include "\([a-z_]*\)\.h".*/\1/p' "$f"); do
		[ "$h" = "$stem" ] && continue
		theirs=$(layer_of "$h")
		[ -z "$theirs" ] && continue
		if [ "$theirs" -gt "$mine" ]; then
			problems="$problems\n$f ($(name_of "$mine")) includes $h.h ($(name_of "$theirs"))"
		fi
		if [ -f "src/$h.c" ] && [ "$f" = "src/$stem.c" ] && grep -q "^#include \"$stem\.h\"" "src/$h.c"; then
			problems="$problems\n$f and src/$h.c include each other's headers"
		fi
	done
done
if [ -z "$problems" ]; then
	echo "ok - every file of src/ in its layer; no file includes a layer above its own; no two files include each other"
	passed=$((passed + 1))
else
	echo "not ok - the layers"
	printf "#   %b\n" "$problems"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
