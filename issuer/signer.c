/* SPDX-License-Identifier: ISC */
/*
 * signer: the only code in carapace-issuer that uses the intermediate key.
 * It takes an issuance intent (a flat struct, see signer.h), checks it,
 * builds the TBSCertificate itself from a compiled leaf profile, signs it
 * through the key's sign callback (hsm_key_sign for an HSM key), parses
 * the result back and checks it against what it meant to sign before the
 * DER leaves this file. It never signs bytes it was handed.
 *
 * Cost: everything that does not change per certificate is prepared once
 * (the profile's extension objects, the authorityKeyIdentifier, fetched
 * digests, EC groups), and nothing per certificate goes through OpenSSL
 * 3.0's provider key decoder or encoder (d2i_PUBKEY, X509_set_pubkey and
 * d2i_X509 each cost 150-300 µs here): the key is parsed and checked as
 * plain ASN.1 and copied into the TBS, and the parse back uses a template
 * of RFC 5280's Certificate that keeps the key as bytes. What remains is
 * some ASN.1, one signature and one verification (about half the time
 * with a software P-256 key; bench/sign-bench measures it).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/profile.h"
#include "common/weak_key.h"
#include "issuer/leaf_profile.h"
#include "issuer/signer.h"

/* An SKI is 160 bits whichever method makes it. */
#define SKI_LEN		20
/* Room for "serial <32 hex digits> [profile]" in messages. */
#define WHAT_LEN	(48 + SIGNER_PROFILE_LEN)

struct signer_profile {
	struct leaf_profile *lp;
	EVP_MD *md;		/* the signature digest, fetched once */
};

struct signer {
	X509 *inter;		/* the intermediate certificate */
	EVP_PKEY *inter_pub;	/* its public key (for the check) */
	time_t inter_nb, inter_na;
	X509_EXTENSION *aki;	/* keyIdentifier = the intermediate's SKI */
	EVP_MD *sha1, *sha256;	/* for SKIs, fetched once */
	EC_GROUP *p256, *p384;	/* for checking EC keys */
	signer_key_fn sign;	/* reaches the private key */
	void *key;
	EVP_PKEY *soft_key;	/* signer_new_soft's key, owned */
	struct signer_profile *profiles;
	size_t nprofiles;
	time_t (*now)(void);
	void (*hook)(X509 *, void *);	/* test hook before signing */
	void *hook_arg;
};

static time_t
clock_now(void)
{
	return time(NULL);
}

void
signer_free(struct signer *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nprofiles; i++) {
		leaf_profile_free(s->profiles[i].lp);
		EVP_MD_free(s->profiles[i].md);
	}
	free(s->profiles);
	X509_EXTENSION_free(s->aki);
	EVP_MD_free(s->sha1);
	EVP_MD_free(s->sha256);
	EC_GROUP_free(s->p256);
	EC_GROUP_free(s->p384);
	EVP_PKEY_free(s->inter_pub);
	EVP_PKEY_free(s->soft_key);
	X509_free(s->inter);
	free(s);
}

static int
asn1_time_to_time_t(time_t *out, const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* ski_compute hashes the subjectPublicKey BIT STRING's value. */
static int
ski_compute(uint8_t out[SKI_LEN], const EVP_MD *md, X509_PUBKEY *xpk)
{
	const unsigned char *bits;
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;
	int len;

	if (X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xpk) != 1 ||
	    EVP_Digest(bits, (size_t)len, h, &hlen, md, NULL) != 1 ||
	    hlen < SKI_LEN)
		return ca_error_openssl(CA_ERR_INTERNAL, "subjectKeyIdentifier: "
		    "cannot hash the public key");
	/* SHA-1 whole, or SHA-256's leftmost 160 bits (RFC 7093 2). */
	memcpy(out, h, SKI_LEN);
	return CA_OK;
}

static int
fetch_md(EVP_MD **out, const char *name)
{
	if (*out != NULL)
		return CA_OK;
	ERR_clear_error();
	if ((*out = EVP_MD_fetch(NULL, name, NULL)) == NULL)
		return ca_error_openssl(CA_ERR_UNSUPPORTED, "digest %s is not "
		    "available", name);
	return CA_OK;
}

/* make_aki builds the AKI extension from inter's SKI (or its key's). */
static int
make_aki(struct signer *s)
{
	AUTHORITY_KEYID *akid = NULL;
	const ASN1_OCTET_STRING *ski;
	uint8_t h[SKI_LEN];
	int rc = CA_ERR_INTERNAL;

	if ((akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_new()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "authorityKeyIdentifier");
		goto out;
	}
	if ((ski = X509_get0_subject_key_id(s->inter)) != NULL) {
		if (!ASN1_OCTET_STRING_set(akid->keyid,
		    ASN1_STRING_get0_data(ski), ASN1_STRING_length(ski))) {
			rc = ca_error(CA_ERR_NOMEM, "authorityKeyIdentifier");
			goto out;
		}
	} else {
		/* RFC 5280 4.2.1.1: derive it as the issuer would have. */
		if ((rc = fetch_md(&s->sha1, "SHA1")) != CA_OK ||
		    (rc = ski_compute(h, s->sha1,
		    X509_get_X509_PUBKEY(s->inter))) != CA_OK)
			goto out;
		if (!ASN1_OCTET_STRING_set(akid->keyid, h, sizeof(h))) {
			rc = ca_error(CA_ERR_NOMEM, "authorityKeyIdentifier");
			goto out;
		}
	}
	if ((s->aki = X509V3_EXT_i2d(NID_authority_key_identifier, 0,
	    akid)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "authorityKeyIdentifier: "
		    "cannot encode");
		goto out;
	}
	rc = CA_OK;
 out:
	AUTHORITY_KEYID_free(akid);
	return rc;
}

