/* SPDX-License-Identifier: ISC */
/*
 * crl_fill: puts certificates into an issuance log for the carapace-crl
 * integration tests, through the log's own writer API, the way the issuer
 * does: reserve a serial, sign a leaf with the CA key in the HSM (hsm/),
 * complete the record; and revokes them.
 *
 *   crl_fill issue LOG CA_CERT MODULE KEY_URI PIN_SOURCE OUTDIR N
 *       issues N leaves (software EC P-256 keys, DNS names under
 *       .example.internal), writes OUTDIR/leaf-I.pem and prints one
 *       serial per line (hex)
 *   crl_fill revoke LOG SERIAL_HEX REASON
 *       revokes one certificate with an RFC 5280 reason code
 *
 * The issuer key identifier recorded in the log is the one carapace-crl
 * uses (crl_issuer_load). PINs come from PIN_SOURCE (file: or env:).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "log/issuance_log.h"
#include "hsm/hsm.h"
#include "ocsp/crl.h"

static int
die(int rc, const char *what)
{
	fprintf(stderr, "crl_fill: %s: %s: %s\n", what, ca_strerror(rc),
	    ca_error_detail());
	return 1;
}

struct sign_arg {
	X509 *cert;
	const EVP_MD *md;
};

static int
sign_cb(EVP_PKEY *pkey, void *arg)
{
	struct sign_arg *s = arg;

	return X509_sign(s->cert, pkey, s->md) > 0;
}

static int
add_ext(X509 *cert, X509 *ca, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, ca, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* leaf_make builds and signs leaf number i with serial s. */
static int
leaf_make(X509 **out, struct crl_issuer *iss, struct hsm_key *key,
    const uint8_t s[ISSUANCE_LOG_SERIAL_LEN], int i, char *san,
    size_t san_len)
{
	X509 *cert = NULL;
	EVP_PKEY *lk = NULL;
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	X509_NAME *name = NULL;
	struct sign_arg sa;
	char cn[64];
	int rc = CA_ERR_INTERNAL;

	snprintf(cn, sizeof(cn), "leaf%d.example.internal", i);
	snprintf(san, san_len, "DNS:%s", cn);
	if ((lk = EVP_EC_gen("P-256")) == NULL ||
	    (cert = X509_new()) == NULL ||
	    (bn = BN_bin2bn(s, ISSUANCE_LOG_SERIAL_LEN, NULL)) == NULL ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    (name = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_version(cert, X509_VERSION_3) ||
	    !X509_set_serialNumber(cert, serial) ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(iss->cert)) ||
	    !X509_set_subject_name(cert, name) ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -60) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), 86400) == NULL ||
	    !X509_set_pubkey(cert, lk) ||
	    !add_ext(cert, iss->cert, NID_basic_constraints,
	    "critical,CA:FALSE") ||
	    !add_ext(cert, iss->cert, NID_key_usage,
	    "critical,digitalSignature") ||
	    !add_ext(cert, iss->cert, NID_ext_key_usage, "serverAuth") ||
	    !add_ext(cert, iss->cert, NID_subject_alt_name, san) ||
	    !add_ext(cert, iss->cert, NID_authority_key_identifier,
	    "keyid:always")) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "leaf %d", i);
		goto out;
	}
	sa.cert = cert;
	sa.md = EVP_sha256();
	if ((rc = hsm_key_sign(key, sign_cb, &sa)) != CA_OK)
		goto out;
	*out = cert;
	cert = NULL;
	rc = CA_OK;
 out:
	X509_free(cert);
	EVP_PKEY_free(lk);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_NAME_free(name);
	return rc;
}

