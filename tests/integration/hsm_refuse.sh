# SPDX-License-Identifier: ISC
# hsm_refuse.sh: what hsm/ must refuse, each with an error that names the
# problem: a wrong PIN (never retried), an absent token, a key that is not
# there, a key that was imported (extractable history) unless the
# configuration allows unsafe keys, a world-readable PIN file, a PIN
# written into the URI, and a missing module. The PIN handed over in memory
# (hsm_probe -P: standard input -> sodium memory -> struct hsm_pin) logs in
# like a PIN source does, and a wrong one fails the same way.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

P=$B/tests/tools/hsm_probe
[ -x "$P" ] || fail "$P: not built (make tests/tools/hsm_probe)"
token_init ca
U="pkcs11:token=ca"
Q="?pin-source=file:$T/ca.pin"
printf 'data\n' >"$T/data"
"$P" keygen "$U;object=good$Q" ec-p256 "$T/good.pem" >/dev/null ||
    fail "keygen"

# expect_err DESC PATTERN CMD...: CMD fails and says PATTERN (ERE).
expect_err() {
	d=$1
	pat=$2
	shift 2
	expect_fail "$d" "$@"
	grep -Eq "$pat" "$T/expect_fail.out" ||
	    fail "$d: error does not match /$pat/: $(cat "$T/expect_fail.out")"
	ok "$d"
}

# Wrong PIN: one attempt only. SoftHSM counts failures; after ours the
# token must still accept the right PIN and not be locked.
(umask 077 && printf 'not-the-pin\n' >"$T/bad.pin")
expect_err "wrong PIN" 'incorrect PIN: token "ca" .*CKR_PIN_INCORRECT.*not retrying' \
    "$P" sign "$U;object=good?pin-source=file:$T/bad.pin" "$T/data" \
    "$T/s" "$T/p"
[ ! -e "$T/s" ] || fail "wrong PIN: a signature was written"
"$P" sign "$U;object=good$Q" "$T/data" "$T/s" "$T/p" >/dev/null ||
    fail "the right PIN no longer works after one wrong attempt"

# The same through the in-memory PIN object (-P reads standard input).
expect_err "wrong PIN in memory" 'incorrect PIN: token "ca" .*CKR_PIN_INCORRECT.*not retrying' \
    "$P" -P sign "$U;object=good" "$T/data" "$T/sm" "$T/pm" <"$T/bad.pin"
[ ! -e "$T/sm" ] || fail "wrong PIN in memory: a signature was written"
"$P" -P sign "$U;object=good" "$T/data" "$T/sm" "$T/pm" <"$T/ca.pin" \
    >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "sign with the PIN in memory"; }
openssl dgst -sha256 -verify "$T/good.pem" -signature "$T/sm" "$T/data" \
    >/dev/null || fail "PIN in memory: openssl does not verify the signature"
ok "sign with the PIN in memory"
"$P" -P keygen "$U;object=mem" ec-p256 "$T/mem.pem" <"$T/ca.pin" \
    >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "keygen with the PIN in memory"; }
pkcs11-tool --module "$SOFTHSM2_MODULE" --token-label ca --list-objects \
    --type pubkey 2>/dev/null | grep -q 'label: *mem$' ||
    fail "keygen with the PIN in memory: pkcs11-tool does not list key mem"
ok "keygen with the PIN in memory"
"$P" -P inventory "$U" <"$T/ca.pin" >"$T/inv" 2>&1 ||
    { cat "$T/inv" >&2; fail "inventory with the PIN in memory"; }
grep -q 'private key "mem"' "$T/inv" ||
    fail "inventory with the PIN in memory: private key mem not listed: $(cat "$T/inv")"
ok "inventory with the PIN in memory lists private keys"
expect_err "keygen, wrong PIN in memory" 'incorrect PIN: .*not retrying' \
    "$P" -P keygen "$U;object=mem2" ec-p256 "$T/mem2.pem" <"$T/bad.pin"
printf '\n' >"$T/empty.pin"
expect_err "empty PIN in memory" 'empty PIN' \
    "$P" -P sign "$U;object=good" "$T/data" "$T/sm2" "$T/pm2" <"$T/empty.pin"
"$P" sign "$U;object=good$Q" "$T/data" "$T/s" "$T/p" >/dev/null ||
    fail "the right PIN no longer works after wrong attempts in memory"

