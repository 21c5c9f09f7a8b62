//! The native command line's subcommands (the binary in `src/bin/bpt-lab.rs` dispatches here).

pub mod check;
