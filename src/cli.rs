//! Command line: `Args` mirrors SPEC's flags; `Options::from_args` turns them into the
//! typed form every stage reads (window in UTC, severity, checked output paths). No stage
//! after this sees a raw flag.

use crate::error::{Error, Result};
use crate::findings::Severity;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "trailproof",
    version,
    about = "Prove what an AWS CloudTrail evidence bundle does and does not show, offline."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a bundle: configuration, integrity, coverage.
    Verify(Args),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Terminal summary.
    Text,
    /// The full report, one JSON document.
    Json,
    /// One finding per line.
    Jsonl,
    /// Findings as CSV.
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folders (or single files) holding the bucket copy, public keys and configuration.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Start of the window the verdict speaks about (RFC 3339, any offset).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// End of the window (RFC 3339, any offset). Default: the span of the digests found.
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// A public key file (list-public-keys JSON, or PEM) besides those in the bundle.
    #[arg(long = "public-key", value_name = "FILE")]
    pub public_key: Vec<PathBuf>,
    /// Only this trail's configuration (ARN or name).
    #[arg(long, value_name = "ARN|NAME")]
    pub trail: Option<String>,
    /// Only these accounts' evidence.
    #[arg(long, value_name = "ID")]
    pub account: Vec<String>,
    /// A region that must be covered, besides those the configuration and evidence name.
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
    /// What to print on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write a self-contained HTML report (heat map, findings, manifest) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Lowest severity that makes the exit status 1.
    #[arg(long = "fail-on", value_name = "SEVERITY", default_value = "medium")]
    pub fail_on: String,
    /// Fix `generated_at` (to SOURCE_DATE_EPOCH, or the UNIX epoch) for byte-identical reports.
    #[arg(long)]
    pub deterministic: bool,
    /// Print no terminal summary (machine formats still go to standard output).
    #[arg(long, short)]
    pub quiet: bool,
    /// Never draw a progress bar.
    #[arg(long = "no-progress")]
    pub no_progress: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Largest size a single log or digest file may inflate to, in MiB (decompression bombs).
    #[arg(long = "max-inflate-mib", value_name = "MIB", default_value_t = 512)]
    pub max_inflate_mib: u64,
    /// Memory for per-file records (manifest, log files, digest listings), in MiB; past
    /// it they are sorted into temporary files. Decimals allowed.
    #[arg(long = "memory-mib", value_name = "MIB", default_value_t = DEFAULT_MEMORY_MIB)]
    pub memory_mib: f64,
    /// Folder for those temporary files (default: TMPDIR, else the system's). Never an input.
    #[arg(long = "temp-dir", value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// Default `--memory-mib`: a few thousand files' records stay in memory; past that, writing
/// a record out (a few hundred bytes) costs far less than reading the log file it describes
/// (hundreds of KB), so a bigger budget buys no speed (README "Performance").
pub const DEFAULT_MEMORY_MIB: f64 = 4.0;

/// The sorted record streams that share `--memory-mib` (`spill.rs`).
const STREAMS: usize = 7;

/// The typed options every stage reads.
#[derive(Debug, Clone)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub public_keys: Vec<PathBuf>,
    pub trail: Option<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub format: Format,
    pub json_out: Option<PathBuf>,
    pub html_out: Option<PathBuf>,
    pub fail_on: Severity,
    pub deterministic: bool,
    pub quiet: bool,
    pub progress: bool,
    pub threads: Option<usize>,
    pub max_inflate: u64,
    /// Each sorted stream's memory and temporary folder.
    pub budget: crate::spill::Budget,
    pub force: bool,
}

