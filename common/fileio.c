/* SPDX-License-Identifier: ISC */
/*
 * fileio: the few ways carapace touches files. Inputs are read whole with
 * a cap, so a hostile or mistaken path (a device, a huge file) cannot
 * exhaust memory. Outputs are created exclusively and made durable (file
 * and directory fsync'd) and removed again if anything fails, so a refused
 * or failed step never leaves a half-written certificate behind. State
 * files such as a CRL number are replaced atomically by rename. SHA-256 and
 * hex are here because every transcript record needs them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/ca_error.h"
#include "common/fileio.h"

int
fileio_read_fd(uint8_t **out, size_t *out_len, int fd, const char *name,
    size_t max)
{
	struct stat st;
	uint8_t *buf = NULL, *nbuf;
	size_t len = 0, cap;
	ssize_t n;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	*out_len = 0;
	if (fstat(fd, &st) == -1) {
		rc = ca_error(CA_ERR_IO, "%s: %s", name, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = ca_error(CA_ERR_INVALID, "%s: is a directory", name);
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
		rc = ca_error(CA_ERR_INVALID,
		    "%s: %jd bytes is larger than the limit of %zu bytes",
		    name, (intmax_t)st.st_size, max);
		goto out;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	if ((buf = malloc(cap)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", name);
		goto out;
	}
	for (;;) {
		if (len == cap) {
			/* Grown past the expected size (a pipe, a growing file). */
			if (cap > max) {
				rc = ca_error(CA_ERR_INVALID,
				    "%s: larger than the limit of %zu bytes",
				    name, max);
				goto out;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				rc = ca_error(CA_ERR_NOMEM, "%s: out of memory",
				    name);
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = ca_error(CA_ERR_IO, "%s: read: %s", name,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		rc = ca_error(CA_ERR_INVALID,
		    "%s: larger than the limit of %zu bytes", name, max);
		goto out;
	}
	if (len == cap) {
		if ((nbuf = realloc(buf, len + 1)) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", name);
			goto out;
		}
		buf = nbuf;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
	rc = CA_OK;
 out:
	free(buf);
	return rc;
}

int
fileio_read(uint8_t **out, size_t *out_len, const char *path, size_t max)
{
	int fd, rc;

	*out = NULL;
	*out_len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			return ca_error(CA_ERR_NOT_FOUND, "%s: no such file",
			    path);
		return ca_error(CA_ERR_IO, "%s: %s", path, strerror(errno));
	}
	rc = fileio_read_fd(out, out_len, fd, path, max);
	close(fd);
	return rc;
}

int
fileio_exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	return -1;
}

int
fileio_write_all(int fd, const char *name, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return ca_error(CA_ERR_IO, "%s: write: %s", name,
			    strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return CA_OK;
}

/* dir_of copies the directory part of path ("." when there is none). */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	if ((d = malloc((size_t)(slash - path) + 1)) == NULL)
		return NULL;
	memcpy(d, path, (size_t)(slash - path));
	d[slash - path] = '\0';
	return d;
}

