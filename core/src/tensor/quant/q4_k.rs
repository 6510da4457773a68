//! Q4_K: 256 elements in 144 bytes, `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }`.
//!
//! The super-block has 8 sub-blocks of 32 elements, each with a 6-bit scale `sc` and a 6-bit
//! min `m` packed in `scales` ([`scales_mins`]); `x = d * sc * q - dmin * m` with `q` the 4-bit
//! quant. The quants come in 4 chunks of 32 bytes: chunk `c` holds sub-block `2c` in the low
//! nibbles and sub-block `2c + 1` in the high nibbles (element `64c + l` and `64c + 32 + l` in
//! byte `32c + l`). Paired with [`super::q8_k`] activations.

use super::{f16_at, f32_at, q8_k, sum_blocks};

/// Elements per super-block.
pub const QK: usize = 256;
/// Bytes per super-block.
pub const BLOCK_BYTES: usize = 144;
/// Byte offset of the packed scales.
pub const SCALES: usize = 4;
/// Byte offset of the quants.
pub const QS: usize = 16;

/// The 6-bit scales and mins of the 8 sub-blocks, unpacked from the 12 bytes `s` (ggml's
/// `get_scale_min_k4`): sub-block `j < 4` has the low 6 bits of `s[j]` (scale) and `s[j + 4]`
/// (min); `j >= 4` has the low / high nibble of `s[j + 4]` (scale / min) under the top two bits
/// of `s[j - 4]` / `s[j]`. Evaluated four sub-blocks at a time on little-endian 32-bit words.
#[inline(always)]
pub fn scales_mins(s: &[u8]) -> ([u8; 8], [u8; 8]) {
    const LOW6: u32 = 0x3F3F_3F3F;
    const LOW4: u32 = 0x0F0F_0F0F;
    const TOP2: u32 = 0x0303_0303;
    let word = |k: usize| u32::from_le_bytes([s[4 * k], s[4 * k + 1], s[4 * k + 2], s[4 * k + 3]]);
    let (w0, w1, w2) = (word(0), word(1), word(2));
    let sc = [w0 & LOW6, (w2 & LOW4) | ((w0 >> 6) & TOP2) << 4];
    let m = [w1 & LOW6, ((w2 >> 4) & LOW4) | ((w1 >> 6) & TOP2) << 4];
    let bytes = |v: [u32; 2]| (v[0] as u64 | (v[1] as u64) << 32).to_le_bytes();
    (bytes(sc), bytes(m))
}

/// The 4-bit quants of a super-block in element order.
#[inline(always)]
fn unpack(b: &[u8]) -> [u8; QK] {
    let mut q = [0u8; QK];
    for c in 0..4 {
        for l in 0..32 {
            let v = b[QS + 32 * c + l];
            q[64 * c + l] = v & 0x0F;
            q[64 * c + 32 + l] = v >> 4;
        }
    }
    q
}

/// Dequantizes whole super-blocks: `x = d * sc * q - dmin * m` per sub-block.
pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (b, y) in src.chunks_exact(BLOCK_BYTES).zip(dst.chunks_exact_mut(QK)) {
        let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
        let q = unpack(b);
        let (sc, m) = scales_mins(&b[SCALES..QS]);
        for j in 0..8 {
            let (d1, m1) = (d * sc[j] as f32, dmin * m[j] as f32);
            for l in 32 * j..32 * j + 32 {
                y[l] = d1 * q[l] as f32 - m1;
            }
        }
    }
}

/// Dot product of a Q4_K row with a Q8_K row of `n` elements:
/// `sum_B d_a (d sum_j sc_j sum_l q_l q8_l - dmin sum_j m_j bsum_j)`, integer sums per super-block.
pub fn vec_dot_q8_k(w: &[u8], act: &[u8], n: usize) -> f32 {
    sum_blocks(w, act, n, QK, BLOCK_BYTES, q8_k::BLOCK_BYTES, |bw, ba| {
        let q = unpack(bw);
        let q8 = &ba[q8_k::QS..q8_k::BSUMS];
        let (sc, m) = scales_mins(&bw[SCALES..QS]);
        let (mut sumi, mut summ) = (0i32, 0i32);
        for j in 0..8 {
            let s: i32 = (32 * j..32 * j + 32)
                .map(|l| q[l] as i32 * q8[l] as i8 as i32)
                .sum();
            sumi += sc[j] as i32 * s;
            summ += m[j] as i32 * (q8_k::bsum(ba, 2 * j) + q8_k::bsum(ba, 2 * j + 1));
        }
        let da = f32_at(ba, 0);
        da * f16_at(bw, 0) * sumi as f32 - da * f16_at(bw, 2) * summ as f32
    })
}
