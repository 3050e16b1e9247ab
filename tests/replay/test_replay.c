/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_core (ncreplay's engine) against a reference computed here: every
 * capture under data/ (see gen_captures.py) is read with libpcap, parsed with
 * nc_parse() and classified with the LINEAR backend; the verdicts CSV that
 * replay_core writes (trie backend, flow cache, bulk lookups) must agree row
 * by row, and its per-rule counters must equal the reference's tallies.
 * Then: split files read back with libpcap, the BPF prefilter, truncated and
 * corrupt captures (error text with the byte offset), CSV/JSON format.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classify.h"
#include "classify_parse.h"
#include "nc_parse.h"
#include "replay.h"
#include "tmpdir_util.h"

#define MAXPKT 256

static const char *data(const char *name)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", REPLAY_DATA_DIR, name);
	return buf[k];
}

/* ---- the reference --------------------------------------------------------- */

struct ref {
	size_t n;
	uint32_t rule[MAXPKT];   /* 1-based position, 0 none */
	uint8_t status[MAXPKT];
	bool has_key[MAXPKT];
	struct cls_key key[MAXPKT];
	uint32_t wire[MAXPKT];
	uint64_t hits[64];       /* by position */
	uint64_t matched, unmatched, unparsable;
};

static void reference(const char *capture, const char *rules, struct ref *o)
{
	char err[PCAP_ERRBUF_SIZE + 256];
	struct cls_config cfg = { .backend = CLS_BACKEND_LINEAR };
	struct cls_ruleset *rs;
	struct cls *c;
	struct pcap_pkthdr *h;
	const u_char *d;
	enum nc_link link;
	pcap_t *p;
	size_t failed;

	memset(o, 0, sizeof(*o));
	cr_assert_eq(cls_parse_file(rules, CLS_FMT_AUTO, &rs, err, sizeof(err)), 0, "%s", err);
	cr_assert_lt(rs->n, 64);
	cr_assert_eq(cls_create(&cfg, &c), 0);
	cr_assert_eq(cls_insert_batch(c, rs->rules, rs->n, &failed), 0);
	p = pcap_open_offline(capture, err);
	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(nc_link_from_dlt(pcap_datalink(p), &link), 0);
	while (pcap_next_ex(p, &h, &d) == 1) {
		struct nc_pkt_info pi;
		struct cls_match m;
		size_t i = o->n++;

		cr_assert_lt(i, MAXPKT);
		cr_assert_eq(nc_parse(d, h->caplen, 0, link, &pi), 0);
		o->status[i] = pi.status;
		o->has_key[i] = nc_pkt_has_key(&pi);
		o->key[i] = pi.key;
		o->wire[i] = h->len;
		if (!o->has_key[i]) {
			o->unparsable++;
			continue;
		}
		if (cls_lookup(c, &pi.key, &m)) {
			for (size_t j = 0; j < rs->n; j++) /* id -> position in the file */
				if (rs->rules[j].id == m.id)
					o->rule[i] = (uint32_t)j + 1;
			cr_assert_neq(o->rule[i], 0);
			o->hits[o->rule[i]]++;
			o->matched++;
		} else {
			o->unmatched++;
		}
	}
	pcap_close(p);
	cls_free(c);
	cls_ruleset_free(rs);
}

/* ---- running replay_core ----------------------------------------------------- */

static void setup(void)
{
	tmpdir_make("test_replay");
}

static void teardown(void)
{
	tmpdir_remove();
}

static struct replay *make(struct replay_cfg *cfg, const char *rules)
{
	struct replay *r = NULL;
	char err[1024];

	cfg->rules_path = rules;
	cr_assert_eq(replay_create(cfg, &r, err, sizeof(err)), 0, "%s", err);
	return r;
}

static void run_ok(struct replay *r, const char *capture)
{
	char err[1024];

	cr_assert_eq(replay_file(r, capture, err, sizeof(err)), 0, "%s: %s", capture, err);
}

