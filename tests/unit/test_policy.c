/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for issuer/policy.c: DNS name and grant syntax, exact and
 * "*.suffix" matching without regard to case, wildcard certificates only by
 * a literal "=" grant, the four methods' sections (token names and profile,
 * renewal with the same names, device and iddoc templates), and
 * configuration errors that name the key.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "issuer/policy.h"
#include "tests/unit/unit.h"

static struct config *
config_from(const char *text)
{
	char path[] = "/tmp/test_policy.XXXXXX";
	struct config *c = NULL;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	if (config_load(&c, path) != CA_OK) {
		fprintf(stderr, "\n  config_load: %s\n", ca_error_detail());
		c = NULL;
	}
	unlink(path);
	return c;
}

static const char *conf_all =
    "[policy_joinToken]\n"
    "profiles = leaf, server\n"
    "[policy_x509pop_renewal]\n"
    "profile = leaf\n"
    "[policy_x509pop_device]\n"
    "profile = device\n"
    "names = {serial}.devices.example, {cn}.cn.devices.example\n"
    "[policy_iddoc]\n"
    "profile = compute\n"
    "names = {instance}.{region}.compute.example\n"
    "accounts = 123456789012 acct-2\n";

static void
test_name_syntax(void)
{
	char buf[300];

	CU_ASSERT_EQUAL(policy_name_check("a.example", 0), CA_OK);
	CU_ASSERT_EQUAL(policy_name_check("A-1.Example", 0), CA_OK);
	CU_ASSERT_EQUAL(policy_name_check("localhost", 0), CA_OK);
	CU_ASSERT_EQUAL(policy_name_check("", 0), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("a.example.", 0), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check(".a.example", 0), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("a..example", 0), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("-a.example", 0), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("a-.example", 0), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("a_b.example", 0), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("a b.example", 0), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("a\n.example", 0), CA_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "\\x0a"));
	CU_ASSERT_EQUAL(policy_name_check("*.a.example", 0), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("*.a.example", 1), CA_OK);
	CU_ASSERT_EQUAL(policy_name_check("*.example", 1), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("a*.example.com", 1),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("a.*.example.com", 1),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_name_check("*.*.example.com", 1),
	    CA_ERR_INVALID);
	/* label of 63 is fine, 64 is not; 253 in all */
	memset(buf, 'a', 63);
	strcpy(buf + 63, ".example");
	CU_ASSERT_EQUAL(policy_name_check(buf, 0), CA_OK);
	memset(buf, 'a', 64);
	strcpy(buf + 64, ".example");
	CU_ASSERT_EQUAL(policy_name_check(buf, 0), CA_ERR_INVALID);
	memset(buf, 'a', 254);
	buf[254] = '\0';
	for (int i = 50; i < 254; i += 50)
		buf[i] = '.';
	CU_ASSERT_EQUAL(policy_name_check(buf, 0), CA_ERR_INVALID);
	buf[253] = '\0';
	CU_ASSERT_EQUAL(policy_name_check(buf, 0), CA_OK);

	CU_ASSERT_EQUAL(policy_grant_check("a.example"), CA_OK);
	CU_ASSERT_EQUAL(policy_grant_check("*.node.example"), CA_OK);
	CU_ASSERT_EQUAL(policy_grant_check("=*.node.example"), CA_OK);
	CU_ASSERT_EQUAL(policy_grant_check("*.example"), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_grant_check("*"), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_grant_check("*.*.example.com"),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_grant_check("=*.example"), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_grant_check(""), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_grant_check("a.example."), CA_ERR_INVALID);
}

