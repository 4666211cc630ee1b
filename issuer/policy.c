/* SPDX-License-Identifier: ISC */
/*
 * policy: maps an attested identity (join token, x509pop renewal or device,
 * platform identity document) to the DNS names its certificate may carry
 * and the profile it is issued under, from the [policy_*] sections of the
 * issuer's configuration. See policy.h for the name and grant syntax. The
 * checks are on plain strings so that they do not depend on the wire format
 * or the issuance log.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ca_error.h"
#include "common/general_name.h"
#include "issuer/policy.h"

#define QUOTE_MAX	96

struct policy_rule {
	int enabled;
	char *section;
	char *profile;		/* NULL for joinToken */
	char **templates;	/* device, iddoc */
	size_t ntemplates;
	char **accounts;	/* iddoc, optional */
	size_t naccounts;
	char **profiles;	/* joinToken, optional */
	size_t nprofiles;
};

struct policy {
	struct policy_rule rule[POLICY_METHOD__MAX];
};

static const char *const method_section[POLICY_METHOD__MAX] = {
	"policy_joinToken",
	"policy_x509pop_renewal",
	"policy_x509pop_device",
	"policy_iddoc",
	"policy_tpm",
};

static const char *const method_name[POLICY_METHOD__MAX] = {
	"joinToken",
	"x509pop renewal",
	"x509pop device",
	"iddoc",
	"tpm",
};

/* Template variables each method may use. */
static const char *const device_vars[] = { "serial", "cn", NULL };
static const char *const iddoc_vars[] = { "instance", "account", "region",
    NULL };
static const char *const tpm_vars[] = { "ek", NULL };

const char *
policy_method_name(enum policy_method m)
{
	if ((unsigned)m >= POLICY_METHOD__MAX)
		return "unknown";
	return method_name[m];
}

/*
 * quote copies s into buf for a message, with non-printable bytes as \xNN
 * and a cap on the length, so untrusted names cannot garble a log line.
 */
