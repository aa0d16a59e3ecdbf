//! JSON report, schema version 1. Its types are separate from the internal model (as
//! zizmor's `v1` output is) so that internal changes cannot silently change the contract.
//! Field order is fixed by the structs; maps are `BTreeMap`; findings arrive sorted.

use super::{Manifest, Report, Summary};
use crate::config::ConfigSection;
use crate::coverage::RegionCoverage;
use crate::findings::{Evidence, Finding};
use crate::hash::Sha256Hash;
use crate::time;
use serde::Serialize;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct V1<'a> {
    schema_version: u32,
    tool: &'static str,
    tool_version: &'a str,
    generated_at: String,
    verdict: &'static str,
    exit_status: i32,
    fail_on: &'static str,
    window: Window,
    scope: &'a super::Scope,
    inputs: Inputs<'a>,
    summary: &'a Summary,
    configuration: &'a ConfigSection,
    coverage: &'a [RegionCoverage],
    findings: FindingList<'a>,
}

/// The findings, serialized as they are read.
struct FindingList<'a>(&'a crate::findings::Findings);

impl Serialize for FindingList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq as _};
        let mut seq = s.serialize_seq(usize::try_from(self.0.len()).ok())?;
        for f in self.0.iter().map_err(S::Error::custom)? {
            let f = f.map_err(S::Error::custom)?;
            seq.serialize_element(&finding(&f))?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct Window {
    start: String,
    end: String,
    source: &'static str,
}

#[derive(Serialize)]
struct Inputs<'a> {
    roots: &'a [String],
    files: Files<'a>,
}

#[derive(Serialize)]
struct V1File<'a> {
    path: &'a str,
    role: &'a str,
    size: u64,
    sha256: Option<Sha256Hash>,
}

/// The manifest, serialized as it is read (never a list of every file in memory).
struct Files<'a>(&'a Manifest);

impl Serialize for Files<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq as _};
        let mut seq = s.serialize_seq(usize::try_from(self.0.len()).ok())?;
        for m in self.0.iter().map_err(S::Error::custom)? {
            let m = m.map_err(S::Error::custom)?;
            seq.serialize_element(&V1File {
                path: &m.path,
                role: m.role,
                size: m.size,
                sha256: m.sha256,
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct V1Finding<'a> {
    kind: &'static str,
    severity: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Evidence::is_empty")]
    evidence: &'a Evidence,
}

fn finding(f: &Finding) -> V1Finding<'_> {
    let ev = f.event.as_ref();
    V1Finding {
        kind: f.kind.as_str(),
        severity: f.severity.as_str(),
        message: &f.message,
        account: f.account.as_deref(),
        region: f.region.as_deref(),
        trail: f.trail.as_deref(),
        path: f.path.as_deref(),
        start: f.start.map(time::fmt),
        end: f.end.map(time::fmt),
        cause: f.cause.map(|c| c.as_str()),
        event_name: ev.map(|e| e.event_name.as_str()),
        event_time: ev.map(|e| e.event_time.as_str()),
        principal: ev.and_then(|e| e.principal.as_deref()),
        source_ip: ev.and_then(|e| e.source_ip.as_deref()),
        error_code: ev.and_then(|e| e.error_code.as_deref()),
        event_id: ev.and_then(|e| e.event_id.as_deref()),
        evidence: &f.evidence,
    }
}

/// The whole report as pretty JSON, ending with a newline, written as it is produced.
pub fn write(r: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let doc = V1 {
        schema_version: SCHEMA_VERSION,
        tool: "trailproof",
        tool_version: r.tool_version,
        generated_at: time::fmt(r.generated_at),
        verdict: r.verdict.as_str(),
        exit_status: r.exit_status,
        fail_on: r.fail_on.as_str(),
        window: Window {
            start: time::fmt(r.window.0),
            end: time::fmt(r.window.1),
            source: r.window_source.as_str(),
        },
        scope: &r.scope,
        inputs: Inputs {
            roots: &r.roots,
            files: Files(&r.manifest),
        },
        summary: &r.summary,
        configuration: &r.configuration,
        coverage: &r.coverage,
        findings: FindingList(&r.findings),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

/// The whole report as pretty JSON, in memory (tests and small reports).
pub fn render(r: &Report) -> String {
    let mut out = Vec::new();
    match write(r, &mut out) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("{{\"error\":\"{e}\"}}\n"),
    }
}

/// One finding per line (JSON Lines), in report order.
pub fn write_lines(r: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    for f in r.findings.iter().map_err(std::io::Error::other)? {
        let f = f.map_err(std::io::Error::other)?;
        serde_json::to_writer(&mut *w, &finding(&f)).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}
