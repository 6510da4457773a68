//! `llmc_speculate` on the tiny llama (2 layers, 64 tokens): greedy speculation with every
//! draft kind and tree gives `llmc_generate`'s greedy text; a draft that is the target itself
//! accepts its proposals; every bad argument is refused with its status and a message naming
//! it, before any work (the session and the result untouched). tests/c/spec.c runs the same
//! on SmolLM2 through the installed library.

mod common;

use common::last_error;
use runtime as core_lib;
#[path = "../../tests/common/tiny_llama.rs"]
mod tiny_llama;

use llmcore::generate::{
    llmc_generate, llmc_generate_default_params, llmc_generate_params, llmc_generation,
    LLMC_STOP_CALLBACK,
};
use llmcore::model::{llmc_model, llmc_model_free, llmc_model_load};
use llmcore::session::{llmc_session, llmc_session_free, llmc_session_len, llmc_session_new};
use llmcore::spec::*;
use llmcore::status::llmc_status::{self, *};
use runtime::io::gguf::Value;
use std::ffi::{c_char, c_void, CString};
use std::path::PathBuf;
use tiny_llama::TinyLlama;

/// Owns the handles of one test.
struct Fixture {
    dir: PathBuf,
    models: Vec<*mut llmc_model>,
    sessions: Vec<*mut llmc_session>,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("llmcore-ffi-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Fixture {
            dir,
            models: vec![],
            sessions: vec![],
        }
    }

    fn model(&mut self, name: &str, tiny: TinyLlama) -> *mut llmc_model {
        let path = self.dir.join(name);
        std::fs::write(&path, tiny.bytes()).unwrap();
        let c = CString::new(path.to_str().unwrap()).unwrap();
        let mut m = std::ptr::null_mut();
        assert_eq!(unsafe { llmc_model_load(c.as_ptr(), &mut m) }, LLMC_OK);
        self.models.push(m);
        m
    }

    fn session(&mut self, m: *mut llmc_model) -> *mut llmc_session {
        let mut s = std::ptr::null_mut();
        assert_eq!(
            unsafe { llmc_session_new(m, std::ptr::null(), &mut s) },
            LLMC_OK
        );
        self.sessions.push(s);
        s
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for &s in &self.sessions {
            unsafe { llmc_session_free(s) };
        }
        for &m in &self.models {
            unsafe { llmc_model_free(m) };
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Collects streamed text; stops after `stop_after` pieces.
struct Sink {
    text: Vec<u8>,
    pieces: usize,
    stop_after: usize,
}

unsafe extern "C" fn collect(text: *const c_char, len: usize, user_data: *mut c_void) -> bool {
    let sink = unsafe { &mut *user_data.cast::<Sink>() };
    let bytes = unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len) };
    assert_eq!(unsafe { *text.add(len) }, 0, "pieces are NUL-terminated");
    sink.text.extend_from_slice(bytes);
    sink.pieces += 1;
    sink.pieces < sink.stop_after
}

fn sink() -> Sink {
    Sink {
        text: vec![],
        pieces: 0,
        stop_after: usize::MAX,
    }
}

const PROMPT: [u32; 6] = [40, 41, 42, 40, 41, 42];

fn greedy(max_tokens: usize) -> llmc_generate_params {
    llmc_generate_params {
        max_tokens,
        ..llmc_generate_default_params()
    }
}

fn speculate(
    s: *mut llmc_session,
    p: &llmc_spec_params,
    out: &mut Sink,
) -> (llmc_status, llmc_spec_result) {
    let mut r = empty_result();
    let st = unsafe {
        llmc_speculate(
            s,
            PROMPT.as_ptr(),
            PROMPT.len(),
            p,
            Some(collect),
            (out as *mut Sink).cast(),
            &mut r,
        )
    };
    (st, r)
}

