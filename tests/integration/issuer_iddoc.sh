#!/bin/sh
# SPDX-License-Identifier: ISC
# issuer_iddoc.sh: identity-document attestation end to end. A platform
# (a cloud metadata service, here openssl) signs a PlatformDocument with
# an Ed25519 key whose public half the operator configured; carapace
# request --iddoc sends it and gets a certificate whose names follow the
# [policy_iddoc] template. The document is built with openssl asn1parse
# -genconf and signed with openssl pkeyutl, so nothing of ours makes the
# evidence the issuer checks. Then each way a document can be wrong is
# refused with a clear message, and changes nothing: the same instance
# again with another key (with the same key and names it is the same
# request resent, and gets the certificate already issued), stale, from
# the future, tampered, an unknown key id, another platform key, another
# audience, an account the policy does not accept, names the template does
# not give.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/common.sh"
. "$S/tests/integration/issuer_common.sh"

ACCOUNT=123456789012
AUDIENCE=ca.example.internal
WINDOW=300
SKEW=30

# --- the platform's keys ---------------------------------------------------

openssl genpkey -algorithm ed25519 -out "$T/platform.pem" 2>/dev/null ||
    fail "openssl genpkey -algorithm ed25519"
openssl genpkey -algorithm ed25519 -out "$T/other.pem" 2>/dev/null ||
    fail "openssl genpkey -algorithm ed25519 (the other key)"
# The raw 32-byte public key is the last 32 bytes of its SubjectPublicKeyInfo.
PK=$(openssl pkey -in "$T/platform.pem" -pubout -outform DER |
    tail -c 32 | od -An -v -tx1 | tr -d ' \n')