expect_err "absent token" 'token not present: .*token=nosuch.*no token matching' \
    "$P" sign "pkcs11:token=nosuch;object=good$Q" "$T/data" "$T/s2" "$T/p2"
expect_err "keygen on absent token" 'token not present' \
    "$P" keygen "pkcs11:token=nosuch;object=x$Q" ec-p256 "$T/x.pem"
expect_err "missing key" 'not found: .*no private key' \
    "$P" sign "$U;object=nokey$Q" "$T/data" "$T/s2" "$T/p2"
expect_err "keygen without label or id" 'needs a label' \
    "$P" keygen "$U$Q" ec-p256 "$T/x.pem"
expect_err "unknown key type" 'not supported' \
    "$P" keygen "$U;object=x$Q" ed25519 "$T/x.pem"
expect_err "missing module" 'cannot be loaded' \
    "$P" -m "$T/no-such-module.so" inventory

# A PIN in the URI is refused without being echoed.
expect_err "pin-value refused" 'pin-value is refused' \
    "$P" sign "$U;object=good?pin-value=secret123" "$T/data" "$T/s2" "$T/p2"
! grep -q secret123 "$T/expect_fail.out" || fail "pin-value echoed"

# A PIN file that every user can read is refused.
cp "$T/ca.pin" "$T/open.pin"
chmod 0644 "$T/open.pin"
expect_err "world-readable PIN file" 'readable by every user' \
    "$P" sign "$U;object=good?pin-source=file:$T/open.pin" "$T/data" \
    "$T/s2" "$T/p2"
expect_err "missing PIN variable" 'variable is not set' \
    "$P" -p env:CARAPACE_NO_SUCH_VAR sign "$U;object=good" "$T/data" \
    "$T/s2" "$T/p2"

# An imported key (CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE false),
# written with pkcs11-tool, is refused unless unsafe keys are allowed.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/imp.key" 2>/dev/null || fail "openssl genpkey"
openssl pkey -in "$T/imp.key" -outform DER -out "$T/imp.der"
openssl pkey -in "$T/imp.key" -pubout -outform DER -out "$T/imp.pub.der"
openssl pkey -in "$T/imp.key" -pubout -out "$T/imp.pub.pem"
CARAPACE_TEST_PIN=$(cat "$T/ca.pin")
export CARAPACE_TEST_PIN
for obj in "$T/imp.der privkey" "$T/imp.pub.der pubkey"; do
	set -- $obj
	pkcs11-tool --module "$SOFTHSM2_MODULE" --token-label ca --login \
	    --pin env:CARAPACE_TEST_PIN --write-object "$1" --type "$2" \
	    --label imported --id 77 --usage-sign >/dev/null 2>&1 ||
	    fail "pkcs11-tool --write-object $2"
done
unset CARAPACE_TEST_PIN
rm -f "$T/imp.key" "$T/imp.der"
expect_err "imported key refused" 'not protected by the HSM: .*object=imported.*CKA_ALWAYS_SENSITIVE FALSE' \
    "$P" sign "$U;object=imported$Q" "$T/data" "$T/s3" "$T/p3"
[ ! -e "$T/s3" ] || fail "imported key: a signature was written"
"$P" -u sign "$U;object=imported$Q" "$T/data" "$T/s3" "$T/p3" \
    >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "allow_unsafe_keys did not allow the imported key"; }
openssl dgst -sha256 -verify "$T/imp.pub.pem" -signature "$T/s3" \
    "$T/data" >/dev/null || fail "imported key: openssl does not verify"
grep -q "unsafe key: .*CKA_ALWAYS_SENSITIVE FALSE" "$T/out" ||
    { cat "$T/out" >&2; fail "allow_unsafe_keys let the key through silently (no hsm_key_unsafe reason)"; }
"$P" -u sign "$U;object=good$Q" "$T/data" "$T/s4" "$T/p4" >"$T/out" 2>&1 ||
    fail "allow_unsafe_keys: the good key"
! grep -q "unsafe key" "$T/out" || fail "a safe key is reported unsafe"
ok "allow_unsafe_keys overrides the check, and says why the key is unsafe"

for f in "$T/expect_fail.out" "$T/out" "$T/inv"; do
	! grep -qF "$(cat "$T/ca.pin")" "$f" || fail "PIN printed in $f"
done
ok "no PIN in output"
