/*
 * store.c - SQLite, the only file that includes sqlite3.h.
 *
 * The database runs in WAL mode with synchronous=NORMAL: a write committed
 * before a crash (kill -9 included) survives it, and a write cut short is
 * rolled back on the next open. Each public function is one transaction.
 * Statements are prepared per call: kbreed writes a few rows a second, and
 * clarity wins over a statement cache here.
 */
#define _GNU_SOURCE
#include "store.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PRAGMA application_id of a kbreed database: "kbrd". A database of the
 * first schema has 0 there and meta.schema_version '1' instead. */
#define APPLICATION_ID 0x6b627264

struct store {
	sqlite3 *db;
	char *path;
	int64_t locked_run;   /* the run whose lock this store holds; 0 when none */
};

static int exec(struct store *s, const char *sql, const char *fmt, ...);

static const char *const run_state_names[] = {
	[RUN_RUNNING] = "running",
	[RUN_DONE] = "done",
	[RUN_STOPPED] = "stopped",
	[RUN_FAILED] = "failed",
	[RUN_DRY_RUN] = "dry_run",
};

/* The schema, version STORE_SCHEMA_VERSION. The CHECK lists name every run
 * state (run_state_names) and every verdict (verdict_name() and not_run);
 * a reference of 0 in the API is NULL here. */
static const char *const schema =
	"CREATE TABLE runs("
	" id INTEGER PRIMARY KEY, problem TEXT NOT NULL, problem_path TEXT, problem_sha TEXT,"
	" proposer TEXT, rounds INT, ideas INT, impls INT, keep INT, seed INT, tolerance TEXT,"
	" gpu TEXT, arch TEXT, eager_ms REAL, compile_ms REAL,"
	" status TEXT NOT NULL CHECK(status IN ('running', 'done', 'stopped', 'failed', 'dry_run')),"
	" winner INT REFERENCES candidates(id), final_ms REAL, final_eager_ms REAL,"
	" started TEXT DEFAULT (datetime('now')), updated TEXT,"
	" uid TEXT NOT NULL DEFAULT (lower(hex(randomblob(16)))));"
	"CREATE UNIQUE INDEX runs_uid ON runs(uid);"
	"CREATE TABLE run_locks("
	" run INTEGER PRIMARY KEY REFERENCES runs(id), pid INT NOT NULL, pid_start INT NOT NULL,"
	" since TEXT DEFAULT (datetime('now')));"
	"CREATE TABLE ideas("
	" id INTEGER PRIMARY KEY, run INT NOT NULL REFERENCES runs(id), round INT,"
	" catalog_id TEXT, category TEXT, text TEXT, parent1 INT REFERENCES candidates(id),"
	" parent2 INT REFERENCES candidates(id));"
	"CREATE TABLE candidates("
	" id INTEGER PRIMARY KEY, run INT NOT NULL REFERENCES runs(id), round INT,"
	" idea INT REFERENCES ideas(id), parent1 INT REFERENCES candidates(id),"
	" parent2 INT REFERENCES candidates(id), origin TEXT, template TEXT, knobs TEXT,"
	" source TEXT NOT NULL, source_sha TEXT NOT NULL, created TEXT DEFAULT (datetime('now')),"
	" UNIQUE(run, source_sha));"
	"CREATE TABLE evaluations("
	" id INTEGER PRIMARY KEY, candidate INT NOT NULL UNIQUE REFERENCES candidates(id),"
	" verdict TEXT NOT NULL CHECK(verdict IN ('correct', 'incorrect', 'rejected',"
	" 'compile_error', 'load_error', 'runtime_error', 'timeout', 'not_run')),"
	" detail TEXT, log TEXT, pass_strict INT, pass_crfm INT,"
	" max_abs REAL, max_rel REAL, timed INT, median_ms REAL, min_ms REAL, max_ms REAL,"
	" host_ms REAL, reps INT, warmup INT, sets INT, flush_mb INT, pct_eager REAL,"
	" pct_floor REAL, floor_ms REAL, gpu TEXT, sm_clock INT, mem_clock INT,"
	" compile_s REAL, eval_s REAL, created TEXT DEFAULT (datetime('now')), device TEXT,"
	" early INT NOT NULL DEFAULT 0, cutoff_ms REAL);"
	"CREATE TABLE bank("
	" id INTEGER PRIMARY KEY, problem TEXT, family TEXT, template TEXT, knobs TEXT,"
	" source TEXT NOT NULL, source_sha TEXT NOT NULL, gpu TEXT, median_ms REAL,"
	" pct_eager REAL, run INT REFERENCES runs(id), created TEXT DEFAULT (datetime('now')),"
	" UNIQUE(problem, gpu, source_sha));"
	"CREATE TABLE llm_calls("
	" id INTEGER PRIMARY KEY, run INT REFERENCES runs(id), round INT, kind TEXT, model TEXT,"
	" prompt_sha TEXT, prompt TEXT, reply TEXT, status TEXT, error TEXT, in_tokens INT,"
	" out_tokens INT, cached_tokens INT, reasoning_tokens INT, cost_usd REAL, attempts INT,"
	" created TEXT DEFAULT (datetime('now')));"
	"CREATE INDEX llm_calls_sha ON llm_calls(prompt_sha);"
	"CREATE INDEX candidates_run ON candidates(run);"
	"CREATE INDEX ideas_run ON ideas(run);";

/* The tables a current database has; a database missing one is not ours. */
static const char *const tables[] = {
	"runs", "run_locks", "ideas", "candidates", "evaluations", "bank", "llm_calls",
};

/* Schema 1, exactly as the first kbreed wrote it: run first during the
 * migration, it adds whatever tables an early version-1 database lacks. */
