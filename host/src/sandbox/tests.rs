//! The two embedded guests read tar and gzip alike: every event and the way
//! each run ends are the same, over the public corpus (`../shared/corpus`,
//! or where `SEALTAR_CORPUS` says) and the `.crate` files of the local Cargo
//! cache (gzip, as a registry serves them).

use std::path::{Path, PathBuf};

use super::*;

impl Sandbox {
    /// What `pre` makes of `input`, run on this thread: a digest of every
    /// event in order, their number, and how the run ended.
    fn digest_with(&self, pre: &bindings::ExtractorPre<State>, input: Vec<u8>) -> (blake3::Hash, usize, String) {
        let guest = Guest::new(&Options::default(), true, None);
        let (chunks, feed) = sync_channel(1);
        chunks.send(input).unwrap();
        drop(chunks);
        let (mut digest, mut events) = (blake3::Hasher::new(), 0);
        let ended = self.drive(pre, guest, Arc::new(AtomicBool::new(false)), feed, &mut |batch| {
            for event in batch {
                digest.update(format!("{event:?}\n").as_bytes());
                events += 1;
            }
            true
        });
        (digest.finalize(), events, format!("{ended:?}"))
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.is_file() && !path.extension().is_some_and(|e| e == "tsv" || e == "md") {
            out.push(path);
        }
    }
}

#[test]
fn the_tar_and_gzip_guest_reads_as_the_full_guest_does() {
    let sandbox = Sandbox::get(None).unwrap();
    let (full, _) = sandbox.guest_for(b"\xfd7zXZ\0").unwrap();
    let corpus = std::env::var_os("SEALTAR_CORPUS")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"), PathBuf::from);
    let mut inputs = Vec::new();
    files_under(&corpus, &mut inputs);
    let home = std::env::var_os("CARGO_HOME")
        .map_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"), PathBuf::from);
    let mut crates = Vec::new();
    files_under(&home.join("registry/cache"), &mut crates);
    crates.retain(|c| c.extension().is_some_and(|e| e == "crate"));
    crates.sort();
    inputs.extend(crates.into_iter().take(60));
    let (mut compared, mut gzip) = (0, 0);
    for path in &inputs {
        let input = std::fs::read(path).unwrap();
        if input.len() > 16 << 20 {
            continue;
        }
        let (pre, _) = sandbox.guest_for(&input).unwrap();
        if std::ptr::eq(pre, full) {
            continue;
        }
        gzip += usize::from(input.starts_with(&[0x1f, 0x8b]));
        let lean = sandbox.digest_with(pre, input.clone());
        assert_eq!(lean, sandbox.digest_with(full, input), "{}", path.display());
        compared += 1;
    }
    // The local Cargo cache alone has dozens of crates wherever this builds.
    assert!(compared >= 40 && gzip >= 30, "only {compared} inputs compared, {gzip} of them gzip");
    eprintln!("{compared} inputs ({gzip} gzip) read alike by both guests");
}
