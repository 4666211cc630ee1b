/* SPDX-License-Identifier: ISC */
/*
 * signer: the narrow boundary around the intermediate CA key.
 *
 * The signer boundary (draft for docs/issuer.md)
 * ----------------------------------------------
 * Everything in carapace-issuer that parses requests, checks attestations
 * and applies policy is on one side; the intermediate key is on the other,
 * and the only way across is signer_issue(). The request side hands the
 * signer an issuance intent (struct signer_intent): the name of a profile,
 * the subject, the names the policy granted, the certificate's public key
 * as DER, the validity wanted, the serial the caller reserved in the
 * issuance log and the digest of the evidence that justified the request.
 *
 * The signer then
 *   1. checks the intent on its own terms (profile known, key type and
 *      size allowed by the profile, names well formed, lifetime within the
 *      profile's limit, the certificate inside the intermediate's validity);
 *   2. builds the TBSCertificate itself: issuer = the intermediate's
 *      subject, the profile's fixed extensions (compiled once at startup,
 *      see leaf_profile.h), a subjectAltName of exactly the intent's names,
 *      a subjectKeyIdentifier computed from the key and the
 *      authorityKeyIdentifier of the intermediate;
 *   3. signs it with the key (through hsm_key_sign for an HSM key);
 *   4. parses the DER back and checks it against what it meant to sign:
 *      version, serial, issuer, subject, validity, public key, every
 *      extension byte for byte and nothing more, and the signature with the
 *      intermediate certificate's public key (which also catches a faulty
 *      signature, e.g. an RSA-CRT fault, before it leaves the process);
 *   5. returns the certificate's DER.
 *
 * It never signs a blob, a TBS or a hash that it was handed, and nothing
 * outside this module touches the key. The intent is a flat struct of
 * fixed-size fields, with no pointers, so it can later cross a socketpair
 * to a privilege-separated signer process unchanged (as OpenSSH's monitor
 * does); the evidence digest lets that process keep its own record of why
 * it signed.
 *
 * A signer is immutable once its profiles are added: signer_issue may be
 * called from many threads at once. Errors are ca_err codes with a detail
 * message naming the intent ("serial 0a1b...: ...") and the rule broken:
 * CA_ERR_NOT_FOUND (unknown profile), CA_ERR_INVALID (malformed intent),
 * CA_ERR_POLICY (key type, lifetime, outliving the intermediate),
 * CA_ERR_TOKEN_ABSENT / CA_ERR_HSM (the key is not available; try later),
 * CA_ERR_VERIFY / CA_ERR_INTERNAL (the check after signing failed: a bug
 * or a fault; the certificate is discarded).
 */
#ifndef SIGNER_H
#define SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/ca_config.h"
#include "hsm/hsm.h"

/* Sizes of the fixed fields of an intent. */
#define SIGNER_PROFILE_LEN	64	/* profile name, with its NUL */
#define SIGNER_SUBJECT_MAX	1024	/* DER Name */
#define SIGNER_CN_LEN		65	/* ub-common-name 64, plus NUL */
#define SIGNER_MAX_NAMES	32	/* SAN entries */
#define SIGNER_NAME_LEN		256	/* one name, with its NUL */
#define SIGNER_SPKI_MAX		2200	/* DER SubjectPublicKeyInfo (RSA 16k) */
#define SIGNER_SERIAL_LEN	16	/* = PROFILE_SERIAL_BYTES */
#define SIGNER_EVIDENCE_LEN	32	/* SHA-256 */
/* A caller's notBefore may differ from the clock by at most this. */
#define SIGNER_MAX_SKEW		300

enum signer_name_type {
	SIGNER_NAME_DNS = 1,	/* dNSName: LDH labels, no wildcard */
	SIGNER_NAME_IP,		/* iPAddress: "192.0.2.1", "2001:db8::1" */
	SIGNER_NAME_URI,	/* uniformResourceIdentifier: "spiffe://..." */
};

struct signer_name {
	uint32_t type;			/* enum signer_name_type */
	char value[SIGNER_NAME_LEN];	/* NUL-terminated text */
};

struct signer_intent {
	char profile[SIGNER_PROFILE_LEN];
	/*
	 * The subject: a DER Name (subject_len > 0), or a commonName
	 * (subject_cn non-empty), or neither for an empty subject, in which
	 * case subjectAltName is made critical (RFC 5280 4.2.1.6). Not both.
	 */
	uint8_t subject_der[SIGNER_SUBJECT_MAX];
	uint32_t subject_len;
	char subject_cn[SIGNER_CN_LEN];
	/* The names, already approved by policy; at least one. */
	uint32_t nnames;
	struct signer_name names[SIGNER_MAX_NAMES];
	/* The certificate's public key, DER SubjectPublicKeyInfo. */
	uint8_t spki[SIGNER_SPKI_MAX];
	uint32_t spki_len;
	/*
	 * notBefore in seconds since the epoch, or 0 for now minus the
	 * profile's backdate; lifetime in seconds (notAfter - notBefore), or 0
	 * for the profile's default_lifetime.
	 */
	int64_t not_before;
	int64_t lifetime;
	/* The serial reserved in the issuance log: big-endian, not zero. */
	uint8_t serial[SIGNER_SERIAL_LEN];
	/* SHA-256 of the evidence (token id, x509pop cert, document). */
	uint8_t evidence[SIGNER_EVIDENCE_LEN];
};

