/* SPDX-License-Identifier: ISC */
/*
 * general_name: syntax checks for the GeneralNames carapace encodes or
 * accepts (see general_name.h for the rules and where they come from).
 * Every refusal quotes the value (printable ASCII; anything else shown as
 * '?') and says what the right form is.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "common/general_name.h"

#define GN_SHOW_MAX	96	/* characters of a value quoted in a message */
#define GN_HOST_MAX	(GENERAL_NAME_DNS_MAX + 1)
#define GN_SCHEME_MAX	32

/*
 * show copies the value for a message: printable ASCII as it is, any other
 * byte as \xNN, cut with "..." when it does not fit.
 */
static const char *
show(char *buf, size_t cap, const char *s, size_t len)
{
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; i < len && n + 8 < cap; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", c);
	}
	if (i < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

int
general_name_dns_check(const char *s, size_t len, unsigned flags,
    const char *what)
{
	char v[GN_SHOW_MAX];
	size_t i, start, lab;

	show(v, sizeof(v), s, len);
	if (len == 0)
		return ca_error(CA_ERR_INVALID, "%s: DNS name \"\": empty; "
		    "a DNS name is labels separated by dots (RFC 1034 3.5)",
		    what);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return ca_error(CA_ERR_INVALID, "%s: DNS name \"%s\": "
			    "not ASCII; write an internationalized name as "
			    "A-labels (\"xn--...\", RFC 5890, RFC 5280 7.2)",
			    what, v);
	if (s[0] == '.' && (flags & GENERAL_NAME_CONSTRAINT))
		return ca_error(CA_ERR_INVALID, "%s: DNS name constraint "
		    "\"%s\": RFC 5280 4.2.1.10: a DNS constraint is a domain "
		    "name without a leading dot (the dot form is for URIs and "
		    "email addresses); \"%.*s\" already covers itself and "
		    "every name under it", what, v, (int)(len - 1), s + 1);
	if (s[0] == '.' || s[len - 1] == '.')
		return ca_error(CA_ERR_INVALID, "%s: DNS name \"%s\": a %s "
		    "dot; write the name without it (RFC 5280 4.2.1.6, "
		    "preferred name syntax)", what, v,
		    s[0] == '.' ? "leading" : "trailing");
	if (len > GENERAL_NAME_DNS_MAX)
		return ca_error(CA_ERR_INVALID, "%s: DNS name \"%s\": %zu "
		    "characters, over %d (RFC 1034 3.1)", what, v, len,
		    GENERAL_NAME_DNS_MAX);
	start = 0;
	if (len > 2 && s[0] == '*' && s[1] == '.' &&
	    (flags & GENERAL_NAME_WILDCARD) &&
	    !(flags & GENERAL_NAME_CONSTRAINT))
		start = 2;
	while (start <= len) {
		for (i = start; i < len && s[i] != '.'; i++)
			;
		lab = i - start;
		if (lab == 0)
			return ca_error(CA_ERR_INVALID, "%s: DNS name \"%s\": "
			    "an empty label (two dots in a row)", what, v);
		if (lab > GENERAL_NAME_LABEL_MAX)
			return ca_error(CA_ERR_INVALID, "%s: DNS name \"%s\": "
			    "a label of %zu characters, over %d (RFC 1034 "
			    "3.1)", what, v, lab, GENERAL_NAME_LABEL_MAX);
		if (s[start] == '-' || s[i - 1] == '-')
			return ca_error(CA_ERR_INVALID, "%s: DNS name \"%s\": "
			    "a label starts or ends with '-' (RFC 1034 3.5)",
			    what, v);
		for (; start < i; start++) {
			if (isalnum((unsigned char)s[start]) ||
			    s[start] == '-')
				continue;
			if (s[start] == '*')
				return ca_error(CA_ERR_INVALID, "%s: DNS name "
				    "\"%s\": %s", what, v,
				    (flags & GENERAL_NAME_WILDCARD) &&
				    !(flags & GENERAL_NAME_CONSTRAINT) ?
				    "a wildcard must be the whole leftmost "
				    "label (\"*.example.com\")" :
				    "no wildcard is allowed here");
			return ca_error(CA_ERR_INVALID, "%s: DNS name \"%s\": "
			    "'%c' is not allowed; a label is letters, digits "
			    "and '-' (RFC 1034 3.5, RFC 5280 4.2.1.6)", what,
			    v, s[start]);
		}
		start = i + 1;
	}
	return CA_OK;
}

/*
 * uri_split finds the scheme and the host of an absolute URI. Returns 0
 * and fills scheme and host (empty when the URI has no authority or an
 * empty host; an IPv6 literal without its brackets, *v6 set), or -1 when
 * it has no scheme or an unterminated '['.
 */
static int
uri_split(const char *s, size_t len, char *scheme, char *host, int *auth,
    int *v6)
{
	size_t i, a, e, h0, h1;

	*auth = *v6 = 0;
	scheme[0] = host[0] = '\0';
	if (len == 0 || !isalpha((unsigned char)s[0]))
		return -1;
	for (i = 1; i < len && (isalnum((unsigned char)s[i]) || s[i] == '+' ||
	    s[i] == '-' || s[i] == '.'); i++)
		;
	if (i == len || s[i] != ':' || i >= GN_SCHEME_MAX)
		return -1;
	memcpy(scheme, s, i);
	scheme[i] = '\0';
	a = i + 1;
	if (len - a < 2 || s[a] != '/' || s[a + 1] != '/')
		return 0;
	*auth = 1;
	a += 2;
	for (e = a; e < len && s[e] != '/' && s[e] != '?' && s[e] != '#'; e++)
		;
	/* Past the last '@' (userinfo), or a when there is none. */
	for (h0 = e; h0 > a && s[h0 - 1] != '@'; h0--)
		;
	if (h0 < e && s[h0] == '[') {
		for (h1 = h0; h1 < e && s[h1] != ']'; h1++)
			;
		if (h1 == e)
			return -1;
		h0++;
		*v6 = 1;
	} else
		for (h1 = h0; h1 < e && s[h1] != ':'; h1++)
			;
	if (h1 - h0 >= GN_HOST_MAX)
		h1 = h0 + GN_HOST_MAX - 1;
	memcpy(host, s + h0, h1 - h0);
	host[h1 - h0] = '\0';
	return 0;
}

static int
uri_check(const char *s, size_t len, unsigned flags, const char *what)
{
	char v[GN_SHOW_MAX], scheme[GN_SCHEME_MAX], host[GN_HOST_MAX];
	unsigned char addr[16];
	size_t i;
	int auth, v6, rc;

	show(v, sizeof(v), s, len);
	if (flags & GENERAL_NAME_CONSTRAINT) {
		/* RFC 5280 4.2.1.10: a host, or a domain with a dot. */
		if (len > 0 && s[0] == '.') {
			s++;
			len--;
		}
		if ((rc = general_name_dns_check(s, len, 0, what)) != CA_OK)
			return ca_error(rc, "%s (URI constraint \"%s\": RFC "
			    "5280 4.2.1.10: a host name, or a domain with a "
			    "leading dot, not a URI)", ca_error_detail(), v);
		return CA_OK;
	}
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || strchr("\"<>\\^`{|}",
		    s[i]) != NULL)
			return ca_error(CA_ERR_INVALID, "%s: URI \"%s\": "
			    "character %zu is not allowed in a URI (RFC 3986 "
			    "2; percent-encode it)", what, v, i + 1);
	if (uri_split(s, len, scheme, host, &auth, &v6) != 0)
		return ca_error(CA_ERR_INVALID, "%s: URI \"%s\": not an "
		    "absolute URI (scheme://host/path, RFC 3986 3)", what, v);
	if (strcasecmp(scheme, "file") == 0)
		return CA_OK;
	if (!auth || host[0] == '\0')
		return ca_error(CA_ERR_INVALID, "%s: URI \"%s\": no host; "
		    "relying parties need scheme://host/path (RFC 5280 "
		    "4.2.1.6, RFC 3986 3.2.2)", what, v);
	if (v6) {
		if (inet_pton(AF_INET6, host, addr) != 1)
			return ca_error(CA_ERR_INVALID, "%s: URI \"%s\": "
			    "\"[%s]\" is not an IPv6 address", what, v, host);
		return CA_OK;
	}
	if (strspn(host, "0123456789.") == strlen(host)) {
		if (inet_pton(AF_INET, host, addr) != 1)
			return ca_error(CA_ERR_INVALID, "%s: URI \"%s\": "
			    "\"%s\" is not an IPv4 address", what, v, host);
		return CA_OK;
	}
	if ((rc = general_name_dns_check(host, strlen(host), 0, what)) !=
	    CA_OK)
		return ca_error(rc, "%s (the host of URI \"%s\")",
		    ca_error_detail(), v);
	return CA_OK;
}

