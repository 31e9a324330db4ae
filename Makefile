# sealtar — developer entry points. `make help` lists them.

CARGO      ?= cargo
CARGO_HOME ?= $(HOME)/.cargo
SEALTAR    := target/release/sealtar

GUEST_TARGET := wasm32-wasip2
GUEST_ASSET  := host/assets/sealtar-guest.wasm
# The same parser without xz, bzip2 and zstd, which the host loads for tar and
# gzip input (about half the compiled code to load per process).
GUEST_GZIP_ASSET := host/assets/sealtar-guest-gzip.wasm
# Paths that would otherwise leak into panic messages inside the guest are
# remapped so the component is byte-for-byte the same on every machine.
export CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS := -C target-feature=+simd128 --remap-path-prefix=$(CARGO_HOME)=/cargo --remap-path-prefix=$(CURDIR)=/sealtar

.PHONY: help python test-python bench-python build guest check-guest rules-doc bench-zstd fuzz-decoders fuzz-input check-windows test-windows test-windows-crates check-macos check-freebsd check-package test test-downstream demo bench bench-cargo fmt lint ci samples fuzz fuzz-diff fuzz-policy fetch-realworld test-realworld survey-realworld

help:
	@echo "make demo         build, extract the bundled example, show a malicious archive refused"
	@echo "make test         build and run every test"
	@echo "make ci           exactly what CI runs (.ci/run installs the tools first)"
	@echo "make guest        rebuild the sandboxed parser into $(GUEST_ASSET) and $(GUEST_GZIP_ASSET)"
	@echo "make check-guest  fail if either differs from a fresh build"
	@echo "make bench        compare sealtar with native extraction and GNU tar"
	@echo "make bench-cargo  audit-cargo vs. tar + diff, and check --batch throughput"
	@echo "make bench-zstd   zstd decoding in the sandbox vs. zstd(1) and GNU tar (BENCH_ZSTD_ARGS)"
	@echo "make test-realworld  sealtar vs GNU tar on real upstream archives (make fetch-realworld downloads them)"
	@echo "make survey-realworld  the same on a rule-chosen sample (tests/realworld/SURVEY.tsv): reach per option set"
	@echo "make fmt | lint   rustfmt, clippy, the library's docs (warnings are errors)"
	@echo "make rules-doc    regenerate docs/RULES.md from the rule table in host/src/rule/table.rs"
	@echo "make check-package  the library's dependencies, docs and a verified publish dry run"
	@echo "make fuzz         fuzz the guest parser, its xz and zstd readers and the host policy (nightly + cargo-fuzz)"
	@echo "make fuzz-diff    differential fuzzing against GNU tar and Python (CASES=N SEED=S; LINKS=1: the links mode)"
	@echo "make fuzz-decoders  gzip/bzip2/xz/zstd mutated, held to the tools and GNU tar (FORMAT=F CASES=N SEED=S)"
	@echo "make fuzz-policy  fuzz the host policy with records from a compromised guest (FUZZ_SECONDS=N)"
	@echo "make check-windows  type-check for Windows (MinGW needed)"
	@echo "make test-windows   build the tests for Windows and run them under Wine (CONTRIBUTING.md)"
	@echo "make test-windows-crates  the Windows CLI under Wine vs GNU tar on the local Cargo cache's .crate files"
	@echo "make check-macos | check-freebsd   type-check the library and CLI for macOS / FreeBSD"
	@echo "make python       build the Python wheel (python/, maturin) into $(WHEELS)/"
	@echo "make test-python  install that wheel in a fresh venv and run its pytest suite"
	@echo "make bench-python sealtar.extract vs tarfile.extractall(filter=\"data\") (BENCHMARKS.md)"

