/* test_sandbox.c - what keeps candidate-handling children apart: an
 * environment from which secrets are stripped, a network of their own, the
 * hidden reference directory, bubblewrap's command line, and the
 * unprivileged user when run as root (or none, when not). */
#include "testing.h"

#include "proc.h"
#include "sandbox.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static void run(const char *script, double timeout, struct proc_result *r)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = timeout };
	proc_result_init(r);
	assert_int_equal(proc_run(&o, r), 0);
}

static void test_secrets_stripped(void **state)
{
	assert_false(sandbox_env_allowed("OPENAI_API_KEY"));
	assert_false(sandbox_env_allowed("ANTHROPIC_API_KEY"));
	assert_false(sandbox_env_allowed("KBREED_API_KEY"));
	assert_false(sandbox_env_allowed("GITHUB_TOKEN"));
	assert_false(sandbox_env_allowed("AWS_SECRET_ACCESS_KEY"));
	assert_false(sandbox_env_allowed("SOMETHING_ELSE"));
	assert_true(sandbox_env_allowed("PATH"));
	assert_true(sandbox_env_allowed("CUDA_VISIBLE_DEVICES"));
	assert_true(sandbox_env_allowed("KBREED_CACHE"));
	/* Whatever the case, and whatever prefix let the name through. */
	assert_false(sandbox_env_allowed("KBREED_api_key"));
	assert_false(sandbox_env_allowed("CUDA_AUTH"));
	assert_false(sandbox_env_allowed("NVIDIA_Auth_Header"));
	assert_false(sandbox_env_allowed("TORCH_hub_token"));
	assert_false(sandbox_env_allowed("TRITON_Secret"));
	assert_false(sandbox_env_allowed("KBREED_DB_PASSWD"));
	assert_false(sandbox_env_allowed("KBREED_Credentials"));
	assert_false(sandbox_env_allowed("LC_PRIVATE_KEY"));
	assert_true(sandbox_env_allowed("LC_ALL"));
	assert_true(sandbox_env_allowed("TORCHINDUCTOR_CACHE_DIR"));
	/* The child sees it so (each child's environment is made at its start). */
	setenv("OPENAI_API_KEY", "sk-secret", 1);
	setenv("KBREED_API_KEY", "sk-secret2", 1);
	setenv("KBREED_api_key", "sk-secret3", 1);
	setenv("CUDA_AUTH", "sk-secret4", 1);
	setenv("KBREED_CACHE_PROBE", "visible", 1);
	struct proc_result r;
	run("env", 10, &r);
	assert_null(strstr(buf_str(&r.out), "sk-secret"));
	proc_result_release(&r);
	/* So does an isolated one (nvcc, the worker). */
	const char *env_argv[] = { "env", NULL };
	struct proc_opts o = { .argv = env_argv, .timeout_s = 20, .no_network = true };
	proc_result_init(&r);
	assert_int_equal(proc_run(&o, &r), 0);
	assert_null(strstr(buf_str(&r.out), "sk-secret"));
	assert_non_null(strstr(buf_str(&r.out), "KBREED_CACHE_PROBE=visible"));
	proc_result_release(&r);
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Whether a child sees a TCP listener of ours in /proc/net/tcp. */
static bool child_sees_port(int port, bool no_network)
{
	char *script = xasprintf("grep -qi ':%04X 00000000:0000 0A' /proc/net/tcp /proc/net/tcp6", port);
	const char *argv[] = { "sh", "-c", script, NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = 20, .no_network = no_network };
	struct proc_result r;
	proc_result_init(&r);
	assert_int_equal(proc_run(&o, &r), 0);
	bool seen = r.end == PROC_EXITED && r.exit_code == 0;
	proc_result_release(&r);
	free(script);
	return seen;
}

static void test_no_network(void **state)
{
	if (!sandbox_available()) {
		fprintf(stderr, "bubblewrap does not work here: the sandbox is not tested\n");
		skip();
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 1), 0);
	socklen_t len = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	int port = ntohs(a.sin_port);
	assert_true(child_sees_port(port, false));   /* the check itself works */
	assert_false(child_sees_port(port, true));   /* a sandboxed child has its own network */
	close(fd);
}

