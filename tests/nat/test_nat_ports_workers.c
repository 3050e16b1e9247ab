/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ports: random sequences over 2, 3 and 7 workers (one shard each)
 * against a model of all of them: every port from its worker's slice and
 * never from two workers, preservation exactly when owned, free and
 * eligible, paired pooling by room, and every allocator's view checked
 * against the model.  The seed is printed; NC_SEED=<n> replays.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "nat_ports.h"
#include "nat_ports_util.h"
#include "nat_test_util.h"

#define WM_ADDRS 3
#define WM_PER 16                 /* subscribers per worker */
#define WM_SUBS (WM_PER * 7)
#define WM_LO 2000
#define WM_HI_MAX 2191            /* 192 ports, 48 blocks of 4 */
#define WM_QUOTA 16
#define WM_HOLD 5

static const uint32_t WA[WM_ADDRS] = {IP4(198, 51, 100, 1), IP4(198, 51, 100, 2),
				      IP4(203, 0, 113, 9)};

struct wmodel {
	uint8_t owner_w[WM_ADDRS][3][65536];  /* worker + 1 holding it, 0 free */
	uint8_t ever_w[WM_ADDRS][3][65536];   /* worker + 1 that ever handed it out */
	uint8_t owner_s[WM_ADDRS][3][65536];  /* subscriber + 1 holding it */
	uint64_t held[WM_ADDRS][3][65536];    /* held until */
	uint8_t blk[WM_ADDRS][3][48];         /* subscriber + 1 */
	uint64_t blk_held[WM_ADDRS][3][48];
	uint32_t sub_blocks[WM_SUBS][3];
	uint32_t count[WM_SUBS][3];
	int pin[WM_SUBS];
	uint32_t sub[WM_SUBS];
	unsigned sub_w[WM_SUBS];
	unsigned n_subs, W;
	uint32_t block;
	uint16_t hi;                          /* the range is WM_LO..hi */
	struct nat_shard sh;
	uint64_t now;
	unsigned ctx_w[7];
};

static struct wmodel WMd;

static int wm_aidx(uint32_t a)
{
	int i;

	for (i = 0; i < WM_ADDRS; i++)
		if (WA[i] == a)
			return i;
	return -1;
}

static int wm_sidx(uint32_t in_addr)
{
	unsigned i;

	for (i = 0; i < WMd.n_subs; i++)
		if (WMd.sub[i] == in_addr)
			return (int)i;
	return -1;
}

static void wm_ev(void *ctx, const struct nat_ports_event *ev)
{
	unsigned w = *(const unsigned *)ctx;
	int ai = wm_aidx(ev->out_addr), pi = nat_proto_idx(ev->proto), s = wm_sidx(ev->in_addr);
	uint32_t b = (ev->port_lo - WM_LO) / WMd.block, q;

	cr_assert(ai >= 0 && pi >= 0 && s >= 0);
	cr_assert_eq(WMd.sub_w[s], w, "event of worker %u for another's subscriber", w);
	cr_assert_eq(ev->port_hi - ev->port_lo + 1, WMd.block);
	cr_assert_eq(nat_shard_port_owner(&WMd.sh, ev->port_lo), w, "block %u not owned", b);
	if (ev->type == NAT_PORTS_BLOCK_ALLOC) {
		cr_assert_eq(WMd.blk[ai][pi][b], 0, "block %u taken twice", b);
		cr_assert_leq(WMd.blk_held[ai][pi][b], WMd.now, "block %u taken while held", b);
		WMd.blk[ai][pi][b] = (uint8_t)(s + 1);
		WMd.sub_blocks[s][pi]++;
	} else {
		cr_assert_eq(WMd.blk[ai][pi][b], s + 1);
		for (q = ev->port_lo; q <= ev->port_hi; q++)
			cr_assert_eq(WMd.owner_w[ai][pi][q], 0, "block freed with port %u in use", q);
		WMd.blk[ai][pi][b] = 0;
		WMd.blk_held[ai][pi][b] = WMd.now + WM_HOLD;
		WMd.sub_blocks[s][pi]--;
	}
}

