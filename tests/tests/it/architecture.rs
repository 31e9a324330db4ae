//! The shape docs/ARCHITECTURE.md promises, checked on the sources: only
//! the pipeline drives the sandbox and the vetter, and no host or CLI
//! source file has more than 700 lines before its tests.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The code of a source file before its `#[cfg(test)]` module.
fn before_tests(text: &str) -> &str {
    text.find("\n#[cfg(test)]").map_or(text, |at| &text[..at])
}

#[test]
fn only_the_pipeline_drives_the_sandbox_and_the_vetter() {
    let host = workspace().join("host/src");
    let mut files = Vec::new();
    sources(&host, &mut files);
    assert!(files.len() > 30, "{} sources", files.len());
    let mut drivers = Vec::new();
    // A module's own `tests.rs` is test code, allowed to drive what it tests.
    for file in files.iter().filter(|f| !f.ends_with("tests.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        let code = before_tests(&text);
        let rel = file.strip_prefix(&host).unwrap().to_string_lossy().replace('\\', "/");
        for needle in ["sandbox.run(", "Vetter::new(", ".link_phase("] {
            if code.contains(needle) {
                drivers.push(format!("{rel}: {needle}"));
            }
        }
    }
    drivers.sort();
    assert_eq!(drivers, ["pipeline.rs: .link_phase(", "pipeline.rs: Vetter::new(", "pipeline.rs: sandbox.run("]);
}

#[test]
fn no_source_file_is_over_700_lines_before_its_tests() {
    let mut files = Vec::new();
    sources(&workspace().join("host/src"), &mut files);
    sources(&workspace().join("cli/src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("tests.rs"))
        .filter_map(|file| {
            let lines = before_tests(&std::fs::read_to_string(file).unwrap()).lines().count();
            (lines > 700).then(|| format!("{}: {lines} lines", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "{long:?}");
}
