//! Timestamps: every time inside trailproof is UNIX seconds, UTC.
//!
//! Inputs come in every form the AWS CLI prints: ISO 8601 with `Z` or any offset, with or
//! without fractional seconds (v2), epoch numbers (v1, `1736208247.845`), and the compact
//! forms inside S3 keys (`20250106T095431Z`, `20250106T0400Z`). Output is always
//! `YYYY-MM-DDTHH:MM:SSZ`. Parsing never panics; a bad value is `None`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

pub const HOUR: i64 = 3600;
/// A log file's key names its delivery to the minute: the period its findings give.
pub const MINUTE: i64 = 60;

/// RFC 3339 / ISO 8601 with an offset, or a space instead of `T`; fractions are dropped
/// (truncated toward the past), so `…:48.999Z` is second 48.
pub fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    let t = s.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&t) {
        return Some(t.timestamp());
    }
    // No offset at all: AWS prints UTC in that case.
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&t, fmt) {
            return Some(Utc.from_utc_datetime(&n).timestamp());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|n| Utc.from_utc_datetime(&n).timestamp());
    }
    None
}

/// A JSON value holding a time: an ISO string, or epoch seconds as a number or numeric string.
pub fn from_json(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::String(s) => {
            parse_iso(s).or_else(|| s.trim().parse::<f64>().ok().and_then(epoch_secs))
        }
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(epoch_secs)),
        _ => None,
    }
}

fn epoch_secs(f: f64) -> Option<i64> {
    // Years 1970..=9999 only: anything else is not a CloudTrail time.
    if f.is_finite() && (0.0..253_402_300_800.0).contains(&f) {
        Some(f.floor() as i64)
    } else {
        None
    }
}

