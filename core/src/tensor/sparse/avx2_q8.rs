//! x86-64 AVX2 + FMA + F16C row kernel of the 8-bit activation path
//! ([`super::SparseMatrix::matmul_fast`]) for the structures that keep 4 of every 8 columns
//! (2:4 and 4:8) with Q8 and Q4 values.
//!
//! One step covers 64 columns: one weight block (32 kept values) and two Q8_0 activation blocks
//! (`A0 A1` the two 16-column halves of the first, `A2 A3` of the second). Each activation row
//! is first repacked once per token ([`pack`]): per step, its 64 codes as `[A0 | A2]` and
//! `[A1 | A3]` (one 128-bit lane each) and its scales as f32 `[d_x0; 4, d_x1; 4]`. A step builds
//! a 32-byte shuffle control whose byte `k` is the position of kept value `k` inside its
//! 16-column chunk ([`control`]: for 2:4 from the mask nibbles with two `_mm256_shuffle_epi8`,
//! for 4:8 from the 256-entry table [`CTRL`] of mask bytes), shuffles both packed vectors with it
//! and blends them by dwords, which gives the kept activations in the order of the weight codes:
//! kept values 0..16 (activation block 0) in the low lane, 16..32 (block 1) in the high lane,
//! which is also where a Q4 block's low and high nibbles go. The byte products are summed
//! exactly in pairs with `_mm256_maddubs_epi16` (Q8: the signs moved onto the activations as
//! ggml's Q8_0 x Q8_0 kernel does, |q_w| <= 128 and |q_x| <= 127; Q4: the unsigned nibbles times
//! the activations minus 8 times the activation pairs; neither saturates i16), then in quads
//! with `_mm256_madd_epi16`, giving 4 i32 partial sums per activation block, which are converted to f32,
//! multiplied by the packed activation scales and added by one FMA with the weight block's
//! scale `d_w` into 8 lanes. The lanes are reduced pairwise ((0+4, 1+5, 2+6, 3+7), then (0+2,
//! 1+3), then 0+1); the last `cols % 64` columns are summed by the portable kernel
//! ([`super::portable::dot_q8`]) on the Q8_0 blocks and added last. The order depends only on
//! `cols`, so the kernel is row-independent; its integer sums equal the portable kernel's, its
//! f32 order differs (lanes, FMA, `(s d_x) d_w` for `(d_w d_x) s`; bound stated in the tests).
//!
//! The `unsafe fn`s require AVX2, FMA and F16C; [`kernel`] is only reached through
//! [`super::fast_row_kernel`], whose callers check the CPU's level first.

use super::portable::dot_q8;
use super::{QuantRow, RowDotQ8, SparseKind, Structure, Values, QK};
use crate::tensor::quant::q8_0;
use core::arch::x86_64::*;

/// For each mask byte with 4 bits set, the positions (0..8) of its set bits, ascending, in bytes
/// 0..4; zero for the other bytes (which validated 2:4 and 4:8 masks never hold, and which would
/// only select wrong activations, never read out of bounds).
static CTRL: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        if (b as u8).count_ones() == 4 {
            let (mut j, mut k) = (0, 0);
            while j < 8 {
                if b & (1 << j) != 0 {
                    t[b] |= (j as u32) << (8 * k);
                    k += 1;
                }
                j += 1;
            }
        }
        b += 1;
    }
    t
};

/// For a 2:4 mask nibble `b` (2 bits set), the position of its first set bit at index `b` and
/// of its second at index `b ^ 8` (no two of these 12 indices collide); zero elsewhere.
#[repr(C, align(16))]
struct Nibbles([u8; 16]);

static NIBBLE_POS: Nibbles = {
    let mut t = [0u8; 16];
    let mut b = 0;
    while b < 16 {
        if (b as u8).count_ones() == 2 {
            let p0 = (b as u8).trailing_zeros() as u8;
            t[b] = p0;
            t[b ^ 8] = (b as u8 & (b as u8 - 1)).trailing_zeros() as u8;
        }
        b += 1;
    }
    Nibbles(t)
};

/// For kept value `k` of a 2:4 step (lane `L = k / 16`, `j = k % 16`), the byte of
/// [`control`]'s source holding its mask nibble: `8 h + 4 L + j / 4`, `h = (j / 2) % 2` (low
/// nibbles of the 8 mask bytes in bytes 0..8, high nibbles in 8..16).
#[repr(C, align(32))]
struct Spread([u8; 32]);

static SPREAD: Spread = {
    let mut t = [0u8; 32];
    let mut k = 0;
    while k < 32 {
        let j = k % 16;
        t[k] = (8 * ((j / 2) % 2) + 4 * (k / 16) + j / 4) as u8;
        k += 1;
    }
    Spread(t)
};

/// Value-type parameters of [`dot_half`] (a const generic, so each type gets its own loop).
const Q8: u8 = 1;
const Q4: u8 = 2;
/// Structure parameters of [`dot_half`]: 2:4 (nibble masks) and 4:8 (byte masks).
const S24: u8 = 0;
const S48: u8 = 1;

