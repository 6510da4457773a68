//! Prefill and decode speed on a real GGUF, measured like llama-bench's pp512 / tg128:
//! prefill = one forward over a 512-token prompt; decode = 128 single-token forwards after a
//! short prompt. Prints one JSON line per model, naming the SIMD level of the kernels
//! (`LLMCORE_SIMD` caps it) (run through scripts/bench-runtime.sh, which measures llama.cpp in
//! the same run).
//!
//! `cargo bench --bench runtime -- [MODEL.gguf[@KIND] ...]` (default: SmolLM2); `--threads N`.
//! `MODEL@KIND` runs a pruned model with its linear weights re-stored in the sparse format KIND
//! (`2:4-q4`, `unstructured-q8`, ...; see `llmcore::tensor::sparse`).

use std::sync::Arc;
use std::time::Instant;

use llmcore::model::{LogitRows, Model, Numerics, Session};
use llmcore::tensor::quant::simd_level;
use llmcore::tensor::sparse::SparseKind;

fn bench(arg: &str, reps: usize) {
    let (path, kind) = match arg.rsplit_once('@') {
        Some((p, k)) => (
            p,
            Some(SparseKind::parse(k).unwrap_or_else(|e| panic!("{arg}: {e}"))),
        ),
        None => (arg, None),
    };
    let mut model = Model::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    if let Some(k) = kind {
        model
            .to_sparse(k, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{arg}: {e}"));
    }
    let weight_bytes = model.linear_bytes().unwrap();
    let model = Arc::new(model);
    let vocab = model.config.vocab_size as u32;
    // Deterministic pseudo-random token ids (the content does not change the cost).
    let prompt: Vec<u32> = (0..512u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) % vocab)
        .collect();

    let mut pp = Vec::new();
    for _ in 0..reps {
        let mut s = Session::new(model.clone(), 512, Numerics::Fast).unwrap();
        let t = Instant::now();
        s.eval(&prompt, LogitRows::Last).unwrap();
        pp.push(512.0 / t.elapsed().as_secs_f64());
    }
    let mut tg = Vec::new();
    for _ in 0..reps {
        let mut s = Session::new(model.clone(), 256, Numerics::Fast).unwrap();
        s.eval(&prompt[..8], LogitRows::Last).unwrap();
        let t = Instant::now();
        for i in 0..128 {
            s.eval(&[prompt[8 + i]], LogitRows::Last).unwrap();
        }
        tg.push(128.0 / t.elapsed().as_secs_f64());
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "{{\"model\":\"{path}\",\"sparse\":\"{}\",\"linear_weight_bytes\":{weight_bytes},\"threads\":{},\"simd\":\"{}\",\"prefill_tokens_per_s\":{:.2},\"decode_tokens_per_s\":{:.2},\"reps\":{reps}}}",
        kind.map(|k| k.name()).unwrap_or_else(|| "none".into()),
        rayon::current_num_threads(),
        simd_level(),
        mean(&pp),
        mean(&tg)
    );
}

fn main() {
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut threads = 0;
    if let Some(i) = args.iter().position(|a| a == "--threads") {
        threads = args
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .expect("--threads N");
        args.drain(i..i + 2);
    }
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .unwrap();
    }
    if args.is_empty() {
        args.push(format!(
            "{}/assets/models/SmolLM2-135M-Instruct.Q4_1.gguf",
            env!("CARGO_MANIFEST_DIR")
        ));
    }
    for path in &args {
        bench(path, 3);
    }
}
