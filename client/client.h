/* SPDX-License-Identifier: ISC */
/*
 * client: the carapace CLI's side of the wire protocol (docs/protocol.md).
 * It opens an nng REQ socket, dials one URL (tcp://, tls+tcp:// verified
 * against a CA file, ipc://), sends one DER Request and waits, with a
 * timeout, for one Response, which it decodes strictly.
 *
 * The modules behind the subcommands share the helpers here too: reading
 * certificates and keys, parsing durations and serials, formatting times,
 * writing outputs that must not be left behind on failure, and turning a
 * Response status into a message, a hint and an exit status.
 *
 * Functions that can fail return CA_OK or a ca_err code with a detail
 * message (ca_error_detail()); the program prints it.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "protocol/protocol.h"

/* Exit statuses of carapace(1). */
#define CLIENT_EXIT_OK		0
#define CLIENT_EXIT_FAILED	1	/* refused by the server, or failed */
#define CLIENT_EXIT_USAGE	2
#define CLIENT_EXIT_UNAVAILABLE	3	/* unreachable, or retry later */

#define CLIENT_DEFAULT_TIMEOUT	30	/* seconds */
#define CLIENT_DEFAULT_SOCKET	"ipc:///run/carapace/operator.sock"

/* Where and how to talk to the issuer. */
struct client_conf {
	const char *url;	/* tcp://, tls+tcp:// or ipc:// */
	const char *ca_file;	/* tls+tcp://: the CA that signed the server */
	int timeout;		/* seconds to wait for an answer */
};

struct client;

/*
 * client_open opens a REQ socket and dials conf->url synchronously, so a
 * server that is not there is reported at once (CA_ERR_IO naming the
 * URL). A tls+tcp:// URL needs conf->ca_file; the server's certificate
 * must chain to it and match the URL's host. The caller frees *out with
 * client_close.
 */
int client_open(struct client **out, const struct client_conf *conf)
    __attribute__((warn_unused_result));

/* client_close closes the socket; client_close(NULL) does nothing. */
void client_close(struct client *c);

/*
 * client_call encodes req, sends it and waits for the answer. On CA_OK
 * *out is the decoded Response (whatever its status), freed by the caller
 * with PROTO_RESPONSE_free. CA_ERR_IO: nothing came back within the
 * timeout, or the connection failed ("no answer from URL within N s").
 * CA_ERR_INVALID: the request did not encode or the answer did not decode.
 */
int client_call(struct client *c, PROTO_RESPONSE **out,
    const PROTO_REQUEST *req) __attribute__((warn_unused_result));

/*
 * client_connect is client_open that prints what went wrong to stderr and
 * returns a CLIENT_EXIT_* status.
 */
int client_connect(struct client **out, const struct client_conf *conf);

/*
 * client_roundtrip is client_call that checks the answer: for anything but
 * ok it prints "carapace: STATUS: MESSAGE" and the status's hint (what to
 * do next) to stderr. It returns a CLIENT_EXIT_* status; on CLIENT_EXIT_OK
 * *out holds the Response, whose body is of type want_body (unless
 * want_body is -1), freed by the caller with PROTO_RESPONSE_free.
 */
int client_roundtrip(struct client *c, PROTO_RESPONSE **out,
    const PROTO_REQUEST *req, int want_body);

/*
 * client_exchange is client_connect + client_roundtrip + client_close: one
 * request on a connection of its own.
 */
int client_exchange(PROTO_RESPONSE **out, const struct client_conf *conf,
    const PROTO_REQUEST *req, int want_body);

/* client_status_exit maps a Response status to a CLIENT_EXIT_* status. */
int client_status_exit(long status);

/* --- helpers shared by the subcommands --- */

/*
 * client_duration_parse parses "90", "90s", "30m", "24h" or "7d" into
 * seconds (1 .. PROTOCOL_MAX_LIFETIME). Returns 0 or -1.
 */
int client_duration_parse(long long *out, const char *s);

/*
 * client_serial_parse parses a serial in hex (colons and a leading "0x"
 * allowed) into a new positive INTEGER of at most PROTOCOL_MAX_SERIAL
 * octets, freed with ASN1_INTEGER_free. CA_ERR_INVALID otherwise.
 */
int client_serial_parse(ASN1_INTEGER **out, const char *s)
    __attribute__((warn_unused_result));

/* client_serial_hex: a new uppercase hex string of a, freed with free(). */
char *client_serial_hex(const ASN1_INTEGER *a);

/* client_time_str formats t as "2026-05-01T12:00:00Z" into buf[32]. */
const char *client_time_str(char buf[32], const ASN1_TIME *t);

/*
 * client_certs_read reads every PEM certificate in path (at least one)
 * into a new stack freed with OSSL_STACK_OF_X509_free-like
 * sk_X509_pop_free(sk, X509_free).
 */
int client_certs_read(STACK_OF(X509) **out, const char *path)
    __attribute__((warn_unused_result));

/*
 * client_key_read reads an unencrypted PEM private key from path (an
 * encrypted one is refused rather than prompted for). Free with
 * EVP_PKEY_free.
 */
int client_key_read(EVP_PKEY **out, const char *path)
    __attribute__((warn_unused_result));

/*
 * client_outputs_check fails (CA_ERR_EXISTS naming it) when any of the n
 * paths (NULL entries skipped) already exists, so that a request is not
 * sent, and a token not spent, for outputs that cannot be written.
 */
int client_outputs_check(const char *const *paths, size_t n)
    __attribute__((warn_unused_result));

/*
 * Outputs written after success: each is created with O_EXCL; if one
 * fails, the ones already written are removed (client_outputs_abort).
 */
struct client_outputs {
	const char *paths[4];
	size_t n;
};
int client_outputs_write(struct client_outputs *o, const char *path,
    const void *buf, size_t len, mode_t mode)
    __attribute__((warn_unused_result));
