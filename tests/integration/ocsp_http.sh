# SPDX-License-Identifier: ISC
# ocsp_http.sh: carapace-ocsp's own HTTP/1.1 layer, with clients nobody
# here wrote (curl, openssl ocsp) and raw sockets (python3) where a client
# would refuse to send the bytes:
#   - the RFC 5019 GET form with its "=" padding escaped as %3D (the path
#     that overran nng 1.5.2's heap) answers good, read by openssl ocsp
#     -respin;
#   - paths ending in %, %4, %3D, %ZZ get 400 or malformedRequest, and the
#     responder keeps serving (and, in the sanitizer build, reports
#     nothing: ocsp_stop checks its log);
#   - Transfer-Encoding gzip is refused (501), a header block over
#     8 KiB gets 431, DELETE gets 405 with Allow, HTTP/1.1 without Host 400;
#   - two POSTs pipelined on one connection both get answers, in order;
#   - HTTP/1.0 closes after the answer, HTTP/1.1 keeps the connection;
#   - a slowloris connection is closed by the 10 s request deadline;
#   - openssl ocsp -url (an HTTP/1.0 POST) still works, also over IPv6;
#   - with wrk: 32 keep-alive connections get only 200s, and SIGTERM under
#     load exits 0 within 5 s (in the sanitizer build: with no report).
#   - max_connections = 4 and request_timeout = 5s: with 4 idle
#     connections open from 127.0.0.2, a 5th is answered (it evicts the
#     oldest idle one), the idle ones are all closed within 4 s (1 s idle
#     when over half full), before the 5 s deadline, and a new request is
#     then answered;
#     out-of-range values of max_connections, threads and request_timeout
#     are refused at start. (ocsp_flood.sh tests these limits under a
#     flood, and the per-address cap.)

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/ocsp_common.sh"

command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

# A leaf whose SHA-1 CertID request, in base64, ends in "=" padding.
i=0
while :; do
	i=$((i + 1))
	[ $i -le 8 ] || fail "no request with base64 padding in 8 leaves"
	leaf_issue "leaf$i" >/dev/null
	openssl ocsp -issuer "$CA/intermediate.pem" -cert "$T/leaf$i.pem" \
	    -no_nonce -reqout "$T/get.req" 2>/dev/null || fail "reqout"
	B64=$(openssl base64 -A -in "$T/get.req")
	case $B64 in *=) break ;; esac
done
LEAF=$T/leaf$i.pem
openssl ocsp -issuer "$CA/intermediate.pem" -cert "$LEAF" -no_nonce \
    -reqout "$T/post.req" 2>/dev/null || fail "reqout post"

ocsp_start
URL=http://127.0.0.1:$PORT

