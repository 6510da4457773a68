//! Sparsity patterns and the selection of which weights a score prunes.
//!
//! Every pruning method reduces to "score each weight, then zero the lowest scores under a
//! pattern"; this module is that second half, shared by magnitude, Wanda, SparseGPT's block masks
//! and FISTAPruner's final projection. Matrices are row-major `rows x cols` (an output row per
//! row, an input channel per column, as the GGUF weight of `y = x Wᵀ`).
//!
//! Ties are broken by column index, the lower index pruned first (a stable sort by score, as
//! Wanda's reference code does with `torch.sort(stable=True)`), so every mask is deterministic
//! and the number of pruned weights is exact: `floor(cols * sparsity)` per row, `n` per group.

use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Which weights may be zeroed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pattern {
    /// Any `sparsity` fraction of the weights, `0 <= sparsity < 1`.
    Unstructured { sparsity: f64 },
    /// In every `m` consecutive input columns of a row, exactly `n` weights are zero
    /// ("2:4" is `n = 2, m = 4`: two of every four kept, the layout sparse tensor cores run).
    NM { n: usize, m: usize },
}

impl Pattern {
    /// The fraction of weights the pattern zeroes.
    pub fn sparsity(&self) -> f64 {
        match *self {
            Pattern::Unstructured { sparsity } => sparsity,
            Pattern::NM { n, m } => n as f64 / m as f64,
        }
    }

