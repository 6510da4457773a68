//! Statistics of a linear operator's calibration inputs, accumulated as the rows stream by.
//!
//! With the inputs as rows (`n` tokens x `cols`, as the forward holds them), the pruning methods
//! need Gram-type sums over all calibration tokens:
//! - [`InputStats`]: `H = Σ_t x_t x_tᵀ` (`cols x cols`), which SparseGPT uses (as `2 H / n`);
//! - [`ChannelNorms`]: its diagonal alone (`||X_j||_2² = H_jj`), all Wanda and OWL need;
//! - [`CrossStats`]: FISTAPruner's `G = Σ_t x*_t x*_tᵀ` and `C = Σ_t x_t x*_tᵀ`
//!   (`C[i][j] = Σ_t x_t[i] x*_t[j]`), from the dense inputs `x` and the inputs `x*` after the
//!   earlier operators of the layer were pruned.
//!
//! Precision: each call's product `AᵀB` is one f32 matrix product over its rows (one window,
//! at most a few thousand tokens, so f32 accumulation error stays ~1e-7 relative per call), and
//! is added into an f64 accumulator, so sums over 10^5..10^6 tokens do not lose the small
//! entries to the large ones. The sums are in call order, so the result does not depend on the
//! thread count.

use crate::kernels::gemm::{gemm, Mat};
use alloc::vec;
use alloc::vec::Vec;

/// `Aᵀ B` in f32 for `a` and `b` of `n` rows of `cols` (row-major).
fn at_b(a: &[f32], b: &[f32], n: usize, cols: usize) -> Vec<f32> {
    assert!(
        a.len() == n * cols && b.len() == n * cols,
        "statistics of {n} rows of {cols}: got {} and {} values",
        a.len(),
        b.len()
    );
    let mut prod = vec![0.0f32; cols * cols];
    gemm(
        1.0,
        Mat::new(a, n, cols).t(),
        Mat::new(b, n, cols),
        0.0,
        &mut prod,
    );
    prod
}

/// `acc += prod`, into f64.
fn accumulate(acc: &mut [f64], prod: &[f32]) {
    for (s, p) in acc.iter_mut().zip(prod) {
        *s += *p as f64;
    }
}

/// `H = Σ_t x_t x_tᵀ` over the calibration rows, in f64.
#[derive(Debug, Clone, PartialEq)]
pub struct InputStats {
    cols: usize,
    tokens: usize,
    gram: Vec<f64>,
}

impl InputStats {
    pub fn new(cols: usize) -> Self {
        InputStats {
            cols,
            tokens: 0,
            gram: vec![0.0; cols * cols],
        }
    }

    /// Adds `n` rows of `cols` values.
    pub fn add(&mut self, x: &[f32], n: usize) {
        accumulate(&mut self.gram, &at_b(x, x, n, self.cols));
        self.tokens += n;
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Rows added so far.
    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// `H`, row-major `cols x cols`.
    pub fn gram(&self) -> &[f64] {
        &self.gram
    }

    /// `||X_j||_2 = sqrt(H_jj)`, the norm of input channel `j` over all tokens.
    pub fn col_norms(&self) -> Vec<f32> {
        (0..self.cols)
            .map(|j| crate::math::sqrtf(self.gram[j * self.cols + j] as f32))
            .collect()
    }
}

/// `Σ_t x_tj²` per input channel `j`: the diagonal of `H` alone, which is all Wanda and OWL
/// read (`cols` multiply-adds per token instead of `cols²`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelNorms {
    tokens: usize,
    sq: Vec<f64>,
}

impl ChannelNorms {
    pub fn new(cols: usize) -> Self {
        ChannelNorms {
            tokens: 0,
            sq: vec![0.0; cols],
        }
    }

