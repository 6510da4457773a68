//! x86-64 AVX2 + FMA (+ F16C) versions of the dot-product kernels.
//!
//! Same block arithmetic as the portable kernels (integer sums per block, one float scale per
//! block), vectorized the way llama.cpp's AVX2 path is: 4-bit and 5-bit quants are widened to
//! bytes, byte products are summed in pairs with `maddubs` (unsigned x signed -> i16) and in
//! quads with `madd` (-> i32), converted to f32 and accumulated with one FMA per block into
//! eight lanes, which are reduced in the same pairwise order as
//! [`crate::tensor::float::reduce_lanes`]. The integer block sums are exact (the quants fit
//! `maddubs` without saturation: |q8| <= 127 as [`super::quantize_row`] produces); only the
//! float accumulation order differs from the portable kernels.
//!
//! Every `unsafe fn` here requires AVX2, FMA and F16C. The safe wrappers check the slice
//! lengths and are reachable only through [`kernel`] and [`kernel_x4`], whose caller
//! ([`super::vec_dot_fn_at`]) checks the CPU first.

use super::{q4_0, q4_1, q4_k, q5_0, q6_k, q8_0, q8_1, q8_k, VecDotFn, VecDotX4Fn};
use crate::tensor::GgmlType;
use core::arch::x86_64::*;

quant_kernels!();

/// The AVX2 kernel for `weight` (the float types' and the quantized ones), if one exists. The
/// caller ([`super::vec_dot_fn_at`]) hands it out only on CPUs at [`super::SimdLevel::Avx2`] or
/// above.
pub(super) fn kernel(weight: GgmlType) -> Option<VecDotFn> {
    match weight {
        GgmlType::F32 => Some(vec_dot_f32),
        GgmlType::F16 => Some(vec_dot_f16),
        GgmlType::BF16 => Some(vec_dot_bf16),
        quantized => quant_kernel(quantized),
    }
}

safe_kernel!(vec_dot_f32, dot_f32, 1, 4, 4);
safe_kernel!(vec_dot_f16, dot_f16, 1, 2, 4);
safe_kernel!(vec_dot_bf16, dot_bf16, 1, 2, 4);

/// The little-endian u16 at `p`.
#[inline(always)]
pub(super) unsafe fn u16_at(p: *const u8) -> u64 {
    // SAFETY: the caller guarantees two readable bytes at `p`.
    unsafe { u16::from_le((p as *const u16).read_unaligned()) as u64 }
}

/// The four f16 packed in `bits` (lowest half first) as four f32 lanes.
///
/// The scales go through one full-width `movq` from a general register: converting a single
/// f16 lets LLVM insert it into a stale vector register (`vpinsrw`), which chains every block on
/// the accumulator and serializes the loop.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn f16x4(bits: u64) -> __m128 {
    _mm_cvtph_ps(_mm_cvtsi64_si128(bits as i64))
}

/// `d_w * d_a` of two blocks whose f16 scales are at `w` and `a`, broadcast to 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scale_product(w: *const u8, a: *const u8) -> __m256 {
    // SAFETY: the caller guarantees two readable bytes at `w` and at `a`.
    unsafe {
        let s = f16x4(u16_at(w) | u16_at(a) << 16);
        _mm256_broadcastss_ps(_mm_mul_ss(s, _mm_movehdup_ps(s)))
    }
}

/// `d_w * d_a` of a weight block (f16 scale at `w`) and the blocks of `T` (at most 4) tokens
/// (f16 scales at `a[t]`), each broadcast to 8 lanes. For several tokens the scales are converted
/// and multiplied in one vector; every product is the same single f32 product as
/// [`scale_product`]'s.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scale_products<const T: usize>(w: *const u8, a: [*const u8; T]) -> [__m256; T] {
    const { assert!(T <= 4) };
    // SAFETY: the caller guarantees two readable bytes at `w` and at each `a[t]`.
    unsafe {
        if T == 1 {
            return [scale_product(w, a[0]); T];
        }
        let mut bits = 0u64;
        for (t, &p) in a.iter().enumerate() {
            bits |= u16_at(p) << (16 * t);
        }
        let s = _mm_mul_ps(f16x4(u16_at(w) * 0x0001_0001_0001_0001), f16x4(bits));
        let s = _mm256_castps128_ps256(s);
        let mut out = [_mm256_setzero_ps(); T];
        for (t, o) in out.iter_mut().enumerate() {
            *o = _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(t as i32));
        }
        out
    }
}

/// 32 bytes at `p`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn load32(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 32 readable bytes at `p`.
    unsafe { _mm256_loadu_si256(p as *const __m256i) }
}

