//! Q6_K: 256 elements in 210 bytes, `{ u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }`.
//!
//! 16 sub-blocks of 16 elements, each with an 8-bit signed scale; `x = d * sc * (q - 32)` with
//! `q` a 6-bit quant: low 4 bits from `ql`, high 2 bits from `qh`. Per half `h` of 128 elements,
//! element `128h + 32k + l` (k = 0..4, l = 0..32) takes the low (k < 2) or high (k >= 2) nibble
//! of `ql[64h + 32(k & 1) + l]` and bits `2k, 2k + 1` of `qh[32h + l]`.
//! Paired with [`super::q8_k`] activations.

use super::{f16_at, f32_at, q8_k, sum_blocks};

/// Elements per super-block.
pub const QK: usize = 256;
/// Bytes per super-block.
pub const BLOCK_BYTES: usize = 210;
/// Byte offset of `qh`.
pub const QH: usize = 128;
/// Byte offset of the scales.
pub const SCALES: usize = 192;
/// Byte offset of `d`.
pub const D: usize = 208;

/// The signed quants `q - 32` of a super-block in element order.
#[inline(always)]
fn unpack(b: &[u8]) -> [i8; QK] {
    let mut q = [0i8; QK];
    for h in 0..2 {
        for k in 0..4 {
            for l in 0..32 {
                let lo = (b[64 * h + 32 * (k & 1) + l] >> (4 * (k >> 1))) & 0x0F;
                let hi = (b[QH + 32 * h + l] >> (2 * k)) & 3;
                q[128 * h + 32 * k + l] = (lo | hi << 4) as i8 - 32;
            }
        }
    }
    q
}

/// Dequantizes whole super-blocks: `x = d * sc * (q - 32)`.
pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (b, y) in src.chunks_exact(BLOCK_BYTES).zip(dst.chunks_exact_mut(QK)) {
        let d = f16_at(b, D);
        let q = unpack(b);
        for (i, y) in y.chunks_exact_mut(16).enumerate() {
            let ds = d * b[SCALES + i] as i8 as f32;
            for (y, &q) in y.iter_mut().zip(&q[16 * i..16 * i + 16]) {
                *y = ds * q as f32;
            }
        }
    }
}

/// Dot product of a Q6_K row with a Q8_K row of `n` elements:
/// `sum_B d_a d sum_i sc_i sum_l (q_l - 32) q8_l`, an integer sum per super-block.
pub fn vec_dot_q8_k(w: &[u8], act: &[u8], n: usize) -> f32 {
    sum_blocks(w, act, n, QK, BLOCK_BYTES, q8_k::BLOCK_BYTES, |bw, ba| {
        let q = unpack(bw);
        let q8 = &ba[q8_k::QS..q8_k::BSUMS];
        let mut sumi = 0i32;
        for i in 0..16 {
            let s: i32 = (16 * i..16 * i + 16)
                .map(|l| q[l] as i32 * q8[l] as i8 as i32)
                .sum();
            sumi += bw[SCALES + i] as i8 as i32 * s;
        }
        f32_at(ba, 0) * f16_at(bw, D) * sumi as f32
    })
}
