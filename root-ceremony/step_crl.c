/* SPDX-License-Identifier: ISC */
/*
 * step_crl: the root's RFC 5280 v2 CRL, listing revoked intermediates with
 * their reasons and revocation times, with a CRL number and an authority key
 * identifier. The CRL number is one more than the largest of the number
 * file and every "crl-number" recorded in the transcript, so losing or
 * rolling back the number file cannot make it go down. The CRL is verified
 * with the root certificate before it is written; the number file is
 * replaced only after the CRL has been written.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/profile.h"
#include "common/transcript.h"
#include "root-ceremony/ceremony.h"

/* Caps on a revocation list and on the text of one entry. */
#define CRL_MAX_REVOKED		10000
#define CRL_MAX_SERIAL_HEX	40	/* RFC 5280 4.1.2.2: 20 octets */

static const char *const crl_keys[] = {
	"output", "days", "digest", "number_file", "revoked", NULL
};

static const struct {
	const char *name;
	int code;
} crl_reasons[] = {
	{ "unspecified", CRL_REASON_UNSPECIFIED },
	{ "keyCompromise", CRL_REASON_KEY_COMPROMISE },
	{ "cACompromise", CRL_REASON_CA_COMPROMISE },
	{ "affiliationChanged", CRL_REASON_AFFILIATION_CHANGED },
	{ "superseded", CRL_REASON_SUPERSEDED },
	{ "cessationOfOperation", CRL_REASON_CESSATION_OF_OPERATION },
	{ "certificateHold", CRL_REASON_CERTIFICATE_HOLD },
	{ "privilegeWithdrawn", CRL_REASON_PRIVILEGE_WITHDRAWN },
	{ "aACompromise", CRL_REASON_AA_COMPROMISE },
	{ NULL, 0 }
};

struct revoked {
	const char *name;
	ASN1_INTEGER *serial;
	char *serhex;
	int reason;
	const char *reason_name;
	time_t when;
};

static void
revoked_clear(struct revoked *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ASN1_INTEGER_free(r[i].serial);
		OPENSSL_free(r[i].serhex);
	}
	free(r);
}

/* trim cuts blanks at both ends of s, in place. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* serial_parse parses "0xHEX" into a positive INTEGER. */
static int
serial_parse(ASN1_INTEGER **out, const char *s, const char *what)
{
	BIGNUM *bn = NULL;
	size_t n = strlen(s + 2);
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (n == 0 || n > CRL_MAX_SERIAL_HEX ||
	    strspn(s + 2, "0123456789abcdefABCDEF") != n) {
		rc = ca_error(CA_ERR_CONFIG, "%s: \"%s\" is not a serial number "
		    "(0x and up to %d hex digits)", what, s,
		    CRL_MAX_SERIAL_HEX);
		goto out;
	}
	if (BN_hex2bn(&bn, s + 2) == 0 || BN_is_zero(bn) ||
	    (*out = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		rc = ca_error_openssl(CA_ERR_CONFIG, "%s: serial %s", what, s);
		goto out;
	}
	rc = CA_OK;
 out:
	BN_free(bn);
	return rc;
}

/* revoked_cert reads a revoked certificate file and takes its serial. */
static int
revoked_cert(struct ceremony *c, struct revoked *r, X509 *root,
    const char *file, const char *what)
{
	X509 *x = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *path = NULL;
	int rc = CA_ERR_INTERNAL;

	if ((rc = config_resolve(&path, c->cfg, file)) != CA_OK)
		goto out;
	if ((rc = ceremony_input_read(c, &buf, &len, path)) != CA_OK) {
		if (rc == CA_ERR_NOT_FOUND)
			rc = ca_error(CA_ERR_CONFIG, "%s: %s: no such "
			    "certificate file", what, path);
		goto out;
	}
	if ((rc = profile_cert_read(&x, buf, len, path)) != CA_OK)
		goto out;
	if (X509_check_issued(root, x) != X509_V_OK) {
		rc = ca_error(CA_ERR_POLICY, "%s: %s: not issued by the root "
		    "certificate %s", what, path, c->root_cert);
		goto out;
	}
	if ((r->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(x))) ==
	    NULL) {
		rc = ca_error_openssl(CA_ERR_NOMEM, "%s", what);
		goto out;
	}
	rc = CA_OK;
 out:
	X509_free(x);
	free(buf);
	free(path);
	return rc;
}

