/* SPDX-License-Identifier: BSD-3-Clause */
/* replay_core: the summary — totals, reasons, per-rule hits, speed. */
#include <inttypes.h>
#include <stdlib.h>

#include "replay_int.h"

static const struct replay_rule_stats *sort_base;

static int by_packets(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t px = sort_base[x].packets, py = sort_base[y].packets;

	if (px != py)
		return px > py ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void print_reasons(const struct replay_totals *t, FILE *f, bool with_key)
{
	for (int s = 1; s < NC_PARSE_STATUS_COUNT; s++) {
		uint64_t v = with_key ? t->status[s] - t->unparsable_by[s] : t->unparsable_by[s];

		if (v)
			fprintf(f, "    %-18s %12" PRIu64 "  %s\n", nc_parse_status_name(s), v,
				nc_parse_reason_str(s));
	}
}

static void fmt_ts(uint64_t us, char *buf, size_t size)
{
	snprintf(buf, size, "%" PRIu64 ".%06" PRIu64, us / 1000000u, us % 1000000u);
}

void replay_report(const struct replay *r, FILE *f, unsigned top)
{
	const struct replay_totals *t = &r->t;
	size_t n = r->rs->n, hit = 0;
	uint32_t *order;

	fprintf(f, "captures: %" PRIu64 "  packets: %" PRIu64 "  bytes: %" PRIu64
		   "  time: %.3f s  speed: %.2f Mpps\n",
		t->captures, t->packets, t->bytes, t->seconds,
		t->seconds > 0 ? (double)t->packets / t->seconds / 1e6 : 0.0);
	if (r->cfg.filter)
		fprintf(f, "filtered out: %" PRIu64 "  (filter: %s)\n", t->filtered, r->cfg.filter);
	fprintf(f, "classified: %" PRIu64 "  matched: %" PRIu64 "  unmatched: %" PRIu64
		   "  (flow cache: %" PRIu64 " hits)\n",
		t->classified, t->matched, t->unmatched, t->cache_hits);
	/* Keyed statuses other than the no-port ones (trunc_payload: full key,
	 * only the payload was cut) are listed here too, for information. */
	if (t->classified != t->status[NC_PARSE_OK]) {
		fprintf(f, "  classified despite a parse problem (%" PRIu64
			   " of them with ports 0, no transport header):\n",
			t->no_ports);
		print_reasons(t, f, true);
	}
	fprintf(f, "unparsable: %" PRIu64 "\n", t->unparsable);
	print_reasons(t, f, false);
	if (r->cfg.split_dir)
		fprintf(f, "split: %" PRIu64 " packets written to %s/rule-N.pcap, %" PRIu64
			   " skipped (link type differs from the file's)\n",
			t->split_written, r->cfg.split_dir, t->split_skipped);
	if (r->cfg.unmatched_path)
		fprintf(f, "unmatched: %" PRIu64 " packets written to %s, %" PRIu64
			   " skipped (link type differs from the file's)\n",
			t->unmatched_written, r->cfg.unmatched_path, t->unmatched_skipped);

	order = malloc((n ? n : 1) * sizeof(*order));
	if (!order)
		return;
	for (size_t i = 1; i <= n; i++)
		if (r->rule[i].packets)
			order[hit++] = (uint32_t)i;
	sort_base = r->rule;
	qsort(order, hit, sizeof(*order), by_packets);
	if (top == 0 || top > hit)
		top = (unsigned)hit;
	fprintf(f, "rules: %zu  with hits: %zu  shown: top %u by packets\n", n, hit, top);
	if (top)
		fprintf(f, "%8s %10s %14s %16s %18s %18s  %s\n", "rule", "id", "packets", "bytes",
			"first", "last", "rule text");
	for (unsigned i = 0; i < top; i++) {
		const struct replay_rule_stats *s = &r->rule[order[i]];
		const struct cls_rule *cr = &r->rs->rules[order[i] - 1];
		char first[32], last[32], text[512];

		fmt_ts(s->first_us, first, sizeof(first));
		fmt_ts(s->last_us, last, sizeof(last));
		cls_rule_format(cr, text, sizeof(text));
		fprintf(f, "%8" PRIu32 " %10" PRIu32 " %14" PRIu64 " %16" PRIu64 " %18s %18s  %s\n",
			order[i], cr->id, s->packets, s->bytes, first, last, text);
	}
	free(order);
}