impl Options {
    pub fn from_args(a: Args) -> Result<Options> {
        let time = |v: &Option<String>| -> Result<Option<i64>> {
            v.as_deref()
                .map(|s| {
                    crate::time::parse_iso(s).ok_or_else(|| Error::Argument {
                        what: "time",
                        value: s.to_owned(),
                        reason: "not an RFC 3339 time".into(),
                    })
                })
                .transpose()
        };
        let start = time(&a.start)?;
        let end = time(&a.end)?;
        if let (Some(s), Some(e)) = (start, end) {
            if s >= e {
                return Err(Error::Argument {
                    what: "window",
                    value: format!(
                        "{} .. {}",
                        a.start.unwrap_or_default(),
                        a.end.unwrap_or_default()
                    ),
                    reason: "--start must be before --end".into(),
                });
            }
        }
        let fail_on = Severity::parse(&a.fail_on).ok_or_else(|| Error::Argument {
            what: "--fail-on",
            value: a.fail_on.clone(),
            reason: "expected one of info, low, medium, high, critical".into(),
        })?;
        if a.threads == Some(0) {
            return Err(Error::Argument {
                what: "--threads",
                value: "0".into(),
                reason: "at least one thread".into(),
            });
        }
        if a.threads.is_some_and(|n| n > MAX_THREADS) {
            return Err(Error::Argument {
                what: "--threads",
                value: a.threads.unwrap_or_default().to_string(),
                reason: format!("at most {MAX_THREADS}"),
            });
        }
        // Checked here, not silently ignored where the report reads it: a typo would
        // otherwise stamp the report with the wall clock or 1970.
        if let Some(v) = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            if !v
                .trim()
                .parse::<i64>()
                .is_ok_and(|t| (0..=253_402_300_799).contains(&t))
            {
                return Err(Error::Argument {
                    what: "SOURCE_DATE_EPOCH",
                    value: v,
                    reason: "seconds since 1970 (up to year 9999)".into(),
                });
            }
        }
        if a.max_inflate_mib == 0 {
            return Err(Error::Argument {
                what: "--max-inflate-mib",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        if !(a.memory_mib.is_finite() && a.memory_mib > 0.0) {
            return Err(Error::Argument {
                what: "--memory-mib",
                value: a.memory_mib.to_string(),
                reason: "a positive number of MiB".into(),
            });
        }
        // Resolved once: temporary files go to that folder, wherever its name leads later.
        let temp_dir = match &a.temp_dir {
            Some(t) => match t.canonicalize() {
                Ok(c) if c.is_dir() => c,
                _ => {
                    return Err(Error::Argument {
                        what: "--temp-dir",
                        value: t.display().to_string(),
                        reason: "not an existing folder".into(),
                    })
                }
            },
            // The system's: checked when a file is first written there (most runs never do).
            None => {
                let t = std::env::temp_dir();
                t.canonicalize().unwrap_or(t)
            }
        };
        // Temporary files are written there: never into the evidence.
        if let Ok(t) = temp_dir.canonicalize() {
            for input in &a.paths {
                if input.canonicalize().is_ok_and(|i| t.starts_with(&i)) {
                    return Err(Error::Argument {
                        what: "--temp-dir",
                        value: temp_dir.display().to_string(),
                        reason: format!(
                            "it is inside input `{}`: trailproof never writes into the evidence",
                            input.display()
                        ),
                    });
                }
            }
        }
        for acct in &a.account {
            if acct.len() != 12 || !acct.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::Argument {
                    what: "--account",
                    value: acct.clone(),
                    reason: "an AWS account ID is 12 digits".into(),
                });
            }
        }
        // The same evidence read twice would count twice (and a file inside a folder given
        // too would appear twice in the manifest under two names).
        let real: Vec<(usize, PathBuf)> = a
            .paths
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i, p.canonicalize().ok()?)))
            .collect();
        for (i, p) in &real {
            // An archive inside a folder also given is not read by the folder's walk.
            let archive = p.is_file() && crate::archive::kind_of(p).is_some();
            for (j, q) in &real {
                let twice = p == q && i > j;
                let inside = p != q && p.starts_with(q) && !archive;
                if twice || inside {
                    return Err(Error::Argument {
                        what: "input",
                        value: a
                            .paths
                            .get(*i)
                            .map(|x| x.display().to_string())
                            .unwrap_or_default(),
                        reason: format!(
                            "it is already read as part of `{}`",
                            a.paths
                                .get(*j)
                                .map(|x| x.display().to_string())
                                .unwrap_or_default()
                        ),
                    });
                }
            }
        }
        for out in a.json.iter().chain(&a.html) {
            check_output(out, &a.paths, a.force)?;
        }
        if let (Some(j), Some(h)) = (&a.json, &a.html) {
            if j == h {
                return Err(Error::Argument {
                    what: "--html",
                    value: h.display().to_string(),
                    reason: "the same file as --json".into(),
                });
            }
        }
        Ok(Options {
            paths: a.paths,
            start,
            end,
            public_keys: a.public_key,
            trail: a.trail,
            accounts: a.account,
            regions: a.region,
            format: a.format,
            json_out: a.json,
            html_out: a.html,
            fail_on,
            deterministic: a.deterministic,
            quiet: a.quiet,
            progress: !a.no_progress && !a.quiet,
            threads: a.threads,
            max_inflate: a.max_inflate_mib.saturating_mul(1 << 20),
            budget: crate::spill::Budget {
                dir: temp_dir,
                // Saturating: a huge value means "all in memory".
                bytes: (a.memory_mib * f64::from(1u32 << 20) / STREAMS as f64) as usize,
            },
            force: a.force,
        })
    }
}

/// More worker threads than this only exhausts the machine.
const MAX_THREADS: usize = 1024;

/// Refuse an output inside an input folder, equal to an input file (an archive), through a
/// symbolic link, or over an existing file without `--force`.
fn check_output(out: &Path, inputs: &[PathBuf], force: bool) -> Result<()> {
    let inside = |input: &Path| Error::OutputInsideInput {
        output: out.to_path_buf(),
        input: input.to_path_buf(),
    };
    // A link may point anywhere, into the evidence too: judge where it leads (`/dev/stdout`
    // is fine), and refuse one that leads nowhere yet (it would create its target).
    let is_link = out
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    let resolved = match (is_link, out.canonicalize()) {
        (true, Ok(t)) => Some(t),
        // `/dev/stdout` on a pipe leads to `pipe:[N]`: it exists, yet has no path.
        (true, Err(_)) if std::fs::metadata(out).is_ok() => None,
        (true, Err(_)) => return Err(Error::Argument {
            what: "output",
            value: out.display().to_string(),
            reason:
                "it is a symbolic link to nothing; trailproof does not create files through links"
                    .into(),
        }),
        (false, _) => None,
    };
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let target = match resolved {
        Some(t) => Some(t),
        None if is_link => None,
        None => parent
            .canonicalize()
            .ok()
            .zip(out.file_name())
            .map(|(p, name)| p.join(name)),
    };
    if let Some(target) = target {
        let parent = target.parent().unwrap_or(&target).to_path_buf();
        for input in inputs {
            if let Ok(inp) = input.canonicalize() {
                if parent.starts_with(&inp) || target == inp {
                    return Err(inside(input));
                }
            }
        }
    }
    if out.exists() && !force {
        return Err(Error::OutputExists(out.to_path_buf()));
    }
    Ok(())
}
