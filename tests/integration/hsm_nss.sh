# SPDX-License-Identifier: ISC
# hsm_nss.sh: NSS softokn, a module that reports CKA_SENSITIVE and
# CKA_NEVER_EXTRACTABLE on the keys it makes and still wraps them with
# C_WrapKey. The module's init args come from module_init_args; the wrap
# probe must catch the export; the ceremony must refuse such a root key in
# keygen and in root unless the ceremony file says rehearsal = yes, record
# the probe and the token kind (software) in the transcript, and name the
# token by more than its all-zero serial.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/module_common.sh"

P=$B/tests/tools/hsm_probe
CER=$B/root-ceremony/carapace-ceremony
[ -x "$P" ] || fail "$P: not built (make tests/tools/hsm_probe)"
[ -x "$CER" ] || fail "$CER: not built"
mod_setup nss
U="pkcs11:token=NSS%20Certificate%20DB"

# hsm/: keygen works, the token says the key is protected, the probe
# exports it anyway, and -r (probe required) refuses and destroys it.
"$P" -m "$MOD_MODULE" -i "$MOD_INIT_ARGS" -p "file:$MOD_PIN" keygen \
    "$U;object=probe1" ec-p256 "$T/p1.pem" >"$T/out" 2>&1 ||
    { cat "$T/out" >&2; fail "keygen on NSS"; }
grep -q "sensitive 1 extractable 0 always_sensitive 1 never_extractable 1" \
    "$T/out" || { cat "$T/out" >&2; fail "NSS does not report the attributes"; }
grep -q "wrap probe exported" "$T/out" ||
    { cat "$T/out" >&2; fail "the wrap probe did not catch NSS exporting the key"; }
grep -q "serial none: empty or all zeros" "$T/out" ||
    { cat "$T/out" >&2; fail "the all-zero serial is not called out"; }
ok "NSS: attributes reported, wrap probe exported the key, serial called out"
expect_fail "probe required" "$P" -r -m "$MOD_MODULE" -i "$MOD_INIT_ARGS" \
    -p "file:$MOD_PIN" keygen "$U;object=probe2" ec-p256 "$T/p2.pem"
grep -q "does not enforce the attributes it reports" "$T/expect_fail.out" ||
    { cat "$T/expect_fail.out" >&2; fail "probe required: no reason given"; }
"$P" -m "$MOD_MODULE" -i "$MOD_INIT_ARGS" -p "file:$MOD_PIN" inventory "$U" \
    >"$T/inv" 2>&1 || { cat "$T/inv" >&2; fail "inventory"; }
! grep -q '"probe2"' "$T/inv" || fail "the refused key was left on the token"
ok "NSS: keygen with the probe required is refused and leaves no key"

# The ceremony.
mkdir "$T/cer"
cat >"$T/cer/base.cnf" <<EOF2
[ceremony]
$(mod_conf_lines)
key        = $U;object=root-ca
pin_source = file:$MOD_PIN
key_type   = ec-p256
transcript = transcript
root_cert  = root.pem
REHEARSAL

[keygen]
public_key = root-pub.pem

[root]
subject = root_dn
days    = 3650

[root_dn]
CN = NSS rehearsal root
EOF2
sed 's/^REHEARSAL$//' "$T/cer/base.cnf" >"$T/cer/real.cnf"
sed 's/^REHEARSAL$/rehearsal  = yes/' "$T/cer/base.cnf" >"$T/cer/rehearsal.cnf"
cd "$T/cer"
cer() {
	"$CER" -c "$1" --yes --allow-network "$2" >"$T/cer.stdout" 2>"$T/cer.err"
}
if cer real.cnf keygen; then fail "keygen on NSS outside a rehearsal succeeded"; fi
grep -q "wrap probe exported" "$T/cer.err" ||
    { cat "$T/cer.err" >&2; fail "keygen refusal does not name the probe"; }
grep -q "^wrap-probe exported" transcript || fail "transcript lacks the probe"
grep -q "^token-kind software" transcript || fail "transcript lacks the token kind"
grep -q '^token token "NSS Certificate DB" (manufacturer "Mozilla Foundation", model "NSS 3", serial none' transcript ||
    fail "transcript does not identify the token by manufacturer, model and label"
[ ! -e root-pub.pem ] || fail "a refused keygen wrote the public key"
ok "ceremony keygen on NSS refused outside a rehearsal, probe and token kind recorded"

cer rehearsal.cnf keygen || { cat "$T/cer.err" >&2; fail "keygen in a rehearsal"; }
grep -q "REHEARSAL ONLY" "$T/cer.err" || fail "rehearsal keygen does not warn"
grep -q "^rehearsal key accepted" transcript || fail "transcript lacks the rehearsal note"
if cer real.cnf root; then fail "root on NSS outside a rehearsal succeeded"; fi
grep -q "wrap probe exported" "$T/cer.err" ||
    { cat "$T/cer.err" >&2; fail "root refusal does not name the probe"; }
[ ! -e root.pem ] || fail "a refused root step wrote root.pem"
cer rehearsal.cnf root || { cat "$T/cer.err" >&2; fail "root in a rehearsal"; }
openssl verify -CAfile root.pem root.pem >/dev/null ||
    fail "openssl does not verify the rehearsal root"
"$CER" -c rehearsal.cnf --yes --allow-network inventory >"$T/cer.stdout" 2>&1 ||
    { cat "$T/cer.stdout" >&2; fail "inventory"; }
grep -q "SOFTWARE token" "$T/cer.stdout" ||
    fail "inventory does not call NSS a software token"
ok "NSS: rehearsal keygen and root (openssl verifies), root refused outside it, inventory says software"
