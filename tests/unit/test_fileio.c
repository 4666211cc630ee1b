/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/fileio.c: capped reads, exclusive creation that
 * never overwrites and leaves nothing behind on failure, atomic replace,
 * SHA-256 against a published test vector, hex.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "tests/unit/unit.h"

static char dir[256];

static void
path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static void
write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(s, f);
	fclose(f);
}

static size_t
count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	size_t n = 0;

	if (dp == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

static void
remove_all(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	char p[512];

	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
		unlink(p);
	}
	closedir(dp);
}

static int
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test_fileio.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	return mkdtemp(dir) == NULL;
}

static int
teardown(void)
{
	remove_all(dir);
	rmdir(dir);
	return 0;
}

static void
test_read(void)
{
	char p[512];
	uint8_t *buf = NULL;
	size_t len = 0;

	path_in(p, sizeof(p), "in.txt");
	write_file(p, "hello\n");
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, p, 100), CA_OK);
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT_STRING_EQUAL((char *)buf, "hello\n");
	free(buf);

	/* Exactly at the cap is fine, one byte over is refused. */
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, p, 6), CA_OK);
	free(buf);
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, p, 5), CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "in.txt"));

	path_in(p, sizeof(p), "absent");
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, p, 100), CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "absent"));

	CU_ASSERT_EQUAL(fileio_read(&buf, &len, dir, 100), CA_ERR_INVALID);

	/* An empty file reads as an empty string. */
	path_in(p, sizeof(p), "empty");
	write_file(p, "");
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, p, 100), CA_OK);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_PTR_NOT_NULL(buf);
	free(buf);
}

static void
test_create(void)
{
	char p[512];
	uint8_t *buf = NULL;
	size_t len = 0, before;
	struct stat st;

	path_in(p, sizeof(p), "out.pem");
	CU_ASSERT_EQUAL(fileio_create(p, "abc", 3, 0644), CA_OK);
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, p, 100), CA_OK);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT(memcmp(buf, "abc", 3) == 0);
	free(buf);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0644 & ~umask(022));
	umask(022);

	/* Never overwrite: the old content stays byte for byte. */
	CU_ASSERT_EQUAL(fileio_create(p, "xyz!", 4, 0644), CA_ERR_EXISTS);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "already exists"));
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, p, 100), CA_OK);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT(memcmp(buf, "abc", 3) == 0);
	free(buf);

	/* Not through a symlink either, even a dangling one. */
	path_in(p, sizeof(p), "link");
	CU_ASSERT_EQUAL(symlink("nowhere", p), 0);
	CU_ASSERT_EQUAL(fileio_create(p, "a", 1, 0644), CA_ERR_EXISTS);
	CU_ASSERT_EQUAL(fileio_exists(p), 1);
	unlink(p);

	/* A failure leaves nothing behind. */
	before = count_entries(dir);
	path_in(p, sizeof(p), "no/such/dir/out.pem");
	CU_ASSERT_EQUAL(fileio_create(p, "a", 1, 0644), CA_ERR_IO);
	CU_ASSERT_EQUAL(count_entries(dir), before);
}

static void
test_replace(void)
{
	char p[512];
	uint8_t *buf = NULL;
	size_t len = 0, before;

	path_in(p, sizeof(p), "crlnumber");
	before = count_entries(dir);
	CU_ASSERT_EQUAL(fileio_replace(p, "1\n", 2, 0644), CA_OK);
	CU_ASSERT_EQUAL(fileio_replace(p, "22\n", 3, 0644), CA_OK);
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, p, 100), CA_OK);
	CU_ASSERT_STRING_EQUAL((char *)buf, "22\n");
	free(buf);
	/* Only the file itself: no temporary left over. */
	CU_ASSERT_EQUAL(count_entries(dir), before + 1);

	path_in(p, sizeof(p), "missing-dir/crlnumber");
	CU_ASSERT_NOT_EQUAL(fileio_replace(p, "1\n", 2, 0644), CA_OK);
}

