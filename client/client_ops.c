/* SPDX-License-Identifier: ISC */
/*
 * client_ops: the operator subcommands of carapace(1), spoken over the
 * issuer's local operator socket: join tokens (create, list, revoke),
 * certificate revocation, listing and showing certificates, and checking
 * the issuance log's hash chain (through the issuer, or by opening a log
 * file read-only here).
 *
 * A new join token's secret is written only to the --out file (0600,
 * O_EXCL), or to stdout when the operator asks for it with --out -; it is
 * never printed otherwise, and its memory is wiped.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "log/issuance_log.h"
#include "protocol/protocol.h"
#include "client/client.h"
#include "attest/join_token.h"

#define DEFAULT_PROFILE	"server"
#define DEFAULT_TTL	3600

static const char *const reasons[] = {
	[0] = "unspecified",
	[1] = "keyCompromise",
	[2] = "cACompromise",
	[3] = "affiliationChanged",
	[4] = "superseded",
	[5] = "cessationOfOperation",
	[6] = "certificateHold",
	[7] = NULL,
	[8] = "removeFromCRL",
	[9] = "privilegeWithdrawn",
	[10] = "aACompromise",
};
#define NREASONS	(sizeof(reasons) / sizeof(reasons[0]))

int
client_reason_parse(const char *name)
{
	size_t i;

	for (i = 0; i < NREASONS; i++)
		if (reasons[i] != NULL && strcasecmp(name, reasons[i]) == 0)
			return (int)i;
	return -1;
}

const char *
client_reason_name(long reason)
{
	if (reason < 0 || (size_t)reason >= NREASONS ||
	    reasons[reason] == NULL)
		return "unknown";
	return reasons[reason];
}

static const char *
token_state_name(long s)
{
	static const char *const names[] = {
		"active", "used", "revoked", "expired",
	};

	if (s < 0 || s >= PROTO_TOKEN__MAX)
		return "unknown";
	return names[s];
}

static const char *
cert_status_name(long s)
{
	static const char *const names[] = {
		"issued", "revoked", "reserved", "abandoned",
	};

	if (s < 0 || s >= PROTO_CERT__MAX)
		return "unknown";
	return names[s];
}

static long
enum_get(const ASN1_ENUMERATED *e)
{
	int64_t v;

	if (e == NULL || !ASN1_ENUMERATED_get_int64(&v, e) || v < 0 ||
	    v > INT32_MAX)
		return -1;
	return (long)v;
}

static const char *
str_get(const ASN1_UTF8STRING *s)
{
	/* Decoded strings are checked UTF-8 without NULs and terminated. */
	if (s == NULL || ASN1_STRING_length(s) == 0)
		return "-";
	return (const char *)ASN1_STRING_get0_data(s);
}

/* "a,b,c" of a names list, or "-"; DNS: prefixes dropped. */
static void
names_print(FILE *f, const STACK_OF(ASN1_UTF8STRING) *sk)
{
	const char *n;
	int i;

	if (sk_ASN1_UTF8STRING_num(sk) <= 0) {
		fputs("-", f);
		return;
	}
	for (i = 0; i < sk_ASN1_UTF8STRING_num(sk); i++) {
		n = str_get(sk_ASN1_UTF8STRING_value(sk, i));
		if (strncmp(n, "DNS:", 4) == 0)
			n += 4;
		fprintf(f, "%s%s", i > 0 ? "," : "", n);
	}
}

static int usage_fail(const char *, ...)
    __attribute__((format(printf, 1, 2)));

static int
usage_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("carapace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLIENT_EXIT_USAGE;
}

