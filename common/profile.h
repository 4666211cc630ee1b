/* SPDX-License-Identifier: ISC */
/*
 * profile: the building blocks of a certificate that the ceremony and the
 * issuer share. A profile is an openssl.cnf-syntax extension section in a
 * configuration file; it is parsed and checked once by profile_load (which
 * also records its basicConstraints for CSR checks) and applied to each
 * certificate by profile_apply with a proper X509V3_CTX (issuer, subject,
 * the config for @section references).
 *
 * Around it: random positive serials, SPKI SHA-256 fingerprints, subject
 * names from an ordered RDN section, the key type and size policy (RSA of at
 * least 2048 bits, EC only on P-256 and P-384), the digest choice, CSR
 * checks and the check of a signed certificate's signature.
 *
 * Every function returns CA_OK or a ca_err code with a detail message that
 * names the object and the rule (ca_error_detail()).
 */
#ifndef PROFILE_H
#define PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/ca_config.h"
#include "common/fileio.h"

/* Serial numbers: 128 random bits, encoded as a positive INTEGER. */
#define PROFILE_SERIAL_BYTES	16
/* Key policy. */
#define PROFILE_RSA_MIN_BITS	2048
#define PROFILE_RSA_MAX_BITS	16384

/* Key types, as a bit mask for a profile's key_types list. */
#define PROFILE_KEY_EC_P256	0x01u
#define PROFILE_KEY_EC_P384	0x02u
#define PROFILE_KEY_RSA_2048	0x04u
#define PROFILE_KEY_RSA_3072	0x08u
#define PROFILE_KEY_RSA_4096	0x10u
#define PROFILE_KEY_RSA_OTHER	0x20u	/* other RSA sizes >= 2048 */
#define PROFILE_KEY_ALL		0x3fu

struct profile {
	char *section;		/* the extension section */
	int has_bc;		/* basicConstraints present */
	int bc_critical;
	int ca;			/* CA:TRUE */
	long pathlen;		/* -1 when absent */
	int has_ku;		/* keyUsage present */
	int ku_critical;
	int ku_cert_sign;	/* keyCertSign asserted */
	int ku_crl_sign;	/* cRLSign asserted */
	int has_ski, has_aki;	/* section sets its own SKI / AKI */
	size_t nexts;		/* number of extensions in the section */
};

/*
 * profile_load parses every extension of the section (a missing section is
 * an error naming referer, "[intermediate] profile", when given) with a
 * test context, so a misspelled extension name or a bad value is refused
 * before anything is signed, and records basicConstraints and keyUsage. The
 * caller frees the result with profile_free. The config must outlive uses
 * of the profile with profile_apply.
 */
int profile_load(struct profile **out, const struct config *c,
    const char *section, const char *referer)
    __attribute__((warn_unused_result));

/* profile_free releases a profile; profile_free(NULL) does nothing. */
void profile_free(struct profile *p);

/*
 * profile_apply adds the profile's extensions to cert (whose subject and
 * public key must already be set), with issuer as the issuing certificate
 * (cert itself for a self-signed one). An extension that cert already has
 * is an error. Nothing is taken over.
 */
int profile_apply(const struct profile *p, const struct config *c, X509 *cert,
    X509 *issuer) __attribute__((warn_unused_result));

/*
 * profile_add_ext adds one extension given in openssl.cnf syntax, e.g.
 * profile_add_ext(cert, issuer, NID_subject_key_identifier, "hash").
 */
int profile_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
    __attribute__((warn_unused_result));

/*
 * profile_ca_complete makes cert a CA certificate the way RFC 5280 wants
 * it: it adds basicConstraints "critical,CA:TRUE", keyUsage "critical,
 * keyCertSign,cRLSign" and a subjectKeyIdentifier when absent, and an
 * authorityKeyIdentifier (keyid) when issuer is another certificate; and it
 * refuses (CA_ERR_POLICY) present ones that contradict that: BC not
 * critical or CA:FALSE, KU not critical or without keyCertSign (and
 * cRLSign when require_crl_sign). what names the certificate in messages.
 */
int profile_ca_complete(X509 *cert, X509 *issuer, int require_crl_sign,
    const char *what) __attribute__((warn_unused_result));

/*
 * profile_serial_random returns a new positive INTEGER made of
 * PROFILE_SERIAL_BYTES random bytes (never zero). Free with
 * ASN1_INTEGER_free.
 */
