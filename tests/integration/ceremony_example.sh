#!/bin/sh
# SPDX-License-Identifier: ISC
# ceremony_example.sh: the shipped rehearsal, docs/examples/ceremony-softhsm.sh,
# run as a user would run it, into a fresh OUTDIR. Its results are checked
# with tools nobody here wrote: `openssl verify`, `openssl crl -verify`,
# GnuTLS `certtool --verify-chain`, and `pkcs11-tool --list-objects` on both
# of its tokens (the root key and the issuing CA key made in the second
# token must be sensitive and never extractable). The intermediate must
# certify the key made in the issuer's token, no PIN may appear in what it
# printed or wrote, and flipping one byte of its transcript must make
# `carapace-ceremony verify` fail. This is the issue's "done when".

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/ceremony_common.sh"

EX=$S/docs/examples/ceremony-softhsm.sh
O=$T/out
rc=0
CARAPACE_CEREMONY=$CER sh "$EX" "$O" >"$T/example.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
	cat "$T/example.out" >&2
	[ -f "$O/rehearsal.log" ] && cat "$O/rehearsal.log" >&2
	fail "docs/examples/ceremony-softhsm.sh $O: exit $rc"
fi
ok "ceremony-softhsm.sh ran every step"

for f in root.pem intermediate.pem root-crl.pem transcript softhsm2.conf; do
	[ -s "$O/$f" ] || fail "ceremony-softhsm.sh did not leave $f"
done
grep -q "^directories.tokendir = $O/tokens\$" "$O/softhsm2.conf" ||
    fail "softhsm2.conf does not keep the tokens under OUTDIR"
