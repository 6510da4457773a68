//! Hostile and unusual model files end in a clear error naming the one thing that is wrong,
//! and the process lives on: a block count that no file of this size can hold (the review's
//! 672-byte file asked for 1e8 layers and aborted on a 28.8 GB reservation), rows that are not
//! whole quantization blocks, hyper-parameters the runtime does not implement, and a
//! directory given as the model. The tiny llama they start from loads and runs.

mod common;
use llmcore as core_lib;
#[path = "common/tiny_llama.rs"]
mod tiny_llama;

use common::{asset, QWEN_05B, SMOLLM2};
use llmcore::io::gguf::{GgufFile, Value};
use llmcore::io::Bytes;
use llmcore::model::{Arch, LogitRows, Model, ModelConfig, Numerics, Session};
use llmcore::Error;
use std::sync::Arc;
use tiny_llama::TinyLlama;

fn load(bytes: Vec<u8>) -> llmcore::Result<Model> {
    Model::from_gguf(GgufFile::parse(Bytes::from(bytes))?)
}

/// The error loading `bytes` gives, as displayed.
fn load_err(bytes: Vec<u8>) -> String {
    match load(bytes) {
        Ok(_) => panic!("expected an error, the model loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tiny_llama_and_qwen2_load_from_memory_and_run_both_numeric_paths() {
    for (t, arch) in [
        (TinyLlama::new(), Arch::Llama),
        (TinyLlama::qwen2(), Arch::Qwen2),
    ] {
        let model = Arc::new(load(t.bytes()).unwrap());
        assert_eq!(model.config.arch, arch);
        assert_eq!(model.config.n_layer, tiny_llama::N_LAYER);
        let ids = model.tokenizer().encode("ABC", false).unwrap();
        assert_eq!(ids.len(), 3);
        for numerics in [Numerics::Exact, Numerics::Fast] {
            let mut s = Session::new(model.clone(), 0, numerics).unwrap();
            let logits = s.eval(&ids, LogitRows::Last).unwrap();
            assert_eq!(logits.len(), tiny_llama::VOCAB as usize);
            assert!(logits.iter().all(|x| x.is_finite()), "{logits:?}");
            assert!(
                logits.iter().any(|&x| x != logits[0]),
                "logits depend on the weights"
            );
        }
    }
}

#[test]
fn a_block_count_the_file_cannot_hold_is_a_format_error() {
    let bytes = tiny_llama::block_count_1e8();
    assert!(bytes.len() < 1024, "{} bytes", bytes.len());
    let f = GgufFile::parse(Bytes::from(bytes.clone())).unwrap();
    let at = f.value_offset("llama.block_count").unwrap();
    match load(bytes) {
        Err(Error::Format {
            format: "GGUF",
            offset,
            message,
        }) => {
            assert_eq!(offset, at);
            assert!(
                message.contains("llama.block_count: 100000000 layers")
                    && message.contains("holds 1 tensors"),
                "{message}"
            );
        }
        other => panic!("expected a format error, got {:?}", other.err()),
    }
    // The same through the tiny llama, and a block count of 0 (nothing would bound the MLP
    // width the forward pass allocates for).
    let e = load_err(
        TinyLlama::new()
            .set("llama.block_count", Value::U32(u32::MAX))
            .bytes(),
    );
    assert!(e.contains("llama.block_count: 4294967295 layers"), "{e}");
    let e = load_err(
        TinyLlama::new()
            .set("llama.block_count", Value::U32(0))
            .bytes(),
    );
    assert!(e.contains("llama.block_count: 0 layers"), "{e}");
    // More layers than the file has, but fewer than its tensors: the first missing one is named.
    let e = load_err(
        TinyLlama::new()
            .set("llama.block_count", Value::U32(3))
            .bytes(),
    );
    assert_eq!(e, "missing tensor 'blk.2.attn_norm.weight'");
}

#[test]
fn rows_that_are_not_whole_blocks_are_a_format_error_at_parse_time() {
    // blk.1.ffn_down as [48, 64] of Q8_0: 96 whole blocks, but rows of 48 elements, which used
    // to pass the parser and fail later as an invalid argument.
    let e = load_err(tiny_llama::ragged_rows());
    assert!(e.starts_with("malformed GGUF at byte offset"), "{e}");
    assert!(
        e.contains("tensor 'blk.1.ffn_down.weight' has rows of 48 elements, not a whole number of q8_0 blocks of 32"),
        "{e}"
    );
}

/// `(key, value, what the error must say)` for hyper-parameters the runtime does not implement.
fn unimplemented_hyper_parameters() -> Vec<(&'static str, Value, &'static str)> {
    let s = |v: &str| Value::String(v.into());
    vec![
        (
            "llama.rope.dimension_count",
            Value::U32(4),
            "llama.rope.dimension_count = 4, the head size is 8 (partial rotary",
        ),
        (
            "llama.rope.dimension_count",
            Value::U32(16),
            "llama.rope.dimension_count = 16",
        ),
        (
            "llama.rope.scaling.type",
            s("yarn"),
            "llama.rope.scaling.type = 'yarn'",
        ),
        (
            "llama.rope.scaling.factor",
            Value::F32(4.0),
            "llama.rope.scaling.factor = 4 (rotary scaling",
        ),
        (
            "llama.rope.scale_linear",
            Value::F32(2.0),
            "llama.rope.scale_linear = 2",
        ),
        (
            "llama.rope.scaling.attn_factor",
            Value::F32(1.2),
            "hyper-parameter 'llama.rope.scaling.attn_factor'",
        ),
        (
            "llama.attention.key_length",
            Value::U32(16),
            "llama.attention.key_length = 16, the head size is 8",
        ),
        (
            "llama.attention.value_length",
            Value::U32(4),
            "llama.attention.value_length = 4",
        ),
        (
            "llama.attention.sliding_window",
            Value::U32(4096),
            "hyper-parameter 'llama.attention.sliding_window'",
        ),
        (
            "llama.attn_logit_softcapping",
            Value::F32(50.0),
            "hyper-parameter 'llama.attn_logit_softcapping'",
        ),
        (
            "llama.final_logit_softcapping",
            Value::F32(30.0),
            "hyper-parameter 'llama.final_logit_softcapping'",
        ),
        (
            "llama.expert_count",
            Value::U32(8),
            "llama.expert_count = 8 (mixture of experts",
        ),
        (
            "llama.expert_used_count",
            Value::U32(2),
            "llama.expert_used_count = 2",
        ),
        (
            "llama.attention.causal",
            Value::Bool(false),
            "llama.attention.causal = false",
        ),
        (
            "llama.attention.layer_norm_epsilon",
            Value::F32(1e-5),
            "hyper-parameter 'llama.attention.layer_norm_epsilon'",
        ),
        (
            "llama.embedding_scale",
            Value::F32(12.0),
            "hyper-parameter 'llama.embedding_scale'",
        ),
    ]
}

#[test]
fn hyper_parameters_the_runtime_does_not_implement_are_rejected_by_name() {
    for (key, value, says) in unimplemented_hyper_parameters() {
        let e = load_err(TinyLlama::new().set(key, value).bytes());
        assert!(e.starts_with("unsupported: "), "{key}: {e}");
        assert!(e.contains(says), "{key}: {e}");
    }
    // A value of the wrong type is named as such.
    let e = load_err(
        TinyLlama::new()
            .set("llama.rope.scaling.type", Value::U32(1))
            .bytes(),
    );
    assert_eq!(
        e,
        "missing or mistyped metadata key 'llama.rope.scaling.type'"
    );
}

#[test]
fn hyper_parameters_that_restate_the_implemented_math_are_accepted() {
    let t = TinyLlama::new()
        .set("llama.rope.scaling.type", Value::String("none".into()))
        .set("llama.rope.scaling.factor", Value::F32(1.0))
        .set("llama.rope.scaling.original_context_length", Value::U32(64))
        .set("llama.attention.key_length", Value::U32(8))
        .set("llama.attention.value_length", Value::U32(8))
        .set("llama.expert_count", Value::U32(0))
        .set("llama.attention.causal", Value::Bool(true))
        // Keys of another architecture say nothing about this one.
        .set("qwen2.attention.sliding_window", Value::U32(4096));
    assert!(load(t.bytes()).is_ok());
}

#[test]
fn values_no_model_can_have_are_format_errors_naming_the_key() {
    for (key, value, says) in [
        (
            "llama.rope.freq_base",
            Value::F32(f32::NAN),
            "llama.rope.freq_base: NaN",
        ),
        (
            "llama.rope.freq_base",
            Value::F32(-1.0),
            "llama.rope.freq_base: -1",
        ),
        (
            "llama.attention.layer_norm_rms_epsilon",
            Value::F32(f32::INFINITY),
            "llama.attention.layer_norm_rms_epsilon: inf",
        ),
        (
            "llama.context_length",
            Value::U32(0),
            "llama.context_length: 0 tokens",
        ),
    ] {
        let e = load_err(TinyLlama::new().set(key, value).bytes());
        assert!(e.starts_with("malformed GGUF at byte offset"), "{key}: {e}");
        assert!(e.contains(says), "{key}: {e}");
    }
}

#[test]
fn a_directory_is_named_as_a_directory() {
    let dir = std::env::temp_dir();
    match Model::open(&dir) {
        Err(Error::Io { path, message }) => {
            assert_eq!(path, dir.display().to_string());
            assert_eq!(message, "is a directory, not a file");
        }
        Err(e) => panic!("expected an Io error, got {e}"),
        Ok(_) => panic!("a directory loaded as a model"),
    }
}

#[test]
fn the_real_models_pass_the_hyper_parameter_check() {
    // SmolLM2 states llama.rope.dimension_count = 64 (its head size); the Qwen files state none.
    for rel in [SMOLLM2, QWEN_05B] {
        let f = GgufFile::open(asset(rel)).unwrap();
        let c = ModelConfig::from_gguf(&f).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(c.n_layer > 0);
    }
}

/// The tiny llama with every value of the F32 tensor `name` replaced by `v`.
fn with_f32_tensor(name: &str, v: f32) -> Vec<u8> {
    let mut t = TinyLlama::new();
    let tensor = t.tensors.iter_mut().find(|x| x.0 == name).unwrap();
    for c in tensor.3.chunks_mut(4) {
        c.copy_from_slice(&v.to_le_bytes());
    }
    t.bytes()
}

#[test]
fn degenerate_weights_run_without_a_panic() {
    // Found by the model_load fuzz target: NaN weights make NaN activations, and subnormal
    // norm gains make a block whose absolute maximum's reciprocal overflows to infinity; the
    // 8-bit activation quantizer of the fast path asserted (in debug builds) neither occurs.
    for bytes in [
        with_f32_tensor("blk.0.attn_output.weight", f32::NAN),
        with_f32_tensor("blk.0.attn_norm.weight", 1e-40),
    ] {
        let model = Arc::new(load(bytes).unwrap());
        for numerics in [Numerics::Exact, Numerics::Fast] {
            let mut s = Session::new(model.clone(), 0, numerics).unwrap();
            let logits = s.eval(&[1, 2], LogitRows::All).unwrap();
            assert_eq!(logits.len(), 2 * tiny_llama::VOCAB as usize);
        }
    }
}

/// The seeds of the `model_load` fuzz target are these files (the valid tiny llama and Qwen2
/// and the review's 1e8-layer file), so the fuzzer starts from a model that loads and runs;
/// `LLMCORE_BLESS_SEEDS=1` rewrites them after a change to the builder.
#[test]
fn the_model_load_fuzz_seeds_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/model_load");
    let bless = std::env::var_os("LLMCORE_BLESS_SEEDS").is_some();
    for (name, bytes) in [
        ("tiny_llama.gguf", TinyLlama::new().bytes()),
        ("tiny_qwen2.gguf", TinyLlama::qwen2().bytes()),
        ("block_count_1e8.gguf", tiny_llama::block_count_1e8()),
    ] {
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert!(
            std::fs::read(&path).ok().as_deref() == Some(&bytes[..]),
            "{} is stale: rerun with LLMCORE_BLESS_SEEDS=1",
            path.display()
        );
    }
}
