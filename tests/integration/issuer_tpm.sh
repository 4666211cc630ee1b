#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_tpm.sh: TPM 2.0 attestation end to end, on the wire. Two swtpms
# are manufactured by swtpm_setup --create-ek-cert, each with a local EK
# CA of its own; the issuer trusts A's CA only ([issuer] tpm_ek_ca).
# carapace request --tpm runs the challenge exchange with TPM A (EK, AK,
# credential activation, a key made in the TPM and certified by the AK,
# a CSR signed in the TPM) and gets a certificate named by [policy_tpm]
# from the EK's hash, which openssl verify accepts and with which openssl
# s_server completes a TLS handshake while the key stays in the TPM. The
# EK hash is computed here from the EK certificate tpm2_nvread reads, so
# nothing of ours computes what the test expects. Refused, changing
# nothing: a name the policy does not give, TPM B (its EK CA is not trusted), TPM A again (one certificate
# per EK). Then revoke --selector tpm:ek-sha256:<hash> revokes exactly
# A's certificate.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"
. "$S/tests/integration/tpm_common.sh"
command -v tpm2_nvread >/dev/null ||
    fail "tpm2_nvread is not installed (scripts/install-deps: tpm2-tools)"

tpm_start a
TCTI_A=$TPM_TCTI
tpm_start b
TCTI_B=$TPM_TCTI
ok "two swtpms with EK certificates from two local CAs"

# The RSA EK's certificate, and the SHA-256 of its public key (SPKI DER).
tpm_tools a
tpm2_nvread -C o -o "$T/ek-a.der" 0x01c00002 >/dev/null 2>&1 ||
    fail "tpm2_nvread of TPM A's RSA EK certificate"
EK=$(openssl x509 -inform DER -in "$T/ek-a.der" -noout -pubkey |
    openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -c1-64)
