//! The pronunciation dictionary: pypinyin 0.55.0's data files, read by our own parser.
//!
//! pypinyin (MIT, <https://github.com/mozillazg/python-pinyin>) ships two JSON files, fetched
//! unchanged from its sdist into `assets/pypinyin/` by `scripts/fetch-assets.sh`:
//!
//! - `pinyin_dict.json`, the readings of 41,923 characters, one per line:
//!   `"20013": "zhōng,zhòng",` (the key is the decimal code point, the value the tone-marked
//!   readings separated by commas, the first being the one pypinyin uses without `heteronym`);
//! - `phrases_dict.json`, the readings of 47,111 words of 2 to 10 characters, pretty-printed with
//!   one token per line:
//!
//!   ```text
//!   {
//!   "一丁点儿": [
//!   [
//!   "yī"
//!   ],
//!   ...
//!   [
//!   "er"
//!   ]
//!   ],
//!   ...
//!   }
//!   ```
//!
//!   one inner list per character, holding its reading (two words, 朝阳 and 那些, list a second
//!   reading after the first: it is checked and dropped, as pypinyin without `heteronym` does).
//!
//! The data is theirs; this parser and everything built on it is ours. Parsing is strict to that
//! layout: each line must be exactly what the layout allows there (surrounding spaces aside),
//! strings have no escapes, every reading must be a valid syllable, every word must have one
//! reading per character, keys must increase (both files are sorted by code point). Any other line is an [`Error::Format`] naming the
//! file, the byte offset and the line number.

use super::syllable::Syllable;
use crate::{Error, Result};
use alloc::{format, string::String, vec::Vec};

/// Error label of `pinyin_dict.json`.
const CHARS_FILE: &str = "pypinyin pinyin_dict.json";
/// Error label of `phrases_dict.json`.
const PHRASES_FILE: &str = "pypinyin phrases_dict.json";

/// Characters and words with their readings, looked up by binary search over sorted tables.
#[derive(Clone, Debug)]
pub struct Dictionary {
    /// (character, first index into `char_readings`), sorted by character; a character's
    /// readings end where the next one's begin.
    chars: Vec<(char, u32)>,
    char_readings: Vec<Syllable>,
    /// Word entries sorted by their text (the file's order, checked).
    phrases: Vec<Phrase>,
    /// The words' texts, concatenated.
    phrase_text: String,
    /// One reading per character of each word.
    phrase_readings: Vec<Syllable>,
    /// Characters in the longest word.
    longest_phrase: usize,
}

#[derive(Clone, Copy, Debug)]
struct Phrase {
    /// Byte range of the word in `phrase_text`.
    text_start: u32,
    text_len: u16,
    /// First of its readings in `phrase_readings`.
    readings: u32,
}

impl Dictionary {
    /// Parses the texts of `pinyin_dict.json` and `phrases_dict.json`.
    pub fn parse(pinyin_dict_src: &str, phrases_src: &str) -> Result<Dictionary> {
        let mut dict = Dictionary {
            chars: Vec::new(),
            char_readings: Vec::new(),
            phrases: Vec::new(),
            phrase_text: String::new(),
            phrase_readings: Vec::new(),
            longest_phrase: 0,
        };
        dict.parse_chars(pinyin_dict_src)?;
        dict.parse_phrases(phrases_src)?;
        Ok(dict)
    }