int
fileio_sync_dir(const char *path)
{
	char *dir = NULL;
	int fd = -1, rc = CA_ERR_INTERNAL;

	if ((dir = dir_of(path)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		rc = ca_error(CA_ERR_IO, "%s: open directory: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (fsync(fd) == -1 && errno != EINVAL) {
		rc = ca_error(CA_ERR_IO, "%s: fsync directory: %s", dir,
		    strerror(errno));
		goto out;
	}
	rc = CA_OK;
 out:
	if (fd != -1)
		close(fd);
	free(dir);
	return rc;
}

/*
 * write_sync_close writes buf to *fdp, fsyncs and closes it; *fdp is -1
 * afterwards whenever the descriptor was closed (by success or by a failed
 * close), so the caller's cleanup closes it only when it is still open.
 */
static int
write_sync_close(int *fdp, const char *name, const void *buf, size_t len)
{
	int rc, fd = *fdp;

	if ((rc = fileio_write_all(fd, name, buf, len)) != CA_OK)
		return rc;
	if (fsync(fd) == -1)
		return ca_error(CA_ERR_IO, "%s: fsync: %s", name,
		    strerror(errno));
	*fdp = -1;
	if (close(fd) == -1)
		return ca_error(CA_ERR_IO, "%s: close: %s", name,
		    strerror(errno));
	return CA_OK;
}

int
fileio_create(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = -1, created = 0, rc = CA_ERR_INTERNAL;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, mode);
	if (fd == -1) {
		if (errno == EEXIST)
			rc = ca_error(CA_ERR_EXISTS,
			    "%s: already exists; refusing to overwrite it",
			    path);
		else
			rc = ca_error(CA_ERR_IO, "%s: create: %s", path,
			    strerror(errno));
		goto out;
	}
	created = 1;
	if ((rc = write_sync_close(&fd, path, buf, len)) != CA_OK)
		goto out;
	if ((rc = fileio_sync_dir(path)) != CA_OK)
		goto out;
	rc = CA_OK;
 out:
	if (fd != -1)
		close(fd);
	if (rc != CA_OK && created)
		unlink(path);
	return rc;
}

/*
 * replace is fileio_replace; with exact set, the new file gets exactly mode
 * (whatever the umask) and, unless group is -1, that group, before it is
 * written and renamed into place.
 */
static int
replace(const char *path, const void *buf, size_t len, mode_t mode, int exact,
    gid_t group)
{
	char *tmp = NULL;
	uint8_t rnd[8];
	char rhex[sizeof(rnd) * 2 + 1];
	size_t tlen;
	int fd = -1, created = 0, rc = CA_ERR_INTERNAL;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: random name", path);
		goto out;
	}
	fileio_hex(rhex, rnd, sizeof(rnd));
	tlen = strlen(path) + sizeof(rhex) + 8;
	if ((tmp = malloc(tlen)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	snprintf(tmp, tlen, "%s.tmp-%s", path, rhex);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, mode);
	if (fd == -1) {
		rc = ca_error(CA_ERR_IO, "%s: create: %s", tmp,
		    strerror(errno));
		goto out;
	}
	created = 1;
	if (exact && ((group != (gid_t)-1 &&
	    fchown(fd, (uid_t)-1, group) != 0) || fchmod(fd, mode) != 0)) {
		rc = ca_error(CA_ERR_IO, "%s: set mode %04o: %s", tmp,
		    (unsigned)mode, strerror(errno));
		goto out;
	}
	if ((rc = write_sync_close(&fd, tmp, buf, len)) != CA_OK)
		goto out;
	if (rename(tmp, path) == -1) {
		rc = ca_error(CA_ERR_IO, "%s: rename to %s: %s", tmp, path,
		    strerror(errno));
		goto out;
	}
	created = 0;
	if ((rc = fileio_sync_dir(path)) != CA_OK)
		goto out;
	rc = CA_OK;
 out:
	if (fd != -1)
		close(fd);
	if (created)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
fileio_replace(const char *path, const void *buf, size_t len, mode_t mode)
{
	return replace(path, buf, len, mode, 0, (gid_t)-1);
}

int
fileio_replace_group(const char *path, const void *buf, size_t len,
    mode_t mode, gid_t group)
{
	return replace(path, buf, len, mode, 1, group);
}

int
fileio_sha256(uint8_t out[FILEIO_SHA256_LEN], const char *path)
{
	EVP_MD_CTX *md = NULL;
	uint8_t buf[16384];
	ssize_t n;
	int fd = -1, rc = CA_ERR_INTERNAL;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			rc = ca_error(CA_ERR_NOT_FOUND, "%s: no such file",
			    path);
		else
			rc = ca_error(CA_ERR_IO, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: SHA-256", path);
		goto out;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = ca_error(CA_ERR_IO, "%s: read: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: SHA-256",
			    path);
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(md, out, NULL) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: SHA-256", path);
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_MD_CTX_free(md);
	if (fd != -1)
		close(fd);
	return rc;
}

int
fileio_sha256_buf(uint8_t out[FILEIO_SHA256_LEN], const void *buf, size_t len)
{
	unsigned int n = 0;

	if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != FILEIO_SHA256_LEN)
		return ca_error_openssl(CA_ERR_INTERNAL, "SHA-256");
	return CA_OK;
}

char *
fileio_hex(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return out;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
fileio_unhex(uint8_t *out, size_t out_len, const char *in)
{
	size_t i;
	int hi, lo;

	if (strlen(in) != 2 * out_len)
		return -1;
	for (i = 0; i < out_len; i++) {
		if ((hi = hexval((unsigned char)in[2 * i])) < 0 ||
		    (lo = hexval((unsigned char)in[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
