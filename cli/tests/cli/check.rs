//! `sealtar check` on the command line: crate rules in text and JSON, and
//! `--portable`.

use sealtar::Options;
use sealtar_tests::scene::Scene;
use sealtar_tests::{Tar, gzip};
use serde_json::Value;

use crate::run::{archive_file, assert_inert, assert_outside_is, code, run_in, text};

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
fn cli_check_crate_text_and_json() {
    let scene = Scene::new();
    let path = archive_file(&scene, "bad-1.0.0.crate", &bad_crate());
    let out = run_in(&scene.root, &["check", "--crate", &path], b"");
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // Where `--portable` is the default (Windows, macOS), CARGO.TOML collides
    // with Cargo.toml and is refused for that: extraction would not write it,
    // so the crate rules, which judge what extraction writes, do not see a
    // second Cargo.toml. Either way, one violation for entry 2.
    let portable = Options::default().portable;
    let entry_2_rule = if portable { "folding-collision" } else { "second-cargo-toml" };
    assert_eq!(stdout.lines().count(), 6, "five violations and a summary: {stdout}");
    assert!(stdout.lines().next().unwrap().ends_with(&format!("[rule {entry_2_rule}]")), "{stdout}");
    assert!(stdout.contains("entry 3 \"bad-1.0.0/.cargo-ok\""), "{stdout}");
    assert!(stdout.ends_with("7 entries, 5 violations: NOT acceptable\n"), "{stdout}");
    assert_inert(&out.stdout);

    let out = run_in(&scene.root, &["check", "--crate", "--json", &path], b"");
    assert_eq!(code(&out), 1);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["acceptable"], false);
    assert_eq!(doc["entries"], 7);
    let violations = doc["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 5);
    assert_eq!(violations[0]["index"], 2);
    assert_eq!(violations[0]["path"], "bad-1.0.0/CARGO.TOML");
    assert_eq!(violations[0]["rule"], entry_2_rule);
    let link = &violations[3];
    assert_eq!(link["rule"], "forbidden-kind");
    assert_eq!(link["index"], 5);
    assert_eq!(link["path"], "bad-1.0.0/link");
    assert!(link["message"].as_str().unwrap().contains("CVE-2026-5223"));

    // The portable reading on every system: the collision, not the crate rule.
    let out = run_in(&scene.root, &["check", "--crate", "--portable", &path], b"");
    assert_eq!(code(&out), 1);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("entry 2 \"bad-1.0.0/CARGO.TOML\": "), "{stdout}");
    assert!(stdout.lines().next().unwrap().ends_with("[rule folding-collision]"), "{stdout}");
    assert!(stdout.ends_with("7 entries, 5 violations: NOT acceptable\n"), "{stdout}");
    assert_outside_is(&scene, &[("bad-1.0.0.crate", &bad_crate())]);
}

#[test]
fn cli_check_accepts_a_clean_crate_and_writes_nothing() {
    let scene = Scene::new();
    let bytes = gzip(&Tar::new().file("ok-2.0.0/Cargo.toml", b"").file("ok-2.0.0/src/lib.rs", b"").finish());
    let path = archive_file(&scene, "ok-2.0.0.crate", &bytes);
    let before = scene.dest_tree();
    let out = run_in(&scene.root, &["check", "--crate", &path], b"");
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), "2 entries, 0 violations: acceptable\n");
    assert_eq!(scene.dest_tree(), before);
}

#[test]
fn cli_check_crate_needs_a_name_or_prefix() {
    let scene = Scene::new();
    let path = archive_file(&scene, "upload.tar.gz", &gzip(&Tar::new().file("a", b"").finish()));
    let out = run_in(&scene.root, &["check", "--crate", &path], b"");
    assert_eq!(code(&out), 2);
    let out = run_in(&scene.root, &["check", "--prefix", "a-1.0.0", &path], b"");
    assert_eq!(code(&out), 1, "outside the prefix and no Cargo.toml");
}

#[test]
fn portable_flag_on_the_command_line() {
    let scene = Scene::new();
    let path = archive_file(&scene, "a.tar", &Tar::new().file("Makefile", b"").file("makefile", b"").finish());
    let out = run_in(&scene.root, &["extract", "--portable", &path, "-C", "dest"], b"");
    assert_eq!(code(&out), 1);
    assert!(text(&out.stderr).contains("same file as entry 0"), "{}", text(&out.stderr));
    // Without the flag, on Linux, both names are fine.
    if !cfg!(any(windows, target_os = "macos")) {
        let out = run_in(&scene.root, &["extract", &path, "-C", "dest"], b"");
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    }
}
