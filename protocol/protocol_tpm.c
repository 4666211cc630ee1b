/* SPDX-License-Identifier: ISC */
/*
 * protocol_tpm: constructors for the challenge exchange (ChallengeRequest,
 * ChallengeResponse) and the TPM 2.0 answer (Attestation tpm [3]). The
 * TPM structures travel as the TPM marshals them; these functions copy
 * bytes and check nothing beyond what fits in an OCTET STRING:
 * protocol_*_encode applies the size rules of docs/protocol.md.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <openssl/asn1.h>

#include "protocol/protocol.h"

/* oct_set copies len bytes into s; 0 when they do not fit or no memory. */
static int
oct_set(ASN1_OCTET_STRING *s, const uint8_t *buf, size_t len)
{
	return s != NULL && len <= INT32_MAX &&
	    ASN1_OCTET_STRING_set(s, buf, (int)len) == 1;
}

PROTO_REQUEST *
protocol_request_challenge_tpm(const uint8_t *ek_cert, size_t ek_cert_len,
    const uint8_t *ek_pub, size_t ek_pub_len, const uint8_t *ak_pub,
    size_t ak_pub_len)
{
	PROTO_REQUEST *req = NULL, *ret = NULL;
	PROTO_CHALLENGE_REQ *c;
	PROTO_TPM_CHALLENGE_REQ *t;

	if ((req = protocol_request_new(PROTO_REQ_CHALLENGE)) == NULL)
		goto out;
	c = req->body->value.challenge;
	c->type = PROTO_CHALLENGE_TPM;
	if ((t = c->value.tpm = PROTO_TPM_CHALLENGE_REQ_new()) == NULL)
		goto out;
	if (ek_cert != NULL && ek_cert_len > 0 &&
	    ((t->ek_certificate = ASN1_OCTET_STRING_new()) == NULL ||
	    !oct_set(t->ek_certificate, ek_cert, ek_cert_len)))
		goto out;
	if (!oct_set(t->ek_public, ek_pub, ek_pub_len) ||
	    !oct_set(t->ak_public, ak_pub, ak_pub_len))
		goto out;
	ret = req;
	req = NULL;
 out:
	PROTO_REQUEST_free(req);
	return ret;
}

PROTO_CHALLENGE *
protocol_challenge_tpm(const uint8_t *id_object, size_t id_object_len,
    const uint8_t *enc_secret, size_t enc_secret_len, const uint8_t *nonce,
    size_t nonce_len)
{
	PROTO_CHALLENGE *c = NULL, *ret = NULL;
	PROTO_TPM_CHALLENGE *t;

	if ((c = PROTO_CHALLENGE_new()) == NULL)
		goto out;
	c->type = PROTO_CHALLENGE_TPM;
	if ((t = c->value.tpm = PROTO_TPM_CHALLENGE_new()) == NULL ||
	    !oct_set(t->credential_blob, id_object, id_object_len) ||
	    !oct_set(t->encrypted_secret, enc_secret, enc_secret_len) ||
	    !oct_set(t->nonce, nonce, nonce_len))
		goto out;
	ret = c;
	c = NULL;
 out:
	PROTO_CHALLENGE_free(c);
	return ret;
}

PROTO_RESPONSE *
protocol_response_challenge(const uint8_t *session, size_t session_len,
    time_t expires_at, PROTO_CHALLENGE *ch)
{
	PROTO_RESPONSE *resp = NULL, *ret = NULL;
	PROTO_CHALLENGE_RESP *cr;

	if (ch == NULL || (resp = protocol_response_new(PROTOCOL_OK,
	    PROTO_RESP_CHALLENGE, "answer this challenge")) == NULL)
		goto out;
	cr = resp->body->value.challenge;
	PROTO_CHALLENGE_free(cr->challenge);
	cr->challenge = ch;
	ch = NULL;
	if (!oct_set(cr->session_id, session, session_len) ||
	    ASN1_GENERALIZEDTIME_set(cr->expires_at, expires_at) == NULL)
		goto out;
	ret = resp;
	resp = NULL;
 out:
	PROTO_CHALLENGE_free(ch);
	PROTO_RESPONSE_free(resp);
	return ret;
}

PROTO_ATTESTATION *
protocol_attest_tpm(const uint8_t *session, size_t session_len,
    const uint8_t *secret, size_t secret_len, const uint8_t *key_pub,
    size_t key_pub_len, const uint8_t *attest, size_t attest_len,
    const uint8_t *sig, size_t sig_len)
{
	PROTO_ATTESTATION *a = NULL, *ret = NULL;
	PROTO_TPM_ANSWER *t;

	if ((a = PROTO_ATTESTATION_new()) == NULL)
		goto out;
	a->type = PROTO_ATTEST_TPM;
	if ((t = a->value.tpm = PROTO_TPM_ANSWER_new()) == NULL ||
	    !oct_set(t->session_id, session, session_len) ||
	    !oct_set(t->secret, secret, secret_len) ||
	    !oct_set(t->key_public, key_pub, key_pub_len) ||
	    !oct_set(t->certify_info, attest, attest_len) ||
	    !oct_set(t->signature, sig, sig_len))
		goto out;
	ret = a;
	a = NULL;
 out:
	PROTO_ATTESTATION_free(a);
	return ret;
}
