//! The library API against hostile archives, each built from raw header
//! bytes. Every refusal must leave the destination exactly as it was, leave
//! no staging directory, and touch nothing next to the destination.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant, SystemTime};

use sealtar::{Error, Extractor, Kind, Layer, Rule};
use sealtar_tests::{BLOCK, Header, Node, Tar, gzip, gzip_zeros};

use crate::support::{Scene, Trickle, exec, extractor, file, options, outside_expected, prepopulated, tree, with};

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// The hostile archives' checks on a [`Scene`].
trait Checks {
    fn scene(&self) -> &Scene;

    /// Expects a policy refusal of entry `index` under `rule`.
    fn assert_refused(&self, bytes: &[u8], index: u64, rule: Rule) {
        match self.scene().refuse(bytes) {
            Error::Refused { index: i, rule: r, path } => {
                assert_eq!((i, &r), (index, &rule), "refused entry {i} \"{path}\" for {r}");
            }
            other => panic!("expected entry {index} refused for {rule:?}, got {other:?}"),
        }
    }

    /// Expects a malformed-archive refusal in `layer`, at `offset` when it is
    /// deterministic, whose message contains `needle`.
    fn assert_malformed(&self, bytes: &[u8], layer: Layer, offset: Option<u64>, needle: &str) -> u64 {
        match self.scene().refuse(bytes) {
            Error::Malformed { offset: o, layer: l, message } => {
                assert_eq!(l, layer, "{message}");
                if let Some(offset) = offset {
                    assert_eq!(o, offset, "{message}");
                }
                assert!(message.contains(needle), "message {message:?} lacks {needle:?}");
                o
            }
            other => panic!("expected a malformed archive, got {other:?}"),
        }
    }

    /// Extracts `bytes`, expects success, and checks the whole tree.
    fn accept(&self, bytes: &[u8], expected: &BTreeMap<String, Node>) -> sealtar::Report {
        let report = self.scene().extract(bytes).unwrap_or_else(|e| panic!("refused: {e}"));
        assert_eq!(&self.scene().dest_tree(), expected);
        self.scene().assert_no_staging();
        self.scene().assert_outside_untouched();
        report
    }
}

impl Checks for Scene {
    fn scene(&self) -> &Scene {
        self
    }
}

/// Refused in a pre-populated destination.
fn assert_refused(bytes: &[u8], index: u64, rule: Rule) {
    Scene::new().assert_refused(bytes, index, rule);
}

fn assert_malformed(bytes: &[u8], layer: Layer, offset: Option<u64>, needle: &str) -> u64 {
    Scene::new().assert_malformed(bytes, layer, offset, needle)
}

/// A harmless first member, so that a refused later member proves that
/// nothing before it was published.
fn tar_with_good_first() -> Tar {
    let mut t = Tar::new();
    t.file("good.txt", b"good\n");
    t
}

