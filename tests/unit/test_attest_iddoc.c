/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for attest/iddoc.c. A platform key pair is made with
 * libsodium; documents are signed here over "carapace identity-document
 * v1\0" || document, independently of the module. The document encoding is
 * a test one ("instance|account|region|issued_at"), decoded by a hook, as
 * the issuer does with the DER PlatformDocument. Checked: a good document,
 * a bad signature, an unknown key id, stale and future documents, a
 * tampered field, an instance seen before, and key configuration.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "protocol/protocol.h"
#include "attest/iddoc.h"
#include "tests/unit/unit.h"

#define NOW	((time_t)1700000000)

static uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static uint8_t pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];
static int decode_calls;

static char *
field_dup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* "instance|account|region|issued_at" */
static int
test_decode(void *arg, struct iddoc_fields *out, const uint8_t *doc,
    size_t len)
{
	char buf[512], *f[4], *save = NULL, *p;
	int i;

	(void)arg;
	decode_calls++;
	if (len >= sizeof(buf) || memchr(doc, '\0', len) != NULL)
		return ca_error(CA_ERR_INVALID, "test document: malformed");
	memcpy(buf, doc, len);
	buf[len] = '\0';
	for (i = 0, p = buf; i < 4; i++, p = NULL)
		if ((f[i] = strtok_r(p, "|", &save)) == NULL)
			return ca_error(CA_ERR_INVALID, "test document: "
			    "%d fields", i);
	out->instance = field_dup(f[0], strlen(f[0]));
	out->account = field_dup(f[1], strlen(f[1]));
	out->region = field_dup(f[2], strlen(f[2]));
	out->issued_at = (time_t)strtoll(f[3], NULL, 10);
	return CA_OK;
}

static size_t
doc_make(char *buf, size_t len, const char *instance, time_t issued)
{
	return (size_t)snprintf(buf, len, "%s|123456789012|eu-west-1|%lld",
	    instance, (long long)issued);
}

static void
doc_sign(uint8_t sig[64], const uint8_t *key, const char *doc, size_t len)
{
	static const char prefix[] = "carapace identity-document v1";
	uint8_t m[1024];

	CU_ASSERT_FATAL(sizeof(prefix) + len <= sizeof(m));
	memcpy(m, prefix, sizeof(prefix));
	memcpy(m + sizeof(prefix), doc, len);
	crypto_sign_detached(sig, NULL, m, sizeof(prefix) + len, key);
}

static struct iddoc_keys *
keys_make(void)
{
	struct iddoc_keys *k = NULL;

	CU_ASSERT_EQUAL_FATAL(iddoc_keys_new(&k), CA_OK);
	CU_ASSERT_EQUAL_FATAL(iddoc_keys_add(k, "plat-2026", pk), CA_OK);
	CU_ASSERT_EQUAL_FATAL(iddoc_keys_add(k, "plat-2027", pk2), CA_OK);
	return k;
}

static const char *seen_instance;

static int
seen_hook(void *arg, const char *instance, int *seen)
{
	(void)arg;
	*seen = seen_instance != NULL && strcmp(instance, seen_instance) == 0;
	return CA_OK;
}

struct fixture {
	struct iddoc_keys *keys;
	struct iddoc_verifier v;
	char doc[256];
	uint8_t sig[64];
	struct iddoc_evidence ev;
};

static void
fixture_make(struct fixture *f, const char *instance, time_t issued,
    const char *key_id, const uint8_t *key)
{
	size_t n;

	memset(f, 0, sizeof(*f));
	f->keys = keys_make();
	f->v.keys = f->keys;
	f->v.window = 300;
	f->v.skew = 30;
	f->v.decode = test_decode;
	n = doc_make(f->doc, sizeof(f->doc), instance, issued);
	doc_sign(f->sig, key, f->doc, n);
	f->ev.doc = (const uint8_t *)f->doc;
	f->ev.doc_len = n;
	f->ev.key_id = key_id;
	f->ev.sig = f->sig;
	f->ev.sig_len = sizeof(f->sig);
}

