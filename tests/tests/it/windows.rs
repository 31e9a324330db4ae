//! What differs on Windows, by design: portable mode is on by default
//! (reserved device names, case folding), `\` and `:` are refused whatever
//! the options, and there is no exec bit.

use sealtar::{Error, Rule};
use sealtar_tests::Tar;

use crate::support::{Scene, extractor};

#[test]
fn portable_mode_is_on_by_default() {
    assert!(extractor().options().portable);
}

#[test]
fn reserved_device_names_are_refused_by_default() {
    for name in ["pkg/CON", "pkg/aux.txt", "pkg/com1.log", "pkg/LPT9"] {
        let scene = Scene::new();
        let bytes = Tar::new().file("pkg/ok.txt", b"ok").file(name, b"device").finish();
        let err = scene.extract(&bytes[..]).unwrap_err();
        assert!(matches!(err, Error::Refused { index: 1, rule: Rule::NotPortable(_), .. }), "{name}: {err}");
        scene.assert_no_staging();
        scene.assert_outside_untouched();
    }
}

#[test]
fn case_folding_collisions_are_refused_by_default() {
    let scene = Scene::new();
    let bytes = Tar::new().file("pkg/README.md", b"one").file("pkg/readme.md", b"two").finish();
    let before = scene.dest_tree();
    let err = scene.extract(&bytes[..]).unwrap_err();
    assert!(matches!(err, Error::Refused { index: 1, rule: Rule::FoldingCollision { .. }, .. }), "{err}");
    assert_eq!(scene.dest_tree(), before);
    scene.assert_no_staging();
}

#[test]
fn backslash_and_colon_are_refused_whatever_the_options() {
    for name in ["pkg\\evil.txt", "pkg/a:stream", "pkg/trailing."] {
        let mut options = crate::support::options();
        options.portable = false;
        let extractor = sealtar::Extractor::new(options).unwrap();
        let scene = Scene::new();
        let bytes = Tar::new().file(name, b"x").finish();
        let err = scene.extract_with(&extractor, &bytes[..]).unwrap_err();
        assert!(matches!(err, Error::Refused { index: 0, rule: Rule::NotPortable(_), .. }), "{name}: {err}");
        assert!(!err.to_string().contains("\\\\\\\\"), "no doubled escaping: {err}");
        scene.assert_no_staging();
    }
}

#[test]
fn executables_extract_without_an_exec_bit() {
    let scene = Scene::new();
    let bytes = Tar::new().exec_file("pkg/run.sh", b"#!/bin/sh\n").file("pkg/data", b"d").finish();
    scene.extract(&bytes[..]).unwrap();
    let meta = std::fs::metadata(scene.dest.join("pkg").join("run.sh")).unwrap();
    assert!(meta.is_file() && !meta.permissions().readonly());
    assert_eq!(std::fs::read(scene.dest.join("pkg").join("run.sh")).unwrap(), b"#!/bin/sh\n");
}
