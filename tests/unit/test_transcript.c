/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/transcript.c. A transcript of eight records (three
 * of them seals made with a software P-256 key through the sign callback)
 * is built in a temporary directory and checked against the format in
 * transcript.h with an independent hash and signature check. Then every
 * byte of it is flipped in turn, fields of every record are edited, records
 * are deleted, swapped, truncated and appended, a record is edited and the
 * whole chain recomputed (only the seal can catch that), and an output file
 * is changed: each must make transcript_verify fail and name the right
 * record.
 */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/transcript.h"
#include "tests/unit/unit.h"

#define NRECORDS	8
#define ZEROS \
	"0000000000000000000000000000000000000000000000000000000000000000"

static char dir[256];
static char tpath[512];		/* the good transcript */
static char cpath[512];		/* the copy each test damages */
static char key_desc[256];
static EVP_PKEY *rootk, *otherk;
static uint8_t *good;		/* the good transcript's bytes */
static size_t good_len;
static size_t rec_off[NRECORDS + 1];	/* byte offset of "record N" */
static size_t rec_line[NRECORDS + 1];	/* its line number */

/* The steps of the transcript, record by record. */
static const char *const steps[NRECORDS] = { "keygen", "seal", "root",
    "seal", "intermediate", "intermediate", "crl", "seal" };

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
detail_has(const char *s)
{
	if (strstr(ca_error_detail(), s) != NULL)
		return 1;
	fprintf(stderr, "\n  detail \"%s\" lacks \"%s\"\n", ca_error_detail(),
	    s);
	return 0;
}

/* sign_cb is the transcript_sign_fn of a software key (arg). */
static int
sign_cb(unsigned char **sig, size_t *siglen, const char *digest,
    const unsigned char *msg, size_t msglen, void *arg)
{
	EVP_MD_CTX *md = NULL;
	int rc = CA_ERR_INTERNAL;

	*sig = NULL;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, digest, NULL, NULL, arg,
	    NULL) != 1 ||
	    EVP_DigestSign(md, NULL, siglen, msg, msglen) != 1 ||
	    (*sig = OPENSSL_malloc(*siglen)) == NULL ||
	    EVP_DigestSign(md, *sig, siglen, msg, msglen) != 1) {
		OPENSSL_free(*sig);
		*sig = NULL;
		rc = ca_error_openssl(CA_ERR_INTERNAL, "test signer");
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_MD_CTX_free(md);
	return rc;
}

static int
sign_fail_cb(unsigned char **sig, size_t *siglen, const char *digest,
    const unsigned char *msg, size_t msglen, void *arg)
{
	(void)digest;
	(void)msg;
	(void)msglen;
	(void)arg;
	*sig = NULL;
	*siglen = 0;
	return ca_error(CA_ERR_TOKEN_ABSENT, "test signer: token went away");
}

/* spki_hex: SHA-256 of the DER SubjectPublicKeyInfo, computed here. */
static void
spki_hex(char out[FILEIO_SHA256_HEX], EVP_PKEY *k)
{
	unsigned char *der = NULL, h[32];
	unsigned int hl = 0;
	int len;

	out[0] = '\0';
	len = i2d_PUBKEY(k, &der);
	if (len > 0 && EVP_Digest(der, (size_t)len, h, &hl, EVP_sha256(),
	    NULL) == 1)
		fileio_hex(out, h, sizeof(h));
	OPENSSL_free(der);
}

