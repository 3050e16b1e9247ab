/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncreplay: which rule does each packet of a capture hit, and how often?
 * The command line; the work is in replay_core (replay.h).
 * Exit status: 0 done, 1 runtime error (bad rule file, unreadable, truncated
 * or corrupt capture — after printing what was read), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay.h"

static const char usage_text[] =
	"usage: ncreplay --rules FILE [options] CAPTURE...\n"
	"  Replays pcap/pcapng captures ('-' = standard input) through lib/classify and\n"
	"  reports per-rule hits (packets, bytes, first/last time), unmatched and\n"
	"  unparsable packets by reason, and the speed.\n"
	"options:\n"
	"  -r, --rules FILE         rules: ClassBench (IPv4/IPv6) or netchannel syntax\n"
	"      --rules-format F     auto (default), classbench, classbench6, native\n"
	"  -f, --filter EXPR        BPF prefilter, as tcpdump's (e.g. 'tcp port 80')\n"
	"  -w, --verdicts FILE      per-packet verdicts; FILE.json: JSON, else CSV ('-': stdout)\n"
	"                           columns: frame,family,proto,src,dst,sport,dport,status,rule\n"
	"                           rule = 1-based number in the rule file, 0 = none\n"
	"  -s, --split DIR          one pcap per rule: DIR/rule-N.pcap\n"
	"      --split-max-open N   bound on split files open at once (default 1024)\n"
	"  -u, --unmatched FILE     pcap of the packets no rule matched (unparsable too)\n"
	"  -n, --top N              rules shown in the summary (default 20, 0: all with hits)\n"
	"      --linear             use the linear reference classifier\n"
	"      --no-flow-cache      look every packet up in the classifier (no 5-tuple cache)\n"
	"      --libpcap            read every record with libpcap and run the filter on every\n"
	"                           packet (no built-in pcap reader, no filter memo)\n"
	"      --burst N            packets per window of bulk lookups (1..1024, default 1024)\n"
	"      --progress, --no-progress   progress on stderr (default: if it is a terminal)\n"
	"  -q, --quiet              no summary\n"
	"  -h, --help\n"
	"Packets with addresses but no transport header (later fragments, unknown\n"
	"protocols, truncated TCP/UDP headers) are classified with ports 0.\n"
	"Exit status: 0 ok, 1 runtime error, 2 usage.\n";

enum { O_FORMAT = 256, O_MAX_OPEN, O_LINEAR, O_BURST, O_PROGRESS, O_NO_PROGRESS, O_NO_CACHE,
       O_LIBPCAP };

static const struct option longopts[] = {
	{ "rules", required_argument, NULL, 'r' },
	{ "rules-format", required_argument, NULL, O_FORMAT },
	{ "filter", required_argument, NULL, 'f' },
	{ "verdicts", required_argument, NULL, 'w' },
	{ "split", required_argument, NULL, 's' },
	{ "split-max-open", required_argument, NULL, O_MAX_OPEN },
	{ "unmatched", required_argument, NULL, 'u' },
	{ "top", required_argument, NULL, 'n' },
	{ "linear", no_argument, NULL, O_LINEAR },
	{ "no-flow-cache", no_argument, NULL, O_NO_CACHE },
	{ "libpcap", no_argument, NULL, O_LIBPCAP },
	{ "burst", required_argument, NULL, O_BURST },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ncreplay: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	return 2;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcasecmp(s + a - b, suffix);
}

int main(int argc, char **argv)
{
	struct replay_cfg cfg = { .rules_fmt = CLS_FMT_AUTO, .backend = CLS_BACKEND_TRIE };
	unsigned top = 20;
	int progress = -1, quiet = 0, c, rc, status = 0;
	struct replay *r = NULL;
	char err[1024], err2[1024] = "";
	FILE *report;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:f:w:s:u:n:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			cfg.rules_path = optarg;
			break;
		case O_FORMAT:
			if (!strcmp(optarg, "auto"))
				cfg.rules_fmt = CLS_FMT_AUTO;
			else if (!strcmp(optarg, "classbench"))
				cfg.rules_fmt = CLS_FMT_CLASSBENCH;
			else if (!strcmp(optarg, "classbench6"))
				cfg.rules_fmt = CLS_FMT_CLASSBENCH6;
			else if (!strcmp(optarg, "native"))
				cfg.rules_fmt = CLS_FMT_NATIVE;
			else
				return usage_error("unknown rules format '%s'", optarg);
			break;
		case 'f':
			cfg.filter = optarg;
			break;
		case 'w':
			cfg.verdicts_path = optarg;
			cfg.verdicts_fmt = ends_with(optarg, ".json") ? REPLAY_VERDICTS_JSON
								     : REPLAY_VERDICTS_CSV;
			break;
		case 's':
			cfg.split_dir = optarg;
			break;
		case O_MAX_OPEN:
			if (parse_uint(optarg, 1, 1u << 20, &cfg.split_max_open))
				return usage_error("bad --split-max-open '%s'", optarg);
			break;
		case 'u':
			cfg.unmatched_path = optarg;
			break;
		case 'n':
			if (parse_uint(optarg, 0, UINT32_MAX, &top))
				return usage_error("bad --top '%s'", optarg);
			break;
		case O_LINEAR:
			cfg.backend = CLS_BACKEND_LINEAR;
			break;
		case O_NO_CACHE:
			cfg.no_flow_cache = true;
			break;
		case O_LIBPCAP:
			cfg.libpcap_only = true;
			break;
		case O_BURST:
			if (parse_uint(optarg, 1, REPLAY_BURST_MAX, &cfg.burst))
				return usage_error("bad --burst '%s' (1..%d)", optarg, REPLAY_BURST_MAX);
			break;
		case O_PROGRESS:
			progress = 1;
			break;
		case O_NO_PROGRESS:
			progress = 0;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!cfg.rules_path)
		return usage_error("%s", "--rules FILE is required");
	if (optind >= argc)
		return usage_error("%s", "no capture given");
	cfg.progress = progress < 0 ? isatty(STDERR_FILENO) : progress;
	/* the summary goes where the verdicts do not */
	report = cfg.verdicts_path && !strcmp(cfg.verdicts_path, "-") ? stderr : stdout;

	rc = replay_create(&cfg, &r, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ncreplay: %s\n", err);
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		rc = replay_file(r, argv[i], err, sizeof(err));
		if (rc) {
			status = 1;
			break; /* like tcpdump: stop at a broken capture, report what was read */
		}
	}
	if (replay_finish(r, status ? err2 : err, sizeof(err)))
		status = 1;
	if (!quiet)
		replay_report(r, report, top);
	if (fflush(report) && !status) {
		snprintf(err, sizeof(err), "write error: %s", strerror(errno));
		status = 1;
	}
	/* the error last, after the summary of what was read */
	if (status)
		fprintf(stderr, "ncreplay: %s\n", err);
	if (err2[0])
		fprintf(stderr, "ncreplay: %s\n", err2);
	replay_free(r);
	return status;
}
