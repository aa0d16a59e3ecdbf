//! A validating, non-recursive JSON scanner specialised to CloudTrail's
//! `{"Records":[{...},...]}`: it pulls the handful of record fields the counts need and
//! steps over everything else, checking it all the same.
//!
//! Why not serde: serde_json builds every record only to drop most of it, and sonic-rs
//! (faster at skipping) skips nested values by recursion without a depth limit, so 200,000
//! `[` in an ignored field overflow the stack. Here nesting is a heap stack of one byte a
//! level: any depth is merely an error or a long walk, never a crash.
//!
//! It accepts exactly RFC 8259 JSON in UTF-8 (the whole text is checked, including values
//! it ignores), with serde's typing for the fields it reads: a string field is a string or
//! null, `managementEvent` a bool or null, a field given twice is an error, `Records` is
//! required, and keys are compared after unescaping. Stricter than serde_json in two
//! corners that are not CloudTrail either way: a record (or the document) written as a
//! JSON array instead of an object, and invalid UTF-8 inside an ignored string.
//!
//! Speed: a string's end comes from a bit mask of the 64-byte block it lies in, computed
//! once for the block; nested values not read are stepped over a block at a time by
//! `skim.rs`, which leaves anything but compact JSON without escapes to this scanner.

mod skim;

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
pub(super) fn parse_records<'a>(bytes: &'a [u8], mut each: impl FnMut(Record<'a>)) -> Result<()> {
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
    /// `string_stops` of the 64-byte block at `block_at` (blocks lie at multiples of 64
    /// from the text's start), kept: a record's strings are short, several to a block,
    /// and each takes its end from this mask.
    block_at: usize,
    block_stops: u64,
}

/// Bit `i` set where byte `i` of the block ends a run of plain string content: `"`, `\\`
/// or a control character.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn string_stops(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut mask = 0u64;
    for (n, sixteen) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of x86_64 itself (no CPU check needed), and
        // `chunks_exact` gives exactly 16 readable bytes to load.
        let bits = unsafe {
            let v = _mm_loadu_si128(sixteen.as_ptr().cast());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // v <= 0x1f, unsigned: min(v, 0x1f) == v.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u16
        };
        mask |= u64::from(bits) << (16 * n);
    }
    mask
}

/// Portable version of the above (SWAR on 64-bit words), the one other targets use.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn string_stops_swar(block: &[u8; 64]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The high bit of each byte of `x` that is zero, exactly (`x & LOW7` plus LOW7 cannot
    // carry into the next byte).
    let zero = |x: u64| !(((x & LOW7) + LOW7) | x) & !LOW7;
    let mut mask = 0u64;
    for (n, word) in block.chunks_exact(8).enumerate() {
        let w = <[u8; 8]>::try_from(word).map_or(0, u64::from_le_bytes);
        let high = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            // Below 0x20: no bit of 0xe0 set.
            | zero(w & (ONES * 0xe0));
        // Gather the eight high bits (bit 8j+7 for byte j) into bits j of the top byte.
        mask |= (high.wrapping_mul(0x0002_0408_1020_4081) >> 56) << (8 * n);
    }
    mask
}

