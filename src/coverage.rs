//! Coverage: were management events delivered, account by account, region by region, hour
//! by hour — and where they were not, why.
//!
//! Each (account, region) gets a timeline over the window built from digest periods:
//! verified digests cover; unverifiable ones (bad signature, unknown key, no signature,
//! unreadable) leave `unverified` time; digests the chain names but the bundle lacks leave
//! `digest_missing` time; the span between a chain's end and its restart (null previous
//! fields) is `logging_stopped`, as is the span after a chain that ends for good with AWS's
//! short final digest or right after a StopLogging/DeleteTrail (a valid StartLogging inside a
//! missing digest's span after a proven stop, or a valid StopLogging inside a restart's span
//! after a deleted final digest, splits that span at the event); time with no verified digest
//! is `unverified` when log files arrived then (validation off, even inside a restart) and
//! `no_evidence` otherwise. Uncovered spans become
//! `coverage_gap` findings; hours become `Cell`s for the report. Memory is one cell per
//! account × region × hour: events are already reduced to per-hour counts by `logfile.rs`.
//!
//! Cross-chain rules live here too, run once: `region_uncovered`,
//! `management_events_absent`, `logging_tampering_event` and tying a StopLogging (recorded in
//! the home region) to the gaps it explains in every region.

use crate::chain::MissingDigest;
use crate::config::{ConfigAnalysis, ManagementEvents};
use crate::digest::Checked;
use crate::discover::{LogItem, NotableAt, Source};
use crate::findings::{Evidence, Finding, GapCause, Kind, Severity};
use crate::logfile::{HourCount, Notable};
use crate::s3key::LogKey;
use crate::time::{self, HOUR};
use crate::verify::LogStatus;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What the digests say about one hour of one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestState {
    /// Every minute covered by verified digests, and log files delivered.
    Verified,
    /// Covered by verified digests that list no log file: nothing happened, AWS signed that.
    VerifiedEmpty,
    /// A digest the chain names is absent.
    Missing,
    /// Digests or log files present but not provable.
    Unverified,
    /// Logging was stopped for some of the hour (a chain ends and restarts, or a stop is
    /// proven): no digest is due for that time.
    Stopped,
    /// No digest at all, and no stop explains it.
    Absent,
}

impl DigestState {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestState::Verified => "verified",
            DigestState::VerifiedEmpty => "verified_empty",
            DigestState::Missing => "missing",
            DigestState::Unverified => "unverified",
            DigestState::Stopped => "stopped",
            DigestState::Absent => "absent",
        }
    }

    pub fn is_covered(self) -> bool {
        matches!(self, DigestState::Verified | DigestState::VerifiedEmpty)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    #[serde(serialize_with = "ser_time")]
    pub hour: i64,
    pub digest_state: DigestState,
    pub logs_listed: u64,
    pub logs_present: u64,
    pub logs_valid: u64,
    pub events: u64,
    pub management_events: u64,
}

fn ser_time<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time::fmt(*t))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionCoverage {
    pub account: String,
    pub region: String,
    pub hours_total: u64,
    pub hours_covered: u64,
    pub hours: Vec<Cell>,
}

/// A stretch of a region's timeline with one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Verified,
    Unverified,
    Missing,
    Stopped,
    NoEvidence,
}

pub struct Inputs<'a> {
    pub window: (i64, i64),
    pub digests: &'a [Checked],
    pub missing: &'a [MissingDigest],
    /// Events that weaken logging, by the path of the file that holds them.
    pub notable: &'a [NotableAt],
    pub listed_per_hour: &'a crate::verify::ListedPerHour,
    pub config: &'a ConfigAnalysis,
    /// Regions named by public-key exports.
    pub key_regions: &'a BTreeSet<String>,
    /// `--region` values.
    pub extra_regions: &'a [String],
    /// `--account` values (empty: every account).
    pub accounts: &'a [String],
}

#[derive(Debug, Default)]
pub struct Coverage {
    pub regions: Vec<RegionCoverage>,
    pub findings: Vec<Finding>,
    pub events: u64,
    pub management_events: u64,
    pub verified_events: u64,
    pub verified_management_events: u64,
    pub duplicate_log_files: u64,
}

#[derive(Default)]
struct Agg {
    all: BTreeMap<i64, HourCount>,
    verified: BTreeMap<i64, HourCount>,
    present: BTreeMap<i64, u64>,
    valid: BTreeMap<i64, u64>,
    /// The minutes log files were delivered at.
    log_times: Minutes,
    /// Where the log files' events fall, merged.
    event_spans: Spans,
    has_evidence_in_window: bool,
}

/// The times log files were delivered at. Keys name minutes, so these are one 60-bit word
/// per hour: a region's deliveries cost eight bytes an hour however many files there are.
/// A key that also names seconds (the parser accepts them) is kept exactly, aside.
#[derive(Default)]
struct Minutes {
    hours: BTreeMap<i64, u64>,
    odd: BTreeSet<i64>,
}

impl Minutes {
    fn insert(&mut self, t: i64) {
        if t.rem_euclid(time::MINUTE) != 0 {
            self.odd.insert(t);
            return;
        }
        let hour = time::hour_floor(t);
        let bit = (t - hour) / time::MINUTE;
        *self.hours.entry(hour).or_default() |= 1u64 << bit;
    }

