#!/usr/bin/env bash
# test_slurm.sh - `kbreed bench --slurm` on a real Slurm cluster of one node,
# started here on localhost: munged with a key made for the test, slurmctld
# and slurmd from a minimal slurm.conf written into a temporary directory
# (ports 16817/16818, no accounting, no cgroups), all stopped at the end. The
# fake worker stands in for the GPU, as in tests/cli.
#
# A bench of three problems is submitted as a job array; one task is
# cancelled (scancel) while it judges; the merged database then holds the
# two finished runs and the cancelled one as far as it got. The same command
# again resumes the cancelled task from its database: the bench finishes,
# no candidate is judged twice, and the merged database holds every run,
# candidate and evaluation once, and the bank's three winners.
#
# Needs Debian's slurm-wlm and munge, and root (slurmd starts jobs as their
# users). Where either is missing it says why and skips, except under CI
# (CI=true), where .ci/run installs them and a skip would hide a failure.
#   tests/slurm/test_slurm.sh
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
# Under /tmp, not a noexec /dev/shm; the directory must be reachable by munge's checks.
TMP_PARENT=/tmp
. "$(dirname "$0")/../cli/lib.sh"
skip() {
	if [ "${CI:-}" = true ]; then
		not_ok "a Slurm cluster for the test" "$1"
	else
		echo "# skip: $1"
	fi
	test_summary
	exit
}

for t in munged slurmctld slurmd sbatch squeue scancel scontrol sinfo sqlite3; do
	command -v "$t" >/dev/null 2>&1 || skip "no $t here (apt-get install slurm-wlm munge sqlite3)"
done
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to start jobs; run this test as root (CI does)"

S=$TMP/slurm
mkdir -p "$S/state" "$S/spool" "$S/log"
chmod 755 "$TMP" "$S"
stop_cluster() {
	# Only what this test started, by the pids it recorded.
	[ -f "$S/slurmctld.pid" ] && SLURM_CONF=$S/slurm.conf scancel --quiet --user="$(id -un)" --partition=kbreed 2>/dev/null
	for d in slurmd slurmctld munged; do
		[ -f "$S/$d.pid" ] && kill "$(cat "$S/$d.pid")" 2>/dev/null
	done
	sleep 1
	for d in slurmd slurmctld munged; do
		[ -f "$S/$d.pid" ] && kill -9 "$(cat "$S/$d.pid")" 2>/dev/null
	done
}
trap 'stop_cluster; rm -rf "$TMP"' EXIT

# --- the cluster ---------------------------------------------------------------
dd if=/dev/urandom of="$S/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$S/munge.key"
munged --force --key-file="$S/munge.key" --socket="$S/munge.sock" --pid-file="$S/munged.pid" \
	--log-file="$S/log/munged.log" --seed-file="$S/munge.seed" || skip "munged does not start: $(tail -3 "$S/log/munged.log" 2>/dev/null)"
