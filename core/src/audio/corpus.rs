//! An MSceneSpeech-style corpus to training features: every utterance's log-mel, energy and F0
//! (one safetensors file each), its transcript's pinyin and phonemes, its prosody statistics,
//! and per-scene and corpus statistics with each utterance's prosody prompt (one manifest).
//!
//! The layout read (MSceneSpeech itself is not reachable here; this is the layout of its
//! scene/speaker organisation that we accept, documented in docs/audio.md):
//! ```text
//! ROOT/SCENE/SPEAKER/ID.wav     any PCM WAV (see audio::wav), resampled to the preset's rate
//! ROOT/SCENE/SPEAKER/ID.txt     its transcript (UTF-8; `ID.lab` is accepted as well)
//! ROOT/SCENE/SPEAKER/ID.dur     optional: each phoneme's duration in feature frames (from a
//!                               forced aligner), whitespace-separated, one per phoneme id
//! ```
//! Directory and file names starting with `.` are skipped; a WAV without a transcript, a
//! transcript without a WAV, or a file at the wrong depth is an error naming it, so nothing is
//! dropped silently. Scenes, speakers and utterances are taken in byte order of their names.
//!
//! Written under OUT: `SCENE/SPEAKER/ID.safetensors` with `log_mel` [frames, mels], `energy`,
//! `f0` (interpolated over unvoiced frames), `voiced` (u8), `phonemes` (u32 ids into
//! [`zh::PHONEMES`](super::zh)), `prosody` [8], and with durations `durations`, `pitch_phoneme`
//! and `energy_phoneme` (FastSpeech2's phoneme-level averages); and `manifest.json` last. Each file is written
//! whole or not at all ([`crate::io::atomic`]); a cancelled or failed run writes no manifest.

use super::analysis::{pitch_config_for, Analyzer, PitchMethod};
use super::features::FeatureConfig;
use super::pitch::phoneme_average;
use super::prosody::{
    utterance_prosody, ActivityConfig, Normalizer, UtteranceProsody, PROSODY_DIM, PROSODY_FIELDS,
};
use super::wav;
use super::zh;
use crate::io::json::Json;
use crate::io::safetensors::{self, SafeDtype};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

/// One utterance found by [`scan`].
#[derive(Clone, Debug, PartialEq)]
pub struct Utterance {
    pub scene: String,
    pub speaker: String,
    pub id: String,
    pub wav: PathBuf,
    pub transcript: String,
    /// The `ID.dur` file beside the WAV, if there is one.
    pub durations: Option<PathBuf>,
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The entries of `dir` that do not start with `.`, sorted by name, as (name, path, is_dir).
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let e = e.map_err(|e| io_err(dir, e))?;
        let path = e.path();
        let name = e.file_name().into_string().map_err(|n| {
            Error::invalid(format!("{}: the name {n:?} is not UTF-8", dir.display()))
        })?;
        if name.starts_with('.') {
            continue;
        }
        let is_dir = e.file_type().map_err(|e| io_err(&path, e))?.is_dir();
        out.push((name, path, is_dir));
    }
    out.sort();
    Ok(out)
}

/// Every utterance under `root` (see the module doc for the layout).
pub fn scan(root: &Path) -> Result<Vec<Utterance>> {
    let mut found = Vec::new();
    for (scene, scene_path, is_dir) in entries(root)? {
        if !is_dir {
            return Err(Error::invalid(format!(
                "{}: expected only scene directories under the corpus root",
                scene_path.display()
            )));
        }
        for (speaker, speaker_path, is_dir) in entries(&scene_path)? {
            if !is_dir {
                return Err(Error::invalid(format!(
                    "{}: expected only speaker directories in a scene",
                    speaker_path.display()
                )));
            }
            scan_speaker(&scene, &speaker, &speaker_path, &mut found)?;
        }
    }
    if found.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no utterance (SCENE/SPEAKER/ID.wav with ID.txt)",
            root.display()
        )));
    }
    Ok(found)
}

