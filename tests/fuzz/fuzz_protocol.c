/* SPDX-License-Identifier: ISC */
/*
 * fuzz_protocol: the wire protocol decoders on hostile bytes. The input is
 * decoded as a Request, as a Response and as a PlatformDocument; whatever
 * decodes must encode back to exactly the input (DER is canonical, and the
 * decoder promises to refuse anything else), and must pass the encoder's
 * checks. A failure aborts, which the fuzzer or tests/fuzz/replay.c
 * reports. Every `make check` replays tests/fuzz/corpus/protocol.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/ca_error.h"
#include "protocol/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same(const uint8_t *data, size_t size, const uint8_t *der, size_t len)
{
	if (len != size || memcmp(data, der, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	PROTO_PLATFORM_DOC *doc = NULL;
	enum protocol_status st;
	uint8_t *der = NULL;
	size_t len;

	if (protocol_request_decode(&req, &st, data, size) == CA_OK) {
		if (st != PROTOCOL_OK ||
		    protocol_request_encode(&der, &len, req) != CA_OK)
			abort();
		same(data, size, der, len);
		OPENSSL_free(der);
		der = NULL;
	} else if (req != NULL || st == PROTOCOL_OK)
		abort();
	if (protocol_response_decode(&resp, &st, data, size) == CA_OK) {
		if (protocol_response_encode(&der, &len, resp) != CA_OK)
			abort();
		same(data, size, der, len);
		/* Every status has a name, known or not. */
		if (protocol_status_name(protocol_response_status(resp)) ==
		    NULL)
			abort();
		OPENSSL_free(der);
		der = NULL;
	} else if (resp != NULL)
		abort();
	if (protocol_platform_doc_decode(&doc, data, size) == CA_OK) {
		if (protocol_platform_doc_encode(&der, &len, doc) != CA_OK)
			abort();
		same(data, size, der, len);
		OPENSSL_free(der);
	}
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	PROTO_PLATFORM_DOC_free(doc);
	return 0;
}
