/* SPDX-License-Identifier: ISC */
/*
 * crl-bench: how long carapace-crl's CRL path takes for a large CRL, and
 * how much memory, against `openssl ca -gencrl` on the same entries in the
 * same run.
 *
 *   bench/crl-bench [-n ENTRIES] [-d DIR]  (1000000, $TMPDIR)
 *
 * It makes a software EC P-256 CA, an issuance log (created by
 * issuance_log_create, so with the real schema) and fills it with ENTRIES
 * revoked certificates by inserting the rows directly with SQLite in one
 * transaction (the writer API appends a hash-chain entry and fsyncs per
 * certificate, which would take minutes and measures something else); the
 * rows carry a 16-byte random serial, a revocation time and a reason, as
 * the issuer writes them. It writes the same entries as an `openssl ca`
 * index.txt.
 *
 * Each contender runs in its own fresh process (fork + exec), and its wall
 * time and peak RSS (wait4's ru_maxrss) are measured from outside:
 *  - openssl ca -gencrl -config ca.cnf (crlnumber, AKI, sha256);
 *  - this program re-executed with --carapace, which does what
 *    crl_publish_once does after its number reservation: read the revoked
 *    rows from the log (crl_list_load), write and sign the DER
 *    (crl_der_build), parse it back and check it against the rows
 *    (crl_check: d2i_X509_CRL, X509_CRL_verify, every entry), and write the
 *    DER and the PEM with fileio_replace (write, fsync, rename). The one
 *    difference from the program is the key: a software key here, so one
 *    signature costs microseconds instead of the HSM's milliseconds.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <sqlite3.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "log/issuance_log.h"
#include "ocsp/crl.h"

#define TARGET_S	3.0
#define TARGET_MIB	512.0

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "crl-bench: %s: %s\n", what, ca_error_detail()[0] ?
	    ca_error_detail() : strerror(errno));
	exit(1);
}

/* path_of: DIR/NAME into out (4096 bytes); a path too long is fatal. */
static char *
path_of(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, 4096, "%s/%s", dir, name);

	if (n < 0 || n >= 4096) {
		fprintf(stderr, "crl-bench: %s/%s: path too long\n", dir, name);
		exit(1);
	}
	return out;
}

