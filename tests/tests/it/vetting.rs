//! Vetting uploads (`sealtar check`, `Extractor::check`) and portable mode.

use sealtar::{CrateRules, Extractor, Options, Rule};
use sealtar_tests::{Tar, gzip};

use crate::support::{Scene, options};
use sealtar_tests::scene::crates_in_cache;

fn portable_extractor() -> Extractor {
    let mut o = options();
    o.portable = true;
    Extractor::new(o).unwrap()
}

/// A crate with one violation of each registry rule, plus two policy ones.
fn bad_crate() -> Vec<u8> {
    gzip(
        &Tar::new()
            .file("bad-1.0.0/Cargo.toml", b"[package]\nname = \"bad\"\n")
            .file("bad-1.0.0/src/lib.rs", b"")
            .file("bad-1.0.0/CARGO.TOML", b"[package]\nname = \"other\"\n")
            .file("bad-1.0.0/.cargo-ok", b"ok")
            .file("elsewhere/lib.rs", b"")
            .symlink("bad-1.0.0/link", "../../victim")
            .file("bad-1.0.0/../escape.rs", b"")
            .finish(),
    )
}

#[test]
fn check_crate_accepts_every_cached_crate() {
    let crates = crates_in_cache();
    assert!(!crates.is_empty(), "no .crate files in the Cargo cache");
    let mut o = options();
    o.portable = true;
    let extractor = Extractor::new(o).unwrap();
    let mut failures = Vec::new();
    for path in &crates {
        let name = path.file_name().unwrap().to_str().unwrap();
        let size = std::fs::metadata(path).unwrap().len();
        let rules = CrateRules::from_file_name(name, Some(size)).expect("<name>-<version>.crate");
        let report = extractor.check(std::fs::File::open(path).unwrap(), Some(&rules)).unwrap();
        if !report.is_acceptable() {
            failures.push(format!("{name}: {:?}", report.violations.iter().map(|v| &v.message).collect::<Vec<_>>()));
        }
    }
    assert!(failures.is_empty(), "{} of {} crates refused:\n{}", failures.len(), crates.len(), failures.join("\n"));
}

#[test]
fn check_crate_lists_every_violation() {
    // Without `--portable` (the default on Windows and macOS, which would
    // add the case collision of CARGO.TOML with Cargo.toml).
    let extractor = Extractor::new(options().portable(false)).unwrap();
    let rules = CrateRules::from_file_name("bad-1.0.0.crate", None).unwrap();
    let report = extractor.check(&bad_crate()[..], Some(&rules)).unwrap();
    let found: Vec<(Option<u64>, &str)> = report.violations.iter().map(|v| (v.index, v.id())).collect();
    assert_eq!(
        found,
        [
            (Some(2), "second-cargo-toml"),
            (Some(3), "cargo-ok-file"),
            (Some(4), "outside-crate-directory"),
            (Some(5), "forbidden-kind"),
            (Some(6), "parent-component"),
        ]
    );
    assert_eq!(report.violations[0].rule, Some(Rule::Crate(sealtar::CrateProblem::SecondCargoToml { first: 0 })));
    assert!(!report.is_acceptable());
    assert_eq!(report.entries, 7);
}

#[test]
fn check_crate_needs_a_cargo_toml() {
    let extractor = Extractor::new(options()).unwrap();
    let bytes = gzip(&Tar::new().file("x-0.1.0/src/lib.rs", b"").finish());
    let report = extractor.check(&bytes[..], Some(&CrateRules::new("x-0.1.0", None))).unwrap();
    let ids: Vec<_> = report.violations.iter().map(|v| v.id()).collect();
    assert_eq!(ids, ["missing-cargo-toml"]);
}

#[test]
fn check_crate_applies_cargos_size_rule() {
    // 600 MiB of zeros compress to well under 30 MiB, so Cargo's 20x ratio
    // does not lift its 512 MiB floor.
    let extractor = Extractor::new(options()).unwrap();
    let bytes = sealtar_tests::gzip_zeros("big-1.0.0/zeros.bin", 600 << 20);
    let rules = CrateRules::new("big-1.0.0", Some(bytes.len() as u64));
    let report = extractor.check(&bytes[..], Some(&rules)).unwrap();
    assert!(report.violations.iter().any(|v| v.id() == "crate-too-large"), "{:?}", report.violations);
}

