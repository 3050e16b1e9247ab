/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCREPLAY_REPLAY_INT_H
#define NCREPLAY_REPLAY_INT_H
/* Internals of replay_core: the run context and the output writers. */
#include <pcap/pcap.h>

#include "flowcache.h"
#include "replay.h"

/* ---- verdicts.c: per-packet verdicts as CSV or JSON --------------------- */

struct verdicts;

/** Open path ("-" = stdout) and write the CSV header / JSON opening. */
int verdicts_open(const char *path, enum replay_vfmt fmt, struct verdicts **out, char *err,
		  size_t errlen);
/** One row: frame number, the key (if has_key), parse status, rule position (0: none). */
void verdicts_write(struct verdicts *v, uint64_t frame, const struct nc_pkt_info *pi,
		    bool has_key, uint32_t rule);
/** Close (JSON: the closing bracket); NULL-safe. @return 0 or -EIO. */
int verdicts_close(struct verdicts *v, char *err, size_t errlen);

/* ---- dump.c: pcap writers (one file; one file per rule) ----------------- */

struct dumpfile;

/**
 * A pcap output opened lazily at the first packet with that packet's link
 * type; packets of another link type are refused (return 1) — a pcap file
 * has one link type.  reopen: append to the existing file instead of
 * truncating it (split.c, after closing it to bound open files).
 */
int dumpfile_write(struct dumpfile **d, const char *path, int dlt,
		   const struct pcap_pkthdr *h, const uint8_t *data, char *err, size_t errlen);
/** Close the stream but remember the file (the next write appends). */
int dumpfile_suspend(struct dumpfile *d, char *err, size_t errlen);
bool dumpfile_is_open(const struct dumpfile *d);
int dumpfile_close(struct dumpfile *d, char *err, size_t errlen);

struct split;

/** Per-rule pcaps DIR/rule-<position>.pcap, at most max_open open at once. */
int split_create(const char *dir, size_t n_rules, unsigned max_open, struct split **out,
		 char *err, size_t errlen);
/** @return 0 written, 1 refused (link type differs), -EIO (message in err). */
int split_write(struct split *s, uint32_t rule, int dlt, const struct pcap_pkthdr *h,
		const uint8_t *data, char *err, size_t errlen);
int split_close(struct split *s, char *err, size_t errlen);

/* ---- the run context (replay.c, reader.c) ------------------------------- */

struct replay {
	struct replay_cfg cfg;
	struct cls_ruleset *rs;
	struct cls *cls;
	struct replay_rule_stats *rule;  /* [0..n] */
	struct replay_totals t;
	struct flowcache fc;             /* fc.e NULL: disabled */
	struct verdicts *verdicts;
	struct split *split;
	struct dumpfile *unmatched;
	bool need_data;                  /* outputs need the packet bytes after lookup */
	bool finished;
	uint64_t frame;
	unsigned burst;
};

#endif
