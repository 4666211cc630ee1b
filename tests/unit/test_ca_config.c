/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/ca_config.c: loading NCONF files written into a
 * private temporary directory, errors that name the file, line, section
 * and key (missing file, syntax error, missing or misspelled section,
 * unknown key), typed getters with good and bad values, and paths resolved
 * against the directory of the configuration file.
 */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "tests/unit/unit.h"

static char dir[256];

static const char good_cnf[] =
    "# a ceremony file\n"
    "top = in the default section\n"
    "base = /srv/ca\n"
    "\n"
    "[ceremony]\n"
    "module     = /usr/lib/softhsm/libsofthsm2.so\n"
    "transcript = transcript\n"
    "root_cert  = sub/root.pem  # a comment after the value\n"
    "absolute   = /etc/carapace/x.pem\n"
    "expanded   = $base/out.pem\n"
    "from_env   = $ENV::CA_UNIT_TEST_DIR/y.pem\n"
    "empty      =\n"
    "\n"
    "[root]\n"
    "days       = 7300\n"
    "negative   = -5\n"
    "not_after  = 20460101000000Z\n"
    "leap       = 20240229123456Z\n"
    "digest     = sha384\n"
    "subject    = root_dn\n"
    "b_yes = YES\n"
    "b_true = true\n"
    "b_on = On\n"
    "b_1 = 1\n"
    "b_no = no\n"
    "b_false = FALSE\n"
    "b_off = off\n"
    "b_0 = 0\n"
    "\n"
    "[root_dn]\n"
    "C  = XX\n"
    "O  = Example Org\n"
    "CN = first\n"
    "CN = Example Root CA 2026\n"
    "\n"
    "[intermediate]\n"
    "csr = issuer.csr\n"
    "\n"
    "[nothing]\n"
    "\n"
    "[last]\n"
    "k = v\n";

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test_ca_config.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	return setenv("CA_UNIT_TEST_DIR", "/from/env", 1) != 0;
}

static int
teardown(void)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0;
}

/* write_cnf writes s to dir/name and returns the path in out. */
static void
write_cnf(char *out, size_t outlen, const char *name, const char *s)
{
	FILE *f;

	snprintf(out, outlen, "%s/%s", dir, name);
	f = fopen(out, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(s, 1, strlen(s), f), strlen(s));
	CU_ASSERT_EQUAL(fclose(f), 0);
}

/* load writes s and loads it; returns the config or NULL. */
static struct config *
load(const char *name, const char *s)
{
	struct config *c = NULL;
	char p[512];

	write_cnf(p, sizeof(p), name, s);
	CU_ASSERT_EQUAL(config_load(&c, p), CA_OK);
	if (c == NULL)
		fprintf(stderr, "config_load: %s\n", ca_error_detail());
	return c;
}

/* detail_has: the last error detail contains s. */
static int
detail_has(const char *s)
{
	if (strstr(ca_error_detail(), s) != NULL)
		return 1;
	fprintf(stderr, "\n  detail \"%s\" lacks \"%s\"\n", ca_error_detail(),
	    s);
	return 0;
}

