//! A pruned model's linear weights re-stored in a sparse format ([`crate::tensor::sparse`]),
//! which the forward then multiplies by directly (fewer bytes read per weight).

use super::{Linear, Matrix, Model};
use crate::tensor::sparse::{SparseKind, SparseMatrix};
use crate::{Error, Result};
use alloc::format;

impl Model {
    /// Re-stores every linear weight of every layer as `kind` (each must fit it: an N:M
    /// structure needs at least N zeros in every group of M). Checks all of them before
    /// replacing any, so on an error the model is unchanged. `progress(done, total)` is
    /// called after each matrix is encoded.
    pub fn to_sparse(
        &mut self,
        kind: SparseKind,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        let n_layer = self.config.n_layer;
        let total = n_layer * Linear::ALL.len();
        let mut encoded = alloc::vec::Vec::with_capacity(total);
        for l in 0..n_layer {
            for op in Linear::ALL {
                let (rows, cols) = self.config.linear_shape(op);
                let w = self.linear_f32(l, op)?;
                let s = SparseMatrix::encode(&w, rows, cols, kind).map_err(|e| {
                    Error::invalid(format!(
                        "blk.{l}.{}.weight does not fit {}: {e}",
                        op.gguf_name(),
                        kind.name()
                    ))
                })?;
                encoded.push((l, op, s));
                progress(encoded.len(), total);
            }
        }
        for (l, op, s) in encoded {
            self.set_linear(l, op, Matrix::Sparse(s))?;
        }
        Ok(())
    }

    /// Bytes the layers' linear weights occupy as stored now (mapped, owned or sparse).
    pub fn linear_bytes(&self) -> Result<usize> {
        let mut total = 0;
        for l in 0..self.config.n_layer {
            for op in Linear::ALL {
                total += match self.linear(l, op)? {
                    Matrix::Sparse(s) => s.bytes().len(),
                    m => m.dense_view(&self.file).map_or(0, |v| v.data.len()),
                };
            }
        }
        Ok(total)
    }
}
