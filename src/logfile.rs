//! Log files: each read exactly once — inflate, hash, parse — in parallel.
//!
//! A worker reads the compressed bytes (hashed for the manifest), inflates them through
//! the bounded single-member gunzip, hashes the inflated bytes (what a digest's
//! `hashValue` names) and parses the records, keeping only per-hour counts and the rare
//! events that matter (logging tampering, StartLogging). Nothing per event survives the
//! file, so memory is bounded by files and hours, never by events.
//!
//! Comparing the results with what verified digests list (`log_missing`,
//! `log_hash_mismatch`, `log_unreadable`, `log_unreferenced`) is done in `verify.rs`.

use crate::discover::hex_sha256;
use crate::findings::EventFacts;
use crate::gzip::gunzip_single;
use crate::time;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

/// Event names that weaken logging (`logging_tampering_event`), with the service that
/// must have recorded them, plus StartLogging (kept to explain gaps).
pub const NOTABLE: &[(&str, &str)] = &[
    ("cloudtrail.amazonaws.com", "StopLogging"),
    ("cloudtrail.amazonaws.com", "StartLogging"),
    ("cloudtrail.amazonaws.com", "DeleteTrail"),
    ("cloudtrail.amazonaws.com", "UpdateTrail"),
    ("cloudtrail.amazonaws.com", "PutEventSelectors"),
    ("cloudtrail.amazonaws.com", "PutInsightSelectors"),
    ("cloudtrail.amazonaws.com", "DeleteEventDataStore"),
    ("s3.amazonaws.com", "PutBucketPolicy"),
    ("s3.amazonaws.com", "DeleteBucketPolicy"),
    ("s3.amazonaws.com", "PutBucketLifecycle"),
    ("s3.amazonaws.com", "PutBucketLifecycleConfiguration"),
    ("s3.amazonaws.com", "DeleteBucketLifecycle"),
    ("s3.amazonaws.com", "DeleteBucket"),
    ("s3.amazonaws.com", "PutBucketVersioning"),
    ("kms.amazonaws.com", "DisableKey"),
    ("kms.amazonaws.com", "ScheduleKeyDeletion"),
    ("kms.amazonaws.com", "PutKeyPolicy"),
];

/// An event worth keeping whole (rare by nature).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Notable {
    pub time: i64,
    pub facts: EventFacts,
    pub event_source: String,
    pub aws_region: Option<String>,
    pub account: Option<String>,
    /// `requestParameters.bucketName` / `keyId` / `name`, when present.
    pub bucket: Option<String>,
    pub key_id: Option<String>,
    pub trail_name: Option<String>,
}

/// Events and management events whose `eventTime` falls in one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourCount {
    pub events: u64,
    pub management: u64,
}

#[derive(Debug, Clone, Default)]
pub struct LogResult {
    pub file_size: u64,
    pub file_sha256: Option<String>,
    /// SHA-256 of the inflated bytes; `None` when it could not be inflated.
    pub sha256: Option<String>,
    /// Why the file is unreadable (gzip or JSON), if it is.
    pub error: Option<String>,
    pub inflated_size: u64,
    pub events: u64,
    pub management: u64,
    /// By hour start (UNIX seconds).
    pub hours: BTreeMap<i64, HourCount>,
    pub notable: Vec<Notable>,
}

thread_local! {
    /// One inflate buffer per worker thread, reused for every file it reads.
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's reusable inflate buffer. A buffer that grew past 64 MiB for
/// one huge file is released afterwards so that one file cannot pin memory for the run.
pub fn with_buffer<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    BUFFER.with(|b| match b.try_borrow_mut() {
        Ok(mut buf) => {
            let out = f(&mut buf);
            if buf.capacity() > 64 << 20 {
                *buf = Vec::new();
            }
            out
        }
        // Re-entered on the same thread (never in practice): use a fresh buffer.
        Err(_) => f(&mut Vec::new()),
    })
}

