# SPDX-License-Identifier: ISC
# ocsp_flood.sh: one hostile client must not starve carapace-ocsp (issue
# 17, item 4). tests/tools/http_flood opens idle connections from
# 127.0.0.2 (Linux routes all of 127/8 to lo) while real clients, openssl
# ocsp from 127.0.0.1, must still be answered:
#   - bytes that cannot be HTTP (100 NULs, a TLS ClientHello) are answered
#     400 at once, not held until the 30 s request deadline;
#   - max_connections_per_address: 100 idle connections from one address
#     keep 64 (the default) open and the rest are closed at once, while
#     another address still gets its own; an IPv4-only cap, so 1,100 idle
#     connections from 127.0.0.2, reopened as soon as they are closed, do
#     not stop 12 openssl ocsp probes from 127.0.0.1;
#   - a full table evicts its oldest idle connection for a new one: with
#     max_connections = 128 held by idle connections, a request is
#     answered and the first idle connection is the one closed; with 160
#     idle connections from one address reopened as soon as closed (the
#     per-address cap raised to 128), the 12 probes are answered;
#   - more than half full, an idle connection is closed after 1 s; at half
#     or less, it is kept (request_timeout = 30s applies);
#   - max_connections_per_address out of range, or over max_connections,
#     is refused at start with the key named.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/ocsp_common.sh"

FLOOD=$B/tests/tools/http_flood
[ -x "$FLOOD" ] || fail "$FLOOD: not built"

LEAF_SERIAL=$(leaf_issue leaf)
LEAF=$T/leaf.pem
: "$LEAF_SERIAL"

# probes N: N openssl ocsp requests from 127.0.0.1, one after another;
# fails unless every one is answered "good".
probes() {
	i=0
	while [ $i -lt "$1" ]; do
		i=$((i + 1))
		openssl ocsp -url "http://127.0.0.1:$PORT" -timeout 20 \
		    -CAfile "$CA/root.pem" -issuer "$CA/intermediate.pem" \
		    -cert "$LEAF" >"$T/q.out" 2>&1 || true
		grep -q "^$LEAF: good" "$T/q.out" ||
		    { cat "$T/q.out"; fail "probe $i of $1 not answered"; }
	done
}

# flood_start SRC N: http_flood flood in the background, once it floods.
FLOOD_PID=
flood_start() {
	"$FLOOD" flood "$1" 127.0.0.1 "$PORT" "$2" 120 >"$T/flood.out" 2>&1 &
	FLOOD_PID=$!
	i=0
	until grep -q flooding "$T/flood.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] && kill -0 "$FLOOD_PID" 2>/dev/null ||
		    { cat "$T/flood.out"; fail "http_flood did not start"; }
		sleep 0.1
	done
	sleep 1		# let the flood fill what it can
}

flood_stop() {
	kill -TERM "$FLOOD_PID"
	wait "$FLOOD_PID" || fail "http_flood exited $?"
	FLOOD_PID=
	set -- $(cat "$T/flood.out" | tail -1)
	[ "$1" = opened ] || { cat "$T/flood.out"; fail "no flood summary"; }
	FLOOD_OPENED=$2
}

flood_kill_on_exit() {
	rc=$?
	[ -n "$FLOOD_PID" ] && kill -KILL "$FLOOD_PID" 2>/dev/null
	ocsp_kill_on_exit $rc
}
trap flood_kill_on_exit EXIT INT TERM

# hold_count FILE WHAT: how many connections of http_flood hold's FILE are
# still open (WHAT=open) or were closed (WHAT=closed).
hold_count() {
	awk -v what="$2" 'NR > 1 && (($2 == "open") == (what == "open")) \
	    { n++ } END { print n + 0 }' "$1"
}

# --- bytes that cannot be HTTP: 400 at once ---------------------------------------
ocsp_start "request_timeout = 30s"
head -c 100 /dev/zero >"$T/nul"
printf '\026\003\001\002\000\001\000\001\374\003\003' >"$T/tls"
for f in nul tls; do
	set -- $("$FLOOD" send - 127.0.0.1 "$PORT" "$T/$f" 40)
	[ "$1" = 400 ] || fail "$f: $* (want 400 at once)"
	[ "$2" -lt 5000 ] || fail "$f: answered after $2 ms (request_timeout 30 s)"
	eval "${f}_ms=$2"
