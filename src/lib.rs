//! trailproof: prove what an AWS CloudTrail evidence bundle does and does not show, offline.
//!
//! Data flows one way: discover → verify → aggregate → report.
//!
//! - `discover`: walk the inputs read-only, classify every file, hash it into the manifest.
//! - `keys`, `digest`, `chain`: public keys, digest signatures, digest chains;
//!   `digest_units`: those checks, one unit of chains (an account and region) at a time.
//! - `logfile`, `verify`: read each log file once; join the log files with the verified
//!   digests' listings, key by key.
//! - `config`: the exported trail configuration, and configuration versus evidence.
//! - `coverage`: per account × region × hour cells, gaps and their causes.
//! - `findings`: the finding model, verdict and exit status; `report`: the writers.
//! - `spill`: the sorted streams that hold what grows with the bundle (manifest entries,
//!   log records, digests, sidecars, listings, findings) within `--memory-mib`, spilling the
//!   rest to temporary files, so memory is bounded by coverage cells, not by files or events.
//!
//! `run` is the whole job for `trailproof verify`; `main.rs` only parses arguments and
//! maps the outcome to an exit status.

pub mod archive;
pub mod chain;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod digest;
pub mod digest_units;
pub mod discover;
pub mod error;
pub mod findings;
pub mod gzip;
pub mod hash;
pub mod keys;
pub mod logfile;
pub mod progress;
pub mod report;
pub mod s3key;
pub mod spill;
pub mod time;
pub mod verify;

pub use error::{Error, Result};

use cli::Options;
use config::EvidenceSummary;
use discover::KeyFile;
use findings::{exit_status, Findings, Severity, Verdict};
use report::{Report, Summary};
use std::collections::{BTreeSet, HashMap};

/// The longest window a run judges: twenty years of hourly cells (log file validation
/// exists since 2015; a window of centuries comes from a planted date, not a bucket).
pub const MAX_WINDOW: i64 = 20 * 366 * 24 * time::HOUR;

/// Run `verify` with its own thread pool.
pub fn run(opts: &Options) -> Result<Report> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = opts.threads {
        b = b.num_threads(n);
    }
    let pool = b.build().map_err(|e| Error::Threads(e.to_string()))?;
    pool.install(|| verify_bundle(opts))
}

