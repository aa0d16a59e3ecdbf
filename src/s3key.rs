//! S3 key shapes: telling log files and digests apart by where and how AWS names them.
//!
//! A key is split into named parts (prefix, organization, account, region, time, trail),
//! checking the folder path against the file name, so that `aws s3 sync` copies, organization
//! layouts (`AWSLogs/o-ID/ACCOUNT/`) and any key prefix work wherever the bucket copy sits.
//! File names are parsed from both ends because trail names may hold `_` and `.`.
//!
//! The canonical form of a key (`canonical`) starts at `AWSLogs/`: it is how a digest's
//! `s3Object` is matched to a file in the bundle whatever folder the copy was made into.

use std::sync::Arc;

/// What a path inside an input is, by key shape alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyShape {
    Log(LogKey),
    Digest(DigestKey),
    /// Another object a real CloudTrail bucket holds (Insights, ConfigWritabilityCheck,
    /// other services' logs under `AWSLogs/`): recognised, counted, skipped.
    OtherBucketObject,
    /// Not a bucket object at all.
    Unknown,
}

/// Where the key sits: everything before and at `AWSLogs/[o-ID/]ACCOUNT/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyBase {
    /// Folders before `AWSLogs/` (bucket folder, key prefix), `/`-joined, may be empty.
    pub prefix: Arc<str>,
    pub org: Option<Arc<str>>,
    pub account: Arc<str>,
}

/// Where a log file sits: base and region, the same for every file of one account and
/// region, so that a million log files share one of these.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPlace {
    pub base: KeyBase,
    pub region: Arc<str>,
}

/// A log file's key: 16 bytes, one pointer to its (shared) place and its time. Derefs to
/// the place, so `key.base.account` and `key.region` read as they would on a flat struct.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogKey {
    pub place: Arc<LogPlace>,
    /// Delivery time from the file name (minute precision), UNIX seconds.
    pub time: i64,
    // No canonical key here: a log's is the tail of its path (`LogItem::canonical`), and
    // one log file in a million-file bundle should not carry a second copy of its name.
}

impl std::ops::Deref for LogKey {
    type Target = LogPlace;

