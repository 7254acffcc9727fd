/*
 * realize.h - the realize stage: one idea, several independent candidates.
 * For the playbook, the K realisations of an idea are K distinct settings of
 * the knobs it leaves free (or, for a recombination, K mixes of the two
 * parents' settings), never a genome the run has already tried.
 */
#ifndef KBREED_REALIZE_H
#define KBREED_REALIZE_H

#include "propose.h"

/* Writes up to k genomes for proposal p into out, none equal to one in
 * seen[0..n_seen) or to each other: the idea's settings on the parent's,
 * its free knobs drawn; where those give fewer than k new genomes (and the
 * idea is no recombination), one or two knobs the idea does not set move to
 * neighbouring (never loose) values. Returns how many. */
int realize_playbook(const struct proposal *p, int k, const struct genome *seen, int n_seen,
		     uint64_t *rng, struct genome *out);

#endif
