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

/// Deflate cannot expand more than 1032:1 (a 258-byte match in two bits), so an ISIZE
/// beyond that for the whole file is a lie and not worth allocating for.
const MAX_RATIO: u64 = 1032;

/// gzip header flag FHCRC: a CRC-16 of the header, which libdeflate skips unchecked.
const FHCRC: u8 = 0x02;

/// Inflate `data` into `out` (cleared first). `limit` caps the inflated size.
///
/// The fast path is libdeflate into a buffer sized by the trailer's ISIZE (the last four
/// bytes, mod 2^32). ISIZE is untrusted, so it is only a hint: whenever libdeflate does
/// not succeed (wrong hint, corrupt data, odd header, hint over the limit) the streaming
/// flate2 path decides, so every error reads exactly as it always has and the limit is
/// enforced without allocating it.
///
/// One difference from zlib remains, by libdeflate's design: it decodes a few deflate
/// encodings that no compressor emits and zlib calls corrupt (the second codeword of a
/// one-symbol Huffman code, length symbols 286-287, distance symbols 30-31). What comes
/// out is still held to the member's CRC-32 and ISIZE, and then to the digest's SHA-256,
/// so such a file can only ever yield the content that was logged.
pub fn gunzip_single(data: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), GzipError> {
    out.clear();
    if data.len() < 2 || data.first() != Some(&0x1f) || data.get(1) != Some(&0x8b) {
        return Err(GzipError::NotGzip);
    }
    let hint = trailer_isize(data)
        .filter(|&n| n <= limit && n <= (data.len() as u64).saturating_mul(MAX_RATIO))
        .and_then(|n| usize::try_from(n).ok());
    let header_crc = data.get(3).is_some_and(|f| f & FHCRC != 0);
    if let (Some(n), false) = (hint, header_crc) {
        // Into the spare capacity, not zeroed first: libdeflate writes what it reports.
        out.reserve(n);
        // Exactly `n` bytes (the capacity may be larger): the hint, bounded by the limit.
        let spare = out.spare_capacity_mut();
        let k = spare.len().min(n);
        let spare = spare.get_mut(..k).unwrap_or_default();
        if let Ok((used_in, used_out)) = fast::gzip_decompress(data, spare) {
            // SAFETY: `out` was empty, and libdeflate reported success having written
            // exactly `used_out` bytes (checked against the slice's length) from its start.
            unsafe { out.set_len(used_out) };
            // libdeflate stops after the first member's trailer: anything left over is a
            // second member or trailing garbage.
            let rest = data.len().saturating_sub(used_in);
            if rest != 0 {
                out.clear();
                return Err(GzipError::TrailingData(rest));
            }
            return Ok(());
        }
        out.clear();
    }
    gunzip_streaming(data, limit, out)
}

/// ISIZE from the last four bytes of `data` (little-endian), if there are four.
fn trailer_isize(data: &[u8]) -> Option<u64> {
    let tail: [u8; 4] = data.get(data.len().checked_sub(4)?..)?.try_into().ok()?;
    Some(u64::from(u32::from_le_bytes(tail)))
}

