/* SPDX-License-Identifier: ISC */
/*
 * ca_error: error names and the per-thread detail message that goes with a
 * failed call. See ca_error.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "common/ca_error.h"

#define CA_ERROR_DETAIL_MAX 1024

static __thread char detail[CA_ERROR_DETAIL_MAX];

static const char *const names[CA_ERR__MAX] = {
	[CA_OK] = "success",
	[CA_ERR_INTERNAL] = "internal error",
	[CA_ERR_NOMEM] = "out of memory",
	[CA_ERR_USAGE] = "usage error",
	[CA_ERR_CONFIG] = "configuration error",
	[CA_ERR_INVALID] = "invalid input",
	[CA_ERR_IO] = "input/output error",
	[CA_ERR_EXISTS] = "already exists",
	[CA_ERR_NOT_FOUND] = "not found",
	[CA_ERR_VERIFY] = "verification failed",
	[CA_ERR_POLICY] = "refused by policy",
	[CA_ERR_PIN] = "incorrect PIN",
	[CA_ERR_PIN_LOCKED] = "PIN locked",
	[CA_ERR_TOKEN_ABSENT] = "token not present",
	[CA_ERR_HSM] = "HSM failure",
	[CA_ERR_KEY_UNSAFE] = "key is not protected by the HSM",
	[CA_ERR_UNSUPPORTED] = "unsupported",
	[CA_ERR_DB] = "issuance log error",
	[CA_ERR_DENIED] = "request denied",
	[CA_ERR_EXPIRED] = "expired",
	[CA_ERR_CANCELLED] = "cancelled",
	[CA_ERR_REVOKED] = "revoked",
};

const char *
ca_strerror(int code)
{
	if (code < 0 || code >= CA_ERR__MAX || names[code] == NULL)
		return "unknown error";
	return names[code];
}

/*
 * detail_vset formats into a copy first, so that an argument may be the
 * detail itself (ca_error(rc, "%s (more)", ca_error_detail())).
 */
static void
detail_vset(const char *fmt, va_list ap)
{
	char tmp[sizeof(detail)];

	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	memcpy(detail, tmp, sizeof(detail));
}

int
ca_error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	detail_vset(fmt, ap);
	va_end(ap);
	return code;
}

int
ca_error_openssl(int code, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	size_t len;
	char reason[256];

	va_start(ap, fmt);
	detail_vset(fmt, ap);
	va_end(ap);

	/* The newest error is the most specific one. */
	e = ERR_peek_last_error();
	if (e != 0) {
		ERR_error_string_n(e, reason, sizeof(reason));
		len = strlen(detail);
		snprintf(detail + len, sizeof(detail) - len, ": %s", reason);
	}
	ERR_clear_error();
	return code;
}

const char *
ca_error_detail(void)
{
	return detail;
}

void
ca_error_clear(void)
{
	detail[0] = '\0';
}
