//! Cargo's registry index cache: what the registry published for each
//! version of a crate, and in particular its `cksum`, the SHA-256 of the
//! `.crate` file.
//!
//! Cargo keeps one file per crate name under
//! `registry/index/<index>/.cache/`, at the path the registry index itself
//! uses for that name lowercased (`1/a`, `2/ab`, `3/a/abc`, `se/rd/serde`).
//! Cargo writes it from the registry's index, never from a `.crate`. Its
//! layout (Cargo's `SummariesCache`, cache version 3):
//!
//! ```text
//! u8 cache version (3) | u32 LE index schema version (2) | index file version | 0
//! then, per published version: semver | 0 | the index's JSON line | 0
//! ```
//!
//! The JSON line is the registry's: `name`, `vers`, `cksum`, `yanked`... A
//! yanked version keeps its line and its `cksum`. This module reads the file
//! through handles, never following a link, and never trusts its shape: a
//! file that is too large, of another cache or schema version, or malformed
//! gives [`Lookup::Unusable`] (no record, and why), never a panic.

use std::io;
use std::sync::{Mutex, PoisonError};

use cap_std::fs::Dir;

use super::disk::{is_symlink_error, open_dir_path, read_capped_into};
use crate::escape;

/// The only cache format this reader knows: Cargo's `CURRENT_CACHE_VERSION`
/// since Cargo 1.52.
pub const INDEX_CACHE_VERSION: u8 = 3;

/// The index schema versions whose JSON lines carry `cksum` as this reader
/// expects (1, and 2 which added `features2`): Cargo's `INDEX_V_MAX` is 2.
pub const INDEX_SCHEMA_VERSIONS: [u32; 2] = [1, 2];

/// Largest index cache file read: 64 MiB. The largest on crates.io (one
/// line per version, every dependency and feature of each) are a few
/// megabytes: `web-sys`, with some 200 versions, is 4.9 MB.
pub const MAX_INDEX_CACHE_FILE: u64 = 64 << 20;

/// The directory holding the index cache inside `registry/index/<index>/`.
pub const INDEX_CACHE_DIR: &str = ".cache";

/// What one index cache file says about one version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexRecord {
    /// The `cksum` of that version: the SHA-256 of its `.crate`, lowercase hex.
    pub cksum: String,
    /// Whether the version is yanked (its `cksum` still holds).
    pub yanked: bool,
}

/// What the index cache has to say about one `<name>-<version>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup {
    /// The version's records (almost always one; Cargo once wrote two for
    /// versions differing only in build metadata).
    Found(Vec<IndexRecord>),
    /// No cache file for the name, or no line for the version.
    NoRecord,
    /// The cache file exists but cannot be used: no record, and why. The
    /// file is named relative to `registry/index/<index>/`, escaped.
    Unusable {
        /// The file, relative to `registry/index/<index>/`.
        file: String,
        /// Why it cannot be used.
        why: String,
    },
}

/// The index cache of one registry: a handle on `registry/index/<index>/`.
/// Shared by the threads of an audit.
pub struct IndexCache {
    dir: Dir,
    /// Buffers to read cache files into, one per thread at a time, kept
    /// between lookups: a fresh allocation of a large file's size costs
    /// more (page faults on new memory) than reading it.
    buffers: Mutex<Vec<Vec<u8>>>,
}

