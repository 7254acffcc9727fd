/*
 * kbreed_worker_protocol.h - the contract between kbreed and its GPU worker,
 * protocol version 4. docs/WORKER.md tells the whole story.
 *
 * Three programs include this header and link worker/worker_protocol.c:
 * kbreed (src/worker_client.c, src/evaluate.c), the GPU worker
 * (worker/worker.c, built against the CUDA runtime) and the fake worker the
 * tests use in its place (tests/unit/fake_worker.c). Everything either side
 * writes or reads is encoded and decoded here, once. It is plain C11 with
 * libc only: no kbreed helper, no CUDA.
 *
 * The conversation:
 *   1. kbreed writes a job file (the problem's tensors, the reference inputs
 *      as inherited descriptors "fd:N", the timing settings) whose first line
 *      is "kbreed-job <protocol version>", and starts `kbreed-worker JOB`.
 *   2. The worker checks the version (a mismatch: an "error" reply and exit
 *      KBW_EXIT_VERSION), uploads the inputs and replies "ready <version>
 *      <free device bytes>". kbreed checks the version too.
 *   3. kbreed sends "eval <candidate.so>TAB<outdir>"; the worker replies with
 *      measurement lines and ends with "end ok" or "end fault". Repeat.
 *   4. kbreed sends "quit", or kills the worker after a fault.
 * `kbreed-worker --info` prints the GPU's properties (struct kbw_info) and
 * exits 0, or prints "error <why>" and exits KBW_EXIT_NO_GPU.
 *
 * Adaptive timing is an option both ends agree on without a new version: a
 * worker that can stop timing early says so on its ready line ("ready
 * <version> <free bytes> cutoff"), and only to such a worker does kbreed send
 * a cutoff with a candidate ("eval ...TAB cutoff <ms> <calls>"); only a
 * worker that was sent one replies "early <calls>". A worker or a kbreed that
 * knows nothing of it never sees either.
 *
 * Checking on the GPU (protocol 4) is agreed the same way: a worker that
 * can export its buffers says "ipc" on its ready line; kbreed may then send
 * it "export" (its buffers' CUDA IPC handles, once) and "eval ...TAB gpu",
 * after which the worker writes no output files but stops after each
 * checked call with "check <set> <pass>" until kbreed answers "go" or
 * "stop <why>". Meanwhile kbreed asks the comparer (`kbreed-worker JOB
 * --compare`, a trusted process that never loads a candidate and holds the
 * references on the GPU) to compare those buffers with the references.
 *
 * Bump KBREED_WORKER_PROTOCOL on any change to a line's meaning or syntax.
 */
#ifndef KBREED_WORKER_PROTOCOL_H
#define KBREED_WORKER_PROTOCOL_H

#include "kbreed_candidate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KBREED_WORKER_PROTOCOL 4

/* Exit codes of the worker. */
#define KBW_EXIT_OK 0
#define KBW_EXIT_NO_GPU 2   /* no usable CUDA device */
#define KBW_EXIT_CUDA 3     /* a CUDA error: the context cannot be trusted */
#define KBW_EXIT_JOB 4      /* bad usage, a bad job file, unreadable data */
#define KBW_EXIT_VERSION 5  /* the job speaks another protocol version */

/* Limits both sides enforce. */
#define KBW_MAX_TENSORS 64  /* per kind (inputs of one set, params, outputs) */
#define KBW_MAX_SETS 32     /* input sets (plain and stressed) */
#define KBW_MAX_PATH 4096   /* bytes of a path on a job or command line */
#define KBW_MAX_LINE 8192   /* bytes of a reply line, newline included */
#define KBW_LEAK_REPORT_BYTES (16u << 20)  /* the worker reports a leak above this */
/* Work still on the device after the candidate's stream finished, in the
 * median timed call: work on another stream, which the events miss
 * (rejected). An idle device drains in a few microseconds; at 0.05 ms a
 * hidden GELU of 64 MB (about 0.04 ms) got through on the H200. */
#define KBW_TAIL_MS 0.02

/* ---- The job file ------------------------------------------------------
 *   kbreed-job <version>
 *   sets <n>            correctness input sets (1..KBW_MAX_SETS)
 *   timed_sets <n>      the first n sets (1..sets) also feed the warm-up and
 *                       timed calls; the others (stressed sets) are checked
 *                       only. Absent: all of them. (Protocol 3.)
 *   warmup <n>          untimed calls before timing (>= 0)
 *   reps <n>            timed calls (>= 1)
 *   flush_mb <n>        L2 flush written before each timed call (>= 0)
 *   tensor <kind> <set> <index> <dtype> <ndim> <d0> .. <dn-1> <source>
 *   tolerance <output> <atol> <rtol> <atol> <rtol>
 *                       the comparer's only: atol and rtol of each
 *                       tolerance profile (enum tolerance_profile order,
 *                       src/compare.h) for that output, before its scale
 * kind: input | param | output | reference; set: the input set, -1 for
 * params and outputs; dtype: enum kb_dtype; source: "fd:N" (an inherited
 * descriptor), a path, or "-" for outputs (which have no contents).
 * A reference (protocol 4) is output <index> of set <set> as the problem
 * computes it: only the comparer's job holds references, one per set and
 * output, and the candidate's worker refuses a job with any. Blank lines
 * are ignored. */