static int
email_check(const char *s, size_t len, unsigned flags, const char *what)
{
	char v[GN_SHOW_MAX];
	const char *at;
	size_t i;
	int rc;

	show(v, sizeof(v), s, len);
	at = len > 0 ? memchr(s, '@', len) : NULL;
	if (at == NULL && (flags & GENERAL_NAME_CONSTRAINT)) {
		/* A host, or a domain with a leading dot (4.2.1.10). */
		if (len > 0 && s[0] == '.') {
			s++;
			len--;
		}
		return general_name_dns_check(s, len, 0, what);
	}
	if (at == NULL || at == s || memchr(at + 1, '@',
	    len - (size_t)(at + 1 - s)) != NULL)
		return ca_error(CA_ERR_INVALID, "%s: email \"%s\": not a "
		    "mailbox (local-part@domain, RFC 5280 4.2.1.6)", what, v);
	for (i = 0; s + i < at; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || strchr("\"(),:;<>[\\]",
		    s[i]) != NULL)
			return ca_error(CA_ERR_INVALID, "%s: email \"%s\": the "
			    "local part holds a character RFC 5321 4.1.2 does "
			    "not allow unquoted", what, v);
	if ((rc = general_name_dns_check(at + 1, len - (size_t)(at + 1 - s),
	    0, what)) != CA_OK)
		return ca_error(rc, "%s (the domain of email \"%s\")",
		    ca_error_detail(), v);
	return CA_OK;
}