node=$(hostname -s)
cat >"$S/slurm.conf" <<CONF
# A cluster of one node on localhost, for tests/slurm/test_slurm.sh.
ClusterName=kbreedtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$S/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MinJobAge=3600
KillWait=5
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=kbreed Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$S/slurm.conf
slurmctld -i -f "$SLURM_CONF" || skip "slurmctld does not start: $(tail -5 "$S/log/slurmctld.log" 2>/dev/null)"
slurmd -f "$SLURM_CONF" || skip "slurmd does not start: $(tail -5 "$S/log/slurmd.log" 2>/dev/null)"
for _ in $(seq 60); do
	[ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break
	sleep 0.5
done
[ "$(sinfo -h -o %t 2>/dev/null)" = idle ] || skip "the node did not come up: $(sinfo 2>&1; tail -5 "$S/log/slurmd.log")"
ok "a one-node Slurm cluster on localhost"

# --- the bench ------------------------------------------------------------------
export KBREED_CACHE=$TMP/cache XDG_DATA_HOME=$TMP/data
export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
export KBREED_FAKE_SEARCH=1 KBREED_FAKE_GPU=1 KBREED_FAKE_DELAY_MS=300
export KBREED_FAKE_EVAL_LOG=$TMP/evals
unset KBREED_DB KBREED_FAKE_GPUS
D=$TMP/bench
P1=$ROOT/tests/data/tiny_gelu.py P2=$ROOT/tests/data/search_gelu.py P3=$ROOT/tests/data/tiny_layernorm.py
BENCH="$K -q bench --slurm --slurm-dir $D --rounds 3 --ideas 3 --impls 2 --reps 20 $P1 $P2 $P3 -- --time=30 --partition=kbreed"

# Waits until none of the jobs in $D/jobs.txt is pending or running.
wait_jobs() {
	for _ in $(seq 600); do
		[ -z "$(squeue -h -j "$(awk '{ printf "%s,%s,", $5, $7 }' "$D/jobs.txt" | sed 's/,$//')" 2>/dev/null)" ] && return 0
		sleep 0.5
	done
	return 1
}
$BENCH >"$TMP/out" 2>"$TMP/err"; check "bench --slurm: submitted, exit 0" $? 0
grep -q "squeue -j" "$TMP/out" && ok "bench --slurm says how to follow it" || not_ok "bench --slurm says how to follow it" "$(cat "$TMP/out" "$TMP/err")"
grep -q "^#SBATCH --array=0-2$" "$D/kbreed-bench.sbatch" && grep -q "bench --continue" "$D/kbreed-bench.sbatch" \
	&& ok "the job script is kept beside the results: an array of three, each resuming" || not_ok "job script" "$(cat "$D/kbreed-bench.sbatch")"
sh -n "$D/kbreed-bench.sbatch" && sh -n "$D/kbreed-merge.sbatch" && ok "the job scripts are sound sh" || not_ok "the job scripts are sound sh"
array=$(awk 'NR == 1 { print $5 }' "$D/jobs.txt")
merge=$(awk 'NR == 1 { print $7 }' "$D/jobs.txt")
grep -q "Dependency=afterany:${array}_\*" <(scontrol show job "$merge" 2>&1) && ok "the merge waits for the array (afterany)" \
	|| not_ok "the merge waits for the array" "$(scontrol show job "$merge" 2>&1 | grep -i depend)"

# Task 1 (search_gelu, the long one) is cancelled once it has judged a few.
db2=$D/db/search_gelu.db
for _ in $(seq 600); do
	[ -f "$db2" ] && [ "$(q "$db2" "SELECT count(*) FROM evaluations" 2>/dev/null)" -ge 3 ] 2>/dev/null && break
	sleep 0.1
done
scancel "${array}_1"; check "scancel of task 1" $? 0
wait_jobs && ok "the array and the merge ended" || not_ok "the array and the merge ended" "$(squeue 2>&1)"
check "task 1 was cancelled" "$(scontrol show job "${array}_1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z]*\).*/\1/p')" CANCELLED
check "task 1's run is unfinished" "$(q "$db2" "SELECT status FROM runs")" running
# (group_concat in id order: an ORDER BY outside it orders the one result
# row only, and SQLite may read the rows through the candidate index.)
before=$(q "$db2" "SELECT group_concat(e.id || ':' || e.candidate, ' ') FROM (SELECT * FROM evaluations ORDER BY id) e")
n_before=$(q "$db2" "SELECT count(*) FROM evaluations")
[ "$n_before" -ge 3 ] && ok "task 1 judged $n_before candidates before it was cancelled" || not_ok "task 1 judged some" "$n_before"
M=$D/kbreed.db
check "first merge: three runs" "$(q "$M" "SELECT count(*) FROM runs")" 3
check "first merge: two finished" "$(q "$M" "SELECT count(*) FROM runs WHERE status = 'done'")" 2

# The same command again: the cancelled task resumes, the finished ones are kept.
$BENCH >"$TMP/out2" 2>"$TMP/err2"; check "bench --slurm again: exit 0" $? 0
wait_jobs && ok "the second array and merge ended" || not_ok "the second array and merge ended" "$(squeue 2>&1)"
check "two submissions recorded" "$(wc -l <"$D/jobs.txt")" 2
for t in 0 1 2; do
	array2=$(awk 'NR == 2 { print $5 }' "$D/jobs.txt")
	check "second array, task $t completed" "$(scontrol show job "${array2}_$t" 2>/dev/null | sed -n 's/.*JobState=\([A-Z]*\).*/\1/p')" COMPLETED
