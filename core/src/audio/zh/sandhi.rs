//! Tone sandhi: the tone changes of connected Mandarin speech, applied to the dictionary's
//! citation tones (the rules as summarised in
//! <https://en.wikipedia.org/wiki/Standard_Chinese_phonology#Tone_sandhi>, which pypinyin's
//! `tone_sandhi` also cites; where we differ from pypinyin is measured and explained in
//! `tests/data/g2p/DISAGREEMENTS.md`).
//!
//! **Third tone.** A third tone before another third tone becomes a second tone (你好 ni2 hao3).
//! It applies inside a word of the segmentation, cyclically by the word's structure: a word of
//! n characters is cut into parts by forward maximum matching with words shorter than n (its
//! immediate constituents, as far as the dictionary can tell), the rule applies inside each part
//! first, then at each boundary between parts, looking at the parts' tones after their own
//! sandhi. So 展览馆 = 展览|馆 reads zhan2 lan2 guan3, 小老虎 = 小|老虎 reads xiao3 lao2 hu3, and
//! a run with no inner words (all single characters) turns every third tone but the last into
//! a second. It does not apply across words: that needs prosodic phrasing, which a dictionary
//! segmenter cannot give. (pypinyin's phrase dictionary lists mostly words whose reading needs
//! stating; 展览 and 展览馆 are not among them, so with it 展览馆 is three words and keeps
//! zhan3 lan3 guan3.)
//!
//! **一 yī** (applied across words, within a stretch of speech that no pause interrupts): tone 1
//! when read as a digit or a date (一九九八, 3月1日), after 第 (第一; but 第一百 reads yi4 bai3),
//! next to another numeral (十一, 一一), before 月 and 号 (一月, 一号), at the end of a word of
//! several characters (统一), or before a pause or the end; neutral between a repeated
//! character (看一看); otherwise tone 2 before a fourth tone (一个 yi2 ge4, 一定) and tone 4
//! before tones 1, 2, 3 and the neutral tone (一天 yi4 tian1, 一年, 一起).
//!
//! **不 bù**: neutral between a repeated character (是不是 shi4 bu5 shi4), tone 2 before a
//! fourth tone (不是 bu2 shi4), tone 4 otherwise (不好 bu4 hao3).
//!
//! A 一 or 不 that the dictionary reads with the neutral tone, or with another syllable, is left
//! as it is. The 一/不 rules look at the neighbours' tones after third-tone sandhi and before
//! any 一/不 change (which never creates or removes a fourth tone).

use super::dictionary::Dictionary;
use super::g2p::{segment_at_most, Token};
use super::normalize::Reading;
use super::syllable::Syllable;
use alloc::vec::Vec;

/// Applies the three rules to the words of `tokens`.
pub fn apply(dict: &Dictionary, tokens: &mut [Token]) {
    for token in tokens.iter_mut() {
        if let Token::Word(word) = token {
            third_tone(dict, &word.text, &mut word.syllables);
        }
    }
    for stretch in tokens.split_mut(|t| !matches!(t, Token::Word(_))) {
        yi_and_bu(stretch);
    }
}

/// Third-tone sandhi inside one word, by its structure (module documentation).
fn third_tone(dict: &Dictionary, text: &str, syllables: &mut [Syllable]) {
    let n = syllables.len();
    if n < 2 {
        return;
    }
    let mut ends = Vec::new();
    let mut at = 0;
    for part in segment_at_most(dict, text, n - 1) {
        let k = part.chars().count();
        third_tone(dict, part, &mut syllables[at..at + k]);
        at += k;
        ends.push(at);
    }
    let tones: Vec<u8> = syllables.iter().map(Syllable::tone).collect();
    for &end in &ends[..ends.len() - 1] {
        if tones[end - 1] == 3 && tones[end] == 3 {
            syllables[end - 1] = syllables[end - 1].with_tone(2);
        }
    }
}

