/* SPDX-License-Identifier: ISC */
/*
 * hsm: the only code in carapace that speaks PKCS#11.
 *
 * Everything goes through libp11 except key generation and the attribute
 * checks, which need an explicit C_GenerateKeyPair template and
 * C_GetAttributeValue (libp11 0.4.12 offers neither); those use the module's
 * function list directly, on a private session that is closed before the
 * call returns.
 *
 * Keys and tokens are named by RFC 7512 pkcs11: URIs (see pkcs11_uri.h).
 * PINs come from a file or a named environment variable, never from argv,
 * or from the program itself as a struct hsm_pin (a program that prompts
 * reads the PIN into sodium memory and hands the buffer over); they live
 * in sodium_malloc'd memory and are wiped after use (libp11 keeps its own
 * copy for as long as its context lives, to log in again after a
 * fork or a token reset).
 *
 * Threads: one struct hsm per process. The EVP_PKEY handed to an
 * hsm_sign_fn may be used from several threads at once (libp11 keeps a pool
 * of sessions per slot); hsm_key_sign serialises only the rebuild after a
 * token loss.
 *
 * Every function returns CA_OK or a ca_err code with a detail message
 * (ca_error_detail()).
 */
#ifndef HSM_H
#define HSM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/ca_error.h"

struct hsm;
struct hsm_key;
struct hsm_pin;

struct hsm_config {
	const char *module;	/* path of the PKCS#11 module (.so), required */
	const char *init_args;	/* module init args (NSS softokn), or NULL */
	/*
	 * Accept a private key whose CKA_ALWAYS_SENSITIVE or
	 * CKA_NEVER_EXTRACTABLE is false. Off by default; only for HSMs that
	 * cannot set them, and only when the configuration says so.
	 */
	int allow_unsafe_keys;
};

enum hsm_key_type {
	HSM_KEY_EC_P256 = 1,
	HSM_KEY_EC_P384,
	HSM_KEY_RSA_2048,
	HSM_KEY_RSA_3072,
	HSM_KEY_RSA_4096,
};

/*
 * hsm_key_type_parse maps "ec-p256", "ec-p384", "rsa-2048", "rsa-3072" and
 * "rsa-4096" (also "p256"/"prime256v1", "p384"/"secp384r1", "rsa2048", ...)
 * to a key type. Returns CA_ERR_UNSUPPORTED naming the string otherwise.
 */
int hsm_key_type_parse(enum hsm_key_type *out, const char *s)
    __attribute__((warn_unused_result));
const char *hsm_key_type_name(enum hsm_key_type t);

/*
 * hsm_open loads the module and initialises one libp11 context. Call it
 * after any fork(), never before. The caller frees the result with
 * hsm_free. The config strings are copied.
 */
int hsm_open(struct hsm **out, const struct hsm_config *cfg)
    __attribute__((warn_unused_result));

/* hsm_free releases every key, the libp11 context and the module. */
void hsm_free(struct hsm *h);

/*
 * hsm_pin_read reads a PIN from a source: "file:/path" (first line; the
 * trailing newline is dropped; the file must not be world-readable) or
 * "env:NAME" (the variable is wiped and removed once read: a PIN is read
 * from the environment once). A URI's pin-source=file:... is given as is.
 * The PIN is
 * returned in sodium_malloc'd, mlocked memory; free it with hsm_pin_free.
 */
int hsm_pin_read(char **out, const char *source)
    __attribute__((warn_unused_result));
void hsm_pin_free(char *pin);

/*
 * struct hsm_pin: a PIN held in sodium_malloc'd (guard pages, mlock'd)
 * memory, for the *_pin functions below; it lets a program that asks for
 * the PIN itself pass it on without copying it anywhere else.
 *
 * hsm_pin_take takes ownership of buf, a NUL-terminated PIN in memory from
 * sodium_malloc, on success and on failure alike: the caller must not
 * touch buf afterwards. An empty PIN or one longer than 256 bytes is
 * CA_ERR_CONFIG. hsm_pin_from_source reads a PIN as hsm_pin_read does.
 * Either way the caller frees *out with hsm_pin_destroy, which wipes it.
 */
int hsm_pin_take(struct hsm_pin **out, char *buf)
    __attribute__((warn_unused_result));
int hsm_pin_from_source(struct hsm_pin **out, const char *source)
    __attribute__((warn_unused_result));
void hsm_pin_destroy(struct hsm_pin *p);

