//! The runtime against two independent references, both committed with the scripts that made
//! them (tests/data/README.md):
//! - exact path vs a float64 numpy forward of our own (scripts/numpy_forward.py): relative L2
//!   error of full-vocabulary logit rows <= 1e-5 (measured <= 2.7e-6);
//! - fast path vs llama.cpp (scripts/llama_cpp_reference.py) on a ~2,000-token excerpt of
//!   Persuasion: the same tokens; per scored token, the median |NLL difference| from
//!   llama.cpp's own per-token NLL within 2x the measured one; perplexity within 1% with
//!   llama-perplexity's windows and scoring; the same top-1 token at >= 95% of positions.
//!
//! The fast path runs with its default f16 KV cache, as llama.cpp's does. Measured 2026-12-02
//! (AVX-512 kernels): SmolLM2 ppl 34.9609 vs 35.0112 (-0.14%), top-1 96.34%, median |dNLL| 0.0433;
//! Qwen 58.2280 vs 57.9338 (+0.51%), top-1 97.72%, median |dNLL| 0.0304. (With an f32 cache and
//! AVX2 kernels they were +0.04% / 95.9% / 0.0448 and +0.64% / 97.1% / 0.0317.)
//!
//! Why the perplexity bound is 1% although SmolLM2 measures -0.14%: the per-token NLL
//! differences are noise of standard deviation 0.090 (SmolLM2) / 0.062 (Qwen) nats, so the mean
//! over 1,020 / 765 scored tokens carries a standard error of 0.28% / 0.22% in perplexity, and
//! SmolLM2's -0.14% is well within it (Qwen's +0.5-0.6% is 2.3-2.8 standard errors: a real bias).
//! 1% is 3.5 standard errors; a tighter bound would test the draw, not the code. The median
//! |difference| is the tight check: it does not average away.
//!
//! Why top-1 agreement is 95%, not 99%: the fast path quantizes every matrix input to 8-bit blocks,
//! and that rounding makes the whole forward pass extremely sensitive. Changing one embedding
//! element of each token by 1e-6 (relative) changes our own fast path's top-1 token at 2.1% of the
//! positions of the first window (501/512 agree, median |dNLL| 0.041). Any two implementations
//! that do not match bit for bit (llama.cpp here uses AVX-512 kernels with other summation orders
//! and an f16 KV cache) therefore differ by the full quantization noise. Measured: SmolLM2
//! 96.3%, Qwen 97.7% (above), against 97.3% for our *exact* path vs llama.cpp on SmolLM2.

mod common;

use common::{fixture, model, QWEN_05B, SMOLLM2};
use llmcore::io::json::{parse, Json};
use llmcore::model::perplexity::{perplexity, token_nll, PerplexityParams, ScoreMode};
use llmcore::model::sampling::argmax;
use llmcore::model::{KvType, LogitRows, Numerics, Session};

