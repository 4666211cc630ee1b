/* SPDX-License-Identifier: ISC */
/*
 * policy: what an attested identity may put in its certificate. The issuer's
 * configuration holds one section per attestation method:
 *
 *   [policy_joinToken]            the token's own names and profile
 *   profiles = leaf server        optional: profiles a token may name
 *
 *   [policy_x509pop_renewal]      names: exactly the old certificate's
 *   profile = leaf
 *
 *   [policy_x509pop_device]       names from templates
 *   profile = device
 *   names = {serial}.devices.example {cn}.devices.example
 *
 *   [policy_iddoc]
 *   profile = compute
 *   names = {instance}.{region}.compute.example
 *   accounts = 123456789012       optional: accounts that are accepted
 *
 *   [policy_tpm]
 *   profile = machine
 *   names = {ek}.tpm.example
 *
 * A method whose section is absent is disabled. Lists are separated by
 * commas and/or blanks. Template variables are {serial} (the device
 * certificate's serial in lowercase hex), {cn} (its commonName), and
 * {instance}, {account}, {region} (identity document), {ek} (TPM: the first
 * 16 hex digits of the SHA-256 of the EK public key); they are written
 * without the "$" of "${name}" because NCONF expands $-variables itself
 * when it reads the file. A template that gives no name for an identity
 * (no CN, say) grants nothing to it. A substituted
 * value must be exactly one DNS label (letters, digits, '-', 1..63 chars;
 * it is lowercased), so no identity can widen a template to another domain.
 *
 * Names are DNS names: labels of letters, digits and '-' (not first or last),
 * 1..63 characters, at most 253 in all, no trailing dot; compared without
 * regard to ASCII case. A grant is one of
 *   "host.example"        exactly that name;
 *   "*.node.example"      any name of exactly one more label than
 *                         "node.example" ("a.node.example", not
 *                         "a.b.node.example" and not "node.example"); the
 *                         suffix must have at least two labels;
 *   "=*.node.example"     the wildcard name "*.node.example" itself.
 * A requested name that contains '*' is granted only by a "=" grant that
 * spells it out: a pattern never grants a wildcard certificate.
 *
 * Every function returns CA_OK or a ca_err code with a detail message
 * (ca_error_detail()).
 */
#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>

#include "common/ca_config.h"

#define POLICY_NAME_MAX		253	/* RFC 1035 2.3.4, without the dot */
#define POLICY_MAX_NAMES	100	/* names per request or per grant */

enum policy_method {
	POLICY_JOIN_TOKEN = 0,
	POLICY_X509POP_RENEWAL,
	POLICY_X509POP_DEVICE,
	POLICY_IDDOC,
	POLICY_TPM,
	POLICY_METHOD__MAX
};

/*
 * The attested identity as the attestors return it, in plain strings that
 * the caller owns. Fields a method does not use are NULL / 0.
 */
struct policy_identity {
	enum policy_method method;
	const char *who;		/* for messages: "token 3f..." */
	/* join token: its allowed names; renewal: the old certificate's */
	const char *const *names;
	size_t nnames;
	const char *profile;		/* join token: the token's profile */
	const char *serial_hex;		/* x509pop device */
	const char *cn;			/* x509pop device, may be NULL */
	const char *instance;		/* iddoc */
	const char *account;		/* iddoc */
	const char *region;		/* iddoc */
	const char *ek;			/* tpm: EK SHA-256, first 16 hex digits */
};

struct policy;

/*
 * policy_decision: what policy_check granted. profile is the profile
 * section to issue under.
 */
struct policy_decision {
	char *profile;
};

/*
 * policy_load reads the four policy sections from c (unknown keys and bad
 * templates are CA_ERR_CONFIG naming the file, section and key). A config
 * with none of them is valid: every method is disabled. The caller frees
 * the result with policy_free. Nothing in it borrows from c.
 */
int policy_load(struct policy **out, const struct config *c)
    __attribute__((warn_unused_result));

/* policy_free releases p; policy_free(NULL) does nothing. */
void policy_free(struct policy *p);

/* policy_enabled returns 1 when the method's section is configured. */
int policy_enabled(const struct policy *p, enum policy_method m);

/* policy_method_name: "joinToken", "x509pop renewal", ... (static). */
const char *policy_method_name(enum policy_method m);

/*
 * policy_check decides whether id may receive a certificate for the
 * requested DNS names (from the CSR; at least one). It returns CA_OK and,
 * when out is not NULL, a decision the caller frees with
 * policy_decision_free; CA_ERR_DENIED naming the first name that is not
 * granted, or the rule broken (method disabled, account not accepted,
 * renewal that drops a name, ...); CA_ERR_INVALID for a requested name
 * that is not a valid DNS name.
 */
int policy_check(struct policy_decision **out, const struct policy *p,
    const struct policy_identity *id, const char *const *requested,
    size_t nrequested) __attribute__((warn_unused_result));

/* policy_decision_free; NULL does nothing. */
void policy_decision_free(struct policy_decision *d);

/*
 * policy_name_check validates one DNS name to be issued: CA_OK, or
 * CA_ERR_INVALID saying what is wrong. With allow_wildcard, a first label
 * of exactly "*" is accepted.
 */
int policy_name_check(const char *name, int allow_wildcard)
    __attribute__((warn_unused_result));

/*
 * policy_grant_check validates one grant ("host", "*.suffix" or
 * "=literal" as above): CA_OK or CA_ERR_INVALID.
 */
int policy_grant_check(const char *grant)
    __attribute__((warn_unused_result));

/*
 * policy_grant_match returns 1 when the (valid) grant grants the (valid)
 * name, else 0.
 */
int policy_grant_match(const char *grant, const char *name);

#endif /* POLICY_H */
