#!/usr/bin/env bash
# test_llm_run.sh - `kbreed run --dry-run --llm ...` end to end against a
# scripted model endpoint of our own on loopback (<build>/tests/llm_server),
# through both wire formats, with faults injected: 429 with Retry-After, 500,
# a stalled connection, malformed JSON, a truncated body, a refusal, an empty
# reply that ran out of budget, and an authentication error; then a repair,
# the price table with --max-cost, and the key kept out of everything stored. Checks what the store holds afterwards and that the
# key never reaches it. No GPU: --dry-run compiles (with tests/cli/fake_nvcc.sh)
# and judges nothing.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
. "$(dirname "$0")/lib.sh"
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -z "${KEEP:-}" ] && rm -rf "$TMP"' EXIT

export KBREED_CACHE=$TMP/cache XDG_DATA_HOME=$TMP/data
export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_API_KEY=test-key-4f1d
unset OPENAI_API_KEY ANTHROPIC_API_KEY KBREED_DB

cat >"$TMP/ideas" <<'IDEAS'
Two ideas for the parent:
```json
[{"category": "memory access", "idea": "Load and store float4 vectors.", "parents": [1]},
 {"category": "control flow and loops", "idea": "Walk the tensor with a grid-stride loop.", "parents": [1]}]
```
IDEAS
for i in 1 2 3; do
	cat >"$TMP/code$i" <<CODE
Here is the kernel:
\`\`\`cuda
#include "kbreed_candidate.h"
KBREED_CANDIDATE_ABI
// realisation $i
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	return KB_OK;
}
\`\`\`
CODE
done

# start_server SCRIPT: runs the scripted endpoint; sets $server and $port.
# Each test kills its server; the idle limit only ends a leaked one. It is
# long: between two calls a run may make reference data and compile, which
# under the sanitizers on a loaded 2-core machine took over 30 s (the round-0
# test's server had gone when its kernels were asked for).
start_server() {
	: >"$TMP/requests"
	"$B/tests/llm_server" "$1" "$TMP/requests" 300 >"$TMP/port" 2>"$TMP/server.err" &
	server=$!
	for _ in $(seq 50); do
		port=$(sed -n 's/^port //p' "$TMP/port")
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	echo "the scripted server did not start: $(cat "$TMP/server.err")"
	return 1
}

for provider in openai anthropic; do
	printf '%s\n' "okfile $TMP/ideas" "429 1" "okfile $TMP/code1" 500 "okfile $TMP/code2" \
		malformed refusal empty_length stall truncated "okfile $TMP/code3" >"$TMP/script"
	start_server "$TMP/script" || exit 1
	db=$TMP/$provider.db
	# One request at a time: faults meet calls in a fixed order (parallel
	# requests are covered by the crossover and budget runs below).
	$K -q run tests/data/search_gelu.py --dry-run --rounds 1 --ideas 2 --impls 4 --llm-timeout 2 --llm-concurrency 1 \
		--llm "$provider:test-model" --llm-base-url "http://127.0.0.1:$port/v1" \
		--db "$db" --out "$TMP/out-$provider" >"$TMP/out" 2>"$TMP/err"
	check "$provider: the run finishes" $? 0
	kill $server 2>/dev/null
	wait $server 2>/dev/null
	server=""
	check "$provider: proposer recorded" "$(q "$db" "SELECT proposer FROM runs")" "llm $provider:test-model"
	check "$provider: one ideas call and eight realisations recorded" \
		"$(q "$db" "SELECT kind || ':' || count(*) FROM llm_calls GROUP BY kind ORDER BY kind" | tr '\n' ' ')" \
		"ideas:1 realize:8 "
	check "$provider: outcomes of the calls" \
		"$(q "$db" "SELECT status FROM llm_calls ORDER BY status" | tr '\n' ' ')" \
		"empty malformed malformed ok ok ok ok ok refused "
	check "$provider: the 429, the 500 and the stalled connection were retried" \
		"$(q "$db" "SELECT sum(attempts) FROM llm_calls WHERE kind='realize'")" 11
	check "$provider: two ideas stored, in English, with their categories" \
		"$(q "$db" "SELECT category FROM ideas ORDER BY id" | tr '\n' ',')" "memory access,control flow and loops,"
	check "$provider: three kernels from the model, compiled, not judged" \
		"$(q "$db" "SELECT count(*) FROM candidates c JOIN evaluations e ON e.candidate = c.id WHERE origin='llm' AND verdict='not_run'")" 3
	check "$provider: tokens counted" "$([ "$(q "$db" "SELECT sum(in_tokens) > 0 AND sum(out_tokens) > 0 FROM llm_calls WHERE status='ok'")" = 1 ] && echo yes)" yes
	grep -q "Bearer test-key-4f1d\|x-api-key: test-key-4f1d" "$TMP/requests" && ok "$provider: the key was sent to the endpoint" || not_ok "$provider: the key was sent"
	ideas_prompt=$(q "$db" "SELECT prompt FROM llm_calls WHERE kind='ideas'")
	if echo "$ideas_prompt" | grep -q "Seed 1: not timed yet" && ! echo "$ideas_prompt" | grep -q "0\.0000 ms"; then
		ok "$provider: a dry run quotes no time it did not measure"
	else
		not_ok "$provider: a dry run quotes no time it did not measure" "$(echo "$ideas_prompt" | grep "### Seed")"
	fi
	if grep -rq "test-key-4f1d" "$db"* "$TMP/out" "$TMP/err" "$TMP/out-$provider" 2>/dev/null; then
		not_ok "$provider: the key is nowhere in the database, logs or outputs"
	else
		ok "$provider: the key is nowhere in the database, logs or outputs"
	fi
done

# Realisations in parallel (--llm-concurrency 3): every request answered and recorded.
printf '%s\n' "okfile $TMP/ideas" "okfile $TMP/code1" >"$TMP/script"
start_server "$TMP/script" || exit 1
$K -q run tests/data/search_gelu.py --dry-run --rounds 1 --ideas 2 --impls 3 --llm-concurrency 3 \
	--llm openai:test-model --llm-base-url "http://127.0.0.1:$port/v1" --db "$TMP/parallel.db" >/dev/null 2>"$TMP/err"
check "parallel: the run finishes" $? 0
kill $server 2>/dev/null
wait $server 2>/dev/null
server=""
check "parallel: six realisations, all answered" "$(q "$TMP/parallel.db" "SELECT count(*) FROM llm_calls WHERE kind='realize' AND status='ok'")" 6

# A kernel that does not compile goes back to the model once, with its log.
cat >"$TMP/idea1" <<'IDEAS'
```json
[{"category": "compute and instruction", "idea": "Use erff with fused multiply-adds.", "parents": [1]}]
```
IDEAS
printf '```cuda\n#include "kbreed_candidate.h"\n// this does not compile\nKB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream) { return KB_OK; }\n```\n' >"$TMP/badcode"
printf '%s\n' "okfile $TMP/idea1" "okfile $TMP/badcode" "okfile $TMP/code1" >"$TMP/script"
start_server "$TMP/script" || exit 1
$K -q run tests/data/search_gelu.py --dry-run --rounds 1 --ideas 1 --impls 1 \
	--llm openai:test-model --llm-base-url "http://127.0.0.1:$port/v1" --db "$TMP/repair.db" >/dev/null 2>"$TMP/err"