static void
test_good(void)
{
	struct fixture f;
	struct iddoc_identity *id = NULL;
	uint8_t m[512], digest[32];
	static const char prefix[] = "carapace identity-document v1";

	fixture_make(&f, "i-0abc", NOW - 10, "plat-2026", sk);
	seen_instance = "i-other";
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, seen_hook,
	    NULL), CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	CU_ASSERT_STRING_EQUAL(id->instance, "i-0abc");
	CU_ASSERT_STRING_EQUAL(id->account, "123456789012");
	CU_ASSERT_STRING_EQUAL(id->region, "eu-west-1");
	CU_ASSERT_STRING_EQUAL(id->key_id, "plat-2026");
	CU_ASSERT_EQUAL(id->issued_at, NOW - 10);
	memcpy(m, prefix, sizeof(prefix));
	memcpy(m + sizeof(prefix), f.doc, f.ev.doc_len);
	crypto_hash_sha256(digest, m, sizeof(prefix) + f.ev.doc_len);
	CU_ASSERT_EQUAL(memcmp(digest, id->digest, 32), 0);
	iddoc_identity_free(id);
	iddoc_identity_free(NULL);
	iddoc_keys_free(f.keys);
	/* the second key works too */
	fixture_make(&f, "i-0abc", NOW, "plat-2027", sk2);
	id = NULL;
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_OK);
	iddoc_identity_free(id);
	iddoc_keys_free(f.keys);
	iddoc_keys_free(NULL);
}

static void
test_bad_signature(void)
{
	struct fixture f;
	struct iddoc_identity *id = NULL;

	fixture_make(&f, "i-0abc", NOW, "plat-2026", sk);
	f.sig[10] ^= 0x04;
	decode_calls = 0;
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_VERIFY);
	CU_ASSERT_PTR_NULL(id);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "does not verify"));
	/* an unverified document is never decoded */
	CU_ASSERT_EQUAL(decode_calls, 0);
	iddoc_keys_free(f.keys);
	/* signed by key 2, presented as key 1 */
	fixture_make(&f, "i-0abc", NOW, "plat-2026", sk2);
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_VERIFY);
	/* wrong signature length */
	f.ev.sig_len = 63;
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_INVALID);
	iddoc_keys_free(f.keys);
}

static void
test_unknown_key(void)
{
	struct fixture f;
	struct iddoc_identity *id = NULL;

	fixture_make(&f, "i-0abc", NOW, "plat-2099", sk);
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "\"plat-2099\""));
	f.ev.key_id = "bad key\n";
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(id);
	iddoc_keys_free(f.keys);
}

static void
test_freshness(void)
{
	struct fixture f;
	struct iddoc_identity *id = NULL;

	/* exactly at the edges: good */
	fixture_make(&f, "i-0abc", NOW - 300, "plat-2026", sk);
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_OK);
	iddoc_identity_free(id);
	id = NULL;
	iddoc_keys_free(f.keys);
	fixture_make(&f, "i-0abc", NOW + 30, "plat-2026", sk);
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_OK);
	iddoc_identity_free(id);
	id = NULL;
	iddoc_keys_free(f.keys);
	/* stale */
	fixture_make(&f, "i-0abc", NOW - 301, "plat-2026", sk);
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_EXPIRED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "older than 300 s"));
	iddoc_keys_free(f.keys);
	/* from the future */
	fixture_make(&f, "i-0abc", NOW + 31, "plat-2026", sk);
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_EXPIRED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "in the future"));
	CU_ASSERT_PTR_NULL(id);
	iddoc_keys_free(f.keys);
}

static void
test_tampered(void)
{
	struct fixture f;
	struct iddoc_identity *id = NULL;
	char *p;

	fixture_make(&f, "i-0abc", NOW, "plat-2026", sk);
	/* change the region after signing */
	p = strstr(f.doc, "eu-west-1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p[1] = 's';
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_VERIFY);
	p[1] = 'u';
	/* change the instance id */
	f.doc[2] = '1';
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_VERIFY);
	f.doc[2] = '0';
	/* append a byte */
	f.ev.doc_len++;
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_VERIFY);
	f.ev.doc_len--;
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_OK);
	iddoc_identity_free(id);
	iddoc_keys_free(f.keys);
}

