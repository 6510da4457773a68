//! Element-wise activations and the softmax, with their backwards.

use crate::math::expf;

/// `(silu(g), sigmoid(g))` with `d = 1 + e^-g`: `silu(g) = g / d`, `sigmoid(g) = 1 / d`. The
/// one place the SwiGLU forward and backward evaluate the gate (the forward uses the first).
#[inline(always)]
fn silu_and_sigmoid(g: f32) -> (f32, f32) {
    let d = 1.0 + expf(-g);
    (g / d, 1.0 / d)
}

/// SwiGLU (Shazeer 2020) as LLaMA's feed-forward uses it: `out[i] = silu(gate[i]) * up[i]`
/// with `silu(g) = g / (1 + e^-g)`. All three slices must have the same length.
pub fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    debug_assert!(gate.len() == up.len() && gate.len() == out.len());
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = silu_and_sigmoid(g).0 * u;
    }
}

/// Backward of [`swiglu`]: with `out = silu(g) u`, `σ = sigmoid(g)` and `silu'(g) =
/// σ (1 + g (1 − σ))`,
///
/// ```text
/// ∂L/∂g = dout · u · σ (1 + g (1 − σ))      (written to dgate)
/// ∂L/∂u = dout · silu(g)                    (written to dup)
/// ```
///
/// The gate is evaluated by the forward's own helper. All five slices must have the same length.
pub fn swiglu_backward(gate: &[f32], up: &[f32], dout: &[f32], dgate: &mut [f32], dup: &mut [f32]) {
    let n = gate.len();
    debug_assert!(up.len() == n && dout.len() == n && dgate.len() == n && dup.len() == n);
    for (((dg, du), (&g, &u)), &d) in dgate
        .iter_mut()
        .zip(dup.iter_mut())
        .zip(gate.iter().zip(up))
        .zip(dout)
    {
        let (silu, sig) = silu_and_sigmoid(g);
        *dg = d * u * (sig * (1.0 + g * (1.0 - sig)));
        *du = d * silu;
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

/// Backward of [`softmax_inplace`], given its output `probs = p` and the incoming gradient
/// `dprobs = ∂L/∂p`: the Jacobian `∂p_i/∂x_j = p_i (δ_ij − p_j)` gives
///
/// ```text
/// ∂L/∂x_i = p_i (∂L/∂p_i − Σ_j p_j ∂L/∂p_j)      (written to dlogits)
/// ```
///
/// with `Σ_j p_j ∂L/∂p_j` accumulated in f64 in index order. Entries of probability 0 (masked
/// `-inf` logits) get gradient 0. All three slices must have the same length.
pub fn softmax_backward(probs: &[f32], dprobs: &[f32], dlogits: &mut [f32]) {
    debug_assert!(probs.len() == dprobs.len() && probs.len() == dlogits.len());
    let mean = probs
        .iter()
        .zip(dprobs)
        .map(|(&p, &d)| p as f64 * d as f64)
        .sum::<f64>() as f32;
    for ((dl, &p), &d) in dlogits.iter_mut().zip(probs).zip(dprobs) {
        *dl = p * (d - mean);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{check_directional, dot64, TestRng};
    use alloc::format;
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

    /// `L = <r, swiglu(gate, up)>` in f64.
    fn swiglu_loss(gate: &[f32], up: &[f32], r: &[f32]) -> f64 {
        let mut out = alloc::vec![0f32; gate.len()];
        swiglu(gate, up, &mut out);
        dot64(r, &out)
    }

    #[test]
    fn swiglu_backward_matches_central_differences() {
        // Gates of scale 4 cover both tails and the bend of silu; h = 1e-2, relative 1e-3.
        let mut rng = TestRng::new(5);
        for (n, gscale) in [(1, 1.0), (33, 4.0), (500, 4.0), (256, 12.0)] {
            for _ in 0..3 {
                let g: Vec<f32> = rng.vec(n).iter().map(|v| v * gscale).collect();
                let u: Vec<f32> = rng.vec(n).iter().map(|v| v * 2.0).collect();
                let r = rng.vec(n);
                let (mut dg, mut du) = (alloc::vec![0f32; n], alloc::vec![0f32; n]);
                swiglu_backward(&g, &u, &r, &mut dg, &mut du);
                let what = format!("n {n} scale {gscale} dgate");
                check_directional(&mut rng, &what, &g, &dg, 1e-2, 1e-3, |g| {
                    swiglu_loss(g, &u, &r)
                });
                let what = format!("n {n} scale {gscale} dup");
                check_directional(&mut rng, &what, &u, &du, 1e-2, 1e-3, |u| {
                    swiglu_loss(&g, u, &r)
                });
            }
        }
    }

    #[test]
    fn swiglu_backward_in_the_tails() {
        // silu'(g) -> 1 for large g and -> 0 for very negative g (no NaN from e^-g = inf).
        let g = [100.0f32, -100.0, -1000.0, 0.0];
        let u = [1.0f32; 4];
        let d = [1.0f32; 4];
        let (mut dg, mut du) = ([9f32; 4], [9f32; 4]);
        swiglu_backward(&g, &u, &d, &mut dg, &mut du);
        assert_eq!(dg[0], 1.0);
        assert!(dg[1].abs() < 1e-30 && dg[2] == 0.0, "{dg:?}");
        assert_eq!(dg[3], 0.5, "silu'(0) = 1/2");
        assert_eq!(du[0], 100.0);
        assert_eq!(du[3], 0.0);
    }

    #[test]
    fn softmax_backward_matches_central_differences() {
        // Logits of scale 1 and 5 (peaked rows); h = 1e-2, relative 1e-3.
        let mut rng = TestRng::new(6);
        for (n, scale) in [(2, 1.0), (17, 1.0), (100, 5.0), (1000, 5.0)] {
            for _ in 0..3 {
                let x: Vec<f32> = rng.vec(n).iter().map(|v| v * scale).collect();
                let r = rng.vec(n);
                let mut p = x.clone();
                softmax_inplace(&mut p);
                let mut dx = alloc::vec![0f32; n];
                softmax_backward(&p, &r, &mut dx);
                let what = format!("n {n} scale {scale}");
                check_directional(&mut rng, &what, &x, &dx, 1e-2, 1e-3, |x| {
                    let mut p = x.to_vec();
                    softmax_inplace(&mut p);
                    dot64(&r, &p)
                });
                // A shift of every logit changes nothing: the gradient sums to zero.
                let total: f64 = dx.iter().map(|&v| v as f64).sum();
                let size: f64 = dx.iter().map(|&v| (v as f64).abs()).sum();
                assert!(
                    total.abs() <= 1e-6 * size.max(1e-6),
                    "n {n}: Σ dx = {total}"
                );
            }
        }
    }

    #[test]
    fn softmax_backward_gives_masked_entries_no_gradient() {
        let mut p = [0.3f32, f32::NEG_INFINITY, -0.2, f32::NEG_INFINITY];
        softmax_inplace(&mut p);
        let mut dx = [9f32; 4];
        softmax_backward(&p, &[1.0, 5.0, -2.0, 7.0], &mut dx);
        assert_eq!((dx[1], dx[3]), (0.0, 0.0));
        assert!(dx[0] > 0.0 && dx[2] < 0.0 && (dx[0] + dx[2]).abs() < 1e-7);
    }
}
