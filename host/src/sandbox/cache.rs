//! The on-disk cache of compiled guest code.
//!
//! Compiling the guest takes about a second; loading compiled code takes
//! milliseconds. Compiled code is native code that wasmtime runs without
//! re-checking it (`Component::deserialize` trusts its input), so whoever can
//! change a cached artifact can run code inside sealtar. The cache is guarded
//! accordingly:
//! - the file name is a SHA-256 over sealtar's version, wasmtime's
//!   compatibility hash (its version, target and every code-generation
//!   setting) and the guest's own bytes, so a stale or foreign entry is never
//!   picked up;
//! - the directory is opened **once**, as a handle, and every check and every
//!   later open is made on that handle, never on the path again. On Unix the
//!   path is walked from `/` one component at a time (`O_DIRECTORY |
//!   O_NOFOLLOW`): every directory passed through must belong to the user or
//!   root and be writable by no one else unless it is sticky (like `/tmp`), and
//!   the cache directory itself must belong to the user, be writable by no one
//!   else, and not be a symbolic link. On Windows the directory is opened
//!   without following reparse points and without sharing delete access (so
//!   neither it nor an ancestor can be renamed while it is open), and its
//!   security descriptor must name the user as owner and grant write access to
//!   no one but the user, SYSTEM and Administrators;
//! - artifacts are opened relative to that handle without following links,
//!   must be regular files with the same owner and permission rules, and are
//!   read into memory once: the BLAKE3 digest beside each (`<key>.blake3`) is
//!   checked over exactly those bytes, and exactly those bytes are handed to
//!   wasmtime, so nothing can be swapped between the check and the load. On
//!   Linux the artifact is instead mapped privately, read-only, the digest
//!   checked over the mapping and the mapping handed over in place, without a
//!   copy (`code_memory.rs` says why that is as safe under these ownership
//!   rules, and falls back to a checked copy where the mapping cannot hold
//!   executable code);
//! - files are written to a temporary name and renamed into place, the
//!   artifact before its digest.
//!
//! At most eight artifacts are kept per directory (the newest; each sealtar
//! version has two, one per embedded guest), so upgrades
//! do not pile up. Any failure here falls back to compiling in memory: the
//! cache only ever costs time, never correctness. A directory that fails the
//! ownership or permission rules is reported once, on standard error, when the
//! guest is compiled (once per process).

use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use cap_std::fs::{Dir, OpenOptions};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where the CLI caches compiled guest code: `$SEALTAR_CACHE_DIR` if set,
/// else `sealtar` under the platform cache directory (`$XDG_CACHE_HOME` or
/// `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on
/// Windows). Example: [`Options::with_default_cache`](crate::Options::with_default_cache).
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
/// `wasm_sha256` is the hex SHA-256 of `wasm`. A directory that cannot be
/// trusted is not used, with one warning on standard error.
pub(super) fn load_or_compile(
    engine: &Engine,
    wasm: &[u8],
    wasm_sha256: &str,
    dir: Option<&Path>,
) -> wasmtime::Result<Component> {
    let Some(path) = dir else {
        return Component::new(engine, wasm);
    };
    let cache = match CacheDir::open(path) {
        Ok(cache) => cache,
        Err(why) => {
            eprintln!(
                "sealtar: warning: not using the compiled-code cache {}: {why}; compiling the guest in memory",
                shown(path)
            );
            return Component::new(engine, wasm);
        }
    };
    let name = format!("{}.cwasm", cache_key(engine, wasm_sha256));
    if let Some(component) = cache.load(engine, &name) {
        return Ok(component);
    }
    let component = Component::new(engine, wasm)?;
    if let Ok(code) = component.serialize() {
        // Best effort: a failed store only means compiling again next time.
        let _ = cache.store(&name, &code);
        cache.prune(&name);
    }
    Ok(component)
}

/// A path for a message: quoted and escaped, separators shown as they are.
fn shown(path: &Path) -> String {
    format!("\"{}\"", crate::escape_path(path))
}

/// Entries kept per cache directory: enough for a few sealtar versions in
/// use side by side (each has two guests), bounded so that upgrades do not
/// pile up artifacts.
const KEEP_ENTRIES: usize = 8;

