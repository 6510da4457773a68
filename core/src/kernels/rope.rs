//! Rotary position embedding (RoFormer, Su et al. 2021): dimension pair `i` of every head is
//! rotated by the angle `theta_i = pos * base^(-2i/d)`, `d` the head dimension.

use crate::math::{cos, pow, sin};
use alloc::vec::Vec;

/// Which elements of a head form the rotated pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Pairs `(x[2i], x[2i+1])`: llama GGUF files (ggml's "normal" mode; the converter permutes
    /// Q and K so that this matches the Hugging Face model).
    Adjacent,
    /// Pairs `(x[i], x[i + d/2])`: GPT-NeoX style, used by qwen2.
    Neox,
}

/// Rotary embedding for one head size: the precomputed inverse frequencies `base^(-2i/d)`.
#[derive(Debug, Clone)]
pub struct Rope {
    head_dim: usize,
    style: RopeStyle,
    /// `inv_freq[i] = theta^(-2i / head_dim)` for `i < head_dim / 2`, in f64 so that the angle
    /// `pos * inv_freq[i]` stays accurate at long positions.
    inv_freq: Vec<f64>,
}

impl Rope {
    /// Rotary embedding for heads of `head_dim` elements with base `theta` (10000 for LLaMA,
    /// 1e6 for Qwen2.5). `head_dim` should be even; if it is odd the last element of every
    /// head is left unrotated.
    pub fn new(head_dim: usize, theta: f32, style: RopeStyle) -> Self {
        let inv_freq = (0..head_dim / 2)
            .map(|i| pow(theta as f64, -2.0 * i as f64 / head_dim as f64))
            .collect();
        Rope {
            head_dim,
            style,
            inv_freq,
        }
    }

    /// Head dimension this embedding was made for.
    pub fn head_dim(&self) -> usize {
        self.head_dim
    }

    /// Rotates every head of one token's `x` (`n_heads * head_dim` elements) to position `pos`:
    /// `(a, b) -> (a cos θ_i - b sin θ_i, a sin θ_i + b cos θ_i)` for each pair `i`.
    pub fn apply(&self, x: &mut [f32], pos: usize) {
        self.rotate(x, pos, false);
    }

    /// Backward of [`Rope::apply`], in place on the gradient of one token's rotated rows. The
    /// forward is `y = R(θ) x` with `R` orthogonal per pair, so `∂L/∂x = R(θ)ᵀ ∂L/∂y =
    /// R(−θ) ∂L/∂y`:
    ///
    /// ```text
    /// (ga, gb) -> (ga cos θ_i + gb sin θ_i, −ga sin θ_i + gb cos θ_i)
    /// ```
    ///
    /// with the same angles, pairs and arithmetic as the forward (only the sine's sign flipped).
    pub fn apply_backward(&self, grad: &mut [f32], pos: usize) {
        self.rotate(grad, pos, true);
    }