# raw MODE ...: the python3 helper below, on 127.0.0.1:$PORT.
raw() {
	python3 - "$PORT" "$@" <<'EOF'
import socket, sys, time

port = int(sys.argv[1])
mode = sys.argv[2]

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    return s

def read_responses(s, n):
    """Read n HTTP responses (Content-Length framed); list of
    (status, headers, body)."""
    buf, out = b"", []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return out
            buf += d
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        if status == 100:
            continue
        cl = int(hdrs.get("content-length", "0"))
        while len(buf) < cl:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        out.append((status, hdrs, buf[:cl]))
        buf = buf[cl:]
    return out

def closed(s, wait):
    """True when the server closes s within wait seconds."""
    s.settimeout(wait)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True

if mode == "get":                      # get PATH OUTFILE: status
    s = conn()
    s.sendall(b"GET " + sys.argv[3].encode() +
              b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    r = read_responses(s, 1)
    if not r:
        print("closed")
        sys.exit(0)
    open(sys.argv[4], "wb").write(r[0][2])
    print(r[0][0])
elif mode == "send":                   # send BYTES-FILE: status [allow]
    s = conn()
    s.sendall(open(sys.argv[3], "rb").read())
    r = read_responses(s, 1)
    print(r[0][0] if r else "closed", r[0][1].get("allow", "") if r else "")
elif mode == "pipeline":               # pipeline REQ OUT1 OUT2
    body = open(sys.argv[3], "rb").read()
    one = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/ocsp-request\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    two = (b"POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/ocsp-request\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    s = conn()
    s.sendall(one + two)               # one write: both in flight
    r = read_responses(s, 2)
    for i, (st, h, b) in enumerate(r):
        open(sys.argv[4 + i], "wb").write(b)
    print(len(r), " ".join(str(x[0]) for x in r),
          "open" if not closed(s, 0.5) else "closed")
elif mode == "http10":                 # http10 REQ: status, closed?
    body = open(sys.argv[3], "rb").read()
    s = conn()
    s.sendall(b"POST / HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(body)
              + body)
    r = read_responses(s, 1)
    print(r[0][0] if r else "none", "closed" if closed(s, 3) else "open")
elif mode == "slowloris":              # slowloris: seconds until closed
    s = conn()
    t0 = time.time()
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    s.settimeout(1)
    while time.time() - t0 < 20:
        try:
            s.sendall(b"X")
            d = s.recv(65536)
            if not d:
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    print(int(time.time() - t0))
EOF
}

# A slowloris connection, from the start; checked at the end.
raw slowloris >"$T/slow.out" 2>&1 &
SLOW_PID=$!

# --- GET with %3D padding ----------------------------------------------------
ENC=$(printf '%s' "$B64" | urlenc)
case $ENC in *%3D) ;; *) fail "GET path does not end in %3D: $ENC" ;; esac
for base in "" /ocsp; do
	code=$(curl -s -o "$T/get.resp" -w '%{http_code}' "$URL$base/$ENC") ||
	    fail "curl GET $base/...%3D"
	[ "$code" = 200 ] || fail "GET $base/...%3D: HTTP $code"
	openssl ocsp -respin "$T/get.resp" -issuer "$CA/intermediate.pem" \
	    -cert "$LEAF" -CAfile "$CA/root.pem" >"$T/q.out" 2>&1 || true
	grep -q "^$LEAF: good" "$T/q.out" || { cat "$T/q.out"; fail "GET $base %3D: not good"; }
	grep -q "Response verify OK" "$T/q.out" || fail "GET $base %3D: no verify"
done
ok "GET /<base64 ending in %3D> and /ocsp/...: good (openssl ocsp -respin)"

