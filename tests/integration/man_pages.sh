#!/bin/sh
# SPDX-License-Identifier: ISC
# ceremony_man.sh: the ceremony's man pages are clean mdoc. `mandoc -Tlint`
# must report nothing at warning level or above (style notes about manuals
# that are not installed on this machine are ignored). Skipped (77) when
# mandoc is not installed. Needs no SoftHSM, so it does not source common.sh.

set -eu
S=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}

if ! command -v mandoc >/dev/null; then
	echo "SKIP: mandoc is not installed (Debian: mandoc)"
	exit 77
fi

status=0
for page in docs/man/carapace-ceremony.8 docs/man/carapace-ceremony.cnf.5; do
	[ -f "$S/$page" ] || { echo "FAIL: $page is missing" >&2; exit 1; }
	out=$(mandoc -Tlint -Wwarning "$S/$page" 2>&1) || true
	if [ -n "$out" ]; then
		echo "$out" >&2
		echo "FAIL: mandoc -Tlint: $page" >&2
		status=1
	else
		echo "ok: mandoc -Tlint: $page"
	fi
	# It renders, and the rendering names the program.
	mandoc -Tascii "$S/$page" | grep -q carapace-ceremony ||
	    { echo "FAIL: $page does not render" >&2; status=1; }
done
exit $status