    /// Adds `n` rows of `cols` values.
    pub fn add(&mut self, x: &[f32], n: usize) {
        let cols = self.sq.len();
        assert!(
            x.len() == n * cols,
            "channel norms of {n} rows of {cols}: got {} values",
            x.len()
        );
        for row in x.chunks_exact(cols) {
            for (s, &v) in self.sq.iter_mut().zip(row) {
                *s += (v * v) as f64;
            }
        }
        self.tokens += n;
    }

    pub fn cols(&self) -> usize {
        self.sq.len()
    }

    /// Rows added so far.
    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// `||X_j||_2`, as [`InputStats::col_norms`] gives it.
    pub fn col_norms(&self) -> Vec<f32> {
        self.sq
            .iter()
            .map(|&v| crate::math::sqrtf(v as f32))
            .collect()
    }
}

/// FISTAPruner's `G = Σ x* x*ᵀ` (as an [`InputStats`] of the corrected inputs) and
/// `C = Σ x x*ᵀ`.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossStats {
    pub star: InputStats,
    cross: Vec<f64>,
}

impl CrossStats {
    pub fn new(cols: usize) -> Self {
        CrossStats {
            star: InputStats::new(cols),
            cross: vec![0.0; cols * cols],
        }
    }

    /// Adds `n` dense rows `x` and the same tokens' corrected rows `x_star`.
    pub fn add(&mut self, x: &[f32], x_star: &[f32], n: usize) {
        accumulate(&mut self.cross, &at_b(x, x_star, n, self.star.cols()));
        self.star.add(x_star, n);
    }

    /// [`CrossStats::add`] for rows that are their own corrected rows (`x* = x`: the first
    /// operators of a layer), with one product instead of two.
    pub fn add_same(&mut self, x: &[f32], n: usize) {
        let prod = at_b(x, x, n, self.star.cols());
        accumulate(&mut self.cross, &prod);
        accumulate(&mut self.star.gram, &prod);
        self.star.tokens += n;
    }

    /// `C`, row-major `cols x cols`: `C[i][j] = Σ_t x_t[i] x*_t[j]`.
    pub fn cross(&self) -> &[f64] {
        &self.cross
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, cols: usize, seed: u32) -> Vec<f32> {
        (0..n * cols)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn sums_match_a_naive_f64_sum() {
        let (cols, n) = (70, 33);
        let (x, y) = (rows(n, cols, 1), rows(n, cols, 7));
        let mut h = InputStats::new(cols);
        let mut c = CrossStats::new(cols);
        // Two calls, as two windows arrive.
        h.add(&x[..10 * cols], 10);
        h.add(&x[10 * cols..], n - 10);
        c.add(&x, &y, n);
        let mut same = CrossStats::new(cols);
        same.add_same(&x, n);
        assert_eq!(same.cross(), same.star.gram());
        let mut once = InputStats::new(cols);
        once.add(&x, n);
        assert_eq!(same.star, once);
        assert_eq!(h.tokens(), n);
        for i in 0..cols {
            for j in 0..cols {
                let naive = |a: &[f32], b: &[f32]| -> f64 {
                    (0..n)
                        .map(|t| a[t * cols + i] as f64 * b[t * cols + j] as f64)
                        .sum()
                };
                let scale = n as f64;
                assert!((h.gram()[i * cols + j] - naive(&x, &x)).abs() < 1e-5 * scale);
                assert!((c.cross()[i * cols + j] - naive(&x, &y)).abs() < 1e-5 * scale);
                assert!((c.star.gram()[i * cols + j] - naive(&y, &y)).abs() < 1e-5 * scale);
            }
        }
        let mut diag = ChannelNorms::new(cols);
        diag.add(&x[..10 * cols], 10);
        diag.add(&x[10 * cols..], n - 10);
        for (a, b) in diag.col_norms().iter().zip(h.col_norms()) {
            assert!((a - b).abs() <= 1e-5 * b, "{a} vs {b}");
        }
        let norms = h.col_norms();
        let want: f64 = (0..n).map(|t| (x[t * cols + 5] as f64).powi(2)).sum();
        assert!((norms[5] as f64 - want.sqrt()).abs() < 1e-4);
    }
}
