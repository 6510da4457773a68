//! Calibration sources on the real SmolLM2: self-generated sets are reproducible (whatever the
//! thread count), score each text by its own perplexity (recomputed here from raw logits), drop
//! exactly the worst fraction and survive a save/load; text windows and random tokens are what
//! they claim; bad requests are named.

mod common;

use common::{fixture, model, SMOLLM2};
use llmcore::model::perplexity::token_nll;
use llmcore::model::{LogitRows, Numerics, Session};
use llmcore::prune::calib::{self, SelfGenParams, SynthSet};

fn seeds() -> String {
    std::fs::read_to_string(fixture("persuasion_excerpt.txt")).unwrap()
}

fn small() -> SelfGenParams {
    SelfGenParams {
        texts: 6,
        max_new: 24,
        ..Default::default()
    }
}

#[test]
fn selfgen_is_reproducible_scored_and_drops_the_worst() {
    let m = model(SMOLLM2);
    let seeds = seeds();
    let mut calls = 0;
    let set = calib::selfgen(&m, &seeds, &small(), &mut |done, total| {
        calls += 1;
        assert_eq!((done, total), (calls, 6));
        true
    })
    .unwrap();
    assert_eq!(set.texts.len(), 6);
    // Same settings, one worker thread: the same texts.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let again = pool.install(|| calib::selfgen(&m, &seeds, &small(), &mut |_, _| true).unwrap());
    assert_eq!(again, set);
    let other = SelfGenParams {
        sampler: llmcore::model::sampling::SamplerParams {
            seed: 1,
            ..small().sampler
        },
        ..small()
    };
    assert_ne!(
        calib::selfgen(&m, &seeds, &other, &mut |_, _| true)
            .unwrap()
            .texts,
        set.texts
    );

    let paragraphs = calib::paragraphs(&seeds);
    let vocab = m.config.vocab_size;
    for t in &set.texts {
        // Seeded by the first two tokens of its paragraph, continued by the model.
        let p = m
            .tokenizer()
            .encode(paragraphs[t.paragraph], false)
            .unwrap();
        assert_eq!(t.tokens[..2], p[..2]);
        assert!(t.tokens.len() > 2 && t.tokens.len() <= 2 + 24);
        // Its perplexity, from the logits of one forward over the text.
        let n = t.tokens.len();
        let mut s = Session::new(m.clone(), n, Numerics::Fast).unwrap();
        let logits = s.eval(&t.tokens, LogitRows::All).unwrap();
        let nll: f64 = (0..n - 1)
            .map(|i| {
                token_nll(
                    &logits[i * vocab..(i + 1) * vocab],
                    t.tokens[i + 1] as usize,
                )
            })
            .sum();
        let ppl = (nll / (n - 1) as f64).exp();
        assert!((ppl - t.ppl).abs() <= 1e-9 * ppl, "{ppl} vs {}", t.ppl);
    }
    // floor(6 * 0.2) = 1 dropped: the highest perplexity.
    let dropped: Vec<_> = set.texts.iter().filter(|t| !t.kept).collect();
    assert_eq!(dropped.len(), 1);
    let worst = set.texts.iter().map(|t| t.ppl).fold(f64::MIN, f64::max);
    assert_eq!(dropped[0].ppl, worst);

    // Saved and loaded unchanged; windows come from the kept texts only.
    let path = std::env::temp_dir().join(format!("llmcore-selfgen-{}.json", std::process::id()));
    set.save(&path).unwrap();
    let back = SynthSet::load(&path).unwrap();
    assert_eq!(back, set);
    let w = back.windows(m.tokenizer(), 4, 16, 0).unwrap();
    let stream = back.stream(m.tokenizer()).unwrap();
    assert_eq!(w.windows.len(), 4);
    for win in &w.windows {
        assert!(stream.windows(16).any(|s| s == &win[..]));
    }
    assert!(!stream
        .windows(dropped[0].tokens.len())
        .any(|s| s == &dropped[0].tokens[..]));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn selfgen_cancels_and_refuses_bad_requests() {
    let m = model(SMOLLM2);
    let seeds = seeds();
    let e = calib::selfgen(&m, &seeds, &small(), &mut |done, _| done < 2).unwrap_err();
    assert_eq!(e, llmcore::Error::Cancelled);
    let many = SelfGenParams {
        texts: 100_000,
        ..small()
    };
    let e = calib::selfgen(&m, &seeds, &many, &mut |_, _| true).unwrap_err();
    assert!(e.to_string().contains("fewer than the 100000 texts"), "{e}");
    let e = calib::selfgen(
        &m,
        &seeds,
        &SelfGenParams {
            drop: -0.1,
            ..small()
        },
        &mut |_, _| true,
    )
    .unwrap_err();
    assert!(e.to_string().contains("drop fraction"), "{e}");
}

#[test]
fn text_windows_and_random_tokens() {
    let m = model(SMOLLM2);
    let tok = m.tokenizer();
    let text = seeds();
    let set = calib::from_text(tok, &text, "persuasion_excerpt.txt", 5, 32, 7).unwrap();
    let all = tok.encode(&text, false).unwrap();
    assert_eq!(set.windows.len(), 5);
    for w in &set.windows {
        assert!(all.windows(32).any(|s| s == &w[..]));
    }
    let e =
        calib::from_text(tok, &text, "persuasion_excerpt.txt", 1, all.len() + 1, 0).unwrap_err();
    assert!(e.to_string().contains("persuasion_excerpt.txt has"), "{e}");
    let r = calib::random_tokens(tok, 3, 64, 1).unwrap();
    assert!(r
        .windows
        .iter()
        .flatten()
        .all(|&t| !tok.is_control(t) && (t as usize) < tok.vocab_size()));
    assert_ne!(r.windows[0], r.windows[1]);
}
