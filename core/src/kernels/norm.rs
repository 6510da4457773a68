//! Root-mean-square layer normalization (Zhang & Sennrich 2019), as LLaMA and Qwen2 use it.

/// One row: `out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i]`.
///
/// The sum of squares is accumulated in f64 in index order (as ggml does), then the scale
/// `1 / sqrt(mean + eps)` is formed in f32. All three slices must have the same length.
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    debug_assert!(x.len() == weight.len() && x.len() == out.len());
    if x.is_empty() {
        return;
    }
    let sum_sq: f64 = x.iter().map(|&v| v as f64 * v as f64).sum();
    let mean = (sum_sq / x.len() as f64) as f32;
    let scale = 1.0 / crate::math::sqrtf(mean + eps);
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(weight) {
        *o = v * scale * g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::TestRng;
    use alloc::vec;

    #[test]
    fn matches_f64_reference() {
        let mut rng = TestRng::new(7);
        for len in [1, 5, 576, 896] {
            let x: alloc::vec::Vec<f32> = rng.vec(len).iter().map(|v| v * 3.0).collect();
            let w = rng.vec(len);
            let eps = 1e-5;
            let mut out = vec![0f32; len];
            rms_norm(&x, &w, eps, &mut out);
            let ms: f64 = x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / len as f64;
            let s = 1.0 / (ms + eps as f64).sqrt();
            for i in 0..len {
                let want = x[i] as f64 * s * w[i] as f64;
                assert!(
                    (out[i] as f64 - want).abs() <= 1e-6 * want.abs().max(1e-3),
                    "len {len} i {i}: {} vs {want}",
                    out[i]
                );
            }
        }
    }

    #[test]
    fn eps_dominates_a_zero_row() {
        let x = [0.0f32; 4];
        let w = [1.0f32; 4];
        let mut out = [9.0f32; 4];
        rms_norm(&x, &w, 1e-6, &mut out);
        assert_eq!(out, [0.0; 4]);
        // A constant row of value c normalizes to 1 (up to eps) times the weight.
        let x = [2.0f32; 4];
        let w = [1.0, -2.0, 0.5, 3.0];
        rms_norm(&x, &w, 0.0, &mut out);
        assert_eq!(out, w);
    }
}
