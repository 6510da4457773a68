//! Saving a model, possibly with replaced (pruned) weights, as a GGUF file llama.cpp can load.
//!
//! Every metadata key (the tokenizer included) and every tensor other than the layers' linear
//! weights is copied from the source file unchanged, in the file's order; each linear weight is
//! written from the model's current [`Matrix`] in the type asked for. The file is streamed
//! ([`GgufWriter`]), so saving needs memory for one matrix, and a failed or cancelled save
//! leaves no file.

use super::linear::Linear;
use super::Model;
use crate::io::gguf::{TensorDecl, Value};
use crate::io::GgufWriter;
use crate::tensor::quant::{dequantize_row, encode_weight_row};
use crate::tensor::GgmlType;
use crate::{Error, Result};
use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use std::path::Path;

/// What the linear weights are written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightType {
    /// Each matrix in its current encoding (the file's, or the owned matrix's).
    Keep,
    /// Every linear weight encoded as this type (F32, F16, Q8_0, Q4_0 or Q4_1; pruned zeros stay exact in all but Q4_1).
    As(GgmlType),
}

/// Settings of [`Model::save_gguf`].
#[derive(Debug, Clone, PartialEq)]
pub struct SaveOptions {
    pub weight_type: WeightType,
    /// Keys added after the source's metadata (a key the source has is replaced in place).
    pub extra_metadata: Vec<(String, Value)>,
    /// Replace an existing file.
    pub overwrite: bool,
}

/// llama.cpp's `general.file_type` (`llama_ftype`) for a model whose weights are mostly `ty`.
fn file_type(ty: GgmlType) -> Option<u32> {
    Some(match ty {
        GgmlType::F32 => 0,
        GgmlType::F16 => 1,
        GgmlType::Q4_0 => 2,
        GgmlType::Q4_1 => 3,
        GgmlType::Q8_0 => 7,
        _ => return None,
    })
}

impl Model {
    /// The (layer, operator) whose weight the file tensor `name` is, if it is one.
    fn linear_of(&self, name: &str) -> Option<(usize, Linear)> {
        let rest = name.strip_prefix("blk.")?;
        let (layer, op) = rest.split_once('.')?;
        let layer: usize = layer.parse().ok()?;
        let op = Linear::ALL
            .into_iter()
            .find(|o| op.strip_prefix(o.gguf_name()) == Some(".weight"))?;
        (layer < self.config.n_layer).then_some((layer, op))
    }

    /// The type operator `op` of `layer` is written as.
    fn linear_type(&self, layer: usize, op: Linear, ty: WeightType) -> Result<GgmlType> {
        let m = self.linear(layer, op)?;
        let target = match (ty, m.dense_view(&self.file)) {
            (WeightType::Keep, Some(view)) => return Ok(view.ty),
            (WeightType::Keep, None) => {
                return Err(Error::Unsupported(format!(
                    "saving the sparse blk.{layer}.{}.weight as it is: GGUF has no sparse type; \
                     choose a dense weight type",
                    op.gguf_name()
                )))
            }
            (WeightType::As(t), _) => t,
        };
        if target.bytes_for(m.cols() as u64).is_none() || file_type(target).is_none() {
            return Err(Error::Unsupported(format!(
                "saving blk.{layer}.{}.weight ({} columns) as {}",
                op.gguf_name(),
                m.cols(),
                target.name()
            )));
        }
        Ok(target)
    }

    /// The bytes of operator `op` of `layer` encoded as `target` (borrowed when it already is).
    fn encode_linear(&self, layer: usize, op: Linear, target: GgmlType) -> Result<Cow<'_, [u8]>> {
        let m = self.linear(layer, op)?;
        let (rows, cols) = (m.rows(), m.cols());
        let view = m.dense_view(&self.file);
        if let Some(v) = view.filter(|v| v.ty == target) {
            return Ok(Cow::Borrowed(v.data));
        }
        let rb = cols / target.block_size() * target.type_size();
        let mut out = vec![0u8; rb * rows];
        match view {
            Some(view) => {
                let mut row = vec![0.0f32; cols];
                for (r, dst) in out.chunks_exact_mut(rb).enumerate() {
                    dequantize_row(view.ty, view.row(r), &mut row)?;
                    encode_weight_row(target, &row, dst)?;
                }
            }
            None => {
                let dense = m.to_f32(&self.file)?;
                for (src, dst) in dense.chunks_exact(cols).zip(out.chunks_exact_mut(rb)) {
                    encode_weight_row(target, src, dst)?;
                }
            }
        }
        Ok(Cow::Owned(out))
    }

    /// Writes the model to `path` as GGUF (see the module docs); `progress(done, total)` is
    /// called after each tensor, and returning `false` cancels with [`Error::Cancelled`],
    /// leaving no file.
    pub fn save_gguf(
        &self,
        path: impl AsRef<Path>,
        options: &SaveOptions,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<()> {
        let mut metadata = self.file.metadata.clone();
        if let WeightType::As(t) = options.weight_type {
            let ft = file_type(t)
                .ok_or_else(|| Error::Unsupported(format!("saving weights as {}", t.name())))?;
            set_key(&mut metadata, "general.file_type", Value::U32(ft));
        }
        for (k, v) in &options.extra_metadata {
            set_key(&mut metadata, k, v.clone());
        }
        let tensors = &self.file.tensors;
        let mut decls: Vec<TensorDecl> = Vec::with_capacity(tensors.len());
        for info in tensors {
            let ty = match self.linear_of(&info.name) {
                Some((l, op)) => self.linear_type(l, op, options.weight_type)?,
                None => info.ty,
            };
            let n = info.n_elements().unwrap_or(0);
            let size = ty.bytes_for(n).ok_or_else(|| {
                Error::invalid(format!(
                    "tensor '{}' has no whole {} size",
                    info.name,
                    ty.name()
                ))
            })?;
            decls.push((info.name.clone(), info.dims.clone(), ty, size));
        }
        let types: Vec<GgmlType> = decls.iter().map(|d| d.2).collect();
        let mut w = GgufWriter::create(path, &metadata, decls, options.overwrite)?;
        for (i, info) in tensors.iter().enumerate() {
            match self.linear_of(&info.name) {
                Some((l, op)) => w.write_tensor(&self.encode_linear(l, op, types[i])?)?,
                None => w.write_tensor(self.file.tensor_data(info))?,
            }
            if !progress(i + 1, tensors.len()) {
                return Err(Error::Cancelled);
            }
        }
        w.finish()
    }
}

/// Sets `key` to `v`, in place if present, else at the end.
fn set_key(metadata: &mut Vec<(String, Value)>, key: &str, v: Value) {
    match metadata.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = v,
        None => metadata.push((key.into(), v)),
    }
}
