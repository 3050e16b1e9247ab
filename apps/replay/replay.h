/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCREPLAY_REPLAY_H
#define NCREPLAY_REPLAY_H
/*
 * replay_core — replay pcap/pcapng captures through lib/classify
 * ===============================================================
 *
 * What
 * ----
 * The engine behind ncreplay (apps/replay/main.c), `ncbench replay` and the
 * fuzz_capture harness.  A struct replay holds a rule set loaded into a
 * classifier, the run's counters and the optional outputs (per-packet
 * verdicts as CSV or JSON, one pcap per rule, a pcap of unmatched packets).
 * replay_file() / replay_fp() / replay_buffer() read one capture, parse
 * every packet with nc_parse() and classify it; several captures may be fed
 * to one struct replay and the counters add up.
 *
 * Per packet
 * ----------
 * 1. read: libpcap opens every capture; the records of a classic pcap file
 *    in a regular file or in memory are then walked by a built-in reader
 *    (pcapfile.c: no copy, no call per packet) up to the first record that
 *    is not plain, and pcap_next_ex() reads everything else — pcapng,
 *    pipes, old format versions, truncated or corrupt records — so the
 *    results and the error messages are libpcap's either way
 *    (cfg.libpcap_only reads everything with pcap_next_ex; the tests and
 *    fuzz_capture compare the two).  The frame number counts every packet
 *    read in the run (1-based, continuing across captures: for one capture
 *    it is Wireshark's frame number);
 * 2. the BPF prefilter (compiled per capture for its link type, run by
 *    pcap_offline_filter; a program whose loads are all at fixed offsets
 *    has its verdicts remembered by the bytes it reads, bpfcache.h): a
 *    rejected packet only counts as "filtered";
 * 3. nc_parse() with the capture's link type (nc_link_from_dlt);
 * 4. a packet without an IP key (nc_pkt_has_key() false: not IP, truncated
 *    before the addresses...) is "unparsable" and counted per parse reason;
 *    a packet with addresses but no transport header (later fragments,
 *    protocols the parser does not know, a truncated TCP/UDP header) is
 *    classified with ports 0 and also counted per reason ("no ports");
 * 5. the key is looked up in an exact-match flow cache (flowcache.h); the
 *    keys that missed, collected over a window of up to 1024 packets (so
 *    that even with a high hit rate the classifier gets full bursts: with
 *    256, a 7% miss rate gave it 17 keys a call and cost 15% more time),
 *    go to cls_lookup_bulk() 32 at a time;
 * 6. a match adds packets, wire bytes (pcap len, not caplen) and first/last
 *    time stamps to its rule; no match counts as "unmatched".
 *
 * Rule numbers
 * ------------
 * Every rule is reported by its 1-based position in the rule file (the
 * numbering `ncbench match` prints), 0 meaning none.  For ClassBench files
 * and native files without explicit ids this equals the classifier id; for a
 * native file with explicit ids the position is carried in the rule's udata,
 * so no id map is needed.
 *
 * Errors
 * ------
 * Functions return 0 or a negative errno value and write a one-line message
 * into the caller's buffer.  A capture that is truncated or corrupt stops
 * with -EIO and "FILE: byte OFFSET: <libpcap's message>", OFFSET being where
 * the record that could not be read starts (the end of the last good one);
 * everything read before it is counted.  Per-packet problems are counters,
 * never errors.
 *
 * Thread safety: a struct replay is used by one thread at a time.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "classify.h"
#include "classify_parse.h"
#include "nc_parse.h"

#define REPLAY_MUST_CHECK __attribute__((warn_unused_result))

/** Largest window: packets read, parsed and cache-probed before the misses
 *  among them are classified together.  Misses go to cls_lookup_bulk() in
 *  chunks of REPLAY_LOOKUP_CHUNK. */
#define REPLAY_BURST_MAX 1024
#define REPLAY_LOOKUP_CHUNK 32
/** Default bound on the per-rule pcap files open at once (see split.c). */
#define REPLAY_SPLIT_MAX_OPEN 1024

enum replay_vfmt {
	REPLAY_VERDICTS_CSV = 0,
	REPLAY_VERDICTS_JSON,
};

struct replay_cfg {
	const char *rules_path;     /**< rule file; or rules_text when NULL */
	const char *rules_text;     /**< rules in memory (tests, fuzzing) */
	size_t rules_len;
	enum cls_format rules_fmt;  /**< CLS_FMT_AUTO by default */
	enum cls_backend backend;   /**< CLS_BACKEND_TRIE by default */
	const char *filter;         /**< BPF expression or NULL */
	const char *verdicts_path;  /**< per-packet verdicts, "-" = stdout, or NULL */
	enum replay_vfmt verdicts_fmt;
	const char *split_dir;      /**< one pcap per rule in this directory, or NULL */
	unsigned split_max_open;    /**< 0: REPLAY_SPLIT_MAX_OPEN */
	const char *unmatched_path; /**< pcap of the packets no rule matched (unparsable too) */
	unsigned burst;             /**< window, 1..REPLAY_BURST_MAX; 0: REPLAY_BURST_MAX */
	bool no_flow_cache;         /**< classify every packet (flowcache.h) */
	unsigned flow_cache_bits;   /**< 2^bits entries, 4..24; 0: 16 */
	bool progress;              /**< progress line on stderr (caller checks isatty) */
	bool libpcap_only;          /**< read every record with pcap_next_ex() and run the
				         filter on every packet: the reference for the
				         built-in reader and the filter memo */
	unsigned map_size;          /**< bytes of a file the built-in reader maps at a time
				         (0: 64 MiB; raised to 16 + snaplen + a page;
				         small values: tests, fuzzing) */
};

