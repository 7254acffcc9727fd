#!/usr/bin/env bash
# test_store_paths.sh - where the store lives. The default database is in
# the data directory ($XDG_DATA_HOME/kbreed/kbreed.db); one an older kbreed
# left in the cache directory is moved there once, with the transactions
# still in its WAL, with a message; across filesystems too. While another
# program has it open it is not moved (used where it is, said so); when both
# exist the data directory's is used and the old one is left byte for byte
# (said each time); --db and KBREED_DB move nothing. Runs of two databases
# keep their work files apart under the cache, each in runs/<its uid> (run 1
# of one never overwrites run 1 of another), and keep them through a merge. Dry runs with tests/cli/fake_nvcc.sh: no GPU needed.
#
#   tests/cli/test_store_paths.sh    (from anywhere; needs `make`, sqlite3, python3)
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
. "$(dirname "$0")/lib.sh"
SHM=
trap 'rm -rf "$TMP" ${SHM:+"$SHM"}' EXIT
PY=/usr/bin/python3

export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
unset KBREED_DB KBREED_FAKE_GPU KBREED_HOME
DRY="$K run tests/data/search_gelu.py --dry-run --rounds 0"

# A kbreed database at $1 with one dry run in it, and one more run committed
# to its WAL only: the writer dies without a checkpoint, as a killed kbreed
# would, leaving kbreed.db-wal and kbreed.db-shm beside it.
old_db_with_wal() {
	$DRY --db "$1" --out "$TMP/out-old" >/dev/null 2>&1 || return 1
	"$PY" - "$1" <<'EOF'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("INSERT INTO runs(problem, status) VALUES('from-the-wal', 'failed')")
os._exit(0)
EOF
}

# --- the move, WAL and all ------------------------------------------------------
moved_once() {  # $1: the data directory (XDG_DATA_HOME), $2: what the case is called
	local data=$1 what=$2
	export KBREED_CACHE=$TMP/cache-$what XDG_DATA_HOME=$data
	local old=$KBREED_CACHE/kbreed.db new=$data/kbreed/kbreed.db
	mkdir -p "$KBREED_CACHE"
	old_db_with_wal "$old" || { not_ok "$what: the old database made"; return; }
	[ -s "$old-wal" ] && [ -e "$old-shm" ] && ok "$what: the old database has a WAL and its index" ||
		not_ok "$what: the old database has a WAL and its index" "$(ls -la "$KBREED_CACHE")"
	# The main file alone lacks the WAL's run: a move of it alone would lose data.
	cp "$old" "$TMP/main-only.db"
	check "$what: the WAL's run is not in the main file alone" "$(q "$TMP/main-only.db" "SELECT count(*) FROM runs WHERE problem='from-the-wal'")" 0
	before=$(q "$old" "SELECT id || ':' || problem || ':' || status FROM runs ORDER BY id")
	$DRY --out "$TMP/out-$what" >"$TMP/out" 2>"$TMP/err"
	check "$what: the run with the default database: exit 0" $? 0
	grep -q "moved the database from $old to $new" "$TMP/err" && ok "$what: the move is said, with both paths" ||
		not_ok "$what: the move is said, with both paths" "$(cat "$TMP/err")"
	[ ! -e "$old" ] && [ ! -e "$old-wal" ] && [ ! -e "$old-shm" ] && ok "$what: nothing left in the cache directory" ||
		not_ok "$what: nothing left in the cache directory" "$(ls -la "$KBREED_CACHE")"
	after=$(q "$new" "SELECT id || ':' || problem || ':' || status FROM runs ORDER BY id")
	lost=$(comm -23 <(echo "$before" | sort) <(echo "$after" | sort) | grep -c .)
	check "$what: every run moved (the WAL's included), none changed" "$lost" 0
	check "$what: the WAL's run is there" "$(q "$new" "SELECT count(*) FROM runs WHERE problem='from-the-wal'")" 1
	check "$what: the new run went into the moved database" "$(q "$new" "SELECT count(*) FROM runs")" 3
	check "$what: the moved database is sound" "$(q "$new" "PRAGMA integrity_check")" ok
	check "$what: the moved database is in WAL mode again" "$(q "$new" "PRAGMA journal_mode")" wal
	$DRY --out "$TMP/out-$what" >/dev/null 2>"$TMP/err"
	! grep -q "moved\|older database" "$TMP/err" && ok "$what: moved once: the next run says nothing" ||
		not_ok "$what: moved once" "$(cat "$TMP/err")"
	check "$what: the next run is stored there too" "$(q "$new" "SELECT count(*) FROM runs")" 4
}
moved_once "$TMP/data" "same filesystem"

