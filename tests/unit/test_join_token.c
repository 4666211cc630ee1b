/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for attest/join_token.c: the string form round-trips, the
 * parser refuses every malformed variant, the stored hash is not the
 * secret and matches an independent BLAKE2b computation and the issuance
 * log's issuance_log_token_hash, and the verdict
 * says mismatch, revoked, used or expired with a message a person can act
 * on.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "attest/join_token.h"
#include "tests/unit/unit.h"

static void
test_round_trip(void)
{
	struct join_token_cred *t = NULL, *u = NULL;
	char *s = NULL, *s2 = NULL;

	CU_ASSERT_EQUAL_FATAL(join_token_generate(&t), CA_OK);
	CU_ASSERT_EQUAL_FATAL(join_token_format(&s, t), CA_OK);
	CU_ASSERT_EQUAL(strlen(s), JOIN_TOKEN_STR_LEN);
	CU_ASSERT_EQUAL(strncmp(s, "cpt1.", 5), 0);
	CU_ASSERT_EQUAL(s[37], '.');
	CU_ASSERT_EQUAL_FATAL(join_token_parse(&u, s), CA_OK);
	CU_ASSERT_EQUAL(memcmp(t->id, u->id, sizeof(t->id)), 0);
	CU_ASSERT_EQUAL(memcmp(t->secret, u->secret, sizeof(t->secret)), 0);
	CU_ASSERT_EQUAL_FATAL(join_token_format(&s2, u), CA_OK);
	CU_ASSERT_STRING_EQUAL(s, s2);
	join_token_string_free(s);
	join_token_string_free(s2);
	join_token_cred_free(t);
	join_token_cred_free(u);
	join_token_cred_free(NULL);
	join_token_string_free(NULL);
}

static void
test_two_tokens_differ(void)
{
	struct join_token_cred *a = NULL, *b = NULL;

	CU_ASSERT_EQUAL_FATAL(join_token_generate(&a), CA_OK);
	CU_ASSERT_EQUAL_FATAL(join_token_generate(&b), CA_OK);
	CU_ASSERT_NOT_EQUAL(memcmp(a->id, b->id, sizeof(a->id)), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a->secret, b->secret, sizeof(a->secret)),
	    0);
	join_token_cred_free(a);
	join_token_cred_free(b);
}

