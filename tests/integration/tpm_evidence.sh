# SPDX-License-Identifier: ISC
# tpm_evidence.sh: TPM 2.0 attestation evidence end to end on two swtpms,
# each manufactured by swtpm_setup with its own local EK CA. tpm_flow runs
# the client (client/tpm_client.c) and the server checks (attest/) in one
# process: EK -> MakeCredential -> ActivateCredential -> key -> Certify ->
# verify, for an RSA and an ECC EK. Then, with tools nobody here wrote:
# the EK public area we rebuild from the TCG template is byte for byte the
# one swtpm_setup made (tpm2_readpublic), the key's name is the TPM's
# (tpm2_loadexternal + tpm2_readpublic), the TSS2 PRIVATE KEY file loads in
# OpenSSL's tpm2 provider, signs a CSR that passes the certify check, and
# serves one TLS handshake with openssl s_server. Refusals: an EK
# certificate from another manufacturer, a credential activated by another
# TPM, a replayed activation secret, a stale certify nonce, a certify over
# another key than the CSR's, and a software key in the CSR.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/tpm_common.sh"

F=$B/tests/tools/tpm_flow
[ -x "$F" ] || fail "$F: not built (make tests/tools/tpm_flow)"

tpm_start a
TCTI_A=$TPM_TCTI
tpm_start b
TCTI_B=$TPM_TCTI
ok "two swtpms with EK certificates from two local CAs"

for alg in rsa ecc; do
	mkdir -p "$T/$alg"
	"$F" -t "$TCTI_A" -c "$T/a/cas.pem" flow "$alg" "$T/$alg" \
	    >"$T/$alg.out" 2>&1 || { cat "$T/$alg.out" >&2; fail "flow $alg"; }
	grep -q '^selector tpm:ek-sha256:[0-9a-f]\{64\}$' "$T/$alg.out" &&
	    grep -q '^selector tpm:ek-issuer:CN=swtpm-localca$' "$T/$alg.out" &&
	    grep -q '^selector tpm:ak-name:000b[0-9a-f]\{64\}$' "$T/$alg.out" ||
	    { cat "$T/$alg.out" >&2; fail "flow $alg: selectors"; }
	grep -q '^replayed secret refused: .*replay' "$T/$alg.out" ||
	    { cat "$T/$alg.out" >&2; fail "flow $alg: a replayed secret"; }
	ok "$alg EK: EK cert, AK, credential activated, key certified, verified"
done

# The EK we rebuild from the TCG templates is the one swtpm_setup made and
# certified (RSA at 0x81010001, the P-384 EK at 0x81010016).
tpm_tools a
tpm2_readpublic -Q -c 0x81010001 -o "$T/ek-rsa.tools" ||
    fail "tpm2_readpublic of the RSA EK"
cmp -s "$T/ek-rsa.tools" "$T/rsa/ek.pub" ||
    fail "the RSA EK public area differs from tpm2_readpublic's"
tpm2_readpublic -Q -c 0x81010016 -o "$T/ek-ecc.tools" ||
    fail "tpm2_readpublic of the ECC EK"
cmp -s "$T/ek-ecc.tools" "$T/ecc/ek.pub" ||
    fail "the ECC EK public area differs from tpm2_readpublic's"
ok "EK public areas equal tpm2_readpublic's"

# The key's name as the TPM computes it.
tpm2_loadexternal -Q -C n -u "$T/rsa/key.tpub" -c "$T/key.ctx" ||
    fail "tpm2_loadexternal"
tpm2_readpublic -Q -c "$T/key.ctx" -n "$T/key.name" ||
    fail "tpm2_readpublic of the key"
tpm2_flushcontext -t
[ "$(od -An -tx1 -v "$T/key.name" | tr -d ' \n')" = "$(cat "$T/rsa/name")" ] ||
    fail "the key name differs from tpm2_readpublic's"
ok "key name equals tpm2_readpublic's"

