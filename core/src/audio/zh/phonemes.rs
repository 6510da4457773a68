//! Phonemes: each syllable as an initial and a toned final, the inventory Mandarin FastSpeech2
//! recipes train on (ESPnet's `pypinyin_g2p_phone`: pypinyin `Style.INITIALS` and
//! `Style.FINALS_TONE3` with `strict=True`), each phoneme with a stable id (its index in
//! [`PHONEMES`]) for a model's embedding table.
//!
//! The split follows the *Scheme for the Chinese Phonetic Alphabet* (汉语拼音方案, 1958), as
//! pypinyin's strict mode does:
//!
//! - `y` and `w` are spelling, not initials: the syllable has the zero initial and its final is
//!   restored (`yi` → `i`, `ya` → `ia`, `you` → `iou`, `yu` → `v`, `yue` → `ve`, `yuan` → `van`,
//!   `wu` → `u`, `wei` → `uei`, `wen` → `uen`, `weng` → `ueng`);
//! - after `j`, `q`, `x` a written `u` is `ü`, written `v` (`ju` → `j v`, `xue` → `x ve`);
//! - after an initial the contracted finals expand: `iu` → `iou`, `ui` → `uei`, `un` → `uen`.
//!
//! Two choices differ from pypinyin's strict output, which gives both the final `i`:
//! the apical vowels are their own finals, `iii` after `zh ch sh r` (`zhi` → `zh iii`) and `ii`
//! after `z c s` (`zi` → `z ii`), as the CSMSC/Baker FastSpeech2 lexicons write them, because
//! they are different sounds from the `i` of `ji`. And a few syllables pypinyin cannot split
//! (its strict finals come out empty) get finals of their own: `yo` → `io`, the syllabic nasals
//! `m`, `n`, `ng` (呣 嗯), also after `h` (`hm` → `h m`, `hng` → `h ng`); `ê` (欸) and `er` are
//! finals as in the Scheme. `wong` (a rare variant of `weng`) reads `ong` as pypinyin has it.
//!
//! [`PHONEMES`] lists two pause symbols (`sil` for [`Boundary::Major`], `sp` for
//! [`Boundary::Minor`]), the 21 initials, then the 43 finals with tones 1-5 (5 = neutral).

use super::g2p::{Boundary, Token};
use super::syllable::Syllable;
use crate::{Error, Result};
use alloc::{format, vec::Vec};

/// The initials, in the Scheme's order.
const INITIALS: [&str; 21] = [
    "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "zh", "ch", "sh", "r",
    "z", "c", "s",
];

/// The finals, in the Scheme's order, then `er`, `ê` and the additions named in the module
/// documentation.
const FINALS: [&str; 43] = [
    "i", "u", "v", "a", "ia", "ua", "o", "uo", "e", "ie", "ve", "ai", "uai", "ei", "uei", "ao",
    "iao", "ou", "iou", "an", "ian", "uan", "van", "en", "in", "uen", "vn", "ang", "iang", "uang",
    "eng", "ing", "ueng", "ong", "iong", "er", "ê", "ii", "iii", "io", "m", "n", "ng",
];

/// Ids of the first initial and the first final in [`PHONEMES`].
const FIRST_INITIAL: usize = 2;
const FIRST_FINAL: usize = FIRST_INITIAL + INITIALS.len();

/// The phoneme inventory; a phoneme's id is its index here. Append-only: ids are what trained
/// models embed.
#[rustfmt::skip]
pub const PHONEMES: [&str; FIRST_FINAL + 5 * FINALS.len()] = [
    "sil", "sp",
    "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "zh", "ch", "sh", "r",
    "z", "c", "s",
    "i1", "i2", "i3", "i4", "i5",
    "u1", "u2", "u3", "u4", "u5",
    "v1", "v2", "v3", "v4", "v5",
    "a1", "a2", "a3", "a4", "a5",
    "ia1", "ia2", "ia3", "ia4", "ia5",
    "ua1", "ua2", "ua3", "ua4", "ua5",
    "o1", "o2", "o3", "o4", "o5",
    "uo1", "uo2", "uo3", "uo4", "uo5",
    "e1", "e2", "e3", "e4", "e5",
    "ie1", "ie2", "ie3", "ie4", "ie5",
    "ve1", "ve2", "ve3", "ve4", "ve5",
    "ai1", "ai2", "ai3", "ai4", "ai5",
    "uai1", "uai2", "uai3", "uai4", "uai5",
    "ei1", "ei2", "ei3", "ei4", "ei5",
    "uei1", "uei2", "uei3", "uei4", "uei5",
    "ao1", "ao2", "ao3", "ao4", "ao5",
    "iao1", "iao2", "iao3", "iao4", "iao5",
    "ou1", "ou2", "ou3", "ou4", "ou5",
    "iou1", "iou2", "iou3", "iou4", "iou5",
    "an1", "an2", "an3", "an4", "an5",
    "ian1", "ian2", "ian3", "ian4", "ian5",
    "uan1", "uan2", "uan3", "uan4", "uan5",
    "van1", "van2", "van3", "van4", "van5",
    "en1", "en2", "en3", "en4", "en5",
    "in1", "in2", "in3", "in4", "in5",
    "uen1", "uen2", "uen3", "uen4", "uen5",
    "vn1", "vn2", "vn3", "vn4", "vn5",
    "ang1", "ang2", "ang3", "ang4", "ang5",
    "iang1", "iang2", "iang3", "iang4", "iang5",
    "uang1", "uang2", "uang3", "uang4", "uang5",
    "eng1", "eng2", "eng3", "eng4", "eng5",
    "ing1", "ing2", "ing3", "ing4", "ing5",
    "ueng1", "ueng2", "ueng3", "ueng4", "ueng5",
    "ong1", "ong2", "ong3", "ong4", "ong5",
    "iong1", "iong2", "iong3", "iong4", "iong5",
    "er1", "er2", "er3", "er4", "er5",
    "ê1", "ê2", "ê3", "ê4", "ê5",
    "ii1", "ii2", "ii3", "ii4", "ii5",
    "iii1", "iii2", "iii3", "iii4", "iii5",
    "io1", "io2", "io3", "io4", "io5",
    "m1", "m2", "m3", "m4", "m5",
    "n1", "n2", "n3", "n4", "n5",
    "ng1", "ng2", "ng3", "ng4", "ng5",
];

