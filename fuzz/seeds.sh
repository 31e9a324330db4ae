#!/bin/sh
# Seeds for the input-layer fuzz targets (input_gzip, input_xz, input_zstd):
# small tars compressed by gzip(1), xz(1) and zstd(1) with a few options, each behind the mode
# byte 0 ("as it is"). Written only into empty corpus directories, so a
# corpus that grew from a run is kept.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/t/pkg"
printf 'hello\n' > "$work/t/pkg/a.txt"
seq 1 3000 > "$work/t/pkg/numbers.txt"
tar --sort=name --owner=0 --group=0 --mtime=@1700000000 -C "$work/t" -cf "$work/small.tar" pkg
seed() { # corpus name, then the compressor and its options
    corpus=corpus/$1; shift
    name=$(echo "$*" | tr -c 'a-zA-Z0-9=\n-' '_')
    { printf '\000'; "$@" -c < "$work/small.tar"; } > "$corpus/seed-$name"
}
if [ -z "$(ls -A corpus/input_xz 2>/dev/null)" ] && command -v xz >/dev/null; then
    mkdir -p corpus/input_xz
    seed input_xz xz -0 --check=none
    seed input_xz xz -1 --check=crc32
    seed input_xz xz -6
    seed input_xz xz -1 --check=sha256
    seed input_xz xz -1 -T2 --block-size=4KiB
    seed input_xz xz --x86 --lzma2=preset=1
    seed input_xz xz --delta=dist=2 --lzma2=preset=1
fi
if [ -z "$(ls -A corpus/input_zstd 2>/dev/null)" ] && command -v zstd >/dev/null; then
    mkdir -p corpus/input_zstd
    seed input_zstd zstd -q -1
    seed input_zstd zstd -q -19 --no-check
    seed input_zstd zstd -q --fast=4
    seed input_zstd zstd -q -3 --no-content-size
    seed input_zstd zstd -q -6 --long=20
fi
if [ -z "$(ls -A corpus/input_gzip 2>/dev/null)" ] && command -v gzip >/dev/null; then
    mkdir -p corpus/input_gzip
    seed input_gzip gzip -1
    seed input_gzip gzip -9 -n
    seed input_gzip gzip -6 -N
fi
