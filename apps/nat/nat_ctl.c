/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ncnat control socket server: non-blocking unix stream sockets polled from
 * the packet loop (see nat_ctl.h); the commands are in nat_ctl_cmd.c.
 */
#define _GNU_SOURCE /* accept4, struct ucred */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nat_ctl_int.h"

#define ACCEPTS_PER_POLL 4
#define REQUESTS_PER_POLL 4
#define BACKLOG 16

struct client {
	int fd;
	char *in;               /* max_request + 1 bytes: a line and its '\n' */
	size_t in_len;
	bool eof;               /* the peer shut down its side */
	bool dead;
	uint64_t sent;          /* bytes sent so far */
	uint64_t stall_mark;    /* sent at the start of the stall watch */
	uint64_t stall_since;   /* ms; 0: nothing pending */
	struct nat_ctl_conn s;
};

struct nat_ctl {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	uid_t uid;
	struct nat_ctl_backend be;
	struct nat_ctl_limits lim;
	struct client **cl;
	unsigned n_cl, cap_cl;
};

/* ---- output buffers ---- */

void nat_ctl_out_printf(struct nat_ctl_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->over)
		return;
	if (o->off && o->off >= o->len / 2) {  /* reclaim what was sent */
		memmove(o->p, o->p + o->off, o->len - o->off);
		o->len -= o->off;
		o->off = 0;
	}
	for (;;) {
		size_t room = o->cap - o->len;

		va_start(ap, fmt);
		n = vsnprintf(o->p ? o->p + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (nat_ctl_out_pending(o) + (size_t)n > o->max_pending) {
			o->over = true; /* whatever vsnprintf wrote past len is not counted */
			return;
		}
		if ((size_t)n < room)
			break;
		{
			size_t cap = o->cap ? o->cap : 4096;
			char *np;

			while (cap <= o->len + (size_t)n)
				cap *= 2;
			np = realloc(o->p, cap);
			if (!np) {
				o->over = true;
				return;
			}
			o->p = np;
			o->cap = cap;
		}
	}
	o->len += (size_t)n;
}

void nat_ctl_default_limits(struct nat_ctl_limits *l)
{
	l->max_clients = 16;
	l->max_request = 4096;
	l->out_high = 256u << 10;
	l->out_cap = 8u << 20;
	l->walk_budget = 16384;
	l->stall_ms = 30000;
}

static bool limits_ok(const struct nat_ctl_limits *l)
{
	return l->max_clients && l->max_request && l->out_high && l->out_cap && l->walk_budget &&
	       l->stall_ms && l->out_high <= l->out_cap && l->max_request < (64u << 20);
}

