//! Integrity and coverage cases the conformance set lacks, on bundles made by the fixture
//! builder: each describes a trail, changes one thing, and checks the findings a user relies on.

use crate::common::*;
use crate::fixture::*;
use serde_json::Value;

fn run(w: &Written, extra: &[&str]) -> (i32, Value) {
    let (code, r, _) = verify_json(
        &w.root,
        &[
            &["--start", &w.start_iso(), "--end", &w.end_iso()][..],
            extra,
        ]
        .concat(),
    );
    (code, r)
}

/// Exit 0 and VERIFIED, showing the findings above info when not.
fn assert_verified(code: i32, r: &Value) {
    assert_eq!(
        (code, r["verdict"].as_str()),
        (0, Some("VERIFIED")),
        "{:?}",
        kinds_above_info(r)
    );
}

fn two_regions() -> Bundle {
    Bundle::new("123456789012", "audit", "us-east-1")
        .regions(&["us-east-1", "eu-central-1"])
        .window(ts("2025-03-01T00:00:00Z"), 8)
}

fn cells<'a>(r: &'a Value, account: &str, region: &str) -> &'a Vec<Value> {
    r["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["account"] == account && c["region"] == region)
        .unwrap_or_else(|| panic!("no coverage for {account} {region}"))["hours"]
        .as_array()
        .unwrap()
}

/// Whether one of a finding's evidence details contains `needle`.
fn detail_says(f: &Value, needle: &str) -> bool {
    f["evidence"]["details"].as_array().is_some_and(|ds| {
        ds.iter()
            .any(|d| d.as_str().is_some_and(|d| d.contains(needle)))
    })
}

/// Delete `region`'s digests (and sidecars) that `which` picks.
fn delete_digests(w: &Written, region: &str, which: impl Fn(&DigestFile) -> bool) {
    for dg in w.digests_of(region).into_iter().filter(|dg| which(dg)) {
        std::fs::remove_file(&dg.path).unwrap();
        std::fs::remove_file(dg.sidecar.as_ref().unwrap()).unwrap();
    }
}

/// Delete `region`'s log files that `which` picks.
fn delete_logs(w: &Written, region: &str, which: impl Fn(&LogFile) -> bool) {
    for l in w.logs_of(region).into_iter().filter(|l| which(l)) {
        std::fs::remove_file(&l.path).unwrap();
    }
}

/// Delete `region`'s digests (and sidecars) that end after `cut`.
fn delete_digests_after(w: &Written, region: &str, cut: i64) {
    delete_digests(w, region, |dg| dg.end > cut);
}

/// Delete `region`'s log files delivered at or after `from`.
fn delete_logs_from(w: &Written, region: &str, from: i64) {
    delete_logs(w, region, |l| l.delivered >= from);
}

#[test]
fn clean_builder_bundle_is_verified() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let (code, r) = run(&w, &[]);
    assert_verified(code, &r);
    assert!(cells(&r, "123456789012", "eu-central-1")
        .iter()
        .all(|c| c["digest_state"] == "verified"));
}

#[test]
fn gap_in_one_region_only() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let chain = w.digests_of("eu-central-1");
    for dg in &chain[3..5] {
        std::fs::remove_file(&dg.path).unwrap();
        std::fs::remove_file(dg.sidecar.as_ref().unwrap()).unwrap();
    }
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let missing = findings_of(&r, "digest_missing");
    assert_eq!(
        missing.len(),
        1,
        "only the newest deleted digest is named by one present"
    );
    assert!(missing[0]["path"]
        .as_str()
        .unwrap()
        .ends_with(&chain[4].key));
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(
        (gaps[0]["region"].as_str(), gaps[0]["cause"].as_str()),
        (Some("eu-central-1"), Some("digest_missing"))
    );
    // The gap spans both deleted digests: from the end of the one before to the start of the one after.
    assert_eq!(gaps[0]["start"].as_str().unwrap(), iso(chain[2].end));
    assert_eq!(gaps[0]["end"].as_str().unwrap(), iso(chain[5].start));
    assert!(cells(&r, "123456789012", "us-east-1")
        .iter()
        .all(|c| c["digest_state"] == "verified"));
    // Their log files are unprovable, not injected.
    assert!(findings_of(&r, "log_unreferenced")
        .iter()
        .all(|f| f["severity"] == "low" && f["region"] == "eu-central-1"));
}

#[test]
fn newest_evidence_deleted_up_to_the_window_end_is_a_gap_without_evidence() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let cut = w.start + 5 * HOUR;
    delete_logs_from(&w, "us-east-1", cut);
    delete_digests_after(&w, "us-east-1", cut);
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["cause"], "no_evidence");
    assert_eq!(gaps[0]["end"].as_str().unwrap(), w.end_iso());
    // The trail status says digests kept coming: deletion, not a partial copy.
    assert_eq!(gaps[0]["severity"], "high");
}

#[test]
fn injected_log_file_is_unreferenced_and_high() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let real = w.logs_of("us-east-1")[4];
    let fake = real
        .path
        .with_file_name(real.path.file_name().unwrap().to_string_lossy().replace(
            real.key.rsplit('_').next().unwrap(),
            "INJECTEDxxxxxxxx.json.gz",
        ));
    std::fs::copy(&real.path, &fake).unwrap();
    edit_log(&fake, |v| v["Records"][0]["eventName"] = "Forged".into());
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let f = findings_of(&r, "log_unreferenced");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "high");
    assert!(f[0]["path"].as_str().unwrap().contains("INJECTED"));
    // Its period is the minute its key names (end exclusive), so a period given as that
    // instant overlaps it.
    assert_eq!(f[0]["start"], iso(real.delivered));
    assert_eq!(f[0]["end"], iso(real.delivered + 60));
}

#[test]
fn copies_of_one_object_count_once_but_a_copy_under_another_key_is_its_own_file() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let (_, before) = run(&w, &[]);
    let cells_before = cells(&before, "123456789012", "us-east-1").clone();
    // Two copies of the bucket given together: every file a copy of one object.
    let second = tempfile::tempdir().unwrap();
    copy_dir(&w.root.join("bucket"), &second.path().join("bucket"));
    let (code, r, _) = verify_json(
        &w.root,
        &[
            "--start",
            &w.start_iso(),
            "--end",
            &w.end_iso(),
            second.path().to_str().unwrap(),
        ],
    );
    assert_verified(code, &r);
    assert_eq!(r["summary"]["duplicate_log_files"], w.logs.len());
    assert_eq!(r["summary"]["events"], before["summary"]["events"]);
    // The same bytes planted under another key that sorts first (a lower unique suffix):
    // not a copy of the genuine file, so it cannot take its place.
    let log = w.logs_of("us-east-1")[2];
    let unique = log.key.rsplit('_').next().unwrap();
    let planted = log.path.with_file_name(
        log.path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .replace(unique, "0000000000000000.json.gz"),
    );
    std::fs::copy(&log.path, &planted).unwrap();
    let (_, r) = run(&w, &[]);
    assert_eq!(r["summary"]["duplicate_log_files"], 0);
    let unref = findings_of(&r, "log_unreferenced");
    assert!(
        unref.len() == 1
            && unref[0]["path"]
                .as_str()
                .unwrap()
                .ends_with("0000000000000000.json.gz"),
        "{unref:?}"
    );
    // The genuine file still counts as delivered and valid in its hour.
    let cells_after = cells(&r, "123456789012", "us-east-1");
    for (b, a) in cells_before.iter().zip(cells_after) {
        assert_eq!(b["logs_valid"], a["logs_valid"], "{}", a["hour"]);
    }
}

#[test]
fn denied_stop_logging_is_an_attempt_not_a_stop() {
    let d = tempfile::tempdir().unwrap();
    let b = two_regions();
    let arn = b.trail_arn();
    let t = ts("2025-03-01T03:12:00Z");
    let w = b
        .record(
            Event::stop_logging(t, &arn)
                .principal("arn:aws:iam::123456789012:user/mallory")
                .source_ip("203.0.113.9")
                .denied(),
        )
        .write(d.path());
    let (code, r) = run(&w, &[]);
    assert_eq!(
        code, 1,
        "an attempt to stop logging fails the run at --fail-on medium"
    );
    let f = findings_of(&r, "logging_tampering_event");
    assert_eq!(f.len(), 1);
    let f = f[0];
    assert_eq!(f["event_name"], "StopLogging");
    assert_eq!(f["error_code"], "AccessDenied");
    assert_eq!(f["principal"], "arn:aws:iam::123456789012:user/mallory");
    assert_eq!(f["source_ip"], "203.0.113.9");
    assert_eq!(f["event_time"], "2025-03-01T03:12:00Z");
    assert_eq!(
        f["severity"], "medium",
        "one step below a StopLogging that succeeded"
    );
    assert!(f["message"].as_str().unwrap().contains("attempt"));
    assert!(findings_of(&r, "coverage_gap").is_empty());
}

