//! Log files against the digests that list them.
//!
//! Only verified digests are trusted to say what AWS delivered. For each log file they
//! list: absent → `log_missing`; present but different → `log_hash_mismatch`; present but
//! not readable → `log_unreadable`. A file counts as inside the window when it was delivered
//! there or holds events of it (the file AWS names for 00:00 holds the last minutes before
//! midnight). A log file inside the window that no digest lists is
//! `log_unreferenced`: `high` when verified digests of its region cover its delivery time
//! (a file AWS did not deliver: injected), `low` when its time falls where no digest can be
//! checked (validation off, digest missing or unreadable), where it is part of a coverage
//! gap and cannot be proven either way. A file that only unverified digests list is left to
//! the `unverified` gap and those digests' own findings.
//!
//! Log files and listing entries arrive as two streams sorted by canonical key (`spill.rs`),
//! and are joined key by key, so memory holds one key's files and entries at a time, never
//! the whole bundle. Each file, with what the digests said of it, is then handed on to
//! coverage.

use crate::digest::{Checked, Listed};
use crate::discover::{ListedAt, LogItem};
use crate::findings::{Evidence, Finding, Kind, Severity};
use crate::s3key::{self, KeyBase, KeyShape};
use crate::spill::{Cursor, Sorted, Spill, SpillError};
use crate::time;
use std::collections::{BTreeMap, HashMap};

/// How long after the minute its key names a log file reaches S3 (AWS: about 5 minutes on
/// average; in the conformance bundles at most 4.2). A file keyed in a digest's last minutes
/// may be listed by the next digest instead.
const DELIVERY_DELAY: i64 = 5 * time::MINUTE;

/// What the digests say about one log file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStatus {
    /// Listed by at least one verified digest.
    pub listed: bool,
    /// Listed, present, hash equal and readable.
    pub valid: bool,
}

pub struct LogCheck<'f> {
    /// Where findings go: one per problem file, so a sorted stream, not a list.
    findings: &'f mut Spill<Finding>,
    /// Listed by verified digests, per account, region and hour of the log key: count.
    pub listed_per_hour: ListedPerHour,
}

/// Account, then region, then hour: the count of log files verified digests list. Nested, so
/// that a file adds to its hour without building its names again.
pub type ListedPerHour = BTreeMap<String, BTreeMap<String, BTreeMap<i64, u64>>>;

fn add_listed(map: &mut ListedPerHour, account: &str, region: &str, hour: i64) {
    if !map.contains_key(account) {
        map.insert(account.to_owned(), BTreeMap::new());
    }
    let Some(regions) = map.get_mut(account) else {
        return;
    };
    if !regions.contains_key(region) {
        regions.insert(region.to_owned(), BTreeMap::new());
    }
    if let Some(hours) = regions.get_mut(region) {
        *hours.entry(hour).or_default() += 1;
    }
}

/// Per location (the folders before `AWSLogs/`, the organization, the account, and the
/// region: another trail's digests, written elsewhere, never list this location's files),
/// where each trail writing there has verified digests. A log file's name does not say which
/// trail wrote it, so a file unlisted at a time when one of them was writing there (between
/// its first and last verified digest) but has no verified digest (deleted, unverifiable)
/// may be that trail's: only where every trail writing then is covered was it not delivered
/// by AWS. A trail with no verified digest (a junk file named like a digest) or whose
/// verified digests lie elsewhere in time (a trail of years ago) says nothing of it.
type Periods<'a> = HashMap<(&'a KeyBase, &'a str), BTreeMap<&'a str, Cover>>;

/// One trail's verified time at one location.
#[derive(Default)]
struct Cover {
    /// Verified digests' periods and the stops they prove.
    periods: Vec<(i64, i64)>,
    /// From its first verified digest's start to its last one's end.
    span: Option<(i64, i64)>,
}

/// Whether the trails writing at a location at `t` are all covered then (and there is one).
fn covered(trails: Option<&BTreeMap<&str, Cover>>, t: i64) -> bool {
    let mut writing = trails
        .into_iter()
        .flat_map(|ts| ts.values())
        .filter(|c| c.span.is_some_and(|(s, e)| s <= t && t < e))
        .peekable();
    writing.peek().is_some() && writing.all(|c| c.periods.iter().any(|&(s, e)| s <= t && t < e))
}

