/* SPDX-License-Identifier: ISC */
/*
 * race_client: a "usage: race_client [-i] [-o CERT] [-w SECONDS] "
	    "race|load|issue|replay|nonce-forged|renew-race|raw|tokens "
	    "args...\n" wire-protocol client for the issuer's integration
 * tests and bench/issue-bench. It speaks protocol/protocol.h directly, so
 * the tests can send what carapace(1) never would (the same join token
 * from 32 threads at once, a replayed nonce, a CSR made by openssl with an
 * RSA-1024 key or CA powers, bytes that are not DER at all) and see the
 * server's answer unfiltered.
 *
 *   race_client [-w SECONDS] race URL TOKENFILE N NAME OUTDIR
 *	N threads, each with its own P-256 key and CSR for NAME, send the
 *	same join token at the same moment. Writes OUTDIR/I.status
 *	("statusName: message") and, for an ok answer, OUTDIR/I.der.
 *   race_client [-w SECONDS] load URL TOKENLIST N NAME OUTDIR
 *	throughput: N threads share the tokens in TOKENLIST (one per line),
 *	one request per token, each with a new P-256 key (keys and requests
 *	are made before the clock starts); certificates go to OUTDIR/K.der
 *	as they arrive. Prints certificates/s, p50/p99 latency, client CPU.
 *   race_client [-w SECONDS] [-o CERT] issue URL TOKENFILE CSR [LIFETIME]
 *	one issue request with the given CSR (PEM or DER, sent as is);
 *	with -o, the certificate of an ok answer is written to CERT (DER).
 *   race_client [-w SECONDS] replay URL CERT KEY NAME...
 *	x509pop: one nonce, one CSR (new key, NAMEs) signed with KEY, sent
 *	twice; prints both answers.
 *   race_client [-w SECONDS] nonce-forged URL CERT KEY NAME...
 *	x509pop with a nonce the server never issued.
 *   race_client [-w SECONDS] renew-race URL CERT KEY N NAME OUTDIR
 *	x509pop renewals of CERT (PEM, leaf first; KEY its key) from N
 *	threads, each on its own connection, released together, each
 *	renewing again and again (nonce, CSR for NAME, signed request)
 *	until an answer says the certificate is revoked, another thread
 *	heard that, or -w SECONDS pass. Certificates go to OUTDIR/I-K.der,
 *	and OUTDIR/I.status says "N ok, M refused, last: ...". Exit 0 when
 *	some client was told the certificate is revoked, else 1.
 *   race_client [-w SECONDS] raw URL FILE
 *	sends the bytes of FILE as one message.
 *   race_client [-w SECONDS] tokens OPURL N IDENTITY PROFILE TTL OUT GRANT...
 *	creates N join tokens on the operator socket in one connection (for
 *	the load tests; carapace token create makes one per process) and
 *	writes them to OUT (mode 0600), one per line. GRANTs are sent as
 *	given ("DNS:*.bench.example.internal").
 *
 * Each answer is printed on standard output as "statusName: message", or
 * "no answer: ..." when nothing came back within -w seconds (default 20).
 * Exit status: 0 when the (last) answer was ok, 1 when it was a refusal, 3
 * when there was no answer, 2 for usage or local errors.
 *
 * A token file holds the token as carapace token create writes it,
 * "cpt1.<32 hex id>.<43 base64url secret>" (attest/join_token.h); the id is
 * sent as its hex string. Tokens are never printed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "protocol/protocol.h"

#define TOKEN_ID_HEX	32
#define TOKEN_SECRET	32

struct token {
	char id[TOKEN_ID_HEX + 1];
	uint8_t secret[TOKEN_SECRET];
};

static int wait_s = 20;
/*
 * -i: load writes each certificate to its file as soon as it arrives (the
 * crash test counts them while the load runs); without it they are kept in
 * memory and written after the clock stops (the benchmark).
 */
static int write_now;
/* -o: where issue writes the certificate of an ok answer. */
static const char *cert_out;

