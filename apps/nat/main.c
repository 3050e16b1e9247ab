/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat — NAT44 between an inside and an outside DPDK port.
 *
 *   ncnat EAL-ARGS -- -c FILE [--inside-port N] [--outside-port N]
 *                     [--workers N] [--log FILE] [--idle-exit MS] [--check]
 *                     [--ctl PATH | --no-ctl]
 *
 * The ports are ethdev ids (default 0 inside, 1 outside), e.g. from
 * --vdev=net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap (offline translation;
 * use --idle-exit to stop when the input is exhausted) or net_af_packet.
 * --workers N: N polling lcores (default: every lcore EAL was given, -l),
 * each with its own RX/TX queue on both ports and its own pipeline; the
 * NAT's state is partitioned between them (nat_pipeline.h, "Workers";
 * af_packet needs qpairs=N).
 * --check parses and validates the config, prints it is fine and exits
 * (no ports touched).  Counters are printed to stderr at exit.
 * --ctl: the control socket ncnatctl talks to (nat_ctl.h; default
 * /run/ncnat/ncnat.sock, its directory made if missing), polled by the
 * packet loop every millisecond; --no-ctl: none.  The counters are also in
 * DPDK telemetry (/ncnat/stats, /ncnat/sessions).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "nat_config.h"
#include "nat_ctl.h"
#include "nat_ctl_backend.h"
#include "nat_pipeline.h"
#include "nat_port.h"
#include "nat_shard.h"
#include "nat_telemetry.h"

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s EAL-ARGS -- -c FILE [--inside-port N] [--outside-port N]\n"
		"          [--workers N] [--log FILE] [--idle-exit MS] [--check]\n"
		"          [--ctl PATH | --no-ctl]\n",
		prog);
}

/* The control socket's directory (one level, like /run/ncnat), if missing. */
static void make_parent(const char *path)
{
	char dir[256];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = 0;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		fprintf(stderr, "ncnat: mkdir %s: %s\n", dir, strerror(errno));
}

/* The packet loop's hook: answer the control socket between bursts. */
static void ctl_hook(void *arg)
{
	int rc = nat_ctl_poll(arg);

	(void)rc; /* requests answered */
}

static int parse_u16(const char *s, uint16_t *v)
{
	char *end;
	unsigned long x = strtoul(s, &end, 10);

	if (!*s || *end || x > 65535)
		return -EINVAL;
	*v = (uint16_t)x;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"inside-port", required_argument, NULL, 'i'},
		{"outside-port", required_argument, NULL, 'o'},
		{"workers", required_argument, NULL, 'w'},
		{"log", required_argument, NULL, 'l'},
		{"idle-exit", required_argument, NULL, 'x'},
		{"check", no_argument, NULL, 'k'},
		{"ctl", required_argument, NULL, 's'},
		{"no-ctl", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct nat_workers_config wc;
	struct nat_workers *workers = NULL;
	const struct nat_loop_stats *loops[NAT_SHARD_MAX];
	struct nat_loop_stats sum;
	struct nat_ctl_backend be;
	struct nat_ctl_backend_ctx be_ctx;
	struct nat_ctl *ctl = NULL;
	const char *ctl_path = NAT_CTL_DEFAULT_PATH;
	bool ctl_on = true, ctl_given = false;
	struct nat_config *cfg = NULL;
	struct nat_pipeline *pipes[NAT_SHARD_MAX] = {NULL};
	uint16_t n_workers = 0;
	unsigned nw;
	struct rte_mempool *pool;
	const char *cfg_path = NULL, *log_path = NULL;
	FILE *logf = stdout;
	uint16_t ports[2] = {0, 1}, idle = 0;
	bool check_only = false;
	char err[512];
	int n, opt, rc, i, ret = 1;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "ncnat: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfg_path = optarg; break;
		case 'i': rc = parse_u16(optarg, &ports[NAT_SIDE_INSIDE]); goto num;
		case 'o': rc = parse_u16(optarg, &ports[NAT_SIDE_OUTSIDE]); goto num;
		case 'x': rc = parse_u16(optarg, &idle); goto num;
		case 'w':
			rc = parse_u16(optarg, &n_workers);
			if (rc == 0 && (n_workers == 0 || n_workers > NAT_SHARD_MAX))
				rc = -ERANGE;
			goto num;
		case 'l': log_path = optarg; break;
		case 'k': check_only = true; break;
		case 's': ctl_path = optarg; ctl_given = true; ctl_on = true; break;
		case 'n': ctl_on = false; break;
		default: usage(argv[0]); goto out;
		}
		continue;