fn load_json(rel: &str) -> Json {
    let p = fixture(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    parse(&text).unwrap()
}

fn ids(j: &Json) -> Vec<u32> {
    j.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

/// Exact path: logits rows vs the float64 numpy forward.
fn exact_vs_numpy(rel: &'static str, name: &str) {
    let meta = load_json(&format!("reference/numpy_{name}.json"));
    let input = ids(meta.get("input_ids").unwrap());
    let positions: Vec<usize> = ids(meta.get("logits_positions").unwrap())
        .into_iter()
        .map(|p| p as usize)
        .collect();
    let raw = std::fs::read(fixture(&format!("reference/numpy_{name}.logits.f32"))).unwrap();
    let want: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();

    let m = model(rel);
    let vocab = m.config.vocab_size;
    assert_eq!(want.len(), positions.len() * vocab);
    // The reference's input is the first tokens of its prompt text.
    let prompt = meta.get("prompt").unwrap().as_str().unwrap();
    assert_eq!(
        m.tokenizer().encode(prompt, false).unwrap()[..input.len()],
        input[..]
    );

    let mut s = Session::new(m.clone(), input.len(), Numerics::Exact).unwrap();
    let got = s.eval(&input, LogitRows::Some(&positions)).unwrap();
    for (i, &pos) in positions.iter().enumerate() {
        let (g, w) = (
            &got[i * vocab..(i + 1) * vocab],
            &want[i * vocab..(i + 1) * vocab],
        );
        let err: f64 = g
            .iter()
            .zip(w)
            .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
            .sum();
        let norm: f64 = w.iter().map(|b| (*b as f64).powi(2)).sum();
        let rel_err = (err / norm).sqrt();
        eprintln!("{name} exact vs numpy, position {pos}: relative L2 error {rel_err:.3e}");
        // Measured (2026-12-02): SmolLM2 5.9e-7, 9.2e-7, 2.6e-6; Qwen 1.4e-6, 3.7e-7, 6.4e-7 at
        // positions 0, 31, 63. 1e-5 is 3.8x the largest.
        assert!(
            rel_err <= 1e-5,
            "{name} position {pos}: relative L2 error {rel_err:.3e}"
        );
    }
}

/// Fast path: per-token NLL, perplexity and top-1 agreement vs llama.cpp on the Persuasion
/// excerpt. `max_median_dnll` bounds the median |our NLL - llama.cpp's NLL| over the scored
/// tokens.
fn fast_vs_llama_cpp(rel: &'static str, name: &str, max_median_dnll: f64) {
    let reference = load_json(&format!("reference/llamacpp_{name}.json"));
    let tokens = ids(reference.get("tokens").unwrap());
    let ctx = reference.get("n_ctx").unwrap().as_u64().unwrap() as usize;
    let windows = reference.get("windows").unwrap().as_array().unwrap();

    let m = model(rel);
    let vocab = m.config.vocab_size;
    let text = std::fs::read_to_string(fixture("persuasion_excerpt.txt")).unwrap();
    assert_eq!(
        m.tokenizer().encode(&text, false).unwrap(),
        tokens,
        "{name}: tokenization differs"
    );

    let (mut nll_sum, mut scored, mut same_top1, mut positions) = (0.0, 0usize, 0usize, 0usize);
    let mut dnll = Vec::new();
    let mut s = Session::new(m.clone(), ctx, Numerics::Fast).unwrap();
    for (w, win) in windows.iter().enumerate() {
        let chunk = &tokens[w * ctx..(w + 1) * ctx];
        s.clear();
        let logits = s.eval(chunk, LogitRows::All).unwrap();
        let top1 = ids(win.get("top1").unwrap());
        for (i, &t) in top1.iter().enumerate() {
            same_top1 += (argmax(&logits[i * vocab..(i + 1) * vocab]) == t as usize) as usize;
        }
        positions += top1.len();
        let want_nll = win.get("nll").unwrap().as_array().unwrap();
        for (i, want) in (ctx / 2..ctx - 1).zip(want_nll) {
            let nll = token_nll(&logits[i * vocab..(i + 1) * vocab], chunk[i + 1] as usize);
            nll_sum += nll;
            scored += 1;
            dnll.push((nll - want.as_f64().unwrap()).abs());
        }
    }
    assert_eq!(
        scored as u64,
        reference.get("count").unwrap().as_u64().unwrap()
    );
    let ppl = (nll_sum / scored as f64).exp();
    let want = reference.get("ppl").unwrap().as_f64().unwrap();
    let agreement = same_top1 as f64 / positions as f64;
    assert_eq!(dnll.len(), scored, "{name}: llama.cpp's per-token NLL list");
    dnll.sort_by(f64::total_cmp);
    let median_dnll = dnll[dnll.len() / 2];
    eprintln!(
        "{name} fast vs llama.cpp: ppl {ppl:.4} vs {want:.4} ({:+.3}%), top-1 agreement {:.2}%, \
         median |dNLL| {median_dnll:.4}",
        100.0 * (ppl / want - 1.0),
        100.0 * agreement
    );
    assert!(
        median_dnll <= max_median_dnll,
        "{name}: median |NLL - llama.cpp's| {median_dnll}"
    );
    assert!(
        (ppl / want - 1.0).abs() <= 0.01,
        "{name}: ppl {ppl} vs llama.cpp {want}"
    );
    assert!(agreement >= 0.95, "{name}: top-1 agreement {agreement}");

    // The library's perplexity call scores exactly these tokens.
    let params = PerplexityParams {
        ctx,
        max_windows: 0,
        score: ScoreMode::SecondHalf,
        numerics: Numerics::Fast,
        kv_type: KvType::default_for(Numerics::Fast),
    };
    let r = perplexity(&m, &tokens, &params, &mut |_, _| true).unwrap();
    assert_eq!((r.windows, r.tokens_scored), (windows.len(), scored));
    // Measured (2026-12-02): equal to the last bit for both models (the same sums in the same
    // order); 1e-12 allows only another summation order.
    assert!(
        (r.ppl / ppl - 1.0).abs() < 1e-12,
        "perplexity() {} vs {ppl}",
        r.ppl
    );
}

#[test]
fn smollm2_exact_path_matches_numpy() {
    exact_vs_numpy(SMOLLM2, "smollm2");
}

#[test]
fn qwen_exact_path_matches_numpy() {
    exact_vs_numpy(QWEN_05B, "qwen05");
}

#[test]
fn smollm2_fast_path_matches_llama_cpp() {
    // Measured (2026-12-02, AVX-512, f16 cache): median |dNLL| 0.0433 nats (0.0448 with f32).
    fast_vs_llama_cpp(SMOLLM2, "smollm2", 0.09);
}

#[test]
fn qwen_fast_path_matches_llama_cpp() {
    // Measured (2026-12-02, AVX-512, f16 cache): median |dNLL| 0.0304 nats (0.0317 with f32).
    fast_vs_llama_cpp(QWEN_05B, "qwen05", 0.065);
}
