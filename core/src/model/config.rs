//! Model hyper-parameters read from GGUF metadata.

use crate::io::gguf::GgufFile;
use crate::kernels::rope::RopeStyle;
use crate::{Error, Result};
use alloc::format;
use alloc::string::{String, ToString};

/// The decoder families libllmcore runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// LLaMA family (SmolLM2, LLaMA 2/3): no attention biases; the GGUF converter permuted the
    /// Q/K rows, so rotary embedding pairs adjacent elements.
    Llama,
    /// Qwen2 family: q/k/v biases; rotary embedding pairs the two halves of a head ("NEOX").
    Qwen2,
}

impl Arch {
    /// The `general.architecture` string.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
        }
    }

    /// Rotary pairing as llama.cpp applies it to this family's GGUF files.
    pub fn rope_style(self) -> RopeStyle {
        match self {
            Arch::Llama => RopeStyle::Adjacent,
            Arch::Qwen2 => RopeStyle::Neox,
        }
    }
}

/// Hyper-parameters of a decoder-only transformer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub arch: Arch,
    /// `general.name`, or empty.
    pub name: String,
    pub n_layer: usize,
    /// Residual width d.
    pub d_model: usize,
    /// Hidden width of the SwiGLU MLP.
    pub d_ffn: usize,
    pub n_head: usize,
    /// Key/value heads (grouped-query attention when smaller than `n_head`).
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    /// Context length the model was trained for.
    pub context_length: usize,
    pub rope_theta: f32,
    pub rms_eps: f32,
}

impl ModelConfig {
    /// Reads `<arch>.*` keys; missing keys are named in the error.
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let arch_name = file.get_str("general.architecture")?;
        let arch = match arch_name {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            other => {
                return Err(Error::Unsupported(format!(
                    "architecture '{other}' (supported: llama, qwen2)"
                )))
            }
        };
        let key = |k: &str| format!("{arch_name}.{k}");
        let n_layer = file.get_u32(&key("block_count"))? as usize;
        let d_model = file.get_u32(&key("embedding_length"))? as usize;
        let d_ffn = file.get_u32(&key("feed_forward_length"))? as usize;
        let n_head = file.get_u32(&key("attention.head_count"))? as usize;
        let n_kv_head = match file.get(&key("attention.head_count_kv")) {
            Some(_) => file.get_u32(&key("attention.head_count_kv"))? as usize,
            None => n_head,
        };
        if n_head == 0
            || n_kv_head == 0
            || !d_model.is_multiple_of(n_head)
            || !n_head.is_multiple_of(n_kv_head)
        {
            return Err(Error::Unsupported(format!(
                "attention shape: d_model {d_model}, {n_head} heads, {n_kv_head} KV heads"
            )));
        }
        let head_dim = d_model / n_head;
        if !head_dim.is_multiple_of(2) {
            return Err(Error::Unsupported(format!("odd head dimension {head_dim}")));
        }
        let vocab_size = match file.get(&key("vocab_size")) {
            Some(_) => file.get_u32(&key("vocab_size"))? as usize,
            None => file.get_str_array("tokenizer.ggml.tokens")?.len(),
        };
        let context_length = file.get_u32(&key("context_length"))? as usize;
        let rope_theta = match file.get(&key("rope.freq_base")) {
            Some(_) => file.get_f32(&key("rope.freq_base"))?,
            None => 10_000.0,
        };
        let rms_eps = file.get_f32(&key("attention.layer_norm_rms_epsilon"))?;
        let name = file
            .get_str("general.name")
            .map(|s| s.to_string())
            .unwrap_or_default();
        Ok(ModelConfig {
            arch,
            name,
            n_layer,
            d_model,
            d_ffn,
            n_head,
            n_kv_head,
            head_dim,
            vocab_size,
            context_length,
            rope_theta,
            rms_eps,
        })
    }

    /// Width of one token's keys (or values): `n_kv_head * head_dim`.
    pub fn kv_dim(&self) -> usize {
        self.n_kv_head * self.head_dim
    }
}
