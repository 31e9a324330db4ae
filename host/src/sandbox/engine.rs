//! The process-wide half of the sandbox: the wasmtime engine, the embedded
//! guest compiled once (or loaded from the compiled-code cache), and the
//! linker that offers it `wasi:io` and `wasi:cli` and nothing else.

use std::path::Path;
use std::sync::OnceLock;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime::{Config, Engine};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};

use super::{Sandbox, State, bindings};
use crate::error::Error;

/// The guest component, built from `guest/` by `make guest` and checked in so
/// that depending on this crate needs no wasm toolchain.
pub(super) const GUEST_WASM: &[u8] = include_bytes!("../../assets/sealtar-guest.wasm");

/// The SHA-256 of [`GUEST_WASM`], as `make guest` recorded it (checked by a
/// test), so that start-up does not hash the guest.
pub(super) const GUEST_SHA256: &str = {
    let line = include_str!("../../assets/sealtar-guest.wasm.sha256").as_bytes();
    match line.split_at_checked(64) {
        Some((hex, _)) => match std::str::from_utf8(hex) {
            Ok(hex) => hex,
            Err(_) => panic!("sealtar-guest.wasm.sha256 does not start with a hex digest"),
        },
        None => panic!("sealtar-guest.wasm.sha256 is too short"),
    }
};

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
        let component = super::cache::load_or_compile(&engine, GUEST_WASM, GUEST_SHA256, cache_dir)?;
        let linker = linker(&engine)?;
        let pre = bindings::ExtractorPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Sandbox { engine, pre })
    }
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

    /// The guest may import `wasi:io` and `wasi:cli` and nothing else: a new
    /// `wasi:filesystem` or `wasi:sockets` import must fail this test.
    #[test]
    fn guest_imports_only_wasi_io_and_wasi_cli() {
        let engine = Engine::new(&engine_config()).unwrap();
        let component = wasmtime::component::Component::new(&engine, GUEST_WASM).unwrap();
        let imports: Vec<String> =
            component.component_type().imports(&engine).map(|(name, _)| name.to_string()).collect();
        assert!(!imports.is_empty());
        for name in &imports {
            assert!(name.starts_with("wasi:io/") || name.starts_with("wasi:cli/"), "forbidden guest import {name}");
        }
        assert!(imports.iter().any(|n| n.starts_with("wasi:cli/stdin")), "{imports:?}");
    }

    #[test]
    fn recorded_guest_digest_matches_the_embedded_guest() {
        use sha2::{Digest, Sha256};
        let digest: String = Sha256::digest(GUEST_WASM).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(digest, GUEST_SHA256, "run `make guest` to refresh host/assets/sealtar-guest.wasm.sha256");
    }
}
