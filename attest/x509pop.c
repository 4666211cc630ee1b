/* SPDX-License-Identifier: ISC */
/*
 * attest_x509pop: verifies an x509pop attestation (a certificate chain, the
 * server's nonce and a signature over the nonce and the CSR's hash) against
 * named anchor sets and returns the identity the leaf certificate proves.
 * Untrusted certificates are decoded with d2i_X509 and trailing bytes are
 * refused; the chain is checked by OpenSSL's X509_verify_cert. The x509pop
 * attestor (attestor.h) at the end glues it to a request: the nonce is
 * consumed, this CA's certificates are checked against the log, and a
 * renewal names its parent for the commit's revocation check. Selectors:
 * x509pop:subject:, x509pop:sha256: (the leaf's fingerprint), and
 * x509pop:renewed-serial: for a renewal, or x509pop:anchor:,
 * x509pop:serial:, x509pop:cn: for a device.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest/attestor.h"
#include "attest/nonce.h"
#include "attest/x509pop.h"
#include "common/ca_error.h"
#include "common/profile.h"
#include "common/weak_key.h"
#include "protocol/protocol.h"

struct anchor_set {
	char *name;
	enum x509pop_kind kind;
	X509_STORE *store;
};

struct x509pop_anchors {
	struct anchor_set set[X509POP_MAX_ANCHOR_SETS];
	size_t nsets;
	const struct weak_key_list *weak;	/* borrowed; may be NULL */
};

const char *
x509pop_kind_name(enum x509pop_kind k)
{
	switch (k) {
	case X509POP_RENEWAL:
		return "renewal";
	case X509POP_DEVICE:
		return "device";
	}
	return "unknown";
}

int
x509pop_anchors_new(struct x509pop_anchors **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return ca_error(CA_ERR_NOMEM, "x509pop anchors: out of memory");
	return CA_OK;
}

void
x509pop_anchors_set_weak_keys(struct x509pop_anchors *a,
    const struct weak_key_list *weak)
{
	a->weak = weak;
}

void
x509pop_anchors_free(struct x509pop_anchors *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nsets; i++) {
		free(a->set[i].name);
		X509_STORE_free(a->set[i].store);
	}
	free(a);
}

int
x509pop_anchors_add(struct x509pop_anchors *a, const char *name,
    enum x509pop_kind kind, X509 *cert)
{
	struct anchor_set *s = NULL;
	size_t i;

	if (a == NULL || name == NULL || cert == NULL ||
	    (kind != X509POP_RENEWAL && kind != X509POP_DEVICE))
		return ca_error(CA_ERR_USAGE, "x509pop_anchors_add: bad "
		    "arguments");
	for (i = 0; i < a->nsets; i++)
		if (strcmp(a->set[i].name, name) == 0)
			s = &a->set[i];
	if (s != NULL && s->kind != kind)
		return ca_error(CA_ERR_CONFIG, "x509pop anchor set \"%s\": "
		    "already defined as %s, not %s", name,
		    x509pop_kind_name(s->kind), x509pop_kind_name(kind));
	if (s == NULL) {
		if (a->nsets == X509POP_MAX_ANCHOR_SETS)
			return ca_error(CA_ERR_CONFIG, "x509pop anchors: more "
			    "than %d anchor sets", X509POP_MAX_ANCHOR_SETS);
		s = &a->set[a->nsets];
		if ((s->name = strdup(name)) == NULL ||
		    (s->store = X509_STORE_new()) == NULL) {
			free(s->name);
			s->name = NULL;
			return ca_error(CA_ERR_NOMEM, "x509pop anchors: out of "
			    "memory");
		}
		s->kind = kind;
		a->nsets++;
	}
	if (X509_STORE_add_cert(s->store, cert) != 1)
		return ca_error_openssl(CA_ERR_CONFIG, "x509pop anchor set "
		    "\"%s\": cannot add certificate", name);
	return CA_OK;
}

void
x509pop_identity_free(struct x509pop_identity *id)
{
	size_t i;

	if (id == NULL)
		return;
	free(id->anchor);
	free(id->serial);
	free(id->serial_hex);
	free(id->subject);
	free(id->issuer);
	free(id->cn);
	for (i = 0; i < id->nnames; i++)
		free(id->names[i]);
	free(id->names);
	free(id);
}

