//! Q5_0: 32 elements in 22 bytes, `{ f16 d; u32 qh (little-endian); u8 qs[16] }`; element `j`
//! has the low nibble of `qs[j]` and bit `j` of `qh`, element `j + 16` the high nibble of
//! `qs[j]` and bit `j + 16` of `qh`; `x = ((nib | hbit << 4) - 16) * d`.
//! Paired with [`super::q8_0`] activations.

use super::{f16_at, q8_0, sum_blocks};

/// Elements per block.
pub const QK: usize = 32;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 22;

/// The signed 5-bit values `(nib | hbit << 4) - 16` of elements `j` and `j + 16` of a block.
#[inline(always)]
fn pair(b: &[u8], qh: u32, j: usize) -> (i32, i32) {
    let q = b[6 + j];
    let lo = (q & 0x0F) as u32 | ((qh >> j) & 1) << 4;
    let hi = (q >> 4) as u32 | ((qh >> (j + 16)) & 1) << 4;
    (lo as i32 - 16, hi as i32 - 16)
}

/// Dequantizes whole blocks.
pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (b, y) in src.chunks_exact(BLOCK_BYTES).zip(dst.chunks_exact_mut(QK)) {
        let d = f16_at(b, 0);
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        for j in 0..16 {
            let (lo, hi) = pair(b, qh, j);
            y[j] = lo as f32 * d;
            y[j + 16] = hi as f32 * d;
        }
    }
}

/// `sum_b d_w d_a sum_j q5_j q8_j` of a Q5_0 row with a Q8_0 row of `n` elements.
pub fn vec_dot_q8_0(w: &[u8], act: &[u8], n: usize) -> f32 {
    sum_blocks(w, act, n, QK, BLOCK_BYTES, q8_0::BLOCK_BYTES, |bw, ba| {
        let qh = u32::from_le_bytes([bw[2], bw[3], bw[4], bw[5]]);
        let q8 = &ba[2..];
        let mut sumi = 0i32;
        for j in 0..16 {
            let (lo, hi) = pair(bw, qh, j);
            sumi += lo * q8[j] as i8 as i32 + hi * q8[j + 16] as i8 as i32;
        }
        f16_at(bw, 0) * f16_at(ba, 0) * sumi as f32
    })
}
