/* SPDX-License-Identifier: ISC */
/*
 * hsm: the module and the libp11 context. This file opens and frees the
 * struct hsm, loads and unloads (and, after a token loss, rebuilds) the one
 * libp11 context of the process, finds a token by the attributes of a
 * pkcs11: URI, and logs in, turning libp11's PKCS#11 error codes into
 * errors that name the token. A wrong PIN is reported once and never
 * retried: a real token locks its PIN after a few failures.
 *
 * One module instance: the raw PKCS#11 calls of hsm/ use the very function
 * list libp11 loaded and initialised (C_Initialize, with the init args),
 * never one of our own. Modules such as p11-kit-client.so and
 * p11-kit-proxy.so hand out a new, separately initialised instance for
 * every C_GetFunctionList call; a second list of our own would answer
 * CKR_CRYPTOKI_NOT_INITIALIZED and would not share libp11's login.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>

#include "hsm/hsm_int.h"

static const struct {
	const char *name;
	enum hsm_key_type type;
} key_types[] = {
	{ "ec-p256", HSM_KEY_EC_P256 },
	{ "p256", HSM_KEY_EC_P256 },
	{ "p-256", HSM_KEY_EC_P256 },
	{ "prime256v1", HSM_KEY_EC_P256 },
	{ "secp256r1", HSM_KEY_EC_P256 },
	{ "ec-p384", HSM_KEY_EC_P384 },
	{ "p384", HSM_KEY_EC_P384 },
	{ "p-384", HSM_KEY_EC_P384 },
	{ "secp384r1", HSM_KEY_EC_P384 },
	{ "rsa-2048", HSM_KEY_RSA_2048 },
	{ "rsa2048", HSM_KEY_RSA_2048 },
	{ "rsa:2048", HSM_KEY_RSA_2048 },
	{ "rsa-3072", HSM_KEY_RSA_3072 },
	{ "rsa3072", HSM_KEY_RSA_3072 },
	{ "rsa:3072", HSM_KEY_RSA_3072 },
	{ "rsa-4096", HSM_KEY_RSA_4096 },
	{ "rsa4096", HSM_KEY_RSA_4096 },
	{ "rsa:4096", HSM_KEY_RSA_4096 },
};

int
hsm_key_type_parse(enum hsm_key_type *out, const char *s)
{
	size_t i;

	if (s == NULL)
		return ca_error(CA_ERR_USAGE, "key type: none given");
	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strcasecmp(s, key_types[i].name) == 0) {
			*out = key_types[i].type;
			return CA_OK;
		}
	}
	return ca_error(CA_ERR_UNSUPPORTED, "key type \"%.64s\": not supported "
	    "(use ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096)", s);
}

const char *
hsm_key_type_name(enum hsm_key_type t)
{
	switch (t) {
	case HSM_KEY_EC_P256:
		return "ec-p256";
	case HSM_KEY_EC_P384:
		return "ec-p384";
	case HSM_KEY_RSA_2048:
		return "rsa-2048";
	case HSM_KEY_RSA_3072:
		return "rsa-3072";
	case HSM_KEY_RSA_4096:
		return "rsa-4096";
	}
	return "unknown";
}

void
hsm_uri_text(char *buf, size_t len, const struct pkcs11_uri *u)
{
	if (pkcs11_uri_format(buf, len, u) >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

/*
 * hsm_copy_field copies a libp11 string (or NULL) into a fixed buffer,
 * without the blanks PKCS#11 pads its fields with.
 */
