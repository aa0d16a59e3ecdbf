//! Trail configuration: reading the exports and judging them (issue 5).
//!
//! This module owns everything trailproof says about the *configured* trail:
//! - `classify` recognises a configuration export by its JSON shape;
//! - `analyze` merges every export that describes a trail (describe-trails from any region,
//!   get-trail, Terraform `show -json`) into one `TrailConfig` per trail, pairs the status and
//!   event-selector exports with it, raises the `config_*` findings and builds the report's
//!   `configuration` section (with the CIS AWS Foundations 3.1/3.2 answers);
//! - `against_evidence` compares that configuration with what the evidence shows
//!   (`config_evidence_mismatch`).
//!
//! Principles: a missing export makes an answer unknown, never a pass; a file that cannot be
//! tied to a trail is reported (`input_ignored`, info), never guessed; management-event coverage
//! is evaluated as AWS evaluates selectors (an event is logged when ANY selector matches it),
//! from the selectors' fields, never from their names. No input can make this module panic.

use crate::findings::{sort_findings, Evidence, Finding, Kind, Severity};
use crate::time;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;

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

impl ConfigKind {
    /// The command that prints this export (used in messages and the report).
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigKind::DescribeTrails => "describe-trails",
            ConfigKind::GetTrail => "get-trail",
            ConfigKind::GetTrailStatus => "get-trail-status",
            ConfigKind::GetEventSelectors => "get-event-selectors",
            ConfigKind::DescribeOrganization => "describe-organization",
            ConfigKind::TerraformShow => "terraform show -json",
        }
    }

    /// Exports that describe trails (and so make `ConfigAnalysis::exported` true).
    pub fn describes_trails(self) -> bool {
        matches!(
            self,
            ConfigKind::DescribeTrails | ConfigKind::GetTrail | ConfigKind::TerraformShow
        )
    }
}

/// Recognise a configuration export by its JSON shape (and, for status files, its name).
/// `None`: not a configuration export.
pub fn classify(json: &serde_json::Value, file_name: &str) -> Option<ConfigKind> {
    let obj = json.as_object()?;
    // The discriminating key must also have the right type: a `trailList` that is not a list
    // must not read as "no trail at all".
    if obj.get("trailList").is_some_and(Value::is_array) {
        return Some(ConfigKind::DescribeTrails);
    }
    if obj.get("Trail").is_some_and(Value::is_object) {
        return Some(ConfigKind::GetTrail);
    }
    if let Some(is_logging) = obj.get("IsLogging") {
        // get-trail-status names nothing but `IsLogging`; a non-boolean value is still a status
        // export when the file is named like one (it is then read as "unknown").
        if is_logging.is_boolean() || file_name.starts_with("get-trail-status") {
            return Some(ConfigKind::GetTrailStatus);
        }
    }
    if obj.get("EventSelectors").is_some_and(Value::is_array)
        || obj
            .get("AdvancedEventSelectors")
            .is_some_and(Value::is_array)
    {
        return Some(ConfigKind::GetEventSelectors);
    }
    if obj.get("Organization").is_some_and(Value::is_object) {
        return Some(ConfigKind::DescribeOrganization);
    }
    let values = obj
        .get("values")
        .or_else(|| obj.get("prior_state").and_then(|p| p.get("values")));
    if values
        .and_then(|v| v.get("root_module"))
        .is_some_and(Value::is_object)
        || (obj.contains_key("format_version") && values.is_some_and(Value::is_object))
    {
        return Some(ConfigKind::TerraformShow);
    }
    None
}

/// The trail a per-trail export names in its file name: `get-trail-status.NAME.json`,
/// `get-event-selectors.NAME.json`, `get-trail.NAME.json`. Names may hold `.`, `_`, `-`, so
/// only the fixed prefix and the `.json` suffix are stripped.
pub fn trail_name_in_file_name(file_name: &str) -> Option<&str> {
    // Whatever the extension's case, or none (`aws ... > get-trail-status.NAME`).
    let stem = match file_name.len().checked_sub(5) {
        Some(at)
            if file_name
                .get(at..)
                .is_some_and(|x| x.eq_ignore_ascii_case(".json")) =>
        {
            file_name.get(..at)?
        }
        _ => file_name,
    };
    ["get-trail-status.", "get-event-selectors.", "get-trail."]
        .iter()
        .find_map(|p| stem.strip_prefix(p))
        .filter(|n| !n.is_empty())
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

impl ManagementEvents {
    pub fn as_str(self) -> &'static str {
        match self {
            ManagementEvents::All => "all",
            ManagementEvents::Partial => "partial",
            ManagementEvents::Excluded => "excluded",
            ManagementEvents::Unknown => "unknown",
        }
    }
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
    /// When logging was last started and stopped (get-trail-status).
    pub start_logging: Option<i64>,
    pub stop_logging: Option<i64>,
    /// The get-trail-status export those come from.
    pub status_file: Option<String>,
    /// Always `Some` for a trail `analyze` returns (`Unknown` without a selector export).
    pub management_events: Option<ManagementEvents>,
}

impl TrailConfig {
    /// Whether `--trail ARN|NAME` selects this trail.
    pub fn matches(&self, filter: &str) -> bool {
        let filter = filter.trim();
        if filter.is_empty() {
            return false;
        }
        if self.arn.as_deref() == Some(filter) || self.name == filter {
            return true;
        }
        // An ARN given for a trail only known by name (Terraform state without `arn`).
        self.arn.is_none() && parse_trail_arn(filter).is_some_and(|a| a.name == self.name)
    }
}

/// Everything the configuration stage produces.
#[derive(Debug, Clone, Default)]
pub struct ConfigAnalysis {
    /// True when at least one trail-describing export (describe-trails, get-trail, terraform)
    /// was found.
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
    /// From describe-organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// What could not be assessed and why (e.g. no configuration export at all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
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
    /// For each of those, where its digests sit: accounts, organization IDs (`AWSLogs/o-ID/`
    /// layout) and, inside the window, regions.
    pub trail_digests: BTreeMap<(String, String), TrailDigests>,
    /// (bucket, key prefix before `AWSLogs/`) of every digest and log key seen; prefix may be "".
    /// Buckets come from the S3 names digests state (`digestS3Bucket`, `logFiles[].s3Bucket`);
    /// a bundle folder is not a bucket, so an entry whose bucket is "" is not compared.
    pub locations: BTreeSet<(String, String)>,
    pub digests: usize,
    pub verified_digests: usize,
    /// Newest `digestEndTime` among readable digests, if any.
    pub newest_digest_end: Option<i64>,
    /// Newest log file time (the `YYYYMMDDTHHmmZ` of its key) in the bundle, if any. Tells
    /// digests that stopped while log files kept coming (validation switched off) from digests
    /// that run to the end, also when the window was taken from the digests themselves.
    pub newest_log_time: Option<i64>,
    /// Events and management events in log files that verified digests list, inside the window.
    pub verified_events: u64,
    pub verified_management_events: u64,
}

/// Where one trail's digests sit (see `EvidenceSummary::trail_digests`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailDigests {
    pub accounts: BTreeSet<String>,
    pub orgs: BTreeSet<String>,
    pub regions: BTreeSet<String>,
    /// (bucket, key prefix) its verified digests state, as `EvidenceSummary::locations`.
    pub locations: BTreeSet<(String, String)>,
}

// ---------------------------------------------------------------------------------------------
// Reading JSON without trusting it

/// The first of `keys` present and not null (AWS and Terraform spell fields differently).
fn field<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| v.get(k).filter(|x| !x.is_null()))
}

/// A non-empty string (Terraform state writes "" for unset strings).
fn text(v: &Value, keys: &[&str]) -> Option<String> {
    field(v, keys)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A boolean field; also `"true"`/`"false"` as strings (either case), as exports rewritten
/// by other tools (or Terraform string attributes) carry them. Anything else is unknown.
fn flag(v: &Value, keys: &[&str]) -> Option<bool> {
    match field(v, keys)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn yes_no(b: Option<bool>) -> String {
    match b {
        Some(true) => "true".into(),
        Some(false) => "false".into(),
        None => "unknown".into(),
    }
}

/// `a, b, c` from any set of strings.
fn join<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = items.into_iter().map(|x| x.as_ref().to_owned()).collect();
    v.join(", ")
}

/// The parts of `arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME`.
struct TrailArn<'a> {
    region: &'a str,
    account: &'a str,
    name: &'a str,
}

fn parse_trail_arn(arn: &str) -> Option<TrailArn<'_>> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    parts.next()?; // partition: aws, aws-cn, aws-us-gov
    if parts.next()? != "cloudtrail" {
        return None;
    }
    let region = parts.next()?;
    let account = parts.next()?;
    let name = parts.next()?.strip_prefix("trail/")?;
    (!name.is_empty()).then_some(TrailArn {
        region,
        account,
        name,
    })
}

// ---------------------------------------------------------------------------------------------
// Event selectors: one model for classic and advanced, AWS and Terraform spellings

const OPERATORS: [(&str, &str); 6] = [
    ("Equals", "equals"),
    ("NotEquals", "not_equals"),
    ("StartsWith", "starts_with"),
    ("NotStartsWith", "not_starts_with"),
    ("EndsWith", "ends_with"),
    ("NotEndsWith", "not_ends_with"),
];

#[derive(Debug, Clone, PartialEq)]
enum Selectors {
    Classic(Vec<ClassicSelector>),
    Advanced(Vec<AdvancedSelector>),
    /// No selector configured (Terraform without selector blocks, or
    /// `HasCustomEventSelectors: false`): AWS's default selector applies.
    Default,
}

#[derive(Debug, Clone, PartialEq)]
struct ClassicSelector {
    include_management: Option<bool>,
    read_write: Option<String>,
    /// `None`: present but unreadable.
    excluded_sources: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq)]
struct AdvancedSelector {
    name: Option<String>,
    fields: Vec<FieldSelector>,
    /// `FieldSelectors` missing or not a list.
    malformed: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct FieldSelector {
    field: String,
    /// Operator (AWS spelling) -> values; operators with no value are left out.
    ops: BTreeMap<&'static str, Vec<String>>,
    malformed: bool,
}

impl FieldSelector {
    fn is(&self, name: &str) -> bool {
        self.field.eq_ignore_ascii_case(name)
    }

    /// The only operator is `op` (readOnly, eventCategory take Equals only; an eventSource
    /// exclusion is NotEquals only).
    fn only(&self, op: &str) -> Option<&[String]> {
        if self.malformed || self.ops.len() != 1 {
            return None;
        }
        self.ops.get(op).map(Vec::as_slice)
    }

    fn describe(&self) -> String {
        let ops: Vec<String> = self
            .ops
            .iter()
            .map(|(op, vals)| format!("{} {op} [{}]", self.field, vals.join(", ")))
            .collect();
        if ops.is_empty() {
            format!("{} (no operator)", self.field)
        } else {
            ops.join(" and ")
        }
    }
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_owned))
        .collect()
}

fn parse_classic(v: &Value) -> ClassicSelector {
    let excluded_sources = match field(
        v,
        &[
            "ExcludeManagementEventSources",
            "exclude_management_event_sources",
        ],
    ) {
        None => Some(BTreeSet::new()), // older CLI versions do not print it
        Some(x) => strings(x).map(|s| s.into_iter().collect()),
    };
    ClassicSelector {
        include_management: flag(v, &["IncludeManagementEvents", "include_management_events"]),
        read_write: text(v, &["ReadWriteType", "read_write_type"]),
        excluded_sources,
    }
}

fn parse_field_selector(v: &Value) -> FieldSelector {
    let mut fs = FieldSelector::default();
    match text(v, &["Field", "field"]) {
        Some(f) => fs.field = f,
        None => fs.malformed = true,
    }
    for (aws, tf) in OPERATORS {
        let Some(raw) = field(v, &[aws, tf]) else {
            continue;
        };
        match strings(raw) {
            // Terraform state prints unset operators as [].
            Some(vals) if vals.is_empty() => {}
            Some(vals) => {
                fs.ops.insert(aws, vals);
            }
            None => fs.malformed = true,
        }
    }
    fs
}

fn parse_advanced(v: &Value) -> AdvancedSelector {
    let list = field(v, &["FieldSelectors", "field_selector"]).and_then(Value::as_array);
    AdvancedSelector {
        name: text(v, &["Name", "name"]),
        fields: list
            .map(|l| l.iter().map(parse_field_selector).collect())
            .unwrap_or_default(),
        malformed: list.is_none(),
    }
}

/// get-event-selectors output. `None`: neither list is readable.
fn parse_selector_export(doc: &Value) -> Option<Selectors> {
    let classic = doc.get("EventSelectors").and_then(Value::as_array);
    let advanced = doc.get("AdvancedEventSelectors").and_then(Value::as_array);
    match (classic, advanced) {
        // AWS prints one list or the other; a non-empty list wins over an empty one.
        (Some(c), Some(a)) if a.is_empty() && !c.is_empty() => {
            Some(Selectors::Classic(c.iter().map(parse_classic).collect()))
        }
        (_, Some(a)) => Some(Selectors::Advanced(a.iter().map(parse_advanced).collect())),
        (Some(c), None) => Some(Selectors::Classic(c.iter().map(parse_classic).collect())),
        (None, None) => None,
    }
}

/// The selectors of a Terraform `aws_cloudtrail` resource. `None`: unreadable.
fn parse_terraform_selectors(values: &Value) -> Option<Selectors> {
    let list = |key: &str| match values.get(key) {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(a)) => Some(a.clone()),
        Some(_) => None,
    };
    let classic = list("event_selector")?;
    let advanced = list("advanced_event_selector")?;
    Some(if !advanced.is_empty() {
        Selectors::Advanced(advanced.iter().map(parse_advanced).collect())
    } else if !classic.is_empty() {
        Selectors::Classic(classic.iter().map(parse_classic).collect())
    } else {
        // No selector block: the provider never calls PutEventSelectors, AWS's default applies.
        Selectors::Default
    })
}

fn selector_label(i: usize, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("selector {} ('{n}')", i + 1),
        None => format!("selector {}", i + 1),
    }
}

/// One line per selector, for the report and the findings' proof.
fn describe_selectors(s: &Selectors) -> Vec<String> {
    match s {
        Selectors::Default => {
            vec!["AWS default selector: all management events, ReadWriteType All".into()]
        }
        Selectors::Classic(list) => list
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ex = match &c.excluded_sources {
                    Some(set) => format!("[{}]", join(set)),
                    None => "unreadable".into(),
                };
                format!(
                    "{}: IncludeManagementEvents {}, ReadWriteType {}, \
                     ExcludeManagementEventSources {ex}",
                    selector_label(i, None),
                    yes_no(c.include_management),
                    c.read_write.as_deref().unwrap_or("missing"),
                )
            })
            .collect(),
        Selectors::Advanced(list) => list
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let fields: Vec<String> = a.fields.iter().map(FieldSelector::describe).collect();
                let body = if a.malformed {
                    "FieldSelectors unreadable".to_owned()
                } else if fields.is_empty() {
                    "no field selector".to_owned()
                } else {
                    fields.join(" and ")
                };
                format!("{}: {body}", selector_label(i, a.name.as_deref()))
            })
            .collect(),
    }
}

/// How one selector covers management events of one kind (read or write).
struct Cover {
    label: String,
    excluded: BTreeSet<String>,
    /// Field selectors besides eventCategory/readOnly/eventSource NotEquals: they narrow the
    /// selector in ways that cannot be proven to add up to "all".
    narrowing: Vec<String>,
}

/// The answer on management events, with the selector facts that decided it.
#[derive(Debug, Clone, PartialEq)]
struct MgmtVerdict {
    value: ManagementEvents,
    reason: String,
}

const RW: [&str; 2] = ["read", "write"];

/// Union of the selectors, as AWS evaluates them: an event is logged when ANY selector matches.
/// `cover[0]` holds the selectors that can match read events, `cover[1]` write events.
fn combine(cover: [Vec<Cover>; 2], unknown: Vec<String>, none_reason: String) -> MgmtVerdict {
    let mut full = [false, false];
    let mut missing: [BTreeSet<String>; 2] = [BTreeSet::new(), BTreeSet::new()];
    for k in 0..2 {
        let clean: Vec<&Cover> = cover[k].iter().filter(|c| c.narrowing.is_empty()).collect();
        if let Some((first, rest)) = clean.split_first() {
            // A source is unrecorded only if every clean selector excludes it.
            let common: BTreeSet<String> = rest.iter().fold(first.excluded.clone(), |acc, c| {
                acc.intersection(&c.excluded).cloned().collect()
            });
            full[k] = common.is_empty();
            missing[k] = common;
        }
    }
    if full[0] && full[1] {
        // Name the selector that alone records everything, else the ones that add up to it.
        let alone = cover[0].iter().find(|r| {
            r.narrowing.is_empty()
                && r.excluded.is_empty()
                && cover[1]
                    .iter()
                    .any(|w| w.label == r.label && w.narrowing.is_empty() && w.excluded.is_empty())
        });
        let reason = match alone {
            Some(c) => format!(
                "{} records all management events, read and write, from every source",
                c.label
            ),
            None => {
                let mut labels: Vec<&str> = Vec::new();
                for c in cover.iter().flatten().filter(|c| c.narrowing.is_empty()) {
                    if !labels.contains(&c.label.as_str()) {
                        labels.push(&c.label);
                    }
                }
                format!(
                    "{} together record all management events, read and write, from every source",
                    labels.join(", ")
                )
            }
        };
        return MgmtVerdict {
            value: ManagementEvents::All,
            reason,
        };
    }
    if !unknown.is_empty() {
        return MgmtVerdict {
            value: ManagementEvents::Unknown,
            reason: format!("cannot tell: {}", unknown.join("; ")),
        };
    }
    if cover[0].is_empty() && cover[1].is_empty() {
        return MgmtVerdict {
            value: ManagementEvents::Excluded,
            reason: none_reason,
        };
    }
    let mut parts: Vec<String> = Vec::new();
    for k in 0..2 {
        if full[k] {
            continue;
        }
        if cover[k].is_empty() {
            parts.push(format!("no selector records {} management events", RW[k]));
            continue;
        }
        if !missing[k].is_empty() {
            parts.push(format!(
                "{} management events from {} are excluded by every selector that records them",
                RW[k],
                join(&missing[k])
            ));
        }
        for c in cover[k].iter().filter(|c| !c.narrowing.is_empty()) {
            parts.push(format!(
                "{} narrows {} management events to {}",
                c.label,
                RW[k],
                c.narrowing.join(" and ")
            ));
        }
    }
    MgmtVerdict {
        value: ManagementEvents::Partial,
        reason: parts.join("; "),
    }
}