static void
usage(void)
{
	fprintf(stderr, "usage: race_client [-i] [-w SECONDS] "
	    "race|load|issue|replay|nonce-forged|raw|tokens args...\n");
	exit(2);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* token_parse: "cpt1.<hex id>.<base64url secret>" into t; 0 or -1. */
static int
token_parse(struct token *t, const char *s)
{
	size_t len = strlen(s), bin_len = 0;
	const char *end = NULL;
	size_t i;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len != 5 + TOKEN_ID_HEX + 1 + 43 || strncmp(s, "cpt1.", 5) != 0 ||
	    s[5 + TOKEN_ID_HEX] != '.')
		return -1;
	for (i = 0; i < TOKEN_ID_HEX; i++) {
		char c = s[5 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		t->id[i] = c;
	}
	t->id[TOKEN_ID_HEX] = '\0';
	if (sodium_base642bin(t->secret, sizeof(t->secret),
	    s + 5 + TOKEN_ID_HEX + 1, 43, NULL, &bin_len, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    bin_len != TOKEN_SECRET)
		return -1;
	return 0;
}

/* tokens_read: every non-empty line of path; *n of them. NULL on error. */
static struct token *
tokens_read(const char *path, size_t *n)
{
	FILE *f;
	char line[256];
	struct token *v = NULL, *nv;
	size_t cap = 0;

	*n = 0;
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "race_client: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '\n' || line[0] == '\0')
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto bad;
			v = nv;
		}
		if (token_parse(&v[*n], line) != 0) {
			fprintf(stderr, "race_client: %s: line %zu is not a "
			    "cpt1 join token\n", path, *n + 1);
			goto bad;
		}
		(*n)++;
	}
	fclose(f);
	sodium_memzero(line, sizeof(line));
	if (*n == 0) {
		fprintf(stderr, "race_client: %s: no token\n", path);
		free(v);
		return NULL;
	}
	return v;
 bad:
	fclose(f);
	sodium_memzero(line, sizeof(line));
	free(v);
	return NULL;
}

static int
file_read(const char *path, uint8_t **out, size_t *len)
{
	FILE *f;
	uint8_t *buf = NULL, *nb;
	size_t cap = 0, n;

	*out = NULL;
	*len = 0;
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "race_client: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (*len == cap) {
			cap = cap ? 2 * cap : 4096;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		if (n == 0)
			break;
		*len += n;
	}
	fclose(f);
	*out = buf;
	return 0;
}

static int
file_write(const char *path, const void *buf, size_t len)
{
	FILE *f;
	int ok;

	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(buf, 1, len, f) == len;
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* --- nng --- */

static int
conn_open(nng_socket *s, const char *url)
{
	int rv;

	if ((rv = nng_req0_open(s)) != 0) {
		fprintf(stderr, "race_client: nng_req0_open: %s\n",
		    nng_strerror(rv));
		return -1;
	}
	nng_socket_set_size(*s, NNG_OPT_RECVMAXSZ, PROTOCOL_MAX_MESSAGE);
	nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, wait_s * 1000);
	nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO, wait_s * 1000);
	/* Never resend on a timer: a second copy would find its token used. */
	nng_socket_set_ms(*s, NNG_OPT_REQ_RESENDTIME, 600 * 1000);
	nng_socket_set_ms(*s, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(*s, NNG_OPT_RECONNMAXT, 200);
	if ((rv = nng_dial(*s, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		fprintf(stderr, "race_client: %s: %s\n", url, nng_strerror(rv));
		nng_close(*s);
		return -1;
	}
	return 0;
}

/*
 * exchange sends buf and decodes the answer into *resp. Returns 0 and a
 * response, or -1 with *err set (no answer, or an answer that does not
 * decode).
 */
static int
exchange(nng_socket s, PROTO_RESPONSE **resp, const uint8_t *buf, size_t len,
    char *err, size_t errlen)
{
	void *in = NULL;
	size_t inlen = 0;
	enum protocol_status st;
	int rv;

	*resp = NULL;
	if ((rv = nng_send(s, (void *)buf, len, 0)) != 0) {
		snprintf(err, errlen, "no answer: send: %s", nng_strerror(rv));
		return -1;
	}
	if ((rv = nng_recv(s, &in, &inlen, NNG_FLAG_ALLOC)) != 0) {
		snprintf(err, errlen, "no answer: %s", nng_strerror(rv));
		return -1;
	}
	rv = protocol_response_decode(resp, &st, in, inlen);
	nng_free(in, inlen);
	if (rv != CA_OK) {
		snprintf(err, errlen, "undecodable answer: %s",
		    ca_error_detail());
		return -1;
	}
	return 0;
}

static long
resp_status(const PROTO_RESPONSE *r)
{
	return protocol_response_status(r);
}

/* resp_line formats "statusName: message" into buf. */
static void
resp_line(char *buf, size_t len, const PROTO_RESPONSE *r)
{
	const ASN1_UTF8STRING *m = r->message;

	snprintf(buf, len, "%s: %.*s", protocol_status_name(resp_status(r)),
	    m ? ASN1_STRING_length(m) : 0,
	    m ? (const char *)ASN1_STRING_get0_data(m) : "");
}

/* --- CSRs --- */

/* csr_make: a new P-256 key and a DER CSR for the names (CN = names[0]). */
static int
csr_make(uint8_t **der, size_t *der_len, EVP_PKEY **keyp,
    char *const *names, int nnames)
{
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	X509_EXTENSION *ext = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	char san[4096];
	size_t off = 0;
	unsigned char *p = NULL;
	int i, len, ret = -1;

	*der = NULL;
	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    (req = X509_REQ_new()) == NULL ||
	    (subj = X509_NAME_new()) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL)
		goto out;
	if (!X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)names[0], -1, -1, 0) ||
	    !X509_REQ_set_subject_name(req, subj) ||
	    !X509_REQ_set_pubkey(req, key))
		goto out;
	san[0] = '\0';
	for (i = 0; i < nnames; i++) {
		int n = snprintf(san + off, sizeof(san) - off, "%sDNS:%s",
		    i ? "," : "", names[i]);
		if (n < 0 || (size_t)n >= sizeof(san) - off)
			goto out;
		off += n;
	}
	if ((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    san)) == NULL || !sk_X509_EXTENSION_push(exts, ext))
		goto out;
	ext = NULL;
	if (!X509_REQ_add_extensions(req, exts) ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto out;
	if ((len = i2d_X509_REQ(req, &p)) <= 0)
		goto out;
	*der = p;
	*der_len = len;
	if (keyp != NULL) {
		*keyp = key;
		key = NULL;
	}
	ret = 0;
 out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return ret;
}

