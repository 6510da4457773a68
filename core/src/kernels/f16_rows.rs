//! f16 <-> f32 row conversion for the f16 KV cache (IEEE 754 binary16).
//!
//! Widening is exact; narrowing rounds to nearest, ties to even, overflowing to ±inf (what
//! IEEE 754 `convertFormat` and llama.cpp's `GGML_FP32_TO_FP16` do). The portable conversion
//! (`half`'s software `from_f32_const` / `to_f32_const`) is the reference; on x86-64 CPUs with
//! F16C (the SIMD level of [`crate::tensor::quant::simd_level`] at AVX2 or above) eight lanes at a time go
//! through `vcvtph2ps` / `vcvtps2ph`, tested bit for bit against it.

/// The f16 type the KV cache stores (`half`'s IEEE binary16), re-exported for callers.
pub use half::f16;

/// `dst[i] = src[i]` widened to f32 (exact). The slices must be equally long.
pub fn f16_row_to_f32(src: &[f16], dst: &mut [f32]) {
    debug_assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    if has_f16c() {
        // SAFETY: the CPU has F16C (and so AVX).
        return unsafe { x86::f16_row_to_f32(src, dst) };
    }
    f16_row_to_f32_portable(src, dst);
}

/// `dst[i] = src[i]` rounded to f16, to nearest, ties to even. The slices must be equally long.
pub fn f32_row_to_f16(src: &[f32], dst: &mut [f16]) {
    debug_assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    if has_f16c() {
        // SAFETY: the CPU has F16C (and so AVX).
        return unsafe { x86::f32_row_to_f16(src, dst) };
    }
    f32_row_to_f16_portable(src, dst);
}

/// [`f16_row_to_f32`] in software: the reference.
pub fn f16_row_to_f32_portable(src: &[f16], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.to_f32_const();
    }
}

/// [`f32_row_to_f16`] in software: the reference.
pub fn f32_row_to_f16_portable(src: &[f32], dst: &mut [f16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16::from_f32_const(s);
    }
}

/// Whether the SIMD level in use (detected once, capped by `LLMCORE_SIMD`: one detection for
/// every kernel) is AVX2 or above, which includes F16C.
#[cfg(target_arch = "x86_64")]
fn has_f16c() -> bool {
    use crate::tensor::quant::{simd_level, SimdLevel};
    simd_level() >= SimdLevel::Avx2
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{f16_row_to_f32_portable, f32_row_to_f16_portable};
    use core::arch::x86_64::*;
    use half::f16;

    /// Eight lanes at a time with `vcvtph2ps`, the tail in software (same results).
    #[target_feature(enable = "avx,f16c")]
    pub(super) unsafe fn f16_row_to_f32(src: &[f16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        let body = n - n % 8;
        for i in (0..body).step_by(8) {
            // SAFETY: i + 8 <= n for both slices; unaligned loads and stores.
            unsafe {
                let h = _mm_loadu_si128(src.as_ptr().add(i).cast::<__m128i>());
                _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
            }
        }
        f16_row_to_f32_portable(&src[body..n], &mut dst[body..n]);
    }

    /// Eight lanes at a time with `vcvtps2ph` (round to nearest even), the tail in software.
    #[target_feature(enable = "avx,f16c")]
    pub(super) unsafe fn f32_row_to_f16(src: &[f32], dst: &mut [f16]) {
        let n = src.len().min(dst.len());
        let body = n - n % 8;
        for i in (0..body).step_by(8) {
            // SAFETY: i + 8 <= n for both slices; unaligned loads and stores.
            unsafe {
                let x = _mm256_loadu_ps(src.as_ptr().add(i));
                let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(x);
                _mm_storeu_si128(dst.as_mut_ptr().add(i).cast::<__m128i>(), h);
            }
        }
        f32_row_to_f16_portable(&src[body..n], &mut dst[body..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::TestRng;
    use alloc::vec;
    use alloc::vec::Vec;

    /// The same bits, or both NaN (hardware and software may quiet a NaN differently).
    fn same_f32(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn widening_matches_the_reference_for_every_f16() {
        // All 65,536 bit patterns, in rows whose length leaves a tail.
        let all: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
        for len in [65_536, 65_533] {
            let (mut fast, mut slow) = (vec![0f32; len], vec![0f32; len]);
            f16_row_to_f32(&all[..len], &mut fast);
            f16_row_to_f32_portable(&all[..len], &mut slow);
            for i in 0..len {
                assert!(same_f32(fast[i], slow[i]), "bits {i:#06x}");
            }
        }
        // Spot values of the reference itself: the largest finite, the smallest subnormal.
        assert_eq!(f16::from_bits(0x7BFF).to_f32_const(), 65504.0);
        assert_eq!(f16::from_bits(0x0001).to_f32_const(), 2f32.powi(-24));
    }

    #[test]
    fn narrowing_matches_the_reference_and_rounds_to_nearest_even() {
        let mut rng = TestRng::new(7);
        let mut x: Vec<f32> = (0..4099)
            .map(|i| {
                let r = rng.next_u64();
                match i % 3 {
                    // any bit pattern (NaN, inf, subnormals included)
                    0 => f32::from_bits(r as u32),
                    // the f16 range, where the rounding matters
                    1 => rng.uniform() * 70_000.0,
                    // exact midpoints between neighbouring f16 values
                    _ => {
                        let h = f16::from_bits((r as u16) & 0x7BFE).to_f32_const();
                        let next = f16::from_bits(((r as u16) & 0x7BFE) + 1).to_f32_const();
                        (h + next) / 2.0
                    }
                }
            })
            .collect();
        x.extend([
            65504.0,
            65520.0,
            65519.99,
            -0.0,
            1e-8,
            2f32.powi(-25),
            3.0 * 2f32.powi(-25),
        ]);
        let (mut fast, mut slow) = (vec![f16::ZERO; x.len()], vec![f16::ZERO; x.len()]);
        f32_row_to_f16(&x, &mut fast);
        f32_row_to_f16_portable(&x, &mut slow);
        for i in 0..x.len() {
            let ok =
                fast[i].to_bits() == slow[i].to_bits() || (fast[i].is_nan() && slow[i].is_nan());
            assert!(ok, "{:e} ({:#010x})", x[i], x[i].to_bits());
        }
        // Ties go to the even neighbour: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
        let tie = [1.0 + 2f32.powi(-11), 1.0 + 3.0 * 2f32.powi(-11)];
        let mut h = [f16::ZERO; 2];
        f32_row_to_f16(&tie, &mut h);
        assert_eq!(h.map(f16::to_bits), [0x3C00, 0x3C02]);
        // 65520 is halfway between 65504 and 2^16: rounds to even, i.e. overflows to inf.
        let mut h = [f16::ZERO; 1];
        f32_row_to_f16(&[65520.0], &mut h);
        assert_eq!(h[0], f16::INFINITY);
    }
}
