//! Randomized range finder: an orthonormal basis of (approximately) the dominant column space of
//! a matrix, and its best low-rank truncation, as Adapprox keeps its second moment.
//!
//! Randomized subspace iteration (Halko, Martinsson & Tropp 2011, Algorithm 4.4): with a
//! Gaussian test matrix `Ω` (`n x s`, `s = k + p` for target rank `k` and oversampling `p`),
//! `Y = A Ω`, `Q = orth(Y)`, then `l` times `Z = orth(Aᵀ Q)`, `Q = orth(A Z)`. The sketch is then
//! rotated to its own principal directions: with `Bᵀ = Aᵀ Q` (`n x s`) and the eigendecomposition
//! `B Bᵀ = W Λ Wᵀ` (`s x s`, descending `λ`), the rank-`r` factors are `Q_r = Q W_{:r}` and
//! `U_r = Aᵀ Q_r = Bᵀ W_{:r}`, so `Q_r U_rᵀ = Q_r Q_rᵀ A` is the best rank-`r` approximation of
//! `A` inside the sketched subspace, and since `Q_r` is orthonormal
//! `‖A − Q_r U_rᵀ‖²_F = ‖A‖²_F − ‖U_r‖²_F = ‖A‖²_F − Σ_{j<r} λ_j` for every `r <= s` at once
//! (the relative error that drives Adapprox's adaptive rank, its Eq. for `ξ`).
//!
//! The products with `A` run through [`super::gemm`] in f32; the orthonormalization (modified
//! Gram-Schmidt, applied twice), the `s x s` Gram matrix and its eigendecomposition (cyclic
//! Jacobi) run in f64, since the error is a difference of two close energies.

use super::gemm::{gemm, Mat};
use crate::math::sqrt;
use crate::model::sampling::Rng;
use alloc::vec;
use alloc::vec::Vec;

/// Jacobi sweeps before giving up on convergence (it converges quadratically; a few suffice).
const MAX_SWEEPS: usize = 60;

/// A column whose norm falls below this fraction of its norm before orthogonalization is taken
/// as linearly dependent on the earlier ones and set to zero (it then carries no energy).
const DEPENDENT: f64 = 1e-6;

/// The sketch of one matrix `A` (`m x n`): an orthonormal `Q` (`m x s`), `Bᵀ = Aᵀ Q`, the
/// eigenpairs of `B Bᵀ` in descending order, and `‖A‖²_F`.
#[derive(Debug, Clone)]
pub struct RangeSketch {
    m: usize,
    n: usize,
    s: usize,
    q: Vec<f32>,
    bt: Vec<f32>,
    lambda: Vec<f64>,
    w: Vec<f64>,
    norm_sq: f64,
}

impl RangeSketch {
    /// Sketches the row-major `m x n` matrix `a` with `width` Gaussian columns (clamped to
    /// `min(m, n)`) and `power_iters` power iterations, drawing the test matrix from `rng`.
    ///
    /// # Panics
    /// If `a` holds other than `m * n` values.
    pub fn new(
        data: &[f32],
        m: usize,
        n: usize,
        width: usize,
        power_iters: usize,
        rng: &mut Rng,
    ) -> Self {
        let a = Mat::new(data, m, n);
        let s = width.min(m).min(n);
        let omega: Vec<f32> = (0..n * s).map(|_| rng.normal() as f32).collect();
        let mut q = vec![0f32; m * s];
        gemm(1.0, a, Mat::new(&omega, n, s), 0.0, &mut q);
        orthonormalize_columns(&mut q, m, s);
        let mut z = vec![0f32; n * s];
        for _ in 0..power_iters {
            gemm(1.0, a.t(), Mat::new(&q, m, s), 0.0, &mut z);
            orthonormalize_columns(&mut z, n, s);
            gemm(1.0, a, Mat::new(&z, n, s), 0.0, &mut q);
            orthonormalize_columns(&mut q, m, s);
        }
        let mut bt = z;
        gemm(1.0, a.t(), Mat::new(&q, m, s), 0.0, &mut bt);
        let mut gram = vec![0f64; s * s];
        for row in bt.chunks_exact(s) {
            for i in 0..s {
                let ri = row[i] as f64;
                for j in i..s {
                    gram[i * s + j] += ri * row[j] as f64;
                }
            }
        }
        for i in 0..s {
            for j in 0..i {
                gram[i * s + j] = gram[j * s + i];
            }
        }
        let (lambda, w) = symmetric_eigen(gram, s);
        let norm_sq = data.iter().map(|&v| v as f64 * v as f64).sum();
        RangeSketch {
            m,
            n,
            s,
            q,
            bt,
            lambda,
            w,
            norm_sq,
        }
    }

