/* SPDX-License-Identifier: ISC */
/*
 * hsm_wrap: the wrap probe. A module reports CKA_SENSITIVE and
 * CKA_NEVER_EXTRACTABLE for its keys; whether it enforces them is another
 * matter (NSS softokn reports them and still wraps such a key with
 * C_WrapKey). The probe checks from outside: it makes an AES key that lives
 * only in this session, asks the module to wrap the private key with it
 * under each AES wrapping mechanism, and expects every attempt to be
 * refused. A wrapped key that comes back is wiped at once and never leaves
 * this file; the session key is destroyed before the function returns.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "hsm/hsm_int.h"

/* Wrapped RSA-4096 keys are about 2.4 KB; leave room. */
#define WRAP_BUF	8192

const char *
hsm_wrap_probe_name(enum hsm_wrap_probe p)
{
	switch (p) {
	case HSM_PROBE_REFUSED:
		return "refused";
	case HSM_PROBE_EXPORTED:
		return "exported";
	case HSM_PROBE_NOT_RUN:
		break;
	}
	return "not-run";
}

static CK_RV
wrap_session_key(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *out)
{
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_WRAP, &yes, sizeof(yes) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		/* A key that wrapped the private key must not leave either. */
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
	};

	*out = CK_INVALID_HANDLE;
	return h->fl->C_GenerateKey(s, &mech, t, sizeof(t) / sizeof(t[0]),
	    out);
}

enum hsm_wrap_probe
hsm_wrap_probe(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv,
    char *detail, size_t len)
{
	static const struct {
		CK_MECHANISM_TYPE type;
		const char *name;
	} mechs[] = {
		{ CKM_AES_KEY_WRAP_PAD, "CKM_AES_KEY_WRAP_PAD" },
		{ CKM_AES_KEY_WRAP, "CKM_AES_KEY_WRAP" },
		{ CKM_AES_CBC_PAD, "CKM_AES_CBC_PAD" },
	};
	unsigned char iv[16], *buf = NULL;
	CK_MECHANISM m;
	CK_OBJECT_HANDLE wk = CK_INVALID_HANDLE;
	CK_ULONG n;
	CK_RV rv;
	size_t i, off = 0;
	enum hsm_wrap_probe res = HSM_PROBE_NOT_RUN;
	int tried = 0;

	snprintf(detail, len, "not run");
	if ((rv = wrap_session_key(h, s, &wk)) != CKR_OK) {
		snprintf(detail, len, "not run: the module cannot make an AES "
		    "session key (%s)", hsm_ckr_name(rv));
		return HSM_PROBE_NOT_RUN;
	}
	if (sodium_init() < 0 || (buf = sodium_malloc(WRAP_BUF)) == NULL) {
		snprintf(detail, len, "not run: no secure memory");
		goto out;
	}
	memset(iv, 0, sizeof(iv));
	detail[0] = '\0';
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		m.mechanism = mechs[i].type;
		m.pParameter = mechs[i].type == CKM_AES_CBC_PAD ? iv : NULL;
		m.ulParameterLen = mechs[i].type == CKM_AES_CBC_PAD ?
		    sizeof(iv) : 0;
		n = WRAP_BUF;
		rv = h->fl->C_WrapKey(s, &m, wk, priv, buf, &n);
		sodium_memzero(buf, WRAP_BUF);
		if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL) {
			snprintf(detail, len, "exported: C_WrapKey with %s "
			    "returned the private key wrapped (%s)",
			    mechs[i].name, rv == CKR_OK ? "CKR_OK" :
			    "CKR_BUFFER_TOO_SMALL");
			res = HSM_PROBE_EXPORTED;
			goto out;
		}
		if (rv == CKR_MECHANISM_INVALID ||
		    rv == CKR_FUNCTION_NOT_SUPPORTED)
			continue;
		tried++;
		if (off < len)
			off += (size_t)snprintf(detail + off, len - off,
			    "%s%s: %s", off == 0 ? "refused: " : ", ",
			    mechs[i].name, hsm_ckr_name(rv));
	}
	if (tried > 0)
		res = HSM_PROBE_REFUSED;
	else
		snprintf(detail, len, "not run: the module offers no AES "
		    "wrapping mechanism");
 out:
	if (buf != NULL)
		sodium_free(buf);
	(void)h->fl->C_DestroyObject(s, wk);
	return res;
}