fn mtime_of(path: &std::path::Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

// ---------------------------------------------------------------------------
// Links and special files
// ---------------------------------------------------------------------------

#[test]
fn symlink_is_refused() {
    let bytes = tar_with_good_first().symlink("link", "good.txt").finish();
    assert_refused(&bytes, 1, Rule::ForbiddenKind(Kind::Symlink));
}

#[test]
fn hardlink_is_refused() {
    let bytes = tar_with_good_first().hardlink("hard", "good.txt").finish();
    assert_refused(&bytes, 1, Rule::ForbiddenKind(Kind::Hardlink));
}

#[test]
fn symlink_to_absolute_path_is_refused() {
    let scene = Scene::new();
    let target = scene.root.join("sentinel/secret.txt");
    let bytes = tar_with_good_first().symlink("abs-link", target.to_str().unwrap()).finish();
    scene.assert_refused(&bytes, 1, Rule::ForbiddenKind(Kind::Symlink));
}

#[test]
fn symlink_to_parent_is_refused() {
    let bytes = tar_with_good_first().symlink("up", "..").finish();
    assert_refused(&bytes, 1, Rule::ForbiddenKind(Kind::Symlink));
}

#[test]
fn file_written_through_a_symlink_is_refused() {
    // `pkg/link` points at `<tmp>/outside`; `pkg/link/x` would land there.
    let bytes = Tar::new().dir("pkg/").symlink("pkg/link", "../../outside").file("pkg/link/x", b"pwned").finish();
    let scene = Scene::new();
    scene.assert_refused(&bytes, 1, Rule::ForbiddenKind(Kind::Symlink));
    assert!(!scene.root.join("outside").exists());
}

#[test]
fn existing_symlink_in_destination_is_not_followed() {
    // A link planted in the destination beforehand (not by the archive): the
    // archive may not write through it.
    let scene = Scene::new();
    #[cfg(unix)]
    std::os::unix::fs::symlink("../sentinel", scene.dest.join("planted")).unwrap();
    #[cfg(not(unix))]
    std::fs::write(scene.dest.join("planted"), b"").unwrap();
    let bytes = Tar::new().file("ok.txt", b"ok").file("planted/secret.txt", b"overwritten").finish();
    scene.assert_refused(&bytes, 1, Rule::ExistsInDestination);
    assert_eq!(std::fs::read(scene.root.join("sentinel/secret.txt")).unwrap(), b"sentinel\n");
}

#[test]
fn char_device_is_refused() {
    let bytes = tar_with_good_first().device("null", b'3', 1, 3).finish();
    assert_refused(&bytes, 1, Rule::ForbiddenKind(Kind::CharDevice));
}

#[test]
fn block_device_is_refused() {
    let bytes = tar_with_good_first().device("sda", b'4', 8, 0).finish();
    assert_refused(&bytes, 1, Rule::ForbiddenKind(Kind::BlockDevice));
}

#[test]
fn fifo_is_refused() {
    let bytes = tar_with_good_first().fifo("pipe").finish();
    assert_refused(&bytes, 1, Rule::ForbiddenKind(Kind::Fifo));
}

#[test]
fn unknown_type_flag_is_refused() {
    let bytes = tar_with_good_first().entry(&Header::new(b"weird", b'Z', 5), b"12345").finish();
    assert_refused(&bytes, 1, Rule::ForbiddenKind(Kind::Other));
}

// ---------------------------------------------------------------------------
// Path traversal
// ---------------------------------------------------------------------------

#[test]
fn traversal_parent_prefix_is_refused() {
    let bytes = tar_with_good_first().file("../x", b"escaped").finish();
    assert_refused(&bytes, 1, Rule::ParentComponent);
}

#[test]
fn traversal_through_a_subdirectory_is_refused() {
    let bytes = tar_with_good_first().file("a/../../x", b"escaped").finish();
    assert_refused(&bytes, 1, Rule::ParentComponent);
}

/// `dir` as an absolute name in an archive: the path itself on Unix; on
/// Windows the same directory on the current drive (`/users/...` for
/// `C:\users\...`), which is what a careless extractor there would write to.
/// (`C:\...` in an archive is not absolute but a name with a ':' and
/// backslashes, refused for those.)
fn absolute_name(dir: &std::path::Path) -> String {
    let shown = dir.display().to_string();
    if cfg!(windows) {
        let without_drive = shown.split_once(':').map_or(shown.as_str(), |(_, rest)| rest);
        without_drive.replace('\\', "/")
    } else {
        shown
    }
}

#[test]
fn traversal_absolute_path_is_refused() {
    let scene = Scene::new();
    let name = format!("{}/abs", absolute_name(&scene.root));
    let bytes = tar_with_good_first().file(&name, b"escaped").finish();
    scene.assert_refused(&bytes, 1, Rule::AbsolutePath);
}

#[test]
fn traversal_double_slash_absolute_path_is_refused() {
    let scene = Scene::new();
    let name = format!("/{}/abs", absolute_name(&scene.root));
    assert!(name.starts_with("//"));
    let bytes = tar_with_good_first().file(&name, b"escaped").finish();
    scene.assert_refused(&bytes, 1, Rule::AbsolutePath);
}

#[test]
fn traversal_dot_then_parent_is_refused() {
    let bytes = tar_with_good_first().file("./../x", b"escaped").finish();
    assert_refused(&bytes, 1, Rule::ParentComponent);
}

#[test]
fn traversal_deeper_than_it_descends_is_refused() {
    let bytes = tar_with_good_first().file("a/b/../../../x", b"escaped").finish();
    assert_refused(&bytes, 1, Rule::ParentComponent);
}

#[test]
fn traversal_via_pax_path_is_refused() {
    // The ustar name is harmless; the PAX record that replaces it is not.
    let bytes = tar_with_good_first().pax(&[("path", b"../../escaped")]).file("harmless", b"escaped").finish();
    assert_refused(&bytes, 1, Rule::ParentComponent);
}

#[test]
fn traversal_via_gnu_long_name_is_refused() {
    let bytes = tar_with_good_first().gnu_long(b'L', b"../../escaped").file("harmless", b"escaped").finish();
    assert_refused(&bytes, 1, Rule::ParentComponent);
}

#[test]
fn traversal_by_a_directory_entry_is_refused() {
    let bytes = tar_with_good_first().dir("../d/").finish();
    assert_refused(&bytes, 1, Rule::ParentComponent);
}

// ---------------------------------------------------------------------------
// Names that are not names
// ---------------------------------------------------------------------------

#[test]
fn nul_byte_in_pax_path_is_refused() {
    let bytes = tar_with_good_first().pax(&[("path", b"safe\0../../escaped")]).file("harmless", b"x").finish();
    assert_refused(&bytes, 1, Rule::NulByte);
}

#[test]
fn non_utf8_name_is_refused() {
    let bytes = tar_with_good_first().entry(&Header::new(b"caf\xe9.txt", b'0', 1), b"x").finish();
    assert_refused(&bytes, 1, Rule::NotUtf8);
}

#[test]
fn empty_name_is_refused() {
    let bytes = tar_with_good_first().entry(&Header::new(b"", b'0', 1), b"x").finish();
    assert_refused(&bytes, 1, Rule::EmptyName);
}

#[test]
fn reserved_staging_name_at_top_level_is_refused() {
    let bytes = tar_with_good_first().file(".sealtar-staging-x", b"x").finish();
    assert_refused(&bytes, 1, Rule::ReservedName);
    let bytes = tar_with_good_first().file("./.sealtar-staging-x/lock", b"x").finish();
    assert_refused(&bytes, 1, Rule::ReservedName);
}

#[test]
fn staging_prefix_below_top_level_is_an_ordinary_name() {
    let bytes = Tar::new().file("sub/.sealtar-staging-x", b"x").finish();
    let scene = Scene::new();
    let expected = with(&prepopulated(), &[("sub", Node::Dir), ("sub/.sealtar-staging-x", file(b"x"))]);
    scene.accept(&bytes, &expected);
}

// ---------------------------------------------------------------------------
// One path, one meaning
// ---------------------------------------------------------------------------

#[test]
fn duplicate_file_is_refused() {
    let bytes = Tar::new().file("a", b"first").file("a", b"second").finish();
    assert_refused(&bytes, 1, Rule::Duplicate { first: 0 });
}

#[test]
fn duplicate_file_spelled_with_dot_slash_is_refused() {
    let bytes = Tar::new().file("a", b"first").file("./a", b"second").finish();
    assert_refused(&bytes, 1, Rule::Duplicate { first: 0 });
}

#[test]
fn file_named_with_trailing_slashes_is_refused() {
    // `a//` as a regular file: GNU tar makes a directory, Python a file.
    let bytes = Tar::new().file("a", b"first").file("a//", b"second").finish();
    assert_refused(&bytes, 1, Rule::TrailingSlash);
}

#[test]
fn duplicate_directory_is_refused() {
    let bytes = Tar::new().dir("d/").file("d/f", b"x").dir("d/").finish();
    assert_refused(&bytes, 2, Rule::Duplicate { first: 0 });
}

#[test]
fn file_then_path_below_it_is_refused() {
    let bytes = Tar::new().file("a", b"file").file("a/b", b"below").finish();
    assert_refused(&bytes, 1, Rule::FileDirectoryConflict { other: 0 });
}

#[test]
fn path_below_then_file_at_its_parent_is_refused() {
    let bytes = Tar::new().file("a/b", b"below").file("a", b"file").finish();
    assert_refused(&bytes, 1, Rule::FileDirectoryConflict { other: 0 });
}

// ---------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------

#[test]
fn truncated_in_header_is_refused() {
    let mut bytes = Tar::new().file("first", b"12345").unterminated();
    assert_eq!(bytes.len(), 2 * BLOCK);
    bytes.extend_from_slice(&Header::new(b"second", b'0', 0).build()[..300]);
    assert_malformed(&bytes, Layer::Tar, Some(2 * BLOCK as u64), "truncated header");
}

#[test]
fn truncated_in_data_is_refused() {
    let full = Tar::new().file("big", &[7u8; 1000]).finish();
    assert_malformed(&full[..700], Layer::Tar, Some(700), "truncated");
}

#[test]
fn bad_checksum_is_refused() {
    let mut h = Header::new(b"second", b'0', 0);
    h.bad_checksum(b"0000001\0");
    let bytes = Tar::new().file("first", b"").entry(&h, b"").finish();
    assert_malformed(&bytes, Layer::Tar, Some(BLOCK as u64), "checksum");
}

#[test]
fn data_after_end_marker_is_refused() {
    let mut bytes = Tar::new().file("a", b"x").finish();
    let marker_end = bytes.len() as u64;
    bytes.extend(Tar::new().file("hidden", b"y").finish());
    assert_malformed(&bytes, Layer::Tar, Some(marker_end), "after the end-of-archive");
}

/// A gzip-compressed archive with enough varied data that the deflate
/// stream has real Huffman-coded blocks to corrupt.
fn gzipped_sample() -> Vec<u8> {
    let text: Vec<u8> =
        (0..20_000u32).flat_map(|i| format!("line {i} of {}\n", i * 7919 % 104_729).into_bytes()).collect();
    gzip(&Tar::new().file("a.txt", &text).file("b.txt", b"tail").finish())
}

#[test]
fn corrupt_gzip_is_refused() {
    let mut bytes = gzipped_sample();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 8] {
        *b ^= 0xa5;
    }
    let len = bytes.len() as u64;
    let offset = assert_malformed(&bytes, Layer::Input, None, "gzip");
    assert!(offset <= len, "offset {offset} beyond the input ({len} bytes)");
}

