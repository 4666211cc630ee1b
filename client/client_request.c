/* SPDX-License-Identifier: ISC */
/*
 * client_request: `carapace request` and `carapace renew`. The key pair is
 * made here (or read from a file) and never leaves the machine: only the
 * CSR it signs is sent. A request proves itself with a join token, read
 * from a file or an environment variable (never argv) into sodium memory;
 * a renewal with x509pop, signing the server's nonce and the CSR's hash
 * with the current certificate's key (docs/protocol.md).
 *
 * A request can instead prove itself with a platform's signed identity
 * document (iddoc_load): the PlatformDocument, its Ed25519 signature and
 * the platform key's id, as files a platform agent wrote, or the three in
 * one DER IdentityDoc. The client checks that they are well formed; only
 * the issuer can check the signature, freshness and instance.
 *
 * The outputs are checked before anything is sent (a token is not spent
 * for a file that cannot be written) and written only after the server
 * answered with a certificate that matches the key: key (0600), then
 * certificate and chain, each created with O_EXCL. If one of them cannot
 * be written the others are removed, so a failure leaves nothing behind.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/profile.h"
#include "common/secure.h"
#include "protocol/protocol.h"
#include "hsm/hsm.h"
#include "client/client.h"
#include "attest/join_token.h"

#define MAX_TOKEN_FILE	4096
/* An IdentityDoc in base64 with line breaks, with room to spare. */
#define MAX_IDDOC_FILE	(4 * PROTOCOL_MAX_DOCUMENT)