static bool wm_free(int ai, int pi, uint32_t q)
{
	return WMd.owner_w[ai][pi][q] == 0 && WMd.held[ai][pi][q] <= WMd.now;
}

static bool wm_owned(unsigned w, uint32_t q)
{
	return nat_shard_port_owner(&WMd.sh, (uint16_t)q) == w;
}

/* Does subscriber s have a free port of parity par (-1: any) in its blocks? */
static bool wm_blocks_free(int ai, int pi, int s, int par)
{
	uint32_t b, q;

	for (b = 0; b < (WMd.hi - WM_LO + 1) / WMd.block; b++) {
		if (WMd.blk[ai][pi][b] != s + 1)
			continue;
		for (q = WM_LO + b * WMd.block; q < WM_LO + (b + 1) * WMd.block; q++)
			if ((par < 0 || (int)(q & 1) == par) && wm_free(ai, pi, q))
				return true;
	}
	return false;
}

/*
 * Would a correct worker w preserve in_port for s on address ai?  Decided
 * on the model before the allocation.
 */
static bool wm_preserves(int ai, int pi, int s, unsigned w, uint16_t in_port)
{
	uint32_t b;

	if (!wm_owned(w, in_port) || !wm_free(ai, pi, in_port))
		return false;
	if (pi != NAT_PI_ICMP && in_port < 1024)
		return in_port > 0;
	if (in_port < WM_LO || in_port > WMd.hi)
		return pi == NAT_PI_ICMP;
	if (WMd.block == 1)
		return true;
	b = (in_port - WM_LO) / WMd.block;
	if (WMd.blk[ai][pi][b] == s + 1)
		return true;
	return WMd.blk[ai][pi][b] == 0 && WMd.blk_held[ai][pi][b] <= WMd.now &&
	       WMd.sub_blocks[s][pi] < WM_QUOTA / WMd.block &&
	       !wm_blocks_free(ai, pi, s, pi == NAT_PI_ICMP ? -1 : (int)(in_port & 1));
}

/* Must worker w find a port for (s, pi, in_port) on address ai? */
static bool wm_can(int ai, int pi, int s, unsigned w, uint16_t in_port)
{
	int par = pi == NAT_PI_ICMP ? -1 : (int)(in_port & 1);
	uint32_t q, b;

	if (wm_preserves(ai, pi, s, w, in_port))
		return true;
	if (pi != NAT_PI_ICMP && in_port < 1024) {
		for (q = 1; q < 1024; q++)
			if ((int)(q & 1) == par && wm_owned(w, q) && wm_free(ai, pi, q))
				return true;
		return false;
	}
	if (WMd.block == 1) {
		for (q = WM_LO; q <= WMd.hi; q++)
			if ((par < 0 || (int)(q & 1) == par) && wm_owned(w, q) && wm_free(ai, pi, q))
				return true;
		return false;
	}
	if (wm_blocks_free(ai, pi, s, par))
		return true;
	if (WMd.sub_blocks[s][pi] >= WM_QUOTA / WMd.block)
		return false;
	for (b = 0; b < (WMd.hi - WM_LO + 1) / WMd.block; b++)
		if (wm_owned(w, WM_LO + b * WMd.block) && WMd.blk[ai][pi][b] == 0 &&
		    WMd.blk_held[ai][pi][b] <= WMd.now)
			return true;
	return false;
}

/*
 * Has address ai room for a new subscriber of worker w (paired pooling)?
 * Some block of the slice not owned (held or not), or some port of the
 * slice neither used nor held.
 */
static bool wm_room(int ai, int pi, unsigned w)
{
	uint32_t q, b;

	if (WMd.block > 1) {
		for (b = 0; b < (WMd.hi - WM_LO + 1) / WMd.block; b++)
			if (wm_owned(w, WM_LO + b * WMd.block) && WMd.blk[ai][pi][b] == 0)
				return true;
		return false;
	}
	for (q = WM_LO; q <= WMd.hi; q++)
		if (wm_owned(w, q) && wm_free(ai, pi, q))
			return true;
	return false;
}

