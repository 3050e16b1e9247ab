/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench nat — packets/s through the NAT44 translation path on one core
 * (generated mbufs, no NIC), new sessions/s, and memory per session;
 * nftables masquerade measured in the same run (--kernel-peer).
 *
 * Set-up (per session count S and protocol)
 * -----------------------------------------
 * A nat_pipeline is built from an embedded configuration: a CGN-like layout
 * where the subscribers sit behind an inside router (inside port
 * 10.255.255.1/24, gateway-mac set) and the Internet behind an outside one
 * (gateway-mac set), so no ARP or neighbour learning is needed in either
 * direction; `snat src 10.0.0.0/8` to a pool of ceil(S / 16384) addresses
 * (each address's ports about a quarter used, so port preservation mostly
 * works and the allocator's scans stay short), `sessions S`, `log off`,
 * address-and-port-dependent filtering (the default).
 * Session j: subscriber 10.0.0.1 + (j mod H) (H = min(65000, ceil(S/64))
 * subscribers, the allocator's limit being 65536), inside port
 * 1024 + ((j/H)*7919 + (j mod H)*613) mod 64512 (distinct per subscriber),
 * remote 198.18.0.0/15 (hashed from j), remote port 53 (UDP) or 443 (TCP).
 * Frames are 60 bytes (64 on the wire): Ethernet + IPv4 + UDP (18 bytes of
 * payload, checksum on) or TCP (6 bytes of payload).
 *
 * Measurements (rates per second of the thread's CPU time, like every
 * ncbench command; frame generation and checks are outside the timed loops)
 * ---------------------------------------------------------------------
 *   new:  every packet a new 5-tuple (UDP datagram; TCP SYN) from the inside
 *         until the table holds S sessions: mapping, port, session,
 *         netchannel and its two flow-table keys per packet.  Bursts of
 *         --burst mbufs through nat_pipeline_rx_mbufs(); the --ring mbufs
 *         are regenerated for the next ids between chunks (not timed).
 *         Memory: malloc (session table, netchannels, port allocator) and
 *         rte_malloc (flow table) grown from before the pipeline was built
 *         to the full table, per session and in total; the RSS growth is
 *         printed beside it.  That first fill of a fresh table also pays
 *         the kernel's first-touch page faults ("new-cold"); every session
 *         is then expired (time jumps past the timeouts and the port
 *         hold-down; "expire" is sessions removed per CPU second) and the
 *         table filled again ("new", the headline: steady churn, where
 *         memory and ports are recycled).  TCP sessions are then opened
 *         (SYN+ACK from outside, ACK from inside; not timed).
 *   established: passes over a ring of --ring mbufs, each slot holding a
 *         frame of a uniformly random session (so at large S the session
 *         state misses the caches as real traffic does); a pass is all
 *         in2out or all out2in, the passes alternate.  Every frame of every
 *         pass is checked after the timed loop (addresses, ports, both
 *         checksums); a single drop aborts the run (exit 1).
 * Each measurement is repeated --repeat times (median [min..max]); the new
 * phase builds a fresh pipeline per repeat (only once at S >= 5M).
 *
 * Peers
 * -----
 *   --kernel-peer: apps/bench/nat_kernel_peer.sh (root: network
 *     namespaces, veth, nftables masquerade, trafgen) measures the Linux
 *     kernel's NAT on this machine and prints its established pps and new
 *     flows/s; ncbench prints ratio_vs_nftables_established= and
 *     ratio_vs_nftables_new=.  Not root or tools missing: "skipped".
 *   VPP NAT44-ED cannot be installed here: its new-session rate from the
 *     published FD.io CSIT reports (~1 M/s per core) is printed as a
 *     constant, labelled published, and ratio_vs_vpp_published_new=.
 *
 * Workers (--workers N[,N...], bench_nat_workers.c)
 * -------------------------------------------------
 * Instead of one pipeline: ncnat's own worker loop (nat_workers_run, shard
 * pipelines) on N lcores, fed through ring PMD ports without a feeder
 * thread; total and per-worker Mpps, hand-overs between workers, and the
 * scaling ratio against N = 1 of the same run.  UDP only.
 *
 * Output: a table; --csv FILE appends rows
 *   sessions,proto,metric,median,min,max,unit,bytes_per_session,total_bytes,eal
 *
 * Files: this one (options, EAL, one process per session count),
 * bench_nat_traffic.c (model, frames, checks), bench_nat_one.c (one
 * pipeline), bench_nat_peer.c (peers), bench_nat_workers.c (--workers);
 * bench_nat_int.h between them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "bench.h"
#include "bench_eal.h"
#include "bench_nat_int.h"
#include "commands.h"
#include "nat_pipeline.h"
#include "stats.h"

#ifndef NAT_KERNEL_PEER_SCRIPT
#define NAT_KERNEL_PEER_SCRIPT "apps/bench/nat_kernel_peer.sh"
#endif

static const char usage_text[] =
	"usage: ncbench nat [--mode established|new|all] [--sessions N[,N...]] [--proto udp,tcp]\n"
	"                   [--seconds S] [--repeat R] [--burst B] [--ring N] [--core C]\n"
	"                   [--seed S] [--no-huge] [--mem MB] [--csv FILE] [--quick]\n"
	"                   [--kernel-peer] [--peer-script PATH] [--peer-seconds S]\n"
	"       ncbench nat --workers N[,N...] [--spread rss|random|rss,random] [--carriers C]\n"
	"                   [--sessions N[,N...]] [--seconds S] [--repeat R] [--core C] [--seed S]\n"
	"                   [--no-huge] [--mem MB] [--csv FILE] [--quick]\n"
	"  NAT44 packets/s on one core (generated mbufs through nat_pipeline_rx_mbufs),\n"
	"  new sessions/s and memory per session; nftables masquerade as a peer.\n"
	"  --mode      what to measure (default all: new, then established)\n"
	"  --sessions  session counts (default 1K,10K,100K,1M,10M; k/M suffixes)\n"
	"  --proto     udp, tcp or udp,tcp (default udp,tcp)\n"
	"  --seconds   CPU seconds per established sample (default 1)\n"
	"  --repeat    samples, median reported (default 3)\n"
	"  --burst     mbufs per nat_pipeline_rx_mbufs call, 1..64 (default 32)\n"
	"  --ring      mbufs in flight, frames regenerated per pass (default 32768)\n"
	"  --core      CPU to pin to (default 1)     --seed   flow-order seed (default 1)\n"
	"  --no-huge   EAL without hugepages even if enough are free\n"
	"  --mem       EAL memory in MB without hugepages (default: from the sizes)\n"
	"  --csv       append result rows to FILE\n"
	"  --quick     CI smoke run: 1K and 10K sessions, tiny samples, every frame checked\n"
	"  --kernel-peer   run the nftables masquerade peer (root; nat_kernel_peer.sh)\n"
	"  --peer-script   path of nat_kernel_peer.sh    --peer-seconds  its run time (5)\n"
	"  --workers   instead: ncnat's worker loop (nat_workers_run) with N workers on N\n"
	"              lcores (CPU core+i), each count in turn; UDP, --sessions default 10K;\n"
	"              Mpps through the NAT per wall second (total, per worker), hand-overs,\n"
	"              and ratio_<N>w_vs_1w= against N=1 of the same run\n"
	"  --spread    the RX queue a frame arrives on (default rss,random): rss = its\n"
	"              owner's (a perfect symmetric RSS, nothing handed over); random = any\n"
	"              ((N-1)/N of the frames go through the hand-over rings)\n"
	"  --carriers  frames in flight per port and queue (default 512)\n"
	"  How --workers feeds the NAT without a feeder thread (2 workers fill 2 vCPUs): each\n"
	"  queue of the two ring PMD ports is one rte_ring, its RX and its TX ring, so what a\n"
	"  worker sends comes back to it; an RX callback on the polling worker checks every\n"
	"  returning frame (every 64th without --quick) and overwrites it with the next\n"
	"  pre-built frame of that queue (a 64-byte copy).  That cost is measured (TSC) and\n"
	"  printed (feed, and the feeder's own rate) and left out of net (Mpps per worker\n"
	"  CPU second without it and without idle turns); --seconds is wall time per\n"
	"  window, after a warm-up.\n";

/* ---- options ---- */

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 1)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1e6, end++;
	if (*end != '\0' || v > 16777216.0)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct nat_opts *o)
{
	enum { O_MODE = 256, O_SESS, O_PROTO, O_SEC, O_REP, O_BURST, O_RING, O_CORE, O_SEED,
	       O_NOHUGE, O_MEM, O_CSV, O_QUICK, O_KPEER, O_PSCRIPT, O_PSEC, O_CHILD, O_WORKERS,
	       O_SPREAD, O_CARRIERS, O_HELP };
	static const struct option lo[] = {
		{"mode", required_argument, NULL, O_MODE},
		{"sessions", required_argument, NULL, O_SESS},
		{"proto", required_argument, NULL, O_PROTO},
		{"seconds", required_argument, NULL, O_SEC},
		{"repeat", required_argument, NULL, O_REP},
		{"burst", required_argument, NULL, O_BURST},
		{"ring", required_argument, NULL, O_RING},
		{"core", required_argument, NULL, O_CORE},
		{"seed", required_argument, NULL, O_SEED},
		{"no-huge", no_argument, NULL, O_NOHUGE},
		{"mem", required_argument, NULL, O_MEM},
		{"csv", required_argument, NULL, O_CSV},
		{"quick", no_argument, NULL, O_QUICK},
		{"kernel-peer", no_argument, NULL, O_KPEER},
		{"peer-script", required_argument, NULL, O_PSCRIPT},
		{"peer-seconds", required_argument, NULL, O_PSEC},
		{"child", no_argument, NULL, O_CHILD},
		{"workers", required_argument, NULL, O_WORKERS},
		{"spread", required_argument, NULL, O_SPREAD},
		{"carriers", required_argument, NULL, O_CARRIERS},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0}};
	bool sizes_given = false, sec_given = false, rep_given = false, ring_given = false;
	bool mode_given = false, proto_given = false, spread_given = false, carriers_given = false;
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->sizes[0] = 1000;
	o->sizes[1] = 10000;
	o->sizes[2] = 100000;
	o->sizes[3] = 1000000;
	o->sizes[4] = 10000000;
	o->n_sizes = 5;
	o->modes = MODE_NEW | MODE_EST;
	o->udp = o->tcp = true;
	o->seconds = 1.0;
	o->repeat = 3;
	o->burst = 32;
	o->ring = 32768;
	o->core = 1;
	o->seed = 1;
	o->peer_script = NAT_KERNEL_PEER_SCRIPT;
	o->peer_seconds = 5;
	o->spreads = SPREAD_RSS | SPREAD_RANDOM;
	o->carriers = 512;
	optind = 0; /* full re-initialisation (glibc) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case O_MODE:
			if (!strcmp(optarg, "new"))
				o->modes = MODE_NEW;
			else if (!strcmp(optarg, "established"))
				o->modes = MODE_EST;
			else if (!strcmp(optarg, "all"))
				o->modes = MODE_NEW | MODE_EST;
			else
				goto bad;
			mode_given = true;
			break;
		case O_SESS: {
			char *list = strdup(optarg), *save = NULL, *tok;

			if (!list)
				goto bad;
			o->n_sizes = 0;
			for (tok = strtok_r(list, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (o->n_sizes == MAX_SIZES ||
				    parse_size(tok, &o->sizes[o->n_sizes]) != 0) {
					free(list);
					goto bad;
				}
				o->n_sizes++;
			}
			free(list);
			if (o->n_sizes == 0)
				goto bad;
			sizes_given = true;
			break;
		}
		case O_PROTO:
			if (!strcmp(optarg, "udp"))
				o->udp = true, o->tcp = false;
			else if (!strcmp(optarg, "tcp"))
				o->udp = false, o->tcp = true;
			else if (!strcmp(optarg, "udp,tcp") || !strcmp(optarg, "tcp,udp"))
				o->udp = o->tcp = true;
			else
				goto bad;
			proto_given = true;
			break;
		case O_SEC:
			o->seconds = strtod(optarg, NULL);
			if (!(o->seconds > 0 && o->seconds <= 600))
				goto bad;
			sec_given = true;
			break;
		case O_REP:
			if (bench_parse_u64(optarg, 1, MAX_REPEAT, &v) != 0)
				goto bad;
			o->repeat = (unsigned)v;
			rep_given = true;
			break;
		case O_BURST:
			if (bench_parse_u64(optarg, 1, NAT_RX_MAX, &v) != 0)
				goto bad;
			o->burst = (unsigned)v;
			break;
		case O_RING:
			if (bench_parse_u64(optarg, 64, 1u << 22, &v) != 0)
				goto bad;
			o->ring = (unsigned)v;
			ring_given = true;
			break;
		case O_CORE:
			if (bench_parse_u64(optarg, 0, 4095, &v) != 0)
				goto bad;
			o->core = (int)v;
			break;
		case O_SEED:
			if (bench_parse_u64(optarg, 0, UINT64_MAX, &v) != 0)
				goto bad;
			o->seed = v;
			break;
		case O_NOHUGE:
			o->no_huge = true;
			break;
		case O_MEM:
			if (bench_parse_u64(optarg, 64, 1u << 20, &v) != 0)
				goto bad;
			o->mem_mb = (unsigned)v;
			break;
		case O_CSV:
			o->csv = optarg;
			break;
		case O_QUICK:
			o->quick = true;
			break;
		case O_CHILD:
			o->child = true;
			break;
		case O_KPEER:
			o->kernel_peer = true;
			break;
		case O_PSCRIPT:
			o->peer_script = optarg;
			break;
		case O_PSEC:
			o->peer_seconds = strtod(optarg, NULL);
			if (!(o->peer_seconds >= 1 && o->peer_seconds <= 600))
				goto bad;
			break;
		case O_WORKERS: {
			char *list = strdup(optarg), *save = NULL, *tok;

			if (!list)
				goto bad;
			o->n_workers = 0;
			for (tok = strtok_r(list, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (o->n_workers == MAX_WORKER_COUNTS ||
				    bench_parse_u64(tok, 1, BNAT_WORKERS_MAX, &v) != 0) {
					free(list);
					goto bad;
				}
				o->workers[o->n_workers++] = (unsigned)v;
			}
			free(list);
			if (o->n_workers == 0)
				goto bad;
			break;
		}
		case O_SPREAD:
			if (!strcmp(optarg, "rss"))
				o->spreads = SPREAD_RSS;
			else if (!strcmp(optarg, "random"))
				o->spreads = SPREAD_RANDOM;
			else if (!strcmp(optarg, "rss,random") || !strcmp(optarg, "random,rss"))
				o->spreads = SPREAD_RSS | SPREAD_RANDOM;
			else
				goto bad;
			spread_given = true;
			break;
		case O_CARRIERS:
			if (bench_parse_u64(optarg, 32, 65536, &v) != 0)
				goto bad;
			o->carriers = (unsigned)v;
			carriers_given = true;
			break;
		case O_HELP:
			fputs(usage_text, stdout);
			return -1;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	if (o->n_workers) {
#ifndef HAVE_BENCH_NAT_WORKERS
		fprintf(stderr, "ncbench nat: --workers is not built here (it needs "
			"librte_net_ring)\n");
		goto bad;
#endif
		/* the worker runs measure UDP and nothing else */
		if (mode_given || o->kernel_peer || (proto_given && !o->udp))
			goto bad;
		o->udp = true;
		o->tcp = false;
		if (!sizes_given) {
			o->sizes[0] = 10000;
			o->n_sizes = 1;
		}
		if (o->quick) {
			if (!sec_given)
				o->seconds = 0.05;
			if (!rep_given)
				o->repeat = 1;
		}
		return 0;
	}
	if (spread_given || carriers_given)
		goto bad;
	if (o->quick) {
		if (!sizes_given) {
			o->sizes[0] = 1000;
			o->sizes[1] = 10000;
			o->n_sizes = 2;
		}
		if (!sec_given)
			o->seconds = 0.02;
		if (!rep_given)
			o->repeat = 1;
		if (!ring_given)
			o->ring = 2048;
	}
	return 0;