static const char *const schema_v1 =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS runs("
	" id INTEGER PRIMARY KEY, problem TEXT NOT NULL, problem_path TEXT, problem_sha TEXT,"
	" proposer TEXT, rounds INT, ideas INT, impls INT, keep INT, seed INT, tolerance TEXT,"
	" gpu TEXT, arch TEXT, eager_ms REAL, compile_ms REAL, status TEXT, winner INT,"
	" final_ms REAL, final_eager_ms REAL,"
	" started TEXT DEFAULT (datetime('now')), updated TEXT);"
	"CREATE TABLE IF NOT EXISTS ideas("
	" id INTEGER PRIMARY KEY, run INT NOT NULL REFERENCES runs(id), round INT,"
	" catalog_id TEXT, category TEXT, text TEXT, parent1 INT, parent2 INT);"
	"CREATE TABLE IF NOT EXISTS candidates("
	" id INTEGER PRIMARY KEY, run INT NOT NULL REFERENCES runs(id), round INT, idea INT,"
	" parent1 INT, parent2 INT, origin TEXT, template TEXT, knobs TEXT, source TEXT NOT NULL,"
	" source_sha TEXT NOT NULL, created TEXT DEFAULT (datetime('now')),"
	" UNIQUE(run, source_sha));"
	"CREATE TABLE IF NOT EXISTS evaluations("
	" id INTEGER PRIMARY KEY, candidate INT NOT NULL UNIQUE REFERENCES candidates(id),"
	" verdict TEXT NOT NULL, detail TEXT, log TEXT, pass_strict INT, pass_crfm INT,"
	" max_abs REAL, max_rel REAL, timed INT, median_ms REAL, min_ms REAL, max_ms REAL,"
	" host_ms REAL, reps INT, warmup INT, sets INT, flush_mb INT, pct_eager REAL,"
	" pct_floor REAL, floor_ms REAL, gpu TEXT, sm_clock INT, mem_clock INT,"
	" compile_s REAL, eval_s REAL, created TEXT DEFAULT (datetime('now')));"
	"CREATE TABLE IF NOT EXISTS bank("
	" id INTEGER PRIMARY KEY, problem TEXT, family TEXT, template TEXT, knobs TEXT,"
	" source TEXT NOT NULL, source_sha TEXT NOT NULL, gpu TEXT, median_ms REAL,"
	" pct_eager REAL, run INT, created TEXT DEFAULT (datetime('now')),"
	" UNIQUE(problem, gpu, source_sha));"
	"CREATE TABLE IF NOT EXISTS llm_calls("
	" id INTEGER PRIMARY KEY, run INT, round INT, kind TEXT, model TEXT, prompt_sha TEXT,"
	" prompt TEXT, reply TEXT, status TEXT, error TEXT, in_tokens INT, out_tokens INT,"
	" cached_tokens INT, reasoning_tokens INT, cost_usd REAL, attempts INT,"
	" created TEXT DEFAULT (datetime('now')));"
	"CREATE INDEX IF NOT EXISTS llm_calls_sha ON llm_calls(prompt_sha);"
	"CREATE INDEX IF NOT EXISTS candidates_run ON candidates(run);"
	"CREATE INDEX IF NOT EXISTS ideas_run ON ideas(run);";

/* Schema 1 to 2, inside one transaction with foreign keys off: the old
 * tables step aside, the new ones are made by `schema`, the rows are copied
 * with the states renamed and references of 0 made NULL, the old ones go. */
static const char *const migrate_v1_aside =
	"DROP INDEX IF EXISTS llm_calls_sha; DROP INDEX IF EXISTS candidates_run;"
	"DROP INDEX IF EXISTS ideas_run; DROP INDEX IF EXISTS runs_uid;"
	"ALTER TABLE runs RENAME TO v1_runs; ALTER TABLE ideas RENAME TO v1_ideas;"
	"ALTER TABLE candidates RENAME TO v1_candidates;"
	"ALTER TABLE evaluations RENAME TO v1_evaluations; ALTER TABLE bank RENAME TO v1_bank;"
	"ALTER TABLE llm_calls RENAME TO v1_llm_calls;";
static const char *const migrate_v1_copy =
	"INSERT INTO runs(id, problem, problem_path, problem_sha, proposer, rounds, ideas, impls,"
	" keep, seed, tolerance, gpu, arch, eager_ms, compile_ms, status, winner, final_ms,"
	" final_eager_ms, started, updated)"
	" SELECT id, problem, problem_path, problem_sha, proposer, rounds, ideas, impls, keep, seed,"
	" tolerance, gpu, arch, eager_ms, compile_ms,"
	" CASE WHEN status = 'dry-run' THEN 'dry_run'"
	"  WHEN status IN ('running', 'done', 'stopped', 'failed') THEN status ELSE 'failed' END,"
	" NULLIF(winner, 0), final_ms, final_eager_ms, started, updated FROM v1_runs;"
	"INSERT INTO ideas(id, run, round, catalog_id, category, text, parent1, parent2)"
	" SELECT id, run, round, catalog_id, category, text, NULLIF(parent1, 0), NULLIF(parent2, 0)"
	" FROM v1_ideas;"
	"INSERT INTO candidates(id, run, round, idea, parent1, parent2, origin, template, knobs,"
	" source, source_sha, created)"
	" SELECT id, run, round, NULLIF(idea, 0), NULLIF(parent1, 0), NULLIF(parent2, 0), origin,"
	" template, knobs, source, source_sha, created FROM v1_candidates;"
	"INSERT INTO evaluations(id, candidate, verdict, detail, log, pass_strict, pass_crfm, max_abs,"
	" max_rel, timed, median_ms, min_ms, max_ms, host_ms, reps, warmup, sets, flush_mb, pct_eager,"
	" pct_floor, floor_ms, gpu, sm_clock, mem_clock, compile_s, eval_s, created)"
	" SELECT * FROM v1_evaluations;"
	"INSERT INTO bank(id, problem, family, template, knobs, source, source_sha, gpu, median_ms,"
	" pct_eager, run, created)"
	" SELECT id, problem, family, template, knobs, source, source_sha, gpu, median_ms,"
	" pct_eager, NULLIF(run, 0), created FROM v1_bank;"
	"INSERT INTO llm_calls SELECT id, NULLIF(run, 0), round, kind, model, prompt_sha, prompt,"
	" reply, status, error, in_tokens, out_tokens, cached_tokens, reasoning_tokens, cost_usd,"
	" attempts, created FROM v1_llm_calls;"
	"DROP TABLE v1_evaluations; DROP TABLE v1_candidates; DROP TABLE v1_ideas;"
	"DROP TABLE v1_bank; DROP TABLE v1_llm_calls; DROP TABLE v1_runs; DROP TABLE meta;";

/* Schema 2 to 3: every run gets an identity that survives a merge into
 * another database (uid), and every evaluation the device it ran on. */
static const char *const migrate_v2 =
	"ALTER TABLE runs ADD COLUMN uid TEXT;"
	"UPDATE runs SET uid = lower(hex(randomblob(16)));"
	"CREATE UNIQUE INDEX runs_uid ON runs(uid);"
	"ALTER TABLE evaluations ADD COLUMN device TEXT;";

/* Schema 3 to 4: adaptive timing; whether an evaluation's timing stopped
 * early, and the cutoff it was judged under. */
static const char *const migrate_v3 =
	"ALTER TABLE evaluations ADD COLUMN early INT NOT NULL DEFAULT 0;"
	"ALTER TABLE evaluations ADD COLUMN cutoff_ms REAL;";

const char *run_state_name(enum run_state st)
{
	return (unsigned)st < sizeof run_state_names / sizeof run_state_names[0] ? run_state_names[st] : "?";
}

int run_state_parse(const char *name)
{
	for (int i = 0; name && i < (int)(sizeof run_state_names / sizeof run_state_names[0]); i++)
		if (!strcmp(name, run_state_names[i]))
			return i;
	return -1;
}

static int fail(struct store *s, const char *what)
{
	if (sqlite3_errcode(s->db) == SQLITE_NOTADB)
		return error("database %s: %s: it is not a SQLite database, or its first page is damaged",
			     s->path, what);
	if (sqlite3_errcode(s->db) == SQLITE_CORRUPT)
		return error("database %s: %s: the database is damaged: %s", s->path, what,
			     sqlite3_errmsg(s->db));
	return error("database %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* Runs SQL that returns no rows; reports with what on failure. */
static int run_sql(struct store *s, const char *sql, const char *what)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	error("database %s: %s: %s", s->path, what, msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return -1;
}

/* The integer the single-row query sql returns, in *v (0 when no row). */
static int query_int(struct store *s, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	*v = 0;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Whether path, or its -wal or -shm side file, exists. */
static bool db_files_exist(const char *path)
{
	bool any = false;
	const char *ext[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < sizeof ext / sizeof ext[0] && !any; i++) {
		char *p = xasprintf("%s%s", path, ext[i]);
		struct stat st;
		any = lstat(p, &st) == 0;
		free(p);
	}
	return any;
}

/*
 * Moves the database at from (with its WAL) to the new path to, which does
 * not exist yet. The old one is first made one self-contained file: its
 * journal mode is switched from WAL to DELETE, which checkpoints every
 * committed transaction of the WAL into it and removes the WAL, and which
 * SQLite refuses while any other connection has it open (a kbreed running on
 * it). Then, under an exclusive lock, it is linked (or copied, across
 * filesystems) to its new name, never over an existing file, and only then
 * is the old name removed. store_open puts the new one back in WAL mode.
 * Returns 0 when moved, 1 when not moved now (said why; from is used where
 * it is), -1 when it failed (said; from is untouched).
 */
static int move_db(const char *from, const char *to)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *dir = xstrdup(to), *slash = strrchr(dir, '/');
	char *wal = xasprintf("%s-wal", from), *shm = xasprintf("%s-shm", from);
	char *mode = NULL;
	int rc = 1;
	if (slash && slash != dir)
		*slash = '\0';
	if (slash && util_mkdirs(dir)) {
		warn("cannot make the data directory %s; the database stays at %s", dir, from);
		goto out;
	}
	if (sqlite3_open_v2(from, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 2000) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA journal_mode=DELETE", -1, &st, NULL) != SQLITE_OK) {
		warn("cannot move the database %s to %s now: %s; it is used where it is", from, to,
		     db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		mode = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	if (!mode || strcmp(mode, "delete") || util_file_exists(wal)) {
		warn("cannot move the database %s to %s now: another program has it open (%s); it is "
		     "used where it is this time", from, to, sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK) {
		warn("cannot move the database %s to %s now (%s); it is used where it is this time",
		     from, to, sqlite3_errmsg(db));
		goto out;
	}
	int linked = util_link_or_copy(from, to);
	if (linked == 0 && unlink(from)) {
		/* Two names for one database: the new one is used from now on. */
		warn("the database is at %s now, but its old name %s cannot be removed: %s", to, from,
		     strerror(errno));
	}
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (linked == 1) {
		warn("a database appeared at %s meanwhile; %s is left where it is", to, from);
		goto out;
	}
	rc = linked ? -1 : 0;
	if (rc == 0)
		unlink(shm);  /* WAL's index, rebuilt from nothing at the next open */
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(mode);
	free(shm);
	free(wal);
	free(dir);
	return rc;
}

char *store_default_path(void)
{
	const char *v = getenv("KBREED_DB");
	if (v && *v)
		return xstrdup(v);
	char *data = util_data_dir(), *cache = util_cache_dir();
	char *path = xasprintf("%s/kbreed.db", data), *old = xasprintf("%s/kbreed.db", cache);
	if (strcmp(path, old) && util_file_exists(old)) {
		if (db_files_exist(path)) {
			warn("an older database is still at %s; kbreed uses %s and leaves the old one "
			     "as it is (look at it with --db %s, then remove it)", old, path, old);
		} else {
			int moved = move_db(old, path);
			if (moved == 0) {
				info("moved the database from %s to %s: it holds the bank of winners and the "
				     "history of runs, which are results, not cache", old, path);
			} else {
				if (moved < 0)
					warn("the database stays at %s", old);
				free(path);
				path = xstrdup(old);
			}
		}
	}
	free(old);
	free(cache);
	free(data);
	return path;
}

/* What store_open found at the path. */
enum db_kind {
	DB_EMPTY,     /* no tables: kbreed makes its own */
	DB_V1,        /* kbreed's first schema: migrated */
	DB_V2,        /* kbreed's second schema: migrated */
	DB_V3,        /* kbreed's third schema: migrated */
	DB_CURRENT,   /* kbreed's, this schema */
	DB_NEWER,     /* kbreed's, from a newer kbreed: refused */
	DB_FOREIGN,   /* a SQLite database kbreed did not make: refused */
};

/* Reads what the database is, without writing. *version is its user_version. */
static int identify(struct store *s, enum db_kind *kind, int64_t *version)
{
	int64_t app, n_tables, v1, ours = 0;
	if (query_int(s, "PRAGMA application_id", &app) || query_int(s, "PRAGMA user_version", version) ||
	    query_int(s, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'",
		      &n_tables))
		return fail(s, "cannot read it as a SQLite database");
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		char *q = xasprintf("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'", tables[i]);
		int64_t has;
		int rc = query_int(s, q, &has);
		free(q);
		if (rc)
			return fail(s, "cannot read its schema");
		ours += has;
	}
	if (app == APPLICATION_ID)
		*kind = *version > STORE_SCHEMA_VERSION ? DB_NEWER
			: ours != (int64_t)(sizeof tables / sizeof tables[0]) ? DB_FOREIGN
			: *version == STORE_SCHEMA_VERSION ? DB_CURRENT : *version == 2 ? DB_V2
			: *version == 3 ? DB_V3 : DB_FOREIGN;
	else if (app != 0 || *version != 0)
		*kind = DB_FOREIGN;
	else if (n_tables == 0)
		*kind = DB_EMPTY;
	else if (query_int(s, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'", &v1) == 0 &&
		 v1 && query_int(s, "SELECT count(*) FROM meta WHERE key='schema_version' AND value='1'", &v1) == 0 &&
		 v1 && query_int(s, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='runs'", &v1) == 0 && v1)
		*kind = DB_V1;
	else
		*kind = DB_FOREIGN;
	return 0;
}

/* PRAGMA quick_check: a damaged database is named as one, before any write. */
static int check_sound(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(5)", -1, &st, NULL) != SQLITE_OK) {
		fail(s, "cannot check it");
		goto out;
	}
	struct buf why;
	buf_init(&why, 4096);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (t && strcmp(t, "ok"))
			buf_printf(&why, "%s%s", why.len ? "; " : "", t);
	}
	if (step != SQLITE_DONE)
		error("database %s: the database is damaged: %s", s->path, sqlite3_errmsg(s->db));
	else if (why.len)
		error("database %s: the database is damaged: %s", s->path, buf_str(&why));
	else
		rc = 0;
	buf_release(&why);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Makes the schema in an empty database, or migrates schema 1, in one
 * transaction; identify() runs again inside it, so two kbreeds opening a new
 * database at once make it once. */
static int make_current(struct store *s)
{
	enum db_kind kind;
	int64_t version, dangling;
	if (run_sql(s, "PRAGMA foreign_keys=OFF; BEGIN IMMEDIATE;", "cannot start a transaction"))
		return -1;
	if (identify(s, &kind, &version))
		goto rollback;
	if (kind == DB_V1) {
		info("database %s: migrating schema 1 to %d", s->path, STORE_SCHEMA_VERSION);
		if (run_sql(s, schema_v1, "cannot migrate schema 1") ||
		    run_sql(s, migrate_v1_aside, "cannot migrate schema 1") ||
		    run_sql(s, schema, "cannot migrate schema 1") ||
		    run_sql(s, migrate_v1_copy, "cannot migrate schema 1"))
			goto rollback;
		if (query_int(s, "SELECT count(*) FROM pragma_foreign_key_check", &dangling)) {
			fail(s, "cannot check references");
			goto rollback;
		}
		if (dangling) {
			error("database %s: cannot migrate schema 1: %lld references lead to no row",
			      s->path, (long long)dangling);
			goto rollback;
		}
	} else if (kind == DB_V2 || kind == DB_V3) {
		info("database %s: migrating schema %d to %d", s->path, kind == DB_V2 ? 2 : 3, STORE_SCHEMA_VERSION);
		if ((kind == DB_V2 && run_sql(s, migrate_v2, "cannot migrate schema 2")) ||
		    run_sql(s, migrate_v3, "cannot migrate schema 3"))
			goto rollback;
	} else if (kind == DB_EMPTY) {
		if (run_sql(s, schema, "cannot create the schema"))
			goto rollback;
	} else if (kind != DB_CURRENT) {
		error("database %s changed while it was opened", s->path);
		goto rollback;
	}
	char *ids = xasprintf("PRAGMA application_id=%d; PRAGMA user_version=%d; COMMIT;"
			      " PRAGMA foreign_keys=ON;", APPLICATION_ID, STORE_SCHEMA_VERSION);
	int rc = run_sql(s, ids, "cannot write");
	free(ids);
	if (rc)
		goto rollback;
	return 0;
rollback:
	sqlite3_exec(s->db, "ROLLBACK; PRAGMA foreign_keys=ON;", NULL, NULL, NULL);
	return -1;
}

struct store *store_open(const char *path)
{
	struct store *s = xcalloc(1, sizeof *s);
	char *dir = NULL;
	s->path = xstrdup(path ? path : "");
	if (!*s->path) {
		/* SQLite would open a private temporary database, lost at close. */
		error("the database path is empty");
		goto fail;
	}
	dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (util_mkdirs(dir)) {
			error("database %s: cannot create its directory", path);
			goto fail;
		}
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		fail(s, "cannot open");
		goto fail;
	}
	if (sqlite3_busy_timeout(s->db, 10000) != SQLITE_OK) {
		fail(s, "cannot set a busy timeout");
		goto fail;
	}
	/* Nothing is written before the database is known to be kbreed's, of
	 * a schema this kbreed knows, and sound. */
	enum db_kind kind;
	int64_t version;
	if (identify(s, &kind, &version))
		goto fail;
	if (kind == DB_NEWER) {
		error("database %s has schema version %lld, from a newer kbreed; this one knows %d",
		      path, (long long)version, STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (kind == DB_FOREIGN) {
		error("database %s is not a kbreed database (it holds tables kbreed did not make); "
		      "give kbreed a file of its own", path);
		goto fail;
	}
	if (check_sound(s))
		goto fail;
	if (run_sql(s, "PRAGMA foreign_keys=ON", "is not usable") ||
	    (kind != DB_CURRENT && make_current(s)) ||
	    run_sql(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "is not usable"))
		goto fail;
	free(dir);
	return s;
fail:
	free(dir);
	store_close(s);
	return NULL;
}

/* The start time of a process (clock ticks after boot, /proc/PID/stat
 * field 22), which tells a live holder from a later process given its pid;
 * 0 when unknown. */
static long long pid_start(pid_t pid)
{
	char *path = xasprintf("/proc/%d/stat", (int)pid), *data = NULL;
	long long start = 0;
	if (util_read_file(path, 1 << 16, &data, NULL) == 0) {
		const char *p = strrchr(data, ')');  /* the name may hold spaces */
		for (int field = 2; p && *p && field < 22; p++)
			if (*p == ' ')
				field++;
		if (p)
			start = strtoll(p, NULL, 10);
	}
	free(data);
	free(path);
	return start;
}

/* Whether the process that took a lock still lives. */
static bool holder_alive(pid_t pid, long long start)
{
	if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		return false;
	long long now = pid_start(pid);
	return !(start && now && now != start);
}

int store_run_lock(struct store *s, int64_t run)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (s->locked_run == run)
		return 0;
	if (s->locked_run)
		return error("database %s: this store holds the lock of run %lld already", s->path,
			     (long long)s->locked_run);
	if (run_sql(s, "BEGIN IMMEDIATE", "cannot start a transaction"))
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT pid, pid_start, since FROM run_locks WHERE run=?", -1, &st,
			       NULL) != SQLITE_OK || sqlite3_bind_int64(st, 1, run) != SQLITE_OK) {
		fail(s, "cannot read run_locks");
		goto out;
	}
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		pid_t pid = (pid_t)sqlite3_column_int64(st, 0);
		if (holder_alive(pid, sqlite3_column_int64(st, 1))) {
			error("run %lld is running already, in process %d (since %s UTC); wait for it, or stop it",
			      (long long)run, (int)pid, sqlite3_column_text(st, 2));
			goto out;
		}
		warn("run %lld: taking over the lock of process %d, which is gone", (long long)run, (int)pid);
	} else if (step != SQLITE_DONE) {
		fail(s, "cannot read run_locks");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (exec(s, "INSERT OR REPLACE INTO run_locks(run, pid, pid_start) VALUES(?,?,?)", "iii", run,
		 (int64_t)getpid(), (int64_t)pid_start(getpid())) ||
	    run_sql(s, "COMMIT", "cannot write"))
		goto out;
	s->locked_run = run;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->db && s->locked_run &&
	    exec(s, "DELETE FROM run_locks WHERE run=? AND pid=?", "ii", s->locked_run, (int64_t)getpid()))
		warn("run %lld stays locked until this process is gone", (long long)s->locked_run);
	if (s->db)
		sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* Binds values by a tiny format: 'i' int64, 'r' a reference (int64 id, 0
 * bound as NULL), 'd' double, 's' text (NULL ok). */
static int bind(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	for (int i = 0; fmt[i]; i++) {
		int rc;
		if (fmt[i] == 'i')
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		else if (fmt[i] == 'r') {
			int64_t id = va_arg(ap, int64_t);
			rc = id ? sqlite3_bind_int64(st, i + 1, id) : sqlite3_bind_null(st, i + 1);
		}
		else if (fmt[i] == 'd')
			rc = sqlite3_bind_double(st, i + 1, va_arg(ap, double));
		else {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i + 1);
		}
		if (rc != SQLITE_OK)
			return -1;
	}
	return 0;
}

/* Runs one statement that returns no rows. */
static int exec(struct store *s, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	va_list ap;
	va_start(ap, fmt);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK || bind(st, fmt, ap)) {
		fail(s, "cannot prepare a statement");
		goto out;
	}
	int step = sqlite3_step(st);
	if (step != SQLITE_DONE) {
		fail(s, step == SQLITE_CONSTRAINT ? "constraint failed" : "cannot write");
		rc = step == SQLITE_CONSTRAINT ? -2 : -1;
		goto out;
	}
	rc = 0;
out:
	va_end(ap);
	sqlite3_finalize(st);
	return rc;
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return xstrdup(t ? (const char *)t : "");
}

int store_run_create(struct store *s, struct run_row *r)
{
	int rc = exec(s, "INSERT INTO runs(problem, problem_path, problem_sha, proposer, rounds, ideas,"
		      " impls, keep, seed, tolerance, gpu, arch, eager_ms, compile_ms, status, uid)"
		      " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, lower(hex(randomblob(16))))", "ssssiiiiisssdds",
		      r->problem, r->problem_path, r->problem_sha, r->proposer, (int64_t)r->rounds,
		      (int64_t)r->ideas, (int64_t)r->impls, (int64_t)r->keep, (int64_t)r->seed,
		      r->tolerance, r->gpu, r->arch, r->eager_ms, r->compile_ms,
		      run_state_name(r->status));
	if (rc)
		return -1;
	r->id = sqlite3_last_insert_rowid(s->db);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT uid FROM runs WHERE id=?", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, r->id) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return fail(s, "cannot read runs");
	}
	free(r->uid);
	r->uid = col_text(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int store_run_update(struct store *s, const struct run_row *r)
{
	return exec(s, "UPDATE runs SET status=?, winner=?, final_ms=?, final_eager_ms=?,"
		    " eager_ms=?, compile_ms=?, updated=datetime('now') WHERE id=?", "srddddi",
		    run_state_name(r->status), r->winner, r->final_ms, r->final_eager_ms, r->eager_ms, r->compile_ms,
		    r->id) ? -1 : 0;
}

/* The columns read_run() reads, in its order. */
#define RUN_COLUMNS "id, problem, problem_path, problem_sha, proposer, rounds, ideas, impls, keep, seed," \
	" tolerance, gpu, arch, eager_ms, compile_ms, status, winner, final_ms, final_eager_ms, started, uid"

/* Reads a row of RUN_COLUMNS into r. Returns 0, or -1 after a message. */
static int read_run(struct store *s, sqlite3_stmt *st, struct run_row *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(st, 0);
	const char *status = (const char *)sqlite3_column_text(st, 15);
	int state = run_state_parse(status);
	if (state < 0)
		return error("database %s: run %lld has an unknown state '%s'", s->path, (long long)r->id,
			     status ? status : "");
	r->problem = col_text(st, 1);
	r->problem_path = col_text(st, 2);
	r->problem_sha = col_text(st, 3);
	r->proposer = col_text(st, 4);
	r->rounds = sqlite3_column_int(st, 5);
	r->ideas = sqlite3_column_int(st, 6);
	r->impls = sqlite3_column_int(st, 7);
	r->keep = sqlite3_column_int(st, 8);
	r->seed = sqlite3_column_int(st, 9);
	r->tolerance = col_text(st, 10);
	r->gpu = col_text(st, 11);
	r->arch = col_text(st, 12);
	r->eager_ms = sqlite3_column_double(st, 13);
	r->compile_ms = sqlite3_column_double(st, 14);
	r->status = (enum run_state)state;
	r->winner = sqlite3_column_int64(st, 16);
	r->final_ms = sqlite3_column_double(st, 17);
	r->final_eager_ms = sqlite3_column_double(st, 18);
	r->started = col_text(st, 19);
	r->uid = col_text(st, 20);
	return 0;
}

int store_run_get(struct store *s, int64_t id, struct run_row *r)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT " RUN_COLUMNS " FROM runs WHERE id=?", -1, &st, NULL) != SQLITE_OK) {
		fail(s, "cannot read runs");
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		if (step == SQLITE_DONE)
			error("database %s has no run %lld", s->path, (long long)id);
		else
			fail(s, "cannot read runs");
		goto out;
	}
	rc = read_run(s, st, r);
	if (rc)
		run_row_release(r);
out:
	sqlite3_finalize(st);
	return rc;
}

int store_runs(struct store *s, struct run_row **rows, int *n)
{
	sqlite3_stmt *st = NULL;
	int cap = 0, step, rc = -1;
	*rows = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT " RUN_COLUMNS " FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read runs");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*rows = xrealloc(*rows, (size_t)cap * sizeof **rows);
		}
		if (read_run(s, st, &(*rows)[*n])) {
			run_row_release(&(*rows)[*n]);
			goto out;
		}
		(*n)++;
	}
	rc = step == SQLITE_DONE ? 0 : fail(s, "cannot read runs");
out:
	sqlite3_finalize(st);
	if (rc) {
		for (int i = 0; i < *n; i++)
			run_row_release(&(*rows)[i]);
		free(*rows);
		*rows = NULL;
		*n = 0;
	}
	return rc;
}

