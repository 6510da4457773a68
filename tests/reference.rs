//! The runtime against two independent references, both committed with the scripts that made
//! them (tests/data/README.md):
//! - exact path vs a float64 numpy forward of our own (scripts/numpy_forward.py): relative L2
//!   error of full-vocabulary logit rows <= 1e-4;
//! - fast path vs llama.cpp (scripts/llama_cpp_reference.py) on a ~2,000-token excerpt of
//!   Persuasion: the same tokens, perplexity within 1% with llama-perplexity's windows and
//!   scoring, and the same top-1 token at >= 95% of positions.
//!
//! Why top-1 agreement is 95%, not 99%: the fast path quantizes every matrix input to 8-bit blocks,
//! and that rounding makes the whole forward pass extremely sensitive. Changing one embedding
//! element of each token by 1e-6 (relative) changes our own fast path's top-1 token at 2.1% of the
//! positions of the first window (501/512 agree, median |dNLL| 0.041). Any two implementations
//! that do not match bit for bit (llama.cpp here uses AVX-512 kernels with other summation orders
//! and an f16 KV cache) therefore differ by the full quantization noise. Measured: SmolLM2
//! 95.9%, Qwen 97.1%, against 97.3% for our *exact* path vs llama.cpp on SmolLM2, while
//! perplexity agrees within 0.05% / 0.7%.

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
        assert!(
            rel_err <= 1e-4,
            "{name} position {pos}: relative L2 error {rel_err:.3e}"
        );
    }
}

/// Fast path: perplexity and top-1 agreement vs llama.cpp on the Persuasion excerpt.
fn fast_vs_llama_cpp(rel: &'static str, name: &str) {
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
        for i in ctx / 2..ctx - 1 {
            nll_sum += token_nll(&logits[i * vocab..(i + 1) * vocab], chunk[i + 1] as usize);
            scored += 1;
        }
    }
    assert_eq!(
        scored as u64,
        reference.get("count").unwrap().as_u64().unwrap()
    );
    let ppl = (nll_sum / scored as f64).exp();
    let want = reference.get("ppl").unwrap().as_f64().unwrap();
    let agreement = same_top1 as f64 / positions as f64;
    eprintln!(
        "{name} fast vs llama.cpp: ppl {ppl:.4} vs {want:.4} ({:+.3}%), top-1 agreement {:.2}%",
        100.0 * (ppl / want - 1.0),
        100.0 * agreement
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
    assert!(
        (r.ppl / ppl - 1.0).abs() < 1e-9,
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
    fast_vs_llama_cpp(SMOLLM2, "smollm2");
}

#[test]
fn qwen_fast_path_matches_llama_cpp() {
    fast_vs_llama_cpp(QWEN_05B, "qwen05");
}
