//! The Mandarin front end against pypinyin 0.55.0 itself, on 600 People's Daily sentences
//! (tests/data/g2p, made by scripts/g2p_reference.py; the dictionary from assets/pypinyin).
//!
//! - Normalization must give exactly the text of the script's independent implementation of the
//!   same rules (`normalized.txt`), and that text is what pypinyin was given: pypinyin leaves
//!   digits alone, so both sides read the same characters.
//! - Syllables (without and with tone sandhi) and initials/finals are compared one by one with
//!   pypinyin's; the set of disagreements must be exactly the rows of
//!   tests/data/g2p/DISAGREEMENTS.md, where each class is explained. On a mismatch the test
//!   prints the rows that differ, in that file's format.

mod common;

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Instant;

use common::{asset, fixture};
use llmcore::audio::zh::{self, phonemes, Dictionary, Phoneme, Syllable, Token};

fn dictionary() -> &'static Dictionary {
    static DICT: OnceLock<Dictionary> = OnceLock::new();
    DICT.get_or_init(|| {
        let dir = asset("pypinyin");
        let chars = std::fs::read_to_string(dir.join("pinyin_dict.json")).unwrap();
        let phrases = std::fs::read_to_string(dir.join("phrases_dict.json")).unwrap();
        let t = Instant::now();
        let dict = Dictionary::parse(&chars, &phrases).unwrap();
        println!(
            "pypinyin dictionary parsed in {:.1} ms ({} + {} bytes)",
            t.elapsed().as_secs_f64() * 1e3,
            chars.len(),
            phrases.len()
        );
        dict
    })
}

fn fixture_lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fixture(&format!("g2p/{name}"))).unwrap();
    text.lines().map(String::from).collect()
}

#[test]
fn dictionary_is_complete_and_every_reading_splits_into_phonemes() {
    let dict = dictionary();
    assert_eq!((dict.char_count(), dict.phrase_count()), (41_923, 47_111));
    let loaded = Dictionary::load(&asset("pypinyin")).unwrap();
    assert_eq!(loaded.phrase_count(), dict.phrase_count());
    let mut distinct = BTreeSet::new();
    for s in dict.all_readings() {
        phonemes::split(s).unwrap_or_else(|e| panic!("{e}"));
        distinct.insert(s);
    }
    println!("{} distinct toned syllables, all split", distinct.len());
}

#[test]
fn normalization_agrees_with_the_reference_script() {
    let sentences = fixture_lines("sentences.txt");
    let normalized = fixture_lines("normalized.txt");
    assert_eq!(sentences.len(), normalized.len());
    assert!(sentences.len() >= 500);
    let with_digits = sentences
        .iter()
        .filter(|s| {
            s.chars()
                .any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c))
        })
        .count();
    assert!(with_digits >= 100, "{with_digits} sentences with digits");
    let differ: Vec<String> = sentences
        .iter()
        .zip(&normalized)
        .enumerate()
        .filter(|(_, (s, want))| zh::normalize(s).text() != want.as_str())
        .map(|(i, (s, want))| {
            format!(
                "line {}: {s}\n  ours:   {}\n  script: {want}",
                i + 1,
                zh::normalize(s).text()
            )
        })
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// The sandhi examples on the real dictionary. Its phrase list holds mostly words whose reading
/// needs stating: 展览 and 展览馆 are not in it, so 展览馆 is three one-character words and the
/// third-tone rule, which applies inside words, does not fire (the unit tests show it does when
/// the words are listed).
#[test]
fn sandhi_examples_on_the_real_dictionary() {
    let dict = dictionary();
    let read = |text: &str| -> String {
        let tokens = zh::pinyin(dict, text, true).unwrap();
        let s: Vec<String> = syllables(&tokens)
            .iter()
            .map(|(_, s)| s.to_string())
            .collect();
        s.join(" ")
    };
    let cases = [
        ("你好", "ni2 hao3"),
        ("一个", "yi2 ge4"),
        ("一天", "yi4 tian1"),
        ("第一", "di4 yi1"),
        ("不是", "bu2 shi4"),
        ("不好", "bu4 hao3"),
        ("1998年1月1日", "yi1 jiu3 jiu3 ba1 nian2 yi1 yue4 yi1 ri4"),
        ("增长3.5%", "zeng1 zhang3 bai3 fen1 zhi1 san1 dian3 wu3"),
        ("展览馆", "zhan3 lan3 guan3"),
    ];
    for (text, want) in cases {
        assert_eq!(read(text), want, "{text}");
    }
}