done
check "task 1 resumed its run, not a new one" "$(q "$db2" "SELECT count(*) || ' ' || max(id) || ' ' || max(status) FROM runs")" "1 1 done"
check "task 1 kept what it had judged" "$(q "$db2" "SELECT group_concat(e.id || ':' || e.candidate, ' ') FROM (SELECT * FROM evaluations WHERE id <= $n_before ORDER BY id) e")" "$before"
check "task 1: every candidate judged once" "$(q "$db2" "SELECT count(*) FROM candidates")" "$(q "$db2" "SELECT count(*) FROM evaluations")"
grep -l "finished earlier; kept" "$D"/logs/bench-"$(awk 'NR == 2 { print $5 }' "$D/jobs.txt")"_*.out 2>/dev/null | wc -l | grep -qx 2 \
	&& ok "tasks 0 and 2 kept their finished runs" || not_ok "tasks 0 and 2 kept their finished runs" "$(cat "$D"/logs/*)"
# Every candidate reached a worker once, but for each winner's re-timing and at
# most the one candidate in the worker when scancel came.
judged=$(wc -l <"$TMP/evals")
stored=$(cat "$D"/db/*.db >/dev/null; for db in "$D"/db/*.db; do q "$db" "SELECT count(*) FROM evaluations"; done | awk '{ s += $1 } END { print s }')
extra=$((judged - stored - 3))
[ "$extra" -ge 0 ] && [ "$extra" -le 1 ] && ok "no candidate judged again after the resubmission ($judged judged, $stored stored)" \
	|| not_ok "no candidate judged again" "$judged judged, $stored stored"

# The merged database: every run, candidate and evaluation once, the bank merged.
check "merged: three runs, all finished" "$(q "$M" "SELECT count(*) || ' ' || sum(status = 'done') FROM runs")" "3 3"
check "merged: three run identities" "$(q "$M" "SELECT count(DISTINCT uid) FROM runs")" 3
sum() { for db in "$D"/db/*.db; do q "$db" "$1"; done | awk '{ s += $1 } END { print s }'; }
check "merged: every candidate once" "$(q "$M" "SELECT count(*) FROM candidates")" "$(sum "SELECT count(*) FROM candidates")"
check "merged: every evaluation once" "$(q "$M" "SELECT count(*) FROM evaluations")" "$(sum "SELECT count(*) FROM evaluations")"
check "merged: no candidate twice in a run" "$(q "$M" "SELECT count(*) FROM (SELECT 1 FROM candidates GROUP BY run, source_sha HAVING count(*) > 1)")" 0
check "merged: the bank holds the three winners" "$(q "$M" "SELECT count(DISTINCT problem) FROM bank")" 3
check "merged: each run's winner is its own candidate" "$(q "$M" "SELECT count(*) FROM runs r JOIN candidates c ON c.id = r.winner AND c.run = r.id")" 3
check "merged: references lead to rows" "$(q "$M" "PRAGMA foreign_key_check")" ""
$K -q merge "$M" "$D"/db/*.db >/dev/null 2>&1
check "merging again adds nothing" "$($K merge "$M" "$D"/db/*.db 2>/dev/null | grep -c ": 0 new runs, 0 runs further along, 0 ideas, 0 candidates, 0 evaluations, 0 bank kernels")" 1

# --- run --slurm: one problem's run, a bench of one -----------------------------
D=$TMP/run
$K -q run --slurm --slurm-dir "$D" --rounds 2 --ideas 2 --impls 2 --reps 20 "$P1" -- --time=30 --partition=kbreed \
	>"$TMP/out3" 2>"$TMP/err3"; check "run --slurm: submitted, exit 0" $? 0
grep -q "1 task, one per problem" "$TMP/out3" && ok "run --slurm says what it submitted" || not_ok "run --slurm says what it submitted" "$(cat "$TMP/out3" "$TMP/err3")"
grep -q "^#SBATCH --array=0-0$" "$D/kbreed-bench.sbatch" && grep -q "rounds" "$D/kbreed-bench.sbatch" \
	&& ok "run --slurm: an array of one, with run's options" || not_ok "run --slurm: job script" "$(cat "$D/kbreed-bench.sbatch")"
wait_jobs && ok "run --slurm: the task and the merge ended" || not_ok "run --slurm: the task and the merge ended" "$(squeue 2>&1)"
check "run --slurm: one run in the merged database, finished, with its winner" \
	"$(q "$D/kbreed.db" "SELECT count(*) || ' ' || sum(status = 'done') || ' ' || sum(winner IS NOT NULL) FROM runs")" "1 1 1"
grep -q "2 rounds x 2 ideas x 2 realisations" "$D"/logs/bench-*.out && ok "run --slurm: the task searched as the run was asked to" \
	|| not_ok "run --slurm: the task searched as asked" "$(cat "$D"/logs/bench-*.out)"

test_summary
