//! SHA-256 values, held as their 32 bytes and shown as lower-case hex.
//!
//! A bundle has one hash per file (manifest) and one per listed log file (digests): as bytes
//! they take a third of the memory hex strings would, and compare without allocating.

use serde::{Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Hash(pub [u8; 32]);

impl Sha256Hash {
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Hash(Sha256::digest(bytes).into())
    }

    /// From 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
            let hi = char::from(*pair.first()?).to_digit(16)?;
            let lo = char::from(*pair.get(1)?).to_digit(16)?;
            *o = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(Sha256Hash(out))
    }

    /// The 64 hex digits, without allocating.
    fn hex_bytes(&self) -> [u8; 64] {
        const H: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (o, x) in out.chunks_exact_mut(2).zip(self.0) {
            if let [a, b] = o {
                *a = H[usize::from(x >> 4)];
                *b = H[usize::from(x & 15)];
            }
        }
        out
    }

    pub fn hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = self.hex_bytes();
        // Hex digits are ASCII.
        f.write_str(std::str::from_utf8(&h).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Sha256Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = self.hex_bytes();
        s.serialize_str(std::str::from_utf8(&h).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_what_is_not_a_sha256() {
        let h = Sha256Hash::of(b"abc");
        let hex = h.hex();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256Hash::from_hex(&hex), Some(h));
        assert_eq!(Sha256Hash::from_hex(&hex.to_uppercase()), Some(h));
        assert_eq!(Sha256Hash::from_hex(&hex[..62]), None);
        assert_eq!(Sha256Hash::from_hex(&format!("{}zz", &hex[..62])), None);
        assert_eq!(Sha256Hash::from_hex(&format!("{}é", &hex[..62])), None);
        assert_eq!(serde_json::to_string(&h).ok(), Some(format!("\"{hex}\"")));
    }
}
