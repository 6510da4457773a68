//! Grapheme-to-pinyin: normalized text to words with one [`Syllable`] per Han character,
//! prosodic boundaries and foreign runs.
//!
//! This follows what pypinyin 0.55 does by default (`lazy_pinyin` without jieba, read from its
//! `seg/simpleseg.py`, `seg/mmseg.py` and `converter.py`): the text is split into runs of Han
//! characters and runs of everything else; each Han run is cut by forward maximum matching over
//! the phrase dictionary (at each position the longest dictionary word of 2 or more characters
//! that starts there, else the single character); a word reads as the phrase dictionary lists
//! it, a single character as its first reading in `pinyin_dict.json`. Where we differ:
//!
//! - A Han character is one the dictionary has, or any CJK ideograph (U+3400-4DBF, U+4E00-9FFF,
//!   U+F900-FAFF, U+20000-2FA1F, U+30000-323AF, 〇). An ideograph without a reading is an error
//!   naming it and its position in the caller's text; pypinyin copies it through.
//! - Everything else pypinyin returns unchanged; we classify it:
//!   - [`Boundary::Major`] (a sentence-final pause): `。！？!?…`;
//!   - [`Boundary::Minor`] (a phrase pause): `，、；：,;:.．—–-－～~（）()/／`;
//!   - silent, dropped (but still ending a Han run, so no word spans it): quotes, book-title and
//!     corner brackets `“”‘’"'《》〈〉『』「」【】[]［］<>`, middle dots `·•・`, white space;
//!   - [`Token::Foreign`]: any other run (Latin letters, symbols such as `●` `℃` `①`), kept as
//!     written for the caller; the phoneme stage refuses it with its position, since the
//!     inventory has no way to say it.
//!
//! Consecutive boundaries merge into one, the stronger kind winning (`。”（` is one major pause).

use super::dictionary::Dictionary;
use super::normalize::{Normalized, Origin, Reading};
use super::syllable::Syllable;
use crate::{Error, Result};
use alloc::{format, string::String, vec::Vec};

/// A pause that punctuation marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Boundary {
    /// Inside a sentence (comma, enumeration comma, colon, dash, brackets).
    Minor,
    /// At the end of a sentence (full stop, question and exclamation marks, ellipsis).
    Major,
}

/// A word of the segmentation: Han characters, one syllable and one origin each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub syllables: Vec<Syllable>,
    pub origins: Vec<Origin>,
}

/// What grapheme-to-pinyin makes of normalized text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Word(Word),
    /// A pause; the origin spans the punctuation it came from.
    Boundary(Boundary, Origin),
    /// Characters with no Mandarin reading (Latin letters, symbols), as written.
    Foreign(String, Origin),
}

/// What a character is to the front end.
enum Class {
    Han,
    Pause(Boundary),
    Silent,
    Foreign,
}

fn is_ideograph(c: char) -> bool {
    matches!(c,
        '\u{3007}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}'
        | '\u{30000}'..='\u{323AF}')
}

fn class(dict: &Dictionary, c: char) -> Class {
    match c {
        '。' | '！' | '？' | '!' | '?' | '…' => Class::Pause(Boundary::Major),
        '，' | '、' | '；' | '：' | ',' | ';' | ':' | '.' | '．' | '—' | '–' | '-' | '－'
        | '～' | '~' | '（' | '）' | '(' | ')' | '/' | '／' => Class::Pause(Boundary::Minor),
        '“' | '”' | '‘' | '’' | '"' | '\'' | '《' | '》' | '〈' | '〉' | '『' | '』' | '「'
        | '」' | '【' | '】' | '[' | ']' | '［' | '］' | '<' | '>' | '·' | '•' | '・' => {
            Class::Silent
        }
        c if c.is_whitespace() => Class::Silent,
        c if is_ideograph(c) || !dict.readings(c).is_empty() => Class::Han,
        _ => Class::Foreign,
    }
}

/// Cuts a run of Han characters into words by forward maximum matching over the phrase
/// dictionary, words having at most `max_chars` characters (1 cuts into single characters).
pub(crate) fn segment_at_most<'a>(
    dict: &Dictionary,
    han: &'a str,
    max_chars: usize,
) -> Vec<&'a str> {
    let mut words = Vec::new();
    let mut rest = han;
    while let Some(first) = rest.chars().next() {
        let len = dict
            .longest_prefix_phrase(rest, max_chars)
            .unwrap_or(first.len_utf8());
        words.push(&rest[..len]);
        rest = &rest[len..];
    }
    words
}

/// Cuts a run of Han characters into words as pypinyin's default segmenter does.
pub fn segment<'a>(dict: &Dictionary, han: &'a str) -> Vec<&'a str> {
    segment_at_most(dict, han, usize::MAX)
}

