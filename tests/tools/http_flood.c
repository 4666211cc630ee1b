/* SPDX-License-Identifier: ISC */
/*
 * http_flood: a hostile HTTP client for the carapace-ocsp integration
 * tests, on plain sockets. SRC is the local address to connect from ("-":
 * any); Linux routes all of 127/8 to lo, so a test can flood from
 * 127.0.0.2 while its real clients use 127.0.0.1. Times are CLOCK_MONOTONIC
 * milliseconds, comparable between runs of this tool.
 *
 *   http_flood send SRC HOST PORT FILE SECS
 *	connect, send FILE's bytes, and wait up to SECS for an answer or a
 *	close; print "STATUS MS AT": the HTTP status (or "closed",
 *	"timeout"), how long after the send it came, and when.
 *   http_flood hold SRC HOST PORT N SECS
 *	open N connections one after another and send nothing; print
 *	"open N AT" once they are all up, then wait until all are closed
 *	or SECS have passed and print one line per connection, in the order
 *	opened: "I AT" (when the server closed it) or "I open".
 *   http_flood flood SRC HOST PORT N SECS
 *	keep N idle connections open for SECS (or until SIGTERM), reopening
 *	each as soon as the server closes it; print "flooding" once all N
 *	have been tried, and at the end "opened A closed C held_max H"
 *	(H: the most connections up and not yet closed by the server).
 *
 * Exit status: 0, or 1 on a usage or socket error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define FLOOD_MAX	8192

enum { S_FREE, S_CONNECTING, S_UP };

static volatile sig_atomic_t stop;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static struct sockaddr_in src_addr, dst_addr;
static int have_src;

static int
addrs_parse(const char *src, const char *host, const char *port)
{
	memset(&src_addr, 0, sizeof(src_addr));
	memset(&dst_addr, 0, sizeof(dst_addr));
	src_addr.sin_family = dst_addr.sin_family = AF_INET;
	if (strcmp(src, "-") != 0) {
		if (inet_pton(AF_INET, src, &src_addr.sin_addr) != 1) {
			fprintf(stderr, "http_flood: %s: not an IPv4 address\n",
			    src);
			return -1;
		}
		have_src = 1;
	}
	if (inet_pton(AF_INET, host, &dst_addr.sin_addr) != 1 ||
	    atoi(port) <= 0 || atoi(port) > 65535) {
		fprintf(stderr, "http_flood: %s:%s: not IPv4:PORT\n", host,
		    port);
		return -1;
	}
	dst_addr.sin_port = htons((uint16_t)atoi(port));
	return 0;
}

/*
 * sock_open starts a non-blocking connect from SRC. Returns the socket,
 * or -1 (errno set).
 */
static int
sock_open(void)
{
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return -1;
	if (have_src) {
#ifdef IP_BIND_ADDRESS_NO_PORT
		/* Choose the port at connect: the 4-tuple may share it. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
#endif
		if (bind(fd, (struct sockaddr *)&src_addr,
		    sizeof(src_addr)) != 0)
			goto fail;
	}
	(void)one;
	if (connect(fd, (struct sockaddr *)&dst_addr, sizeof(dst_addr)) != 0 &&
	    errno != EINPROGRESS)
		goto fail;
	return fd;
 fail:
	close(fd);
	return -1;
}

/* sock_wait_up waits up to ms for fd's connect. Returns 0 or -1. */
static int
sock_wait_up(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int err = 0;

	if (poll(&p, 1, ms) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0 || err != 0)
		return -1;
	return 0;
}

/* peer_closed: 1 when the server closed fd (EOF, reset), 0 if not yet. */
static int
peer_closed(int fd)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR ? 0 : 1;
	}
}