static void
test_grant_match(void)
{
	CU_ASSERT_TRUE(policy_grant_match("a.example", "a.example"));
	CU_ASSERT_TRUE(policy_grant_match("a.example", "A.EXAMPLE"));
	CU_ASSERT_TRUE(policy_grant_match("A.Example", "a.example"));
	CU_ASSERT_FALSE(policy_grant_match("a.example", "b.a.example"));
	CU_ASSERT_FALSE(policy_grant_match("a.example", "a.example.com"));
	CU_ASSERT_TRUE(policy_grant_match("*.node.example", "x.node.example"));
	CU_ASSERT_TRUE(policy_grant_match("*.node.example", "X.NODE.example"));
	CU_ASSERT_FALSE(policy_grant_match("*.node.example", "node.example"));
	CU_ASSERT_FALSE(policy_grant_match("*.node.example",
	    "a.b.node.example"));
	CU_ASSERT_FALSE(policy_grant_match("*.node.example",
	    "xnode.example"));
	CU_ASSERT_FALSE(policy_grant_match("*.node.example",
	    "x.node.example.evil"));
	/* a pattern never grants a wildcard name ... */
	CU_ASSERT_FALSE(policy_grant_match("*.node.example",
	    "*.node.example"));
	CU_ASSERT_FALSE(policy_grant_match("a.example", "*.example"));
	/* ... a literal grant does, and only that one */
	CU_ASSERT_TRUE(policy_grant_match("=*.node.example",
	    "*.node.example"));
	CU_ASSERT_TRUE(policy_grant_match("=*.node.example",
	    "*.NODE.example"));
	CU_ASSERT_FALSE(policy_grant_match("=*.node.example",
	    "x.node.example"));
	CU_ASSERT_TRUE(policy_grant_match("=a.example", "a.example"));
}

static void
test_join_token(void)
{
	struct config *c = config_from(conf_all);
	struct policy *p = NULL;
	struct policy_decision *d = NULL;
	static const char *const grants[] = { "node7.example",
	    "*.node.example" };
	const char *req_ok[] = { "node7.example", "a.NODE.example" };
	const char *req_bad[] = { "node7.example", "node8.example" };
	const char *req_wild[] = { "*.node.example" };
	const char *req_deep[] = { "a.b.node.example" };
	const char *req_inval[] = { "node7.example." };
	struct policy_identity id = { .method = POLICY_JOIN_TOKEN,
	    .who = "token 00ff", .names = grants, .nnames = 2,
	    .profile = "leaf" };

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(policy_load(&p, c), CA_OK);
	CU_ASSERT_EQUAL(policy_check(&d, p, &id, req_ok, 2), CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->profile, "leaf");
	policy_decision_free(d);
	d = NULL;
	CU_ASSERT_EQUAL(policy_check(&d, p, &id, req_bad, 2), CA_ERR_DENIED);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "name \"node8.example\" is not granted by the join token"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "token 00ff"));
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req_wild, 1),
	    CA_ERR_DENIED);
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req_deep, 1),
	    CA_ERR_DENIED);
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req_inval, 1),
	    CA_ERR_INVALID);
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req_ok, 0), CA_ERR_DENIED);
	/* a profile outside [policy_joinToken] profiles */
	id.profile = "ca";
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req_ok, 2), CA_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "profile \"ca\""));
	policy_free(p);
	config_free(c);
}

static void
test_renewal(void)
{
	struct config *c = config_from(conf_all);
	struct policy *p = NULL;
	struct policy_decision *d = NULL;
	static const char *const old[] = { "a.example", "b.example" };
	const char *same[] = { "B.example", "a.example" };
	const char *fewer[] = { "a.example" };
	const char *more[] = { "a.example", "b.example", "c.example" };
	struct policy_identity id = { .method = POLICY_X509POP_RENEWAL,
	    .who = "CN=a", .names = old, .nnames = 2 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(policy_load(&p, c), CA_OK);
	CU_ASSERT_EQUAL(policy_check(&d, p, &id, same, 2), CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->profile, "leaf");
	policy_decision_free(d);
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, fewer, 1), CA_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "\"b.example\" is missing"));
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, more, 3), CA_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "\"c.example\" is not granted"));
	policy_free(p);
	config_free(c);
}

