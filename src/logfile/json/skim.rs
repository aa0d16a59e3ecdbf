//! The fast way over a nested value (an object or array) the scanner does not read, such
//! as `userIdentity` (half of a typical record's bytes) or `requestParameters`.
//!
//! It looks at 64 bytes at a time: SIMD compares turn them into bit masks (quotes,
//! brackets, `:` and `,`, backslashes, control bytes, spaces), the bytes inside strings
//! are the prefix-XOR of the quote mask (exact when there is no backslash), and the
//! grammar is checked over the tokens alone: structural bytes outside strings, opening
//! quotes and the first byte of each number or literal. A string costs no work of its own
//! however long it is, and no branch guesses where it ends.
//!
//! It takes only the common shape, compact JSON without escapes, and answers `None` for
//! anything else (a backslash, whitespace or a control byte before the value ends, a
//! grammar error, the end of the text): the exact scanner then starts over at the same
//! place and decides, and words any error. So the result is always the exact scanner's;
//! `skims_exactly_as_the_scanner_steps` in the tests checks that on mutated documents.
//!
//! x86-64 only (SSE2 is part of it): for other targets no SIMD classification is written
//! yet, and the exact scanner does all the work there.
#![cfg(target_arch = "x86_64")]

/// One 64-byte block's classes, bit `i` for byte `i`.
#[derive(Default)]
struct Masks {
    quote: u64,
    /// Bytes that end the fast path if they come before the value's end, wherever they
    /// are: `\` (strings are then not the prefix-XOR of quotes) and bytes below 0x20
    /// (an error inside a string, whitespace outside one).
    stop: u64,
    space: u64,
    /// `{`, `}`, `[`, `]`, `:` and `,`.
    structural: u64,
}

#[inline(always)]
fn classify(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut m = Masks::default();
    for (n, sixteen) in block.chunks_exact(16).enumerate() {
        let shift = 16 * n;
        // SAFETY: SSE2 is part of x86_64 itself (no CPU check needed), and
        // `chunks_exact` gives exactly 16 readable bytes to load.
        unsafe {
            let v = _mm_loadu_si128(sixteen.as_ptr().cast());
            let bits = |x| u64::from(_mm_movemask_epi8(x) as u16) << shift;
            let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            // `{` and `[` differ only in bit 0x20, as do `}` and `]`.
            let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let brackets = _mm_or_si128(
                _mm_cmpeq_epi8(folded, _mm_set1_epi8(b'{' as i8)),
                _mm_cmpeq_epi8(folded, _mm_set1_epi8(b'}' as i8)),
            );
            let punctuation = _mm_or_si128(eq(b':'), eq(b','));
            // v <= 0x1f, unsigned: min(v, 0x1f) == v.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            m.quote |= bits(eq(b'"'));
            m.stop |= bits(_mm_or_si128(eq(b'\\'), control));
            m.space |= bits(eq(b' '));
            m.structural |= bits(_mm_or_si128(brackets, punctuation));
        }
    }
    m
}

/// Bit `i` is the XOR of bits `0..=i`: with `x` the quotes, set on an opening quote and
/// the string's content, clear on its closing quote.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// A token's class: the byte that starts it.
const QUOTE: u8 = 0;
const COLON: u8 = 1;
const COMMA: u8 = 2;
const OPEN_OBJECT: u8 = 3;
const OPEN_ARRAY: u8 = 4;
const CLOSE_OBJECT: u8 = 5;
const CLOSE_ARRAY: u8 = 6;
/// The first byte of a number or literal (anything else outside strings).
const SCALAR: u8 = 7;

const CLASS: [u8; 256] = {
    let mut t = [SCALAR; 256];
    t[b'"' as usize] = QUOTE;
    t[b':' as usize] = COLON;
    t[b',' as usize] = COMMA;
    t[b'{' as usize] = OPEN_OBJECT;
    t[b'[' as usize] = OPEN_ARRAY;
    t[b'}' as usize] = CLOSE_OBJECT;
    t[b']' as usize] = CLOSE_ARRAY;
    t
};

// What the next token may be; `_O`/`_A`: inside an object / an array.
/// A value (after `:`).
const VALUE_O: u8 = 0;
/// A value (after `,` in an array, and at the start).
const VALUE_A: u8 = 1;
/// A value or `]` (after `[`).
const VALUE_OR_CLOSE: u8 = 2;
/// A key or `}` (after `{`).
const KEY_OR_CLOSE: u8 = 3;
/// A key (after `,` in an object).
const KEY: u8 = 4;
/// `:` (after a key).
const COLON_NEXT: u8 = 5;
/// `,` or `}` (after a value in an object).
const NEXT_O: u8 = 6;
/// `,` or `]` (after a value in an array).
const NEXT_A: u8 = 7;

// The few transitions that need more than a new state.
const PLAIN: u8 = 0;
const PUSH: u8 = 1;
const POP: u8 = 2;
const CHECK_SCALAR: u8 = 3;
const INVALID: u8 = 4;

