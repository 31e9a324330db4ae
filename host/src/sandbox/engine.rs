//! The process-wide half of the sandbox: the wasmtime engine, the embedded
//! guests compiled once (or loaded from the compiled-code cache), and the
//! linker that offers them `wasi:io` and `wasi:cli` and nothing else.
//!
//! Two builds of the same guest are embedded: [`GUEST_GZIP`], which reads tar
//! and gzip, and [`GUEST`], which reads xz, bzip2 and zstd too. The first is
//! about half the compiled code, and a process that extracts one `.crate`
//! (gzip) spends much of its start-up loading and checking compiled code, so
//! the host loads it up front and the full one only when an archive starts
//! with an xz, bzip2 or zstd magic number ([`Sandbox::guest_for`]). Both are
//! the same source (`guest/`, with and without its `all-formats` feature), so
//! tar and gzip are read by the same code either way.

use std::path::Path;
use std::sync::OnceLock;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime::{Config, Engine};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};

use super::{Sandbox, State, bindings};
use crate::error::Error;

/// A guest component, built from `guest/` by `make guest` and checked in so
/// that depending on this crate needs no wasm toolchain.
pub(super) struct Embedded {
    pub(super) wasm: &'static [u8],
    /// Its SHA-256, as `make guest` recorded it (checked by a test), so that
    /// start-up does not hash the guest.
    pub(super) sha256: &'static str,
}

/// Every format: tar, gzip, xz, bzip2, zstd.
pub(super) const GUEST: Embedded = Embedded {
    wasm: include_bytes!("../../assets/sealtar-guest.wasm"),
    sha256: recorded_digest(include_str!("../../assets/sealtar-guest.wasm.sha256")),
};

/// Tar and gzip only (`guest/` without its `all-formats` feature).
pub(super) const GUEST_GZIP: Embedded = Embedded {
    wasm: include_bytes!("../../assets/sealtar-guest-gzip.wasm"),
    sha256: recorded_digest(include_str!("../../assets/sealtar-guest-gzip.wasm.sha256")),
};

/// The digest at the start of a `sha256sum` line.
const fn recorded_digest(line: &'static str) -> &'static str {
    match line.as_bytes().split_at_checked(64) {
        Some((hex, _)) => match std::str::from_utf8(hex) {
            Ok(hex) => hex,
            Err(_) => panic!("a guest's .sha256 file does not start with a hex digest"),
        },
        None => panic!("a guest's .sha256 file is too short"),
    }
}

/// Whether an input starting with `first` needs [`GUEST`]: it starts with an
/// xz, bzip2 or zstd magic number (or a zstd skippable frame), exactly as the
/// guest's own format detection (`guest/src/input.rs`) tells them. Anything
/// else, gzip, tar or not an archive at all, goes to [`GUEST_GZIP`], which
/// reads and refuses it as the full guest would.
pub(super) fn needs_every_format(first: &[u8]) -> bool {
    matches!(
        first,
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..]
            | [b'B', b'Z', b'h', b'1'..=b'9', ..]
            | [0x28, 0xb5, 0x2f, 0xfd, ..]
            | [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..]
    )
}

static SANDBOX: OnceLock<Result<Sandbox, String>> = OnceLock::new();

impl Sandbox {
    /// The process-wide sandbox, compiled (or loaded from `cache_dir`) on
    /// first use. Later calls reuse it whatever their `cache_dir`.
    pub(crate) fn get(cache_dir: Option<&Path>) -> Result<&'static Sandbox, Error> {
        SANDBOX
            .get_or_init(|| Sandbox::build(cache_dir).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| Error::Setup(e.clone()))
    }

    fn build(cache_dir: Option<&Path>) -> wasmtime::Result<Sandbox> {
        // The first archive's parser thread starts while the guest loads.
        super::workers::prestart();
        let engine = Engine::new(&engine_config())?;
        let linker = linker(&engine)?;
        let gzip = load(&engine, &linker, &GUEST_GZIP, cache_dir)?;
        Ok(Sandbox { engine, linker, cache_dir: cache_dir.map(Path::to_path_buf), gzip, full: OnceLock::new() })
    }

    /// The guest to parse an input that starts with `first`, loading the full
    /// one on first need. The bool is whether this call had to wait for it to
    /// load, here or on another thread that got there first (time that is not
    /// the archive's to pay: see `Sandbox::run`).
    pub(super) fn guest_for(&self, first: &[u8]) -> Result<(&bindings::ExtractorPre<State>, bool), Error> {
        if !needs_every_format(first) {
            return Ok((&self.gzip, false));
        }
        let waited = self.full.get().is_none();
        let full = self.full.get_or_init(|| {
            load(&self.engine, &self.linker, &GUEST, self.cache_dir.as_deref()).map_err(|e| format!("{e:#}"))
        });
        full.as_ref().map(|pre| (pre, waited)).map_err(|e| Error::Setup(e.clone()))
    }
}

