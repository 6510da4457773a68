//! The trainable tensors of a decoder, owned in f32 under their GGUF names, and gradients laid
//! out the same way, so an [`crate::optim::Optimizer`] steps them as flat buffers.

use crate::model::sampling::Rng;
use crate::model::{Linear, ModelConfig};
use crate::optim::{ParamShape, ParamSpec};
use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Indices of one layer's tensors in [`Params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSlots {
    pub attn_norm: usize,
    /// The seven linear weights, indexed by [`Linear`].
    pub linear: [usize; 7],
    /// The q, k and v biases (Qwen2).
    pub qkv_bias: Option<[usize; 3]>,
    pub ffn_norm: usize,
}

/// Where every tensor lives: indices into the tensor list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub token_embd: usize,
    pub layers: Vec<LayerSlots>,
    pub output_norm: usize,
    /// The untied output projection; `None` when the head reuses the token embedding.
    pub output: Option<usize>,
    /// Name and shape of every tensor, in order.
    pub specs: Vec<ParamSpec>,
}

impl Layout {
    /// The tensors of `cfg` (biases when the architecture has them; an output matrix unless
    /// `tied`), in GGUF order: the embedding, each layer, the final norm, the head.
    pub fn new(cfg: &ModelConfig, tied: bool) -> Self {
        let mut specs = Vec::new();
        let mut push = |s: ParamSpec| {
            specs.push(s);
            specs.len() - 1
        };
        let (d, v) = (cfg.d_model, cfg.vocab_size);
        let token_embd = push(ParamSpec::matrix("token_embd.weight", v, d));
        let layers = (0..cfg.n_layer)
            .map(|l| {
                let attn_norm = push(ParamSpec::vector(format!("blk.{l}.attn_norm.weight"), d));
                let mut linear = [0; 7];
                for op in Linear::ALL {
                    let (rows, cols) = cfg.linear_shape(op);
                    linear[op as usize] = push(ParamSpec::matrix(
                        format!("blk.{l}.{}.weight", op.gguf_name()),
                        rows,
                        cols,
                    ));
                }
                let qkv_bias = cfg.arch.has_qkv_bias().then(|| {
                    [Linear::Q, Linear::K, Linear::V].map(|op| {
                        push(ParamSpec::vector(
                            format!("blk.{l}.{}.bias", op.gguf_name()),
                            cfg.linear_shape(op).0,
                        ))
                    })
                });
                let ffn_norm = push(ParamSpec::vector(format!("blk.{l}.ffn_norm.weight"), d));
                LayerSlots {
                    attn_norm,
                    linear,
                    qkv_bias,
                    ffn_norm,
                }
            })
            .collect();
        let output_norm = push(ParamSpec::vector("output_norm.weight", d));
        let output = (!tied).then(|| push(ParamSpec::matrix("output.weight", v, d)));
        Layout {
            token_embd,
            layers,
            output_norm,
            output,
            specs,
        }
    }

    /// The head's weight: the output matrix, or the embedding when tied.
    pub fn head(&self) -> usize {
        self.output.unwrap_or(self.token_embd)
    }

    /// Index of the tensor named `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }
}

/// A decoder's trainable tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub config: ModelConfig,
    pub layout: Layout,
    /// One buffer per tensor of the layout, row-major.
    pub tensors: Vec<Vec<f32>>,
}

impl Params {
    /// A freshly initialized decoder (seeded): matrices `N(0, 0.02²)`, the two residual
    /// projections of each layer (`attn_output`, `ffn_down`) scaled by `1 / sqrt(2 n_layer)`
    /// (GPT-2, Radford et al. 2019), norm gains 1, biases 0.
    pub fn init(config: ModelConfig, tied: bool, seed: u64) -> Self {
        let layout = Layout::new(&config, tied);
        let mut rng = Rng::new(seed);
        let residual = 1.0 / crate::math::sqrt(2.0 * config.n_layer.max(1) as f64);
        let tensors = layout
            .specs
            .iter()
            .map(|s| {
                let n = s.shape.len();
                if s.name.ends_with("norm.weight") {
                    vec![1.0; n]
                } else if s.name.ends_with(".bias") {
                    vec![0.0; n]
                } else {
                    let is_residual = s.name.ends_with("attn_output.weight")
                        || s.name.ends_with("ffn_down.weight");
                    let std = 0.02 * if is_residual { residual } else { 1.0 };
                    (0..n).map(|_| (rng.normal() * std) as f32).collect()
                }
            })
            .collect();
        Params {
            config,
            layout,
            tensors,
        }
    }

    /// `tensors` (in `layout` order) checked against the layout's shapes.
    pub fn from_tensors(config: ModelConfig, tied: bool, tensors: Vec<Vec<f32>>) -> Result<Self> {
        let layout = Layout::new(&config, tied);
        if tensors.len() != layout.specs.len() {
            return Err(Error::invalid(format!(
                "{} tensors for a layout of {}",
                tensors.len(),
                layout.specs.len()
            )));
        }
        for (s, t) in layout.specs.iter().zip(&tensors) {
            if t.len() != s.shape.len() {
                return Err(Error::Shape {
                    tensor: s.name.clone(),
                    expected: format!("{:?}", s.shape),
                    found: format!("{} values", t.len()),
                });
            }
        }
        Ok(Params {
            config,
            layout,
            tensors,
        })
    }

    /// Zeroed buffers shaped like the parameters (the gradients' layout).
    pub fn zeros_like(&self) -> Vec<Vec<f32>> {
        self.tensors.iter().map(|t| vec![0.0; t.len()]).collect()
    }

    /// Number of trainable values.
    pub fn count(&self) -> usize {
        self.tensors.iter().map(Vec::len).sum()
    }

    /// `(rows, cols)` of matrix tensor `i`.
    pub(crate) fn dims(&self, i: usize) -> (usize, usize) {
        match self.layout.specs[i].shape {
            ParamShape::Matrix { rows, cols } => (rows, cols),
            ParamShape::Vector { len } => (1, len),
        }
    }
}
