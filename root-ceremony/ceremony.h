/* SPDX-License-Identifier: ISC */
/*
 * ceremony: what every step of carapace-ceremony shares (private to
 * root-ceremony/).
 *
 * A run is one step. main() fills in a struct ceremony from the command
 * line and calls ceremony_run, which loads the ceremony file, starts the
 * step's transcript record, refuses to run with a network interface up,
 * calls the step's function, appends the record with its outcome and, when
 * the root key was opened, seals the transcript with it. A step function
 * checks its configuration and inputs, prints its plan, asks for
 * confirmation (ceremony_confirm), opens the key (ceremony_key_open) and
 * writes its outputs (ceremony_output_write) only once everything else has
 * succeeded. Step functions return CA_OK or a ca_err code with a detail
 * message; the exit status follows from the code (ceremony_exit_status).
 */
#ifndef CEREMONY_H
#define CEREMONY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/ca_config.h"
#include "common/fileio.h"
#include "common/module_config.h"
#include "common/transcript.h"
#include "hsm/hsm.h"

/* Exit statuses (docs/ceremony-file.md). */
#define CEREMONY_EXIT_OK	0
#define CEREMONY_EXIT_FAILED	1
#define CEREMONY_EXIT_USAGE	2
#define CEREMONY_EXIT_CANCELLED	3

#define CEREMONY_DEFAULT_CONFIG	"ceremony.cnf"

struct ceremony {
	/* From the command line. */
	const char *config_path;	/* -c, or NULL for the default */
	const char *section;		/* -s, or NULL: the step's name */
	const char *step;
	int yes;
	int allow_network;
	const char *verify_transcript;	/* verify --transcript */
	const char *verify_root;	/* verify --root */
	int allow_unsealed;		/* verify --allow-unsealed */

	/* From the [ceremony] section. */
	struct config *cfg;
	struct module_config mod;	/* owns the strings below */
	const char *module;
	const char *init_args;
	const char *key_uri;
	char *pin_source;		/* NULL: the key URI's pin-source */
	int pin_prompt;			/* pin_source = prompt */
	struct hsm_pin *pin;		/* from ceremony_pin, or NULL */
	const char *key_type;
	char *transcript;
	char *root_cert;		/* NULL when not configured */
	int allow_unsafe_keys;
	int rehearsal;			/* rehearsal = yes */

	/* Run state. */
	struct transcript_entry *entry;	/* the step's record */
	struct hsm *hsm;
	struct hsm_key *key;		/* the root key, once opened */
	EVP_PKEY *key_pub;		/* its public half */
	char key_spki[FILEIO_SHA256_HEX];
};

/* ceremony_run runs c->step and returns the process exit status. */
int ceremony_run(struct ceremony *c);

/* ceremony_exit_status maps a ca_err code to an exit status. */
int ceremony_exit_status(int rc);

/* The step section: -s NAME, or the step's default. */
const char *ceremony_section(const struct ceremony *c, const char *def);

/*
 * ceremony_section_check requires the step's section and refuses keys
 * outside allowed (NULL-terminated).
 */
int ceremony_section_check(const struct ceremony *c, const char *section,
    const char *const *allowed) __attribute__((warn_unused_result));

/*
 * ceremony_confirm prints "Type yes to ..." and waits for the officer,
 * unless --yes was given. CA_ERR_CANCELLED for anything but "yes".
 */
int ceremony_confirm(struct ceremony *c) __attribute__((warn_unused_result));

/*
 * ceremony_hsm_rc maps an hsm/ error to the step's: configuration and usage
 * errors found at run time become CA_ERR_INVALID (exit 1).
 */
int ceremony_hsm_rc(int rc);

/*
 * ceremony_pin sets c->pin (once per run): the PIN asked for on the
 * terminal when the ceremony file says pin_source = prompt, else the PIN
 * read from pin_source; it stays NULL when the key URI's own pin-source is
 * to be used. Call it before any hsm_*_pin call that logs in; c->pin is
 * wiped when the run ends.
 */
int ceremony_pin(struct ceremony *c) __attribute__((warn_unused_result));

/* ceremony_hsm_open loads the PKCS#11 module once. */
int ceremony_hsm_open(struct ceremony *c) __attribute__((warn_unused_result));

/*
 * ceremony_key_open opens the root key (logging in), records the token and
 * the key's SPKI fingerprint in the transcript entry, and marks the run as
 * one that ends with a seal.
 */
