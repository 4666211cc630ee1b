/* SPDX-License-Identifier: ISC */
/*
 * sign-bench: how close the signer comes to the raw signature rate of its
 * key. It issues N certificates with T threads through signer_issue (build,
 * sign, parse back, check) and, with the same key and thread count, makes N
 * bare EVP_DigestSign signatures over a TBS-sized buffer: the ceiling. It
 * prints both rates, µs per certificate and the ratio.
 *
 *   sign-bench [-n N] [-t T]                      software P-256 key
 *   sign-bench [-n N] [-t T] -m MODULE -k URI [-p PIN_SOURCE]
 *                                                 a key in an HSM
 *
 * -k/-p/-m may also come from SIGN_BENCH_KEY_URI, SIGN_BENCH_PIN_SOURCE and
 * SOFTHSM2_MODULE. The PIN source is "file:/path" or "env:NAME", never the
 * PIN itself. For an HSM key, a throwaway software root certifies the HSM
 * key as the intermediate. Not run by make check.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "hsm/hsm.h"
#include "issuer/signer.h"

static const char profile_text[] =
    "[bench]\n"
    "max_lifetime = 24h\n"
    "default_lifetime = 1h\n"
    "key_types = ec-p256 ec-p384 rsa-2048\n"
    "extensions = bench_ext\n"
    "[bench_ext]\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth,clientAuth\n"
    "authorityInfoAccess = OCSP;URI:http://ocsp.example/\n"
    "crlDistributionPoints = URI:http://crl.example/int.crl\n"
    "certificatePolicies = 1.3.6.1.4.1.99999.1\n";

struct bench {
	struct signer *signer;
	signer_key_fn sign;
	void *key;
	const EVP_MD *md;
	long per_thread;
	int fails;
	pthread_mutex_t lock;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "sign-bench: %s: %s: %s\n", what, ca_strerror(rc),
	    ca_error_detail());
	exit(1);
}

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* make_ca certifies pub as a CA, signed by ikey (self-signed if no issuer). */
static X509 *
make_ca(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	int ok = 1;

	ok &= X509_set_version(x, X509_VERSION_3);
	ok &= ASN1_INTEGER_set(X509_get_serialNumber(x), issuer ? 2 : 1);
	ok &= X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	ok &= X509_set_subject_name(x, name);
	ok &= X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
	    name);
	ok &= X509_gmtime_adj(X509_getm_notBefore(x), -60) != NULL;
	ok &= X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) != NULL;
	ok &= X509_set_pubkey(x, pub);
	ok &= add_ext(x, issuer ? issuer : x, NID_basic_constraints,
	    "critical,CA:TRUE");
	ok &= add_ext(x, issuer ? issuer : x, NID_key_usage,
	    "critical,keyCertSign,cRLSign");
	ok &= add_ext(x, issuer ? issuer : x, NID_subject_key_identifier,
	    "hash");
	if (issuer)
		ok &= add_ext(x, issuer, NID_authority_key_identifier,
		    "keyid:always");
	ok &= X509_sign(x, ikey, EVP_sha256()) > 0;
	X509_NAME_free(name);
	if (!ok) {
		fprintf(stderr, "sign-bench: cannot make %s\n", cn);
		exit(1);
	}
	return x;
}

static int
soft_sign(void *key, hsm_sign_fn fn, void *arg)
{
	return fn(key, arg) == 1 ? CA_OK : ca_error(CA_ERR_INTERNAL, "sign");
}

static int
hsm_sign(void *key, hsm_sign_fn fn, void *arg)
{
	return hsm_key_sign(key, fn, arg);
}

/* --- the ceiling: bare signatures ----------------------------------- */

struct raw_job {
	const EVP_MD *md;
	unsigned char tbs[400];
};