static const char *
quote(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
	}
	if (*s != '\0' && o + 4 <= len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * detail_copy copies the current error detail so that it can be wrapped in
 * a new message (ca_error must not read the buffer it writes).
 */
static const char *
detail_copy(char *buf, size_t len)
{
	snprintf(buf, len, "%s", ca_error_detail());
	return buf;
}

static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* ASCII case-insensitive equality (locale-independent). */
static int
name_eq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

/* label_count: how many labels the DNS name s has. */
static size_t
label_count(const char *s)
{
	size_t n = 1;

	for (; *s != '\0'; s++)
		if (*s == '.')
			n++;
	return n;
}

/*
 * The syntax is common/general_name.c's, the one dNSName check that CSRs,
 * profiles and grants share; policy adds that a wildcard covers at least
 * two labels ("*.example" would cover a whole TLD-like domain).
 */
int
policy_name_check(const char *name, int allow_wildcard)
{
	char q[QUOTE_MAX];
	int rc;

	if (name == NULL || name[0] == '\0')
		return ca_error(CA_ERR_INVALID, "DNS name: empty");
	if ((rc = general_name_dns_check(name, strlen(name), allow_wildcard ?
	    GENERAL_NAME_WILDCARD : 0, "requested name")) != CA_OK)
		return rc;
	if (name[0] == '*' && label_count(name + 2) < 2)
		return ca_error(CA_ERR_INVALID, "DNS name \"%s\": a wildcard "
		    "needs at least two labels after \"*.\"",
		    quote(q, sizeof(q), name));
	return CA_OK;
}

int
policy_grant_check(const char *grant)
{
	char q[QUOTE_MAX];
	int rc;

	if (grant == NULL || grant[0] == '\0')
		return ca_error(CA_ERR_INVALID, "name grant: empty");
	if (grant[0] == '=')
		return policy_name_check(grant + 1, 1);
	if (grant[0] == '*' && grant[1] == '.') {
		if ((rc = general_name_dns_check(grant, strlen(grant),
		    GENERAL_NAME_WILDCARD, "name grant")) != CA_OK)
			return rc;
		if (label_count(grant + 2) < 2)
			return ca_error(CA_ERR_INVALID, "name grant \"%s\": "
			    "a pattern needs at least two labels after \"*.\"",
			    quote(q, sizeof(q), grant));
		return CA_OK;
	}
	return policy_name_check(grant, 0);
}

int
policy_grant_match(const char *grant, const char *name)
{
	const char *dot;

	if (grant == NULL || name == NULL)
		return 0;
	if (grant[0] == '=')
		return name_eq(grant + 1, name);
	if (strchr(name, '*') != NULL)
		return 0;
	if (grant[0] == '*' && grant[1] == '.') {
		if ((dot = strchr(name, '.')) == NULL || dot == name)
			return 0;
		return name_eq(dot, grant + 1);
	}
	return name_eq(grant, name);
}

static void
list_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* list_split splits s at commas and blanks into new strings. */
static int
list_split(char ***out, size_t *nout, const char *s)
{
	char **v = NULL;
	size_t n = 0, len;
	const char *p = s;
	int rc = CA_ERR_NOMEM;

	*out = NULL;
	*nout = 0;
	if ((v = calloc(POLICY_MAX_NAMES, sizeof(*v))) == NULL)
		goto out;
	while (*p != '\0') {
		p += strspn(p, ", \t");
		if ((len = strcspn(p, ", \t")) == 0)
			break;
		if (n == POLICY_MAX_NAMES) {
			rc = ca_error(CA_ERR_CONFIG, "more than %d entries",
			    POLICY_MAX_NAMES);
			goto out;
		}
		if ((v[n] = strndup(p, len)) == NULL)
			goto out;
		n++;
		p += len;
	}
	*out = v;
	*nout = n;
	v = NULL;
	rc = CA_OK;
 out:
	list_free(v, n);
	return rc;
}

static const char *
var_value(const struct policy_identity *id, const char *var, size_t n)
{
	if (id == NULL)
		return "a";	/* load-time validation */
	if (n == 6 && strncmp(var, "serial", n) == 0)
		return id->serial_hex;
	if (n == 2 && strncmp(var, "cn", n) == 0)
		return id->cn;
	if (n == 8 && strncmp(var, "instance", n) == 0)
		return id->instance;
	if (n == 7 && strncmp(var, "account", n) == 0)
		return id->account;
	if (n == 6 && strncmp(var, "region", n) == 0)
		return id->region;
	if (n == 2 && strncmp(var, "ek", n) == 0)
		return id->ek;
	return NULL;
}

static int
var_allowed(const char *const *vars, const char *var, size_t n)
{
	for (; *vars != NULL; vars++)
		if (strlen(*vars) == n && strncmp(*vars, var, n) == 0)
			return 1;
	return 0;
}

/*
 * template_expand writes the name that tmpl gives for id into out (which
 * holds POLICY_NAME_MAX + 1 bytes). Returns 0, or -1 with *why set when a
 * variable is unknown, missing for this identity or not one DNS label, or
 * the result is not a valid name. With id NULL every variable is "a".
 */
static int
template_expand(char *out, const char *tmpl, const char *const *vars,
    const struct policy_identity *id, const char **why)
{
	const char *p = tmpl, *end, *val;
	size_t o = 0, n, i;

	while (*p != '\0') {
		if (p[0] == '{') {
			if ((end = strchr(p + 1, '}')) == NULL) {
				*why = "unterminated {";
				return -1;
			}
			n = (size_t)(end - (p + 1));
			if (!var_allowed(vars, p + 1, n)) {
				*why = "unknown variable for this method";
				return -1;
			}
			val = var_value(id, p + 1, n);
			if (val == NULL) {
				*why = "the identity has no value for a "
				    "variable";
				return -1;
			}
			if (val[0] == '\0' || strchr(val, '.') != NULL ||
			    general_name_dns_check(val, strlen(val), 0,
			    "template value") != CA_OK) {
				*why = "a variable's value is not one DNS "
				    "label";
				return -1;
			}
			for (i = 0; val[i] != '\0'; i++) {
				if (o >= POLICY_NAME_MAX) {
					*why = "name too long";
					return -1;
				}
				out[o++] = (char)lower((unsigned char)val[i]);
			}
			p = end + 1;
			continue;
		}
		if (o >= POLICY_NAME_MAX) {
			*why = "name too long";
			return -1;
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
	if (policy_name_check(out, 0) != CA_OK) {
		*why = "the result is not a valid DNS name";
		return -1;
	}
	return 0;
}

static void
rule_clear(struct policy_rule *r)
{
	free(r->section);
	free(r->profile);
	list_free(r->templates, r->ntemplates);
	list_free(r->accounts, r->naccounts);
	list_free(r->profiles, r->nprofiles);
	memset(r, 0, sizeof(*r));
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < POLICY_METHOD__MAX; i++)
		rule_clear(&p->rule[i]);
	free(p);
}

static int
rule_load(struct policy_rule *r, const struct config *c, enum policy_method m)
{
	static const char *const keys_token[] = { "profiles", NULL };
	static const char *const keys_renewal[] = { "profile", NULL };
	static const char *const keys_device[] = { "profile", "names", NULL };
	static const char *const keys_iddoc[] = { "profile", "names",
	    "accounts", NULL };
	const char *const *keys, *const *vars = NULL;
	const char *sec = method_section[m], *s, *why = NULL;
	char name[POLICY_NAME_MAX + 1], dbuf[512];
	size_t i;
	int rc;

	if (!config_has_section(c, sec))
		return CA_OK;
	switch (m) {
	case POLICY_JOIN_TOKEN:
		keys = keys_token;
		break;
	case POLICY_X509POP_RENEWAL:
		keys = keys_renewal;
		break;
	case POLICY_X509POP_DEVICE:
		keys = keys_device;
		vars = device_vars;
		break;
	case POLICY_TPM:
		keys = keys_device;
		vars = tpm_vars;
		break;
	default:
		keys = keys_iddoc;
		vars = iddoc_vars;
		break;
	}
	if ((rc = config_check_keys(c, sec, keys)) != CA_OK)
		return rc;
	if ((r->section = strdup(sec)) == NULL)
		return ca_error(CA_ERR_NOMEM, "policy: out of memory");
	if (m != POLICY_JOIN_TOKEN) {
		if ((rc = config_require_string(&s, c, sec, "profile")) !=
		    CA_OK)
			return rc;
		if ((r->profile = strdup(s)) == NULL)
			return ca_error(CA_ERR_NOMEM, "policy: out of memory");
	}
	if (vars != NULL) {
		if ((rc = config_require_string(&s, c, sec, "names")) != CA_OK)
			return rc;
		if ((rc = list_split(&r->templates, &r->ntemplates, s)) !=
		    CA_OK)
			return ca_error(rc, "%s: [%s] names: %s",
			    config_path(c), sec,
			    detail_copy(dbuf, sizeof(dbuf)));
		if (r->ntemplates == 0)
			return ca_error(CA_ERR_CONFIG, "%s: [%s] names: empty",
			    config_path(c), sec);
		for (i = 0; i < r->ntemplates; i++)
			if (template_expand(name, r->templates[i], vars, NULL,
			    &why) != 0)
				return ca_error(CA_ERR_CONFIG, "%s: [%s] "
				    "names: \"%s\": %s", config_path(c), sec,
				    r->templates[i], why);
	}
	if (m == POLICY_IDDOC) {
		if ((rc = config_get_string(&s, c, sec, "accounts", "")) !=
		    CA_OK)
			return rc;
		if ((rc = list_split(&r->accounts, &r->naccounts, s)) != CA_OK)
			return ca_error(rc, "%s: [%s] accounts: %s",
			    config_path(c), sec,
			    detail_copy(dbuf, sizeof(dbuf)));
	}
	if (m == POLICY_JOIN_TOKEN) {
		if ((rc = config_get_string(&s, c, sec, "profiles", "")) !=
		    CA_OK)
			return rc;
		if ((rc = list_split(&r->profiles, &r->nprofiles, s)) != CA_OK)
			return ca_error(rc, "%s: [%s] profiles: %s",
			    config_path(c), sec,
			    detail_copy(dbuf, sizeof(dbuf)));
	}
	r->enabled = 1;
	return CA_OK;
}

int
policy_load(struct policy **out, const struct config *c)
{
	struct policy *p = NULL;
	int rc = CA_ERR_INTERNAL;
	size_t i;

	*out = NULL;
	if (c == NULL)
		return ca_error(CA_ERR_USAGE, "policy_load: no config");
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "policy: out of memory");
		goto out;
	}
	for (i = 0; i < POLICY_METHOD__MAX; i++)
		if ((rc = rule_load(&p->rule[i], c, (enum policy_method)i)) !=
		    CA_OK)
			goto out;
	*out = p;
	p = NULL;
	rc = CA_OK;
 out:
	policy_free(p);
	return rc;
}