int
client_key_generate(EVP_PKEY **out, const char *type)
{
	*out = NULL;
	if (type == NULL || strcmp(type, "ec-p256") == 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(type, "ec-p384") == 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(type, "rsa-2048") == 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(type, "rsa-3072") == 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	else
		return ca_error(CA_ERR_USAGE, "key type %s: use ec-p256, "
		    "ec-p384, rsa-2048 or rsa-3072", type);
	if (*out == NULL)
		return ca_error_openssl(CA_ERR_INTERNAL, "cannot generate a "
		    "%s key", type);
	return CA_OK;
}

int
client_csr_build(X509_REQ **out, EVP_PKEY *key, const char *cn,
    const char *const *names, size_t nnames)
{
	return client_csr_build_ex(out, key, NULL, cn, names, nnames);
}

int
client_csr_build_ex(X509_REQ **out, EVP_PKEY *key, const char *propq,
    const char *cn, const char *const *names, size_t nnames)
{
	EVP_MD_CTX *sctx = NULL;
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	const EVP_MD *md;
	size_t i;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (nnames == 0 || nnames > PROTOCOL_MAX_NAMES)
		return ca_error(CA_ERR_USAGE, "give 1 to %d names (--name)",
		    PROTOCOL_MAX_NAMES);
	if ((rc = profile_digest(&md, key, NULL, "CSR")) != CA_OK)
		goto out;
	if ((req = X509_REQ_new()) == NULL || (subj = X509_NAME_new()) ==
	    NULL || (gens = GENERAL_NAMES_new()) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_REQ_set_subject_name(req, subj) ||
	    !X509_REQ_set_pubkey(req, key)) {
		rc = ca_error_openssl(CA_ERR_INVALID, "CSR: subject CN=%s", cn);
		goto out;
	}
	for (i = 0; i < nnames; i++) {
		if ((gn = GENERAL_NAME_new()) == NULL ||
		    (ia5 = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(ia5, names[i], -1)) {
			rc = ca_error(CA_ERR_NOMEM, "out of memory");
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
		ia5 = NULL;
		if (!sk_GENERAL_NAME_push(gens, gn)) {
			rc = ca_error(CA_ERR_NOMEM, "out of memory");
			goto out;
		}
		gn = NULL;
	}
	if ((ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
	    !sk_X509_EXTENSION_push(exts, ext)) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "CSR: subjectAltName");
		goto out;
	}
	ext = NULL;
	if (!X509_REQ_add_extensions(req, exts) ||
	    (sctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(sctx, NULL, md != NULL ?
	    EVP_MD_get0_name(md) : NULL, NULL, propq, key, NULL) != 1 ||
	    X509_REQ_sign_ctx(req, sctx) <= 0) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "CSR: cannot sign");
		goto out;
	}
	*out = req;
	req = NULL;
	rc = CA_OK;
 out:
	EVP_MD_CTX_free(sctx);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return rc;
}

/*
 * Read the join token from a file or the environment into a parsed
 * credential. The file's buffer (all of it) and the copy are wiped. A token
 * file that other users could read is refused (CA_ERR_INVALID), as hsm/
 * refuses such a PIN file: `carapace token create --out` writes 0600.
 */
static int
token_load(struct join_token_cred **out, const struct client_request_opts *o)
{
	struct stat st;
	uint8_t *buf = NULL;
	char *s = NULL;
	const char *src, *v;
	size_t buf_len = 0, len = 0;
	int fd = -1, rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((o->token_file == NULL) == (o->token_env == NULL))
		return ca_error(CA_ERR_USAGE, "give the join token with "
		    "either --token-file FILE or --token-env NAME");
	if (o->token_file != NULL) {
		src = o->token_file;
		if ((fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
			rc = ca_error(errno == ENOENT ? CA_ERR_NOT_FOUND :
			    CA_ERR_IO, "token file %s: %s", src,
			    strerror(errno));
			goto out;
		}
		if (fstat(fd, &st) == -1) {
			rc = ca_error(CA_ERR_IO, "token file %s: %s", src,
			    strerror(errno));
			goto out;
		}
		if (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
			rc = ca_error(CA_ERR_INVALID, "token file %s: other "
			    "users can read or write it (mode %03o); make it "
			    "0600 or 0400", src,
			    (unsigned int)(st.st_mode & 0777));
			goto out;
		}
		if ((rc = fileio_read_fd(&buf, &buf_len, fd, src,
		    MAX_TOKEN_FILE)) != CA_OK)
			goto out;
		len = buf_len;
		v = (const char *)buf;
	} else {
		src = o->token_env;
		if ((v = getenv(o->token_env)) == NULL) {
			rc = ca_error(CA_ERR_USAGE, "environment variable %s "
			    "is not set", o->token_env);
			goto out;
		}
		len = strlen(v);
	}
	/* Surrounding blanks and the final newline are not part of it. */
	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char)*v)) {
		v++;
		len--;
	}
	if ((s = sodium_malloc(len + 1)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(s, v, len);
	s[len] = '\0';
	if (o->token_env != NULL)
		secure_env_forget(o->token_env);	/* read once */
	if ((rc = join_token_parse(out, s)) != CA_OK) {
		char why[512];

		snprintf(why, sizeof(why), "%s", ca_error_detail());
		rc = ca_error(CA_ERR_INVALID, "join token from %s: %s", src,
		    why);
	}
 out:
	if (fd != -1)
		close(fd);
	if (buf != NULL) {
		/* The whole buffer, not the trimmed token, and its NUL. */
		sodium_memzero(buf, buf_len + 1);
		free(buf);
	}
	if (s != NULL)
		sodium_free(s);
	return rc;
}

/*
 * Text to bytes: buf (len bytes, blanks around and line breaks ignored) is
 * standard base64, with or without padding, or, when hex_ok, hex digits.
 * *out is freed by the caller with free(). Returns CA_OK or CA_ERR_INVALID
 * naming path and what.
 */
static int
text_decode(uint8_t **out, size_t *out_len, const uint8_t *buf, size_t len,
    int hex_ok, const char *path, const char *what)
{
	const char *t = (const char *)buf, *end;
	uint8_t *bin = NULL;
	size_t i, n, bin_len = 0;
	int hex = hex_ok;

	*out = NULL;
	*out_len = 0;
	while (len > 0 && isspace((unsigned char)t[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char)*t)) {
		t++;
		len--;
	}
	for (i = 0, n = 0; i < len; i++) {
		if (!isprint((unsigned char)t[i]) && !isspace((unsigned char)t[i]))
			return ca_error(CA_ERR_INVALID, "%s: %s: neither DER "
			    "(a SEQUENCE) nor base64 text (byte %zu is "
			    "0x%02x)", path, what, i, (unsigned char)t[i]);
		if (!isspace((unsigned char)t[i])) {
			n++;
			if (!isxdigit((unsigned char)t[i]))
				hex = 0;
		}
	}
	if (n == 0)
		return ca_error(CA_ERR_INVALID, "%s: %s: the file is empty",
		    path, what);
	if ((bin = malloc(n)) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	if (hex && n % 2 == 0) {
		if (sodium_hex2bin(bin, n, t, len, " \t\r\n", &bin_len,
		    &end) != 0 || end != t + len)
			goto bad;
	} else if ((sodium_base642bin(bin, n, t, len, " \t\r\n", &bin_len,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 || end != t + len) &&
	    (sodium_base642bin(bin, n, t, len, " \t\r\n", &bin_len, &end,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
	    end != t + len))
		goto bad;
	*out = bin;
	*out_len = bin_len;
	return CA_OK;
 bad:
	free(bin);
	return ca_error(CA_ERR_INVALID, "%s: %s: neither DER nor valid "
	    "base64%s text", path, what, hex_ok ? " or hex" : "");
}

/*
 * An IdentityDoc from DER: strict (no trailing bytes, re-encodes to the
 * same bytes). Returns the object or NULL.
 */
static PROTO_IDENTITY_DOC *
bundle_decode(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	unsigned char *re = NULL;
	PROTO_IDENTITY_DOC *d;
	int relen;

	if (len == 0 || len > MAX_IDDOC_FILE)
		return NULL;
	if ((d = d2i_PROTO_IDENTITY_DOC(NULL, &p, (long)len)) == NULL ||
	    p != der + len || (relen = i2d_PROTO_IDENTITY_DOC(d, &re)) < 0 ||
	    (size_t)relen != len || memcmp(re, der, len) != 0) {
		ERR_clear_error();
		OPENSSL_free(re);
		PROTO_IDENTITY_DOC_free(d);
		return NULL;
	}
	OPENSSL_free(re);
	return d;
}

/*
 * iddoc_load builds the identityDoc attestation from o->iddoc, which holds
 * either a DER IdentityDoc (document, key id and signature, as
 * docs/protocol.md defines it) or, with o->iddoc_sig and o->iddoc_key_id,
 * the DER PlatformDocument alone. Either may be base64 text instead; the
 * signature file holds 64 bytes, or their base64 or hex. The document must
 * be a well-formed PlatformDocument. *out is freed with
 * PROTO_ATTESTATION_free.
 */
static int
iddoc_load(PROTO_ATTESTATION **out, const struct client_request_opts *o)
{
	PROTO_IDENTITY_DOC *bundle = NULL;
	PROTO_PLATFORM_DOC *pd = NULL;
	uint8_t *buf = NULL, *doc = NULL, *sbuf = NULL, *sig = NULL;
	size_t len = 0, doc_len = 0, slen = 0, sig_len = 0;
	const uint8_t *d, *sg;
	size_t d_len, sg_len;
	char *kid = NULL, why[512];
	const char *key_id;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if ((rc = fileio_read(&buf, &len, o->iddoc, MAX_IDDOC_FILE)) != CA_OK)
		goto out;
	if (len > 0 && buf[0] == 0x30) {	/* a DER SEQUENCE */
		doc = buf;
		doc_len = len;
		buf = NULL;
	} else if ((rc = text_decode(&doc, &doc_len, buf, len, 0, o->iddoc,
	    "identity document")) != CA_OK)
		goto out;
	bundle = bundle_decode(doc, doc_len);
	if (o->iddoc_sig == NULL) {
		if (bundle == NULL) {
			if (protocol_platform_doc_decode(&pd, doc, doc_len) ==
			    CA_OK)
				rc = ca_error(CA_ERR_USAGE, "%s is a "
				    "PlatformDocument without its signature: "
				    "give --iddoc-sig FILE and --iddoc-key-id "
				    "ID too", o->iddoc);
			else
				rc = ca_error(CA_ERR_INVALID, "%s: not an "
				    "IdentityDoc (DER or base64, "
				    "docs/protocol.md) nor a PlatformDocument",
				    o->iddoc);
			goto out;
		}
		d = ASN1_STRING_get0_data(bundle->document);
		d_len = (size_t)ASN1_STRING_length(bundle->document);
		sg = ASN1_STRING_get0_data(bundle->signature);
		sg_len = (size_t)ASN1_STRING_length(bundle->signature);
		if (ASN1_STRING_length(bundle->key_id) < 1 ||
		    ASN1_STRING_length(bundle->key_id) > PROTOCOL_MAX_STRING || (kid = strndup((const char *)
		    ASN1_STRING_get0_data(bundle->key_id),
		    (size_t)ASN1_STRING_length(bundle->key_id))) == NULL ||
		    strlen(kid) != (size_t)ASN1_STRING_length(bundle->key_id)) {
			rc = ca_error(CA_ERR_INVALID, "%s: IdentityDoc: keyId "
			    "is not 1 to %d characters of text", o->iddoc,
			    PROTOCOL_MAX_STRING);
			goto out;
		}
		key_id = kid;
	} else {
		if (bundle != NULL) {
			rc = ca_error(CA_ERR_USAGE, "%s is an IdentityDoc that "
			    "carries its own signature and key id: leave out "
			    "--iddoc-sig and --iddoc-key-id", o->iddoc);
			goto out;
		}
		if ((rc = fileio_read(&sbuf, &slen, o->iddoc_sig,
		    MAX_IDDOC_FILE)) != CA_OK)
			goto out;
		if (slen == PROTOCOL_ED25519_SIG_LEN) {
			sig = sbuf;
			sig_len = slen;
			sbuf = NULL;
		} else if ((rc = text_decode(&sig, &sig_len, sbuf, slen, 1,
		    o->iddoc_sig, "signature")) != CA_OK)
			goto out;
		d = doc;
		d_len = doc_len;
		sg = sig;
		sg_len = sig_len;
		key_id = o->iddoc_key_id;
	}
	if (sg_len != PROTOCOL_ED25519_SIG_LEN) {
		rc = ca_error(CA_ERR_INVALID, "%s: an Ed25519 signature is %d "
		    "bytes, not %zu", o->iddoc_sig != NULL ? o->iddoc_sig :
		    o->iddoc, PROTOCOL_ED25519_SIG_LEN, sg_len);
		goto out;
	}
	if (key_id == NULL || key_id[0] == '\0' ||
	    strlen(key_id) > PROTOCOL_MAX_STRING) {
		rc = ca_error(CA_ERR_USAGE, "--iddoc-key-id: the platform "
		    "key's id, 1 to %d characters", PROTOCOL_MAX_STRING);
		goto out;
	}
	if (d_len == 0 || d_len > PROTOCOL_MAX_DOCUMENT ||
	    protocol_platform_doc_decode(&pd, d, d_len) != CA_OK) {
		snprintf(why, sizeof(why), "%s", d_len == 0 ||
		    d_len > PROTOCOL_MAX_DOCUMENT ? "size out of range" :
		    ca_error_detail());
		rc = ca_error(CA_ERR_INVALID, "%s: not a valid "
		    "PlatformDocument (docs/protocol.md): %s", o->iddoc, why);
		goto out;
	}
	if ((*out = protocol_attest_identity_doc(d, d_len, key_id, sg,
	    sg_len)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = CA_OK;
 out:
	PROTO_PLATFORM_DOC_free(pd);
	PROTO_IDENTITY_DOC_free(bundle);
	free(kid);
	free(buf);
	free(doc);
	free(sbuf);
	free(sig);
	return rc;
}

/* DNS names: "DNS:" prefixes are accepted and dropped. */
static const char *
dns_name(const char *n)
{
	return strncmp(n, "DNS:", 4) == 0 ? n + 4 : n;
}

static int
names_check(const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (names[i][0] == '\0' ||
		    strlen(names[i]) > PROTOCOL_MAX_NAME_LEN - 4)
			return ca_error(CA_ERR_USAGE, "--name %s: a DNS name "
			    "of 1 to %d characters", names[i],
			    PROTOCOL_MAX_NAME_LEN - 4);
		if (strchr(names[i], ':') != NULL)
			return ca_error(CA_ERR_USAGE, "--name %s: only DNS "
			    "names can be requested", names[i]);
	}
	return CA_OK;
}

/* PEM of a private key in secure-heap memory. */
static int
key_pem(BIO **out, EVP_PKEY *key)
{
	BIO *b;

	*out = NULL;
	if ((b = BIO_new(BIO_s_secmem())) == NULL)
		return ca_error(CA_ERR_NOMEM, "out of memory");
	if (!PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(b);
		return ca_error_openssl(CA_ERR_INTERNAL, "cannot encode the "
		    "private key");
	}
	*out = b;
	return CA_OK;
}

/*
 * Append the PEM of one DER certificate to b, unless it is a self-signed
 * root and skip_root is set (--chain-out leaves the trust anchor out: a
 * relying party must already have it); the certificate to *xout too.
 */
static int
cert_pem_append(BIO *b, X509 **xout, const ASN1_OCTET_STRING *der,
    int skip_root, const char *what)
{
	const unsigned char *p = ASN1_STRING_get0_data(der);
	long len = ASN1_STRING_length(der);
	X509 *x;

	if (xout != NULL)
		*xout = NULL;
	if ((x = d2i_X509(NULL, &p, len)) == NULL ||
	    p != ASN1_STRING_get0_data(der) + len) {
		X509_free(x);
		return ca_error_openssl(CA_ERR_INVALID, "the server sent a "
		    "%s that does not parse", what);
	}
	if ((!skip_root || (X509_get_extension_flags(x) & EXFLAG_SS) == 0) &&
	    !PEM_write_bio_X509(b, x)) {
		X509_free(x);
		return ca_error_openssl(CA_ERR_INTERNAL, "PEM");
	}
	if (xout != NULL)
		*xout = x;
	else
		X509_free(x);
	return CA_OK;
}

static void
print_cert_summary(X509 *x, const char *path)
{
	char nb[32], *serial;

	serial = client_serial_hex(X509_get0_serialNumber(x));
	printf("certificate %s written to %s, valid until %s\n",
	    serial != NULL ? serial : "?", path,
	    client_time_str(nb, X509_get0_notAfter(x)));
	free(serial);
}

int
client_issued_write(const PROTO_ISSUED *is, EVP_PKEY *pub, EVP_PKEY *key,
    const char *key_text, const char *key_out, const char *cert_out,
    const char *chain_out)
{
	struct client_outputs outs;
	BIO *kb = NULL, *cb = NULL, *chb = NULL;
	X509 *leaf = NULL;
	BUF_MEM *m;
	char *serial = NULL;
	int i, rc, ret = CLIENT_EXIT_FAILED;

	memset(&outs, 0, sizeof(outs));
	if ((cb = BIO_new(BIO_s_mem())) == NULL ||
	    (chb = BIO_new(BIO_s_mem())) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = cert_pem_append(cb, &leaf, is->certificate, 0,
	    "certificate")) != CA_OK)
		goto fail;
	serial = client_serial_hex(X509_get0_serialNumber(leaf));
	/* pub: our key's public half (the key may be in an HSM). */
	if (EVP_PKEY_eq(X509_get0_pubkey(leaf), pub) != 1) {
		rc = ca_error_openssl(CA_ERR_VERIFY, "the certificate the "
		    "server sent (serial %s) is not for our key", serial);
		goto fail;
	}
	for (i = 0; i < sk_ASN1_OCTET_STRING_num(is->chain); i++)
		if ((rc = cert_pem_append(chb, NULL,
		    sk_ASN1_OCTET_STRING_value(is->chain, i), 1,
		    "chain certificate")) != CA_OK)
			goto fail;
	if (key_out != NULL && key_text != NULL) {
		if ((rc = client_outputs_write(&outs, key_out, key_text,
		    strlen(key_text), 0600)) != CA_OK)
			goto fail;
	} else if (key_out != NULL) {
		if ((rc = key_pem(&kb, key)) != CA_OK)
			goto fail;
		BIO_get_mem_ptr(kb, &m);
		if ((rc = client_outputs_write(&outs, key_out, m->data,
		    m->length, 0600)) != CA_OK)
			goto fail;
	}
	BIO_get_mem_ptr(cb, &m);
	if ((rc = client_outputs_write(&outs, cert_out, m->data, m->length,
	    0644)) != CA_OK)
		goto fail;
	if (chain_out != NULL) {
		BIO_get_mem_ptr(chb, &m);
		if ((rc = client_outputs_write(&outs, chain_out, m->data,
		    m->length, 0644)) != CA_OK)
			goto fail;
	}
	print_cert_summary(leaf, cert_out);
	ret = CLIENT_EXIT_OK;
	goto out;
 fail:
	(void)rc;
	client_outputs_abort(&outs);
	fprintf(stderr, "carapace: %s\n", ca_error_detail());
	if (serial != NULL)
		fprintf(stderr, "carapace: certificate %s was issued but not "
		    "saved; nothing was written. Ask the operator to revoke "
		    "it (carapace revoke %s --reason superseded) and request "
		    "again\n", serial, serial);
 out:
	free(serial);
	X509_free(leaf);
	BIO_free(kb);
	BIO_free(cb);
	BIO_free(chb);
	return ret;
}

/*
 * A private key the client signs with: a PEM file's, or one held in an
 * HSM (a pkcs11: URI), which is only reached through hsm_key_sign.
 */
struct ckey {
	EVP_PKEY *soft;			/* the file's key, or NULL */
	struct hsm *h;
	struct hsm_key *k;
	EVP_PKEY *pub;			/* its public half (either kind) */
};

typedef int (*ckey_fn)(EVP_PKEY *, void *);

static void
ckey_close(struct ckey *ck)
{
	EVP_PKEY_free(ck->soft);
	EVP_PKEY_free(ck->pub);
	hsm_key_free(ck->k);
	hsm_free(ck->h);
	memset(ck, 0, sizeof(*ck));
}

/*
 * ckey_open opens the key named by spec: a PEM file, or, for a pkcs11:
 * URI, the key on the token of module (logging in with pin_source),
 * generated there first when make is set and the token does not hold it
 * (key type key_type, default ec-p256): it never leaves the HSM.
 */
static int
ckey_open(struct ckey *ck, const char *spec, const char *module,
    const char *pin_source, int make, const char *key_type)
{
	struct hsm_config hc;
	struct hsm_pin *pin = NULL;
	enum hsm_key_type type = HSM_KEY_EC_P256;
	int rc;

	memset(ck, 0, sizeof(*ck));
	if (strncmp(spec, "pkcs11:", 7) != 0) {
		if ((rc = client_key_read(&ck->soft, spec)) != CA_OK)
			goto out;
		if (EVP_PKEY_up_ref(ck->soft) != 1) {
			rc = ca_error(CA_ERR_NOMEM, "out of memory");
			goto out;
		}
		ck->pub = ck->soft;
		rc = CA_OK;
		goto out;
	}
	memset(&hc, 0, sizeof(hc));
	hc.module = module;
	/* Read once: an env: source is unset after the first read. */
	if ((pin_source != NULL &&
	    (rc = hsm_pin_from_source(&pin, pin_source)) != CA_OK) ||
	    (rc = hsm_open(&ck->h, &hc)) != CA_OK)
		goto out;
	rc = hsm_key_open_pin(&ck->k, ck->h, spec, pin);
	if (rc == CA_ERR_NOT_FOUND && make) {
		if (key_type != NULL &&
		    (rc = hsm_key_type_parse(&type, key_type)) != CA_OK)
			goto out;
		if ((rc = hsm_keygen_pin(NULL, ck->h, spec, pin, type)) !=
		    CA_OK)
			goto out;
		fprintf(stderr, "carapace: generated a %s key in the HSM: "
		    "%s\n", hsm_key_type_name(type), spec);
		rc = hsm_key_open_pin(&ck->k, ck->h, spec, pin);
	}
	if (rc == CA_OK)
		rc = hsm_key_public(&ck->pub, ck->k);
 out:
	hsm_pin_destroy(pin);
	if (rc != CA_OK)
		ckey_close(ck);
	return rc;
}

/* ckey_use calls fn with the private key; fn returns 1 on success. */
static int
ckey_use(struct ckey *ck, ckey_fn fn, void *arg, const char *what)
{
	if (ck->k != NULL)
		return hsm_key_sign(ck->k, fn, arg);
	if (fn(ck->soft, arg) != 1 && ca_error_detail()[0] == '\0')
		return ca_error(CA_ERR_INTERNAL, "%s failed", what);
	return CA_OK;
}

/* What csr_sign builds the CSR from. */
struct csr_job {
	X509_REQ *csr;
	const char *cn;
	const char *const *names;
	size_t nnames;
	int rc;
};

static int
csr_sign(EVP_PKEY *pkey, void *arg)
{
	struct csr_job *j = arg;

	j->rc = client_csr_build(&j->csr, pkey, j->cn, j->names, j->nnames);
	return j->rc == CA_OK;
}

/* ckey_csr builds the CSR with ck (in the HSM for a pkcs11: key). */
static int
ckey_csr(X509_REQ **out, struct ckey *ck, const char *cn,
    const char *const *names, size_t nnames)
{
	struct csr_job job;
	int rc;

	*out = NULL;
	memset(&job, 0, sizeof(job));
	job.cn = cn;
	job.names = names;
	job.nnames = nnames;
	job.rc = CA_OK;
	ca_error_clear();
	if ((rc = ckey_use(ck, csr_sign, &job, "CSR")) != CA_OK ||
	    (rc = job.rc) != CA_OK) {
		X509_REQ_free(job.csr);
		return rc;
	}
	*out = job.csr;
	return CA_OK;
}

/* What pop_sign signs. */
struct pop_job {
	uint8_t *sig;
	size_t sig_len;
	const uint8_t *nonce, *csr;
	size_t nonce_len, csr_len;
	int rc;
};

static int
pop_sign(EVP_PKEY *pkey, void *arg)
{
	struct pop_job *j = arg;

	j->rc = protocol_pop_sign(&j->sig, &j->sig_len, pkey, j->nonce,
	    j->nonce_len, j->csr, j->csr_len);
	return j->rc == CA_OK;
}

/* Print a local error (ca_error_detail) and map rc to an exit status. */
int
client_local_fail(int rc)
{
	fprintf(stderr, "carapace: %s\n", ca_error_detail());
	return rc == CA_ERR_USAGE ? CLIENT_EXIT_USAGE : CLIENT_EXIT_FAILED;
}

int
client_csr_der(uint8_t **out, size_t *out_len, X509_REQ *req)
{
	unsigned char *der = NULL;
	int len;

	*out = NULL;
	*out_len = 0;
	if ((len = i2d_X509_REQ(req, &der)) <= 0)
		return ca_error_openssl(CA_ERR_INTERNAL, "CSR: cannot encode");
	if (len > PROTOCOL_MAX_CSR) {
		OPENSSL_free(der);
		return ca_error(CA_ERR_USAGE, "CSR of %d bytes, more than "
		    "the limit of %d", len, PROTOCOL_MAX_CSR);
	}
	*out = der;
	*out_len = (size_t)len;
	return CA_OK;
}

int
client_request_run(const struct client_request_opts *o)
{
	struct join_token_cred *tok = NULL;
	PROTO_ATTESTATION *att = NULL;
	PROTO_REQUEST *req = NULL;
	PROTO_RESPONSE *resp = NULL;
	struct ckey ck;
	X509_REQ *csr = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	char idhex[JOIN_TOKEN_ID_HEX];
	const char *names[PROTOCOL_MAX_NAMES];
	const char *outs[3];
	size_t i;
	int rc, ret = CLIENT_EXIT_FAILED;

	memset(&ck, 0, sizeof(ck));
	for (i = 0; i < o->nnames; i++)
		names[i] = dns_name(o->names[i]);
	outs[0] = o->key != NULL ? NULL : o->key_out;
	outs[1] = o->cert_out;
	outs[2] = o->chain_out;
	if ((rc = names_check(names, o->nnames)) == CA_OK &&
	    (rc = client_outputs_check(outs, 3)) == CA_OK)
		rc = o->tpm != NULL ? CA_OK : o->iddoc != NULL ?
		    iddoc_load(&att, o) : token_load(&tok, o);
	if (rc == CA_OK && o->tpm != NULL)
		return client_tpm_request_run(o, names);
	if (rc != CA_OK) {
		ret = client_local_fail(rc);
		goto out;
	}
	if (o->key != NULL) {
		if ((rc = ckey_open(&ck, o->key, o->module, o->pin_source, 1,
		    o->key_type)) != CA_OK ||
		    (rc = profile_key_check(ck.pub, PROFILE_KEY_ALL,
		    o->key)) != CA_OK) {
			ret = client_local_fail(rc);
			goto out;
		}
	} else {
		if ((rc = client_key_generate(&ck.soft, o->key_type)) !=
		    CA_OK || EVP_PKEY_up_ref(ck.soft) != 1) {
			ret = client_local_fail(rc != CA_OK ? rc : CA_ERR_NOMEM);
			goto out;
		}
		ck.pub = ck.soft;
	}
	if ((rc = ckey_csr(&csr, &ck, o->cn != NULL ? o->cn : names[0],
	    names, o->nnames)) != CA_OK ||
	    (rc = client_csr_der(&der, &der_len, csr)) != CA_OK) {
		ret = client_local_fail(rc);
		goto out;
	}
	if (tok != NULL) {
		join_token_id_hex(idhex, tok->id);
		att = protocol_attest_join_token(idhex, tok->secret,
		    sizeof(tok->secret));
		join_token_cred_free(tok);
		tok = NULL;
	}
	if (att == NULL || (req = protocol_request_issue(der, der_len, att,
	    o->lifetime)) == NULL) {
		att = NULL;
		fprintf(stderr, "carapace: out of memory\n");
		goto out;
	}
	att = NULL;
	if ((ret = client_exchange(&resp, &o->conf, req,
	    PROTO_RESP_ISSUED)) != CLIENT_EXIT_OK)
		goto out;
	ret = client_issued_write(resp->body->value.issued, ck.pub, ck.soft,
	    NULL, o->key != NULL ? NULL : o->key_out, o->cert_out,
	    o->chain_out);
 out:
	join_token_cred_free(tok);
	PROTO_ATTESTATION_free(att);
	/* The request holds the token secret: wipe it before freeing. */
	if (req != NULL && req->body->value.issue->attestation != NULL &&
	    req->body->value.issue->attestation->type ==
	    PROTO_ATTEST_JOIN_TOKEN &&
	    req->body->value.issue->attestation->value.join_token != NULL) {
		ASN1_OCTET_STRING *sec = req->body->value.issue->attestation->
		    value.join_token->secret;
		if (sec != NULL && ASN1_STRING_length(sec) > 0)
			OPENSSL_cleanse((void *)(uintptr_t)ASN1_STRING_get0_data(sec),
			    (size_t)ASN1_STRING_length(sec));
	}
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(resp);
	OPENSSL_free(der);
	X509_REQ_free(csr);
	ckey_close(&ck);
	return ret;
}

/* The DNS names of cert's subjectAltName, borrowed into names[]. */
static int
cert_dns_names(GENERAL_NAMES **gens_out, const char **names, size_t *n,
    X509 *cert, const char *what)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *gn;
	int i, type;
	const ASN1_STRING *s;

	*n = 0;
	*gens_out = NULL;
	if ((gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
	    NULL)) == NULL)
		return ca_error(CA_ERR_INVALID, "%s: no subjectAltName; give "
		    "the names with --name", what);
	*gens_out = gens;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		gn = sk_GENERAL_NAME_value(gens, i);
		s = GENERAL_NAME_get0_value(gn, &type);
		if (type != GEN_DNS)
			continue;
		if (*n >= PROTOCOL_MAX_NAMES)
			return ca_error(CA_ERR_INVALID, "%s: more than %d "
			    "names", what, PROTOCOL_MAX_NAMES);
		if (memchr(ASN1_STRING_get0_data(s), '\0',
		    (size_t)ASN1_STRING_length(s)) != NULL)
			return ca_error(CA_ERR_INVALID, "%s: a dNSName with "
			    "a NUL", what);
		/* IA5STRINGs from d2i are NUL-terminated. */
		names[(*n)++] = (const char *)ASN1_STRING_get0_data(s);
	}
	if (*n == 0)
		return ca_error(CA_ERR_INVALID, "%s: no DNS names; give them "
		    "with --name", what);
	return CA_OK;
}

/* The subject CN of cert into buf, or "" when it has none. */
static void
cert_cn(char *buf, size_t len, X509 *cert)
{
	buf[0] = '\0';
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
	    NID_commonName, buf, (int)len) < 0)
		buf[0] = '\0';
}

