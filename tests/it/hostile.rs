//! Hostile and corrupt inputs: each gives a finding or an error naming the file, and the
//! run goes on to judge everything else. Each test copies a conformance bundle and breaks
//! one thing.

use crate::common::*;
use crate::fixture::{compact, gzip_bytes, read_json_gz, truncate_file};
use std::path::{Path, PathBuf};

const WINDOW: [&str; 4] = [
    "--start",
    "2025-01-06T00:00:00Z",
    "--end",
    "2025-01-07T00:00:00Z",
];

fn a_listed_log(b: &Path) -> PathBuf {
    files_matching(b, &["/CloudTrail/us-east-1/", "20250106T12"]).remove(0)
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The run judged everything else: all other log files are still valid.
fn rest_is_valid(r: &serde_json::Value, broken: u64) {
    let s = &r["summary"];
    assert_eq!(
        s["log_files_valid"].as_u64().unwrap() + broken,
        s["log_files"].as_u64().unwrap(),
        "{s}"
    );
}

#[test]
fn trailing_gzip_member_makes_a_log_unreadable() {
    let (_d, b) = scenario_copy("clean");
    let log = a_listed_log(&b);
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(&gz(br#"{"Records":[{"eventName":"Smuggled"}]}"#));
    std::fs::write(&log, bytes).unwrap();
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 1);
    let f = findings_of(&r, "log_unreadable");
    assert!(
        f.iter()
            .any(|f| f["path"].as_str().unwrap().ends_with(&name(&log))
                && f["message"].as_str().unwrap().contains("second member")),
        "{f:?}"
    );
    rest_is_valid(&r, 1);
}

#[test]
fn decompression_bomb_is_a_finding_not_an_oom() {
    let (_d, b) = scenario_copy("clean");
    let log = a_listed_log(&b);
    // 64 MiB of zeros inflates from ~64 KiB; the limit is 1 MiB.
    std::fs::write(&log, gz(&vec![0u8; 64 << 20])).unwrap();
    let (code, r, _) = verify_json(&b, &[&WINDOW[..], &["--max-inflate-mib", "1"]].concat());
    assert_eq!(code, 1);
    assert!(findings_of(&r, "log_unreadable")
        .iter()
        .any(|f| f["message"].as_str().unwrap().contains("limit")));
    rest_is_valid(&r, 1);
}

#[test]
fn invalid_utf8_and_deep_nesting_are_unreadable() {
    let (_d, b) = scenario_copy("clean");
    let logs = files_matching(&b, &["/CloudTrail/us-west-2/", "20250106T1"]);
    let mut bad = br#"{"Records":[{"eventName":""#.to_vec();
    bad.extend_from_slice(&[0xc3, 0x28, 0xff]);
    bad.extend_from_slice(br#""}]}"#);
    std::fs::write(&logs[0], gz(&bad)).unwrap();
    let deep = format!(
        r#"{{"Records":[{}{}]}}"#,
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    std::fs::write(&logs[1], gz(deep.as_bytes())).unwrap();
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 1);
    for l in &logs[..2] {
        assert!(has_finding(&r, "log_unreadable", &name(l)), "{}", name(l));
    }
    rest_is_valid(&r, 2);
}

#[test]
fn digest_that_is_not_gzip_is_unreadable_and_the_chain_goes_on() {
    let (_d, b) = scenario_copy("clean");
    let digest = files_matching(&b, &["CloudTrail-Digest/eu-west-1/", "T105431Z.json.gz"])
        .into_iter()
        .find(|p| !p.to_string_lossy().ends_with(".head.json"))
        .unwrap();
    std::fs::write(&digest, b"\x00\x01not gzip at all").unwrap();
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 1);
    assert!(has_finding(&r, "digest_unreadable", &name(&digest)));
    // No other digest is reported: its neighbours still verify.
    assert_eq!(
        r["summary"]["digests_verified"].as_u64().unwrap() + 1,
        r["summary"]["digests"].as_u64().unwrap()
    );
}

#[test]
fn digest_naming_itself_as_previous_breaks_the_chain_without_looping() {
    let (_d, b) = scenario_copy("clean");
    let digest = files_matching(&b, &["CloudTrail-Digest/us-east-1/", "T104848Z.json.gz"])
        .into_iter()
        .find(|p| !p.to_string_lossy().ends_with(".head.json"))
        .unwrap();
    let mut v: serde_json::Value =
        serde_json::from_slice(&gunzip(&std::fs::read(&digest).unwrap())).unwrap();
    v["previousDigestS3Object"] = v["digestS3Object"].clone();
    std::fs::write(&digest, gz(&serde_json::to_vec(&v).unwrap())).unwrap();
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 1);
    assert!(findings_of(&r, "digest_chain_broken")
        .iter()
        .any(|f| f["message"].as_str().unwrap().contains("names itself")));
    // Edited without AWS's key: its signature no longer verifies either.
    assert!(has_finding(&r, "digest_signature_invalid", &name(&digest)));
}

#[test]
fn key_in_the_wrong_format_is_reported_and_its_digests_unverifiable() {
    let (_d, b) = scenario_copy("clean");
    let keys = b.join("keys/list-public-keys.us-west-2.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&keys).unwrap()).unwrap();
    v["PublicKeyList"][0]["Value"] = "-----BEGIN RSA PUBLIC KEY----- not base64".into();
    std::fs::write(&keys, serde_json::to_vec(&v).unwrap()).unwrap();
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 1);
    assert!(findings_of(&r, "input_ignored").iter().any(|f| f["path"]
        .as_str()
        .unwrap()
        .contains("list-public-keys.us-west-2.json")));
    let unknown = findings_of(&r, "digest_key_unknown");
    assert!(!unknown.is_empty() && unknown.iter().all(|f| f["region"] == "us-west-2"));

    // A key given on the command line that is not a key: an error naming it, exit 2.
    let bogus = b.parent().unwrap().join("bogus.pem");
    std::fs::write(
        &bogus,
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .arg("--public-key")
        .arg(&bogus)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus.pem"));
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_listed_not_followed() {
    let (_d, b) = scenario_copy("clean");
    std::os::unix::fs::symlink(&b, b.join("bucket/loop")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", b.join("passwd")).unwrap();
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 0, "links are not evidence problems");
    assert!(has_finding(&r, "input_ignored", "bucket/loop"));
    assert!(has_finding(&r, "input_ignored", "passwd"));
    assert_eq!(r["verdict"], "VERIFIED");
}

#[test]
fn sidecar_that_is_not_json_falls_back_to_the_next_digest() {
    let (_d, b) = scenario_copy("clean");
    let sidecar = files_matching(
        &b,
        &["CloudTrail-Digest/us-east-1/", "T104848Z.json.gz.head.json"],
    )
    .remove(0);
    std::fs::write(&sidecar, b"{\"Metadata\": ").unwrap();
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 0, "{:?}", r["findings"]);
    assert!(has_finding(&r, "input_ignored", &name(&sidecar)));
    assert_eq!(r["summary"]["digests_verified"], r["summary"]["digests"]);
}

#[test]
fn tar_with_traversal_and_links_reports_them_and_reads_the_rest() {
    let (d, b) = scenario_copy("clean");
    let tgz = d.path().join("bundle.tar.gz");
    tar_with(&b, &tgz, |t| {
        let data = b"owned";
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // `append_data` refuses `..`, so write the name bytes directly, as an attacker would.
        let name = b"../../evil.txt";
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        t.append(&h, &data[..]).unwrap();
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(tar::EntryType::Symlink);
        l.set_size(0);
        t.append_link(&mut l, "bundle/keys/escape", "/etc/shadow")
            .unwrap();
    });
    let (code, r, _) = verify_json(&tgz, &WINDOW);
    assert_eq!(code, 0, "{:?}", kinds_above_info(&r));
    let ignored = findings_of(&r, "input_ignored");
    assert!(
        ignored
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("`..`")),
        "{ignored:?}"
    );
    assert!(
        ignored
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("link")),
        "{ignored:?}"
    );
    assert_eq!(r["summary"]["digests_verified"], 75);
    assert!(!d.path().join("evil.txt").exists() && !Path::new("/tmp/evil.txt").exists());
}