/* A name on the wire: "DNS:" added when no openssl.cnf prefix is there. */
static int
push_name(STACK_OF(ASN1_UTF8STRING) *sk, const char *name)
{
	ASN1_UTF8STRING *s;
	char buf[PROTOCOL_MAX_NAME_LEN + 8];
	const char *v = name;

	if (strncmp(name, "DNS:", 4) != 0 && strncmp(name, "IP:", 3) != 0 &&
	    strncmp(name, "email:", 6) != 0 && strncmp(name, "URI:", 4) != 0) {
		snprintf(buf, sizeof(buf), "DNS:%s", name);
		v = buf;
	}
	if ((s = ASN1_UTF8STRING_new()) == NULL ||
	    !ASN1_STRING_set(s, v, -1) || !sk_ASN1_UTF8STRING_push(sk, s)) {
		ASN1_UTF8STRING_free(s);
		return 0;
	}
	return 1;
}

int
client_token_create(const struct client_ops_opts *o)
{
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	PROTO_TOKEN_CREATE *tc;
	const PROTO_TOKEN_CREATED *tk;
	struct join_token_cred *cred = NULL;
	char *str = NULL, exp[32];
	const char *outs[1];
	size_t i;
	int rc, ret = CLIENT_EXIT_FAILED;

	if (o->identity == NULL)
		return usage_fail("token create: --identity NAME is %s",
		    "required");
	if (o->nnames == 0)
		return usage_fail("token create: give the names the token "
		    "grants with --name (%s)", "host.example, *.node.example");
	if (o->out == NULL)
		return usage_fail("token create: --out FILE is required (%s)",
		    "\"-\" writes the token to stdout");
	for (i = 0; i < o->nnames; i++)
		if (o->names[i][0] == '\0' ||
		    strlen(o->names[i]) > PROTOCOL_MAX_NAME_LEN - 4)
			return usage_fail("token create: --name %s: 1 to "
			    "251 characters", o->names[i]);
	outs[0] = strcmp(o->out, "-") == 0 ? NULL : o->out;
	if ((rc = client_outputs_check(outs, 1)) != CA_OK) {
		fprintf(stderr, "carapace: %s\n", ca_error_detail());
		return CLIENT_EXIT_FAILED;
	}
	if ((req = protocol_request_new(PROTO_REQ_TOKEN_CREATE)) == NULL)
		goto nomem;
	tc = req->body->value.token_create;
	if (!ASN1_STRING_set(tc->identity, o->identity, -1) ||
	    !ASN1_STRING_set(tc->profile, o->profile != NULL ? o->profile :
	    DEFAULT_PROFILE, -1) ||
	    !ASN1_INTEGER_set_int64(tc->ttl, o->ttl > 0 ? o->ttl :
	    DEFAULT_TTL))
		goto nomem;
	for (i = 0; i < o->nnames; i++)
		if (!push_name(tc->names, o->names[i]))
			goto nomem;
	if ((ret = client_exchange(&resp, &o->conf, req,
	    PROTO_RESP_TOKEN_CREATED)) != CLIENT_EXIT_OK)
		goto out;
	ret = CLIENT_EXIT_FAILED;
	tk = resp->body->value.token_created;
	if (ASN1_STRING_length(tk->secret) != JOIN_TOKEN_SECRET_LEN ||
	    ASN1_STRING_length(tk->token_id) != 2 * JOIN_TOKEN_ID_LEN) {
		fprintf(stderr, "carapace: the server sent a token this "
		    "client cannot format (id of %d characters, secret of "
		    "%d bytes)\n", ASN1_STRING_length(tk->token_id),
		    ASN1_STRING_length(tk->secret));
		goto out;
	}
	/* A fresh credential's memory, overwritten with the server's. */
	if ((rc = join_token_generate(&cred)) != CA_OK)
		goto nomem;
	if (fileio_unhex(cred->id, sizeof(cred->id),
	    str_get(tk->token_id)) != 0) {
		fprintf(stderr, "carapace: the server sent a token id that is "
		    "not hex\n");
		goto out;
	}
	memcpy(cred->secret, ASN1_STRING_get0_data(tk->secret),
	    sizeof(cred->secret));
	if ((rc = join_token_format(&str, cred)) != CA_OK)
		goto nomem;
	client_time_str(exp, tk->expires_at);
	if (outs[0] == NULL) {
		printf("%s\n", str);
		fflush(stdout);
	} else {
		/* The file holds the token and a newline. */
		size_t len = strlen(str);

		str[len] = '\n';
		rc = fileio_create(o->out, str, len + 1, 0600);
		str[len] = '\0';
		if (rc != CA_OK) {
			fprintf(stderr, "carapace: %s\n", ca_error_detail());
			fprintf(stderr, "carapace: token %s was created but "
			    "not saved; revoke it with: carapace token revoke "
			    "%s\n", str_get(tk->token_id),
			    str_get(tk->token_id));
			goto out;
		}
	}
	fprintf(stderr, "carapace: token %s for %s expires at %s%s%s\n",
	    str_get(tk->token_id), o->identity, exp,
	    outs[0] != NULL ? "; written to " : "",
	    outs[0] != NULL ? o->out : "");
	ret = CLIENT_EXIT_OK;
	goto out;
 nomem:
	fprintf(stderr, "carapace: out of memory\n");
	ret = CLIENT_EXIT_FAILED;
 out:
	/* The answer held the secret. */
	if (resp != NULL && resp->body != NULL &&
	    resp->body->type == PROTO_RESP_TOKEN_CREATED &&
	    resp->body->value.token_created->secret != NULL) {
		ASN1_OCTET_STRING *sec =
		    resp->body->value.token_created->secret;
		OPENSSL_cleanse((void *)(uintptr_t)ASN1_STRING_get0_data(sec),
		    (size_t)ASN1_STRING_length(sec));
	}
	join_token_string_free(str);
	join_token_cred_free(cred);
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	return ret;
}

