//! The on-disk cache of compiled guest code.
//!
//! Compiling the guest takes about a second; loading compiled code takes
//! milliseconds. Compiled code is native code that wasmtime runs without
//! re-checking it (`Component::deserialize` trusts its input), so the cache is
//! guarded:
//! - the file name is a SHA-256 over sealtar's version, wasmtime's
//!   compatibility hash (its version, target and every code-generation
//!   setting) and the guest's own bytes, so a stale or foreign entry is never
//!   picked up;
//! - the directory must belong to the current user and be writable by no one
//!   else (on Unix), or the cache is not used at all;
//! - each artifact has a BLAKE3 digest beside it (`<key>.blake3`), checked
//!   before wasmtime sees a byte, so a torn, corrupted or mismatched file is
//!   recompiled rather than run (BLAKE3 rather than SHA-256 because this runs
//!   at every start);
//! - files are written to a temporary name and renamed into place, the
//!   artifact before its digest.
//!
//! At most four artifacts are kept per directory (the newest), so upgrades
//! do not pile up. Any failure here falls back to compiling in memory: the
//! cache only ever costs time, never correctness.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where the CLI caches compiled guest code: `$SEALTAR_CACHE_DIR` if set,
/// else `sealtar` under the platform cache directory (`$XDG_CACHE_HOME` or
/// `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on
/// Windows).
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SEALTAR_CACHE_DIR") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let env_dir = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = if cfg!(windows) {
        env_dir("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env_dir("HOME").map(|h| h.join("Library").join("Caches"))
    } else {
        env_dir("XDG_CACHE_HOME").or_else(|| env_dir("HOME").map(|h| h.join(".cache")))
    };
    base.map(|b| b.join("sealtar"))
}

/// Loads the compiled guest from `dir`, or compiles it (and stores it there).
/// `wasm_sha256` is the hex SHA-256 of `wasm`.
pub fn load_or_compile(
    engine: &Engine,
    wasm: &[u8],
    wasm_sha256: &str,
    dir: Option<&Path>,
) -> wasmtime::Result<Component> {
    let Some(dir) = dir.filter(|d| prepare_dir(d)) else {
        return Component::new(engine, wasm);
    };
    let path = dir.join(format!("{}.cwasm", cache_key(engine, wasm_sha256)));
    if let Some(component) = load(engine, &path) {
        return Ok(component);
    }
    let component = Component::new(engine, wasm)?;
    if let Ok(code) = component.serialize() {
        // Best effort: a failed store only means compiling again next time.
        let _ = store(&path, &code);
        prune(dir, &path);
    }
    Ok(component)
}

/// Entries kept per cache directory: enough for a few sealtar versions in
/// use side by side, bounded so that upgrades do not pile up artifacts.
const KEEP_ENTRIES: usize = 4;

/// Removes all but the newest [`KEEP_ENTRIES`] artifacts (never `current`),
/// with their digests. Best effort.
fn prune(dir: &Path, current: &Path) {
    let Ok(listing) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = listing
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm") && p != current)
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    entries.sort();
    let excess = (entries.len() + 1).saturating_sub(KEEP_ENTRIES);
    for (_, old) in entries.into_iter().take(excess) {
        let _ = std::fs::remove_file(digest_path(&old));
        let _ = std::fs::remove_file(&old);
    }
}

