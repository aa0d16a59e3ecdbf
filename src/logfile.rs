//! Log files: each read exactly once — inflate, hash, parse — in parallel.
//!
//! A worker reads the compressed bytes (hashed for the manifest), inflates them through
//! the bounded single-member gunzip, hashes the inflated bytes (what a digest's
//! `hashValue` names) and parses the records, keeping only per-hour counts and the rare
//! events that matter (logging tampering, StartLogging). Nothing per event survives the
//! file, so memory is bounded by files and hours, never by events. Workers take files two
//! at a time (`analyse_two`): two SHA-256s computed together cost about the time of one
//! (`hash::sha256_two`).
//!
//! Comparing the results with what verified digests list (`log_missing`,
//! `log_hash_mismatch`, `log_unreadable`, `log_unreferenced`) is done in `verify.rs`.

use crate::findings::EventFacts;
use crate::gzip::gunzip_single;
use crate::hash::Sha256Hash;
use crate::time;
use std::borrow::Cow;
use std::collections::HashSet;

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
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
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
    /// SHA-256 of the inflated bytes; `None` when it could not be inflated.
    pub sha256: Option<Sha256Hash>,
    /// Why the file is unreadable (gzip or JSON), if it is.
    pub error: Option<Box<str>>,
    pub inflated_size: u64,
    pub events: u64,
    pub management: u64,
    /// By hour start (UNIX seconds), ascending; a file rarely spans more than two hours,
    /// so a short vector, not a map (one of these is kept per log file).
    pub hours: Vec<(i64, HourCount)>,
    /// The oldest and newest `eventTime`: the file holds the evidence of that span (the
    /// file named for 00:00 holds the minutes before it).
    pub event_span: Option<(i64, i64)>,
    pub notable: Vec<Notable>,
}

thread_local! {
    /// Two inflate buffers per worker thread (files go two at a time: `analyse_two`),
    /// reused for every file it reads.
    static BUFFERS: std::cell::RefCell<[Vec<u8>; 2]> =
        const { std::cell::RefCell::new([Vec::new(), Vec::new()]) };
}

/// A buffer that grew past this for one huge file is released afterwards, so that one
/// file cannot pin memory for the run.
const KEEP_BUFFER: usize = 64 << 20;

/// Run `f` with this thread's two reusable inflate buffers.
pub fn with_buffers<T>(f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> T) -> T {
    BUFFERS.with(|b| match b.try_borrow_mut() {
        Ok(mut bufs) => {
            let [x, y] = &mut *bufs;
            let out = f(x, y);
            // Kept for the next files: the first buffer up to KEEP_BUFFER, the second (a
            // pair's second file) up to PAIR_MAX, so that a worker keeps at most the sum.
            for (buf, keep) in bufs.iter_mut().zip([KEEP_BUFFER, PAIR_MAX]) {
                if buf.capacity() > keep {
                    *buf = Vec::new();
                }
            }
            out
        }
        // Re-entered on the same thread (never in practice): use fresh buffers.
        Err(_) => f(&mut Vec::new(), &mut Vec::new()),
    })
}

/// Run `f` with one of this thread's reusable inflate buffers.
pub fn with_buffer<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    with_buffers(|x, _| f(x))
}

/// Inflate, hash and parse one gzip log file already in memory.
pub fn analyse_compressed(raw: &[u8], max_inflate: u64, buf: &mut Vec<u8>, r: &mut LogResult) {
    if inflate(raw, max_inflate, buf, r) {
        hash_and_parse(buf, r);
    }
}

/// A file larger than this, compressed or inflated, is not kept waiting for a second one:
/// it is hashed and parsed alone, so that a worker holds at most this much of another file
/// (of each form) beside its largest one. CloudTrail's log files are a few MB inflated.
pub const PAIR_MAX: usize = 16 << 20;

