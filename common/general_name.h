/* SPDX-License-Identifier: ISC */
/*
 * general_name: the syntax checks every GeneralName carapace encodes or
 * accepts must pass (RFC 5280 4.2.1.6 and 4.2.1.10), so that strict
 * validators accept what it signs. The ceremony's and the issuer's
 * profiles (subjectAltName, issuerAltName, nameConstraints,
 * authorityInfoAccess, crlDistributionPoints, freshestCRL) and the names a
 * CSR or a join token asks for all go through here.
 *
 *  - dNSName: preferred name syntax (RFC 1034 3.5, RFC 1123 2.1): labels
 *    of 1 to 63 letters, digits and hyphens, not starting or ending with a
 *    hyphen, at most 253 characters, no leading or trailing dot; IDNs as
 *    A-labels ("xn--..."). A constraint is a domain name too: "a.example"
 *    already covers every name under it, and ".a.example" is not a DNS
 *    constraint. A leftmost "*" label is accepted where the caller allows
 *    wildcards (GENERAL_NAME_WILDCARD).
 *  - uniformResourceIdentifier: a name is an absolute URI (RFC 3986) with
 *    a scheme and a host ("file:" may have an empty host); a constraint is
 *    a host or, with a leading dot, a domain.
 *  - rfc822Name: a name is local@domain; a constraint is a mailbox, a
 *    host, or a domain with a leading dot.
 *  - iPAddress: a name is 4 or 16 octets; a constraint is an address and
 *    a contiguous mask of the same family (8 or 32 octets), with no host
 *    bits set.
 *  - directoryName, registeredID and otherName pass; x400Address and
 *    ediPartyName are refused.
 */
#ifndef GENERAL_NAME_H
#define GENERAL_NAME_H

#include <stddef.h>

#include <openssl/x509v3.h>

#define GENERAL_NAME_DNS_MAX	253
#define GENERAL_NAME_LABEL_MAX	63

/* Flags for the checks below. */
#define GENERAL_NAME_CONSTRAINT	0x01u	/* a nameConstraints base */
#define GENERAL_NAME_WILDCARD	0x02u	/* a leftmost "*" label is fine */

/*
 * general_name_dns_check checks the len bytes at s as a dNSName (flags:
 * GENERAL_NAME_CONSTRAINT, GENERAL_NAME_WILDCARD). Returns CA_OK or
 * CA_ERR_INVALID with a message that starts with what, quotes the value
 * and says what the right form is.
 */
int general_name_dns_check(const char *s, size_t len, unsigned flags,
    const char *what) __attribute__((warn_unused_result));

/*
 * general_name_check checks one GeneralName as described above; flags as
 * for general_name_dns_check. Same returns.
 */
int general_name_check(const GENERAL_NAME *gn, unsigned flags,
    const char *what) __attribute__((warn_unused_result));

/*
 * general_name_ext_check checks every GeneralName in ext, when ext is one
 * of the extensions listed at the top (others pass): the subtrees of
 * nameConstraints as constraints (and their minimum and maximum absent),
 * the access locations of authorityInfoAccess and the full names of the
 * distribution points as URIs. CA_ERR_INVALID naming what, the value and
 * the rule; CA_ERR_INVALID too when ext cannot be decoded.
 */
int general_name_ext_check(const X509_EXTENSION *ext, const char *what)
    __attribute__((warn_unused_result));

/* The callback of general_name_ext_uris; return 0 to go on. */
typedef int (*general_name_uri_fn)(const char *uri, void *arg);

/*
 * general_name_ext_uris calls cb with every URI (NUL-terminated, valid for
 * the call) in ext when ext is authorityInfoAccess, subjectInfoAccess,
 * crlDistributionPoints or freshestCRL; other extensions have none.
 * Returns the first non-zero value cb returned, else 0; -1 when ext cannot
 * be decoded.
 */
int general_name_ext_uris(const X509_EXTENSION *ext, general_name_uri_fn cb,
    void *arg);

/*
 * general_name_uri_local reports whether the URI (NUL-terminated) points
 * somewhere only this host can reach: a "file:" URI, or a host that is
 * "localhost", a loopback address (127/8, ::1) or a link-local one
 * (169.254/16, fe80::/10). 1 when it does, 0 otherwise.
 */
int general_name_uri_local(const char *uri);

#endif /* GENERAL_NAME_H */
