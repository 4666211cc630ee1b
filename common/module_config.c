/* SPDX-License-Identifier: ISC */
/*
 * module_config: the one parser of the PKCS#11 module section (see
 * module_config.h). Before it, each program read these keys itself and
 * they drifted apart: the init args were "module_init_args" in two
 * programs and "init_args" in a third, and carapace-ocsp had neither.
 * Values are checked here: the key must be a pkcs11: URI without a PIN in
 * it, and the PIN source must say where the PIN is, never be the PIN.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ca_error.h"
#include "common/log.h"
#include "common/module_config.h"

static int
dup_str(char **out, const char *s)
{
	*out = NULL;
	if (s != NULL && (*out = strdup(s)) == NULL)
		return ca_error(CA_ERR_NOMEM, "module section: out of memory");
	return CA_OK;
}

static int
pin_source_load(char **out, const struct config *c, const char *section,
    const char *v, unsigned int flags)
{
	char *path = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (v == NULL)
		return CA_OK;
	if (strncmp(v, "env:", 4) == 0 && v[4] != '\0')
		return dup_str(out, v);
	if (strcmp(v, "prompt") == 0 && (flags & MODULE_CONFIG_PROMPT))
		return dup_str(out, v);
	/* Not echoed: a mistaken value may be the PIN itself. */
	if (strncmp(v, "file:", 5) != 0 || v[5] == '\0')
		return ca_error(CA_ERR_CONFIG, "%s: [%s] pin_source: must be "
		    "file:PATH or env:NAME%s (never the PIN itself)",
		    config_path(c), section, (flags & MODULE_CONFIG_PROMPT) ?
		    " or prompt" : "");
	if ((rc = config_resolve(&path, c, v + 5)) != CA_OK)
		return rc;
	len = strlen(path) + 6;
	if ((*out = malloc(len)) == NULL) {
		free(path);
		return ca_error(CA_ERR_NOMEM, "pin_source: out of memory");
	}
	snprintf(*out, len, "file:%s", path);
	free(path);
	return CA_OK;
}

int
module_config_key_load(struct module_config *mc, const struct config *c,
    const char *section, unsigned int flags)
{
	const char *v, *ps;
	int rc;

	if ((rc = config_require_string(&v, c, section, "key")) != CA_OK ||
	    (rc = config_get_string(&ps, c, section, "pin_source", NULL)) !=
	    CA_OK)
		return rc;
	/* Never echo a URI that may carry a PIN. */
	if (strstr(v, "pin-value") != NULL)
		return ca_error(CA_ERR_CONFIG, "%s: [%s] key: a PIN may not be "
		    "written into the URI (pin-value); use pin_source",
		    config_path(c), section);
	if (strncmp(v, "pkcs11:", 7) != 0)
		return ca_error(CA_ERR_CONFIG, "%s: [%s] key: \"%s\" is not an "
		    "RFC 7512 pkcs11: URI; the key lives in the HSM",
		    config_path(c), section, v);
	if ((rc = dup_str(&mc->key_uri, v)) != CA_OK ||
	    (rc = pin_source_load(&mc->pin_source, c, section, ps, flags)) !=
	    CA_OK) {
		free(mc->key_uri);
		mc->key_uri = NULL;
		return rc;
	}
	return CA_OK;
}

int
module_config_load(struct module_config *mc, const struct config *c,
    const char *section, unsigned int flags)
{
	const char *mod, *ia, *old;
	int rc;

	memset(mc, 0, sizeof(*mc));
	if ((rc = config_require_string(&mod, c, section, "module")) !=
	    CA_OK ||
	    (rc = config_get_string(&ia, c, section, "module_init_args",
	    NULL)) != CA_OK ||
	    (rc = config_get_string(&old, c, section, "init_args", NULL)) !=
	    CA_OK ||
	    (rc = config_get_bool(&mc->allow_unsafe_keys, c, section,
	    "allow_unsafe_keys", 0)) != CA_OK)
		return rc;
	if (ia != NULL && old != NULL)
		return ca_error(CA_ERR_CONFIG, "%s: [%s] init_args: give "
		    "module_init_args only (init_args is its old spelling)",
		    config_path(c), section);
	if (ia == NULL && old != NULL) {
		ia = old;
		mc->init_args_deprecated = 1;
	}
	if (strchr(mod, '/') != NULL && mod[0] != '/')
		rc = config_resolve(&mc->module, c, mod);
	else
		rc = dup_str(&mc->module, mod);
	if (rc != CA_OK || (rc = dup_str(&mc->init_args, ia)) != CA_OK)
		goto fail;
	if (!(flags & MODULE_CONFIG_NO_KEY) &&
	    (rc = module_config_key_load(mc, c, section, flags)) != CA_OK)
		goto fail;
	return CA_OK;
 fail:
	module_config_clear(mc);
	return rc;
}

void
module_config_clear(struct module_config *mc)
{
	if (mc == NULL)
		return;
	free(mc->module);
	free(mc->init_args);
	free(mc->key_uri);
	free(mc->pin_source);
	memset(mc, 0, sizeof(*mc));
}

void
module_config_warn(const struct module_config *mc, const char *what,
    const char *unsafe)
{
	if (mc->init_args_deprecated)
		log_warn("%s: init_args is the old spelling of "
		    "module_init_args; rename it", what);
	if (!mc->allow_unsafe_keys)
		return;
	log_warn("WARNING: %s: allow_unsafe_keys = yes: a key that fails the "
	    "attribute checks (sensitive, never extractable) is used anyway",
	    what);
	if (unsafe != NULL)
		log_warn("WARNING: UNSAFE KEY IN USE: %s; the private key may "
		    "leave the HSM; used only because allow_unsafe_keys = yes",
		    unsafe);
}