/// Every portability hazard in one archive: `check --portable` lists them all.
#[test]
fn portable_check_lists_every_hazard() {
    let names = [
        "pkg/CON",
        "pkg/aux.txt",
        "pkg/Com1.log",
        "pkg/lpt\u{b9}",
        "pkg/conin$",
        "pkg/CONOUT$.txt",
        "\\\\server\\share\\x",
        "pkg/a<b",
        "pkg/a>b",
        "pkg/c:d",
        "pkg/q\"uote",
        "pkg/back\\slash",
        "pkg/pi|pe",
        "pkg/what?",
        "pkg/star*",
        "pkg/tab\there",
        "pkg/dot.",
        "pkg/space ",
    ];
    let mut tar = Tar::new();
    for n in names {
        tar.file(n, b"");
    }
    tar.file("pkg/README", b"").file("pkg/readme", b"");
    tar.file("pkg/caf\u{e9}", b"").file("pkg/cafe\u{301}", b"");
    let extractor = portable_extractor();
    let report = extractor.check(&tar.finish()[..], None).unwrap();
    let ids: Vec<&str> = report.violations.iter().map(|v| v.id()).collect();
    let mut expected = vec!["not-portable"; names.len()];
    expected.extend(["folding-collision", "folding-collision"]);
    assert_eq!(ids, expected, "{:#?}", report.violations);
}

#[test]
fn portable_mode_keeps_the_component_limit() {
    let long = format!("pkg/{}", "n".repeat(256));
    let archive = Tar::new().pax(&[("path", long.as_bytes())]).file("short", b"").finish();
    let report = portable_extractor().check(&archive[..], None).unwrap();
    let ids: Vec<&str> = report.violations.iter().map(|v| v.id()).collect();
    assert_eq!(ids, ["component-too-long"]);
}

#[test]
fn portable_extract_refuses_and_changes_nothing() {
    let scene = Scene::new();
    let bytes = Tar::new().file("pkg/src/lib.rs", b"").file("pkg/src/aux.rs", b"").finish();
    let before = scene.dest_tree();
    let err = scene.extract_with(&portable_extractor(), &bytes[..]).unwrap_err();
    assert!(matches!(err, sealtar::Error::Refused { index: 1, rule: Rule::NotPortable(_), .. }), "{err}");
    assert_eq!(scene.dest_tree(), before);
    scene.assert_no_staging();
    scene.assert_outside_untouched();
}

#[test]
fn portable_is_on_by_default_where_file_systems_fold_names() {
    assert_eq!(Options::default().portable, cfg!(any(windows, target_os = "macos")));
}

#[test]
fn check_reports_malformed_input_as_one_violation() {
    let mut bad = Tar::new().file("pkg/a", b"a").unterminated();
    let mut header = sealtar_tests::Header::new(b"pkg/b", b'0', 0);
    header.bad_checksum(b"0000001\0");
    bad.extend(header.build());
    let report = Extractor::new(options()).unwrap().check(&bad[..], None).unwrap();
    let ids: Vec<_> = report.violations.iter().map(|v| (v.index, v.id())).collect();
    assert_eq!(ids, [(None, "malformed")]);
    assert!(report.violations[0].message.contains("checksum"), "{}", report.violations[0].message);
}

