# shellcheck shell=sh
# SPDX-License-Identifier: ISC
# issuer_common.sh: sourced by the tests/integration/issuer_*.sh scripts
# after tests/integration/common.sh. Not a test by itself.
#
# It rehearses a ceremony with docs/examples/ceremony-softhsm.sh into
# $CA (root.pem, intermediate.pem, the SoftHSM token "carapace-issuer"
# holding the issuing CA's P-256 key) and runs carapace-issuer on it,
# listening on tcp://127.0.0.1:<free port> and ipc://$T/op.sock.
#
# After sourcing:
#   $ISSUER $CARAPACE $RACE  the programs under test (and the raw client)
#   $CA                      the rehearsal's directory; issuer.cnf is here
#   $URL $OPS                the client listener and the operator socket
#   $DB                      the issuance log (set it before iss_setup to put
#                            it elsewhere; iss_setup runs carapace log init)
# Hooks (set before the helpers; all optional, empty by default):
#   ISS_ISSUER_CONF          lines iss_setup adds to the [issuer] section
#   ISS_EXTRA_CONF           sections iss_setup appends to issuer.cnf
#   ISS_SCHEME               iss_start's listener scheme (default tcp;
#                            tls+tcp needs tls_cert/tls_key in
#                            ISS_ISSUER_CONF)
#   ISS_HOST                 the host in $URL (default 127.0.0.1; the
#                            listener is on 127.0.0.1 whatever it is)
# Helpers:
#   iss_setup [DEVICE_CA.pem]  the ceremony, then issuer.cnf (with the
#                            certificate as an x509pop device anchor)
#   iss_start [same]         start the daemon, wait for both listeners
#                            (same: on the port it had before)
#   iss_stop                 SIGTERM; fail unless it exits 0 with no
#                            sanitizer report
#   iss_kill9                kill -9 (the crash test)
#   car ARGS...              run carapace; sets $rc, output in $T/car.out
#                            (stdout in $T/car.stdout, stderr $T/car.err)
#   car_ok DESC ARGS...      car, and fail unless it exits 0
#   car_refused DESC RC PATTERN ARGS...
#                            car, and fail unless it exits RC with standard
#                            error matching PATTERN (extended, no case)
#   token FILE GRANT... [-- OPTIONS]  carapace token create --out FILE
#   sql QUERY                sqlite3 on the log, read-only
#   log_state                a snapshot of the log's rows, to compare
#   assert_unchanged DESC SNAPSHOT  fail if the log changed since SNAPSHOT
#   certs_in_log FILE...     fail unless every certificate (PEM or DER) is
#                            in the log, issued or revoked, byte for byte
#   serial_of FILE           the certificate's serial, uppercase hex
#   sanitizer_clean FILE     fail if FILE holds a sanitizer report

ISSUER=$B/issuer/carapace-issuer
CARAPACE=$B/client/carapace
RACE=$B/tests/tools/race_client
CEREMONY=$B/root-ceremony/carapace-ceremony
for p in "$ISSUER" "$CARAPACE" "$RACE" "$CEREMONY"; do
	[ -x "$p" ] || fail "$p: not built (make ${p#"$B"/})"
done
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }

CA=$T/ca
DB=$CA/issuance.db
OPS=ipc://$T/op.sock
URL=
ISS_PID=
export CARAPACE_CEREMONY=$CEREMONY

# Stop a daemon left running when the test ends early, then common.sh's
# cleanup.
iss_atexit() {
	rc=${1:-$?}
	if [ -n "$ISS_PID" ] && kill -0 "$ISS_PID" 2>/dev/null; then
		kill -KILL "$ISS_PID" 2>/dev/null || :
		wait "$ISS_PID" 2>/dev/null || :
	fi
	if [ $rc -ne 0 ] && [ -f "$T/issuer.err" ]; then
		echo "--- carapace-issuer standard error (last 30 lines) ---" >&2
		tail -n 30 "$T/issuer.err" >&2
	fi
	cleanup $rc
}
trap iss_atexit EXIT INT TERM

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null ||
	    echo $((20000 + $$ % 20000))
}