/// `analyse_compressed` for two files, their inflated bytes hashed together
/// (`hash::sha256_two`: on CPUs with SHA extensions, in about the time of one). Each
/// result is exactly what `analyse_compressed` gives for that file alone.
pub fn analyse_two(
    raw: [&[u8]; 2],
    max_inflate: u64,
    bufs: [&mut Vec<u8>; 2],
    results: [&mut LogResult; 2],
) {
    let ([ra, rb], [ba, bb], [xa, xb]) = (raw, bufs, results);
    let a_inflated = inflate(ra, max_inflate, ba, xa);
    if a_inflated && ba.len() <= PAIR_MAX {
        // Held while the second inflates: no more than PAIR_MAX of it (a buffer kept from a
        // larger earlier file is cut down first).
        ba.shrink_to(PAIR_MAX);
        if inflate(rb, max_inflate, bb, xb) {
            let (ha, hb) = crate::hash::sha256_two(ba, bb);
            (xa.sha256, xb.sha256) = (Some(ha), Some(hb));
            parse(ba, xa);
            parse(bb, xb);
        } else {
            hash_and_parse(ba, xa);
        }
        return;
    }
    // The first alone (if it inflated at all), then its buffer released if large (a bomb's
    // too: it was reserved for the size its trailer claimed), then the second.
    if a_inflated {
        hash_and_parse(ba, xa);
    }
    if ba.capacity() > PAIR_MAX {
        *ba = Vec::new();
    }
    analyse_compressed(rb, max_inflate, bb, xb);
}

fn hash_and_parse(buf: &[u8], r: &mut LogResult) {
    r.sha256 = Some(Sha256Hash::of(buf));
    parse(buf, r);
}

/// Inflate into `buf`; false (the error in `r`) when it does not inflate.
fn inflate(raw: &[u8], max_inflate: u64, buf: &mut Vec<u8>, r: &mut LogResult) -> bool {
    match gunzip_single(raw, max_inflate, buf) {
        Ok(()) => {
            r.inflated_size = buf.len() as u64;
            true
        }
        Err(e) => {
            r.error = Some(e.to_string().into());
            false
        }
    }
}

/// Parse inflated (and hashed) bytes into `r`.
fn parse(buf: &[u8], r: &mut LogResult) {
    if let Err(e) = parse_records(buf, r) {
        r.error = Some(e.into());
    }
    r.hours.shrink_to_fit();
}

/// What one record holds for the counts and, when it is notable, for the finding.
/// Strings borrow from the inflated buffer unless they had JSON escapes.
#[derive(Default)]
struct Record<'a> {
    event_time: Option<Cow<'a, str>>,
    event_name: Option<Cow<'a, str>>,
    event_source: Option<Cow<'a, str>>,
    event_id: Option<Cow<'a, str>>,
    management_event: Option<bool>,
    event_category: Option<Cow<'a, str>>,
    error_code: Option<Cow<'a, str>>,
    source_ip: Option<Cow<'a, str>>,
    aws_region: Option<Cow<'a, str>>,
    recipient_account: Option<Cow<'a, str>>,
    // Raw JSON text, parsed only for the rare notable events, and leniently: a shape we
    // do not expect there must not make the whole file unreadable.
    user_identity: Option<&'a str>,
    request_parameters: Option<&'a str>,
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
    // Counted aside and kept only if the whole file parses: a file that turns out
    // invalid halfway contributes nothing but its error.
    let mut acc = LogResult::default();
    // Duplicate records inside one file are counted once (by eventID).
    // Sized for CloudTrail's ~1 KB records, so that it rarely grows.
    // foldhash: several times SipHash's speed on short keys, and seeded per run, so that a
    // file cannot be built to collide.
    let mut seen: HashSet<Cow<'_, str>, foldhash::quality::RandomState> =
        HashSet::with_capacity_and_hasher(bytes.len() / 1024, Default::default());
    // Records come in time order, so most share the previous record's hour.
    let mut hour: Option<(i64, HourCount)> = None;
    json::parse_records(bytes, |rec| {
        if let Some(id) = &rec.event_id {
            // Cloning a borrowed `Cow` copies a pointer; one hash per record.
            if !seen.insert(id.clone()) {
                return;
            }
        }
        let mgmt = rec.is_management();
        acc.events += 1;
        acc.management += u64::from(mgmt);
        if let Some(t) = rec.event_time.as_deref().and_then(time::parse_event_time) {
            acc.event_span = Some(
                acc.event_span
                    .map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))),
            );
            let key = time::hour_floor(t);
            let h = match &mut hour {
                Some((k, h)) if *k == key => h,
                slot => {
                    if let Some((k, h)) = slot.take() {
                        add_hour(&mut acc.hours, k, h);
                    }
                    &mut slot.insert((key, HourCount::default())).1
                }
            };
            h.events += 1;
            h.management += u64::from(mgmt);
            if let (Some(name), Some(source)) =
                (rec.event_name.as_deref(), rec.event_source.as_deref())
            {
                if NOTABLE.iter().any(|(s, n)| *n == name && *s == source) {
                    acc.notable.push(notable(&rec, t, name, source));
                }
            }
        }
    })
    .map_err(|e| format!("not valid CloudTrail JSON ({e})"))?;
    if let Some((k, h)) = hour {
        add_hour(&mut acc.hours, k, h);
    }
    r.events += acc.events;
    r.management += acc.management;
    for (k, h) in acc.hours {
        add_hour(&mut r.hours, k, h);
    }
    r.event_span = match (r.event_span, acc.event_span) {
        (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
        (x, y) => x.or(y),
    };
    r.notable.append(&mut acc.notable);
    Ok(())
}