int
signer_new_fn(struct signer **out, X509 *inter, EVP_PKEY *pub,
    signer_key_fn sign, void *key)
{
	struct signer *s = NULL;
	char *subj = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "signer: out of memory");
		goto out;
	}
	s->now = clock_now;
	s->sign = sign;
	s->key = key;
	if (!X509_up_ref(inter)) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "intermediate");
		goto out;
	}
	s->inter = inter;
	subj = profile_name_string(X509_get_subject_name(inter));
	if ((s->inter_pub = X509_get_pubkey(inter)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INVALID, "intermediate %s: its "
		    "public key cannot be decoded", subj ? subj : "?");
		goto out;
	}
	if (X509_check_ca(inter) < 1) {
		rc = ca_error(CA_ERR_POLICY, "intermediate %s: RFC 5280 4.2.1.3, "
		    "4.2.1.9: not a CA certificate allowed to sign certificates",
		    subj ? subj : "?");
		goto out;
	}
	if (EVP_PKEY_eq(s->inter_pub, pub) != 1) {
		rc = ca_error(CA_ERR_INVALID, "intermediate %s: the signing "
		    "key does not match the certificate's public key",
		    subj ? subj : "?");
		goto out;
	}
	if (asn1_time_to_time_t(&s->inter_nb, X509_get0_notBefore(inter)) ||
	    asn1_time_to_time_t(&s->inter_na, X509_get0_notAfter(inter))) {
		rc = ca_error(CA_ERR_INVALID, "intermediate %s: bad validity",
		    subj ? subj : "?");
		goto out;
	}
	if ((rc = make_aki(s)) != CA_OK)
		goto out;
	if ((s->p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) ==
	    NULL || (s->p384 = EC_GROUP_new_by_curve_name(NID_secp384r1)) ==
	    NULL) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "EC groups");
		goto out;
	}
	*out = s;
	s = NULL;
	rc = CA_OK;
 out:
	free(subj);
	signer_free(s);
	return rc;
}

static int
soft_sign(void *key, hsm_sign_fn fn, void *arg)
{
	ERR_clear_error();
	if (fn(key, arg) != 1)
		return ca_error_openssl(CA_ERR_INTERNAL, "software key: "
		    "signing failed");
	return CA_OK;
}

int
signer_new_soft(struct signer **out, X509 *inter, EVP_PKEY *key)
{
	int rc;

	*out = NULL;
	if (!EVP_PKEY_up_ref(key))
		return ca_error_openssl(CA_ERR_INTERNAL, "software key");
	if ((rc = signer_new_fn(out, inter, key, soft_sign, key)) != CA_OK) {
		EVP_PKEY_free(key);
		return rc;
	}
	(*out)->soft_key = key;
	return CA_OK;
}

int
signer_add_profile(struct signer *s, const struct config *c,
    const char *section)
{
	struct leaf_profile *lp = NULL;
	struct signer_profile *np;
	const EVP_MD *md;
	EVP_MD *fetched = NULL;
	char what[256];
	size_t i;
	int rc = CA_ERR_INTERNAL;

	if (strlen(section) >= SIGNER_PROFILE_LEN) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s]: a profile name is at "
		    "most %d characters", config_path(c), section,
		    SIGNER_PROFILE_LEN - 1);
		goto out;
	}
	for (i = 0; i < s->nprofiles; i++) {
		if (strcmp(s->profiles[i].lp->name, section) == 0) {
			rc = ca_error(CA_ERR_EXISTS, "%s: [%s]: profile added "
			    "twice", config_path(c), section);
			goto out;
		}
	}
	if ((rc = leaf_profile_load(&lp, c, section)) != CA_OK)
		goto out;
	snprintf(what, sizeof(what), "%s: [%s] digest", config_path(c),
	    section);
	if ((rc = profile_digest(&md, s->inter_pub, lp->digest, what)) !=
	    CA_OK)
		goto out;
	if ((rc = fetch_md(&fetched, EVP_MD_get0_name(md))) != CA_OK)
		goto out;
	if ((rc = fetch_md(lp->ski == LEAF_SKI_SHA1 ? &s->sha1 : &s->sha256,
	    lp->ski == LEAF_SKI_SHA1 ? "SHA1" : "SHA256")) != CA_OK)
		goto out;
	if ((np = reallocarray(s->profiles, s->nprofiles + 1,
	    sizeof(*np))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "[%s]: out of memory", section);
		goto out;
	}
	s->profiles = np;
	np[s->nprofiles].lp = lp;
	np[s->nprofiles].md = fetched;
	s->nprofiles++;
	lp = NULL;
	fetched = NULL;
	rc = CA_OK;
 out:
	leaf_profile_free(lp);
	EVP_MD_free(fetched);
	return rc;
}

/* --- the intent ------------------------------------------------------ */

int
signer_intent_set_spki(struct signer_intent *in, EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	int len;

	if ((len = i2d_PUBKEY(pk, &der)) <= 0)
		return ca_error_openssl(CA_ERR_INVALID, "public key: cannot "
		    "encode SubjectPublicKeyInfo");
	if ((size_t)len > sizeof(in->spki)) {
		OPENSSL_free(der);
		return ca_error(CA_ERR_INVALID, "public key: SubjectPublicKey"
		    "Info of %d bytes is over %d", len, SIGNER_SPKI_MAX);
	}
	memcpy(in->spki, der, (size_t)len);
	in->spki_len = (uint32_t)len;
	OPENSSL_free(der);
	return CA_OK;
}

int
signer_intent_add_name(struct signer_intent *in, enum signer_name_type type,
    const char *value)
{
	if (in->nnames >= SIGNER_MAX_NAMES)
		return ca_error(CA_ERR_INVALID, "%s: more than %d names",
		    value, SIGNER_MAX_NAMES);
	if (strlen(value) >= SIGNER_NAME_LEN)
		return ca_error(CA_ERR_INVALID, "%s: a name is at most %d "
		    "characters", value, SIGNER_NAME_LEN - 1);
	in->names[in->nnames].type = (uint32_t)type;
	snprintf(in->names[in->nnames].value, SIGNER_NAME_LEN, "%s", value);
	in->nnames++;
	return CA_OK;
}

