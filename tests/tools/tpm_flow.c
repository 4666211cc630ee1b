/* SPDX-License-Identifier: ISC */
/*
 * tpm_flow: runs the client side (client/tpm_client.c) and the server side
 * (attest/tpm.h) of TPM 2.0 attestation in one process, for
 * tests/integration/tpm_evidence.sh and tests/data/tpm/regen.sh.
 *
 *   tpm_flow -t TCTI -c CAFILE flow ALG OUTDIR
 *	EK (rsa|ecc) -> EK check against the CAs in CAFILE -> AK -> AK check
 *	-> MakeCredential -> ActivateCredential -> secret check (and its
 *	replay refused) -> TLS key -> Certify over a fresh nonce; writes
 *	ek.crt ek.pub ak.pub key.pem key.tpub key.tpriv attest sig nonce
 *	name (hex of the key's name) and prints the selectors.
 *   tpm_flow certify-check OUTDIR CSR.pem [NONCEFILE]
 *	the server's TPM2_Certify check of OUTDIR's evidence against the key
 *	of a PKCS#10 request (or a public key PEM).
 *   tpm_flow -t TCTI_A -u TCTI_B wrong-tpm
 *	a credential made for A's EK and B's AK, activated on B: must fail.
 *   tpm_flow -t TCTI capture OUTDIR
 *	the unit tests' evidence: also a duplicable key's certify.
 * Exit 0 on success, 1 with "tpm_flow: <detail>" on stderr otherwise.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "attest/tpm.h"
#include "client/tpm_client.h"
#include "common/ca_error.h"
#include "common/fileio.h"

#define FLOW_MAX_FILE	(64 * 1024)

static const char *tcti_a = NULL, *tcti_b = NULL, *cafile = NULL;

static int
die(const char *what)
{
	fprintf(stderr, "tpm_flow: %s: %s\n", what, ca_error_detail());
	return 1;
}

static int
put(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	return fileio_create(path, buf, len, 0600);
}

static int
get(const char *dir, const char *name, uint8_t **buf, size_t *len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fileio_read(buf, len, path, FLOW_MAX_FILE);
}

static enum tpm_client_alg
alg_of(const char *s)
{
	return strcmp(s, "rsa") == 0 ? TPM_CLIENT_RSA2048 : TPM_CLIENT_ECC_P256;
}

/* pem_pubkey: the key of a CSR or of a PUBLIC KEY PEM file. */
static EVP_PKEY *
pem_pubkey(const char *path)
{
	FILE *f;
	X509_REQ *req;
	EVP_PKEY *k = NULL;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((req = PEM_read_X509_REQ(f, NULL, NULL, NULL)) != NULL) {
		k = X509_REQ_get_pubkey(req);
		X509_REQ_free(req);
	} else {
		rewind(f);
		k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	}
	fclose(f);
	return k;
}

/*
 * run_ek_ak: EK and AK on c, their server checks; *ek and *ak are the
 * verified objects.
 */
static int
run_ek_ak(tpm_client *c, const char *alg, const char *dir,
    struct tpm_ek **ek, struct tpm_ak **ak)
{
	struct tpm_ek_trust trust = { 0 };
	uint8_t *cert = NULL, *pub = NULL, *akpub = NULL;
	size_t cert_len = 0, pub_len = 0, akpub_len = 0;
	int rc = 1;

	if ((trust.cas = X509_STORE_new()) == NULL)
		goto out;
	if (cafile != NULL && X509_STORE_load_file(trust.cas, cafile) != 1) {
		fprintf(stderr, "tpm_flow: %s: cannot load the CAs\n", cafile);
		goto out;
	}
	if (tpm_client_ek(c, alg_of(alg), &cert, &cert_len, &pub,
	    &pub_len) != CA_OK) {
		rc = die("client EK");
		goto out;
	}
	if (dir != NULL && ((cert != NULL && put(dir, "ek.crt", cert,
	    cert_len) != CA_OK) || put(dir, "ek.pub", pub, pub_len) != CA_OK)) {
		rc = die("write EK");
		goto out;
	}
	if (tpm_ek_verify(ek, &trust, cert, cert_len, pub, pub_len,
	    time(NULL)) != CA_OK) {
		rc = die("server EK check");
		goto out;
	}
	if (tpm_client_ak(c, TPM_CLIENT_ECC_P256, &akpub, &akpub_len) !=
	    CA_OK) {
		rc = die("client AK");
		goto out;
	}
	if (dir != NULL && put(dir, "ak.pub", akpub, akpub_len) != CA_OK) {
		rc = die("write AK");
		goto out;
	}
	if (tpm_ak_check(ak, akpub, akpub_len) != CA_OK) {
		rc = die("server AK check");
		goto out;
	}
	rc = 0;
 out:
	X509_STORE_free(trust.cas);
	free(cert);
	free(pub);
	free(akpub);
	return rc;
}

