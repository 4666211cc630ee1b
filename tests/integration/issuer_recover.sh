#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_recover.sh: rows a crash left "reserved" are resolved when the
# issuer starts (issue 17, item 6). Reservations are planted in a stopped
# issuer's log, as a kill -9 between reserving and recording leaves them;
# the next start marks each one abandoned (never issued), says how many in
# its log, and changes no other row and no chain entry. A second issuer on
# the same log, while the first runs, is refused at startup (the writer's
# lock) and changes nothing. (issuer_crash.sh checks the same after a real
# kill -9 under load.)

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

iss_setup
iss_start
token "$T/tok" recover.example.internal
car_ok "a certificate" request -s "$URL" --token-file "$T/tok" \
    --name recover.example.internal --key-out "$T/k.pem" --cert-out "$T/c.pem"
iss_stop

# Five reservations from "before the crash", one of them a second ago.
sqlite3 -batch "$DB" "INSERT INTO certificates (serial, issuer_key_id, status, created_at)
    SELECT randomblob(16), issuer_key_id, 'reserved', unixepoch() - n
    FROM (SELECT issuer_key_id FROM certificates LIMIT 1),
    (SELECT 1 AS n UNION SELECT 60 UNION SELECT 3600 UNION SELECT 86400 UNION SELECT 864000)" 2>"$T/sqlite.err" ||
    { cat "$T/sqlite.err" >&2; fail "could not plant reserved rows"; }
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'reserved'")" -eq 5 ] ||
    fail "the planted rows are not there"
sql "SELECT hex(serial), status FROM certificates WHERE status <> 'reserved' ORDER BY id;
     SELECT seq, hex(hash) FROM events ORDER BY seq" >"$T/others.before"

iss_start
grep -q 'issuance.db: 5 serials were left reserved .* marked abandoned' "$T/issuer.err" ||
    { tail -n 20 "$T/issuer.err" >&2; fail "the issuer did not log the 5 reservations it resolved"; }
ok "startup: $(grep -m1 'left reserved' "$T/issuer.err" | sed 's/^.*issuance.db: //')"
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'reserved'")" -eq 0 ] ||
    fail "rows are still reserved after the start"
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'abandoned' AND der IS NULL")" -eq 5 ] ||
    fail "the 5 reservations are not abandoned"
sql "SELECT hex(serial), status FROM certificates WHERE status NOT IN ('reserved', 'abandoned') ORDER BY id;
     SELECT seq, hex(hash) FROM events ORDER BY seq" >"$T/others.after"
cmp -s "$T/others.before" "$T/others.after" ||
    fail "resolving the reservations changed other rows or the chain"
ok "5 reservations abandoned; other rows and the chain unchanged"

# carapace list shows them as abandoned, not reserved, and the wire
# protocol filters by that state.
car_ok "list" list -S "$OPS"
[ "$(awk '$2 == "abandoned"' "$T/car.stdout" | wc -l)" -eq 5 ] &&
    [ "$(awk '$2 == "reserved"' "$T/car.stdout" | wc -l)" -eq 0 ] &&
    [ "$(awk '$2 == "issued"' "$T/car.stdout" | wc -l)" -eq 1 ] ||
    { cat "$T/car.stdout" >&2; fail "carapace list does not show 5 abandoned, 1 issued, none reserved"; }
car_ok "list --status abandoned" list -S "$OPS" --status abandoned
sql "SELECT hex(serial) FROM certificates WHERE status = 'abandoned'" |
    sed 's/^0*//' | sort >"$T/abandoned.log"
awk '$2 == "abandoned" { print $1 }' "$T/car.stdout" | tr a-f A-F |
    sed 's/^0*//' | sort >"$T/abandoned.list"
[ "$(wc -l <"$T/car.stdout")" -eq 5 ] && cmp -s "$T/abandoned.log" "$T/abandoned.list" ||
    { cat "$T/car.stdout" >&2; fail "list --status abandoned is not exactly the 5 abandoned serials"; }
car_ok "list --status reserved" list -S "$OPS" --status reserved
[ ! -s "$T/car.stdout" ] ||
    { cat "$T/car.stdout" >&2; fail "list --status reserved shows rows that are abandoned"; }
car_ok "show an abandoned serial" show -S "$OPS" "$(sed -n 1p "$T/abandoned.list")"
grep -q '^status: abandoned$' "$T/car.stdout" ||
    { cat "$T/car.stdout" >&2; fail "show does not say abandoned"; }
ok "carapace list and show say abandoned; --status abandoned and reserved filter on the server"

# A second issuer on the same log is refused while the first runs.
sed -e "s|^listen .*|listen        = tcp://127.0.0.1:$(free_port)|" \
    -e "s|^operator .*|operator      = ipc://$T/op2.sock|" \
    "$CA/issuer.cnf" >"$CA/second.cnf"
log_state >"$T/state"
r=0
timeout 60 "$ISSUER" -c "$CA/second.cnf" </dev/null >"$T/second.out" 2>&1 || r=$?
[ $r -ne 0 ] && [ $r -ne 124 ] || fail "a second issuer on the same log started (exit $r)"
sanitizer_clean "$T/second.out"
grep -q "another process .* holds the log's writer lock" "$T/second.out" ||
    { cat "$T/second.out" >&2; fail "the second issuer did not say the log is locked"; }
assert_unchanged "the refused second issuer" "$T/state"
ok "a second issuer on the same log: exit $r: $(grep -m1 'writer lock' "$T/second.out" | sed 's/^.*issuance.db: //')"

# The first one still works.
token "$T/tok2" after.example.internal
car_ok "a request after the start" request -s "$URL" --token-file "$T/tok2" \
    --name after.example.internal --key-out "$T/k2.pem" --cert-out "$T/c2.pem"
certs_in_log "$T/c.pem" "$T/c2.pem"
car_ok "log verify" log verify -S "$OPS"
grep -q '^log verify: OK' "$T/car.stdout" || fail "log verify did not say OK"
iss_stop
echo "PASS: issuer recover"
