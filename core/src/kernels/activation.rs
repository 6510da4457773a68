//! Element-wise activations and the softmax.

use crate::math::expf;

/// SwiGLU (Shazeer 2020) as LLaMA's feed-forward uses it: `out[i] = silu(gate[i]) * up[i]`
/// with `silu(g) = g / (1 + e^-g)`. All three slices must have the same length.
pub fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    debug_assert!(gate.len() == up.len() && gate.len() == out.len());
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = g / (1.0 + expf(-g)) * u;
    }
}

/// Softmax in place: `x[i] = e^(x[i] - max) / Σ_j e^(x[j] - max)`, the sum accumulated in f64 in
/// index order. `-inf` entries get probability 0; if every entry is `-inf` (all equal), the result
/// is the uniform distribution, the limit of equal logits. An empty slice is left alone.
pub fn softmax_inplace(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        let p = 1.0 / x.len() as f32;
        x.iter_mut().for_each(|v| *v = p);
        return;
    }
    let mut sum = 0f64;
    for v in x.iter_mut() {
        *v = expf(*v - max);
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    x.iter_mut().for_each(|v| *v *= inv);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::TestRng;
    use alloc::vec::Vec;

    #[test]
    fn swiglu_matches_f64() {
        let mut rng = TestRng::new(3);
        let g: Vec<f32> = rng.vec(1000).iter().map(|v| v * 12.0).collect();
        let u = rng.vec(1000);
        let mut out = alloc::vec![0f32; 1000];
        swiglu(&g, &u, &mut out);
        for i in 0..1000 {
            let gd = g[i] as f64;
            let want = gd / (1.0 + (-gd).exp()) * u[i] as f64;
            assert!(
                (out[i] as f64 - want).abs() <= 1e-6 * want.abs().max(1e-6),
                "{i}"
            );
        }
    }

    #[test]
    fn softmax_matches_f64() {
        let mut rng = TestRng::new(4);
        for len in [1, 3, 100, 49152] {
            let x: Vec<f32> = rng.vec(len).iter().map(|v| v * 20.0).collect();
            let mut p = x.clone();
            softmax_inplace(&mut p);
            let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let z: f64 = x.iter().map(|&v| (v as f64 - m).exp()).sum();
            let total: f64 = p.iter().map(|&v| v as f64).sum();
            assert!((total - 1.0).abs() < 1e-5, "len {len}: sums to {total}");
            for i in 0..len {
                let want = (x[i] as f64 - m).exp() / z;
                assert!(
                    (p[i] as f64 - want).abs() <= 1e-6 * want + 1e-12,
                    "len {len} i {i}"
                );
            }
        }
    }

    #[test]
    fn softmax_masked_and_degenerate_rows() {
        let mut x = [0.0, f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY];
        softmax_inplace(&mut x);
        assert_eq!(x, [0.5, 0.0, 0.5, 0.0]);
        let mut x = [f32::NEG_INFINITY; 4];
        softmax_inplace(&mut x);
        assert_eq!(x, [0.25; 4]);
        // Large logits do not overflow.
        let mut x = [1000.0, 1000.0];
        softmax_inplace(&mut x);
        assert_eq!(x, [0.5, 0.5]);
        let mut empty: [f32; 0] = [];
        softmax_inplace(&mut empty);
    }
}
