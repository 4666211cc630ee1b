/* SPDX-License-Identifier: ISC */
/*
 * issuer_config: the [issuer] section of carapace-issuer's configuration
 * file (carapace-issuer.cnf(5)), read once at startup into plain strings.
 * Profiles, policy sections and identity-document keys stay in the parsed
 * config (conf), which the daemon keeps for signer_add_profile,
 * leaf_profile_load, policy_load and iddoc_keys_load.
 *
 * Paths are resolved against the configuration file's directory, and so is
 * a relative "file:" pin source. Unknown keys are refused with a
 * suggestion, so a misspelled setting is never silently ignored.
 */
#ifndef ISSUER_CONFIG_H
#define ISSUER_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "common/ca_config.h"
#include "common/module_config.h"

#define ISSUER_CONFIG_SECTION	"issuer"
#define ISSUER_MAX_LISTEN	8
#define ISSUER_MAX_PROFILES	32
#define ISSUER_MAX_ANCHOR_FILES	16
#define ISSUER_WORKERS_DEFAULT	32
#define ISSUER_WORKERS_MAX	256
#define ISSUER_OPERATOR_DEFAULT	"ipc:///run/carapace/operator.sock"

struct issuer_config {
	struct config *conf;		/* the parsed file, owned */
	/* module, module_init_args, allow_unsafe_keys, key, pin_source */
	struct module_config mod;
	char *certificate;
	char *chain;			/* may be NULL */
	char *log;
	char *listen[ISSUER_MAX_LISTEN];
	size_t nlisten;
	char *operator_url;		/* may be NULL: "operator = none" */
	const char *operator_group;	/* may be NULL */
	char *tls_cert;			/* required with a tls+tcp:// listener */
	char *tls_key;
	long workers;
	long max_connections;		/* network pipes, in all */
	long max_connections_per_peer;	/* per IPv4 address or IPv6 /64 */
	long idle_timeout;		/* seconds; see conn_limit.h */
	const char *csr_subject;	/* section name, may be NULL */
	char *profiles[ISSUER_MAX_PROFILES];	/* section names */
	size_t nprofiles;
	long nonce_ttl;
	long nonce_max;
	char *device_anchors[ISSUER_MAX_ANCHOR_FILES];	/* PEM files */
	size_t ndevice_anchors;
	char *weak_keys[ISSUER_MAX_ANCHOR_FILES];	/* blocklist files */
	size_t nweak_keys;
	const char *iddoc_keys;		/* section name, may be NULL */
	long iddoc_window;
	long iddoc_skew;
	const char *iddoc_audience;	/* may be NULL */
	int iddoc_binding_optional;	/* iddoc_binding = optional */
	char *tpm_ek_ca[ISSUER_MAX_ANCHOR_FILES];	/* EK CA PEM files */
	size_t ntpm_ek_ca;
	char *tpm_ek_allow;		/* EK SHA-256 allowlist file, or NULL */
	long log_level;			/* 0 err .. 3 debug */
};

/*
 * issuer_config_load reads path (the whole NCONF file) and its [issuer]
 * section. Errors are CA_ERR_CONFIG (or CA_ERR_NOT_FOUND / CA_ERR_IO for
 * the file) with a message naming the file, section and key. The caller
 * frees *out with issuer_config_free.
 */
int issuer_config_load(struct issuer_config **out, const char *path)
    __attribute__((warn_unused_result));

/* issuer_config_free releases everything; NULL does nothing. */
void issuer_config_free(struct issuer_config *ic);

/*
 * issuer_split_list splits a comma and/or blank separated list into at
 * most max new strings (malloc'd, stored in out[]); *n gets the count.
 * CA_ERR_CONFIG when there are more than max items (what names the
 * setting). On failure nothing is left allocated.
 */
int issuer_split_list(char **out, size_t max, size_t *n, const char *list,
    const char *what) __attribute__((warn_unused_result));

#endif /* ISSUER_CONFIG_H */
