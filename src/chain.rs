//! Digest chains: linking each hourly digest to the one before it.
//!
//! A chain is every digest of one (organization layout, account, region, trail), newest
//! first, joined by `previousDigestS3Object`. Input: the digests of one unit of chains
//! (`digest_units.rs`), already read by `digest.rs`. This module
//! first tells `digest.rs` which signature the *next* digest carries for each digest (the
//! fallback when a sidecar is missing), then checks every link.
//!
//! Raises `digest_missing` (a named previous digest is not in the bundle, unless it ended
//! before the window: a partial copy is normal) and `digest_chain_broken`
//! (`previousDigestHashValue` or `previousDigestSignature` differs from the digest it names,
//! a digest names itself, or a verified digest names one of another account, region or
//! trail, or one that an earlier verified digest names already: a chain does not fork).
//! Null previous fields start a new chain, which is not a finding here: `coverage.rs`
//! explains the gap. No file I/O.

use crate::digest::DigestFile;
use crate::findings::{Evidence, Finding, Kind};
use crate::s3key::{self, KeyShape};
use crate::time;
use std::collections::HashMap;

/// A digest that the chain names as previous and the bundle lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingDigest {
    pub canonical: String,
    pub account: String,
    pub region: String,
    pub trail: String,
    /// The hours the chain has no digest for: from the digest before it (if any) to the
    /// start of the digest that names it.
    pub start: i64,
    pub end: i64,
    pub named_by: String,
}

pub struct Index {
    by_canonical: HashMap<String, usize>,
}

impl Index {
    pub fn new(digests: &[DigestFile]) -> Index {
        let mut by_canonical = HashMap::with_capacity(digests.len());
        for (i, d) in digests.iter().enumerate() {
            // First copy wins (input is sorted): a second copy of the same key is checked
            // on its own but not linked.
            by_canonical.entry(d.key.canonical.clone()).or_insert(i);
        }
        Index { by_canonical }
    }

    pub fn get(&self, canonical: &str) -> Option<usize> {
        self.by_canonical.get(canonical).copied()
    }

    /// For each digest, the `previousDigestSignature` of a readable digest naming it.
    pub fn next_signatures(&self, digests: &[DigestFile]) -> Vec<Option<usize>> {
        let mut out = vec![None; digests.len()];
        for (i, d) in digests.iter().enumerate() {
            let Ok(c) = &d.content else { continue };
            let (Some(prev), Some(_)) = (c.prev_canonical(), &c.prev_signature) else {
                continue;
            };
            if let Some(p) = self.get(prev).filter(|&p| p != i) {
                if let Some(slot) = out.get_mut(p) {
                    // Deterministic when several name the same digest: the earliest key.
                    if slot.is_none() {
                        *slot = Some(i);
                    }
                }
            }
        }
        out
    }
}

pub struct ChainResult {
    pub findings: Vec<Finding>,
    pub missing: Vec<MissingDigest>,
}