#[test]
fn corrupt_gzip_block_type_is_refused() {
    // The first deflate block header (after the 10-byte gzip header) gets the
    // reserved block type 3.
    let mut bytes = gzipped_sample();
    bytes[10] |= 0b110;
    assert_malformed(&bytes, Layer::Input, None, "gzip");
}

#[test]
fn truncated_gzip_is_refused() {
    let bytes = gzipped_sample();
    let half = bytes.len() / 2;
    assert_malformed(&bytes[..half], Layer::Input, None, "gzip");
}

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

/// Counts the bytes taken from the inner reader.
struct Counting<'a> {
    inner: &'a [u8],
    taken: &'a std::sync::atomic::AtomicUsize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.taken.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

#[test]
fn gzip_bomb_is_refused_by_the_size_limit_quickly() {
    const THREE_GIB: u64 = 3 << 30;
    let bomb = gzip_zeros("zeros.bin", THREE_GIB);
    assert!(bomb.len() < 16 << 20, "the bomb is {} bytes compressed", bomb.len());
    let scene = Scene::new();
    let before = scene.dest_tree();
    let taken = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    let err = scene.extract(Counting { inner: &bomb, taken: &taken }).expect_err("a bomb must be refused");
    let elapsed = start.elapsed();
    match &err {
        // The declared size counts as soon as the header is read: 3 GiB
        // against the 1 GiB floor (the compressed input is far below 10 MiB).
        Error::Refused { index: 0, rule: Rule::TooLarge { max }, .. } => assert_eq!(*max, 1 << 30),
        other => panic!("expected entry 0 refused as too large, got {other:?}"),
    }
    assert!(err.is_refusal());
    let taken = taken.into_inner();
    assert!(taken < bomb.len(), "the whole bomb was read ({taken} bytes): refused only after decompressing it");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(scene.dest_tree(), before);
    scene.assert_no_staging();
    scene.assert_outside_untouched();
}