    /// The sketch width `s` (the largest rank [`Self::truncate`] can give).
    pub fn width(&self) -> usize {
        self.s
    }

    /// `‖A‖²_F`.
    pub fn norm_sq(&self) -> f64 {
        self.norm_sq
    }

    /// `‖A − Q_r U_rᵀ‖_F / ‖A‖_F` for the rank-`r` truncation (`r <= width`; 0 for `A = 0`).
    pub fn relative_error(&self, r: usize) -> f64 {
        if self.norm_sq == 0.0 {
            return 0.0;
        }
        let kept: f64 = self.lambda[..r.min(self.s)].iter().sum();
        sqrt((self.norm_sq - kept).max(0.0) / self.norm_sq)
    }

    /// The rank-`r` factors `(Q_r, U_r)`, row-major `m x r` and `n x r`, with `A ≈ Q_r U_rᵀ`.
    pub fn truncate(&self, r: usize) -> (Vec<f32>, Vec<f32>) {
        let r = r.min(self.s);
        let s = self.s;
        let wr: Vec<f32> = (0..s * r)
            .map(|idx| self.w[(idx / r) * s + idx % r] as f32)
            .collect();
        let mut qr = vec![0f32; self.m * r];
        let mut ur = vec![0f32; self.n * r];
        gemm(
            1.0,
            Mat::new(&self.q, self.m, s),
            Mat::new(&wr, s, r),
            0.0,
            &mut qr,
        );
        gemm(
            1.0,
            Mat::new(&self.bt, self.n, s),
            Mat::new(&wr, s, r),
            0.0,
            &mut ur,
        );
        (qr, ur)
    }
}

/// Orthonormalizes the columns of the row-major `rows x cols` matrix `a` in place: modified
/// Gram-Schmidt run twice per column ("twice is enough", Giraud et al. 2005), in f64; dependent
/// columns become zero.
fn orthonormalize_columns(a: &mut [f32], rows: usize, cols: usize) {
    let mut cs: Vec<Vec<f64>> = (0..cols)
        .map(|j| (0..rows).map(|i| a[i * cols + j] as f64).collect())
        .collect();
    for j in 0..cols {
        let (done, rest) = cs.split_at_mut(j);
        let v = &mut rest[0];
        let before = sqrt(v.iter().map(|x| x * x).sum());
        for _ in 0..2 {
            for qi in done.iter() {
                let d: f64 = qi.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(qi).for_each(|(x, q)| *x -= d * q);
            }
        }
        let after = sqrt(v.iter().map(|x| x * x).sum());
        if before == 0.0 || after <= DEPENDENT * before {
            v.iter_mut().for_each(|x| *x = 0.0);
        } else {
            v.iter_mut().for_each(|x| *x /= after);
        }
    }
    for (j, c) in cs.iter().enumerate() {
        for (i, &x) in c.iter().enumerate() {
            a[i * cols + j] = x as f32;
        }
    }
}

