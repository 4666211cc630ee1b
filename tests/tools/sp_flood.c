/* SPDX-License-Identifier: ISC */
/*
 * sp_flood: a hostile SP/TCP client for tests/integration/issuer_flood.sh.
 * It opens many raw TCP connections to an nng REP listener, sends the
 * 8-byte SP handshake of a REQ peer (0x00 'S' 'P' 0x00, protocol 0x0030
 * big-endian, 2 reserved bytes) and then nothing, or, with -a, the 8-byte
 * big-endian length of a message of BYTES bytes followed by its first 4
 * bytes (the REQ request id), and never the rest. It holds the
 * connections and watches which ones the server closes and when.
 *
 * A connection's life is counted from the server's handshake (nng sends
 * it when it takes the connection off the listen queue), not from the TCP
 * connect, so that time spent in the kernel's queue on a busy machine does
 * not make a refused connection look held.
 *
 *   sp_flood [-b SRC]... [-n N] [-a BYTES] [-r MS] [-t SECONDS] [-h MS]
 *	HOST PORT
 *	-b SRC	  bind the connections to source address SRC (several -b:
 *		  round robin), e.g. 127.0.0.2: Linux routes all of 127/8
 *		  to lo, so the flood comes from another peer than the tests'
 *		  legitimate clients on 127.0.0.1
 *	-n N	  connections (default 1100)
 *	-a BYTES  announce a message of BYTES bytes after the handshake
 *	-r MS	  reopen a connection MS ms after the server closed it
 *		  (default 0: never)
 *	-t SECONDS  how long to run (default 10)
 *	-h MS	  a connection that lived MS ms or more was held by the
 *		  server, not refused (default 1000)
 *
 * When it ends it prints one line of key=value counts:
 *   opened      connections established
 *   failed      connects that failed (refused, reset, timed out)
 *   closed      connections the server closed
 *   quick       of those, closed within the -h time of being opened
 *   late        closed after the -h time or more
 *   max_life_ms the longest a connection lived before the server closed it
 *		 (0 for one closed before the server's handshake)
 *   open        connections still open at the end
 *   max_open    the most open at once
 *   max_held    the most open at once that were as old as -h or older:
 *		 the connections the server holds, not the ones it is
 *		 about to refuse
 * Exit 0, or 2 for usage and local errors. IPv4 only.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SRC		16
#define REQ_PROTO	0x30

enum slot_state { S_IDLE, S_CONNECTING, S_HELD, S_DEAD };

struct slot {
	enum slot_state st;
	int fd;
	int64_t t_hs;		/* when the server's handshake came, or 0 */
	int64_t t_next;		/* S_IDLE: when to connect */
};

static struct in_addr src[MAX_SRC];
static int nsrc;
static long announce = -1;
static long reopen_ms, held_ms = 1000;
static struct sockaddr_in dst;
static long n_opened, n_failed, n_closed, n_quick, n_late, max_life,
    n_open, max_open, max_held;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sp_flood [-b SRC]... [-n N] [-a BYTES] "
	    "[-r MS] [-t SECONDS] [-h MS] HOST PORT\n");
	exit(2);
}

static long
num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max)
		usage();
	return v;
}

/* slot_connect: a non-blocking connect from the next source address. */
static void
slot_connect(struct slot *sl, int i)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0) {
		n_failed++;
		sl->st = S_DEAD;
		return;
	}
	if (nsrc > 0) {
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr = src[i % nsrc];
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fd);
			n_failed++;
			sl->st = S_DEAD;
			return;
		}
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		n_failed++;
		sl->st = reopen_ms > 0 ? S_IDLE : S_DEAD;
		sl->t_next = now_ms() + reopen_ms;
		return;
	}
	sl->fd = fd;
	sl->st = S_CONNECTING;
}

