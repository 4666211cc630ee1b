/* SPDX-License-Identifier: ISC */
/*
 * leaf_profile: a certificate profile for the issuer's leaf certificates,
 * compiled once at startup from an NCONF section into extension objects
 * that the signer reuses for every certificate.
 *
 * A profile section and its extension section look like this:
 *
 *   [server]
 *   max_lifetime      = 24h          # required: N, Ns, Nm, Nh or Nd
 *   default_lifetime  = 1h           # default: max_lifetime
 *   lifetime_over_max = refuse       # or clamp; default refuse
 *   backdate          = 5m           # notBefore = now - backdate; max 1h
 *   key_types         = ec-p256 ec-p384 rsa-2048   # default: all five
 *   digest            = sha256       # default: by the CA key
 *   ski               = sha1         # or sha256 (see below)
 *   extensions        = server_ext   # required
 *
 *   [server_ext]                     # openssl.cnf x509v3_config syntax
 *   basicConstraints      = critical,CA:FALSE
 *   keyUsage              = critical,digitalSignature
 *   extendedKeyUsage      = serverAuth,clientAuth
 *   authorityInfoAccess   = OCSP;URI:http://ocsp.example/
 *   crlDistributionPoints = URI:http://crl.example/int.crl
 *   certificatePolicies   = 1.3.6.1.4.1.99999.1
 *
 * The extension section is checked with common/profile.c (profile_load:
 * every entry must parse, no extension twice) and then built once, without
 * any certificate context, into X509_EXTENSION objects. Rules a leaf
 * profile cannot break:
 *   - subjectAltName, subjectKeyIdentifier and authorityKeyIdentifier are
 *     refused: the signer makes them per certificate (SAN from the intent,
 *     SKI from the key, AKI from the intermediate);
 *   - basicConstraints must be critical,CA:FALSE, and is added so when the
 *     section leaves it out (RFC 5280 4.2.1.9);
 *   - keyUsage may not assert keyCertSign or cRLSign (RFC 5280 4.2.1.3);
 *   - CA-only extensions (nameConstraints, policyConstraints,
 *     policyMappings, inhibitAnyPolicy) are refused.
 *
 * SKI: "sha1" is RFC 5280 4.2.1.2 method (1), the SHA-1 of the
 * subjectPublicKey BIT STRING value (what OpenSSL's "hash" makes); "sha256"
 * is RFC 7093 section 2 method (1), the leftmost 160 bits of its SHA-256,
 * for deployments where SHA-1 is not available.
 *
 * A compiled profile is immutable and may be read by many threads.
 */
#ifndef LEAF_PROFILE_H
#define LEAF_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/ca_config.h"

/* Limits on durations in a profile (seconds). */
#define LEAF_PROFILE_MAX_LIFETIME	(398LL * 86400)
#define LEAF_PROFILE_MAX_BACKDATE	3600LL

enum leaf_ski_method {
	LEAF_SKI_SHA1 = 1,	/* RFC 5280 4.2.1.2 method (1) */
	LEAF_SKI_SHA256_160,	/* RFC 7093 2 method (1) */
};

struct leaf_profile {
	char *name;		/* the profile section */
	char *ext_section;	/* its extensions section */
	int64_t max_lifetime;	/* seconds */
	int64_t default_lifetime;
	int64_t backdate;
	int clamp;		/* lifetime_over_max = clamp */
	unsigned key_types;	/* PROFILE_KEY_* mask (common/profile.h) */
	char *digest;		/* "sha256", ... or NULL: by the CA key */
	enum leaf_ski_method ski;
	/*
	 * The fixed extensions, in section order, basicConstraints first
	 * when it was added. Owned by the profile.
	 */
	STACK_OF(X509_EXTENSION) *exts;
	/*
	 * The keyUsage for RSA and for EC keys when it differs from the
	 * configured one (see leaf_profile_key_ext); *_empty when nothing
	 * of it is left for that key type.
	 */
	X509_EXTENSION *ku_rsa, *ku_ec;
	int ku_rsa_empty, ku_ec_empty;
};

/*
 * leaf_profile_load compiles the profile named section of c. Errors are
 * CA_ERR_CONFIG with a message naming the file, the section and the key,
 * e.g. "issuer.cnf: [server] max_lifetime: ...". The result does not refer
 * to c after the call; free it with leaf_profile_free.
 */
int leaf_profile_load(struct leaf_profile **out, const struct config *c,
    const char *section) __attribute__((warn_unused_result));

/*
 * leaf_profile_key_ext returns what to put in a certificate for ext, one of
 * p->exts, when the key is RSA (rsa = 1) or EC (0): ext itself, except
 * that keyUsage follows the key type. An RSA key gets keyEncipherment
 * beside digitalSignature when the profile's EKU allows serverAuth (or it
 * has none), and never keyAgreement; an EC key never gets keyEncipherment
 * or dataEncipherment (RFC 5480 3). NULL when the configured keyUsage
 * leaves nothing for that key type. The result belongs to p.
 */
const X509_EXTENSION *leaf_profile_key_ext(const struct leaf_profile *p,
    const X509_EXTENSION *ext, int rsa);

/*
 * leaf_profile_key_usable: 0 when the profile's keyUsage leaves nothing
 * for an RSA key (rsa = 1) or an EC key (0), so that a request is refused
 * before a serial is reserved (leaf_profile_key_ext would return NULL).
 */
int leaf_profile_key_usable(const struct leaf_profile *p, int rsa);

/* leaf_profile_free releases a profile; leaf_profile_free(NULL) is a no-op. */
void leaf_profile_free(struct leaf_profile *p);

#endif /* LEAF_PROFILE_H */
