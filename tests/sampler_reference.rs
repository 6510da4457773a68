//! The sampler chain against llama.cpp's (tests/data/reference/sampler_chain.json, made by
//! scripts/sampler_reference.py from llama-cpp-python 0.3.16 on real SmolLM2 logits): for each
//! case (logit bias, repetition / frequency / presence penalties over a history, top-k, top-p,
//! min-p, temperature, greedy) and each row of logits, [`Sampler::distribution`] keeps the same
//! tokens in the same order with the same probabilities (llama.cpp's softmax is f32, ours f64),
//! and greedy selects the same token.

use llmcore::io::json::{parse, Json};
use llmcore::model::sampling::{LogitBias, Sampler, SamplerParams};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/reference");

fn num(j: &Json, key: &str) -> f64 {
    j.get(key)
        .and_then(Json::as_f64)
        .unwrap_or_else(|| panic!("{key} missing"))
}

fn ids(j: &Json, key: &str) -> Vec<u32> {
    j.get(key)
        .and_then(Json::as_array)
        .unwrap_or_else(|| panic!("{key} missing"))
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn the_chain_keeps_what_llama_cpp_keeps_with_its_probabilities() {
    let reference =
        parse(&std::fs::read_to_string(format!("{DIR}/sampler_chain.json")).unwrap()).unwrap();
    let n_vocab = num(&reference, "n_vocab") as usize;
    let bytes = std::fs::read(format!("{DIR}/sampler_logits.f32")).unwrap();
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let rows: Vec<&[f32]> = floats.chunks_exact(n_vocab).collect();
    assert_eq!(rows.len(), 2);
    let results = reference.get("results").and_then(Json::as_array).unwrap();
    assert_eq!(results.len(), 12);
    let mut compared = 0;
    for r in results {
        let case = r.get("case").and_then(Json::as_str).unwrap();
        let row = rows[num(r, "row") as usize];
        let params = SamplerParams {
            temperature: num(r, "temperature") as f32,
            top_k: num(r, "top_k") as usize,
            top_p: num(r, "top_p") as f32,
            min_p: num(r, "min_p") as f32,
            repeat_penalty: num(r, "repeat_penalty") as f32,
            repeat_last_n: num(r, "repeat_last_n") as usize,
            frequency_penalty: num(r, "frequency_penalty") as f32,
            presence_penalty: num(r, "presence_penalty") as f32,
            seed: 0,
        };
        let bias: Vec<LogitBias> = r
            .get("logit_bias")
            .and_then(Json::as_array)
            .unwrap()
            .iter()
            .map(|e| {
                let e = e.as_array().unwrap();
                LogitBias {
                    token: e[0].as_u64().unwrap() as u32,
                    bias: match e[1].as_str() {
                        Some("-inf") => f32::NEG_INFINITY,
                        _ => e[1].as_f64().unwrap() as f32,
                    },
                }
            })
            .collect();
        let history = ids(r, "history");
        let sampler = Sampler::with_logit_bias(params, &bias);
        let mut logits = row.to_vec();
        let dist = sampler.distribution(&mut logits, &history);
        if let Some(selected) = r.get("selected").and_then(Json::as_u64) {
            assert_eq!(dist, [(selected as u32, 1.0)], "{case}: greedy choice");
            // The penalties moved the choice off the raw argmax, so they were applied.
            let raw = llmcore::model::sampling::argmax(row) as u32;
            assert_ne!(raw, selected as u32, "{case}: the penalties should matter");
        } else {
            let want = ids(r, "ids");
            let probs = r.get("probs").and_then(Json::as_array).unwrap();
            let got: Vec<u32> = dist.iter().map(|d| d.0).collect();
            assert_eq!(got, want, "{case}, row {}: kept tokens", num(r, "row"));
            for ((t, p), q) in dist.iter().zip(probs) {
                let q = q.as_f64().unwrap();
                assert!(
                    (p - q).abs() <= 2e-6 + 1e-5 * q,
                    "{case}: p({t}) = {p}, llama.cpp {q}"
                );
            }
        }
        compared += 1;
    }
    assert_eq!(compared, 12);
}
