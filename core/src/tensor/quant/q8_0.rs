//! Q8_0: 32 elements in 34 bytes, `{ f16 d; i8 qs[32] }`, `x = q * d`. Both a weight type
//! (token embeddings, output projections) and the activation type paired with Q4_0, Q5_0 and
//! Q8_0 weights.

use super::{abs_max, f16_at, nearest_int, put_f16, sum_blocks};
use crate::math::roundf;

/// Elements per block.
pub const QK: usize = 32;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 34;

/// Quantizes whole blocks as llama.cpp's x86 `quantize_row_q8_0` does: `d = amax / 127`
/// (stored as f16), `q = nearest_int(x * (127 / amax))` (0 for an all-zero block).
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let amax = abs_max(x);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        put_f16(b, 0, amax / 127.0);
        for (q, &v) in b[2..].iter_mut().zip(x) {
            *q = nearest_int(v * id) as i8 as u8;
        }
    }
}

/// Quantizes whole blocks of weights as ggml's reference `quantize_row_q8_0_ref` does (the
/// quantizer of `llama-quantize` and gguf-py): `d = amax / 127`, `q = round(x * (1 / d))` with
/// halves rounded away from zero. It differs from [`quantize`] (the activation quantizer) only
/// on ties.
pub fn quantize_weights(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let d = abs_max(x) / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        put_f16(b, 0, d);
        for (q, &v) in b[2..].iter_mut().zip(x) {
            *q = roundf(v * id) as i8 as u8;
        }
    }
}

/// Dequantizes whole blocks: `x[j] = q[j] * d`.
pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (b, y) in src.chunks_exact(BLOCK_BYTES).zip(dst.chunks_exact_mut(QK)) {
        let d = f16_at(b, 0);
        for (y, &q) in y.iter_mut().zip(&b[2..]) {
            *y = q as i8 as f32 * d;
        }
    }
}

/// `sum_b d_w d_a sum_j q_w,j q_a,j` of a Q8_0 row with a Q8_0 row of `n` elements.
pub fn vec_dot_q8_0(w: &[u8], act: &[u8], n: usize) -> f32 {
    sum_blocks(w, act, n, QK, BLOCK_BYTES, BLOCK_BYTES, |bw, ba| {
        let sumi: i32 = bw[2..]
            .iter()
            .zip(&ba[2..])
            .map(|(&x, &y)| x as i8 as i32 * y as i8 as i32)
            .sum();
        f16_at(bw, 0) * f16_at(ba, 0) * sumi as f32
    })
}
