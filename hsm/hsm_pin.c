/* SPDX-License-Identifier: ISC */
/*
 * hsm_pin: reading a token PIN from where the configuration says it is,
 * "file:/path" (the first line of a file that is not world-readable) or
 * "env:NAME", never from argv. An environment variable is wiped and
 * removed once read, so no child process inherits it. The PIN lives in sodium_malloc'd memory
 * (guard pages, mlock'd, excluded from core dumps where the kernel allows)
 * and is wiped by hsm_pin_free. Interactive prompting belongs to the
 * program (the ceremony), not to this library: a program that asks for the
 * PIN itself reads it into sodium_malloc'd memory and hands that buffer
 * over with hsm_pin_take, so the PIN never leaves locked memory.
 *
 * struct hsm_pin is that hand-over object; the *_pin functions of hsm.h
 * take one, and the source-string functions build one with
 * hsm_pin_from_source and call them (one login path).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/secure.h"
#include "hsm/hsm_int.h"

struct hsm_pin {
	char *buf;	/* sodium_malloc'd, NUL-terminated */
	size_t len;
};

void
hsm_pin_free(char *pin)
{
	if (pin == NULL)
		return;
	sodium_free(pin);	/* wipes before it frees */
}

/* pin_new copies s[0..n) into new sodium memory. */
static int
pin_new(char **out, const char *s, size_t n, const char *what)
{
	char *pin;
	size_t i;

	*out = NULL;
	if (n == 0)
		return ca_error(CA_ERR_CONFIG, "PIN source %s: empty PIN",
		    what);
	if (n > HSM_PIN_MAX)
		return ca_error(CA_ERR_CONFIG, "PIN source %s: PIN longer than "
		    "%d bytes", what, HSM_PIN_MAX);
	for (i = 0; i < n; i++)
		if (s[i] == '\0')
			return ca_error(CA_ERR_CONFIG, "PIN source %s: PIN "
			    "contains a NUL byte", what);
	if (sodium_init() < 0 || (pin = sodium_malloc(n + 1)) == NULL)
		return ca_error(CA_ERR_NOMEM, "PIN source %s: cannot allocate "
		    "secure memory", what);
	memcpy(pin, s, n);
	pin[n] = '\0';
	*out = pin;
	return CA_OK;
}

static int
pin_from_file(char **out, const char *path)
{
	char *buf = NULL;
	struct stat st;
	size_t n = 0, cap = HSM_PIN_MAX + 2;
	ssize_t r;
	int fd = -1, rc = CA_ERR_INTERNAL;

	if (*path == '\0')
		return ca_error(CA_ERR_CONFIG, "PIN source file: no path");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		rc = ca_error(errno == ENOENT ? CA_ERR_NOT_FOUND : CA_ERR_IO,
		    "PIN file %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		rc = ca_error(CA_ERR_CONFIG, "PIN file %s: not a regular file",
		    path);
		goto out;
	}
	if (st.st_mode & S_IROTH) {
		rc = ca_error(CA_ERR_CONFIG, "PIN file %s: readable by every "
		    "user (mode %03o); make it 0600 or 0400", path,
		    (unsigned int)(st.st_mode & 0777));
		goto out;
	}
	if (sodium_init() < 0 || (buf = sodium_malloc(cap)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "PIN file %s: cannot allocate "
		    "secure memory", path);
		goto out;
	}
	while (n < cap) {
		r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			rc = ca_error(CA_ERR_IO, "PIN file %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (memchr(buf, '\n', n) != NULL)
			break;
	}
	{
		char *nl = memchr(buf, '\n', n);

		if (nl != NULL)
			n = (size_t)(nl - buf);
		else if (n == cap) {
			rc = ca_error(CA_ERR_CONFIG, "PIN file %s: first line "
			    "longer than %d bytes", path, HSM_PIN_MAX);
			goto out;
		}
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	rc = pin_new(out, buf, n, path);
 out:
	if (buf != NULL)
		sodium_free(buf);
	if (fd != -1)
		close(fd);
	return rc;
}

int
hsm_pin_read(char **out, const char *source)
{
	const char *v;
	int rc;

	*out = NULL;
	if (source == NULL || *source == '\0')
		return ca_error(CA_ERR_CONFIG, "PIN source: none given (use "
		    "file:/path or env:NAME)");
	if (strncmp(source, "file:", 5) == 0)
		return pin_from_file(out, source + 5);
	if (strncmp(source, "env:", 4) == 0) {
		if (source[4] == '\0')
			return ca_error(CA_ERR_CONFIG, "PIN source env: no "
			    "variable name");
		if ((v = getenv(source + 4)) == NULL)
			return ca_error(CA_ERR_NOT_FOUND, "PIN source %s: the "
			    "variable is not set (it is removed once read)",
			    source);
		rc = pin_new(out, v, strlen(v), source);
		/* Read once: not for children, not in a core dump. */
		secure_env_forget(source + 4);
		return rc;
	}
	if (source[0] == '/')
		return pin_from_file(out, source);
	if (strcmp(source, "prompt") == 0)
		return ca_error(CA_ERR_UNSUPPORTED, "PIN source prompt: the "
		    "library does not prompt; the program asks for the PIN");
	/* Not echoed: a mistaken source may be the PIN itself. */
	return ca_error(CA_ERR_CONFIG, "PIN source: unknown kind (use "
	    "file:/path or env:NAME)");
}

int
hsm_pin_take(struct hsm_pin **out, char *buf)
{
	struct hsm_pin *p;
	size_t n;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (buf == NULL)
		return ca_error(CA_ERR_USAGE, "hsm_pin_take: no buffer");
	n = strnlen(buf, HSM_PIN_MAX + 1);
	if (n == 0) {
		rc = ca_error(CA_ERR_CONFIG, "PIN: empty PIN");
		goto out;
	}
	if (n > HSM_PIN_MAX) {
		rc = ca_error(CA_ERR_CONFIG, "PIN: longer than %d bytes",
		    HSM_PIN_MAX);
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "hsm: out of memory");
		goto out;
	}
	p->buf = buf;
	p->len = n;
	buf = NULL;
	*out = p;
	rc = CA_OK;
 out:
	if (buf != NULL)
		sodium_free(buf);
	return rc;
}

int
hsm_pin_from_source(struct hsm_pin **out, const char *source)
{
	char *buf;
	int rc;

	*out = NULL;
	if ((rc = hsm_pin_read(&buf, source)) != CA_OK)
		return rc;
	return hsm_pin_take(out, buf);
}

void
hsm_pin_destroy(struct hsm_pin *p)
{
	if (p == NULL)
		return;
	sodium_free(p->buf);	/* wipes before it frees */
	free(p);
}

int
hsm_pin_copy(char **out, const struct hsm_pin *pin, const char *uri_source)
{
	*out = NULL;
	if (pin != NULL)
		return pin_new(out, pin->buf, pin->len, "given");
	if (uri_source != NULL)
		return hsm_pin_read(out, uri_source);
	return CA_OK;
}