/// The 32 nibbles of 16 bytes at `p` as bytes 0..15: low nibbles in bytes 0..16, high nibbles
/// in bytes 16..32 (element order of Q4_0/Q4_1/Q5_0).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn nibbles(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 16 readable bytes at `p`.
    unsafe {
        let lo = _mm_loadu_si128(p as *const __m128i);
        let both = _mm256_set_m128i(_mm_srli_epi16(lo, 4), lo);
        _mm256_and_si256(both, _mm256_set1_epi8(0x0F))
    }
}

/// Byte `k` is 0xFF where bit `k` of `bits` is set, else 0.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn bytes_from_bits(bits: u32) -> __m256i {
    // Byte k takes source byte k / 8 of `bits` and tests bit k % 8 of it.
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(bits as i32),
        _mm256_setr_epi64x(
            0,
            0x0101_0101_0101_0101,
            0x0202_0202_0202_0202,
            0x0303_0303_0303_0303,
        ),
    );
    let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit)
}

/// `sum` of adjacent products of unsigned bytes `x` and signed bytes `y`, as 8 f32 lanes of
/// 4-product sums.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_u8_i8(x: __m256i, y: __m256i) -> __m256 {
    let pairs = _mm256_maddubs_epi16(x, y);
    _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
}

/// Like [`dot_u8_i8`] for signed `x`: moves the sign of `x` onto `y`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_i8_i8(x: __m256i, y: __m256i) -> __m256 {
    // SAFETY: same target features as the caller.
    unsafe { dot_u8_i8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x)) }
}

/// The eight lanes of `v` summed as ((0+4)+(2+6)) + ((1+5)+(3+7)).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn hsum(v: __m256) -> f32 {
    let q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let h = _mm_add_ps(q, _mm_movehl_ps(q, q));
    _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)))
}

/// One f32 per token from the per-token accumulators `acc` (the caller's final reduction of
/// one token's lanes).
#[inline(always)]
pub(super) fn per_token<A: Copy, const T: usize>(acc: [A; T], f: impl Fn(A) -> f32) -> [f32; T] {
    let mut out = [0.0f32; T];
    for (o, a) in out.iter_mut().zip(acc) {
        *o = f(a);
    }
    out
}

// The quantized kernels below take one weight row and `T` activation rows (`T` = 1 for the
// single dot product, 4 for the multi-token one): each weight block is unpacked once and then
// multiplied with the matching block of every activation row. Token `t`'s accumulators see
// exactly the operations, in the same order, that they see when `T` = 1, so the results do not
// depend on `T` (integer sums are exact; every float step is per token).

/// Q4_0 x Q8_0 over `nb` blocks.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_0_q8_0<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    // SAFETY: `w` and each `act` hold `nb` blocks; every read stays inside block `i`.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); T];
        for i in 0..nb {
            let bw = w.as_ptr().add(i * q4_0::BLOCK_BYTES);
            let qx = _mm256_sub_epi8(nibbles(bw.add(2)), _mm256_set1_epi8(8));
            let ba = act.map(|a| a.as_ptr().add(i * q8_0::BLOCK_BYTES));
            let d = scale_products(bw, ba);
            for ((acc, ba), d) in acc.iter_mut().zip(ba).zip(d) {
                *acc = _mm256_fmadd_ps(d, dot_i8_i8(qx, load32(ba.add(2))), *acc);
            }
        }
        per_token(acc, |a| hsum(a))
    }
}