#[test]
fn stop_logging_gaps_every_region_and_names_who_stopped_it() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .stop_logging(ts("2025-03-01T02:20:00Z"), Some(ts("2025-03-01T05:05:00Z")))
        .stop_principal("arn:aws:iam::123456789012:user/svc-backup", "198.51.100.23")
        .write(d.path());
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    for g in &gaps {
        assert_eq!(g["cause"], "logging_stopped");
        assert!(g["message"].as_str().unwrap().contains(
            "StopLogging at 2025-03-01T02:20:00Z by arn:aws:iam::123456789012:user/svc-backup"
        ));
        assert!(
            g["start"].as_str().unwrap() < "2025-03-01T03:00:00Z"
                && g["end"].as_str().unwrap() >= "2025-03-01T05:05:00Z"
        );
    }
    let stop = findings_of(&r, "logging_tampering_event");
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0]["severity"], "high");
    assert!(detail_says(stop[0], "explains coverage gaps"));
    // The heat map calls those hours stopped, not "no digest".
    for region in ["us-east-1", "eu-central-1"] {
        let states: Vec<&str> = cells(&r, "123456789012", region)
            .iter()
            .map(|c| c["digest_state"].as_str().unwrap())
            .collect();
        assert!(
            states.contains(&"stopped") && !states.contains(&"absent"),
            "{states:?}"
        );
    }
}

/// The gaps of `region`, as (cause, start, end).
fn gaps_of(r: &Value, region: &str) -> Vec<(String, String, String)> {
    findings_of(r, "coverage_gap")
        .into_iter()
        .filter(|g| g["region"] == region)
        .map(|g| {
            let s = |k: &str| g[k].as_str().unwrap_or_default().to_string();
            (s("cause"), s("start"), s("end"))
        })
        .collect()
}

/// When logging stops and starts again in `stopped_bundle`.
const STOP: &str = "2025-03-01T02:20:00Z";
const RESTART: &str = "2025-03-01T05:05:00Z";

/// Two regions whose logging stops at `STOP` and starts again at `RESTART`.
fn stopped_bundle(dir: &std::path::Path) -> Written {
    two_regions()
        .stop_logging(ts(STOP), Some(ts(RESTART)))
        .write(dir)
}

/// AWS's short final digest of `region`'s chain before the restart (nothing names it).
fn final_digest<'a>(w: &'a Written, region: &str) -> &'a DigestFile {
    w.digests_of(region)
        .into_iter()
        .rev()
        .find(|dg| dg.end <= ts(RESTART))
        .unwrap()
}

/// Delete a digest and its sidecar.
fn remove_digest(dg: &DigestFile) {
    std::fs::remove_file(&dg.path).unwrap();
    std::fs::remove_file(dg.sidecar.as_ref().unwrap()).unwrap();
}

#[test]
fn deleted_restart_digest_leaves_the_stop_a_stop_and_only_its_own_span_missing() {
    let d = tempfile::tempdir().unwrap();
    let w = stopped_bundle(d.path());
    // The first digest after the restart (previous fields null); only the next one names it.
    let restart = w
        .digests_of("eu-central-1")
        .into_iter()
        .find(|dg| dg.chain_start && dg.start >= ts(RESTART))
        .unwrap();
    remove_digest(restart);
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let missing = findings_of(&r, "digest_missing");
    assert_eq!(missing.len(), 1, "{missing:?}");
    let gaps = gaps_of(&r, "eu-central-1");
    let stop_end = iso(restart.start);
    assert!(
        gaps.iter()
            .any(|(c, s, e)| c == "logging_stopped" && s < &stop_end && e == &stop_end),
        "{gaps:?}"
    );
    assert!(
        gaps.iter()
            .any(|(c, s, e)| c == "digest_missing" && s == &stop_end && e == &iso(restart.end)),
        "{gaps:?}"
    );
    // The untouched region is unchanged: one stop.
    let home = gaps_of(&r, "us-east-1");
    assert!(
        home.len() == 1 && home[0].0 == "logging_stopped",
        "{home:?}"
    );
}

#[test]
fn deleted_final_digest_is_unverified_up_to_the_stop_and_a_stop_after_it() {
    let d = tempfile::tempdir().unwrap();
    let (w, stop) = (stopped_bundle(d.path()), ts(STOP));
    let last = final_digest(&w, "eu-central-1");
    assert!(last.end > stop && last.end - last.start < HOUR);
    remove_digest(last);
    let (_, r) = run(&w, &[]);
    let gaps = gaps_of(&r, "eu-central-1");
    // Its log files are left: proof of nothing. From the StopLogging on, the stop holds.
    assert!(
        gaps.iter()
            .any(|(c, s, e)| c == "unverified" && s == &iso(last.start) && e == &iso(stop)),
        "{gaps:?}"
    );
    assert!(
        gaps.iter()
            .any(|(c, s, e)| c == "logging_stopped" && s == &iso(stop) && e.as_str() >= RESTART),
        "{gaps:?}"
    );
}

#[test]
fn deleted_final_digest_and_its_logs_are_evidence_gone_not_a_longer_stop() {
    let d = tempfile::tempdir().unwrap();
    let (w, stop) = (stopped_bundle(d.path()), ts(STOP));
    let last = final_digest(&w, "eu-central-1");
    remove_digest(last);
    for l in w.logs_of("eu-central-1") {
        if last.logs.iter().any(|k| l.path.ends_with(k)) {
            std::fs::remove_file(&l.path).unwrap();
        }
    }
    let (_, r) = run(&w, &[]);
    let gaps = gaps_of(&r, "eu-central-1");
    // Deleting the logs as well must not turn the time before the stop into a stop.
    assert!(
        gaps.iter()
            .any(|(c, s, e)| c == "no_evidence" && s == &iso(last.start) && e == &iso(stop)),
        "{gaps:?}"
    );
    assert!(
        !gaps
            .iter()
            .any(|(c, s, _)| c == "logging_stopped" && s < &iso(stop)),
        "{gaps:?}"
    );
}

#[test]
fn restart_evidence_deleted_is_a_stop_until_the_restart_then_evidence_gone() {
    let d = tempfile::tempdir().unwrap();
    let (w, restart) = (stopped_bundle(d.path()), ts(RESTART));
    // Everything the restart delivered is deleted, in every region (the StartLogging record
    // with it); the trail status still says when logging started and that digests came.
    for region in ["us-east-1", "eu-central-1"] {
        delete_logs_from(&w, region, restart);
        delete_digests_after(&w, region, restart);
    }
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    for region in ["us-east-1", "eu-central-1"] {
        let gaps = gaps_of(&r, region);
        assert!(
            gaps.iter()
                .any(|(c, s, e)| c == "logging_stopped" && s < &iso(restart) && e == &iso(restart)),
            "{region}: {gaps:?}"
        );
        assert!(
            gaps.iter()
                .any(|(c, s, e)| c == "no_evidence" && s == &iso(restart) && e == &w.end_iso()),
            "{region}: {gaps:?}"
        );
    }
    let after: Vec<_> = findings_of(&r, "coverage_gap")
        .into_iter()
        .filter(|g| g["cause"] == "no_evidence")
        .collect();
    assert!(after.iter().all(|g| g["severity"] == "high"), "{after:?}");
}

