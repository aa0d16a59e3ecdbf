//! Fixture builder: writes a complete, correctly signed CloudTrail evidence bundle into a
//! folder, in the byte format AWS writes (and the conformance bundles use), so that an
//! integration test can make any scenario by changing one thing.
//!
//! A bundle is `bucket/` (log files, digests, `.head.json` signature sidecars), `config/`
//! (what `aws cloudtrail describe-trails`, `get-trail`, `get-trail-status`,
//! `get-event-selectors` print) and `keys/list-public-keys.json`. Digests are signed with the
//! fixed RSA key in `testdata/test-key.pem`; `testdata/forger-key.pem` is a key that is in no
//! export, and `testdata/test-key-2.pem` is the key after a rotation. Everything is
//! deterministic: the same builder writes the same bytes.
//!
//! # Making a scenario
//!
//! ```ignore
//! let dir = tempfile::tempdir().unwrap();
//! // 1. Describe the trail, then change one thing in the description...
//! let w = Bundle::new("123456789012", "audit", "us-east-1")
//!     .regions(&["us-east-1", "eu-central-1"])
//!     .window(ts("2025-03-01T00:00:00Z"), 6)
//!     .stop_logging(ts("2025-03-01T02:10:00Z"), Some(ts("2025-03-01T03:20:00Z")))
//!     .write(dir.path());
//! // 2. ...or attack the written evidence: every written file is listed in `w`.
//! std::fs::remove_file(&w.logs_of("eu-central-1")[2].path).unwrap();
//! truncate_file(&w.digests_of("us-east-1")[1].path, 0.5);
//! ```
//!
//! Builder-level scenarios (consistent evidence, as AWS would write it): `stop_logging`,
//! `validation_disabled_at`, `key_rotation`, `chain_starts_before`, `quiet`,
//! `data_events_only`, `record` (any event, e.g. a denied StopLogging), `forge_digest`
//! (signed by the forger, chain consistent), `bad_signature`, `sidecars`, `aws_cli`
//! (v1 epoch timestamps), `key_export_offset`, `edit_config`. After-the-fact attacks use
//! the file helpers: [`edit_log`], [`edit_digest`], [`resign_digest`],
//! [`forge_digest_file`], [`truncate_file`], [`write_backfill_digest`],
//! [`Bundle::write_unlisted_log`], [`Written::remove_region`], or plain `std::fs` calls on
//! the paths in [`Written`]. [`sample`] is the bundle committed in `testdata/sample/`.
//!
//! Log files: one per delivery slot (`files_per_hour` a hour, the last one of an hour at the
//! top of the next hour, as AWS names them), holding the slot's events; a slot without
//! events writes no file. Digests: one per region per hour, not hour-aligned (each account
//! and region has its own minute:second phase, like the real ones); a log file belongs to the
//! digest whose `[digestStartTime, digestEndTime)` holds its key time. The first digest of a
//! chain starts when logging starts; the last one of the window ends after the window.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, Utc};
use flate2::{read::GzDecoder, Compression, GzBuilder};
use md5::Md5;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub const HOUR: i64 = 3600;
/// How long after StopLogging CloudTrail delivers the final digest of a chain (as observed
/// in the conformance bundles: stop 09:23:27, final digest ends 09:38:27).
pub const FINAL_DIGEST_DELAY: i64 = 900;

// ---------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------

/// The fixed test keys in `testdata/`. Loaded once; never generated at test time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// `test-key.pem`: signs every digest unless told otherwise; in the key export.
    Test,
    /// `test-key-2.pem`: the key after [`Bundle::key_rotation`]; in the export only then.
    Rotated,
    /// `forger-key.pem`: in no export.
    Forger,
}

impl Key {
    fn file_name(self) -> &'static str {
        match self {
            Key::Test => "test-key.pem",
            Key::Rotated => "test-key-2.pem",
            Key::Forger => "forger-key.pem",
        }
    }

    pub fn private(self) -> &'static RsaPrivateKey {
        static TEST: OnceLock<RsaPrivateKey> = OnceLock::new();
        static ROTATED: OnceLock<RsaPrivateKey> = OnceLock::new();
        static FORGER: OnceLock<RsaPrivateKey> = OnceLock::new();
        let cell = match self {
            Key::Test => &TEST,
            Key::Rotated => &ROTATED,
            Key::Forger => &FORGER,
        };
        cell.get_or_init(|| load_private_key(&testdata(self.file_name())))
    }

    pub fn public(self) -> RsaPublicKey {
        self.private().to_public_key()
    }

    /// PKCS#1 DER of the public key: what `list-public-keys` carries (base64) and hashes.
    pub fn public_der(self) -> Vec<u8> {
        public_der(&self.public())
    }

    /// `Value` of a `list-public-keys` entry.
    pub fn public_b64(self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.public_der())
    }

    /// CloudTrail's key fingerprint: hex MD5 of the PKCS#1 DER public key.
    pub fn fingerprint(self) -> String {
        fingerprint(&self.public())
    }

    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), for `--public-key FILE`.
    pub fn public_pem(self) -> String {
        self.public()
            .to_public_key_pem(LineEnding::LF)
            .expect("encode public key PEM")
    }

    /// PKCS#1 PEM (`-----BEGIN RSA PUBLIC KEY-----`), the other PEM form users have.
    pub fn public_pkcs1_pem(self) -> String {
        self.public()
            .to_pkcs1_pem(LineEnding::LF)
            .expect("encode public key PEM")
    }
}

/// `testdata/NAME` in this crate.
pub fn testdata(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).join(name)
}

fn load_private_key(path: &Path) -> RsaPrivateKey {
    let pem = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    RsaPrivateKey::from_pkcs8_pem(&pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(&pem))
        .unwrap_or_else(|e| panic!("{}: not an RSA private key: {e}", path.display()))
}

pub fn public_der(key: &RsaPublicKey) -> Vec<u8> {
    key.to_pkcs1_der()
        .expect("encode PKCS#1 DER")
        .as_bytes()
        .to_vec()
}

pub fn fingerprint(key: &RsaPublicKey) -> String {
    hex(&Md5::digest(public_der(key)))
}

// ---------------------------------------------------------------------------------------
// Integrity primitives (SPEC "Integrity rules")
// ---------------------------------------------------------------------------------------

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The data-signing string of a digest. `prev_sig` `None` is the first digest of a chain,
/// which signs the four characters `null`.
pub fn signing_string(
    digest_end: &str,
    bucket: &str,
    object: &str,
    digest_bytes: &[u8],
    prev_sig: Option<&str>,
) -> String {
    format!(
        "{digest_end}\n{bucket}/{object}\n{}\n{}",
        sha256_hex(digest_bytes),
        prev_sig.unwrap_or("null")
    )
}

/// RSA PKCS#1 v1.5 over SHA-256 of `data`, lowercase hex.
pub fn sign_hex(key: Key, data: &str) -> String {
    // PKCS#1 v1.5 is deterministic, and an RSA private operation costs ~0.1 s in a debug
    // build, so tests that write the same bundle share one signature per digest.
    static CACHE: OnceLock<Mutex<HashMap<(Key, String), String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = (key, data.to_string());
    if let Some(sig) = cache.lock().expect("signature cache").get(&id) {
        return sig.clone();
    }
    let hashed = Sha256::digest(data.as_bytes());
    let sig = key
        .private()
        .sign(Pkcs1v15Sign::new::<Sha256>(), &hashed)
        .expect("RSA sign");
    let sig = hex(&sig);
    cache
        .lock()
        .expect("signature cache")
        .insert(id, sig.clone());
    sig
}

/// The signature of decompressed digest bytes, read from the digest's own fields.
pub fn sign_digest_bytes(key: Key, digest_bytes: &[u8]) -> String {
    let v: Value = serde_json::from_slice(digest_bytes).expect("digest JSON");
    let field = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("digest lacks {k}"));
    let data = signing_string(
        field("digestEndTime"),
        field("digestS3Bucket"),
        field("digestS3Object"),
        digest_bytes,
        v["previousDigestSignature"].as_str(),
    );
    sign_hex(key, &data)
}

// ---------------------------------------------------------------------------------------
// gzip and file helpers
// ---------------------------------------------------------------------------------------

