/*
 * log.c - the logger: leveled messages on stderr.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum log_level log_verbosity = LOG_INFO;

static void emit(enum log_level level, const char *prefix, const char *fmt, va_list ap)
{
	if (log_verbosity < level)
		return;
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(LOG_ERROR, "kbreed: error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(LOG_ERROR, "kbreed: warning: ", fmt, ap);
	va_end(ap);
}

void info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(LOG_INFO, "kbreed: ", fmt, ap);
	va_end(ap);
}

void debug(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(LOG_DEBUG, "kbreed: debug: ", fmt, ap);
	va_end(ap);
}

void progress(int keep, const char *fmt, ...)
{
	static int tty = -1;
	if (log_verbosity < LOG_INFO)
		return;
	if (tty < 0)
		tty = isatty(2);
	va_list ap;
	va_start(ap, fmt);
	if (tty)
		fputs("\r\033[K", stderr);
	vfprintf(stderr, fmt, ap);
	if (!tty || keep)
		fputc('\n', stderr);
	fflush(stderr);
	va_end(ap);
}

void log_bug(const char *file, int line, const char *msg)
{
	fprintf(stderr, "kbreed: BUG at %s:%d: %s\n", file, line, msg);
	abort();
}
