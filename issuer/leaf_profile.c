/* SPDX-License-Identifier: ISC */
/*
 * leaf_profile: compiles a leaf certificate profile (an NCONF section with
 * lifetimes, key types, digest and the name of an openssl.cnf-syntax
 * extension section) into X509_EXTENSION objects once, at startup, so the
 * signer never parses extension strings per certificate. The extension
 * section is first checked by common/profile.c's profile_load (the same
 * parser the ceremony uses), then built without a certificate context, so
 * a value that would need one ("issuer:copy", "keyid", "hash") is refused
 * here rather than filled in with something unexpected. The per
 * certificate extensions (SAN, SKI, AKI) belong to the signer, and a leaf
 * profile can never make a CA (RFC 5280 4.2.1.3, 4.2.1.9).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/profile.h"
#include "issuer/leaf_profile.h"

static const char *const profile_keys[] = {
	"max_lifetime", "default_lifetime", "lifetime_over_max", "backdate",
	"key_types", "digest", "ski", "extensions", NULL
};

void
leaf_profile_free(struct leaf_profile *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->ext_section);
	free(p->digest);
	sk_X509_EXTENSION_pop_free(p->exts, X509_EXTENSION_free);
	X509_EXTENSION_free(p->ku_rsa);
	X509_EXTENSION_free(p->ku_ec);
	free(p);
}

static int
ext_nid(X509_EXTENSION *ext)
{
	return OBJ_obj2nid(X509_EXTENSION_get_object(ext));
}

/* refused_reason: why a leaf profile may not set nid itself, or NULL. */
static const char *
refused_reason(int nid)
{
	switch (nid) {
	case NID_subject_alt_name:
		return "RFC 5280 4.2.1.6: subjectAltName comes from the "
		    "issuance request, not the profile";
	case NID_subject_key_identifier:
		return "RFC 5280 4.2.1.2: the signer computes "
		    "subjectKeyIdentifier from the key (see \"ski\")";
	case NID_authority_key_identifier:
		return "RFC 5280 4.2.1.1: the signer sets "
		    "authorityKeyIdentifier from the intermediate";
	case NID_name_constraints:
	case NID_policy_constraints:
	case NID_policy_mappings:
	case NID_inhibit_any_policy:
		return "RFC 5280 4.2.1: a CA-only extension in a leaf profile";
	default:
		return NULL;
	}
}

/*
 * compile_exts builds the extension objects of p->ext_section, after
 * profile_load has checked the section, and adds basicConstraints
 * critical,CA:FALSE first when the section has none.
 */
static int
compile_exts(struct leaf_profile *p, const struct config *c)
{
	struct profile *chk = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *ext = NULL;
	const char *name, *value, *why;
	char referer[256];
	size_t i, n;
	int rc = CA_ERR_INTERNAL;

	snprintf(referer, sizeof(referer), "[%s] extensions", p->name);
	if ((rc = profile_load(&chk, c, p->ext_section, referer)) != CA_OK)
		goto out;
	if (chk->has_bc && (chk->ca || !chk->bc_critical)) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] basicConstraints: RFC "
		    "5280 4.2.1.9: a leaf profile needs critical,CA:FALSE",
		    config_path(c), p->ext_section);
		goto out;
	}
	if (chk->has_ku && (chk->ku_cert_sign || chk->ku_crl_sign)) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] keyUsage: RFC 5280 "
		    "4.2.1.3: keyCertSign and cRLSign are for CA certificates",
		    config_path(c), p->ext_section);
		goto out;
	}
	if ((p->exts = sk_X509_EXTENSION_new_null()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "[%s]: out of memory",
		    p->ext_section);
		goto out;
	}
	if (!chk->has_bc) {
		ERR_clear_error();
		if ((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
		    "critical,CA:FALSE")) == NULL) {
			rc = ca_error_openssl(CA_ERR_INTERNAL, "[%s]: cannot "
			    "build basicConstraints", p->ext_section);
			goto out;
		}
		if (!sk_X509_EXTENSION_push(p->exts, ext)) {
			rc = ca_error(CA_ERR_NOMEM, "[%s]: out of memory",
			    p->ext_section);
			goto out;
		}
		ext = NULL;
	}
	/* No certificates and no test flag: context-dependent values fail. */
	memset(&ctx, 0, sizeof(ctx));
	X509V3_set_ctx(&ctx, NULL, NULL, NULL, NULL, 0);
	X509V3_set_nconf(&ctx, config_conf(c));
	n = config_section_count(c, p->ext_section);
	for (i = 0; i < n; i++) {
		if (config_section_item(&name, &value, c, p->ext_section,
		    i) != 0)
			goto out;
		/* By name first, so "keyid" or "hash" get the real reason. */
		if ((why = refused_reason(OBJ_txt2nid(name))) != NULL) {
			rc = ca_error(CA_ERR_CONFIG, "%s: [%s] %s: %s",
			    config_path(c), p->ext_section, name, why);
			goto out;
		}
		ERR_clear_error();
		ext = X509V3_EXT_nconf(config_conf(c), &ctx, name, value);
		if (ext == NULL) {
			rc = ca_error_openssl(CA_ERR_CONFIG, "%s: [%s] %s: cannot "
			    "be built without a certificate context (a leaf "
			    "profile may not use copy, hash or keyid values)",
			    config_path(c), p->ext_section, name);
			goto out;
		}
		if ((why = refused_reason(ext_nid(ext))) != NULL) {
			rc = ca_error(CA_ERR_CONFIG, "%s: [%s] %s: %s",
			    config_path(c), p->ext_section, name, why);
			goto out;
		}
		if (!sk_X509_EXTENSION_push(p->exts, ext)) {
			rc = ca_error(CA_ERR_NOMEM, "[%s]: out of memory",
			    p->ext_section);
			goto out;
		}
		ext = NULL;
	}
	rc = CA_OK;
 out:
	X509_EXTENSION_free(ext);
	profile_free(chk);
	return rc;
}

