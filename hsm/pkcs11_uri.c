/* SPDX-License-Identifier: ISC */
/*
 * pkcs11_uri: RFC 7512 "pkcs11:" URI parser and canonical formatter.
 *
 * The parser follows the ABNF of RFC 7512 section 2.3 strictly: a path of
 * ";"-separated attributes, an optional query of "&"-separated attributes,
 * only the characters the grammar allows unencoded, and two-digit percent
 * escapes. It caps every value (PKCS#11's fixed-size fields where there is
 * one) and the whole URI, refuses duplicates and unknown attributes, and
 * refuses pin-value outright. The input is untrusted (configuration files,
 * ceremony files, command lines), so it has a fuzz target
 * (tests/fuzz/fuzz_pkcs11_uri.c) whose seed corpus every `make check`
 * replays, and error messages never echo the URI (it may carry a PIN):
 * they name the attribute and the rule instead.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hsm/pkcs11_uri.h"

#define RFC	"RFC 7512 section 2.3"
#define PFX	"pkcs11 URI: " RFC ": "

enum attr_kind {
	K_TEXT,		/* decoded text, no NUL */
	K_PATH,		/* text for a file name (pin-source, module-path) */
	K_ID,		/* raw bytes */
	K_TYPE,
	K_SLOT_ID,
	K_LIBVER,
};

struct attr_def {
	const char *name;
	int query;		/* 1: query attribute, 0: path attribute */
	enum attr_kind kind;
	size_t max;		/* decoded length cap */
	size_t off;		/* offset of the char * field (K_TEXT, K_PATH) */
};

#define F(field) offsetof(struct pkcs11_uri, field)

static const struct attr_def attrs[] = {
	{ "token", 0, K_TEXT, PKCS11_URI_MAX_TOKEN, F(token) },
	{ "manufacturer", 0, K_TEXT, PKCS11_URI_MAX_MANUF, F(manufacturer) },
	{ "serial", 0, K_TEXT, PKCS11_URI_MAX_SERIAL, F(serial) },
	{ "model", 0, K_TEXT, PKCS11_URI_MAX_MODEL, F(model) },
	{ "object", 0, K_TEXT, PKCS11_URI_MAX_VALUE, F(object) },
	{ "id", 0, K_ID, PKCS11_URI_MAX_ID, 0 },
	{ "type", 0, K_TYPE, 16, 0 },
	{ "slot-id", 0, K_SLOT_ID, 20, 0 },
	{ "slot-description", 0, K_TEXT, PKCS11_URI_MAX_SLOTDESC,
	    F(slot_description) },
	{ "slot-manufacturer", 0, K_TEXT, PKCS11_URI_MAX_MANUF,
	    F(slot_manufacturer) },
	{ "library-manufacturer", 0, K_TEXT, PKCS11_URI_MAX_MANUF,
	    F(library_manufacturer) },
	{ "library-description", 0, K_TEXT, PKCS11_URI_MAX_LIBDESC,
	    F(library_description) },
	{ "library-version", 0, K_LIBVER, 16, 0 },
	{ "pin-source", 1, K_PATH, PKCS11_URI_MAX_PATH, F(pin_source) },
	{ "module-path", 1, K_PATH, PKCS11_URI_MAX_PATH, F(module_path) },
	{ "module-name", 1, K_TEXT, PKCS11_URI_MAX_VALUE, F(module_name) },
};

#define NATTRS (sizeof(attrs) / sizeof(attrs[0]))

static const char *type_names[] = {
	[PKCS11_URI_TYPE_ANY] = "",
	[PKCS11_URI_TYPE_PRIVATE] = "private",
	[PKCS11_URI_TYPE_PUBLIC] = "public",
	[PKCS11_URI_TYPE_CERT] = "cert",
	[PKCS11_URI_TYPE_SECRET_KEY] = "secret-key",
	[PKCS11_URI_TYPE_DATA] = "data",
};