/* issue_encode: an issue request with a join token; DER in *out. */
static int
issue_encode(uint8_t **out, size_t *out_len, const uint8_t *csr,
    size_t csr_len, const struct token *t, long long lifetime)
{
	PROTO_ATTESTATION *att;
	PROTO_REQUEST *req;
	int rc;

	if ((att = protocol_attest_join_token(t->id, t->secret,
	    sizeof(t->secret))) == NULL)
		return -1;
	if ((req = protocol_request_issue(csr, csr_len, att, lifetime)) == NULL)
		return -1;
	rc = protocol_request_encode(out, out_len, req);
	PROTO_REQUEST_free(req);
	if (rc != CA_OK) {
		fprintf(stderr, "race_client: encode: %s\n", ca_error_detail());
		return -1;
	}
	return 0;
}

/* issued_write writes the certificate of an ok issue answer to path. */
static int
issued_write(const PROTO_RESPONSE *r, const char *path)
{
	const ASN1_OCTET_STRING *c;

	if (r->body == NULL || r->body->type != PROTO_RESP_ISSUED ||
	    (c = r->body->value.issued->certificate) == NULL)
		return -1;
	return file_write(path, ASN1_STRING_get0_data(c), ASN1_STRING_length(c));
}

/* --- client threads --- */

/* One client thread of race or renew-race. */
struct thr {
	void *run;			/* the run's shared state */
	pthread_barrier_t *barrier;	/* every client ready: go */
	int i;				/* its number, 0..n-1 */
	pthread_t tid;
};

/*
 * threads_run runs n threads of fn, each given its struct thr (the shared
 * run, a barrier of n they wait on once ready, its number), and waits for
 * them all; 0, or -1 when out of memory.
 */
static int
threads_run(int n, void *(*fn)(void *), void *run)
{
	pthread_barrier_t barrier;
	struct thr *t;
	int i;

	if ((t = calloc(n, sizeof(*t))) == NULL)
		return -1;
	pthread_barrier_init(&barrier, NULL, n);
	for (i = 0; i < n; i++) {
		t[i].run = run;
		t[i].barrier = &barrier;
		t[i].i = i;
		if (pthread_create(&t[i].tid, NULL, fn, &t[i]) != 0)
			abort();
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i].tid, NULL);
	pthread_barrier_destroy(&barrier);
	free(t);
	return 0;
}

/* --- race --- */

struct race {
	const char *url, *name, *outdir;
	struct token tok;
};

static void *
race_main(void *arg)
{
	struct thr *t = arg;
	struct race *r = t->run;
	nng_socket s = NNG_SOCKET_INITIALIZER;
	PROTO_RESPONSE *resp = NULL;
	uint8_t *csr = NULL, *msg = NULL;
	size_t csr_len = 0, msg_len = 0;
	char line[1200], path[4096];
	char *names[1];
	int opened = 0;

	names[0] = (char *)r->name;
	snprintf(line, sizeof(line), "local error");
	if (csr_make(&csr, &csr_len, NULL, names, 1) != 0 ||
	    issue_encode(&msg, &msg_len, csr, csr_len, &r->tok, 0) != 0)
		goto wait;
	if (conn_open(&s, r->url) == 0)
		opened = 1;
	/* Let every socket connect before the start. */
	usleep(300 * 1000);
 wait:
	pthread_barrier_wait(t->barrier);
	if (opened && exchange(s, &resp, msg, msg_len, line, sizeof(line)) == 0) {
		resp_line(line, sizeof(line), resp);
		if (resp_status(resp) == PROTOCOL_OK) {
			snprintf(path, sizeof(path), "%s/%d.der", r->outdir,
			    t->i);
			if (issued_write(resp, path) != 0)
				snprintf(line, sizeof(line),
				    "ok but no certificate written");
		}
	}
	snprintf(path, sizeof(path), "%s/%d.status", r->outdir, t->i);
	file_write(path, line, strlen(line));
	PROTO_RESPONSE_free(resp);
	if (opened)
		nng_close(s);
	OPENSSL_free(csr);
	OPENSSL_free(msg);
	return NULL;
}

