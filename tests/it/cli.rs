//! The command line as a user meets it: exit codes, outputs, errors with hints, and the
//! promise that the evidence is never written to.

use crate::common::*;
use crate::fixture::{compact, gzip_bytes, read_json_gz, truncate_file};
use std::collections::BTreeMap;
use std::path::Path;

const WINDOW: [&str; 4] = [
    "--start",
    "2025-01-06T00:00:00Z",
    "--end",
    "2025-01-07T00:00:00Z",
];

#[test]
fn bad_arguments_exit_2_with_a_hint() {
    let (_d, b) = scenario_copy("clean");
    let out = trailproof()
        .args(["verify", "/nonexistent/evidence"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: input `/nonexistent/evidence` does not exist")
            && err.contains("hint:"),
        "{err}"
    );

    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .args(["--start", "last tuesday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));

    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .args(["--fail-on", "urgent"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .args([
            "--start",
            "2025-01-07T00:00:00Z",
            "--end",
            "2025-01-06T00:00:00Z",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // clap's own errors (unknown flag) are exit 2 as well.
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_file_is_never_replaced_without_force_nor_written_into_the_evidence() {
    let (d, b) = scenario_copy("clean");
    let out_file = d.path().join("report.json");
    trailproof()
        .arg("verify")
        .arg(&b)
        .args(WINDOW)
        .arg("--json")
        .arg(&out_file)
        .arg("--quiet")
        .assert()
        .code(0);
    let first: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(first["verdict"], "VERIFIED");

    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .arg("--json")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );

    trailproof()
        .arg("verify")
        .arg(&b)
        .args(WINDOW)
        .arg("--json")
        .arg(&out_file)
        .args(["--force", "--quiet"])
        .assert()
        .code(0);

    let inside = b.join("report.json");
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .arg("--json")
        .arg(&inside)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!inside.exists());
}

#[test]
fn outputs_never_reach_the_evidence_even_with_force() {
    let (d, b) = scenario_copy("clean");
    let victim = files_matching(&b, &["/keys/"]).remove(0);
    let before = std::fs::read(&victim).unwrap();
    let refused = |args: &[&std::ffi::OsStr], inputs: &[&Path], what: &str| {
        let out = trailproof()
            .arg("verify")
            .args(inputs)
            .args(WINDOW)
            .args(args)
            .args(["--force", "--quiet"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{what}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // A link planted where the report goes, pointing into the evidence (or nowhere).
    let link = d.path().join("report.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let err = refused(&["--json".as_ref(), link.as_os_str()], &[&b], "link");
    assert!(err.contains("never writes into the evidence"), "{err}");
    let dangling = d.path().join("report2.json");
    std::os::unix::fs::symlink(b.join("new.json"), &dangling).unwrap();
    refused(
        &["--json".as_ref(), dangling.as_os_str()],
        &[&b],
        "dangling link",
    );
    assert!(!b.join("new.json").exists());
    // The input itself, when it is a file (an archive).
    let tgz = d.path().join("bundle.tar.gz");
    tar_with(&b, &tgz, |_| {});
    let archived = std::fs::read(&tgz).unwrap();
    refused(&["--json".as_ref(), tgz.as_os_str()], &[&tgz], "archive");
    assert_eq!(std::fs::read(&tgz).unwrap(), archived);
    // Both reports into one file.
    let one = d.path().join("one.out");
    refused(
        &[
            "--json".as_ref(),
            one.as_os_str(),
            "--html".as_ref(),
            one.as_os_str(),
        ],
        &[&b],
        "same file",
    );
    assert_eq!(std::fs::read(&victim).unwrap(), before);
    // A link that leads outside the evidence, such as /dev/stdout, is written through.
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .args(WINDOW)
        .args(["--json", "/dev/stdout", "--force", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"schema_version\""));
}

#[test]
fn bad_environment_and_thread_counts_are_errors_not_guesses() {
    let (_d, b) = scenario_copy("clean");
    for (env, threads) in [(Some("1e9"), "2"), (Some("abc"), "2"), (None, "100000")] {
        let mut cmd = trailproof();
        cmd.arg("verify")
            .arg(&b)
            .args(["--threads", threads, "--quiet"]);
        match env {
            Some(v) => cmd.env("SOURCE_DATE_EPOCH", v),
            None => cmd.env_remove("SOURCE_DATE_EPOCH"),
        };
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{env:?} {threads}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(if env.is_some() {
                "SOURCE_DATE_EPOCH"
            } else {
                "--threads"
            }),
            "{err}"
        );
    }
}

fn snapshot_tree(root: &Path) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    walk(root)
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap();
            (
                p.to_string_lossy().into_owned(),
                (std::fs::read(&p).unwrap(), m.modified().unwrap()),
            )
        })
        .collect()
}

#[test]
fn evidence_is_byte_and_mtime_identical_after_a_run() {
    let (d, b) = scenario_copy("modify_log");
    let before = snapshot_tree(&b);
    trailproof()
        .arg("verify")
        .arg(&b)
        .arg("--json")
        .arg(d.path().join("r.json"))
        .assert()
        .code(1);
    trailproof()
        .arg("verify")
        .arg(&b)
        .args(["--format", "csv"])
        .assert()
        .code(1);
    assert_eq!(before, snapshot_tree(&b));
    assert_eq!(
        walk(&b).len(),
        before.len(),
        "no file added to the evidence"
    );
}

#[test]
fn report_is_identical_whatever_the_thread_count() {
    let (_d, b) = scenario_copy("stop_logging");
    let run = |threads: &str| {
        trailproof()
            .arg("verify")
            .arg(&b)
            .args([
                "--format",
                "json",
                "--deterministic",
                "--no-progress",
                "--threads",
                threads,
            ])
            .output()
            .unwrap()
            .stdout
    };
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(one, run("2"));
    assert_eq!(one, run("4"));
}

#[test]
fn generated_at_comes_from_source_date_epoch() {
    let (_d, b) = scenario_copy("clean");
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .args(["--format", "json"])
        .env("SOURCE_DATE_EPOCH", "1736208000")
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["generated_at"], "2025-01-07T00:00:00Z");
    let (_, r, _) = verify_json(&b, &[]);
    assert_eq!(r["generated_at"], "1970-01-01T00:00:00Z");
}

#[test]
fn fail_on_moves_the_exit_status() {
    let (_d, b) = scenario_copy("clean");
    // clean holds one info finding (quiet hours) and nothing above it.
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!((code, r["verdict"].as_str()), (0, Some("VERIFIED")));
    let (code, _, _) = verify_json(&b, &[&WINDOW[..], &["--fail-on", "info"]].concat());
    assert_eq!(code, 1);
    let (_d, b) = scenario_copy("delete_log");
    let (code, _, _) = verify_json(&b, &[&WINDOW[..], &["--fail-on", "critical"]].concat());
    assert_eq!(code, 0, "log_missing is high, below critical");
}

#[test]
fn every_format_reports_the_same_findings() {
    let (_d, b) = scenario_copy("delete_log");
    let (_, r, _) = verify_json(&b, &WINDOW);
    let n = r["findings"].as_array().unwrap().len();
    let jsonl = trailproof()
        .arg("verify")
        .arg(&b)
        .args(WINDOW)
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(jsonl.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), n);
    assert!(lines.iter().any(|f| f["kind"] == "log_missing"));
    let csv = trailproof()
        .arg("verify")
        .arg(&b)
        .args(WINDOW)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    assert!(text.starts_with("kind,severity,account,region"));
    assert_eq!(text.lines().count(), n + 1);
    let txt = trailproof()
        .arg("verify")
        .arg(&b)
        .args(WINDOW)
        .output()
        .unwrap();
    let t = String::from_utf8(txt.stdout).unwrap();
    assert!(
        t.starts_with("trailproof ") && t.contains("FINDINGS") && t.contains("log_missing"),
        "{t}"
    );
    let quiet = trailproof()
        .arg("verify")
        .arg(&b)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(quiet.status.code(), Some(1));
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());
}

#[test]
fn manifest_hashes_every_input_file() {
    let (_d, b) = scenario_copy("clean");
    std::fs::write(b.join("README.txt"), b"collected by J. Doe").unwrap();
    let (_, r, _) = verify_json(&b, &WINDOW);
    let files = r["inputs"]["files"].as_array().unwrap();
    assert_eq!(files.len(), walk(&b).len());
    let note = files.iter().find(|f| f["path"] == "README.txt").unwrap();
    assert_eq!(note["size"], 19);
    let want = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(b"collected by J. Doe");
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert_eq!(note["sha256"], want.as_str());
    for f in files {
        assert_eq!(f["sha256"].as_str().map(str::len), Some(64), "{f}");
    }
    assert!(has_finding(&r, "input_ignored", "README.txt"));
}

#[test]
fn account_filter_limits_the_evidence() {
    let (_d, b) = scenario_copy("org_trail");
    let (code, all, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 0);
    assert_eq!(all["summary"]["accounts"], 2);
    let (code, one, _) = verify_json(&b, &[&WINDOW[..], &["--account", "444455556666"]].concat());
    assert_eq!(code, 0);
    assert_eq!(one["summary"]["accounts"], 1);
    // The report says what it was narrowed to.
    assert_eq!(all["scope"]["accounts"], serde_json::json!([]));
    assert_eq!(
        one["scope"]["accounts"],
        serde_json::json!(["444455556666"])
    );
    assert!(one["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["account"] == "444455556666"));
    // The other account's files are still in the manifest: they were handed over.
    assert_eq!(one["inputs"], all["inputs"]);
    // Filtered while records spill too.
    let (_, spilled, _) = verify_json(
        &b,
        &[
            &WINDOW[..],
            &["--account", "444455556666", "--memory-mib", "0.002"],
        ]
        .concat(),
    );
    assert_eq!(spilled, one);
}

#[test]
fn archives_give_the_report_a_folder_gives() {
    let (d, b) = scenario_copy("delete_digest");
    let tgz = d.path().join("bundle.tar.gz");
    tar_with(&b, &tgz, |_| {});
    let zip_path = d.path().join("bundle.zip");
    zip_dir(&b, &zip_path, |_| {});
    let strip = |mut r: serde_json::Value| {
        r.as_object_mut().unwrap().remove("inputs");
        r
    };
    let (c1, folder, _) = verify_json(&b, &WINDOW);
    let (c2, targz, _) = verify_json(&tgz, &WINDOW);
    let (c3, zipped, _) = verify_json(&zip_path, &WINDOW);
    assert_eq!((c1, c2, c3), (1, 1, 1));
    assert!(has_finding(&folder, "digest_missing", "T125431Z.json.gz"));
    assert_eq!(strip(folder.clone()), strip(targz.clone()));
    assert_eq!(strip(folder), strip(zipped));
    // The archive itself is in the manifest.
    assert!(targz["inputs"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["role"] == "archive"));
}

#[test]
fn html_report_is_self_contained_and_escapes_the_evidence() {
    let (d, b) = scenario_copy("stop_logging");
    let html = d.path().join("report.html");
    trailproof()
        .arg("verify")
        .arg(&b)
        .args(WINDOW)
        .arg("--html")
        .arg(&html)
        .arg("--quiet")
        .assert()
        .code(1);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>")
            && page.contains("FINDINGS")
            && page.contains("logging_stopped")
    );
    assert!(
        page.contains("class=\"c stopped\""),
        "the stop shows in the heat map"
    );
    assert!(!page.contains("<script") && !page.contains("http://") && !page.contains("https://"));
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "never replaced without --force");
}

#[test]
fn default_window_judges_every_verified_digests_listing() {
    // Without --start/--end the window is the digests' span: a log file the newest digest
    // lists, delivered after the last whole hour, is still checked. With an explicit
    // window ending before its events, it is proof outside the window, not a finding.
    let (_d, b) = scenario_copy("clean");
    let tail = files_matching(&b, &["/CloudTrail/us-east-1/", "20250107T0000Z"]).remove(0);
    let name = tail.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::remove_file(&tail).unwrap();
    let (code, r, _) = verify_json(&b, &[]);
    assert_eq!(code, 1);
    assert!(
        has_finding(&r, "log_missing", &name),
        "{:?}",
        kinds_above_info(&r)
    );
    let (code, r, _) = verify_json(
        &b,
        &[
            "--start",
            "2025-01-06T00:00:00Z",
            "--end",
            "2025-01-06T23:00:00Z",
        ],
    );
    assert_eq!((code, r["verdict"].as_str()), (0, Some("VERIFIED")));
}

/// The time a bucket key names (`..._20250106T093827Z...`), as `YYYYMMDDTHHMMSS`.
fn key_stamp(p: &Path) -> Option<String> {
    let name = p.file_name()?.to_string_lossy().into_owned();
    let at = name.find("_2025")? + 1;
    let digits: String = name
        .get(at..)?
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    Some(format!("{digits:0<15}"))
}

/// Cut a copy of `stop_logging` where the bucket stood just after the stop: every object
/// keyed after the final digests (09:38:27) removed.
fn copy_ends_at_the_stop(b: &Path) {
    for f in walk(b) {
        if key_stamp(&f).is_some_and(|t| t.as_str() > "20250106T093827") {
            std::fs::remove_file(&f).unwrap();
        }
    }
}

#[test]
fn default_window_reaches_the_last_minutes_every_chain_covers() {
    // A clean bundle: the window runs to the earliest of the regions' last digest ends
    // (00:46:37), not past it (no region left a few minutes short) nor back to the last
    // whole hour.
    let (_d, b) = scenario_copy("clean");
    let (code, r, _) = verify_json(&b, &[]);
    assert_eq!((code, r["verdict"].as_str()), (0, Some("VERIFIED")));
    assert_eq!(r["window"]["start"], "2025-01-06T00:00:00Z");
    assert_eq!(r["window"]["end"], "2025-01-07T00:46:37Z");

    // A bucket copied just after logging was stopped: the final digests end at 09:38:27,
    // the StopLogging (09:23:27) lies after the last whole hour, and must be reported.
    let (_d, b) = scenario_copy("stop_logging");
    copy_ends_at_the_stop(&b);
    let (code, r, _) = verify_json(&b, &[]);
    assert_eq!(code, 1);
    assert_eq!(r["window"]["end"], "2025-01-06T09:38:27Z");
    let stops = findings_of(&r, "logging_tampering_event");
    assert!(
        stops.iter().any(|f| f["event_name"] == "StopLogging"),
        "{:?}",
        kinds_above_info(&r)
    );
}

#[test]
fn another_trails_later_deliveries_do_not_make_a_stop_read_as_deleted_evidence() {
    // The bucket copied after logging stopped for good (the status says so), while a
    // second trail, which writes elsewhere, kept delivering digests until the next day: its
    // status says nothing of this trail's stop, which stays `logging_stopped`.
    let (_d, b) = scenario_copy("stop_logging");
    copy_ends_at_the_stop(&b);
    let config = b.join("config");
    let edit = |name: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let p = config.join(name);
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    };
    edit("get-trail-status.management-events.json", &|v| {
        v["IsLogging"] = false.into();
        v["StartLoggingTime"] = "2025-01-01T10:00:00Z".into();
        v["TimeLoggingStarted"] = "2025-01-01T10:00:00Z".into();
        v["LatestDigestDeliveryTime"] = "2025-01-06T09:38:30Z".into();
    });
    edit("describe-trails.json", &|v| {
        let mut other = v["trailList"][0].clone();
        other["Name"] = "other".into();
        other["TrailARN"] = "arn:aws:cloudtrail:us-east-1:111122223333:trail/other".into();
        other["S3BucketName"] = "another-bucket".into();
        v["trailList"].as_array_mut().unwrap().push(other);
    });
    std::fs::write(
        config.join("get-trail-status.other.json"),
        r#"{"IsLogging": true, "LatestDigestDeliveryTime": "2025-01-07T00:55:55Z"}"#,
    )
    .unwrap();
    let (_, r, _) = verify_json(&b, &WINDOW);
    let gaps: Vec<_> = findings_of(&r, "coverage_gap")
        .into_iter()
        .filter(|g| g["end"] == "2025-01-07T00:00:00Z")
        .collect();
    assert_eq!(gaps.len(), 3, "{gaps:?}");
    assert_gaps_all(&gaps, "logging_stopped", "medium");
}

#[test]
fn a_status_export_without_a_trail_export_still_says_logging_is_off() {
    // An investigator handed only get-trail-status and get-event-selectors: what they say
    // is judged (logging off), nothing they cannot say is claimed.
    for (scenario, code, want) in [
        ("config_not_logging", 1, vec!["config_not_logging"]),
        ("clean", 0, vec![]),
    ] {
        let (_d, b) = scenario_copy(scenario);
        std::fs::remove_file(b.join("config/describe-trails.json")).unwrap();
        std::fs::remove_file(b.join("config/get-trail.management-events.json")).unwrap();
        let (got, r, _) = verify_json(&b, &WINDOW);
        assert_eq!(got, code, "{scenario}: {:?}", r["findings"]);
        assert_eq!(kinds_above_info(&r), want, "{scenario}");
        assert_eq!(r["configuration"]["exported"], false);
        assert_eq!(
            r["configuration"]["trails"][0]["arn"],
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events"
        );
    }
}

#[test]
fn a_copy_made_while_logging_is_on_is_verified_without_a_window() {
    // The newest log files of a live copy, delivered after their region's last digest,
    // hold events of the default window's last minutes but no digest could list them yet:
    // evidence just outside the window, no finding.
    let (_d, b) = scenario_copy("clean");
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        let any = files_matching(&b, &[&format!("/CloudTrail/{region}/"), "20250106T23"]).remove(0);
        let mut v = read_json_gz(&any);
        for rec in v["Records"].as_array_mut().unwrap() {
            rec["eventTime"] = "2025-01-07T00:40:00Z".into();
            rec["eventID"] = format!("live-{}", rec["eventID"].as_str().unwrap()).into();
        }
        let name =
            format!("111122223333_CloudTrail_{region}_20250107T0100Z_LIVEliveLIVE0001.json.gz");
        let dir = b.join(format!(
            "bucket/AWSLogs/111122223333/CloudTrail/{region}/2025/01/07"
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), gzip_bytes(&compact(&v))).unwrap();
    }
    let (code, r, _) = verify_json(&b, &[]);
    assert_eq!(
        (code, r["verdict"].as_str()),
        (0, Some("VERIFIED")),
        "{:?}",
        r["findings"]
    );
}

#[test]
fn a_file_after_the_window_that_a_missing_digest_should_have_listed_is_still_unproven() {
    // Validation off from midday: the file named 00:00 (the window's last minutes) came
    // ten hours after the last digest, so digests were due that are not there. It is not
    // the newest file of a live copy: it stays `log_unreferenced` (low), as the others.
    let b = conformance_dir().join("validation_disabled_midway/bundle");
    let (_, r, _) = verify_json(&b, &WINDOW);
    let edge: Vec<_> = findings_of(&r, "log_unreferenced")
        .into_iter()
        .filter(|f| f["path"].as_str().unwrap().contains("_20250107T0000Z_"))
        .collect();
    assert_eq!(edge.len(), 3, "{:?}", kinds_above_info(&r));
}

#[test]
fn a_window_inside_a_deleted_digests_hour_is_that_digests_gap() {
    // No digest lies in 12:10-12:40, but the one after names the deleted one: the region
    // is not uncovered, its evidence is gone.
    let b = conformance_dir().join("delete_digest/bundle");
    let (code, r, _) = verify_json(
        &b,
        &[
            "--start",
            "2025-01-06T12:10:00Z",
            "--end",
            "2025-01-06T12:40:00Z",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        findings_of(&r, "region_uncovered").is_empty(),
        "{:?}",
        kinds_above_info(&r)
    );
    let gaps = findings_of(&r, "coverage_gap");
    assert!(
        gaps.len() == 1 && gaps[0]["region"] == "eu-west-1" && gaps[0]["cause"] == "digest_missing",
        "{gaps:?}"
    );
}

#[test]
fn one_window_bound_beyond_the_evidence_is_an_error_not_another_window() {
    let b = conformance_dir().join("clean/bundle");
    for (flag, at) in [
        ("--end", "2025-01-05T00:00:00Z"),
        ("--start", "2025-01-08T00:00:00Z"),
    ] {
        let out = trailproof()
            .args(["verify", "--no-progress", flag, at])
            .arg(&b)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(
            err.contains(flag) && err.contains("give both --start and --end"),
            "{err}"
        );
    }
}

#[test]
fn window_starting_inside_an_hour_leaves_that_hours_earlier_files_alone() {
    // The unreadable us-west-2 digest of 11:46-12:46 lists files delivered 12:00-12:39:
    // with the window starting at 12:47 they lie before it (delivery and events), so
    // that no digest proves them is no finding of the window.
    let b = conformance_dir().join("truncated_digest/bundle");
    let (code, r, _) = verify_json(
        &b,
        &[
            "--start",
            "2025-01-06T12:47:00Z",
            "--end",
            "2025-01-07T00:00:00Z",
        ],
    );
    assert_eq!(
        (code, r["verdict"].as_str()),
        (0, Some("VERIFIED")),
        "{:?}",
        findings_of(&r, "log_unreferenced")
    );
}

#[test]
fn log_file_named_after_the_window_holding_its_last_events_is_judged() {
    // AWS names the file of 23:41-23:57 for 00:00: deleting, editing or planting it
    // touches the window's records, so a window ending at midnight still judges it.
    let (_d, b) = scenario_copy("clean");
    let tail = files_matching(&b, &["/CloudTrail/us-east-1/", "20250107T0000Z"]).remove(0);
    let name = tail.file_name().unwrap().to_string_lossy().into_owned();
    let planted = tail.with_file_name(name.replace("nGSZfaTVfD2w60X9", "ZZZZbbbbCCCCdddd"));
    let mut v = read_json_gz(&tail);
    for rec in v["Records"].as_array_mut().unwrap() {
        rec["eventID"] = format!("x{}", rec["eventID"].as_str().unwrap()).into();
    }
    std::fs::write(&planted, gzip_bytes(&compact(&v))).unwrap();
    truncate_file(&tail, 0.5);
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 1);
    let unreadable = findings_of(&r, "log_unreadable");
    assert_eq!(unreadable.len(), 1, "{:?}", kinds_above_info(&r));
    // Its period runs from its oldest event (inside the window) to its delivery.
    assert!(unreadable[0]["start"].as_str().unwrap() < "2025-01-07T00:00:00Z");
    let planted_name = planted.file_name().unwrap().to_string_lossy().into_owned();
    let injected = findings_of(&r, "log_unreferenced");
    assert_eq!(injected.len(), 1);
    assert!(injected[0]["path"]
        .as_str()
        .unwrap()
        .ends_with(&planted_name));
    assert_eq!(
        injected[0]["severity"], "high",
        "a verified digest covers its delivery"
    );
}

/// Per-file records past `--memory-mib` go to temporary files and are merged back; the
/// report must not show whether they did. Every conformance bundle, with the JSON and HTML
/// reports too, at a budget so small that every stream spills into hundreds of runs.
#[test]
fn report_is_identical_whether_records_spill_or_not() {
    let root = conformance_dir();
    let mut scenarios: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path().join("bundle"))
        .filter(|p| p.is_dir())
        .collect();
    scenarios.sort();
    assert!(
        scenarios.len() >= 20,
        "conformance bundles at {}",
        root.display()
    );
    let out = tempfile::tempdir().unwrap();
    let run = |bundle: &std::path::Path, tag: &str, memory: &str| {
        let name = bundle
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let json = out.path().join(format!("{name}.{tag}.json"));
        let html = out.path().join(format!("{name}.{tag}.html"));
        let o = trailproof()
            .arg("verify")
            .arg(bundle)
            .args(["--format", "json", "--deterministic", "--no-progress"])
            .args(["--memory-mib", memory])
            .arg("--json")
            .arg(&json)
            .arg("--html")
            .arg(&html)
            .output()
            .unwrap();
        assert!(o.status.code().is_some_and(|c| c < 2), "{name}: {o:?}");
        (
            o.stdout,
            std::fs::read(json).unwrap(),
            std::fs::read(html).unwrap(),
        )
    };
    let run = &run;
    std::thread::scope(|s| {
        for chunk in scenarios.chunks(scenarios.len().div_ceil(4)) {
            s.spawn(move || {
                for b in chunk {
                    let memory = run(b, "memory", "64");
                    let spilled = run(b, "spilled", "0.002");
                    assert!(!memory.0.is_empty());
                    assert_eq!(memory.0, memory.1, "--json writes what stdout shows");
                    assert!(
                        memory == spilled,
                        "{} differs when records spill",
                        b.display()
                    );
                }
            });
        }
    });
}