/// What Windows cannot store as written gets one rule id and one message on
/// every OS: `not-portable`, as portable mode reports it. On Windows it is
/// refused whatever the options; elsewhere only under portable mode.
#[test]
fn windows_unstorable_names_have_one_rule_everywhere() {
    let archive = Tar::new().file("pkg/a\\b", b"").file("pkg/a:b", b"").file("pkg/x.", b"").finish();
    let expected = [
        ("pkg/a\\\\b", "not portable: '\\' is a path separator on Windows"),
        ("pkg/a:b", "not portable: ':' marks a drive or an alternate data stream on Windows"),
        ("pkg/x.", "not portable: ends with a dot or a space, which Windows trims"),
    ];
    let seen = |extractor: &Extractor| -> Vec<(String, String, String)> {
        let report = extractor.check(&archive[..], None).unwrap();
        report
            .violations
            .iter()
            .map(|v| (v.id().to_string(), v.path.clone().unwrap_or_default(), v.message.clone()))
            .collect()
    };
    let refused: Vec<(String, String, String)> =
        expected.iter().map(|(p, m)| ("not-portable".to_string(), p.to_string(), m.to_string())).collect();
    let portable = seen(&portable_extractor());
    assert_eq!(portable.len(), 3, "{portable:#?}");
    for ((id, path, message), (eid, epath, emessage)) in portable.iter().zip(&refused) {
        assert_eq!((id, path), (eid, epath));
        let tail = format!("{emessage} [rule not-portable]");
        assert!(message.ends_with(&tail), "{message:?} does not end with {tail:?}");
    }
    let mut plain = options();
    plain.portable = false;
    let native = seen(&Extractor::new(plain).unwrap());
    if cfg!(windows) {
        assert_eq!(native, portable, "Windows refuses these whatever the options, in the same words");
    } else {
        assert!(native.is_empty(), "{native:#?}");
    }
}

/// Crate rules judge the tree extraction writes under the options given:
/// a `Cargo.toml` that is a skipped link is missing, one that becomes a
/// directory copy is not a file, and one that becomes a copy of a file is
/// the crate's manifest (a second one if there is another).
#[test]
fn crate_rules_judge_what_extraction_writes_of_links() {
    let rules = CrateRules::new("x-1.0.0", None);
    // Folding is left off (it is the default on Windows and macOS), so that
    // two spellings of Cargo.toml are a crate rule's business; with it on, the
    // second spelling is refused first and never written (asserted last).
    let ids_with = |portable: bool, links: sealtar::LinkPolicy, bytes: &[u8]| -> Vec<&'static str> {
        let mut o = options();
        o.links = links;
        o.portable = portable;
        let report = Extractor::new(o).unwrap().check(bytes, Some(&rules)).unwrap();
        report.violations.iter().map(|v| v.id()).collect()
    };
    let ids = |links, bytes: &[u8]| ids_with(false, links, bytes);
    let manifest = b"[package]\nname = \"x\"\n";
    let skipped =
        Tar::new().file("x-1.0.0/real.toml", manifest).symlink("x-1.0.0/Cargo.toml", "../../elsewhere").finish();
    assert_eq!(ids(sealtar::LinkPolicy::Skip, &skipped), ["missing-cargo-toml"]);
    assert_eq!(ids(sealtar::LinkPolicy::Copy, &skipped), ["missing-cargo-toml"]);
    let to_dir = Tar::new().file("x-1.0.0/d/a", b"").symlink("x-1.0.0/Cargo.toml", "d").finish();
    assert_eq!(ids(sealtar::LinkPolicy::Copy, &to_dir), ["cargo-toml-not-file"]);
    let to_file = Tar::new().file("x-1.0.0/real.toml", manifest).symlink("x-1.0.0/Cargo.toml", "real.toml").finish();
    assert!(ids(sealtar::LinkPolicy::Copy, &to_file).is_empty());
    assert_eq!(ids(sealtar::LinkPolicy::Skip, &to_file), ["missing-cargo-toml"]);
    let twice = Tar::new().file("x-1.0.0/Cargo.toml", manifest).symlink("x-1.0.0/CARGO.toml", "Cargo.toml").finish();
    assert_eq!(ids(sealtar::LinkPolicy::Copy, &twice), ["second-cargo-toml"]);
    assert!(ids(sealtar::LinkPolicy::Skip, &twice).is_empty());
    assert_eq!(ids_with(true, sealtar::LinkPolicy::Copy, &twice), ["folding-collision"]);
}