static int
cmd_race(char **av)
{
	struct race r;
	struct token *tok;
	size_t ntok;
	int n, ret;

	memset(&r, 0, sizeof(r));
	r.url = av[0];
	if ((tok = tokens_read(av[1], &ntok)) == NULL)
		return 2;
	r.tok = tok[0];
	sodium_memzero(tok, ntok * sizeof(*tok));
	free(tok);
	if ((n = atoi(av[2])) < 1 || n > 1024)
		usage();
	r.name = av[3];
	r.outdir = av[4];
	ret = threads_run(n, race_main, &r);
	sodium_memzero(&r.tok, sizeof(r.tok));
	if (ret != 0)
		return 2;
	printf("race: %d clients done\n", n);
	return 0;
}

/* --- load --- */

struct load {
	const char *url, *outdir;
	size_t ntok, next;
	uint8_t **msg;		/* per token: the encoded request, made ahead */
	size_t *msg_len;
	ASN1_OCTET_STRING **cert;	/* per token: the certificate received */
	double *lat;		/* per token, seconds; <0: failed */
	int nok, nrefused, nerr;
	pthread_mutex_t lock;
};

/*
 * load_write writes request k's certificate to OUTDIR/k.der and releases
 * it; 0 or -1.
 */
static int
load_write(struct load *l, size_t k)
{
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/%zu.der", l->outdir, k);
	rc = file_write(path, ASN1_STRING_get0_data(l->cert[k]),
	    (size_t)ASN1_STRING_length(l->cert[k]));
	if (rc != 0)
		fprintf(stderr, "race_client: %s: cannot write\n", path);
	ASN1_OCTET_STRING_free(l->cert[k]);
	l->cert[k] = NULL;
	return rc != 0 ? -1 : 0;
}