#[test]
fn every_sentence_becomes_phonemes_or_names_its_foreign_text() {
    let dict = dictionary();
    let (mut spoken, mut ids) = (0, 0);
    for sentence in fixture_lines("sentences.txt") {
        let tokens = zh::pinyin(dict, &sentence, true).unwrap();
        let foreign = tokens.iter().find_map(|t| match t {
            Token::Foreign(text, origin) => Some((text.clone(), origin.byte_start)),
            _ => None,
        });
        match (zh::phonemes(dict, &sentence), foreign) {
            (Ok(p), None) => {
                let syllables = syllables(&tokens).len();
                let boundaries = tokens
                    .iter()
                    .filter(|t| matches!(t, Token::Boundary(..)))
                    .count();
                let finals = p.len() - boundaries;
                assert!((syllables..=2 * syllables).contains(&finals), "{sentence}");
                spoken += 1;
                ids += p.len();
            }
            (Err(e), Some((text, byte))) => {
                let message = e.to_string();
                assert!(
                    message.contains(&format!("\"{text}\" at character")),
                    "{message}"
                );
                assert!(message.contains(&format!("(byte {byte})")), "{message}");
                assert!(sentence[byte..].starts_with(&text), "{sentence}");
            }
            (got, foreign) => panic!("{sentence}: {got:?} with foreign text {foreign:?}"),
        }
    }
    println!(
        "{spoken} sentences spoken as {ids} phoneme ids; the others hold Latin letters or symbols"
    );
    assert!(spoken >= 500);
}

/// A disagreement: mode, line (1-based), syllable index (0-based), character, context, ours,
/// pypinyin's.
type Row = (String, usize, usize, char, String, String, String);

fn syllables(tokens: &[Token]) -> Vec<(char, Syllable)> {
    let mut out = Vec::new();
    for t in tokens {
        if let Token::Word(w) = t {
            out.extend(w.text.chars().zip(w.syllables.iter().copied()));
        }
    }
    out
}

/// `INITIAL+FINAL` as the reference writes it, our apical finals written `i` as pypinyin's
/// strict mode does (the one mapping the comparison applies; see DISAGREEMENTS.md).
fn phones(s: Syllable) -> String {
    let (initial, final_) = phonemes::split(s).unwrap();
    let final_ = final_.symbol();
    let final_ = match final_
        .strip_prefix("iii")
        .or_else(|| final_.strip_prefix("ii"))
    {
        Some(tone) => format!("i{tone}"),
        None => String::from(final_),
    };
    format!("{}+{final_}", initial.map_or("-", Phoneme::symbol))
}

fn context(chars: &[char], k: usize) -> String {
    chars[k.saturating_sub(2)..(k + 3).min(chars.len())]
        .iter()
        .collect()
}