fn verify_bundle(opts: &Options) -> Result<Report> {
    // Discover: every file read once, in parallel (logs inflated, hashed and parsed).
    let progress = progress::Progress::new(opts.progress);
    let limits = discover::Limits {
        max_inflate: opts.max_inflate,
    };
    let inv = discover::discover(&opts.paths, limits, &opts.budget, &opts.accounts, &progress);
    progress.finish();
    let mut inv = inv?;
    for p in &opts.public_keys {
        inv.key_files.push(read_key_arg(p)?);
    }

    // Verify: keys, digest signatures, chains, log files against verified digests.
    let ring = keys::load(&inv.key_files);
    let window = window(opts, &inv.chain_spans, inv.log_times)?;
    // Coverage has a cell per hour and region: a window of centuries (a planted digest
    // dated 0001 or 9999, or such `--start`/`--end`) would run out of memory, not finish.
    if window.1 - window.0 > MAX_WINDOW {
        return Err(Error::WindowTooLong {
            start: time::fmt(window.0),
            end: time::fmt(window.1),
        });
    }
    let mut findings = std::mem::take(&mut inv.findings);
    let checked = digest_units::check(
        &digest_units::Inputs {
            digests: &inv.digests,
            sidecars: &inv.sidecars,
            groups: &inv.digest_groups,
            links: &inv.digest_links,
            count: inv.digest_count,
            ring: &ring,
            window,
        },
        &mut findings,
    )?;
    let signature_files = inv.sidecars.len();
    inv.digests = Default::default();
    inv.sidecars = Default::default();
    let digests = &checked.digests;
    // Without --start/--end, the window is the digests' span: a verified digest's listing
    // is judged wherever it falls, even past the whole hours the coverage cells use.
    let listed_window = (
        opts.start.map_or(i64::MIN, |_| window.0),
        opts.end.map_or(i64::MAX, |_| window.1),
    );
    // The join of log files and listings feeds coverage one file at a time.
    let mut fold = coverage::LogFold::new(window, &inv.notable);
    let mut dups = spill::Cursor::new(&inv.duplicate_logs)?;
    let listed_per_hour = verify::check(
        &verify::Inputs {
            logs: &inv.logs,
            listings: &inv.listings,
            digests,
            digest_at: &checked.digest_at,
            window,
            listed_window,
        },
        &mut findings,
        |item, st| {
            // Duplicates come in the same order as the log files: read alongside.
            while dups.take_if(|d| d.before(item))?.is_some() {}
            let duplicate = dups.head.as_ref().is_some_and(|d| d.is(item));
            fold.add(item, st, duplicate);
            Ok(())
        },
    )?;
    drop(dups);
    // The streams are done with: their temporary files go now.
    inv.logs = Default::default();
    inv.listings = Default::default();

    // Configuration.
    let cfg = config::analyze(&inv.configs, opts.trail.as_deref());

    // Aggregate.
    let (log_files, log_files_valid, log_files_unreadable, inflated_bytes) = (
        fold.log_files,
        fold.log_files_valid,
        fold.log_files_unreadable,
        fold.inflated_bytes,
    );
    let (newest_log_time, log_regions) = (
        fold.newest_log_time,
        std::mem::take(&mut fold.log_regions_in_window),
    );
    let cov = coverage::compute(
        &coverage::Inputs {
            window,
            digests,
            missing: &checked.missing,
            notable: &inv.notable,
            listed_per_hour: &listed_per_hour,
            config: &cfg,
            key_regions: &ring.regions,
            extra_regions: &opts.regions,
            accounts: &opts.accounts,
        },
        fold,
    );
    let mut evidence = evidence_summary(window, digests, &cov);
    evidence.newest_log_time = newest_log_time;
    evidence.regions_with_evidence.extend(log_regions);
    let mismatches = config::against_evidence(&cfg, &evidence);

    // Every stage's findings into one sorted stream: report order, each once.
    for f in ring
        .findings
        .iter()
        .cloned()
        .chain(cfg.findings.iter().cloned())
        .chain(mismatches)
        .chain(cov.findings.iter().cloned())
    {
        findings.push(f)?;
    }
    let findings = Findings::new(findings)?;

    // Report.
    let in_window = |d: &digest::Checked| d.period.0 < window.1 && d.period.1 > window.0;
    let provable = digests.iter().any(|d| d.verified && in_window(d));
    let verdict = Verdict::from_worst(findings.worst(), provable);
    let status = exit_status(verdict, findings.worst(), opts.fail_on);

    for p in &opts.public_keys {
        if let Ok(sha) = discover::hash_file(p) {
            inv.manifest.push(discover::ManifestEntry {
                path: p.to_string_lossy().replace('\\', "/").into(),
                role: "keys",
                size: std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
                sha256: Some(sha),
            })?;
        }
    }
    let manifest = report::Manifest::new(std::mem::take(&mut inv.manifest).finish())?;

    let mut summary = Summary {
        digests: digests.len() as u64,
        digests_verified: digests.iter().filter(|d| d.verified).count() as u64,
        digests_unreadable: digests.iter().filter(|d| !d.readable()).count() as u64,
        digests_in_window: digests.iter().filter(|d| in_window(d)).count() as u64,
        log_files,
        log_files_valid,
        log_files_unreadable,
        duplicate_log_files: cov.duplicate_log_files,
        inflated_bytes,
        events: cov.events,
        management_events: cov.management_events,
        verified_events: cov.verified_events,
        public_keys: ring.len() as u64,
        signature_files,
        config_files: inv.configs.len() as u64,
        skipped_bucket_objects: inv.skipped,
        ignored_files: inv.ignored,
        regions: cov
            .regions
            .iter()
            .map(|r| &r.region)
            .collect::<BTreeSet<_>>()
            .len() as u64,
        accounts: cov
            .regions
            .iter()
            .map(|r| &r.account)
            .collect::<BTreeSet<_>>()
            .len() as u64,
        hours: cov.regions.iter().map(|r| r.hours_total).sum(),
        hours_covered: cov.regions.iter().map(|r| r.hours_covered).sum(),
        ..Summary::default()
    };
    summary.digests_unverified =
        summary.digests - summary.digests_verified - summary.digests_unreadable;
    for sev in Severity::ALL {
        summary
            .findings_by_severity
            .insert(sev.as_str().to_owned(), findings.count(sev));
    }
    for (kind, n) in findings.kind_counts() {
        summary.findings_by_kind.insert(kind.as_str().to_owned(), n);
    }

    Ok(Report {
        tool_version: env!("CARGO_PKG_VERSION"),
        generated_at: time::generated_at(opts.deterministic),
        verdict,
        exit_status: status,
        fail_on: opts.fail_on,
        window,
        window_source: report::WindowSource::new(opts.start.is_some(), opts.end.is_some()),
        scope: report::Scope {
            accounts: sorted(&opts.accounts),
            required_regions: sorted(&opts.regions),
            trail: opts.trail.clone(),
        },
        roots: inv.roots,
        manifest,
        summary,
        configuration: cfg.section,
        coverage: cov.regions,
        findings,
    })
}