int
policy_enabled(const struct policy *p, enum policy_method m)
{
	if (p == NULL || (unsigned)m >= POLICY_METHOD__MAX)
		return 0;
	return p->rule[m].enabled;
}

void
policy_decision_free(struct policy_decision *d)
{
	if (d == NULL)
		return;
	free(d->profile);
	free(d);
}

static int
in_list(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* The identity's granted names, as grants (join token) or exact names. */
static int
grants_build(char ***out, size_t *nout, const struct policy_rule *r,
    const struct policy_identity *id, const char *who)
{
	char **v = NULL, name[POLICY_NAME_MAX + 1], q[QUOTE_MAX];
	const char *const *vars;
	const char *why = NULL;
	size_t n = 0, i;
	int rc = CA_ERR_NOMEM;

	*out = NULL;
	*nout = 0;
	vars = id->method == POLICY_X509POP_DEVICE ? device_vars :
	    id->method == POLICY_TPM ? tpm_vars : iddoc_vars;
	if ((v = calloc(r->ntemplates + 1, sizeof(*v))) == NULL)
		goto out;
	for (i = 0; i < r->ntemplates; i++) {
		if (template_expand(name, r->templates[i], vars, id,
		    &why) != 0) {
			/* Not every template applies to every identity. */
			if (r->ntemplates > 1)
				continue;
			rc = ca_error(CA_ERR_DENIED, "%s: policy [%s] names "
			    "\"%s\" gives no name for this identity: %s",
			    quote(q, sizeof(q), who), r->section,
			    r->templates[i], why);
			goto out;
		}
		if ((v[n] = strdup(name)) == NULL)
			goto out;
		n++;
	}
	*out = v;
	*nout = n;
	v = NULL;
	rc = CA_OK;
 out:
	list_free(v, n);
	return rc;
}

int
policy_check(struct policy_decision **out, const struct policy *p,
    const struct policy_identity *id, const char *const *requested,
    size_t nrequested)
{
	const struct policy_rule *r;
	struct policy_decision *d = NULL;
	char **exact = NULL, q[QUOTE_MAX], q2[QUOTE_MAX], dbuf[512];
	const char *who, *profile;
	size_t nexact = 0, i, j;
	int rc = CA_ERR_INTERNAL, ok;

	if (out != NULL)
		*out = NULL;
	if (p == NULL || id == NULL || (unsigned)id->method >=
	    POLICY_METHOD__MAX || (nrequested > 0 && requested == NULL))
		return ca_error(CA_ERR_USAGE, "policy_check: bad arguments");
	who = id->who != NULL ? id->who : policy_method_name(id->method);
	r = &p->rule[id->method];
	if (!r->enabled)
		return ca_error(CA_ERR_DENIED, "%s: attestation method %s is "
		    "not enabled by policy (no [%s] section)", quote(q,
		    sizeof(q), who), policy_method_name(id->method),
		    method_section[id->method]);
	if (nrequested == 0)
		return ca_error(CA_ERR_DENIED, "%s: the CSR requests no DNS "
		    "names (subjectAltName dNSName)", quote(q, sizeof(q), who));
	if (nrequested > POLICY_MAX_NAMES)
		return ca_error(CA_ERR_DENIED, "%s: the CSR requests %zu names;"
		    " at most %d are allowed", quote(q, sizeof(q), who),
		    nrequested, POLICY_MAX_NAMES);
	for (i = 0; i < nrequested; i++)
		if ((rc = policy_name_check(requested[i], 1)) != CA_OK)
			return ca_error(rc, "%s: CSR subjectAltName: %s",
			    quote(q, sizeof(q), who),
			    detail_copy(dbuf, sizeof(dbuf)));
	if (id->nnames > POLICY_MAX_NAMES || (id->nnames > 0 &&
	    id->names == NULL))
		return ca_error(CA_ERR_USAGE, "policy_check: bad names");

	switch (id->method) {
	case POLICY_JOIN_TOKEN:
		profile = id->profile;
		if (profile == NULL || profile[0] == '\0')
			return ca_error(CA_ERR_DENIED, "%s: the token names no "
			    "profile; ask the operator for a new token",
			    quote(q, sizeof(q), who));
		if (r->nprofiles > 0 && !in_list(r->profiles, r->nprofiles,
		    profile))
			return ca_error(CA_ERR_DENIED, "%s: profile \"%s\" is "
			    "not in [%s] profiles", quote(q, sizeof(q), who),
			    quote(q2, sizeof(q2), profile), r->section);
		for (i = 0; i < id->nnames; i++)
			if (policy_grant_check(id->names[i]) != CA_OK)
				return ca_error(CA_ERR_DENIED, "%s: the "
				    "token's allowed names are invalid: %s; "
				    "ask the operator for a new token",
				    quote(q, sizeof(q), who),
				    detail_copy(dbuf, sizeof(dbuf)));
		for (i = 0; i < nrequested; i++) {
			for (ok = 0, j = 0; j < id->nnames && !ok; j++)
				ok = policy_grant_match(id->names[j],
				    requested[i]);
			if (!ok)
				return ca_error(CA_ERR_DENIED,
				    "%s: name \"%s\" is not granted by the "
				    "join token",
				    quote(q, sizeof(q), who), quote(q2,
				    sizeof(q2), requested[i]));
		}
		break;
	case POLICY_X509POP_RENEWAL:
		profile = r->profile;
		for (i = 0; i < nrequested; i++) {
			for (ok = 0, j = 0; j < id->nnames && !ok; j++)
				ok = name_eq(id->names[j], requested[i]);
			if (!ok)
				return ca_error(CA_ERR_DENIED,
				    "%s: name \"%s\" is not granted: a "
				    "renewal carries the names of the "
				    "certificate it renews",
				    quote(q, sizeof(q), who), quote(q2,
				    sizeof(q2), requested[i]));
		}
		for (j = 0; j < id->nnames; j++) {
			for (ok = 0, i = 0; i < nrequested && !ok; i++)
				ok = name_eq(id->names[j], requested[i]);
			if (!ok)
				return ca_error(CA_ERR_DENIED,
				    "%s: name \"%s\" is missing: a renewal "
				    "carries the same names as the "
				    "certificate it renews",
				    quote(q, sizeof(q), who), quote(q2,
				    sizeof(q2), id->names[j]));
		}
		break;
	case POLICY_X509POP_DEVICE:
	case POLICY_IDDOC:
	case POLICY_TPM:
	default:
		profile = r->profile;
		if (id->method == POLICY_IDDOC && r->naccounts > 0 &&
		    (id->account == NULL || !in_list(r->accounts, r->naccounts,
		    id->account))) {
			rc = ca_error(CA_ERR_DENIED, "%s: account \"%s\" is "
			    "not in [%s] accounts", quote(q, sizeof(q), who),
			    quote(q2, sizeof(q2), id->account != NULL ?
			    id->account : ""), r->section);
			goto out;
		}
		if ((rc = grants_build(&exact, &nexact, r, id, who)) != CA_OK)
			goto out;
		for (i = 0; i < nrequested; i++) {
			for (ok = 0, j = 0; j < nexact && !ok; j++)
				ok = name_eq(exact[j], requested[i]);
			if (!ok) {
				rc = ca_error(CA_ERR_DENIED,
				    "%s: name \"%s\" is not granted by "
				    "policy [%s]",
				    quote(q, sizeof(q), who), quote(q2,
				    sizeof(q2), requested[i]), r->section);
				goto out;
			}
		}
		break;
	}
	if (out != NULL) {
		if ((d = calloc(1, sizeof(*d))) == NULL ||
		    (d->profile = strdup(profile)) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "policy: out of memory");
			goto out;
		}
		*out = d;
		d = NULL;
	}
	rc = CA_OK;
 out:
	policy_decision_free(d);
	list_free(exact, nexact);
	return rc;
}
