#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_renew_race.sh: renewals racing a revocation (issue 17, item 3).
# In each of RENEW_RACE_ROUNDS rounds (default 3) a fresh certificate is
# renewed with x509pop by 32 clients at once (race_client renew-race: one
# connection each, renewing again and again), and while they run the
# operator revokes it for keyCompromise. Then, from the log itself
# (sqlite3, read-only): no certificate renewed from it (evidence = the
# SHA-256 of its DER, and parent_serial) has its issue chain entry after the
# revocation's entry or an issued_at after its revoked_at; some renewals
# were recorded before the revocation (the race was run), every client was
# stopped by a "revoked" refusal, every certificate a client received is in
# the log, and carapace log verify passes.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

ROUNDS=${RENEW_RACE_ROUNDS:-3}
CLIENTS=32
iss_setup
iss_start

round=1
while [ "$round" -le "$ROUNDS" ]; do
	name=r$round.renew.example.internal
	token "$T/tok$round" "$name"
	car_ok "round $round: a certificate to renew" request -s "$URL" \
	    --token-file "$T/tok$round" --name "$name" \
	    --key-out "$T/k$round.pem" --cert-out "$T/c$round.pem"
	parent=$(serial_of "$T/c$round.pem")
	fp=$(openssl x509 -in "$T/c$round.pem" -outform DER | sha256sum |
	    cut -c1-64 | tr a-f A-F)
	renewed="SELECT c.serial FROM certificates c WHERE hex(c.evidence) = '$fp'"

	mkdir "$T/rr$round"
	"$RACE" -w 50 renew-race "$URL" "$T/c$round.pem" "$T/k$round.pem" \
	    "$CLIENTS" "$name" "$T/rr$round" >"$T/rr$round.out" 2>&1 &
	rr=$!
	# Revoke once renewals are being recorded, while more are in flight.
	waited=0
	while [ "$(sql "SELECT count(*) FROM ($renewed AND c.status = 'issued')")" -lt 20 ]; do
		[ $waited -lt 600 ] || { kill "$rr" 2>/dev/null || :; fail "round $round: fewer than 20 renewals within 60 s"; }
		kill -0 "$rr" 2>/dev/null || { cat "$T/rr$round.out" >&2; fail "round $round: race_client stopped before the revocation"; }
		sleep 0.1
		waited=$((waited + 1))
	done
	car_ok "round $round: revoke $parent for keyCompromise during the renewals" \
	    revoke -S "$OPS" "$parent" --reason keyCompromise
	r=0
	wait "$rr" || r=$?
	[ $r -eq 0 ] || { cat "$T/rr$round.out" "$T"/rr$round/*.status >&2; fail "round $round: race_client exited $r (no client was told the certificate is revoked)"; }

	# --- what the log says ---
	rseq=$(sql "SELECT seq FROM events WHERE kind = 'revoke' AND hex(serial) = '$parent'")
	rat=$(sql "SELECT revoked_at FROM certificates WHERE hex(serial) = '$parent' AND status = 'revoked' AND revocation_reason = 1")
	[ -n "$rseq" ] && [ "$(echo "$rseq" | grep -c .)" -eq 1 ] ||
	    fail "round $round: the log has no single revoke entry for $parent"
	[ -n "$rat" ] || fail "round $round: $parent is not revoked for keyCompromise in the log"
	late=$(sql "SELECT count(*) FROM certificates c JOIN events e
	    ON e.serial = c.serial AND e.kind = 'issue'
	    WHERE hex(c.evidence) = '$fp' AND (e.seq > $rseq OR c.issued_at > $rat)")
	if [ "$late" -ne 0 ]; then
		sql "SELECT hex(c.serial), e.seq, c.issued_at FROM certificates c JOIN events e
		    ON e.serial = c.serial AND e.kind = 'issue'
		    WHERE hex(c.evidence) = '$fp' AND (e.seq > $rseq OR c.issued_at > $rat)" | head -n 5 >&2
		fail "round $round: $late renewals of $parent were recorded after its revocation (entry $rseq, time $rat)"
	fi
	before=$(sql "SELECT count(*) FROM certificates c JOIN events e
	    ON e.serial = c.serial AND e.kind = 'issue'
	    WHERE hex(c.evidence) = '$fp' AND e.seq < $rseq")
	[ "$before" -ge 20 ] || fail "round $round: only $before renewals before the revocation: no race"
	# Renewals without an issue entry would escape the join above.
	[ "$(sql "SELECT count(*) FROM ($renewed AND c.status IN ('issued', 'revoked')
	    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.serial = c.serial AND e.kind = 'issue'))")" -eq 0 ] ||
	    fail "round $round: renewals recorded without an issue entry"
	# parent_serial, recorded by the completion, names the same rows.
	[ "$(sql "SELECT count(*) FROM certificates WHERE hex(parent_serial) = '$parent'
	    AND status IN ('issued', 'revoked')")" -eq "$before" ] ||
	    fail "round $round: parent_serial does not name the $before renewals of $parent"
	[ "$(sql "SELECT count(*) FROM ($renewed AND c.status = 'reserved')")" -eq 0 ] ||
	    fail "round $round: renewals left reserved"
	nder=$(ls "$T/rr$round" | grep -c '\.der$' || :)
	[ "$nder" -gt 0 ] || fail "round $round: no client received a certificate"
	certs_in_log "$T"/rr$round/*.der
	nrev=$(grep -l 'revoked' "$T"/rr$round/*.status | wc -l)
	atcommit=$(grep -c "before the renewal was recorded" "$T/issuer.err" || :)
	ok "round $round: $before renewals before the revocation (entry $rseq), none after; $nrev of $CLIENTS clients stopped by a revoked refusal; $atcommit refused at commit so far"
	round=$((round + 1))
done

car_ok "log verify" log verify -S "$OPS"
grep -q '^log verify: OK' "$T/car.stdout" || fail "log verify did not say OK"
iss_stop
echo "PASS: issuer renew race"