    /// Checks the pattern itself: sparsity in `[0, 1)`, `0 < n < m`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Pattern::Unstructured { sparsity } => {
                if !(0.0..1.0).contains(&sparsity) {
                    return Err(Error::invalid(format!(
                        "sparsity {sparsity} is outside [0, 1)"
                    )));
                }
            }
            Pattern::NM { n, m } => {
                if n == 0 || n >= m {
                    return Err(Error::invalid(format!(
                        "N:M pattern {n}:{m}: need 0 < N < M"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks the pattern against a matrix `cols` wide (an N:M group must not straddle rows).
    pub fn validate_for(&self, what: &str, cols: usize) -> Result<()> {
        self.validate()?;
        if let Pattern::NM { n, m } = *self {
            if !cols.is_multiple_of(m) {
                return Err(Error::invalid(format!(
                    "N:M pattern {n}:{m} does not divide the {cols} columns of {what}"
                )));
            }
        }
        Ok(())
    }

    /// "50% unstructured", "2:4".
    pub fn describe(&self) -> alloc::string::String {
        match *self {
            Pattern::Unstructured { sparsity } => format!("{}% unstructured", sparsity * 100.0),
            Pattern::NM { n, m } => format!("{n}:{m}"),
        }
    }
}

/// Which weights are pruned: `pruned[r * cols + c]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    pub rows: usize,
    pub cols: usize,
    pub pruned: Vec<bool>,
}

impl Mask {
    /// A mask pruning nothing.
    pub fn none(rows: usize, cols: usize) -> Mask {
        Mask {
            rows,
            cols,
            pruned: vec![false; rows * cols],
        }
    }

    /// Number of pruned weights.
    pub fn count(&self) -> usize {
        self.pruned.iter().filter(|&&p| p).count()
    }

    /// Zeroes the pruned weights of `w` (`rows x cols`).
    pub fn apply(&self, w: &mut [f32]) {
        assert_eq!(w.len(), self.pruned.len(), "mask and matrix differ in size");
        for (x, &p) in w.iter_mut().zip(&self.pruned) {
            if p {
                *x = 0.0;
            }
        }
    }
}

/// Marks the `k` lowest of `scores` in `pruned` (ties: lower index first).
pub(crate) fn prune_lowest(scores: &[f32], k: usize, pruned: &mut [bool]) {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    for &i in &order[..k] {
        pruned[i] = true;
    }
}

/// The mask a pattern gives for `scores` (`rows x cols`, higher = more important), comparing
/// within each row: unstructured prunes the `floor(cols * sparsity)` lowest of every row
/// (Wanda's per-output comparison group), N:M the `n` lowest of every group of `m`.
pub fn mask_per_row(scores: &[f32], rows: usize, cols: usize, pattern: Pattern) -> Result<Mask> {
    check_scores(scores, rows, cols, pattern)?;
    let mut mask = Mask::none(rows, cols);
    let rows_iter = scores.chunks(cols).zip(mask.pruned.chunks_mut(cols));
    match pattern {
        Pattern::Unstructured { sparsity } => {
            let k = (cols as f64 * sparsity) as usize;
            for (s, p) in rows_iter {
                prune_lowest(s, k, p);
            }
        }
        Pattern::NM { n, m } => {
            for (s, p) in rows_iter {
                for (sg, pg) in s.chunks(m).zip(p.chunks_mut(m)) {
                    prune_lowest(sg, n, pg);
                }
            }
        }
    }
    Ok(mask)
}

/// The mask pruning the `floor(rows * cols * sparsity)` lowest scores of the whole matrix (the
/// magnitude baseline's comparison group). N:M patterns are per row by definition and go to
/// [`mask_per_row`].
pub fn mask_per_matrix(scores: &[f32], rows: usize, cols: usize, pattern: Pattern) -> Result<Mask> {
    check_scores(scores, rows, cols, pattern)?;
    match pattern {
        Pattern::Unstructured { sparsity } => {
            let mut mask = Mask::none(rows, cols);
            let k = (scores.len() as f64 * sparsity) as usize;
            prune_lowest(scores, k, &mut mask.pruned);
            Ok(mask)
        }
        Pattern::NM { .. } => mask_per_row(scores, rows, cols, pattern),
    }
}

fn check_scores(scores: &[f32], rows: usize, cols: usize, pattern: Pattern) -> Result<()> {
    if scores.len() != rows * cols {
        return Err(Error::invalid(format!(
            "{} scores for a {rows}x{cols} matrix",
            scores.len()
        )));
    }
    pattern.validate_for("the matrix", cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_row_prunes_the_lowest_of_each_row_exactly() {
        let scores = [3.0, 1.0, 2.0, 0.5, /**/ 1.0, 1.0, 1.0, 4.0];
        let m = mask_per_row(&scores, 2, 4, Pattern::Unstructured { sparsity: 0.5 }).unwrap();
        // Row 1 has a three-way tie at 1.0: the two lowest indices go.
        let expect = [false, true, false, true, true, true, false, false];
        assert_eq!(m.pruned, expect);
        // floor(3 * 0.5) = 1 per row.
        let m = mask_per_row(
            &[1.0, 0.0, 2.0],
            1,
            3,
            Pattern::Unstructured { sparsity: 0.5 },
        );
        assert_eq!(m.unwrap().pruned, [false, true, false]);
    }

    #[test]
    fn nm_keeps_m_minus_n_of_every_group() {
        let scores = [4.0, 3.0, 2.0, 1.0, 1.0, 2.0, 3.0, 4.0];
        let m = mask_per_row(&scores, 1, 8, Pattern::NM { n: 2, m: 4 }).unwrap();
        assert_eq!(
            m.pruned,
            [false, false, true, true, true, true, false, false]
        );
        let scores: Vec<f32> = (0..64).map(|i| ((i * 37) % 17) as f32).collect();
        let m = mask_per_row(&scores, 4, 16, Pattern::NM { n: 4, m: 8 }).unwrap();
        for g in m.pruned.chunks(8) {
            assert_eq!(g.iter().filter(|&&p| p).count(), 4);
        }
    }

    #[test]
    fn per_matrix_compares_across_rows() {
        let scores = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let m = mask_per_matrix(&scores, 2, 3, Pattern::Unstructured { sparsity: 0.5 }).unwrap();
        assert_eq!(m.pruned, [true, true, true, false, false, false]);
        let mut w = [1.0f32; 6];
        m.apply(&mut w);
        assert_eq!(w, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        assert_eq!(m.count(), 3);
    }

    #[test]
    fn bad_patterns_are_named() {
        let msg = |r: Result<Mask>| match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("{other:?}"),
        };
        let s = [0.0f32; 6];
        assert_eq!(
            msg(mask_per_row(
                &s,
                1,
                6,
                Pattern::Unstructured { sparsity: 1.0 }
            )),
            "sparsity 1 is outside [0, 1)"
        );
        assert_eq!(
            msg(mask_per_row(&s, 1, 6, Pattern::NM { n: 2, m: 4 })),
            "N:M pattern 2:4 does not divide the 6 columns of the matrix"
        );
        assert_eq!(
            msg(mask_per_row(&s, 1, 6, Pattern::NM { n: 3, m: 3 })),
            "N:M pattern 3:3: need 0 < N < M"
        );
        assert_eq!(
            msg(mask_per_row(&s, 2, 6, Pattern::NM { n: 1, m: 3 })),
            "6 scores for a 2x6 matrix"
        );
    }
}
