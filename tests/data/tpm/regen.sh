#!/bin/sh
# SPDX-License-Identifier: ISC
# regen.sh: regenerate the TPM evidence the unit tests (tests/unit/
# test_tpm_*.c) and the fuzz seed corpora (tests/fuzz/corpus/tpm_*) read,
# from a fresh swtpm manufactured with a local EK CA. Run from a build
# directory after `make tests/tools/tpm_flow`:
#   top_srcdir=.. top_builddir=. sh ../tests/data/tpm/regen.sh
# Every file is evidence a real TPM made; nothing secret is kept (the
# TPM and its CA are thrown away with the test directory).
. "${top_srcdir:-$(dirname "$0")/../../..}/tests/integration/common.sh"
. "$S/tests/integration/tpm_common.sh"

F=$B/tests/tools/tpm_flow
[ -x "$F" ] || fail "$F: not built (make tests/tools/tpm_flow)"
D=$S/tests/data/tpm
tpm_start a
tpm_tools a
mkdir -p "$T/rsa" "$T/ecc"
"$F" -t "$TPM_TCTI" -c "$T/a/cas.pem" capture "$T/rsa" >/dev/null ||
    fail "capture (RSA EK)"
"$F" -t "$TPM_TCTI" -c "$T/a/cas.pem" flow ecc "$T/ecc" >/dev/null ||
    fail "capture (ECC EK)"
# The certified key's public key as OpenSSL's tpm2 provider sees it.
openssl pkey -provider tpm2 -provider default -in "$T/rsa/key.pem" \
    -pubout -out "$T/rsa/key.spki.pem" || fail "openssl pkey"

cp "$T/a/cas.pem" "$D/ekca.pem"
for f in ek.crt ek.pub ak.pub key.tpub key.spki.pem attest sig nonce \
    dup-key.tpub dup-attest dup-sig dup-nonce; do
	cp "$T/rsa/$f" "$D/$f"
done
cp "$T/ecc/ek.crt" "$D/ek-ecc.crt"
cp "$T/ecc/ek.pub" "$D/ek-ecc.pub"

# The bad-* and no-cert seeds are hand-made variants and stay as they are.
C=$S/tests/fuzz/corpus
mkdir -p "$C/tpm_public" "$C/tpm_attest" "$C/tpm_ek"
cp "$D/ak.pub" "$C/tpm_public/ak"
cp "$D/key.tpub" "$C/tpm_public/key"
cp "$D/ek-ecc.pub" "$C/tpm_public/ek-ecc"
# tpm_attest inputs: u16 attest length, attest, signature (see fuzz_tpm_attest.c)
for p in "" dup-; do
	n=$(wc -c <"$D/${p}attest")
	printf "$(printf '\\%03o\\%03o' $((n / 256)) $((n % 256)))" \
	    >"$C/tpm_attest/${p:-key-}seed"
	cat "$D/${p}attest" "$D/${p}sig" >>"$C/tpm_attest/${p:-key-}seed"
done
# tpm_ek inputs: u16 certificate length, certificate, TPM2B_PUBLIC
for p in ek ek-ecc; do
	n=$(wc -c <"$D/$p.crt")
	printf "$(printf '\\%03o\\%03o' $((n / 256)) $((n % 256)))" \
	    >"$C/tpm_ek/$p"
	cat "$D/$p.crt" "$D/$p.pub" >>"$C/tpm_ek/$p"
done
ok "regenerated $D and the tpm_* seed corpora"