#[test]
fn zip_with_a_symlink_reports_it() {
    let (d, b) = scenario_copy("clean");
    let zp = d.path().join("bundle.zip");
    zip_dir(&b, &zp, |z| {
        z.add_symlink(
            "keys/link",
            "/etc/passwd",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
    });
    let (code, r, _) = verify_json(&zp, &WINDOW);
    assert_eq!(code, 0);
    assert!(findings_of(&r, "input_ignored")
        .iter()
        .any(|f| f["path"] == "keys/link"
            && f["message"].as_str().unwrap().contains("symbolic link")));
}

#[test]
fn truncated_archive_is_reported_and_what_was_read_is_judged() {
    let (d, b) = scenario_copy("clean");
    let tgz = d.path().join("bundle.tgz");
    tar_with(&b, &tgz, |_| {});
    let bytes = std::fs::read(&tgz).unwrap();
    std::fs::write(&tgz, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (code, r, _) = verify_json(&tgz, &WINDOW);
    assert_eq!(code, 1);
    assert!(findings_of(&r, "input_ignored")
        .iter()
        .any(|f| f["severity"] == "medium"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("corrupt or truncated")));
    let s = &r["summary"];
    assert!(
        s["digests"].as_u64().unwrap() + s["log_files"].as_u64().unwrap() > 0,
        "{s}"
    );
}

#[test]
fn empty_or_foreign_folder_is_inconclusive() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("holiday.jpg"), [0xff, 0xd8, 0xff]).unwrap();
    let (code, r, _) = verify_json(d.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(r["verdict"], "INCONCLUSIVE");
    assert!(has_finding(&r, "input_ignored", "holiday.jpg"));
}

#[test]
fn file_names_cannot_drive_the_terminal_or_forge_lines() {
    // A planted log file whose name holds an escape sequence (clear screen, green text) and
    // a newline followed by a fake verdict line.
    let (_d, b) = scenario_copy("clean");
    let log = a_listed_log(&b);
    let evil = "111122223333_CloudTrail_us-east-1_20250106T1205Z_\u{1b}[2J\u{1b}[32m\nVERIFIED\u{202e}x.json.gz";
    std::fs::copy(&log, log.with_file_name(evil)).unwrap();
    let out = trailproof()
        .arg("verify")
        .arg(&b)
        .args(WINDOW)
        .args(["--deterministic", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("log_unreferenced"), "{text}");
    assert!(
        text.contains("\\u{1b}[2J"),
        "the escape is shown, escaped: {text}"
    );
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.trim() == "VERIFIED" || l.starts_with("VERIFIED")),
        "{text}"
    );
}

