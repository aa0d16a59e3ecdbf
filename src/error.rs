//! Failures to run (exit status 2). Problems *in* the evidence are findings, never errors.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("input `{}` does not exist", .0.display())]
    InputMissing(PathBuf),
    #[error("cannot read input `{}`: {source}", path.display())]
    InputUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is an archive; reading archives in place is not supported yet", .0.display())]
    ArchiveUnsupported(PathBuf),
    #[error("cannot read public key `{}`: {reason}", path.display())]
    PublicKey { path: PathBuf, reason: String },
    #[error("`{}` already exists", .0.display())]
    OutputExists(PathBuf),
    #[error("output `{}` is inside input `{}`: trailproof never writes into the evidence", output.display(), input.display())]
    OutputInsideInput { output: PathBuf, input: PathBuf },
    #[error("cannot write `{}`: {source}", path.display())]
    OutputWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid {what} `{value}`: {reason}")]
    Argument {
        what: &'static str,
        value: String,
        reason: String,
    },
    #[error("cannot start worker threads: {0}")]
    Threads(String),
    #[error("the window from {start} to {end} is longer than twenty years")]
    WindowTooLong { start: String, end: String },
    #[error("{0}")]
    Spill(#[from] crate::spill::SpillError),
}

impl Error {
    /// What the user can do about it, printed after the error as `hint: …`.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::InputMissing(_) => Some("check the path; pass the folder that holds the bucket copy, keys and configuration".into()),
            Error::ArchiveUnsupported(_) => Some("extract it first (read-only is fine) and pass the folder".into()),
            Error::PublicKey { .. } => Some("pass the JSON printed by `aws cloudtrail list-public-keys`, or a PEM file with `BEGIN RSA PUBLIC KEY` or `BEGIN PUBLIC KEY`".into()),
            Error::OutputExists(_) => Some("pass `--force` to replace it, or write elsewhere with `--json FILE`".into()),
            Error::OutputInsideInput { .. } => Some("write the report outside the evidence folder".into()),
            Error::WindowTooLong { .. } => Some("without --start/--end the window spans every digest found, so one dated far away (planted?) stretches it: pass --start and --end for the period to judge".into()),
            Error::Spill(crate::spill::SpillError::Write { .. }) => Some("per-file records beyond --memory-mib go to temporary files: point --temp-dir (or TMPDIR) at a writable folder outside the evidence, or raise --memory-mib".into()),
            Error::Argument { what, .. } if *what == "time" => Some("use RFC 3339, e.g. 2025-01-06T00:00:00Z or 2025-01-06T02:00:00+02:00".into()),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
