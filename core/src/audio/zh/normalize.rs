//! Text normalization: numbers written with digits become the Han characters that are read
//! aloud, so that the rest of the front end sees only Han characters, punctuation and foreign
//! symbols. Every output character keeps an [`Origin`]: where in the caller's text it came from
//! (so an error points at the user's text, and an aligner can map phonemes back).
//!
//! Only numbers are rewritten; every other character is copied. Digits are ASCII `0-9` or
//! full-width `０-９`. A `-`/`－` right before a digit is a minus sign, read 负 (`-5`, `－５` →
//! 负五), unless a digit or a Latin letter precedes it (the dash of `1997-1998` stays, a pause).
//! At each maximal digit run the first rule that matches applies:
//!
//! | written | read | rule |
//! |---|---|---|
//! | `50%`, `3.5％`, `5‰` | 百分之五十, 百分之三点五, 千分之五 | percentage (`%`, `％`) and per mille (`‰`) after the number: `百分之`/`千分之`, then the number |
//! | `3.14`, `０．５` | 三点一四, 零点五 | decimal (`.` or `．` followed by a digit): the integer part as a cardinal, `点`, the fraction digit by digit |
//! | `10:30`, `9:05`, `10:00` | 十点三十分, 九点零五分, 十点 | time: `H:MM` with `H` of one or two digits at most 24 and `MM` two digits at most 59 (`:`, `：`, `∶`); `00` minutes are not read |
//! | `3:1`, `２∶０` | 三比一, 二比零 | any other `number:number` is a score or ratio: `比` |
//! | `2024年` | 二零二四年 | a four-digit run right before `年` (and no minus) is a year, read digit by digit |
//! | `3月5日`, `1号` | 三月五日, 一号 | a run right before `月`, `日` or `号` is a cardinal (marked [`Reading::Date`]: its 一 keeps tone 1) |
//! | `007`, `13812345678` | 零零七, 一三八一二三四五六七八 | a run with a leading zero, or longer than 9 digits, is a code or a phone number: digit by digit |
//! | `10`, `1005`, `20000`, `120000000` | 十, 一千零五, 两万, 一亿二千万 | otherwise a cardinal |
//!
//! Cardinals (at most nine digits, so below 十亿) are grouped by four into 亿 and 万 groups. A
//! zero is read 零 once for each gap: between non-zero digits inside a group (一千零五, 一千零五十),
//! before a group below 1000 that follows a non-zero group (十万零五百), and before a group that
//! follows an all-zero group (一亿零一千); trailing zeros are silent. A leading 一十 is read 十
//! (十, 十五万) but 一十 inside a number stays (一百一十). The digit 2 is 二 everywhere except as the
//! first digit of a number whose next unit is 千, 万 or 亿, where it is 两 (两千, 两万五千, 两亿 but
//! 二百, 二十万, 一万二千); a lone `2` followed in the text by 千, 万 or 亿 (`２万`) is 两 as well.
//! 两 before measure words (`2个` → 二个) is not attempted: it needs the measure-word class.
//!
//! Punctuation is not touched here: the grapheme-to-pinyin step keeps it as prosodic boundaries
//! (see [`super::g2p`]).

use alloc::{string::String, vec::Vec};

/// How a normalized character is read; the tone sandhi rules of 一 depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Copied from the input.
    Text,
    /// A digit read on its own: years, codes and phone numbers, the fraction of a decimal.
    Digits,
    /// Part of a number read as a whole: cardinals, and the words a reading adds (负, 点, 百分之,
    /// 比, 分).
    Number,
    /// A month or day number (`3月5日`): read as a cardinal, an ordinal in meaning.
    Date,
}

/// Where a normalized character came from in the caller's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Index (in characters) of the first input character it was read from.
    pub char_index: usize,
    /// Byte range of the input it was read from (a whole number for a cardinal's characters).
    pub byte_start: usize,
    pub byte_end: usize,
    pub reading: Reading,
}

/// Normalized text: the characters to read and, for each, its [`Origin`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    text: String,
    origins: Vec<Origin>,
}

impl Normalized {
    /// The text to read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// One origin per character of [`Normalized::text`].
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// The characters with their origins.
    pub fn chars(&self) -> impl Iterator<Item = (char, Origin)> + '_ {
        self.text.chars().zip(self.origins.iter().copied())
    }

    fn push(&mut self, c: char, origin: Origin) {
        self.text.push(c);
        self.origins.push(origin);
    }
}

