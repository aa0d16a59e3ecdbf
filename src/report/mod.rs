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
use crate::findings::{Finding, Severity, Verdict};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Report {
    pub tool_version: &'static str,
    pub generated_at: i64,
    pub verdict: Verdict,
    pub exit_status: i32,
    pub fail_on: Severity,
    pub window: (i64, i64),
    /// True when `--start/--end` set the window; false when it is the digests' span.
    pub window_given: bool,
    pub roots: Vec<String>,
    pub manifest: Vec<ManifestEntry>,
    pub summary: Summary,
    pub configuration: ConfigSection,
    pub coverage: Vec<RegionCoverage>,
    pub findings: Vec<Finding>,
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

impl Report {
    /// Findings above `info`, worst first (then report order).
    pub fn worst(&self) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .collect();
        v.sort_by_key(|f| std::cmp::Reverse(f.severity));
        v
    }
}