# --- paths ending in a broken or final escape ----------------------------------
for p in "/ocsp/%" "/ocsp/%4" "/ocsp/%3D" "/ocsp/%ZZ" "/%" "/%4" "/%3D" \
    "/MEMw%" "/MEMwQTA%3" "/${ENC%???}%" "/${ENC%???}%3" "/ocsp/$ENC%"; do
	code=$(raw get "$p" "$T/r.der") || fail "raw GET $p"
	case $code in
	400) ;;
	404)
		# Outside the configured path, only a target that can be
		# base64 of an OCSPRequest (it starts with M) is OCSP.
		case $p in /M*|/ocsp/*) fail "GET $p: 404" ;; esac ;;
	200)
		openssl ocsp -respin "$T/r.der" -resp_text -noverify \
		    >"$T/r.txt" 2>&1 || true
		grep -qi "malformedrequest" "$T/r.txt" ||
		    { cat "$T/r.txt"; fail "GET $p: 200 but not malformedRequest"; } ;;
	*) fail "GET $p: $code" ;;
	esac
	kill -0 "$OCSP_PID" 2>/dev/null || fail "carapace-ocsp died on GET $p"
done
ok "paths ending in %, %4, %3D, %ZZ: 400, malformedRequest or (not OCSP) 404"
# GET answers OCSP at / and at the configured path only: other targets are
# not OCSP requests and get 404, not a signed malformedRequest.
for p in /favicon.ico /robots.txt /status/x /admin; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$URL$p") || fail "curl GET $p"
	[ "$code" = 404 ] || fail "GET $p: HTTP $code, not 404"
done
code=$(curl -s -o "$T/r.der" -w '%{http_code}' "$URL/ocsp/not-base64") ||
    fail "curl GET /ocsp/not-base64"
[ "$code" = 200 ] && openssl ocsp -respin "$T/r.der" -resp_text -noverify 2>&1 |
    grep -qi malformedrequest || fail "GET /ocsp/not-base64: HTTP $code, not malformedRequest"
ok "GET outside the OCSP endpoints: 404; a bad request under /ocsp: malformedRequest"
q -issuer "$CA/intermediate.pem" -cert "$LEAF"
grep -q "^$LEAF: good" "$T/q.out" || { cat "$T/q.out"; fail "not serving after bad escapes"; }
ok "still serving after the bad escapes"

# --- refusals ------------------------------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Transfer-Encoding: gzip, chunked" \
    -H "Content-Type: application/ocsp-request" --data-binary "@$T/post.req" "$URL/")
[ "$code" = 501 ] || fail "Transfer-Encoding: gzip, chunked: HTTP $code"
ok "Transfer-Encoding other than chunked refused (501; chunked: ocsp_http_cache.sh)"

head -c 9000 /dev/zero | tr '\0' 'a' >"$T/long"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Long: $(cat "$T/long")" "$URL/")
[ "$code" = 431 ] || fail "9 kB header: HTTP $code"
ok "a header block over 8 KiB: 431"

printf 'DELETE / HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/del"
set -- $(raw send "$T/del")
[ "$1" = 405 ] && [ "$2 $3 $4" = "GET, HEAD, POST" ] || fail "DELETE: $*"
ok "DELETE: 405, Allow: GET, HEAD, POST"

printf 'GET /QUJD HTTP/1.1\r\n\r\n' >"$T/nohost"
set -- $(raw send "$T/nohost")
[ "$1" = 400 ] || fail "HTTP/1.1 without Host: $*"
printf 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde' >"$T/dupcl"
set -- $(raw send "$T/dupcl")
[ "$1" = 400 ] || fail "two Content-Lengths: $*"
ok "no Host in HTTP/1.1, differing Content-Lengths: 400"

# --- pipelining and keep-alive ------------------------------------------------------
set -- $(raw pipeline "$T/post.req" "$T/p1.der" "$T/p2.der")
[ "$1 $2 $3" = "2 200 200" ] || fail "pipelined POSTs: $*"
[ "$4" = open ] || fail "HTTP/1.1 connection closed after the answers"
for f in p1 p2; do
	openssl ocsp -respin "$T/$f.der" -issuer "$CA/intermediate.pem" \
	    -cert "$LEAF" -CAfile "$CA/root.pem" >"$T/q.out" 2>&1 || true
	grep -q "^$LEAF: good" "$T/q.out" || { cat "$T/q.out"; fail "pipelined $f: not good"; }
done
ok "two pipelined POSTs on one connection: both good, connection kept"

set -- $(raw http10 "$T/post.req")
[ "$1 $2" = "200 closed" ] || fail "HTTP/1.0 POST: $*"
ok "HTTP/1.0 POST: answered, then closed"

openssl ocsp -url "$URL" -CAfile "$CA/root.pem" -issuer "$CA/intermediate.pem" \
    -cert "$LEAF" >"$T/q.out" 2>&1 || true
grep -q "^$LEAF: good" "$T/q.out" || { cat "$T/q.out"; fail "openssl ocsp -url"; }
ok "openssl ocsp -url (HTTP/1.0 POST): good"

# --- slowloris ---------------------------------------------------------------------
wait "$SLOW_PID" || fail "slowloris helper"
secs=$(cat "$T/slow.out")
[ "$secs" -ge 9 ] && [ "$secs" -le 13 ] || fail "slowloris closed after $secs s"
ok "a slowloris connection closed after $secs s (10 s deadline)"
q -issuer "$CA/intermediate.pem" -cert "$LEAF"
grep -q "^$LEAF: good" "$T/q.out" || { cat "$T/q.out"; fail "not serving at the end"; }

# --- load, then SIGTERM with connections open ----------------------------------------
if command -v wrk >/dev/null; then
	wrk -t2 -c32 -d2s "$URL/$ENC" >"$T/wrk.out" 2>&1 || fail "wrk"
	grep -q "Non-2xx" "$T/wrk.out" && { cat "$T/wrk.out"; fail "wrk: non-2xx answers"; }
	n=$(awk '/requests in/ { print $1 }' "$T/wrk.out")
	[ "${n:-0}" -gt 100 ] || { cat "$T/wrk.out"; fail "wrk: $n requests"; }
	ok "wrk, 32 keep-alive connections for 2 s: $n answers, all 200"
	wrk -t2 -c32 -d6s "$URL/$ENC" >"$T/wrk2.out" 2>&1 &
	WRK_PID=$!
	sleep 1
	ocsp_stop
	wait "$WRK_PID" || true
	ok "SIGTERM under load: clean exit within 5 s, no sanitizer report"
else
	echo "note: wrk not installed; no load test"
	ocsp_stop
	ok "clean exit, no sanitizer report"
fi

# --- max_connections, request_timeout, threads -----------------------------------
for l in "max_connections = 0" "max_connections = 65537" "threads = 0" \
    "threads = 257" "request_timeout = 0s" "request_timeout = 301" \
    "request_timeout = 5x"; do
	ocsp_config "$T/bad.cnf" "$l"
	rc=0
	"$OCSP" -d -c "$T/bad.cnf" >"$T/bad.out" 2>&1 || rc=$?
	key=${l%% =*}
	[ $rc -ne 0 ] && grep -q "bad.cnf: \[ocsp\] $key" "$T/bad.out" ||
	    { cat "$T/bad.out"; fail "\"$l\": exit $rc, no message naming the key"; }
done
ok "max_connections, threads, request_timeout out of range: refused, key named"

ocsp_start "max_connections = 4" "threads = 2" "request_timeout = 5s"
python3 - "$PORT" "/$ENC" >"$T/limits.out" 2>&1 <<'EOF' ||
import socket, sys, time

port, path = int(sys.argv[1]), sys.argv[2]

def closed_within(s, secs):
    """True when the peer closes s (EOF or reset) within secs, having
    sent nothing."""
    s.settimeout(secs)
    try:
        d = s.recv(4096)
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
    if d:
        sys.exit("got an answer: %r" % d[:40])
    return True

t0 = time.monotonic()
# From another address: 127.0.0.1 may hold only 4 (max_connections).
idle = [socket.create_connection(("127.0.0.1", port), timeout=5,
    source_address=("127.0.0.2", 0)) for _ in range(4)]
time.sleep(0.3)		# let the server accept all four
fifth = socket.create_connection(("127.0.0.1", port), timeout=5)
fifth.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    % path).encode())
if not fifth.recv(16).startswith(b"HTTP/1.1 "):
    sys.exit("5th connection not answered")
for s in idle:
    if not closed_within(s, 5.0):
        sys.exit("idle connection still open after 5 s")
secs = time.monotonic() - t0
if secs > 4.0:
    sys.exit("idle connections closed after %.1f s, not about 1" % secs)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    % path).encode())
buf = b""
while not buf.endswith(b"\r\n") and len(buf) < 64:
    d = s.recv(1)
    if not d:
        break
    buf += d
print(buf.split()[1].decode() if len(buf.split()) > 1 else "none",
    "%.1f" % secs)
EOF
    { cat "$T/limits.out"; fail "max_connections / request_timeout"; }
set -- $(cat "$T/limits.out")
[ "$1" = 200 ] || fail "after the idle connections timed out: HTTP $1"
ok "max_connections = 4, all idle: 5th answered; idle closed after $2 s (1 s over half full); then 200"
ocsp_stop

# --- IPv6 loopback ---------------------------------------------------------------------
if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' \
    2>/dev/null; then
	ocsp_start
	ocsp_stop
	sed "s|^listen = .*|listen = http://[::1]:$PORT|" "$T/ocsp.cnf" >"$T/ocsp6.cnf"
	rm -f "$T/ocsp.log"	# the last run's "listening on" must not count
	"$OCSP" -d -c "$T/ocsp6.cnf" >"$T/ocsp.log" 2>&1 &
	OCSP_PID=$!
	i=0
	until grep -q "listening on" "$T/ocsp.log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] && kill -0 "$OCSP_PID" 2>/dev/null ||
		    { cat "$T/ocsp.log"; fail "no listener on [::1]:$PORT"; }
		sleep 0.1
	done
	openssl ocsp -url "http://[::1]:$PORT" -CAfile "$CA/root.pem" \
	    -issuer "$CA/intermediate.pem" -cert "$LEAF" >"$T/q.out" 2>&1 || true
	grep -q "^$LEAF: good" "$T/q.out" || { cat "$T/q.out"; fail "IPv6"; }
	code=$(curl -s -o "$T/get6.resp" -w '%{http_code}' -g "http://[::1]:$PORT/$ENC")
	[ "$code" = 200 ] || fail "IPv6 GET: HTTP $code"
	ocsp_stop
	ok "IPv6 loopback: openssl ocsp -url and curl GET"
else
	echo "note: no IPv6 loopback here; IPv6 not tested"
fi