/// Sorted, each once (the report does not depend on the order options were given in).
fn sorted(items: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = items.iter().collect();
    set.into_iter().cloned().collect()
}

/// The window: `--start/--end`, else the readable digests' span (`digests_window`), else
/// the hours the log files span.
fn window(
    opts: &Options,
    chain_spans: &HashMap<(String, String), (i64, i64)>,
    log_times: Option<(i64, i64)>,
) -> Result<(i64, i64)> {
    let (mut s, mut e) = match digests_window(chain_spans.values().copied()) {
        Some(span) => span,
        None => {
            let (lo, hi) = log_times.unwrap_or((0, 0));
            (time::hour_floor(lo), time::hour_floor(hi) + time::HOUR)
        }
    };
    if let Some(t) = opts.start {
        s = t;
    }
    if let Some(t) = opts.end {
        e = t;
    }
    if e <= s {
        // Only where one of `--start`/`--end` lies beyond all the evidence (both given
        // in the wrong order are refused with the arguments): saying so beats judging a
        // window that was not asked for.
        if let Some(given) = opts.end.or(opts.start) {
            let (what, other) = if opts.end.is_some() {
                ("--end", "start")
            } else {
                ("--start", "end")
            };
            return Err(Error::Argument {
                what,
                value: time::fmt(given),
                reason: format!(
                    "the window would end before it starts: the evidence's {other} is {}; give both --start and --end",
                    time::fmt(if opts.end.is_some() { s } else { e })
                ),
            });
        }
        e = s + time::HOUR;
    }
    Ok((s, e))
}

/// The default window from each chain's span (earliest start, latest end of its digests):
/// the whole hours from the first digest's start to the last one's end, and of the partial
/// hour at either end the part that every chain reaching into it covers. Each region's
/// hourly digests end at their own minute, so the raw span would leave every region but
/// one a few minutes short; whole hours alone would drop the last minutes, where a final
/// digest (logging stopped) and its StopLogging lie.
fn digests_window(spans: impl Iterator<Item = (i64, i64)> + Clone) -> Option<(i64, i64)> {
    let lo = spans.clone().map(|s| s.0).min()?;
    let hi = spans.clone().map(|s| s.1).max()?;
    let (alo, ahi) = (time::hour_ceil(lo), time::hour_floor(hi));
    if alo >= ahi {
        return Some((lo, hi));
    }
    let start = spans
        .clone()
        .map(|s| s.0)
        .filter(|&t| t < alo)
        .max()
        .unwrap_or(alo);
    let end = spans.map(|s| s.1).filter(|&t| t > ahi).min().unwrap_or(ahi);
    Some((start, end))
}

