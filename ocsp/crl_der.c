/* SPDX-License-Identifier: ISC */
/*
 * crl_der: builds the DER of an RFC 5280 v2 CRL without an X509_CRL
 * object. The revokedCertificates list is a SEQUENCE OF SEQUENCE { serial
 * INTEGER, revocationDate Time, crlEntryExtensions (reasonCode) }, written
 * straight into one buffer from the log's revoked rows; everything else
 * (algorithm identifier, issuer name, thisUpdate, nextUpdate, the AKI and
 * CRL number extensions) is encoded by OpenSSL's i2d functions. This code
 * only writes DER; what it writes is parsed back and compared by
 * crl_check (OpenSSL's decoder) before anything is published.
 *
 * The buffer keeps room in front of the entries for the headers, whose
 * lengths are known only once the entries are written, so the million
 * entries of a large CRL are written once and never copied.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/profile.h"
#include "ocsp/crl.h"

/* Room for a tag and a definite length of up to 4 length octets. */
#define HDR_MAX		6
/* One entry: SEQUENCE { INTEGER (<= 21), Time (<= 17), exts (14) }. */
#define ENTRY_MAX	(2 + 2 + 21 + 17 + 14)

/* hdr_len: the size of a tag plus a definite length len. */
static size_t
hdr_len(size_t len)
{
	if (len < 0x80)
		return 2;
	if (len <= 0xff)
		return 3;
	if (len <= 0xffff)
		return 4;
	if (len <= 0xffffff)
		return 5;
	return 6;
}

/* hdr_put writes tag and length at p and returns the bytes written. */
static size_t
hdr_put(uint8_t *p, uint8_t tag, size_t len)
{
	size_t n = hdr_len(len), i;

	p[0] = tag;
	if (n == 2) {
		p[1] = (uint8_t)len;
		return 2;
	}
	p[1] = (uint8_t)(0x80 | (n - 2));
	for (i = n - 1; i >= 2; i--) {
		p[i] = (uint8_t)(len & 0xff);
		len >>= 8;
	}
	return n;
}

/* civil_from_days: days since 1970-01-01 to y-m-d (H. Hinnant's method). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static uint8_t *
put2(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)('0' + v / 10 % 10);
	p[1] = (uint8_t)('0' + v % 10);
	return p + 2;
}

size_t
crl_der_time(uint8_t *out, int64_t t)
{
	int64_t days, secs, y;
	unsigned m, d;
	uint8_t *p = out;

	days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	secs = t - days * 86400;
	civil_from_days(days, &y, &m, &d);
	if (y < 1 || y > 9999)
		return 0;
	if (y >= 1950 && y < 2050) {
		*p++ = V_ASN1_UTCTIME;
		*p++ = 13;
		p = put2(p, (unsigned)(y % 100));
	} else {
		*p++ = V_ASN1_GENERALIZEDTIME;
		*p++ = 15;
		p = put2(p, (unsigned)(y / 100));
		p = put2(p, (unsigned)(y % 100));
	}
	p = put2(p, m);
	p = put2(p, d);
	p = put2(p, (unsigned)(secs / 3600));
	p = put2(p, (unsigned)(secs / 60 % 60));
	p = put2(p, (unsigned)(secs % 60));
	*p++ = 'Z';
	return (size_t)(p - out);
}

/* entry_put writes one revokedCertificates entry at p; returns its size. */
static size_t
entry_put(uint8_t *p, const struct issuance_revoked *e)
{
	static const uint8_t reason_ext[] = {
		0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15,
		0x04, 0x03, 0x0a, 0x01,
	};
	uint8_t body[ENTRY_MAX], *b = body;
	const uint8_t *s = e->serial;
	size_t slen = ISSUANCE_LOG_SERIAL_LEN, tlen, n;

	/* INTEGER: minimal, positive (RFC 5280 4.1.2.2). */
	while (slen > 1 && s[0] == 0) {
		s++;
		slen--;
	}
	*b++ = V_ASN1_INTEGER;
	if (s[0] & 0x80) {
		*b++ = (uint8_t)(slen + 1);
		*b++ = 0;
	} else
		*b++ = (uint8_t)slen;
	memcpy(b, s, slen);
	b += slen;
	if ((tlen = crl_der_time(b, e->revoked_at)) == 0)
		return 0;
	b += tlen;
	if (e->reason != ISSUANCE_REASON_UNSPECIFIED) {
		memcpy(b, reason_ext, sizeof(reason_ext));
		b += sizeof(reason_ext);
		*b++ = (uint8_t)e->reason;
	}
	n = (size_t)(b - body);
	p[0] = V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED;
	p[1] = (uint8_t)n;
	memcpy(p + 2, body, n);
	return n + 2;
}

