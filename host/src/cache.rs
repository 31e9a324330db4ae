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
//!   wasmtime, so nothing can be swapped between the check and the load;
//! - files are written to a temporary name and renamed into place, the
//!   artifact before its digest.
//!
//! At most four artifacts are kept per directory (the newest), so upgrades
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
pub fn load_or_compile(
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
/// use side by side, bounded so that upgrades do not pile up artifacts.
const KEEP_ENTRIES: usize = 4;

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
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, &code) };
        component.ok()
    }

    /// The bytes of `name`, read once through a handle that was checked to
    /// be a regular file this user owns and only this user can write.
    fn read_trusted(&self, name: &str) -> Option<Vec<u8>> {
        let file = os::open_file_nofollow(&self.dir, name).ok()?;
        if !os::trusted_file(&file) {
            return None;
        }
        let mut bytes = Vec::new();
        (&file).take(MAX_ARTIFACT_BYTES + 1).read_to_end(&mut bytes).ok()?;
        (bytes.len() as u64 <= MAX_ARTIFACT_BYTES).then_some(bytes)
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

#[cfg(unix)]
mod os {
    //! Unix: walk the path from `/` by handle, checking every directory.

    use std::ffi::OsString;
    use std::fs::File;
    use std::os::fd::OwnedFd;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Component, Path, PathBuf};

    use cap_std::fs::Dir;
    use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
    use rustix::io::Errno;

    /// Symbolic links followed while walking a path, as the kernel allows.
    const MAX_LINKS: usize = 40;

    const DIR_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

    fn me() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    /// Why a directory on the way to the cache cannot be trusted, if it
    /// cannot. `last` is the cache directory itself.
    fn distrust(fd: &OwnedFd, shown: &Path, last: bool) -> Option<String> {
        let Ok(st) = rustix::fs::fstat(fd) else {
            return Some(format!("cannot inspect {}", super::shown(shown)));
        };
        let uid = st.st_uid;
        let mode = Mode::from_raw_mode(st.st_mode);
        let what = if last { "it".to_string() } else { format!("its ancestor {}", super::shown(shown)) };
        if last && uid != me() {
            return Some(format!("{what} belongs to user {uid}, not to this user"));
        }
        if uid != me() && uid != 0 {
            return Some(format!("{what} belongs to user {uid}, neither this user nor root"));
        }
        let sticky = mode.contains(Mode::SVTX);
        if mode.intersects(Mode::WGRP | Mode::WOTH) && (last || !sticky) {
            let how = if last { "" } else { " without the sticky bit" };
            return Some(format!("{what} is writable by group or others{how}"));
        }
        None
    }

    /// Opens `path` as a directory handle, creating missing components
    /// (mode 0700), following no symbolic link at its last component and
    /// checking every directory passed through. Symbolic links in ancestors
    /// are followed only from directories already checked, so whoever could
    /// change them could change the directory itself.
    pub(super) fn open_trusted_dir(path: &Path) -> Result<File, String> {
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().map_err(|e| format!("the working directory is unknown ({e})"))?.join(path)
        };
        let open_root = || -> Result<OwnedFd, String> {
            let root = rustix::fs::openat(CWD, "/", DIR_FLAGS, Mode::empty())
                .map_err(|e| format!("cannot open / ({})", std::io::Error::from(e)))?;
            match distrust(&root, Path::new("/"), false) {
                Some(why) => Err(why),
                None => Ok(root),
            }
        };
        let mut fd = open_root()?;
        let mut shown = PathBuf::from("/");
        // Components still to walk, the next one last.
        let mut pending: Vec<OsString> = Vec::new();
        push_components(&mut pending, &path);
        let mut links = 0;
        while let Some(name) = pending.pop() {
            let last = pending.is_empty();
            let here = shown.join(&name);
            let next = match rustix::fs::openat(&fd, name.as_os_str(), DIR_FLAGS, Mode::empty()) {
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(&fd, name.as_os_str(), Mode::from_raw_mode(0o700)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => {
                            return Err(format!("cannot create {} ({})", super::shown(&here), std::io::Error::from(e)));
                        }
                    }
                    rustix::fs::openat(&fd, name.as_os_str(), DIR_FLAGS, Mode::empty())
                }
                other => other,
            };
            match next {
                Ok(next) => {
                    if let Some(why) = distrust(&next, &here, last) {
                        return Err(why);
                    }
                    fd = next;
                    shown =
                        if name.as_bytes() == b".." { shown.parent().unwrap_or(&shown).to_path_buf() } else { here };
                }
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let is_link = rustix::fs::statat(&fd, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
                        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
                    if !is_link {
                        return Err(format!("{} is not a directory", super::shown(&here)));
                    }
                    if last {
                        return Err("it is a symbolic link".to_string());
                    }
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(format!("too many symbolic links on the way to {}", super::shown(&here)));
                    }
                    let target = rustix::fs::readlinkat(&fd, name.as_os_str(), Vec::new()).map_err(|e| {
                        format!("cannot read the link {} ({})", super::shown(&here), std::io::Error::from(e))
                    })?;
                    let target = PathBuf::from(OsString::from(std::ffi::OsStr::from_bytes(target.as_bytes())));
                    if target.is_absolute() {
                        fd = open_root()?;
                        shown = PathBuf::from("/");
                    }
                    push_components(&mut pending, &target);
                }
                Err(e) => return Err(format!("cannot open {} ({})", super::shown(&here), std::io::Error::from(e))),
            }
        }
        Ok(File::from(fd))
    }

    /// Pushes the components of `path` onto `pending` so that its first
    /// component is popped next.
    fn push_components(pending: &mut Vec<OsString>, path: &Path) {
        let names: Vec<OsString> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some(OsString::from("..")),
                Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
            })
            .collect();
        pending.extend(names.into_iter().rev());
    }

    /// Opens `name` in `dir` for reading, failing on a symbolic link.
    pub(super) fn open_file_nofollow(dir: &Dir, name: &str) -> std::io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
        Ok(File::from(rustix::fs::openat(dir, name, flags, Mode::empty())?))
    }

    /// A regular file this user owns and no one else can write.
    pub(super) fn trusted_file(file: &File) -> bool {
        file.metadata().is_ok_and(|m| m.is_file() && m.uid() == me() && m.mode() & 0o022 == 0)
    }
}

