/*
 * worker.h - what the GPU worker's two modes share (worker/worker.c): the
 * reply channel, the fatal exits, and reading a tensor's file. The
 * candidate's worker (worker/worker.c) and the comparer (worker/comparer.c,
 * `kbreed-worker JOB --compare`) are one program.
 */
#ifndef KBREED_WORKER_H
#define KBREED_WORKER_H

#include "../include/kbreed_worker_protocol.h"

#include <cuda_runtime.h>
#include <stdbool.h>
#include <stddef.h>

/* Moves the reply channel off descriptor 1 and points 1 at stderr. */
void private_replies(void);
/* Sends one reply, encoded by the protocol's own encoder. */
void reply(const struct kbw_reply *r);
/* A reply that carries a message: error or fault. */
void reply_text(enum kbw_reply_kind kind, enum kbw_fault fault, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void reply_end(bool ok);
/* "fault runtime_error <what>: <error>", "end fault", exit KBW_EXIT_CUDA. */
_Noreturn void die_cuda(const char *what, cudaError_t e);
/* A message on stderr, exit KBW_EXIT_JOB. */
_Noreturn void die_job(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Maps a raw file ("fd:N" or a path) of `bytes` read-only; dies on failure. */
const void *map_file(const char *path, size_t bytes);

/* The comparer's main loop (worker/comparer.c). Returns the exit status. */
int comparer_main(const char *job_path);

#endif
