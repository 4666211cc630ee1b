#!/bin/sh
# SPDX-License-Identifier: ISC
# ceremony_refuse.sh: the refusals around the HSM and the officers. The
# network check without --allow-network; a step answered "no" (exit 3,
# recorded as cancelled) and one answered "yes" on standard input; a key
# label or id that already exists; a public key output that already exists;
# a wrong PIN, a PIN file others can read, an absent token; a PIN from the
# environment. Nothing refused may write an output or leave a key behind.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/ceremony_common.sh"

token_init root
D=$T/c
mkdir "$D"
cer_config "$D" root
cd "$D"

# --- the network check ------------------------------------------------------------

ifaces=
if command -v ip >/dev/null; then
	for i in $(ip -o addr show up 2>/dev/null | awk '{ print $2 }' | sort -u); do
		ip -o link show dev "$i" 2>/dev/null | grep -q LOOPBACK || ifaces="$ifaces $i"
	done
fi
if [ -n "$ifaces" ]; then
	rc=0
	"$CER" -c ceremony.cnf --yes keygen </dev/null >"$T/cer.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { cat "$T/cer.out" >&2; fail "keygen ran with$ifaces up and no --allow-network"; }
	[ "$rc" -eq 1 ] || { cat "$T/cer.out" >&2; fail "network refusal: exit $rc, expected 1"; }
	named=
	for i in $ifaces; do
		grep -q -- "$i" "$T/cer.out" && named=$i
	done
	[ -n "$named" ] || { cat "$T/cer.out" >&2; fail "the network refusal names none of:$ifaces"; }
	[ ! -e root-pub.pem ] || fail "network refusal: root-pub.pem was written"
	: >"$T/transcript.before"
	tail_records "$T/transcript.before" transcript >"$T/tail"
	if [ "$(wc -l <"$T/tail")" -ne 1 ] || ! grep -q '^keygen failed' "$T/tail"; then
		cat "$T/tail" >&2
		fail "network refusal: expected one 'keygen failed' record"
	fi
	[ "$(private_keys root)" -eq 0 ] || fail "network refusal: a key was generated"
	ok "refused to run with$ifaces up and no --allow-network (names $named)"
else
	echo "note: no non-loopback interface is up; network refusal not tested"
fi

# --- an existing public key file ------------------------------------------------

printf 'placeholder: must not be overwritten\n' >root-pub.pem
cp root-pub.pem "$T/keep"
refused "keygen with root-pub.pem already there" 1 "root-pub\.pem" ceremony.cnf keygen
cmp -s root-pub.pem "$T/keep" || fail "root-pub.pem was changed"
[ "$(private_keys root)" -eq 0 ] || fail "keygen refused for its output but made a key"
rm root-pub.pem

# --- confirmation ---------------------------------------------------------------------

# confirm ANSWER CNF STEP: run STEP with ANSWER on standard input, no --yes.
confirm() {
	rc=0
	printf '%s\n' "$1" | "$CER" -c "$2" --allow-network "$3" >"$T/cer.out" 2>&1 || rc=$?
}
for answer in no y YES ""; do
	cp transcript "$T/transcript.before" 2>/dev/null || : >"$T/transcript.before"
	confirm "$answer" ceremony.cnf keygen
	[ "$rc" -eq 3 ] || { cat "$T/cer.out" >&2; fail "keygen answered '$answer': exit $rc, expected 3"; }
	[ ! -e root-pub.pem ] || fail "keygen answered '$answer' wrote root-pub.pem"
	[ "$(private_keys root)" -eq 0 ] || fail "keygen answered '$answer' made a key"
	tail_records "$T/transcript.before" transcript >"$T/tail"
	if [ "$(wc -l <"$T/tail")" -ne 1 ] || ! grep -q '^keygen cancelled' "$T/tail"; then
		cat "$T/tail" >&2
		fail "keygen answered '$answer': expected one 'keygen cancelled' record"
	fi