impl std::fmt::Debug for IndexCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the buffers: megabytes of cache files.
        f.debug_struct("IndexCache").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl IndexCache {
    /// The index cache under `index_dir`, `registry/index/<index>/` opened by
    /// the caller.
    pub fn new(index_dir: Dir) -> IndexCache {
        IndexCache { dir: index_dir, buffers: Mutex::new(Vec::new()) }
    }

    /// What the index cache records for `name` at `version` (both as in
    /// the `.crate`'s file name).
    ///
    /// # Security
    ///
    /// The file is found from `name` lowercased, as Cargo does, and only for
    /// a name made of ASCII letters, digits, `-` and `_` (every registry
    /// name): no other name can make the lookup leave `.cache/`. Each
    /// directory and the file are opened one name at a time from the
    /// index's handle with `O_NOFOLLOW`; a link is [`Lookup::Unusable`],
    /// never followed. At most [`MAX_INDEX_CACHE_FILE`] bytes are read.
    pub fn lookup(&self, name: &str, version: &str) -> Lookup {
        let mut buffer = self.buffers.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default();
        let found = self.lookup_with(name, version, &mut buffer);
        buffer.clear();
        self.buffers.lock().unwrap_or_else(PoisonError::into_inner).push(buffer);
        found
    }

    fn lookup_with(&self, name: &str, version: &str, buffer: &mut Vec<u8>) -> Lookup {
        let Some(relative) = index_cache_path(name) else { return Lookup::NoRecord };
        let (dirs, file) = relative.rsplit_once('/').unwrap_or(("", &relative));
        let shown = || format!("{INDEX_CACHE_DIR}/{}", escape(relative.as_bytes()));
        let unusable = |why: String| Lookup::Unusable { file: shown(), why };
        let from_io = |e: io::Error| {
            if e.kind() == io::ErrorKind::NotFound {
                Lookup::NoRecord
            } else if is_symlink_error(&e) {
                unusable("a symlink or not a directory on the way: not followed".to_string())
            } else {
                unusable(e.to_string())
            }
        };
        let parent = if dirs.is_empty() {
            open_dir_path(&self.dir, INDEX_CACHE_DIR)
        } else {
            open_dir_path(&self.dir, &format!("{INDEX_CACHE_DIR}/{dirs}"))
        };
        let parent = match parent {
            Ok(parent) => parent,
            Err(e) => return from_io(e),
        };
        match read_capped_into(&parent, file, MAX_INDEX_CACHE_FILE, buffer) {
            Ok(true) => {}
            Ok(false) => return unusable("not a regular file, or larger than 64 MiB".to_string()),
            Err(e) => return from_io(e),
        }
        match records(buffer, name, version) {
            Ok(found) if found.is_empty() => Lookup::NoRecord,
            Ok(found) => Lookup::Found(found),
            Err(why) => unusable(why),
        }
    }
}

/// The index cache file of `name`, relative to `.cache/`: the name
/// lowercased, under Cargo's index prefix directories. `None` for a name
/// no registry allows (empty, or anything but ASCII letters, digits, `-`
/// and `_`).
pub fn index_cache_path(name: &str) -> Option<String> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let name = name.to_ascii_lowercase();
    Some(match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    })
}

/// Splits a crate's `<name>-<version>` (a directory or `.crate` stem) into
/// its name and version. A name has no `.` and a version starts with
/// `MAJOR.`, so the split is the last `-` before the first `.`:
/// `foo-bar-1.0.0-rc.1` is `foo-bar` and `1.0.0-rc.1`. `None` when that
/// does not give a plausible name (ASCII letters, digits, `-`, `_`) and
/// version (starting with a digit, then only ASCII letters, digits, `.`,
/// `-`, `+`).
pub fn split_crate_id(id: &str) -> Option<(&str, &str)> {
    let before_dot = &id[..id.find('.')?];
    let at = before_dot.rfind('-')?;
    let (name, version) = (&id[..at], &id[at + 1..]);
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let version_ok = version.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && version.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
    (name_ok && version_ok).then_some((name, version))
}

