//! `llmcore audio features|g2p|corpus` end to end: the built binary on the committed WAV
//! fixtures and corpus (tests/data/audio), its JSON, the files it writes (read back through
//! the library), and its exit codes (2 for bad usage, 1 for bad input).

mod common;

use common::{json, llmcore};
use llmcore::audio::features::Preset;
use llmcore::audio::wav;
use llmcore::io::json::Json;
use llmcore::io::safetensors::SafeTensors;
use std::path::PathBuf;

fn data(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/audio")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn dict() -> String {
    let dir = std::env::var_os("LLMCORE_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets"));
    dir.join("pypinyin").to_string_lossy().into_owned()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("llmcore-cli-audio-{name}-{}", std::process::id()))
}

fn num(j: &Json, key: &str) -> f64 {
    j.get(key)
        .and_then(Json::as_f64)
        .unwrap_or_else(|| panic!("{key} in {j}"))
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn features_resample_and_write_what_the_library_computes() {
    let out = temp("features.safetensors");
    let input = data("zh-150-16k-s16.wav");
    let o = llmcore(
        &[
            "audio",
            "features",
            "--preset",
            "fastspeech2",
            &input,
            "--f0",
            "pyin",
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out.to_string_lossy().into_owned(), "--json".into()])
        .collect::<Vec<_>>(),
    );
    let j = json(&o);
    assert_eq!(num(&j, "input_sample_rate"), 16000.0);
    assert_eq!(num(&j, "sample_rate"), 22050.0);
    assert_eq!(j.get("resampled").and_then(Json::as_bool), Some(true));
    let frames = num(&j, "frames") as usize;
    assert_eq!(num(&j, "n_mels"), 80.0);

    // The file holds the library's own features of the same signal.
    let w = wav::decode(&std::fs::read(&input).unwrap()).unwrap();
    let mut analyzer = llmcore::audio::analysis::Analyzer::new(
        Preset::FastSpeech2.config(),
        Some((
            llmcore::audio::analysis::PitchMethod::Pyin,
            llmcore::audio::analysis::pitch_config_for(&Preset::FastSpeech2.config()),
        )),
    )
    .unwrap();
    let a = analyzer.run(&w.to_mono(), w.sample_rate).unwrap();
    let st = SafeTensors::open(&out).unwrap();
    let mel = st.tensor("log_mel").unwrap();
    assert_eq!(mel.shape, [frames, 80]);
    let floats = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    assert_eq!(floats(mel.data), a.features.log_mel.data);
    let track = a.f0.unwrap();
    assert_eq!(
        floats(st.tensor("f0_interpolated").unwrap().data),
        track.f0_interpolated
    );
    let voiced = st.tensor("voiced").unwrap().data;
    assert_eq!(
        num(&j, "voiced_frames") as usize,
        voiced.iter().filter(|&&v| v == 1).count()
    );
    std::fs::remove_file(&out).unwrap();

    // whisper at 128 mels: one frame fewer than the STFT (the last is dropped), values in the
    // recipe's range ((log10 - 4) / 4 clamped to 8 below the maximum).
    let o = llmcore(&[
        "audio",
        "features",
        "--preset",
        "whisper",
        "--mels",
        "128",
        &data("zh-150-16k-s16.wav"),
        "--json",
    ]);
    let j = json(&o);
    let samples = w.frames();
    assert_eq!(num(&j, "frames") as usize, samples / 160);
    assert_eq!(num(&j, "n_mels"), 128.0);
    assert!(num(&j, "log_mel_max") - num(&j, "log_mel_min") <= 2.0 + 1e-6);
}

#[test]
fn g2p_reads_numbers_and_applies_sandhi() {
    let text = "你好，2024年有百分之五的人不是一个人。";
    let j = json(&llmcore(&[
        "audio",
        "g2p",
        "--text",
        text,
        "--dict",
        &dict(),
        "--json",
    ]));
    assert_eq!(
        j.get("normalized").and_then(Json::as_str),
        Some("你好，二零二四年有百分之五的人不是一个人。")
    );
    let syllables: Vec<String> = j
        .get("tokens")
        .and_then(Json::as_array)
        .unwrap()
        .iter()
        .filter_map(|t| t.get("pinyin").and_then(Json::as_array))
        .flatten()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let spoken = syllables.join(" ");
    assert!(
        spoken.contains("bu2 shi4") && spoken.contains("yi2 ge4"),
        "{spoken}"
    );
    let raw = json(&llmcore(&[
        "audio",
        "g2p",
        "--text",
        text,
        "--dict",
        &dict(),
        "--no-sandhi",
        "--json",
    ]));
    let raw = raw.to_string();
    assert!(raw.contains("[\"ni3\",\"hao3\"]"), "{raw}");
    let ids = j.get("phoneme_ids").and_then(Json::as_array).unwrap();
    let symbols = j.get("phonemes").and_then(Json::as_array).unwrap();
    assert_eq!(ids.len(), symbols.len());
    assert!(ids.len() > syllables.len());
}

#[test]
fn corpus_writes_a_manifest_and_a_scene_table() {
    let out = temp("corpus");
    let _ = std::fs::remove_dir_all(&out);
    let o = llmcore(&[
        "audio",
        "corpus",
        &data("corpus"),
        "--out",
        &out.to_string_lossy(),
        "--dict",
        &dict(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    for scene in ["chat", "news", "qa", "story", "(corpus)"] {
        assert!(table.contains(scene), "{table}");
    }
    assert!(table.contains("16 utterances"), "{table}");
    assert!(stderr(&o).contains("16/16"), "progress bar: {}", stderr(&o));
    let manifest =
        llmcore::io::json::parse(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
            .unwrap();
    let scenes = manifest.get("scenes").unwrap();
    assert_eq!(
        scenes
            .get("story")
            .and_then(|s| s.get("utterances"))
            .and_then(Json::as_f64),
        Some(4.0)
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn bad_input_is_named_with_the_right_exit_code() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["audio"], 2, "usage: llmcore audio"),
        (&["audio", "features", "x.wav"], 2, "--preset is required"),
        (
            &["audio", "features", "--preset", "tacotron", "x.wav"],
            2,
            "unknown feature preset \"tacotron\"; known presets: fastspeech2, whisper",
        ),
        (
            &[
                "audio", "features", "--preset", "whisper", "--f0", "crepe", "x.wav",
            ],
            2,
            "unknown F0 method \"crepe\"",
        ),
        (
            &[
                "audio",
                "features",
                "--preset",
                "whisper",
                "/nonexistent.wav",
            ],
            1,
            "/nonexistent.wav",
        ),
        (&["audio", "g2p"], 2, "--text"),
        (
            &["audio", "corpus", "/nonexistent-dir", "--out", "/tmp/x"],
            1,
            "/nonexistent-dir",
        ),
    ];
    for (args, code, needle) in cases {
        let o = llmcore(args);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    // A truncated WAV: the offset and the missing bytes are named.
    let bytes = std::fs::read(data("tone-220.wav")).unwrap();
    let cut = temp("cut.wav");
    std::fs::write(&cut, &bytes[..1000]).unwrap();
    let o = llmcore(&[
        "audio",
        "features",
        "--preset",
        "fastspeech2",
        &cut.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("malformed WAV"), "{}", stderr(&o));
    std::fs::remove_file(&cut).unwrap();
    // An empty text and a dictionary folder that is not there.
    let o = llmcore(&["audio", "g2p", "--text", "", "--dict", &dict()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = llmcore(&["audio", "g2p", "--text", "你好", "--dict", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("pinyin_dict.json"), "{}", stderr(&o));
}