int
client_token_list(const struct client_ops_opts *o)
{
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	const PROTO_TOKEN_INFO *ti;
	char exp[32];
	int i, ret = CLIENT_EXIT_FAILED;

	if ((req = protocol_request_new(PROTO_REQ_TOKEN_LIST)) == NULL) {
		fprintf(stderr, "carapace: out of memory\n");
		goto out;
	}
	if ((ret = client_exchange(&resp, &o->conf, req,
	    PROTO_RESP_TOKEN_LIST)) != CLIENT_EXIT_OK)
		goto out;
	for (i = 0; i < sk_PROTO_TOKEN_INFO_num(resp->body->value.token_list);
	    i++) {
		ti = sk_PROTO_TOKEN_INFO_value(resp->body->value.token_list,
		    i);
		printf("%s %s %s %s ", str_get(ti->token_id),
		    str_get(ti->identity), client_time_str(exp,
		    ti->expires_at), token_state_name(enum_get(ti->state)));
		names_print(stdout, ti->names);
		putchar('\n');
	}
 out:
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	return ret;
}

int
client_token_revoke(const struct client_ops_opts *o)
{
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	int ret = CLIENT_EXIT_FAILED;

	if (o->arg == NULL)
		return usage_fail("token revoke: give the token %s", "ID");
	if ((req = protocol_request_new(PROTO_REQ_TOKEN_REVOKE)) == NULL ||
	    !ASN1_STRING_set(req->body->value.token_revoke->token_id, o->arg,
	    -1)) {
		fprintf(stderr, "carapace: out of memory\n");
		goto out;
	}
	if ((ret = client_exchange(&resp, &o->conf, req, -1)) ==
	    CLIENT_EXIT_OK)
		printf("token %s revoked\n", o->arg);
 out:
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	return ret;
}

/* One line of `list`: SERIAL STATUS NOTAFTER SUBJECT NAMES. */
static void
cert_line(const PROTO_CERT_INFO *ci)
{
	char *serial, na[32];

	serial = client_serial_hex(ci->serial);
	printf("%s %s %s %s ", serial != NULL ? serial : "?",
	    cert_status_name(enum_get(ci->status)),
	    client_time_str(na, ci->not_after), str_get(ci->subject));
	names_print(stdout, ci->names);
	putchar('\n');
	free(serial);
}

