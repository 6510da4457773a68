//! The decoder's weights, resolved once from a GGUF file and shape-checked.
//!
//! Matrices stay in the file's (memory-mapped) encoding; a [`WeightRef`] remembers where. Only
//! the small vectors (norm gains, biases) are decoded to f32. A layer's linear weights are
//! [`Matrix`]es, so pruning can replace them with owned ones.

use super::config::{Arch, ModelConfig};
use super::linear::{Linear, Matrix};
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

    /// Output rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input columns.
    pub fn cols(&self) -> usize {
        self.cols
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
    /// The seven linear weights, indexed by [`Linear`] (`linear[op as usize]`).
    pub linear: [Matrix; 7],
    pub qkv_bias: Option<QkvBias>,
    pub ffn_norm: Vec<f32>,
}

impl LayerWeights {
    /// The weight of operator `op`.
    pub fn linear(&self, op: Linear) -> &Matrix {
        &self.linear[op as usize]
    }
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
        let (d, v) = (cfg.d_model, cfg.vocab_size);
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
            let attn_norm = vector(file, &n("attn_norm.weight"), d)?;
            let mut linear = Vec::with_capacity(Linear::ALL.len());
            for op in Linear::ALL {
                let (rows, cols) = cfg.linear_shape(op);
                let name = n(&format!("{}.weight", op.gguf_name()));
                linear.push(Matrix::Mapped(WeightRef::resolve(file, &name, rows, cols)?));
            }
            layers.push(LayerWeights {
                attn_norm,
                linear: linear.try_into().expect("one matrix per operator"),
                qkv_bias,
                ffn_norm: vector(file, &n("ffn_norm.weight"), d)?,
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
