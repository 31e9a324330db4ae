#!/bin/sh
# The demo behind `make demo`: extract a bundled archive, list it, then show a
# malicious one refused with its reason and the destination left untouched.
set -eu
sealtar=${1:-target/release/sealtar}
here=$(dirname "$0")
work=$(mktemp -d "${TMPDIR:-/tmp}/sealtar-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== sealtar list $here/hello.tar.gz"
"$sealtar" list "$here/hello.tar.gz"
echo
echo "== sealtar extract $here/hello.tar.gz -C \$TMP/out"
"$sealtar" extract "$here/hello.tar.gz" -C "$work/out" --verbose
(cd "$work/out" && find . -print | sort | sed 's/^/   /')
echo
echo "== sealtar extract $here/evil.tar.gz -C \$TMP/out   (a symlink, a write through it, and ../ traversal)"
before=$(cd "$work/out" && find . -print | sort)
if "$sealtar" extract "$here/evil.tar.gz" -C "$work/out"; then
    echo "demo: the malicious archive was NOT refused" >&2
    exit 1
else
    status=$?
fi
after=$(cd "$work/out" && find . -print | sort)
[ "$status" -eq 1 ] || { echo "demo: expected exit status 1, got $status" >&2; exit 1; }
[ "$before" = "$after" ] || { echo "demo: the destination changed" >&2; exit 1; }
echo "   exit status $status; the destination is unchanged."
echo
echo "== sealtar list $here/evil.tar.gz   (every entry with its verdict)"
"$sealtar" list "$here/evil.tar.gz" || true
