//! `native-extract ARCHIVE DIR`: the unsandboxed reference extractor that
//! `make bench` compares sealtar with.
//!
//! It unpacks a `.tar.gz` the way Cargo unpacks a downloaded crate: a
//! `flate2` `GzDecoder` (zlib-rs backend) over the file, a `tar::Archive`
//! with tar-rs's defaults (mtimes kept, permissions from the archive, no
//! xattrs), and `Entry::unpack_in(DIR)` for each entry in turn. Cargo's
//! extra checks (the crate-name prefix, its 512 MiB unpack limit, the umask
//! mask) are left out: they cost next to nothing and would only get in the
//! way of the non-crate "big" archive.
//!
//! Exit status: 0 unpacked, 1 the archive could not be unpacked, 2 usage.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::Path;
use std::process::ExitCode;

use flate2::read::GzDecoder;
use tar::Archive;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let [archive, dir] = args.as_slice() else {
        eprintln!("usage: native-extract ARCHIVE DIR");
        return ExitCode::from(2);
    };
    match unpack(Path::new(archive), Path::new(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("native-extract: {}: {e}", Path::new(archive).display());
            ExitCode::from(1)
        }
    }
}

/// Cargo's loop: every entry unpacked in turn under `dir`. `unpack_in`
/// skips entries whose path would leave `dir` and refuses to write through
/// a symlink that points outside it.
fn unpack(archive: &Path, dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tar = Archive::new(GzDecoder::new(File::open(archive)?));
    for entry in tar.entries()? {
        entry?.unpack_in(dir)?;
    }
    Ok(())
}