/* KeyUsage bits (RFC 5280 4.2.1.3). */
#define KU_DIGITAL_SIGNATURE_BIT	0
#define KU_KEY_ENCIPHERMENT_BIT		2
#define KU_DATA_ENCIPHERMENT_BIT	3
#define KU_KEY_AGREEMENT_BIT		4

/*
 * ku_variant makes *out, the keyUsage ext with the bits in set added and
 * those in clear removed, or leaves it NULL when that changes nothing.
 * *empty is set when no bit would be left.
 */
static int
ku_variant(X509_EXTENSION **out, int *empty, const X509_EXTENSION *ext,
    const ASN1_BIT_STRING *ku, const int *set, size_t nset,
    const int *clear, size_t nclear)
{
	ASN1_BIT_STRING *v = NULL;
	size_t i;
	int rc = CA_ERR_NOMEM;

	*out = NULL;
	*empty = 0;
	if ((v = ASN1_STRING_dup(ku)) == NULL)
		goto out;
	for (i = 0; i < nset; i++)
		if (!ASN1_BIT_STRING_set_bit(v, set[i], 1))
			goto out;
	for (i = 0; i < nclear; i++)
		if (!ASN1_BIT_STRING_set_bit(v, clear[i], 0))
			goto out;
	rc = CA_OK;
	if (ASN1_STRING_cmp(v, ku) == 0)
		goto out;
	if (ASN1_STRING_length(v) == 0) {
		*empty = 1;
		goto out;
	}
	if ((*out = X509V3_EXT_i2d(NID_key_usage,
	    X509_EXTENSION_get_critical(ext), v)) == NULL)
		rc = CA_ERR_NOMEM;
 out:
	ASN1_BIT_STRING_free(v);
	return rc;
}

/*
 * ku_variants makes the keyUsage this profile gives each key type, since a
 * usage is only right for some keys (issue 15): RFC 5480 3 forbids
 * keyEncipherment and dataEncipherment on an EC key; an RSA key in a TLS
 * server certificate needs keyEncipherment beside digitalSignature (TLS
 * 1.2 RSA key exchange; NSS refuses the certificate without it, error
 * -8102), and cannot do keyAgreement (RFC 3279 2.3.1). A profile without
 * keyUsage is left alone.
 */
static int
ku_variants(struct leaf_profile *p)
{
	static const int rsa_clear[] = { KU_KEY_AGREEMENT_BIT },
	    ec_clear[] = { KU_KEY_ENCIPHERMENT_BIT, KU_DATA_ENCIPHERMENT_BIT };
	static const int rsa_set[] = { KU_KEY_ENCIPHERMENT_BIT };
	const X509_EXTENSION *ext = NULL, *e;
	ASN1_BIT_STRING *ku = NULL;
	EXTENDED_KEY_USAGE *eku;
	int i, j, server = 1, rc = CA_ERR_INTERNAL;

	for (i = 0; i < sk_X509_EXTENSION_num(p->exts); i++) {
		e = sk_X509_EXTENSION_value(p->exts, i);
		if (ext_nid((X509_EXTENSION *)e) == NID_key_usage)
			ext = e;
		if (ext_nid((X509_EXTENSION *)e) != NID_ext_key_usage ||
		    (eku = X509V3_EXT_d2i((X509_EXTENSION *)e)) == NULL)
			continue;
		server = 0;
		for (j = 0; j < sk_ASN1_OBJECT_num(eku); j++)
			if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, j)) ==
			    NID_server_auth)
				server = 1;
		EXTENDED_KEY_USAGE_free(eku);
	}
	rc = CA_OK;
	if (ext == NULL || (ku = X509V3_EXT_d2i((X509_EXTENSION *)ext)) ==
	    NULL)
		goto out;
	/* keyEncipherment only where the key signs for a TLS server. */
	if ((rc = ku_variant(&p->ku_rsa, &p->ku_rsa_empty, ext, ku, rsa_set,
	    server && ASN1_BIT_STRING_get_bit(ku, KU_DIGITAL_SIGNATURE_BIT) ?
	    1 : 0, rsa_clear, 1)) != CA_OK ||
	    (rc = ku_variant(&p->ku_ec, &p->ku_ec_empty, ext, ku, NULL, 0,
	    ec_clear, 2)) != CA_OK)
		rc = ca_error(rc, "[%s] keyUsage: out of memory",
		    p->ext_section);
 out:
	ASN1_BIT_STRING_free(ku);
	return rc;
}

