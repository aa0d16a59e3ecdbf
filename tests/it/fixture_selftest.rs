//! Proof that the fixture builder writes what AWS writes, without the trailproof binary.
//!
//! A small verifier written here from the SPEC's integrity rules (independently of the
//! builder's signing code) checks every digest signature, log hash and chain link of the
//! builder's output. The same verifier accepts the conformance bundles, which an independent
//! generator wrote and the AWS CLI validated, and rejects their attacks: so the builder's
//! byte format is the AWS format. Also here: the committed `testdata/sample/` must equal what
//! the builder writes now (`cargo test --test it -- --ignored regenerate_sample` rewrites it).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chrono::DateTime;
use md5::Md5;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::fixture::*;

// ---------------------------------------------------------------------------------------
// An independent verifier
// ---------------------------------------------------------------------------------------

struct PubKey {
    fingerprint: String,
    key: RsaPublicKey,
    from: i64,
    to: i64,
}

fn time_of(v: &Value) -> i64 {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .timestamp(),
        Value::Number(n) => n.as_f64().expect("epoch number").floor() as i64,
        other => panic!("not a time: {other}"),
    }
}

/// Every `PublicKeyList` entry of every JSON file in `keys_dir`; checks that the fingerprint
/// is the MD5 of the base64-decoded DER.
fn load_key_exports(keys_dir: &Path) -> Vec<PubKey> {
    let mut out = Vec::new();
    for entry in fs::read_dir(keys_dir).expect("keys dir") {
        let path = entry.expect("dir entry").path();
        let v: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("JSON");
        for k in v["PublicKeyList"].as_array().expect("PublicKeyList") {
            let der = base64::engine::general_purpose::STANDARD
                .decode(k["Value"].as_str().expect("Value"))
                .expect("base64");
            let fp = hex(&Md5::digest(&der));
            assert_eq!(fp, k["Fingerprint"].as_str().unwrap(), "{}", path.display());
            out.push(PubKey {
                fingerprint: fp,
                key: RsaPublicKey::from_pkcs1_der(&der).expect("PKCS#1 DER"),
                from: time_of(&k["ValidityStartTime"]),
                to: time_of(&k["ValidityEndTime"]),
            });
        }
    }
    out
}

#[derive(Default, Debug)]
struct Check {
    digests: usize,
    signatures_ok: usize,
    logs_ok: usize,
    links_ok: usize,
    chain_starts: usize,
    empty_digests: usize,
    /// Digests with no sidecar and no later digest carrying their signature.
    unsigned: Vec<String>,
    /// Chain links to digests the bundle lacks.
    missing_previous: Vec<String>,
    errors: Vec<String>,
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read dir") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn rel_key(base: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(base).expect("under base");
    rel.components()
        .map(|c| c.as_os_str().to_str().expect("UTF-8 path"))
        .collect::<Vec<_>>()
        .join("/")
}

fn sidecar_signature(digest: &Path) -> Option<String> {
    let mut side = digest.as_os_str().to_owned();
    side.push(".head.json");
    let head: Value = serde_json::from_slice(&fs::read(PathBuf::from(side)).ok()?).ok()?;
    let meta = head["Metadata"].as_object()?;
    meta.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("signature"))
        .and_then(|(_, v)| v.as_str().map(str::to_string))
}

fn gunzip(path: &Path) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let f = fs::File::open(path).ok()?;
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(f), &mut out).ok()?;
    Some(out)
}

