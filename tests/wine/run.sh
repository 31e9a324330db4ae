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
prefix_name=prefix
. tests/wine/prefix.sh
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
# The reference tools the differential tests run (gzip, bzip2, xz, zstd, GNU
# tar) are Linux programs, which a Windows test under Wine cannot start: those
# tests skip here, and CI's requirement that they run is the Linux run's.
unset SEALTAR_REQUIRE_SAMPLES
# The CLI tests run the built sealtar.exe next to the test executables.
$CARGO build --release --locked --target "$TRIPLE" -p sealtar-cli
status=0
$CARGO test --release --locked --target "$TRIPLE" --workspace "$@" || status=$?
wineserver -k >/dev/null 2>&1 || true
exit $status