/// Where verified digests (and stops they prove) cover each location, region and trail.
fn verified_periods(digests: &[Checked]) -> Periods<'_> {
    let mut periods: Periods<'_> = HashMap::new();
    for d in digests.iter().filter(|d| d.verified) {
        let Some(c) = d.signed else { continue };
        let trail = periods
            .entry((&d.chain.base, d.chain.region.as_str()))
            .or_default()
            .entry(d.chain.trail.as_str())
            .or_default();
        trail.periods.push((c.start, c.end));
        trail.span = Some(
            trail
                .span
                .map_or((c.start, c.end), |(s, e)| (s.min(c.start), e.max(c.end))),
        );
    }
    // Proven stops: from a verified short final digest (AWS delivers one when logging
    // stops) to its chain's restart. AWS delivers nothing in between, so a file keyed there
    // was planted, as surely as one a verified digest covers and does not list.
    for d in digests.iter().filter(|d| d.verified_final) {
        let Some(c) = d.signed else { continue };
        let restart = digests
            .iter()
            .filter(|r| {
                let (rc, dc) = (&r.chain, &d.chain);
                rc.base == dc.base && rc.region == dc.region && rc.trail == dc.trail && !r.backfill
            })
            .filter_map(|r| r.signed)
            .filter(|r| r.starts_chain && r.start >= c.end)
            .map(|r| r.start)
            .min();
        if let Some(restart) = restart {
            let trail = periods
                .entry((&d.chain.base, d.chain.region.as_str()))
                .or_default()
                .entry(d.chain.trail.as_str())
                .or_default();
            trail.periods.push((c.end, restart));
            // The restart's digest, if verified, already reaches past the stop; if not,
            // the stop AWS proved is still this trail's time.
            trail.span = trail.span.map(|(s, e)| (s, e.max(restart)));
        }
    }
    periods
}

/// The streams and digests `check` joins.
pub struct Inputs<'a> {
    pub logs: &'a Sorted<LogItem>,
    pub listings: &'a Sorted<ListedAt>,
    pub digests: &'a [Checked],
    /// Position in `digests` of the digest read `seq`-th (`digest_units::Outcome::digest_at`).
    pub digest_at: &'a [u32],
    pub window: (i64, i64),
    /// Where a verified digest's listing is judged (`log_missing`, `log_hash_mismatch`,
    /// `log_unreadable`). It is the window when `--start`/`--end` gave it; without them the
    /// window is the digests' span (SPEC), so every verified digest's listing is inside it,
    /// also those past the whole hours the coverage cells use.
    pub listed_window: (i64, i64),
}

/// Join the log files with the digests' listings, key by key, adding findings to
/// `findings`. `each` gets every log file with what the digests said of it. Returns the
/// files verified digests list, per account, region and hour.
pub fn check(
    inp: &Inputs<'_>,
    findings: &mut Spill<Finding>,
    mut each: impl FnMut(&LogItem, LogStatus) -> Result<(), SpillError>,
) -> Result<ListedPerHour, SpillError> {
    let mut out = LogCheck {
        findings,
        listed_per_hour: BTreeMap::new(),
    };
    let periods = verified_periods(inp.digests);
    let mut logs = Cursor::new(inp.logs)?;
    let mut listings = Cursor::new(inp.listings)?;
    let mut copies: Vec<LogItem> = Vec::new();
    let mut listed: Vec<(&Checked, u32, Listed)> = Vec::new();
    loop {
        let key: String = match (&logs.head, &listings.head) {
            (Some(l), Some(d)) => l.canonical().min(d.listed.canonical()).to_owned(),
            (Some(l), None) => l.canonical().to_owned(),
            (None, Some(d)) => d.listed.canonical().to_owned(),
            (None, None) => break,
        };
        copies.clear();
        listed.clear();
        while let Some(l) = logs.take_if(|l| l.canonical() == key)? {
            copies.push(l);
        }
        while let Some(d) = listings.take_if(|d| d.listed.canonical() == key)? {
            let digest = inp
                .digest_at
                .get(d.seq as usize)
                .and_then(|&i| inp.digests.get(i as usize));
            if let Some(digest) = digest {
                listed.push((digest, d.pos, d.listed));
            }
        }
        // In digest order (the stream holds digests in the order they were read), then in
        // each digest's own order.
        listed.sort_by(|a, b| {
            fn at(d: &Checked, pos: u32) -> (&str, &str, u32) {
                (d.canonical(), &d.display, pos)
            }
            at(a.0, a.1).cmp(&at(b.0, b.1))
        });
        let mut status = vec![LogStatus::default(); copies.len()];
        judge_listed(inp, &listed, &copies, &mut status, &mut out)?;
        // Named by a digest that was read but not verified (no signature, unknown key,
        // forged): such a file is not "listed by no digest" (SPEC `log_unreferenced`); its
        // hour is an `unverified` coverage gap, and the digest has its own finding.
        let named_unverified = listed.iter().any(|(d, _, _)| !d.verified);
        for (item, st) in copies.iter().zip(&status) {
            judge_unlisted(inp.window, &periods, item, *st, named_unverified, &mut out)?;
            each(item, *st)?;
        }
    }
    Ok(out.listed_per_hour)
}