#[test]
fn stop_proven_by_the_trail_status_when_its_log_file_and_final_digest_are_gone() {
    let d = tempfile::tempdir().unwrap();
    let (w, stop) = (stopped_bundle(d.path()), ts(STOP));
    // The file holding the StopLogging record is gone, and so is eu-central-1's final
    // digest: only the status export (StopLoggingTime) still says when logging stopped.
    let holder = w
        .logs_of("us-east-1")
        .into_iter()
        .find(|l| {
            gunzip_file(&l.path)
                .windows(11)
                .any(|x| x == b"StopLogging")
        })
        .unwrap();
    std::fs::remove_file(&holder.path).unwrap();
    let last = final_digest(&w, "eu-central-1");
    remove_digest(last);
    let (_, r) = run(&w, &[]);
    let gaps = gaps_of(&r, "eu-central-1");
    assert!(
        gaps.iter()
            .any(|(c, s, _)| c == "logging_stopped" && s == &iso(stop)),
        "{gaps:?}"
    );
    assert!(
        gaps.iter()
            .any(|(c, s, e)| c == "unverified" && s == &iso(last.start) && e == &iso(stop)),
        "{gaps:?}"
    );
    // The stop itself is still a tampering event: the status says when, us-east-1's final
    // digest proves it; who did it went with the deleted record.
    let events = findings_of(&r, "logging_tampering_event");
    assert_eq!(events.len(), 1, "{events:?}");
    let e = events[0];
    assert_eq!(
        (
            e["event_name"].as_str(),
            e["event_time"].as_str(),
            e["severity"].as_str()
        ),
        (Some("StopLogging"), Some(iso(stop).as_str()), Some("high"))
    );
    assert!(
        e["path"].as_str().unwrap().contains("get-trail-status"),
        "{e}"
    );
}

#[test]
fn a_status_stop_that_no_final_digest_proves_is_no_tampering_event() {
    // The status export alone says logging stopped inside the window, while the digests
    // run on unbroken: nothing proves a stop, so there is no event to report (the status
    // is still `config_not_logging`).
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let status = d.path().join("config/get-trail-status.audit.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&status).unwrap()).unwrap();
    v["IsLogging"] = false.into();
    v["StopLoggingTime"] = "2025-03-01T03:00:00Z".into();
    std::fs::write(&status, v.to_string()).unwrap();
    let (_, r) = run(&w, &[]);
    assert_eq!(findings_of(&r, "config_not_logging").len(), 1);
    assert!(findings_of(&r, "logging_tampering_event").is_empty());
}

#[test]
fn signatures_written_in_upper_case_hex_verify_and_link() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    // The newest digest and the one before it: editing the newest breaks no later link.
    let digests = w.digests_of("us-east-1");
    let (mid, next) = (digests[digests.len() - 2], digests[digests.len() - 1]);
    // The sidecar's signature in upper case: the same bytes.
    let side = mid.sidecar.as_ref().unwrap();
    let mut head: Value = serde_json::from_slice(&std::fs::read(side).unwrap()).unwrap();
    head["Metadata"]["signature"] = mid.signature.to_uppercase().into();
    std::fs::write(side, serde_json::to_vec_pretty(&head).unwrap()).unwrap();
    // The next digest names it in upper case, and AWS signed that text as written.
    edit_digest(&next.path, |v| {
        let sig = v["previousDigestSignature"]
            .as_str()
            .unwrap()
            .to_uppercase();
        v["previousDigestSignature"] = sig.into();
    });
    resign_digest(&next.path, Key::Test);
    let (code, r) = run(&w, &[]);
    assert_verified(code, &r);
    // Written in lower case but altered, it no longer verifies: the text is what is signed.
    edit_digest(&next.path, |v| {
        let sig = v["previousDigestSignature"]
            .as_str()
            .unwrap()
            .to_lowercase();
        v["previousDigestSignature"] = sig.into();
    });
    let (_, r) = run(&w, &[]);
    let invalid = findings_of(&r, "digest_signature_invalid");
    assert!(
        invalid.len() == 1 && invalid[0]["path"].as_str().unwrap().ends_with(&next.key),
        "{invalid:?}"
    );
}

#[test]
fn chain_restart_without_stop_event_is_still_logging_stopped_but_says_so() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .stop_logging(ts("2025-03-01T02:20:00Z"), Some(ts("2025-03-01T05:05:00Z")))
        .stop_events(false)
        .write(d.path());
    let (_, r) = run(&w, &[]);
    let gaps = findings_of(&r, "coverage_gap");
    assert!(!gaps.is_empty());
    assert!(gaps.iter().all(|g| g["cause"] == "logging_stopped"
        && g["message"]
            .as_str()
            .unwrap()
            .contains("no StopLogging event")));
    // The status's StopLoggingTime, proven by the final digests, is the one event: by whom
    // is unknown.
    let events = findings_of(&r, "logging_tampering_event");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event_time"], "2025-03-01T02:20:00Z");
    assert!(events[0]["principal"].is_null());
}

#[test]
fn events_count_in_the_hour_of_their_event_time_not_their_delivery() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().files_per_hour(3).write(d.path());
    let (_, r) = run(&w, &[]);
    // Count by eventTime from the files themselves.
    let mut want: std::collections::BTreeMap<String, u64> = Default::default();
    let mut earlier = 0;
    for l in w.logs_of("us-east-1") {
        let v: Value = serde_json::from_slice(&gunzip_file(&l.path)).unwrap();
        for rec in v["Records"].as_array().unwrap() {
            let t = rec["eventTime"].as_str().unwrap();
            *want.entry(format!("{}:00:00Z", &t[..13])).or_default() += 1;
            if ts(t) / HOUR < l.delivered / HOUR {
                earlier += 1;
            }
        }
    }
    assert!(
        earlier > 0,
        "the builder delivers some events in a later hour"
    );
    for c in cells(&r, "123456789012", "us-east-1") {
        let h = c["hour"].as_str().unwrap();
        assert_eq!(
            c["events"].as_u64().unwrap(),
            want.get(h).copied().unwrap_or(0),
            "hour {h}"
        );
    }
}

#[test]
fn organization_trail_with_two_member_accounts() {
    let d = tempfile::tempdir().unwrap();
    let w = Bundle::new("111122223333", "org_trail", "us-east-1")
        .org("o-abc123def4")
        .member_accounts(&["444455556666", "777788889999"])
        .prefix("org-logs")
        .regions(&["us-east-1", "eu-west-1"])
        .window(ts("2025-03-01T00:00:00Z"), 4)
        .write(d.path());
    let (code, r) = run(&w, &[]);
    assert_verified(code, &r);
    assert_eq!(r["summary"]["accounts"], 3);
    let victim = w.account_logs("777788889999", "eu-west-1")[1];
    std::fs::remove_file(&victim.path).unwrap();
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let f = findings_of(&r, "log_missing");
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0]["account"].as_str(), f[0]["region"].as_str()),
        (Some("777788889999"), Some("eu-west-1"))
    );
}

#[test]
fn another_trails_digests_do_not_make_this_trails_unlisted_files_injected() {
    // An account trail and an organization trail over the same account, given together.
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let own = Bundle::new("111122223333", "audit", "us-east-1")
        .regions(&["us-east-1"])
        .window(ts("2025-03-01T00:00:00Z"), 6)
        .write(a.path());
    let org = Bundle::new("111122223333", "org_trail", "us-east-1")
        .org("o-abc123def4")
        .prefix("org-logs")
        .regions(&["us-east-1"])
        .window(ts("2025-03-01T00:00:00Z"), 6)
        .write(b.path());
    // The account trail loses a digest from the middle of its chain: its files are now
    // unproven. The organization trail's digests cover that hour, but they list files
    // under its own prefix only, so they say nothing of these.
    let gone = own.digests_of("us-east-1")[3];
    std::fs::remove_file(&gone.path).unwrap();
    std::fs::remove_file(gone.sidecar.as_ref().unwrap()).unwrap();
    let (_, r, _) = verify_json(
        &own.root,
        &[
            org.root.to_str().unwrap(),
            "--start",
            &own.start_iso(),
            "--end",
            &own.end_iso(),
        ],
    );
    let unref = findings_of(&r, "log_unreferenced");
    assert!(!unref.is_empty());
    assert!(unref.iter().all(|f| f["severity"] == "low"), "{unref:?}");
    assert_eq!(findings_of(&r, "digest_missing").len(), 1);
}

