/* SPDX-License-Identifier: ISC */
/*
 * ocsp_fill: drives the issuance log's writer API for the carapace-ocsp
 * integration tests, standing in for carapace-issuer:
 *
 *   ocsp_fill LOG reserve CA.pem       reserve a serial for the CA (its
 *                                      issuer_key_id is the SHA-1 of the
 *                                      CA's public key) and print it in hex
 *   ocsp_fill LOG complete LEAF.pem    record a certificate whose serial
 *                                      was reserved
 *   ocsp_fill LOG revoke SERIAL REASON revoke (RFC 5280 reason code)
 *   ocsp_fill LOG abandon SERIAL       give a reservation up
 *
 * The leaf itself is signed elsewhere (the tests use OpenSSL's pkcs11
 * engine with the CA key in SoftHSM).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "log/issuance_log.h"

static X509 *
cert_read(const char *path)
{
	FILE *f;
	X509 *x;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		fprintf(stderr, "%s: not a PEM certificate\n", path);
	return x;
}

static int
fail(int rc, const char *what)
{
	fprintf(stderr, "ocsp_fill: %s: %s: %s\n", what, ca_strerror(rc),
	    ca_error_detail());
	return 1;
}

int
main(int argc, char *argv[])
{
	struct issuance_log *log = NULL;
	struct issuance_cert c;
	struct issuance_completion req;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN], keyid[20];
	char hex[2 * ISSUANCE_LOG_SERIAL_LEN + 1];
	const ASN1_BIT_STRING *bits;
	const ASN1_INTEGER *sn;
	unsigned char *der = NULL;
	X509 *x = NULL;
	unsigned int n;
	int len, rc, ret = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: ocsp_fill LOG reserve|complete|revoke|"
		    "abandon ARG...\n");
		return 2;
	}
	if ((rc = issuance_log_open(&log, argv[1])) != CA_OK)
		return fail(rc, argv[1]);
	if (strcmp(argv[2], "reserve") == 0) {
		if ((x = cert_read(argv[3])) == NULL)
			goto out;
		bits = X509_get0_pubkey_bitstr(x);
		if (EVP_Digest(bits->data, (size_t)bits->length, keyid, &n,
		    EVP_sha1(), NULL) != 1)
			goto out;
		if ((rc = issuance_log_reserve(log, serial, keyid,
		    sizeof(keyid))) != CA_OK) {
			ret = fail(rc, "reserve");
			goto out;
		}
		printf("%s\n", fileio_hex(hex, serial, sizeof(serial)));
	} else if (strcmp(argv[2], "complete") == 0) {
		if ((x = cert_read(argv[3])) == NULL)
			goto out;
		sn = X509_get0_serialNumber(x);
		if (ASN1_STRING_length(sn) != ISSUANCE_LOG_SERIAL_LEN) {
			fprintf(stderr, "%s: serial is not %d bytes\n", argv[3],
			    ISSUANCE_LOG_SERIAL_LEN);
			goto out;
		}
		if ((len = i2d_X509(x, &der)) <= 0)
			goto out;
		memset(&c, 0, sizeof(c));
		memcpy(c.serial, ASN1_STRING_get0_data(sn),
		    ISSUANCE_LOG_SERIAL_LEN);
		c.subject = "CN=ocsp test leaf";
		c.names = "DNS:leaf.example.internal";
		c.not_before = 0;
		c.not_after = 0;
		c.der = der;
		c.der_len = (size_t)len;
		c.requester = "ocsp-test";
		c.attestation = "join-token";
		memset(&req, 0, sizeof(req));
		req.cert = &c;
		if ((rc = issuance_log_complete(log, &req)) != CA_OK) {
			ret = fail(rc, "complete");
			goto out;
		}
	} else if (strcmp(argv[2], "revoke") == 0 && argc == 5) {
		if (fileio_unhex(serial, sizeof(serial), argv[3]) != 0) {
			fprintf(stderr, "%s: not a 16-byte hex serial\n",
			    argv[3]);
			goto out;
		}
		if ((rc = issuance_log_revoke(log, serial, atoi(argv[4])))
		    != CA_OK) {
			ret = fail(rc, "revoke");
			goto out;
		}
	} else if (strcmp(argv[2], "abandon") == 0) {
		if (fileio_unhex(serial, sizeof(serial), argv[3]) != 0) {
			fprintf(stderr, "%s: not a 16-byte hex serial\n",
			    argv[3]);
			goto out;
		}
		if ((rc = issuance_log_abandon(log, serial)) != CA_OK) {
			ret = fail(rc, "abandon");
			goto out;
		}
	} else {
		fprintf(stderr, "ocsp_fill: %s: unknown command\n", argv[2]);
		goto out;
	}
	ret = 0;
 out:
	OPENSSL_free(der);
	X509_free(x);
	issuance_log_close(log);
	return ret;
}