#[test]
fn tar_with_two_entries_of_one_name_fails_the_run() {
    // tar extracts the last copy, trailproof reads the first: which one is the evidence is
    // ambiguous, so it must not pass quietly.
    let (d, b) = scenario_copy("clean");
    let log = a_listed_log(&b);
    let rel = log
        .strip_prefix(b.parent().unwrap())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    let tgz = d.path().join("bundle.tar.gz");
    tar_with(&b, &tgz, |t| {
        let data = b"{\"Records\":[]}";
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        t.append_data(&mut h, &rel, &data[..]).unwrap();
    });
    let (code, r, _) = verify_json(&tgz, &WINDOW);
    assert_eq!(code, 1, "{:?}", kinds_above_info(&r));
    let dup = findings_of(&r, "input_ignored")
        .into_iter()
        .find(|f| f["message"].as_str().unwrap().contains("same name"))
        .expect("duplicate reported");
    assert_eq!(dup["severity"], "high");
}

#[test]
fn zip_entry_that_cannot_be_opened_is_reported_and_the_rest_is_read() {
    // An entry with a compression method the reader lacks (here bzip2, patched into a
    // stored entry's headers) is that entry's problem; every entry after it is still read.
    let (d, b) = scenario_copy("clean");
    let zp = d.path().join("bundle.zip");
    zip_dir(&b, &zp, |z| {
        z.start_file(
            "aaa-notes.txt",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored),
        )
        .unwrap();
        std::io::Write::write_all(z, b"notes").unwrap();
    });
    let mut bytes = std::fs::read(&zp).unwrap();
    // Method field: offset 8 in the local header, 10 in the central directory header.
    let find_all = |sig: &[u8]| -> Vec<usize> {
        bytes
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == sig)
            .map(|(i, _)| i)
            .collect()
    };
    let (locals, centrals) = (find_all(b"PK\x03\x04"), find_all(b"PK\x01\x02"));
    let last_local = *locals.last().unwrap();
    let last_central = *centrals.last().unwrap();
    bytes[last_local + 8] = 12;
    bytes[last_central + 10] = 12;
    std::fs::write(&zp, &bytes).unwrap();
    let (code, r, _) = verify_json(&zp, &WINDOW);
    assert_eq!(code, 0, "{:?}", kinds_above_info(&r));
    assert!(findings_of(&r, "input_ignored")
        .iter()
        .any(|f| f["path"] == "aaa-notes.txt"
            && f["message"].as_str().unwrap().contains("cannot be read")));
    assert_eq!(r["summary"]["digests_verified"], 75);
}

