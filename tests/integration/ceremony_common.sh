# shellcheck shell=sh
# SPDX-License-Identifier: ISC
# ceremony_common.sh: sourced by the tests/integration/ceremony_*.sh
# scripts after tests/integration/common.sh. Not a test by itself.
#
# After sourcing:
#   $CER                the carapace-ceremony under test
#   $BAD                tests/data/bad in the source tree
# Helpers:
#   cer_config DIR TOKEN      write DIR/ceremony.cnf for a root key on TOKEN
#                             (PIN in $T/TOKEN.pin), EC P-384, root valid
#                             3650 days, an intermediate profile with
#                             pathlen 0, and a [crl] section
#   soft_csr FILE CN [CURVE]  a CSR made with a throwaway software EC key
#                             (the key is deleted at once)
#   cer CNF ARGS...           run carapace-ceremony -c CNF --yes
#                             --allow-network ARGS (for "cer CNF verify
#                             ARGS": carapace-ceremony verify -c CNF ARGS);
#                             sets $rc; standard output and error in
#                             $T/cer.stdout and $T/cer.err, both in
#                             $T/cer.out; never exits the test
#   cer_ok DESC CNF ARGS...   as cer, and fail the test unless it exits 0
#   refused DESC RC PATTERN CNF STEP [NO-OUTPUT-FILE...]
#                             run the step and check that it exits RC (or
#                             one of "1|2"), that its standard error matches
#                             the extended regexp PATTERN (case-insensitive;
#                             the plan on standard output does not count),
#                             that none of the files
#                             exists afterwards, and that the transcript was
#                             only appended to, with exactly one step record
#                             whose outcome is "failed" (seal records aside)
#   tail_records OLD NEW      print "STEP OUTCOME" for each step record
#                             appended to transcript NEW since copy OLD
#   private_keys TOKEN        number of private key objects on TOKEN
#   assert_no_pin FILE...     fail if any PIN of this run appears in FILE

CER=$B/root-ceremony/carapace-ceremony
BAD=$S/tests/data/bad
[ -x "$CER" ] || fail "$CER: not built (make root-ceremony/carapace-ceremony)"

cer_config() {
	cat >"$1/ceremony.cnf" <<EOF
# Ceremony file for an integration test; see carapace-ceremony.cnf(5).
[ceremony]
module     = $SOFTHSM2_MODULE
key        = pkcs11:token=$2;object=root-ca;id=%01
pin_source = file:$T/$2.pin
key_type   = ec-p384
transcript = transcript
root_cert  = root.pem

[keygen]
public_key = root-pub.pem

[root]
subject    = root_dn
days       = 3650
digest     = sha384

[root_dn]
C  = XX
O  = Carapace Test
CN = Carapace Test Root CA

[intermediate]
csr        = issuer.csr
output     = intermediate.pem
days       = 1825
digest     = sha384
profile    = intermediate_profile

[intermediate_profile]
basicConstraints      = critical, CA:TRUE, pathlen:0
keyUsage              = critical, keyCertSign, cRLSign
extendedKeyUsage      = serverAuth, clientAuth
nameConstraints       = critical, permitted;DNS:example.internal
authorityInfoAccess   = OCSP;URI:http://ocsp.example.internal/, caIssuers;URI:http://pki.example.internal/root.crt
crlDistributionPoints = URI:http://pki.example.internal/root.crl

[crl]
output      = root-crl.pem
days        = 30
digest      = sha384
number_file = crlnumber
EOF
}

soft_csr() {
	(umask 077 &&
	    openssl req -new -newkey ec -pkeyopt "ec_paramgen_curve:${3:-P-256}" \
	    -nodes -keyout "$T/soft.key" -subj "/O=Carapace Test/CN=$2" \
	    -out "$1" 2>"$T/soft_csr.err") ||
	    { cat "$T/soft_csr.err" >&2; fail "openssl req could not make $1"; }
	rm -f "$T/soft.key"
}

