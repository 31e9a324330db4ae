//! Compressed input through the command line.

use std::collections::BTreeMap;

use sealtar_tests::scene::{Scene, file, tree};
use sealtar_tests::{Compression, Node, Tar};

use crate::run::{archive_file, code, run_in, text};

/// How every refusal of an unsupported format ends.
const WE_READ: &str = "sealtar reads tar, optionally compressed with gzip, xz, bzip2 or zstd";

#[test]
fn the_cli_names_an_unsupported_format_and_exits_1() {
    let scene = Scene::new();
    for (what, bytes) in unsupported() {
        let path = archive_file(&scene, "input.bin", &bytes);
        for args in
            [vec!["extract", path.as_str(), "-C", "dest"], vec!["list", path.as_str()], vec!["check", path.as_str()]]
        {
            let out = run_in(&scene.root, &args, b"");
            assert_eq!(code(&out), 1, "{what} {args:?}: {}", text(&out.stderr));
            let err = text(&out.stderr) + &text(&out.stdout);
            assert!(err.contains(&format!("this is {what}")), "{what} {args:?}: {err}");
            assert!(err.contains(WE_READ), "{what}: {err}");
        }
    }
    std::fs::remove_file(scene.root.join("input.bin")).unwrap();
    scene.assert_no_staging();
    assert_eq!(scene.dest_tree(), sealtar_tests::scene::prepopulated());
}

#[test]
fn the_cli_extracts_each_compression_from_standard_input() {
    let (tar, expected) = sample();
    for c in Compression::ALL {
        let scene = Scene::bare();
        let out = run_in(&scene.root, &["extract", "-", "-C", "dest"], &c.compress(&tar));
        assert_eq!(code(&out), 0, "{c:?}: {}", text(&out.stderr));
        assert_eq!(scene.dest_tree(), expected, "{c:?}");
    }
}

fn unsupported() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a zip archive", b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00\x00\x00".to_vec()),
        ("a 7z archive", b"7z\xbc\xaf\x27\x1c\x00\x04\x00\x00".to_vec()),
        ("a rar archive", b"Rar!\x1a\x07\x00\xcf\x90\x73".to_vec()),
        ("lz4-compressed data", b"\x04\x22\x4d\x18\x64\x40\xa7\x00\x00".to_vec()),
        ("lzip-compressed data", b"LZIP\x01\x0c\x00\x30".to_vec()),
        ("compress (.Z) data", b"\x1f\x9d\x90\x61\x00".to_vec()),
        ("lzma-compressed data", b"\x5d\x00\x00\x80\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x30\x98".to_vec()),
        ("a text file", b"This is a README.\nIt is not an archive.\n".to_vec()),
        ("an empty file", Vec::new()),
        ("not a tar archive", vec![0x99; 2048]),
    ]
}

fn sample() -> (Vec<u8>, BTreeMap<String, Node>) {
    let a = text_bytes(20_000);
    let tar = Tar::new().dir("pkg/").file("pkg/a.txt", &a).file("pkg/b.txt", b"tail\n").finish();
    let expected = tree(&[("pkg", Node::Dir), ("pkg/a.txt", file(&a)), ("pkg/b.txt", file(b"tail\n"))]);
    (tar, expected)
}

/// Text that compresses, but not to nothing, so corruption lands in coded data.
fn text_bytes(lines: u32) -> Vec<u8> {
    (0..lines).flat_map(|i| format!("line {i} of {}\n", i * 7919 % 104_729).into_bytes()).collect()
}