static bool backend_ok(const struct nat_ctl_backend *be)
{
	return be->sessions && be->mappings && be->stats && be->rules && be->config &&
	       be->rule_add && be->rule_delete && be->set_timeout;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

static int addr_of(const char *path, struct sockaddr_un *sa)
{
	size_t n = strlen(path);

	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/*
 * A socket file at path: if a server answers, it is in use; if nobody does
 * (a crashed ncnat left it), remove it.  Anything but a socket stays.
 */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? 0 : -errno;
	close(fd);
	if (rc == 0 || rc == -EAGAIN) /* accepted, or a live server's backlog is full */
		return -EADDRINUSE;
	if (rc != -ECONNREFUSED)
		return rc;
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int nat_ctl_create(const char *path, const struct nat_ctl_backend *be, struct nat_ctl **out)
{
	struct sockaddr_un sa;
	struct nat_ctl *c;
	struct stat st;
	int rc;

	if (out)
		*out = NULL;
	if (!path || !be || !out || !backend_ok(be))
		return -EINVAL;
	rc = addr_of(path, &sa);
	if (rc)
		return rc;
	rc = clear_stale(path, &sa);
	if (rc)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->be = *be;
	c->uid = geteuid();
	nat_ctl_default_limits(&c->lim);
	memcpy(c->path, sa.sun_path, sizeof(c->path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rc = -errno;
		goto fail;
	}
	/* Linux creates the socket file with the socket's own mode (less the
	 * umask): 0600 from the start, not only after the chmod below */
	if (fchmod(c->fd, 0600) != 0) {
		rc = -errno;
		goto fail;
	}
	if (bind(c->fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		goto fail;
	}
	/* root only (and the peer check below): mode 0600 before anyone can
	 * connect, i.e. before listen() */
	if (chmod(path, 0600) != 0 || stat(path, &st) != 0) {
		rc = -errno;
		unlink(path);
		goto fail;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (listen(c->fd, BACKLOG) != 0) {
		rc = -errno;
		unlink(path);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return rc;
}

int nat_ctl_set_limits(struct nat_ctl *c, const struct nat_ctl_limits *l)
{
	if (!c || !l || !limits_ok(l))
		return -EINVAL;
	c->lim = *l;
	return 0;
}

unsigned nat_ctl_clients(const struct nat_ctl *c)
{
	return c ? c->n_cl : 0;
}

/* One best-effort line to a socket we are about to close. */
static void say_and_close(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say_and_close(int fd, const char *fmt, ...)
{
	char msg[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0 && send(fd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1,
			  MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* nothing to do: it is closed either way */
	}
	close(fd);
}

static void client_free(struct client *cl)
{
	if (!cl)
		return;
	if (cl->fd >= 0)
		close(cl->fd);
	free(cl->in);
	free(cl->s.out.p);
	free(cl);
}

static void accept_some(struct nat_ctl *c)
{
	int k;

	for (k = 0; k < ACCEPTS_PER_POLL; k++) {
		struct ucred uc;
		socklen_t len = sizeof(uc);
		struct client *cl;
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN, or a transient error (EMFILE...): next poll */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
		    (uc.uid != 0 && uc.uid != c->uid)) {
			say_and_close(fd, "error: permission denied (uid %u; root only)\n",
				      len == sizeof(uc) ? (unsigned)uc.uid : 0u);
			continue;
		}
		if (c->n_cl >= c->lim.max_clients) {
			say_and_close(fd, "error: too many clients (at most %u)\n", c->lim.max_clients);
			continue;
		}
		if (c->n_cl == c->cap_cl) {
			unsigned cap = c->cap_cl ? c->cap_cl * 2 : 8;
			struct client **ncl = realloc(c->cl, cap * sizeof(*ncl));

			if (!ncl) {
				say_and_close(fd, "error: out of memory\n");
				continue;
			}
			c->cl = ncl;
			c->cap_cl = cap;
		}
		cl = calloc(1, sizeof(*cl));
		if (cl)
			cl->in = malloc((size_t)c->lim.max_request + 1);
		if (!cl || !cl->in) {
			free(cl);
			say_and_close(fd, "error: out of memory\n");
			continue;
		}
		cl->fd = fd;
		c->cl[c->n_cl++] = cl;
	}
}

static void client_read(struct nat_ctl *c, struct client *cl)
{
	size_t room = (size_t)c->lim.max_request + 1 - cl->in_len;
	ssize_t n;

	if (cl->eof || cl->s.quit || room == 0)
		return;
	n = recv(cl->fd, cl->in + cl->in_len, room, MSG_DONTWAIT);
	if (n > 0)
		cl->in_len += (size_t)n;
	else if (n == 0)
		cl->eof = true;
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		cl->dead = true;
}

/*
 * Take the next request line off the input and answer it.  A line that
 * does not fit max_request gets an error and the connection is closed
 * after it (the rest of that line cannot be told from a next request).
 * @return true if a request was answered.
 */
static bool next_request(struct nat_ctl *c, struct client *cl)
{
	char *nl = memchr(cl->in, '\n', cl->in_len);
	size_t n, used;
	bool answered;

	if (nl) {
		n = (size_t)(nl - cl->in);
		used = n + 1;
	} else if (cl->in_len > c->lim.max_request) {
		nat_ctl_out_printf(&cl->s.out, "error: request too long (at most %u bytes)\n",
				   c->lim.max_request);
		cl->in_len = 0;
		cl->s.quit = true;
		return true;
	} else if (cl->eof && cl->in_len) {
		n = used = cl->in_len; /* a last line without its newline */
	} else {
		return false;
	}
	if (n && cl->in[n - 1] == '\r')
		n--;
	if (memchr(cl->in, 0, n)) {
		nat_ctl_out_printf(&cl->s.out, "error: NUL byte in the request\n");
		answered = true;
	} else {
		cl->in[n] = 0;
		answered = nat_ctl_cmd_handle(&c->be, &cl->s, cl->in);
	}
	memmove(cl->in, cl->in + used, cl->in_len - used);
	cl->in_len -= used;
	return answered;
}

static void client_flush(struct client *cl)
{
	struct nat_ctl_out *o = &cl->s.out;

	while (nat_ctl_out_pending(o)) {
		ssize_t n = send(cl->fd, o->p + o->off, nat_ctl_out_pending(o),
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			o->off += (size_t)n;
			cl->sent += (uint64_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				cl->dead = true;
			break;
		}
	}
	if (!nat_ctl_out_pending(o))
		o->off = o->len = 0;
}

/* Bounded work for one client; @return requests answered. */
static int client_step(struct nat_ctl *c, struct client *cl)
{
	int k, answered = 0;

	cl->s.high = c->lim.out_high;
	cl->s.out.max_pending = c->lim.out_cap;
	client_read(c, cl);
	for (k = 0; k < REQUESTS_PER_POLL && !cl->dead && !cl->s.out.over; k++) {
		if (cl->s.walk != NAT_CTL_WALK_NONE) {
			/* one slice of a listing per poll */
			nat_ctl_cmd_continue(&c->be, &cl->s, c->lim.walk_budget);
			break;
		}
		if (cl->s.quit || nat_ctl_out_pending(&cl->s.out) >= c->lim.out_high)
			break; /* back-pressure: the next request waits */
		if (!next_request(c, cl))
			break;
		answered++;
	}
	if (cl->s.out.over) {
		cl->dead = true; /* past out_cap: it does not read what it asks for */
		return answered;
	}
	client_flush(cl);
	if (cl->dead)
		return answered;
	if (!nat_ctl_out_pending(&cl->s.out)) {
		cl->stall_since = 0;
		if (cl->s.walk == NAT_CTL_WALK_NONE &&
		    (cl->s.quit || (cl->eof && cl->in_len == 0)))
			cl->dead = true; /* answered everything it asked: close */
	} else {
		uint64_t now = mono_ms();

		if (!cl->stall_since || cl->sent != cl->stall_mark) {
			cl->stall_since = now;
			cl->stall_mark = cl->sent;
		} else if (now - cl->stall_since >= c->lim.stall_ms) {
			cl->dead = true;
		}
	}
	return answered;
}

int nat_ctl_poll(struct nat_ctl *c)
{
	unsigned i, j;
	int answered = 0;

	if (!c)
		return -EINVAL;
	accept_some(c);
	for (i = 0; i < c->n_cl; i++)
		answered += client_step(c, c->cl[i]);
	for (i = j = 0; i < c->n_cl; i++) {
		if (c->cl[i]->dead)
			client_free(c->cl[i]);
		else
			c->cl[j++] = c->cl[i];
	}
	c->n_cl = j;
	return answered;
}

void nat_ctl_free(struct nat_ctl *c)
{
	struct stat st;
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < c->n_cl; i++)
		client_free(c->cl[i]);
	free(c->cl);
	if (c->fd >= 0)
		close(c->fd);
	/* remove the socket file only if it is still the one we made */
	if (stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	free(c);
}

int nat_ctl_exec(const struct nat_ctl_backend *be, const char *req, char **out, size_t *out_len)
{
	struct nat_ctl_conn s;
	size_t n;
	char *line;
	int rc;

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!be || !req || !out || !backend_ok(be))
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	s.high = SIZE_MAX;
	s.out.max_pending = SIZE_MAX;
	n = strcspn(req, "\r\n");
	line = malloc(n + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, req, n);
	line[n] = 0;
	if (req[n] && req[n + strspn(req + n, "\r\n")])
		nat_ctl_out_printf(&s.out, "error: one request at a time\n");
	else if (!nat_ctl_cmd_handle(be, &s, line))
		nat_ctl_out_printf(&s.out, "error: empty request\n");
	while (s.walk != NAT_CTL_WALK_NONE && !s.out.over)
		nat_ctl_cmd_continue(be, &s, UINT32_MAX);
	free(line);
	if (s.out.over) {
		free(s.out.p);
		return -ENOMEM;
	}
	nat_ctl_out_printf(&s.out, "%s", ""); /* makes sure there is a buffer */
	if (s.out.over || !s.out.p) {
		free(s.out.p);
		return -ENOMEM;
	}
	s.out.p[s.out.len] = 0;
	/* the terminator is the last line */
	n = s.out.len;
	while (n && s.out.p[n - 1] == '\n')
		n--;
	while (n && s.out.p[n - 1] != '\n')
		n--;
	rc = strncmp(s.out.p + n, "ok", 2) == 0 ? 0 : -EINVAL;
	*out = s.out.p;
	if (out_len)
		*out_len = s.out.len;
	return rc;
}