void
hsm_copy_field(char *dst, size_t dstlen, const char *src)
{
	size_t n;

	if (dstlen == 0)
		return;
	if (src == NULL)
		src = "";
	n = strnlen(src, dstlen - 1);
	memmove(dst, src, n);
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

int
hsm_serial_meaningless(const char *serial)
{
	if (serial == NULL)
		return 1;
	for (; *serial != '\0'; serial++)
		if (*serial != '0' && *serial != ' ')
			return 0;
	return 1;
}

void
hsm_token_ident(char *buf, size_t len, const char *label,
    const char *manufacturer, const char *model, const char *serial)
{
	char l[HSM_LABEL_LEN], m[HSM_LABEL_LEN], mo[HSM_LABEL_LEN];
	char sn[HSM_SERIAL_LEN];

	hsm_copy_field(l, sizeof(l), label);
	hsm_copy_field(m, sizeof(m), manufacturer);
	hsm_copy_field(mo, sizeof(mo), model);
	hsm_copy_field(sn, sizeof(sn), serial);
	snprintf(buf, len, "token \"%s\" (manufacturer \"%s\", model \"%s\", "
	    "serial %s)", l, m, mo, hsm_serial_meaningless(sn) ?
	    "none: empty or all zeros, it identifies nothing" : sn);
}

/*
 * hsm_err_scan empties OpenSSL's error queue and returns the last
 * PKCS#11 return value libp11 put there (CKR_...), or 0 when there was
 * none; a vendor code cut to its low bits is marked HSM_CKR_LOW_BITS.
 */
unsigned long
hsm_err_scan(void)
{
	unsigned long e, ckr = 0;
	int lib = ERR_get_CKR_code();

	while ((e = ERR_get_error()) != 0)
		if (lib != 0 && ERR_GET_LIB(e) == lib)
			ckr = ERR_GET_REASON(e);
	/* No standard CKR needs 16 bits: this is a cut vendor code. */
	if (ckr > 0xffffUL)
		ckr |= HSM_CKR_LOW_BITS;
	return ckr;
}

int
hsm_check_fork(const struct hsm *h)
{
	if (h->pid != getpid())
		return ca_error(CA_ERR_USAGE, "PKCS#11 module %s: loaded before "
		    "fork(); open the hsm in the process that uses it",
		    h->module);
	return CA_OK;
}

/*
 * libp11 0.4.11 to 0.4.13 (configure checks the version) keep the function
 * list they initialised as the first member of the context's private part;
 * libp11 has no call that returns it. ctx_function_list takes it from
 * there and makes sure it is that instance: C_GetInfo must answer
 * (an instance nobody initialised answers CKR_CRYPTOKI_NOT_INITIALIZED) with
 * the manufacturer libp11 read at load time.
 */
struct libp11_ctx_private_prefix {
	CK_FUNCTION_LIST *method;
	void *module;		/* libp11's C_LoadModule result */
};

/* What C_LoadModule returns in libp11 0.4.11 to 0.4.13. */
#define LIBP11_MODULE_MAGIC 0xd00bed00u
struct libp11_module_prefix {
	unsigned int magic;
	void *dl;		/* the module's dlopen handle */
};

static int
ctx_function_list(struct hsm *h)
{
	const struct libp11_ctx_private_prefix *p = h->ctx->_private;
	CK_FUNCTION_LIST *fl;
	CK_INFO info;
	char have[HSM_LABEL_LEN], want[HSM_LABEL_LEN], tmp[HSM_LABEL_LEN];
	const struct libp11_module_prefix *mod;
	void *self;
	int same;
	CK_RV rv;

	h->fl = NULL;
	if (p == NULL)
		return ca_error(CA_ERR_HSM, "PKCS#11 module %s: libp11 holds "
		    "no context for it", h->module);
	/*
	 * Before anything is called through it: the member after the list
	 * must be libp11's module record, and that record must hold the
	 * module's own dlopen handle. Otherwise this libp11 lays its context
	 * out differently (an upgrade with the same soname) and the first
	 * member is not a function list at all.
	 */
	mod = p->module;
	self = dlopen(h->module, RTLD_NOW | RTLD_NOLOAD);
	same = self != NULL && mod != NULL &&
	    mod->magic == LIBP11_MODULE_MAGIC && mod->dl == self;
	if (self != NULL)
		dlclose(self);
	if (!same)
		return ca_error(CA_ERR_HSM, "PKCS#11 module %s: libp11's "
		    "context does not hold the module where this build expects "
		    "it; this libp11 version is not supported (0.4.11 to 0.4.13 "
		    "are)", h->module);
	if ((fl = p->method) == NULL || fl->C_GetInfo == NULL)
		return ca_error(CA_ERR_HSM, "PKCS#11 module %s: libp11 holds "
		    "no function list for it", h->module);
	if ((rv = fl->C_GetInfo(&info)) != CKR_OK)
		return ca_error(CA_ERR_HSM, "PKCS#11 module %s: the function "
		    "list libp11 initialised does not answer C_GetInfo: %s",
		    h->module, hsm_ckr_name(rv));
	memcpy(tmp, info.manufacturerID, sizeof(info.manufacturerID));
	tmp[sizeof(info.manufacturerID)] = '\0';
	hsm_copy_field(have, sizeof(have), tmp);
	hsm_copy_field(want, sizeof(want), h->ctx->manufacturer);
	if (strcmp(have, want) != 0)
		return ca_error(CA_ERR_HSM, "PKCS#11 module %s: the function "
		    "list found in libp11's context is not the module's "
		    "(manufacturer \"%s\", libp11 says \"%s\"); this libp11 "
		    "version is not supported", h->module, have, want);
	h->fl = fl;
	return CA_OK;
}

/*
 * hsm_ctx_load loads the module into a new libp11 context and takes the
 * context's function list for the raw calls.
 */
int
hsm_ctx_load(struct hsm *h)
{
	unsigned long ckr;
	int rc;

	if (h->loaded)
		return CA_OK;
	ERR_clear_error();
	if ((h->ctx = PKCS11_CTX_new()) == NULL)
		return ca_error(CA_ERR_NOMEM, "libp11: cannot create a context");
	if (h->init_args != NULL)
		PKCS11_CTX_init_args(h->ctx, h->init_args);
	if (PKCS11_CTX_load(h->ctx, h->module) != 0) {
		ckr = hsm_err_scan();
		PKCS11_CTX_free(h->ctx);
		h->ctx = NULL;
		return ca_error(CA_ERR_HSM, "PKCS#11 module %s: cannot be "
		    "loaded or initialised%s%s", h->module, ckr ? ": " : "",
		    ckr ? hsm_ckr_name(ckr) : "");
	}
	if (PKCS11_enumerate_slots(h->ctx, &h->slots, &h->nslots) != 0) {
		ckr = hsm_err_scan();
		PKCS11_CTX_unload(h->ctx);
		PKCS11_CTX_free(h->ctx);
		h->ctx = NULL;
		return ca_error(CA_ERR_HSM, "PKCS#11 module %s: cannot list "
		    "slots%s%s", h->module, ckr ? ": " : "",
		    ckr ? hsm_ckr_name(ckr) : "");
	}
	h->loaded = 1;
	if ((rc = ctx_function_list(h)) != CA_OK) {
		hsm_ctx_unload(h);
		return rc;
	}
	return CA_OK;
}

/*
 * hsm_ctx_unload frees every key's EVP_PKEY (they point into libp11's
 * slots), releases the slots and unloads the module.
 */
void
hsm_ctx_unload(struct hsm *h)
{
	struct hsm_key *k;

	for (k = h->keys; k != NULL; k = k->next) {
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
	}
	if (h->ctx == NULL)
		return;
	if (h->slots != NULL)
		PKCS11_release_all_slots(h->ctx, h->slots, h->nslots);
	h->slots = NULL;
	h->nslots = 0;
	if (h->loaded)
		PKCS11_CTX_unload(h->ctx);
	PKCS11_CTX_free(h->ctx);
	h->ctx = NULL;
	h->fl = NULL;
	h->loaded = 0;
	ERR_clear_error();
}

/*
 * hsm_ctx_ready makes sure the context is loaded, rebuilding it first when
 * a token loss marked it stale. The caller holds h->lock exclusively.
 */
int
hsm_ctx_ready(struct hsm *h)
{
	int rc;

	if ((rc = hsm_check_fork(h)) != CA_OK)
		return rc;
	if (__atomic_load_n(&h->stale, __ATOMIC_ACQUIRE)) {
		hsm_ctx_unload(h);
		h->generation++;
		__atomic_store_n(&h->stale, 0, __ATOMIC_RELEASE);
	}
	return hsm_ctx_load(h);
}

int
hsm_open(struct hsm **out, const struct hsm_config *cfg)
{
	struct hsm *h = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (cfg == NULL || cfg->module == NULL || *cfg->module == '\0')
		return ca_error(CA_ERR_CONFIG, "hsm: no PKCS#11 module path "
		    "configured");
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return ca_error(CA_ERR_NOMEM, "hsm: out of memory");
	h->pid = getpid();
	h->allow_unsafe_keys = cfg->allow_unsafe_keys;
	if (pthread_rwlock_init(&h->lock, NULL) != 0) {
		free(h);
		return ca_error(CA_ERR_INTERNAL, "hsm: cannot create a lock");
	}
	if ((h->module = strdup(cfg->module)) == NULL ||
	    (cfg->init_args != NULL &&
	    (h->init_args = strdup(cfg->init_args)) == NULL)) {
		rc = ca_error(CA_ERR_NOMEM, "hsm: out of memory");
		goto out;
	}
	/*
	 * Our own reference keeps the module mapped across libp11's unload
	 * and load during a rebuild, and names a path that cannot be loaded
	 * with dlerror()'s reason. Its function list is not ours to call:
	 * see ctx_function_list. RTLD_NODELETE keeps it mapped after the
	 * last dlclose, until the process exits: a leak inside the module
	 * then shows the module's name in LeakSanitizer's report (not
	 * "<unknown module>"), so tests/lsan.supp can leave out leaks in
	 * third-party modules by file name and nothing else.
	 */
	if ((h->dl = dlopen(h->module, RTLD_NOW | RTLD_LOCAL |
	    RTLD_NODELETE)) == NULL) {
		rc = ca_error(CA_ERR_CONFIG, "PKCS#11 module %s: cannot be "
		    "loaded: %s", h->module, dlerror());
		goto out;
	}
	if (dlsym(h->dl, "C_GetFunctionList") == NULL) {
		rc = ca_error(CA_ERR_CONFIG, "PKCS#11 module %s: no "
		    "C_GetFunctionList; not a PKCS#11 module", h->module);
		goto out;
	}
	if ((rc = hsm_ctx_load(h)) != CA_OK)
		goto out;
	*out = h;
	h = NULL;
	rc = CA_OK;
 out:
	hsm_free(h);
	return rc;
}

void
hsm_free(struct hsm *h)
{
	struct hsm_key *k;

	if (h == NULL)
		return;
	while ((k = h->keys) != NULL) {
		h->keys = k->next;
		k->next = NULL;
		k->h = NULL;
		hsm_key_free(k);
	}
	if (h->pid == getpid())
		hsm_ctx_unload(h);
	if (h->dl != NULL)
		dlclose(h->dl);
	pthread_rwlock_destroy(&h->lock);
	free(h->module);
	free(h->init_args);
	free(h);
}

static int
field_eq(const char *want, const char *have)
{
	char buf[HSM_URI_TEXT];

	if (want == NULL)
		return 1;
	hsm_copy_field(buf, sizeof(buf), have);
	return strcmp(want, buf) == 0;
}

static int
slot_matches(PKCS11_SLOT *s, const struct pkcs11_uri *u)
{
	PKCS11_TOKEN *t = s->token;

	if (t == NULL || !t->initialized)
		return 0;
	if (u->has_slot_id && PKCS11_get_slotid_from_slot(s) != u->slot_id)
		return 0;
	return field_eq(u->token, t->label) &&
	    field_eq(u->serial, t->serialnr) &&
	    field_eq(u->manufacturer, t->manufacturer) &&
	    field_eq(u->model, t->model) &&
	    field_eq(u->slot_description, s->description) &&
	    field_eq(u->slot_manufacturer, s->manufacturer);
}

/*
 * hsm_token_find returns the one slot whose token matches u's token and
 * slot attributes: CA_ERR_TOKEN_ABSENT when none does, CA_ERR_USAGE when
 * several do (the URI must say which).
 */
int
hsm_token_find(struct hsm *h, PKCS11_SLOT **out, const struct pkcs11_uri *u,
    const char *uri_text)
{
	PKCS11_SLOT *found = NULL;
	unsigned int i, n = 0;

	*out = NULL;
	for (i = 0; i < h->nslots; i++) {
		if (slot_matches(&h->slots[i], u)) {
			if (found == NULL)
				found = &h->slots[i];
			n++;
		}
	}
	if (n == 0)
		return ca_error(CA_ERR_TOKEN_ABSENT, "%s: no token matching "
		    "this URI is present in module %s", uri_text, h->module);
	if (n > 1)
		return ca_error(CA_ERR_USAGE, "%s: %u tokens match; name one "
		    "with token= and serial=", uri_text, n);
	*out = found;
	return CA_OK;
}

PKCS11_SLOT *
hsm_slot_by_token(struct hsm *h, const char *label, const char *serial)
{
	unsigned int i;
	PKCS11_SLOT *s;

	for (i = 0; i < h->nslots; i++) {
		s = &h->slots[i];
		if (s->token != NULL && s->token->initialized &&
		    field_eq(label, s->token->label) &&
		    field_eq(serial, s->token->serialnr))
			return s;
	}
	return NULL;
}

/*
 * hsm_login logs in as the user to slot's token unless libp11 is logged
 * in already. A refused PIN is CA_ERR_PIN (or CA_ERR_PIN_LOCKED) naming
 * the token; the caller must not try again.
 */
int
hsm_login(struct hsm *h, PKCS11_SLOT *slot, const char *pin)
{
	char id[192];
	unsigned long ckr;
	int logged = 0;

	hsm_token_ident(id, sizeof(id), slot->token->label,
	    slot->token->manufacturer, slot->token->model,
	    slot->token->serialnr);
	if (PKCS11_is_logged_in(slot, 0, &logged) == 0 && logged)
		return CA_OK;
	if (slot->token->userPinLocked)
		return ca_error(CA_ERR_PIN_LOCKED, "%s: "
		    "the user PIN is locked; the security officer must reset "
		    "it", id);
	if (pin == NULL)
		return ca_error(CA_ERR_USAGE, "%s: a PIN "
		    "is needed (pin-source=file:... or env:NAME)", id);
	ERR_clear_error();
	if (PKCS11_login(slot, 0, pin) == 0)
		return CA_OK;
	ckr = hsm_err_scan();
	switch (ckr) {
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		return ca_error(CA_ERR_PIN, "%s: the "
		    "PIN was refused (%s); not retrying, since repeated "
		    "failures lock the token", id,
		    hsm_ckr_name(ckr));
	case CKR_PIN_LOCKED:
		return ca_error(CA_ERR_PIN_LOCKED, "%s: "
		    "the user PIN is locked; the security officer must reset "
		    "it", id);
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_DEVICE_REMOVED:
		return ca_error(CA_ERR_TOKEN_ABSENT, "%s: not present (%s)", id,
		    hsm_ckr_name(ckr));
	default:
		return ca_error(CA_ERR_HSM, "%s: login "
		    "failed (%s); not retrying", id,
		    ckr ? hsm_ckr_name(ckr) : "no PKCS#11 error code");
	}
}
