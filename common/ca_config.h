/* SPDX-License-Identifier: ISC */
/*
 * ca_config (functions config_*): NCONF (openssl.cnf syntax) configuration
 * files with errors that name the file, the section and the key:
 *   "ceremony.cnf: [root] days: missing"
 *   "ceremony.cnf:12: syntax error: missing equal sign"
 *   "ceremony.cnf: [root] dayz: unknown key (did you mean \"days\"?)"
 *
 * Lookups are exact: a key is only found in the section asked for (NCONF's
 * fallback to the unnamed "default" section is not used). Relative paths in
 * values are resolved against the directory that holds the file.
 * $ENV::NAME and $var expansion work as in OpenSSL.
 *
 * Getters that take a default return it when the key is absent; the
 * "require" getters fail with CA_ERR_CONFIG. Every error is CA_ERR_CONFIG
 * unless said otherwise. Strings returned as const char * are borrowed from
 * the config and live until config_free.
 *
 * (The file is ca_config.h, not config.h: a common/config.h would shadow
 * autoconf's config.h for every #include "config.h" in common/.)
 */
#ifndef CA_CONFIG_H
#define CA_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/conf.h>

#include "common/fileio.h"

struct config;

/* Files larger than this are refused. */
#define CONFIG_MAX_SIZE		(1024 * 1024)

/*
 * config_load reads and parses path (capped at CONFIG_MAX_SIZE). A syntax
 * error is reported as "path:LINE: syntax error: REASON". The caller frees
 * the result with config_free.
 */
int config_load(struct config **out, const char *path)
    __attribute__((warn_unused_result));

/* config_free releases the config; config_free(NULL) does nothing. */
void config_free(struct config *c);

/* config_path: the path as given to config_load (used in messages). */
const char *config_path(const struct config *c);

/* config_dir: the directory relative paths are resolved against. */
const char *config_dir(const struct config *c);

/* config_sha256: SHA-256 of the exact bytes that were parsed. */
const uint8_t *config_sha256(const struct config *c);

/*
 * config_conf: the parsed CONF, for X509V3_set_nconf (extension sections
 * that refer to other sections with @name). Borrowed.
 */
CONF *config_conf(const struct config *c);

/* config_has_section: 1 when the section exists (even empty), else 0. */
int config_has_section(const struct config *c, const char *section);

/*
 * config_require_section fails with "FILE: [SECTION]: missing section"
 * and, when a section with a similar name exists, "(did you mean
 * [NAME]?)". referer, when not NULL, names the "[section] key" that
 * pointed here and is added to the message.
 */
int config_require_section(const struct config *c, const char *section,
    const char *referer) __attribute__((warn_unused_result));

/*
 * config_check_keys fails on the first key in section that is not in the
 * NULL-terminated list allowed, suggesting the closest allowed name, so a
 * misspelled key is never silently ignored. A missing section passes.
 */
int config_check_keys(const struct config *c, const char *section,
    const char *const *allowed) __attribute__((warn_unused_result));

/* config_get_string: *out is the value, or def when the key is absent. */
int config_get_string(const char **out, const struct config *c,
    const char *section, const char *key, const char *def)
    __attribute__((warn_unused_result));

/* config_require_string: the value, which must be present and non-empty. */
int config_require_string(const char **out, const struct config *c,
    const char *section, const char *key)
    __attribute__((warn_unused_result));

/*
 * config_get_int parses a decimal integer in [min, max]; def when absent.
 * Trailing characters, overflow and out-of-range values are errors that
 * give the range.
 */
int config_get_int(long *out, const struct config *c, const char *section,
    const char *key, long def, long min, long max)
    __attribute__((warn_unused_result));
int config_require_int(long *out, const struct config *c,
    const char *section, const char *key, long min, long max)
    __attribute__((warn_unused_result));

/*
 * config_get_bool accepts yes/no, true/false, on/off and 1/0 (any case);
 * def when absent.
 */
int config_get_bool(int *out, const struct config *c, const char *section,
    const char *key, int def) __attribute__((warn_unused_result));

/*
 * config_get_time parses a GeneralizedTime "YYYYMMDDHHMMSSZ" (UTC). *present
 * is set to 0 (and *out to 0) when the key is absent, else 1.
 */
int config_get_time(time_t *out, int *present, const struct config *c,
    const char *section, const char *key)
    __attribute__((warn_unused_result));

/*
 * config_duration_parse parses a duration: decimal seconds, or a number
 * followed by s, m, h or d ("86400", "90m", "24h", "7d"). The value must be
 * in [min, max]; what names the setting in messages. Returns CA_OK or
 * CA_ERR_CONFIG.
 */
int config_duration_parse(int64_t *out, const char *s, int64_t min,
    int64_t max, const char *what) __attribute__((warn_unused_result));

/*
 * config_time_parse parses a GeneralizedTime string "YYYYMMDDHHMMSSZ".
 * Returns 0 on success and -1 for anything else (used for values that
 * are part of a list, such as a revocation entry).
 */
int config_time_parse(time_t *out, const char *s)
    __attribute__((warn_unused_result));

/*
 * config_get_path: the value resolved against config_dir when relative, in
 * a new string the caller frees with free(); NULL (and CA_OK) when the key
 * is absent and def is NULL, else def resolved the same way.
 */
int config_get_path(char **out, const struct config *c, const char *section,
    const char *key, const char *def) __attribute__((warn_unused_result));
int config_require_path(char **out, const struct config *c,
    const char *section, const char *key)
    __attribute__((warn_unused_result));

/*
 * config_resolve resolves a path the way config_get_path does, in a new
 * string the caller frees.
 */
int config_resolve(char **out, const struct config *c, const char *path)
    __attribute__((warn_unused_result));

/*
 * config_section_count / config_section_item list a section's keys in the
 * order of the file (a key given twice keeps its last value). The strings
 * are borrowed. config_section_item returns -1 when i is out of range.
 */
size_t config_section_count(const struct config *c, const char *section);
int config_section_item(const char **name, const char **value,
    const struct config *c, const char *section, size_t i);

#endif /* CA_CONFIG_H */