#[test]
fn max_size_option_is_enforced() {
    let mut options = options();
    // The limit counts the tar stream read so far (headers and padding
    // included), so that extension headers cannot slip past it.
    options.max_size = Some(2000);
    let strict = Extractor::new(options).unwrap();
    let scene = Scene::new();
    let before = scene.dest_tree();
    let bytes = Tar::new().file("small", &[1u8; 500]).file("big", &[2u8; 2000]).finish();
    let err = scene.extract_with(&strict, &bytes[..]).expect_err("over the size limit");
    match &err {
        Error::Refused { index: 1, rule: Rule::TooLarge { max: 2000 }, .. } => {}
        other => panic!("expected entry 1 refused as over 2000 bytes, got {other:?}"),
    }
    assert!(err.is_refusal());
    assert_eq!(scene.dest_tree(), before);
    scene.assert_no_staging();
    scene.assert_outside_untouched();

    // Exactly at the limit is fine: "small" takes blocks 0-1, "fits" has
    // its header at 1024 and its data in 1536..2000.
    let bytes = Tar::new().file("small", &[1u8; 500]).file("fits", &[2u8; 464]).finish();
    scene.extract_with(&strict, &bytes[..]).unwrap();
    let expected = with(&prepopulated(), &[("small", file(&[1u8; 500])), ("fits", file(&[2u8; 464]))]);
    assert_eq!(scene.dest_tree(), expected);
    scene.assert_no_staging();
}

#[test]
fn max_entries_option_is_enforced() {
    let mut options = options();
    options.max_entries = 3;
    let strict = Extractor::new(options).unwrap();
    let scene = Scene::new();
    let before = scene.dest_tree();
    let bytes = Tar::new().file("a", b"1").file("b", b"2").file("c", b"3").file("d", b"4").finish();
    let err = scene.extract_with(&strict, &bytes[..]).expect_err("over the entry limit");
    assert!(err.is_refusal());
    match &err {
        Error::Refused { index: 3, rule: Rule::TooManyEntries { max: 3 }, .. } => {}
        other => panic!("expected entry 3 refused as one too many, got {other:?}"),
    }
    assert_eq!(scene.dest_tree(), before);
    scene.assert_no_staging();
    scene.assert_outside_untouched();

    // Three entries are fine.
    let bytes = Tar::new().file("a", b"1").file("b", b"2").file("c", b"3").finish();
    scene.extract_with(&strict, &bytes[..]).unwrap();
    let expected = with(&prepopulated(), &[("a", file(b"1")), ("b", file(b"2")), ("c", file(b"3"))]);
    assert_eq!(scene.dest_tree(), expected);
}