/* slot_hello: the SP handshake and, with -a, a length and 4 bytes. */
static int
slot_hello(struct slot *sl)
{
	uint8_t b[20] = { 0, 'S', 'P', 0, 0, REQ_PROTO, 0, 0 };
	size_t len = 8;
	uint64_t n;
	int i;

	if (announce >= 0) {
		n = (uint64_t)announce;
		for (i = 0; i < 8; i++)
			b[8 + i] = (uint8_t)(n >> (56 - 8 * i));
		b[16] = 0x80;	/* a request id has its top bit set */
		b[19] = 1;
		len = announce >= 4 ? 20 : 16;
	}
	return send(sl->fd, b, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static void
slot_end(struct slot *sl, int by_server)
{
	int64_t life = sl->t_hs != 0 ? now_ms() - sl->t_hs : 0;

	close(sl->fd);
	sl->fd = -1;
	if (by_server) {
		n_closed++;
		if (life < held_ms)
			n_quick++;
		else
			n_late++;
		if (life > max_life)
			max_life = (long)life;
	}
	n_open--;
	sl->st = reopen_ms > 0 ? S_IDLE : S_DEAD;
	sl->t_next = now_ms() + reopen_ms;
}

int
main(int argc, char **argv)
{
	struct rlimit rl;
	struct slot *slots;
	struct pollfd *pfd;
	int *idx;
	long n = 1100, secs = 10;
	int64_t end;
	int ch, i;

	while ((ch = getopt(argc, argv, "b:n:a:r:t:h:")) != -1) {
		switch (ch) {
		case 'b':
			if (nsrc == MAX_SRC ||
			    inet_pton(AF_INET, optarg, &src[nsrc]) != 1)
				usage();
			nsrc++;
			break;
		case 'n':
			n = num(optarg, 1, 100000);
			break;
		case 'a':
			announce = num(optarg, 0, 1L << 30);
			break;
		case 'r':
			reopen_ms = num(optarg, 0, 60000);
			break;
		case 't':
			secs = num(optarg, 1, 3600);
			break;
		case 'h':
			held_ms = num(optarg, 1, 3600000);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)num(argv[optind + 1], 1, 65535));
	if (inet_pton(AF_INET, argv[optind], &dst.sin_addr) != 1)
		usage();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((slots = calloc((size_t)n, sizeof(*slots))) == NULL ||
	    (pfd = calloc((size_t)n, sizeof(*pfd))) == NULL ||
	    (idx = calloc((size_t)n, sizeof(*idx))) == NULL) {
		fprintf(stderr, "sp_flood: out of memory\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		slots[i].fd = -1;
		slots[i].st = S_IDLE;
	}
	end = now_ms() + secs * 1000;
	while (now_ms() < end) {
		int64_t t = now_ms();
		int np = 0, r, k;
		long held = 0;

		for (i = 0; i < n; i++) {
			struct slot *sl = &slots[i];

			if (sl->st == S_HELD && sl->t_hs != 0 &&
			    t - sl->t_hs >= held_ms)
				held++;
			if (sl->st == S_IDLE && t >= sl->t_next)
				slot_connect(sl, i);
			if (sl->st == S_CONNECTING || sl->st == S_HELD) {
				pfd[np].fd = sl->fd;
				pfd[np].events = sl->st == S_CONNECTING ?
				    POLLOUT : POLLIN;
				pfd[np].revents = 0;
				idx[np++] = i;
			}
		}
		if (held > max_held)
			max_held = held;
		if ((r = poll(pfd, (nfds_t)np, 50)) < 0 && errno != EINTR) {
			perror("sp_flood: poll");
			return 2;
		}
		for (k = 0; k < np && r > 0; k++) {
			struct slot *sl = &slots[idx[k]];
			char buf[512];
			ssize_t got;
			int err = 0;
			socklen_t el = sizeof(err);

			if (pfd[k].revents == 0)
				continue;
			if (sl->st == S_CONNECTING) {
				if (getsockopt(sl->fd, SOL_SOCKET, SO_ERROR,
				    &err, &el) != 0 || err != 0 ||
				    slot_hello(sl) != 0) {
					close(sl->fd);
					sl->fd = -1;
					n_failed++;
					sl->st = reopen_ms > 0 ? S_IDLE :
					    S_DEAD;
					sl->t_next = now_ms() + reopen_ms;
					continue;
				}
				sl->st = S_HELD;
				sl->t_hs = 0;
				n_opened++;
				if (++n_open > max_open)
					max_open = n_open;
				continue;
			}
			/* S_HELD: the server's handshake, or the end. */
			while ((got = recv(sl->fd, buf, sizeof(buf), 0)) > 0)
				if (sl->t_hs == 0)
					sl->t_hs = now_ms();
			if (got == 0 || (errno != EAGAIN &&
			    errno != EWOULDBLOCK && errno != EINTR))
				slot_end(sl, 1);
		}
	}
	printf("opened=%ld failed=%ld closed=%ld quick=%ld late=%ld "
	    "max_life_ms=%ld open=%ld max_open=%ld max_held=%ld\n", n_opened,
	    n_failed, n_closed, n_quick, n_late, max_life, n_open, max_open,
	    max_held);
	for (i = 0; i < n; i++)
		if (slots[i].fd >= 0)
			close(slots[i].fd);
	free(slots);
	free(pfd);
	free(idx);
	return 0;
}