/* revoked_load parses the revocation list section. */
static int
revoked_load(struct ceremony *c, struct revoked **out, size_t *nout,
    const char *sect, X509 *root)
{
	struct revoked *rv = NULL;
	const char *name, *value;
	char *copy = NULL, *f[4], *s, what[256];
	size_t n, i, j, nf;
	time_t now = time(NULL);
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	*nout = 0;
	n = config_section_count(c->cfg, sect);
	if (n > CRL_MAX_REVOKED) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s]: more than %d entries",
		    config_path(c->cfg), sect, CRL_MAX_REVOKED);
		goto out;
	}
	if (n > 0 && (rv = calloc(n, sizeof(*rv))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "[%s]: out of memory", sect);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (config_section_item(&name, &value, c->cfg, sect, i) != 0)
			goto out;
		snprintf(what, sizeof(what), "%s: [%s] %s", config_path(c->cfg),
		    sect, name);
		rv[i].name = name;
		free(copy);
		if ((copy = strdup(value)) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", what);
			goto out;
		}
		for (nf = 0, s = copy; nf < 4 && s != NULL; nf++) {
			f[nf] = s;
			if ((s = strchr(s, ',')) != NULL)
				*s++ = '\0';
			f[nf] = trim(f[nf]);
		}
		if (s != NULL || nf < 2 || f[0][0] == '\0') {
			rc = ca_error(CA_ERR_CONFIG, "%s: expected \"certificate-"
			    "file-or-0xserial, reason[, time]\"", what);
			goto out;
		}
		for (j = 0; crl_reasons[j].name != NULL; j++)
			if (strcmp(crl_reasons[j].name, f[1]) == 0)
				break;
		if (crl_reasons[j].name == NULL) {
			rc = ca_error(CA_ERR_CONFIG, "%s: \"%s\" is not an RFC "
			    "5280 5.3.1 reason code (unspecified, keyCompromise, "
			    "cACompromise, affiliationChanged, superseded, "
			    "cessationOfOperation, certificateHold, "
			    "privilegeWithdrawn, aACompromise)", what, f[1]);
			goto out;
		}
		rv[i].reason = crl_reasons[j].code;
		rv[i].reason_name = crl_reasons[j].name;
		rv[i].when = now;
		if (nf > 2 && config_time_parse(&rv[i].when, f[2]) != 0) {
			rc = ca_error(CA_ERR_CONFIG, "%s: \"%s\" is not a "
			    "GeneralizedTime YYYYMMDDHHMMSSZ", what, f[2]);
			goto out;
		}
		if (rv[i].when > now) {
			rc = ca_error(CA_ERR_CONFIG, "%s: revocation time %s is "
			    "in the future", what, f[2]);
			goto out;
		}
		if (strncmp(f[0], "0x", 2) == 0 || strncmp(f[0], "0X", 2) == 0)
			rc = serial_parse(&rv[i].serial, f[0], what);
		else
			rc = revoked_cert(c, &rv[i], root, f[0], what);
		if (rc != CA_OK)
			goto out;
		if ((rv[i].serhex = ceremony_serial_hex(rv[i].serial)) ==
		    NULL) {
			rc = ca_error_openssl(CA_ERR_NOMEM, "%s", what);
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (ASN1_INTEGER_cmp(rv[j].serial, rv[i].serial) == 0) {
				rc = ca_error(CA_ERR_CONFIG, "%s: serial %s is "
				    "already listed as %s", what, rv[i].serhex,
				    rv[j].name);
				goto out;
			}
		}
	}
	*out = rv;
	*nout = n;
	rv = NULL;
	n = 0;
	rc = CA_OK;
 out:
	free(copy);
	if (rv != NULL)
		revoked_clear(rv, n);
	return rc;
}

/* number_parse parses a decimal CRL number; -1 on anything else. */
static int
number_parse(unsigned long long *out, const char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	return *end == '\0' ? 0 : -1;
}

/*
 * crl_number_next: one more than the largest of the number file and every
 * crl-number in the transcript.
 */