int
client_renew_run(const struct client_request_opts *o)
{
	struct client *c = NULL;
	STACK_OF(X509) *chain = NULL, *more = NULL;
	GENERAL_NAMES *gens = NULL;
	PROTO_ATTESTATION *att = NULL;
	PROTO_REQUEST *nreq = NULL, *req = NULL;
	PROTO_RESPONSE *nresp = NULL, *resp = NULL;
	const PROTO_NONCE *nonce;
	struct ckey cur, nk;
	struct pop_job pop;
	X509_REQ *csr = NULL;
	X509 *leaf;
	uint8_t *der = NULL;
	size_t der_len = 0, nnames = 0, i;
	const char *names[PROTOCOL_MAX_NAMES];
	const char *outs[3];
	char cn[256];
	int rc, ret = CLIENT_EXIT_FAILED;

	memset(&cur, 0, sizeof(cur));
	memset(&nk, 0, sizeof(nk));
	memset(&pop, 0, sizeof(pop));
	outs[0] = o->new_key ? o->key_out : NULL;
	outs[1] = o->cert_out;
	outs[2] = o->chain_out;
	if ((rc = client_outputs_check(outs, 3)) != CA_OK ||
	    (rc = client_certs_read(&chain, o->cert)) != CA_OK ||
	    (rc = ckey_open(&cur, o->key, o->module, o->pin_source, 0,
	    NULL)) != CA_OK) {
		ret = client_local_fail(rc);
		goto out;
	}
	if (o->chain != NULL) {
		if ((rc = client_certs_read(&more, o->chain)) != CA_OK) {
			ret = client_local_fail(rc);
			goto out;
		}
		while (sk_X509_num(more) > 0) {
			if (sk_X509_num(chain) >= PROTOCOL_MAX_CHAIN) {
				fprintf(stderr, "carapace: %s and %s: more "
				    "than %d certificates\n", o->cert,
				    o->chain, PROTOCOL_MAX_CHAIN);
				goto out;
			}
			if (!sk_X509_push(chain, sk_X509_value(more, 0))) {
				fprintf(stderr, "carapace: out of memory\n");
				goto out;
			}
			(void)sk_X509_shift(more);
		}
	}
	leaf = sk_X509_value(chain, 0);
	if (EVP_PKEY_eq(X509_get0_pubkey(leaf), cur.pub) != 1) {
		ERR_clear_error();
		fprintf(stderr, "carapace: %s is not the key of %s; give the "
		    "key the certificate was issued for\n", o->key, o->cert);
		goto out;
	}
	if (o->nnames > 0) {
		for (i = 0; i < o->nnames; i++)
			names[i] = dns_name(o->names[i]);
		nnames = o->nnames;
		if ((rc = names_check(names, nnames)) != CA_OK) {
			ret = client_local_fail(rc);
			goto out;
		}
	} else if ((rc = cert_dns_names(&gens, names, &nnames, leaf,
	    o->cert)) != CA_OK) {
		ret = client_local_fail(rc);
		goto out;
	}
	/* The old CN if it is one of the names (issuers want that), else the
	 * first name. */
	if (o->cn != NULL)
		snprintf(cn, sizeof(cn), "%s", o->cn);
	else {
		cert_cn(cn, sizeof(cn), leaf);
		for (i = 0; i < nnames; i++)
			if (strcasecmp(cn, names[i]) == 0)
				break;
		if (i == nnames)
			snprintf(cn, sizeof(cn), "%s", names[0]);
	}
	if (o->new_key) {
		if ((rc = client_key_generate(&nk.soft, o->key_type)) !=
		    CA_OK || EVP_PKEY_up_ref(nk.soft) != 1) {
			ret = client_local_fail(rc != CA_OK ? rc : CA_ERR_NOMEM);
			goto out;
		}
		nk.pub = nk.soft;
	}
	if ((rc = ckey_csr(&csr, o->new_key ? &nk : &cur, cn, names,
	    nnames)) != CA_OK ||
	    (rc = client_csr_der(&der, &der_len, csr)) != CA_OK) {
		ret = client_local_fail(rc);
		goto out;
	}
	/* One connection: ask for the nonce, then send the signed request. */
	if ((ret = client_connect(&c, &o->conf)) != CLIENT_EXIT_OK)
		goto out;
	if ((nreq = protocol_request_new(PROTO_REQ_NONCE)) == NULL) {
		fprintf(stderr, "carapace: out of memory\n");
		ret = CLIENT_EXIT_FAILED;
		goto out;
	}
	if ((ret = client_roundtrip(c, &nresp, nreq, PROTO_RESP_NONCE)) !=
	    CLIENT_EXIT_OK)
		goto out;
	ret = CLIENT_EXIT_FAILED;
	nonce = nresp->body->value.nonce;
	/* The proof of possession, with the current key (maybe in an HSM). */
	pop.nonce = ASN1_STRING_get0_data(nonce->nonce);
	pop.nonce_len = (size_t)ASN1_STRING_length(nonce->nonce);
	pop.csr = der;
	pop.csr_len = der_len;
	pop.rc = CA_OK;
	ca_error_clear();
	if ((rc = ckey_use(&cur, pop_sign, &pop, "x509pop signature")) !=
	    CA_OK || (rc = pop.rc) != CA_OK) {
		ret = client_local_fail(rc);
		goto out;
	}
	if ((att = protocol_attest_x509_pop(chain,
	    ASN1_STRING_get0_data(nonce->nonce),
	    (size_t)ASN1_STRING_length(nonce->nonce), pop.sig,
	    pop.sig_len)) == NULL ||
	    (req = protocol_request_issue(der, der_len, att,
	    o->lifetime)) == NULL) {
		att = NULL;
		fprintf(stderr, "carapace: out of memory\n");
		goto out;
	}
	att = NULL;
	if ((ret = client_roundtrip(c, &resp, req, PROTO_RESP_ISSUED)) !=
	    CLIENT_EXIT_OK)
		goto out;
	ret = client_issued_write(resp->body->value.issued,
	    o->new_key ? nk.pub : cur.pub, o->new_key ? nk.soft : NULL,
	    NULL, o->new_key ? o->key_out : NULL, o->cert_out, o->chain_out);
 out:
	client_close(c);
	PROTO_ATTESTATION_free(att);
	PROTO_REQUEST_free(nreq);
	PROTO_REQUEST_free(req);
	PROTO_RESPONSE_free(nresp);
	PROTO_RESPONSE_free(resp);
	OPENSSL_free(pop.sig);
	OPENSSL_free(der);
	X509_REQ_free(csr);
	ckey_close(&cur);
	ckey_close(&nk);
	GENERAL_NAMES_free(gens);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(more, X509_free);
	return ret;
}