/*
 * cert_decode decodes chain[idx] and checks its public key with
 * weak_key_check, before any signature is verified with it: a leaf or an
 * intermediate with e = 1 would make any signature "verify".
 */
static int
cert_decode(X509 **out, const uint8_t *der, size_t len, size_t idx,
    const struct weak_key_list *weak)
{
	const unsigned char *p = der;
	X509 *x;
	char what[64];
	int rc;

	*out = NULL;
	if (der == NULL || len == 0)
		return ca_error(CA_ERR_INVALID, "x509pop: chain[%zu]: empty",
		    idx);
	if (len > X509POP_MAX_CERT)
		return ca_error(CA_ERR_INVALID, "x509pop: chain[%zu]: %zu "
		    "bytes, over the %d-byte cap", idx, len, X509POP_MAX_CERT);
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return ca_error_openssl(CA_ERR_INVALID, "x509pop: chain[%zu]: "
		    "not a DER certificate", idx);
	if (p != der + len) {
		X509_free(x);
		return ca_error(CA_ERR_INVALID, "x509pop: chain[%zu]: %zu "
		    "trailing bytes after the certificate", idx,
		    (size_t)(der + len - p));
	}
	snprintf(what, sizeof(what), "x509pop: chain[%zu]%s key", idx,
	    idx == 0 ? " (the leaf)" : "");
	if ((rc = weak_key_check(X509_get0_pubkey(x), weak, what)) != CA_OK) {
		ERR_clear_error();
		X509_free(x);
		return rc;
	}
	*out = x;
	return CA_OK;
}

static const char *
time_str(char *buf, size_t len, const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "(unreadable time)");
	return buf;
}

static int
asn1_time_to_time_t(time_t *out, const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* The leaf's identity fields, with nothing checked yet. */
static int
identity_fill(struct x509pop_identity *id, X509 *leaf)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(leaf);
	GENERAL_NAMES *gens = NULL;
	BIGNUM *bn = NULL;
	X509_NAME *subj = X509_get_subject_name(leaf);
	unsigned char *utf8 = NULL;
	unsigned int mdlen = 0;
	int rc = CA_ERR_NOMEM, i, n, pos;
	size_t k;

	if (X509_digest(leaf, EVP_sha256(), id->fingerprint, &mdlen) != 1 ||
	    mdlen != X509POP_FP_LEN) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "x509pop: leaf digest");
		goto out;
	}
	if ((bn = ASN1_INTEGER_to_BN(sn, NULL)) == NULL)
		goto out;
	id->serial_len = (size_t)BN_num_bytes(bn);
	if ((id->serial = malloc(id->serial_len + 1)) == NULL ||
	    (id->serial_hex = malloc(2 * id->serial_len + 2)) == NULL)
		goto out;
	BN_bn2bin(bn, id->serial);
	for (k = 0; k < id->serial_len; k++)
		snprintf(id->serial_hex + 2 * k, 3, "%02x", id->serial[k]);
	id->serial_hex[2 * id->serial_len] = '\0';
	if (id->serial_len == 0)
		strcpy(id->serial_hex, "00");
	if ((id->subject = profile_name_string(subj)) == NULL ||
	    (id->issuer = profile_name_string(X509_get_issuer_name(leaf))) ==
	    NULL)
		goto out;
	pos = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (pos >= 0) {
		n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(subj, pos)));
		if (n < 0 || (int)strlen((char *)utf8) != n) {
			rc = ca_error(CA_ERR_INVALID, "x509pop: leaf %s: "
			    "commonName is not a valid string", id->subject);
			goto out;
		}
		if ((id->cn = strdup((char *)utf8)) == NULL)
			goto out;
	}
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, &i, NULL);
	if (gens == NULL && i != -1) {
		rc = ca_error(CA_ERR_INVALID, "x509pop: leaf %s: "
		    "subjectAltName is malformed or repeated", id->subject);
		goto out;
	}
	n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	if (n > 0 && (id->names = calloc((size_t)n, sizeof(char *))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *s;

		if (g->type != GEN_DNS)
			continue;
		s = g->d.dNSName;
		if ((size_t)ASN1_STRING_length(s) != strlen((const char *)
		    ASN1_STRING_get0_data(s))) {
			rc = ca_error(CA_ERR_INVALID, "x509pop: leaf %s: a "
			    "dNSName contains a NUL byte", id->subject);
			goto out;
		}
		if ((id->names[id->nnames] = strdup((const char *)
		    ASN1_STRING_get0_data(s))) == NULL)
			goto out;
		id->nnames++;
	}
	if (asn1_time_to_time_t(&id->not_after, X509_get0_notAfter(leaf)) !=
	    0) {
		rc = ca_error(CA_ERR_INVALID, "x509pop: leaf %s: unreadable "
		    "notAfter", id->subject);
		goto out;
	}
	rc = CA_OK;
 out:
	if (rc == CA_ERR_NOMEM)
		rc = ca_error(CA_ERR_NOMEM, "x509pop: out of memory");
	GENERAL_NAMES_free(gens);
	OPENSSL_free(utf8);
	BN_free(bn);
	return rc;
}