static int
crl_number_next(struct ceremony *c, unsigned long long *out,
    unsigned long long *from_file, unsigned long long *from_transcript,
    const char *numfile)
{
	struct transcript *t = NULL;
	const struct transcript_record *r;
	const char *v;
	uint8_t *buf = NULL;
	size_t len = 0, i, k;
	unsigned long long n, max = 0;
	int rc = CA_ERR_INTERNAL;

	*from_file = *from_transcript = 0;
	if (numfile != NULL) {
		rc = fileio_read(&buf, &len, numfile, 4096);
		if (rc == CA_OK) {
			if (number_parse(from_file, (char *)buf) != 0) {
				rc = ca_error(CA_ERR_INVALID, "%s: not a CRL "
				    "number (decimal)", numfile);
				goto out;
			}
		} else if (rc != CA_ERR_NOT_FOUND)
			goto out;
	}
	rc = transcript_load(&t, c->transcript);
	if (rc == CA_OK) {
		for (i = 0; i < transcript_count(t); i++) {
			r = transcript_record_at(t, i);
			for (k = 0; (v = transcript_record_field(r,
			    "crl-number", k)) != NULL; k++) {
				if (number_parse(&n, v) != 0) {
					rc = ca_error(CA_ERR_VERIFY, "%s: record "
					    "%lu: bad crl-number", c->transcript,
					    r->index);
					goto out;
				}
				if (n > max)
					max = n;
			}
		}
	} else if (rc != CA_ERR_NOT_FOUND)
		goto out;
	*from_transcript = max;
	n = *from_file > max ? *from_file : max;
	if (n >= 0xffffffffffffffffULL) {
		rc = ca_error(CA_ERR_INVALID, "CRL number overflow");
		goto out;
	}
	*out = n + 1;
	rc = CA_OK;
 out:
	transcript_free(t);
	free(buf);
	return rc;
}

