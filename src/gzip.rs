//! Bounded gunzip of untrusted bytes: exactly one gzip member, never more than a limit.
//!
//! CloudTrail writes every log file and digest as one gzip member. AWS's own validator
//! rejects trailing data, so a second member or any byte after the first member's trailer
//! makes the file unreadable here too (an appended member could otherwise smuggle records
//! past a hash check that covers only the first). The output limit turns a decompression
//! bomb into a finding instead of an out-of-memory kill.

use std::io::Read;

/// Why a gzip file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GzipError {
    #[error("not gzip (no gzip header)")]
    NotGzip,
    #[error("gzip stream is corrupt or truncated: {0}")]
    Corrupt(String),
    #[error("{0} bytes follow the gzip member (a second member or trailing data)")]
    TrailingData(usize),
    #[error("inflates to more than the limit of {0} bytes (decompression bomb?)")]
    TooLarge(u64),
}

/// Inflate `data` into `out` (cleared first). `limit` caps the inflated size.
pub fn gunzip_single(data: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), GzipError> {
    out.clear();
    if data.len() < 2 || data.first() != Some(&0x1f) || data.get(1) != Some(&0x8b) {
        return Err(GzipError::NotGzip);
    }
    let mut dec = flate2::bufread::GzDecoder::new(data);
    // Read at most limit+1 bytes: one byte over proves the limit was exceeded.
    let mut capped = (&mut dec).take(limit.saturating_add(1));
    capped
        .read_to_end(out)
        .map_err(|e| GzipError::Corrupt(e.to_string()))?;
    if out.len() as u64 > limit {
        out.clear();
        return Err(GzipError::TooLarge(limit));
    }
    let rest = dec.into_inner();
    if !rest.is_empty() {
        return Err(GzipError::TrailingData(rest.len()));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let z = gzip(b"{\"Records\":[]}");
        let mut out = Vec::new();
        gunzip_single(&z, 1 << 20, &mut out).unwrap();
        assert_eq!(out, b"{\"Records\":[]}");
    }

    #[test]
    fn truncated_is_corrupt() {
        let z = gzip(&vec![b'a'; 10_000]);
        let mut out = Vec::new();
        let half = &z[..z.len() / 2];
        assert!(matches!(
            gunzip_single(half, 1 << 20, &mut out),
            Err(GzipError::Corrupt(_))
        ));
        // Cut inside the 8-byte trailer: still corrupt.
        let cut = &z[..z.len() - 3];
        assert!(matches!(
            gunzip_single(cut, 1 << 20, &mut out),
            Err(GzipError::Corrupt(_))
        ));
    }

    #[test]
    fn second_member_and_trailing_bytes_rejected() {
        let mut z = gzip(b"one");
        z.extend_from_slice(&gzip(b"two"));
        let mut out = Vec::new();
        assert!(matches!(
            gunzip_single(&z, 1 << 20, &mut out),
            Err(GzipError::TrailingData(_))
        ));
        let mut z = gzip(b"one");
        z.push(0);
        assert_eq!(
            gunzip_single(&z, 1 << 20, &mut out),
            Err(GzipError::TrailingData(1))
        );
    }

    #[test]
    fn bomb_is_capped() {
        let z = gzip(&vec![0u8; 5_000_000]);
        let mut out = Vec::new();
        assert_eq!(
            gunzip_single(&z, 1_000_000, &mut out),
            Err(GzipError::TooLarge(1_000_000))
        );
        assert!(out.is_empty());
    }

    #[test]
    fn not_gzip() {
        let mut out = Vec::new();
        assert_eq!(gunzip_single(b"{}", 10, &mut out), Err(GzipError::NotGzip));
        assert_eq!(gunzip_single(b"", 10, &mut out), Err(GzipError::NotGzip));
    }
}
