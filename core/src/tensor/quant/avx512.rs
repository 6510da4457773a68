//! x86-64 AVX-512 (F, BW, VL) + VNNI versions of the quantized dot products.
//!
//! Same block arithmetic as the portable and AVX2 kernels (exact integer sums per block, one
//! float scale product per block), on 64-byte vectors:
//! - the 32-element types (Q4_0, Q4_1, Q5_0, Q8_0) take two blocks per vector (block `i` in
//!   lanes 0..8 of the i32/f32 vectors, block `i + 1` in lanes 8..16; an odd last block leaves
//!   the upper half zero), and sum 4-byte groups with one `vpdpbusd` (unsigned x signed bytes
//!   -> i32, no intermediate saturation); signed weights give their sign to the activations
//!   first (`|w| * (sign(w) a)`, the AVX2 kernels' `sign` trick, with a byte mask);
//! - the K-quants (Q4_K, Q6_K) take 64 elements per vector: `maddubs` (unsigned quants x
//!   signed activations -> i16 pairs, which cannot saturate: 2 * 63 * 127 < 2^15) and
//!   `vpdpwssd` (i16 pairs x i16 sub-block scales, accumulated in i32).
//!
//! Each block's (or super-block's) i32 lanes are converted to f32 and accumulated with one FMA
//! by the scale product into 16 lanes, reduced at the end as `(lanes 0..8 + lanes 8..16)` and
//! then in [`super::avx2::hsum`]'s pairwise order. The f32 accumulation order therefore differs
//! from the portable and AVX2 kernels (the tests bound the difference); for the same level the
//! four-token kernel performs, per token, exactly the single kernel's float operations, so its
//! results are bit-identical to it.
//!
//! Every `unsafe fn` here requires AVX-512 F/BW/VL, AVX-512 VNNI, AVX2, FMA and F16C; the safe
//! wrappers are handed out only through [`super::vec_dot_fn_at`] / [`super::vec_dot_x4_fn_at`],
//! which check that the CPU reaches [`super::SimdLevel::Avx512`]. The float weight types keep
//! the AVX2 kernels at this level.

use super::avx2::{f16x4, hsum, load32, nibbles, per_token, u16_at};
use super::{q4_0, q4_1, q4_k, q5_0, q6_k, q8_0, q8_1, q8_k, VecDotFn, VecDotX4Fn};
use crate::tensor::GgmlType;
use core::arch::x86_64::*;

quant_kernels!();

/// The AVX-512 kernel for quantized `weight`, if one exists (the float types have none: the
/// caller falls back to the AVX2 ones).
pub(super) fn kernel(weight: GgmlType) -> Option<VecDotFn> {
    quant_kernel(weight)
}

/// The 16 lanes of `v` summed as `hsum(lanes 0..8 + lanes 8..16)`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn hsum16(v: __m512) -> f32 {
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
    // SAFETY: same target features as the caller.
    unsafe { hsum(_mm256_add_ps(_mm512_castps512_ps256(v), hi)) }
}

/// i32 (or f32) lane indices: `a` in lanes 0..8, `b` in lanes 8..16.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
fn halves_epi32(a: i32, b: i32) -> __m512i {
    _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(a), _mm512_set1_epi32(b))
}

/// i16 lanes: `a` in lanes 0..16, `b` in lanes 16..32.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
fn halves_epi16(a: i16, b: i16) -> __m512i {
    _mm512_mask_blend_epi16(0xFFFF_0000, _mm512_set1_epi16(a), _mm512_set1_epi16(b))
}

/// `lo` in the low 32 bytes, `hi` in the high 32.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
fn join(lo: __m256i, hi: __m256i) -> __m512i {
    _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi)
}

/// The 32 bytes at `a` and, when `b` is given, the 32 at `b` (zeros otherwise).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn load_pair(a: *const u8, b: Option<*const u8>) -> __m512i {
    // SAFETY: the caller guarantees 32 readable bytes at `a` and at `b`.
    unsafe {
        let hi = match b {
            Some(b) => load32(b),
            None => _mm256_setzero_si256(),
        };
        join(load32(a), hi)
    }
}

/// 64 bytes at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn load64(p: *const u8) -> __m512i {
    // SAFETY: the caller guarantees 64 readable bytes at `p`.
    unsafe { _mm512_loadu_si512(p.cast()) }
}

/// Signed weight bytes `x` in the form [`dot_signed`] takes: `|x|` (as unsigned bytes; -128
/// becomes 128) and the mask of the negative ones.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
fn signed(x: __m512i) -> (__m512i, __mmask64) {
    (_mm512_abs_epi8(x), _mm512_movepi8_mask(x))
}