/* ip_show writes "ADDR" or "ADDR/MASK" for a message. */
static const char *
ip_show(char *buf, size_t cap, const unsigned char *p, size_t len)
{
	char a[INET6_ADDRSTRLEN], m[INET6_ADDRSTRLEN];
	int af = len == 4 || len == 8 ? AF_INET : AF_INET6;
	size_t half = len == 8 || len == 32 ? len / 2 : len;

	if ((len != 4 && len != 16 && len != 8 && len != 32) ||
	    inet_ntop(af, p, a, sizeof(a)) == NULL)
		snprintf(buf, cap, "(%zu octets)", len);
	else if (half == len)
		snprintf(buf, cap, "%s", a);
	else if (inet_ntop(af, p + half, m, sizeof(m)) == NULL)
		snprintf(buf, cap, "%s/?", a);
	else
		snprintf(buf, cap, "%s/%s", a, m);
	return buf;
}

static int
ip_check(const unsigned char *p, size_t len, unsigned flags,
    const char *what)
{
	char v[2 * INET6_ADDRSTRLEN + 2];
	size_t half, i;
	int zero = 0, b;

	ip_show(v, sizeof(v), p, len);
	if (!(flags & GENERAL_NAME_CONSTRAINT)) {
		if (len != 4 && len != 16)
			return ca_error(CA_ERR_INVALID, "%s: IP address %s: "
			    "it must be 4 octets (IPv4) or 16 (IPv6) (RFC 5280 "
			    "4.2.1.6)", what, v);
		return CA_OK;
	}
	if (len != 8 && len != 32)
		return ca_error(CA_ERR_INVALID, "%s: IP constraint %s: it must "
		    "be an address and a mask of the same family, 8 octets "
		    "(IPv4) or 32 (IPv6) (RFC 5280 4.2.1.10)", what, v);
	half = len / 2;
	for (i = 0; i < half; i++)
		for (b = 7; b >= 0; b--) {
			if (!(p[half + i] >> b & 1))
				zero = 1;
			else if (zero)
				return ca_error(CA_ERR_INVALID, "%s: IP "
				    "constraint %s: the mask is not contiguous "
				    "(ones, then zeros: 255.255.255.0, not "
				    "255.0.255.0; RFC 4632 3.1)", what, v);
		}
	for (i = 0; i < half; i++)
		if (p[i] & ~p[half + i])
			return ca_error(CA_ERR_INVALID, "%s: IP constraint %s: "
			    "the address has bits set outside its mask; give "
			    "the network address (192.0.2.0/255.255.255.0)",
			    what, v);
	return CA_OK;
}

