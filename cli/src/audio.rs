//! `llmcore audio features|g2p|corpus`: the speech front end (log-mel, energy and F0 of a WAV;
//! Mandarin text to pinyin and phonemes; an MSceneSpeech-style corpus to feature files with
//! prosody statistics).

use crate::args::{opt, path, switch, Flag, Parsed};
use crate::output::{emit, parse, usage_err};
use crate::progress::Progress;
use crate::Failure;
use llmcore::audio::analysis::{pitch_config_for, Analysis, Analyzer, PitchMethod};
use llmcore::audio::corpus::{self, CorpusConfig, CorpusReport};
use llmcore::audio::features::{preset_names, FeatureConfig, Preset};
use llmcore::audio::prosody::{ActivityConfig, PROSODY_FIELDS};
use llmcore::audio::wav;
use llmcore::audio::zh::{self, Dictionary, Token};
use llmcore::io::json::Json;
use llmcore::io::safetensors::{self, SafeDtype};
use std::ffi::OsString;
use std::path::Path;

const USAGE: &str = "usage: llmcore audio features --preset P IN.wav [--out F.safetensors] [flags]
       llmcore audio g2p --text S [flags]
       llmcore audio corpus DIR --out DIR [flags]";

pub fn run(argv: &[OsString]) -> Result<(), Failure> {
    match argv.first().and_then(|a| a.to_str()) {
        Some("features") => run_features(&argv[1..]),
        Some("g2p") => run_g2p(&argv[1..]),
        Some("corpus") => run_corpus(&argv[1..]),
        _ => Err(Failure::Usage(USAGE.into())),
    }
}

const FEATURE_FLAGS: &[Flag] = &[
    opt(
        "--preset",
        "P",
        "fastspeech2 (22,050 Hz, 80 mels, ln) or whisper (16 kHz, log10, clamp, (x+4)/4)",
    ),
    opt("--mels", "N", "mel bands instead of the preset's (whisper: 80 or 128)"),
    opt("--fmin", "HZ", "lowest mel frequency instead of the preset's (fastspeech2: 0 or 80)"),
    opt("--f0", "METHOD", "also track F0 on the same frames: yin or pyin"),
    path(
        "--out",
        "FILE",
        "write log_mel [frames, mels], energy [frames] (and f0, f0_interpolated, voiced) as safetensors",
    ),
];

/// The `--preset` config (or `default`'s when given and the flag is absent) with the `--mels`
/// / `--fmin` overrides.
fn feature_config(p: &Parsed, default: Option<Preset>) -> Result<FeatureConfig, Failure> {
    let name = match (p.str("--preset"), default) {
        (Some(name), _) => name,
        (None, Some(d)) => d.name(),
        (None, None) => {
            return Err(usage_err(format!(
                "--preset is required ({})",
                preset_names()
            )))
        }
    };
    let mut cfg = Preset::parse(name)
        .map_err(|e| usage_err(e.to_string()))?
        .config();
    cfg.n_mels = p.num("--mels", cfg.n_mels).map_err(usage_err)?;
    cfg.fmin = p.num("--fmin", cfg.fmin).map_err(usage_err)?;
    cfg.validate().map_err(|e| usage_err(e.to_string()))?;
    Ok(cfg)
}

fn read_wav(path: &Path) -> Result<wav::Wav, Failure> {
    let bytes =
        std::fs::read(path).map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?;
    wav::decode(&bytes).map_err(|e| Failure::Run(format!("{}: {e}", path.display())))
}