bad:
	fputs(usage_text, stderr);
	return BENCH_USAGE;
}

/* ---- EAL ---- */

char bnat_eal_mode[96];

/* Hugepages when the free 2 MB pages hold what the biggest size needs,
 * else --no-huge -m need.  One lcore on CPU --core; with --workers,
 * max(--workers) lcores, lcore i on CPU (core + i) mod CPUs. */
static int eal_up(const struct nat_opts *o, unsigned need_mb)
{
	char lcores[BNAT_WORKERS_MAX * 12];
	unsigned long free2m = bench_eal_free_hugepages(2048);
	struct bench_eal_cfg c = {
		.lcore_opt = o->n_workers ? "--lcores" : "-l",
		.lcores = lcores,
		.huge = !o->no_huge && bench_eal_hugetlbfs_mounted() &&
			free2m * 2 >= need_mb + need_mb / 8,
		.mem_mb = o->mem_mb ? o->mem_mb : need_mb,
		.prefix = "ncbench-nat",
	};

	snprintf(lcores, sizeof(lcores), "%d", o->core);
	if (o->n_workers) {
		unsigned nl = 0, ncpu = bench_ncpus() > 0 ? (unsigned)bench_ncpus() : 1;
		size_t len = 0;

		for (unsigned i = 0; i < o->n_workers; i++)
			nl = o->workers[i] > nl ? o->workers[i] : nl;
		for (unsigned i = 0; i < nl; i++)
			len += (size_t)snprintf(lcores + len, sizeof(lcores) - len, "%s%u@%u",
						i ? "," : "", i, ((unsigned)o->core + i) % ncpu);
	}
	if (c.huge)
		snprintf(bnat_eal_mode, sizeof(bnat_eal_mode), "hugepages (%lu x 2M free, ~%u MB needed)",
			 free2m, need_mb);
	else
		snprintf(bnat_eal_mode, sizeof(bnat_eal_mode),
			 "no hugepages (--no-huge -m %u; %lu x 2M free)", c.mem_mb, free2m);
	if (bench_eal_init(&c) < 0) {
		fprintf(stderr, "ncbench nat: EAL init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}


/*
 * Each session count runs in a process of its own (this program again,
 * with --child): EAL memory is chosen per process, so the sizes that fit
 * in the free hugepages get them even when a bigger one (10M) cannot, and
 * every size starts from a fresh heap.  The parent passes the children's
 * lines through and reads their UDP results back for the peer ratios.
 */
static int run_child(const struct nat_opts *o, unsigned i, struct run_results *rr)
{
	char a[32][64], *argv[40], line[512];
	unsigned n = 0;
	int pfd[2], st;
	pid_t pid;
	FILE *f;

#define ARG(...) snprintf(a[n], sizeof(a[n]), __VA_ARGS__), argv[n] = a[n], n++
	ARG("ncbench");
	ARG("nat");
	ARG("--child");
	ARG("--sessions");
	ARG("%" PRIu64, o->sizes[i]);
	if (o->n_workers) {
		size_t len = 0;

		ARG("--workers");
		ARG("%u", o->workers[0]);
		len = strlen(a[n - 1]);
		for (unsigned w = 1; w < o->n_workers; w++)
			len += (size_t)snprintf(a[n - 1] + len, sizeof(a[n - 1]) - len, ",%u",
						o->workers[w]);
		ARG("--spread");
		ARG("%s", o->spreads == SPREAD_RSS ? "rss"
			  : o->spreads == SPREAD_RANDOM ? "random" : "rss,random");
		ARG("--carriers");
		ARG("%u", o->carriers);
		if (o->quick)
			ARG("--quick");
	} else {
		ARG("--mode");
		ARG("%s", o->modes == MODE_NEW ? "new" : o->modes == MODE_EST ? "established" : "all");
		ARG("--proto");
		ARG("%s", o->udp && o->tcp ? "udp,tcp" : o->udp ? "udp" : "tcp");
	}
	ARG("--seconds");
	ARG("%.17g", o->seconds);
	ARG("--repeat");
	ARG("%u", o->repeat);
	ARG("--burst");
	ARG("%u", o->burst);
	ARG("--ring");
	ARG("%u", o->ring);
	ARG("--core");
	ARG("%d", o->core);
	ARG("--seed");
	ARG("%" PRIu64, o->seed);
	if (o->no_huge)
		ARG("--no-huge");
	if (o->mem_mb) {
		ARG("--mem");
		ARG("%u", o->mem_mb);
	}
#undef ARG
	if (o->csv) {
		argv[n++] = "--csv";
		argv[n++] = (char *)(uintptr_t)o->csv;
	}
	argv[n] = NULL;
	fflush(stdout);
	if (pipe(pfd) != 0)
		return BENCH_FAIL;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return BENCH_FAIL;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		uint64_t size;
		char proto[8], what[16];
		double v;

		fputs(line, stdout);
		if (sscanf(line, "%" SCNu64 " %7s %15s %lf", &size, proto, what, &v) != 4 ||
		    size != o->sizes[i])
			continue;
		struct result *r = &rr->r[i][strcmp(proto, "udp") ? 1 : 0];

		if (!strcmp(what, "new")) {
			r->have_new = true;
			r->news.median = v * 1e6;
		} else if (!strcmp(what, "est.")) {
			r->have_est = true;
			r->est[2].median = v;
		}
	}
	fflush(stdout);
	if (f)
		fclose(f);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return BENCH_FAIL;
	return WEXITSTATUS(st);
}

int ncbench_nat(int argc, char **argv)
{
	struct nat_opts o;
	struct run_results *rr;
	FILE *csv = NULL;
	uint64_t biggest = 0;
	unsigned need_mb;
	int rc;

	rc = parse_opts(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? BENCH_OK : rc;
	rr = calloc(1, sizeof(*rr));
	if (!rr)
		return BENCH_FAIL;
	if (!o.child && o.n_workers) {
		printf("ncbench nat --workers: ncnat's worker loop on ring PMD ports, %u session "
		       "count%s, each in a process of its own; %u repeat%s x %.2f wall s, UDP "
		       "frames of 60 B, %u carriers per port and queue%s\n", o.n_sizes,
		       o.n_sizes > 1 ? "s" : "", o.repeat, o.repeat > 1 ? "s" : "", o.seconds,
		       o.carriers, o.quick ? " (quick)" : "");
		printf("%-9s %-4s %-7s %s\n", "sessions", "prot", "what", "result");
		rc = BENCH_OK;
		for (unsigned i = 0; i < o.n_sizes && rc == BENCH_OK; i++)
			rc = run_child(&o, i, rr);
		free(rr);
		return rc;
	}
	if (!o.child) {
		printf("ncbench nat: %u session count%s, each in a process of its own; burst %u, "
		       "ring %u mbufs, %u repeat%s x %.2f CPU s, %s frames of 60 B, rates per CPU "
		       "second%s\n", o.n_sizes, o.n_sizes > 1 ? "s" : "", o.burst, o.ring, o.repeat,
		       o.repeat > 1 ? "s" : "", o.seconds,
		       o.udp && o.tcp ? "UDP and TCP" : o.udp ? "UDP" : "TCP",
		       o.quick ? " (quick)" : "");
		printf("%-9s %-4s %-7s %s\n", "sessions", "prot", "what", "result");
		rc = BENCH_OK;
		for (unsigned i = 0; i < o.n_sizes && rc == BENCH_OK; i++)
			rc = run_child(&o, i, rr);
		if (rc == BENCH_OK) {
			if (o.csv && !(csv = bench_csv_open(o.csv, NAT_CSV_HEADER)))
				rc = BENCH_FAIL;
			else
				bnat_print_peers(&o, rr, csv);
		}
		if (csv)
			fclose(csv);
		free(rr);
		return rc;
	}
	for (unsigned i = 0; i < o.n_sizes; i++)
		biggest = o.sizes[i] > biggest ? o.sizes[i] : biggest;
	/* the flow table (two keys per session, ~100 B each), the mbufs, slack */
	need_mb = (unsigned)(biggest * 220 / (1u << 20)) + o.ring / 2048 + 128;
#ifdef HAVE_BENCH_NAT_WORKERS
	if (o.n_workers)
		need_mb = bnat_workers_mem_mb(&o, biggest);
#endif
	if (bench_pin(o.core) != 0)
		fprintf(stderr, "ncbench nat: cannot pin to CPU %d (running unpinned)\n", o.core);
	if (eal_up(&o, need_mb) != 0) {
		free(rr);
		return BENCH_FAIL;
	}
	if (o.csv && !(csv = bench_csv_open(o.csv, NAT_CSV_HEADER))) {
		rte_eal_cleanup();
		free(rr);
		return BENCH_FAIL;
	}
	for (unsigned i = 0; i < o.n_sizes; i++)
		printf("%-9" PRIu64 " EAL  %s\n", o.sizes[i], bnat_eal_mode);
	fflush(stdout);
	rc = BENCH_OK;
	for (unsigned i = 0; i < o.n_sizes && rc == BENCH_OK; i++) {
#ifdef HAVE_BENCH_NAT_WORKERS
		if (o.n_workers) {
			rc = bnat_workers_bench(&o, o.sizes[i], csv);
			continue;
		}
#endif
		if (o.udp)
			rc = bnat_bench_one(&o, o.sizes[i], 17, csv, &rr->r[i][0]);
		if (rc == BENCH_OK && o.tcp)
			rc = bnat_bench_one(&o, o.sizes[i], 6, csv, &rr->r[i][1]);
	}
	free(rr);
	if (csv)
		fclose(csv);
	rte_eal_cleanup();
	return rc;
}