/*
 * dns_ok: RFC 1034 3.5 preferred name syntax (RFC 5280 4.2.1.6), or a
 * wildcard: "*" as the whole first label followed by such a name of at
 * least two labels ("*.example.com"; not "*.com", "a*.example.com" or
 * "x.*.example.com"), the form RFC 6125 6.4.3 lets a client match and
 * policy.c grants with a literal "=*.example.com".
 */
static int
dns_ok(const char *s)
{
	size_t len, label = 0, i;
	unsigned char ch, prev = '.';

	if (s[0] == '*' && s[1] == '.') {
		s += 2;
		if (strlen(s) > 251 || strchr(s, '.') == NULL)
			return 0;
	}
	len = strlen(s);
	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		ch = (unsigned char)s[i];
		if (ch == '.' || ch == '\0') {
			if (label == 0 || prev == '-')
				return 0;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    (ch == '-' && prev != '.')) {
			if (++label > 63)
				return 0;
		} else
			return 0;
		prev = ch;
	}
	return 1;
}

/* uri_ok: scheme ":" something, printable ASCII only (RFC 3986 3.1). */
static int
uri_ok(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; s[i] != ':'; i++)
		if (s[i] == '\0' || strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-", s[i]) == NULL)
			return 0;
	if (s[i + 1] == '\0')
		return 0;
	for (; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* ip_parse: a textual IPv4 or IPv6 address into 4 or 16 bytes. */
static int
ip_parse(uint8_t out[16], const char *s)
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, out) == 1)
		return 16;
	return 0;
}

static int
ia5_name(GENERAL_NAME *gen, int type, const char *value)
{
	ASN1_IA5STRING *ia5;

	if ((ia5 = ASN1_IA5STRING_new()) == NULL)
		return 0;
	if (!ASN1_STRING_set(ia5, value, (int)strlen(value))) {
		ASN1_IA5STRING_free(ia5);
		return 0;
	}
	GENERAL_NAME_set0_value(gen, type, ia5);
	return 1;
}

/*
 * san_build checks the intent's names and builds the subjectAltName
 * extension (critical when the subject is empty).
 */
static int
san_build(X509_EXTENSION **out, const struct signer_intent *in, int critical,
    const char *what)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	ASN1_OCTET_STRING *oct;
	uint8_t ip[16], ip2[16];
	const char *v;
	size_t i, j;
	int iplen, ok, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (in->nnames == 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: RFC 5280 4.2.1.6: no names "
		    "for subjectAltName", what);
		goto out;
	}
	if (in->nnames > SIGNER_MAX_NAMES) {
		rc = ca_error(CA_ERR_INVALID, "%s: more than %d names", what,
		    SIGNER_MAX_NAMES);
		goto out;
	}
	if ((gens = GENERAL_NAMES_new()) == NULL)
		goto nomem;
	for (i = 0; i < in->nnames; i++) {
		v = in->names[i].value;
		if (memchr(v, '\0', SIGNER_NAME_LEN) == NULL) {
			rc = ca_error(CA_ERR_INVALID, "%s: name %zu is not "
			    "terminated", what, i);
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (in->names[j].type != in->names[i].type)
				continue;
			if (in->names[i].type == SIGNER_NAME_IP ?
			    (ip_parse(ip, v) == ip_parse(ip2,
			    in->names[j].value) && memcmp(ip, ip2,
			    sizeof(ip)) == 0) :
			    strcasecmp(v, in->names[j].value) == 0) {
				rc = ca_error(CA_ERR_INVALID, "%s: name \"%s\" "
				    "given twice", what, v);
				goto out;
			}
		}
		if ((gen = GENERAL_NAME_new()) == NULL)
			goto nomem;
		switch (in->names[i].type) {
		case SIGNER_NAME_DNS:
			if (!dns_ok(v)) {
				rc = ca_error(CA_ERR_INVALID, "%s: dNSName "
				    "\"%s\": RFC 5280 4.2.1.6: not a host name "
				    "in preferred name syntax", what, v);
				goto out;
			}
			ok = ia5_name(gen, GEN_DNS, v);
			break;
		case SIGNER_NAME_URI:
			if (!uri_ok(v)) {
				rc = ca_error(CA_ERR_INVALID, "%s: URI \"%s\": "
				    "RFC 3986: not an absolute URI", what, v);
				goto out;
			}
			ok = ia5_name(gen, GEN_URI, v);
			break;
		case SIGNER_NAME_IP:
			memset(ip, 0, sizeof(ip));
			if ((iplen = ip_parse(ip, v)) == 0) {
				rc = ca_error(CA_ERR_INVALID, "%s: iPAddress "
				    "\"%s\": not an IPv4 or IPv6 address", what,
				    v);
				goto out;
			}
			ok = 0;
			if ((oct = ASN1_OCTET_STRING_new()) != NULL) {
				if (ASN1_OCTET_STRING_set(oct, ip, iplen)) {
					GENERAL_NAME_set0_value(gen, GEN_IPADD,
					    oct);
					ok = 1;
				} else
					ASN1_OCTET_STRING_free(oct);
			}
			break;
		default:
			rc = ca_error(CA_ERR_INVALID, "%s: name \"%s\": unknown "
			    "name type %u", what, v,
			    (unsigned)in->names[i].type);
			goto out;
		}
		if (!ok || !sk_GENERAL_NAME_push(gens, gen))
			goto nomem;
		gen = NULL;
	}
	if ((*out = X509V3_EXT_i2d(NID_subject_alt_name, critical,
	    gens)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: subjectAltName: "
		    "cannot encode", what);
		goto out;
	}
	rc = CA_OK;
	goto out;
 nomem:
	rc = ca_error(CA_ERR_NOMEM, "%s: subjectAltName: out of memory", what);
 out:
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return rc;
}