/// One character of a stretch of words, with what the 一/不 rules look at.
struct Site {
    word: usize,
    index: usize,
    ch: char,
    tone: u8,
    reading: Reading,
    /// Last character of a word of two or more.
    ends_long_word: bool,
}

const NUMERALS: &str = "零〇一二三四五六七八九十";
/// Units after which 一 is a cardinal's digit again (第一百 di4 yi4 bai3).
const UNITS: &str = "百千万亿";

/// The 一 and 不 rules over a stretch of words with no pause between them.
fn yi_and_bu(stretch: &mut [Token]) {
    let mut sites = Vec::new();
    for (w, token) in stretch.iter().enumerate() {
        let Token::Word(word) = token else { continue };
        let n = word.syllables.len();
        for (k, (ch, syllable)) in word.text.chars().zip(&word.syllables).enumerate() {
            sites.push(Site {
                word: w,
                index: k,
                ch,
                tone: syllable.tone(),
                reading: word.origins[k].reading,
                ends_long_word: n > 1 && k == n - 1,
            });
        }
    }
    for (i, site) in sites.iter().enumerate() {
        let Token::Word(word) = &mut stretch[site.word] else {
            continue;
        };
        let syllable = &mut word.syllables[site.index];
        let prev = i.checked_sub(1).map(|p| &sites[p]);
        let next = sites.get(i + 1);
        let tone = match (site.ch, syllable.letters()) {
            _ if site.tone == 5 => None,
            ('一', "yi") => Some(yi_tone(site, prev, next)),
            ('不', "bu") => Some(bu_tone(prev, next)),
            _ => None,
        };
        if let Some(tone) = tone {
            *syllable = syllable.with_tone(tone);
        }
    }
}

fn is_repetition(prev: Option<&Site>, next: Option<&Site>) -> bool {
    matches!((prev, next), (Some(p), Some(n)) if p.ch == n.ch)
}

fn yi_tone(site: &Site, prev: Option<&Site>, next: Option<&Site>) -> u8 {
    let numeral = |s: Option<&Site>| s.is_some_and(|s| NUMERALS.contains(s.ch));
    if matches!(site.reading, Reading::Digits | Reading::Date) {
        return 1;
    }
    if is_repetition(prev, next) {
        return 5;
    }
    let ordinal = prev.is_some_and(|p| p.ch == '第') && !next.is_some_and(|n| UNITS.contains(n.ch));
    if ordinal || numeral(prev) || numeral(next) || site.ends_long_word {
        return 1;
    }
    match next {
        None => 1,
        Some(n) if n.ch == '月' || n.ch == '号' => 1,
        Some(n) if n.tone == 4 => 2,
        Some(_) => 4,
    }
}