void run_row_release(struct run_row *r)
{
	free(r->problem);
	free(r->problem_path);
	free(r->problem_sha);
	free(r->proposer);
	free(r->tolerance);
	free(r->gpu);
	free(r->arch);
	free(r->uid);
	free(r->started);
	memset(r, 0, sizeof *r);
}

int store_idea_put(struct store *s, struct idea_row *i)
{
	int rc = exec(s, "INSERT INTO ideas(run, round, catalog_id, category, text, parent1, parent2)"
		      " VALUES(?,?,?,?,?,?,?)", "iisssrr", i->run, (int64_t)i->round, i->catalog_id,
		      i->category, i->text, i->parent1, i->parent2);
	if (!rc)
		i->id = sqlite3_last_insert_rowid(s->db);
	return rc ? -1 : 0;
}

int store_ideas_of_run(struct store *s, int64_t run, struct idea_row **rows, int *n)
{
	sqlite3_stmt *st = NULL;
	*rows = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT id, round, catalog_id, category, text, parent1, parent2"
			       " FROM ideas WHERE run=? ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read ideas");
	sqlite3_bind_int64(st, 1, run);
	int cap = 0, step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*rows = xrealloc(*rows, (size_t)cap * sizeof **rows);
		}
		struct idea_row *i = &(*rows)[(*n)++];
		i->id = sqlite3_column_int64(st, 0);
		i->run = run;
		i->round = sqlite3_column_int(st, 1);
		i->catalog_id = col_text(st, 2);
		i->category = col_text(st, 3);
		i->text = col_text(st, 4);
		i->parent1 = sqlite3_column_int64(st, 5);
		i->parent2 = sqlite3_column_int64(st, 6);
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : fail(s, "cannot read ideas");
}

