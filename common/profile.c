/* SPDX-License-Identifier: ISC */
/*
 * profile: certificate building blocks shared by the ceremony and the
 * issuer. Extension sections are written exactly as in openssl.cnf and are
 * parsed by OpenSSL's own X509V3 code, entry by entry, so an error names
 * the section and the extension that is wrong. The policy that no
 * configuration can weaken lives here too: which keys may be certified
 * (RSA >= 2048 bits, EC on P-256/P-384), which digests sign, what a CA
 * certificate must assert (RFC 5280 4.2.1.3, 4.2.1.9), and what a CSR may
 * ask for (never more than the profile grants). Serials are 128 random bits
 * and positive (RFC 5280 4.1.2.2 allows up to 20 octets).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/general_name.h"
#include "common/profile.h"
#include "common/weak_key.h"

/* keyUsage bit numbers (RFC 5280 4.2.1.3). */
#define KU_BIT_KEY_CERT_SIGN	5
#define KU_BIT_CRL_SIGN		6

/* A profile section with more extensions than this is refused. */
#define PROFILE_MAX_EXTENSIONS	64

void
profile_free(struct profile *p)
{
	if (p == NULL)
		return;
	free(p->section);
	free(p);
}

/* ext_nid returns the NID of ext (NID_undef for an unknown OID). */
static int
ext_nid(const X509_EXTENSION *ext)
{
	return OBJ_obj2nid(X509_EXTENSION_get_object(
	    (X509_EXTENSION *)ext));
}

static int
profile_record(struct profile *p, const struct config *c,
    const X509_EXTENSION *ext, const char *name)
{
	BASIC_CONSTRAINTS *bc = NULL;
	ASN1_BIT_STRING *ku = NULL;
	int crit = X509_EXTENSION_get_critical(ext);
	int rc = CA_ERR_INTERNAL;

	switch (ext_nid(ext)) {
	case NID_basic_constraints:
		if ((bc = X509V3_EXT_d2i((X509_EXTENSION *)ext)) == NULL) {
			rc = ca_error_openssl(CA_ERR_CONFIG, "%s: [%s] %s: "
			    "cannot decode", config_path(c), p->section, name);
			goto out;
		}
		p->has_bc = 1;
		p->bc_critical = crit;
		p->ca = bc->ca != 0;
		p->pathlen = -1;
		if (bc->pathlen != NULL) {
			if (!p->ca) {
				rc = ca_error(CA_ERR_CONFIG, "%s: [%s] %s: RFC "
				    "5280 4.2.1.9: pathlen without CA:TRUE",
				    config_path(c), p->section, name);
				goto out;
			}
			p->pathlen = ASN1_INTEGER_get(bc->pathlen);
			if (p->pathlen < 0 || p->pathlen > 64) {
				rc = ca_error(CA_ERR_CONFIG, "%s: [%s] %s: "
				    "pathlen out of range (0 to 64)",
				    config_path(c), p->section, name);
				goto out;
			}
		}
		break;
	case NID_key_usage:
		if ((ku = X509V3_EXT_d2i((X509_EXTENSION *)ext)) == NULL) {
			rc = ca_error_openssl(CA_ERR_CONFIG, "%s: [%s] %s: "
			    "cannot decode", config_path(c), p->section, name);
			goto out;
		}
		p->has_ku = 1;
		p->ku_critical = crit;
		p->ku_cert_sign = ASN1_BIT_STRING_get_bit(ku,
		    KU_BIT_KEY_CERT_SIGN);
		p->ku_crl_sign = ASN1_BIT_STRING_get_bit(ku, KU_BIT_CRL_SIGN);
		break;
	case NID_subject_key_identifier:
		p->has_ski = 1;
		break;
	case NID_authority_key_identifier:
		p->has_aki = 1;
		break;
	default:
		break;
	}
	rc = CA_OK;
 out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	return rc;
}

