//! TEMPORARY — delete at merge. A minimal private stand-in for `crate::tensor::quant` (written on
//! another branch), covering only float weights (F32, F16) so the kernels can be built and tested
//! before the quantized block types land. It mirrors that module's API exactly.

use crate::tensor::GgmlType;
use crate::{Error, Result};
use alloc::format;
use half::f16;

/// Signature of a row dot product: weight row bytes, activation row bytes, element count.
pub type VecDotFn = fn(w: &[u8], act: &[u8], n: usize) -> f32;

fn unsupported(ty: GgmlType) -> Error {
    Error::Unsupported(format!("{} in the temporary quant shim", ty.name()))
}

fn le_f32(b: &[u8]) -> f32 {
    f32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Decodes one row of `ty` into f32.
pub fn dequantize_row(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<()> {
    match ty {
        GgmlType::F32 if src.len() == 4 * dst.len() => {
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
                *d = le_f32(s);
            }
        }
        GgmlType::F16 if src.len() == 2 * dst.len() => {
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(2)) {
                *d = f16::from_bits(u16::from_le_bytes([s[0], s[1]])).to_f32();
            }
        }
        GgmlType::F32 | GgmlType::F16 => return Err(Error::invalid("row length mismatch")),
        _ => return Err(unsupported(ty)),
    }
    Ok(())
}

/// The activation type paired with weights of type `weight`.
pub fn vec_dot_type(weight: GgmlType) -> GgmlType {
    match weight {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => GgmlType::F32,
        _ => GgmlType::Q8_0,
    }
}

/// Encodes one activation row as `act_ty`.
pub fn quantize_row(act_ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<()> {
    if act_ty != GgmlType::F32 {
        return Err(unsupported(act_ty));
    }
    if dst.len() != 4 * src.len() {
        return Err(Error::invalid("row length mismatch"));
    }
    for (d, s) in dst.chunks_exact_mut(4).zip(src) {
        d.copy_from_slice(&s.to_le_bytes());
    }
    Ok(())
}

fn vec_dot_f32(w: &[u8], act: &[u8], n: usize) -> f32 {
    let mut sum = 0f32;
    for (a, b) in w.chunks_exact(4).zip(act.chunks_exact(4)).take(n) {
        sum += le_f32(a) * le_f32(b);
    }
    sum
}

fn vec_dot_f16(w: &[u8], act: &[u8], n: usize) -> f32 {
    let mut sum = 0f32;
    for (a, b) in w.chunks_exact(2).zip(act.chunks_exact(4)).take(n) {
        sum += f16::from_bits(u16::from_le_bytes([a[0], a[1]])).to_f32() * le_f32(b);
    }
    sum
}

/// The row dot product for weights of type `weight`.
pub fn vec_dot_fn(weight: GgmlType) -> Result<VecDotFn> {
    match weight {
        GgmlType::F32 => Ok(vec_dot_f32),
        GgmlType::F16 => Ok(vec_dot_f16),
        _ => Err(unsupported(weight)),
    }
}
