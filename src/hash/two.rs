//! SHA-256 of two messages at once.
//!
//! Why: with the x86 SHA extensions, one SHA-256 runs at the latency of its round
//! instruction (each `sha256rnds2` waits for the result of the one before), so the SHA unit
//! sits idle between rounds. The rounds of a second, independent message fill those gaps:
//! two log files hash in about the time of one (`cargo bench --bench stages`, the "two at
//! once" row). Without the SHA extensions (or off x86-64) the two are hashed one after the
//! other by `sha2`, with the same results.

use super::Sha256Hash;

/// The SHA-256 of `a` and of `b`.
pub fn sha256_two(a: &[u8], b: &[u8]) -> (Sha256Hash, Sha256Hash) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sha")
        && std::arch::is_x86_feature_detected!("sse4.1")
        && std::arch::is_x86_feature_detected!("ssse3")
    {
        // SAFETY: the CPU has every feature `ni::two` is compiled for (checked above).
        return unsafe { ni::two(a, b) };
    }
    (Sha256Hash::of(a), Sha256Hash::of(b))
}

/// A message as SHA-256 reads it: its whole 64-byte blocks, then one or two more holding
/// the rest, `0x80`, zeros and the length in bits (big-endian).
struct Padded<'a> {
    whole: &'a [u8],
    tail: [u8; 128],
    tail_len: usize,
}

impl<'a> Padded<'a> {
    fn new(m: &'a [u8]) -> Self {
        let (whole, rest) = m.split_at(m.len() - m.len() % 64);
        let mut tail = [0u8; 128];
        for (t, r) in tail.iter_mut().zip(rest) {
            *t = *r;
        }
        if let Some(t) = tail.get_mut(rest.len()) {
            *t = 0x80;
        }
        let tail_len = if rest.len() < 56 { 64 } else { 128 };
        let bits = (m.len() as u64).wrapping_mul(8).to_be_bytes();
        if let Some(t) = tail.get_mut(tail_len - 8..tail_len) {
            t.copy_from_slice(&bits);
        }
        Padded {
            whole,
            tail,
            tail_len,
        }
    }

    /// Its blocks as two runs: the whole blocks of the message, then the padded tail.
    fn runs(&self) -> [&[u8]; 2] {
        [self.whole, self.tail.get(..self.tail_len).unwrap_or(&[])]
    }
}

/// Which messages a run of blocks belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lanes {
    Both,
    /// Only the first (or only the second) has blocks left; the run comes twice.
    A,
    B,
}

/// The blocks of `a` and `b` side by side, as runs of equal length (multiples of 64);
/// then whatever one of them has left.
fn pairs<'x>(
    a: &'x Padded<'_>,
    b: &'x Padded<'_>,
    mut each: impl FnMut(&'x [u8], &'x [u8], Lanes),
) {
    let (mut ra, mut rb) = (a.runs().into_iter(), b.runs().into_iter());
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    loop {
        if x.is_empty() {
            x = ra.next().unwrap_or(&[]);
        }
        if y.is_empty() {
            y = rb.next().unwrap_or(&[]);
        }
        // Runs may be empty (a message shorter than a block): skip to the next.
        if x.is_empty() && ra.len() > 0 || y.is_empty() && rb.len() > 0 {
            continue;
        }
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return,
            (false, false) => {
                let n = x.len().min(y.len());
                let ((x0, x1), (y0, y1)) = (x.split_at(n), y.split_at(n));
                each(x0, y0, Lanes::Both);
                (x, y) = (x1, y1);
            }
            (false, true) => {
                each(x, x, Lanes::A);
                x = &[];
            }
            (true, false) => {
                each(y, y, Lanes::B);
                y = &[];
            }
        }
    }
}

/// The SHA-NI routines. Each is an `unsafe fn` compiled for the SHA, SSE2, SSSE3 and SSE4.1
/// features: calling one is sound only on a CPU that has them (`sha256_two` checks first).
/// Their memory accesses are all through slices and arrays of checked length.
#[cfg(target_arch = "x86_64")]
mod ni {
    use super::{pairs, Lanes, Padded, Sha256Hash};
    use std::arch::x86_64::*;

