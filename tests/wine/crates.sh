#!/bin/sh
# make test-windows-crates: the Windows CLI (x86_64-pc-windows-gnu, run under
# Wine) against GNU tar on Linux, on every .crate in the local Cargo cache
# ($CARGO_HOME/registry/cache/*/*.crate). Each crate is extracted by both; the
# two trees must hold the same paths, the same kinds (file or directory) and
# the same bytes. A crate the Windows CLI refuses is a difference too.
# Needs what tests/wine/run.sh needs; builds the Windows CLI itself.
set -eu
cd "$(dirname "$0")/../.."
CARGO=${CARGO:-cargo}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
prefix_name=crates-prefix
. tests/wine/prefix.sh

$CARGO build --release --locked --target "$TRIPLE" -p sealtar-cli
exe="$target_dir/$TRIPLE/release/sealtar.exe"

work="$wine_dir/crates"
rm -rf "$work"
mkdir -p "$work/gnu" "$work/win"
# One Wine server for all the runs; stopped on exit.
wineserver -p >/dev/null 2>&1 </dev/null
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT

# Wine maps the Unix root to drive Z:.
winpath() {
    printf 'Z:%s' "$(printf '%s' "$1" | tr / '\\')"
}

total=0
failed=0
for crate in "$cargo_home"/registry/cache/*/*.crate; do
    [ -f "$crate" ] || continue
    total=$((total + 1))
    name=$(basename "$crate" .crate)
    gnu="$work/gnu/$name"
    win="$work/win/$name"
    mkdir -p "$gnu"
    tar -xf "$crate" -C "$gnu" --no-same-owner
    if ! wine "$exe" extract "$(winpath "$crate")" -C "$(winpath "$win")" \
        >"$work/out" 2>&1 </dev/null; then
        echo "DIFFERS $name: the Windows CLI did not extract it: $(tr -d '\r' <"$work/out")"
        failed=$((failed + 1))
        continue
    fi
    if ! python3 tests/wine/same_tree.py "$gnu" "$win"; then
        echo "DIFFERS $name"
        failed=$((failed + 1))
    fi
    rm -rf "$gnu" "$win"
done
echo "test-windows-crates: $total crates, $((total - failed)) identical to GNU tar, $failed different"
[ "$total" -gt 0 ] || { echo "test-windows-crates: no .crate under $cargo_home/registry/cache" >&2; exit 2; }
[ "$failed" -eq 0 ]
