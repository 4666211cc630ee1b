/* SPDX-License-Identifier: ISC */
/*
 * hsm_int: what the files of hsm/ share and nobody else may use.
 *
 * Locking: h->lock is a reader/writer lock. hsm_key_sign holds it shared
 * while it signs (signers never wait for each other); everything that
 * changes libp11's state (opening and freeing keys, key generation, the
 * inventory, the rebuild after a token loss, hsm_free) holds it
 * exclusively. The raw PKCS#11 calls (h->fl, the function list libp11
 * itself initialised, so that the module is initialised once and shares one
 * login) are made only while libp11's
 * context is loaded and initialised (h->loaded), under the lock, on
 * sessions private to the calling thread that are closed before the
 * function returns.
 *
 * Token loss: a failed signature that carries a PKCS#11 error, or that
 * finds the token gone, sets h->stale. The next hsm_key_sign takes the lock
 * exclusively, frees every key's EVP_PKEY, rebuilds the whole libp11
 * context (release slots, unload, load, enumerate) and reopens its own key
 * (find the token by label and serial, log in with the kept PIN, find the
 * key, check its attributes and that its public key did not change). Other
 * keys are reopened by their own next hsm_key_sign.
 */
#ifndef HSM_INT_H
#define HSM_INT_H

#include <limits.h>
#include <pthread.h>
#include <sys/types.h>

#include <libp11.h>
#include <p11-kit/pkcs11.h>

#include "hsm/hsm.h"
#include "hsm/pkcs11_uri.h"

/* Sizes of CK_TOKEN_INFO fields, plus the NUL. */
#define HSM_LABEL_LEN	33
#define HSM_SERIAL_LEN	17
/* A canonical URI for messages; longer ones are truncated. */
#define HSM_URI_TEXT	512
/* Most objects one search looks at. */
#define HSM_MAX_OBJECTS	256
/* Longest PIN we accept from a file or the environment. */
#define HSM_PIN_MAX	256

struct hsm_key {
	struct hsm_key *next;
	struct hsm *h;
	struct pkcs11_uri *uri;
	char uri_text[HSM_URI_TEXT];
	char *pin;			/* sodium_malloc'd, for re-login */
	char label[HSM_LABEL_LEN];	/* token label */
	char serial[HSM_SERIAL_LEN];	/* token serial */
	char ident[192];		/* hsm_token_ident, for messages */
	char unsafe[320];		/* why it fails the checks, or "" */
	EVP_PKEY *pkey;		/* libp11-backed private key, NULL if stale */
	int dead_rc;		/* non-zero: fails until reopened */
	unsigned char *spki;	/* DER SubjectPublicKeyInfo at first open */
	int spki_len;
};

struct hsm {
	char *module;
	char *init_args;
	int allow_unsafe_keys;
	pid_t pid;
	void *dl;		/* our own reference to the module */
	CK_FUNCTION_LIST *fl;	/* libp11's initialised instance, or NULL */
	PKCS11_CTX *ctx;
	int loaded;		/* libp11 context loaded and initialised */
	int stale;		/* rebuild before the next use; __atomic */
	PKCS11_SLOT *slots;
	unsigned int nslots;
	pthread_rwlock_t lock;
	struct hsm_key *keys;
	unsigned long generation;	/* rebuilds so far */
};

/* hsm.c */
int hsm_check_fork(const struct hsm *h) __attribute__((warn_unused_result));
int hsm_ctx_load(struct hsm *h) __attribute__((warn_unused_result));
void hsm_ctx_unload(struct hsm *h);
int hsm_ctx_ready(struct hsm *h) __attribute__((warn_unused_result));
int hsm_token_find(struct hsm *h, PKCS11_SLOT **out,
    const struct pkcs11_uri *u, const char *uri_text)
    __attribute__((warn_unused_result));
PKCS11_SLOT *hsm_slot_by_token(struct hsm *h, const char *label,
    const char *serial);
void hsm_copy_field(char *dst, size_t dstlen, const char *src);
int hsm_login(struct hsm *h, PKCS11_SLOT *slot, const char *pin)
    __attribute__((warn_unused_result));
unsigned long hsm_err_scan(void);
void hsm_uri_text(char *buf, size_t len, const struct pkcs11_uri *u);

/* hsm_pin.c */
/*
 * hsm_pin_copy puts a new sodium_malloc'd copy of pin in *out or, when pin
 * is NULL, the PIN read from uri_source (a URI's pin-source); both NULL
 * leaves *out NULL (no login). Free *out with hsm_pin_free.
 */
int hsm_pin_copy(char **out, const struct hsm_pin *pin,
    const char *uri_source) __attribute__((warn_unused_result));

/* hsm_raw.c */
/*
 * libp11 puts a CKR value into OpenSSL's error queue as a reason code, which
 * keeps only its low 23 bits (HSM_CKR_REASON_MASK). hsm_err_scan marks a
 * value that cannot be a whole standard code (more than 16 bits) with
 * HSM_CKR_LOW_BITS, so that hsm_ckr_name does not print a cut value as if
 * it were the module's.
 */
#define HSM_CKR_REASON_MASK	0x7fffffUL
#if ULONG_MAX > 0xffffffffUL
#define HSM_CKR_LOW_BITS	(1UL << 32)
#else
#define HSM_CKR_LOW_BITS	0UL
#endif
const char *hsm_ckr_name(unsigned long rv);
int hsm_raw_session(struct hsm *h, CK_SESSION_HANDLE *out, CK_SLOT_ID slot,
    int rw) __attribute__((warn_unused_result));
void hsm_raw_close(struct hsm *h, CK_SESSION_HANDLE s);
int hsm_raw_find(struct hsm *h, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
    CK_ULONG ntmpl, CK_OBJECT_HANDLE *objs, CK_ULONG max, CK_ULONG *count)
    __attribute__((warn_unused_result));
int hsm_raw_bool(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type);
int hsm_raw_ulong(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, CK_ULONG *out);
int hsm_raw_alloc(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, unsigned char **out, size_t *out_len)
    __attribute__((warn_unused_result));
int hsm_raw_token_present(struct hsm *h, const char *label,
    const char *serial);
CK_ULONG hsm_raw_key_template(CK_ATTRIBUTE *tmpl, CK_OBJECT_CLASS *cls,
    const struct pkcs11_uri *u);
int hsm_raw_key_check(struct hsm *h, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE o, const char *what)
    __attribute__((warn_unused_result));
int hsm_raw_public(EVP_PKEY **out, struct hsm *h, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE pub, const char *what)
    __attribute__((warn_unused_result));
int hsm_raw_key_desc(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    char *buf, size_t len);

/* hsm_wrap.c */
/*
 * hsm_wrap_probe tries to wrap private key priv with an AES key made for
 * this session only (s must be read-write) and says what happened in
 * detail; a wrapped key is wiped at once.
 */
enum hsm_wrap_probe hsm_wrap_probe(struct hsm *h, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE priv, char *detail, size_t len);

#endif /* HSM_INT_H */
