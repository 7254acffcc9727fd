/*
 * refbudget.c - the reference data's budget (refbudget.h). At KernelBench's
 * full sizes one input set can hold GBs (level 1's scalar multiplication: a
 * 4.3 GB input and a 4.3 GB output), and the default 5 plain and 5 stressed
 * sets then take 86 GB of the cache, which on /dev/shm is RAM. The budget
 * keeps the sets within what the machine can hold; src/bridge.c asks for it
 * before making a problem's references, and judges on what was made.
 */
#define _GNU_SOURCE
#include "refbudget.h"

#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#ifdef __linux__
#include <sys/vfs.h>
#endif

#define TMPFS_MAGIC_ 0x01021994
#define RAMFS_MAGIC_ 0x858458f6

uint64_t ref_set_bytes(const struct problem *p)
{
	uint64_t n = 0;
	for (int i = 0; i < p->n_inputs; i++)
		n += tensor_bytes(&p->inputs[i]);
	for (int i = 0; i < p->n_outputs; i++)
		n += tensor_bytes(&p->outputs[i]);
	return n;
}

uint64_t ref_plan_bytes(const struct problem *p, const struct ref_plan *plan)
{
	uint64_t n = 0;
	for (int i = 0; i < p->n_params; i++)
		n += tensor_bytes(&p->params[i]);
	return n + (uint64_t)(plan->sets + plan->stress) * ref_set_bytes(p);
}

/* Plain sets beyond the second are further draws from the distribution the
 * first already covers; each stressed set catches kernels right only on that
 * distribution (a clamp, no max subtraction), so they outlast them. The
 * second plain set keeps the check for results cached across calls (the
 * first sights of sets 1 and later, src/verdict.c), which one stressed set
 * outweighs. */
bool ref_plan_shrink(struct ref_plan *plan)
{
	if (plan->sets > 2)
		plan->sets--;
	else if (plan->stress > 1)
		plan->stress--;
	else if (plan->sets > 1)
		plan->sets--;
	else if (plan->stress > 0)
		plan->stress--;
	else
		return false;
	return true;
}

struct ref_plan ref_plan_fit(const struct problem *p, struct ref_plan asked, uint64_t budget)
{
	struct ref_plan plan = asked;
	while (ref_plan_bytes(p, &plan) > budget && ref_plan_shrink(&plan))
		;
	return plan;
}

void ref_bytes_str(uint64_t bytes, char *out, size_t size)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	int u = 0;
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(out, size, u ? "%.3g %s" : "%.0f %s", v, unit[u]);
}

/* Lowers b to limit where it is lower, with why. */
static void lower(struct ref_budget *b, uint64_t limit, const char *why)
{
	if (limit < b->bytes) {
		b->bytes = limit;
		snprintf(b->why, sizeof b->why, "%s", why);
	}
}

int ref_budget_compute(const char *override, const char *dir, uint64_t fs_free, bool in_ram,
		       uint64_t mem_free, struct ref_budget *b)
{
	b->bytes = UINT64_MAX;
	b->why[0] = '\0';
	if (override && !strcmp(override, "off"))
		return 0;
	double gb = REF_BUDGET_CAP_GB;
	bool set = override && *override;
	if (set) {
		char *end = NULL;
		errno = 0;
		gb = strtod(override, &end);
		if (errno || end == override || *end || !isfinite(gb) || gb <= 0 || gb > 1e9)
			return error("KBREED_REF_BUDGET_GB=%s: want a number of GB above 0, or off", override);
	}
	char why[512], a[32];
	ref_bytes_str((uint64_t)(gb * 1e9), a, sizeof a);
	snprintf(why, sizeof why, "the cap, %s%s", a, set ? ", from KBREED_REF_BUDGET_GB" : " (KBREED_REF_BUDGET_GB)");
	lower(b, (uint64_t)(gb * 1e9), why);
	if (fs_free != UINT64_MAX) {
		ref_bytes_str(fs_free, a, sizeof a);
		snprintf(why, sizeof why, "half the %s free on the filesystem of %s", a, dir);
		lower(b, fs_free / 2, why);
	}
	if (in_ram && mem_free != UINT64_MAX) {
		ref_bytes_str(mem_free, a, sizeof a);
		snprintf(why, sizeof why, "half the %s of RAM available: %s is in RAM", a, dir);
		lower(b, mem_free / 2, why);
	}
	return 0;
}

/* MemAvailable from /proc/meminfo, in bytes; UINT64_MAX when unknown. */
static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return UINT64_MAX;
	char line[256];
	uint64_t n = UINT64_MAX;
	unsigned long long kb;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			n = (uint64_t)kb * 1024;
			break;
		}
	fclose(f);
	return n;
}

int ref_budget_for(const char *dir, struct ref_budget *b)
{
	uint64_t fs_free = UINT64_MAX;
	bool in_ram = false;
	struct statvfs sv;
	if (statvfs(dir, &sv) == 0)
		fs_free = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	else
		debug("reference data budget: cannot read the free space of %s: %s", dir, strerror(errno));
#ifdef __linux__
	struct statfs sf;
	if (statfs(dir, &sf) == 0) {
		in_ram = (unsigned long)sf.f_type == TMPFS_MAGIC_ || (unsigned long)sf.f_type == RAMFS_MAGIC_;
		if ((unsigned long)sf.f_type == RAMFS_MAGIC_)
			fs_free = UINT64_MAX;   /* ramfs has no size and says 0 free: RAM is its limit */
	}
#endif
	return ref_budget_compute(getenv("KBREED_REF_BUDGET_GB"), dir, fs_free, in_ram,
				  in_ram ? mem_available() : UINT64_MAX, b);
}