const char *
pkcs11_uri_type_name(enum pkcs11_uri_type t)
{
	if ((size_t)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "";
	return type_names[t];
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_unreserved(int c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' ||
	    c == '_' || c == '~';
}

/* pk11-res-avail */
static int
is_res_avail(int c)
{
	return c != '\0' && strchr(":[]@!$'()*+,=", c) != NULL;
}

/* pk11-pchar without pct-encoded */
static int
is_pchar(int c)
{
	return is_unreserved(c) || is_res_avail(c) || c == '&';
}

/* pk11-qchar without pct-encoded */
static int
is_qchar(int c)
{
	return is_unreserved(c) || is_res_avail(c) || c == '/' || c == '?' ||
	    c == '|';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * safe_name copies an attribute name for an error message: at most 32
 * characters, anything outside [A-Za-z0-9-._~] shown as %XX.
 */
static const char *
safe_name(char *buf, size_t buflen, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n && i < 32 && o + 4 < buflen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c)) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (i < n && o + 4 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

void
pkcs11_uri_free(struct pkcs11_uri *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < NATTRS; i++)
		if (attrs[i].kind == K_TEXT || attrs[i].kind == K_PATH)
			free(*(char **)((char *)u + attrs[i].off));
	free(u->id);
	free(u);
}

/*
 * decode percent-decodes the raw value v[0..n) of attribute a into a new
 * NUL-terminated buffer, checking the characters the component allows.
 */
static int
decode(unsigned char **out, size_t *out_len, const struct attr_def *a,
    const char *v, size_t n)
{
	unsigned char *buf;
	size_t i, o = 0;
	int hi, lo;

	*out = NULL;
	if (n == 0)
		return ca_error(CA_ERR_INVALID, PFX "attribute \"%s\": empty "
		    "value", a->name);
	if ((buf = malloc(n + 1)) == NULL)
		return ca_error(CA_ERR_NOMEM, "pkcs11 URI: out of memory");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '%') {
			if (n - i < 3 || (hi = hexval(v[i + 1])) < 0 ||
			    (lo = hexval(v[i + 2])) < 0) {
				free(buf);
				return ca_error(CA_ERR_INVALID, PFX
				    "attribute \"%s\": bad percent escape at "
				    "offset %zu (must be %% and two hex "
				    "digits)", a->name, i);
			}
			c = (unsigned char)(hi << 4 | lo);
			if (c == 0 && a->kind != K_ID) {
				free(buf);
				return ca_error(CA_ERR_INVALID, PFX
				    "attribute \"%s\": %%00 is not allowed in "
				    "a text attribute", a->name);
			}
			i += 2;
		} else if (!(a->query ? is_qchar(c) : is_pchar(c))) {
			free(buf);
			return ca_error(CA_ERR_INVALID, PFX "attribute \"%s\": "
			    "character 0x%02x at offset %zu must be "
			    "percent-encoded in the %s", a->name, c, i,
			    a->query ? "query" : "path");
		}
		if (o >= a->max) {
			free(buf);
			return ca_error(CA_ERR_INVALID, PFX "attribute \"%s\": "
			    "value longer than %zu bytes", a->name, a->max);
		}
		buf[o++] = c;
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return CA_OK;
}

static int
parse_ulong(unsigned long *out, const char *s, unsigned long max)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!is_digit((unsigned char)*s))
			return -1;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

/* set stores the decoded value val (ownership moves) into u. */
static int
set(struct pkcs11_uri *u, const struct attr_def *a, unsigned char *val,
    size_t len)
{
	unsigned long v, minor = 0;
	char *dot;
	size_t i;
	int rc = CA_ERR_INVALID;

	switch (a->kind) {
	case K_TEXT:
	case K_PATH:
		if (strcmp(a->name, "module-path") == 0 && val[0] != '/') {
			rc = ca_error(CA_ERR_INVALID, PFX "attribute "
			    "\"module-path\": must be an absolute path");
			goto out;
		}
		if (strcmp(a->name, "module-name") == 0 &&
		    strchr((char *)val, '/') != NULL) {
			rc = ca_error(CA_ERR_INVALID, PFX "attribute "
			    "\"module-name\": a module name has no \"/\" "
			    "(use module-path for a path)");
			goto out;
		}
		*(char **)((char *)u + a->off) = (char *)val;
		val = NULL;
		break;
	case K_ID:
		u->id = val;
		u->id_len = len;
		u->has_id = 1;
		val = NULL;
		break;
	case K_TYPE:
		for (i = 1; i < sizeof(type_names) / sizeof(type_names[0]); i++)
			if (strcmp((char *)val, type_names[i]) == 0)
				break;
		if (i == sizeof(type_names) / sizeof(type_names[0])) {
			rc = ca_error(CA_ERR_INVALID, PFX "attribute \"type\": "
			    "must be public, private, cert, secret-key or "
			    "data");
			goto out;
		}
		u->type = (enum pkcs11_uri_type)i;
		break;
	case K_SLOT_ID:
		if (parse_ulong(&v, (char *)val, (unsigned long)-1) == -1) {
			rc = ca_error(CA_ERR_INVALID, PFX "attribute "
			    "\"slot-id\": must be a decimal CK_SLOT_ID");
			goto out;
		}
		u->slot_id = v;
		u->has_slot_id = 1;
		break;
	case K_LIBVER:
		if ((dot = strchr((char *)val, '.')) != NULL)
			*dot++ = '\0';
		if (parse_ulong(&v, (char *)val, 255) == -1 ||
		    (dot != NULL && parse_ulong(&minor, dot, 255) == -1)) {
			rc = ca_error(CA_ERR_INVALID, PFX "attribute "
			    "\"library-version\": must be M or M.N with "
			    "decimal numbers up to 255");
			goto out;
		}
		u->library_version_major = (int)v;
		u->library_version_minor = (int)minor;
		u->has_library_version = 1;
		break;
	}
	rc = CA_OK;
 out:
	free(val);
	return rc;
}

