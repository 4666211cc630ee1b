/* SPDX-License-Identifier: ISC */
/*
 * ceremony: the frame around every step of carapace-ceremony. It loads the
 * ceremony file and its [ceremony] section, starts the step's transcript
 * record, applies the refusals common to every step (a network interface
 * that is up, an output that exists), asks the officers to confirm, opens
 * the root key, writes outputs only when the step has succeeded, appends the
 * record with its outcome and seals the transcript with the root key when
 * the step could open it. See ceremony.h and docs/ceremony-file.md.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/module_config.h"
#include "common/profile.h"
#include "common/secure.h"
#include "common/transcript.h"
#include "hsm/hsm.h"
#include "root-ceremony/ceremony.h"
#include "root-ceremony/pin_prompt.h"

/* The longest validity, in days, a step accepts (100 years). */
#define CEREMONY_MAX_DAYS	36500

static const char *const ceremony_keys[] = {
	MODULE_CONFIG_KEYS, "key_type", "transcript", "root_cert",
	"rehearsal", NULL
};

struct step_def {
	const char *name;
	int (*fn)(struct ceremony *);
};

static const struct step_def steps[] = {
	{ "inventory", step_inventory },
	{ "keygen", step_keygen },
	{ "root", step_root },
	{ "intermediate", step_intermediate },
	{ "crl", step_crl },
	{ NULL, NULL }
};

int
ceremony_exit_status(int rc)
{
	switch (rc) {
	case CA_OK:
		return CEREMONY_EXIT_OK;
	case CA_ERR_USAGE:
	case CA_ERR_CONFIG:
		return CEREMONY_EXIT_USAGE;
	case CA_ERR_CANCELLED:
		return CEREMONY_EXIT_CANCELLED;
	default:
		return CEREMONY_EXIT_FAILED;
	}
}

const char *
ceremony_section(const struct ceremony *c, const char *def)
{
	return c->section != NULL ? c->section : def;
}

int
ceremony_section_check(const struct ceremony *c, const char *section,
    const char *const *allowed)
{
	int rc;

	if ((rc = config_require_section(c->cfg, section, NULL)) != CA_OK)
		return rc;
	return config_check_keys(c->cfg, section, allowed);
}

const char *
ceremony_time_string(char buf[32], time_t t)
{
	return log_time_str(buf, 32, t);
}

void
ceremony_print_fingerprint(const char *label, const char *hex)
{
	size_t i;

	printf("%s", label);
	for (i = 0; hex[i] != '\0' && hex[i + 1] != '\0'; i += 2)
		printf("%s%c%c", i == 0 ? " " : ":", hex[i], hex[i + 1]);
	printf("\n");
}

int
ceremony_confirm(struct ceremony *c)
{
	int rc;

	if (c->yes) {
		printf("(--yes given: not waiting for confirmation)\n");
		fflush(stdout);
		return CA_OK;
	}
	printf("Type \"yes\" to run step %s, anything else cancels: ",
	    c->step);
	fflush(stdout);
	rc = secure_confirm(stdin);
	if (rc == CA_ERR_CANCELLED)
		printf("\n");
	return rc;
}

int
ceremony_hsm_rc(int rc)
{
	/*
	 * The ceremony file was checked before the HSM was touched: what the
	 * HSM layer calls a configuration problem (a PIN file others can
	 * read, a bad URI attribute) is a refusal of this run (exit 1).
	 */
	if (rc == CA_ERR_CONFIG || rc == CA_ERR_USAGE)
		return CA_ERR_INVALID;
	return rc;
}

int
ceremony_pin(struct ceremony *c)
{
	int rc;

	if (c->pin != NULL)
		return CA_OK;
	if (c->pin_prompt)
		return pin_prompt(&c->pin, c->key_uri);
	/* NULL: the key URI's own pin-source, read by hsm/. */
	if (c->pin_source == NULL)
		return CA_OK;
	if ((rc = hsm_pin_from_source(&c->pin, c->pin_source)) != CA_OK)
		return ceremony_hsm_rc(rc);
	return CA_OK;
}