fn run_features(argv: &[OsString]) -> Result<(), Failure> {
    let p = parse(
        "audio features",
        "--preset P IN.wav [--out F]",
        FEATURE_FLAGS,
        argv,
    )?;
    p.at_most_positional(1).map_err(usage_err)?;
    let input = p
        .positional
        .first()
        .map(Path::new)
        .ok_or_else(|| usage_err("give the WAV file to analyse".into()))?;
    let cfg = feature_config(&p, None)?;
    let method = p
        .str("--f0")
        .map(PitchMethod::parse)
        .transpose()
        .map_err(|e| usage_err(e.to_string()))?;
    let wav = read_wav(input)?;
    let mut analyzer = Analyzer::new(cfg, method.map(|m| (m, pitch_config_for(&cfg))))?;
    let started = std::time::Instant::now();
    let a = analyzer.run(&wav.to_mono(), wav.sample_rate)?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(out) = p.path("--out") {
        write_features(out, &a, &cfg, input)?;
    }
    let json = features_json(&a, &cfg, &wav, input, p.path("--out"), seconds);
    emit(&p, json, || {
        features_human(&a, &cfg, &wav, input, p.path("--out"))
    })
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn write_features(
    out: &Path,
    a: &Analysis,
    cfg: &FeatureConfig,
    input: &Path,
) -> Result<(), Failure> {
    let mel = &a.features.log_mel;
    let (frames, mels) = (mel.n_frames, mel.n_bins);
    let mut tensors = vec![
        (
            "log_mel",
            SafeDtype::F32,
            vec![frames, mels],
            f32_bytes(&mel.data),
        ),
        (
            "energy",
            SafeDtype::F32,
            vec![frames],
            f32_bytes(&a.features.energy),
        ),
    ];
    if let Some(t) = &a.f0 {
        tensors.push(("f0", SafeDtype::F32, vec![frames], f32_bytes(&t.f0)));
        tensors.push((
            "f0_interpolated",
            SafeDtype::F32,
            vec![frames],
            f32_bytes(&t.f0_interpolated),
        ));
        let voiced: Vec<u8> = t.voiced.iter().map(|&v| v as u8).collect();
        tensors.push(("voiced", SafeDtype::U8, vec![frames], voiced));
    }
    let views: Vec<(&str, SafeDtype, &[usize], &[u8])> = tensors
        .iter()
        .map(|(n, d, s, b)| (*n, *d, s.as_slice(), b.as_slice()))
        .collect();
    let rate = cfg.sample_rate.to_string();
    let hop = cfg.hop.to_string();
    let source = input.display().to_string();
    let f0 = a.f0.as_ref().map_or("none", |t| t.method.name());
    safetensors::write_file(
        out,
        &views,
        &[
            ("sample_rate", &rate),
            ("hop", &hop),
            ("f0", f0),
            ("source", &source),
        ],
    )?;
    Ok(())
}

/// Minimum, mean and maximum of the finite values.
fn summary(v: &[f32]) -> (f64, f64, f64) {
    let finite = v.iter().filter(|x| x.is_finite()).map(|&x| x as f64);
    let (mut lo, mut hi, mut sum, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize);
    for x in finite {
        lo = lo.min(x);
        hi = hi.max(x);
        sum += x;
        n += 1;
    }
    (lo, sum / n.max(1) as f64, hi)
}

fn features_json(
    a: &Analysis,
    cfg: &FeatureConfig,
    wav: &wav::Wav,
    input: &Path,
    out: Option<&Path>,
    seconds: f64,
) -> Json {
    let mel = &a.features.log_mel;
    let (lo, mean, hi) = summary(&mel.data);
    let mut fields = vec![
        ("input", Json::from(input.display().to_string())),
        ("duration_s", Json::from(a.duration_s)),
        ("input_sample_rate", Json::from(wav.sample_rate as u64)),
        ("channels", Json::from(wav.channels as u64)),
        ("sample_rate", Json::from(cfg.sample_rate as u64)),
        ("resampled", Json::from(a.resampled_from.is_some())),
        ("frames", Json::from(mel.n_frames as u64)),
        ("n_mels", Json::from(mel.n_bins as u64)),
        ("hop", Json::from(cfg.hop as u64)),
        ("log_mel_min", Json::from(lo)),
        ("log_mel_mean", Json::from(mean)),
        ("log_mel_max", Json::from(hi)),
        ("energy_mean", Json::from(summary(&a.features.energy).1)),
        ("seconds", Json::from(seconds)),
    ];
    if let Some(t) = &a.f0 {
        let voiced = t.voiced.iter().filter(|&&v| v).count();
        let mut hz: Vec<f32> =
            t.f0.iter()
                .zip(&t.voiced)
                .filter(|&(f, &v)| v && f.is_finite())
                .map(|(&f, _)| f)
                .collect();
        hz.sort_by(f32::total_cmp);
        fields.push(("f0_method", Json::from(t.method.name())));
        fields.push(("voiced_frames", Json::from(voiced as u64)));
        fields.push((
            "f0_median_hz",
            hz.get(hz.len() / 2)
                .map_or(Json::Null, |&f| Json::from(f as f64)),
        ));
    }
    if let Some(o) = out {
        fields.push(("out", Json::from(o.display().to_string())));
    }
    Json::object(fields)
}

fn features_human(
    a: &Analysis,
    cfg: &FeatureConfig,
    wav: &wav::Wav,
    input: &Path,
    out: Option<&Path>,
) -> String {
    let mel = &a.features.log_mel;
    let (lo, mean, hi) = summary(&mel.data);
    let mut s = format!(
        "{}: {:.2} s, {} Hz, {} channel(s){}\n{} frames x {} mels (hop {}); log-mel {lo:.3} .. {hi:.3}, mean {mean:.3}\n",
        input.display(),
        a.duration_s,
        wav.sample_rate,
        wav.channels,
        match a.resampled_from {
            Some(_) => format!(", resampled to {} Hz", cfg.sample_rate),
            None => String::new(),
        },
        mel.n_frames,
        mel.n_bins,
        cfg.hop,
    );
    if let Some(t) = &a.f0 {
        let voiced = t.voiced.iter().filter(|&&v| v).count();
        s += &format!(
            "F0 ({}): {voiced} of {} frames voiced\n",
            t.method.name(),
            t.voiced.len()
        );
    }
    if let Some(o) = out {
        s += &format!("wrote {}\n", o.display());
    }
    s
}

const DICT_HELP: &str =
    "pypinyin dictionary folder (default $LLMCORE_ASSETS/pypinyin, else assets/pypinyin)";

/// The dictionary from `--dict`, or the fetched assets' copy.
fn load_dictionary(p: &Parsed) -> Result<Dictionary, Failure> {
    let dir = match p.path("--dict") {
        Some(d) => d.to_path_buf(),
        None => std::env::var_os("LLMCORE_ASSETS")
            .map_or_else(|| "assets".into(), std::path::PathBuf::from)
            .join("pypinyin"),
    };
    Dictionary::load(&dir).map_err(|e| {
        Failure::Run(format!(
            "{e} (the pypinyin dictionary: scripts/fetch-assets.sh puts it in assets/pypinyin; \
             or pass --dict DIR)"
        ))
    })
}

const G2P_FLAGS: &[Flag] = &[
    opt(
        "--text",
        "S",
        "Mandarin text (digits, dates and percentages are read out)",
    ),
    path("--dict", "DIR", DICT_HELP),
    switch(
        "--no-sandhi",
        "the dictionary's tones, without third-tone, 一 and 不 sandhi",
    ),
];

fn run_g2p(argv: &[OsString]) -> Result<(), Failure> {
    let p = parse("audio g2p", "--text S [--dict DIR]", G2P_FLAGS, argv)?;
    p.at_most_positional(0).map_err(usage_err)?;
    let text = p.required("--text").map_err(usage_err)?;
    let dict = load_dictionary(&p)?;
    let normalized = zh::normalize(text);
    let tokens = zh::pinyin(&dict, text, !p.flag("--no-sandhi"))?;
    let phonemes = zh::phonemes::from_tokens(&tokens)?;
    let token_json = |t: &Token| match t {
        Token::Word(w) => Json::object(vec![
            ("word", Json::from(w.text.as_str())),
            (
                "pinyin",
                Json::Array(
                    w.syllables
                        .iter()
                        .map(|s| Json::from(s.to_string()))
                        .collect(),
                ),
            ),
        ]),
        Token::Boundary(b, _) => {
            Json::object(vec![("pause", Json::from(format!("{b:?}").to_lowercase()))])
        }
        Token::Foreign(f, _) => Json::object(vec![("foreign", Json::from(f.as_str()))]),
    };
    let json = Json::object(vec![
        ("text", Json::from(text)),
        ("normalized", Json::from(normalized.text())),
        (
            "tokens",
            Json::Array(tokens.iter().map(token_json).collect()),
        ),
        (
            "phonemes",
            Json::Array(phonemes.iter().map(|ph| Json::from(ph.symbol())).collect()),
        ),
        (
            "phoneme_ids",
            Json::Array(
                phonemes
                    .iter()
                    .map(|ph| Json::from(ph.id() as u64))
                    .collect(),
            ),
        ),
    ]);
    emit(&p, json, || {
        let words: Vec<String> = tokens
            .iter()
            .map(|t| match t {
                Token::Word(w) => {
                    let syl: Vec<String> = w.syllables.iter().map(|s| s.to_string()).collect();
                    format!("{}[{}]", w.text, syl.join(" "))
                }
                Token::Boundary(..) => "|".into(),
                Token::Foreign(f, _) => f.clone(),
            })
            .collect();
        let symbols: Vec<&str> = phonemes.iter().map(|ph| ph.symbol()).collect();
        format!(
            "normalized: {}\npinyin:     {}\nphonemes:   {}\n",
            normalized.text(),
            words.join(" "),
            symbols.join(" ")
        )
    })
}

const CORPUS_FLAGS: &[Flag] = &[
    path(
        "--out",
        "DIR",
        "where the feature files and manifest.json go",
    ),
    opt(
        "--preset",
        "P",
        "log-mel recipe: fastspeech2 (default) or whisper",
    ),
    opt("--mels", "N", "mel bands instead of the preset's"),
    opt(
        "--fmin",
        "HZ",
        "lowest mel frequency instead of the preset's",
    ),
    path("--dict", "DIR", DICT_HELP),
    opt(
        "--silence-db",
        "DB",
        "a frame more than DB below the loudest is silent (default 40)",
    ),
    opt(
        "--min-pause",
        "S",
        "silent runs of at least S seconds count as pauses (default 0.05)",
    ),
];

fn run_corpus(argv: &[OsString]) -> Result<(), Failure> {
    let p = parse("audio corpus", "DIR --out DIR [flags]", CORPUS_FLAGS, argv)?;
    p.at_most_positional(1).map_err(usage_err)?;
    let root = p.positional.first().map(Path::new).ok_or_else(|| {
        usage_err("give the corpus directory (SCENE/SPEAKER/ID.wav + ID.txt)".into())
    })?;
    let out = p.required_path("--out").map_err(usage_err)?;
    let features = feature_config(&p, Some(Preset::FastSpeech2))?;
    let defaults = ActivityConfig::default();
    let cfg = CorpusConfig {
        features,
        activity: ActivityConfig {
            silence_db: p
                .num("--silence-db", defaults.silence_db)
                .map_err(usage_err)?,
            min_pause_s: p
                .num("--min-pause", defaults.min_pause_s)
                .map_err(usage_err)?,
        },
    };
    let utterances = corpus::scan(root)?;
    let dict = load_dictionary(&p)?;
    std::fs::create_dir_all(out).map_err(|e| Failure::Run(format!("{}: {e}", out.display())))?;
    let started = std::time::Instant::now();
    let mut bar = Progress::new("corpus");
    let report = corpus::build(&utterances, out, &cfg, &dict, &mut |done, total, u| {
        let doing = u.map_or(String::new(), |u| {
            format!("{}/{}/{}", u.scene, u.speaker, u.id)
        });
        bar.update_with(done, total, &doing);
        true
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let mut json = corpus::manifest(&report, &cfg);
    if let Json::Object(members) = &mut json {
        members.push(("out".into(), Json::from(out.display().to_string())));
        members.push(("seconds".into(), Json::from(seconds)));
    }
    emit(&p, json, || corpus_human(&report, out, seconds))
}

/// The per-scene table of prosody means (the fields a prompt is made of).
fn corpus_human(report: &CorpusReport, out: &Path, seconds: f64) -> String {
    let audio: f32 = report.utterances.iter().map(|r| r.prosody.duration_s).sum();
    let mut s = format!(
        "{} utterances, {audio:.1} s of audio, in {seconds:.1} s; wrote {}/manifest.json\n\n{:<12}{:>4}",
        report.utterances.len(),
        out.display(),
        "scene",
        "n"
    );
    for f in PROSODY_FIELDS {
        s += &format!(" {f:>15}");
    }
    s.push('\n');
    for (scene, n) in report
        .scenes
        .iter()
        .chain([&("(corpus)".to_string(), report.corpus)])
    {
        s += &format!("{scene:<12}{:>4}", n.count);
        for (m, sd) in n.mean.iter().zip(&n.std) {
            s += &format!(" {:>15}", format!("{m:.2}±{sd:.2}"));
        }
        s.push('\n');
    }
    s
}