static int
subject_build(X509_NAME **out, const struct signer_intent *in,
    const char *what)
{
	X509_NAME *name = NULL;
	const unsigned char *p;
	size_t i, len;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	len = strnlen(in->subject_cn, sizeof(in->subject_cn));
	if (len == sizeof(in->subject_cn)) {
		rc = ca_error(CA_ERR_INVALID, "%s: commonName is not "
		    "terminated", what);
		goto out;
	}
	if (in->subject_len > 0 && len > 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: both a subject and a "
		    "commonName were given", what);
		goto out;
	}
	if (in->subject_len > SIGNER_SUBJECT_MAX) {
		rc = ca_error(CA_ERR_INVALID, "%s: subject over %d bytes", what,
		    SIGNER_SUBJECT_MAX);
		goto out;
	}
	if (in->subject_len > 0) {
		p = in->subject_der;
		ERR_clear_error();
		if ((name = d2i_X509_NAME(NULL, &p, in->subject_len)) == NULL) {
			rc = ca_error_openssl(CA_ERR_INVALID, "%s: RFC 5280 "
			    "4.1.2.6: subject is not a DER Name", what);
			goto out;
		}
		if (p != in->subject_der + in->subject_len) {
			rc = ca_error(CA_ERR_INVALID, "%s: trailing bytes after "
			    "the subject", what);
			goto out;
		}
	} else {
		if ((name = X509_NAME_new()) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "%s: subject", what);
			goto out;
		}
		for (i = 0; i < len; i++) {
			if ((unsigned char)in->subject_cn[i] < 0x20 ||
			    in->subject_cn[i] == 0x7f) {
				rc = ca_error(CA_ERR_INVALID, "%s: commonName "
				    "has a control character", what);
				goto out;
			}
		}
		ERR_clear_error();
		if (len > 0 && !X509_NAME_add_entry_by_NID(name,
		    NID_commonName, MBSTRING_UTF8,
		    (const unsigned char *)in->subject_cn, (int)len, -1, 0)) {
			rc = ca_error_openssl(CA_ERR_INVALID, "%s: commonName "
			    "\"%s\" is not valid UTF-8 of at most 64 "
			    "characters", what, in->subject_cn);
			goto out;
		}
	}
	*out = name;
	name = NULL;
	rc = CA_OK;
 out:
	X509_NAME_free(name);
	return rc;
}

static int
serial_build(ASN1_INTEGER **out, const uint8_t serial[SIGNER_SERIAL_LEN],
    const char *what)
{
	BIGNUM *bn = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((bn = BN_bin2bn(serial, SIGNER_SERIAL_LEN, NULL)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: serial", what);
		goto out;
	}
	if (BN_is_zero(bn)) {
		rc = ca_error(CA_ERR_INVALID, "%s: RFC 5280 4.1.2.2: the serial "
		    "must be positive", what);
		goto out;
	}
	/* BN_bin2bn is unsigned: the INTEGER is positive. */
	if ((*out = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: serial", what);
		goto out;
	}
	rc = CA_OK;
 out:
	BN_free(bn);
	return rc;
}

/*
 * A SubjectPublicKeyInfo as plain ASN.1. OpenSSL 3.0's d2i_PUBKEY and
 * X509_set_pubkey go through the provider decoder and encoder (about 150
 * and 300 µs here); EC keys, the common case, are checked here directly
 * against the cached curve instead, and every key is copied into the
 * certificate as the algorithm and bits it came with.
 */
struct signer_spki {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *key;
};

ASN1_SEQUENCE(signer_spki) = {
	ASN1_SIMPLE(struct signer_spki, algor, X509_ALGOR),
	ASN1_SIMPLE(struct signer_spki, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(struct signer_spki, signer_spki)

static void
spki_free(struct signer_spki *k)
{
	ASN1_item_free((ASN1_VALUE *)k, ASN1_ITEM_rptr(signer_spki));
}

/*
 * key_check parses the intent's SubjectPublicKeyInfo (DER, nothing after
 * it) and applies the key policy: EC on P-256/P-384 with a point on the
 * curve, checked here; anything else through an EVP_PKEY and
 * profile_key_check. *out is the parsed structure, for key_set.
 */
static int
key_check(struct signer_spki **out, const struct signer *s,
    const struct leaf_profile *lp, const struct signer_intent *in,
    const char *what)
{
	struct signer_spki *k = NULL;
	EVP_PKEY *pk = NULL;
	EC_POINT *pt = NULL;
	const EC_GROUP *group;
	const ASN1_OBJECT *obj;
	const void *pval;
	const unsigned char *p = in->spki;
	int ptype, nid, rc = CA_ERR_INTERNAL;
	unsigned bit;

	*out = NULL;
	if (in->spki_len == 0 || in->spki_len > SIGNER_SPKI_MAX) {
		rc = ca_error(CA_ERR_INVALID, "%s: no public key", what);
		goto out;
	}
	ERR_clear_error();
	if ((k = (struct signer_spki *)ASN1_item_d2i(NULL, &p, in->spki_len,
	    ASN1_ITEM_rptr(signer_spki))) == NULL ||
	    p != in->spki + in->spki_len ||
	    (k->key->flags & 0x07) != 0) {
		rc = ca_error_openssl(CA_ERR_INVALID, "%s: RFC 5280 4.1.2.7: "
		    "not a DER SubjectPublicKeyInfo", what);
		goto out;
	}
	X509_ALGOR_get0(&obj, &ptype, &pval, k->algor);
	if (OBJ_obj2nid(obj) == NID_X9_62_id_ecPublicKey) {
		nid = ptype == V_ASN1_OBJECT ? OBJ_obj2nid(pval) : NID_undef;
		if (nid == NID_X9_62_prime256v1) {
			group = s->p256;
			bit = PROFILE_KEY_EC_P256;
		} else if (nid == NID_secp384r1) {
			group = s->p384;
			bit = PROFILE_KEY_EC_P384;
		} else {
			rc = ca_error(CA_ERR_POLICY, "%s: EC %s: only the curves "
			    "P-256 and P-384 are accepted", what,
			    nid == NID_undef ? "(unnamed curve)" :
			    OBJ_nid2sn(nid));
			goto out;
		}
		if ((pt = EC_POINT_new(group)) == NULL ||
		    EC_POINT_oct2point(group, pt, ASN1_STRING_get0_data(k->key),
		    (size_t)ASN1_STRING_length(k->key), NULL) != 1 ||
		    EC_POINT_is_at_infinity(group, pt)) {
			rc = ca_error_openssl(CA_ERR_INVALID, "%s: RFC 5480 2.2: "
			    "the EC public key is not a point on %s", what,
			    OBJ_nid2sn(nid));
			goto out;
		}
		if ((lp->key_types & bit) == 0) {
			rc = ca_error(CA_ERR_POLICY, "%s: EC %s: key type not "
			    "allowed by the profile's key_types", what,
			    bit == PROFILE_KEY_EC_P256 ? "P-256" : "P-384");
			goto out;
		}
	} else {
		p = in->spki;
		if ((pk = d2i_PUBKEY(NULL, &p, in->spki_len)) == NULL) {
			rc = ca_error_openssl(CA_ERR_INVALID, "%s: RFC 5280 "
			    "4.1.2.7: the public key cannot be decoded", what);
			goto out;
		}
		if ((rc = weak_key_check(pk, NULL, what)) != CA_OK ||
		    (rc = profile_key_check(pk, lp->key_types, what)) != CA_OK)
			goto out;
		/* RSA (rsaEncryption): its parameters are NULL. */
		if (ptype != V_ASN1_NULL) {
			rc = ca_error(CA_ERR_INVALID, "%s: RFC 3279 2.3.1: "
			    "rsaEncryption parameters must be NULL", what);
			goto out;
		}
	}
	*out = k;
	k = NULL;
	rc = CA_OK;
 out:
	EC_POINT_free(pt);
	EVP_PKEY_free(pk);
	spki_free(k);
	return rc;
}

/* key_set copies the checked key into the certificate, as it came. */
static int
key_set(X509 *x, const struct signer_spki *k, const char *what)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	ASN1_OBJECT *aobj = NULL, *param = NULL;
	unsigned char *bits = NULL;
	int ptype, len;

	X509_ALGOR_get0(&obj, &ptype, &pval, k->algor);
	len = ASN1_STRING_length(k->key);
	if ((aobj = OBJ_dup(obj)) == NULL ||
	    (ptype == V_ASN1_OBJECT && (param = OBJ_dup(pval)) == NULL) ||
	    (bits = OPENSSL_memdup(ASN1_STRING_get0_data(k->key),
	    (size_t)len)) == NULL)
		goto fail;
	if (!X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), aobj, ptype,
	    ptype == V_ASN1_OBJECT ? param : NULL, bits, len))
		goto fail;
	return CA_OK;
 fail:
	ASN1_OBJECT_free(aobj);
	ASN1_OBJECT_free(param);
	OPENSSL_free(bits);
	return ca_error_openssl(CA_ERR_NOMEM, "%s: cannot set the public key",
	    what);
}

static const struct signer_profile *
profile_find(const struct signer *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nprofiles; i++)
		if (strcmp(s->profiles[i].lp->name, name) == 0)
			return &s->profiles[i];
	return NULL;
}