/// Converts normalized text to tokens with the dictionary's readings (no tone sandhi).
pub fn to_pinyin(dict: &Dictionary, text: &Normalized) -> Result<Vec<Token>> {
    let chars: Vec<(char, Origin)> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (c, origin) = chars[i];
        match class(dict, c) {
            Class::Han => {
                let run_end = (i..chars.len())
                    .find(|&j| !matches!(class(dict, chars[j].0), Class::Han))
                    .unwrap_or(chars.len());
                han_run(dict, &chars[i..run_end], &mut tokens)?;
                i = run_end;
                continue;
            }
            Class::Pause(kind) => match tokens.last_mut() {
                Some(Token::Boundary(prev, span)) => {
                    *prev = (*prev).max(kind);
                    span.byte_end = origin.byte_end;
                }
                _ => tokens.push(Token::Boundary(kind, origin)),
            },
            Class::Foreign => match tokens.last_mut() {
                Some(Token::Foreign(run, span)) if span.byte_end == origin.byte_start => {
                    run.push(c);
                    span.byte_end = origin.byte_end;
                }
                _ => tokens.push(Token::Foreign(String::from(c), origin)),
            },
            Class::Silent => {}
        }
        i += 1;
    }
    Ok(tokens)
}

/// Segments one Han run and appends its words.
fn han_run(dict: &Dictionary, run: &[(char, Origin)], tokens: &mut Vec<Token>) -> Result<()> {
    if let Some(&(c, origin)) = run.iter().find(|(c, _)| dict.readings(*c).is_empty()) {
        return Err(unknown_character(c, origin));
    }
    let text: String = run.iter().map(|&(c, _)| c).collect();
    let mut at = 0;
    for word in segment(dict, &text) {
        let n = word.chars().count();
        let syllables = match dict.phrase(word) {
            Some(readings) => readings.to_vec(),
            None => word.chars().map(|c| dict.readings(c)[0]).collect(),
        };
        tokens.push(Token::Word(Word {
            text: String::from(word),
            syllables,
            origins: run[at..at + n].iter().map(|&(_, o)| o).collect(),
        }));
        at += n;
    }
    Ok(())
}

fn unknown_character(c: char, origin: Origin) -> Error {
    let from = match origin.reading {
        Reading::Text => "",
        _ => ", read from a number there",
    };
    Error::invalid(format!(
        "the character '{c}' (U+{:04X}) at character {} (byte {}) of the text{from} has no reading in the pypinyin dictionary",
        c as u32, origin.char_index, origin.byte_start
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::zh::normalize::normalize;
    use alloc::string::ToString;

    fn small_dictionary() -> Dictionary {
        Dictionary::from_entries(
            &[
                ('一', "yī"),
                ('中', "zhōng,zhòng"),
                ('人', "rén"),
                ('国', "guó"),
                ('好', "hǎo,hào"),
                ('你', "nǐ"),
                ('年', "nián"),
                ('的', "de,dī,dí,dì"),
                ('二', "èr"),
                ('零', "líng"),
                ('四', "sì"),
            ],
            &[
                ("中国", &["zhōng", "guó"]),
                ("中国人", &["zhōng", "guó", "rén"]),
                ("你好", &["nǐ", "hǎo"]),
            ],
        )
    }

    fn words(tokens: &[Token]) -> Vec<String> {
        tokens
            .iter()
            .map(|t| match t {
                Token::Word(w) => {
                    let s: Vec<String> = w.syllables.iter().map(Syllable::to_string).collect();
                    format!("{}:{}", w.text, s.join(" "))
                }
                Token::Boundary(Boundary::Minor, _) => String::from("|"),
                Token::Boundary(Boundary::Major, _) => String::from("||"),
                Token::Foreign(s, _) => format!("<{s}>"),
            })
            .collect()
    }

    #[test]
    fn forward_maximum_matching_takes_the_longest_word() {
        let d = small_dictionary();
        assert_eq!(segment(&d, "中国人你好的"), ["中国人", "你好", "的"]);
        assert_eq!(segment(&d, "中国你"), ["中国", "你"]);
        assert_eq!(segment_at_most(&d, "中国人", 2), ["中国", "人"]);
        assert_eq!(segment_at_most(&d, "中国人", 1), ["中", "国", "人"]);
    }

    #[test]
    fn punctuation_latin_and_quotes_are_handled_explicitly() {
        let d = small_dictionary();
        let tokens = to_pinyin(&d, &normalize("“中国”人，ＷＴＯ的 好。”（")).unwrap();
        assert_eq!(
            words(&tokens),
            [
                "中国:zhong1 guo2",
                "人:ren2",
                "|",
                "<ＷＴＯ>",
                "的:de5",
                "好:hao3",
                "||"
            ]
        );
        let Token::Foreign(_, origin) = &tokens[3] else {
            unreachable!()
        };
        assert_eq!(
            (origin.char_index, origin.byte_start, origin.byte_end),
            (6, 18, 27)
        );
    }

    #[test]
    fn digits_are_read_through_normalization() {
        let d = small_dictionary();
        let tokens = to_pinyin(&d, &normalize("2024年")).unwrap();
        assert_eq!(
            words(&tokens),
            ["二:er4", "零:ling2", "二:er4", "四:si4", "年:nian2"]
        );
    }

    #[test]
    fn an_unknown_character_is_an_error_with_its_position() {
        let d = small_dictionary();
        let err = to_pinyin(&d, &normalize("你好，中国龘人"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'龘' (U+9F98) at character 5 (byte 15)"),
            "{err}"
        );
        // A digit read as a character the dictionary lacks (三) points at the digit.
        let err = to_pinyin(&d, &normalize("你好3")).unwrap_err().to_string();
        assert!(
            err.contains("'三' (U+4E09) at character 2 (byte 6) of the text, read from a number"),
            "{err}"
        );
    }
}
