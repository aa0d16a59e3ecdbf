//! Digest files: reading them and checking each one's signature.
//!
//! A digest is read once (bounded gunzip, SHA-256 of the inflated bytes, JSON parse with
//! every required field checked). Its signature comes from its `.head.json` sidecar or,
//! failing that, from the next digest's `previousDigestSignature` (the `aws s3 sync` case:
//! sync drops object metadata). It is verified as SPEC "Integrity rules" says: RSA
//! PKCS#1 v1.5 with SHA-256 only (`ring`'s `RSA_PKCS1_2048_8192_SHA256` checks the DigestInfo, so a
//! signature made over another hash is invalid) over the data-signing string, with the key
//! whose fingerprint the digest names and whose validity covers the digest, and only for the
//! key it was found at: its signed `digestS3Object` must name that key.
//!
//! Raises `digest_unreadable`, `digest_signature_invalid`, `digest_signature_missing`,
//! `digest_key_unknown`. Chain links are `chain.rs`'s job.

use crate::discover::{Sidecar, Source};
use crate::findings::{Evidence, Finding, Kind};
use crate::gzip::gunzip_single;
use crate::hash::{HexText, Sha256Hash};
use crate::keys::{KeyRing, Lookup};
use crate::s3key::{self, canonical_in, canonical_offset, DigestKey, KeyBase, KeyShape};
use crate::spill::{Dec, Enc, Record};
use crate::time;
use rayon::prelude::*;
use rsa::Pkcs1v15Sign;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;

/// A log file as a digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Shared by consecutive entries naming the same bucket (all of them, in practice).
    pub bucket: Arc<str>,
    pub object: Box<str>,
    /// Where the canonical key (`AWSLogs/...`) starts in `object`, if it has one.
    canonical_at: Option<u32>,
    /// `hashValue`; `None` when it is not a SHA-256 in hex (it then matches no file).
    pub hash: Option<Sha256Hash>,
    /// `oldestEventTime`: the file named for 00:00 holds events of the hour before, so
    /// this, not the key's time, says whether a listed file holds events of the window.
    pub oldest_event: Option<i64>,
}

impl Listed {
    /// `AWSLogs/...` onwards, else the whole `s3Object`: how the bundle's files are matched.
    pub fn canonical(&self) -> &str {
        self.canonical_at
            .and_then(|at| self.object.get(at as usize..))
            .unwrap_or(&self.object)
    }

    pub(crate) fn encode(&self, e: &mut crate::spill::Enc<'_>) {
        e.str(&self.bucket);
        e.str(&self.object);
        e.opt_i64(self.canonical_at.map(i64::from));
        e.opt_hash(self.hash.as_ref());
        e.opt_i64(self.oldest_event);
    }

    pub(crate) fn decode(d: &mut crate::spill::Dec<'_>) -> Option<Self> {
        Some(Listed {
            bucket: d.str()?.into(),
            object: d.str()?.into(),
            canonical_at: match d.opt_i64()? {
                Some(at) => Some(u32::try_from(at).ok()?),
                None => None,
            },
            hash: d.opt_hash()?,
            oldest_event: d.opt_i64()?,
        })
    }

    /// The listed hash as written for a report.
    pub fn hash_text(&self) -> String {
        self.hash
            .map_or_else(|| "(not a SHA-256)".to_owned(), |h| h.hex())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub account: String,
    pub start: i64,
    pub end: i64,
    pub bucket: String,
    pub object: String,
    pub fingerprint: String,
    pub algorithm: String,
    pub prev_object: Option<String>,
    /// Where the canonical key (`AWSLogs/...`) starts in `prev_object`, if it has one.
    prev_canonical_at: Option<u32>,
    pub prev_hash: Option<String>,
    pub prev_signature: Option<HexText>,
    /// As parsed; discovery moves them into a sorted stream (`discover::ListedAt`).
    pub log_files: Vec<Listed>,
    /// The buckets the listed files are in, each once.
    pub log_buckets: Vec<String>,
    /// `digestEndTime` exactly as written: the data-signing string uses the text, not the time.
    pub end_raw: String,
}

impl Content {
    /// The exact data-signing string (SPEC), from the fields as written and the SHA-256 of
    /// the inflated digest. Built when the signature is checked, not kept: it is a third
    /// copy of the digest's longest fields.
    pub fn signing_string(&self, sha_hex: &str) -> String {
        format!(
            "{}\n{}/{}\n{sha_hex}\n{}",
            self.end_raw,
            self.bucket,
            self.object,
            self.prev_signature
                .as_ref()
                .map_or("null".into(), HexText::text)
        )
    }

