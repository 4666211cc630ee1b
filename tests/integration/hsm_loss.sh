# SPDX-License-Identifier: ISC
# hsm_loss.sh: a token that goes away and comes back. One hsm_probe
# process opens the key once and signs on request (loss-loop). While the
# token's files are gone, signing fails with an error that says the token
# is not present; once they are back, a later signature succeeds (the
# library rebuilt its libp11 context) and openssl verifies it.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

P=$B/tests/tools/hsm_probe
[ -x "$P" ] || fail "$P: not built (make tests/tools/hsm_probe)"
token_init ca
URI="pkcs11:token=ca;object=root?pin-source=file:$T/ca.pin"
printf 'signed across a token loss\n' >"$T/data"
"$P" keygen "$URI" ec-p256 "$T/pub.pem" >/dev/null || fail "keygen"

C=$T/ctl
mkdir "$C"
"$P" loss-loop "$URI" "$T/data" "$C" >"$T/loop.out" 2>&1 &
pid=$!
stop_loop() {
	touch "$C/stop"
	wait "$pid" 2>/dev/null || true
}

# step N: ask for signature N and print its result line.
step() {
	touch "$C/go.$1"
	i=0
	while [ ! -s "$C/result.$1" ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || { stop_loop; fail "signature $1: no answer"; }
		sleep 0.1
	done
	cat "$C/result.$1"
}

verify() {
	[ -f "$C/sig.$1" ] || { stop_loop; fail "signature $1 was not written"; }
	openssl dgst -sha256 -verify "$T/pub.pem" -signature "$C/sig.$1" \
	    "$T/data" >/dev/null ||
	    { stop_loop; fail "openssl does not verify signature $1"; }
}

r=$(step 1)
[ "$r" = ok ] || { stop_loop; fail "signature before the loss: $r"; }
verify 1
ok "signs while the token is there"

mv "$T/tokens" "$T/tokens.away"
mkdir "$T/tokens"
r=$(step 2)
case $r in
"error token not present: token \"ca\""*"not present"*) ;;
*) stop_loop; fail "signature while the token is gone: $r" ;;
esac
[ ! -e "$C/sig.2" ] || { stop_loop; fail "a signature was written while the token was gone"; }
ok "signing fails clearly while the token is gone: $r"
r=$(step 3)
case $r in
"error token not present"*) ;;
*) stop_loop; fail "second signature while the token is gone: $r" ;;
esac
ok "and keeps failing cleanly"

rmdir "$T/tokens"
mv "$T/tokens.away" "$T/tokens"
r=$(step 4)
[ "$r" = ok ] || { stop_loop; fail "signature after the token came back: $r"; }
verify 4
r=$(step 5)
[ "$r" = ok ] || { stop_loop; fail "second signature after the return: $r"; }
verify 5
ok "signs again once the token is back"

touch "$C/stop"
wait "$pid" || { cat "$T/loop.out" >&2; fail "loss-loop exited non-zero"; }
! grep -qF "$(cat "$T/ca.pin")" "$T/loop.out" "$C"/result.* ||
    fail "PIN printed"