static int
add_ext(X509 *c, int nid, const char *v)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, c, c, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, v)) == NULL)
		return 0;
	ok = X509_add_ext(c, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* make_ca writes DIR/ca.pem and DIR/ca.key (software key). */
static void
make_ca(const char *dir)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	char p[4096];
	FILE *f;

	if (k == NULL || c == NULL || n == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"crl-bench CA", -1, -1, 0) ||
	    !X509_set_version(c, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(c), 1) ||
	    !X509_set_subject_name(c, n) || !X509_set_issuer_name(c, n) ||
	    X509_gmtime_adj(X509_getm_notBefore(c), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(c), 86400 * 365) == NULL ||
	    !X509_set_pubkey(c, k) ||
	    !add_ext(c, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(c, NID_subject_key_identifier, "hash") ||
	    X509_sign(c, k, EVP_sha256()) <= 0)
		die("make the CA");
	path_of(p, dir, "ca.pem");
	if ((f = fopen(p, "w")) == NULL || !PEM_write_X509(f, c))
		die(p);
	fclose(f);
	path_of(p, dir, "ca.key");
	if ((f = fopen(p, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
		die(p);
	fclose(f);
	X509_free(c);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
}

static const char *const reason_names[] = {
	NULL, "keyCompromise", "CACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", NULL, NULL, NULL,
	"privilegeWithdrawn", "AACompromise",
};

/* fill: the log (direct SQLite inserts) and index.txt, same entries. */
static void
fill(const char *dir, long n)
{
	/* openssl ca knows reasons 0..5 only (not 9, 10). */
	static const int reasons[] = { 0, 1, 4, 5, 3, 2 };
	struct crl_issuer iss;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN], der[64];
	char p[4096], hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1], t[32];
	time_t now = time(NULL), when;
	struct tm tm;
	FILE *idx;
	long i;
	int r;

	path_of(p, dir, "ca.pem");
	if (crl_issuer_load(&iss, p, NULL) != CA_OK)
		die("load the CA");
	path_of(p, dir, "log.db");
	if (issuance_log_create(p, (gid_t)-1) != CA_OK)
		die("create the log");
	if (sqlite3_open(p, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA synchronous = NORMAL; BEGIN", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO certificates (serial, "
	    "issuer_key_id, status, subject, der, created_at, issued_at, "
	    "revoked_at, revocation_reason, not_before, not_after) VALUES "
	    "(?, ?, 'revoked', 'CN=x', ?, ?, ?, ?, ?, ?, ?)", -1, &st,
	    NULL) != SQLITE_OK)
		die(sqlite3_errmsg(db));
	path_of(p, dir, "index.txt");
	if ((idx = fopen(p, "w")) == NULL)
		die(p);
	memset(der, 0x30, sizeof(der));
	for (i = 0; i < n; i++) {
		randombytes_buf(serial, sizeof(serial));
		serial[0] = (serial[0] & 0x3f) | 0x40;
		when = now - 86400 * 30 + (time_t)(i % (86400 * 29));
		r = reasons[i % 6];
		sqlite3_bind_blob(st, 1, serial, sizeof(serial), SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, iss.kid, (int)iss.kid_len,
		    SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, der, sizeof(der), SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)when - 60);
		sqlite3_bind_int64(st, 5, (int64_t)when - 60);
		sqlite3_bind_int64(st, 6, (int64_t)when);
		sqlite3_bind_int(st, 7, r);
		sqlite3_bind_int64(st, 8, (int64_t)when - 60);
		sqlite3_bind_int64(st, 9, (int64_t)now + 86400);
		if (sqlite3_step(st) != SQLITE_DONE) {
			/* A random collision: draw again. */
			if (sqlite3_extended_errcode(db) ==
			    SQLITE_CONSTRAINT_UNIQUE) {
				sqlite3_reset(st);
				i--;
				continue;
			}
			die(sqlite3_errmsg(db));
		}
		sqlite3_reset(st);
		gmtime_r(&when, &tm);
		strftime(t, sizeof(t), "%Y%m%d%H%M%SZ", &tm);
		fileio_hex(hex, serial, sizeof(serial));
		for (char *c = hex; *c; c++)
			if (*c >= 'a' && *c <= 'f')
				*c = (char)(*c - 'a' + 'A');
		/* index.txt wants UTCTime: drop the century. */
		fprintf(idx, "R\t991231235959Z\t%s%s%s\t%s\tunknown\t/CN=x\n",
		    t + 2, r != 0 ? "," : "", r != 0 ? reason_names[r] : "", hex);
	}
	if (fclose(idx) != 0)
		die("index.txt");
	sqlite3_finalize(st);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(db));
	sqlite3_close(db);
	crl_issuer_clear(&iss);

	path_of(p, dir, "ca.cnf");
	if ((idx = fopen(p, "w")) == NULL)
		die(p);
	fprintf(idx, "[ca]\ndefault_ca = bench\n[bench]\n"
	    "dir = %s\ndatabase = $dir/index.txt\ncrlnumber = $dir/crlnumber\n"
	    "certificate = $dir/ca.pem\nprivate_key = $dir/ca.key\n"
	    "default_md = sha256\ndefault_crl_days = 7\n"
	    "crl_extensions = crl_ext\n"
	    "[crl_ext]\nauthorityKeyIdentifier = keyid:always\n", dir);
	fclose(idx);
	path_of(p, dir, "crlnumber");
	if ((idx = fopen(p, "w")) == NULL)
		die(p);
	fputs("01\n", idx);
	fclose(idx);
}

static int
soft_sign(void *signer, hsm_sign_fn fn, void *arg)
{
	return fn(signer, arg) == 1 ? CA_OK :
	    ca_error(CA_ERR_INTERNAL, "software signature failed");
}