/// `sum x_j y_j` over each 4-byte group, as 16 i32 lanes, for signed weights `x` given by
/// [`signed`] and signed activations `y` (|y| <= 127, so that `-y` fits): `|x| * (sign(x) y)`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
fn dot_signed((ax, neg): (__m512i, __mmask64), y: __m512i) -> __m512i {
    let sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
    _mm512_dpbusd_epi32(_mm512_setzero_si512(), ax, sy)
}

/// The f16 scales of blocks `i` and `i + 1` at `p` and `p + stride` as the low and high halves of
/// a u32 (0 for a block `i + 1` that does not exist).
#[inline(always)]
unsafe fn scale_pair(p: *const u8, stride: usize, two: bool) -> u64 {
    // SAFETY: the caller guarantees 2 readable bytes at `p`, and at `p + stride` when `two`.
    unsafe { u16_at(p) | if two { u16_at(p.add(stride)) << 16 } else { 0 } }
}

/// Scale products of a pair of 32-element blocks for `T` (at most 4) tokens: `w` holds the
/// weight blocks' f16 `d_w,i | d_w,i+1 << 16`, `a[t]` token `t`'s `d_a,i | d_a,i+1 << 16`;
/// result `t` has `d_w,i d_a,i` in lanes 0..8 and `d_w,i+1 d_a,i+1` in lanes 8..16. For
/// several tokens all products come from one conversion and one multiply; each is the same
/// single f32 product however it is formed.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn pair_scales<const T: usize>(w: u64, a: [u64; T]) -> [__m512; T] {
    const { assert!(T <= 4) };
    // SAFETY: register-only operations under the caller's target features.
    unsafe {
        let mut out = [_mm512_setzero_ps(); T];
        if T == 1 {
            // [w0, w1, a0, a1] -> [w0 a0, w1 a1, ..]
            let s = f16x4(w | a[0] << 32);
            let p = _mm_mul_ps(s, _mm_movehl_ps(s, s));
            out[0] = _mm512_permutexvar_ps(halves_epi32(0, 1), _mm512_castps128_ps512(p));
            return out;
        }
        let mut bits = _mm_setzero_si128();
        for (t, &v) in a.iter().enumerate() {
            let v = v as i32;
            bits = match t {
                0 => _mm_insert_epi32::<0>(bits, v),
                1 => _mm_insert_epi32::<1>(bits, v),
                2 => _mm_insert_epi32::<2>(bits, v),
                _ => _mm_insert_epi32::<3>(bits, v),
            };
        }
        // Lanes 2t, 2t + 1: token t's two products.
        let p = _mm256_mul_ps(
            _mm256_cvtph_ps(_mm_set1_epi32(w as i32)),
            _mm256_cvtph_ps(bits),
        );
        let p = _mm512_castps256_ps512(p);
        for (t, o) in out.iter_mut().enumerate() {
            let t = t as i32;
            *o = _mm512_permutexvar_ps(halves_epi32(2 * t, 2 * t + 1), p);
        }
        out
    }
}

// The quantized kernels below take one weight row and `T` activation rows (`T` = 1 for the
// single dot product, 4 for the multi-token one): each weight block is unpacked once and then
// multiplied with the matching block of every activation row. Token `t`'s accumulators see
// exactly the float operations, in the same order, that they see when `T` = 1.

/// The shared frame of the 32-element kernels Q4_0, Q5_0 and Q8_0 (weights with one f16 scale
/// at offset 0, `WB` bytes per block, against Q8_0 activations): per pair of blocks `i, i + 1`,
/// `acc_t += [d_w,i d_a,i | d_w,i+1 d_a,i+1] * dot_signed(quants(i, i+1), q_a)`, where
/// `quants(bw, two)` gives the signed weight bytes of block `i` (at `bw`) in bytes 0..32 and of
/// block `i + 1` in bytes 32..64 (zeros when `two` is false).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn signed_pairs<const T: usize, const WB: usize>(
    w: &[u8],
    act: [&[u8]; T],
    nb: usize,
    quants: impl Fn(*const u8, bool) -> __m512i,
) -> [f32; T] {
    const AB: usize = q8_0::BLOCK_BYTES;
    // SAFETY: `w` and each `act` hold `nb` blocks; block `i + 1` is read only when `two`.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); T];
        for i in (0..nb).step_by(2) {
            let two = i + 1 < nb;
            let bw = w.as_ptr().add(i * WB);
            let qw = signed(quants(bw, two));
            let ba = act.map(|a| a.as_ptr().add(i * AB));
            let d = pair_scales(scale_pair(bw, WB, two), ba.map(|p| scale_pair(p, AB, two)));
            for ((acc, ba), d) in acc.iter_mut().zip(ba).zip(d) {
                let qa = load_pair(ba.add(2), two.then(|| ba.add(AB + 2)));
                *acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(dot_signed(qw, qa)), *acc);
            }
        }
        per_token(acc, |a| hsum16(a))
    }
}

