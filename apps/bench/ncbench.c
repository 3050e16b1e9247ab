/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncbench: netchannel benchmarks, each against a peer measured in the same
 * run on the same core.  main() only dispatches; each command parses its own
 * options (see commands.h) and returns 0, 1 (failure) or 2 (usage).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "commands.h"

typedef int (*command_fn)(int argc, char **argv);

static const struct {
	const char *name;
	command_fn fn; /* NULL: its source file was not built */
	const char *what;
} commands[] = {
	{ "lookup", ncbench_lookup, "lookups/s: lib/classify vs rte_acl (each algorithm) vs linear" },
	{ "update", ncbench_update, "inserts/deletes per second, with readers, vs rte_acl rebuilds" },
	{ "match", ncbench_match, "matching rule for every trace line (trie, linear, rte_acl)" },
	{ "gen", ncbench_gen, "ClassBench-like rule set generator (acl, fw, ipc)" },
	{ "plot", ncbench_plot, "SVG of lookups/s by rule count, ours vs rte_acl" },
#ifdef HAVE_BENCH_RING
	{ "ring", ncbench_ring, "completion ring events/s vs eventfd+epoll" },
#else
	{ "ring", NULL, "completion ring events/s vs eventfd+epoll" },
#endif
#ifdef HAVE_BENCH_FLOW
	{ "flow", ncbench_flow, "flow table lookups and inserts" },
#else
	{ "flow", NULL, "flow table lookups and inserts" },
#endif
#ifdef HAVE_BENCH_REPLAY
	{ "replay", ncbench_replay, "ncreplay vs tcpdump" },
#else
	{ "replay", NULL, "ncreplay vs tcpdump" },
#endif
#ifdef HAVE_BENCH_NAT
	{ "nat", ncbench_nat, "NAT44 packets/s and new sessions/s vs nftables masquerade" },
#else
	{ "nat", NULL, "NAT44 packets/s and new sessions/s vs nftables masquerade" },
#endif
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: ncbench COMMAND [options]   (ncbench COMMAND --help for its options)\n"
		   "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-7s %s%s\n", commands[i].name, commands[i].what,
			commands[i].fn ? "" : " [not built]");
	fprintf(f, "rte_acl peer: %s\n",
#ifdef HAVE_RTE_ACL
		"built"
#else
		"not built (DPDK was not found at build time)"
#endif
	);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return BENCH_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return BENCH_OK;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		if (!commands[i].fn) {
			fprintf(stderr, "ncbench: '%s' is not built\n", commands[i].name);
			return BENCH_FAIL;
		}
		if (!isatty(STDOUT_FILENO)) /* match prints a line per key; a terminal sees progress */
			setvbuf(stdout, NULL, _IOFBF, 1 << 16);
		return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "ncbench: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return BENCH_USAGE;
}