# The Python package (python/). Its tools are pinned and installed from PyPI
# into venvs under the target directory when missing: maturin and zig (the
# ziglang package) to build the wheel, pytest to test it. CARGO_TARGET_DIR is
# honoured, as cargo does.
PYTHON          ?= python3
MATURIN_VERSION := 1.16.0
ZIGLANG_VERSION := 0.15.2
PYTEST_VERSION  := 9.2.0
TARGET_DIR      := $(abspath $(or $(CARGO_TARGET_DIR),target))
WHEELS          := $(TARGET_DIR)/wheels
PY_TOOLS        := $(TARGET_DIR)/python-tools
PY_TOOLS_STAMP  := $(PY_TOOLS)/installed-maturin-$(MATURIN_VERSION)-ziglang-$(ZIGLANG_VERSION)
PY_TEST         := $(TARGET_DIR)/python-test
PY_BENCH        := $(TARGET_DIR)/python-bench

$(PY_TOOLS_STAMP):
	rm -rf $(PY_TOOLS)
	$(PYTHON) -m venv $(PY_TOOLS)
	$(PY_TOOLS)/bin/pip install --disable-pip-version-check -q "maturin==$(MATURIN_VERSION)" "ziglang==$(ZIGLANG_VERSION)"
	touch $@

# The wheel: abi3 (CPython 3.9+), linked by zig against glibc 2.17 so that it
# is a manylinux2014 (manylinux_2_17) wheel, which maturin checks; the module
# is stripped (pyproject.toml). Size and tag: BENCHMARKS.md, "Python".
python: $(PY_TOOLS_STAMP)
	rm -f $(WHEELS)/sealtar-*.whl
	cd python && PATH="$(PY_TOOLS)/bin:$$PATH" $(PY_TOOLS)/bin/maturin build --zig --compatibility manylinux2014 \
		--out $(WHEELS) $(MATURIN_ARGS)
	@ls -l $(WHEELS)/sealtar-*.whl

# A fresh venv with the wheel and pytest, then the suite (python/tests). The
# differential tests compare with the CLI (make build) and use the real-world
# archives (make fetch-realworld) when they are there; CI requires them
# (SEALTAR_REQUIRE_SAMPLES=1, SEALTAR_REQUIRE_REALWORLD=1).
test-python: python
	rm -rf $(PY_TEST)
	$(PYTHON) -m venv $(PY_TEST)
	$(PY_TEST)/bin/pip install --disable-pip-version-check -q --no-index --find-links $(WHEELS) sealtar
	$(PY_TEST)/bin/pip install --disable-pip-version-check -q "pytest==$(PYTEST_VERSION)"
	cd python/tests && SEALTAR_CLI=$(TARGET_DIR)/release/sealtar \
		$(PY_TEST)/bin/python -m pytest -p no:cacheprovider -q $(PYTEST_ARGS)

# sealtar.extract against tarfile.extractall(filter="data"), interleaved
# rounds, medians (BENCHMARKS.md, "Python"). BENCH_PYTHON_ARGS passes options.
bench-python: python
	rm -rf $(PY_BENCH)
	$(PYTHON) -m venv $(PY_BENCH)
	$(PY_BENCH)/bin/pip install --disable-pip-version-check -q --no-index --find-links $(WHEELS) sealtar
	$(PY_BENCH)/bin/python bench/python.py $(BENCH_PYTHON_ARGS)

# --workspace: the binaries are built with the same feature resolution as
# `cargo test --workspace`, so `make test` does not build wasmtime a second time.
build:
	$(CARGO) build --release --locked --workspace --bins

# The guest is built with the pinned toolchain (rust-toolchain.toml).
guest:
	$(CARGO) build --locked -p sealtar-guest --target $(GUEST_TARGET) --profile guest --no-default-features
	cp target/$(GUEST_TARGET)/guest/sealtar_guest.wasm $(GUEST_GZIP_ASSET)
	$(CARGO) build --locked -p sealtar-guest --target $(GUEST_TARGET) --profile guest
	cp target/$(GUEST_TARGET)/guest/sealtar_guest.wasm $(GUEST_ASSET)
	cd host/assets && sha256sum sealtar-guest.wasm > sealtar-guest.wasm.sha256
	cd host/assets && sha256sum sealtar-guest-gzip.wasm > sealtar-guest-gzip.wasm.sha256
	cp wit/world.wit host/wit/world.wit

