/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnatctl — talk to a running ncnat over its control socket.
 *
 *   ncnatctl [-s SOCKET] [-t SECONDS] COMMAND...
 *
 * The words of COMMAND are joined with blanks into one request line (the
 * commands are in nat_ctl.h and README.md: show stats|sessions|mappings|
 * rules|timeouts|workers [json], add|delete rule|static, set timeout, help).  The
 * answer is printed to stdout without its terminator line.
 * Exit status: 0 the command succeeded; 1 it failed (the server's
 * "error: ..." on stderr); 2 usage, or the socket cannot be used (not there,
 * no permission, no complete answer within SECONDS, default 30).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nat_ctl.h"

#define REQ_MAX 4096

static void usage(void)
{
	fprintf(stderr,
		"usage: ncnatctl [-s SOCKET] [-t SECONDS] COMMAND...\n"
		"  SOCKET default %s; 'ncnatctl help' lists the commands\n",
		NAT_CTL_DEFAULT_PATH);
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One complete line of the answer: 0 printed, 1 "ok", 2 "error: ...". */
static int line_out(const char *l)
{
	if (!strcmp(l, "ok"))
		return 1;
	if (!strncmp(l, "error: ", 7)) {
		fprintf(stderr, "ncnatctl: %s\n", l + 7);
		return 2;
	}
	fputs(l, stdout);
	fputc('\n', stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NAT_CTL_DEFAULT_PATH;
	char req[REQ_MAX + 1], buf[65536];
	struct sockaddr_un sa;
	size_t len = 0, have = 0;
	int64_t deadline;
	long secs = 30;
	int fd, opt, i, done = 0;

	while ((opt = getopt(argc, argv, "+s:t:h")) != -1) {
		switch (opt) {
		case 's': path = optarg; break;
		case 't': {
			char *end;

			secs = strtol(optarg, &end, 10);
			if (!*optarg || *end || secs < 1 || secs > 86400) {
				fprintf(stderr, "ncnatctl: bad timeout '%s' (1..86400 seconds)\n", optarg);
				return 2;
			}
			break;
		}
		default: usage(); return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	for (i = optind; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (strpbrk(argv[i], "\r\n")) {
			fprintf(stderr, "ncnatctl: a command is one line\n");
			return 2;
		}
		if (len + n + 2 > sizeof(req)) {
			fprintf(stderr, "ncnatctl: command too long (at most %d bytes)\n", REQ_MAX - 1);
			return 2;
		}
		if (len)
			req[len++] = ' ';
		memcpy(req + len, argv[i], n);
		len += n;
	}
	req[len] = 0;
	if (strspn(req, " \t") == len) {
		usage();
		return 2;
	}
	req[len++] = '\n';

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ncnatctl: socket path too long: %s\n", path);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		fprintf(stderr, "ncnatctl: cannot connect to %s: %s%s\n", path, strerror(e),
			e == ENOENT || e == ECONNREFUSED ? " (is ncnat running with this --ctl?)"
			: e == EACCES ? " (the control socket is root only)" : "");
		return 2;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "ncnatctl: %s: send: %s\n", path, strerror(errno));
			close(fd);
			return 2;
		}
		off += (size_t)n;
	}
	/* read lines until the terminator: "ok" or "error: ..." */
	deadline = ms_now() + secs * 1000;
	while (!done) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - ms_now();
		ssize_t n;
		char *nl;
		int rc;

		if (left <= 0) {
			fprintf(stderr, "ncnatctl: %s: no complete answer within %ld s\n", path, secs);
			close(fd);
			return 2;
		}
		rc = poll(&pf, 1, (int)(left > 1000000 ? 1000000 : left));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "ncnatctl: %s: connection closed before the answer ended\n",
				path);
			close(fd);
			return 2;
		}
		have += (size_t)n;
		buf[have] = 0;
		while (!done && (nl = memchr(buf, '\n', have)) != NULL) {
			*nl = 0;
			done = line_out(buf);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
		}
		if (!done && have == sizeof(buf) - 1) { /* a line longer than the buffer */
			buf[have] = 0;
			fputs(buf, stdout);
			have = 0;
		}
	}
	close(fd);
	if (fflush(stdout) != 0)
		return 2;
	return done == 1 ? 0 : 1;
}
