//! A tiny but complete llama GGUF built with the project's writer, for tests that load models
//! from hostile or unusual files: 2 layers, d_model 32, 4 heads of 8 (2 KV heads), MLP width
//! 64, a 64-token byte-level vocabulary (and the same as a Qwen2, with Q/K/V biases). Matrices are Q8_0 (`attn_output` F32), norms F32,
//! values from a fixed linear congruential sequence. Shared by the suite's tests, the CLI's
//! and the C ABI's (each includes this file with `#[path]` and names the core crate
//! `core_lib`), and written as the seed of the `model_load` fuzz target.
#![allow(dead_code)] // each test binary uses its own subset

use crate::core_lib::io::gguf::{write_gguf, Value};
use crate::core_lib::tensor::GgmlType;
use crate::core_lib::tokenizer::byte_to_char;

pub const N_LAYER: usize = 2;
pub const D_MODEL: u64 = 32;
pub const N_HEAD: u64 = 4;
pub const N_KV_HEAD: u64 = 2;
pub const D_FFN: u64 = 64;
pub const VOCAB: u64 = 64;

/// A GGUF file in pieces, to be changed before it is written.
pub struct TinyLlama {
    pub metadata: Vec<(String, Value)>,
    /// `(name, dims innermost first, type, bytes)`.
    pub tensors: Vec<(String, Vec<u64>, GgmlType, Vec<u8>)>,
}

/// Deterministic pseudo-random values in [-1, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}

/// `rows x cols` of Q8_0: per 32-element block an f16 scale of 1/64 (0x2400) and 32 int8s.
fn q8_0(rng: &mut Lcg, rows: u64, cols: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rows * cols / 32 {
        out.extend_from_slice(&0x2400u16.to_le_bytes());
        out.extend((0..32).map(|_| (rng.next() * 127.0) as i8 as u8));
    }
    out
}

fn f32s(values: impl Iterator<Item = f32>) -> Vec<u8> {
    values.flat_map(f32::to_le_bytes).collect()
}

impl TinyLlama {
    pub fn new() -> TinyLlama {
        let s = |v: &str| Value::String(v.into());
        // Tokens: the characters spelling bytes 0x20..0x60 (space is "Ġ").
        let tokens = (0x20..0x20 + VOCAB as u8)
            .map(|b| Value::String(byte_to_char(b).to_string()))
            .collect();
        let metadata = vec![
            ("general.architecture".to_string(), s("llama")),
            ("general.name".to_string(), s("tiny llama")),
            ("llama.block_count".to_string(), Value::U32(N_LAYER as u32)),
            ("llama.context_length".to_string(), Value::U32(64)),
            (
                "llama.embedding_length".to_string(),
                Value::U32(D_MODEL as u32),
            ),
            (
                "llama.feed_forward_length".to_string(),
                Value::U32(D_FFN as u32),
            ),
            (
                "llama.attention.head_count".to_string(),
                Value::U32(N_HEAD as u32),
            ),
            (
                "llama.attention.head_count_kv".to_string(),
                Value::U32(N_KV_HEAD as u32),
            ),
            ("llama.rope.freq_base".to_string(), Value::F32(10000.0)),
            (
                "llama.rope.dimension_count".to_string(),
                Value::U32((D_MODEL / N_HEAD) as u32),
            ),
            (
                "llama.attention.layer_norm_rms_epsilon".to_string(),
                Value::F32(1e-5),
            ),
            ("llama.vocab_size".to_string(), Value::U32(VOCAB as u32)),
            ("tokenizer.ggml.model".to_string(), s("gpt2")),
            ("tokenizer.ggml.pre".to_string(), s("smollm")),
            ("tokenizer.ggml.tokens".to_string(), Value::Array(tokens)),
            (
                "tokenizer.ggml.merges".to_string(),
                Value::Array(vec![s("Ġ !")]),
            ),
            ("tokenizer.ggml.bos_token_id".to_string(), Value::U32(1)),
            ("tokenizer.ggml.eos_token_id".to_string(), Value::U32(2)),
        ];
        let mut rng = Lcg(14);
        let q_dim = D_MODEL;
        let kv = N_KV_HEAD * (D_MODEL / N_HEAD);
        let norm = |rng: &mut Lcg| f32s((0..D_MODEL).map(|_| 1.0 + 0.1 * rng.next()));
        let mut tensors = vec![(
            "token_embd.weight".to_string(),
            vec![D_MODEL, VOCAB],
            GgmlType::Q8_0,
            q8_0(&mut rng, VOCAB, D_MODEL),
        )];
        for l in 0..N_LAYER {
            let n = |s: &str| format!("blk.{l}.{s}");
            let mut q = |name: &str, rows: u64, cols: u64| {
                (
                    n(name),
                    vec![cols, rows],
                    GgmlType::Q8_0,
                    q8_0(&mut rng, rows, cols),
                )
            };
            let layer = [
                q("attn_q.weight", q_dim, D_MODEL),
                q("attn_k.weight", kv, D_MODEL),
                q("attn_v.weight", kv, D_MODEL),
                q("ffn_gate.weight", D_FFN, D_MODEL),
                q("ffn_up.weight", D_FFN, D_MODEL),
                q("ffn_down.weight", D_MODEL, D_FFN),
            ];
            tensors.extend(layer);
            let wo = f32s((0..D_MODEL * q_dim).map(|_| 0.1 * rng.next()));
            tensors.push((
                n("attn_output.weight"),
                vec![q_dim, D_MODEL],
                GgmlType::F32,
                wo,
            ));
            tensors.push((
                n("attn_norm.weight"),
                vec![D_MODEL],
                GgmlType::F32,
                norm(&mut rng),
            ));
            tensors.push((
                n("ffn_norm.weight"),
                vec![D_MODEL],
                GgmlType::F32,
                norm(&mut rng),
            ));
        }
        tensors.push((
            "output_norm.weight".to_string(),
            vec![D_MODEL],
            GgmlType::F32,
            norm(&mut rng),
        ));
        TinyLlama { metadata, tensors }
    }