enum kbw_kind { KBW_INPUT, KBW_PARAM, KBW_OUTPUT, KBW_REFERENCE };

#define KBW_PROFILES 2   /* tolerance profiles the comparer applies at once */

struct kbw_tensor {
	enum kbw_kind kind;
	int set;                          /* input set; -1 for params and outputs */
	int index;                        /* among its kind (and set) */
	int dtype;                        /* enum kb_dtype */
	int ndim;                         /* 0..KBREED_MAX_DIMS */
	int64_t shape[KBREED_MAX_DIMS];   /* elements per dimension */
	char *source;                     /* "fd:N" or a path; NULL for outputs; owned */
};

struct kbw_job {
	int version;        /* KBREED_WORKER_PROTOCOL when written by kbreed */
	int sets, warmup, reps, flush_mb;
	int timed_sets;     /* sets 0..timed_sets-1 feed the timed calls; 0 when
			       writing means all (kbw_job_format writes sets) */
	struct kbw_tensor *tensor;        /* in file order; owned */
	int n_tensors;
	int n_inputs;       /* inputs per set */
	int n_params, n_outputs;
	int n_refs;         /* references (the comparer's job): sets x outputs */
	double tol[KBW_MAX_TENSORS][2 * KBW_PROFILES];  /* per output: atol, rtol per
							   profile (tolerance lines) */
	int n_tols;         /* tolerance lines read (or to write): outputs 0..n_tols-1 */
};

void kbw_job_init(struct kbw_job *j);
void kbw_job_release(struct kbw_job *j);
/* Appends a tensor (source copied; NULL for none). Returns 0, or -1 when
 * memory runs out. */
int kbw_job_add(struct kbw_job *j, enum kbw_kind kind, int set, int index, int dtype,
		int ndim, const int64_t *shape, const char *source);
/* Encodes a job as its file's text (*text malloc'd, the caller frees).
 * Returns 0, or -1 (why filled) for a job that cannot be encoded: a source
 * with a space or newline, or too long. */
int kbw_job_format(const struct kbw_job *j, char **text, size_t *len, char *why, size_t why_cap);
/* Decodes and checks a job read from f (name for messages). Returns 0,
 * KBW_EXIT_VERSION for another protocol version, or KBW_EXIT_JOB for any
 * other defect; why says what in one line. j is released on failure. */
int kbw_job_read(FILE *f, const char *name, struct kbw_job *j, char *why, size_t why_cap);
/* kbw_job_read on a file by path. */
int kbw_job_load(const char *path, struct kbw_job *j, char *why, size_t why_cap);
/* Bytes of a tensor's contents. */
size_t kbw_tensor_bytes(const struct kbw_tensor *t);
/* Writes the message that a peer speaking `theirs` is not this version
 * ("the <what> speaks protocol version 1, this <me> speaks 2: ..."). Returns
 * 0 when the versions match, -1 (message written) when they do not. */
int kbw_check_version(int theirs, const char *what, const char *me, char *why, size_t why_cap);

/* ---- Commands, kbreed -> worker, one per line on the worker's stdin ----
 * (For checking on the GPU, protocol 4:)
 *   export                           the worker replies one "handle" line per
 *                                    buffer a candidate is called with (the
 *                                    input slot, the params, the outputs)
 *                                    and "end ok"; once per worker
 *   eval ...TABgpu                   (a last field, after any cutoff) the
 *                                    checked calls write no files: after each
 *                                    the worker replies "check <set> <pass>"
 *                                    and waits for
 *   go | stop <why>                  go on, or end the candidate with
 *                                    "fault rejected <why>"
 * To the comparer (`kbreed-worker JOB --compare`):
 *   handle <kind> <index> <hex>      a buffer of the worker, as it exported it
 *   attach                           open them: "end ok", or "fault ..."
 *   compare <set> <pass>             compare the worker's outputs with set
 *                                    <set>'s references and its inputs with
 *                                    their golden copies: one "stats" line
 *                                    per output then "end ok"; or "fault
 *                                    rejected <why>" (an input changed) and
 *                                    "end fault"
 *   quit
 *   eval <candidate.so>TAB<outdir>   judge one candidate
 *   eval <candidate.so>TAB<outdir>TABcutoff <ms> <calls>
 *                                    the same, adaptively (only to a worker
 *                                    whose ready line said "cutoff"): when
 *                                    the fastest of the first <calls> timed
 *                                    calls took more than <ms>, the worker
 *                                    makes no more timed calls (the checked
 *                                    calls all still happen) and replies
 *                                    "early <calls made>" before "end ok"
 *   quit                             exit 0 */

