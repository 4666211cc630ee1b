/* SPDX-License-Identifier: ISC */
/*
 * pin_prompt: "pin_source = prompt", the ceremony file's default. The PIN is
 * read from the terminal (/dev/tty) with echo off, one byte at a time,
 * straight into sodium_malloc'd memory (guard pages, mlock'd), and that
 * buffer is handed to the hsm layer as it is (hsm_pin_take): no copy of the
 * PIN is made outside locked memory, and hsm_pin_destroy wipes it when the
 * run ends.
 *
 * A PIN is never read from standard input: that is where scripted runs
 * answer "yes", and a PIN must not be typed where it could be echoed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "hsm/hsm.h"
#include "root-ceremony/pin_prompt.h"

#define PIN_PROMPT_MAX	256

int
pin_prompt(struct hsm_pin **out, const char *token)
{
	struct termios old, quiet;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	char ch;
	int tty = -1, restored = 1, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1) {
		rc = ca_error(CA_ERR_UNSUPPORTED, "pin_source prompt: no "
		    "terminal to ask on (%s); use file:PATH or env:NAME",
		    strerror(errno));
		goto out;
	}
	if (sodium_init() < 0 ||
	    (buf = sodium_malloc(PIN_PROMPT_MAX + 1)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "PIN: cannot allocate secure memory");
		goto out;
	}
	if (tcgetattr(tty, &old) == -1) {
		rc = ca_error(CA_ERR_IO, "/dev/tty: %s", strerror(errno));
		goto out;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	dprintf(tty, "User PIN of token \"%s\" (not echoed): ", token);
	if (tcsetattr(tty, TCSAFLUSH, &quiet) == -1) {
		rc = ca_error(CA_ERR_IO, "/dev/tty: %s", strerror(errno));
		goto out;
	}
	restored = 0;
	for (;;) {
		r = read(tty, &ch, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		if (n == PIN_PROMPT_MAX) {
			rc = ca_error(CA_ERR_INVALID, "PIN: longer than %d "
			    "bytes", PIN_PROMPT_MAX);
			goto out;
		}
		buf[n++] = ch;
	}
	ch = 0;
	(void)tcsetattr(tty, TCSAFLUSH, &old);
	restored = 1;
	dprintf(tty, "\n");
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		rc = ca_error(CA_ERR_CANCELLED, "no PIN was typed");
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL) {
		rc = ca_error(CA_ERR_INVALID, "PIN: contains a NUL byte");
		goto out;
	}
	buf[n] = '\0';
	/* hsm_pin_take owns buf from here on, even when it fails. */
	rc = hsm_pin_take(out, buf);
	buf = NULL;
 out:
	if (!restored)
		(void)tcsetattr(tty, TCSAFLUSH, &old);
	if (buf != NULL)
		sodium_free(buf);
	if (tty != -1)
		close(tty);
	return rc;
}