int
ceremony_hsm_open(struct ceremony *c)
{
	struct hsm_config hc;

	if (c->hsm != NULL)
		return CA_OK;
	memset(&hc, 0, sizeof(hc));
	hc.module = c->module;
	hc.init_args = c->init_args;
	hc.allow_unsafe_keys = c->allow_unsafe_keys;
	return ceremony_hsm_rc(hsm_open(&c->hsm, &hc));
}

int
ceremony_key_open(struct ceremony *c)
{
	int rc;

	if (c->key != NULL)
		return CA_OK;
	if ((rc = ceremony_hsm_open(c)) != CA_OK ||
	    (rc = ceremony_pin(c)) != CA_OK)
		return rc;
	if ((rc = hsm_key_open_pin(&c->key, c->hsm, c->key_uri,
	    c->pin)) != CA_OK) {
		c->key = NULL;
		return ceremony_hsm_rc(rc);
	}
	if ((rc = hsm_key_public(&c->key_pub, c->key)) != CA_OK ||
	    (rc = profile_spki_hex(c->key_spki, c->key_pub)) != CA_OK)
		return ceremony_hsm_rc(rc);
	/* The key is named by its public key; the token's serial may be 0. */
	if ((rc = transcript_entry_add(c->entry, "token", "%s",
	    hsm_key_token_ident(c->key))) != CA_OK ||
	    (rc = transcript_entry_add(c->entry, "key", "%s spki-sha256:%s",
	    c->key_uri, c->key_spki)) != CA_OK)
		return rc;
	printf("Root key %s on %s\n", c->key_uri, hsm_key_token_ident(c->key));
	ceremony_print_fingerprint("Root key SPKI SHA-256:", c->key_spki);
	if (c->allow_unsafe_keys) {
		fprintf(stderr, "carapace-ceremony: WARNING: allow_unsafe_keys "
		    "= yes in [ceremony]: a root key that fails the attribute "
		    "checks is used anyway\n");
		if ((rc = transcript_entry_add(c->entry, "setting",
		    "allow_unsafe_keys yes")) != CA_OK)
			return rc;
	}
	if (hsm_key_unsafe(c->key) != NULL) {
		fprintf(stderr, "carapace-ceremony: WARNING: UNSAFE ROOT KEY: "
		    "%s; used only because allow_unsafe_keys = yes\n",
		    hsm_key_unsafe(c->key));
		if ((rc = transcript_entry_add(c->entry, "unsafe-key", "%s",
		    hsm_key_unsafe(c->key))) != CA_OK)
			return rc;
	}
	return CA_OK;
}

int
ceremony_probe_record(struct ceremony *c, enum hsm_wrap_probe probe,
    const char *detail, int hardware)
{
	int rc;

	if ((rc = transcript_entry_add(c->entry, "token-kind", "%s",
	    hardware == 1 ? "hardware (the slot says CKF_HW_SLOT)" :
	    hardware == 0 ? "software (the slot does not say CKF_HW_SLOT)" :
	    "unknown")) != CA_OK ||
	    (rc = transcript_entry_add(c->entry, "wrap-probe", "%s: %s",
	    hsm_wrap_probe_name(probe), detail)) != CA_OK)
		return rc;
	printf("Token kind: %s\n", hardware == 1 ? "hardware token" :
	    hardware == 0 ? "SOFTWARE token" : "unknown");
	printf("Wrap probe: %s\n", detail);
	if (probe != HSM_PROBE_EXPORTED)
		return CA_OK;
	if (!c->rehearsal)
		return ca_error(CA_ERR_KEY_UNSAFE, "%s: the module reports the "
		    "key as sensitive and never extractable, but the wrap "
		    "probe exported it (%s); a root key needs a module that "
		    "enforces this (rehearsal = yes in [ceremony] allows it for "
		    "a rehearsal only)", c->key_uri, detail);
	fprintf(stderr, "carapace-ceremony: WARNING: REHEARSAL ONLY: the wrap "
	    "probe exported the key; this module cannot hold a real root "
	    "key\n");
	return transcript_entry_add(c->entry, "rehearsal", "key accepted "
	    "although the wrap probe exported it");
}