/// Eigendecomposition of the symmetric `n x n` matrix `a` (row-major) by cyclic Jacobi
/// rotations: `(λ, W)` with `λ` descending and column `j` of the row-major `W` its eigenvector.
fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _ in 0..MAX_SWEEPS {
        let off: f64 = (0..n)
            .flat_map(|p| (p + 1..n).map(move |q| (p, q)))
            .map(|(p, q)| a[p * n + q] * a[p * n + q])
            .sum();
        if off <= 1e-30 * total || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation that zeroes a_pq: cot 2θ = (a_qq − a_pp) / (2 a_pq), t = tan θ
                // the smaller root (Numerical Recipes §11.1).
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + sqrt(theta * theta + 1.0));
                let c = 1.0 / sqrt(t * t + 1.0);
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j * n + j].total_cmp(&a[i * n + i]));
    let lambda = order.iter().map(|&i| a[i * n + i].max(0.0)).collect();
    let mut w = vec![0f64; n * n];
    for (dst, &src) in order.iter().enumerate() {
        for k in 0..n {
            w[k * n + dst] = v[k * n + src];
        }
    }
    (lambda, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `A = U diag(sigma) Vᵀ` (`m x n`) with random orthonormal `U`, `V`.
    fn with_spectrum(m: usize, n: usize, sigma: &[f64], rng: &mut Rng) -> Vec<f32> {
        let q = sigma.len();
        let mut u: Vec<f32> = (0..m * q).map(|_| rng.normal() as f32).collect();
        let mut v: Vec<f32> = (0..n * q).map(|_| rng.normal() as f32).collect();
        orthonormalize_columns(&mut u, m, q);
        orthonormalize_columns(&mut v, n, q);
        let us: Vec<f32> = (0..m * q)
            .map(|idx| u[idx] * sigma[idx % q] as f32)
            .collect();
        let mut a = vec![0f32; m * n];
        gemm(
            1.0,
            Mat::new(&us, m, q),
            Mat::new(&v, n, q).t(),
            0.0,
            &mut a,
        );
        a
    }

    fn actual_error(a: &[f32], m: usize, n: usize, q: &[f32], u: &[f32]) -> f64 {
        let r = q.len() / m;
        let mut approx = vec![0f32; m * n];
        gemm(
            1.0,
            Mat::new(q, m, r),
            Mat::new(u, n, r).t(),
            0.0,
            &mut approx,
        );
        let diff: f64 = a
            .iter()
            .zip(&approx)
            .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
            .sum();
        let norm: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum();
        sqrt(diff / norm)
    }

    fn optimal_error(sigma: &[f64], r: usize) -> f64 {
        let tail: f64 = sigma[r.min(sigma.len())..].iter().map(|s| s * s).sum();
        let all: f64 = sigma.iter().map(|s| s * s).sum();
        sqrt(tail / all)
    }

    #[test]
    fn stated_error_is_the_actual_error_and_near_eckart_young() {
        let mut rng = Rng::new(3);
        let (m, n) = (60, 45);
        let sigma: Vec<f64> = (0..45).map(|j| 0.7f64.powi(j)).collect();
        let a = with_spectrum(m, n, &sigma, &mut rng);
        let sk = RangeSketch::new(&a, m, n, 12, 1, &mut rng);
        assert_eq!(sk.width(), 12);
        for r in [1, 3, 7, 12] {
            let (q, u) = sk.truncate(r);
            let stated = sk.relative_error(r);
            let actual = actual_error(&a, m, n, &q, &u);
            assert!(
                (stated - actual).abs() <= 2e-3 * actual.max(1e-2),
                "rank {r}: stated {stated} vs actual {actual}"
            );
            // Within the oversampled part of the sketch (r <= width - 5) the truncation is
            // near-optimal; the sketch's last directions are looser.
            let best = optimal_error(&sigma, r);
            let slack = if r + 5 <= 12 { 1.15 } else { 1.5 };
            assert!(
                actual >= best * (1.0 - 1e-3) && actual <= best * slack,
                "rank {r}: {actual} vs Eckart-Young {best}"
            );
        }
        // Q_r is orthonormal.
        let (q, _) = sk.truncate(7);
        for i in 0..7 {
            for j in 0..7 {
                let d: f64 = (0..m)
                    .map(|k| q[k * 7 + i] as f64 * q[k * 7 + j] as f64)
                    .sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((d - want).abs() < 1e-5, "Q^T Q [{i},{j}] = {d}");
            }
        }
    }

    #[test]
    fn power_iterations_help_on_a_flat_spectrum() {
        let mut rng = Rng::new(5);
        let (m, n) = (80, 80);
        let sigma: Vec<f64> = (0..80).map(|j| 1.0 / (1.0 + j as f64).sqrt()).collect();
        let a = with_spectrum(m, n, &sigma, &mut rng);
        let err = |iters| {
            let sk = RangeSketch::new(&a, m, n, 15, iters, &mut Rng::new(9));
            sk.relative_error(10) / optimal_error(&sigma, 10)
        };
        let (e0, e2) = (err(0), err(2));
        assert!(e2 < e0, "2 power iterations {e2} vs none {e0}");
        assert!(e2 < 1.05, "2 power iterations: {e2} x optimal");
    }

    #[test]
    fn exact_for_low_rank_and_at_full_width() {
        let mut rng = Rng::new(11);
        let a = with_spectrum(30, 20, &[3.0, 2.0, 1.0], &mut rng);
        let sk = RangeSketch::new(&a, 30, 20, 3, 0, &mut rng);
        let (q, u) = sk.truncate(3);
        assert!(actual_error(&a, 30, 20, &q, &u) < 1e-5);
        assert!(sk.relative_error(3) < 1e-3);
        assert!((sk.relative_error(1) - optimal_error(&[3.0, 2.0, 1.0], 1)).abs() < 1e-4);

        // Width min(m, n) on a full-rank matrix (the sketch asks for more: clamped).
        let full: Vec<f32> = (0..17 * 9).map(|_| rng.normal() as f32).collect();
        let sk = RangeSketch::new(&full, 17, 9, 40, 0, &mut rng);
        assert_eq!(sk.width(), 9);
        let (q, u) = sk.truncate(9);
        assert!(actual_error(&full, 17, 9, &q, &u) < 1e-5);
    }

    #[test]
    fn zero_and_rank_deficient_matrices_give_no_nan() {
        let mut rng = Rng::new(2);
        let zero = vec![0f32; 12];
        let sk = RangeSketch::new(&zero, 3, 4, 3, 1, &mut rng);
        assert_eq!(sk.relative_error(1), 0.0);
        let (q, u) = sk.truncate(2);
        assert!(q.iter().chain(&u).all(|v| *v == 0.0));
        // Rank 1 sketched at width 3: the extra directions carry nothing.
        let a = with_spectrum(8, 6, &[2.0], &mut rng);
        let sk = RangeSketch::new(&a, 8, 6, 3, 1, &mut rng);
        let (q, u) = sk.truncate(3);
        assert!(q.iter().chain(&u).all(|v| v.is_finite()));
        assert!(actual_error(&a, 8, 6, &q, &u) < 1e-5);
    }

    #[test]
    fn jacobi_recovers_a_known_eigendecomposition() {
        // [[2, 1], [1, 2]]: eigenvalues 3 (along (1, 1)) and 1 (along (1, -1)).
        let (l, w) = symmetric_eigen(vec![2.0, 1.0, 1.0, 2.0], 2);
        assert!((l[0] - 3.0).abs() < 1e-12 && (l[1] - 1.0).abs() < 1e-12);
        assert!((w[0].abs() - w[2].abs()).abs() < 1e-12 && w[0] * w[2] > 0.0);
        assert!(w[1] * w[3] < 0.0);
    }
}