static int
cmd_issue(char **av)
{
	struct issuance_log *log = NULL;
	struct crl_issuer iss;
	struct hsm *h = NULL;
	struct hsm_key *key = NULL;
	struct hsm_config hc;
	struct issuance_cert c;
	struct issuance_completion req;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1], path[4096], san[128];
	unsigned char *der = NULL;
	X509 *cert = NULL;
	FILE *f;
	int i, n, len, rc, ret = 1;

	memset(&iss, 0, sizeof(iss));
	memset(&hc, 0, sizeof(hc));
	n = atoi(av[6]);
	hc.module = av[2];
	if ((rc = crl_issuer_load(&iss, av[1], NULL)) != CA_OK) {
		ret = die(rc, "issuer");
		goto out;
	}
	if ((rc = hsm_open(&h, &hc)) != CA_OK ||
	    (rc = hsm_key_open(&key, h, av[3], av[4])) != CA_OK) {
		ret = die(rc, "hsm");
		goto out;
	}
	if ((rc = issuance_log_open(&log, av[0])) != CA_OK) {
		ret = die(rc, "log");
		goto out;
	}
	for (i = 1; i <= n; i++) {
		if ((rc = issuance_log_reserve(log, serial, iss.kid,
		    iss.kid_len)) != CA_OK ||
		    (rc = leaf_make(&cert, &iss, key, serial, i, san,
		    sizeof(san))) != CA_OK) {
			ret = die(rc, "issue");
			goto out;
		}
		if ((len = i2d_X509(cert, &der)) <= 0) {
			ret = die(ca_error_openssl(CA_ERR_INTERNAL, "i2d"),
			    "issue");
			goto out;
		}
		memset(&c, 0, sizeof(c));
		memcpy(c.serial, serial, sizeof(serial));
		c.issuer_key_id = iss.kid;
		c.issuer_key_id_len = iss.kid_len;
		c.subject = "CN=leaf";
		c.names = san;
		c.not_before = (int64_t)time(NULL) - 60;
		c.not_after = (int64_t)time(NULL) + 86400;
		c.der = der;
		c.der_len = (size_t)len;
		c.requester = "crl_fill";
		c.attestation = "join-token";
		memset(&req, 0, sizeof(req));
		req.cert = &c;
		if ((rc = issuance_log_complete(log, &req)) != CA_OK) {
			ret = die(rc, "complete");
			goto out;
		}
		snprintf(path, sizeof(path), "%s/leaf-%d.pem", av[5], i);
		if ((f = fopen(path, "w")) == NULL ||
		    !PEM_write_X509(f, cert)) {
			fprintf(stderr, "crl_fill: %s: cannot write\n", path);
			if (f != NULL)
				fclose(f);
			goto out;
		}
		fclose(f);
		printf("%s\n", fileio_hex(hex, serial, sizeof(serial)));
		OPENSSL_free(der);
		der = NULL;
		X509_free(cert);
		cert = NULL;
	}
	ret = 0;
 out:
	OPENSSL_free(der);
	X509_free(cert);
	issuance_log_close(log);
	hsm_free(h);
	crl_issuer_clear(&iss);
	return ret;
}

static int
cmd_revoke(char **av)
{
	struct issuance_log *log = NULL;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	int rc, ret = 1;

	if (fileio_unhex(serial, sizeof(serial), av[1]) != 0) {
		fprintf(stderr, "crl_fill: %s: not a 16-byte hex serial\n",
		    av[1]);
		return 1;
	}
	if ((rc = issuance_log_open(&log, av[0])) != CA_OK) {
		ret = die(rc, "log");
		goto out;
	}
	if ((rc = issuance_log_revoke(log, serial, atoi(av[2]))) != CA_OK) {
		ret = die(rc, "revoke");
		goto out;
	}
	ret = 0;
 out:
	issuance_log_close(log);
	return ret;
}

int
main(int argc, char *argv[])
{
	if (argc == 9 && strcmp(argv[1], "issue") == 0)
		return cmd_issue(argv + 2);
	if (argc == 5 && strcmp(argv[1], "revoke") == 0)
		return cmd_revoke(argv + 2);
	fprintf(stderr, "usage: crl_fill issue LOG CA_CERT MODULE KEY_URI "
	    "PIN_SOURCE OUTDIR N\n"
	    "       crl_fill revoke LOG SERIAL_HEX REASON\n");
	return 2;
}
