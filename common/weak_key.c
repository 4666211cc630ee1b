/* SPDX-License-Identifier: ISC */
/*
 * weak_key: the structural checks every outside public key passes before a
 * signature is verified with it (see weak_key.h for the list and the rules
 * they come from). The RSA checks work on the modulus and exponent alone,
 * with OpenSSL's BIGNUM arithmetic; the blocklist is a sorted array of
 * 80-bit fingerprints searched with bsearch.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/profile.h"
#include "common/weak_key.h"

#define WEAK_KEY_ROCA_PRIME_MAX	167	/* the primes every RSALib M holds */
#define WEAK_KEY_ROCA_GENERATOR	65537
#define WEAK_KEY_LIST_FILE_MAX	(64 * 1024 * 1024)
#define WEAK_KEY_LIST_HEX	(2 * WEAK_KEY_LIST_FP_LEN)

struct weak_key_list {
	uint8_t (*fp)[WEAK_KEY_LIST_FP_LEN];
	size_t n, cap;
};

static int
fp_cmp(const void *a, const void *b)
{
	return memcmp(a, b, WEAK_KEY_LIST_FP_LEN);
}

/* list_add adds the entry hex (20 hex digits and a NUL) to wl. */
static int
list_add(struct weak_key_list *wl, const char *hex, const char *path,
    size_t lineno)
{
	uint8_t (*grown)[WEAK_KEY_LIST_FP_LEN];
	size_t cap;

	if (wl->n == wl->cap) {
		if (wl->n >= WEAK_KEY_LIST_MAX_ENTRIES)
			return ca_error(CA_ERR_CONFIG, "%s:%zu: more than %d "
			    "blocklisted keys in all", path, lineno,
			    WEAK_KEY_LIST_MAX_ENTRIES);
		cap = wl->cap == 0 ? 1024 : wl->cap * 2;
		if ((grown = reallocarray(wl->fp, cap, sizeof(*wl->fp))) ==
		    NULL)
			return ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
		wl->fp = grown;
		wl->cap = cap;
	}
	if (fileio_unhex(wl->fp[wl->n], WEAK_KEY_LIST_FP_LEN, hex) != 0)
		return ca_error(CA_ERR_CONFIG, "%s:%zu: not a blocklist entry "
		    "(%d hexadecimal digits, the end of a SHA-1 fingerprint, "
		    "as in Debian's openssl-blacklist)", path, lineno,
		    WEAK_KEY_LIST_HEX);
	wl->n++;
	return CA_OK;
}

/* list_read adds the entries of the file at path to wl. */
static int
list_read(struct weak_key_list *wl, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0, lineno = 0, n;
	char *p, *end, *nl, hex[WEAK_KEY_LIST_HEX + 2];
	int rc;

	if ((rc = fileio_read(&buf, &len, path, WEAK_KEY_LIST_FILE_MAX)) !=
	    CA_OK)
		return rc;
	p = (char *)buf;
	end = p + len;
	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' ||
		    p[n - 1] == '\t'))
			n--;
		if (n > 0 && p[0] != '#') {
			/* A wrong length fails in fileio_unhex too. */
			if (n > WEAK_KEY_LIST_HEX)
				n = WEAK_KEY_LIST_HEX + 1;
			memcpy(hex, p, n);
			hex[n] = '\0';
			if ((rc = list_add(wl, hex, path, lineno)) != CA_OK)
				goto out;
		}
		p = nl + 1;
	}
	rc = CA_OK;
 out:
	free(buf);
	return rc;
}

int
weak_key_list_load(struct weak_key_list **out, const char *const *paths,
    size_t npaths)
{
	struct weak_key_list *wl = NULL;
	size_t i;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (npaths > WEAK_KEY_LIST_MAX_FILES) {
		rc = ca_error(CA_ERR_CONFIG, "weak key blocklists: %zu files, "
		    "over the cap of %d", npaths, WEAK_KEY_LIST_MAX_FILES);
		goto out;
	}
	if ((wl = calloc(1, sizeof(*wl))) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "weak key blocklists: out of "
		    "memory");
		goto out;
	}
	for (i = 0; i < npaths; i++)
		if ((rc = list_read(wl, paths[i])) != CA_OK)
			goto out;
	if (wl->n > 0)
		qsort(wl->fp, wl->n, sizeof(*wl->fp), fp_cmp);
	*out = wl;
	wl = NULL;
	rc = CA_OK;
 out:
	weak_key_list_free(wl);
	return rc;
}

size_t
weak_key_list_count(const struct weak_key_list *wl)
{
	return wl != NULL ? wl->n : 0;
}