#[cfg(not(target_arch = "x86_64"))]
use string_stops_swar as string_stops;

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            b: text.as_bytes(),
            pos: 0,
            stack: Vec::new(),
            block_at: usize::MAX,
            block_stops: 0,
        }
    }

    /// The string stops at and after `i` in its block, as bits from bit 0 for `i`.
    #[inline(always)]
    fn stops_from(&mut self, i: usize) -> u64 {
        let base = i & !63;
        if base != self.block_at {
            self.block_at = base;
            self.block_stops = match self.b.get(base..base + 64) {
                Some(full) => <&[u8; 64]>::try_from(full).map_or(u64::MAX, string_stops),
                None => {
                    // Past the text's end, zeros: control bytes, so stops, where
                    // `string_end` finds no byte and reports the end of the text.
                    let mut padded = [0u8; 64];
                    let tail = self.b.get(base..).unwrap_or_default();
                    if let Some(head) = padded.get_mut(..tail.len()) {
                        head.copy_from_slice(tail);
                    }
                    string_stops(&padded)
                }
            };
        }
        self.block_stops >> (i - base)
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
            // Through plain content to the next stop, a block's mask at a time.
            loop {
                let stops = self.stops_from(i);
                if stops != 0 {
                    i += stops.trailing_zeros() as usize;
                    break;
                }
                i = (i | 63) + 1;
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
        #[cfg(target_arch = "x86_64")]
        if matches!(self.peek(), Some(b'{' | b'[')) {
            let text = self.text;
            let scalar = |at: usize| {
                let mut s = Scanner::new(text);
                s.pos = at;
                let checked = match s.peek() {
                    Some(b't') => s.literal(b"true"),
                    Some(b'f') => s.literal(b"false"),
                    Some(b'n') => s.literal(b"null"),
                    Some(b'-' | b'0'..=b'9') => s.number(),
                    _ => return None,
                };
                checked.ok().map(|()| s.pos)
            };
            if let Some(end) = skim::container(self.b, self.pos, scalar) {
                self.pos = end;
                return Ok(());
            }
        }
        self.skip_value_exactly()
    }

    /// `skip_value` one byte at a time: the reference, and the way for what `skim` leaves.
    fn skip_value_exactly(&mut self) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A random JSON value, mostly in CloudTrail's compact shape, sometimes not.
    fn value(out: &mut Vec<u8>, depth: u32, rand: &mut impl FnMut(usize) -> usize) {
        const WORDS: [&[u8]; 8] = [
            b"true",
            b"false",
            b"null",
            b"0",
            b"-12.5e+3",
            b"1234567",
            b"3.25",
            b"-0",
        ];
        let pick = if depth > 5 { rand(3) } else { rand(8) };
        match pick {
            0 => out.extend_from_slice(WORDS[rand(WORDS.len())]),
            1 | 2 => {
                out.push(b'"');
                for _ in 0..[0, 3, 20, 70, 140][rand(5)] {
                    out.push(b"abcdefghij:,{}[] /\xc3\xa9"[rand(18)]);
                }
                // A stray é's second byte is fixed up below; keep UTF-8 valid.
                if out.last().is_some_and(|&c| c == 0xc3) {
                    out.push(0xa9);
                }
                if rand(20) == 0 {
                    out.extend_from_slice(b"\\\"q\\u00e9");
                }
                out.push(b'"');
            }
            3..=5 => {
                out.push(b'{');
                for n in 0..rand(6) {
                    if n > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(format!("\"k{}\"", rand(100)).as_bytes());
                    out.extend_from_slice(if rand(30) == 0 { b" : " } else { b":" });
                    value(out, depth + 1, rand);
                }
                out.push(b'}');
            }
            _ => {
                out.push(b'[');
                for n in 0..rand(5) {
                    if n > 0 {
                        out.push(b',');
                    }
                    value(out, depth + 1, rand);
                }
                out.push(b']');
            }
        }
    }

    fn outcome(s: &mut Scanner<'_>, exact: bool) -> std::result::Result<usize, String> {
        let r = if exact {
            s.skip_value_exactly()
        } else {
            s.skip_value()
        };
        r.map(|()| s.pos).map_err(|e| e.to_string())
    }

    #[test]
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut, unused_variables))]
    fn skims_exactly_as_the_scanner_steps() {
        let mut rand = crate::logfile::xorshift(0x9e37_79b9_7f4a_7c15);
        const ALPHABET: &[u8] = b"{}[]\":,0123456789-+.eEtfnrul\\/abx \n\t\x01";
        let (mut skimmed, mut compared) = (0, 0);
        for round in 0..40_000 {
            let mut doc = Vec::new();
            // Some context before, so that blocks start at every offset.
            doc.extend(std::iter::repeat_n(b'x', rand(70)));
            let start = doc.len();
            value(&mut doc, 0, &mut rand);
            doc.extend_from_slice([&b",\"z\":1}"[..], b"]", b"", b"}  "][rand(4)]);
            if round % 2 == 1 {
                for _ in 0..1 + rand(3) {
                    if doc.len() <= start {
                        break;
                    }
                    let at = start + rand(doc.len() - start);
                    match rand(3) {
                        0 => doc[at] = ALPHABET[rand(ALPHABET.len())],
                        1 => {
                            doc.remove(at);
                        }
                        _ => doc.insert(at, ALPHABET[rand(ALPHABET.len())]),
                    }
                }
            }
            let Ok(text) = std::str::from_utf8(&doc) else {
                continue;
            };
            let at_start = |text| {
                let mut s = Scanner::new(text);
                s.pos = start;
                s
            };
            let fast = outcome(&mut at_start(text), false);
            let exact = outcome(&mut at_start(text), true);
            assert_eq!(fast, exact, "{text:?} from {start}");
            compared += 1;
            #[cfg(target_arch = "x86_64")]
            if skim::container(&doc, start, |_| None).is_some() {
                skimmed += 1;
            }
        }
        // The fast path did take a good share (values without scalars, above).
        assert!(compared > 30_000, "{compared}");
        #[cfg(target_arch = "x86_64")]
        assert!(skimmed > 5_000, "{skimmed}");
    }

    #[test]
    fn deep_nesting_is_left_to_the_exact_scanner() {
        for depth in [63, 64, 65, 200] {
            for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                let inner = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                for text in [
                    format!("{inner},"),
                    format!("{inner}]"),
                    inner.replace('1', ""),
                ] {
                    let run = |exact| outcome(&mut Scanner::new(&text), exact);
                    assert_eq!(run(false), run(true), "{depth} {text}");
                }
                // Up to 64 open containers are tracked; deeper is the exact scanner's.
                #[cfg(target_arch = "x86_64")]
                {
                    let good = format!("{inner},");
                    let skimmed = skim::container(good.as_bytes(), 0, |at| Some(at + 1));
                    assert_eq!(skimmed.is_some(), depth <= 64, "{depth} {open}");
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn portable_string_stops_agree_with_sse2() {
        let mut rand = crate::logfile::xorshift(0x1234_5678_9abc_def1);
        // Mostly the bytes that matter and their neighbours.
        const BYTES: &[u8] = b"\"\\\x00\x1f\x20a\x7f\x80\xe0\xff!#[]";
        let mut block = [0u8; 64];
        for _ in 0..20_000 {
            for b in block.iter_mut() {
                *b = BYTES[rand(BYTES.len())];
            }
            assert_eq!(string_stops_swar(&block), string_stops(&block), "{block:?}");
        }
    }
}