int
profile_load(struct profile **out, const struct config *c,
    const char *section, const char *referer)
{
	struct profile *p = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *ext = NULL;
	const char *name, *value;
	int nids[PROFILE_MAX_EXTENSIONS];
	char what[512];
	size_t i, j, n;
	int nid, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((rc = config_require_section(c, section, referer)) != CA_OK)
		goto out;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->section = strdup(section)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "[%s]: out of memory", section);
		goto out;
	}
	p->pathlen = -1;
	n = config_section_count(c, section);
	if (n > PROFILE_MAX_EXTENSIONS) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s]: more than %d extensions",
		    config_path(c), section, PROFILE_MAX_EXTENSIONS);
		goto out;
	}
	/* A test context: parse and check values without a certificate. */
	memset(&ctx, 0, sizeof(ctx));
	X509V3_set_ctx(&ctx, NULL, NULL, NULL, NULL, X509V3_CTX_TEST);
	X509V3_set_nconf(&ctx, config_conf(c));
	for (i = 0; i < n; i++) {
		if (config_section_item(&name, &value, c, section, i) != 0)
			goto out;
		ERR_clear_error();
		ext = X509V3_EXT_nconf(config_conf(c), &ctx, name, value);
		if (ext == NULL) {
			rc = ca_error_openssl(CA_ERR_CONFIG, "%s: [%s] %s: not a "
			    "valid extension (openssl.cnf x509v3_config syntax)",
			    config_path(c), section, name);
			goto out;
		}
		nid = ext_nid(ext);
		for (j = 0; j < i && nid != NID_undef; j++) {
			if (nids[j] == nid) {
				rc = ca_error(CA_ERR_CONFIG, "%s: [%s] %s: RFC "
				    "5280 4.2: extension given twice",
				    config_path(c), section, name);
				goto out;
			}
		}
		nids[i] = nid;
		snprintf(what, sizeof(what), "%s: [%s] %s", config_path(c),
		    section, name);
		if (general_name_ext_check(ext, what) != CA_OK) {
			rc = ca_error(CA_ERR_CONFIG, "%s", ca_error_detail());
			goto out;
		}
		if ((rc = profile_record(p, c, ext, name)) != CA_OK)
			goto out;
		X509_EXTENSION_free(ext);
		ext = NULL;
	}
	p->nexts = n;
	*out = p;
	p = NULL;
	rc = CA_OK;
 out:
	X509_EXTENSION_free(ext);
	profile_free(p);
	return rc;
}

int
profile_apply(const struct profile *p, const struct config *c, X509 *cert,
    X509 *issuer)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext = NULL;
	const char *name, *value;
	size_t i, n;
	int rc = CA_ERR_INTERNAL;

	memset(&ctx, 0, sizeof(ctx));
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509V3_set_nconf(&ctx, config_conf(c));
	n = config_section_count(c, p->section);
	for (i = 0; i < n; i++) {
		if (config_section_item(&name, &value, c, p->section, i) != 0)
			goto out;
		ERR_clear_error();
		ext = X509V3_EXT_nconf(config_conf(c), &ctx, name, value);
		if (ext == NULL) {
			rc = ca_error_openssl(CA_ERR_CONFIG, "%s: [%s] %s: cannot "
			    "build extension", config_path(c), p->section, name);
			goto out;
		}
		if (X509_get_ext_by_OBJ(cert, X509_EXTENSION_get_object(ext),
		    -1) >= 0) {
			rc = ca_error(CA_ERR_CONFIG, "%s: [%s] %s: RFC 5280 4.2: "
			    "the certificate already has this extension",
			    config_path(c), p->section, name);
			goto out;
		}
		if (X509_add_ext(cert, ext, -1) != 1) {
			rc = ca_error_openssl(CA_ERR_INTERNAL, "[%s] %s: cannot "
			    "add extension", p->section, name);
			goto out;
		}
		X509_EXTENSION_free(ext);
		ext = NULL;
	}
	rc = CA_OK;
 out:
	X509_EXTENSION_free(ext);
	return rc;
}

int
profile_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext = NULL;
	int rc = CA_ERR_INTERNAL;

	memset(&ctx, 0, sizeof(ctx));
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ERR_clear_error();
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s = %s: cannot build "
		    "extension", OBJ_nid2ln(nid), value);
		goto out;
	}
	if (X509_get_ext_by_NID(cert, nid, -1) >= 0) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: extension already present",
		    OBJ_nid2ln(nid));
		goto out;
	}
	if (X509_add_ext(cert, ext, -1) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: cannot add "
		    "extension", OBJ_nid2ln(nid));
		goto out;
	}
	rc = CA_OK;
 out:
	X509_EXTENSION_free(ext);
	return rc;
}

