#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_size.sh: the request size boundaries (docs/protocol.md, "Message
# size"). A request of PROTOCOL_MAX_MESSAGE (65536) bytes reaches the
# decoder (zeros are not DER: badRequest); every request from 65537 up to
# the transport cap SERVER_RECV_MAX (131072) bytes, the band 131069..131072
# just under it included, is answered tooLarge; one byte more and nng
# closes the connection, so race_client hears nothing. The REQ header that
# nng puts in front of the body (a 4-byte request id) must not eat into the
# transport cap. Nothing changes in the issuance log.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

iss_setup
iss_start
log_state >"$T/state0"

# send SIZE PATTERN [WAIT]: SIZE zero bytes as one request; race_client's
# answer must match PATTERN.
send() {
	head -c "$1" /dev/zero >"$T/m"
	r=0
	"$RACE" -w "${3:-10}" raw "$URL" "$T/m" >"$T/race.out" 2>&1 || r=$?
	if ! grep -Eq -- "$2" "$T/race.out"; then
		cat "$T/race.out" >&2
		fail "$1 bytes: expected /$2/, race_client exited $r"
	fi
	kill -0 "$ISS_PID" 2>/dev/null || fail "carapace-issuer died after $1 bytes"
	ok "$1 bytes: $(head -n 1 "$T/race.out")"
}

send 65536 '^badRequest:'
send 65537 '^tooLarge: .*65536'
send 100000 '^tooLarge:'
for n in 131068 131069 131070 131071 131072; do
	send $n '^tooLarge:'
done
send 131073 '^no answer' 3
send 140000 '^no answer' 3
assert_unchanged "oversized requests" "$T/state0"
# still serving
printf '\060\007\002\001\001\241\002\005\000' >"$T/nonce.msg"
"$RACE" raw "$URL" "$T/nonce.msg" >"$T/race.out" 2>&1 ||
    { cat "$T/race.out" >&2; fail "no nonce after the oversized requests"; }
ok "still serving"
iss_stop
echo "PASS: issuer size boundaries"