void idea_row_release(struct idea_row *i)
{
	free(i->catalog_id);
	free(i->category);
	free(i->text);
	memset(i, 0, sizeof *i);
}

int store_candidate_put(struct store *s, struct cand_row *c, bool *dup)
{
	*dup = false;
	util_sha256_hex(c->source, strlen(c->source), c->sha);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT id FROM candidates WHERE run=? AND source_sha=?", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read candidates");
	sqlite3_bind_int64(st, 1, c->run);
	sqlite3_bind_text(st, 2, c->sha, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		c->id = sqlite3_column_int64(st, 0);
		*dup = true;
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	int rc = exec(s, "INSERT INTO candidates(run, round, idea, parent1, parent2, origin, template,"
		      " knobs, source, source_sha) VALUES(?,?,?,?,?,?,?,?,?,?)", "iirrrsssss", c->run,
		      (int64_t)c->round, c->idea, c->parent1, c->parent2, c->origin, c->template_name,
		      c->knobs, c->source, c->sha);
	if (!rc)
		c->id = sqlite3_last_insert_rowid(s->db);
	return rc ? -1 : 0;
}

/* The columns read_cand() reads, in its order: a candidate and its
 * evaluation's summary, if any. */
#define CAND_COLUMNS "c.id, c.round, c.idea, c.parent1, c.parent2, c.origin, c.template, c.knobs," \
	" c.source, c.source_sha, e.verdict, e.detail, e.median_ms, e.pct_eager, e.pct_floor," \
	" e.id IS NOT NULL, c.run, e.early FROM candidates c LEFT JOIN evaluations e ON e.candidate = c.id"