    /// The first time at or after `t`.
    fn first_from(&self, t: i64) -> Option<i64> {
        let hour = time::hour_floor(t);
        // Minutes of `t`'s hour at or after it (a minute that starts before `t` is before it).
        let from = (t - hour + time::MINUTE - 1) / time::MINUTE;
        let whole = self.hours.range(hour..).find_map(|(&h, &bits)| {
            let bits = if h == hour {
                bits.checked_shr(u32::try_from(from).ok()?)?
                    .checked_shl(u32::try_from(from).ok()?)?
            } else {
                bits
            };
            (bits != 0).then(|| h + i64::from(bits.trailing_zeros()) * time::MINUTE)
        });
        let odd = self.odd.range(t..).next().copied();
        match (whole, odd) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Where log files' events fall: a union of closed time spans, kept merged. "Does any
/// file hold events of [a, b)" needs only the union. Spans less than a minute apart merge
/// too: the timeline speaks in minutes (log keys name minutes), and less than a minute
/// between two files' events is no stretch without logging. So it holds at most one span
/// per minute of a region, however many files there are.
#[derive(Default)]
struct Spans(BTreeMap<i64, i64>);

/// Spans closer than this merge.
const SPAN_GAP: i64 = time::MINUTE;

impl Spans {
    fn insert(&mut self, (mut s, mut e): (i64, i64)) {
        // Stored spans are at least `SPAN_GAP` apart, so by start they are also by end:
        // the ones to merge are the last few that start before `e + SPAN_GAP`.
        let near: Vec<(i64, i64)> = self
            .0
            .range(..e.saturating_add(SPAN_GAP))
            .rev()
            .take_while(|&(_, &end)| end > s.saturating_sub(SPAN_GAP))
            .map(|(&a, &b)| (a, b))
            .collect();
        for (a, b) in near {
            self.0.remove(&a);
            s = s.min(a);
            e = e.max(b);
        }
        self.0.insert(s, e);
    }

    /// Some span [s, e] has s < b and e >= a.
    fn overlaps(&self, a: i64, b: i64) -> bool {
        // Merged spans are disjoint, so the last one starting before `b` ends last.
        self.0.range(..b).next_back().is_some_and(|(_, &e)| e >= a)
    }
}

type Region = (String, String);

/// What coverage needs from the log files, folded in one file at a time as verification
/// joins them with the digests: per-hour counts, never a list of files.
#[derive(Default)]
pub struct LogFold {
    window: (i64, i64),
    agg: BTreeMap<Region, Agg>,
    events: u64,
    management_events: u64,
    verified_events: u64,
    verified_management_events: u64,
    duplicate_log_files: u64,
    /// Whether each file holding a notable event is valid; `None` for a duplicate (its
    /// events are counted once, with the first copy).
    notable_valid: BTreeMap<Arc<str>, Option<bool>>,
    pub log_files: u64,
    pub log_files_valid: u64,
    pub log_files_unreadable: u64,
    pub inflated_bytes: u64,
    pub newest_log_time: Option<i64>,
    /// Regions with a log file delivered inside the window.
    pub log_regions_in_window: BTreeSet<String>,
}

impl LogFold {
    pub fn new(window: (i64, i64), notable: &[NotableAt]) -> Self {
        LogFold {
            window,
            notable_valid: notable
                .iter()
                .map(|n| (n.src.display.clone(), None))
                .collect(),
            ..LogFold::default()
        }
    }

    /// One log file, with what the digests said of it; `duplicate` when an earlier file
    /// holds the same bytes (a duplicate delivery counts once).
    pub fn add(&mut self, item: &LogItem, st: LogStatus, duplicate: bool) {
        let (w0, w1) = self.window;
        let (k, r) = (&item.key, &item.result);
        self.log_files += 1;
        self.inflated_bytes += r.inflated_size;
        self.log_files_valid += u64::from(st.valid);
        self.log_files_unreadable += u64::from(r.error.is_some());
        self.newest_log_time = self.newest_log_time.max(Some(k.time));
        if k.time >= w0 && k.time < w1 {
            self.log_regions_in_window.insert(k.region.to_string());
        }
        if duplicate {
            self.duplicate_log_files += 1;
            return;
        }
        if let Some(v) = self.notable_valid.get_mut(&*item.src.display) {
            *v = Some(st.valid);
        }
        let a = self
            .agg
            .entry((k.base.account.to_string(), k.region.to_string()))
            .or_default();
        a.log_times.insert(k.time);
        if let (Some(span), None) = (r.event_span, &r.error) {
            a.event_spans.insert(span);
        }
        if k.time >= w0 && k.time < w1 {
            a.has_evidence_in_window = true;
        }
        // Cells count whole hours, also the window's first and last when it starts or ends
        // inside one: events are counted per hour, and a cell's files must match its events.
        let hour = time::hour_floor(k.time);
        if time::hour_overlaps(hour, self.window) {
            *a.present.entry(hour).or_default() += 1;
            if st.valid {
                *a.valid.entry(hour).or_default() += 1;
            }
        }
        if r.error.is_some() {
            return;
        }
        for &(h, c) in &r.hours {
            if !time::hour_overlaps(h, self.window) {
                continue;
            }
            let e = a.all.entry(h).or_default();
            e.events += c.events;
            e.management += c.management;
            self.events += c.events;
            self.management_events += c.management;
            if st.valid {
                let v = a.verified.entry(h).or_default();
                v.events += c.events;
                v.management += c.management;
                self.verified_events += c.events;
                self.verified_management_events += c.management;
            }
        }
    }
}

pub fn compute(inp: &Inputs<'_>, logs: LogFold) -> Coverage {
    let (w0, w1) = inp.window;
    let mut cov = Coverage {
        events: logs.events,
        management_events: logs.management_events,
        verified_events: logs.verified_events,
        verified_management_events: logs.verified_management_events,
        duplicate_log_files: logs.duplicate_log_files,
        ..Coverage::default()
    };
    let mut agg = logs.agg;
    // With whether the log file holding it is valid (listed by a verified digest, hash equal).
    // Up to two hours before the window too: a StopLogging just before it is the proof of
    // a stop gap inside it (reported only as that proof, not as a finding).
    let notable: Vec<(&Notable, &Source, &LogKey, bool)> = inp
        .notable
        .iter()
        .filter(|n| n.notable.time >= w0 - 2 * HOUR && n.notable.time < w1)
        .filter_map(|n| {
            let valid = (*logs.notable_valid.get(&n.src.display)?)?;
            Some((&n.notable, &n.src, &n.key, valid))
        })
        .collect();

    // Digest intervals per region, and the trails whose chains they are.
    let mut intervals: BTreeMap<Region, Vec<(i64, i64, Class)>> = BTreeMap::new();
    let mut ends: BTreeMap<Region, Vec<i64>> = BTreeMap::new();
    let mut region_trails: BTreeMap<Region, BTreeSet<&str>> = BTreeMap::new();
    let mut org_regions: BTreeSet<Region> = BTreeSet::new();
    // Where a chain ends for good inside the window: after a verified final digest (AWS
    // delivers one, shorter than an hour, when logging stops) or (below) at a digest end
    // that a successful StopLogging or DeleteTrail explains. Without this, a stop that is
    // never undone would read as evidence gone (`no_evidence`), not as a stop.
    let mut final_ends: BTreeSet<(Region, i64)> = BTreeSet::new();
    for d in inp.digests {
        let (s, e) = d.period;
        let r = (d.chain.base.account.to_string(), d.chain.region.clone());
        ends.entry(r.clone()).or_default().push(e);
        region_trails
            .entry(r.clone())
            .or_default()
            .insert(&d.chain.trail);
        if d.verified_final {
            final_ends.insert((r.clone(), e));
        }
        if d.chain.base.org.is_some() {
            org_regions.insert(r.clone());
        }
        let class = if d.verified {
            Class::Verified
        } else {
            Class::Unverified
        };
        intervals.entry(r.clone()).or_default().push((s, e, class));
        if s < w1 && e > w0 {
            agg.entry(r).or_default().has_evidence_in_window = true;
        }
    }
    for v in ends.values_mut() {
        v.sort_unstable();
    }
    let events = StopsAndStarts::new(&notable, inp.config);
    // Whether an event naming `trail` (or none) concerns a chain of region `r`.
    let trail_matches = |r: &Region, trail: Option<&str>| {
        let trails = region_trails.get(r);
        trail.is_none_or(|tr| trails.is_none_or(|ts| ts.contains(tr)))
    };
    // The times of `times` strictly inside (lo, hi) that concern region `r`.
    let between = |times: &'_ [(i64, Option<&'_ str>)], r: &Region, lo: i64, hi: i64| {
        times
            .iter()
            .filter(move |&&(t, trail)| t > lo && t < hi && trail_matches(r, trail))
            .map(|&(t, _)| t)
            .collect::<Vec<i64>>()
    };
    // Stops that AWS's final digest or a valid StopLogging proves: a log file "delivered"
    // inside one was not delivered by AWS, so it does not make the stop `unverified`.
    let mut proven_stops: BTreeMap<Region, Vec<(i64, i64)>> = BTreeMap::new();
    let stop_proven = |r: &Region, at: i64| {
        final_ends.contains(&(r.clone(), at))
            || events
                .stops
                .iter()
                .any(|&(t, trail)| t <= at && t >= at - 2 * HOUR && trail_matches(r, trail))
    };
    for m in inp.missing {
        let r = (m.account.clone(), m.region.clone());
        // A window wholly inside a missing digest's span holds no digest, yet the digest
        // naming it is the evidence: its gap is `digest_missing`, not an uncovered region.
        if m.start < w1 && m.end > w0 {
            agg.entry(r.clone()).or_default().has_evidence_in_window = true;
        }
        let list = intervals.entry(r.clone()).or_default();
        // The missing digest follows a proven stop, and a valid StartLogging falls inside
        // its span: it was the restart's first digest (its previous fields null, so only
        // the next digest names it). The time before the restart is a stop, not evidence
        // gone; only the restart's own span is `digest_missing`.
        let restart = between(&events.starts, &r, m.start, m.end)
            .into_iter()
            .max();
        match restart {
            Some(restart) if stop_proven(&r, m.start) => {
                list.push((m.start, restart, Class::Stopped));
                list.push((restart, m.end, Class::Missing));
                proven_stops.entry(r).or_default().push((m.start, restart));
            }
            _ => list.push((m.start, m.end, Class::Missing)),
        }
    }
    // Logging began at a chain's start: a start at most two hours before it (a chain's
    // first digest begins at the start, give or take the hour of delivery) or within five
    // minutes after.
    let started_near = |r: &Region, start: i64| {
        !between(&events.starts, r, start - 2 * HOUR, start + 5 * 60).is_empty()
    };
    for d in inp.digests {
        let Some(c) = d.signed else { continue };
        // A backfill digest stands alone by design: it is no restart of the hourly chain.
        if !c.starts_chain || d.backfill {
            continue;
        }
        let r = (d.chain.base.account.to_string(), d.chain.region.clone());
        let before = ends
            .get(&r)
            .and_then(|v| v.iter().rev().find(|&&e| e <= c.start).copied());
        let from = before.unwrap_or(w0.min(c.start));
        if from < c.start {
            // A window wholly inside a stop holds no digest, yet the chain's end before it
            // and its restart after it are the evidence: a stop, not an uncovered region.
            if before.is_some() && from < w1 && c.start > w0 {
                agg.entry(r.clone()).or_default().has_evidence_in_window = true;
            }
            let list = intervals.entry(r.clone()).or_default();
            if stop_proven(&r, from) {
                list.push((from, c.start, Class::Stopped));
                proven_stops.entry(r).or_default().push((from, c.start));
            } else if let Some(stop) = between(&events.stops, &r, from, c.start).into_iter().max() {
                // The chain's last digest before the stop is gone (AWS's final digest would
                // end after the StopLogging): from the StopLogging on, the stop is proven,
                // and files delivered after it hold only the minutes before it. Before it,
                // logging was on and its digests are gone: no interval, so that time is
                // `unverified` where log files arrived and `no_evidence` where they are
                // gone too (never a stop: deleting more must not read milder).
                list.push((stop, c.start, Class::Stopped));
                proven_stops.entry(r).or_default().push((stop, c.start));
            } else if before.is_some() || started_near(&r, c.start) {
                // A chain ended and a new one began: logging was stopped and started.
                // With no earlier end, the chain's start is a restart only where a
                // StartLogging (or the status's StartLoggingTime) says logging began then.
                list.push((from, c.start, Class::Stopped));
            }
            // Else the bundle simply holds nothing before this chain's first digest (the
            // copy, or validation, begins there): no interval, so that time is
            // `no_evidence`, or `unverified` where log files arrived, as after a chain's
            // last digest.
        }
    }
    // A region whose chain ends for good at a proven stop, while a restart after it is known
    // (a valid StartLogging, or the status's StartLoggingTime) and no digest follows: the
    // stop lasted until the restart, and what the restart delivered is gone (judged below,
    // with the status, as evidence deleted).
    let mut tail_restarts: BTreeMap<Region, i64> = BTreeMap::new();
    for (r, v) in &ends {
        let Some(&last) = v.last() else { continue };
        if last >= w1 || !stop_proven(r, last) {
            continue;
        }
        if let Some(t) = between(&events.starts, r, last, w1).into_iter().min() {
            intervals
                .entry(r.clone())
                .or_default()
                .push((last, t, Class::Stopped));
            proven_stops.entry(r.clone()).or_default().push((last, t));
            tail_restarts.insert(r.clone(), t);
        }
    }
    // The latest digest delivery the trail status records, of the trails whose chains the
    // region holds (of every trail where none of them is exported): another trail's later
    // deliveries say nothing of this one's stop.
    let status_latest_of = |r: &Region| {
        let mine = |t: &&crate::config::TrailConfig| {
            region_trails
                .get(r)
                .is_some_and(|ts| ts.contains(t.name.as_str()))
        };
        let any_mine = inp.config.trails.iter().any(|t| mine(&t));
        inp.config
            .trails
            .iter()
            .filter(|t| !any_mine || mine(t))
            .filter_map(|t| t.latest_digest_delivery)
            .max()
    };
    // A region whose chain's last digest ends before a stop that no final digest proves
    // (AWS's final digest deleted, and with it the proof of the log file holding the
    // StopLogging): a valid StopLogging or the status's StopLoggingTime after that last
    // digest, with no restart after it and no digest delivered (status) over an hour after
    // it. From the stop on, logging was stopped; before it, logging was on and its digests
    // are gone (`unverified` where log files arrived, `no_evidence` where they are gone).
    for (r, v) in &ends {
        let Some(&last) = v.last() else { continue };
        if last >= w1 || stop_proven(r, last) || tail_restarts.contains_key(r) {
            continue;
        }
        // Of this account, or of any where the region's chains are an organization's
        // (the management account stops an organization trail): another account's stop
        // of a trail of the same name is no stop here.
        let stops: Vec<(i64, Option<&str>)> = events
            .stops_by_account
            .iter()
            .filter(|&&(_, _, account)| account.is_none_or(|a| a == r.0) || org_regions.contains(r))
            .map(|&(t, trail, _)| (t, trail))
            .collect();
        let Some(stop) = between(&stops, r, last, w1).into_iter().max() else {
            continue;
        };
        if !between(&events.starts, r, stop, w1).is_empty()
            || status_latest_of(r).is_some_and(|t| t > stop + HOUR)
        {
            continue;
        }
        intervals
            .entry(r.clone())
            .or_default()
            .push((stop, w1, Class::Stopped));
        proven_stops.entry(r.clone()).or_default().push((stop, w1));
    }