#[test]
fn two_trails_in_one_bucket_a_deleted_digest_leaves_its_files_unproven_not_injected() {
    // Two trails of one account write to the same bucket and prefix: log file names do not
    // say which trail wrote them. One trail loses a digest from the middle of its chain; the
    // other trail's verified digests cover those minutes, but the orphaned files may be the
    // first trail's: unproven (low), not injected (high).
    let d = tempfile::tempdir().unwrap();
    let window = ts("2025-03-01T00:00:00Z");
    let first = Bundle::new("111122223333", "audit", "us-east-1")
        .regions(&["us-east-1"])
        .window(window, 6)
        .write(d.path());
    let second = Bundle::new("111122223333", "security", "us-east-1")
        .regions(&["us-east-1"])
        .window(window, 6)
        .write(d.path());
    // Each wrote its own configuration over the other's: judge the evidence alone.
    std::fs::remove_dir_all(d.path().join("config")).unwrap();
    let (code, r) = run(&second, &[]);
    assert_verified(code, &r);
    let gone = first.digests_of("us-east-1")[3];
    std::fs::remove_file(&gone.path).unwrap();
    std::fs::remove_file(gone.sidecar.as_ref().unwrap()).unwrap();
    let (_, r) = run(&second, &[]);
    assert_eq!(findings_of(&r, "digest_missing").len(), 1);
    let unref = findings_of(&r, "log_unreferenced");
    assert!(!unref.is_empty());
    assert!(unref.iter().all(|f| f["severity"] == "low"), "{unref:?}");
    // A file planted where both trails' verified digests cover it is still injected.
    let planted = first.logs_of("us-east-1")[0]
        .path
        .with_file_name("111122223333_CloudTrail_us-east-1_20250301T0105Z_plantedplanted0.json.gz");
    std::fs::copy(&first.logs_of("us-east-1")[0].path, &planted).unwrap();
    let planted_is_high = |r: &Value| {
        findings_of(r, "log_unreferenced").iter().any(|f| {
            f["severity"] == "high"
                && f["path"]
                    .as_str()
                    .unwrap()
                    .ends_with("plantedplanted0.json.gz")
        })
    };
    let (_, r) = run(&second, &[]);
    assert!(planted_is_high(&r));
    // A junk file named like a digest of a trail that never wrote here (no verified digest)
    // says nothing of which trail wrote there: the planted file is still injected.
    let digest_dir = first.digests_of("us-east-1")[0]
        .path
        .parent()
        .unwrap()
        .to_owned();
    let ghost = digest_dir.join(
        "../../../2020/01/01/111122223333_CloudTrail-Digest_us-east-1_ghost_us-east-1_20200101T000000Z.json.gz",
    );
    std::fs::create_dir_all(ghost.parent().unwrap()).unwrap();
    std::fs::write(&ghost, b"not a digest").unwrap();
    let (_, r) = run(&second, &[]);
    assert_eq!(
        r["summary"]["digests_unreadable"], 1,
        "the junk file is read as a digest"
    );
    assert!(
        planted_is_high(&r),
        "{:?}",
        findings_of(&r, "log_unreferenced")
    );
}

#[test]
fn a_key_prefix_holding_a_folder_named_awslogs_is_the_trails_own() {
    // S3KeyPrefix `archive/AWSLogs`: the digests' `AWSLogs/ACCOUNT/...` starts at the last
    // folder so named, and the evidence is where the configuration says.
    for prefix in ["archive/AWSLogs", "AWSLogs", "backup-AWSLogs"] {
        let d = tempfile::tempdir().unwrap();
        let w = Bundle::new("111122223333", "audit", "us-east-1")
            .prefix(prefix)
            .regions(&["us-east-1", "eu-west-1"])
            .window(ts("2025-03-01T00:00:00Z"), 3)
            .write(d.path());
        let (code, r) = run(&w, &[]);
        assert_verified(code, &r);
    }
}

#[test]
fn a_trails_own_account_with_no_evidence_at_all_is_uncovered() {
    // The whole bucket copy is missing: configuration and keys remain. The trail logs its
    // own account (its ARN's) and at least its home region, so those are uncovered, not
    // "no account at all".
    let d = tempfile::tempdir().unwrap();
    let w = Bundle::new("111122223333", "audit", "us-east-1")
        .regions(&["us-east-1", "eu-west-1"])
        .window(ts("2025-03-01T00:00:00Z"), 3)
        .write(d.path());
    // Beside it, the export of another account's trail writing to another bucket: that
    // bucket is not in the bundle, so its account is no gap here.
    let other = serde_json::json!({"trailList": [{
        "Name": "other", "S3BucketName": "other-bucket", "IsMultiRegionTrail": true,
        "HomeRegion": "us-east-1", "LogFileValidationEnabled": true,
        "TrailARN": "arn:aws:cloudtrail:us-east-1:999988887777:trail/other",
        "IncludeGlobalServiceEvents": true, "IsOrganizationTrail": false
    }]});
    std::fs::write(
        d.path().join("config/describe-trails.999988887777.json"),
        other.to_string(),
    )
    .unwrap();
    let (_, r) = run(&w, &[]);
    assert!(
        findings_of(&r, "region_uncovered").is_empty(),
        "{:?}",
        findings_of(&r, "region_uncovered")
    );
    std::fs::remove_dir_all(d.path().join("bucket")).unwrap();
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let uncovered = findings_of(&r, "region_uncovered");
    assert!(
        uncovered
            .iter()
            .any(|f| f["account"] == "111122223333" && f["region"] == "us-east-1"),
        "{uncovered:?}"
    );
}

#[test]
fn organization_trail_owner_with_no_evidence_is_uncovered() {
    let d = tempfile::tempdir().unwrap();
    let w = Bundle::new("111122223333", "org_trail", "us-east-1")
        .org("o-abc123def4")
        .member_accounts(&["444455556666"])
        .regions(&["us-east-1", "eu-west-1"])
        .window(ts("2025-03-01T00:00:00Z"), 4)
        .write(d.path());
    // Every file of the account that owns the trail is gone; the member's remain.
    for path in w
        .logs
        .iter()
        .filter(|l| l.account == "111122223333")
        .map(|l| &l.path)
    {
        std::fs::remove_file(path).unwrap();
    }
    for dg in w.digests.iter().filter(|dg| dg.account == "111122223333") {
        std::fs::remove_file(&dg.path).unwrap();
        std::fs::remove_file(dg.sidecar.as_ref().unwrap()).unwrap();
    }
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let uncovered: Vec<(String, String)> = findings_of(&r, "region_uncovered")
        .iter()
        .map(|f| {
            (
                f["account"].as_str().unwrap().to_owned(),
                f["region"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        uncovered,
        [
            ("111122223333".to_owned(), "eu-west-1".to_owned()),
            ("111122223333".to_owned(), "us-east-1".to_owned())
        ]
    );
    // Judging one member account only asks nothing of the owner.
    let (code, r) = run(&w, &["--account", "444455556666"]);
    assert_verified(code, &r);
}

#[test]
fn a_window_inside_hours_counts_whole_hours_consistently() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().files_per_hour(3).write(d.path());
    let (start, end) = (
        iso(w.start + HOUR + 30 * 60),
        iso(w.start + 4 * HOUR + 30 * 60),
    );
    let (_, r, _) = verify_json(&w.root, &["--start", &start, "--end", &end]);
    assert_eq!(r["window"]["source"], "command_line");
    let mut events = 0;
    for c in r["coverage"].as_array().unwrap() {
        for h in c["hours"].as_array().unwrap() {
            // Files and events of one cell speak of the same whole hour.
            assert_eq!(h["digest_state"], "verified", "{h}");
            assert!(h["logs_listed"].as_u64().unwrap() > 0, "{h}");
            assert_eq!(h["logs_listed"], h["logs_present"], "{h}");
            assert_eq!(h["logs_valid"], h["logs_present"], "{h}");
            events += h["events"].as_u64().unwrap();
        }
    }
    assert_eq!(r["summary"]["events"], events);
    // One end given: the other comes from the digests, and the report says so.
    let (_, r, _) = verify_json(&w.root, &["--start", &start]);
    assert_eq!(r["window"]["source"], "start_from_command_line");
}

#[test]
fn unknown_key_outside_the_window_is_recorded_at_info() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .forge_digest("eu-central-1", -1)
        .write(d.path());
    let newest = *w.digests_of("eu-central-1").last().unwrap();
    let (code, r, _) = verify_json(
        &w.root,
        &["--start", &w.start_iso(), "--end", &iso(newest.start)],
    );
    assert_verified(code, &r);
    let all = findings_of(&r, "digest_key_unknown");
    assert!(
        all.len() == 1
            && all[0]["severity"] == "info"
            && all[0]["message"]
                .as_str()
                .unwrap()
                .contains("outside the window"),
        "{all:?}"
    );
}

#[test]
fn forged_and_resigned_digests() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .forge_digest("eu-central-1", 3)
        .bad_signature("us-east-1", -1)
        .write(d.path());
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let unknown = findings_of(&r, "digest_key_unknown");
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0]["region"], "eu-central-1");
    let invalid = findings_of(&r, "digest_signature_invalid");
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0]["region"], "us-east-1");
    assert!(findings_of(&r, "coverage_gap")
        .iter()
        .all(|g| g["cause"] == "unverified"));
}