#[test]
fn temporary_files_never_go_into_the_evidence() {
    let (_d, b) = scenario_copy("clean");
    let inside = b.join("bucket");
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .arg("--temp-dir")
        .arg(&inside)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("never writes into the evidence"));
    // Nor through TMPDIR.
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .env("TMPDIR", &inside)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    for bad in ["0", "-1", "NaN", "inf"] {
        let out = trailproof()
            .arg("verify")
            .arg(&b)
            .args(["--memory-mib", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--memory-mib {bad}");
    }
}

#[test]
fn an_unwritable_temporary_folder_is_an_error_that_says_what_to_do() {
    let (_d, b) = scenario_copy("clean");
    // Named with --temp-dir: checked before anything is read.
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .args(["--temp-dir", "/nonexistent/trailproof-tmp"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--temp-dir") && err.contains("not an existing folder"),
        "{err}"
    );
    // The system's (TMPDIR): found wanting only when records first spill.
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .args(["--memory-mib", "0.001"])
        .env("TMPDIR", "/nonexistent/trailproof-tmp")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("temporary file") && err.contains("--temp-dir"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // Without spilling, the same TMPDIR is never needed.
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .env("TMPDIR", "/nonexistent/trailproof-tmp")
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c < 2), "{out:?}");
}

/// Two copies of the bucket whose sidecars for one digest differ: each copy of the digest
/// is judged with the sidecar beside it, whatever order the files were read in.
#[test]
fn each_copy_of_a_digest_is_judged_with_the_sidecar_beside_it() {
    let forge = |side: &Path| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(side).unwrap()).unwrap();
        let sig = v["Metadata"]["signature"].as_str().unwrap().to_owned();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        v["Metadata"]["signature"] = format!("{flipped}{}", &sig[1..]).into();
        std::fs::write(side, serde_json::to_vec(&v).unwrap()).unwrap();
    };
    for forged in ["bucket", "copy2"] {
        let (_d, b) = scenario_copy("clean");
        copy_dir(&b.join("bucket"), &b.join("copy2"));
        let sides = files_matching(
            &b.join("bucket"),
            &["CloudTrail-Digest", "us-west-2", ".head.json"],
        );
        let first = sides.iter().max().unwrap();
        let rel = first.strip_prefix(b.join("bucket")).unwrap();
        forge(&b.join(forged).join(rel));
        let runs: Vec<serde_json::Value> = ["1", "2"]
            .iter()
            .map(|t| verify_json(&b, &[&WINDOW[..], &["--threads", t]].concat()).1)
            .collect();
        assert_eq!(runs[0], runs[1]);
        let invalid = findings_of(&runs[0], "digest_signature_invalid");
        assert_eq!(invalid.len(), 1, "{forged}: {invalid:?}");
        let digest = rel
            .to_string_lossy()
            .trim_end_matches(".head.json")
            .to_owned();
        assert_eq!(
            invalid[0]["path"].as_str().unwrap(),
            format!("{forged}/{digest}"),
            "the copy whose sidecar was forged"
        );
    }
}