/// The AVX2 fast-path row kernel for `kind`, if it has one (2:4 and 4:8 with Q8 or Q4 values);
/// it reads the [`pack`]ed activations.
pub(super) fn kernel(kind: SparseKind) -> Option<RowDotQ8> {
    Some(match (kind.structure, kind.values) {
        (Structure::NM { n: 2, m: 4 }, Values::Q8) => dot::<S24, Q8>,
        (Structure::NM { n: 2, m: 4 }, Values::Q4) => dot::<S24, Q4>,
        (Structure::NM { n: 4, m: 8 }, Values::Q8) => dot::<S48, Q8>,
        (Structure::NM { n: 4, m: 8 }, Values::Q4) => dot::<S48, Q4>,
        _ => return None,
    })
}

/// Bytes of [`pack`]ed codes and f32 scales of a row of `cols` activations: 64 and 8 per
/// whole step of 64 columns.
pub(super) fn packed_len(cols: usize) -> (usize, usize) {
    (cols / 64 * 64, cols / 64 * 8)
}

/// Repacks the Q8_0 blocks of one activation row (`cols` columns) for [`kernel`]'s kernels, as
/// the module documentation lays them out; `codes` and `scales` have [`packed_len`]`(cols)`.
pub(super) fn pack(blocks: &[u8], cols: usize, codes: &mut [u8], scales: &mut [f32]) {
    const AB: usize = q8_0::BLOCK_BYTES;
    for (s, (c, d)) in codes
        .chunks_exact_mut(64)
        .zip(scales.chunks_exact_mut(8))
        .enumerate()
        .take(cols / 64)
    {
        let (b0, b1) = (
            &blocks[2 * s * AB..][..AB],
            &blocks[(2 * s + 1) * AB..][..AB],
        );
        c[..16].copy_from_slice(&b0[2..18]);
        c[16..32].copy_from_slice(&b1[2..18]);
        c[32..48].copy_from_slice(&b0[18..34]);
        c[48..].copy_from_slice(&b1[18..34]);
        let f = |b: &[u8]| half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32();
        d[..4].fill(f(b0));
        d[4..].fill(f(b1));
    }
}

/// The safe wrapper of [`dot_half`]`::<S, V>`: checks the value type and the lengths its reads
/// rely on (panicking, like slice indexing, on a mismatch).
fn dot<const S: u8, const V: u8>(
    values: Values,
    mask: &[u8],
    vals: &[u8],
    x: &QuantRow<'_>,
    cols: usize,
) -> f32 {
    let v = if values == Values::Q8 { Q8 } else { Q4 };
    let (codes, scales) = packed_len(cols);
    assert!(
        v == V
            && values != Values::F16
            && cols.is_multiple_of(4)
            && mask.len() == cols.div_ceil(8)
            && vals.len() == (cols / 2).div_ceil(QK) * values.block_bytes()
            && x.blocks.len() >= cols.div_ceil(QK) * q8_0::BLOCK_BYTES
            && x.codes.len() == codes
            && x.scales.len() == scales
    );
    // SAFETY: `kernel` hands this function out only through `fast_row_kernel` for a level the
    // caller checked against the CPU, so AVX2, FMA and F16C are present; the value type and the
    // lengths `dot_half` reads were just checked.
    unsafe { dot_half::<S, V>(mask, vals, x, cols) }
}

/// The 32-byte shuffle control of the 64 columns whose 8 mask bytes are at `mask` (module
/// documentation): byte `k` is the position of kept value `k` inside its 16-column chunk.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn control<const S: u8>(mask: *const u8) -> __m256i {
    if S == S48 {
        // SAFETY: the caller guarantees 8 readable bytes at `mask`.
        let m = unsafe { (mask as *const u64).read_unaligned() }.to_le();
        let c = |i: u32| CTRL[(m >> (8 * i)) as u8 as usize] as u64;
        let pair = |i: u32| (c(2 * i) | (c(2 * i + 1) + 0x0808_0808) << 32) as i64;
        return _mm256_setr_epi64x(pair(0), pair(1), pair(2), pair(3));
    }
    // Kept value k (lane L = k / 16, j = k % 16) is value j % 2 of nibble 8 L + j / 2: the low
    // (h = 0) or high (h = 1, j / 2 odd) nibble of mask byte 4 L + j / 4. Each lane of `src`
    // holds the low nibbles of the 8 mask bytes, then their high nibbles.
    // SAFETY: the caller guarantees 8 readable bytes at `mask`.
    let m = _mm256_broadcastq_epi64(unsafe { _mm_loadl_epi64(mask as *const __m128i) });
    let src = _mm256_and_si256(
        _mm256_srlv_epi64(m, _mm256_setr_epi64x(0, 4, 0, 4)),
        _mm256_set1_epi8(0x0F),
    );
    // SAFETY: SPREAD is 32 bytes, 32-byte aligned.
    let sel = unsafe { _mm256_load_si256(SPREAD.0.as_ptr() as *const __m256i) };
    // The nibble of each kept value, with bit 3 flipped for second values (NIBBLE_POS's index).
    let nib = _mm256_xor_si256(_mm256_shuffle_epi8(src, sel), _mm256_set1_epi16(0x0800));
    // SAFETY: NIBBLE_POS is 16 bytes, 16-byte aligned.
    let pos = unsafe { _mm_load_si128(NIBBLE_POS.0.as_ptr() as *const __m128i) };
    let within = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(pos), nib);
    // Plus the group's offset 4 ((j / 2) % 4) inside its 16-column chunk.
    _mm256_add_epi8(within, _mm256_set1_epi64x(0x0C0C_0808_0404_0000))
}