#[test]
fn planted_digest_dated_far_away_cannot_make_the_window_endless() {
    // Without --start/--end the window spans the digests; one dated 0001..9999 would ask
    // for 87 million hourly cells per region. A clear error instead, saying what to do.
    let (_d, b) = scenario_copy("clean");
    let real = files_matching(&b, &["/CloudTrail-Digest/us-east-1/", "T124848Z"]).remove(0);
    let fake = real.with_file_name(
        real.file_name()
            .unwrap()
            .to_string_lossy()
            .replace("20250106T124848Z", "20250106T124849Z"),
    );
    let mut v = read_json_gz(&real);
    v["digestStartTime"] = "0001-01-01T00:00:00Z".into();
    v["digestEndTime"] = "9999-12-31T00:00:00Z".into();
    std::fs::write(&fake, gzip_bytes(&compact(&v))).unwrap();
    let out = trailproof()
        .args(["verify", "--no-progress", "--format", "json"])
        .arg(&b)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("longer than twenty years") && err.contains("--start"),
        "{err}"
    );
    // With a window, the planted digest is one more finding, and the run completes.
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 1);
    assert!(
        !findings_of(&r, "digest_signature_invalid").is_empty()
            || !findings_of(&r, "digest_signature_missing").is_empty()
    );
}

#[test]
fn corrupt_configuration_export_fails_the_run() {
    // A truncated describe-trails export: the configuration answer it holds is missing,
    // which an auditor must see, not a quiet VERIFIED.
    let (_d, b) = scenario_copy("clean");
    let f = files_matching(&b, &["config/", "describe-trails"]).remove(0);
    truncate_file(&f, 0.5);
    let (code, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(code, 1, "{:?}", kinds_above_info(&r));
    let bad = findings_of(&r, "input_ignored");
    assert!(
        bad.iter()
            .any(|x| x["severity"] == "medium" && x["path"].as_str().unwrap().ends_with(&name(&f))),
        "{bad:?}"
    );
}

#[test]
fn the_same_evidence_given_twice_is_refused() {
    let (_d, b) = scenario_copy("clean");
    // An archive inside a folder also given is read as an archive, which the folder's walk
    // does not do: that pair is accepted.
    let tgz = b.parent().unwrap().join("outer").join("bundle.tar.gz");
    std::fs::create_dir_all(tgz.parent().unwrap()).unwrap();
    tar_with(&b, &tgz, |_| {});
    let out = trailproof()
        .arg("verify")
        .arg(tgz.parent().unwrap())
        .arg(&tgz)
        .args(WINDOW)
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for second in [b.clone(), b.join("keys")] {
        let out = trailproof()
            .arg("verify")
            .arg(&b)
            .arg(&second)
            .arg("--quiet")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{second:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("already read as part of"));
    }
}

#[cfg(unix)]
#[test]
fn file_names_that_are_not_utf8_stay_distinct() {
    // Two names differing only in a byte that is not UTF-8 must not merge into one
    // U+FFFD name in the manifest and findings.
    use std::os::unix::ffi::OsStrExt;
    let (_d, b) = scenario_copy("clean");
    for byte in [0xffu8, 0xfe] {
        let bytes = [b'x', byte, b'.', b't', b'x', b't'];
        std::fs::write(b.join(std::ffi::OsStr::from_bytes(&bytes)), [byte]).unwrap();
    }
    // A name that spells the escape itself stays apart too.
    std::fs::write(b.join("x\\xff.txt"), b"spelled").unwrap();
    let (_, r, _) = verify_json(&b, &WINDOW);
    let paths: Vec<&str> = r["inputs"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .filter(|p| p.starts_with('x'))
        .collect();
    assert_eq!(paths, ["x\\\\xff.txt", "x\\xfe.txt", "x\\xff.txt"]);
    assert_eq!(
        findings_of(&r, "input_ignored")
            .iter()
            .filter(|f| f["path"].as_str().unwrap().starts_with("x\\"))
            .count(),
        3
    );
}

#[test]
fn export_with_a_byte_order_mark_is_read() {
    // Windows PowerShell writes a UTF-8 BOM before what `aws ... > file` prints.
    let (_d, b) = scenario_copy("config_not_logging");
    for f in files_matching(&b, &["config/"]) {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(std::fs::read(&f).unwrap());
        std::fs::write(&f, bytes).unwrap();
    }
    let (_, r, _) = verify_json(&b, &WINDOW);
    assert_eq!(
        findings_of(&r, "config_not_logging").len(),
        1,
        "{:?}",
        kinds_above_info(&r)
    );
    assert!(findings_of(&r, "input_ignored")
        .iter()
        .all(|f| f["severity"] == "info"));
}

#[test]
fn a_log_file_given_on_its_own_is_recognised_by_its_path() {
    // Its folders (`…/AWSLogs/ACCOUNT/CloudTrail/REGION/…`) tell it is a log file; the
    // report names it as given, a path that exists.
    let (_d, b) = scenario_copy("clean");
    let log = a_listed_log(&b);
    let (_, r, _) = verify_json(&log, &[]);
    assert_eq!(r["summary"]["log_files"], 1, "{:?}", kinds_above_info(&r));
    let files = r["inputs"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["path"].as_str().unwrap(), log.to_string_lossy());
    assert_eq!(files[0]["role"], "log");
}