[ ${#PK} -eq 64 ] || fail "platform public key: '$PK' is not 32 bytes of hex"
ok "platform Ed25519 key made with openssl, public key $PK"

# The checks before the last section run with iddoc_binding = optional
# (the client makes its key as it goes); the last section restarts the
# issuer with the default, required, and checks the binding.
ISS_ISSUER_CONF="iddoc_keys     = iddoc_keys
iddoc_binding  = optional
iddoc_window   = $WINDOW
iddoc_skew     = $SKEW
iddoc_audience = $AUDIENCE"
ISS_EXTRA_CONF="[iddoc_keys]
cloud-1 = $PK

[policy_iddoc]
profile  = server
names    = {instance}.{region}.compute.example.internal
accounts = $ACCOUNT"

iss_setup
iss_start

# doc_make NAME INSTANCE ISSUED_AT [ACCOUNT [AUDIENCE [BINDING]]]: $T/NAME.der,
# a DER PlatformDocument (docs/protocol.md) made by openssl. AUDIENCE "-"
# leaves it out; BINDING (hex) is its keyBinding.
doc_make() {
	gt=$(date -u -d "@$3" +%Y%m%d%H%M%SZ)
	aud="audience = EXP:1,UTF8:${5:-$AUDIENCE}"
	[ "${5:-}" = - ] && aud=
	bind=
	[ -n "${6:-}" ] && bind="binding = EXP:2,FORMAT:HEX,OCTETSTRING:$6"
	cat >"$T/$1.cnf" <<EOF
asn1 = SEQUENCE:doc
[doc]
version  = INTEGER:1
platform = UTF8:example-cloud
instance = UTF8:$2
account  = UTF8:${4:-$ACCOUNT}
region   = UTF8:r1
issued   = GENTIME:$gt
hostname = EXP:0,UTF8:$2.internal
$aud
$bind
EOF
	openssl asn1parse -genconf "$T/$1.cnf" -out "$T/$1.der" >/dev/null ||
	    fail "openssl asn1parse -genconf $T/$1.cnf"
}

# doc_sign NAME [KEY]: $T/NAME.tbs (the signed bytes) and $T/NAME.sig, the
# raw 64-byte Ed25519 signature over "carapace identity-document v1" 0x00
# || document.
doc_sign() {
	{ printf 'carapace identity-document v1\000'; cat "$T/$1.der"; } \
	    >"$T/$1.tbs"
	openssl pkeyutl -sign -rawin -inkey "${2:-$T/platform.pem}" \
	    -in "$T/$1.tbs" -out "$T/$1.sig" ||
	    fail "openssl pkeyutl -sign $1"
	[ "$(wc -c <"$T/$1.sig")" -eq 64 ] || fail "$1.sig is not 64 bytes"
}

hex_of() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}

# bundle NAME KEYID: $T/NAME.iddoc, the DER IdentityDoc { document, keyId,
# signature } holding NAME.der and NAME.sig, made by openssl.
bundle() {
	cat >"$T/$1.bcnf" <<EOF
asn1 = SEQUENCE:iddoc
[iddoc]
document  = FORMAT:HEX,OCTETSTRING:$(hex_of "$T/$1.der")
keyId     = UTF8:$2
signature = FORMAT:HEX,OCTETSTRING:$(hex_of "$T/$1.sig")
EOF
	openssl asn1parse -genconf "$T/$1.bcnf" -out "$T/$1.iddoc" \
	    >/dev/null || fail "openssl asn1parse -genconf $T/$1.bcnf"
}

seen_state() {
	sql "SELECT kind, instance_id, hex(serial) FROM seen_instances ORDER BY kind, instance_id;"
}

# refused DESC RC PATTERN NAME ARGS...: carapace request for document NAME
# is refused with exit RC and a message matching PATTERN, and neither the
# log nor the seen instances change.
refused() {
	desc=$1 want=$2 pattern=$3 name=$4
	shift 4
	log_state >"$T/state.before"
	seen_state >"$T/seen.before"
	car_refused "$desc" "$want" "$pattern" request -s "$URL" \
	    --key-out "$T/$name.key" --cert-out "$T/$name.pem" "$@"
	assert_unchanged "$desc" "$T/state.before"
	seen_state >"$T/seen.now"
	cmp -s "$T/seen.before" "$T/seen.now" ||
	    fail "$desc: seen_instances changed"
	for f in "$T/$name.key" "$T/$name.pem"; do
		[ ! -e "$f" ] || fail "$desc: $f was written"
	done
}

NAME0=i-0abc.r1.compute.example.internal
NOW=$(date +%s)

# --- usage errors: exactly one attestation ---------------------------------

doc_make u "i-usage" "$NOW"
doc_sign u
bundle u cloud-1
token "$T/tok-u" "$NAME0"
for args in \
    "--name $NAME0" \
    "--iddoc $T/u.der --iddoc-sig $T/u.sig --iddoc-key-id cloud-1 --token-file $T/tok-u --name $NAME0" \
    "--iddoc $T/u.der --iddoc-sig $T/u.sig --name $NAME0" \
    "--iddoc $T/u.der --iddoc-key-id cloud-1 --name $NAME0" \
    "--iddoc-sig $T/u.sig --iddoc-key-id cloud-1 --token-file $T/tok-u --name $NAME0" \
    "--iddoc $T/u.der --name $NAME0" \
    "--iddoc $T/u.iddoc --iddoc-sig $T/u.sig --iddoc-key-id cloud-1 --name $NAME0"; do
	# shellcheck disable=SC2086
	car request -s "$URL" $args --key-out "$T/u.key" --cert-out "$T/u.pem"
	[ "$rc" -eq 2 ] || { cat "$T/car.out" >&2; fail "carapace request $args: exit $rc, expected 2 (usage)"; }
	grep -Eiq 'attestation|iddoc|token' "$T/car.err" ||
	    { cat "$T/car.out" >&2; fail "carapace request $args: the usage error does not say what to give"; }
	[ ! -e "$T/u.key" ] || fail "carapace request $args wrote a key"
	ok "usage error: $(head -n 1 "$T/car.err")"
done
car request -s "$URL" --iddoc "$T/u.sig" --iddoc-sig "$T/u.sig" \
    --iddoc-key-id cloud-1 --name "$NAME0" --key-out "$T/u.key" \
    --cert-out "$T/u.pem"
# (a random signature that happens to start with 0x30 reads as bad DER)
[ "$rc" -eq 1 ] && grep -Eqi 'identity document: neither DER|u\.sig: not a valid PlatformDocument' "$T/car.err" ||
    { cat "$T/car.out" >&2; fail "a signature given as the document: exit $rc, expected 1 saying it is no document"; }
ok "a file that is not a document is refused here: $(head -n 1 "$T/car.err")"
car_ok "carapace request --help documents --iddoc" request --help
grep -q -- '--iddoc-key-id' "$T/car.stdout" || fail "request --help does not mention --iddoc-key-id"
# The token was not spent by any of this.
car_ok "token list" token list -S "$OPS"
grep 'id-tok-u' "$T/car.stdout" | grep -q active ||
    fail "the join token is no longer active after the usage errors"

# --- a fresh document: a certificate ---------------------------------------

doc_make d0 i-0abc "$NOW"
doc_sign d0
car_ok "carapace request --iddoc for instance i-0abc" request -s "$URL" \
    --iddoc "$T/d0.der" --iddoc-sig "$T/d0.sig" --iddoc-key-id cloud-1 \
    --name "$NAME0" --key-out "$T/k0.pem" --cert-out "$T/c0.pem" \
    --chain-out "$T/chain0.pem"
openssl verify -CAfile "$CA/root.pem" -untrusted "$T/chain0.pem" \
    "$T/c0.pem" >"$T/verify.out" 2>&1 ||
    { cat "$T/verify.out" >&2; fail "openssl verify refuses c0.pem"; }
ok "openssl verify: c0.pem chains to root.pem"
san=$(openssl x509 -in "$T/c0.pem" -noout -ext subjectAltName | sed -n 2p | sed 's/^ *//')
[ "$san" = "DNS:$NAME0" ] ||
    fail "c0.pem: subjectAltName is '$san', expected 'DNS:$NAME0' ({instance}.{region}.compute.example.internal)"
ok "c0.pem carries exactly the templated name $NAME0"
S0=$(serial_of "$T/c0.pem")
row=$(sql "SELECT attestation, requester, hex(evidence) FROM certificates WHERE hex(serial) = '$S0' OR hex(serial) = '00$S0';")
DIGEST=$(openssl dgst -sha256 -r "$T/d0.tbs" | cut -d' ' -f1 | tr a-f A-F)
[ "$row" = "iid|i-0abc|$DIGEST" ] ||
    fail "log row for $S0 is '$row', expected 'iid|i-0abc|$DIGEST' (attestation, requester, SHA-256 of the signed document)"
ok "the log records attestation iid, requester i-0abc and the document digest"
[ "$(sql "SELECT kind || ' ' || instance_id FROM seen_instances;")" = "iid:example-cloud i-0abc" ] ||
    fail "seen_instances does not hold exactly iid:example-cloud i-0abc"
grep 'request issue/identityDoc' "$T/issuer.err" | grep 'outcome=ok' |
    grep -q 'i-0abc' ||
    fail "the issuer's request line for i-0abc does not say issue/identityDoc ... outcome=ok"
ok "the issuer logged: $(grep 'request issue/identityDoc' "$T/issuer.err" | tail -n 1)"
certs_in_log "$T/c0.pem"

# --- the same instance again -----------------------------------------------

refused "the same document again" 1 'already received a certificate' r1 \
    --iddoc "$T/d0.der" --iddoc-sig "$T/d0.sig" --iddoc-key-id cloud-1 \
    --name "$NAME0"
grep -q 'tokenUsed' "$T/car.err" || fail "a replayed instance is not tokenUsed"
# The same document with the same key and names is the same request sent
# again (its answer was lost): it gets the certificate already issued.
log_state >"$T/state.before"
car_ok "the same document, key and names again" request -s "$URL" \
    --iddoc "$T/d0.der" --iddoc-sig "$T/d0.sig" --iddoc-key-id cloud-1 \
    --name "$NAME0" --key "$T/k0.pem" --cert-out "$T/c0again.pem"
cmp -s "$T/c0.pem" "$T/c0again.pem" ||
    fail "the same request for i-0abc got another certificate"
assert_unchanged "the same request for i-0abc again" "$T/state.before"
ok "the same request for i-0abc again: the certificate already issued, the log unchanged"
doc_make d1 i-0abc "$(date +%s)"
doc_sign d1
refused "a fresh document for the same instance" 1 'tokenUsed.*i-0abc.*already' r2 \
    --iddoc "$T/d1.der" --iddoc-sig "$T/d1.sig" --iddoc-key-id cloud-1 \
    --name "$NAME0"

# --- stale, future, tampered, unknown key, other key -----------------------

doc_make st i-stale $(($(date +%s) - WINDOW - 120))
doc_sign st
refused "a stale document" 1 "badAttestation.*older than $WINDOW s" r3 \
    --iddoc "$T/st.der" --iddoc-sig "$T/st.sig" --iddoc-key-id cloud-1 \
    --name i-stale.r1.compute.example.internal

doc_make fu i-future $(($(date +%s) + SKEW + 120))
doc_sign fu
refused "a document from the future" 1 'badAttestation.*in the future' r4 \
    --iddoc "$T/fu.der" --iddoc-sig "$T/fu.sig" --iddoc-key-id cloud-1 \
    --name i-future.r1.compute.example.internal

# Tampered: the signature of i-tamper over a document that names i-tampex.
doc_make tg i-tamper "$(date +%s)"
doc_sign tg
doc_make tx i-tampex "$(date +%s)"
cmp -s "$T/tg.der" "$T/tx.der" && fail "the tampered document is the same"
refused "a tampered document" 1 'badAttestation.*signature does not verify' r5 \
    --iddoc "$T/tx.der" --iddoc-sig "$T/tg.sig" --iddoc-key-id cloud-1 \
    --name i-tampex.r1.compute.example.internal
# The signature with its first byte changed.
first=$(head -c 1 "$T/tg.sig" | od -An -tx1 | tr -d ' \n')
if [ "$first" = ff ]; then b='\376'; else b='\377'; fi
# shellcheck disable=SC2059 # the format is the octal escape of one byte
{ printf "$b"; tail -c 63 "$T/tg.sig"; } >"$T/tg.badsig"
[ "$(wc -c <"$T/tg.badsig")" -eq 64 ] || fail "tg.badsig is not 64 bytes"
cmp -s "$T/tg.sig" "$T/tg.badsig" && fail "tg.badsig is the signature"
refused "a tampered signature" 1 'badAttestation.*signature does not verify' r6 \
    --iddoc "$T/tg.der" --iddoc-sig "$T/tg.badsig" --iddoc-key-id cloud-1 \
    --name i-tamper.r1.compute.example.internal

refused "an unknown key id" 1 'badAttestation.*cloud-9.*not a configured platform key' r7 \
    --iddoc "$T/tg.der" --iddoc-sig "$T/tg.sig" --iddoc-key-id cloud-9 \
    --name i-tamper.r1.compute.example.internal

doc_make ok2 i-other "$(date +%s)"
doc_sign ok2 "$T/other.pem"
refused "a document signed by another key" 1 'badAttestation.*signature does not verify.*cloud-1' r8 \
    --iddoc "$T/ok2.der" --iddoc-sig "$T/ok2.sig" --iddoc-key-id cloud-1 \
    --name i-other.r1.compute.example.internal

# --- policy: account, names ------------------------------------------------

doc_make ac i-acct "$(date +%s)" 999999999999
doc_sign ac
refused "an account the policy does not accept" 1 '999999999999' r9 \
    --iddoc "$T/ac.der" --iddoc-sig "$T/ac.sig" --iddoc-key-id cloud-1 \
    --name i-acct.r1.compute.example.internal

# The signature, the freshness and the instance are fine, the name is not:
# refused, and the instance is not used up (it gets its certificate next).
doc_make b1 i-0def "$(date +%s)"
doc_sign b1
bundle b1 cloud-1
refused "a name the template does not give" 1 'notAuthorized' r10 \
    --iddoc "$T/b1.iddoc" --name web.example.internal

# --- the one-file form: an IdentityDoc, in base64 --------------------------

openssl base64 -in "$T/b1.iddoc" -out "$T/b1.iddoc.b64"
car_ok "carapace request --iddoc with a base64 IdentityDoc (i-0def)" \
    request -s "$URL" --iddoc "$T/b1.iddoc.b64" \
    --name i-0def.r1.compute.example.internal \
    --key-out "$T/k1.pem" --cert-out "$T/c1.pem" --chain-out "$T/chain1.pem"
openssl verify -CAfile "$CA/root.pem" -untrusted "$T/chain1.pem" \
    "$T/c1.pem" >"$T/verify.out" 2>&1 ||
    { cat "$T/verify.out" >&2; fail "openssl verify refuses c1.pem"; }
ok "openssl verify: c1.pem chains to root.pem"
certs_in_log "$T/c0.pem" "$T/c1.pem"

# The signature as base64 text, with a document for another instance.
doc_make b2 i-0fed "$(date +%s)"
doc_sign b2
openssl base64 -in "$T/b2.sig" -out "$T/b2.sig.b64"
car_ok "carapace request --iddoc-sig in base64 (i-0fed)" \
    request -s "$URL" --iddoc "$T/b2.der" --iddoc-sig "$T/b2.sig.b64" \
    --iddoc-key-id cloud-1 --name i-0fed.r1.compute.example.internal \
    --key-out "$T/k2.pem" --cert-out "$T/c2.pem"

# --- audience --------------------------------------------------------------

# docs/protocol.md: a document meant for another issuer is badAttestation.
audience_case() {
	refused "$1" 1 'badAttestation.*audience' "$2" \
	    --iddoc "$T/$2.der" --iddoc-sig "$T/$2.sig" --iddoc-key-id cloud-1 \
	    --name "$3.r1.compute.example.internal"
}
doc_make au i-aud "$(date +%s)" "$ACCOUNT" other-ca.example.internal
doc_sign au
audience_case "a document for another audience" au i-aud
doc_make na i-noaud "$(date +%s)" "$ACCOUNT" -
doc_sign na
audience_case "a document without an audience" na i-noaud

# --- the document is bound to the request (the default) ---------------------

# With iddoc_binding = required a document must name the certificate key
# (keyBinding, the SHA-256 of its DER SubjectPublicKeyInfo): one copied
# from the machine it was made for is useless with another key.
iss_stop
sed -i '/^iddoc_binding  = optional$/d' "$CA/issuer.cnf"
grep -q '^iddoc_binding' "$CA/issuer.cnf" && fail "iddoc_binding is still set"
iss_start same
spki_hash() {
	openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -r |
	    cut -d' ' -f1
}
for k in kb1 kb2; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$T/$k.pem" 2>/dev/null || fail "openssl genpkey $k"
done
doc_make nb i-nobind "$(date +%s)"
doc_sign nb
refused "an unbound document where binding is required" 1 \
    'badAttestation.*i-nobind: not bound to the request' r9 \
    --iddoc "$T/nb.der" --iddoc-sig "$T/nb.sig" --iddoc-key-id cloud-1 \
    --name i-nobind.r1.compute.example.internal
doc_make bd i-bound "$(date +%s)" "$ACCOUNT" "$AUDIENCE" "$(spki_hash "$T/kb1.pem")"
doc_sign bd
log_state >"$T/state.before"
car_refused "the bound document with another key" 1 \
    'badAttestation.*i-bound: bound to another key' \
    request -s "$URL" --iddoc "$T/bd.der" --iddoc-sig "$T/bd.sig" \
    --iddoc-key-id cloud-1 --name i-bound.r1.compute.example.internal \
    --key "$T/kb2.pem" --cert-out "$T/cb2.pem"
assert_unchanged "the bound document with another key" "$T/state.before"
[ ! -e "$T/cb2.pem" ] || fail "a refused request wrote cb2.pem"
car_ok "the bound document with its own key" request -s "$URL" \
    --iddoc "$T/bd.der" --iddoc-sig "$T/bd.sig" --iddoc-key-id cloud-1 \
    --name i-bound.r1.compute.example.internal --key "$T/kb1.pem" \
    --cert-out "$T/cb1.pem"
[ "$(openssl x509 -in "$T/cb1.pem" -noout -pubkey)" = \
    "$(openssl pkey -in "$T/kb1.pem" -pubout)" ] ||
    fail "cb1.pem does not certify kb1.pem's key"
ok "identity documents are bound to the key they name"
certs_in_log "$T/cb1.pem"

car_ok "carapace log verify" log verify -S "$OPS"
iss_stop