done
ok "100 NUL bytes, a TLS ClientHello: 400 after $nul_ms and $tls_ms ms (request_timeout 30 s)"

# --- per-address cap ----------------------------------------------------------------
"$FLOOD" hold 127.0.0.2 127.0.0.1 "$PORT" 100 3 >"$T/hold2.out" &
H2=$!
"$FLOOD" hold 127.0.0.3 127.0.0.1 "$PORT" 10 3 >"$T/hold3.out" ||
    fail "http_flood hold from 127.0.0.3"
wait $H2 || fail "http_flood hold from 127.0.0.2"
n=$(hold_count "$T/hold2.out" open)
[ "$n" = 64 ] || { cat "$T/hold2.out"; fail "127.0.0.2: $n of 100 idle kept open, want 64"; }
n=$(hold_count "$T/hold3.out" open)
[ "$n" = 10 ] || { cat "$T/hold3.out"; fail "127.0.0.3: $n of 10 kept open, want 10"; }
ok "100 idle connections from 127.0.0.2: 64 kept (the default cap); 127.0.0.3 still gets 10"

flood_start 127.0.0.2 1100
probes 12
flood_stop
[ "$FLOOD_OPENED" -gt 1100 ] || fail "the flood reopened nothing ($FLOOD_OPENED opened)"
ok "1,100 idle connections from 127.0.0.2, reopened at once ($FLOOD_OPENED in all): 12 of 12 probes from 127.0.0.1 answered"
ocsp_stop

# --- a full table evicts the oldest idle connection -------------------------------------
ocsp_start "max_connections = 128" "max_connections_per_address = 128" \
    "request_timeout = 30s"
printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$T/get"
tries=0
while :; do
	tries=$((tries + 1))
	"$FLOOD" hold 127.0.0.2 127.0.0.1 "$PORT" 128 4 >"$T/hold.out" &
	H=$!
	i=0
	until grep -q "^open " "$T/hold.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] && kill -0 $H 2>/dev/null ||
		    { cat "$T/hold.out"; fail "http_flood hold 128"; }
		sleep 0.05
	done
	set -- $("$FLOOD" send - 127.0.0.1 "$PORT" "$T/get" 10)
	wait $H || fail "http_flood hold 128"
	case $1 in
	[1-5][0-9][0-9]) ;;
	*) cat "$T/hold.out"; fail "a request with 128 idle connections open: $*" ;;
	esac
	sent_at=$3
	open_at=$(awk 'NR == 1 { print $3 }' "$T/hold.out")
	# Idle for 1 s in a table over half full is closed anyway: the
	# request must have come before that to tell eviction apart, and
	# with all 128 still open (on a loaded machine one can go early,
	# and then nothing needs evicting).
	early=$(awk -v s="$sent_at" 'NR > 1 && $2 != "open" && $2 < s' \
	    "$T/hold.out" | wc -l)
	[ $((sent_at - open_at)) -lt 800 ] && [ "$early" -eq 0 ] && break
	[ $tries -lt 3 ] || { cat "$T/hold.out"; fail "3 times: the request not within 0.8 s of the idle connections ($((sent_at - open_at)) ms), or $early closed before it"; }
	sleep 2
