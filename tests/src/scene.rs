//! Shared fixtures of the test suites (the library's in `tests/tests/it`,
//! the command line's in `cli/tests`): the extractor, expected-tree
//! builders, the scene every extraction runs in, a reader that hands out a
//! few bytes at a time, and the local Cargo cache's `.crate` files.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::{Node, snapshot};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::{Error, Extractor, Options, Report};
use tempfile::TempDir;

/// Whether the tests run under Wine rather than Windows (ntdll exports
/// `wine_get_version` there). Wine 8 resolves a handle back to its path
/// (`GetFinalPathNameByHandleW`, which cap-std uses for every open relative
/// to a directory) only up to MAX_PATH (260) characters and fails beyond
/// with "More data available", where Windows allows 32,767: the few tests
/// that write longer paths skip that part under Wine, and say so.
pub fn under_wine() -> bool {
    #[cfg(windows)]
    {
        type Module = *mut core::ffi::c_void;
        #[link(name = "kernel32")]
        #[allow(unsafe_code, reason = "declares two kernel32 functions std does not wrap")]
        unsafe extern "system" {
            fn GetModuleHandleA(name: *const core::ffi::c_char) -> Module;
            fn GetProcAddress(module: Module, name: *const core::ffi::c_char) -> *mut core::ffi::c_void;
        }
        // SAFETY: both names are NUL-terminated; ntdll is always loaded and
        // never unloaded.
        #[allow(unsafe_code, reason = "looks up a function name in ntdll; see SAFETY")]
        let found = unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr());
            !ntdll.is_null() && !GetProcAddress(ntdll, c"wine_get_version".as_ptr()).is_null()
        };
        found
    }
    #[cfg(not(windows))]
    {
        false
    }
}

/// Where compiled guest code is cached for the tests: under the target
/// directory the test runs from (`target/<profile>/deps/<test>` gives
/// `target/tmp/sealtar-cache`), never the user's cache.
pub fn cache_dir() -> PathBuf {
    let me = std::env::current_exe().expect("the test executable's path");
    let target = me.ancestors().nth(3).expect("target/<profile>/deps/<test>");
    target.join("tmp").join("sealtar-cache")
}

/// The default options, with the test cache directory.
pub fn options() -> Options {
    let mut options = Options::default();
    options.cache_dir = Some(cache_dir());
    options
}

/// One extractor with the default policy, shared by every test.
pub fn extractor() -> &'static Extractor {
    static EXTRACTOR: OnceLock<Extractor> = OnceLock::new();
    EXTRACTOR.get_or_init(|| Extractor::new(options()).expect("the sandbox sets up"))
}

/// A regular file without the exec bit.
pub fn file(contents: &[u8]) -> Node {
    Node::File { contents: contents.to_vec(), exec: false }
}

/// A regular file with the owner-exec bit.
pub fn exec(contents: &[u8]) -> Node {
    Node::File { contents: contents.to_vec(), exec: cfg!(unix) }
}

/// A tree from (path, node) pairs.
pub fn tree(entries: &[(&str, Node)]) -> BTreeMap<String, Node> {
    entries.iter().map(|(p, n)| ((*p).to_string(), n.clone())).collect()
}

/// `base` with `extra` added (panics if a path is already there).
pub fn with(base: &BTreeMap<String, Node>, extra: &[(&str, Node)]) -> BTreeMap<String, Node> {
    let mut t = base.clone();
    for (p, n) in extra {
        assert!(t.insert((*p).to_string(), n.clone()).is_none(), "{p} is already in the tree");
    }
    t
}

/// What [`Scene::new`] puts in the destination.
pub fn prepopulated() -> BTreeMap<String, Node> {
    tree(&[("existing.txt", file(b"keep me\n")), ("olddir", Node::Dir), ("olddir/inner.txt", file(b"inner\n"))])
}

/// What every scene has next to the destination.
pub fn outside_expected() -> BTreeMap<String, Node> {
    tree(&[("sentinel", Node::Dir), ("sentinel/secret.txt", file(b"sentinel\n"))])
}

/// A temporary directory holding `dest/` (the destination) and `sentinel/`
/// (a sibling that no extraction may touch).
pub struct Scene {
    _tmp: TempDir,
    /// The temporary directory.
    pub root: PathBuf,
    /// `root/dest`.
    pub dest: PathBuf,
}

