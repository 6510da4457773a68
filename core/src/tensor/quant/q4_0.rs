//! Q4_0: 32 elements in 18 bytes, `{ f16 d; u8 qs[16] }`; element `j` is the low nibble of
//! `qs[j]`, element `j + 16` its high nibble, and `x = (nib - 8) * d`.
//! Paired with [`super::q8_0`] activations.

use super::{f16_at, put_f16, q8_0, sum_blocks};

/// Elements per block.
pub const QK: usize = 32;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 18;

/// Quantizes whole blocks of weights as ggml's `quantize_row_q4_0_ref` does: `d = v / -8`
/// with `v` the block's value of largest magnitude (the first of equals), stored as f16;
/// `nib = min(15, trunc(x / d + 8.5))` with `1 / d` from the unrounded `d` (0 for an all-zero
/// block). The code is symmetric, so a pruned (zero) weight decodes to exactly zero.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let v = x
            .iter()
            .copied()
            .fold(0.0f32, |m, v| if v.abs() > m.abs() { v } else { m });
        let d = v / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        put_f16(b, 0, d);
        let nib = |v: f32| ((v * id + 8.5) as i8).min(15) as u8;
        for j in 0..QK / 2 {
            b[2 + j] = nib(x[j]) | (nib(x[j + QK / 2]) << 4);
        }
    }
}

/// Dequantizes whole blocks: `x[j] = (nib[j] - 8) * d`.
pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (b, y) in src.chunks_exact(BLOCK_BYTES).zip(dst.chunks_exact_mut(QK)) {
        let d = f16_at(b, 0);
        for (j, &q) in b[2..].iter().enumerate() {
            y[j] = ((q & 0x0F) as i32 - 8) as f32 * d;
            y[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

/// `sum_b d_w d_a sum_j (nib_j - 8) q_j` of a Q4_0 row with a Q8_0 row of `n` elements.
pub fn vec_dot_q8_0(w: &[u8], act: &[u8], n: usize) -> f32 {
    sum_blocks(w, act, n, QK, BLOCK_BYTES, q8_0::BLOCK_BYTES, |bw, ba| {
        let q8 = &ba[2..];
        let mut sumi = 0i32;
        for (j, &q) in bw[2..].iter().enumerate() {
            sumi += ((q & 0x0F) as i32 - 8) * q8[j] as i8 as i32
                + ((q >> 4) as i32 - 8) * q8[j + 16] as i8 as i32;
        }
        f16_at(bw, 0) * f16_at(ba, 0) * sumi as f32
    })
}
