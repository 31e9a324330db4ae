#!/bin/sh
# Downloads a few real npm and PyPI source tarballs, with the ordinary npm and
# pip clients, for the differential test (tests/tests/it/differential.rs).
# Best effort: whatever cannot be fetched is reported and skipped; the test
# names what it did not find.
set -u
dest=${1:-target/samples}
mkdir -p "$dest"
cd "$dest" || exit 1

# Runs a command up to three times (registries have bad moments).
retry() {
    for attempt in 1 2 3; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$attempt" = 3 ] || sleep "$attempt"
    done
    return 1
}

npm_packages="lodash@4.17.21 semver@7.6.3 express@4.21.2 chalk@5.3.0"
pypi_packages="six==1.16.0 attrs==24.2.0 requests==2.32.3 idna==3.10"

if command -v npm >/dev/null 2>&1; then
    for p in $npm_packages; do
        name=$(echo "$p" | tr '@' '-')
        [ -f "npm-$name.tgz" ] && continue
        tmp=$(mktemp -d)
        if retry sh -c "cd '$tmp' && npm pack '$p' --silent >/dev/null 2>&1"; then
            mv "$tmp"/*.tgz "npm-$name.tgz"
        else
            echo "fetch-samples: npm pack $p failed" >&2
        fi
        rm -rf "$tmp"
    done
else
    echo "fetch-samples: npm not found; skipping npm tarballs" >&2
fi

if command -v pip >/dev/null 2>&1 || command -v pip3 >/dev/null 2>&1; then
    pip=$(command -v pip || command -v pip3)
    for p in $pypi_packages; do
        name=$(echo "$p" | sed 's/==/-/')
        [ -f "pypi-$name.tar.gz" ] && continue
        tmp=$(mktemp -d)
        if retry "$pip" download --quiet --no-deps --no-binary :all: --dest "$tmp" "$p"; then
            mv "$tmp"/*.tar.gz "pypi-$name.tar.gz"
        else
            echo "fetch-samples: pip download $p failed" >&2
        fi
        rm -rf "$tmp"
    done
else
    echo "fetch-samples: pip not found; skipping PyPI sdists" >&2
fi
ls -1 | sed 's/^/fetch-samples: have /'
