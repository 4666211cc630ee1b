/* SPDX-License-Identifier: ISC */
/*
 * ops: the operator commands of carapace-issuer, answered on the operator
 * (ipc://) socket only: tokenCreate, tokenList, tokenRevoke, revoke, list,
 * show and logVerify (docs/protocol.md, carapace(1)).
 *
 * A created token's secret is generated here (attest/join_token.h), stored
 * only as its hash, and returned once in the TokenCreated response; it is
 * never logged.
 */
#ifndef OPS_H
#define OPS_H

#include "protocol/protocol.h"
#include "issuer/handler.h"

/*
 * ops_handle answers one operator request. *resp is the response (ok or
 * an error status with a message), freed by the caller with
 * PROTO_RESPONSE_free; note gets the method and what the request was
 * about, for the log line. Returns CA_OK, or CA_ERR_NOMEM when no
 * response could be built.
 */
int ops_handle(struct handler *h, PROTO_RESPONSE **resp,
    const PROTO_REQUEST *req, struct handler_note *note)
    __attribute__((warn_unused_result));

/*
 * ops_serial_from_asn1 converts a wire serial into the log's 16-byte form:
 * 0 on success, -1 when it is negative or longer than 16 octets (no
 * certificate of this issuer has such a serial).
 */
int ops_serial_from_asn1(uint8_t out[ISSUANCE_LOG_SERIAL_LEN],
    const ASN1_INTEGER *a);

#endif /* OPS_H */