int
leaf_profile_key_usable(const struct leaf_profile *p, int rsa)
{
	return rsa ? !p->ku_rsa_empty : !p->ku_ec_empty;
}

const X509_EXTENSION *
leaf_profile_key_ext(const struct leaf_profile *p, const X509_EXTENSION *ext,
    int rsa)
{
	if (ext_nid((X509_EXTENSION *)ext) != NID_key_usage)
		return ext;
	if (rsa)
		return p->ku_rsa_empty ? NULL : p->ku_rsa != NULL ?
		    p->ku_rsa : ext;
	return p->ku_ec_empty ? NULL : p->ku_ec != NULL ? p->ku_ec : ext;
}

static int
dup_str(char **out, const char *s, const char *section)
{
	if ((*out = strdup(s)) == NULL)
		return ca_error(CA_ERR_NOMEM, "[%s]: out of memory", section);
	return CA_OK;
}

int
leaf_profile_load(struct leaf_profile **out, const struct config *c,
    const char *section)
{
	struct leaf_profile *p = NULL;
	const EVP_MD *md;
	const char *v;
	char what[256];
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((rc = config_require_section(c, section, NULL)) != CA_OK)
		goto out;
	if ((rc = config_check_keys(c, section, profile_keys)) != CA_OK)
		goto out;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "[%s]: out of memory", section);
		goto out;
	}
	if ((rc = dup_str(&p->name, section, section)) != CA_OK)
		goto out;

	if ((rc = config_require_string(&v, c, section, "max_lifetime")) !=
	    CA_OK)
		goto out;
	snprintf(what, sizeof(what), "%s: [%s] max_lifetime", config_path(c),
	    section);
	if ((rc = config_duration_parse(&p->max_lifetime, v, 1,
	    LEAF_PROFILE_MAX_LIFETIME, what)) != CA_OK)
		goto out;

	if ((rc = config_get_string(&v, c, section, "default_lifetime",
	    NULL)) != CA_OK)
		goto out;
	p->default_lifetime = p->max_lifetime;
	if (v != NULL) {
		snprintf(what, sizeof(what), "%s: [%s] default_lifetime",
		    config_path(c), section);
		if ((rc = config_duration_parse(&p->default_lifetime, v, 1,
		    p->max_lifetime, what)) != CA_OK)
			goto out;
	}

	if ((rc = config_get_string(&v, c, section, "lifetime_over_max",
	    "refuse")) != CA_OK)
		goto out;
	if (strcmp(v, "clamp") == 0)
		p->clamp = 1;
	else if (strcmp(v, "refuse") != 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] lifetime_over_max: "
		    "\"%s\" is neither refuse nor clamp", config_path(c),
		    section, v);
		goto out;
	}

	if ((rc = config_get_string(&v, c, section, "backdate", "0")) != CA_OK)
		goto out;
	snprintf(what, sizeof(what), "%s: [%s] backdate", config_path(c),
	    section);
	if ((rc = config_duration_parse(&p->backdate, v, 0,
	    LEAF_PROFILE_MAX_BACKDATE, what)) != CA_OK)
		goto out;

	if ((rc = config_get_string(&v, c, section, "key_types",
	    "ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096")) != CA_OK)
		goto out;
	snprintf(what, sizeof(what), "%s: [%s] key_types", config_path(c),
	    section);
	if ((rc = profile_key_types_parse(&p->key_types, v, what)) != CA_OK)
		goto out;

	if ((rc = config_get_string(&v, c, section, "digest", NULL)) != CA_OK)
		goto out;
	if (v != NULL) {
		/* Checked against a key when the signer takes the profile. */
		snprintf(what, sizeof(what), "%s: [%s] digest", config_path(c),
		    section);
		if ((rc = profile_digest(&md, NULL, v, what)) != CA_OK) {
			rc = CA_ERR_CONFIG;
			goto out;
		}
		if ((rc = dup_str(&p->digest, v, section)) != CA_OK)
			goto out;
	}

	if ((rc = config_get_string(&v, c, section, "ski", "sha1")) != CA_OK)
		goto out;
	if (strcmp(v, "sha1") == 0)
		p->ski = LEAF_SKI_SHA1;
	else if (strcmp(v, "sha256") == 0)
		p->ski = LEAF_SKI_SHA256_160;
	else {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] ski: \"%s\" is neither "
		    "sha1 (RFC 5280 4.2.1.2) nor sha256 (RFC 7093)",
		    config_path(c), section, v);
		goto out;
	}

	if ((rc = config_require_string(&v, c, section, "extensions")) !=
	    CA_OK)
		goto out;
	if ((rc = dup_str(&p->ext_section, v, section)) != CA_OK)
		goto out;
	if ((rc = compile_exts(p, c)) != CA_OK ||
	    (rc = ku_variants(p)) != CA_OK)
		goto out;

	*out = p;
	p = NULL;
	rc = CA_OK;
 out:
	leaf_profile_free(p);
	return rc;
}
