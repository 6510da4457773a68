//! Pre-tokenizers: split text into the pieces ("words") that BPE merges never cross.
//!
//! Each variant implements, by hand, the regex llama.cpp (`llama-vocab.cpp`) uses for the GGUF
//! `tokenizer.ggml.pre` value of the same name. A regex split keeps every match as a piece, scans
//! leftmost-first (the first alternative that matches at the leftmost position wins, with
//! backtracking inside it), and a lookahead such as `(?!\S)` sees only the current piece: when
//! several regexes are applied in turn, each one runs on the pieces the previous one produced.
//!
//! * `gpt2`:   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
//!   (text no alternative matches, which can only be one whitespace character before a
//!   non-space, becomes its own piece; that is what a trailing `|\s+` alternative gives).
//! * `smollm`: first `\p{N}` (every digit its own piece), then the `gpt2` regex.
//! * `qwen2`:  `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|
//!   \p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.

use super::unicode_tables::{LETTER, NUMBER, WHITE_SPACE};
use alloc::vec::Vec;

/// Which pre-tokenizer regex to apply (the GGUF `tokenizer.ggml.pre` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizer {
    /// GPT-2's original regex.
    Gpt2,
    /// SmolLM / StarCoder: single digits, then the GPT-2 regex.
    SmolLm,
    /// Qwen2: case-insensitive contractions, single digits, newline-aware whitespace.
    Qwen2,
}

impl PreTokenizer {
    /// The pre-tokenizer for a `tokenizer.ggml.pre` name, if implemented.
    pub fn from_name(name: &str) -> Option<PreTokenizer> {
        match name {
            "gpt2" => Some(PreTokenizer::Gpt2),
            "smollm" => Some(PreTokenizer::SmolLm),
            "qwen2" => Some(PreTokenizer::Qwen2),
            _ => None,
        }
    }

    /// Split `text` into pieces; appends their byte ranges `(start, end)` to `out`, in order
    /// and covering all of `text`.
    pub fn split(self, text: &str, out: &mut Vec<(usize, usize)>) {
        let mut chars = Chars::default();
        chars.load(text);
        let n = chars.cls.len();
        match self {
            PreTokenizer::Gpt2 => chars.split_range(0, n, gpt2_match, out),
            PreTokenizer::Qwen2 => chars.split_range(0, n, qwen2_match, out),
            PreTokenizer::SmolLm => {
                // First regex `\p{N}`: each number character alone, the text between them whole.
                let mut start = 0;
                for i in 0..n {
                    if chars.cls[i] == Class::Number {
                        chars.split_range(start, i, gpt2_match, out);
                        chars.split_range(i, i + 1, gpt2_match, out);
                        start = i + 1;
                    }
                }
                chars.split_range(start, n, gpt2_match, out);
            }
        }
    }
}

/// The character classes the regexes distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// `\p{L}`
    Letter,
    /// `\p{N}`
    Number,
    /// `\s`
    Space,
    /// Everything else: `[^\s\p{L}\p{N}]`.
    Other,
}

