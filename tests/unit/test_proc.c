/* test_proc.c - children: exit codes, signals, time limits, capped output,
 * resource limits and inherited descriptors, isolated or not. (The
 * isolation itself is tested in test_sandbox.c.) */
#include "testing.h"

#include "proc.h"
#include "sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>

static void run(const char *script, double timeout, struct proc_result *r)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = timeout };
	proc_result_init(r);
	assert_int_equal(proc_run(&o, r), 0);
}

static void test_exit_and_output(void **state)
{
	struct proc_result r;
	run("echo out; echo err >&2; exit 3", 10, &r);
	assert_int_equal(r.end, PROC_EXITED);
	assert_int_equal(r.exit_code, 3);
	assert_string_equal(buf_str(&r.out), "out\n");
	assert_string_equal(buf_str(&r.err), "err\n");
	proc_result_release(&r);
}

static void test_large_stdin(void **state)
{
	size_t n = 1u << 20;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	/* Read all of it... */
	const char *wc[] = { "sh", "-c", "wc -c", NULL };
	struct proc_opts o = { .argv = wc, .timeout_s = 20, .stdin_data = big };
	struct proc_result r;
	proc_result_init(&r);
	assert_int_equal(proc_run(&o, &r), 0);
	assert_int_equal(r.end, PROC_EXITED);
	assert_int_equal(atol(buf_str(&r.out)), (long)n);
	proc_result_release(&r);
	/* ...or none of it, answering and lingering: neither blocks kbreed. */
	const char *deaf[] = { "sh", "-c", "echo hi; sleep 30", NULL };
	o.argv = deaf;
	o.timeout_s = 1;
	proc_result_init(&r);
	double t0 = util_now();
	assert_int_equal(proc_run(&o, &r), 0);
	assert_int_equal(r.end, PROC_TIMEOUT);
	assert_string_equal(buf_str(&r.out), "hi\n");
	assert_true(util_now() - t0 < 5);
	proc_result_release(&r);
	free(big);
}

static void test_signal(void **state)
{
	struct proc_result r;
	run("kill -SEGV $$", 10, &r);
	assert_int_equal(r.end, PROC_SIGNALED);
	assert_int_equal(r.signal, SIGSEGV);
	proc_result_release(&r);
}

static void test_timeout_kills_the_group(void **state)
{
	struct proc_result r;
	double t0 = util_now();
	/* The grandchild holds the pipe open too: the whole group must go. */
	run("sleep 30 & sleep 30", 0.5, &r);
	assert_int_equal(r.end, PROC_TIMEOUT);
	assert_true(util_now() - t0 < 5);
	proc_result_release(&r);
	/* A child that closes its output but lingers is still timed out. */
	run("exec >/dev/null 2>&1; sleep 30", 0.5, &r);
	assert_int_equal(r.end, PROC_TIMEOUT);
	proc_result_release(&r);
}

static void test_output_cap(void **state)
{
	const char *argv[] = { "sh", "-c", "head -c 100000 /dev/zero", NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = 10, .out_cap = 1000 };
	struct proc_result r;
	proc_result_init(&r);
	assert_int_equal(proc_run(&o, &r), 0);
	assert_true(r.truncated);
	assert_true(r.out.len <= 1000);
	assert_int_equal(r.end, PROC_EXITED);
	proc_result_release(&r);
}

static void test_missing_program(void **state)
{
	const char *argv[] = { "/nonexistent/program", NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = 10 };
	struct proc_result r;
	proc_result_init(&r);
	assert_int_equal(proc_run(&o, &r), 0);
	assert_int_equal(r.end, PROC_EXITED);
	assert_int_equal(r.exit_code, 127);
	proc_result_release(&r);
}

static void test_limits(void **state)
{
	/* RLIMIT_FSIZE: a child may not fill the disk. */
	char *dir = test_tmpdir();
	char *script = xasprintf("head -c 3000000 /dev/zero > %s/big", dir);
	const char *argv[] = { "sh", "-c", script, NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = 10, .file_size_mb = 1 };
	struct proc_result r;
	proc_result_init(&r);
	assert_int_equal(proc_run(&o, &r), 0);
	assert_false(r.end == PROC_EXITED && r.exit_code == 0);
	proc_result_release(&r);
	util_remove_tree(dir);
	free(script);
	free(dir);
}