    /// Reads `pinyin_dict.json` and `phrases_dict.json` from `dir` (e.g. `assets/pypinyin`).
    #[cfg(feature = "std")]
    pub fn load(dir: &std::path::Path) -> Result<Dictionary> {
        use alloc::string::ToString;
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        };
        Dictionary::parse(&read("pinyin_dict.json")?, &read("phrases_dict.json")?)
    }

    /// The readings of `c` in pypinyin's order (the first is the default); empty when the
    /// dictionary does not have it.
    pub fn readings(&self, c: char) -> &[Syllable] {
        let Ok(k) = self.chars.binary_search_by_key(&c, |&(ch, _)| ch) else {
            return &[];
        };
        let start = self.chars[k].1 as usize;
        let end = self
            .chars
            .get(k + 1)
            .map_or(self.char_readings.len(), |&(_, next)| next as usize);
        &self.char_readings[start..end]
    }

    /// The reading of a word of the phrase dictionary, one syllable per character.
    pub fn phrase(&self, word: &str) -> Option<&[Syllable]> {
        let k = self
            .phrases
            .binary_search_by(|p| self.phrase_str(p).cmp(word))
            .ok()?;
        let p = self.phrases[k];
        let start = p.readings as usize;
        Some(&self.phrase_readings[start..start + word.chars().count()])
    }

    /// Every reading the dictionary holds: the characters' (all of them) and the words'.
    pub fn all_readings(&self) -> impl Iterator<Item = Syllable> + '_ {
        self.char_readings
            .iter()
            .chain(&self.phrase_readings)
            .copied()
    }

    /// How many characters the dictionary has readings for.
    pub fn char_count(&self) -> usize {
        self.chars.len()
    }

    /// How many words the phrase dictionary has.
    pub fn phrase_count(&self) -> usize {
        self.phrases.len()
    }

    /// The byte length of the longest word of the phrase dictionary that `text` starts with,
    /// considering words of at most `max_chars` characters; `None` when none.
    pub(crate) fn longest_prefix_phrase(&self, text: &str, max_chars: usize) -> Option<usize> {
        text.char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take(max_chars.min(self.longest_phrase))
            .skip(1)
            .filter(|&end| self.phrase(&text[..end]).is_some())
            .last()
    }

    fn phrase_str(&self, p: &Phrase) -> &str {
        let start = p.text_start as usize;
        &self.phrase_text[start..start + p.text_len as usize]
    }

    /// `pinyin_dict.json`: `{`, lines `"CODEPOINT": "READING,READING",`, `}`.
    fn parse_chars(&mut self, src: &str) -> Result<()> {
        let mut lines = Lines::new(CHARS_FILE, src);
        lines.expect("{")?;
        let mut first = true;
        loop {
            let line = lines.next_line()?;
            if first && line.text == "}" {
                break;
            }
            first = false;
            let (entry, more) = line.strip_comma();
            let (key, rest) = line.string(entry)?;
            let value = rest
                .strip_prefix(':')
                .map(str::trim_start)
                .ok_or_else(|| line.error("expected `:` after the key"))?;
            let (value, rest) = line.string(value)?;
            if !rest.is_empty() {
                return Err(line.error("unexpected text after the value"));
            }
            let c = key
                .parse::<u32>()
                .ok()
                .filter(|_| key.bytes().all(|b| b.is_ascii_digit()))
                .and_then(char::from_u32)
                .ok_or_else(|| line.error(format!("the key {key:?} is not a code point")))?;
            if self.chars.last().is_some_and(|&(prev, _)| prev >= c) {
                return Err(line.error(format!(
                    "U+{:04X} is out of order or repeated (the keys must increase)",
                    c as u32
                )));
            }
            self.chars.push((c, self.char_readings.len() as u32));
            for reading in value.split(',') {
                self.char_readings.push(line.syllable(reading)?);
            }
            if !more {
                lines.expect("}")?;
                break;
            }
        }
        lines.expect_end()
    }

    /// `phrases_dict.json`: `{`, per word `"WORD": [`, per character `[`, `"READING"` lines
    /// separated by commas, `]` (`],` between characters), then `]` (`],` between words), `}`.
    fn parse_phrases(&mut self, src: &str) -> Result<()> {
        let mut lines = Lines::new(PHRASES_FILE, src);
        lines.expect("{")?;
        let mut first = true;
        loop {
            let line = lines.next_line()?;
            if first && line.text == "}" {
                break;
            }
            first = false;
            let (word, rest) = line.string(line.text)?;
            if rest != ": [" {
                return Err(line.error("expected `\"WORD\": [`"));
            }
            if self
                .phrases
                .last()
                .is_some_and(|p| self.phrase_str(p) >= word)
            {
                return Err(line.error(format!(
                    "{word:?} is out of order or repeated (the words must increase)"
                )));
            }
            let n_chars = word.chars().count();
            if n_chars < 2 || word.len() > u16::MAX as usize {
                return Err(line.error(format!("{word:?}: a word must have 2 or more characters")));
            }
            let readings = self.phrase_readings.len() as u32;
            let mut syllables = 0;
            loop {
                lines.expect("[")?;
                let mut alternative = 0;
                loop {
                    let line = lines.next_line()?;
                    let (reading, more) = line.strip_comma();
                    let (reading, rest) = line.string(reading)?;
                    if !rest.is_empty() {
                        return Err(line.error("unexpected text after the reading"));
                    }
                    let syllable = line.syllable(reading)?;
                    if alternative == 0 {
                        self.phrase_readings.push(syllable);
                    }
                    alternative += 1;
                    if !more {
                        break;
                    }
                }
                syllables += 1;
                let line = lines.next_line()?;
                match line.text {
                    "]," => continue,
                    "]" => break,
                    _ => return Err(line.error("expected `]` or `],` after a reading")),
                }
            }
            if syllables != n_chars {
                return Err(line.error(format!(
                    "{word:?} has {n_chars} characters but {syllables} readings"
                )));
            }
            self.phrases.push(Phrase {
                text_start: self.phrase_text.len() as u32,
                text_len: word.len() as u16,
                readings,
            });
            self.phrase_text.push_str(word);
            self.longest_phrase = self.longest_phrase.max(n_chars);
            let close = lines.next_line()?;
            match close.text {
                "]," => continue,
                "]" => {
                    lines.expect("}")?;
                    break;
                }
                _ => return Err(close.error("expected `]` or `],` after a word's readings")),
            }
        }
        lines.expect_end()
    }
}

