/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench match: the answer for every trace line, one per line: the number
 * (1-based, file order) of the highest-priority matching rule, 0 if none.
 * The trie (default), the linear reference and rte_acl must print the same.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "commands.h"
#include "trace.h"
#ifdef HAVE_RTE_ACL
#include "acl_peer.h"
#endif

static const char match_usage[] =
	"usage: ncbench match [--rules FILE | --gen acl|fw|ipc --size N --seed S]\n"
	"                     [--trace FILE | --trace-size N] [--impl trie|linear|rte_acl]\n"
	"                     [--burst N] [--csv FILE]\n"
	"  Prints, per trace line, the matching rule's id (for rule files: its 1-based\n"
	"  number in file order), 0 if none.  --burst 1 uses cls_lookup, larger bursts\n"
	"  cls_lookup_bulk (default 32).  --csv appends key,answer rows.\n";

static int answers_cls(const struct bench_rules *br, const struct trace *t, bool linear,
		       unsigned burst, uint32_t *ids)
{
	struct cls_config cfg = { .backend = linear ? CLS_BACKEND_LINEAR : CLS_BACKEND_TRIE };
	const struct cls_key *ptr[256];
	struct cls_match m[256];
	struct cls *c;
	size_t failed = 0;
	int rc;

	rc = cls_create(&cfg, &c);
	if (rc) {
		fprintf(stderr, "ncbench match: cls_create: %s\n", strerror(-rc));
		return BENCH_FAIL;
	}
	rc = cls_insert_batch(c, br->rs->rules, br->rs->n, &failed);
	if (rc) {
		fprintf(stderr, "ncbench match: cls_insert_batch: %s (rule %zu)\n", strerror(-rc),
			failed + 1);
		cls_free(c);
		return BENCH_FAIL;
	}
	for (size_t i = 0; i < t->n; i += burst) {
		unsigned k = (unsigned)(t->n - i < burst ? t->n - i : burst);

		if (burst == 1) {
			cls_lookup(c, &t->keys[i], &m[0]);
		} else {
			for (unsigned j = 0; j < k; j++)
				ptr[j] = &t->keys[i + j];
			cls_lookup_bulk(c, ptr, k, m);
		}
		for (unsigned j = 0; j < k; j++)
			ids[i + j] = m[j].id;
	}
	cls_free(c);
	return BENCH_OK;
}

#ifdef HAVE_RTE_ACL
static int answers_acl(const struct bench_rules *br, const struct trace *t, unsigned burst,
		       const struct bench_opts *o, uint32_t *ids)
{
	struct acl_peer *p = NULL;
	void *keys = NULL;
	const uint8_t **ptr = NULL;
	const char *why = "", *mode;
	uint32_t r[256];
	int rc;

	if (acl_peer_eal_init(o->core, o->acl_mem_mb, o->no_huge, &mode))
		return BENCH_FAIL;
	rc = acl_peer_create(br->rs, &p, &why);
	if (!rc && acl_peer_keys(p, t, &keys, &ptr)) {
		why = "trace keys are not of the rules' family (or out of memory)";
		rc = -ENOTSUP;
	}
	if (rc) {
		fprintf(stderr, "ncbench match: rte_acl: %s (%s)\n", why, strerror(-rc));
		acl_peer_free(p);
		return BENCH_FAIL;
	}
	/* the default algorithm: the best rte_acl picks for this CPU */
	for (size_t i = 0; i < t->n; i += burst) {
		uint32_t k = (uint32_t)(t->n - i < burst ? t->n - i : burst);

		(void)rte_acl_classify(p->ctx, ptr + i, r, k, 1);
		for (uint32_t j = 0; j < k; j++)
			ids[i + j] = acl_peer_id(p, r[j]);
	}
	acl_peer_free(p);
	free(keys);
	free(ptr);
	return BENCH_OK;
}
#endif

int ncbench_match(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_rules br;
	struct trace t;
	uint32_t *ids = NULL;
	FILE *csv = NULL;
	int rc;

	bench_opts_init(&o);
	rc = bench_parse_opts(argc, argv, OPT_RULES | OPT_TRACE | OPT_IMPL | OPT_CSV | OPT_PEER,
			      match_usage, &o);
	if (rc)
		return rc < 0 ? BENCH_OK : rc;
#ifndef HAVE_RTE_ACL
	if (o.impl && !strcmp(o.impl, "rte_acl")) {
		fprintf(stderr, "ncbench match: --impl rte_acl: not built (DPDK was not found)\n");
		return BENCH_FAIL;
	}
#endif
	if (bench_load_rules(&o, &br))
		return BENCH_FAIL;
	if (o.trace_path ? trace_load(o.trace_path, &t)
			 : trace_generate(br.rs, o.trace_size ? o.trace_size : 100000, o.seed, &t)) {
		bench_rules_free(&br);
		return BENCH_FAIL;
	}
	ids = malloc((t.n ? t.n : 1) * sizeof(*ids));
	if (!ids) {
		fprintf(stderr, "ncbench match: out of memory\n");
		rc = BENCH_FAIL;
		goto out;
	}
	if (!o.impl || strcmp(o.impl, "rte_acl"))
		rc = answers_cls(&br, &t, o.impl && !strcmp(o.impl, "linear"), o.burst, ids);
#ifdef HAVE_RTE_ACL
	else
		rc = answers_acl(&br, &t, o.burst, &o, ids);
#endif
	if (rc)
		goto out;
	if (o.csv_path && !(csv = bench_csv_open(o.csv_path, "line,src,dst,sport,dport,proto,rule"))) {
		rc = BENCH_FAIL;
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		uint32_t id = ids[i] == CLS_NO_MATCH ? 0 : ids[i];

		printf("%" PRIu32 "\n", id);
		if (csv) {
			const struct cls_key *k = &t.keys[i];
			char a[16], b[16];

			if (k->family == CLS_IPV4)
				fprintf(csv, "%zu,%s,%s,%u,%u,%u,%" PRIu32 "\n", i + 1,
					bench_ip4_str(k->src.v4, a), bench_ip4_str(k->dst.v4, b),
					k->sport, k->dport, k->proto, id);
			else
				fprintf(csv, "%zu,ipv6,ipv6,%u,%u,%u,%" PRIu32 "\n", i + 1, k->sport,
					k->dport, k->proto, id);
		}
	}
	if (fflush(stdout) || (csv && fclose(csv))) {
		fprintf(stderr, "ncbench match: write error: %s\n", strerror(errno));
		csv = NULL;
		rc = BENCH_FAIL;
		goto out;
	}
	csv = NULL;
out:
	if (csv)
		fclose(csv);
	free(ids);
	trace_free(&t);
	bench_rules_free(&br);
	return rc;
}
