#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_race.sh: 32 clients send the same join token at the same moment
# (race_client, one thread and one connection each, released together by a
# barrier). Exactly one gets a certificate; the 31 others are refused with
# a status that says the token was used; the log holds exactly one
# certificate for the token, and it is the one the winner received.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

iss_setup
iss_start

NAME=race.example.internal
token "$T/tok" "$NAME"
mkdir "$T/race"
"$RACE" -w 60 race "$URL" "$T/tok" 32 "$NAME" "$T/race" >"$T/race.out" 2>&1 ||
    { cat "$T/race.out" >&2; fail "race_client failed"; }

nstatus=$(ls "$T/race" | grep -c '\.status$' || :)
[ "$nstatus" -eq 32 ] || fail "only $nstatus of 32 clients finished"
for f in "$T"/race/*.status; do cat "$f"; echo; done >"$T/statuses"
nok=$(grep -c '^ok:' "$T/statuses" || :)
nused=$(grep -Ec '^tokenUsed: .*(used|consumed)' "$T/statuses" || :)
ncert=$(ls "$T/race" | grep -c '\.der$' || :)
if [ "$nok" -ne 1 ] || [ "$ncert" -ne 1 ] || [ "$nused" -ne 31 ]; then
	sort "$T/statuses" | uniq -c >&2
	fail "race: $nok ok, $ncert certificates, $nused 'tokenUsed' refusals (expected 1, 1, 31)"
fi
ok "race: 1 certificate, 31 refusals: $(grep -m1 '^tokenUsed' "$T/statuses")"

win=$(ls "$T"/race/*.der)
openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" \
    "$(openssl x509 -inform DER -in "$win" -out "$T/win.pem" && echo "$T/win.pem")" \
    >/dev/null 2>&1 || fail "openssl verify refuses the winner's certificate"
ok "the winner's certificate verifies"

tid=$(sql "SELECT id FROM join_tokens")
[ "$(echo "$tid" | grep -c .)" -eq 1 ] || fail "the log has other than one token"
[ "$(sql "SELECT count(*) FROM certificates WHERE token_id = '$tid' AND status IN ('issued','revoked')")" -eq 1 ] ||
    fail "the log has other than one certificate for token $tid"
[ "$(sql "SELECT count(*) FROM certificates WHERE status IN ('issued','revoked')")" -eq 1 ] ||
    fail "the log has other than one certificate"
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'reserved'")" -eq 0 ] ||
    fail "serials were left reserved (neither issued nor abandoned)"
[ "$(sql "SELECT hex(used_serial) = hex(c.serial) FROM join_tokens t, certificates c WHERE c.token_id = t.id AND c.status = 'issued'")" = 1 ] ||
    fail "join_tokens.used_serial is not the issued certificate's serial"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'token-consume'")" -le 1 ] ||
    fail "more than one token-consume event"
certs_in_log "$win"
abandoned=$(sql "SELECT count(*) FROM certificates WHERE status = 'abandoned'")
ok "log: one certificate for the token ($abandoned serials abandoned by losers, as documented)"

car_ok "log verify" log verify -S "$OPS"
grep -q '^log verify: OK' "$T/car.stdout" || fail "log verify did not say OK"
iss_stop
echo "PASS: issuer race"
