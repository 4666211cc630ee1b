/* SPDX-License-Identifier: ISC */
/*
 * log-bench: how many certificate records per second the issuance log
 * commits durably, with one row per commit (one thread) and with group
 * commit (N threads calling issuance_log_complete at once), and how many
 * whole issuance cycles it carries from N threads: what carapace-issuer
 * does per request (token lookup by hash, reserve, complete). A benchmark,
 * not a test: it prints figures and checks only that every row landed.
 *
 *   bench/log-bench [-n ROWS] [-t THREADS] [-d DIR]
 *
 * The log is created in DIR (default $TMPDIR or /tmp), which must be on a
 * real disk for the fsync to mean anything, and removed afterwards.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"

static const uint8_t kid[20] = { 0xbe, 0x4c };

struct worker {
	struct issuance_log *log;
	uint8_t (*serials)[ISSUANCE_LOG_SERIAL_LEN];
	size_t from, to;
	int failures;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * bench_request fills req and c with a 1 KB certificate record whose
 * buffers are der[BENCH_DER_LEN] and ev[32]; the caller sets the serial
 * and varies der[8] per certificate.
 */
#define BENCH_DER_LEN	1024
static void
bench_request(struct issuance_completion *req, struct issuance_cert *c,
    uint8_t der[BENCH_DER_LEN], uint8_t ev[32])
{
	memset(der, 0x5a, BENCH_DER_LEN);
	der[0] = 0x30;
	memset(ev, 0xee, 32);
	memset(c, 0, sizeof(*c));
	c->subject = (char *)"CN=bench.example";
	c->names = (char *)"DNS:bench.example";
	c->not_before = 1800000000;
	c->not_after = 1800086400;
	c->der = der;
	c->der_len = BENCH_DER_LEN;
	c->requester = (char *)"bench";
	c->attestation = (char *)"x509pop";
	c->evidence = ev;
	c->evidence_len = 32;
	memset(req, 0, sizeof(*req));
	req->cert = c;
}

static void *
complete_range(void *arg)
{
	struct worker *w = arg;
	struct issuance_completion req;
	struct issuance_cert c;
	uint8_t der[BENCH_DER_LEN], ev[32];
	size_t i;

	bench_request(&req, &c, der, ev);
	for (i = w->from; i < w->to; i++) {
		memcpy(c.serial, w->serials[i], ISSUANCE_LOG_SERIAL_LEN);
		der[8] = (uint8_t)i;	/* each certificate differs */
		if (issuance_log_complete(w->log, &req) != CA_OK)
			w->failures++;
	}
	return NULL;
}

/* The issuer's cycle: an early token lookup, reserve, complete. */
static void *
cycle_range(void *arg)
{
	struct worker *w = arg;
	struct issuance_completion req;
	struct issuance_cert c;
	struct join_token *t;
	uint8_t der[BENCH_DER_LEN], ev[32], hash[ISSUANCE_LOG_HASH_LEN];
	size_t i;

	issuance_log_token_hash(hash, "bench", 5);
	bench_request(&req, &c, der, ev);
	for (i = w->from; i < w->to; i++) {
		t = NULL;
		if (issuance_log_token_find_hash(w->log, &t, hash) != CA_OK ||
		    issuance_log_reserve(w->log, c.serial, kid, sizeof(kid)) !=
		    CA_OK) {
			join_token_free(t);
			w->failures++;
			continue;
		}
		join_token_free(t);
		der[8] = (uint8_t)i;
		if (issuance_log_complete(w->log, &req) != CA_OK)
			w->failures++;
	}
	return NULL;
}

/* cycles runs n issuance cycles from t threads; returns cycles/s. */
static double
cycles(struct issuance_log *log, size_t n, int t, int *failures)
{
	struct worker *w;
	pthread_t *th;
	double start, secs;
	int k;

	w = calloc((size_t)t, sizeof(*w));
	th = calloc((size_t)t, sizeof(*th));
	if (w == NULL || th == NULL) {
		fprintf(stderr, "log-bench: out of memory\n");
		exit(1);
	}
	start = now_s();
	for (k = 0; k < t; k++) {
		w[k].log = log;
		w[k].from = n * (size_t)k / (size_t)t;
		w[k].to = n * (size_t)(k + 1) / (size_t)t;
		if (pthread_create(&th[k], NULL, cycle_range, &w[k]) != 0) {
			fprintf(stderr, "log-bench: pthread_create failed\n");
			exit(1);
		}
	}
	for (k = 0; k < t; k++) {
		pthread_join(th[k], NULL);
		*failures += w[k].failures;
	}
	secs = now_s() - start;
	free(w);
	free(th);
	return (double)n / secs;
}

