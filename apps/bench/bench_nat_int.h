/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_BENCH_NAT_INT_H
#define NCBENCH_BENCH_NAT_INT_H
/*
 * ncbench nat, internal: what its files share.
 *   bench_nat.c          options, EAL, one process per session count, main flow
 *   bench_nat_traffic.c  the traffic model: configuration, frames, checks
 *   bench_nat_one.c      one pipeline on one core: new, expire, established
 *   bench_nat_peer.c     nftables (measured) and VPP (published) as peers
 *   bench_nat_workers.c  --workers: ncnat's worker loop on N lcores
 * Everything here runs on one thread unless its comment says otherwise.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stats.h"

struct nat_pipeline;

#define NAT_CSV_HEADER \
	"sessions,proto,metric,median,min,max,unit,bytes_per_session,total_bytes,eal"
#define MAX_SIZES 8
#define MAX_REPEAT 32
#define MAX_WORKER_COUNTS 8 /* entries of --workers */
#define BNAT_WORKERS_MAX 16 /* workers in one run */
#define FRAME_LEN 60
#define MBUF_DATA 256 /* headroom (128) + a 60-byte frame, rounded */
#define MAX_HOSTS 65000u
#define PORTS_PER_ADDR_USED 16384u /* about a quarter of 1024-65535 */
/* VPP NAT44-ED, FD.io CSIT published reports: ~1 M new sessions/s per core */
#define VPP_NEW_PER_S_PUBLISHED 1.0e6

enum { MODE_NEW = 1, MODE_EST = 2 };
enum { SPREAD_RSS = 1, SPREAD_RANDOM = 2 };

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
	/* --workers (bench_nat_workers.c); n_workers 0: the one-pipeline benchmark */
	unsigned workers[MAX_WORKER_COUNTS];
	unsigned n_workers;
	unsigned spreads;    /* SPREAD_RSS | SPREAD_RANDOM */
	unsigned carriers;   /* frames in flight per port and queue */
};

/* ---- the traffic model (bench_nat_traffic.c) ---- */

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

extern const uint8_t bnat_mac_nat_in[6], bnat_mac_gw_in[6];
extern const uint8_t bnat_mac_nat_out[6], bnat_mac_gw_out[6];

void bnat_model_init(struct model *m, uint32_t S, uint8_t proto);

static inline uint32_t bnat_mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/* Session j: subscriber, its port, the remote and the remote's port. */
static inline uint32_t bnat_host_of(const struct model *m, uint32_t j)
{
	return HOST_BASE + j % m->H;
}

static inline uint16_t bnat_in_port_of(const struct model *m, uint32_t j)
{
	uint32_t h = j % m->H, k = j / m->H;

	return (uint16_t)(1024 + (k * 7919u + h * 613u) % 64512u);
}

static inline uint32_t bnat_rem_of(uint32_t j)
{
	return REMOTE_BASE + (bnat_mix32(j) & 0x1ffff);
}

static inline uint16_t bnat_rport_of(const struct model *m)
{
	return m->proto == 17 ? 53 : 443;
}

/**
 * A pipeline for the model's configuration, shard index of count (count 1:
 * nat_pipeline_create).  Errors are printed.  @return 0 or -errno.
 */
int bnat_pipeline_new(const struct model *m, unsigned index, unsigned count,
		      struct nat_pipeline **out);

/* Frames of 60 bytes with correct checksums; seq goes into the IP id, the
 * TCP sequence number and the payload. */
void bnat_frame_in2out(const struct model *m, uint8_t *f, uint32_t j, uint8_t flags);
void bnat_frame_out2in(const struct model *m, uint8_t *f, uint32_t j, const struct ext_ep *e,
		       uint8_t flags);

/** After in2out: from the session's external endpoint (e NULL: any pool
 *  address, which *got receives when got is not NULL) to the remote. */
bool bnat_check_in2out(const struct model *m, const uint8_t *f, uint32_t j,
		       const struct ext_ep *e, struct ext_ep *got);
/** After out2in: from the remote to the session's inside endpoint. */
bool bnat_check_out2in(const struct model *m, const uint8_t *f, uint32_t j);

/* ---- results (bench_nat_one.c) ---- */

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

/** How EAL was started (printed and in every CSV row); set by bench_nat.c. */
extern char bnat_eal_mode[96];

/** One CSV row (csv NULL: nothing); r NULL: no memory columns. */
void bnat_csv_row(FILE *csv, uint64_t S, const char *proto, const char *metric,
		  const struct bench_summary *s, const char *unit, const struct result *r);

/** One pipeline on the calling core: S sessions of proto (17, 6).  Prints
 *  its lines.  @return BENCH_OK or BENCH_FAIL. */
int bnat_bench_one(const struct nat_opts *o, uint64_t S, uint8_t proto, FILE *csv,
		   struct result *res);

/* ---- peers (bench_nat_peer.c) ---- */

/** The VPP constant, and nftables when --kernel-peer, with the ratios. */
void bnat_print_peers(const struct nat_opts *o, const struct run_results *rr, FILE *csv);

/* ---- --workers (bench_nat_workers.c) ---- */

/** EAL memory (MB, without hugepages) the worker runs of S sessions need. */
unsigned bnat_workers_mem_mb(const struct nat_opts *o, uint64_t S);

/** Every --workers count, each --spread, --repeat windows, S UDP sessions;
 *  needs an EAL with max(--workers) lcores.  @return BENCH_OK or BENCH_FAIL. */
int bnat_workers_bench(const struct nat_opts *o, uint64_t S, FILE *csv);

#endif /* NCBENCH_BENCH_NAT_INT_H */