fn listed_rows() -> (BTreeSet<Row>, BTreeSet<String>, Vec<(Row, String)>) {
    let text = std::fs::read_to_string(fixture("g2p/DISAGREEMENTS.md")).unwrap();
    let classes: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|c| {
            c.split_whitespace()
                .next()
                .unwrap()
                .trim_matches('`')
                .to_string()
        })
        .collect();
    let mut rows = BTreeSet::new();
    let mut classed = Vec::new();
    let table = text
        .split_once("\n## Rows\n")
        .expect("DISAGREEMENTS.md has a `## Rows` section")
        .1;
    for line in table.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells[0] == "mode" {
            continue;
        }
        assert_eq!(cells.len(), 8, "DISAGREEMENTS.md row {line:?}");
        let row = (
            cells[0].to_string(),
            cells[1].parse().unwrap(),
            cells[2].parse().unwrap(),
            cells[3].chars().next().unwrap(),
            cells[4].to_string(),
            cells[5].to_string(),
            cells[6].to_string(),
        );
        classed.push((row.clone(), cells[7].trim_matches('`').to_string()));
        assert!(rows.insert(row), "DISAGREEMENTS.md lists {line:?} twice");
    }
    (rows, classes, classed)
}

fn row_line(r: &Row) -> String {
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | ? |",
        r.0, r.1, r.2, r.3, r.4, r.5, r.6
    )
}

#[test]
fn disagreements_with_pypinyin_are_the_listed_ones() {
    let dict = dictionary();
    let sentences = fixture_lines("sentences.txt");
    let references = [
        ("plain", fixture_lines("pypinyin_tone3.txt")),
        ("sandhi", fixture_lines("pypinyin_tone3_sandhi.txt")),
        ("phones", fixture_lines("pypinyin_phones.txt")),
    ];
    let mut found = BTreeSet::new();
    let mut compared = [0usize; 3];
    for (line, sentence) in sentences.iter().enumerate() {
        let plain = syllables(&zh::pinyin(dict, sentence, false).unwrap());
        let sandhi = syllables(&zh::pinyin(dict, sentence, true).unwrap());
        let chars: Vec<char> = plain.iter().map(|&(c, _)| c).collect();
        for (m, (mode, reference)) in references.iter().enumerate() {
            let theirs: Vec<&str> = reference[line].split(' ').collect();
            let ours: Vec<String> = match *mode {
                "plain" => plain.iter().map(|(_, s)| s.to_string()).collect(),
                "sandhi" => sandhi.iter().map(|(_, s)| s.to_string()).collect(),
                _ => plain.iter().map(|&(_, s)| phones(s)).collect(),
            };
            assert_eq!(
                ours.len(),
                theirs.len(),
                "line {}: {} syllables, pypinyin has {}",
                line + 1,
                ours.len(),
                theirs.len()
            );
            compared[m] += ours.len();
            for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                if a != b {
                    found.insert((
                        mode.to_string(),
                        line + 1,
                        k,
                        chars[k],
                        context(&chars, k),
                        a.clone(),
                        b.to_string(),
                    ));
                }
            }
        }
    }
    for (m, (mode, _)) in references.iter().enumerate() {
        let n = found.iter().filter(|r| r.0 == *mode).count();
        println!(
            "{mode}: {} of {} syllables agree with pypinyin ({:.2}%)",
            compared[m] - n,
            compared[m],
            100.0 * (compared[m] - n) as f64 / compared[m] as f64
        );
    }
    let (listed, classes, classed) = listed_rows();
    let mut counts = std::collections::BTreeMap::new();
    for (row, class) in &classed {
        assert!(
            classes.contains(class),
            "DISAGREEMENTS.md: {row:?} has the class {class:?}, which has no ### section"
        );
        *counts.entry((row.0.clone(), class.clone())).or_insert(0) += 1;
    }
    for ((mode, class), n) in &counts {
        println!("  {mode} {class}: {n}");
    }
    let missing: Vec<String> = found.difference(&listed).map(row_line).collect();
    let gone: Vec<String> = listed.difference(&found).map(row_line).collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "disagreements not in DISAGREEMENTS.md:\n{}\nlisted there but no longer found:\n{}",
        missing.join("\n"),
        gone.join("\n")
    );
}

#[test]
fn empty_text_is_an_error() {
    for text in ["", "  \n"] {
        let e = llmcore::audio::zh::pinyin(dictionary(), text, true).unwrap_err();
        assert!(e.to_string().contains("the text is empty"), "{e}");
    }
}