/// Deterministic gzip: mtime 0, OS byte 3 (Unix), default level; the header bytes match the
/// real files (`1f8b 0800 0000 0000 0003`).
pub fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut enc = GzBuilder::new()
        .mtime(0)
        .operating_system(3)
        .write(Vec::new(), Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

pub fn gunzip_bytes(gz: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(gz).read_to_end(&mut out)?;
    Ok(out)
}

/// Decompressed content of a `.gz` file; panics if it is not valid gzip.
pub fn gunzip_file(path: &Path) -> Vec<u8> {
    let gz = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    gunzip_bytes(&gz).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parsed JSON of a `.json.gz` file.
pub fn read_json_gz(path: &Path) -> Value {
    serde_json::from_slice(&gunzip_file(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Compact JSON, as CloudTrail writes log and digest files (key order kept).
pub fn compact(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialize JSON")
}

/// JSON the way the AWS CLI prints it: 4-space indent, trailing newline.
pub fn pretty(v: &Value) -> Vec<u8> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser).expect("serialize JSON");
    buf.push(b'\n');
    buf
}

/// Keep the first `fraction` of a file's bytes (0.5 = half), e.g. a cut-off download.
pub fn truncate_file(path: &Path, fraction: f64) {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let keep = ((bytes.len() as f64) * fraction) as usize;
    write_file(path, &bytes[..keep.min(bytes.len())]);
}

/// Rewrite a log file's JSON (re-gzipped). Its digest's `hashValue` now disagrees.
pub fn edit_log(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v = read_json_gz(path);
    edit(&mut v);
    write_file(path, &gzip_bytes(&compact(&v)));
}

/// Rewrite a digest's JSON (re-gzipped), leaving its signature as it was, so the signature
/// no longer verifies (unless followed by [`resign_digest`]) and the next digest's
/// `previousDigestHashValue` no longer matches.
pub fn edit_digest(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v = read_json_gz(path);
    edit(&mut v);
    write_file(path, &gzip_bytes(&compact(&v)));
}

/// The sidecar path of a digest: `DIGEST.json.gz.head.json`.
pub fn sidecar_path(digest: &Path) -> PathBuf {
    let mut s = digest.as_os_str().to_owned();
    s.push(".head.json");
    PathBuf::from(s)
}

/// Re-sign a digest as it is now on disk with `key`, writing the signature into its sidecar
/// (created if absent; `ContentLength` and `ETag` updated). Returns the new signature. The
/// digest's own `digestPublicKeyFingerprint` is not touched: use [`edit_digest`] first to
/// name another key, or [`forge_digest_file`] for both.
pub fn resign_digest(path: &Path, key: Key) -> String {
    let gz = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = gunzip_bytes(&gz).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sig = sign_digest_bytes(key, &bytes);
    let side = sidecar_path(path);
    let mut head: Value = match fs::read(&side) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{}: {e}", side.display())),
        Err(_) => {
            let v: Value = serde_json::from_slice(&bytes).expect("digest JSON");
            let end = v["digestEndTime"].as_str().map_or(0, ts);
            sidecar_json(&gz, &sig, end + 60, AwsCli::V2, Sidecars::Write)
        }
    };
    head["ContentLength"] = json!(gz.len());
    head["ETag"] = json!(format!("\"{}\"", hex(&Md5::digest(&gz))));
    let meta = head["Metadata"]
        .as_object_mut()
        .expect("sidecar Metadata object");
    let sig_key = meta
        .keys()
        .find(|k| k.eq_ignore_ascii_case("signature"))
        .cloned()
        .unwrap_or_else(|| "signature".to_string());
    meta.insert(sig_key, json!(sig));
    write_file(&side, &pretty(&head));
    sig
}

/// A digest taken over by a forger after the fact: its fingerprint field names `key`'s
/// fingerprint and it is re-signed with `key`. For the newest digest of a chain this is the
/// conformance `wrong_key` attack; for an older one, the next digest's link breaks too.
pub fn forge_digest_file(path: &Path, key: Key) -> String {
    let fp = key.fingerprint();
    edit_digest(path, |v| v["digestPublicKeyFingerprint"] = json!(fp));
    resign_digest(path, key)
}

fn sidecar_json(gz: &[u8], sig: &str, delivered: i64, cli: AwsCli, style: Sidecars) -> Value {
    let last_modified = match cli {
        AwsCli::V2 => fmt_offset(delivered, 0),
        AwsCli::V1 => fmt_http_date(delivered),
    };
    let (sig_key, alg_key) = match style {
        Sidecars::UppercaseKeys => ("Signature", "Signature-Algorithm"),
        _ => ("signature", "signature-algorithm"),
    };
    let mut meta = Map::new();
    meta.insert(sig_key.into(), json!(sig));
    meta.insert(alg_key.into(), json!("SHA256withRSA"));
    json!({
        "AcceptRanges": "bytes",
        "LastModified": last_modified,
        "ContentLength": gz.len(),
        "ETag": format!("\"{}\"", hex(&Md5::digest(gz))),
        "ServerSideEncryption": "AES256",
        "Metadata": meta,
    })
}

// ---------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------

/// Parse an RFC 3339 time into UNIX seconds (test convenience; panics on bad input).
pub fn ts(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .timestamp()
}

fn utc(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(t, 0).expect("time in range")
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form of every time inside CloudTrail files.
pub fn iso(t: i64) -> String {
    utc(t).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn fmt_offset(t: i64, offset_secs: i32) -> String {
    let off = FixedOffset::east_opt(offset_secs).expect("offset");
    utc(t)
        .with_timezone(&off)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// AWS CLI v2 form with microseconds: `2025-01-07T00:03:29.845000+00:00`.
fn fmt_micros(t: i64, millis: u32) -> String {
    format!(
        "{}.{:03}000+00:00",
        utc(t).format("%Y-%m-%dT%H:%M:%S"),
        millis
    )
}

fn fmt_http_date(t: i64) -> String {
    utc(t).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn epoch_json(t: i64, millis: u32) -> Value {
    json!(t as f64 + f64::from(millis) / 1000.0)
}

fn floor_minute(t: i64) -> i64 {
    t - t.rem_euclid(60)
}

// ---------------------------------------------------------------------------------------
// Deterministic pseudo-randomness
// ---------------------------------------------------------------------------------------

/// 64 bits from a label; stable across versions (SHA-256, not a library RNG).
fn h64(parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// splitmix64: tiny, stable, good enough for test data.
struct Prng(u64);

impl Prng {
    fn new(parts: &[&str]) -> Self {
        Prng(h64(parts))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
    fn alnum(&mut self, n: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| CHARS[self.below(CHARS.len() as u64) as usize] as char)
            .collect()
    }
    fn upper(&mut self, n: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        (0..n)
            .map(|_| CHARS[self.below(CHARS.len() as u64) as usize] as char)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

/// One CloudTrail record. Generated background activity and caller-supplied records are
/// both `Event`s, rendered the same way. Unset account/region mean the trail's owner account
/// and home region; an empty principal means the account's user `alice`.
#[derive(Clone, Debug)]
pub struct Event {
    pub time: i64,
    pub account: Option<String>,
    pub region: Option<String>,
    pub event_source: String,
    pub event_name: String,
    /// ARN: `arn:aws:iam::ACCT:user/NAME`, `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`,
    /// `arn:aws:iam::ACCT:root`.
    pub principal: String,
    pub source_ip: String,
    pub user_agent: String,
    pub read_only: bool,
    pub management: bool,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub request_parameters: Value,
    pub response_elements: Value,
    pub additional_event_data: Option<Value>,
    pub resources: Option<Value>,
    pub event_version: String,
    /// Applied last: `Some(v)` sets a top-level field, `None` removes it.
    pub overrides: Vec<(String, Option<Value>)>,
}

const AWS_CLI_UA: &str = "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off";

impl Event {
    /// A management API call by the default principal; `readOnly` guessed from the name.
    pub fn new(time: i64, event_source: &str, event_name: &str) -> Event {
        let read_only = ["Describe", "List", "Get", "Lookup", "Head"]
            .iter()
            .any(|p| event_name.starts_with(p));
        Event {
            time,
            account: None,
            region: None,
            event_source: event_source.to_string(),
            event_name: event_name.to_string(),
            principal: String::new(),
            source_ip: "198.51.100.84".to_string(),
            user_agent: AWS_CLI_UA.to_string(),
            read_only,
            management: true,
            error_code: None,
            error_message: None,
            request_parameters: Value::Null,
            response_elements: Value::Null,
            additional_event_data: None,
            resources: None,
            event_version: "1.10".to_string(),
            overrides: Vec::new(),
        }
    }

    /// `StopLogging` of `trail_arn` (see [`Bundle::trail_arn`]).
    pub fn stop_logging(time: i64, trail_arn: &str) -> Event {
        Event::new(time, "cloudtrail.amazonaws.com", "StopLogging")
            .request(json!({ "name": trail_arn }))
    }

    /// `StartLogging` of `trail_arn`.
    pub fn start_logging(time: i64, trail_arn: &str) -> Event {
        Event::new(time, "cloudtrail.amazonaws.com", "StartLogging")
            .request(json!({ "name": trail_arn }))
    }

    /// `PutEventSelectors` switching management events off (the `no_mgmt_events` attack).
    pub fn exclude_management_events(time: i64, trail_name: &str, trail_arn: &str) -> Event {
        let sel = json!([{
            "readWriteType": "All",
            "includeManagementEvents": false,
            "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}],
            "excludeManagementEventSources": []
        }]);
        Event::new(time, "cloudtrail.amazonaws.com", "PutEventSelectors")
            .request(json!({ "trailName": trail_name, "eventSelectors": sel.clone() }))
            .response(json!({ "trailARN": trail_arn, "eventSelectors": sel }))
    }

    /// An S3 object-level data event (`managementEvent` false, `eventCategory` Data).
    pub fn s3_data(time: i64, event_name: &str, bucket: &str, key: &str) -> Event {
        let mut e = Event::new(time, "s3.amazonaws.com", event_name)
            .request(json!({ "bucketName": bucket, "key": key }))
            .data();
        e.read_only = matches!(event_name, "GetObject" | "HeadObject");
        e.resources = Some(json!([
            {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")},
            {"type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}
        ]));
        e
    }

    pub fn account(mut self, account: &str) -> Self {
        self.account = Some(account.to_string());
        self
    }
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_string());
        self
    }
    pub fn principal(mut self, arn: &str) -> Self {
        self.principal = arn.to_string();
        self
    }
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.to_string();
        self
    }
    pub fn user_agent(mut self, ua: &str) -> Self {
        self.user_agent = ua.to_string();
        self
    }
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }
    pub fn request(mut self, v: Value) -> Self {
        self.request_parameters = v;
        self
    }
    pub fn response(mut self, v: Value) -> Self {
        self.response_elements = v;
        self
    }
    /// A data event: `managementEvent` false, `eventCategory` `Data`.
    pub fn data(mut self) -> Self {
        self.management = false;
        self
    }
    /// Refused: `errorCode` `AccessDenied`, no response (an attempt, not an action).
    pub fn denied(self) -> Self {
        let msg = format!(
            "User is not authorized to perform: {}:{}",
            self.event_source.trim_end_matches(".amazonaws.com"),
            self.event_name
        );
        self.error("AccessDenied", &msg)
    }
    pub fn error(mut self, code: &str, message: &str) -> Self {
        self.error_code = Some(code.to_string());
        self.error_message = Some(message.to_string());
        self.response_elements = Value::Null;
        self
    }
    /// Set any top-level field of the rendered record (applied last).
    pub fn set(mut self, field: &str, v: Value) -> Self {
        self.overrides.push((field.to_string(), Some(v)));
        self
    }
    /// Remove a top-level field from the rendered record.
    pub fn remove(mut self, field: &str) -> Self {
        self.overrides.push((field.to_string(), None));
        self
    }

    fn render(&self, account: &str, region: &str, ids: &mut Prng) -> Value {
        let principal = if self.principal.is_empty() {
            format!("arn:aws:iam::{account}:user/alice")
        } else {
            self.principal.clone()
        };
        let mut r = Map::new();
        r.insert("eventVersion".into(), json!(self.event_version));
        r.insert("userIdentity".into(), user_identity(&principal, account));
        r.insert("eventTime".into(), json!(iso(self.time)));
        r.insert("eventSource".into(), json!(self.event_source));
        r.insert("eventName".into(), json!(self.event_name));
        r.insert("awsRegion".into(), json!(region));
        r.insert("sourceIPAddress".into(), json!(self.source_ip));
        r.insert("userAgent".into(), json!(self.user_agent));
        if let Some(code) = &self.error_code {
            r.insert("errorCode".into(), json!(code));
        }
        if let Some(msg) = &self.error_message {
            r.insert("errorMessage".into(), json!(msg));
        }
        r.insert("requestParameters".into(), self.request_parameters.clone());
        r.insert("responseElements".into(), self.response_elements.clone());
        if let Some(v) = &self.additional_event_data {
            r.insert("additionalEventData".into(), v.clone());
        }
        r.insert("requestID".into(), json!(ids.uuid()));
        r.insert("eventID".into(), json!(ids.uuid()));
        r.insert("readOnly".into(), json!(self.read_only));
        if let Some(v) = &self.resources {
            r.insert("resources".into(), v.clone());
        }
        r.insert("eventType".into(), json!("AwsApiCall"));
        r.insert("managementEvent".into(), json!(self.management));
        r.insert("recipientAccountId".into(), json!(account));
        let category = if self.management {
            "Management"
        } else {
            "Data"
        };
        r.insert("eventCategory".into(), json!(category));
        let service = self.event_source.trim_end_matches(".amazonaws.com");
        r.insert(
            "tlsDetails".into(),
            json!({
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": format!("{service}.{region}.amazonaws.com"),
            }),
        );
        for (k, v) in &self.overrides {
            match v {
                Some(v) => {
                    r.insert(k.clone(), v.clone());
                }
                None => {
                    r.shift_remove(k);
                }
            }
        }
        Value::Object(r)
    }
}

/// `userIdentity` for an ARN, shaped like the real ones for users, roles and root.
fn user_identity(arn: &str, default_account: &str) -> Value {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let account = parts
        .get(4)
        .filter(|a| !a.is_empty())
        .copied()
        .unwrap_or(default_account);
    let resource = parts.get(5).copied().unwrap_or("");
    let mut ids = Prng::new(&["identity", arn]);
    let access_key = |ids: &mut Prng, p: &str| format!("{p}{}", ids.upper(16));
    if let Some(name) = resource.strip_prefix("user/") {
        json!({
            "type": "IAMUser",
            "principalId": format!("AIDA{}", ids.upper(17)),
            "arn": arn,
            "accountId": account,
            "accessKeyId": access_key(&mut ids, "AKIA"),
            "userName": name,
        })
    } else if let Some(rest) = resource.strip_prefix("assumed-role/") {
        let (role, session) = rest.split_once('/').unwrap_or((rest, "session"));
        let role_id = format!("AROA{}", ids.upper(17));
        json!({
            "type": "AssumedRole",
            "principalId": format!("{role_id}:{session}"),
            "arn": arn,
            "accountId": account,
            "accessKeyId": access_key(&mut ids, "ASIA"),
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": format!("arn:aws:iam::{account}:role/{role}"),
                    "accountId": account,
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2025-01-01T00:00:00Z", "mfaAuthenticated": "false"},
            },
        })
    } else if resource == "root" {
        json!({
            "type": "Root",
            "principalId": account,
            "arn": arn,
            "accountId": account,
            "accessKeyId": access_key(&mut ids, "ASIA"),
        })
    } else {
        json!({ "type": "Unknown", "arn": arn, "accountId": account })
    }
}

/// Background activity: a plausible regional management call (or data call).
fn background_event(rng: &mut Prng, time: i64, account: &str, data: bool) -> Event {
    let principals = [
        format!("arn:aws:iam::{account}:user/alice"),
        format!("arn:aws:sts::{account}:assumed-role/AWSReservedSSO_AdministratorAccess_ed62f496f95b4091/bob@example.com"),
        format!("arn:aws:sts::{account}:assumed-role/github-actions-deploy/GitHubActions"),
    ];
    let ips = ["198.51.100.84", "203.0.113.17", "192.0.2.44"];
    let agents = [
        AWS_CLI_UA,
        "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.60",
        "terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64",
    ];
    let mut e = if data {
        let op = *rng.pick(&["GetObject", "PutObject", "HeadObject"]);
        let key = format!("reports/2025/obj-{}.json", rng.below(100_000));
        Event::s3_data(time, op, &format!("app-data-{account}"), &key)
    } else {
        match rng.below(8) {
            0 => Event::new(time, "ec2.amazonaws.com", "DescribeInstances").request(json!({
                "instancesSet": {},
                "filterSet": {"items": [{"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]}
            })),
            1 => Event::new(time, "sts.amazonaws.com", "GetCallerIdentity"),
            2 => Event::new(time, "lambda.amazonaws.com", "ListFunctions20150331"),
            3 => Event::new(time, "ssm.amazonaws.com", "GetParameter").request(json!({
                "name": format!("/app/config/param-{}", rng.below(50)),
                "withDecryption": true
            })),
            4 => Event::new(time, "kms.amazonaws.com", "Decrypt").request(json!({
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT"
            })),
            5 => Event::new(time, "logs.amazonaws.com", "CreateLogStream").request(json!({
                "logGroupName": "/aws/lambda/app",
                "logStreamName": format!("2025/01/01/[$LATEST]{}", rng.alnum(12))
            })),
            6 => Event::new(time, "cloudformation.amazonaws.com", "DescribeStacks"),
            _ => {
                let id = format!("i-0{:016x}", rng.next());
                Event::new(time, "ec2.amazonaws.com", "CreateTags").request(json!({
                    "resourcesSet": {"items": [{"resourceId": id}]},
                    "tagSet": {"items": [{"key": "owner", "value": "platform"}]}
                })).response(json!({"requestId": rng.uuid(), "_return": true}))
            }
        }
    };
    e.principal = rng.pick(&principals).clone();
    e.source_ip = rng.pick(&ips).to_string();
    e.user_agent = rng.pick(&agents).to_string();
    e
}

// ---------------------------------------------------------------------------------------
// The bundle model
// ---------------------------------------------------------------------------------------

/// How digest signatures are exported beside the digests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sidecars {
    /// `DIGEST.json.gz.head.json` with `Metadata.signature` (the AWS CLI's lowercase keys).
    Write,
    /// No sidecars (a bucket copy that kept no object metadata).
    Omit,
    /// Metadata keys `Signature` / `Signature-Algorithm` (other tools' capitalisation).
    UppercaseKeys,
}

/// Which AWS CLI printed the exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwsCli {
    /// v2: ISO timestamps with offsets.
    V2,
    /// v1: epoch-number timestamps in list-public-keys and get-trail-status, HTTP dates in
    /// head-object.
    V1,
}

#[derive(Clone, Copy, Debug)]
struct Stop {
    at: i64,
    restart: Option<i64>,
}

/// Which digest: of `account` (None: owner) and `region`, by position in time order across
/// the region's chains (negative counts from the newest: -1 is the newest).
#[derive(Clone, Debug)]
struct DigestSel {
    account: Option<String>,
    region: String,
    index: i64,
}

#[derive(Clone, Copy, Debug)]
struct Signing {
    key: Key,
    claimed: Key,
}

type ConfigEdit = Rc<dyn Fn(&str, &mut Value)>;

/// A trail and its evidence, described; [`Bundle::write`] writes it. `Clone`, so one base
/// description can be varied per test.
#[derive(Clone)]
pub struct Bundle {
    accounts: Vec<String>,
    trail_name: String,
    home_region: String,
    regions: Vec<String>,
    start: i64,
    hours: u32,
    events_per_file: u32,
    files_per_hour: u32,
    org_id: Option<String>,
    prefix: Option<String>,
    bucket: String,
    seed: u64,
    digest_offset: Option<i64>,
    chain_starts_before: bool,
    sidecars: Sidecars,
    cli: AwsCli,
    key_export_offset: i32,
    write_keys: bool,
    key_rotation: Option<i64>,
    stops: Vec<Stop>,
    stop_principal: Option<String>,
    stop_source_ip: String,
    stop_events: bool,
    validation_disabled_at: Option<i64>,
    quiet: Vec<(String, i64, i64)>,
    data_only: Vec<(i64, i64)>,
    records: Vec<Event>,
    signing: Vec<(DigestSel, Signing)>,
    config_edits: Vec<ConfigEdit>,
}

impl Bundle {
    /// A clean multi-region trail: the home region only, 2025-01-06T00:00:00Z for 3 hours,
    /// 2 log files an hour of 4 events, validation on, sidecars written, AWS CLI v2 exports.
    pub fn new(account: &str, trail_name: &str, home_region: &str) -> Bundle {
        Bundle {
            accounts: vec![account.to_string()],
            trail_name: trail_name.to_string(),
            home_region: home_region.to_string(),
            regions: vec![home_region.to_string()],
            start: ts("2025-01-06T00:00:00Z"),
            hours: 3,
            events_per_file: 4,
            files_per_hour: 2,
            org_id: None,
            prefix: None,
            bucket: format!("aws-cloudtrail-logs-{account}-5e1f2a3b"),
            seed: 1,
            digest_offset: None,
            chain_starts_before: false,
            sidecars: Sidecars::Write,
            cli: AwsCli::V2,
            key_export_offset: 0,
            write_keys: true,
            key_rotation: None,
            stops: Vec::new(),
            stop_principal: None,
            stop_source_ip: "192.0.2.92".to_string(),
            stop_events: true,
            validation_disabled_at: None,
            quiet: Vec::new(),
            data_only: Vec::new(),
            records: Vec::new(),
            signing: Vec::new(),
            config_edits: Vec::new(),
        }
    }

    /// Regions the trail logs (the home region should be among them).
    pub fn regions(mut self, regions: &[&str]) -> Self {
        self.regions = regions.iter().map(|r| r.to_string()).collect();
        self
    }
    /// Activity from `start` for `hours` hours (the verification window to use).
    pub fn window(mut self, start: i64, hours: u32) -> Self {
        self.start = start;
        self.hours = hours;
        self
    }
    pub fn events_per_file(mut self, n: u32) -> Self {
        self.events_per_file = n;
        self
    }
    pub fn files_per_hour(mut self, n: u32) -> Self {
        assert!(n >= 1, "at least one log file an hour");
        self.files_per_hour = n;
        self
    }
    /// Organization trail: `AWSLogs/o-ID/ACCOUNT/` layout, `IsOrganizationTrail`, and a
    /// `describe-organization.json`. `id` with or without the `o-`.
    pub fn org(mut self, id: &str) -> Self {
        let id = id.strip_prefix("o-").unwrap_or(id);
        self.org_id = Some(format!("o-{id}"));
        self
    }
    /// More accounts whose evidence the trail delivers (organization member accounts); the
    /// first account (from `new`) owns the trail.
    pub fn member_accounts(mut self, accounts: &[&str]) -> Self {
        self.accounts.extend(accounts.iter().map(|a| a.to_string()));
        self
    }
    /// S3 key prefix (`S3KeyPrefix`), e.g. `org-logs`.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = Some(prefix.trim_matches('/').to_string());
        self
    }
    pub fn bucket(mut self, bucket: &str) -> Self {
        self.bucket = bucket.to_string();
        self
    }
    /// Varies every generated id, name and time jitter.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Digest end times at `start + offset + k h` for every account and region (default: a
    /// per-account-and-region phase between 30:00 and 59:59). `0` is hour-aligned.
    pub fn digest_offset(mut self, secs: i64) -> Self {
        assert!((0..HOUR).contains(&secs), "offset within an hour");
        self.digest_offset = Some(secs);
        self
    }
    /// The first digest of each region names a previous digest (ending before `start`) that
    /// the bundle lacks: a partial copy of a longer history.
    pub fn chain_starts_before(mut self, yes: bool) -> Self {
        self.chain_starts_before = yes;
        self
    }
    pub fn sidecars(mut self, s: Sidecars) -> Self {
        self.sidecars = s;
        self
    }
    pub fn aws_cli(mut self, cli: AwsCli) -> Self {
        self.cli = cli;
        self
    }
    /// ISO times in `list-public-keys` printed with this UTC offset (e.g. `2 * 3600` for an
    /// export made on a UTC+2 machine). No effect with [`AwsCli::V1`].
    pub fn key_export_offset(mut self, secs: i32) -> Self {
        self.key_export_offset = secs;
        self
    }
    /// Write `keys/list-public-keys.json` (default true).
    pub fn write_keys(mut self, yes: bool) -> Self {
        self.write_keys = yes;
        self
    }
    /// Digests ending at or after `at` are signed with [`Key::Rotated`]; the export lists both
    /// keys with overlapping validity (old until `at + 12h`, new from `at - 12h`).
    pub fn key_rotation(mut self, at: i64) -> Self {
        self.key_rotation = Some(at);
        self
    }
    /// Logging stopped at `at` (StopLogging) and, if `restart`, started again then
    /// (StartLogging). Every region's chain ends with a final digest 15 min after `at` and
    /// restarts (previous fields null) at `restart`; no events in between. The two records,
    /// by [`Bundle::stop_principal`], go in the owner account's home-region logs unless
    /// [`Bundle::stop_events`] is false. Call again for several stops, in time order.
    pub fn stop_logging(mut self, at: i64, restart: Option<i64>) -> Self {
        if let Some(r) = restart {
            assert!(r > at, "restart after stop");
        }
        if let Some(prev) = self.stops.last() {
            assert!(
                prev.restart.is_some_and(|r| at > r),
                "stops in time order, after a restart"
            );
        }
        self.stops.push(Stop { at, restart });
        self
    }
    /// Who stopped logging (default `arn:aws:iam::OWNER:user/svc-backup`) and from where.
    pub fn stop_principal(mut self, arn: &str, source_ip: &str) -> Self {
        self.stop_principal = Some(arn.to_string());
        self.stop_source_ip = source_ip.to_string();
        self
    }
    /// Whether StopLogging/StartLogging records are written for each stop (default true);
    /// false makes an unexplained chain restart.
    pub fn stop_events(mut self, yes: bool) -> Self {
        self.stop_events = yes;
        self
    }
    /// Log file validation switched off at `at`: digests ending after it are not delivered
    /// (log files keep coming, unlisted) and the configuration says
    /// `LogFileValidationEnabled: false`.
    pub fn validation_disabled_at(mut self, at: i64) -> Self {
        self.validation_disabled_at = Some(at);
        self
    }
    /// No activity in `region` during `[from, to)`: no log files, empty signed digests.
    pub fn quiet(mut self, region: &str, from: i64, to: i64) -> Self {
        self.quiet.push((region.to_string(), from, to));
        self
    }
    /// Background activity during `[from, to)` is data events only (every region).
    pub fn data_events_only(mut self, from: i64, to: i64) -> Self {
        self.data_only.push((from, to));
        self
    }
    /// Add a record (e.g. a denied StopLogging) to the log file of its account, region and
    /// time; the time must fall while logging is on, within the activity period.
    pub fn record(mut self, e: Event) -> Self {
        self.records.push(e);
        self
    }
    /// Sign one digest with [`Key::Forger`] and name the forger's fingerprint in it, at
    /// writing time (the chain after it is consistent): `digest_key_unknown`.
    /// `index` counts the region's digests in time order; -1 is the newest.
    pub fn forge_digest(self, region: &str, index: i64) -> Self {
        self.sign_digest_with(None, region, index, Key::Forger, Key::Forger)
    }
    /// Sign one digest with [`Key::Forger`] while it names the real key's fingerprint:
    /// `digest_signature_invalid`.
    pub fn bad_signature(self, region: &str, index: i64) -> Self {
        self.sign_digest_with(None, region, index, Key::Forger, Key::Test)
    }
    /// General form: digest `index` of (`account` or owner, `region`) signed with `key` and
    /// naming `claimed`'s fingerprint.
    pub fn sign_digest_with(
        mut self,
        account: Option<&str>,
        region: &str,
        index: i64,
        key: Key,
        claimed: Key,
    ) -> Self {
        self.signing.push((
            DigestSel {
                account: account.map(str::to_string),
                region: region.to_string(),
                index,
            },
            Signing { key, claimed },
        ));
        self
    }
    /// Change an exported configuration document before it is written. The closure gets the
    /// file name (`describe-trails.json`, `get-trail.TRAIL.json`,
    /// `get-trail-status.TRAIL.json`, `get-event-selectors.TRAIL.json`,
    /// `describe-organization.json`) and its JSON.
    pub fn edit_config(mut self, edit: impl Fn(&str, &mut Value) + 'static) -> Self {
        self.config_edits.push(Rc::new(edit));
        self
    }

    pub fn owner(&self) -> &str {
        &self.accounts[0]
    }
    pub fn trail_name(&self) -> &str {
        &self.trail_name
    }
    pub fn bucket_name(&self) -> &str {
        &self.bucket
    }
    pub fn trail_arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{}:trail/{}",
            self.home_region,
            self.owner(),
            self.trail_name
        )
    }
    pub fn start(&self) -> i64 {
        self.start
    }
    /// End of the activity period: `start + hours`.
    pub fn end(&self) -> i64 {
        self.start + i64::from(self.hours) * HOUR
    }
    /// The phase of digest end times for an account and region, in seconds after the hour.
    pub fn digest_offset_for(&self, account: &str, region: &str) -> i64 {
        self.digest_offset.unwrap_or_else(|| {
            let h = h64(&["offset", &self.seed.to_string(), account, region]);
            1800 + (h % 1800) as i64
        })
    }

    /// S3 key of the folder `AWSLogs/[o-ID/]ACCOUNT/` under the prefix.
    fn account_root(&self, account: &str) -> String {
        let mut s = String::new();
        if let Some(p) = &self.prefix {
            s.push_str(p);
            s.push('/');
        }
        s.push_str("AWSLogs/");
        if let Some(o) = &self.org_id {
            s.push_str(o);
            s.push('/');
        }
        s.push_str(account);
        s.push('/');
        s
    }

    fn log_key(&self, account: &str, region: &str, key_time: i64, unique: &str) -> String {
        let t = utc(key_time);
        format!(
            "{}CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{unique}.json.gz",
            self.account_root(account),
            t.format("%Y/%m/%d"),
            t.format("%Y%m%dT%H%MZ"),
        )
    }

    fn digest_key(&self, account: &str, region: &str, end: i64, backfill: bool) -> String {
        let t = utc(end);
        format!(
            "{}CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{}_{}_{}{}.json.gz",
            self.account_root(account),
            t.format("%Y/%m/%d"),
            self.trail_name,
            self.home_region,
            t.format("%Y%m%dT%H%M%SZ"),
            if backfill { "_backfill" } else { "" },
        )
    }

    /// Whether logging is on at `t` (the StopLogging and StartLogging instants are logged).
    fn logging_on(&self, t: i64) -> bool {
        self.stops
            .iter()
            .all(|s| t <= s.at || s.restart.is_some_and(|r| t >= r))
    }

    /// The trail's logging periods `[from, until]` (until `None`: still logging).
    fn segments(&self) -> Vec<(i64, Option<i64>)> {
        let mut out = Vec::new();
        let mut from = Some(self.start);
        for s in &self.stops {
            if let Some(f) = from {
                out.push((f, Some(s.at)));
            }
            from = s.restart;
        }
        if let Some(f) = from {
            out.push((f, None));
        }
        out
    }

    fn is_logging_at_end(&self) -> bool {
        // Not `is_none_or`: the crate's MSRV is 1.80.
        match self.stops.last() {
            Some(s) => s.restart.is_some(),
            None => true,
        }
    }

    fn signing_for(
        &self,
        account: &str,
        region: &str,
        index: usize,
        count: usize,
        end: i64,
    ) -> Signing {
        for (sel, signing) in &self.signing {
            let acct = sel.account.as_deref().unwrap_or(self.owner());
            let idx = if sel.index < 0 {
                count as i64 + sel.index
            } else {
                sel.index
            };
            if acct == account && sel.region == region && idx == index as i64 {
                return *signing;
            }
        }
        let key = match self.key_rotation {
            Some(at) if end >= at => Key::Rotated,
            _ => Key::Test,
        };
        Signing { key, claimed: key }
    }

    /// Write the bundle under `dir` (`bucket/`, `config/`, `keys/`).
    pub fn write(&self, dir: &Path) -> Written {
        assert!(
            self.regions.contains(&self.home_region),
            "the home region is one of the regions"
        );
        for rec in &self.records {
            let acct = rec.account.as_deref().unwrap_or(self.owner());
            let region = rec.region.as_deref().unwrap_or(&self.home_region);
            assert!(
                self.accounts.iter().any(|a| a == acct) && self.regions.iter().any(|r| r == region),
                "record {} for {acct}/{region}: not an account and region of the trail",
                rec.event_name
            );
        }
        let mut written = Written {
            root: dir.to_path_buf(),
            bucket: self.bucket.clone(),
            owner: self.owner().to_string(),
            start: self.start,
            end: self.end(),
            logs: Vec::new(),
            digests: Vec::new(),
            keys_file: None,
            config_files: Vec::new(),
        };
        for account in &self.accounts {
            for region in &self.regions {
                let logs = self.write_logs(dir, account, region);
                let digests = self.write_digests(dir, account, region, &logs);
                written.logs.extend(logs);
                written.digests.extend(digests);
            }
        }
        if self.write_keys {
            written.keys_file = Some(self.write_keys_file(dir));
        }
        written.config_files = self.write_config(dir);
        written
    }

    /// The records for one account and region: background activity plus supplied ones.
    fn events_for(&self, account: &str, region: &str) -> Vec<Event> {
        let per_slot = i64::from(self.files_per_hour);
        let n = i64::from(self.events_per_file);
        let seed = self.seed.to_string();
        let mut events = Vec::new();
        for j in 0..i64::from(self.hours) * per_slot {
            let from = self.start + j * HOUR / per_slot;
            let to = self.start + (j + 1) * HOUR / per_slot;
            let mut rng = Prng::new(&["events", &seed, account, region, &j.to_string()]);
            for k in 0..n {
                // Spread evenly with jitter, so times are sorted and inside the slot.
                let step = (to - from) / n.max(1);
                let t = from + k * step + rng.below(step.max(1) as u64) as i64;
                let data = self.data_only.iter().any(|&(a, b)| a <= t && t < b);
                let e = background_event(&mut rng, t, account, data);
                let quiet = self
                    .quiet
                    .iter()
                    .any(|(r, a, b)| r == region && *a <= t && t < *b);
                if self.logging_on(t) && !quiet {
                    events.push(e);
                }
            }
        }
        if self.stop_events && account == self.owner() && region == self.home_region {
            let who = self
                .stop_principal
                .clone()
                .unwrap_or_else(|| format!("arn:aws:iam::{}:user/svc-backup", self.owner()));
            // Only those inside the activity period: later ones are in logs past the bundle.
            let inside = |t: &i64| (self.start..self.end()).contains(t);
            for s in &self.stops {
                if inside(&s.at) {
                    events.push(
                        Event::stop_logging(s.at, &self.trail_arn())
                            .principal(&who)
                            .source_ip(&self.stop_source_ip),
                    );
                }
                if let Some(r) = s.restart.filter(inside) {
                    events.push(
                        Event::start_logging(r, &self.trail_arn())
                            .principal(&who)
                            .source_ip(&self.stop_source_ip),
                    );
                }
            }
        }
        for rec in &self.records {
            let acct = rec.account.as_deref().unwrap_or(self.owner());
            let reg = rec.region.as_deref().unwrap_or(&self.home_region);
            if acct == account && reg == region {
                events.push(rec.clone());
            }
        }
        // Stable: a supplied record at the same second as background activity comes after it.
        events.sort_by_key(|e| e.time);
        events
    }

    /// Delivery slots `(from, to, key_time)`: `files_per_hour` regular ones an hour, cut at
    /// each StopLogging (the final file of a chain is delivered at the stop, named after its
    /// minute).
    fn slots(&self) -> Vec<(i64, i64, i64)> {
        let per = i64::from(self.files_per_hour);
        let mut bounds: BTreeMap<i64, i64> = BTreeMap::new();
        for j in 0..=i64::from(self.hours) * per {
            let b = self.start + j * HOUR / per;
            bounds.insert(b, floor_minute(b));
        }
        for s in &self.stops {
            if self.start <= s.at && s.at < self.end() {
                bounds.insert(s.at + 1, floor_minute(s.at));
            }
        }
        let bounds: Vec<(i64, i64)> = bounds.into_iter().collect();
        bounds
            .windows(2)
            .map(|w| (w[0].0, w[1].0, w[1].1))
            .collect()
    }

    fn write_logs(&self, dir: &Path, account: &str, region: &str) -> Vec<LogFile> {
        let events = self.events_for(account, region);
        let slots = self.slots();
        let mut per_slot: Vec<Vec<&Event>> = vec![Vec::new(); slots.len()];
        for e in &events {
            let i = slots
                .iter()
                .position(|&(from, to, _)| from <= e.time && e.time < to)
                .unwrap_or_else(|| {
                    panic!(
                        "record {} at {} is outside the activity period {}..{}",
                        e.event_name,
                        iso(e.time),
                        iso(self.start),
                        iso(self.end())
                    )
                });
            assert!(
                self.logging_on(e.time),
                "record {} at {} falls while logging is stopped",
                e.event_name,
                iso(e.time)
            );
            per_slot[i].push(e);
        }
        let seed = self.seed;
        let mut out = Vec::new();
        for (i, (&(_, _, key_time), evs)) in slots.iter().zip(&per_slot).enumerate() {
            if evs.is_empty() {
                continue; // CloudTrail delivers no empty log files
            }
            // Seeded by slot, not key time: a stop cut can share its minute with a regular file.
            let slot = format!("{seed}/{i}");
            out.push(self.write_log_file(dir, account, region, key_time, &slot, evs));
        }
        out
    }

    fn write_log_file(
        &self,
        dir: &Path,
        account: &str,
        region: &str,
        key_time: i64,
        slot: &str,
        evs: &[&Event],
    ) -> LogFile {
        assert!(!evs.is_empty(), "a log file holds at least one record");
        let mut ids = Prng::new(&["ids", slot, account, region]);
        let records: Vec<Value> = evs
            .iter()
            .map(|e| e.render(account, region, &mut ids))
            .collect();
        let bytes = compact(&json!({ "Records": records }));
        // The trail too: two trails writing to one bucket and prefix never share a file name.
        let unique = Prng::new(&["unique", slot, account, region, &self.trail_name]).alnum(16);
        let key = self.log_key(account, region, key_time, &unique);
        let path = dir.join("bucket").join(&key);
        write_file(&path, &gzip_bytes(&bytes));
        LogFile {
            path,
            key,
            account: account.to_string(),
            region: region.to_string(),
            delivered: key_time,
            oldest: evs.iter().map(|e| e.time).min().expect("events"),
            newest: evs.iter().map(|e| e.time).max().expect("events"),
            events: evs.len(),
            sha256: sha256_hex(&bytes),
        }
    }

    /// An extra log file, delivered at `key_time`, that no digest lists
    /// (`log_unreferenced`); the records default to this account and region.
    pub fn write_unlisted_log(
        &self,
        written: &Written,
        account: &str,
        region: &str,
        key_time: i64,
        events: &[Event],
    ) -> LogFile {
        let evs: Vec<&Event> = events.iter().collect();
        let slot = format!("{}/unlisted/{key_time}", self.seed);
        self.write_log_file(&written.root, account, region, key_time, &slot, &evs)
    }

    /// Digest periods `(start, end, chain_start)` of one account and region.
    fn digest_periods(&self, account: &str, region: &str) -> Vec<(i64, i64, bool)> {
        let phase = self.digest_offset_for(account, region);
        // Smallest phase point (start + phase + k h) strictly after t.
        let next_end = |t: i64| {
            let base = self.start + phase;
            let k = (t - base).div_euclid(HOUR) + 1;
            let e = base + k * HOUR;
            if e > t {
                e
            } else {
                e + HOUR
            }
        };
        let mut out = Vec::new();
        for (n, (from, until)) in self.segments().into_iter().enumerate() {
            if from >= self.end() {
                break;
            }
            let mut end = next_end(from);
            let mut begin = if n == 0 && self.chain_starts_before {
                end - HOUR
            } else {
                from
            };
            let mut first = true;
            match until {
                Some(stop) => {
                    while end <= stop {
                        out.push((begin, end, first));
                        first = false;
                        begin = end;
                        end += HOUR;
                    }
                    out.push((begin, stop + FINAL_DIGEST_DELAY, first));
                }
                None => loop {
                    out.push((begin, end, first));
                    first = false;
                    if end > self.end() {
                        break;
                    }
                    begin = end;
                    end += HOUR;
                },
            }
        }
        if let Some(off) = self.validation_disabled_at {
            out.retain(|&(_, end, _)| end <= off);
        }
        out
    }

    fn write_digests(
        &self,
        dir: &Path,
        account: &str,
        region: &str,
        logs: &[LogFile],
    ) -> Vec<DigestFile> {
        let periods = self.digest_periods(account, region);
        let mut out: Vec<DigestFile> = Vec::new();
        // (object key, decompressed bytes hash, signature) of the previous digest in the chain.
        let mut prev: Option<(String, String, String)> = None;
        for (i, &(start, end, chain_start)) in periods.iter().enumerate() {
            if chain_start {
                prev = if i == 0 && self.chain_starts_before {
                    Some(self.phantom_previous(account, region, start))
                } else {
                    None
                };
            }
            let listed: Vec<&LogFile> = logs
                .iter()
                .filter(|l| start <= l.delivered && l.delivered < end)
                .collect();
            let signing = self.signing_for(account, region, i, periods.len(), end);
            let key = self.digest_key(account, region, end, false);
            let doc = self.digest_json(
                account,
                start,
                end,
                &key,
                signing.claimed,
                &listed,
                prev.as_ref(),
            );
            let bytes = compact(&doc);
            let data = signing_string(
                &iso(end),
                &self.bucket,
                &key,
                &bytes,
                prev.as_ref().map(|p| p.2.as_str()),
            );
            let signature = sign_hex(signing.key, &data);
            let gz = gzip_bytes(&bytes);
            let path = dir.join("bucket").join(&key);
            write_file(&path, &gz);
            let sidecar = if self.sidecars == Sidecars::Omit {
                None
            } else {
                let delivered = end + 60 + (h64(&["lm", &key]) % 60) as i64;
                let side = sidecar_path(&path);
                let head = sidecar_json(&gz, &signature, delivered, self.cli, self.sidecars);
                write_file(&side, &pretty(&head));
                Some(side)
            };
            prev = Some((key.clone(), sha256_hex(&bytes), signature.clone()));
            out.push(DigestFile {
                path,
                sidecar,
                key,
                account: account.to_string(),
                region: region.to_string(),
                start,
                end,
                chain_start,
                logs: listed.iter().map(|l| l.key.clone()).collect(),
                signature,
                key_used: signing.key,
                sha256: sha256_hex(&bytes),
            });
        }
        out
    }

    /// The digest before a bundle's first one, for `chain_starts_before`: computed (so the
    /// link fields are genuine) but never written.
    fn phantom_previous(
        &self,
        account: &str,
        region: &str,
        first_start: i64,
    ) -> (String, String, String) {
        let end = first_start;
        let key = self.digest_key(account, region, end, false);
        let doc = self.digest_json(account, end - HOUR, end, &key, Key::Test, &[], None);
        let bytes = compact(&doc);
        let sig = sign_hex(
            Key::Test,
            &signing_string(&iso(end), &self.bucket, &key, &bytes, None),
        );
        (key, sha256_hex(&bytes), sig)
    }

    #[allow(clippy::too_many_arguments)]
    fn digest_json(
        &self,
        account: &str,
        start: i64,
        end: i64,
        key: &str,
        claimed: Key,
        listed: &[&LogFile],
        prev: Option<&(String, String, String)>,
    ) -> Value {
        let newest = listed.iter().map(|l| l.newest).max().map(iso);
        let oldest = listed.iter().map(|l| l.oldest).min().map(iso);
        let files: Vec<Value> = listed
            .iter()
            .map(|l| {
                json!({
                    "s3Bucket": self.bucket,
                    "s3Object": l.key,
                    "hashValue": l.sha256,
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": iso(l.newest),
                    "oldestEventTime": iso(l.oldest),
                })
            })
            .collect();
        json!({
            "awsAccountId": account,
            "digestStartTime": iso(start),
            "digestEndTime": iso(end),
            "digestS3Bucket": self.bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": claimed.fingerprint(),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": newest,
            "oldestEventTime": oldest,
            "previousDigestS3Bucket": prev.map(|_| self.bucket.clone()),
            "previousDigestS3Object": prev.map(|p| p.0.clone()),
            "previousDigestHashValue": prev.map(|p| p.1.clone()),
            "previousDigestHashAlgorithm": prev.map(|_| "SHA-256"),
            "previousDigestSignature": prev.map(|p| p.2.clone()),
            "logFiles": files,
        })
    }

    fn key_time(&self, t: i64) -> Value {
        match self.cli {
            AwsCli::V2 => json!(fmt_offset(t, self.key_export_offset)),
            AwsCli::V1 => epoch_json(t, 0),
        }
    }

    fn write_keys_file(&self, dir: &Path) -> PathBuf {
        let day = self.start - self.start.rem_euclid(86_400);
        let valid_from = day - 20 * 86_400;
        let end_day = self.end() - self.end().rem_euclid(86_400);
        let valid_to = end_day + 21 * 86_400;
        let entry = |key: Key, from: i64, to: i64| {
            json!({
                "ValidityStartTime": self.key_time(from),
                "ValidityEndTime": self.key_time(to),
                "Value": key.public_b64(),
                "Fingerprint": key.fingerprint(),
            })
        };
        let list = match self.key_rotation {
            // Newest first, as the CLI prints them.
            Some(at) => vec![
                entry(Key::Rotated, at - 12 * HOUR, valid_to),
                entry(Key::Test, valid_from, at + 12 * HOUR),
            ],
            None => vec![entry(Key::Test, valid_from, valid_to)],
        };
        let path = dir.join("keys").join("list-public-keys.json");
        write_file(&path, &pretty(&json!({ "PublicKeyList": list })));
        path
    }

    fn trail_json(&self) -> Value {
        let mut t = Map::new();
        t.insert("Name".into(), json!(self.trail_name));
        t.insert("S3BucketName".into(), json!(self.bucket));
        if let Some(p) = &self.prefix {
            t.insert("S3KeyPrefix".into(), json!(p));
        }
        t.insert("IncludeGlobalServiceEvents".into(), json!(true));
        t.insert("IsMultiRegionTrail".into(), json!(true));
        t.insert("HomeRegion".into(), json!(self.home_region));
        t.insert("TrailARN".into(), json!(self.trail_arn()));
        t.insert(
            "LogFileValidationEnabled".into(),
            json!(self.validation_disabled_at.is_none()),
        );
        let kms_id = Prng::new(&["kms", &self.seed.to_string(), self.owner()]).uuid();
        t.insert(
            "KmsKeyId".into(),
            json!(format!(
                "arn:aws:kms:{}:{}:key/{kms_id}",
                self.home_region,
                self.owner()
            )),
        );
        t.insert("HasCustomEventSelectors".into(), json!(true));
        t.insert("HasInsightSelectors".into(), json!(false));
        t.insert("IsOrganizationTrail".into(), json!(self.org_id.is_some()));
        Value::Object(t)
    }

    fn trail_status_json(&self) -> Value {
        let last_log = self.end();
        let last_digest = self
            .digest_periods(self.owner(), &self.home_region)
            .last()
            .map_or(last_log, |p| p.1);
        // As `get-trail-status` prints it after a stop: the last stop's time stays, even
        // once logging was started again.
        let stopped = self.stops.last().map(|s| s.at);
        let started = self
            .stops
            .last()
            .and_then(|s| s.restart)
            .unwrap_or(self.start - 30 * 86_400 + 23_013);
        let last_log = match self.stops.last() {
            Some(Stop { at, restart: None }) => (*at).min(last_log),
            _ => last_log,
        };
        let t = |secs: i64, ms: u32| match self.cli {
            AwsCli::V2 => json!(fmt_micros(secs, ms)),
            AwsCli::V1 => epoch_json(secs, ms),
        };
        let mut s = Map::new();
        s.insert("IsLogging".into(), json!(self.is_logging_at_end()));
        s.insert("LatestDeliveryTime".into(), t(last_log + 209, 845));
        s.insert("StartLoggingTime".into(), t(started, 563));
        if let Some(at) = stopped {
            s.insert("StopLoggingTime".into(), t(at, 120));
        }
        s.insert("LatestDigestDeliveryTime".into(), t(last_digest + 35, 337));
        s.insert(
            "LatestDeliveryAttemptTime".into(),
            json!(iso(last_log + 209)),
        );
        s.insert("LatestNotificationAttemptTime".into(), json!(""));
        s.insert("LatestNotificationAttemptSucceeded".into(), json!(""));
        s.insert(
            "LatestDeliveryAttemptSucceeded".into(),
            json!(iso(last_log + 209)),
        );
        s.insert("TimeLoggingStarted".into(), json!(iso(started)));
        s.insert(
            "TimeLoggingStopped".into(),
            json!(stopped.map(iso).unwrap_or_default()),
        );
        Value::Object(s)
    }

    fn write_config(&self, dir: &Path) -> Vec<PathBuf> {
        let name = &self.trail_name;
        let mut docs: Vec<(String, Value)> = vec![
            (
                "describe-trails.json".into(),
                json!({ "trailList": [self.trail_json()] }),
            ),
            (
                format!("get-trail.{name}.json"),
                json!({ "Trail": self.trail_json() }),
            ),
            (
                format!("get-trail-status.{name}.json"),
                self.trail_status_json(),
            ),
            (
                format!("get-event-selectors.{name}.json"),
                json!({
                    "TrailARN": self.trail_arn(),
                    "EventSelectors": [{
                        "ReadWriteType": "All",
                        "IncludeManagementEvents": true,
                        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
                        "ExcludeManagementEventSources": []
                    }]
                }),
            ),
        ];
        if let Some(org) = &self.org_id {
            let owner = self.owner();
            docs.push((
                "describe-organization.json".into(),
                json!({
                    "Organization": {
                        "Id": org,
                        "Arn": format!("arn:aws:organizations::{owner}:organization/{org}"),
                        "FeatureSet": "ALL",
                        "MasterAccountArn": format!("arn:aws:organizations::{owner}:account/{org}/{owner}"),
                        "MasterAccountId": owner,
                        "MasterAccountEmail": "aws-management@example.com",
                        "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]
                    }
                }),
            ));
        }
        let mut out = Vec::new();
        for (file, mut v) in docs {
            for edit in &self.config_edits {
                edit(&file, &mut v);
            }
            let path = dir.join("config").join(&file);
            write_file(&path, &pretty(&v));
            out.push(path);
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// What was written
// ---------------------------------------------------------------------------------------

/// A written log file.
#[derive(Clone, Debug)]
pub struct LogFile {
    pub path: PathBuf,
    /// S3 key (relative to the bucket).
    pub key: String,
    pub account: String,
    pub region: String,
    /// Key time (delivery), UNIX seconds.
    pub delivered: i64,
    pub oldest: i64,
    pub newest: i64,
    pub events: usize,
    /// SHA-256 of the decompressed bytes, as the digest lists it.
    pub sha256: String,
}

/// A written digest.
#[derive(Clone, Debug)]
pub struct DigestFile {
    pub path: PathBuf,
    /// `None` when sidecars are omitted.
    pub sidecar: Option<PathBuf>,
    pub key: String,
    pub account: String,
    pub region: String,
    pub start: i64,
    pub end: i64,
    /// First digest of a chain (previous fields null, or naming an absent digest with
    /// `chain_starts_before`).
    pub chain_start: bool,
    /// S3 keys of the log files it lists.
    pub logs: Vec<String>,
    pub signature: String,
    pub key_used: Key,
    /// SHA-256 of the decompressed bytes.
    pub sha256: String,
}

/// Everything [`Bundle::write`] wrote; lists are in time order per account and region.
#[derive(Clone, Debug)]
pub struct Written {
    pub root: PathBuf,
    pub bucket: String,
    pub owner: String,
    /// Activity period: use as `--start`/`--end`.
    pub start: i64,
    pub end: i64,
    pub logs: Vec<LogFile>,
    pub digests: Vec<DigestFile>,
    pub keys_file: Option<PathBuf>,
    pub config_files: Vec<PathBuf>,
}

impl Written {
    /// Log files of the owner account in `region`, oldest first.
    pub fn logs_of(&self, region: &str) -> Vec<&LogFile> {
        self.account_logs(&self.owner, region)
    }
    pub fn account_logs(&self, account: &str, region: &str) -> Vec<&LogFile> {
        self.logs
            .iter()
            .filter(|l| l.account == account && l.region == region)
            .collect()
    }
    /// Digests of the owner account in `region`, oldest first.
    pub fn digests_of(&self, region: &str) -> Vec<&DigestFile> {
        self.account_digests(&self.owner, region)
    }
    pub fn account_digests(&self, account: &str, region: &str) -> Vec<&DigestFile> {
        self.digests
            .iter()
            .filter(|d| d.account == account && d.region == region)
            .collect()
    }
    /// The digest that lists a log file.
    pub fn digest_listing(&self, log: &LogFile) -> Option<&DigestFile> {
        self.digests.iter().find(|d| d.logs.contains(&log.key))
    }
    /// The digest after `d` in its chain, if any.
    pub fn next_digest(&self, d: &DigestFile) -> Option<&DigestFile> {
        let chain = self.account_digests(&d.account, &d.region);
        let i = chain.iter().position(|x| x.key == d.key)?;
        chain.get(i + 1).copied().filter(|n| !n.chain_start)
    }
    pub fn start_iso(&self) -> String {
        iso(self.start)
    }
    pub fn end_iso(&self) -> String {
        iso(self.end)
    }
    /// `verify ROOT --start S --end E --format json --deterministic --no-progress`.
    pub fn verify_args(&self) -> Vec<String> {
        vec![
            "verify".into(),
            self.root.display().to_string(),
            "--start".into(),
            self.start_iso(),
            "--end".into(),
            self.end_iso(),
            "--format".into(),
            "json".into(),
            "--deterministic".into(),
            "--no-progress".into(),
        ]
    }
    /// Delete every log file, digest and sidecar of `region`, in every account (the
    /// `missing_region` attack; `keys/` and `config/` stay).
    pub fn remove_region(&self, region: &str) {
        let logs = self.logs.iter().filter(|l| l.region == region);
        for p in logs.map(|l| &l.path) {
            fs::remove_file(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
        for d in self.digests.iter().filter(|d| d.region == region) {
            for p in std::iter::once(&d.path).chain(d.sidecar.as_ref()) {
                fs::remove_file(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
        }
    }
}

/// Write `key`'s public half as SPKI PEM at `path` (for `--public-key FILE`; keep it
/// outside the bundle folder, or it is one more input file).
pub fn write_public_key_pem(key: Key, path: &Path) {
    write_file(path, key.public_pem().as_bytes());
}

/// A `_backfill` digest (`…_YYYYMMDDTHHmmssZ_backfill.json.gz`, as AWS names the digests it
/// delivers late for log files an earlier digest missed) listing `logs`, signed with `key`,
/// with a sidecar. AWS does not document how backfill digests link into the chain; this one
/// stands alone (previous fields null, signing `null`).
#[allow(clippy::too_many_arguments)]
pub fn write_backfill_digest(
    bundle: &Bundle,
    written: &Written,
    account: &str,
    region: &str,
    start: i64,
    end: i64,
    logs: &[&LogFile],
    key: Key,
) -> DigestFile {
    let obj = bundle.digest_key(account, region, end, true);
    let doc = bundle.digest_json(account, start, end, &obj, key, logs, None);
    let bytes = compact(&doc);
    let signature = sign_hex(
        key,
        &signing_string(&iso(end), &bundle.bucket, &obj, &bytes, None),
    );
    let gz = gzip_bytes(&bytes);
    let path = written.root.join("bucket").join(&obj);
    write_file(&path, &gz);
    let side = sidecar_path(&path);
    write_file(
        &side,
        &pretty(&sidecar_json(
            &gz,
            &signature,
            end + 90,
            bundle.cli,
            Sidecars::Write,
        )),
    );
    DigestFile {
        path,
        sidecar: Some(side),
        key: obj,
        account: account.to_string(),
        region: region.to_string(),
        start,
        end,
        chain_start: true,
        logs: logs.iter().map(|l| l.key.clone()).collect(),
        signature,
        key_used: key,
        sha256: sha256_hex(&bytes),
    }
}

/// The sample bundle shipped in `testdata/sample/` (the README's first command): a clean
/// two-region trail, 2025-03-01T00:00:00Z to 06:00:00Z, whose name has a `.` and a `_`.
pub fn sample() -> Bundle {
    Bundle::new("123456789012", "org-audit.trail_1", "us-east-1")
        .regions(&["us-east-1", "eu-central-1"])
        .window(ts("2025-03-01T00:00:00Z"), 6)
        .files_per_hour(2)
        .events_per_file(5)
}

/// Where the committed sample lives.
pub fn sample_dir() -> PathBuf {
    testdata("sample")
}
