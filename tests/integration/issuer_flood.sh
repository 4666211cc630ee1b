#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_flood.sh: one hostile client cannot stop the issuer (issue 17).
# sp_flood holds raw SP/TCP connections from other loopback addresses
# (127.0.0.2 and up) while the real carapace client requests certificates
# from 127.0.0.1:
#   1. 1,100 connections that send only the 8-byte SP handshake, reopened
#      as the server closes them: every legitimate request is answered; the
#      issuer refuses the connections over max_connections_per_peer at once
#      and holds about that many (slack for refusals still in progress);
#      the ones it admitted are closed by idle_timeout.
#   2. 1,000 connections from 8 addresses that each announce a 100 KB
#      message and send 4 bytes of it: the total cap is reached, and the
#      legitimate client still gets in (fair share); the issuer's VmRSS
#      grows by less than (max_connections + workers) x 128 KiB + 24 MiB;
#      the announced-but-unsent messages are closed by idle_timeout.
# Without the caps and the timeout the first flood held every connection
# (no "closed" in sp_flood's counts) and the second cost 112 MB. First,
# the three settings' bad values are refused at startup.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

FLOOD=$B/tests/tools/sp_flood
[ -x "$FLOOD" ] || fail "$FLOOD: not built"
MAXC=64 PERPEER=16 IDLE=4 WORKERS=32
# A flood connection that lived HELD ms was admitted (refusals come sooner,
# even on a loaded machine), then closed by idle_timeout.
HELD=2000
ISS_ISSUER_CONF="max_connections = $MAXC
max_connections_per_peer = $PERPEER
idle_timeout = $IDLE"
iss_setup

# bad_conf DESC PATTERN KEY VALUE: the issuer refuses KEY = VALUE at
# startup, exit 2, with a message matching PATTERN.
bad_conf() {
	sed "s|^$3 = .*|$3 = $4|" "$CA/issuer.cnf" >"$CA/bad.cnf"
	r=0
	"$ISSUER" -c "$CA/bad.cnf" </dev/null >"$T/bad.out" 2>&1 || r=$?
	[ $r -eq 2 ] && grep -Eq -- "$2" "$T/bad.out" ||
	    { cat "$T/bad.out" >&2; fail "$1: exit $r, expected 2 and /$2/"; }
	ok "$1: $(grep -E -m1 -- "$2" "$T/bad.out")"
}
bad_conf "per-peer cap over the total" \
    'max_connections_per_peer: 65 is more than max_connections \(64\)' \
    max_connections_per_peer 65