int
profile_ca_complete(X509 *cert, X509 *issuer, int require_crl_sign,
    const char *what)
{
	BASIC_CONSTRAINTS *bc = NULL;
	ASN1_BIT_STRING *ku = NULL;
	void *ski = NULL, *aki = NULL;
	int crit, rc = CA_ERR_INTERNAL;

	bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
	if (bc == NULL && crit != -1) {
		rc = ca_error(CA_ERR_POLICY, "%s: RFC 5280 4.2.1.9: "
		    "basicConstraints is duplicated or cannot be decoded", what);
		goto out;
	}
	if (bc == NULL) {
		if ((rc = profile_add_ext(cert, issuer, NID_basic_constraints,
		    "critical,CA:TRUE")) != CA_OK)
			goto out;
	} else if (!bc->ca || !crit) {
		rc = ca_error(CA_ERR_POLICY, "%s: RFC 5280 4.2.1.9: a CA "
		    "certificate needs basicConstraints critical,CA:TRUE", what);
		goto out;
	}

	ku = X509_get_ext_d2i(cert, NID_key_usage, &crit, NULL);
	if (ku == NULL && crit != -1) {
		rc = ca_error(CA_ERR_POLICY, "%s: RFC 5280 4.2.1.3: keyUsage "
		    "is duplicated or cannot be decoded", what);
		goto out;
	}
	if (ku == NULL) {
		if ((rc = profile_add_ext(cert, issuer, NID_key_usage,
		    "critical,keyCertSign,cRLSign")) != CA_OK)
			goto out;
	} else if (!crit || !ASN1_BIT_STRING_get_bit(ku,
	    KU_BIT_KEY_CERT_SIGN) || (require_crl_sign &&
	    !ASN1_BIT_STRING_get_bit(ku, KU_BIT_CRL_SIGN))) {
		rc = ca_error(CA_ERR_POLICY, "%s: RFC 5280 4.2.1.3: a CA "
		    "certificate needs keyUsage critical with keyCertSign%s",
		    what, require_crl_sign ? " and cRLSign" : "");
		goto out;
	}

	ski = X509_get_ext_d2i(cert, NID_subject_key_identifier, &crit, NULL);
	if (ski == NULL && crit != -1) {
		rc = ca_error(CA_ERR_POLICY, "%s: RFC 5280 4.2.1.2: "
		    "subjectKeyIdentifier is duplicated or cannot be decoded",
		    what);
		goto out;
	}
	if (ski == NULL && (rc = profile_add_ext(cert, issuer,
	    NID_subject_key_identifier, "hash")) != CA_OK)
		goto out;

	if (issuer != NULL && issuer != cert) {
		aki = X509_get_ext_d2i(cert, NID_authority_key_identifier,
		    &crit, NULL);
		if (aki == NULL && crit != -1) {
			rc = ca_error(CA_ERR_POLICY, "%s: RFC 5280 4.2.1.1: "
			    "authorityKeyIdentifier is duplicated or cannot be "
			    "decoded", what);
			goto out;
		}
		if (aki == NULL && (rc = profile_add_ext(cert, issuer,
		    NID_authority_key_identifier, "keyid:always")) != CA_OK)
			goto out;
	}
	rc = CA_OK;
 out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(aki);
	return rc;
}