/*
 * parse_attr handles one "name=value" of the path (query == 0) or the
 * query (query == 1); s[0..n) is the raw text.
 */
static int
parse_attr(struct pkcs11_uri *u, unsigned int *seen, const char *s, size_t n,
    int query)
{
	const char *eq, *v;
	const struct attr_def *a = NULL;
	struct attr_def vendor;
	unsigned char *val = NULL;
	size_t nlen, vlen, i, len;
	char nbuf[128];
	int rc;

	if (n == 0)
		return ca_error(CA_ERR_INVALID, PFX "empty attribute in the %s "
		    "(stray \"%s\")", query ? "query" : "path",
		    query ? "&" : ";");
	if ((eq = memchr(s, '=', n)) == NULL)
		return ca_error(CA_ERR_INVALID, PFX "attribute \"%s\" has no "
		    "\"=value\"", safe_name(nbuf, sizeof(nbuf), s, n));
	nlen = (size_t)(eq - s);
	v = eq + 1;
	vlen = n - nlen - 1;
	if (nlen == 0)
		return ca_error(CA_ERR_INVALID, PFX "attribute with an empty "
		    "name in the %s", query ? "query" : "path");

	if (nlen == 9 && memcmp(s, "pin-value", 9) == 0)
		return ca_error(CA_ERR_INVALID, "pkcs11 URI: pin-value is "
		    "refused: a PIN must not be written in a URI, a "
		    "configuration file or a command line; put it in a file "
		    "readable only by its owner and use "
		    "pin-source=file:/path (RFC 7512 section 2.3)");

	for (i = 0; i < NATTRS; i++)
		if (strlen(attrs[i].name) == nlen &&
		    memcmp(attrs[i].name, s, nlen) == 0)
			break;
	if (i < NATTRS) {
		a = &attrs[i];
		if (a->query != query)
			return ca_error(CA_ERR_INVALID, PFX "attribute \"%s\" "
			    "is a %s attribute and may not appear in the %s",
			    a->name, a->query ? "query" : "path",
			    query ? "query" : "path");
		if (*seen & (1u << i))
			return ca_error(CA_ERR_INVALID, PFX "attribute \"%s\" "
			    "appears more than once", a->name);
		*seen |= 1u << i;
		if ((rc = decode(&val, &len, a, v, vlen)) != CA_OK)
			return rc;
		return set(u, a, val, len);
	}

	/* Vendor-specific attributes: x-name, checked and ignored. */
	if (nlen > 2 && memcmp(s, "x-", 2) == 0) {
		for (i = 2; i < nlen; i++)
			if (!is_alpha((unsigned char)s[i]) &&
			    !is_digit((unsigned char)s[i]) && s[i] != '-' &&
			    s[i] != '.' && s[i] != '_')
				break;
		if (i == nlen) {
			vendor.name = "x-";
			vendor.query = query;
			vendor.kind = K_ID;
			vendor.max = PKCS11_URI_MAX_LEN;
			vendor.off = 0;
			if (vlen == 0)
				return CA_OK;
			if ((rc = decode(&val, &len, &vendor, v, vlen)) !=
			    CA_OK)
				return rc;
			free(val);
			return CA_OK;
		}
	}
	return ca_error(CA_ERR_INVALID, PFX "unknown attribute \"%s\" in the "
	    "%s (vendor attributes must start with \"x-\")",
	    safe_name(nbuf, sizeof(nbuf), s, nlen), query ? "query" : "path");
}

