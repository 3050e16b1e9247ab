/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_core: the capture loop.
 *
 * Packets are read with pcap_next_ex(), prefiltered, parsed at once,
 * probed in the flow cache (the entry is prefetched at parse time and
 * compared at flush time) and collected into a window of up to 256; the
 * keys of the window that missed go to cls_lookup_bulk() 32 at a time, then
 * every packet of the window is accounted for and written to the outputs.  pcap_next_ex() hands out a buffer it reuses on the next call, so
 * when an output needs the bytes after the lookup (split, unmatched) they
 * are copied into the burst's slots; otherwise nothing is copied.
 *
 * Byte offsets for error messages: for pcap files the end of the last good
 * record is summed (24-byte file header, then 16 + caplen per record; a
 * record whose caplen exceeds the file's snaplen is cut by libpcap, which
 * makes the sum undercount — rare, and only the message is affected); for
 * pcapng it is ftell() of the stream after each record.  A pipe cannot tell
 * its position, so standard input is wrapped in a stream that counts what it
 * reads (fopencookie), and ftell() works there too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "replay_int.h"

struct slot {
	struct pcap_pkthdr hdr;
	uint64_t frame;
	struct nc_pkt_info pi;
	uint64_t w[5];    /* flow cache key (flowcache.h) */
	struct fc_entry *ce; /* its flow cache set */
	uint8_t *buf;     /* copy of the packet when r->need_data */
	size_t cap;
};