static void
expect_bad(const char *s, const char *needle)
{
	struct join_token_cred *t = NULL;

	CU_ASSERT_EQUAL(join_token_parse(&t, s), CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(t);
	if (strstr(ca_error_detail(), needle) == NULL) {
		fprintf(stderr, "\n  parse(%s): %s (wanted \"%s\")\n", s,
		    ca_error_detail(), needle);
		CU_FAIL("error message");
	}
}

#define GOOD_ID		"00112233445566778899aabbccddeeff"
#define SECRET_HEAD	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx"
#define GOOD_SECRET	SECRET_HEAD "wdHh8"

static void
test_parse_rejects(void)
{
	struct join_token_cred *t = NULL;
	char buf[256];
	size_t i;

	snprintf(buf, sizeof(buf), "cpt1.%s.%s", GOOD_ID, GOOD_SECRET);
	CU_ASSERT_EQUAL_FATAL(join_token_parse(&t, buf), CA_OK);
	CU_ASSERT_EQUAL(t->id[15], 0xff);
	for (i = 0; i < JOIN_TOKEN_SECRET_LEN; i++)
		CU_ASSERT_EQUAL(t->secret[i], i);
	join_token_cred_free(t);

	expect_bad("", "does not start");
	expect_bad("hello", "does not start");
	expect_bad("cpt2." GOOD_ID "." GOOD_SECRET, "unknown version");
	expect_bad("CPT1." GOOD_ID "." GOOD_SECRET, "does not start");
	expect_bad("cpt1." GOOD_ID "." GOOD_SECRET "\n", "whitespace");
	expect_bad(" cpt1." GOOD_ID "." GOOD_SECRET, "does not start");
	expect_bad("cpt1." GOOD_ID "." GOOD_SECRET "A", "characters long");
	expect_bad("cpt1." GOOD_ID "." "AAEC", "characters long");
	/* upper-case hex id */
	expect_bad("cpt1.00112233445566778899AABBCCDDEEFF." GOOD_SECRET,
	    "hex");
	expect_bad("cpt1.0011223344556677889zaabbccddeeff." GOOD_SECRET,
	    "hex");
	/* separator in the wrong place */
	expect_bad("cpt1.00112233445566778899aabbccddeef.f" GOOD_SECRET,
	    "followed by '.'");
	/* standard base64 characters are not base64url */
	expect_bad("cpt1." GOOD_ID "." SECRET_HEAD "wdHh+",
	    "base64url");
	/* padding */
	expect_bad("cpt1." GOOD_ID "." SECRET_HEAD "wdHh=",
	    "base64url");
	/* non-zero trailing bits: last char 'f' instead of '8' */
	expect_bad("cpt1." GOOD_ID "." SECRET_HEAD "wdHh9",
	    "base64url");
	/* the secret never appears in a message */
	expect_bad("cpt1." GOOD_ID "." SECRET_HEAD ".dHh8",
	    "base64url");
	CU_ASSERT_PTR_NULL(strstr(ca_error_detail(), "AAECAwQ"));
}

static void
test_hash(void)
{
	struct join_token_cred *t = NULL, *u = NULL;
	uint8_t h[JOIN_TOKEN_HASH_LEN], h2[JOIN_TOKEN_HASH_LEN],
	    ref[JOIN_TOKEN_HASH_LEN];
	const char *key = "carapace join token v1";

	CU_ASSERT_EQUAL_FATAL(join_token_generate(&t), CA_OK);
	CU_ASSERT_EQUAL_FATAL(join_token_hash(h, t), CA_OK);
	CU_ASSERT_NOT_EQUAL(memcmp(h, t->secret, sizeof(h)), 0);
	/* independent computation: keyed BLAKE2b-256 of the secret */
	crypto_generichash(ref, sizeof(ref), t->secret, sizeof(t->secret),
	    (const unsigned char *)key, strlen(key));
	CU_ASSERT_EQUAL(memcmp(h, ref, sizeof(h)), 0);
	/* unkeyed hash differs: the domain key matters */
	crypto_generichash(ref, sizeof(ref), t->secret, sizeof(t->secret),
	    NULL, 0);
	CU_ASSERT_NOT_EQUAL(memcmp(h, ref, sizeof(h)), 0);
	/* the issuance log stores the same hash (both headers together) */
	issuance_log_token_hash(ref, t->secret, sizeof(t->secret));
	CU_ASSERT_EQUAL(memcmp(h, ref, sizeof(h)), 0);
	CU_ASSERT_EQUAL_FATAL(join_token_generate(&u), CA_OK);
	CU_ASSERT_EQUAL_FATAL(join_token_hash(h2, u), CA_OK);
	CU_ASSERT_NOT_EQUAL(memcmp(h, h2, sizeof(h)), 0);
	join_token_cred_free(t);
	join_token_cred_free(u);
}

static const char *const names[] = { "node7.example", "*.node.example" };

static void
record_for(struct join_token_record *r, const struct join_token_cred *t)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->id, t->id, sizeof(r->id));
	CU_ASSERT_EQUAL(join_token_hash(r->hash, t), CA_OK);
	r->identity = "node7";
	r->names = names;
	r->nnames = 2;
	r->profile = "leaf";
	r->created = 1700000000;
	r->expires = 1700003600;
}

