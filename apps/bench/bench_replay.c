/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench replay: ncreplay's engine (replay_core: libpcap opens the capture,
 * the built-in pcap reader walks its records, BPF filter, nc_parse, flow
 * cache, cls_lookup_bulk, per-rule counters) against `tcpdump -r FILE -w
 * /dev/null FILTER` on the same capture, both reading it from the page
 * cache.
 *
 * The capture is generated here unless --capture is given: Ethernet/IPv4
 * TCP and UDP frames of 60 bytes whose headers are keys drawn from the rule
 * set (trace_generate: 90% inside a rule, 10% random), written with
 * pcap_dump.  Packets come in flows, as in real captures: --flows distinct
 * keys (default packets/16), at most 4096 flows active at a time, each
 * packet from a random active flow, a flow sending 1..31 packets (mean 16)
 * before a new one replaces it.  --flows equal to --packets makes every
 * packet a new key (no flow cache can help: the classifier's worst case).  It is read once before timing so that it sits in the page
 * cache.  Each side runs --repeat times; the best run counts.  tcpdump's
 * time is wall time from fork to exit (its start-up, a few ms, is included;
 * it is under 2% at the default size).  Both apply the same BPF filter
 * (default 'ip or ip6'); ncreplay is also timed without one, without its
 * flow cache, and with libpcap reading every record and filtering every
 * packet (replay_cfg.libpcap_only: the reader before the built-in one).
 * Wall and CPU time (user + system) are both measured; ratio_vs_tcpdump=X.XX
 * (ncreplay Mpps / tcpdump Mpps) uses CPU time, which stays meaningful when
 * other processes share the cores, and ratio_vs_tcpdump_wall the wall time.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "commands.h"
#include "gen.h"
#include "replay.h"
#include "rng.h"
#include "trace.h"

static const char replay_usage[] =
	"usage: ncbench replay [--rules FILE | --gen acl|fw|ipc --size N] [--seed S]\n"
	"                      [--packets N] [--capture FILE] [--keep FILE]\n"
	"                      [--filter EXPR] [--repeat N] [--no-tcpdump] [--flows N]\n"
	"  Times ncreplay's engine (read + parse + classify + count) and\n"
	"  `tcpdump -r FILE -w /dev/null EXPR` on one capture from the page cache.\n"
	"  Defaults: --gen acl --size 10000 --seed 1 --packets 4000000 --repeat 3\n"
	"  --filter 'ip or ip6'.  --keep: write the generated capture there and keep it.\n";

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* Wall time and CPU time of one run; the best of each is kept. */
struct timing {
	double wall, cpu;
};

static void keep_best(struct timing *best, double wall, double cpu)
{
	best->wall = wall < best->wall ? wall : best->wall;
	best->cpu = cpu < best->cpu ? cpu : best->cpu;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* One 60-byte Ethernet/IPv4 frame carrying the key (TCP or UDP). */
static void build_frame(const struct cls_key *k, uint8_t *f)
{
	bool udp = k->proto == 17 || (k->proto != 6 && (k->sport ^ k->dport) & 1);
	uint32_t sum = 0;

	memset(f, 0, 60);
	memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	f[14] = 0x45;
	put16(f + 16, 46);          /* IP total length: fills the 60-byte frame */
	f[22] = 64;
	f[23] = udp ? 17 : 6;
	put32(f + 26, k->src.v4);
	put32(f + 30, k->dst.v4);
	for (int i = 14; i < 34; i += 2)
		sum += (uint32_t)(f[i] << 8 | f[i + 1]);
	sum = (sum & 0xffff) + (sum >> 16);
	sum += sum >> 16;
	put16(f + 24, (uint16_t)~sum);
	put16(f + 34, k->sport);
	put16(f + 36, k->dport);
	if (udp) {
		put16(f + 38, 26);
	} else {
		f[46] = 5 << 4;     /* data offset */
		f[47] = 0x10;       /* ACK */
		put16(f + 48, 65535);
	}
}

/* Order of flows in the capture (see the top of the file): order[i] is the
 * key of packet i. */
static size_t *flow_order(size_t packets, size_t flows, uint64_t seed)
{
	size_t *order = malloc(packets * sizeof(*order));
	size_t w = flows < 4096 ? flows : 4096, next = w;
	size_t active[4096];
	unsigned left[4096];
	unsigned ppf = (unsigned)(packets / flows);
	struct rng r;

	if (!order)
		return NULL;
	rng_seed(&r, seed ^ 0x5eed);
	for (size_t i = 0; i < w; i++) {
		active[i] = i;
		left[i] = 1 + (unsigned)rng_range(&r, 0, 2 * (uint64_t)ppf - 2);
	}
	for (size_t i = 0; i < packets; i++) {
		size_t j = (size_t)rng_range(&r, 0, w - 1);

		order[i] = active[j];
		if (--left[j] == 0) {
			active[j] = next < flows ? next++ : (size_t)rng_range(&r, 0, flows - 1);
			left[j] = 1 + (unsigned)rng_range(&r, 0, 2 * (uint64_t)ppf - 2);
		}
	}
	return order;
}

static int write_capture(const char *path, const struct trace *t, size_t packets)
{
	size_t *order = t->n == packets ? NULL : flow_order(packets, t->n, 1);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d;
	uint8_t frame[60];
	int rc = 0;

	if (!dead || (t->n != packets && !order)) {
		if (dead)
			pcap_close(dead);
		free(order);
		return -ENOMEM;
	}
	d = pcap_dump_open(dead, path);
	if (!d) {
		fprintf(stderr, "ncbench replay: %s: %s\n", path, pcap_geterr(dead));
		pcap_close(dead);
		free(order);
		return -EIO;
	}
	for (size_t i = 0; i < packets; i++) {
		struct pcap_pkthdr h = { .caplen = 60, .len = 60 };
		struct cls_key k = t->keys[order ? order[i] : i];

		if (k.family != CLS_IPV4)
			continue;
		h.ts.tv_sec = 1700000000 + (time_t)(i / 1000000);
		h.ts.tv_usec = (suseconds_t)(i % 1000000);
		build_frame(&k, frame);
		pcap_dump((u_char *)d, &h, frame);
	}
	if (pcap_dump_flush(d) || ferror(pcap_dump_file(d))) {
		fprintf(stderr, "ncbench replay: %s: write error\n", path);
		rc = -EIO;
	}
	pcap_dump_close(d);
	pcap_close(dead);
	free(order);
	return rc;
}

/* One timed run of replay_core; *pkts, *matched from the run. */
static int run_ours(const struct replay_cfg *cfg, const char *capture, struct timing *best,
		    uint64_t *pkts, uint64_t *matched, uint64_t *hits)
{
	struct replay *r;
	char err[512];
	double t0, c0;
	int rc;

	rc = replay_create(cfg, &r, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ncbench replay: %s\n", err);
		return BENCH_FAIL;
	}
	t0 = now_s();
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	rc = replay_file(r, capture, err, sizeof(err));
	keep_best(best, now_s() - t0, clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
	if (rc) {
		fprintf(stderr, "ncbench replay: %s\n", err);
		replay_free(r);
		return BENCH_FAIL;
	}
	*pkts = replay_totals(r)->packets;
	*matched = replay_totals(r)->matched;
	*hits = replay_totals(r)->cache_hits;
	replay_free(r);
	return BENCH_OK;
}

static int run_tcpdump(const char *capture, const char *filter, struct timing *best)
{
	double t0 = now_s();
	struct rusage ru;
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return BENCH_FAIL;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execlp("tcpdump", "tcpdump", "-r", capture, "-w", "/dev/null", filter, (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		return BENCH_FAIL;
	keep_best(best, now_s() - t0,
		  (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
			  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return -ENOENT; /* not installed */
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "ncbench replay: tcpdump failed (exit %d)\n",
			WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return BENCH_FAIL;
	}
	return BENCH_OK;
}

static void show(const char *name, const struct timing *t, uint64_t pkts)
{
	printf("%-44s %9.3f %9.2f %9.3f %9.2f\n", name, t->wall, pkts / t->wall / 1e6, t->cpu,
	       pkts / t->cpu / 1e6);
}

static void warm(const char *path)
{
	char buf[1 << 16];
	FILE *f = fopen(path, "rb");

	if (!f)
		return;
	while (fread(buf, 1, sizeof(buf), f) > 0)
		;
	fclose(f);
}

enum { R_RULES = 256, R_GEN, R_SIZE, R_SEED, R_PACKETS, R_CAPTURE, R_KEEP, R_FILTER,
       R_REPEAT, R_NO_TCPDUMP, R_FLOWS, R_HELP };

static const struct option replay_opts[] = {
	{ "rules", required_argument, NULL, R_RULES },
	{ "gen", required_argument, NULL, R_GEN },
	{ "size", required_argument, NULL, R_SIZE },
	{ "seed", required_argument, NULL, R_SEED },
	{ "packets", required_argument, NULL, R_PACKETS },
	{ "capture", required_argument, NULL, R_CAPTURE },
	{ "keep", required_argument, NULL, R_KEEP },
	{ "filter", required_argument, NULL, R_FILTER },
	{ "repeat", required_argument, NULL, R_REPEAT },
	{ "no-tcpdump", no_argument, NULL, R_NO_TCPDUMP },
	{ "flows", required_argument, NULL, R_FLOWS },
	{ "help", no_argument, NULL, R_HELP },
	{ NULL, 0, NULL, 0 },
};

int ncbench_replay(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_rules br = { 0 };
	struct trace t = { 0 };
	struct replay_cfg cfg = { 0 };
	const char *capture = NULL, *keep = NULL, *filter = "ip or ip6";
	char tmp[] = "/tmp/ncbench-replay-XXXXXX";
	char *gen_text = NULL;
	size_t gen_len = 0;
	uint64_t v, packets = 4000000, repeat = 3, pkts = 0, matched = 0, flows = 0, hits = 0;
	bool no_tcpdump = false, made = false;
	struct timing best_f = { 1e30, 1e30 }, best_nf = best_f, best_nc = best_f, best_td = best_f;
	struct timing best_lp = best_f;
	int c, rc = BENCH_FAIL;

	bench_opts_init(&o);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", replay_opts, NULL)) != -1) {
		switch (c) {
		case R_RULES: o.rules_path = optarg; break;
		case R_GEN: o.family = optarg; break;
		case R_SIZE:
			if (bench_parse_u64(optarg, 1, 10000000, &v))
				goto usage;
			o.size = (uint32_t)v;
			break;
		case R_SEED:
			if (bench_parse_u64(optarg, 0, UINT64_MAX, &o.seed))
				goto usage;
			break;
		case R_PACKETS:
			if (bench_parse_u64(optarg, 1, 1000000000, &packets))
				goto usage;
			break;
		case R_CAPTURE: capture = optarg; break;
		case R_KEEP: keep = optarg; break;
		case R_FILTER: filter = optarg; break;
		case R_REPEAT:
			if (bench_parse_u64(optarg, 1, BENCH_MAX_REPEAT, &repeat))
				goto usage;
			break;
		case R_NO_TCPDUMP: no_tcpdump = true; break;
		case R_FLOWS:
			if (bench_parse_u64(optarg, 1, 1000000000, &flows))
				goto usage;
			break;
		case R_HELP: fputs(replay_usage, stdout); return BENCH_OK;
		default: goto usage;
		}
	}
	if (optind < argc)
		goto usage;

	if (bench_load_rules(&o, &br))
		return BENCH_FAIL;
	if (o.rules_path) {
		cfg.rules_path = o.rules_path;
	} else {
		if (gen_rules_text(o.family, o.size, o.seed, &gen_text, &gen_len))
			goto out;
		cfg.rules_text = gen_text;
		cfg.rules_len = gen_len;
		cfg.rules_fmt = CLS_FMT_CLASSBENCH;
	}
	if (!capture) {
		int fd;

		if (!flows)
			flows = packets / 16 ? packets / 16 : 1;
		if (flows > packets)
			flows = packets;
		if (trace_generate(br.rs, flows, o.seed, &t)) {
			fprintf(stderr, "ncbench replay: out of memory\n");
			goto out;
		}
		if (keep) {
			capture = keep;
		} else {
			fd = mkstemp(tmp);
			if (fd < 0) {
				fprintf(stderr, "ncbench replay: %s: %s\n", tmp, strerror(errno));
				goto out;
			}
			close(fd);
			capture = tmp;
			made = true;
		}
		if (write_capture(capture, &t, packets))
			goto out;
	}
	warm(capture);

	printf("ncbench replay: capture %s, rules %s (%zu), filter '%s'\n", capture, br.name,
	       br.rs->n, filter);
	for (uint64_t i = 0; i < repeat; i++) {
		cfg.filter = filter;
		cfg.no_flow_cache = false;
		if (run_ours(&cfg, capture, &best_f, &pkts, &matched, &hits))
			goto out;
		cfg.filter = NULL;
		if (run_ours(&cfg, capture, &best_nf, &pkts, &matched, &v))
			goto out;
		cfg.filter = filter;
		cfg.no_flow_cache = true;
		if (run_ours(&cfg, capture, &best_nc, &pkts, &matched, &v))
			goto out;
		cfg.no_flow_cache = false;
		cfg.libpcap_only = true;
		if (run_ours(&cfg, capture, &best_lp, &pkts, &matched, &v))
			goto out;
		cfg.libpcap_only = false;
		if (!no_tcpdump && (c = run_tcpdump(capture, filter, &best_td))) {
			if (c != -ENOENT)
				goto out;
			printf("tcpdump not found: measuring ncreplay only\n");
			no_tcpdump = true;
		}
	}
	printf("packets=%" PRIu64 " matched=%" PRIu64 " (%.1f%%) flow_cache_hits=%.1f%%\n", pkts,
	       matched, pkts ? 100.0 * (double)matched / (double)pkts : 0.0,
	       pkts ? 100.0 * (double)hits / (double)pkts : 0.0);
	printf("%-44s %9s %9s %9s %9s\n", "(best of each)", "wall s", "Mpps", "cpu s", "Mpps/cpu");
	show("ncreplay (read+filter+parse+classify)", &best_f, pkts);
	show("ncreplay (same, no BPF filter)", &best_nf, pkts);
	show("ncreplay (same, no flow cache)", &best_nc, pkts);
	show("ncreplay (filter, libpcap reads: --libpcap)", &best_lp, pkts);
	if (!no_tcpdump) {
		char name[128];

		snprintf(name, sizeof(name), "tcpdump -r F -w /dev/null '%s'", filter);
		show(name, &best_td, pkts);
		/* CPU time: robust when other processes share the cores */
		printf("ratio_vs_tcpdump=%.2f\n", best_td.cpu / best_f.cpu);
		printf("ratio_vs_tcpdump_wall=%.2f\n", best_td.wall / best_f.wall);
	}
	rc = BENCH_OK;
out:
	if (made)
		unlink(tmp);
	free(gen_text);
	trace_free(&t);
	bench_rules_free(&br);
	return rc;
usage:
	fprintf(stderr, "ncbench replay: bad arguments\n%s", replay_usage);
	return BENCH_USAGE;
}
