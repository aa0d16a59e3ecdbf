//! Findings: what trailproof says about a bundle, as data.
//!
//! Every check builds `Finding`s through `Finding::new(kind)` and the builder methods here,
//! so a kind's default severity is set once (`Kind::default_severity`) and each finding
//! carries its proof (`evidence`). The verdict, `--fail-on` and the exit status are derived
//! once, from the final list, in `Verdict::from_findings` and `exit_status`.
//!
//! Failures to *run* (bad arguments, unreadable bundle root) are `crate::Error`, never findings.

use crate::spill::{Dec, Distinct, Enc, Record, Sorted, Spill, SpillError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Finding kinds: SPEC "Finding kinds". Names are a public contract: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    LogMissing,
    LogHashMismatch,
    LogUnreferenced,
    LogUnreadable,
    DigestSignatureInvalid,
    DigestSignatureMissing,
    DigestKeyUnknown,
    DigestMissing,
    DigestChainBroken,
    DigestUnreadable,
    CoverageGap,
    RegionUncovered,
    ManagementEventsAbsent,
    LoggingTamperingEvent,
    ConfigNoTrail,
    ConfigNotLogging,
    ConfigManagementEventsExcluded,
    ConfigManagementEventsPartial,
    ConfigNotMultiRegion,
    ConfigLogValidationDisabled,
    ConfigGlobalEventsExcluded,
    ConfigNotEncrypted,
    ConfigDeliveryError,
    ConfigEvidenceMismatch,
    InputIgnored,
}