/// The lines of a data file, numbered from 1, with their byte offsets.
struct Lines<'a> {
    file: &'static str,
    src: &'a str,
    offset: usize,
    number: usize,
}

/// One line, trimmed of surrounding spaces.
struct Line<'a> {
    file: &'static str,
    text: &'a str,
    offset: usize,
    number: usize,
}

impl<'a> Lines<'a> {
    fn new(file: &'static str, src: &'a str) -> Lines<'a> {
        Lines {
            file,
            src,
            offset: 0,
            number: 0,
        }
    }

    /// The next line; the end of the file is an error (the caller expected more).
    fn next_line(&mut self) -> Result<Line<'a>> {
        if self.offset >= self.src.len() {
            return Err(Error::format(
                self.file,
                self.src.len() as u64,
                format!("line {}: unexpected end of file", self.number + 1),
            ));
        }
        let rest = &self.src[self.offset..];
        let len = rest.find('\n').unwrap_or(rest.len());
        let line = Line {
            file: self.file,
            text: rest[..len].trim(),
            offset: self.offset,
            number: self.number + 1,
        };
        self.offset += (len + 1).min(rest.len());
        self.number += 1;
        Ok(line)
    }

    fn expect(&mut self, text: &str) -> Result<()> {
        let line = self.next_line()?;
        if line.text == text {
            Ok(())
        } else {
            Err(line.error(format!("expected `{text}`, found `{}`", line.text)))
        }
    }

    /// Only blank lines may follow the closing brace.
    fn expect_end(&mut self) -> Result<()> {
        while self.offset < self.src.len() {
            let line = self.next_line()?;
            if !line.text.is_empty() {
                return Err(line.error("unexpected text after the closing `}`"));
            }
        }
        Ok(())
    }
}