fn eval_classic(list: &[ClassicSelector]) -> MgmtVerdict {
    let mut cover: [Vec<Cover>; 2] = [Vec::new(), Vec::new()];
    let mut unknown = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let label = selector_label(i, None);
        match s.include_management {
            Some(false) => continue,
            Some(true) => {}
            None => {
                unknown.push(format!(
                    "{label}: IncludeManagementEvents missing or not a boolean"
                ));
                continue;
            }
        }
        let rw = match s.read_write.as_deref() {
            Some(v) if v.eq_ignore_ascii_case("All") => [true, true],
            Some(v) if v.eq_ignore_ascii_case("ReadOnly") => [true, false],
            Some(v) if v.eq_ignore_ascii_case("WriteOnly") => [false, true],
            other => {
                unknown.push(format!(
                    "{label}: ReadWriteType {}",
                    other.unwrap_or("missing")
                ));
                continue;
            }
        };
        let Some(excluded) = &s.excluded_sources else {
            unknown.push(format!("{label}: ExcludeManagementEventSources unreadable"));
            continue;
        };
        for k in 0..2 {
            if rw[k] {
                cover[k].push(Cover {
                    label: label.clone(),
                    excluded: excluded.clone(),
                    narrowing: Vec::new(),
                });
            }
        }
    }
    let none = if list.is_empty() {
        "EventSelectors is empty: no selector records any event".to_owned()
    } else {
        format!(
            "IncludeManagementEvents is false on every event selector ({})",
            list.len()
        )
    };
    combine(cover, unknown, none)
}

fn eval_advanced(list: &[AdvancedSelector]) -> MgmtVerdict {
    let mut cover: [Vec<Cover>; 2] = [Vec::new(), Vec::new()];
    let mut unknown = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let label = selector_label(i, s.name.as_deref());
        if s.malformed {
            unknown.push(format!("{label}: FieldSelectors unreadable"));
            continue;
        }
        // Decided by the eventCategory field selector, never by the selector's Name.
        let categories: Vec<&FieldSelector> =
            s.fields.iter().filter(|f| f.is("eventCategory")).collect();
        if categories.is_empty() {
            unknown.push(format!("{label}: no eventCategory field selector"));
            continue;
        }
        let mut management = true;
        let mut unreadable = false;
        for c in &categories {
            match c.only("Equals") {
                Some(vals) => {
                    if !vals.iter().any(|v| v.eq_ignore_ascii_case("Management")) {
                        management = false;
                    }
                }
                None => unreadable = true,
            }
        }
        if !management {
            continue; // field selectors are ANDed: this one cannot match a management event
        }
        if unreadable {
            unknown.push(format!(
                "{label}: eventCategory has an operator other than Equals"
            ));
            continue;
        }
        let mut rw = [true, true];
        let mut excluded = BTreeSet::new();
        let mut narrowing = Vec::new();
        for f in s.fields.iter().filter(|f| !f.is("eventCategory")) {
            if f.is("readOnly") {
                if let Some(vals) = f.only("Equals") {
                    rw[0] &= vals.iter().any(|v| v.eq_ignore_ascii_case("true"));
                    rw[1] &= vals.iter().any(|v| v.eq_ignore_ascii_case("false"));
                    continue;
                }
            } else if f.is("eventSource") {
                if let Some(vals) = f.only("NotEquals") {
                    excluded.extend(vals.iter().cloned());
                    continue;
                }
            }
            narrowing.push(f.describe());
        }
        for k in 0..2 {
            if rw[k] {
                cover[k].push(Cover {
                    label: label.clone(),
                    excluded: excluded.clone(),
                    narrowing: narrowing.clone(),
                });
            }
        }
    }
    let none = if list.is_empty() {
        "AdvancedEventSelectors is empty: no selector records any event".to_owned()
    } else {
        let labels: Vec<String> = list
            .iter()
            .enumerate()
            .map(|(i, s)| selector_label(i, s.name.as_deref()))
            .collect();
        format!(
            "no advanced event selector has eventCategory Equals Management ({})",
            labels.join(", ")
        )
    };
    combine(cover, unknown, none)
}

fn evaluate(s: &Selectors) -> MgmtVerdict {
    match s {
        Selectors::Default => MgmtVerdict {
            value: ManagementEvents::All,
            reason: "no custom event selector: AWS's default selector records all management \
                     events, read and write"
                .into(),
        },
        Selectors::Classic(list) => eval_classic(list),
        Selectors::Advanced(list) => eval_advanced(list),
    }
}

fn selectors_type(s: &Selectors) -> &'static str {
    match s {
        Selectors::Classic(_) => "classic",
        Selectors::Advanced(_) => "advanced",
        Selectors::Default => "default",
    }
}

// ---------------------------------------------------------------------------------------------
// Trails, merged from every export

/// What one trail-describing export says about one trail.
#[derive(Default)]
struct Record {
    name: String,
    arn: Option<String>,
    home_region: Option<String>,
    account: Option<String>,
    multi_region: Option<bool>,
    organization_trail: Option<bool>,
    log_validation: Option<bool>,
    include_global_events: Option<bool>,
    kms_key_id: Option<String>,
    bucket: Option<String>,
    key_prefix: Option<String>,
    has_custom_selectors: Option<bool>,
    /// Terraform `enable_logging` (the status export, when present, wins).
    enable_logging: Option<bool>,
    /// Terraform selector blocks.
    selectors: Option<Selectors>,
}

impl Record {
    /// Fill what the ARN tells (name, home region, owner account) and check a name exists.
    fn with_arn(mut self) -> Option<Record> {
        // Some views print a trail's ARN as its Name (e.g. `--trail-name-list ARN`): the name
        // is the ARN's last part, so status and selector files named after it still pair.
        if let Some(a) = parse_trail_arn(&self.name) {
            let name = a.name.to_owned();
            if self.arn.is_none() {
                self.arn = Some(std::mem::take(&mut self.name));
            }
            self.name = name;
        }
        if let Some(a) = self.arn.as_deref().and_then(parse_trail_arn) {
            if self.name.is_empty() {
                self.name = a.name.to_owned();
            }
            if self.home_region.is_none() && !a.region.is_empty() {
                self.home_region = Some(a.region.to_owned());
            }
            if !a.account.is_empty() {
                self.account = Some(a.account.to_owned());
            }
        }
        (!self.name.is_empty()).then_some(self)
    }
}

/// A describe-trails / get-trail entry. `None`: names no trail.
fn aws_record(v: &Value) -> Option<Record> {
    v.as_object()?;
    Record {
        name: text(v, &["Name"]).unwrap_or_default(),
        arn: text(v, &["TrailARN"]),
        home_region: text(v, &["HomeRegion"]),
        multi_region: flag(v, &["IsMultiRegionTrail"]),
        organization_trail: flag(v, &["IsOrganizationTrail"]),
        log_validation: flag(v, &["LogFileValidationEnabled"]),
        include_global_events: flag(v, &["IncludeGlobalServiceEvents"]),
        kms_key_id: text(v, &["KmsKeyId"]),
        bucket: text(v, &["S3BucketName"]),
        key_prefix: text(v, &["S3KeyPrefix"]),
        has_custom_selectors: flag(v, &["HasCustomEventSelectors"]),
        ..Record::default()
    }
    .with_arn()
}

/// A Terraform `aws_cloudtrail` resource's `values`.
fn terraform_record(v: &Value) -> Option<Record> {
    v.as_object()?;
    Record {
        name: text(v, &["name"]).unwrap_or_default(),
        arn: text(v, &["arn"]),
        home_region: text(v, &["home_region"]),
        multi_region: flag(v, &["is_multi_region_trail"]),
        organization_trail: flag(v, &["is_organization_trail"]),
        log_validation: flag(v, &["enable_log_file_validation"]),
        include_global_events: flag(v, &["include_global_service_events"]),
        kms_key_id: text(v, &["kms_key_id"]),
        bucket: text(v, &["s3_bucket_name"]),
        key_prefix: text(v, &["s3_key_prefix"]),
        enable_logging: flag(v, &["enable_logging"]),
        selectors: parse_terraform_selectors(v),
        ..Record::default()
    }
    .with_arn()
}