fn in_table(table: &[(u32, u32)], cp: u32) -> bool {
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                core::cmp::Ordering::Less
            } else if lo > cp {
                core::cmp::Ordering::Greater
            } else {
                core::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The class of `c`, from the generated Unicode tables (ASCII by a fast path).
pub(crate) fn class_of(c: char) -> Class {
    if c.is_ascii() {
        return match c {
            'a'..='z' | 'A'..='Z' => Class::Letter,
            '0'..='9' => Class::Number,
            '\t' | '\n' | '\x0B' | '\x0C' | '\r' | ' ' => Class::Space,
            _ => Class::Other,
        };
    }
    let cp = c as u32;
    if in_table(&LETTER, cp) {
        Class::Letter
    } else if in_table(&NUMBER, cp) {
        Class::Number
    } else if in_table(&WHITE_SPACE, cp) {
        Class::Space
    } else {
        Class::Other
    }
}

/// The decoded characters of a text, with their classes and byte offsets.
#[derive(Default)]
struct Chars {
    chars: Vec<char>,
    cls: Vec<Class>,
    /// Byte offset of each character, plus one final entry: the text length.
    offs: Vec<usize>,
}

/// A matcher: the end (character index, `> i`) of the regex match starting at `i`, where the
/// current piece ends at `n`.
type Matcher = fn(&Chars, usize, usize) -> usize;

impl Chars {
    fn load(&mut self, text: &str) {
        for (off, c) in text.char_indices() {
            self.chars.push(c);
            self.cls.push(class_of(c));
            self.offs.push(off);
        }
        self.offs.push(text.len());
    }

    /// Apply `matcher` repeatedly over characters `[start, end)`.
    fn split_range(&self, start: usize, end: usize, m: Matcher, out: &mut Vec<(usize, usize)>) {
        let mut i = start;
        while i < end {
            let j = m(self, i, end);
            debug_assert!(j > i && j <= end);
            out.push((self.offs[i], self.offs[j]));
            i = j;
        }
    }

    fn is(&self, i: usize, n: usize, c: Class) -> bool {
        i < n && self.cls[i] == c
    }

    /// End of the maximal run of class `c` starting at `i`.
    fn run(&self, mut i: usize, n: usize, c: Class) -> usize {
        while self.is(i, n, c) {
            i += 1;
        }
        i
    }

    /// Whether characters from `i` spell `lit`, with case folding of ASCII when `fold`.
    fn lit(&self, i: usize, n: usize, lit: &str, fold: bool) -> bool {
        i + lit.len() <= n
            && lit
                .chars()
                .zip(&self.chars[i..])
                .all(|(l, &c)| c == l || (fold && c.to_ascii_lowercase() == l))
    }

    /// The contraction alternatives `'s|'t|'re|'ve|'m|'ll|'d` (ASCII case-insensitive when
    /// `fold`): the match end, if one matches at `i`.
    fn contraction(&self, i: usize, n: usize, fold: bool) -> Option<usize> {
        if self.chars[i] != '\'' {
            return None;
        }
        for suffix in ["s", "t", "re", "ve", "m", "ll", "d"] {
            if self.lit(i + 1, n, suffix, fold) {
                return Some(i + 1 + suffix.len());
            }
        }
        None
    }

    /// ` ?X+` for class `X`: an optional single space (taken only if `X+` follows it).
    fn space_opt_run(&self, i: usize, n: usize, c: Class) -> Option<usize> {
        let j = if self.chars[i] == ' ' && self.is(i + 1, n, c) {
            i + 1
        } else {
            i
        };
        self.is(j, n, c).then(|| self.run(j, n, c))
    }

    /// `\s+(?!\S)|\s+` at a whitespace character `i`: the whole whitespace run if it reaches
    /// the end of the piece or is one character long, else the run without its last character
    /// (which the next match takes with the non-space after it).
    fn trailing_space(&self, i: usize, n: usize) -> usize {
        let e = self.run(i, n, Class::Space);
        if e == n || e - i == 1 {
            e
        } else {
            e - 1
        }
    }
}

fn gpt2_match(s: &Chars, i: usize, n: usize) -> usize {
    if let Some(e) = s.contraction(i, n, false) {
        return e;
    }
    for c in [Class::Letter, Class::Number, Class::Other] {
        if let Some(e) = s.space_opt_run(i, n, c) {
            return e;
        }
    }
    // Only whitespace is left.
    s.trailing_space(i, n)
}

fn is_crlf(c: char) -> bool {
    c == '\r' || c == '\n'
}

fn qwen2_match(s: &Chars, i: usize, n: usize) -> usize {
    if let Some(e) = s.contraction(i, n, true) {
        return e;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    let c0 = s.cls[i];
    if c0 != Class::Letter
        && c0 != Class::Number
        && !is_crlf(s.chars[i])
        && s.is(i + 1, n, Class::Letter)
    {
        return s.run(i + 1, n, Class::Letter);
    }
    match c0 {
        Class::Letter => return s.run(i, n, Class::Letter),
        // \p{N}
        Class::Number => return i + 1,
        _ => {}
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    if let Some(mut e) = s.space_opt_run(i, n, Class::Other) {
        while e < n && is_crlf(s.chars[e]) {
            e += 1;
        }
        return e;
    }
    // `\s*[\r\n]+`: up to and including the last CR/LF of the whitespace run.
    let e = s.run(i, n, Class::Space);
    if let Some(k) = (i..e).rev().find(|&k| is_crlf(s.chars[k])) {
        return k + 1;
    }
    s.trailing_space(i, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(p: PreTokenizer, text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        p.split(text, &mut out);
        out.iter().map(|&(a, b)| &text[a..b]).collect()
    }

    proptest::proptest! {
        /// Pieces are non-empty, in order, and cover the text exactly, for any text.
        #[test]
        fn pieces_cover_text(text in "\\PC{0,40}|[ \t\r\n'a-zA-Z0-9.é中😀\u{301}]{0,40}") {
            for p in [PreTokenizer::Gpt2, PreTokenizer::SmolLm, PreTokenizer::Qwen2] {
                let mut out = Vec::new();
                p.split(&text, &mut out);
                let mut at = 0;
                for &(a, b) in &out {
                    proptest::prop_assert!(a == at && b > a);
                    at = b;
                }
                proptest::prop_assert_eq!(at, text.len());
            }
        }
    }

    #[test]
    fn classes() {
        assert_eq!(class_of('é'), Class::Letter);
        assert_eq!(class_of('中'), Class::Letter);
        assert_eq!(class_of('٣'), Class::Number); // Arabic-Indic digit, Nd
        assert_eq!(class_of('½'), Class::Number); // No
        assert_eq!(class_of('\u{3000}'), Class::Space);
        assert_eq!(class_of('\u{85}'), Class::Space);
        assert_eq!(class_of('\u{1C}'), Class::Other); // not White_Space despite str.isspace
        assert_eq!(class_of('\u{301}'), Class::Other); // combining mark
        assert_eq!(class_of('\u{200D}'), Class::Other); // ZWJ
        assert_eq!(class_of('😀'), Class::Other);
    }

    #[test]
    fn gpt2_splits() {
        let p = PreTokenizer::Gpt2;
        assert_eq!(pieces(p, "Hello world"), ["Hello", " world"]);
        assert_eq!(pieces(p, "I'm"), ["I", "'m"]);
        assert_eq!(pieces(p, "I'M"), ["I", "'", "M"]); // contractions are lower-case only
        assert_eq!(pieces(p, "a  b"), ["a", " ", " b"]);
        assert_eq!(pieces(p, "a   "), ["a", "   "]);
        assert_eq!(pieces(p, "x\n\ny"), ["x", "\n", "\n", "y"]);
        assert_eq!(pieces(p, "12345 678"), ["12345", " 678"]);
        assert_eq!(pieces(p, " !!x"), [" !!", "x"]);
        assert_eq!(pieces(p, ""), Vec::<&str>::new());
    }

    #[test]
    fn smollm_splits_digits() {
        let p = PreTokenizer::SmolLm;
        assert_eq!(
            pieces(p, "12345 678"),
            ["1", "2", "3", "4", "5", " ", "6", "7", "8"]
        );
        // The space before a digit ends its piece, so `\s+(?!\S)` sees the piece end.
        assert_eq!(pieces(p, "a  1"), ["a", "  ", "1"]);
        // ` ?` is a literal space only: a tab never joins the word after it.
        assert_eq!(pieces(p, "abc\t\tdef  "), ["abc", "\t", "\t", "def", "  "]);
        assert_eq!(pieces(p, "\tdef"), ["\t", "def"]);
        assert_eq!(pieces(p, "you'll"), ["you", "'ll"]);
    }

    #[test]
    fn qwen2_splits() {
        let p = PreTokenizer::Qwen2;
        assert_eq!(pieces(p, "YOU'LL"), ["YOU", "'LL"]);
        assert_eq!(pieces(p, "x2024"), ["x", "2", "0", "2", "4"]);
        // A leading non-letter, non-digit (space, tab, punctuation) joins the letters after it.
        assert_eq!(pieces(p, "\tfoo(bar)"), ["\tfoo", "(bar", ")"]);
        assert_eq!(pieces(p, "a \n\n  b"), ["a", " \n\n", " ", " b"]);
        assert_eq!(pieces(p, "x;\n\ny"), ["x", ";\n\n", "y"]);
        assert_eq!(pieces(p, "x  \n"), ["x", "  \n"]);
        assert_eq!(pieces(p, "end   "), ["end", "   "]);
        assert_eq!(pieces(p, "a   b"), ["a", "  ", " b"]);
        assert_eq!(pieces(p, "\n\u{301}"), ["\n", "\u{301}"]);
        assert_eq!(pieces(p, "'x"), ["'x"]);
    }
}