/* carapace: the child; prints "build check write entries bytes". */
static int
carapace(const char *dir)
{
	struct crl_issuer iss;
	struct issuance_log_reader *r = NULL;
	struct crl_list l = { NULL, 0, 0 };
	struct crl_blob b = { NULL, NULL, 0 };
	struct crl_params p;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	FILE *f;
	char path[4096], *pem;
	double t0, t1, t2, t3;
	long pem_len;

	path_of(path, dir, "ca.key");
	if ((f = fopen(path, "r")) == NULL ||
	    (key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		die(path);
	fclose(f);
	path_of(path, dir, "ca.pem");
	if (crl_issuer_load(&iss, path, NULL) != CA_OK)
		die("issuer");
	t0 = now_s();
	path_of(path, dir, "log.db");
	if (issuance_log_reader_open(&r, path) != CA_OK)
		die("reader");
	p.number = 2;
	p.this_update = (int64_t)time(NULL);
	p.next_update = p.this_update + 7 * 86400;
	if (crl_list_load(&l, r, &iss) != CA_OK ||
	    crl_der_build(&b, &iss, &p, &l, soft_sign, key) != CA_OK)
		die("build");
	t1 = now_s();
	if (crl_check(b.der, b.len, &iss, &p, &l) != CA_OK)
		die("check");
	t2 = now_s();
	path_of(path, dir, "carapace.der");
	if (fileio_replace(path, b.der, b.len, 0644) != CA_OK)
		die("write DER");
	path_of(path, dir, "carapace.pem");
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio(bio, PEM_STRING_X509_CRL, "", b.der, (long)b.len) ||
	    (pem_len = BIO_get_mem_data(bio, &pem)) <= 0 ||
	    fileio_replace(path, pem, (size_t)pem_len, 0644) != CA_OK)
		die("write PEM");
	t3 = now_s();
	printf("%.3f %.3f %.3f %zu %zu\n", t1 - t0, t2 - t1, t3 - t2, l.n,
	    b.len);
	BIO_free(bio);
	crl_blob_free(&b);
	crl_list_clear(&l);
	issuance_log_reader_close(r);
	crl_issuer_clear(&iss);
	EVP_PKEY_free(key);
	return 0;
}

/* run: fork, exec argv (stdout to out), measure wall time and peak RSS. */
static void
run(char *const argv[], const char *out, double *wall, double *mib)
{
	struct rusage ru;
	double t0 = now_s();
	pid_t pid;
	int st;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		if (freopen(out, "w", stdout) == NULL)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) != pid)
		die("wait4");
	*wall = now_s() - t0;
	*mib = (double)ru.ru_maxrss / 1024.0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "crl-bench: %s failed (status %d)\n", argv[0],
		    st);
		exit(1);
	}
}

int
main(int argc, char *argv[])
{
	char dir[4096], out[4096], crl[4096], cnf[4096], self[4096];
	const char *base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	double ow, om, cw, cm, bs, cs, ws, t0;
	size_t entries, bytes;
	long n = 1000000;
	ssize_t sl;
	FILE *f;
	int ch;

	if (argc == 3 && strcmp(argv[1], "--carapace") == 0)
		return carapace(argv[2]);
	while ((ch = getopt(argc, argv, "n:d:")) != -1) {
		switch (ch) {
		case 'n':
			n = atol(optarg);
			break;
		case 'd':
			base = optarg;
			break;
		default:
			fprintf(stderr, "usage: crl-bench [-n ENTRIES] "
			    "[-d DIR]\n");
			return 2;
		}
	}
	if (n < 1 || sodium_init() < 0)
		die("arguments or libsodium");
	snprintf(dir, sizeof(dir), "%s/crl-bench.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		die(dir);
	printf("crl-bench: %ld revoked entries in %s\n", n, dir);
	t0 = now_s();
	make_ca(dir);
	fill(dir, n);
	printf("  filled the log and index.txt in %.1f s (direct SQLite "
	    "inserts, one transaction)\n", now_s() - t0);
	fflush(stdout);

	path_of(cnf, dir, "ca.cnf");
	path_of(crl, dir, "openssl.crl");
	path_of(out, dir, "openssl.out");
	{
		char *av[] = { "openssl", "ca", "-gencrl", "-config", cnf,
		    "-out", crl, "-batch", NULL };
		run(av, out, &ow, &om);
	}
	if ((sl = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		die("/proc/self/exe");
	self[sl] = '\0';
	path_of(out, dir, "carapace.out");
	{
		char *av[] = { self, "--carapace", dir, NULL };
		run(av, out, &cw, &cm);
	}
	if ((f = fopen(out, "r")) == NULL ||
	    fscanf(f, "%lf %lf %lf %zu %zu", &bs, &cs, &ws, &entries,
	    &bytes) != 5)
		die("carapace output");
	fclose(f);
	printf("\n  %-34s %8s %14s\n", "", "wall s", "peak RSS MiB");
	printf("  %-34s %8.2f %14.1f\n", "openssl ca -gencrl", ow, om);
	printf("  %-34s %8.2f %14.1f   (target <= %.0f s, <= %.0f MiB)\n",
	    "carapace-crl path", cw, cm, TARGET_S, TARGET_MIB);
	printf("    read log + write DER + sign %.2f s, check (d2i + verify "
	    "+ compare) %.2f s,\n    write DER + PEM %.2f s; %zu entries, "
	    "%zu bytes DER\n", bs, cs, ws, entries, bytes);
	printf("    ratio: %.1fx faster, %.2fx the memory of openssl ca; "
	    "%s\n", ow / cw, cm / om, cw <= TARGET_S && cm <= TARGET_MIB ?
	    "within target" : "OVER TARGET");
	printf("  (files kept in %s; remove with rm -r)\n", dir);
	return 0;
}
