#!/bin/sh
# SPDX-License-Identifier: ISC
# log_file.sh: the issuance log as a file (issue 17, item 5 and item 6).
# Under umask 022, `carapace log init` makes the log, its -wal, -shm and
# head state files 0600, and they stay so once the issuer has written to
# them. The issuer records the chain head while it runs and at shutdown.
# Then the restarts that used to succeed silently are refused, with a
# message naming what is wrong, and nothing is created:
#   - the log files deleted (it used to start on a new, empty log and OCSP
#     answered every earlier certificate "unknown");
#   - an older copy of the log put back;
# and `carapace log init` will not start a new log where one was. With the
# real log back, the issuer starts and its chain verifies.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

umask 022
N1=a.log.example.internal
N2=b.log.example.internal

modes() {
	for f in "$DB" "$DB-wal" "$DB-shm" "$DB.head"; do
		[ -f "$f" ] || fail "$1: $f is missing"
		m=$(stat -c %a "$f")
		[ "$m" = 600 ] || fail "$1: $f has mode $m under umask 022, expected 600"
	done
	ok "$1: the log, -wal, -shm and .head are 0600 under umask 022"
}

head_seq() {
	sed -n 's/^seq //p' "$DB.head"
}

# iss_refuses DESC PATTERN: carapace-issuer must exit non-zero at startup
# with PATTERN (extended) in its output.
iss_refuses() {
	rc=0
	timeout 60 "$ISSUER" -c "$CA/issuer.cnf" </dev/null >"$T/refuse.out" 2>&1 ||
	    rc=$?
	[ $rc -ne 124 ] || fail "$1: carapace-issuer still ran after 60 s"
	[ $rc -ne 0 ] || fail "$1: carapace-issuer started and exited 0"
	sanitizer_clean "$T/refuse.out"
	if ! grep -Eq -- "$2" "$T/refuse.out"; then
		cat "$T/refuse.out" >&2
		fail "$1: carapace-issuer's output does not match /$2/"
	fi
	ok "$1: exit $rc: $(grep -E -m1 -- "$2" "$T/refuse.out" | cut -c1-240)"
}

iss_setup
modes "after carapace log init"
grep -q '^seq 0$' "$DB.head" || fail "log init did not record an empty chain in $DB.head"
car_refused "log init over the log" 1 'already exists' log init --log "$DB"

iss_start
token "$T/tok1" "$N1"
car_ok "a certificate" request -s "$URL" --token-file "$T/tok1" \
    --name "$N1" --key-out "$T/k1.pem" --cert-out "$T/c1.pem"
iss_stop
modes "after the issuer wrote to it"
seq1=$(sql 'SELECT max(seq) FROM events')
[ "$(head_seq)" = "$seq1" ] ||
    fail "$DB.head says seq $(head_seq) after the shutdown, the log $seq1"
ok "the head recorded at shutdown is the log's: entry $seq1"

# A copy of the log as it is now (the issuer is stopped: consistent).
mkdir "$T/old"
cp -p "$DB" "$DB-wal" "$DB-shm" "$T/old/"

iss_start same
token "$T/tok2" "$N2"
car_ok "a second certificate" request -s "$URL" --token-file "$T/tok2" \
    --name "$N2" --key-out "$T/k2.pem" --cert-out "$T/c2.pem"
seq2=$(sql 'SELECT max(seq) FROM events')
# Recorded while it runs, not only at shutdown (every 10 s).
waited=0
while [ "$(head_seq)" != "$seq2" ] && [ $waited -lt 300 ]; do
	sleep 0.1
	waited=$((waited + 1))
done
[ "$(head_seq)" = "$seq2" ] ||
    fail "$DB.head still says seq $(head_seq) 30 s after entry $seq2"
ok "the running issuer recorded head entry $seq2 within $((waited / 10)) s"
iss_stop
[ "$seq2" -gt "$seq1" ] || fail "the chain did not grow ($seq1, $seq2)"

# --- the log files deleted: refused, nothing created ----------------------
mkdir "$T/real"
mv "$DB" "$DB-wal" "$DB-shm" "$T/real/"
iss_refuses "restart with the log deleted" "issuance log is gone.*entry $seq2"
[ ! -e "$DB" ] || fail "carapace-issuer created $DB"
car_refused "carapace log verify --log on the missing log" 1 'is gone' \
    log verify --log "$DB"
car_refused "log init where a log was" 1 'a log was here before' \
    log init --log "$DB"
[ ! -e "$DB" ] || fail "carapace log init created $DB over the head file"

# --- an older copy put back: refused, left as it was ----------------------
cp -p "$T/old/"* "$CA/"
before=$(sha256sum "$DB" | cut -d' ' -f1)
iss_refuses "restart with an older copy" \
    "older than one this host has seen: its head is entry $seq1 .*recorded entry $seq2"
[ "$(sha256sum "$DB" | cut -d' ' -f1)" = "$before" ] ||
    fail "the refused copy was changed"
[ "$(head_seq)" = "$seq2" ] || fail "the refusal changed $DB.head"

# --- the real log back -----------------------------------------------------
cp -p "$T/real/"* "$CA/"
iss_start same
car_ok "log verify after the real log is back" log verify -S "$OPS"
grep -q "OK: $seq2 entries" "$T/car.stdout" ||
    fail "log verify: $(cat "$T/car.stdout")"
certs_in_log "$T/c1.pem" "$T/c2.pem"
iss_stop
modes "at the end"
