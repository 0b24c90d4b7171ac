//! Exit codes (DESIGN §7): 0 ok, 1 failure, 2 bad usage or bad spec, 3 a check failed under
//! `--strict`. Every command returns a [`CliError`] that knows its code, so `main` maps errors
//! to codes in one place.

use std::process::ExitCode;

/// A command's failure, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage, bad spec, a file that is not what it should be: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The work failed (sweep failed or was cancelled, coordinator unreachable, I/O): exit 1.
    #[error("{0}")]
    Failure(String),
    /// A check failed under `--strict`: exit 3.
    #[error("{0}")]
    ChecksFailed(String),
}

impl CliError {
    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Failure(_) => 1,
            Self::ChecksFailed(_) => 3,
        }
    }

    /// A gRPC error from the coordinator: its rejections of what the user sent are usage
    /// errors; the rest are failures.
    pub fn from_status(what: &str, status: &tonic::Status) -> Self {
        use tonic::Code;
        let message = format!("{what}: {}", status.message());
        match status.code() {
            Code::InvalidArgument
            | Code::NotFound
            | Code::AlreadyExists
            | Code::Unauthenticated => Self::Usage(message),
            Code::Unavailable => Self::Failure(format!(
                "{what}: coordinator unreachable ({})",
                status.message()
            )),
            _ => Self::Failure(message),
        }
    }
}

/// Prints the error (if any) and gives the exit code.
pub fn finish(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code())
        }
    }
}
