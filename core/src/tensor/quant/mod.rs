//! Quantized block types of GGUF/ggml and the integer dot products of the fast numeric path.
//!
//! A weight row of a quantized type is a sequence of blocks; each block holds `block_size`
//! elements as small integers and one or two float scales (ggml's `block_q4_1`, `block_q6_K`,
//! ...). The fast path multiplies such a row with an activation row that was itself quantized to
//! 8-bit blocks ([`vec_dot_type`]), so that the inner loops are integer multiply-adds and the
//! scales are applied once per block, as llama.cpp does:
//!
//! `w . a = sum_b d_w[b] * d_a[b] * sum_i q_w[b,i] * q_a[b,i]  (+ min terms)`.
//!
//! Each weight type has one module with its block layout, `dequantize` and the portable scalar
//! `vec_dot`; `avx2` holds the x86-64 AVX2+FMA versions, which [`vec_dot_fn`] hands out only
//! after run-time detection and which are tested against the portable ones. Every kernel is a
//! pure function of its two rows with a fixed accumulation order, so results do not depend on
//! batching or threading.
//!
//! Buffers are byte slices in GGUF layout (little-endian, no alignment assumed).

#[cfg(target_arch = "x86_64")]
mod avx2;
pub mod q4_0;
pub mod q4_1;
pub mod q4_k;
pub mod q5_0;
pub mod q6_k;
pub mod q8_0;
pub mod q8_1;
pub mod q8_k;

use super::{float, GgmlType};
use crate::{Error, Result};
use alloc::format;

/// Dot product of one weight row (`w`, of the weight type the function was obtained for) with
/// one activation row `act` of [`vec_dot_type`] of that weight type, both holding `n` elements.
///
/// `n` must be a multiple of the weight's block size. The kernels panic (slice indexing) if a
/// row is shorter than `n` elements need; they never read past it. Callers that hold a
/// [`super::WeightView`] and a row quantized with [`quantize_row`] have checked both lengths.
pub type VecDotFn = fn(w: &[u8], act: &[u8], n: usize) -> f32;

/// Dot products of one weight row with four activation rows (`acts`), each as [`VecDotFn`]
/// takes it: result `k` equals, bit for bit, what [`vec_dot_fn`] of the same weight type returns
/// for `acts[k]`. Unpacking each weight block once for four tokens is what makes a prefill faster
/// than four single dot products.
pub type VecDotX4Fn = fn(w: &[u8], acts: [&[u8]; 4], n: usize) -> [f32; 4];

/// `sum_b block(w_b, a_b)` over the `n / qk` block pairs of a weight row (`w_bytes` per block)
/// and an activation row (`a_bytes` per block), added in block order: the frame every portable
/// `vec_dot` shares, each module supplying only its block's term.
pub(crate) fn sum_blocks(
    w: &[u8],
    act: &[u8],
    n: usize,
    qk: usize,
    w_bytes: usize,
    a_bytes: usize,
    block: impl Fn(&[u8], &[u8]) -> f32,
) -> f32 {
    let nb = n / qk;
    w[..nb * w_bytes]
        .chunks_exact(w_bytes)
        .zip(act[..nb * a_bytes].chunks_exact(a_bytes))
        .fold(0.0, |sum, (bw, ba)| sum + block(bw, ba))
}

/// Every weight type the fast and exact paths can multiply (each has a [`vec_dot_fn`] and a
/// [`dequantize_row`]).
pub const WEIGHT_TYPES: [GgmlType; 9] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q8_0,
    GgmlType::Q4K,
    GgmlType::Q6K,
];

/// Bytes of `n` elements of `ty`, or an error naming `what` when `n` is not a whole number of
/// blocks.
fn row_bytes(ty: GgmlType, n: usize, what: &str) -> Result<usize> {
    ty.bytes_for(n as u64)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| {
            Error::invalid(format!(
                "{what}: {n} elements is not a whole number of {} blocks of {}",
                ty.name(),
                ty.block_size()
            ))
        })
}