bad_conf "no connections at all" 'max_connections' max_connections 0
bad_conf "idle_timeout 0" 'idle_timeout' idle_timeout 0
# Under AddressSanitizer, freed memory sits in a quarantine (256 MB) and
# would count in VmRSS as if it were live: keep it small for the RSS bound.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
export ASAN_OPTIONS
iss_start
PORT=${URL##*:}

NAME=flood.example.internal
i=0
while [ $i -lt 8 ]; do
	i=$((i + 1))
	token "$T/tok$i" "$NAME"
done

# legit N: one carapace request from 127.0.0.1, answered within 20 s.
legit() {
	rm -f "$T/k$1.pem" "$T/c$1.pem"
	car_ok "legitimate request $1 during the flood" request -s "$URL" \
	    --timeout 20 --token-file "$T/tok$1" --name "$NAME" \
	    --key-out "$T/k$1.pem" --cert-out "$T/c$1.pem"
	openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" \
	    "$T/c$1.pem" >/dev/null 2>&1 || fail "certificate $1 does not verify"
}

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$ISS_PID/status"; }
nfd() { ls "/proc/$ISS_PID/fd" | wc -l; }

# watch FILE: every 0.2 s, "rss_kib open_files" of the issuer, until the
# flood (FLOOD_PID) ends.
watch() {
	while kill -0 "$FLOOD_PID" 2>/dev/null; do
		echo "$(rss) $(nfd)"
		sleep 0.2
	done >"$1"
}

# wait_flood MIN: until the issuer has MIN more open files than before
# (the flood is on), at most 20 s.
wait_flood() {
	w=0
	while [ "$(nfd)" -lt $((FD0 + $1)) ]; do
		w=$((w + 1))
		[ $w -lt 200 ] || fail "the flood did not reach the issuer within 20 s"
		kill -0 "$FLOOD_PID" 2>/dev/null || fail "sp_flood ended early"
		sleep 0.1
	done
}

# count FILE KEY: the value of KEY=... in sp_flood's summary.
count() { sed -n "s/.* *$2=\([0-9]*\).*/\1/p; s/^$2=\([0-9]*\).*/\1/p" "$1" | head -n 1; }

# flood N MIN FIRST ARGS...: sp_flood ARGS (on the issuer's port) in the
# background; once the issuer has MIN more open files, legitimate requests
# FIRST, FIRST+1, FIRST+2 from 127.0.0.1 while the issuer is watched into
# $T/watchN; then sp_flood's summary is in $T/floodN.out, and $opened,
# $quick, $late, $life and $held hold its counts.
flood() {
	n=$1 min=$2 first=$3
	shift 3
	"$FLOOD" "$@" -r 2000 -t 10 -h $HELD 127.0.0.1 "$PORT" \
	    >"$T/flood$n.out" 2>&1 &
	FLOOD_PID=$!
	wait_flood "$min"
	watch "$T/watch$n" &
	WATCH_PID=$!
	legit "$first"
	legit $((first + 1))
	legit $((first + 2))
	wait "$FLOOD_PID" || fail "sp_flood failed: $(cat "$T/flood$n.out")"
	wait "$WATCH_PID" || :
	cat "$T/flood$n.out"
	opened=$(count "$T/flood$n.out" opened)
	quick=$(count "$T/flood$n.out" quick)
	late=$(count "$T/flood$n.out" late)
	life=$(count "$T/flood$n.out" max_life_ms)
	held=$(count "$T/flood$n.out" max_held)
	[ "${late:-0}" -ge "$PERPEER" ] ||
	    fail "flood $n: only ${late:-0} held connections were closed by idle_timeout"
	[ "${life:-99999}" -le $((IDLE * 1000 + 4000)) ] ||
	    fail "flood $n: a connection lived ${life} ms (idle_timeout is ${IDLE} s)"
}

legit 1
RSS0=$(rss) FD0=$(nfd)
ok "baseline: VmRSS $RSS0 KiB, $FD0 open files"

# --- 1. handshake-only flood ------------------------------------------------
flood 1 8 2 -b 127.0.0.2 -n 1100
[ "${opened:-0}" -ge 1100 ] || fail "flood 1: only ${opened:-0} connections opened"
[ "${quick:-0}" -ge 1000 ] ||
    fail "flood 1: ${quick:-0} connections refused at once (max_connections_per_peer)"
[ "${held:-99999}" -le $((2 * PERPEER)) ] ||
    fail "flood 1: the issuer held $held connections (max_connections_per_peer $PERPEER)"
maxfd=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$T/watch1")
ok "flood 1: $quick refused at once, at most $held held, $late closed idle after at most $life ms; the issuer had at most $maxfd open files"

# --- 2. announced 100 KB messages, from 8 addresses ---------------------------
srcs=
i=2
while [ $i -le 9 ]; do
	srcs="$srcs -b 127.0.0.$i"
	i=$((i + 1))
done
# shellcheck disable=SC2086
flood 2 $((MAXC / 2)) 5 $srcs -n 1000 -a 102400
[ "${held:-99999}" -le $((MAXC + PERPEER)) ] ||
    fail "flood 2: the issuer held $held connections (max_connections $MAXC)"
maxrss=$(awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { print m }' "$T/watch2")
bound=$(((MAXC + WORKERS) * 128 + 24 * 1024))
[ $((maxrss - RSS0)) -le $bound ] ||
    fail "flood 2: VmRSS grew by $((maxrss - RSS0)) KiB (bound $bound KiB)"
ok "flood 2: VmRSS at most $maxrss KiB (+$((maxrss - RSS0)) KiB, bound $bound); at most $held held; $late closed idle after at most $life ms"

grep -q 'refused at max_connections_per_peer' "$T/issuer.err" ||
    fail "the issuer did not report the refused connections"
legit 8
iss_stop
echo "PASS: issuer flood"