/// Q4_1 x Q8_1 over `nb` blocks (at most 4 tokens); the min terms `m_w s_a` are summed apart.
/// Per block, lanes `2t, 2t + 1` of one vector hold token `t`'s scale products
/// `[d_w d_a, m_w s_a]` (for several tokens all converted and multiplied at once): each is the
/// same single f32 product whichever way it is formed, so the results do not depend on `T`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_1_q8_1<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    const { assert!(T <= 4) };
    // SAFETY: `w` and each `act` hold `nb` blocks; every read stays inside block `i`.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); T];
        // Lane 2t + 1 accumulates token t's m_w * s_a (lane 2t its d products, unused).
        let mut mins = _mm256_setzero_ps();
        for i in 0..nb {
            let bw = w.as_ptr().add(i * q4_1::BLOCK_BYTES);
            let p = if T == 1 {
                // One token: [d_w, m_w, d_a, s_a] -> [d_w d_a, m_w s_a, ..] in a 128-bit vector
                // (cheaper than the 256-bit conversion below; lanes 2..8 unused).
                let wa = (bw as *const u32).read_unaligned() as u64;
                let aa = (act[0].as_ptr().add(i * q8_1::BLOCK_BYTES) as *const u32).read_unaligned()
                    as u64;
                let s = f16x4(wa | aa << 32);
                _mm256_zextps128_ps256(_mm_mul_ps(s, _mm_movehl_ps(s, s)))
            } else {
                // [d_w, m_w] in every lane pair times [d_a, s_a] of token t in lane pair t (a
                // fresh vector each block: no chain across blocks).
                let sw = _mm256_cvtph_ps(_mm_set1_epi32((bw as *const i32).read_unaligned()));
                let mut sa = _mm_setzero_si128();
                for (t, a) in act.iter().enumerate() {
                    let aa = (a.as_ptr().add(i * q8_1::BLOCK_BYTES) as *const i32).read_unaligned();
                    sa = match t {
                        0 => _mm_insert_epi32::<0>(sa, aa),
                        1 => _mm_insert_epi32::<1>(sa, aa),
                        2 => _mm_insert_epi32::<2>(sa, aa),
                        _ => _mm_insert_epi32::<3>(sa, aa),
                    };
                }
                _mm256_mul_ps(sw, _mm256_cvtph_ps(sa))
            };
            mins = _mm256_add_ps(mins, p);
            let qw = nibbles(bw.add(4));
            for (t, (acc, a)) in acc.iter_mut().zip(act).enumerate() {
                let ba = a.as_ptr().add(i * q8_1::BLOCK_BYTES);
                let d = _mm256_permutevar8x32_ps(p, _mm256_set1_epi32(2 * t as i32));
                *acc = _mm256_fmadd_ps(d, dot_u8_i8(qw, load32(ba.add(4))), *acc);
            }
        }
        let mut m = [0.0f32; 8];
        _mm256_storeu_ps(m.as_mut_ptr(), mins);
        let mut out = [0.0f32; T];
        for (t, (o, acc)) in out.iter_mut().zip(acc).enumerate() {
            *o = hsum(acc) + m[2 * t + 1];
        }
        out
    }
}

/// Q5_0 x Q8_0 over `nb` blocks. A quant is `nib | hbit << 4` minus 16, i.e. the byte
/// `nib | 0xF0` (= nib - 16 as i8) where the high bit is clear and `nib` where it is set.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q5_0_q8_0<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    // SAFETY: `w` and each `act` hold `nb` blocks; every read stays inside block `i`.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); T];
        for i in 0..nb {
            let bw = w.as_ptr().add(i * q5_0::BLOCK_BYTES);
            let qh = (bw.add(2) as *const u32).read_unaligned().to_le();
            let low = _mm256_andnot_si256(bytes_from_bits(qh), _mm256_set1_epi8(0xF0u8 as i8));
            let qx = _mm256_or_si256(nibbles(bw.add(6)), low);
            let ba = act.map(|a| a.as_ptr().add(i * q8_0::BLOCK_BYTES));
            let d = scale_products(bw, ba);
            for ((acc, ba), d) in acc.iter_mut().zip(ba).zip(d) {
                *acc = _mm256_fmadd_ps(d, dot_i8_i8(qx, load32(ba.add(2))), *acc);
            }
        }
        per_token(acc, |a| hsum(a))
    }
}

/// Q8_0 x Q8_0 over `nb` blocks.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_q8_0<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    // SAFETY: `w` and each `act` hold `nb` blocks; every read stays inside block `i`.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); T];
        for i in 0..nb {
            let bw = w.as_ptr().add(i * q8_0::BLOCK_BYTES);
            let qw = load32(bw.add(2));
            let ba = act.map(|a| a.as_ptr().add(i * q8_0::BLOCK_BYTES));
            let d = scale_products(bw, ba);
            for ((acc, ba), d) in acc.iter_mut().zip(ba).zip(d) {
                *acc = _mm256_fmadd_ps(d, dot_i8_i8(qw, load32(ba.add(2))), *acc);
            }
        }
        per_token(acc, |a| hsum(a))
    }
}