#[test]
fn component_over_255_bytes_is_refused() {
    let name = format!("dir/{}/f", "c".repeat(256));
    let bytes = tar_with_good_first().pax(&[("path", name.as_bytes())]).file("short", b"x").finish();
    assert_refused(&bytes, 1, Rule::ComponentTooLong { len: 256, max: 255 });
}

#[test]
fn component_of_255_bytes_is_accepted() {
    let long = "c".repeat(255);
    let bytes = Tar::new().gnu_long(b'L', format!("dir/{long}").as_bytes()).file("short", b"x").finish();
    let scene = Scene::bare();
    let path = format!("dir/{long}");
    scene.accept(&bytes, &tree(&[("dir", Node::Dir), (path.as_str(), file(b"x"))]));
}

#[test]
fn path_over_4096_bytes_is_refused() {
    // 17 components of 250 bytes: each under the component limit, the whole
    // over the path limit.
    let name = vec!["p".repeat(250); 17].join("/");
    assert_eq!(name.len(), 17 * 251 - 1);
    let bytes = tar_with_good_first().pax(&[("path", name.as_bytes())]).file("short", b"x").finish();
    assert_refused(&bytes, 1, Rule::PathTooLong { len: name.len(), max: 4095 });
}

// ---------------------------------------------------------------------------
// Existing content of the destination
// ---------------------------------------------------------------------------

#[test]
fn existing_file_in_destination_is_not_replaced() {
    let bytes = Tar::new().file("new.txt", b"new").file("existing.txt", b"replaced!").finish();
    let scene = Scene::new();
    scene.assert_refused(&bytes, 1, Rule::ExistsInDestination);
    assert_eq!(std::fs::read(scene.dest.join("existing.txt")).unwrap(), b"keep me\n");
}

#[test]
fn existing_file_in_an_existing_directory_is_not_replaced() {
    let bytes =
        Tar::new().dir("olddir/").file("olddir/new.txt", b"new").file("olddir/inner.txt", b"replaced!").finish();
    Scene::new().assert_refused(&bytes, 2, Rule::ExistsInDestination);
}

#[test]
fn file_over_an_existing_directory_is_refused() {
    let bytes = Tar::new().file("new.txt", b"new").file("olddir", b"not a dir").finish();
    Scene::new().assert_refused(&bytes, 1, Rule::ExistsInDestination);
}

#[test]
fn directory_over_an_existing_file_is_refused() {
    let bytes = Tar::new().file("new.txt", b"new").file("existing.txt/below", b"x").finish();
    Scene::new().assert_refused(&bytes, 1, Rule::ExistsInDestination);
}

#[test]
fn existing_directory_is_entered_and_merged() {
    let bytes = Tar::new()
        .dir("olddir/")
        .file("olddir/new.txt", b"new")
        .file("olddir/sub/deeper.txt", b"deeper")
        .file("top.txt", b"top")
        .finish();
    let scene = Scene::new();
    let expected = with(
        &prepopulated(),
        &[
            ("olddir/new.txt", file(b"new")),
            ("olddir/sub", Node::Dir),
            ("olddir/sub/deeper.txt", file(b"deeper")),
            ("top.txt", file(b"top")),
        ],
    );
    let report = scene.accept(&bytes, &expected);
    assert_eq!((report.files, report.bytes), (3, 12));
}

// ---------------------------------------------------------------------------
// What a good archive becomes
// ---------------------------------------------------------------------------

const PAX_MTIME: u64 = 1_234_567_890;

fn pax_long_path() -> String {
    format!("pkg/{}/pax-file.txt", "p".repeat(120))
}

fn gnu_long_path() -> String {
    format!("pkg/{}.txt", "g".repeat(150))
}

fn data_bin() -> Vec<u8> {
    (0..3000u32).map(|i| (i * 31 % 251) as u8).collect()
}

/// Directories, files, an executable, implicit parents, a PAX long path with
/// its own mtime, a GNU long name, `./` prefixes and a root `./` entry.
fn normal_archive() -> Vec<u8> {
    Tar::new()
        .dir("./")
        .dir("./pkg/")
        .file("./pkg/README.md", b"# pkg\n")
        .exec_file("pkg/bin/run", b"#!/bin/sh\necho hi\n")
        .file("deep/er/still/file.txt", b"deep\n")
        .dir("deep/er/")
        .pax(&[("path", pax_long_path().as_bytes()), ("mtime", b"1234567890.5")])
        .file("pax-short", b"pax\n")
        .gnu_long(b'L', gnu_long_path().as_bytes())
        .file("gnu-short", b"gnu\n")
        .file("empty.txt", b"")
        .file("pkg/data.bin", &data_bin())
        .file("./dotted.txt", b"dotted\n")
        .finish()
}

