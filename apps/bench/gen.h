/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_GEN_H
#define NCBENCH_GEN_H
/*
 * A ClassBench-like rule-set generator (our own, not the WUSTL one): per
 * family a prefix-length distribution for each address, port classes
 * (wildcard, <1024, >=1024, exact, arbitrary range) and protocols; addresses
 * drawn around a skewed pool of sites so that prefixes nest and overlap as in
 * real sets; duplicates removed; the most specific rules first.  The output
 * is ClassBench text that dpdk-test-acl and cls_parse_buffer() read.  The
 * same (family, n, seed) gives the same bytes on every machine.
 */
#include <stddef.h>
#include <stdint.h>

/**
 * Generate n distinct rules of family "acl", "fw" or "ipc" as ClassBench
 * text (malloc'ed, NUL-terminated, *len without the NUL).
 * @return 0; -EINVAL for an unknown family or n == 0; -ENOMEM.
 */
int gen_rules_text(const char *family, uint32_t n, uint64_t seed, char **text, size_t *len);
#endif
