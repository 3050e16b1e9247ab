/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_core: per-packet verdicts.
 *
 * CSV, one header row then one row per packet that passed the prefilter:
 *     frame,family,proto,src,dst,sport,dport,status,rule
 *   frame   1-based number of the packet in the run (see replay.h)
 *   family  4 or 6; empty (as are proto..dport) for a packet without a key
 *   status  nc_parse_status_name(): ok, fragment, trunc_payload, not_ip, ...
 *   rule    1-based position of the matching rule in the rule file, 0: none
 * JSON: one array of objects with the same names; key fields are null for a
 * packet without a key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "classify_parse.h"
#include "replay_int.h"

struct verdicts {
	FILE *f;
	bool is_stdout;
	enum replay_vfmt fmt;
	bool first;
};


int verdicts_open(const char *path, enum replay_vfmt fmt, struct verdicts **out, char *err,
		  size_t errlen)
{
	struct verdicts *v = calloc(1, sizeof(*v));

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->fmt = fmt;
	v->first = true;
	if (!strcmp(path, "-")) {
		v->f = stdout;
		v->is_stdout = true;
	} else {
		v->f = fopen(path, "w");
	}
	if (!v->f) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		free(v);
		return -e;
	}
	if (!v->is_stdout)
		setvbuf(v->f, NULL, _IOFBF, 1 << 16);
	if (fmt == REPLAY_VERDICTS_CSV)
		fputs("frame,family,proto,src,dst,sport,dport,status,rule\n", v->f);
	else
		fputs("[", v->f);
	*out = v;
	return 0;
}

void verdicts_write(struct verdicts *v, uint64_t frame, const struct nc_pkt_info *pi,
		    bool has_key, uint32_t rule)
{
	const struct cls_key *k = &pi->key;
	const char *st = nc_parse_status_name(pi->status);
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	if (has_key) {
		cls_addr_format(k->family, &k->src, src, sizeof(src));
		cls_addr_format(k->family, &k->dst, dst, sizeof(dst));
	}
	if (v->fmt == REPLAY_VERDICTS_CSV) {
		if (has_key)
			fprintf(v->f, "%" PRIu64 ",%u,%u,%s,%s,%u,%u,%s,%" PRIu32 "\n", frame,
				k->family, k->proto, src, dst, k->sport, k->dport, st, rule);
		else
			fprintf(v->f, "%" PRIu64 ",,,,,,,%s,%" PRIu32 "\n", frame, st, rule);
		return;
	}
	fputs(v->first ? "\n" : ",\n", v->f);
	v->first = false;
	if (has_key)
		fprintf(v->f,
			"{\"frame\":%" PRIu64 ",\"family\":%u,\"proto\":%u,\"src\":\"%s\","
			"\"dst\":\"%s\",\"sport\":%u,\"dport\":%u,\"status\":\"%s\",\"rule\":%" PRIu32
			"}",
			frame, k->family, k->proto, src, dst, k->sport, k->dport, st, rule);
	else
		fprintf(v->f,
			"{\"frame\":%" PRIu64 ",\"family\":null,\"proto\":null,\"src\":null,"
			"\"dst\":null,\"sport\":null,\"dport\":null,\"status\":\"%s\",\"rule\":%" PRIu32
			"}",
			frame, st, rule);
}

int verdicts_close(struct verdicts *v, char *err, size_t errlen)
{
	int rc = 0;

	if (!v)
		return 0;
	if (v->fmt == REPLAY_VERDICTS_JSON)
		fputs(v->first ? "]\n" : "\n]\n", v->f);
	if (fflush(v->f) || ferror(v->f))
		rc = -EIO;
	if (!v->is_stdout && fclose(v->f))
		rc = -EIO;
	if (rc && errlen)
		snprintf(err, errlen, "verdicts: write error: %s", strerror(errno));
	free(v);
	return rc;
}
