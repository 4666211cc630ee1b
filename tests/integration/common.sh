# SPDX-License-Identifier: ISC
# common.sh: sourced by every integration test. It makes a private work
# directory and a private SoftHSM configuration for this run, and exits 77
# (automake's "skip") when SoftHSM is not installed.
#
# After sourcing:
#   $T            the run's private directory (removed on exit unless KEEP=1)
#   $SOFTHSM2_CONF  exported, pointing at $T/softhsm2.conf
#   $SOFTHSM2_MODULE  the module path
#   $B            the build directory (programs live under it)
#   $S            the source directory
# Helpers:
#   fail MSG          print "FAIL: MSG" and exit 1
#   ok MSG            print "ok: MSG"
#   token_init LABEL  create a token; its user PIN is in $T/LABEL.pin (0600)
#   expect_fail DESC CMD...  run CMD, fail the test if it succeeds
#   ATEXIT_HOOKS      function names cleanup calls before it removes $T
# PINs are generated per run, written to 0600 files and never printed.

set -eu

S=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${top_builddir:-$S}

if [ -z "${SOFTHSM2_MODULE:-}" ] || [ ! -f "$SOFTHSM2_MODULE" ]; then
	for m in /usr/lib/softhsm/libsofthsm2.so \
	    /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
		[ -f "$m" ] && SOFTHSM2_MODULE=$m && break
	done
fi
SOFTHSM2_UTIL=${SOFTHSM2_UTIL:-$(command -v softhsm2-util || true)}
if [ -z "${SOFTHSM2_MODULE:-}" ] || [ ! -f "$SOFTHSM2_MODULE" ] ||
    [ -z "$SOFTHSM2_UTIL" ]; then
	echo "SKIP: SoftHSMv2 is not installed (scripts/install-deps)"
	exit 77
fi
export SOFTHSM2_MODULE

T=$(mktemp -d "${TMPDIR:-/tmp}/carapace-test.XXXXXX")
# ATEXIT_HOOKS: names of functions cleanup runs first (servers to stop).
ATEXIT_HOOKS=
cleanup() {
	rc=${1:-$?}
	for h in $ATEXIT_HOOKS; do
		"$h" || :
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap cleanup EXIT INT TERM

mkdir -p "$T/tokens"
cat >"$T/softhsm2.conf" <<CONF
directories.tokendir = $T/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
SOFTHSM2_CONF=$T/softhsm2.conf
export SOFTHSM2_CONF

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok: $*"
}

# newpin FILE: write a fresh random PIN to FILE with mode 0600.
newpin() {
	(umask 077 && od -An -N8 -tx1 /dev/urandom | tr -d ' \n' >"$1")
}

# token_init LABEL: a new token with random SO and user PINs in 0600 files.
# softhsm2-util only takes PINs in argv; the PINs are throwaway test values
# that exist for this run only.
token_init() {
	newpin "$T/$1.pin"
	newpin "$T/$1.sopin"
	"$SOFTHSM2_UTIL" --init-token --free --label "$1" \
	    --so-pin "$(cat "$T/$1.sopin")" --pin "$(cat "$T/$1.pin")" \
	    >/dev/null || fail "softhsm2-util could not create token $1"
}

expect_fail() {
	desc=$1
	shift
	if "$@" >"$T/expect_fail.out" 2>&1; then
		cat "$T/expect_fail.out" >&2
		fail "$desc: succeeded but should have failed"
	fi
}