    /// The canonical key (`AWSLogs/...`) of the previous digest it names, if any.
    pub fn prev_canonical(&self) -> Option<&str> {
        let (o, at) = (self.prev_object.as_deref()?, self.prev_canonical_at?);
        o.get(at as usize..)
    }

    /// A chain restart: no previous digest named.
    pub fn starts_chain(&self) -> bool {
        self.prev_object.is_none()
    }
}

/// Where a signature came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigSource {
    Sidecar,
    NextDigest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Verified { source: SigSource },
    Invalid(String),
    KeyUnknown(String),
    Missing,
    Unreadable(String),
}

impl Status {
    pub fn is_verified(&self) -> bool {
        matches!(self, Status::Verified { .. })
    }
}

#[derive(Debug, Clone)]
pub struct DigestFile {
    pub src: Source,
    pub key: DigestKey,
    pub file_size: u64,
    /// SHA-256 of the inflated bytes (what `previousDigestHashValue` names).
    pub sha256: Option<Sha256Hash>,
    pub content: Result<Box<Content>, String>,
    pub sidecar: Option<Sidecar>,
    pub status: Status,
    /// The order discovery read it in: how its listing entries name it.
    pub seq: u32,
}

impl DigestFile {
    /// The period the digest covers: from its content, else from its name (end) and an hour.
    pub fn period(&self) -> (i64, i64) {
        match &self.content {
            // A digest signed for another key (copied over this one from another region or
            // hour) claims another period: where it was found, it stands for its key's hour.
            Ok(c) if self.found_where_signed() => (c.start, c.end),
            _ => (self.key.end - time::HOUR, self.key.end),
        }
    }

    /// Its signed `digestS3Object` names the key it was found at. A digest found elsewhere
    /// was moved (`aws cloudtrail validate-logs`: "moved from its original location").
    pub fn found_where_signed(&self) -> bool {
        self.content
            .as_ref()
            .is_ok_and(|c| canonical_in(&c.object) == Some(self.key.canonical.as_str()))
    }

    /// The short digest AWS delivers when logging stops, verified: a proof of the stop.
    /// (Not a chain's first digest, not a backfill, under an hour less a minute.)
    pub fn is_verified_final(&self) -> bool {
        self.status.is_verified()
            && !self.key.backfill
            && self
                .content
                .as_ref()
                .is_ok_and(|c| !c.starts_chain() && c.end - c.start < time::HOUR - 60)
    }

    /// A finding about this digest: its account, region, trail, path and period.
    pub fn finding(&self, kind: Kind) -> Finding {
        let (start, end) = self.period();
        Finding::new(kind)
            .scope(
                Some(&self.key.base.account),
                Some(&self.key.region),
                Some(&self.key.trail),
            )
            .path(&*self.src.display)
            .period(start, end)
    }

    /// The signature this digest carries on its own (the sidecar's).
    pub fn own_signature(&self) -> Option<&HexText> {
        self.sidecar.as_ref().and_then(|s| s.signature.as_ref())
    }
}