iss_setup() {
	sh "$S/docs/examples/ceremony-softhsm.sh" "$CA" >"$T/rehearsal.out" 2>&1 ||
	    { cat "$T/rehearsal.out" >&2; fail "docs/examples/ceremony-softhsm.sh failed"; }
	SOFTHSM2_CONF=$CA/softhsm2.conf
	export SOFTHSM2_CONF
	anchors= device=
	if [ $# -gt 0 ]; then
		anchors="x509pop_device_anchors = $1"
		device="[policy_x509pop_device]
profile = server
names   = {serial}.devices.example.internal"
	fi
	# The log is created explicitly, once: the issuer never creates it.
	"$CARAPACE" log init --log "$DB" >"$T/loginit.out" 2>&1 ||
	    { cat "$T/loginit.out" >&2; fail "carapace log init --log $DB failed"; }
	cat >"$CA/issuer.cnf" <<EOF
# carapace-issuer.cnf for an integration test (tests/integration/).
[issuer]
module        = $SOFTHSM2_MODULE
key           = pkcs11:token=carapace-issuer;object=issuing-ca-1
pin_source    = file:pins/carapace-issuer.pin
certificate   = intermediate.pem
log           = $DB
listen        = tcp://127.0.0.1:PORT
operator      = $OPS
workers       = 32
nonce_ttl     = 60
profiles      = server
$anchors
${ISS_ISSUER_CONF:-}

[server]
max_lifetime     = 24h
default_lifetime = 1h
key_types        = ec-p256 ec-p384 rsa-2048 rsa-3072
extensions       = server_ext

[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage         = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth

[policy_joinToken]
profiles = server

[policy_x509pop_renewal]
profile = server

$device

${ISS_EXTRA_CONF:-}
EOF
}

# iss_start: a free port (tried again if someone took it meanwhile).
iss_start() {
	tries=0
	while :; do
		if [ "${1:-}" = same ] && [ -n "$URL" ]; then
			port=${URL##*:}
		else
			port=$(free_port)
		fi
		sed "s|^listen .*|listen        = ${ISS_SCHEME:-tcp}://127.0.0.1:$port|" \
		    "$CA/issuer.cnf" >"$CA/issuer.cnf.new" &&
		    mv "$CA/issuer.cnf.new" "$CA/issuer.cnf"
		URL=${ISS_SCHEME:-tcp}://${ISS_HOST:-127.0.0.1}:$port
		before=$(grep -c 'listening on' "$T/issuer.err" 2>/dev/null || :)
		"$ISSUER" -c "$CA/issuer.cnf" </dev/null >>"$T/issuer.out" \
		    2>>"$T/issuer.err" &
		ISS_PID=$!
		waited=0
		while [ $waited -lt 300 ]; do
			n=$(grep -c 'listening on' "$T/issuer.err" || :)
			if [ "${n:-0}" -ge $((${before:-0} + 2)) ]; then
				ok "carapace-issuer (pid $ISS_PID) listening on $URL and $OPS"
				return 0
			fi
			kill -0 "$ISS_PID" 2>/dev/null || break
			sleep 0.1
			waited=$((waited + 1))
		done
		if kill -0 "$ISS_PID" 2>/dev/null; then
			fail "carapace-issuer did not say 'listening on' twice within 30 s"
		fi
		wait "$ISS_PID" || :
		ISS_PID=
		tries=$((tries + 1))
		if [ $tries -lt 3 ] && tail -n 5 "$T/issuer.err" |
		    grep -qi 'address.*in use'; then
			continue
		fi
		fail "carapace-issuer exited at startup"
	done
}

sanitizer_clean() {
	if grep -Eq 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$1"; then
		grep -E -A 20 'Sanitizer|runtime error' "$1" | head -n 60 >&2
		fail "$1: sanitizer report"
	fi
}

iss_stop() {
	[ -n "$ISS_PID" ] || fail "iss_stop: no daemon"
	kill -TERM "$ISS_PID"
	src=0
	wait "$ISS_PID" || src=$?
	ISS_PID=
	sanitizer_clean "$T/issuer.err"
	[ $src -eq 0 ] || fail "carapace-issuer exited $src after SIGTERM (expected 0)"
	ok "carapace-issuer stopped cleanly on SIGTERM"
}

iss_kill9() {
	kill -KILL "$ISS_PID"
	wait "$ISS_PID" 2>/dev/null || :
	ISS_PID=
}

car() {
	rc=0
	"$CARAPACE" "$@" </dev/null >"$T/car.stdout" 2>"$T/car.err" || rc=$?
	cat "$T/car.stdout" "$T/car.err" >"$T/car.out"
	sanitizer_clean "$T/car.err"
}

car_ok() {
	desc=$1
	shift
	car "$@"
	if [ "$rc" -ne 0 ]; then
		cat "$T/car.out" >&2
		fail "$desc: carapace $* exited $rc"
	fi
	ok "$desc"
}

car_refused() {
	desc=$1 want=$2 pattern=$3
	shift 3
	car "$@"
	if [ "$rc" -ne "$want" ]; then
		cat "$T/car.out" >&2
		fail "$desc: carapace $1 exited $rc, expected $want"
	fi
	if ! grep -Eiq -- "$pattern" "$T/car.err"; then
		cat "$T/car.out" >&2
		fail "$desc: standard error does not match /$pattern/"
	fi
	ok "$desc: exit $rc: $(grep -Ei -m1 -- "$pattern" "$T/car.err")"
}

# token FILE GRANT... [-- OPTIONS]: a join token for the grants, identity
# "id-<basename of FILE>", profile server; OPTIONS default to --ttl 1h.
token() {
	out=$1
	shift
	grants=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		grants="$grants --name $1"
		shift
	done
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] || set -- --ttl 1h
	# shellcheck disable=SC2086
	car token create -S "$OPS" --identity "id-$(basename "$out")" $grants \
	    --profile server "$@" --out "$out"
	if [ "$rc" -ne 0 ]; then
		cat "$T/car.out" >&2
		fail "carapace token create$grants exited $rc"
	fi
	[ -s "$out" ] || fail "carapace token create wrote no $out"
	[ "$(stat -c %a "$out")" = 600 ] ||
	    fail "$out: mode $(stat -c %a "$out"), expected 600"
	if grep -qF -- "$(cut -d. -f3 "$out")" "$T/car.out"; then
		fail "carapace token create printed the token secret"
	fi
}

sql() {
	sqlite3 -readonly -batch "$DB" "$@"
}

# log_state: every row that matters, one line each (a refused request must
# not change any of them).
log_state() {
	sql "SELECT 'cert', hex(serial), status, hex(der) FROM certificates ORDER BY id;
	     SELECT 'event', seq, kind, hex(hash) FROM events ORDER BY seq;
	     SELECT 'token', id, used_at, hex(used_serial), revoked_at FROM join_tokens ORDER BY id;"
}

assert_unchanged() {
	log_state >"$T/state.now"
	if ! cmp -s "$2" "$T/state.now"; then
		diff "$2" "$T/state.now" | head -n 20 >&2
		fail "$1: the issuance log changed"
	fi
}

# der_hex FILE: the certificate's DER in uppercase hex.
der_hex() {
	if head -c 10 "$1" | grep -q -- '-----'; then
		openssl x509 -in "$1" -outform DER
	else
		cat "$1"
	fi | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F
}

serial_of() {
	if head -c 10 "$1" | grep -q -- '-----'; then
		openssl x509 -in "$1" -noout -serial
	else
		openssl x509 -inform DER -in "$1" -noout -serial
	fi | sed 's/^serial=//'
}

certs_in_log() {
	sql "SELECT hex(der) FROM certificates WHERE der IS NOT NULL AND status IN ('issued', 'revoked');" |
	    sort >"$T/log.ders"
	for f in "$@"; do
		der_hex "$f"
		echo
	done | sort >"$T/client.ders"
	missing=$(comm -23 "$T/client.ders" "$T/log.ders" | wc -l)
	[ "$missing" -eq 0 ] ||
	    fail "$missing of $# certificates that clients received are not in the issuance log"
	ok "all $# certificates clients received are in the log, byte for byte"
}
