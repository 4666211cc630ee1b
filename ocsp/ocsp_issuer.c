/* SPDX-License-Identifier: ISC */
/*
 * ocsp_issuer: one CA that carapace-ocsp answers for. A request's CertID
 * names its issuer by issuerNameHash and issuerKeyHash (RFC 6960 4.1.1),
 * computed with SHA-1 or SHA-256; both are computed here once. The
 * responses are signed either by the CA key itself or by a delegated
 * responder certificate that the CA issued with id-kp-OCSPSigning and
 * id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2); its key is in the HSM too.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "hsm/hsm.h"
#include "ocsp/ocsp_responder.h"

int
ocsp_cert_read(X509 **out, const char *path)
{
	uint8_t *buf = NULL;
	const unsigned char *p;
	size_t len;
	BIO *bio = NULL;
	X509 *x = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((rc = fileio_read(&buf, &len, path, FILEIO_MAX_SMALL)) != CA_OK)
		goto out;
	p = buf;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    p != buf + len) {
		X509_free(x);
		x = NULL;
		ERR_clear_error();
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "out of memory");
			goto out;
		}
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	}
	if (x == NULL) {
		rc = ca_error_openssl(CA_ERR_INVALID, "%s: not an X.509 "
		    "certificate in PEM or DER", path);
		goto out;
	}
	*out = x;
	rc = CA_OK;
 out:
	BIO_free(bio);
	free(buf);
	return rc;
}

static int
digest(uint8_t *out, const EVP_MD *md, const void *in, size_t len)
{
	unsigned int n;

	return EVP_Digest(in, len, out, &n, md, NULL) == 1 ? CA_OK :
	    ca_error_openssl(CA_ERR_INTERNAL, "digest");
}

int
ocsp_responder_check(const char *name, X509 *ca, X509 *responder)
{
	if (X509_check_issued(ca, responder) != X509_V_OK)
		return ca_error(CA_ERR_INVALID, "%s: RFC 6960 4.2.2.2: the "
		    "responder certificate was not issued by the CA", name);
	if ((X509_get_extension_flags(responder) & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(responder) & XKU_OCSP_SIGN) == 0)
		return ca_error(CA_ERR_INVALID, "%s: RFC 6960 4.2.2.2: the "
		    "responder certificate lacks id-kp-OCSPSigning", name);
	if (X509_get_ext_by_NID(responder, NID_id_pkix_OCSP_noCheck, -1) < 0)
		return ca_error(CA_ERR_INVALID, "%s: RFC 6960 4.2.2.2.1: the "
		    "responder certificate lacks id-pkix-ocsp-nocheck", name);
	return CA_OK;
}

int
ocsp_issuer_new(struct ocsp_issuer **out, const char *name, X509 *cert,
    X509 *responder, struct hsm_key *key, EVP_PKEY *soft_key)
{
	struct ocsp_issuer *iss = NULL;
	unsigned char *nder = NULL;
	const ASN1_BIT_STRING *bits;
	const ASN1_OCTET_STRING *ski;
	int nlen, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (cert == NULL || (key == NULL) == (soft_key == NULL))
		return ca_error(CA_ERR_USAGE, "ocsp_issuer_new: bad arguments");
	if ((iss = calloc(1, sizeof(*iss))) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	if (pthread_mutex_init(&iss->signer_mu, NULL) != 0) {
		free(iss);
		return ca_error(CA_ERR_INTERNAL, "pthread_mutex_init failed");
	}
	if ((iss->name = strdup(name)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	X509_up_ref(cert);
	iss->cert = cert;
	if (responder != NULL && X509_cmp(responder, cert) != 0) {
		if ((rc = ocsp_responder_check(name, cert, responder)) !=
		    CA_OK)
			goto out;
		if ((rc = ocsp_signer_init(iss, responder)) != CA_OK)
			goto out;
		iss->delegated = 1;
	} else {
		/*
		 * RFC 5280 4.2.1.3: a key that signs anything but
		 * certificates and CRLs needs digitalSignature.
		 */
		if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) != 0 &&
		    (X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE) == 0) {
			rc = ca_error(CA_ERR_INVALID, "%s: RFC 5280 4.2.1.3: "
			    "the CA certificate's keyUsage lacks "
			    "digitalSignature, so its key may sign "
			    "certificates and CRLs but not OCSP responses; "
			    "configure a delegated responder (responder_cert: "
			    "an OCSP signing certificate, see "
			    "carapace-ocsp.cnf(5)), or have the ceremony give "
			    "the issuing CA keyUsage = critical, "
			    "digitalSignature, keyCertSign, cRLSign", name);
			goto out;
		}
		if ((rc = ocsp_signer_init(iss, cert)) != CA_OK)
			goto out;
	}
	iss->key = key;
	if (soft_key != NULL) {
		EVP_PKEY_up_ref(soft_key);
		iss->soft_key = soft_key;
		EVP_PKEY_up_ref(soft_key);
		iss->pub = soft_key;
	}
	if ((nlen = i2d_X509_NAME(X509_get_subject_name(cert), &nder)) <= 0 ||
	    (bits = X509_get0_pubkey_bitstr(cert)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INVALID, "%s: cannot encode the "
		    "CA name or key", name);
		goto out;
	}
	if ((rc = digest(iss->name_sha1, EVP_sha1(), nder, (size_t)nlen))
	    != CA_OK ||
	    (rc = digest(iss->name_sha256, EVP_sha256(), nder, (size_t)nlen))
	    != CA_OK ||
	    (rc = digest(iss->key_sha1, EVP_sha1(), bits->data,
	    (size_t)bits->length)) != CA_OK ||
	    (rc = digest(iss->key_sha256, EVP_sha256(), bits->data,
	    (size_t)bits->length)) != CA_OK)
		goto out;
	if ((ski = X509_get0_subject_key_id(cert)) != NULL &&
	    ski->length > 0 && (size_t)ski->length <= sizeof(iss->ski)) {
		memcpy(iss->ski, ski->data, (size_t)ski->length);
		iss->ski_len = (size_t)ski->length;
	}
	*out = iss;
	iss = NULL;
	rc = CA_OK;
 out:
	OPENSSL_free(nder);
	ocsp_issuer_free(iss);
	return rc;
}

