//! One Mandarin syllable: its pinyin letters and its tone, written in pypinyin's `TONE3` style
//! (`zhong1`, `lv4`, `ma5`).
//!
//! Letters are lower-case ASCII, `ü` written `v` as `TONE3` does, plus `ê` (the interjection
//! 欸 `ê̄`). Tones are 1-4 and 5 for the neutral tone (pypinyin's `neutral_tone_with_five`).
//!
//! pypinyin's data files write syllables with tone marks (`zhōng`, `lǜ`, `ḿ`, `m̄`, `ńg`);
//! [`Syllable::from_marked`] reads that form, [`Syllable::from_tone3`] the numbered one.

use core::fmt;

/// The longest letter string a syllable has (`zhuang`, `chuang`, `shuang`).
const MAX_LETTERS: usize = 6;

/// A syllable: up to six bytes of letters and a tone 1-5. `Copy`, compared by value.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Syllable {
    letters: [u8; MAX_LETTERS],
    len: u8,
    tone: u8,
}

/// Tone-marked letters and the (letter, tone) they stand for.
const MARKED: [(char, char, u8); 28] = [
    ('ā', 'a', 1),
    ('á', 'a', 2),
    ('ǎ', 'a', 3),
    ('à', 'a', 4),
    ('ē', 'e', 1),
    ('é', 'e', 2),
    ('ě', 'e', 3),
    ('è', 'e', 4),
    ('ī', 'i', 1),
    ('í', 'i', 2),
    ('ǐ', 'i', 3),
    ('ì', 'i', 4),
    ('ō', 'o', 1),
    ('ó', 'o', 2),
    ('ǒ', 'o', 3),
    ('ò', 'o', 4),
    ('ū', 'u', 1),
    ('ú', 'u', 2),
    ('ǔ', 'u', 3),
    ('ù', 'u', 4),
    ('ǖ', 'v', 1),
    ('ǘ', 'v', 2),
    ('ǚ', 'v', 3),
    ('ǜ', 'v', 4),
    ('ń', 'n', 2),
    ('ň', 'n', 3),
    ('ǹ', 'n', 4),
    ('ḿ', 'm', 2),
];

/// Precomposed `ê` with a tone mark.
const MARKED_E_CIRCUMFLEX: [(char, u8); 2] = [('ế', 2), ('ề', 4)];

/// Combining tone marks (U+0304 macron, U+0301 acute, U+030C caron, U+0300 grave) as pypinyin
/// writes them after `m` and `ê` (`m̄`, `m̀`, `ê̄`, `ê̌`).
const COMBINING: [(char, u8); 4] = [
    ('\u{304}', 1),
    ('\u{301}', 2),
    ('\u{30c}', 3),
    ('\u{300}', 4),
];

impl Syllable {
    /// A syllable from `TONE3` letters (ASCII `a`-`z`, `ê`) and a tone 1-5; `None` when either is
    /// out of range.
    pub fn new(letters: &str, tone: u8) -> Option<Syllable> {
        let ok = !letters.is_empty()
            && letters.len() <= MAX_LETTERS
            && letters.chars().all(|c| c.is_ascii_lowercase() || c == 'ê');
        if !ok || !(1..=5).contains(&tone) {
            return None;
        }
        let mut s = Syllable {
            letters: [0; MAX_LETTERS],
            len: letters.len() as u8,
            tone,
        };
        s.letters[..letters.len()].copy_from_slice(letters.as_bytes());
        Some(s)
    }