/// A phoneme of [`PHONEMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Phoneme(u16);

impl Phoneme {
    /// The pause at the end of a sentence.
    pub const SIL: Phoneme = Phoneme(0);
    /// The pause inside a sentence.
    pub const SP: Phoneme = Phoneme(1);

    /// The phoneme with this id, if the inventory has one.
    pub fn from_id(id: u16) -> Option<Phoneme> {
        ((id as usize) < PHONEMES.len()).then_some(Phoneme(id))
    }

    /// The phoneme written `symbol` (`"zh"`, `"ong1"`, `"sp"`).
    pub fn from_symbol(symbol: &str) -> Option<Phoneme> {
        PHONEMES
            .iter()
            .position(|&s| s == symbol)
            .map(|i| Phoneme(i as u16))
    }

    /// Its index in [`PHONEMES`].
    pub fn id(self) -> u16 {
        self.0
    }

    /// Its symbol.
    pub fn symbol(self) -> &'static str {
        PHONEMES[self.0 as usize]
    }
}

/// A syllable's initial (none for the zero initial) and toned final.
pub fn split(syllable: Syllable) -> Result<(Option<Phoneme>, Phoneme)> {
    let (initial, final_) = split_letters(syllable.letters()).ok_or_else(|| {
        Error::invalid(format!(
            "the syllable {syllable} has no initial/final split"
        ))
    })?;
    let initial = initial.map(|i| Phoneme((FIRST_INITIAL + i) as u16));
    let final_ = Phoneme((FIRST_FINAL + 5 * final_ + syllable.tone() as usize - 1) as u16);
    Ok((initial, final_))
}

/// Indices into [`INITIALS`] and [`FINALS`] of a syllable's letters.
fn split_letters(letters: &str) -> Option<(Option<usize>, usize)> {
    let find = |table: &[&str], s: &str| table.iter().position(|&t| t == s);
    let mut buf = [0u8; 8];
    let (initial, final_): (Option<&str>, &str) = match letters {
        "m" | "n" | "ng" | "ê" | "er" => (None, letters),
        "hm" | "hng" => (Some("h"), &letters[1..]),
        "wong" => (None, "ong"),
        _ if letters.starts_with('y') => {
            let rest = &letters[1..];
            let final_ = if let Some(after_u) = rest.strip_prefix('u') {
                concat(&mut buf, "v", after_u)?
            } else if rest.starts_with('i') {
                rest
            } else {
                concat(&mut buf, "i", rest)?
            };
            (None, final_)
        }
        _ if letters.starts_with('w') => {
            let rest = &letters[1..];
            (
                None,
                if rest == "u" {
                    rest
                } else {
                    concat(&mut buf, "u", rest)?
                },
            )
        }
        _ => {
            // Two-letter initials first (zh before z).
            let initial = INITIALS
                .iter()
                .filter(|i| letters.starts_with(*i))
                .max_by_key(|i| i.len())
                .copied();
            let rest = &letters[initial.map_or(0, str::len)..];
            let final_ = match (initial, rest) {
                (Some("j" | "q" | "x"), r) if r.starts_with('u') => concat(&mut buf, "v", &r[1..])?,
                (Some("zh" | "ch" | "sh" | "r"), "i") => "iii",
                (Some("z" | "c" | "s"), "i") => "ii",
                (Some(_), "iu") => "iou",
                (Some(_), "ui") => "uei",
                (Some(_), "un") => "uen",
                (_, r) => r,
            };
            (initial, final_)
        }
    };
    let initial = match initial {
        Some(i) => Some(find(&INITIALS, i)?),
        None => None,
    };
    Some((initial, find(&FINALS, final_)?))
}

