/* SPDX-License-Identifier: ISC */
/*
 * step_keygen: generate the root key pair inside the token named by the
 * ceremony file's key URI, print the SHA-256 of its SubjectPublicKeyInfo
 * for the officers to write down, and write the public key as PEM. The hsm
 * layer refuses a label or id that is already on the token and checks that
 * the new private key is always-sensitive and never-extractable. The key is
 * then opened like any root key, so the step ends with a seal.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/profile.h"
#include "common/transcript.h"
#include "hsm/hsm.h"
#include "root-ceremony/ceremony.h"

static const char *const keygen_keys[] = { "public_key", NULL };

static int
pem_pubkey(char **out, size_t *out_len, EVP_PKEY *pk)
{
	BIO *bio = NULL;
	char *data;
	long n;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, pk) != 1 ||
	    (n = BIO_get_mem_data(bio, &data)) <= 0) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "public key: cannot "
		    "encode PEM");
		goto out;
	}
	if ((*out = malloc((size_t)n)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "public key: out of memory");
		goto out;
	}
	memcpy(*out, data, (size_t)n);
	*out_len = (size_t)n;
	rc = CA_OK;
 out:
	BIO_free(bio);
	return rc;
}

int
step_keygen(struct ceremony *c)
{
	const char *sect = ceremony_section(c, "keygen");
	enum hsm_key_type type;
	struct hsm_keygen_info info;
	EVP_PKEY *pub = NULL;
	char *pubpath = NULL, *pem = NULL;
	char spki[FILEIO_SHA256_HEX];
	size_t pemlen = 0;
	int rc = CA_ERR_INTERNAL, trc;

	if ((rc = ceremony_section_check(c, sect, keygen_keys)) != CA_OK ||
	    (rc = config_require_path(&pubpath, c->cfg, sect,
	    "public_key")) != CA_OK)
		goto out;
	if (c->key_type == NULL) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [ceremony] key_type: missing "
		    "(ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096)",
		    config_path(c->cfg));
		goto out;
	}
	if ((rc = hsm_key_type_parse(&type, c->key_type)) != CA_OK) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [ceremony] key_type: \"%s\" "
		    "is not one of ec-p256, ec-p384, rsa-2048, rsa-3072, "
		    "rsa-4096", config_path(c->cfg), c->key_type);
		goto out;
	}
	if ((rc = ceremony_output_absent(pubpath)) != CA_OK)
		goto out;
	if ((rc = transcript_entry_add(c->entry, "detail", "generate %s key %s",
	    hsm_key_type_name(type), c->key_uri)) != CA_OK)
		goto out;

	printf("\nPlan: generate a %s key pair inside the HSM\n",
	    hsm_key_type_name(type));
	printf("  module      %s\n", c->module);
	printf("  key         %s\n", c->key_uri);
	printf("  template    token, private, sensitive, not extractable, "
	    "sign only\n");
	printf("  public key  %s (PEM, must not exist)\n", pubpath);
	printf("  transcript  %s\n\n", c->transcript);
	if ((rc = ceremony_confirm(c)) != CA_OK)
		goto out;

	if ((rc = ceremony_hsm_open(c)) != CA_OK ||
	    (rc = ceremony_pin(c)) != CA_OK)
		goto out;
	rc = ceremony_hsm_rc(hsm_keygen_ex(&pub, &info, c->hsm, c->key_uri,
	    c->pin, type, c->rehearsal ? 0 : HSM_KEYGEN_PROBE_REQUIRED));
	if (info.token[0] != '\0' && (trc = transcript_entry_add(c->entry,
	    "token", "%s", info.token)) != CA_OK)
		rc = trc;
	if (info.dropped[0] != '\0') {
		printf("The module refused %s; the key was made without it\n",
		    info.dropped);
		if ((trc = transcript_entry_add(c->entry, "template",
		    "module refused %s; sent without it", info.dropped)) !=
		    CA_OK)
			rc = trc;
	}
	if (info.sensitive != -1 && (trc = transcript_entry_add(c->entry,
	    "attributes", "CKA_SENSITIVE %d CKA_EXTRACTABLE %d "
	    "CKA_ALWAYS_SENSITIVE %d CKA_NEVER_EXTRACTABLE %d",
	    info.sensitive, info.extractable, info.always_sensitive,
	    info.never_extractable)) != CA_OK)
		rc = trc;
	if (info.sensitive != -1 && (trc = ceremony_probe_record(c, info.probe,
	    info.probe_detail, info.hardware)) != CA_OK && rc == CA_OK)
		rc = trc;
	if (rc != CA_OK)
		goto out;
	if ((rc = profile_spki_hex(spki, pub)) != CA_OK)
		goto out;
	printf("\nGenerated a %s key pair: %s\n", hsm_key_type_name(type),
	    c->key_uri);
	ceremony_print_fingerprint("SPKI SHA-256 (write this down):", spki);
	printf("SPKI SHA-256 hex: %s\n\n", spki);

	/* Open the new key like any root key: checks, token, seal. */
	if ((rc = ceremony_key_open(c)) != CA_OK)
		goto out;
	if (strcmp(spki, c->key_spki) != 0) {
		rc = ca_error(CA_ERR_VERIFY, "%s: the key found by the URI is not "
		    "the key just generated", c->key_uri);
		goto out;
	}
	if ((rc = pem_pubkey(&pem, &pemlen, pub)) != CA_OK ||
	    (rc = ceremony_output_write(c, pubpath, pem, pemlen)) != CA_OK)
		goto out;
	rc = CA_OK;
 out:
	EVP_PKEY_free(pub);
	free(pubpath);
	free(pem);
	return rc;
}