cer() {
	cnf=$1
	shift
	rc=0
	if [ "$1" = verify ]; then
		# verify changes nothing and asks nothing: no --yes, and an
		# auditor runs it on any machine, so no --allow-network.
		shift
		"$CER" verify -c "$cnf" "$@" </dev/null >"$T/cer.stdout" \
		    2>"$T/cer.err" || rc=$?
	else
		"$CER" -c "$cnf" --yes --allow-network "$@" </dev/null \
		    >"$T/cer.stdout" 2>"$T/cer.err" || rc=$?
	fi
	cat "$T/cer.stdout" "$T/cer.err" >"$T/cer.out"
}

cer_ok() {
	desc=$1
	shift
	cer "$@"
	if [ "$rc" -ne 0 ]; then
		cat "$T/cer.out" >&2
		fail "$desc: carapace-ceremony $* exited $rc"
	fi
	ok "$desc"
}

# tail_records OLD NEW: the step records in NEW after the prefix OLD, one
# line each: "STEP OUTCOME...". Seal records (a "signature" line, or step
# "seal") are not listed. Fails the test when OLD is not a prefix of NEW.
tail_records() {
	oldsz=$(wc -c <"$1")
	if [ "$oldsz" -gt 0 ] && ! cmp -s -n "$oldsz" "$1" "$2"; then
		fail "transcript: earlier records changed (it must only be appended to)"
	fi
	tail -c "+$((oldsz + 1))" "$2" | awk '
		function flush() {
			if (inrec && !seal) print step, outcome
		}
		/^record / { flush(); inrec = 1; seal = 0; step = "?"; outcome = "?"; next }
		/^signature / { seal = 1 }
		/^step / { step = $2; if (step == "seal") seal = 1 }
		/^outcome / { outcome = substr($0, 9) }
		END { flush() }'
}

# rc_in LIST: $rc is one of the exit statuses in LIST ("1", or "1|2"
# where docs/ceremony-file.md leaves the choice open).
rc_in() {
	for w in $(echo "$1" | tr '|' ' '); do
		[ "$rc" -eq "$w" ] && return 0
	done
	return 1
}

refused() {
	desc=$1 want=$2 pattern=$3 cnf=$4 step=$5
	shift 5
	tr=$(dirname "$cnf")/transcript
	if [ -f "$tr" ]; then cp "$tr" "$T/transcript.before"; else : >"$T/transcript.before"; fi
	cer "$cnf" "$step"
	if ! rc_in "$want"; then
		cat "$T/cer.out" >&2
		fail "$desc: exit status $rc, expected $want"
	fi
	if ! grep -Eiq -- "$pattern" "$T/cer.err"; then
		cat "$T/cer.out" >&2
		fail "$desc: the error (standard error) does not match /$pattern/"
	fi
	for f in "$@"; do
		[ ! -e "$f" ] || fail "$desc: $f was written"
	done
	[ -f "$tr" ] || fail "$desc: no transcript record at all"
	tail_records "$T/transcript.before" "$tr" >"$T/tail"
	if [ "$(wc -l <"$T/tail")" -ne 1 ] || ! grep -q "^$step failed" "$T/tail"; then
		echo "appended records:" >&2
		cat "$T/tail" >&2
		fail "$desc: expected exactly one '$step failed' record appended"
	fi
	ok "$desc: exit $rc: $(grep -Ei -m1 -- "$pattern" "$T/cer.err")"
}

private_keys() {
	CARAPACE_TEST_PIN=$(cat "$T/$1.pin") \
	    pkcs11-tool --module "$SOFTHSM2_MODULE" --token-label "$1" \
	    --login --pin env:CARAPACE_TEST_PIN --list-objects --type privkey \
	    2>/dev/null | grep -c '^Private Key Object' || true
}

assert_no_pin() {
	for pin in "$T"/*.pin "$T"/*.sopin "$T"/*.secret; do
		[ -f "$pin" ] || continue
		for f in "$@"; do
			if grep -qF -- "$(cat "$pin")" "$f"; then
				fail "$f: contains the PIN from $(basename "$pin")"
			fi
		done
	done
}
