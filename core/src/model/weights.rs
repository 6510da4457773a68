//! The decoder's weights, resolved once from a GGUF file and shape-checked.
//!
//! Matrices stay in the file's (memory-mapped) encoding; a [`WeightRef`] remembers where. Only
//! the small vectors (norm gains, biases) are decoded to f32.

use super::config::{Arch, ModelConfig};
use crate::io::gguf::GgufFile;
use crate::tensor::quant::dequantize_row;
use crate::tensor::WeightView;
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// A matrix of the file: `rows` x `cols` (GGUF dims `[cols, rows]`), by tensor index.
#[derive(Debug, Clone, Copy)]
pub struct WeightRef {
    index: usize,
    rows: usize,
    cols: usize,
}

impl WeightRef {
    /// Looks up `name` and checks it is `rows` x `cols`.
    fn resolve(file: &GgufFile, name: &str, rows: usize, cols: usize) -> Result<Self> {
        let index = file
            .tensor_index(name)
            .ok_or_else(|| Error::MissingTensor(String::from(name)))?;
        let dims = &file.tensors[index].dims;
        if dims.len() != 2 || dims[0] != cols as u64 || dims[1] != rows as u64 {
            return Err(Error::Shape {
                tensor: String::from(name),
                expected: format!("[{cols}, {rows}]"),
                found: format!("{dims:?}"),
            });
        }
        let info = &file.tensors[index];
        WeightView::new(info.ty, rows, cols, file.tensor_data(info))?;
        Ok(WeightRef { index, rows, cols })
    }

    /// The matrix as a borrowed view of the file's bytes.
    pub fn view<'f>(&self, file: &'f GgufFile) -> WeightView<'f> {
        let info = &file.tensors[self.index];
        WeightView {
            ty: info.ty,
            rows: self.rows,
            cols: self.cols,
            data: file.tensor_data(info),
        }
    }
}

/// Decodes a 1-D tensor of `len` elements to f32.
fn vector(file: &GgufFile, name: &str, len: usize) -> Result<Vec<f32>> {
    let info = file
        .tensor_info(name)
        .ok_or_else(|| Error::MissingTensor(String::from(name)))?;
    if info.dims.len() != 1 || info.dims[0] != len as u64 {
        return Err(Error::Shape {
            tensor: String::from(name),
            expected: format!("[{len}]"),
            found: format!("{:?}", info.dims),
        });
    }
    let mut out = vec![0.0f32; len];
    dequantize_row(info.ty, file.tensor_data(info), &mut out)?;
    Ok(out)
}

/// Biases of the Q, K and V projections (Qwen2).
#[derive(Debug, Clone)]
pub struct QkvBias {
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
}

/// One decoder layer: pre-norm attention then pre-norm SwiGLU MLP.
#[derive(Debug, Clone)]
pub struct LayerWeights {
    pub attn_norm: Vec<f32>,
    pub wq: WeightRef,
    pub wk: WeightRef,
    pub wv: WeightRef,
    pub wo: WeightRef,
    pub qkv_bias: Option<QkvBias>,
    pub ffn_norm: Vec<f32>,
    pub w_gate: WeightRef,
    pub w_up: WeightRef,
    pub w_down: WeightRef,
}

/// All weights of a decoder.
#[derive(Debug, Clone)]
pub struct Weights {
    pub token_embd: WeightRef,
    pub layers: Vec<LayerWeights>,
    pub output_norm: Vec<f32>,
    /// The output projection; the token embedding itself when the model ties them.
    pub output: WeightRef,
}

impl Weights {
    /// Resolves every tensor the architecture needs, checking shapes against `cfg`.
    pub fn resolve(file: &GgufFile, cfg: &ModelConfig) -> Result<Self> {
        let (d, f, v) = (cfg.d_model, cfg.d_ffn, cfg.vocab_size);
        let q_dim = cfg.n_head * cfg.head_dim;
        let kv = cfg.kv_dim();
        let token_embd = WeightRef::resolve(file, "token_embd.weight", v, d)?;
        let output = if file.tensor_info("output.weight").is_some() {
            WeightRef::resolve(file, "output.weight", v, d)?
        } else {
            token_embd
        };
        // `n_layer` is at most the file's tensor count (checked by `ModelConfig::from_gguf`),
        // so this reservation is bounded by the file's size.
        let mut layers = Vec::with_capacity(cfg.n_layer);
        for l in 0..cfg.n_layer {
            let n = |s: &str| format!("blk.{l}.{s}");
            let qkv_bias = match cfg.arch {
                Arch::Qwen2 => Some(QkvBias {
                    q: vector(file, &n("attn_q.bias"), q_dim)?,
                    k: vector(file, &n("attn_k.bias"), kv)?,
                    v: vector(file, &n("attn_v.bias"), kv)?,
                }),
                Arch::Llama => None,
            };
            layers.push(LayerWeights {
                attn_norm: vector(file, &n("attn_norm.weight"), d)?,
                wq: WeightRef::resolve(file, &n("attn_q.weight"), q_dim, d)?,
                wk: WeightRef::resolve(file, &n("attn_k.weight"), kv, d)?,
                wv: WeightRef::resolve(file, &n("attn_v.weight"), kv, d)?,
                wo: WeightRef::resolve(file, &n("attn_output.weight"), d, q_dim)?,
                qkv_bias,
                ffn_norm: vector(file, &n("ffn_norm.weight"), d)?,
                w_gate: WeightRef::resolve(file, &n("ffn_gate.weight"), f, d)?,
                w_up: WeightRef::resolve(file, &n("ffn_up.weight"), f, d)?,
                w_down: WeightRef::resolve(file, &n("ffn_down.weight"), d, f)?,
            });
        }
        Ok(Weights {
            token_embd,
            layers,
            output_norm: vector(file, "output_norm.weight", d)?,
            output,
        })
    }
}