static void addr_text(const struct cls_key *k, const union cls_addr *a, char *buf)
{
	if (k->family == CLS_IPV4) {
		uint32_t v = htonl(a->v4);

		inet_ntop(AF_INET, &v, buf, INET6_ADDRSTRLEN);
	} else {
		uint64_t be[2] = { __builtin_bswap64(a->v6.hi), __builtin_bswap64(a->v6.lo) };

		inet_ntop(AF_INET6, be, buf, INET6_ADDRSTRLEN);
	}
}

/* Compare a verdicts CSV with the reference, row by row. */
static void check_csv(const char *csv, const struct ref *ref, uint64_t first_frame)
{
	FILE *f = fopen(csv, "r");
	char line[512];
	size_t row = 0;

	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	cr_assert_str_eq(line, "frame,family,proto,src,dst,sport,dport,status,rule\n");
	while (fgets(line, sizeof(line), f)) {
		char *col[9], *s = line;
		const struct cls_key *k = &ref->key[row];
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		while (n < 9) {
			col[n++] = s;
			s = strchr(s, ',');
			if (!s)
				break;
			*s++ = '\0';
		}
		cr_assert_eq(n, 9, "row %zu: %d columns", row + 1, n);
		cr_assert_null(s, "row %zu: more than 9 columns", row + 1);
		cr_assert_lt(row, ref->n, "more rows than packets");
		cr_assert_eq(strtoull(col[0], NULL, 10), first_frame + row);
		cr_assert_str_eq(col[7], nc_parse_status_name(ref->status[row]), "frame %zu",
				 row + 1);
		cr_assert_eq(strtoul(col[8], NULL, 10), ref->rule[row], "%s frame %zu: rule %s, ref %u",
			     csv, row + 1, col[8], ref->rule[row]);
		if (ref->has_key[row]) {
			addr_text(k, &k->src, a);
			addr_text(k, &k->dst, b);
			cr_assert_eq(atoi(col[1]), k->family);
			cr_assert_eq(atoi(col[2]), k->proto);
			cr_assert_str_eq(col[3], a);
			cr_assert_str_eq(col[4], b);
			cr_assert_eq(atoi(col[5]), k->sport);
			cr_assert_eq(atoi(col[6]), k->dport);
		} else {
			for (int i = 1; i <= 6; i++)
				cr_assert_str_empty(col[i]);
		}
		row++;
	}
	fclose(f);
	cr_assert_eq(row, ref->n, "%s: %zu rows, %zu packets", csv, row, ref->n);
}

static void check_stats(const struct replay *r, const struct ref *ref)
{
	const struct replay_totals *t = replay_totals(r);
	const struct replay_rule_stats *rs = replay_rule_stats(r);

	cr_assert_eq(t->packets, ref->n);
	cr_assert_eq(t->matched, ref->matched);
	cr_assert_eq(t->unmatched, ref->unmatched);
	cr_assert_eq(t->unparsable, ref->unparsable);
	for (size_t i = 1; i <= replay_rule_count(r); i++) {
		uint64_t bytes = 0;

		cr_assert_eq(rs[i].packets, ref->hits[i], "rule %zu: %lu hits, ref %lu", i,
			     (unsigned long)rs[i].packets, (unsigned long)ref->hits[i]);
		for (size_t j = 0; j < ref->n; j++)
			if (ref->rule[j] == i)
				bytes += ref->wire[j];
		cr_assert_eq(rs[i].bytes, bytes);
	}
}

static const char *captures[] = { "eth.pcap", "vlan.pcap", "sll.pcap", "sll2.pcap",
				  "raw.pcap", "ipv6.pcap", "eth.pcapng", "snap.pcap" };
static const char *rulesets[] = { "rules4.cb", "rules6.cb", "mixed.rules" };

TestSuite(replay, .init = setup, .fini = teardown, .timeout = 120);

/* ---- bad arguments first ----------------------------------------------------- */