impl Kind {
    /// Every kind, in SPEC order.
    pub const ALL: [Kind; 25] = [
        Kind::LogMissing,
        Kind::LogHashMismatch,
        Kind::LogUnreferenced,
        Kind::LogUnreadable,
        Kind::DigestSignatureInvalid,
        Kind::DigestSignatureMissing,
        Kind::DigestKeyUnknown,
        Kind::DigestMissing,
        Kind::DigestChainBroken,
        Kind::DigestUnreadable,
        Kind::CoverageGap,
        Kind::RegionUncovered,
        Kind::ManagementEventsAbsent,
        Kind::LoggingTamperingEvent,
        Kind::ConfigNoTrail,
        Kind::ConfigNotLogging,
        Kind::ConfigManagementEventsExcluded,
        Kind::ConfigManagementEventsPartial,
        Kind::ConfigNotMultiRegion,
        Kind::ConfigLogValidationDisabled,
        Kind::ConfigGlobalEventsExcluded,
        Kind::ConfigNotEncrypted,
        Kind::ConfigDeliveryError,
        Kind::ConfigEvidenceMismatch,
        Kind::InputIgnored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LogMissing => "log_missing",
            Kind::LogHashMismatch => "log_hash_mismatch",
            Kind::LogUnreferenced => "log_unreferenced",
            Kind::LogUnreadable => "log_unreadable",
            Kind::DigestSignatureInvalid => "digest_signature_invalid",
            Kind::DigestSignatureMissing => "digest_signature_missing",
            Kind::DigestKeyUnknown => "digest_key_unknown",
            Kind::DigestMissing => "digest_missing",
            Kind::DigestChainBroken => "digest_chain_broken",
            Kind::DigestUnreadable => "digest_unreadable",
            Kind::CoverageGap => "coverage_gap",
            Kind::RegionUncovered => "region_uncovered",
            Kind::ManagementEventsAbsent => "management_events_absent",
            Kind::LoggingTamperingEvent => "logging_tampering_event",
            Kind::ConfigNoTrail => "config_no_trail",
            Kind::ConfigNotLogging => "config_not_logging",
            Kind::ConfigManagementEventsExcluded => "config_management_events_excluded",
            Kind::ConfigManagementEventsPartial => "config_management_events_partial",
            Kind::ConfigNotMultiRegion => "config_not_multi_region",
            Kind::ConfigLogValidationDisabled => "config_log_validation_disabled",
            Kind::ConfigGlobalEventsExcluded => "config_global_events_excluded",
            Kind::ConfigNotEncrypted => "config_not_encrypted",
            Kind::ConfigDeliveryError => "config_delivery_error",
            Kind::ConfigEvidenceMismatch => "config_evidence_mismatch",
            Kind::InputIgnored => "input_ignored",
        }
    }

    /// Default severity. The reasoning (README "Severities"): proven alteration or removal of
    /// signed evidence is critical/high; evidence that cannot be proven, hours without
    /// verified delivery and configurations that fail a CIS CloudTrail control (3.1/3.2, and 3.5
    /// for the KMS key) are medium or high, so they fail a run at the default `--fail-on medium`. Checks may
    /// change a single finding where its facts say so (a denied API call is an attempt, not
    /// a change; a gap the trail status proves was deleted is worse than one it does not).
    pub fn default_severity(self) -> Severity {
        use Severity::*;
        match self {
            Kind::LogMissing => High,
            Kind::LogHashMismatch => Critical,
            Kind::LogUnreferenced => High,
            Kind::LogUnreadable => High,
            Kind::DigestSignatureInvalid => Critical,
            Kind::DigestSignatureMissing => Medium,
            Kind::DigestKeyUnknown => High,
            Kind::DigestMissing => High,
            Kind::DigestChainBroken => Critical,
            Kind::DigestUnreadable => High,
            Kind::CoverageGap => Medium,
            Kind::RegionUncovered => Medium,
            Kind::ManagementEventsAbsent => Medium,
            Kind::LoggingTamperingEvent => High,
            Kind::ConfigNoTrail => High,
            Kind::ConfigNotLogging => High,
            Kind::ConfigManagementEventsExcluded => High,
            Kind::ConfigManagementEventsPartial => Medium,
            Kind::ConfigNotMultiRegion => High,
            Kind::ConfigLogValidationDisabled => Medium,
            Kind::ConfigGlobalEventsExcluded => Medium,
            Kind::ConfigNotEncrypted => Medium,
            Kind::ConfigDeliveryError => Medium,
            Kind::ConfigEvidenceMismatch => Medium,
            Kind::InputIgnored => Info,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ordered severity: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }

    /// One step lower; `Info` stays `Info`.
    pub fn lower(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an hour range of a region has no verified digest (`coverage_gap`'s `cause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapCause {
    LoggingStopped,
    DigestMissing,
    NoEvidence,
    Unverified,
}

impl GapCause {
    pub fn as_str(self) -> &'static str {
        match self {
            GapCause::LoggingStopped => "logging_stopped",
            GapCause::DigestMissing => "digest_missing",
            GapCause::NoEvidence => "no_evidence",
            GapCause::Unverified => "unverified",
        }
    }
}

/// The proof behind a finding: the files and values a reader can check by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    /// The file (digest, log file, configuration export) that proves the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Value the evidence states (a listed hash, a configured setting, a fingerprint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// Value found in the bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Further facts, `name: value`, in a fixed order chosen by the check.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Evidence {
    pub fn file(path: impl Into<String>) -> Evidence {
        Evidence {
            file: Some(path.into()),
            ..Evidence::default()
        }
    }

    pub fn values(
        file: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Evidence {
        Evidence {
            file: Some(file.into()),
            expected: Some(expected.into()),
            actual: Some(actual.into()),
            details: Vec::new(),
        }
    }

    pub fn detail(mut self, d: impl Into<String>) -> Evidence {
        self.details.push(d.into());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.file.is_none()
            && self.expected.is_none()
            && self.actual.is_none()
            && self.details.is_empty()
    }
}

/// Facts of an API call recorded in a log file (tampering events, StopLogging for gaps).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventFacts {
    pub event_name: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub event_time: String,
    pub principal: Option<String>,
    pub source_ip: Option<String>,
    pub error_code: Option<String>,
    pub event_id: Option<String>,
}

/// One finding. Times are UNIX seconds (UTC); report writers format them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub message: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub trail: Option<String>,
    pub path: Option<String>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub cause: Option<GapCause>,
    pub event: Option<EventFacts>,
    pub evidence: Evidence,
}

impl Finding {
    pub fn new(kind: Kind) -> Finding {
        Finding {
            kind,
            severity: kind.default_severity(),
            message: String::new(),
            account: None,
            region: None,
            trail: None,
            path: None,
            start: None,
            end: None,
            cause: None,
            event: None,
            evidence: Evidence::default(),
        }
    }

    pub fn message(mut self, m: impl Into<String>) -> Finding {
        self.message = m.into();
        self
    }