impl<'a> Line<'a> {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::format(
            self.file,
            self.offset as u64,
            format!("line {}: {}", self.number, message.into()),
        )
    }

    /// The line without a trailing comma, and whether it had one.
    fn strip_comma(&self) -> (&'a str, bool) {
        match self.text.strip_suffix(',') {
            Some(t) => (t.trim_end(), true),
            None => (self.text, false),
        }
    }

    /// A string literal at the start of `s` (no escapes), and what follows it.
    fn string(&self, s: &'a str) -> Result<(&'a str, &'a str)> {
        let body = s
            .strip_prefix('"')
            .ok_or_else(|| self.error(format!("expected a string, found `{s}`")))?;
        let end = body
            .find('"')
            .ok_or_else(|| self.error("unterminated string"))?;
        let value = &body[..end];
        if value.contains('\\') || value.chars().any(char::is_control) {
            return Err(self.error("escapes and control characters are not used by this format"));
        }
        Ok((value, &body[end + 1..]))
    }

    fn syllable(&self, reading: &str) -> Result<Syllable> {
        Syllable::from_marked(reading)
            .ok_or_else(|| self.error(format!("{reading:?} is not a pinyin syllable")))
    }
}

/// Test dictionaries: entries written out in pypinyin's two layouts, then parsed.
#[cfg(test)]
impl Dictionary {
    pub(crate) fn from_entries(chars: &[(char, &str)], phrases: &[(&str, &[&str])]) -> Dictionary {
        let mut chars = chars.to_vec();
        chars.sort();
        let lines: Vec<String> = chars
            .iter()
            .map(|(c, r)| format!("\"{}\": \"{r}\"", *c as u32))
            .collect();
        let mut phrases = phrases.to_vec();
        phrases.sort();
        let entries: Vec<String> = phrases
            .iter()
            .map(|(word, readings)| {
                let per_char: Vec<String> =
                    readings.iter().map(|r| format!("[\n\"{r}\"\n]")).collect();
                format!("\"{word}\": [\n{}\n]", per_char.join(",\n"))
            })
            .collect();
        let object = |members: Vec<String>| match members.is_empty() {
            true => String::from("{\n}\n"),
            false => format!("{{\n{}\n}}\n", members.join(",\n")),
        };
        Dictionary::parse(&object(lines), &object(entries)).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const CHARS: &str =
        "{\n\"20013\": \"zhōng,zhòng\",\n\"22269\": \"guó\",\n\"20154\": \"rén\"\n}\n";
    const PHRASES: &str =
        "{\n\"中国\": [\n[\n\"zhōng\"\n],\n[\n\"guó\"\n]\n],\n\"朝阳\": [\n[\n\"zhāo\",\n\"cháo\"\n],\n[\n\"yáng\"\n]\n]\n}";

    fn tone3(s: &[Syllable]) -> Vec<String> {
        s.iter().map(Syllable::to_string).collect()
    }

    /// Replaces line `number` (1-based) of `src`.
    fn with_line(src: &str, number: usize, text: &str) -> String {
        let mut lines: Vec<&str> = src.split('\n').collect();
        lines[number - 1] = text;
        lines.join("\n")
    }

    fn format_error(e: Error) -> (&'static str, String) {
        match e {
            Error::Format {
                format, message, ..
            } => (format, message),
            other => panic!("not a format error: {other}"),
        }
    }

    #[test]
    fn parses_both_files() {
        let chars = CHARS.replace(
            "\"22269\": \"guó\",\n\"20154\": \"rén\"",
            "\"20154\": \"rén\",\n\"22269\": \"guó\"",
        );
        let d = Dictionary::parse(&chars, PHRASES).unwrap();
        assert_eq!(tone3(d.readings('中')), ["zhong1", "zhong4"]);
        assert_eq!(tone3(d.readings('国')), ["guo2"]);
        assert!(d.readings('好').is_empty());
        assert_eq!(tone3(d.phrase("中国").unwrap()), ["zhong1", "guo2"]);
        assert_eq!(tone3(d.phrase("朝阳").unwrap()), ["zhao1", "yang2"]);
        assert_eq!(d.phrase("中"), None);
        assert_eq!((d.char_count(), d.phrase_count()), (3, 2));
        assert_eq!(d.longest_prefix_phrase("中国人", 10), Some("中国".len()));
        assert_eq!(d.longest_prefix_phrase("中国人", 1), None);
        assert_eq!(d.longest_prefix_phrase("国中", 10), None);
    }

    #[test]
    fn out_of_order_character_keys_are_an_error() {
        let (file, message) = format_error(Dictionary::parse(CHARS, PHRASES).unwrap_err());
        assert_eq!(file, CHARS_FILE);
        assert!(
            message.starts_with("line 4: U+4EBA is out of order"),
            "{message}"
        );
    }

    #[test]
    fn a_malformed_line_is_an_error_naming_file_and_line() {
        let chars = "{\n\"20013\": \"zhōng\",\n\"22269\": \"guó\"\n}";
        assert!(Dictionary::parse(chars, PHRASES).is_ok());
        let cases = [
            (
                with_line(chars, 2, "\"20013\" \"zhōng\","),
                "line 2: expected `:` after the key",
            ),
            (
                with_line(chars, 3, "\"22269\": \"guo9\""),
                "line 3: \"guo9\" is not a pinyin syllable",
            ),
            (
                with_line(chars, 2, "\"x\": \"zhōng\","),
                "line 2: the key \"x\" is not a code point",
            ),
            (
                with_line(chars, 3, "\"22269\": \"guó\","),
                "line 4: expected a string, found `}`",
            ),
            (
                with_line(chars, 2, "\"20013\": \"zh\\u014dng\","),
                "line 2: escapes",
            ),
            (with_line(chars, 1, "["), "line 1: expected `{`, found `[`"),
            (
                String::from("{\n\"20013\": \"zhōng\""),
                "line 3: unexpected end of file",
            ),
            (
                String::from("{\n\"20013\": \"zhōng\"\n}\nx"),
                "line 4: unexpected text after",
            ),
        ];
        for (src, want) in cases {
            let (file, message) = format_error(Dictionary::parse(&src, PHRASES).expect_err(want));
            assert_eq!(file, CHARS_FILE);
            assert!(message.starts_with(want), "{message} (wanted {want})");
        }
        let phrase_cases = [
            (
                with_line(PHRASES, 2, "\"中国\" ["),
                "line 2: expected `\"WORD\": [`",
            ),
            (
                with_line(PHRASES, 7, "\"gu0\""),
                "line 7: \"gu0\" is not a pinyin syllable",
            ),
            (
                with_line(PHRASES, 5, "]"),
                "line 2: \"中国\" has 2 characters but 1 readings",
            ),
            (
                with_line(PHRASES, 8, "],"),
                "line 9: expected `[`, found `],`",
            ),
            (
                with_line(PHRASES, 2, "\"中\": ["),
                "line 2: \"中\": a word must have 2",
            ),
            (
                with_line(PHRASES, 10, "\"中国\": ["),
                "line 10: \"中国\" is out of order or repeated",
            ),
        ];
        for (src, want) in phrase_cases {
            let (file, message) = format_error(Dictionary::parse(chars, &src).expect_err(want));
            assert_eq!(file, PHRASES_FILE);
            assert!(message.starts_with(want), "{message} (wanted {want})");
        }
    }

    #[test]
    fn error_offsets_are_line_starts() {
        let chars = "{\n\"20013\": \"zhōng\",\n\"22269\": \"guo9\"\n}";
        match Dictionary::parse(chars, PHRASES).unwrap_err() {
            Error::Format { offset, .. } => {
                assert_eq!(&chars[offset as usize..offset as usize + 7], "\"22269\"")
            }
            other => panic!("{other}"),
        }
    }
}