/// Dequantize one row: `src` holds `dst.len()` elements of `ty` (whole blocks).
///
/// Supports F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q8_0, Q8_1, Q4_K, Q6_K and Q8_K; other types give
/// [`Error::Unsupported`], a length mismatch [`Error::InvalidArgument`].
pub fn dequantize_row(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<()> {
    let need = row_bytes(ty, dst.len(), "dequantize_row")?;
    if src.len() != need {
        return Err(Error::invalid(format!(
            "dequantize_row: {} {} elements need {need} bytes, got {}",
            dst.len(),
            ty.name(),
            src.len()
        )));
    }
    match ty {
        GgmlType::F32 => float::f32_to_f32(src, dst),
        GgmlType::F16 => float::f16_to_f32(src, dst),
        GgmlType::BF16 => float::bf16_to_f32(src, dst),
        GgmlType::Q4_0 => q4_0::dequantize(src, dst),
        GgmlType::Q4_1 => q4_1::dequantize(src, dst),
        GgmlType::Q5_0 => q5_0::dequantize(src, dst),
        GgmlType::Q8_0 => q8_0::dequantize(src, dst),
        GgmlType::Q8_1 => q8_1::dequantize(src, dst),
        GgmlType::Q4K => q4_k::dequantize(src, dst),
        GgmlType::Q6K => q6_k::dequantize(src, dst),
        GgmlType::Q8K => q8_k::dequantize(src, dst),
        other => return Err(Error::Unsupported(format!("dequantizing {}", other.name()))),
    }
    Ok(())
}

/// The activation block type the fast path pairs with a weight type: Q4_0/Q5_0/Q8_0 -> Q8_0,
/// Q4_1/Q5_1 -> Q8_1, K-quants -> Q8_K, everything else (F32/F16/BF16) -> F32 (activations stay
/// f32). These are ggml's `vec_dot_type`s.
pub fn vec_dot_type(weight: GgmlType) -> GgmlType {
    match weight {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => GgmlType::Q8_0,
        GgmlType::Q4_1 | GgmlType::Q5_1 => GgmlType::Q8_1,
        GgmlType::Q2K | GgmlType::Q3K | GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K => {
            GgmlType::Q8K
        }
        _ => GgmlType::F32,
    }
}

/// Quantize one activation row to `act_ty` (Q8_0, Q8_1, Q8_K, or F32 = plain little-endian
/// copy); `dst.len()` must be `act_ty.bytes_for(src.len())`.
pub fn quantize_row(act_ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<()> {
    let need = row_bytes(act_ty, src.len(), "quantize_row")?;
    if dst.len() != need {
        return Err(Error::invalid(format!(
            "quantize_row: {} {} elements need {need} bytes, got {}",
            src.len(),
            act_ty.name(),
            dst.len()
        )));
    }
    match act_ty {
        GgmlType::F32 => float::f32_to_bytes(src, dst),
        GgmlType::Q8_0 => q8_0::quantize(src, dst),
        GgmlType::Q8_1 => q8_1::quantize(src, dst),
        GgmlType::Q8K => q8_k::quantize(src, dst),
        other => {
            return Err(Error::Unsupported(format!(
                "quantizing activations to {}",
                other.name()
            )))
        }
    }
    Ok(())
}

/// The portable scalar kernel for `weight` x [`vec_dot_type`]`(weight)` (always available; the
/// reference the SIMD kernels are tested against), or [`Error::Unsupported`].
pub fn vec_dot_fn_portable(weight: GgmlType) -> Result<VecDotFn> {
    Ok(match weight {
        GgmlType::F32 => float::vec_dot_f32,
        GgmlType::F16 => float::vec_dot_f16,
        GgmlType::BF16 => float::vec_dot_bf16,
        GgmlType::Q4_0 => q4_0::vec_dot_q8_0,
        GgmlType::Q4_1 => q4_1::vec_dot_q8_1,
        GgmlType::Q5_0 => q5_0::vec_dot_q8_0,
        GgmlType::Q8_0 => q8_0::vec_dot_q8_0,
        GgmlType::Q4K => q4_k::vec_dot_q8_k,
        GgmlType::Q6K => q6_k::vec_dot_q8_k,
        other => {
            return Err(Error::Unsupported(format!(
                "dot product of {} weights",
                other.name()
            )))
        }
    })
}

/// The best kernel for this CPU: the AVX2+FMA one when the CPU has AVX2, FMA and F16C (detected
/// at run time under `std`, cached; in `no_std`, when the build targets those features), the
/// portable one otherwise; [`Error::Unsupported`] for weight types without a kernel.
pub fn vec_dot_fn(weight: GgmlType) -> Result<VecDotFn> {
    let portable = vec_dot_fn_portable(weight)?;
    #[cfg(target_arch = "x86_64")]
    if let Some(f) = avx2::kernel(weight) {
        return Ok(f);
    }
    Ok(portable)
}

/// The four-token kernel for `weight` on this CPU, when one exists (the AVX2 ones for Q4_0, Q4_1,
/// Q5_0, Q8_0, Q4_K and Q6_K); `None` means: call [`vec_dot_fn`] once per token.
pub fn vec_dot_x4_fn(weight: GgmlType) -> Option<VecDotX4Fn> {
    #[cfg(target_arch = "x86_64")]
    if let Some(f) = avx2::kernel_x4(weight) {
        return Some(f);
    }
    let _ = weight;
    None
}

/// Whether this CPU runs the AVX2 kernels (AVX2, FMA and F16C).
#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    #[cfg(feature = "std")]
    {
        use core::sync::atomic::{AtomicU8, Ordering};
        // 0 = not yet detected, 1 = absent, 2 = present.
        static DETECTED: AtomicU8 = AtomicU8::new(0);
        match DETECTED.load(Ordering::Relaxed) {
            0 => {
                let yes = std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("fma")
                    && std::is_x86_feature_detected!("f16c");
                DETECTED.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
                yes
            }
            v => v == 2,
        }
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(
            target_feature = "avx2",
            target_feature = "fma",
            target_feature = "f16c"
        ))
    }
}

