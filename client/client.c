/* SPDX-License-Identifier: ISC */
/*
 * client: one REQ/REP exchange with carapace-issuer (docs/protocol.md), and
 * the helpers the carapace subcommands share. The socket caps what it
 * receives at PROTOCOL_MAX_MESSAGE, waits for an answer no longer than the
 * configured timeout and never resends a request within that time (a join
 * token request is not idempotent). A tls+tcp:// server must present a
 * certificate that chains to the configured CA and names the URL's host.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ui.h>

#include "common/ca_config.h"
#include "common/ca_error.h"
#include "common/fileio.h"
#include "protocol/protocol.h"
#include "client/client.h"

/* Longest timeout accepted, so that milliseconds fit an nng_duration. */
#define CLIENT_MAX_TIMEOUT	86400

struct client {
	nng_socket sock;
	int open;
	nng_dialer dialer;
	nng_tls_config *tls;
	char *url;
	int timeout;
};

void
client_close(struct client *c)
{
	if (c == NULL)
		return;
	if (c->open)
		nng_close(c->sock);
	if (c->tls != NULL)
		nng_tls_config_free(c->tls);
	free(c->url);
	free(c);
}

/* TLS client configuration: verify the server against ca_file and host. */
static int
client_tls_setup(struct client *c, const char *ca_file)
{
	nng_url *u = NULL;
	int rv, rc = CA_ERR_INTERNAL;

	if (ca_file == NULL) {
		rc = ca_error(CA_ERR_USAGE, "%s: a tls+tcp:// server needs "
		    "--ca FILE, the CA certificate that signed it", c->url);
		goto out;
	}
	if ((rv = nng_url_parse(&u, c->url)) != 0) {
		rc = ca_error(CA_ERR_USAGE, "%s: not a valid URL: %s", c->url,
		    nng_strerror(rv));
		goto out;
	}
	if ((rv = nng_tls_config_alloc(&c->tls, NNG_TLS_MODE_CLIENT)) != 0 ||
	    (rv = nng_tls_config_auth_mode(c->tls,
	    NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
	    (rv = nng_tls_config_server_name(c->tls, u->u_hostname)) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: TLS setup: %s", c->url,
		    nng_strerror(rv));
		goto out;
	}
	if ((rv = nng_tls_config_ca_file(c->tls, ca_file)) != 0) {
		rc = ca_error(CA_ERR_IO, "%s: cannot load the CA: %s", ca_file,
		    nng_strerror(rv));
		goto out;
	}
	if ((rv = nng_dialer_set_ptr(c->dialer, NNG_OPT_TLS_CONFIG,
	    c->tls)) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: TLS setup: %s", c->url,
		    nng_strerror(rv));
		goto out;
	}
	rc = CA_OK;
 out:
	if (u != NULL)
		nng_url_free(u);
	return rc;
}