static void
test_seen_and_fields(void)
{
	struct fixture f;
	struct iddoc_identity *id = NULL;

	fixture_make(&f, "i-0abc", NOW, "plat-2026", sk);
	seen_instance = "i-0abc";
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, seen_hook,
	    NULL), CA_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "once per instance"));
	seen_instance = NULL;
	iddoc_keys_free(f.keys);
	/* a signed document with a blank in a field is still refused */
	fixture_make(&f, "i 0abc", NOW, "plat-2026", sk);
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_INVALID);
	iddoc_keys_free(f.keys);
	/* a signed document the decoder refuses */
	fixture_make(&f, "i-0abc", NOW, "plat-2026", sk);
	f.ev.doc_len = 6;
	doc_sign(f.sig, sk, f.doc, f.ev.doc_len);
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "test document"));
	CU_ASSERT_PTR_NULL(id);
	iddoc_keys_free(f.keys);
}

static struct config *
config_from(const char *text)
{
	char path[] = "/tmp/test_iddoc.XXXXXX";
	struct config *c = NULL;
	FILE *fp;
	int fd;

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	fp = fdopen(fd, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
	if (config_load(&c, path) != CA_OK)
		c = NULL;
	unlink(path);
	return c;
}

static void
test_keys_config(void)
{
	char b64[sodium_base64_ENCODED_LEN(32,
	    sodium_base64_VARIANT_ORIGINAL)], hex[65], text[512];
	struct iddoc_keys *k = NULL;
	struct config *c;
	struct fixture f;
	struct iddoc_identity *id = NULL;

	sodium_bin2base64(b64, sizeof(b64), pk, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2hex(hex, sizeof(hex), pk2, 32);
	snprintf(text, sizeof(text), "[platform_keys]\nplat-2026 = %s\n"
	    "plat-2027 = %s\n", b64, hex);
	c = config_from(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(iddoc_keys_load(&k, c, "platform_keys"), CA_OK);
	CU_ASSERT_EQUAL(iddoc_keys_count(k), 2);
	fixture_make(&f, "i-0abc", NOW, "plat-2027", sk2);
	iddoc_keys_free(f.keys);
	f.keys = NULL;
	f.v.keys = k;
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &f.v, &f.ev, NOW, NULL,
	    NULL), CA_OK);
	iddoc_identity_free(id);
	iddoc_keys_free(k);
	k = NULL;
	config_free(c);

	CU_ASSERT_EQUAL(iddoc_keys_load(&k, c = config_from("[x]\n"
	    "plat = AAAA\n"), "x"), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "[x] plat"));
	config_free(c);
	CU_ASSERT_EQUAL(iddoc_keys_load(&k, c = config_from("[x]\n"), "x"),
	    CA_ERR_CONFIG);
	config_free(c);
	CU_ASSERT_EQUAL(iddoc_keys_load(&k, c = config_from("[y]\na = b\n"),
	    "x"), CA_ERR_CONFIG);
	config_free(c);
	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_EQUAL(iddoc_keys_new(&k), CA_OK);
	CU_ASSERT_EQUAL(iddoc_keys_add(k, "a", pk), CA_OK);
	CU_ASSERT_EQUAL(iddoc_keys_add(k, "a", pk2), CA_ERR_EXISTS);
	CU_ASSERT_EQUAL(iddoc_keys_add(k, "", pk2), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(iddoc_keys_add_string(k, "b", "zz"), CA_ERR_INVALID);
	iddoc_keys_free(k);
}

/* A DER PlatformDocument from protocol/protocol.h, signed by its signer. */
static void
platform_doc_der(uint8_t **der, size_t *len, time_t issued,
    const char *audience)
{
	PROTO_PLATFORM_DOC *pd = PROTO_PLATFORM_DOC_new();

	CU_ASSERT_PTR_NOT_NULL_FATAL(pd);
	CU_ASSERT_FATAL(ASN1_INTEGER_set(pd->version, 1) == 1);
	CU_ASSERT_FATAL(ASN1_STRING_set(pd->platform, "aws", -1) == 1);
	CU_ASSERT_FATAL(ASN1_STRING_set(pd->instance_id, "i-0def", -1) == 1);
	CU_ASSERT_FATAL(ASN1_STRING_set(pd->account, "123456789012", -1) ==
	    1);
	CU_ASSERT_FATAL(ASN1_STRING_set(pd->region, "us-east-2", -1) == 1);
	CU_ASSERT_FATAL(ASN1_GENERALIZEDTIME_set(pd->issued_at, issued) !=
	    NULL);
	if (audience != NULL) {
		pd->audience = ASN1_UTF8STRING_new();
		CU_ASSERT_FATAL(ASN1_STRING_set(pd->audience, audience, -1) ==
		    1);
	}
	if (protocol_platform_doc_encode(der, len, pd) != CA_OK)
		fprintf(stderr, "\n  encode: %s\n", ca_error_detail());
	PROTO_PLATFORM_DOC_free(pd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*der);
}

static void
test_platform_doc(void)
{
	struct iddoc_keys *k = keys_make();
	struct iddoc_verifier v = { .keys = k, .window = 300, .skew = 30,
	    .decode = iddoc_decode_platform_doc,
	    .audience = "ca.example" };
	struct iddoc_evidence ev = { .key_id = "plat-2026" };
	struct iddoc_identity *id = NULL;
	uint8_t *der = NULL, sig[64];
	size_t len = 0;

	platform_doc_der(&der, &len, NOW - 5, "ca.example");
	CU_ASSERT_EQUAL_FATAL(protocol_iddoc_sign(sig, sk, der, len), CA_OK);
	ev.doc = der;
	ev.doc_len = len;
	ev.sig = sig;
	ev.sig_len = sizeof(sig);
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &v, &ev, NOW, NULL, NULL),
	    CA_OK);
	if (id == NULL)
		fprintf(stderr, "\n  %s\n", ca_error_detail());
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	CU_ASSERT_STRING_EQUAL(id->platform, "aws");
	CU_ASSERT_STRING_EQUAL(id->instance, "i-0def");
	CU_ASSERT_STRING_EQUAL(id->region, "us-east-2");
	CU_ASSERT_EQUAL(id->issued_at, NOW - 5);
	iddoc_identity_free(id);
	id = NULL;
	/* meant for another issuer */
	v.audience = "other.example";
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &v, &ev, NOW, NULL, NULL),
	    CA_ERR_VERIFY);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "another issuer"));
	OPENSSL_free(der);
	der = NULL;
	/* no audience in the document, one required */
	platform_doc_der(&der, &len, NOW - 5, NULL);
	CU_ASSERT_EQUAL_FATAL(protocol_iddoc_sign(sig, sk, der, len), CA_OK);
	ev.doc = der;
	ev.doc_len = len;
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &v, &ev, NOW, NULL, NULL),
	    CA_ERR_VERIFY);
	v.audience = NULL;
	CU_ASSERT_EQUAL(attest_iddoc_verify(&id, &v, &ev, NOW, NULL, NULL),
	    CA_OK);
	iddoc_identity_free(id);
	OPENSSL_free(der);
	iddoc_keys_free(k);
}

static CU_TestInfo tests[] = {
	{ "good document", test_good },
	{ "bad signature", test_bad_signature },
	{ "unknown key id", test_unknown_key },
	{ "stale and future documents", test_freshness },
	{ "tampered fields", test_tampered },
	{ "seen instance, bad fields, undecodable", test_seen_and_fields },
	{ "platform keys from the configuration", test_keys_config },
	{ "DER PlatformDocument (protocol.h)", test_platform_doc },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	int rc;

	if (sodium_init() < 0)
		return 99;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	rc = unit_run("attest_iddoc", NULL, NULL, tests);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk2, sizeof(sk2));
	return rc;
}