/// Q4_K x Q8_K over `nb` super-blocks: per 64-element chunk, the low and high nibbles against
/// their 32 activations, each pair sum scaled by its sub-block scale in `madd`; the min terms
/// come from the activation block sums.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_k_q8_k<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    // SAFETY: `w` and each `act` hold `nb` super-blocks; every read stays inside block `i`.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); T];
        let mut acc_m = [_mm_setzero_ps(); T];
        let mask = _mm256_set1_epi8(0x0F);
        for i in 0..nb {
            let bw = w.as_ptr().add(i * q4_k::BLOCK_BYTES);
            let packed = core::slice::from_raw_parts(bw.add(q4_k::SCALES), 12);
            let (sc, m) = q4_k::scales_mins(packed);
            let dw = f16x4(u16_at(bw) | u16_at(bw.add(2)) << 16);
            let mins = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(i64::from_le_bytes(m)));
            let mut dd = [_mm_setzero_ps(); T];
            for ((dd, acc_m), a) in dd.iter_mut().zip(acc_m.iter_mut()).zip(act) {
                let ba = a.as_ptr().add(i * q8_k::BLOCK_BYTES);
                // [d, dmin] * d_a
                *dd = _mm_mul_ps(dw, _mm_set1_ps((ba as *const f32).read_unaligned()));
                // Min terms: m_j * (bsum_2j + bsum_2j+1), four i32 lanes.
                let bsums = load32(ba.add(q8_k::BSUMS));
                let pairs = _mm_hadd_epi16(
                    _mm256_castsi256_si128(bsums),
                    _mm256_extracti128_si256(bsums, 1),
                );
                let summ = _mm_cvtepi32_ps(_mm_madd_epi16(mins, pairs));
                *acc_m = _mm_fmadd_ps(_mm_permute_ps(*dd, 0b01_01_01_01), summ, *acc_m);
            }
            let mut sumi = [_mm256_setzero_si256(); T];
            for c in 0..4 {
                let q4 = load32(bw.add(q4_k::QS + 32 * c));
                let lo = _mm256_and_si256(q4, mask);
                let hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), mask);
                let s_lo = _mm256_set1_epi16(sc[2 * c] as i16);
                let s_hi = _mm256_set1_epi16(sc[2 * c + 1] as i16);
                for (sumi, a) in sumi.iter_mut().zip(act) {
                    let q8 = a.as_ptr().add(i * q8_k::BLOCK_BYTES + q8_k::QS + 64 * c);
                    let p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load32(q8)), s_lo);
                    let p_hi =
                        _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load32(q8.add(32))), s_hi);
                    *sumi = _mm256_add_epi32(*sumi, _mm256_add_epi32(p_lo, p_hi));
                }
            }
            for ((acc, dd), sumi) in acc.iter_mut().zip(dd).zip(sumi) {
                *acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd), _mm256_cvtepi32_ps(sumi), *acc);
            }
        }
        let mut out = [0.0f32; T];
        for ((o, acc), acc_m) in out.iter_mut().zip(acc).zip(acc_m) {
            // The min lanes summed as (0+2)+(1+3).
            let m2 = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
            *o = hsum(acc) - _mm_cvtss_f32(_mm_add_ss(m2, _mm_movehdup_ps(m2)));
        }
        out
    }
}

/// `pshufb` indices giving, per 32-element group `g` of a Q6_K super-block, the scale of its
/// first 16 elements (`2g`) in bytes 0..8 and of its last 16 (`2g + 1`) in bytes 8..16.
const SCALE_PAIRS: [[u8; 16]; 8] = {
    let mut t = [[0u8; 16]; 8];
    let mut g = 0;
    while g < 8 {
        let mut b = 0;
        while b < 16 {
            t[g][b] = (2 * g + b / 8) as u8;
            b += 1;
        }
        g += 1;
    }
    t
};