static void
nofile_raise(size_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
		rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
do_send(const char *file, int secs)
{
	static char buf[65536];
	char answer[64];
	size_t len, got = 0;
	long long t0, t1, deadline;
	struct pollfd p;
	ssize_t n;
	FILE *f;
	int fd, status;

	if ((f = fopen(file, "rb")) == NULL) {
		perror(file);
		return 1;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if ((fd = sock_open()) < 0 || sock_wait_up(fd, secs * 1000) != 0) {
		perror("http_flood: connect");
		return 1;
	}
	t0 = now_ms();
	deadline = t0 + secs * 1000LL;
	if (len > 0 && send(fd, buf, len, MSG_NOSIGNAL) < 0)
		deadline = 0;	/* closed already */
	p.fd = fd;
	p.events = POLLIN;
	while (got < sizeof(answer) - 1 && now_ms() < deadline) {
		if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		n = recv(fd, answer + got, sizeof(answer) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		answer[got] = '\0';
		if (strchr(answer, '\n') != NULL)
			break;
	}
	answer[got] = '\0';
	t1 = now_ms();
	if (got > 0 && sscanf(answer, "HTTP/1.%*d %d", &status) == 1)
		printf("%d %lld %lld\n", status, t1 - t0, t1);
	else
		printf("%s %lld %lld\n", deadline != 0 && t1 >= deadline ?
		    "timeout" : "closed", t1 - t0, t1);
	close(fd);
	return 0;
}

static int
do_hold(size_t n, int secs)
{
	int fd[FLOOD_MAX];
	long long at[FLOOD_MAX], deadline;
	struct pollfd p[FLOOD_MAX];
	size_t i, open_n;

	for (i = 0; i < n; i++) {
		if ((fd[i] = sock_open()) < 0 || sock_wait_up(fd[i], 5000)
		    != 0) {
			perror("http_flood: connect");
			return 1;
		}
		at[i] = 0;
	}
	printf("open %zu %lld\n", n, now_ms());
	fflush(stdout);
	deadline = now_ms() + secs * 1000LL;
	for (open_n = n; open_n > 0 && now_ms() < deadline && !stop;) {
		for (i = 0; i < n; i++) {
			p[i].fd = at[i] == 0 ? fd[i] : -1;
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, n, 100) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (p[i].revents != 0 && peer_closed(fd[i])) {
				at[i] = now_ms();
				open_n--;
			}
	}
	for (i = 0; i < n; i++) {
		if (at[i] != 0)
			printf("%zu %lld\n", i, at[i]);
		else
			printf("%zu open\n", i);
		close(fd[i]);
	}
	return 0;
}

static int
do_flood(size_t n, int secs)
{
	static int fd[FLOOD_MAX], state[FLOOD_MAX];
	static struct pollfd p[FLOOD_MAX];
	unsigned long long opened = 0, closed = 0;
	size_t i, up = 0, held_max = 0;
	long long deadline = now_ms() + secs * 1000LL;
	socklen_t sl;
	int err, said = 0;

	for (i = 0; i < n; i++)
		state[i] = S_FREE;
	while (!stop && now_ms() < deadline) {
		for (i = 0; i < n; i++) {
			if (state[i] == S_FREE) {
				if ((fd[i] = sock_open()) < 0)
					continue;	/* retried next round */
				state[i] = S_CONNECTING;
				opened++;
			}
			p[i].fd = fd[i];
			p[i].events = state[i] == S_CONNECTING ? POLLOUT :
			    POLLIN;
			p[i].revents = 0;
		}
		if (!said) {
			printf("flooding\n");
			fflush(stdout);
			said = 1;
		}
		for (i = 0; i < n; i++)
			if (state[i] == S_FREE)
				p[i].fd = -1;
		if (poll(p, n, 100) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (p[i].revents == 0 || state[i] == S_FREE)
				continue;
			if (state[i] == S_CONNECTING) {
				err = 0;
				sl = sizeof(err);
				getsockopt(fd[i], SOL_SOCKET, SO_ERROR, &err,
				    &sl);
				if (err == 0 && !(p[i].revents &
				    (POLLERR | POLLHUP))) {
					state[i] = S_UP;
					if (++up > held_max)
						held_max = up;
					continue;
				}
			} else if (!peer_closed(fd[i]))
				continue;
			else
				up--;
			close(fd[i]);
			state[i] = S_FREE;
			closed++;
		}
	}
	printf("opened %llu closed %llu held_max %zu\n", opened, closed,
	    held_max);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	long n;

	if (argc != 7 || addrs_parse(argv[2], argv[3], argv[4]) != 0) {
		fprintf(stderr, "usage: http_flood send|hold|flood SRC HOST "
		    "PORT FILE|N SECS\n");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "send") == 0)
		return do_send(argv[5], atoi(argv[6]));
	n = atol(argv[5]);
	if (n < 1 || n > FLOOD_MAX) {
		fprintf(stderr, "http_flood: N: 1 to %d\n", FLOOD_MAX);
		return 1;
	}
	nofile_raise((size_t)n);
	if (strcmp(argv[1], "hold") == 0)
		return do_hold((size_t)n, atoi(argv[6]));
	if (strcmp(argv[1], "flood") == 0)
		return do_flood((size_t)n, atoi(argv[6]));
	fprintf(stderr, "http_flood: %s: not send, hold or flood\n", argv[1]);
	return 1;
}