check "repair: the run finishes" $? 0
kill $server 2>/dev/null
wait $server 2>/dev/null
server=""
check "repair: ideas, realisation, repair" "$(q "$TMP/repair.db" "SELECT group_concat(kind, ' ') FROM (SELECT kind FROM llm_calls ORDER BY id)")" "ideas realize repair"
check "repair: the failed kernel and its repair, each judged" \
	"$(q "$TMP/repair.db" "SELECT c.origin || ':' || e.verdict FROM candidates c JOIN evaluations e ON e.candidate = c.id WHERE c.round = 1 ORDER BY c.id" | tr '\n' ' ')" \
	"llm:compile_error llm-repair:not_run "
grep -q "fake compile error" <(q "$TMP/repair.db" "SELECT prompt FROM llm_calls WHERE kind='repair'") && ok "repair: the prompt carries the compile log" || not_ok "repair: the prompt carries the compile log"
# What the compiler printed of another file reaches neither the model nor the store.
grep -q "FAKE_SECRET_WORD" <(q "$TMP/repair.db" "SELECT prompt FROM llm_calls WHERE kind='repair'") && not_ok "repair: no line of another file in the prompt" || ok "repair: no line of another file in the prompt"
grep -q "FAKE_SECRET_WORD" <(q "$TMP/repair.db" "SELECT log FROM evaluations") && not_ok "repair: no line of another file in evaluations.log" || ok "repair: no line of another file in evaluations.log"
grep -q "kbreed-fake-secret" <(q "$TMP/repair.db" "SELECT prompt FROM llm_calls WHERE kind='repair'") && ok "repair: the prompt says which file's lines were left out" || not_ok "repair: the prompt says which file's lines were left out"

