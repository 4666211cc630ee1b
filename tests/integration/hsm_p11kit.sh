# SPDX-License-Identifier: ISC
# hsm_p11kit.sh: hsm/ through p11-kit remoting. A SoftHSM token is served
# by `p11-kit server` on a private socket and reached through
# p11-kit-client.so, and the same token through p11-kit-proxy.so (with a
# private user configuration that loads SoftHSM only). Both modules hand
# out a new, separately initialised instance per C_GetFunctionList call, so
# this fails with CKR_CRYPTOKI_NOT_INITIALIZED when hsm/ makes its raw calls
# on a function list of its own instead of the one libp11 initialised. The
# keys made through each are checked with openssl and pkcs11-tool.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/module_common.sh"

P=$B/tests/tools/hsm_probe
[ -x "$P" ] || fail "$P: not built (make tests/tools/hsm_probe)"
printf 'to be signed\n' >"$T/data"

check_module() {
	name=$1 mod=$2
	U="pkcs11:token=$MOD_TOKEN"
	Q="?pin-source=file:$MOD_PIN"
	"$P" -m "$mod" keygen "$U;object=k-$name;id=%0${3}$Q" ec-p256 \
	    "$T/$name.pub.pem" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "$name: keygen"; }
	grep -q CKR_CRYPTOKI_NOT_INITIALIZED "$T/out" &&
	    fail "$name: CKR_CRYPTOKI_NOT_INITIALIZED"
	"$P" -m "$mod" sign "$U;object=k-$name$Q" "$T/data" "$T/$name.sig" \
	    "$T/$name.pub2.pem" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "$name: sign"; }
	openssl dgst -sha256 -verify "$T/$name.pub.pem" \
	    -signature "$T/$name.sig" "$T/data" >/dev/null ||
	    fail "$name: the signature does not verify with openssl"
	"$P" -m "$mod" -p "file:$MOD_PIN" inventory "$U" >"$T/inv" 2>&1 ||
	    { cat "$T/inv" >&2; fail "$name: inventory"; }
	grep -q "k-$name" "$T/inv" || fail "$name: inventory lacks the key"
	ok "$name: keygen, sign (openssl verifies) and inventory"
}

mod_setup p11kit
check_module client "$MOD_MODULE" 1

# The proxy, with a user configuration of our own: SoftHSM only.
mkdir -p "$T/home/.config/pkcs11/modules"
for f in /usr/share/p11-kit/modules/*.module; do
	[ -f "$f" ] || continue
	printf 'disable-in: p11-kit-proxy\n' \
	    >"$T/home/.config/pkcs11/modules/$(basename "$f")"
done
printf 'module: %s\n' "$SOFTHSM2_MODULE" \
    >"$T/home/.config/pkcs11/modules/carapace-test.module"
HOME=$T/home XDG_CONFIG_HOME=$T/home/.config
export HOME XDG_CONFIG_HOME
PROXY=$(mod_p11kit_lib p11-kit-proxy.so)
check_module proxy "$PROXY" 2

# Neither key is extractable, as pkcs11-tool (not our code) sees it.
CARAPACE_TEST_PIN=$(cat "$MOD_PIN") pkcs11-tool --module "$SOFTHSM2_MODULE" \
    --token-label "$MOD_TOKEN" --login --pin env:CARAPACE_TEST_PIN \
    --list-objects --type privkey >"$T/objects" 2>&1 ||
    fail "pkcs11-tool --list-objects"
[ "$(grep -c 'never extractable' "$T/objects")" -ge 2 ] ||
    { cat "$T/objects" >&2; fail "keys made through p11-kit are not never-extractable"; }
ok "pkcs11-tool sees both keys as never extractable"