/// A digest in the sorted stream discovery fills (`spill.rs`): by canonical key, then path,
/// so one account and region's chains come together and are checked one unit at a time
/// (`digest_units.rs`). Its key is not written: it is the path's, read again.
impl Record for DigestFile {
    fn order(&self, o: &Self) -> std::cmp::Ordering {
        (&self.key.canonical, &self.src.display).cmp(&(&o.key.canonical, &o.src.display))
    }
    fn weight(&self) -> usize {
        let content = self.content.as_ref().map_or_else(
            |e| e.len(),
            |c| {
                std::mem::size_of::<Content>()
                    + c.account.len()
                    + c.bucket.len()
                    + c.object.len()
                    + c.fingerprint.len()
                    + c.algorithm.len()
                    + c.prev_object.as_ref().map_or(0, String::len)
                    + c.prev_hash.as_ref().map_or(0, String::len)
                    + c.prev_signature.as_ref().map_or(0, HexText::heap_size)
                    + c.log_buckets.iter().map(|b| b.len() + 24).sum::<usize>()
                    + c.end_raw.len()
            },
        );
        self.src.display.len() + self.key.canonical.len() + 3 * 16 + content
    }
    fn encode(&self, e: &mut Enc<'_>) {
        e.str(&self.src.display);
        e.u64(self.file_size);
        e.opt_hash(self.sha256.as_ref());
        e.u64(u64::from(self.seq));
        match &self.content {
            Err(why) => {
                e.u8(0);
                e.str(why);
            }
            Ok(c) => {
                e.u8(1);
                e.str(&c.account);
                e.i64(c.start);
                e.i64(c.end);
                e.str(&c.bucket);
                e.str(&c.object);
                e.str(&c.fingerprint);
                e.str(&c.algorithm);
                e.opt_str(c.prev_object.as_deref());
                e.opt_str(c.prev_hash.as_deref());
                HexText::encode(c.prev_signature.as_ref(), e);
                e.u64(c.log_buckets.len() as u64);
                for b in &c.log_buckets {
                    e.str(b);
                }
                e.str(&c.end_raw);
            }
        }
    }
    fn decode(d: &mut Dec<'_>) -> Option<Self> {
        let display: Arc<str> = d.str()?.into();
        let KeyShape::Digest(key) = s3key::classify(&display) else {
            return None;
        };
        let file_size = d.u64()?;
        let sha256 = d.opt_hash()?;
        let seq = u32::try_from(d.u64()?).ok()?;
        let content = match d.u8()? {
            0 => Err(d.str()?.to_owned()),
            1 => {
                let account = d.str()?.to_owned();
                let (start, end) = (d.i64()?, d.i64()?);
                let bucket = d.str()?.to_owned();
                let object = d.str()?.to_owned();
                let fingerprint = d.str()?.to_owned();
                let algorithm = d.str()?.to_owned();
                let prev_object = d.opt_str()?.map(str::to_owned);
                let prev_hash = d.opt_str()?.map(str::to_owned);
                let prev_signature = HexText::decode(d)?;
                let n = d.u64()?;
                let mut log_buckets = Vec::new();
                for _ in 0..n {
                    log_buckets.push(d.str()?.to_owned());
                }
                Ok(Box::new(Content {
                    account,
                    start,
                    end,
                    bucket,
                    object,
                    fingerprint,
                    algorithm,
                    prev_canonical_at: prev_object.as_deref().and_then(canonical_offset),
                    prev_object,
                    prev_hash,
                    prev_signature,
                    log_files: Vec::new(),
                    log_buckets,
                    end_raw: d.str()?.to_owned(),
                }))
            }
            _ => return None,
        };
        Some(DigestFile {
            src: Source { display },
            key,
            file_size,
            sha256,
            content,
            sidecar: None,
            status: Status::Missing,
            seq,
        })
    }
}

/// A digest once its signature and chain are checked: what the log join, coverage and the
/// summary use. A small fraction of a `DigestFile` (no signatures, no other file's name, its
/// names shared), so that a year of every region's digests fits in memory at once.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The path as found.
    pub display: Box<str>,
    /// Where `key.canonical` starts in `display`; `None` when it is not its tail (a path
    /// with empty segments), then `canonical_own` holds it.
    canonical_at: Option<u32>,
    canonical_own: Option<Box<str>>,
    /// Its chain's names, shared by every digest of the chain.
    pub chain: Arc<ChainName>,
    pub backfill: bool,
    /// `DigestFile::period`.
    pub period: (i64, i64),
    /// Readable: the period it signs, and whether it starts a chain (previous fields null).
    pub signed: Option<Signed>,
    pub verified: bool,
    /// `DigestFile::is_verified_final`: a proof that logging stopped at its end.
    pub verified_final: bool,
    /// Where it says it was written and where its listed files are (readable only).
    pub location: Option<Arc<Location>>,
    /// `DigestFile::seq`.
    pub seq: u32,
}

/// The names of one chain: where its digests are written, its region and its trail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChainName {
    pub base: KeyBase,
    pub region: String,
    pub trail: String,
    pub home_region: String,
}

/// What a readable digest signs about its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    pub start: i64,
    pub end: i64,
    pub starts_chain: bool,
}

/// A readable digest's `digestS3Bucket`, the folders its `digestS3Object` has before
/// `AWSLogs/`, and the buckets of the log files it lists: the same for every digest of a
/// trail, so shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    pub bucket: String,
    pub prefix: String,
    pub log_buckets: Vec<String>,
}