/// The records for `name` at `version` in the bytes of an index cache
/// file. `Err` (why) when the file is not a cache this reader knows, or is
/// malformed anywhere: its header, its fields, or the JSON line of the
/// version asked for. A line whose `name` or `vers` is not the one asked
/// for is not a record of it.
pub fn records(bytes: &[u8], name: &str, version: &str) -> Result<Vec<IndexRecord>, String> {
    let (&cache_version, rest) = bytes.split_first().ok_or("empty file")?;
    if cache_version != INDEX_CACHE_VERSION {
        return Err(format!("cache version {cache_version}, not {INDEX_CACHE_VERSION}: another Cargo's format"));
    }
    let (schema, rest) = rest.split_first_chunk::<4>().ok_or("truncated header")?;
    let schema = u32::from_le_bytes(*schema);
    if !INDEX_SCHEMA_VERSIONS.contains(&schema) {
        return Err(format!("index schema version {schema}, not 1 or 2"));
    }
    // Every field, the last JSON line included, ends with a NUL.
    let body = rest.strip_suffix(&[0]).ok_or("does not end with a NUL")?;
    let mut start = 0;
    let mut fields = memchr::memchr_iter(0, body).chain([body.len()]).map(|end| {
        let field = body.get(start..end).unwrap_or_default();
        start = end + 1;
        field
    });
    let _index_file_version = fields.next();
    let mut found = Vec::new();
    while let Some(key) = fields.next() {
        let line = fields.next().ok_or("a version without its JSON line")?;
        if key.is_empty() || line.is_empty() {
            return Err("an empty field".to_string());
        }
        if key != version.as_bytes() {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_slice(line).map_err(|e| format!("the line of {}: not JSON ({e})", escape(key)))?;
        let field = |f: &str| json.get(f).and_then(serde_json::Value::as_str);
        if field("name") != Some(name) || field("vers") != Some(version) {
            continue;
        }
        let cksum = field("cksum")
            .filter(|c| is_sha256_hex(c))
            .ok_or_else(|| format!("the line of {}: no SHA-256 \"cksum\"", escape(key)))?;
        let yanked = json.get("yanked").and_then(serde_json::Value::as_bool).unwrap_or(false);
        found.push(IndexRecord { cksum: cksum.to_ascii_lowercase(), yanked });
    }
    Ok(found)
}

/// 64 hexadecimal digits, as Cargo writes a SHA-256.
pub(super) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SUM_B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

    fn file(lines: &[(&str, String)]) -> Vec<u8> {
        let mut out = vec![3, 2, 0, 0, 0];
        out.extend_from_slice(b"etag: \"abc\"\0");
        for (version, line) in lines {
            out.extend_from_slice(version.as_bytes());
            out.push(0);
            out.extend_from_slice(line.as_bytes());
            out.push(0);
        }
        out
    }

    fn line(name: &str, vers: &str, cksum: &str, yanked: bool) -> String {
        format!(r#"{{"name":"{name}","vers":"{vers}","deps":[],"cksum":"{cksum}","features":{{}},"yanked":{yanked}}}"#)
    }

    #[test]
    fn finds_the_version_asked_for_yanked_or_not() {
        let bytes =
            file(&[("1.0.0", line("foo", "1.0.0", SUM_A, false)), ("1.0.1", line("foo", "1.0.1", SUM_B, true))]);
        let a = records(&bytes, "foo", "1.0.0").unwrap();
        assert_eq!(a, [IndexRecord { cksum: SUM_A.to_string(), yanked: false }]);
        let b = records(&bytes, "foo", "1.0.1").unwrap();
        assert_eq!(b, [IndexRecord { cksum: SUM_B.to_ascii_lowercase(), yanked: true }]);
        assert!(records(&bytes, "foo", "2.0.0").unwrap().is_empty());
        assert!(records(&bytes, "Foo", "1.0.0").unwrap().is_empty(), "another name's line");
    }

    #[test]
    fn malformed_or_foreign_files_are_errors_never_panics() {
        let good = file(&[("1.0.0", line("foo", "1.0.0", SUM_A, false))]);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("cache version 2", [&[2u8][..], &good[1..]].concat()),
            ("schema version 3", [&[3u8, 3, 0, 0, 0][..], &good[5..]].concat()),
            ("no final NUL", good[..good.len() - 1].to_vec()),
            ("a version without its line", [&good[..], b"1.0.1\0"].concat()),
            ("not JSON", file(&[("1.0.0", "{not json".to_string())])),
            ("no cksum", file(&[("1.0.0", r#"{"name":"foo","vers":"1.0.0"}"#.to_string())])),
            ("a cksum that is not SHA-256", file(&[("1.0.0", line("foo", "1.0.0", "abc", false))])),
        ];
        for (what, bytes) in cases {
            assert!(records(&bytes, "foo", "1.0.0").is_err(), "{what}: {bytes:?}");
        }
        // A file cut anywhere never yields the record (cut right after the
        // header's field it is a valid file with no versions).
        for cut in 0..good.len() - 1 {
            let found = records(&good[..cut], "foo", "1.0.0");
            assert!(!matches!(&found, Ok(v) if !v.is_empty()), "cut at {cut}: {found:?}");
        }
        // Every prefix and every one-byte change: an answer, never a panic.
        for at in 0..good.len() {
            let mut changed = good.clone();
            changed[at] ^= 0xff;
            let _ = records(&changed, "foo", "1.0.0");
        }
    }

    #[test]
    fn lookups_open_one_name_at_a_time_and_cap_the_size() {
        use cap_std::ambient_authority;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(".cache/fo/ob");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("foobar"), file(&[("1.0.0", line("foobar", "1.0.0", SUM_A, true))])).unwrap();
        let index = IndexCache::new(Dir::open_ambient_dir(root.path(), ambient_authority()).unwrap());
        let found = Lookup::Found(vec![IndexRecord { cksum: SUM_A.to_string(), yanked: true }]);
        assert_eq!(index.lookup("foobar", "1.0.0"), found);
        assert_eq!(index.lookup("foobar", "1.0.0"), found, "a reused buffer reads the same");
        assert_eq!(index.lookup("FooBar", "1.0.0"), Lookup::NoRecord, "the same file, another name's lines");
        assert_eq!(index.lookup("foobar", "2.0.0"), Lookup::NoRecord);
        assert_eq!(index.lookup("other", "1.0.0"), Lookup::NoRecord);
        assert_eq!(index.lookup("../x", "1.0.0"), Lookup::NoRecord);
        // Larger than the cap: refused from its size, never read (a sparse file).
        std::fs::File::create(dir.join("foobaz")).unwrap().set_len(MAX_INDEX_CACHE_FILE + 1).unwrap();
        assert!(matches!(index.lookup("foobaz", "1.0.0"), Lookup::Unusable { .. }));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("foobar"), dir.join("foobay")).unwrap();
            let Lookup::Unusable { file, .. } = index.lookup("foobay", "1.0.0") else { panic!("a link is followed") };
            assert_eq!(file, ".cache/fo/ob/foobay");
            std::fs::rename(root.path().join(".cache/fo"), root.path().join("elsewhere")).unwrap();
            std::os::unix::fs::symlink(root.path().join("elsewhere"), root.path().join(".cache/fo")).unwrap();
            assert!(matches!(index.lookup("foobar", "1.0.0"), Lookup::Unusable { .. }), "a linked directory");
        }
    }

    #[test]
    fn cache_paths_are_cargos() {
        assert_eq!(index_cache_path("a").as_deref(), Some("1/a"));
        assert_eq!(index_cache_path("ab").as_deref(), Some("2/ab"));
        assert_eq!(index_cache_path("Syn").as_deref(), Some("3/s/syn"));
        assert_eq!(index_cache_path("serde").as_deref(), Some("se/rd/serde"));
        assert_eq!(index_cache_path("Inflector").as_deref(), Some("in/fl/inflector"));
        for bad in ["", "..", "a/b", "a.b", "é", "a\0"] {
            assert_eq!(index_cache_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn crate_ids_split_at_the_last_dash_before_the_version() {
        assert_eq!(split_crate_id("serde-1.0.200"), Some(("serde", "1.0.200")));
        assert_eq!(split_crate_id("wasm-bindgen-0.2.100"), Some(("wasm-bindgen", "0.2.100")));
        assert_eq!(split_crate_id("foo-bar-1.0.0-rc.1"), Some(("foo-bar", "1.0.0-rc.1")));
        assert_eq!(split_crate_id("openssl-src-110.0.0+1.1.0f"), Some(("openssl-src", "110.0.0+1.1.0f")));
        assert_eq!(split_crate_id("toml-1.1.2+spec-1.1.0"), Some(("toml", "1.1.2+spec-1.1.0")));
        assert_eq!(split_crate_id("x2-1-0.1.0"), Some(("x2-1", "0.1.0")));
        for bad in ["serde", "serde-", "-1.0.0", "serde-x.1", "a.b-1.0.0", "a/b-1.0.0", "serde-1.0.0/x"] {
            assert_eq!(split_crate_id(bad), None, "{bad:?}");
        }
    }
}