int profile_serial_random(ASN1_INTEGER **out)
    __attribute__((warn_unused_result));

/* profile_spki_sha256: SHA-256 of the DER SubjectPublicKeyInfo of pk. */
int profile_spki_sha256(uint8_t out[FILEIO_SHA256_LEN], const EVP_PKEY *pk)
    __attribute__((warn_unused_result));

/* profile_spki_hex: the same as lowercase hex in out[FILEIO_SHA256_HEX]. */
int profile_spki_hex(char out[FILEIO_SHA256_HEX], const EVP_PKEY *pk)
    __attribute__((warn_unused_result));

/*
 * profile_key_describe writes "EC P-256", "RSA 3072", ... for pk into buf.
 * Returns buf.
 */
const char *profile_key_describe(char *buf, size_t len, const EVP_PKEY *pk);

/*
 * profile_key_types_parse parses a space- or comma-separated list of
 * "ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096" into a mask. what names the
 * setting in messages ("ceremony.cnf: [intermediate] key_types").
 */
int profile_key_types_parse(unsigned *out, const char *list, const char *what)
    __attribute__((warn_unused_result));

/*
 * profile_key_check applies the key policy to pk: RSA of at least
 * PROFILE_RSA_MIN_BITS, EC on P-256 or P-384 only, nothing else, and only
 * the types in allowed. CA_ERR_POLICY naming what and the key otherwise.
 */
int profile_key_check(const EVP_PKEY *pk, unsigned allowed, const char *what)
    __attribute__((warn_unused_result));

/*
 * profile_digest chooses the signature digest for key pk: name ("sha256",
 * "sha384", "sha512") when not NULL, else SHA-384 for P-384 and SHA-256
 * otherwise. Other names are refused (CA_ERR_POLICY).
 */
int profile_digest(const EVP_MD **out, const EVP_PKEY *pk, const char *name,
    const char *what) __attribute__((warn_unused_result));

/*
 * profile_name_from_section builds an X509_NAME from a section of RDNs in
 * file order ("C = XX", "O = Example", "CN = ..."; "1.OU"-style prefixes
 * for repeated attributes and a leading "+" for a multi-valued RDN, as in
 * openssl req). Unknown attribute types and empty values are refused. Free
 * the result with X509_NAME_free.
 */
int profile_name_from_section(X509_NAME **out, const struct config *c,
    const char *section, const char *referer)
    __attribute__((warn_unused_result));

/*
 * profile_name_string formats a name on one line ("CN=..., O=..."), in a
 * new string the caller frees with free().
 */
char *profile_name_string(const X509_NAME *name);

/*
 * profile_csr_check verifies a CSR (name is used in messages): its
 * signature must verify with its own public key, its subject must not be
 * empty, its key must pass profile_key_check with allowed, and a requested
 * basicConstraints must fit the profile: CA:TRUE only when the profile says
 * CA:TRUE, and then with a pathlen no greater than the profile's (and
 * present when the profile has one). The CSR's extensions are never copied;
 * this only refuses requests for more than the profile grants.
 */
int profile_csr_check(X509_REQ *req, const struct profile *p,
    unsigned allowed, const char *name) __attribute__((warn_unused_result));

/*
 * profile_cert_verify checks that cert's signature verifies with pub
 * (CA_ERR_VERIFY naming what otherwise).
 */
int profile_cert_verify(X509 *cert, EVP_PKEY *pub, const char *what)
    __attribute__((warn_unused_result));

/*
 * profile_req_read reads a PKCS#10 CSR from a PEM or DER buffer (trailing
 * bytes after the DER are refused). Free with X509_REQ_free.
 */
int profile_req_read(X509_REQ **out, const uint8_t *buf, size_t len,
    const char *name) __attribute__((warn_unused_result));

/*
 * profile_cert_read reads one certificate from a PEM or DER buffer
 * (trailing bytes after the DER are refused). Free with X509_free.
 */
int profile_cert_read(X509 **out, const uint8_t *buf, size_t len,
    const char *name) __attribute__((warn_unused_result));

/*
 * profile_certs_read appends to sk the PEM certificates in the file at path
 * (at least one, and sk may hold at most max in all): CA_OK, or
 * CA_ERR_CONFIG naming the file, or the read error.
 */
int profile_certs_read(STACK_OF(X509) *sk, const char *path, int max)
    __attribute__((warn_unused_result));

#endif /* PROFILE_H */