/// Q4_0 x Q8_0 over `nb` blocks: quants `nib - 8`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q4_0_q8_0<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    const WB: usize = q4_0::BLOCK_BYTES;
    // SAFETY: `signed_pairs` passes a block start `bw` and reads block `i + 1` only when `two`.
    unsafe {
        signed_pairs::<T, WB>(w, act, nb, |bw, two| {
            let hi = if two {
                nibbles(bw.add(WB + 2))
            } else {
                _mm256_setzero_si256()
            };
            _mm512_sub_epi8(join(nibbles(bw.add(2)), hi), _mm512_set1_epi8(8))
        })
    }
}

/// Q5_0 x Q8_0 over `nb` blocks: quants `nib | hbit << 4` minus 16, i.e. `nib - 16` where the
/// high bit (bit `j` of `qh`, byte `j` of the block's 32) is clear and `nib` where it is set.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q5_0_q8_0<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    const WB: usize = q5_0::BLOCK_BYTES;
    // SAFETY: as in `q4_0_q8_0`.
    unsafe {
        signed_pairs::<T, WB>(w, act, nb, |bw, two| {
            let qh = |b: *const u8| (b.add(2) as *const u32).read_unaligned().to_le() as u64;
            let (high_bits, hi) = if two {
                (qh(bw) | qh(bw.add(WB)) << 32, nibbles(bw.add(WB + 6)))
            } else {
                (qh(bw), _mm256_setzero_si256())
            };
            let nib = join(nibbles(bw.add(6)), hi);
            _mm512_mask_sub_epi8(nib, !high_bits, nib, _mm512_set1_epi8(16))
        })
    }
}

/// Q8_0 x Q8_0 over `nb` blocks.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q8_0_q8_0<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    const WB: usize = q8_0::BLOCK_BYTES;
    // SAFETY: as in `q4_0_q8_0`.
    unsafe {
        signed_pairs::<T, WB>(w, act, nb, |bw, two| {
            load_pair(bw.add(2), two.then(|| bw.add(WB + 2)))
        })
    }
}

