//! Integration tests of sealtar: the library API against hostile archives
//! built byte by byte, and the command-line tool.

mod cli;
mod hostile;
mod support;