fn cache_key(engine: &Engine, wasm_sha256: &str) -> String {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut h = ShaHasher(Sha256::new());
    h.write(b"sealtar ");
    h.write(env!("CARGO_PKG_VERSION").as_bytes());
    engine.precompile_compatibility_hash().hash(&mut h);
    h.write(wasm_sha256.as_bytes());
    hex(&h.0.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates the directory if needed; true if it is safe to use.
fn prepare_dir(dir: &Path) -> bool {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    if builder.create(dir).is_err() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match std::fs::symlink_metadata(dir) {
            Ok(m) => m.is_dir() && owned_by_me_and_private(m.uid(), m.mode()),
            Err(_) => false,
        }
    }
    #[cfg(not(unix))]
    {
        dir.is_dir()
    }
}

#[cfg(unix)]
fn owned_by_me_and_private(uid: u32, mode: u32) -> bool {
    uid == rustix::process::geteuid().as_raw() && mode & 0o022 == 0
}

/// The digest sidecar of a cached artifact.
fn digest_path(path: &Path) -> PathBuf {
    path.with_extension("blake3")
}

fn load(engine: &Engine, path: &Path) -> Option<Component> {
    let file = std::fs::File::open(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata().ok()?;
        if !m.is_file() || !owned_by_me_and_private(m.uid(), m.mode()) {
            return None;
        }
    }
    let expected = std::fs::read(digest_path(path)).ok()?;
    // SAFETY: the mapping is read-only and only hashed here. The file lives
    // in a directory only this user can write (checked above), and is never
    // modified in place: new versions are renamed over it, which leaves this
    // mapping intact.
    #[allow(unsafe_code)]
    let mapped = unsafe { memmap2::Mmap::map(&file).ok()? };
    if blake3::hash(&mapped).as_bytes().as_slice() != expected {
        return None;
    }
    drop(mapped);
    // SAFETY: `deserialize_file` requires a file produced by `serialize` with
    // a compatible engine. The file name binds the engine configuration and
    // the guest; the directory and file are private to this user (checked
    // above); and the digest just checked shows the contents are what this
    // code wrote. Mapping the file (rather than reading and copying it) is
    // what makes loading take well under a millisecond.
    #[allow(unsafe_code)]
    unsafe {
        Component::deserialize_file(engine, path).ok()
    }
}

fn store(path: &Path, code: &[u8]) -> std::io::Result<()> {
    let write_new = |path: &Path, bytes: &[u8]| -> std::io::Result<()> {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let result = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    };
    // The artifact first: until the digest that matches it is in place, a
    // reader recompiles rather than trusting it.
    write_new(path, code)?;
    write_new(&digest_path(path), blake3::hash(code).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid component: the preamble and nothing else.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn corrupt_or_foreign_entries_are_not_loaded() {
        let engine = Engine::default();
        let dir = std::env::temp_dir().join(format!("sealtar-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(prepare_dir(&dir));
        let path = dir.join("x.cwasm");
        let code = Component::new(&engine, EMPTY_COMPONENT).unwrap().serialize().unwrap();
        store(&path, &code).unwrap();
        assert!(load(&engine, &path).is_some(), "a good entry loads");
        // One flipped byte: the digest no longer matches.
        let mut bad = code.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        assert!(load(&engine, &path).is_none(), "a corrupted entry is not loaded");
        // A missing digest.
        store(&path, &code).unwrap();
        std::fs::remove_file(digest_path(&path)).unwrap();
        assert!(load(&engine, &path).is_none(), "an entry without its digest is not loaded");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn group_writable_file_is_not_loaded() {
        use std::os::unix::fs::PermissionsExt;
        let engine = Engine::default();
        let dir = std::env::temp_dir().join(format!("sealtar-cache-filemode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(prepare_dir(&dir));
        let path = dir.join("x.cwasm");
        let code = Component::new(&engine, EMPTY_COMPONENT).unwrap().serialize().unwrap();
        store(&path, &code).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(load(&engine, &path).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn group_writable_directory_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("sealtar-cache-perm-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(!prepare_dir(&dir));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(prepare_dir(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn old_entries_are_pruned() {
        let dir = std::env::temp_dir().join(format!("sealtar-cache-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(prepare_dir(&dir));
        for i in 0..6 {
            let p = dir.join(format!("old{i}.cwasm"));
            store(&p, b"x").unwrap();
            let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i);
            std::fs::File::options().write(true).open(&p).unwrap().set_modified(t).unwrap();
        }
        let current = dir.join("current.cwasm");
        store(&current, b"y").unwrap();
        prune(&dir, &current);
        let mut left: Vec<String> =
            std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(
            left,
            [
                "current.blake3",
                "current.cwasm",
                "old3.blake3",
                "old3.cwasm",
                "old4.blake3",
                "old4.cwasm",
                "old5.blake3",
                "old5.cwasm"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn key_depends_on_the_guest() {
        let engine = Engine::default();
        assert_ne!(cache_key(&engine, "one"), cache_key(&engine, "two"));
        assert_eq!(cache_key(&engine, "one").len(), 64);
    }
}