    /// A problem with evidence wholly outside the window: evidence there is proof, not
    /// subject, and "does not widen the verdict" (SPEC), so it is kept for the record at
    /// `info`. Call after `message`.
    pub fn outside_window(mut self) -> Finding {
        self.severity = Severity::Info;
        self.message
            .push_str(" (outside the window: recorded, not judged)");
        self
    }

    pub fn severity(mut self, s: Severity) -> Finding {
        self.severity = s;
        self
    }

    pub fn account(mut self, a: impl Into<String>) -> Finding {
        self.account = Some(a.into());
        self
    }

    pub fn region(mut self, r: impl Into<String>) -> Finding {
        self.region = Some(r.into());
        self
    }

    pub fn trail(mut self, t: impl Into<String>) -> Finding {
        self.trail = Some(t.into());
        self
    }

    /// Account, region and trail at once (any may be absent).
    pub fn scope(
        mut self,
        account: Option<&str>,
        region: Option<&str>,
        trail: Option<&str>,
    ) -> Finding {
        self.account = account.map(str::to_owned);
        self.region = region.map(str::to_owned);
        self.trail = trail.map(str::to_owned);
        self
    }

    pub fn path(mut self, p: impl Into<String>) -> Finding {
        self.path = Some(p.into());
        self
    }

    pub fn period(mut self, start: i64, end: i64) -> Finding {
        self.start = Some(start);
        self.end = Some(end);
        self
    }

    pub fn cause(mut self, c: GapCause) -> Finding {
        self.cause = Some(c);
        self
    }

    pub fn event(mut self, e: EventFacts) -> Finding {
        self.event = Some(e);
        self
    }

    pub fn evidence(mut self, e: Evidence) -> Finding {
        self.evidence = e;
        self
    }

    /// Deterministic order: kind, account, region, start, path, then everything else.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            self.kind,
            self.account.as_deref(),
            self.region.as_deref(),
            self.start,
            self.end,
            self.path.as_deref(),
            self.trail.as_deref(),
            self.cause,
            self.event.as_ref(),
            &self.message,
            self.severity,
            &self.evidence,
        )
    }
}

/// Sorts findings into the report's order and drops exact duplicates.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
}

impl GapCause {
    const ALL: [GapCause; 4] = [
        GapCause::LoggingStopped,
        GapCause::DigestMissing,
        GapCause::NoEvidence,
        GapCause::Unverified,
    ];
}

impl Record for Finding {
    fn order(&self, o: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&o.sort_key())
    }
    fn weight(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let ev = &self.evidence;
        self.message.len()
            + opt(&self.account)
            + opt(&self.region)
            + opt(&self.trail)
            + opt(&self.path)
            + opt(&ev.file)
            + opt(&ev.expected)
            + opt(&ev.actual)
            + ev.details.iter().map(String::len).sum::<usize>()
            + self.event.as_ref().map_or(0, |_| 256)
            + 64
    }
    fn encode(&self, e: &mut Enc<'_>) {
        e.str(self.kind.as_str());
        e.str(self.severity.as_str());
        e.str(&self.message);
        for o in [&self.account, &self.region, &self.trail, &self.path] {
            e.opt_str(o.as_deref());
        }
        e.opt_i64(self.start);
        e.opt_i64(self.end);
        e.opt_str(self.cause.map(GapCause::as_str));
        match &self.event {
            Some(ev) => {
                e.u8(1);
                e.str(&ev.event_name);
                e.str(&ev.event_time);
                for o in [&ev.principal, &ev.source_ip, &ev.error_code, &ev.event_id] {
                    e.opt_str(o.as_deref());
                }
            }
            None => e.u8(0),
        }
        let ev = &self.evidence;
        for o in [&ev.file, &ev.expected, &ev.actual] {
            e.opt_str(o.as_deref());
        }
        e.u64(ev.details.len() as u64);
        for d in &ev.details {
            e.str(d);
        }
    }
    fn decode(d: &mut Dec<'_>) -> Option<Self> {
        let kind = d.str()?;
        let kind = *Kind::ALL.iter().find(|k| k.as_str() == kind)?;
        let mut f = Finding::new(kind);
        f.severity = Severity::parse(d.str()?)?;
        f.message = d.str()?.to_owned();
        let opt = |d: &mut Dec<'_>| d.opt_str().map(|o| o.map(str::to_owned));
        f.account = opt(d)?;
        f.region = opt(d)?;
        f.trail = opt(d)?;
        f.path = opt(d)?;
        f.start = d.opt_i64()?;
        f.end = d.opt_i64()?;
        f.cause = match d.opt_str()? {
            Some(c) => Some(*GapCause::ALL.iter().find(|g| g.as_str() == c)?),
            None => None,
        };
        f.event = match d.u8()? {
            0 => None,
            1 => Some(EventFacts {
                event_name: d.str()?.to_owned(),
                event_time: d.str()?.to_owned(),
                principal: opt(d)?,
                source_ip: opt(d)?,
                error_code: opt(d)?,
                event_id: opt(d)?,
            }),
            _ => return None,
        };
        f.evidence.file = opt(d)?;
        f.evidence.expected = opt(d)?;
        f.evidence.actual = opt(d)?;
        let n = d.u64()?;
        for _ in 0..n {
            f.evidence.details.push(d.str()?.to_owned());
        }
        Some(f)
    }
}