/// Verify everything under `bucket_dir` (the folder whose subpaths are S3 keys). `realism`
/// also checks each listed log's event-time bounds against its records (slow in debug
/// builds, so only for the builder's small bundles).
fn verify_bucket(bucket_dir: &Path, keys: &[PubKey], realism: bool) -> Check {
    let mut files = Vec::new();
    files_under(bucket_dir, &mut files);
    let mut digests: BTreeMap<String, (PathBuf, Vec<u8>, Value)> = BTreeMap::new();
    let mut check = Check::default();
    for p in files {
        let key = rel_key(bucket_dir, &p);
        if key.contains("_CloudTrail-Digest_") && key.ends_with(".json.gz") {
            match gunzip(&p).and_then(|b| serde_json::from_slice(&b).ok().map(|v| (b, v))) {
                Some((b, v)) => {
                    digests.insert(key, (p, b, v));
                }
                None => check.errors.push(format!("{key}: unreadable digest")),
            }
        }
    }
    // Signatures a later digest carries for its previous one.
    let carried: BTreeMap<String, String> = digests
        .values()
        .filter_map(|(_, _, v)| {
            Some((
                v["previousDigestS3Object"].as_str()?.to_string(),
                v["previousDigestSignature"].as_str()?.to_string(),
            ))
        })
        .collect();
    for (key, (path, bytes, v)) in &digests {
        check.digests += 1;
        let s = |f: &str| v[f].as_str().unwrap_or("").to_string();
        if s("digestS3Object") != *key {
            check
                .errors
                .push(format!("{key}: digestS3Object is {}", s("digestS3Object")));
        }
        if s("digestSignatureAlgorithm") != "SHA256withRSA" {
            check.errors.push(format!("{key}: algorithm"));
        }
        // Signature over the data-signing string, built here from the SPEC's words.
        let sig = sidecar_signature(path).or_else(|| carried.get(key).cloned());
        let end = time_of(&v["digestEndTime"]);
        match sig {
            None => check.unsigned.push(key.clone()),
            Some(sig_hex) => {
                let prev_sig = v["previousDigestSignature"].as_str().unwrap_or("null");
                let data = format!(
                    "{}\n{}/{}\n{}\n{}",
                    s("digestEndTime"),
                    s("digestS3Bucket"),
                    s("digestS3Object"),
                    hex(&Sha256::digest(bytes)),
                    prev_sig
                );
                let fp = s("digestPublicKeyFingerprint");
                let candidates: Vec<&PubKey> = keys
                    .iter()
                    .filter(|k| k.fingerprint == fp && k.from <= end && end <= k.to)
                    .collect();
                let sig_bytes = decode_hex(&sig_hex);
                let hashed = Sha256::digest(data.as_bytes());
                if candidates.is_empty() {
                    check.errors.push(format!("{key}: key unknown {fp}"));
                } else if candidates.iter().any(|k| {
                    k.key
                        .verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &sig_bytes)
                        .is_ok()
                }) {
                    check.signatures_ok += 1;
                } else {
                    check.errors.push(format!("{key}: signature invalid"));
                }
            }
        }
        // Log files.
        let listed = v["logFiles"].as_array().expect("logFiles");
        if listed.is_empty() {
            check.empty_digests += 1;
            if !v["newestEventTime"].is_null() || !v["oldestEventTime"].is_null() {
                check
                    .errors
                    .push(format!("{key}: empty digest with event times"));
            }
        }
        for lf in listed {
            let obj = lf["s3Object"].as_str().expect("s3Object");
            if lf["s3Bucket"] != v["digestS3Bucket"] || lf["hashAlgorithm"] != "SHA-256" {
                check.errors.push(format!("{obj}: bucket or algorithm"));
            }
            let Some(log) = gunzip(&bucket_dir.join(obj)) else {
                check.errors.push(format!("{obj}: missing or unreadable"));
                continue;
            };
            if hex(&Sha256::digest(&log)) != lf["hashValue"].as_str().unwrap_or("") {
                check.errors.push(format!("{obj}: hash mismatch"));
                continue;
            }
            check.logs_ok += 1;
            if !realism {
                continue;
            }
            // The event-time bounds must be the records' (realism, not integrity).
            let recs: Value = serde_json::from_slice(&log).expect("log JSON");
            let times: Vec<i64> = recs["Records"]
                .as_array()
                .expect("Records")
                .iter()
                .map(|r| time_of(&r["eventTime"]))
                .collect();
            let (lo, hi) = (times.iter().min(), times.iter().max());
            if lo != Some(&time_of(&lf["oldestEventTime"]))
                || hi != Some(&time_of(&lf["newestEventTime"]))
            {
                check.errors.push(format!("{obj}: event time bounds"));
            }
        }
        // Chain link.
        match v["previousDigestS3Object"].as_str() {
            None => {
                check.chain_starts += 1;
                for f in [
                    "previousDigestS3Bucket",
                    "previousDigestHashValue",
                    "previousDigestHashAlgorithm",
                    "previousDigestSignature",
                ] {
                    if !v[f].is_null() {
                        check.errors.push(format!("{key}: chain start with {f}"));
                    }
                }
            }
            Some(prev) => match digests.get(prev) {
                None => check.missing_previous.push(key.clone()),
                Some((ppath, pbytes, _)) => {
                    let hash_ok = hex(&Sha256::digest(pbytes)) == s("previousDigestHashValue");
                    let sig_ok = sidecar_signature(ppath)
                        .is_none_or_eq(v["previousDigestSignature"].as_str());
                    if hash_ok && sig_ok {
                        check.links_ok += 1;
                    } else {
                        check.errors.push(format!("{key}: chain link broken"));
                    }
                }
            },
        }
    }
    check
}

/// `None` (no sidecar to compare with) or equal.
trait NoneOrEq {
    fn is_none_or_eq(&self, other: Option<&str>) -> bool;
}
impl NoneOrEq for Option<String> {
    fn is_none_or_eq(&self, other: Option<&str>) -> bool {
        match self {
            None => true,
            Some(s) => Some(s.as_str()) == other,
        }
    }
}

fn decode_hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

fn verify_written(w: &Written) -> Check {
    verify_bucket(
        &w.root.join("bucket"),
        &load_key_exports(&w.root.join("keys")),
        true,
    )
}

fn assert_clean(c: &Check) {
    assert!(c.errors.is_empty(), "errors: {:#?}", c.errors);
    assert!(c.unsigned.is_empty(), "unsigned: {:#?}", c.unsigned);
    assert!(
        c.missing_previous.is_empty(),
        "missing: {:#?}",
        c.missing_previous
    );
    assert_eq!(c.signatures_ok, c.digests);
}

/// A conformance scenario's bundle (`common::conformance_dir`: missing bundles fail the
/// test, as in `conformance.rs`, rather than skipping it).
fn conformance(scenario: &str) -> PathBuf {
    crate::common::conformance_dir()
        .join(scenario)
        .join("bundle")
}