/// Inflate, hash and parse one gzip log file already in memory.
pub fn analyse_compressed(raw: &[u8], max_inflate: u64, buf: &mut Vec<u8>, r: &mut LogResult) {
    if let Err(e) = gunzip_single(raw, max_inflate, buf) {
        r.error = Some(e.to_string());
        return;
    }
    r.inflated_size = buf.len() as u64;
    r.sha256 = Some(hex_sha256(buf));
    if let Err(e) = parse_records(buf, r) {
        r.error = Some(e);
    }
}

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<Record<'a>>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(rename = "eventTime", borrow, default)]
    event_time: Option<Cow<'a, str>>,
    #[serde(rename = "eventName", borrow, default)]
    event_name: Option<Cow<'a, str>>,
    #[serde(rename = "eventSource", borrow, default)]
    event_source: Option<Cow<'a, str>>,
    #[serde(rename = "eventID", borrow, default)]
    event_id: Option<Cow<'a, str>>,
    #[serde(rename = "managementEvent", default)]
    management_event: Option<bool>,
    #[serde(rename = "eventCategory", borrow, default)]
    event_category: Option<Cow<'a, str>>,
    #[serde(rename = "errorCode", borrow, default)]
    error_code: Option<Cow<'a, str>>,
    #[serde(rename = "sourceIPAddress", borrow, default)]
    source_ip: Option<Cow<'a, str>>,
    #[serde(rename = "awsRegion", borrow, default)]
    aws_region: Option<Cow<'a, str>>,
    #[serde(rename = "recipientAccountId", borrow, default)]
    recipient_account: Option<Cow<'a, str>>,
    // Parsed only for the rare notable events, and leniently: a shape we do not expect
    // there must not make the whole file unreadable.
    #[serde(rename = "userIdentity", borrow, default)]
    user_identity: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "requestParameters", borrow, default)]
    request_parameters: Option<&'a serde_json::value::RawValue>,
}

impl Record<'_> {
    /// `managementEvent`, else `eventCategory`, else (older eventVersions carry neither)
    /// management: data events have carried these fields since they were introduced.
    fn is_management(&self) -> bool {
        match (self.management_event, self.event_category.as_deref()) {
            (Some(m), _) => m,
            (None, Some(c)) => c.eq_ignore_ascii_case("Management"),
            (None, None) => true,
        }
    }
}

fn parse_records(bytes: &[u8], r: &mut LogResult) -> Result<(), String> {
    let doc: Doc<'_> =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid CloudTrail JSON ({e})"))?;
    // Duplicate records inside one file are counted once (by eventID).
    let mut seen: HashSet<&str> = HashSet::with_capacity(doc.records.len());
    for rec in &doc.records {
        if let Some(id) = rec.event_id.as_deref() {
            if !seen.insert(id) {
                continue;
            }
        }
        let mgmt = rec.is_management();
        r.events += 1;
        r.management += u64::from(mgmt);
        if let Some(t) = rec.event_time.as_deref().and_then(time::parse_event_time) {
            let h = r.hours.entry(time::hour_floor(t)).or_default();
            h.events += 1;
            h.management += u64::from(mgmt);
            if let (Some(name), Some(source)) =
                (rec.event_name.as_deref(), rec.event_source.as_deref())
            {
                if NOTABLE.iter().any(|(s, n)| *n == name && *s == source) {
                    r.notable.push(notable(rec, t, name, source));
                }
            }
        }
    }
    Ok(())
}

