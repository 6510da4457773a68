//! The shape of a model to train from scratch, read from a small JSON object:
//!
//! `{"arch": "llama", "n_layer": 6, "d_model": 384, "d_ffn": 1024, "n_head": 6,
//!   "n_kv_head": 2, "context_length": 512, "rope_theta": 10000, "rms_eps": 1e-5,
//!   "tied": true, "name": "austen-20m"}`
//!
//! `arch` is "llama" or "qwen2"; `n_kv_head` defaults to `n_head`, `rope_theta` to 10000,
//! `rms_eps` to 1e-5, `tied` to true, `name` to "scratch". The vocabulary comes from the
//! tokenizer the model will use.

use crate::io::json::Json;
use crate::model::{Arch, ModelConfig};
use crate::{Error, Result};
use alloc::format;
use alloc::string::ToString;

/// Reads a model shape (see the module docs) for a vocabulary of `vocab_size`: the config and
/// whether the head is tied.
pub fn model_config_from_json(j: &Json, vocab_size: usize) -> Result<(ModelConfig, bool)> {
    if j.as_object().is_none() {
        return Err(Error::invalid("the model config must be a JSON object"));
    }
    if let Some((k, _)) = j.as_object().unwrap_or(&[]).iter().find(|(k, _)| {
        ![
            "arch",
            "n_layer",
            "d_model",
            "d_ffn",
            "n_head",
            "n_kv_head",
            "context_length",
            "rope_theta",
            "rms_eps",
            "tied",
            "name",
        ]
        .contains(&k.as_str())
    }) {
        return Err(Error::invalid(format!("unknown model config key '{k}'")));
    }
    let count = |k: &str| -> Result<Option<usize>> {
        match j.get(k) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Ok(Some(n as usize)),
                _ => Err(Error::invalid(format!(
                    "model config '{k}' must be a positive integer"
                ))),
            },
        }
    };
    let need = |k: &str| -> Result<usize> {
        count(k)?.ok_or_else(|| Error::invalid(format!("model config needs '{k}'")))
    };
    let float = |k: &str, default: f64| -> Result<f64> {
        match j.get(k) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    Error::invalid(format!("model config '{k}' must be a positive number"))
                }),
        }
    };
    let arch = match j.get("arch").map(|a| a.as_str()) {
        None | Some(Some("llama")) => Arch::Llama,
        Some(Some("qwen2")) => Arch::Qwen2,
        Some(other) => {
            return Err(Error::invalid(format!(
                "model config 'arch' must be \"llama\" or \"qwen2\", got {other:?}"
            )))
        }
    };
    let (d_model, n_head) = (need("d_model")?, need("n_head")?);
    let n_kv_head = count("n_kv_head")?.unwrap_or(n_head);
    if !d_model.is_multiple_of(n_head) || !n_head.is_multiple_of(n_kv_head) {
        return Err(Error::invalid(format!(
            "d_model {d_model} must split into {n_head} heads and {n_head} heads into {n_kv_head} KV groups"
        )));
    }
    let head_dim = d_model / n_head;
    if head_dim % 2 != 0 {
        return Err(Error::invalid(format!(
            "head dimension {head_dim} is odd (RoPE rotates pairs)"
        )));
    }
    let tied = match j.get("tied") {
        None => true,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| Error::invalid("model config 'tied' must be true or false"))?,
    };
    let name = match j.get("name") {
        None => "scratch".to_string(),
        Some(v) => v
            .as_str()
            .ok_or_else(|| Error::invalid("model config 'name' must be a string"))?
            .to_string(),
    };
    let cfg = ModelConfig {
        arch,
        name,
        n_layer: need("n_layer")?,
        d_model,
        d_ffn: need("d_ffn")?,
        n_head,
        n_kv_head,
        head_dim,
        vocab_size,
        context_length: need("context_length")?,
        rope_theta: float("rope_theta", 10000.0)? as f32,
        rms_eps: float("rms_eps", 1e-5)? as f32,
    };
    Ok((cfg, tied))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::json::parse;

    #[test]
    fn reads_a_shape_and_names_what_is_wrong() {
        let j = parse(r#"{"n_layer": 2, "d_model": 64, "d_ffn": 128, "n_head": 4, "n_kv_head": 2, "context_length": 256}"#).unwrap();
        let (c, tied) = model_config_from_json(&j, 100).unwrap();
        assert_eq!(
            (c.head_dim, c.vocab_size, c.arch, tied),
            (16, 100, Arch::Llama, true)
        );
        for (text, want) in [
            (r#"{"d_model": 64}"#, "needs 'n_head'"),
            (
                r#"{"n_layer": 2, "d_model": 64, "d_ffn": 8, "n_head": 5, "context_length": 8}"#,
                "split into 5 heads",
            ),
            (r#"{"n_layers": 2}"#, "unknown model config key 'n_layers'"),
            (r#"{"arch": "gpt2"}"#, "must be \"llama\" or \"qwen2\""),
            (
                r#"{"n_layer": 0, "d_model": 64, "n_head": 4}"#,
                "'n_layer' must be a positive integer",
            ),
        ] {
            let e = model_config_from_json(&parse(text).unwrap(), 10).unwrap_err();
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
    }
}