/*
 * hsm_key_open finds the private key named by uri, logging in to its token
 * with the PIN from pin_source (or from the URI's pin-source when
 * pin_source is NULL). It reads CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE,
 * CKA_EXTRACTABLE and CKA_NEVER_EXTRACTABLE and refuses (CA_ERR_KEY_UNSAFE)
 * a key that fails unless the config allows it. A wrong PIN is
 * CA_ERR_PIN and is never retried. The key belongs to h and is freed by
 * hsm_key_free or hsm_free.
 */
int hsm_key_open(struct hsm_key **out, struct hsm *h, const char *uri,
    const char *pin_source) __attribute__((warn_unused_result));
/*
 * hsm_key_open_pin is hsm_key_open with the PIN given as an object (NULL:
 * the URI's pin-source, if any). The key keeps its own sodium copy of the
 * PIN for the rebuild after a token loss; the caller still owns pin.
 */
int hsm_key_open_pin(struct hsm_key **out, struct hsm *h, const char *uri,
    const struct hsm_pin *pin) __attribute__((warn_unused_result));
void hsm_key_free(struct hsm_key *k);

/*
 * hsm_key_unsafe: NULL for a key that passed the attribute checks, else
 * why it failed them (it was opened only because allow_unsafe_keys is
 * set). Borrowed. A program that gets a reason must say so loudly.
 */
const char *hsm_key_unsafe(const struct hsm_key *k);

/*
 * hsm_key_public returns a copy of the key's public half as a plain
 * (software) EVP_PKEY, owned by the caller.
 */
int hsm_key_public(EVP_PKEY **out, struct hsm_key *k)
    __attribute__((warn_unused_result));

/*
 * hsm_sign_fn signs with pkey (X509_sign, X509_CRL_sign, OCSP_basic_sign,
 * X509_REQ_sign, EVP_DigestSign...). It returns 1 on success and 0 on
 * failure, like OpenSSL's functions.
 */
typedef int (*hsm_sign_fn)(EVP_PKEY *pkey, void *arg);

/*
 * hsm_key_sign calls fn with the HSM-backed private key. When the token has
 * gone away the call fails with CA_ERR_TOKEN_ABSENT (or CA_ERR_HSM) and the
 * key is marked stale; a later call rebuilds the whole libp11 context
 * (release slots, unload, load, log in, find the key again) before it signs,
 * and fails cleanly again if the token is still absent.
 */
int hsm_key_sign(struct hsm_key *k, hsm_sign_fn fn, void *arg)
    __attribute__((warn_unused_result));

/* hsm_key_token_label / _serial: the token the key lives on (borrowed). */
const char *hsm_key_token_label(const struct hsm_key *k);
const char *hsm_key_token_serial(const struct hsm_key *k);
/*
 * hsm_key_token_ident: the token as manufacturer, model, serial and label
 * (hsm_token_ident), borrowed. Identify a key by its public-key
 * fingerprint, not by this: NSS and tpm2-pkcs11 give every token the
 * serial 0000000000000000.
 */
const char *hsm_key_token_ident(const struct hsm_key *k);

/*
 * hsm_token_ident writes 'token "LABEL" (manufacturer "M", model "X",
 * serial S)' into buf; an empty or all-zero serial is written as
 * 'serial none (empty or all zeros: it identifies nothing)'.
 */
void hsm_token_ident(char *buf, size_t len, const char *label,
    const char *manufacturer, const char *model, const char *serial);
/* hsm_serial_meaningless: 1 when serial is empty or all zeros (or blanks). */
int hsm_serial_meaningless(const char *serial);

/*
 * hsm_keygen generates a key pair on the token named by uri, with the label
 * (object=) and id (id=) given in the URI; at least one of them is
 * required. It refuses (CA_ERR_EXISTS) if a key with that label or id is
 * already on the token. The template is explicit: CKA_TOKEN, CKA_PRIVATE,
 * CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=FALSE, CKA_SIGN=TRUE and
 * CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE all FALSE. After generation it reads
 * CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE back and fails
 * (CA_ERR_KEY_UNSAFE, after destroying the new pair) if either is false.
 * On success *pub_out (if not NULL) is the public key, owned by the caller.
 */
int hsm_keygen(EVP_PKEY **pub_out, struct hsm *h, const char *uri,
    const char *pin_source, enum hsm_key_type type)
    __attribute__((warn_unused_result));
/* hsm_keygen_pin: hsm_keygen with a PIN object (NULL: the URI's). */
int hsm_keygen_pin(EVP_PKEY **pub_out, struct hsm *h, const char *uri,
    const struct hsm_pin *pin, enum hsm_key_type type)
    __attribute__((warn_unused_result));