fn notable(rec: &Record<'_>, t: i64, name: &str, source: &str) -> Notable {
    let ident: Option<serde_json::Value> = rec
        .user_identity
        .and_then(|v| serde_json::from_str(v.get()).ok());
    let params: Option<serde_json::Value> = rec
        .request_parameters
        .and_then(|v| serde_json::from_str(v.get()).ok());
    let pstr = |k: &str| {
        params
            .as_ref()
            .and_then(|p| p.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    // The principal: the caller's ARN, else the session issuer's, else the invoking service.
    let principal = ident.as_ref().and_then(|i| {
        i.get("arn")
            .and_then(|v| v.as_str())
            .or_else(|| {
                i.pointer("/sessionContext/sessionIssuer/arn")
                    .and_then(|v| v.as_str())
            })
            .or_else(|| i.get("invokedBy").and_then(|v| v.as_str()))
            .map(str::to_owned)
    });
    Notable {
        time: t,
        facts: EventFacts {
            event_name: name.to_owned(),
            event_time: time::fmt(t),
            principal,
            source_ip: rec.source_ip.as_deref().map(str::to_owned),
            error_code: rec
                .error_code
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            event_id: rec.event_id.as_deref().map(str::to_owned),
        },
        event_source: source.to_owned(),
        aws_region: rec.aws_region.as_deref().map(str::to_owned),
        account: rec.recipient_account.as_deref().map(str::to_owned),
        bucket: pstr("bucketName"),
        key_id: pstr("keyId"),
        trail_name: pstr("name").or_else(|| pstr("trailName")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gzip::gzip;

    fn run(json: &str) -> LogResult {
        let mut r = LogResult::default();
        let mut buf = Vec::new();
        analyse_compressed(&gzip(json.as_bytes()), 1 << 20, &mut buf, &mut r);
        r
    }

    #[test]
    fn counts_events_by_event_time_hour_and_kind() {
        let r = run(r#"{"Records":[
            {"eventTime":"2025-01-06T11:59:59Z","eventName":"DescribeVolumes","eventSource":"ec2.amazonaws.com","eventID":"a","managementEvent":true},
            {"eventTime":"2025-01-06T12:00:01Z","eventName":"GetObject","eventSource":"s3.amazonaws.com","eventID":"b","managementEvent":false,"eventCategory":"Data"},
            {"eventTime":"2025-01-06T12:00:02Z","eventName":"GetObject","eventSource":"s3.amazonaws.com","eventID":"c","eventCategory":"Data"},
            {"eventTime":"2025-01-06T12:00:03Z","eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventID":"d","eventVersion":"1.02"},
            {"eventTime":"2025-01-06T12:00:03Z","eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventID":"d","eventVersion":"1.02"}
        ]}"#);
        assert_eq!(r.error, None);
        assert_eq!((r.events, r.management), (4, 2));
        let h11 = time::parse_iso("2025-01-06T11:00:00Z").unwrap();
        assert_eq!(
            r.hours[&h11],
            HourCount {
                events: 1,
                management: 1
            }
        );
        assert_eq!(
            r.hours[&(h11 + 3600)],
            HourCount {
                events: 3,
                management: 1
            }
        );
    }

    #[test]
    fn keeps_notable_events_with_principal_and_error() {
        let r = run(
            r#"{"Records":[{"eventTime":"2025-01-06T09:23:27Z","eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com",
            "userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/svc-backup"},"sourceIPAddress":"198.51.100.7",
            "errorCode":"AccessDenied","requestParameters":{"name":"management-events"},"eventID":"x"},
            {"eventTime":"2025-01-06T09:23:28Z","eventName":"StopLogging","eventSource":"evil.example.com","requestParameters":"weird"}]}"#,
        );
        assert_eq!(r.error, None);
        assert_eq!(r.notable.len(), 1);
        let n = &r.notable[0];
        assert_eq!(
            n.facts.principal.as_deref(),
            Some("arn:aws:iam::111122223333:user/svc-backup")
        );
        assert_eq!(n.facts.error_code.as_deref(), Some("AccessDenied"));
        assert_eq!(n.trail_name.as_deref(), Some("management-events"));
    }

    #[test]
    fn bad_json_is_unreadable_but_hashed() {
        let r = run(r#"{"Records":[{"eventTime":"2025-01-06T09:23:27Z""#);
        assert!(r.error.as_deref().unwrap().contains("JSON"));
        assert!(r.sha256.is_some());
        let r = run(r#"{"NotRecords":[]}"#);
        assert!(r.error.is_some());
        let mut r = LogResult::default();
        analyse_compressed(b"\x1f\x8b\x08\x00garbage", 1 << 20, &mut Vec::new(), &mut r);
        assert!(r.error.is_some() && r.sha256.is_none());
        // Invalid UTF-8 inside a string.
        let mut bytes = br#"{"Records":[{"eventName":""#.to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(br#""}]}"#);
        let mut r = LogResult::default();
        analyse_compressed(&gzip(&bytes), 1 << 20, &mut Vec::new(), &mut r);
        assert!(r.error.is_some());
    }
}