static void
test_verdicts(void)
{
	struct join_token_cred *t = NULL, *other = NULL;
	struct join_token_record r;
	enum join_token_state st;
	char idhex[JOIN_TOKEN_ID_HEX];

	CU_ASSERT_EQUAL_FATAL(join_token_generate(&t), CA_OK);
	CU_ASSERT_EQUAL_FATAL(join_token_generate(&other), CA_OK);
	join_token_id_hex(idhex, t->id);
	record_for(&r, t);
	CU_ASSERT_EQUAL(join_token_record_check(&r, 1700000000), CA_OK);
	CU_ASSERT_EQUAL(join_token_verdict(&st, &r, t, 1700000001), CA_OK);
	CU_ASSERT_EQUAL(st, JOIN_TOKEN_OK);

	/* expired: exactly at and after the expiry */
	CU_ASSERT_EQUAL(join_token_verdict(&st, &r, t, 1700003600),
	    CA_ERR_EXPIRED);
	CU_ASSERT_EQUAL(st, JOIN_TOKEN_EXPIRED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "expired at 2023-11-14T23:13:20Z; ask the operator for a new "
	    "one"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), idhex));

	/* used */
	r.used_at = 1700000100;
	CU_ASSERT_EQUAL(join_token_verdict(&st, &r, t, 1700000200),
	    CA_ERR_DENIED);
	CU_ASSERT_EQUAL(st, JOIN_TOKEN_USED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "already used at 2023-11-14T22:15:00Z"));

	/* revoked wins over used */
	r.revoked_at = 1700000050;
	CU_ASSERT_EQUAL(join_token_verdict(&st, &r, t, 1700000200),
	    CA_ERR_DENIED);
	CU_ASSERT_EQUAL(st, JOIN_TOKEN_REVOKED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "revoked at "));

	/* another token's secret under this record: mismatch first */
	record_for(&r, t);
	memcpy(other->id, t->id, sizeof(t->id));
	CU_ASSERT_EQUAL(join_token_verdict(&st, &r, other, 1700000001),
	    CA_ERR_DENIED);
	CU_ASSERT_EQUAL(st, JOIN_TOKEN_MISMATCH);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "does not match"));
	/* one flipped bit in the secret */
	t->secret[31] ^= 1;
	CU_ASSERT_EQUAL(join_token_verdict(&st, &r, t, 1700000001),
	    CA_ERR_DENIED);
	CU_ASSERT_EQUAL(st, JOIN_TOKEN_MISMATCH);
	t->secret[31] ^= 1;
	/* right secret, wrong id */
	t->id[0] ^= 1;
	CU_ASSERT_EQUAL(join_token_verdict(&st, &r, t, 1700000001),
	    CA_ERR_DENIED);
	t->id[0] ^= 1;
	CU_ASSERT_EQUAL(join_token_verdict(NULL, &r, t, 1700000001), CA_OK);
	join_token_cred_free(t);
	join_token_cred_free(other);
}

static void
test_record_check(void)
{
	struct join_token_cred *t = NULL;
	struct join_token_record r;
	static const char *const bad[] = { "node7.example", "a.*.example" };
	static const char *const bad2[] = { "*.example" };

	CU_ASSERT_EQUAL_FATAL(join_token_generate(&t), CA_OK);
	record_for(&r, t);
	r.identity = "";
	CU_ASSERT_EQUAL(join_token_record_check(&r, 1700000000),
	    CA_ERR_INVALID);
	record_for(&r, t);
	r.profile = NULL;
	CU_ASSERT_EQUAL(join_token_record_check(&r, 1700000000),
	    CA_ERR_INVALID);
	record_for(&r, t);
	r.nnames = 0;
	CU_ASSERT_EQUAL(join_token_record_check(&r, 1700000000),
	    CA_ERR_INVALID);
	record_for(&r, t);
	r.names = bad;
	CU_ASSERT_EQUAL(join_token_record_check(&r, 1700000000),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "a.*.example"));
	r.names = bad2;
	r.nnames = 1;
	CU_ASSERT_EQUAL(join_token_record_check(&r, 1700000000),
	    CA_ERR_INVALID);
	record_for(&r, t);
	CU_ASSERT_EQUAL(join_token_record_check(&r, 1700003600),
	    CA_ERR_INVALID);
	join_token_cred_free(t);
}

static CU_TestInfo tests[] = {
	{ "format/parse round trip", test_round_trip },
	{ "tokens are random", test_two_tokens_differ },
	{ "parse rejects malformed tokens", test_parse_rejects },
	{ "stored hash", test_hash },
	{ "verdicts", test_verdicts },
	{ "record check", test_record_check },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("join_token", tests)
