/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_core: pcap outputs — the unmatched file and the per-rule split.
 *
 * A file is created at its first packet (rules without hits get no file) and
 * takes that packet's link type; a pcap file has one link type, so packets
 * of a capture with another one are not written and are counted as skipped
 * (replay_totals.split_skipped / unmatched_skipped).  Output snaplen: 262144.
 *
 * Split: DIR/rule-<position>.pcap.  At most max_open files are open at once
 * (default REPLAY_SPLIT_MAX_OPEN = 1024; the soft descriptor limit is
 * raised towards the hard one if needed, and at most that limit minus 32 are
 * used); when one more is needed the least recently written is
 * closed and later reopened for appending (pcap_dump_open_append), so a rule
 * set of any size works at the cost of reopens when hits cycle over more
 * rules than that.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "replay_int.h"

#define DUMP_SNAPLEN 262144

struct dumpfile {
	char *path;
	int dlt;
	pcap_t *dead;
	pcap_dumper_t *pd;  /* NULL while suspended */
	uint64_t last_use;  /* split's LRU clock */
};

static int open_pd(struct dumpfile *d, bool append, char *err, size_t errlen)
{
	d->pd = append ? pcap_dump_open_append(d->dead, d->path) : pcap_dump_open(d->dead, d->path);
	if (!d->pd) {
		snprintf(err, errlen, "%s", pcap_geterr(d->dead));
		return -EIO;
	}
	return 0;
}

int dumpfile_write(struct dumpfile **dp, const char *path, int dlt, const struct pcap_pkthdr *h,
		   const uint8_t *data, char *err, size_t errlen)
{
	struct dumpfile *d = *dp;
	int rc;

	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d || !(d->path = strdup(path))) {
			free(d);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		d->dlt = dlt;
		d->dead = pcap_open_dead_with_tstamp_precision(dlt, DUMP_SNAPLEN,
							       PCAP_TSTAMP_PRECISION_MICRO);
		if (!d->dead) {
			free(d->path);
			free(d);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		*dp = d;
		rc = open_pd(d, false, err, errlen);
		if (rc)
			return rc;
	} else if (d->dlt != dlt) {
		return 1;
	} else if (!d->pd) {
		rc = open_pd(d, true, err, errlen);
		if (rc)
			return rc;
	}
	pcap_dump((u_char *)d->pd, h, data);
	return 0;
}

bool dumpfile_is_open(const struct dumpfile *d)
{
	return d && d->pd;
}

int dumpfile_suspend(struct dumpfile *d, char *err, size_t errlen)
{
	FILE *f;
	int rc = 0;

	if (!d || !d->pd)
		return 0;
	f = pcap_dump_file(d->pd);
	if (pcap_dump_flush(d->pd) || ferror(f)) {
		snprintf(err, errlen, "%s: write error", d->path);
		rc = -EIO;
	}
	pcap_dump_close(d->pd);
	d->pd = NULL;
	return rc;
}

int dumpfile_close(struct dumpfile *d, char *err, size_t errlen)
{
	int rc;

	if (!d)
		return 0;
	rc = dumpfile_suspend(d, err, errlen);
	pcap_close(d->dead);
	free(d->path);
	free(d);
	return rc;
}

/* ---- split --------------------------------------------------------------- */

struct split {
	char *dir;
	size_t n_rules;
	struct dumpfile **rule;  /* [0..n_rules] by position */
	uint32_t *open;          /* positions of the open files */
	unsigned n_open, max_open;
	uint64_t clock;
};

int split_create(const char *dir, size_t n_rules, unsigned max_open, struct split **out,
		 char *err, size_t errlen)
{
	struct split *s;
	struct rlimit rl;
	struct stat st;

	if (mkdir(dir, 0777) && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -ENOTDIR;
	}
	if (!max_open)
		max_open = REPLAY_SPLIT_MAX_OPEN;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)max_open + 32) {
		/* raise the soft limit as far as the hard one allows, then fit in it */
		rlim_t want = (rlim_t)max_open + 32;

		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
			max_open = rl.rlim_cur > 33 ? (unsigned)rl.rlim_cur - 32 : 1;
	}
	s = calloc(1, sizeof(*s));
	if (s) {
		s->dir = strdup(dir);
		s->rule = calloc(n_rules + 1, sizeof(*s->rule));
		s->open = calloc(max_open, sizeof(*s->open));
	}
	if (!s || !s->dir || !s->rule || !s->open) {
		if (s) {
			free(s->dir);
			free(s->rule);
			free(s->open);
		}
		free(s);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->n_rules = n_rules;
	s->max_open = max_open;
	*out = s;
	return 0;
}

/* Close the least recently written file to make room for one more. */
static int evict(struct split *s, char *err, size_t errlen)
{
	unsigned victim = 0;

	for (unsigned i = 1; i < s->n_open; i++)
		if (s->rule[s->open[i]]->last_use < s->rule[s->open[victim]]->last_use)
			victim = i;
	s->n_open--;
	uint32_t pos = s->open[victim];
	s->open[victim] = s->open[s->n_open];
	return dumpfile_suspend(s->rule[pos], err, errlen);
}

int split_write(struct split *s, uint32_t rule, int dlt, const struct pcap_pkthdr *h,
		const uint8_t *data, char *err, size_t errlen)
{
	struct dumpfile **d;
	int rc;

	if (rule == 0 || rule > s->n_rules)
		return -EINVAL;
	d = &s->rule[rule];
	if (!dumpfile_is_open(*d)) {
		char path[4096];

		if (*d && (*d)->dlt != dlt)
			return 1;
		if (s->n_open == s->max_open && (rc = evict(s, err, errlen)))
			return rc;
		snprintf(path, sizeof(path), "%s/rule-%u.pcap", s->dir, rule);
		rc = dumpfile_write(d, path, dlt, h, data, err, errlen);
		if (dumpfile_is_open(*d))
			s->open[s->n_open++] = rule;
	} else {
		rc = dumpfile_write(d, NULL, dlt, h, data, err, errlen);
	}
	if (*d)
		(*d)->last_use = ++s->clock;
	return rc;
}

int split_close(struct split *s, char *err, size_t errlen)
{
	int rc = 0;

	if (!s)
		return 0;
	for (size_t i = 0; i <= s->n_rules; i++) {
		int r = dumpfile_close(s->rule[i], rc ? NULL : err, rc ? 0 : errlen);

		rc = rc ? rc : r;
	}
	free(s->rule);
	free(s->open);
	free(s->dir);
	free(s);
	return rc;
}
