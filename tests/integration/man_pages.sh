#!/bin/sh
# SPDX-License-Identifier: ISC
# man_pages.sh: every man page under docs/man is clean mdoc. `mandoc -Tlint`
# must report nothing at warning level or above, and each page must render
# and name its own topic. Every page listed in dist_man_MANS must exist and
# every page in docs/man must be listed (so none is left uninstalled).
# Skipped (77) when mandoc is not installed. Needs no SoftHSM.

set -eu
S=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}

if ! command -v mandoc >/dev/null; then
	echo "SKIP: mandoc is not installed (Debian: mandoc)"
	exit 77
fi

status=0
n=0
for path in "$S"/docs/man/*.[1-8]; do
	[ -f "$path" ] || continue
	page=${path#"$S"/}
	n=$((n + 1))
	out=$(mandoc -Tlint -Wwarning "$path" 2>&1) || true
	if [ -n "$out" ]; then
		echo "$out" >&2
		echo "FAIL: mandoc -Tlint: $page" >&2
		status=1
	else
		echo "ok: mandoc -Tlint: $page"
	fi
	topic=$(basename "$path")
	topic=${topic%.*}
	# -Tascii draws bold as "c<BS>c"; strip the overstrike before grep.
	mandoc -Tascii "$path" | sed "s/.$(printf '\b')//g" |
	    grep -q -- "$topic" ||
	    { echo "FAIL: $page does not render its name $topic" >&2; status=1; }
	grep -q "%reldir%/man/$(basename "$path")" "$S/docs/Makefile.inc" ||
	    { echo "FAIL: $page is not in dist_man_MANS" >&2; status=1; }
done
[ "$n" -ge 2 ] || { echo "FAIL: no man pages found under $S/docs/man" >&2; exit 1; }
exit $status