/* --- signing and the check after it --------------------------------- */

struct sign_job {
	X509 *cert;
	const EVP_MD *md;
};

static int
sign_cb(EVP_PKEY *pkey, void *arg)
{
	struct sign_job *job = arg;
	EVP_MD_CTX *mctx;
	int ok = 0;

	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (EVP_DigestSignInit(mctx, NULL, job->md, NULL, pkey) == 1 &&
	    X509_sign_ctx(job->cert, mctx) > 0)
		ok = 1;
	EVP_MD_CTX_free(mctx);
	return ok;
}

/*
 * The certificate as RFC 5280 4.1 lays it out, for the parse back. It is
 * X509's own layout except that the key stays a signer_spki: d2i_X509
 * would run the key through OpenSSL 3.0's provider decoder (~150 µs), and
 * the check compares the key byte for byte anyway. The TBS keeps its
 * encoding, which is what the signature is verified over.
 */
struct signer_tbs {
	ASN1_ENCODING enc;
	ASN1_INTEGER *version;
	ASN1_INTEGER *serial;
	X509_ALGOR *sigalg;
	X509_NAME *issuer;
	X509_VAL *validity;
	X509_NAME *subject;
	struct signer_spki *spki;
	ASN1_BIT_STRING *issuer_uid;
	ASN1_BIT_STRING *subject_uid;
	STACK_OF(X509_EXTENSION) *exts;
};

/* ASN1_SEQUENCE_enc needs a type name for offsetof. */
typedef struct signer_tbs signer_tbs;

