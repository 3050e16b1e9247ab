/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_core: the capture loop.
 *
 * Records come from the built-in reader of classic pcap files (pcapfile.c,
 * walked here in place) or from pcap_next_ex() — the rest of a capture the
 * built-in reader stopped in, and every capture it does not take.  Each
 * packet is prefiltered (bpfcache.h), parsed at once, hashed for the flow
 * cache and collected into a window of up to 1024; the window is probed in
 * the flow cache (each set prefetched a few packets ahead); the keys of the window that
 * missed go to cls_lookup_bulk() 32 at a time, then every packet of the
 * window is accounted for and written to the outputs.  When an output needs
 * the bytes after the lookup (split, unmatched), a slot points at them: into
 * the built-in reader's mapping of the file (copied before it is replaced
 * by the next one) or at a copy, since pcap_next_ex() reuses its buffer on
 * the next call.  Otherwise nothing is copied.
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
	const uint8_t *data; /* the packet, when r->need_data */
	uint8_t *buf;     /* a copy of it (records from pcap_next_ex) */
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
	struct bpfcache bc; /* memo of the filter's verdicts */
	const uint8_t *mem; /* replay_buffer(): the capture */
	size_t mem_len;
	struct pcapfile pf;
	bool builtin;       /* pf walks the records first */
	int64_t good_end;   /* offset where the next record starts */
	int64_t size;       /* file size, -1 if unknown (progress) */
	unsigned n;         /* packets in the window */
	/* progress */
	uint64_t start_pkts;
	double t0, next_progress;
	unsigned windows;
	bool shown;
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
		int rc = split_write(r->split, pos, cap->out_dlt, &s->hdr, s->data, err, errlen);

		if (rc < 0)
			*werr = rc;
		else if (rc)
			t->split_skipped++;
		else
			t->split_written++;
	} else if (!pos && r->cfg.unmatched_path) {
		int rc = dumpfile_write(&r->unmatched, r->cfg.unmatched_path, cap->out_dlt, &s->hdr,
					s->data, err, errlen);

		if (rc < 0)
			*werr = rc;
		else if (rc)
			t->unmatched_skipped++;
		else
			t->unmatched_written++;
	}
}

/* How many packets ahead the loops over a window prefetch what a packet
 * will need (its flow cache set, its rule's counters): far enough to hide a
 * miss to L3, near enough that the line is still in L1 when used (a
 * prefetch at parse time, up to a window earlier, was not). */
#define AHEAD 16

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

		if (fc && i + AHEAD < n && nc_pkt_has_key(&cap->slot[i + AHEAD].pi)) {
			/* both entries of the set: a miss, or a flow sharing
			 * its set with a newer one, reads the second */
			__builtin_prefetch(cap->slot[i + AHEAD].ce);
			__builtin_prefetch(cap->slot[i + AHEAD].ce + 1);
		}
		pos[i] = 0;
		if (!nc_pkt_has_key(&s->pi))
			continue;
		if (fc && fc_find(s->ce, s->w, &pos[i])) {
			r->t.cache_hits++;
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
			if (fc)
				fc_fill(s->ce, s->w, pos[miss[j]]);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (i + AHEAD < n)
			__builtin_prefetch(&r->rule[pos[i + AHEAD]], 1);
		account(r, cap, &cap->slot[i], pos[i], nc_pkt_has_key(&cap->slot[i].pi), err,
			errlen, &werr);
	}
	return werr;
}