# An idea naming two parents is realised through the crossover prompt.
cat >"$TMP/idea2" <<'IDEAS'
```json
[{"category": "memory access", "idea": "Combine the naive kernel's simplicity with the vectorised loads.", "parents": [1, 2]}]
```
IDEAS
printf '%s\n' "okfile $TMP/idea1" "okfile $TMP/code1" "okfile $TMP/idea2" "okfile $TMP/code2" >"$TMP/script"
start_server "$TMP/script" || exit 1
$K -q run tests/data/search_gelu.py --dry-run --rounds 2 --ideas 1 --impls 1 \
	--llm openai:test-model --llm-base-url "http://127.0.0.1:$port/v1" --db "$TMP/cross.db" >/dev/null 2>"$TMP/err"
check "crossover: the run finishes" $? 0
kill $server 2>/dev/null
wait $server 2>/dev/null
server=""
check "crossover: round 2's kernel has both parents" "$(q "$TMP/cross.db" "SELECT parent1 || ',' || parent2 FROM candidates WHERE round = 2")" "1,2"
grep -q "Two correct CUDA kernels" <(q "$TMP/cross.db" "SELECT prompt FROM llm_calls WHERE round = 2 AND kind = 'realize'") &&
	ok "crossover: asked with the recombine prompt" || not_ok "crossover: asked with the recombine prompt"

# The cmd provider: any command that reads the prompt and prints a reply.
cat >"$TMP/replier.sh" <<REPLIER
#!/bin/sh
prompt=\$(cat)
if echo "\$prompt" | grep -q "propose ideas in English"; then cat "$TMP/idea1"; else cat "$TMP/code3"; fi
env | grep -c "KEY" >"$TMP/replier-keys"
true
REPLIER
$K -q run tests/data/search_gelu.py --dry-run --rounds 1 --ideas 1 --impls 1 \
	--llm "cmd:sh $TMP/replier.sh" --db "$TMP/cmd.db" >/dev/null 2>"$TMP/err"
check "cmd provider: the run finishes" $? 0
check "cmd provider: its kernel compiled" "$(q "$TMP/cmd.db" "SELECT count(*) FROM candidates c JOIN evaluations e ON e.candidate = c.id WHERE origin='llm' AND verdict='not_run'")" 1
check "cmd provider: no key in the command's environment" "$(cat "$TMP/replier-keys")" 0

# The price table costs the calls; --max-cost stops a run cleanly at its budget.
check "costs from the price table" "$(q "$TMP/openai.db" "SELECT sum(cost_usd) > 0 FROM llm_calls")" 1
grep -q "^- LLM: [0-9]* tokens in and out, [$]" "$TMP/out-openai/summary.md" && ok "summary reports tokens and cost" || not_ok "summary reports tokens and cost"
printf '%s\n' "okfile $TMP/ideas" "okfile $TMP/code1" >"$TMP/script"
start_server "$TMP/script" || exit 1
$K run tests/data/search_gelu.py --dry-run --rounds 2 --ideas 2 --impls 3 --max-cost 0.0001 \
	--llm openai:test-model --llm-base-url "http://127.0.0.1:$port/v1" --db "$TMP/budget.db" >/dev/null 2>"$TMP/err"
check "--max-cost: the run stops cleanly" $? 0
kill $server 2>/dev/null
wait $server 2>/dev/null
server=""
grep -q "budget reached" "$TMP/err" && ok "--max-cost: says so" || not_ok "--max-cost: says so" "$(cat "$TMP/err")"
check "--max-cost: no call after the budget" "$(q "$TMP/budget.db" "SELECT group_concat(kind || ':' || status, ' ') FROM llm_calls")" "ideas:ok"

# An authentication error stops the run with a clear message; nothing is lost.
printf '%s\n' auth >"$TMP/script"
start_server "$TMP/script" || exit 1
$K -q run tests/data/search_gelu.py --dry-run --rounds 1 --llm openai:test-model \
	--llm-base-url "http://127.0.0.1:$port/v1" --db "$TMP/auth.db" >/dev/null 2>"$TMP/err"
