//! Wanda (Sun et al. 2023, "A Simple and Effective Pruning Approach for Large Language Models"):
//! score each weight by `S_ij = |W_ij| * ||X_j||_2`, the weight's magnitude times the norm of
//! its input channel over the calibration tokens, and prune the lowest scores of each output
//! row (N:M: of each group of M in a row). No weight update.

use super::pattern::{mask_per_row, Mask, Pattern};
use crate::{Error, Result};
use alloc::format;
use alloc::vec::Vec;

/// `S_ij = |W_ij| ||X_j||_2` for `w` (`rows x cols`) and the input channels' norms.
pub fn scores(w: &[f32], rows: usize, cols: usize, norms: &[f32]) -> Result<Vec<f32>> {
    if norms.len() != cols || w.len() != rows * cols {
        return Err(Error::invalid(format!(
            "Wanda scores of a {rows}x{cols} matrix ({} values) from norms of {} inputs",
            w.len(),
            norms.len()
        )));
    }
    Ok(w.chunks_exact(cols)
        .flat_map(|row| row.iter().zip(norms).map(|(v, n)| v.abs() * n))
        .collect())
}

/// Prunes `w` in place by Wanda's scores; returns the mask.
pub fn prune(
    w: &mut [f32],
    rows: usize,
    cols: usize,
    norms: &[f32],
    pattern: Pattern,
) -> Result<Mask> {
    let s = scores(w, rows, cols, norms)?;
    let mask = mask_per_row(&s, rows, cols, pattern)?;
    mask.apply(w);
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_norms_reorder_the_magnitudes() {
        // Column norms 3 and 1 (x rows (3, 0), (0, 1)... as two tokens).
        let mut stats = crate::prune::stats::ChannelNorms::new(2);
        stats.add(&[3.0, 0.0, 0.0, 1.0], 2);
        let norms = stats.col_norms();
        assert_eq!(norms, [3.0, 1.0]);
        // |W| favours column 1 in row 0, but 1.0 * 3 > 2.0 * 1: column 1 goes.
        let mut w = [1.0, -2.0, -4.0, 5.0];
        assert_eq!(scores(&w, 2, 2, &norms).unwrap(), [3.0, 2.0, 12.0, 5.0]);
        prune(
            &mut w,
            2,
            2,
            &norms,
            Pattern::Unstructured { sparsity: 0.5 },
        )
        .unwrap();
        assert_eq!(w, [1.0, 0.0, -4.0, 0.0]);
        assert!(scores(&w, 1, 4, &norms).is_err());
    }
}