static void
test_sha256(void)
{
	/* FIPS 180-2 test vector for "abc". */
	static const char abc[] =
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	uint8_t h[FILEIO_SHA256_LEN], h2[FILEIO_SHA256_LEN];
	char hex[FILEIO_SHA256_HEX], p[512];

	CU_ASSERT_EQUAL(fileio_sha256_buf(h, "abc", 3), CA_OK);
	CU_ASSERT_STRING_EQUAL(fileio_hex(hex, h, sizeof(h)), abc);

	path_in(p, sizeof(p), "abc");
	write_file(p, "abc");
	CU_ASSERT_EQUAL(fileio_sha256(h2, p), CA_OK);
	CU_ASSERT(memcmp(h, h2, sizeof(h)) == 0);

	path_in(p, sizeof(p), "nope");
	CU_ASSERT_EQUAL(fileio_sha256(h2, p), CA_ERR_NOT_FOUND);
}

static void
test_hex(void)
{
	const uint8_t in[] = { 0x00, 0x01, 0xab, 0xff };
	uint8_t back[4];
	char hex[9];

	CU_ASSERT_STRING_EQUAL(fileio_hex(hex, in, 4), "0001abff");
	CU_ASSERT_EQUAL(fileio_unhex(back, 4, "0001ABff"), 0);
	CU_ASSERT(memcmp(back, in, 4) == 0);
	CU_ASSERT_EQUAL(fileio_unhex(back, 4, "0001abf"), -1);
	CU_ASSERT_EQUAL(fileio_unhex(back, 4, "0001abfff"), -1);
	CU_ASSERT_EQUAL(fileio_unhex(back, 4, "0001abfg"), -1);
	CU_ASSERT_EQUAL(fileio_unhex(back, 0, ""), 0);
}

static void
test_read_fd(void)
{
	char p[512];
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd;

	path_in(p, sizeof(p), "fd.txt");
	write_file(p, "0123456789");
	fd = open(p, O_RDONLY);
	CU_ASSERT_FATAL(fd != -1);
	/* From the current offset, not from the start. */
	CU_ASSERT_EQUAL(lseek(fd, 4, SEEK_SET), 4);
	CU_ASSERT_EQUAL(fileio_read_fd(&buf, &len, fd, "fd.txt", 100), CA_OK);
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT_STRING_EQUAL((char *)buf, "456789");
	free(buf);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_SET), 0);
	CU_ASSERT_EQUAL(fileio_read_fd(&buf, &len, fd, "named-fd", 9),
	    CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "named-fd"));
	close(fd);
}

static void
test_write_exists(void)
{
	char p[512];
	uint8_t *buf = NULL, big[100000];
	size_t len = 0, i;
	int fd;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + (i >> 8));
	path_in(p, sizeof(p), "wa.bin");
	CU_ASSERT_EQUAL(fileio_exists(p), 0);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_EQUAL(fileio_write_all(fd, "wa.bin", big, sizeof(big)),
	    CA_OK);
	close(fd);
	CU_ASSERT_EQUAL(fileio_exists(p), 1);
	CU_ASSERT_EQUAL(fileio_exists(dir), 1);
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, p, sizeof(big)), CA_OK);
	CU_ASSERT_EQUAL(len, sizeof(big));
	CU_ASSERT(buf != NULL && memcmp(buf, big, sizeof(big)) == 0);
	free(buf);

	/* A closed descriptor is an I/O error that names the file. */
	CU_ASSERT_EQUAL(fileio_write_all(fd, "closed.bin", "x", 1), CA_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "closed.bin"));
	CU_ASSERT_EQUAL(fileio_sync_dir(p), CA_OK);
}

static void
test_replace_atomic(void)
{
	char p[512];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;
	char old[16];
	int fd;

	/*
	 * The new content arrives by rename: a reader that opened the old
	 * file keeps seeing the old bytes, never a mix or a truncated file.
	 */
	path_in(p, sizeof(p), "state");
	CU_ASSERT_EQUAL(fileio_replace(p, "old-content\n", 12, 0600), CA_OK);
	fd = open(p, O_RDONLY);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_EQUAL(fileio_replace(p, "new\n", 4, 0600), CA_OK);
	memset(old, 0, sizeof(old));
	CU_ASSERT_EQUAL(read(fd, old, sizeof(old) - 1), 12);
	CU_ASSERT_STRING_EQUAL(old, "old-content\n");
	close(fd);
	CU_ASSERT_EQUAL(fileio_read(&buf, &len, p, 100), CA_OK);
	CU_ASSERT_EQUAL(len, 4);
	CU_ASSERT_STRING_EQUAL((char *)buf, "new\n");
	free(buf);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);

	/* Replacing with nothing gives an empty file, not a missing one. */
	CU_ASSERT_EQUAL(fileio_replace(p, "", 0, 0600), CA_OK);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 0);
	unlink(p);
}