static void test_keep_fds(void **state)
{
	char *dir = test_tmpdir();
	char *path = xasprintf("%s/data", dir);
	assert_int_equal(util_write_file(path, "inherited", 9), 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(dup3(fd, 7, O_CLOEXEC), 7);
	close(fd);
	unlink(path);  /* reachable through the descriptor only */
	const char *argv[] = { "sh", "-c", "cat <&7", NULL };
	int keep[] = { 7 };
	for (int isolated = 0; isolated < 2; isolated++) {
		struct proc_opts o = { .argv = argv, .timeout_s = 20, .no_network = isolated };
		struct proc_result r;
		proc_result_init(&r);
		assert_int_equal(proc_run(&o, &r), 0);
		assert_null(strstr(buf_str(&r.out), "inherited"));  /* close-on-exec: not passed on */
		proc_result_release(&r);
		o.keep_fds = keep;
		o.n_keep_fds = 1;
		proc_result_init(&r);
		assert_int_equal(proc_run(&o, &r), 0);
		assert_string_equal(buf_str(&r.out), "inherited");
		proc_result_release(&r);
		assert_int_equal(lseek(7, 0, SEEK_SET), 0);
	}
	close(7);
	util_remove_tree(dir);
	free(path);
	free(dir);
}

/* How many processes have marker on their command line. */
static int count_marked(const char *marker, bool kill_them)
{
	int n = 0;
	DIR *d = opendir("/proc");
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char *path = xasprintf("/proc/%s/cmdline", e->d_name);
		char line[4096];
		int fd = open(path, O_RDONLY);
		ssize_t got = fd >= 0 ? read(fd, line, sizeof line - 1) : -1;
		if (fd >= 0)
			close(fd);
		free(path);
		if (got <= 0)
			continue;
		for (ssize_t i = 0; i < got; i++)
			if (!line[i])
				line[i] = ' ';
		line[got] = '\0';
		if (strstr(line, marker)) {
			n++;
			if (kill_them)
				kill(atoi(e->d_name), SIGKILL);
		}
	}
	closedir(d);
	return n;
}

/* Whether a child that starts a grandchild in a session of its own
 * (setsid: out of the child's process group) leaves it behind. */
static bool leaves_grandchild(bool isolated, double timeout)
{
	static int seq;
	char *marker = xasprintf("kbreed-leftover-%d-%d", (int)getpid(), seq++);
	char *script = xasprintf("setsid sh -c 'sleep 1000; true' %s </dev/null >/dev/null 2>&1 & "
				 "sleep 0.3; %s", marker, timeout > 0 ? "sleep 30" : "exit 0");
	const char *argv[] = { "sh", "-c", script, NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = timeout > 0 ? timeout : 20, .no_network = isolated };
	struct proc_result r;
	proc_result_init(&r);
	assert_int_equal(proc_run(&o, &r), 0);
	assert_int_equal(r.end, timeout > 0 ? PROC_TIMEOUT : PROC_EXITED);
	proc_result_release(&r);
	int left = count_marked(marker, false);
	for (int i = 0; i < 20 && left; i++) {
		usleep(100000);
		left = count_marked(marker, false);
	}
	if (left)
		count_marked(marker, true);
	free(script);
	free(marker);
	return left > 0;
}

/* Everything a child starts ends with it: with a process namespace when the
 * sandbox has one, else through kbreed's reaper in between. */
static void test_nothing_left_behind(void **state)
{
	assert_false(leaves_grandchild(false, 0));
	assert_false(leaves_grandchild(true, 0));
	/* Killed at the time limit: only a process namespace holds them all. */
	if (sandbox_has_pid_ns(sandbox_kind()))
		assert_false(leaves_grandchild(true, 1));
	else
		fprintf(stderr, "no process namespace here (sandbox %s): the timeout case is not tested\n",
			sandbox_kind_name());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_and_output),
		cmocka_unit_test(test_large_stdin),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_timeout_kills_the_group),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_keep_fds),
		cmocka_unit_test(test_nothing_left_behind),
	};
	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