    let regions = expected_regions(inp, &agg);
    let mut gaps: Vec<Finding> = Vec::new();
    let mut stopped_gaps: Vec<(usize, String, String)> = Vec::new();

    for region in &regions {
        let status_latest_digest = status_latest_of(region);
        let a = agg.get(region);
        let has_evidence = a.is_some_and(|a| a.has_evidence_in_window);
        if !has_evidence {
            cov.findings.push(
                Finding::new(Kind::RegionUncovered)
                    .scope(Some(&region.0), Some(&region.1), None)
                    .period(w0, w1)
                    .message(format!(
                        "region {} of account {} should be covered but the bundle holds no digest or log file for it in the window",
                        region.1, region.0
                    ))
                    .evidence(Evidence::default().detail(region_reason(inp, &region.1))),
            );
        }
        let mut segs = segments(
            inp.window,
            intervals.get(region).map(Vec::as_slice).unwrap_or(&[]),
            a.map(|a| &a.log_times),
            a.map(|a| &a.event_spans),
            proven_stops.get(region).map(Vec::as_slice).unwrap_or(&[]),
        );
        let chain_ends = ends.get(region).map(Vec::as_slice).unwrap_or(&[]);
        // Log files after this region's chain stops, while the trail status says digests
        // were still delivered over an hour later (each region gets one an hour): the
        // newest digests were deleted, though no later digest is left to name them. (With
        // the log files gone too it stays `no_evidence`, high for the same reason.)
        let last_end = chain_ends.iter().copied().max();
        let restart = tail_restarts.get(region).copied();
        let deleted_after = |s: i64, e: i64| {
            e == w1
                && (last_end == Some(s) || restart == Some(s))
                && status_latest_digest.is_some_and(|t| t > s + HOUR)
        };
        for seg in &mut segs {
            let (s, e, class) = *seg;
            // A stop, unless the status proves digests delivered after it: then what came
            // later (a restart and its chain) was deleted.
            if class == Class::NoEvidence
                && chain_ends.contains(&s)
                && stop_proven(region, s)
                && !deleted_after(s, e)
            {
                seg.2 = Class::Stopped;
            }
        }
        if has_evidence {
            for &(s, e, class) in &segs {
                let (cause, severity, why) = match class {
                    Class::Verified => continue,
                    Class::Unverified if deleted_after(s, e) => (
                        GapCause::DigestMissing,
                        Severity::High,
                        format!(
                            "its digest chain {} at {}, yet the trail status says digests were delivered until {}: the later digests are missing",
                            if restart == Some(s) { "restarts with no digest" } else { "stops" },
                            time::fmt(s),
                            time::fmt(status_latest_digest.unwrap_or(s))
                        ),
                    ),
                    Class::Unverified => (GapCause::Unverified, Severity::Medium, "evidence is present but cannot be proven (no verifiable digest)".to_string()),
                    Class::Missing => (GapCause::DigestMissing, Severity::High, "a digest the chain names is not in the bundle".to_string()),
                    Class::Stopped if e < w1 => (GapCause::LoggingStopped, Severity::Medium, "the digest chain ends and restarts: logging was stopped".to_string()),
                    Class::Stopped => (GapCause::LoggingStopped, Severity::Medium, "the digest chain ends and no log file follows: logging was stopped".to_string()),
                    Class::NoEvidence => match status_latest_digest {
                        Some(t) if t > s + HOUR => (
                            GapCause::NoEvidence,
                            Severity::High,
                            format!("there is no digest or log file, yet the trail status says digests were delivered until {}", time::fmt(t)),
                        ),
                        _ => (GapCause::NoEvidence, Severity::Medium, "there is no digest or log file at all".to_string()),
                    },
                };
                let f = Finding::new(Kind::CoverageGap)
                    .severity(severity)
                    .scope(Some(&region.0), Some(&region.1), None)
                    .period(s, e)
                    .cause(cause)
                    .message(format!(
                        "{} in account {} has no verified digest from {} to {}: {why}",
                        region.1,
                        region.0,
                        time::fmt(s),
                        time::fmt(e)
                    ));
                if class == Class::Stopped {
                    stopped_gaps.push((gaps.len(), region.0.clone(), region.1.clone()));
                }
                gaps.push(f);
            }
        }
        // Cells.
        let listed_hours = inp
            .listed_per_hour
            .get(&region.0)
            .and_then(|r| r.get(&region.1));
        let listed = |h: i64| {
            listed_hours
                .and_then(|hours| hours.get(&h))
                .copied()
                .unwrap_or(0)
        };
        let mut cells = Vec::new();
        let mut h = time::hour_floor(w0);
        while h < w1 {
            let (hs, he) = (h.max(w0), (h + HOUR).min(w1));
            // The worst of the hour: evidence gone, then unprovable, then no evidence, then
            // a stop.
            let weight = |c: Class| match c {
                Class::Missing => 4,
                Class::Unverified => 3,
                Class::NoEvidence => 2,
                Class::Stopped => 1,
                Class::Verified => 0,
            };
            let worst: Option<Class> = segs
                .iter()
                .filter(|&&(s, e, c)| s < he && e > hs && c != Class::Verified)
                .map(|&(_, _, c)| c)
                .max_by_key(|&c| weight(c));
            let n_listed = listed(h);
            let state = match worst {
                None if n_listed > 0 => DigestState::Verified,
                None => DigestState::VerifiedEmpty,
                Some(Class::Missing) => DigestState::Missing,
                Some(Class::Unverified) => DigestState::Unverified,
                Some(Class::Stopped) => DigestState::Stopped,
                Some(_) => DigestState::Absent,
            };
            let all = a.and_then(|a| a.all.get(&h)).copied().unwrap_or_default();
            cells.push(Cell {
                hour: h,
                digest_state: state,
                logs_listed: n_listed,
                logs_present: a.and_then(|a| a.present.get(&h)).copied().unwrap_or(0),
                logs_valid: a.and_then(|a| a.valid.get(&h)).copied().unwrap_or(0),
                events: all.events,
                management_events: all.management,
            });
            h += HOUR;
        }
        if has_evidence {
            management_absent(inp, region, a, &cells, &mut cov.findings);
        }
        cov.regions.push(RegionCoverage {
            account: region.0.clone(),
            region: region.1.clone(),
            hours_total: cells.len() as u64,
            hours_covered: cells.iter().filter(|c| c.digest_state.is_covered()).count() as u64,
            hours: cells,
        });
    }