/* Every allocator's view against the model, and the union count. */
static void wm_check_all(struct nat_ports **p, int it)
{
	static const uint8_t protos[3] = {6, 17, 1};
	uint64_t total = 0, in_use = 0;
	unsigned w, s;
	int ai, k;
	uint32_t q;

	for (ai = 0; ai < WM_ADDRS; ai++) {
		for (k = 0; k < 3; k++) {
			for (q = 0; q < 65536; q++) {
				unsigned users = 0;

				for (w = 0; w < WMd.W; w++) {
					bool u = nat_ports_in_use(p[w], protos[k], WA[ai], (uint16_t)q);

					cr_assert_eq(u, WMd.owner_w[ai][k][q] == w + 1,
						     "it %d: worker %u addr %d proto %u port %u", it, w,
						     ai, protos[k], q);
					users += u;
				}
				cr_assert_leq(users, 1);
				in_use += users;
			}
		}
	}
	for (s = 0; s < WMd.n_subs; s++)
		for (k = 0; k < 3; k++) {
			uint32_t used = nat_ports_sub_used(p[WMd.sub_w[s]], protos[k], WMd.sub[s]);

			cr_assert_eq(used, WMd.count[s][k]);
			total += used;
			for (w = 0; w < WMd.W; w++)
				if (w != WMd.sub_w[s])
					cr_assert_eq(nat_ports_sub_used(p[w], protos[k], WMd.sub[s]), 0);
		}
	cr_assert_eq(total, in_use, "it %d: %lu allocations, %lu distinct endpoints in use", it,
		     (unsigned long)total, (unsigned long)in_use);
}