enum kbw_command {
	KBW_CMD_EVAL, KBW_CMD_QUIT, KBW_CMD_BAD,
	KBW_CMD_EXPORT, KBW_CMD_GO, KBW_CMD_STOP,         /* to the worker */
	KBW_CMD_HANDLE, KBW_CMD_ATTACH, KBW_CMD_COMPARE,  /* to the comparer */
};

/* One eval command, decoded. */
struct kbw_eval {
	const char *so;        /* the candidate's shared object (points into the line) */
	const char *outdir;    /* where its outputs go (points into the line) */
	double cutoff_ms;      /* 0: time every call (no cutoff given) */
	int cutoff_calls;      /* timed calls before the cutoff is looked at (>= 1) */
	bool gpu;              /* "gpu": checked calls paced by check/go, no files */
};

/* A handle line's contents: a buffer of the worker's, as CUDA IPC names it. */
#define KBW_HANDLE_HEX 256   /* at most this many hex digits */
struct kbw_handle {
	enum kbw_kind kind;    /* KBW_INPUT (the slot), KBW_PARAM or KBW_OUTPUT */
	int index;
	char hex[KBW_HANDLE_HEX + 1];
};

/* Any command, decoded (kbw_parse_cmd). */
struct kbw_cmd {
	enum kbw_command cmd;
	struct kbw_eval eval;      /* EVAL */
	struct kbw_handle handle;  /* HANDLE */
	int set, pass;             /* COMPARE: the set, 0 first sight / 1 check call */
	const char *text;          /* STOP: why (points into the line) */
};

/* "eval so\toutdir\n" into buf. Returns its length, or -1 when a path holds
 * a tab or a newline or the line does not fit. */
int kbw_format_eval(char *buf, size_t cap, const char *so, const char *outdir);
/* The same with a cutoff (cutoff_ms <= 0: none, the plain line). calls >= 1. */
int kbw_format_eval_cutoff(char *buf, size_t cap, const char *so, const char *outdir, double cutoff_ms,
			   int calls);
/* The same with "gpu" as a last field when gpu is set. */
int kbw_format_eval_opts(char *buf, size_t cap, const char *so, const char *outdir, double cutoff_ms,
			 int calls, bool gpu);
/* "handle <kind> <index> <hex>\n": the same text is the worker's reply and
 * the comparer's command. Returns its length, or -1. */
int kbw_format_handle(char *buf, size_t cap, const struct kbw_handle *h);
/* "stop <why>\n", why on one line and cut to fit as a fault's message.
 * Returns its length, or -1. */
int kbw_format_stop(char *buf, size_t cap, const char *why);
/* Decodes any command line (newline stripped), in place. */
enum kbw_command kbw_parse_cmd(char *line, struct kbw_cmd *c);
/* Decodes a command line (newline stripped), in place: for EVAL, e's paths
 * point into line and its cutoff is 0 when none was given. */
enum kbw_command kbw_parse_eval(char *line, struct kbw_eval *e);
/* kbw_parse_eval for a reader that takes no cutoff (one given is ignored). */
enum kbw_command kbw_parse_command(char *line, const char **so, const char **outdir);

/* ---- Replies, worker -> kbreed, one per line -----------------------------
 *   ready <version> <free_bytes> [cutoff] [ipc] [compare]
 *                                    the job is loaded; commands welcome;
 *                                    "cutoff": eval takes a cutoff; "ipc":
 *                                    export and eval's gpu field are taken;
 *                                    "compare": this is a comparer
 *   handle <kind> <index> <hex>      (export) one buffer's IPC handle
 *   check <set> <pass>               (eval with gpu) a checked call is done,
 *                                    its outputs in the exported buffers;
 *                                    pass 0: set's first sight, 1: its
 *                                    check call; the worker waits for go
 *   stats <output> <scale> <n> <bad> <bad> <first> <first> <got> <want>
 *         <got> <want> <nonfinite> <max_abs> <max_rel> <err_sq> <ref_sq>
 *                                    (the comparer's, per output) what
 *                                    src/compare.c's compare_buffers counts,
 *                                    per profile where two are given; first
 *                                    -1 when none
 *   error <message>                  the worker cannot go on (or an unknown
 *                                    command); it exits after a fatal one
 * Per "eval", in this order, ending with exactly one "end":
 *   fault <class> <message>          class: load_error | runtime_error | rejected
 *   first <set> <event_ms> <host_ms> one per correctness call (first sight)
 *   time <event_ms> <host_ms>        one per timed call
 *   clocks <sm_mhz> <mem_mhz>        read just after timing; 0 when unknown
 *   leak <bytes>                     device memory the candidate kept
 *                                    (only above KBW_LEAK_REPORT_BYTES)
 *   threads <n>                      threads of the candidate left running
 *   early <calls>                    timing stopped after <calls> timed calls,
 *                                    the fastest slower than the cutoff (only
 *                                    when eval gave one; before "end ok")
 *   end ok | end fault               "end fault" follows a fault line */

