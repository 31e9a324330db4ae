# Sourced by tests/wine/run.sh and tests/wine/crates.sh (from the repository
# root, with CARGO set): checks the tools, finds the Cargo target directory,
# builds the stub DLL and creates a fresh Wine prefix named $prefix_name under
# $target_dir/wine. Sets TRIPLE, target_dir, wine_dir and exports WINEPREFIX,
# WINEDEBUG, WINEDLLOVERRIDES and the MinGW linker for the Windows target.
TRIPLE=x86_64-pc-windows-gnu

for tool in x86_64-w64-mingw32-gcc wine wineboot; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "wine tests: $tool is missing (Debian: apt-get install gcc-mingw-w64-x86-64 wine wine64)" >&2
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
export WINEPREFIX="$wine_dir/$prefix_name"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="bcryptprimitives=n;mscoree,mshtml="
rm -rf "$WINEPREFIX"
wineboot --init >/dev/null 2>&1
cp "$wine_dir/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
