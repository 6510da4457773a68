//! Q8_K: 256 elements in 292 bytes, `{ f32 d; i8 qs[256]; i16 bsums[16] }`, `x = q * d`, with
//! `bsums[i]` the sum of the 16 quants `16 i .. 16 i + 16`. The activation type of the
//! K-quants; the block sums let the K-quant kernels apply mins and offsets per sub-block.

use super::{f32_at, nearest_int};

/// Elements per block.
pub const QK: usize = 256;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 292;
/// Byte offset of `qs`.
pub const QS: usize = 4;
/// Byte offset of `bsums`.
pub const BSUMS: usize = 260;

/// Quantizes whole blocks as llama.cpp's `quantize_row_q8_K_ref`: with `max` the element of
/// largest magnitude (sign kept, first one on ties), `iscale = -127 / max`,
/// `q = min(127, nearest_int(iscale * x))`, `d = 1 / iscale`; an all-zero block stores
/// zeros.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in x {
            if libm::fabsf(v) > amax {
                amax = libm::fabsf(v);
                max = v;
            }
        }
        if amax == 0.0 {
            b.fill(0);
            continue;
        }
        let iscale = -127.0 / max;
        for (q, &v) in b[QS..BSUMS].iter_mut().zip(x) {
            *q = nearest_int(iscale * v).min(127) as i8 as u8;
        }
        for i in 0..16 {
            let s: i32 = b[QS + 16 * i..QS + 16 * i + 16]
                .iter()
                .map(|&q| q as i8 as i32)
                .sum();
            b[BSUMS + 2 * i..BSUMS + 2 * i + 2].copy_from_slice(&(s as i16).to_le_bytes());
        }
        b[..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
    }
}

/// Dequantizes whole blocks: `x[j] = q[j] * d`.
pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (b, y) in src.chunks_exact(BLOCK_BYTES).zip(dst.chunks_exact_mut(QK)) {
        let d = f32_at(b, 0);
        for (y, &q) in y.iter_mut().zip(&b[QS..BSUMS]) {
            *y = q as i8 as f32 * d;
        }
    }
}

/// `bsums[i]` of the block `b`.
#[inline(always)]
pub(crate) fn bsum(b: &[u8], i: usize) -> i32 {
    i16::from_le_bytes([b[BSUMS + 2 * i], b[BSUMS + 2 * i + 1]]) as i32
}