/// What the digests show, for the configuration-versus-evidence checks (`lib.rs` adds what
/// the log files show).
fn evidence_summary(
    window: (i64, i64),
    digests: &[digest::Checked],
    cov: &coverage::Coverage,
) -> EvidenceSummary {
    let mut ev = EvidenceSummary {
        window_start: window.0,
        window_end: window.1,
        verified_events: cov.verified_events,
        verified_management_events: cov.verified_management_events,
        ..EvidenceSummary::default()
    };
    for d in digests {
        let (s, e) = d.period;
        if s < window.1 && e > window.0 {
            ev.regions_with_evidence.insert(d.chain.region.clone());
            ev.digests += 1;
            if d.verified {
                ev.verified_digests += 1;
            }
        }
        let trail = (d.chain.trail.clone(), d.chain.home_region.clone());
        ev.trails_seen.insert(trail.clone());
        let seen = ev.trail_digests.entry(trail).or_default();
        seen.accounts.insert(d.chain.base.account.to_string());
        if let Some(org) = &d.chain.base.org {
            seen.orgs.insert(org.to_string());
        }
        if s < window.1 && e > window.0 {
            seen.regions.insert(d.chain.region.clone());
        }
        if let (Some(signed), Some(l)) = (d.signed, &d.location) {
            ev.newest_digest_end = Some(
                ev.newest_digest_end
                    .map_or(signed.end, |n| n.max(signed.end)),
            );
            ev.locations.insert((l.bucket.clone(), l.prefix.clone()));
            seen.locations.insert((l.bucket.clone(), l.prefix.clone()));
        }
    }
    ev
}

fn read_key_arg(p: &std::path::Path) -> Result<KeyFile> {
    let bytes =
        discover::read_limited(p, discover::MAX_JSON_FILE).map_err(|reason| Error::PublicKey {
            path: p.to_path_buf(),
            reason,
        })?;
    let path = p.to_string_lossy().replace('\\', "/");
    let region_hint = s3key::region_in_name(&path);
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        if json.get("PublicKeyList").is_none() {
            return Err(Error::PublicKey {
                path: p.to_path_buf(),
                reason: "JSON without `PublicKeyList`".into(),
            });
        }
        return Ok(KeyFile {
            path,
            bytes: Vec::new(),
            json: Some(json),
            region_hint,
        });
    }
    keys::parse_pem(&bytes).map_err(|reason| Error::PublicKey {
        path: p.to_path_buf(),
        reason,
    })?;
    Ok(KeyFile {
        path,
        bytes,
        json: None,
        region_hint,
    })
}

/// Bytes for standard output in the chosen format, in memory (tests and small reports;
/// `report::write` streams them).
pub fn render(report: &Report, format: cli::Format) -> String {
    let mut out = Vec::new();
    match report::write(report, format, &mut out) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("error: {e}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::digests_window;

    const H: i64 = 3600;

    #[test]
    fn default_window_keeps_what_every_chain_covers_of_the_partial_hours() {
        // Two regions' chains, each ending at its own minute past the hour.
        let spans = [(10 * 60, 3 * H + 46 * 60), (20 * 60, 3 * H + 54 * 60)];
        assert_eq!(
            digests_window(spans.iter().copied()),
            Some((20 * 60, 3 * H + 46 * 60))
        );
        // A chain that ended hours before the others does not cut the window short.
        let spans = [(0, H), (0, 3 * H + 46 * 60), (0, 3 * H + 54 * 60)];
        assert_eq!(
            digests_window(spans.iter().copied()),
            Some((0, 3 * H + 46 * 60))
        );
        // Less than an hour in all: the raw span.
        assert_eq!(
            digests_window([(10 * 60, 50 * 60)].into_iter()),
            Some((10 * 60, 50 * 60))
        );
        assert_eq!(digests_window(std::iter::empty()), None);
    }
}