/* reason_ok: RFC 5280 5.3.1 codes the log may hold (no hold, no 7, 8). */
static int
reason_ok(int r)
{
	return (r >= 0 && r <= 5) || r == 9 || r == 10;
}

int
crl_issuer_load(struct crl_issuer *iss, const char *path, const char *digest)
{
	uint8_t *buf = NULL;
	size_t len;
	const ASN1_OCTET_STRING *ski;
	const ASN1_BIT_STRING *pk;
	unsigned int mdlen;
	uint8_t h[EVP_MAX_MD_SIZE];
	int rc = CA_ERR_INTERNAL, t;

	memset(iss, 0, sizeof(*iss));
	if ((rc = fileio_read(&buf, &len, path, FILEIO_MAX_SMALL)) != CA_OK ||
	    (rc = profile_cert_read(&iss->cert, buf, len, path)) != CA_OK)
		goto out;
	iss->pub = X509_get0_pubkey(iss->cert);
	t = iss->pub == NULL ? 0 : EVP_PKEY_get_base_id(iss->pub);
	if (t != EVP_PKEY_RSA && t != EVP_PKEY_EC) {
		rc = ca_error(CA_ERR_UNSUPPORTED, "%s: the issuer's key is "
		    "neither RSA nor EC", path);
		goto out;
	}
	if ((X509_get_extension_flags(iss->cert) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(iss->cert) & KU_CRL_SIGN)) {
		rc = ca_error(CA_ERR_POLICY, "%s: RFC 5280 4.2.1.3: keyUsage "
		    "lacks cRLSign, so this certificate may not sign CRLs",
		    path);
		goto out;
	}
	if ((ski = X509_get0_subject_key_id(iss->cert)) != NULL) {
		if (ASN1_STRING_length(ski) <= 0 ||
		    ASN1_STRING_length(ski) > CRL_KEY_ID_MAX) {
			rc = ca_error(CA_ERR_INVALID, "%s: subjectKeyIdentifier "
			    "of %d bytes (1..%d allowed)", path,
			    ASN1_STRING_length(ski), CRL_KEY_ID_MAX);
			goto out;
		}
		iss->kid_len = (size_t)ASN1_STRING_length(ski);
		memcpy(iss->kid, ASN1_STRING_get0_data(ski), iss->kid_len);
	} else {
		pk = X509_get0_pubkey_bitstr(iss->cert);
		if (pk == NULL || !EVP_Digest(ASN1_STRING_get0_data(pk),
		    (size_t)ASN1_STRING_length(pk), h, &mdlen, EVP_sha1(),
		    NULL)) {
			rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: key "
			    "identifier", path);
			goto out;
		}
		iss->kid_len = mdlen;
		memcpy(iss->kid, h, mdlen);
	}
	if ((rc = profile_digest(&iss->md, iss->pub, digest, path)) != CA_OK)
		goto out;
	rc = CA_OK;
 out:
	free(buf);
	if (rc != CA_OK)
		crl_issuer_clear(iss);
	return rc;
}

void
crl_issuer_clear(struct crl_issuer *iss)
{
	X509_free(iss->cert);
	memset(iss, 0, sizeof(*iss));
}