static void *
load_main(void *arg)
{
	struct load *l = arg;
	nng_socket s;
	PROTO_RESPONSE *resp = NULL;
	size_t k;
	char line[1200];
	double t0;
	int st;

	if (conn_open(&s, l->url) != 0)
		return NULL;
	for (;;) {
		pthread_mutex_lock(&l->lock);
		k = l->next < l->ntok ? l->next++ : l->ntok;
		pthread_mutex_unlock(&l->lock);
		if (k == l->ntok)
			break;
		l->lat[k] = -1;
		t0 = now_s();
		if (exchange(s, &resp, l->msg[k], l->msg_len[k], line,
		    sizeof(line)) != 0)
			st = -1;
		else {
			st = resp_status(resp);
			resp_line(line, sizeof(line), resp);
		}
		if (st == PROTOCOL_OK) {
			/* Kept in memory; written after the clock stops. */
			if (resp->body != NULL && resp->body->type ==
			    PROTO_RESP_ISSUED && (l->cert[k] =
			    resp->body->value.issued->certificate) != NULL) {
				resp->body->value.issued->certificate = NULL;
				l->lat[k] = now_s() - t0;
				if (write_now && load_write(l, k) != 0)
					st = -1;
			} else
				st = -1;
		}
		pthread_mutex_lock(&l->lock);
		if (st == PROTOCOL_OK)
			l->nok++;
		else if (st < 0)
			l->nerr++;
		else
			l->nrefused++;
		if (st != PROTOCOL_OK && l->nrefused + l->nerr <= 5)
			fprintf(stderr, "race_client: request %zu: %s\n", k,
			    line);
		pthread_mutex_unlock(&l->lock);
		PROTO_RESPONSE_free(resp);
		resp = NULL;
	}
	nng_close(s);
	return NULL;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * machine_busy: CPU seconds the whole machine has spent so far, idle and
 * iowait excepted (Linux /proc/stat); -1 when unknown.
 */
static double
machine_busy(void)
{
	unsigned long long v[8] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	int n;

	if (hz <= 0 || (f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -1;
	/* user nice system (idle iowait) irq softirq steal */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
	    (double)hz;
}

static double
tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static int
cmd_load(char **av)
{
	struct rusage ru0, ru1;
	struct load l;
	double busy0, busy1;
	struct token *tok;
	pthread_t *tid;
	double t0, el, *ok;
	size_t i, nok = 0;
	char name[300], *names[1];
	const char *pat, *star;
	uint8_t *csr = NULL;
	size_t csr_len;
	int n, j;

	memset(&l, 0, sizeof(l));
	l.url = av[0];
	if ((tok = tokens_read(av[1], &l.ntok)) == NULL)
		return 2;
	if ((n = atoi(av[2])) < 1 || n > 1024)
		usage();
	pat = av[3];
	l.outdir = av[4];
	if ((l.lat = calloc(l.ntok, sizeof(*l.lat))) == NULL ||
	    (l.msg = calloc(l.ntok, sizeof(*l.msg))) == NULL ||
	    (l.msg_len = calloc(l.ntok, sizeof(*l.msg_len))) == NULL ||
	    (l.cert = calloc(l.ntok, sizeof(*l.cert))) == NULL ||
	    (ok = calloc(l.ntok, sizeof(*ok))) == NULL ||
	    (tid = calloc(n, sizeof(*tid))) == NULL)
		return 2;
	/*
	 * Keys, CSRs and requests are made before the clock starts: the
	 * figure is the issuer's, not the client's key generation. A "*" in
	 * NAME becomes the request number (n17.bench.example.internal).
	 */
	names[0] = name;
	for (i = 0; i < l.ntok; i++) {
		if ((star = strchr(pat, '*')) != NULL)
			snprintf(name, sizeof(name), "%.*sn%zu%s",
			    (int)(star - pat), pat, i, star + 1);
		else
			snprintf(name, sizeof(name), "%s", pat);
		if (csr_make(&csr, &csr_len, NULL, names, 1) != 0 ||
		    issue_encode(&l.msg[i], &l.msg_len[i], csr, csr_len,
		    &tok[i], 0) != 0) {
			fprintf(stderr, "race_client: cannot make request %zu\n",
			    i);
			return 2;
		}
		OPENSSL_free(csr);
		csr = NULL;
	}
	sodium_memzero(tok, l.ntok * sizeof(*tok));
	free(tok);
	pthread_mutex_init(&l.lock, NULL);
	if (getrusage(RUSAGE_SELF, &ru0) != 0)
		memset(&ru0, 0, sizeof(ru0));
	busy0 = machine_busy();
	t0 = now_s();
	for (j = 0; j < n; j++)
		if (pthread_create(&tid[j], NULL, load_main, &l) != 0)
			abort();
	for (j = 0; j < n; j++)
		pthread_join(tid[j], NULL);
	el = now_s() - t0;
	busy1 = machine_busy();
	if (getrusage(RUSAGE_SELF, &ru1) != 0)
		memset(&ru1, 0, sizeof(ru1));
	for (i = 0; i < l.ntok; i++)
		if (l.lat[i] > 0)
			ok[nok++] = l.lat[i];
	qsort(ok, nok, sizeof(*ok), dbl_cmp);
	printf("load: %d clients, %zu requests, %d ok, %d refused, "
	    "%d no answer, %.2f s\n", n, l.ntok, l.nok, l.nrefused, l.nerr,
	    el);
	if (nok > 0)
		printf("load: %.1f certificates/s, latency p50 %.1f ms, "
		    "p99 %.1f ms, max %.1f ms\n", nok / el,
		    ok[(nok - 1) / 2] * 1e3, ok[(nok * 99 + 99) / 100 - 1] * 1e3,
		    ok[nok - 1] * 1e3);
	/* Only the timed phase: the requests were made before it. */
	printf("load: client CPU %.2f s user, %.2f s system during the "
	    "load\n", tv_s(&ru1.ru_utime) - tv_s(&ru0.ru_utime),
	    tv_s(&ru1.ru_stime) - tv_s(&ru0.ru_stime));
	if (busy0 >= 0 && busy1 >= 0)
		printf("load: machine CPU %.2f s busy of %.2f s (%ld CPUs) "
		    "during the load\n", busy1 - busy0,
		    el * (double)sysconf(_SC_NPROCESSORS_ONLN),
		    sysconf(_SC_NPROCESSORS_ONLN));
	for (i = 0; i < l.ntok; i++) {
		if (l.cert[i] != NULL && load_write(&l, i) != 0)
			l.nok--;
		if (l.msg[i] != NULL)
			OPENSSL_cleanse(l.msg[i], l.msg_len[i]);
		OPENSSL_free(l.msg[i]);
	}
	free(l.msg);
	free(l.msg_len);
	free(l.cert);
	free(l.lat);
	free(ok);
	free(tid);
	pthread_mutex_destroy(&l.lock);
	return l.nok == (int)l.ntok ? 0 : 1;
}

/* --- tokens --- */

static int
cmd_tokens(int ac, char **av)
{
	nng_socket s;
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	PROTO_TOKEN_CREATE *tc;
	ASN1_UTF8STRING *u;
	uint8_t *msg = NULL;
	size_t msg_len;
	char line[1200], b64[128];
	FILE *f = NULL;
	int n, i, fd, ret = 2;

	if ((n = atoi(av[1])) < 1)
		usage();
	if ((req = protocol_request_new(PROTO_REQ_TOKEN_CREATE)) == NULL)
		return 2;
	tc = req->body->value.token_create;
	if (!ASN1_STRING_set(tc->identity, av[2], -1) ||
	    !ASN1_STRING_set(tc->profile, av[3], -1) ||
	    !ASN1_INTEGER_set(tc->ttl, atol(av[4])))
		goto out;
	for (i = 6; i < ac; i++) {
		if ((u = ASN1_UTF8STRING_new()) == NULL ||
		    !ASN1_STRING_set(u, av[i], -1) ||
		    !sk_ASN1_UTF8STRING_push(tc->names, u)) {
			ASN1_UTF8STRING_free(u);
			goto out;
		}
	}
	if (protocol_request_encode(&msg, &msg_len, req) != CA_OK) {
		fprintf(stderr, "race_client: tokenCreate: %s\n",
		    ca_error_detail());
		goto out;
	}
	if ((fd = open(av[5], O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "race_client: %s: %s\n", av[5],
		    strerror(errno));
		goto out;
	}
	if (conn_open(&s, av[0]) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		const PROTO_TOKEN_CREATED *t;

		if (exchange(s, &resp, msg, msg_len, line, sizeof(line)) != 0) {
			fprintf(stderr, "race_client: tokenCreate: %s\n", line);
			ret = 3;
			break;
		}
		if (resp_status(resp) != PROTOCOL_OK || resp->body == NULL ||
		    resp->body->type != PROTO_RESP_TOKEN_CREATED) {
			resp_line(line, sizeof(line), resp);
			fprintf(stderr, "race_client: tokenCreate: %s\n", line);
			ret = 1;
			break;
		}
		t = resp->body->value.token_created;
		sodium_bin2base64(b64, sizeof(b64),
		    ASN1_STRING_get0_data(t->secret),
		    ASN1_STRING_length(t->secret),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		fprintf(f, "cpt1.%.*s.%s\n", ASN1_STRING_length(t->token_id),
		    (const char *)ASN1_STRING_get0_data(t->token_id), b64);
		sodium_memzero(b64, sizeof(b64));
		PROTO_RESPONSE_free(resp);
		resp = NULL;
	}
	if (i == n)
		ret = 0;
	nng_close(s);
 out:
	if (f != NULL && fclose(f) != 0)
		ret = 2;
	PROTO_RESPONSE_free(resp);
	PROTO_REQUEST_free(req);
	OPENSSL_free(msg);
	return ret;
}

/* --- single requests --- */

/* send_print: one exchange on a new socket; prints the answer line. */
static int
send_print(const char *url, const uint8_t *msg, size_t len,
    PROTO_RESPONSE **keep)
{
	nng_socket s;
	PROTO_RESPONSE *resp = NULL;
	char line[1200];
	int ret;

	if (keep != NULL)
		*keep = NULL;
	if (conn_open(&s, url) != 0)
		return 2;
	if (exchange(s, &resp, msg, len, line, sizeof(line)) != 0) {
		printf("%s\n", line);
		nng_close(s);
		return 3;
	}
	resp_line(line, sizeof(line), resp);
	printf("%s\n", line);
	fflush(stdout);
	ret = resp_status(resp) == PROTOCOL_OK ? 0 : 1;
	if (keep != NULL)
		*keep = resp;
	else
		PROTO_RESPONSE_free(resp);
	nng_close(s);
	return ret;
}

/* csr_der_read: a CSR file in PEM or DER, returned as the DER bytes. */
static int
csr_der_read(const char *path, uint8_t **der, size_t *len)
{
	uint8_t *buf;
	size_t blen;
	BIO *b;
	X509_REQ *req;
	unsigned char *p = NULL;
	int n;

	if (file_read(path, &buf, &blen) != 0)
		return -1;
	if (blen > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
		b = BIO_new_mem_buf(buf, blen);
		req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		free(buf);
		if (req == NULL || (n = i2d_X509_REQ(req, &p)) <= 0) {
			X509_REQ_free(req);
			fprintf(stderr, "race_client: %s: not a PEM CSR\n", path);
			return -1;
		}
		X509_REQ_free(req);
		*der = p;
		*len = n;
		return 0;
	}
	/* DER is sent exactly as read, even if it does not parse. */
	if ((*der = OPENSSL_malloc(blen ? blen : 1)) == NULL) {
		free(buf);
		return -1;
	}
	memcpy(*der, buf, blen);
	*len = blen;
	free(buf);
	return 0;
}

static int
cmd_issue(int ac, char **av)
{
	PROTO_RESPONSE *resp = NULL;
	struct token *tok;
	size_t ntok, csr_len, msg_len;
	uint8_t *csr = NULL, *msg = NULL;
	long long lifetime = 0;
	int ret;

	if ((tok = tokens_read(av[1], &ntok)) == NULL)
		return 2;
	if (ac > 3)
		lifetime = atoll(av[3]);
	if (csr_der_read(av[2], &csr, &csr_len) != 0 ||
	    issue_encode(&msg, &msg_len, csr, csr_len, tok, lifetime) != 0)
		ret = 2;
	else
		ret = send_print(av[0], msg, msg_len, &resp);
	if (ret == 0 && cert_out != NULL && issued_write(resp, cert_out) != 0) {
		fprintf(stderr, "race_client: %s: cannot write\n", cert_out);
		ret = 2;
	}
	PROTO_RESPONSE_free(resp);
	sodium_memzero(tok, ntok * sizeof(*tok));
	free(tok);
	OPENSSL_free(csr);
	OPENSSL_free(msg);
	return ret;
}

static int
cmd_raw(char **av)
{
	uint8_t *buf;
	size_t len;
	int ret;

	if (file_read(av[1], &buf, &len) != 0)
		return 2;
	ret = send_print(av[0], buf, len, NULL);
	free(buf);
	return ret;
}

/* pop_request: an x509pop issue request over nonce, CSR; DER in *out. */
static int
pop_encode(uint8_t **out, size_t *out_len, STACK_OF(X509) *chain,
    EVP_PKEY *key, const uint8_t *nonce, const uint8_t *csr, size_t csr_len)
{
	PROTO_ATTESTATION *att;
	PROTO_REQUEST *req;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc;

	if (protocol_pop_sign(&sig, &sig_len, key, nonce, PROTOCOL_NONCE_LEN,
	    csr, csr_len) != CA_OK) {
		fprintf(stderr, "race_client: pop sign: %s\n",
		    ca_error_detail());
		return -1;
	}
	att = protocol_attest_x509_pop(chain, nonce, PROTOCOL_NONCE_LEN, sig,
	    sig_len);
	OPENSSL_free(sig);
	if (att == NULL ||
	    (req = protocol_request_issue(csr, csr_len, att, 0)) == NULL)
		return -1;
	rc = protocol_request_encode(out, out_len, req);
	PROTO_REQUEST_free(req);
	return rc == CA_OK ? 0 : -1;
}

/* pop_load reads the PEM chain (leaf first) and the leaf's key; 0 or -1. */
static int
pop_load(STACK_OF(X509) **chainp, EVP_PKEY **keyp, const char *certpath,
    const char *keypath)
{
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	BIO *b = NULL;
	X509 *x;
	int ret = -1;

	*chainp = NULL;
	*keyp = NULL;
	if ((chain = sk_X509_new_null()) == NULL ||
	    (b = BIO_new_file(certpath, "r")) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			goto out;
		}
	BIO_free(b);
	if (sk_X509_num(chain) == 0 ||
	    (b = BIO_new_file(keypath, "r")) == NULL ||
	    (key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
		goto out;
	*chainp = chain;
	chain = NULL;
	*keyp = key;
	key = NULL;
	ret = 0;
 out:
	if (ret != 0)
		fprintf(stderr, "race_client: cannot read %s or %s\n",
		    certpath, keypath);
	BIO_free(b);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	return ret;
}

/*
 * nonce_get asks for an x509pop nonce on s; 0 with nonce filled, or -1
 * with line set to what came back instead.
 */
static int
nonce_get(nng_socket s, uint8_t nonce[PROTOCOL_NONCE_LEN], char *line,
    size_t linelen)
{
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	const ASN1_OCTET_STRING *n;
	uint8_t *msg = NULL;
	size_t msg_len;
	int ret = -1;

	snprintf(line, linelen, "local error: nonce request");
	if ((req = protocol_request_new(PROTO_REQ_NONCE)) == NULL ||
	    protocol_request_encode(&msg, &msg_len, req) != CA_OK ||
	    exchange(s, &resp, msg, msg_len, line, linelen) != 0)
		goto out;
	if (resp->body == NULL || resp->body->type != PROTO_RESP_NONCE ||
	    (n = resp->body->value.nonce->nonce) == NULL ||
	    ASN1_STRING_length(n) != PROTOCOL_NONCE_LEN) {
		resp_line(line, linelen, resp);
		goto out;
	}
	memcpy(nonce, ASN1_STRING_get0_data(n), PROTOCOL_NONCE_LEN);
	ret = 0;
 out:
	PROTO_RESPONSE_free(resp);
	PROTO_REQUEST_free(req);
	OPENSSL_free(msg);
	return ret;
}

static int
cmd_pop(int ac, char **av, int forged)
{
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	nng_socket s;
	uint8_t *csr = NULL, *msg = NULL;
	size_t csr_len, msg_len;
	uint8_t nonce[PROTOCOL_NONCE_LEN];
	char line[1200];
	int ret = 2;

	if (pop_load(&chain, &key, av[1], av[2]) != 0)
		goto out;
	if (csr_make(&csr, &csr_len, NULL, av + 3, ac - 3) != 0)
		goto out;
	if (forged) {
		randombytes_buf(nonce, sizeof(nonce));
	} else {
		if (conn_open(&s, av[0]) != 0)
			goto out;
		ret = nonce_get(s, nonce, line, sizeof(line));
		nng_close(s);
		if (ret != 0) {
			printf("%s\n", line);
			ret = 3;
			goto out;
		}
		printf("ok: nonce\n");
		ret = 2;
	}
	if (pop_encode(&msg, &msg_len, chain, key, nonce, csr, csr_len) != 0)
		goto out;
	ret = send_print(av[0], msg, msg_len, NULL);
	if (!forged)
		ret = send_print(av[0], msg, msg_len, NULL);
 out:
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	OPENSSL_free(csr);
	OPENSSL_free(msg);
	return ret;
}

/* --- renewal race --- */

struct renew {
	const char *url, *name, *outdir;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
	double deadline;
	int stop;		/* __atomic: some client saw "revoked" */
};

/*
 * renew_main renews r->chain's leaf again and again on one connection
 * (nonce, then the signed request), until the issuer says the certificate
 * is revoked, any client has heard that, or the deadline passes. Each
 * certificate goes to OUTDIR/I-K.der; OUTDIR/I.status says how it went.
 */
static void *
renew_main(void *arg)
{
	struct thr *t = arg;
	struct renew *r = t->run;
	nng_socket s = NNG_SOCKET_INITIALIZER;
	PROTO_RESPONSE *resp = NULL;
	uint8_t nonce[PROTOCOL_NONCE_LEN];
	uint8_t *csr = NULL, *msg = NULL;
	size_t csr_len = 0, msg_len = 0;
	char line[1200], path[4096], status[1300];
	char *names[1];
	int opened = 0, nok = 0, nrefused = 0, revoked = 0;

	names[0] = (char *)r->name;
	snprintf(line, sizeof(line), "local error");
	if (csr_make(&csr, &csr_len, NULL, names, 1) == 0 &&
	    conn_open(&s, r->url) == 0)
		opened = 1;
	pthread_barrier_wait(t->barrier);
	while (opened && !revoked && now_s() < r->deadline &&
	    !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if (nonce_get(s, nonce, line, sizeof(line)) != 0)
			break;
		OPENSSL_free(msg);
		msg = NULL;
		if (pop_encode(&msg, &msg_len, r->chain, r->key, nonce, csr,
		    csr_len) != 0) {
			snprintf(line, sizeof(line), "local error: encode");
			break;
		}
		if (exchange(s, &resp, msg, msg_len, line, sizeof(line)) != 0)
			break;
		resp_line(line, sizeof(line), resp);
		if (resp_status(resp) == PROTOCOL_OK) {
			snprintf(path, sizeof(path), "%s/%d-%d.der",
			    r->outdir, t->i, nok);
			if (issued_write(resp, path) != 0)
				snprintf(line, sizeof(line), "ok but no "
				    "certificate written");
			nok++;
		} else {
			nrefused++;
			revoked = strstr(line, "revoked") != NULL;
		}
		PROTO_RESPONSE_free(resp);
		resp = NULL;
	}
	if (revoked)
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	snprintf(path, sizeof(path), "%s/%d.status", r->outdir, t->i);
	snprintf(status, sizeof(status), "%d ok, %d refused, last: %s", nok,
	    nrefused, line);
	file_write(path, status, strlen(status));
	if (opened)
		nng_close(s);
	OPENSSL_free(csr);
	OPENSSL_free(msg);
	return NULL;
}

static int
cmd_renew_race(char **av)
{
	struct renew r;
	int n, ret = 2;

	memset(&r, 0, sizeof(r));
	r.url = av[0];
	if (pop_load(&r.chain, &r.key, av[1], av[2]) != 0)
		goto out;
	if ((n = atoi(av[3])) < 1 || n > 1024)
		usage();
	r.name = av[4];
	r.outdir = av[5];
	r.deadline = now_s() + wait_s;
	if (threads_run(n, renew_main, &r) != 0)
		goto out;
	printf("renew-race: %d clients done%s\n", n, r.stop ? ", told the "
	    "certificate is revoked" : ", never told it is revoked");
	ret = r.stop ? 0 : 1;
 out:
	sk_X509_pop_free(r.chain, X509_free);
	EVP_PKEY_free(r.key);
	return ret;
}

int
main(int argc, char **argv)
{
	int ch, ac;
	char **av;
	const char *cmd;

	while ((ch = getopt(argc, argv, "io:w:")) != -1) {
		switch (ch) {
		case 'i':
			write_now = 1;
			break;
		case 'o':
			cert_out = optarg;
			break;
		case 'w':
			wait_s = atoi(optarg);
			if (wait_s < 1)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (sodium_init() < 0)
		return 2;
	cmd = argv[optind];
	av = argv + optind + 1;
	ac = argc - optind - 1;
	if (strcmp(cmd, "race") == 0 && ac == 5)
		return cmd_race(av);
	if (strcmp(cmd, "load") == 0 && ac == 5)
		return cmd_load(av);
	if (strcmp(cmd, "issue") == 0 && (ac == 3 || ac == 4))
		return cmd_issue(ac, av);
	if (strcmp(cmd, "replay") == 0 && ac >= 4)
		return cmd_pop(ac, av, 0);
	if (strcmp(cmd, "nonce-forged") == 0 && ac >= 4)
		return cmd_pop(ac, av, 1);
	if (strcmp(cmd, "renew-race") == 0 && ac == 6)
		return cmd_renew_race(av);
	if (strcmp(cmd, "tokens") == 0 && ac >= 6)
		return cmd_tokens(ac, av);
	if (strcmp(cmd, "raw") == 0 && ac == 2)
		return cmd_raw(av);
	usage();
	return 2;
}