const DIGIT_NAMES: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Numbers with more digits than this are read digit by digit (9 digits: below 十亿).
const MAX_CARDINAL_DIGITS: usize = 9;

/// The value of an ASCII or full-width digit.
fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, 'Ａ'..='Ｚ' | 'ａ'..='ｚ')
}

/// Reads the numbers of `input` aloud (the rules are in the module documentation).
pub fn normalize(input: &str) -> Normalized {
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let mut out = Normalized {
        text: String::with_capacity(input.len()),
        origins: Vec::with_capacity(chars.len()),
    };
    let scanner = Scanner {
        input,
        chars: &chars,
    };
    let mut i = 0;
    while i < chars.len() {
        i = scanner.number_at(i, &mut out).unwrap_or_else(|| {
            out.push(chars[i].1, scanner.origin(i, i + 1, Reading::Text));
            i + 1
        });
    }
    out
}

struct Scanner<'a> {
    input: &'a str,
    chars: &'a [(usize, char)],
}

impl Scanner<'_> {
    fn char_at(&self, i: usize) -> Option<char> {
        self.chars.get(i).map(|&(_, c)| c)
    }

    fn is_digit_at(&self, i: usize) -> bool {
        self.char_at(i).and_then(digit_value).is_some()
    }

    /// The origin of input characters `start..end`.
    fn origin(&self, start: usize, end: usize, reading: Reading) -> Origin {
        let byte_end = self
            .chars
            .get(end)
            .map_or(self.input.len(), |&(offset, _)| offset);
        Origin {
            char_index: start,
            byte_start: self.chars[start].0,
            byte_end,
            reading,
        }
    }

    /// End of the digit run starting at `i`.
    fn digit_run_end(&self, mut i: usize) -> usize {
        while self.is_digit_at(i) {
            i += 1;
        }
        i
    }

    fn digits(&self, start: usize, end: usize) -> impl Iterator<Item = u32> + '_ {
        self.chars[start..end]
            .iter()
            .filter_map(|&(_, c)| digit_value(c))
    }

    /// Reads the number starting at input character `i` (a digit, or a minus sign before one)
    /// into `out`; returns the index after it, or `None` when no number starts at `i`.
    fn number_at(&self, i: usize, out: &mut Normalized) -> Option<usize> {
        let c = self.char_at(i)?;
        let negative = matches!(c, '-' | '－')
            && self.is_digit_at(i + 1)
            && !i
                .checked_sub(1)
                .and_then(|p| self.char_at(p))
                .is_some_and(|p| digit_value(p).is_some() || is_latin_letter(p));
        if !negative && digit_value(c).is_none() {
            return None;
        }
        let start = if negative { i + 1 } else { i };
        let int_end = self.digit_run_end(start);
        let after = self.char_at(int_end);
        let fraction = (matches!(after, Some('.' | '．')) && self.is_digit_at(int_end + 1))
            .then(|| (int_end + 1, self.digit_run_end(int_end + 1)));
        let number_end = fraction.map_or(int_end, |(_, end)| end);
        let percent = match self.char_at(number_end) {
            Some('%' | '％') => Some('百'),
            Some('‰') => Some('千'),
            _ => None,
        };

        if negative {
            out.push('负', self.origin(i, start, Reading::Number));
        }
        if let Some(unit) = percent {
            let sign = self.origin(number_end, number_end + 1, Reading::Number);
            for c in [unit, '分', '之'] {
                out.push(c, sign);
            }
            self.decimal(start, int_end, fraction, out);
            return Some(number_end + 1);
        }
        if fraction.is_some() {
            self.decimal(start, int_end, fraction, out);
            return Some(number_end);
        }
        if matches!(after, Some(':' | '：' | '∶')) && self.is_digit_at(int_end + 1) {
            let second_end = self.digit_run_end(int_end + 1);
            self.colon(start, int_end, second_end, out);
            return Some(second_end);
        }
        match after {
            Some('年') if !negative && int_end - start == 4 => {
                self.digit_by_digit(start, int_end, out);
            }
            Some('月' | '日' | '号') if !negative => {
                self.integer(start, int_end, Reading::Date, out);
            }
            _ => self.integer(start, int_end, Reading::Number, out),
        }
        Some(int_end)
    }

    /// A decimal (or an integer, when `fraction` is `None`): the integer part, then `点` and the
    /// fraction digit by digit.
    fn decimal(
        &self,
        start: usize,
        int_end: usize,
        fraction: Option<(usize, usize)>,
        out: &mut Normalized,
    ) {
        if int_end - start > MAX_CARDINAL_DIGITS {
            self.digit_by_digit(start, int_end, out);
        } else {
            self.cardinal(start, int_end, Reading::Number, out);
        }
        if let Some((frac_start, frac_end)) = fraction {
            out.push(
                '点',
                self.origin(frac_start - 1, frac_start, Reading::Number),
            );
            self.digit_by_digit(frac_start, frac_end, out);
        }
    }

    /// `a:b`, a time when it looks like one (`H:MM`), else a score or ratio.
    fn colon(&self, start: usize, colon: usize, second_end: usize, out: &mut Normalized) {
        let value = |from: usize, to: usize| self.digits(from, to).fold(0u32, |v, d| v * 10 + d);
        let (hours, minutes) = (value(start, colon), value(colon + 1, second_end));
        let is_time = colon - start <= 2 && hours <= 24 && second_end - colon == 3 && minutes <= 59;
        let separator = self.origin(colon, colon + 1, Reading::Number);
        if !is_time {
            self.integer(start, colon, Reading::Number, out);
            out.push('比', separator);
            self.integer(colon + 1, second_end, Reading::Number, out);
            return;
        }
        self.cardinal(start, colon, Reading::Number, out);
        out.push('点', separator);
        if minutes == 0 {
            return;
        }
        let minutes_origin = self.origin(colon + 1, second_end, Reading::Number);
        if minutes < 10 {
            out.push('零', minutes_origin);
        }
        self.cardinal(colon + 1, second_end, Reading::Number, out);
        out.push('分', minutes_origin);
    }

    /// An integer standing alone: a cardinal, or digit by digit when it has a leading zero or
    /// more than [`MAX_CARDINAL_DIGITS`] digits.
    fn integer(&self, start: usize, end: usize, reading: Reading, out: &mut Normalized) {
        let leading_zero = end - start > 1 && self.digits(start, end).next() == Some(0);
        if leading_zero || end - start > MAX_CARDINAL_DIGITS {
            self.digit_by_digit(start, end, out);
        } else {
            self.cardinal(start, end, reading, out);
        }
    }

    fn digit_by_digit(&self, start: usize, end: usize, out: &mut Normalized) {
        for (k, d) in self.digits(start, end).enumerate() {
            let origin = self.origin(start + k, start + k + 1, Reading::Digits);
            out.push(DIGIT_NAMES[d as usize], origin);
        }
    }

    /// The cardinal reading of the digits `start..end` (at most nine of them).
    fn cardinal(&self, start: usize, end: usize, reading: Reading, out: &mut Normalized) {
        let value = self.digits(start, end).fold(0u32, |v, d| v * 10 + d);
        let mut text = cardinal(value);
        if text == "二" && matches!(self.char_at(end), Some('千' | '万' | '亿')) {
            text = String::from("两");
        }
        let origin = self.origin(start, end, reading);
        for c in text.chars() {
            out.push(c, origin);
        }
    }
}