static int
run_certify(tpm_client *c, const char *dir, enum tpm_client_key_flags flags,
    const char *prefix, const struct tpm_ak *ak, int check)
{
	struct tpm_client_key *k = NULL;
	struct tpm_key *vk = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t nonce[TPM_NONCE_LEN], *pub = NULL, *attest = NULL, *sig = NULL;
	size_t pub_len = 0, attest_len = 0, sig_len = 0, pem_len = 0;
	char *pem = NULL, *hex = NULL, name[64];
	TPM2B_PUBLIC tp;
	TPM2B_NAME tn;
	int rc = 1;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		goto out;
	if (tpm_client_key_create(c, &k, TPM_CLIENT_ECC_P256, flags) !=
	    CA_OK || tpm_client_key_public(k, &pub, &pub_len) != CA_OK ||
	    tpm_client_certify(c, k, nonce, sizeof(nonce), &attest,
	    &attest_len, &sig, &sig_len) != CA_OK ||
	    tpm_client_key_pem(k, &pem, &pem_len) != CA_OK) {
		rc = die("client key and certify");
		goto out;
	}
#define PUT(n, b, l) (snprintf(name, sizeof(name), "%s%s", prefix, n), \
	put(dir, name, b, l) == CA_OK)
	if (!PUT("key.pem", pem, pem_len) || !PUT("key.tpub", pub, pub_len) ||
	    !PUT("attest", attest, attest_len) || !PUT("sig", sig, sig_len) ||
	    !PUT("nonce", nonce, sizeof(nonce))) {
		rc = die("write key evidence");
		goto out;
	}
	if (tpm_public_parse(&tp, "key", pub, pub_len) != CA_OK ||
	    tpm_public_name(&tn, "key", &tp) != CA_OK ||
	    tpm_public_pkey(&pk, "key", &tp) != CA_OK ||
	    (hex = tpm_hex(tn.name, tn.size)) == NULL ||
	    !PUT("name", hex, strlen(hex))) {
		rc = die("key name");
		goto out;
	}
#undef PUT
	/* The key's own public key stands in for the CSR's here. */
	if (check && tpm_certify_verify(&vk, ak, attest, attest_len, sig,
	    sig_len, pub, pub_len, nonce, sizeof(nonce), pk) != CA_OK) {
		rc = die("server certify check");
		goto out;
	}
	rc = 0;
 out:
	EVP_PKEY_free(pk);
	tpm_key_free(vk);
	tpm_client_key_free(k);
	free(pub);
	free(attest);
	free(sig);
	free(pem);
	free(hex);
	return rc;
}

static int
cmd_flow(const char *alg, const char *dir, int capture)
{
	tpm_client *c = NULL;
	struct tpm_ek *ek = NULL;
	struct tpm_ak *ak = NULL;
	struct tpm_challenge *ch = NULL;
	uint8_t *idobj = NULL, *enc = NULL, *secret = NULL;
	size_t idobj_len = 0, enc_len = 0, secret_len = 0, nsel = 0, i;
	char **sel = NULL;
	int rc = 1;

	if (tpm_client_open(&c, tcti_a) != CA_OK) {
		rc = die("open");
		goto out;
	}
	if (run_ek_ak(c, alg, dir, &ek, &ak) != 0)
		goto out;
	if (tpm_challenge_new(&ch) != CA_OK ||
	    tpm_credential_make(&idobj, &idobj_len, &enc, &enc_len, ek,
	    &ak->name, tpm_challenge_secret(ch), TPM_SECRET_LEN) != CA_OK) {
		rc = die("server MakeCredential");
		goto out;
	}
	if (tpm_client_activate(c, &secret, &secret_len, idobj, idobj_len,
	    enc, enc_len) != CA_OK) {
		rc = die("client ActivateCredential");
		goto out;
	}
	if (tpm_challenge_check_secret(ch, secret, secret_len) != CA_OK) {
		rc = die("server secret check");
		goto out;
	}
	if (tpm_challenge_check_secret(ch, secret, secret_len) == CA_OK) {
		fprintf(stderr, "tpm_flow: a replayed secret was accepted\n");
		goto out;
	}
	printf("replayed secret refused: %s\n", ca_error_detail());
	if (run_certify(c, dir, TPM_CLIENT_KEY_FIXED, "", ak, 1) != 0)
		goto out;
	if (capture && run_certify(c, dir, TPM_CLIENT_KEY_DUPLICABLE, "dup-",
	    ak, 0) != 0)
		goto out;
	if (tpm_selectors(&sel, &nsel, ek, ak) != CA_OK) {
		rc = die("selectors");
		goto out;
	}
	for (i = 0; i < nsel; i++)
		printf("selector %s\n", sel[i]);
	rc = 0;
 out:
	tpm_selectors_free(sel, nsel);
	tpm_challenge_free(ch);
	tpm_ek_free(ek);
	tpm_ak_free(ak);
	free(idobj);
	free(enc);
	free(secret);
	tpm_client_free(c);
	return rc;
}