int
general_name_check(const GENERAL_NAME *gn, unsigned flags, const char *what)
{
	const ASN1_STRING *s;

	switch (gn->type) {
	case GEN_DNS:
		s = gn->d.dNSName;
		return general_name_dns_check(
		    (const char *)ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s), flags, what);
	case GEN_URI:
		s = gn->d.uniformResourceIdentifier;
		return uri_check((const char *)ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s), flags, what);
	case GEN_EMAIL:
		s = gn->d.rfc822Name;
		return email_check((const char *)ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s), flags, what);
	case GEN_IPADD:
		s = gn->d.iPAddress;
		return ip_check(ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s), flags, what);
	case GEN_DIRNAME:
	case GEN_RID:
	case GEN_OTHERNAME:
		return CA_OK;
	default:
		return ca_error(CA_ERR_INVALID, "%s: x400Address and "
		    "ediPartyName names are not supported", what);
	}
}

static int
names_check(const GENERAL_NAMES *gns, unsigned flags, const char *what)
{
	int i, rc;

	for (i = 0; i < sk_GENERAL_NAME_num(gns); i++)
		if ((rc = general_name_check(sk_GENERAL_NAME_value(gns, i),
		    flags, what)) != CA_OK)
			return rc;
	return CA_OK;
}

static int
subtrees_check(const STACK_OF(GENERAL_SUBTREE) *st, const char *what)
{
	const GENERAL_SUBTREE *t;
	int i, rc;

	for (i = 0; i < sk_GENERAL_SUBTREE_num(st); i++) {
		t = sk_GENERAL_SUBTREE_value(st, i);
		if (t->maximum != NULL || (t->minimum != NULL &&
		    ASN1_INTEGER_get(t->minimum) != 0))
			return ca_error(CA_ERR_INVALID, "%s: RFC 5280 "
			    "4.2.1.10: minimum and maximum must be absent",
			    what);
		if ((rc = general_name_check(t->base, GENERAL_NAME_CONSTRAINT,
		    what)) != CA_OK)
			return rc;
	}
	return CA_OK;
}

