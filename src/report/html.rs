//! HTML report (`--html FILE`): one self-contained, printable file — verdict, a
//! region × hour heat map of coverage, and every finding above `info` with its proof.
//! No script, no external resource: it opens the same on an air-gapped machine.

use super::Report;
use crate::coverage::DigestState;
use crate::findings::Finding;
use crate::time;
use std::fmt::Write as _;

/// Escape text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}\
.v{display:inline-block;padding:.2em .6em;border-radius:4px;color:#fff;font-weight:600}\
.VERIFIED{background:#1b7f3b}.FINDINGS{background:#b3261e}.INCONCLUSIVE{background:#8a6d00}\
table{border-collapse:collapse}td,th{padding:2px 6px;text-align:left;vertical-align:top}\
.map td.c{width:7px;height:14px;padding:0;border:1px solid #fff}\
.verified{background:#2e9d4f}.verified_empty{background:#a8dcb5}.missing{background:#b3261e}\
.unverified{background:#e0a100}.stopped{background:#7a8fb8}.absent{background:#bbb}\
.f{border-top:1px solid #ddd}.critical,.high{color:#b3261e;font-weight:600}.medium{color:#8a6d00}\
code{font-size:12px;word-break:break-all}@media print{body{margin:0}}";

/// The report as HTML, in memory (tests and small reports).
pub fn render(r: &Report) -> String {
    let mut out = Vec::new();
    match write(r, &mut out) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("<p>error: {}</p>\n", esc(&e.to_string())),
    }
}

/// The report as HTML, written as it is produced: the manifest, which grows with the
/// bundle, row by row.
pub fn write(r: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>trailproof report</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        o,
        "<h1>trailproof {} <span class=\"v {v}\">{v}</span></h1><p>Window {} to {} ({}). Exit status {} at <code>--fail-on {}</code>. Generated {}.</p>",
        esc(r.tool_version),
        time::fmt(r.window.0),
        time::fmt(r.window.1),
        r.window_source.describe(),
        r.exit_status,
        r.fail_on.as_str(),
        time::fmt(r.generated_at),
        v = r.verdict.as_str(),
    );
    let s = &r.summary;
    let _ = write!(
        o,
        "<p>{} digests ({} verified, {} unverified, {} unreadable); {} log files ({} valid); {} events, {} management; {} of {} region-hours covered; {} input files hashed.</p>",
        s.digests, s.digests_verified, s.digests_unverified, s.digests_unreadable, s.log_files,
        s.log_files_valid, s.events, s.management_events, s.hours_covered, s.hours, r.manifest.len()
    );

    o.push_str("<h2>Coverage</h2><table class=\"map\">");
    for rc in &r.coverage {
        let _ = write!(o, "<tr><th>{} {}</th>", esc(&rc.account), esc(&rc.region));
        for c in &rc.hours {
            let _ = write!(
                o,
                "<td class=\"c {}\" title=\"{} {}: {} events, {} management, {}/{} log files valid\"></td>",
                c.digest_state.as_str(),
                time::fmt(c.hour),
                c.digest_state.as_str(),
                c.events,
                c.management_events,
                c.logs_valid,
                c.logs_present
            );
        }
        o.push_str("</tr>");
    }
    let hours = r.coverage.first().map_or(0, |c| c.hours.len());
    let _ = write!(
        o,
        "</table><p>One cell per hour: {} hours from {} (window {} to {}).<br>",
        hours,
        time::fmt(time::hour_floor(r.window.0)),
        time::fmt(r.window.0),
        time::fmt(r.window.1)
    );
    for st in [
        DigestState::Verified,
        DigestState::VerifiedEmpty,
        DigestState::Missing,
        DigestState::Unverified,
        DigestState::Stopped,
        DigestState::Absent,
    ] {
        let _ = write!(
            o,
            "<span class=\"{0}\" style=\"display:inline-block;width:10px;height:10px\"></span> {0} &nbsp; ",
            st.as_str()
        );
    }
    o.push_str("</p>");

    let _ = write!(
        o,
        "<h2>Findings ({} above info)</h2><table>",
        r.findings.above_info()
    );
    // Worst first, row by row: a bundle may have a finding for each of a million files.
    w.write_all(o.as_bytes())?;
    let mut failed = None;
    r.findings
        .each_worst_first(|f| {
            o.clear();
            finding_row(&mut o, &f);
            match w.write_all(o.as_bytes()) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })
        .map_err(std::io::Error::other)?;
    if let Some(e) = failed {
        return Err(e);
    }
    o.clear();
    o.push_str("</table>");

    o.push_str("<h2>Inputs (chain of custody)</h2><table>");
    w.write_all(o.as_bytes())?;
    for m in r.manifest.iter().map_err(std::io::Error::other)? {
        let m = m.map_err(std::io::Error::other)?;
        write!(
            w,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&m.path),
            m.role,
            m.size,
            m.sha256
                .map_or_else(|| "unreadable".to_owned(), |h| h.hex())
        )?;
    }
    w.write_all(b"</table></body></html>\n")
}

/// One finding above `info` as a table row, with its proof.
fn finding_row(o: &mut String, f: &Finding) {
    let _ = write!(
        o,
        "<tr class=\"f\"><td class=\"{sev}\">{sev}</td><td><b>{}</b> {} {}<br>{}",
        esc(f.kind.as_str()),
        esc(f.account.as_deref().unwrap_or("")),
        esc(f.region.as_deref().unwrap_or("")),
        esc(&f.message),
        sev = f.severity.as_str(),
    );
    if let Some(c) = f.cause {
        let _ = write!(o, "<br>cause: {}", c.as_str());
    }
    if let Some(e) = &f.event {
        let _ = write!(
            o,
            "<br>{} at {} by <code>{}</code> from {}{}",
            esc(&e.event_name),
            esc(&e.event_time),
            esc(e.principal.as_deref().unwrap_or("-")),
            esc(e.source_ip.as_deref().unwrap_or("-")),
            e.error_code
                .as_deref()
                .map(|c| format!(", denied: {}", esc(c)))
                .unwrap_or_default()
        );
    }
    if let (Some(a), Some(b)) = (f.start, f.end) {
        let _ = write!(o, "<br>{} to {}", time::fmt(a), time::fmt(b));
    }
    if let Some(p) = &f.path {
        let _ = write!(o, "<br><code>{}</code>", esc(p));
    }
    let e = &f.evidence;
    if let Some(file) = &e.file {
        let _ = write!(o, "<br>proof: <code>{}</code>", esc(file));
    }
    if let (Some(x), Some(y)) = (&e.expected, &e.actual) {
        let _ = write!(
            o,
            "<br>expected <code>{}</code>, found <code>{}</code>",
            esc(x),
            esc(y)
        );
    }
    for d in &e.details {
        let _ = write!(o, "<br><code>{}</code>", esc(d));
    }
    o.push_str("</td></tr>");
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_from_the_evidence() {
        assert_eq!(
            esc("<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
    }
}
