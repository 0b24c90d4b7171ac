//! `sweepctl`: the command-line interface (DESIGN §7).

use std::process::ExitCode;

use clap::Parser;
use thermosweep::cli::Cli;

fn main() -> ExitCode {
    thermosweep::exit::finish(Cli::parse().execute())
}