for f in "$O"/pins/*; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f: mode $(stat -c %a "$f"), not 0600"
done
[ "$(stat -c %a "$O/pins")" = 700 ] || fail "$O/pins: not mode 0700"
for pin in "$O"/pins/*; do
	for f in "$T/example.out" "$O/transcript" "$O/ceremony.cnf" \
	    "$O/rehearsal.log" "$O/issuer/transcript"; do
		[ -f "$f" ] || continue
		if grep -qF -- "$(cat "$pin")" "$f"; then
			fail "$f: contains the PIN from $(basename "$pin")"
		fi
	done
done
ok "outputs present; tokens under OUTDIR; PIN files 0600; no PIN printed or written"

# It refuses to reuse a directory that is not empty (nothing is overwritten).
cp "$O/transcript" "$T/transcript.keep"
if CARAPACE_CEREMONY=$CER sh "$EX" "$O" >"$T/again.out" 2>&1; then
	fail "ceremony-softhsm.sh ran again into a non-empty OUTDIR"
fi
cmp -s "$O/transcript" "$T/transcript.keep" || fail "a refused second run changed the transcript"
ok "a second run into the same OUTDIR is refused"

SOFTHSM2_CONF=$O/softhsm2.conf
export SOFTHSM2_CONF
cd "$O"

# --- the chain and the CRL, by OpenSSL and GnuTLS ------------------------------------

openssl verify -CAfile root.pem intermediate.pem >"$T/v.out" 2>&1 ||
    { cat "$T/v.out" >&2; fail "openssl verify -CAfile root.pem intermediate.pem"; }
grep -q "intermediate.pem: OK" "$T/v.out" || { cat "$T/v.out" >&2; fail "openssl verify did not say OK"; }
openssl crl -in root-crl.pem -CAfile root.pem -verify -noout >"$T/crl.out" 2>&1 ||
    { cat "$T/crl.out" >&2; fail "openssl crl -CAfile root.pem -verify"; }
grep -q "verify OK" "$T/crl.out" || { cat "$T/crl.out" >&2; fail "openssl crl did not say verify OK"; }
ok "openssl: intermediate.pem verifies under root.pem; root-crl.pem verifies"

if command -v certtool >/dev/null; then
	cat intermediate.pem root.pem >"$T/chain.pem"
	certtool --verify-chain --infile "$T/chain.pem" >"$T/gnutls.out" 2>&1 ||
	    { cat "$T/gnutls.out" >&2; fail "certtool --verify-chain"; }
	grep -q "Chain verification output: Verified" "$T/gnutls.out" ||
	    { cat "$T/gnutls.out" >&2; fail "certtool did not say Verified"; }
	certtool --verify-crl --load-ca-certificate root.pem --infile root-crl.pem \
	    >"$T/gnutls.out" 2>&1 || { cat "$T/gnutls.out" >&2; fail "certtool --verify-crl"; }
	ok "GnuTLS certtool: --verify-chain Verified, CRL verified"
else
	echo "note: certtool (gnutls-bin) not installed; GnuTLS checks skipped"
fi

# The intermediate certifies the key generated inside the issuer's token,
# and its CSR's subject.
spki() { openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }
ica_fp=$(openssl x509 -in intermediate.pem -noout -pubkey | spki)
iss_fp=$(spki <issuer/issuer-pub.pem)
[ "$ica_fp" = "$iss_fp" ] ||
    fail "intermediate.pem certifies $ica_fp, not the issuer token's key $iss_fp"
openssl x509 -in intermediate.pem -noout -subject | grep -q "Carapace Rehearsal Issuing CA 1" ||
    fail "intermediate.pem does not carry the CSR's subject"
root_fp=$(openssl x509 -in root.pem -noout -pubkey | spki)
grep -q "spki-sha256:$root_fp" transcript ||
    fail "the transcript does not record the root key's SPKI SHA-256"
ok "intermediate.pem certifies the key from carapace-issuer; the transcript names the root key"

# --- the keys in the tokens, by pkcs11-tool ----------------------------------------

for tl in carapace-root:root-ca carapace-issuer:issuing-ca-1; do
	tok=${tl%%:*}
	label=${tl#*:}
	CARAPACE_TEST_PIN=$(cat "pins/$tok.pin") \
	    pkcs11-tool --module "$SOFTHSM2_MODULE" --token-label "$tok" --login \
	    --pin env:CARAPACE_TEST_PIN --list-objects --type privkey \
	    >"$T/objs.txt" 2>&1 || { cat "$T/objs.txt" >&2; fail "pkcs11-tool on $tok"; }
	[ "$(grep -c '^Private Key Object' "$T/objs.txt")" -eq 1 ] ||
	    { cat "$T/objs.txt" >&2; fail "$tok: expected exactly one private key"; }
	grep -Eq "^ *label: *$label\$" "$T/objs.txt" ||
	    { cat "$T/objs.txt" >&2; fail "$tok: the private key is not labelled $label"; }
	access=$(grep 'Access:' "$T/objs.txt" || true)
	for a in "sensitive" "always sensitive" "never extractable"; do
		echo "$access" | grep -Eq "[:,] *$a(,|\$)" ||
		    { cat "$T/objs.txt" >&2; fail "$tok: private key not '$a'"; }
	done
	if echo "$access" | grep -Eq '[:,] *extractable'; then
		cat "$T/objs.txt" >&2
		fail "$tok: private key is extractable"
	fi
done
ok "pkcs11-tool: both CA keys sensitive, always sensitive, never extractable"

# --- verify, then flip one byte -------------------------------------------------------

rc=0
"$CER" verify --transcript transcript --root root.pem >"$T/cer.out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/cer.out" >&2; fail "verify --transcript transcript --root root.pem: exit $rc"; }

size=$(wc -c <transcript)
for pos in $((size / 3)) $((size / 2)) $((size - 5)); do
	cp transcript tampered
	byte=$(od -An -tu1 -j "$pos" -N1 transcript | tr -d ' ')
	printf '%b' "\\0$(printf '%03o' $((byte ^ 1)))" |
	    dd of=tampered bs=1 seek="$pos" conv=notrunc 2>/dev/null
	cmp -s transcript tampered && fail "could not flip byte $pos"
	rc=0
	"$CER" verify --transcript tampered --root root.pem >"$T/cer.out" 2>&1 </dev/null || rc=$?
	[ "$rc" -eq 1 ] || { cat "$T/cer.out" >&2; fail "verify with byte $pos of $size flipped: exit $rc, expected 1"; }
done
rm -f tampered
ok "verify passes on the transcript and fails (exit 1) with any of 3 bytes flipped"

# --- the name constraints, as relying parties read them (issue 19) ------------------
# permitted;DNS:example.internal covers the name itself and every name
# under it, and nothing else. The leaves are signed with the issuing CA's
# key inside SoftHSM through OpenSSL's pkcs11 engine.
ENGINE_OK=
for d in /usr/lib/x86_64-linux-gnu/engines-3 /usr/lib/aarch64-linux-gnu/engines-3 \
    /usr/lib/engines-3; do
	[ -f "$d/pkcs11.so" ] && ENGINE_OK=1
done
[ -n "$ENGINE_OK" ] || fail "OpenSSL's pkcs11 engine is not installed (scripts/install-deps)"
openssl x509 -in intermediate.pem -noout -ext nameConstraints |
    grep -q '^ *DNS:example\.internal$' ||
    fail "the example intermediate's constraint is not DNS:example.internal"
CAKEY="pkcs11:token=carapace-issuer;object=issuing-ca-1;type=private;pin-source=file:$O/pins/carapace-issuer.pin"
n=0
for name in host.example.internal example.internal example.com; do
	n=$((n + 1))
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/nc.key" -subj "/CN=$name" -out "$T/nc.csr" 2>/dev/null ||
	    fail "openssl req for $name"
	printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nsubjectAltName = DNS:%s\n' \
	    "$name" >"$T/nc.ext"
	PKCS11_MODULE_PATH=$SOFTHSM2_MODULE openssl x509 -req -in "$T/nc.csr" \
	    -CA intermediate.pem -engine pkcs11 -CAkeyform engine -CAkey "$CAKEY" \
	    -set_serial "0x5c0$n" -days 1 -sha256 -extfile "$T/nc.ext" \
	    -out "$T/nc-$name.pem" >"$T/nc.out" 2>&1 ||
	    { cat "$T/nc.out" >&2; fail "could not sign a leaf for $name"; }
done
for name in host.example.internal example.internal; do
	openssl verify -CAfile root.pem -untrusted intermediate.pem \
	    "$T/nc-$name.pem" >"$T/nc.out" 2>&1 ||
	    { cat "$T/nc.out" >&2; fail "openssl verify refuses a leaf for $name"; }
	cat "$T/nc-$name.pem" intermediate.pem root.pem >"$T/nc-chain.pem"
	certtool --verify-chain --infile "$T/nc-chain.pem" >"$T/nc.out" 2>&1 ||
	    { cat "$T/nc.out" >&2; fail "certtool refuses a leaf for $name"; }
done
if openssl verify -CAfile root.pem -untrusted intermediate.pem \
    "$T/nc-example.com.pem" >"$T/nc.out" 2>&1; then
	fail "openssl verify accepts a leaf for example.com"
fi
grep -qi 'permitted subtree violation' "$T/nc.out" ||
    { cat "$T/nc.out" >&2; fail "example.com refused, but not for the name constraint"; }
ok "name constraints: host.example.internal and example.internal verify (openssl, certtool); example.com does not"