check-guest:
	CARGO_TARGET_DIR=target/check-guest $(CARGO) build --locked -p sealtar-guest --target $(GUEST_TARGET) --profile guest --no-default-features
	@if cmp -s target/check-guest/$(GUEST_TARGET)/guest/sealtar_guest.wasm $(GUEST_GZIP_ASSET); then \
		echo "check-guest: $(GUEST_GZIP_ASSET) matches a fresh build"; \
	else \
		echo "check-guest: $(GUEST_GZIP_ASSET) differs from a fresh build of guest/; run 'make guest' and commit" >&2; \
		exit 1; \
	fi
	CARGO_TARGET_DIR=target/check-guest $(CARGO) build --locked -p sealtar-guest --target $(GUEST_TARGET) --profile guest
	@if cmp -s target/check-guest/$(GUEST_TARGET)/guest/sealtar_guest.wasm $(GUEST_ASSET); then \
		echo "check-guest: $(GUEST_ASSET) matches a fresh build"; \
	else \
		echo "check-guest: $(GUEST_ASSET) differs from a fresh build of guest/; run 'make guest' and commit" >&2; \
		exit 1; \
	fi
	@cd host/assets && sha256sum -c sealtar-guest.wasm.sha256 sealtar-guest-gzip.wasm.sha256
	@cmp -s wit/world.wit host/wit/world.wit || { echo "check-guest: host/wit/world.wit differs from wit/world.wit; run 'make guest' and commit" >&2; exit 1; }

# Real npm and PyPI source tarballs for the differential test (best effort:
# the test says so when they are missing, and fails under SEALTAR_REQUIRE_SAMPLES=1).
samples:
	@sh tests/fetch-samples.sh target/samples

# Real upstream archives in all four compressions (tests/realworld/MANIFEST.tsv,
# pinned by sha256), downloaded once into target/realworld/.
fetch-realworld:
	python3 tests/realworld/realworld.py fetch

# sealtar against GNU tar on each of them, once per option set the binary has.
test-realworld: build fetch-realworld
	python3 tests/realworld/realworld.py test

# The reach survey (not run by CI): 278 archives chosen by a rule that looks
# at no archive's contents (tests/realworld/survey_select.py), downloaded once
# into target/survey/, compared the same way; prints the reach per option set
# and every refusal with its rule. Fails only on a difference or a crash.
survey-realworld: build
	nice -n 5 python3 tests/realworld/realworld.py survey

test: build samples
	$(CARGO) test --release --locked --workspace
	$(MAKE) test-downstream

# The library used from outside the workspace, as a dependent crate uses it;
# the shared target directory means wasmtime is not built again. Its lock file
# is the workspace's (copied, then trimmed by cargo), so the versions are the
# pinned ones and nothing is resolved anew.
test-downstream:
	cp Cargo.lock tests/downstream/Cargo.lock
	CARGO_TARGET_DIR=$(CURDIR)/target $(CARGO) test --release --manifest-path tests/downstream/Cargo.toml

demo: build
	@sh examples/demo.sh $(SEALTAR)

# BENCH_ARGS passes options to bench/run.py, e.g. BENCH_ARGS="--rounds 9 --json target/bench.json".
bench: build
	$(CARGO) build --release --locked -p sealtar-bench
	@python3 bench/run.py $(BENCH_ARGS)

# zstd decoding in the sandbox against zstd(1) and GNU tar on ~300 MB of crate
# sources (zstd -12); BENCH_ZSTD_ARGS e.g. "--rounds 9 --baseline /path/to/old/sealtar".
bench-zstd: build
	@python3 bench/zstd.py $(BENCH_ZSTD_ARGS)

