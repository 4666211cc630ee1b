/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ocsp_request: carapace-ocsp's request handling on hostile bytes.
 * Each input goes through ocsp_respond as a POST body and, as text, through
 * the RFC 5019 GET decoding (percent-decoding, base64) and then
 * ocsp_respond. Whatever comes back must be one well-formed OCSPResponse
 * that OpenSSL decodes with no trailing bytes, a successful one only when
 * the input named the fuzz issuer. A failure aborts, which the fuzzer or
 * tests/fuzz/replay.c reports; every `make check` replays
 * tests/fuzz/corpus/ocsp_request.
 *
 * The issuer is a throwaway P-256 CA made for this target only (the key
 * below signs nothing anyone trusts), so that the seed corpus can hold
 * requests that match it and reach the signing and caching paths. The log
 * is replaced by a status function that picks the state from the serial's
 * last byte.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/ca_error.h"
#include "ocsp/ocsp_responder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgL1KO0D3cvJnmBrSE\n"
	"ajIHw9yU+ausjiFg+KytZkYfeM6hRANCAAQLvVixM5vWY2YxtgeTWZSdrXoezgan\n"
	"SUBhJKnH4bbtYLe5qKwTw+Ng+U/2TkETjRnrzvW4OTOlXj3tctRMjvWt\n"
	"-----END PRIVATE KEY-----\n";

static const char fuzz_ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBgzCCASigAwIBAgIBATAKBggqhkjOPQQDAjAfMR0wGwYDVQQDDBRjYXJhcGFj\n"
	"ZSBmdXp6IGlzc3VlcjAgFw0yNjExMjMxMTI2MzhaGA8yMTI2MTAzMDExMjYzOFow\n"
	"HzEdMBsGA1UEAwwUY2FyYXBhY2UgZnV6eiBpc3N1ZXIwWTATBgcqhkjOPQIBBggq\n"
	"hkjOPQMBBwNCAAQLvVixM5vWY2YxtgeTWZSdrXoezganSUBhJKnH4bbtYLe5qKwT\n"
	"w+Ng+U/2TkETjRnrzvW4OTOlXj3tctRMjvWto1MwUTAdBgNVHQ4EFgQUghdR4NRk\n"
	"Qp8KpWIFBwamor+DZ5YwHwYDVR0jBBgwFoAUghdR4NRkQp8KpWIFBwamor+DZ5Yw\n"
	"DwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA6HMUvWtRKav/f8Vw\n"
	"8FRaIg1oJ+C4B8QdQhd8CglmI2wCIQDyAEA4XirA60BeaVUAz+Cf1JdeWg26GmlQ\n"
	"hujzHluzRA==\n"
	"-----END CERTIFICATE-----\n";

static struct ocsp_responder resp;
static struct ocsp_issuer *issuer;
static struct ocsp_cache *cache;
static struct ocsp_issuer *issuer_list[1];
static STACK_OF(X509) *signers;

static int
fuzz_status(struct ocsp_status *out, const struct ocsp_issuer *iss,
    const uint8_t *serial, size_t serial_len, void *arg)
{
	(void)iss;
	(void)arg;
	memset(out, 0, sizeof(*out));
	if (serial_len == 0)
		return CA_ERR_INVALID;
	out->state = (enum ocsp_state)(serial[serial_len - 1] % 4);
	out->revoked_at = 1700000000;
	out->reason = serial[serial_len - 1] % 11;
	if (serial[serial_len - 1] == 0xff)
		return CA_ERR_DB;	/* the log failed: internalError */
	return CA_OK;
}

static void
fuzz_free(void)
{
	ocsp_cache_free(cache);
	ocsp_issuer_free(issuer);
	sk_X509_pop_free(signers, X509_free);
}

static void
fuzz_init(void)
{
	static int done;
	BIO *kb, *cb;
	EVP_PKEY *key;
	X509 *ca;

	if (done)
		return;
	done = 1;
	kb = BIO_new_mem_buf(fuzz_key_pem, -1);
	cb = BIO_new_mem_buf(fuzz_ca_pem, -1);
	key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	ca = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	if (key == NULL || ca == NULL ||
	    ocsp_issuer_new(&issuer, "fuzz", ca, NULL, NULL, key) != CA_OK ||
	    ocsp_cache_new(&cache, 64) != CA_OK ||
	    (signers = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(signers, ca))
		abort();
	EVP_PKEY_free(key);
	BIO_free(kb);
	BIO_free(cb);
	issuer_list[0] = issuer;
	resp.issuers = issuer_list;
	resp.nissuers = 1;
	resp.status_fn = fuzz_status;
	resp.cache = cache;
	resp.validity = 3600;
	resp.max_request = OCSP_MAX_REQUEST_DEF;
	resp.max_live = 4;
	resp.unissued = OCSP_UNISSUED_REVOKED;
	atomic_init(&resp.live, 0);
	atexit(fuzz_free);
}

static void
check_reply(const struct ocsp_reply *rep)
{
	OCSP_RESPONSE *or;
	const unsigned char *p = rep->der;
	int st;

	if (rep->der == NULL || rep->len == 0)
		abort();
	if ((or = d2i_OCSP_RESPONSE(NULL, &p, (long)rep->len)) == NULL ||
	    p != rep->der + rep->len)
		abort();
	st = OCSP_response_status(or);
	if (st != rep->status)
		abort();
	if (st == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		OCSP_BASICRESP *bs = OCSP_response_get1_basic(or);

		if (bs == NULL || OCSP_resp_count(bs) != 1 ||
		    OCSP_basic_verify(bs, signers, NULL, OCSP_NOVERIFY) != 1 ||
		    !rep->cacheable)
			abort();
		OCSP_BASICRESP_free(bs);
	} else if (st != OCSP_RESPONSE_STATUS_MALFORMEDREQUEST &&
	    st != OCSP_RESPONSE_STATUS_UNAUTHORIZED &&
	    st != OCSP_RESPONSE_STATUS_INTERNALERROR &&
	    st != OCSP_RESPONSE_STATUS_TRYLATER)
		abort();
	OCSP_RESPONSE_free(or);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocsp_reply rep;
	uint8_t *der = NULL;
	char *txt;
	size_t len;

	fuzz_init();
	if (ocsp_respond(&resp, &rep, data, size) != CA_OK)
		abort();
	check_reply(&rep);
	ocsp_reply_clear(&rep);

	if ((txt = malloc(size + 1)) == NULL)
		abort();
	memcpy(txt, data, size);
	txt[size] = '\0';
	if (ocsp_http_get_decode(&der, &len, txt, OCSP_MAX_REQUEST_DEF) ==
	    CA_OK) {
		if (len == 0 || len > OCSP_MAX_REQUEST_DEF)
			abort();
		if (ocsp_respond(&resp, &rep, der, len) != CA_OK)
			abort();
		check_reply(&rep);
		ocsp_reply_clear(&rep);
		free(der);
	} else if (der != NULL)
		abort();
	free(txt);
	ERR_clear_error();
	return 0;
}
