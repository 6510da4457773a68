//! CPU kernels: matrix products against GGUF weights (an exact f32 path and a fast path with
//! 8-bit activation blocks), RMS norm, rotary position embedding, SwiGLU, softmax, attention
//! with an arbitrary mask and the cross-entropy loss.
//!
//! Training's backward lives beside each forward, in the same file and over the same helpers
//! (as llm.c's `train_gpt2.c` pairs `*_forward` with `*_backward`): `rms_norm_backward`,
//! `swiglu_backward`, `softmax_backward`, `Rope::apply_backward`, `attention_row_backward` and
//! `cross_entropy_backward`. Each recomputes what it needs from the forward's inputs with the
//! forward's own code, so the gradient is that of the function the forward computes. Weight
//! gradients (and attention's key and value gradients) are accumulated (`+=`), input gradients
//! are written.
//!
//! Every kernel is row-independent: a token's output depends only on its own input row (and, for
//! attention, on the cache slots it may see), computed with one fixed accumulation order. So a
//! token gives the same bits alone, inside a prefill batch, or inside a masked tree batch.
//!
//! Under `std` the matrix products run on the current rayon pool and the exact path uses
//! `matrixmultiply::sgemm`; without `std` the same per-chunk code runs in a plain loop.

pub mod activation;
pub mod attention;
pub mod f16_rows;
pub mod gemm;
pub mod loss;
pub mod matmul;
pub mod norm;
pub mod range_finder;
pub mod rope;

use crate::tensor::quant;

/// Dot product of two equally long f32 slices, accumulated in eight interleaved lanes
/// (lane `i` sums the products at indices `i mod 8`), the lanes then summed pairwise and the
/// tail (`len mod 8` products) added last.
///
/// The order is fixed by the length alone, so the result is reproducible bit for bit; the
/// eight independent lanes let the compiler keep them in one SIMD register.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    const LANES: usize = 8;
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Deterministic pseudo-random numbers for the kernel tests (xorshift64*).
#[cfg(test)]
pub(crate) struct TestRng(u64);

#[cfg(test)]
impl TestRng {
    pub(crate) fn new(seed: u64) -> Self {
        TestRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    pub(crate) fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    pub(crate) fn vec(&mut self, n: usize) -> alloc::vec::Vec<f32> {
        (0..n).map(|_| self.uniform()).collect()
    }
}

/// `<a, b>` accumulated in f64: the scalar loss `L = <r, f(x)>` of the gradient tests.
#[cfg(test)]
pub(crate) fn dot64(a: &[f32], b: &[f32]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// Checks a backward kernel against central differences along one random direction.
///
/// `grad` is the backward's gradient of the scalar `loss` at `x`. A direction `v` (uniform in
/// [-1, 1) per element) is drawn from `rng`, and `x± = x ± h v` are rounded to f32 (as the
/// kernel sees them). The analytic change `<grad, x+ - x->` must match the central difference
/// `L(x+) - L(x-)` (both divided by `2h`: the directional derivative along `v`) to
/// `|analytic - numeric| <= rtol * max(|analytic|, |numeric|, |grad| |v| / sqrt(n))`. The last
/// term, the typical size of `<grad, v>` for a random `v`, keeps a direction that happens to be
/// nearly orthogonal to the gradient from turning the f32 rounding of `L` into a large relative
/// error; a wrong gradient term still moves `<grad, v>` by about that much. Returns the error.
#[cfg(test)]
pub(crate) fn check_directional(
    rng: &mut TestRng,
    what: &str,
    x: &[f32],
    grad: &[f32],
    h: f32,
    rtol: f64,
    loss: impl Fn(&[f32]) -> f64,
) -> f64 {
    assert_eq!(x.len(), grad.len(), "{what}");
    let v = rng.vec(x.len());
    let shifted = |sign: f32| -> alloc::vec::Vec<f32> {
        x.iter().zip(&v).map(|(&a, &d)| a + sign * h * d).collect()
    };
    let (plus, minus) = (shifted(1.0), shifted(-1.0));
    let two_h = 2.0 * h as f64;
    let analytic: f64 = grad
        .iter()
        .zip(plus.iter().zip(&minus))
        .map(|(&g, (&p, &m))| g as f64 * (p as f64 - m as f64))
        .sum::<f64>()
        / two_h;
    let numeric = (loss(&plus) - loss(&minus)) / two_h;
    let typical = crate::math::sqrt(dot64(grad, grad) * dot64(&v, &v) / x.len().max(1) as f64);
    let size = analytic.abs().max(numeric.abs()).max(typical);
    let err = (analytic - numeric).abs() / size.max(f64::MIN_POSITIVE);
    assert!(
        err <= rtol,
        "{what}: <grad, v> = {analytic}, central difference {numeric}, typical size {typical} \
         (relative error {err:.2e} > {rtol:.0e})"
    );
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_f64_for_every_tail_length() {
        let mut rng = TestRng::new(1);
        for len in [0, 1, 7, 8, 9, 64, 100, 577] {
            let a = rng.vec(len);
            let b = rng.vec(len);
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let got = dot(&a, &b) as f64;
            let scale: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (*x as f64 * *y as f64).abs())
                .sum();
            assert!(
                (got - exact).abs() <= 1e-6 * scale.max(1.0),
                "len {len}: {got} vs {exact}"
            );
        }
    }
}