static void progress(const struct replay *r, const struct capture *cap, bool last)
{
	double el = now_s() - cap->t0;
	uint64_t n = r->t.packets - cap->start_pkts;
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

/* Classify and account for the window; now and then the progress line. */
static int flush(struct replay *r, struct capture *cap, char *err, size_t errlen)
{
	int rc = 0;

	if (cap->n)
		rc = flush_burst(r, cap, cap->n, err, errlen);
	cap->n = 0;
	if (r->cfg.progress && (++cap->windows & 1023) == 0 && now_s() >= cap->next_progress) {
		progress(r, cap, false);
		cap->next_progress = now_s() + 0.5;
		cap->shown = true;
	}
	return rc;
}

/* Copy the slot's packet into its own buffer (s->data moves there). */
static int keep_data(struct slot *s, char *err, size_t errlen)
{
	if (!s->buf || s->cap < s->hdr.caplen) {
		size_t want = s->hdr.caplen ? s->hdr.caplen : 1;
		uint8_t *b = realloc(s->buf, want);

		if (!b) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		s->buf = b;
		s->cap = want;
	}
	memmove(s->buf, s->data, s->hdr.caplen);
	s->data = s->buf;
	return 0;
}

/*
 * One record into the window (flushed when full).  copy: d is only valid
 * until the next record is read (pcap_next_ex), so an output that needs the
 * bytes later gets a copy.
 */
static inline int take(struct replay *r, struct capture *cap, const uint8_t *d, uint32_t caplen,
		       uint32_t len, time_t sec, suseconds_t usec, bool copy, char *err,
		       size_t errlen)
{
	struct slot *s;

	r->t.packets++;
	r->t.bytes += len;
	r->frame++;
	if (cap->have_prog && !bpfc_filter(&cap->bc, &cap->prog, d, caplen, len)) {
		r->t.filtered++;
		return 0;
	}
	s = &cap->slot[cap->n++];
	s->hdr.ts.tv_sec = sec;
	s->hdr.ts.tv_usec = usec;
	s->hdr.caplen = caplen;
	s->hdr.len = len;
	s->frame = r->frame;
	if (nc_parse(d, caplen, 0, cap->link, &s->pi)) { /* cannot: args valid */
		s->pi.layers = 0;
		s->pi.status = NC_PARSE_TRUNC_L2;
	}
	if (r->fc.e && nc_pkt_has_key(&s->pi)) {
		fc_pack(&s->pi.key, s->w);
		s->ce = fc_set(&r->fc, fc_hash(s->w)); /* flush_burst prefetches it */
	}
	if (r->need_data) {
		s->data = d;
		if (copy && keep_data(s, err, errlen))
			return -ENOMEM;
	}
	if (cap->n == r->burst)
		return flush(r, cap, err, errlen);
	return 0;
}

static inline uint32_t rd32(const uint8_t *p, bool swapped)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

/*
 * The built-in reader: take plain records (pcapfile.c) in place until the
 * source runs dry or a record is not plain; pf->off is then where libpcap
 * carries on.  Inlined twice, for each byte order.
 */
static inline __attribute__((always_inline)) int walk(struct replay *r, struct capture *cap,
						      const bool swapped, char *err,
						      size_t errlen)
{
	struct pcapfile *pf = &cap->pf;
	const uint32_t snap = pf->snap;
	const bool nsec = pf->nsec;
	uint64_t taken = 0;
	int rc = 0;

	for (;;) {
		const uint8_t *p = pf->p, *end = pf->end;
		bool plain = true;

		while (end - p >= 16) {
			uint32_t caplen = rd32(p + 8, swapped);
			/* libpcap reads the time stamp fields as signed 32-bit
			 * values and divides nanoseconds by 1000 */
			int32_t sec = (int32_t)rd32(p, swapped);
			int32_t frac = (int32_t)rd32(p + 4, swapped);

			if (caplen > snap) {
				plain = false; /* libpcap cuts it, or refuses it */
				break;
			}
			if ((size_t)(end - p) - 16 < caplen)
				break; /* not all here: refill */
			taken++;
			cap->good_end += 16 + (int64_t)caplen;
			rc = take(r, cap, p + 16, caplen, rd32(p + 12, swapped), (time_t)sec,
				  (suseconds_t)(nsec ? frac / 1000 : frac), false, err, errlen);
			p += 16 + caplen;
			if (rc)
				break;
		}
		pf->off += p - pf->p;
		pf->p = p;
		if (rc)
			break;
		if (!plain || pf->eof)
			break; /* libpcap reads on; the mapping stays valid */
		/* The window points into the mapping, which is about to be
		 * replaced: copy what it needs (rather than flush early, so
		 * that windows, and with them the flow cache's hits, are the
		 * same as when libpcap reads the capture). */
		for (unsigned i = 0; r->need_data && i < cap->n; i++)
			if (cap->slot[i].data != cap->slot[i].buf &&
			    (rc = keep_data(&cap->slot[i], err, errlen)))
				break;
		if (rc || pcapfile_refill(pf) <= 0)
			break;
	}
	r->t.read_builtin += taken;
	return rc;
}

/* pcap_next_ex() to the end of the capture. */
static int run_libpcap(struct replay *r, struct capture *cap, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc, prc;

	while ((prc = pcap_next_ex(cap->p, &h, &d)) == 1) {
		if (cap->pcapng)
			cap->good_end = ftell(cap->fp);
		else
			cap->good_end += 16 + (int64_t)h->caplen;
		rc = take(r, cap, d, h->caplen, h->len, h->ts.tv_sec, h->ts.tv_usec, r->need_data,
			  err, errlen);
		if (rc)
			return rc;
	}
	rc = flush(r, cap, err, errlen);
	if (rc)
		return rc;
	if (prc == PCAP_ERROR) {
		snprintf(err, errlen, "%s: byte %" PRId64 ": %s", cap->name, cap->good_end,
			 pcap_geterr(cap->p));
		return -EIO;
	}
	return 0;
}

/* Read the whole capture; -EIO with the message on a read error. */
static int run(struct replay *r, struct capture *cap, char *err, size_t errlen)
{
	int rc = 0;

	cap->start_pkts = r->t.packets;
	cap->t0 = now_s();
	cap->next_progress = cap->t0 + 0.5;
	if (cap->builtin) {
		rc = cap->pf.swapped ? walk(r, cap, true, err, errlen)
				     : walk(r, cap, false, err, errlen);
		/* libpcap reads on from the first record not taken */
		if (!rc && fseeko(cap->fp, cap->pf.off, SEEK_SET)) {
			snprintf(err, errlen, "%s: byte %" PRId64 ": %s", cap->name, cap->pf.off,
				 strerror(errno));
			rc = -EIO;
		}
	}
	if (!rc)
		rc = run_libpcap(r, cap, err, errlen);
	if (cap->shown)
		progress(r, cap, true);
	return rc;
}

static int open_capture(struct replay *r, struct capture *cap, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct stat st;
	bool regular;
	int rc;

	regular = fstat(fileno(cap->fp), &st) == 0 && S_ISREG(st.st_mode);
	cap->size = cap->mem ? (int64_t)cap->mem_len : regular ? st.st_size : -1;
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
	/* The built-in reader takes a classic pcap file whose header libpcap
	 * has just read from offset 0 of the bytes it can reach itself. */
	if (!r->cfg.libpcap_only && !cap->pcapng && ftell(cap->fp) == 24 &&
	    (cap->mem || regular)) {
		cap->builtin = !pcapfile_open(&cap->pf, cap->p, cap->mem ? -1 : fileno(cap->fp),
					      cap->mem, cap->mem_len, r->cfg.map_size);
	}
	if (r->cfg.filter) {
		rc = pcap_compile(cap->p, &cap->prog, r->cfg.filter, 1, PCAP_NETMASK_UNKNOWN);
		if (rc) {
			snprintf(err, errlen, "filter '%s': %s", r->cfg.filter, pcap_geterr(cap->p));
			return -EINVAL;
		}
		cap->have_prog = true;
		if (!r->cfg.libpcap_only && bpfc_init(&cap->bc, &cap->prog)) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

/* Read fp (and mem, its bytes, when not NULL) to the end; fp is closed. */
static int replay_stream(struct replay *r, FILE *fp, const char *name, const uint8_t *mem,
			 size_t mem_len, char *err, size_t errlen)
{
	struct capture *cap;
	double t0;
	int rc;

	cap = calloc(1, sizeof(*cap));
	if (!cap) {
		fclose(fp);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cap->fp = fp;
	cap->name = name ? name : "capture";
	cap->mem = mem;
	cap->mem_len = mem_len;
	r->t.captures++;
	t0 = now_s();
	rc = open_capture(r, cap, err, errlen);
	if (!rc)
		rc = run(r, cap, err, errlen);
	r->t.seconds += now_s() - t0;
	if (cap->have_prog)
		pcap_freecode(&cap->prog);
	bpfc_free(&cap->bc);
	pcapfile_close(&cap->pf);
	if (cap->p)
		pcap_close(cap->p);
	else
		fclose(fp);
	for (unsigned i = 0; i < REPLAY_BURST_MAX; i++)
		free(cap->slot[i].buf);
	free(cap);
	return rc;
}

int replay_fp(struct replay *r, FILE *fp, const char *name, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	if (!r || !fp || r->finished) {
		if (fp)
			fclose(fp);
		snprintf(err, errlen, "replay_fp: bad arguments");
		return -EINVAL;
	}
	return replay_stream(r, fp, name, NULL, 0, err, errlen);
}

int replay_buffer(struct replay *r, const void *data, size_t size, const char *name, char *err,
		  size_t errlen)
{
	static const char none[1];
	FILE *fp;

	if (errlen)
		err[0] = '\0';
	if (!r || (!data && size) || r->finished) {
		snprintf(err, errlen, "replay_buffer: bad arguments");
		return -EINVAL;
	}
	if (!data)
		data = none;
	/* libpcap reads the header (and whatever the built-in reader leaves)
	 * through a stream over the same bytes; mode "r" never writes them */
	fp = fmemopen((void *)(uintptr_t)data, size, "rb");
	if (!fp) {
		int e = errno ? errno : ENOMEM;

		snprintf(err, errlen, "%s: %s", name ? name : "capture", strerror(e));
		return -e;
	}
	return replay_stream(r, fp, name, r->cfg.libpcap_only ? NULL : data, size, err, errlen);
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