static int
write_bytes(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(buf, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void
in_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* add_file records file name (in dir) with its SHA-256 under key. */
static int
add_file(struct transcript_entry *e, const char *key, const char *name,
    const char *content)
{
	uint8_t h[FILEIO_SHA256_LEN];
	char p[512];

	in_dir(p, sizeof(p), name);
	if (content != NULL && write_bytes(p, content, strlen(content)) != 0)
		return CA_ERR_IO;
	if (fileio_sha256(h, p) != CA_OK)
		return CA_ERR_IO;
	return transcript_entry_file(e, key, p, h);
}

/* step_record appends one ordinary record at a fixed time. */
static int
step_record(const char *path, const char *step, time_t when,
    enum transcript_outcome oc, const char *msg, const char *in,
    const char *out, const char *out_content)
{
	struct transcript_entry *e = NULL;
	int rc;

	if ((rc = transcript_entry_new(&e, path, step)) != CA_OK)
		return rc;
	transcript_entry_set_time(e, when);
	if ((rc = transcript_entry_add(e, "config", "ceremony.cnf "
	    "sha256:%s", ZEROS)) != CA_OK ||
	    (rc = transcript_entry_add(e, "token", "carapace-root serial "
	    "5c9a1e2f0b3d4a71")) != CA_OK ||
	    (rc = transcript_entry_add(e, "key", "%s", key_desc)) != CA_OK)
		goto out;
	if (in != NULL && (rc = add_file(e, "input", in, NULL)) != CA_OK)
		goto out;
	if (out != NULL && (rc = add_file(e, "output", out, out_content)) !=
	    CA_OK)
		goto out;
	if ((rc = transcript_entry_add(e, "detail", "subject \"CN=Unit %s\"",
	    step)) != CA_OK)
		goto out;
	rc = transcript_append(e, oc, msg, NULL);
 out:
	transcript_entry_free(e);
	return rc;
}

/* build writes the eight-record transcript at path. */
static int
build(const char *path, EVP_PKEY *sealer)
{
	char p[512];
	int rc;

	in_dir(p, sizeof(p), "issuer.csr");
	if (write_bytes(p, "a CSR\n", 6) != 0)
		return CA_ERR_IO;
	if ((rc = step_record(path, "keygen", 1700000000, TRANSCRIPT_OK, NULL,
	    NULL, "root-pub.pem", "public key\n")) != CA_OK ||
	    (rc = transcript_seal(path, key_desc, "sha256", sign_cb,
	    sealer)) != CA_OK ||
	    (rc = step_record(path, "root", 1700000100, TRANSCRIPT_OK, NULL,
	    NULL, "root.pem", "root certificate\n")) != CA_OK ||
	    (rc = transcript_seal(path, key_desc, "sha384", sign_cb,
	    sealer)) != CA_OK ||
	    (rc = step_record(path, "intermediate", 1700000200,
	    TRANSCRIPT_FAILED, "issuer.csr: CSR signature does not verify",
	    "issuer.csr", NULL, NULL)) != CA_OK ||
	    (rc = step_record(path, "intermediate", 1700000300, TRANSCRIPT_OK,
	    NULL, "issuer.csr", "intermediate.pem", "intermediate\n")) !=
	    CA_OK ||
	    (rc = step_record(path, "crl", 1700000400, TRANSCRIPT_CANCELLED,
	    NULL, NULL, NULL, NULL)) != CA_OK ||
	    (rc = transcript_seal(path, key_desc, "sha512", sign_cb,
	    sealer)) != CA_OK)
		return rc;
	return CA_OK;
}

static int
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char spki[FILEIO_SHA256_HEX];
	size_t i, k, line;

	snprintf(dir, sizeof(dir), "%s/test_transcript.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	rootk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	otherk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (rootk == NULL || otherk == NULL)
		return 1;
	spki_hex(spki, rootk);
	snprintf(key_desc, sizeof(key_desc), "pkcs11:token=unit;object=root "
	    "spki-sha256:%s", spki);
	in_dir(tpath, sizeof(tpath), "transcript");
	in_dir(cpath, sizeof(cpath), "copy");
	if (build(tpath, rootk) != CA_OK) {
		fprintf(stderr, "build: %s\n", ca_error_detail());
		return 1;
	}
	if (fileio_read(&good, &good_len, tpath, TRANSCRIPT_MAX_SIZE) !=
	    CA_OK)
		return 1;
	/* Where each record starts, found independently of the parser. */
	for (i = 0, k = 0, line = 1; i < good_len; i++) {
		if ((i == 0 || good[i - 1] == '\n') &&
		    strncmp((char *)good + i, "record ", 7) == 0) {
			if (k >= NRECORDS)
				return 1;
			rec_off[k] = i;
			rec_line[k] = line;
			k++;
		}
		if (good[i] == '\n')
			line++;
	}
	rec_off[NRECORDS] = good_len;
	rec_line[NRECORDS] = line;
	return k != NRECORDS;
}

static int
teardown(void)
{
	free(good);
	EVP_PKEY_free(rootk);
	EVP_PKEY_free(otherk);
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0;
}

/* verify_copy writes buf to the copy and verifies it. */
static int
verify_copy(const void *buf, size_t len, unsigned flags,
    struct transcript_report *rep)
{
	struct transcript_report r;
	int rc;

	if (write_bytes(cpath, buf, len) != 0)
		return -1;
	rc = transcript_verify(rep != NULL ? rep : &r, cpath, rootk, flags);
	if (rep == NULL)
		transcript_report_clear(&r);
	return rc;
}

/* reported_line: the LINE of "COPY:LINE: ..." in the detail, or 0. */
static size_t
reported_line(void)
{
	const char *d = ca_error_detail();
	size_t n = strlen(cpath);

	if (strncmp(d, cpath, n) != 0 || d[n] != ':')
		return 0;
	return (size_t)strtoul(d + n + 1, NULL, 10);
}

/* record_of_offset: the 0-based record holding byte off. */
static size_t
record_of_offset(size_t off)
{
	size_t k;

	for (k = 0; k + 1 < NRECORDS; k++)
		if (off < rec_off[k + 1])
			break;
	return k;
}

/* line_in_record: line lies within record k (0-based). */
static int
line_in_record(size_t line, size_t k)
{
	return line >= rec_line[k] && line < rec_line[k + 1];
}

/* names_record: the detail says "record N:" (1-based). */
static int
names_record(size_t n)
{
	char s[32];

	snprintf(s, sizeof(s), "record %zu:", n);
	return detail_has(s);
}

/*
 * find_line returns the offset of the first line of record n (1-based) in
 * buf that starts with "key ", or (size_t)-1.
 */
static size_t
find_line(const uint8_t *buf, size_t len, size_t n, const char *key)
{
	size_t i, cur = 0, kl = strlen(key);
	char want[32];

	snprintf(want, sizeof(want), "record %zu\n", n);
	for (i = 0; i < len; i++) {
		if (i != 0 && buf[i - 1] != '\n')
			continue;
		if (strncmp((const char *)buf + i, "record ", 7) == 0)
			cur = strncmp((const char *)buf + i, want,
			    strlen(want)) == 0 ? n : 0;
		if (cur == n && len - i > kl &&
		    memcmp(buf + i, key, kl) == 0 && buf[i + kl] == ' ')
			return i;
	}
	return (size_t)-1;
}

/* other_char: a printable character of the same kind, different from c. */
static uint8_t
other_char(uint8_t c)
{
	if (c >= '0' && c <= '8')
		return c + 1;
	if (c == '9')
		return '0';
	if (c >= 'a' && c <= 'e')
		return c + 1;
	if (c == 'f' || (c > 'f' && c < 'z'))
		return c == 'f' ? 'a' : c + 1;
	if (c == 'z')
		return 'y';
	if (c >= 'A' && c < 'Z')
		return c + 1;
	if (c == 'Z')
		return 'Y';
	return c == '-' ? '+' : '-';
}

/* rehash: SHA-256 hex of len bytes. */
static void
rehash(char out[FILEIO_SHA256_HEX], const void *buf, size_t len)
{
	unsigned char h[32];
	unsigned int hl = 0;

	out[0] = '\0';
	if (EVP_Digest(buf, len, h, &hl, EVP_sha256(), NULL) == 1)
		fileio_hex(out, h, sizeof(h));
}

/*
 * rechain does what a forger would do after editing a record: recompute
 * every hash and prev line (and, with fix_sealed, every seal's "sealed"
 * line) so that the chain is consistent again. Returns a new buffer.
 */
/* starts: the line of ll bytes (not NUL-terminated) starts with s. */
static int
starts(const char *line, size_t ll, const char *s)
{
	size_t n = strlen(s);

	return ll >= n && memcmp(line, s, n) == 0;
}

static char *
rechain(const uint8_t *in, size_t len, size_t *out_len, int fix_sealed)
{
	char *out, prev[FILEIO_SHA256_HEX] = ZEROS, hex[FILEIO_SHA256_HEX];
	size_t i = 0, o = 0, start = 0, ll;
	unsigned long idx = 0, last_idx = 0;
	const char *line;

	if ((out = malloc(len + 1024)) == NULL)
		return NULL;
	while (i < len) {
		line = (const char *)in + i;
		ll = (size_t)((const char *)memchr(line, '\n', len - i) - line);
		if (starts(line, ll, "record ")) {
			last_idx = idx;
			idx = strtoul(line + 7, NULL, 10);
			start = o;
		}
		if (starts(line, ll, "prev ")) {
			o += (size_t)sprintf(out + o, "prev %s\n", prev);
		} else if (fix_sealed && starts(line, ll, "sealed ")) {
			o += (size_t)sprintf(out + o, "sealed %lu %s\n",
			    last_idx, prev);
		} else if (starts(line, ll, "hash ")) {
			rehash(hex, out + start, o - start);
			o += (size_t)sprintf(out + o, "hash %s\n", hex);
			memcpy(prev, hex, sizeof(prev));
		} else {
			memcpy(out + o, line, ll + 1);
			o += ll + 1;
		}
		i += ll + 1;
	}
	*out_len = o;
	return out;
}

static void
test_build(void)
{
	struct transcript_report rep;
	struct transcript *t = NULL;
	const struct transcript_record *r;
	const char *v, *b64;
	char hex[FILEIO_SHA256_HEX], prev[FILEIO_SHA256_HEX] = ZEROS;
	char msg[256], want[128];
	unsigned char sig[1024];
	EVP_MD_CTX *md;
	size_t i, siglen, blen;
	int n;

	CU_ASSERT_EQUAL(transcript_verify(&rep, tpath, rootk, 0), CA_OK);
	CU_ASSERT_EQUAL(rep.records, NRECORDS);
	CU_ASSERT_EQUAL(rep.seals, 3);
	CU_ASSERT_EQUAL(rep.unsealed, 0);
	CU_ASSERT_EQUAL(rep.outputs, 3);
	CU_ASSERT_EQUAL(rep.outputs_ok, 3);
	CU_ASSERT_EQUAL(rep.nmissing, 0);
	CU_ASSERT(rep.sealed_through >= NRECORDS - 1);
	transcript_report_clear(&rep);

	CU_ASSERT_EQUAL_FATAL(transcript_load(&t, tpath), CA_OK);
	CU_ASSERT_EQUAL_FATAL(transcript_count(t), NRECORDS);
	CU_ASSERT_PTR_NULL(transcript_record_at(t, NRECORDS));
	for (i = 0; i < NRECORDS; i++) {
		r = transcript_record_at(t, i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_EQUAL(r->index, i + 1);
		CU_ASSERT_EQUAL(r->line, rec_line[i]);
		CU_ASSERT_STRING_EQUAL(r->step, steps[i]);
		CU_ASSERT_STRING_EQUAL(r->prev, prev);
		/* The hash covers "record" through "outcome", as documented. */
		v = strstr((const char *)good + rec_off[i], "\nhash ");
		CU_ASSERT_FATAL(v != NULL);
		rehash(hex, good + rec_off[i],
		    (size_t)(v + 1 - ((const char *)good + rec_off[i])));
		CU_ASSERT_STRING_EQUAL(r->hash, hex);
		CU_ASSERT(strncmp(v + 6, hex, 64) == 0);
		memcpy(prev, r->hash, sizeof(prev));
		if (strcmp(steps[i], "seal") != 0)
			continue;
		/* The seal signs the documented bytes with the root key. */
		CU_ASSERT_STRING_EQUAL(r->outcome, "ok");
		CU_ASSERT_STRING_EQUAL(transcript_record_field(r, "key", 0),
		    key_desc);
		snprintf(want, sizeof(want), "%zu %s", i,
		    transcript_record_at(t, i - 1)->hash);
		CU_ASSERT_STRING_EQUAL(transcript_record_field(r, "sealed", 0),
		    want);
		v = transcript_record_field(r, "signature", 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_FATAL(strchr(v, ' ') != NULL);
		b64 = strchr(v, ' ') + 1;
		blen = strlen(b64);
		CU_ASSERT_FATAL(blen < sizeof(sig) * 4 / 3);
		n = EVP_DecodeBlock(sig, (const unsigned char *)b64, (int)blen);
		CU_ASSERT_FATAL(n > 0);
		siglen = (size_t)n - (b64[blen - 1] == '=') -
		    (b64[blen - 2] == '=');
		snprintf(msg, sizeof(msg), "carapace transcript seal v1\n"
		    "record %zu\nhash %s\n", i,
		    transcript_record_at(t, i - 1)->hash);
		md = EVP_MD_CTX_new();
		CU_ASSERT_PTR_NOT_NULL_FATAL(md);
		snprintf(want, sizeof(want), "%.*s", (int)(b64 - 1 - v), v);
		CU_ASSERT_EQUAL(EVP_DigestVerifyInit_ex(md, NULL, want, NULL,
		    NULL, rootk, NULL), 1);
		CU_ASSERT_EQUAL(EVP_DigestVerify(md, sig, siglen,
		    (unsigned char *)msg, strlen(msg)), 1);
		EVP_MD_CTX_free(md);
	}
	/* Each seal names the digest it was asked for. */
	CU_ASSERT(strncmp(transcript_record_field(transcript_record_at(t, 1),
	    "signature", 0), "sha256 ", 7) == 0);
	CU_ASSERT(strncmp(transcript_record_field(transcript_record_at(t, 3),
	    "signature", 0), "sha384 ", 7) == 0);
	CU_ASSERT(strncmp(transcript_record_field(transcript_record_at(t, 7),
	    "signature", 0), "sha512 ", 7) == 0);

	r = transcript_record_at(t, 0);
	CU_ASSERT_STRING_EQUAL(r->time, "2023-11-14T22:13:20Z");
	CU_ASSERT_STRING_EQUAL(r->outcome, "ok");
	CU_ASSERT_STRING_EQUAL(transcript_record_field(r, "token", 0),
	    "carapace-root serial 5c9a1e2f0b3d4a71");
	CU_ASSERT_PTR_NOT_NULL(transcript_record_field(r, "output", 0));
	CU_ASSERT(strncmp(transcript_record_field(r, "output", 0),
	    "root-pub.pem sha256:", 20) == 0);
	CU_ASSERT_PTR_NULL(transcript_record_field(r, "output", 1));
	CU_ASSERT_PTR_NULL(transcript_record_field(r, "input", 0));
	r = transcript_record_at(t, 4);
	CU_ASSERT_STRING_EQUAL(r->outcome,
	    "failed: issuer.csr: CSR signature does not verify");
	rehash(hex, "a CSR\n", 6);
	snprintf(want, sizeof(want), "issuer.csr sha256:%s", hex);
	CU_ASSERT_STRING_EQUAL(transcript_record_field(r, "input", 0), want);
	CU_ASSERT_STRING_EQUAL(transcript_record_at(t, 6)->outcome,
	    "cancelled");
	transcript_free(t);
	transcript_free(NULL);
}

static void
test_entry(void)
{
	struct transcript_entry *e = NULL;
	struct transcript *t = NULL;
	const struct transcript_record *r;
	char p[512], *longv, out[FILEIO_SHA256_HEX];
	uint8_t h[FILEIO_SHA256_LEN] = { 0 };
	size_t vlen;

	in_dir(p, sizeof(p), "entries");
	CU_ASSERT_EQUAL(transcript_entry_new(&e, p, "Keygen"), CA_ERR_USAGE);
	CU_ASSERT_PTR_NULL(e);
	CU_ASSERT_EQUAL(transcript_entry_new(&e, p, "two words"), CA_ERR_USAGE);
	CU_ASSERT_EQUAL(transcript_entry_new(&e, p, ""), CA_ERR_USAGE);
	CU_ASSERT_EQUAL_FATAL(transcript_entry_new(&e, p, "root"), CA_OK);
	transcript_entry_set_time(e, 0);
	CU_ASSERT_EQUAL(transcript_entry_add(e, "Bad", "x"), CA_ERR_USAGE);
	CU_ASSERT_EQUAL(transcript_entry_add(e, "hash", "x"), CA_ERR_USAGE);
	CU_ASSERT_EQUAL(transcript_entry_add(e, "outcome", "ok"),
	    CA_ERR_USAGE);
	CU_ASSERT_EQUAL(transcript_entry_add(e, "with space", "x"),
	    CA_ERR_USAGE);
	/* Control characters cannot forge lines: they are escaped. */
	CU_ASSERT_EQUAL(transcript_entry_add(e, "detail", "a\nhash %s\tb\x7f",
	    ZEROS), CA_OK);
	longv = malloc(3 * TRANSCRIPT_MAX_LINE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(longv);
	memset(longv, 'x', 3 * TRANSCRIPT_MAX_LINE - 1);
	longv[3 * TRANSCRIPT_MAX_LINE - 1] = '\0';
	CU_ASSERT_EQUAL(transcript_entry_add(e, "long", "%s", longv), CA_OK);
	/* A file under the transcript's directory: relative; else absolute. */
	{
		char sub[512];

		in_dir(sub, sizeof(sub), "sub");
		CU_ASSERT_EQUAL(mkdir(sub, 0700), 0);
		in_dir(sub, sizeof(sub), "sub/x.pem");
		CU_ASSERT_EQUAL(transcript_entry_file(e, "output", sub, h),
		    CA_OK);
		CU_ASSERT_EQUAL(transcript_entry_file(e, "input", "/etc/passwd",
		    h), CA_OK);
	}
	CU_ASSERT_EQUAL(transcript_append(e, TRANSCRIPT_FAILED,
	    "bad\nthing", out), CA_OK);
	transcript_entry_free(e);
	transcript_entry_free(NULL);

	CU_ASSERT_EQUAL_FATAL(transcript_load(&t, p), CA_OK);
	CU_ASSERT_EQUAL_FATAL(transcript_count(t), 1);
	r = transcript_record_at(t, 0);
	CU_ASSERT_STRING_EQUAL(r->hash, out);
	CU_ASSERT_STRING_EQUAL(r->time, "1970-01-01T00:00:00Z");
	CU_ASSERT_STRING_EQUAL(r->outcome, "failed: bad\\x0athing");
	CU_ASSERT_STRING_EQUAL(transcript_record_field(r, "detail", 0),
	    "a\\x0ahash " ZEROS "\\x09b\\x7f");
	vlen = strlen(transcript_record_field(r, "long", 0));
	CU_ASSERT(vlen > TRANSCRIPT_MAX_LINE / 2);
	CU_ASSERT(vlen + strlen("long ") <= TRANSCRIPT_MAX_LINE);
	CU_ASSERT_STRING_EQUAL(transcript_record_field(r, "output", 0),
	    "sub/x.pem sha256:" ZEROS);
	CU_ASSERT_STRING_EQUAL(transcript_record_field(r, "input", 0),
	    "/etc/passwd sha256:" ZEROS);
	CU_ASSERT_EQUAL(r->nfields, 4);
	transcript_free(t);
	free(longv);
	unlink(p);
}

/* Every byte, flipped on its own, is caught in the record that holds it. */
static void
test_flip_every_byte(void)
{
	uint8_t *buf;
	size_t i, k, line, undetected = 0, misplaced = 0;
	int rc;

	buf = calloc(1, good_len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (i = 0; i < good_len; i++) {
		if (good[i] == '\n')
			continue;
		memcpy(buf, good, good_len);
		buf[i] = other_char(good[i]);
		rc = verify_copy(buf, good_len, TRANSCRIPT_ALLOW_UNSEALED,
		    NULL);
		k = record_of_offset(i);
		line = reported_line();
		if (rc != CA_ERR_VERIFY) {
			if (undetected++ < 5)
				fprintf(stderr, "\n  byte %zu (record %zu) "
				    "'%c'->'%c': rc %d\n", i, k + 1, good[i],
				    buf[i], rc);
		} else if (!line_in_record(line, k)) {
			if (misplaced++ < 5)
				fprintf(stderr, "\n  byte %zu (record %zu): "
				    "%s\n", i, k + 1, ca_error_detail());
		}
	}
	CU_ASSERT_EQUAL(undetected, 0);
	CU_ASSERT_EQUAL(misplaced, 0);
	free(buf);
}

/* Edit one byte of each named field of every record. */
static void
test_edit_fields(void)
{
	static const char *const keys[] = { "record", "prev", "time", "step",
	    "outcome", "hash", "key", "output", "sealed", "signature" };
	uint8_t *buf;
	size_t n, f, off, end, edited = 0;

	buf = calloc(1, good_len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (n = 1; n <= NRECORDS; n++) {
		for (f = 0; f < sizeof(keys) / sizeof(keys[0]); f++) {
			off = find_line(good, good_len, n, keys[f]);
			if (off == (size_t)-1)
				continue;
			/*
			 * The last character of the value (of the time, the
			 * last digit), so that the line keeps its shape.
			 */
			end = off;
			while (good[end] != '\n')
				end++;
			if (strcmp(keys[f], "time") == 0)
				end--;
			memcpy(buf, good, good_len);
			buf[end - 1] = other_char(good[end - 1]);
			CU_ASSERT_EQUAL(verify_copy(buf, good_len, 0, NULL),
			    CA_ERR_VERIFY);
			CU_ASSERT(line_in_record(reported_line(), n - 1));
			if (strcmp(keys[f], "record") == 0)
				continue;
			CU_ASSERT(names_record(n));
			/* Edits to a record's text are caught by its hash. */
			if (strcmp(keys[f], "outcome") != 0)
				CU_ASSERT(detail_has(strcmp(keys[f], "prev") ==
				    0 ? "prev does not match" :
				    "hash does not match"));
			edited++;
		}
	}
	/* 8 records x 6 common lines + key/output/seal lines. */
	CU_ASSERT(edited >= NRECORDS * 5 + 3 * 3);
	free(buf);
}

/* Delete each record in turn; swap each pair of neighbours. */
static void
test_delete_reorder(void)
{
	struct transcript_report rep;
	uint8_t *buf;
	size_t k, a, b, c, len;

	buf = calloc(1, good_len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (k = 0; k < NRECORDS; k++) {
		a = rec_off[k];
		b = rec_off[k + 1];
		memcpy(buf, good, a);
		memcpy(buf + a, good + b, good_len - b);
		len = good_len - (b - a);
		CU_ASSERT_EQUAL(verify_copy(buf, len, 0, NULL), CA_ERR_VERIFY);
		if (k + 1 < NRECORDS)
			CU_ASSERT(detail_has("was removed or reordered"));
	}
	/* Dropping the final seal leaves records 5 to 7 unsealed. */
	CU_ASSERT_EQUAL(verify_copy(good, rec_off[NRECORDS - 1], 0, &rep),
	    CA_ERR_VERIFY);
	CU_ASSERT(detail_has("records 5 to 7 are not sealed"));
	transcript_report_clear(&rep);
	CU_ASSERT_EQUAL(verify_copy(good, rec_off[NRECORDS - 1],
	    TRANSCRIPT_ALLOW_UNSEALED, &rep), CA_OK);
	CU_ASSERT_EQUAL(rep.records, NRECORDS - 1);
	CU_ASSERT_EQUAL(rep.unsealed, 3);
	CU_ASSERT_EQUAL(rep.seals, 2);
	transcript_report_clear(&rep);

	for (k = 0; k + 1 < NRECORDS; k++) {
		a = rec_off[k];
		b = rec_off[k + 1];
		c = rec_off[k + 2];
		memcpy(buf, good, a);
		memcpy(buf + a, good + b, c - b);
		memcpy(buf + a + (c - b), good + a, b - a);
		memcpy(buf + c, good + c, good_len - c);
		CU_ASSERT_EQUAL(verify_copy(buf, good_len, 0, NULL),
		    CA_ERR_VERIFY);
		CU_ASSERT(line_in_record(reported_line(), k));
	}
	free(buf);
}

/*
 * Cut the file at every byte. Only a cut right after a seal leaves a valid,
 * sealed transcript (a shorter one); every other cut must fail.
 */
static void
test_truncate(void)
{
	struct transcript_report rep;
	size_t i, k, bad = 0;
	int at_seal, rc;

	for (i = 0; i < good_len; i++) {
		at_seal = 0;
		for (k = 1; k < NRECORDS; k++)
			if (i == rec_off[k] && strcmp(steps[k - 1], "seal") ==
			    0)
				at_seal = 1;
		rc = verify_copy(good, i, 0, &rep);
		if (at_seal) {
			CU_ASSERT_EQUAL(rc, CA_OK);
			CU_ASSERT_EQUAL(rep.unsealed, 0);
			CU_ASSERT(rep.records < NRECORDS);
		} else if (rc != CA_ERR_VERIFY && bad++ < 5) {
			fprintf(stderr, "\n  cut at %zu: rc %d\n", i, rc);
		}
		transcript_report_clear(&rep);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(verify_copy(good, 0, TRANSCRIPT_ALLOW_UNSEALED, NULL),
	    CA_ERR_VERIFY);
	CU_ASSERT(detail_has("empty"));
}

/*
 * A forger edits a record and recomputes every hash after it: the chain is
 * consistent again, and only the seals catch it.
 */
static void
test_rechain(void)
{
	struct transcript *t = NULL;
	uint8_t *buf;
	char *re;
	size_t off, len;

	buf = calloc(1, good_len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);

	/* Sanity: rechaining the good file changes nothing. */
	re = rechain(good, good_len, &len, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(re);
	CU_ASSERT(len == good_len && memcmp(re, good, len) == 0);
	free(re);

	/* Record 3 (root) gets another token serial; seal 4 covers it. */
	memcpy(buf, good, good_len);
	off = find_line(buf, good_len, 3, "token");
	CU_ASSERT_FATAL(off != (size_t)-1);
	while (buf[off] != '\n')
		off++;
	buf[off - 1] = other_char(buf[off - 1]);
	re = rechain(buf, good_len, &len, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(re);
	CU_ASSERT_EQUAL(transcript_parse(&t, (uint8_t *)re, len, "re"), CA_OK);
	transcript_free(t);
	t = NULL;
	CU_ASSERT_EQUAL(verify_copy(re, len, 0, NULL), CA_ERR_VERIFY);
	CU_ASSERT(names_record(4));
	CU_ASSERT(detail_has("the seal's signature does not verify with the "
	    "root key"));
	CU_ASSERT(line_in_record(reported_line(), 3));
	free(re);

	/* Without fixing the seal's "sealed" line. */
	re = rechain(buf, good_len, &len, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(re);
	CU_ASSERT_EQUAL(verify_copy(re, len, 0, NULL), CA_ERR_VERIFY);
	CU_ASSERT(names_record(4));
	CU_ASSERT(detail_has("the seal does not name record 3"));
	free(re);

	/* The seal's signature itself, re-chained. */
	memcpy(buf, good, good_len);
	off = find_line(buf, good_len, 8, "signature");
	CU_ASSERT_FATAL(off != (size_t)-1);
	buf[off + strlen("signature sha512 ") + 5] ^= 0x01;
	re = rechain(buf, good_len, &len, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(re);
	CU_ASSERT_EQUAL(verify_copy(re, len, 0, NULL), CA_ERR_VERIFY);
	CU_ASSERT(names_record(8));
	free(re);

	/* A seal turned into another step is no seal: records unsealed. */
	memcpy(buf, good, good_len);
	off = find_line(buf, good_len, 8, "step");
	CU_ASSERT_FATAL(off != (size_t)-1);
	memcpy(buf + off + 5, "xeal", 4);
	re = rechain(buf, good_len, &len, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(re);
	CU_ASSERT_EQUAL(verify_copy(re, len, 0, NULL), CA_ERR_VERIFY);
	CU_ASSERT(detail_has("not sealed"));
	free(re);
	free(buf);
}

/* Records added after the last seal are reported until resealed. */
static void
test_append_after_seal(void)
{
	struct transcript_report rep;
	struct transcript_entry *e = NULL;
	uint8_t *buf = NULL;
	char *forged, *re;
	size_t len, flen;

	CU_ASSERT_EQUAL_FATAL(write_bytes(cpath, good, good_len), 0);
	CU_ASSERT_EQUAL_FATAL(transcript_entry_new(&e, cpath, "crl"), CA_OK);
	CU_ASSERT_EQUAL(transcript_entry_add(e, "detail", "late"), CA_OK);
	CU_ASSERT_EQUAL(transcript_append(e, TRANSCRIPT_OK, NULL, NULL), CA_OK);
	transcript_entry_free(e);
	CU_ASSERT_EQUAL(transcript_verify(&rep, cpath, rootk, 0),
	    CA_ERR_VERIFY);
	CU_ASSERT(detail_has("records 9 to 9 are not sealed"));
	CU_ASSERT_EQUAL(rep.records, NRECORDS + 1);
	CU_ASSERT_EQUAL(rep.unsealed, 1);
	transcript_report_clear(&rep);
	CU_ASSERT_EQUAL(transcript_verify(&rep, cpath, rootk,
	    TRANSCRIPT_ALLOW_UNSEALED), CA_OK);
	CU_ASSERT_EQUAL(rep.unsealed, 1);
	CU_ASSERT_EQUAL(rep.seals, 3);
	transcript_report_clear(&rep);

	/* Resealed by the root key: whole again. */
	CU_ASSERT_EQUAL(transcript_seal(cpath, key_desc, "sha256", sign_cb,
	    rootk), CA_OK);
	CU_ASSERT_EQUAL(transcript_verify(&rep, cpath, rootk, 0), CA_OK);
	CU_ASSERT_EQUAL(rep.records, NRECORDS + 2);
	CU_ASSERT_EQUAL(rep.seals, 4);
	CU_ASSERT_EQUAL(rep.unsealed, 0);
	transcript_report_clear(&rep);

	/* Resealed by another key: refused. */
	CU_ASSERT_EQUAL_FATAL(write_bytes(cpath, good, good_len), 0);
	CU_ASSERT_EQUAL_FATAL(transcript_entry_new(&e, cpath, "crl"), CA_OK);
	CU_ASSERT_EQUAL(transcript_append(e, TRANSCRIPT_OK, NULL, NULL), CA_OK);
	transcript_entry_free(e);
	CU_ASSERT_EQUAL(transcript_seal(cpath, key_desc, "sha256", sign_cb,
	    otherk), CA_OK);
	CU_ASSERT_EQUAL(transcript_verify(&rep, cpath, rootk, 0),
	    CA_ERR_VERIFY);
	CU_ASSERT(names_record(10));
	CU_ASSERT(detail_has("signature does not verify"));
	transcript_report_clear(&rep);

	/* A hand-written record with a correct hash, appended to the file. */
	flen = good_len + 1024;
	forged = malloc(flen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(forged);
	memcpy(forged, good, good_len);
	len = good_len + (size_t)snprintf(forged + good_len, flen - good_len,
	    "record 9\nprev %s\ntime 2023-11-14T23:00:00Z\nstep root\n"
	    "detail forged\noutcome ok\nhash %s\n\n", ZEROS, ZEROS);
	re = rechain((uint8_t *)forged, len, &len, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(re);
	CU_ASSERT_EQUAL(verify_copy(re, len, 0, &rep), CA_ERR_VERIFY);
	CU_ASSERT(detail_has("records 9 to 9 are not sealed"));
	transcript_report_clear(&rep);
	free(re);
	free(forged);

	/* A damaged transcript is never extended, nor sealed. */
	buf = calloc(1, good_len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memcpy(buf, good, good_len);
	buf[rec_off[2] + 20] = other_char(buf[rec_off[2] + 20]);
	CU_ASSERT_EQUAL_FATAL(write_bytes(cpath, buf, good_len), 0);
	CU_ASSERT_EQUAL_FATAL(transcript_entry_new(&e, cpath, "crl"), CA_OK);
	CU_ASSERT_EQUAL(transcript_append(e, TRANSCRIPT_OK, NULL, NULL),
	    CA_ERR_VERIFY);
	CU_ASSERT(detail_has("refusing to append to a damaged transcript"));
	transcript_entry_free(e);
	CU_ASSERT_EQUAL(transcript_seal(cpath, key_desc, "sha256", sign_cb,
	    rootk), CA_ERR_VERIFY);
	free(buf);
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, cpath, TRANSCRIPT_MAX_SIZE),
	    CA_OK);
	CU_ASSERT_EQUAL(len, good_len);
	free(buf);
}

/* Outputs that changed, or vanished, after they were recorded. */
static void
test_outputs(void)
{
	struct transcript_report rep;
	char p[512], moved[512];

	in_dir(p, sizeof(p), "intermediate.pem");
	in_dir(moved, sizeof(moved), "intermediate.pem.saved");
	CU_ASSERT_EQUAL_FATAL(rename(p, moved), 0);
	CU_ASSERT_EQUAL(write_bytes(p, "intermediatE\n", 13), 0);
	CU_ASSERT_EQUAL(transcript_verify(&rep, tpath, rootk, 0),
	    CA_ERR_VERIFY);
	CU_ASSERT(names_record(6));
	CU_ASSERT(detail_has("intermediate.pem has changed since the "
	    "ceremony"));
	transcript_report_clear(&rep);

	/* Missing: listed, not failed. */
	CU_ASSERT_EQUAL(unlink(p), 0);
	CU_ASSERT_EQUAL(transcript_verify(&rep, tpath, rootk, 0), CA_OK);
	CU_ASSERT_EQUAL(rep.outputs, 3);
	CU_ASSERT_EQUAL(rep.outputs_ok, 2);
	CU_ASSERT_EQUAL_FATAL(rep.nmissing, 1);
	CU_ASSERT_STRING_EQUAL(rep.missing[0], "intermediate.pem");
	transcript_report_clear(&rep);
	CU_ASSERT_EQUAL(rep.nmissing, 0);
	CU_ASSERT_PTR_NULL(rep.missing);
	CU_ASSERT_EQUAL(rename(moved, p), 0);
	CU_ASSERT_EQUAL(transcript_verify(&rep, tpath, rootk, 0), CA_OK);
	transcript_report_clear(&rep);
}

static void
test_keys(void)
{
	struct transcript_report rep;
	char p[512], spki[FILEIO_SHA256_HEX], saved[256];
	uint8_t *buf = NULL;
	size_t len = 0;

	/* The wrong public key. */
	CU_ASSERT_EQUAL(transcript_verify(&rep, tpath, otherk, 0),
	    CA_ERR_VERIFY);
	CU_ASSERT(names_record(2));
	CU_ASSERT(detail_has("sealed by a different key"));
	transcript_report_clear(&rep);
	CU_ASSERT_EQUAL(transcript_verify(&rep, tpath, NULL, 0), CA_ERR_USAGE);
	transcript_report_clear(&rep);

	/* Sealed by another key that names itself on the key line. */
	snprintf(saved, sizeof(saved), "%s", key_desc);
	spki_hex(spki, otherk);
	snprintf(key_desc, sizeof(key_desc), "pkcs11:token=other spki-sha256:"
	    "%s", spki);
	in_dir(p, sizeof(p), "other-transcript");
	CU_ASSERT_EQUAL(build(p, otherk), CA_OK);
	CU_ASSERT_EQUAL(transcript_verify(&rep, p, otherk, 0), CA_OK);
	transcript_report_clear(&rep);
	CU_ASSERT_EQUAL(transcript_verify(&rep, p, rootk, 0), CA_ERR_VERIFY);
	CU_ASSERT(detail_has("sealed by a different key"));
	transcript_report_clear(&rep);
	unlink(p);

	/* A key line without a fingerprint: the signature still decides. */
	snprintf(key_desc, sizeof(key_desc), "pkcs11:token=other");
	CU_ASSERT_EQUAL(build(p, otherk), CA_OK);
	CU_ASSERT_EQUAL(transcript_verify(&rep, p, rootk, 0), CA_ERR_VERIFY);
	CU_ASSERT(names_record(2));
	CU_ASSERT(detail_has("signature does not verify"));
	transcript_report_clear(&rep);
	unlink(p);
	snprintf(key_desc, sizeof(key_desc), "%s", saved);

	/* Nothing to seal, and a signer that fails: nothing is written. */
	in_dir(p, sizeof(p), "empty-transcript");
	CU_ASSERT_EQUAL(write_bytes(p, "", 0), 0);
	CU_ASSERT_EQUAL(transcript_seal(p, key_desc, "sha256", sign_cb,
	    rootk), CA_ERR_INVALID);
	CU_ASSERT(detail_has("nothing to seal"));
	unlink(p);
	CU_ASSERT_EQUAL_FATAL(write_bytes(cpath, good, good_len), 0);
	CU_ASSERT_EQUAL(transcript_seal(cpath, key_desc, "sha256",
	    sign_fail_cb, NULL), CA_ERR_TOKEN_ABSENT);
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, cpath, TRANSCRIPT_MAX_SIZE),
	    CA_OK);
	CU_ASSERT(len == good_len && memcmp(buf, good, len) == 0);
	free(buf);
}

static void
test_parse_limits(void)
{
	struct transcript *t = (struct transcript *)&t;
	char *s, *re;
	size_t len, n;
	char p[512];

	in_dir(p, sizeof(p), "absent-transcript");
	CU_ASSERT_EQUAL(transcript_load(&t, p), CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(t);

	/* An empty transcript parses (verify refuses it, see truncate). */
	CU_ASSERT_EQUAL(transcript_parse(&t, (const uint8_t *)"", 0, "e"),
	    CA_OK);
	CU_ASSERT(t != NULL && transcript_count(t) == 0);
	transcript_free(t);

	/* CRLF, a tab, no final newline: all refused. */
	s = malloc(good_len + 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memcpy(s, good, rec_off[1]);
	s[rec_off[1] - 1] = '\r';
	s[rec_off[1]] = '\n';
	CU_ASSERT_EQUAL(transcript_parse(&t, (uint8_t *)s, rec_off[1] + 1,
	    "crlf"), CA_ERR_VERIFY);
	CU_ASSERT(detail_has("control character 0x0d"));
	CU_ASSERT_EQUAL(transcript_parse(&t, good, rec_off[1] - 1, "cut"),
	    CA_ERR_VERIFY);
	CU_ASSERT(detail_has("truncated"));
	free(s);

	/* A line over the limit, even in a correctly hashed record. */
	n = TRANSCRIPT_MAX_LINE + 100;
	s = malloc(n + 512);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	len = (size_t)sprintf(s, "record 1\nprev %s\ntime "
	    "2023-11-14T22:13:20Z\nstep root\ndetail ", ZEROS);
	memset(s + len, 'x', n);
	len += n;
	len += (size_t)sprintf(s + len, "\noutcome ok\nhash %s\n\n", ZEROS);
	re = rechain((uint8_t *)s, len, &len, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(re);
	CU_ASSERT_EQUAL(transcript_parse(&t, (uint8_t *)re, len, "long"),
	    CA_ERR_VERIFY);
	CU_ASSERT(detail_has("long:5: line longer than"));
	free(re);
	free(s);

	/* Record numbering must start at 1 and the first prev be zeros. */
	CU_ASSERT_EQUAL(transcript_parse(&t, good + rec_off[1],
	    good_len - rec_off[1], "tail"), CA_ERR_VERIFY);
	CU_ASSERT(detail_has("tail:1: record 2 where record 1 was expected"));
}

static CU_TestInfo tests[] = {
	{ "build", test_build },
	{ "entry", test_entry },
	{ "flip_every_byte", test_flip_every_byte },
	{ "edit_fields", test_edit_fields },
	{ "delete_reorder", test_delete_reorder },
	{ "truncate", test_truncate },
	{ "rechain", test_rechain },
	{ "append_after_seal", test_append_after_seal },
	{ "outputs", test_outputs },
	{ "keys", test_keys },
	{ "parse_limits", test_parse_limits },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("transcript", setup, teardown, tests)
