//! The `sealtar` command line, run as a user runs it: exit codes, messages,
//! the destination on refusal, standard streams, every subcommand. The
//! binary is the one Cargo builds for these tests (`CARGO_BIN_EXE_sealtar`).

mod bounds;
mod cargo;
mod cargo_trust;
mod check;
mod commands;
mod compress;
mod difffuzz;
mod link_bounds;
mod links;
mod messages;
mod run;
mod streams;
