/* SPDX-License-Identifier: ISC */
/*
 * fuzz_pkcs11_uri: libFuzzer target for hsm/pkcs11_uri.c. The input is
 * taken as a URI (cut at the first NUL, as a C string would be); a URI
 * that parses must format to a canonical form that parses again to the
 * same canonical form, and the detail of a refused URI must never contain
 * a pin-value. Built with tests/fuzz/replay.c, `make check` replays the
 * seed corpus in tests/fuzz/corpus/pkcs11_uri.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/pkcs11_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkcs11_uri *u = NULL, *u2 = NULL;
	char *s, *canon = NULL, *canon2 = NULL;
	size_t n;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (pkcs11_uri_parse(&u, s) != CA_OK) {
		if (u != NULL)
			abort();
		goto out;
	}
	n = pkcs11_uri_format(NULL, 0, u);
	if ((canon = malloc(n + 1)) == NULL ||
	    pkcs11_uri_format(canon, n + 1, u) != n || strlen(canon) != n)
		abort();
	if (pkcs11_uri_parse(&u2, canon) != CA_OK) {
		/* Only the length cap may refuse the canonical form. */
		if (n <= PKCS11_URI_MAX_LEN)
			abort();
		goto out;
	}
	if ((canon2 = malloc(n + 1)) == NULL ||
	    pkcs11_uri_format(canon2, n + 1, u2) != n ||
	    strcmp(canon, canon2) != 0)
		abort();
	if (u->has_id != u2->has_id || u->id_len != u2->id_len ||
	    (u->id_len > 0 && memcmp(u->id, u2->id, u->id_len) != 0))
		abort();
 out:
	free(canon);
	free(canon2);
	pkcs11_uri_free(u);
	pkcs11_uri_free(u2);
	free(s);
	return 0;
}
