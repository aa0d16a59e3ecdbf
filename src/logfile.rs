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
    let mut seen: HashSet<Cow<'_, str>> = HashSet::with_capacity(bytes.len() / 1024);
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
    r.notable.append(&mut acc.notable);
    Ok(())
}

fn add_hour(hours: &mut BTreeMap<i64, HourCount>, k: i64, h: HourCount) {
    let e = hours.entry(k).or_default();
    e.events += h.events;
    e.management += h.management;
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

/// Record parse alone, for `benches/stages.rs`.
#[doc(hidden)]
pub fn parse_records_for_bench(bytes: &[u8], r: &mut LogResult) {
    if let Err(e) = parse_records(bytes, r) {
        r.error = Some(e);
    }
}

/// A validating, non-recursive JSON scanner specialised to CloudTrail's
/// `{"Records":[{...},...]}`: it pulls the handful of record fields the counts need and
/// steps over everything else, checking it all the same.
///
/// Why not serde: serde_json builds every record only to drop most of it, and sonic-rs
/// (faster at skipping) skips nested values by recursion without a depth limit, so 200,000
/// `[` in an ignored field overflow the stack. Here nesting is a heap stack of one byte a
/// level: any depth is merely an error or a long walk, never a crash.
///
/// It accepts exactly RFC 8259 JSON in UTF-8 (the whole text is checked, including values
/// it ignores), with serde's typing for the fields it reads: a string field is a string or
/// null, `managementEvent` a bool or null, a field given twice is an error, `Records` is
/// required, and keys are compared after unescaping. Stricter than serde_json in two
/// corners that are not CloudTrail either way: a record (or the document) written as a
/// JSON array instead of an object, and invalid UTF-8 inside an ignored string.
mod json {
    use super::Record;
    use std::borrow::Cow;
    use std::fmt;

    /// Where and why the text stopped being the JSON we accept.
    #[derive(Debug)]
    pub(super) struct Error {
        what: &'static str,
        /// 1-based, like serde_json's messages.
        line: usize,
        column: usize,
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "{} at line {} column {}",
                self.what, self.line, self.column
            )
        }
    }

    type Result<T> = std::result::Result<T, Error>;

    /// Call `each` for every record of a `{"Records":[...]}` document, in order. The
    /// records seen before an error have been passed on: the caller keeps its counts aside.
    pub(super) fn parse_records<'a>(
        bytes: &'a [u8],
        mut each: impl FnMut(Record<'a>),
    ) -> Result<()> {
        // One up-front check (SIMD: several times std's speed on ASCII) makes every later
        // slice a `&str` at no further cost; std says where it failed, in the rare error.
        let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
            let at = std::str::from_utf8(bytes)
                .err()
                .map_or(0, |e| e.valid_up_to());
            return Err(Scanner::new("").error_at(bytes, at, "invalid UTF-8"));
        };
        let mut s = Scanner::new(text);
        s.ws();
        s.expect(b'{', "expected `{` opening the document")?;
        s.ws();
        let mut records = false;
        if !s.eat(b'}') {
            loop {
                let key = s.key()?;
                if key == "Records" {
                    if records {
                        return Err(s.error("duplicate field `Records`"));
                    }
                    records = true;
                    s.records(&mut each)?;
                } else {
                    s.skip_value()?;
                }
                if !s.next_member(b'}')? {
                    break;
                }
            }
        }
        s.ws();
        if s.pos < s.b.len() {
            return Err(s.error("trailing characters"));
        }
        if !records {
            return Err(s.error("missing field `Records`"));
        }
        Ok(())
    }

    /// Record field slots, as bits of the "already seen" mask.
    const EVENT_TIME: u16 = 1;
    const EVENT_NAME: u16 = 1 << 1;
    const EVENT_SOURCE: u16 = 1 << 2;
    const EVENT_ID: u16 = 1 << 3;
    const MANAGEMENT: u16 = 1 << 4;
    const CATEGORY: u16 = 1 << 5;
    const ERROR_CODE: u16 = 1 << 6;
    const SOURCE_IP: u16 = 1 << 7;
    const REGION: u16 = 1 << 8;
    const ACCOUNT: u16 = 1 << 9;
    const IDENTITY: u16 = 1 << 10;
    const PARAMS: u16 = 1 << 11;

    /// The slot of a record key, 0 for keys not read. By length first, then whole-array
    /// compares: a record has ~25 keys, so this runs for most strings in the file.
    fn field(k: &[u8]) -> u16 {
        fn is<const N: usize>(k: &[u8], name: &[u8; N]) -> bool {
            <&[u8; N]>::try_from(k).is_ok_and(|k| k == name)
        }
        match k.len() {
            7 if is(k, b"eventID") => EVENT_ID,
            9 if is(k, b"eventTime") => EVENT_TIME,
            9 if is(k, b"eventName") => EVENT_NAME,
            9 if is(k, b"awsRegion") => REGION,
            9 if is(k, b"errorCode") => ERROR_CODE,
            11 if is(k, b"eventSource") => EVENT_SOURCE,
            12 if is(k, b"userIdentity") => IDENTITY,
            13 if is(k, b"eventCategory") => CATEGORY,
            15 if is(k, b"managementEvent") => MANAGEMENT,
            15 if is(k, b"sourceIPAddress") => SOURCE_IP,
            17 if is(k, b"requestParameters") => PARAMS,
            18 if is(k, b"recipientAccountId") => ACCOUNT,
            _ => 0,
        }
    }

    struct Scanner<'a> {
        text: &'a str,
        b: &'a [u8],
        pos: usize,
        /// Containers open inside a skipped value: `true` for an object.
        stack: Vec<bool>,
    }

    /// Bytes looked at per step of a string scan. Four in five CloudTrail strings are
    /// shorter, so the scan's loop rarely goes round (a mispredicted exit costs more than
    /// the wider compare).
    const WINDOW: usize = 32;

    /// Index of the first byte of `w` that ends a run of plain string content (`"`, `\`
    /// or a control character), or `WINDOW` if none does.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn first_stop(w: &[u8; WINDOW]) -> usize {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SSE2 is part of x86_64 itself, so this needs no CPU check: sixteen bytes take a
        // handful of instructions, a quarter of the portable version's work.
        let stops = |v: __m128i| {
            // SAFETY: SSE2 is always present on x86_64; no memory is accessed.
            unsafe {
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                // v <= 0x1f, unsigned: min(v, 0x1f) == v.
                let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
            }
        };
        let mut mask = 0u64;
        for (n, sixteen) in w.chunks_exact(16).enumerate() {
            // SAFETY: `chunks_exact` gives exactly 16 readable bytes to load.
            let v = unsafe { _mm_loadu_si128(sixteen.as_ptr().cast()) };
            mask |= u64::from(stops(v)) << (16 * n);
        }
        (mask.trailing_zeros() as usize).min(WINDOW)
    }

    /// Portable version of the above: SWAR on 64-bit words.
    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn first_stop(w: &[u8; WINDOW]) -> usize {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        // The lowest set high bit marks the first stop exactly (higher ones may be false
        // alarms from the subtraction's borrow, and are never looked at).
        let stops = |w: u64| {
            let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
            zero(w ^ (ONES * u64::from(b'"')))
                | zero(w ^ (ONES * u64::from(b'\\')))
                | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
        };
        let mut at = 0;
        for word in w.chunks_exact(8) {
            let m = word
                .try_into()
                .map_or(0, |a: [u8; 8]| stops(u64::from_le_bytes(a)));
            if m != 0 {
                return at + (m.trailing_zeros() / 8) as usize;
            }
            at += 8;
        }
        WINDOW
    }

    impl<'a> Scanner<'a> {
        fn new(text: &'a str) -> Self {
            Scanner {
                text,
                b: text.as_bytes(),
                pos: 0,
                stack: Vec::new(),
            }
        }

        fn error(&self, what: &'static str) -> Error {
            self.error_at(self.b, self.pos, what)
        }

        fn error_at(&self, b: &[u8], pos: usize, what: &'static str) -> Error {
            let before = b.get(..pos).unwrap_or(b);
            let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
            let column = pos
                - before
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |i| i + 1)
                + 1;
            Error { what, line, column }
        }

        #[inline(always)]
        fn peek(&self) -> Option<u8> {
            self.b.get(self.pos).copied()
        }

        #[inline(always)]
        fn ws(&mut self) {
            // Compact JSON (CloudTrail's) has none: one comparison says so.
            if self.peek().is_some_and(|c| c > b' ') {
                return;
            }
            while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
                self.pos += 1;
            }
        }

        /// Consume `c` if it is next (no whitespace skipped).
        #[inline(always)]
        fn eat(&mut self, c: u8) -> bool {
            let hit = self.peek() == Some(c);
            self.pos += usize::from(hit);
            hit
        }

        #[inline(always)]
        fn expect(&mut self, c: u8, what: &'static str) -> Result<()> {
            if self.eat(c) {
                Ok(())
            } else {
                Err(self.error(what))
            }
        }

        fn slice(&self, from: usize, to: usize) -> Result<&'a str> {
            // Always on char boundaries (the scanner only stops at ASCII), so never `None`.
            self.text
                .get(from..to)
                .ok_or_else(|| self.error("internal: not a char boundary"))
        }

        /// After a member or element: `,` (true: another follows) or `close` (false).
        #[inline(always)]
        fn next_member(&mut self, close: u8) -> Result<bool> {
            let mut next = self.peek();
            if !matches!(next, Some(b',' | b']' | b'}')) {
                self.ws();
                next = self.peek();
            }
            match next {
                Some(b',') => {
                    self.pos += 1;
                    self.ws();
                    Ok(true)
                }
                Some(c) if c == close => {
                    self.pos += 1;
                    Ok(false)
                }
                None => Err(self.error("EOF while parsing")),
                Some(_) if close == b'}' => Err(self.error("expected `,` or `}`")),
                Some(_) => Err(self.error("expected `,` or `]`")),
            }
        }

        /// An object key and its `:`; leaves the scanner at the value.
        #[inline(always)]
        fn key(&mut self) -> Result<Cow<'a, str>> {
            self.expect(b'"', "expected a string key")?;
            let k = self.string()?;
            self.colon()?;
            Ok(k)
        }

        /// A record key's slot (see `field`) and its `:`. Straight from the bytes: only a key
        /// with escapes needs its value built.
        #[inline(always)]
        fn record_key(&mut self) -> Result<u16> {
            self.expect(b'"', "expected a string key")?;
            let start = self.pos;
            let (end, escaped) = self.string_end()?;
            let f = if escaped {
                let raw = self.slice(start, end)?;
                let key = unescape(raw).ok_or_else(|| self.error("invalid escape in a string"))?;
                field(key.as_bytes())
            } else {
                field(self.b.get(start..end).unwrap_or_default())
            };
            self.colon()?;
            Ok(f)
        }

        /// The `:` after a key, and any whitespace around it.
        #[inline(always)]
        fn colon(&mut self) -> Result<()> {
            if !self.eat(b':') {
                self.ws();
                self.expect(b':', "expected `:`")?;
            }
            self.ws();
            Ok(())
        }

        /// A key inside a skipped object, and its `:`.
        #[inline(always)]
        fn skip_key(&mut self) -> Result<()> {
            self.expect(b'"', "expected a string key")?;
            self.string_end()?;
            self.colon()
        }

        /// Past the opening quote: the end of the string content (at the closing quote,
        /// which is consumed) and whether it had escapes. Checks escapes and that no raw
        /// control character appears.
        #[inline(always)]
        fn string_end(&mut self) -> Result<(usize, bool)> {
            let b = self.b;
            let mut i = self.pos;
            let mut escaped = false;
            loop {
                // A window at a time through plain content.
                while let Some(w) = b
                    .get(i..i + WINDOW)
                    .and_then(|c| <&[u8; WINDOW]>::try_from(c).ok())
                {
                    let k = first_stop(w);
                    i += k;
                    if k < WINDOW {
                        break;
                    }
                }
                match b.get(i) {
                    Some(b'"') => {
                        self.pos = i + 1;
                        return Ok((i, escaped));
                    }
                    Some(b'\\') => {
                        escaped = true;
                        i += match b.get(i + 1) {
                            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                            Some(b'u') => match b.get(i + 2..i + 6) {
                                Some(h) if h.iter().all(u8::is_ascii_hexdigit) => 6,
                                _ => {
                                    self.pos = i;
                                    return Err(self.error("invalid \\u escape"));
                                }
                            },
                            _ => {
                                self.pos = i;
                                return Err(self.error("invalid escape"));
                            }
                        };
                    }
                    Some(&c) if c < 0x20 => {
                        self.pos = i;
                        return Err(self.error("control character while parsing a string"));
                    }
                    Some(_) => i += 1,
                    None => {
                        self.pos = i;
                        return Err(self.error("EOF while parsing a string"));
                    }
                }
            }
        }

        /// Past the opening quote: the string's value.
        #[inline(always)]
        fn string(&mut self) -> Result<Cow<'a, str>> {
            let start = self.pos;
            let (end, escaped) = self.string_end()?;
            let raw = self.slice(start, end)?;
            if escaped {
                unescape(raw)
                    .map(Cow::Owned)
                    .ok_or_else(|| self.error("invalid escape in a string"))
            } else {
                Ok(Cow::Borrowed(raw))
            }
        }

        fn literal(&mut self, word: &'static [u8]) -> Result<()> {
            if self.b.get(self.pos..self.pos + word.len()) == Some(word) {
                self.pos += word.len();
                Ok(())
            } else {
                Err(self.error("expected a value"))
            }
        }

        fn digits(&mut self) -> usize {
            let start = self.pos;
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
            self.pos - start
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
        fn number(&mut self) -> Result<()> {
            self.eat(b'-');
            match self.peek() {
                Some(b'0') => self.pos += 1,
                Some(b'1'..=b'9') => {
                    self.digits();
                }
                _ => return Err(self.error("invalid number")),
            }
            if self.eat(b'.') && self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
            if let Some(b'e' | b'E') = self.peek() {
                self.pos += 1;
                if let Some(b'+' | b'-') = self.peek() {
                    self.pos += 1;
                }
                if self.digits() == 0 {
                    return Err(self.error("invalid number"));
                }
            }
            Ok(())
        }

        /// Step over one value of any kind, checking it fully, without recursion.
        fn skip_value(&mut self) -> Result<()> {
            self.stack.clear();
            loop {
                // A value starts here.
                match self.peek() {
                    Some(b'"') => {
                        self.pos += 1;
                        self.string_end()?;
                    }
                    Some(b'{') => {
                        self.pos += 1;
                        self.ws();
                        if !self.eat(b'}') {
                            self.stack.push(true);
                            self.skip_key()?;
                            continue;
                        }
                    }
                    Some(b'[') => {
                        self.pos += 1;
                        self.ws();
                        if !self.eat(b']') {
                            self.stack.push(false);
                            continue;
                        }
                    }
                    Some(b't') => self.literal(b"true")?,
                    Some(b'f') => self.literal(b"false")?,
                    Some(b'n') => self.literal(b"null")?,
                    Some(b'-' | b'0'..=b'9') => self.number()?,
                    None => return Err(self.error("EOF while parsing a value")),
                    Some(_) => return Err(self.error("expected a value")),
                }
                // After a value: close containers until one goes on with another value.
                loop {
                    let Some(&object) = self.stack.last() else {
                        return Ok(());
                    };
                    if self.next_member(if object { b'}' } else { b']' })? {
                        if object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    self.stack.pop();
                }
            }
        }

        /// A string field: a string or null.
        fn string_field(&mut self) -> Result<Option<Cow<'a, str>>> {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    self.string().map(Some)
                }
                Some(b'n') => self.literal(b"null").map(|()| None),
                _ => Err(self.error("invalid type: expected a string")),
            }
        }

        /// Any value, as its raw text; null is `None` (as serde's `Option<&RawValue>`).
        fn raw_field(&mut self) -> Result<Option<&'a str>> {
            if self.peek() == Some(b'n') {
                return self.literal(b"null").map(|()| None);
            }
            let start = self.pos;
            self.skip_value()?;
            self.slice(start, self.pos).map(Some)
        }

        /// The `Records` array, at its value.
        fn records(&mut self, each: &mut impl FnMut(Record<'a>)) -> Result<()> {
            self.expect(b'[', "invalid type: `Records` is not an array")?;
            self.ws();
            if self.eat(b']') {
                return Ok(());
            }
            loop {
                self.expect(b'{', "invalid type: a record is not an object")?;
                each(self.record()?);
                if !self.next_member(b']')? {
                    return Ok(());
                }
            }
        }

        /// One record, past its `{`.
        fn record(&mut self) -> Result<Record<'a>> {
            let mut rec = Record::default();
            self.ws();
            if self.eat(b'}') {
                return Ok(rec);
            }
            let mut seen = 0u16;
            loop {
                let f = self.record_key()?;
                if seen & f != 0 {
                    return Err(self.error("duplicate field in a record"));
                }
                seen |= f;
                match f {
                    // Most values not read are plain strings: skip those inline.
                    0 if self.eat(b'"') => {
                        self.string_end()?;
                    }
                    0 => self.skip_value()?,
                    EVENT_TIME => rec.event_time = self.string_field()?,
                    EVENT_NAME => rec.event_name = self.string_field()?,
                    EVENT_SOURCE => rec.event_source = self.string_field()?,
                    EVENT_ID => rec.event_id = self.string_field()?,
                    CATEGORY => rec.event_category = self.string_field()?,
                    ERROR_CODE => rec.error_code = self.string_field()?,
                    SOURCE_IP => rec.source_ip = self.string_field()?,
                    REGION => rec.aws_region = self.string_field()?,
                    ACCOUNT => rec.recipient_account = self.string_field()?,
                    IDENTITY => rec.user_identity = self.raw_field()?,
                    PARAMS => rec.request_parameters = self.raw_field()?,
                    // MANAGEMENT, the one slot left.
                    _ => {
                        rec.management_event = match self.peek() {
                            Some(b't') => self.literal(b"true").map(|()| Some(true))?,
                            Some(b'f') => self.literal(b"false").map(|()| Some(false))?,
                            Some(b'n') => self.literal(b"null").map(|()| None)?,
                            _ => return Err(self.error("invalid type: expected a boolean")),
                        }
                    }
                }
                if !self.next_member(b'}')? {
                    return Ok(rec);
                }
            }
        }
    }

    /// The value of string content with escapes (already checked for shape); `None` for
    /// a lone UTF-16 surrogate, which no `str` can hold.
    fn unescape(raw: &str) -> Option<String> {
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(i) = rest.find('\\') {
            out.push_str(rest.get(..i)?);
            let esc = rest.get(i + 1..)?;
            let mut chars = esc.chars();
            let c = chars.next()?;
            rest = chars.as_str();
            out.push(match c {
                '"' => '"',
                '\\' => '\\',
                '/' => '/',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => {
                    let hi = hex4(rest)?;
                    rest = rest.get(4..)?;
                    match hi {
                        0xD800..=0xDBFF => {
                            let lo = rest.strip_prefix("\\u").and_then(hex4)?;
                            if !(0xDC00..=0xDFFF).contains(&lo) {
                                return None;
                            }
                            rest = rest.get(6..)?;
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                        }
                        _ => char::from_u32(hi)?,
                    }
                }
                _ => return None,
            });
        }
        out.push_str(rest);
        Some(out)
    }

    fn hex4(s: &str) -> Option<u32> {
        u32::from_str_radix(s.get(..4)?, 16).ok()
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

    fn parse(json: &[u8]) -> LogResult {
        let mut r = LogResult::default();
        if let Err(e) = parse_records(json, &mut r) {
            r.error = Some(e);
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
        let seeds: [&[u8]; 3] = [
            br#"{"Records":[{"eventVersion":"1.10","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","sessionContext":{"sessionIssuer":{"arn":"x"}}},"eventTime":"2025-01-06T09:23:27Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","requestParameters":{"name":"t","n":[1,2.5,-3e2,true,false,null]},"responseElements":null,"eventID":"e1","readOnly":false,"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","errorCode":"AccessDenied"},{"eventTime":"2025-01-06T10:00:00Z","eventName":"GetObject","eventSource":"s3.amazonaws.com","eventID":"e2","managementEvent":false,"eventCategory":"Data","resources":[{"ARN":"arn:aws:s3:::b/k","type":"AWS::S3::Object"}]},{"eventTime":"2025-01-06T10:00:00Z","eventID":"e2"}]}"#,
            b"{ \"x\" : \"a\\\"b\\\\c\\u0041\" ,\n \"Records\" : [ { \"eventTime\" : \"2025-01-06T11:00:00Z\" , \"eventCategory\" : \"Management\" , \"k\" : [ [ ] , { } , 0 , -0.5E-7 ] } , { } ] }\n",
            br#"{"Records":[{"eventTime":"2025-01-06T11:00:00Z","eventName":"PutBucketPolicy","eventSource":"s3.amazonaws.com","requestParameters":{"bucketName":"b"},"userIdentity":{"invokedBy":"svc"}},{"eventTime":"bad","eventID":null}],"y":{}}"#,
        ];
        const ALPHABET: &[u8] = b"{}[]\":,0123456789-+.eEtfnrul\\/abuxyz \n";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rand = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
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