int
profile_serial_random(ASN1_INTEGER **out)
{
	uint8_t b[PROFILE_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	do {
		if (RAND_bytes(b, sizeof(b)) != 1) {
			rc = ca_error_openssl(CA_ERR_INTERNAL, "serial: "
			    "random bytes");
			goto out;
		}
		BN_free(bn);
		if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL) {
			rc = ca_error_openssl(CA_ERR_NOMEM, "serial");
			goto out;
		}
	} while (BN_is_zero(bn));
	/* BN_bin2bn is unsigned: the INTEGER is positive (RFC 5280 4.1.2.2). */
	if ((*out = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		rc = ca_error_openssl(CA_ERR_NOMEM, "serial");
		goto out;
	}
	rc = CA_OK;
 out:
	OPENSSL_cleanse(b, sizeof(b));
	BN_free(bn);
	return rc;
}

int
profile_spki_sha256(uint8_t out[FILEIO_SHA256_LEN], const EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	int len, rc;

	if ((len = i2d_PUBKEY(pk, &der)) <= 0)
		return ca_error_openssl(CA_ERR_INVALID, "public key: cannot "
		    "encode SubjectPublicKeyInfo");
	rc = fileio_sha256_buf(out, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

int
profile_spki_hex(char out[FILEIO_SHA256_HEX], const EVP_PKEY *pk)
{
	uint8_t h[FILEIO_SHA256_LEN];
	int rc;

	out[0] = '\0';
	if ((rc = profile_spki_sha256(h, pk)) != CA_OK)
		return rc;
	fileio_hex(out, h, sizeof(h));
	return CA_OK;
}

/* ec_curve_nid returns the NID of pk's named curve, or NID_undef. */
static int
ec_curve_nid(const EVP_PKEY *pk)
{
	char name[80];
	size_t len = 0;
	int nid;

	if (EVP_PKEY_get_group_name(pk, name, sizeof(name), &len) != 1) {
		ERR_clear_error();
		return NID_undef;
	}
	if ((nid = OBJ_sn2nid(name)) == NID_undef &&
	    (nid = OBJ_ln2nid(name)) == NID_undef)
		nid = EC_curve_nist2nid(name);
	return nid;
}

const char *
profile_key_describe(char *buf, size_t len, const EVP_PKEY *pk)
{
	int nid;

	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		snprintf(buf, len, "RSA %d", EVP_PKEY_get_bits(pk));
		break;
	case EVP_PKEY_EC:
		nid = ec_curve_nid(pk);
		if (nid == NID_X9_62_prime256v1)
			snprintf(buf, len, "EC P-256");
		else if (nid == NID_secp384r1)
			snprintf(buf, len, "EC P-384");
		else if (nid != NID_undef)
			snprintf(buf, len, "EC %s", OBJ_nid2sn(nid));
		else
			snprintf(buf, len, "EC (unnamed curve)");
		break;
	default:
		snprintf(buf, len, "%s", OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
		break;
	}
	return buf;
}

static const struct {
	const char *name;
	unsigned bit;
} key_type_names[] = {
	{ "ec-p256", PROFILE_KEY_EC_P256 },
	{ "ec-p384", PROFILE_KEY_EC_P384 },
	{ "rsa-2048", PROFILE_KEY_RSA_2048 },
	{ "rsa-3072", PROFILE_KEY_RSA_3072 },
	{ "rsa-4096", PROFILE_KEY_RSA_4096 },
};

int
profile_key_types_parse(unsigned *out, const char *list, const char *what)
{
	char word[32];
	const char *p = list, *start;
	size_t i, n;
	unsigned mask = 0;

	*out = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		n = (size_t)(p - start);
		if (n >= sizeof(word))
			n = sizeof(word) - 1;
		memcpy(word, start, n);
		word[n] = '\0';
		for (i = 0; i < sizeof(key_type_names) /
		    sizeof(key_type_names[0]); i++)
			if (strcmp(word, key_type_names[i].name) == 0)
				break;
		if (i == sizeof(key_type_names) / sizeof(key_type_names[0]))
			return ca_error(CA_ERR_CONFIG, "%s: unknown key type "
			    "\"%s\" (ec-p256 ec-p384 rsa-2048 rsa-3072 "
			    "rsa-4096)", what, word);
		mask |= key_type_names[i].bit;
	}
	if (mask == 0)
		return ca_error(CA_ERR_CONFIG, "%s: empty list of key types",
		    what);
	*out = mask;
	return CA_OK;
}

int
profile_key_check(const EVP_PKEY *pk, unsigned allowed, const char *what)
{
	char desc[64];
	unsigned bit;
	int bits, nid;

	profile_key_describe(desc, sizeof(desc), pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pk);
		if (bits < PROFILE_RSA_MIN_BITS)
			return ca_error(CA_ERR_POLICY, "%s: %s: RSA keys under "
			    "%d bits are refused", what, desc,
			    PROFILE_RSA_MIN_BITS);
		if (bits > PROFILE_RSA_MAX_BITS)
			return ca_error(CA_ERR_POLICY, "%s: %s: RSA keys over "
			    "%d bits are refused", what, desc,
			    PROFILE_RSA_MAX_BITS);
		bit = bits == 2048 ? PROFILE_KEY_RSA_2048 :
		    bits == 3072 ? PROFILE_KEY_RSA_3072 :
		    bits == 4096 ? PROFILE_KEY_RSA_4096 : PROFILE_KEY_RSA_OTHER;
		break;
	case EVP_PKEY_EC:
		nid = ec_curve_nid(pk);
		if (nid == NID_X9_62_prime256v1)
			bit = PROFILE_KEY_EC_P256;
		else if (nid == NID_secp384r1)
			bit = PROFILE_KEY_EC_P384;
		else
			return ca_error(CA_ERR_POLICY, "%s: %s: only the curves "
			    "P-256 and P-384 are accepted", what, desc);
		break;
	default:
		return ca_error(CA_ERR_POLICY, "%s: %s: key type not accepted "
		    "(RSA >= %d bits, EC P-256, EC P-384)", what, desc,
		    PROFILE_RSA_MIN_BITS);
	}
	if ((allowed & bit) == 0)
		return ca_error(CA_ERR_POLICY, "%s: %s: key type not allowed by "
		    "the profile's key_types", what, desc);
	return CA_OK;
}

int
profile_digest(const EVP_MD **out, const EVP_PKEY *pk, const char *name,
    const char *what)
{
	*out = NULL;
	if (name == NULL) {
		if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
		    ec_curve_nid(pk) == NID_secp384r1)
			*out = EVP_sha384();
		else
			*out = EVP_sha256();
	} else if (strcmp(name, "sha256") == 0) {
		*out = EVP_sha256();
	} else if (strcmp(name, "sha384") == 0) {
		*out = EVP_sha384();
	} else if (strcmp(name, "sha512") == 0) {
		*out = EVP_sha512();
	} else {
		return ca_error(CA_ERR_POLICY, "%s: digest \"%s\" is not "
		    "allowed (sha256, sha384, sha512)", what, name);
	}
	return CA_OK;
}

