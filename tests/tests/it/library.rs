//! The crate as a library user sees it: defaults without side effects, the
//! builder, the report of what was written, and sharing one extractor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sealtar::{Digest, Extractor, HashAlgorithm, Kind, Observer, Options, Progress, Written};
use sealtar_tests::{Node, Tar, gzip, snapshot};

use crate::support::{exec, file, tree};

/// The archive both processes agree on.
fn sample() -> Vec<u8> {
    gzip(
        Tar::new()
            .dir("pkg/")
            .file("pkg/a.txt", b"alpha\n")
            .exec_file("pkg/run.sh", b"#!/bin/sh\n")
            .finish()
            .as_slice(),
    )
}

fn sample_tree() -> BTreeMap<String, Node> {
    tree(&[("pkg", Node::Dir), ("pkg/a.txt", file(b"alpha\n")), ("pkg/run.sh", exec(b"#!/bin/sh\n"))])
}

const CHILD_ENV: &str = "SEALTAR_SIDE_EFFECT_CHILD";

/// `Options::default()` reads no environment and writes nothing outside the
/// destination: an extraction in a fresh process (so the compiled guest is
/// not already in memory) with an empty `HOME`, an empty `TMPDIR`, no
/// `XDG_CACHE_HOME` or `SEALTAR_CACHE_DIR`, and a read-only working
/// directory leaves all three empty. (Tests run as root ignore the mode of
/// the working directory, so emptiness is what is asserted.)
#[test]
fn default_options_write_nothing_outside_the_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for dir in ["home", "cwd", "tmp", "dest"] {
        std::fs::create_dir(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("archive.tar.gz"), sample()).unwrap();
    set_mode(&root.join("cwd"), 0o555);

    let output = Command::new(std::env::current_exe().unwrap())
        .args(["library::side_effect_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("HOME", root.join("home"))
        .env("TMPDIR", root.join("tmp"))
        .env(CHILD_ENV, root)
        .current_dir(root.join("cwd"))
        .output()
        .unwrap();
    set_mode(&root.join("cwd"), 0o755);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("1 passed"), "the child test did not run:\n{stdout}");

    for dir in ["home", "cwd", "tmp"] {
        let written: Vec<String> = snapshot(&root.join(dir)).into_keys().collect();
        assert!(written.is_empty(), "written under {dir}: {written:?}");
    }
    assert_eq!(snapshot(&root.join("dest")), sample_tree());
    let mut top: Vec<String> =
        std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    top.sort();
    assert_eq!(top, ["archive.tar.gz", "cwd", "dest", "home", "tmp"]);
}

/// The extraction half of the test above, run only in its child process.
#[test]
#[ignore = "run by default_options_write_nothing_outside_the_destination in a clean environment"]
fn side_effect_child() {
    let root = PathBuf::from(std::env::var_os(CHILD_ENV).expect("run through its parent test"));
    assert_eq!(std::env::current_dir().unwrap(), root.join("cwd"));
    let options = Options::default();
    assert_eq!(options.cache_dir, None);
    let extractor = Extractor::new(options).unwrap();
    let dest = Dir::open_ambient_dir(root.join("dest"), ambient_authority()).unwrap();
    let archive = std::fs::File::open(root.join("archive.tar.gz")).unwrap();
    let report = extractor.extract(archive, &dest).unwrap();
    assert_eq!((report.files, report.directories, report.bytes), (2, 1, 16));
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    {
        let mut permissions = std::fs::metadata(path).unwrap().permissions();
        permissions.set_readonly(mode & 0o200 == 0);
        std::fs::set_permissions(path, permissions).unwrap();
    }
}

/// An extractor with the test cache, built as a downstream crate would.
fn extractor_with(options: Options) -> Extractor {
    Extractor::new(options.cache_dir(crate::support::cache_dir())).unwrap()
}

fn umask_applied(mode: u32) -> u32 {
    #[cfg(unix)]
    {
        let probe = tempfile::tempdir().unwrap();
        let path = probe.path().join("probe");
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o777).create(&path).unwrap();
        let umask = !std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions()) & 0o777;
        mode & !umask
    }
    #[cfg(not(unix))]
    mode
}

#[cfg(unix)]
fn mode_on_disk(path: &Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o7777
}