/// Largest artifact read back: the compiled guest is a few MiB; anything far
/// larger is not ours.
const MAX_ARTIFACT_BYTES: u64 = 256 << 20;

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

/// The digest sidecar of a cached artifact: `<key>.blake3` for `<key>.cwasm`.
fn digest_name(name: &str) -> String {
    let stem = name.strip_suffix(".cwasm").unwrap_or(name);
    format!("{stem}.blake3")
}

/// The cache directory, opened once and checked (see the module docs).
struct CacheDir {
    dir: Dir,
}

impl CacheDir {
    /// Opens (creating it if needed) and checks the cache directory. The
    /// error says why it cannot be trusted.
    fn open(path: &Path) -> Result<CacheDir, String> {
        let file = os::open_trusted_dir(path)?;
        Ok(CacheDir { dir: Dir::from_std_file(file) })
    }

    /// The component stored under `name`, if it and its digest are present,
    /// trusted and agree.
    #[cfg(target_os = "linux")]
    fn load(&self, engine: &Engine, name: &str) -> Option<Component> {
        let (file, size) = self.open_trusted(name)?;
        let expected = self.read_trusted(&digest_name(name))?;
        let load = |code: super::code_memory::Mapped| {
            if blake3::hash(code.bytes()).as_bytes().as_slice() != expected {
                return None;
            }
            let memory = code.freeze()?;
            // SAFETY: as for `Component::deserialize` below, and the memory
            // is a private mapping whose digest was just checked, read-only
            // from before this call and never unmapped (`Mapped::freeze`): it
            // outlives the component, and sealtar never writes it (see the
            // module docs for what a mapped file means here).
            #[allow(
                unsafe_code,
                reason = "wasmtime trusts compiled code it deserializes; the checks above are why these bytes may be trusted"
            )]
            let component = unsafe { Component::deserialize_raw(engine, memory) };
            component.ok()
        };
        // The file mapped in place; where its code cannot be made executable
        // (a file system mounted `noexec`), a copy in anonymous memory.
        if let Some(component) = super::code_memory::Mapped::map(&file, size).and_then(load) {
            return Some(component);
        }
        super::code_memory::Mapped::read(&file, size).and_then(load)
    }

    #[cfg(not(target_os = "linux"))]
    fn load(&self, engine: &Engine, name: &str) -> Option<Component> {
        let code = self.read_trusted(name)?;
        let expected = self.read_trusted(&digest_name(name))?;
        if blake3::hash(&code).as_bytes().as_slice() != expected {
            return None;
        }
        // SAFETY: `Component::deserialize` requires bytes produced by
        // `Component::serialize` with a compatible engine. The file name binds
        // the engine's configuration and the guest; the directory (and every
        // ancestor on Unix) was checked, as a handle, to be writable only by
        // this user; the file was opened relative to that handle without
        // following links and checked on its own handle; and the digest written
        // after the artifact matches exactly the bytes in `code`, which are the
        // bytes deserialized here (nothing is read from the file system again).
        #[allow(
            unsafe_code,
            reason = "wasmtime trusts compiled code it deserializes; the checks above are why these bytes may be trusted"
        )]
        let component = unsafe { Component::deserialize(engine, &code) };
        component.ok()
    }

    /// `name`, opened without following links, checked on its handle to be a
    /// regular file this user owns and only this user can write, with its
    /// size from that handle (at most [`MAX_ARTIFACT_BYTES`]).
    fn open_trusted(&self, name: &str) -> Option<(std::fs::File, usize)> {
        let file = os::open_file_nofollow(&self.dir, name).ok()?;
        if !os::trusted_file(&file) {
            return None;
        }
        let size = file.metadata().ok()?.len();
        if size > MAX_ARTIFACT_BYTES {
            return None;
        }
        Some((file, usize::try_from(size).ok()?))
    }

    /// The bytes of `name` ([`CacheDir::open_trusted`]), read once. Sized
    /// from the handle's metadata and read in one go into one allocation; a
    /// file that changes size meanwhile is not trusted: it must end exactly
    /// where its metadata said.
    fn read_trusted(&self, name: &str) -> Option<Vec<u8>> {
        let (file, size) = self.open_trusted(name)?;
        let mut bytes = vec![0u8; size];
        (&file).read_exact(&mut bytes).ok()?;
        let mut probe = [0u8; 1];
        ((&file).read(&mut probe).ok()? == 0).then_some(bytes)
    }

    /// Stores `code` under `name` and its digest beside it. The artifact goes
    /// first: until the digest that matches it is in place, a reader
    /// recompiles rather than trusting it.
    fn store(&self, name: &str, code: &[u8]) -> io::Result<()> {
        self.write_new(name, code)?;
        self.write_new(&digest_name(name), blake3::hash(code).as_bytes())
    }

    fn write_new(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp = format!("{name}.tmp{}", std::process::id());
        let result = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            cap_std::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = self.dir.open_with(&tmp, &options)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            // Replacing is intended here: a stale or torn entry under the
            // same name is superseded.
            self.dir.rename(&tmp, &self.dir, name)
        })();
        if result.is_err() {
            let _ = self.dir.remove_file(&tmp);
        }
        result
    }

    /// Removes all but the newest [`KEEP_ENTRIES`] artifacts (never
    /// `current`), with their digests. Best effort.
    fn prune(&self, current: &str) {
        let Ok(listing) = self.dir.entries() else { return };
        let mut entries: Vec<(std::time::SystemTime, String)> = listing
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                if !name.ends_with(".cwasm") || name == current {
                    return None;
                }
                Some((e.metadata().ok()?.modified().ok()?.into_std(), name))
            })
            .collect();
        entries.sort();
        let excess = (entries.len() + 1).saturating_sub(KEEP_ENTRIES);
        for (_, old) in entries.into_iter().take(excess) {
            let _ = self.dir.remove_file(digest_name(&old));
            let _ = self.dir.remove_file(&old);
        }
    }
}