done
# The idle list is in the order the two workers first read their
# connections, which is the order of opening give or take a few: the
# first one closed must be among the 8 opened first.
first=$(awk 'NR > 1 && $2 != "open" { if (min == "" || $2 < min) { min = $2; who = $1 } }
    END { print who }' "$T/hold.out")
at0=$(awk -v who="$first" 'NR > 1 && $1 == who { print $2 }' "$T/hold.out")
[ -n "$first" ] && [ "$first" -lt 8 ] ||
    { cat "$T/hold.out"; fail "the first connection closed was #$first, not one of the oldest (#0-#7)"; }
[ $((at0 - sent_at)) -lt 500 ] ||
    { cat "$T/hold.out"; fail "the oldest idle connection closed $((at0 - sent_at)) ms after the answer"; }
ok "max_connections = 128, all idle: a request is answered ($1) and the oldest idle connection is closed for it"

# The busiest address makes room: a lone idle connection from 127.0.0.3,
# the oldest in the table, is not evicted when 127.0.0.2 fills the table
# and opens 8 more; it is closed only by the 1 s idle limit under
# pressure (evicting the oldest outright would close it within ms).
"$FLOOD" hold 127.0.0.3 127.0.0.1 "$PORT" 1 5 >"$T/lone.out" &
L=$!
i=0
until grep -q "^open " "$T/lone.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] && kill -0 $L 2>/dev/null || fail "http_flood hold 1 from 127.0.0.3"
	sleep 0.05
done
"$FLOOD" hold 127.0.0.2 127.0.0.1 "$PORT" 135 3 >"$T/many.out" ||
    fail "http_flood hold 135 from 127.0.0.2"
wait $L || fail "http_flood hold 1 from 127.0.0.3"
lone_open=$(awk 'NR == 1 { print $3 }' "$T/lone.out")
lone_closed=$(awk 'NR == 2 { print $2 }' "$T/lone.out")
many_open=$(awk 'NR == 1 { print $3 }' "$T/many.out")
evicted=$(awk -v t="$many_open" 'NR > 1 && $2 != "open" && $2 <= t + 500' "$T/many.out" | wc -l)
[ "$evicted" -ge 7 ] || { cat "$T/many.out"; fail "only $evicted of 127.0.0.2's connections evicted for its 8 over the table"; }
[ "$lone_closed" != open ] && [ $((lone_closed - lone_open)) -ge 700 ] ||
    { cat "$T/lone.out"; fail "the lone connection from 127.0.0.3 was closed after $((lone_closed - lone_open)) ms: evicted for the busiest address's connections"; }
ok "a full table: 127.0.0.2's own connections evicted for its 8 more ($evicted); the oldest, lone one from 127.0.0.3 kept until the idle limit ($((lone_closed - lone_open)) ms)"

flood_start 127.0.0.2 160
probes 12
flood_stop
ok "160 idle connections from 127.0.0.2 (cap 128 per address and in all), reopened at once ($FLOOD_OPENED in all): 12 of 12 probes answered"
ocsp_stop

# --- idle timeout under pressure ------------------------------------------------
ocsp_start "max_connections = 16" "max_connections_per_address = 16" \
    "request_timeout = 30s"
"$FLOOD" hold 127.0.0.2 127.0.0.1 "$PORT" 12 15 >"$T/busy.out" ||
    fail "http_flood hold 12"
n=$(hold_count "$T/busy.out" closed)
# Under pressure (over half full) idle connections are closed after 1 s
# until the table is back to a quarter (4 of 16): at least 8 of the 12.
[ "$n" -ge 8 ] || { cat "$T/busy.out"; fail "12 of 16 idle: only $n closed within 15 s"; }
open_at=$(awk 'NR == 1 { print $3 }' "$T/busy.out")
# Lines of connections still open say "open", not a time.
last=$(awk 'NR > 1 && $2 != "open" && $2 + 0 > max + 0 { max = $2 } END { print max }' "$T/busy.out")
first=$(awk 'NR > 1 && $2 != "open" && (min == "" || $2 + 0 < min + 0) { min = $2 } END { print min }' "$T/busy.out")
[ $((first - open_at)) -ge 700 ] || fail "idle connections closed after $((first - open_at)) ms, before 1 s"
ok "12 idle of max_connections = 16: closed after $((first - open_at))-$((last - open_at)) ms (1 s idle limit; request_timeout 30 s)"
"$FLOOD" hold 127.0.0.2 127.0.0.1 "$PORT" 8 3 >"$T/calm.out" ||
    fail "http_flood hold 8"
n=$(hold_count "$T/calm.out" open)
[ "$n" = 8 ] || { cat "$T/calm.out"; fail "8 idle of 16: only $n still open after 3 s"; }
ok "8 idle of max_connections = 16 (half): kept past 3 s"
ocsp_stop

# --- max_connections_per_address refused when out of range -------------------------
for l in "max_connections_per_address = 0" \
    "max_connections_per_address = 65537" \
    "max_connections_per_address = x" \
    "max_connections = 8
max_connections_per_address = 9"; do
	ocsp_config "$T/bad.cnf" "$l"
	rc=0
	"$OCSP" -d -c "$T/bad.cnf" >"$T/bad.out" 2>&1 || rc=$?
	[ $rc -ne 0 ] && grep -q "bad.cnf: \[ocsp\] max_connections_per_address" \
	    "$T/bad.out" ||
	    { cat "$T/bad.out"; fail "\"$l\": exit $rc, no message naming the key"; }
done
ok "max_connections_per_address out of range or over max_connections: refused, key named"