/// Every finding of a run in report order, each once. They are read from a sorted stream
/// (`spill.rs`), so a bundle with a finding for each of a million files does not hold them
/// all in memory; the counts the verdict, exit status and summary need are kept.
#[derive(Debug, Default)]
pub struct Findings {
    sorted: Sorted<Finding>,
    len: u64,
    by_severity: BTreeMap<Severity, u64>,
    /// Per kind: all, and those above `info`.
    by_kind: BTreeMap<Kind, (u64, u64)>,
}

impl Findings {
    pub fn new(findings: Spill<Finding>) -> Result<Findings, SpillError> {
        let mut out = Findings {
            sorted: findings.finish(),
            ..Findings::default()
        };
        let mut by_severity = BTreeMap::new();
        let mut by_kind: BTreeMap<Kind, (u64, u64)> = BTreeMap::new();
        let mut len = 0;
        for f in out.iter()? {
            let f = f?;
            len += 1;
            *by_severity.entry(f.severity).or_default() += 1;
            let k = by_kind.entry(f.kind).or_default();
            k.0 += 1;
            k.1 += u64::from(f.severity > Severity::Info);
        }
        out.len = len;
        out.by_severity = by_severity;
        out.by_kind = by_kind;
        Ok(out)
    }

    /// In report order. One reading at a time (`spill::Sorted::iter`).
    pub fn iter(&self) -> Result<Distinct<'_, Finding>, SpillError> {
        self.sorted.iter_distinct()
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The highest severity found.
    pub fn worst(&self) -> Option<Severity> {
        self.by_severity.keys().next_back().copied()
    }

    pub fn count(&self, severity: Severity) -> u64 {
        self.by_severity.get(&severity).copied().unwrap_or(0)
    }

    /// Findings of this kind above `info`.
    pub fn above_info_of(&self, kind: Kind) -> u64 {
        self.by_kind.get(&kind).map_or(0, |k| k.1)
    }

    pub fn above_info(&self) -> u64 {
        self.by_severity
            .iter()
            .filter(|(s, _)| **s > Severity::Info)
            .map(|(_, n)| n)
            .sum()
    }