static void
test_sha256_vectors(void)
{
	/* FIPS 180-2 / NIST CAVP vectors. */
	static const char empty[] =
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	static const char two_blocks[] =
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
	static const char million_a[] =
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	static const char msg[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t h[FILEIO_SHA256_LEN];
	char hex[FILEIO_SHA256_HEX], p[512];
	char *a;
	FILE *f;

	CU_ASSERT_EQUAL(fileio_sha256_buf(h, "", 0), CA_OK);
	CU_ASSERT_STRING_EQUAL(fileio_hex(hex, h, sizeof(h)), empty);
	CU_ASSERT_EQUAL(fileio_sha256_buf(h, msg, strlen(msg)), CA_OK);
	CU_ASSERT_STRING_EQUAL(fileio_hex(hex, h, sizeof(h)), two_blocks);

	path_in(p, sizeof(p), "empty-hash");
	write_file(p, "");
	CU_ASSERT_EQUAL(fileio_sha256(h, p), CA_OK);
	CU_ASSERT_STRING_EQUAL(fileio_hex(hex, h, sizeof(h)), empty);

	/* One million "a": the file is hashed in several reads. */
	a = malloc(1000000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	memset(a, 'a', 1000000);
	path_in(p, sizeof(p), "million-a");
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(a, 1, 1000000, f), 1000000);
	fclose(f);
	CU_ASSERT_EQUAL(fileio_sha256(h, p), CA_OK);
	CU_ASSERT_STRING_EQUAL(fileio_hex(hex, h, sizeof(h)), million_a);
	CU_ASSERT_EQUAL(fileio_sha256_buf(h, a, 1000000), CA_OK);
	CU_ASSERT_STRING_EQUAL(fileio_hex(hex, h, sizeof(h)), million_a);
	free(a);
	unlink(p);
}

static void
test_hex_round_trip(void)
{
	static const char *const bad[] = { "0x", " 0", "0 ", "g0", "0G",
	    "+1", "-1", "\xc3\xa9", "0\n" };
	uint8_t all[256], back[256], one;
	char hex[2 * 256 + 1];
	size_t i;

	for (i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)i;
	fileio_hex(hex, all, sizeof(all));
	CU_ASSERT_EQUAL(strlen(hex), 512);
	CU_ASSERT_EQUAL(strncmp(hex, "000102", 6), 0);
	CU_ASSERT_STRING_EQUAL(hex + 506, "fdfeff");
	memset(back, 0, sizeof(back));
	CU_ASSERT_EQUAL(fileio_unhex(back, sizeof(back), hex), 0);
	CU_ASSERT(memcmp(all, back, sizeof(all)) == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(fileio_unhex(&one, 1, bad[i]), -1);
	CU_ASSERT_EQUAL(fileio_unhex(&one, 1, ""), -1);
	CU_ASSERT_EQUAL(fileio_unhex(&one, 1, "7F"), 0);
	CU_ASSERT_EQUAL(one, 0x7f);
	CU_ASSERT_STRING_EQUAL(fileio_hex(hex, all, 0), "");
}

static CU_TestInfo tests[] = {
	{ "read", test_read },
	{ "read_fd", test_read_fd },
	{ "create", test_create },
	{ "replace", test_replace },
	{ "replace_atomic", test_replace_atomic },
	{ "write_exists", test_write_exists },
	{ "sha256", test_sha256 },
	{ "sha256_vectors", test_sha256_vectors },
	{ "hex", test_hex },
	{ "hex_round_trip", test_hex_round_trip },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("fileio", setup, teardown, tests)
