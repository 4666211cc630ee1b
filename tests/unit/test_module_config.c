/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/module_config.c, the one parser of the PKCS#11
 * module section: every key read and resolved (module paths against the
 * file's folder, file: PIN sources made absolute, env: and prompt kept),
 * the deprecated init_args spelling accepted and flagged, both spellings
 * at once refused, MODULE_CONFIG_NO_KEY and module_config_key_load, and
 * bad values refused with CA_ERR_CONFIG and a message that names the file,
 * the section and the key, never echoing what may be a PIN. Every refusal
 * leaves the struct empty (nothing to free).
 */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/module_config.h"
#include "tests/unit/unit.h"

static char dir[256];
static int serial;

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test_module_config.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	return mkdtemp(dir) == NULL;
}

static int
teardown(void)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0;
}

/* load writes "[m]\n" + body to a fresh file and loads it (NULL: failed). */
static struct config *
load(const char *body)
{
	struct config *c = NULL;
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/m%d.cnf", dir, serial++);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "[m]\n%s", body);
	CU_ASSERT_EQUAL(fclose(f), 0);
	CU_ASSERT_EQUAL(config_load(&c, p), CA_OK);
	return c;
}

static int
detail_has(const char *s)
{
	if (strstr(ca_error_detail(), s) != NULL)
		return 1;
	fprintf(stderr, "\n  detail \"%s\" lacks \"%s\"\n", ca_error_detail(),
	    s);
	return 0;
}

static int
is_empty(const struct module_config *mc)
{
	return mc->module == NULL && mc->init_args == NULL &&
	    mc->key_uri == NULL && mc->pin_source == NULL &&
	    mc->allow_unsafe_keys == 0 && mc->init_args_deprecated == 0;
}

/*
 * refused: loading body with flags fails with CA_ERR_CONFIG, the message
 * names want (and the section), does not contain hidden (when not NULL),
 * and the struct is left empty.
 */