/// The report lists every entry written, as the archive spells it and as
/// written, with its kind, size, mode on disk and (when asked) a hash that
/// matches known answers computed by other tools.
#[test]
fn report_lists_every_entry_written_with_its_hash() {
    let archive = Tar::new()
        .dir("./pkg/")
        .file("./pkg/a.txt", b"alpha\n")
        .exec_file("pkg//run.sh", b"#!/bin/sh\n")
        .file("pkg/deep/empty", b"")
        .finish();
    let scene = crate::support::Scene::bare();
    let sha = extractor_with(Options::new().content_hash(Some(HashAlgorithm::Sha256)));
    let report = sha.extract(&archive[..], &scene.dest_dir()).unwrap();
    let listed: Vec<(u64, &str, &str, Kind, u64)> =
        report.entries.iter().map(|e| (e.index, e.path.as_str(), e.dest_path.as_str(), e.kind, e.size)).collect();
    assert_eq!(
        listed,
        [
            (0, "./pkg/", "pkg", Kind::Directory, 0),
            (1, "./pkg/a.txt", "pkg/a.txt", Kind::File, 6),
            (2, "pkg//run.sh", "pkg/run.sh", Kind::File, 10),
            (3, "pkg/deep/empty", "pkg/deep/empty", Kind::File, 0),
        ]
    );
    // The implied directory pkg/deep is counted, not listed.
    assert_eq!((report.files, report.directories, report.bytes), (3, 2, 16));
    assert_eq!(report.entries[0].mode, umask_applied(0o755));
    assert_eq!(report.entries[1].mode, umask_applied(0o644));
    assert_eq!(report.entries[2].mode, umask_applied(0o755));
    #[cfg(unix)]
    for entry in &report.entries {
        assert_eq!(entry.mode, mode_on_disk(&scene.dest.join(&entry.dest_path)), "{}", entry.dest_path);
    }
    let hex: Vec<Option<String>> = report.entries.iter().map(|e| e.hash.map(|d| d.to_string())).collect();
    assert_eq!(
        hex,
        [
            None,
            Some("sha256:b6a98d9ce9a2d9149288fa3df42d377c3e42737afdcdaf714e33c0a100b51060".to_string()),
            Some("sha256:a8076d3d28d21e02012b20eaf7dbf75409a6277134439025f282e368e3305abf".to_string()),
            Some("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string()),
        ]
    );

    // BLAKE3's published answer for empty input; no hash unless asked.
    let blake = extractor_with(Options::new().content_hash(Some(HashAlgorithm::Blake3)));
    let report = blake.extract(&archive[..], &crate::support::Scene::bare().dest_dir()).unwrap();
    assert_eq!(
        report.entries[3].hash.unwrap().to_hex(),
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
    let plain = extractor_with(Options::new());
    let report = plain.extract(&archive[..], &crate::support::Scene::bare().dest_dir()).unwrap();
    assert!(report.entries.iter().all(|e| e.hash.is_none()));
}

#[derive(Default)]
struct Recorder {
    entries: Vec<String>,
    progress: Vec<Progress>,
}

impl Observer for Recorder {
    fn progress(&mut self, progress: &Progress) {
        self.progress.push(*progress);
    }

    fn entry(&mut self, entry: &Written) {
        self.entries.push(entry.dest_path.clone());
    }
}

/// The observer sees each entry once, in order, and progress that only
/// grows and ends at the report's totals.
#[test]
fn observer_sees_entries_and_progress() {
    let big = vec![b'x'; 300 << 10];
    let archive = Tar::new().dir("d/").file("d/big", &big).file("d/small", b"s").finish();
    let scene = crate::support::Scene::bare();
    let mut recorder = Recorder::default();
    let report =
        extractor_with(Options::new()).extract_observed(&archive[..], &scene.dest_dir(), &mut recorder).unwrap();
    assert_eq!(recorder.entries, ["d", "d/big", "d/small"]);
    let last = *recorder.progress.last().unwrap();
    assert_eq!((last.entries, last.bytes_written, last.input_bytes), (3, report.bytes, archive.len() as u64));
    assert!(recorder.progress.windows(2).all(|w| w[0].bytes_written <= w[1].bytes_written
        && w[0].input_bytes <= w[1].input_bytes
        && w[0].entries <= w[1].entries));
    assert!(recorder.progress.len() >= 4, "{} progress calls", recorder.progress.len());
}

/// A refused archive: the observer may have seen staged entries, but the
/// destination is untouched.
#[test]
fn observer_of_a_refused_archive_sees_staged_entries_only() {
    let archive = Tar::new().file("ok.txt", b"ok").symlink("link", "/etc/passwd").finish();
    let scene = crate::support::Scene::new();
    let mut recorder = Recorder::default();
    let err =
        extractor_with(Options::new()).extract_observed(&archive[..], &scene.dest_dir(), &mut recorder).unwrap_err();
    assert_eq!(err.rule().map(sealtar::Rule::id), Some("forbidden-kind"));
    assert_eq!(recorder.entries, ["ok.txt"]);
    assert_eq!(scene.dest_tree(), crate::support::prepopulated());
    scene.assert_outside_untouched();
}

/// `extract_to_path` creates the destination, and removes it again when it
/// created it and the archive is refused.
#[test]
fn extract_to_path_creates_and_cleans_up() {
    let scene = crate::support::Scene::bare();
    let extractor = extractor_with(Options::new());
    let fresh = scene.root.join("fresh");
    let report = extractor.extract_to_path(&sample()[..], &fresh).unwrap();
    assert_eq!(report.entries.len(), 3);
    assert_eq!(snapshot(&fresh), sample_tree());

    let refused = scene.root.join("refused");
    let evil = Tar::new().file("a", b"a").file("../escape", b"x").finish();
    let err = extractor.extract_to_path(&evil[..], &refused).unwrap_err();
    assert_eq!(err.rule().map(sealtar::Rule::id), Some("parent-component"));
    assert!(!refused.exists());
    assert!(!scene.root.join("escape").exists());

    // An existing destination is kept, even when the archive is refused.
    let err = extractor.extract_to_path(&evil[..], &scene.dest).unwrap_err();
    assert!(err.is_refusal());
    assert!(scene.dest.is_dir());
    std::fs::remove_dir_all(&fresh).unwrap();
    scene.assert_outside_untouched();
}

/// One extractor shared by eight threads, each extracting its own archive
/// three times, at the same time, into fresh destinations.
#[test]
fn one_extractor_shared_by_eight_threads() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let extractor = extractor_with(Options::new().content_hash(Some(HashAlgorithm::Blake3)));
    assert_send_sync(&extractor);
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|s| {
        for t in 0..8 {
            let (extractor, barrier) = (&extractor, &barrier);
            s.spawn(move || {
                let mut tar = Tar::new();
                tar.dir(&format!("t{t}/"));
                let mut expected = tree(&[(&format!("t{t}"), Node::Dir)]);
                for i in 0..20 {
                    let contents = format!("thread {t} file {i}\n");
                    tar.file(&format!("t{t}/f{i}"), contents.as_bytes());
                    expected.insert(format!("t{t}/f{i}"), file(contents.as_bytes()));
                }
                let archive = gzip(&tar.finish());
                barrier.wait();
                for _ in 0..3 {
                    let scene = crate::support::Scene::bare();
                    let report = extractor.extract(&archive[..], &scene.dest_dir()).unwrap();
                    assert_eq!(scene.dest_tree(), expected);
                    assert_eq!(report.entries.len(), 21);
                    assert_eq!(report.files, 20);
                    let f3 = &report.entries[4];
                    assert_eq!(f3.dest_path, format!("t{t}/f3"));
                    let contents = format!("thread {t} file 3\n");
                    assert_eq!(f3.hash, Some(Digest::of(HashAlgorithm::Blake3, contents.as_bytes())));
                    scene.assert_outside_untouched();
                }
            });
        }
    });
}