/// `aws_cloudtrail` resources of a `terraform show -json`, child modules included:
/// (address, values).
fn terraform_resources(doc: &Value) -> Vec<(String, &Value)> {
    fn walk<'a>(module: &'a Value, depth: usize, out: &mut Vec<(String, &'a Value)>) {
        if depth > 64 {
            return; // no real configuration nests this deep
        }
        for r in module
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let is_trail = r.get("type").and_then(Value::as_str) == Some("aws_cloudtrail")
                && r.get("mode").and_then(Value::as_str) != Some("data");
            if let (true, Some(values)) = (is_trail, r.get("values").filter(|v| v.is_object())) {
                let address = text(r, &["address"]).unwrap_or_else(|| "aws_cloudtrail".into());
                out.push((address, values));
            }
        }
        for child in module
            .get("child_modules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk(child, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    // `terraform show -json` of a state has `values`; of a plan file, the state the plan
    // starts from as `prior_state.values` (what is deployed; `planned_values` is only
    // intended).
    let values = doc
        .get("values")
        .or_else(|| doc.get("prior_state").and_then(|p| p.get("values")));
    if let Some(root) = values.and_then(|v| v.get("root_module")) {
        walk(root, 0, &mut out);
    }
    out
}

/// get-trail-status, as read.
#[derive(Debug, Clone, PartialEq)]
struct Status {
    path: String,
    is_logging: Option<bool>,
    latest_delivery: Option<i64>,
    latest_digest_delivery: Option<i64>,
    delivery_error: Option<String>,
    digest_delivery_error: Option<String>,
    start_logging: Option<i64>,
    stop_logging: Option<i64>,
}

impl Status {
    /// The latest time the snapshot states.
    fn newest(&self) -> Option<i64> {
        [
            self.latest_delivery,
            self.latest_digest_delivery,
            self.start_logging,
            self.stop_logging,
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

fn parse_status(path: &str, v: &Value) -> Status {
    let when = |keys: &[&str]| field(v, keys).and_then(time::from_json);
    Status {
        path: path.to_owned(),
        is_logging: flag(v, &["IsLogging"]),
        latest_delivery: when(&["LatestDeliveryTime"]),
        latest_digest_delivery: when(&["LatestDigestDeliveryTime"]),
        delivery_error: text(v, &["LatestDeliveryError"]),
        digest_delivery_error: text(v, &["LatestDigestDeliveryError"]),
        start_logging: when(&["StartLoggingTime", "TimeLoggingStarted"]),
        stop_logging: when(&["StopLoggingTime", "TimeLoggingStopped"]),
    }
}

/// A trail being assembled, with where each fact came from.
#[derive(Default)]
struct Trail {
    cfg: TrailConfig,
    has_custom_selectors: Option<bool>,
    enable_logging: Option<bool>,
    /// Trail-describing exports that name this trail.
    files: BTreeSet<String>,
    /// Field (AWS spelling) -> the file that stated it first.
    src: BTreeMap<&'static str, String>,
    /// Exports that disagree on a field (shadow copies, Terraform drift).
    conflicts: Vec<String>,
    status: Option<Status>,
    status_files: Vec<String>,
    /// (file, selectors) from get-event-selectors.
    selectors: Option<(String, Selectors)>,
    selector_files: Vec<String>,
    /// (address in file, selectors) from Terraform.
    tf_selectors: Option<(String, Selectors)>,
    /// (verdict, file that decided it, what that file is).
    mgmt: Option<(MgmtVerdict, Option<String>, &'static str)>,
}

impl Trail {
    fn src(&self, field: &str) -> Option<&str> {
        self.src.get(field).map(String::as_str)
    }

    fn first_file(&self) -> Option<&str> {
        self.files.iter().next().map(String::as_str)
    }

    fn merge(&mut self, r: Record, path: &str) {
        self.files.insert(path.to_owned());
        if self.cfg.name.is_empty() {
            self.cfg.name = r.name;
        }
        let (src, conflicts) = (&mut self.src, &mut self.conflicts);
        let c = &mut self.cfg;
        set(&mut c.arn, r.arn, "TrailARN", path, src, conflicts);
        set(
            &mut c.home_region,
            r.home_region,
            "HomeRegion",
            path,
            src,
            conflicts,
        );
        set(&mut c.account, r.account, "Account", path, src, conflicts);
        set_weakest(
            &mut c.multi_region,
            r.multi_region,
            "IsMultiRegionTrail",
            path,
            src,
            conflicts,
        );
        set(
            &mut c.organization_trail,
            r.organization_trail,
            "IsOrganizationTrail",
            path,
            src,
            conflicts,
        );
        set_weakest(
            &mut c.log_validation,
            r.log_validation,
            "LogFileValidationEnabled",
            path,
            src,
            conflicts,
        );
        set_weakest(
            &mut c.include_global_events,
            r.include_global_events,
            "IncludeGlobalServiceEvents",
            path,
            src,
            conflicts,
        );
        set(
            &mut c.kms_key_id,
            r.kms_key_id,
            "KmsKeyId",
            path,
            src,
            conflicts,
        );
        set(
            &mut c.bucket,
            r.bucket,
            "S3BucketName",
            path,
            src,
            conflicts,
        );
        set(
            &mut c.key_prefix,
            r.key_prefix,
            "S3KeyPrefix",
            path,
            src,
            conflicts,
        );
        set(
            &mut self.has_custom_selectors,
            r.has_custom_selectors,
            "HasCustomEventSelectors",
            path,
            src,
            conflicts,
        );
        set_weakest(
            &mut self.enable_logging,
            r.enable_logging,
            "enable_logging",
            path,
            src,
            conflicts,
        );
        if self.tf_selectors.is_none() {
            self.tf_selectors = r.selectors.map(|s| (path.to_owned(), s));
        }
    }
}

/// Fill a field the first time an export states it; note later exports that disagree.
fn set<T: PartialEq + Debug>(
    slot: &mut Option<T>,
    new: Option<T>,
    name: &'static str,
    path: &str,
    src: &mut BTreeMap<&'static str, String>,
    conflicts: &mut Vec<String>,
) {
    let Some(new) = new else { return };
    match slot {
        None => {
            *slot = Some(new);
            src.insert(name, path.to_owned());
        }
        Some(old) if *old != new => {
            let first = src.get(name).map_or("?", String::as_str);
            conflicts.push(format!("{name}: {old:?} in {first}, {new:?} in {path}"));
        }
        Some(_) => {}
    }
}

/// `set` for a setting whose `false` weakens logging: when exports disagree, `false` is
/// judged (an auditor cannot pass a trail that one export shows without it, whichever file
/// sorts first), with the file that says so as its source.
fn set_weakest(
    slot: &mut Option<bool>,
    new: Option<bool>,
    name: &'static str,
    path: &str,
    src: &mut BTreeMap<&'static str, String>,
    conflicts: &mut Vec<String>,
) {
    let was = *slot;
    set(slot, new, name, path, src, conflicts);
    if let (Some(was), Some(new)) = (was, new) {
        if was != new {
            if !new {
                *slot = Some(false);
                src.insert(name, path.to_owned());
            }
            if let Some(c) = conflicts.last_mut() {
                c.push_str("; false is judged");
            }
        }
    }
}

/// Find the trail a record describes: same ARN, else same name where an ARN is missing.
/// Most trail records read from all exports together.
const MAX_TRAILS: usize = 2_000;

fn find_trail(trails: &[Trail], r: &Record) -> Option<usize> {
    if let Some(arn) = &r.arn {
        if let Some(i) = trails.iter().position(|t| t.cfg.arn.as_ref() == Some(arn)) {
            return Some(i);
        }
        let by_name: Vec<usize> = (0..trails.len())
            .filter(|&i| trails[i].cfg.arn.is_none() && trails[i].cfg.name == r.name)
            .collect();
        return only(&by_name);
    }
    let by_name: Vec<usize> = (0..trails.len())
        .filter(|&i| trails[i].cfg.name == r.name)
        .collect();
    only(&by_name)
}

/// The one candidate, if there is exactly one (several would be a guess).
fn only(candidates: &[usize]) -> Option<usize> {
    match candidates {
        [i] => Some(*i),
        _ => None,
    }
}

/// The trail a status or selector export belongs to, or why it cannot be told.
fn pair(
    trails: &[Trail],
    arn: Option<&str>,
    file_name: &str,
    kind: ConfigKind,
) -> Result<usize, String> {
    if let Some(arn) = arn {
        if let Some(i) = trails
            .iter()
            .position(|t| t.cfg.arn.as_deref() == Some(arn))
        {
            return Ok(i);
        }
        // A trail only known by name (Terraform without `arn`) with the ARN's trail name.
        let name = parse_trail_arn(arn).map(|a| a.name);
        let by_name: Vec<usize> = (0..trails.len())
            .filter(|&i| trails[i].cfg.arn.is_none() && Some(trails[i].cfg.name.as_str()) == name)
            .collect();
        return match by_name.as_slice() {
            [i] => Ok(*i),
            _ => Err(format!(
                "its TrailARN {arn} matches no trail in the exported configuration"
            )),
        };
    }
    let Some(name) = trail_name_in_file_name(file_name) else {
        return Err(format!(
            "it does not name its trail: {} output is paired by its file name, {}.TRAILNAME.json",
            kind.as_str(),
            kind.as_str()
        ));
    };
    let named = |name: &str| -> Vec<usize> {
        (0..trails.len())
            .filter(|&i| trails[i].cfg.name == name)
            .collect()
    };
    // `get-trail-status.NAME.txt`: the name without its extension, when the whole does not
    // name a trail (trail names may hold dots, so the whole is tried first).
    let mut by_name = named(name);
    if by_name.is_empty() {
        if let Some((stem, _)) = name.rsplit_once('.') {
            let stripped = named(stem);
            if !stripped.is_empty() {
                by_name = stripped;
            }
        }
    }
    match by_name.as_slice() {
        [i] => Ok(*i),
        [] => Err(format!(
            "its file name names trail {name}, which is not in the exported configuration"
        )),
        many => Err(format!(
            "its file name names trail {name}, and {} exported trails have that name",
            many.len()
        )),
    }
}

fn ignored(path: &str, why: String) -> Finding {
    Finding::new(Kind::InputIgnored)
        .message(format!("Configuration export not used: {why}."))
        .path(path)
        .evidence(Evidence::file(path).detail(format!("reason: {why}")))
}

/// Judge the exports: config_* findings and the `configuration` section.
pub fn analyze(files: &[ConfigFile], trail_filter: Option<&str>) -> ConfigAnalysis {
    let mut findings = Vec::new();
    let mut classified: Vec<(ConfigKind, &ConfigFile)> = Vec::new();
    for f in files {
        match classify(&f.json, &f.file_name) {
            Some(k) => classified.push((k, f)),
            None => findings.push(ignored(
                &f.path,
                "not a recognised CloudTrail, Organizations or Terraform export".into(),
            )),
        }
    }
    // Fixed processing order, whatever order discovery found the files in.
    classified
        .sort_by(|a, b| (a.0, &a.1.path, &a.1.file_name).cmp(&(b.0, &b.1.path, &b.1.file_name)));

    // 1. Trail-describing exports.
    let mut trails: Vec<Trail> = Vec::new();
    let mut exported = false;
    let mut describing: BTreeSet<String> = BTreeSet::new();
    for (kind, f) in classified.iter().filter(|(k, _)| k.describes_trails()) {
        let mut records: Vec<Record> = Vec::new();
        match kind {
            ConfigKind::DescribeTrails => {
                let list = f.json.get("trailList").and_then(Value::as_array);
                let list = list.map(Vec::as_slice).unwrap_or_default();
                exported = true; // even an empty trailList is an answer: "no trail"
                describing.insert(f.path.clone());
                let mut unnamed = 0;
                for entry in list {
                    match aws_record(entry) {
                        Some(r) => records.push(r),
                        None => unnamed += 1,
                    }
                }
                if unnamed > 0 {
                    findings.push(ignored(
                        &f.path,
                        format!("trailList entries without Name or TrailARN: {unnamed}"),
                    ));
                }
            }
            ConfigKind::GetTrail => match f.json.get("Trail").and_then(aws_record) {
                Some(r) => {
                    exported = true;
                    describing.insert(f.path.clone());
                    records.push(r);
                }
                None => findings.push(ignored(&f.path, "its Trail names no trail".into())),
            },
            _ => {
                // Terraform state only lists what that configuration manages: without an
                // aws_cloudtrail resource it says nothing about the account's trails.
                let resources = terraform_resources(&f.json);
                if resources.is_empty() {
                    findings.push(ignored(
                        &f.path,
                        "terraform show -json output without an aws_cloudtrail resource".into(),
                    ));
                }
                for (address, values) in resources {
                    match terraform_record(values) {
                        Some(r) => {
                            exported = true;
                            describing.insert(f.path.clone());
                            records.push(r);
                        }
                        None => findings.push(ignored(&f.path, format!("{address} has no name"))),
                    }
                }
            }
        }
        if trails.len() + records.len() > MAX_TRAILS {
            // AWS allows five trails per region and account: thousands are not an export
            // but a file built to make the pairing below (linear per record) quadratic.
            findings.push(ignored(
                &f.path,
                format!(
                    "it describes {} trails; more than {MAX_TRAILS} in all are not read",
                    records.len()
                ),
            ));
            records.truncate(MAX_TRAILS.saturating_sub(trails.len()));
        }
        for r in records {
            match find_trail(&trails, &r) {
                Some(i) => trails[i].merge(r, &f.path),
                None => {
                    let mut t = Trail::default();
                    t.merge(r, &f.path);
                    trails.push(t);
                }
            }
        }
    }

    // 2. Organization.
    let mut organization_id: Option<String> = None;
    let mut notes: Vec<String> = Vec::new();
    for (_, f) in classified
        .iter()
        .filter(|(k, _)| *k == ConfigKind::DescribeOrganization)
    {
        let id = f.json.get("Organization").and_then(|o| text(o, &["Id"]));
        match (&organization_id, id) {
            (None, Some(id)) => organization_id = Some(id),
            (Some(old), Some(id)) if *old != id => notes.push(format!(
                "describe-organization exports disagree: {old} and {id} (in {}); {old} is used",
                f.path
            )),
            _ => {}
        }
    }

    // 3. Status and selector exports, paired with a trail or reported. With no trail
    // export, selectors go first: theirs are the trails' ARNs, and a status (named by its
    // file name only) then joins the one trail of its name, never the first of several.
    let mut step3: Vec<&(ConfigKind, &ConfigFile)> = classified.iter().collect();
    if !exported {
        step3.sort_by_key(|(k, _)| *k != ConfigKind::GetEventSelectors);
    }
    for (kind, f) in step3 {
        match kind {
            ConfigKind::GetTrailStatus => match pair(&trails, None, &f.file_name, *kind)
                .or_else(|why| adopt(&mut trails, exported, None, &f.file_name).ok_or(why))
            {
                Ok(i) => {
                    let st = parse_status(&f.path, &f.json);
                    let t = &mut trails[i];
                    t.status_files.push(f.path.clone());
                    match t.status.take() {
                        None => t.status = Some(st),
                        Some(old) => {
                            // Two snapshots: the newer by its own times describes the trail;
                            // of two alike in time, the one that says logging is off.
                            let later = (st.newest(), st.is_logging == Some(false))
                                > (old.newest(), old.is_logging == Some(false));
                            let (kept, other) = if later { (st, old) } else { (old, st) };
                            if (kept.is_logging, &kept.delivery_error)
                                != (other.is_logging, &other.delivery_error)
                            {
                                t.conflicts.push(format!(
                                    "get-trail-status: IsLogging {} in {}, {} in {}; {} is used (the newer, or the one that says logging is off)",
                                    yes_no(other.is_logging),
                                    other.path,
                                    yes_no(kept.is_logging),
                                    kept.path,
                                    kept.path
                                ));
                            }
                            t.status = Some(kept);
                        }
                    }
                }
                Err(why) => findings.push(ignored(&f.path, why)),
            },
            ConfigKind::GetEventSelectors => {
                let arn = text(&f.json, &["TrailARN"]);
                match pair(&trails, arn.as_deref(), &f.file_name, *kind).or_else(|why| {
                    adopt(&mut trails, exported, arn.as_deref(), &f.file_name).ok_or(why)
                }) {
                    Ok(i) => {
                        let t = &mut trails[i];
                        t.selector_files.push(f.path.clone());
                        match (parse_selector_export(&f.json), &t.selectors) {
                            (Some(s), None) => t.selectors = Some((f.path.clone(), s)),
                            (Some(s), Some((old_path, old))) if *old != s => {
                                t.conflicts.push(format!(
                                "get-event-selectors: {old_path} and {} differ; the first is used",
                                f.path
                            ))
                            }
                            _ => {}
                        }
                    }
                    Err(why) => findings.push(ignored(&f.path, why)),
                }
            }
            _ => {}
        }
    }

    // 4. Status and management events per trail.
    for t in &mut trails {
        if let Some(st) = &t.status {
            // The status export is AWS's live answer: it wins over Terraform's enable_logging.
            if st.is_logging.is_some() {
                t.cfg.is_logging = st.is_logging;
                t.src.insert("IsLogging", st.path.clone());
            }
            t.cfg.latest_delivery = st.latest_delivery;
            t.cfg.latest_digest_delivery = st.latest_digest_delivery;
            t.cfg.start_logging = st.start_logging;
            t.cfg.stop_logging = st.stop_logging;
            t.cfg.status_file = Some(st.path.clone());
        }
        if t.cfg.is_logging.is_none() {
            if let Some(v) = t.enable_logging {
                t.cfg.is_logging = Some(v);
                if let Some(p) = t.src.get("enable_logging").cloned() {
                    t.src.insert("IsLogging", p);
                }
            }
        }
        let mgmt = if let Some((path, s)) = &t.selectors {
            (evaluate(s), Some(path.clone()), "get-event-selectors")
        } else if let Some((path, s)) = &t.tf_selectors {
            (evaluate(s), Some(path.clone()), "terraform")
        } else if t.has_custom_selectors == Some(false) {
            (
                evaluate(&Selectors::Default),
                t.src("HasCustomEventSelectors").map(str::to_owned),
                "HasCustomEventSelectors false",
            )
        } else {
            (
                MgmtVerdict {
                    value: ManagementEvents::Unknown,
                    reason: "no get-event-selectors export for this trail".into(),
                },
                None,
                "none",
            )
        };
        t.cfg.management_events = Some(mgmt.0.value);
        t.mgmt = Some(mgmt);
    }

    // 5. --trail limits the analysis to the trail the evidence is about.
    let filter = trail_filter.map(str::trim).filter(|f| !f.is_empty());
    let before: Vec<String> = trails.iter().map(|t| t.cfg.name.clone()).collect();
    if let Some(flt) = filter {
        trails.retain(|t| t.cfg.matches(flt));
    }
    trails.sort_by(|a, b| {
        (a.cfg.arn.as_deref().unwrap_or(""), &a.cfg.name)
            .cmp(&(b.cfg.arn.as_deref().unwrap_or(""), &b.cfg.name))
    });

    if exported {
        findings.extend(rules(&trails, &describing, filter, &before));
    } else if trails.is_empty() {
        notes.push(
            "no trail configuration export (describe-trails, get-trail or terraform show -json) \
             in the bundle: the configuration was not assessed"
                .into(),
        );
    } else {
        notes.push(
            "no trail configuration export (describe-trails, get-trail or terraform show -json) \
             in the bundle: only what the get-trail-status and get-event-selectors exports say \
             was judged (logging, delivery errors, management events); multi-region, log file \
             validation, global service events and encryption were not assessed"
                .into(),
        );
        // No trail is known to record management events in every region (nothing says
        // where a trail logs): none lowers another's finding.
        for t in &trails {
            status_and_selector_rules(t, &[], &mut findings);
        }
    }
    sort_findings(&mut findings);

    let section = ConfigSection {
        exported,
        trails: trails.iter().map(section_trail).collect(),
        organization_id: organization_id.clone(),
        notes,
    };
    ConfigAnalysis {
        exported,
        // Trails known only from status or selector exports say nothing of their regions,
        // bucket or validation: coverage goes by the evidence alone, as with no export.
        trails: if exported {
            trails.into_iter().map(|t| t.cfg).collect()
        } else {
            Vec::new()
        },
        organization_id,
        findings,
        section,
    }
}

/// With no trail-describing export in the bundle, the trail a status or selector export
/// names (its TrailARN, else its file name) and that `pair` found no trail for is taken
/// from that export alone. `None` when a trail export exists (it is the list of trails), the
/// export names no trail, or a trail of that name is there already and `pair` could not
/// tell it was this one (several of that name, or another ARN): never a guess.
fn adopt(
    trails: &mut Vec<Trail>,
    exported: bool,
    arn: Option<&str>,
    file_name: &str,
) -> Option<usize> {
    if exported || trails.len() >= MAX_TRAILS {
        return None;
    }
    let mut t = Trail::default();
    match arn.and_then(parse_trail_arn) {
        Some(a) => {
            // Another ARN's trail of this name is another trail; one known by name only
            // could be this one.
            if trails
                .iter()
                .any(|o| o.cfg.arn.is_none() && o.cfg.name == a.name)
            {
                return None;
            }
            t.cfg.name = a.name.to_owned();
            t.cfg.account = Some(a.account.to_owned());
            t.cfg.home_region = Some(a.region.to_owned());
            t.cfg.arn = arn.map(str::to_owned);
        }
        None => {
            let name = trail_name_in_file_name(file_name)?;
            if trails.iter().any(|o| o.cfg.name == name) {
                return None;
            }
            t.cfg.name = name.to_owned();
        }
    }
    trails.push(t);
    Some(trails.len() - 1)
}

// ---------------------------------------------------------------------------------------------
// Rules

/// A config finding scoped to a trail: its name, owner account and home region, the file.
fn trail_finding(kind: Kind, t: &Trail, path: Option<&str>) -> Finding {
    let mut f = Finding::new(kind).scope(
        t.cfg.account.as_deref(),
        t.cfg.home_region.as_deref(),
        Some(&t.cfg.name),
    );
    if let Some(p) = path.or_else(|| t.first_file()) {
        f = f.path(p);
    }
    f
}

fn proof(file: Option<&str>, expected: impl Into<String>, actual: impl Into<String>) -> Evidence {
    Evidence {
        file: file.map(str::to_owned),
        expected: Some(expected.into()),
        actual: Some(actual.into()),
        details: Vec::new(),
    }
}

/// Trails that may be recording (logging true, or no status export to say otherwise).
fn recording(trails: &[Trail]) -> Vec<&Trail> {
    trails
        .iter()
        .filter(|t| t.cfg.is_logging != Some(false))
        .collect()
}

/// What a trail's get-trail-status and event selectors alone tell: not logging, delivery
/// errors, management events not (or only in part) recorded.
fn status_and_selector_rules(t: &Trail, recording: &[&Trail], out: &mut Vec<Finding>) {
    let name = &t.cfg.name;
    if t.cfg.is_logging == Some(false) {
        let path = t.src("IsLogging");
        let mut ev = proof(path, "IsLogging: true", "IsLogging: false");
        if let Some(st) = &t.status {
            if let Some(s) = st.stop_logging {
                ev = ev.detail(format!("StopLoggingTime: {}", time::fmt(s)));
            }
            if let Some(s) = st.start_logging {
                ev = ev.detail(format!("StartLoggingTime: {}", time::fmt(s)));
            }
        }
        out.push(
            trail_finding(Kind::ConfigNotLogging, t, path)
                .message(format!("Trail {name} is not logging (IsLogging false)."))
                .evidence(ev),
        );
    }
    if let Some(st) = &t.status {
        for (field, err) in [
            ("LatestDeliveryError", &st.delivery_error),
            ("LatestDigestDeliveryError", &st.digest_delivery_error),
        ] {
            if let Some(err) = err {
                out.push(
                    trail_finding(Kind::ConfigDeliveryError, t, Some(&st.path))
                        .message(format!(
                            "Trail {name} reports a delivery error: {field} {err}."
                        ))
                        .evidence(proof(
                            Some(&st.path),
                            format!("{field}: none"),
                            format!("{field}: {err}"),
                        )),
                );
            }
        }
    }
    if let Some((verdict, path, source)) = &t.mgmt {
        let kind = match verdict.value {
            ManagementEvents::Excluded => Some(Kind::ConfigManagementEventsExcluded),
            ManagementEvents::Partial => Some(Kind::ConfigManagementEventsPartial),
            ManagementEvents::All | ManagementEvents::Unknown => None,
        };
        // A data-events trail beside a multi-region trail that records every management
        // event is a common, sound setup: management events *are* recorded (SPEC: "no
        // selector records management events"). Kept for the record at `info`.
        let recorded_by = recording.iter().find(|o| {
            !std::ptr::eq(**o, t)
                && o.cfg.management_events == Some(ManagementEvents::All)
                && o.cfg.multi_region != Some(false)
        });
        if let Some(kind) = kind {
            let message = if kind == Kind::ConfigManagementEventsExcluded {
                format!(
                    "Trail {name} records no management events: {}.",
                    verdict.reason
                )
            } else {
                format!(
                    "Trail {name} records management events only in part: {}.",
                    verdict.reason
                )
            };
            let selectors = match (&t.selectors, &t.tf_selectors) {
                (Some((_, s)), _) | (None, Some((_, s))) => describe_selectors(s),
                _ => Vec::new(),
            };
            let mut ev = proof(
                path.as_deref(),
                "a selector recording all management events (read and write, every source)",
                verdict.reason.clone(),
            );
            ev.details.push(format!("selectors from: {source}"));
            ev.details.extend(selectors);
            let f = match recorded_by {
                    None => trail_finding(kind, t, path.as_deref()).message(message),
                    Some(o) => trail_finding(kind, t, path.as_deref())
                        .severity(Severity::Info)
                        .message(format!(
                            "{message} Trail {} records them in every region, so management events are recorded.",
                            o.cfg.name
                        )),
                };
            out.push(f.evidence(ev));
        }
    }
}

fn rules(
    trails: &[Trail],
    describing: &BTreeSet<String>,
    filter: Option<&str>,
    before: &[String],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let first_export = describing.iter().next().map(String::as_str);

    if trails.is_empty() {
        let (message, actual) = match filter {
            Some(flt) if !before.is_empty() => (
                format!("No trail in the exported configuration matches --trail {flt}."),
                format!("trails: {}", before.join(", ")),
            ),
            _ => (
                "The exported configuration holds no trail: the evidence has no trail to belong to."
                    .to_owned(),
                "trailList: []".to_owned(),
            ),
        };
        let mut f = Finding::new(Kind::ConfigNoTrail).message(message);
        if let Some(p) = first_export {
            f = f.path(p);
        }
        let mut ev = proof(first_export, "at least one trail", actual);
        ev.details = describing.iter().map(|p| format!("export: {p}")).collect();
        out.push(f.evidence(ev));
        return out;
    }

    let recording = recording(trails);
    for t in trails {
        let name = &t.cfg.name;
        status_and_selector_rules(t, &recording, &mut out);
        if t.cfg.log_validation == Some(false) {
            let path = t.src("LogFileValidationEnabled");
            out.push(
                trail_finding(Kind::ConfigLogValidationDisabled, t, path)
                    .message(format!(
                        "Trail {name} has log file integrity validation disabled \
                         (LogFileValidationEnabled false): no digest proves its later deliveries."
                    ))
                    .evidence(proof(
                        path,
                        "LogFileValidationEnabled: true",
                        "LogFileValidationEnabled: false",
                    )),
            );
        }
        if t.cfg.include_global_events == Some(false) {
            // Global-service events need one recording trail only (AWS advises exactly one).
            let other = recording
                .iter()
                .find(|o| !std::ptr::eq(**o, t) && o.cfg.include_global_events == Some(true));
            if other.is_none() {
                let path = t.src("IncludeGlobalServiceEvents");
                out.push(
                    trail_finding(Kind::ConfigGlobalEventsExcluded, t, path)
                        .message(format!(
                            "Trail {name} excludes global service events \
                             (IncludeGlobalServiceEvents false) and no other trail records them."
                        ))
                        .evidence(proof(
                            path,
                            "IncludeGlobalServiceEvents: true",
                            "IncludeGlobalServiceEvents: false",
                        )),
                );
            }
        }
        // An export that does not even name the bucket is too partial to read absence from.
        if t.cfg.kms_key_id.is_none() && t.cfg.bucket.is_some() {
            let path = t.src("S3BucketName");
            out.push(
                trail_finding(Kind::ConfigNotEncrypted, t, path)
                    .message(format!(
                        "Trail {name} does not encrypt its log files with a KMS key (no KmsKeyId)."
                    ))
                    .evidence(proof(path, "KmsKeyId: a KMS key ARN", "KmsKeyId: absent")),
            );
        }
    }

    // Once for the whole configuration: is any recording trail multi-region?
    let first = recording.first();
    if let (Some(first), true) = (
        first,
        recording.iter().all(|t| t.cfg.multi_region == Some(false)),
    ) {
        let names: Vec<&str> = recording.iter().map(|t| t.cfg.name.as_str()).collect();
        let accounts: BTreeSet<Option<&str>> =
            recording.iter().map(|t| t.cfg.account.as_deref()).collect();
        let path = first.src("IsMultiRegionTrail");
        let mut f = Finding::new(Kind::ConfigNotMultiRegion)
            .message(format!(
                "No logging trail is multi-region (IsMultiRegionTrail false on {}): regions \
                 other than the home region are not recorded.",
                names.join(", ")
            ))
            .trail(names.join(", "));
        if let (1, Some(Some(a))) = (accounts.len(), accounts.iter().next()) {
            f = f.account(*a);
        }
        if let (1, Some(r)) = (recording.len(), first.cfg.home_region.as_deref()) {
            f = f.region(r);
        }
        if let Some(p) = path {
            f = f.path(p);
        }
        let mut ev = proof(
            path,
            "IsMultiRegionTrail: true on a logging trail",
            "IsMultiRegionTrail: false on every logging trail",
        );
        for t in &recording {
            ev = ev.detail(format!(
                "trail {}: IsMultiRegionTrail false, HomeRegion {} ({})",
                t.cfg.name,
                t.cfg.home_region.as_deref().unwrap_or("unknown"),
                t.src("IsMultiRegionTrail").unwrap_or("?")
            ));
        }
        out.push(f.evidence(ev));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Report section and CIS answers

fn cis(control: &str, v6: &str, title: &str, result: &str, reason: String) -> Value {
    json!({
        "control": control,
        "v6_control": v6,
        "title": title,
        "result": result,
        "reason": reason,
    })
}

/// CIS 3.1 (v6+ 4.1): multi-region, logging, all management events (ReadWriteType All).
fn cis_all_regions(t: &Trail) -> Value {
    let c = &t.cfg;
    let mut fails = Vec::new();
    let mut unknowns = Vec::new();
    match c.multi_region {
        Some(true) => {}
        Some(false) => fails.push("IsMultiRegionTrail false".to_owned()),
        None => unknowns.push("IsMultiRegionTrail unknown".to_owned()),
    }
    match c.is_logging {
        Some(true) => {}
        Some(false) => fails.push("IsLogging false".to_owned()),
        None => unknowns.push("IsLogging unknown (no get-trail-status export)".to_owned()),
    }
    let reason = t
        .mgmt
        .as_ref()
        .map(|m| m.0.reason.clone())
        .unwrap_or_default();
    match c.management_events {
        Some(ManagementEvents::All) => {}
        Some(ManagementEvents::Excluded) => {
            fails.push(format!("management events excluded: {reason}"))
        }
        Some(ManagementEvents::Partial) => {
            fails.push(format!("management events only in part: {reason}"))
        }
        Some(ManagementEvents::Unknown) | None => {
            unknowns.push(format!("management events unknown: {reason}"))
        }
    }
    let (result, why) = if !fails.is_empty() {
        ("fail", fails.join("; "))
    } else if !unknowns.is_empty() {
        ("unknown", unknowns.join("; "))
    } else {
        (
            "pass",
            "multi-region, logging, all management events recorded (ReadWriteType All)".to_owned(),
        )
    };
    cis(
        "3.1",
        "4.1",
        "Ensure CloudTrail is enabled in all regions",
        result,
        why,
    )
}

/// CIS 3.2 (v6+ 4.2): log file validation.
fn cis_validation(t: &Trail) -> Value {
    let (result, reason) = match t.cfg.log_validation {
        Some(true) => ("pass", "LogFileValidationEnabled true".to_owned()),
        Some(false) => ("fail", "LogFileValidationEnabled false".to_owned()),
        None => (
            "unknown",
            "LogFileValidationEnabled not in any export".to_owned(),
        ),
    };
    cis(
        "3.2",
        "4.2",
        "Ensure CloudTrail log file validation is enabled",
        result,
        reason,
    )
}

fn section_trail(t: &Trail) -> Value {
    let c = &t.cfg;
    let status = t.status.as_ref();
    let (mgmt_reason, mgmt_file, mgmt_source) = match &t.mgmt {
        Some((v, f, s)) => (Some(v.reason.clone()), f.clone(), Some(*s)),
        None => (None, None, None),
    };
    let selectors = t
        .selectors
        .as_ref()
        .or(t.tf_selectors.as_ref())
        .map(|(_, s)| s);
    json!({
        "name": c.name,
        "arn": c.arn,
        "account": c.account,
        "home_region": c.home_region,
        "organization_trail": c.organization_trail,
        "multi_region": c.multi_region,
        "log_file_validation": c.log_validation,
        "include_global_service_events": c.include_global_events,
        "kms_key_id": c.kms_key_id,
        "s3_bucket": c.bucket,
        "s3_key_prefix": c.key_prefix,
        "is_logging": c.is_logging,
        "latest_delivery": c.latest_delivery.map(time::fmt),
        "latest_digest_delivery": c.latest_digest_delivery.map(time::fmt),
        "start_logging": status.and_then(|s| s.start_logging).map(time::fmt),
        "stop_logging": status.and_then(|s| s.stop_logging).map(time::fmt),
        "latest_delivery_error": status.and_then(|s| s.delivery_error.clone()),
        "latest_digest_delivery_error": status.and_then(|s| s.digest_delivery_error.clone()),
        "management_events": c.management_events.map(ManagementEvents::as_str),
        "management_events_reason": mgmt_reason,
        "event_selectors": {
            "source": mgmt_source,
            "file": mgmt_file,
            "type": selectors.map(selectors_type),
            "selectors": selectors.map(describe_selectors).unwrap_or_default(),
        },
        "files": {
            "trail": t.files,
            "status": t.status_files,
            "event_selectors": t.selector_files,
        },
        "conflicts": t.conflicts,
        "cis": [cis_all_regions(t), cis_validation(t)],
    })
}

// ---------------------------------------------------------------------------------------------
// Configuration versus evidence

/// The section's trail objects by (name, ARN); the first wins, as a search would find it.
/// Built once: searching the list for every trail made a 20,000-trail export quadratic.
type SectionIndex<'a> = HashMap<(&'a str, Option<&'a str>), &'a Value>;

fn section_index(analysis: &ConfigAnalysis) -> SectionIndex<'_> {
    let mut idx = SectionIndex::new();
    for s in &analysis.section.trails {
        if let Some(name) = s.get("name").and_then(Value::as_str) {
            idx.entry((name, s.get("arn").and_then(Value::as_str)))
                .or_insert(s);
        }
    }
    idx
}

/// The export a trail came from, as recorded in the section (analysis built by `analyze`).
fn trail_file(idx: &SectionIndex<'_>, t: &TrailConfig) -> Option<String> {
    section_str(idx, t, "/files/trail/0")
}

/// A string of a trail's object in the section (JSON pointer), e.g. the file that decided.
fn section_str(idx: &SectionIndex<'_>, t: &TrailConfig, pointer: &str) -> Option<String> {
    idx.get(&(t.name.as_str(), t.arn.as_deref()))
        .and_then(|s| s.pointer(pointer))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn mismatch(t: &TrailConfig, file: Option<&str>, message: String, ev: Evidence) -> Finding {
    let mut f = Finding::new(Kind::ConfigEvidenceMismatch)
        .scope(
            t.account.as_deref(),
            t.home_region.as_deref(),
            Some(&t.name),
        )
        .message(message)
        .evidence(ev);
    if let Some(p) = file {
        f = f.path(p);
    }
    f
}

fn norm_prefix(p: &str) -> &str {
    p.trim_matches('/')
}

fn s3_location(bucket: &str, prefix: &str) -> String {
    match norm_prefix(prefix) {
        "" => format!("s3://{bucket}/AWSLogs/"),
        p => format!("s3://{bucket}/{p}/AWSLogs/"),
    }
}

/// `config_evidence_mismatch` findings: configuration and evidence disagree.
pub fn against_evidence(analysis: &ConfigAnalysis, evidence: &EvidenceSummary) -> Vec<Finding> {
    let mut out = Vec::new();
    let trails = &analysis.trails;
    if !analysis.exported {
        return out;
    }
    let idx = section_index(analysis);
    let ev = evidence;
    let Some(first) = trails.first() else {
        return out;
    };
    let regions: Vec<&str> = ev
        .regions_with_evidence
        .iter()
        .map(String::as_str)
        .collect();
    let window = format!(
        "{}..{}",
        time::fmt(ev.window_start),
        time::fmt(ev.window_end)
    );

    for t in trails {
        let file = trail_file(&idx, t);
        let file = file.as_deref();
        let name = &t.name;

        // Validation on, yet log files without a single digest.
        if t.log_validation == Some(true) && ev.digests == 0 && !regions.is_empty() {
            out.push(mismatch(
                t,
                file,
                format!(
                    "Trail {name} has log file validation enabled, but the bundle holds log \
                     files ({}) and no digest file.",
                    regions.join(", ")
                ),
                proof(
                    file,
                    "digest files (LogFileValidationEnabled true)",
                    "0 digest files",
                )
                .detail(format!("regions with log files: {}", regions.join(", ")))
                .detail(format!("window: {window}")),
            ));
        }

        // Validation off, yet digests kept coming to the end of the window: the export does
        // not describe this evidence. Digests that stop earlier fit validation switched off.
        let digests_are_its = if ev.trails_seen.is_empty() {
            trails.len() == 1
        } else {
            ev.trails_seen
                .iter()
                .any(|(n, home)| n == name && t.home_region.as_deref().is_none_or(|h| h == home))
        };
        // Log files more than an hour past the last digest's end: no digest covers them.
        let stopped_before_logs =
            |end: i64| ev.newest_log_time.is_some_and(|l| l > end + time::HOUR);
        if t.log_validation == Some(false) && ev.digests > 0 && digests_are_its {
            if let Some(newest) = ev
                .newest_digest_end
                .filter(|&e| e >= ev.window_end && !stopped_before_logs(e))
            {
                out.push(mismatch(
                    t,
                    file,
                    format!(
                        "Trail {name} has log file validation disabled, but its digests run to \
                         {}, through the end of the window: the exported configuration does not \
                         describe this evidence.",
                        time::fmt(newest)
                    ),
                    proof(
                        file,
                        format!(
                            "no digest after validation was disabled \
                             (LogFileValidationEnabled false); window ends {}",
                            time::fmt(ev.window_end)
                        ),
                        format!(
                            "{} digest files, newest digestEndTime {}",
                            ev.digests,
                            time::fmt(newest)
                        ),
                    ),
                ));
            }
        }

        // A multi-region trail whose evidence holds one region only.
        if t.multi_region == Some(true) && regions.len() == 1 {
            let mut f = mismatch(
                t,
                file,
                format!(
                    "Trail {name} is multi-region, but the evidence holds one region only ({}).",
                    regions.join(", ")
                ),
                proof(
                    file,
                    "IsMultiRegionTrail: true (evidence from every region)",
                    format!("evidence from {} only", regions.join(", ")),
                ),
            );
            f.region = regions.first().map(|r| (*r).to_owned());
            out.push(f);
        }

        // Where the digests written under its name sit, against what the export says of it.
        let seen = ev
            .trail_digests
            .iter()
            .filter(|((n, home), _)| {
                n == name && t.home_region.as_deref().is_none_or(|h| h == home)
            })
            .fold(TrailDigests::default(), |mut acc, (_, d)| {
                acc.accounts.extend(d.accounts.iter().cloned());
                acc.orgs.extend(d.orgs.iter().cloned());
                acc.regions.extend(d.regions.iter().cloned());
                acc.locations.extend(d.locations.iter().cloned());
                acc
            });
        let list = |set: &BTreeSet<String>| {
            set.iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Not an organization trail: it delivers its own account's evidence only, and never
        // in the organization layout.
        if t.organization_trail != Some(true) {
            if let Some(account) = t.account.as_deref() {
                if !seen.accounts.is_empty() && !seen.accounts.contains(account) {
                    out.push(mismatch(
                        t,
                        file,
                        format!(
                            "Trail {name} belongs to account {account}, but the digests written under its name are in account {}: it is not the configuration of the trail that wrote this evidence.",
                            list(&seen.accounts)
                        ),
                        proof(
                            file,
                            format!("digests of account {account} (the trail's ARN)"),
                            format!("digests of account {}", list(&seen.accounts)),
                        ),
                    ));
                }
            }
        }
        // Its digests sit where another exported trail delivers, not where its own export
        // says it delivers. (A place no exported trail delivers to is the rule after the
        // loop; a digest states its own bucket, so the folder a copy sits in is no part.)
        if let Some(bucket) = t.bucket.as_deref() {
            let prefix = norm_prefix(t.key_prefix.as_deref().unwrap_or(""));
            let places: Vec<&(String, String)> = seen
                .locations
                .iter()
                .filter(|(b, _)| !b.is_empty())
                .collect();
            let delivered_by = |o: &TrailConfig, (b, p): &(String, String)| {
                o.bucket.as_deref() == Some(b.as_str())
                    && norm_prefix(o.key_prefix.as_deref().unwrap_or("")) == norm_prefix(p)
            };
            if !places.is_empty()
                && !places.iter().any(|l| delivered_by(t, l))
                && places
                    .iter()
                    .all(|l| trails.iter().any(|o| delivered_by(o, l)))
            {
                let actual: Vec<String> = places.iter().map(|(b, p)| s3_location(b, p)).collect();
                out.push(mismatch(
                    t,
                    file,
                    format!(
                        "Trail {name} delivers to {} by its export, but the digests written under its name are stored under {}.",
                        s3_location(bucket, prefix),
                        actual.join(", ")
                    ),
                    proof(file, s3_location(bucket, prefix), actual.join(", ")),
                ));
            }
        }
        if t.organization_trail == Some(false) && !seen.orgs.is_empty() {
            out.push(mismatch(
                t,
                file,
                format!(
                    "Trail {name} is not an organization trail, but its digests are stored in the organization layout (AWSLogs/{}/).",
                    list(&seen.orgs)
                ),
                proof(
                    file,
                    "AWSLogs/ACCOUNT/ (IsOrganizationTrail false)",
                    format!("AWSLogs/{}/ACCOUNT/", list(&seen.orgs)),
                ),
            ));
        }
        if t.organization_trail == Some(true) {
            if let Some(org) = analysis.organization_id.as_deref() {
                let other: BTreeSet<String> =
                    seen.orgs.iter().filter(|o| *o != org).cloned().collect();
                if !other.is_empty() {
                    out.push(mismatch(
                        t,
                        file,
                        format!(
                            "Trail {name} is the organization trail of {org}, but its digests are stored under organization {}.",
                            list(&other)
                        ),
                        proof(file, format!("AWSLogs/{org}/"), format!("AWSLogs/{}/", list(&other))),
                    ));
                }
            }
        }
        // A single-region trail whose digests cover other regions (beside other trails: with
        // single-region trails only, the rule after the loop speaks for all of them).
        if let (Some(false), Some(home)) = (t.multi_region, t.home_region.as_deref()) {
            let elsewhere: BTreeSet<String> = seen
                .regions
                .iter()
                .filter(|r| *r != home)
                .cloned()
                .collect();
            if !elsewhere.is_empty() && trails.iter().any(|o| o.multi_region != Some(false)) {
                out.push(mismatch(
                    t,
                    file,
                    format!(
                        "Trail {name} is single-region (home region {home}), but digests written under its name cover {}.",
                        list(&elsewhere)
                    ),
                    proof(
                        file,
                        format!("digests of {home} only (IsMultiRegionTrail false)"),
                        format!("digests of {}", list(&seen.regions)),
                    ),
                ));
            }
        }

        // Management-event rules point at the export that decided the answer (the selectors).
        let sel_file = section_str(&idx, t, "/event_selectors/file");
        let sel_file = sel_file.as_deref().or(file);

        // Says it records management events; the verified deliveries hold none at all.
        if matches!(
            t.management_events,
            Some(ManagementEvents::All | ManagementEvents::Partial)
        ) && ev.verified_events > 0
            && ev.verified_management_events == 0
        {
            out.push(mismatch(
                t,
                sel_file,
                format!(
                    "Trail {name} is configured to record management events, but the {} \
                     events of verified deliveries hold none.",
                    ev.verified_events
                ),
                proof(
                    sel_file,
                    "management events in verified deliveries",
                    format!("0 of {} events", ev.verified_events),
                )
                .detail(format!("window: {window}")),
            ));
        }

        // Says it records none, yet verified deliveries hold some that no other trail explains.
        let others_may_record = trails.iter().any(|o| {
            !std::ptr::eq(o, t) && o.management_events != Some(ManagementEvents::Excluded)
        });
        if t.management_events == Some(ManagementEvents::Excluded)
            && ev.verified_management_events > 0
            && !others_may_record
        {
            out.push(mismatch(
                t,
                sel_file,
                format!(
                    "Trail {name} is configured to record no management events, but verified \
                     deliveries hold {} of them.",
                    ev.verified_management_events
                ),
                proof(
                    sel_file,
                    "no management events (selectors exclude them)",
                    format!("{} management events", ev.verified_management_events),
                )
                .detail(format!("window: {window}")),
            ));
        }
    }

    // Digests of trails the configuration does not describe, and none of those it does:
    // the export is of another trail than the one that wrote this evidence.
    let described = |(n, home): &(String, String)| {
        trails
            .iter()
            .any(|t| &t.name == n && t.home_region.as_deref().is_none_or(|h| h == home))
    };
    if !ev.trails_seen.is_empty() && !ev.trails_seen.iter().any(described) {
        let seen: Vec<String> = ev
            .trails_seen
            .iter()
            .map(|(n, home)| format!("{n} (home region {home})"))
            .collect();
        let names: Vec<&str> = trails.iter().map(|t| t.name.as_str()).collect();
        let file = trail_file(&idx, first);
        out.push(mismatch(
            first,
            file.as_deref(),
            format!(
                "The digests were written by trail {}, but the configuration describes {}: it \
                 is not the configuration of the trail that wrote this evidence.",
                seen.join(", "),
                names.join(", ")
            ),
            proof(
                file.as_deref(),
                format!("digests named after {}", names.join(", ")),
                format!("digests named after {}", seen.join(", ")),
            ),
        ));
    }

    // Single-region trails only, yet evidence from regions none of them is homed in.
    if trails.iter().all(|t| t.multi_region == Some(false)) {
        let homes: BTreeSet<&str> = trails
            .iter()
            .filter_map(|t| t.home_region.as_deref())
            .collect();
        let all_known = trails.iter().all(|t| t.home_region.is_some());
        let extra: Vec<&str> = regions
            .iter()
            .copied()
            .filter(|r| !homes.contains(r))
            .collect();
        if (all_known && !extra.is_empty()) || (!all_known && regions.len() > trails.len()) {
            let names: Vec<&str> = trails.iter().map(|t| t.name.as_str()).collect();
            let t = first;
            let file = trail_file(&idx, t);
            let mut f = mismatch(
                t,
                file.as_deref(),
                format!(
                    "The configuration holds single-region trails only ({}), but the evidence \
                     holds regions {}.",
                    names.join(", "),
                    regions.join(", ")
                ),
                proof(
                    file.as_deref(),
                    format!(
                        "evidence from {} only (IsMultiRegionTrail false)",
                        join(&homes)
                    ),
                    format!("evidence from {}", regions.join(", ")),
                ),
            );
            f.trail = Some(names.join(", "));
            f.region = match extra.as_slice() {
                [one] => Some((*one).to_owned()),
                _ => None,
            };
            out.push(f);
        }
    }

    // Evidence under a bucket or prefix no exported trail delivers to.
    if trails.iter().all(|t| t.bucket.is_some()) {
        for (bucket, prefix) in ev.locations.iter().filter(|(b, _)| !b.is_empty()) {
            let ours = trails.iter().any(|t| {
                t.bucket.as_deref() == Some(bucket.as_str())
                    && norm_prefix(t.key_prefix.as_deref().unwrap_or("")) == norm_prefix(prefix)
            });
            if ours {
                continue;
            }
            let configured: Vec<String> = trails
                .iter()
                .filter_map(|t| {
                    Some(s3_location(
                        t.bucket.as_deref()?,
                        t.key_prefix.as_deref().unwrap_or(""),
                    ))
                })
                .collect();
            let t = first;
            let file = trail_file(&idx, t);
            let mut f = mismatch(
                t,
                file.as_deref(),
                format!(
                    "Evidence is stored under {}, where no exported trail delivers ({}).",
                    s3_location(bucket, prefix),
                    configured.join(", ")
                ),
                proof(
                    file.as_deref(),
                    configured.join(", "),
                    s3_location(bucket, prefix),
                ),
            );
            if trails.len() > 1 {
                f.trail = Some(
                    trails
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                );
            }
            out.push(f);
        }
    }
    sort_findings(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Severity;
    use serde_json::json;

    const ARN: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events";
    const BUCKET: &str = "aws-cloudtrail-logs-111122223333-3f2a1b0c";
    const KMS: &str = "arn:aws:kms:us-east-1:111122223333:key/d9078e51-1ef3-4969-ad2e-02e6ce440365";

    fn file(path: &str, json: Value) -> ConfigFile {
        let file_name = path.rsplit('/').next().unwrap().to_owned();
        ConfigFile {
            path: path.to_owned(),
            file_name,
            json,
        }
    }

    #[test]
    fn data_events_trail_beside_a_management_trail_is_not_a_gap() {
        // One multi-region trail records every management event; a second records S3 data
        // events only. Management events are recorded: the second is noted, at info.
        let data = trail(json!({
            "Name": "s3-data",
            "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/s3-data",
            "IsMultiRegionTrail": false,
            "HasCustomEventSelectors": true
        }));
        let a = analyze(
            &[
                file(
                    "config/describe-trails.json",
                    json!({ "trailList": [trail(json!({})), data] }),
                ),
                file(
                    "config/get-event-selectors.s3-data.json",
                    json!({
                        "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/s3-data",
                        "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": false,
                            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]
                    }),
                ),
                file(
                    "config/get-event-selectors.management-events.json",
                    json!({
                        "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events",
                        "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": []}]
                    }),
                ),
            ],
            None,
        );
        let f = find(&a.findings, Kind::ConfigManagementEventsExcluded);
        assert_eq!(f.severity, Severity::Info, "{}", f.message);
        assert!(f.message.contains("management-events records them"));
        // The data trail alone (--trail) is judged on its own: no management events.
        let a = analyze(
            &[
                file(
                    "config/describe-trails.json",
                    json!({ "trailList": [trail(json!({})), trail(json!({
                    "Name": "s3-data",
                    "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/s3-data",
                    "HasCustomEventSelectors": true
                }))] }),
                ),
                file(
                    "config/get-event-selectors.s3-data.json",
                    json!({
                        "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/s3-data",
                        "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": false, "DataResources": []}]
                    }),
                ),
            ],
            Some("s3-data"),
        );
        assert!(above_info(&a.findings).contains(&Kind::ConfigManagementEventsExcluded));
    }

    #[test]
    fn status_and_selector_exports_alone_are_judged_on_what_they_say() {
        // No describe-trails, get-trail or Terraform: the trail the status and selector
        // exports name is judged on logging, delivery errors and management events only.
        let exports = |logging: bool, mgmt: bool| {
            vec![
                file(
                    "config/get-trail-status.management-events.json",
                    json!({ "IsLogging": logging, "LatestDeliveryError": "AccessDenied" }),
                ),
                file(
                    "config/get-event-selectors.management-events.json",
                    json!({
                        "TrailARN": ARN,
                        "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": mgmt, "DataResources": []}]
                    }),
                ),
            ]
        };
        let a = analyze(&exports(false, false), None);
        assert!(!a.exported);
        let mut kinds = above_info(&a.findings);
        kinds.sort();
        let mut want = vec![
            Kind::ConfigDeliveryError,
            Kind::ConfigManagementEventsExcluded,
            Kind::ConfigNotLogging,
        ];
        want.sort();
        assert_eq!(kinds, want);
        let f = find(&a.findings, Kind::ConfigNotLogging);
        assert_eq!(f.account.as_deref(), Some("111122223333"));
        assert_eq!(
            f.path.as_deref(),
            Some("config/get-trail-status.management-events.json")
        );
        // Nothing is claimed about what such exports cannot tell (regions, validation,
        // encryption, global events), no trail is missing, and coverage gets no trail.
        assert!(a.trails.is_empty());
        assert_eq!(a.section.trails.len(), 1);
        assert!(a.section.notes.iter().any(|n| n.contains("not assessed")));
        let a = analyze(&exports(true, true), None);
        assert_eq!(above_info(&a.findings), vec![Kind::ConfigDeliveryError]);
        // Nothing says where a trail records: another trail's selectors recording every
        // management event do not lower this one's finding.
        let mut files = exports(true, false);
        files.push(file(
            "config/get-event-selectors.other.json",
            json!({
                "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/other",
                "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": []}]
            }),
        ));
        let a = analyze(&files, None);
        let f = find(&a.findings, Kind::ConfigManagementEventsExcluded);
        assert_eq!(f.severity, Severity::High, "{}", f.message);
        // A status named by its file name only, with two trails of that name (two
        // accounts' selectors): not paired with either, whatever the files' order.
        for other in ["a-other", "z-other"] {
            let mut files = exports(false, true);
            files.push(file(
                &format!("config/get-event-selectors.{other}.json"),
                json!({
                    "TrailARN": "arn:aws:cloudtrail:us-east-1:444455556666:trail/management-events",
                    "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": []}]
                }),
            ));
            let a = analyze(&files, None);
            assert!(above_info(&a.findings).is_empty(), "{other}");
            assert!(a.findings.iter().any(|f| f.kind == Kind::InputIgnored
                && f.message.contains("2 exported trails have that name")));
        }
        // Beside a trail export, an export for a trail it does not list is still not used.
        let mut files = exports(false, false);
        files.push(file(
            "config/describe-trails.json",
            json!({ "trailList": [trail(json!({"Name": "other", "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/other"}))] }),
        ));
        let a = analyze(&files, None);
        assert!(!above_info(&a.findings).contains(&Kind::ConfigNotLogging));
        assert_eq!(
            a.findings
                .iter()
                .filter(|f| f.kind == Kind::InputIgnored)
                .count(),
            2
        );
    }

    #[test]
    fn thousands_of_trails_are_capped_not_paired_quadratically() {
        // AWS allows five trails per region; an export of 50,000 is built to make pairing
        // (linear per record) quadratic. The first MAX_TRAILS are read, the rest reported.
        let list: Vec<Value> = (0..50_000)
            .map(|i| {
                trail(json!({
                    "Name": format!("t{i}"),
                    "TrailARN": format!("arn:aws:cloudtrail:us-east-1:111122223333:trail/t{i}")
                }))
            })
            .collect();
        let a = analyze(
            &[file(
                "config/describe-trails.json",
                json!({ "trailList": list }),
            )],
            None,
        );
        assert_eq!(a.trails.len(), MAX_TRAILS);
        assert!(a
            .findings
            .iter()
            .any(|f| f.kind == Kind::InputIgnored && f.message.contains("50000 trails")));
    }

    /// The clean scenario's trail, with some fields replaced.
    fn trail(over: Value) -> Value {
        let mut t = json!({
            "Name": "management-events",
            "S3BucketName": BUCKET,
            "IncludeGlobalServiceEvents": true,
            "IsMultiRegionTrail": true,
            "HomeRegion": "us-east-1",
            "TrailARN": ARN,
            "LogFileValidationEnabled": true,
            "KmsKeyId": KMS,
            "HasCustomEventSelectors": true,
            "HasInsightSelectors": false,
            "IsOrganizationTrail": false
        });
        for (k, v) in over.as_object().unwrap() {
            if v.is_null() {
                t.as_object_mut().unwrap().remove(k);
            } else {
                t[k] = v.clone();
            }
        }
        t
    }

    fn status(is_logging: bool) -> Value {
        json!({
            "IsLogging": is_logging,
            "LatestDeliveryTime": "2025-01-07T00:03:29.845000+00:00",
            "StartLoggingTime": "2024-12-07T06:23:33.563000+00:00",
            "LatestDigestDeliveryTime": "2025-01-07T00:55:03.337000+00:00",
            "TimeLoggingStopped": ""
        })
    }

    fn classic(rw: &str, include: bool, excluded: &[&str]) -> Value {
        json!({
            "ReadWriteType": rw,
            "IncludeManagementEvents": include,
            "DataResources": [],
            "ExcludeManagementEventSources": excluded
        })
    }

    fn classic_export(selectors: Vec<Value>) -> Value {
        json!({"TrailARN": ARN, "EventSelectors": selectors})
    }

    fn advanced_export(selectors: Value) -> Value {
        json!({"TrailARN": ARN, "AdvancedEventSelectors": selectors})
    }

    /// describe-trails + status + selectors for one trail.
    fn bundle(over: Value, selectors: Value) -> Vec<ConfigFile> {
        vec![
            file(
                "config/describe-trails.json",
                json!({"trailList": [trail(over)]}),
            ),
            file(
                "config/get-trail-status.management-events.json",
                status(true),
            ),
            file(
                "config/get-event-selectors.management-events.json",
                selectors,
            ),
        ]
    }

    fn clean_selectors() -> Value {
        classic_export(vec![classic("All", true, &[])])
    }

    fn above_info(findings: &[Finding]) -> Vec<Kind> {
        findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .map(|f| f.kind)
            .collect()
    }

    fn mgmt(a: &ConfigAnalysis) -> ManagementEvents {
        a.trails[0].management_events.unwrap()
    }

    fn mgmt_of(selectors: Value) -> (ManagementEvents, ConfigAnalysis) {
        let a = analyze(&bundle(json!({}), selectors), None);
        (mgmt(&a), a)
    }

    fn find(a: &[Finding], kind: Kind) -> &Finding {
        a.iter()
            .find(|f| f.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} in {a:#?}"))
    }

    // --- classify ------------------------------------------------------------------------

    #[test]
    fn classify_recognises_every_export_shape() {
        let c = |v: Value, n: &str| classify(&v, n);
        assert_eq!(
            c(json!({"trailList": []}), "x.json"),
            Some(ConfigKind::DescribeTrails)
        );
        assert_eq!(
            c(json!({"Trail": {"Name": "t"}}), "x.json"),
            Some(ConfigKind::GetTrail)
        );
        assert_eq!(
            c(status(true), "whatever.json"),
            Some(ConfigKind::GetTrailStatus)
        );
        assert_eq!(
            c(json!({"IsLogging": "yes"}), "get-trail-status.t.json"),
            Some(ConfigKind::GetTrailStatus)
        );
        assert_eq!(c(json!({"IsLogging": "yes"}), "other.json"), None);
        assert_eq!(
            c(clean_selectors(), "x.json"),
            Some(ConfigKind::GetEventSelectors)
        );
        assert_eq!(
            c(json!({"AdvancedEventSelectors": []}), "x.json"),
            Some(ConfigKind::GetEventSelectors)
        );
        assert_eq!(
            c(json!({"Organization": {"Id": "o-1"}}), "x.json"),
            Some(ConfigKind::DescribeOrganization)
        );
        assert_eq!(
            c(json!({"values": {"root_module": {}}}), "x.json"),
            Some(ConfigKind::TerraformShow)
        );
        assert_eq!(
            c(json!({"format_version": "1.0", "values": {}}), "x.json"),
            Some(ConfigKind::TerraformShow)
        );
        // Evidence and keys are not configuration.
        assert_eq!(c(json!({"Records": []}), "x.json"), None);
        assert_eq!(c(json!({"PublicKeyList": []}), "x.json"), None);
        assert_eq!(c(json!({"Metadata": {"signature": "ab"}}), "x.json"), None);
    }

    #[test]
    fn classify_and_analyze_never_panic_on_hostile_json() {
        let hostile = vec![
            json!(null),
            json!([]),
            json!([{"trailList": []}]),
            json!(42),
            json!("trailList"),
            json!({"trailList": null}),
            json!({"trailList": "x"}),
            json!({"trailList": [null, 1, "x", [], {}, {"Name": 5}, {"TrailARN": "arn:aws:cloudtrail"}]}),
            json!({"Trail": null}),
            json!({"Trail": {}}),
            json!({"Trail": {"Name": ["x"], "TrailARN": {"a": 1}}}),
            json!({"IsLogging": null}),
            json!({"IsLogging": true, "LatestDeliveryTime": {"x": 1}, "LatestDeliveryError": 7}),
            json!({"EventSelectors": [null, 1, {"IncludeManagementEvents": "yes", "ReadWriteType": 5, "ExcludeManagementEventSources": "kms"}]}),
            json!({"AdvancedEventSelectors": [null, {"FieldSelectors": "x"}, {"FieldSelectors": [null, {"Field": 1}, {"Field": "eventCategory", "Equals": "Management"}]}]}),
            json!({"TrailARN": 7, "AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": [1, null]}]}]}),
            json!({"Organization": {"Id": []}}),
            json!({"format_version": "1", "values": {"root_module": {"resources": {"a": 1}, "child_modules": [null, 1, {"resources": [null, {"type": "aws_cloudtrail", "values": null}, {"type": "aws_cloudtrail", "values": {"name": 3, "event_selector": "x"}}]}]}}}),
            json!({"values": {"root_module": []}}),
        ];
        for (i, v) in hostile.iter().enumerate() {
            for name in [
                "x.json",
                "get-trail-status..json",
                "get-trail-status.t.json",
                "",
                ".json",
            ] {
                let _ = classify(v, name);
                let _ = trail_name_in_file_name(name);
            }
            let files = vec![file(
                &format!("config/get-trail-status.t{i}.json"),
                v.clone(),
            )];
            let a = analyze(&files, Some("t"));
            let _ = against_evidence(&a, &EvidenceSummary::default());
        }
        // All at once, in every order, with a real trail among them.
        let mut files: Vec<ConfigFile> = hostile
            .iter()
            .enumerate()
            .map(|(i, v)| {
                file(
                    &format!("c/get-event-selectors.management-events{i}.json"),
                    v.clone(),
                )
            })
            .collect();
        files.extend(bundle(json!({}), clean_selectors()));
        let a = analyze(&files, None);
        assert_eq!(a.trails.len(), 1, "{:#?}", a.trails);
        let _ = against_evidence(&a, &EvidenceSummary::default());
        files.reverse();
        assert_eq!(analyze(&files, None).section, a.section);
        // Deep nesting (serde_json's own limit is 128 levels).
        let mut deep = json!({"resources": []});
        for _ in 0..120 {
            deep = json!({"child_modules": [deep]});
        }
        let a = analyze(
            &[file("tf.json", json!({"values": {"root_module": deep}}))],
            None,
        );
        assert!(!a.exported);
    }

    #[test]
    fn trail_name_in_file_name_keeps_dots_and_underscores() {
        assert_eq!(
            trail_name_in_file_name("get-trail-status.org_audit_trail.json"),
            Some("org_audit_trail")
        );
        assert_eq!(
            trail_name_in_file_name("get-event-selectors.my.trail-1.json"),
            Some("my.trail-1")
        );
        assert_eq!(trail_name_in_file_name("get-trail.t.json"), Some("t"));
        assert_eq!(trail_name_in_file_name("get-trail-status.json"), None);
        assert_eq!(trail_name_in_file_name("get-trail-status..json"), None);
        assert_eq!(trail_name_in_file_name("status.t.json"), None);
    }

    // --- merging -------------------------------------------------------------------------

    #[test]
    fn shadow_trails_are_one_trail() {
        let mut files = bundle(json!({}), clean_selectors());
        // describe-trails run in another region lists the same trail again (a shadow copy).
        files.push(file(
            "config/eu-west-1/describe-trails.json",
            json!({"trailList": [trail(json!({}))]}),
        ));
        files.push(file(
            "config/get-trail.management-events.json",
            json!({"Trail": trail(json!({}))}),
        ));
        // A view that prints the ARN as the Name names the same trail.
        files.push(file(
            "config/us-west-2/describe-trails.json",
            json!({"trailList": [trail(json!({"Name": ARN, "TrailARN": null}))]}),
        ));
        let a = analyze(&files, None);
        assert!(a.exported);
        assert_eq!(a.trails.len(), 1);
        assert_eq!(a.trails[0].name, "management-events");
        let t = &a.trails[0];
        assert_eq!(t.arn.as_deref(), Some(ARN));
        assert_eq!(t.account.as_deref(), Some("111122223333"));
        assert_eq!(t.home_region.as_deref(), Some("us-east-1"));
        assert_eq!(t.is_logging, Some(true));
        assert_eq!(t.management_events, Some(ManagementEvents::All));
        assert_eq!(above_info(&a.findings), vec![]);
        let s = &a.section.trails[0];
        assert_eq!(s["files"]["trail"].as_array().unwrap().len(), 4);
        assert_eq!(s["conflicts"], json!([]));
    }

    #[test]
    fn disagreeing_copies_are_noted_and_the_weaker_is_judged() {
        let mut files = bundle(json!({}), clean_selectors());
        files.push(file(
            "config/get-trail.management-events.json",
            json!({"Trail": trail(json!({"LogFileValidationEnabled": false}))}),
        ));
        let a = analyze(&files, None);
        assert_eq!(a.trails.len(), 1);
        // describe-trails sorts first, but get-trail says validation is off: that is judged,
        // and the disagreement is reported.
        assert_eq!(a.trails[0].log_validation, Some(false));
        let conflicts = a.section.trails[0]["conflicts"].to_string();
        assert!(
            conflicts.contains("LogFileValidationEnabled"),
            "{conflicts}"
        );
    }

    #[test]
    fn organization_trail_seen_from_a_member_account() {
        // describe-trails run in member account 444455556666 lists the management account's
        // organization trail (its ARN names the management account) next to the member's own.
        let org_arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org_audit_trail";
        let own_arn = "arn:aws:cloudtrail:eu-west-1:444455556666:trail/local";
        let files = vec![
            file(
                "member/describe-trails.json",
                json!({"trailList": [
                    trail(json!({"Name": "org_audit_trail", "TrailARN": org_arn, "IsOrganizationTrail": true, "S3KeyPrefix": "org-logs"})),
                    trail(json!({"Name": "local", "TrailARN": own_arn, "HomeRegion": "eu-west-1", "IsMultiRegionTrail": false}))
                ]}),
            ),
            file(
                "member/describe-organization.json",
                json!({"Organization": {"Id": "o-a1b2c3d4e5", "MasterAccountId": "111122223333"}}),
            ),
            file(
                "member/get-event-selectors.org_audit_trail.json",
                json!({"TrailARN": org_arn, "AdvancedEventSelectors": [
                    {"Name": "Management events selector", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
                ]}),
            ),
            file("member/get-trail-status.org_audit_trail.json", status(true)),
        ];
        let a = analyze(&files, None);
        assert_eq!(a.organization_id.as_deref(), Some("o-a1b2c3d4e5"));
        assert_eq!(a.section.organization_id.as_deref(), Some("o-a1b2c3d4e5"));
        assert_eq!(a.trails.len(), 2);
        let org = a
            .trails
            .iter()
            .find(|t| t.arn.as_deref() == Some(org_arn))
            .unwrap();
        assert_eq!(org.name, "org_audit_trail");
        assert_eq!(org.account.as_deref(), Some("111122223333"));
        assert_eq!(org.organization_trail, Some(true));
        assert_eq!(org.key_prefix.as_deref(), Some("org-logs"));
        assert_eq!(org.management_events, Some(ManagementEvents::All));
        assert_eq!(org.is_logging, Some(true));
        let local = a.trails.iter().find(|t| t.name == "local").unwrap();
        assert_eq!(local.account.as_deref(), Some("444455556666"));
        assert_eq!(local.is_logging, None, "no status export for it");
        assert!(a.findings.iter().all(|f| f.kind != Kind::InputIgnored));
        // One multi-region trail records: no config_not_multi_region for the local trail.
        assert!(!above_info(&a.findings).contains(&Kind::ConfigNotMultiRegion));
    }

    // --- management events -----------------------------------------------------------------

    #[test]
    fn classic_include_management_false_is_excluded() {
        let (m, a) = mgmt_of(classic_export(vec![classic("All", false, &[])]));
        assert_eq!(m, ManagementEvents::Excluded);
        let f = find(&a.findings, Kind::ConfigManagementEventsExcluded);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.trail.as_deref(), Some("management-events"));
        assert_eq!(
            f.path.as_deref(),
            Some("config/get-event-selectors.management-events.json")
        );
        assert!(
            f.message.contains("IncludeManagementEvents is false"),
            "{}",
            f.message
        );
        assert!(f
            .evidence
            .details
            .iter()
            .any(|d| d.contains("IncludeManagementEvents false")));
        assert_eq!(
            above_info(&a.findings),
            vec![Kind::ConfigManagementEventsExcluded]
        );
    }

    #[test]
    fn advanced_selectors_logging_data_events_only_are_excluded() {
        let (m, a) = mgmt_of(advanced_export(json!([
            {"Name": "Log all S3 data events", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}
            ]}
        ])));
        assert_eq!(m, ManagementEvents::Excluded);
        let f = find(&a.findings, Kind::ConfigManagementEventsExcluded);
        assert!(
            f.message.contains("eventCategory Equals Management"),
            "{}",
            f.message
        );
    }

    #[test]
    fn advanced_selector_name_is_not_trusted() {
        // Named "Management events" but selects data events: excluded.
        let (m, _) = mgmt_of(advanced_export(json!([
            {"Name": "Management events", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}
            ]}
        ])));
        assert_eq!(m, ManagementEvents::Excluded);
        // Named anything, selects management events: all.
        let (m, a) = mgmt_of(advanced_export(json!([
            {"Name": "selector-1", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
        ])));
        assert_eq!(m, ManagementEvents::All);
        assert_eq!(above_info(&a.findings), vec![]);
    }

    #[test]
    fn read_only_management_events_are_partial() {
        let (m, a) = mgmt_of(classic_export(vec![classic("ReadOnly", true, &[])]));
        assert_eq!(m, ManagementEvents::Partial);
        let f = find(&a.findings, Kind::ConfigManagementEventsPartial);
        assert_eq!(f.severity, Severity::Medium);
        assert!(
            f.message.contains("no selector records write"),
            "{}",
            f.message
        );

        let (m, a) = mgmt_of(advanced_export(json!([
            {"Name": "reads", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "readOnly", "Equals": ["true"]}
            ]}
        ])));
        assert_eq!(m, ManagementEvents::Partial);
        assert_eq!(
            above_info(&a.findings),
            vec![Kind::ConfigManagementEventsPartial]
        );

        // WriteOnly with mgmt, plus an All selector without mgmt: still write-only.
        let (m, _) = mgmt_of(classic_export(vec![
            classic("WriteOnly", true, &[]),
            classic("All", false, &[]),
        ]));
        assert_eq!(m, ManagementEvents::Partial);
    }

    #[test]
    fn read_and_write_selectors_together_record_all() {
        let (m, _) = mgmt_of(classic_export(vec![
            classic("ReadOnly", true, &[]),
            classic("WriteOnly", true, &[]),
        ]));
        assert_eq!(m, ManagementEvents::All);
        let (m, _) = mgmt_of(advanced_export(json!([
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["true"]}]},
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}
        ])));
        assert_eq!(m, ManagementEvents::All);
        // Any selector that records all wins over a narrower one.
        let (m, _) = mgmt_of(classic_export(vec![
            classic("ReadOnly", true, &["kms.amazonaws.com"]),
            classic("All", true, &[]),
        ]));
        assert_eq!(m, ManagementEvents::All);
    }

    #[test]
    fn excluded_event_sources_are_partial() {
        let (m, a) = mgmt_of(classic_export(vec![classic(
            "All",
            true,
            &["kms.amazonaws.com", "rdsdata.amazonaws.com"],
        )]));
        assert_eq!(m, ManagementEvents::Partial);
        let f = find(&a.findings, Kind::ConfigManagementEventsPartial);
        assert!(
            f.message
                .contains("kms.amazonaws.com, rdsdata.amazonaws.com"),
            "{}",
            f.message
        );

        let (m, a) = mgmt_of(advanced_export(json!([
            {"Name": "Management events selector", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}
            ]}
        ])));
        assert_eq!(m, ManagementEvents::Partial);
        assert!(find(&a.findings, Kind::ConfigManagementEventsPartial)
            .message
            .contains("kms.amazonaws.com"));

        // Exclusions that no two selectors share add up to all.
        let (m, _) = mgmt_of(classic_export(vec![
            classic("All", true, &["kms.amazonaws.com"]),
            classic("All", true, &["rdsdata.amazonaws.com"]),
        ]));
        assert_eq!(m, ManagementEvents::All);
        // A shared exclusion stays excluded.
        let (m, _) = mgmt_of(classic_export(vec![
            classic("All", true, &["kms.amazonaws.com", "rdsdata.amazonaws.com"]),
            classic("All", true, &["kms.amazonaws.com"]),
        ]));
        assert_eq!(m, ManagementEvents::Partial);
    }

    #[test]
    fn other_narrowing_field_selectors_are_partial() {
        for narrowing in [
            json!({"Field": "eventSource", "NotStartsWith": ["kms"]}),
            json!({"Field": "eventSource", "Equals": ["iam.amazonaws.com"]}),
            json!({"Field": "eventName", "NotEquals": ["Decrypt"]}),
            json!({"Field": "userIdentity.arn", "NotStartsWith": ["arn:aws:sts::111122223333:assumed-role/svc"]}),
            json!({"Field": "readOnly", "NotEquals": ["true"]}),
        ] {
            let (m, a) = mgmt_of(advanced_export(json!([
                {"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, narrowing.clone()]}
            ])));
            assert_eq!(m, ManagementEvents::Partial, "{narrowing}");
            assert!(find(&a.findings, Kind::ConfigManagementEventsPartial)
                .message
                .contains("narrows"));
        }
    }

    #[test]
    fn unreadable_selectors_are_unknown_not_pass() {
        for sel in [
            classic_export(vec![json!({"ReadWriteType": "All"})]),
            classic_export(vec![
                json!({"IncludeManagementEvents": true, "ReadWriteType": "Sometimes"}),
            ]),
            advanced_export(
                json!([{"Name": "x", "FieldSelectors": [{"Field": "readOnly", "Equals": ["true"]}]}]),
            ),
            advanced_export(
                json!([{"Name": "x", "FieldSelectors": [{"Field": "eventCategory", "StartsWith": ["Manage"]}]}]),
            ),
        ] {
            let (m, a) = mgmt_of(sel.clone());
            assert_eq!(m, ManagementEvents::Unknown, "{sel}");
            assert_eq!(above_info(&a.findings), vec![], "{sel}");
            assert_eq!(a.section.trails[0]["cis"][0]["result"], "unknown");
        }
        // ... unless another selector provably records all.
        let (m, _) = mgmt_of(classic_export(vec![
            json!({"ReadWriteType": "All"}),
            classic("All", true, &[]),
        ]));
        assert_eq!(m, ManagementEvents::All);
    }

    #[test]
    fn without_selector_export_management_events_are_unknown_unless_default() {
        let files = vec![
            file(
                "config/describe-trails.json",
                json!({"trailList": [trail(json!({}))]}),
            ),
            file(
                "config/get-trail-status.management-events.json",
                status(true),
            ),
        ];
        let a = analyze(&files, None);
        assert_eq!(mgmt(&a), ManagementEvents::Unknown);
        assert_eq!(above_info(&a.findings), vec![]);
        assert_eq!(a.section.trails[0]["cis"][0]["result"], "unknown");

        let files = vec![file(
            "config/describe-trails.json",
            json!({"trailList": [trail(json!({"HasCustomEventSelectors": false}))]}),
        )];
        let a = analyze(&files, None);
        assert_eq!(mgmt(&a), ManagementEvents::All);
        // Still unknown for CIS 3.1: no status export says it is logging.
        assert_eq!(a.section.trails[0]["cis"][0]["result"], "unknown");
        assert!(a.section.trails[0]["cis"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("IsLogging unknown"));
    }

    // --- status and timestamps --------------------------------------------------------------

    #[test]
    fn cli_v1_epochs_and_v2_offsets_normalise_to_utc() {
        let v1 = json!({"IsLogging": true, "LatestDeliveryTime": 1736208247.845, "LatestDigestDeliveryTime": 1736211303.337, "StartLoggingTime": 1733552613.563});
        let v2 = json!({"IsLogging": true, "LatestDeliveryTime": "2025-01-07T02:04:07.845000+02:00", "LatestDigestDeliveryTime": "2025-01-07T02:55:03.337000+02:00", "StartLoggingTime": "2024-12-07T08:23:33.563000+02:00"});
        let mut got = Vec::new();
        for st in [v1, v2] {
            let mut files = bundle(json!({}), clean_selectors());
            files[1] = file("config/get-trail-status.management-events.json", st);
            let a = analyze(&files, None);
            let t = &a.trails[0];
            assert_eq!(
                t.latest_delivery.map(time::fmt).as_deref(),
                Some("2025-01-07T00:04:07Z")
            );
            assert_eq!(
                t.latest_digest_delivery.map(time::fmt).as_deref(),
                Some("2025-01-07T00:55:03Z")
            );
            let s = &a.section.trails[0];
            assert_eq!(s["start_logging"], "2024-12-07T06:23:33Z");
            got.push(s.clone());
        }
        assert_eq!(got[0], got[1]);
    }

    #[test]
    fn flags_written_as_strings_are_read() {
        let mut files = bundle(json!({}), clean_selectors());
        let mut st = status(true);
        st["IsLogging"] = json!("FALSE");
        files[1] = file("config/get-trail-status.management-events.json", st);
        let a = analyze(&files, None);
        assert_eq!(
            find(&a.findings, Kind::ConfigNotLogging).severity,
            Severity::High
        );
        // Neither a boolean nor its word: unknown, never a guess.
        assert_eq!(flag(&json!({"IsLogging": "no"}), &["IsLogging"]), None);
        assert_eq!(flag(&json!({"IsLogging": 0}), &["IsLogging"]), None);
    }

    #[test]
    fn not_logging_and_delivery_errors() {
        let mut files = bundle(json!({}), clean_selectors());
        let mut st = status(false);
        st["StopLoggingTime"] = json!("2025-01-07T00:30:00.250000+00:00");
        st["LatestDeliveryError"] = json!("AccessDenied");
        st["LatestDigestDeliveryError"] = json!("");
        files[1] = file("config/get-trail-status.management-events.json", st);
        let a = analyze(&files, None);
        let f = find(&a.findings, Kind::ConfigNotLogging);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(
            f.path.as_deref(),
            Some("config/get-trail-status.management-events.json")
        );
        assert_eq!(f.account.as_deref(), Some("111122223333"));
        assert!(f
            .evidence
            .details
            .contains(&"StopLoggingTime: 2025-01-07T00:30:00Z".to_owned()));
        let e = find(&a.findings, Kind::ConfigDeliveryError);
        assert_eq!(e.severity, Severity::Medium);
        assert!(e.message.contains("LatestDeliveryError AccessDenied"));
        // An empty LatestDigestDeliveryError is no error; not logging is not "not multi-region".
        assert_eq!(
            above_info(&a.findings),
            vec![Kind::ConfigNotLogging, Kind::ConfigDeliveryError]
        );
        assert_eq!(a.section.trails[0]["cis"][0]["result"], "fail");
    }

    #[test]
    fn digest_delivery_error_alone_is_a_delivery_error() {
        let mut files = bundle(json!({}), clean_selectors());
        let mut st = status(true);
        st["LatestDigestDeliveryError"] = json!("NoSuchBucket");
        files[1] = file("config/get-trail-status.management-events.json", st);
        let a = analyze(&files, None);
        assert_eq!(above_info(&a.findings), vec![Kind::ConfigDeliveryError]);
        assert!(find(&a.findings, Kind::ConfigDeliveryError)
            .message
            .contains("LatestDigestDeliveryError"));
    }

    // --- trail-level rules -------------------------------------------------------------------

    #[test]
    fn validation_global_events_and_encryption() {
        let a = analyze(
            &bundle(
                json!({"LogFileValidationEnabled": false, "IncludeGlobalServiceEvents": false, "KmsKeyId": null}),
                clean_selectors(),
            ),
            None,
        );
        let mut kinds = above_info(&a.findings);
        kinds.sort();
        assert_eq!(
            kinds,
            vec![
                Kind::ConfigLogValidationDisabled,
                Kind::ConfigGlobalEventsExcluded,
                Kind::ConfigNotEncrypted
            ]
        );
        // Severities are the kinds' defaults (findings.rs decides them once).
        for k in [
            Kind::ConfigLogValidationDisabled,
            Kind::ConfigGlobalEventsExcluded,
            Kind::ConfigNotEncrypted,
        ] {
            assert_eq!(find(&a.findings, k).severity, k.default_severity());
        }
        let v = find(&a.findings, Kind::ConfigLogValidationDisabled);
        assert_eq!(
            v.evidence.actual.as_deref(),
            Some("LogFileValidationEnabled: false")
        );
        assert_eq!(v.path.as_deref(), Some("config/describe-trails.json"));
        assert_eq!(a.section.trails[0]["cis"][1]["result"], "fail");
        assert_eq!(a.section.trails[0]["cis"][1]["v6_control"], "4.2");
    }

    #[test]
    fn global_events_recorded_by_another_trail_are_fine() {
        let other = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/regional";
        let files = vec![file(
            "config/describe-trails.json",
            json!({"trailList": [
                trail(json!({})),
                trail(json!({"Name": "regional", "TrailARN": other, "HomeRegion": "eu-west-1", "IsMultiRegionTrail": false, "IncludeGlobalServiceEvents": false}))
            ]}),
        )];
        let a = analyze(&files, None);
        assert!(!above_info(&a.findings).contains(&Kind::ConfigGlobalEventsExcluded));
    }

    #[test]
    fn not_multi_region_is_raised_once_naming_every_trail() {
        let files = vec![file(
            "config/describe-trails.json",
            json!({"trailList": [
                trail(json!({"IsMultiRegionTrail": false, "HasCustomEventSelectors": false})),
                trail(json!({"Name": "second", "TrailARN": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/second", "HomeRegion": "eu-west-1", "IsMultiRegionTrail": false, "HasCustomEventSelectors": false}))
            ]}),
        )];
        let a = analyze(&files, None);
        let n: Vec<&Finding> = a
            .findings
            .iter()
            .filter(|f| f.kind == Kind::ConfigNotMultiRegion)
            .collect();
        assert_eq!(n.len(), 1, "trails in ARN order");
        assert_eq!(n[0].severity, Severity::High);
        assert_eq!(n[0].trail.as_deref(), Some("second, management-events"));
        assert_eq!(n[0].account.as_deref(), Some("111122223333"));
        assert_eq!(n[0].evidence.details.len(), 2);

        // One multi-region logging trail is enough.
        let files = vec![file(
            "config/describe-trails.json",
            json!({"trailList": [
                trail(json!({})),
                trail(json!({"Name": "second", "TrailARN": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/second", "HomeRegion": "eu-west-1", "IsMultiRegionTrail": false}))
            ]}),
        )];
        assert!(!above_info(&analyze(&files, None).findings).contains(&Kind::ConfigNotMultiRegion));

        // A multi-region trail that is not logging does not count; the single-region one does.
        let mut files = vec![
            file(
                "config/describe-trails.json",
                json!({"trailList": [
                    trail(json!({})),
                    trail(json!({"Name": "second", "TrailARN": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/second", "HomeRegion": "eu-west-1", "IsMultiRegionTrail": false}))
                ]}),
            ),
            file(
                "config/get-trail-status.management-events.json",
                status(false),
            ),
        ];
        let a = analyze(&files, None);
        assert_eq!(
            find(&a.findings, Kind::ConfigNotMultiRegion)
                .trail
                .as_deref(),
            Some("second")
        );
        // Unknown multi-region (no such field) says nothing.
        files[0] = file(
            "config/describe-trails.json",
            json!({"trailList": [trail(json!({"IsMultiRegionTrail": null}))]}),
        );
        files.pop();
        assert!(!above_info(&analyze(&files, None).findings).contains(&Kind::ConfigNotMultiRegion));
    }

    #[test]
    fn empty_trail_list_is_config_no_trail_and_pairs_nothing() {
        let files = vec![
            file("config/describe-trails.json", json!({"trailList": []})),
            file(
                "config/get-trail-status.management-events.json",
                status(true),
            ),
            file(
                "config/get-event-selectors.management-events.json",
                clean_selectors(),
            ),
        ];
        let a = analyze(&files, None);
        assert!(a.exported);
        assert!(a.trails.is_empty());
        assert_eq!(above_info(&a.findings), vec![Kind::ConfigNoTrail]);
        let f = find(&a.findings, Kind::ConfigNoTrail);
        assert_eq!(f.path.as_deref(), Some("config/describe-trails.json"));
        let ignored: Vec<&str> = a
            .findings
            .iter()
            .filter(|f| f.kind == Kind::InputIgnored)
            .map(|f| f.path.as_deref().unwrap())
            .collect();
        assert_eq!(
            ignored,
            vec![
                "config/get-event-selectors.management-events.json",
                "config/get-trail-status.management-events.json"
            ]
        );
        assert!(a
            .findings
            .iter()
            .all(|f| f.kind == Kind::ConfigNoTrail || f.severity == Severity::Info));
        assert!(against_evidence(&a, &evidence_all_regions()).is_empty());
    }

    #[test]
    fn no_export_says_nothing_and_the_section_says_so() {
        // A logging trail's status and selectors alone: nothing they tell is wrong, and
        // nothing else is judged (`status_and_selector_exports_alone_are_judged_...`).
        let files = vec![
            file(
                "config/get-trail-status.management-events.json",
                status(true),
            ),
            file(
                "config/get-event-selectors.management-events.json",
                clean_selectors(),
            ),
        ];
        let a = analyze(&files, None);
        assert!(!a.exported);
        assert_eq!(above_info(&a.findings), vec![]);
        assert!(!a.section.exported);
        assert_eq!(a.section.notes.len(), 1);
        let s = serde_json::to_value(&a.section).unwrap();
        assert_eq!(s["exported"], false);
        assert!(s["notes"][0].as_str().unwrap().contains("not assessed"));
        assert!(against_evidence(&a, &evidence_all_regions()).is_empty());
        let a = analyze(&[], None);
        assert!(a.findings.is_empty() && a.trails.is_empty() && !a.exported);
    }

    #[test]
    fn status_files_pair_by_file_name_and_are_never_guessed() {
        let other = "arn:aws:cloudtrail:us-east-1:444455556666:trail/management-events";
        let mut files = vec![file(
            "config/describe-trails.json",
            json!({"trailList": [trail(json!({})), trail(json!({"TrailARN": other}))]}),
        )];
        files.push(file("config/get-trail-status.json", status(true)));
        files.push(file(
            "config/get-trail-status.management-events.json",
            status(true),
        ));
        files.push(file("config/get-trail-status.missing.json", status(true)));
        files.push(file(
            "config/get-event-selectors.x.json",
            json!({"EventSelectors": []}),
        ));
        // The ARN in the selectors export decides, whatever the file name says.
        files.push(file(
            "config/get-event-selectors.management-events.json",
            json!({"TrailARN": other, "EventSelectors": [classic("All", true, &[])]}),
        ));
        let a = analyze(&files, None);
        let reasons: BTreeMap<&str, &str> = a
            .findings
            .iter()
            .filter(|f| f.kind == Kind::InputIgnored)
            .map(|f| (f.path.as_deref().unwrap(), f.message.as_str()))
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:#?}");
        assert!(reasons["config/get-trail-status.json"].contains("does not name its trail"));
        assert!(
            reasons["config/get-trail-status.management-events.json"].contains("2 exported trails")
        );
        assert!(reasons["config/get-trail-status.missing.json"]
            .contains("not in the exported configuration"));
        assert!(reasons["config/get-event-selectors.x.json"]
            .contains("not in the exported configuration"));
        let paired = a
            .trails
            .iter()
            .find(|t| t.arn.as_deref() == Some(other))
            .unwrap();
        assert_eq!(paired.management_events, Some(ManagementEvents::All));
        let unpaired = a
            .trails
            .iter()
            .find(|t| t.arn.as_deref() == Some(ARN))
            .unwrap();
        assert_eq!(unpaired.management_events, Some(ManagementEvents::Unknown));
        assert_eq!(unpaired.is_logging, None);
    }

    #[test]
    fn trail_filter_limits_the_analysis() {
        let second = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/second";
        let mut files = bundle(json!({}), clean_selectors());
        files[0] = file(
            "config/describe-trails.json",
            json!({"trailList": [
                trail(json!({})),
                trail(json!({"Name": "second", "TrailARN": second, "HomeRegion": "eu-west-1", "LogFileValidationEnabled": false}))
            ]}),
        );
        let all = analyze(&files, None);
        assert_eq!(all.trails.len(), 2);
        let by_name = analyze(&files, Some("management-events"));
        assert_eq!(by_name.trails.len(), 1);
        assert_eq!(above_info(&by_name.findings), vec![]);
        let by_arn = analyze(&files, Some(second));
        assert_eq!(by_arn.trails[0].name, "second");
        assert_eq!(
            above_info(&by_arn.findings),
            vec![Kind::ConfigLogValidationDisabled]
        );
        // The status/selector files of the trail left out are paired, not "ignored".
        assert!(by_arn.findings.iter().all(|f| f.kind != Kind::InputIgnored));
        let none = analyze(&files, Some("nope"));
        assert_eq!(above_info(&none.findings), vec![Kind::ConfigNoTrail]);
        assert!(find(&none.findings, Kind::ConfigNoTrail)
            .message
            .contains("--trail nope"));
    }

    #[test]
    fn output_is_deterministic_whatever_the_file_order() {
        let mut files = bundle(json!({"KmsKeyId": null}), clean_selectors());
        files.push(file(
            "config/eu/describe-trails.json",
            json!({"trailList": [trail(json!({"Name": "b", "TrailARN": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/b", "HomeRegion": "eu-west-1"}))]}),
        ));
        files.push(file("config/get-trail-status.nobody.json", status(true)));
        let a = analyze(&files, None);
        for _ in 0..4 {
            files.rotate_left(1);
            let b = analyze(&files, None);
            assert_eq!(a.section, b.section);
            assert_eq!(a.findings, b.findings);
            assert_eq!(a.trails, b.trails);
        }
        let names: Vec<&str> = a.trails.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["b", "management-events"], "sorted by ARN");
    }

    #[test]
    fn section_holds_settings_and_cis_answers() {
        let a = analyze(&bundle(json!({}), clean_selectors()), None);
        let s = &a.section.trails[0];
        assert_eq!(s["name"], "management-events");
        assert_eq!(s["arn"], ARN);
        assert_eq!(s["home_region"], "us-east-1");
        assert_eq!(s["multi_region"], true);
        assert_eq!(s["kms_key_id"], KMS);
        assert_eq!(s["management_events"], "all");
        assert_eq!(s["event_selectors"]["type"], "classic");
        assert_eq!(
            s["cis"],
            json!([
                {"control": "3.1", "v6_control": "4.1", "title": "Ensure CloudTrail is enabled in all regions", "result": "pass",
                 "reason": "multi-region, logging, all management events recorded (ReadWriteType All)"},
                {"control": "3.2", "v6_control": "4.2", "title": "Ensure CloudTrail log file validation is enabled", "result": "pass",
                 "reason": "LogFileValidationEnabled true"}
            ])
        );
        let a = analyze(
            &bundle(
                json!({}),
                classic_export(vec![classic("WriteOnly", true, &[])]),
            ),
            None,
        );
        let c = &a.section.trails[0]["cis"][0];
        assert_eq!(c["result"], "fail");
        assert!(c["reason"].as_str().unwrap().contains("only in part"));
    }

    // --- exports that disagree ---------------------------------------------------------------

    #[test]
    fn exports_that_disagree_are_judged_on_the_weaker_value_whichever_sorts_first() {
        // One export says validation is off and the trail single-region, the other says
        // otherwise. describe-trails is read first; whichever holds `false`, it is judged,
        // from that file: an auditor cannot pass the trail.
        let weak = json!({"LogFileValidationEnabled": false, "IsMultiRegionTrail": false});
        for weak_in_describe in [true, false] {
            let over = |weak_here: bool| if weak_here { weak.clone() } else { json!({}) };
            let files = vec![
                file(
                    "config/describe-trails.json",
                    json!({"trailList": [trail(over(weak_in_describe))]}),
                ),
                file(
                    "config/get-trail.management-events.json",
                    json!({"Trail": trail(over(!weak_in_describe))}),
                ),
                file(
                    "config/get-trail-status.management-events.json",
                    status(true),
                ),
                file(
                    "config/get-event-selectors.management-events.json",
                    clean_selectors(),
                ),
            ];
            let a = analyze(&files, None);
            let f = find(&a.findings, Kind::ConfigLogValidationDisabled);
            let weak_file = if weak_in_describe {
                "config/describe-trails.json"
            } else {
                "config/get-trail.management-events.json"
            };
            assert_eq!(f.path.as_deref(), Some(weak_file), "{f:?}");
            find(&a.findings, Kind::ConfigNotMultiRegion);
            assert_eq!(a.trails[0].log_validation, Some(false));
        }
    }

    #[test]
    fn of_two_status_exports_the_newer_is_used_and_of_two_alike_the_one_that_says_stopped() {
        let stopped = json!({
            "IsLogging": false,
            "LatestDeliveryTime": "2025-01-07T00:03:29Z",
            "StartLoggingTime": "2024-12-07T06:23:33Z",
            "StopLoggingTime": "2025-01-07T01:30:00Z"
        });
        let run = |first: Value, second: Value| {
            let mut files = bundle(json!({}), clean_selectors());
            files.retain(|f| !f.path.contains("status"));
            files.push(file("a/get-trail-status.management-events.json", first));
            files.push(file("b/get-trail-status.management-events.json", second));
            analyze(&files, None)
        };
        // The stopped snapshot is newer: used, whichever path sorts first.
        for a in [
            run(status(true), stopped.clone()),
            run(stopped.clone(), status(true)),
        ] {
            find(&a.findings, Kind::ConfigNotLogging);
        }
        // A stale stopped snapshot beside a newer running one: running.
        let stale = json!({"IsLogging": false, "StopLoggingTime": "2024-11-01T00:00:00Z"});
        let a = run(stale, status(true));
        assert!(!a.findings.iter().any(|f| f.kind == Kind::ConfigNotLogging));
        // Alike in time: the one that says logging is off.
        let a = run(status(true), status(false));
        find(&a.findings, Kind::ConfigNotLogging);
    }

    #[test]
    fn per_trail_exports_pair_whatever_their_extension() {
        assert_eq!(
            trail_name_in_file_name("get-trail-status.t.JSON"),
            Some("t")
        );
        assert_eq!(
            trail_name_in_file_name("get-trail-status.t.json"),
            Some("t")
        );
        assert_eq!(
            trail_name_in_file_name("get-trail-status.my.trail"),
            Some("my.trail")
        );
        assert_eq!(trail_name_in_file_name("get-trail-status..json"), None);
        // Saved as `.txt`: paired by the name without its extension.
        let mut files = bundle(json!({}), clean_selectors());
        files.retain(|f| !f.path.contains("status"));
        files.push(file(
            "config/get-trail-status.management-events.txt",
            status(false),
        ));
        let a = analyze(&files, None);
        find(&a.findings, Kind::ConfigNotLogging);
        // A trail whose name holds a dot keeps it.
        let dotted = trail(
            json!({"Name": "audit.v2", "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/audit.v2"}),
        );
        let a = analyze(
            &[
                file(
                    "config/describe-trails.json",
                    json!({"trailList": [dotted]}),
                ),
                file("config/get-trail-status.audit.v2", status(false)),
            ],
            None,
        );
        find(&a.findings, Kind::ConfigNotLogging);
    }

    #[test]
    fn terraform_plan_is_read_from_the_state_it_starts_from() {
        // `terraform show -json PLANFILE`: what is deployed is `prior_state`.
        let module = |t: Value| {
            json!({"root_module": {"resources": [
                {"address": "aws_cloudtrail.main", "mode": "managed", "type": "aws_cloudtrail", "values": t}
            ]}})
        };
        let doc = json!({
            "format_version": "1.2",
            "prior_state": {"format_version": "1.0", "values": module(tf_trail("main", json!({"is_multi_region_trail": false})))},
            "planned_values": module(tf_trail("main", json!({}))),
        });
        assert_eq!(classify(&doc, "plan.json"), Some(ConfigKind::TerraformShow));
        let a = analyze(&[file("config/plan.json", doc)], None);
        find(&a.findings, Kind::ConfigNotMultiRegion);
    }

    // --- Terraform ---------------------------------------------------------------------------

    fn tf_trail(name: &str, over: Value) -> Value {
        let mut v = json!({
            "name": name,
            "arn": format!("arn:aws:cloudtrail:eu-central-1:999988887777:trail/{name}"),
            "home_region": "eu-central-1",
            "s3_bucket_name": "tf-bucket",
            "s3_key_prefix": "",
            "is_multi_region_trail": true,
            "include_global_service_events": true,
            "enable_log_file_validation": true,
            "enable_logging": true,
            "kms_key_id": "",
            "is_organization_trail": false,
            "event_selector": [],
            "advanced_event_selector": [],
        });
        for (k, x) in over.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn terraform_show_with_child_modules() {
        let doc = json!({
            "format_version": "1.0",
            "terraform_version": "1.9.0",
            "values": {"root_module": {
                "resources": [
                    {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "values": {"bucket": "tf-bucket"}},
                    {"address": "aws_cloudtrail.main", "mode": "managed", "type": "aws_cloudtrail", "values": tf_trail("main", json!({}))}
                ],
                "child_modules": [{
                    "address": "module.audit",
                    "resources": [],
                    "child_modules": [{
                        "address": "module.audit.module.trail",
                        "resources": [{
                            "address": "module.audit.module.trail.aws_cloudtrail.this",
                            "mode": "managed",
                            "type": "aws_cloudtrail",
                            "values": tf_trail("nested", json!({
                                "enable_logging": false,
                                "kms_key_id": KMS,
                                "s3_key_prefix": "audit",
                                "advanced_event_selector": [{
                                    "name": "mgmt without kms",
                                    "field_selector": [
                                        {"field": "eventCategory", "equals": ["Management"], "not_equals": [], "starts_with": null},
                                        {"field": "eventSource", "equals": [], "not_equals": ["kms.amazonaws.com"]}
                                    ]
                                }]
                            }))
                        }]
                    }]
                }]
            }}
        });
        assert_eq!(
            classify(&doc, "state.json"),
            Some(ConfigKind::TerraformShow)
        );
        let a = analyze(&[file("iac/state.json", doc)], None);
        assert!(a.exported);
        assert_eq!(a.trails.len(), 2);
        let main = a.trails.iter().find(|t| t.name == "main").unwrap();
        assert_eq!(main.account.as_deref(), Some("999988887777"));
        assert_eq!(main.home_region.as_deref(), Some("eu-central-1"));
        assert_eq!(main.key_prefix, None, "Terraform's \"\" is unset");
        assert_eq!(main.kms_key_id, None);
        assert_eq!(
            main.is_logging,
            Some(true),
            "enable_logging without a status export"
        );
        assert_eq!(
            main.management_events,
            Some(ManagementEvents::All),
            "no selector block: AWS default"
        );
        let nested = a.trails.iter().find(|t| t.name == "nested").unwrap();
        assert_eq!(nested.key_prefix.as_deref(), Some("audit"));
        assert_eq!(nested.is_logging, Some(false));
        assert_eq!(nested.management_events, Some(ManagementEvents::Partial));
        let on = |k: Kind| -> Vec<&str> {
            a.findings
                .iter()
                .filter(|f| f.kind == k)
                .filter_map(|f| f.trail.as_deref())
                .collect()
        };
        assert_eq!(on(Kind::ConfigNotEncrypted), vec!["main"]);
        assert_eq!(on(Kind::ConfigNotLogging), vec!["nested"]);
        assert_eq!(on(Kind::ConfigManagementEventsPartial), vec!["nested"]);
        assert_eq!(
            find(&a.findings, Kind::ConfigNotLogging).path.as_deref(),
            Some("iac/state.json")
        );

        // A get-trail-status export wins over Terraform's enable_logging.
        let files = vec![
            file("iac/get-trail-status.nested.json", status(true)),
            file(
                "iac/state.json",
                json!({"values": {"root_module": {"resources": [{"type": "aws_cloudtrail", "values": tf_trail("nested", json!({"enable_logging": false, "kms_key_id": KMS}))}]}}}),
            ),
        ];
        let b = analyze(&files, None);
        assert_eq!(b.trails[0].is_logging, Some(true));
        assert_eq!(above_info(&b.findings), vec![]);
    }

    #[test]
    fn terraform_classic_selectors_and_state_without_a_trail() {
        let doc = json!({"values": {"root_module": {"resources": [{"type": "aws_cloudtrail", "values": tf_trail("t", json!({
            "kms_key_id": KMS,
            "event_selector": [{"read_write_type": "ReadOnly", "include_management_events": true, "exclude_management_event_sources": [], "data_resource": []}]
        }))}]}}});
        let a = analyze(&[file("tf.json", doc)], None);
        assert_eq!(
            a.trails[0].management_events,
            Some(ManagementEvents::Partial)
        );
        // A state that manages no trail says nothing about the account's trails.
        let doc = json!({"format_version": "1.0", "values": {"root_module": {"resources": [{"type": "aws_s3_bucket", "values": {}}]}}});
        let a = analyze(&[file("tf.json", doc)], None);
        assert!(!a.exported);
        assert_eq!(above_info(&a.findings), vec![]);
    }

    // --- configuration versus evidence ----------------------------------------------------------

    fn at(s: &str) -> i64 {
        time::parse_iso(s).unwrap()
    }

    fn evidence_all_regions() -> EvidenceSummary {
        EvidenceSummary {
            window_start: at("2025-01-06T00:00:00Z"),
            window_end: at("2025-01-07T00:00:00Z"),
            regions_with_evidence: ["eu-west-1", "us-east-1", "us-west-2"]
                .map(String::from)
                .into(),
            trails_seen: [("management-events".to_owned(), "us-east-1".to_owned())].into(),
            trail_digests: [(
                ("management-events".to_owned(), "us-east-1".to_owned()),
                TrailDigests {
                    accounts: ["111122223333".to_owned()].into(),
                    orgs: BTreeSet::new(),
                    regions: ["eu-west-1", "us-east-1", "us-west-2"]
                        .map(String::from)
                        .into(),
                    locations: [(BUCKET.to_owned(), String::new())].into(),
                },
            )]
            .into(),
            locations: [(BUCKET.to_owned(), String::new())].into(),
            digests: 75,
            verified_digests: 75,
            newest_digest_end: Some(at("2025-01-07T00:54:31Z")),
            newest_log_time: Some(at("2025-01-07T00:00:00Z")),
            verified_events: 1000,
            verified_management_events: 800,
        }
    }

    fn mismatches(over: Value, selectors: Value, ev: &EvidenceSummary) -> Vec<Finding> {
        let a = analyze(&bundle(over, selectors), None);
        let out = against_evidence(&a, ev);
        assert!(out
            .iter()
            .all(|f| f.kind == Kind::ConfigEvidenceMismatch && f.severity == Severity::Medium));
        out
    }

    #[test]
    fn digests_of_another_account_or_layout_than_the_trail_writes_are_a_mismatch() {
        let ev = evidence_all_regions();
        // The export is of another account's trail of the same name.
        let out = mismatches(
            json!({"TrailARN": "arn:aws:cloudtrail:us-east-1:999988887777:trail/management-events"}),
            clean_selectors(),
            &ev,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].message.contains("belongs to account 999988887777"));
        // Not an organization trail, yet its digests sit in the organization layout.
        let mut org = ev.clone();
        for d in org.trail_digests.values_mut() {
            d.orgs.insert("o-a1b2c3d4e5".to_owned());
        }
        let out = mismatches(
            json!({"IsOrganizationTrail": false}),
            clean_selectors(),
            &org,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0]
            .message
            .contains("organization layout (AWSLogs/o-a1b2c3d4e5/)"));
        // As the organization trail it describes them.
        let out = mismatches(
            json!({"IsOrganizationTrail": true}),
            clean_selectors(),
            &org,
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn consistent_evidence_raises_nothing() {
        assert!(mismatches(json!({}), clean_selectors(), &evidence_all_regions()).is_empty());
        // Two regions of three (a partial copy) is not a contradiction.
        let mut ev = evidence_all_regions();
        ev.regions_with_evidence.remove("eu-west-1");
        assert!(mismatches(json!({}), clean_selectors(), &ev).is_empty());
    }

    #[test]
    fn validation_enabled_but_no_digests() {
        let mut ev = evidence_all_regions();
        ev.digests = 0;
        ev.verified_digests = 0;
        ev.newest_digest_end = None;
        ev.verified_events = 0;
        let out = mismatches(json!({}), clean_selectors(), &ev);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(out[0].message.contains("no digest file"));
        assert_eq!(out[0].evidence.actual.as_deref(), Some("0 digest files"));
        assert_eq!(out[0].path.as_deref(), Some("config/describe-trails.json"));
        // No evidence at all: nothing to disagree with.
        ev.regions_with_evidence.clear();
        assert!(mismatches(json!({}), clean_selectors(), &ev).is_empty());
    }

    #[test]
    fn validation_disabled_but_digests_through_the_window() {
        let ev = evidence_all_regions();
        let out = mismatches(
            json!({"LogFileValidationEnabled": false}),
            clean_selectors(),
            &ev,
        );
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(out[0].message.contains("2025-01-07T00:54:31Z"));
        // Digests that stop mid-window fit validation switched off mid-way.
        let off = || json!({"LogFileValidationEnabled": false});
        let mut early = ev.clone();
        early.newest_digest_end = Some(at("2025-01-06T14:54:31Z"));
        early.newest_log_time = Some(at("2025-01-07T00:00:00Z"));
        assert!(mismatches(off(), clean_selectors(), &early).is_empty());
        // ... also when the window was taken from the digests: the log files outlast them.
        early.window_end = at("2025-01-06T14:54:31Z");
        assert!(mismatches(off(), clean_selectors(), &early).is_empty());
        early.newest_log_time = Some(at("2025-01-06T14:50:00Z"));
        assert_eq!(mismatches(off(), clean_selectors(), &early).len(), 1);
        // Digests of another trail say nothing about this one's validation setting; that
        // they are another trail's is the one mismatch.
        let mut other = ev.clone();
        other.trails_seen = [("other".to_owned(), "us-east-1".to_owned())].into();
        let out = mismatches(
            json!({"LogFileValidationEnabled": false}),
            clean_selectors(),
            &other,
        );
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(out[0]
            .message
            .contains("written by trail other (home region us-east-1)"));
        // The configured trail among others in the bundle: consistent.
        other
            .trails_seen
            .insert(("management-events".to_owned(), "us-east-1".to_owned()));
        assert!(mismatches(json!({}), clean_selectors(), &other).is_empty());
    }

    #[test]
    fn region_count_disagrees_with_multi_region() {
        // Single-region trail, evidence from three regions.
        let out = mismatches(
            json!({"IsMultiRegionTrail": false}),
            clean_selectors(),
            &evidence_all_regions(),
        );
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(out[0].message.contains("single-region"));
        // Single-region trail, evidence from its home region only: consistent.
        let mut one = evidence_all_regions();
        one.regions_with_evidence = ["us-east-1".to_owned()].into();
        assert!(mismatches(
            json!({"IsMultiRegionTrail": false}),
            clean_selectors(),
            &one
        )
        .is_empty());
        // Multi-region trail, evidence from one region only.
        let out = mismatches(json!({}), clean_selectors(), &one);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].region.as_deref(), Some("us-east-1"));
        assert!(out[0].message.contains("multi-region"));
    }

    #[test]
    fn evidence_under_another_bucket_or_prefix() {
        let mut ev = evidence_all_regions();
        ev.locations
            .insert(("other-bucket".to_owned(), String::new()));
        ev.locations.insert((BUCKET.to_owned(), "x/".to_owned()));
        // A location without a bucket (a bundle folder) is not compared.
        ev.locations.insert((String::new(), "bucket".to_owned()));
        let out = mismatches(json!({}), clean_selectors(), &ev);
        let actual: Vec<&str> = out
            .iter()
            .filter_map(|f| f.evidence.actual.as_deref())
            .collect();
        assert_eq!(
            actual,
            vec![
                format!("s3://{BUCKET}/x/AWSLogs/").as_str(),
                "s3://other-bucket/AWSLogs/"
            ],
            "{out:#?}"
        );
        // An organization trail's prefix: org-logs/AWSLogs/o-ID/ACCOUNT/...
        let mut org = evidence_all_regions();
        org.locations = [(BUCKET.to_owned(), "org-logs/".to_owned())].into();
        assert!(mismatches(
            json!({"S3KeyPrefix": "org-logs", "IsOrganizationTrail": true}),
            clean_selectors(),
            &org
        )
        .is_empty());
        assert_eq!(mismatches(json!({}), clean_selectors(), &org).len(), 1);
        // No bucket in the configuration: nothing to compare.
        assert!(mismatches(json!({"S3BucketName": null}), clean_selectors(), &ev).is_empty());
    }

    #[test]
    fn a_trails_digests_where_another_trail_delivers_are_a_mismatch() {
        // management-events wrote the digests (under the evidence bucket), but its export
        // says it delivers to another bucket; a second trail delivers to the evidence's.
        let files = |over: Value| {
            vec![file(
                "config/describe-trails.json",
                json!({"trailList": [
                    trail(over),
                    trail(json!({
                        "Name": "second",
                        "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/second",
                        "IsMultiRegionTrail": false
                    }))
                ]}),
            )]
        };
        let ev = evidence_all_regions();
        let a = analyze(&files(json!({"S3BucketName": "other-bucket"})), None);
        let out: Vec<Finding> = against_evidence(&a, &ev)
            .into_iter()
            .filter(|f| f.kind == Kind::ConfigEvidenceMismatch)
            .collect();
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].trail.as_deref(), Some("management-events"));
        assert_eq!(
            out[0].evidence.actual.as_deref(),
            Some(format!("s3://{BUCKET}/AWSLogs/").as_str())
        );
        // The same with another prefix; and none where the export says where it is.
        let a = analyze(&files(json!({"S3KeyPrefix": "zzz"})), None);
        assert!(against_evidence(&a, &ev)
            .iter()
            .any(|f| f.message.contains("/zzz/AWSLogs/ by its export")));
        let a = analyze(&files(json!({})), None);
        assert!(against_evidence(&a, &ev)
            .iter()
            .all(|f| !f.message.contains("by its export")));
    }

    #[test]
    fn management_events_claims_against_deliveries() {
        let mut none = evidence_all_regions();
        none.verified_management_events = 0;
        let out = mismatches(json!({}), clean_selectors(), &none);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(out[0].message.contains("hold none"));
        let partial = classic_export(vec![classic("ReadOnly", true, &[])]);
        assert_eq!(mismatches(json!({}), partial, &none).len(), 1);
        // Excluded in the configuration, present in the evidence.
        let excluded = classic_export(vec![classic("All", false, &[])]);
        let out = mismatches(json!({}), excluded.clone(), &evidence_all_regions());
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(out[0].message.contains("record no management events"));
        assert!(mismatches(json!({}), excluded, &none).is_empty());
        // Unknown says nothing either way.
        let files = vec![file(
            "c/describe-trails.json",
            json!({"trailList": [trail(json!({}))]}),
        )];
        let a = analyze(&files, None);
        assert!(against_evidence(&a, &none).is_empty());
    }

    // --- the conformance bundles' configuration exports -------------------------------------------

    const CONFORMANCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/");

    fn conformance_files(name: &str) -> Option<Vec<ConfigFile>> {
        let dir = std::path::Path::new(CONFORMANCE)
            .join(name)
            .join("bundle/config");
        let entries = std::fs::read_dir(&dir).ok()?;
        let mut files = Vec::new();
        for e in entries {
            let e = e.unwrap();
            let file_name = e.file_name().to_string_lossy().into_owned();
            let json: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            files.push(ConfigFile {
                path: format!("config/{file_name}"),
                file_name,
                json,
            });
        }
        Some(files)
    }

    /// What the engine would summarise, read from the bundle's key names.
    fn conformance_evidence(name: &str) -> EvidenceSummary {
        let root = std::path::Path::new(CONFORMANCE)
            .join(name)
            .join("bundle/bucket");
        let mut ev = EvidenceSummary {
            window_start: at("2025-01-06T00:00:00Z"),
            window_end: at("2025-01-07T00:00:00Z"),
            verified_events: 1000,
            verified_management_events: 800,
            ..EvidenceSummary::default()
        };
        for e in walkdir::WalkDir::new(&root)
            .into_iter()
            .filter_map(Result::ok)
        {
            let rel = e
                .path()
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let Some(at_logs) = rel.find("AWSLogs/") else {
                continue;
            };
            let prefix = rel[..at_logs].to_owned();
            let parts: Vec<&str> = rel[at_logs..].split('/').collect();
            let parts: Vec<&str> = parts.into_iter().filter(|p| !p.starts_with("o-")).collect();
            if parts.len() < 5 || !rel.ends_with(".json.gz") {
                continue;
            }
            ev.regions_with_evidence.insert(parts[3].to_owned());
            ev.locations.insert((BUCKET.to_owned(), prefix));
            if parts[2] == "CloudTrail-Digest" {
                ev.digests += 1;
                ev.verified_digests += 1;
                let stem = parts.last().unwrap().trim_end_matches(".json.gz");
                let mut it = stem.rsplitn(3, '_');
                let when = time::parse_compact(it.next().unwrap()).unwrap();
                let home = it.next().unwrap().to_owned();
                let head = format!("{}_CloudTrail-Digest_{}_", parts[1], parts[3]);
                let trail = it
                    .next()
                    .unwrap()
                    .strip_prefix(head.as_str())
                    .unwrap()
                    .to_owned();
                ev.trails_seen.insert((trail, home));
                ev.newest_digest_end = ev.newest_digest_end.max(Some(when));
            } else {
                let stamp = parts.last().unwrap().split('_').nth(3).unwrap();
                let when = time::parse_compact(stamp).unwrap();
                ev.newest_log_time = ev.newest_log_time.max(Some(when));
            }
        }
        ev
    }

    #[test]
    fn conformance_scenarios() {
        use Kind::*;
        let cases: &[(&str, &[Kind], &[Kind])] = &[
            ("clean", &[], &[]),
            ("key_rotation", &[], &[]),
            ("org_trail", &[], &[]),
            ("stop_logging", &[], &[]),
            ("no_mgmt_events", &[], &[]),
            ("chain_starts_before", &[], &[]),
            ("missing_region", &[], &[]),
            ("delete_digest", &[], &[]),
            ("delete_log", &[], &[]),
            ("invalid_json", &[], &[]),
            ("modify_digest", &[], &[]),
            ("modify_log", &[], &[]),
            ("no_sidecars", &[], &[]),
            ("truncated_digest", &[], &[]),
            ("truncated_gzip", &[], &[]),
            ("wrong_key", &[], &[]),
            (
                "config_mgmt_excluded",
                &[ConfigManagementEventsExcluded],
                &[ConfigEvidenceMismatch],
            ),
            (
                "config_advanced_no_mgmt",
                &[ConfigManagementEventsExcluded],
                &[ConfigEvidenceMismatch],
            ),
            ("config_not_logging", &[ConfigNotLogging], &[]),
            (
                "config_not_multi_region",
                &[ConfigNotMultiRegion],
                &[ConfigEvidenceMismatch],
            ),
            ("single_region_trail", &[ConfigNotMultiRegion], &[]),
            (
                "config_validation_disabled",
                &[ConfigLogValidationDisabled, ConfigEvidenceMismatch],
                &[],
            ),
            (
                "validation_disabled_midway",
                &[ConfigLogValidationDisabled],
                &[],
            ),
            ("config_no_trail", &[ConfigNoTrail], &[]),
        ];
        if conformance_files("clean").is_none() {
            eprintln!("conformance bundles not found under {CONFORMANCE}: skipped");
            return;
        }
        for (name, required, allowed) in cases {
            let files = conformance_files(name).unwrap();
            let a = analyze(&files, None);
            let ev = conformance_evidence(name);
            // Also with the default window, taken from the digests' span.
            let mut by_digests = ev.clone();
            by_digests.window_end = ev.newest_digest_end.unwrap_or(ev.window_end);
            let mut all = a.findings.clone();
            all.extend(against_evidence(&a, &ev));
            let found = above_info(&all);
            let mut default_window = a.findings.clone();
            default_window.extend(against_evidence(&a, &by_digests));
            assert_eq!(found, above_info(&default_window), "{name}: default window");
            for k in *required {
                assert!(found.contains(k), "{name}: missing {k} in {all:#?}");
            }
            for k in &found {
                assert!(
                    required.contains(k) || allowed.contains(k),
                    "{name}: unexpected {k} in {all:#?}"
                );
            }
            if *name == "config_validation_disabled" {
                assert_eq!(
                    find(&all, ConfigEvidenceMismatch).severity,
                    Severity::Medium
                );
            }
            if *name == "config_no_trail" {
                let ignored = all
                    .iter()
                    .filter(|f| f.kind == InputIgnored && f.severity == Severity::Info);
                assert_eq!(ignored.count(), 2, "{name}: {all:#?}");
            } else {
                assert!(
                    all.iter().all(|f| f.kind != InputIgnored),
                    "{name}: {all:#?}"
                );
            }
        }
    }

    #[test]
    fn conformance_timestamps_and_organization() {
        let (Some(clean), Some(rot), Some(org)) = (
            conformance_files("clean"),
            conformance_files("key_rotation"),
            conformance_files("org_trail"),
        ) else {
            eprintln!("conformance bundles not found under {CONFORMANCE}: skipped");
            return;
        };
        let clean = analyze(&clean, None);
        let rot = analyze(&rot, None);
        assert_eq!(
            clean.section, rot.section,
            "+02:00 exports read as the same UTC times"
        );
        assert_eq!(
            clean.section.trails[0]["latest_delivery"],
            "2025-01-07T00:03:29Z"
        );
        assert_eq!(clean.section.trails[0]["cis"][0]["result"], "pass");
        assert_eq!(clean.section.trails[0]["cis"][1]["result"], "pass");
        let org = analyze(&org, None);
        assert_eq!(org.organization_id.as_deref(), Some("o-a1b2c3d4e5"));
        let t = &org.trails[0];
        assert_eq!(t.name, "org_audit_trail");
        assert_eq!(t.organization_trail, Some(true));
        assert_eq!(t.management_events, Some(ManagementEvents::All));
        assert_eq!(
            t.latest_delivery.map(time::fmt).as_deref(),
            Some("2025-01-07T00:04:07Z")
        );
        assert_eq!(org.section.trails[0]["event_selectors"]["type"], "advanced");
    }
}