static void
refused(const char *body, unsigned int flags, const char *want,
    const char *hidden)
{
	struct module_config mc;
	struct config *c;

	memset(&mc, 0xa5, sizeof(mc));
	c = load(body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(module_config_load(&mc, c, "m", flags),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has(want));
	CU_ASSERT(detail_has("[m]"));
	CU_ASSERT(detail_has(config_path(c)));
	if (hidden != NULL)
		CU_ASSERT_PTR_NULL(strstr(ca_error_detail(), hidden));
	CU_ASSERT(is_empty(&mc));
	module_config_clear(&mc);
	config_free(c);
}

static void
test_all_keys(void)
{
	struct module_config mc;
	struct config *c;
	char want[600];

	/*
	 * NCONF removes single quotes outside double quotes: the docs tell
	 * NSS users to write the init args in double quotes.
	 */
	c = load("module = /usr/lib/softhsm/libsofthsm2.so\n"
	    "module_init_args = \"configdir='sql:/x' certPrefix=''\"\n"
	    "allow_unsafe_keys = yes\n"
	    "key = pkcs11:token=ca;object=k1\n"
	    "pin_source = file:pins/ca.pin\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(module_config_load(&mc, c, "m", 0), CA_OK);
	CU_ASSERT_STRING_EQUAL(mc.module, "/usr/lib/softhsm/libsofthsm2.so");
	CU_ASSERT_STRING_EQUAL(mc.init_args, "configdir='sql:/x' certPrefix=''");
	CU_ASSERT_EQUAL(mc.allow_unsafe_keys, 1);
	CU_ASSERT_EQUAL(mc.init_args_deprecated, 0);
	CU_ASSERT_STRING_EQUAL(mc.key_uri, "pkcs11:token=ca;object=k1");
	/* A relative PIN file is resolved against the file's folder. */
	snprintf(want, sizeof(want), "file:%s/pins/ca.pin", dir);
	CU_ASSERT_STRING_EQUAL(mc.pin_source, want);
	module_config_clear(&mc);
	CU_ASSERT(is_empty(&mc));
	config_free(c);
	module_config_clear(NULL);
}

static void
test_defaults_and_paths(void)
{
	struct module_config mc;
	struct config *c;
	char want[600];

	/* Only module and key: no init args, safe keys, no PIN source. */
	c = load("module = libsofthsm2.so\nkey = pkcs11:token=ca\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(module_config_load(&mc, c, "m", 0), CA_OK);
	/* A bare file name is left to the dynamic loader. */
	CU_ASSERT_STRING_EQUAL(mc.module, "libsofthsm2.so");
	CU_ASSERT_PTR_NULL(mc.init_args);
	CU_ASSERT_EQUAL(mc.allow_unsafe_keys, 0);
	CU_ASSERT_PTR_NULL(mc.pin_source);
	module_config_clear(&mc);
	config_free(c);

	/* A relative path with a '/' is resolved against the file's folder. */
	c = load("module = lib/mod.so\nkey = pkcs11:token=ca\n"
	    "pin_source = env:CA_PIN\nallow_unsafe_keys = no\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(module_config_load(&mc, c, "m", 0), CA_OK);
	snprintf(want, sizeof(want), "%s/lib/mod.so", dir);
	CU_ASSERT_STRING_EQUAL(mc.module, want);
	CU_ASSERT_STRING_EQUAL(mc.pin_source, "env:CA_PIN");
	module_config_clear(&mc);
	config_free(c);

	/* prompt only where the program allows it. */
	c = load("module = /m.so\nkey = pkcs11:token=ca\npin_source = prompt\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(module_config_load(&mc, c, "m",
	    MODULE_CONFIG_PROMPT), CA_OK);
	CU_ASSERT_STRING_EQUAL(mc.pin_source, "prompt");
	module_config_clear(&mc);
	config_free(c);
	refused("module = /m.so\nkey = pkcs11:token=ca\npin_source = prompt\n",
	    0, "pin_source: must be file:PATH or env:NAME (never", NULL);
}

static void
test_init_args_alias(void)
{
	struct module_config mc;
	struct config *c;

	c = load("module = /m.so\ninit_args = \"configdir='sql:/db'\"\n"
	    "key = pkcs11:token=ca\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(module_config_load(&mc, c, "m", 0), CA_OK);
	CU_ASSERT_STRING_EQUAL(mc.init_args, "configdir='sql:/db'");
	CU_ASSERT_EQUAL(mc.init_args_deprecated, 1);
	module_config_clear(&mc);
	config_free(c);

	/* Both spellings: which one is meant is not ours to guess. */
	refused("module = /m.so\nmodule_init_args = a\ninit_args = b\n"
	    "key = pkcs11:token=ca\n", 0,
	    "init_args: give module_init_args only", NULL);
	refused("module = /m.so\nmodule_init_args = a\ninit_args = a\n"
	    "key = pkcs11:token=ca\n", 0,
	    "init_args: give module_init_args only", NULL);
}

static void
test_no_key(void)
{
	struct module_config mc;
	struct config *c;

	/* NO_KEY: the key lives elsewhere; a missing one is fine. */
	c = load("module = /m.so\n\n[issuer1]\nkey = pkcs11:token=a;object=b\n"
	    "pin_source = env:P1\n\n[issuer2]\nkey = /etc/ca.key\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(module_config_load(&mc, c, "m",
	    MODULE_CONFIG_NO_KEY), CA_OK);
	CU_ASSERT_PTR_NULL(mc.key_uri);
	CU_ASSERT_PTR_NULL(mc.pin_source);
	CU_ASSERT_EQUAL(module_config_key_load(&mc, c, "issuer1", 0), CA_OK);
	CU_ASSERT_STRING_EQUAL(mc.key_uri, "pkcs11:token=a;object=b");
	CU_ASSERT_STRING_EQUAL(mc.pin_source, "env:P1");
	module_config_clear(&mc);
	CU_ASSERT_EQUAL_FATAL(module_config_load(&mc, c, "m",
	    MODULE_CONFIG_NO_KEY), CA_OK);
	CU_ASSERT_EQUAL(module_config_key_load(&mc, c, "issuer2", 0),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[issuer2] key: \"/etc/ca.key\" is not an RFC "
	    "7512 pkcs11: URI"));
	CU_ASSERT_PTR_NULL(mc.key_uri);
	CU_ASSERT_PTR_NULL(mc.pin_source);
	CU_ASSERT_EQUAL(module_config_key_load(&mc, c, "absent", 0),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[absent]"));
	module_config_clear(&mc);
	config_free(c);
}

static void
test_bad_values(void)
{
	refused("key = pkcs11:token=ca\n", 0, "[m] module: missing", NULL);
	refused("module =\nkey = pkcs11:token=ca\n", 0, "module: empty value",
	    NULL);
	refused("module = /m.so\n", 0, "[m] key: missing", NULL);
	refused("module = /m.so\nkey = pkcs11:token=ca\n"
	    "allow_unsafe_keys = maybe\n", 0,
	    "allow_unsafe_keys: \"maybe\" is not a boolean", NULL);
	refused("module = /m.so\nkey = /etc/carapace/ca.key\n", 0,
	    "key: \"/etc/carapace/ca.key\" is not an RFC 7512 pkcs11: URI",
	    NULL);
	/* A PIN in the URI or as the PIN source is never echoed. */
	refused("module = /m.so\nkey = pkcs11:token=ca?pin-value=48151623\n",
	    0, "key: a PIN may not be written into the URI (pin-value)",
	    "48151623");
	refused("module = /m.so\nkey = pkcs11:token=ca\n"
	    "pin_source = 48151623\n", 0,
	    "pin_source: must be file:PATH or env:NAME", "48151623");
	refused("module = /m.so\nkey = pkcs11:token=ca\npin_source = file:\n",
	    0, "pin_source: must be file:PATH", NULL);
	refused("module = /m.so\nkey = pkcs11:token=ca\npin_source = env:\n",
	    MODULE_CONFIG_PROMPT, "pin_source: must be file:PATH or env:NAME "
	    "or prompt", NULL);
}

static CU_TestInfo tests[] = {
	{ "every key read and resolved", test_all_keys },
	{ "defaults, module paths, env: and prompt", test_defaults_and_paths },
	{ "init_args: deprecated alias, both given refused",
	    test_init_args_alias },
	{ "MODULE_CONFIG_NO_KEY and module_config_key_load", test_no_key },
	{ "bad values named, PINs not echoed", test_bad_values },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("module_config", setup, teardown, tests)