int
ceremony_key_matches_cert(struct ceremony *c, X509 *cert, const char *what)
{
	EVP_PKEY *pk;

	if ((pk = X509_get0_pubkey(cert)) == NULL)
		return ca_error_openssl(CA_ERR_INVALID, "%s: the certificate's "
		    "public key cannot be decoded", what);
	if (EVP_PKEY_eq(pk, c->key_pub) != 1) {
		ERR_clear_error();
		return ca_error(CA_ERR_VERIFY, "%s: not the certificate of the "
		    "root key %s (spki-sha256:%s)", what, c->key_uri,
		    c->key_spki);
	}
	return CA_OK;
}

int
ceremony_output_absent(const char *path)
{
	int ex;

	if ((ex = fileio_exists(path)) == 1)
		return ca_error(CA_ERR_EXISTS, "%s: the file exists; nothing "
		    "is ever overwritten", path);
	if (ex < 0)
		return ca_error(CA_ERR_IO, "%s: %s", path, strerror(errno));
	return CA_OK;
}

int
ceremony_output_write(struct ceremony *c, const char *path, const void *buf,
    size_t len)
{
	uint8_t h[FILEIO_SHA256_LEN];
	int rc;

	if ((rc = fileio_sha256_buf(h, buf, len)) != CA_OK)
		return rc;
	if ((rc = fileio_create(path, buf, len, 0644)) != CA_OK) {
		if (rc == CA_ERR_EXISTS)
			ca_error(rc, "%s: the file exists; nothing is ever "
			    "overwritten", path);
		return rc;
	}
	printf("Wrote %s\n", path);
	return transcript_entry_file(c->entry, "output", path, h);
}