/// The cardinal reading of `n` (below 10^9; the rules are in the module documentation).
pub fn cardinal(n: u32) -> String {
    debug_assert!(n < 1_000_000_000);
    let mut s = String::new();
    if n == 0 {
        s.push('零');
        return s;
    }
    let groups = [
        (n / 100_000_000, Some('亿')),
        ((n / 10_000) % 10_000, Some('万')),
        (n % 10_000, None),
    ];
    let (mut started, mut gap) = (false, false);
    for (group, unit) in groups {
        if group == 0 {
            gap |= started;
            continue;
        }
        if started && (group < 1000 || gap) {
            s.push('零');
        }
        group_reading(group, &mut s);
        s.extend(unit);
        started = true;
        gap = false;
    }
    if s.starts_with("一十") {
        s.remove(0);
    }
    let mut chars = s.chars();
    if chars.next() == Some('二') && matches!(chars.next(), Some('千' | '万' | '亿')) {
        s.replace_range(..'二'.len_utf8(), "两");
    }
    s
}

/// A group of four digits (1..=9999), zeros inside it read 零 once per gap.
fn group_reading(group: u32, s: &mut String) {
    let places = [
        (1000, Some('千')),
        (100, Some('百')),
        (10, Some('十')),
        (1, None),
    ];
    let (mut started, mut gap) = (false, false);
    for (place, unit) in places {
        let d = (group / place) % 10;
        if d == 0 {
            gap |= started;
            continue;
        }
        if gap {
            s.push('零');
            gap = false;
        }
        s.push(DIGIT_NAMES[d as usize]);
        s.extend(unit);
        started = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str) -> String {
        String::from(normalize(input).text())
    }

    #[test]
    fn cardinals_follow_the_zero_and_ten_rules() {
        let cases = [
            (0, "零"),
            (7, "七"),
            (10, "十"),
            (15, "十五"),
            (20, "二十"),
            (110, "一百一十"),
            (200, "二百"),
            (1005, "一千零五"),
            (1050, "一千零五十"),
            (1500, "一千五百"),
            (2000, "两千"),
            (2500, "两千五百"),
            (10000, "一万"),
            (12000, "一万二千"),
            (20000, "两万"),
            (100000, "十万"),
            (100500, "十万零五百"),
            (105000, "十万五千"),
            (220000, "二十二万"),
            (10010000, "一千零一万"),
            (100000005, "一亿零五"),
            (100001000, "一亿零一千"),
            (100010000, "一亿零一万"),
            (120000000, "一亿二千万"),
            (200000000, "两亿"),
            (999999999, "九亿九千九百九十九万九千九百九十九"),
        ];
        for (n, want) in cases {
            assert_eq!(cardinal(n), want, "{n}");
        }
    }

    #[test]
    fn numbers_in_text_are_read_by_context() {
        let cases = [
            ("2024年3月5日", "二零二四年三月五日"),
            ("１９９７年１２月３１日", "一九九七年十二月三十一日"),
            ("10年", "十年"),
            ("90年代", "九十年代"),
            ("圆周率约3.14", "圆周率约三点一四"),
            ("０．５", "零点五"),
            ("10.05", "十点零五"),
            ("增长50%", "增长百分之五十"),
            ("３．５％", "百分之三点五"),
            ("5‰", "千分之五"),
            ("10:30开会", "十点三十分开会"),
            ("9:05", "九点零五分"),
            ("10：00", "十点"),
            ("以３∶１获胜", "以三比一获胜"),
            ("25:61", "二十五比六十一"),
            ("气温-5度", "气温负五度"),
            ("－２．５", "负二点五"),
            ("1997-1998", "一千九百九十七-一千九百九十八"),
            ("电话13812345678", "电话一三八一二三四五六七八"),
            ("编号007", "编号零零七"),
            ("２万人", "两万人"),
            ("2个", "二个"),
            ("共1000", "共一千"),
            ("第1", "第一"),
            ("没有数字。", "没有数字。"),
            ("3.", "三."),
        ];
        for (input, want) in cases {
            assert_eq!(read(input), want, "{input}");
        }
    }

    #[test]
    fn every_output_character_points_back_at_its_input() {
        let input = "共50%，即2024年";
        let n = normalize(input);
        let got: Vec<(char, &str, Reading)> = n
            .chars()
            .map(|(c, o)| (c, &input[o.byte_start..o.byte_end], o.reading))
            .collect();
        use Reading::*;
        let want = [
            ('共', "共", Text),
            ('百', "%", Number),
            ('分', "%", Number),
            ('之', "%", Number),
            ('五', "50", Number),
            ('十', "50", Number),
            ('，', "，", Text),
            ('即', "即", Text),
            ('二', "2", Digits),
            ('零', "0", Digits),
            ('二', "2", Digits),
            ('四', "4", Digits),
            ('年', "年", Text),
        ];
        assert_eq!(got, want);
        let year = n.origins()[8];
        assert_eq!((year.char_index, year.byte_start), (6, 12));
    }

    #[test]
    fn month_and_day_numbers_are_marked_as_dates() {
        let n = normalize("1月1日");
        let readings: Vec<Reading> = n.origins().iter().map(|o| o.reading).collect();
        use Reading::*;
        assert_eq!(readings, [Date, Text, Date, Text]);
    }
}