fn add_hour(hours: &mut Vec<(i64, HourCount)>, k: i64, h: HourCount) {
    match hours.binary_search_by_key(&k, |e| e.0) {
        Ok(i) => {
            if let Some((_, e)) = hours.get_mut(i) {
                e.events += h.events;
                e.management += h.management;
            }
        }
        Err(i) => hours.insert(i, (k, h)),
    }
}

fn notable(rec: &Record<'_>, t: i64, name: &str, source: &str) -> Notable {
    let ident: Option<serde_json::Value> =
        rec.user_identity.and_then(|v| serde_json::from_str(v).ok());
    let params: Option<serde_json::Value> = rec
        .request_parameters
        .and_then(|v| serde_json::from_str(v).ok());
    let pstr = |k: &str| {
        params
            .as_ref()
            .and_then(|p| p.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    // The principal: the caller's ARN, else the session issuer's, else the invoking
    // service, else (identities without an ARN: SAML and web-identity users, another
    // account) the principal ID.
    let principal = ident.as_ref().and_then(|i| {
        i.get("arn")
            .and_then(|v| v.as_str())
            .or_else(|| {
                i.pointer("/sessionContext/sessionIssuer/arn")
                    .and_then(|v| v.as_str())
            })
            .or_else(|| i.get("invokedBy").and_then(|v| v.as_str()))
            .or_else(|| i.get("principalId").and_then(|v| v.as_str()))
            .filter(|p| !p.is_empty())
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

/// Record parse alone, for `benches/stages.rs`.
#[doc(hidden)]
pub fn parse_records_for_bench(bytes: &[u8], r: &mut LogResult) {
    if let Err(e) = parse_records(bytes, r) {
        r.error = Some(e.into());
    }
}

mod json;

/// The tests' random numbers: xorshift64 from a fixed seed, so that a failure repeats.
/// `rand(n)` is below `n` (which must not be 0).
#[cfg(test)]
fn xorshift(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
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
            r.hours,
            vec![
                (
                    h11,
                    HourCount {
                        events: 1,
                        management: 1
                    }
                ),
                (
                    h11 + 3600,
                    HourCount {
                        events: 3,
                        management: 1
                    }
                )
            ]
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
        // A SAML user has no ARN: its principal ID names it.
        let r = run(
            r#"{"Records":[{"eventTime":"2025-01-06T09:23:27Z","eventName":"DeleteTrail","eventSource":"cloudtrail.amazonaws.com",
            "userIdentity":{"type":"SAMLUser","principalId":"SAMLIdP:alice","userName":"alice"}}]}"#,
        );
        assert_eq!(
            r.notable[0].facts.principal.as_deref(),
            Some("SAMLIdP:alice")
        );
        assert_eq!(n.trail_name.as_deref(), Some("management-events"));
    }

    #[test]
    fn two_at_once_give_what_each_gives_alone() {
        let log = |name: &str, n: usize| {
            let rec = format!(
                r#"{{"eventTime":"2025-01-06T09:23:27Z","eventName":"{name}","eventSource":"cloudtrail.amazonaws.com","eventID":"ID","managementEvent":true}}"#
            );
            let recs: Vec<String> = (0..n).map(|i| rec.replace("ID", &i.to_string())).collect();
            format!(r#"{{"Records":[{}]}}"#, recs.join(","))
        };
        let limit = 1 << 20;
        let files: Vec<(&str, Vec<u8>)> = vec![
            ("small", gzip(log("StopLogging", 3).as_bytes())),
            ("other", gzip(log("DescribeTrails", 40).as_bytes())),
            ("empty", gzip(b"")),
            ("not gzip", b"not gzip".to_vec()),
            ("truncated json", gzip(br#"{"Records":[{"eventTime":"#)),
            ("over the limit", gzip(&vec![b' '; limit as usize + 1])),
        ];
        let alone = |raw: &[u8], limit: u64| {
            let mut r = LogResult::default();
            analyse_compressed(raw, limit, &mut Vec::new(), &mut r);
            format!("{r:?}")
        };
        // The same two buffers throughout, as a worker keeps them: nothing may carry over.
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let mut two = |a: &[u8], b: &[u8], limit: u64| {
            let (mut ra, mut rb) = (LogResult::default(), LogResult::default());
            analyse_two([a, b], limit, [&mut x, &mut y], [&mut ra, &mut rb]);
            (format!("{ra:?}"), format!("{rb:?}"))
        };
        for (na, a) in &files {
            for (nb, b) in &files {
                let got = two(a, b, limit);
                assert_eq!(got, (alone(a, limit), alone(b, limit)), "{na} then {nb}");
            }
        }
        // A file too large to wait for a second one is done alone, either way round.
        let big = log("StopLogging", PAIR_MAX / 120 + 1);
        assert!(big.len() > PAIR_MAX);
        let (big, small, limit) = (gzip(big.as_bytes()), &files[0].1, 64 << 20);
        let (big_alone, small_alone) = (alone(&big, limit), alone(small, limit));
        assert_eq!(
            two(&big, small, limit),
            (big_alone.clone(), small_alone.clone())
        );
        assert_eq!(two(small, &big, limit), (small_alone, big_alone));
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

    fn parse(json: &[u8]) -> LogResult {
        let mut r = LogResult::default();
        if let Err(e) = parse_records(json, &mut r) {
            r.error = Some(e.into());
        }
        r
    }

    /// Run `f` on a thread with a small stack: a parser that recursed per nesting level
    /// would overflow it (and abort the test binary) on the inputs below.
    fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(128 << 10)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn deep_nesting_is_an_error_or_a_walk_never_a_crash() {
        small_stack(|| {
            let deep = "[".repeat(200_000);
            for doc in [
                deep.clone(),
                format!(r#"{{"Records":{deep}"#),
                format!(r#"{{"Records":[{{"x":{deep}"#),
                format!(r#"{{"Records":[{{"userIdentity":{deep}"#),
                format!(r#"{{"x":{}"#, "{\"a\":".repeat(100_000)),
            ] {
                let r = parse(doc.as_bytes());
                assert!(
                    r.error.as_deref().unwrap().contains("JSON"),
                    "{:?}",
                    r.error
                );
                assert_eq!(r.events, 0);
            }
            let closed = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
            let r = parse(format!(r#"{{"Records":[{{"x":{closed}}}]}}"#).as_bytes());
            assert_eq!((r.error, r.events), (None, 1));
        });
        // Deep but well-formed, in values not read (as serde_json, which skips those
        // without a depth limit): fine, and a notable event keeps its other facts. (Its
        // userIdentity then goes to serde_json, which stops at depth 128, on a stack the
        // size of a rayon worker's.)
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
            let closed = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
            let doc = format!(
                r#"{{"Records":[{{"eventTime":"2025-01-06T09:00:00Z","x":{closed}}},
                {{"eventTime":"2025-01-06T09:00:01Z","eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com","userIdentity":{closed},"errorCode":"E"}}]}}"#
            );
            let r = parse(doc.as_bytes());
            assert_eq!(r.error, None);
            assert_eq!(r.events, 2);
            assert_eq!(r.notable.len(), 1);
            assert_eq!(r.notable[0].facts.principal, None);
            assert_eq!(r.notable[0].facts.error_code.as_deref(), Some("E"));
        })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn invalid_utf8_anywhere_is_unreadable() {
        for (at, bad) in [
            (r#"{"Records":[{"eventName":"#, &b"\"\xff\""[..]),
            (r#"{"Records":[{"userAgent":"#, b"\"a\xc3\""),
            (r#"{"Records":[{"#, b"\"k\xed\xa0\x80\":1"),
            (r#"{"Records":[],"x":"#, b"\"\xe2\x82"),
        ] {
            let mut doc = at.as_bytes().to_vec();
            doc.extend_from_slice(bad);
            doc.extend_from_slice(b"}]}");
            let r = parse(&doc);
            assert!(
                r.error.as_deref().unwrap().contains("UTF-8"),
                "{:?}",
                r.error
            );
        }
        // Valid multi-byte text is fine, read or not.
        let r = parse(r#"{"Records":[{"eventName":"Désactiver","userAgent":"日本"}]}"#.as_bytes());
        assert_eq!((r.error, r.events), (None, 1));
    }

    #[test]
    fn field_types_duplicates_and_escapes_follow_serde() {
        let ok = |doc: &str| {
            let r = parse(doc.as_bytes());
            assert_eq!(r.error, None, "{doc}");
            r
        };
        let bad = |doc: &str| {
            let r = parse(doc.as_bytes());
            assert!(r.error.is_some(), "{doc}");
            assert_eq!(r.events, 0, "{doc}");
        };
        // Keys and values are compared and read after unescaping.
        let r = ok(
            r#"{"Records":[{"event\u0054ime":"2025-01-06T09:00:00\u005a","eventName":"Stop\u004cogging","eventSource":"cloudtrail.amazonaws.com","eventID":"\ud83d\ude00"}]}"#,
        );
        assert_eq!(r.notable.len(), 1);
        assert_eq!(r.notable[0].facts.event_id.as_deref(), Some("\u{1f600}"));
        // null is absent; a record with nothing is still an event (management, no hour).
        let r =
            ok(r#"{"Records":[{"eventTime":null,"managementEvent":null,"userIdentity":null},{}]}"#);
        assert_eq!((r.events, r.management, r.hours.len()), (2, 2, 0));
        // Pretty-printed, with other top-level keys before and after.
        let r = ok("\n{ \"a\" : [1, -2.5e+3, true, false, null, {}, []] ,\r\n\t\"Records\" : [ { \"eventTime\" : \"2025-01-06T09:00:00Z\" , \"x\" : { \"y\" : [ ] } } ] , \"b\" : \"\\\"\" }\n ");
        assert_eq!(r.events, 1);
        // Unknown keys may repeat; the ones read may not.
        ok(r#"{"Records":[{"x":1,"x":2}]}"#);
        bad(r#"{"Records":[{"eventTime":null,"eventTime":"2025-01-06T09:00:00Z"}]}"#);
        bad(r#"{"Records":[],"Records":[]}"#);
        // Wrong types for the fields read.
        bad(r#"{"Records":[{"eventTime":5}]}"#);
        bad(r#"{"Records":[{"eventName":["StopLogging"]}]}"#);
        bad(r#"{"Records":[{"managementEvent":"true"}]}"#);
        bad(r#"{"Records":{}}"#);
        bad(r#"{"Records":null}"#);
        bad(r#"{"Records":[1]}"#);
        bad(r#"{"Records":[[]]}"#);
        bad(r#"[]"#);
        // A lone surrogate cannot be a read string (it can sit in a skipped one).
        bad(r#"{"Records":[{"eventID":"\ud800"}]}"#);
        ok(r#"{"Records":[{"x":"\ud800"}]}"#);
        // Grammar.
        for doc in [
            r#"{"Records":[]}x"#,
            r#"{"Records":[],}"#,
            r#"{"Records":[{},]}"#,
            r#"{"Records":[{"x":01}]}"#,
            r#"{"Records":[{"x":1.}]}"#,
            r#"{"Records":[{"x":-}]}"#,
            r#"{"Records":[{"x":1e}]}"#,
            r#"{"Records":[{"x":tru}]}"#,
            r#"{"Records":[{"x":"\q"}]}"#,
            r#"{"Records":[{"x":"\u12g4"}]}"#,
            "{\"Records\":[{\"x\":\"a\tb\"}]}",
            r#"{"Records":[{"x" 1}]}"#,
            r#"{"Records":[{x:1}]}"#,
            r#"{"Records":[{"x":[1 2]}]}"#,
            r#"{"Records":[{"x":{"a":1,}}]}"#,
            r#"{"Records":[{"x":[}]}"#,
            "",
        ] {
            bad(doc);
        }
    }

    /// The serde_json parse this scanner replaced, as the reference for the test below.
    fn serde_reference(bytes: &[u8]) -> Result<LogResult, String> {
        use serde::Deserialize;
        use serde_json::value::RawValue;
        #[derive(Deserialize)]
        struct Doc<'a> {
            #[serde(rename = "Records", borrow)]
            records: Vec<Rec<'a>>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Rec<'a> {
            #[serde(borrow, default)]
            event_time: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            event_name: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            event_source: Option<Cow<'a, str>>,
            #[serde(rename = "eventID", borrow, default)]
            event_id: Option<Cow<'a, str>>,
            #[serde(default)]
            management_event: Option<bool>,
            #[serde(borrow, default)]
            event_category: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            error_code: Option<Cow<'a, str>>,
            #[serde(rename = "sourceIPAddress", borrow, default)]
            source_ip: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            aws_region: Option<Cow<'a, str>>,
            #[serde(rename = "recipientAccountId", borrow, default)]
            recipient_account: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            user_identity: Option<&'a RawValue>,
            #[serde(borrow, default)]
            request_parameters: Option<&'a RawValue>,
        }
        let doc: Doc<'_> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let mut r = LogResult::default();
        let mut seen = HashSet::new();
        for x in doc.records {
            let rec = Record {
                event_time: x.event_time,
                event_name: x.event_name,
                event_source: x.event_source,
                event_id: x.event_id,
                management_event: x.management_event,
                event_category: x.event_category,
                error_code: x.error_code,
                source_ip: x.source_ip,
                aws_region: x.aws_region,
                recipient_account: x.recipient_account,
                user_identity: x.user_identity.map(RawValue::get),
                request_parameters: x.request_parameters.map(RawValue::get),
            };
            if let Some(id) = &rec.event_id {
                if !seen.insert(id.to_string()) {
                    continue;
                }
            }
            let mgmt = rec.is_management();
            r.events += 1;
            r.management += u64::from(mgmt);
            if let Some(t) = rec.event_time.as_deref().and_then(time::parse_event_time) {
                add_hour(
                    &mut r.hours,
                    time::hour_floor(t),
                    HourCount {
                        events: 1,
                        management: u64::from(mgmt),
                    },
                );
                if let (Some(n), Some(s)) = (rec.event_name.as_deref(), rec.event_source.as_deref())
                {
                    if NOTABLE.iter().any(|(ss, nn)| *nn == n && *ss == s) {
                        r.notable.push(notable(&rec, t, n, s));
                    }
                }
            }
        }
        Ok(r)
    }

    #[test]
    fn agrees_with_serde_json_on_mutated_documents() {
        let seeds: [&[u8]; 4] = [
            br#"{"Records":[{"eventVersion":"1.10","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","sessionContext":{"sessionIssuer":{"arn":"x"}}},"eventTime":"2025-01-06T09:23:27Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","requestParameters":{"name":"t","n":[1,2.5,-3e2,true,false,null]},"responseElements":null,"eventID":"e1","readOnly":false,"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","errorCode":"AccessDenied"},{"eventTime":"2025-01-06T10:00:00Z","eventName":"GetObject","eventSource":"s3.amazonaws.com","eventID":"e2","managementEvent":false,"eventCategory":"Data","resources":[{"ARN":"arn:aws:s3:::b/k","type":"AWS::S3::Object"}]},{"eventTime":"2025-01-06T10:00:00Z","eventID":"e2"}]}"#,
            b"{ \"x\" : \"a\\\"b\\\\c\\u0041\" ,\n \"Records\" : [ { \"eventTime\" : \"2025-01-06T11:00:00Z\" , \"eventCategory\" : \"Management\" , \"k\" : [ [ ] , { } , 0 , -0.5E-7 ] } , { } ] }\n",
            br#"{"Records":[{"eventTime":"2025-01-06T11:00:00Z","eventName":"PutBucketPolicy","eventSource":"s3.amazonaws.com","requestParameters":{"bucketName":"b"},"userIdentity":{"invokedBy":"svc"}},{"eventTime":"bad","eventID":null}],"y":{}}"#,
            // A record of CloudTrail's size and shape: nested values of several 64-byte
            // blocks, which the scanner steps over a block at a time (`json/skim.rs`).
            br#"{"Records":[{"eventVersion":"1.10","userIdentity":{"type":"AssumedRole","principalId":"AROAGINTCCC7HR5IAFYM7:bob@example.com","arn":"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_ed62f496f95b4091/bob@example.com","accountId":"123456789012","accessKeyId":"ASIAEZUJWHPRR32C4ERC","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAGINTCCC7HR5IAFYM7","arn":"arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_ed62f496f95b4091","accountId":"123456789012","userName":"AWSReservedSSO_Admin_ed62f496f95b4091"},"webIdFederationData":{},"attributes":{"creationDate":"2025-01-01T00:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2025-02-03T16:10:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"eu-west-1","sourceIPAddress":"192.0.2.44","userAgent":"Boto3/1.34.60 md/Botocore#1.34.60","requestParameters":{"name":"arn:aws:cloudtrail:eu-west-1:123456789012:trail/t","filterSet":{"items":[{"name":"tag:Env","valueSet":{"items":[{"value":"prod"},{"value":"dev"}]}}]},"maxResults":1000,"dryRun":false,"ratio":-0.5e-3,"none":null},"responseElements":{"ok":[true,null,{"a":[]}]},"requestID":"d8960e72-41db-415b-a5ed-d482e43bfec0","eventID":"a692b8ca","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"cloudtrail.eu-west-1.amazonaws.com"}}]}"#,
        ];
        const ALPHABET: &[u8] = b"{}[]\":,0123456789-+.eEtfnrul\\/abuxyz \n";
        let mut rand = xorshift(0x2545_f491_4f6c_dd1d);
        let (mut same_ok, mut same_err, mut stricter) = (0, 0, 0);
        for round in 0..20_000 {
            let mut doc = seeds[round % seeds.len()].to_vec();
            for _ in 0..1 + rand(3) {
                let at = rand(doc.len());
                match rand(4) {
                    0 => doc[at] = ALPHABET[rand(ALPHABET.len())],
                    1 => {
                        doc.remove(at);
                    }
                    2 => doc.insert(at, ALPHABET[rand(ALPHABET.len())]),
                    _ => {
                        let end = (at + rand(12)).min(doc.len());
                        let piece = doc[at..end].to_vec();
                        doc.splice(at..at, piece);
                    }
                }
            }
            let ours = parse(&doc);
            match (serde_reference(&doc), &ours.error) {
                (Ok(theirs), None) => {
                    assert_eq!(
                        (ours.events, ours.management, &ours.hours, &ours.notable),
                        (
                            theirs.events,
                            theirs.management,
                            &theirs.hours,
                            &theirs.notable
                        ),
                        "{}",
                        String::from_utf8_lossy(&doc)
                    );
                    same_ok += 1;
                }
                (Err(_), Some(_)) => same_err += 1,
                // serde also takes a struct written as an array; this scanner does not.
                (Ok(_), Some(e)) if e.contains("not an object") || e.contains("opening") => {
                    stricter += 1
                }
                (theirs, _) => panic!(
                    "serde {:?} vs ours {:?} on {}",
                    theirs.map(|r| r.events),
                    ours.error,
                    String::from_utf8_lossy(&doc)
                ),
            }
        }
        // Both outcomes well exercised.
        assert!(
            same_ok > 2_000 && same_err > 2_000,
            "{same_ok} {same_err} {stricter}"
        );
    }
}
