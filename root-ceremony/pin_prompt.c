/* SPDX-License-Identifier: ISC */
/*
 * pin_prompt: "pin_source = prompt", the ceremony file's default. The PIN is
 * read from the terminal (/dev/tty) with echo off into sodium_malloc'd
 * memory, then handed to the hsm layer, which only reads PINs from a file
 * or the environment, as an anonymous memory file (memfd, mode 0600, never
 * linked into any directory, closed on exec) named /proc/self/fd/N. The
 * terminal buffer is wiped at once; the memfd lives until the run ends and
 * is truncated then.
 *
 * A PIN is never read from standard input: that is where scripted runs
 * answer "yes", and a PIN must not be typed where it could be echoed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "root-ceremony/pin_prompt.h"

#define PIN_PROMPT_MAX	256

int
pin_prompt(int *fd_out, const char *token)
{
	struct termios old, quiet;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	char ch;
	int tty = -1, fd = -1, restored = 1, rc = CA_ERR_INTERNAL;

	*fd_out = -1;
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
	if ((fd = memfd_create("carapace-pin", MFD_CLOEXEC)) == -1 ||
	    fchmod(fd, 0600) == -1) {
		rc = ca_error(CA_ERR_IO, "PIN: memfd: %s", strerror(errno));
		goto out;
	}
	buf[n++] = '\n';
	if ((rc = fileio_write_all(fd, "PIN memfd", buf, n)) != CA_OK)
		goto out;
	*fd_out = fd;
	fd = -1;
	rc = CA_OK;
 out:
	if (!restored)
		(void)tcsetattr(tty, TCSAFLUSH, &old);
	if (buf != NULL)
		sodium_free(buf);
	if (fd != -1)
		pin_prompt_close(fd);
	if (tty != -1)
		close(tty);
	return rc;
}

void
pin_prompt_close(int fd)
{
	if (fd == -1)
		return;
	/* Empty the file first: a failure leaves nothing else to do. */
	if (ftruncate(fd, 0) == -1) {
		/* Nothing more to do: close() drops the pages anyway. */
	}
	close(fd);
}
