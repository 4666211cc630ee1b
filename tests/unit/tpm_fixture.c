/* SPDX-License-Identifier: ISC */
/*
 * tpm_fixture: reads the swtpm evidence under tests/data/tpm (TPM_DATA,
 * set at compile time) and forges variants of TPM structures with
 * libtss2-mu, for the test_tpm_* unit tests.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include "common/fileio.h"
#include "tests/unit/tpm_fixture.h"

static void
fixture_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", TPM_DATA, name);
}

struct tpm_blob
tpm_fixture_read(const char *name)
{
	struct tpm_blob b = { NULL, 0 };
	char path[4096];

	fixture_path(path, sizeof(path), name);
	if (fileio_read(&b.buf, &b.len, path, 64 * 1024) != 0) {
		fprintf(stderr, "%s: cannot read test data\n", path);
		abort();
	}
	return b;
}

X509_STORE *
tpm_fixture_store(const char *name)
{
	X509_STORE *s;
	char path[4096];

	fixture_path(path, sizeof(path), name);
	if ((s = X509_STORE_new()) == NULL ||
	    X509_STORE_load_file(s, path) != 1) {
		fprintf(stderr, "%s: cannot load certificates\n", path);
		abort();
	}
	return s;
}

EVP_PKEY *
tpm_fixture_pubkey(const char *name)
{
	EVP_PKEY *k;
	FILE *f;
	char path[4096];

	fixture_path(path, sizeof(path), name);
	if ((f = fopen(path, "r")) == NULL ||
	    (k = PEM_read_PUBKEY(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "%s: cannot read the public key\n", path);
		abort();
	}
	fclose(f);
	return k;
}

struct tpm_blob
tpm_fixture_public_edit(struct tpm_blob b, TPMA_OBJECT set, TPMA_OBJECT clear)
{
	struct tpm_blob out = { NULL, 0 };
	TPM2B_PUBLIC pub;
	size_t off = 0;

	memset(&pub, 0, sizeof(pub));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(b.buf, b.len, &off, &pub) != 0 ||
	    (out.buf = malloc(sizeof(pub))) == NULL)
		abort();
	pub.publicArea.objectAttributes |= set;
	pub.publicArea.objectAttributes &= ~clear;
	pub.size = 0;	/* the marshaller computes it */
	off = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, out.buf, sizeof(pub), &off) != 0)
		abort();
	out.len = off;
	return out;
}

struct tpm_blob
tpm_fixture_append(struct tpm_blob b, size_t n)
{
	struct tpm_blob out;

	if ((out.buf = calloc(1, b.len + n)) == NULL)
		abort();
	memcpy(out.buf, b.buf, b.len);
	out.len = b.len + n;
	return out;
}