# BENCH_CARGO_ARGS passes options to bench/cargo_tools.py, e.g. "--copies 4 --rounds 5".
bench-cargo: build
	@python3 bench/cargo_tools.py $(BENCH_CARGO_ARGS)

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --workspace --all-targets -- -D warnings
	$(CARGO) clippy --release --locked -p sealtar-guest --lib --no-default-features --target $(GUEST_TARGET) -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --release --locked --no-deps -p sealtar --all-features

# The library as a registry would get it: no CLI crates among its
# dependencies (anyhow and serde_json do appear below wasmtime, which uses
# them itself; clap and indicatif must not appear at all), license texts
# equal to the repository's, and `cargo publish --dry-run`, which packages
# and builds the package from its own files (it covers `cargo package`).
check-package:
	@for f in LICENSE-MIT LICENSE-APACHE; do \
		cmp -s $$f host/$$f || { echo "check-package: host/$$f differs from $$f; copy it" >&2; exit 1; }; \
	done
	@direct=$$($(CARGO) tree --locked -p sealtar -e normal --depth 1 --prefix none --format '{p}' | awk 'NR > 1 { print $$1 }'); \
	all=$$($(CARGO) tree --locked -p sealtar -e normal --prefix none --format '{p}' | awk '{ print $$1 }'); \
	[ -n "$$direct" ] || { echo "check-package: cargo tree listed nothing" >&2; exit 1; }; \
	for c in clap indicatif anyhow serde_json; do \
		if echo "$$direct" | grep -qx "$$c"; then echo "check-package: sealtar depends on $$c directly" >&2; exit 1; fi; \
	done; \
	for c in clap indicatif; do \
		if echo "$$all" | grep -qx "$$c"; then echo "check-package: $$c is in sealtar's dependency tree" >&2; exit 1; fi; \
	done; \
	echo "check-package: sealtar's direct dependencies: $$(echo $$direct)"
	$(CARGO) publish --dry-run --locked -p sealtar

# Exactly what CI runs, in order: `.ci/run` installs the tools (the pinned
# toolchain, MinGW-w64 and Wine, zstd) and then runs `make ci`. The
# real-world differential skips (with a warning) only when the archives
# cannot be downloaded (fetch exit status 3); the Windows steps only when no
# MinGW compiler (or no Wine) is installed.
ci:
	$(MAKE) lint
	$(MAKE) check-guest
	$(MAKE) test
	@status=0; $(MAKE) fetch-realworld || status=$$?; \
	if [ $$status -eq 3 ]; then \
		echo "ci: WARNING: real-world archives could not be downloaded; make test-realworld skipped" >&2; \
		$(MAKE) python test-python || exit $$?; \
	elif [ $$status -ne 0 ]; then \
		exit $$status; \
	else \
		$(MAKE) test-realworld || exit $$?; \
		$(MAKE) python || exit $$?; \
		SEALTAR_REQUIRE_REALWORLD=1 $(MAKE) test-python || exit $$?; \
	fi
	$(MAKE) demo
	$(MAKE) check-package
	$(MAKE) check-macos
	$(MAKE) check-freebsd
	@if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then \
		$(MAKE) check-windows || exit $$?; \
		if command -v wine >/dev/null 2>&1 && command -v wineboot >/dev/null 2>&1; then \
			$(MAKE) test-windows || exit $$?; \
		else \
			echo "ci: no Wine; skipping the Windows tests" >&2; \
		fi; \
	else \
		echo "ci: no MinGW compiler; skipping the Windows type-check and tests" >&2; \
	fi

# Fuzz the guest parser and its input layer natively (needs a nightly toolchain and cargo-fuzz).
fuzz:
	cd fuzz && cargo +nightly fuzz run parser -- -max_total_time=$${FUZZ_SECONDS:-120}
	cd fuzz && cargo +nightly fuzz run parser_gzip -- -max_total_time=$${FUZZ_SECONDS:-120}
	$(MAKE) fuzz-input
	$(MAKE) fuzz-policy