[ ${#EK} -eq 64 ] || fail "EK hash: '$EK'"
EK16=$(echo "$EK" | cut -c1-16)
NAME=$EK16.tpm.example.internal
ok "TPM A's EK: sha256 $EK"

ISS_ISSUER_CONF="tpm_ek_ca = $T/a/cas.pem"
ISS_EXTRA_CONF="[policy_tpm]
profile = server
names   = {ek}.tpm.example.internal"
iss_setup
iss_start

car_ok "carapace request --help documents --tpm" request --help
grep -q -- "--tpm TCTI" "$T/car.out" || fail "request --help: no --tpm"
car_refused "--tpm with --key" 2 "--key and --key-type do not go with it" \
    request -s "$URL" --tpm "$TCTI_A" --key "$T/none.pem" --name "$NAME" \
    --cert-out "$T/x.crt"
car_refused "--tpm with a join token" 2 "give one attestation" request \
    -s "$URL" --tpm "$TCTI_A" --token-file "$T/none" --name "$NAME" \
    --key-out "$T/x.key" --cert-out "$T/x.crt"
car_refused "--tpm with no TPM there" 1 'tpm: TCTI ".*": ' request \
    -s "$URL" --tpm "swtpm:host=127.0.0.1,port=1" --name "$NAME" \
    --key-out "$T/x.key" --cert-out "$T/x.crt"
[ ! -e "$T/x.key" ] && [ ! -e "$T/x.crt" ] || fail "usage errors wrote files"

# --- a certificate for TPM A ----------------------------------------------

# First a name [policy_tpm] does not give: refused, and the EK not spent
# (the next request gets its certificate).
log_state >"$T/state.empty"
car_refused "TPM A asking for a name [policy_tpm] does not give" 1 \
    "notAuthorized.*not granted by policy \\[policy_tpm\\]" request \
    -s "$URL" --tpm "$TCTI_A" --name other.tpm.example.internal \
    --key-out "$T/a0.key" --cert-out "$T/a0.crt"
[ ! -e "$T/a0.key" ] || fail "a refused request wrote its key"
assert_unchanged "a name not granted" "$T/state.empty"

car_ok "carapace request --tpm (TPM A)" request -s "$URL" --tpm "$TCTI_A" \
    --name "$NAME" --key-out "$T/a.key" --cert-out "$T/a.crt" \
    --chain-out "$T/a.chain"
grep -q -- "-----BEGIN TSS2 PRIVATE KEY-----" "$T/a.key" ||
    fail "the key file is not a TSS2 PRIVATE KEY"
[ "$(stat -c %a "$T/a.key")" = 600 ] || fail "a.key: mode is not 600"
openssl verify -CAfile "$CA/root.pem" -untrusted "$T/a.chain" "$T/a.crt" \
    >"$T/verify.out" 2>&1 || { cat "$T/verify.out" >&2; fail "openssl verify"; }
openssl x509 -in "$T/a.crt" -noout -ext subjectAltName | grep -q "DNS:$NAME" ||
    fail "the certificate does not name $NAME"
certs_in_log "$T/a.crt"
ok "openssl verify accepts the certificate for $NAME"

# The certificate's key is the TPM key: s_server signs with it in the TPM.
tpm_tls_handshake "$T/a.key" "$T/a.crt" "$CA/root.pem" "$T/a.chain"
ok "openssl s_server with the TPM-held key: one TLS handshake verified"

SERIAL=$(serial_of "$T/a.crt")
car_ok "carapace show $SERIAL" show -S "$OPS" "$SERIAL"
for sel in "tpm:ek-sha256:$EK" "tpm:ek-issuer:CN=swtpm-localca" \
    "tpm:ak-name:000b"; do
	grep -q -- "$sel" "$T/car.out" ||
	    { cat "$T/car.out" >&2; fail "show: no selector $sel"; }
done
grep -q "^attestation: tpm" "$T/car.out" ||
    { cat "$T/car.out" >&2; fail "show: attestation is not tpm"; }
ok "the certificate carries the EK, EK issuer and AK selectors"

# --- refusals that change nothing -----------------------------------------

log_state >"$T/state.before"
car_refused "TPM B (EK certificate from an untrusted CA)" 1 \
    "does not chain to a manufacturer CA" request -s "$URL" \
    --tpm "$TCTI_B" --name b.tpm.example.internal --key-out "$T/b.key" \
    --cert-out "$T/b.crt"
[ ! -e "$T/b.key" ] && [ ! -e "$T/b.crt" ] || fail "TPM B: files written"
assert_unchanged "TPM B" "$T/state.before"
car_refused "TPM A again (one certificate per EK)" 1 \
    "tokenUsed.*already received a certificate" request -s "$URL" \
    --tpm "$TCTI_A" --name "$NAME" --key-out "$T/a2.key" \
    --cert-out "$T/a2.crt"
assert_unchanged "TPM A again" "$T/state.before"
ok "refusals changed nothing in the log"

# --- revocation by the machine's EK ---------------------------------------

token "$T/tok" web.example.internal
car_ok "a join-token certificate beside it" request -s "$URL" \
    --token-file "$T/tok" --name web.example.internal \
    --key-out "$T/web.key" --cert-out "$T/web.crt"
car_ok "revoke --selector tpm:ek-sha256:$EK" revoke -S "$OPS" \
    --selector "tpm:ek-sha256:$EK" --reason keyCompromise
grep -q "$SERIAL" "$T/car.out" ||
    { cat "$T/car.out" >&2; fail "revoke --selector: $SERIAL not listed"; }
[ "$(sql "SELECT status FROM certificates WHERE hex(serial) = '$SERIAL';")" = revoked ] ||
    fail "A's certificate is not revoked"
[ "$(sql "SELECT count(*) FROM certificates WHERE status = 'revoked';")" = 1 ] ||
    fail "revoke --selector revoked more than A's certificate"
ok "revoke --selector tpm:ek-sha256 revoked exactly TPM A's certificate"

iss_stop