int
client_open(struct client **out, const struct client_conf *conf)
{
	struct client *c = NULL;
	nng_duration ms;
	int rv, tls, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (conf->url == NULL || conf->url[0] == '\0')
		return ca_error(CA_ERR_USAGE, "no server URL given");
	tls = strncmp(conf->url, "tls+tcp://", 10) == 0;
	if (!tls && strncmp(conf->url, "tcp://", 6) != 0 &&
	    strncmp(conf->url, "ipc://", 6) != 0)
		return ca_error(CA_ERR_USAGE, "%s: the URL must start with "
		    "tls+tcp://, tcp:// or ipc://", conf->url);
	if (conf->timeout < 1 || conf->timeout > CLIENT_MAX_TIMEOUT)
		return ca_error(CA_ERR_USAGE, "timeout of %d s: must be 1 to "
		    "%d seconds", conf->timeout, CLIENT_MAX_TIMEOUT);
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->url = strdup(conf->url)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	c->timeout = conf->timeout;
	ms = (nng_duration)conf->timeout * 1000;
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "cannot open a REQ socket: %s",
		    nng_strerror(rv));
		goto out;
	}
	c->open = 1;
	/* Resend only after we have given up waiting: never twice. */
	if ((rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ,
	    PROTOCOL_MAX_MESSAGE)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, ms)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, ms)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
	    ms + 60000)) != 0) {
		rc = ca_error(CA_ERR_INTERNAL, "cannot set socket options: %s",
		    nng_strerror(rv));
		goto out;
	}
	if ((rv = nng_dialer_create(&c->dialer, c->sock, c->url)) != 0) {
		rc = ca_error(rv == NNG_EINVAL || rv == NNG_EADDRINVAL ||
		    rv == NNG_ENOTSUP ? CA_ERR_USAGE : CA_ERR_INTERNAL,
		    "%s: %s", c->url, nng_strerror(rv));
		goto out;
	}
	if ((rv = nng_dialer_set_size(c->dialer, NNG_OPT_RECVMAXSZ,
	    PROTOCOL_MAX_MESSAGE)) != 0 && rv != NNG_ENOTSUP) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: %s", c->url,
		    nng_strerror(rv));
		goto out;
	}
	if (tls && (rc = client_tls_setup(c, conf->ca_file)) != CA_OK)
		goto out;
	/* Dial now, so that a server that is not there is told at once. */
	if ((rv = nng_dialer_start(c->dialer, 0)) != 0) {
		if (tls && (rv == NNG_ECRYPTO || rv == NNG_EPEERAUTH))
			rc = ca_error(CA_ERR_VERIFY, "%s: TLS handshake "
			    "failed (%s): the server's certificate does not "
			    "chain to %s or does not name the URL's host; "
			    "check --ca and the URL", c->url,
			    nng_strerror(rv), conf->ca_file);
		else
			rc = ca_error(CA_ERR_IO, "cannot connect to %s: %s",
			    c->url, nng_strerror(rv));
		goto out;
	}
	*out = c;
	c = NULL;
	rc = CA_OK;
 out:
	client_close(c);
	return rc;
}

int
client_call(struct client *c, PROTO_RESPONSE **out, const PROTO_REQUEST *req)
{
	enum protocol_status st;
	uint8_t *der = NULL;
	void *ans = NULL;
	size_t der_len = 0, ans_len = 0;
	int rv, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((rc = protocol_request_encode(&der, &der_len, req)) != CA_OK)
		goto out;
	if ((rv = nng_send(c->sock, der, der_len, 0)) != 0) {
		rc = rv == NNG_ETIMEDOUT ?
		    ca_error(CA_ERR_IO, "no answer from %s within %d s",
		    c->url, c->timeout) :
		    ca_error(CA_ERR_IO, "cannot send to %s: %s", c->url,
		    nng_strerror(rv));
		goto out;
	}
	if ((rv = nng_recv(c->sock, &ans, &ans_len, NNG_FLAG_ALLOC)) != 0) {
		rc = rv == NNG_ETIMEDOUT ?
		    ca_error(CA_ERR_IO, "no answer from %s within %d s",
		    c->url, c->timeout) :
		    ca_error(CA_ERR_IO, "no answer from %s: %s", c->url,
		    nng_strerror(rv));
		goto out;
	}
	if ((rc = protocol_response_decode(out, &st, ans, ans_len)) !=
	    CA_OK) {
		char why[512];

		snprintf(why, sizeof(why), "%s", ca_error_detail());
		rc = ca_error(CA_ERR_INVALID, "%s: the answer does not "
		    "decode: %s", c->url, why);
	}
 out:
	OPENSSL_free(der);
	if (ans != NULL)
		nng_free(ans, ans_len);
	return rc;
}

int
client_status_exit(long status)
{
	switch (status) {
	case PROTOCOL_OK:
		return CLIENT_EXIT_OK;
	case PROTOCOL_HSM_UNAVAILABLE:
	case PROTOCOL_LOG_UNAVAILABLE:
	case PROTOCOL_BUSY:
		return CLIENT_EXIT_UNAVAILABLE;
	default:
		return CLIENT_EXIT_FAILED;
	}
}