int
ceremony_input_read(struct ceremony *c, uint8_t **out, size_t *out_len,
    const char *path)
{
	uint8_t h[FILEIO_SHA256_LEN];
	char hex[FILEIO_SHA256_HEX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	if ((rc = fileio_read(&buf, &len, path, FILEIO_MAX_SMALL)) != CA_OK)
		return rc;
	if ((rc = fileio_sha256_buf(h, buf, len)) != CA_OK ||
	    (rc = transcript_entry_file(c->entry, "input", path, h)) !=
	    CA_OK) {
		free(buf);
		return rc;
	}
	printf("Input %s sha256:%s\n", path, fileio_hex(hex, h, sizeof(h)));
	*out = buf;
	*out_len = len;
	return CA_OK;
}

int
ceremony_root_cert_read(struct ceremony *c, X509 **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (c->root_cert == NULL)
		return ca_error(CA_ERR_CONFIG, "%s: [ceremony] root_cert: "
		    "missing", config_path(c->cfg));
	if ((rc = ceremony_input_read(c, &buf, &len, c->root_cert)) != CA_OK)
		return rc;
	rc = profile_cert_read(out, buf, len, c->root_cert);
	free(buf);
	return rc;
}

char *
ceremony_serial_hex(const ASN1_INTEGER *serial)
{
	BIGNUM *bn;
	char *s;

	if ((bn = ASN1_INTEGER_to_BN(serial, NULL)) == NULL)
		return NULL;
	s = BN_bn2hex(bn);
	BN_free(bn);
	return s;
}

struct sign_arg {
	X509 *x;
	X509_CRL *crl;
	const EVP_MD *md;
};

static int
sign_cb(EVP_PKEY *pkey, void *arg)
{
	struct sign_arg *a = arg;

	if (a->x != NULL)
		return X509_sign(a->x, pkey, a->md) > 0;
	return X509_CRL_sign(a->crl, pkey, a->md) > 0;
}

int
ceremony_sign_cert(struct ceremony *c, X509 *x, const EVP_MD *md)
{
	struct sign_arg a = { x, NULL, md };

	return hsm_key_sign(c->key, sign_cb, &a);
}

int
ceremony_sign_crl(struct ceremony *c, X509_CRL *crl, const EVP_MD *md)
{
	struct sign_arg a = { NULL, crl, md };

	return hsm_key_sign(c->key, sign_cb, &a);
}

int
ceremony_validity(struct ceremony *c, time_t *nb, time_t *na,
    const char *section)
{
	long days = 0;
	int nb_present = 0, na_present = 0, rc;

	if ((rc = config_get_time(nb, &nb_present, c->cfg, section,
	    "not_before")) != CA_OK ||
	    (rc = config_get_time(na, &na_present, c->cfg, section,
	    "not_after")) != CA_OK)
		return rc;
	if (!nb_present)
		*nb = time(NULL);
	if (na_present) {
		if ((rc = config_get_int(&days, c->cfg, section, "days", 0, 1,
		    CEREMONY_MAX_DAYS)) != CA_OK)
			return rc;
		if (days != 0)
			return ca_error(CA_ERR_CONFIG, "%s: [%s]: give days or "
			    "not_after, not both", config_path(c->cfg), section);
	} else {
		if ((rc = config_require_int(&days, c->cfg, section, "days", 1,
		    CEREMONY_MAX_DAYS)) != CA_OK)
			return rc;
		*na = *nb + (time_t)days * 86400;
	}
	if (*na <= *nb)
		return ca_error(CA_ERR_CONFIG, "%s: [%s]: not_after is not after "
		    "not_before", config_path(c->cfg), section);
	return CA_OK;
}

int
ceremony_digest_check(const struct ceremony *c, const char *section,
    const char *digest)
{
	if (digest == NULL || strcmp(digest, "sha256") == 0 ||
	    strcmp(digest, "sha384") == 0 || strcmp(digest, "sha512") == 0)
		return CA_OK;
	return ca_error(CA_ERR_CONFIG, "%s: [%s] digest: \"%s\" is not sha256, "
	    "sha384 or sha512", config_path(c->cfg), section, digest);
}

static int
pem_finish(char **out, size_t *out_len, BIO *bio, int ok, const char *what)
{
	char *data;
	long n;

	if (!ok || (n = BIO_get_mem_data(bio, &data)) <= 0)
		return ca_error_openssl(CA_ERR_INTERNAL, "%s: cannot encode PEM",
		    what);
	if ((*out = malloc((size_t)n)) == NULL)
		return ca_error(CA_ERR_NOMEM, "%s: out of memory", what);
	memcpy(*out, data, (size_t)n);
	*out_len = (size_t)n;
	return CA_OK;
}

int
ceremony_pem_cert(char **out, size_t *out_len, X509 *x)
{
	BIO *bio;
	int rc;

	*out = NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return ca_error_openssl(CA_ERR_NOMEM, "PEM");
	rc = pem_finish(out, out_len, bio, PEM_write_bio_X509(bio, x) == 1,
	    "certificate");
	BIO_free(bio);
	return rc;
}

int
ceremony_pem_crl(char **out, size_t *out_len, X509_CRL *crl)
{
	BIO *bio;
	int rc;

	*out = NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return ca_error_openssl(CA_ERR_NOMEM, "PEM");
	rc = pem_finish(out, out_len, bio,
	    PEM_write_bio_X509_CRL(bio, crl) == 1, "CRL");
	BIO_free(bio);
	return rc;
}

/*
 * settings_load reads the [ceremony] section (the transcript path has been
 * read already).
 */
static int
settings_load(struct ceremony *c)
{
	struct module_config *m = &c->mod;
	int rc;

	if ((rc = config_check_keys(c->cfg, "ceremony", ceremony_keys)) !=
	    CA_OK ||
	    (rc = module_config_load(m, c->cfg, "ceremony",
	    MODULE_CONFIG_PROMPT)) != CA_OK ||
	    (rc = config_get_string(&c->key_type, c->cfg, "ceremony",
	    "key_type", NULL)) != CA_OK ||
	    (rc = config_get_path(&c->root_cert, c->cfg, "ceremony",
	    "root_cert", NULL)) != CA_OK ||
	    (rc = config_get_bool(&c->rehearsal, c->cfg, "ceremony",
	    "rehearsal", 0)) != CA_OK)
		return rc;
	c->module = m->module;
	c->init_args = m->init_args;
	c->key_uri = m->key_uri;
	c->allow_unsafe_keys = m->allow_unsafe_keys;
	if (m->pin_source == NULL && strstr(c->key_uri, "pin-source=") != NULL) {
		/* The URI's own pin-source. */
		c->pin_source = NULL;
	} else if (m->pin_source == NULL ||
	    strcmp(m->pin_source, "prompt") == 0) {
		c->pin_prompt = 1;
	} else if ((c->pin_source = strdup(m->pin_source)) == NULL) {
		return ca_error(CA_ERR_NOMEM, "pin_source: out of memory");
	}
	return CA_OK;
}

/* seal_arg: the message a seal signs and the signature it gets. */
struct seal_arg {
	const EVP_MD *md;
	const unsigned char *msg;
	size_t msglen;
	unsigned char *sig;
	size_t siglen;
};

static int
seal_cb(EVP_PKEY *pkey, void *arg)
{
	struct seal_arg *a = arg;
	EVP_MD_CTX *md;
	size_t len = 0;
	int ok = 0;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (EVP_DigestSignInit(md, NULL, a->md, NULL, pkey) != 1 ||
	    EVP_DigestSign(md, NULL, &len, a->msg, a->msglen) != 1 ||
	    (a->sig = OPENSSL_malloc(len)) == NULL)
		goto out;
	if (EVP_DigestSign(md, a->sig, &len, a->msg, a->msglen) != 1) {
		OPENSSL_free(a->sig);
		a->sig = NULL;
		goto out;
	}
	a->siglen = len;
	ok = 1;
 out:
	EVP_MD_CTX_free(md);
	return ok;
}

static int
seal_sign(unsigned char **sig, size_t *siglen, const char *digest,
    const unsigned char *msg, size_t msglen, void *arg)
{
	struct ceremony *c = arg;
	struct seal_arg a;
	int rc;

	*sig = NULL;
	*siglen = 0;
	memset(&a, 0, sizeof(a));
	if ((a.md = EVP_get_digestbyname(digest)) == NULL)
		return ca_error(CA_ERR_INTERNAL, "seal: unknown digest %s",
		    digest);
	a.msg = msg;
	a.msglen = msglen;
	if ((rc = hsm_key_sign(c->key, seal_cb, &a)) != CA_OK) {
		OPENSSL_free(a.sig);
		return rc;
	}
	if (a.sig == NULL)
		return ca_error(CA_ERR_HSM, "seal: the root key did not sign");
	*sig = a.sig;
	*siglen = a.siglen;
	return CA_OK;
}

static int
ceremony_seal(struct ceremony *c)
{
	const EVP_MD *md = NULL;
	char *desc = NULL;
	int rc;

	if ((rc = profile_digest(&md, c->key_pub, NULL, "seal")) != CA_OK)
		return rc;
	if (asprintf(&desc, "%s spki-sha256:%s", c->key_uri, c->key_spki) < 0)
		return ca_error(CA_ERR_NOMEM, "seal: out of memory");
	rc = transcript_seal(c->transcript, desc, EVP_MD_get_type(md) ==
	    NID_sha384 ? "sha384" : EVP_MD_get_type(md) == NID_sha512 ?
	    "sha512" : "sha256", seal_sign, c);
	free(desc);
	return rc;
}

static void
ceremony_cleanup(struct ceremony *c)
{
	transcript_entry_free(c->entry);
	c->entry = NULL;
	EVP_PKEY_free(c->key_pub);
	c->key_pub = NULL;
	if (c->key != NULL)
		hsm_key_free(c->key);
	c->key = NULL;
	hsm_free(c->hsm);
	c->hsm = NULL;
	free(c->pin_source);
	c->pin_source = NULL;
	hsm_pin_destroy(c->pin);
	c->pin = NULL;
	module_config_clear(&c->mod);
	free(c->transcript);
	c->transcript = NULL;
	free(c->root_cert);
	c->root_cert = NULL;
	config_free(c->cfg);
	c->cfg = NULL;
}

int
ceremony_run(struct ceremony *c)
{
	const struct step_def *sd;
	char detail[1024];
	int status, rc = CA_ERR_INTERNAL, rc2;

	if (strcmp(c->step, "verify") == 0)
		return step_verify(c);
	for (sd = steps; sd->name != NULL; sd++)
		if (strcmp(sd->name, c->step) == 0)
			break;
	if (sd->name == NULL) {
		log_err("%s: unknown step (inventory, keygen, root, "
		    "intermediate, crl, verify)", c->step);
		return CEREMONY_EXIT_USAGE;
	}
	if (c->config_path == NULL)
		c->config_path = CEREMONY_DEFAULT_CONFIG;

	/* Without a transcript path there is nowhere to record anything. */
	if ((rc = config_load(&c->cfg, c->config_path)) != CA_OK ||
	    (rc = config_require_section(c->cfg, "ceremony", NULL)) != CA_OK ||
	    (rc = config_require_path(&c->transcript, c->cfg, "ceremony",
	    "transcript")) != CA_OK) {
		log_err("%s: %s", c->step, ca_error_detail());
		status = rc == CA_ERR_NOT_FOUND || rc == CA_ERR_IO ?
		    CEREMONY_EXIT_USAGE : ceremony_exit_status(rc);
		if (status == CEREMONY_EXIT_FAILED)
			status = CEREMONY_EXIT_USAGE;
		ceremony_cleanup(c);
		return status;
	}
	if ((rc = transcript_entry_new(&c->entry, c->transcript, c->step)) !=
	    CA_OK ||
	    (rc = transcript_entry_file(c->entry, "config", c->config_path,
	    config_sha256(c->cfg))) != CA_OK) {
		log_err("%s: %s", c->step, ca_error_detail());
		ceremony_cleanup(c);
		return CEREMONY_EXIT_FAILED;
	}

	printf("carapace-ceremony %s, step %s, ceremony file %s\n",
	    PACKAGE_VERSION, c->step, c->config_path);
	rc = settings_load(c);
	if (rc == CA_OK && !c->allow_network)
		rc = secure_network_check();
	if (rc == CA_OK)
		rc = sd->fn(c);
	fflush(stdout);

	detail[0] = '\0';
	if (rc != CA_OK && ca_error_detail()[0] != '\0')
		snprintf(detail, sizeof(detail), "%s: %s", ca_strerror(rc),
		    ca_error_detail());
	if (rc == CA_ERR_CANCELLED)
		rc2 = transcript_append(c->entry, TRANSCRIPT_CANCELLED, NULL,
		    NULL);
	else if (rc != CA_OK)
		rc2 = transcript_append(c->entry, TRANSCRIPT_FAILED,
		    detail[0] != '\0' ? detail : ca_strerror(rc), NULL);
	else
		rc2 = transcript_append(c->entry, TRANSCRIPT_OK, NULL, NULL);
	status = ceremony_exit_status(rc);
	if (rc == CA_ERR_CANCELLED)
		log_err("%s: cancelled: nothing was done", c->step);
	else if (rc != CA_OK)
		log_err("%s: %s", c->step, detail[0] != '\0' ? detail :
		    ca_strerror(rc));
	if (rc2 != CA_OK) {
		log_err("%s: the transcript was not written: %s", c->step,
		    ca_error_detail());
		if (status == CEREMONY_EXIT_OK)
			status = CEREMONY_EXIT_FAILED;
	} else if (c->key != NULL) {
		if ((rc2 = ceremony_seal(c)) != CA_OK) {
			log_err("%s: the transcript could not be sealed: %s",
			    c->step, ca_error_detail());
			if (status == CEREMONY_EXIT_OK)
				status = CEREMONY_EXIT_FAILED;
		} else
			printf("Transcript %s appended to and sealed with the "
			    "root key\n", c->transcript);
	} else if (rc2 == CA_OK) {
		printf("Transcript %s appended to (not sealed: the root key "
		    "was not opened)\n", c->transcript);
	}
	if (status == CEREMONY_EXIT_OK)
		printf("Step %s: done\n", c->step);
	ceremony_cleanup(c);
	return status;
}