int
crl_list_add(struct crl_list *l, const struct issuance_revoked *e)
{
	struct issuance_revoked *nv;
	size_t ncap;

	if (l->n == l->cap) {
		if (l->cap >= CRL_ENTRIES_MAX)
			return ca_error(CA_ERR_POLICY, "CRL: more than %u "
			    "revoked certificates", CRL_ENTRIES_MAX);
		ncap = l->cap == 0 ? 1024 : l->cap * 2;
		if ((nv = realloc(l->v, ncap * sizeof(*nv))) == NULL)
			return ca_error(CA_ERR_NOMEM, "CRL: out of memory "
			    "for %zu entries", ncap);
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *e;
	return CA_OK;
}

void
crl_list_clear(struct crl_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct list_ctx {
	struct crl_list *l;
	int rc;
};

static int
list_cb(const struct issuance_revoked *e, void *arg)
{
	struct list_ctx *c = arg;
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	const struct issuance_revoked *prev;

	if (c->l->n > 0) {
		prev = &c->l->v[c->l->n - 1];
		if (memcmp(prev->serial, e->serial, sizeof(e->serial)) >= 0) {
			c->rc = ca_error(CA_ERR_DB, "issuance log: serial %s "
			    "listed out of order or twice",
			    fileio_hex(hex, e->serial, sizeof(e->serial)));
			return 1;
		}
	}
	if (!reason_ok(e->reason)) {
		c->rc = ca_error(CA_ERR_DB, "issuance log: serial %s: "
		    "revocation reason %d is not one RFC 5280 5.3.1 allows "
		    "here", fileio_hex(hex, e->serial, sizeof(e->serial)),
		    e->reason);
		return 1;
	}
	if ((c->rc = crl_list_add(c->l, e)) != CA_OK)
		return 1;
	return 0;
}

int
crl_list_load(struct crl_list *l, struct issuance_log_reader *r,
    const struct crl_issuer *iss)
{
	struct list_ctx c = { l, CA_OK };
	int rc;

	l->n = 0;
	rc = issuance_log_reader_revoked(r, iss->kid, iss->kid_len, list_cb,
	    &c);
	if (rc == CA_OK)
		rc = c.rc;
	return rc;
}

void
crl_blob_free(struct crl_blob *b)
{
	if (b == NULL)
		return;
	free(b->mem);
	memset(b, 0, sizeof(*b));
}

/* buf: a growable buffer with fixed headroom in front. */
struct buf {
	uint8_t *mem;
	size_t start;		/* first used byte */
	size_t end;		/* one past the last used byte */
	size_t cap;
};

static int
buf_reserve(struct buf *b, size_t more)
{
	uint8_t *nm;
	size_t ncap;

	if (b->end + more <= b->cap)
		return CA_OK;
	ncap = b->cap + b->cap / 2;
	if (ncap < b->end + more)
		ncap = b->end + more;
	if ((nm = realloc(b->mem, ncap)) == NULL)
		return ca_error(CA_ERR_NOMEM, "CRL: out of memory (%zu bytes)",
		    ncap);
	b->mem = nm;
	b->cap = ncap;
	return CA_OK;
}

static int
buf_append(struct buf *b, const void *p, size_t n)
{
	int rc;

	if ((rc = buf_reserve(b, n)) != CA_OK)
		return rc;
	memcpy(b->mem + b->end, p, n);
	b->end += n;
	return CA_OK;
}

/* buf_prepend writes n bytes just before start (room was reserved). */
static void
buf_prepend(struct buf *b, const void *p, size_t n)
{
	b->start -= n;
	memcpy(b->mem + b->start, p, n);
}

static void
buf_prepend_hdr(struct buf *b, uint8_t tag, size_t len)
{
	uint8_t h[HDR_MAX];
	size_t n = hdr_put(h, tag, len);

	buf_prepend(b, h, n);
}

/* What the signing callback needs and returns. */
struct sign_ctx {
	const EVP_MD *md;
	const uint8_t *tbs;
	size_t tbs_len;
	uint8_t *sig;
	size_t sig_len;
};

static int
sign_cb(EVP_PKEY *pkey, void *arg)
{
	struct sign_ctx *s = arg;
	EVP_MD_CTX *mctx = NULL;
	size_t len = 0;
	int ok = 0;

	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(mctx, NULL, s->md, NULL, pkey) != 1 ||
	    EVP_DigestSignUpdate(mctx, s->tbs, s->tbs_len) != 1 ||
	    EVP_DigestSignFinal(mctx, NULL, &len) != 1 || len == 0 ||
	    (s->sig = OPENSSL_malloc(len)) == NULL ||
	    EVP_DigestSignFinal(mctx, s->sig, &len) != 1)
		goto out;
	s->sig_len = len;
	ok = 1;
 out:
	EVP_MD_CTX_free(mctx);
	return ok;
}

/* algid_der: the DER AlgorithmIdentifier of the signature. */
static int
algid_der(uint8_t **out, int *out_len, const struct crl_issuer *iss)
{
	X509_ALGOR *alg = NULL;
	int sigid, ptype, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (!OBJ_find_sigid_by_algs(&sigid, EVP_MD_get_type(iss->md),
	    EVP_PKEY_get_base_id(iss->pub))) {
		rc = ca_error(CA_ERR_UNSUPPORTED, "CRL: no signature algorithm "
		    "for digest %s with this key", EVP_MD_get0_name(iss->md));
		goto out;
	}
	/* RFC 4055: NULL parameters for RSA; RFC 5758: absent for ECDSA. */
	ptype = EVP_PKEY_get_base_id(iss->pub) == EVP_PKEY_RSA ? V_ASN1_NULL :
	    V_ASN1_UNDEF;
	if ((alg = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(sigid), ptype, NULL) ||
	    (*out_len = i2d_X509_ALGOR(alg, out)) <= 0) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "CRL: encode the "
		    "signature algorithm");
		goto out;
	}
	rc = CA_OK;
 out:
	X509_ALGOR_free(alg);
	return rc;
}