fn verify_conformance(scenario: &str) -> Check {
    let b = conformance(scenario);
    verify_bucket(&b.join("bucket"), &load_key_exports(&b.join("keys")), false)
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn base() -> Bundle {
    Bundle::new("111122223333", "audit_trail.v2", "us-east-1")
        .regions(&["us-east-1", "eu-west-1", "ap-southeast-2"])
        .window(ts("2025-01-06T00:00:00Z"), 4)
        .files_per_hour(3)
        .events_per_file(3)
}

// ---------------------------------------------------------------------------------------
// The verifier itself is right: it accepts AWS-format evidence and sees attacks
// ---------------------------------------------------------------------------------------

#[test]
fn verifier_accepts_independent_conformance_bundles() {
    for scenario in ["clean", "org_trail", "key_rotation", "stop_logging"] {
        let c = verify_conformance(scenario);
        assert_clean(&c);
        assert!(c.digests > 60 && c.logs_ok > 100, "{scenario}: {c:?}");
    }
    let c = verify_conformance("chain_starts_before");
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.missing_previous.len(), 3);
    assert_eq!(c.chain_starts, 0);
}

#[test]
fn verifier_rejects_conformance_attacks() {
    let c = verify_conformance("wrong_key");
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert!(c.errors[0].contains("key unknown"));
    let c = verify_conformance("modify_log");
    assert!(
        c.errors.iter().any(|e| e.contains("hash mismatch")),
        "{:?}",
        c.errors
    );
    let c = verify_conformance("modify_digest");
    assert!(
        c.errors.iter().any(|e| e.contains("signature invalid")),
        "{:?}",
        c.errors
    );
    assert!(
        c.errors.iter().any(|e| e.contains("chain link broken")),
        "{:?}",
        c.errors
    );
    let c = verify_conformance("no_sidecars");
    assert_eq!(c.unsigned.len(), 3, "{:?}", c.unsigned);
}

// ---------------------------------------------------------------------------------------
// The builder's format is the conformance bundles' format
// ---------------------------------------------------------------------------------------

fn keys_of(v: &Value) -> Vec<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .expect("JSON")
}

