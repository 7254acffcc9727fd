/*
 * log.h - kbreed's one global: the logger.
 *
 * Messages go to stderr, prefixed with the level. error() returns -1 so that
 * "return error(...)" reports and fails in one step, git style.
 */
#ifndef KBREED_LOG_H
#define KBREED_LOG_H

enum log_level { LOG_QUIET = 0, LOG_ERROR = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Current verbosity; LOG_INFO unless changed by main. */
extern enum log_level log_verbosity;

__attribute__((format(printf, 1, 2))) int error(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void debug(const char *fmt, ...);

/* A progress line of long work: rewritten in place when stderr is a
 * terminal, one line each otherwise; `keep` ends the line on a terminal too.
 * Quiet under -q. */
__attribute__((format(printf, 2, 3))) void progress(int keep, const char *fmt, ...);

/* An impossible state: prints and aborts. For programming errors only. */
#define BUG(msg) log_bug(__FILE__, __LINE__, (msg))
_Noreturn void log_bug(const char *file, int line, const char *msg);

#endif