#[test]
fn validation_switched_off_leaves_unverified_hours_to_the_end() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .validation_disabled_at(ts("2025-03-01T05:30:00Z"))
        .write(d.path());
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 2);
    for g in gaps {
        assert_eq!(g["cause"], "unverified");
        assert_eq!(g["end"].as_str().unwrap(), w.end_iso());
    }
    assert!(!findings_of(&r, "config_log_validation_disabled").is_empty());
}

#[test]
fn pem_key_on_the_command_line_replaces_the_export() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .write_keys(false)
        .write(&d.path().join("bundle"));
    let (code, r) = run(&w, &[]);
    assert_eq!((code, r["verdict"].as_str()), (1, Some("INCONCLUSIVE")));
    assert!(!findings_of(&r, "digest_key_unknown").is_empty());
    let pem = d.path().join("cloudtrail.pem");
    write_public_key_pem(Key::Test, &pem);
    let (code, r) = run(&w, &["--public-key", pem.to_str().unwrap()]);
    assert_verified(code, &r);
}

#[test]
fn key_rotation_and_cli_v1_exports_verify() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .key_rotation(ts("2025-03-01T04:00:00Z"))
        .aws_cli(AwsCli::V1)
        .write(d.path());
    let (code, r) = run(&w, &[]);
    assert_verified(code, &r);
}

#[test]
fn backfill_digest_verifies_and_covers_its_files() {
    let d = tempfile::tempdir().unwrap();
    let b = two_regions();
    let w = b.write(d.path());
    // A log file the hourly digest missed, delivered with a backfill digest.
    let late = w.logs_of("us-east-1")[2];
    let listing = w.digest_listing(late).unwrap();
    edit_digest(&listing.path, |v| {
        v["logFiles"]
            .as_array_mut()
            .unwrap()
            .retain(|e| e["s3Object"] != late.key.as_str());
    });
    // Rewrite the edited digest's signature and the next digest's link to it, as AWS would
    // have written them without the file.
    resign_chain_from(&w, listing);
    write_backfill_digest(
        &b,
        &w,
        "123456789012",
        "us-east-1",
        listing.start,
        listing.end,
        &[late],
        Key::Test,
    );
    let (code, r) = run(&w, &[]);
    assert_eq!(
        (code, r["verdict"].as_str()),
        (0, Some("VERIFIED")),
        "{:?}",
        r["findings"]
    );
}

/// Re-sign `from` and every later digest of its chain so that links stay consistent.
fn resign_chain_from(w: &Written, from: &DigestFile) {
    let chain = w.account_digests(&from.account, &from.region);
    let i = chain.iter().position(|d| d.key == from.key).unwrap();
    let mut prev_sig = resign_digest(&from.path, Key::Test);
    let mut prev_sha = sha256_hex(&gunzip_file(&from.path));
    for d in &chain[i + 1..] {
        if d.chain_start {
            break;
        }
        edit_digest(&d.path, |v| {
            v["previousDigestSignature"] = prev_sig.clone().into();
            v["previousDigestHashValue"] = prev_sha.clone().into();
        });
        prev_sig = resign_digest(&d.path, Key::Test);
        prev_sha = sha256_hex(&gunzip_file(&d.path));
    }
}

#[test]
fn logs_listed_only_by_an_unsigned_newest_digest_are_not_unreferenced() {
    // Digests at :10 past the hour: the newest digest of each chain (no sidecar, no later
    // digest to carry its signature) lists the window's last log files. They are listed,
    // just not provably: an `unverified` gap, not `log_unreferenced`.
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .digest_offset(600)
        .sidecars(Sidecars::Omit)
        .write(d.path());
    let newest = w.digests_of("us-east-1").last().copied().cloned().unwrap();
    assert!(
        newest.start < w.end && !newest.logs.is_empty(),
        "the fixture must put listed logs inside the window"
    );
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    assert_eq!(findings_of(&r, "digest_signature_missing").len(), 2);
    assert!(
        findings_of(&r, "log_unreferenced").is_empty(),
        "{:?}",
        kinds_above_info(&r)
    );
    let gaps = findings_of(&r, "coverage_gap");
    assert!(!gaps.is_empty() && gaps.iter().all(|g| g["cause"] == "unverified"));
}

#[test]
fn stop_never_undone_is_logging_stopped_to_the_end_of_the_window() {
    let d = tempfile::tempdir().unwrap();
    let stop = ts("2025-03-01T03:20:00Z");
    let w = two_regions()
        .stop_logging(stop, None)
        .stop_principal("arn:aws:iam::123456789012:user/mallory", "203.0.113.7")
        .write(d.path());
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    for g in &gaps {
        assert_eq!(g["cause"], "logging_stopped", "{g}");
        assert_eq!(g["start"], iso(stop + FINAL_DIGEST_DELAY));
        assert_eq!(g["end"], w.end_iso());
        assert!(g["message"].as_str().unwrap().contains(
            "StopLogging at 2025-03-01T03:20:00Z by arn:aws:iam::123456789012:user/mallory"
        ));
    }
    assert_eq!(findings_of(&r, "config_not_logging").len(), 1);
}

#[test]
fn final_digest_alone_shows_the_stop_when_the_event_is_gone() {
    // No StopLogging record survives, but AWS's short final digest still marks the stop.
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .stop_logging(ts("2025-03-01T03:20:00Z"), None)
        .stop_events(false)
        .write(d.path());
    let (_, r) = run(&w, &[]);
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(gaps.iter().all(|g| g["cause"] == "logging_stopped"
        && g["message"]
            .as_str()
            .unwrap()
            .contains("no StopLogging event")));
}