static void
test_load_good(void)
{
	struct config *c;
	const char *v, *n;
	uint8_t h[FILEIO_SHA256_LEN];
	unsigned int hl = 0;
	char p[512];

	c = load("good.cnf", good_cnf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	snprintf(p, sizeof(p), "%s/good.cnf", dir);
	CU_ASSERT_STRING_EQUAL(config_path(c), p);
	CU_ASSERT_STRING_EQUAL(config_dir(c), dir);
	CU_ASSERT_PTR_NOT_NULL(config_conf(c));

	/* The hash is over exactly the bytes in the file. */
	CU_ASSERT_EQUAL(EVP_Digest(good_cnf, strlen(good_cnf), h, &hl,
	    EVP_sha256(), NULL), 1);
	CU_ASSERT_EQUAL(hl, FILEIO_SHA256_LEN);
	CU_ASSERT(memcmp(config_sha256(c), h, sizeof(h)) == 0);

	CU_ASSERT_EQUAL(config_has_section(c, "ceremony"), 1);
	CU_ASSERT_EQUAL(config_has_section(c, "nothing"), 1);
	CU_ASSERT_EQUAL(config_has_section(c, "Ceremony"), 0);
	CU_ASSERT_EQUAL(config_has_section(c, "absent"), 0);
	CU_ASSERT_EQUAL(config_require_section(c, "nothing", NULL), CA_OK);

	CU_ASSERT_EQUAL(config_require_string(&v, c, "ceremony", "module"),
	    CA_OK);
	CU_ASSERT_STRING_EQUAL(v, "/usr/lib/softhsm/libsofthsm2.so");
	/* Trailing blanks and comments are not part of the value. */
	CU_ASSERT_EQUAL(config_get_string(&v, c, "ceremony", "root_cert",
	    NULL), CA_OK);
	CU_ASSERT_STRING_EQUAL(v, "sub/root.pem");
	CU_ASSERT_EQUAL(config_get_string(&v, c, "ceremony", "expanded",
	    NULL), CA_OK);
	CU_ASSERT_STRING_EQUAL(v, "/srv/ca/out.pem");
	CU_ASSERT_EQUAL(config_get_string(&v, c, "ceremony", "from_env",
	    NULL), CA_OK);
	CU_ASSERT_STRING_EQUAL(v, "/from/env/y.pem");
	CU_ASSERT_EQUAL(config_get_string(&v, c, "ceremony", "absent",
	    "dflt"), CA_OK);
	CU_ASSERT_STRING_EQUAL(v, "dflt");
	CU_ASSERT_EQUAL(config_get_string(&v, c, "ceremony", "empty", "dflt"),
	    CA_OK);
	CU_ASSERT_STRING_EQUAL(v, "");

	/* No fallback to the default section, and none from a section. */
	CU_ASSERT_EQUAL(config_get_string(&v, c, "ceremony", "top", NULL),
	    CA_OK);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(config_get_string(&v, c, "root", "module", NULL),
	    CA_OK);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(config_require_string(&v, c, "root", "module"),
	    CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT(detail_has("good.cnf: [root] module: missing"));
	CU_ASSERT_EQUAL(config_require_string(&v, c, "ceremony", "empty"),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("good.cnf: [ceremony] empty: empty value"));

	/* Keys in file order; a repeated key counts once. */
	CU_ASSERT_EQUAL(config_section_count(c, "root_dn"), 3);
	CU_ASSERT_EQUAL(config_section_item(&n, &v, c, "root_dn", 0), 0);
	CU_ASSERT_STRING_EQUAL(n, "C");
	CU_ASSERT_STRING_EQUAL(v, "XX");
	CU_ASSERT_EQUAL(config_section_item(&n, &v, c, "root_dn", 1), 0);
	CU_ASSERT_STRING_EQUAL(n, "O");
	CU_ASSERT_STRING_EQUAL(v, "Example Org");
	CU_ASSERT_EQUAL(config_section_item(&n, &v, c, "root_dn", 2), 0);
	CU_ASSERT_STRING_EQUAL(n, "CN");
	CU_ASSERT_STRING_EQUAL(v, "Example Root CA 2026");
	CU_ASSERT_EQUAL(config_section_item(&n, &v, c, "root_dn", 3), -1);
	CU_ASSERT_PTR_NULL(n);
	CU_ASSERT_EQUAL(config_section_item(&n, &v, c, "absent", 0), -1);
	CU_ASSERT_EQUAL(config_section_count(c, "absent"), 0);
	CU_ASSERT_EQUAL(config_section_count(c, "nothing"), 0);
	CU_ASSERT_EQUAL(config_section_count(c, "last"), 1);
	config_free(c);
	config_free(NULL);
}

static void
test_load_bad(void)
{
	struct config *c = (struct config *)&c;
	char p[512], *big;
	size_t n;
	FILE *f;

	/* Missing file. */
	snprintf(p, sizeof(p), "%s/absent.cnf", dir);
	CU_ASSERT_EQUAL(config_load(&c, p), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT(detail_has("absent.cnf: no such configuration file"));

	/* A directory is not a configuration file. */
	CU_ASSERT_EQUAL(config_load(&c, dir), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(c);

	/* A line without an equal sign: the message names line 4. */
	write_cnf(p, sizeof(p), "syntax.cnf",
	    "[root]\ndays = 1\n\nthis line has no equal sign\nx = 2\n");
	CU_ASSERT_EQUAL(config_load(&c, p), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT(detail_has("syntax.cnf:4: syntax error"));

	/* An unclosed section header on line 2. */
	write_cnf(p, sizeof(p), "section.cnf", "a = 1\n[root\ndays = 1\n");
	CU_ASSERT_EQUAL(config_load(&c, p), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("section.cnf:2: syntax error"));

	/* An undefined variable. */
	write_cnf(p, sizeof(p), "var.cnf", "[root]\ndays = $nosuchvar\n");
	CU_ASSERT_EQUAL(config_load(&c, p), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("var.cnf:2: syntax error"));

	/* A NUL byte: not a text file. */
	snprintf(p, sizeof(p), "%s/nul.cnf", dir);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite("[a]\nb = c\0d\n", 1, 12, f), 12);
	fclose(f);
	CU_ASSERT_EQUAL(config_load(&c, p), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("NUL"));

	/* One byte over the cap is refused; the cap itself would load. */
	n = CONFIG_MAX_SIZE + 1;
	big = malloc(n + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, '#', n);
	big[n - 1] = '\n';
	big[n] = '\0';
	write_cnf(p, sizeof(p), "big.cnf", big);
	CU_ASSERT_EQUAL(config_load(&c, p), CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(c);
	big[n - 2] = '\n';
	big[n - 1] = '\0';
	write_cnf(p, sizeof(p), "big.cnf.ok", big);
	CU_ASSERT_EQUAL(config_load(&c, p), CA_OK);
	config_free(c);
	free(big);

	/* An empty file is a valid, empty configuration. */
	write_cnf(p, sizeof(p), "empty.cnf", "");
	CU_ASSERT_EQUAL(config_load(&c, p), CA_OK);
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c != NULL)
		CU_ASSERT_EQUAL(config_has_section(c, "root"), 0);
	config_free(c);
}

static void
test_sections(void)
{
	struct config *c;
	const char *v;

	c = load("sect.cnf", good_cnf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	/* Misspelled: the message names it and suggests the real one. */
	CU_ASSERT_EQUAL(config_require_section(c, "intermedaite", NULL),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("sect.cnf: [intermedaite]: missing section "
	    "(did you mean [intermediate]?)"));
	CU_ASSERT_EQUAL(config_require_section(c, "root_dm",
	    "[root] subject"), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("sect.cnf: [root] subject: section [root_dm] is "
	    "missing (did you mean [root_dn]?)"));

	/* Missing with nothing close: no suggestion. */
	CU_ASSERT_EQUAL(config_require_section(c, "crl", NULL), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("sect.cnf: [crl]: missing section"));
	CU_ASSERT_PTR_NULL(strstr(ca_error_detail(), "did you mean"));
	CU_ASSERT_EQUAL(config_require_section(c, "profile_x",
	    "[intermediate] profile"), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[intermediate] profile: section [profile_x] is "
	    "missing"));

	/* Requiring a key of a missing section names the section. */
	CU_ASSERT_EQUAL(config_require_string(&v, c, "keygne", "public_key"),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[keygne]"));
	config_free(c);
}

static void
test_check_keys(void)
{
	static const char *const allowed[] = { "csr", "output", "days",
	    "digest", "profile", "key_types", NULL };
	struct config *c;

	c = load("keys.cnf",
	    "[good]\ncsr = a\noutput = b\ndays = 3\n"
	    "[typo]\ncsr = a\ndayz = 3\n"
	    "[unknown]\nprofile = p\nfrobnicate = 1\n"
	    "[case]\nDays = 3\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(config_check_keys(c, "good", allowed), CA_OK);
	CU_ASSERT_EQUAL(config_check_keys(c, "missing", allowed), CA_OK);
	CU_ASSERT_EQUAL(config_check_keys(c, "typo", allowed), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("keys.cnf: [typo] dayz: unknown key (did you "
	    "mean \"days\"?)"));
	CU_ASSERT_EQUAL(config_check_keys(c, "unknown", allowed),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("keys.cnf: [unknown] frobnicate: unknown key"));
	CU_ASSERT_PTR_NULL(strstr(ca_error_detail(), "did you mean"));
	/* Keys are case-sensitive: "Days" is not "days". */
	CU_ASSERT_EQUAL(config_check_keys(c, "case", allowed), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[case] Days: unknown key (did you mean "
	    "\"days\"?)"));
	config_free(c);
}

static void
test_int(void)
{
	struct config *c;
	long n;

	c = load("int.cnf",
	    "[root]\ndays = 7300\nneg = -5\nalpha = abc\ntrail = 12x\n"
	    "lead = \" 12\"\nhex = 0x10\nhuge = 99999999999999999999999\n"
	    "empty =\nzero = 0\nfrac = 1.5\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "days", 1, 1, 36500),
	    CA_OK);
	CU_ASSERT_EQUAL(n, 7300);
	CU_ASSERT_EQUAL(config_require_int(&n, c, "root", "days", 1, 36500),
	    CA_OK);
	CU_ASSERT_EQUAL(n, 7300);
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "neg", 0, -10, 10),
	    CA_OK);
	CU_ASSERT_EQUAL(n, -5);
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "absent", 42, 1, 100),
	    CA_OK);
	CU_ASSERT_EQUAL(n, 42);
	/* The bounds are inclusive. */
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "days", 1, 7300, 7300),
	    CA_OK);

	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "days", 1, 1, 7299),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("int.cnf: [root] days: 7300 is out of range "
	    "(1 to 7299)"));
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "zero", 1, 1, 10),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[root] zero: 0 is out of range"));
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "neg", 1, 0, 10),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "huge", 1, 0, 10),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[root] huge"));
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "huge", 1, LONG_MIN,
	    LONG_MAX), CA_ERR_CONFIG);
	CU_ASSERT(detail_has("out of range"));

	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "alpha", 1, 0, 10),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("int.cnf: [root] alpha: \"abc\" is not a decimal "
	    "integer"));
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "trail", 1, 0, 100),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[root] trail: \"12x\""));
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "lead", 1, 0, 100),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "hex", 1, 0, 100),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "frac", 1, 0, 100),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_get_int(&n, c, "root", "empty", 1, 0, 100),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[root] empty"));

	CU_ASSERT_EQUAL(config_require_int(&n, c, "root", "absent", 0, 10),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("int.cnf: [root] absent: missing"));
	CU_ASSERT_EQUAL(config_require_int(&n, c, "root", "empty", 0, 10),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("[root] empty: empty value"));
	config_free(c);
}