ASN1_SEQUENCE_enc(signer_tbs, enc, 0) = {
	ASN1_EXP_OPT(struct signer_tbs, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(struct signer_tbs, serial, ASN1_INTEGER),
	ASN1_SIMPLE(struct signer_tbs, sigalg, X509_ALGOR),
	ASN1_SIMPLE(struct signer_tbs, issuer, X509_NAME),
	ASN1_SIMPLE(struct signer_tbs, validity, X509_VAL),
	ASN1_SIMPLE(struct signer_tbs, subject, X509_NAME),
	ASN1_SIMPLE(struct signer_tbs, spki, signer_spki),
	ASN1_IMP_OPT(struct signer_tbs, issuer_uid, ASN1_BIT_STRING, 1),
	ASN1_IMP_OPT(struct signer_tbs, subject_uid, ASN1_BIT_STRING, 2),
	ASN1_EXP_SEQUENCE_OF_OPT(struct signer_tbs, exts, X509_EXTENSION, 3),
} static_ASN1_SEQUENCE_END_ref(struct signer_tbs, signer_tbs)

struct signer_cert {
	struct signer_tbs *tbs;
	X509_ALGOR *sigalg;
	ASN1_BIT_STRING *sig;
};

ASN1_SEQUENCE(signer_cert) = {
	ASN1_SIMPLE(struct signer_cert, tbs, signer_tbs),
	ASN1_SIMPLE(struct signer_cert, sigalg, X509_ALGOR),
	ASN1_SIMPLE(struct signer_cert, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END_name(struct signer_cert, signer_cert)

/* What the certificate was meant to be, for the check after signing. */
struct expect {
	const ASN1_INTEGER *serial;
	const X509_NAME *subject;
	time_t nb, na;
	const unsigned char *spki;
	int spki_len;
	const STACK_OF(X509_EXTENSION) *exts;	/* in the order added */
	const X509_ALGOR *sigalg;		/* as X509_sign_ctx set it */
	const EVP_MD *md;
	const struct signer_intent *in;
	int64_t max_lifetime;	/* the profile's, plus its backdate */
};

static int
check_exts(const STACK_OF(X509_EXTENSION) *got_exts, const struct expect *e,
    const char *what)
{
	X509_EXTENSION *got, *want;
	int i, n = sk_X509_EXTENSION_num(e->exts);

	if (sk_X509_EXTENSION_num(got_exts) != n)
		return ca_error(CA_ERR_INTERNAL, "%s: check after signing: %d "
		    "extensions, %d intended", what,
		    sk_X509_EXTENSION_num(got_exts), n);
	for (i = 0; i < n; i++) {
		got = sk_X509_EXTENSION_value(got_exts, i);
		want = sk_X509_EXTENSION_value(e->exts, i);
		if (OBJ_cmp(X509_EXTENSION_get_object(got),
		    X509_EXTENSION_get_object(want)) != 0 ||
		    X509_EXTENSION_get_critical(got) !=
		    X509_EXTENSION_get_critical(want) ||
		    ASN1_OCTET_STRING_cmp(X509_EXTENSION_get_data(got),
		    X509_EXTENSION_get_data(want)) != 0)
			return ca_error(CA_ERR_INTERNAL, "%s: check after "
			    "signing: extension %d (%s) is not as intended",
			    what, i, OBJ_nid2sn(OBJ_obj2nid(
			    X509_EXTENSION_get_object(got))));
	}
	return CA_OK;
}

/*
 * check_decoded decodes the extensions that matter on their own:
 * subjectAltName (the intent's names, by type and count),
 * basicConstraints (critical, CA:FALSE) and authorityKeyIdentifier (the
 * intermediate's key id).
 */
static int
check_decoded(const struct signer *s, const STACK_OF(X509_EXTENSION) *exts,
    const struct expect *e, const char *what)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *g;
	BASIC_CONSTRAINTS *bc = NULL;
	AUTHORITY_KEYID *akid = NULL;
	const ASN1_OCTET_STRING *iski;
	int i, n, crit, rc = CA_ERR_INTERNAL;
	static const int map[] = {
		[SIGNER_NAME_DNS] = GEN_DNS,
		[SIGNER_NAME_IP] = GEN_IPADD,
		[SIGNER_NAME_URI] = GEN_URI,
	};

	if ((gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL,
	    NULL)) == NULL) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: no "
		    "subjectAltName", what);
		goto out;
	}
	n = sk_GENERAL_NAME_num(gens);
	if (n < 0 || (uint32_t)n != e->in->nnames) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: %d "
		    "names, %u intended", what, n, (unsigned)e->in->nnames);
		goto out;
	}
	for (i = 0; i < n; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != map[e->in->names[i].type]) {
			rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: "
			    "name %d is not of the intended type", what, i);
			goto out;
		}
	}
	bc = X509V3_get_d2i(exts, NID_basic_constraints, &crit, NULL);
	if (bc == NULL || bc->ca || !crit) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: RFC "
		    "5280 4.2.1.9: basicConstraints is not critical,CA:FALSE",
		    what);
		goto out;
	}
	akid = X509V3_get_d2i(exts, NID_authority_key_identifier, &crit, NULL);
	iski = X509_get0_subject_key_id(s->inter);
	if (akid == NULL || akid->keyid == NULL || (iski != NULL &&
	    ASN1_OCTET_STRING_cmp(akid->keyid, iski) != 0)) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: RFC "
		    "5280 4.2.1.1: authorityKeyIdentifier does not match the "
		    "intermediate", what);
		goto out;
	}
	rc = CA_OK;
 out:
	GENERAL_NAMES_free(gens);
	BASIC_CONSTRAINTS_free(bc);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

/*
 * check_cert parses der afresh and checks it against e and the
 * intermediate. The certificate is never returned when this fails.
 */
