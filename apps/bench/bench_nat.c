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
 * Output: a table; --csv FILE appends rows
 *   sessions,proto,metric,median,min,max,unit,bytes_per_session,total_bytes,eal
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "bench.h"
#include "commands.h"
#include "nat_config.h"
#include "nat_csum.h"
#include "nat_pipeline.h"
#include "netchannel.h"
#include "rng.h"
#include "stats.h"

#ifndef NAT_KERNEL_PEER_SCRIPT
#define NAT_KERNEL_PEER_SCRIPT "apps/bench/nat_kernel_peer.sh"
#endif

#define NAT_CSV_HEADER \
	"sessions,proto,metric,median,min,max,unit,bytes_per_session,total_bytes,eal"
#define MAX_SIZES 8
#define MAX_REPEAT 32
#define FRAME_LEN 60
#define MBUF_DATA 256 /* headroom (128) + a 60-byte frame, rounded */
#define MAX_HOSTS 65000u
#define PORTS_PER_ADDR_USED 16384u /* about a quarter of 1024-65535 */
/* VPP NAT44-ED, FD.io CSIT published reports: ~1 M new sessions/s per core */
#define VPP_NEW_PER_S_PUBLISHED 1.0e6

static const char usage_text[] =
	"usage: ncbench nat [--mode established|new|all] [--sessions N[,N...]] [--proto udp,tcp]\n"
	"                   [--seconds S] [--repeat R] [--burst B] [--ring N] [--core C]\n"
	"                   [--seed S] [--no-huge] [--mem MB] [--csv FILE] [--quick]\n"
	"                   [--kernel-peer] [--peer-script PATH] [--peer-seconds S]\n"
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
	"  --peer-script   path of nat_kernel_peer.sh    --peer-seconds  its run time (5)\n";

enum { MODE_NEW = 1, MODE_EST = 2 };

struct nat_opts {
	uint64_t sizes[MAX_SIZES];
	unsigned n_sizes;
	unsigned modes;
	bool udp, tcp;
	double seconds;
	unsigned repeat, burst, ring;
	int core;
	uint64_t seed;
	bool no_huge;
	unsigned mem_mb;
	const char *csv;
	bool quick;
	bool kernel_peer;
	bool child;          /* --child: one size, for a parent (no header, no peers) */
	const char *peer_script;
	double peer_seconds;
};

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
	       O_NOHUGE, O_MEM, O_CSV, O_QUICK, O_KPEER, O_PSCRIPT, O_PSEC, O_CHILD, O_HELP };
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
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0}};
	bool sizes_given = false, sec_given = false, rep_given = false, ring_given = false;
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
		case O_HELP:
			fputs(usage_text, stdout);
			return -1;
		default:
			goto bad;
		}
	}
	if (optind != argc)
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

static unsigned long read_ul(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static bool hugetlbfs_mounted(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, " hugetlbfs ") != NULL;
	if (f)
		fclose(f);
	return found;
}

static char eal_mode[96];

/* Hugepages when the free 2 MB pages hold what the biggest size needs,
 * else --no-huge -m need. */
