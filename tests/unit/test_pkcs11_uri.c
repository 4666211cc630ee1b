/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for hsm/pkcs11_uri.c: RFC 7512 URIs that must parse (and what
 * they parse to), percent-encoding, the canonical form, and hostile URIs
 * that must fail cleanly with a message naming the rule, never the URI.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hsm/pkcs11_uri.h"
#include "tests/unit/unit.h"

static struct pkcs11_uri *
parse_ok(const char *s)
{
	struct pkcs11_uri *u = NULL;
	int rc;

	rc = pkcs11_uri_parse(&u, s);
	CU_ASSERT_EQUAL(rc, CA_OK);
	if (rc != CA_OK)
		fprintf(stderr, "\nunexpected failure: %s: %s\n", s,
		    ca_error_detail());
	return u;
}

static void
parse_bad(const char *s, const char *detail_part)
{
	struct pkcs11_uri *u = (struct pkcs11_uri *)1;
	int rc;

	ca_error_clear();
	rc = pkcs11_uri_parse(&u, s);
	CU_ASSERT_EQUAL(rc, CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(u);
	if (rc == CA_OK) {
		fprintf(stderr, "\naccepted hostile URI: %s\n", s);
		pkcs11_uri_free(u);
		return;
	}
	if (detail_part != NULL &&
	    strstr(ca_error_detail(), detail_part) == NULL) {
		fprintf(stderr, "\n%s: detail \"%s\" lacks \"%s\"\n", s,
		    ca_error_detail(), detail_part);
		CU_FAIL("detail message");
	}
}

static void
test_good(void)
{
	struct pkcs11_uri *u;

	u = parse_ok("pkcs11:token=ca;object=root;type=private");
	if (u != NULL) {
		CU_ASSERT_STRING_EQUAL(u->token, "ca");
		CU_ASSERT_STRING_EQUAL(u->object, "root");
		CU_ASSERT_EQUAL(u->type, PKCS11_URI_TYPE_PRIVATE);
		CU_ASSERT_PTR_NULL(u->serial);
		CU_ASSERT_FALSE(u->has_id);
		CU_ASSERT_PTR_NULL(u->pin_source);
	}
	pkcs11_uri_free(u);

	u = parse_ok("pkcs11:token=ca;serial=4c5f84a0549f2891;"
	    "manufacturer=SoftHSM%20project;model=SoftHSM%20v2;"
	    "id=%01%02%ff;slot-id=7;library-version=2.6"
	    "?pin-source=file:/etc/carapace/pin&module-path=/usr/lib/m.so");
	if (u != NULL) {
		CU_ASSERT_STRING_EQUAL(u->serial, "4c5f84a0549f2891");
		CU_ASSERT_STRING_EQUAL(u->manufacturer, "SoftHSM project");
		CU_ASSERT_STRING_EQUAL(u->model, "SoftHSM v2");
		CU_ASSERT_TRUE(u->has_id);
		CU_ASSERT_EQUAL(u->id_len, 3);
		CU_ASSERT(memcmp(u->id, "\x01\x02\xff", 3) == 0);
		CU_ASSERT_TRUE(u->has_slot_id);
		CU_ASSERT_EQUAL(u->slot_id, 7);
		CU_ASSERT_EQUAL(u->library_version_major, 2);
		CU_ASSERT_EQUAL(u->library_version_minor, 6);
		CU_ASSERT_STRING_EQUAL(u->pin_source,
		    "file:/etc/carapace/pin");
		CU_ASSERT_STRING_EQUAL(u->module_path, "/usr/lib/m.so");
	}
	pkcs11_uri_free(u);

	/* The bare scheme names everything; the scheme is case-blind. */
	u = parse_ok("pkcs11:");
	if (u != NULL)
		CU_ASSERT_PTR_NULL(u->token);
	pkcs11_uri_free(u);
	u = parse_ok("PKCS11:object=a");
	pkcs11_uri_free(u);
	/* Vendor attributes are accepted and ignored. */
	u = parse_ok("pkcs11:x-vendor=1;object=a?x-q=2");
	if (u != NULL)
		CU_ASSERT_STRING_EQUAL(u->object, "a");
	pkcs11_uri_free(u);
	/* An id may hold %00. */
	u = parse_ok("pkcs11:id=%00%00");
	if (u != NULL)
		CU_ASSERT_EQUAL(u->id_len, 2);
	pkcs11_uri_free(u);
}

static void
test_percent(void)
{
	struct pkcs11_uri *u;

	u = parse_ok("pkcs11:object=a%3bb%3Dc%25d%2f%3F");
	if (u != NULL)
		CU_ASSERT_STRING_EQUAL(u->object, "a;b=c%d/?");
	pkcs11_uri_free(u);
	/* UTF-8 stays as bytes. */
	u = parse_ok("pkcs11:token=%C3%A9t%C3%A9");
	if (u != NULL)
		CU_ASSERT_STRING_EQUAL(u->token, "\xc3\xa9t\xc3\xa9");
	pkcs11_uri_free(u);
}

static void
test_format(void)
{
	struct pkcs11_uri *u;
	char buf[256], small[12];
	size_t n;

	u = parse_ok("pkcs11:object=my%20key;token=ca;id=%AB"
	    "?pin-source=file:/p");
	if (u == NULL)
		return;
	n = pkcs11_uri_format(buf, sizeof(buf), u);
	CU_ASSERT_STRING_EQUAL(buf,
	    "pkcs11:token=ca;object=my%20key;id=%AB?pin-source=file:/p");
	CU_ASSERT_EQUAL(n, strlen(buf));
	/* Truncation is like snprintf's. */
	CU_ASSERT_EQUAL(pkcs11_uri_format(small, sizeof(small), u), n);
	CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
	pkcs11_uri_free(u);
	/* The canonical form parses back to itself. */
	u = parse_ok(buf);
	if (u != NULL) {
		pkcs11_uri_format(small, 0, u);
		CU_ASSERT_STRING_EQUAL(u->object, "my key");
	}
	pkcs11_uri_free(u);
}

static void
test_hostile(void)
{
	char *big;
	size_t i;

	parse_bad(NULL, "empty URI");
	parse_bad("", "empty URI");
	parse_bad("pkcs1", "scheme");
	parse_bad("http://example/", "scheme");
	parse_bad("pkcs11", "scheme");
	/* Bad percent escapes. */
	parse_bad("pkcs11:object=a%", "percent escape");
	parse_bad("pkcs11:object=a%4", "percent escape");
	parse_bad("pkcs11:object=a%zz", "percent escape");
	parse_bad("pkcs11:object=a%+1b", "percent escape");
	parse_bad("pkcs11:id=%0g", "percent escape");
	/* NUL inside text. */
	parse_bad("pkcs11:object=a%00b", "%00");
	parse_bad("pkcs11:token=%00", "%00");
	parse_bad("pkcs11:?pin-source=file:/a%00b", "%00");
	/* Duplicates, unknown and misplaced attributes. */
	parse_bad("pkcs11:object=a;object=b", "more than once");
	parse_bad("pkcs11:id=%01;id=%01", "more than once");
	parse_bad("pkcs11:object=a?pin-source=/a&pin-source=/b",
	    "more than once");
	parse_bad("pkcs11:objekt=a", "unknown attribute");
	parse_bad("pkcs11:object=a?foo=b", "unknown attribute");
	parse_bad("pkcs11:pin-source=/a", "query attribute");
	parse_bad("pkcs11:?object=a", "path attribute");
	parse_bad("pkcs11:x-=1", "unknown attribute");
	/* pin-value is refused, and the PIN is not echoed. */
	parse_bad("pkcs11:token=a?pin-value=123456", "pin-source");
	CU_ASSERT_PTR_NULL(strstr(ca_error_detail(), "123456"));
	parse_bad("pkcs11:pin-value=123456", "pin-source");
	/* Empty things. */
	parse_bad("pkcs11:object=", "empty value");
	parse_bad("pkcs11:;", "empty attribute");
	parse_bad("pkcs11:object=a;", "empty attribute");
	parse_bad("pkcs11:object=a?", "empty query");
	parse_bad("pkcs11:object=a?pin-source=/x&", "empty attribute");
	parse_bad("pkcs11:=a", "empty name");
	parse_bad("pkcs11:object", "no \"=value\"");
	/* Characters that must be encoded. */
	parse_bad("pkcs11:object=a b", "percent-encoded");
	parse_bad("pkcs11:object=a/b", "percent-encoded");
	parse_bad("pkcs11:object=a\"b", "percent-encoded");
	parse_bad("pkcs11:object=a\nb", "percent-encoded");
	parse_bad("pkcs11:object=\xc3\xa9", "percent-encoded");
	/* Values out of range. */
	parse_bad("pkcs11:type=secret", "type");
	parse_bad("pkcs11:slot-id=-1", "slot-id");
	parse_bad("pkcs11:slot-id=99999999999999999999999", "slot-id");
	parse_bad("pkcs11:library-version=1.256", "library-version");
	parse_bad("pkcs11:library-version=1.", "library-version");
	parse_bad("pkcs11:?module-path=relative.so", "absolute");
	parse_bad("pkcs11:?module-name=/abs", "module-name");
	/* Over the caps. */
	parse_bad("pkcs11:token=123456789012345678901234567890123",
	    "longer than");
	parse_bad("pkcs11:serial=12345678901234567", "longer than");
	big = malloc(PKCS11_URI_MAX_LEN + 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	strcpy(big, "pkcs11:object=");
	for (i = strlen(big); i < PKCS11_URI_MAX_LEN + 10; i++)
		big[i] = 'a';
	big[i] = '\0';
	parse_bad(big, "longer than");
	/* A long id, under the URI cap, over the id cap. */
	strcpy(big, "pkcs11:id=");
	for (i = 0; i < PKCS11_URI_MAX_ID + 1; i++)
		strcat(big, "%41");
	parse_bad(big, "longer than");
	free(big);
}

static void
test_safe_names(void)
{
	/* An unknown attribute name is shown escaped and cut short. */
	parse_bad("pkcs11:\x01\x02\x7f=1", "%01%02%7F");
	parse_bad("pkcs11:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
	    "...");
}

static CU_TestInfo tests[] = {
	{ "good", test_good },
	{ "percent", test_percent },
	{ "format", test_format },
	{ "hostile", test_hostile },
	{ "safe_names", test_safe_names },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("pkcs11_uri", tests)