int
profile_name_from_section(X509_NAME **out, const struct config *c,
    const char *section, const char *referer)
{
	X509_NAME *name = NULL;
	const char *key, *value, *field, *dot;
	size_t i, n;
	int nid, set, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((rc = config_require_section(c, section, referer)) != CA_OK)
		goto out;
	if ((name = X509_NAME_new()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "[%s]: out of memory", section);
		goto out;
	}
	n = config_section_count(c, section);
	for (i = 0; i < n; i++) {
		if (config_section_item(&key, &value, c, section, i) != 0)
			goto out;
		field = key;
		set = 0;
		if (*field == '+') {
			/* Same RDN as the previous attribute (openssl req). */
			if (i == 0) {
				rc = ca_error(CA_ERR_CONFIG, "%s: [%s] %s: \"+\" "
				    "on the first attribute", config_path(c),
				    section, key);
				goto out;
			}
			field++;
			set = -1;
		}
		/* "1.OU" lets a section repeat an attribute; "2.5.4.3" is an OID. */
		if ((dot = strchr(field, '.')) != NULL && dot != field &&
		    strspn(field, "0123456789") == (size_t)(dot - field) &&
		    isalpha((unsigned char)dot[1]))
			field = dot + 1;
		if ((nid = OBJ_txt2nid(field)) == NID_undef) {
			rc = ca_error(CA_ERR_CONFIG, "%s: [%s] %s: unknown "
			    "attribute type", config_path(c), section, key);
			goto out;
		}
		if (*value == '\0') {
			rc = ca_error(CA_ERR_CONFIG, "%s: [%s] %s: empty value",
			    config_path(c), section, key);
			goto out;
		}
		ERR_clear_error();
		if (!X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
		    (const unsigned char *)value, -1, -1, set)) {
			rc = ca_error_openssl(CA_ERR_CONFIG, "%s: [%s] %s: "
			    "invalid value \"%s\"", config_path(c), section,
			    key, value);
			goto out;
		}
	}
	if (X509_NAME_entry_count(name) == 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s]: RFC 5280 4.1.2.6: a CA "
		    "needs a non-empty subject", config_path(c), section);
		goto out;
	}
	*out = name;
	name = NULL;
	rc = CA_OK;
 out:
	X509_NAME_free(name);
	return rc;
}

