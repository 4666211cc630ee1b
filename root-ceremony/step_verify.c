/* SPDX-License-Identifier: ISC */
/*
 * step_verify: an auditor's offline check of a transcript. Every record's
 * hash and link, every seal against the root certificate's public key, and
 * every recorded output that is still present against its SHA-256 (a
 * missing one is reported, not failed). Records after the last seal fail
 * unless --allow-unsealed. It needs neither the token nor a PIN, and it
 * writes nothing, not even a transcript record, so that checking a
 * transcript never changes it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/profile.h"
#include "common/transcript.h"
#include "root-ceremony/ceremony.h"

int
step_verify(struct ceremony *c)
{
	struct transcript_report rep;
	struct config *cfg = NULL;
	X509 *root = NULL;
	EVP_PKEY *pub;
	uint8_t *buf = NULL;
	size_t len = 0, i;
	char *tpath = NULL, *rpath = NULL, *subj = NULL;
	char spki[FILEIO_SHA256_HEX];
	int status = CEREMONY_EXIT_FAILED, rc;

	memset(&rep, 0, sizeof(rep));
	if (c->verify_transcript == NULL || c->verify_root == NULL) {
		if ((rc = config_load(&cfg, c->config_path != NULL ?
		    c->config_path : CEREMONY_DEFAULT_CONFIG)) != CA_OK ||
		    (rc = config_require_section(cfg, "ceremony", NULL)) !=
		    CA_OK ||
		    (c->verify_transcript == NULL && (rc = config_require_path(
		    &tpath, cfg, "ceremony", "transcript")) != CA_OK) ||
		    (c->verify_root == NULL && (rc = config_require_path(
		    &rpath, cfg, "ceremony", "root_cert")) != CA_OK)) {
			log_err("verify: %s", ca_error_detail());
			status = CEREMONY_EXIT_USAGE;
			goto out;
		}
	}
	if (tpath == NULL && (tpath = strdup(c->verify_transcript)) == NULL)
		goto nomem;
	if (rpath == NULL && (rpath = strdup(c->verify_root)) == NULL)
		goto nomem;

	if ((rc = fileio_read(&buf, &len, rpath, FILEIO_MAX_SMALL)) != CA_OK ||
	    (rc = profile_cert_read(&root, buf, len, rpath)) != CA_OK) {
		log_err("verify: %s", ca_error_detail());
		goto out;
	}
	if ((pub = X509_get0_pubkey(root)) == NULL ||
	    profile_spki_hex(spki, pub) != CA_OK) {
		log_err("verify: %s: the public key cannot be decoded", rpath);
		goto out;
	}
	subj = profile_name_string(X509_get_subject_name(root));
	printf("Transcript   %s\n", tpath);
	printf("Root         %s (%s)\n", rpath, subj != NULL ? subj : "?");
	ceremony_print_fingerprint("Root SPKI SHA-256:", spki);

	rc = transcript_verify(&rep, tpath, pub, c->allow_unsealed ?
	    TRANSCRIPT_ALLOW_UNSEALED : 0);
	printf("Records      %zu, %zu seal(s) verified, the last seal is record "
	    "%lu\n", rep.records, rep.seals, rep.sealed_through);
	if (rep.last_hash[0] != '\0')
		printf("Last record  %zu, hash %s\n"
		    "             (compare with the paper log: a transcript cut "
		    "after an earlier seal\n"
		    "             verifies as a shorter one)\n", rep.records,
		    rep.last_hash);
	printf("Outputs      %zu recorded, %zu present and unchanged, %zu "
	    "missing\n", rep.outputs, rep.outputs_ok, rep.nmissing);
	for (i = 0; i < rep.nmissing; i++)
		printf("  missing (not failed): %s\n", rep.missing[i]);
	if (rc != CA_OK) {
		log_err("verify: FAILED: %s", ca_error_detail());
		goto out;
	}
	if (rep.unsealed > 0)
		printf("Unsealed     %zu record(s) after the last seal "
		    "(accepted: --allow-unsealed)\n", rep.unsealed);
	printf("verify: OK: the chain is intact, every seal verifies with the "
	    "root key, every present output matches\n");
	status = CEREMONY_EXIT_OK;
	goto out;
 nomem:
	log_err("verify: out of memory");
 out:
	transcript_report_clear(&rep);
	config_free(cfg);
	X509_free(root);
	free(buf);
	free(tpath);
	free(rpath);
	free(subj);
	return status;
}
