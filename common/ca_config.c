/* SPDX-License-Identifier: ISC */
/*
 * ca_config: load an NCONF file and read typed values from it with errors a
 * security officer can act on: every message names the file, the section
 * and the key, a syntax error names the line, and a misspelled key or
 * section gets a "did you mean" instead of being silently ignored. The file
 * is read whole with a size cap and hashed, so the transcript can record
 * exactly which bytes a step was run from.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/conf.h>
#include <openssl/err.h>

#include "common/ca_error.h"
#include "common/ca_config.h"
#include "common/fileio.h"

struct config {
	char *path;
	char *dir;
	CONF *conf;
	uint8_t sha256[FILEIO_SHA256_LEN];
};

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	NCONF_free(c->conf);
	free(c->path);
	free(c->dir);
	free(c);
}

int
config_load(struct config **out, const char *path)
{
	struct config *c = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *slash;
	BIO *bio = NULL;
	long eline = -1;
	unsigned long e;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	slash = strrchr(path, '/');
	if (slash == NULL)
		c->dir = strdup(".");
	else if (slash == path)
		c->dir = strdup("/");
	else
		c->dir = strndup(path, (size_t)(slash - path));
	if (c->dir == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((rc = fileio_read(&buf, &len, path, CONFIG_MAX_SIZE)) != CA_OK) {
		/* A configuration that cannot be read is a usage problem. */
		if (rc == CA_ERR_NOT_FOUND)
			rc = ca_error(CA_ERR_CONFIG,
			    "%s: no such configuration file", path);
		else
			rc = CA_ERR_CONFIG;
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		rc = ca_error(CA_ERR_CONFIG, "%s: contains a NUL byte; "
		    "not a text file", path);
		goto out;
	}
	if ((rc = fileio_sha256_buf(c->sha256, buf, len)) != CA_OK)
		goto out;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (c->conf = NCONF_new(NULL)) == NULL) {
		rc = ca_error_openssl(CA_ERR_NOMEM, "%s", path);
		goto out;
	}
	ERR_clear_error();
	if (NCONF_load_bio(c->conf, bio, &eline) <= 0) {
		e = ERR_peek_last_error();
		if (eline > 0)
			rc = ca_error(CA_ERR_CONFIG, "%s:%ld: syntax error: %s",
			    path, eline, e != 0 ? ERR_reason_error_string(e) :
			    "cannot parse");
		else
			rc = ca_error(CA_ERR_CONFIG, "%s: cannot parse: %s",
			    path, e != 0 ? ERR_reason_error_string(e) :
			    "unknown error");
		ERR_clear_error();
		goto out;
	}
	*out = c;
	c = NULL;
	rc = CA_OK;
 out:
	BIO_free(bio);
	free(buf);
	config_free(c);
	return rc;
}

const char *
config_path(const struct config *c)
{
	return c->path;
}

const char *
config_dir(const struct config *c)
{
	return c->dir;
}

const uint8_t *
config_sha256(const struct config *c)
{
	return c->sha256;
}

CONF *
config_conf(const struct config *c)
{
	return c->conf;
}

static STACK_OF(CONF_VALUE) *
section_get(const struct config *c, const char *section)
{
	STACK_OF(CONF_VALUE) *sk;

	sk = NCONF_get_section(c->conf, section);
	ERR_clear_error();
	return sk;
}

int
config_has_section(const struct config *c, const char *section)
{
	return section_get(c, section) != NULL;
}

/* Levenshtein distance, capped for long strings (names are short). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, cur, tmp;
	size_t row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = prev + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			if (row[j] + 1 < cur)
				cur = row[j] + 1;
			if (row[j - 1] + 1 < cur)
				cur = row[j - 1] + 1;
			tmp = row[j];
			row[j] = cur;
			prev = tmp;
		}
	}
	return row[lb];
}

/* A suggestion is worth making when the names are close. */
static int
similar(const char *a, const char *b)
{
	size_t d = edit_distance(a, b), l = strlen(b);

	return d <= 2 && d < l;
}

int
config_require_section(const struct config *c, const char *section,
    const char *referer)
{
	STACK_OF(OPENSSL_CSTRING) *names;
	const char *best = NULL, *n;
	size_t bestd = SIZE_MAX, d;
	int i;

	if (config_has_section(c, section))
		return CA_OK;
	names = NCONF_get_section_names(c->conf);
	ERR_clear_error();
	for (i = 0; names != NULL && i < sk_OPENSSL_CSTRING_num(names); i++) {
		n = sk_OPENSSL_CSTRING_value(names, i);
		if (n == NULL || !similar(n, section))
			continue;
		d = edit_distance(n, section);
		if (d < bestd) {
			bestd = d;
			best = n;
		}
	}
	if (best != NULL) {
		/* best points into the CONF, which outlives names. */
		if (referer != NULL)
			ca_error(CA_ERR_CONFIG, "%s: %s: section [%s] is missing "
			    "(did you mean [%s]?)", c->path, referer, section,
			    best);
		else
			ca_error(CA_ERR_CONFIG, "%s: [%s]: missing section "
			    "(did you mean [%s]?)", c->path, section, best);
	} else if (referer != NULL) {
		ca_error(CA_ERR_CONFIG, "%s: %s: section [%s] is missing",
		    c->path, referer, section);
	} else {
		ca_error(CA_ERR_CONFIG, "%s: [%s]: missing section", c->path,
		    section);
	}
	sk_OPENSSL_CSTRING_free(names);
	return CA_ERR_CONFIG;
}

