# SPDX-License-Identifier: ISC
# ocsp_common.sh: sourced by the carapace-ocsp integration tests (not a test
# itself). After common.sh it:
#   - rehearses a root ceremony with docs/examples/ceremony-softhsm.sh into
#     $CA (root.pem, intermediate.pem, its keyUsage replaced by
#     $OCSP_CA_KEYUSAGE when set; the intermediate key is in the
#     SoftHSM token "carapace-issuer", its PIN in $CA/pins/);
#   - defines leaf_issue NAME (a leaf signed by the intermediate key inside
#     SoftHSM through OpenSSL's pkcs11 engine, with a serial reserved and
#     then completed in the log $LOG by tests/tools/ocsp_fill), and
#     ocsp_start / ocsp_stop for carapace-ocsp on 127.0.0.1:$PORT.
# Skips (77) without the pkcs11 engine or curl.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"

OCSP=$B/ocsp/carapace-ocsp
FILL=$B/tests/tools/ocsp_fill
CEREMONY=$B/root-ceremony/carapace-ceremony
for p in "$OCSP" "$FILL" "$CEREMONY"; do
	[ -x "$p" ] || fail "$p: not built"
done
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
ENGINE_OK=
for d in /usr/lib/x86_64-linux-gnu/engines-3 /usr/lib/aarch64-linux-gnu/engines-3 \
    /usr/lib/engines-3; do
	[ -f "$d/pkcs11.so" ] && ENGINE_OK=1
done
[ -n "$ENGINE_OK" ] || {
	echo "SKIP: OpenSSL pkcs11 engine not installed (libengine-pkcs11-openssl)"
	exit 77
}

CA=$T/ca
LOG=$T/log.db
# The log is created explicitly, as an operator would: nothing creates it
# implicitly any more.
"$B/client/carapace" log init --log "$LOG" >"$T/loginit.out" 2>&1 || {
	cat "$T/loginit.out" >&2
	fail "carapace log init --log $LOG failed"
}
# OCSP_CA_KEYUSAGE (set before sourcing) replaces the example intermediate
# profile's keyUsage, e.g. to make a CA certificate without
# digitalSignature.
REHEARSAL=$S/docs/examples/ceremony-softhsm.sh
if [ -n "${OCSP_CA_KEYUSAGE:-}" ]; then
	sed "s/^keyUsage              = critical, digitalSignature, keyCertSign, cRLSign\$/keyUsage              = $OCSP_CA_KEYUSAGE/" \
	    "$REHEARSAL" >"$T/rehearsal.sh"
	grep -q "^keyUsage              = $OCSP_CA_KEYUSAGE\$" "$T/rehearsal.sh" ||
	    fail "could not set the intermediate's keyUsage in the rehearsal"
	REHEARSAL=$T/rehearsal.sh
fi
CARAPACE_CEREMONY=$CEREMONY sh "$REHEARSAL" "$CA" \
    >"$T/rehearsal.out" 2>&1 || {
	cat "$T/rehearsal.out" >&2
	fail "ceremony-softhsm.sh could not make the CA chain"
}
SOFTHSM2_CONF=$CA/softhsm2.conf
export SOFTHSM2_CONF
CAKEY="pkcs11:token=carapace-issuer;object=issuing-ca-1;type=private"
CAKEY_ENGINE="$CAKEY;pin-source=file:$CA/pins/carapace-issuer.pin"

cat >"$T/leaf.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:leaf.example.internal
authorityKeyIdentifier = keyid
EOF

# leaf_issue NAME: $T/NAME.pem, a leaf recorded as issued in $LOG; its
# serial (hex) is echoed.
leaf_issue() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$1.key" -subj "/CN=$1.example.internal" \
	    -out "$T/$1.csr" 2>/dev/null || fail "openssl req for $1"
	serial=$("$FILL" "$LOG" reserve "$CA/intermediate.pem") ||
	    fail "ocsp_fill reserve"
	PKCS11_MODULE_PATH=$SOFTHSM2_MODULE openssl x509 -req \
	    -in "$T/$1.csr" -CA "$CA/intermediate.pem" -engine pkcs11 \
	    -CAkeyform engine -CAkey "$CAKEY_ENGINE" -set_serial "0x$serial" \
	    -days 30 -sha256 -extfile "$T/leaf.ext" -out "$T/$1.pem" \
	    >"$T/x509.out" 2>&1 || {
		cat "$T/x509.out" >&2
		fail "openssl x509 -engine pkcs11 could not sign $1"
	}
	"$FILL" "$LOG" complete "$T/$1.pem" || fail "ocsp_fill complete $1"
	echo "$serial"
}