    /// The same model as a Qwen2: `qwen2.*` keys, the `qwen2` pre-tokenizer, and Q/K/V biases
    /// (F32) in every layer.
    pub fn qwen2() -> TinyLlama {
        let mut t = TinyLlama::new();
        for (k, v) in &mut t.metadata {
            if let Some(rest) = k.strip_prefix("llama.") {
                *k = format!("qwen2.{rest}");
            }
            match k.as_str() {
                "general.architecture" => *v = Value::String("qwen2".into()),
                "tokenizer.ggml.pre" => *v = Value::String("qwen2".into()),
                _ => {}
            }
        }
        let mut rng = Lcg(2);
        let kv = N_KV_HEAD * (D_MODEL / N_HEAD);
        for l in 0..N_LAYER {
            for (name, len) in [
                ("attn_q.bias", D_MODEL),
                ("attn_k.bias", kv),
                ("attn_v.bias", kv),
            ] {
                let b = f32s((0..len).map(|_| 0.1 * rng.next()));
                t.tensors
                    .push((format!("blk.{l}.{name}"), vec![len], GgmlType::F32, b));
            }
        }
        t
    }

    /// Sets `key` to `value`, replacing its value or appending the pair.
    pub fn set(mut self, key: &str, value: Value) -> TinyLlama {
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some(kv) => kv.1 = value,
            None => self.metadata.push((key.to_string(), value)),
        }
        self
    }

    /// The file's bytes, or the writer's error for metadata it refuses (a bad
    /// `general.alignment`, an array of mixed types).
    pub fn write(&self) -> crate::core_lib::Result<Vec<u8>> {
        let tensors: Vec<_> = self
            .tensors
            .iter()
            .map(|(n, d, t, b)| (n.clone(), d.clone(), *t, b.as_slice()))
            .collect();
        write_gguf(&self.metadata, &tensors)
    }

    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.write().expect("the tiny llama is a valid GGUF")
    }

    /// Byte offset of the first dimension of tensor `name` in [`TinyLlama::bytes`] (GGUF
    /// header layout: 24-byte preamble, then each pair and tensor info in order).
    pub fn dims_offset(&self, name: &str) -> usize {
        let string = |s: &str| 8 + s.len();
        let mut at = 24;
        for (k, v) in &self.metadata {
            at += string(k) + 4 + value_size(v);
        }
        for (n, dims, _, _) in &self.tensors {
            if n == name {
                return at + string(n) + 4;
            }
            at += string(n) + 4 + 8 * dims.len() + 4 + 8;
        }
        panic!("no tensor '{name}'")
    }
}

/// The review's hostile file: the metadata a llama needs, one small embedding tensor, and a
/// block count of 1e8 (the loader used to reserve 1e8 layers, 28.8 GB, and abort).
pub fn block_count_1e8() -> Vec<u8> {
    let u = Value::U32;
    let md = [
        ("general.architecture", Value::String("llama".into())),
        ("llama.block_count", u(100_000_000)),
        ("llama.context_length", u(64)),
        ("llama.embedding_length", u(8)),
        ("llama.feed_forward_length", u(16)),
        ("llama.attention.head_count", u(2)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("llama.vocab_size", u(4)),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let embd = vec![0u8; 4 * 8 * 4];
    write_gguf(
        &md,
        &[("token_embd.weight".into(), vec![8, 4], GgmlType::F32, &embd)],
    )
    .expect("a valid GGUF")
}

/// The tiny llama with `blk.1.ffn_down.weight` (Q8_0 [64, 32]) declared [48, 64]: 96 whole
/// blocks, but rows of 48 elements, not whole 32-element blocks.
pub fn ragged_rows() -> Vec<u8> {
    let t = TinyLlama::new();
    let at = t.dims_offset("blk.1.ffn_down.weight");
    let mut bytes = t.bytes();
    bytes[at..at + 8].copy_from_slice(&48u64.to_le_bytes());
    bytes[at + 8..at + 16].copy_from_slice(&64u64.to_le_bytes());
    bytes
}

/// Encoded size of a metadata value.
fn value_size(v: &Value) -> usize {
    match v {
        Value::U8(_) | Value::I8(_) | Value::Bool(_) => 1,
        Value::U16(_) | Value::I16(_) => 2,
        Value::U32(_) | Value::I32(_) | Value::F32(_) => 4,
        Value::U64(_) | Value::I64(_) | Value::F64(_) => 8,
        Value::String(s) => 8 + s.len(),
        Value::Array(a) => 12 + a.iter().map(value_size).sum::<usize>(),
    }
}
