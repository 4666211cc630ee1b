/* SPDX-License-Identifier: ISC */
/*
 * ca_error: the one error enum shared by hsm/ and common/.
 *
 * Library code never prints and never exits. A function that fails returns
 * one of these codes and, through ca_error(), records a detail message that
 * names the object and the rule that was broken, for example
 *   "node7.csr: RFC 2986: CSR signature does not verify".
 * Programs turn the pair into a message and an exit status. The detail is
 * per thread and is overwritten by the next failure.
 */
#ifndef CA_ERROR_H
#define CA_ERROR_H

enum ca_err {
	CA_OK = 0,
	CA_ERR_INTERNAL,	/* a bug or an unexpected library failure */
	CA_ERR_NOMEM,		/* out of memory */
	CA_ERR_USAGE,		/* the caller passed arguments that make no sense */
	CA_ERR_CONFIG,		/* configuration missing, misspelled or invalid */
	CA_ERR_INVALID,		/* input that breaks a rule (bad CSR, bad URI, ...) */
	CA_ERR_IO,		/* a file could not be read or written */
	CA_ERR_EXISTS,		/* refusing to overwrite or duplicate something */
	CA_ERR_NOT_FOUND,	/* no such key, token, record or file */
	CA_ERR_VERIFY,		/* a signature, hash or chain did not verify */
	CA_ERR_POLICY,		/* allowed by the standards, refused by policy */
	CA_ERR_PIN,		/* wrong PIN: never retried automatically */
	CA_ERR_PIN_LOCKED,	/* the token locked the PIN */
	CA_ERR_TOKEN_ABSENT,	/* the token is not present or went away */
	CA_ERR_HSM,		/* the PKCS#11 module failed */
	CA_ERR_KEY_UNSAFE,	/* key is extractable or was ever non-sensitive */
	CA_ERR_UNSUPPORTED,	/* a key type, algorithm or feature we do not do */
	CA_ERR_DB,		/* the issuance log failed */
	CA_ERR_DENIED,		/* the request was refused (attestation, policy) */
	CA_ERR_EXPIRED,		/* something is past its validity */
	CA_ERR_CANCELLED,	/* the officer declined to go on */
	CA_ERR_REVOKED,		/* a certificate the request relies on is revoked */
	CA_ERR__MAX
};

/*
 * ca_strerror returns a static, human-readable name for an error code.
 */
const char *ca_strerror(int code);

/*
 * ca_error records a printf-style detail message for the calling thread and
 * returns code, so that a failure can be reported in one statement:
 *   return ca_error(CA_ERR_INVALID, "%s: RFC 7512: empty path", uri);
 * An argument may be ca_error_detail() itself, to add to the message.
 */
int ca_error(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * ca_error_openssl is ca_error with the reason of the newest OpenSSL error
 * appended (": <reason>"); it clears OpenSSL's error queue.
 */
int ca_error_openssl(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * ca_error_detail returns the calling thread's last detail message, or the
 * empty string. The pointer stays valid until the next ca_error* call.
 */
const char *ca_error_detail(void);

/* ca_error_clear empties the calling thread's detail message. */
void ca_error_clear(void);

#endif /* CA_ERROR_H */