/* exts_der: [0] EXPLICIT Extensions { AKI keyid, cRLNumber }. */
static int
exts_der(uint8_t **out, int *out_len, const struct crl_issuer *iss,
    int64_t number)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	AUTHORITY_KEYID *akid = NULL;
	ASN1_INTEGER *num = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(akid->keyid, iss->kid, (int)iss->kid_len) ||
	    (num = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_int64(num, number) ||
	    X509V3_add1_i2d(&exts, NID_authority_key_identifier, akid, 0,
	    X509V3_ADD_APPEND) != 1 ||
	    X509V3_add1_i2d(&exts, NID_crl_number, num, 0,
	    X509V3_ADD_APPEND) != 1 ||
	    (*out_len = i2d_X509_EXTENSIONS(exts, out)) <= 0) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "CRL: encode the "
		    "extensions");
		goto out;
	}
	rc = CA_OK;
 out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	AUTHORITY_KEYID_free(akid);
	ASN1_INTEGER_free(num);
	return rc;
}

int
crl_der_build(struct crl_blob *out, const struct crl_issuer *iss,
    const struct crl_params *p, const struct crl_list *l, crl_sign_fn sign,
    void *signer)
{
	struct buf b = { NULL, 0, 0, 0 };
	struct sign_ctx sc;
	uint8_t *alg = NULL, *name = NULL, *exts = NULL, *cur;
	uint8_t this_t[17], next_t[17];
	static const uint8_t version[] = { 0x02, 0x01, 0x01 };
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	size_t this_len, next_len, prefix, entries_len, tbs_len, n, i;
	int alg_len = 0, name_len = 0, exts_len = 0, rc = CA_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	memset(&sc, 0, sizeof(sc));
	if (p->number <= 0 || p->next_update <= p->this_update) {
		rc = ca_error(CA_ERR_USAGE, "CRL: number %lld must be positive "
		    "and nextUpdate later than thisUpdate",
		    (long long)p->number);
		goto out;
	}
	if ((rc = algid_der(&alg, &alg_len, iss)) != CA_OK ||
	    (rc = exts_der(&exts, &exts_len, iss, p->number)) != CA_OK)
		goto out;
	if ((name_len = i2d_X509_NAME(X509_get_subject_name(iss->cert),
	    &name)) <= 0) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "CRL: encode the "
		    "issuer name");
		goto out;
	}
	if ((this_len = crl_der_time(this_t, p->this_update)) == 0 ||
	    (next_len = crl_der_time(next_t, p->next_update)) == 0) {
		rc = ca_error(CA_ERR_USAGE, "CRL: thisUpdate or nextUpdate "
		    "out of range");
		goto out;
	}
	prefix = sizeof(version) + (size_t)alg_len + (size_t)name_len +
	    this_len + next_len;

	/* Headroom: outer and TBS headers, the prefix, the list header. */
	b.start = b.end = 3 * HDR_MAX + prefix;
	if ((rc = buf_reserve(&b, l->n * (ENTRY_MAX - 16) + 2 * HDR_MAX +
	    (size_t)exts_len + (size_t)alg_len + 1024)) != CA_OK)
		goto out;
	for (i = 0; i < l->n; i++) {
		if ((rc = buf_reserve(&b, ENTRY_MAX)) != CA_OK)
			goto out;
		cur = b.mem + b.end;
		if (!reason_ok(l->v[i].reason) ||
		    (n = entry_put(cur, &l->v[i])) == 0) {
			rc = ca_error(CA_ERR_INVALID, "CRL: serial %s: "
			    "revocation time or reason %d cannot be encoded",
			    fileio_hex(hex, l->v[i].serial,
			    sizeof(l->v[i].serial)), l->v[i].reason);
			goto out;
		}
		b.end += n;
	}
	entries_len = b.end - b.start;
	/* RFC 5280 5.1.2.6: an empty list is absent, not empty. */
	if (l->n > 0)
		buf_prepend_hdr(&b, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED,
		    entries_len);
	buf_prepend(&b, next_t, next_len);
	buf_prepend(&b, this_t, this_len);
	buf_prepend(&b, name, (size_t)name_len);
	buf_prepend(&b, alg, (size_t)alg_len);
	buf_prepend(&b, version, sizeof(version));
	{
		uint8_t h[HDR_MAX];

		n = hdr_put(h, 0xa0, (size_t)exts_len);
		if ((rc = buf_append(&b, h, n)) != CA_OK ||
		    (rc = buf_append(&b, exts, (size_t)exts_len)) != CA_OK)
			goto out;
	}
	buf_prepend_hdr(&b, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED,
	    b.end - b.start);
	tbs_len = b.end - b.start;

	sc.md = iss->md;
	sc.tbs = b.mem + b.start;
	sc.tbs_len = tbs_len;
	if ((rc = sign(signer, sign_cb, &sc)) != CA_OK)
		goto out;
	if ((rc = buf_append(&b, alg, (size_t)alg_len)) != CA_OK)
		goto out;
	{
		uint8_t h[HDR_MAX];
		static const uint8_t unused = 0;

		n = hdr_put(h, V_ASN1_BIT_STRING, sc.sig_len + 1);
		if ((rc = buf_append(&b, h, n)) != CA_OK ||
		    (rc = buf_append(&b, &unused, 1)) != CA_OK ||
		    (rc = buf_append(&b, sc.sig, sc.sig_len)) != CA_OK)
			goto out;
	}
	buf_prepend_hdr(&b, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED,
	    b.end - b.start);
	out->mem = b.mem;
	out->der = b.mem + b.start;
	out->len = b.end - b.start;
	b.mem = NULL;
	rc = CA_OK;
 out:
	free(b.mem);
	OPENSSL_free(alg);
	OPENSSL_free(name);
	OPENSSL_free(exts);
	OPENSSL_free(sc.sig);
	return rc;
}