fn bu_tone(prev: Option<&Site>, next: Option<&Site>) -> u8 {
    if is_repetition(prev, next) {
        return 5;
    }
    match next {
        Some(n) if n.tone == 4 => 2,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::zh::g2p::to_pinyin;
    use crate::audio::zh::normalize::normalize;
    use alloc::string::{String, ToString};

    fn dictionary() -> Dictionary {
        Dictionary::from_entries(
            &[
                ('一', "yī"),
                ('不', "bù,fǒu"),
                ('个', "gè"),
                ('九', "jiǔ"),
                ('八', "bā"),
                ('天', "tiān"),
                ('年', "nián"),
                ('起', "qǐ"),
                ('第', "dì"),
                ('是', "shì"),
                ('好', "hǎo"),
                ('你', "nǐ"),
                ('展', "zhǎn"),
                ('览', "lǎn"),
                ('馆', "guǎn"),
                ('小', "xiǎo"),
                ('老', "lǎo"),
                ('虎', "hǔ"),
                ('统', "tǒng"),
                ('看', "kàn,kān"),
                ('月', "yuè"),
                ('我', "wǒ"),
                ('很', "hěn"),
                ('了', "le,liǎo"),
                ('十', "shí"),
                ('日', "rì"),
                ('百', "bǎi"),
                ('号', "hào,háo"),
            ],
            &[
                ("你好", &["nǐ", "hǎo"]),
                ("展览", &["zhǎn", "lǎn"]),
                ("展览馆", &["zhǎn", "lǎn", "guǎn"]),
                ("老虎", &["lǎo", "hǔ"]),
                ("小老虎", &["xiǎo", "lǎo", "hǔ"]),
                ("统一", &["tǒng", "yī"]),
                ("是不是", &["shì", "bú", "shì"]),
                ("好了", &["hǎo", "le"]),
                ("不了", &["bù", "liǎo"]),
                ("看不", &["kàn", "bu"]),
            ],
        )
    }

    /// The text's syllables after sandhi, separated by spaces.
    fn read(text: &str) -> String {
        let dict = dictionary();
        let mut tokens = to_pinyin(&dict, &normalize(text)).unwrap();
        apply(&dict, &mut tokens);
        let mut out = Vec::new();
        for token in &tokens {
            match token {
                Token::Word(w) => out.extend(w.syllables.iter().map(Syllable::to_string)),
                _ => out.push(String::from("|")),
            }
        }
        out.join(" ")
    }

    #[test]
    fn third_tone_follows_the_word_structure() {
        assert_eq!(read("你好"), "ni2 hao3");
        assert_eq!(read("展览馆"), "zhan2 lan2 guan3");
        assert_eq!(read("小老虎"), "xiao3 lao2 hu3");
        // Across words it does not apply: 我 | 很 | 好 are three words here.
        assert_eq!(read("我很好"), "wo3 hen3 hao3");
        assert_eq!(read("好了"), "hao3 le5");
    }

    #[test]
    fn yi_changes_by_context() {
        assert_eq!(read("一个"), "yi2 ge4");
        assert_eq!(read("一天"), "yi4 tian1");
        assert_eq!(read("一年"), "yi4 nian2");
        assert_eq!(read("一起"), "yi4 qi3");
        assert_eq!(read("第一"), "di4 yi1");
        assert_eq!(read("第一百"), "di4 yi4 bai3");
        assert_eq!(read("统一"), "tong3 yi1");
        assert_eq!(read("一"), "yi1");
        assert_eq!(read("一，"), "yi1 |");
        assert_eq!(read("一九九八"), "yi1 jiu3 jiu3 ba1");
        assert_eq!(read("十一"), "shi2 yi1");
        assert_eq!(read("看一看"), "kan4 yi5 kan4");
        assert_eq!(read("一月"), "yi1 yue4");
        assert_eq!(read("一号"), "yi1 hao4");
    }

    #[test]
    fn yi_read_from_digits_keeps_tone_one() {
        // A year digit and a date number keep tone 1; a cardinal follows the context.
        assert_eq!(read("1998年"), "yi1 jiu3 jiu3 ba1 nian2");
        assert_eq!(read("1日"), "yi1 ri4");
        assert_eq!(read("1个"), "yi2 ge4");
        assert_eq!(read("1天"), "yi4 tian1");
    }

    #[test]
    fn bu_changes_before_a_fourth_tone() {
        assert_eq!(read("不是"), "bu2 shi4");
        assert_eq!(read("不好"), "bu4 hao3");
        assert_eq!(read("是不是"), "shi4 bu5 shi4");
        assert_eq!(read("不"), "bu4");
        assert_eq!(read("不一个"), "bu4 yi2 ge4");
    }

    #[test]
    fn a_pause_separates_the_contexts() {
        assert_eq!(read("不，是"), "bu4 | shi4");
        assert_eq!(read("一，个"), "yi1 | ge4");
    }

    #[test]
    fn a_neutral_yi_or_bu_from_the_dictionary_stays_neutral() {
        // 看不 is listed with a neutral 不: it stays so even before a fourth tone.
        assert_eq!(read("看不是"), "kan4 bu5 shi4");
        assert_eq!(read("不了"), "bu4 liao3");
    }
}
