//! GPT-2's byte-level alphabet: a bijection between the 256 byte values and 256 printable
//! Unicode characters, so that every byte sequence is spelled by visible characters.
//!
//! Bytes `'!'..='~'`, `0xA1..=0xAC` and `0xAE..=0xFF` map to the code point of the same value;
//! the other 68 bytes, in increasing order, map to `U+0100`, `U+0101`, ... (so the space `0x20`
//! becomes `'Ġ'` U+0120 and the newline `0x0A` becomes `'Ċ'` U+010A). Vocabulary and merge
//! strings in a GGUF `gpt2` tokenizer are written in this alphabet.

use alloc::vec::Vec;

/// Whether byte `b` maps to the code point of the same value.
fn is_printable(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The character that spells byte `b`.
pub fn byte_to_char(b: u8) -> char {
    if is_printable(b) {
        return char::from(b);
    }
    let rank = (0..b).filter(|&x| !is_printable(x)).count() as u32;
    // 0x100 + rank < 0x144 is always a valid scalar value.
    char::from_u32(0x100 + rank).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Precomputed inverse of [`byte_to_char`] for the code points `0..0x144`.
pub struct ByteDecoder {
    table: [u16; 0x144],
}

impl ByteDecoder {
    /// Build the inverse table.
    pub fn new() -> ByteDecoder {
        let mut table = [u16::MAX; 0x144];
        for b in 0..=255u8 {
            table[byte_to_char(b) as usize] = b as u16;
        }
        ByteDecoder { table }
    }

    /// Append the bytes spelled by `s` to `out`; if a character of `s` is not in the alphabet,
    /// leave `out` as it was and return false.
    pub fn decode_into(&self, s: &str, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        for c in s.chars() {
            match self.byte(c) {
                Some(b) => out.push(b),
                None => {
                    out.truncate(start);
                    return false;
                }
            }
        }
        true
    }

    /// The byte spelled by `c`, or `None` if `c` is not in the alphabet.
    pub fn byte(&self, c: char) -> Option<u8> {
        match self.table.get(c as usize) {
            Some(&v) if v != u16::MAX => Some(v as u8),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bijection() {
        let d = ByteDecoder::new();
        let mut seen = [false; 0x144];
        for b in 0..=255u8 {
            let c = byte_to_char(b);
            assert!((c as u32) < 0x144);
            assert!(!seen[c as usize], "{c:?} spelled twice");
            seen[c as usize] = true;
            assert_eq!(d.byte(c), Some(b));
        }
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(b'a'), 'a');
        assert_eq!(byte_to_char(0xAD), 'Ń');
        assert_eq!(d.byte(' '), None);
        assert_eq!(d.byte('中'), None);
        let mut out = alloc::vec![1];
        assert!(d.decode_into("ĠhiĊ", &mut out));
        assert_eq!(out, b"\x01 hi\n");
        assert!(!d.decode_into("a b", &mut out));
        assert_eq!(out, b"\x01 hi\n");
    }
}