/* Try each anchor set; *set gets the first one the chain verifies to. */
static int
chain_verify(const struct anchor_set **set,
    const struct x509pop_anchors *anchors, X509 *leaf,
    STACK_OF(X509) *untrusted, time_t now, const char *who)
{
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	char why[512];
	size_t i, o = 0;
	int rc = CA_ERR_VERIFY, err;

	*set = NULL;
	why[0] = '\0';
	if (anchors == NULL || anchors->nsets == 0)
		return ca_error(CA_ERR_VERIFY, "x509pop: %s: no anchors are "
		    "configured, so no certificate can be proven", who);
	for (i = 0; i < anchors->nsets; i++) {
		const struct anchor_set *s = &anchors->set[i];

		X509_STORE_CTX_free(ctx);
		if ((ctx = X509_STORE_CTX_new()) == NULL ||
		    X509_STORE_CTX_init(ctx, s->store, leaf, untrusted) != 1) {
			rc = ca_error_openssl(CA_ERR_NOMEM, "x509pop: verify "
			    "context");
			goto out;
		}
		param = X509_STORE_CTX_get0_param(ctx);
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT |
		    X509_V_FLAG_PARTIAL_CHAIN);
		X509_VERIFY_PARAM_set_time(param, now);
		X509_VERIFY_PARAM_set_depth(param, X509POP_MAX_CHAIN);
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
		if (X509_verify_cert(ctx) == 1) {
			*set = s;
			rc = CA_OK;
			goto out;
		}
		err = X509_STORE_CTX_get_error(ctx);
		if (o < sizeof(why))
			o += (size_t)snprintf(why + o, sizeof(why) - o,
			    "%s%s \"%s\": %s", o > 0 ? "; " : "",
			    x509pop_kind_name(s->kind), s->name,
			    X509_verify_cert_error_string(err));
	}
	ERR_clear_error();
	rc = ca_error(CA_ERR_VERIFY, "x509pop: %s: the certificate does not "
	    "chain to a configured anchor (%s); send the full chain, or "
	    "request a certificate with a join token", who, why);
 out:
	X509_STORE_CTX_free(ctx);
	return rc;
}

static int
pop_signature_verify(X509 *leaf, const struct x509pop_evidence *ev,
    const char *who)
{
	uint8_t tbs[PROTOCOL_POP_TBS_LEN];
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY *pk;
	const EVP_MD *md = EVP_sha256();
	int rc = CA_ERR_VERIFY, type;

	if ((pk = X509_get0_pubkey(leaf)) == NULL)
		return ca_error_openssl(CA_ERR_INVALID, "x509pop: %s: "
		    "unreadable public key", who);
	type = EVP_PKEY_get_base_id(pk);
	if (type == EVP_PKEY_ED25519)
		md = NULL;
	else if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA)
		return ca_error(CA_ERR_UNSUPPORTED, "x509pop: %s: key type %s "
		    "is not supported (ECDSA, RSA and Ed25519 are)", who,
		    OBJ_nid2sn(type));
	if ((rc = protocol_pop_tbs(tbs, ev->nonce, ev->nonce_len, ev->csr,
	    ev->csr_len)) != CA_OK)
		goto out;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(mctx, NULL, md, NULL, pk) != 1) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "x509pop: %s: cannot "
		    "set up signature verification", who);
		goto out;
	}
	if (EVP_DigestVerify(mctx, ev->sig, ev->sig_len, tbs,
	    sizeof(tbs)) != 1) {
		ERR_clear_error();
		rc = ca_error(CA_ERR_VERIFY, "x509pop: %s: the signature over "
		    "the nonce and the CSR does not verify with the "
		    "certificate's key; sign the nonce you were given together "
		    "with the CSR you send, with this certificate's key", who);
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_MD_CTX_free(mctx);
	return rc;
}

