//! What calling through the C ABI costs: greedy decoding on SmolLM2-135M through the Rust API
//! (`Session::eval` + argmax) against the same loop through the exported C functions
//! (`llmc_session_eval`, which adds the panic boundary, the pointer checks and the copy of the
//! logits into the caller's buffer). Rounds alternate which path goes first; the overhead is
//! the median over rounds of 1 - (C ABI tokens/s) / (Rust tokens/s) and must stay under 2%
//! (the bench exits non-zero otherwise). Both paths must pick the same tokens.
//!
//! `cargo bench -p llmcore-ffi --bench ffi_overhead`; env `LLMCORE_ASSETS` (default
//! `<repo>/assets`), `LLMCORE_BENCH_ROUNDS` (default 9), `LLMCORE_BENCH_TOKENS` (default 32).

use llmcore::model::{llmc_model, llmc_model_free, llmc_model_load};
use llmcore::session::{
    llmc_session, llmc_session_default_params, llmc_session_eval, llmc_session_free,
    llmc_session_len, llmc_session_new,
};
use llmcore::status::llmc_status;
use runtime::model::sampling::argmax;
use runtime::model::{LogitRows, Model, Numerics, Session};
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// `$name` as a number, or `default`.
fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Greedy decoding through the Rust API: prefill, then `steps` single-token evals; returns the
/// tokens and the decode seconds.
fn rust_decode(model: &Arc<Model>, prompt: &[u32], steps: usize) -> (Vec<u32>, f64) {
    let mut s = Session::new(model.clone(), prompt.len() + steps + 1, Numerics::Fast).unwrap();
    let logits = s.eval(prompt, LogitRows::Last).unwrap();
    let mut next = argmax(&logits) as u32;
    let mut out = vec![next];
    let t0 = Instant::now();
    for _ in 0..steps {
        let logits = s.eval(&[next], LogitRows::Last).unwrap();
        next = argmax(&logits) as u32;
        out.push(next);
    }
    (out, t0.elapsed().as_secs_f64())
}

/// The same loop through the C ABI, logits into a caller buffer.
fn ffi_decode(
    model: *const llmc_model,
    prompt: &[u32],
    steps: usize,
    vocab: usize,
) -> (Vec<u32>, f64) {
    let mut params = llmc_session_default_params();
    params.n_ctx = prompt.len() + steps + 1;
    let mut s: *mut llmc_session = std::ptr::null_mut();
    let mut logits = vec![0.0f32; vocab];
    // SAFETY: valid handles and buffers of the stated sizes throughout.
    unsafe {
        assert_eq!(
            llmc_session_new(model, &params, &mut s),
            llmc_status::LLMC_OK
        );
        let st = llmc_session_eval(s, prompt.as_ptr(), prompt.len(), logits.as_mut_ptr(), vocab);
        assert_eq!(st, llmc_status::LLMC_OK);
        let mut next = argmax(&logits) as u32;
        let mut out = vec![next];
        let t0 = Instant::now();
        for _ in 0..steps {
            let st = llmc_session_eval(s, &next, 1, logits.as_mut_ptr(), vocab);
            assert_eq!(st, llmc_status::LLMC_OK);
            next = argmax(&logits) as u32;
            out.push(next);
        }
        let secs = t0.elapsed().as_secs_f64();
        llmc_session_free(s);
        (out, secs)
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() {
    let assets = std::env::var_os("LLMCORE_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets"));
    let path = assets.join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-assets.sh",
        path.display()
    );
    let rounds = env_num("LLMCORE_BENCH_ROUNDS", 9).max(1);
    let steps = env_num("LLMCORE_BENCH_TOKENS", 32).max(1);

    let model = Arc::new(Model::open(&path).unwrap());
    let vocab = model.config.vocab_size;
    let prompt = model
        .tokenizer()
        .encode("The capital of France is", true)
        .unwrap();
    let c_path = CString::new(path.to_str().unwrap()).unwrap();
    let mut handle: *mut llmc_model = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path and a writable handle slot.
    assert_eq!(
        unsafe { llmc_model_load(c_path.as_ptr(), &mut handle) },
        llmc_status::LLMC_OK
    );

    // Warm-up (page in the weights), checking both paths decode the same tokens.
    let (rust_tokens, _) = rust_decode(&model, &prompt, steps);
    let (ffi_tokens, _) = ffi_decode(handle, &prompt, steps, vocab);
    assert_eq!(
        rust_tokens, ffi_tokens,
        "the C ABI must decode the same tokens"
    );

    let (mut rust_tps, mut ffi_tps, mut overheads) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (r, f) = if round % 2 == 0 {
            let r = rust_decode(&model, &prompt, steps).1;
            (r, ffi_decode(handle, &prompt, steps, vocab).1)
        } else {
            let f = ffi_decode(handle, &prompt, steps, vocab).1;
            (rust_decode(&model, &prompt, steps).1, f)
        };
        let (r, f) = (steps as f64 / r, steps as f64 / f);
        println!("round {round}: Rust {r:.2} tokens/s, C ABI {f:.2} tokens/s");
        rust_tps.push(r);
        ffi_tps.push(f);
        overheads.push(1.0 - f / r);
    }

    // The boundary's fixed cost on its own: a call that does no work.
    let mut s: *mut llmc_session = std::ptr::null_mut();
    let mut len = 0usize;
    let calls = 1_000_000;
    // SAFETY: valid handles.
    let per_call_ns = unsafe {
        assert_eq!(
            llmc_session_new(handle, std::ptr::null(), &mut s),
            llmc_status::LLMC_OK
        );
        let t0 = Instant::now();
        for _ in 0..calls {
            llmc_session_len(std::hint::black_box(s), &mut len);
        }
        let ns = t0.elapsed().as_secs_f64() * 1e9 / calls as f64;
        llmc_session_free(s);
        llmc_model_free(handle);
        ns
    };

    let (r, f, o) = (median(rust_tps), median(ffi_tps), median(overheads));
    println!(
        "decode, SmolLM2-135M Q4_1, {steps} tokens x {rounds} rounds (median): Rust API {r:.2} \
         tokens/s, C ABI {f:.2} tokens/s, overhead {:.2}%; an empty ABI call costs {per_call_ns:.1} ns",
        o * 100.0
    );
    if o >= 0.02 {
        eprintln!("FAIL: C ABI overhead {:.2}% is not under 2%", o * 100.0);
        std::process::exit(1);
    }
}