rc=$?
kill $server 2>/dev/null
wait $server 2>/dev/null
server=""
[ $rc -ne 0 ] && ok "auth error: non-zero exit ($rc)" || not_ok "auth error: non-zero exit"
grep -q "refused" "$TMP/err" && ok "auth error: clear message" || not_ok "auth error: clear message" "$(cat "$TMP/err")"
check "auth error: recorded, one attempt" "$(q "$TMP/auth.db" "SELECT status || ':' || attempts FROM llm_calls")" "auth:1"
check "auth error: round 0 kept (naive, the template at its defaults)" "$(q "$TMP/auth.db" "SELECT count(*) FROM evaluations")" 2
grep -rq "test-key-4f1d" "$TMP/auth.db"* "$TMP/err" && not_ok "auth error: key not stored or printed" || ok "auth error: key not stored or printed"

# Round 0 written by the model: a problem with no naive kernel, nothing banked.
sed 's/KBREED_OP = "gelu"/KBREED_OP = "gelu_nonaive"/' tests/data/search_gelu.py >"$TMP/nonaive.py"
printf '%s\n' "okfile $TMP/ideas" "okfile $TMP/code1" "okfile $TMP/code2" "okfile $TMP/code3" >"$TMP/script"
start_server "$TMP/script" || exit 1
$K -q run "$TMP/nonaive.py" --dry-run --rounds 0 --ideas 2 --impls 1 --no-bank --llm-concurrency 1 \
	--llm openai:test-model --llm-base-url "http://127.0.0.1:$port/v1" --db "$TMP/first.db" --out "$TMP/out-first" >/dev/null 2>"$TMP/err"
check "round 0 by the model: the run finishes" $? 0
kill $server 2>/dev/null
wait $server 2>/dev/null
server=""
check "round 0 by the model: ideas, then a kernel per idea" \
	"$(q "$TMP/first.db" "SELECT group_concat(kind, ' ') FROM (SELECT kind FROM llm_calls ORDER BY id)")" "ideas realize realize"
check "round 0 by the model: its kernels are round 0's, compiled" \
	"$(q "$TMP/first.db" "SELECT count(*) FROM candidates c JOIN evaluations e ON e.candidate = c.id WHERE c.round = 0 AND c.origin = 'llm' AND e.verdict = 'not_run'")" 2
# With an op graph, the generated naive kernel is round 0 too and is offered
# to the model as its starting point; without one the model starts from the
# reference alone.
if [ "$(q "$TMP/first.db" "SELECT count(*) FROM candidates WHERE origin='generated' AND round=0")" = 1 ]; then
	grep -q "not timed yet" <(q "$TMP/first.db" "SELECT prompt FROM llm_calls WHERE kind='ideas'") &&
		grep -q "Parent #1" <(q "$TMP/first.db" "SELECT prompt FROM llm_calls WHERE kind='realize'") &&
		ok "round 0 by the model: the generated kernel offered as its starting point" ||
		not_ok "round 0 by the model: the generated kernel offered as its starting point" \
			"$(q "$TMP/first.db" "SELECT id || ' ' || origin || ' ' || coalesce(template, '-') FROM candidates"; \
			   q "$TMP/first.db" "SELECT kind || ': ' || prompt FROM llm_calls" | grep -E '^(ideas|realize):|Seed|Parent|first kernel')"
else
	grep -q "first kernel" <(q "$TMP/first.db" "SELECT prompt FROM llm_calls WHERE kind='realize'") &&
		ok "round 0 by the model: asked to write the first kernel" || not_ok "round 0 by the model: asked to write the first kernel"
fi

# A model endpoint that fails every call: the run exits non-zero with the last error.
printf '%s\n' 400 >"$TMP/script"
start_server "$TMP/script" || exit 1
$K -q run tests/data/search_gelu.py --dry-run --rounds 2 --llm openai:test-model \
	--llm-base-url "http://127.0.0.1:$port/v1" --db "$TMP/fail.db" >/dev/null 2>"$TMP/err"
rc=$?
kill $server 2>/dev/null
wait $server 2>/dev/null
server=""
[ $rc -ne 0 ] && ok "every call failed: non-zero exit ($rc)" || not_ok "every call failed: non-zero exit"
grep -q "every request to the model failed" "$TMP/err" && ok "every call failed: the last error said" || not_ok "every call failed: the last error said" "$(cat "$TMP/err")"
check "every call failed: round 0 kept (naive, the template at its defaults)" "$(q "$TMP/fail.db" "SELECT count(*) FROM evaluations")" 2

test_summary
