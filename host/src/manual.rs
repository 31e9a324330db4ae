//! The policy and the threat model, in prose. (Documentation only.)
//!
//! # What is written
//!
//! Only regular files and directories, inside the destination, with the
//! archive's modes narrowed, never widened: `(mode & 0o755) | 0o600` for
//! files, `(mode & 0o755) | 0o700` for directories, minus the umask, set at
//! creation. File and directory modification times come from the archive
//! (directory times last, as GNU tar sets them). Ownership,
//! setuid/setgid/sticky bits, extended attributes and ACLs are never
//! applied. No link, device or FIFO is ever created: with
//! [`LinkPolicy::Copy`](crate::LinkPolicy::Copy) a link becomes a copy of the
//! file or directory it names inside the archive, with that target's
//! narrowed mode.
//!
//! # What refuses the archive
//!
//! | rule | why |
//! |---|---|
//! | symlinks and hard links (unless [`Options::links`](crate::Options::links) skips or copies them) | a link lets a later write land elsewhere (CVE-2026-5223) |
//! | devices, FIFOs (unless [`Options::special`](crate::Options::special) skips them), unknown types | nothing a source tree needs; devices grant access |
//! | under `--links copy`, a link whose target is absolute, outside the archive, dangling, has a drive letter or backslash, loops, or is a later member for a hard link | the copy must be of something the archive itself extracts |
//! | `..` components, absolute paths | path traversal (CVE-2007-4131, CVE-2001-1267 class) |
//! | NUL bytes, non-UTF-8 names, empty names, `.` components after the start (`a/./b`, `dir/.`) | the name written is not the name checked |
//! | the same path twice, a file where a directory is needed | one path, one meaning: scanners and extractors must agree |
//! | anything already in the destination except directories | nothing existing is replaced or chmod'ed (CVE-2026-33056) |
//! | malformed or ambiguous headers | parser differentials (CVE-2025-62518 "TARmageddon") |
//! | limits ([`Options`](crate::Options)) | bombs and resource exhaustion |
//!
//! See `docs/THREAT-MODEL.md` in the repository for the layer that stops each
//! known attack and the test that proves it.