# Another filesystem (/dev/shm, a tmpfs, when it is one): copied, synced, then renamed.
if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d "$TMP")" ]; then
	SHM=$(mktemp -d /dev/shm/kbreed-paths-test.XXXXXX)
	moved_once "$SHM" "another filesystem"
else
	ok "another filesystem # SKIP /dev/shm is not a writable filesystem of its own here"
fi

# --- not moved while another program has it open -----------------------------
export KBREED_CACHE=$TMP/cache-busy XDG_DATA_HOME=$TMP/data-busy
old=$KBREED_CACHE/kbreed.db new=$XDG_DATA_HOME/kbreed/kbreed.db
mkdir -p "$KBREED_CACHE"
$DRY --db "$old" --out "$TMP/out-busy" >/dev/null 2>&1
"$PY" - "$old" "$TMP/holding" <<'EOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
c.execute("SELECT count(*) FROM runs").fetchall()
open(sys.argv[2], "w").close()
time.sleep(60)
EOF
holder=$!
for _ in $(seq 100); do [ -e "$TMP/holding" ] && break; sleep 0.1; done
$DRY --out "$TMP/out-busy" >/dev/null 2>"$TMP/err"
check "in use: the run goes on: exit 0" $? 0
grep -q "cannot move the database $old.*another program has it open" "$TMP/err" && ok "in use: not moved, and said why" ||
	not_ok "in use: not moved, and said why" "$(cat "$TMP/err")"
[ ! -e "$new" ] && check "in use: the run is stored in the old database, where it is" "$(q "$old" "SELECT count(*) FROM runs")" 2 ||
	not_ok "in use: no database made in the data directory"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
$DRY --out "$TMP/out-busy" >/dev/null 2>"$TMP/err"
grep -q "moved the database" "$TMP/err" && check "in use, then let go: moved with both runs" "$(q "$new" "SELECT count(*) FROM runs")" 3 ||
	not_ok "in use, then let go: moved" "$(cat "$TMP/err")"

# --- both exist: the data directory's is used, the old one left as it is -------
export KBREED_CACHE=$TMP/cache-both XDG_DATA_HOME=$TMP/data-both
old=$KBREED_CACHE/kbreed.db new=$XDG_DATA_HOME/kbreed/kbreed.db
mkdir -p "$KBREED_CACHE" "$XDG_DATA_HOME/kbreed"
$DRY --db "$old" --out "$TMP/out-both" >/dev/null 2>&1
$DRY --db "$new" --out "$TMP/out-both" >/dev/null 2>&1
$DRY --db "$new" --out "$TMP/out-both" >/dev/null 2>&1
cp "$old" "$TMP/old.copy"
$DRY --out "$TMP/out-both" >/dev/null 2>"$TMP/err"
check "both exist: exit 0" $? 0
grep -q "an older database is still at $old; kbreed uses $new" "$TMP/err" && ok "both exist: said which one is used" ||
	not_ok "both exist: said which one is used" "$(cat "$TMP/err")"
