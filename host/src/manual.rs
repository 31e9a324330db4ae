//! The policy and the threat model, in prose. (Documentation only.)
//!
//! # What is written
//!
//! Only regular files and directories, inside the destination, with the
//! archive's modes narrowed, never widened: `(mode & 0o755) | 0o600` for
//! files, `(mode & 0o755) | 0o700` for directories, minus the umask, set at
//! creation. File modification times
//! come from the archive. Ownership, setuid/setgid/sticky bits, extended
//! attributes, ACLs and directory times are never applied.
//!
//! # What refuses the archive
//!
//! | rule | why |
//! |---|---|
//! | symlinks and hard links | a link lets a later write land elsewhere (CVE-2026-5223) |
//! | devices, FIFOs, unknown types | nothing a source tree needs; devices grant access |
//! | `..` components, absolute paths | path traversal (CVE-2007-4131, CVE-2001-1267 class) |
//! | NUL bytes, non-UTF-8 names, empty names, `.` components after the start (`a/./b`, `dir/.`) | the name written is not the name checked |
//! | the same path twice, a file where a directory is needed | one path, one meaning: scanners and extractors must agree |
//! | anything already in the destination except directories | nothing existing is replaced or chmod'ed (CVE-2026-33056) |
//! | malformed or ambiguous headers | parser differentials (CVE-2025-62518 "TARmageddon") |
//! | limits ([`Options`](crate::Options)) | bombs and resource exhaustion |
//!
//! See `docs/THREAT-MODEL.md` in the repository for the layer that stops each
//! known attack and the test that proves it.