static int
raw_sign_cb(EVP_PKEY *pkey, void *arg)
{
	struct raw_job *j = arg;
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx != NULL &&
	    EVP_DigestSignInit(ctx, NULL, j->md, NULL, pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, j->tbs, sizeof(j->tbs)) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static void *
raw_thread(void *arg)
{
	struct bench *b = arg;
	struct raw_job j;
	long i;
	int fails = 0;

	j.md = b->md;
	memset(j.tbs, 0x42, sizeof(j.tbs));
	for (i = 0; i < b->per_thread; i++) {
		j.tbs[i % sizeof(j.tbs)]++;
		if (b->sign(b->key, raw_sign_cb, &j) != CA_OK)
			fails++;
	}
	pthread_mutex_lock(&b->lock);
	b->fails += fails;
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* --- certificates --------------------------------------------------- */

static void *
cert_thread(void *arg)
{
	struct bench *b = arg;
	struct signer_intent *in;
	EVP_PKEY *leaf;
	uint8_t *der;
	size_t len;
	long i;
	int fails = 0, rc;

	if ((in = calloc(1, sizeof(*in))) == NULL ||
	    (leaf = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		fprintf(stderr, "sign-bench: out of memory\n");
		exit(1);
	}
	snprintf(in->profile, sizeof(in->profile), "bench");
	snprintf(in->subject_cn, sizeof(in->subject_cn), "node.example.com");
	if (signer_intent_add_name(in, SIGNER_NAME_DNS,
	    "node.example.com") != CA_OK ||
	    signer_intent_add_name(in, SIGNER_NAME_IP, "192.0.2.1") != CA_OK ||
	    signer_intent_set_spki(in, leaf) != CA_OK)
		die("intent", CA_ERR_INTERNAL);
	memset(in->evidence, 0xee, sizeof(in->evidence));
	for (i = 0; i < b->per_thread; i++) {
		memcpy(in->serial, &i, sizeof(i));
		in->serial[15] = 1;
		der = NULL;
		if ((rc = signer_issue(b->signer, &der, &len, in)) != CA_OK) {
			if (fails++ == 0)
				fprintf(stderr, "sign-bench: %s: %s\n",
				    ca_strerror(rc), ca_error_detail());
		}
		OPENSSL_free(der);
	}
	pthread_mutex_lock(&b->lock);
	b->fails += fails;
	pthread_mutex_unlock(&b->lock);
	EVP_PKEY_free(leaf);
	free(in);
	return NULL;
}

static double
run(struct bench *b, void *(*fn)(void *), int threads)
{
	pthread_t *t;
	double t0;
	int i;

	if ((t = calloc((size_t)threads, sizeof(*t))) == NULL)
		exit(1);
	b->fails = 0;
	t0 = now_s();
	for (i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, fn, b) != 0)
			exit(1);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	t0 = now_s() - t0;
	free(t);
	return t0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sign-bench [-n certs] [-t threads] [-m module "
	    "-k key-uri [-p pin-source]]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct hsm *h = NULL;
	struct hsm_key *hk = NULL;
	struct hsm_config hc;
	struct config *c = NULL;
	EVP_PKEY *root_key, *soft = NULL, *pub = NULL;
	X509 *root, *inter;
	const char *uri = getenv("SIGN_BENCH_KEY_URI");
	const char *pin = getenv("SIGN_BENCH_PIN_SOURCE");
	const char *module = getenv("SOFTHSM2_MODULE");
	EVP_MD *md;
	char path[] = "/tmp/sign-bench.XXXXXX";
	double t_cert, t_raw, total;
	long n = 20000;
	int ch, threads = 1, fd, rc;
	FILE *f;

	while ((ch = getopt(argc, argv, "n:t:k:p:m:")) != -1) {
		switch (ch) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 't':
			threads = (int)strtol(optarg, NULL, 10);
			break;
		case 'k':
			uri = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'm':
			module = optarg;
			break;
		default:
			usage();
		}
	}
	if (n <= 0 || threads <= 0 || threads > 256)
		usage();
	if (uri != NULL && *uri == '\0')
		uri = NULL;

	memset(&b, 0, sizeof(b));
	pthread_mutex_init(&b.lock, NULL);
	b.per_thread = (n + threads - 1) / threads;
	total = (double)(b.per_thread * threads);

	root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	root = make_ca("Bench Root", root_key, NULL, root_key);
	if (uri != NULL) {
		if (module == NULL)
			usage();
		memset(&hc, 0, sizeof(hc));
		hc.module = module;
		if ((rc = hsm_open(&h, &hc)) != CA_OK)
			die("hsm_open", rc);
		if ((rc = hsm_key_open(&hk, h, uri, pin)) != CA_OK)
			die("hsm_key_open", rc);
		if ((rc = hsm_key_public(&pub, hk)) != CA_OK)
			die("hsm_key_public", rc);
		inter = make_ca("Bench Intermediate (HSM)", pub, root,
		    root_key);
		if ((rc = signer_new_hsm(&b.signer, inter, hk)) != CA_OK)
			die("signer_new_hsm", rc);
		b.sign = hsm_sign;
		b.key = hk;
	} else {
		soft = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		inter = make_ca("Bench Intermediate", soft, root, root_key);
		if ((rc = signer_new_soft(&b.signer, inter, soft)) != CA_OK)
			die("signer_new_soft", rc);
		b.sign = soft_sign;
		b.key = soft;
	}
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL)
		exit(1);
	fputs(profile_text, f);
	fclose(f);
	rc = config_load(&c, path);
	unlink(path);
	if (rc != CA_OK)
		die("config", rc);
	if ((rc = signer_add_profile(b.signer, c, "bench")) != CA_OK)
		die("profile", rc);
	config_free(c);
	b.md = md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (md == NULL)
		exit(1);

	/* Warm up (first fetches, the HSM's sessions). */
	b.per_thread = 50;
	run(&b, raw_thread, threads);
	run(&b, cert_thread, threads);
	b.per_thread = (n + threads - 1) / threads;

	t_raw = run(&b, raw_thread, threads);
	if (b.fails)
		fprintf(stderr, "sign-bench: %d raw signatures failed\n",
		    b.fails);
	t_cert = run(&b, cert_thread, threads);
	if (b.fails)
		fprintf(stderr, "sign-bench: %d certificates failed\n",
		    b.fails);

	printf("key:           %s P-256, %d thread%s, %.0f operations\n",
	    uri != NULL ? "HSM" : "software", threads, threads > 1 ? "s" : "",
	    total);
	printf("raw sign:      %9.0f /s  %8.1f us each\n", total / t_raw,
	    t_raw * 1e6 / total * threads);
	printf("certificates:  %9.0f /s  %8.1f us each (build, sign, "
	    "check)\n", total / t_cert, t_cert * 1e6 / total * threads);
	printf("ratio:         %9.2f  (certificates / raw signatures)\n",
	    t_raw / t_cert);

	EVP_MD_free(md);
	signer_free(b.signer);
	X509_free(inter);
	X509_free(root);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(soft);
	EVP_PKEY_free(pub);
	hsm_key_free(hk);
	hsm_free(h);
	pthread_mutex_destroy(&b.lock);
	return b.fails ? 1 : 0;
}
