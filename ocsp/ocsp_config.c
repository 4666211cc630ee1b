/* SPDX-License-Identifier: ISC */
/*
 * ocsp_config: carapace-ocsp's configuration file, described in
 * carapace-ocsp.cnf(5). The [ocsp] section holds the listener, the log,
 * the PKCS#11 module and the timing; "issuers" names one section per CA
 * the responder answers for. Unknown keys are refused with a suggestion,
 * relative paths are resolved against the file's directory.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "ocsp/ocsp_responder.h"

static const char *const ocsp_keys[] = {
	MODULE_CONFIG_MODULE_KEYS,
	"listen", "path", "log", "issuers", "validity", "refresh",
	"max_age", "poll_ms", "max_request", "max_unknown", "max_live",
	"presign", "unissued", "max_connections", "threads",
	"request_timeout", "max_connections_per_address", "signer_warn", NULL
};

static const char *const issuer_keys[] = {
	MODULE_CONFIG_KEY_KEYS, "cert", "responder_cert", NULL
};

static int
dup_opt(char **out, const char *s)
{
	*out = NULL;
	if (s == NULL)
		return CA_OK;
	if ((*out = strdup(s)) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	return CA_OK;
}

static int
issuer_load(struct ocsp_issuer_config *ic, const struct config *cf,
    const char *section)
{
	struct module_config mc;
	int rc = CA_ERR_INTERNAL;

	if ((rc = config_require_section(cf, section, "[ocsp] issuers"))
	    != CA_OK ||
	    (rc = config_check_keys(cf, section, issuer_keys)) != CA_OK)
		return rc;
	if ((rc = dup_opt(&ic->section, section)) != CA_OK ||
	    (rc = config_require_path(&ic->cert, cf, section, "cert"))
	    != CA_OK ||
	    (rc = config_get_path(&ic->responder_cert, cf, section,
	    "responder_cert", NULL)) != CA_OK)
		return rc;
	memset(&mc, 0, sizeof(mc));
	if ((rc = module_config_key_load(&mc, cf, section, 0)) != CA_OK)
		return rc;
	ic->key = mc.key_uri;
	ic->pin_source = mc.pin_source;
	return CA_OK;
}

/*
 * http_limits_load reads max_connections, max_connections_per_address,
 * threads and request_timeout of [ocsp] into c (threads 0: the HTTP
 * server counts the CPUs). Returns CA_OK or CA_ERR_CONFIG naming the
 * file, section and key.
 */
static int
http_limits_load(struct ocsp_config *c, const struct config *cf)
{
	char what[512];
	const char *s;
	int64_t v;
	int rc = CA_ERR_INTERNAL;

	if ((rc = config_get_int(&c->max_conns, cf, "ocsp", "max_connections",
	    OCSP_MAX_CONNS_DEF, 1, OCSP_MAX_CONNS_MAX)) != CA_OK ||
	    (rc = config_get_int(&c->max_per_addr, cf, "ocsp",
	    "max_connections_per_address", c->max_conns < OCSP_PER_ADDR_DEF ?
	    c->max_conns : OCSP_PER_ADDR_DEF, 1, OCSP_MAX_CONNS_MAX))
	    != CA_OK ||
	    (rc = config_get_int(&c->threads, cf, "ocsp", "threads", 0, 1,
	    OCSP_THREADS_MAX)) != CA_OK ||
	    (rc = config_get_string(&s, cf, "ocsp", "request_timeout",
	    NULL)) != CA_OK)
		return rc;
	if (c->max_per_addr > c->max_conns)
		return ca_error(CA_ERR_CONFIG, "%s: [ocsp] "
		    "max_connections_per_address: %ld is over max_connections "
		    "(%ld)", config_path(cf), c->max_per_addr, c->max_conns);
	c->request_timeout = OCSP_REQUEST_TIMEOUT_DEF;
	if (s == NULL)
		return CA_OK;
	snprintf(what, sizeof(what), "%s: [ocsp] request_timeout",
	    config_path(cf));
	if ((rc = config_duration_parse(&v, s, 1, OCSP_REQUEST_TIMEOUT_MAX,
	    what)) != CA_OK)
		return rc;
	c->request_timeout = (long)v;
	return CA_OK;
}

