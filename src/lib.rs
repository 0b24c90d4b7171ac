//! thermosweep's command-line programs: `sweepctl` (run, submit, watch, fetch and report on
//! sweeps) and the thin `sweep-coordinator` and `sweep-agent` daemons. The programs live in
//! `src/bin/`; what they share lives here.
//!
//! Modules:
//! * [`exit`]: the documented exit codes (DESIGN §7) and the error type that carries them.
//! * [`logging`]: `tracing` output as text or one JSON object per line.
//! * [`signals`]: SIGINT/SIGTERM for the daemons.
//! * [`cli`]: the `sweepctl` subcommands.

pub mod cli;
pub mod exit;
pub mod logging;
pub mod signals;