/// Q6_K x Q8_K over `nb` super-blocks. The unsigned 6-bit quants (0..63) go through `maddubs`;
/// the offset 32 is taken off once per super-block as `32 sum_i sc_i bsum_i`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6_k_q8_k<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    // SAFETY: `w` and each `act` hold `nb` super-blocks; every read stays inside block `i`.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); T];
        let mask = _mm256_set1_epi8(0x0F);
        for i in 0..nb {
            let bw = w.as_ptr().add(i * q6_k::BLOCK_BYTES);
            let sc = bw.add(q6_k::SCALES) as *const i8;
            let scales = _mm_loadu_si128(sc as *const __m128i);
            let mut sumi = [_mm256_setzero_si256(); T];
            for h in 0..2 {
                let ql0 = load32(bw.add(64 * h));
                let ql1 = load32(bw.add(64 * h + 32));
                let qh = load32(bw.add(q6_k::QH + 32 * h));
                let q = [
                    _mm256_or_si256(
                        _mm256_and_si256(ql0, mask),
                        _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x03)), 4),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(ql1, mask),
                        _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x0C)), 2),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(ql0, 4), mask),
                        _mm256_and_si256(qh, _mm256_set1_epi8(0x30)),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(ql1, 4), mask),
                        _mm256_srli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0xC0u8 as i8)), 2),
                    ),
                ];
                for (k, &qk) in q.iter().enumerate() {
                    let pick = _mm_loadu_si128(SCALE_PAIRS[4 * h + k].as_ptr() as *const __m128i);
                    let scale = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick));
                    for (sumi, a) in sumi.iter_mut().zip(act) {
                        let q8 = a
                            .as_ptr()
                            .add(i * q8_k::BLOCK_BYTES + q8_k::QS + 128 * h + 32 * k);
                        let p = _mm256_madd_epi16(_mm256_maddubs_epi16(qk, load32(q8)), scale);
                        *sumi = _mm256_add_epi32(*sumi, p);
                    }
                }
            }
            let sc16 = _mm256_cvtepi8_epi16(scales);
            // Integer-only f16 conversion, once per super-block (see `f16x4`).
            let dw = half::f16::from_bits(u16_at(bw.add(q6_k::D)) as u16).to_f32_const();
            for ((acc, sumi), a) in acc.iter_mut().zip(sumi).zip(act) {
                let ba = a.as_ptr().add(i * q8_k::BLOCK_BYTES);
                let bsums = load32(ba.add(q8_k::BSUMS));
                let offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, sc16), 5);
                let sumi = _mm256_sub_epi32(sumi, offset);
                let d = _mm256_set1_ps((ba as *const f32).read_unaligned() * dw);
                *acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), *acc);
            }
        }
        per_token(acc, |a| hsum(a))
    }
}

/// Eight weights at `p` (element size 4, 2 or 2 bytes for `KIND` 0 = f32, 1 = f16, 2 = bf16)
/// as f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load8<const KIND: u8>(p: *const u8) -> __m256 {
    // SAFETY: the caller guarantees 8 readable elements at `p`.
    unsafe {
        match KIND {
            0 => _mm256_loadu_ps(p as *const f32),
            1 => _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)),
            _ => {
                let wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(p as *const __m128i));
                _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16))
            }
        }
    }
}

/// `sum_i w[i] a[i]` of `n` float weights (`size` bytes each, decoded per `KIND` as in
/// [`load8`]) and `n` f32 activations: four 8-lane FMA accumulators over 32-element steps, one
/// over the remaining 8-element steps, the last `n % 8` products added in order.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_float<const KIND: u8>(w: &[u8], act: &[u8], n: usize) -> f32 {
    let size = if KIND == 0 { 4 } else { 2 };
    // SAFETY: `w` holds `n` weights and `act` `n` f32 values; reads stay below `n`.
    unsafe {
        let (wp, ap) = (w.as_ptr(), act.as_ptr() as *const f32);
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (k, a) in acc.iter_mut().enumerate() {
                let j = i + 8 * k;
                *a = _mm256_fmadd_ps(
                    load8::<KIND>(wp.add(j * size)),
                    _mm256_loadu_ps(ap.add(j)),
                    *a,
                );
            }
            i += 32;
        }
        let mut v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        while i + 8 <= n {
            v = _mm256_fmadd_ps(
                load8::<KIND>(wp.add(i * size)),
                _mm256_loadu_ps(ap.add(i)),
                v,
            );
            i += 8;
        }
        let mut sum = hsum(v);
        let mut tail = [0.0f32; 8];
        let mut wt = [0u8; 32];
        let rest = n - i;
        core::ptr::copy_nonoverlapping(wp.add(i * size), wt.as_mut_ptr(), rest * size);
        core::ptr::copy_nonoverlapping(ap.add(i), tail.as_mut_ptr(), rest);
        let mut prods = [0.0f32; 8];
        _mm256_storeu_ps(
            prods.as_mut_ptr(),
            _mm256_mul_ps(load8::<KIND>(wt.as_ptr()), _mm256_loadu_ps(tail.as_ptr())),
        );
        for p in &prods[..rest] {
            sum += p;
        }
        sum
    }
}

/// F32 weights x f32 activations over `n` elements.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_f32(w: &[u8], act: &[u8], n: usize) -> f32 {
    // SAFETY: forwarded contract.
    unsafe { dot_float::<0>(w, act, n) }
}

/// F16 weights x f32 activations over `n` elements.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_f16(w: &[u8], act: &[u8], n: usize) -> f32 {
    // SAFETY: forwarded contract.
    unsafe { dot_float::<1>(w, act, n) }
}

/// BF16 weights x f32 activations over `n` elements.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_bf16(w: &[u8], act: &[u8], n: usize) -> f32 {
    // SAFETY: forwarded contract.
    unsafe { dot_float::<2>(w, act, n) }
}