int
ocsp_issuer_load(struct ocsp_issuer **out, struct hsm *h,
    const struct ocsp_issuer_config *ic)
{
	struct ocsp_issuer *iss = NULL;
	X509 *cert = NULL, *resp = NULL;
	EVP_PKEY *pub = NULL;
	struct hsm_key *key = NULL;
	int swapped, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((rc = ocsp_cert_read(&cert, ic->cert)) != CA_OK)
		goto out;
	if (ic->responder_cert != NULL &&
	    (rc = ocsp_cert_read(&resp, ic->responder_cert)) != CA_OK)
		goto out;
	if ((rc = hsm_key_open(&key, h, ic->key, ic->pin_source)) != CA_OK ||
	    (rc = hsm_key_public(&pub, key)) != CA_OK)
		goto out;
	if (EVP_PKEY_eq(pub, X509_get0_pubkey(resp != NULL ? resp : cert))
	    != 1) {
		rc = ca_error(CA_ERR_INVALID, "[%s] key: the HSM key is not "
		    "the key of %s", ic->section, resp != NULL ?
		    ic->responder_cert : ic->cert);
		goto out;
	}
	if ((rc = ocsp_issuer_new(&iss, ic->section, cert, resp, key, NULL))
	    != CA_OK)
		goto out;
	key = NULL;
	iss->pub = pub;
	pub = NULL;
	if (ic->responder_cert != NULL) {
		if ((iss->responder_path = strdup(ic->responder_cert)) ==
		    NULL) {
			rc = ca_error(CA_ERR_NOMEM, "out of memory");
			goto out;
		}
		/* Note the file as read: a later change is a renewal. */
		if ((rc = ocsp_signer_reload(iss, &swapped, time(NULL), 0))
		    != CA_OK)
			goto out;
	}
	*out = iss;
	iss = NULL;
	rc = CA_OK;
 out:
	ocsp_issuer_free(iss);
	hsm_key_free(key);
	EVP_PKEY_free(pub);
	X509_free(cert);
	X509_free(resp);
	return rc;
}

void
ocsp_issuer_free(struct ocsp_issuer *iss)
{
	if (iss == NULL)
		return;
	free(iss->name);
	X509_free(iss->cert);
	X509_free(iss->signer);
	free(iss->responder_path);
	EVP_PKEY_free(iss->soft_key);
	EVP_PKEY_free(iss->pub);
	pthread_mutex_destroy(&iss->signer_mu);
	/* iss->key belongs to the hsm; hsm_free releases it. */
	free(iss);
}

int
ocsp_issuer_owns(const struct ocsp_issuer *iss, const uint8_t *id,
    size_t len)
{
	if (len == sizeof(iss->key_sha1) &&
	    memcmp(id, iss->key_sha1, len) == 0)
		return 1;
	if (iss->ski_len > 0 && len == iss->ski_len &&
	    memcmp(id, iss->ski, len) == 0)
		return 1;
	return 0;
}
