//! The corpus reader on a generated MSceneSpeech-style corpus (tests/data/audio/corpus, made by
//! scripts/make_audio_corpus.sh: espeak-ng's Mandarin voice variants m3 and f3 as speakers;
//! scenes set by speaking rate, pitch and word gaps — news 230 wpm / pitch 40 / no gaps, chat
//! 185 / 85 / 20 ms, qa 160 / 50 / 60 ms, story 130 / 60 / 150 ms). The prosody statistics must
//! separate the scenes as they were set, the files must hold what the manifest says, and bad
//! layouts must be named. Needs the pypinyin dictionary (scripts/fetch-assets.sh).
//!
//! `cargo test --release --test audio_corpus -- --nocapture`

mod common;

use llmcore::audio::corpus::{build, scan, CorpusConfig, CorpusReport, UtteranceRecord};
use llmcore::audio::features::Preset;
use llmcore::audio::prosody::ActivityConfig;
use llmcore::audio::zh::Dictionary;
use llmcore::io::json::{parse, Json};
use llmcore::io::safetensors::SafeTensors;
use llmcore::Error;
use std::path::{Path, PathBuf};

fn dictionary() -> Dictionary {
    Dictionary::load(&common::asset("pypinyin")).expect("run scripts/fetch-assets.sh")
}

fn config() -> CorpusConfig {
    CorpusConfig {
        features: Preset::FastSpeech2.config(),
        activity: ActivityConfig::default(),
    }
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("llmcore-corpus-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn built(out: &Path) -> CorpusReport {
    let root = common::fixture("audio/corpus");
    let utterances = scan(&root).unwrap();
    assert_eq!(utterances.len(), 16);
    build(
        &utterances,
        out,
        &config(),
        &dictionary(),
        &mut |_, _, _| true,
    )
    .unwrap()
}

const SCENES: [&str; 4] = ["news", "chat", "qa", "story"];

/// Mean of `field` over one speaker's utterances of one scene (or all speakers' with None).
fn mean(report: &CorpusReport, scene: &str, speaker: Option<&str>, field: usize) -> f32 {
    let own: Vec<f32> = report
        .utterances
        .iter()
        .filter(|r| r.utterance.scene == scene && speaker.is_none_or(|s| r.utterance.speaker == s))
        .map(|r| r.prosody.vector()[field])
        .collect();
    own.iter().sum::<f32>() / own.len() as f32
}

/// The scenes ordered by `field`, highest first.
fn order(report: &CorpusReport, speaker: Option<&str>, field: usize) -> Vec<&'static str> {
    let mut s = SCENES.to_vec();
    s.sort_by(|a, b| mean(report, b, speaker, field).total_cmp(&mean(report, a, speaker, field)));
    s
}