fn normal_tree() -> BTreeMap<String, Node> {
    let pax_dir = format!("pkg/{}", "p".repeat(120));
    tree(&[
        ("pkg", Node::Dir),
        ("pkg/README.md", file(b"# pkg\n")),
        ("pkg/bin", Node::Dir),
        ("pkg/bin/run", exec(b"#!/bin/sh\necho hi\n")),
        ("deep", Node::Dir),
        ("deep/er", Node::Dir),
        ("deep/er/still", Node::Dir),
        ("deep/er/still/file.txt", file(b"deep\n")),
        (pax_dir.as_str(), Node::Dir),
        (pax_long_path().as_str(), file(b"pax\n")),
        (gnu_long_path().as_str(), file(b"gnu\n")),
        ("empty.txt", file(b"")),
        ("pkg/data.bin", file(&data_bin())),
        ("dotted.txt", file(b"dotted\n")),
    ])
}

/// The process umask, read back from a file created with mode 0777.
#[cfg(unix)]
fn umask() -> u32 {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o777).open(&probe).unwrap();
    !std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777
}

/// Checks every mode below `root` for archives whose entries are 0644 and
/// 0755 (or wider): directories 0755, files 0644 or 0755 (owner-exec as in
/// `expected`), minus the umask; never setuid, setgid, sticky, or
/// group/other-writable. (Narrower modes stay narrower: see
/// `bounds::modes_are_narrowed_never_widened`.)
#[cfg(unix)]
fn assert_modes(root: &std::path::Path, expected: &BTreeMap<String, Node>) {
    use std::os::unix::fs::PermissionsExt;
    let umask = umask();
    for (path, node) in expected {
        let mode = std::fs::symlink_metadata(root.join(path)).unwrap().permissions().mode() & 0o7777;
        let want = match node {
            Node::Dir | Node::File { exec: true, .. } => 0o755 & !umask,
            Node::File { exec: false, .. } => 0o644 & !umask,
            other => panic!("{path}: unexpected {other:?}"),
        };
        assert_eq!(mode, want, "{path}: mode {mode:04o}, expected {want:04o} (umask {umask:03o})");
        assert_eq!(mode & 0o7022, 0, "{path}: mode {mode:04o}");
    }
}

#[test]
fn normal_archive_extracts_exactly() {
    let scene = Scene::bare();
    let expected = normal_tree();
    let report = scene.accept(&normal_archive(), &expected);
    assert_eq!(report.files, 8);
    // pkg, pkg/bin, deep, deep/er, deep/er/still, pkg/ppp…
    assert_eq!(report.directories, 6);
    assert_eq!(report.bytes, 6 + 18 + 5 + 4 + 4 + 3000 + 7);
    #[cfg(unix)]
    assert_modes(&scene.dest, &expected);
    for (path, node) in &expected {
        if matches!(node, Node::File { .. }) {
            let want = if *path == pax_long_path() { at(PAX_MTIME) } else { at(1_700_000_000) };
            assert_eq!(mtime_of(&scene.dest.join(path)), want, "{path}");
        }
    }
}

#[test]
fn gzip_archive_extracts_the_same() {
    let scene = Scene::bare();
    scene.accept(&gzip(&normal_archive()), &normal_tree());
}