int
config_check_keys(const struct config *c, const char *section,
    const char *const *allowed)
{
	STACK_OF(CONF_VALUE) *sk;
	CONF_VALUE *v;
	const char *best;
	size_t bestd, d, k;
	int i, found;

	if ((sk = section_get(c, section)) == NULL)
		return CA_OK;
	for (i = 0; i < sk_CONF_VALUE_num(sk); i++) {
		v = sk_CONF_VALUE_value(sk, i);
		found = 0;
		best = NULL;
		bestd = SIZE_MAX;
		for (k = 0; allowed[k] != NULL; k++) {
			if (strcmp(v->name, allowed[k]) == 0) {
				found = 1;
				break;
			}
			d = edit_distance(v->name, allowed[k]);
			if (similar(v->name, allowed[k]) && d < bestd) {
				bestd = d;
				best = allowed[k];
			}
		}
		if (found)
			continue;
		if (best != NULL)
			return ca_error(CA_ERR_CONFIG, "%s: [%s] %s: unknown key "
			    "(did you mean \"%s\"?)", c->path, section,
			    v->name, best);
		return ca_error(CA_ERR_CONFIG, "%s: [%s] %s: unknown key",
		    c->path, section, v->name);
	}
	return CA_OK;
}

/* lookup finds key in exactly this section (no "default" fallback). */
static const char *
lookup(const struct config *c, const char *section, const char *key)
{
	STACK_OF(CONF_VALUE) *sk;
	CONF_VALUE *v;
	int i;

	if ((sk = section_get(c, section)) == NULL)
		return NULL;
	for (i = 0; i < sk_CONF_VALUE_num(sk); i++) {
		v = sk_CONF_VALUE_value(sk, i);
		if (strcmp(v->name, key) == 0)
			return v->value;
	}
	return NULL;
}

int
config_get_string(const char **out, const struct config *c,
    const char *section, const char *key, const char *def)
{
	const char *v;

	v = lookup(c, section, key);
	*out = v != NULL ? v : def;
	return CA_OK;
}

int
config_require_string(const char **out, const struct config *c,
    const char *section, const char *key)
{
	const char *v;

	*out = NULL;
	if (!config_has_section(c, section))
		return config_require_section(c, section, NULL);
	if ((v = lookup(c, section, key)) == NULL)
		return ca_error(CA_ERR_CONFIG, "%s: [%s] %s: missing",
		    c->path, section, key);
	if (*v == '\0')
		return ca_error(CA_ERR_CONFIG, "%s: [%s] %s: empty value",
		    c->path, section, key);
	*out = v;
	return CA_OK;
}

static int
parse_int(long *out, const struct config *c, const char *section,
    const char *key, const char *v, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	if (*v == '\0' || isspace((unsigned char)*v))
		goto bad;
	n = strtol(v, &end, 10);
	if (*end != '\0')
		goto bad;
	if (errno == ERANGE || n < min || n > max)
		return ca_error(CA_ERR_CONFIG, "%s: [%s] %s: %s is out of "
		    "range (%ld to %ld)", c->path, section, key, v, min, max);
	*out = n;
	return CA_OK;
 bad:
	return ca_error(CA_ERR_CONFIG, "%s: [%s] %s: \"%s\" is not a decimal "
	    "integer", c->path, section, key, v);
}

int
config_get_int(long *out, const struct config *c, const char *section,
    const char *key, long def, long min, long max)
{
	const char *v;

	*out = def;
	if ((v = lookup(c, section, key)) == NULL)
		return CA_OK;
	return parse_int(out, c, section, key, v, min, max);
}

int
config_require_int(long *out, const struct config *c, const char *section,
    const char *key, long min, long max)
{
	const char *v;
	int rc;

	*out = 0;
	if ((rc = config_require_string(&v, c, section, key)) != CA_OK)
		return rc;
	return parse_int(out, c, section, key, v, min, max);
}

int
config_get_bool(int *out, const struct config *c, const char *section,
    const char *key, int def)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	const char *v;
	size_t i;

	*out = def;
	if ((v = lookup(c, section, key)) == NULL)
		return CA_OK;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return CA_OK;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return CA_OK;
		}
	}
	return ca_error(CA_ERR_CONFIG, "%s: [%s] %s: \"%s\" is not a boolean "
	    "(yes/no, true/false, on/off, 1/0)", c->path, section, key, v);
}