#[test]
fn builder_format_matches_conformance_format() {
    let conf = conformance("clean");
    let dir = tmp();
    let w = Bundle::new("111122223333", "management-events", "us-east-1")
        .regions(&["us-east-1", "eu-west-1"])
        .write(dir.path());

    // Digest: same fields in the same order, same logFiles entry fields.
    let acct = conf.join("bucket/AWSLogs/111122223333");
    let their = acct.join("CloudTrail-Digest/us-east-1/2025/01/06/111122223333_CloudTrail-Digest_us-east-1_management-events_us-east-1_20250106T014848Z.json.gz");
    let their_v = read_json_gz(&their);
    let ours = w.digests_of("us-east-1")[1];
    let our_v = read_json_gz(&ours.path);
    assert_eq!(keys_of(&our_v), keys_of(&their_v));
    assert_eq!(
        keys_of(&our_v["logFiles"][0]),
        keys_of(&their_v["logFiles"][0])
    );
    // Same gzip header (flags, mtime 0, XFL, OS).
    assert_eq!(
        fs::read(&ours.path).unwrap()[..10],
        fs::read(&their).unwrap()[..10]
    );
    // Same object key shape, relative to the bucket.
    let shape = |k: &str| -> String {
        k.chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect()
    };
    let their_key = rel_key(&conf.join("bucket"), &their);
    assert_eq!(shape(&ours.key), shape(&their_key));
    // Sidecar: same fields, same Metadata keys.
    let their_head = read_json(&sidecar_path(&their));
    let our_head = read_json(ours.sidecar.as_ref().unwrap());
    assert_eq!(keys_of(&our_head), keys_of(&their_head));
    assert_eq!(
        keys_of(&our_head["Metadata"]),
        keys_of(&their_head["Metadata"])
    );
    assert_eq!(
        fs::read_to_string(ours.sidecar.as_ref().unwrap())
            .unwrap()
            .lines()
            .nth(1),
        fs::read_to_string(sidecar_path(&their))
            .unwrap()
            .lines()
            .nth(1),
        "4-space AWS CLI indentation"
    );

    // Log file: compact {"Records":[...]}, records with the real fields in the real order.
    let their_log = acct.join("CloudTrail/us-east-1/2025/01/06/111122223333_CloudTrail_us-east-1_20250106T0020Z_IhUMfXtwM9h3sn4P.json.gz");
    let their_bytes = gunzip_file(&their_log);
    let our_bytes = gunzip_file(&w.logs_of("us-east-1")[0].path);
    assert!(our_bytes.starts_with(b"{\"Records\":[{\"eventVersion\":"));
    assert!(their_bytes.starts_with(b"{\"Records\":[{\"eventVersion\":"));
    let their_rec = &serde_json::from_slice::<Value>(&their_bytes).unwrap()["Records"][1];
    let ours_log: Value = serde_json::from_slice(&our_bytes).unwrap();
    let plain = ours_log["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["userIdentity"]["type"] == "IAMUser")
        .expect("a record by an IAM user");
    assert_eq!(keys_of(plain), keys_of(their_rec));
    assert_eq!(
        keys_of(&plain["userIdentity"]),
        keys_of(&their_rec["userIdentity"])
    );
    let their_name = their_log.file_name().unwrap().to_str().unwrap();
    let our_name = w.logs_of("us-east-1")[0]
        .path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(our_name.len(), their_name.len());
    assert_eq!(
        our_name.matches('_').count(),
        their_name.matches('_').count()
    );

    // Keys and configuration: same documents, same fields in the same order.
    let their_keys = read_json(&conf.join("keys/list-public-keys.us-east-1.json"));
    let our_keys = read_json(w.keys_file.as_ref().unwrap());
    assert_eq!(
        keys_of(&our_keys["PublicKeyList"][0]),
        keys_of(&their_keys["PublicKeyList"][0])
    );
    for (ours, theirs) in [
        ("describe-trails.json", "describe-trails.json"),
        (
            "get-trail.management-events.json",
            "get-trail.management-events.json",
        ),
        (
            "get-trail-status.management-events.json",
            "get-trail-status.management-events.json",
        ),
        (
            "get-event-selectors.management-events.json",
            "get-event-selectors.management-events.json",
        ),
    ] {
        let o = read_json(&dir.path().join("config").join(ours));
        let t = read_json(&conf.join("config").join(theirs));
        assert_eq!(keys_of(&o), keys_of(&t), "{ours}");
        let inner = |v: &Value| match v {
            Value::Object(m) if m.contains_key("trailList") => keys_of(&v["trailList"][0]),
            Value::Object(m) if m.contains_key("Trail") => keys_of(&v["Trail"]),
            Value::Object(m) if m.contains_key("EventSelectors") => {
                keys_of(&v["EventSelectors"][0])
            }
            _ => vec![],
        };
        assert_eq!(inner(&o), inner(&t), "{ours}");
    }
}

#[test]
fn org_layout_matches_conformance_org_trail() {
    let conf = conformance("org_trail");
    let dir = tmp();
    let w = Bundle::new("111122223333", "org_audit_trail", "us-east-1")
        .org("a1b2c3d4e5")
        .member_accounts(&["444455556666"])
        .prefix("org-logs")
        .aws_cli(AwsCli::V1)
        .write(dir.path());
    assert_clean(&verify_written(&w));
    let ours = w.account_digests("444455556666", "us-east-1")[1];
    let mut theirs = Vec::new();
    files_under(
        &conf.join("bucket/org-logs/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail-Digest/us-east-1"),
        &mut theirs,
    );
    let their = theirs
        .iter()
        .find(|p| p.to_str().unwrap().ends_with("Z.json.gz"))
        .unwrap();
    let strip_times = |k: &str| -> String {
        k.chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect()
    };
    assert_eq!(
        strip_times(&ours.key),
        strip_times(&rel_key(&conf.join("bucket"), their))
    );
    assert_eq!(
        read_json_gz(&ours.path)["digestS3Object"].as_str().unwrap(),
        ours.key
    );
    // AWS CLI v1: epoch numbers in the key export and trail status, HTTP date in head-object.
    let k = read_json(w.keys_file.as_ref().unwrap());
    assert!(k["PublicKeyList"][0]["ValidityStartTime"].is_f64());
    let their_head = read_json(&sidecar_path(their));
    let our_head = read_json(ours.sidecar.as_ref().unwrap());
    let lm = |v: &Value| v["LastModified"].as_str().unwrap().len();
    assert_eq!(lm(&our_head), lm(&their_head));
    assert!(our_head["LastModified"].as_str().unwrap().ends_with(" GMT"));
    let status = read_json(
        &dir.path()
            .join("config/get-trail-status.org_audit_trail.json"),
    );
    assert!(status["LatestDeliveryTime"].is_f64());
    assert!(dir
        .path()
        .join("config/describe-organization.json")
        .is_file());
    let trail = read_json(&dir.path().join("config/get-trail.org_audit_trail.json"));
    assert_eq!(trail["Trail"]["S3KeyPrefix"], "org-logs");
    assert_eq!(trail["Trail"]["IsOrganizationTrail"], true);
}

// ---------------------------------------------------------------------------------------
// The builder's own evidence verifies, and each scenario is what it says
// ---------------------------------------------------------------------------------------

#[test]
fn clean_bundle_verifies() {
    let dir = tmp();
    let b = base();
    let w = b.write(dir.path());
    let c = verify_written(&w);
    assert_clean(&c);
    // 3 regions x (4 hourly digests + 1 covering the last delivery).
    assert_eq!(c.digests, 15);
    assert_eq!(c.chain_starts, 3);
    assert_eq!(c.links_ok, 12);
    // 3 regions x 4 hours x 3 files, every one listed exactly once.
    assert_eq!(w.logs.len(), 36);
    assert_eq!(c.logs_ok, 36);
    for d in &w.digests {
        assert!(d.start < d.end && d.end - d.start <= HOUR);
        assert!(d.logs.len() <= 3);
    }
    for l in &w.logs {
        let d = w.digest_listing(l).expect("listed");
        assert!(d.start <= l.delivered && l.delivered < d.end);
        assert!(l.oldest <= l.delivered);
        assert!(w.start <= l.oldest && l.newest < w.end);
    }
    // Not hour-aligned, and each region has its own phase.
    let phases: Vec<i64> = ["us-east-1", "eu-west-1", "ap-southeast-2"]
        .iter()
        .map(|r| w.digests_of(r)[0].end - w.start)
        .collect();
    assert!(
        phases.iter().all(|p| (1800..HOUR).contains(p)),
        "{phases:?}"
    );
    assert!(phases[0] != phases[1] || phases[1] != phases[2]);
    // The first digest starts with logging; every later one an hour.
    assert_eq!(w.digests_of("eu-west-1")[0].start, w.start);
    // Config and keys exist and name the trail.
    let trails = read_json(&dir.path().join("config/describe-trails.json"));
    assert_eq!(trails["trailList"][0]["TrailARN"], b.trail_arn());
    assert_eq!(trails["trailList"][0]["LogFileValidationEnabled"], true);
    for f in ["get-trail", "get-trail-status", "get-event-selectors"] {
        assert!(dir
            .path()
            .join(format!("config/{f}.audit_trail.v2.json"))
            .is_file());
    }
    let keys = read_json(w.keys_file.as_ref().unwrap());
    assert_eq!(
        keys["PublicKeyList"][0]["Fingerprint"],
        Key::Test.fingerprint()
    );
}

#[test]
fn records_are_realistic_management_events() {
    let dir = tmp();
    let w = base().write(dir.path());
    let mut ids = std::collections::HashSet::new();
    for l in &w.logs {
        let v = read_json_gz(&l.path);
        let recs = v["Records"].as_array().unwrap();
        assert_eq!(recs.len(), l.events);
        let mut last = 0;
        for r in recs {
            assert_eq!(r["eventVersion"], "1.10");
            assert_eq!(r["eventType"], "AwsApiCall");
            assert_eq!(r["managementEvent"], true);
            assert_eq!(r["eventCategory"], "Management");
            assert_eq!(r["awsRegion"], json!(l.region));
            assert_eq!(r["recipientAccountId"], json!(l.account));
            assert!(r["userIdentity"]["arn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:"));
            let id = r["eventID"].as_str().unwrap();
            assert_eq!(id.len(), 36);
            assert!(ids.insert(id.to_string()), "eventID {id} repeated");
            let t = time_of(&r["eventTime"]);
            assert!(t >= last, "records in time order");
            last = t;
        }
        let name = l.path.file_name().unwrap().to_str().unwrap();
        let unique = name
            .trim_end_matches(".json.gz")
            .rsplit('_')
            .next()
            .unwrap();
        assert_eq!(unique.len(), 16);
        assert!(unique.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}

#[test]
fn writing_is_deterministic() {
    let (a, b) = (tmp(), tmp());
    base()
        .stop_logging(ts("2025-01-06T01:30:00Z"), Some(ts("2025-01-06T02:20:00Z")))
        .write(a.path());
    base()
        .stop_logging(ts("2025-01-06T01:30:00Z"), Some(ts("2025-01-06T02:20:00Z")))
        .write(b.path());
    assert_same_tree(a.path(), b.path());
    let c = tmp();
    base().seed(2).write(c.path());
    assert!(
        tree(a.path()) != tree(c.path()),
        "the seed varies the content"
    );
}

#[test]
fn stop_logging_ends_and_restarts_every_chain() {
    let dir = tmp();
    let stop = ts("2025-01-06T01:23:27Z");
    let restart = ts("2025-01-06T02:40:37Z");
    let b = base().stop_logging(stop, Some(restart));
    let w = b.write(dir.path());
    let c = verify_written(&w);
    assert_clean(&c);
    assert_eq!(c.chain_starts, 6, "two chains per region");
    for region in ["us-east-1", "eu-west-1", "ap-southeast-2"] {
        let ds = w.digests_of(region);
        let fin = ds
            .iter()
            .position(|d| d.end == stop + FINAL_DIGEST_DELAY)
            .unwrap();
        let next = ds[fin + 1];
        assert!(next.chain_start);
        assert_eq!(next.start, restart);
        let v = read_json_gz(&next.path);
        assert!(v["previousDigestS3Object"].is_null() && v["previousDigestSignature"].is_null());
        // No digest covers the stopped period, no log file is delivered in it.
        assert!(ds
            .iter()
            .all(|d| d.end <= stop + FINAL_DIGEST_DELAY || d.start >= restart));
        for l in w.logs_of(region) {
            assert!(l.newest <= stop || l.oldest >= restart, "{}", l.key);
        }
    }
    // The home region's final log file holds the StopLogging and is named after its minute.
    let last = w
        .logs_of("us-east-1")
        .into_iter()
        .rfind(|l| l.delivered <= stop)
        .unwrap();
    assert_eq!(last.delivered, ts("2025-01-06T01:23:00Z"));
    assert_eq!(last.newest, stop);
    // StopLogging and StartLogging by svc-backup, in the home region only.
    let names = |region: &str| -> Vec<(String, Value)> {
        w.logs_of(region)
            .iter()
            .flat_map(|l| read_json_gz(&l.path)["Records"].as_array().unwrap().clone())
            .map(|r| (r["eventName"].as_str().unwrap().to_string(), r))
            .collect()
    };
    let home = names("us-east-1");
    let stop_rec = &home.iter().find(|(n, _)| n == "StopLogging").unwrap().1;
    assert_eq!(stop_rec["eventTime"], iso(stop));
    assert_eq!(
        stop_rec["userIdentity"]["arn"],
        "arn:aws:iam::111122223333:user/svc-backup"
    );
    assert_eq!(stop_rec["requestParameters"]["name"], json!(b.trail_arn()));
    assert!(stop_rec.get("errorCode").is_none());
    assert!(home
        .iter()
        .any(|(n, r)| n == "StartLogging" && r["eventTime"] == iso(restart)));
    assert!(!names("eu-west-1").iter().any(|(n, _)| n == "StopLogging"));
    // The trail status remembers the stop and the restart.
    let status = read_json(
        &dir.path()
            .join("config/get-trail-status.audit_trail.v2.json"),
    );
    assert_eq!(status["IsLogging"], true);
    assert_eq!(status["TimeLoggingStopped"], iso(stop));
    assert_eq!(status["TimeLoggingStarted"], iso(restart));
}

#[test]
fn stop_without_restart_reports_not_logging() {
    let dir = tmp();
    let stop = ts("2025-01-06T02:05:00Z");
    let w = base().stop_logging(stop, None).write(dir.path());
    assert_clean(&verify_written(&w));
    assert_eq!(
        w.digests_of("us-east-1").last().unwrap().end,
        stop + FINAL_DIGEST_DELAY
    );
    let status = read_json(
        &dir.path()
            .join("config/get-trail-status.audit_trail.v2.json"),
    );
    assert_eq!(status["IsLogging"], false);
    assert_eq!(status["TimeLoggingStopped"], iso(stop));
}

#[test]
fn custom_records_denied_and_data_events() {
    let dir = tmp();
    let b = base();
    let arn = b.trail_arn();
    let t = ts("2025-01-06T01:10:00Z");
    let w = b
        .record(
            Event::stop_logging(t, &arn)
                .principal("arn:aws:sts::111122223333:assumed-role/ops/mallory")
                .source_ip("203.0.113.66")
                .denied(),
        )
        .record(Event::s3_data(t + 5, "PutObject", "bkt", "a/b.txt").region("eu-west-1"))
        .record(
            Event::new(t + 9, "ec2.amazonaws.com", "RunInstances")
                .set("vpcEndpointId", json!("vpce-1")),
        )
        .data_events_only(ts("2025-01-06T03:00:00Z"), ts("2025-01-06T04:00:00Z"))
        .write(dir.path());
    assert_clean(&verify_written(&w));
    let all: Vec<Value> = w
        .logs
        .iter()
        .flat_map(|l| read_json_gz(&l.path)["Records"].as_array().unwrap().clone())
        .collect();
    let denied = all
        .iter()
        .find(|r| r["eventName"] == "StopLogging")
        .unwrap();
    assert_eq!(denied["errorCode"], "AccessDenied");
    assert_eq!(denied["awsRegion"], "us-east-1");
    assert_eq!(denied["userIdentity"]["type"], "AssumedRole");
    assert_eq!(denied["sourceIPAddress"], "203.0.113.66");
    let put = all
        .iter()
        .find(|r| r["eventName"] == "PutObject" && r["requestParameters"]["bucketName"] == "bkt")
        .unwrap();
    assert_eq!(put["managementEvent"], false);
    assert_eq!(put["eventCategory"], "Data");
    assert_eq!(put["awsRegion"], "eu-west-1");
    let run = all
        .iter()
        .find(|r| r["eventName"] == "RunInstances")
        .unwrap();
    assert_eq!(run["vpcEndpointId"], "vpce-1");
    assert_eq!(run["readOnly"], false);
    // 03:00-04:00: data events only, in every region.
    let late: Vec<&Value> = all
        .iter()
        .filter(|r| time_of(&r["eventTime"]) >= ts("2025-01-06T03:00:00Z"))
        .collect();
    assert!(!late.is_empty());
    assert!(late.iter().all(|r| r["eventCategory"] == "Data"));
}

#[test]
fn quiet_hours_get_empty_signed_digests() {
    let dir = tmp();
    let w = base()
        .quiet(
            "eu-west-1",
            ts("2025-01-06T01:00:00Z"),
            ts("2025-01-06T03:00:00Z"),
        )
        .write(dir.path());
    let c = verify_written(&w);
    assert_clean(&c);
    assert!(c.empty_digests >= 1);
    assert!(w
        .logs_of("eu-west-1")
        .iter()
        .all(|l| l.newest < ts("2025-01-06T01:00:00Z") || l.oldest >= ts("2025-01-06T03:00:00Z")));
}

#[test]
fn forged_and_badly_signed_digests_fail_only_themselves() {
    let dir = tmp();
    let w = base()
        .forge_digest("eu-west-1", -1)
        .bad_signature("us-east-1", 2)
        .write(dir.path());
    let c = verify_written(&w);
    assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
    let newest = w.digests_of("eu-west-1").last().unwrap().key.clone();
    assert!(c.errors.contains(&format!(
        "{newest}: key unknown {}",
        Key::Forger.fingerprint()
    )));
    let third = w.digests_of("us-east-1")[2].key.clone();
    assert!(c.errors.contains(&format!("{third}: signature invalid")));
    // The chain after a badly signed digest still links (it carries the bad signature).
    assert_eq!(c.links_ok, 12);
}

#[test]
fn after_the_fact_edits_and_resigning() {
    let dir = tmp();
    let w = base().write(dir.path());
    let d = w.digests_of("us-east-1")[1].clone();
    // Hide a log file: signature and the next link break.
    edit_digest(&d.path, |v| {
        v["logFiles"].as_array_mut().unwrap().remove(0);
    });
    let c = verify_written(&w);
    assert!(
        c.errors.contains(&format!("{}: signature invalid", d.key)),
        "{:?}",
        c.errors
    );
    let next = w.next_digest(&d).unwrap().key.clone();
    assert!(c.errors.contains(&format!("{next}: chain link broken")));
    // Re-signed with the real key: the digest verifies, the link to it stays broken.
    resign_digest(&d.path, Key::Test);
    let c = verify_written(&w);
    assert_eq!(c.errors, vec![format!("{next}: chain link broken")]);
    // Wrong key on the newest digest of another region: key unknown.
    let newest = w.digests_of("eu-west-1").last().unwrap().path.clone();
    forge_digest_file(&newest, Key::Forger);
    let c = verify_written(&w);
    assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
    // Edited and truncated log files.
    let l = w.logs_of("ap-southeast-2")[0].clone();
    edit_log(&l.path, |v| {
        v["Records"][0]["sourceIPAddress"] = json!("10.9.9.9")
    });
    let l2 = w.logs_of("ap-southeast-2")[1].clone();
    truncate_file(&l2.path, 0.5);
    assert!(gunzip_bytes(&fs::read(&l2.path).unwrap()).is_err());
    let c = verify_written(&w);
    assert!(c.errors.contains(&format!("{}: hash mismatch", l.key)));
    assert!(c
        .errors
        .contains(&format!("{}: missing or unreadable", l2.key)));
}

#[test]
fn sidecar_variants() {
    let dir = tmp();
    let w = base().sidecars(Sidecars::Omit).write(dir.path());
    assert!(w.digests.iter().all(|d| d.sidecar.is_none()));
    let c = verify_written(&w);
    assert!(c.errors.is_empty());
    // Only each chain's newest digest has no signature anywhere.
    assert_eq!(c.unsigned.len(), 3);
    assert_eq!(c.signatures_ok, c.digests - 3);
    let dir = tmp();
    let w = base().sidecars(Sidecars::UppercaseKeys).write(dir.path());
    let head = read_json(w.digests[0].sidecar.as_ref().unwrap());
    assert!(head["Metadata"]["Signature"].is_string());
    assert_clean(&verify_written(&w));
    // resign_digest creates a missing sidecar.
    let dir = tmp();
    let w = base().sidecars(Sidecars::Omit).write(dir.path());
    for d in w.digests.iter().filter(|d| w.next_digest(d).is_none()) {
        resign_digest(&d.path, Key::Test);
    }
    assert_clean(&verify_written(&w));
}

#[test]
fn key_rotation_and_export_forms() {
    let dir = tmp();
    let at = ts("2025-01-06T02:00:00Z");
    let w = base()
        .key_rotation(at)
        .key_export_offset(2 * 3600)
        .write(dir.path());
    assert_clean(&verify_written(&w));
    assert!(w.digests.iter().any(|d| d.key_used == Key::Rotated));
    assert!(w
        .digests
        .iter()
        .all(|d| (d.key_used == Key::Rotated) == (d.end >= at)));
    let keys = read_json(w.keys_file.as_ref().unwrap());
    assert_eq!(keys["PublicKeyList"].as_array().unwrap().len(), 2);
    assert!(keys["PublicKeyList"][0]["ValidityStartTime"]
        .as_str()
        .unwrap()
        .ends_with("+02:00"));
    // PEM exports parse back to the same key.
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    use rsa::pkcs8::DecodePublicKey as _;
    let pem = Key::Test.public_pem();
    assert_eq!(
        RsaPublicKey::from_public_key_pem(&pem).unwrap(),
        Key::Test.public()
    );
    let pem1 = Key::Test.public_pkcs1_pem();
    assert_eq!(
        RsaPublicKey::from_pkcs1_pem(&pem1).unwrap(),
        Key::Test.public()
    );
    assert_ne!(Key::Test.fingerprint(), Key::Forger.fingerprint());
}

#[test]
fn validation_disabled_midway() {
    let dir = tmp();
    let off = ts("2025-01-06T02:00:00Z");
    let w = base().validation_disabled_at(off).write(dir.path());
    assert_clean(&verify_written(&w));
    assert!(w.digests.iter().all(|d| d.end <= off));
    assert!(w
        .logs
        .iter()
        .any(|l| w.digest_listing(l).is_none() && l.delivered > off));
    let trail = read_json(&dir.path().join("config/describe-trails.json"));
    assert_eq!(trail["trailList"][0]["LogFileValidationEnabled"], false);
}

#[test]
fn chain_starts_before_names_an_absent_digest() {
    let dir = tmp();
    let w = base().chain_starts_before(true).write(dir.path());
    let c = verify_written(&w);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.missing_previous.len(), 3);
    assert_eq!(c.chain_starts, 0);
    assert!(w.digests_of("us-east-1")[0].start < w.start);
}

#[test]
fn config_edits_and_hour_aligned_digests() {
    let dir = tmp();
    let w = base()
        .digest_offset(0)
        .edit_config(|file, v| {
            if file.starts_with("get-trail-status.") {
                v["IsLogging"] = json!(false);
            }
        })
        .write(dir.path());
    assert_clean(&verify_written(&w));
    assert!(w.digests.iter().all(|d| d.end % HOUR == 0));
    let status = read_json(
        &dir.path()
            .join("config/get-trail-status.audit_trail.v2.json"),
    );
    assert_eq!(status["IsLogging"], false);
}

#[test]
fn backfill_digest() {
    let dir = tmp();
    let b = base();
    let w = b.write(dir.path());
    let d = w.digests_of("us-east-1")[1].clone();
    let log = w.logs_of("us-east-1")[0].clone();
    let bf = write_backfill_digest(
        &b,
        &w,
        "111122223333",
        "us-east-1",
        d.start,
        d.end,
        &[&log],
        Key::Test,
    );
    assert!(bf.key.ends_with("_backfill.json.gz"));
    assert_eq!(bf.key.replace("_backfill", ""), d.key);
    let c = verify_written(&w);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.signatures_ok, c.digests);
}

// ---------------------------------------------------------------------------------------
// The committed sample bundle
// ---------------------------------------------------------------------------------------

fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = Vec::new();
    files_under(root, &mut files);
    files
        .into_iter()
        .map(|p| (rel_key(root, &p), fs::read(&p).expect("read")))
        .collect()
}

fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    let names_a: Vec<&String> = ta.keys().collect();
    let names_b: Vec<&String> = tb.keys().collect();
    assert_eq!(names_a, names_b, "same files");
    for (k, v) in &ta {
        assert!(v == &tb[k], "{k} differs");
    }
}

#[test]
fn sample_bundle_is_current() {
    let dir = tmp();
    let w = sample().write(dir.path());
    assert_clean(&verify_written(&w));
    assert!(
        sample_dir().is_dir(),
        "testdata/sample is missing: run `cargo test --test it -- --ignored regenerate_sample`"
    );
    let (committed, fresh) = (tree(&sample_dir()), tree(dir.path()));
    let total: usize = committed.values().map(Vec::len).sum();
    assert!(total < 200_000, "sample is {total} bytes");
    let hint = "if the change is intended, run \
                `cargo test --test it -- --ignored regenerate_sample` and commit testdata/sample";
    let names = |t: &BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&committed),
        names(&fresh),
        "sample files differ; {hint}"
    );
    for (k, v) in &committed {
        assert!(v == &fresh[k], "testdata/sample/{k} differs; {hint}");
    }
}

/// Rewrites `testdata/sample/` (run on purpose: it is `#[ignore]`d).
#[test]
#[ignore]
fn regenerate_sample() {
    let dir = sample_dir();
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("remove old sample");
    }
    let w = sample().write(&dir);
    assert_clean(&verify_written(&w));
}