static void
test_device(void)
{
	struct config *c = config_from(conf_all);
	struct policy *p = NULL;
	struct policy_decision *d = NULL;
	const char *req[] = { "0a1b.devices.example" };
	const char *req_cn[] = { "sensor-9.cn.devices.example",
	    "0A1B.devices.example" };
	const char *req_other[] = { "0a1c.devices.example" };
	struct policy_identity id = { .method = POLICY_X509POP_DEVICE,
	    .who = "device", .serial_hex = "0a1b", .cn = "Sensor-9" };

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(policy_load(&p, c), CA_OK);
	CU_ASSERT_EQUAL(policy_check(&d, p, &id, req, 1), CA_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->profile, "device");
	policy_decision_free(d);
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req_cn, 2), CA_OK);
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req_other, 1),
	    CA_ERR_DENIED);
	/* a CN with a dot cannot widen the template: that name is gone */
	id.cn = "evil.example";
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req_cn, 1), CA_ERR_DENIED);
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req, 1), CA_OK);
	/* no CN: only the serial template applies */
	id.cn = NULL;
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req, 1), CA_OK);
	policy_free(p);
	config_free(c);
}

static void
test_iddoc(void)
{
	struct config *c = config_from(conf_all);
	struct policy *p = NULL;
	const char *req[] = { "i-0abc.eu-west-1.compute.example" };
	struct policy_identity id = { .method = POLICY_IDDOC,
	    .who = "instance i-0abc", .instance = "i-0abc",
	    .account = "123456789012", .region = "eu-west-1" };

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(policy_load(&p, c), CA_OK);
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req, 1), CA_OK);
	id.region = "us-east-1";
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req, 1), CA_ERR_DENIED);
	id.region = "eu-west-1";
	id.account = "999";
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req, 1), CA_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
	    "account \"999\" is not in [policy_iddoc] accounts"));
	id.account = "acct-2";
	/* an instance id that is not one label yields no name */
	id.instance = "i-0abc.eu-west-1";
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req, 1), CA_ERR_DENIED);
	policy_free(p);
	config_free(c);
}

static void
test_config(void)
{
	struct config *c;
	struct policy *p = NULL;
	const char *req[] = { "a.example" };
	struct policy_identity id = { .method = POLICY_IDDOC,
	    .instance = "i", .account = "a", .region = "r" };

	/* nothing configured: every method is disabled */
	c = config_from("[other]\nx = 1\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(policy_load(&p, c), CA_OK);
	CU_ASSERT_FALSE(policy_enabled(p, POLICY_IDDOC));
	CU_ASSERT_EQUAL(policy_check(NULL, p, &id, req, 1), CA_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "not enabled"));
	policy_free(p);
	p = NULL;
	config_free(c);

	c = config_from("[policy_iddoc]\nprofile = x\nnames = a.example\n"
	    "acounts = 1\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(policy_load(&p, c), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "acounts"));
	config_free(c);

	c = config_from("[policy_iddoc]\nprofile = x\n"
	    "names = {serial}.example\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(policy_load(&p, c), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "unknown variable"));
	config_free(c);

	c = config_from("[policy_x509pop_device]\nprofile = x\n"
	    "names = {serial.example\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(policy_load(&p, c), CA_ERR_CONFIG);
	config_free(c);

	c = config_from("[policy_x509pop_device]\nprofile = x\n"
	    "names = {serial}..example\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(policy_load(&p, c), CA_ERR_CONFIG);
	config_free(c);

	c = config_from("[policy_x509pop_renewal]\nnames = a\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(policy_load(&p, c), CA_ERR_CONFIG);
	config_free(c);

	c = config_from("[policy_x509pop_renewal]\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(policy_load(&p, c), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "profile"));
	config_free(c);
	CU_ASSERT_PTR_NULL(p);
	policy_free(NULL);
}

static CU_TestInfo tests[] = {
	{ "name and grant syntax", test_name_syntax },
	{ "grant matching", test_grant_match },
	{ "join token names and profile", test_join_token },
	{ "renewal keeps the same names", test_renewal },
	{ "device templates", test_device },
	{ "iddoc template and accounts", test_iddoc },
	{ "configuration", test_config },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("policy", tests)
