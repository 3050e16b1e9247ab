/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_ctl: the server over real unix sockets in this process, against a
 * fake backend: the socket file, several requests and clients, oversize
 * and bad requests, a client that never reads, limits, the peer check.
 * The commands themselves are test_nat_ctl.c's and test_nat_ctl_show.c's.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nat_ctl.h"
#include "nat_ctl_fake.h"
#include "test_nat_ctl_util.h"

static char tmpdir[64];

static void mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/nat_ctl_test.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

static const char *sock_path(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static int cl_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect %s: %s", path,
		     strerror(errno));
	cr_assert_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void cl_send(int fd, const char *s, size_t n)
{
	cr_assert_eq(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Terminator lines in text. */
static unsigned terminators(const char *s)
{
	unsigned n = 0;
	const char *l = s;

	while (*l) {
		const char *e = strchr(l, '\n');

		if (!e)
			break;
		if ((e - l == 2 && !strncmp(l, "ok", 2)) || !strncmp(l, "error: ", 7))
			n++;
		l = e + 1;
	}
	return n;
}

struct rx {
	char *buf;
	size_t len, cap;
	bool eof;
};

/* Read what is there (non-blocking). */
static void cl_read(int fd, struct rx *r)
{
	for (;;) {
		ssize_t n;

		if (r->cap - r->len < 65536) {
			r->cap = r->cap ? r->cap * 2 : 131072;
			r->buf = realloc(r->buf, r->cap);
			cr_assert_not_null(r->buf);
		}
		n = recv(fd, r->buf + r->len, r->cap - r->len - 1, 0);
		if (n > 0) {
			r->len += (size_t)n;
			r->buf[r->len] = 0;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			r->eof = true;
		return;
	}
}

/* Poll the server until want answers arrived on fd (or EOF); the text. */
static char *await(struct nat_ctl *c, int fd, unsigned want)
{
	struct rx r = {0};
	int i;

	for (i = 0; i < 20000; i++) {
		cr_assert_geq(nat_ctl_poll(c), 0);
		cl_read(fd, &r);
		if (r.eof || (r.buf && terminators(r.buf) >= want))
			break;
		if (i > 100)
			usleep(100);
	}
	if (!r.buf)
		r.buf = calloc(1, 1);
	return r.buf;
}

static char *talk(struct nat_ctl *c, int fd, const char *req)
{
	cl_send(fd, req, strlen(req));
	return await(c, fd, 1);
}

/* Poll until the peer sees EOF (the server closed); false if it never does. */
static bool closed_by_server(struct nat_ctl *c, int fd, struct rx *r)
{
	int i;

	for (i = 0; i < 20000 && !r->eof; i++) {
		cr_assert_geq(nat_ctl_poll(c), 0);
		cl_read(fd, r);
		if (i > 100)
			usleep(100);
	}
	return r->eof;
}

/* A server on tmpdir/s.sock over a fake backend, and the limits to set. */
struct srv {
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c;
	struct nat_ctl_limits l;
	const char *path;
};

/* The fake with n_sess sessions and n_maps mappings, served; l = defaults. */
static void srv_start(struct srv *s, uint32_t n_sess, uint32_t n_maps)
{
	fake_init(&s->f, n_sess, n_maps);
	s->be = fake_backend(&s->f);
	s->path = sock_path("s.sock");
	cr_assert_eq(nat_ctl_create(s->path, &s->be, &s->c), 0);
	nat_ctl_default_limits(&s->l);
}

/* Apply s->l (changed by the test). */
static void srv_limits(struct srv *s)
{
	cr_assert_eq(nat_ctl_set_limits(s->c, &s->l), 0);
}

static void srv_stop(struct srv *s)
{
	nat_ctl_free(s->c);
	fake_fini(&s->f);
}

Test(nat_ctl_sock, socket_file, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct fake f;
	struct nat_ctl_backend be;
	struct nat_ctl *c, *c2 = (void *)1;
	struct sockaddr_un sa;
	char path[128];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s", sock_path("s.sock"));
	fake_init(&f, 0, 0);
	be = fake_backend(&f);
	/* a stale socket file (nobody listens) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	/* a live one is not */
	cr_assert_eq(nat_ctl_create(path, &be, &c2), -EADDRINUSE);
	cr_assert_null(c2);
	/* it still works after the probe */
	fd = cl_connect(path);
	{
		char *out = talk(c, fd, "show timeouts\n");

		cr_assert(!strncmp(out, "timeout udp 300\n", 16), "%s", out);
		free(out);
	}
	close(fd);
	nat_ctl_free(c);
	cr_assert_neq(stat(path, &st), 0, "socket file left behind");
	/* not a socket: left alone */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(nat_ctl_create(path, &be, &c), -EEXIST);
	cr_assert_eq(stat(path, &st), 0);
	unlink(path);
	/* a directory that does not exist */
	cr_assert_eq(nat_ctl_create(sock_path("no/such.sock"), &be, &c), -ENOENT);
	/* free does not remove a file that replaced ours */
	cr_assert_eq(nat_ctl_create(path, &be, &c), 0);
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	nat_ctl_free(c);
	cr_assert_eq(stat(path, &st), 0);
	fake_fini(&f);
}

Test(nat_ctl_sock, requests_on_one_connection, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct srv s;
	struct rx r = {0};
	char *out;
	int fd;

	srv_start(&s, 4, 2);
	fd = cl_connect(s.path);
	/* three requests in one write, a blank line, CRLF: answered in order */
	cl_send(fd, "show timeouts\n\nfrob\r\nshow mappings proto udp\n", 45);
	out = await(s.c, fd, 3);
	cr_assert_str_eq(out,
			 "timeout udp 300\ntimeout tcp-established 7440\ntimeout tcp-transitory 240\n"
			 "timeout icmp 60\nok\n"
			 "error: unknown command 'frob' (try 'help')\n"
			 "proto inside                outside               sessions      age flags\n"
			 "udp   10.0.0.3:2001         198.51.100.1:3001            1        5 -\n"
			 "1 mappings shown, 2 in the table\nok\n");
	free(out);
	/* a request split over several writes */
	cl_send(fd, "show st", 7);
	cr_assert_geq(nat_ctl_poll(s.c), 0);
	cl_send(fd, "ats json\n", 9);
	out = await(s.c, fd, 1);
	check_json(out);
	free(out);
	/* a NUL byte */
	cl_send(fd, "help\0x\n", 7);
	out = await(s.c, fd, 1);
	cr_assert_str_eq(out, "error: NUL byte in the request\n");
	free(out);
	/* quit: ok, then closed */
	cl_send(fd, "quit\n", 5);
	cr_assert(closed_by_server(s.c, fd, &r));
	cr_assert_str_eq(r.buf, "ok\n");
	free(r.buf);
	close(fd);
	/* the last request without its newline, then shutdown: answered, closed */
	fd = cl_connect(s.path);
	cl_send(fd, "show rules", 10);
	shutdown(fd, SHUT_WR);
	memset(&r, 0, sizeof(r));
	cr_assert(closed_by_server(s.c, fd, &r));
	cr_assert(!strncmp(r.buf, "1 drop src 10.0.0.66\n", 21), "%s", r.buf);
	cr_assert_eq(terminators(r.buf), 1);
	free(r.buf);
	close(fd);
	cr_assert_eq(nat_ctl_poll(s.c), 0);
	cr_assert_eq(nat_ctl_clients(s.c), 0);
	srv_stop(&s);
}

Test(nat_ctl_sock, several_clients, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	enum { N = 6 };
	struct srv s;
	int fd[N], i;

	srv_start(&s, 50, 50);
	for (i = 0; i < N; i++)
		fd[i] = cl_connect(s.path);
	/* everybody asks before anybody reads */
	for (i = 0; i < N; i++) {
		char req[64];

		snprintf(req, sizeof(req), "show sessions limit %d\nshow stats json\n", i + 1);
		cl_send(fd[i], req, strlen(req));
	}
	for (i = 0; i < N; i++) {
		char *out = await(s.c, fd[i], 2);

		cr_assert_eq(shown(out), (unsigned)i + 1, "%s", out);
		cr_assert_eq(terminators(out), 2);
		free(out);
	}
	cr_assert_eq(nat_ctl_clients(s.c), N);
	for (i = 0; i < N; i++)
		close(fd[i]);
	cr_assert_eq(nat_ctl_poll(s.c), 0);
	cr_assert_eq(nat_ctl_clients(s.c), 0);
	srv_stop(&s);
}

Test(nat_ctl_sock, oversize_request, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct srv s;
	struct rx r = {0};
	char big[300];
	int fd;

	srv_start(&s, 0, 0);
	s.l.max_request = 64;
	srv_limits(&s);
	fd = cl_connect(s.path);
	/* exactly the limit is fine */
	memset(big, ' ', 64);
	memcpy(big + 60, "help", 4);
	big[64] = '\n';
	cl_send(fd, big, 65);
	free(await(s.c, fd, 1));
	/* one more byte is not: error, closed */
	memset(big, 'x', sizeof(big));
	cl_send(fd, big, sizeof(big));
	cr_assert(closed_by_server(s.c, fd, &r));
	cr_assert_str_eq(r.buf, "error: request too long (at most 64 bytes)\n");
	free(r.buf);
	close(fd);
	srv_stop(&s);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

Test(nat_ctl_sock, long_listing_over_many_polls, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct srv s;
	char *out;
	int fd;

	srv_start(&s, 100000, 0);
	s.l.walk_budget = 4096;
	srv_limits(&s);
	fd = cl_connect(s.path);
	out = talk(s.c, fd, "show sessions json\n");
	cr_assert_eq(terminators(out), 1);
	cr_assert_eq(count(out, "{\"proto\""), 100000);
	check_json(out);
	cr_assert_not_null(strstr(out, "\"shown\":100000,\"total\":100000,\"truncated\":false}\nok\n"));
	cr_assert_geq(s.f.n_walk_calls, 100000 / 4096, "one walk: %u calls", s.f.n_walk_calls);
	cr_assert_leq(s.f.max_budget_seen, 4096);
	free(out);
	close(fd);
	srv_stop(&s);
}

Test(nat_ctl_sock, client_that_never_reads, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct srv s;
	struct timespec t0;
	double worst = 0;
	int lazy, busy, i, n;
	char *out;

	srv_start(&s, 200000, 0);
	s.l.stall_ms = 300;
	srv_limits(&s);
	lazy = cl_connect(s.path);
	/* the lazy client asks for 200k lines (~20 MB) and several more
	 * listings, and never reads */
	cl_send(lazy, "show sessions\nshow sessions\nshow stats\n", 39);
	busy = cl_connect(s.path);
	/* the server keeps answering the other client, every poll is short */
	for (n = 0; n < 20; n++) {
		cl_send(busy, "show stats json\n", 16);
		out = NULL;
		{
			struct rx r = {0};

			for (i = 0; i < 1000 && !(r.buf && terminators(r.buf)); i++) {
				clock_gettime(CLOCK_MONOTONIC, &t0);
				cr_assert_geq(nat_ctl_poll(s.c), 0);
				if (ms_since(&t0) > worst)
					worst = ms_since(&t0);
				cl_read(busy, &r);
			}
			out = r.buf;
		}
		cr_assert_not_null(out);
		check_json(out);
		free(out);
	}
	cr_assert_lt(worst, 200.0, "a poll took %.1f ms", worst);
	cr_assert_eq(nat_ctl_clients(s.c), 2, "the lazy client is kept while it is not stalled long");
	/* stalled past stall_ms: dropped; the other one stays */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (nat_ctl_clients(s.c) == 2 && ms_since(&t0) < 5000) {
		cr_assert_geq(nat_ctl_poll(s.c), 0);
		usleep(1000);
	}
	cr_assert_eq(nat_ctl_clients(s.c), 1);
	cr_assert_geq(ms_since(&t0), 100.0);
	/* its buffer stayed bounded: it got less than the listing */
	{
		struct rx r = {0};

		while (!r.eof)
			cl_read(lazy, &r);
		cr_assert_lt(r.len, (size_t)4 << 20, "got %zu bytes", r.len);
		cr_assert_eq(r.buf ? terminators(r.buf) : 0, 0);
		free(r.buf);
	}
	out = talk(s.c, busy, "show timeouts\n");
	cr_assert(!strncmp(out, "timeout udp", 11), "%s", out);
	free(out);
	close(lazy);
	close(busy);
	srv_stop(&s);
}

Test(nat_ctl_sock, output_cap_drops_the_client, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct srv s;
	struct rx r = {0};
	char *out;
	int fd, i;

	srv_start(&s, 500, 0);
	for (i = 0; i < 60; i++) {
		char req[96];

		snprintf(req, sizeof(req), "add rule drop src 10.0.%d.0/24 proto udp dport 1000-2000", i);
		free(ok(&s.be, req));
	}
	s.l.out_high = 256;
	s.l.out_cap = 1024;
	srv_limits(&s);
	fd = cl_connect(s.path);
	/* small answers are fine */
	out = talk(s.c, fd, "show timeouts\n");
	cr_assert_eq(terminators(out), 1);
	free(out);
	/* one answer larger than the cap: dropped without a terminator */
	cl_send(fd, "show rules\n", 11);
	cr_assert(closed_by_server(s.c, fd, &r));
	cr_assert_eq(r.buf ? terminators(r.buf) : 0, 0);
	free(r.buf);
	close(fd);
	/* listings pause at out_high instead: a long one still completes */
	fd = cl_connect(s.path);
	out = talk(s.c, fd, "show sessions\n");
	cr_assert_eq(terminators(out), 1);
	cr_assert_eq(shown(out), 500);
	cr_assert_gt(strlen(out), 40000);
	free(out);
	close(fd);
	srv_stop(&s);
}

Test(nat_ctl_sock, too_many_clients, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct srv s;
	struct rx r = {0};
	int a, b, d;
	char *out;

	srv_start(&s, 0, 0);
	s.l.max_clients = 2;
	srv_limits(&s);
	s.l.out_high = s.l.out_cap + 1;
	cr_assert_eq(nat_ctl_set_limits(s.c, &s.l), -EINVAL);
	a = cl_connect(s.path);
	b = cl_connect(s.path);
	cr_assert_geq(nat_ctl_poll(s.c), 0);
	d = cl_connect(s.path);
	cr_assert(closed_by_server(s.c, d, &r));
	cr_assert_str_eq(r.buf, "error: too many clients (at most 2)\n");
	free(r.buf);
	out = talk(s.c, a, "help\n");
	cr_assert_eq(terminators(out), 1);
	free(out);
	close(a);
	close(b);
	close(d);
	srv_stop(&s);
}

Test(nat_ctl_sock, other_users_are_refused, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct srv s;
	int st, pfd[2], i;
	char got[128] = "";
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to connect as another user");
	srv_start(&s, 0, 0);
	/* let the other user reach the socket, so that the peer check is what
	 * refuses it (the 0600 mode alone would) */
	cr_assert_eq(chmod(tmpdir, 0755), 0);
	cr_assert_eq(chmod(s.path, 0666), 0);
	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sockaddr_un sa;
		ssize_t n = 0, k;
		int fd;

		close(pfd[0]);
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		strcpy(sa.sun_path, s.path);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			_exit(4);
		if (send(fd, "show stats\n", 11, MSG_NOSIGNAL) < 0) {
			/* the server may have closed already */
		}
		while ((k = recv(fd, got + n, sizeof(got) - 1 - (size_t)n, 0)) > 0)
			n += k;
		if (write(pfd[1], got, (size_t)n) != n)
			_exit(5);
		_exit(0);
	}
	close(pfd[1]);
	for (i = 0; i < 5000; i++) {
		cr_assert_geq(nat_ctl_poll(s.c), 0);
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(1000);
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
	cr_assert_geq(read(pfd[0], got, sizeof(got) - 1), 0);
	close(pfd[0]);
	cr_assert_str_eq(got, "error: permission denied (uid 65534; root only)\n");
	cr_assert_eq(s.f.n_stats, 0);
	srv_stop(&s);
}
