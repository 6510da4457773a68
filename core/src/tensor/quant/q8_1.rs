//! Q8_1: 32 elements in 36 bytes, `{ f16 d; f16 s; i8 qs[32] }`, `x = q * d`, with
//! `s = d * sum_j q_j` precomputed so that the min term of Q4_1 weights costs one multiply per
//! block. An activation type only.

use super::{abs_max, f16_at, nearest_int, put_f16};

/// Elements per block.
pub const QK: usize = 32;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 36;

/// Quantizes whole blocks as llama.cpp's x86 `quantize_row_q8_1` does: `d = amax / 127`,
/// `q = nearest_int(x * (127 / amax))`, `s = d * sum q` (both stored as f16).
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let amax = abs_max(x);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        let d = amax / 127.0;
        let mut sum = 0i32;
        for (q, &v) in b[4..].iter_mut().zip(x) {
            let qi = nearest_int(v * id) as i8;
            sum += qi as i32;
            *q = qi as u8;
        }
        put_f16(b, 0, d);
        put_f16(b, 2, d * sum as f32);
    }
}

/// Dequantizes whole blocks: `x[j] = q[j] * d` (`s` is redundant).
pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (b, y) in src.chunks_exact(BLOCK_BYTES).zip(dst.chunks_exact_mut(QK)) {
        let d = f16_at(b, 0);
        for (y, &q) in y.iter_mut().zip(&b[4..]) {
            *y = q as i8 as f32 * d;
        }
    }
}