#[test]
fn short_reads_give_the_same_result() {
    let plain = Scene::bare();
    plain.extract(&normal_archive()[..]).unwrap();
    for bytes in [normal_archive(), gzip(&normal_archive())] {
        let trickled = Scene::bare();
        trickled.extract(Trickle::new(&bytes)).unwrap();
        assert_eq!(trickled.dest_tree(), plain.dest_tree());
        assert_eq!(trickled.dest_tree(), normal_tree());
        trickled.assert_no_staging();
    }
    // Refusals do not depend on read sizes either.
    let hostile = tar_with_good_first().symlink("s", "/").finish();
    let scene = Scene::new();
    match scene.extract(Trickle::new(&hostile)) {
        Err(Error::Refused { index: 1, rule: Rule::ForbiddenKind(Kind::Symlink), .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(scene.dest_tree(), prepopulated());
    let truncated = &Tar::new().file("big", &[7u8; 1000]).finish()[..700];
    match scene.extract(Trickle::new(truncated)) {
        Err(Error::Malformed { offset: 700, layer: Layer::Tar, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(scene.dest_tree(), prepopulated());
    scene.assert_no_staging();
}

#[test]
fn special_mode_bits_are_never_applied() {
    let mut setuid = Header::new(b"setuid", b'0', 2);
    setuid.mode(0o4755);
    let mut setgid = Header::new(b"setgid", b'0', 2);
    setgid.mode(0o2755);
    let mut sticky = Header::new(b"sticky/", b'5', 0);
    sticky.mode(0o1777);
    let mut world = Header::new(b"world", b'0', 2);
    world.mode(0o666);
    let bytes =
        Tar::new().entry(&setuid, b"u\n").entry(&setgid, b"g\n").entry(&sticky, b"").entry(&world, b"w\n").finish();
    let scene = Scene::bare();
    let expected =
        tree(&[("setuid", exec(b"u\n")), ("setgid", exec(b"g\n")), ("sticky", Node::Dir), ("world", file(b"w\n"))]);
    scene.accept(&bytes, &expected);
    #[cfg(unix)]
    assert_modes(&scene.dest, &expected);
}

// ---------------------------------------------------------------------------
// Staging directories
// ---------------------------------------------------------------------------

/// Leaves what a killed run leaves: an unlocked staging directory with a
/// half-written tree. No run can prove it was its own, so none removes it.
fn plant_stale_staging(scene: &Scene) {
    let stale = scene.dest.join(".sealtar-staging-999-dead");
    std::fs::create_dir_all(stale.join("tree")).unwrap();
    std::fs::write(stale.join("tree/file"), b"half written").unwrap();
    std::fs::write(stale.join("lock"), b"").unwrap();
}

fn stale_tree() -> BTreeMap<String, Node> {
    tree(&[
        (".sealtar-staging-999-dead", Node::Dir),
        (".sealtar-staging-999-dead/tree", Node::Dir),
        (".sealtar-staging-999-dead/tree/file", file(b"half written")),
        (".sealtar-staging-999-dead/lock", file(b"")),
    ])
}

#[test]
fn stale_staging_is_left_alone_by_a_successful_extraction() {
    let scene = Scene::new();
    plant_stale_staging(&scene);
    let bytes = Tar::new().file("fresh.txt", b"fresh").finish();
    scene.extract(&bytes[..]).unwrap();
    let mut expected = with(&prepopulated(), &[("fresh.txt", file(b"fresh"))]);
    expected.extend(stale_tree());
    assert_eq!(scene.dest_tree(), expected);
    scene.assert_outside_untouched();
}

#[test]
fn stale_staging_is_left_alone_by_a_refused_extraction() {
    let scene = Scene::new();
    plant_stale_staging(&scene);
    let bytes = tar_with_good_first().symlink("s", "x").finish();
    let err = scene.extract(&bytes[..]).expect_err("refused");
    assert!(matches!(err, Error::Refused { index: 1, rule: Rule::ForbiddenKind(Kind::Symlink), .. }), "{err:?}");
    let mut expected = prepopulated();
    expected.extend(stale_tree());
    assert_eq!(scene.dest_tree(), expected);
    scene.assert_outside_untouched();
}

// ---------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------

#[test]
fn list_reports_a_verdict_per_entry_and_writes_nothing() {
    let scene = Scene::new();
    let abs = format!("{}/abs", absolute_name(&scene.root));
    let bytes = Tar::new()
        .file("ok.txt", b"fine")
        .symlink("link", "/etc/passwd")
        .file("../up", b"x")
        .file(&abs, b"x")
        .dir("d/")
        .file("d", b"x")
        .device("null", b'3', 1, 3)
        .entry(&Header::new(b"bad\xff", b'0', 0), b"")
        .exec_file("run", b"#!")
        .finish();
    let manifest = extractor().list(&bytes[..]).unwrap();
    assert!(!manifest.is_acceptable());
    assert!(manifest.error.is_none(), "{:?}", manifest.error);
    let got: Vec<(u64, &str, Kind, Option<Rule>)> =
        manifest.entries.iter().map(|e| (e.index, e.path.as_str(), e.kind, e.refusal.clone())).collect();
    assert_eq!(
        got,
        [
            (0, "ok.txt", Kind::File, None),
            (1, "link", Kind::Symlink, Some(Rule::ForbiddenKind(Kind::Symlink))),
            (2, "../up", Kind::File, Some(Rule::ParentComponent)),
            (3, abs.as_str(), Kind::File, Some(Rule::AbsolutePath)),
            (4, "d/", Kind::Directory, None),
            (5, "d", Kind::File, Some(Rule::FileDirectoryConflict { other: 4 })),
            (6, "null", Kind::CharDevice, Some(Rule::ForbiddenKind(Kind::CharDevice))),
            (7, "bad\\xff", Kind::File, Some(Rule::NotUtf8)),
            (8, "run", Kind::File, None),
        ]
    );
    let link = &manifest.entries[1];
    assert_eq!(link.link_target.as_deref(), Some("/etc/passwd"));
    assert_eq!(link.type_flag, b'2');
    assert_eq!(manifest.entries[7].raw_path, b"bad\xff");
    let run = &manifest.entries[8];
    assert_eq!((run.size, run.mode, run.mtime), (2, 0o755, 1_700_000_000));
    // ok.txt 2 blocks, link 1, ../up 2, abs 2, d/ 1, d 2, null 1, bad 1.
    assert_eq!(run.header_offset, 12 * BLOCK as u64);
    assert_eq!(scene.dest_tree(), prepopulated());
    scene.assert_outside_untouched();
}

#[test]
fn list_of_a_clean_archive_is_acceptable() {
    let manifest = extractor().list(&normal_archive()[..]).unwrap();
    assert!(manifest.is_acceptable());
    assert!(manifest.error.is_none());
    let paths: Vec<&str> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
    let pax = pax_long_path();
    let gnu = gnu_long_path();
    assert_eq!(
        paths,
        [
            "./",
            "./pkg/",
            "./pkg/README.md",
            "pkg/bin/run",
            "deep/er/still/file.txt",
            "deep/er/",
            pax.as_str(),
            gnu.as_str(),
            "empty.txt",
            "pkg/data.bin",
            "./dotted.txt"
        ]
    );
    assert!(manifest.entries.iter().all(|e| e.refusal.is_none()));
    assert_eq!(manifest.entries[6].mtime, PAX_MTIME as i64);
}

#[test]
fn list_stops_at_an_archive_wide_limit() {
    let mut options = options();
    // "a" ends at byte 1112 of the tar stream, "b" at 2648.
    options.max_size = Some(2000);
    let strict = Extractor::new(options).unwrap();
    let bytes = Tar::new().file("a", &[1u8; 600]).file("b", &[2u8; 600]).file("c", b"never read").finish();
    let manifest = strict.list(&bytes[..]).unwrap();
    assert!(!manifest.is_acceptable());
    let refusals: Vec<Option<Rule>> = manifest.entries.iter().map(|e| e.refusal.clone()).collect();
    assert_eq!(refusals, [None, Some(Rule::TooLarge { max: 2000 })]);
    match &manifest.error {
        Some(Error::Refused { index: 1, rule: Rule::TooLarge { max: 2000 }, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn list_keeps_the_entries_read_before_a_malformed_header() {
    // "A malformed archive … ends the listing and is recorded in
    // Manifest::error after the entries read so far."
    let mut h = Header::new(b"third", b'0', 0);
    h.bad_checksum(b"0000001\0");
    let bytes = Tar::new().file("first", b"").file("second", b"").entry(&h, b"").finish();
    let manifest = extractor().list(&bytes[..]).unwrap();
    assert!(!manifest.is_acceptable());
    match &manifest.error {
        Some(Error::Malformed { offset, layer: Layer::Tar, .. }) => assert_eq!(*offset, 2 * BLOCK as u64),
        other => panic!("{other:?}"),
    }
    let paths: Vec<&str> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["first", "second"]);
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

#[test]
fn one_extractor_serves_four_threads_at_once() {
    let shared = Extractor::new(options()).unwrap();
    let archives: Vec<(Vec<u8>, BTreeMap<String, Node>)> = (0..4u8)
        .map(|t| {
            let mut tar = Tar::new();
            let mut expected = vec![(format!("t{t}"), Node::Dir)];
            for i in 0..40 {
                let contents = format!("thread {t} file {i}\n").into_bytes();
                tar.file(&format!("t{t}/f{i:02}.txt"), &contents);
                expected.push((format!("t{t}/f{i:02}.txt"), file(&contents)));
            }
            let big = vec![t; 3 << 20];
            tar.file("big.bin", &big);
            expected.push(("big.bin".into(), file(&big)));
            let bytes = if t % 2 == 0 { gzip(&tar.finish()) } else { tar.finish() };
            (bytes, expected.into_iter().collect())
        })
        .collect();
    let scenes: Vec<Scene> = (0..4).map(|_| Scene::bare()).collect();
    let barrier = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        let handles: Vec<_> = archives
            .iter()
            .zip(&scenes)
            .map(|((bytes, _), scene)| {
                let (shared, barrier) = (&shared, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    scene.extract_with(shared, &bytes[..])
                })
            })
            .collect();
        for h in handles {
            let report = h.join().unwrap().unwrap();
            assert_eq!(report.files, 41);
        }
    });
    for ((_, expected), scene) in archives.iter().zip(&scenes) {
        assert_eq!(&scene.dest_tree(), expected);
        scene.assert_no_staging();
        assert_eq!(scene.outside_tree(), outside_expected());
    }
}