static int
cmd_certify_check(const char *dir, const char *csr, const char *noncefile)
{
	struct tpm_ak *ak = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t *akpub = NULL, *attest = NULL, *sig = NULL, *pub = NULL;
	uint8_t *nonce = NULL;
	size_t akpub_len, attest_len, sig_len, pub_len, nonce_len;
	int rc = 1;

	if (get(dir, "ak.pub", &akpub, &akpub_len) != CA_OK ||
	    get(dir, "attest", &attest, &attest_len) != CA_OK ||
	    get(dir, "sig", &sig, &sig_len) != CA_OK ||
	    get(dir, "key.tpub", &pub, &pub_len) != CA_OK ||
	    (noncefile == NULL ? get(dir, "nonce", &nonce, &nonce_len) :
	    fileio_read(&nonce, &nonce_len, noncefile, 64)) != CA_OK) {
		rc = die("read evidence");
		goto out;
	}
	if ((pk = pem_pubkey(csr)) == NULL) {
		fprintf(stderr, "tpm_flow: %s: no CSR or public key\n", csr);
		goto out;
	}
	if (tpm_ak_check(&ak, akpub, akpub_len) != CA_OK) {
		rc = die("AK check");
		goto out;
	}
	if (tpm_certify_verify(NULL, ak, attest, attest_len, sig, sig_len,
	    pub, pub_len, nonce, nonce_len, pk) != CA_OK) {
		rc = die("certify check");
		goto out;
	}
	printf("certify ok\n");
	rc = 0;
 out:
	EVP_PKEY_free(pk);
	tpm_ak_free(ak);
	free(akpub);
	free(attest);
	free(sig);
	free(pub);
	free(nonce);
	return rc;
}

/*
 * cmd_wrong_tpm: the credential is made for TPM A's EK and TPM B's AK (the
 * evidence a thief would assemble); B cannot activate it.
 */
static int
cmd_wrong_tpm(void)
{
	tpm_client *a = NULL, *b = NULL;
	struct tpm_ek *ek_a = NULL, *ek_b = NULL;
	struct tpm_ak *ak_a = NULL, *ak_b = NULL;
	struct tpm_challenge *ch = NULL;
	uint8_t *idobj = NULL, *enc = NULL, *secret = NULL;
	size_t idobj_len = 0, enc_len = 0, secret_len = 0;
	int rc = 1;

	if (tpm_client_open(&a, tcti_a) != CA_OK ||
	    tpm_client_open(&b, tcti_b) != CA_OK) {
		rc = die("open");
		goto out;
	}
	if (run_ek_ak(a, "rsa", NULL, &ek_a, &ak_a) != 0 ||
	    run_ek_ak(b, "rsa", NULL, &ek_b, &ak_b) != 0)
		goto out;
	if (tpm_challenge_new(&ch) != CA_OK ||
	    tpm_credential_make(&idobj, &idobj_len, &enc, &enc_len, ek_a,
	    &ak_b->name, tpm_challenge_secret(ch), TPM_SECRET_LEN) != CA_OK) {
		rc = die("server MakeCredential");
		goto out;
	}
	if (tpm_client_activate(b, &secret, &secret_len, idobj, idobj_len,
	    enc, enc_len) == CA_OK) {
		if (tpm_challenge_check_secret(ch, secret, secret_len) ==
		    CA_OK) {
			fprintf(stderr, "tpm_flow: TPM B recovered a secret "
			    "sealed to TPM A's EK\n");
			goto out;
		}
		printf("refused: %s\n", ca_error_detail());
	} else
		printf("refused: %s\n", ca_error_detail());
	rc = 0;
 out:
	tpm_challenge_free(ch);
	tpm_ek_free(ek_a);
	tpm_ek_free(ek_b);
	tpm_ak_free(ak_a);
	tpm_ak_free(ak_b);
	free(idobj);
	free(enc);
	free(secret);
	tpm_client_free(a);
	tpm_client_free(b);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr, "usage: tpm_flow [-t TCTI] [-u TCTI2] [-c CAFILE] "
	    "flow rsa|ecc DIR | capture DIR | certify-check DIR CSR [NONCE] | "
	    "wrong-tpm\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "t:u:c:")) != -1) {
		switch (ch) {
		case 't':
			tcti_a = optarg;
			break;
		case 'u':
			tcti_b = optarg;
			break;
		case 'c':
			cafile = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "flow") == 0 && argc == 3 && tcti_a != NULL)
		return cmd_flow(argv[1], argv[2], 0);
	if (strcmp(argv[0], "capture") == 0 && argc == 2 && tcti_a != NULL)
		return cmd_flow("rsa", argv[1], 1);
	if (strcmp(argv[0], "certify-check") == 0 && (argc == 3 || argc == 4))
		return cmd_certify_check(argv[1], argv[2],
		    argc == 4 ? argv[3] : NULL);
	if (strcmp(argv[0], "wrong-tpm") == 0 && tcti_a != NULL &&
	    tcti_b != NULL)
		return cmd_wrong_tpm();
	usage();
	return 2;
}