static int
check_cert(const struct signer *s, const unsigned char *der, int len,
    const struct expect *e, const char *what)
{
	struct signer_cert *c = NULL;
	struct signer_tbs *t;
	const unsigned char *p = der;
	unsigned char *spki = NULL;
	EVP_MD_CTX *mctx = NULL;
	time_t nb, na;
	int spki_len, rc = CA_ERR_INTERNAL;

	ERR_clear_error();
	if ((c = (struct signer_cert *)ASN1_item_d2i(NULL, &p, len,
	    ASN1_ITEM_rptr(signer_cert))) == NULL || p != der + len) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: check after "
		    "signing: the DER does not parse back", what);
		goto out;
	}
	t = c->tbs;
	if (t->version == NULL || ASN1_INTEGER_get(t->version) !=
	    X509_VERSION_3 || t->issuer_uid != NULL || t->subject_uid != NULL) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: not a "
		    "plain v3 certificate", what);
		goto out;
	}
	if (ASN1_INTEGER_cmp(t->serial, e->serial) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: serial "
		    "differs", what);
		goto out;
	}
	if (X509_ALGOR_cmp(t->sigalg, c->sigalg) != 0 ||
	    X509_ALGOR_cmp(t->sigalg, e->sigalg) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: "
		    "signature algorithm differs", what);
		goto out;
	}
	if (X509_NAME_cmp(t->issuer, X509_get_subject_name(s->inter)) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: issuer "
		    "is not the intermediate's subject", what);
		goto out;
	}
	if (X509_NAME_cmp(t->subject, e->subject) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: "
		    "subject differs", what);
		goto out;
	}
	if (asn1_time_to_time_t(&nb, t->validity->notBefore) != 0 ||
	    asn1_time_to_time_t(&na, t->validity->notAfter) != 0 ||
	    nb != e->nb || na != e->na || na - nb > e->max_lifetime ||
	    na > s->inter_na) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: "
		    "validity is not as intended or not within the profile's "
		    "limit", what);
		goto out;
	}
	if ((spki_len = ASN1_item_i2d((ASN1_VALUE *)t->spki, &spki,
	    ASN1_ITEM_rptr(signer_spki))) <= 0 || spki_len != e->spki_len ||
	    memcmp(spki, e->spki, (size_t)spki_len) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: check after signing: public "
		    "key differs", what);
		goto out;
	}
	if ((rc = check_exts(t->exts, e, what)) != CA_OK ||
	    (rc = check_decoded(s, t->exts, e, what)) != CA_OK)
		goto out;
	/* The signature, over the TBS bytes as they are in the DER. */
	ERR_clear_error();
	if ((c->sig->flags & 0x07) != 0 || (mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(mctx, NULL, e->md, NULL, s->inter_pub) != 1 ||
	    EVP_DigestVerify(mctx, ASN1_STRING_get0_data(c->sig),
	    (size_t)ASN1_STRING_length(c->sig), t->enc.enc, (size_t)t->enc.len)
	    != 1) {
		rc = ca_error_openssl(CA_ERR_VERIFY, "%s: check after signing: "
		    "the signature does not verify with the intermediate's "
		    "public key", what);
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(spki);
	ASN1_item_free((ASN1_VALUE *)c, ASN1_ITEM_rptr(signer_cert));
	return rc;
}

static void
what_init(char *what, size_t len, const struct signer_intent *in)
{
	char hex[SIGNER_SERIAL_LEN * 2 + 1];
	size_t i;

	for (i = 0; i < SIGNER_SERIAL_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", in->serial[i]);
	snprintf(what, len, "serial %s [%.*s]", hex, SIGNER_PROFILE_LEN - 1,
	    in->profile);
}

static int
validity_choose(time_t *nb, time_t *na, const struct signer *s,
    const struct leaf_profile *lp, const struct signer_intent *in,
    const char *what)
{
	time_t now = s->now();
	int64_t life;

	if (now < s->inter_nb || now > s->inter_na)
		return ca_error(CA_ERR_EXPIRED, "%s: the intermediate "
		    "certificate is not valid now", what);
	if (in->not_before == 0)
		*nb = now - (time_t)lp->backdate;
	else if (in->not_before < now - lp->backdate - SIGNER_MAX_SKEW ||
	    in->not_before > now + SIGNER_MAX_SKEW)
		return ca_error(CA_ERR_INVALID, "%s: notBefore is more than %d "
		    "seconds away from now", what, SIGNER_MAX_SKEW);
	else
		*nb = (time_t)in->not_before;
	life = in->lifetime == 0 ? lp->default_lifetime : in->lifetime;
	if (life <= 0)
		return ca_error(CA_ERR_INVALID, "%s: lifetime %lld s: it must "
		    "be positive", what, (long long)life);
	if (life > lp->max_lifetime) {
		if (!lp->clamp)
			return ca_error(CA_ERR_POLICY, "%s: lifetime %lld s is "
			    "over the profile's max_lifetime %lld s", what,
			    (long long)life, (long long)lp->max_lifetime);
		life = lp->max_lifetime;
	}
	/*
	 * The lifetime runs from now (or from a later requested notBefore);
	 * the backdate only moves notBefore, for clocks that are behind.
	 */
	*na = (*nb > now ? *nb : now) + (time_t)life;
	if (*na > s->inter_na)
		return ca_error(CA_ERR_POLICY, "%s: a lifetime of %lld s would "
		    "outlive the intermediate certificate (notAfter in %lld "
		    "s); ask for a shorter one", what, (long long)life,
		    (long long)(s->inter_na - now));
	return CA_OK;
}

static int
add_ext(X509 *x, STACK_OF(X509_EXTENSION) *track, X509_EXTENSION *ext,
    const char *what)
{
	if (X509_add_ext(x, ext, -1) != 1 ||
	    !sk_X509_EXTENSION_push(track, ext))
		return ca_error_openssl(CA_ERR_NOMEM, "%s: cannot add an "
		    "extension", what);
	return CA_OK;
}

int
signer_issue(struct signer *s, uint8_t **der_out, size_t *der_len,
    const struct signer_intent *in)
{
	return signer_issue_info(s, der_out, der_len, NULL, in);
}

int
signer_issue_info(struct signer *s, uint8_t **der_out, size_t *der_len,
    struct signer_issued *info, const struct signer_intent *in)
{
	const struct signer_profile *sp;
	const struct leaf_profile *lp;
	char what[WHAT_LEN];
	struct signer_spki *spki_in = NULL;
	X509 *x = NULL;
	X509_NAME *subject = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_OCTET_STRING *ski = NULL;
	X509_EXTENSION *san = NULL, *skiext = NULL;
	const X509_EXTENSION *ext;
	ASN1_OBJECT *alg = NULL;
	STACK_OF(X509_EXTENSION) *track = NULL;
	unsigned char *der = NULL, *spki = NULL;
	uint8_t h[SKI_LEN];
	struct expect e;
	struct sign_job job;
	time_t nb = 0, na = 0;
	size_t i;
	int len, spki_len, rc = CA_ERR_INTERNAL;
	static const uint8_t zero[SIGNER_EVIDENCE_LEN];

	*der_out = NULL;
	*der_len = 0;
	what_init(what, sizeof(what), in);
	if (memchr(in->profile, '\0', sizeof(in->profile)) == NULL ||
	    (sp = profile_find(s, in->profile)) == NULL) {
		rc = ca_error(CA_ERR_NOT_FOUND, "%s: no such profile", what);
		goto out;
	}
	lp = sp->lp;
	if (memcmp(in->evidence, zero, sizeof(zero)) == 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: no evidence digest", what);
		goto out;
	}
	if ((rc = serial_build(&serial, in->serial, what)) != CA_OK)
		goto out;

	/* The key: DER, nothing after it, of a type the profile allows. */
	if ((rc = key_check(&spki_in, s, lp, in, what)) != CA_OK)
		goto out;

	if ((rc = subject_build(&subject, in, what)) != CA_OK)
		goto out;
	if ((rc = san_build(&san, in, X509_NAME_entry_count(subject) == 0,
	    what)) != CA_OK)
		goto out;
	if ((rc = validity_choose(&nb, &na, s, lp, in, what)) != CA_OK)
		goto out;
	if (info != NULL) {
		char *text;

		memset(info, 0, sizeof(*info));
		if ((text = profile_name_string(subject)) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "%s: subject", what);
			goto out;
		}
		if (strlen(text) >= sizeof(info->subject)) {
			free(text);
			rc = ca_error(CA_ERR_INVALID, "%s: the subject is over "
			    "%d characters as text", what,
			    SIGNER_SUBJECT_TEXT - 1);
			goto out;
		}
		memcpy(info->subject, text, strlen(text) + 1);
		free(text);
		info->not_before = (int64_t)nb;
		info->not_after = (int64_t)na;
	}

	/* The TBSCertificate. */
	rc = CA_ERR_NOMEM;
	if ((x = X509_new()) == NULL ||
	    (track = sk_X509_EXTENSION_new_null()) == NULL)
		goto nomem;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, serial) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(s->inter)) ||
	    !X509_set_subject_name(x, subject) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), na) == NULL)
		goto nomem;
	if ((rc = key_set(x, spki_in, what)) != CA_OK)
		goto out;
	/* What the key must look like in the certificate, for the check. */
	if ((spki_len = ASN1_item_i2d((ASN1_VALUE *)spki_in, &spki,
	    ASN1_ITEM_rptr(signer_spki))) <= 0)
		goto nomem;
	X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL,
	    X509_get_X509_PUBKEY(x));
	for (i = 0; i < (size_t)sk_X509_EXTENSION_num(lp->exts); i++) {
		/* keyUsage follows the key type (leaf_profile_key_ext). */
		if ((ext = leaf_profile_key_ext(lp, sk_X509_EXTENSION_value(
		    lp->exts, (int)i), OBJ_obj2nid(alg) ==
		    NID_rsaEncryption)) == NULL) {
			rc = ca_error(CA_ERR_POLICY, "%s: the profile's keyUsage "
			    "leaves nothing this key type may do (RFC 5480 3); "
			    "use another key type", what);
			goto out;
		}
		if ((rc = add_ext(x, track, (X509_EXTENSION *)ext, what)) !=
		    CA_OK)
			goto out;
	}
	if ((rc = add_ext(x, track, san, what)) != CA_OK)
		goto out;
	if ((rc = ski_compute(h, lp->ski == LEAF_SKI_SHA1 ? s->sha1 :
	    s->sha256, X509_get_X509_PUBKEY(x))) != CA_OK)
		goto out;
	rc = CA_ERR_NOMEM;
	if ((ski = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(ski, h, sizeof(h)) ||
	    (skiext = X509V3_EXT_i2d(NID_subject_key_identifier, 0,
	    ski)) == NULL)
		goto nomem;
	if ((rc = add_ext(x, track, skiext, what)) != CA_OK ||
	    (rc = add_ext(x, track, s->aki, what)) != CA_OK)
		goto out;

	if (s->hook != NULL)
		s->hook(x, s->hook_arg);

	/* Sign: the only use of the key. */
	job.cert = x;
	job.md = sp->md;
	if ((rc = s->sign(s->key, sign_cb, &job)) != CA_OK)
		goto out;
	ERR_clear_error();
	if ((len = i2d_X509(x, &der)) <= 0) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: cannot encode the "
		    "certificate", what);
		goto out;
	}

	/* Check what was signed against what was meant. */

	memset(&e, 0, sizeof(e));
	e.serial = serial;
	e.subject = subject;
	e.nb = nb;
	e.na = na;
	e.spki = spki;
	e.spki_len = spki_len;
	e.exts = track;
	e.sigalg = X509_get0_tbs_sigalg(x);
	e.md = sp->md;
	e.in = in;
	e.max_lifetime = lp->max_lifetime + lp->backdate;
	if ((rc = check_cert(s, der, len, &e, what)) != CA_OK)
		goto out;

	*der_out = der;
	*der_len = (size_t)len;
	der = NULL;
	rc = CA_OK;
	goto out;
 nomem:
	rc = ca_error_openssl(CA_ERR_NOMEM, "%s: cannot build the "
	    "certificate", what);
 out:
	OPENSSL_free(der);
	OPENSSL_free(spki);
	/* track holds borrowed pointers. */
	sk_X509_EXTENSION_free(track);
	X509_EXTENSION_free(san);
	X509_EXTENSION_free(skiext);
	ASN1_OCTET_STRING_free(ski);
	ASN1_INTEGER_free(serial);
	X509_NAME_free(subject);
	X509_free(x);
	spki_free(spki_in);
	return rc;
}

#ifdef SIGNER_TEST_HOOKS
void
signer_test_set_clock(struct signer *s, time_t (*now)(void))
{
	s->now = now != NULL ? now : clock_now;
}

void
signer_test_set_hook(struct signer *s, void (*hook)(X509 *, void *),
    void *arg)
{
	s->hook = hook;
	s->hook_arg = arg;
}
#endif
