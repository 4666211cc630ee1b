# SPDX-License-Identifier: ISC
# hsm_keygen.sh: hsm_keygen makes every supported key type on a SoftHSM
# token with the protection attributes a CA key needs (checked with
# pkcs11-tool), the key signs through its EVP_PKEY (checked with openssl),
# the inventory shows it, and a second key with the same label or id is
# refused.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

P=$B/tests/tools/hsm_probe
[ -x "$P" ] || fail "$P: not built (make tests/tools/hsm_probe)"
token_init ca
U="pkcs11:token=ca"
Q="?pin-source=file:$T/ca.pin"
printf 'to be signed\n' >"$T/data"

i=0
for type in ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096; do
	i=$((i + 1))
	"$P" keygen "$U;object=root-$type;id=%0$i$Q" "$type" \
	    "$T/$type.pub.pem" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "keygen $type"; }
	openssl pkey -pubin -in "$T/$type.pub.pem" -noout -text \
	    >"$T/$type.txt" 2>&1 || fail "keygen $type: public key unreadable"
	case $type in
	ec-p256) grep -q "NIST CURVE: P-256" "$T/$type.txt" ;;
	ec-p384) grep -q "NIST CURVE: P-384" "$T/$type.txt" ;;
	rsa-*) grep -q "(${type#rsa-} bit)" "$T/$type.txt" ;;
	esac || fail "keygen $type: openssl shows another key type"
	ok "keygen $type"
done

# pkcs11-tool, not our code, must see every private key as sensitive and
# never extractable, usable for signing only.
# The PIN goes through the environment (pkcs11-tool's env: form), not argv.
CARAPACE_TEST_PIN=$(cat "$T/ca.pin") pkcs11-tool --module "$SOFTHSM2_MODULE" \
    --token-label ca --login --pin env:CARAPACE_TEST_PIN \
    --list-objects --type privkey >"$T/objects" 2>&1 ||
    fail "pkcs11-tool --list-objects"
for type in ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096; do
	awk -v l="root-$type" '
	    /^Private Key Object/ { inkey = 0 }
	    $1 == "label:" && $2 == l { inkey = 1 }
	    inkey && $1 == "Usage:" { usage = $0 }
	    inkey && $1 == "Access:" { access = $0 }
	    END {
		if (access !~ /sensitive, always sensitive, never extractable/)
			exit 1
		if (usage !~ /sign/ || usage ~ /decrypt|unwrap|derive/)
			exit 1
	    }' "$T/objects" ||
	    { cat "$T/objects" >&2; fail "pkcs11-tool: root-$type attributes"; }
done
ok "pkcs11-tool shows every key sensitive, never extractable, sign only"

# Each key signs; openssl verifies against the public key from keygen.
for type in ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096; do
	"$P" sign "$U;object=root-$type$Q" "$T/data" "$T/$type.sig" \
	    "$T/$type.pub2.pem" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "sign $type"; }
	openssl dgst -sha256 -verify "$T/$type.pub.pem" \
	    -signature "$T/$type.sig" "$T/data" >/dev/null ||
	    fail "openssl does not verify the $type signature"
	cmp -s "$T/$type.pub.pem" "$T/$type.pub2.pem" ||
	    fail "hsm_key_public differs from keygen's key ($type)"
	# A tampered message must not verify.
	printf 'to be signed!\n' >"$T/data2"
	if openssl dgst -sha256 -verify "$T/$type.pub.pem" \
	    -signature "$T/$type.sig" "$T/data2" >/dev/null 2>&1; then
		fail "openssl verified a tampered message ($type)"
	fi
done
ok "signatures verify with openssl"

# Found by id alone, with the PIN from the environment.
CA_TEST_PIN=$(cat "$T/ca.pin")
export CA_TEST_PIN
"$P" -p env:CA_TEST_PIN sign "$U;id=%02" "$T/data" "$T/id.sig" \
    "$T/id.pub.pem" >"$T/out" 2>&1 || { cat "$T/out" >&2; fail "sign by id"; }
unset CA_TEST_PIN
cmp -s "$T/id.pub.pem" "$T/ec-p384.pub.pem" || fail "id=%02 found the wrong key"
ok "key found by id, PIN from env:"

# Several threads share one key.
"$P" threads "$U;object=root-ec-p256$Q" 200 >"$T/out" 2>&1 ||
    { cat "$T/out" >&2; fail "threads"; }
ok "4 threads sign with one key"

# The same label, or the same id, is refused and nothing is added.
n_before=$(grep -c '^Private Key Object' "$T/objects")
expect_fail "duplicate label" "$P" keygen "$U;object=root-ec-p256$Q" \
    ec-p256 "$T/dup.pem"
grep -q "already on the token" "$T/expect_fail.out" ||
    fail "duplicate label: unclear error: $(cat "$T/expect_fail.out")"
expect_fail "duplicate id" "$P" keygen "$U;object=other;id=%01$Q" \
    ec-p256 "$T/dup.pem"
grep -q "already on the token" "$T/expect_fail.out" ||
    fail "duplicate id: unclear error: $(cat "$T/expect_fail.out")"
[ ! -e "$T/dup.pem" ] || fail "duplicate keygen wrote a public key"
"$P" -p "file:$T/ca.pin" inventory "$U" >"$T/inv" 2>&1 ||
    { cat "$T/inv" >&2; fail "inventory"; }
n_after=$(grep -c '    private key' "$T/inv")
[ "$n_before" = "$n_after" ] || fail "duplicate keygen added a key"
ok "duplicate label and id refused"

grep -q 'private key "root-ec-p384" id 02 EC P-384 sensitive=yes always_sensitive=yes extractable=no never_extractable=yes sign=yes decrypt=no unwrap=no derive=no' \
    "$T/inv" || { cat "$T/inv" >&2; fail "inventory does not show root-ec-p384"; }
grep -q 'private key "root-rsa-4096" id 05 RSA 4096' "$T/inv" ||
    fail "inventory does not show root-rsa-4096"
# Without a login only public objects are listed.
"$P" inventory >"$T/inv0" 2>&1 || fail "inventory without login"
grep -q 'keys_listed=0' "$T/inv0" || fail "inventory: keys_listed"
! grep -q '    private key' "$T/inv0" || fail "inventory listed private keys without a login"
ok "inventory"

# The PIN never appears in anything the probe printed.
for f in "$T/out" "$T/inv" "$T/inv0" "$T/expect_fail.out"; do
	! grep -qF "$(cat "$T/ca.pin")" "$f" || fail "PIN printed in $f"
done
ok "no PIN in output"