/* The process namespace a sandboxed child of these options is in, as
 * /proc/self/ns/pid names it; "" when it cannot be read. */
static char *child_pid_ns(bool host_pids)
{
	const char *argv[] = { "readlink", "/proc/self/ns/pid", NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = 30, .no_network = true, .keep_user = true,
			       .host_pids = host_pids };
	struct proc_result r;
	proc_result_init(&r);
	char *ns = xstrdup(proc_run(&o, &r) == 0 && r.end == PROC_EXITED && r.exit_code == 0 ? buf_str(&r.out) : "");
	proc_result_release(&r);
	return ns;
}

/* host_pids (the GPU worker and the comparer of --compare gpu) leaves out
 * the process namespace, and only it: the child is in kbreed's, and still
 * has a network of its own. */
static void test_host_pids(void **state)
{
	if (!sandbox_available()) {
		fprintf(stderr, "no sandbox here: host_pids is not tested\n");
		skip();
	}
	struct sandbox_request req = { .argv = (const char *const[]){ "true", NULL }, .isolate = true,
				       .keep_user = true };
	struct sandbox_plan plan;
	sandbox_plan_prepare(&plan, &req);
	assert_int_equal(plan.kind, sandbox_kind());
	sandbox_plan_release(&plan);
	req.host_pids = true;
	sandbox_plan_prepare(&plan, &req);
	assert_false(sandbox_has_pid_ns(plan.kind));
	assert_int_not_equal(plan.kind, SANDBOX_NONE);
	sandbox_plan_release(&plan);

	char own[256];
	ssize_t n = readlink("/proc/self/ns/pid", own, sizeof own - 1);
	assert_true(n > 0);
	own[n] = '\0';
	char *shared = child_pid_ns(true), *apart = child_pid_ns(false);
	shared[strcspn(shared, "\n")] = '\0';
	apart[strcspn(apart, "\n")] = '\0';
	assert_string_equal(shared, own);
	if (sandbox_has_pid_ns(sandbox_kind()))
		assert_string_not_equal(apart, own);
	free(shared);
	free(apart);
}

static void test_bwrap_argv(void **state)
{
	const char *argv[] = { "prog", "a b", NULL };
	const char *out[32];
	int n = sandbox_bwrap_argv(argv, "/c/refs", true, out, 32);
	assert_true(n > 0);
	assert_null(out[n]);
	assert_string_equal(out[0], "bwrap");
	assert_string_equal(out[n - 1], "a b");
	assert_string_equal(out[n - 2], "prog");
	assert_string_equal(out[n - 3], "--");
	bool net = false, pid = false, proc = false, hidden = false;
	for (int i = 0; i < n - 3; i++) {
		net |= !strcmp(out[i], "--unshare-net");
		pid |= !strcmp(out[i], "--unshare-pid");
		proc |= !strcmp(out[i], "--proc") && !strcmp(out[i + 1], "/proc");
		hidden |= !strcmp(out[i], "--tmpfs") && !strcmp(out[i + 1], "/c/refs");
	}
	assert_true(net && pid && proc && hidden);
	/* Without a process namespace or anything to hide. */
	n = sandbox_bwrap_argv(argv, NULL, false, out, 32);
	for (int i = 0; i < n; i++) {
		assert_string_not_equal(out[i], "--tmpfs");
		assert_string_not_equal(out[i], "--unshare-pid");
	}
	/* Too long for the room given. */
	assert_int_equal(sandbox_bwrap_argv(argv, "/c/refs", true, out, 6), -1);
}