void
weak_key_list_free(struct weak_key_list *wl)
{
	if (wl == NULL)
		return;
	free(wl->fp);
	free(wl);
}

/* list_has reports whether n's openssl-blacklist fingerprint is in wl. */
static int
list_has(const struct weak_key_list *wl, const BIGNUM *n, int *found)
{
	unsigned char md[SHA_DIGEST_LENGTH];
	char *hex = NULL, *line = NULL;
	size_t len;
	int rc = CA_ERR_NOMEM;

	*found = 0;
	if (wl == NULL || wl->n == 0)
		return CA_OK;
	if ((hex = BN_bn2hex(n)) == NULL)
		goto out;
	len = strlen(hex) + sizeof("Modulus=\n") - 1;
	if ((line = malloc(len + 1)) == NULL)
		goto out;
	snprintf(line, len + 1, "Modulus=%s\n", hex);
	SHA1((const unsigned char *)line, len, md);
	*found = bsearch(md + SHA_DIGEST_LENGTH - WEAK_KEY_LIST_FP_LEN,
	    wl->fp, wl->n, sizeof(*wl->fp), fp_cmp) != NULL;
	rc = CA_OK;
 out:
	OPENSSL_free(hex);
	free(line);
	if (rc != CA_OK)
		rc = ca_error(rc, "weak key blocklist: out of memory");
	return rc;
}

static int
small_prime(unsigned p)
{
	unsigned d;

	if (p < 2)
		return 0;
	for (d = 2; d * d <= p; d++)
		if (p % d == 0)
			return 0;
	return 1;
}

/*
 * roca_member reports whether r is in the subgroup of (Z/pZ)* that the
 * generator 65537 mod p spans.
 */
static int
roca_member(unsigned long r, unsigned long p)
{
	unsigned long g = WEAK_KEY_ROCA_GENERATOR % p, x = 1;

	do {
		if (x == r)
			return 1;
		x = x * g % p;
	} while (x != 1);
	return 0;
}

/* square_mod_ok: 1 when r can be a square modulo m. */
static int
square_mod_ok(unsigned long r, unsigned long m)
{
	unsigned long i;

	for (i = 0; i < m; i++)
		if (i * i % m == r)
			return 1;
	return 0;
}

/* bn_isqrt sets r to floor(sqrt(a)) by Newton's method; 0 on failure. */
static int
bn_isqrt(BIGNUM *r, const BIGNUM *a, BN_CTX *ctx)
{
	BIGNUM *x, *y;
	int ok = 0;

	BN_CTX_start(ctx);
	x = BN_CTX_get(ctx);
	if ((y = BN_CTX_get(ctx)) == NULL)
		goto out;
	if (BN_is_zero(a)) {
		BN_zero(r);
		ok = 1;
		goto out;
	}
	/* 2^ceil(bits/2) is at least sqrt(a); Newton descends from there. */
	BN_zero(x);
	if (!BN_set_bit(x, (BN_num_bits(a) + 1) / 2))
		goto out;
	for (;;) {
		if (!BN_div(y, NULL, a, x, ctx) || !BN_add(y, y, x) ||
		    !BN_rshift1(y, y))
			goto out;
		if (BN_cmp(y, x) >= 0)
			break;
		if (!BN_copy(x, y))
			goto out;
	}
	ok = BN_copy(r, x) != NULL;
 out:
	BN_CTX_end(ctx);
	return ok;
}

/*
 * fermat_factors: 1 when n = a^2 - b^2 for some a within
 * WEAK_KEY_FERMAT_ROUNDS of ceil(sqrt(n)) (its primes are close), 0 when
 * not, -1 on failure.
 */
static int
fermat_factors(const BIGNUM *n, BN_CTX *ctx)
{
	static const unsigned long filter[] = { 64, 63, 65, 11 };
	BIGNUM *a, *b2, *b;
	size_t k;
	int i, ret = -1, maybe;

	BN_CTX_start(ctx);
	a = BN_CTX_get(ctx);
	b2 = BN_CTX_get(ctx);
	if ((b = BN_CTX_get(ctx)) == NULL || !bn_isqrt(a, n, ctx) ||
	    !BN_sqr(b2, a, ctx))
		goto out;
	if (BN_cmp(b2, n) == 0) {
		ret = 1;	/* n is a square */
		goto out;
	}
	if (!BN_add_word(a, 1))
		goto out;
	for (i = 0; i < WEAK_KEY_FERMAT_ROUNDS; i++) {
		if (!BN_sqr(b2, a, ctx) || !BN_sub(b2, b2, n))
			goto out;
		maybe = 1;
		for (k = 0; maybe && k < sizeof(filter) / sizeof(filter[0]);
		    k++)
			maybe = square_mod_ok(BN_mod_word(b2, filter[k]),
			    filter[k]);
		if (maybe) {
			if (!bn_isqrt(b, b2, ctx) || !BN_sqr(b, b, ctx))
				goto out;
			if (BN_cmp(b, b2) == 0) {
				ret = 1;
				goto out;
			}
		}
		if (!BN_add_word(a, 1))
			goto out;
	}
	ret = 0;
 out:
	BN_CTX_end(ctx);
	return ret;
}