#[test]
fn chain_restart_with_logs_delivered_meanwhile_is_unverified_not_stopped() {
    // Digests broke off and restarted while log files kept coming (validation switched off
    // and on again): logging did not stop.
    let d = tempfile::tempdir().unwrap();
    let b = two_regions()
        .stop_logging(ts("2025-03-01T02:20:00Z"), Some(ts("2025-03-01T05:05:00Z")))
        .stop_events(false)
        // Nor does the trail status say logging stopped.
        .edit_config(|name, v| {
            if name.starts_with("get-trail-status") {
                let o = v.as_object_mut().unwrap();
                o.remove("StopLoggingTime");
                o.remove("TimeLoggingStopped");
            }
        });
    let w = b.write(d.path());
    // Validation switched off leaves no short final digest (as in the conformance bundle
    // `validation_disabled_midway`): the chain just ends on a full hour's digest.
    let last = w
        .digests_of("us-east-1")
        .into_iter()
        .find(|x| x.end - x.start < 3540 && !x.chain_start)
        .expect("final digest")
        .clone();
    std::fs::remove_file(&last.path).unwrap();
    if let Some(s) = &last.sidecar {
        std::fs::remove_file(s).unwrap();
    }
    b.write_unlisted_log(
        &w,
        "123456789012",
        "us-east-1",
        ts("2025-03-01T03:30:00Z"),
        &[Event::new(
            ts("2025-03-01T03:25:00Z"),
            "ec2.amazonaws.com",
            "DescribeInstances",
        )],
    );
    let (_, r) = run(&w, &[]);
    let cause_in = |region: &str| {
        findings_of(&r, "coverage_gap")
            .iter()
            .filter(|g| g["region"] == region)
            .map(|g| g["cause"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(cause_in("us-east-1"), ["unverified"]);
    assert_eq!(cause_in("eu-central-1"), ["logging_stopped"]);
}

#[test]
fn digest_copied_over_another_regions_is_not_accepted() {
    // An authentic, well-signed digest of eu-central-1 put where us-east-1's was: its
    // signed digestS3Object names another key, so it proves nothing for us-east-1.
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let (ours, theirs) = (
        w.digests_of("us-east-1")[4].clone(),
        w.digests_of("eu-central-1")[4].clone(),
    );
    std::fs::copy(&theirs.path, &ours.path).unwrap();
    std::fs::copy(
        theirs.sidecar.as_ref().unwrap(),
        ours.sidecar.as_ref().unwrap(),
    )
    .unwrap();
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let bad = findings_of(&r, "digest_signature_invalid");
    assert_eq!(bad.len(), 1, "{:?}", kinds_above_info(&r));
    assert!(bad[0]["path"].as_str().unwrap().ends_with(&ours.key));
    assert!(bad[0]["message"]
        .as_str()
        .unwrap()
        .contains("moved from its original location"));
}

#[test]
fn injected_stop_logging_does_not_turn_deleted_evidence_into_a_stop() {
    // The newest evidence of us-east-1 is deleted and a forged log file with a StopLogging
    // record is planted just before: only valid log files may explain a chain's end.
    let d = tempfile::tempdir().unwrap();
    let b = two_regions();
    let w = b.write(d.path());
    let cut = w.start + 5 * HOUR;
    delete_logs_from(&w, "us-east-1", cut);
    let last_kept = w
        .digests_of("us-east-1")
        .iter()
        .filter(|dg| dg.end <= cut)
        .map(|dg| dg.end)
        .max()
        .unwrap();
    delete_digests_after(&w, "us-east-1", cut);
    let arn = b.trail_arn();
    b.write_unlisted_log(
        &w,
        "123456789012",
        "us-east-1",
        last_kept - 600,
        &[Event::stop_logging(last_kept - 900, &arn)],
    );
    let (_, r) = run(&w, &[]);
    let gaps: Vec<_> = findings_of(&r, "coverage_gap")
        .into_iter()
        .filter(|g| g["region"] == "us-east-1")
        .collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["cause"], "no_evidence");
    assert_eq!(findings_of(&r, "log_unreferenced").len(), 1);
    // The planted record is still reported, marked as unproven.
    let stop = findings_of(&r, "logging_tampering_event");
    assert_eq!(stop.len(), 1);
    assert!(detail_says(stop[0], "unproven"));
    assert!(stop[0]["message"].as_str().unwrap().contains("(unproven:"));
}

#[test]
fn newest_digests_deleted_with_their_logs_kept_is_digest_missing() {
    // Nothing is left to name the deleted digests, but the trail status says digests were
    // delivered to the end, and the log files they listed are still there.
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let cut = w.start + 5 * HOUR;
    delete_digests_after(&w, "us-east-1", cut);
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["cause"], "digest_missing");
    assert_eq!(gaps[0]["severity"], "high");
    assert_eq!(gaps[0]["end"].as_str().unwrap(), w.end_iso());
    assert!(gaps[0]["message"]
        .as_str()
        .unwrap()
        .contains("the later digests are missing"));
}

#[test]
fn stop_logging_just_before_the_window_still_explains_its_gaps() {
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .stop_logging(ts("2025-03-01T02:20:00Z"), Some(ts("2025-03-01T05:05:00Z")))
        .write(d.path());
    let (_, r, _) = verify_json(
        &w.root,
        &["--start", "2025-03-01T03:00:00Z", "--end", &w.end_iso()],
    );
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    for g in &gaps {
        assert_eq!(g["cause"], "logging_stopped");
        assert!(g["message"]
            .as_str()
            .unwrap()
            .contains("StopLogging at 2025-03-01T02:20:00Z"));
    }
    assert!(
        findings_of(&r, "logging_tampering_event").is_empty(),
        "outside the window: proof, not a finding"
    );
}

#[test]
fn only_a_stop_of_this_trail_explains_where_its_chain_ends() {
    // us-east-1's newest evidence is gone from an hourly (not final) digest on; a valid
    // StopLogging shortly before explains it only if it names the trail whose chain it is.
    // (No LatestDigestDeliveryTime in the status: one after the chain's end would prove
    // that later digests were delivered, and so deleted.)
    let gap_cause = |trail_arn: &str| {
        let d = tempfile::tempdir().unwrap();
        let b = two_regions().edit_config(|file, v| {
            if file.contains("get-trail-status") {
                if let Some(o) = v.as_object_mut() {
                    o.remove("LatestDigestDeliveryTime");
                }
            }
        });
        let last_kept = b.start() + 5 * HOUR - 1200;
        let w = b
            .clone()
            .record(Event::stop_logging(last_kept - 2400, trail_arn))
            .write(d.path());
        let keep_until = w
            .digests_of("us-east-1")
            .iter()
            .filter(|dg| dg.end <= last_kept + HOUR)
            .map(|dg| dg.end)
            .max()
            .unwrap();
        delete_logs_from(&w, "us-east-1", keep_until);
        delete_digests_after(&w, "us-east-1", keep_until);
        let (_, r) = run(&w, &[]);
        let gaps: Vec<String> = findings_of(&r, "coverage_gap")
            .iter()
            .map(|g| g["cause"].as_str().unwrap().to_owned())
            .collect();
        (gaps, b.trail_arn())
    };
    let (own, arn) = gap_cause(&two_regions().trail_arn());
    assert_eq!(own, ["logging_stopped"], "{arn}");
    let (other, _) = gap_cause("arn:aws:cloudtrail:us-east-1:123456789012:trail/another-trail");
    assert_eq!(other, ["no_evidence"]);
}

#[test]
fn a_log_file_of_the_restarts_own_minute_does_not_undo_the_stop() {
    // Keys name minutes: a file delivered at 05:05:50, just after StartLogging at 05:05:30,
    // has key time 05:05, a few seconds before the restart.
    let d = tempfile::tempdir().unwrap();
    let restart = ts("2025-03-01T05:05:30Z");
    let b = two_regions().stop_logging(ts("2025-03-01T02:20:00Z"), Some(restart));
    let w = b.write(d.path());
    b.write_unlisted_log(
        &w,
        "123456789012",
        "us-east-1",
        ts("2025-03-01T05:05:00Z"),
        &[Event::new(
            restart + 5,
            "ec2.amazonaws.com",
            "DescribeInstances",
        )],
    );
    let (_, r) = run(&w, &[]);
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(
        gaps.iter().all(|g| g["cause"] == "logging_stopped"),
        "{gaps:?}"
    );
}

#[test]
fn planted_log_file_inside_a_proven_stop_does_not_unprove_it() {
    // AWS's short final digest and the StopLogging event prove the stop: a log file
    // "delivered" while logging was stopped is planted, and the gap stays a stop.
    let d = tempfile::tempdir().unwrap();
    let b =
        two_regions().stop_logging(ts("2025-03-01T02:20:00Z"), Some(ts("2025-03-01T05:05:00Z")));
    let w = b.write(d.path());
    b.write_unlisted_log(
        &w,
        "123456789012",
        "us-east-1",
        ts("2025-03-01T03:30:00Z"),
        &[Event::new(
            ts("2025-03-01T03:25:00Z"),
            "ec2.amazonaws.com",
            "DescribeInstances",
        )],
    );
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    for region in ["us-east-1", "eu-central-1"] {
        let causes: Vec<&str> = findings_of(&r, "coverage_gap")
            .iter()
            .filter(|g| g["region"] == region)
            .map(|g| g["cause"].as_str().unwrap())
            .collect();
        assert_eq!(causes, ["logging_stopped"], "{region}");
    }
    let planted = findings_of(&r, "log_unreferenced");
    assert_eq!(planted.len(), 1);
    assert_eq!(
        planted[0]["severity"], "high",
        "AWS delivers nothing during a proven stop"
    );
}

/// `--start`/`--end` within the conformance bundles' day (`24:00` is the next midnight).
fn day(start: &str, end: &str) -> [String; 4] {
    let at = |hm: &str| match hm {
        "24:00" => "2025-01-07T00:00:00Z".to_owned(),
        _ => format!("2025-01-06T{hm}:00Z"),
    };
    ["--start".into(), at(start), "--end".into(), at(end)]
}

fn verify_with(b: &std::path::Path, args: &[String]) -> (i32, Value) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, r, _) = verify_json(b, &args);
    (code, r)
}

