/* SPDX-License-Identifier: ISC */
/*
 * step_intermediate: sign an intermediate CA's PKCS#10 request that was made
 * elsewhere (by the issuer's HSM). The request's signature is verified, its
 * subject and SPKI SHA-256 are shown for the officers to compare, its key
 * must pass the key policy and the profile's key_types, and a requested
 * basicConstraints may not ask for more than the profile grants. The
 * certificate takes the request's subject and key and nothing else: its
 * extensions come from the profile, plus SKI and AKI. Its validity may not
 * reach past the root's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/profile.h"
#include "common/transcript.h"
#include "root-ceremony/ceremony.h"

static const char *const intermediate_keys[] = {
	"csr", "output", "days", "not_after", "not_before", "digest",
	"profile", "key_types", NULL
};

/* asn1_time_t converts an ASN1_TIME to time_t. */
static int
asn1_time_t(time_t *out, const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

int
step_intermediate(struct ceremony *c)
{
	const char *sect = ceremony_section(c, "intermediate");
	const char *profile_sect, *digest = NULL, *kt = NULL, *en, *ev;
	struct profile *p = NULL;
	X509_REQ *req = NULL;
	X509 *root = NULL, *x = NULL;
	ASN1_INTEGER *serial = NULL;
	const EVP_MD *md = NULL;
	EVP_PKEY *pk;
	uint8_t *buf = NULL;
	size_t len = 0, pemlen = 0, i;
	char *csrpath = NULL, *outpath = NULL, *subj = NULL, *serhex = NULL;
	char *pem = NULL, *rootsubj = NULL;
	char ref[128], what[160], spki[FILEIO_SHA256_HEX], desc[64];
	char t1[32], t2[32], t3[32];
	unsigned allowed = PROFILE_KEY_ALL;
	time_t nb, na, root_na, root_nb;
	int rc = CA_ERR_INTERNAL;

	/* The ceremony file first: configuration errors exit 2. */
	if ((rc = ceremony_section_check(c, sect, intermediate_keys)) !=
	    CA_OK ||
	    (rc = config_require_path(&csrpath, c->cfg, sect, "csr")) !=
	    CA_OK ||
	    (rc = config_require_path(&outpath, c->cfg, sect, "output")) !=
	    CA_OK ||
	    (rc = config_require_string(&profile_sect, c->cfg, sect,
	    "profile")) != CA_OK ||
	    (rc = config_get_string(&digest, c->cfg, sect, "digest",
	    NULL)) != CA_OK ||
	    (rc = config_get_string(&kt, c->cfg, sect, "key_types",
	    NULL)) != CA_OK ||
	    (rc = ceremony_validity(c, &nb, &na, sect)) != CA_OK)
		goto out;
	if (kt != NULL) {
		snprintf(what, sizeof(what), "%s: [%s] key_types",
		    config_path(c->cfg), sect);
		if ((rc = profile_key_types_parse(&allowed, kt, what)) !=
		    CA_OK) {
			if (rc != CA_ERR_NOMEM)
				rc = CA_ERR_CONFIG;
			goto out;
		}
	}
	if ((rc = ceremony_digest_check(c, sect, digest)) != CA_OK)
		goto out;
	snprintf(ref, sizeof(ref), "[%s] profile", sect);
	if ((rc = profile_load(&p, c->cfg, profile_sect, ref)) != CA_OK)
		goto out;
	if (!p->has_bc || !p->ca || !p->bc_critical) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] basicConstraints: an "
		    "intermediate profile must say critical, CA:TRUE",
		    config_path(c->cfg), profile_sect);
		goto out;
	}
	if (p->has_ku && (!p->ku_critical || !p->ku_cert_sign)) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] keyUsage: a CA profile "
		    "needs critical with keyCertSign", config_path(c->cfg),
		    profile_sect);
		goto out;
	}

	/* The inputs: the root certificate and the request. */
	if ((rc = ceremony_root_cert_read(c, &root)) != CA_OK)
		goto out;
	if ((rc = ceremony_output_absent(outpath)) != CA_OK)
		goto out;
	if ((rc = ceremony_input_read(c, &buf, &len, csrpath)) != CA_OK) {
		if (rc == CA_ERR_NOT_FOUND)
			ca_error(rc, "%s: the CSR file does not exist", csrpath);
		goto out;
	}
	if (len == 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: the CSR file is empty",
		    csrpath);
		goto out;
	}
	if ((rc = profile_req_read(&req, buf, len, csrpath)) != CA_OK ||
	    (rc = profile_csr_check(req, p, allowed, csrpath)) != CA_OK)
		goto out;
	pk = X509_REQ_get0_pubkey(req);
	if (X509_get0_pubkey(root) != NULL &&
	    EVP_PKEY_eq(pk, X509_get0_pubkey(root)) == 1) {
		rc = ca_error(CA_ERR_POLICY, "%s: the CSR's key is the root key "
		    "itself; an intermediate needs its own key", csrpath);
		goto out;
	}
	ERR_clear_error();
	if ((rc = profile_spki_hex(spki, pk)) != CA_OK)
		goto out;
	profile_key_describe(desc, sizeof(desc), pk);
	if ((subj = profile_name_string(X509_REQ_get_subject_name(req))) ==
	    NULL || (rootsubj = profile_name_string(
	    X509_get_subject_name(root))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "subject: out of memory");
		goto out;
	}
	if ((rc = transcript_entry_add(c->entry, "detail", "csr subject \"%s\" key "
	    "%s spki-sha256:%s", subj, desc, spki)) != CA_OK)
		goto out;

	/* The validity stays inside the root's. */
	if (asn1_time_t(&root_na, X509_get0_notAfter(root)) != 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: notAfter cannot be read",
		    c->root_cert);
		goto out;
	}
	if (asn1_time_t(&root_nb, X509_get0_notBefore(root)) != 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: notBefore cannot be read",
		    c->root_cert);
		goto out;
	}
	if (nb < root_nb) {
		rc = ca_error(CA_ERR_POLICY, "%s: RFC 5280 6.1: the intermediate "
		    "would be valid from %s, before the root's notBefore %s "
		    "(%s)", config_path(c->cfg), ceremony_time_string(t1, nb),
		    ceremony_time_string(t3, root_nb), c->root_cert);
		goto out;
	}
	if (na > root_na) {
		rc = ca_error(CA_ERR_POLICY, "%s: RFC 5280 6.1: the intermediate "
		    "would be valid until %s, past the root's notAfter %s (%s)",
		    config_path(c->cfg), ceremony_time_string(t2, na),
		    ceremony_time_string(t3, root_na), c->root_cert);
		goto out;
	}

	printf("\nPlan: sign the intermediate CA certificate with the root "
	    "key\n");
	printf("  key         %s\n", c->key_uri);
	printf("  issuer      %s (%s)\n", rootsubj, c->root_cert);
	printf("  request     %s\n", csrpath);
	printf("  subject     %s\n", subj);
	printf("  public key  %s\n", desc);
	ceremony_print_fingerprint("  SPKI SHA-256 (compare with the issuer's):",
	    spki);
	printf("  validity    %s to %s\n", ceremony_time_string(t1, nb),
	    ceremony_time_string(t2, na));
	printf("  serial      128 random bits, positive\n");
	printf("  profile     [%s]\n", profile_sect);
	for (i = 0; i < config_section_count(c->cfg, profile_sect); i++)
		if (config_section_item(&en, &ev, c->cfg, profile_sect, i) == 0)
			printf("              %s = %s\n", en, ev);
	printf("              subjectKeyIdentifier = hash\n");
	printf("              authorityKeyIdentifier = keyid (the root's)\n");
	printf("  output      %s (must not exist)\n\n", outpath);
	if ((rc = ceremony_confirm(c)) != CA_OK)
		goto out;

	if ((rc = ceremony_key_open(c)) != CA_OK ||
	    (rc = ceremony_key_matches_cert(c, root, c->root_cert)) != CA_OK ||
	    (rc = profile_digest(&md, c->key_pub, digest, sect)) != CA_OK ||
	    (rc = profile_serial_random(&serial)) != CA_OK)
		goto out;
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 ||
	    X509_set_subject_name(x, X509_REQ_get_subject_name(req)) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(root)) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na) == NULL ||
	    X509_set_pubkey(x, pk) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "intermediate "
		    "certificate");
		goto out;
	}
	if ((rc = profile_apply(p, c->cfg, x, root)) != CA_OK ||
	    (rc = profile_ca_complete(x, root, 0, "intermediate "
	    "certificate")) != CA_OK)
		goto out;
	if ((rc = ceremony_sign_cert(c, x, md)) != CA_OK ||
	    (rc = profile_cert_verify(x, c->key_pub, "intermediate "
	    "certificate")) != CA_OK)
		goto out;
	if ((serhex = ceremony_serial_hex(X509_get0_serialNumber(x))) == NULL) {
		rc = ca_error_openssl(CA_ERR_NOMEM, "serial");
		goto out;
	}
	if ((rc = ceremony_pem_cert(&pem, &pemlen, x)) != CA_OK ||
	    (rc = ceremony_output_write(c, outpath, pem, pemlen)) != CA_OK)
		goto out;
	if ((rc = transcript_entry_add(c->entry, "detail", "serial %s subject "
	    "\"%s\" not-before %s not-after %s profile %s", serhex, subj, t1,
	    t2, profile_sect)) != CA_OK)
		goto out;
	printf("Intermediate certificate serial %s, subject %s\n", serhex,
	    subj);
	rc = CA_OK;
 out:
	profile_free(p);
	X509_REQ_free(req);
	X509_free(root);
	X509_free(x);
	ASN1_INTEGER_free(serial);
	free(buf);
	free(csrpath);
	free(outpath);
	free(subj);
	free(rootsubj);
	OPENSSL_free(serhex);
	free(pem);
	return rc;
}
