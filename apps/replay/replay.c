/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_core: the run context — rules into a classifier, outputs opened,
 * counters kept.  The capture loop is reader.c, the summary report.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay_int.h"

static int load_rules(struct replay *r, char *err, size_t errlen)
{
	const struct replay_cfg *cfg = &r->cfg;
	struct cls_config cc = { .backend = cfg->backend };
	size_t failed = 0;
	int rc;

	if (cfg->rules_path)
		rc = cls_parse_file(cfg->rules_path, cfg->rules_fmt, &r->rs, err, errlen);
	else
		rc = cls_parse_buffer(cfg->rules_text ? cfg->rules_text : "", cfg->rules_len,
				      "rules", cfg->rules_fmt, &r->rs, err, errlen);
	if (rc)
		return rc;
	/* The rule number reported is the position in the file, whatever ids the
	 * file gave: carry it in udata, which a match returns. */
	for (size_t i = 0; i < r->rs->n; i++)
		r->rs->rules[i].udata = (void *)(uintptr_t)(i + 1);
	rc = cls_create(&cc, &r->cls);
	if (rc) {
		snprintf(err, errlen, "classifier: %s", strerror(-rc));
		return rc;
	}
	rc = cls_insert_batch(r->cls, r->rs->rules, r->rs->n, &failed);
	if (rc) {
		snprintf(err, errlen, "%s:%u: rule not accepted by the classifier: %s",
			 cfg->rules_path ? cfg->rules_path : "rules",
			 r->rs->lines ? r->rs->lines[failed] : (unsigned)failed + 1,
			 rc == -EEXIST ? "duplicate id" : strerror(-rc));
		return rc;
	}
	return 0;
}

int replay_create(const struct replay_cfg *cfg, struct replay **out, char *err, size_t errlen)
{
	struct replay *r;
	int rc;

	if (errlen)
		err[0] = '\0';
	if (!cfg || !out) {
		snprintf(err, errlen, "replay_create: bad arguments");
		return -EINVAL;
	}
	if (cfg->burst > REPLAY_BURST_MAX) {
		snprintf(err, errlen, "burst must be 1..%d", REPLAY_BURST_MAX);
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->cfg = *cfg;
	r->burst = cfg->burst ? cfg->burst : REPLAY_BURST_MAX;
	rc = load_rules(r, err, errlen);
	if (rc)
		goto fail;
	r->rule = calloc(r->rs->n + 1, sizeof(*r->rule));
	if (!r->rule) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if (cfg->verdicts_path) {
		rc = verdicts_open(cfg->verdicts_path, cfg->verdicts_fmt, &r->verdicts, err, errlen);
		if (rc)
			goto fail;
	}
	if (cfg->split_dir) {
		rc = split_create(cfg->split_dir, r->rs->n, cfg->split_max_open, &r->split, err,
				  errlen);
		if (rc)
			goto fail;
	}
	if (!cfg->no_flow_cache) {
		unsigned bits = cfg->flow_cache_bits ? cfg->flow_cache_bits : 16;

		if (bits < 4 || bits > 24) {
			snprintf(err, errlen, "flow cache bits must be 4..24");
			rc = -EINVAL;
			goto fail;
		}
		if (fc_init(&r->fc, bits)) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
			goto fail;
		}
	}
	r->need_data = cfg->split_dir || cfg->unmatched_path;
	*out = r;
	return 0;
fail:
	r->finished = true; /* nothing to flush */
	verdicts_close(r->verdicts, NULL, 0);
	split_close(r->split, NULL, 0);
	r->verdicts = NULL;
	r->split = NULL;
	replay_free(r);
	return rc;
}

int replay_finish(struct replay *r, char *err, size_t errlen)
{
	int rc = 0, rc2;

	if (!r || r->finished)
		return 0;
	r->finished = true;
	rc2 = verdicts_close(r->verdicts, err, errlen);
	rc = rc ? rc : rc2;
	r->verdicts = NULL;
	rc2 = split_close(r->split, rc ? NULL : err, rc ? 0 : errlen);
	rc = rc ? rc : rc2;
	r->split = NULL;
	rc2 = dumpfile_close(r->unmatched, rc ? NULL : err, rc ? 0 : errlen);
	rc = rc ? rc : rc2;
	r->unmatched = NULL;
	return rc;
}

void replay_free(struct replay *r)
{
	if (!r)
		return;
	if (replay_finish(r, NULL, 0)) {
		/* the caller chose not to see write errors */
	}
	fc_free(&r->fc);
	cls_free(r->cls);
	cls_ruleset_free(r->rs);
	free(r->rule);
	free(r);
}

const struct replay_totals *replay_totals(const struct replay *r)
{
	return &r->t;
}

const struct replay_rule_stats *replay_rule_stats(const struct replay *r)
{
	return r->rule;
}

size_t replay_rule_count(const struct replay *r)
{
	return r->rs->n;
}

const struct cls_ruleset *replay_ruleset(const struct replay *r)
{
	return r->rs;
}
