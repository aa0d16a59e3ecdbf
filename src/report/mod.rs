//! The report: one model, several writers (`text.rs` and `html.rs` for people, `json.rs`
//! and `csv.rs` for machines).
//!
//! `Report` is assembled once by `lib.rs` from every stage's output, with findings sorted
//! and the verdict and exit status already derived; writers only turn it into bytes.

pub mod csv;
pub mod html;
pub mod json;
pub mod text;

use crate::config::ConfigSection;
use crate::coverage::RegionCoverage;
use crate::discover::ManifestEntry;
use crate::findings::{Findings, Severity, Verdict};
use crate::spill::{Distinct, Sorted, SpillError};
use std::collections::BTreeMap;

/// What set the window: `--start` and `--end`, the span of the evidence, or one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSource {
    CommandLine,
    Digests,
    /// `--start` given, the end from the evidence.
    StartGiven,
    /// `--end` given, the start from the evidence.
    EndGiven,
}

impl WindowSource {
    pub fn new(start_given: bool, end_given: bool) -> Self {
        match (start_given, end_given) {
            (true, true) => WindowSource::CommandLine,
            (false, false) => WindowSource::Digests,
            (true, false) => WindowSource::StartGiven,
            (false, true) => WindowSource::EndGiven,
        }
    }

    /// The report's `window.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowSource::CommandLine => "command_line",
            WindowSource::Digests => "digests",
            WindowSource::StartGiven => "start_from_command_line",
            WindowSource::EndGiven => "end_from_command_line",
        }
    }

    /// For a person.
    pub fn describe(self) -> &'static str {
        match self {
            WindowSource::CommandLine => "--start/--end",
            WindowSource::Digests => "span of the digests found",
            WindowSource::StartGiven => "--start; the end from the digests found",
            WindowSource::EndGiven => "--end; the start from the digests found",
        }
    }
}

#[derive(Debug)]
pub struct Report {
    pub tool_version: &'static str,
    pub generated_at: i64,
    pub verdict: Verdict,
    pub exit_status: i32,
    pub fail_on: Severity,
    pub window: (i64, i64),
    /// What set the window's ends.
    pub window_source: WindowSource,
    /// `--account`, `--region` and `--trail` as given (sorted): what the report speaks of.
    pub scope: Scope,
    pub roots: Vec<String>,
    pub manifest: Manifest,
    pub summary: Summary,
    pub configuration: ConfigSection,
    pub coverage: Vec<RegionCoverage>,
    pub findings: Findings,
}

/// The report's `scope`: the options that set what it judges. `accounts` narrows the
/// evidence (empty: every account), `required_regions` adds regions that must be covered,
/// `trail` picks the configuration judged (none: every trail exported).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Scope {
    pub accounts: Vec<String>,
    pub required_regions: Vec<String>,
    pub trail: Option<String>,
}

/// Counts for the report's `summary`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub digests: u64,
    pub digests_verified: u64,
    pub digests_unverified: u64,
    pub digests_unreadable: u64,
    pub digests_in_window: u64,
    pub log_files: u64,
    pub log_files_valid: u64,
    pub log_files_unreadable: u64,
    pub duplicate_log_files: u64,
    pub inflated_bytes: u64,
    pub events: u64,
    pub management_events: u64,
    pub verified_events: u64,
    pub public_keys: u64,
    pub signature_files: u64,
    pub config_files: u64,
    pub skipped_bucket_objects: u64,
    pub ignored_files: u64,
    pub regions: u64,
    pub accounts: u64,
    pub hours: u64,
    pub hours_covered: u64,
    pub findings_by_severity: BTreeMap<String, u64>,
    pub findings_by_kind: BTreeMap<String, u64>,
}

/// The chain-of-custody manifest: every input file, sorted, each once. It is read from its
/// sorted stream (`spill.rs`) while a report is written, so the files of a large bundle are
/// never all in memory at once.
#[derive(Debug, Default)]
pub struct Manifest {
    sorted: Sorted<ManifestEntry>,
    len: u64,
}

impl Manifest {
    pub fn new(sorted: Sorted<ManifestEntry>) -> Result<Self, SpillError> {
        let mut m = Manifest { sorted, len: 0 };
        let mut len = 0;
        for e in m.iter()? {
            e?;
            len += 1;
        }
        m.len = len;
        Ok(m)
    }

    /// Entries, each once (the same file named twice is one entry).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries in order. One reading at a time (`Sorted::iter`).
    pub fn iter(&self) -> Result<Distinct<'_, ManifestEntry>, SpillError> {
        self.sorted.iter_distinct()
    }
}

/// Write the report in a standard-output format.
pub fn write(
    r: &Report,
    format: crate::cli::Format,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use crate::cli::Format;
    match format {
        Format::Text => w.write_all(text::render(r).map_err(std::io::Error::other)?.as_bytes()),
        Format::Json => json::write(r, w),
        Format::Jsonl => json::write_lines(r, w),
        Format::Csv => csv::write(r, w),
    }
}
