//! The dense linear algebra SparseGPT needs: the upper Cholesky factor of the inverse of a
//! symmetric positive definite matrix, in f64.
//!
//! With `J` the reversal permutation and `J H J = L Lᵀ` (lower Cholesky of `H` with rows and
//! columns reversed), `H⁻¹ = (J L⁻ᵀ J)(J L⁻¹ J)`, and `U = J L⁻¹ J` is upper triangular with a
//! positive diagonal, so it is the unique upper Cholesky factor of `H⁻¹` (`H⁻¹ = Uᵀ U`): one
//! factorization and one triangular inverse, each `n³/6` multiply-adds, instead of inverting
//! and factoring again.

use crate::math::sqrt;
use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Runs `f(i, row_i)` for the rows `i` of `rows` (each `width` wide) from `start` on, in
/// parallel under `std`.
pub(super) fn rows_from<F: Fn(usize, &mut [f64]) + Sync + Send>(
    rows: &mut [f64],
    width: usize,
    start: usize,
    f: F,
) {
    let tail = &mut rows[start * width..];
    #[cfg(feature = "std")]
    {
        use rayon::prelude::*;
        tail.par_chunks_mut(width)
            .enumerate()
            .for_each(|(i, r)| f(start + i, r));
    }
    #[cfg(not(feature = "std"))]
    for (i, r) in tail.chunks_mut(width).enumerate() {
        f(start + i, r);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Lower Cholesky factor of the symmetric positive definite `a` (`n x n`, row-major), in
/// place (the strict upper triangle is zeroed). Errors at the first non-positive pivot.
pub fn cholesky_lower(a: &mut [f64], n: usize) -> Result<()> {
    assert_eq!(a.len(), n * n, "cholesky of a {n}x{n} matrix");
    for j in 0..n {
        let (row_j, below) = a[j * n..].split_at_mut(n);
        let s = row_j[j] - dot(&row_j[..j], &row_j[..j]);
        if s.is_nan() || s <= 0.0 {
            return Err(Error::invalid(format!(
                "matrix is not positive definite: pivot {j} is {s:e}"
            )));
        }
        let d = sqrt(s);
        row_j[j] = d;
        row_j[j + 1..].iter_mut().for_each(|v| *v = 0.0);
        let row_j: &[f64] = row_j;
        rows_from(below, n, 0, |_, r| {
            r[j] = (r[j] - dot(&r[..j], &row_j[..j])) / d;
        });
    }
    Ok(())
}

/// `U` with `h⁻¹ = Uᵀ U`, `U` upper triangular (`n x n` row-major), for symmetric positive
/// definite `h` (see the module docs).
pub fn upper_cholesky_of_inverse(h: &[f64], n: usize) -> Result<Vec<f64>> {
    assert_eq!(h.len(), n * n, "a {n}x{n} matrix");
    // J H J, factored.
    let mut l: Vec<f64> = (0..n * n)
        .map(|k| h[(n - 1 - k / n) * n + (n - 1 - k % n)])
        .collect();
    cholesky_lower(&mut l, n)?;
    // Column j of L⁻¹ solves L x = e_j (x_i = 0 for i < j); stored as row j of `inv_t`.
    let mut inv_t = vec![0.0f64; n * n];
    let lr: &[f64] = &l;
    rows_from(&mut inv_t, n, 0, |j, x| {
        x[j] = 1.0 / lr[j * n + j];
        for i in j + 1..n {
            x[i] = -dot(&lr[i * n + j..i * n + i], &x[j..i]) / lr[i * n + i];
        }
    });
    // U[a][b] = (L⁻¹)[n-1-a][n-1-b] = inv_t[n-1-b][n-1-a].
    Ok((0..n * n)
        .map(|k| {
            let (a, b) = (k / n, k % n);
            if b < a {
                0.0
            } else {
                inv_t[(n - 1 - b) * n + (n - 1 - a)]
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn spd(n: usize) -> Vec<f64> {
        // A Aᵀ + n I for a fixed pseudo-random A.
        let a: Vec<f64> = (0..n * n)
            .map(|i| (((i * 7919) % 101) as f64 - 50.0) / 50.0)
            .collect();
        let mut h = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                h[i * n + j] = (0..n).map(|k| a[i * n + k] * a[j * n + k]).sum::<f64>()
                    + if i == j { n as f64 } else { 0.0 };
            }
        }
        h
    }

    #[test]
    fn cholesky_reproduces_the_matrix() {
        let n = 9;
        let h = spd(n);
        let mut l = h.clone();
        cholesky_lower(&mut l, n).unwrap();
        for i in 0..n {
            for j in 0..n {
                let llt: f64 = (0..n).map(|k| l[i * n + k] * l[j * n + k]).sum();
                assert!((llt - h[i * n + j]).abs() < 1e-9 * h[i * n + i]);
            }
        }
        let mut bad = vec![1.0, 2.0, 2.0, 1.0];
        let e = cholesky_lower(&mut bad, 2).unwrap_err().to_string();
        assert!(e.contains("pivot 1"), "{e}");
    }

    #[test]
    fn upper_factor_of_the_inverse() {
        let n = 11;
        let h = spd(n);
        let u = upper_cholesky_of_inverse(&h, n).unwrap();
        // Upper triangular with a positive diagonal, and (Uᵀ U) H = I.
        for a in 0..n {
            assert!(u[a * n + a] > 0.0);
            for b in 0..a {
                assert_eq!(u[a * n + b], 0.0);
            }
        }
        for i in 0..n {
            for j in 0..n {
                let v: f64 = (0..n)
                    .map(|k| {
                        let hinv_ik: f64 = (0..n).map(|m| u[m * n + i] * u[m * n + k]).sum();
                        hinv_ik * h[k * n + j]
                    })
                    .sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-10, "({i},{j}) {v}");
            }
        }
    }
}