/// Q4_1 x Q8_1 over `nb` blocks (at most 4 tokens), two blocks per step. Per step the scale
/// products `[d_w d_a, m_w s_a]` of both blocks of a token are lanes `4u, 4u + 1` (block `i`)
/// and `4u + 2, 4u + 3` (block `i + 1`) of one f32 vector (`u` = 0 for one token; `t % 2` of
/// vector `t / 2` for four): the min terms of even and odd blocks accumulate in lanes `4u + 1`
/// and `4u + 3` and are added at the end, even first.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q4_1_q8_1<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    const { assert!(T <= 4) };
    const WB: usize = q4_1::BLOCK_BYTES;
    const AB: usize = q8_1::BLOCK_BYTES;
    // The [d, m] (weights) or [d, s] (activations) f16 pairs of blocks i and i + 1 at `p`.
    let scales = |p: *const u8, stride: usize, two: bool| {
        // SAFETY: `p` is a block start; block `i + 1` is read only when `two`.
        unsafe {
            let lo = (p as *const u32).read_unaligned().to_le() as u64;
            let hi = if two {
                (p.add(stride) as *const u32).read_unaligned().to_le() as u64
            } else {
                0
            };
            lo | hi << 32
        }
    };
    // SAFETY: `w` and each `act` hold `nb` blocks; block `i + 1` is read only when `two`.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); T];
        let mut mins = [_mm256_setzero_ps(); 2];
        for i in (0..nb).step_by(2) {
            let two = i + 1 < nb;
            let bw = w.as_ptr().add(i * WB);
            let sw = scales(bw, WB, two);
            let ba = act.map(|a| a.as_ptr().add(i * AB));
            // d[t]: token t's d_w d_a products of blocks i and i + 1 in the two 256-bit halves.
            let mut d = [_mm512_setzero_ps(); T];
            if T == 1 {
                let s = _mm_mul_ps(f16x4(sw), f16x4(scales(ba[0], AB, two)));
                mins[0] = _mm256_add_ps(mins[0], _mm256_zextps128_ps256(s));
                d[0] = _mm512_permutexvar_ps(halves_epi32(0, 2), _mm512_castps128_ps512(s));
            } else {
                let wv = _mm256_cvtph_ps(_mm_set1_epi64x(sw as i64));
                for (u, mins) in mins.iter_mut().enumerate().take(T.div_ceil(2)) {
                    let pick = |t: usize| {
                        if t < T {
                            scales(ba[t], AB, two) as i64
                        } else {
                            0
                        }
                    };
                    let av = _mm256_cvtph_ps(_mm_set_epi64x(pick(2 * u + 1), pick(2 * u)));
                    let s = _mm256_mul_ps(wv, av);
                    *mins = _mm256_add_ps(*mins, s);
                    let s = _mm512_castps256_ps512(s);
                    d[2 * u] = _mm512_permutexvar_ps(halves_epi32(0, 2), s);
                    if 2 * u + 1 < T {
                        d[2 * u + 1] = _mm512_permutexvar_ps(halves_epi32(4, 6), s);
                    }
                }
            }
            let nw = join(
                nibbles(bw.add(4)),
                if two {
                    nibbles(bw.add(WB + 4))
                } else {
                    _mm256_setzero_si256()
                },
            );
            for ((acc, ba), d) in acc.iter_mut().zip(ba).zip(d) {
                let qa = load_pair(ba.add(4), two.then(|| ba.add(AB + 4)));
                let sumi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), nw, qa);
                *acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sumi), *acc);
            }
        }
        let mut m = [[0.0f32; 8]; 2];
        for (m, v) in m.iter_mut().zip(mins) {
            _mm256_storeu_ps(m.as_mut_ptr(), v);
        }
        let mut out = [0.0f32; T];
        for (t, (o, acc)) in out.iter_mut().zip(acc).enumerate() {
            let (v, u) = (&m[t / 2], 4 * (t % 2));
            *o = hsum16(acc) + (v[u + 1] + v[u + 3]);
        }
        out
    }
}

/// Q4_K x Q8_K over `nb` super-blocks: per 64 elements (sub-blocks `2c`, `2c + 1`: the low and
/// high nibbles of quant chunk `c`) one `maddubs` against the activations and one `vpdpwssd`
/// by the two sub-block scales; the min terms come from the activation block sums, as in the
/// AVX2 kernel.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q4_k_q8_k<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    // SAFETY: `w` and each `act` hold `nb` super-blocks; every read stays inside block `i`.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); T];
        let mut acc_m = [_mm_setzero_ps(); T];
        let mask = _mm256_set1_epi8(0x0F);
        for i in 0..nb {
            let bw = w.as_ptr().add(i * q4_k::BLOCK_BYTES);
            let packed = core::slice::from_raw_parts(bw.add(q4_k::SCALES), 12);
            let (sc, m) = q4_k::scales_mins(packed);
            let dw = f16x4(u16_at(bw) | u16_at(bw.add(2)) << 16);
            let mins = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(i64::from_le_bytes(m)));
            let sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(
                i64::from_le_bytes(sc),
            )));
            let mut q = [_mm512_setzero_si512(); 4];
            let mut s = [_mm512_setzero_si512(); 4];
            for (c, (q, s)) in q.iter_mut().zip(s.iter_mut()).enumerate() {
                let q4 = load32(bw.add(q4_k::QS + 32 * c));
                let lo = _mm256_and_si256(q4, mask);
                *q = join(lo, _mm256_and_si256(_mm256_srli_epi16(q4, 4), mask));
                let c = c as i16;
                *s = _mm512_permutexvar_epi16(halves_epi16(2 * c, 2 * c + 1), sc16);
            }
            for ((acc, acc_m), a) in acc.iter_mut().zip(acc_m.iter_mut()).zip(act) {
                let ba = a.as_ptr().add(i * q8_k::BLOCK_BYTES);
                // [d, dmin] * d_a
                let dd = _mm_mul_ps(dw, _mm_set1_ps((ba as *const f32).read_unaligned()));
                // Min terms: m_j * (bsum_2j + bsum_2j+1), four i32 lanes.
                let bsums = load32(ba.add(q8_k::BSUMS));
                let pairs = _mm_hadd_epi16(
                    _mm256_castsi256_si128(bsums),
                    _mm256_extracti128_si256(bsums, 1),
                );
                let summ = _mm_cvtepi32_ps(_mm_madd_epi16(mins, pairs));
                *acc_m = _mm_fmadd_ps(_mm_permute_ps(dd, 0b01_01_01_01), summ, *acc_m);
                let mut sumi = _mm512_setzero_si512();
                for (c, (&q, &s)) in q.iter().zip(&s).enumerate() {
                    let q8 = load64(ba.add(q8_k::QS + 64 * c));
                    sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q, q8), s);
                }
                *acc = _mm512_fmadd_ps(_mm512_broadcastss_ps(dd), _mm512_cvtepi32_ps(sumi), *acc);
            }
        }
        let mut out = [0.0f32; T];
        for ((o, acc), acc_m) in out.iter_mut().zip(acc).zip(acc_m) {
            // The min lanes summed as (0+2)+(1+3).
            let m2 = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
            *o = hsum16(acc) - _mm_cvtss_f32(_mm_add_ss(m2, _mm_movehdup_ps(m2)));
        }
        out
    }
}