/* crl_build makes the unsigned CRL. */
static int
crl_build(X509_CRL **out, X509 *root, const struct revoked *rv, size_t nrv,
    time_t now, long days, unsigned long long number)
{
	X509_CRL *crl = NULL;
	X509_REVOKED *r = NULL;
	ASN1_TIME *tm = NULL;
	ASN1_ENUMERATED *reason = NULL;
	ASN1_INTEGER *num = NULL;
	X509_EXTENSION *ext = NULL;
	X509V3_CTX ctx;
	size_t i;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((crl = X509_CRL_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(root)) != 1 ||
	    (tm = ASN1_TIME_adj(NULL, now, 0, 0)) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, tm) != 1 ||
	    ASN1_TIME_adj(tm, now, (int)days, 0) == NULL ||
	    X509_CRL_set1_nextUpdate(crl, tm) != 1)
		goto ossl;
	for (i = 0; i < nrv; i++) {
		if ((r = X509_REVOKED_new()) == NULL ||
		    X509_REVOKED_set_serialNumber(r, rv[i].serial) != 1 ||
		    ASN1_TIME_adj(tm, rv[i].when, 0, 0) == NULL ||
		    X509_REVOKED_set_revocationDate(r, tm) != 1)
			goto ossl;
		/* RFC 5280 5.3.1: unspecified SHOULD be left out. */
		if (rv[i].reason != CRL_REASON_UNSPECIFIED) {
			if ((reason = ASN1_ENUMERATED_new()) == NULL ||
			    ASN1_ENUMERATED_set(reason, rv[i].reason) != 1 ||
			    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason,
			    0, 0) != 1)
				goto ossl;
			ASN1_ENUMERATED_free(reason);
			reason = NULL;
		}
		if (X509_CRL_add0_revoked(crl, r) != 1)
			goto ossl;
		r = NULL;
	}
	if (X509_CRL_sort(crl) != 1)
		goto ossl;
	if ((num = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set_uint64(num, number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
		goto ossl;
	memset(&ctx, 0, sizeof(ctx));
	X509V3_set_ctx(&ctx, root, NULL, NULL, crl, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always")) == NULL || X509_CRL_add_ext(crl, ext, -1) != 1)
		goto ossl;
	*out = crl;
	crl = NULL;
	rc = CA_OK;
	goto out;
 ossl:
	rc = ca_error_openssl(CA_ERR_INTERNAL, "CRL: cannot build it");
 out:
	X509_CRL_free(crl);
	X509_REVOKED_free(r);
	ASN1_TIME_free(tm);
	ASN1_ENUMERATED_free(reason);
	ASN1_INTEGER_free(num);
	X509_EXTENSION_free(ext);
	return rc;
}

int
step_crl(struct ceremony *c)
{
	const char *sect = ceremony_section(c, "crl");
	const char *digest = NULL, *revsect = NULL;
	struct revoked *rv = NULL;
	size_t nrv = 0, pemlen = 0, i;
	X509 *root = NULL;
	X509_CRL *crl = NULL;
	EVP_PKEY *rootpub;
	const EVP_MD *md = NULL;
	char *outpath = NULL, *numfile = NULL, *pem = NULL, *rootsubj = NULL;
	char numbuf[32], t1[32], t2[32], ref[128];
	unsigned long long number = 0, nfile = 0, ntr = 0;
	time_t now;
	long days = 0;
	int rc = CA_ERR_INTERNAL;

	if ((rc = ceremony_section_check(c, sect, crl_keys)) != CA_OK ||
	    (rc = config_require_path(&outpath, c->cfg, sect, "output")) !=
	    CA_OK ||
	    (rc = config_require_int(&days, c->cfg, sect, "days", 1,
	    3650)) != CA_OK ||
	    (rc = config_get_string(&digest, c->cfg, sect, "digest",
	    NULL)) != CA_OK ||
	    (rc = config_get_path(&numfile, c->cfg, sect, "number_file",
	    NULL)) != CA_OK ||
	    (rc = config_get_string(&revsect, c->cfg, sect, "revoked",
	    NULL)) != CA_OK)
		goto out;
	if ((rc = ceremony_digest_check(c, sect, digest)) != CA_OK)
		goto out;
	if (revsect != NULL) {
		snprintf(ref, sizeof(ref), "[%s] revoked", sect);
		if ((rc = config_require_section(c->cfg, revsect, ref)) !=
		    CA_OK)
			goto out;
	}
	if ((rc = ceremony_root_cert_read(c, &root)) != CA_OK)
		goto out;
	if (revsect != NULL &&
	    (rc = revoked_load(c, &rv, &nrv, revsect, root)) != CA_OK)
		goto out;
	if ((rc = ceremony_output_absent(outpath)) != CA_OK)
		goto out;
	if ((rc = crl_number_next(c, &number, &nfile, &ntr, numfile)) !=
	    CA_OK)
		goto out;
	if ((rootsubj = profile_name_string(X509_get_subject_name(root))) ==
	    NULL) {
		rc = ca_error(CA_ERR_NOMEM, "subject: out of memory");
		goto out;
	}
	now = time(NULL);

	printf("\nPlan: sign the root CRL (v2) with the root key\n");
	printf("  key         %s\n", c->key_uri);
	printf("  issuer      %s (%s)\n", rootsubj, c->root_cert);
	printf("  thisUpdate  %s\n", ceremony_time_string(t1, now));
	printf("  nextUpdate  %s (%ld days)\n", ceremony_time_string(t2,
	    now + (time_t)days * 86400), days);
	printf("  CRL number  %llu (number file %llu, transcript %llu)\n",
	    number, nfile, ntr);
	printf("  revoked     %zu certificate(s)\n", nrv);
	for (i = 0; i < nrv; i++)
		printf("              %s: serial %s, %s, %s\n", rv[i].name,
		    rv[i].serhex, rv[i].reason_name,
		    ceremony_time_string(t1, rv[i].when));
	printf("  output      %s (must not exist)\n", outpath);
	if (numfile != NULL)
		printf("  number file %s (replaced after the CRL is "
		    "written)\n", numfile);
	printf("\n");
	if ((rc = ceremony_confirm(c)) != CA_OK)
		goto out;

	if ((rc = ceremony_key_open(c)) != CA_OK ||
	    (rc = ceremony_key_matches_cert(c, root, c->root_cert)) != CA_OK ||
	    (rc = profile_digest(&md, c->key_pub, digest, sect)) != CA_OK)
		goto out;
	if ((rc = crl_build(&crl, root, rv, nrv, now, days, number)) != CA_OK ||
	    (rc = ceremony_sign_crl(c, crl, md)) != CA_OK)
		goto out;
	rootpub = X509_get0_pubkey(root);
	ERR_clear_error();
	if (rootpub == NULL || X509_CRL_verify(crl, rootpub) != 1) {
		rc = ca_error_openssl(CA_ERR_VERIFY, "CRL: the signature does "
		    "not verify with %s", c->root_cert);
		goto out;
	}
	if ((rc = ceremony_pem_crl(&pem, &pemlen, crl)) != CA_OK ||
	    (rc = ceremony_output_write(c, outpath, pem, pemlen)) != CA_OK)
		goto out;
	/* From here on the number is used, whatever happens next. */
	if ((rc = transcript_entry_add(c->entry, "crl-number", "%llu",
	    number)) != CA_OK)
		goto out;
	for (i = 0; i < nrv; i++)
		if ((rc = transcript_entry_add(c->entry, "revoked", "%s "
		    "serial %s reason %s time %s", rv[i].name, rv[i].serhex,
		    rv[i].reason_name, ceremony_time_string(t1,
		    rv[i].when))) != CA_OK)
			goto out;
	if (numfile != NULL) {
		snprintf(numbuf, sizeof(numbuf), "%llu\n", number);
		if ((rc = fileio_replace(numfile, numbuf, strlen(numbuf),
		    0644)) != CA_OK)
			goto out;
	}
	printf("CRL number %llu, %zu revoked certificate(s)\n", number, nrv);
	rc = CA_OK;
 out:
	if (rv != NULL)
		revoked_clear(rv, nrv);
	X509_free(root);
	X509_CRL_free(crl);
	free(outpath);
	free(numfile);
	free(pem);
	free(rootsubj);
	return rc;
}
