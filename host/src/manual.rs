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
//! [`LinkPolicy::Copy`](crate::LinkPolicy::Copy) (or `CopyOrRefuse`) a link
//! whose target resolves inside the archive to an extracted file or
//! directory becomes a copy of it, with that target's narrowed mode.
//!
//! # What refuses the archive
//!
//! Links, devices and FIFOs (unless [`Options::links`](crate::Options::links)
//! or [`Options::special`](crate::Options::special) say otherwise: under
//! `LinkPolicy::Copy` a link that cannot be copied is skipped, never
//! written, and reported with the reason; under `CopyOrRefuse` it refuses
//! the archive), path traversal, names that readers could take two ways or
//! that name nothing, one path with two meanings, anything already in the
//! destination except directories, malformed or ambiguous headers, names
//! reserved for staging, and archives over a limit ([`Options`](crate::Options)). Every rule, with
//! its id, when it applies and why, is a row of [`RULES`](crate::RULES) (the
//! host's policy, [`Rule::id`](crate::Rule::id)) or
//! [`GRAMMAR_RULES`](crate::GRAMMAR_RULES) (the guest grammar's `[rule <id>]`
//! in [`Error::Malformed`](crate::Error::Malformed) messages);
//! `docs/RULES.md` in the repository is generated from them.
//!
//! See `docs/THREAT-MODEL.md` in the repository for the layer that stops each
//! known attack and the test that proves it.
