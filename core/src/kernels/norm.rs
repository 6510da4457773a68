//! Root-mean-square layer normalization (Zhang & Sennrich 2019), as LLaMA and Qwen2 use it, and
//! its backward.

/// The row's normalizing scale `s = 1 / sqrt(mean(x²) + eps)`: the sum of squares accumulated in
/// f64 in index order (as ggml does), the mean rounded to f32 and the scale formed in f32. The
/// one reduction both [`rms_norm`] and [`rms_norm_backward`] use. `x` must not be empty.
fn inv_rms(x: &[f32], eps: f32) -> f32 {
    let sum_sq: f64 = x.iter().map(|&v| v as f64 * v as f64).sum();
    let mean = (sum_sq / x.len() as f64) as f32;
    1.0 / crate::math::sqrtf(mean + eps)
}

/// One row: `out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i]`.
///
/// The scale `1 / sqrt(mean + eps)` comes from one f64 sum of squares in index order (see
/// [`rms_norm_backward`], which shares it). All three slices must have the same length.
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    debug_assert!(x.len() == weight.len() && x.len() == out.len());
    if x.is_empty() {
        return;
    }
    let scale = inv_rms(x, eps);
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(weight) {
        *o = v * scale * g;
    }
}

/// Backward of [`rms_norm`] for one row. With `y_i = x_i s w_i`, `s = (mean(x²) + eps)^(-1/2)`,
/// `n = len` and the incoming gradient `g = dout = ∂L/∂y`:
///
/// ```text
/// ∂L/∂x_j  = s w_j g_j − x_j (s³ / n) Σ_i g_i w_i x_i      (written to dx)
/// ∂L/∂w_i += g_i x_i s                                      (accumulated into dweight)
/// ```
///
/// (`∂s/∂x_j = −s³ x_j / n`.) `s` is recomputed with the forward's own reduction; the sum
/// `Σ_i g_i w_i x_i` is accumulated in f64 in index order. `dweight` is accumulated so that the
/// rows of a batch sum into one gradient. All slices must have the same length.
pub fn rms_norm_backward(
    x: &[f32],
    weight: &[f32],
    eps: f32,
    dout: &[f32],
    dx: &mut [f32],
    dweight: &mut [f32],
) {
    let n = x.len();
    debug_assert!(weight.len() == n && dout.len() == n && dx.len() == n && dweight.len() == n);
    if n == 0 {
        return;
    }
    let s = inv_rms(x, eps);
    let gwx: f64 = dout
        .iter()
        .zip(weight)
        .zip(x)
        .map(|((&g, &w), &v)| g as f64 * w as f64 * v as f64)
        .sum();
    // k = (s² / n) Σ g w x, so that ∂L/∂x_j = s (w_j g_j − x_j k).
    let k = (s as f64 * s as f64 * gwx / n as f64) as f32;
    for (((d, dw), (&v, &w)), &g) in dx
        .iter_mut()
        .zip(dweight)
        .zip(x.iter().zip(weight))
        .zip(dout)
    {
        *d = s * (w * g - v * k);
        *dw += g * v * s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{check_directional, dot64, TestRng};
    use alloc::format;
    use alloc::vec;
    use alloc::vec::Vec;

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

    /// `L = <r, rms_norm(x, w)>` in f64.
    fn loss(x: &[f32], w: &[f32], eps: f32, r: &[f32]) -> f64 {
        let mut y = vec![0f32; x.len()];
        rms_norm(x, w, eps, &mut y);
        dot64(r, &y)
    }

    #[test]
    fn backward_matches_central_differences() {
        // h = 1e-2 on inputs of scale ~1 (x scaled by 3); relative tolerance 1e-3. A single
        // element normalizes to ±w, flat unless eps is comparable to x², hence eps 0.5 there.
        let mut rng = TestRng::new(8);
        for (len, eps) in [(1, 0.5), (7, 1e-6), (64, 1e-5), (577, 1e-6)] {
            for _ in 0..3 {
                let x: Vec<f32> = rng.vec(len).iter().map(|v| v * 3.0).collect();
                let w: Vec<f32> = rng.vec(len).iter().map(|v| v + 0.5).collect();
                let r = rng.vec(len);
                let (mut dx, mut dw) = (vec![0f32; len], vec![0f32; len]);
                rms_norm_backward(&x, &w, eps, &r, &mut dx, &mut dw);
                let what = format!("len {len} dx");
                check_directional(&mut rng, &what, &x, &dx, 1e-2, 1e-3, |x| {
                    loss(x, &w, eps, &r)
                });
                let what = format!("len {len} dweight");
                check_directional(&mut rng, &what, &w, &dw, 1e-2, 1e-3, |w| {
                    loss(&x, w, eps, &r)
                });
            }
        }
    }

    #[test]
    fn backward_accumulates_dweight_and_is_scale_invariant() {
        let mut rng = TestRng::new(9);
        let len = 96;
        let x: Vec<f32> = rng.vec(len).iter().map(|v| v * 2.0).collect();
        let w = rng.vec(len);
        let r = rng.vec(len);
        let (mut dx, mut dw) = (vec![0f32; len], vec![0f32; len]);
        rms_norm_backward(&x, &w, 0.0, &r, &mut dx, &mut dw);
        // With eps = 0 the output does not change when x is scaled, so the gradient is
        // orthogonal to x: <dx, x> = 0 (the s³ term cancels the first exactly).
        let along_x = dot64(&dx, &x);
        let scale = dot64(&dx, &dx).sqrt() * dot64(&x, &x).sqrt();
        assert!(along_x.abs() <= 1e-6 * scale, "<dx, x> = {along_x}");
        // dweight is accumulated: a second row adds on top of the first.
        let start: Vec<f32> = rng.vec(len);
        let mut acc = start.clone();
        rms_norm_backward(&x, &w, 0.0, &r, &mut dx, &mut acc);
        for i in 0..len {
            assert!((acc[i] - (start[i] + dw[i])).abs() <= 1e-6, "dweight[{i}]");
        }
    }
}