#[test]
fn unlisted_log_and_removed_region() {
    let dir = tmp();
    let b = base();
    let w = b.clone().write(dir.path());
    let extra = b.write_unlisted_log(
        &w,
        "111122223333",
        "eu-west-1",
        ts("2025-01-06T02:05:00Z"),
        &[Event::new(
            ts("2025-01-06T02:01:00Z"),
            "sts.amazonaws.com",
            "GetCallerIdentity",
        )],
    );
    assert!(extra.path.is_file());
    assert!(w.logs.iter().all(|l| l.key != extra.key));
    let c = verify_written(&w);
    assert_clean(&c);
    assert_eq!(c.logs_ok, w.logs.len(), "the extra file is listed nowhere");
    w.remove_region("ap-southeast-2");
    assert!(!dir
        .path()
        .join("bucket/AWSLogs/111122223333/CloudTrail/ap-southeast-2/2025/01/06")
        .read_dir()
        .unwrap()
        .any(|_| true));
    let c = verify_written(&w);
    assert_clean(&c);
    assert_eq!(c.digests, 10);
}

#[test]
fn stop_after_the_window() {
    // config_not_logging: stopped 30 minutes after the window; the evidence is complete.
    let dir = tmp();
    let b = base();
    let stop = b.end() + 1800;
    let w = b.stop_logging(stop, None).write(dir.path());
    assert_clean(&verify_written(&w));
    assert_eq!(
        w.digests_of("us-east-1").last().unwrap().end,
        stop + FINAL_DIGEST_DELAY
    );
    let status = read_json(
        &dir.path()
            .join("config/get-trail-status.audit_trail.v2.json"),
    );
    assert_eq!(status["IsLogging"], false);
    assert_eq!(status["TimeLoggingStopped"], iso(stop));
}
