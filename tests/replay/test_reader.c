/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_core's two ways of reading a capture give the same results.
 *
 * The built-in reader of classic pcap files (apps/replay/pcapfile.c, walked
 * in reader.c) and the verdict memo of the BPF prefilter (bpfcache.h) are
 * shortcuts; replay_cfg.libpcap_only turns both off (pcap_next_ex and
 * pcap_offline_filter on every packet).  Every capture — the ones under
 * data/ and variants built here byte by byte (big-endian, nanosecond time
 * stamps, negative time stamps, a snaplen libpcap cuts records to, format
 * version 2.3, truncated and corrupt records, a file large enough for many
 * refills with records across block ends, jumbo records) — is replayed
 * four ways: libpcap only, the built-in reader on the file (mapped whole,
 * and mapped in the smallest parts it takes — a page plus the largest
 * record — so that records lie across the ends of parts), the built-in
 * reader on the bytes in memory (replay_buffer).  The return code, the
 * error text, every counter, the per-rule statistics, the summary, the
 * verdicts CSV and the split and unmatched pcaps must be identical.
 * Then the memo itself against pcap_offline_filter, packet by packet, on
 * every prefix length of every packet.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpfcache.h"
#include "replay.h"
#include "tmpdir_util.h"

static const char *data(const char *name)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", REPLAY_DATA_DIR, name);
	return buf[k];
}

static void setup(void)
{
	tmpdir_make("test_reader");
}