int
general_name_ext_check(const X509_EXTENSION *ext, const char *what)
{
	void *d = NULL;
	const DIST_POINT *dp;
	const ACCESS_DESCRIPTION *ad;
	int nid, i, rc = CA_OK;

	nid = OBJ_obj2nid(X509_EXTENSION_get_object((X509_EXTENSION *)ext));
	switch (nid) {
	case NID_subject_alt_name:
	case NID_issuer_alt_name:
	case NID_name_constraints:
	case NID_info_access:
	case NID_sinfo_access:
	case NID_crl_distribution_points:
	case NID_freshest_crl:
		break;
	default:
		return CA_OK;
	}
	ERR_clear_error();
	if ((d = X509V3_EXT_d2i((X509_EXTENSION *)ext)) == NULL) {
		ERR_clear_error();
		return ca_error(CA_ERR_INVALID, "%s: cannot be decoded", what);
	}
	switch (nid) {
	case NID_subject_alt_name:
	case NID_issuer_alt_name:
		rc = names_check(d, 0, what);
		GENERAL_NAMES_free(d);
		break;
	case NID_name_constraints:
		if ((rc = subtrees_check(((NAME_CONSTRAINTS *)d)->
		    permittedSubtrees, what)) == CA_OK)
			rc = subtrees_check(((NAME_CONSTRAINTS *)d)->
			    excludedSubtrees, what);
		NAME_CONSTRAINTS_free(d);
		break;
	case NID_info_access:
	case NID_sinfo_access:
		for (i = 0; rc == CA_OK &&
		    i < sk_ACCESS_DESCRIPTION_num(d); i++) {
			ad = sk_ACCESS_DESCRIPTION_value(d, i);
			rc = general_name_check(ad->location, 0, what);
		}
		AUTHORITY_INFO_ACCESS_free(d);
		break;
	default:	/* the CRL distribution point lists */
		for (i = 0; rc == CA_OK && i < sk_DIST_POINT_num(d); i++) {
			dp = sk_DIST_POINT_value(d, i);
			if (dp->distpoint != NULL && dp->distpoint->type == 0)
				rc = names_check(dp->distpoint->name.fullname,
				    0, what);
			if (rc == CA_OK && dp->CRLissuer != NULL)
				rc = names_check(dp->CRLissuer, 0, what);
		}
		CRL_DIST_POINTS_free(d);
		break;
	}
	return rc;
}

/* uri_call calls cb with gn's text when gn is a URI. */
static int
uri_call(const GENERAL_NAME *gn, general_name_uri_fn cb, void *arg)
{
	const ASN1_STRING *s;
	char buf[1024];
	int len;

	if (gn->type != GEN_URI)
		return 0;
	s = gn->d.uniformResourceIdentifier;
	len = ASN1_STRING_length(s);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return 0;
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
	buf[len] = '\0';
	return cb(buf, arg);
}

int
general_name_ext_uris(const X509_EXTENSION *ext, general_name_uri_fn cb,
    void *arg)
{
	void *d;
	const DIST_POINT *dp;
	const GENERAL_NAMES *gns;
	int nid, i, j, ret = 0;

	nid = OBJ_obj2nid(X509_EXTENSION_get_object((X509_EXTENSION *)ext));
	if (nid != NID_info_access && nid != NID_sinfo_access &&
	    nid != NID_crl_distribution_points && nid != NID_freshest_crl)
		return 0;
	if ((d = X509V3_EXT_d2i((X509_EXTENSION *)ext)) == NULL) {
		ERR_clear_error();
		return -1;
	}
	if (nid == NID_info_access || nid == NID_sinfo_access) {
		for (i = 0; ret == 0 && i < sk_ACCESS_DESCRIPTION_num(d); i++)
			ret = uri_call(sk_ACCESS_DESCRIPTION_value(d,
			    i)->location, cb, arg);
		AUTHORITY_INFO_ACCESS_free(d);
		return ret;
	}
	for (i = 0; ret == 0 && i < sk_DIST_POINT_num(d); i++) {
		dp = sk_DIST_POINT_value(d, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		gns = dp->distpoint->name.fullname;
		for (j = 0; ret == 0 && j < sk_GENERAL_NAME_num(gns); j++)
			ret = uri_call(sk_GENERAL_NAME_value(gns, j), cb, arg);
	}
	CRL_DIST_POINTS_free(d);
	return ret;
}

int
general_name_uri_local(const char *uri)
{
	char scheme[GN_SCHEME_MAX], host[GN_HOST_MAX];
	unsigned char a[16];
	size_t hl;
	int auth, v6;

	if (uri_split(uri, strlen(uri), scheme, host, &auth, &v6) != 0)
		return 0;
	if (strcasecmp(scheme, "file") == 0)
		return 1;
	hl = strlen(host);
	if (strcasecmp(host, "localhost") == 0 || (hl > 10 &&
	    strcasecmp(host + hl - 10, ".localhost") == 0))
		return 1;
	if (v6 && inet_pton(AF_INET6, host, a) == 1)
		return (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) ==
		    0) || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
	if (!v6 && inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127 || (a[0] == 169 && a[1] == 254);
	return 0;
}