int ceremony_key_open(struct ceremony *c) __attribute__((warn_unused_result));

/*
 * ceremony_probe_record records the token kind (hardware per the slot, or
 * software) and the wrap probe's outcome in the transcript and on stdout.
 * A probe that exported the key is CA_ERR_KEY_UNSAFE unless the ceremony
 * file says rehearsal = yes (then it warns and records that).
 */
int ceremony_probe_record(struct ceremony *c, enum hsm_wrap_probe probe,
    const char *detail, int hardware) __attribute__((warn_unused_result));

/*
 * ceremony_key_matches_cert fails (CA_ERR_VERIFY) unless cert's public key
 * is the open root key's.
 */
int ceremony_key_matches_cert(struct ceremony *c, X509 *cert,
    const char *what) __attribute__((warn_unused_result));

/*
 * ceremony_output_absent refuses (CA_ERR_EXISTS) a path that exists, so a
 * step fails before it asks for confirmation.
 */
int ceremony_output_absent(const char *path)
    __attribute__((warn_unused_result));

/*
 * ceremony_output_write writes a new file (never overwriting) and records
 * "output NAME sha256:HEX".
 */
int ceremony_output_write(struct ceremony *c, const char *path,
    const void *buf, size_t len) __attribute__((warn_unused_result));

/*
 * ceremony_input_read reads an input file (capped at FILEIO_MAX_SMALL) and
 * records "input NAME sha256:HEX". A missing file is CA_ERR_NOT_FOUND
 * naming it. The caller frees *out.
 */
int ceremony_input_read(struct ceremony *c, uint8_t **out, size_t *out_len,
    const char *path) __attribute__((warn_unused_result));

/*
 * ceremony_root_cert_read reads the configured root certificate as an
 * input. The caller frees *out with X509_free.
 */
int ceremony_root_cert_read(struct ceremony *c, X509 **out)
    __attribute__((warn_unused_result));

/* ceremony_sign_cert / _crl sign with the root key in the HSM. */
int ceremony_sign_cert(struct ceremony *c, X509 *x, const EVP_MD *md)
    __attribute__((warn_unused_result));
int ceremony_sign_crl(struct ceremony *c, X509_CRL *crl, const EVP_MD *md)
    __attribute__((warn_unused_result));

/*
 * ceremony_validity works out notBefore and notAfter from not_before (default
 * now), days and not_after in section (exactly one of days and not_after).
 */
int ceremony_validity(struct ceremony *c, time_t *nb, time_t *na,
    const char *section) __attribute__((warn_unused_result));

/*
 * ceremony_digest_check refuses (CA_ERR_CONFIG) a digest name other than
 * sha256, sha384 and sha512 in [section] digest; NULL passes.
 */
int ceremony_digest_check(const struct ceremony *c, const char *section,
    const char *digest) __attribute__((warn_unused_result));

/* ceremony_time_string formats t as "2026-11-23T10:04:11Z". */
const char *ceremony_time_string(char buf[32], time_t t);

/* ceremony_print_fingerprint prints "LABEL: aa:bb:..." on stdout. */
void ceremony_print_fingerprint(const char *label, const char *hex);

/* ceremony_pem_cert / _crl encode to PEM in a new buffer (free()). */
int ceremony_pem_cert(char **out, size_t *out_len, X509 *x)
    __attribute__((warn_unused_result));
int ceremony_pem_crl(char **out, size_t *out_len, X509_CRL *crl)
    __attribute__((warn_unused_result));

/*
 * ceremony_serial_hex: a serial number as uppercase hex, in a new string the
 * caller frees with OPENSSL_free; NULL when out of memory.
 */
char *ceremony_serial_hex(const ASN1_INTEGER *serial);

/* The steps. */
int step_inventory(struct ceremony *c) __attribute__((warn_unused_result));
int step_keygen(struct ceremony *c) __attribute__((warn_unused_result));
int step_root(struct ceremony *c) __attribute__((warn_unused_result));
int step_intermediate(struct ceremony *c) __attribute__((warn_unused_result));
int step_crl(struct ceremony *c) __attribute__((warn_unused_result));
/* step_verify runs without a transcript record; it returns an exit status. */
int step_verify(struct ceremony *c);

#endif /* CEREMONY_H */
