//! Q4_1: 32 elements in 20 bytes, `{ f16 d; f16 m; u8 qs[16] }`; element `j` is the low nibble
//! of `qs[j]`, element `j + 16` its high nibble, and `x = nib * d + m`.
//! Paired with [`super::q8_1`] activations, whose stored `s = d_a * sum q_a` carries the
//! min term: `sum_j (nib_j d + m) q_j d_a = d d_a sum_j nib_j q_j + m s`.

use super::{f16_at, put_f16, q8_1, sum_blocks};

/// Elements per block.
pub const QK: usize = 32;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 20;

/// Quantizes whole blocks of weights as ggml's `quantize_row_q4_1_ref` does: per block
/// `m = min x`, `d = (max x - m) / 15` (both stored as f16), `nib = min(15, trunc((x - m) / d
/// + 0.5))` with `1 / d` taken in f32 from the unrounded `d` (0 for a constant block). A zero
/// weight decodes to `nib * d + m`, exactly zero only when the block's minimum is.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(dst.chunks_exact_mut(BLOCK_BYTES)) {
        let min = x.iter().copied().fold(f32::INFINITY, f32::min);
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let d = (max - min) / 15.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        put_f16(b, 0, d);
        put_f16(b, 2, min);
        let nib = |v: f32| (((v - min) * id + 0.5) as i8).min(15) as u8;
        for j in 0..QK / 2 {
            b[4 + j] = nib(x[j]) | (nib(x[j + QK / 2]) << 4);
        }
    }
}

/// Dequantizes whole blocks: `x[j] = nib[j] * d + m`.
pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (b, y) in src.chunks_exact(BLOCK_BYTES).zip(dst.chunks_exact_mut(QK)) {
        let (d, m) = (f16_at(b, 0), f16_at(b, 2));
        for (j, &q) in b[4..].iter().enumerate() {
            y[j] = (q & 0x0F) as f32 * d + m;
            y[j + 16] = (q >> 4) as f32 * d + m;
        }
    }
}

/// `sum_b (d_w d_a sum_j nib_j q_j + m_w s_a)` of a Q4_1 row with a Q8_1 row of `n` elements.
pub fn vec_dot_q8_1(w: &[u8], act: &[u8], n: usize) -> f32 {
    sum_blocks(w, act, n, QK, BLOCK_BYTES, q8_1::BLOCK_BYTES, |bw, ba| {
        let q8 = &ba[4..];
        let mut sumi = 0i32;
        for (j, &q) in bw[4..].iter().enumerate() {
            sumi +=
                (q & 0x0F) as i32 * q8[j] as i8 as i32 + (q >> 4) as i32 * q8[j + 16] as i8 as i32;
        }
        f16_at(bw, 0) * f16_at(ba, 0) * sumi as f32 + f16_at(bw, 2) * f16_at(ba, 2)
    })
}