// One file per operating system: how a directory and its files are
// opened and trusted there.
#[cfg(not(any(unix, windows)))]
mod other;
#[cfg(not(any(unix, windows)))]
use other as os;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid component: the preamble and nothing else.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    /// A fresh directory under the system's temporary directory (sticky on
    /// Unix, so it may hold a cache).
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sealtar-cache-{name}-{}", std::process::id()));
        remove(&dir);
        dir
    }

    fn remove(dir: &Path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Undo any test-made permission change so removal works.
            for entry in walk(dir) {
                let _ = std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o700));
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = vec![dir.to_path_buf()];
        if let Ok(listing) = std::fs::read_dir(dir) {
            for e in listing.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.extend(walk(&e.path()));
                }
            }
        }
        out
    }

    fn serialized(engine: &Engine) -> Vec<u8> {
        Component::new(engine, EMPTY_COMPONENT).unwrap().serialize().unwrap()
    }

    #[test]
    fn good_entry_loads_and_corrupt_or_missing_digest_does_not() {
        let engine = Engine::default();
        let dir = scratch("corrupt");
        let cache = CacheDir::open(&dir).expect("a private directory under the temporary directory is trusted");
        let code = serialized(&engine);
        cache.store("x.cwasm", &code).unwrap();
        assert!(cache.load(&engine, "x.cwasm").is_some(), "a good entry loads");
        // One flipped byte in the artifact: the digest no longer matches.
        let mut bad = code.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        std::fs::write(dir.join("x.cwasm"), &bad).unwrap();
        assert!(cache.load(&engine, "x.cwasm").is_none(), "a corrupted artifact is not loaded");
        // A corrupt digest beside a good artifact.
        cache.store("x.cwasm", &code).unwrap();
        let mut digest = std::fs::read(dir.join("x.blake3")).unwrap();
        digest[0] ^= 0x80;
        std::fs::write(dir.join("x.blake3"), &digest).unwrap();
        assert!(cache.load(&engine, "x.cwasm").is_none(), "an artifact with a corrupt digest is not loaded");
        // A missing digest.
        cache.store("x.cwasm", &code).unwrap();
        std::fs::remove_file(dir.join("x.blake3")).unwrap();
        assert!(cache.load(&engine, "x.cwasm").is_none(), "an artifact without its digest is not loaded");
        remove(&dir);
    }

    #[test]
    fn swapped_artifact_is_not_loaded() {
        let engine = Engine::default();
        let dir = scratch("swap");
        let cache = CacheDir::open(&dir).unwrap();
        cache.store("x.cwasm", &serialized(&engine)).unwrap();
        // Another valid artifact (a different component) put in its place,
        // with the digest left as it was: it must not be deserialized.
        let other = Component::new(&engine, b"(component (core module))").map(|c| c.serialize().unwrap());
        let other = other.unwrap_or_else(|_| {
            let mut b = serialized(&engine);
            b.extend_from_slice(b"appended");
            b
        });
        std::fs::write(dir.join("x.cwasm.new"), &other).unwrap();
        std::fs::rename(dir.join("x.cwasm.new"), dir.join("x.cwasm")).unwrap();
        assert!(cache.load(&engine, "x.cwasm").is_none(), "a swapped artifact is not loaded");
        remove(&dir);
    }

    #[test]
    fn loads_through_the_handle_not_the_path() {
        let engine = Engine::default();
        let top = scratch("handle");
        let original = Component::new(&engine, EMPTY_COMPONENT).unwrap().serialize().unwrap();
        let cache = CacheDir::open(&top.join("cache")).unwrap();
        cache.store("x.cwasm", &original).unwrap();
        if cfg!(windows) {
            // Windows: the handle shares no delete access, so the directory
            // cannot even be moved while the cache is open
            // (ERROR_SHARING_VIOLATION).
            let err = std::fs::rename(top.join("cache"), top.join("moved")).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(32), "{err}");
            assert!(cache.load(&engine, "x.cwasm").is_some());
            drop(cache);
            remove(&top);
            return;
        }
        // The directory is moved away and another put at its path, holding a
        // different artifact with a matching digest: the open cache still
        // reads what its handle refers to.
        std::fs::rename(top.join("cache"), top.join("moved")).unwrap();
        let other = CacheDir::open(&top.join("cache")).unwrap();
        let mut foreign = original.clone();
        foreign.extend_from_slice(b"foreign");
        other.store("x.cwasm", &foreign).unwrap();
        let loaded = cache.load(&engine, "x.cwasm").expect("the original entry loads through the handle");
        assert_eq!(loaded.serialize().unwrap(), original);
        remove(&top);
    }

    #[cfg(unix)]
    #[test]
    fn artifact_behind_a_symlink_is_not_loaded() {
        let engine = Engine::default();
        let dir = scratch("artlink");
        let cache = CacheDir::open(&dir).unwrap();
        cache.store("real.cwasm", &serialized(&engine)).unwrap();
        std::os::unix::fs::symlink("real.cwasm", dir.join("x.cwasm")).unwrap();
        std::os::unix::fs::symlink("real.blake3", dir.join("x.blake3")).unwrap();
        assert!(cache.load(&engine, "real.cwasm").is_some());
        assert!(cache.load(&engine, "x.cwasm").is_none(), "a symlinked artifact is not followed");
        remove(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn group_writable_file_is_not_loaded() {
        use std::os::unix::fs::PermissionsExt;
        let engine = Engine::default();
        let dir = scratch("filemode");
        let cache = CacheDir::open(&dir).unwrap();
        cache.store("x.cwasm", &serialized(&engine)).unwrap();
        std::fs::set_permissions(dir.join("x.cwasm"), std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(cache.load(&engine, "x.cwasm").is_none());
        remove(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn group_writable_cache_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("perm");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
        let why = CacheDir::open(&dir).err().expect("a group-writable cache directory is refused");
        assert_eq!(why, "it is writable by group or others");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(CacheDir::open(&dir).is_ok());
        remove(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn group_writable_ancestor_is_refused_unless_sticky() {
        use std::os::unix::fs::PermissionsExt;
        let top = scratch("ancestor");
        let cache_dir = top.join("mid").join("cache");
        std::fs::create_dir_all(&cache_dir).unwrap();
        std::fs::set_permissions(&cache_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mid = top.join("mid");
        std::fs::set_permissions(&mid, std::fs::Permissions::from_mode(0o775)).unwrap();
        let why = CacheDir::open(&cache_dir).err().expect("a group-writable ancestor refuses the cache");
        assert!(
            why.starts_with("its ancestor \"")
                && why.ends_with("/mid\" is writable by group or others without the sticky bit"),
            "{why}"
        );
        // Writable by others but sticky (like /tmp): entries can only be
        // renamed or removed by their owners, so the cache is used.
        std::fs::set_permissions(&mid, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(CacheDir::open(&cache_dir).is_ok(), "a sticky ancestor is fine");
        std::fs::set_permissions(&mid, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(CacheDir::open(&cache_dir).is_ok());
        remove(&top);
    }

    #[cfg(unix)]
    #[test]
    fn missing_directories_are_created_private() {
        use std::os::unix::fs::MetadataExt;
        let top = scratch("create");
        let cache_dir = top.join("a").join("b");
        let cache = CacheDir::open(&cache_dir).expect("created under private ancestors");
        cache.store("x.cwasm", b"x").unwrap();
        for dir in [&top, &top.join("a"), &cache_dir] {
            let meta = std::fs::symlink_metadata(dir).unwrap();
            assert!(meta.is_dir());
            assert_eq!(meta.mode() & 0o077, 0, "{} is private", dir.display());
        }
        assert_eq!(std::fs::symlink_metadata(cache_dir.join("x.cwasm")).unwrap().mode() & 0o777, 0o600);
        remove(&top);
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_cache_directory_is_refused() {
        let top = scratch("dirlink");
        let real = top.join("real");
        std::fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink(&real, top.join("link")).unwrap();
        let why = CacheDir::open(&top.join("link")).err().expect("a symlinked cache directory is refused");
        assert_eq!(why, "it is a symbolic link");
        // A link on the way, in a directory only this user can change, is
        // followed (and what it leads to is checked like the rest).
        assert!(CacheDir::open(&top.join("link").join("sub")).is_ok());
        assert!(real.join("sub").is_dir());
        remove(&top);
    }

    #[cfg(unix)]
    #[test]
    fn ancestor_owned_by_another_user_is_refused() {
        if rustix::process::geteuid().as_raw() != 0 {
            eprintln!("skipped: changing a directory's owner needs root");
            return;
        }
        let top = scratch("owner");
        let cache_dir = top.join("mid").join("cache");
        std::fs::create_dir_all(&cache_dir).unwrap();
        let nobody = Some(rustix::process::Uid::from_raw(65534));
        rustix::fs::chown(top.join("mid"), nobody, None).unwrap();
        let why = CacheDir::open(&cache_dir).err().expect("an ancestor owned by someone else refuses the cache");
        assert!(why.ends_with("/mid\" belongs to user 65534, neither this user nor root"), "{why}");
        rustix::fs::chown(&cache_dir, nobody, None).unwrap();
        rustix::fs::chown(top.join("mid"), Some(rustix::process::Uid::ROOT), None).unwrap();
        let why = CacheDir::open(&cache_dir).err().expect("a cache directory owned by someone else is refused");
        assert_eq!(why, "it belongs to user 65534, not to this user");
        remove(&top);
    }

    /// Adds an access-list entry letting Everyone write to `path`, the
    /// Windows form of `chmod o+w`.
    #[cfg(windows)]
    fn grant_everyone_write(path: &Path) {
        use std::os::windows::ffi::OsStrExt;
        use windows_sys::Win32::Foundation::LocalFree;
        use windows_sys::Win32::Security::Authorization::{
            EXPLICIT_ACCESS_W, GRANT_ACCESS, GetNamedSecurityInfoW, SE_FILE_OBJECT, SetEntriesInAclW,
            SetNamedSecurityInfoW, TRUSTEE_IS_SID, TRUSTEE_IS_WELL_KNOWN_GROUP, TRUSTEE_W,
        };
        use windows_sys::Win32::Security::{
            ACL, CreateWellKnownSid, DACL_SECURITY_INFORMATION, NO_INHERITANCE, PSECURITY_DESCRIPTOR, PSID,
            SECURITY_MAX_SID_SIZE, WinWorldSid,
        };
        use windows_sys::Win32::Storage::FileSystem::FILE_GENERIC_WRITE;
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
        let mut everyone = vec![0u32; SECURITY_MAX_SID_SIZE as usize / 4];
        let mut sid_len = SECURITY_MAX_SID_SIZE;
        // SAFETY: plain Win32 calls on valid, NUL-terminated and
        // sufficiently large buffers; what the system allocates is freed
        // with LocalFree.
        #[allow(unsafe_code, reason = "the test builds a world-writable security descriptor with Win32 calls")]
        unsafe {
            let sid = everyone.as_mut_ptr() as PSID;
            assert_ne!(CreateWellKnownSid(WinWorldSid, std::ptr::null_mut(), sid, &mut sid_len), 0);
            let mut old: *mut ACL = std::ptr::null_mut();
            let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
            let status = GetNamedSecurityInfoW(
                wide.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut old,
                std::ptr::null_mut(),
                &mut sd,
            );
            assert_eq!(status, 0);
            let entry = EXPLICIT_ACCESS_W {
                grfAccessPermissions: FILE_GENERIC_WRITE,
                grfAccessMode: GRANT_ACCESS,
                grfInheritance: NO_INHERITANCE,
                Trustee: TRUSTEE_W {
                    TrusteeForm: TRUSTEE_IS_SID,
                    TrusteeType: TRUSTEE_IS_WELL_KNOWN_GROUP,
                    ptstrName: sid.cast(),
                    ..TRUSTEE_W::default()
                },
            };
            let mut new: *mut ACL = std::ptr::null_mut();
            assert_eq!(SetEntriesInAclW(1, &entry, old, &mut new), 0);
            let status = SetNamedSecurityInfoW(
                wide.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                new,
                std::ptr::null(),
            );
            assert_eq!(status, 0);
            LocalFree(new.cast());
            LocalFree(sd);
        }
    }

    #[cfg(windows)]
    #[test]
    fn cache_directory_writable_by_everyone_is_refused() {
        let dir = scratch("everyone");
        std::fs::create_dir(&dir).unwrap();
        assert!(CacheDir::open(&dir).is_ok(), "a fresh directory under the temporary directory is trusted");
        grant_everyone_write(&dir);
        let why = CacheDir::open(&dir).err().expect("a cache directory Everyone may write to is refused");
        assert_eq!(why, "it is writable by others");
        remove(&dir);
    }

    #[cfg(windows)]
    #[test]
    fn artifact_writable_by_everyone_is_not_loaded() {
        let engine = Engine::default();
        let dir = scratch("everyonefile");
        let cache = CacheDir::open(&dir).unwrap();
        cache.store("x.cwasm", &serialized(&engine)).unwrap();
        assert!(cache.load(&engine, "x.cwasm").is_some());
        grant_everyone_write(&dir.join("x.cwasm"));
        assert!(cache.load(&engine, "x.cwasm").is_none(), "an artifact Everyone may write to is not loaded");
        drop(cache);
        remove(&dir);
    }

    #[test]
    fn load_or_compile_stores_then_loads() {
        let engine = Engine::default();
        let dir = scratch("roundtrip");
        load_or_compile(&engine, EMPTY_COMPONENT, "roundtrip", Some(&dir)).unwrap();
        let name = format!("{}.cwasm", cache_key(&engine, "roundtrip"));
        assert!(dir.join(&name).is_file() && dir.join(digest_name(&name)).is_file());
        load_or_compile(&engine, EMPTY_COMPONENT, "roundtrip", Some(&dir)).unwrap();
        assert!(CacheDir::open(&dir).unwrap().load(&engine, &name).is_some());
        remove(&dir);
    }

    #[test]
    fn old_entries_are_pruned() {
        let dir = scratch("prune");
        let cache = CacheDir::open(&dir).unwrap();
        for i in 0..10 {
            let name = format!("old{i}.cwasm");
            cache.store(&name, b"x").unwrap();
            let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i);
            std::fs::File::options().write(true).open(dir.join(&name)).unwrap().set_modified(t).unwrap();
        }
        cache.store("current.cwasm", b"y").unwrap();
        cache.prune("current.cwasm");
        let mut left: Vec<String> =
            std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name().into_string().unwrap()).collect();
        left.sort();
        // The current one and the newest KEEP_ENTRIES - 1 = 7 others.
        let mut kept = vec!["current.blake3".to_string(), "current.cwasm".to_string()];
        for i in 3..10 {
            kept.extend([format!("old{i}.blake3"), format!("old{i}.cwasm")]);
        }
        assert_eq!(left, kept);
        remove(&dir);
    }

    #[test]
    fn key_depends_on_the_guest() {
        let engine = Engine::default();
        assert_ne!(cache_key(&engine, "one"), cache_key(&engine, "two"));
        assert_eq!(cache_key(&engine, "one").len(), 64);
    }
}