Test(replay, bad_arguments)
{
	struct replay_cfg cfg = { 0 };
	struct replay *r = NULL;
	char err[1024];

	cr_assert_eq(replay_create(NULL, &r, err, sizeof(err)), -EINVAL);
	cr_assert_eq(replay_create(&cfg, NULL, err, sizeof(err)), -EINVAL);
	cfg.burst = REPLAY_BURST_MAX + 1;
	cr_assert_eq(replay_create(&cfg, &r, err, sizeof(err)), -EINVAL);
	cfg.burst = 0;
	cfg.rules_path = data("no-such.rules");
	cr_assert_eq(replay_create(&cfg, &r, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no-such.rules"), "%s", err);
	cfg.rules_path = NULL;
	cfg.rules_text = "src 10.0.0.0/8\nsrc banana\n";
	cfg.rules_len = strlen(cfg.rules_text);
	cr_assert_eq(replay_create(&cfg, &r, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, ":2:"), "%s", err);
	cfg.rules_text = "id 3 src 10.0.0.0/8\nid 3 dst 10.0.0.0/8\n";
	cfg.rules_len = strlen(cfg.rules_text);
	cr_assert_neq(replay_create(&cfg, &r, err, sizeof(err)), 0);
	cfg.rules_text = "src 10.0.0.0/8\n";
	cfg.rules_len = strlen(cfg.rules_text);
	cfg.no_flow_cache = false;
	cfg.flow_cache_bits = 30;
	cr_assert_eq(replay_create(&cfg, &r, err, sizeof(err)), -EINVAL);
	cfg.flow_cache_bits = 0;
	cfg.split_dir = data("eth.pcap"); /* a file, not a directory */
	cr_assert_neq(replay_create(&cfg, &r, err, sizeof(err)), 0);
	cfg.split_dir = NULL;
	cr_assert_eq(replay_create(&cfg, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(replay_file(r, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_eq(replay_file(r, data("no-such.pcap"), err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no-such.pcap"), "%s", err);
	cr_assert_eq(replay_file(r, data("rules4.cb"), err, sizeof(err)), -EIO); /* not a capture */
	cr_assert(strstr(err, "rules4.cb: byte 0:"), "%s", err);
	cr_assert_eq(replay_fp(r, NULL, "x", err, sizeof(err)), -EINVAL);
	replay_free(r);
	replay_free(NULL);

	/* a filter that does not compile */
	cfg.filter = "tcp and and";
	cr_assert_eq(replay_create(&cfg, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(replay_file(r, data("eth.pcap"), err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "filter"), "%s", err);
	replay_free(r);
}

/* ---- verdicts against the linear reference ------------------------------------ */

static void verdicts_case(const char *cap, const char *rules, bool cache, unsigned burst)
{
	struct replay_cfg cfg = { .verdicts_path = tmp("v.csv"), .no_flow_cache = !cache,
				  .burst = burst };
	struct ref *ref = calloc(1, sizeof(*ref));
	struct replay *r;
	char err[256];

	reference(data(cap), data(rules), ref);
	r = make(&cfg, data(rules));
	run_ok(r, data(cap));
	cr_assert_eq(replay_finish(r, err, sizeof(err)), 0, "%s", err);
	check_csv(tmp("v.csv"), ref, 1);
	check_stats(r, ref);
	replay_free(r);
	free(ref);
}

Test(replay, verdicts_match_linear_reference)
{
	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++)
		for (size_t j = 0; j < sizeof(rulesets) / sizeof(rulesets[0]); j++) {
			verdicts_case(captures[i], rulesets[j], true, 0);
			verdicts_case(captures[i], rulesets[j], false, 1);
			verdicts_case(captures[i], rulesets[j], true, 7);
		}
}

/* The captures really contain what they are meant to test. */
Test(replay, captures_cover_link_types_and_cases)
{
	struct ref *ref = calloc(1, sizeof(*ref));
	size_t cnt[NC_PARSE_STATUS_COUNT];
	size_t v6 = 0;

	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		reference(data(captures[i]), data("mixed.rules"), ref);
		cr_assert_gt(ref->matched, 0, "%s: no packet matched", captures[i]);
		cr_assert_gt(ref->n - ref->unparsable, 0);
		memset(cnt, 0, sizeof(cnt));
		v6 = 0;
		for (size_t j = 0; j < ref->n; j++) {
			cnt[ref->status[j]]++;
			v6 += ref->has_key[j] && ref->key[j].family == CLS_IPV6;
		}
		if (!strcmp(captures[i], "eth.pcap")) {
			cr_assert_gt(cnt[NC_PARSE_FRAGMENT], 0);
			cr_assert_gt(cnt[NC_PARSE_NOT_IP], 0);
			cr_assert_gt(cnt[NC_PARSE_UNSUPPORTED_PROTO], 0);
		}
		if (!strcmp(captures[i], "vlan.pcap")) {
			cr_assert_eq(cnt[NC_PARSE_VLAN_DEPTH], 1);
			cr_assert_gt(v6, 0);
		}
		if (!strcmp(captures[i], "ipv6.pcap")) {
			cr_assert_gt(cnt[NC_PARSE_FRAGMENT], 0);
			cr_assert_eq(v6, ref->n);
		}
		if (!strcmp(captures[i], "snap.pcap")) {
			cr_assert_gt(cnt[NC_PARSE_TRUNC_PAYLOAD], 0);
			cr_assert_gt(cnt[NC_PARSE_TRUNC_TCP] + cnt[NC_PARSE_TRUNC_IP] +
					     cnt[NC_PARSE_TRUNC_EXT], 0);
		}
		if (strstr(captures[i], "sll") || !strcmp(captures[i], "raw.pcap"))
			cr_assert(v6 > 0 && v6 < ref->n, "%s: IPv4 and IPv6", captures[i]);
	}
	free(ref);
}

/* Rule numbers are positions in the file even when the file gives ids. */
Test(replay, explicit_ids_report_positions)
{
	struct replay_cfg cfg = { 0 };
	struct replay *r = make(&cfg, data("mixed.rules"));
	const struct cls_ruleset *rs = replay_ruleset(r);

	cr_assert_eq(rs->rules[0].id, 50);
	run_ok(r, data("eth.pcap"));
	cr_assert_gt(replay_rule_stats(r)[1].packets, 0); /* id 50 is rule 1 */
	replay_free(r);
}

/* pcap and pcapng with the same packets count the same. */
Test(replay, pcapng_equals_pcap)
{
	struct replay_cfg cfg = { 0 };
	struct replay *a = make(&cfg, data("rules4.cb")), *b = make(&cfg, data("rules4.cb"));

	run_ok(a, data("eth.pcap"));
	run_ok(b, data("eth.pcapng"));
	cr_assert_eq(replay_totals(a)->packets, replay_totals(b)->packets);
	for (size_t i = 1; i <= replay_rule_count(a); i++) {
		cr_assert_eq(replay_rule_stats(a)[i].packets, replay_rule_stats(b)[i].packets);
		cr_assert_eq(replay_rule_stats(a)[i].first_us, replay_rule_stats(b)[i].first_us);
		cr_assert_eq(replay_rule_stats(a)[i].last_us, replay_rule_stats(b)[i].last_us);
	}
	replay_free(a);
	replay_free(b);
}

/* Several captures in one run: frame numbers continue, counters add up. */
Test(replay, several_captures)
{
	struct replay_cfg cfg = { .verdicts_path = tmp("v.csv") };
	struct replay *r = make(&cfg, data("mixed.rules"));
	struct ref *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char err[256];

	reference(data("eth.pcap"), data("mixed.rules"), a);
	reference(data("ipv6.pcap"), data("mixed.rules"), b);
	run_ok(r, data("eth.pcap"));
	run_ok(r, data("ipv6.pcap"));
	cr_assert_eq(replay_finish(r, err, sizeof(err)), 0);
	cr_assert_eq(replay_totals(r)->packets, a->n + b->n);
	cr_assert_eq(replay_totals(r)->matched, a->matched + b->matched);
	cr_assert_eq(replay_totals(r)->captures, 2);
	replay_free(r);
	free(a);
	free(b);
}

/* ---- split and unmatched files, read back with libpcap ------------------------ */

static long count_pcap(const char *path, int *dlt)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p = pcap_open_offline(path, err);
	long n = 0;
	int rc;

	if (!p)
		return -1;
	while ((rc = pcap_next_ex(p, &h, &d)) == 1)
		n++;
	cr_assert_eq(rc, PCAP_ERROR_BREAK, "%s: %s", path, pcap_geterr(p));
	*dlt = pcap_datalink(p);
	pcap_close(p);
	return n;
}

static void split_case(const char *cap, const char *rules, unsigned max_open)
{
	struct replay_cfg cfg = { .split_dir = tmp("split"), .split_max_open = max_open,
				  .unmatched_path = tmp("unmatched.pcap") };
	struct replay *r = make(&cfg, data(rules));
	const struct replay_rule_stats *st;
	char err[256], cmd[700];
	uint64_t sum = 0;
	int dlt;

	run_ok(r, data(cap));
	cr_assert_eq(replay_finish(r, err, sizeof(err)), 0, "%s", err);
	st = replay_rule_stats(r);
	for (size_t i = 1; i <= replay_rule_count(r); i++) {
		char name[64];
		long n;

		snprintf(name, sizeof(name), "split/rule-%zu.pcap", i);
		n = count_pcap(tmp(name), &dlt);
		if (st[i].packets == 0) {
			cr_assert_eq(n, -1, "%s: file for a rule without hits", name);
			continue;
		}
		cr_assert_eq((uint64_t)n, st[i].packets, "%s %s %s: %ld packets, %lu hits", cap,
			     rules, name, n, (unsigned long)st[i].packets);
		sum += (uint64_t)n;
	}
	cr_assert_eq(sum, replay_totals(r)->matched);
	cr_assert_eq(replay_totals(r)->split_written, sum);
	if (replay_totals(r)->unmatched + replay_totals(r)->unparsable) {
		long n = count_pcap(tmp("unmatched.pcap"), &dlt);

		cr_assert_eq((uint64_t)n, replay_totals(r)->unmatched + replay_totals(r)->unparsable);
	}
	replay_free(r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", tmp("split"), tmp("unmatched.pcap"));
	cr_assert_eq(system(cmd), 0);
}

Test(replay, split_files_hold_the_hits)
{
	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
		split_case(captures[i], "mixed.rules", 0);
		split_case(captures[i], "mixed.rules", 2); /* evicts and appends */
		split_case(captures[i], "rules4.cb", 1);
	}
}

/* A split file keeps the packets byte for byte. */
Test(replay, split_packets_identical)
{
	struct replay_cfg cfg = { .split_dir = tmp("split"), .split_max_open = 1 };
	struct replay *r = make(&cfg, data("rules4.cb"));
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h, *h2;
	const u_char *d, *d2;
	pcap_t *p, *q;
	struct ref *ref = calloc(1, sizeof(*ref));
	size_t i = 0;

	reference(data("eth.pcap"), data("rules4.cb"), ref);
	run_ok(r, data("eth.pcap"));
	cr_assert_eq(replay_finish(r, err, sizeof(err)), 0);
	p = pcap_open_offline(data("eth.pcap"), err);
	q = pcap_open_offline(tmp("split/rule-1.pcap"), err);
	cr_assert(p && q);
	while (pcap_next_ex(p, &h, &d) == 1) {
		if (ref->rule[i++] != 1)
			continue;
		cr_assert_eq(pcap_next_ex(q, &h2, &d2), 1);
		cr_assert_eq(h->caplen, h2->caplen);
		cr_assert_eq(h->len, h2->len);
		cr_assert_eq(h->ts.tv_sec, h2->ts.tv_sec);
		cr_assert_eq(h->ts.tv_usec, h2->ts.tv_usec);
		cr_assert_eq(memcmp(d, d2, h->caplen), 0);
	}
	cr_assert_eq(pcap_next_ex(q, &h2, &d2), PCAP_ERROR_BREAK);
	pcap_close(p);
	pcap_close(q);
	replay_free(r);
	free(ref);
}

/* Outputs have one link type: packets of a capture with another are skipped. */
Test(replay, split_link_type_mismatch_is_counted)
{
	struct replay_cfg cfg = { .split_dir = tmp("split") };
	struct replay *r = make(&cfg, data("mixed.rules"));
	int dlt;

	run_ok(r, data("eth.pcap"));
	run_ok(r, data("sll.pcap"));
	cr_assert_gt(replay_totals(r)->split_skipped, 0);
	cr_assert_eq(replay_totals(r)->split_written + replay_totals(r)->split_skipped,
		     replay_totals(r)->matched);
	replay_free(r);
	cr_assert_gt(count_pcap(tmp("split/rule-1.pcap"), &dlt), 0);
	cr_assert_eq(dlt, DLT_EN10MB);
}

/* ---- BPF prefilter ------------------------------------------------------------ */

Test(replay, bpf_filter_reduces_counts)
{
	struct ref *ref = calloc(1, sizeof(*ref));
	struct replay_cfg cfg = { .filter = "tcp", .verdicts_path = tmp("v.csv") };
	struct replay *r;
	char err[256], line[512];
	size_t tcp = 0, tcp_hits1 = 0, rows = 0;
	FILE *f;

	reference(data("eth.pcap"), data("rules4.cb"), ref);
	for (size_t i = 0; i < ref->n; i++)
		if (ref->has_key[i] && ref->key[i].proto == 6) {
			tcp++;
			tcp_hits1 += ref->rule[i] == 1;
		}
	cr_assert_gt(tcp, 0);
	cr_assert_lt(tcp, ref->n);
	r = make(&cfg, data("rules4.cb"));
	run_ok(r, data("eth.pcap"));
	cr_assert_eq(replay_finish(r, err, sizeof(err)), 0);
	cr_assert_eq(replay_totals(r)->packets, ref->n);
	cr_assert_eq(replay_totals(r)->filtered, ref->n - tcp);
	cr_assert_eq(replay_totals(r)->classified + replay_totals(r)->unparsable, tcp);
	cr_assert_eq(replay_rule_stats(r)[1].packets, tcp_hits1);
	replay_free(r);
	/* rows only for packets that passed; frame numbers are positions in the file */
	f = fopen(tmp("v.csv"), "r");
	cr_assert_not_null(fgets(line, sizeof(line), f));
	while (fgets(line, sizeof(line), f)) {
		unsigned long frame = strtoul(line, NULL, 10);

		cr_assert(frame >= 1 && frame <= ref->n);
		cr_assert_eq(ref->key[frame - 1].proto, 6);
		rows++;
	}
	fclose(f);
	cr_assert_eq(rows, tcp);
	free(ref);
}

/* ---- truncated and corrupt captures ------------------------------------------- */

/* Offset of record k (0-based) of a pcap file, from libpcap's view of it. */
static long record_offset(const char *path, size_t k)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p = pcap_open_offline(path, err);
	long off = 24;

	cr_assert_not_null(p);
	for (size_t i = 0; i < k; i++) {
		cr_assert_eq(pcap_next_ex(p, &h, &d), 1);
		off += 16 + (long)h->caplen;
	}
	pcap_close(p);
	return off;
}

static void broken_case(const char *name, uint64_t good, long offset, const char *what)
{
	struct replay_cfg cfg = { .verdicts_path = tmp("v.csv") };
	struct replay *r = make(&cfg, data("rules4.cb"));
	char err[1024], want[700];
	int rc;

	rc = replay_file(r, data(name), err, sizeof(err));
	cr_assert_eq(rc, -EIO, "%s: rc %d", name, rc);
	snprintf(want, sizeof(want), "%s: byte %ld: ", data(name), offset);
	cr_assert(strstr(err, want), "'%s' lacks '%s'", err, want);
	cr_assert(strstr(err, what), "'%s' lacks '%s'", err, what);
	/* what was read before the damage is counted */
	cr_assert_eq(replay_totals(r)->packets, good);
	cr_assert_eq(replay_totals(r)->classified + replay_totals(r)->unparsable, good);
	cr_assert_eq(replay_finish(r, err, sizeof(err)), 0);
	replay_free(r);
}

Test(replay, truncated_and_corrupt_captures)
{
	broken_case("truncated.pcap", 5, record_offset(data("eth.pcap"), 5), "truncated");
	broken_case("corrupt.pcap", 3, record_offset(data("eth.pcap"), 3), "capture length");
	/* pcapng: SHB 28 + IDB 20, then 3 EPBs of 32 + padded length */
	{
		char err[PCAP_ERRBUF_SIZE];
		struct pcap_pkthdr *h;
		const u_char *d;
		pcap_t *p = pcap_open_offline(data("eth.pcapng"), err);
		long off = 28 + 20;

		for (int i = 0; i < 3; i++) {
			cr_assert_eq(pcap_next_ex(p, &h, &d), 1);
			off += 32 + ((h->caplen + 3) & ~3u);
		}
		pcap_close(p);
		broken_case("truncated.pcapng", 3, off, "truncated");
	}
}

/* The same through a stream without a file behind it (fmemopen). */
Test(replay, memory_stream)
{
	struct replay_cfg cfg = { 0 };
	struct replay *r = make(&cfg, data("rules4.cb"));
	static char buf[8192];
	char err[1024];
	FILE *f = fopen(data("truncated.pcap"), "rb");
	size_t n = fread(buf, 1, sizeof(buf), f);

	fclose(f);
	f = fmemopen(buf, n, "rb");
	cr_assert_eq(replay_fp(r, f, "mem", err, sizeof(err)), -EIO);
	cr_assert(strstr(err, "mem: byte 380: "), "%s", err);
	cr_assert_eq(replay_totals(r)->packets, 5);
	replay_free(r);
}

/* ---- output formats ----------------------------------------------------------- */

Test(replay, json_verdicts)
{
	struct replay_cfg cfg = { .verdicts_path = tmp("v.json"),
				  .verdicts_fmt = REPLAY_VERDICTS_JSON };
	struct replay *r = make(&cfg, data("mixed.rules"));
	char err[256], buf[65536];
	size_t n, objs = 0;
	FILE *f;

	run_ok(r, data("vlan.pcap"));
	cr_assert_eq(replay_finish(r, err, sizeof(err)), 0);
	f = fopen(tmp("v.json"), "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cr_assert_eq(buf[0], '[');
	cr_assert_str_eq(buf + n - 2, "]\n");
	for (char *s = buf; (s = strstr(s, "{\"frame\":")); s++)
		objs++;
	cr_assert_eq(objs, replay_totals(r)->packets);
	cr_assert(strstr(buf, "\"status\":\"vlan_depth\",\"rule\":0}"));
	cr_assert(strstr(buf, "\"family\":null"));
	replay_free(r);
}

Test(replay, report_mentions_reasons)
{
	struct replay_cfg cfg = { .filter = "ip or ip6 or arp" };
	struct replay *r = make(&cfg, data("mixed.rules"));
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	run_ok(r, data("eth.pcap"));
	replay_report(r, f, 3);
	fclose(f);
	cr_assert(strstr(text, "not_ip"), "%s", text);
	cr_assert(strstr(text, "fragment"), "%s", text);
	cr_assert(strstr(text, "top 3 by packets"), "%s", text);
	cr_assert(strstr(text, "Mpps"), "%s", text);
	free(text);
	replay_free(r);
}

/* The flow cache answers repeated keys as the classifier would, also when
 * tiny (collisions) — each capture is replayed twice so the second pass hits. */
Test(replay, flow_cache_repeats)
{
	static const unsigned bits[] = { 4, 0 };

	for (size_t b = 0; b < 2; b++)
		for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
			struct replay_cfg cfg = { .flow_cache_bits = bits[b] };
			struct ref *ref = calloc(1, sizeof(*ref));
			struct replay *r = make(&cfg, data("mixed.rules"));

			reference(data(captures[i]), data("mixed.rules"), ref);
			run_ok(r, data(captures[i]));
			run_ok(r, data(captures[i]));
			cr_assert_gt(replay_totals(r)->cache_hits, 0);
			cr_assert_eq(replay_totals(r)->matched, 2 * ref->matched);
			cr_assert_eq(replay_totals(r)->unmatched, 2 * ref->unmatched);
			for (size_t k = 1; k <= replay_rule_count(r); k++)
				cr_assert_eq(replay_rule_stats(r)[k].packets, 2 * ref->hits[k]);
			replay_free(r);
			free(ref);
		}
}
