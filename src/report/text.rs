//! Terminal summary: readable in 30 seconds, right without colour.
//!
//! Verdict first, then what was examined, the worst findings, one hour strip per region
//! (the shape of the evidence at a glance) and what to do next.

use super::Report;
use crate::coverage::DigestState;
use crate::findings::{Kind, Severity, Verdict};
use crate::time;
use std::fmt::Write as _;

/// How many findings the summary lists before pointing at the JSON report.
const WORST_SHOWN: usize = 12;
/// Longest hour strip drawn; longer windows are folded (worst state per character).
const STRIP_WIDTH: usize = 96;

/// The summary; an error only when the findings cannot be read back from their
/// temporary files.
pub fn render(r: &Report) -> Result<String, crate::spill::SpillError> {
    let mut o = String::new();
    let s = &r.summary;
    let _ = writeln!(
        o,
        "trailproof {}: {} (exit {})",
        r.tool_version,
        r.verdict.as_str(),
        r.exit_status
    );
    let _ = writeln!(
        o,
        "window   {} .. {} ({})",
        time::fmt(r.window.0),
        time::fmt(r.window.1),
        r.window_source.describe()
    );
    let _ = writeln!(
        o,
        "digests  {} found, {} verified, {} unverified, {} unreadable",
        s.digests, s.digests_verified, s.digests_unverified, s.digests_unreadable
    );
    let _ = writeln!(
        o,
        "logs     {} files, {} valid, {} unreadable; {} events, {} management",
        s.log_files, s.log_files_valid, s.log_files_unreadable, s.events, s.management_events
    );
    let _ = writeln!(
        o,
        "scope    {} account(s), {} region(s); {} of {} region-hours covered by verified digests",
        s.accounts, s.regions, s.hours_covered, s.hours
    );
    let _ = writeln!(
        o,
        "inputs   {} files hashed ({} keys, {} signatures, {} configuration, {} other bucket objects skipped, {} ignored)",
        r.manifest.len(),
        s.public_keys,
        s.signature_files,
        s.config_files,
        s.skipped_bucket_objects,
        s.ignored_files
    );
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|sev| {
            format!(
                "{} {}",
                s.findings_by_severity
                    .get(sev.as_str())
                    .copied()
                    .unwrap_or(0),
                sev.as_str()
            )
        })
        .collect();
    let _ = writeln!(o, "findings {}", counts.join(", "));

    // Only the ones shown are read into memory.
    let worst = r.findings.worst_first(WORST_SHOWN)?;
    let above_info = r.findings.above_info();
    if !worst.is_empty() {
        let _ = writeln!(o, "\nworst findings:");
        for f in &worst {
            let where_ = [f.account.as_deref(), f.region.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(
                o,
                "  {:<8} {:<32} {}",
                f.severity.as_str().to_uppercase(),
                f.kind.as_str(),
                shown(&where_)
            );
            let _ = writeln!(o, "           {}", shown(&f.message));
            if let Some(p) = &f.path {
                let _ = writeln!(o, "           {}", shown(p));
            }
        }
        if above_info > worst.len() as u64 {
            let _ = writeln!(
                o,
                "  … and {} more: see the JSON report (--json FILE)",
                above_info - worst.len() as u64
            );
        }
    }

    if !r.coverage.is_empty() {
        let hours = r.coverage.first().map_or(0, |c| c.hours.len());
        let per = hours.div_ceil(STRIP_WIDTH).max(1);
        let _ = writeln!(
            o,
            "\ncoverage, one character per {} (# verified, . verified quiet, M digest missing, ? unverified, s logging stopped, - no digest):",
            if per == 1 {
                "hour".to_string()
            } else {
                format!("{per} hours")
            },
        );
        for rc in &r.coverage {
            let strip: String = rc
                .hours
                .chunks(per)
                .map(|chunk| {
                    let worst = chunk
                        .iter()
                        .map(|c| c.digest_state)
                        .max_by_key(|s| rank(*s));
                    match worst {
                        Some(DigestState::Verified) => '#',
                        Some(DigestState::VerifiedEmpty) => '.',
                        Some(DigestState::Missing) => 'M',
                        Some(DigestState::Unverified) => '?',
                        Some(DigestState::Stopped) => 's',
                        Some(DigestState::Absent) | None => '-',
                    }
                })
                .collect();
            let _ = writeln!(o, "  {} {:<15} {}", rc.account, rc.region, strip);
        }
    }

    let _ = writeln!(o, "\nnext: {}", next_step(r));
    // Whatever else came from the evidence (account and region names): no byte of it may
    // drive the terminal.
    Ok(o.lines().map(|l| shown(l) + "\n").collect())
}

/// Text from the evidence, safe to print: control characters (an escape sequence in a
/// file name could clear the screen and print its own verdict; a newline could forge a
/// line) and bidirectional overrides (which reorder what is shown) are written as
/// `\u{..}` escapes.
fn shown(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(unsafe_char) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

fn rank(s: DigestState) -> u8 {
    match s {
        DigestState::Verified => 0,
        DigestState::VerifiedEmpty => 1,
        DigestState::Stopped => 2,
        DigestState::Absent => 3,
        DigestState::Unverified => 4,
        DigestState::Missing => 5,
    }
}

fn next_step(r: &Report) -> String {
    let has = |k: Kind| r.findings.above_info_of(k) > 0;
    if r.summary.digests == 0 {
        return "no digest files were found: include the bucket's CloudTrail-Digest/ folders (README: exporting a bundle)".into();
    }
    if r.summary.public_keys == 0 {
        return "no public keys were found: add `aws cloudtrail list-public-keys` output for the window to the bundle, or pass --public-key".into();
    }
    if has(Kind::DigestSignatureMissing) {
        return "export the digests' signatures with `aws s3api head-object` (README: exporting a bundle) and run again".into();
    }
    match r.verdict {
        Verdict::Verified => "nothing to do: keep the JSON report (--json FILE) with the evidence; its inputs list is the chain-of-custody manifest".into(),
        Verdict::Inconclusive => "nothing in the window could be verified: check the keys, the digests and the window".into(),
        Verdict::Findings => "read each finding's evidence in the JSON report (--json FILE); critical and high findings mean evidence was altered, removed or cannot be proven".into(),
    }
}