/* run completes n reserved rows with t threads; returns rows/s. */
static double
run(struct issuance_log *log, size_t n, int t, int *failures)
{
	uint8_t (*serials)[ISSUANCE_LOG_SERIAL_LEN];
	struct worker *w;
	pthread_t *th;
	double start, secs;
	size_t i;
	int k;

	serials = calloc(n, ISSUANCE_LOG_SERIAL_LEN);
	w = calloc((size_t)t, sizeof(*w));
	th = calloc((size_t)t, sizeof(*th));
	if (serials == NULL || w == NULL || th == NULL) {
		fprintf(stderr, "log-bench: out of memory\n");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		if (issuance_log_reserve(log, serials[i], kid, sizeof(kid)) !=
		    CA_OK) {
			fprintf(stderr, "log-bench: reserve: %s\n",
			    ca_error_detail());
			exit(1);
		}
	}
	start = now_s();
	for (k = 0; k < t; k++) {
		w[k].log = log;
		w[k].serials = serials;
		w[k].from = n * (size_t)k / (size_t)t;
		w[k].to = n * (size_t)(k + 1) / (size_t)t;
		if (pthread_create(&th[k], NULL, complete_range, &w[k]) != 0) {
			fprintf(stderr, "log-bench: pthread_create failed\n");
			exit(1);
		}
	}
	for (k = 0; k < t; k++) {
		pthread_join(th[k], NULL);
		*failures += w[k].failures;
	}
	secs = now_s() - start;
	free(serials);
	free(w);
	free(th);
	return (double)n / secs;
}

int
main(int argc, char **argv)
{
	struct issuance_log *log = NULL;
	struct issuance_verify_report rep;
	struct join_token tok;
	const char *d = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	char path[512], side[600];
	size_t n = 4000;
	uint64_t c0, r0;
	double single, group, cycle;
	int t = 16, ch, failures = 0, rc;

	while ((ch = getopt(argc, argv, "n:t:d:")) != -1) {
		switch (ch) {
		case 'n':
			n = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			t = atoi(optarg);
			break;
		case 'd':
			d = optarg;
			break;
		default:
			fprintf(stderr, "usage: log-bench [-n rows] "
			    "[-t threads] [-d dir]\n");
			return 2;
		}
	}
	if (n == 0 || t < 1 || t > 1024) {
		fprintf(stderr, "log-bench: need -n > 0 and 1 <= -t <= 1024\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/log-bench-%ld.db", d, (long)getpid());
	if ((rc = issuance_log_create(path, (gid_t)-1)) != CA_OK ||
	    (rc = issuance_log_open(&log, path)) != CA_OK) {
		fprintf(stderr, "log-bench: %s\n", ca_error_detail());
		return 1;
	}
	memset(&tok, 0, sizeof(tok));
	tok.id = (char *)"t-bench";
	issuance_log_token_hash(tok.hash, "bench", 5);
	tok.identity = (char *)"bench";
	tok.allowed_names = (char *)"DNS:bench.example";
	tok.profile = (char *)"server";
	tok.expires_at = (int64_t)time(NULL) + 3600;
	if ((rc = issuance_log_token_create(log, &tok)) != CA_OK) {
		fprintf(stderr, "log-bench: %s\n", ca_error_detail());
		return 1;
	}
	single = run(log, n, 1, &failures);
	c0 = log->commits;
	r0 = log->committed_rows;
	group = run(log, n, t, &failures);
	cycle = cycles(log, n, t, &failures);
	printf("issuance log, every commit durable (WAL fsynced), %zu rows of "
	    "1 KB DER each\n", n);
	printf("  1 row per commit (1 thread):   %8.0f rows/s\n", single);
	printf("  group commit (%3d threads):    %8.0f rows/s  "
	    "(%.1f rows per commit, %.1fx)\n", t, group,
	    (double)(log->committed_rows - r0) /
	    (double)(log->commits - c0 > 0 ? log->commits - c0 : 1),
	    group / single);
	printf("  lookup+reserve+complete (%3d threads): %8.0f cycles/s\n", t,
	    cycle);
	if ((rc = issuance_log_verify(log, &rep)) != CA_OK || failures != 0 ||
	    rep.entries != (int64_t)(3 * n + 1)) {
		fprintf(stderr, "log-bench: %d failures, %lld entries, "
		    "verify: %s\n", failures, (long long)rep.entries,
		    rc == CA_OK ? "ok" : ca_error_detail());
		rc = 1;
	}
	issuance_log_close(log);
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s" ISSUANCE_LOG_HEAD_SUFFIX, path);
	unlink(side);
	return rc == CA_OK ? 0 : 1;
}