fn scan_speaker(scene: &str, speaker: &str, dir: &Path, found: &mut Vec<Utterance>) -> Result<()> {
    let files = entries(dir)?;
    let has = |name: &str| files.iter().any(|(n, _, d)| n == name && !d);
    for (name, path, is_dir) in &files {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        match (ext, *is_dir) {
            ("wav", false) => {
                let transcript = [format!("{stem}.txt"), format!("{stem}.lab")]
                    .into_iter()
                    .find(|t| has(t))
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "{}: no transcript ({stem}.txt or {stem}.lab) beside it",
                            path.display()
                        ))
                    })?;
                let tpath = dir.join(&transcript);
                let text = std::fs::read_to_string(&tpath).map_err(|e| io_err(&tpath, e))?;
                let text = text.trim();
                if text.is_empty() {
                    return Err(Error::invalid(format!(
                        "{}: empty transcript",
                        tpath.display()
                    )));
                }
                let dur = format!("{stem}.dur");
                found.push(Utterance {
                    scene: scene.to_string(),
                    speaker: speaker.to_string(),
                    id: stem.to_string(),
                    wav: path.clone(),
                    transcript: text.to_string(),
                    durations: has(&dur).then(|| dir.join(dur)),
                });
            }
            ("txt" | "lab" | "dur", false) if has(&format!("{stem}.wav")) => {}
            _ => {
                return Err(Error::invalid(format!(
                    "{}: not a WAV with its transcript (expected ID.wav and ID.txt)",
                    path.display()
                )))
            }
        }
    }
    Ok(())
}

/// How [`build`] analyses each utterance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CorpusConfig {
    /// The log-mel recipe (a preset's, possibly adjusted); F0 is tracked by pYIN on its frames.
    pub features: FeatureConfig,
    pub activity: ActivityConfig,
}

/// One written utterance.
#[derive(Clone, Debug, PartialEq)]
pub struct UtteranceRecord {
    pub utterance: Utterance,
    /// The feature file, relative to the output directory.
    pub file: String,
    pub frames: usize,
    /// The transcript as spoken, in TONE3 pinyin (after normalization and tone sandhi).
    pub pinyin: Vec<String>,
    pub phonemes: usize,
    pub prosody: UtteranceProsody,
    /// The z-scored prosody vector ([`Normalizer::prompt`] against the corpus).
    pub prompt: [f32; super::prosody::PROSODY_DIM],
}

/// What [`build`] wrote: every utterance, each scene's and speaker's statistics and the
/// corpus's.
#[derive(Clone, Debug, PartialEq)]
pub struct CorpusReport {
    pub utterances: Vec<UtteranceRecord>,
    pub scenes: Vec<(String, Normalizer)>,
    /// Each speaker's statistics, to take timbre out of a prompt (F0 re the speaker's mean).
    pub speakers: Vec<(String, Normalizer)>,
    pub corpus: Normalizer,
}

