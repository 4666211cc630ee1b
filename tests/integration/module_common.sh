# shellcheck shell=sh
# SPDX-License-Identifier: ISC
# module_common.sh: one throwaway token on one PKCS#11 module, for the tests
# that run carapace on every module it supports. Sourced after
# tests/integration/common.sh; not a test by itself.
#
#   mod_setup KIND    make a token on module KIND and start what it needs:
#     softhsm   SoftHSMv2 (common.sh's private configuration)
#     p11kit    SoftHSM served by `p11-kit server` on a private socket,
#               reached through p11-kit-client.so
#     nss       NSS softokn on an NSS database in a temporary folder
#               (module init args name it)
#     tpm2      tpm2-pkcs11 on swtpm listening on a free loopback port,
#               with a private tpm2-pkcs11 store
# After mod_setup:
#   $MOD_KIND $MOD_MODULE $MOD_INIT_ARGS (may be empty) $MOD_TOKEN (the
#   token label) $MOD_PIN (a 0600 file with the user PIN)
#   $MOD_CAN  the key types the module can generate, in our names
# Helpers:
#   mod_conf_lines    the module = and module_init_args = lines for a
#                     carapace configuration section
#   mod_p11kit_lib NAME   the path of a p11-kit module (p11-kit-client.so...)
#   mod_wait_file FILE SECONDS   poll until FILE exists
# Servers started here are stopped when the test exits (ATEXIT_HOOKS).
# PINs are random per run; tools that take a PIN only in argv
# (softhsm2-util, tpm2_ptool, certutil's -f file is used where it exists)
# get these throwaway values; carapace reads them from $MOD_PIN.

MOD_PIDS=
mod_stop() {
	for p in $MOD_PIDS; do
		kill "$p" 2>/dev/null || :
	done
	for p in $MOD_PIDS; do
		wait "$p" 2>/dev/null || :
	done
	MOD_PIDS=
}
ATEXIT_HOOKS="$ATEXIT_HOOKS mod_stop"

mod_wait_file() {
	n=0
	while [ ! -e "$1" ]; do
		n=$((n + 1))
		[ $n -le $(($2 * 10)) ] || return 1
		sleep 0.1
	done
}

