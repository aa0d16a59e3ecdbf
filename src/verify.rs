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

use crate::digest::DigestFile;
use crate::discover::LogItem;
use crate::findings::{Evidence, Finding, Kind, Severity};
use crate::s3key::{self, KeyShape};
use crate::time;
use std::collections::{BTreeMap, HashMap, HashSet};

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

pub struct LogCheck {
    pub status: Vec<LogStatus>,
    pub findings: Vec<Finding>,
    /// Listed by verified digests, per (account, region, hour of the log key): count.
    pub listed_per_hour: BTreeMap<(String, String, i64), u64>,
}

/// The entries of a sorted index that have this canonical key (several when two inputs
/// hold the same file).
fn copies_of<'i>(index: &'i [(&'i str, u32)], canonical: &str) -> &'i [(&'i str, u32)] {
    let from = index.partition_point(|&(c, _)| c < canonical);
    let rest = index.get(from..).unwrap_or_default();
    let n = rest.iter().take_while(|&&(c, _)| c == canonical).count();
    rest.get(..n).unwrap_or_default()
}

/// `listed_window`: where a verified digest's listing is judged (`log_missing`,
/// `log_hash_mismatch`, `log_unreadable`). It is the window when `--start`/`--end` gave it;
/// without them the window is the digests' span (SPEC), so every verified digest's
/// listing is inside it, also those past the whole hours the coverage cells use.
pub fn check(
    logs: &[LogItem],
    digests: &[DigestFile],
    window: (i64, i64),
    listed_window: (i64, i64),
) -> LogCheck {
    // Log files by canonical key, sorted: a lookup is a binary search, and the index costs
    // 24 bytes a file (a map of vectors cost about 80).
    let mut by_canonical: Vec<(&str, u32)> = logs
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((l.canonical(), u32::try_from(i).ok()?)))
        .collect();
    by_canonical.sort_unstable();
    let mut status = vec![LogStatus::default(); logs.len()];
    let mut findings = Vec::new();
    let mut listed_per_hour: BTreeMap<(String, String, i64), u64> = BTreeMap::new();
    // Verified periods per (account, region), for telling injected files from gaps.
    let mut verified_periods: HashMap<(&str, &str), Vec<(i64, i64)>> = HashMap::new();
    let mut reported_missing: HashMap<&str, ()> = HashMap::new();

    for d in digests.iter().filter(|d| d.status.is_verified()) {
        let Ok(c) = &d.content else { continue };
        verified_periods
            .entry((&*d.key.base.account, d.key.region.as_str()))
            .or_default()
            .push((c.start, c.end));
        for l in &c.log_files {
            let canonical = l.canonical();
            let key_time = match s3key::classify(canonical) {
                KeyShape::Log(k) => Some(k),
                _ => None,
            };
            let t = key_time.as_ref().map(|k| k.time).unwrap_or(c.start);
            if let Some(k) = &key_time {
                if t >= window.0 && t < window.1 {
                    *listed_per_hour
                        .entry((
                            k.base.account.to_string(),
                            k.region.to_string(),
                            time::hour_floor(t),
                        ))
                        .or_default() += 1;
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
                        .or(Some(&d.key.base.account)),
                    key_time
                        .as_ref()
                        .map(|k| &*k.region)
                        .or(Some(&d.key.region)),
                    Some(&d.key.trail),
                )
            };
            let copies = copies_of(&by_canonical, canonical);
            if copies.is_empty() {
                if in_window && reported_missing.insert(canonical, ()).is_none() {
                    findings.push(
                        scope(Finding::new(Kind::LogMissing))
                            .path(&*l.object)
                            .period(from, t + time::MINUTE)
                            .message(format!(
                                "log file {} is listed by verified digest {} but is not in the bundle",
                                l.object.rsplit('/').next().unwrap_or(&l.object),
                                d.key.file_name()
                            ))
                            .evidence(Evidence::values(&*d.src.display, l.hash_text(), "absent")),
                    );
                }
                continue;
            }
            for &(_, i) in copies {
                let i = i as usize;
                let (Some(item), Some(st)) = (logs.get(i), status.get_mut(i)) else {
                    continue;
                };
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
                        findings.push(
                            scope(Finding::new(Kind::LogHashMismatch))
                                .path(&*src.display)
                                .period(from, t + time::MINUTE)
                                .message(format!(
                                    "log file {} does not match the SHA-256 that verified digest {} lists for it",
                                    src.display.rsplit('/').next().unwrap_or(&*src.display),
                                    d.key.file_name()
                                ))
                                .evidence(Evidence::values(&*d.src.display, l.hash_text(), actual.hex())),
                        );
                    }
                }
                if let Some(err) = &r.error {
                    findings.push(
                        scope(Finding::new(Kind::LogUnreadable))
                            .path(&*src.display)
                            .period(from, t + time::MINUTE)
                            .message(format!(
                                "log file {} listed by verified digest {} cannot be read: {err}",
                                src.display.rsplit('/').next().unwrap_or(&*src.display),
                                d.key.file_name()
                            ))
                            .evidence(
                                Evidence::file(&*d.src.display)
                                    .detail(format!("listed SHA-256: {}", l.hash_text())),
                            ),
                    );
                }
            }
        }
    }

    // Proven stops: from a verified short final digest (AWS delivers one when logging
    // stops) to its chain's restart. AWS delivers nothing in between, so a file keyed there
    // was planted, as surely as one a verified digest covers and does not list.
    for d in digests.iter().filter(|d| d.is_verified_final()) {
        let Ok(c) = &d.content else { continue };
        let restart = digests
            .iter()
            .filter(|r| {
                r.key.base.account == d.key.base.account
                    && r.key.region == d.key.region
                    && r.key.trail == d.key.trail
                    && !r.key.backfill
            })
            .filter_map(|r| r.content.as_ref().ok())
            .filter(|r| r.starts_chain() && r.start >= c.end)
            .map(|r| r.start)
            .min();
        if let Some(restart) = restart {
            verified_periods
                .entry((&*d.key.base.account, d.key.region.as_str()))
                .or_default()
                .push((c.end, restart));
        }
    }

    // Named by a digest that was read but not verified (no signature, unknown key, forged):
    // such a file is not "listed by no digest" (SPEC `log_unreferenced`); its hour is an
    // `unverified` coverage gap, and the digest has its own finding.
    let named_unverified: HashSet<&str> = digests
        .iter()
        .filter(|d| !d.status.is_verified())
        .filter_map(|d| d.content.as_ref().ok())
        .flat_map(|c| c.log_files.iter().map(|l| l.canonical()))
        .collect();

    for (i, item) in logs.iter().enumerate() {
        let Some(st) = status.get(i) else { continue };
        let (src, k, r, name) = (&item.src, &item.key, &item.result, item.file_name());
        let delivered_in = k.time >= window.0 && k.time < window.1;
        // Or holding events of the window (named for the next hour, as AWS names the
        // file of an hour's last minutes).
        let holds_window_events = r
            .hours
            .iter()
            .any(|&(h, _)| h < window.1 && h + time::HOUR > window.0);
        if st.listed || !(delivered_in || holds_window_events) {
            continue;
        }
        let scope = |f: Finding| {
            f.scope(Some(&k.base.account), Some(&k.region), None)
                .path(&*src.display)
                .period(k.time, k.time + time::MINUTE)
        };
        if let Some(err) = &r.error {
            findings.push(
                scope(Finding::new(Kind::LogUnreadable))
                    .message(format!("log file {} cannot be read: {err}", name)),
            );
        }
        if named_unverified.contains(item.canonical()) {
            continue;
        }
        // Covered at its key's minute and `DELIVERY_DELAY` later: a file reaches S3 minutes
        // after the minute its key names, so AWS may list it in the next digest; when that
        // one is gone, the file is unproven, not injected.
        let periods = verified_periods.get(&(&*k.base.account, &*k.region));
        let covered_at =
            |t: i64| periods.is_some_and(|ps| ps.iter().any(|&(s, e)| s <= t && t < e));
        let covered = covered_at(k.time) && covered_at(k.time + DELIVERY_DELAY);
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
        findings.push(
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
        );
    }
    LogCheck {
        status,
        findings,
        listed_per_hour,
    }
}
