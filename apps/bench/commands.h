/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCBENCH_COMMANDS_H
#define NCBENCH_COMMANDS_H
/*
 * ncbench subcommands. Each takes argc/argv starting at the subcommand name
 * and returns a process exit status (0 ok, 1 runtime failure, 2 usage).
 * Files that implement a command are listed in apps/bench/meson.build; a
 * command whose file is not built is reported as unavailable.
 */
int ncbench_lookup(int argc, char **argv);  /* bench_lookup.c */
int ncbench_update(int argc, char **argv);  /* bench_update.c */
int ncbench_match(int argc, char **argv);   /* bench_match.c */
int ncbench_gen(int argc, char **argv);     /* gen.c */
int ncbench_plot(int argc, char **argv);    /* plot.c */
int ncbench_ring(int argc, char **argv);    /* bench_ring.c (lib/netchannel ring) */
int ncbench_flow(int argc, char **argv);    /* bench_flow.c (lib/netchannel flow table) */
int ncbench_replay(int argc, char **argv);  /* bench_replay.c (ncreplay vs tcpdump) */
int ncbench_nat(int argc, char **argv);     /* bench_nat.c (apps/nat pipeline vs nftables) */
#endif