# The key file in OpenSSL: a CSR signed in the TPM, which the certify
# check accepts; the same check refuses a stale nonce, another key's CSR
# and a software key.
P="-provider tpm2 -provider default"
# shellcheck disable=SC2086
openssl req -new $P -key "$T/rsa/key.pem" -subj /CN=tpm.test \
    -out "$T/tpm.csr" 2>"$T/req.err" ||
    { cat "$T/req.err" >&2; fail "openssl req with the TPM key"; }
# shellcheck disable=SC2086
openssl req -new $P -key "$T/ecc/key.pem" -subj /CN=other.test \
    -out "$T/other.csr" 2>"$T/req.err" ||
    { cat "$T/req.err" >&2; fail "openssl req with the second TPM key"; }
"$F" certify-check "$T/rsa" "$T/tpm.csr" >"$T/cc.out" 2>&1 ||
    { cat "$T/cc.out" >&2; fail "certify check of the TPM key's CSR"; }
ok "the TSS2 key file loads in the tpm2 provider; its CSR passes"

openssl rand -out "$T/stale.nonce" 32
expect_fail "a stale nonce" "$F" certify-check "$T/rsa" "$T/tpm.csr" \
    "$T/stale.nonce"
grep -q "extraData is not this request's nonce" "$T/expect_fail.out" ||
    { cat "$T/expect_fail.out" >&2; fail "stale nonce: wrong refusal"; }
expect_fail "another key's CSR" "$F" certify-check "$T/rsa" "$T/other.csr"
grep -q "CSR's public key is not the TPM-certified key" "$T/expect_fail.out" ||
    { cat "$T/expect_fail.out" >&2; fail "other key: wrong refusal"; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/soft.key" -subj /CN=soft.test -out "$T/soft.csr" \
    2>/dev/null || fail "openssl req (software key)"
expect_fail "a software key" "$F" certify-check "$T/rsa" "$T/soft.csr"
grep -q "CSR's public key is not the TPM-certified key" "$T/expect_fail.out" ||
    { cat "$T/expect_fail.out" >&2; fail "software key: wrong refusal"; }
ok "refused: stale certify nonce, another key's CSR, a software key"

# One TLS handshake with the key in the TPM ($T/ossl.cnf: see
# tpm_common.sh).
# shellcheck disable=SC2086
OPENSSL_CONF=$T/ossl.cnf openssl req -x509 $P -key "$T/rsa/key.pem" \
    -subj /CN=localhost -days 1 -out "$T/tls.crt" 2>"$T/req.err" ||
    { cat "$T/req.err" >&2; fail "self-signed certificate for the TPM key"; }
tpm_tls_handshake "$T/rsa/key.pem" "$T/tls.crt" "$T/tls.crt"
ok "openssl s_server with the TPM key: one TLS handshake verified"

# Refusals that need the second TPM.
expect_fail "an EK certificate from another manufacturer" \
    "$F" -t "$TCTI_B" -c "$T/a/cas.pem" flow rsa "$T/b"
grep -q "does not chain to a manufacturer CA" "$T/expect_fail.out" ||
    { cat "$T/expect_fail.out" >&2; fail "untrusted EK CA: wrong refusal"; }
# Both TPMs are genuine (both CAs trusted); the AK is B's, the EK A's.
cat "$T/a/cas.pem" "$T/b/cas.pem" >"$T/both.pem"
"$F" -t "$TCTI_A" -u "$TCTI_B" -c "$T/both.pem" wrong-tpm >"$T/wrong.out" 2>&1 ||
    { cat "$T/wrong.out" >&2; fail "wrong TPM: the secret was recovered"; }
grep -q "^refused: tpm: ActivateCredential" "$T/wrong.out" ||
    { cat "$T/wrong.out" >&2; fail "wrong TPM: not refused by the TPM"; }
ok "refused: untrusted EK CA, a credential activated by another TPM"