#[cfg(windows)]
mod os {
    //! Windows: the directory's handle and its security descriptor.

    use std::fs::File;
    use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
    use std::os::windows::io::AsRawHandle;
    use std::path::Path;

    use cap_std::fs::Dir;
    use windows_sys::Win32::Foundation::{HANDLE, LocalFree};
    use windows_sys::Win32::Security::Authorization::{GetSecurityInfo, SE_FILE_OBJECT};
    use windows_sys::Win32::Security::{
        ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, DACL_SECURITY_INFORMATION, EqualSid, GetAce, GetTokenInformation,
        IsWellKnownSid, OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, TOKEN_OWNER, TOKEN_QUERY, TOKEN_USER,
        TokenOwner, TokenUser, WinBuiltinAdministratorsSid, WinLocalSystemSid,
    };
    use windows_sys::Win32::Storage::FileSystem::{
        FILE_ATTRIBUTE_REPARSE_POINT, FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_SHARE_READ,
        FILE_SHARE_WRITE,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    /// Access rights that let their holder change the directory's contents,
    /// its attributes or its security.
    const WRITE_RIGHTS: u32 = 0x0002 // FILE_WRITE_DATA / FILE_ADD_FILE
        | 0x0004 // FILE_APPEND_DATA / FILE_ADD_SUBDIRECTORY
        | 0x0010 // FILE_WRITE_EA
        | 0x0040 // FILE_DELETE_CHILD
        | 0x0100 // FILE_WRITE_ATTRIBUTES
        | 0x0001_0000 // DELETE
        | 0x0004_0000 // WRITE_DAC
        | 0x0008_0000 // WRITE_OWNER
        | 0x0200_0000 // MAXIMUM_ALLOWED
        | 0x1000_0000 // GENERIC_ALL
        | 0x4000_0000; // GENERIC_WRITE

    const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
    const INHERIT_ONLY_ACE: u8 = 0x08;
    /// The allow-ACE kinds other than the plain one (object, callback,
    /// callback-object): their layout differs, so any write right they grant
    /// refuses the directory.
    const OTHER_ALLOW_ACE_TYPES: [u8; 3] = [5, 9, 11];

    pub(super) fn open_trusted_dir(path: &Path) -> Result<File, String> {
        std::fs::create_dir_all(path).map_err(|e| format!("cannot create it ({e})"))?;
        // No FILE_SHARE_DELETE: while this handle is open, neither the
        // directory nor any ancestor can be renamed or removed.
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE)
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
            .open(path)
            .map_err(|e| format!("cannot open it ({e})"))?;
        let meta = dir.metadata().map_err(|e| format!("cannot inspect it ({e})"))?;
        if meta.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
            return Err("it is a symbolic link or junction".to_string());
        }
        if !meta.is_dir() {
            return Err("it is not a directory".to_string());
        }
        distrust(&dir).map_or(Ok(dir), Err)
    }

    pub(super) fn open_file_nofollow(dir: &Dir, name: &str) -> std::io::Result<File> {
        let mut options = cap_std::fs::OpenOptions::new();
        options.read(true);
        cap_std::fs::OpenOptionsExt::custom_flags(&mut options, FILE_FLAG_OPEN_REPARSE_POINT);
        Ok(dir.open_with(name, &options)?.into_std())
    }

    pub(super) fn trusted_file(file: &File) -> bool {
        file.metadata().is_ok_and(|m| m.is_file() && m.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT == 0)
            && distrust(file).is_none()
    }

    /// Why the object behind `file` cannot be trusted, if it cannot: its
    /// owner is not this user, or its DACL lets someone else write.
    fn distrust(file: &File) -> Option<String> {
        let Some(token) = Token::current() else {
            return Some("the current user cannot be determined".to_string());
        };
        let Some(sd) = Security::of(file) else {
            return Some("its security descriptor cannot be read".to_string());
        };
        if !token.is_me(sd.owner) {
            return Some("it is not owned by this user".to_string());
        }
        if sd.dacl.is_null() {
            return Some("it has no access list: everyone may write to it".to_string());
        }
        // SAFETY: `sd.dacl` points into the security descriptor that `sd`
        // owns and keeps alive; `GetAce` bounds-checks the index against the
        // ACL's own count and returns pointers inside it.
        #[allow(unsafe_code)]
        unsafe {
            let count = (*sd.dacl).AceCount;
            for i in 0..u32::from(count) {
                let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
                if GetAce(sd.dacl, i, &mut ace) == 0 || ace.is_null() {
                    return Some("its access list cannot be read".to_string());
                }
                let header = *(ace as *const ACE_HEADER);
                if header.AceFlags & INHERIT_ONLY_ACE != 0 {
                    continue;
                }
                if header.AceType == ACCESS_ALLOWED_ACE_TYPE {
                    let allowed = ace as *const ACCESS_ALLOWED_ACE;
                    let sid = std::ptr::addr_of!((*allowed).SidStart) as PSID;
                    let trusted = token.is_me(sid)
                        || IsWellKnownSid(sid, WinLocalSystemSid) != 0
                        || IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0;
                    if (*allowed).Mask & WRITE_RIGHTS != 0 && !trusted {
                        return Some("it is writable by others".to_string());
                    }
                } else if OTHER_ALLOW_ACE_TYPES.contains(&header.AceType) {
                    // Mask follows the header in every allow-ACE layout.
                    let mask = *((ace as *const u8).add(size_of::<ACE_HEADER>()) as *const u32);
                    if mask & WRITE_RIGHTS != 0 {
                        return Some("its access list grants write access in a form not checked here".to_string());
                    }
                }
            }
        }
        None
    }

    /// The owner and DACL of an object, in a buffer freed on drop.
    struct Security {
        owner: PSID,
        dacl: *mut ACL,
        descriptor: PSECURITY_DESCRIPTOR,
    }

    impl Security {
        fn of(file: &File) -> Option<Security> {
            let mut owner: PSID = std::ptr::null_mut();
            let mut dacl: *mut ACL = std::ptr::null_mut();
            let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
            // SAFETY: the handle is open for the duration of the call; the
            // out-pointers are valid; on success the owner and DACL point into
            // `descriptor`, which `Security` frees with `LocalFree`.
            #[allow(unsafe_code)]
            let status = unsafe {
                GetSecurityInfo(
                    file.as_raw_handle() as HANDLE,
                    SE_FILE_OBJECT,
                    OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                    &mut owner,
                    std::ptr::null_mut(),
                    &mut dacl,
                    std::ptr::null_mut(),
                    &mut descriptor,
                )
            };
            (status == 0 && !descriptor.is_null() && !owner.is_null()).then_some(Security { owner, dacl, descriptor })
        }
    }

    impl Drop for Security {
        fn drop(&mut self) {
            // SAFETY: `descriptor` was allocated by `GetSecurityInfo` and is
            // freed once.
            #[allow(unsafe_code)]
            unsafe {
                LocalFree(self.descriptor);
            }
        }
    }

    /// The SIDs of the current process's user and of the owner it gives new
    /// objects (an administrator's may be the Administrators group).
    struct Token {
        user: Vec<u32>,
        owner: Vec<u32>,
    }

    impl Token {
        fn current() -> Option<Token> {
            // SAFETY: plain Win32 calls with valid out-pointers and buffers
            // of the size the system asked for; the token handle is closed
            // by wrapping it in an `OwnedHandle`.
            #[allow(unsafe_code)]
            unsafe {
                use std::os::windows::io::{FromRawHandle, OwnedHandle};
                let mut raw: HANDLE = std::ptr::null_mut();
                if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut raw) == 0 {
                    return None;
                }
                let token = OwnedHandle::from_raw_handle(raw as _);
                // The buffer is returned whole (u64 words: it holds
                // pointers, so it must be aligned for them), because the
                // SID pointer in the structure points into it.
                let query = |class| -> Option<Vec<u64>> {
                    let mut len = 0u32;
                    GetTokenInformation(token.as_raw_handle() as HANDLE, class, std::ptr::null_mut(), 0, &mut len);
                    if len == 0 {
                        return None;
                    }
                    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
                    (GetTokenInformation(
                        token.as_raw_handle() as HANDLE,
                        class,
                        buf.as_mut_ptr().cast(),
                        len,
                        &mut len,
                    ) != 0)
                        .then_some(buf)
                };
                let user_info = query(TokenUser)?;
                let owner_info = query(TokenOwner)?;
                // Copied while `user_info` and `owner_info` are alive.
                let user = copy_sid((*(user_info.as_ptr() as *const TOKEN_USER)).User.Sid);
                let owner = copy_sid((*(owner_info.as_ptr() as *const TOKEN_OWNER)).Owner);
                Some(Token { user, owner })
            }
        }

        /// Whether `sid` is this user: the token's user, or the
        /// Administrators group when the token gives new objects to it (an
        /// elevated administrator's do). Any other default owner the token
        /// names (Wine names a group every user is in) is not trusted.
        fn is_me(&self, sid: PSID) -> bool {
            // SAFETY: both SIDs are valid for the call: `sid` points into a
            // live descriptor or ACL, ours into owned buffers.
            #[allow(unsafe_code)]
            unsafe {
                EqualSid(sid, self.user.as_ptr() as PSID) != 0
                    || (EqualSid(sid, self.owner.as_ptr() as PSID) != 0
                        && IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0)
            }
        }
    }

    /// Copies a SID out of a buffer that is about to be freed.
    ///
    /// # Safety
    ///
    /// `sid` must point to a valid SID.
    #[allow(unsafe_code)]
    unsafe fn copy_sid(sid: PSID) -> Vec<u32> {
        // A SID is 8 bytes plus 4 per sub-authority (count at offset 1),
        // copied into u32 words so the copy is aligned as a SID is.
        // SAFETY: the caller guarantees a valid SID, whose length follows
        // from its sub-authority count; the copy writes `words * 4` bytes
        // into a buffer of exactly that size.
        unsafe {
            let count = *(sid as *const u8).add(1) as usize;
            let words = 2 + count;
            let mut copy = vec![0u32; words];
            std::ptr::copy_nonoverlapping(sid as *const u8, copy.as_mut_ptr().cast::<u8>(), words * 4);
            copy
        }
    }
}

#[cfg(not(any(unix, windows)))]
mod os {
    //! Elsewhere the directory's owner cannot be checked: no cache.

    use std::fs::File;
    use std::path::Path;

    use cap_std::fs::Dir;

    pub(super) fn open_trusted_dir(_: &Path) -> Result<File, String> {
        Err("its owner cannot be checked on this platform".to_string())
    }

    pub(super) fn open_file_nofollow(_: &Dir, _: &str) -> std::io::Result<File> {
        Err(std::io::ErrorKind::Unsupported.into())
    }

    pub(super) fn trusted_file(_: &File) -> bool {
        false
    }
}

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
        #[allow(unsafe_code)]
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
        for i in 0..6 {
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
        remove(&dir);
    }

    #[test]
    fn key_depends_on_the_guest() {
        let engine = Engine::default();
        assert_ne!(cache_key(&engine, "one"), cache_key(&engine, "two"));
        assert_eq!(cache_key(&engine, "one").len(), 64);
    }
}
