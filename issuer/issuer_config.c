/* SPDX-License-Identifier: ISC */
/*
 * issuer_config: reads the [issuer] section of carapace-issuer.cnf into a
 * struct issuer_config (see issuer_config.h and carapace-issuer.cnf(5)).
 * Everything is checked here, once, so that the daemon fails at startup
 * with a message that names the key, rather than at the first request.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "issuer/issuer_config.h"
#include "attest/nonce.h"
#include "attest/iddoc.h"
#include "issuer/conn_limit.h"

static const char *const issuer_keys[] = {
	MODULE_CONFIG_KEYS,
	"certificate", "chain", "log", "listen", "operator", "operator_group",
	"tls_cert", "tls_key", "workers", "max_connections",
	"max_connections_per_peer", "idle_timeout", "csr_subject", "profiles",
	"nonce_ttl", "nonce_max", "x509pop_device_anchors", "iddoc_keys",
	"iddoc_window", "iddoc_skew", "iddoc_audience", "iddoc_binding",
	"log_level", "tpm_ek_ca", "tpm_ek_allow",
	"weak_keys", NULL
};

void
issuer_config_free(struct issuer_config *ic)
{
	size_t i;

	if (ic == NULL)
		return;
	module_config_clear(&ic->mod);
	free(ic->certificate);
	free(ic->chain);
	free(ic->log);
	for (i = 0; i < ic->nlisten; i++)
		free(ic->listen[i]);
	free(ic->operator_url);
	free(ic->tls_cert);
	free(ic->tls_key);
	for (i = 0; i < ic->nprofiles; i++)
		free(ic->profiles[i]);
	for (i = 0; i < ic->ndevice_anchors; i++)
		free(ic->device_anchors[i]);
	for (i = 0; i < ic->nweak_keys; i++)
		free(ic->weak_keys[i]);
	for (i = 0; i < ic->ntpm_ek_ca; i++)
		free(ic->tpm_ek_ca[i]);
	free(ic->tpm_ek_allow);
	config_free(ic->conf);
	free(ic);
}

int
issuer_split_list(char **out, size_t max, size_t *n, const char *list,
    const char *what)
{
	const char *p = list, *start;
	size_t len, i, k = 0;
	int rc = CA_ERR_INTERNAL;

	*n = 0;
	while (*p != '\0') {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
			p++;
		len = (size_t)(p - start);
		if (k == max) {
			rc = ca_error(CA_ERR_CONFIG, "%s: more than %zu entries",
			    what, max);
			goto fail;
		}
		if ((out[k] = strndup(start, len)) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", what);
			goto fail;
		}
		k++;
	}
	*n = k;
	return CA_OK;
 fail:
	for (i = 0; i < k; i++) {
		free(out[i]);
		out[i] = NULL;
	}
	return rc;
}

static int
check_listen(const struct config *c, const char *url, int operator)
{
	if (operator) {
		if (strncmp(url, "ipc://", 6) != 0)
			return ca_error(CA_ERR_CONFIG, "%s: [%s] operator: %s: "
			    "the operator socket must be ipc:// (it is "
			    "protected by file permissions)", config_path(c),
			    ISSUER_CONFIG_SECTION, url);
		return CA_OK;
	}
	if (strncmp(url, "tcp://", 6) != 0 &&
	    strncmp(url, "tls+tcp://", 10) != 0 &&
	    strncmp(url, "ipc://", 6) != 0)
		return ca_error(CA_ERR_CONFIG, "%s: [%s] listen: %s: only "
		    "tls+tcp://, tcp:// and ipc:// are supported",
		    config_path(c), ISSUER_CONFIG_SECTION, url);
	return CA_OK;
}

/*
 * path_list reads the optional setting key of section sec, a list of file
 * names, into paths (ISSUER_MAX_ANCHOR_FILES at most), each resolved
 * against the configuration file's folder; *n counts them.
 */
static int
path_list(char **paths, size_t *n, const struct config *conf,
    const char *sec, const char *key)
{
	char *rel[ISSUER_MAX_ANCHOR_FILES];
	const char *s;
	char what[512];
	size_t i, nrel = 0;
	int rc;

	if ((rc = config_get_string(&s, conf, sec, key, NULL)) != CA_OK ||
	    s == NULL)
		return rc;
	snprintf(what, sizeof(what), "%s: [%s] %s", config_path(conf), sec,
	    key);
	if ((rc = issuer_split_list(rel, ISSUER_MAX_ANCHOR_FILES, &nrel, s,
	    what)) != CA_OK)
		return rc;
	for (i = 0; i < nrel; i++) {
		if (rc == CA_OK && (rc = config_resolve(&paths[*n], conf,
		    rel[i])) == CA_OK)
			(*n)++;
		free(rel[i]);
	}
	return rc;
}