done
ok "keygen answered no, y, YES or nothing: exit 3, cancelled, nothing made"

# The plan is printed before the question: the key URI and the output.
if ! grep -q "root-pub.pem" "$T/cer.out" || ! grep -q "object=root-ca" "$T/cer.out"; then
	cat "$T/cer.out" >&2
	fail "the keygen plan does not show the key URI and the output"
fi

confirm yes ceremony.cnf keygen
[ "$rc" -eq 0 ] || { cat "$T/cer.out" >&2; fail "keygen answered yes: exit $rc"; }
[ -s root-pub.pem ] || fail "keygen answered yes wrote no root-pub.pem"
[ "$(private_keys root)" -eq 1 ] || fail "keygen answered yes: not exactly one key"
fp=$(openssl pkey -pubin -in root-pub.pem -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
tr -d ':' <"$T/cer.out" | tr 'A-F' 'a-f' | grep -q "$fp" ||
    { cat "$T/cer.out" >&2; fail "keygen did not print the SPKI SHA-256 $fp"; }
ok "keygen answered yes: key made, SPKI SHA-256 printed ($fp)"

# --- a key that already exists ------------------------------------------------------

sed 's/^public_key = root-pub.pem$/public_key = root-pub2.pem/' ceremony.cnf >twice.cnf
refused "keygen twice (same label and id)" 1 "exist" twice.cnf keygen root-pub2.pem

sed -e 's/object=root-ca;id=%01/object=root-ca-2;id=%01/' \
    -e 's/^public_key = root-pub.pem$/public_key = root-pub3.pem/' ceremony.cnf >sameid.cnf
refused "keygen with a new label but an existing id" 1 "exist" sameid.cnf keygen root-pub3.pem
sed -e 's/object=root-ca;id=%01/object=root-ca;id=%07/' \
    -e 's/^public_key = root-pub.pem$/public_key = root-pub3.pem/' ceremony.cnf >samelabel.cnf
refused "keygen with a new id but an existing label" 1 "exist" samelabel.cnf keygen root-pub3.pem
[ "$(private_keys root)" -eq 1 ] || fail "a refused keygen left a second key on the token"

# --- PINs and tokens -----------------------------------------------------------------

# The file names say nothing about PINs, so that the pattern can only match
# the error itself.
newpin "$T/other.secret"
sed "s|^pin_source = .*|pin_source = file:$T/other.secret|" ceremony.cnf >badlogin.cnf
refused "root with a wrong PIN" 1 "incorrect|wrong|PIN.*(rejected|refused|fail)|login.*fail|CKR_PIN" \
    badlogin.cnf root "$D/root.pem"
assert_no_pin "$T/cer.out" transcript

cp "$T/root.pin" "$T/loose.pin"
chmod 0644 "$T/loose.pin"
sed "s|^pin_source = .*|pin_source = file:$T/loose.pin|" ceremony.cnf >loosepin.cnf
refused "root with a world-readable PIN file" 1 "loose\.pin" loosepin.cnf root "$D/root.pem"

sed 's/token=root;/token=no-such-token;/' ceremony.cnf >absent.cnf
refused "root on an absent token" 1 "no-such-token" absent.cnf root "$D/root.pem"

sed 's/^pin_source = .*/pin_source = env:CARAPACE_TEST_ROOT_PIN/' ceremony.cnf >envpin.cnf
rc=0
CARAPACE_TEST_ROOT_PIN=$(cat "$T/root.pin") "$CER" -c envpin.cnf --yes --allow-network root \
    </dev/null >"$T/cer.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/cer.out" >&2; fail "root with the PIN from the environment: exit $rc"; }
openssl verify -CAfile root.pem root.pem >/dev/null 2>&1 || fail "root.pem does not verify"
assert_no_pin "$T/cer.out" transcript
ok "root with pin_source = env:NAME"

# After all that, the transcript (sealed by the successful root step) verifies.
cer_ok "verify the transcript with its failed and cancelled records" ceremony.cnf verify