int
client_connect(struct client **out, const struct client_conf *conf)
{
	int rc;

	if ((rc = client_open(out, conf)) == CA_OK)
		return CLIENT_EXIT_OK;
	fprintf(stderr, "carapace: %s\n", ca_error_detail());
	if (rc == CA_ERR_IO) {
		fprintf(stderr, "carapace: check that carapace-issuer is "
		    "running and listening on %s, then try again\n",
		    conf->url);
		return CLIENT_EXIT_UNAVAILABLE;
	}
	return rc == CA_ERR_USAGE ? CLIENT_EXIT_USAGE : CLIENT_EXIT_FAILED;
}

int
client_roundtrip(struct client *c, PROTO_RESPONSE **out,
    const PROTO_REQUEST *req, int want_body)
{
	PROTO_RESPONSE *resp = NULL;
	const char *msg = "";
	long status;
	int rc, ret = CLIENT_EXIT_FAILED;

	*out = NULL;
	if ((rc = client_call(c, &resp, req)) != CA_OK) {
		fprintf(stderr, "carapace: %s\n", ca_error_detail());
		if (rc == CA_ERR_IO) {
			fprintf(stderr, "carapace: check that carapace-issuer "
			    "is running and listening on %s, then try "
			    "again\n", c->url);
			ret = CLIENT_EXIT_UNAVAILABLE;
		}
		goto out;
	}
	status = protocol_response_status(resp);
	if (resp->message != NULL && ASN1_STRING_length(resp->message) > 0)
		msg = (const char *)ASN1_STRING_get0_data(resp->message);
	if (status != PROTOCOL_OK) {
		fprintf(stderr, "carapace: %s: %s\n",
		    protocol_status_name(status),
		    msg[0] != '\0' ? msg : "(no message)");
		fprintf(stderr, "carapace: what to do: %s\n",
		    protocol_status_hint(status));
		ret = client_status_exit(status);
		goto out;
	}
	if (want_body >= 0 && (resp->body == NULL ||
	    resp->body->type != want_body)) {
		fprintf(stderr, "carapace: %s: the server answered ok without "
		    "the expected result\n", c->url);
		goto out;
	}
	*out = resp;
	resp = NULL;
	ret = CLIENT_EXIT_OK;
 out:
	PROTO_RESPONSE_free(resp);
	return ret;
}

int
client_exchange(PROTO_RESPONSE **out, const struct client_conf *conf,
    const PROTO_REQUEST *req, int want_body)
{
	struct client *c = NULL;
	int ret;

	*out = NULL;
	if ((ret = client_connect(&c, conf)) == CLIENT_EXIT_OK)
		ret = client_roundtrip(c, out, req, want_body);
	client_close(c);
	return ret;
}

/* --- helpers --- */

int
client_duration_parse(long long *out, const char *s)
{
	int64_t v;

	*out = 0;
	if (s == NULL || config_duration_parse(&v, s, 1,
	    PROTOCOL_MAX_LIFETIME, "duration") != CA_OK)
		return -1;
	*out = v;
	return 0;
}

