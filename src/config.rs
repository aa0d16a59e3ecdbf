//! Trail configuration: reading the exports and judging them (issue 5).
//!
//! INTERFACE STUB — the config helper owns this file and replaces the bodies.

use crate::findings::Finding;
use serde::Serialize;
use std::collections::BTreeSet;

/// One configuration export found in the bundle, already parsed as JSON by discovery.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Path as found in the bundle (display form, `/`-separated).
    pub path: String,
    /// The file's name (last path component), e.g. `get-trail-status.TRAILNAME.json`.
    pub file_name: String,
    pub json: serde_json::Value,
}

/// What kind of configuration export a JSON document is, decided by its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConfigKind {
    DescribeTrails,
    GetTrail,
    GetTrailStatus,
    GetEventSelectors,
    DescribeOrganization,
    TerraformShow,
}

/// Recognise a configuration export by its JSON shape (and, for status files, its name).
/// `None`: not a configuration export.
pub fn classify(json: &serde_json::Value, file_name: &str) -> Option<ConfigKind> {
    let _ = (json, file_name);
    None
}

/// Whether a trail records management events, as far as the exports tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManagementEvents {
    /// All management events (read and write) are recorded.
    All,
    /// Recorded in part (read-only / write-only, excluded sources, other narrowing).
    Partial,
    /// No selector records management events.
    Excluded,
    /// No selector export for this trail: cannot tell.
    Unknown,
}

/// One trail, merged from every export that describes it (shadow copies are one trail).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailConfig {
    pub name: String,
    pub arn: Option<String>,
    pub home_region: Option<String>,
    pub account: Option<String>,
    pub multi_region: Option<bool>,
    pub organization_trail: Option<bool>,
    pub log_validation: Option<bool>,
    pub include_global_events: Option<bool>,
    pub kms_key_id: Option<String>,
    pub bucket: Option<String>,
    pub key_prefix: Option<String>,
    /// From get-trail-status; `None` when there is no status export.
    pub is_logging: Option<bool>,
    pub latest_delivery: Option<i64>,
    pub latest_digest_delivery: Option<i64>,
    pub management_events: Option<ManagementEvents>,
}

/// Everything the configuration stage produces.
#[derive(Debug, Clone, Default)]
pub struct ConfigAnalysis {
    /// True when at least one trail-describing export (describe-trails, get-trail, terraform) was found.
    pub exported: bool,
    pub trails: Vec<TrailConfig>,
    pub organization_id: Option<String>,
    pub findings: Vec<Finding>,
    /// The report's `configuration` section.
    pub section: ConfigSection,
}

/// The JSON report's `configuration` section (serialised as is).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ConfigSection {
    pub exported: bool,
    pub trails: Vec<serde_json::Value>,
}

/// What the evidence shows, for the configuration-versus-evidence rules.
#[derive(Debug, Clone, Default)]
pub struct EvidenceSummary {
    pub window_start: i64,
    pub window_end: i64,
    /// Regions with any log file or digest in the window (any account).
    pub regions_with_evidence: BTreeSet<String>,
    /// Trails seen in digest file names: (trail name, home region).
    pub trails_seen: BTreeSet<(String, String)>,
    /// (bucket, key prefix before `AWSLogs/`) of every digest and log key seen; prefix may be "".
    pub locations: BTreeSet<(String, String)>,
    pub digests: usize,
    pub verified_digests: usize,
    /// Newest `digestEndTime` among readable digests, if any.
    pub newest_digest_end: Option<i64>,
    /// Events and management events in log files that verified digests list, inside the window.
    pub verified_events: u64,
    pub verified_management_events: u64,
}

/// Judge the exports: config_* findings and the `configuration` section.
pub fn analyze(files: &[ConfigFile], trail_filter: Option<&str>) -> ConfigAnalysis {
    let _ = (files, trail_filter);
    ConfigAnalysis::default()
}

/// `config_evidence_mismatch` findings: configuration and evidence disagree.
pub fn against_evidence(analysis: &ConfigAnalysis, evidence: &EvidenceSummary) -> Vec<Finding> {
    let _ = (analysis, evidence);
    Vec::new()
}
