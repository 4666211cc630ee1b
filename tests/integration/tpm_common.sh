# shellcheck shell=sh
# SPDX-License-Identifier: ISC
# tpm_common.sh: software TPMs for the TPM attestation tests. Sourced after
# tests/integration/common.sh; not a test by itself.
#
#   tpm_start NAME   manufacture a TPM 2.0 in $T/NAME with swtpm_setup
#                    --create-ek-cert, its EK certificates signed by a local
#                    CA of its own ($T/NAME/ca; never /etc or
#                    /var/lib/swtpm-localca), and serve it with swtpm on a
#                    free loopback port. Afterwards $TPM_TCTI is its TCTI
#                    string and $T/NAME/cas.pem its manufacturer CAs.
#   tpm_tools NAME   point tpm2-tools and the tpm2 provider at TPM NAME
#   tpm_tls_handshake KEY CERT CAFILE [CHAIN]
#                    one TLS handshake: openssl s_server with the TSS2 key
#                    file KEY (through the tpm2 provider, on the TPM of
#                    $TPM2OPENSSL_TCTI) and CERT, and openssl s_client
#                    verifying it against CAFILE
# $T/ossl.cnf keeps the tpm2 provider's digests out of OpenSSL's way; use
# it with OPENSSL_CONF for anything that signs with a TPM key.
# Every swtpm started here is stopped when the test exits (ATEXIT_HOOKS).
# swtpm has no resource manager: tools that leave objects loaded must be
# followed by `tpm2_flushcontext -t`.

TPM_PIDS=
tpm_stop() {
	for p in $TPM_PIDS; do
		kill "$p" 2>/dev/null || :
	done
	for p in $TPM_PIDS; do
		wait "$p" 2>/dev/null || :
	done
	TPM_PIDS=
}
ATEXIT_HOOKS="$ATEXIT_HOOKS tpm_stop"

# esys logs every TPM error it sees (an absent NV index is one); the
# programs report what matters themselves.
TSS2_LOG=all+none
export TSS2_LOG

for c in swtpm swtpm_setup swtpm_localca tpm2_readpublic tpm2_loadexternal \
    tpm2_flushcontext tpm2_getrandom openssl; do
	command -v "$c" >/dev/null ||
	    fail "$c is not installed (scripts/install-deps: swtpm swtpm-tools tpm2-tools)"
done
TPM_OSSL_MODULES=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
[ -f "$TPM_OSSL_MODULES/tpm2.so" ] ||
    fail "the OpenSSL tpm2 provider is not installed (scripts/install-deps: tpm2-openssl)"

tpm_start() {
	d=$T/$1
	mkdir -p "$d/state" "$d/ca" "$d/certs"
	cat >"$d/localca.conf" <<EOF
statedir = $d/ca
signingkey = $d/ca/signkey.pem
issuercert = $d/ca/issuercert.pem
certserial = $d/ca/certserial
EOF
	printf '%s\n' '--platform-manufacturer carapace' \
	    '--platform-version 2.1' '--platform-model test' \
	    >"$d/localca.options"
	cat >"$d/setup.conf" <<EOF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $d/localca.conf
create_certs_tool_options = $d/localca.options
active_pcr_banks = sha256
EOF
	swtpm_setup --tpm2 --tpmstate "$d/state" --create-ek-cert \
	    --config "$d/setup.conf" --pcr-banks sha256 \
	    --logfile "$d/setup.log" >/dev/null 2>&1 ||
	    { cat "$d/setup.log" >&2; fail "swtpm_setup $1"; }
	cat "$d/ca/swtpm-localca-rootca-cert.pem" "$d/ca/issuercert.pem" \
	    >"$d/cas.pem"
	n=0
	while :; do
		n=$((n + 1))
		[ $n -le 20 ] || fail "swtpm $1: no free loopback port"
		port=$((20000 + ($$ * 13 + n * 101 + ${#1} * 7) % 30000))
		# skip ports someone already listens on (a foreign server would
		# answer our readiness probe)
		if [ -n "$(ss -Hltn "sport = :$port or sport = :$((port + 1))" 2>/dev/null)" ]; then
			continue
		fi
		swtpm socket --tpm2 --tpmstate "dir=$d/state" \
		    --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
		    --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
		    --flags not-need-init,startup-clear >"$d/swtpm.out" 2>&1 &
		pid=$!
		TPM_TCTI="swtpm:host=127.0.0.1,port=$port"
		w=0
		while kill -0 "$pid" 2>/dev/null; do
			TPM2TOOLS_TCTI=$TPM_TCTI tpm2_getrandom 4 \
			    >/dev/null 2>&1 && break
			w=$((w + 1))
			[ $w -le 300 ] || { kill "$pid"; fail "swtpm $1 did not answer in 30 s"; }
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			TPM_PIDS="$TPM_PIDS $pid"
			break
		fi
		wait "$pid" 2>/dev/null || :	# the port was taken: next one
	done
	echo "$TPM_TCTI" >"$d/tcti"
}

tpm_tools() {
	TPM2TOOLS_TCTI=$(cat "$T/$1/tcti")
	TPM2OPENSSL_TCTI=$TPM2TOOLS_TCTI
	export TPM2TOOLS_TCTI TPM2OPENSSL_TCTI
}

# swtpm has no resource manager and only three object slots, so the
# provider's TPM-backed hashes are kept out of the handshake
# (default_properties); the signature is the TPM's.
cat >"$T/ossl.cnf" <<EOF
openssl_conf = init
[init]
alg_section = algs
[algs]
default_properties = ?tpm2.digest!=yes
EOF

tpm_tls_handshake() {
	chain=
	[ -n "${4:-}" ] && chain="-cert_chain $4"
	n=0
	while :; do
		n=$((n + 1))
		[ $n -le 20 ] || fail "no free port for s_server"
		port=$((20000 + ($$ * 17 + n * 211) % 30000))
		[ -z "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] || continue
		# shellcheck disable=SC2086
		OPENSSL_CONF=$T/ossl.cnf openssl s_server -provider tpm2 \
		    -provider default -accept "127.0.0.1:$port" -key "$1" \
		    -cert "$2" $chain -naccept 1 -quiet >"$T/srv.out" 2>&1 &
		srv=$!
		TPM_PIDS="$TPM_PIDS $srv"
		w=0
		while kill -0 $srv 2>/dev/null &&
		    [ -z "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; do
			w=$((w + 1))
			[ $w -le 300 ] || fail "s_server did not listen in 30 s"
			sleep 0.1
		done
		kill -0 $srv 2>/dev/null && break
	done
	echo hello | OPENSSL_CONF=/dev/null openssl s_client \
	    -connect "127.0.0.1:$port" -servername localhost -CAfile "$3" \
	    -verify_return_error -brief >"$T/cli.out" 2>&1 ||
	    { cat "$T/cli.out" "$T/srv.out" >&2; fail "TLS handshake with the TPM key"; }
	grep -q "CONNECTION ESTABLISHED" "$T/cli.out" ||
	    { cat "$T/cli.out" "$T/srv.out" >&2; fail "no TLS connection"; }
	wait $srv 2>/dev/null || :
}
