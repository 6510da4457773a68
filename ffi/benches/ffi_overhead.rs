//! What calling through the C ABI costs: greedy decoding on SmolLM2-135M through the Rust API
//! (`Session::eval` + argmax) against the same loop through the exported C functions
//! (`llmc_session_eval`, which adds the panic boundary, the pointer checks and the copy of the
//! logits into the caller's buffer). The two paths decode side by side, their steps
//! interleaved, so both see the same load on a shared machine; the overhead is the median over
//! paired steps of 1 - (C ABI tokens/s) / (Rust tokens/s) and must stay under 2% (the bench exits
//! non-zero otherwise). Both paths must pick the same tokens. The fixed cost of the boundary
//! (an empty call) and of the logits copy is also timed on its own, against a decode step.
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

/// One decode step through the Rust API: eval the token, pick the argmax.
fn rust_step(s: &mut Session, token: u32) -> u32 {
    argmax(&s.eval(&[token], LogitRows::Last).unwrap()) as u32
}

/// One decode step through the C ABI, logits into the caller's buffer.
fn ffi_step(s: *mut llmc_session, token: u32, logits: &mut [f32]) -> u32 {
    // SAFETY: a live session and a buffer of `logits.len()` floats.
    let st = unsafe { llmc_session_eval(s, &token, 1, logits.as_mut_ptr(), logits.len()) };
    assert_eq!(st, llmc_status::LLMC_OK);
    argmax(logits) as u32
}

/// One round: both paths prefill `prompt`, then decode `steps` tokens greedily with their
/// steps interleaved (alternating which goes first), so that both see the same machine load.
/// Returns the seconds of each step as (Rust, C ABI); both paths must pick the same tokens.
fn round(
    model: &Arc<Model>,
    handle: *const llmc_model,
    prompt: &[u32],
    steps: usize,
) -> Vec<(f64, f64)> {
    let n_ctx = prompt.len() + steps + 1;
    let mut rs = Session::new(model.clone(), n_ctx, Numerics::Fast).unwrap();
    let mut params = llmc_session_default_params();
    params.n_ctx = n_ctx;
    let mut cs: *mut llmc_session = std::ptr::null_mut();
    // SAFETY: a live model handle and a writable handle slot.
    assert_eq!(
        unsafe { llmc_session_new(handle, &params, &mut cs) },
        llmc_status::LLMC_OK
    );
    let vocab = model.config.vocab_size;
    let mut logits = vec![0.0f32; vocab];
    let mut r_next = argmax(&rs.eval(prompt, LogitRows::Last).unwrap()) as u32;
    // SAFETY: as in `ffi_step`.
    let st = unsafe {
        llmc_session_eval(
            cs,
            prompt.as_ptr(),
            prompt.len(),
            logits.as_mut_ptr(),
            vocab,
        )
    };
    assert_eq!(st, llmc_status::LLMC_OK);
    let mut c_next = argmax(&logits) as u32;
    let mut times = Vec::with_capacity(steps);
    for i in 0..steps {
        let (mut r_secs, mut c_secs) = (0.0, 0.0);
        assert_eq!(r_next, c_next, "the C ABI must decode the same tokens");
        let mut time_rust = || {
            let t = Instant::now();
            r_next = rust_step(&mut rs, r_next);
            r_secs += t.elapsed().as_secs_f64();
        };
        if i % 2 == 0 {
            time_rust();
        }
        let t = Instant::now();
        c_next = ffi_step(cs, c_next, &mut logits);
        c_secs += t.elapsed().as_secs_f64();
        if i % 2 == 1 {
            time_rust();
        }
        times.push((r_secs, c_secs));
    }
    // SAFETY: created above, freed once.
    unsafe { llmc_session_free(cs) };
    times
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

    round(&model, handle, &prompt, steps); // warm-up: page the weights in

    let (mut rust_tps, mut ffi_tps, mut overheads) = (Vec::new(), Vec::new(), Vec::new());
    let mut totals = (0.0, 0.0);
    for i in 0..rounds {
        let times = round(&model, handle, &prompt, steps);
        let r = steps as f64 / times.iter().map(|t| t.0).sum::<f64>();
        let f = steps as f64 / times.iter().map(|t| t.1).sum::<f64>();
        println!("round {i}: Rust {r:.2} tokens/s, C ABI {f:.2} tokens/s");
        rust_tps.push(r);
        ffi_tps.push(f);
        // Each step's C ABI time against its paired Rust step: 1 - tps_C / tps_Rust.
        overheads.extend(times.iter().map(|(r, c)| 1.0 - r / c));
        totals.0 += times.iter().map(|t| t.0).sum::<f64>();
        totals.1 += times.iter().map(|t| t.1).sum::<f64>();
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
    // ... and the copy of one row of logits into the caller's buffer, which the Rust API
    // does not do.
    let (src, mut dst) = (vec![1.0f32; vocab], vec![0.0f32; vocab]);
    let copies = 10_000;
    let t0 = Instant::now();
    for _ in 0..copies {
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&mut dst);
    }
    let copy_ns = t0.elapsed().as_secs_f64() * 1e9 / copies as f64;

    let (r, f, o) = (median(rust_tps), median(ffi_tps), median(overheads));
    let fixed = (per_call_ns + copy_ns) * 1e-9 * r;
    println!(
        "decode, SmolLM2-135M Q4_1, {steps} tokens x {rounds} rounds: Rust API {r:.2} tokens/s, \
         C ABI {f:.2} tokens/s (medians of rounds); overhead {:.2}% (median of paired steps)",
        o * 100.0
    );
    println!(
        "all steps together: Rust API {:.2} tokens/s, C ABI {:.2} tokens/s, overhead {:.2}%",
        (rounds * steps) as f64 / totals.0,
        (rounds * steps) as f64 / totals.1,
        (1.0 - totals.0 / totals.1) * 100.0
    );
    println!(
        "fixed cost per C ABI decode call: {per_call_ns:.1} ns boundary + {copy_ns:.0} ns logits \
         copy = {:.4}% of a Rust decode step",
        fixed * 100.0
    );
    if o >= 0.02 {
        eprintln!("FAIL: C ABI overhead {:.2}% is not under 2%", o * 100.0);
        std::process::exit(1);
    }
}