    const H0: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];

    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    /// One lane's state as the SHA instructions hold it: (ABEF, CDGH).
    #[derive(Clone, Copy)]
    struct Lane(__m128i, __m128i);

    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    unsafe fn load(h: &[u32; 8]) -> Lane {
        let [a, b, c, d, e, f, g, hh] = h.map(|w| w as i32);
        Lane(_mm_set_epi32(a, b, e, f), _mm_set_epi32(c, d, g, hh))
    }

    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    unsafe fn store(l: Lane) -> Sha256Hash {
        let (mut abef, mut cdgh) = ([0u32; 4], [0u32; 4]);
        // SAFETY: each array is 16 bytes, the size of the unaligned store.
        unsafe {
            _mm_storeu_si128(abef.as_mut_ptr().cast(), l.0);
            _mm_storeu_si128(cdgh.as_mut_ptr().cast(), l.1);
        }
        // Lanes hold the words high to low: ABEF is [F, E, B, A] in memory.
        let [f, e, b, a] = abef;
        let [h, g, d, c] = cdgh;
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip([a, b, c, d, e, f, g, h]) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        Sha256Hash(out)
    }

    /// The four message words of `block` (64 bytes) at `i` (0..4), as big-endian words.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    unsafe fn words(block: &[u8], i: usize) -> __m128i {
        let mut w = [0u8; 16];
        if let Some(b) = block.get(i * 16..i * 16 + 16) {
            w.copy_from_slice(b);
        }
        let swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
        // SAFETY: `w` is 16 bytes, the size of the unaligned load.
        _mm_shuffle_epi8(unsafe { _mm_loadu_si128(w.as_ptr().cast()) }, swap)
    }

    /// The round constants 4t..4t+4 as one vector.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    unsafe fn k(t: usize) -> __m128i {
        match K.get(4 * t..4 * t + 4) {
            Some(&[a, b, c, d]) => _mm_set_epi32(d as i32, c as i32, b as i32, a as i32),
            _ => _mm_setzero_si128(),
        }
    }

    /// Runs the 64 rounds of every block of `x` on lane `p` and of `y` on lane `q`
    /// (`x` and `y` are the same length, a multiple of 64), interleaved. Written out in
    /// full (macros), so that the message words stay in registers.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    unsafe fn blocks(p: &mut Lane, q: &mut Lane, x: &[u8], y: &[u8]) {
        // Four rounds of each lane: message words plus constants, two rounds an instruction.
        macro_rules! rounds {
            ($t:expr, $wp:expr, $wq:expr) => {{
                let (kt, lp, lq) = (k($t), &mut *p, &mut *q);
                let (a, b) = (_mm_add_epi32($wp, kt), _mm_add_epi32($wq, kt));
                lp.1 = _mm_sha256rnds2_epu32(lp.1, lp.0, a);
                lq.1 = _mm_sha256rnds2_epu32(lq.1, lq.0, b);
                lp.0 = _mm_sha256rnds2_epu32(lp.0, lp.1, _mm_shuffle_epi32(a, 0x0e));
                lq.0 = _mm_sha256rnds2_epu32(lq.0, lq.1, _mm_shuffle_epi32(b, 0x0e));
            }};
        }
        // Words 4t..4t+4 into `$w4` (which held those of t-4) from those of t-3, t-2, t-1.
        macro_rules! schedule {
            ($w4:ident, $w3:ident, $w2:ident, $w1:ident) => {{
                let s = _mm_add_epi32(_mm_sha256msg1_epu32($w4, $w3), _mm_alignr_epi8($w1, $w2, 4));
                $w4 = _mm_sha256msg2_epu32(s, $w1);
            }};
        }
        // Rounds 4t..4t+4 of both lanes, their words scheduled first.
        macro_rules! group {
            ($t:expr, [$a:ident $b:ident $c:ident $d:ident], [$e:ident $f:ident $g:ident $h:ident]) => {{
                schedule!($a, $b, $c, $d);
                schedule!($e, $f, $g, $h);
                rounds!($t, $a, $e);
            }};
        }
        for (bx, by) in x.chunks_exact(64).zip(y.chunks_exact(64)) {
            let (p0, q0) = (*p, *q);
            let (mut a0, mut a1, mut a2, mut a3) =
                (words(bx, 0), words(bx, 1), words(bx, 2), words(bx, 3));
            let (mut b0, mut b1, mut b2, mut b3) =
                (words(by, 0), words(by, 1), words(by, 2), words(by, 3));
            rounds!(0, a0, b0);
            rounds!(1, a1, b1);
            rounds!(2, a2, b2);
            rounds!(3, a3, b3);
            group!(4, [a0 a1 a2 a3], [b0 b1 b2 b3]);
            group!(5, [a1 a2 a3 a0], [b1 b2 b3 b0]);
            group!(6, [a2 a3 a0 a1], [b2 b3 b0 b1]);
            group!(7, [a3 a0 a1 a2], [b3 b0 b1 b2]);
            group!(8, [a0 a1 a2 a3], [b0 b1 b2 b3]);
            group!(9, [a1 a2 a3 a0], [b1 b2 b3 b0]);
            group!(10, [a2 a3 a0 a1], [b2 b3 b0 b1]);
            group!(11, [a3 a0 a1 a2], [b3 b0 b1 b2]);
            group!(12, [a0 a1 a2 a3], [b0 b1 b2 b3]);
            group!(13, [a1 a2 a3 a0], [b1 b2 b3 b0]);
            group!(14, [a2 a3 a0 a1], [b2 b3 b0 b1]);
            group!(15, [a3 a0 a1 a2], [b3 b0 b1 b2]);
            *p = Lane(_mm_add_epi32(p.0, p0.0), _mm_add_epi32(p.1, p0.1));
            *q = Lane(_mm_add_epi32(q.0, q0.0), _mm_add_epi32(q.1, q0.1));
        }
    }

    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn two(a: &[u8], b: &[u8]) -> (Sha256Hash, Sha256Hash) {
        let (pa, pb) = (Padded::new(a), Padded::new(b));
        let (mut la, mut lb) = (load(&H0), load(&H0));
        // Once one message is done, the other's blocks run alone with a copy of them in the
        // second lane, thrown away: one routine serves both cases, and the copy runs mostly
        // in the first lane's shadow (measured at 0.75-0.98 times the speed of `sha2` alone;
        // the two files of a pair are of about one size, so this is a short remainder).
        let mut scratch = la;
        pairs(&pa, &pb, |x, y, lanes| match lanes {
            Lanes::Both => blocks(&mut la, &mut lb, x, y),
            Lanes::A => blocks(&mut la, &mut scratch, x, y),
            Lanes::B => blocks(&mut lb, &mut scratch, x, y),
        });
        (store(la), store(lb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_at_once_are_each_its_own_sha256() {
        // Every length around the padding's edges (55, 56, 63, 64, ...), in pairs of
        // unequal lengths both ways, and long ones.
        let data: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let lens: Vec<usize> = (0..200)
            .chain([255, 256, 257, 1000, 4096, 4097, 19_999, 20_000])
            .collect();
        for &la in &lens {
            for &lb in &[0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 20_000] {
                let (a, b) = (&data[..la], &data[data.len() - lb..]);
                let (ha, hb) = sha256_two(a, b);
                assert_eq!(ha, Sha256Hash::of(a), "a: {la}, b: {lb}");
                assert_eq!(hb, Sha256Hash::of(b), "a: {la}, b: {lb}");
                let (hb2, ha2) = sha256_two(b, a);
                assert_eq!((ha2, hb2), (ha, hb), "swapped: {la}, {lb}");
            }
        }
    }
}