static void
test_bool(void)
{
	static const char *const yes[] = { "b_yes", "b_true", "b_on", "b_1" };
	static const char *const no[] = { "b_no", "b_false", "b_off", "b_0" };
	struct config *c;
	size_t i;
	int b;

	c = load("bool.cnf", good_cnf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (i = 0; i < 4; i++) {
		b = -1;
		CU_ASSERT_EQUAL(config_get_bool(&b, c, "root", yes[i], 0),
		    CA_OK);
		CU_ASSERT_EQUAL(b, 1);
		b = -1;
		CU_ASSERT_EQUAL(config_get_bool(&b, c, "root", no[i], 1),
		    CA_OK);
		CU_ASSERT_EQUAL(b, 0);
	}
	CU_ASSERT_EQUAL(config_get_bool(&b, c, "root", "absent", 1), CA_OK);
	CU_ASSERT_EQUAL(b, 1);
	CU_ASSERT_EQUAL(config_get_bool(&b, c, "root", "absent", 0), CA_OK);
	CU_ASSERT_EQUAL(b, 0);
	config_free(c);

	c = load("bool2.cnf",
	    "[ceremony]\nmaybe = maybe\ntwo = 2\nyess = yess\nempty =\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(config_get_bool(&b, c, "ceremony", "maybe", 0),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("bool2.cnf: [ceremony] maybe: \"maybe\" is not a "
	    "boolean"));
	CU_ASSERT_EQUAL(config_get_bool(&b, c, "ceremony", "two", 0),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_get_bool(&b, c, "ceremony", "yess", 0),
	    CA_ERR_CONFIG);
	CU_ASSERT_EQUAL(config_get_bool(&b, c, "ceremony", "empty", 0),
	    CA_ERR_CONFIG);
	config_free(c);
}

