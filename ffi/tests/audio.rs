//! The speech front end's exports (`llmc_audio_*`, `llmc_wav_decode`, `llmc_g2p_*`,
//! `llmc_phoneme_*`), called as a C program would: features and F0 of the fixture WAVs are
//! core's `Analyzer::run` bit for bit (at the recipe's rate and through the resampler), WAV
//! decoding and resampling are core's, pinyin and phoneme ids are core's on a Mandarin
//! sentence, and a corpus build writes the same bytes as core's `corpus::build`; every bad
//! argument is refused with its status and a message naming it, and outputs are untouched on
//! failure. Needs the pypinyin dictionary (scripts/fetch-assets.sh) for the G2P and corpus
//! tests. `cargo test -p llmcore-ffi --test audio -- --nocapture` prints the frame counts and
//! checksums that tests/c/audio.c checks.

mod common;

use common::{expect, last_error};
use llmcore::audio::*;
use llmcore::status::llmc_status::{self, *};
use runtime::audio::analysis::{pitch_config_for, Analysis, Analyzer, PitchMethod};
use runtime::audio::corpus;
use runtime::audio::features::Preset;
use runtime::audio::resample::resample;
use runtime::audio::wav;
use runtime::audio::zh::{self, Dictionary, PHONEMES};
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

#[track_caller]
fn ok(status: llmc_status) {
    assert_eq!(status, LLMC_OK, "{}", last_error());
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/data/audio").join(name)
}

fn dict_dir() -> PathBuf {
    let assets =
        std::env::var_os("LLMCORE_ASSETS").map_or_else(|| repo().join("assets"), PathBuf::from);
    let dir = assets.join("pypinyin");
    assert!(
        dir.join("pinyin_dict.json").exists(),
        "{} is missing: run scripts/fetch-assets.sh",
        dir.display()
    );
    dir
}

fn params(preset: &str) -> llmc_audio_params {
    let name = CString::new(preset).unwrap();
    let mut p = std::mem::MaybeUninit::<llmc_audio_params>::uninit();
    ok(unsafe { llmc_audio_default_params(name.as_ptr(), p.as_mut_ptr()) });
    unsafe { p.assume_init() }
}

/// The fixture's samples as one channel, and its rate.
fn mono(name: &str) -> (Vec<f32>, u32) {
    let w = wav::decode(&std::fs::read(fixture(name)).unwrap()).unwrap();
    (w.to_mono(), w.sample_rate)
}