char *
profile_name_string(const X509_NAME *name)
{
	BIO *bio = NULL;
	char *s = NULL, *data;
	long len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len < 0)
		goto out;
	if ((s = malloc((size_t)len + 1)) == NULL)
		goto out;
	/* An empty name prints nothing, and data may then be NULL. */
	if (len > 0)
		memcpy(s, data, (size_t)len);
	s[len] = '\0';
 out:
	BIO_free(bio);
	return s;
}

int
profile_csr_check(X509_REQ *req, const struct profile *p, unsigned allowed,
    const char *name)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	BASIC_CONSTRAINTS *bc = NULL;
	EVP_PKEY *pk;
	long pathlen;
	int crit, rc = CA_ERR_INTERNAL;

	ERR_clear_error();
	if ((pk = X509_REQ_get0_pubkey(req)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INVALID, "%s: RFC 2986: the CSR's "
		    "public key cannot be decoded", name);
		goto out;
	}
	/* The key is checked before its signature means anything. */
	if ((rc = weak_key_check(pk, NULL, name)) != CA_OK ||
	    (rc = profile_key_check(pk, allowed, name)) != CA_OK)
		goto out;
	if (X509_REQ_verify(req, pk) != 1) {
		rc = ca_error_openssl(CA_ERR_VERIFY, "%s: RFC 2986 4.2: CSR "
		    "signature does not verify", name);
		goto out;
	}
	if (X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: RFC 5280 4.1.2.6: the CSR's "
		    "subject is empty", name);
		goto out;
	}
	if (X509_REQ_get_attr_by_NID(req, NID_ext_req, -1) >= 0 ||
	    X509_REQ_get_attr_by_NID(req, NID_ms_ext_req, -1) >= 0) {
		if ((exts = X509_REQ_get_extensions(req)) == NULL) {
			rc = ca_error_openssl(CA_ERR_INVALID, "%s: RFC 2985 "
			    "5.4.2: extensionRequest cannot be decoded", name);
			goto out;
		}
	}
	bc = exts != NULL ? X509V3_get_d2i(exts, NID_basic_constraints, &crit,
	    NULL) : NULL;
	if (exts != NULL && bc == NULL && crit != -1) {
		rc = ca_error(CA_ERR_INVALID, "%s: requested basicConstraints "
		    "is duplicated or cannot be decoded", name);
		goto out;
	}
	if (bc != NULL && bc->ca) {
		if (!p->ca) {
			rc = ca_error(CA_ERR_POLICY, "%s: the CSR requests "
			    "CA:TRUE but profile [%s] is not a CA profile",
			    name, p->section);
			goto out;
		}
		if (p->pathlen >= 0 && bc->pathlen == NULL) {
			rc = ca_error(CA_ERR_POLICY, "%s: the CSR requests "
			    "CA:TRUE without a path length limit but profile "
			    "[%s] allows pathlen:%ld at most", name, p->section,
			    p->pathlen);
			goto out;
		}
		if (p->pathlen >= 0) {
			pathlen = ASN1_INTEGER_get(bc->pathlen);
			if (pathlen < 0 || pathlen > p->pathlen) {
				rc = ca_error(CA_ERR_POLICY, "%s: the CSR "
				    "requests pathlen:%ld but profile [%s] "
				    "allows pathlen:%ld at most", name, pathlen,
				    p->section, p->pathlen);
				goto out;
			}
		}
	}
	rc = CA_OK;
 out:
	BASIC_CONSTRAINTS_free(bc);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
profile_cert_verify(X509 *cert, EVP_PKEY *pub, const char *what)
{
	ERR_clear_error();
	if (X509_verify(cert, pub) != 1)
		return ca_error_openssl(CA_ERR_VERIFY, "%s: the certificate's "
		    "signature does not verify with the issuer's public key",
		    what);
	return CA_OK;
}