impl Checked {
    /// `AWSLogs/...` onwards: the digest's canonical key.
    pub fn canonical(&self) -> &str {
        match (&self.canonical_own, self.canonical_at) {
            (Some(c), _) => c,
            (None, Some(at)) => self.display.get(at as usize..).unwrap_or(&self.display),
            (None, None) => &self.display,
        }
    }

    pub fn file_name(&self) -> &str {
        s3key::last_segment(self.canonical())
    }

    pub fn readable(&self) -> bool {
        self.signed.is_some()
    }

    /// A finding about this digest: its account, region, trail, path and period.
    pub fn finding(&self, kind: Kind) -> Finding {
        Finding::new(kind)
            .scope(
                Some(&self.chain.base.account),
                Some(&self.chain.region),
                Some(&self.chain.trail),
            )
            .path(&*self.display)
            .period(self.period.0, self.period.1)
    }
}

impl DigestFile {
    /// What later stages keep of it, its names shared through `shared`.
    pub fn checked(&self, shared: &mut Shared) -> Checked {
        let display: Box<str> = (*self.src.display).into();
        let canonical = self.key.canonical.as_str();
        let canonical_at = display
            .len()
            .checked_sub(canonical.len())
            .filter(|&at| display.get(at..) == Some(canonical))
            .and_then(|at| u32::try_from(at).ok());
        Checked {
            canonical_own: canonical_at.is_none().then(|| canonical.into()),
            canonical_at,
            display,
            chain: shared.chain(ChainName {
                base: self.key.base.clone(),
                region: self.key.region.clone(),
                trail: self.key.trail.clone(),
                home_region: self.key.home_region.clone(),
            }),
            backfill: self.key.backfill,
            period: self.period(),
            signed: self.content.as_ref().ok().map(|c| Signed {
                start: c.start,
                end: c.end,
                starts_chain: c.starts_chain(),
            }),
            verified: self.status.is_verified(),
            verified_final: self.is_verified_final(),
            location: self.content.as_ref().ok().map(|c| {
                // Before the last folder named `AWSLogs`, as keys are read: a prefix may
                // itself hold one (`archive/AWSLogs`).
                let prefix = s3key::canonical_at(&c.object)
                    .and_then(|i| c.object.get(..i))
                    .unwrap_or("")
                    .trim_end_matches('/');
                shared.location(Location {
                    bucket: c.bucket.clone(),
                    prefix: prefix.to_owned(),
                    log_buckets: c.log_buckets.clone(),
                })
            }),
            seq: self.seq,
        }
    }
}

/// One copy of each chain's names and of each digest location, shared by the `Checked`
/// digests that name them.
#[derive(Debug, Default)]
pub struct Shared {
    chains: std::collections::HashSet<Arc<ChainName>>,
    locations: std::collections::HashSet<Arc<Location>>,
}

impl Shared {
    fn chain(&mut self, c: ChainName) -> Arc<ChainName> {
        share(&mut self.chains, c)
    }
    fn location(&mut self, l: Location) -> Arc<Location> {
        share(&mut self.locations, l)
    }
}

fn share<T: Eq + std::hash::Hash>(set: &mut std::collections::HashSet<Arc<T>>, v: T) -> Arc<T> {
    if let Some(a) = set.get(&v) {
        return a.clone();
    }
    let a = Arc::new(v);
    set.insert(a.clone());
    a
}

/// Read one digest from its compressed bytes.
pub fn from_bytes(display: Arc<str>, key: DigestKey, raw: &[u8], max_inflate: u64) -> DigestFile {
    let mut d = unreadable(display, key, raw.len() as u64, "");
    crate::logfile::with_buffer(|buf| {
        if let Err(e) = gunzip_single(raw, max_inflate, buf) {
            d.content = Err(e.to_string());
            return;
        }
        let sha = Sha256Hash::of(buf);
        d.content = parse(buf).map(Box::new);
        d.sha256 = Some(sha);
    });
    d
}

/// A digest whose bytes could not be read at all.
pub fn unreadable(display: Arc<str>, key: DigestKey, size: u64, why: &str) -> DigestFile {
    DigestFile {
        src: Source { display },
        key,
        file_size: size,
        sha256: None,
        content: Err(why.to_owned()),
        sidecar: None,
        status: Status::Missing,
        seq: 0,
    }
}