int
ocsp_config_load(struct ocsp_config *c, const char *path)
{
	struct config *cf = NULL;
	const char *s;
	char *list = NULL, *tok, *save = NULL;
	int rc = CA_ERR_INTERNAL;

	memset(c, 0, sizeof(*c));
	if ((rc = config_load(&cf, path)) != CA_OK)
		goto out;
	if ((rc = config_require_section(cf, "ocsp", NULL)) != CA_OK ||
	    (rc = config_check_keys(cf, "ocsp", ocsp_keys)) != CA_OK)
		goto out;
	if ((rc = config_get_string(&s, cf, "ocsp", "listen",
	    "http://127.0.0.1:8080")) != CA_OK ||
	    (rc = dup_opt(&c->listen, s)) != CA_OK)
		goto out;
	if (strncmp(c->listen, "http://", 7) != 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [ocsp] listen: \"%s\": must "
		    "be an http:// URL (RFC 5019 serves OCSP over plain HTTP)",
		    path, c->listen);
		goto out;
	}
	if ((rc = config_get_string(&s, cf, "ocsp", "path", NULL)) != CA_OK ||
	    (rc = dup_opt(&c->path, s)) != CA_OK)
		goto out;
	if (c->path != NULL && (c->path[0] != '/' ||
	    strcspn(c->path, "?#% \t") != strlen(c->path) ||
	    (strlen(c->path) > 1 && c->path[strlen(c->path) - 1] == '/'))) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [ocsp] path: \"%s\": must "
		    "start with '/', not end with one, and hold no ? # %% or "
		    "blanks", path, c->path);
		goto out;
	}
	if (c->path != NULL && strcmp(c->path, "/") == 0) {
		free(c->path);
		c->path = NULL;
	}
	if ((rc = config_require_path(&c->log_path, cf, "ocsp", "log"))
	    != CA_OK ||
	    (rc = module_config_load(&c->mod, cf, "ocsp",
	    MODULE_CONFIG_NO_KEY)) != CA_OK)
		goto out;
	if ((rc = config_get_int(&c->validity, cf, "ocsp", "validity",
	    14400, 60, 7L * 86400)) != CA_OK ||
	    (rc = config_get_int(&c->refresh, cf, "ocsp", "refresh",
	    c->validity / 4, 10, c->validity)) != CA_OK ||
	    (rc = config_get_int(&c->max_age, cf, "ocsp", "max_age", 60, 0,
	    c->validity)) != CA_OK ||
	    (rc = config_get_int(&c->poll_ms, cf, "ocsp", "poll_ms", 150, 10,
	    1000)) != CA_OK ||
	    (rc = config_get_int(&c->max_request, cf, "ocsp", "max_request",
	    OCSP_MAX_REQUEST_DEF, 256, OCSP_MAX_REQUEST_MAX)) != CA_OK ||
	    (rc = config_get_int(&c->max_unknown, cf, "ocsp", "max_unknown",
	    10000, 0, 10000000)) != CA_OK ||
	    (rc = config_get_int(&c->max_live, cf, "ocsp", "max_live", 16, 1,
	    1024)) != CA_OK ||
	    (rc = config_get_bool(&c->presign, cf, "ocsp", "presign", 1))
	    != CA_OK)
		goto out;
	if ((rc = http_limits_load(c, cf)) != CA_OK)
		goto out;
	if ((rc = config_get_string(&s, cf, "ocsp", "signer_warn", NULL)) !=
	    CA_OK)
		goto out;
	if (s != NULL) {
		char what[512];
		int64_t v;

		snprintf(what, sizeof(what), "%s: [ocsp] signer_warn", path);
		if ((rc = config_duration_parse(&v, s, 60, 365L * 86400,
		    what)) != CA_OK)
			goto out;
		c->signer_warn = (long)v;
	}
	if (c->refresh >= c->validity) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [ocsp] refresh: %ld must be "
		    "less than validity (%ld), so responses are re-signed "
		    "before they expire", path, c->refresh, c->validity);
		goto out;
	}
	if ((rc = config_get_string(&s, cf, "ocsp", "unissued", "revoked"))
	    != CA_OK)
		goto out;
	if (strcmp(s, "revoked") == 0)
		c->unissued = OCSP_UNISSUED_REVOKED;
	else if (strcmp(s, "unknown") == 0)
		c->unissued = OCSP_UNISSUED_UNKNOWN;
	else {
		rc = ca_error(CA_ERR_CONFIG, "%s: [ocsp] unissued: \"%s\": "
		    "must be \"revoked\" or \"unknown\" (RFC 6960 2.2)", path,
		    s);
		goto out;
	}
	if ((rc = config_require_string(&s, cf, "ocsp", "issuers")) != CA_OK)
		goto out;
	if ((list = strdup(s)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (tok = strtok_r(list, " \t,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,", &save)) {
		if (c->nissuers == OCSP_MAX_ISSUERS) {
			rc = ca_error(CA_ERR_CONFIG, "%s: [ocsp] issuers: more "
			    "than %d", path, OCSP_MAX_ISSUERS);
			goto out;
		}
		if ((rc = issuer_load(&c->issuer[c->nissuers++], cf, tok))
		    != CA_OK)
			goto out;
	}
	if (c->nissuers == 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [ocsp] issuers: empty", path);
		goto out;
	}
	rc = CA_OK;
 out:
	free(list);
	config_free(cf);
	if (rc != CA_OK)
		ocsp_config_clear(c);
	return rc;
}

void
ocsp_config_clear(struct ocsp_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->listen);
	free(c->path);
	free(c->log_path);
	module_config_clear(&c->mod);
	for (i = 0; i < c->nissuers; i++) {
		free(c->issuer[i].section);
		free(c->issuer[i].cert);
		free(c->issuer[i].responder_cert);
		free(c->issuer[i].key);
		free(c->issuer[i].pin_source);
	}
	memset(c, 0, sizeof(*c));
}
