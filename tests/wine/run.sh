#!/bin/sh
# make test-windows: builds the workspace's tests for x86_64-pc-windows-gnu and
# runs them under Wine with `cargo test`, so its usual `test result:` lines are
# printed. Needs the Rust target (installed here with rustup), MinGW-w64
# (Debian: gcc-mingw-w64-x86-64) and Wine 8 (Debian: wine, wine64); see
# CONTRIBUTING.md. Everything it creates lives under the Cargo target
# directory, wherever CARGO_TARGET_DIR puts it.
set -eu
cd "$(dirname "$0")/../.."
CARGO=${CARGO:-cargo}
TRIPLE=x86_64-pc-windows-gnu

for tool in x86_64-w64-mingw32-gcc wine wineboot; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "test-windows: $tool is missing (Debian: apt-get install gcc-mingw-w64-x86-64 wine wine64)" >&2
        exit 2
    }
done
rustup target add "$TRIPLE" >/dev/null 2>&1 || rustup target list --installed | grep -qx "$TRIPLE"

target_dir=$($CARGO metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
wine_dir="$target_dir/wine"
mkdir -p "$wine_dir"

# Wine 8 has no bcryptprimitives.dll, and Rust's std calls its ProcessPrng:
# build a stub that forwards to RtlGenRandom.
x86_64-w64-mingw32-gcc -shared -O2 -o "$wine_dir/bcryptprimitives.dll" \
    tests/wine/bcryptprimitives.c -ladvapi32

# A fresh Wine prefix, once per run.
export WINEPREFIX="$wine_dir/prefix"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="bcryptprimitives=n;mscoree,mshtml="
rm -rf "$WINEPREFIX"
wineboot --init >/dev/null 2>&1
cp "$wine_dir/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
# The CLI tests run the built sealtar.exe next to the test executables.
$CARGO build --release --locked --target "$TRIPLE" -p sealtar-cli
status=0
$CARGO test --release --locked --target "$TRIPLE" --workspace "$@" || status=$?
wineserver -k >/dev/null 2>&1 || true
exit $status