#[test]
fn window_ending_inside_a_deleted_digests_hour_still_names_it_missing() {
    // The deleted digest covers 11:54-12:54; a window ending at 12:00 holds its first
    // minutes, so the hole is `digest_missing`, not "no evidence".
    let (_d, b) = scenario_copy("delete_digest");
    let (code, r) = verify_with(&b, &day("06:00", "12:00"));
    assert_eq!(code, 1);
    assert_eq!(
        findings_of(&r, "digest_missing").len(),
        1,
        "{:?}",
        kinds_above_info(&r)
    );
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0]["cause"], "digest_missing");
}

#[test]
fn problems_wholly_outside_the_window_are_recorded_not_judged() {
    // SPEC: evidence outside the window is proof, and does not widen the verdict.
    for scenario in ["modify_digest", "truncated_digest"] {
        let (_d, b) = scenario_copy(scenario);
        let (code, r) = verify_with(&b, &day("14:00", "20:00"));
        assert_eq!(
            (code, r["verdict"].as_str()),
            (0, Some("VERIFIED")),
            "{scenario}"
        );
        let recorded: Vec<&Value> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"].as_str().unwrap().starts_with("digest_"))
            .collect();
        assert!(!recorded.is_empty(), "{scenario}: still in the report");
        assert!(
            recorded.iter().all(|f| f["severity"] == "info"),
            "{scenario}"
        );
        // Inside the window, the same bundle is judged as before.
        let (code, _) = verify_with(&b, &day("00:00", "20:00"));
        assert_eq!(code, 1, "{scenario}");
    }
}

#[test]
fn newest_digest_deleted_with_its_log_file_left_is_digest_missing() {
    // The newest digest (23:48-00:48) is gone; the log file named 00:00 holds 23:41-23:57
    // and the trail status proves the digest was delivered: a digest is missing.
    let (_d, b) = scenario_copy("clean");
    for f in files_matching(&b, &["/CloudTrail-Digest/us-east-1/", "20250107T004848Z"]) {
        std::fs::remove_file(f).unwrap();
    }
    let (code, r) = verify_with(&b, &day("00:00", "24:00"));
    assert_eq!(code, 1);
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 1, "{:?}", kinds_above_info(&r));
    assert_eq!(
        (gaps[0]["region"].as_str(), gaps[0]["cause"].as_str()),
        (Some("us-east-1"), Some("digest_missing"))
    );
}

#[test]
fn log_file_whose_next_digest_is_gone_is_unproven_not_injected() {
    // AWS lists a file named a few minutes before a digest's end in the next digest (it
    // reaches S3 minutes later). With that digest deleted, the file cannot be proven
    // either way: `low`, not "AWS did not deliver this file".
    let (_d, b) = scenario_copy("clean");
    for f in files_matching(&b, &["/CloudTrail-Digest/us-east-1/", "T234848Z"])
        .into_iter()
        .chain(files_matching(
            &b,
            &["/CloudTrail-Digest/us-east-1/", "T004848Z"],
        ))
    {
        std::fs::remove_file(f).unwrap();
    }
    let (_, r) = verify_with(&b, &day("00:00", "24:00"));
    let unref = findings_of(&r, "log_unreferenced");
    assert!(!unref.is_empty());
    assert!(unref.iter().all(|f| f["severity"] == "low"), "{unref:?}");
}

#[test]
fn bad_sidecar_on_an_authentic_digest_does_not_blame_the_next_digest() {
    // Only the S3 metadata (sidecar) of a middle digest is altered: that digest fails its
    // signature check (as `aws cloudtrail validate-logs` says), but the chain is intact:
    // the next digest's hash link holds, and it is not "broken".
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let mid = w.digests_of("us-east-1")[3].clone();
    let sidecar = mid.sidecar.as_ref().unwrap();
    let mut v: Value = serde_json::from_slice(&std::fs::read(sidecar).unwrap()).unwrap();
    v["Metadata"]["signature"] = "ab".repeat(256).into();
    std::fs::write(sidecar, serde_json::to_vec(&v).unwrap()).unwrap();
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let bad = findings_of(&r, "digest_signature_invalid");
    assert_eq!(bad.len(), 1, "{:?}", kinds_above_info(&r));
    assert!(bad[0]["path"]
        .as_str()
        .unwrap()
        .ends_with(mid.path.file_name().unwrap().to_str().unwrap()));
    assert!(
        findings_of(&r, "digest_chain_broken").is_empty(),
        "{:?}",
        kinds_above_info(&r)
    );
}

#[test]
fn window_wholly_inside_a_stop_is_a_stop_not_an_uncovered_region() {
    // The chain's final digest before the window and its restart after it are the proof.
    let (_d, b) = scenario_copy("stop_logging");
    let (code, r) = verify_with(&b, &day("10:00", "11:00"));
    assert_eq!(code, 1);
    assert!(
        findings_of(&r, "region_uncovered").is_empty(),
        "{:?}",
        kinds_above_info(&r)
    );
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 3);
    assert!(gaps.iter().all(|g| g["cause"] == "logging_stopped"));
}

#[test]
fn digest_copied_from_another_region_stands_for_its_own_hour() {
    // us-west-2's digest copied over eu-west-1's: it is invalid there, and the hole it
    // leaves is eu-west-1's own hour (unverified), not the hour the copy claims.
    let (_d, b) = scenario_copy("clean");
    let ours = files_matching(&b, &["/CloudTrail-Digest/eu-west-1/", "T125431Z.json.gz"])
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "gz"))
        .unwrap();
    let theirs = files_matching(&b, &["/CloudTrail-Digest/us-west-2/", "T124637Z.json.gz"])
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "gz"))
        .unwrap();
    std::fs::copy(&theirs, &ours).unwrap();
    let sidecar = |p: &std::path::Path| {
        p.with_file_name(format!(
            "{}.head.json",
            p.file_name().unwrap().to_string_lossy()
        ))
    };
    std::fs::copy(sidecar(&theirs), sidecar(&ours)).unwrap();
    let (code, r) = verify_with(&b, &day("00:00", "24:00"));
    assert_eq!(code, 1);
    assert_eq!(findings_of(&r, "digest_signature_invalid").len(), 1);
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 1, "{:?}", kinds_above_info(&r));
    assert_eq!(
        (
            gaps[0]["cause"].as_str(),
            gaps[0]["start"].as_str(),
            gaps[0]["end"].as_str()
        ),
        (
            Some("unverified"),
            Some("2025-01-06T11:54:31Z"),
            Some("2025-01-06T12:54:31Z")
        )
    );
}

#[test]
fn a_stop_the_trail_status_contradicts_is_evidence_gone() {
    // The chains end with AWS's final digest, but the trail status says digests were
    // delivered hours later: the restart and everything after it were deleted.
    let d = tempfile::tempdir().unwrap();
    let w = two_regions()
        .stop_logging(ts("2025-03-01T02:20:00Z"), None)
        .edit_config(|file, v| {
            if file.contains("get-trail-status") {
                v["LatestDigestDeliveryTime"] = "2025-03-01T08:30:00Z".into();
            }
        })
        .write(d.path());
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 2, "{:?}", kinds_above_info(&r));
    assert_gaps_all(&gaps, "no_evidence", "high");
}

#[test]
fn planted_log_file_keyed_in_a_digests_last_minutes_is_injected() {
    // Keyed 23:45, it would reach S3 before the next digest's start or within it: both
    // are verified and neither lists it.
    let (_d, b) = scenario_copy("clean");
    let real = files_matching(&b, &["/CloudTrail/us-east-1/", "20250106T2340Z"]).remove(0);
    let planted = real.with_file_name(
        "111122223333_CloudTrail_us-east-1_20250106T2345Z_ZZZZbbbbCCCCdddd.json.gz",
    );
    std::fs::copy(&real, &planted).unwrap();
    let (code, r) = verify_with(&b, &day("00:00", "24:00"));
    assert_eq!(code, 1);
    let f = findings_of(&r, "log_unreferenced");
    assert_eq!(f.len(), 1, "{:?}", kinds_above_info(&r));
    assert_eq!(f[0]["severity"], "high");
}

