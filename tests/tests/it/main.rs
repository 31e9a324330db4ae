//! Integration tests of sealtar: the library API against hostile archives
//! built byte by byte, the command-line tool, and differential runs against
//! GNU tar on real archives.

mod agreement;
mod bounds;
mod cargo_tools;
mod cli;
mod cli_links;
mod compress;
mod corpus;
mod decoders;
mod differential;
mod difffuzz;
mod grammar;
mod hostile;
mod library;
mod links;
mod messages;
mod rules;
mod sandbox;
mod support;
mod vetting;
#[cfg(windows)]
mod windows;
