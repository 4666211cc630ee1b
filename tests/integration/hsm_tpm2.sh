# SPDX-License-Identifier: ISC
# hsm_tpm2.sh: tpm2-pkcs11 on swtpm. The module refuses attributes that do
# not apply (the old template's CKA_ENCRYPT/CKA_DECRYPT on an EC key gave
# CKR_GENERAL_ERROR); keygen must work with the per-mechanism template, name
# the attribute the module refused when it still refuses one, read the
# protection attributes back, and sign (checked with openssl). The token's
# serial is all zeros, which must be called out.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/module_common.sh"

P=$B/tests/tools/hsm_probe
[ -x "$P" ] || fail "$P: not built (make tests/tools/hsm_probe)"
mod_setup tpm2
U="pkcs11:token=$MOD_TOKEN"
printf 'to be signed\n' >"$T/data"
for kt in ec-p256 ec-p384; do
	"$P" -m "$MOD_MODULE" -p "file:$MOD_PIN" keygen "$U;object=k-$kt" \
	    "$kt" "$T/$kt.pem" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "tpm2: keygen $kt"; }
	grep -q "sensitive 1 extractable 0 always_sensitive 1 never_extractable 1" \
	    "$T/out" || { cat "$T/out" >&2; fail "tpm2: $kt attributes"; }
	grep -q 'dropped "CKA_' "$T/out" ||
	    { cat "$T/out" >&2; fail "tpm2: the refused attribute is not named"; }
	"$P" -m "$MOD_MODULE" -p "file:$MOD_PIN" sign "$U;object=k-$kt" \
	    "$T/data" "$T/$kt.sig" "$T/$kt.pub2" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "tpm2: sign $kt"; }
	openssl dgst -sha256 -verify "$T/$kt.pem" -signature "$T/$kt.sig" \
	    "$T/data" >/dev/null || fail "tpm2: openssl does not verify $kt"
	ok "tpm2: keygen $kt (refused attribute named), sign, openssl verifies"
done
grep -q "serial none: empty or all zeros" "$T/out" ||
    "$P" -m "$MOD_MODULE" -p "file:$MOD_PIN" keygen "$U;object=k-x" \
    ec-p256 "$T/x.pem" 2>&1 | grep -q "serial none: empty or all zeros" ||
    fail "tpm2: the all-zero serial is not called out"
ok "tpm2: the all-zero serial is called out"