check "both exist: the run went into the data directory's" "$(q "$new" "SELECT count(*) FROM runs")" 3
cmp -s "$old" "$TMP/old.copy" && [ ! -e "$old-wal" ] && ok "both exist: the old one left byte for byte" ||
	not_ok "both exist: the old one left byte for byte"
$DRY --out "$TMP/out-both" >/dev/null 2>"$TMP/err"
grep -q "an older database is still at" "$TMP/err" && ok "both exist: said again at the next run" || not_ok "both exist: said again at the next run"

# --- --db and KBREED_DB move nothing ---------------------------------------------
export KBREED_CACHE=$TMP/cache-flag XDG_DATA_HOME=$TMP/data-flag
old=$KBREED_CACHE/kbreed.db
mkdir -p "$KBREED_CACHE"
$DRY --db "$old" --out "$TMP/out-flag" >/dev/null 2>&1
$DRY --db "$TMP/elsewhere.db" --out "$TMP/out-flag" >/dev/null 2>"$TMP/err"
KBREED_DB=$TMP/elsewhere.db $DRY --out "$TMP/out-flag" >/dev/null 2>>"$TMP/err"
[ -e "$old" ] && [ ! -e "$XDG_DATA_HOME/kbreed/kbreed.db" ] && ! grep -q "moved" "$TMP/err" &&
	ok "--db and KBREED_DB: the old default is not moved" || not_ok "--db and KBREED_DB: the old default is not moved" "$(cat "$TMP/err")"

# --- the work files of two databases' runs stay apart ------------------------------
# A run's work directory is <cache>/runs/<its uid>: run ids count per
# database, uids do not, and kbreed merge keeps them.
export KBREED_CACHE=$TMP/cache-two XDG_DATA_HOME=$TMP/data-two
# Run 1 of each database starts from a kernel of its own (candidate 1).
$DRY --db "$TMP/a.db" --seed-kernel kernels/naive/gelu.cu --out "$TMP/out-a" >/dev/null 2>"$TMP/err"
$DRY --db "$TMP/b.db" --seed-kernel kernels/bad/good_gelu.cu --out "$TMP/out-b" >/dev/null 2>>"$TMP/err"
ua=$(q "$TMP/a.db" "SELECT uid FROM runs WHERE id=1")
ub=$(q "$TMP/b.db" "SELECT uid FROM runs WHERE id=1")
dirs=$(cd "$KBREED_CACHE/runs" 2>/dev/null && ls -d -- * | sort)
check "two databases: run 1 of each has a directory of its own, named by its uid" "$dirs" "$(printf '%s\n%s\n' "$ua" "$ub" | sort)"
same=0
for pair in "$TMP/a.db:$ua" "$TMP/b.db:$ub"; do
	if [ -n "${pair#*:}" ] && "$PY" - "${pair%%:*}" "$KBREED_CACHE/runs/${pair#*:}/c1.cu" <<'EOF'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1]).execute("SELECT source FROM candidates WHERE id=1").fetchone()[0]
sys.exit(0 if open(sys.argv[2]).read() == src else 1)
EOF
	then
		same=$((same + 1))
	fi
done
check "two databases: each directory holds its own database's candidate 1" "$same" 2
if cmp -s "$KBREED_CACHE/runs/$ua/c1.cu" "$KBREED_CACHE/runs/$ub/c1.cu"; then
	not_ok "two databases: the two candidates 1 differ (the test's premise)"
else
	ok "two databases: the two candidates 1 differ (the test's premise)"
fi
# Merged, the runs keep their uids, so their work directories stay theirs.
$K merge "$TMP/m.db" "$TMP/a.db" "$TMP/b.db" >/dev/null 2>>"$TMP/err"
check "two databases merged: each run keeps its uid, so its directory" \
	"$(q "$TMP/m.db" "SELECT uid FROM runs ORDER BY uid" | tr '\n' ' ')" "$(printf '%s\n%s\n' "$ua" "$ub" | sort | tr '\n' ' ')"

test_summary
