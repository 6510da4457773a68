//! Model hyper-parameters read from GGUF metadata.

use super::linear::Linear;
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

    /// Whether the q, k and v projections carry biases.
    pub fn has_qkv_bias(self) -> bool {
        self == Arch::Qwen2
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
    /// Reads `<arch>.*` keys; missing keys are named in the error, and so is every key whose
    /// value this runtime does not implement (see [`check_hyper_parameters`]).
    ///
    /// Numbers are checked against the file before anything is sized by them: a block count of
    /// 0 or above the file's tensor count is a [`Error::Format`] error at the value's offset
    /// (each layer has tensors of its own, and the first layer's shapes bound the MLP width the
    /// forward pass allocates for), and so are a non-positive or non-finite rotary base or
    /// RMS epsilon and a zero context length. Every width is checked against tensor shapes in
    /// [`super::weights::Weights::resolve`], whose tensors lie inside the file.
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
        if n_layer == 0 || n_layer > file.tensors.len() {
            return Err(bad_value(
                file,
                &key("block_count"),
                format!(
                    "{n_layer} layers, but a decoder has at least one and the file holds {} tensors",
                    file.tensors.len()
                ),
            ));
        }
        let d_model = file.get_u32(&key("embedding_length"))? as usize;
        let d_ffn = file.get_u32(&key("feed_forward_length"))? as usize;
        let n_head = file.get_u32(&key("attention.head_count"))? as usize;
        let n_kv_head = match file.get(&key("attention.head_count_kv")) {
            Some(_) => file.get_u32(&key("attention.head_count_kv"))? as usize,
            None => n_head,
        };
        if d_model == 0
            || n_head == 0
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
        if context_length == 0 {
            return Err(bad_value(file, &key("context_length"), "0 tokens".into()));
        }
        let rope_theta = match file.get(&key("rope.freq_base")) {
            Some(_) => file.get_f32(&key("rope.freq_base"))?,
            None => 10_000.0,
        };
        if !(rope_theta.is_finite() && rope_theta > 0.0) {
            return Err(bad_value(
                file,
                &key("rope.freq_base"),
                format!("{rope_theta} is not a positive rotary base"),
            ));
        }
        let rms_eps = file.get_f32(&key("attention.layer_norm_rms_epsilon"))?;
        if !(rms_eps.is_finite() && rms_eps >= 0.0) {
            return Err(bad_value(
                file,
                &key("attention.layer_norm_rms_epsilon"),
                format!("{rms_eps} is not a non-negative epsilon"),
            ));
        }
        check_hyper_parameters(file, arch_name, head_dim)?;
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

    /// `(rows, cols)` of operator `op`'s weight: outputs x inputs of `y = x Wᵀ`.
    pub fn linear_shape(&self, op: Linear) -> (usize, usize) {
        let (d, f, kv, q) = (
            self.d_model,
            self.d_ffn,
            self.kv_dim(),
            self.n_head * self.head_dim,
        );
        match op {
            Linear::Q => (q, d),
            Linear::K | Linear::V => (kv, d),
            Linear::O => (d, q),
            Linear::Gate | Linear::Up => (f, d),
            Linear::Down => (d, f),
        }
    }
}

/// A [`Error::Format`] error about the value of `key`, at its offset in the file.
fn bad_value(file: &GgufFile, key: &str, why: String) -> Error {
    Error::format(
        "GGUF",
        file.value_offset(key).unwrap_or(0),
        format!("{key}: {why}"),
    )
}

