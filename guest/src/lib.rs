//! sealtar-guest: the sandboxed half of sealtar.
//!
//! A streaming parser for tar, optionally compressed with gzip, xz, bzip2 or
//! zstd ([`input`] recognises and decodes them), compiled to a
//! `wasm32-wasip2` component. It reads the archive from standard input (fed by
//! the host in bounded chunks) and returns members and their data as events
//! the host pulls over the WIT interface in `wit/world.wit`. It has no files,
//! no network, no environment and no arguments: bytes in, manifest out. A bug
//! in the decompressor or the parser stays inside the sandbox, and the host
//! re-checks everything it is told.
//!
//! The parser itself ([`parser::Parser`]) is plain Rust with no WIT types, so
//! it is unit-tested natively; `bindings` only adapts it to the component
//! interface when compiled for wasm.

pub mod header;
pub mod input;
pub mod numeric;
pub mod parser;
pub mod pax;
pub mod rules;

#[cfg(target_family = "wasm")]
mod bindings;