int
attest_x509pop_verify(struct x509pop_identity **out,
    const struct x509pop_anchors *anchors,
    const struct x509pop_evidence *ev, time_t now,
    x509pop_revoked_fn is_revoked, void *revoked_arg)
{
	struct x509pop_identity *id = NULL;
	const struct anchor_set *set = NULL;
	STACK_OF(X509) *untrusted = NULL;
	X509 *leaf = NULL, *x = NULL;
	char who[320], when[64];
	size_t i;
	int rc = CA_ERR_INTERNAL, revoked = 0;

	*out = NULL;
	if (ev == NULL || (ev->nchain > 0 && (ev->chain == NULL ||
	    ev->chain_len == NULL)))
		return ca_error(CA_ERR_USAGE, "attest_x509pop_verify: bad "
		    "arguments");
	if (ev->nchain == 0)
		return ca_error(CA_ERR_INVALID, "x509pop: no certificate was "
		    "sent");
	if (ev->nchain > X509POP_MAX_CHAIN)
		return ca_error(CA_ERR_INVALID, "x509pop: %zu certificates, "
		    "over the cap of %d", ev->nchain, X509POP_MAX_CHAIN);
	if (ev->nonce == NULL || ev->nonce_len != PROTOCOL_NONCE_LEN)
		return ca_error(CA_ERR_INVALID, "x509pop: the nonce must be %d "
		    "bytes", PROTOCOL_NONCE_LEN);
	if (ev->sig == NULL || ev->sig_len == 0 ||
	    ev->sig_len > X509POP_MAX_SIG)
		return ca_error(CA_ERR_INVALID, "x509pop: the signature must "
		    "be 1..%d bytes", X509POP_MAX_SIG);
	if (ev->csr == NULL || ev->csr_len == 0)
		return ca_error(CA_ERR_INVALID, "x509pop: no CSR");

	if ((rc = cert_decode(&leaf, ev->chain[0], ev->chain_len[0], 0,
	    anchors != NULL ? anchors->weak : NULL)) != CA_OK)
		goto out;
	if ((untrusted = sk_X509_new_null()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "x509pop: out of memory");
		goto out;
	}
	for (i = 1; i < ev->nchain; i++) {
		if ((rc = cert_decode(&x, ev->chain[i], ev->chain_len[i],
		    i, anchors != NULL ? anchors->weak : NULL)) != CA_OK)
			goto out;
		if (!sk_X509_push(untrusted, x)) {
			rc = ca_error(CA_ERR_NOMEM, "x509pop: out of memory");
			goto out;
		}
		x = NULL;
	}
	if ((id = calloc(1, sizeof(*id))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "x509pop: out of memory");
		goto out;
	}
	if ((rc = identity_fill(id, leaf)) != CA_OK)
		goto out;
	snprintf(who, sizeof(who), "certificate %s serial %s", id->subject,
	    id->serial_hex);

	/* A CA certificate (an anchor itself, say) proves no end entity. */
	if (X509_check_ca(leaf) != 0) {
		rc = ca_error(CA_ERR_DENIED, "x509pop: %s is a CA certificate; "
		    "only an end-entity certificate can be renewed or used "
		    "as a device identity", who);
		goto out;
	}
	/* Validity first, for a message better than the verifier's. */
	if (X509_cmp_time(X509_get0_notAfter(leaf), &now) <= 0) {
		rc = ca_error(CA_ERR_EXPIRED, "x509pop: %s expired at %s; it "
		    "can no longer be renewed: request a new certificate with "
		    "a join token", who, time_str(when, sizeof(when),
		    X509_get0_notAfter(leaf)));
		goto out;
	}
	if (X509_cmp_time(X509_get0_notBefore(leaf), &now) > 0) {
		rc = ca_error(CA_ERR_EXPIRED, "x509pop: %s is not valid before "
		    "%s; check this machine's clock", who,
		    time_str(when, sizeof(when), X509_get0_notBefore(leaf)));
		goto out;
	}
	if ((rc = chain_verify(&set, anchors, leaf, untrusted, now, who)) !=
	    CA_OK)
		goto out;
	if (is_revoked != NULL) {
		if ((rc = is_revoked(revoked_arg, set->kind, id->serial,
		    id->serial_len, X509_get_issuer_name(leaf), &revoked)) !=
		    CA_OK)
			goto out;
		if (revoked) {
			rc = ca_error(CA_ERR_DENIED, "x509pop: %s is revoked; "
			    "ask the operator, or request a new certificate "
			    "with a join token", who);
			goto out;
		}
	}
	if ((rc = pop_signature_verify(leaf, ev, who)) != CA_OK)
		goto out;
	id->kind = set->kind;
	if ((id->anchor = strdup(set->name)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "x509pop: out of memory");
		goto out;
	}
	*out = id;
	id = NULL;
	rc = CA_OK;
 out:
	x509pop_identity_free(id);
	X509_free(x);
	X509_free(leaf);
	sk_X509_pop_free(untrusted, X509_free);
	return rc;
}

