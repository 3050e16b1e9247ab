/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef NCREPLAY_REPLAY_INT_H
#define NCREPLAY_REPLAY_INT_H
/* Internals of replay_core: the run context and the output writers. */
#include <pcap/pcap.h>

#include "bpfcache.h"
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

/* ---- pcapfile.c: the built-in reader of classic pcap files -------------- */

/*
 * libpcap opens every capture and checks its file header.  When the capture
 * is a classic pcap file (magic a1b2c3d4 or a1b23c4d, either byte order,
 * version 2.4) whose bytes are in memory (replay_buffer) or in a regular
 * file starting at its offset 0, reader.c walks the records itself: a
 * record is taken as libpcap would return it (time stamps converted to
 * microseconds the way libpcap does) when its header is whole, its caplen
 * is at most the file's snaplen and its bytes are all there.  At the first
 * record that is not like that (the end of the file, a truncated or corrupt
 * record, one libpcap would cut to the snaplen) the stream is positioned at
 * that record and pcap_next_ex() reads the rest: what libpcap does with it,
 * error messages included, is unchanged.
 *
 * A file is mapped (mmap, read-only, MAP_POPULATE) PCAPFILE_MAP bytes at a
 * time; the next mapping starts at the page of the first record not taken,
 * so a record is always contiguous.  No copy and no
 * system call per block: against pread() into a 256 KiB buffer this
 * measured 12% faster end to end.  A file that cannot be mapped is read by
 * libpcap.  As with any mapped file, a capture truncated by another process
 * while it is being read ends the process with SIGBUS (so did glibc's
 * mmap'd stdio, fopen(..., "rbm"), that fed libpcap before).
 */
#define PCAPFILE_MAP ((size_t)64 << 20)

struct pcapfile {
	const uint8_t *p, *end; /* unread bytes [p, end) */
	int64_t off;            /* offset of p in the capture */
	int fd;                 /* -1: the capture is in memory */
	int64_t size;           /* of the file when it was opened */
	uint8_t *map;           /* the part of the file mapped, or NULL */
	size_t map_len;
	size_t map_size;        /* bytes per mapping, a multiple of the page size */
	size_t page;
	bool swapped;           /* records are in the other byte order */
	bool nsec;              /* time stamps in nanoseconds */
	bool eof;               /* no mapping after this one */
	uint32_t snap;          /* a record with a larger caplen goes to libpcap */
};

/**
 * Decide whether the capture libpcap opened as p can be walked here, and
 * set up the source: mem/len (the whole capture) or fd (a regular file,
 * mapped map_size bytes at a time, at least 16 + snaplen + a page; 0:
 * PCAPFILE_MAP).
 * @return 0 ready; 1 not eligible (read everything with libpcap).
 */
int pcapfile_open(struct pcapfile *pf, pcap_t *p, int fd, const uint8_t *mem, size_t len,
		  size_t map_size);
/**
 * Map the next part of the file, from the page of the first unread byte
 * (pointers into the old mapping are invalid afterwards).
 * @return 1 more bytes; 0 none (end of the file, capture in memory, mmap
 *   failed: libpcap reads on from pf->off).
 */
int pcapfile_refill(struct pcapfile *pf);
void pcapfile_close(struct pcapfile *pf);

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