    /// Rotates every pair `i` of every head by `θ_i = pos · inv_freq[i]`, or by `−θ_i` when
    /// `inverse` (sine and cosine of `θ_i` from f64, rounded to f32).
    fn rotate(&self, x: &mut [f32], pos: usize, inverse: bool) {
        let d = self.head_dim;
        debug_assert!(d > 0 && x.len().is_multiple_of(d));
        if d == 0 {
            return;
        }
        let half = d / 2;
        for (i, &f) in self.inv_freq.iter().enumerate() {
            let angle = pos as f64 * f;
            let (s, c) = (sin(angle) as f32, cos(angle) as f32);
            let s = if inverse { -s } else { s };
            let (ia, ib) = match self.style {
                RopeStyle::Adjacent => (2 * i, 2 * i + 1),
                RopeStyle::Neox => (i, i + half),
            };
            for head in x.chunks_exact_mut(d) {
                let (a, b) = (head[ia], head[ib]);
                head[ia] = a * c - b * s;
                head[ib] = a * s + b * c;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{check_directional, dot64, TestRng};
    use alloc::format;

    fn close(a: f32, b: f64) -> bool {
        (a as f64 - b).abs() <= 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn rotates_a_hand_picked_vector() {
        // head_dim 4, base 10000: inverse frequencies 1 and 10000^(-1/2) = 0.01.
        let (a0, a1) = (3.0f64, 0.03f64); // angles at position 3
        let v = [1.0f32, 2.0, 3.0, 4.0];

        let mut x = v;
        Rope::new(4, 10000.0, RopeStyle::Adjacent).apply(&mut x, 3);
        let want = [
            a0.cos() - 2.0 * a0.sin(),
            a0.sin() + 2.0 * a0.cos(),
            3.0 * a1.cos() - 4.0 * a1.sin(),
            3.0 * a1.sin() + 4.0 * a1.cos(),
        ];
        for i in 0..4 {
            assert!(
                close(x[i], want[i]),
                "adjacent {i}: {} vs {}",
                x[i],
                want[i]
            );
        }

        let mut x = v;
        Rope::new(4, 10000.0, RopeStyle::Neox).apply(&mut x, 3);
        let want = [
            a0.cos() - 3.0 * a0.sin(),
            2.0 * a1.cos() - 4.0 * a1.sin(),
            a0.sin() + 3.0 * a0.cos(),
            2.0 * a1.sin() + 4.0 * a1.cos(),
        ];
        for i in 0..4 {
            assert!(close(x[i], want[i]), "neox {i}: {} vs {}", x[i], want[i]);
        }
    }

    #[test]
    fn position_zero_is_identity_and_norms_are_kept() {
        let mut rng = TestRng::new(11);
        for style in [RopeStyle::Adjacent, RopeStyle::Neox] {
            let rope = Rope::new(64, 10000.0, style);
            let v = rng.vec(3 * 64);
            let mut x = v.clone();
            rope.apply(&mut x, 0);
            assert_eq!(x, v);
            rope.apply(&mut x, 1234);
            assert_ne!(x, v);
            let pair = |x: &[f32], h: usize, i: usize| match style {
                RopeStyle::Adjacent => (x[h * 64 + 2 * i], x[h * 64 + 2 * i + 1]),
                RopeStyle::Neox => (x[h * 64 + i], x[h * 64 + i + 32]),
            };
            for h in 0..3 {
                for i in 0..32 {
                    let (a, b) = pair(&v, h, i);
                    let (c, d) = pair(&x, h, i);
                    let (n0, n1) = (a * a + b * b, c * c + d * d);
                    assert!(
                        (n0 - n1).abs() <= 1e-5 * n0.max(1e-3),
                        "{style:?} h{h} i{i}"
                    );
                }
            }
        }
    }

    #[test]
    fn scores_depend_only_on_relative_position() {
        // <R(m) q, R(n) k> = <R(m + s) q, R(n + s) k>: the property RoPE is built for.
        let mut rng = TestRng::new(12);
        for style in [RopeStyle::Adjacent, RopeStyle::Neox] {
            let rope = Rope::new(64, 1e6, style);
            let (q, k) = (rng.vec(64), rng.vec(64));
            let score = |m: usize, n: usize| {
                let (mut a, mut b) = (q.clone(), k.clone());
                rope.apply(&mut a, m);
                rope.apply(&mut b, n);
                a.iter().zip(&b).map(|(x, y)| (x * y) as f64).sum::<f64>()
            };
            let s0 = score(7, 2);
            for shift in [1, 100, 5000] {
                let s = score(7 + shift, 2 + shift);
                assert!(
                    (s - s0).abs() < 1e-4,
                    "{style:?} shift {shift}: {s} vs {s0}"
                );
            }
            assert!(
                (score(9, 2) - s0).abs() > 1e-3,
                "{style:?}: other offsets must differ"
            );
        }
    }

    #[test]
    fn backward_matches_central_differences() {
        // RoPE is linear, so the central difference is exact up to rounding: h = 1e-2,
        // relative 1e-4. Odd head_dim 5 leaves its last element unrotated (gradient 1:1).
        let mut rng = TestRng::new(13);
        for style in [RopeStyle::Adjacent, RopeStyle::Neox] {
            for (hd, heads) in [(4, 1), (5, 2), (64, 3)] {
                let rope = Rope::new(hd, 10000.0, style);
                for pos in [0, 1, 17, 4095] {
                    let x = rng.vec(heads * hd);
                    let r = rng.vec(heads * hd);
                    let mut grad = r.clone();
                    rope.apply_backward(&mut grad, pos);
                    let what = format!("{style:?} hd {hd} pos {pos}");
                    check_directional(&mut rng, &what, &x, &grad, 1e-2, 1e-4, |x| {
                        let mut y = x.to_vec();
                        rope.apply(&mut y, pos);
                        dot64(&r, &y)
                    });
                }
            }
        }
    }

    #[test]
    fn backward_undoes_the_forward() {
        // R(θ)ᵀ R(θ) = I: the backward applied to a rotated vector gives it back.
        let mut rng = TestRng::new(14);
        for style in [RopeStyle::Adjacent, RopeStyle::Neox] {
            let rope = Rope::new(64, 1e6, style);
            let v = rng.vec(2 * 64);
            let mut x = v.clone();
            rope.apply(&mut x, 777);
            rope.apply_backward(&mut x, 777);
            for i in 0..v.len() {
                assert!((x[i] - v[i]).abs() <= 1e-6, "{style:?} [{i}]");
            }
        }
    }
}