int
config_duration_parse(int64_t *out, const char *s, int64_t min, int64_t max,
    const char *what)
{
	const char *p = s;
	int64_t v = 0, mult = 1;

	*out = 0;
	if (*p < '0' || *p > '9')
		goto bad;
	while (*p >= '0' && *p <= '9') {
		if (v > (INT64_MAX - 9) / 10)
			goto range;
		v = v * 10 + (*p++ - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 's':
		p++;
		break;
	case 'm':
		mult = 60;
		p++;
		break;
	case 'h':
		mult = 3600;
		p++;
		break;
	case 'd':
		mult = 86400;
		p++;
		break;
	default:
		goto bad;
	}
	if (*p != '\0')
		goto bad;
	if (v > INT64_MAX / mult)
		goto range;
	v *= mult;
	if (v < min || v > max)
		goto range;
	*out = v;
	return CA_OK;
 bad:
	return ca_error(CA_ERR_CONFIG, "%s: \"%s\" is not a duration (seconds, "
	    "or a number followed by s, m, h or d)", what, s);
 range:
	return ca_error(CA_ERR_CONFIG, "%s: \"%s\" is out of range (%" PRId64
	    " to %" PRId64 " seconds)", what, s, min, max);
}

int
config_time_parse(time_t *out, const char *s)
{
	ASN1_GENERALIZEDTIME *t = NULL;
	struct tm tm;
	size_t i;
	int ret = -1;

	*out = 0;
	/* Exactly YYYYMMDDHHMMSSZ: no fractions, no offsets. */
	if (strlen(s) != 15 || s[14] != 'Z')
		goto out;
	for (i = 0; i < 14; i++)
		if (!isdigit((unsigned char)s[i]))
			goto out;
	if ((t = ASN1_GENERALIZEDTIME_new()) == NULL)
		goto out;
	/* Checks the calendar: month 13 or February 30 are refused. */
	if (ASN1_GENERALIZEDTIME_set_string(t, s) != 1)
		goto out;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) != 1)
		goto out;
	*out = timegm(&tm);
	ret = 0;
 out:
	ASN1_GENERALIZEDTIME_free(t);
	ERR_clear_error();
	return ret;
}

int
config_get_time(time_t *out, int *present, const struct config *c,
    const char *section, const char *key)
{
	const char *v;

	*out = 0;
	*present = 0;
	if ((v = lookup(c, section, key)) == NULL)
		return CA_OK;
	if (config_time_parse(out, v) != 0)
		return ca_error(CA_ERR_CONFIG, "%s: [%s] %s: \"%s\" is not a "
		    "GeneralizedTime (YYYYMMDDHHMMSSZ, UTC)", c->path, section,
		    key, v);
	*present = 1;
	return CA_OK;
}

int
config_resolve(char **out, const struct config *c, const char *path)
{
	size_t n;

	*out = NULL;
	if (path[0] == '/' || strcmp(c->dir, ".") == 0)
		*out = strdup(path);
	else {
		n = strlen(c->dir) + strlen(path) + 2;
		if ((*out = malloc(n)) != NULL)
			snprintf(*out, n, "%s/%s", c->dir, path);
	}
	if (*out == NULL)
		return ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
	return CA_OK;
}

int
config_get_path(char **out, const struct config *c, const char *section,
    const char *key, const char *def)
{
	const char *v;

	*out = NULL;
	if ((v = lookup(c, section, key)) == NULL)
		v = def;
	if (v == NULL)
		return CA_OK;
	if (*v == '\0')
		return ca_error(CA_ERR_CONFIG, "%s: [%s] %s: empty path",
		    c->path, section, key);
	return config_resolve(out, c, v);
}

int
config_require_path(char **out, const struct config *c, const char *section,
    const char *key)
{
	const char *v;
	int rc;

	*out = NULL;
	if ((rc = config_require_string(&v, c, section, key)) != CA_OK)
		return rc;
	return config_resolve(out, c, v);
}

size_t
config_section_count(const struct config *c, const char *section)
{
	STACK_OF(CONF_VALUE) *sk;

	if ((sk = section_get(c, section)) == NULL)
		return 0;
	return (size_t)sk_CONF_VALUE_num(sk);
}

int
config_section_item(const char **name, const char **value,
    const struct config *c, const char *section, size_t i)
{
	STACK_OF(CONF_VALUE) *sk;
	CONF_VALUE *v;

	*name = *value = NULL;
	if ((sk = section_get(c, section)) == NULL ||
	    i >= (size_t)sk_CONF_VALUE_num(sk))
		return -1;
	v = sk_CONF_VALUE_value(sk, (int)i);
	*name = v->name;
	*value = v->value;
	return 0;
}