/// Compiles `guest` (or loads it from `cache_dir`) and links it.
fn load(
    engine: &Engine,
    linker: &Linker<State>,
    guest: &Embedded,
    cache_dir: Option<&Path>,
) -> wasmtime::Result<bindings::ExtractorPre<State>> {
    let component = super::cache::load_or_compile(engine, guest.wasm, guest.sha256, cache_dir)?;
    bindings::ExtractorPre::new(linker.instantiate_pre(&component)?)
}

pub(super) fn engine_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    // Unwind tables only help native unwinders walk through guest frames;
    // wasmtime's own traps and backtraces do not need them, and registering
    // them is a large part of loading compiled code. (Windows requires them.)
    if !cfg!(windows) {
        config.native_unwind_info(false);
    }
    // The cache hands wasmtime the checked artifact in place (`code_memory`),
    // so wasmtime needs a way to make code executable in memory it did not
    // map itself.
    #[cfg(target_os = "linux")]
    config.with_custom_code_memory(Some(std::sync::Arc::new(super::code_memory::Mprotect)));
    #[cfg(feature = "perf-map")]
    config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    config
}

/// Links `wasi:io` and `wasi:cli`, and nothing else: a guest that imports a
/// file system, sockets, clocks or randomness fails to instantiate.
fn linker(engine: &Engine) -> wasmtime::Result<Linker<State>> {
    use wasmtime_wasi::p2::bindings::{cli, sync::io as sync_io};
    let mut l = Linker::new(engine);
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<State, HasTable>(&mut l, |s| &mut s.table)?;
    sync_io::poll::add_to_linker::<State, HasTable>(&mut l, |s| &mut s.table)?;
    sync_io::streams::add_to_linker::<State, HasTable>(&mut l, |s| &mut s.table)?;
    cli::exit::add_to_linker::<State, WasiCli>(&mut l, State::cli)?;
    cli::environment::add_to_linker::<State, WasiCli>(&mut l, State::cli)?;
    cli::stdin::add_to_linker::<State, WasiCli>(&mut l, State::cli)?;
    cli::stdout::add_to_linker::<State, WasiCli>(&mut l, State::cli)?;
    cli::stderr::add_to_linker::<State, WasiCli>(&mut l, State::cli)?;
    cli::terminal_input::add_to_linker::<State, WasiCli>(&mut l, State::cli)?;
    cli::terminal_output::add_to_linker::<State, WasiCli>(&mut l, State::cli)?;
    cli::terminal_stdin::add_to_linker::<State, WasiCli>(&mut l, State::cli)?;
    cli::terminal_stdout::add_to_linker::<State, WasiCli>(&mut l, State::cli)?;
    cli::terminal_stderr::add_to_linker::<State, WasiCli>(&mut l, State::cli)?;
    Ok(l)
}

struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guest may import `wasi:io` and `wasi:cli` and nothing else: a new
    /// `wasi:filesystem` or `wasi:sockets` import must fail this test.
    #[test]
    fn guests_import_only_wasi_io_and_wasi_cli() {
        let engine = Engine::new(&engine_config()).unwrap();
        for guest in [&GUEST, &GUEST_GZIP] {
            let component = wasmtime::component::Component::new(&engine, guest.wasm).unwrap();
            let imports: Vec<String> =
                component.component_type().imports(&engine).map(|(name, _)| name.to_string()).collect();
            assert!(!imports.is_empty());
            for name in &imports {
                assert!(name.starts_with("wasi:io/") || name.starts_with("wasi:cli/"), "forbidden guest import {name}");
            }
            assert!(imports.iter().any(|n| n.starts_with("wasi:cli/stdin")), "{imports:?}");
        }
    }

    #[test]
    fn recorded_guest_digests_match_the_embedded_guests() {
        use sha2::{Digest, Sha256};
        for guest in [&GUEST, &GUEST_GZIP] {
            let digest: String = Sha256::digest(guest.wasm).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(digest, guest.sha256, "run `make guest` to refresh host/assets/*.sha256");
        }
        assert!(GUEST_GZIP.wasm.len() < GUEST.wasm.len() * 2 / 3, "the tar and gzip guest is the smaller one");
    }

    #[test]
    fn only_xz_bzip2_and_zstd_need_the_full_guest() {
        let cases: [(&[u8], bool); 12] = [
            (b"\xfd7zXZ\0rest", true),
            (b"BZh91AY&SY", true),
            (b"\x28\xb5\x2f\xfd\x04", true),
            (b"\x50\x2a\x4d\x18\x04\0\0\0", true),
            (b"\x5f\x2a\x4d\x18", true),
            (b"\x1f\x8b\x08\0", false),
            (b"BZh0", false),
            (b"BZ0", false),
            (b"\xfd7zXZ", false),
            (b"\x60\x2a\x4d\x18", false),
            (b"", false),
            (b"ustar\0", false),
        ];
        for (first, full) in cases {
            assert_eq!(needs_every_format(first), full, "{first:?}");
        }
    }
}