    fn deref(&self) -> &LogPlace {
        &self.place
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DigestKey {
    pub base: KeyBase,
    pub region: String,
    pub trail: String,
    pub home_region: String,
    /// End of the digest period from the file name, UNIX seconds.
    pub end: i64,
    pub backfill: bool,
    /// `AWSLogs/...` onwards; it ends with the file name.
    pub canonical: String,
}

/// The last segment of a `/`-separated key.
pub fn last_segment(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

impl DigestKey {
    pub fn file_name(&self) -> &str {
        last_segment(&self.canonical)
    }
}

/// Classify a `/`-separated relative path by key shape.
pub fn classify(path: &str) -> KeyShape {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    // The last `AWSLogs` segment that is followed by an account (or o-ID/account).
    let Some(at) = parts.iter().rposition(|p| *p == "AWSLogs") else {
        return KeyShape::Unknown;
    };
    let prefix = parts.get(..at).map(|p| p.join("/")).unwrap_or_default();
    let rest = parts.get(at + 1..).unwrap_or(&[]);
    let (org, rest) = match rest.first() {
        Some(o) if o.starts_with("o-") => (Some((*o).to_owned()), rest.get(1..).unwrap_or(&[])),
        _ => (None, rest),
    };
    let Some(account) = rest.first().filter(|a| is_account(a)) else {
        return KeyShape::OtherBucketObject;
    };
    let base = KeyBase {
        prefix: prefix.into(),
        org: org.map(Into::into),
        account: (*account).into(),
    };
    let canonical = parts.get(at..).map(|p| p.join("/")).unwrap_or_default();
    let service = rest.get(1).copied().unwrap_or("");
    // Expected: SERVICE/REGION/YYYY/MM/DD/FILE
    let shape_ok = rest.len() == 7;
    let region = rest.get(2).copied().unwrap_or("");
    let date = (
        rest.get(3).copied().unwrap_or(""),
        rest.get(4).copied().unwrap_or(""),
        rest.get(5).copied().unwrap_or(""),
    );
    let file = rest.get(6).copied().unwrap_or("");
    let parsed =
        match service {
            "CloudTrail" if shape_ok => parse_log_name(file).and_then(|n| {
                (*n.account == *base.account && n.region == region && date_matches(date, n.time))
                    .then(|| {
                        KeyShape::Log(LogKey {
                            place: Arc::new(LogPlace {
                                base: base.clone(),
                                region: n.region.into(),
                            }),
                            time: n.time,
                        })
                    })
            }),
            "CloudTrail-Digest" if shape_ok => parse_digest_name(file).and_then(|n| {
                (*n.account == *base.account && n.region == region && date_matches(date, n.end))
                    .then(|| {
                        KeyShape::Digest(DigestKey {
                            base: base.clone(),
                            region: n.region,
                            trail: n.trail,
                            home_region: n.home_region,
                            end: n.end,
                            backfill: n.backfill,
                            canonical: canonical.clone(),
                        })
                    })
            }),
            _ => None,
        };
    // Anything else under AWSLogs/ACCOUNT/ is a bucket object we know to skip; a file that
    // *looks* like a log or digest but whose folders disagree with its name is Unknown, so
    // it is listed as ignored rather than silently skipped.
    match parsed {
        Some(shape) => shape,
        None if matches!(service, "CloudTrail" | "CloudTrail-Digest") => KeyShape::Unknown,
        None => KeyShape::OtherBucketObject,
    }
}

/// Where the canonical key (`AWSLogs/...`) starts in an S3 object key, if it has one: the
/// last segment that is exactly `AWSLogs`.
pub fn canonical_at(s3_object: &str) -> Option<usize> {
    // Segment by segment from the end: this runs for every comparison when log records
    // are sorted, so no split into a list and no substring searcher built per call.
    const SEG: &[u8] = b"AWSLogs";
    let b = s3_object.as_bytes();
    let mut end = b.len();
    loop {
        let head = b.get(..end)?;
        let start = head.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
        if head.get(start..) == Some(SEG) {
            return Some(start);
        }
        end = start.checked_sub(1)?;
    }
}

/// `canonical_at` as a compact offset, for records that keep where their key starts.
pub fn canonical_offset(s3_object: &str) -> Option<u32> {
    canonical_at(s3_object).and_then(|at| u32::try_from(at).ok())
}

/// The canonical key (`AWSLogs/...`) inside an S3 object key or bundle path, if it has one.
pub fn canonical_in(s3_object: &str) -> Option<&str> {
    canonical_at(s3_object).and_then(|at| s3_object.get(at..))
}

/// Canonical key (`AWSLogs/...`) of an S3 object key as a digest names it, if it has one.
pub fn canonical_of(s3_object: &str) -> Option<String> {
    canonical_in(s3_object).map(str::to_owned)
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_region(s: &str) -> bool {
    // us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-5 …
    let mut it = s.split('-');
    let ok_head = it
        .next()
        .is_some_and(|h| (2..=3).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_lowercase()));
    let rest: Vec<&str> = it.collect();
    ok_head
        && rest.len() >= 2
        && rest
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && rest
            .iter()
            .rev()
            .skip(1)
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// A region name anywhere in a file name (`list-public-keys.eu-west-1.json`).
pub fn region_in_name(name: &str) -> Option<String> {
    name.split(['.', '_', '/'])
        .find(|p| is_region(p))
        .map(str::to_owned)
}

/// The `YYYY/MM/DD` folders name the day of `t` (checked without formatting: once per file).
fn date_matches((y, m, d): (&str, &str, &str), t: i64) -> bool {
    let parse = |s: &str| s.parse::<i64>().ok();
    match (parse(y), parse(m), parse(d)) {
        (Some(y), Some(m), Some(d)) => {
            crate::time::day_start(y, m, d) == Some(t.div_euclid(86_400) * 86_400)
        }
        _ => false,
    }
}

struct LogName {
    account: String,
    region: String,
    time: i64,
}

/// `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`
fn parse_log_name(name: &str) -> Option<LogName> {
    let stem = name.strip_suffix(".json.gz")?;
    let parts: Vec<&str> = stem.split('_').collect();
    if parts.len() != 5 {
        return None;
    }
    let (account, service, region, time, unique) = (
        *parts.first()?,
        *parts.get(1)?,
        *parts.get(2)?,
        *parts.get(3)?,
        *parts.get(4)?,
    );
    if !is_account(account) || service != "CloudTrail" || !is_region(region) || unique.is_empty() {
        return None;
    }
    Some(LogName {
        account: account.to_owned(),
        region: region.to_owned(),
        time: crate::time::parse_compact(time)?,
    })
}

struct DigestName {
    account: String,
    region: String,
    trail: String,
    home_region: String,
    end: i64,
    backfill: bool,
}

/// `ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHmmssZ[_backfill].json.gz`
fn parse_digest_name(name: &str) -> Option<DigestName> {
    let stem = name.strip_suffix(".json.gz")?;
    let (stem, backfill) = match stem.strip_suffix("_backfill") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let parts: Vec<&str> = stem.split('_').collect();
    if parts.len() < 6 {
        return None;
    }
    let account = *parts.first()?;
    let service = *parts.get(1)?;
    let region = *parts.get(2)?;
    let time = *parts.last()?;
    let home = *parts.get(parts.len().checked_sub(2)?)?;
    let trail = parts.get(3..parts.len().checked_sub(2)?)?.join("_");
    if !is_account(account)
        || service != "CloudTrail-Digest"
        || !is_region(region)
        || !is_region(home)
        || trail.is_empty()
    {
        return None;
    }
    Some(DigestName {
        account: account.to_owned(),
        region: region.to_owned(),
        trail,
        home_region: home.to_owned(),
        end: crate::time::parse_compact(time)?,
        backfill,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_at_is_the_last_segment_named_awslogs() {
        // The plain definition, segment by segment.
        fn by_segments(s: &str) -> Option<usize> {
            let (mut at, mut offset) = (None, 0);
            for seg in s.split('/') {
                if seg == "AWSLogs" {
                    at = Some(offset);
                }
                offset += seg.len() + 1;
            }
            at
        }
        for s in [
            "",
            "AWSLogs",
            "AWSLogs/",
            "/AWSLogs",
            "bucket/AWSLogs/1/CloudTrail/x.json.gz",
            "AWSLogs/AWSLogs/x",
            "a/AWSLogsX/AWSLogs/b",
            "a/XAWSLogs/b",
            "a/AWSLogs/b/AWSLogsAWSLogs/c",
            "AWSLogsAWSLogs",
            "a/AWSLogs/b/AWSLogs",
            "é/AWSLogs/ü",
            "AWSLog/AWSLogs_/x",
        ] {
            assert_eq!(canonical_at(s), by_segments(s), "{s:?}");
        }
    }

    #[test]
    fn log_key_with_prefix_and_org() {
        let p = "bucket/org-logs/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/eu-west-1/2025/01/06/444455556666_CloudTrail_eu-west-1_20250106T1200Z_L7QmFtEVjAoCw32k.json.gz";
        let KeyShape::Log(k) = classify(p) else {
            panic!("not a log: {:?}", classify(p))
        };
        assert_eq!(&*k.base.prefix, "bucket/org-logs");
        assert_eq!(k.base.org.as_deref(), Some("o-a1b2c3d4e5"));
        assert_eq!(&*k.base.account, "444455556666");
        assert_eq!(&*k.region, "eu-west-1");
        assert_eq!(crate::time::fmt(k.time), "2025-01-06T12:00:00Z");
        // A log's canonical key is the tail of its path (`LogItem::canonical`).
        assert!(canonical_of(p).is_some_and(|c| c.starts_with("AWSLogs/o-a1b2c3d4e5/")));
    }

    #[test]
    fn digest_trail_names_with_underscores_and_dots() {
        let p = "AWSLogs/111122223333/CloudTrail-Digest/us-west-2/2025/01/06/111122223333_CloudTrail-Digest_us-west-2_org_audit.trail_v2_us-east-1_20250106T124637Z.json.gz";
        let KeyShape::Digest(d) = classify(p) else {
            panic!("not a digest")
        };
        assert_eq!(d.trail, "org_audit.trail_v2");
        assert_eq!(d.home_region, "us-east-1");
        assert_eq!(d.region, "us-west-2");
        assert!(!d.backfill);
        let b = p.replace(".json.gz", "_backfill.json.gz");
        let KeyShape::Digest(d) = classify(&b) else {
            panic!("backfill not a digest")
        };
        assert!(d.backfill);
    }

    #[test]
    fn other_objects_and_mismatches() {
        assert_eq!(
            classify("AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2025/01/06/x.json.gz"),
            KeyShape::OtherBucketObject
        );
        assert_eq!(
            classify("AWSLogs/111122223333/CloudTrail/ConfigWritabilityCheckFile"),
            KeyShape::Unknown
        );
        assert_eq!(
            classify("AWSLogs/111122223333/Config/ConfigWritabilityCheckFile"),
            KeyShape::OtherBucketObject
        );
        assert_eq!(classify("notes/readme.txt"), KeyShape::Unknown);
        // Folder says us-east-1, name says eu-west-1: not trusted as a log file.
        assert_eq!(
            classify("AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/06/111122223333_CloudTrail_eu-west-1_20250106T1200Z_x.json.gz"),
            KeyShape::Unknown
        );
        // Date folder disagrees with the file name.
        assert_eq!(
            classify("AWSLogs/111122223333/CloudTrail/eu-west-1/2025/01/07/111122223333_CloudTrail_eu-west-1_20250106T1200Z_x.json.gz"),
            KeyShape::Unknown
        );
    }

    #[test]
    fn regions() {
        assert!(
            is_region("us-east-1") && is_region("us-gov-west-1") && is_region("ap-southeast-5")
        );
        assert!(
            !is_region("us-east") && !is_region("management-events") && !is_region("US-EAST-1")
        );
        assert_eq!(
            region_in_name("list-public-keys.eu-west-1.json").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_in_name("list-public-keys.json"), None);
        assert_eq!(
            canonical_of("org-logs/AWSLogs/1/x").as_deref(),
            Some("AWSLogs/1/x")
        );
        assert_eq!(canonical_of("AWSLogs").as_deref(), Some("AWSLogs"));
        assert_eq!(
            canonical_of("a//AWSLogs/AWSLogs/b").as_deref(),
            Some("AWSLogs/b")
        );
        assert_eq!(canonical_of("x/AWSLogsy/z"), None);
        assert_eq!(canonical_of(""), None);
        assert_eq!(
            canonical_of("org-logs/AWSLogs/1/x").as_deref(),
            Some("AWSLogs/1/x")
        );
    }
}