/// `STEP[state * 8 + class]`: the next state (low 4 bits), and what else the token needs
/// (high 4 bits). After a `POP` the state comes from the container below (set by the
/// code, not the table).
const STEP: [u8; 64] = {
    // Built in a const block, where `as usize` is the only conversion (all below 64).
    let mut t = [INVALID << 4; 64];
    let mut state = 0;
    while state < 8 {
        let value = state == VALUE_O || state == VALUE_A || state == VALUE_OR_CLOSE;
        let after_value = if state == VALUE_O { NEXT_O } else { NEXT_A };
        if value {
            t[(state * 8 + QUOTE) as usize] = (PLAIN << 4) | after_value;
            t[(state * 8 + SCALAR) as usize] = (CHECK_SCALAR << 4) | after_value;
            t[(state * 8 + OPEN_OBJECT) as usize] = (PUSH << 4) | KEY_OR_CLOSE;
            t[(state * 8 + OPEN_ARRAY) as usize] = (PUSH << 4) | VALUE_OR_CLOSE;
        }
        if state == KEY_OR_CLOSE || state == KEY {
            t[(state * 8 + QUOTE) as usize] = (PLAIN << 4) | COLON_NEXT;
        }
        if state == COLON_NEXT {
            t[(state * 8 + COLON) as usize] = (PLAIN << 4) | VALUE_O;
        }
        if state == NEXT_O {
            t[(state * 8 + COMMA) as usize] = (PLAIN << 4) | KEY;
        }
        if state == NEXT_A {
            t[(state * 8 + COMMA) as usize] = (PLAIN << 4) | VALUE_A;
        }
        if state == KEY_OR_CLOSE || state == NEXT_O {
            t[(state * 8 + CLOSE_OBJECT) as usize] = POP << 4;
        }
        if state == VALUE_OR_CLOSE || state == NEXT_A {
            t[(state * 8 + CLOSE_ARRAY) as usize] = POP << 4;
        }
        state += 1;
    }
    t
};

/// `STEP` by byte, one word per byte: byte `s` of `ROW[c]` is what the token `c` does in
/// state `s`, as the next state times 8 (bits 3-5) and the action (bits 0-2). The word
/// is loaded before the state is known, and the next state is a shift of it: on the
/// chain from one token to the next there is a shift, not a load's latency.
const ROW: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut c = 0;
    while c < 256 {
        let mut state = 0;
        while state < 8 {
            let step = STEP[(state * 8 + CLASS[c]) as usize];
            let entry = ((step & 0x0f) << 3) | (step >> 4);
            t[c] |= (entry as u64) << (state * 8);
            state += 1;
        }
        c += 1;
    }
    t
};

/// Step over the object or array starting at `b[start]` (which is `{` or `[`): the
/// position just past its closing bracket, or `None` where the exact scanner must decide.
/// `scalar(at)` checks a number or literal starting at `at` and says where it ends.
///
/// Tokens go through a table (`ROW`) rather than a `match` on (state, byte): one load
/// per token, and a branch only for the few tokens that open or close a container or
/// start a number. Open containers are bits of a word (1 for an object); deeper than 64
/// is left to the exact scanner.
#[inline(never)]
pub(super) fn container(
    b: &[u8],
    start: usize,
    mut scalar: impl FnMut(usize) -> Option<usize>,
) -> Option<usize> {
    if !matches!(b.get(start), Some(b'{' | b'[')) {
        return None;
    }
    // The state times 8: the shift that picks its byte out of a `ROW` word.
    let mut s8 = u64::from(VALUE_A) * 8;
    let (mut open, mut depth) = (0u64, 0u32);
    let mut base = start;
    // All ones while the previous block ended inside a string.
    let mut in_string = 0u64;
    // 1 while the previous block ended inside a number or literal.
    let mut in_scalar = 0u64;
    loop {
        let mut padded = [b' '; 64];
        let (block, len) = match b.get(base..base + 64) {
            Some(full) => (<&[u8; 64]>::try_from(full).ok()?, 64),
            None => {
                // The text's last bytes, padded with spaces: a space outside a string is
                // a stop, and the end of the text is the exact scanner's to report.
                let tail = b.get(base..)?;
                padded.get_mut(..tail.len())?.copy_from_slice(tail);
                (&padded, tail.len())
            }
        };
        let m = classify(block);
        let inside = prefix_xor(m.quote) ^ in_string;
        let outside = !inside;
        let stop = m.stop | (m.space & outside);
        let scalar_bytes = outside & !m.quote & !m.structural & !m.space & !m.stop;
        let scalar_starts = scalar_bytes & !((scalar_bytes << 1) | in_scalar);
        let mut tokens = (m.quote & inside) | (m.structural & outside) | scalar_starts;
        while tokens != 0 {
            let i = tokens.trailing_zeros() as usize;
            tokens &= tokens - 1;
            let c = *block.get(i)?;
            let entry = ROW[usize::from(c)] >> (s8 & 63);
            s8 = entry & 0x38;
            let action = (entry & 7) as u8;
            if action == PLAIN {
                continue;
            }
            match action {
                PUSH => {
                    if depth == 64 {
                        return None;
                    }
                    open = (open & !(1 << depth)) | (u64::from(c == b'{') << depth);
                    depth += 1;
                }
                POP => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        // The value ends here: no stop may come before it.
                        let upto = u64::MAX >> (63 - i);
                        return (stop & upto == 0).then_some(base + i + 1);
                    }
                    s8 = u64::from(if open >> (depth - 1) & 1 == 1 {
                        NEXT_O
                    } else {
                        NEXT_A
                    }) * 8;
                }
                CHECK_SCALAR => {
                    // The exact scanner's own check. What follows must be a token, so
                    // that the number or literal is exactly the run that made this one
                    // token (its other bytes make none).
                    let end = scalar(base + i)?;
                    if !matches!(b.get(end), Some(b',' | b'}' | b']')) {
                        return None;
                    }
                }
                _ => return None,
            }
        }
        if stop != 0 || len < 64 {
            return None;
        }
        in_string = 0u64.wrapping_sub(inside >> 63);
        in_scalar = scalar_bytes >> 63;
        base += 64;
    }
}