enum kbw_reply_kind {
	KBW_REPLY_READY, KBW_REPLY_ERROR, KBW_REPLY_FAULT, KBW_REPLY_FIRST,
	KBW_REPLY_TIME, KBW_REPLY_CLOCKS, KBW_REPLY_LEAK, KBW_REPLY_THREADS,
	KBW_REPLY_END, KBW_REPLY_EARLY, KBW_REPLY_HANDLE, KBW_REPLY_CHECK,
	KBW_REPLY_STATS,
};

/* One output's comparison as the comparer reports it: the counts and sums
 * of struct compare_stats (src/compare.h) before the norm rule, which kbreed
 * applies. Indices are flat, per tensor. */
struct kbw_stats {
	int output;
	double scale;                      /* max(1, rms of the reference) */
	long long n;
	long long n_bad[KBW_PROFILES];
	long long first_bad[KBW_PROFILES]; /* -1 when none */
	double first_got[KBW_PROFILES], first_want[KBW_PROFILES];
	long long n_nonfinite;
	double max_abs, max_rel, err_sq, ref_sq;
};

enum kbw_fault { KBW_FAULT_LOAD, KBW_FAULT_RUNTIME, KBW_FAULT_REJECTED };

struct kbw_reply {
	enum kbw_reply_kind kind;
	int version;                  /* ready; 1 for a worker that predates versions */
	bool cutoff;                  /* ready: eval takes a cutoff (adaptive timing) */
	bool ipc;                     /* ready: export and eval's gpu field are taken */
	bool compare;                 /* ready: a comparer */
	struct kbw_handle handle;     /* handle */
	int pass;                     /* check (with set) */
	struct kbw_stats stats;       /* stats */
	unsigned long long bytes;     /* ready: free device memory; leak: bytes kept */
	enum kbw_fault fault;         /* fault */
	const char *text;             /* error, fault: the message (points into the
					 decoded line, or the caller's when encoding) */
	int set;                      /* first */
	double event_ms, host_ms;     /* first, time */
	int sm_mhz, mem_mhz;          /* clocks */
	int threads;                  /* threads */
	int calls;                    /* early: timed calls made */
	bool ok;                      /* end */
};

/* One reply line, newline included; newlines inside a message become
 * spaces, and a message too long for KBW_MAX_LINE is cut with "...".
 * Returns its length, or -1 when cap is too small for even that. */
int kbw_format_reply(char *buf, size_t cap, const struct kbw_reply *r);
/* Decodes one reply line (newline stripped). Returns 0, or -1 for a line
 * that is not a well-formed reply. */
int kbw_parse_reply(const char *line, struct kbw_reply *r);
const char *kbw_fault_name(enum kbw_fault f);
/* Returns 0, or -1 for a name no fault class has. */
int kbw_fault_parse(const char *name, enum kbw_fault *f);

/* ---- `kbreed-worker --info` ----------------------------------------------
 *   protocol <version>, name <text>, cc <major> <minor>, sm_count <n>,
 *   l2_bytes <n>, mem_bytes <n>, smem_per_block_optin <n>, driver <n>,
 *   runtime <n>, clocks <sm_mhz> <mem_mhz>, devices <n>; or "error <why>".
 * A reader skips lines it does not know: "devices" came later, and a
 * worker without it has one device as far as kbreed knows. */

struct kbw_info {
	int version;                   /* protocol; 1 when the worker does not say */
	char name[256];                /* as the driver names the device */
	int cc_major, cc_minor;        /* compute capability */
	int sm_count;
	long long l2_bytes, mem_bytes;
	long long smem_per_block_optin; /* shared memory a block may opt in to, bytes */
	int driver, runtime;           /* CUDA versions, e.g. 13000 */
	int sm_clock_mhz, mem_clock_mhz; /* 0 when unknown */
	int devices;                   /* CUDA devices visible to the worker (this
	                                * one is the first); 1 when it does not say */
};

/* The whole --info text into buf. Returns its length, or -1 when it does
 * not fit. */
int kbw_format_info(char *buf, size_t cap, const struct kbw_info *i);
/* Decodes --info text. Returns 0; -1 (why filled) for an "error" reply or
 * text that lacks the name or compute capability. The version is not
 * checked here. */
int kbw_parse_info(const char *text, struct kbw_info *i, char *why, size_t why_cap);

#endif /* KBREED_WORKER_PROTOCOL_H */