int
issuer_config_load(struct issuer_config **out, const char *path)
{
	struct issuer_config *ic = NULL;
	const char *s, *sec = ISSUER_CONFIG_SECTION;
	char what[64];
	size_t i;
	int tls = 0, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((ic = calloc(1, sizeof(*ic))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((rc = config_load(&ic->conf, path)) != CA_OK)
		goto out;
	if ((rc = config_require_section(ic->conf, sec, NULL)) != CA_OK ||
	    (rc = config_check_keys(ic->conf, sec, issuer_keys)) != CA_OK)
		goto out;
	if ((rc = module_config_load(&ic->mod, ic->conf, sec, 0)) != CA_OK ||
	    (rc = config_require_path(&ic->certificate, ic->conf, sec,
	    "certificate")) != CA_OK ||
	    (rc = config_get_path(&ic->chain, ic->conf, sec, "chain",
	    NULL)) != CA_OK ||
	    (rc = config_require_path(&ic->log, ic->conf, sec, "log")) != CA_OK)
		goto out;

	if ((rc = config_require_string(&s, ic->conf, sec, "listen")) != CA_OK)
		goto out;
	snprintf(what, sizeof(what), "%s: [%s] listen", config_path(ic->conf),
	    sec);
	if ((rc = issuer_split_list(ic->listen, ISSUER_MAX_LISTEN,
	    &ic->nlisten, s, what)) != CA_OK)
		goto out;
	if (ic->nlisten == 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s: empty", what);
		goto out;
	}
	for (i = 0; i < ic->nlisten; i++) {
		if ((rc = check_listen(ic->conf, ic->listen[i], 0)) != CA_OK)
			goto out;
		if (strncmp(ic->listen[i], "tls+tcp://", 10) == 0)
			tls = 1;
	}
	if ((rc = config_get_string(&s, ic->conf, sec, "operator",
	    ISSUER_OPERATOR_DEFAULT)) != CA_OK)
		goto out;
	if (strcmp(s, "none") != 0) {
		if ((rc = check_listen(ic->conf, s, 1)) != CA_OK)
			goto out;
		if ((ic->operator_url = strdup(s)) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "operator: out of memory");
			goto out;
		}
		for (i = 0; i < ic->nlisten; i++)
			if (strcmp(ic->listen[i], s) == 0) {
				rc = ca_error(CA_ERR_CONFIG, "%s: [%s] "
				    "operator: %s is also in listen; the "
				    "operator socket must be its own",
				    config_path(ic->conf), sec, s);
				goto out;
			}
	}
	if ((rc = config_get_string(&ic->operator_group, ic->conf, sec,
	    "operator_group", NULL)) != CA_OK)
		goto out;

	if ((rc = config_get_path(&ic->tls_cert, ic->conf, sec, "tls_cert",
	    NULL)) != CA_OK ||
	    (rc = config_get_path(&ic->tls_key, ic->conf, sec, "tls_key",
	    NULL)) != CA_OK)
		goto out;
	if (tls && (ic->tls_cert == NULL || ic->tls_key == NULL)) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] tls_cert, tls_key: "
		    "required with a tls+tcp:// listener",
		    config_path(ic->conf), sec);
		goto out;
	}

	if ((rc = config_get_int(&ic->workers, ic->conf, sec, "workers",
	    ISSUER_WORKERS_DEFAULT, 1, ISSUER_WORKERS_MAX)) != CA_OK ||
	    (rc = config_get_string(&ic->csr_subject, ic->conf, sec,
	    "csr_subject", NULL)) != CA_OK ||
	    (rc = config_get_int(&ic->nonce_ttl, ic->conf, sec, "nonce_ttl",
	    NONCE_TTL_DEFAULT, 1, NONCE_TTL_MAX)) != CA_OK ||
	    (rc = config_get_int(&ic->nonce_max, ic->conf, sec, "nonce_max",
	    NONCE_MAX_DEFAULT, 1, NONCE_MAX_MAX)) != CA_OK ||
	    (rc = config_get_string(&ic->iddoc_keys, ic->conf, sec,
	    "iddoc_keys", NULL)) != CA_OK ||
	    (rc = config_get_int(&ic->iddoc_window, ic->conf, sec,
	    "iddoc_window", IDDOC_WINDOW_DEFAULT, 1, 86400)) != CA_OK ||
	    (rc = config_get_int(&ic->iddoc_skew, ic->conf, sec,
	    "iddoc_skew", IDDOC_SKEW_DEFAULT, 0, 3600)) != CA_OK ||
	    (rc = config_get_string(&ic->iddoc_audience, ic->conf, sec,
	    "iddoc_audience", NULL)) != CA_OK ||
	    (rc = config_get_string(&s, ic->conf, sec, "iddoc_binding",
	    "required")) != CA_OK ||
	    (rc = config_get_int(&ic->log_level, ic->conf, sec, "log_level",
	    2, 0, 3)) != CA_OK)
		goto out;
	if (strcmp(s, "required") == 0)
		ic->iddoc_binding_optional = 0;
	else if (strcmp(s, "optional") == 0)
		ic->iddoc_binding_optional = 1;
	else {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] iddoc_binding: \"%s\" is "
		    "neither required (the default: a document must name the "
		    "certificate key) nor optional", config_path(ic->conf),
		    sec, s);
		goto out;
	}
	if ((rc = config_get_int(&ic->max_connections, ic->conf, sec,
	    "max_connections", CONN_LIMIT_TOTAL_DEFAULT, 1,
	    CONN_LIMIT_MAX_TOTAL)) != CA_OK ||
	    (rc = config_get_int(&ic->max_connections_per_peer, ic->conf, sec,
	    "max_connections_per_peer", CONN_LIMIT_PER_PEER_DEFAULT <
	    ic->max_connections ? CONN_LIMIT_PER_PEER_DEFAULT :
	    ic->max_connections, 1, CONN_LIMIT_MAX_TOTAL)) != CA_OK ||
	    (rc = config_get_int(&ic->idle_timeout, ic->conf, sec,
	    "idle_timeout", CONN_LIMIT_IDLE_DEFAULT, 1,
	    CONN_LIMIT_IDLE_MAX)) != CA_OK)
		goto out;
	if (ic->max_connections_per_peer > ic->max_connections) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s] "
		    "max_connections_per_peer: %ld is more than "
		    "max_connections (%ld); one peer could take every "
		    "connection", config_path(ic->conf), sec,
		    ic->max_connections_per_peer, ic->max_connections);
		goto out;
	}
	if (ic->csr_subject != NULL && (rc = config_require_section(ic->conf,
	    ic->csr_subject, "[issuer] csr_subject")) != CA_OK)
		goto out;
	if (ic->iddoc_keys != NULL && (rc = config_require_section(ic->conf,
	    ic->iddoc_keys, "[issuer] iddoc_keys")) != CA_OK)
		goto out;

	if ((rc = config_require_string(&s, ic->conf, sec,
	    "profiles")) != CA_OK)
		goto out;
	snprintf(what, sizeof(what), "%s: [%s] profiles",
	    config_path(ic->conf), sec);
	if ((rc = issuer_split_list(ic->profiles, ISSUER_MAX_PROFILES,
	    &ic->nprofiles, s, what)) != CA_OK)
		goto out;
	if (ic->nprofiles == 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s: empty", what);
		goto out;
	}
	for (i = 0; i < ic->nprofiles; i++)
		if ((rc = config_require_section(ic->conf, ic->profiles[i],
		    "[issuer] profiles")) != CA_OK)
			goto out;

	if ((rc = path_list(ic->device_anchors, &ic->ndevice_anchors,
	    ic->conf, sec, "x509pop_device_anchors")) != CA_OK ||
	    (rc = path_list(ic->weak_keys, &ic->nweak_keys, ic->conf, sec,
	    "weak_keys")) != CA_OK ||
	    (rc = path_list(ic->tpm_ek_ca, &ic->ntpm_ek_ca, ic->conf, sec,
	    "tpm_ek_ca")) != CA_OK ||
	    (rc = config_get_string(&s, ic->conf, sec, "tpm_ek_allow", NULL))
	    != CA_OK)
		goto out;
	if (s != NULL && (rc = config_resolve(&ic->tpm_ek_allow, ic->conf, s))
	    != CA_OK)
		goto out;

	*out = ic;
	ic = NULL;
	rc = CA_OK;
 out:
	issuer_config_free(ic);
	return rc;
}