/* `show` and the answer to `revoke`: key: value lines, then the PEM. */
static int
cert_show(const PROTO_CERT_INFO *ci)
{
	static const char *const methods[] = {
		"joinToken", "x509pop", "identityDoc", "tpm",
	};
	const unsigned char *p;
	char *serial, t[32];
	long m;
	int i;
	X509 *x;

	serial = client_serial_hex(ci->serial);
	printf("serial: %s\n", serial != NULL ? serial : "?");
	free(serial);
	printf("status: %s\n", cert_status_name(enum_get(ci->status)));
	printf("subject: %s\n", str_get(ci->subject));
	printf("names: ");
	names_print(stdout, ci->names);
	putchar('\n');
	printf("not_before: %s\n", client_time_str(t, ci->not_before));
	printf("not_after: %s\n", client_time_str(t, ci->not_after));
	m = enum_get(ci->method);
	printf("attestation: %s\n", m >= 0 && m < PROTO_ATTEST__MAX ?
	    methods[m] : "-");
	printf("requester: %s\n", str_get(ci->requester));
	if (ci->revoked_at != NULL)
		printf("revoked_at: %s\n", client_time_str(t, ci->revoked_at));
	if (ci->reason != NULL)
		printf("reason: %s\n", client_reason_name(enum_get(ci->reason)));
	for (i = 0; i < sk_ASN1_UTF8STRING_num(ci->selectors); i++)
		printf("selector: %s\n", str_get(sk_ASN1_UTF8STRING_value(
		    ci->selectors, i)));
	if (ci->certificate != NULL) {
		p = ASN1_STRING_get0_data(ci->certificate);
		if ((x = d2i_X509(NULL, &p,
		    ASN1_STRING_length(ci->certificate))) == NULL) {
			fprintf(stderr, "carapace: the server sent a "
			    "certificate that does not parse\n");
			return CLIENT_EXIT_FAILED;
		}
		PEM_write_X509(stdout, x);
		X509_free(x);
	}
	return CLIENT_EXIT_OK;
}

/*
 * revoke_reason returns the RFC 5280 reason code of o->reason, or -1 after
 * printing why it is not one revoke takes.
 */
static int
revoke_reason(const struct client_ops_opts *o)
{
	int reason;

	if (o->reason == NULL) {
		usage_fail("revoke: --reason is required (%s)",
		    "keyCompromise, superseded, cessationOfOperation, ...");
		return -1;
	}
	if ((reason = client_reason_parse(o->reason)) < 0) {
		usage_fail("revoke: --reason %s: not an RFC 5280 5.3.1 "
		    "reason (unspecified, keyCompromise, cACompromise, "
		    "affiliationChanged, superseded, cessationOfOperation, "
		    "privilegeWithdrawn, aACompromise)", o->reason);
		return -1;
	}
	if (reason == 6 || reason == 8) {
		usage_fail("revoke: --reason %s: revocation is final "
		    "here, so there is no hold to put or release; revoke with "
		    "another reason (superseded, cessationOfOperation, ...), "
		    "and issue a new certificate if it is needed again",
		    o->reason);
		return -1;
	}
	return reason;
}

/* selector_ok refuses, before anything is sent, an ill-formed selector. */
static int
selector_ok(const char *cmd, const char *selector)
{
	if (issuance_selector_check(selector) == CA_OK)
		return 1;
	usage_fail("%s: --selector: %s", cmd, ca_error_detail());
	return 0;
}