/// Q6_K x Q8_K over `nb` super-blocks. Per half `h` of 128 elements, the 64 bytes of `ql` give
/// elements `0..64` (low nibbles) and `64..128` (high nibbles) of the half, each with two bits
/// of `qh` shifted per 32-byte lane; the unsigned 6-bit quants (0..63) go through `maddubs` and
/// `vpdpwssd` by the 16-element sub-block scales, and the offset 32 is taken off once per
/// super-block as `32 sum_i sc_i bsum_i`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn q6_k_q8_k<const T: usize>(w: &[u8], act: [&[u8]; T], nb: usize) -> [f32; T] {
    // SAFETY: `w` and each `act` hold `nb` super-blocks; every read stays inside block `i`.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); T];
        let mask = _mm512_set1_epi8(0x0F);
        let two_bits = _mm512_set1_epi8(0x03);
        // Shift counts taking bits 2k, 2k + 1 of qh to the bottom: k = 0, 1 and k = 2, 3.
        let shifts = [halves_epi16(0, 2), halves_epi16(4, 6)];
        for i in 0..nb {
            let bw = w.as_ptr().add(i * q6_k::BLOCK_BYTES);
            let sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(bw.add(q6_k::SCALES).cast()));
            let sc512 = _mm512_castsi256_si512(sc);
            // q[2h + g]: elements 128h + 64g .. + 64; scale[2h + g]: their sub-block scales
            // (sub-block 8h + 4g + p / 8 for i16 pair lane p).
            let mut q = [_mm512_setzero_si512(); 4];
            let mut scale = [_mm512_setzero_si512(); 4];
            for h in 0..2 {
                let ql = load64(bw.add(64 * h));
                let qh = _mm512_broadcast_i64x4(load32(bw.add(q6_k::QH + 32 * h)));
                for g in 0..2 {
                    let nib = if g == 0 {
                        _mm512_and_si512(ql, mask)
                    } else {
                        _mm512_and_si512(_mm512_srli_epi16::<4>(ql), mask)
                    };
                    let hi = _mm512_and_si512(_mm512_srlv_epi16(qh, shifts[g]), two_bits);
                    q[2 * h + g] = _mm512_or_si512(nib, _mm512_slli_epi16::<4>(hi));
                    let base = (8 * h + 4 * g) as i16;
                    let idx = _mm512_add_epi16(
                        _mm512_set1_epi16(base),
                        _mm512_srli_epi16::<3>(_mm512_set_epi16(
                            31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14,
                            13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
                        )),
                    );
                    scale[2 * h + g] = _mm512_permutexvar_epi16(idx, sc512);
                }
            }
            // Integer-only f16 conversion, once per super-block (see `f16x4`).
            let dw = half::f16::from_bits(u16_at(bw.add(q6_k::D)) as u16).to_f32_const();
            for (acc, a) in acc.iter_mut().zip(act) {
                let ba = a.as_ptr().add(i * q8_k::BLOCK_BYTES);
                let mut sumi = _mm512_setzero_si512();
                for (k, (&q, &s)) in q.iter().zip(&scale).enumerate() {
                    let q8 = load64(ba.add(q8_k::QS + 64 * k));
                    sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q, q8), s);
                }
                let bsums = load32(ba.add(q8_k::BSUMS));
                let offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, sc), 5);
                let sumi = _mm512_sub_epi32(sumi, _mm512_zextsi256_si512(offset));
                let d = _mm512_set1_ps((ba as *const f32).read_unaligned() * dw);
                *acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sumi), *acc);
            }
        }
        per_token(acc, |a| hsum16(a))
    }
}
