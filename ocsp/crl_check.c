/* SPDX-License-Identifier: ISC */
/*
 * crl_check: the last look at a CRL before it is published. The DER that
 * crl_der wrote is decoded by OpenSSL (d2i_X509_CRL, the same decoder
 * relying parties use), its signature is verified with the CA's public
 * key, and its header and every entry are compared with what it was built
 * from: the same snapshot of the log's revoked certificates. So a CRL that
 * leaves out a revoked certificate, lists one that is not revoked, or
 * carries a wrong date, reason or number never reaches a relying party.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "ocsp/crl.h"

/* serial_eq: does the ASN1_INTEGER a hold the 16-byte serial s? */
static int
serial_eq(const ASN1_INTEGER *a, const uint8_t s[ISSUANCE_LOG_SERIAL_LEN])
{
	size_t off = 0, alen;

	if (ASN1_STRING_type(a) != V_ASN1_INTEGER)
		return 0;
	while (off < ISSUANCE_LOG_SERIAL_LEN - 1 && s[off] == 0)
		off++;
	alen = (size_t)ASN1_STRING_length(a);
	/* OpenSSL keeps the magnitude; zero is one zero octet or none. */
	if (alen == 0)
		return off == ISSUANCE_LOG_SERIAL_LEN - 1 && s[off] == 0;
	return alen == ISSUANCE_LOG_SERIAL_LEN - off &&
	    memcmp(ASN1_STRING_get0_data(a), s + off, alen) == 0;
}

static int
entry_check(const X509_REVOKED *rv, const struct issuance_revoked *e,
    size_t i)
{
	ASN1_ENUMERATED *reason = NULL;
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	long r;
	int crit = -1, rc = CA_ERR_VERIFY;

	fileio_hex(hex, e->serial, sizeof(e->serial));
	if (!serial_eq(X509_REVOKED_get0_serialNumber(rv), e->serial)) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: entry %zu is not "
		    "serial %s, the log's next revoked certificate", i, hex);
		goto out;
	}
	if (ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(rv),
	    (time_t)e->revoked_at) != 0) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: serial %s: "
		    "revocationDate differs from the log's %lld", hex,
		    (long long)e->revoked_at);
		goto out;
	}
	reason = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, &crit, NULL);
	if (reason == NULL && crit != -1) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: serial %s: bad or "
		    "repeated reasonCode", hex);
		goto out;
	}
	r = reason == NULL ? 0 : ASN1_ENUMERATED_get(reason);
	if ((reason == NULL) != (e->reason == 0) || r != e->reason) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: serial %s: reason "
		    "%ld differs from the log's %d (RFC 5280 5.3.1: "
		    "unspecified is left out)", hex, r, e->reason);
		goto out;
	}
	if (X509_REVOKED_get_ext_count(rv) != (reason == NULL ? 0 : 1)) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: serial %s: "
		    "unexpected entry extensions", hex);
		goto out;
	}
	rc = CA_OK;
 out:
	ASN1_ENUMERATED_free(reason);
	return rc;
}

int
crl_check(const uint8_t *der, size_t len, const struct crl_issuer *iss,
    const struct crl_params *p, const struct crl_list *l)
{
	X509_CRL *crl = NULL;
	const unsigned char *q = der;
	STACK_OF(X509_REVOKED) *revs;
	AUTHORITY_KEYID *akid = NULL;
	ASN1_INTEGER *num = NULL;
	const ASN1_TIME *nu;
	int64_t n64;
	size_t i, count;
	int crit, rc = CA_ERR_VERIFY;

	if (len > LONG_MAX || (crl = d2i_X509_CRL(NULL, &q, (long)len)) ==
	    NULL) {
		rc = ca_error_openssl(CA_ERR_VERIFY, "CRL check: OpenSSL "
		    "cannot decode the CRL just built");
		goto out;
	}
	if (q != der + len) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: %zu trailing bytes",
		    (size_t)(der + len - q));
		goto out;
	}
	if (X509_CRL_get_version(crl) != X509_CRL_VERSION_2) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: not a v2 CRL");
		goto out;
	}
	if (X509_CRL_verify(crl, iss->pub) != 1) {
		rc = ca_error_openssl(CA_ERR_VERIFY, "CRL check: the "
		    "signature does not verify with the issuer's key");
		goto out;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(iss->cert)) != 0) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: RFC 5280 5.1.2.3: "
		    "issuer is not the CA certificate's subject");
		goto out;
	}
	nu = X509_CRL_get0_nextUpdate(crl);
	if (ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(crl),
	    (time_t)p->this_update) != 0 || nu == NULL ||
	    ASN1_TIME_cmp_time_t(nu, (time_t)p->next_update) != 0) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: thisUpdate or "
		    "nextUpdate is not the one asked for");
		goto out;
	}
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	if (num == NULL || crit || !ASN1_INTEGER_get_int64(&n64, num) ||
	    n64 != p->number) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: RFC 5280 5.2.3: "
		    "cRLNumber missing, critical, or not %lld",
		    (long long)p->number);
		goto out;
	}
	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit,
	    NULL);
	if (akid == NULL || crit || akid->keyid == NULL ||
	    (size_t)ASN1_STRING_length(akid->keyid) != iss->kid_len ||
	    memcmp(ASN1_STRING_get0_data(akid->keyid), iss->kid,
	    iss->kid_len) != 0) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: RFC 5280 5.2.1: "
		    "authorityKeyIdentifier missing or not the issuer's key "
		    "identifier");
		goto out;
	}
	if (X509_CRL_get_ext_count(crl) != 2) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: unexpected CRL "
		    "extensions");
		goto out;
	}
	revs = X509_CRL_get_REVOKED(crl);
	count = revs == NULL ? 0 : (size_t)sk_X509_REVOKED_num(revs);
	if (count != l->n) {
		rc = ca_error(CA_ERR_VERIFY, "CRL check: %zu entries, but the "
		    "log lists %zu revoked certificates", count, l->n);
		goto out;
	}
	for (i = 0; i < count; i++) {
		if ((rc = entry_check(sk_X509_REVOKED_value(revs, (int)i),
		    &l->v[i], i)) != CA_OK)
			goto out;
	}
	rc = CA_OK;
 out:
	AUTHORITY_KEYID_free(akid);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	return rc;
}
