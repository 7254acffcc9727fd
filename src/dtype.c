/*
 * dtype.c - the element types of the candidate ABI (include/kbreed_candidate.h)
 * by name and size, for the problem, its op graph and the judge.
 */
#include "dtype.h"

#include <string.h>

static const struct {
	const char *name;
	size_t size;
} dtypes[] = {
	[KB_F32] = { "f32", 4 }, [KB_F16] = { "f16", 2 }, [KB_BF16] = { "bf16", 2 },
	[KB_F64] = { "f64", 8 }, [KB_I32] = { "i32", 4 }, [KB_I64] = { "i64", 8 },
	[KB_BOOL] = { "bool", 1 },
};

size_t dtype_size(enum kb_dtype t)
{
	return (unsigned)t < sizeof dtypes / sizeof dtypes[0] ? dtypes[t].size : 0;
}

const char *dtype_name(enum kb_dtype t)
{
	return (unsigned)t < sizeof dtypes / sizeof dtypes[0] ? dtypes[t].name : "?";
}

int dtype_parse(const char *s)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
		if (!strcmp(s, dtypes[i].name))
			return (int)i;
	return -1;
}

