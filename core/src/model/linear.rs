//! A decoder layer's linear operators: which one ([`Linear`]), which input they read
//! ([`LinearInput`]), how each weight is stored ([`Matrix`]), and the [`Observer`] that sees
//! their inputs during a forward.
//!
//! This is the seam that pruning, training and other backends share: the forward dispatches on
//! the storage kind through one product (`project` in `forward.rs`), so a matrix replaced by an
//! owned one (dense while pruning, sparse after) runs through the same code path as the
//! memory-mapped GGUF weights.

use super::weights::WeightRef;
use crate::io::gguf::GgufFile;
use crate::tensor::quant::dequantize_row;
use crate::tensor::sparse::SparseMatrix;
use crate::tensor::{GgmlType, WeightView};
use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// One of the seven linear operators of a decoder layer, `y = x Wᵀ` with `W` of
/// `rows` (outputs) x `cols` (inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Linear {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Linear {
    /// All seven, in the order the forward evaluates them.
    pub const ALL: [Linear; 7] = [
        Linear::Q,
        Linear::K,
        Linear::V,
        Linear::O,
        Linear::Gate,
        Linear::Up,
        Linear::Down,
    ];

    /// The GGUF tensor name inside `blk.N.` without `.weight` ("attn_q", "ffn_down", ...).
    pub fn gguf_name(self) -> &'static str {
        match self {
            Linear::Q => "attn_q",
            Linear::K => "attn_k",
            Linear::V => "attn_v",
            Linear::O => "attn_output",
            Linear::Gate => "ffn_gate",
            Linear::Up => "ffn_up",
            Linear::Down => "ffn_down",
        }
    }

    /// The input this operator reads.
    pub fn input(self) -> LinearInput {
        match self {
            Linear::Q | Linear::K | Linear::V => LinearInput::Attn,
            Linear::O => LinearInput::AttnOut,
            Linear::Gate | Linear::Up => LinearInput::Mlp,
            Linear::Down => LinearInput::Down,
        }
    }
}

/// The four distinct inputs of a layer's linear operators, in forward order. Operators that
/// share an input (Q, K, V; gate, up) are observed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinearInput {
    /// RMSNorm(x) * g before attention: the input of Q, K and V.
    Attn,
    /// The attention heads' concatenated outputs: the input of O.
    AttnOut,
    /// RMSNorm(x) * g before the MLP: the input of gate and up.
    Mlp,
    /// silu(gate) * up: the input of down.
    Down,
}

impl LinearInput {
    /// All four, in forward order.
    pub const ALL: [LinearInput; 4] = [
        LinearInput::Attn,
        LinearInput::AttnOut,
        LinearInput::Mlp,
        LinearInput::Down,
    ];

    /// "attn_q/k/v input", "attn_output input", "ffn_gate/up input", "ffn_down input".
    pub fn name(self) -> &'static str {
        match self {
            LinearInput::Attn => "attn_q/k/v input",
            LinearInput::AttnOut => "attn_output input",
            LinearInput::Mlp => "ffn_gate/up input",
            LinearInput::Down => "ffn_down input",
        }
    }

    /// The operators that read this input.
    pub fn ops(self) -> &'static [Linear] {
        match self {
            LinearInput::Attn => &[Linear::Q, Linear::K, Linear::V],
            LinearInput::AttnOut => &[Linear::O],
            LinearInput::Mlp => &[Linear::Gate, Linear::Up],
            LinearInput::Down => &[Linear::Down],
        }
    }
}

/// Sees the input rows of every linear operator during a forward: `x` holds `n` rows (one per
/// token of the batch, row-major) as wide as the operators' `cols`. Called once per
/// [`LinearInput`] per layer, before the products that read it, with exactly the values they
/// read (on the fast path, before their 8-bit quantization).
pub trait Observer: Send {
    fn observe(&mut self, layer: usize, input: LinearInput, x: &[f32], n: usize);
}

/// A matrix owned by the model rather than mapped from its file: `rows` rows of `cols`
/// elements encoded as `ty` (F32, F16 or any quantized block type the kernels read).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedWeight {
    ty: GgmlType,
    rows: usize,
    cols: usize,
    bytes: Vec<u8>,
}

impl OwnedWeight {
    /// Checks that `bytes` holds exactly `rows` x `cols` elements of `ty`.
    pub fn new(ty: GgmlType, rows: usize, cols: usize, bytes: Vec<u8>) -> Result<Self> {
        WeightView::new(ty, rows, cols, &bytes)?;
        Ok(OwnedWeight {
            ty,
            rows,
            cols,
            bytes,
        })
    }

    /// An F32 matrix from row-major values.
    pub fn from_f32(rows: usize, cols: usize, values: &[f32]) -> Result<Self> {
        if values.len() != rows * cols {
            return Err(Error::invalid(format!(
                "{} values for a {rows}x{cols} matrix",
                values.len()
            )));
        }
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        OwnedWeight::new(GgmlType::F32, rows, cols, bytes)
    }

    /// The matrix as a weight view.
    pub fn view(&self) -> WeightView<'_> {
        WeightView {
            ty: self.ty,
            rows: self.rows,
            cols: self.cols,
            data: &self.bytes,
        }
    }
}

/// How a layer's linear weight is stored.
#[derive(Debug, Clone)]
pub enum Matrix {
    /// A tensor of the model's (memory-mapped) GGUF file, in the file's encoding.
    Mapped(WeightRef),
    /// A matrix the model owns (e.g. pruned weights, dense while pruning).
    Owned(OwnedWeight),
    /// A pruned matrix in a sparse format (only the kept weights stored).
    Sparse(SparseMatrix),
}

impl Matrix {
    /// Output rows.
    pub fn rows(&self) -> usize {
        match self {
            Matrix::Mapped(w) => w.rows(),
            Matrix::Owned(w) => w.rows,
            Matrix::Sparse(w) => w.rows(),
        }
    }

    /// Input columns.
    pub fn cols(&self) -> usize {
        match self {
            Matrix::Mapped(w) => w.cols(),
            Matrix::Owned(w) => w.cols,
            Matrix::Sparse(w) => w.cols(),
        }
    }

    /// The matrix as a dense weight view (`file` is the model's file, read by mapped weights);
    /// `None` for a sparse one.
    pub fn dense_view<'a>(&'a self, file: &'a GgufFile) -> Option<WeightView<'a>> {
        match self {
            Matrix::Sparse(_) => None,
            Matrix::Mapped(w) => Some(w.view(file)),
            Matrix::Owned(w) => Some(w.view()),
        }
    }

    /// The matrix decoded to f32, row-major `rows x cols`.
    pub fn to_f32(&self, file: &GgufFile) -> Result<Vec<f32>> {
        let view = match self {
            Matrix::Sparse(s) => return Ok(s.to_f32()),
            Matrix::Mapped(w) => w.view(file),
            Matrix::Owned(w) => w.view(),
        };
        let mut out = vec![0.0f32; view.rows * view.cols];
        for (r, dst) in out.chunks_exact_mut(view.cols).enumerate() {
            dequantize_row(view.ty, view.row(r), dst)?;
        }
        Ok(out)
    }
}
