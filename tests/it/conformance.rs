//! The acceptance bundles in `../shared/conformance`, held to their `expected.json` with
//! exactly the rules of that folder's README and `check.py` (so CI needs no Python):
//! required findings matched, no false positive above `info` when `exhaustive`, optional
//! findings within `max_severity`, the verdict among those allowed, the exit status equal.
//! Every scenario folder is found by listing, never named here.

use crate::common::{conformance_dir, verify_json};
use serde_json::Value;

fn severity(s: &str) -> u8 {
    match s {
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        _ => 0,
    }
}

fn kinds_of(e: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = vec![e["kind"].as_str().unwrap_or("")];
    if let Some(a) = e["alt_kinds"].as_array() {
        k.extend(a.iter().filter_map(Value::as_str));
    }
    k
}

fn matches(f: &Value, e: &Value) -> bool {
    if !kinds_of(e).contains(&f["kind"].as_str().unwrap_or("")) {
        return false;
    }
    for field in ["account", "region", "cause", "event_name"] {
        if e.get(field).is_some() && f.get(field) != e.get(field) {
            return false;
        }
    }
    if let Some(key) = e.get("s3_key").and_then(Value::as_str) {
        let ends = |v: &Value| {
            v.as_str()
                .is_some_and(|p| p.replace('\\', "/").ends_with(key))
        };
        if !(ends(&f["path"]) || ends(&f["s3_key"])) {
            return false;
        }
    }
    if let (Some(es), Some(ee), Some(fs), Some(fe)) = (
        e.get("start").and_then(Value::as_str),
        e.get("end").and_then(Value::as_str),
        f.get("start").and_then(Value::as_str),
        f.get("end").and_then(Value::as_str),
    ) {
        if !(fs < ee && fe > es) {
            return false;
        }
    }
    true
}

/// Problems with one scenario's report; empty when it passes.
fn check(scenario: &std::path::Path) -> Vec<String> {
    let exp: Value =
        serde_json::from_slice(&std::fs::read(scenario.join("expected.json")).unwrap()).unwrap();
    let w = &exp["window"];
    let (code, report, _) = verify_json(
        &scenario.join("bundle"),
        &[
            "--start",
            w["start"].as_str().unwrap(),
            "--end",
            w["end"].as_str().unwrap(),
        ],
    );
    let empty = Vec::new();
    let found = report["findings"].as_array().unwrap_or(&empty);
    let expected = exp["findings"].as_array().unwrap_or(&empty);
    let mut problems = Vec::new();
    for e in expected.iter().filter(|e| e["required"] == true) {
        if !found.iter().any(|f| matches(f, e)) {
            problems.push(format!(
                "missing {} {}",
                e["kind"],
                e.get("region").unwrap_or(&Value::Null)
            ));
        }
    }
    if exp["exhaustive"] == true {
        let named: Vec<&str> = expected.iter().flat_map(kinds_of).collect();
        for f in found {
            let sev = severity(f["severity"].as_str().unwrap_or(""));
            if sev == 0 {
                continue;
            }
            if !named.contains(&f["kind"].as_str().unwrap_or("")) {
                problems.push(format!("unexpected {} ({})", f["kind"], f["message"]));
                continue;
            }
            let caps: Vec<u8> = expected
                .iter()
                .filter(|e| e.get("max_severity").is_some() && matches(f, e))
                .map(|e| severity(e["max_severity"].as_str().unwrap_or("critical")))
                .collect();
            let uncapped = expected
                .iter()
                .any(|e| e.get("max_severity").is_none() && matches(f, e));
            if !caps.is_empty() && !uncapped && sev > caps.iter().copied().max().unwrap_or(4) {
                problems.push(format!(
                    "{} above its max_severity ({})",
                    f["kind"], f["message"]
                ));
            }
        }
    }
    let verdicts: Vec<&str> = exp["verdict"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !verdicts.contains(&report["verdict"].as_str().unwrap_or("")) {
        problems.push(format!(
            "verdict {}, expected {verdicts:?}",
            report["verdict"]
        ));
    }
    if Some(i64::from(code)) != exp["exit_status"].as_i64() {
        problems.push(format!("exit {code}, expected {}", exp["exit_status"]));
    }
    problems
}

#[test]
fn every_conformance_bundle_meets_its_expectations() {
    let root = conformance_dir();
    let mut scenarios: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("conformance bundles not found at {}: {e}", root.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    scenarios.sort();
    assert!(
        !scenarios.is_empty(),
        "no scenario under {}",
        root.display()
    );
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = scenarios
            .iter()
            .map(|sc| {
                s.spawn(move || {
                    (
                        sc.file_name().unwrap().to_string_lossy().into_owned(),
                        check(sc),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|(_, p)| !p.is_empty())
            .map(|(name, p)| format!("{name}: {}", p.join("; ")))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} scenarios fail:\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n")
    );
}

/// The matcher itself must be able to fail, or the test above proves nothing.
#[test]
fn matcher_rejects_what_check_py_rejects() {
    let e: Value = serde_json::json!({"kind": "log_missing", "region": "us-west-2", "s3_key": "AWSLogs/x.json.gz",
        "start": "2025-01-06T11:00:00Z", "end": "2025-01-06T12:00:00Z"});
    let good: Value = serde_json::json!({"kind": "log_missing", "region": "us-west-2", "path": "bucket/AWSLogs/x.json.gz",
        "start": "2025-01-06T11:30:00Z", "end": "2025-01-06T11:30:00Z"});
    assert!(matches(&good, &e));
    let mut wrong_region = good.clone();
    wrong_region["region"] = "eu-west-1".into();
    assert!(!matches(&wrong_region, &e));
    let mut wrong_path = good.clone();
    wrong_path["path"] = "bucket/AWSLogs/y.json.gz".into();
    assert!(!matches(&wrong_path, &e));
    let mut later = good.clone();
    later["start"] = "2025-01-06T12:00:00Z".into();
    later["end"] = "2025-01-06T13:00:00Z".into();
    assert!(!matches(&later, &e));
    let alt: Value =
        serde_json::json!({"kind": "log_unreadable", "alt_kinds": ["log_hash_mismatch"]});
    assert!(matches(
        &serde_json::json!({"kind": "log_hash_mismatch"}),
        &alt
    ));
}
