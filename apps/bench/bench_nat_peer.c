/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench nat: the peers — the Linux kernel's NAT (nftables masquerade,
 * measured on this machine by nat_kernel_peer.sh) and VPP NAT44-ED (its
 * published new-session rate, a constant) — and our ratios to them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_nat_int.h"

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

void bnat_print_peers(const struct nat_opts *o, const struct run_results *rr, FILE *csv)
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
		bnat_csv_row(csv, 1000, "udp", "nftables_established_mpps", &s, "Mpps", NULL);
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
		bnat_csv_row(csv, 0, "udp", "nftables_new_flows_per_s", &s, "1/s", NULL);
		if (ours && ours->have_new)
			printf("ratio_vs_nftables_new=%.1f (ours %.3f M/s at %" PRIu64
			       " sessions / kernel %.3f M/s)\n", ours->news.median / k.new_per_s,
			       ours->news.median / 1e6, size, k.new_per_s / 1e6);
		else
			printf("ratio_vs_nftables_new=n/a (no UDP new-session result)\n");
	}
}