/// Check every link. `window` decides whether a missing previous digest matters.
pub fn check(digests: &[DigestFile], index: &Index, window: (i64, i64)) -> ChainResult {
    let mut findings = Vec::new();
    let mut missing = Vec::new();
    // Per chain (organization, account, region, trail), the digests' ends, to find the one
    // before a missing digest.
    type Chain<'a> = (Option<&'a str>, &'a str, &'a str, &'a str);
    let mut ends: HashMap<Chain<'_>, Vec<i64>> = HashMap::new();
    for d in digests {
        ends.entry((
            d.key.base.org.as_deref(),
            &d.key.base.account,
            &d.key.region,
            &d.key.trail,
        ))
        .or_default()
        .push(d.period().1);
    }
    for v in ends.values_mut() {
        v.sort_unstable();
    }
    let overlaps = |(s, e): (i64, i64)| s < window.1 && e > window.0;
    // For each digest named as previous, the key of the earliest verified digest naming it:
    // its successor. A chain does not fork, so a later one naming it too skips a link.
    // (Copies of one key are one digest.) Only what the signatures cannot tell counts here:
    // a link that AWS signed (a digest that does not verify is its own finding already),
    // and no backfill digest, which stands beside the hourly chain.
    let linked =
        |d: &DigestFile| d.status.is_verified() && d.found_where_signed() && !d.key.backfill;
    let mut successor: HashMap<usize, (i64, &str)> = HashMap::new();
    for (i, d) in digests.iter().enumerate() {
        let Ok(c) = &d.content else { continue };
        if !linked(d) {
            continue;
        }
        if let Some(p) = c.prev_canonical().and_then(|prev| index.get(prev)) {
            if p != i && digests.get(p).is_some_and(|pd| same_chain(d, pd)) {
                let me = (d.period().0, d.key.canonical.as_str());
                let slot = successor.entry(p).or_insert(me);
                *slot = (*slot).min(me);
            }
        }
    }
    for (i, d) in digests.iter().enumerate() {
        let Ok(c) = &d.content else { continue };
        // A break is judged when either end of the link touches the window; otherwise
        // it is recorded only (`Finding::outside_window`).
        let judged = |f: Finding, prev: Option<&DigestFile>| {
            if overlaps(d.period()) || prev.is_some_and(|p| overlaps(p.period())) {
                f
            } else {
                f.outside_window()
            }
        };
        let Some(prev) = c.prev_canonical() else {
            if c.prev_object.is_some() {
                findings.push(judged(
                    broken(
                        d,
                        "its previousDigestS3Object is not a CloudTrail digest key".into(),
                        None,
                        None,
                    ),
                    None,
                ));
            }
            continue;
        };
        match index.get(prev) {
            Some(p) if p == i => findings.push(judged(
                broken(
                    d,
                    "it names itself as its previous digest".into(),
                    Some(prev.to_owned()),
                    None,
                ),
                None,
            )),
            Some(p) => {
                let Some(pd) = digests.get(p) else { continue };
                // Another chain's digest is no previous digest, whatever its hash.
                if linked(d) && !same_chain(d, pd) {
                    findings.push(judged(
                        broken(
                            d,
                            format!(
                                "it names {}, a digest of another chain (account, region or trail), as its previous digest",
                                pd.key.file_name()
                            ),
                            Some(prev.to_owned()),
                            None,
                        ),
                        Some(pd),
                    ));
                    continue;
                }
                if let Some(&(_, first)) = successor
                    .get(&p)
                    .filter(|s| linked(d) && s.1 != d.key.canonical)
                {
                    findings.push(judged(
                        broken(
                            d,
                            format!(
                                "it names {} as its previous digest, which {} names already: the chain skips a digest",
                                pd.key.file_name(),
                                s3key::last_segment(first)
                            ),
                            Some(prev.to_owned()),
                            None,
                        ),
                        Some(pd),
                    ));
                    continue;
                }
                if pd.content.is_err() {
                    // Unreadable previous digest: already `digest_unreadable`; nothing to compare.
                    continue;
                }
                match (&c.prev_hash, pd.sha256.map(|s| s.hex())) {
                    (Some(h), Some(actual)) if *h != actual => findings.push(judged(
                        broken(
                            d,
                            format!(
                                "its previousDigestHashValue does not match {}",
                                pd.key.file_name()
                            ),
                            Some(h.clone()),
                            Some(actual),
                        ),
                        Some(pd),
                    )),
                    (None, _) => findings.push(judged(
                        broken(
                            d,
                            "it names a previous digest without previousDigestHashValue".into(),
                            None,
                            None,
                        ),
                        Some(pd),
                    )),
                    _ => {}
                }
                // Compared only with a signature that verified: a sidecar that does not is
                // already the previous digest's own finding, and the previous digest's
                // hash, checked above, is what links the chain. Blaming this (authentic)
                // digest for another file's bad sidecar would be a false finding.
                let own = pd.own_signature().filter(|_| pd.status.is_verified());
                if let (Some(named), Some(own)) = (&c.prev_signature, own) {
                    let (named, own) = (named.text(), own.text());
                    if !named.trim().eq_ignore_ascii_case(own.trim()) {
                        findings.push(judged(
                            broken(
                                d,
                                format!(
                                    "its previousDigestSignature differs from the signature of {}",
                                    pd.key.file_name()
                                ),
                                Some(named.into_owned()),
                                Some(own.into_owned()),
                            ),
                            Some(pd),
                        ));
                    }
                }
            }
            None => {
                let prev_end = match s3key::classify(prev) {
                    KeyShape::Digest(k) => k.end,
                    _ => c.start,
                };
                let before = ends
                    .get(&(
                        d.key.base.org.as_deref(),
                        &*d.key.base.account,
                        d.key.region.as_str(),
                        d.key.trail.as_str(),
                    ))
                    .and_then(|v| v.iter().rev().find(|&&e| e < c.start).copied());
                let start = before.unwrap_or(prev_end - time::HOUR).min(c.start);
                // Judged when the hole overlaps the window: one that ended before it is a
                // partial copy, one that starts after it is not the window's business.
                if prev_end <= window.0 || start >= window.1 {
                    continue;
                }
                let m = MissingDigest {
                    canonical: prev.to_owned(),
                    account: d.key.base.account.to_string(),
                    region: d.key.region.clone(),
                    trail: d.key.trail.clone(),
                    start,
                    end: c.start,
                    named_by: d.src.display.to_string(),
                };
                findings.push(
                    Finding::new(Kind::DigestMissing)
                        .scope(Some(&m.account), Some(&m.region), Some(&m.trail))
                        .path(c.prev_object.clone().unwrap_or_else(|| prev.to_owned()))
                        .period(m.start, m.end)
                        .message(format!(
                            "digest {} is named as previous by {} but is not in the bundle: the chain has no digest from {} to {}",
                            prev.rsplit('/').next().unwrap_or(prev),
                            d.key.file_name(),
                            time::fmt(m.start),
                            time::fmt(m.end)
                        ))
                        .evidence(
                            Evidence::file(&*d.src.display)
                                .detail(format!("previousDigestS3Object: {}", c.prev_object.as_deref().unwrap_or(prev)))
                                .detail(format!(
                                    "previousDigestHashValue: {}",
                                    c.prev_hash.as_deref().unwrap_or("null")
                                )),
                        ),
                );
                missing.push(m);
            }
        }
    }
    ChainResult { findings, missing }
}

/// The same account, region and trail (an organization layout may differ: a trail can
/// become an organization trail).
fn same_chain(a: &DigestFile, b: &DigestFile) -> bool {
    let (a, b) = (&a.key, &b.key);
    (&a.base.account, &a.region, &a.trail, &a.home_region)
        == (&b.base.account, &b.region, &b.trail, &b.home_region)
}

fn broken(
    d: &DigestFile,
    why: String,
    expected: Option<String>,
    actual: Option<String>,
) -> Finding {
    let mut e = Evidence::file(&*d.src.display);
    e.expected = expected;
    e.actual = actual;
    d.finding(Kind::DigestChainBroken)
        .message(format!(
            "the digest chain is broken at {}: {why}",
            d.key.file_name()
        ))
        .evidence(e)
}