/// The reference path: flate2 reading at most `limit + 1` bytes.
fn gunzip_streaming(data: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), GzipError> {
    out.clear();
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

/// libdeflate through its C API. The `libdeflater` wrapper's `gzip_decompress` does not
/// report how much input the member used (libdeflate's plain `gzip_decompress` silently
/// ignores whatever follows the first member), so this calls
/// `libdeflate_gzip_decompress_ex`, which does.
mod fast {
    use libdeflate_sys::{
        libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_free_decompressor,
        libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_SUCCESS,
    };
    use std::cell::RefCell;
    use std::ptr::NonNull;

    /// An owned libdeflate decompressor (a few KiB of tables, reused per thread).
    struct Decompressor(NonNull<libdeflate_decompressor>);

    impl Decompressor {
        fn new() -> Option<Self> {
            // SAFETY: no arguments; returns NULL on allocation failure, checked here.
            NonNull::new(unsafe { libdeflate_alloc_decompressor() }).map(Self)
        }
    }

    impl Drop for Decompressor {
        fn drop(&mut self) {
            // SAFETY: allocated by libdeflate_alloc_decompressor, freed exactly once.
            unsafe { libdeflate_free_decompressor(self.0.as_ptr()) }
        }
    }

    thread_local! {
        static DECOMPRESSOR: RefCell<Option<Decompressor>> = const { RefCell::new(None) };
    }

    /// One gzip member from the start of `gz` into `out`, checking its CRC-32 and ISIZE.
    /// Returns (input bytes the member used, bytes written). `Err` covers corrupt data and
    /// an `out` too small alike: the caller falls back to the streaming path for both.
    pub(super) fn gzip_decompress(
        gz: &[u8],
        out: &mut [std::mem::MaybeUninit<u8>],
    ) -> Result<(usize, usize), ()> {
        DECOMPRESSOR.with(|cell| {
            let mut slot = cell.try_borrow_mut().map_err(|_| ())?;
            if slot.is_none() {
                *slot = Decompressor::new();
            }
            let d = slot.as_ref().ok_or(())?;
            let (mut used_in, mut used_out) = (0usize, 0usize);
            // SAFETY: the decompressor is live and used by this thread only; the input and
            // output pointers and lengths come from valid slices that outlive the call;
            // libdeflate reads at most `gz.len()` bytes, writes at most `out.len()` (and
            // never reads `out`, so it may be uninitialised), and writes both counts before
            // returning success.
            let r = unsafe {
                libdeflate_gzip_decompress_ex(
                    d.0.as_ptr(),
                    gz.as_ptr().cast(),
                    gz.len(),
                    out.as_mut_ptr().cast(),
                    out.len(),
                    &mut used_in,
                    &mut used_out,
                )
            };
            if r == libdeflate_result_LIBDEFLATE_SUCCESS
                && used_in <= gz.len()
                && used_out <= out.len()
            {
                Ok((used_in, used_out))
            } else {
                Err(())
            }
        })
    }
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

    /// `z` with its trailer's ISIZE replaced.
    fn with_isize(mut z: Vec<u8>, n: u32) -> Vec<u8> {
        let at = z.len() - 4;
        z[at..].copy_from_slice(&n.to_le_bytes());
        z
    }

    #[test]
    fn isize_lying_smaller_or_larger_is_corrupt() {
        let data = vec![b'x'; 50_000];
        let z = gzip(&data);
        let mut out = Vec::new();
        for n in [0, 1, 49_999, 50_001, 1 << 20, u32::MAX] {
            let r = gunzip_single(&with_isize(z.clone(), n), 1 << 30, &mut out);
            assert!(matches!(r, Err(GzipError::Corrupt(_))), "ISIZE {n}: {r:?}");
        }
        // The true ISIZE mod 2^32 is what the fast path is sized by.
        gunzip_single(&with_isize(z, 50_000), 1 << 30, &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn bomb_is_capped_whatever_isize_says() {
        let z = gzip(&vec![0u8; 5_000_000]);
        // True ISIZE over the limit: straight to the capped stream.
        // ISIZE under the limit: libdeflate runs out of room, the capped stream decides.
        for n in [5_000_000, 1_000_000, 999_999, 1_000, 0] {
            let mut out = Vec::new();
            assert_eq!(
                gunzip_single(&with_isize(z.clone(), n), 1_000_000, &mut out),
                Err(GzipError::TooLarge(1_000_000)),
                "ISIZE {n}"
            );
            assert!(out.is_empty());
        }
    }

    #[test]
    fn isize_beyond_deflates_ratio_is_not_allocated() {
        // 30-odd bytes cannot inflate to 500 MB: no buffer of that size is made.
        let z = with_isize(gzip(b"tiny"), 500 << 20);
        let mut out = Vec::new();
        assert!(matches!(
            gunzip_single(&z, 1 << 30, &mut out),
            Err(GzipError::Corrupt(_))
        ));
        assert!(out.capacity() < 1 << 20, "{}", out.capacity());
    }

    #[test]
    fn second_identical_member_and_crafted_tails_rejected() {
        // The same member twice ends in the same eight bytes as one member alone.
        let one = gzip(b"one");
        let mut z = one.clone();
        z.extend_from_slice(&one);
        let mut out = Vec::new();
        assert_eq!(
            gunzip_single(&z, 1 << 20, &mut out),
            Err(GzipError::TrailingData(one.len()))
        );
        // A tail whose last four bytes are a plausible ISIZE (3, the real size), a huge
        // one, and zero.
        for tail in [&[3u8, 0, 0, 0][..], &[0xff; 4], &[0; 4], &[0]] {
            let mut z = one.clone();
            z.extend_from_slice(tail);
            assert_eq!(
                gunzip_single(&z, 1 << 20, &mut out),
                Err(GzipError::TrailingData(tail.len())),
                "{tail:?}"
            );
        }
    }

    #[test]
    fn bad_crc_is_corrupt() {
        let mut z = gzip(b"some log text");
        let at = z.len() - 8;
        z[at] ^= 1;
        let mut out = Vec::new();
        assert!(matches!(
            gunzip_single(&z, 1 << 20, &mut out),
            Err(GzipError::Corrupt(_))
        ));
    }

    #[test]
    fn header_crc_is_checked() {
        // FHCRC set: libdeflate would skip the CRC-16 unchecked; the stream path checks it.
        let z = gzip(b"hello");
        let (header, rest) = z.split_at(10);
        let mut h = header.to_vec();
        h[3] |= FHCRC;
        let mut c = flate2::Crc::new();
        c.update(&h);
        let crc = c.sum() as u16;
        let mut out = Vec::new();
        for (crc16, ok) in [(crc, true), (crc ^ 1, false)] {
            let mut f = h.clone();
            f.extend_from_slice(&crc16.to_le_bytes());
            f.extend_from_slice(rest);
            let r = gunzip_single(&f, 1 << 20, &mut out);
            assert_eq!(r.is_ok(), ok, "{r:?}");
            assert_eq!(r, gunzip_streaming(&f, 1 << 20, &mut Vec::new()));
        }
    }

    #[test]
    fn fast_path_agrees_with_stream_on_damaged_input() {
        // Every truncation and many single-byte changes of a small member: the same result
        // as the reference path, except where libdeflate accepts a non-canonical encoding
        // of the very same content (see `gunzip_single`).
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
        let z = gzip(&data);
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        let mut lenient = 0;
        let mut check = |input: &[u8]| {
            let a = gunzip_single(input, 1 << 20, &mut fast);
            // The reference: the magic check, then the stream alone.
            let b = if input.starts_with(&[0x1f, 0x8b]) {
                gunzip_streaming(input, 1 << 20, &mut slow)
            } else {
                Err(GzipError::NotGzip)
            };
            if a != b {
                assert!(
                    a.is_ok() && matches!(b, Err(GzipError::Corrupt(_))),
                    "{a:?} {b:?}"
                );
                assert_eq!(fast, data);
                lenient += 1;
            } else if a.is_ok() {
                assert_eq!(fast, slow);
            }
        };
        for n in 0..=z.len() {
            check(&z[..n]);
        }
        for i in 0..z.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut m = z.clone();
                m[i] ^= x;
                check(&m);
            }
        }
        // A handful at most, out of ~1,000 damaged inputs.
        assert!(lenient < 10, "{lenient}");
    }

    #[test]
    fn not_gzip() {
        let mut out = Vec::new();
        assert_eq!(gunzip_single(b"{}", 10, &mut out), Err(GzipError::NotGzip));
        assert_eq!(gunzip_single(b"", 10, &mut out), Err(GzipError::NotGzip));
    }
}