/* --- the x509pop attestor (attestor.h) --- */

/*
 * pop_revoked is the revocation hook for this CA's own certificates
 * (renewals): the log knows them; a manufacturer's it does not.
 */
static int
pop_revoked(void *arg, enum x509pop_kind kind, const uint8_t *serial,
    size_t serial_len, const X509_NAME *issuer, int *revoked)
{
	const struct attest_env *env = arg;
	struct issuance_cert *c = NULL;
	int rc;

	(void)issuer;
	*revoked = 0;
	if (kind != X509POP_RENEWAL)
		return CA_OK;
	if (serial_len != ISSUANCE_LOG_SERIAL_LEN)
		return ca_error(CA_ERR_DENIED, "the certificate's serial is "
		    "not one this issuer makes; request a new certificate "
		    "with a join token");
	rc = issuance_log_find(env->log, &c, serial);
	if (rc == CA_ERR_NOT_FOUND)
		return ca_error(CA_ERR_DENIED, "the certificate is not in this "
		    "issuer's log; request a new certificate with a join "
		    "token");
	if (rc != CA_OK)
		return rc;
	if (c->status == ISSUANCE_REVOKED)
		*revoked = 1;
	else if (c->status != ISSUANCE_ISSUED)
		rc = ca_error(CA_ERR_DENIED, "the certificate was never "
		    "issued (status %s)", issuance_status_name(c->status));
	issuance_cert_free(c);
	return rc;
}

/*
 * pop_configure makes the anchor sets: this CA's certificate for renewals,
 * and every certificate of the [issuer] x509pop_device_anchors files for
 * devices; every key on a chain is checked against the weak-key lists.
 */
static int
pop_configure(void **state, const struct attest_config *ac)
{
	struct x509pop_anchors *a = NULL;
	STACK_OF(X509) *dev = NULL;
	size_t i;
	int j, rc;

	*state = NULL;
	if ((rc = x509pop_anchors_new(&a)) != CA_OK ||
	    (rc = x509pop_anchors_add(a, "this CA", X509POP_RENEWAL,
	    ac->inter)) != CA_OK)
		goto out;
	x509pop_anchors_set_weak_keys(a, ac->weak);
	for (i = 0; i < ac->cfg->ndevice_anchors; i++) {
		if ((dev = sk_X509_new_null()) == NULL) {
			rc = ca_error(CA_ERR_NOMEM, "x509pop: out of memory");
			goto out;
		}
		if ((rc = profile_certs_read(dev, ac->cfg->device_anchors[i],
		    64)) != CA_OK)
			goto out;
		for (j = 0; j < sk_X509_num(dev); j++)
			if ((rc = x509pop_anchors_add(a,
			    ac->cfg->device_anchors[i], X509POP_DEVICE,
			    sk_X509_value(dev, j))) != CA_OK)
				goto out;
		sk_X509_pop_free(dev, X509_free);
		dev = NULL;
	}
	*state = a;
	a = NULL;
	rc = CA_OK;
 out:
	sk_X509_pop_free(dev, X509_free);
	x509pop_anchors_free(a);
	return rc;
}

/* pop_refuse: attest_refuse with one "x509pop: " in front. */
static void
pop_refuse(struct attest_result *res, enum protocol_status st)
{
	attest_refuse(res, st, "%s%s", strncmp(ca_error_detail(), "x509pop",
	    7) == 0 ? "" : "x509pop: ", ca_error_detail());
}