static void
test_time(void)
{
	static const char *const bad[] = {
		"2046010100000Z",	/* too short */
		"204601010000000Z",	/* too long */
		"20460101000000",	/* no Z */
		"20460101000000z",
		"20461301000000Z",	/* month 13 */
		"20460001000000Z",	/* month 0 */
		"20460230000000Z",	/* 30 February */
		"20230229000000Z",	/* not a leap year */
		"20460101240000Z",	/* hour 24 */
		"20460101006000Z",	/* minute 60 */
		"2046010100000aZ",
		"204601010000.5Z",
		"2046-01-01T00:0Z",
		"20460101000000+0100",
		" 20460101000000Z",
		"",
	};
	struct config *c;
	time_t t;
	size_t i;
	int present;

	c = load("time.cnf", good_cnf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(config_get_time(&t, &present, c, "root", "not_after"),
	    CA_OK);
	CU_ASSERT_EQUAL(present, 1);
	CU_ASSERT_EQUAL(t, (time_t)2398377600);
	CU_ASSERT_EQUAL(config_get_time(&t, &present, c, "root", "leap"),
	    CA_OK);
	CU_ASSERT_EQUAL(t, (time_t)1709210096);
	present = 7;
	CU_ASSERT_EQUAL(config_get_time(&t, &present, c, "root", "absent"),
	    CA_OK);
	CU_ASSERT_EQUAL(present, 0);
	CU_ASSERT_EQUAL(t, 0);
	CU_ASSERT_EQUAL(config_get_time(&t, &present, c, "root", "days"),
	    CA_ERR_CONFIG);
	CU_ASSERT(detail_has("time.cnf: [root] days: \"7300\" is not a "
	    "GeneralizedTime"));
	config_free(c);

	CU_ASSERT_EQUAL(config_time_parse(&t, "19700101000000Z"), 0);
	CU_ASSERT_EQUAL(t, 0);
	CU_ASSERT_EQUAL(config_time_parse(&t, "20460101000000Z"), 0);
	CU_ASSERT_EQUAL(t, (time_t)2398377600);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 1;
		if (config_time_parse(&t, bad[i]) != -1)
			fprintf(stderr, "\n  accepted \"%s\"\n", bad[i]);
		CU_ASSERT_EQUAL(config_time_parse(&t, bad[i]), -1);
		CU_ASSERT_EQUAL(t, 0);
	}
}