static int
is_pem(const uint8_t *buf, size_t len)
{
	static const char tag[] = "-----BEGIN ";
	size_t i;

	/* Allow leading text (openssl's "Certificate:" dumps, comments). */
	for (i = 0; i + sizeof(tag) - 1 <= len; i++)
		if (memcmp(buf + i, tag, sizeof(tag) - 1) == 0)
			return 1;
	return 0;
}

/*
 * der_or_pem_read decodes one object of type it from buf, which holds
 * either DER or one PEM block labelled pem_label. Trailing bytes after the
 * DER and a second PEM block are errors. what and rfc name the object and
 * its specification in messages.
 */
static int
der_or_pem_read(ASN1_VALUE **out, const uint8_t *buf, size_t len,
    const char *name, const ASN1_ITEM *it, const char *pem_label,
    const char *what, const char *rfc)
{
	ASN1_VALUE *v = NULL;
	unsigned char *pem_der = NULL, *extra = NULL;
	const unsigned char *der = buf, *p;
	long der_len = (long)len, extra_len = 0;
	BIO *bio = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	ERR_clear_error();
	if (len > INT32_MAX) {
		rc = ca_error(CA_ERR_INVALID, "%s: too large", name);
		goto out;
	}
	if (is_pem(buf, len)) {
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
			rc = ca_error_openssl(CA_ERR_NOMEM, "%s", name);
			goto out;
		}
		if (!PEM_bytes_read_bio(&pem_der, &der_len, NULL, pem_label,
		    bio, NULL, NULL)) {
			rc = ca_error_openssl(CA_ERR_INVALID, "%s: RFC 7468: not "
			    "a PEM %s", name, pem_label);
			goto out;
		}
		if (PEM_bytes_read_bio(&extra, &extra_len, NULL, pem_label, bio,
		    NULL, NULL)) {
			rc = ca_error(CA_ERR_INVALID, "%s: more than one %s in "
			    "the file", name, what);
			goto out;
		}
		ERR_clear_error();
		der = pem_der;
	}
	p = der;
	if ((v = ASN1_item_d2i(NULL, &p, der_len, it)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INVALID, "%s: %s: not a DER %s",
		    name, rfc, what);
		goto out;
	}
	if (p != der + der_len) {
		rc = ca_error(CA_ERR_INVALID, "%s: trailing bytes after the %s",
		    name, what);
		goto out;
	}
	*out = v;
	v = NULL;
	rc = CA_OK;
 out:
	ASN1_item_free(v, it);
	BIO_free(bio);
	OPENSSL_free(pem_der);
	OPENSSL_free(extra);
	return rc;
}

int
profile_req_read(X509_REQ **out, const uint8_t *buf, size_t len,
    const char *name)
{
	return der_or_pem_read((ASN1_VALUE **)out, buf, len, name,
	    ASN1_ITEM_rptr(X509_REQ), PEM_STRING_X509_REQ, "CSR",
	    "RFC 2986");
}

int
profile_cert_read(X509 **out, const uint8_t *buf, size_t len, const char *name)
{
	return der_or_pem_read((ASN1_VALUE **)out, buf, len, name,
	    ASN1_ITEM_rptr(X509), PEM_STRING_X509, "certificate", "RFC 5280");
}

int
profile_certs_read(STACK_OF(X509) *sk, const char *path, int max)
{
	uint8_t *buf = NULL;
	size_t len;
	BIO *b = NULL;
	X509 *x;
	int n = 0, rc;

	if ((rc = fileio_read(&buf, &len, path, FILEIO_MAX_SMALL)) != CA_OK)
		return rc;
	rc = CA_ERR_CONFIG;
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(sk) >= max || !sk_X509_push(sk, x)) {
			X509_free(x);
			rc = ca_error(CA_ERR_CONFIG, "%s: more than %d "
			    "certificates", path, max);
			goto out;
		}
		n++;
	}
	ERR_clear_error();
	if (n == 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s: no PEM certificate", path);
		goto out;
	}
	rc = CA_OK;
 out:
	BIO_free(b);
	free(buf);
	return rc;
}
