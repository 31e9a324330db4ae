//! Integration tests of sealtar: the library API against hostile archives
//! built byte by byte, the command-line tool, and differential runs against
//! GNU tar on real archives.

mod agreement;
mod architecture;
mod bounds;
mod compress;
mod corpus;
mod decoders;
mod differential;
mod exclude;
mod grammar;
mod hostile;
mod library;
mod link_meanings;
mod links;
mod rules;
mod sandbox;
mod support;
mod vetting;
#[cfg(windows)]
mod windows;
