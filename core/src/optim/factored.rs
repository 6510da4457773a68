//! The factored second moment of Adafactor (Shazeer & Stern 2018, Alg. 4) that CAME reuses for
//! its instability term: for a `rows x cols` matrix of values `x_ij`, exponential averages of
//! the row means `R_i ← β R_i + (1 − β) mean_j x_ij` and the column means
//! `C_j ← β C_j + (1 − β) mean_i x_ij`, and the estimate `x̂_ij = R_i C_j / mean(R)`, applied
//! as `u_ij · x̂_ij^(-1/2) = u_ij · (R_i / mean(R))^(-1/2) · C_j^(-1/2)` (the factors Hugging
//! Face's and the CAME authors' code multiply by).

use super::f32_bytes;
use crate::math::sqrtf;
use alloc::vec;
use alloc::vec::Vec;

/// Row and column averages of one matrix's squared quantity.
pub struct Factored {
    row: Vec<f32>,
    col: Vec<f32>,
}

impl Factored {
    /// Zero averages for a `rows x cols` matrix.
    pub fn new(rows: usize, cols: usize) -> Self {
        Factored {
            row: vec![0.0; rows],
            col: vec![0.0; cols],
        }
    }

    /// Persistent bytes (`rows + cols` values).
    pub fn bytes(&self) -> usize {
        f32_bytes(self.row.len() + self.col.len())
    }

    /// Folds in this step's values `x` (row-major, `rows x cols`) with decay `beta`.
    pub fn accumulate(&mut self, x: &[f32], beta: f64) {
        let (b, bc) = (beta as f32, (1.0 - beta) as f32);
        let cols = self.col.len();
        let mut col_sum = vec![0f64; cols];
        for (r, xr) in self.row.iter_mut().zip(x.chunks_exact(cols)) {
            let mut s = 0f64;
            for (c, &v) in col_sum.iter_mut().zip(xr) {
                s += v as f64;
                *c += v as f64;
            }
            *r = b * *r + bc * (s / cols as f64) as f32;
        }
        let rows = self.row.len() as f64;
        for (c, s) in self.col.iter_mut().zip(col_sum) {
            *c = b * *c + bc * (s / rows) as f32;
        }
    }

    /// `u_ij ← u_ij · (R_i / mean(R))^(-1/2) · C_j^(-1/2)`.
    pub fn scale_by_rsqrt(&self, u: &mut [f32]) {
        let cols = self.col.len();
        let mean_row =
            (self.row.iter().map(|&v| v as f64).sum::<f64>() / self.row.len() as f64) as f32;
        let c_factor: Vec<f32> = self.col.iter().map(|&c| 1.0 / sqrtf(c)).collect();
        for (&r, ur) in self.row.iter().zip(u.chunks_exact_mut(cols)) {
            let r_factor = 1.0 / sqrtf(r / mean_row);
            for (v, &cf) in ur.iter_mut().zip(&c_factor) {
                *v *= r_factor * cf;
            }
        }
    }
}