    // Tampering events, tied to the stop gaps they explain.
    let buckets = log_buckets(inp);
    let kms = trail_kms_keys(inp.config);
    let mut starts: Vec<&Notable> = Vec::new();
    // With whether the log file holding it is valid.
    let mut stops: Vec<(&Notable, bool)> = Vec::new();
    for &(n, src, k, valid) in &notable {
        if n.facts.event_name == "StartLogging" {
            if n.facts.error_code.is_none() {
                starts.push(n);
            }
            continue;
        }
        if !relevant(n, &buckets, kms.as_ref()) {
            continue;
        }
        if n.facts.event_name == "StopLogging" && n.facts.error_code.is_none() {
            stops.push((n, valid));
        }
        if n.time < w0 {
            continue;
        }
        let mut sev = Kind::LoggingTamperingEvent.default_severity();
        let mut msg = format!(
            "{} by {} at {} from {}",
            n.facts.event_name,
            n.facts
                .principal
                .as_deref()
                .unwrap_or("an unknown principal"),
            n.facts.event_time,
            n.facts.source_ip.as_deref().unwrap_or("an unknown address")
        );
        if let Some(code) = &n.facts.error_code {
            // Denied: an attempt that changed nothing, one step below a change; still a
            // finding that fails the run, because someone tried to blind the audit log.
            sev = sev.lower();
            msg.push_str(&format!(": an attempt, denied with {code}"));
        } else {
            msg.push_str(&format!(": {}", effect(&n.facts.event_name)));
        }
        if !valid {
            // Still reported (it names a suspect), but the reader must see at once that
            // nothing proves AWS recorded it.
            msg.push_str(
                " (unproven: the log file holding it is not vouched for by a verified digest)",
            );
        }
        let mut ev =
            Evidence::file(&*src.display).detail(format!("eventSource: {}", n.event_source));
        if let Some(id) = &n.facts.event_id {
            ev = ev.detail(format!("eventID: {id}"));
        }
        if !valid {
            ev = ev.detail(
                "the log file holding it is not vouched for by a verified digest: the record is unproven",
            );
        }
        for (what, v) in [
            ("trail", &n.trail_name),
            ("bucket", &n.bucket),
            ("key", &n.key_id),
        ] {
            if let Some(v) = v {
                ev = ev.detail(format!("{what}: {v}"));
            }
        }
        if n.facts.event_name == "StopLogging" && n.facts.error_code.is_none() {
            let explained: Vec<String> = stopped_gaps
                .iter()
                .filter_map(|(gi, _, r)| gaps.get(*gi).map(|g| (g, r)))
                .filter(|(g, _)| explains(n.time, g))
                .map(|(g, r)| {
                    format!(
                        "{r} {}..{}",
                        time::fmt(g.start.unwrap_or(0)),
                        time::fmt(g.end.unwrap_or(0))
                    )
                })
                .collect();
            if !explained.is_empty() {
                ev = ev.detail(format!("explains coverage gaps: {}", explained.join(", ")));
            }
        }
        cov.findings.push(
            Finding::new(Kind::LoggingTamperingEvent)
                .severity(sev)
                .scope(
                    Some(n.account.as_deref().unwrap_or(&k.base.account)),
                    Some(&k.region),
                    n.trail_name
                        .as_deref()
                        .filter(|_| n.event_source == "cloudtrail.amazonaws.com")
                        .map(trail_of),
                )
                .path(&*src.display)
                // The event's second: `end` is exclusive, so an instant is one second long.
                .period(n.time, n.time + 1)
                .event(n.facts.clone())
                .message(msg)
                .evidence(ev),
        );
    }
    // A stop the trail status records (`StopLoggingTime`) and AWS's final digests prove,
    // whose StopLogging record is in no log file of the bundle (the file holding it deleted,
    // or never copied): the stop is still an event that weakened logging, though who did it
    // and from where are gone with the record.
    for t in &inp.config.trails {
        let Some(at) = t.stop_logging else { continue };
        if !(at >= w0 && at < w1) {
            continue;
        }
        let recorded = stops
            .iter()
            .any(|(s, _)| (s.time - at).abs() <= 5 * time::MINUTE);
        let proven = final_ends.iter().any(|((account, _), end)| {
            t.account.as_deref().is_none_or(|a| a == account) && *end >= at && *end <= at + 2 * HOUR
        });
        if recorded || !proven {
            continue;
        }
        let facts = crate::findings::EventFacts {
            event_name: "StopLogging".into(),
            event_time: time::fmt(at),
            ..Default::default()
        };
        let status = t.status_file.as_deref().unwrap_or("get-trail-status");
        let ev = Evidence::file(status)
            .detail(format!(
                "StopLoggingTime of trail {}: {}",
                t.name,
                time::fmt(at)
            ))
            .detail("AWS's final digests end within two hours after it: the stop is proven")
            .detail("no StopLogging record near that time is in the bundle's log files");
        cov.findings.push(
            Finding::new(Kind::LoggingTamperingEvent)
                .scope(t.account.as_deref(), t.home_region.as_deref(), Some(&t.name))
                .path(status)
                .period(at, at + 1)
                .event(facts)
                .message(format!(
                    "StopLogging at {} (the trail status's StopLoggingTime, proven by AWS's final digests): the trail stopped recording; no StopLogging record in the bundle shows by whom or from where (the log file that held it may be missing)",
                    time::fmt(at)
                ))
                .evidence(ev),
        );
    }
    // Name the StopLogging/StartLogging that explain each stopped gap.
    for (gi, _account, _) in &stopped_gaps {
        let Some(g) = gaps.get_mut(*gi) else { continue };
        // A record from a valid log file first; then the latest.
        let stop = stops
            .iter()
            .filter(|(s, _)| explains(s.time, g))
            .max_by_key(|(s, valid)| (*valid, s.time));
        let start = starts
            .iter()
            .filter(|s| {
                g.start.is_some_and(|gs| s.time >= gs)
                    && g.end.is_some_and(|ge| s.time <= ge + HOUR)
            })
            .min_by_key(|s| s.time);
        let mut ev = std::mem::take(&mut g.evidence);
        match stop {
            Some(&(s, valid)) => {
                // An unproven record still names a suspect, but says it is unproven.
                let unproven = if valid {
                    ""
                } else {
                    ", read from a log file no verified digest vouches for"
                };
                ev = ev.detail(format!(
                    "StopLogging at {} by {} from {}{unproven}",
                    s.facts.event_time,
                    s.facts.principal.as_deref().unwrap_or("-"),
                    s.facts.source_ip.as_deref().unwrap_or("-")
                ));
                g.message.push_str(&format!(
                    " (StopLogging at {} by {}{unproven})",
                    s.facts.event_time,
                    s.facts
                        .principal
                        .as_deref()
                        .unwrap_or("an unknown principal")
                ));
            }
            None => {
                g.message
                    .push_str(" (no StopLogging event in the bundle explains it)");
            }
        }
        if let Some(s) = start {
            ev = ev.detail(format!(
                "StartLogging at {} by {}",
                s.facts.event_time,
                s.facts.principal.as_deref().unwrap_or("-")
            ));
        }
        g.evidence = ev;
    }
    cov.findings.extend(gaps);
    cov
}

