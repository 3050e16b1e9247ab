/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_QSBR_H
#define NCBENCH_QSBR_H
/*
 * Quiescent-state based reclamation for the update benchmark, behind the
 * classifier's struct cls_reclaim hook: DPDK's rte_rcu_qsbr when built with
 * DPDK, otherwise a minimal QSBR of our own with the same semantics.
 * Readers are numbered 0..max_readers-1.
 */
#include <stdbool.h>
#include <stdint.h>

#include "classify.h"

struct bench_qsbr;

/** @return NULL on failure (message printed). */
struct bench_qsbr *bench_qsbr_create(unsigned max_readers);
void bench_qsbr_free(struct bench_qsbr *q);

/** The hook to put in struct cls_config.reclaim (valid while q lives). */
const struct cls_reclaim *bench_qsbr_hook(struct bench_qsbr *q);

/** Reader side: register and go online / report a quiescent state / leave. */
void bench_qsbr_online(struct bench_qsbr *q, unsigned reader);
void bench_qsbr_quiescent(struct bench_qsbr *q, unsigned reader);
void bench_qsbr_offline(struct bench_qsbr *q, unsigned reader);

/** "rte_rcu_qsbr" or "ncbench qsbr". */
const char *bench_qsbr_name(void);
#endif
