/* SPDX-License-Identifier: ISC */
/*
 * pkcs11_uri: a strict parser for RFC 7512 "pkcs11:" URIs, the names of
 * tokens and keys everywhere in carapace.
 *
 * Supported path attributes (RFC 7512 section 2.3): token, manufacturer,
 * serial, model, object, id, type, slot-id, slot-description,
 * slot-manufacturer, library-manufacturer, library-description and
 * library-version. Query attributes: pin-source, module-path and
 * module-name. pin-value is refused on purpose: a PIN must not sit in a
 * configuration file or on a command line, so the parser tells the user to
 * use pin-source instead. Vendor attributes ("x-...") are accepted and
 * ignored; any other attribute name is an error.
 *
 * Values are percent-decoded. A duplicate attribute, a bad percent escape,
 * a character RFC 7512 does not allow unencoded, %00 inside a text
 * attribute, an empty value, a value or URI over the caps below, and any
 * scheme other than "pkcs11:" are errors (CA_ERR_INVALID) whose detail
 * names the attribute and the RFC 7512 rule. Error messages never repeat
 * the URI itself: it might carry a pin-value.
 */
#ifndef PKCS11_URI_H
#define PKCS11_URI_H

#include <stddef.h>

#include "common/ca_error.h"

/* Caps on untrusted input. */
#define PKCS11_URI_MAX_LEN	4096	/* the whole URI, encoded */
#define PKCS11_URI_MAX_VALUE	256	/* any decoded text value */
#define PKCS11_URI_MAX_ID	64	/* decoded CKA_ID bytes */
#define PKCS11_URI_MAX_PATH	1024	/* decoded pin-source / module-path */
/* Fixed-size fields of CK_TOKEN_INFO / CK_SLOT_INFO / CK_INFO. */
#define PKCS11_URI_MAX_TOKEN	32	/* token label */
#define PKCS11_URI_MAX_MANUF	32	/* manufacturerID fields */
#define PKCS11_URI_MAX_MODEL	16
#define PKCS11_URI_MAX_SERIAL	16
#define PKCS11_URI_MAX_SLOTDESC	64
#define PKCS11_URI_MAX_LIBDESC	32

enum pkcs11_uri_type {
	PKCS11_URI_TYPE_ANY = 0,	/* no type= attribute */
	PKCS11_URI_TYPE_PRIVATE,
	PKCS11_URI_TYPE_PUBLIC,
	PKCS11_URI_TYPE_CERT,
	PKCS11_URI_TYPE_SECRET_KEY,
	PKCS11_URI_TYPE_DATA,
};

/*
 * A parsed URI. A NULL string (or has_* == 0) means the attribute was
 * absent; strings are NUL-terminated decoded text without embedded NULs.
 */
struct pkcs11_uri {
	/* token and object */
	char *token;
	char *manufacturer;
	char *serial;
	char *model;
	char *object;
	unsigned char *id;
	size_t id_len;
	int has_id;
	enum pkcs11_uri_type type;
	/* slot */
	int has_slot_id;
	unsigned long slot_id;
	char *slot_description;
	char *slot_manufacturer;
	/* library */
	char *library_manufacturer;
	char *library_description;
	int has_library_version;
	int library_version_major, library_version_minor;
	/* query */
	char *pin_source;
	char *module_path;
	char *module_name;
};

/*
 * pkcs11_uri_parse parses uri. On success *out is a new struct that the
 * caller frees with pkcs11_uri_free. On failure *out is NULL and the
 * return value is CA_ERR_INVALID (or CA_ERR_NOMEM) with a detail message
 * naming the attribute and the RFC 7512 rule.
 */
int pkcs11_uri_parse(struct pkcs11_uri **out, const char *uri)
    __attribute__((warn_unused_result));

/* pkcs11_uri_free frees u; pkcs11_uri_free(NULL) does nothing. */
void pkcs11_uri_free(struct pkcs11_uri *u);

/*
 * pkcs11_uri_format writes u as a canonical, fully percent-encoded URI
 * (path attributes in a fixed order, then pin-source, module-path,
 * module-name) into buf, NUL-terminated. It is what error messages and
 * logs should show. Returns the length the URI needs (excluding the NUL),
 * like snprintf; the output is truncated when that is >= len.
 */
size_t pkcs11_uri_format(char *buf, size_t len, const struct pkcs11_uri *u);

/* pkcs11_uri_type_name: "private", "public", ... or "" for ANY. */
const char *pkcs11_uri_type_name(enum pkcs11_uri_type t);

#endif /* PKCS11_URI_H */