num:
		if (rc) {
			fprintf(stderr, "ncnat: bad number '%s'\n", optarg);
			goto out;
		}
	}
	if (!cfg_path || optind != argc) {
		usage(argv[0]);
		goto out;
	}
	rc = nat_config_parse_file(cfg_path, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s\n", err[0] ? err : strerror(-rc));
		goto out;
	}
	if (check_only) {
		printf("%s: ok (%u rules, %u pool addresses)\n", cfg_path, cfg->n_rules,
		       cfg->pool_addrs);
		ret = 0;
		goto out;
	}
	if (log_path) {
		logf = fopen(log_path, "a");
		if (!logf) {
			fprintf(stderr, "ncnat: %s: %s\n", log_path, strerror(errno));
			goto out;
		}
		setvbuf(logf, NULL, _IOLBF, 0);
	}
	nw = n_workers ? n_workers : rte_lcore_count();
	if (nw > NAT_SHARD_MAX)
		nw = NAT_SHARD_MAX;
	if (rte_lcore_count() < nw) {
		fprintf(stderr, "ncnat: --workers %u needs %u lcores, EAL has %u (-l)\n", nw, nw,
			rte_lcore_count());
		goto out;
	}
	for (i = 0; i < (int)nw; i++) {
		rc = nat_pipeline_create_shard(cfg, logf, (unsigned)i, nw, &pipes[i]);
		if (rc == -ERANGE) {
			fprintf(stderr, "ncnat: %s: %u workers need at least %u port blocks in 'ports' (have %u)\n",
				cfg_path, nw, nw,
				((unsigned)cfg->port_hi - cfg->port_lo + 1) / (cfg->port_block ? cfg->port_block : 1));
			goto out;
		}
		if (rc) {
			fprintf(stderr, "ncnat: cannot build the NAT: %s\n", strerror(-rc));
			goto out;
		}
	}
	if (ports[0] == ports[1] || !rte_eth_dev_is_valid_port(ports[0]) ||
	    !rte_eth_dev_is_valid_port(ports[1])) {
		fprintf(stderr, "ncnat: need two distinct ports (have %u)\n",
			rte_eth_dev_count_avail());
		goto out;
	}
	/* per worker: two RX rings of 1024, its TX, its inboxes, a turn */
	pool = rte_pktmbuf_pool_create("ncnat_mbufs", 8191 + (nw - 1) * 12288, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!pool) {
		fprintf(stderr, "ncnat: mbuf pool: %s\n", rte_strerror(rte_errno));
		goto out;
	}
	for (i = 0; i < 2; i++) {
		rc = nat_port_setup(ports[i], pool, nw);
		if (rc) {
			fprintf(stderr, "ncnat: port %u: %s\n", ports[i],
				rc == -ENOTSUP ? "fewer queues than workers (af_packet: qpairs=N)"
					       : strerror(-rc));
			goto out;
		}
	}
	memset(&wc, 0, sizeof(wc));
	wc.port[NAT_SIDE_INSIDE] = ports[NAT_SIDE_INSIDE];
	wc.port[NAT_SIDE_OUTSIDE] = ports[NAT_SIDE_OUTSIDE];
	wc.n = nw;
	wc.pipes = pipes;
	wc.pool = pool;
	wc.idle_exit_ms = idle;
	wc.quit = &quit;
	rc = nat_workers_create(&wc, &workers);
	if (rc) {
		fprintf(stderr, "ncnat: workers: %s\n", strerror(-rc));
		for (i = 0; i < 2; i++)
			nat_port_close(ports[i]);
		goto out;
	}
	for (i = 0; i < (int)nw; i++)
		loops[i] = nat_workers_stats(workers, (unsigned)i);
	rc = nat_ctl_backend_init_multi(&be, &be_ctx, pipes, nw, loops, nat_loop_clock,
					nat_workers_quiesce, workers);
	if (rc) { /* cannot happen: checked above */
		for (i = 0; i < 2; i++)
			nat_port_close(ports[i]);
		goto out;
	}
	if (ctl_on) {
		if (!ctl_given)
			make_parent(ctl_path);
		rc = nat_ctl_create(ctl_path, &be, &ctl);
		if (rc && ctl_given) {
			fprintf(stderr, "ncnat: control socket %s: %s\n", ctl_path,
				rc == -EADDRINUSE ? "another ncnat answers there" : strerror(-rc));
			for (i = 0; i < 2; i++)
				nat_port_close(ports[i]);
			goto out;
		}
		if (rc) /* the default path: go on without (offline runs, no /run) */
			fprintf(stderr, "ncnat: no control socket at %s: %s\n", ctl_path,
				rc == -EADDRINUSE ? "another ncnat answers there" : strerror(-rc));
	}
	rc = nat_telemetry_start(&be);
	if (rc)
		fprintf(stderr, "ncnat: telemetry: %s\n", strerror(-rc));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (ctl)
		nat_workers_set_hook(workers, ctl_hook, ctl, 0);
	rc = nat_workers_run(workers);
	nat_telemetry_stop();
	nat_ctl_free(ctl);
	ctl = NULL;
	for (i = 0; i < 2; i++)
		nat_port_close(ports[i]);
	if (rc) {
		fprintf(stderr, "ncnat: loop: %s\n", strerror(-rc));
		goto out;
	}
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < (int)nw; i++) {
		const struct nat_loop_stats *l = nat_workers_stats(workers, (unsigned)i);
		int j;

		for (j = 0; j < 2; j++) {
			sum.rx[j] += l->rx[j];
			sum.tx[j] += l->tx[j];
			sum.tx_drop[j] += l->tx_drop[j];
		}
		sum.handoff_out += l->handoff_out;
		sum.handoff_drop += l->handoff_drop;
	}
	fprintf(stderr, "ncnat: rx inside %lu outside %lu, tx inside %lu outside %lu, tx drops %lu/%lu\n",
		(unsigned long)sum.rx[0], (unsigned long)sum.rx[1], (unsigned long)sum.tx[0],
		(unsigned long)sum.tx[1], (unsigned long)sum.tx_drop[0], (unsigned long)sum.tx_drop[1]);
	if (nw > 1)
		fprintf(stderr, "ncnat: %u workers, %lu frames handed between them, %lu refused\n",
			nw, (unsigned long)sum.handoff_out, (unsigned long)sum.handoff_drop);
	for (i = 0; i < NAT_CNT_COUNT; i++) {
		uint64_t v = 0;
		unsigned j;

		for (j = 0; j < nw; j++)
			v += nat_pipeline_counters(pipes[j])->v[i];

		if (v)
			fprintf(stderr, "ncnat: %-28s %lu\n", nat_counter_name(i), (unsigned long)v);
	}
	ret = 0;
out:
	nat_workers_free(workers);
	for (i = 0; i < NAT_SHARD_MAX; i++)
		nat_pipeline_free(pipes[i]);
	nat_config_free(cfg);
	if (logf && logf != stdout)
		fclose(logf);
	rte_eal_cleanup();
	return ret;
}