    /// Reads pypinyin's tone-marked form (`zhōng`, `lǜ`, `de`, `ńg`, `m̄`, `ê̌`): at most one
    /// tone mark; none is the neutral tone 5; `ü` becomes `v`. `None` for anything else.
    pub fn from_marked(marked: &str) -> Option<Syllable> {
        let mut letters = [0u8; MAX_LETTERS];
        let mut len = 0usize;
        let mut tone = None;
        let mut set_tone = |t: u8| match tone.replace(t) {
            None => Some(()),
            Some(_) => None,
        };
        for c in marked.chars() {
            let letter = if c.is_ascii_lowercase() {
                c
            } else if c == 'ü' {
                'v'
            } else if c == 'ê' {
                'ê'
            } else if let Some(&(_, base, t)) = MARKED.iter().find(|m| m.0 == c) {
                set_tone(t)?;
                base
            } else if let Some(&(_, t)) = MARKED_E_CIRCUMFLEX.iter().find(|m| m.0 == c) {
                set_tone(t)?;
                'ê'
            } else if let Some(&(_, t)) = COMBINING.iter().find(|m| m.0 == c) {
                // A combining mark sits on the letter before it.
                if len == 0 {
                    return None;
                }
                set_tone(t)?;
                continue;
            } else {
                return None;
            };
            let mut buf = [0u8; 4];
            let bytes = letter.encode_utf8(&mut buf).as_bytes();
            if len + bytes.len() > MAX_LETTERS {
                return None;
            }
            letters[len..len + bytes.len()].copy_from_slice(bytes);
            len += bytes.len();
        }
        let tone = tone.unwrap_or(5);
        Syllable::new(core::str::from_utf8(&letters[..len]).ok()?, tone)
    }

    /// Reads the `TONE3` form: letters then one tone digit 1-5 (`zhong1`, `lv4`, `ma5`).
    pub fn from_tone3(text: &str) -> Option<Syllable> {
        let (letters, digit) = text.split_at(text.len().checked_sub(1)?);
        let tone = digit.parse::<u8>().ok()?;
        Syllable::new(letters, tone)
    }

    /// The letters without the tone (`zhong`, `lv`).
    pub fn letters(&self) -> &str {
        // The constructors only store whole UTF-8 characters.
        core::str::from_utf8(&self.letters[..self.len as usize]).unwrap_or("")
    }

    /// The tone: 1-4, or 5 for the neutral tone.
    pub fn tone(&self) -> u8 {
        self.tone
    }

    /// The same letters with another tone (1-5; the sandhi rules' callers pass constants).
    pub(crate) fn with_tone(self, tone: u8) -> Syllable {
        debug_assert!((1..=5).contains(&tone));
        Syllable { tone, ..self }
    }
}

/// The `TONE3` form: letters then the tone digit.
impl fmt::Display for Syllable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.letters(), self.tone)
    }
}

impl fmt::Debug for Syllable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Syllable({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn marked(s: &str) -> alloc::string::String {
        Syllable::from_marked(s)
            .unwrap_or_else(|| panic!("{s} rejected"))
            .to_string()
    }

    #[test]
    fn tone_marks_become_tone3() {
        assert_eq!(marked("zhōng"), "zhong1");
        assert_eq!(marked("guó"), "guo2");
        assert_eq!(marked("hǎo"), "hao3");
        assert_eq!(marked("shì"), "shi4");
        assert_eq!(marked("de"), "de5");
        assert_eq!(marked("lǜ"), "lv4");
        assert_eq!(marked("nüè"), "nve4");
        assert_eq!(marked("lü"), "lv5");
        assert_eq!(marked("ńg"), "ng2");
        assert_eq!(marked("ḿ"), "m2");
        assert_eq!(marked("m\u{304}"), "m1");
        assert_eq!(marked("ê\u{30c}"), "ê3");
        assert_eq!(marked("ề"), "ê4");
        assert_eq!(marked("zhuàng"), "zhuang4");
    }

    #[test]
    fn malformed_marked_forms_are_rejected() {
        for bad in [
            "", "hǎǒ", "Zhong", "zhong1", "ni hao", "\u{304}a", "zhuanggg",
        ] {
            assert_eq!(Syllable::from_marked(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tone3_round_trips() {
        let s = Syllable::from_tone3("zhong1").unwrap();
        assert_eq!((s.letters(), s.tone()), ("zhong", 1));
        assert_eq!(s.with_tone(4).to_string(), "zhong4");
        assert_eq!(Syllable::from_tone3("ma0"), None);
        assert_eq!(Syllable::from_tone3("1"), None);
        assert_eq!(Syllable::from_tone3(""), None);
    }
}
