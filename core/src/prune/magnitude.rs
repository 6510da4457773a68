//! Magnitude pruning: zero the weights of smallest `|W_ij|`, compared over the whole matrix
//! (per row for N:M), the baseline of Wanda's and SparseGPT's papers.

use super::pattern::{mask_per_matrix, Mask, Pattern};
use crate::Result;
use alloc::vec::Vec;

/// Prunes `w` (`rows x cols`) in place; returns the mask.
pub fn prune(w: &mut [f32], rows: usize, cols: usize, pattern: Pattern) -> Result<Mask> {
    let scores: Vec<f32> = w.iter().map(|v| v.abs()).collect();
    let mask = mask_per_matrix(&scores, rows, cols, pattern)?;
    mask.apply(w);
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_magnitudes_of_the_matrix_go() {
        let mut w = [0.5, -3.0, 0.1, 2.0, -0.2, 1.0];
        let m = prune(&mut w, 2, 3, Pattern::Unstructured { sparsity: 0.5 }).unwrap();
        assert_eq!(w, [0.0, -3.0, 0.0, 2.0, 0.0, 1.0]);
        assert_eq!(m.count(), 3);
        let mut w = [0.5, -3.0, 0.1, 2.0, -0.2, 1.0, 4.0, 0.3];
        prune(&mut w, 1, 8, Pattern::NM { n: 2, m: 4 }).unwrap();
        assert_eq!(w, [0.0, -3.0, 0.0, 2.0, 0.0, 1.0, 4.0, 0.0]);
    }
}