impl Default for Scene {
    fn default() -> Scene {
        Scene::new()
    }
}

impl Scene {
    /// A destination holding [`prepopulated`] content.
    pub fn new() -> Scene {
        let scene = Scene::bare();
        std::fs::write(scene.dest.join("existing.txt"), b"keep me\n").unwrap();
        std::fs::create_dir(scene.dest.join("olddir")).unwrap();
        std::fs::write(scene.dest.join("olddir/inner.txt"), b"inner\n").unwrap();
        assert_eq!(scene.dest_tree(), prepopulated());
        scene
    }

    /// An empty destination.
    pub fn bare() -> Scene {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let dest = root.join("dest");
        std::fs::create_dir(&dest).unwrap();
        std::fs::create_dir(root.join("sentinel")).unwrap();
        std::fs::write(root.join("sentinel/secret.txt"), b"sentinel\n").unwrap();
        let scene = Scene { _tmp: tmp, root, dest };
        assert_eq!(scene.outside_tree(), outside_expected());
        scene
    }

    /// A capability for the destination.
    pub fn dest_dir(&self) -> Dir {
        Dir::open_ambient_dir(&self.dest, ambient_authority()).unwrap()
    }

    /// Everything below the destination.
    pub fn dest_tree(&self) -> BTreeMap<String, Node> {
        snapshot(&self.dest)
    }

    /// Everything in the temporary directory except the destination.
    pub fn outside_tree(&self) -> BTreeMap<String, Node> {
        let mut all = snapshot(&self.root);
        all.retain(|path, _| path != "dest" && !path.starts_with("dest/"));
        all
    }

    /// Extracts with the shared extractor.
    pub fn extract(&self, reader: impl Read + Send) -> Result<Report, Error> {
        self.extract_with(extractor(), reader)
    }

    /// Extracts with `extractor`.
    pub fn extract_with(&self, extractor: &Extractor, reader: impl Read + Send) -> Result<Report, Error> {
        extractor.extract(reader, &self.dest_dir())
    }

    /// Extracts `bytes`, expects a refusal, and checks that nothing changed
    /// anywhere. Returns the error for the caller to inspect.
    pub fn refuse(&self, bytes: &[u8]) -> Error {
        self.refuse_with(extractor(), bytes)
    }

    /// [`refuse`](Self::refuse) with `extractor`.
    pub fn refuse_with(&self, extractor: &Extractor, bytes: &[u8]) -> Error {
        let before = self.dest_tree();
        let err = self.extract_with(extractor, bytes).expect_err("the archive must be refused");
        assert!(err.is_refusal(), "not a refusal: {err:?}");
        assert_eq!(self.dest_tree(), before, "the destination changed on refusal ({err})");
        self.assert_no_staging();
        self.assert_outside_untouched();
        err
    }

    /// No staging directory is left in the destination.
    pub fn assert_no_staging(&self) {
        let left: Vec<String> = std::fs::read_dir(&self.dest)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".sealtar-staging-"))
            .collect();
        assert!(left.is_empty(), "staging directories left behind: {left:?}");
    }

    /// The sibling sentinel is untouched and nothing appeared next to the
    /// destination.
    pub fn assert_outside_untouched(&self) {
        assert_eq!(self.outside_tree(), outside_expected(), "something changed outside the destination");
    }
}

/// A reader that hands out 1, 2, …, 7, 1, 2, … bytes per call.
pub struct Trickle<'a> {
    data: &'a [u8],
    next: usize,
}

impl<'a> Trickle<'a> {
    /// Reads `data` in short pieces.
    pub fn new(data: &'a [u8]) -> Self {
        Trickle { data, next: 0 }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.next = self.next % 7 + 1;
        let n = buf.len().min(self.data.len()).min(self.next);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The local Cargo home: `$CARGO_HOME`, else `~/.cargo`.
pub fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME is set")
}

/// Every `.crate` file of the local Cargo cache (`$CARGO_HOME`, else
/// `~/.cargo`), sorted.
pub fn crates_in_cache() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(registries) = std::fs::read_dir(cargo_home().join("registry").join("cache")) else { return out };
    for registry in registries.flatten() {
        let Ok(files) = std::fs::read_dir(registry.path()) else { continue };
        out.extend(files.flatten().map(|f| f.path()).filter(|p| p.extension().is_some_and(|e| e == "crate")));
    }
    out.sort();
    out
}