mod_p11kit_lib() {
	for d in /usr/lib/x86_64-linux-gnu/pkcs11 /usr/lib/x86_64-linux-gnu \
	    /usr/lib/pkcs11 /usr/lib "$(dirname "$SOFTHSM2_MODULE")/../pkcs11"; do
		[ -f "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	fail "$1 not found (scripts/install-deps installs p11-kit-modules)"
}

mod_conf_lines() {
	echo "module           = $MOD_MODULE"
	[ -z "$MOD_INIT_ARGS" ] || echo "module_init_args = \"$MOD_INIT_ARGS\""
}

mod_setup_softhsm() {
	token_init "$MOD_TOKEN"
	MOD_MODULE=$SOFTHSM2_MODULE
	MOD_PIN=$T/$MOD_TOKEN.pin
	MOD_CAN="ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096"
}

mod_setup_p11kit() {
	command -v p11-kit >/dev/null ||
	    fail "p11-kit is not installed (scripts/install-deps)"
	mod_setup_softhsm
	MOD_MODULE=$(mod_p11kit_lib p11-kit-client.so)
	p11-kit server -f --provider "$SOFTHSM2_MODULE" -n "$T/p11kit.sock" \
	    "pkcs11:token=$MOD_TOKEN" >"$T/p11kit.out" 2>&1 &
	MOD_PIDS="$MOD_PIDS $!"
	mod_wait_file "$T/p11kit.sock" 30 ||
	    { cat "$T/p11kit.out" >&2; fail "p11-kit server did not start"; }
	P11_KIT_SERVER_ADDRESS=unix:path=$T/p11kit.sock
	export P11_KIT_SERVER_ADDRESS
}

mod_setup_nss() {
	command -v certutil >/dev/null ||
	    fail "certutil is not installed (scripts/install-deps: libnss3-tools)"
	MOD_MODULE=
	for m in /usr/lib/x86_64-linux-gnu/libsoftokn3.so \
	    /usr/lib/x86_64-linux-gnu/nss/libsoftokn3.so /usr/lib/libsoftokn3.so; do
		[ -f "$m" ] && MOD_MODULE=$m && break
	done
	[ -n "$MOD_MODULE" ] || fail "libsoftokn3.so not found (libnss3)"
	MOD_PIN=$T/nss.pin
	newpin "$MOD_PIN"
	mkdir -p "$T/nssdb"
	# certutil reads the new database password from a file (-f).
	certutil -N -d "sql:$T/nssdb" -f "$MOD_PIN" >"$T/certutil.out" 2>&1 ||
	    { cat "$T/certutil.out" >&2; fail "certutil -N"; }
	MOD_INIT_ARGS="configdir='sql:$T/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db'"
	MOD_TOKEN="NSS Certificate DB"
	MOD_CAN="ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096"
}

mod_free_port() {
	p=$((20000 + ($$ * 7 + $1) % 30000))
	echo "$p"
}

mod_setup_tpm2() {
	for c in swtpm tpm2_ptool tpm2-abrmd dbus-daemon; do
		command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] ||
		    fail "$c is not installed (scripts/install-deps)"
	done
	MOD_MODULE=
	for m in /usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1 \
	    /usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so; do
		[ -f "$m" ] && MOD_MODULE=$m && break
	done
	[ -n "$MOD_MODULE" ] || fail "libtpm2_pkcs11 not found (libtpm2-pkcs11-1)"
	mkdir -p "$T/tpm" "$T/tpmstore"
	# A port pair nobody listens on, and a swtpm that answers on it
	# before tpm2-abrmd connects (it does not retry, and stays up
	# broken): another port when this swtpm could not bind.
	k=0
	while :; do
		k=$((k + 1))
		[ $k -le 20 ] || { cat "$T/swtpm.out" >&2; fail "swtpm: no free loopback port pair"; }
		port=$(mod_free_port $((k * 101)))
		[ -z "$(ss -Hltn "sport = :$port or sport = :$((port + 1))" 2>/dev/null)" ] ||
		    continue
		swtpm socket --tpm2 --tpmstate "dir=$T/tpm" \
		    --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
		    --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
		    --flags not-need-init,startup-clear >"$T/swtpm.out" 2>&1 &
		swpid=$!
		w=0
		while kill -0 "$swpid" 2>/dev/null; do
			TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port" \
			    tpm2_getrandom 4 >/dev/null 2>&1 && break
			w=$((w + 1))
			[ $w -le 300 ] || { kill "$swpid"; cat "$T/swtpm.out" >&2; fail "swtpm did not answer in 30 s"; }
			sleep 0.1
		done
		kill -0 "$swpid" 2>/dev/null && break
		wait "$swpid" 2>/dev/null || :
	done
	MOD_PIDS="$MOD_PIDS $swpid"
	# swtpm has no resource manager, and tpm2_ptool leaves objects
	# loaded: tpm2-abrmd on a private session bus stands in for one.
	dbus-daemon --session --fork --print-address=1 --print-pid=1 \
	    >"$T/dbus.out" 2>&1 || fail "dbus-daemon"
	DBUS_SESSION_BUS_ADDRESS=$(sed -n 1p "$T/dbus.out")
	MOD_PIDS="$MOD_PIDS $(sed -n 2p "$T/dbus.out")"
	export DBUS_SESSION_BUS_ADDRESS
	bus=com.intel.tss2.Tabrmd.carapace$$
	n=0
	until tpm2-abrmd --session --allow-root --dbus-name="$bus" \
	    --tcti="swtpm:host=127.0.0.1,port=$port" >"$T/abrmd.out" 2>&1 &
	    ab=$!; sleep 0.5; kill -0 $ab 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 20 ] || { cat "$T/swtpm.out" "$T/abrmd.out" >&2; fail "tpm2-abrmd did not start"; }
	done
	MOD_PIDS="$MOD_PIDS $ab"
	TPM2_PKCS11_TCTI="tabrmd:bus_type=session,bus_name=$bus"
	TPM2TOOLS_TCTI=$TPM2_PKCS11_TCTI
	TPM2_PKCS11_STORE=$T/tpmstore
	TPM2_PKCS11_LOG_LEVEL=0
	export TPM2_PKCS11_TCTI TPM2TOOLS_TCTI TPM2_PKCS11_STORE TPM2_PKCS11_LOG_LEVEL
	# Alive is not ready: wait until the daemon answers on its bus name.
	n=0
	until tpm2_getrandom 4 >/dev/null 2>"$T/getrandom.out"; do
		n=$((n + 1))
		[ $n -lt 100 ] || { cat "$T/abrmd.out" "$T/getrandom.out" >&2; fail "tpm2-abrmd does not answer on $bus"; }
		sleep 0.1
	done
	MOD_PIN=$T/tpm2.pin
	newpin "$MOD_PIN"
	newpin "$T/tpm2.sopin"
	tpm2_ptool init --path "$T/tpmstore" >"$T/ptool.out" 2>&1 ||
	    { cat "$T/ptool.out" >&2; fail "tpm2_ptool init"; }
	# tpm2_ptool takes PINs only in argv: throwaway values for this run.
	tpm2_ptool addtoken --pid=1 --label="$MOD_TOKEN" --path "$T/tpmstore" \
	    --sopin="$(cat "$T/tpm2.sopin")" --userpin="$(cat "$MOD_PIN")" \
	    >"$T/ptool.out" 2>&1 ||
	    { cat "$T/ptool.out" >&2; fail "tpm2_ptool addtoken"; }
	MOD_CAN="ec-p256 ec-p384 rsa-2048"
}

# mod_setup KIND
mod_setup() {
	# Sanitizer builds: whole malloc stacks, so that tests/lsan.supp can
	# name the module a leak is in (see there). Ignored otherwise.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
	export ASAN_OPTIONS
	MOD_KIND=$1
	MOD_TOKEN=carapace-$1
	MOD_INIT_ARGS=
	case $1 in
	softhsm) mod_setup_softhsm ;;
	p11kit) mod_setup_p11kit ;;
	nss) mod_setup_nss ;;
	tpm2) mod_setup_tpm2 ;;
	*) fail "mod_setup: unknown module kind $1" ;;
	esac
}