/// The f16 stored little-endian at `b[off..off + 2]`, as f32.
#[inline(always)]
fn f16_at(b: &[u8], off: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([b[off], b[off + 1]])).to_f32()
}

/// The f32 stored little-endian at `b[off..off + 4]`.
#[inline(always)]
fn f32_at(b: &[u8], off: usize) -> f32 {
    f32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Stores `v` as a little-endian f16 at `b[off..off + 2]` (round to nearest even).
#[inline(always)]
fn put_f16(b: &mut [u8], off: usize, v: f32) {
    b[off..off + 2].copy_from_slice(&half::f16::from_f32(v).to_bits().to_le_bytes());
}

/// The largest |x| of a block (0 for an all-zero block; NaN-free input assumed, as in ggml).
#[inline(always)]
fn abs_max(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, &v| m.max(libm::fabsf(v)))
}

/// `x` rounded to the nearest integer, ties to even (what `_mm256_round_ps(_MM_ROUND_NEAREST)`
/// and ggml's `nearest_int` give), for |x| <= 2^22: adding 1.5 * 2^23 leaves the rounded value
/// in the low mantissa bits. A NaN or an infinity (from a degenerate block of a hostile file:
/// NaN weights, or a subnormal absolute maximum whose reciprocal overflows) gives an
/// unspecified integer, as in ggml's release builds, rather than a panic.
#[inline(always)]
fn nearest_int(x: f32) -> i32 {
    debug_assert!(
        !x.is_finite() || libm::fabsf(x) <= 4_194_304.0,
        "{x} is out of range"
    );
    ((x + 12_582_912.0).to_bits() & 0x007F_FFFF) as i32 - 0x0040_0000
}

#[cfg(test)]
mod tests;