/* Reads a row of CAND_COLUMNS into c. Returns 0, or -1 after a message. */
static int read_cand(sqlite3_stmt *st, struct cand_row *c)
{
	memset(c, 0, sizeof *c);
	c->id = sqlite3_column_int64(st, 0);
	c->run = sqlite3_column_int64(st, 16);
	c->early = sqlite3_column_int(st, 17) != 0;
	c->evaluated = sqlite3_column_int(st, 15);
	const char *v = (const char *)sqlite3_column_text(st, 10);
	if (c->evaluated && (!v || verdict_parse(v, &c->verdict)))
		return error("candidate %lld has an unknown verdict '%s'", (long long)c->id, v ? v : "");
	c->round = sqlite3_column_int(st, 1);
	c->idea = sqlite3_column_int64(st, 2);
	c->parent1 = sqlite3_column_int64(st, 3);
	c->parent2 = sqlite3_column_int64(st, 4);
	c->origin = col_text(st, 5);
	c->template_name = col_text(st, 6);
	c->knobs = col_text(st, 7);
	c->source = col_text(st, 8);
	snprintf(c->sha, sizeof c->sha, "%s", sqlite3_column_text(st, 9) ? (const char *)sqlite3_column_text(st, 9) : "");
	c->detail = col_text(st, 11);
	c->median_ms = sqlite3_column_double(st, 12);
	c->pct_eager = sqlite3_column_double(st, 13);
	c->pct_floor = sqlite3_column_double(st, 14);
	return 0;
}

int store_candidates_of_run(struct store *s, int64_t run, struct cand_row **rows, int *n)
{
	sqlite3_stmt *st = NULL;
	*rows = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT " CAND_COLUMNS " WHERE c.run=? ORDER BY c.id", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read candidates");
	sqlite3_bind_int64(st, 1, run);
	int cap = 0, step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*rows = xrealloc(*rows, (size_t)cap * sizeof **rows);
		}
		if (read_cand(st, &(*rows)[(*n)++])) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : fail(s, "cannot read candidates");
}

int store_candidate_get(struct store *s, int64_t id, struct cand_row *c)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	memset(c, 0, sizeof *c);
	if (sqlite3_prepare_v2(s->db, "SELECT " CAND_COLUMNS " WHERE c.id=?", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read candidates");
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		rc = read_cand(st, c);
		if (rc)
			cand_row_release(c);
	} else if (step == SQLITE_DONE) {
		error("database %s has no candidate %lld", s->path, (long long)id);
	} else {
		fail(s, "cannot read candidates");
	}
	sqlite3_finalize(st);
	return rc;
}

void cand_row_release(struct cand_row *c)
{
	free(c->origin);
	free(c->template_name);
	free(c->knobs);
	free(c->source);
	free(c->detail);
	memset(c, 0, sizeof *c);
}

char *store_candidate_source(struct store *s, int64_t id)
{
	sqlite3_stmt *st = NULL;
	char *src = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT source FROM candidates WHERE id=?", -1, &st, NULL) != SQLITE_OK) {
		fail(s, "cannot read candidates");
		return NULL;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		src = col_text(st, 0);
	else
		error("database %s has no candidate %lld", s->path, (long long)id);
	sqlite3_finalize(st);
	return src;
}

int store_candidate_run(struct store *s, int64_t id, int64_t *run)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT run FROM candidates WHERE id=?", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read candidates");
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*run = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (step == SQLITE_DONE) {
		error("database %s has no candidate %lld", s->path, (long long)id);
	} else {
		fail(s, "cannot read candidates");
	}
	sqlite3_finalize(st);
	return rc;
}

int store_eval_put(struct store *s, int64_t candidate, const struct eval_row *e)
{
	/* An evaluation is stored once, even when a resumed run races a crash
	 * between the write and its own bookkeeping; only that conflict is let
	 * pass (INSERT OR IGNORE would drop a verdict the CHECK refuses, too). */
	return exec(s, "INSERT INTO evaluations(candidate, verdict, detail, log, pass_strict,"
		    " pass_crfm, max_abs, max_rel, timed, median_ms, min_ms, max_ms, host_ms, reps,"
		    " warmup, sets, flush_mb, pct_eager, pct_floor, floor_ms, gpu, sm_clock, mem_clock,"
		    " compile_s, eval_s, device, early, cutoff_ms)"
		    " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
		    " ON CONFLICT(candidate) DO NOTHING",
		    "isssiiddiddddiiiidddsiiddsid", candidate, verdict_name(e->verdict), e->detail, e->log,
		    (int64_t)e->pass_strict, (int64_t)e->pass_crfm, e->max_abs, e->max_rel,
		    (int64_t)e->timed, e->median_ms, e->min_ms, e->max_ms, e->host_ms, (int64_t)e->reps,
		    (int64_t)e->warmup, (int64_t)e->sets, (int64_t)e->flush_mb, e->pct_eager,
		    e->pct_floor, e->floor_ms, e->gpu, (int64_t)e->sm_clock, (int64_t)e->mem_clock,
		    e->compile_s, e->eval_s, e->device, (int64_t)e->early, e->cutoff_ms) ? -1 : 0;
}