int
pkcs11_uri_parse(struct pkcs11_uri **out, const char *uri)
{
	struct pkcs11_uri *u = NULL;
	const char *p, *end, *q, *sep;
	unsigned int seen = 0;
	size_t len;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (uri == NULL || *uri == '\0')
		return ca_error(CA_ERR_INVALID, "pkcs11 URI: RFC 7512 section "
		    "2.3: empty URI (expected \"pkcs11:...\")");
	len = strnlen(uri, PKCS11_URI_MAX_LEN + 1);
	if (len > PKCS11_URI_MAX_LEN)
		return ca_error(CA_ERR_INVALID, "pkcs11 URI: longer than %d "
		    "bytes", PKCS11_URI_MAX_LEN);
	if (len < 7 || strncasecmp(uri, "pkcs11:", 7) != 0)
		return ca_error(CA_ERR_INVALID, "pkcs11 URI: RFC 7512 section "
		    "2.3: the scheme must be \"pkcs11:\"");
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return ca_error(CA_ERR_NOMEM, "pkcs11 URI: out of memory");

	p = uri + 7;
	end = uri + len;
	if ((q = memchr(p, '?', (size_t)(end - p))) == NULL)
		q = end;
	/* Path: [ pattr *( ";" pattr ) ] */
	if (q > p) {
		for (;;) {
			if ((sep = memchr(p, ';', (size_t)(q - p))) == NULL)
				sep = q;
			if ((rc = parse_attr(u, &seen, p, (size_t)(sep - p), 0))
			    != CA_OK)
				goto out;
			if (sep == q)
				break;
			p = sep + 1;
		}
	}
	/* Query: [ qattr *( "&" qattr ) ] */
	if (q < end) {
		p = q + 1;
		if (p == end) {
			rc = ca_error(CA_ERR_INVALID, PFX "empty query after "
			    "\"?\"");
			goto out;
		}
		for (;;) {
			if ((sep = memchr(p, '&', (size_t)(end - p))) == NULL)
				sep = end;
			if ((rc = parse_attr(u, &seen, p, (size_t)(sep - p), 1))
			    != CA_OK)
				goto out;
			if (sep == end)
				break;
			p = sep + 1;
		}
	}
	*out = u;
	u = NULL;
	rc = CA_OK;
 out:
	pkcs11_uri_free(u);
	return rc;
}

/* Formatting. */

struct fmt {
	char *buf;
	size_t len;
	size_t pos;
};

static void
fmt_put(struct fmt *f, char c)
{
	if (f->pos + 1 < f->len)
		f->buf[f->pos] = c;
	f->pos++;
}

static void
fmt_str(struct fmt *f, const char *s)
{
	while (*s != '\0')
		fmt_put(f, *s++);
}

static void
fmt_enc(struct fmt *f, const unsigned char *v, size_t n, int query, int all)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		if (!all && (is_unreserved(v[i]) ||
		    (query && (v[i] == '/' || v[i] == ':')))) {
			fmt_put(f, (char)v[i]);
		} else {
			fmt_put(f, '%');
			fmt_put(f, hex[v[i] >> 4]);
			fmt_put(f, hex[v[i] & 15]);
		}
	}
}

static void
fmt_attr(struct fmt *f, int *first, char sep, const char *name,
    const unsigned char *v, size_t n, int query, int all)
{
	if (!*first)
		fmt_put(f, sep);
	*first = 0;
	fmt_str(f, name);
	fmt_put(f, '=');
	fmt_enc(f, v, n, query, all);
}

size_t
pkcs11_uri_format(char *buf, size_t len, const struct pkcs11_uri *u)
{
	struct fmt f = { buf, len, 0 };
	const struct attr_def *a;
	const char *s;
	char num[48];
	size_t i;
	int first = 1, qfirst = 1;

	fmt_str(&f, "pkcs11:");
	for (i = 0; i < NATTRS; i++) {
		a = &attrs[i];
		switch (a->kind) {
		case K_TEXT:
		case K_PATH:
			s = *(char *const *)((const char *)u + a->off);
			if (s == NULL)
				break;
			if (a->query && qfirst) {
				fmt_put(&f, '?');
				fmt_attr(&f, &qfirst, '&', a->name,
				    (const unsigned char *)s, strlen(s), 1, 0);
			} else if (a->query) {
				fmt_attr(&f, &qfirst, '&', a->name,
				    (const unsigned char *)s, strlen(s), 1, 0);
			} else {
				fmt_attr(&f, &first, ';', a->name,
				    (const unsigned char *)s, strlen(s), 0, 0);
			}
			break;
		case K_ID:
			if (u->has_id)
				fmt_attr(&f, &first, ';', a->name, u->id,
				    u->id_len, 0, 1);
			break;
		case K_TYPE:
			if (u->type != PKCS11_URI_TYPE_ANY) {
				s = pkcs11_uri_type_name(u->type);
				fmt_attr(&f, &first, ';', a->name,
				    (const unsigned char *)s, strlen(s), 0, 0);
			}
			break;
		case K_SLOT_ID:
			if (u->has_slot_id) {
				snprintf(num, sizeof(num), "%lu", u->slot_id);
				fmt_attr(&f, &first, ';', a->name,
				    (const unsigned char *)num, strlen(num), 0,
				    0);
			}
			break;
		case K_LIBVER:
			if (u->has_library_version) {
				snprintf(num, sizeof(num), "%d.%d",
				    u->library_version_major,
				    u->library_version_minor);
				fmt_attr(&f, &first, ';', a->name,
				    (const unsigned char *)num, strlen(num), 0,
				    0);
			}
			break;
		}
	}
	if (len > 0)
		buf[f.pos < len ? f.pos : len - 1] = '\0';
	return f.pos;
}