/// The `ID.dur` file: one whitespace-separated frame count per phoneme.
fn read_durations(path: &Path, phonemes: usize) -> Result<Vec<usize>> {
    let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let d = text
        .split_whitespace()
        .map(|t| {
            t.parse::<usize>().map_err(|_| {
                Error::invalid(format!("{}: {t:?} is not a frame count", path.display()))
            })
        })
        .collect::<Result<Vec<usize>>>()?;
    if d.len() != phonemes {
        return Err(Error::invalid(format!(
            "{}: {} durations for {phonemes} phonemes",
            path.display(),
            d.len()
        )));
    }
    Ok(d)
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Analyses every utterance, writes its feature file under `out`, then the statistics and
/// `manifest.json`. `progress(done, total, utterance)` is called before each utterance and
/// once at the end; returning false cancels ([`Error::Cancelled`], no manifest). An error
/// names the utterance's WAV.
pub fn build(
    utterances: &[Utterance],
    out: &Path,
    cfg: &CorpusConfig,
    dict: &zh::Dictionary,
    progress: &mut dyn FnMut(usize, usize, Option<&Utterance>) -> bool,
) -> Result<CorpusReport> {
    cfg.activity.validate()?;
    let pitch = pitch_config_for(&cfg.features);
    let mut analyzer = Analyzer::new(cfg.features, Some((PitchMethod::Pyin, pitch)))?;
    let frame_rate = cfg.features.sample_rate as f32 / cfg.features.hop as f32;
    let mut records = Vec::with_capacity(utterances.len());
    for (i, u) in utterances.iter().enumerate() {
        if !progress(i, utterances.len(), Some(u)) {
            return Err(Error::Cancelled);
        }
        let named = |e: Error| match e {
            Error::InvalidArgument(m) => Error::invalid(format!("{}: {m}", u.wav.display())),
            Error::Format { .. } | Error::Unsupported(_) => {
                Error::invalid(format!("{}: {e}", u.wav.display()))
            }
            other => other,
        };
        let bytes = std::fs::read(&u.wav).map_err(|e| io_err(&u.wav, e))?;
        let w = wav::decode(&bytes).map_err(named)?;
        let a = analyzer.run(&w.to_mono(), w.sample_rate).map_err(named)?;
        let track = a.f0.as_ref().expect("the analyzer tracks F0");
        let tokens = zh::pinyin(dict, &u.transcript, true).map_err(named)?;
        let phonemes = zh::phonemes::from_tokens(&tokens).map_err(named)?;
        let pinyin: Vec<String> = zh::syllables(&tokens).map(|s| s.to_string()).collect();
        let prosody = utterance_prosody(
            &track.f0,
            &track.voiced,
            &a.features.energy,
            frame_rate,
            pinyin.len(),
            &cfg.activity,
        )
        .map_err(named)?;

        let mel = &a.features.log_mel;
        let frames = mel.n_frames;
        let voiced: Vec<u8> = track.voiced.iter().map(|&v| v as u8).collect();
        let ids: Vec<u8> = phonemes
            .iter()
            .flat_map(|p| u32::from(p.id()).to_le_bytes())
            .collect();
        let vector = f32_bytes(&prosody.vector());
        let phoneme_level = match &u.durations {
            None => None,
            Some(p) => {
                let d = read_durations(p, phonemes.len())?;
                let named = |e: Error| Error::invalid(format!("{}: {e}", p.display()));
                let pitch = phoneme_average(&track.f0_interpolated, &d).map_err(named)?;
                let energy = phoneme_average(&a.features.energy, &d).map_err(named)?;
                let d: Vec<u8> = d.iter().flat_map(|&x| (x as u32).to_le_bytes()).collect();
                Some((d, f32_bytes(&pitch), f32_bytes(&energy)))
            }
        };
        let (mel_b, energy_b, f0_b) = (
            f32_bytes(&mel.data),
            f32_bytes(&a.features.energy),
            f32_bytes(&track.f0_interpolated),
        );
        let rel = format!("{}/{}/{}.safetensors", u.scene, u.speaker, u.id);
        let path = out.join(&rel);
        let dir = path.parent().expect("a file under out");
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let (mel_shape, n_frames, n_phonemes) = ([frames, mel.n_bins], [frames], [phonemes.len()]);
        let mut tensors: Vec<(&str, SafeDtype, &[usize], &[u8])> = vec![
            ("log_mel", SafeDtype::F32, &mel_shape, &mel_b),
            ("energy", SafeDtype::F32, &n_frames, &energy_b),
            ("f0", SafeDtype::F32, &n_frames, &f0_b),
            ("voiced", SafeDtype::U8, &n_frames, &voiced),
            ("phonemes", SafeDtype::U32, &n_phonemes, &ids),
            ("prosody", SafeDtype::F32, &[PROSODY_DIM], &vector),
        ];
        if let Some((d, pitch, energy)) = &phoneme_level {
            tensors.push(("durations", SafeDtype::U32, &n_phonemes, d));
            tensors.push(("pitch_phoneme", SafeDtype::F32, &n_phonemes, pitch));
            tensors.push(("energy_phoneme", SafeDtype::F32, &n_phonemes, energy));
        }
        safetensors::write_file(
            &path,
            &tensors,
            &[
                ("scene", &u.scene),
                ("speaker", &u.speaker),
                ("transcript", &u.transcript),
                ("pinyin", &pinyin.join(" ")),
            ],
        )?;
        records.push(UtteranceRecord {
            utterance: u.clone(),
            file: rel,
            frames,
            pinyin,
            phonemes: phonemes.len(),
            prosody,
            prompt: [0.0; super::prosody::PROSODY_DIM],
        });
    }
    let vectors: Vec<_> = records.iter().map(|r| r.prosody.vector()).collect();
    let corpus = Normalizer::fit(&vectors)?;
    for r in &mut records {
        r.prompt = corpus.prompt(&r.prosody.vector());
    }
    let scenes = group_stats(&records, |r| &r.utterance.scene)?;
    let speakers = group_stats(&records, |r| &r.utterance.speaker)?;
    let report = CorpusReport {
        utterances: records,
        scenes,
        speakers,
        corpus,
    };
    crate::io::atomic::write_atomic(
        &out.join("manifest.json"),
        manifest(&report, cfg).to_string().as_bytes(),
    )?;
    progress(utterances.len(), utterances.len(), None);
    Ok(report)
}

/// The statistics of each group (scene or speaker) in order of first appearance.
fn group_stats<'a>(
    records: &'a [UtteranceRecord],
    key: impl Fn(&'a UtteranceRecord) -> &'a String,
) -> Result<Vec<(String, Normalizer)>> {
    let mut groups: Vec<(String, Normalizer)> = Vec::new();
    for r in records {
        let name = key(r);
        if groups.iter().all(|(g, _)| g != name) {
            let own: Vec<_> = records
                .iter()
                .filter(|q| key(q) == name)
                .map(|q| q.prosody.vector())
                .collect();
            groups.push((name.clone(), Normalizer::fit(&own)?));
        }
    }
    Ok(groups)
}

fn stats_json(n: &Normalizer) -> Json {
    let field = |v: &[f32]| {
        Json::object(
            PROSODY_FIELDS
                .iter()
                .zip(v)
                .map(|(&k, &x)| (k, Json::from(x as f64))),
        )
    };
    Json::object(vec![
        ("utterances", Json::from(n.count as u64)),
        ("mean", field(&n.mean)),
        ("std", field(&n.std)),
    ])
}

/// `manifest.json`: the settings, the prosody fields, the corpus and scene statistics (the
/// prompt's normalization), and one entry per utterance.
pub fn manifest(report: &CorpusReport, cfg: &CorpusConfig) -> Json {
    let f = &cfg.features;
    let utterances = report.utterances.iter().map(|r| {
        let p = &r.prosody;
        Json::object(vec![
            ("scene", Json::from(r.utterance.scene.as_str())),
            ("speaker", Json::from(r.utterance.speaker.as_str())),
            ("id", Json::from(r.utterance.id.as_str())),
            ("wav", Json::from(r.utterance.wav.display().to_string())),
            ("features", Json::from(r.file.as_str())),
            ("transcript", Json::from(r.utterance.transcript.as_str())),
            ("pinyin", Json::from(r.pinyin.join(" "))),
            ("phonemes", Json::from(r.phonemes as u64)),
            ("frames", Json::from(r.frames as u64)),
            ("duration_s", Json::from(p.duration_s as f64)),
            ("speech_s", Json::from(p.speech_s as f64)),
            ("syllables", Json::from(p.syllables as u64)),
            (
                "prosody",
                Json::object(
                    PROSODY_FIELDS
                        .iter()
                        .zip(p.vector())
                        .map(|(&k, x)| (k, Json::from(x as f64))),
                ),
            ),
            (
                "prompt",
                Json::Array(r.prompt.iter().map(|&x| Json::from(x as f64)).collect()),
            ),
        ])
    });
    Json::object(vec![
        ("format", Json::from("llmcore-audio-corpus")),
        ("version", Json::from(1u64)),
        (
            "features",
            Json::object(vec![
                ("sample_rate", Json::from(f.sample_rate as u64)),
                ("n_fft", Json::from(f.n_fft as u64)),
                ("hop", Json::from(f.hop as u64)),
                ("win_length", Json::from(f.win_length as u64)),
                ("n_mels", Json::from(f.n_mels as u64)),
                ("fmin", Json::from(f.fmin as f64)),
                ("fmax", Json::from(f.fmax as f64)),
                ("f0", Json::from("pyin, interpolated over unvoiced frames")),
            ]),
        ),
        (
            "activity",
            Json::object(vec![
                ("silence_db", Json::from(cfg.activity.silence_db as f64)),
                ("min_pause_s", Json::from(cfg.activity.min_pause_s as f64)),
            ]),
        ),
        (
            "prosody_fields",
            Json::Array(PROSODY_FIELDS.iter().map(|&k| Json::from(k)).collect()),
        ),
        ("corpus", stats_json(&report.corpus)),
        (
            "scenes",
            Json::object(
                report
                    .scenes
                    .iter()
                    .map(|(s, n)| (s.as_str(), stats_json(n))),
            ),
        ),
        (
            "speakers",
            Json::object(
                report
                    .speakers
                    .iter()
                    .map(|(s, n)| (s.as_str(), stats_json(n))),
            ),
        ),
        ("utterances", Json::Array(utterances.collect())),
    ])
}
