//! General f32 matrix product `C = alpha A B + beta C` over owned matrices, either operand
//! possibly transposed: the one entry point training (the backward's `dX = dY W`,
//! `dW += dYᵀ X`) and the optimizers (Adapprox's range finder, `V Ω`, `Vᵀ Q`) multiply through.
//!
//! Under `std` blocks of rows or columns of `C` (along its longer side, about four per thread)
//! run in parallel on the current rayon pool, each through
//! `matrixmultiply::sgemm`; without `std` the same blocks run in a plain loop of dot products.
//! A row of `C` depends only on the matching row of `A` and on `B`, in a fixed accumulation
//! order, so the result does not depend on the thread count.

/// A read-only view of a dense f32 matrix: element `(i, j)` at `i * row_stride + j * col_stride`.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Mat<'a> {
    /// The row-major `rows x cols` matrix held in `data`.
    ///
    /// # Panics
    /// If `data` holds other than `rows * cols` values (a caller's shape bug).
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "a {rows}x{cols} matrix");
        Mat {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        Mat {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    #[cfg(any(test, not(feature = "std")))]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

/// The fewest rows (or columns) of `C` per parallel block.
#[cfg(feature = "std")]
const MIN_ROWS_PER_TASK: usize = 32;

/// `C = alpha A B + beta C` with `C` row-major `A.rows() x B.cols()`. With `beta == 0` the old
/// contents of `C` are ignored (NaN included).
///
/// # Panics
/// If the inner dimensions differ or `c` has the wrong length (a caller's shape bug).
pub fn gemm(alpha: f32, a: Mat, b: Mat, beta: f32, c: &mut [f32]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: A is {m}x{k}, B is {}x{n}", b.rows);
    assert_eq!(c.len(), m * n, "gemm: C must be {m}x{n}");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        scale(c, beta);
        return;
    }
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        // Split the longer side of C into about four blocks per thread: every block packs the
        // other operand whole, so blocks along the short side would repack the big one often.
        let tasks = 4 * rayon::current_num_threads();
        let (long, short_is_rows) = if m >= n { (m, true) } else { (n, false) };
        let per = long.div_ceil(tasks).max(MIN_ROWS_PER_TASK);
        let c_ptr = SendPtr(c.as_mut_ptr());
        (0..long.div_ceil(per)).into_par_iter().for_each(|blk| {
            let (i0, j0) = if short_is_rows {
                (blk * per, 0)
            } else {
                (0, blk * per)
            };
            let rows = if short_is_rows { per.min(m - i0) } else { m };
            let cols = if short_is_rows { n } else { per.min(n - j0) };
            let c_ptr = &c_ptr;
            // SAFETY: rows i0..i0+rows of A and columns j0..j0+cols of B lie inside their
            // slices (each view was built from a slice of exactly rows*cols values, strides
            // permuted by `t`); C is m x n row-major (length checked above) and the blocks
            // write pairwise disjoint rows or columns of it, which no other reference sees
            // while `c` is borrowed here; C does not alias A or B.
            unsafe {
                matrixmultiply::sgemm(
                    rows,
                    k,
                    cols,
                    alpha,
                    a.data.as_ptr().add(i0 * a.row_stride),
                    a.row_stride as isize,
                    a.col_stride as isize,
                    b.data.as_ptr().add(j0 * b.col_stride),
                    b.row_stride as isize,
                    b.col_stride as isize,
                    beta,
                    c_ptr.0.add(i0 * n + j0),
                    n as isize,
                    1,
                );
            }
        });
    }
    #[cfg(not(feature = "std"))]
    for (i, row) in c.chunks_exact_mut(n).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let s: f32 = (0..k).map(|p| a.at(i, p) * b.at(p, j)).sum();
            *v = if beta == 0.0 {
                alpha * s
            } else {
                alpha * s + beta * *v
            };
        }
    }
}

/// A pointer into `C` that the parallel blocks share; each writes only its own rows or columns.
#[cfg(feature = "std")]
struct SendPtr(*mut f32);
// SAFETY: the blocks of `gemm` write disjoint elements through it (see the call).
#[cfg(feature = "std")]
unsafe impl Sync for SendPtr {}

fn scale(c: &mut [f32], beta: f32) {
    for v in c {
        *v = if beta == 0.0 { 0.0 } else { beta * *v };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::TestRng;
    use alloc::vec::Vec;

    fn reference(alpha: f32, a: Mat, b: Mat, beta: f32, c: &[f32]) -> Vec<f64> {
        let n = b.cols();
        (0..a.rows() * n)
            .map(|idx| {
                let (i, j) = (idx / n, idx % n);
                let s: f64 = (0..a.cols())
                    .map(|p| a.at(i, p) as f64 * b.at(p, j) as f64)
                    .sum();
                alpha as f64 * s + beta as f64 * c[idx] as f64
            })
            .collect()
    }

    #[test]
    fn every_transpose_combination_matches_f64() {
        let mut rng = TestRng::new(7);
        // Both block directions: rows (m >= n) and columns (n > m), one block and several.
        for (m, k, n) in [
            (1, 1, 1),
            (3, 5, 2),
            (70, 33, 9),
            (5, 0, 4),
            (65, 17, 40),
            (3, 20, 150),
            (40, 8, 300),
        ] {
            let a_data = rng.vec(m * k);
            let at_data = rng.vec(k * m);
            let b_data = rng.vec(k * n);
            let bt_data = rng.vec(n * k);
            let c0 = rng.vec(m * n);
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = if ta {
                    Mat::new(&at_data, k, m).t()
                } else {
                    Mat::new(&a_data, m, k)
                };
                let b = if tb {
                    Mat::new(&bt_data, n, k).t()
                } else {
                    Mat::new(&b_data, k, n)
                };
                for (alpha, beta) in [(1.0, 0.0), (0.5, -2.0)] {
                    let want = reference(alpha, a, b, beta, &c0);
                    let mut c = c0.clone();
                    gemm(alpha, a, b, beta, &mut c);
                    for (g, w) in c.iter().zip(&want) {
                        assert!(
                            (*g as f64 - w).abs() <= 1e-5 * (1.0 + w.abs()) * (k as f64).sqrt(),
                            "{m}x{k}x{n} ta={ta} tb={tb}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn beta_zero_ignores_nan_in_c() {
        let a = [1.0f32, 2.0];
        let b = [3.0f32, 4.0];
        let mut c = [f32::NAN];
        gemm(1.0, Mat::new(&a, 1, 2), Mat::new(&b, 2, 1), 0.0, &mut c);
        assert_eq!(c, [11.0]);
    }
}