/// Core's analysis of the signal with the preset's recipe (and F0 by `method`).
fn core_analysis(preset: &str, pcm: &[f32], rate: u32, method: Option<PitchMethod>) -> Analysis {
    let cfg = Preset::parse(preset).unwrap().config();
    let pitch = method.map(|m| (m, pitch_config_for(&cfg)));
    Analyzer::new(cfg, pitch).unwrap().run(pcm, rate).unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// FNV-1a over the values' bits: the checksum tests/c/audio.c compares.
fn fnv(v: &[f32]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for x in v {
        for b in x.to_bits().to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// `llmc_audio_features` with buffers sized by its own size query.
fn features(p: &llmc_audio_params, pcm: &[f32], rate: u32) -> (usize, Vec<f32>, Vec<f32>) {
    let mut frames = 0usize;
    ok(unsafe {
        llmc_audio_features(
            p,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            null_mut(),
            0,
            null_mut(),
            0,
            &mut frames,
        )
    });
    let mut n_frames = 0usize;
    ok(unsafe { llmc_audio_n_frames(p, pcm.len(), rate, &mut n_frames) });
    assert_eq!(n_frames, frames);
    let mut log_mel = vec![0f32; frames * p.n_mels];
    let mut energy = vec![0f32; frames];
    let mut got = 0usize;
    ok(unsafe {
        llmc_audio_features(
            p,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            log_mel.as_mut_ptr(),
            log_mel.len(),
            energy.as_mut_ptr(),
            energy.len(),
            &mut got,
        )
    });
    assert_eq!(got, frames);
    (frames, log_mel, energy)
}

#[test]
fn presets_are_cores_and_unknown_ones_are_named() {
    let fs2 = params("fastspeech2");
    assert_eq!(fs2.struct_size, size_of::<llmc_audio_params>());
    assert_eq!(
        (
            fs2.sample_rate,
            fs2.n_fft,
            fs2.hop,
            fs2.win_length,
            fs2.n_mels
        ),
        (22050, 1024, 256, 1024, 80)
    );
    assert_eq!((fs2.fmin, fs2.fmax, fs2.log_floor), (0.0, 8000.0, 1e-5));
    assert_eq!(
        (fs2.window, fs2.mel_scale, fs2.mel_norm),
        (
            LLMC_AUDIO_WINDOW_HANN,
            LLMC_MEL_SCALE_SLANEY,
            LLMC_MEL_NORM_SLANEY
        )
    );
    assert_eq!(
        (fs2.spectrum, fs2.log_recipe),
        (LLMC_AUDIO_SPECTRUM_MAGNITUDE, LLMC_AUDIO_LOG_LN)
    );
    assert!(fs2.center && fs2.pad_mode == LLMC_AUDIO_PAD_REFLECT && !fs2.drop_last_frame);
    let w = params("whisper");
    assert_eq!(
        (w.sample_rate, w.n_fft, w.hop, w.n_mels),
        (16000, 400, 160, 80)
    );
    assert_eq!(
        (w.spectrum, w.log_recipe, w.log_floor, w.log_dynamic_range),
        (
            LLMC_AUDIO_SPECTRUM_POWER,
            LLMC_AUDIO_LOG_WHISPER,
            1e-10,
            8.0
        )
    );
    assert!(w.drop_last_frame);

    let mut out = fs2;
    out.n_mels = 7;
    let name = CString::new("tacotron").unwrap();
    expect(
        unsafe { llmc_audio_default_params(name.as_ptr(), &mut out) },
        LLMC_ERR_INVALID_ARGUMENT,
        "llmc_audio_default_params",
        "preset: unknown feature preset \"tacotron\"; known presets: fastspeech2, whisper",
    );
    assert_eq!(out.n_mels, 7, "untouched on failure");
    expect(
        unsafe { llmc_audio_default_params(null(), &mut out) },
        LLMC_ERR_NULL_ARGUMENT,
        "llmc_audio_default_params",
        "'preset' is NULL",
    );
    let name = CString::new("whisper").unwrap();
    expect(
        unsafe { llmc_audio_default_params(name.as_ptr(), null_mut()) },
        LLMC_ERR_NULL_ARGUMENT,
        "llmc_audio_default_params",
        "'out' is NULL",
    );
}

#[test]
fn features_are_cores_bit_for_bit() {
    // (fixture, preset): at the recipe's rate, and through the resampler both ways.
    for (file, preset) in [
        ("zh-150-16k-s16.wav", "whisper"),
        ("zh-150-16k-s16.wav", "fastspeech2"),
        ("tone-220.wav", "fastspeech2"),
        ("tone-220.wav", "whisper"),
    ] {
        let (pcm, rate) = mono(file);
        let p = params(preset);
        let (frames, log_mel, energy) = features(&p, &pcm, rate);
        let a = core_analysis(preset, &pcm, rate, None);
        assert_eq!(frames, a.features.log_mel.n_frames, "{file} {preset}");
        assert_eq!(
            bits(&log_mel),
            bits(&a.features.log_mel.data),
            "{file} {preset}"
        );
        assert_eq!(bits(&energy), bits(&a.features.energy), "{file} {preset}");
        // NULL params are the fastspeech2 preset.
        if preset == "fastspeech2" {
            let mut n = 0;
            ok(unsafe { llmc_audio_n_frames(null(), pcm.len(), rate, &mut n) });
            assert_eq!(n, frames);
        }
        let sum: f64 = log_mel.iter().map(|&x| f64::from(x)).sum();
        println!(
            "{file} {preset}: {frames} frames, log_mel sum {sum:.6}, fnv log_mel {:016x} energy {:016x}",
            fnv(&log_mel),
            fnv(&energy)
        );
    }
}

#[test]
fn f0_is_cores_bit_for_bit() {
    for (file, preset, method, c_method) in [
        ("tone-220.wav", "fastspeech2", PitchMethod::Yin, LLMC_F0_YIN),
        (
            "tone-220.wav",
            "fastspeech2",
            PitchMethod::Pyin,
            LLMC_F0_PYIN,
        ),
        ("tone-220.wav", "whisper", PitchMethod::Pyin, LLMC_F0_PYIN),
        (
            "zh-150-16k-s16.wav",
            "whisper",
            PitchMethod::Pyin,
            LLMC_F0_PYIN,
        ),
    ] {
        let (pcm, rate) = mono(file);
        let p = params(preset);
        let mut frames = 0;
        ok(unsafe {
            llmc_audio_f0(
                &p,
                c_method,
                pcm.as_ptr(),
                pcm.len(),
                rate,
                null_mut(),
                null_mut(),
                null_mut(),
                0,
                &mut frames,
            )
        });
        let (mut f0, mut voiced, mut interp) =
            (vec![0f32; frames], vec![7u8; frames], vec![0f32; frames]);
        let mut got = 0;
        ok(unsafe {
            llmc_audio_f0(
                &p,
                c_method,
                pcm.as_ptr(),
                pcm.len(),
                rate,
                f0.as_mut_ptr(),
                voiced.as_mut_ptr(),
                interp.as_mut_ptr(),
                frames,
                &mut got,
            )
        });
        assert_eq!(got, frames);
        let a = core_analysis(preset, &pcm, rate, Some(method));
        let t = a.f0.unwrap();
        assert_eq!(
            frames, a.features.log_mel.n_frames,
            "F0 on the feature frames"
        );
        assert_eq!(bits(&f0), bits(&t.f0), "{file} {preset} {method:?}");
        assert_eq!(bits(&interp), bits(&t.f0_interpolated));
        let want: Vec<u8> = t.voiced.iter().map(|&v| v as u8).collect();
        assert_eq!(voiced, want);
        // Optional outputs may be NULL.
        let mut only = vec![0f32; frames];
        ok(unsafe {
            llmc_audio_f0(
                &p,
                c_method,
                pcm.as_ptr(),
                pcm.len(),
                rate,
                only.as_mut_ptr(),
                null_mut(),
                null_mut(),
                frames,
                &mut got,
            )
        });
        assert_eq!(bits(&only), bits(&f0));
        let n_voiced = voiced.iter().filter(|&&v| v == 1).count();
        let mut hz: Vec<f32> = f0
            .iter()
            .zip(&voiced)
            .filter(|(f, &v)| v == 1 && f.is_finite())
            .map(|(&f, _)| f)
            .collect();
        hz.sort_by(f32::total_cmp);
        println!(
            "{file} {preset} {method:?}: {frames} frames, {n_voiced} voiced, median {:.4} Hz, fnv f0_interpolated {:016x}",
            hz.get(hz.len() / 2).copied().unwrap_or(f32::NAN),
            fnv(&interp)
        );
        if file == "tone-220.wav" {
            let median = hz[hz.len() / 2];
            assert!((median - 220.0).abs() < 2.2, "{median}");
        }
    }
}

#[test]
fn feature_misuse_is_refused_and_writes_nothing() {
    let (pcm, rate) = mono("tone-220.wav");
    let p = params("fastspeech2");
    let (frames, mels) = (pcm.len() / 256 + 1, 80);
    let mut log_mel = vec![-3f32; frames * mels];
    let mut energy = vec![-3f32; frames];
    let mut n = 99usize;
    let f = "llmc_audio_features";
    let call = |p: *const llmc_audio_params,
                pcm: *const f32,
                len: usize,
                rate: u32,
                lm: *mut f32,
                lm_cap: usize,
                e: *mut f32,
                e_cap: usize,
                n: *mut usize| unsafe {
        llmc_audio_features(p, pcm, len, rate, lm, lm_cap, e, e_cap, n)
    };
    let (lm, e) = (log_mel.as_mut_ptr(), energy.as_mut_ptr());
    expect(
        call(
            &p,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            lm,
            frames * mels - 1,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_BUFFER_TOO_SMALL,
        f,
        &format!(
            "'log_mel' holds {} elements, {} needed ({frames} frames x 80 mels)",
            frames * mels - 1,
            frames * mels
        ),
    );
    expect(
        call(
            &p,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            lm,
            frames * mels,
            e,
            frames - 1,
            &mut n,
        ),
        LLMC_ERR_BUFFER_TOO_SMALL,
        f,
        "'energy' holds",
    );
    expect(
        call(
            &p,
            null(),
            pcm.len(),
            rate,
            lm,
            frames * mels,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_NULL_ARGUMENT,
        f,
        "'pcm' is NULL",
    );
    expect(
        call(
            &p,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            null_mut(),
            10,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_NULL_ARGUMENT,
        f,
        "'log_mel' is NULL",
    );
    expect(
        call(
            &p,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            lm,
            frames * mels,
            null_mut(),
            3,
            &mut n,
        ),
        LLMC_ERR_NULL_ARGUMENT,
        f,
        "'energy' is NULL",
    );
    expect(
        call(
            &p,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            lm,
            frames * mels,
            e,
            frames,
            null_mut(),
        ),
        LLMC_ERR_NULL_ARGUMENT,
        f,
        "'n_frames' is NULL",
    );
    expect(
        call(
            &p,
            pcm.as_ptr(),
            pcm.len(),
            0,
            lm,
            frames * mels,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "sample_rate is 0",
    );
    expect(
        call(
            &p,
            pcm.as_ptr(),
            0,
            rate,
            lm,
            frames * mels,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "n_samples is 0",
    );
    let mut bad = p;
    bad.struct_size = 8;
    expect(
        call(
            &bad,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            lm,
            frames * mels,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "'params'->struct_size is 8",
    );
    for (field, set) in [
        (
            "window",
            (|b: &mut llmc_audio_params| b.window = 2) as fn(&mut llmc_audio_params),
        ),
        ("mel_scale", |b| b.mel_scale = 2),
        ("mel_norm", |b| b.mel_norm = 9),
        ("pad_mode", |b| b.pad_mode = 2),
        ("spectrum", |b| b.spectrum = 2),
        ("log_recipe", |b| b.log_recipe = 5),
    ] {
        let mut bad = p;
        set(&mut bad);
        expect(
            call(
                &bad,
                pcm.as_ptr(),
                pcm.len(),
                rate,
                lm,
                frames * mels,
                e,
                frames,
                &mut n,
            ),
            LLMC_ERR_INVALID_ARGUMENT,
            f,
            &format!("params->{field} "),
        );
    }
    let mut bad = p;
    bad.win_length = 2048;
    expect(
        call(
            &bad,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            lm,
            frames * mels,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "params: STFT win_length 2048 must be in 1..=n_fft (1024)",
    );
    let mut bad = p;
    bad.fmax = 12000.0;
    expect(
        call(
            &bad,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            lm,
            frames * mels,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "params: ",
    );
    let mut bad = p;
    bad.log_floor = 0.0;
    expect(
        call(
            &bad,
            pcm.as_ptr(),
            pcm.len(),
            rate,
            lm,
            frames * mels,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "log floor must be positive",
    );
    // A signal too short for one frame: not centred, shorter than n_fft.
    let mut bad = p;
    bad.center = false;
    expect(
        call(
            &bad,
            pcm.as_ptr(),
            1000,
            rate,
            lm,
            frames * mels,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "1000 samples at 22050 Hz (1000 at the recipe's 22050 Hz) make no feature frame",
    );
    // A rate pair whose filter table would be too large.
    expect(
        call(
            &p,
            pcm.as_ptr(),
            pcm.len(),
            44101,
            lm,
            frames * mels,
            e,
            frames,
            &mut n,
        ),
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "sample_rate: resample: 44101 Hz -> 22050 Hz",
    );
    assert!(
        log_mel.iter().chain(&energy).all(|&x| x == -3.0) && n == 99,
        "nothing written"
    );

    let mut frames_out = 5usize;
    expect(
        unsafe { llmc_audio_n_frames(&p, 0, rate, &mut frames_out) },
        LLMC_ERR_INVALID_ARGUMENT,
        "llmc_audio_n_frames",
        "n_samples is 0",
    );
    expect(
        unsafe { llmc_audio_n_frames(&p, 100, rate, null_mut()) },
        LLMC_ERR_NULL_ARGUMENT,
        "llmc_audio_n_frames",
        "'n_frames' is NULL",
    );
    assert_eq!(frames_out, 5);

    let g = "llmc_audio_f0";
    let mut f0 = vec![-3f32; frames];
    let mut voiced = vec![9u8; frames];
    expect(
        unsafe {
            llmc_audio_f0(
                &p,
                2,
                pcm.as_ptr(),
                pcm.len(),
                rate,
                f0.as_mut_ptr(),
                null_mut(),
                null_mut(),
                frames,
                &mut n,
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        g,
        "method 2 (LLMC_F0_YIN or LLMC_F0_PYIN)",
    );
    expect(
        unsafe {
            llmc_audio_f0(
                &p,
                LLMC_F0_YIN,
                pcm.as_ptr(),
                pcm.len(),
                rate,
                f0.as_mut_ptr(),
                voiced.as_mut_ptr(),
                null_mut(),
                frames - 1,
                &mut n,
            )
        },
        LLMC_ERR_BUFFER_TOO_SMALL,
        g,
        &format!("'f0' holds {} elements, {frames} needed", frames - 1),
    );
    expect(
        unsafe {
            llmc_audio_f0(
                &p,
                LLMC_F0_YIN,
                pcm.as_ptr(),
                pcm.len(),
                rate,
                null_mut(),
                null_mut(),
                null_mut(),
                4,
                &mut n,
            )
        },
        LLMC_ERR_NULL_ARGUMENT,
        g,
        "'f0' is NULL",
    );
    let mut nan = pcm.clone();
    nan[500] = f32::NAN;
    expect(
        unsafe {
            llmc_audio_f0(
                &p,
                LLMC_F0_YIN,
                nan.as_ptr(),
                nan.len(),
                rate,
                f0.as_mut_ptr(),
                voiced.as_mut_ptr(),
                null_mut(),
                frames,
                &mut n,
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        g,
        "sample 500 is NaN",
    );
    assert!(f0.iter().all(|&x| x == -3.0) && voiced.iter().all(|&v| v == 9) && n == 99);
}

#[test]
fn wav_decoding_and_resampling_are_cores() {
    let bytes = std::fs::read(fixture("en-120-44k-s24-stereo.wav")).unwrap();
    let w = wav::decode(&bytes).unwrap();
    let f = "llmc_wav_decode";
    for mono in [false, true] {
        let (mut n, mut rate, mut channels) = (0usize, 0u32, 0u16);
        ok(unsafe {
            llmc_wav_decode(
                bytes.as_ptr(),
                bytes.len(),
                mono,
                null_mut(),
                0,
                &mut rate,
                &mut channels,
                &mut n,
            )
        });
        assert_eq!(
            (rate, channels),
            (44100, 2),
            "the size query gives the format too"
        );
        let mut samples = vec![0f32; n];
        ok(unsafe {
            llmc_wav_decode(
                bytes.as_ptr(),
                bytes.len(),
                mono,
                samples.as_mut_ptr(),
                n,
                null_mut(),
                null_mut(),
                &mut n,
            )
        });
        let want = if mono { w.to_mono() } else { w.samples.clone() };
        assert_eq!(bits(&samples), bits(&want));
        if mono {
            assert_eq!(n, 88_200);
            let mut small = vec![5f32; n - 1];
            expect(
                unsafe {
                    llmc_wav_decode(
                        bytes.as_ptr(),
                        bytes.len(),
                        true,
                        small.as_mut_ptr(),
                        n - 1,
                        null_mut(),
                        null_mut(),
                        &mut n,
                    )
                },
                LLMC_ERR_BUFFER_TOO_SMALL,
                f,
                "88200 needed (88200 frames x 1 channels)",
            );
            assert!(small.iter().all(|&x| x == 5.0));
        }
    }
    let (mut n, mut rate) = (7usize, 7u32);
    let truncated = &bytes[..bytes.len() / 2];
    expect(
        unsafe {
            llmc_wav_decode(
                truncated.as_ptr(),
                truncated.len(),
                true,
                null_mut(),
                0,
                &mut rate,
                null_mut(),
                &mut n,
            )
        },
        LLMC_ERR_FORMAT,
        f,
        "malformed WAV at byte offset",
    );
    expect(
        unsafe {
            llmc_wav_decode(
                null(),
                0,
                true,
                null_mut(),
                0,
                &mut rate,
                null_mut(),
                &mut n,
            )
        },
        LLMC_ERR_FORMAT,
        f,
        "truncated header: 0 bytes",
    );
    expect(
        unsafe {
            llmc_wav_decode(
                null(),
                44,
                true,
                null_mut(),
                0,
                &mut rate,
                null_mut(),
                &mut n,
            )
        },
        LLMC_ERR_NULL_ARGUMENT,
        f,
        "'bytes' is NULL",
    );
    expect(
        unsafe {
            llmc_wav_decode(
                bytes.as_ptr(),
                bytes.len(),
                true,
                null_mut(),
                0,
                null_mut(),
                null_mut(),
                null_mut(),
            )
        },
        LLMC_ERR_NULL_ARGUMENT,
        f,
        "'n_samples' is NULL",
    );
    assert_eq!((n, rate), (7, 7));

    let (pcm, from) = mono("zh-150-16k-s16.wav");
    let mut n = 0;
    ok(unsafe { llmc_audio_resample(pcm.as_ptr(), pcm.len(), from, 22050, null_mut(), 0, &mut n) });
    let want = resample(&pcm, from, 22050).unwrap();
    assert_eq!(n, want.len());
    let mut out = vec![0f32; n];
    ok(unsafe {
        llmc_audio_resample(
            pcm.as_ptr(),
            pcm.len(),
            from,
            22050,
            out.as_mut_ptr(),
            n,
            &mut n,
        )
    });
    assert_eq!(bits(&out), bits(&want));
    let r = "llmc_audio_resample";
    expect(
        unsafe {
            llmc_audio_resample(
                pcm.as_ptr(),
                pcm.len(),
                from,
                22050,
                out.as_mut_ptr(),
                10,
                &mut n,
            )
        },
        LLMC_ERR_BUFFER_TOO_SMALL,
        r,
        "'out' holds 10 elements",
    );
    expect(
        unsafe {
            llmc_audio_resample(
                pcm.as_ptr(),
                pcm.len(),
                0,
                22050,
                out.as_mut_ptr(),
                n,
                &mut n,
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        r,
        "sample rates must be positive",
    );
    assert_eq!(bits(&out), bits(&want));
}

fn load_dict() -> *mut llmc_g2p_dict {
    let dir = CString::new(dict_dir().to_str().unwrap()).unwrap();
    let mut d = null_mut();
    ok(unsafe { llmc_g2p_dict_load(dir.as_ptr(), &mut d) });
    assert!(!d.is_null());
    d
}

fn pinyin(d: *const llmc_g2p_dict, text: &str, sandhi: bool) -> Result<String, llmc_status> {
    let mut n = 0;
    let s = unsafe {
        llmc_g2p_pinyin(
            d,
            text.as_ptr().cast(),
            text.len(),
            sandhi,
            null_mut(),
            0,
            &mut n,
        )
    };
    if s != LLMC_OK {
        return Err(s);
    }
    let mut buf = vec![1 as c_char; n + 1];
    ok(unsafe {
        llmc_g2p_pinyin(
            d,
            text.as_ptr().cast(),
            text.len(),
            sandhi,
            buf.as_mut_ptr(),
            n + 1,
            &mut n,
        )
    });
    Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_str()
        .unwrap()
        .to_string())
}

const SENTENCE: &str = "今天天气很好，我们一起去公园散步吧。";

#[test]
fn g2p_is_cores() {
    let d = load_dict();
    let dict = Dictionary::load(&dict_dir()).unwrap();
    for sandhi in [false, true] {
        let got = pinyin(d, SENTENCE, sandhi).unwrap();
        let tokens = zh::pinyin(&dict, SENTENCE, sandhi).unwrap();
        let syllables: Vec<String> = zh::syllables(&tokens).map(|s| s.to_string()).collect();
        let without_pauses: Vec<&str> = got.split(' ').filter(|s| *s != "," && *s != ".").collect();
        assert_eq!(without_pauses, syllables);
        println!("pinyin (sandhi {sandhi}): {got}");
    }
    // The format: TONE3 syllables, "," and "." for the pauses, foreign runs as written.
    assert_eq!(
        pinyin(d, SENTENCE, false).unwrap(),
        "jin1 tian1 tian1 qi4 hen3 hao3 , wo3 men5 yi4 qi3 qu4 gong1 yuan2 san4 bu4 ba5 ."
    );
    assert_eq!(
        pinyin(d, "“2024年”ABC", false).unwrap(),
        "er4 ling2 er4 si4 nian2 ABC"
    );

    let mut n = 0;
    let text = SENTENCE;
    ok(unsafe { llmc_g2p_phonemes(d, text.as_ptr().cast(), text.len(), null_mut(), 0, &mut n) });
    let mut ids = vec![0u32; n];
    ok(unsafe {
        llmc_g2p_phonemes(
            d,
            text.as_ptr().cast(),
            text.len(),
            ids.as_mut_ptr(),
            n,
            &mut n,
        )
    });
    let want: Vec<u32> = zh::phonemes(&dict, text)
        .unwrap()
        .iter()
        .map(|p| u32::from(p.id()))
        .collect();
    assert_eq!(ids, want);
    let symbols: Vec<String> = ids
        .iter()
        .map(|&id| {
            let mut buf = [0 as c_char; 16];
            let mut len = 0;
            ok(unsafe { llmc_phoneme_symbol(id, buf.as_mut_ptr(), buf.len(), &mut len) });
            unsafe { CStr::from_ptr(buf.as_ptr()) }
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    println!(
        "phonemes: {} ({} ids, sum {})",
        symbols.join(" "),
        ids.len(),
        ids.iter().sum::<u32>()
    );
    assert_eq!(symbols[..4], ["j", "in1", "t", "ian1"]);
    assert_eq!(symbols.last().unwrap(), "sil");

    // The inventory round-trips through symbols and ids.
    assert_eq!(llmc_phoneme_count(), PHONEMES.len());
    for (i, s) in PHONEMES.iter().enumerate() {
        let c = CString::new(*s).unwrap();
        let mut id = u32::MAX;
        ok(unsafe { llmc_phoneme_id(c.as_ptr(), &mut id) });
        assert_eq!(id as usize, i);
    }

    // From memory, the same dictionary.
    let chars = std::fs::read_to_string(dict_dir().join("pinyin_dict.json")).unwrap();
    let phrases = std::fs::read_to_string(dict_dir().join("phrases_dict.json")).unwrap();
    let mut d2 = null_mut();
    ok(unsafe {
        llmc_g2p_dict_parse(
            chars.as_ptr().cast(),
            chars.len(),
            phrases.as_ptr().cast(),
            phrases.len(),
            &mut d2,
        )
    });
    assert_eq!(pinyin(d2, SENTENCE, true), pinyin(d, SENTENCE, true));
    unsafe { llmc_g2p_dict_free(d2) };
    unsafe { llmc_g2p_dict_free(d) };
}

#[test]
fn g2p_misuse_is_refused_and_writes_nothing() {
    let d = load_dict();
    let (p, f) = ("llmc_g2p_phonemes", "llmc_g2p_pinyin");
    let mut ids = [77u32; 4];
    let mut n = 99usize;
    let t = SENTENCE;
    expect(
        unsafe { llmc_g2p_phonemes(d, t.as_ptr().cast(), t.len(), ids.as_mut_ptr(), 4, &mut n) },
        LLMC_ERR_BUFFER_TOO_SMALL,
        p,
        "'ids' holds 4 elements",
    );
    let foreign = "我爱ABC";
    expect(
        unsafe {
            llmc_g2p_phonemes(
                d,
                foreign.as_ptr().cast(),
                foreign.len(),
                ids.as_mut_ptr(),
                4,
                &mut n,
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        p,
        "\"ABC\" at character 2 (byte 6)",
    );
    expect(
        unsafe { llmc_g2p_phonemes(d, null(), 0, ids.as_mut_ptr(), 4, &mut n) },
        LLMC_ERR_INVALID_ARGUMENT,
        p,
        "the text is empty",
    );
    expect(
        unsafe {
            llmc_g2p_phonemes(
                null(),
                t.as_ptr().cast(),
                t.len(),
                ids.as_mut_ptr(),
                4,
                &mut n,
            )
        },
        LLMC_ERR_NULL_ARGUMENT,
        p,
        "'dict' is NULL",
    );
    expect(
        unsafe { llmc_g2p_phonemes(d, null(), 5, ids.as_mut_ptr(), 4, &mut n) },
        LLMC_ERR_NULL_ARGUMENT,
        p,
        "'text' is NULL",
    );
    let bad = [0xe4u8, 0xbb];
    expect(
        unsafe { llmc_g2p_phonemes(d, bad.as_ptr().cast(), 2, ids.as_mut_ptr(), 4, &mut n) },
        LLMC_ERR_INVALID_ARGUMENT,
        p,
        "'text' is not UTF-8 (byte 0)",
    );
    assert!(ids == [77; 4] && n == 99);
    let mut buf = [5 as c_char; 8];
    expect(
        unsafe {
            llmc_g2p_pinyin(
                d,
                t.as_ptr().cast(),
                t.len(),
                true,
                buf.as_mut_ptr(),
                8,
                &mut n,
            )
        },
        LLMC_ERR_BUFFER_TOO_SMALL,
        f,
        "'buf' holds 8 elements",
    );
    expect(
        unsafe {
            llmc_g2p_pinyin(
                d,
                t.as_ptr().cast(),
                t.len(),
                true,
                buf.as_mut_ptr(),
                8,
                null_mut(),
            )
        },
        LLMC_ERR_NULL_ARGUMENT,
        f,
        "'n_out' is NULL",
    );
    let ws = "  ";
    expect(
        unsafe {
            llmc_g2p_pinyin(
                d,
                ws.as_ptr().cast(),
                ws.len(),
                true,
                buf.as_mut_ptr(),
                8,
                &mut n,
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "the text is empty",
    );
    assert!(buf == [5; 8] && n == 99);

    let mut sym = [5 as c_char; 2];
    let s = "llmc_phoneme_symbol";
    expect(
        unsafe { llmc_phoneme_symbol(PHONEMES.len() as u32, sym.as_mut_ptr(), 2, &mut n) },
        LLMC_ERR_INVALID_ARGUMENT,
        s,
        &format!(
            "phoneme id {} is outside the inventory (0..{})",
            PHONEMES.len(),
            PHONEMES.len()
        ),
    );
    expect(
        unsafe { llmc_phoneme_symbol(u32::MAX, sym.as_mut_ptr(), 2, &mut n) },
        LLMC_ERR_INVALID_ARGUMENT,
        s,
        "outside the inventory",
    );
    expect(
        unsafe { llmc_phoneme_symbol(16, sym.as_mut_ptr(), 2, &mut n) },
        LLMC_ERR_BUFFER_TOO_SMALL,
        s,
        "'buf' holds 2 elements, 3 needed",
    );
    let mut id = 3u32;
    let x = CString::new("zz9").unwrap();
    expect(
        unsafe { llmc_phoneme_id(x.as_ptr(), &mut id) },
        LLMC_ERR_INVALID_ARGUMENT,
        "llmc_phoneme_id",
        "no phoneme is written \"zz9\"",
    );
    assert!(sym == [5; 2] && n == 99 && id == 3);

    let mut out = std::ptr::dangling_mut::<llmc_g2p_dict>();
    let missing = CString::new("/nonexistent/pypinyin").unwrap();
    expect(
        unsafe { llmc_g2p_dict_load(missing.as_ptr(), &mut out) },
        LLMC_ERR_IO,
        "llmc_g2p_dict_load",
        "/nonexistent/pypinyin/pinyin_dict.json",
    );
    let junk = "{\n\"x\": 1\n}\n";
    expect(
        unsafe {
            llmc_g2p_dict_parse(
                junk.as_ptr().cast(),
                junk.len(),
                junk.as_ptr().cast(),
                junk.len(),
                &mut out,
            )
        },
        LLMC_ERR_FORMAT,
        "llmc_g2p_dict_parse",
        "pinyin_dict.json",
    );
    assert_eq!(
        out,
        std::ptr::dangling_mut::<llmc_g2p_dict>(),
        "untouched on failure"
    );
    unsafe { llmc_g2p_dict_free(null_mut()) };
    unsafe { llmc_g2p_dict_free(d) };
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("llmcore-ffi-audio-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A corpus of two utterances (one scene, one speaker) copied from tests/data/audio/corpus.
fn small_corpus() -> PathBuf {
    let root = temp("corpus");
    let dir = root.join("chat/spk_f3");
    std::fs::create_dir_all(&dir).unwrap();
    for id in ["chat_spk_f3_01", "chat_spk_f3_02"] {
        for ext in ["wav", "txt"] {
            let name = format!("{id}.{ext}");
            std::fs::copy(fixture("corpus/chat/spk_f3").join(&name), dir.join(&name)).unwrap();
        }
    }
    root
}

/// Every file under `dir` with its bytes, by path relative to `dir`.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

struct Seen {
    calls: Vec<(usize, usize, Option<String>)>,
    cancel_at: usize,
}

unsafe extern "C" fn on_progress(
    done: usize,
    total: usize,
    utterance: *const c_char,
    ud: *mut c_void,
) -> bool {
    let s = unsafe { &mut *ud.cast::<Seen>() };
    let name = (!utterance.is_null()).then(|| {
        unsafe { CStr::from_ptr(utterance) }
            .to_str()
            .unwrap()
            .to_string()
    });
    s.calls.push((done, total, name));
    done < s.cancel_at
}

#[test]
fn corpus_is_cores_and_cancels() {
    let root = small_corpus();
    let d = load_dict();
    let (ours, theirs) = (temp("ours"), temp("theirs"));
    let c = |p: &Path| CString::new(p.to_str().unwrap()).unwrap();
    let (croot, cours) = (c(&root), c(&ours.join("new")));
    let mut seen = Seen {
        calls: vec![],
        cancel_at: usize::MAX,
    };
    let mut r = llmc_audio_corpus_result {
        struct_size: size_of::<llmc_audio_corpus_result>(),
        n_utterances: 0,
        n_scenes: 0,
        n_speakers: 0,
        n_frames: 0,
        audio_seconds: 0.0,
        seconds: 0.0,
    };
    let p = llmc_audio_corpus_default_params();
    assert!(p.features.is_null() && p.silence_db == 40.0 && p.min_pause_s == 0.05);
    ok(unsafe {
        llmc_audio_corpus(
            croot.as_ptr(),
            cours.as_ptr(),
            d,
            &p,
            Some(on_progress),
            (&mut seen as *mut Seen).cast(),
            &mut r,
        )
    });
    assert_eq!((r.n_utterances, r.n_scenes, r.n_speakers), (2, 1, 1));
    assert_eq!(
        seen.calls,
        [
            (0, 2, Some("chat/spk_f3/chat_spk_f3_01".into())),
            (1, 2, Some("chat/spk_f3/chat_spk_f3_02".into())),
            (2, 2, None)
        ]
    );

    let cfg = corpus::CorpusConfig {
        features: Preset::FastSpeech2.config(),
        activity: Default::default(),
    };
    let dict = Dictionary::load(&dict_dir()).unwrap();
    let report = corpus::build(
        &corpus::scan(&root).unwrap(),
        &theirs,
        &cfg,
        &dict,
        &mut |_, _, _| true,
    )
    .unwrap();
    assert_eq!(
        files(&ours.join("new")),
        files(&theirs),
        "the same bytes as core's build"
    );
    assert_eq!(
        r.n_frames,
        report.utterances.iter().map(|u| u.frames).sum::<usize>()
    );
    println!(
        "corpus: {} utterances, {} frames, {:.3} s of audio in {:.2} s",
        r.n_utterances, r.n_frames, r.audio_seconds, r.seconds
    );

    // Cancelled before the second utterance: no manifest; the result is untouched.
    let cancelled = ours.join("cancelled");
    let ccan = c(&cancelled);
    let mut seen = Seen {
        calls: vec![],
        cancel_at: 1,
    };
    r.n_utterances = 77;
    expect(
        unsafe {
            llmc_audio_corpus(
                croot.as_ptr(),
                ccan.as_ptr(),
                d,
                null(),
                Some(on_progress),
                (&mut seen as *mut Seen).cast(),
                &mut r,
            )
        },
        LLMC_ERR_CANCELLED,
        "llmc_audio_corpus",
        "cancelled by the progress callback after 1 of 2 utterances",
    );
    assert!(!cancelled.join("manifest.json").exists() && r.n_utterances == 77);

    // Misuse, refused before any work.
    let f = "llmc_audio_corpus";
    expect(
        unsafe {
            llmc_audio_corpus(
                null(),
                cours.as_ptr(),
                d,
                null(),
                None,
                null_mut(),
                null_mut(),
            )
        },
        LLMC_ERR_NULL_ARGUMENT,
        f,
        "'root' is NULL",
    );
    expect(
        unsafe {
            llmc_audio_corpus(
                croot.as_ptr(),
                null(),
                d,
                null(),
                None,
                null_mut(),
                null_mut(),
            )
        },
        LLMC_ERR_NULL_ARGUMENT,
        f,
        "'out_dir' is NULL",
    );
    expect(
        unsafe {
            llmc_audio_corpus(
                croot.as_ptr(),
                cours.as_ptr(),
                null(),
                null(),
                None,
                null_mut(),
                null_mut(),
            )
        },
        LLMC_ERR_NULL_ARGUMENT,
        f,
        "'dict' is NULL",
    );
    let mut bad = p;
    bad.struct_size = 4;
    expect(
        unsafe {
            llmc_audio_corpus(
                croot.as_ptr(),
                cours.as_ptr(),
                d,
                &bad,
                None,
                null_mut(),
                null_mut(),
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "'params'->struct_size is 4",
    );
    let mut bad = p;
    bad.silence_db = f32::NAN;
    expect(
        unsafe {
            llmc_audio_corpus(
                croot.as_ptr(),
                cours.as_ptr(),
                d,
                &bad,
                None,
                null_mut(),
                null_mut(),
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "params->silence_db NaN",
    );
    let mut bad = p;
    bad.min_pause_s = -1.0;
    expect(
        unsafe {
            llmc_audio_corpus(
                croot.as_ptr(),
                cours.as_ptr(),
                d,
                &bad,
                None,
                null_mut(),
                null_mut(),
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "params->min_pause_s -1",
    );
    let mut fp = params("fastspeech2");
    fp.n_mels = 0;
    let mut bad = p;
    bad.features = &fp;
    expect(
        unsafe {
            llmc_audio_corpus(
                croot.as_ptr(),
                cours.as_ptr(),
                d,
                &bad,
                None,
                null_mut(),
                null_mut(),
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "params->features: ",
    );
    r.struct_size = 0;
    expect(
        unsafe {
            llmc_audio_corpus(
                croot.as_ptr(),
                cours.as_ptr(),
                d,
                null(),
                None,
                null_mut(),
                &mut r,
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "'result'->struct_size is 0",
    );
    let missing = CString::new("/nonexistent/corpus").unwrap();
    expect(
        unsafe {
            llmc_audio_corpus(
                missing.as_ptr(),
                cours.as_ptr(),
                d,
                null(),
                None,
                null_mut(),
                null_mut(),
            )
        },
        LLMC_ERR_IO,
        f,
        "/nonexistent/corpus",
    );
    std::fs::write(root.join("chat/spk_f3/stray.wav"), b"RIFF").unwrap();
    expect(
        unsafe {
            llmc_audio_corpus(
                croot.as_ptr(),
                cours.as_ptr(),
                d,
                null(),
                None,
                null_mut(),
                null_mut(),
            )
        },
        LLMC_ERR_INVALID_ARGUMENT,
        f,
        "stray.wav: no transcript",
    );

    unsafe { llmc_g2p_dict_free(d) };
    for dir in [root, ours, theirs] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