/// `20250106T095431Z` (digest keys) or `20250106T0400Z` (log file keys).
pub fn parse_compact(s: &str) -> Option<i64> {
    let fmt = match s.len() {
        16 => "%Y%m%dT%H%M%SZ",
        14 => "%Y%m%dT%H%MZ",
        _ => return None,
    };
    NaiveDateTime::parse_from_str(s, fmt)
        .ok()
        .map(|n| Utc.from_utc_datetime(&n).timestamp())
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn fmt(t: i64) -> String {
    match DateTime::<Utc>::from_timestamp(t, 0) {
        Some(d) => d.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => format!("@{t}"),
    }
}

/// Start of the hour holding `t`.
pub fn hour_floor(t: i64) -> i64 {
    t.div_euclid(HOUR) * HOUR
}

/// Whether the hour holding `t` overlaps `window` (start inclusive, end exclusive): how
/// per-hour counts are judged against a window that may start or end inside an hour.
pub fn hour_overlaps(t: i64, window: (i64, i64)) -> bool {
    let h = hour_floor(t);
    h < window.1 && h + HOUR > window.0
}

/// Start of the first hour at or after `t`.
pub fn hour_ceil(t: i64) -> i64 {
    let f = hour_floor(t);
    if f == t {
        t
    } else {
        f + HOUR
    }
}

/// The fixed clock reading for the report: `SOURCE_DATE_EPOCH` when set, else the
/// wall clock; `--deterministic` without it gives the UNIX epoch.
pub fn generated_at(deterministic: bool) -> i64 {
    if let Some(t) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
    {
        return t;
    }
    if deterministic {
        return 0;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_overlaps_a_window_that_starts_or_ends_inside_it() {
        let w = (10 * HOUR + 1800, 14 * HOUR + 1800);
        assert!(hour_overlaps(10 * HOUR, w) && hour_overlaps(14 * HOUR + 59, w));
        assert!(!hour_overlaps(9 * HOUR + 3599, w) && !hour_overlaps(15 * HOUR, w));
        // A whole-hour window takes exactly its hours.
        assert!(!hour_overlaps(14 * HOUR, (10 * HOUR, 14 * HOUR)));
    }

    #[test]
    fn iso_forms() {
        let z = parse_iso("2025-01-06T04:48:48Z").unwrap();
        assert_eq!(fmt(z), "2025-01-06T04:48:48Z");
        assert_eq!(parse_iso("2025-01-06T06:48:48+02:00"), Some(z));
        assert_eq!(parse_iso("2025-01-06T04:48:48.999000+00:00"), Some(z));
        assert_eq!(parse_iso("2025-01-06 04:48:48+00:00"), Some(z));
        assert_eq!(parse_iso("2025-01-06T04:48:48"), Some(z));
        assert_eq!(parse_iso("yesterday"), None);
        assert_eq!(parse_iso(""), None);
    }

    #[test]
    fn epoch_forms() {
        let v: serde_json::Value = serde_json::json!(1736208247.845);
        assert_eq!(fmt(from_json(&v).unwrap()), "2025-01-07T00:04:07Z");
        assert_eq!(from_json(&serde_json::json!(1736208247)), Some(1736208247));
        assert_eq!(
            from_json(&serde_json::json!("1736208247.5")),
            Some(1736208247)
        );
        assert_eq!(from_json(&serde_json::json!(-5.0)), None);
        assert_eq!(from_json(&serde_json::json!(1e300)), None);
        assert_eq!(from_json(&serde_json::json!(null)), None);
    }

    #[test]
    fn compact_forms() {
        assert_eq!(
            parse_compact("20250106T095431Z").map(fmt).as_deref(),
            Some("2025-01-06T09:54:31Z")
        );
        assert_eq!(
            parse_compact("20250106T0400Z").map(fmt).as_deref(),
            Some("2025-01-06T04:00:00Z")
        );
        assert_eq!(parse_compact("20251399T0400Z"), None);
        assert_eq!(parse_compact("2025"), None);
    }

    #[test]
    fn hours() {
        let t = parse_iso("2025-01-06T04:48:48Z").unwrap();
        assert_eq!(fmt(hour_floor(t)), "2025-01-06T04:00:00Z");
        assert_eq!(fmt(hour_ceil(t)), "2025-01-06T05:00:00Z");
        assert_eq!(hour_ceil(hour_floor(t)), hour_floor(t));
    }
}

/// Fast path for CloudTrail's `eventTime` (`YYYY-MM-DDTHH:MM:SSZ`), falling back to
/// `parse_iso` for any other form. Called once per event, so it avoids chrono.
pub fn parse_event_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() == 20
        && b.get(4) == Some(&b'-')
        && b.get(10) == Some(&b'T')
        && b.get(19) == Some(&b'Z')
    {
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let mut v = 0i64;
            for &c in b.get(r)? {
                if !c.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + i64::from(c - b'0');
            }
            Some(v)
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && se < 61 {
            return Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se);
        }
        return None;
    }
    parse_iso(s)
}

/// UNIX time of 00:00:00 UTC on a calendar date; `None` for a date that does not exist.
pub fn day_start(y: i64, m: i64, d: i64) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in)
        .contains(&d)
        .then(|| days_from_civil(y, m, d) * 86_400)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod event_time_tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_chrono() {
        for s in [
            "2025-01-06T09:21:28Z",
            "2024-02-29T23:59:59Z",
            "1999-12-31T00:00:00Z",
            "2100-03-01T12:00:00Z",
        ] {
            assert_eq!(parse_event_time(s), parse_iso(s), "{s}");
        }
        assert_eq!(
            parse_event_time("2025-01-06T09:21:28.123Z"),
            parse_iso("2025-01-06T09:21:28Z")
        );
        assert_eq!(parse_event_time("2025-13-06T09:21:28Z"), None);
        assert_eq!(day_start(2024, 2, 29), parse_iso("2024-02-29T00:00:00Z"));
        assert_eq!(day_start(2025, 2, 29), None);
        assert_eq!(parse_event_time("2025-01-06T9:21:28Z"), None);
    }
}