/*
 * The wrap probe's outcome (hsm_wrap.c): the module refused to wrap the
 * private key with a session key (as it should), wrapped it (it does not
 * enforce CKA_SENSITIVE / CKA_NEVER_EXTRACTABLE), or could not be asked
 * (no AES session key or wrapping mechanism).
 */
enum hsm_wrap_probe {
	HSM_PROBE_NOT_RUN = 0,
	HSM_PROBE_REFUSED,
	HSM_PROBE_EXPORTED,
};
/* hsm_wrap_probe_name: "refused", "exported" or "not-run". */
const char *hsm_wrap_probe_name(enum hsm_wrap_probe p);

/* What hsm_keygen_ex found out about the new key and its token. */
struct hsm_keygen_info {
	char token[192];	/* token identity, as hsm_token_ident */
	int hardware;		/* slot has CKF_HW_SLOT: 1, 0, -1 unknown */
	/* "" or the optional template attribute the module refused */
	char dropped[160];
	/* Read back after generation: 1, 0 or -1 (unreadable). */
	int sensitive, extractable, always_sensitive, never_extractable;
	enum hsm_wrap_probe probe;
	char probe_detail[256];
};

/* hsm_keygen_ex flags. */
#define HSM_KEYGEN_PROBE_REQUIRED	0x1	/* destroy the pair on EXPORTED */

/*
 * hsm_keygen_ex is hsm_keygen_pin that also fills *info (if not NULL) and
 * takes flags. The template is built per mechanism; when the module refuses
 * it, each optional usage restriction is left out in turn and the one it
 * refused is named in info->dropped (no optional attribute helping: the
 * error names the required template). Then the four protection attributes
 * are read back and the wrap probe runs. With HSM_KEYGEN_PROBE_REQUIRED, a
 * key the probe could wrap is destroyed and the call fails with
 * CA_ERR_KEY_UNSAFE.
 */
int hsm_keygen_ex(EVP_PKEY **pub_out, struct hsm_keygen_info *info,
    struct hsm *h, const char *uri, const struct hsm_pin *pin,
    enum hsm_key_type type, unsigned int flags)
    __attribute__((warn_unused_result));

/*
 * hsm_key_probe runs the wrap probe on an open key (for a key the module's
 * own tools made) and puts the outcome in *out and detail, and whether the
 * slot says it is hardware (CKF_HW_SLOT: 1, 0, -1 unknown) in *hardware. CA_OK whenever
 * the probe could be asked; the outcome may still be HSM_PROBE_NOT_RUN.
 */
int hsm_key_probe(struct hsm_key *k, enum hsm_wrap_probe *out,
    int *hardware, char *detail, size_t len)
    __attribute__((warn_unused_result));

/* Inventory, for the ceremony's first step. */
struct hsm_inv_key {
	char label[65];
	char id_hex[129];	/* CKA_ID in hex */
	char type[16];		/* "EC P-256", "RSA 3072", ... */
	int is_private;		/* private key object (else public key) */
	/* Attributes read with C_GetAttributeValue; -1 when unreadable. */
	int sensitive, always_sensitive, extractable, never_extractable;
	int sign, decrypt, unwrap, derive;
};

struct hsm_inv_token {
	unsigned long slot_id;
	char slot_description[65];
	int token_present;
	char label[33];
	char manufacturer[33];
	char model[17];
	char serial[17];
	char ident[192];	/* hsm_token_ident of the fields above */
	int hardware;		/* slot has CKF_HW_SLOT */
	int initialized, login_required, user_pin_locked;
	int keys_listed;	/* 0 when not logged in: only public objects */
	size_t nkeys;
	struct hsm_inv_key *keys;
};

struct hsm_inventory {
	char module_description[65];
	char module_manufacturer[33];
	size_t ntokens;
	struct hsm_inv_token *tokens;
};

/*
 * hsm_inventory lists every slot and token and the key objects on them.
 * When pin_source is not NULL it logs in to the token(s) matching
 * token_uri (a pkcs11: URI naming the token, or NULL for none) to list
 * private keys too. The caller frees the result with hsm_inventory_free.
 */
int hsm_inventory(struct hsm_inventory **out, struct hsm *h,
    const char *token_uri, const char *pin_source)
    __attribute__((warn_unused_result));
/*
 * hsm_inventory_pin: hsm_inventory with a PIN object (NULL: the token
 * URI's pin-source, if any; no login without either).
 */
int hsm_inventory_pin(struct hsm_inventory **out, struct hsm *h,
    const char *token_uri, const struct hsm_pin *pin)
    __attribute__((warn_unused_result));
void hsm_inventory_free(struct hsm_inventory *inv);

#endif /* HSM_H */