/// The 32 nibbles of the 16 bytes at `p` as bytes: low nibbles in the low lane, high nibbles in
/// the high lane (the element order of a Q4_0 block).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibbles(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 16 readable bytes at `p`.
    let lo = unsafe { _mm_loadu_si128(p as *const __m128i) };
    let both = _mm256_set_m128i(_mm_srli_epi16::<4>(lo), lo);
    _mm256_and_si256(both, _mm256_set1_epi8(0x0F))
}

/// `Σ_c W[c] q_x[c] d_x` of one row that keeps 4 of every 8 columns (2:4 for `S24`, 4:8 for
/// `S48`), values of type `V`, in the order of the module documentation.
///
/// # Safety
/// The CPU has AVX2, FMA and F16C; `cols % 4 == 0`, `mask` has `ceil(cols / 8)` bytes, `vals`
/// holds `ceil(cols / 64)` blocks of `V`, `x.blocks` at least `ceil(cols / 32)` Q8_0 blocks and
/// `x.codes`, `x.scales` the [`packed_len`]`(cols)` values of [`pack`].
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_half<const S: u8, const V: u8>(
    mask: &[u8],
    vals: &[u8],
    x: &QuantRow<'_>,
    cols: usize,
) -> f32 {
    const AB: usize = q8_0::BLOCK_BYTES;
    let (values, bb) = if V == Q8 {
        (Values::Q8, q8_0::BLOCK_BYTES)
    } else {
        (Values::Q4, super::q4_0::BLOCK_BYTES)
    };
    let steps = cols / 64;
    let (mp, vp, cp, sp) = (
        mask.as_ptr(),
        vals.as_ptr(),
        x.codes.as_ptr(),
        x.scales.as_ptr(),
    );
    let mut acc = _mm256_setzero_ps();
    for b in 0..steps {
        // SAFETY: step `b < cols / 64` reads mask bytes `8 b .. 8 b + 8 <= ceil(cols / 8)`,
        // weight block `b < ceil(cols / 64)`, packed codes `64 b .. 64 b + 64` and scales
        // `8 b .. 8 b + 8`.
        unsafe {
            let ctrl = control::<S>(mp.add(8 * b));
            let c = cp.add(64 * b) as *const __m256i;
            let x02 = _mm256_shuffle_epi8(_mm256_loadu_si256(c), ctrl);
            let x13 = _mm256_shuffle_epi8(_mm256_loadu_si256(c.add(1)), ctrl);
            let xk = _mm256_blend_epi32::<0b1100_1100>(x02, x13);
            let blk = vp.add(b * bb);
            let pairs = if V == Q8 {
                let w = _mm256_loadu_si256(blk.add(2) as *const __m256i);
                _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xk, w))
            } else {
                // Σ (nib - 8) q_x = Σ nib q_x - Σ 8 q_x, per pair (|each| <= 15 * 127 * 2).
                let nib = nibbles(blk.add(2));
                _mm256_sub_epi16(
                    _mm256_maddubs_epi16(nib, xk),
                    _mm256_maddubs_epi16(_mm256_set1_epi8(8), xk),
                )
            };
            let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
            let sx = _mm256_mul_ps(sums, _mm256_loadu_ps(sp.add(8 * b)));
            let dw = u16::from_le((blk as *const u16).read_unaligned());
            let dw = _mm256_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(dw as i32)));
            acc = _mm256_fmadd_ps(dw, sx, acc);
        }
    }
    let hi = _mm256_extractf128_ps::<1>(acc);
    let s4 = _mm_add_ps(_mm256_castps256_ps128(acc), hi);
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<1>(s2, s2));
    let sum = _mm_cvtss_f32(s1);
    if cols.is_multiple_of(64) {
        return sum;
    }
    let tail = QuantRow {
        blocks: &x.blocks[2 * steps * AB..],
        codes: &[],
        scales: &[],
    };
    sum + dot_q8(
        values,
        &mask[8 * steps..],
        &vals[steps * bb..],
        &tail,
        cols - 64 * steps,
    )
}