/** What happened to one rule (index: 1-based position; [0] unused). */
struct replay_rule_stats {
	uint64_t packets;
	uint64_t bytes;      /**< wire length (pcap len) */
	uint64_t first_us;   /**< time stamp of the first hit, microseconds since the epoch */
	uint64_t last_us;
};

/** Counters of a run (all captures so far). */
struct replay_totals {
	uint64_t captures;      /**< captures opened */
	uint64_t packets;       /**< records read */
	uint64_t bytes;         /**< their wire length */
	uint64_t filtered;      /**< rejected by the BPF prefilter */
	uint64_t classified;    /**< had a key and were looked up */
	uint64_t matched;
	uint64_t unmatched;     /**< classified, no rule */
	uint64_t unparsable;    /**< no key */
	uint64_t no_ports;      /**< classified with ports 0 (no transport header) */
	uint64_t status[NC_PARSE_STATUS_COUNT]; /**< by parse status, filtered excluded */
	uint64_t unparsable_by[NC_PARSE_STATUS_COUNT]; /**< the unparsable ones by status */
	uint64_t cache_hits;    /**< answered by the flow cache */
	uint64_t read_builtin;  /**< records read by the built-in pcap reader (rest: libpcap) */
	uint64_t split_written, split_skipped;   /**< skipped: link type differs */
	uint64_t unmatched_written, unmatched_skipped;
	double seconds;         /**< wall time spent reading and classifying */
};

struct replay;

/**
 * Load the rules, build the classifier (cfg->backend) and open the outputs.
 * @return 0 and *out; -EINVAL (bad configuration or rule file, message in
 *   err), -errno from files, -ENOMEM.
 */
int replay_create(const struct replay_cfg *cfg, struct replay **out, char *err,
		  size_t errlen) REPLAY_MUST_CHECK;

/**
 * Replay one capture file; "-" reads standard input.
 * @return 0; -EIO for a truncated or corrupt capture (what was read is
 *   counted); -ENOTSUP for a link type the parser does not know; -EINVAL for
 *   a filter that does not compile; -errno for open errors.
 */
int replay_file(struct replay *r, const char *path, char *err, size_t errlen) REPLAY_MUST_CHECK;

/**
 * Replay a capture from an open stream (a file, a pipe, fmemopen()).  The
 * stream is closed in every case.  name is used in messages.  A classic
 * pcap file in a regular file whose stream starts at offset 0 is read by
 * the built-in reader through the descriptor (mmap); libpcap reads the
 * header, and the rest from where the built-in reader stops, through the
 * stream.
 * @return as replay_file().
 */
int replay_fp(struct replay *r, FILE *fp, const char *name, char *err,
	      size_t errlen) REPLAY_MUST_CHECK;

/**
 * Replay a capture held in memory (size bytes at data, which must stay
 * valid during the call; not modified).  A classic pcap capture is walked
 * in place by the built-in reader; libpcap reads the header and anything
 * else through fmemopen().  name is used in messages.
 * @return as replay_file(); -EINVAL for bad arguments.
 */
int replay_buffer(struct replay *r, const void *data, size_t size, const char *name, char *err,
		  size_t errlen) REPLAY_MUST_CHECK;

/**
 * Flush and close the outputs (verdicts, split files, unmatched).  Called by
 * replay_free() too; call it first to see write errors.
 * @return 0 or -EIO (message in err).
 */
int replay_finish(struct replay *r, char *err, size_t errlen) REPLAY_MUST_CHECK;

/** NULL-safe; finishes the outputs if replay_finish() was not called. */
void replay_free(struct replay *r);

const struct replay_totals *replay_totals(const struct replay *r);

/** Per-rule statistics: array of replay_rule_count(r) + 1 entries, [0] unused. */
const struct replay_rule_stats *replay_rule_stats(const struct replay *r);
size_t replay_rule_count(const struct replay *r);
/** The rules in file order (rules[pos - 1]). */
const struct cls_ruleset *replay_ruleset(const struct replay *r);

/**
 * Print the summary: totals, reasons, the top rules by packets (top 0: all
 * rules with hits), Mpps.
 */
void replay_report(const struct replay *r, FILE *f, unsigned top);

#endif
