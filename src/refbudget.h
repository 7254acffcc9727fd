/*
 * refbudget.h - how much reference data a problem may have (docs/EVALUATION.md,
 * *The reference data's budget*). Before the bridge makes a problem's input
 * sets, src/bridge.c counts their bytes from the problem's description and,
 * where they would not fit the budget, makes fewer sets: the plans below, cut
 * in one fixed order. The pure half (plans, their bytes, the budget from
 * numbers) apart from the half that reads the machine (ref_budget_for).
 */
#ifndef KBREED_REFBUDGET_H
#define KBREED_REFBUDGET_H

#include "problem.h"

#include <stdbool.h>
#include <stdint.h>

/* The cap when KBREED_REF_BUDGET_GB does not set one, in GB (1e9 bytes). */
#define REF_BUDGET_CAP_GB 32.0

/* Which reference sets are made. */
struct ref_plan {
	int sets;     /* plain input sets, >= 1 */
	int stress;   /* stressed sets: the first `stress` kinds the problem allows */
};

/* Bytes of one input set on disk: each input and each output once. */
uint64_t ref_set_bytes(const struct problem *p);

/* Bytes of a plan: the parameters once, then every set, plain or stressed. */
uint64_t ref_plan_bytes(const struct problem *p, const struct ref_plan *plan);

/* Cuts one set from the plan, in the order sets are dropped: plain sets down
 * to 2, then stressed sets from the last kind down to 1, then the second
 * plain set, then the last stressed set. Returns false (plan untouched) at
 * 1 plain set and no stressed one, which are never cut. */
bool ref_plan_shrink(struct ref_plan *plan);

/* The largest plan, in that order from `asked`, whose bytes fit `budget`;
 * the smallest (1 plain set) when none does. */
struct ref_plan ref_plan_fit(const struct problem *p, struct ref_plan asked, uint64_t budget);

/* The budget and the limit that set it. */
struct ref_budget {
	uint64_t bytes;   /* UINT64_MAX: no limit */
	char why[512];    /* e.g. "the cap, 32 GB (KBREED_REF_BUDGET_GB)"; "" with no limit */
};

/* The budget from numbers (pure): the least of the cap (override: a number
 * of GB > 0 as text, NULL or "" for REF_BUDGET_CAP_GB; "off": no limit at
 * all), half of fs_free (bytes free on dir's filesystem; UINT64_MAX when
 * unknown) and, when in_ram (dir is on tmpfs or ramfs), half of mem_free
 * (bytes of RAM available; UINT64_MAX when unknown). Returns 0, or -1 with
 * the reason reported for a malformed override. */
int ref_budget_compute(const char *override, const char *dir, uint64_t fs_free, bool in_ram,
		       uint64_t mem_free, struct ref_budget *b);

/* The budget for reference data written under dir (which must exist):
 * ref_budget_compute on $KBREED_REF_BUDGET_GB, dir's filesystem and
 * /proc/meminfo's MemAvailable. Returns 0 or -1 (reported). */
int ref_budget_for(const char *dir, struct ref_budget *b);

/* "4.29 GB", "512 MB", "96 kB", "40 B" (1000s, as the budget's GB). */
void ref_bytes_str(uint64_t bytes, char *out, size_t size);

#endif