int
client_serial_parse(ASN1_INTEGER **out, const char *s)
{
	BIGNUM *bn = NULL;
	char buf[2 * PROTOCOL_MAX_SERIAL + 1];
	size_t i, n = 0;
	int rc = CA_ERR_INVALID;

	*out = NULL;
	if (strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0)
		s += 2;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == ':')
			continue;
		if (!isxdigit((unsigned char)s[i]) || n + 1 >= sizeof(buf)) {
			rc = ca_error(CA_ERR_INVALID, "serial %s: give the "
			    "serial in hex, at most %d octets (RFC 5280 "
			    "4.1.2.2)", s, PROTOCOL_MAX_SERIAL);
			goto out;
		}
		buf[n++] = s[i];
	}
	buf[n] = '\0';
	if (n == 0 || BN_hex2bn(&bn, buf) == 0 || BN_is_zero(bn)) {
		rc = ca_error(CA_ERR_INVALID, "serial %s: must be a positive "
		    "hex number", s);
		goto out;
	}
	if ((*out = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = CA_OK;
 out:
	BN_free(bn);
	return rc;
}

char *
client_serial_hex(const ASN1_INTEGER *a)
{
	BIGNUM *bn;
	char *h, *ret = NULL;

	if (a == NULL || (bn = ASN1_INTEGER_to_BN(a, NULL)) == NULL)
		return strdup("?");
	if ((h = BN_bn2hex(bn)) != NULL) {
		ret = strdup(h);
		OPENSSL_free(h);
	}
	BN_free(bn);
	return ret;
}

const char *
client_time_str(char buf[32], const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm) ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "-");
	return buf;
}

int
client_certs_read(STACK_OF(X509) **out, const char *path)
{
	STACK_OF(X509) *sk = NULL;
	BIO *b = NULL;
	X509 *x = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((sk = sk_X509_new_null()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((b = BIO_new_file(path, "r")) == NULL) {
		rc = ca_error_openssl(CA_ERR_IO, "%s: cannot open", path);
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(sk) >= PROTOCOL_MAX_CHAIN) {
			rc = ca_error(CA_ERR_INVALID, "%s: more than %d "
			    "certificates", path, PROTOCOL_MAX_CHAIN);
			goto out;
		}
		if (!sk_X509_push(sk, x)) {
			rc = ca_error(CA_ERR_NOMEM, "out of memory");
			goto out;
		}
		x = NULL;
	}
	/* The loop ends on "no start line" at the end of the file. */
	ERR_clear_error();
	if (sk_X509_num(sk) == 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: no PEM certificate in it",
		    path);
		goto out;
	}
	*out = sk;
	sk = NULL;
	rc = CA_OK;
 out:
	X509_free(x);
	BIO_free(b);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/* A passphrase callback that refuses: keys for carapace are unencrypted. */
static int
client_no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
client_key_read(EVP_PKEY **out, const char *path)
{
	BIO *b = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((b = BIO_new_file(path, "r")) == NULL) {
		rc = ca_error_openssl(CA_ERR_IO, "%s: cannot open", path);
		goto out;
	}
	if ((*out = PEM_read_bio_PrivateKey(b, NULL, client_no_pass,
	    NULL)) == NULL) {
		rc = ca_error_openssl(CA_ERR_INVALID, "%s: not an unencrypted "
		    "PEM private key", path);
		goto out;
	}
	rc = CA_OK;
 out:
	BIO_free(b);
	return rc;
}

int
client_outputs_check(const char *const *paths, size_t n)
{
	size_t i, j;
	int e;

	for (i = 0; i < n; i++) {
		if (paths[i] == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (paths[j] != NULL && strcmp(paths[i], paths[j]) == 0)
				return ca_error(CA_ERR_USAGE, "%s: named as "
				    "two outputs", paths[i]);
		if ((e = fileio_exists(paths[i])) != 0)
			return ca_error(e > 0 ? CA_ERR_EXISTS : CA_ERR_IO,
			    "%s: %s; refusing to overwrite it", paths[i],
			    e > 0 ? "already exists" : strerror(errno));
	}
	return CA_OK;
}

int
client_outputs_write(struct client_outputs *o, const char *path,
    const void *buf, size_t len, mode_t mode)
{
	int rc;

	if (o->n >= sizeof(o->paths) / sizeof(o->paths[0]))
		return ca_error(CA_ERR_INTERNAL, "too many outputs");
	if ((rc = fileio_create(path, buf, len, mode)) != CA_OK)
		return rc;
	o->paths[o->n++] = path;
	return CA_OK;
}

void
client_outputs_abort(struct client_outputs *o)
{
	while (o->n > 0)
		(void)unlink(o->paths[--o->n]);
}