# The guest's gzip, xz container and zstd readers on arbitrary bytes, seeded
# with small archives from gzip(1), xz(1) and zstd(1) (fuzz/seeds.sh).
fuzz-input:
	sh fuzz/seeds.sh
	cd fuzz && cargo +nightly fuzz run input_gzip -- -max_total_time=$${FUZZ_SECONDS:-120}
	cd fuzz && cargo +nightly fuzz run input_xz -- -max_total_time=$${FUZZ_SECONDS:-120}
	cd fuzz && cargo +nightly fuzz run input_zstd -- -max_total_time=$${FUZZ_SECONDS:-120}

# The host policy on arbitrary records, as a compromised guest could send them
# (docs/FUZZING.md). No sanitizer: the library has no unsafe code, and the
# target checks the policy's invariants itself; debug assertions are on.
fuzz-policy:
	cd fuzz && cargo +nightly fuzz run --sanitizer none -a policy -- -max_total_time=$${FUZZ_SECONDS:-120}

# Differential fuzzing: CASES generated archives of seed SEED through sealtar,
# GNU tar and Python's tarfile (docs/FUZZING.md). Failing archives are saved
# under target/fuzz-diff/; FIRST=K starts at case K (one case: CASES=1 FIRST=K).
CASES ?= 10000
SEED  ?= 1
FIRST ?= 0
fuzz-diff: build
	$(CARGO) build --release --locked -p sealtar-tests --bin fuzz-diff
	target/release/fuzz-diff $(if $(LINKS),--links) --seed $(SEED) --cases $(CASES) --first $(FIRST) --save target/fuzz-diff

# The decoder differential (docs/FUZZING.md): real FORMAT tarballs (gzip, bzip2,
# xz, zstd or all) mutated with their checksums recomputed, sealtar held to the
# format's own tool and GNU tar. Failing archives go to target/fuzz-decoders/.
FORMAT ?= all
fuzz-decoders: build
	$(CARGO) build --release --locked -p sealtar-tests --bin fuzz-decoders
	target/release/fuzz-decoders --format $(FORMAT) --seed $(SEED) --cases $(CASES) --first $(FIRST) --save target/fuzz-decoders

# Type-check and lint everything for Windows, warnings as errors (needs the x86_64-pc-windows-gnu target
# and a MinGW C compiler for wasmtime's build script).
check-windows:
	rustup target add x86_64-pc-windows-gnu
	$(CARGO) clippy --release --locked --target x86_64-pc-windows-gnu -p sealtar -p sealtar-cli -p sealtar-guest -p sealtar-tests -p sealtar-py --all-targets -- -D warnings

# docs/RULES.md from the rule table in host/src/rule/table.rs (tests/tests/it/rules.rs checks it).
rules-doc:
	SEALTAR_BLESS=1 $(CARGO) test --release --locked -p sealtar-tests --test it rules::

# Build the workspace's tests for Windows (MinGW-w64) and run them under Wine
# with `cargo test`; sets up its own Wine prefix and stub DLL under the target
# directory. See CONTRIBUTING.md.
test-windows:
	CARGO="$(CARGO)" sh tests/wine/run.sh $(ARGS)

# The Windows CLI under Wine against GNU tar on every .crate in the local
# Cargo cache: same paths, kinds and bytes.
test-windows-crates:
	CARGO="$(CARGO)" CARGO_HOME="$(CARGO_HOME)" sh tests/wine/crates.sh

# Type-check the library and the CLI (and, for macOS, the Python module) for macOS and FreeBSD, so code behind
# cfg(target_os = ...) at least compiles. Build scripts that compile C for the
# target get the host compiler (tests/cross-cc): nothing is linked.
CROSS_CHECK = rustup target add $(1) && \
	CC_$(subst -,_,$(1))=$(CURDIR)/tests/cross-cc AR_$(subst -,_,$(1))=ar \
	$(CARGO) clippy --release --locked --target $(1) -p sealtar -p sealtar-cli $(2) --all-targets -- -D warnings

check-macos:
	$(call CROSS_CHECK,x86_64-apple-darwin,-p sealtar-py)

check-freebsd:
	$(call CROSS_CHECK,x86_64-unknown-freebsd)