/* The hidden directory is <cache>/refs, for whatever the cache is now. */
static void test_hidden_dir_name(void **state)
{
	setenv("KBREED_CACHE", "/x/cache", 1);
	char *d = sandbox_hidden_dir();
	assert_string_equal(d, "/x/cache/refs");
	free(d);
	unsetenv("KBREED_CACHE");
}

/* A secret file in a cache's reference directory, readable by everyone
 * (so that only the sandbox can keep it from a child). Returns the cache. */
static char *cache_with_secret(char **secret_path)
{
	char *cache = test_tmpdir();
	assert_int_equal(chmod(cache, 0755), 0);
	char *refs = xasprintf("%s/refs", cache);
	assert_int_equal(mkdir(refs, 0755), 0);
	*secret_path = xasprintf("%s/secret.bin", refs);
	assert_int_equal(util_write_file(*secret_path, "the-reference", 13), 0);
	assert_int_equal(chmod(*secret_path, 0644), 0);
	free(refs);
	return cache;
}

/* What `cat path` prints, in a child isolated or not. */
static char *cat_in_child(const char *path, bool isolated)
{
	const char *argv[] = { "cat", path, NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = 20, .no_network = isolated };
	struct proc_result r;
	proc_result_init(&r);
	assert_int_equal(proc_run(&o, &r), 0);
	char *out = xstrdup(buf_str(&r.out));
	proc_result_release(&r);
	return out;
}

static void test_reference_dir_hidden(void **state)
{
	if (!sandbox_available()) {
		fprintf(stderr, "no sandbox here: the hidden reference directory is not tested\n");
		skip();
	}
	char *secret;
	char *cache = cache_with_secret(&secret);
	setenv("KBREED_CACHE", cache, 1);
	setenv("KBREED_RUN_AS", "root", 1);  /* only the sandbox keeps it out */
	char *plain = cat_in_child(secret, false);
	char *isolated = cat_in_child(secret, true);
	assert_string_equal(plain, "the-reference");   /* the check itself works */
	assert_null(strstr(isolated, "the-reference"));
	free(plain);
	free(isolated);
	unsetenv("KBREED_RUN_AS");
	unsetenv("KBREED_CACHE");
	util_remove_tree(cache);
	free(cache);
	free(secret);
}

/* The user id an isolated child (or a plain one) runs as. */
static long child_uid(bool isolated, bool keep_user)
{
	const char *argv[] = { "id", "-u", NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = 20, .no_network = isolated, .keep_user = keep_user };
	struct proc_result r;
	proc_result_init(&r);
	assert_int_equal(proc_run(&o, &r), 0);
	long uid = r.end == PROC_EXITED && r.exit_code == 0 ? atol(buf_str(&r.out)) : -1;
	proc_result_release(&r);
	return uid;
}