#[test]
fn window_before_a_chains_first_digest_is_uncovered_not_stopped() {
    // Nothing before the bundle's first digest: no chain end, no final digest, no stop.
    let (_d, b) = scenario_copy("clean");
    let (_, r, _) = verify_json(
        &b,
        &[
            "--start",
            "2025-01-05T00:00:00Z",
            "--end",
            "2025-01-05T12:00:00Z",
        ],
    );
    assert_eq!(
        findings_of(&r, "region_uncovered").len(),
        3,
        "{:?}",
        kinds_above_info(&r)
    );
    assert!(
        findings_of(&r, "coverage_gap").is_empty(),
        "{:?}",
        kinds_above_info(&r)
    );
}

#[test]
fn hours_before_a_chains_first_digest_with_no_start_recorded_are_no_evidence() {
    // The bundle begins with a chain's first digest (previous fields null), logging on for
    // a month by the trail status and no StartLogging: a window reaching back before it
    // shows hours with no evidence, not a stop (no chain ended, nothing says logging began),
    // as the hours after a chain's last digest are.
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    assert!(w.digests_of("us-east-1")[0].chain_start);
    let (code, r, _) = verify_json(
        &w.root,
        &["--start", "2025-02-28T22:00:00Z", "--end", &w.end_iso()],
    );
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    for g in &gaps {
        assert_eq!(
            (g["cause"].as_str(), g["start"].as_str(), g["end"].as_str()),
            (
                Some("no_evidence"),
                Some("2025-02-28T22:00:00Z"),
                Some("2025-03-01T00:00:00Z")
            ),
            "{g}"
        );
    }
    assert_eq!(code, 1);
}

#[test]
fn hours_before_a_chain_that_logging_started_are_a_stop_even_without_the_earlier_chain() {
    // Stopped at 02:20, started at 05:05; the copy keeps nothing from before the restart.
    // The StartLogging record and the status's StartLoggingTime say logging began where the
    // chain starts: the window's hours before it are a stop.
    let d = tempfile::tempdir().unwrap();
    let restart = ts("2025-03-01T05:05:00Z");
    let w = two_regions()
        .stop_logging(ts("2025-03-01T02:20:00Z"), Some(restart))
        .write(d.path());
    for region in ["us-east-1", "eu-central-1"] {
        delete_digests(&w, region, |dg| dg.start < restart);
        delete_logs(&w, region, |l| l.delivered < restart);
    }
    let (_, r, _) = verify_json(
        &w.root,
        &["--start", "2025-03-01T03:00:00Z", "--end", &w.end_iso()],
    );
    let gaps = findings_of(&r, "coverage_gap");
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    for g in &gaps {
        assert_eq!(g["cause"], "logging_stopped", "{g}");
        assert_eq!(g["start"], "2025-03-01T03:00:00Z", "{g}");
    }
}

#[test]
fn a_signed_link_to_another_chain_or_past_a_digest_breaks_the_chain() {
    // Links re-signed so that hash and signature match what they name: only the chain's
    // shape (one account, region and trail; no fork) shows them.
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let east = w.digests_of("us-east-1");
    let central = w.digests_of("eu-central-1");
    let newest = east[east.len() - 1];
    let link_to = |target: &DigestFile| {
        edit_digest(&newest.path, |v| {
            v["previousDigestS3Object"] = target.key.clone().into();
            v["previousDigestHashValue"] = sha256_hex(&gunzip_file(&target.path)).into();
            v["previousDigestSignature"] = target.signature.clone().into();
        });
        resign_digest(&newest.path, Key::Test);
    };
    for (target, why) in [
        (central[central.len() - 2], "another chain"),
        (east[east.len() - 3], "skips a digest"),
    ] {
        link_to(target);
        let (code, r) = run(&w, &[]);
        assert_eq!(code, 1);
        let broken = findings_of(&r, "digest_chain_broken");
        assert!(
            broken.len() == 1
                && broken[0]["path"].as_str().unwrap().ends_with(&newest.key)
                && broken[0]["message"].as_str().unwrap().contains(why),
            "{why}: {:?}",
            r["findings"]
        );
        assert!(findings_of(&r, "digest_signature_invalid").is_empty());
    }
}

#[test]
fn a_stop_for_good_whose_final_digests_are_deleted_is_still_a_stop_from_the_stop_on() {
    // Logging stopped and never restarted; AWS's final digests (the proof of the stop) are
    // deleted. The status's StopLoggingTime still proves it: from the stop on the gap is
    // logging_stopped; before it, the log files the deleted digests listed are unverified.
    let d = tempfile::tempdir().unwrap();
    let stop = ts("2025-03-01T03:20:00Z");
    let w = two_regions().stop_logging(stop, None).write(d.path());
    for region in ["us-east-1", "eu-central-1"] {
        delete_digests(&w, region, |dg| dg.end > stop);
    }
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    let gaps = findings_of(&r, "coverage_gap");
    for region in ["us-east-1", "eu-central-1"] {
        let mine: Vec<_> = gaps.iter().filter(|g| g["region"] == region).collect();
        let stopped: Vec<_> = mine
            .iter()
            .filter(|g| g["cause"] == "logging_stopped")
            .collect();
        assert!(
            stopped.len() == 1
                && stopped[0]["start"] == iso(stop)
                && stopped[0]["end"] == w.end_iso(),
            "{region}: {mine:?}"
        );
        assert!(
            mine.iter()
                .any(|g| g["cause"] == "unverified" && g["end"] == iso(stop)),
            "{region}: {mine:?}"
        );
    }
}

#[test]
fn a_planted_digest_naming_a_digests_previous_leaves_the_real_successor_alone() {
    // A digest signed by a key in no export, under a key of its own a minute before the
    // real one, naming the same previous digest: it is the planted file's own finding
    // (digest_key_unknown); the authentic digest, which AWS signed, is not a fork.
    let d = tempfile::tempdir().unwrap();
    let w = two_regions().write(d.path());
    let east = w.digests_of("us-east-1");
    let real = east[east.len() - 2];
    let stamp = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .format("%Y%m%dT%H%M%SZ")
            .to_string()
    };
    let planted_key = real.key.replace(&stamp(real.end), &stamp(real.end - 60));
    let planted = real
        .path
        .with_file_name(planted_key.rsplit('/').next().unwrap());
    std::fs::copy(&real.path, &planted).unwrap();
    edit_digest(&planted, |v| {
        v["digestS3Object"] = planted_key.clone().into();
        v["digestStartTime"] = iso(real.start - 60).into();
        v["digestEndTime"] = iso(real.end - 60).into();
    });
    forge_digest_file(&planted, Key::Forger);
    let (code, r) = run(&w, &[]);
    assert_eq!(code, 1);
    assert!(
        findings_of(&r, "digest_chain_broken").is_empty(),
        "{:?}",
        r["findings"]
    );
    let unknown = findings_of(&r, "digest_key_unknown");
    assert!(
        unknown.len() == 1 && unknown[0]["path"].as_str().unwrap().ends_with(&planted_key),
        "{unknown:?}"
    );
}

#[test]
fn another_accounts_stop_of_a_trail_of_the_same_name_explains_no_gap_here() {
    // Two accounts, each with its own trail `audit`, given together. A stops logging for
    // good; B keeps logging, but its newest digests and log files are deleted. A's stop
    // says nothing of B: B's gap is evidence gone, never a stop.
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let start = ts("2025-03-01T00:00:00Z");
    let one = |account: &str| {
        Bundle::new(account, "audit", "us-east-1")
            .regions(&["us-east-1"])
            .window(start, 8)
    };
    let _a = one("111111111111")
        .stop_logging(ts("2025-03-01T05:00:00Z"), None)
        .write(da.path());
    let b = one("222222222222").write(db.path());
    let cut = ts("2025-03-01T03:00:00Z");
    delete_digests_after(&b, "us-east-1", cut);
    delete_logs_from(&b, "us-east-1", cut);
    let root_b = db.path().to_string_lossy().into_owned();
    let (_, r, _) = verify_json(
        da.path(),
        &[
            root_b.as_str(),
            "--start",
            &b.start_iso(),
            "--end",
            &b.end_iso(),
        ],
    );
    let gaps: Vec<_> = findings_of(&r, "coverage_gap")
        .into_iter()
        .filter(|g| g["account"] == "222222222222")
        .collect();
    assert!(
        !gaps.is_empty() && gaps.iter().all(|g| g["cause"] != "logging_stopped"),
        "{gaps:?}"
    );
}