/// The report's lists hold at most `REPORT_BYTES`: past that they count what
/// they leave out, so a million long names cannot make the host keep them
/// all. 17,000 skipped links with 4,000-byte targets are about 68 MB of
/// names; the file after them is written and the observer sees it, though
/// the full report leaves it out.
#[test]
fn a_full_report_counts_what_it_leaves_out() {
    let target = "t/".repeat(2000);
    let links = 17_000u64;
    let mut tar = Tar::new();
    tar.dir("pkg/");
    for i in 0..links {
        tar.pax(&[("linkpath", target.as_bytes())]);
        tar.symlink(&format!("pkg/link{i}"), "t");
    }
    tar.file("pkg/last", b"end\n");
    let archive = sealtar_tests::gzip(&tar.finish());
    let mut options = Options::new();
    options.links = sealtar::LinkPolicy::Skip;
    let scene = crate::support::Scene::bare();
    let mut recorder = Recorder::default();
    let report = extractor_with(options).extract_observed(&archive[..], &scene.dest_dir(), &mut recorder).unwrap();
    assert_eq!(recorder.entries, ["pkg", "pkg/last"]);
    assert_eq!((report.files, report.bytes), (1, 4));
    let omitted = report.omitted;
    assert!(omitted.skipped > 0, "the report held every skipped link");
    assert_eq!(report.skipped.len() as u64 + omitted.skipped, links);
    assert_eq!((report.entries.len() as u64, omitted.entries), (1, 1), "pkg listed, pkg/last left out");
    let held: usize = report.skipped.iter().map(|s| s.path.len() + s.link_target.as_ref().map_or(0, String::len)).sum();
    assert!(held <= sealtar::REPORT_BYTES, "{held} bytes of names held");
    assert!(held > sealtar::REPORT_BYTES / 2, "only {held} bytes held before the report counted the rest");
    assert_eq!(report.skipped.last().map(|s| s.index), Some(report.skipped.len() as u64), "the first ones are kept");
}