    /// Counts by kind name, for the report's summary.
    pub fn kind_counts(&self) -> impl Iterator<Item = (Kind, u64)> + '_ {
        self.by_kind.iter().map(|(k, n)| (*k, n.0))
    }

    /// Findings above `info`, worst first, then in report order, up to `limit`: one
    /// reading per severity, so only what is returned is held.
    pub fn worst_first(&self, limit: usize) -> Result<Vec<Finding>, SpillError> {
        let mut out = Vec::new();
        self.each_worst_first(|f| {
            out.push(f);
            out.len() < limit
        })?;
        Ok(out)
    }

    /// Hand each finding above `info` to `each`, worst first, then in report order, until
    /// `each` returns false.
    pub fn each_worst_first(
        &self,
        mut each: impl FnMut(Finding) -> bool,
    ) -> Result<(), SpillError> {
        for sev in Severity::ALL.iter().rev().filter(|s| **s > Severity::Info) {
            if self.count(*sev) == 0 {
                continue;
            }
            for f in self.iter()? {
                let f = f?;
                if f.severity == *sev && !each(f) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// The verdict the report opens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Every check passed: nothing above `info`.
    Verified,
    /// At least one finding above `info`.
    Findings,
    /// The bundle cannot support a verdict: nothing in the window could be verified.
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "VERIFIED",
            Verdict::Findings => "FINDINGS",
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }

    /// `provable` is false when no digest in the window verified at all.
    /// From the worst severity found, and whether anything in the window is provable.
    pub fn from_worst(worst: Option<Severity>, provable: bool) -> Verdict {
        if !provable {
            Verdict::Inconclusive
        } else if worst.is_some_and(|w| w > Severity::Info) {
            Verdict::Findings
        } else {
            Verdict::Verified
        }
    }
}

/// SPEC exit status: 1 for any finding at or above `fail_on`, or an inconclusive verdict.
pub fn exit_status(verdict: Verdict, worst: Option<Severity>, fail_on: Severity) -> i32 {
    if verdict == Verdict::Inconclusive || worst.is_some_and(|w| w >= fail_on) {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_spec_names_and_unique() {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate kind name");
        // serde's name must be the same string as as_str (the report uses serde).
        for k in Kind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        insta::assert_snapshot!(names.join("\n"));
    }

    /// `Kind::ALL` is exactly SPEC's table of finding kinds (when SPEC is beside the repo).
    #[test]
    fn kinds_are_specs_kinds() {
        let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/SPEC.md");
        let Ok(text) = std::fs::read_to_string(spec) else {
            return;
        };
        let table = text.split("## Finding kinds").nth(1).unwrap_or("");
        let mut from_spec: Vec<&str> = table
            .lines()
            .take_while(|l| !l.starts_with("## "))
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .collect();
        from_spec.sort_unstable();
        let mut ours: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        ours.sort_unstable();
        assert_eq!(ours, from_spec);
    }

    #[test]
    fn severity_order_and_parse() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("urgent"), None);
        assert_eq!(Severity::Low.lower(), Severity::Info);
    }

    #[test]
    fn exit_status_follows_fail_on() {
        let low = Some(Severity::Low);
        let v = Verdict::from_worst(low, true);
        assert_eq!(v, Verdict::Findings);
        assert_eq!(exit_status(v, low, Severity::Medium), 0);
        assert_eq!(exit_status(v, low, Severity::Low), 1);
        assert_eq!(
            exit_status(Verdict::Inconclusive, None, Severity::Critical),
            1
        );
        assert_eq!(
            Verdict::from_worst(Some(Severity::Info), true),
            Verdict::Verified
        );
        assert_eq!(Verdict::from_worst(None, true), Verdict::Verified);
    }

    #[test]
    fn findings_read_back_in_order_worst_first_and_counted() {
        let mut spill = Spill::new(crate::spill::Budget {
            dir: std::env::temp_dir(),
            bytes: 300,
        });
        let sev = [Severity::Low, Severity::Info, Severity::High, Severity::Low];
        let mut all = Vec::new();
        for i in 0..40 {
            let mut f = Finding::new(Kind::LogUnreferenced)
                .severity(sev[i % 4])
                .message(format!("file {i:02}"))
                .scope(Some("111122223333"), Some("eu-west-1"), None)
                .period(i as i64, i as i64 + 60)
                .evidence(Evidence::values("d", "x", "y").detail("a: b"));
            if i % 7 == 0 {
                f.event = Some(EventFacts {
                    event_name: "StopLogging".into(),
                    event_time: "2025-01-06T09:23:27Z".into(),
                    principal: Some("arn:aws:iam::111122223333:user/x".into()),
                    ..EventFacts::default()
                });
                f.cause = Some(GapCause::LoggingStopped);
            }
            all.push(f.clone());
            spill.push(f.clone()).unwrap();
            // The same finding twice is one.
            spill.push(f).unwrap();
        }
        let findings = Findings::new(spill).unwrap();
        sort_findings(&mut all);
        let read: Vec<Finding> = findings.iter().unwrap().map(Result::unwrap).collect();
        assert_eq!(read, all);
        assert_eq!(findings.len(), 40);
        assert_eq!(findings.worst(), Some(Severity::High));
        assert_eq!(findings.count(Severity::Low), 20);
        assert_eq!(findings.above_info(), 30);
        let worst = findings.worst_first(12).unwrap();
        assert_eq!(worst.len(), 12);
        assert!(worst[..10].iter().all(|f| f.severity == Severity::High));
        assert!(worst[10..].iter().all(|f| f.severity == Severity::Low));
        assert!(worst[..10]
            .windows(2)
            .all(|w| w[0].sort_key() < w[1].sort_key()));
    }
}