/// Parse inflated digest JSON; the error names the field that failed.
pub fn parse(bytes: &[u8]) -> Result<Content, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let s = |name: &str| -> Result<String, String> {
        obj.get(name)
            .and_then(|x| x.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("required field `{name}` missing or not a string"))
    };
    let opt = |name: &str| -> Result<Option<String>, String> {
        match obj.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(x)) => Ok(Some(x.clone())),
            Some(_) => Err(format!("field `{name}` is not a string")),
        }
    };
    let end_raw = s("digestEndTime")?;
    let start_raw = s("digestStartTime")?;
    let start = time::parse_iso(&start_raw).ok_or("`digestStartTime` is not a time")?;
    let end = time::parse_iso(&end_raw).ok_or("`digestEndTime` is not a time")?;
    let bucket = s("digestS3Bucket")?;
    let object = s("digestS3Object")?;
    let prev_signature = opt("previousDigestSignature")?.map(|t| HexText::new(&t));
    let prev_object = opt("previousDigestS3Object")?;
    let listed = obj
        .get("logFiles")
        .and_then(|x| x.as_array())
        .ok_or("required field `logFiles` missing or not a list")?;
    let mut log_files: Vec<Listed> = Vec::with_capacity(listed.len());
    let mut log_buckets: Vec<String> = Vec::new();
    for (i, l) in listed.iter().enumerate() {
        let field = |n: &str| {
            l.get(n)
                .and_then(|x| x.as_str())
                .map(str::to_owned)
                .ok_or_else(|| format!("`logFiles[{i}].{n}` missing or not a string"))
        };
        let object = field("s3Object")?;
        let bucket = field("s3Bucket")?;
        let bucket = match log_files.last() {
            Some(prev) if *prev.bucket == *bucket => prev.bucket.clone(),
            _ => bucket.into(),
        };
        if !log_buckets.iter().any(|b| **b == *bucket) {
            log_buckets.push(bucket.to_string());
        }
        log_files.push(Listed {
            bucket,
            canonical_at: canonical_offset(&object),
            object: object.into(),
            hash: Sha256Hash::from_hex(&field("hashValue")?),
            oldest_event: l
                .get("oldestEventTime")
                .and_then(|x| x.as_str())
                .and_then(time::parse_iso),
        });
    }
    Ok(Content {
        account: s("awsAccountId")?,
        start,
        end,
        fingerprint: s("digestPublicKeyFingerprint")?,
        algorithm: s("digestSignatureAlgorithm")?,
        prev_canonical_at: prev_object.as_deref().and_then(canonical_offset),
        prev_object,
        prev_hash: opt("previousDigestHashValue")?.map(|h| h.to_ascii_lowercase()),
        prev_signature,
        bucket,
        object,
        log_files,
        log_buckets,
        end_raw,
    })
}

/// Resolve each digest's signature and verify it. `next[i]` is a readable digest that
/// names digest `i` as previous: its `previousDigestSignature` is `i`'s signature.
pub fn verify_all(digests: &mut [DigestFile], next: &[Option<usize>], ring: &KeyRing) {
    // Read from the digests as they are (the next digest's signature is borrowed, not
    // copied: 512 hex digits each), then set every status.
    let statuses: Vec<Status> = digests
        .par_iter()
        .zip(next.par_iter())
        .map(|(d, n)| {
            let next_signature = n
                .and_then(|j| digests.get(j))
                .and_then(|nd| nd.content.as_ref().ok())
                .and_then(|c| c.prev_signature.as_ref());
            verify_one(d, next_signature, ring)
        })
        .collect();
    for (d, st) in digests.iter_mut().zip(statuses) {
        d.status = st;
    }
}

