/* SPDX-License-Identifier: ISC */
/*
 * module_config: the PKCS#11 module section, read the same way by every
 * program (carapace-ceremony's [ceremony], carapace-issuer's [issuer],
 * carapace-ocsp's [ocsp] and issuer sections, carapace-crl's [crl]), so
 * that one set of keys means one thing everywhere:
 *
 *   module            path of the PKCS#11 module (required)
 *   module_init_args  the module's init args (NSS softokn: configdir=...)
 *                     ("init_args" is accepted as a deprecated spelling)
 *   allow_unsafe_keys yes/no: use a key that fails the attribute checks
 *                     (the program warns loudly at startup when set)
 *   key               pkcs11: URI of the private key (RFC 7512); it also
 *                     names the token
 *   pin_source        file:PATH (relative to the file), env:NAME, or
 *                     prompt where the program allows it; absent: the key
 *                     URI's own pin-source, else no login
 *
 * A module path with a '/' that is not absolute is resolved against the
 * file's folder; a bare file name is left to the dynamic loader.
 */
#ifndef MODULE_CONFIG_H
#define MODULE_CONFIG_H

#include "common/ca_config.h"

struct module_config {
	char *module;
	char *init_args;	/* NULL when absent */
	int allow_unsafe_keys;
	int init_args_deprecated;	/* the file said "init_args" */
	char *key_uri;		/* NULL with MODULE_CONFIG_NO_KEY */
	char *pin_source;	/* file:/abs, env:NAME, "prompt" or NULL */
};

/* The key names module_config reads, for config_check_keys lists. */
#define MODULE_CONFIG_KEYS \
	"module", "module_init_args", "init_args", "allow_unsafe_keys", \
	"key", "pin_source"
#define MODULE_CONFIG_MODULE_KEYS \
	"module", "module_init_args", "init_args", "allow_unsafe_keys"
#define MODULE_CONFIG_KEY_KEYS	"key", "pin_source"

/* Flags. */
#define MODULE_CONFIG_NO_KEY	0x1	/* key and pin_source live elsewhere */
#define MODULE_CONFIG_PROMPT	0x2	/* pin_source = prompt is allowed */

/*
 * module_config_load reads the module section keys of section into *mc
 * (zeroed first): the module keys, and unless MODULE_CONFIG_NO_KEY the key
 * keys too. Errors are CA_ERR_CONFIG naming the file, section and key; on
 * error *mc holds nothing to free. Free with module_config_clear.
 */
int module_config_load(struct module_config *mc, const struct config *c,
    const char *section, unsigned int flags)
    __attribute__((warn_unused_result));

/*
 * module_config_key_load reads only key and pin_source of section into
 * mc->key_uri and mc->pin_source (for a program whose keys live in their
 * own sections, such as carapace-ocsp's issuers).
 */
int module_config_key_load(struct module_config *mc, const struct config *c,
    const char *section, unsigned int flags)
    __attribute__((warn_unused_result));

/*
 * module_config_warn logs, at warning level, what an operator must not
 * miss about the section: allow_unsafe_keys set, a key that is in use only
 * because of it (unsafe: hsm_key_unsafe's reason, or NULL), and the
 * deprecated init_args spelling. prog names the program.
 */
void module_config_warn(const struct module_config *mc, const char *what,
    const char *unsafe);

/* module_config_clear frees the strings and zeroes *mc. */
void module_config_clear(struct module_config *mc);

#endif /* MODULE_CONFIG_H */