static void test_run_as_root(void **state)
{
	if (geteuid() != 0) {
		uid_t u;
		gid_t g;
		assert_false(sandbox_run_as(&u, &g));
		fprintf(stderr, "not root: the change of user is not tested here\n");
		skip();
	}
	struct passwd *nobody = getpwnam("nobody");
	if (!nobody) {
		fprintf(stderr, "no user nobody: the change of user is not tested\n");
		skip();
	}
	uid_t u;
	gid_t g;
	unsetenv("KBREED_RUN_AS");
	assert_true(sandbox_run_as(&u, &g));
	assert_int_equal(u, nobody->pw_uid);
	setenv("KBREED_RUN_AS", "12345", 1);
	assert_true(sandbox_run_as(&u, &g));
	assert_int_equal(u, 12345);
	setenv("KBREED_RUN_AS", "root", 1);
	assert_false(sandbox_run_as(&u, &g));
	setenv("KBREED_RUN_AS", "no-such-user-kbreed", 1);
	assert_false(sandbox_run_as(&u, &g));
	unsetenv("KBREED_RUN_AS");

	/* Isolated children run as nobody; others, and keep_user, as root. */
	assert_int_equal(child_uid(true, false), (long)nobody->pw_uid);
	assert_int_equal(child_uid(true, true), 0);
	assert_int_equal(child_uid(false, false), 0);
	setenv("KBREED_RUN_AS", "root", 1);
	assert_int_equal(child_uid(true, false), 0);
	unsetenv("KBREED_RUN_AS");

	/* A child whose command line names what nobody cannot read keeps root,
	 * and the reason names the path. */
	char *dir = test_tmpdir();  /* 0700, root's */
	char *file = xasprintf("%s/private.cu", dir);
	assert_int_equal(util_write_file(file, "x", 1), 0);
	const char *argv[] = { "cat", file, NULL };
	char *why = NULL;
	assert_false(sandbox_user_can_run(argv, NULL, nobody->pw_uid, nobody->pw_gid, &why));
	assert_non_null(why);
	assert_non_null(strstr(why, file));
	free(why);
	const char *out_argv[] = { "touch", NULL, NULL };
	char *out = xasprintf("%s/new.so", dir);
	out_argv[1] = out;
	assert_false(sandbox_user_can_run(out_argv, NULL, nobody->pw_uid, nobody->pw_gid, &why));
	assert_non_null(strstr(why, "write in"));
	free(why);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_true(sandbox_user_can_run(out_argv, NULL, nobody->pw_uid, nobody->pw_gid, NULL));
	const char *missing[] = { "no-such-program-kbreed", NULL };
	assert_false(sandbox_user_can_run(missing, NULL, nobody->pw_uid, nobody->pw_gid, NULL));
	/* ...and cat then still reads it, as root. */
	struct proc_opts o = { .argv = argv, .timeout_s = 20, .no_network = true };
	struct proc_result r;
	assert_int_equal(chmod(dir, 0700), 0);
	proc_result_init(&r);
	assert_int_equal(proc_run(&o, &r), 0);
	assert_string_equal(buf_str(&r.out), "x");
	proc_result_release(&r);
	util_remove_tree(dir);
	free(out);
	free(file);
	free(dir);
}

/* Not root: nothing changes user; the sandbox (bubblewrap where it works)
 * still hides the reference directory. Run in a child that gives up root
 * first, when the test runs as root. */
static void test_not_root(void **state)
{
	struct passwd *nobody = getpwnam("nobody");
	if (geteuid() == 0 && !nobody)
		skip();
	char *secret = NULL, *cache = cache_with_secret(&secret);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (syscall(SYS_setgroups, 0, NULL) ||
				       syscall(SYS_setresgid, nobody->pw_gid, nobody->pw_gid, nobody->pw_gid) ||
				       syscall(SYS_setresuid, nobody->pw_uid, nobody->pw_uid, nobody->pw_uid)))
			_exit(10);
		uid_t u;
		gid_t g;
		if (sandbox_run_as(&u, &g))
			_exit(11);
		if (child_uid(true, false) != (long)getuid())
			_exit(12);
		setenv("KBREED_CACHE", cache, 1);
		char *plain = cat_in_child(secret, false);
		char *isolated = cat_in_child(secret, true);
		if (strcmp(plain, "the-reference"))
			_exit(13);
		if (sandbox_available() && strstr(isolated, "the-reference"))
			_exit(14);
		fprintf(stderr, "as uid %d the sandbox is %s\n", (int)getuid(), sandbox_kind_name());
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		print_error("the unprivileged child failed with %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	util_remove_tree(cache);
	free(cache);
	free(secret);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secrets_stripped),
		cmocka_unit_test(test_no_network),
		cmocka_unit_test(test_bwrap_argv),
		cmocka_unit_test(test_host_pids),
		cmocka_unit_test(test_hidden_dir_name),
		cmocka_unit_test(test_reference_dir_hidden),
		cmocka_unit_test(test_run_as_root),
		cmocka_unit_test(test_not_root),
	};
	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
