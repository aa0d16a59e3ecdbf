//! SHA-256 values, held as their 32 bytes and shown as lower-case hex.
//!
//! A bundle has one hash per file (manifest) and one per listed log file (digests): as bytes
//! they take a third of the memory hex strings would, and compare without allocating.

mod two;

pub use two::sha256_two;

use serde::{Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use std::fmt;

/// Lower-case hex of any bytes (hashes, key fingerprints).
pub fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(H[usize::from(x >> 4)]));
        s.push(char::from(H[usize::from(x & 15)]));
    }
    s
}

/// Hex text as written (a digest signature: 512 hex digits), held as its bytes when it is
/// plain lower-case hex, as AWS writes it: half the memory, and `text` gives back exactly
/// what was written. Anything else (upper case, spaces, not hex) is kept verbatim, since
/// the data-signing string must use the text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexText {
    Lower(Box<[u8]>),
    Verbatim(Box<str>),
}

impl HexText {
    pub fn new(s: &str) -> HexText {
        let plain = !s.is_empty()
            && s.len() % 2 == 0
            && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        match if plain { unhex(s) } else { None } {
            Some(b) => HexText::Lower(b.into()),
            None => HexText::Verbatim(s.into()),
        }
    }

    /// For a sorted stream (`spill.rs`): as held, so that nothing is turned into text and
    /// back.
    pub(crate) fn encode(v: Option<&HexText>, e: &mut crate::spill::Enc<'_>) {
        match v {
            None => e.u8(0),
            Some(HexText::Lower(b)) => {
                e.u8(1);
                e.bytes(b);
            }
            Some(HexText::Verbatim(s)) => {
                e.u8(2);
                e.str(s);
            }
        }
    }

    pub(crate) fn decode(d: &mut crate::spill::Dec<'_>) -> Option<Option<HexText>> {
        Some(match d.u8()? {
            0 => None,
            1 => Some(HexText::Lower(d.bytes()?.into())),
            2 => Some(HexText::Verbatim(d.str()?.into())),
            _ => return None,
        })
    }

    /// Bytes it holds on the heap.
    pub fn heap_size(&self) -> usize {
        match self {
            HexText::Lower(b) => b.len(),
            HexText::Verbatim(s) => s.len(),
        }
    }

    /// The text as written.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            HexText::Lower(b) => hex(b).into(),
            HexText::Verbatim(s) => std::borrow::Cow::Borrowed(s),
        }
    }

    /// The bytes it encodes (surrounding whitespace ignored, either case); `None` when it
    /// is not hex.
    pub fn bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match self {
            HexText::Lower(b) => Some(std::borrow::Cow::Borrowed(b)),
            HexText::Verbatim(s) => unhex(s).map(std::borrow::Cow::Owned),
        }
    }
}

/// Bytes from hex digits (either case, surrounding whitespace ignored); `None` for anything
/// else.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return None;
    }
    let nib = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| Some((nib(*p.first()?)? << 4) | nib(*p.get(1)?)?))
        .collect()
}

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

    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Sha256Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(
            Sha256Hash::of(b"").hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hex_text_gives_back_exactly_what_was_written() {
        // Plain lower-case hex is kept as bytes; the signing string still gets the text.
        let lower = HexText::new("00abff");
        assert!(matches!(lower, HexText::Lower(_)));
        assert_eq!(lower.text(), "00abff");
        assert_eq!(lower.bytes().as_deref(), Some(&[0x00, 0xab, 0xff][..]));
        // Anything else is kept verbatim: the signature check must see what was written.
        for written in ["00ABFF", " 00abff", "00abf", "zz", ""] {
            let t = HexText::new(written);
            assert!(matches!(t, HexText::Verbatim(_)), "{written:?}");
            assert_eq!(t.text(), written);
        }
        assert_eq!(
            HexText::new("00ABFF").bytes().as_deref(),
            Some(&[0x00, 0xab, 0xff][..])
        );
        assert_eq!(HexText::new("zz").bytes(), None);
    }

    #[test]
    fn hex_text_round_trips_through_a_sorted_stream_as_held() {
        for v in [
            None,
            Some(HexText::new("00abff")),
            Some(HexText::new(" 00ABFF")),
        ] {
            let mut buf = Vec::new();
            HexText::encode(v.as_ref(), &mut crate::spill::Enc(&mut buf));
            let mut d = crate::spill::Dec(&buf);
            assert_eq!(HexText::decode(&mut d), Some(v));
            assert!(d.0.is_empty());
        }
        assert_eq!(HexText::decode(&mut crate::spill::Dec(&[9])), None);
    }

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