fn verify_one(d: &DigestFile, next: Option<&HexText>, ring: &KeyRing) -> Status {
    let c = match &d.content {
        Ok(c) => c,
        Err(e) => return Status::Unreadable(e.clone()),
    };
    let (sig, source) = match (d.own_signature(), next) {
        (Some(s), _) => (s, SigSource::Sidecar),
        (None, Some(s)) => (s, SigSource::NextDigest),
        (None, None) => return Status::Missing,
    };
    if c.algorithm != "SHA256withRSA" {
        return Status::Invalid(format!(
            "digestSignatureAlgorithm is `{}`, not SHA256withRSA",
            c.algorithm
        ));
    }
    if let Some(alg) = d.sidecar.as_ref().and_then(|s| s.algorithm.as_deref()) {
        if source == SigSource::Sidecar && !alg.eq_ignore_ascii_case("SHA256withRSA") {
            return Status::Invalid(format!("sidecar signature-algorithm is `{alg}`"));
        }
    }
    let key = match ring.lookup(&c.fingerprint, c.end) {
        Lookup::Found(k) => k,
        Lookup::NotValidThen(k) => {
            return Status::KeyUnknown(format!(
                "the key with fingerprint {} is valid from {} to {}, not at {}",
                k.fingerprint,
                k.valid_from.map(time::fmt).unwrap_or_else(|| "-".into()),
                k.valid_to.map(time::fmt).unwrap_or_else(|| "-".into()),
                time::fmt(c.end)
            ))
        }
        Lookup::Unknown => {
            return Status::KeyUnknown(format!(
                "no supplied public key has fingerprint {}",
                c.fingerprint
            ))
        }
    };
    // The signed `digestS3Object` says where AWS put this digest. Found under another key
    // (another region's, account's or hour's digest copied over this one), it proves nothing
    // here, however good its signature; `aws cloudtrail validate-logs` rejects it too.
    if !d.found_where_signed() {
        return Status::Invalid(format!(
            "it was signed as `{}`, not the key it was found at: moved from its original location",
            c.object
        ));
    }
    let Some(sig_bytes) = sig.bytes() else {
        return Status::Invalid("signature is not hexadecimal".into());
    };
    let Some(sha) = d.sha256 else {
        return Status::Unreadable("the digest's bytes were not read".into());
    };
    if verify_signature(key, c.signing_string(&sha.hex()).as_bytes(), &sig_bytes) {
        Status::Verified { source }
    } else {
        Status::Invalid(format!(
            "signature does not verify with key {} over the data-signing string",
            key.fingerprint
        ))
    }
}

/// RSASSA-PKCS1-v1_5 with SHA-256, and no other DigestInfo. `ring` (constant-time, about
/// 20x faster than big-integer RSA here) takes keys of 2048 bits and more, which is every
/// key CloudTrail has published; smaller keys go through the `rsa` crate.
fn verify_signature(key: &crate::keys::PublicKey, message: &[u8], sig: &[u8]) -> bool {
    use rsa::traits::PublicKeyParts;
    if key.key.n().bits() >= 2048 {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &key.pkcs1,
        )
        .verify(message, sig)
        .is_ok()
    } else {
        let hashed = Sha256::digest(message);
        key.key
            .verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, sig)
            .is_ok()
    }
}

/// Findings about single digests (signature and readability).
pub fn findings(digests: &[DigestFile], window: (i64, i64)) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in digests {
        let (start, end) = d.period();
        // Evidence outside the window is proof, not subject: a digest wholly outside it
        // is recorded (at `info`) when it is unreadable, forged or signed with a key no
        // export holds (a forger's key looks just like that), and not at all for a missing
        // signature (the newest digest of a partial copy has none to show).
        let in_window = start < window.1 && end > window.0;
        let judged = |f: Finding| if in_window { f } else { f.outside_window() };
        let base = |kind: Kind| d.finding(kind);
        match &d.status {
            Status::Verified { .. } => {}
            Status::Unreadable(why) => out.push(judged(
                base(Kind::DigestUnreadable)
                    .message(format!("digest {} cannot be read: {why}", d.key.file_name()))
                    .evidence(Evidence::file(&*d.src.display).detail(format!("reason: {why}"))),
            )),
            Status::Invalid(why) => out.push(judged(
                base(Kind::DigestSignatureInvalid)
                    .message(format!(
                        "digest {} is not signed by AWS as it stands: {why}",
                        d.key.file_name()
                    ))
                    .evidence(signature_evidence(d).detail(format!("reason: {why}"))),
            )),
            Status::KeyUnknown(why) => out.push(judged(
                base(Kind::DigestKeyUnknown)
                    .message(format!("digest {} cannot be verified: {why}", d.key.file_name()))
                    .evidence(signature_evidence(d).detail(format!("reason: {why}"))),
            )),
            Status::Missing if in_window => out.push(
                base(Kind::DigestSignatureMissing)
                    .message(format!(
                        "digest {} has no signature to check: no .head.json sidecar and no later digest names it",
                        d.key.file_name()
                    ))
                    .evidence(Evidence::file(&*d.src.display).detail(
                        "export the signature with `aws s3api head-object` (README: exporting a bundle)",
                    )),
            ),
            Status::Missing => {}
        }
    }
    out
}