char *store_eval_report(struct store *s, int64_t candidate)
{
	sqlite3_stmt *st = NULL;
	char *report = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT verdict, detail, log FROM evaluations WHERE candidate=?",
			       -1, &st, NULL) != SQLITE_OK) {
		fail(s, "cannot read evaluations");
		return NULL;
	}
	sqlite3_bind_int64(st, 1, candidate);
	if (sqlite3_step(st) == SQLITE_ROW) {
		char *v = col_text(st, 0), *d = col_text(st, 1), *l = col_text(st, 2);
		report = xasprintf("%s: %s\n%s", v, d, l);
		free(v);
		free(d);
		free(l);
	}
	sqlite3_finalize(st);
	return report ? report : xstrdup("");
}

int store_eval_get(struct store *s, int64_t candidate, struct eval_record *e)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	memset(e, 0, sizeof *e);
	if (sqlite3_prepare_v2(s->db, "SELECT verdict, detail, log, pass_strict, pass_crfm, max_abs, max_rel,"
			       " timed, median_ms, min_ms, max_ms, host_ms, reps, warmup, sets, flush_mb,"
			       " pct_eager, pct_floor, floor_ms, gpu, sm_clock, mem_clock, compile_s, eval_s, device"
			       " FROM evaluations WHERE candidate=?", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read evaluations");
	sqlite3_bind_int64(st, 1, candidate);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = 1;
		goto out;
	}
	if (step != SQLITE_ROW) {
		fail(s, "cannot read evaluations");
		goto out;
	}
	struct eval_row *r = &e->row;
	const char *v = (const char *)sqlite3_column_text(st, 0);
	if (!v || verdict_parse(v, &r->verdict)) {
		error("candidate %lld has an unknown verdict '%s'", (long long)candidate, v ? v : "");
		goto out;
	}
	r->detail = e->detail = col_text(st, 1);
	r->log = e->log = col_text(st, 2);
	r->pass_strict = sqlite3_column_int(st, 3);
	r->pass_crfm = sqlite3_column_int(st, 4);
	r->max_abs = sqlite3_column_double(st, 5);
	r->max_rel = sqlite3_column_double(st, 6);
	r->timed = sqlite3_column_int(st, 7);
	r->median_ms = sqlite3_column_double(st, 8);
	r->min_ms = sqlite3_column_double(st, 9);
	r->max_ms = sqlite3_column_double(st, 10);
	r->host_ms = sqlite3_column_double(st, 11);
	r->reps = sqlite3_column_int(st, 12);
	r->warmup = sqlite3_column_int(st, 13);
	r->sets = sqlite3_column_int(st, 14);
	r->flush_mb = sqlite3_column_int(st, 15);
	r->pct_eager = sqlite3_column_double(st, 16);
	r->pct_floor = sqlite3_column_double(st, 17);
	r->floor_ms = sqlite3_column_double(st, 18);
	r->gpu = e->gpu = col_text(st, 19);
	r->sm_clock = sqlite3_column_int(st, 20);
	r->mem_clock = sqlite3_column_int(st, 21);
	r->compile_s = sqlite3_column_double(st, 22);
	r->eval_s = sqlite3_column_double(st, 23);
	r->device = e->device = col_text(st, 24);
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc)
		eval_record_release(e);
	return rc;
}

void eval_record_release(struct eval_record *e)
{
	free(e->detail);
	free(e->log);
	free(e->gpu);
	free(e->device);
	memset(e, 0, sizeof *e);
}

int store_llm_call_put(struct store *s, const struct llm_call_row *c)
{
	return exec(s, "INSERT INTO llm_calls(run, round, kind, model, prompt_sha, prompt, reply, status,"
		    " error, in_tokens, out_tokens, cached_tokens, reasoning_tokens, cost_usd, attempts)"
		    " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", "risssssssiiiidi", c->run, (int64_t)c->round,
		    c->kind, c->model, c->prompt_sha, c->prompt, c->reply, c->status, c->error,
		    (int64_t)c->in_tokens, (int64_t)c->out_tokens, (int64_t)c->cached_tokens,
		    (int64_t)c->reasoning_tokens, c->cost_usd, (int64_t)c->attempts) ? -1 : 0;
}

char *store_llm_cached(struct store *s, const char *prompt_sha)
{
	sqlite3_stmt *st = NULL;
	char *reply = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT reply FROM llm_calls WHERE prompt_sha=? AND status='ok'"
			       " AND reply IS NOT NULL ORDER BY id LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
		fail(s, "cannot read llm_calls");
		return NULL;
	}
	sqlite3_bind_text(st, 1, prompt_sha, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		reply = col_text(st, 0);
	sqlite3_finalize(st);
	return reply;
}

int store_llm_totals(struct store *s, int64_t run, long *tokens, double *cost)
{
	sqlite3_stmt *st = NULL;
	*tokens = 0;
	*cost = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(sum(in_tokens + out_tokens), 0), coalesce(sum(cost_usd), 0)"
			       " FROM llm_calls WHERE run=?", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read llm_calls");
	sqlite3_bind_int64(st, 1, run);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*tokens = (long)sqlite3_column_int64(st, 0);
		*cost = sqlite3_column_double(st, 1);
	}
	sqlite3_finalize(st);
	return 0;
}

int store_bank_put(struct store *s, const struct bank_row *b)
{
	char sha[65];
	util_sha256_hex(b->source, strlen(b->source), sha);
	return exec(s, "INSERT INTO bank(problem, family, template, knobs, source, source_sha, gpu,"
		    " median_ms, pct_eager, run) VALUES(?,?,?,?,?,?,?,?,?,?)"
		    " ON CONFLICT(problem, gpu, source_sha) DO UPDATE SET median_ms=excluded.median_ms,"
		    " pct_eager=excluded.pct_eager, run=excluded.run", "sssssssddr", b->problem,
		    b->family, b->template_name, b->knobs, b->source, sha, b->gpu, b->median_ms,
		    b->pct_eager, b->run) ? -1 : 0;
}

int store_bank_for(struct store *s, const char *problem, const char *family, const char *gpu,
		   struct bank_row **rows, int *n)
{
	sqlite3_stmt *st = NULL;
	*rows = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT id, problem, family, template, knobs, source, gpu,"
			       " median_ms, pct_eager, run FROM bank"
			       " WHERE (problem=? OR instr(' ' || ? || ' ', ' ' || family || ' ') > 0)"
			       " AND (gpu=? OR ? IS NULL) ORDER BY problem<>?, pct_eager DESC", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read the bank");
	sqlite3_bind_text(st, 1, problem, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, family, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, gpu, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, gpu, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, problem, -1, SQLITE_TRANSIENT);
	int cap = 0, step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*rows = xrealloc(*rows, (size_t)cap * sizeof **rows);
		}
		struct bank_row *b = &(*rows)[(*n)++];
		b->id = sqlite3_column_int64(st, 0);
		b->problem = col_text(st, 1);
		b->family = col_text(st, 2);
		b->template_name = col_text(st, 3);
		b->knobs = col_text(st, 4);
		b->source = col_text(st, 5);
		b->gpu = col_text(st, 6);
		b->median_ms = sqlite3_column_double(st, 7);
		b->pct_eager = sqlite3_column_double(st, 8);
		b->run = sqlite3_column_int64(st, 9);
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : fail(s, "cannot read the bank");
}

void bank_row_release(struct bank_row *b)
{
	free(b->problem);
	free(b->family);
	free(b->template_name);
	free(b->knobs);
	free(b->source);
	free(b->gpu);
	memset(b, 0, sizeof *b);
}