/* revoke_selector: `revoke --selector S`, every certificate attested by S. */
static int
revoke_selector(const struct client_ops_opts *o, int reason)
{
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	PROTO_REVOKE_SELECTOR *rs;
	const PROTO_REVOKED *rv;
	char *serial;
	int i, ret = CLIENT_EXIT_FAILED;

	if ((req = protocol_request_new(PROTO_REQ_REVOKE_SELECTOR)) == NULL)
		goto nomem;
	rs = req->body->value.revoke_selector;
	if (!ASN1_STRING_set(rs->selector, o->selector, -1) ||
	    !ASN1_ENUMERATED_set(rs->reason, reason))
		goto nomem;
	if ((ret = client_exchange(&resp, &o->conf, req, PROTO_RESP_REVOKED))
	    != CLIENT_EXIT_OK)
		goto out;
	rv = resp->body->value.revoked;
	for (i = 0; i < sk_ASN1_INTEGER_num(rv->serials); i++) {
		serial = client_serial_hex(sk_ASN1_INTEGER_value(rv->serials,
		    i));
		printf("revoked: %s\n", serial != NULL ? serial : "?");
		free(serial);
	}
	if (ASN1_INTEGER_get(rv->count) > i)
		printf("(and %ld more; see them with carapace list --selector "
		    "%s --status revoked)\n", ASN1_INTEGER_get(rv->count) - i,
		    o->selector);
	printf("%ld certificate%s with selector %s revoked\n",
	    ASN1_INTEGER_get(rv->count),
	    ASN1_INTEGER_get(rv->count) == 1 ? "" : "s", o->selector);
	goto out;
 nomem:
	fprintf(stderr, "carapace: out of memory\n");
 out:
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	return ret;
}

int
client_revoke(const struct client_ops_opts *o)
{
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	PROTO_REVOKE_REQUEST *rv;
	ASN1_INTEGER *serial = NULL;
	int reason, ret = CLIENT_EXIT_FAILED;

	if (o->selector != NULL && o->arg != NULL)
		return usage_fail("revoke: --selector and %s do not go "
		    "together", "SERIAL");
	if (o->selector == NULL && o->arg == NULL)
		return usage_fail("revoke: give the certificate's %s (hex) or "
		    "--selector", "SERIAL");
	if ((reason = revoke_reason(o)) < 0)
		return CLIENT_EXIT_USAGE;
	if (o->selector != NULL) {
		if (!selector_ok("revoke", o->selector))
			return CLIENT_EXIT_USAGE;
		return revoke_selector(o, reason);
	}
	if (client_serial_parse(&serial, o->arg) != CA_OK) {
		fprintf(stderr, "carapace: %s\n", ca_error_detail());
		return CLIENT_EXIT_USAGE;
	}
	if ((req = protocol_request_new(PROTO_REQ_REVOKE)) == NULL)
		goto nomem;
	rv = req->body->value.revoke;
	ASN1_INTEGER_free(rv->serial);
	rv->serial = serial;
	serial = NULL;
	if (!ASN1_ENUMERATED_set(rv->reason, reason))
		goto nomem;
	if ((ret = client_exchange(&resp, &o->conf, req, -1)) !=
	    CLIENT_EXIT_OK)
		goto out;
	if (resp->body != NULL && resp->body->type == PROTO_RESP_CERT_INFO)
		ret = cert_show(resp->body->value.cert_info);
	else
		printf("certificate %s revoked\n", o->arg);
	goto out;
 nomem:
	fprintf(stderr, "carapace: out of memory\n");
 out:
	ASN1_INTEGER_free(serial);
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	return ret;
}