fn empty_result() -> llmc_spec_result {
    llmc_spec_result {
        struct_size: size_of::<llmc_spec_result>(),
        n_tokens: 777,
        prompt_tokens: 0,
        stop_reason: 99,
        prefill_seconds: 0.0,
        decode_seconds: 0.0,
        decode_steps: 0,
        steps: 0,
        drafted: 0,
        accepted: 0,
        mean_accepted_length: 0.0,
        draft_seconds: 0.0,
        verify_seconds: 0.0,
    }
}

#[test]
fn greedy_speculation_gives_the_plain_greedy_text_with_every_draft_and_tree() {
    let mut f = Fixture::new("spec-greedy");
    let target = f.model("target.gguf", TinyLlama::new());
    let same = f.model("same.gguf", TinyLlama::new());
    let gp = greedy(20);
    let mut plain = sink();
    let mut g = llmc_generation {
        struct_size: size_of::<llmc_generation>(),
        n_tokens: 0,
        prompt_tokens: 0,
        stop_reason: 0,
        prefill_seconds: 0.0,
        decode_seconds: 0.0,
        decode_steps: 0,
    };
    let s = f.session(target);
    let st = unsafe {
        llmc_generate(
            s,
            PROMPT.as_ptr(),
            PROMPT.len(),
            &gp,
            Some(collect),
            (&mut plain as *mut Sink).cast(),
            &mut g,
        )
    };
    assert_eq!(st, LLMC_OK, "{}", last_error());
    assert_eq!(g.n_tokens, 20, "the tiny model does not stop early");
    let mut plain_len = 0;
    unsafe { llmc_session_len(s, &mut plain_len) };

    let drafts = [
        (LLMC_DRAFT_NGRAM, 0),
        (LLMC_DRAFT_SELF, 1),
        (LLMC_DRAFT_MODEL, 0),
    ];
    let trees = [
        LLMC_TREE_OPT,
        LLMC_TREE_CHAIN,
        LLMC_TREE_EAGLE,
        LLMC_TREE_SEQUOIA,
    ];
    for (kind, layers) in drafts {
        for tree in trees {
            for budget in [0, 4] {
                let p = llmc_spec_params {
                    generate: &gp,
                    tree,
                    budget,
                    draft_kind: kind,
                    draft_model: same,
                    self_draft_layers: layers,
                    ..llmc_spec_default_params()
                };
                let s = f.session(target);
                let mut out = sink();
                let (st, r) = speculate(s, &p, &mut out);
                let case = format!("draft {kind}, tree {tree}, budget {budget}");
                assert_eq!(st, LLMC_OK, "{case}: {}", last_error());
                assert_eq!(out.text, plain.text, "{case}");
                assert_eq!(
                    (r.n_tokens, r.prompt_tokens, r.stop_reason),
                    (g.n_tokens, g.prompt_tokens, g.stop_reason),
                    "{case}"
                );
                assert_eq!(r.struct_size, size_of::<llmc_spec_result>());
                assert!(r.steps >= 1 && r.steps == r.decode_steps, "{case}");
                assert!(r.accepted <= r.drafted, "{case}");
                let mean = (r.accepted + r.steps) as f64 / r.steps as f64;
                assert_eq!(r.mean_accepted_length, mean, "{case}");
                let mut len = 0;
                unsafe { llmc_session_len(s, &mut len) };
                assert_eq!(
                    len, plain_len,
                    "{case}: the session holds what plain decoding's does"
                );
                if kind == LLMC_DRAFT_MODEL && budget == 4 && tree == LLMC_TREE_CHAIN {
                    // The draft is the target: every greedy proposal is the target's choice.
                    assert_eq!(r.accepted, r.drafted, "{case}");
                    assert!(r.mean_accepted_length > 1.0, "{case}");
                }
            }
        }
    }

    // Sampled speculation runs (its text is distributed as the target's, not equal to it),
    // and a callback returning false stops it as it stops llmc_generate.
    let sampled = llmc_generate_params {
        temperature: 0.8,
        seed: 3,
        ..gp
    };
    let p = llmc_spec_params {
        generate: &sampled,
        ..llmc_spec_default_params()
    };
    let (st, r) = speculate(f.session(target), &p, &mut sink());
    assert_eq!(st, LLMC_OK, "{}", last_error());
    assert!(r.n_tokens >= 1);
    let p = llmc_spec_params {
        generate: &gp,
        ..llmc_spec_default_params()
    };
    let mut one = Sink {
        stop_after: 1,
        ..sink()
    };
    let (st, r) = speculate(f.session(target), &p, &mut one);
    assert_eq!(st, LLMC_OK, "{}", last_error());
    assert_eq!((r.stop_reason, one.pieces), (LLMC_STOP_CALLBACK, 1));
    // NULL params, callback and result.
    let st = unsafe {
        llmc_speculate(
            f.session(target),
            PROMPT.as_ptr(),
            PROMPT.len(),
            std::ptr::null(),
            None,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(st, LLMC_OK, "{}", last_error());
}

#[test]
fn bad_arguments_are_refused_before_any_work() {
    let mut f = Fixture::new("spec-bad");
    let target = f.model("target.gguf", TinyLlama::new());
    let other_eos = f.model(
        "eos.gguf",
        TinyLlama::new().set("tokenizer.ggml.eos_token_id", Value::U32(3)),
    );
    let tokens = (0..tiny_llama::VOCAB as u8)
        .map(|i| Value::String(format!("t{i}")))
        .collect();
    let other_tokens = f.model(
        "tokens.gguf",
        TinyLlama::new().set("tokenizer.ggml.tokens", Value::Array(tokens)),
    );
    let s = f.session(target);
    let gp = greedy(8);
    let base = llmc_spec_params {
        generate: &gp,
        ..llmc_spec_default_params()
    };
    let fails = |p: &llmc_spec_params, status: llmc_status, says: &str| {
        let mut out = sink();
        let (st, r) = speculate(s, p, &mut out);
        let e = last_error();
        assert_eq!(st, status, "{e}");
        assert!(e.starts_with("llmc_speculate: "), "{e}");
        assert!(e.contains(says), "expected {says:?} in {e}");
        assert_eq!((r.n_tokens, r.stop_reason), (777, 99), "result untouched");
        assert!(out.text.is_empty());
        let mut len = 99;
        unsafe { llmc_session_len(s, &mut len) };
        assert_eq!(len, 0, "session untouched");
    };

    let bad_size = llmc_spec_params {
        struct_size: 8,
        ..base
    };
    fails(
        &bad_size,
        LLMC_ERR_INVALID_ARGUMENT,
        "'params'->struct_size is 8",
    );
    let bad_gen = llmc_generate_params {
        struct_size: 4,
        ..gp
    };
    let p = llmc_spec_params {
        generate: &bad_gen,
        ..base
    };
    fails(
        &p,
        LLMC_ERR_INVALID_ARGUMENT,
        "'params->generate'->struct_size is 4",
    );
    let hot = llmc_generate_params {
        temperature: -1.0,
        ..gp
    };
    let p = llmc_spec_params {
        generate: &hot,
        ..base
    };
    fails(
        &p,
        LLMC_ERR_INVALID_ARGUMENT,
        "params->generate->temperature",
    );
    let stops = llmc_generate_params { n_stop: 1, ..gp };
    let p = llmc_spec_params {
        generate: &stops,
        ..base
    };
    fails(
        &p,
        LLMC_ERR_NULL_ARGUMENT,
        "'params->generate->stop' is NULL",
    );
    let p = llmc_spec_params { tree: 7, ..base };
    fails(
        &p,
        LLMC_ERR_INVALID_ARGUMENT,
        "params->tree 7 (LLMC_TREE_*)",
    );
    let p = llmc_spec_params {
        budget: 0,
        max_depth: 0,
        ..base
    };
    fails(
        &p,
        LLMC_ERR_INVALID_ARGUMENT,
        "params->max_depth: tree budget 32 and depth 0",
    );
    let p = llmc_spec_params {
        budget_max: 0,
        ..base
    };
    fails(&p, LLMC_ERR_INVALID_ARGUMENT, "params->budget_max");
    let p = llmc_spec_params {
        delta: -1.0,
        ..base
    };
    fails(&p, LLMC_ERR_INVALID_ARGUMENT, "params->delta");
    let p = llmc_spec_params {
        draft_kind: 5,
        ..base
    };
    fails(
        &p,
        LLMC_ERR_INVALID_ARGUMENT,
        "params->draft_kind 5 (LLMC_DRAFT_*)",
    );
    let p = llmc_spec_params {
        draft_kind: LLMC_DRAFT_MODEL,
        ..base
    };
    fails(&p, LLMC_ERR_NULL_ARGUMENT, "'params->draft_model' is NULL");
    let p = llmc_spec_params {
        draft_kind: LLMC_DRAFT_MODEL,
        draft_model: other_eos,
        ..base
    };
    fails(
        &p,
        LLMC_ERR_INVALID_ARGUMENT,
        "params->draft_model: draft and target end-of-sequence tokens differ",
    );
    let p = llmc_spec_params {
        draft_kind: LLMC_DRAFT_MODEL,
        draft_model: other_tokens,
        ..base
    };
    fails(
        &p,
        LLMC_ERR_INVALID_ARGUMENT,
        "params->draft_model: draft and target vocabularies differ at token 0",
    );
    for layers in [0, 2] {
        let p = llmc_spec_params {
            draft_kind: LLMC_DRAFT_SELF,
            self_draft_layers: layers,
            ..base
        };
        fails(
            &p,
            LLMC_ERR_INVALID_ARGUMENT,
            &format!(
                "params->self_draft_layers: a self-draft of {layers} layers from a model of 2"
            ),
        );
    }
    let p = llmc_spec_params {
        ngram_n: 2,
        ngram_min: 3,
        ..base
    };
    fails(&p, LLMC_ERR_INVALID_ARGUMENT, "params->ngram_n, ngram_min");

    // The pointer arguments and the result struct.
    let mut r = empty_result();
    let call = |s, prompt: *const u32, n, r: *mut llmc_spec_result, want, says: &str| {
        let got = unsafe { llmc_speculate(s, prompt, n, &base, None, std::ptr::null_mut(), r) };
        let e = last_error();
        assert_eq!(got, want, "{e}");
        assert!(e.contains(says), "expected {says:?} in {e}");
    };
    let null = std::ptr::null_mut();
    call(
        null,
        PROMPT.as_ptr(),
        6,
        &mut r,
        LLMC_ERR_NULL_ARGUMENT,
        "'target_session' is NULL",
    );
    call(
        s,
        std::ptr::null(),
        6,
        &mut r,
        LLMC_ERR_NULL_ARGUMENT,
        "'prompt' is NULL",
    );
    call(
        s,
        PROMPT.as_ptr(),
        0,
        &mut r,
        LLMC_ERR_INVALID_ARGUMENT,
        "the prompt is empty",
    );
    r.struct_size = 3;
    let (p, n) = (PROMPT.as_ptr(), PROMPT.len());
    call(
        s,
        p,
        n,
        &mut r,
        LLMC_ERR_INVALID_ARGUMENT,
        "'result'->struct_size is 3",
    );
    assert_eq!((r.n_tokens, r.stop_reason), (777, 99));
    // A prompt longer than the 64-token context; a token outside the vocabulary.
    let long = [40u32; 65];
    call(
        s,
        long.as_ptr(),
        65,
        null_result(),
        LLMC_ERR_CONTEXT_OVERFLOW,
        "65",
    );
    call(
        s,
        [40, 9999].as_ptr(),
        2,
        null_result(),
        LLMC_ERR_TOKEN_OUT_OF_RANGE,
        "9999",
    );
    let mut len = 99;
    unsafe { llmc_session_len(s, &mut len) };
    assert_eq!(len, 0, "session untouched");
}

fn null_result() -> *mut llmc_spec_result {
    std::ptr::null_mut()
}