int store_run_latest(struct store *s, const char *problem_path, struct run_row *r)
{
	int64_t id = 0;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT max(id) FROM runs WHERE problem_path=?", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "cannot read runs");
	sqlite3_bind_text(st, 1, problem_path, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (step != SQLITE_ROW)
		return fail(s, "cannot read runs");
	if (!id)
		return 0;
	return store_run_get(s, id, r) ? -1 : 1;
}

/* ---- merge ------------------------------------------------------------------
 *
 * Each source's rows are copied into temporary tables of the target's
 * connection (temp.s_runs ...), inside the target's one transaction; SQL then
 * maps every source id to a target id (temp.m_run, m_idea, m_cand: an
 * existing row of the same identity, else a new id above the target's
 * largest) and inserts what the target lacks. Foreign keys are checked at
 * COMMIT (defer_foreign_keys): ideas and candidates name each other. */

static const char *const merge_tables[] = { "runs", "ideas", "candidates", "evaluations", "bank", "llm_calls" };

/* Copies every row of table from src into temp.s_<table> of dst. */
static int merge_copy_table(struct store *dst, struct store *src, const char *table)
{
	sqlite3_stmt *in = NULL, *out = NULL;
	int rc = -1;
	char *sel = xasprintf("SELECT * FROM main.%s", table), *ins = NULL;
	if (sqlite3_prepare_v2(src->db, sel, -1, &in, NULL) != SQLITE_OK) {
		fail(src, "cannot read it");
		goto out;
	}
	int cols = sqlite3_column_count(in);
	struct buf q;
	buf_init(&q, 1u << 16);
	buf_printf(&q, "INSERT INTO temp.s_%s VALUES(", table);
	for (int i = 0; i < cols; i++)
		buf_printf(&q, "%s?", i ? "," : "");
	buf_printf(&q, ")");
	ins = buf_detach(&q);
	if (sqlite3_prepare_v2(dst->db, ins, -1, &out, NULL) != SQLITE_OK) {
		fail(dst, "cannot copy a source's rows (another schema?)");
		goto out;
	}
	int step;
	while ((step = sqlite3_step(in)) == SQLITE_ROW) {
		for (int i = 0; i < cols; i++)
			if (sqlite3_bind_value(out, i + 1, sqlite3_column_value(in, i)) != SQLITE_OK) {
				fail(dst, "cannot copy a source's rows");
				goto out;
			}
		if (sqlite3_step(out) != SQLITE_DONE || sqlite3_reset(out) != SQLITE_OK) {
			fail(dst, "cannot copy a source's rows");
			goto out;
		}
	}
	if (step != SQLITE_DONE) {
		fail(src, "cannot read it");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(in);
	sqlite3_finalize(out);
	free(sel);
	free(ins);
	return rc;
}

/* One source's rows, now in temp.s_*, into the target. */
static const char *const merge_map_sql =
	"DELETE FROM temp.m_run; DELETE FROM temp.m_idea; DELETE FROM temp.m_cand;"
	/* runs: the same uid is the same run */
	"INSERT INTO temp.m_run SELECT s.id, r.id, 0 FROM temp.s_runs s JOIN main.runs r ON r.uid = s.uid;"
	"INSERT INTO temp.m_run SELECT s.id, (SELECT coalesce(max(id), 0) FROM main.runs)"
	" + row_number() OVER (ORDER BY s.id), 1 FROM temp.s_runs s"
	" WHERE s.id NOT IN (SELECT src FROM temp.m_run);"
	/* ideas: the same run, round, catalog entry and text */
	"INSERT INTO temp.m_idea SELECT x.id, x.dst, 0 FROM (SELECT s.id AS id, (SELECT min(i.id)"
	" FROM main.ideas i WHERE i.run = m.dst AND i.round IS s.round AND i.catalog_id IS s.catalog_id"
	" AND i.text IS s.text) AS dst FROM temp.s_ideas s JOIN temp.m_run m ON m.src = s.run) x"
	" WHERE x.dst IS NOT NULL;"
	"INSERT INTO temp.m_idea SELECT s.id, (SELECT coalesce(max(id), 0) FROM main.ideas)"
	" + row_number() OVER (ORDER BY s.id), 1 FROM temp.s_ideas s"
	" WHERE s.id NOT IN (SELECT src FROM temp.m_idea);"
	/* candidates: the same run and source */
	"INSERT INTO temp.m_cand SELECT s.id, c.id, 0 FROM temp.s_candidates s"
	" JOIN temp.m_run m ON m.src = s.run JOIN main.candidates c ON c.run = m.dst"
	" AND c.source_sha = s.source_sha;"
	"INSERT INTO temp.m_cand SELECT s.id, (SELECT coalesce(max(id), 0) FROM main.candidates)"
	" + row_number() OVER (ORDER BY s.id), 1 FROM temp.s_candidates s"
	" WHERE s.id NOT IN (SELECT src FROM temp.m_cand);";

static const char *const merge_runs_sql =
	"INSERT INTO main.runs(id, problem, problem_path, problem_sha, proposer, rounds, ideas, impls,"
	" keep, seed, tolerance, gpu, arch, eager_ms, compile_ms, status, winner, final_ms,"
	" final_eager_ms, started, updated, uid)"
	" SELECT m.dst, s.problem, s.problem_path, s.problem_sha, s.proposer, s.rounds, s.ideas,"
	" s.impls, s.keep, s.seed, s.tolerance, s.gpu, s.arch, s.eager_ms, s.compile_ms, s.status,"
	" w.dst, s.final_ms, s.final_eager_ms, s.started, s.updated, s.uid"
	" FROM temp.s_runs s JOIN temp.m_run m ON m.src = s.id LEFT JOIN temp.m_cand w ON w.src = s.winner"
	" WHERE m.new ORDER BY s.id;";

static const char *const merge_advance_sql =
	"UPDATE main.runs SET (status, winner, final_ms, final_eager_ms, eager_ms, compile_ms, updated) ="
	" (SELECT s.status, w.dst, s.final_ms, s.final_eager_ms, s.eager_ms, s.compile_ms, s.updated"
	"  FROM temp.m_run m JOIN temp.s_runs s ON s.id = m.src LEFT JOIN temp.m_cand w ON w.src = s.winner"
	"  WHERE m.dst = runs.id)"
	" WHERE id IN (SELECT m.dst FROM temp.m_run m JOIN temp.s_runs s ON s.id = m.src JOIN main.runs r"
	"  ON r.id = m.dst WHERE NOT m.new AND s.updated > coalesce(r.updated, ''));";

static const char *const merge_ideas_sql =
	"INSERT INTO main.ideas(id, run, round, catalog_id, category, text, parent1, parent2)"
	" SELECT mi.dst, m.dst, s.round, s.catalog_id, s.category, s.text, p1.dst, p2.dst"
	" FROM temp.s_ideas s JOIN temp.m_idea mi ON mi.src = s.id JOIN temp.m_run m ON m.src = s.run"
	" LEFT JOIN temp.m_cand p1 ON p1.src = s.parent1 LEFT JOIN temp.m_cand p2 ON p2.src = s.parent2"
	" WHERE mi.new ORDER BY s.id;";

static const char *const merge_cands_sql =
	"INSERT INTO main.candidates(id, run, round, idea, parent1, parent2, origin, template, knobs,"
	" source, source_sha, created)"
	" SELECT mc.dst, m.dst, s.round, mi.dst, p1.dst, p2.dst, s.origin, s.template, s.knobs,"
	" s.source, s.source_sha, s.created"
	" FROM temp.s_candidates s JOIN temp.m_cand mc ON mc.src = s.id JOIN temp.m_run m ON m.src = s.run"
	" LEFT JOIN temp.m_idea mi ON mi.src = s.idea LEFT JOIN temp.m_cand p1 ON p1.src = s.parent1"
	" LEFT JOIN temp.m_cand p2 ON p2.src = s.parent2 WHERE mc.new ORDER BY s.id;";

static const char *const merge_evals_sql =
	"INSERT INTO main.evaluations(candidate, verdict, detail, log, pass_strict, pass_crfm, max_abs,"
	" max_rel, timed, median_ms, min_ms, max_ms, host_ms, reps, warmup, sets, flush_mb, pct_eager,"
	" pct_floor, floor_ms, gpu, sm_clock, mem_clock, compile_s, eval_s, created, device, early, cutoff_ms)"
	" SELECT mc.dst, s.verdict, s.detail, s.log, s.pass_strict, s.pass_crfm, s.max_abs, s.max_rel,"
	" s.timed, s.median_ms, s.min_ms, s.max_ms, s.host_ms, s.reps, s.warmup, s.sets, s.flush_mb,"
	" s.pct_eager, s.pct_floor, s.floor_ms, s.gpu, s.sm_clock, s.mem_clock, s.compile_s, s.eval_s,"
	" s.created, s.device, s.early, s.cutoff_ms FROM temp.s_evaluations s JOIN temp.m_cand mc ON mc.src = s.candidate"
	" WHERE NOT EXISTS (SELECT 1 FROM main.evaluations e WHERE e.candidate = mc.dst) ORDER BY s.id;";

static const char *const merge_bank_faster_sql =
	"UPDATE main.bank SET (median_ms, pct_eager, run) = (SELECT s.median_ms, s.pct_eager, m.dst"
	"  FROM temp.s_bank s LEFT JOIN temp.m_run m ON m.src = s.run WHERE s.problem IS bank.problem"
	"  AND s.gpu IS bank.gpu AND s.source_sha = bank.source_sha ORDER BY s.median_ms LIMIT 1)"
	" WHERE EXISTS (SELECT 1 FROM temp.s_bank s WHERE s.problem IS bank.problem AND s.gpu IS bank.gpu"
	"  AND s.source_sha = bank.source_sha AND s.median_ms < bank.median_ms);";

static const char *const merge_bank_new_sql =
	"INSERT INTO main.bank(problem, family, template, knobs, source, source_sha, gpu, median_ms,"
	" pct_eager, run, created)"
	" SELECT s.problem, s.family, s.template, s.knobs, s.source, s.source_sha, s.gpu, s.median_ms,"
	" s.pct_eager, m.dst, s.created FROM temp.s_bank s LEFT JOIN temp.m_run m ON m.src = s.run"
	" WHERE NOT EXISTS (SELECT 1 FROM main.bank b WHERE b.problem IS s.problem AND b.gpu IS s.gpu"
	" AND b.source_sha = s.source_sha) ORDER BY s.id;";

static const char *const merge_llm_sql =
	"INSERT INTO main.llm_calls(run, round, kind, model, prompt_sha, prompt, reply, status, error,"
	" in_tokens, out_tokens, cached_tokens, reasoning_tokens, cost_usd, attempts, created)"
	" SELECT m.dst, s.round, s.kind, s.model, s.prompt_sha, s.prompt, s.reply, s.status, s.error,"
	" s.in_tokens, s.out_tokens, s.cached_tokens, s.reasoning_tokens, s.cost_usd, s.attempts,"
	" s.created FROM temp.s_llm_calls s LEFT JOIN temp.m_run m ON m.src = s.run"
	" WHERE NOT EXISTS (SELECT 1 FROM main.llm_calls c WHERE c.run IS m.dst AND c.round IS s.round"
	" AND c.kind IS s.kind AND c.prompt_sha IS s.prompt_sha AND c.created IS s.created"
	" AND c.attempts IS s.attempts AND c.status IS s.status) ORDER BY s.id;";

/* A run of the source that shares its uid with a target run of another
 * problem or other fixed settings. */
static const char *const merge_conflict_sql =
	"SELECT s.id, r.id FROM temp.s_runs s JOIN main.runs r ON r.uid = s.uid"
	" WHERE r.problem IS NOT s.problem OR r.problem_sha IS NOT s.problem_sha"
	" OR r.proposer IS NOT s.proposer OR r.rounds IS NOT s.rounds OR r.ideas IS NOT s.ideas"
	" OR r.impls IS NOT s.impls OR r.keep IS NOT s.keep OR r.seed IS NOT s.seed"
	" OR r.tolerance IS NOT s.tolerance OR r.started IS NOT s.started LIMIT 1";

/* Runs sql and adds the rows it changed to *count (NULL: not counted). */
static int merge_step(struct store *s, const char *sql, int *count)
{
	if (run_sql(s, sql, "cannot merge"))
		return -1;
	if (count)
		*count += sqlite3_changes(s->db);
	return 0;
}

/* One source into the open transaction of s. */
static int merge_one(struct store *s, const char *path, struct store_merge_counts *c)
{
	struct store *src = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	struct stat a, b;
	if (stat(path, &a) == 0 && stat(s->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		error("%s is the target database itself", path);
		goto out;
	}
	if (!util_file_exists(path)) {
		error("database %s does not exist", path);
		goto out;
	}
	src = store_open(path);
	if (!src)
		goto out;
	/* One consistent view of a source that may still be written. */
	if (run_sql(src, "BEGIN", "cannot read it"))
		goto out;
	for (size_t i = 0; i < sizeof merge_tables / sizeof merge_tables[0]; i++) {
		char *del = xasprintf("DELETE FROM temp.s_%s", merge_tables[i]);
		int r = run_sql(s, del, "cannot merge");
		free(del);
		if (r || merge_copy_table(s, src, merge_tables[i]))
			goto out;
	}
	run_sql(src, "COMMIT", "cannot read it");
	if (sqlite3_prepare_v2(s->db, merge_conflict_sql, -1, &st, NULL) != SQLITE_OK) {
		fail(s, "cannot merge");
		goto out;
	}
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		error("run %lld of %s and run %lld of %s have one identity (uid) but another problem or other "
		      "settings: they cannot be merged; nothing was written", (long long)sqlite3_column_int64(st, 0),
		      path, (long long)sqlite3_column_int64(st, 1), s->path);
		goto out;
	}
	if (step != SQLITE_DONE) {
		fail(s, "cannot merge");
		goto out;
	}
	int advanced = 0, faster = 0;
	if (merge_step(s, merge_map_sql, NULL) || merge_step(s, merge_runs_sql, &c->runs) ||
	    merge_step(s, merge_ideas_sql, &c->ideas) || merge_step(s, merge_cands_sql, &c->candidates) ||
	    merge_step(s, merge_evals_sql, &c->evaluations) || merge_step(s, merge_advance_sql, &advanced) ||
	    merge_step(s, merge_bank_faster_sql, &faster) || merge_step(s, merge_bank_new_sql, &c->bank) ||
	    merge_step(s, merge_llm_sql, &c->llm_calls))
		goto out;
	c->runs_advanced += advanced;
	c->bank += faster;
	rc = 0;
out:
	sqlite3_finalize(st);
	store_close(src);
	return rc;
}

int store_merge(struct store *s, const char *const *sources, int n, struct store_merge_counts *counts)
{
	struct store_merge_counts c = { 0 };
	int rc = -1;
	if (run_sql(s, "BEGIN IMMEDIATE; PRAGMA defer_foreign_keys=ON;", "cannot start a transaction"))
		return -1;
	struct buf q;
	buf_init(&q, 1u << 16);
	for (size_t i = 0; i < sizeof merge_tables / sizeof merge_tables[0]; i++)
		buf_printf(&q, "CREATE TEMP TABLE s_%s AS SELECT * FROM main.%s WHERE 0;", merge_tables[i],
			   merge_tables[i]);
	buf_printf(&q, "CREATE TEMP TABLE m_run(src INTEGER PRIMARY KEY, dst INT NOT NULL, new INT NOT NULL);"
		   "CREATE TEMP TABLE m_idea(src INTEGER PRIMARY KEY, dst INT NOT NULL, new INT NOT NULL);"
		   "CREATE TEMP TABLE m_cand(src INTEGER PRIMARY KEY, dst INT NOT NULL, new INT NOT NULL);");
	int made = run_sql(s, buf_str(&q), "cannot merge");
	buf_release(&q);
	if (made)
		goto rollback;
	for (int i = 0; i < n; i++) {
		info("merging %s (%d/%d)", sources[i], i + 1, n);
		if (merge_one(s, sources[i], &c))
			goto rollback;
	}
	buf_init(&q, 1u << 16);
	for (size_t i = 0; i < sizeof merge_tables / sizeof merge_tables[0]; i++)
		buf_printf(&q, "DROP TABLE temp.s_%s;", merge_tables[i]);
	buf_printf(&q, "DROP TABLE temp.m_run; DROP TABLE temp.m_idea; DROP TABLE temp.m_cand;");
	int dropped = run_sql(s, buf_str(&q), "cannot merge");
	buf_release(&q);
	if (dropped)
		goto rollback;
	int64_t dangling = 0;
	if (query_int(s, "SELECT count(*) FROM pragma_foreign_key_check", &dangling) || dangling) {
		error("database %s: the merge would leave %lld references leading to no row; nothing was written",
		      s->path, (long long)dangling);
		goto rollback;
	}
	if (run_sql(s, "COMMIT", "cannot write the merge"))
		goto rollback;
	rc = 0;
	if (counts)
		*counts = c;
	return rc;
rollback:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
