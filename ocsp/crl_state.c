/* SPDX-License-Identifier: ISC */
/*
 * crl_state: where carapace-crl keeps its CRL numbers, and how it reads
 * the number of the CRL it published last.
 *
 * The state file is a small text file, replaced atomically and durably
 * (fileio_replace: write, fsync, rename, fsync the directory):
 *
 *   # carapace-crl state: the last CRL number reserved. See carapace-crl(8).
 *   issuer_key_id 5c1f...e0
 *   crl_number 42
 *
 * A number is written here before the CRL that carries it is signed, so a
 * crash at any later point skips that number and never reuses it. The
 * issuer key identifier ties the file to one CA key: a state file of
 * another CA is refused rather than continued.
 *
 * The published CRL's number is read with OpenSSL's ASN1_get_object, stepping
 * over the TBSCertList's fields to the crlExtensions and decoding only those
 * (d2i_X509_EXTENSIONS), so checking a CRL with a million entries does not
 * decode a million entries.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "ocsp/crl.h"

#define STATE_MAX	4096

int
crl_state_read(int64_t *out, const char *path, const uint8_t *kid,
    size_t kid_len)
{
	char khex[2 * CRL_KEY_ID_MAX + 1];
	uint8_t *buf = NULL;
	char *line, *save = NULL, *end;
	size_t len;
	long long n = -1;
	int have_kid = 0, lineno = 0, rc;

	*out = 0;
	if ((rc = fileio_read(&buf, &len, path, STATE_MAX)) != CA_OK)
		goto out;
	fileio_hex(khex, kid, kid_len);
	rc = CA_ERR_INVALID;
	if (strlen((char *)buf) != len) {
		rc = ca_error(CA_ERR_INVALID, "%s: NUL byte in state file",
		    path);
		goto out;
	}
	for (line = strtok_r((char *)buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "issuer_key_id ", 14) == 0) {
			if (strcmp(line + 14, khex) != 0) {
				rc = ca_error(CA_ERR_INVALID, "%s:%d: the "
				    "state of another CA key (%s); this "
				    "issuer's key identifier is %s", path,
				    lineno, line + 14, khex);
				goto out;
			}
			have_kid = 1;
		} else if (strncmp(line, "crl_number ", 11) == 0) {
			errno = 0;
			n = strtoll(line + 11, &end, 10);
			if (errno != 0 || *end != '\0' || end == line + 11 ||
			    n <= 0) {
				rc = ca_error(CA_ERR_INVALID, "%s:%d: "
				    "crl_number is not a positive integer",
				    path, lineno);
				goto out;
			}
		} else {
			rc = ca_error(CA_ERR_INVALID, "%s:%d: not "
			    "\"issuer_key_id HEX\" or \"crl_number N\"", path,
			    lineno);
			goto out;
		}
	}
	if (!have_kid || n <= 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: state file lacks %s", path,
		    have_kid ? "crl_number" : "issuer_key_id");
		goto out;
	}
	*out = n;
	rc = CA_OK;
 out:
	free(buf);
	return rc;
}

int
crl_state_write(const char *path, int64_t number, const uint8_t *kid,
    size_t kid_len)
{
	char khex[2 * CRL_KEY_ID_MAX + 1];
	char buf[STATE_MAX];
	int n;

	fileio_hex(khex, kid, kid_len);
	n = snprintf(buf, sizeof(buf), "# carapace-crl state: the last CRL "
	    "number reserved. See carapace-crl(8).\n"
	    "issuer_key_id %s\ncrl_number %" PRId64 "\n", khex, number);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return ca_error(CA_ERR_INTERNAL, "%s: state too long", path);
	return fileio_replace(path, buf, (size_t)n, 0640);
}

/* hdr: one DER header with OpenSSL; 0 on success, -1 on anything odd. */
static int
hdr(const unsigned char **p, long *len, int *tag, int *xclass, long max)
{
	int r;

	r = ASN1_get_object(p, len, tag, xclass, max);
	if (r & 0x80 || r & 1)	/* error, or indefinite length */
		return -1;
	return 0;
}

int
crl_published_number(int64_t *out, const char *path)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	ASN1_INTEGER *num = NULL;
	const unsigned char *p, *end, *q;
	struct stat st;
	void *map = MAP_FAILED;
	long len;
	int fd = -1, tag, xclass, crit, rc = CA_ERR_INVALID;

	*out = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return ca_error(CA_ERR_NOT_FOUND, "%s: no CRL "
			    "published yet", path);
		return ca_error(CA_ERR_IO, "%s: open: %s", path,
		    strerror(errno));
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > LONG_MAX) {
		rc = ca_error(CA_ERR_INVALID, "%s: not a regular, non-empty "
		    "file", path);
		goto out;
	}
	if ((map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd,
	    0)) == MAP_FAILED) {
		rc = ca_error(CA_ERR_IO, "%s: mmap: %s", path,
		    strerror(errno));
		goto out;
	}
	p = map;
	end = p + st.st_size;
	/* CertificateList ::= SEQUENCE { tbsCertList SEQUENCE { ... } } */
	if (hdr(&p, &len, &tag, &xclass, end - p) != 0 ||
	    tag != V_ASN1_SEQUENCE || xclass != V_ASN1_UNIVERSAL ||
	    hdr(&p, &len, &tag, &xclass, end - p) != 0 ||
	    tag != V_ASN1_SEQUENCE || xclass != V_ASN1_UNIVERSAL)
		goto bad;
	end = p + len;
	while (p < end) {
		q = p;
		if (hdr(&p, &len, &tag, &xclass, end - p) != 0)
			goto bad;
		if (xclass == V_ASN1_CONTEXT_SPECIFIC && tag == 0) {
			q = p;
			if ((exts = d2i_X509_EXTENSIONS(NULL, &q, len)) ==
			    NULL || q != p + len)
				goto bad;
			break;
		}
		p += len;
	}
	if (exts == NULL)
		goto bad;
	num = X509V3_get_d2i(exts, NID_crl_number, &crit, NULL);
	if (num == NULL || !ASN1_INTEGER_get_int64(out, num) || *out <= 0)
		goto bad;
	rc = CA_OK;
	goto out;
 bad:
	*out = 0;
	rc = ca_error(CA_ERR_INVALID, "%s: not a DER CRL with a CRL number",
	    path);
 out:
	ASN1_INTEGER_free(num);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	if (fd != -1)
		close(fd);
	return rc;
}