/// When logging was stopped and started, with the trail each names (`None`: names none):
/// records from valid log files only (a planted one must not turn deleted evidence into a
/// mere stop), and the trail status's own times, AWS's answer exported with the
/// configuration (it survives the deletion of the log file that held the record).
struct StopsAndStarts<'a> {
    /// Successful StopLogging and DeleteTrail; the status's StopLoggingTime.
    stops: Vec<(i64, Option<&'a str>)>,
    /// The same stops with the account they were made in (the record's recipient, the
    /// trail ARN's account), where known.
    stops_by_account: Vec<(i64, Option<&'a str>, Option<&'a str>)>,
    /// Successful StartLogging; the status's StartLoggingTime when it follows the stop and
    /// logging is on (anything else is a status that contradicts itself).
    starts: Vec<(i64, Option<&'a str>)>,
}

impl<'a> StopsAndStarts<'a> {
    fn new(notable: &[(&'a Notable, &Source, &LogKey, bool)], config: &'a ConfigAnalysis) -> Self {
        // Valid records of these names: time, trail, account (the record's recipient).
        let records = |names: &'static [&'static str]| {
            notable
                .iter()
                .filter(move |(n, _, _, valid)| {
                    *valid
                        && names.contains(&n.facts.event_name.as_str())
                        && n.event_source == "cloudtrail.amazonaws.com"
                        && n.facts.error_code.is_none()
                })
                .map(|(n, _, _, _)| {
                    (
                        n.time,
                        n.trail_name.as_deref().map(trail_of),
                        n.account.as_deref(),
                    )
                })
        };
        let trails = &config.trails;
        let stops_by_account: Vec<_> = records(&["StopLogging", "DeleteTrail"])
            .chain(trails.iter().filter_map(|t| {
                // arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME
                let account = t.arn.as_deref().and_then(|a| a.split(':').nth(4));
                Some((t.stop_logging?, Some(t.name.as_str()), account))
            }))
            .collect();
        StopsAndStarts {
            stops: stops_by_account
                .iter()
                .map(|&(t, trail, _)| (t, trail))
                .collect(),
            stops_by_account,
            starts: records(&["StartLogging"])
                .map(|(t, trail, _)| (t, trail))
                .chain(trails.iter().filter_map(|t| {
                    let start = t.start_logging?;
                    let after_stop = t.stop_logging.is_none_or(|stop| start > stop);
                    (after_stop && t.is_logging != Some(false))
                        .then_some((start, Some(t.name.as_str())))
                }))
                .collect(),
        }
    }
}

/// A StopLogging at `t` explains a stopped gap that begins within two hours after it (the
/// final digest after a stop covers up to an hour) and not before it.
fn explains(t: i64, g: &Finding) -> bool {
    match (g.start, g.end) {
        (Some(s), Some(e)) => t <= e && t >= s - 2 * HOUR,
        _ => false,
    }
}

/// A trail's name from a name or an ARN (`arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`),
/// as CloudTrail calls accept either.
fn trail_of(name_or_arn: &str) -> &str {
    name_or_arn
        .rsplit_once(":trail/")
        .map_or(name_or_arn, |(_, name)| name)
}

fn effect(name: &str) -> &'static str {
    match name {
        "StopLogging" => "the trail stopped recording",
        "DeleteTrail" => "the trail was deleted",
        "UpdateTrail" => "the trail's settings were changed",
        "PutEventSelectors" | "PutInsightSelectors" => "what the trail records was changed",
        "DeleteEventDataStore" => "an event data store was deleted",
        "DisableKey" | "ScheduleKeyDeletion" | "PutKeyPolicy" => "the trail's KMS key was changed",
        _ => "the log bucket was changed",
    }
}

/// S3 events matter only for the trail's own bucket, where it is known; KMS events only for
/// a trail's own key: `kms` is `None` when no trail configuration was exported (then every
/// key counts), and empty when the trails use no KMS key (then none does: disabling some
/// other key cannot blind the trail).
fn relevant(n: &Notable, buckets: &BTreeSet<String>, kms: Option<&BTreeSet<String>>) -> bool {
    match n.event_source.as_str() {
        "s3.amazonaws.com" => {
            buckets.is_empty() || n.bucket.as_ref().is_some_and(|b| buckets.contains(b))
        }
        "kms.amazonaws.com" => kms.is_none_or(|keys| {
            // A key ID, or a key ARN whose last part is one; compared whole.
            n.key_id
                .as_deref()
                .map(|k| k.rsplit('/').next().unwrap_or(k))
                .is_some_and(|k| !k.is_empty() && keys.contains(k))
        }),
        _ => true,
    }
}

fn log_buckets(inp: &Inputs<'_>) -> BTreeSet<String> {
    let mut b: BTreeSet<String> = inp
        .config
        .trails
        .iter()
        .filter_map(|t| t.bucket.clone())
        .collect();
    for l in inp.digests.iter().filter_map(|d| d.location.as_deref()) {
        b.insert(l.bucket.clone());
        b.extend(l.log_buckets.iter().cloned());
    }
    b
}

/// The key id (last part of the ARN) of each trail's KMS key; `None` when no trail
/// configuration was exported, so which key matters is unknown.
fn trail_kms_keys(cfg: &ConfigAnalysis) -> Option<BTreeSet<String>> {
    if cfg.trails.is_empty() {
        return None;
    }
    Some(
        cfg.trails
            .iter()
            .filter_map(|t| t.kms_key_id.as_deref())
            .map(|k| k.rsplit('/').next().unwrap_or(k).to_owned())
            .filter(|k| !k.is_empty())
            .collect(),
    )
}

/// Which (account, region) pairs must be covered. From the configuration where there is one
/// (multi-region: every region with evidence or keys, plus `--region`; single region: the
/// home region), else from the evidence and `--region`.
fn expected_regions(inp: &Inputs<'_>, agg: &BTreeMap<Region, Agg>) -> BTreeSet<Region> {
    let mut accounts: BTreeSet<String> = agg.keys().map(|(a, _)| a.clone()).collect();
    // A trail always logs the account that owns it (its ARN's), an organization trail too:
    // that account's evidence gone entirely is regions uncovered, not an account never
    // there. (An organization's member accounts are not listed by any export, so only those
    // with evidence count.) An account trail that writes to a bucket this bundle holds no
    // digest from is another bucket's business (an export of another account beside this
    // one), unless the bundle holds no digest at all.
    let evidence_buckets: BTreeSet<&str> = inp
        .digests
        .iter()
        .filter_map(|d| d.location.as_deref())
        .map(|l| l.bucket.as_str())
        .collect();
    for t in &inp.config.trails {
        let here = t.organization_trail == Some(true)
            || evidence_buckets.is_empty()
            || t.bucket
                .as_deref()
                .is_none_or(|b| evidence_buckets.contains(b));
        if let (true, Some(owner)) = (here, t.account.as_deref()) {
            if t.is_logging != Some(false)
                && (inp.accounts.is_empty() || inp.accounts.iter().any(|a| a == owner))
            {
                accounts.insert(owner.to_owned());
            }
        }
    }
    let evidence_regions: BTreeSet<String> = agg.keys().map(|(_, r)| r.clone()).collect();
    let trails = &inp.config.trails;
    let multi = trails.iter().any(|t| t.multi_region == Some(true));
    let mut want: BTreeSet<String> = inp.extra_regions.iter().cloned().collect();
    if multi {
        want.extend(evidence_regions.iter().cloned());
        want.extend(inp.key_regions.iter().cloned());
        // Every trail logs its home region, whatever else is gone.
        want.extend(
            trails
                .iter()
                .filter(|t| t.is_logging != Some(false))
                .filter_map(|t| t.home_region.clone()),
        );
    } else if !trails.is_empty() {
        want.extend(trails.iter().filter_map(|t| t.home_region.clone()));
    } else {
        want.extend(evidence_regions.iter().cloned());
    }
    let mut out: BTreeSet<Region> = agg.keys().cloned().collect();
    for a in &accounts {
        for r in &want {
            out.insert((a.clone(), r.clone()));
        }
    }
    out
}

fn region_reason(inp: &Inputs<'_>, region: &str) -> String {
    if inp.extra_regions.iter().any(|r| r == region) {
        "named with --region".into()
    } else if inp.key_regions.contains(region) {
        "the trail is multi-region and the bundle's public-key exports include this region".into()
    } else {
        "the configuration names it".into()
    }
}

/// Timeline of one region over the window: merged runs of one class.
fn segments(
    window: (i64, i64),
    intervals: &[(i64, i64, Class)],
    log_times: Option<&Minutes>,
    event_spans: Option<&Spans>,
    proven_stops: &[(i64, i64)],
) -> Vec<(i64, i64, Class)> {
    let holds_events = |a: i64, b: i64| event_spans.is_some_and(|s| s.overlaps(a, b));
    let (w0, w1) = window;
    let mut points: Vec<i64> = vec![w0, w1];
    for &(s, e, _) in intervals {
        for p in [s, e] {
            if p > w0 && p < w1 {
                points.push(p);
            }
        }
    }
    points.sort_unstable();
    points.dedup();
    let mut out: Vec<(i64, i64, Class)> = Vec::new();
    for pair in points.windows(2) {
        let (Some(&a), Some(&b)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let mut class: Option<Class> = None;
        for &(s, e, c) in intervals {
            if s < b && e > a {
                class = Some(class.map_or(c, |k| k.min(c)));
            }
        }
        // The first delivery at or after `a`.
        let first = log_times.and_then(|t| t.first_from(a));
        let delivered = first.is_some_and(|t| t < b);
        // Log files delivered while the chain was broken off mean logging went on: log
        // file validation was off (or the digests are gone), which is `unverified`, not
        // a stop. A key names its minute only, so a file of the restart's own minute
        // (delivered just after StartLogging) does not count.
        let delivered_while_stopped = first.is_some_and(|t| t + time::MINUTE <= b)
            && !proven_stops.iter().any(|&(s, e)| s <= a && b <= e);
        let class = match class {
            Some(Class::Stopped) if delivered_while_stopped => Class::Unverified,
            Some(c) => c,
            // Log files delivered here, or holding events of here (the file named for
            // 00:00 holds the minutes before): logging went on, unproven.
            None if delivered || holds_events(a, b) => Class::Unverified,
            None => Class::NoEvidence,
        };
        match out.last_mut() {
            Some(last) if last.2 == class && last.1 == a => last.1 = b,
            _ => out.push((a, b, class)),
        }
    }
    out
}

/// `management_events_absent`: verified deliveries with no management event, where the
/// configuration says management events are logged (or says nothing). Hours with no
/// delivery at all but a verified empty digest are quiet hours: `info`.
fn management_absent(
    inp: &Inputs<'_>,
    region: &Region,
    a: Option<&Agg>,
    cells: &[Cell],
    out: &mut Vec<Finding>,
) {
    let cfg_says_logged = inp.config.trails.is_empty()
        || inp
            .config
            .trails
            .iter()
            .any(|t| !matches!(t.management_events, Some(ManagementEvents::Excluded)));
    let mut runs: Vec<(i64, i64, bool)> = Vec::new(); // (start, end, quiet)
    for c in cells {
        let verified = a
            .and_then(|a| a.verified.get(&c.hour))
            .copied()
            .unwrap_or_default();
        let kind = if verified.events > 0 && verified.management == 0 && c.management_events == 0 {
            Some(false)
        } else if c.digest_state == DigestState::VerifiedEmpty && c.events == 0 {
            Some(true)
        } else {
            None
        };
        let Some(quiet) = kind else { continue };
        match runs.last_mut() {
            Some(r) if r.1 == c.hour && r.2 == quiet => r.1 = c.hour + HOUR,
            _ => runs.push((c.hour, c.hour + HOUR, quiet)),
        }
    }
    for &(s, e, quiet) in &runs {
        let (s, e) = (s.max(inp.window.0), e.min(inp.window.1));
        if quiet || !cfg_says_logged {
            continue;
        }
        out.push(
            Finding::new(Kind::ManagementEventsAbsent)
                .scope(Some(&region.0), Some(&region.1), None)
                .period(s, e)
                .message(format!(
                    "{} in account {} delivered verified log files from {} to {} holding no management event",
                    region.1,
                    region.0,
                    time::fmt(s),
                    time::fmt(e)
                ))
                .evidence(Evidence::default().detail("the configuration says management events are logged, or there is no configuration export")),
        );
    }
    for r in runs.iter().filter(|r| r.2) {
        let (s, e) = (r.0.max(inp.window.0), r.1.min(inp.window.1));
        out.push(
            Finding::new(Kind::ManagementEventsAbsent)
                .severity(Severity::Info)
                .scope(Some(&region.0), Some(&region.1), None)
                .period(s, e)
                .message(format!(
                    "quiet hours: {} in account {} has verified digests listing no log file from {} to {}",
                    region.1,
                    region.0,
                    time::fmt(s),
                    time::fmt(e)
                )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kms_event(key_id: Option<&str>) -> Notable {
        Notable {
            event_source: "kms.amazonaws.com".into(),
            key_id: key_id.map(str::to_owned),
            ..Notable::default()
        }
    }

    #[test]
    fn minutes_find_the_first_delivery_at_or_after_a_time() {
        // Whole minutes, and two keys that name seconds too.
        let times = [0, 60, 3540, 3600, 3601, 7260, 7290, 86400 * 3 + 120];
        let mut m = Minutes::default();
        for t in times {
            m.insert(t);
        }
        for t in (-100..86400 * 3 + 300).step_by(17) {
            let want = times.iter().copied().filter(|&x| x >= t).min();
            assert_eq!(m.first_from(t), want, "{t}");
        }
    }

    #[test]
    fn merged_spans_answer_overlap_as_the_spans_would() {
        // Spans a minute or more apart stay apart, and answer exactly.
        let m = time::MINUTE;
        let spans = [
            (10 * m, 20 * m),
            (30 * m, 40 * m),
            (15 * m, 25 * m),
            (50 * m, 50 * m),
            (40 * m, 45 * m),
            (100 * m, 120 * m),
        ];
        let mut merged = Spans::default();
        for s in spans {
            merged.insert(s);
        }
        let got: Vec<(i64, i64)> = merged.0.iter().map(|(&a, &b)| (a, b)).collect();
        assert_eq!(
            got,
            [
                (10 * m, 25 * m),
                (30 * m, 45 * m),
                (50 * m, 50 * m),
                (100 * m, 120 * m)
            ]
        );
        for a in (0..130 * m).step_by(7) {
            for b in (a + 1..131 * m).step_by(13) {
                let any = spans.iter().any(|&(s, e)| s < b && e >= a);
                assert_eq!(merged.overlaps(a, b), any, "[{a}, {b})");
            }
        }
        // Files a few seconds apart (120 an hour) are one span, not one per file.
        let mut busy = Spans::default();
        for i in 0..120 {
            busy.insert((i * 30, i * 30 + 25));
        }
        assert_eq!(busy.0.len(), 1);
        assert!(!busy.overlaps(3600, 4000));
        // A span swallowing several.
        merged.insert((0, 200 * m));
        assert_eq!(merged.0.len(), 1);
    }

    #[test]
    fn trail_names_from_names_and_arns() {
        assert_eq!(trail_of("audit"), "audit");
        assert_eq!(
            trail_of("arn:aws:cloudtrail:us-east-1:111122223333:trail/org_audit.v2"),
            "org_audit.v2"
        );
    }

    #[test]
    fn kms_events_count_only_for_the_trails_own_key() {
        let none = BTreeSet::new();
        let uuid = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let ours: BTreeSet<String> = [uuid.to_owned()].into();
        let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{uuid}");
        // The trail's key, by ID or by ARN.
        assert!(relevant(&kms_event(Some(uuid)), &none, Some(&ours)));
        assert!(relevant(&kms_event(Some(&arn)), &none, Some(&ours)));
        // Another key, a fragment of ours, or no key at all: not the trail's.
        assert!(!relevant(
            &kms_event(Some("ffff0000-12ab-34cd-56ef-1234567890ab")),
            &none,
            Some(&ours)
        ));
        assert!(!relevant(&kms_event(Some("12")), &none, Some(&ours)));
        assert!(!relevant(&kms_event(Some("")), &none, Some(&ours)));
        assert!(!relevant(&kms_event(None), &none, Some(&ours)));
        // Trails that use no KMS key: no key event can blind them.
        assert!(!relevant(&kms_event(Some(uuid)), &none, Some(&none)));
        // No configuration exported: which key matters is unknown, so every one counts.
        assert!(relevant(&kms_event(Some(uuid)), &none, None));
    }
}