struct capture {
	const char *name;
	FILE *fp;
	pcap_t *p;
	int dlt;
	int out_dlt;        /* link type for the pcap outputs */
	enum nc_link link;
	bool pcapng;
	struct bpf_program prog;
	bool have_prog;
	int64_t good_end;   /* offset where the next record starts */
	int64_t size;       /* file size, -1 if unknown (progress) */
	struct slot slot[REPLAY_BURST_MAX];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- a counting stream over a pipe -------------------------------------- */

struct counted {
	int fd;
	int64_t pos;
};

static ssize_t counted_read(void *cookie, char *buf, size_t size)
{
	struct counted *c = cookie;
	ssize_t n;

	do
		n = read(c->fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		c->pos += n;
	return n;
}

static int counted_seek(void *cookie, off64_t *off, int whence)
{
	struct counted *c = cookie;

	if (whence != SEEK_CUR || *off != 0) /* only ftell() */
		return -1;
	*off = c->pos;
	return 0;
}

static int counted_close(void *cookie)
{
	free(cookie);
	return 0; /* the descriptor (stdin) stays open */
}

static FILE *open_stdin(void)
{
	cookie_io_functions_t io = { .read = counted_read, .seek = counted_seek,
				     .close = counted_close };
	struct counted *c;
	FILE *fp;

	if (lseek(STDIN_FILENO, 0, SEEK_CUR) >= 0) /* a file: ftell works as is */
		return fdopen(dup(STDIN_FILENO), "rb");
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = STDIN_FILENO;
	fp = fopencookie(c, "rb", io);
	if (!fp)
		free(c);
	return fp;
}

/* ---- per burst ----------------------------------------------------------- */

static inline void account(struct replay *r, struct capture *cap, struct slot *s, uint32_t pos,
			   bool has_key, char *err, size_t errlen, int *werr)
{
	struct replay_totals *t = &r->t;

	t->status[s->pi.status]++;
	if (!has_key) {
		t->unparsable++;
		t->unparsable_by[s->pi.status]++;
	} else {
		t->classified++;
		if (!(s->pi.layers & NC_LAYER_L4))
			t->no_ports++;
		if (pos) {
			struct replay_rule_stats *rs;
			uint64_t ts = (uint64_t)s->hdr.ts.tv_sec * 1000000u + (uint64_t)s->hdr.ts.tv_usec;

			rs = &r->rule[pos];
			if (!rs->packets++)
				rs->first_us = ts;
			rs->last_us = ts;
			rs->bytes += s->hdr.len;
			t->matched++;
		} else {
			t->unmatched++;
		}
	}
	if (r->verdicts)
		verdicts_write(r->verdicts, s->frame, &s->pi, has_key, pos);
	if (!r->need_data || *werr)
		return;
	if (pos && r->split) {
		int rc = split_write(r->split, pos, cap->out_dlt, &s->hdr, s->buf, err, errlen);

		if (rc < 0)
			*werr = rc;
		else if (rc)
			t->split_skipped++;
		else
			t->split_written++;
	} else if (!pos && r->cfg.unmatched_path) {
		int rc = dumpfile_write(&r->unmatched, r->cfg.unmatched_path, cap->out_dlt, &s->hdr,
					s->buf, err, errlen);

		if (rc < 0)
			*werr = rc;
		else if (rc)
			t->unmatched_skipped++;
		else
			t->unmatched_written++;
	}
}

static int flush_burst(struct replay *r, struct capture *cap, unsigned n, char *err,
		       size_t errlen)
{
	const struct cls_key *keys[REPLAY_BURST_MAX];
	struct cls_match m[REPLAY_BURST_MAX];
	uint32_t pos[REPLAY_BURST_MAX];
	uint16_t miss[REPLAY_BURST_MAX];
	bool fc = r->fc.e != NULL;
	unsigned nk = 0;
	int werr = 0;

	/* flow cache first; what it does not know goes to the classifier */
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = &cap->slot[i];

		pos[i] = 0;
		if (!nc_pkt_has_key(&s->pi))
			continue;
		if (fc && fc_find(s->ce, s->w, &pos[i])) {
			r->t.cache_hits++;
			__builtin_prefetch(&r->rule[pos[i]], 1); /* counted below */
			continue;
		}
		miss[nk] = (uint16_t)i;
		keys[nk++] = &s->pi.key;
	}
	if (nk) {
		for (unsigned j = 0; j < nk; j += REPLAY_LOOKUP_CHUNK)
			cls_lookup_bulk(r->cls, keys + j,
					nk - j < REPLAY_LOOKUP_CHUNK ? nk - j : REPLAY_LOOKUP_CHUNK,
					m + j);
		for (unsigned j = 0; j < nk; j++) {
			struct slot *s = &cap->slot[miss[j]];

			pos[miss[j]] = m[j].id == CLS_NO_MATCH ? 0 : (uint32_t)(uintptr_t)m[j].udata;
			__builtin_prefetch(&r->rule[pos[miss[j]]], 1);
			if (fc)
				fc_fill(s->ce, s->w, pos[miss[j]]);
		}
	}
	for (unsigned i = 0; i < n; i++)
		account(r, cap, &cap->slot[i], pos[i], nc_pkt_has_key(&cap->slot[i].pi), err,
			errlen, &werr);
	return werr;
}

static void progress(const struct replay *r, const struct capture *cap, uint64_t start_pkts,
		     double t0, bool last)
{
	double el = now_s() - t0;
	uint64_t n = r->t.packets - start_pkts;
	int64_t at = cap->good_end;

	if (cap->size > 0 && at >= 0)
		fprintf(stderr, "\r%s: %" PRIu64 " packets, %.0f%%, %.2f Mpps   ", cap->name, n,
			100.0 * (double)at / (double)cap->size, el > 0 ? n / el / 1e6 : 0.0);
	else
		fprintf(stderr, "\r%s: %" PRIu64 " packets, %.2f Mpps   ", cap->name, n,
			el > 0 ? n / el / 1e6 : 0.0);
	if (last)
		fputc('\n', stderr);
}

/* Read the whole capture; -EIO with the message on a read error. */
static int run(struct replay *r, struct capture *cap, char *err, size_t errlen)
{
	const unsigned burst = r->burst;
	const uint64_t start_pkts = r->t.packets;
	double t0 = now_s(), next_progress = t0 + 0.5;
	unsigned bursts = 0;
	bool shown = false;
	int rc = 0, prc = 1;

	while (prc == 1) {
		unsigned n = 0;

		while (n < burst) {
			struct pcap_pkthdr *h;
			const u_char *d;
			struct slot *s;

			prc = pcap_next_ex(cap->p, &h, &d);
			if (prc != 1)
				break;
			if (cap->pcapng)
				cap->good_end = ftell(cap->fp);
			else
				cap->good_end += 16 + (int64_t)h->caplen;
			r->t.packets++;
			r->t.bytes += h->len;
			r->frame++;
			if (cap->have_prog && !pcap_offline_filter(&cap->prog, h, d)) {
				r->t.filtered++;
				continue;
			}
			s = &cap->slot[n++];
			s->hdr = *h;
			s->frame = r->frame;
			if (nc_parse(d, h->caplen, 0, cap->link, &s->pi)) { /* cannot: args valid */
				s->pi.layers = 0;
				s->pi.status = NC_PARSE_TRUNC_L2;
			}
			if (r->fc.e && nc_pkt_has_key(&s->pi)) {
				fc_pack(&s->pi.key, s->w);
				s->ce = fc_slot(&r->fc, fc_hash(s->w)); /* prefetches */
			}
			if (r->need_data) {
				if (s->cap < h->caplen) {
					uint8_t *b = realloc(s->buf, h->caplen);

					if (!b) {
						snprintf(err, errlen, "out of memory");
						return -ENOMEM;
					}
					s->buf = b;
					s->cap = h->caplen;
				}
				memcpy(s->buf, d, h->caplen);
			}
		}
		if (n)
			rc = flush_burst(r, cap, n, err, errlen);
		if (rc)
			return rc;
		if (r->cfg.progress && (++bursts & 1023) == 0 && now_s() >= next_progress) {
			progress(r, cap, start_pkts, t0, false);
			next_progress = now_s() + 0.5;
			shown = true;
		}
	}
	if (shown)
		progress(r, cap, start_pkts, t0, true);
	if (prc == PCAP_ERROR) {
		snprintf(err, errlen, "%s: byte %" PRId64 ": %s", cap->name, cap->good_end,
			 pcap_geterr(cap->p));
		return -EIO;
	}
	return 0;
}

static int open_capture(struct replay *r, struct capture *cap, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct stat st;
	int rc;

	if (fstat(fileno(cap->fp), &st) == 0 && S_ISREG(st.st_mode))
		cap->size = st.st_size;
	else
		cap->size = -1;
	cap->p = pcap_fopen_offline_with_tstamp_precision(cap->fp, PCAP_TSTAMP_PRECISION_MICRO,
							  ebuf);
	if (!cap->p) {
		snprintf(err, errlen, "%s: byte 0: %s", cap->name, ebuf);
		return -EIO;
	}
	/* pcap_close() closes the stream from now on */
	cap->dlt = pcap_datalink(cap->p);
	if (nc_link_from_dlt(cap->dlt, &cap->link)) {
		const char *nm = pcap_datalink_val_to_name(cap->dlt);

		snprintf(err, errlen, "%s: link type %s (%d) is not supported (Ethernet, raw IP, "
			 "Linux cooked SLL/SLL2 are)", cap->name, nm ? nm : "?", cap->dlt);
		return -ENOTSUP;
	}
	/* Raw IP has three DLT values (12, 14 on OpenBSD, 101 in files); libpcap
	 * writes only its own, so outputs use DLT_RAW for all of them. */
	cap->out_dlt = cap->link == NC_LINK_RAW ? DLT_RAW : cap->dlt;
	/* pcapng's section header says version 1.0, pcap's file header 2.4 */
	cap->pcapng = pcap_major_version(cap->p) != 2;
	cap->good_end = cap->pcapng ? ftell(cap->fp) : 24;
	if (r->cfg.filter) {
		rc = pcap_compile(cap->p, &cap->prog, r->cfg.filter, 1, PCAP_NETMASK_UNKNOWN);
		if (rc) {
			snprintf(err, errlen, "filter '%s': %s", r->cfg.filter, pcap_geterr(cap->p));
			return -EINVAL;
		}
		cap->have_prog = true;
	}
	return 0;
}

int replay_fp(struct replay *r, FILE *fp, const char *name, char *err, size_t errlen)
{
	struct capture *cap;
	double t0;
	int rc;

	if (errlen)
		err[0] = '\0';
	if (!r || !fp || r->finished) {
		if (fp)
			fclose(fp);
		snprintf(err, errlen, "replay_fp: bad arguments");
		return -EINVAL;
	}
	cap = calloc(1, sizeof(*cap));
	if (!cap) {
		fclose(fp);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cap->fp = fp;
	cap->name = name ? name : "capture";
	r->t.captures++;
	t0 = now_s();
	rc = open_capture(r, cap, err, errlen);
	if (!rc)
		rc = run(r, cap, err, errlen);
	r->t.seconds += now_s() - t0;
	if (cap->have_prog)
		pcap_freecode(&cap->prog);
	if (cap->p)
		pcap_close(cap->p);
	else
		fclose(fp);
	for (unsigned i = 0; i < REPLAY_BURST_MAX; i++)
		free(cap->slot[i].buf);
	free(cap);
	return rc;
}

int replay_file(struct replay *r, const char *path, char *err, size_t errlen)
{
	FILE *fp;

	if (errlen)
		err[0] = '\0';
	if (!r || !path) {
		snprintf(err, errlen, "replay_file: bad arguments");
		return -EINVAL;
	}
	if (!strcmp(path, "-")) {
		fp = open_stdin();
		path = "(stdin)";
	} else {
		fp = fopen(path, "rbm"); /* glibc: read through mmap, no copy into a buffer */
	}
	if (!fp) {
		int e = errno ? errno : ENOMEM;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	/* libpcap freads every record header and body separately: a large
	 * buffer turns that into one read(2) per megabyte instead of per 4 KiB */
	setvbuf(fp, NULL, _IOFBF, 1 << 20);
	return replay_fp(r, fp, path, err, errlen);
}