/// One canonical key's entries in verified digests against the files of that key.
fn judge_listed(
    inp: &Inputs<'_>,
    listed: &[(&Checked, u32, Listed)],
    copies: &[LogItem],
    status: &mut [LogStatus],
    out: &mut LogCheck<'_>,
) -> Result<(), SpillError> {
    let (window, listed_window) = (inp.window, inp.listed_window);
    let mut reported_missing = false;
    for (d, _, l) in listed.iter().filter(|(d, _, _)| d.verified) {
        let Some(c) = d.signed else { continue };
        let canonical = l.canonical();
        let key_time = match s3key::classify(canonical) {
            KeyShape::Log(k) => Some(k),
            _ => None,
        };
        let t = key_time.as_ref().map(|k| k.time).unwrap_or(c.start);
        if let Some(k) = &key_time {
            // Per coverage cell: whole hours, also the window's first and last when it
            // starts or ends inside one (as the cell's events are counted).
            if time::hour_overlaps(t, window) {
                add_listed(
                    &mut out.listed_per_hour,
                    &k.base.account,
                    &k.region,
                    time::hour_floor(t),
                );
            }
        }
        // Judged when delivered in the window, or when it holds events of the window:
        // the file named for the next hour's first minutes holds the window's last.
        let inside = |x: i64| x >= listed_window.0 && x < listed_window.1;
        let in_window = inside(t) || l.oldest_event.is_some_and(inside);
        // From its oldest event (as the digest lists it) to the minute it was delivered.
        let from = l.oldest_event.map_or(t, |o| o.min(t));
        let scope = |f: Finding| {
            f.scope(
                key_time
                    .as_ref()
                    .map(|k| &*k.base.account)
                    .or(Some(&d.chain.base.account)),
                key_time
                    .as_ref()
                    .map(|k| &*k.region)
                    .or(Some(&d.chain.region)),
                Some(&d.chain.trail),
            )
        };
        if copies.is_empty() {
            if in_window && !reported_missing {
                reported_missing = true;
                out.findings.push(
                    scope(Finding::new(Kind::LogMissing))
                        .path(&*l.object)
                        .period(from, t + time::MINUTE)
                        .message(format!(
                            "log file {} is listed by verified digest {} but is not in the bundle",
                            l.object.rsplit('/').next().unwrap_or(&l.object),
                            d.file_name()
                        ))
                        .evidence(Evidence::values(&*d.display, l.hash_text(), "absent")),
                )?;
            }
            continue;
        }
        for (item, st) in copies.iter().zip(status.iter_mut()) {
            let (src, r) = (&item.src, &item.result);
            st.listed = true;
            let hash_ok = r.sha256.is_some() && r.sha256 == l.hash;
            if hash_ok && r.error.is_none() {
                st.valid = true;
                continue;
            }
            if !in_window {
                continue;
            }
            if let Some(actual) = &r.sha256 {
                if !hash_ok {
                    out.findings.push(
                        scope(Finding::new(Kind::LogHashMismatch))
                            .path(&*src.display)
                            .period(from, t + time::MINUTE)
                            .message(format!(
                                "log file {} does not match the SHA-256 that verified digest {} lists for it",
                                src.display.rsplit('/').next().unwrap_or(&*src.display),
                                d.file_name()
                            ))
                            .evidence(Evidence::values(&*d.display, l.hash_text(), actual.hex())),
                    )?;
                }
            }
            if let Some(err) = &r.error {
                out.findings.push(
                    scope(Finding::new(Kind::LogUnreadable))
                        .path(&*src.display)
                        .period(from, t + time::MINUTE)
                        .message(format!(
                            "log file {} listed by verified digest {} cannot be read: {err}",
                            src.display.rsplit('/').next().unwrap_or(&*src.display),
                            d.file_name()
                        ))
                        .evidence(
                            Evidence::file(&*d.display)
                                .detail(format!("listed SHA-256: {}", l.hash_text())),
                        ),
                )?;
            }
        }
    }
    Ok(())
}