fn signature_evidence(d: &DigestFile) -> Evidence {
    let mut e = Evidence::file(&*d.src.display);
    if let Ok(c) = &d.content {
        e = e.detail(format!("digestPublicKeyFingerprint: {}", c.fingerprint));
        e = e.detail(format!("digestSignatureAlgorithm: {}", c.algorithm));
    }
    if let Some(s) = &d.sidecar {
        e = e.detail(format!("signature from: {}", s.path));
    }
    if let Some(sha) = &d.sha256 {
        e = e.detail(format!("SHA-256 of inflated digest: {sha}"));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> serde_json::Value {
        serde_json::json!({
            "awsAccountId": "111122223333",
            "digestStartTime": "2025-01-06T03:48:48Z",
            "digestEndTime": "2025-01-06T04:48:48Z",
            "digestS3Bucket": "b",
            "digestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/06/x.json.gz",
            "digestPublicKeyFingerprint": "ab",
            "digestSignatureAlgorithm": "SHA256withRSA",
            "previousDigestS3Object": null,
            "previousDigestSignature": null,
            "previousDigestHashValue": null,
            "logFiles": [{"s3Bucket": "b", "s3Object": "AWSLogs/1/CloudTrail/x.json.gz", "hashValue": "AB"}]
        })
    }

    #[test]
    fn a_digest_round_trips_through_its_sorted_stream() {
        use std::io::Write as _;
        let display = "b/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/06/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20250106T044848Z.json.gz";
        let KeyShape::Digest(key) = s3key::classify(display) else {
            panic!("a digest key")
        };
        let mut v = sample();
        v["previousDigestS3Object"] =
            "x/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/06/p.json.gz".into();
        v["previousDigestSignature"] = "00ab".into();
        v["previousDigestHashValue"] = "cd".into();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(v.to_string().as_bytes()).unwrap();
        let mut d = from_bytes(display.into(), key.clone(), &gz.finish().unwrap(), 1 << 20);
        d.seq = 7;
        // Discovery moves the listing into its own stream before the digest is written.
        if let Ok(c) = &mut d.content {
            c.log_files.clear();
        }
        let unreadable = unreadable(display.into(), key, 3, "cut short");
        for d in [d, unreadable] {
            let mut buf = Vec::new();
            d.encode(&mut Enc(&mut buf));
            let back = DigestFile::decode(&mut Dec(&buf)).unwrap();
            assert_eq!(format!("{back:?}"), format!("{d:?}"));
            assert_eq!(
                back.content.as_ref().ok().and_then(|c| c.prev_canonical()),
                d.content.as_ref().ok().and_then(|c| c.prev_canonical())
            );
        }
    }

    #[test]
    fn signing_string_is_spec_form() {
        let c = parse(sample().to_string().as_bytes()).unwrap();
        assert_eq!(
            c.signing_string("deadbeef"),
            "2025-01-06T04:48:48Z\nb/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/06/x.json.gz\ndeadbeef\nnull"
        );
        assert!(c.starts_chain());
        assert_eq!(c.log_files[0].hash, None);
    }

    #[test]
    fn missing_fields_are_named() {
        for field in [
            "digestEndTime",
            "digestS3Object",
            "logFiles",
            "awsAccountId",
        ] {
            let mut v = sample();
            v.as_object_mut().unwrap().remove(field);
            let e = parse(v.to_string().as_bytes()).unwrap_err();
            assert!(e.contains(field), "{e}");
        }
        let mut v = sample();
        v["logFiles"][0]["hashValue"] = 5.into();
        assert!(parse(v.to_string().as_bytes())
            .unwrap_err()
            .contains("hashValue"));
        assert!(parse(b"[1,2]").is_err());
        assert!(parse(b"{\"digestEndTime\":").is_err());
        assert!(parse(&[0xff, 0xfe, 0x00]).is_err());
    }

    #[test]
    fn unhex_rejects_garbage() {
        use crate::hash::unhex;
        assert_eq!(unhex("00ff"), Some(vec![0, 255]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é0"), None);
    }
}