/// `a` followed by `b` in `buf` (finals are short).
fn concat<'b>(buf: &'b mut [u8; 8], a: &str, b: &str) -> Option<&'b str> {
    let n = a.len() + b.len();
    if n > buf.len() {
        return None;
    }
    buf[..a.len()].copy_from_slice(a.as_bytes());
    buf[a.len()..n].copy_from_slice(b.as_bytes());
    core::str::from_utf8(&buf[..n]).ok()
}

/// The phoneme sequence of tokens: initial and final per syllable, `sil`/`sp` per boundary.
/// A foreign token is an error naming its text and position: the inventory cannot say it.
pub fn from_tokens(tokens: &[Token]) -> Result<Vec<Phoneme>> {
    let mut out = Vec::new();
    for token in tokens {
        match token {
            Token::Word(word) => {
                for &syllable in &word.syllables {
                    let (initial, final_) = split(syllable)?;
                    out.extend(initial);
                    out.push(final_);
                }
            }
            Token::Boundary(Boundary::Major, _) => out.push(Phoneme::SIL),
            Token::Boundary(Boundary::Minor, _) => out.push(Phoneme::SP),
            Token::Foreign(text, origin) => {
                return Err(Error::invalid(format!(
                    "\"{text}\" at character {} (byte {}) of the text has no Mandarin reading (only Han characters, digits and punctuation can be spoken)",
                    origin.char_index, origin.byte_start
                )))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::{String, ToString};

    /// `initial+final` of a TONE3 syllable, `-` for the zero initial.
    fn phones(tone3: &str) -> String {
        let (initial, final_) = split(Syllable::from_tone3(tone3).unwrap()).unwrap();
        format!(
            "{}+{}",
            initial.map_or("-", Phoneme::symbol),
            final_.symbol()
        )
    }

    #[test]
    fn syllables_split_by_the_scheme() {
        let cases = [
            ("zhong1", "zh+ong1"),
            ("zhi1", "zh+iii1"),
            ("ri4", "r+iii4"),
            ("zi3", "z+ii3"),
            ("si5", "s+ii5"),
            ("ji1", "j+i1"),
            ("yu2", "-+v2"),
            ("yue4", "-+ve4"),
            ("yuan2", "-+van2"),
            ("yun4", "-+vn4"),
            ("ju1", "j+v1"),
            ("xue2", "x+ve2"),
            ("lv4", "l+v4"),
            ("nve4", "n+ve4"),
            ("wen2", "-+uen2"),
            ("wu3", "-+u3"),
            ("wei4", "-+uei4"),
            ("weng1", "-+ueng1"),
            ("you3", "-+iou3"),
            ("yi1", "-+i1"),
            ("ying1", "-+ing1"),
            ("ye3", "-+ie3"),
            ("yo1", "-+io1"),
            ("liu2", "l+iou2"),
            ("gui4", "g+uei4"),
            ("lun4", "l+uen4"),
            ("er2", "-+er2"),
            ("ai4", "-+ai4"),
            ("ng2", "-+ng2"),
            ("hm5", "h+m5"),
            ("hng5", "h+ng5"),
            ("ê4", "-+ê4"),
            ("wong1", "-+ong1"),
            ("chuang1", "ch+uang1"),
        ];
        for (syllable, want) in cases {
            assert_eq!(phones(syllable), want, "{syllable}");
        }
    }

    #[test]
    fn letters_that_are_no_syllable_are_an_error() {
        for bad in ["bx1", "yuu1", "q1"] {
            let s = Syllable::from_tone3(bad).unwrap();
            assert!(split(s).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_becomes_phoneme_ids() {
        let dict = crate::audio::zh::Dictionary::from_entries(
            &[('你', "nǐ"), ('好', "hǎo"), ('吃', "chī")],
            &[("你好", &["nǐ", "hǎo"])],
        );
        let symbols = |text: &str| -> Result<Vec<&str>> {
            let ids = crate::audio::zh::phonemes(&dict, text)?;
            Ok(ids.into_iter().map(Phoneme::symbol).collect())
        };
        assert_eq!(
            symbols("你好，吃。").unwrap(),
            ["n", "i2", "h", "ao3", "sp", "ch", "iii1", "sil"]
        );
        let err = symbols("你好ABC").unwrap_err().to_string();
        assert!(err.contains("\"ABC\" at character 2 (byte 6)"), "{err}");
    }

    #[test]
    fn ids_index_the_table() {
        assert_eq!(PHONEMES.len(), 238);
        for (i, &symbol) in PHONEMES.iter().enumerate() {
            let p = Phoneme::from_symbol(symbol).unwrap();
            assert_eq!((p.id() as usize, p.symbol()), (i, symbol));
            assert_eq!(Phoneme::from_id(i as u16), Some(p));
        }
        assert_eq!(Phoneme::from_id(238), None);
        assert_eq!(Phoneme::from_symbol("sil"), Some(Phoneme::SIL));
        assert_eq!(Phoneme::from_symbol("sp"), Some(Phoneme::SP));
        let (zh, ong1) = split(Syllable::from_tone3("zhong1").unwrap()).unwrap();
        assert_eq!((zh.unwrap().id(), ong1.id()), (16, 23 + 5 * 33));
    }
}