/// A log file no verified digest lists: `log_unreadable` if it cannot be read, and
/// `log_unreferenced` (high where verified digests cover its delivery) unless an unverified
/// digest names it.
fn judge_unlisted(
    window: (i64, i64),
    periods: &Periods<'_>,
    item: &LogItem,
    st: LogStatus,
    named_unverified: bool,
    out: &mut LogCheck<'_>,
) -> Result<(), SpillError> {
    let (src, k, r, name) = (&item.src, &item.key, &item.result, item.file_name());
    let delivered_in = k.time >= window.0 && k.time < window.1;
    // Or holding events of the window (named for the next hour, as AWS names the
    // file of an hour's last minutes): by the events' exact times, as a window may
    // start or end inside an hour.
    let holds_window_events = r
        .event_span
        .is_some_and(|(lo, hi)| lo < window.1 && hi >= window.0);
    if st.listed || !(delivered_in || holds_window_events) {
        return Ok(());
    }
    let scope = |f: Finding| {
        f.scope(Some(&k.base.account), Some(&k.region), None)
            .path(&*src.display)
            .period(k.time, k.time + time::MINUTE)
    };
    if let Some(err) = &r.error {
        out.findings.push(
            scope(Finding::new(Kind::LogUnreadable))
                .message(format!("log file {} cannot be read: {err}", name)),
        )?;
    }
    if named_unverified {
        return Ok(());
    }
    // Covered at its key's minute and `DELIVERY_DELAY` later: a file reaches S3 minutes
    // after the minute its key names, so AWS may list it in the next digest; when that
    // one is gone, the file is unproven, not injected.
    let trails = periods.get(&(&k.base, &*k.region));
    let covered = covered(trails, k.time) && covered(trails, k.time + DELIVERY_DELAY);
    // Delivered outside the window (it holds events of it) within the hour after the last
    // verified digest there, so that only the next digest, not yet due when the copy was
    // made, could list it: the newest files of a copy made while logging is on. Evidence
    // just outside the window that proves nothing either way: no finding of the window.
    // (A file delivered later than that was due in a digest that is not there.)
    let last = trails
        .into_iter()
        .flat_map(|ts| ts.values())
        .filter_map(|c| c.span.map(|(_, e)| e))
        .max();
    let pending = last.is_some_and(|l| l <= k.time && k.time < l + time::HOUR);
    if !covered && !delivered_in && pending {
        return Ok(());
    }
    let (severity, why) = if covered {
        (
            Severity::High,
            "a verified digest covers its delivery time and does not list it: AWS did not deliver this file",
        )
    } else {
        (
            Severity::Low,
            "no verified digest covers its delivery time, so it can be neither proven nor disproven",
        )
    };
    out.findings.push(
        scope(Finding::new(Kind::LogUnreferenced))
            .severity(severity)
            .message(format!(
                "log file {} is listed by no digest that could be read: {why}",
                name
            ))
            .evidence(Evidence::file(&*src.display).detail(format!(
                "SHA-256 of inflated file: {}",
                r.sha256.map_or_else(|| "-".to_owned(), |h| h.hex())
            ))),
    )?;
    Ok(())
}
