/* SPDX-License-Identifier: ISC */
/*
 * step_root: the self-signed root certificate. Subject and validity come
 * from the [root] section, extra extensions from the section it names; the
 * step always writes basicConstraints critical,CA:TRUE, keyUsage critical,
 * keyCertSign,cRLSign and a subjectKeyIdentifier, and refuses extensions
 * that contradict them. The serial is 128 random bits, positive. The
 * signature is made in the HSM and verified with the public key before the
 * certificate is written.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/profile.h"
#include "common/transcript.h"
#include "root-ceremony/ceremony.h"

static const char *const root_keys[] = {
	"subject", "days", "not_after", "not_before", "digest", "extensions",
	NULL
};

/* root_ext_check refuses extensions that contradict what root writes. */
static int
root_ext_check(const struct ceremony *c, const struct profile *p)
{
	if (p->has_bc && (!p->ca || !p->bc_critical))
		return ca_error(CA_ERR_CONFIG, "%s: [%s] basicConstraints: the "
		    "root certificate is always critical,CA:TRUE",
		    config_path(c->cfg), p->section);
	if (p->has_bc && p->pathlen >= 0)
		return ca_error(CA_ERR_CONFIG, "%s: [%s] basicConstraints: no "
		    "pathlen on the root certificate", config_path(c->cfg),
		    p->section);
	if (p->has_ku && (!p->ku_critical || !p->ku_cert_sign ||
	    !p->ku_crl_sign))
		return ca_error(CA_ERR_CONFIG, "%s: [%s] keyUsage: the root "
		    "certificate always has critical,keyCertSign,cRLSign",
		    config_path(c->cfg), p->section);
	if (p->has_aki)
		return ca_error(CA_ERR_CONFIG, "%s: [%s] "
		    "authorityKeyIdentifier: not on a self-signed root",
		    config_path(c->cfg), p->section);
	return CA_OK;
}

int
step_root(struct ceremony *c)
{
	const char *sect = ceremony_section(c, "root");
	const char *subject_sect, *ext_sect = NULL, *digest = NULL;
	struct profile *p = NULL;
	X509_NAME *name = NULL;
	X509 *x = NULL;
	ASN1_INTEGER *serial = NULL;
	const EVP_MD *md = NULL;
	char *subj = NULL, *serhex = NULL, *pem = NULL;
	char ref[128], t1[32], t2[32];
	time_t nb, na;
	size_t pemlen = 0, i;
	const char *en, *ev;
	enum hsm_wrap_probe probe;
	char pdetail[256];
	int rc = CA_ERR_INTERNAL, hw;

	if ((rc = ceremony_section_check(c, sect, root_keys)) != CA_OK ||
	    (rc = config_require_string(&subject_sect, c->cfg, sect,
	    "subject")) != CA_OK ||
	    (rc = config_get_string(&ext_sect, c->cfg, sect, "extensions",
	    NULL)) != CA_OK ||
	    (rc = config_get_string(&digest, c->cfg, sect, "digest",
	    NULL)) != CA_OK ||
	    (rc = ceremony_validity(c, &nb, &na, sect)) != CA_OK ||
	    (rc = ceremony_digest_check(c, sect, digest)) != CA_OK)
		goto out;
	if (c->root_cert == NULL) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [ceremony] root_cert: missing",
		    config_path(c->cfg));
		goto out;
	}
	snprintf(ref, sizeof(ref), "[%s] subject", sect);
	if ((rc = profile_name_from_section(&name, c->cfg, subject_sect,
	    ref)) != CA_OK)
		goto out;
	if (ext_sect != NULL) {
		snprintf(ref, sizeof(ref), "[%s] extensions", sect);
		if ((rc = profile_load(&p, c->cfg, ext_sect, ref)) != CA_OK ||
		    (rc = root_ext_check(c, p)) != CA_OK)
			goto out;
	}
	if ((rc = ceremony_output_absent(c->root_cert)) != CA_OK)
		goto out;
	if ((subj = profile_name_string(name)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "subject: out of memory");
		goto out;
	}

	printf("\nPlan: self-sign the root certificate with the HSM key\n");
	printf("  key         %s\n", c->key_uri);
	printf("  subject     %s\n", subj);
	printf("  validity    %s to %s\n", ceremony_time_string(t1, nb),
	    ceremony_time_string(t2, na));
	printf("  serial      128 random bits, positive\n");
	printf("  extensions  basicConstraints = critical, CA:TRUE\n");
	printf("              keyUsage = critical, keyCertSign, cRLSign\n");
	printf("              subjectKeyIdentifier = hash\n");
	for (i = 0; ext_sect != NULL &&
	    i < config_section_count(c->cfg, ext_sect); i++)
		if (config_section_item(&en, &ev, c->cfg, ext_sect, i) == 0)
			printf("              %s = %s\n", en, ev);
	printf("  output      %s (must not exist)\n\n", c->root_cert);
	if ((rc = ceremony_confirm(c)) != CA_OK)
		goto out;

	if ((rc = ceremony_key_open(c)) != CA_OK ||
	    (rc = ceremony_hsm_rc(hsm_key_probe(c->key, &probe, &hw, pdetail,
	    sizeof(pdetail)))) != CA_OK ||
	    (rc = ceremony_probe_record(c, probe, pdetail, hw)) != CA_OK ||
	    (rc = profile_digest(&md, c->key_pub, digest, sect)) != CA_OK ||
	    (rc = profile_serial_random(&serial)) != CA_OK)
		goto out;
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na) == NULL ||
	    X509_set_pubkey(x, c->key_pub) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "root certificate");
		goto out;
	}
	if ((p != NULL && (rc = profile_apply(p, c->cfg, x, x)) != CA_OK) ||
	    (rc = profile_ca_complete(x, x, 1, "root certificate")) != CA_OK)
		goto out;
	if ((rc = ceremony_sign_cert(c, x, md)) != CA_OK ||
	    (rc = profile_cert_verify(x, c->key_pub, "root certificate")) !=
	    CA_OK)
		goto out;
	if ((serhex = ceremony_serial_hex(X509_get0_serialNumber(x))) == NULL) {
		rc = ca_error_openssl(CA_ERR_NOMEM, "serial");
		goto out;
	}
	if ((rc = ceremony_pem_cert(&pem, &pemlen, x)) != CA_OK ||
	    (rc = ceremony_output_write(c, c->root_cert, pem, pemlen)) != CA_OK)
		goto out;
	if ((rc = transcript_entry_add(c->entry, "detail", "serial %s subject "
	    "\"%s\" not-before %s not-after %s", serhex, subj, t1, t2)) !=
	    CA_OK)
		goto out;
	printf("Root certificate serial %s, subject %s\n", serhex, subj);
	rc = CA_OK;
 out:
	profile_free(p);
	X509_NAME_free(name);
	X509_free(x);
	ASN1_INTEGER_free(serial);
	free(subj);
	OPENSSL_free(serhex);
	free(pem);
	return rc;
}