static void workers_run(unsigned W, uint32_t block, uint16_t hi, uint64_t seed)
{
	static const uint8_t protos[3] = {6, 17, 1};
	struct nat_ports *p[7];
	uint64_t n_ok = 0, n_pres = 0, n_nospc = 0, n_predicted = 0;
	unsigned w, s, k;
	int it;

	memset(&WMd, 0, sizeof(WMd));
	WMd.W = W;
	WMd.block = block;
	WMd.hi = hi;
	WMd.now = 1000;
	cr_assert_eq(nat_shard_init(&WMd.sh, 0, W, WM_LO, WMd.hi, block), 0);
	for (w = 0; w < W; w++) {
		WMd.ctx_w[w] = w;
		p[w] = mk_shard(WA, WM_ADDRS, WM_LO, WMd.hi, WM_QUOTA, block, WM_HOLD, w, W, wm_ev,
				&WMd.ctx_w[w]);
		for (k = 0; k < WM_PER; k++) {
			s = WMd.n_subs++;
			WMd.sub[s] = sub_of(&WMd.sh, w, k);
			WMd.sub_w[s] = w;
			WMd.pin[s] = -1;
		}
	}
	for (it = 0; it < 20000; it++) {
		uint64_t r = nat_rand(&seed);
		int pi = (int)(r % 3), ai;
		uint8_t proto = protos[pi];

		s = (unsigned)((r >> 8) % WMd.n_subs);
		w = WMd.sub_w[s];
		if (((r >> 16) & 15) == 0) {
			WMd.now += (r >> 20) % 3;
			continue;
		}
		if (((r >> 24) & 31) == 1) {
			/* the subscriber leaves: all its ports go */
			uint32_t q;

			for (ai = 0; ai < WM_ADDRS; ai++)
				for (k = 0; k < 3; k++)
					for (q = 0; q < 65536; q++) {
						if (WMd.owner_s[ai][k][q] != s + 1)
							continue;
						WMd.owner_w[ai][k][q] = 0;
						WMd.owner_s[ai][k][q] = 0;
						cr_assert_eq(nat_ports_release(p[w], protos[k], WMd.sub[s],
									       WA[ai], (uint16_t)q,
									       WMd.now),
							     0, "it %d", it);
						WMd.held[ai][k][q] = WMd.now + WM_HOLD;
						WMd.count[s][k]--;
					}
			WMd.pin[s] = -1;
			cr_assert_eq(nat_ports_sub_addr(p[w], WMd.sub[s], &q), false);
		} else if (((r >> 24) & 3) == 0) {
			uint32_t q = 0;

			for (ai = 0; ai < WM_ADDRS; ai++)
				for (q = (uint32_t)(r >> 32) & 0x3ff; q < 65536; q++)
					if (WMd.owner_s[ai][pi][q] == s + 1)
						goto found;
			continue;
found:
			WMd.owner_w[ai][pi][q] = 0; /* before: the block event checks it */
			WMd.owner_s[ai][pi][q] = 0;
			cr_assert_eq(nat_ports_release(p[w], proto, WMd.sub[s], WA[ai], (uint16_t)q,
						       WMd.now),
				     0, "it %d", it);
			WMd.held[ai][pi][q] = WMd.now + WM_HOLD;
			WMd.count[s][pi]--;
			if (!WMd.count[s][0] && !WMd.count[s][1] && !WMd.count[s][2])
				WMd.pin[s] = -1;
		} else {
			uint16_t in_port, port = 0, pp;
			uint32_t a = 0, first, n, pa;
			bool pres[WM_ADDRS], can[WM_ADDRS], room[WM_ADDRS], predicted;
			int rc;

			nat_shard_dyn_blocks(&WMd.sh, w, &first, &n);
			switch ((r >> 40) & 3) {
			case 0: in_port = (uint16_t)(WM_LO + (r >> 44) % (WMd.hi - WM_LO + 1)); break;
			case 1: in_port = (uint16_t)((r >> 44) % 1024); break;
			case 2: in_port = (uint16_t)(r >> 44); break;
			default: /* one of its own dynamic ports */
				in_port = (uint16_t)(WM_LO + first * block +
						     (n ? (r >> 44) % (n * block) : 0));
				break;
			}
			for (ai = 0; ai < WM_ADDRS; ai++) {
				pres[ai] = wm_preserves(ai, pi, (int)s, w, in_port);
				can[ai] = wm_can(ai, pi, (int)s, w, in_port);
				room[ai] = wm_room(ai, pi, w);
			}
			predicted = nat_ports_predict(p[w], proto, WMd.sub[s], in_port, WMd.now, &pa,
						     &pp);
			rc = nat_ports_alloc(p[w], proto, WMd.sub[s], in_port, WMd.now, &a, &port);
			if (predicted) {
				cr_assert(rc == 0 && a == pa && port == pp,
					  "it %d: predicted %u, then rc %d port %u", it, pp, rc, port);
				n_predicted++;
			}
			if (rc == -EDQUOT) {
				cr_assert_geq(WMd.count[s][pi], WM_QUOTA, "it %d", it);
				continue;
			}
			cr_assert_lt(WMd.count[s][pi], WM_QUOTA, "it %d: quota not enforced", it);
			if (rc == -ENOSPC) {
				n_nospc++;
				if (WMd.pin[s] >= 0) {
					cr_assert_not(can[WMd.pin[s]], "it %d: ENOSPC with a port free",
						      it);
				} else {
					/* the first address with room (in an order of
					 * its own) is taken: one with room that could
					 * not serve, or none with room */
					bool excuse = true;

					for (ai = 0; ai < WM_ADDRS; ai++)
						if (room[ai])
							excuse = false;
					for (ai = 0; ai < WM_ADDRS; ai++)
						if (room[ai] && !can[ai])
							excuse = true;
					cr_assert(excuse, "it %d: ENOSPC, an address could serve", it);
				}
				continue;
			}
			cr_assert_eq(rc, 0, "it %d: rc %d", it, rc);
			ai = wm_aidx(a);
			cr_assert_geq(ai, 0);
			if (WMd.pin[s] >= 0)
				cr_assert_eq(ai, WMd.pin[s], "it %d: paired pooling broken", it);
			else
				cr_assert(room[ai], "it %d: pinned to an address without room", it);
			/* the worker's own port, in use nowhere, not held, never another's */
			cr_assert(wm_owned(w, port), "it %d: worker %u handed out port %u of %u", it, w,
				  port, nat_shard_port_owner(&WMd.sh, port));
			cr_assert_eq(WMd.owner_w[ai][pi][port], 0, "it %d: port %u in use by worker %u",
				     it, port, WMd.owner_w[ai][pi][port]);
			cr_assert_leq(WMd.held[ai][pi][port], WMd.now, "it %d: port %u held", it, port);
			cr_assert(WMd.ever_w[ai][pi][port] == 0 || WMd.ever_w[ai][pi][port] == w + 1,
				  "it %d: port %u from two workers", it, port);
			/* parity, low ports, range */
			if (pi != NAT_PI_ICMP) {
				cr_assert_eq(port & 1, in_port & 1, "it %d: parity", it);
				if (in_port < 1024)
					cr_assert(port >= 1 && port < 1024, "it %d", it);
				else
					cr_assert(port >= WM_LO && port <= WMd.hi, "it %d", it);
			} else {
				cr_assert(port == in_port || (port >= WM_LO && port <= WMd.hi), "it %d",
					  it);
			}
			/* preservation exactly when owned, free and eligible */
			cr_assert_eq(port == in_port, pres[ai],
				     "it %d: worker %u sub %u proto %u in %u out %u, expected %s", it,
				     w, s, proto, in_port, port, pres[ai] ? "kept" : "another");
			if (block > 1 && port >= WM_LO && port <= WMd.hi)
				cr_assert_eq(WMd.blk[ai][pi][(port - WM_LO) / block], s + 1,
					     "it %d: port %u outside the subscriber's blocks", it, port);
			WMd.owner_w[ai][pi][port] = (uint8_t)(w + 1);
			WMd.owner_s[ai][pi][port] = (uint8_t)(s + 1);
			WMd.ever_w[ai][pi][port] = (uint8_t)(w + 1);
			WMd.count[s][pi]++;
			WMd.pin[s] = ai;
			n_ok++;
			n_pres += port == in_port;
		}
		if ((it & 4095) == 0)
			wm_check_all(p, it);
	}
	wm_check_all(p, it);
	/* the run really exercised preservation and exhaustion */
	cr_assert_gt(n_pres, 100, "%lu preserved", (unsigned long)n_pres);
	cr_assert_gt(n_ok - n_pres, 100);
	cr_assert_gt(n_nospc, 10, "%lu ENOSPC", (unsigned long)n_nospc);
	cr_assert_gt(n_predicted, 20, "%lu predicted", (unsigned long)n_predicted);
	fprintf(stderr, "W %u block %u: %lu ok, %lu preserved, %lu ENOSPC\n", W, block,
		(unsigned long)n_ok, (unsigned long)n_pres, (unsigned long)n_nospc);
	for (w = 0; w < W; w++)
		nat_ports_free(p[w]);
}

Test(nat_ports, shard_workers_per_port, .timeout = 100)
{
	uint64_t seed = nat_test_seed("nat_ports shard_workers_per_port");
	static const unsigned ws[] = {2, 3, 7};
	unsigned i;

	for (i = 0; i < 3; i++)
		workers_run(ws[i], 1, 2095, seed + i); /* 96 ports */
}

Test(nat_ports, shard_workers_blocks, .timeout = 100)
{
	uint64_t seed = nat_test_seed("nat_ports shard_workers_blocks");
	static const unsigned ws[] = {2, 3, 7};
	unsigned i;

	for (i = 0; i < 3; i++)
		workers_run(ws[i], 4, WM_HI_MAX, seed + i);
}