static int eal_up(const struct nat_opts *o, unsigned need_mb)
{
	char lcores[16], mem[16], prefix[48];
	char *argv[16];
	int argc = 0;
	unsigned long free2m = read_ul("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
	bool huge = !o->no_huge && hugetlbfs_mounted() && free2m * 2 >= need_mb + need_mb / 8;
	unsigned mem_mb = o->mem_mb ? o->mem_mb : need_mb;

	snprintf(lcores, sizeof(lcores), "%d", o->core);
	snprintf(mem, sizeof(mem), "%u", mem_mb);
	snprintf(prefix, sizeof(prefix), "--file-prefix=ncbench-nat-%ld", (long)getpid());
	argv[argc++] = "ncbench";
	argv[argc++] = "-l";
	argv[argc++] = lcores;
	argv[argc++] = "--no-pci";
	if (huge) {
		argv[argc++] = "--in-memory";
		snprintf(eal_mode, sizeof(eal_mode), "hugepages (%lu x 2M free, ~%u MB needed)",
			 free2m, need_mb);
	} else {
		argv[argc++] = prefix;
		argv[argc++] = "--no-shconf";
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = mem;
		snprintf(eal_mode, sizeof(eal_mode),
			 "no hugepages (--no-huge -m %u; %lu x 2M free)", mem_mb, free2m);
	}
	argv[argc++] = "--no-telemetry";
	argv[argc++] = "--log-level=4";
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "ncbench nat: EAL init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* ---- memory ---- */

struct mem_snap {
	size_t malloc_bytes; /* in use by malloc (arena + mmapped chunks) */
	size_t rte_bytes;    /* rte_malloc heap in use */
	size_t rss;
};

static void mem_snap(struct mem_snap *m)
{
	struct mallinfo2 mi = mallinfo2();
	struct rte_malloc_socket_stats st;
	unsigned long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	m->malloc_bytes = mi.uordblks + mi.hblkhd;
	m->rte_bytes = 0;
	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (rte_malloc_get_socket_stats((int)s, &st) == 0)
			m->rte_bytes += st.heap_allocsz_bytes;
	if (f) {
		if (fscanf(f, "%lu %lu", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	m->rss = (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static size_t sub0(size_t a, size_t b)
{
	return a > b ? a - b : 0;
}

/* ---- the traffic model ---- */

struct model {
	uint32_t S;        /* sessions */
	uint32_t H;        /* subscribers (inside hosts) */
	uint32_t A;        /* pool addresses */
	uint8_t proto;     /* 17 or 6 */
};

struct ext_ep {
	uint32_t addr;
	uint16_t port;
	uint16_t pad;
};

#define INSIDE_ADDR 0x0affff01u  /* 10.255.255.1/24 */
#define OUTSIDE_ADDR 0xc0000201u /* 192.0.2.1/24 */
#define POOL_BASE 0x64400001u    /* 100.64.0.1 */
#define HOST_BASE 0x0a000001u    /* 10.0.0.1 */
#define REMOTE_BASE 0xc6120000u  /* 198.18.0.0/15 */

static const uint8_t mac_nat_in[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t mac_gw_in[6] = {2, 0, 0, 0, 0, 0xfe};
static const uint8_t mac_nat_out[6] = {2, 0, 0, 0, 1, 1};
static const uint8_t mac_gw_out[6] = {2, 0, 0, 0, 1, 0xfe};

static void model_init(struct model *m, uint32_t S, uint8_t proto)
{
	uint32_t per_host;

	m->S = S;
	m->proto = proto;
	m->H = (S + 63) / 64;
	if (m->H > MAX_HOSTS)
		m->H = MAX_HOSTS;
	per_host = (S + m->H - 1) / m->H;
	(void)per_host; /* <= 259 for S <= 16M: far below the default quota */
	m->A = (S + PORTS_PER_ADDR_USED - 1) / PORTS_PER_ADDR_USED;
}

static inline uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static inline uint32_t host_of(const struct model *m, uint32_t j)
{
	return HOST_BASE + j % m->H;
}

static inline uint16_t in_port_of(const struct model *m, uint32_t j)
{
	uint32_t h = j % m->H, k = j / m->H;

	return (uint16_t)(1024 + (k * 7919u + h * 613u) % 64512u);
}

static inline uint32_t rem_of(uint32_t j)
{
	return REMOTE_BASE + (mix32(j) & 0x1ffff);
}

static inline uint16_t rport_of(const struct model *m)
{
	return m->proto == 17 ? 53 : 443;
}

static char *config_text(const struct model *m)
{
	uint32_t last = POOL_BASE + m->A - 1;
	char *buf = NULL;
	int n;

	n = asprintf(&buf,
		     "inside 10.255.255.1/24 mac 02:00:00:00:00:01 gateway 10.255.255.254 "
		     "gateway-mac 02:00:00:00:00:fe\n"
		     "outside 192.0.2.1/24 mac 02:00:00:00:01:01 gateway 192.0.2.254 "
		     "gateway-mac 02:00:00:00:01:fe\n"
		     "pool 100.64.0.1-%u.%u.%u.%u\n"
		     "sessions %u\n"
		     "log off\n"
		     "snat src 10.0.0.0/8\n",
		     last >> 24, (last >> 16) & 0xff, (last >> 8) & 0xff, last & 0xff, m->S);
	return n < 0 ? NULL : buf;
}

/* A 60-byte Ethernet + IPv4 + UDP/TCP frame with correct checksums. */
static void build_frame(uint8_t *f, uint8_t proto, const uint8_t dmac[6], const uint8_t smac[6],
			uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
			uint8_t tcp_flags, uint32_t seq)
{
	uint8_t *ip = f + 14, *l4 = ip + 20;
	uint16_t l4len = 26; /* UDP 8 + 18, TCP 20 + 6 */
	uint16_t c;

	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	nat_put16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0;
	nat_put16(ip + 2, (uint16_t)(20 + l4len));
	nat_put16(ip + 4, (uint16_t)seq);
	nat_put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	nat_put16(ip + 10, 0);
	nat_put32(ip + 12, src);
	nat_put32(ip + 16, dst);
	nat_put16(ip + 10, nat_csum_full(ip, 20));
	memset(l4, 0, l4len);
	nat_put16(l4, sport);
	nat_put16(l4 + 2, dport);
	if (proto == 17) {
		nat_put16(l4 + 4, l4len);
		for (int i = 8; i < l4len; i++)
			l4[i] = (uint8_t)(i + seq);
		c = nat_csum_l4_ipv4(src, dst, proto, l4, l4len);
		nat_put16(l4 + 6, c ? c : 0xffff);
	} else {
		nat_put32(l4 + 4, seq);
		nat_put32(l4 + 8, tcp_flags & 0x10 ? seq ^ 0x5a5a5a5au : 0);
		l4[12] = 0x50;
		l4[13] = tcp_flags;
		nat_put16(l4 + 14, 65535);
		for (int i = 20; i < l4len; i++)
			l4[i] = (uint8_t)(i + seq);
		nat_put16(l4 + 16, nat_csum_l4_ipv4(src, dst, proto, l4, l4len));
	}
}

static void frame_in2out(const struct model *m, uint8_t *f, uint32_t j, uint8_t flags)
{
	build_frame(f, m->proto, mac_nat_in, mac_gw_in, host_of(m, j), rem_of(j),
		    in_port_of(m, j), rport_of(m), flags, j);
}

static void frame_out2in(const struct model *m, uint8_t *f, uint32_t j,
			 const struct ext_ep *e, uint8_t flags)
{
	build_frame(f, m->proto, mac_nat_out, mac_gw_out, rem_of(j), e->addr, rport_of(m),
		    e->port, flags, j);
}

/* Checksums of a 60-byte frame as built above (after translation). */
static bool frame_csums_ok(const uint8_t *f)
{
	const uint8_t *ip = f + 14, *l4 = ip + 20;
	uint32_t src = nat_get32(ip + 12), dst = nat_get32(ip + 16);

	if (!nat_csum_ipv4_ok(ip) || ip[8] != 63)
		return false;
	if (ip[9] == 17 && nat_get16(l4 + 6) == 0)
		return true;
	return nat_csum_l4_ipv4(src, dst, ip[9], l4, 26) == 0;
}

/* After in2out: from the session's external endpoint (e NULL: any pool
 * address, which *got receives) to the remote. */
static bool check_in2out(const struct model *m, const uint8_t *f, uint32_t j,
			 const struct ext_ep *e, struct ext_ep *got)
{
	const uint8_t *ip = f + 14, *l4 = ip + 20;
	uint32_t src = nat_get32(ip + 12);
	uint16_t sport = nat_get16(l4);

	if (memcmp(f, mac_gw_out, 6) || memcmp(f + 6, mac_nat_out, 6) || !frame_csums_ok(f) ||
	    nat_get32(ip + 16) != rem_of(j) || nat_get16(l4 + 2) != rport_of(m))
		return false;
	if (e && (src != e->addr || sport != e->port))
		return false;
	if (src < POOL_BASE || src >= POOL_BASE + m->A)
		return false;
	if (got) {
		got->addr = src;
		got->port = sport;
		got->pad = 0;
	}
	return true;
}

/* After out2in: from the remote to the session's inside endpoint. */
static bool check_out2in(const struct model *m, const uint8_t *f, uint32_t j)
{
	const uint8_t *ip = f + 14, *l4 = ip + 20;

	return !memcmp(f, mac_gw_in, 6) && !memcmp(f + 6, mac_nat_in, 6) && frame_csums_ok(f) &&
	       nat_get32(ip + 12) == rem_of(j) && nat_get16(l4) == rport_of(m) &&
	       nat_get32(ip + 16) == host_of(m, j) && nat_get16(l4 + 2) == in_port_of(m, j);
}

/* ---- running bursts ---- */

struct ctx {
	const struct nat_opts *o;
	struct model m;
	struct nat_pipeline *p;
	struct rte_mempool *mp;
	struct rte_mbuf **ring;
	uint32_t *slot_j;      /* session of each ring slot */
	struct ext_ep *ext;    /* external endpoint of every session */
	double t0;             /* wall clock origin for the NAT's seconds */
	uint64_t skip;         /* seconds added to it (to expire everything) */
	const char *fail;      /* what went wrong */
};

static inline uint8_t *mb_data(struct rte_mbuf *mb)
{
	return rte_pktmbuf_mtod(mb, uint8_t *);
}

static uint64_t nat_now(const struct ctx *c)
{
	return 1 + (uint64_t)(bench_now() - c->t0) + c->skip;
}

/*
 * Push ring[0..n) through the NAT from side in bursts and check that each
 * burst came out whole on the other side.  Returns the thread CPU seconds
 * spent, or -1 (c->fail set) if a frame was dropped: its mbuf is gone.
 */
static double run_ring(struct ctx *c, enum nat_side side, unsigned n)
{
	enum nat_side out = side == NAT_SIDE_INSIDE ? NAT_SIDE_OUTSIDE : NAT_SIDE_INSIDE;
	unsigned burst = c->o->burst;
	uint64_t now = nat_now(c);
	double t0 = bench_thread_cpu();
	bool ok = true;

	for (unsigned b = 0; b < n; b += burst) {
		unsigned nb = n - b < burst ? n - b : burst;
		void *const *tx;

		if (nat_pipeline_rx_mbufs(c->p, side, c->ring + b, nb, now) != 0 ||
		    nat_pipeline_tx(c->p, out, &tx) != nb) {
			ok = false;
			break;
		}
	}
	t0 = bench_thread_cpu() - t0;
	if (!ok) {
		c->fail = "the NAT dropped frames of a burst (see its counters)";
		return -1;
	}
	return t0;
}

static void print_drops(const struct ctx *c)
{
	const struct nat_counters *k = nat_pipeline_counters(c->p);

	for (int i = 0; i < NAT_CNT_COUNT; i++)
		if (k->v[i] && !strncmp(nat_counter_name(i), "drop_", 5))
			fprintf(stderr, "ncbench nat:   %s = %" PRIu64 "\n", nat_counter_name(i),
				k->v[i]);
}

static int ring_alloc(struct ctx *c)
{
	unsigned n = c->o->ring;

	c->ring = calloc(n, sizeof(*c->ring));
	c->slot_j = calloc(n, sizeof(*c->slot_j));
	if (!c->ring || !c->slot_j)
		return -ENOMEM;
	if (rte_pktmbuf_alloc_bulk(c->mp, c->ring, n) != 0)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		c->ring[i]->data_len = FRAME_LEN;
		c->ring[i]->pkt_len = FRAME_LEN;
	}
	return 0;
}

static void ring_free(struct ctx *c)
{
	if (c->ring) {
		for (unsigned i = 0; i < c->o->ring; i++)
			rte_pktmbuf_free(c->ring[i]);
	}
	free(c->ring);
	free(c->slot_j);
	c->ring = NULL;
	c->slot_j = NULL;
}

/* A pipeline for the model. */
static int pipeline_new(struct ctx *c)
{
	struct nat_config *cfg = NULL;
	char err[256];
	char *text = config_text(&c->m);
	int rc;

	if (!text)
		return -ENOMEM;
	rc = nat_config_parse_buffer(text, strlen(text), "ncbench-nat", &cfg, err, sizeof(err));
	free(text);
	if (rc) {
		fprintf(stderr, "ncbench nat: config: %s\n", err);
		return rc;
	}
	rc = nat_pipeline_create(cfg, NULL, &c->p);
	nat_config_free(cfg);
	if (rc)
		fprintf(stderr, "ncbench nat: nat_pipeline_create: %s\n", strerror(-rc));
	return rc;
}

/*
 * The new-session phase: sessions 0..S-1, one new 5-tuple per packet
 * (UDP, or TCP SYN), ring-sized chunks.  Records every session's external
 * endpoint.  Returns CPU seconds, or -1.
 */
static double fill(struct ctx *c)
{
	const struct model *m = &c->m;
	unsigned R = c->o->ring;
	double cpu = 0;

	for (uint32_t base = 0; base < m->S; base += R) {
		unsigned n = m->S - base < R ? m->S - base : R;
		double t;

		for (unsigned i = 0; i < n; i++)
			frame_in2out(m, mb_data(c->ring[i]), base + i, 0x02);
		t = run_ring(c, NAT_SIDE_INSIDE, n);
		if (t < 0)
			return -1;
		cpu += t;
		for (unsigned i = 0; i < n; i++) {
			uint8_t *f = mb_data(c->ring[i]);

			if (!check_in2out(m, f, base + i, NULL, &c->ext[base + i])) {
				c->fail = "a new session's frame was translated wrongly";
				return -1;
			}
		}
	}
	return cpu;
}

/* Expire every session: time jumps past every timeout and hold-down, and
 * nat_pipeline_expire() visits every slot.  Returns CPU seconds, or -1. */
static double expire_all(struct ctx *c)
{
	struct nc_engine_stats es;
	double t0;
	uint64_t now;
	int n;

	c->skip += 1000000;
	now = nat_now(c);
	t0 = bench_thread_cpu();
	n = nat_pipeline_expire(c->p, now, c->m.S);
	t0 = bench_thread_cpu() - t0;
	nat_pipeline_engine_stats(c->p, &es);
	if (n != (int)c->m.S || nat_pipeline_sessions(c->p) != 0 || es.flows != 0) {
		c->fail = "expiry left sessions or flow keys behind";
		return -1;
	}
	return t0;
}

/* TCP: answer every SYN (SYN+ACK from outside) and complete the handshake
 * (ACK from inside), so that the sessions are established.  Not timed. */
static int tcp_open(struct ctx *c)
{
	const struct model *m = &c->m;
	unsigned R = c->o->ring;

	for (uint32_t base = 0; base < m->S; base += R) {
		unsigned n = m->S - base < R ? m->S - base : R;

		for (unsigned i = 0; i < n; i++)
			frame_out2in(m, mb_data(c->ring[i]), base + i, &c->ext[base + i], 0x12);
		if (run_ring(c, NAT_SIDE_OUTSIDE, n) < 0)
			return -1;
		for (unsigned i = 0; i < n; i++)
			frame_in2out(m, mb_data(c->ring[i]), base + i, 0x10);
		if (run_ring(c, NAT_SIDE_INSIDE, n) < 0)
			return -1;
	}
	return 0;
}

/* One pass over the ring from side with uniformly random sessions.
 * Adds CPU seconds and packets; returns 0 or -1. */
static int est_pass(struct ctx *c, struct rng *r, enum nat_side side, double *cpu,
		    uint64_t *pkts)
{
	const struct model *m = &c->m;
	uint8_t flags = m->proto == 6 ? 0x10 : 0;
	unsigned R = c->o->ring;
	double t;

	for (unsigned i = 0; i < R; i++) {
		uint32_t j = (uint32_t)(rng_next(r) % m->S);

		c->slot_j[i] = j;
		if (side == NAT_SIDE_INSIDE)
			frame_in2out(m, mb_data(c->ring[i]), j, flags);
		else
			frame_out2in(m, mb_data(c->ring[i]), j, &c->ext[j], flags);
	}
	t = run_ring(c, side, R);
	if (t < 0)
		return -1;
	*cpu += t;
	*pkts += R;
	for (unsigned i = 0; i < R; i++) {
		uint32_t j = c->slot_j[i];
		bool ok = side == NAT_SIDE_INSIDE
				  ? check_in2out(m, mb_data(c->ring[i]), j, &c->ext[j], NULL)
				  : check_out2in(m, mb_data(c->ring[i]), j);

		if (!ok) {
			c->fail = "an established frame was translated wrongly";
			return -1;
		}
	}
	return 0;
}

/* ---- results ---- */

struct result {
	bool have_new, have_est;
	struct bench_summary news;     /* new sessions/s */
	struct bench_summary est[3];   /* Mpps: in2out, out2in, both */
	double bytes_per_session;
	size_t total_bytes;
};

/* results[size][proto] for the peer ratios */
struct run_results {
	struct result r[MAX_SIZES][2];
};

static void csv_row(FILE *csv, uint64_t S, const char *proto, const char *metric,
		    const struct bench_summary *s, const char *unit, const struct result *r)
{
	if (!csv)
		return;
	fprintf(csv, "%" PRIu64 ",%s,%s,%.6g,%.6g,%.6g,%s,%.1f,%zu,\"%s\"\n", S, proto, metric,
		s->median, s->min, s->max, unit, r ? r->bytes_per_session : 0.0,
		r ? r->total_bytes : (size_t)0, eal_mode);
}

static int bench_one(const struct nat_opts *o, uint64_t S, uint8_t proto, FILE *csv,
		     struct result *res)
{
	const char *pname = proto == 17 ? "udp" : "tcp";
	unsigned new_reps = (o->modes & MODE_NEW) ? (S >= 5000000 ? 1 : o->repeat) : 1;
	double news[MAX_REPEAT], cold[MAX_REPEAT], exps[MAX_REPEAT], est[3][MAX_REPEAT];
	struct ctx c;
	struct mem_snap m0, m1;
	struct nc_engine_stats es;
	struct rng r;
	int ret = BENCH_FAIL;

	memset(&c, 0, sizeof(c));
	memset(res, 0, sizeof(*res));
	c.o = o;
	model_init(&c.m, (uint32_t)S, proto);
	c.t0 = bench_now();
	c.ext = calloc(S, sizeof(*c.ext));
	c.mp = rte_pktmbuf_pool_create(proto == 17 ? "ncbench_nat_udp" : "ncbench_nat_tcp",
				       o->ring + 64, 0, 0, MBUF_DATA, SOCKET_ID_ANY);
	if (!c.ext || !c.mp || ring_alloc(&c) != 0) {
		fprintf(stderr, "ncbench nat: out of memory for %" PRIu64 " sessions / %u mbufs\n",
			S, o->ring);
		goto out;
	}
	for (unsigned rep = 0; rep < new_reps; rep++) {
		double t;

		mem_snap(&m0);
		if (pipeline_new(&c) != 0)
			goto out;
		t = fill(&c);
		if (t < 0)
			goto failed;
		mem_snap(&m1);
		cold[rep] = (double)S / t;
		if (rep == 0) {
			/* netchannel objects live in the engine's slabs (mmap'd
			 * 2 MiB chunks, neither malloc nor rte_malloc) */
			nat_pipeline_engine_stats(c.p, &es);
			res->total_bytes = sub0(m1.malloc_bytes, m0.malloc_bytes) +
					   sub0(m1.rte_bytes, m0.rte_bytes) + es.object_bytes;
			res->bytes_per_session = (double)res->total_bytes / (double)S;
			if (nat_pipeline_sessions(c.p) != S || es.flows != 2 * S) {
				fprintf(stderr, "ncbench nat: %u sessions and %u flow keys after "
					"%" PRIu64 " new flows (want %" PRIu64 " and %" PRIu64
					")\n",
					nat_pipeline_sessions(c.p), es.flows, S, S, 2 * S);
				goto out;
			}
			printf("%-9" PRIu64 " %-4s memory  %8.1f B/session  %9.1f MiB total  "
			       "(malloc %.1f MiB, rte_malloc %.1f MiB, netchannels %.1f MiB; "
			       "RSS +%.1f MiB)\n",
			       S, pname, res->bytes_per_session, res->total_bytes / 1048576.0,
			       sub0(m1.malloc_bytes, m0.malloc_bytes) / 1048576.0,
			       sub0(m1.rte_bytes, m0.rte_bytes) / 1048576.0,
			       es.object_bytes / 1048576.0, sub0(m1.rss, m0.rss) / 1048576.0);
		}
		if (o->modes & MODE_NEW) {
			t = expire_all(&c);
			if (t < 0)
				goto failed;
			exps[rep] = (double)S / t;
			t = fill(&c);
			if (t < 0)
				goto failed;
			news[rep] = (double)S / t;
		}
		if (rep + 1 < new_reps) {
			nat_pipeline_free(c.p);
			c.p = NULL;
		}
	}
	if (o->modes & MODE_NEW) {
		struct bench_summary sc, se;

		bench_summarize(news, new_reps, &res->news);
		bench_summarize(cold, new_reps, &sc);
		bench_summarize(exps, new_reps, &se);
		res->have_new = true;
		printf("%-9" PRIu64 " %-4s new     %8.3f M sessions/s  [%.3f..%.3f]  (%u sample%s, "
		       "empty to full, after an expiry of all)\n", S, pname, res->news.median / 1e6,
		       res->news.min / 1e6, res->news.max / 1e6, new_reps, new_reps > 1 ? "s" : "");
		printf("%-9" PRIu64 " %-4s new-cold %7.3f M sessions/s  [%.3f..%.3f]  (first fill "
		       "of a fresh table: page faults included)\n", S, pname, sc.median / 1e6,
		       sc.min / 1e6, sc.max / 1e6);
		printf("%-9" PRIu64 " %-4s expire  %8.3f M sessions/s  [%.3f..%.3f]\n", S, pname,
		       se.median / 1e6, se.min / 1e6, se.max / 1e6);
		csv_row(csv, S, pname, "new_sessions_per_s", &res->news, "1/s", res);
		csv_row(csv, S, pname, "new_sessions_per_s_cold", &sc, "1/s", res);
		csv_row(csv, S, pname, "expired_sessions_per_s", &se, "1/s", res);
		fflush(stdout);
	}
	if (o->modes & MODE_EST) {
		if (proto == 6 && tcp_open(&c) != 0)
			goto failed;
		rng_seed(&r, o->seed ^ S);
		for (unsigned rep = 0; rep < o->repeat; rep++) {
			double cpu[2] = {0, 0};
			uint64_t pk[2] = {0, 0};

			/* warm-up: one pass each way */
			if (est_pass(&c, &r, NAT_SIDE_INSIDE, &(double){0}, &(uint64_t){0}) ||
			    est_pass(&c, &r, NAT_SIDE_OUTSIDE, &(double){0}, &(uint64_t){0}))
				goto failed;
			do {
				if (est_pass(&c, &r, NAT_SIDE_INSIDE, &cpu[0], &pk[0]) ||
				    est_pass(&c, &r, NAT_SIDE_OUTSIDE, &cpu[1], &pk[1]))
					goto failed;
			} while (cpu[0] + cpu[1] < o->seconds);
			est[0][rep] = pk[0] / cpu[0] / 1e6;
			est[1][rep] = pk[1] / cpu[1] / 1e6;
			est[2][rep] = (pk[0] + pk[1]) / (cpu[0] + cpu[1]) / 1e6;
		}
		for (int d = 0; d < 3; d++)
			bench_summarize(est[d], o->repeat, &res->est[d]);
		res->have_est = true;
		printf("%-9" PRIu64 " %-4s est.    %8.2f Mpps both  [%.2f..%.2f]  in2out %.2f  "
		       "out2in %.2f\n", S, pname, res->est[2].median, res->est[2].min,
		       res->est[2].max, res->est[0].median, res->est[1].median);
		csv_row(csv, S, pname, "established_mpps", &res->est[2], "Mpps", res);
		csv_row(csv, S, pname, "in2out_mpps", &res->est[0], "Mpps", res);
		csv_row(csv, S, pname, "out2in_mpps", &res->est[1], "Mpps", res);
		fflush(stdout);
	}
	{
		const struct nat_counters *k = nat_pipeline_counters(c.p);
		uint64_t drops = 0;

		for (int i = 0; i < NAT_CNT_COUNT; i++)
			if (!strncmp(nat_counter_name(i), "drop_", 5))
				drops += k->v[i];
		nat_pipeline_engine_stats(c.p, &es);
		printf("%-9" PRIu64 " %-4s check   translated=%" PRIu64 " sent=%" PRIu64
		       " drops=%" PRIu64 " sessions=%u flows=%u fast_path=%" PRIu64 "\n",
		       S, pname, k->v[NAT_CNT_IN2OUT_PKTS] + k->v[NAT_CNT_OUT2IN_PKTS], es.rx,
		       drops, nat_pipeline_sessions(c.p), es.flows, es.flow_hits);
	}
	ret = BENCH_OK;
	goto out;
failed:
	fprintf(stderr, "ncbench nat: %" PRIu64 " %s sessions: %s\n", S, pname,
		c.fail ? c.fail : "failed");
	if (c.p)
		print_drops(&c);
	if (c.ring) /* mbufs the NAT freed are gone: forget the ring */
		memset(c.ring, 0, o->ring * sizeof(*c.ring));
out:
	nat_pipeline_free(c.p);
	ring_free(&c);
	rte_mempool_free(c.mp);
	free(c.ext);
	return ret;
}

/* ---- peers ---- */

struct kpeer {
	bool ran;
	double est_pps, new_per_s;
	char note[200];
};

static void kernel_peer(const struct nat_opts *o, struct kpeer *k)
{
	char cmd[1024], line[512];
	FILE *f;
	int st;

	memset(k, 0, sizeof(*k));
	if (access(o->peer_script, R_OK) != 0) {
		snprintf(k->note, sizeof(k->note), "script %s not found", o->peer_script);
		return;
	}
	snprintf(cmd, sizeof(cmd), "sh '%s' --seconds %g 2>&1", o->peer_script, o->peer_seconds);
	fflush(stdout);
	f = popen(cmd, "r");
	if (!f) {
		snprintf(k->note, sizeof(k->note), "cannot run %s", o->peer_script);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		double v;

		printf("  nftables peer: %s", line);
		if (sscanf(line, "kernel_established_pps=%lf", &v) == 1)
			k->est_pps = v;
		else if (sscanf(line, "kernel_new_flows_per_s=%lf", &v) == 1)
			k->new_per_s = v;
		else if (!strncmp(line, "skipped:", 8))
			snprintf(k->note, sizeof(k->note), "%.190s", line + 8);
	}
	st = pclose(f);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && (k->est_pps > 0 || k->new_per_s > 0))
		k->ran = true;
	else if (!k->note[0])
		snprintf(k->note, sizeof(k->note), "exit status %d",
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	k->note[strcspn(k->note, "\n")] = 0;
}

/* Our UDP result at the smallest measured size (the peer runs 1K flows). */
static const struct result *ours_for_peer(const struct nat_opts *o, const struct run_results *rr,
					   uint64_t *size)
{
	unsigned best = MAX_SIZES;

	for (unsigned i = 0; i < o->n_sizes; i++)
		if (best == MAX_SIZES || o->sizes[i] < o->sizes[best])
			best = i;
	if (best == MAX_SIZES || !o->udp)
		return NULL;
	*size = o->sizes[best];
	return &rr->r[best][0];
}

static void print_peers(const struct nat_opts *o, const struct run_results *rr, FILE *csv)
{
	uint64_t size = 0;
	const struct result *ours = ours_for_peer(o, rr, &size);
	struct bench_summary s;

	printf("vpp_nat44_ed_new_sessions_per_s=%.0f (published: FD.io CSIT NAT44-ED reports, "
	       "~1 M new sessions/s per core; not measured here)\n", VPP_NEW_PER_S_PUBLISHED);
	if (ours && ours->have_new)
		printf("ratio_vs_vpp_published_new=%.2f (ours, UDP, %" PRIu64 " sessions)\n",
		       ours->news.median / VPP_NEW_PER_S_PUBLISHED, size);
	if (!o->kernel_peer) {
		printf("ratio_vs_nftables_established=n/a (--kernel-peer not given)\n");
		printf("ratio_vs_nftables_new=n/a (--kernel-peer not given)\n");
		return;
	}
	struct kpeer k;

	kernel_peer(o, &k);
	if (!k.ran) {
		printf("nftables peer: skipped (%s)\n", k.note[0] ? k.note : "no result");
		printf("ratio_vs_nftables_established=n/a\nratio_vs_nftables_new=n/a\n");
		return;
	}
	if (k.est_pps > 0) {
		s.median = s.min = s.max = k.est_pps / 1e6;
		csv_row(csv, 1000, "udp", "nftables_established_mpps", &s, "Mpps", NULL);
		if (ours && ours->have_est)
			printf("ratio_vs_nftables_established=%.1f (ours %.2f Mpps at %" PRIu64
			       " sessions / kernel %.3f Mpps)\n",
			       ours->est[2].median * 1e6 / k.est_pps, ours->est[2].median, size,
			       k.est_pps / 1e6);
		else
			printf("ratio_vs_nftables_established=n/a (no UDP established result)\n");
	}
	if (k.new_per_s > 0) {
		s.median = s.min = s.max = k.new_per_s;
		csv_row(csv, 0, "udp", "nftables_new_flows_per_s", &s, "1/s", NULL);
		if (ours && ours->have_new)
			printf("ratio_vs_nftables_new=%.1f (ours %.3f M/s at %" PRIu64
			       " sessions / kernel %.3f M/s)\n", ours->news.median / k.new_per_s,
			       ours->news.median / 1e6, size, k.new_per_s / 1e6);
		else
			printf("ratio_vs_nftables_new=n/a (no UDP new-session result)\n");
	}
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
	char a[24][64], *argv[32], line[512];
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
	ARG("--mode");
	ARG("%s", o->modes == MODE_NEW ? "new" : o->modes == MODE_EST ? "established" : "all");
	ARG("--proto");
	ARG("%s", o->udp && o->tcp ? "udp,tcp" : o->udp ? "udp" : "tcp");
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
				print_peers(&o, rr, csv);
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
		printf("%-9" PRIu64 " EAL  %s\n", o.sizes[i], eal_mode);
	fflush(stdout);
	rc = BENCH_OK;
	for (unsigned i = 0; i < o.n_sizes && rc == BENCH_OK; i++) {
		if (o.udp)
			rc = bench_one(&o, o.sizes[i], 17, csv, &rr->r[i][0]);
		if (rc == BENCH_OK && o.tcp)
			rc = bench_one(&o, o.sizes[i], 6, csv, &rr->r[i][1]);
	}
	free(rr);
	if (csv)
		fclose(csv);
	rte_eal_cleanup();
	return rc;
}