static void teardown(void)
{
	tmpdir_remove();
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	*len = 0;
	if (!f)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? 2 * cap : 1 << 16;
			buf = realloc(buf, cap + 1);
			cr_assert_not_null(buf);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ---- one run, everything it produced --------------------------------------- */

enum how { VIA_LIBPCAP, VIA_FILE, VIA_BUFFER, VIA_SMALL_BLOCKS, HOWS };
static const char *how_name[] = { "libpcap", "file", "buffer", "file mapped in small parts" };

struct outcome {
	int rc;
	char err[1024];
	struct replay_totals t;
	struct replay_rule_stats *rules;
	size_t n_rules;
	char *report;           /* without the first line (time, speed) */
	char *csv;
	size_t csv_len;
	char *outputs;          /* unmatched.pcap, then split/rule-N.pcap in order */
	size_t out_len;
};

static void outcome_free(struct outcome *o)
{
	free(o->rules);
	free(o->report);
	free(o->csv);
	free(o->outputs);
	memset(o, 0, sizeof(*o));
}

static void append_file(struct outcome *o, const char *path)
{
	size_t len;
	char *b = slurp(path, &len);

	if (!b)
		return;
	o->outputs = realloc(o->outputs, o->out_len + len + 1);
	cr_assert_not_null(o->outputs);
	memcpy(o->outputs + o->out_len, b, len);
	o->out_len += len;
	free(b);
}

/* Replay the captures (stopping at the first error, as ncreplay does). */
static void run_how(enum how how, const char *const *caps, size_t ncaps, const char *rules,
		    const char *filter, bool outputs, unsigned burst, struct outcome *o)
{
	char vpath[600], split[600], upath[600];
	struct replay_cfg cfg = { .rules_path = rules, .filter = filter, .burst = burst,
				  .libpcap_only = how == VIA_LIBPCAP, .verdicts_path = vpath,
				  .map_size = how == VIA_SMALL_BLOCKS ? 1 : 0 };
	struct replay *r;
	char err2[1024], cmd[2000], *text = NULL;
	size_t len = 0;
	FILE *f;

	memset(o, 0, sizeof(*o));
	snprintf(vpath, sizeof(vpath), "%s", tmp("v.csv"));
	snprintf(split, sizeof(split), "%s", tmp("split"));
	snprintf(upath, sizeof(upath), "%s", tmp("u.pcap"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s'", split, upath, vpath);
	cr_assert_eq(system(cmd), 0);
	if (outputs) {
		cfg.split_dir = split;
		cfg.split_max_open = 3;
		cfg.unmatched_path = upath;
		cr_assert_eq(mkdir(split, 0700), 0);
	}
	cr_assert_eq(replay_create(&cfg, &r, o->err, sizeof(o->err)), 0, "%s", o->err);
	for (size_t i = 0; i < ncaps && !o->rc; i++) {
		if (how == VIA_BUFFER) {
			size_t n;
			char *b = slurp(caps[i], &n);

			cr_assert_not_null(b, "%s", caps[i]);
			o->rc = replay_buffer(r, b, n, caps[i], o->err, sizeof(o->err));
			free(b);
		} else {
			o->rc = replay_file(r, caps[i], o->err, sizeof(o->err));
		}
	}
	cr_assert_eq(replay_finish(r, err2, sizeof(err2)), 0, "%s", err2);
	o->t = *replay_totals(r);
	o->n_rules = replay_rule_count(r);
	o->rules = malloc((o->n_rules + 1) * sizeof(*o->rules));
	memcpy(o->rules, replay_rule_stats(r), (o->n_rules + 1) * sizeof(*o->rules));
	f = open_memstream(&text, &len);
	replay_report(r, f, 0);
	fclose(f);
	o->report = strdup(strchr(text, '\n') ? strchr(text, '\n') + 1 : text);
	free(text);
	replay_free(r);
	o->csv = slurp(vpath, &o->csv_len);
	if (outputs) {
		append_file(o, upath);
		for (size_t i = 1; i <= o->n_rules; i++) {
			char name[700];

			snprintf(name, sizeof(name), "%s/rule-%zu.pcap", split, i);
			append_file(o, name);
		}
	}
}

static void same(const struct outcome *a, const struct outcome *b, const char *what)
{
	struct replay_totals ta = a->t, tb = b->t;

	cr_assert_eq(a->rc, b->rc, "%s: rc %d vs %d (%s | %s)", what, a->rc, b->rc, a->err,
		     b->err);
	cr_assert_str_eq(a->err, b->err, "%s", what);
	ta.seconds = tb.seconds = 0;
	ta.read_builtin = tb.read_builtin = 0;
	for (size_t i = 0; i < sizeof(ta) / sizeof(uint64_t); i++) {
		uint64_t x, y;

		memcpy(&x, (const char *)&ta + 8 * i, 8);
		memcpy(&y, (const char *)&tb + 8 * i, 8);
		cr_assert_eq(x, y, "%s: counter word %zu of struct replay_totals: %lu vs %lu",
			     what, i, (unsigned long)x, (unsigned long)y);
	}
	cr_assert_eq(a->n_rules, b->n_rules);
	cr_assert(!memcmp(a->rules, b->rules, (a->n_rules + 1) * sizeof(*a->rules)),
		  "%s: per-rule statistics differ", what);
	cr_assert_str_eq(a->report, b->report, "%s", what);
	cr_assert_eq(a->csv_len, b->csv_len, "%s: verdicts %zu vs %zu bytes", what, a->csv_len,
		     b->csv_len);
	cr_assert(!memcmp(a->csv, b->csv, a->csv_len), "%s: verdicts differ", what);
	cr_assert_eq(a->out_len, b->out_len, "%s: outputs %zu vs %zu bytes", what, a->out_len,
		     b->out_len);
	cr_assert(!a->out_len || !memcmp(a->outputs, b->outputs, a->out_len),
		  "%s: split/unmatched pcaps differ", what);
}

/*
 * The ways of reading on the same captures must agree; builtin: how many records
 * the built-in reader must at least have taken in the file and buffer runs
 * (0: it must not have been used at all).
 */
static void all_ways(const char *const *caps, size_t ncaps, const char *rules,
		       const char *filter, bool outputs, unsigned burst, uint64_t builtin)
{
	struct outcome o[HOWS];
	char what[1024];

	for (int h = 0; h < HOWS; h++)
		run_how((enum how)h, caps, ncaps, rules, filter, outputs, burst, &o[h]);
	cr_assert_eq(o[VIA_LIBPCAP].t.read_builtin, 0);
	for (int h = 1; h < HOWS; h++) {
		snprintf(what, sizeof(what), "%s%s, rules %s, filter '%s', outputs %d, burst %u: "
			 "%s vs libpcap", caps[0], ncaps > 1 ? " (and more)" : "", rules,
			 filter ? filter : "", outputs, burst, how_name[h]);
		same(&o[VIA_LIBPCAP], &o[h], what);
		if (builtin)
			cr_assert_geq(o[h].t.read_builtin, builtin,
				      "%s: built-in reader took %lu of %lu (rc %d %s)", what,
				      (unsigned long)o[h].t.read_builtin,
				      (unsigned long)o[h].t.packets, o[h].rc, o[h].err);
		else
			cr_assert_eq(o[h].t.read_builtin, 0, "%s: built-in reader used", what);
	}
	for (int h = 0; h < HOWS; h++)
		outcome_free(&o[h]);
}

TestSuite(reader, .init = setup, .fini = teardown, .timeout = 300);

static const char *filters[] = { NULL, "ip or ip6", "tcp", "len > 100 and not arp",
				 "ip[9] = 17 or ip6[6] = 17" };

Test(reader, captures_under_data)
{
	static const char *caps[] = { "eth.pcap", "vlan.pcap", "sll.pcap", "sll2.pcap",
				      "raw.pcap", "ipv6.pcap", "snap.pcap", "eth.pcapng",
				      "truncated.pcap", "corrupt.pcap", "truncated.pcapng" };
	static const char *rules[] = { "rules4.cb", "rules6.cb", "mixed.rules" };

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		for (size_t j = 0; j < sizeof(rules) / sizeof(rules[0]); j++)
			for (size_t k = 0; k < sizeof(filters) / sizeof(filters[0]); k++) {
				char *c = strdup(data(caps[i])), *rl = strdup(data(rules[j]));
				bool ng = strstr(caps[i], "pcapng") != NULL;

				all_ways((const char *const *)&c, 1, rl, filters[k], k < 2, 0,
					   ng ? 0 : 1);
				free(c);
				free(rl);
			}
}

/* Several captures in one run: frame numbers continue, the outputs add up. */
Test(reader, several_captures)
{
	char *caps[] = { strdup(data("eth.pcap")), strdup(data("eth.pcapng")),
			 strdup(data("vlan.pcap")), strdup(data("snap.pcap")) };
	char *broken[] = { strdup(data("ipv6.pcap")), strdup(data("truncated.pcap")),
			   strdup(data("eth.pcap")) };
	char *rules = strdup(data("mixed.rules"));

	all_ways((const char *const *)caps, 4, rules, NULL, true, 0, 1);
	all_ways((const char *const *)caps, 4, rules, "ip or ip6", true, 5, 1);
	all_ways((const char *const *)broken, 3, rules, NULL, true, 0, 1);
	for (int i = 0; i < 4; i++)
		free(caps[i]);
	for (int i = 0; i < 3; i++)
		free(broken[i]);
	free(rules);
}

/* ---- captures built byte by byte -------------------------------------------- */

struct pkt {
	uint32_t caplen, len;
	int64_t sec, usec;
	uint8_t *d;
};

static struct pkt pkts[4096];
static size_t npkts;

/* The Ethernet packets of the test captures, plus two jumbo ones. */
static void load_packets(void)
{
	static const char *src[] = { "eth.pcap", "vlan.pcap", "ipv6.pcap", "snap.pcap" };
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;

	npkts = 0;
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		pcap_t *p = pcap_open_offline(data(src[i]), err);

		cr_assert_not_null(p, "%s", err);
		while (pcap_next_ex(p, &h, &d) == 1) {
			struct pkt *k = &pkts[npkts++];

			k->caplen = h->caplen;
			k->len = h->len;
			k->sec = h->ts.tv_sec;
			k->usec = h->ts.tv_usec;
			k->d = malloc(h->caplen ? h->caplen : 1);
			memcpy(k->d, d, h->caplen);
		}
		pcap_close(p);
	}
	for (uint32_t size = 70000; size <= 262144; size += 192144) {
		struct pkt *k = &pkts[npkts++];

		*k = pkts[0];
		k->caplen = k->len = size;
		k->d = calloc(1, size);
		memcpy(k->d, pkts[0].d, pkts[0].caplen);
	}
}

static void free_packets(void)
{
	for (size_t i = 0; i < npkts; i++)
		free(pkts[i].d);
	npkts = 0;
}

struct shape {
	bool big_endian;
	bool nsec;
	uint16_t minor;        /* format version 2.minor */
	uint32_t snaplen;
	size_t records;        /* records written, cycling through pkts[] */
	bool jumbo;            /* records 4000 and 8000 are the two jumbo packets */
	long cut;              /* > 0: file cut to this many bytes; < 0: cut -cut bytes short */
	long corrupt_at;       /* > 0: record with this index gets caplen 300000 */
	bool negative_ts;      /* time stamps before 1970 */
	bool zero_caplen;      /* every 7th record has caplen 0 */
};

static void put32(FILE *f, uint32_t v, bool be)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(be ? v >> (24 - 8 * i) : v >> (8 * i));
	fwrite(b, 1, 4, f);
}

static void put16(FILE *f, uint16_t v, bool be)
{
	uint8_t b[2] = { (uint8_t)(be ? v >> 8 : v), (uint8_t)(be ? v : v >> 8) };

	fwrite(b, 1, 2, f);
}

/* Write a capture of that shape; the number of records written. */
static size_t make_capture(const char *path, const struct shape *s)
{
	FILE *f = fopen(path, "wb");
	size_t n = 0, usable = npkts - 2;
	long size;

	cr_assert_not_null(f);
	put32(f, s->nsec ? 0xa1b23c4d : 0xa1b2c3d4, s->big_endian);
	put16(f, 2, s->big_endian);
	put16(f, s->minor, s->big_endian);
	put32(f, 0, s->big_endian);
	put32(f, 0, s->big_endian);
	put32(f, s->snaplen, s->big_endian);
	put32(f, 1, s->big_endian); /* Ethernet */
	for (size_t i = 0; i < s->records; i++, n++) {
		const struct pkt *k = &pkts[(i * 7) % usable];

		if (s->jumbo && (i == 4000 || i == 8000))
			k = &pkts[npkts - (i == 4000 ? 2 : 1)];
		uint32_t caplen = k->caplen, sec = (uint32_t)(k->sec + (int64_t)i);
		uint32_t frac = (uint32_t)k->usec;

		if (s->zero_caplen && i % 7 == 3)
			caplen = 0;
		if (s->negative_ts && i % 3 == 1)
			sec = (uint32_t)-(int32_t)(i + 1);
		if (s->nsec)
			frac = frac * 1000 + (uint32_t)(i % 1000);
		put32(f, sec, s->big_endian);
		put32(f, frac, s->big_endian);
		put32(f, s->corrupt_at > 0 && (long)i == s->corrupt_at ? 300000 : caplen,
		      s->big_endian);
		put32(f, k->len, s->big_endian);
		fwrite(k->d, 1, caplen, f);
	}
	size = ftell(f);
	cr_assert_eq(fclose(f), 0);
	if (s->cut > 0)
		cr_assert_eq(truncate(path, s->cut), 0);
	else if (s->cut < 0)
		cr_assert_eq(truncate(path, size + s->cut), 0);
	return n;
}

static void shape_case(const char *name, const struct shape *s, uint64_t builtin)
{
	char *c = strdup(tmp(name)), *rules = strdup(data("mixed.rules"));

	make_capture(c, s);
	for (size_t k = 0; k < sizeof(filters) / sizeof(filters[0]); k++)
		all_ways((const char *const *)&c, 1, rules, filters[k], k < 2, k == 3 ? 3 : 0,
			   builtin);
	free(c);
	free(rules);
}

Test(reader, built_captures)
{
	/* ~1.6 MB: mapped in parts of 266 KiB (snaplen 262144) a few times,
	 * records lie across their ends, a jumbo record fills one alone */
	struct shape big = { .minor = 4, .snaplen = 262144, .records = 12000, .jumbo = true };
	struct shape s;

	load_packets();
	shape_case("big.pcap", &big, 12000);
	s = big;
	s.big_endian = true;
	shape_case("big_be.pcap", &s, 12000);
	s = big;
	s.nsec = true;
	s.negative_ts = true;
	shape_case("nsec.pcap", &s, 12000);
	s = big;
	s.big_endian = true;
	s.nsec = true;
	s.zero_caplen = true;
	shape_case("nsec_be.pcap", &s, 12000);
	/* snaplen 80 in the header: libpcap cuts the longer records, so the
	 * built-in reader stops at the first one and libpcap reads on */
	s = big;
	s.snaplen = 80;
	s.jumbo = false;
	s.records = 400;
	shape_case("snap80.pcap", &s, 1);
	/* snaplen 1600: mapped in parts of two pages, hundreds of them */
	s = big;
	s.snaplen = 1600;
	s.jumbo = false;
	shape_case("snap1600.pcap", &s, 12000);
	/* version 2.3: libpcap only (caplen and len may be swapped) */
	s = big;
	s.minor = 3;
	s.records = 300;
	shape_case("v23.pcap", &s, 0);
	/* damage: inside a record's data, inside a record header, a record
	 * claiming a caplen past the snaplen, a file cut after its header */
	s = big;
	s.cut = -7;
	shape_case("cut_data.pcap", &s, 11000);
	s.cut = 24 + 16 + (long)pkts[0].caplen + 10;
	shape_case("cut_header.pcap", &s, 1);
	s.cut = 24;
	shape_case("header_only.pcap", &s, 0);
	s.cut = 10;
	shape_case("short_header.pcap", &s, 0);
	s = big;
	s.corrupt_at = 9000;
	s.big_endian = true;
	shape_case("corrupt_be.pcap", &s, 9000);
	free_packets();
}

/* Standard input through a file (the built-in reader) and through a pipe
 * (libpcap) is covered by test_cli.sh; here replay_fp() with a stream that
 * does not start at the capture: libpcap only, same results. */
Test(reader, stream_not_at_offset_zero)
{
	struct replay_cfg cfg = { .rules_path = data("mixed.rules") };
	struct replay *a, *b;
	char err[1024];
	size_t n;
	char *cap = slurp(data("eth.pcap"), &n);
	FILE *f = fopen(tmp("prefixed"), "wb");

	fputs("junk", f);
	fwrite(cap, 1, n, f);
	fclose(f);
	f = fopen(tmp("prefixed"), "rb");
	cr_assert_eq(fseek(f, 4, SEEK_SET), 0);
	cr_assert_eq(replay_create(&cfg, &a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(replay_create(&cfg, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(replay_fp(a, f, "prefixed", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(replay_file(b, data("eth.pcap"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(replay_totals(a)->read_builtin, 0);
	cr_assert_eq(replay_totals(b)->read_builtin, replay_totals(b)->packets);
	cr_assert_eq(replay_totals(a)->matched, replay_totals(b)->matched);
	cr_assert_eq(replay_totals(a)->packets, replay_totals(b)->packets);
	replay_free(a);
	replay_free(b);
	free(cap);
}

Test(reader, buffer_bad_arguments)
{
	struct replay_cfg cfg = { .rules_path = data("mixed.rules") };
	struct replay *r;
	char err[1024];

	cr_assert_eq(replay_create(&cfg, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(replay_buffer(NULL, "x", 1, "m", err, sizeof(err)), -EINVAL);
	cr_assert_eq(replay_buffer(r, NULL, 1, "m", err, sizeof(err)), -EINVAL);
	cr_assert_eq(replay_buffer(r, NULL, 0, "m", err, sizeof(err)), -EIO);
	cr_assert(strstr(err, "m: byte 0: "), "%s", err);
	cr_assert_eq(replay_buffer(r, "abcd", 4, "m", err, sizeof(err)), -EIO);
	cr_assert(strstr(err, "m: byte 0: "), "%s", err);
	cr_assert_eq(replay_totals(r)->packets, 0);
	replay_free(r);
}

/* ---- the filter memo against the interpreter ------------------------------- */

static void memo_case(const char *capture, const char *expr, bool want_on)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(data(capture), err);
	struct bpf_program prog;
	struct bpfcache bc;
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t n = 0;

	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN), 0, "%s",
		     pcap_geterr(p));
	cr_assert_eq(bpfc_init(&bc, &prog), 0);
	cr_assert_eq(bc.on, want_on, "%s: '%s' memo %d", capture, expr, bc.on);
	while (pcap_next_ex(p, &h, &d) == 1) {
		/* every prefix: the loads that fall past caplen change the verdict */
		for (uint32_t cut = 0; cut <= h->caplen; cut++) {
			struct pcap_pkthdr ph = { .caplen = cut, .len = h->len };
			uint8_t *copy = malloc(cut ? cut : 1); /* exact: overreads hit ASan */
			bool want, got;

			memcpy(copy, d, cut);
			want = pcap_offline_filter(&prog, &ph, copy) != 0;
			got = bpfc_filter(&bc, &prog, copy, cut, h->len);
			cr_assert_eq(got, want, "%s packet %zu cut %u: '%s' memo %d, libpcap %d",
				     capture, n + 1, cut, expr, got, want);
			/* and again: now from the table when the memo is on */
			cr_assert_eq(bpfc_filter(&bc, &prog, copy, cut, h->len), want);
			free(copy);
			if (cut == 80 && h->caplen > 200)
				cut = h->caplen - 8; /* the long middle changes nothing */
		}
		n++;
	}
	if (want_on)
		cr_assert_gt(bc.hits, 0);
	bpfc_free(&bc);
	pcap_freecode(&prog);
	pcap_close(p);
}

Test(reader, filter_memo_equals_interpreter)
{
	static const char *caps[] = { "eth.pcap", "vlan.pcap", "sll.pcap", "sll2.pcap",
				      "raw.pcap", "ipv6.pcap", "snap.pcap" };
	/* absolute loads only: memo on */
	static const char *on[] = { "ip or ip6", "ip", "ip6", "arp", "len > 100",
				    "ip[9] = 17 or ip6[6] = 17", "ether[0] & 1 = 0",
				    "ip and len <= 80", "vlan", "ip[0:4] & 0xf0000000 != 0" };
	/* loads at offsets from the packet (BPF_IND/BPF_MSH) or past 64 bytes */
	static const char *off[] = { "tcp port 80", "udp port 53", "tcp dst port 443",
				     "ip[70] = 0", "icmp[0] = 8" };

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		for (size_t j = 0; j < sizeof(on) / sizeof(on[0]); j++) {
			/* what qualifies depends on the link header's length */
			char err[PCAP_ERRBUF_SIZE];
			pcap_t *p = pcap_open_offline(data(caps[i]), err);
			struct bpf_program prog;
			struct bpfcache bc;
			bool q;

			if (pcap_compile(p, &prog, on[j], 1, PCAP_NETMASK_UNKNOWN)) {
				pcap_close(p);
				continue; /* e.g. "vlan" on a raw IP capture */
			}
			cr_assert_eq(bpfc_init(&bc, &prog), 0);
			q = bc.on;
			if (!strcmp(caps[i], "eth.pcap"))
				cr_assert(q, "'%s' on Ethernet: memo off", on[j]);
			bpfc_free(&bc);
			pcap_freecode(&prog);
			pcap_close(p);
			memo_case(caps[i], on[j], q);
		}
		for (size_t j = 0; j < sizeof(off) / sizeof(off[0]); j++) {
			char err[PCAP_ERRBUF_SIZE];
			pcap_t *p = pcap_open_offline(data(caps[i]), err);
			struct bpf_program prog;
			bool ok = !pcap_compile(p, &prog, off[j], 1, PCAP_NETMASK_UNKNOWN);

			if (ok)
				pcap_freecode(&prog);
			pcap_close(p);
			if (ok)
				memo_case(caps[i], off[j], false);
		}
	}
	/* what the benchmark uses qualifies on every supported link type */
	memo_case("eth.pcap", "ip or ip6", true);
	memo_case("sll2.pcap", "ip or ip6", true);
	memo_case("eth.pcap", "len > 100", true);
}