int
client_list(const struct client_ops_opts *o)
{
	struct client *c = NULL;
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	PROTO_LIST_REQUEST *lr;
	const PROTO_CERT_LIST *cl;
	long status = -1;
	int i, n, pages = 0, ret = CLIENT_EXIT_FAILED;

	if (o->status != NULL) {
		if (strcmp(o->status, "issued") == 0 ||
		    strcmp(o->status, "good") == 0)
			status = PROTO_CERT_GOOD;
		else if (strcmp(o->status, "revoked") == 0)
			status = PROTO_CERT_REVOKED;
		else if (strcmp(o->status, "reserved") == 0)
			status = PROTO_CERT_RESERVED;
		else if (strcmp(o->status, "abandoned") == 0)
			status = PROTO_CERT_ABANDONED;
		else
			return usage_fail("list: --status %s: use issued, "
			    "revoked, reserved or abandoned", o->status);
	}
	if (o->selector != NULL && !selector_ok("list", o->selector))
		return CLIENT_EXIT_USAGE;
	if ((req = protocol_request_new(PROTO_REQ_LIST)) == NULL)
		goto nomem;
	lr = req->body->value.list;
	if (o->selector != NULL && ((lr->selector = ASN1_UTF8STRING_new()) ==
	    NULL || !ASN1_STRING_set(lr->selector, o->selector, -1)))
		goto nomem;
	if (status >= 0 && ((lr->status = ASN1_ENUMERATED_new()) == NULL ||
	    !ASN1_ENUMERATED_set(lr->status, status)))
		goto nomem;
	if ((ret = client_connect(&c, &o->conf)) != CLIENT_EXIT_OK)
		goto out;
	/* Page through: ask again after the last serial while more is set. */
	for (;;) {
		PROTO_RESPONSE_free(resp);
		resp = NULL;
		if ((ret = client_roundtrip(c, &resp, req,
		    PROTO_RESP_CERT_LIST)) != CLIENT_EXIT_OK)
			goto out;
		cl = resp->body->value.cert_list;
		n = sk_PROTO_CERT_INFO_num(cl->certs);
		for (i = 0; i < n; i++)
			cert_line(sk_PROTO_CERT_INFO_value(cl->certs, i));
		if (!cl->more || n == 0)
			break;
		if (++pages > 100000) {
			fprintf(stderr, "carapace: list: the server keeps "
			    "saying there is more; stopping\n");
			ret = CLIENT_EXIT_FAILED;
			goto out;
		}
		ASN1_INTEGER_free(lr->after);
		if ((lr->after = ASN1_INTEGER_dup(sk_PROTO_CERT_INFO_value(
		    cl->certs, n - 1)->serial)) == NULL)
			goto nomem;
	}
	goto out;
 nomem:
	fprintf(stderr, "carapace: out of memory\n");
	ret = CLIENT_EXIT_FAILED;
 out:
	client_close(c);
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	return ret;
}

int
client_show(const struct client_ops_opts *o)
{
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	PROTO_SHOW_REQUEST *sr;
	ASN1_INTEGER *serial = NULL;
	int ret = CLIENT_EXIT_FAILED;

	if (o->arg == NULL)
		return usage_fail("show: give the certificate's %s (hex)",
		    "SERIAL");
	if (client_serial_parse(&serial, o->arg) != CA_OK) {
		fprintf(stderr, "carapace: %s\n", ca_error_detail());
		return CLIENT_EXIT_USAGE;
	}
	if ((req = protocol_request_new(PROTO_REQ_SHOW)) == NULL) {
		fprintf(stderr, "carapace: out of memory\n");
		goto out;
	}
	sr = req->body->value.show;
	ASN1_INTEGER_free(sr->serial);
	sr->serial = serial;
	serial = NULL;
	if ((ret = client_exchange(&resp, &o->conf, req,
	    PROTO_RESP_CERT_INFO)) == CLIENT_EXIT_OK)
		ret = cert_show(resp->body->value.cert_info);
 out:
	ASN1_INTEGER_free(serial);
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	return ret;
}

