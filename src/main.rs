//! `trailproof` binary: parse arguments, call the library, map the outcome to an exit
//! status (0 verified, 1 findings or inconclusive, 2 could not run). No logic here.

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use trailproof::cli::{Cli, Command, Format, Options};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Verify(args) = cli.command;
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {e}");
            if let Some(h) = e.hint() {
                let _ = writeln!(err, "\nhint: {h}");
            }
            ExitCode::from(2)
        }
    }
}

fn run(args: trailproof::cli::Args) -> trailproof::Result<u8> {
    let opts = Options::from_args(args)?;
    let report = trailproof::run(&opts)?;
    if let Some(path) = &opts.json_out {
        write_new(path, opts.force, |w| {
            trailproof::report::json::write(&report, w)
        })?;
    }
    if let Some(path) = &opts.html_out {
        write_new(path, opts.force, |w| {
            trailproof::report::html::write(&report, w)
        })?;
    }
    if !(opts.quiet && opts.format == Format::Text) {
        let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        // A closed pipe (`| head`) is not a failure of the verification.
        if let Err(e) = trailproof::report::write(&report, opts.format, &mut stdout)
            .and_then(|()| stdout.flush())
        {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(trailproof::Error::OutputWrite {
                    path: "<stdout>".into(),
                    source: e,
                });
            }
        }
    }
    Ok(u8::try_from(report.exit_status).unwrap_or(2))
}

/// Write a report file; never replace an existing one without `--force`. `--force`
/// removes an old regular file and creates a new one exclusively (`create_new` follows no
/// link), so a link planted there after the arguments were checked is never written
/// through. Anything else that is there (`/dev/stdout`, a pipe, a link `cli` checked)
/// is written to as it is.
fn write_new(
    path: &std::path::Path,
    force: bool,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> trailproof::Result<()> {
    let meta = path.symlink_metadata().ok();
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    // Whether this run creates the file (and so removes it again if the report fails).
    let created = match meta {
        Some(m) if force && m.file_type().is_file() => {
            std::fs::remove_file(path).map_err(|e| trailproof::Error::OutputWrite {
                path: path.to_path_buf(),
                source: e,
            })?;
            o.create_new(true);
            true
        }
        Some(_) if force => {
            o.truncate(true);
            false
        }
        _ => {
            o.create_new(true);
            true
        }
    };
    let f = o.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => trailproof::Error::OutputExists(path.to_path_buf()),
        _ => trailproof::Error::OutputWrite {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
    let written = body(&mut w).and_then(|()| w.flush());
    drop(w);
    written.map_err(|e| {
        // A half-written report must not pass for a whole one.
        if created {
            let _ = std::fs::remove_file(path);
        }
        trailproof::Error::OutputWrite {
            path: path.to_path_buf(),
            source: e,
        }
    })
}