/// Rejects every `<arch>.*` key whose value asks for math this runtime does not do, so that
/// such a model fails to load, naming the key, instead of loading and running wrong. Key names
/// are llama.cpp's (`src/llama-arch.cpp`, `LLM_KV_*`), after the `<arch>.` prefix.
///
/// Read by [`ModelConfig::from_gguf`]: `block_count`, `context_length`, `embedding_length`,
/// `feed_forward_length`, `attention.head_count`, `attention.head_count_kv`,
/// `attention.layer_norm_rms_epsilon`, `rope.freq_base`, `vocab_size`.
///
/// Accepted when they restate what the runtime does:
/// - `rope.dimension_count` equal to the head size (partial rotary is not implemented);
/// - `attention.key_length` and `attention.value_length` equal to `embedding_length /
///   attention.head_count`;
/// - `rope.scaling.type` `"none"` or `"linear"`, with `rope.scaling.factor` (or the older
///   `rope.scale_linear`) 0 or 1 (llama.cpp reads 0 as 1): rotary angles unscaled;
/// - `rope.scaling.original_context_length`, `rope.scaling.finetuned` and
///   `tensor_data_layout`: informational once no scaling applies;
/// - `expert_count` and `expert_used_count` 0 (a dense MLP);
/// - `attention.causal` true.
///
/// Rejected, among every other key: `rope.scaling.attn_factor`, `rope.scaling.yarn_*`,
/// `rope.dimension_sections` (M-RoPE), `attention.sliding_window`, `attn_logit_softcapping`,
/// `final_logit_softcapping`, `expert_shared_count`, `expert_weights_scale`,
/// `leading_dense_block_count`, `attention.layer_norm_epsilon` (LayerNorm), `attention.clamp_kqv`,
/// `attention.max_alibi_bias`, `attention.scale`, `logit_scale`, `embedding_scale`,
/// `residual_scale`, `use_parallel_residual`, `attention.q_lora_rank`, `attention.kv_lora_rank`.
pub fn check_hyper_parameters(file: &GgufFile, arch: &str, head_dim: usize) -> Result<()> {
    const READ: &[&str] = &[
        "block_count",
        "context_length",
        "embedding_length",
        "feed_forward_length",
        "attention.head_count",
        "attention.head_count_kv",
        "attention.layer_norm_rms_epsilon",
        "rope.freq_base",
        "vocab_size",
    ];
    const INFORMATIONAL: &[&str] = &[
        "rope.scaling.original_context_length",
        "rope.scaling.finetuned",
        "tensor_data_layout",
    ];
    let prefix = format!("{arch}.");
    for (key, _) in &file.metadata {
        let Some(suffix) = key.strip_prefix(&prefix) else {
            continue;
        };
        if READ.contains(&suffix) || INFORMATIONAL.contains(&suffix) {
            continue;
        }
        let unsupported = |what: String| Err(Error::Unsupported(format!("{key} = {what}")));
        match suffix {
            "rope.dimension_count" | "attention.key_length" | "attention.value_length" => {
                let n = file.get_u64(key)?;
                if n != head_dim as u64 {
                    let what = if suffix == "rope.dimension_count" {
                        "partial rotary embedding"
                    } else {
                        "a head size other than embedding_length / attention.head_count"
                    };
                    return unsupported(format!(
                        "{n}, the head size is {head_dim} ({what} is not implemented)"
                    ));
                }
            }
            "rope.scaling.type" => {
                let t = file.get_str(key)?;
                if t != "none" && t != "linear" {
                    return unsupported(format!(
                        "'{t}' (only unscaled rotary embedding is implemented)"
                    ));
                }
            }
            "rope.scaling.factor" | "rope.scale_linear" => {
                let f = file.get_f32(key)?;
                if f != 0.0 && f != 1.0 {
                    return unsupported(format!(
                        "{f} (rotary scaling is not implemented; only 1 (or 0) is accepted)"
                    ));
                }
            }
            "expert_count" | "expert_used_count" => {
                let n = file.get_u64(key)?;
                if n != 0 {
                    return unsupported(format!("{n} (mixture of experts is not implemented)"));
                }
            }
            "attention.causal" => {
                if !file.get_bool(key)? {
                    return unsupported("false (only causal attention is implemented)".to_string());
                }
            }
            _ => {
                return Err(Error::Unsupported(format!(
                    "hyper-parameter '{key}' is not implemented"
                )))
            }
        }
    }
    Ok(())
}