/* `log verify --log FILE`: the chain checked here, read-only. */
static int
log_verify_local(const char *path)
{
	struct issuance_log_reader *r = NULL;
	struct issuance_verify_report rep;
	char head[2 * ISSUANCE_LOG_HASH_LEN + 1];
	int rc, ret = CLIENT_EXIT_FAILED;

	memset(&rep, 0, sizeof(rep));
	if ((rc = issuance_log_reader_open(&r, path)) != CA_OK) {
		fprintf(stderr, "carapace: %s: %s\n", path, ca_error_detail());
		goto out;
	}
	rc = issuance_log_reader_verify(r, &rep);
	if (rc == CA_OK) {
		printf("log verify: OK: %lld entries, head %s\n",
		    (long long)rep.entries, fileio_hex(head, rep.head,
		    sizeof(rep.head)));
		ret = CLIENT_EXIT_OK;
	} else if (rc == CA_ERR_VERIFY) {
		printf("log verify: FAILED at entry %lld: %s\n",
		    (long long)rep.bad_seq, rep.what[0] != '\0' ? rep.what :
		    ca_error_detail());
	} else
		fprintf(stderr, "carapace: %s: %s\n", path, ca_error_detail());
 out:
	issuance_log_reader_close(r);
	return ret;
}

int
client_log_verify(const struct client_ops_opts *o)
{
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	const PROTO_LOG_VERIFY *lv;
	char head[2 * PROTOCOL_HASH_LEN + 1];
	int64_t entries = 0, bad = 0;
	int ret = CLIENT_EXIT_FAILED;

	if (o->log != NULL)
		return log_verify_local(o->log);
	if ((req = protocol_request_new(PROTO_REQ_LOG_VERIFY)) == NULL) {
		fprintf(stderr, "carapace: out of memory\n");
		goto out;
	}
	if ((ret = client_exchange(&resp, &o->conf, req,
	    PROTO_RESP_LOG_VERIFY)) != CLIENT_EXIT_OK)
		goto out;
	lv = resp->body->value.log_verify;
	(void)ASN1_INTEGER_get_int64(&entries, lv->entries);
	if (lv->first_bad != NULL) {
		(void)ASN1_INTEGER_get_int64(&bad, lv->first_bad);
		printf("log verify: FAILED at entry %lld: %s\n",
		    (long long)bad, str_get(resp->message));
		ret = CLIENT_EXIT_FAILED;
		goto out;
	}
	if (lv->head != NULL && ASN1_STRING_length(lv->head) ==
	    PROTOCOL_HASH_LEN)
		fileio_hex(head, ASN1_STRING_get0_data(lv->head),
		    PROTOCOL_HASH_LEN);
	else
		snprintf(head, sizeof(head), "-");
	printf("log verify: OK: %lld entries, head %s\n", (long long)entries,
	    head);
 out:
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	return ret;
}

/*
 * `log init --log FILE [--group GROUP]`: a new, empty log, created here
 * (the file is local to the issuer; the operator socket cannot create it).
 */
int
client_log_init(const struct client_ops_opts *o)
{
	struct group *gr;
	gid_t gid = (gid_t)-1;

	if (o->group != NULL) {
		errno = 0;
		if ((gr = getgrnam(o->group)) == NULL) {
			fprintf(stderr, "carapace: log init: --group %s: %s\n",
			    o->group, errno != 0 ? strerror(errno) :
			    "no such group");
			return CLIENT_EXIT_USAGE;
		}
		gid = gr->gr_gid;
	}
	if (issuance_log_create(o->log, gid) != CA_OK) {
		fprintf(stderr, "carapace: log init: %s\n", ca_error_detail());
		return CLIENT_EXIT_FAILED;
	}
	printf("log init: created %s (mode %s%s), schema version %d, an empty "
	    "chain; its head is recorded in %s" ISSUANCE_LOG_HEAD_SUFFIX "\n",
	    o->log, o->group != NULL ? "0640, group " : "0600",
	    o->group != NULL ? o->group : "", ISSUANCE_LOG_SCHEMA_VERSION,
	    o->log);
	return CLIENT_EXIT_OK;
}
