/*
 * json_text.c - text as a JSON string (judge layer, beside report.c, its
 * first user). jansson refuses a string that is not UTF-8; kbreed's texts
 * include compiler logs and model replies, which may hold any byte, and a
 * verdict or a stored run must not lose them for that.
 */
#include "json_text.h"

#include "util.h"

#include <stdlib.h>

json_t *json_text(const char *s)
{
	json_t *v = json_string(s ? s : "");
	if (v)
		return v;
	char *copy = xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v ? v : json_string("");
}