static void
test_paths(void)
{
	struct config *c;
	char *p = NULL, want[512];
	int cwd;

	c = load("paths.cnf", good_cnf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(config_get_path(&p, c, "ceremony", "transcript",
	    NULL), CA_OK);
	snprintf(want, sizeof(want), "%s/transcript", dir);
	CU_ASSERT_STRING_EQUAL(p, want);
	free(p);
	CU_ASSERT_EQUAL(config_require_path(&p, c, "ceremony", "root_cert"),
	    CA_OK);
	snprintf(want, sizeof(want), "%s/sub/root.pem", dir);
	CU_ASSERT_STRING_EQUAL(p, want);
	free(p);
	CU_ASSERT_EQUAL(config_get_path(&p, c, "ceremony", "absolute", NULL),
	    CA_OK);
	CU_ASSERT_STRING_EQUAL(p, "/etc/carapace/x.pem");
	free(p);
	/* A default is resolved the same way. */
	CU_ASSERT_EQUAL(config_get_path(&p, c, "ceremony", "absent",
	    "crlnumber"), CA_OK);
	snprintf(want, sizeof(want), "%s/crlnumber", dir);
	CU_ASSERT_STRING_EQUAL(p, want);
	free(p);
	p = (char *)want;
	CU_ASSERT_EQUAL(config_get_path(&p, c, "ceremony", "absent", NULL),
	    CA_OK);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(config_get_path(&p, c, "ceremony", "empty", "x"),
	    CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT(detail_has("paths.cnf: [ceremony] empty: empty path"));
	CU_ASSERT_EQUAL(config_require_path(&p, c, "ceremony", "absent"),
	    CA_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT(detail_has("[ceremony] absent: missing"));
	CU_ASSERT_EQUAL(config_resolve(&p, c, "a/b"), CA_OK);
	snprintf(want, sizeof(want), "%s/a/b", dir);
	CU_ASSERT_STRING_EQUAL(p, want);
	free(p);
	config_free(c);

	/* Loaded by a bare file name: paths stay relative to ".". */
	cwd = open(".", O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(cwd != -1);
	CU_ASSERT_FATAL(chdir(dir) == 0);
	c = NULL;
	CU_ASSERT_EQUAL(config_load(&c, "paths.cnf"), CA_OK);
	if (c != NULL) {
		CU_ASSERT_STRING_EQUAL(config_dir(c), ".");
		CU_ASSERT_EQUAL(config_get_path(&p, c, "ceremony",
		    "root_cert", NULL), CA_OK);
		CU_ASSERT_STRING_EQUAL(p, "sub/root.pem");
		free(p);
	}
	config_free(c);
	CU_ASSERT(fchdir(cwd) == 0);
	close(cwd);
}

static void
test_duration(void)
{
	static const struct {
		const char *s;
		int64_t want;	/* -1: refused */
	} cases[] = {
		{ "0", 0 }, { "90", 90 }, { "90s", 90 }, { "30m", 1800 },
		{ "24h", 86400 }, { "7d", 604800 }, { "", -1 }, { "m", -1 },
		{ "-5", -1 }, { " 5", -1 }, { "5 ", -1 }, { "5w", -1 },
		{ "5ms", -1 }, { "1.5h", -1 }, { "0x10", -1 },
		{ "99999999999999999999", -1 }, { "106751991167301d", -1 },
		{ "31d", -1 },	/* over the max below */
	};
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 12345;
		if (cases[i].want >= 0) {
			CU_ASSERT_EQUAL(config_duration_parse(&v, cases[i].s, 0,
			    30 * 86400, "t"), CA_OK);
			CU_ASSERT_EQUAL(v, cases[i].want);
		} else {
			CU_ASSERT_EQUAL(config_duration_parse(&v, cases[i].s, 0,
			    30 * 86400, "lifetime"), CA_ERR_CONFIG);
			CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(),
			    "lifetime"));
		}
	}
	/* The minimum is enforced too. */
	CU_ASSERT_EQUAL(config_duration_parse(&v, "0s", 1, 10, "t"),
	    CA_ERR_CONFIG);
}

static CU_TestInfo tests[] = {
	{ "load_good", test_load_good },
	{ "load_bad", test_load_bad },
	{ "sections", test_sections },
	{ "check_keys", test_check_keys },
	{ "int", test_int },
	{ "bool", test_bool },
	{ "time", test_time },
	{ "duration", test_duration },
	{ "paths", test_paths },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("ca_config", setup, teardown, tests)
