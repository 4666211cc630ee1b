/* SPDX-License-Identifier: ISC */
/*
 * crl_config: carapace-crl's configuration file, the [crl] section of an
 * NCONF (openssl.cnf syntax) file, described in carapace-crl.cnf(5). Keys
 * are checked against a fixed list so a misspelled one is an error, and
 * relative paths are resolved against the file's directory.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "ocsp/crl.h"

#define SECTION		"crl"
#define DURATION_MAX	(10L * 366 * 86400)

static const char *const crl_keys[] = {
	MODULE_CONFIG_KEYS,
	"issuer_cert", "log", "state", "der", "pem", "digest",
	"next_update", "rebuild_interval", "poll_ms", "backdate", NULL
};

int
crl_duration_parse(long *out, const char *s)
{
	int64_t v;

	*out = 0;
	if (s == NULL || config_duration_parse(&v, s, 0, DURATION_MAX,
	    "duration") != CA_OK)
		return -1;
	*out = (long)v;
	return 0;
}

static int
get_duration(long *out, const struct config *c, const char *key,
    const char *def, long min)
{
	const char *v;
	int rc;

	if ((rc = config_get_string(&v, c, SECTION, key, def)) != CA_OK)
		return rc;
	if (crl_duration_parse(out, v) != 0 || *out < min)
		return ca_error(CA_ERR_CONFIG, "%s: [%s] %s: \"%s\" is not a "
		    "duration of at least %lds and at most 10 years (like "
		    "\"3600\", \"90m\", \"12h\" or \"7d\")", config_path(c),
		    SECTION, key, v, min);
	return CA_OK;
}

static int
dup_opt(char **out, const struct config *c, const char *key)
{
	const char *v;
	int rc;

	*out = NULL;
	if ((rc = config_get_string(&v, c, SECTION, key, NULL)) != CA_OK)
		return rc;
	if (v != NULL && (*out = strdup(v)) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	return CA_OK;
}

int
crl_config_load(struct crl_config **out, const char *path)
{
	struct config *c = NULL;
	struct crl_config *cc = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((cc = calloc(1, sizeof(*cc))) == NULL ||
	    (cc->path = strdup(path)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = config_load(&c, path)) != CA_OK ||
	    (rc = config_require_section(c, SECTION, NULL)) != CA_OK ||
	    (rc = config_check_keys(c, SECTION, crl_keys)) != CA_OK)
		goto out;
	if ((rc = module_config_load(&cc->mod, c, SECTION, 0)) != CA_OK ||
	    (rc = dup_opt(&cc->digest, c, "digest")) != CA_OK)
		goto out;
	if ((rc = config_require_path(&cc->issuer_cert, c, SECTION,
	    "issuer_cert")) != CA_OK ||
	    (rc = config_require_path(&cc->log_path, c, SECTION, "log")) !=
	    CA_OK ||
	    (rc = config_require_path(&cc->state_path, c, SECTION, "state")) !=
	    CA_OK ||
	    (rc = config_require_path(&cc->der_path, c, SECTION, "der")) !=
	    CA_OK ||
	    (rc = config_get_path(&cc->pem_path, c, SECTION, "pem", NULL)) !=
	    CA_OK)
		goto out;
	if (strcmp(cc->state_path, cc->der_path) == 0 ||
	    (cc->pem_path != NULL && (strcmp(cc->pem_path, cc->der_path) ==
	    0 || strcmp(cc->pem_path, cc->state_path) == 0))) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s]: state, der and pem "
		    "must be three different files", path, SECTION);
		goto out;
	}
	if ((rc = get_duration(&cc->next_update, c, "next_update", "7d",
	    60)) != CA_OK ||
	    (rc = get_duration(&cc->rebuild_interval, c, "rebuild_interval",
	    "1h", 1)) != CA_OK ||
	    (rc = get_duration(&cc->backdate, c, "backdate", "0", 0)) !=
	    CA_OK ||
	    (rc = config_get_int(&cc->poll_ms, c, SECTION, "poll_ms", 500, 50,
	    60000)) != CA_OK)
		goto out;
	if (cc->rebuild_interval >= cc->next_update) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] rebuild_interval (%lds) "
		    "must be shorter than next_update (%lds), or relying "
		    "parties hold an expired CRL between rebuilds", path,
		    SECTION, cc->rebuild_interval, cc->next_update);
		goto out;
	}
	if (cc->backdate >= cc->next_update) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] backdate must be "
		    "shorter than next_update", path, SECTION);
		goto out;
	}
	*out = cc;
	cc = NULL;
	rc = CA_OK;
 out:
	config_free(c);
	crl_config_free(cc);
	return rc;
}

void
crl_config_free(struct crl_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	module_config_clear(&c->mod);
	free(c->issuer_cert);
	free(c->log_path);
	free(c->state_path);
	free(c->der_path);
	free(c->pem_path);
	free(c->digest);
	free(c);
}