struct signer;

/*
 * signer_key_fn reaches a private key: it calls fn(pkey, arg) with it and
 * returns CA_OK when fn returned 1, or a ca_err code with a detail
 * message. hsm_key_sign has this shape; signer_new_soft supplies one for a
 * software key.
 */
typedef int (*signer_key_fn)(void *key, hsm_sign_fn fn, void *arg);

/*
 * signer_new_fn makes a signer for the intermediate certificate inter whose
 * private key is reached through sign(key, ...); pub is that key's public
 * half, which must match inter's. It refuses an inter that is not a CA
 * certificate allowed to sign certificates (RFC 5280 4.2.1.3, 4.2.1.9).
 * inter is reference-counted, pub is only compared, key is borrowed and
 * must outlive the signer. Free the result with signer_free.
 */
int signer_new_fn(struct signer **out, X509 *inter, EVP_PKEY *pub,
    signer_key_fn sign, void *key) __attribute__((warn_unused_result));

/*
 * signer_new_soft makes a signer for the intermediate certificate inter
 * whose private key is the software key key (tests and benchmarks only; a
 * CA key belongs in an HSM). It refuses a key that does not match inter's
 * public key, and an inter that is not a CA certificate allowed to sign
 * certificates. inter and key are reference-counted, not taken over. Free
 * the result with signer_free.
 */
int signer_new_soft(struct signer **out, X509 *inter, EVP_PKEY *key)
    __attribute__((warn_unused_result));

/*
 * signer_new_hsm is signer_new_soft for a key in an HSM: every signature
 * goes through hsm_key_sign(key, ...), so the hsm layer can rebuild its
 * context after a token loss. key must outlive the signer. (In
 * signer_hsm.c, so that programs without an HSM do not link hsm/.)
 */
int signer_new_hsm(struct signer **out, X509 *inter, struct hsm_key *key)
    __attribute__((warn_unused_result));

/* signer_free releases a signer; signer_free(NULL) is a no-op. */
void signer_free(struct signer *s);

/*
 * signer_add_profile compiles the leaf profile named section of c (see
 * leaf_profile.h) and makes it available to intents under that name. It
 * checks the profile's digest against the CA key. Call it at startup,
 * before signer_issue is used from other threads. c is not referred to
 * after the call.
 */
int signer_add_profile(struct signer *s, const struct config *c,
    const char *section) __attribute__((warn_unused_result));

/*
 * signer_issue builds, signs and checks the certificate described by in.
 * On success *der is the certificate in DER (*der_len bytes), which the
 * caller frees with OPENSSL_free. On failure *der is NULL and nothing was
 * signed, or what was signed failed its check and was discarded.
 */
int signer_issue(struct signer *s, uint8_t **der, size_t *der_len,
    const struct signer_intent *in) __attribute__((warn_unused_result));

/*
 * What signer_issue_info says about the certificate it made, so that the
 * caller can record it without decoding the DER again (d2i_X509 runs the
 * key through OpenSSL 3.0's provider decoder, about 150 us here). Flat,
 * like the intent.
 */
#define SIGNER_SUBJECT_TEXT	(4 * SIGNER_SUBJECT_MAX)
struct signer_issued {
	int64_t not_before;		/* seconds since the epoch */
	int64_t not_after;
	char subject[SIGNER_SUBJECT_TEXT];	/* profile_name_string's form */
};

/*
 * signer_issue_info is signer_issue that also fills *info (when not NULL)
 * with the certificate's validity and subject, as checked after signing.
 */
int signer_issue_info(struct signer *s, uint8_t **der, size_t *der_len,
    struct signer_issued *info, const struct signer_intent *in)
    __attribute__((warn_unused_result));

/*
 * signer_intent_set_spki fills in->spki from pk's public half (a helper for
 * the request side and the tests).
 */
int signer_intent_set_spki(struct signer_intent *in, EVP_PKEY *pk)
    __attribute__((warn_unused_result));

/*
 * signer_intent_add_name appends a name to in (CA_ERR_INVALID when full or
 * too long).
 */
int signer_intent_add_name(struct signer_intent *in,
    enum signer_name_type type, const char *value)
    __attribute__((warn_unused_result));

#ifdef SIGNER_TEST_HOOKS
/*
 * Only in the unit tests' own build of signer.c: a fixed clock, and a hook
 * that may alter the TBSCertificate just before it is signed, to show that
 * the check after signing catches it.
 */
void signer_test_set_clock(struct signer *s, time_t (*now)(void));
void signer_test_set_hook(struct signer *s, void (*hook)(X509 *, void *),
    void *arg);
#endif

#endif /* SIGNER_H */