# responder_key_make: an EC P-256 key "ocsp-signer" generated in the
# issuer's token (the delegated responder's, RFC 6960 4.2.2.2), and its
# CSR in $T/resp.csr; sets RKEY to its pkcs11: URI. Needs pkcs11-tool.
responder_key_make() {
	command -v pkcs11-tool >/dev/null ||
	    { echo "SKIP: pkcs11-tool not installed"; exit 77; }
	CARAPACE_USER_PIN=$(cat "$CA/pins/carapace-issuer.pin") \
	    pkcs11-tool --module "$SOFTHSM2_MODULE" --token-label carapace-issuer \
	    --login --pin env:CARAPACE_USER_PIN --keypairgen \
	    --key-type EC:prime256v1 --label ocsp-signer --id 03 \
	    >"$T/keygen.out" 2>&1 ||
	    { cat "$T/keygen.out"; fail "pkcs11-tool --keypairgen"; }
	RKEY="pkcs11:token=carapace-issuer;object=ocsp-signer;type=private"
	PKCS11_MODULE_PATH=$SOFTHSM2_MODULE openssl req -new -engine pkcs11 \
	    -keyform engine \
	    -key "$RKEY;pin-source=file:$CA/pins/carapace-issuer.pin" \
	    -subj "/CN=Carapace Test OCSP Responder" -out "$T/resp.csr" \
	    >"$T/req.out" 2>&1 || { cat "$T/req.out"; fail "responder CSR"; }
}

# ocsp_config FILE [extra [ocsp] lines]
ocsp_config() {
	f=$1
	shift
	{
		echo "[ocsp]"
		echo "listen = http://127.0.0.1:$PORT"
		echo "path = /ocsp"
		echo "log = $LOG"
		echo "module = $SOFTHSM2_MODULE"
		echo "issuers = issuing_ca"
		echo "poll_ms = 100"
		for l in "$@"; do echo "$l"; done
		echo
		echo "[issuing_ca]"
		echo "cert = $CA/intermediate.pem"
		echo "key = $CAKEY"
		echo "pin_source = file:$CA/pins/carapace-issuer.pin"
		[ -n "${RESPONDER_CERT:-}" ] &&
		    echo "responder_cert = $RESPONDER_CERT" &&
		    echo "key = $RESPONDER_KEY"
		true
	} >"$f"
}

# ocsp_start [extra [ocsp] lines]: start carapace-ocsp on a free port.
OCSP_PID=
ocsp_start() {
	tries=0
	while [ $tries -lt 8 ]; do
		tries=$((tries + 1))
		PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 10000 + 20000 ))
		ocsp_config "$T/ocsp.cnf" "$@"
		rm -f "$T/ocsp.log"	# an earlier run's "listening on" must not count
		"$OCSP" -d -c "$T/ocsp.cnf" >"$T/ocsp.log" 2>&1 &
		OCSP_PID=$!
		i=0
		while [ $i -lt 100 ]; do
			if grep -q "listening on" "$T/ocsp.log" 2>/dev/null; then
				return 0
			fi
			kill -0 "$OCSP_PID" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		wait "$OCSP_PID" 2>/dev/null || true
		OCSP_PID=
		grep -q "cannot listen\|Address in use" "$T/ocsp.log" || break
	done
	cat "$T/ocsp.log" >&2
	fail "carapace-ocsp did not start"
}

# ocsp_stop: SIGTERM; it must exit 0 within 5 s.
ocsp_stop() {
	[ -n "$OCSP_PID" ] || return 0
	kill -TERM "$OCSP_PID"
	i=0
	while kill -0 "$OCSP_PID" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$OCSP_PID" 2>/dev/null; then
		kill -KILL "$OCSP_PID"
		fail "carapace-ocsp did not exit within 5 s of SIGTERM"
	fi
	rc=0
	wait "$OCSP_PID" || rc=$?
	OCSP_PID=
	[ $rc -eq 0 ] || { cat "$T/ocsp.log" >&2; fail "carapace-ocsp exited $rc"; }
	if grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error:" \
	    "$T/ocsp.log"; then
		cat "$T/ocsp.log" >&2
		fail "carapace-ocsp: sanitizer report"
	fi
}

ocsp_kill_on_exit() {
	rc=${1:-$?}
	if [ -n "$OCSP_PID" ]; then
		kill -KILL "$OCSP_PID" 2>/dev/null || true
		[ $rc -ne 0 ] && cat "$T/ocsp.log" >&2
	fi
	cleanup $rc
}
trap ocsp_kill_on_exit EXIT INT TERM

# q ARGS...: openssl ocsp against the responder; output in $T/q.out.
q() {
	openssl ocsp -url "http://127.0.0.1:$PORT" -CAfile "$CA/root.pem" \
	    "$@" >"$T/q.out" 2>&1 || true
}

# urlenc: percent-encode base64's + / and = read on stdin (RFC 5019 2.1),
# so that the "=" padding is sent as %3D. carapace-ocsp decodes base64
# with or without padding.
urlenc() {
	perl -pe 's/([+\/=])/sprintf("%%%02X", ord($1))/ge'
}