#[test]
fn prosody_separates_the_scenes_as_set() {
    let out = temp("separate");
    let report = built(&out);
    const F0_MEAN: usize = 0;
    const RATE: usize = 5;
    const PAUSE: usize = 6;
    for (scene, n) in &report.scenes {
        eprintln!("{scene:<6} mean {:?}", n.mean);
    }
    // Speaking rate: set 230 > 185 > 160 > 130 words per minute.
    assert_eq!(order(&report, None, RATE), ["news", "chat", "qa", "story"]);
    // Pitch: set 85 (chat) > 60 (story) > 50 (qa) > 40 (news), per speaker (timbre apart).
    for speaker in ["spk_f3", "spk_m3"] {
        assert_eq!(
            order(&report, Some(speaker), F0_MEAN),
            ["chat", "story", "qa", "news"],
            "{speaker}"
        );
    }
    // Word gaps: 150 ms (story) > 60 ms (qa) > 20 ms and none.
    let pauses = order(&report, None, PAUSE);
    assert_eq!(&pauses[..2], ["story", "qa"]);

    // Leave-one-out nearest scene centroid over speaker-normalized F0, speaking rate and pause
    // ratio (each field z-scored by the corpus): the scene of nearly every utterance is found.
    let features = |r: &UtteranceRecord| {
        let v = r.prosody.vector();
        let speaker = &report
            .speakers
            .iter()
            .find(|(s, _)| *s == r.utterance.speaker)
            .unwrap()
            .1;
        let z = |d: usize, x: f32| x / report.corpus.std[d];
        [
            z(F0_MEAN, v[F0_MEAN] - speaker.mean[F0_MEAN]),
            z(RATE, v[RATE]),
            z(PAUSE, v[PAUSE]),
        ]
    };
    let mut right = 0;
    for (i, r) in report.utterances.iter().enumerate() {
        let x = features(r);
        let nearest = SCENES
            .iter()
            .min_by(|a, b| {
                let dist = |scene: &str| {
                    let others: Vec<[f32; 3]> = report
                        .utterances
                        .iter()
                        .enumerate()
                        .filter(|&(j, q)| j != i && q.utterance.scene == scene)
                        .map(|(_, q)| features(q))
                        .collect();
                    (0..3)
                        .map(|d| {
                            let c = others.iter().map(|o| o[d]).sum::<f32>() / others.len() as f32;
                            (x[d] - c) * (x[d] - c)
                        })
                        .sum::<f32>()
                };
                dist(a).total_cmp(&dist(b))
            })
            .unwrap();
        right += (*nearest == r.utterance.scene) as usize;
    }
    eprintln!("leave-one-out scene identification: {right}/16");
    assert!(right >= 15, "{right}/16");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn files_hold_what_the_manifest_says() {
    let out = temp("files");
    let report = built(&out);
    let manifest = parse(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let entries = manifest.get("utterances").and_then(Json::as_array).unwrap();
    assert_eq!(entries.len(), report.utterances.len());
    let fields = manifest
        .get("prosody_fields")
        .and_then(Json::as_array)
        .unwrap();
    assert_eq!(fields.len(), 8);
    for (e, r) in entries.iter().zip(&report.utterances) {
        let file = e.get("features").and_then(Json::as_str).unwrap();
        let st = SafeTensors::open(out.join(file)).unwrap();
        let frames = e.get("frames").and_then(Json::as_f64).unwrap() as usize;
        let mel = st.tensor("log_mel").unwrap();
        assert_eq!(mel.shape, vec![frames, 80], "{file}");
        for name in ["energy", "f0", "voiced"] {
            assert_eq!(
                st.tensor(name).unwrap().shape,
                vec![frames],
                "{file} {name}"
            );
        }
        // F0 is interpolated: finite and within the tracker's range on every frame.
        let f0: Vec<f32> = st
            .tensor("f0")
            .unwrap()
            .data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert!(f0.iter().all(|f| (70.0..=820.0).contains(f)), "{file}");
        // One initial/final pair or final per syllable, plus pauses.
        let phonemes = st.tensor("phonemes").unwrap().shape[0];
        assert!(phonemes >= r.prosody.syllables && phonemes <= 2 * r.prosody.syllables + 4);
        let prompt = e.get("prompt").and_then(Json::as_array).unwrap();
        assert_eq!(prompt.len(), 8);
        // The transcript's Han characters are its syllables (no digits in this corpus).
        let han = r
            .utterance
            .transcript
            .chars()
            .filter(|c| *c > '\u{2E80}' && !"。，？".contains(*c))
            .count();
        assert_eq!(r.prosody.syllables, han, "{}", r.utterance.transcript);
    }
    // Prompts are z-scores against the corpus: each field averages to zero.
    for d in 0..8 {
        let m: f32 = report.utterances.iter().map(|r| r.prompt[d]).sum::<f32>() / 16.0;
        assert!(m.abs() < 1e-4, "field {d}: {m}");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

fn copy_corpus(to: &Path) {
    let root = common::fixture("audio/corpus");
    for u in scan(&root).unwrap() {
        let dir = to.join(&u.scene).join(&u.speaker);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&u.wav, dir.join(format!("{}.wav", u.id))).unwrap();
        std::fs::write(dir.join(format!("{}.txt", u.id)), &u.transcript).unwrap();
    }
}

fn scan_error(root: &Path) -> String {
    scan(root).unwrap_err().to_string()
}

#[test]
fn bad_layouts_are_named() {
    let root = temp("bad");
    assert!(scan_error(&root).contains("no utterance"));
    copy_corpus(&root);
    let wav = root.join("qa/spk_f3/qa_spk_f3_01.wav");
    let txt = root.join("qa/spk_f3/qa_spk_f3_01.txt");
    std::fs::remove_file(&txt).unwrap();
    assert!(scan_error(&root).contains("qa_spk_f3_01.wav: no transcript"));
    std::fs::write(&txt, "  \n").unwrap();
    assert!(scan_error(&root).contains("empty transcript"));
    std::fs::write(&txt, "新图书馆开了。").unwrap();
    std::fs::write(root.join("qa/stray.txt"), "x").unwrap();
    assert!(scan_error(&root).contains("stray.txt: expected only speaker directories"));
    std::fs::remove_file(root.join("qa/stray.txt")).unwrap();
    std::fs::write(root.join("qa/spk_f3/notes.md"), "x").unwrap();
    assert!(scan_error(&root).contains("notes.md: not a WAV with its transcript"));
    std::fs::remove_file(root.join("qa/spk_f3/notes.md")).unwrap();
    std::fs::write(root.join("qa/spk_f3/.DS_Store"), "x").unwrap();
    assert_eq!(scan(&root).unwrap().len(), 16, "hidden files are skipped");

    // A corrupt WAV and a character the dictionary lacks are named; no manifest is written.
    let out = temp("bad-out");
    let good = std::fs::read(&wav).unwrap();
    std::fs::write(&wav, &good[..30]).unwrap();
    let utterances = scan(&root).unwrap();
    let dict = dictionary();
    let e = build(&utterances, &out, &config(), &dict, &mut |_, _, _| true).unwrap_err();
    assert!(e.to_string().contains("qa_spk_f3_01.wav"), "{e}");
    assert!(!out.join("manifest.json").exists());
    std::fs::write(&wav, &good).unwrap();

    // Cancelled after three utterances: three whole files, no manifest, no partial file.
    std::fs::remove_dir_all(&out).unwrap();
    let e = build(&utterances, &out, &config(), &dict, &mut |done, _, _| {
        done < 3
    })
    .unwrap_err();
    assert_eq!(e, Error::Cancelled);
    assert!(!out.join("manifest.json").exists());
    let mut files = Vec::new();
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files
        .iter()
        .all(|f| f.extension().unwrap() == "safetensors"));
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
}

/// With an `ID.dur` file (frames per phoneme, as a forced aligner gives), the feature file
/// also holds FastSpeech2's phoneme-level pitch and energy: each the mean over its phoneme's
/// frames; a wrong count is named.
#[test]
fn durations_give_phoneme_level_pitch_and_energy() {
    let root = temp("dur");
    copy_corpus(&root);
    let out = temp("dur-out");
    let dict = dictionary();
    let first = build(
        &scan(&root).unwrap()[..1],
        &out,
        &config(),
        &dict,
        &mut |_, _, _| true,
    )
    .unwrap()
    .utterances
    .remove(0);
    let (frames, phonemes) = (first.frames, first.phonemes);
    // Uniform durations, the remainder on the last phoneme.
    let mut d = vec![frames / phonemes; phonemes];
    d[phonemes - 1] += frames - d.iter().sum::<usize>();
    let u = &first.utterance;
    let dur = root
        .join(&u.scene)
        .join(&u.speaker)
        .join(format!("{}.dur", u.id));
    let text: Vec<String> = d.iter().map(|x| x.to_string()).collect();
    std::fs::write(&dur, text.join(" ")).unwrap();
    let utterances = scan(&root).unwrap();
    assert_eq!(utterances[0].durations.as_deref(), Some(dur.as_path()));
    let r = build(&utterances[..1], &out, &config(), &dict, &mut |_, _, _| {
        true
    })
    .unwrap();
    let st = SafeTensors::open(out.join(&r.utterances[0].file)).unwrap();
    let floats = |name: &str| -> Vec<f32> {
        st.tensor(name)
            .unwrap()
            .data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    let (f0, energy) = (floats("f0"), floats("energy"));
    let (pitch, energy_p) = (floats("pitch_phoneme"), floats("energy_phoneme"));
    assert_eq!(pitch.len(), phonemes);
    let mut at = 0;
    for (k, &n) in d.iter().enumerate() {
        let mean = |v: &[f32]| v[at..at + n].iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        assert!((pitch[k] as f64 - mean(&f0)).abs() < 1e-3, "phoneme {k}");
        assert!((energy_p[k] as f64 - mean(&energy)).abs() < 1e-3 * mean(&energy).max(1.0));
        at += n;
    }
    std::fs::write(&dur, "1 2 3").unwrap();
    let e = build(
        &scan(&root).unwrap()[..1],
        &out,
        &config(),
        &dict,
        &mut |_, _, _| true,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains(".dur: 3 durations for"), "{e}");
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
}