void client_outputs_abort(struct client_outputs *o);

/* --- subcommands (client_request.c, client_ops.c) --- */

/* What `carapace request` and `carapace renew` were told. */
struct client_request_opts {
	struct client_conf conf;
	const char *token_file;		/* request: the join token ... */
	const char *token_env;		/* ... or the variable holding it */
	const char *iddoc;		/* request: or an identity document:
					 * a DER (or base64) PlatformDocument
					 * with iddoc_sig and iddoc_key_id, or
					 * an IdentityDoc holding all three */
	const char *iddoc_sig;		/* its Ed25519 signature: 64 bytes,
					 * or base64 or hex text */
	const char *iddoc_key_id;	/* the platform key's id */
	const char *tpm;		/* request: or a TPM, by its TCTI */
	const char *names[PROTOCOL_MAX_NAMES];	/* DNS names */
	size_t nnames;
	const char *cn;			/* default: the first name */
	long long lifetime;		/* seconds; 0: the profile's */
	const char *key;		/* request: an existing key, or a
					 * pkcs11: URI (made there when
					 * missing) */
	const char *module;		/* request: the PKCS#11 module of a
					 * pkcs11: key */
	const char *pin_source;		/* ... and its PIN (file:, env:) */
	const char *key_type;		/* "ec-p256" (default), ... */
	const char *cert;		/* renew: the current certificate */
	const char *chain;		/* renew: more of its chain */
	int new_key;			/* renew: a new key pair */
	const char *key_out;
	const char *cert_out;
	const char *chain_out;
};

/*
 * client_request_run and client_renew_run carry out `carapace request`
 * (join token or identity document) and `carapace renew` (x509pop) and
 * return a CLIENT_EXIT_* status, having printed what went wrong. Nothing is
 * written unless the certificate was issued.
 */
int client_request_run(const struct client_request_opts *o);
int client_renew_run(const struct client_request_opts *o);

/*
 * client_csr_build makes a PKCS#10 CSR signed by key with subject CN=cn and
 * a subjectAltName of the nnames DNS names. The caller frees *out with
 * X509_REQ_free.
 */
int client_csr_build(X509_REQ **out, EVP_PKEY *key, const char *cn,
    const char *const *names, size_t nnames)
    __attribute__((warn_unused_result));

/*
 * client_csr_build_ex is client_csr_build with the signature fetched with
 * the property query propq ("?provider=tpm2" for a TPM key; NULL: none).
 */
int client_csr_build_ex(X509_REQ **out, EVP_PKEY *key, const char *propq,
    const char *cn, const char *const *names, size_t nnames)
    __attribute__((warn_unused_result));

/*
 * client_key_generate makes a key of type ("ec-p256", "ec-p384",
 * "rsa-2048", "rsa-3072"; NULL is ec-p256). Free with EVP_PKEY_free.
 */
int client_key_generate(EVP_PKEY **out, const char *type)
    __attribute__((warn_unused_result));

/*
 * client_tpm_request_run is `carapace request --tpm TCTI` (client_tpm.c):
 * the challenge exchange with the TPM, a key made and certified in it, a
 * CSR for names (o->nnames of them) signed by it through OpenSSL's tpm2
 * provider; writes the key as a TSS2 PRIVATE KEY PEM. Returns a
 * CLIENT_EXIT_* status.
 */
int client_tpm_request_run(const struct client_request_opts *o,
    const char *const *names);

/*
 * client_issued_write turns an Issued answer into files: the certificate
 * (whose key must be pub), the chain, and, when key_out is not NULL, the
 * key: key_text as is (a PEM the caller made), or else key's PEM. Nothing
 * is left written on failure. Returns a CLIENT_EXIT_* status.
 */
int client_issued_write(const PROTO_ISSUED *is, EVP_PKEY *pub, EVP_PKEY *key,
    const char *key_text, const char *key_out, const char *cert_out,
    const char *chain_out);

/* client_local_fail prints the error detail; a CLIENT_EXIT_* status. */
int client_local_fail(int rc);

/*
 * client_csr_der DER-encodes a CSR, refusing one over PROTOCOL_MAX_CSR;
 * *out is freed with OPENSSL_free.
 */
int client_csr_der(uint8_t **out, size_t *out_len, X509_REQ *req)
    __attribute__((warn_unused_result));

/* What the operator subcommands were told. */
struct client_ops_opts {
	struct client_conf conf;
	const char *identity;		/* token create */
	const char *names[PROTOCOL_MAX_NAMES];
	size_t nnames;
	const char *profile;
	long long ttl;			/* seconds */
	const char *out;		/* token create: file, or "-" */
	const char *arg;		/* token revoke ID, revoke/show SERIAL */
	const char *reason;		/* revoke */
	const char *status;		/* list filter */
	const char *selector;		/* list filter; revoke by it */
	const char *log;		/* log init|verify --log FILE */
	const char *group;		/* log init --group GROUP */
};

/* Operator subcommands; each returns a CLIENT_EXIT_* status. */
int client_token_create(const struct client_ops_opts *o);
int client_token_list(const struct client_ops_opts *o);
int client_token_revoke(const struct client_ops_opts *o);
int client_revoke(const struct client_ops_opts *o);
int client_list(const struct client_ops_opts *o);
int client_show(const struct client_ops_opts *o);
int client_log_verify(const struct client_ops_opts *o);
int client_log_init(const struct client_ops_opts *o);

/*
 * client_reason_parse maps an RFC 5280 5.3.1 reason name
 * ("keyCompromise", case-insensitive) to its value; -1 when unknown.
 */
int client_reason_parse(const char *name);
const char *client_reason_name(long reason);

#endif /* CLIENT_H */
