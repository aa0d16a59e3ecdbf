//! Shared test harness: run the built binary the same way every time.
//!
//! `trailproof()` clears environment variables that could change output (`NO_COLOR`,
//! `RUST_LOG`, `TZ`, `SOURCE_DATE_EPOCH`) so a report depends only on its inputs and flags.

use std::path::PathBuf;

pub fn trailproof() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("trailproof").expect("binary built");
    for v in ["NO_COLOR", "RUST_LOG", "TZ", "SOURCE_DATE_EPOCH", "CLICOLOR_FORCE"] {
        c.env_remove(v);
    }
    c
}

/// `trailproof verify PATH --format json --deterministic --no-progress` plus `extra`;
/// returns (exit status, parsed report, stderr).
pub fn verify_json(path: &std::path::Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let out = trailproof()
        .arg("verify")
        .arg(path)
        .args(["--format", "json", "--deterministic", "--no-progress"])
        .args(extra)
        .output()
        .expect("run trailproof");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// The conformance bundles beside the repository (`../shared/conformance`), or
/// `TRAILPROOF_CONFORMANCE` when set.
pub fn conformance_dir() -> PathBuf {
    std::env::var_os("TRAILPROOF_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance")))
}

pub fn testdata(p: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).join(p)
}

/// Findings of a report with the given kind.
pub fn findings_of<'a>(report: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["kind"] == kind).collect())
        .unwrap_or_default()
}

/// Kinds of findings above `info`, sorted, for compact assertions.
pub fn kinds_above_info(report: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["severity"] != "info")
                .filter_map(|f| f["kind"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.dedup();
    v
}