static int
rsa_check(const EVP_PKEY *pk, const struct weak_key_list *wl,
    const char *what)
{
	BIGNUM *n = NULL, *e = NULL;
	BN_CTX *ctx = NULL;
	char *dec = NULL;
	unsigned long r, p;
	int bits, roca = 1, found, f, rc = CA_ERR_INTERNAL;

	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
		rc = ca_error_openssl(CA_ERR_POLICY, "%s: the RSA key's "
		    "modulus or public exponent cannot be read", what);
		goto out;
	}
	/* The exponent first: e = 1 proves nothing, whatever the modulus. */
	if (BN_is_negative(e) || BN_num_bits(e) < 2 || !BN_is_odd(e)) {
		dec = BN_num_bits(e) <= 64 ? BN_bn2dec(e) : NULL;
		rc = ca_error(CA_ERR_POLICY, "%s: RSA public exponent %s is "
		    "refused: it must be odd and at least 3 (CA/Browser Forum "
		    "BR 6.1.6, RFC 8017 3.1)%s; make a new key (e = 65537)",
		    what, dec != NULL ? dec : "(large, even)",
		    BN_is_one(e) ? "; with e = 1 a signature is the padded "
		    "digest itself and proves no private key" : "");
		goto out;
	}
	if (BN_num_bits(e) > 256) {
		rc = ca_error(CA_ERR_POLICY, "%s: RSA public exponent of %d "
		    "bits is refused: it must be below 2^256 (CA/Browser Forum "
		    "BR 6.1.6); make a new key (e = 65537)", what,
		    BN_num_bits(e));
		goto out;
	}
	bits = BN_num_bits(n);
	if (BN_is_negative(n) || !BN_is_odd(n)) {
		rc = ca_error(CA_ERR_POLICY, "%s: RSA modulus is even or "
		    "negative, so it is not a product of two odd primes (RFC "
		    "8017 3.1); make a new key", what);
		goto out;
	}
	if (bits < PROFILE_RSA_MIN_BITS || bits > PROFILE_RSA_MAX_BITS) {
		rc = ca_error(CA_ERR_POLICY, "%s: RSA %d: RSA keys %s %d bits "
		    "are refused; make a new key", what, bits,
		    bits < PROFILE_RSA_MIN_BITS ? "under" : "over",
		    bits < PROFILE_RSA_MIN_BITS ? PROFILE_RSA_MIN_BITS :
		    PROFILE_RSA_MAX_BITS);
		goto out;
	}
	if (bits % 8 != 0) {
		rc = ca_error(CA_ERR_POLICY, "%s: RSA %d: the modulus size must "
		    "be a multiple of 8 bits (CA/Browser Forum BR 6.1.5); make "
		    "a new key", what, bits);
		goto out;
	}
	for (p = 3; p < WEAK_KEY_SMALL_PRIME_MAX; p += 2) {
		if (!small_prime((unsigned)p))
			continue;
		if ((r = BN_mod_word(n, p)) == (unsigned long)-1) {
			rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: RSA modulus "
			    "arithmetic failed", what);
			goto out;
		}
		if (r == 0) {
			rc = ca_error(CA_ERR_POLICY, "%s: RSA modulus is "
			    "divisible by %lu, so it is not a product of two "
			    "large primes; make a new key", what, p);
			goto out;
		}
		if (p <= WEAK_KEY_ROCA_PRIME_MAX && roca && !roca_member(r, p))
			roca = 0;
	}
	if (roca) {
		rc = ca_error(CA_ERR_POLICY, "%s: RSA modulus has the "
		    "structure of the Infineon RSALib keys that can be "
		    "factored (ROCA, CVE-2017-15361); update the device's "
		    "firmware and make a new key", what);
		goto out;
	}
	if ((ctx = BN_CTX_new()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	if ((f = fermat_factors(n, ctx)) < 0) {
		rc = ca_error_openssl(CA_ERR_INTERNAL, "%s: RSA modulus "
		    "arithmetic failed", what);
		goto out;
	}
	if (f) {
		rc = ca_error(CA_ERR_POLICY, "%s: RSA modulus factors by "
		    "Fermat's method: its two primes are too close to each "
		    "other; make a new key with a sound generator", what);
		goto out;
	}
	if ((rc = list_has(wl, n, &found)) != CA_OK)
		goto out;
	if (found) {
		rc = ca_error(CA_ERR_POLICY, "%s: RSA key is in the weak key "
		    "blocklist (a key from the 2008 Debian OpenSSL random "
		    "number generator, CVE-2008-0166, or a key listed as "
		    "compromised); make a new key", what);
		goto out;
	}
	rc = CA_OK;
 out:
	OPENSSL_free(dec);
	BN_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return rc;
}

/*
 * ec_check: the NIST prime curves only. They have cofactor 1, so a point
 * on the curve other than infinity has the group's prime order and the
 * quick check is the full one; a curve with a cofactor (sect163k1, ...)
 * would let a small-order point "verify" a forged signature.
 */
static int
ec_check(const EVP_PKEY *pk, const char *what)
{
	EVP_PKEY_CTX *pctx = NULL;
	char enc[32], group[80];
	size_t len = 0;
	int rc = CA_ERR_INTERNAL, nid;

	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_EC_ENCODING,
	    enc, sizeof(enc), &len) == 1 &&
	    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
		rc = ca_error(CA_ERR_POLICY, "%s: EC key with explicit curve "
		    "parameters is refused: the curve must be named by its "
		    "OID (RFC 5480 2.1.1); make the key or CSR with a named "
		    "curve (openssl: -pkeyopt ec_param_enc:named_curve)", what);
		goto out;
	}
	ERR_clear_error();
	if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &len) != 1)
		group[0] = '\0';
	ERR_clear_error();
	nid = OBJ_sn2nid(group);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1 &&
	    nid != NID_secp521r1) {
		rc = ca_error(CA_ERR_POLICY, "%s: EC key on curve %s is "
		    "refused: only P-256, P-384 and P-521 (prime order, "
		    "cofactor 1) are accepted", what, group[0] != '\0' ? group :
		    "(unnamed)");
		goto out;
	}
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, (EVP_PKEY *)pk, NULL)) ==
	    NULL) {
		rc = ca_error_openssl(CA_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	if (EVP_PKEY_public_check_quick(pctx) != 1) {
		ERR_clear_error();
		rc = ca_error(CA_ERR_POLICY, "%s: EC public key is not a point "
		    "on its curve, or is the point at infinity (RFC 5480 2.2, "
		    "SP 800-56A 5.6.2.3.4); make a new key", what);
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

/*
 * ed25519_check: the public key must be a canonical encoding of a point of
 * the prime-order subgroup; the identity and the other small-order points
 * "verify" signatures nobody made (RFC 8032 5.1.7 leaves that to callers).
 */
static int
ed25519_check(const EVP_PKEY *pk, const char *what)
{
	unsigned char raw[crypto_core_ed25519_BYTES];
	size_t len = sizeof(raw);

	if (sodium_init() < 0)
		return ca_error(CA_ERR_INTERNAL, "%s: libsodium cannot be "
		    "initialised", what);
	if (EVP_PKEY_get_raw_public_key(pk, raw, &len) != 1 ||
	    len != sizeof(raw)) {
		ERR_clear_error();
		return ca_error(CA_ERR_POLICY, "%s: the Ed25519 public key "
		    "cannot be read", what);
	}
	if (crypto_core_ed25519_is_valid_point(raw) != 1)
		return ca_error(CA_ERR_POLICY, "%s: Ed25519 public key is a "
		    "small-order or non-canonical point, which verifies "
		    "signatures nobody made; make a new key", what);
	return CA_OK;
}

int
weak_key_check(const EVP_PKEY *pk, const struct weak_key_list *wl,
    const char *what)
{
	int id;

	if (pk == NULL)
		return ca_error(CA_ERR_POLICY, "%s: no public key", what);
	switch ((id = EVP_PKEY_get_base_id(pk))) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		return rsa_check(pk, wl, what);
	case EVP_PKEY_EC:
		return ec_check(pk, what);
	case EVP_PKEY_ED25519:
		return ed25519_check(pk, what);
	default:
		return ca_error(CA_ERR_POLICY, "%s: key type %s is refused "
		    "(RSA, EC P-256/P-384/P-521, Ed25519)", what,
		    id != NID_undef ? OBJ_nid2sn(id) : "unknown");
	}
}