static void
pop_verify(void *state, const struct attest_env *env,
    const struct attest_request *req, struct attest_result *res)
{
	const PROTO_X509_POP *pop = req->evidence->value.x509_pop;
	const uint8_t *chain[PROTOCOL_MAX_CHAIN];
	size_t chain_len[PROTOCOL_MAX_CHAIN];
	struct x509pop_evidence ev;
	struct x509pop_identity *id = NULL;
	const ASN1_OCTET_STRING *o;
	char fp[2 * X509POP_FP_LEN + 1];
	int i, n, rc;

	snprintf(res->who, sizeof(res->who), "x509pop");
	res->attestation = "x509pop";
	rc = nonce_consume(env->nonces, ASN1_STRING_get0_data(pop->nonce),
	    (size_t)ASN1_STRING_length(pop->nonce));
	if (rc != CA_OK) {
		pop_refuse(res, PROTOCOL_NONCE_INVALID);
		return;
	}
	n = sk_ASN1_OCTET_STRING_num(pop->chain);
	if (n < 1 || n > PROTOCOL_MAX_CHAIN) {
		attest_refuse(res, PROTOCOL_BAD_REQUEST, "x509pop: chain of %d "
		    "certificates (1..%d)", n, PROTOCOL_MAX_CHAIN);
		return;
	}
	for (i = 0; i < n; i++) {
		o = sk_ASN1_OCTET_STRING_value(pop->chain, i);
		chain[i] = ASN1_STRING_get0_data(o);
		chain_len[i] = (size_t)ASN1_STRING_length(o);
	}
	memset(&ev, 0, sizeof(ev));
	ev.chain = chain;
	ev.chain_len = chain_len;
	ev.nchain = (size_t)n;
	ev.nonce = ASN1_STRING_get0_data(pop->nonce);
	ev.nonce_len = (size_t)ASN1_STRING_length(pop->nonce);
	ev.sig = ASN1_STRING_get0_data(pop->signature);
	ev.sig_len = (size_t)ASN1_STRING_length(pop->signature);
	ev.csr = req->csr;
	ev.csr_len = req->csr_len;
	rc = attest_x509pop_verify(&id, state, &ev, env->now, pop_revoked,
	    (void *)env);
	if (rc == CA_ERR_DB || rc == CA_ERR_NOMEM || rc == CA_ERR_INTERNAL) {
		attest_unavailable(res, rc, "x509pop");
		return;
	}
	if (rc != CA_OK) {
		pop_refuse(res, PROTOCOL_BAD_ATTESTATION);
		return;
	}
	res->priv = id;
	snprintf(res->who, sizeof(res->who), "x509pop %s %s",
	    x509pop_kind_name(id->kind), id->serial_hex);
	snprintf(res->requester, sizeof(res->requester), "%s",
	    id->subject[0] != '\0' ? id->subject : id->serial_hex);
	memcpy(res->evidence, id->fingerprint, sizeof(res->evidence));
	for (i = 0; i < X509POP_FP_LEN; i++)
		snprintf(fp + 2 * i, 3, "%02x", id->fingerprint[i]);
	if (id->kind == X509POP_RENEWAL) {
		res->id.method = POLICY_X509POP_RENEWAL;
		res->id.names = (const char *const *)id->names;
		res->id.nnames = id->nnames;
		/* A renewal is refused at commit if its parent is revoked. */
		res->renewal = 1;
		memcpy(res->parent_serial, id->serial,
		    sizeof(res->parent_serial));
		attest_selector_add(res, "x509pop", "renewed-serial",
		    id->serial_hex);
	} else {
		res->id.method = POLICY_X509POP_DEVICE;
		res->id.serial_hex = id->serial_hex;
		res->id.cn = id->cn;
		attest_selector_add(res, "x509pop", "anchor", id->anchor);
		attest_selector_add(res, "x509pop", "serial", id->serial_hex);
		if (id->cn != NULL)
			attest_selector_add(res, "x509pop", "cn", id->cn);
	}
	attest_selector_add(res, "x509pop", "subject", id->subject);
	attest_selector_add(res, "x509pop", "sha256", fp);
}

static void
pop_result_free(struct attest_result *res)
{
	x509pop_identity_free(res->priv);
}

static void
pop_free(void *state)
{
	x509pop_anchors_free(state);
}

const struct attestor attestor_x509pop = {
	.name = "x509pop",
	.method = "issue/x509pop",
	.wire_type = PROTO_ATTEST_X509_POP,
	.configure = pop_configure,
	.verify = pop_verify,
	.conflict = NULL,
	.result_free = pop_result_free,
	.free = pop_free,
};
