//! OWL, outlier-weighed layerwise sparsity (Yin et al. 2024, "Outlier Weighed Layerwise
//! Sparsity: A Missing Secret Sauce for Pruning LLMs to High Sparsity"): layers with more
//! outlier features are pruned less, the layers' sparsities averaging to the target.
//!
//! For each decoder layer `l`, pool the Wanda scores `|W_ij| ||X_j||_2` of all its operators
//! (on the dense model and its inputs) and take the layer outlier distribution
//!
//! ```text
//! LOD_l = #{ scores > M * mean(scores) } / #scores                                  (1)
//! ```
//!
//! then scale the LODs to `r_l = (LOD_l - min LOD) / (max LOD - min LOD) * 2 lambda` and set
//! the layer's density to `1 - S + (r_l - mean r)` (2), so its sparsity is
//! `s_l = S - (r_l - mean r)`: the mean of the `s_l` is `S` exactly and they lie within
//! `S ± 2 lambda`, which must stay inside `[0, 1)` (checked, so no clamping moves the mean).
//! The authors use `M = 5` and `lambda = 0.08` at 70% unstructured.
//!
//! N:M patterns (our decision; the paper's code does not say how ratios map to patterns): a
//! layer's pattern keeps `M` and takes `n_l` zeros per group, with `n_l` the layer's `s_l * M`
//! rounded by largest remainder so that `Σ n_l = L * n` (the model's sparsity stays the target's
//! exactly), each `n_l` within `1..M`. With M = 4 the steps are 25 points, so most layers stay
//! at the target and a few move a whole step; with M = 8 the steps are 12.5 points. Hardware
//! that runs only 2:4 cannot use the mixed result.

use super::pattern::Pattern;
use crate::{Error, Result};
use alloc::format;
use alloc::vec::Vec;

/// OWL's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OwlParams {
    /// Outlier threshold as a multiple of the layer's mean score (M): 5.
    pub m: f64,
    /// Half the spread of the layer sparsities around the target (lambda): 0.08.
    pub lambda: f64,
}

impl Default for OwlParams {
    fn default() -> Self {
        OwlParams {
            m: 5.0,
            lambda: 0.08,
        }
    }
}

impl OwlParams {
    /// Checks the settings against the target pattern: `M > 0`, `lambda >= 0`, and
    /// `S ± 2 lambda` inside `[0, 1)`.
    pub fn validate_for(&self, pattern: Pattern) -> Result<()> {
        let s = pattern.sparsity();
        let sane =
            self.m > 0.0 && self.m.is_finite() && self.lambda.is_finite() && self.lambda >= 0.0;
        if !sane {
            return Err(Error::invalid(format!(
                "OWL needs M > 0 and lambda >= 0; got M = {} and lambda = {}",
                self.m, self.lambda
            )));
        }
        if s - 2.0 * self.lambda < 0.0 || s + 2.0 * self.lambda >= 1.0 {
            return Err(Error::invalid(format!(
                "OWL lambda {} spreads the layer sparsities over {:.3}..{:.3} around {s}: \
                 they must stay inside [0, 1); use a smaller lambda",
                self.lambda,
                s - 2.0 * self.lambda,
                s + 2.0 * self.lambda
            )));
        }
        Ok(())
    }
}

/// `LOD` (1) of a layer's pooled scores: the fraction above `m` times their mean.
pub fn outlier_ratio(scores: &[&[f32]], m: f64) -> f64 {
    let count: usize = scores.iter().map(|s| s.len()).sum();
    if count == 0 {
        return 0.0;
    }
    let sum: f64 = scores
        .iter()
        .flat_map(|s| s.iter())
        .map(|&v| v as f64)
        .sum();
    let threshold = m * sum / count as f64;
    let above = scores
        .iter()
        .flat_map(|s| s.iter())
        .filter(|&&v| v as f64 > threshold)
        .count();
    above as f64 / count as f64
}

/// The layers' sparsities (2) from their outlier ratios, averaging to `target`.
pub fn layer_sparsities(lods: &[f64], target: f64, lambda: f64) -> Vec<f64> {
    let (lo, hi) = lods
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if lods.is_empty() || hi <= lo {
        return alloc::vec![target; lods.len()];
    }
    let r: Vec<f64> = lods
        .iter()
        .map(|&v| (v - lo) / (hi - lo) * 2.0 * lambda)
        .collect();
    let mean = r.iter().sum::<f64>() / r.len() as f64;
    r.iter().map(|&ri| target - (ri - mean)).collect()
}

/// Each layer's pattern for its OWL sparsity (see the module docs for N:M).
pub fn layer_patterns(sparsities: &[f64], pattern: Pattern) -> Vec<Pattern> {
    match pattern {
        Pattern::Unstructured { .. } => sparsities
            .iter()
            .map(|&s| Pattern::Unstructured { sparsity: s })
            .collect(),
        Pattern::NM { n, m } => {
            let want: Vec<f64> = sparsities
                .iter()
                .map(|&s| (s * m as f64).clamp(1.0, (m - 1) as f64))
                .collect();
            // `want` is at least 1, so truncation is the floor.
            let mut ns: Vec<usize> = want.iter().map(|&v| v as usize).collect();
            let frac: Vec<f64> = want.iter().zip(&ns).map(|(&v, &k)| v - k as f64).collect();
            let total = n * sparsities.len();
            let mut order: Vec<usize> = (0..want.len()).collect();
            // Largest fractional part first; ties to the lower layer.
            order.sort_by(|&a, &b| frac[b].total_cmp(&frac[a]).then(a.cmp(&b)));
            let mut have: usize = ns.iter().sum();
            for &l in order.iter().cycle().take(2 * order.len()) {
                if have >= total {
                    break;
                }
                if ns[l] + 1 < m {
                    ns[l] += 1;
                    have += 1;
                }
            }
            for &l in order.iter().rev().cycle().take(2 * order.len()) {
                if have <= total {
                    break;
                }
                if ns[l] > 1 {
                    ns[l] -= 1;
                    have -= 1;
                }
            }
            ns.into_iter().map(|n| Pattern::NM { n, m }).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_are_counted_against_the_pooled_mean() {
        // Mean of the pooled 10 scores is 2.8; 5 x 2.8 = 14: only the 20 is above.
        let a = [1.0f32, 1.0, 1.0, 1.0, 20.0];
        let b = [1.0f32, 1.0, 1.0, 0.0, 1.0];
        assert_eq!(outlier_ratio(&[&a, &b], 5.0), 0.1);
        assert_eq!(outlier_ratio(&[&b], 5.0), 0.0);
    }

    #[test]
    fn ratios_average_to_the_target_and_favour_outliers() {
        let lods = [0.01, 0.05, 0.02, 0.08, 0.03];
        for target in [0.5, 0.7] {
            let s = layer_sparsities(&lods, target, 0.08);
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            assert!((mean - target).abs() < 1e-12, "{mean}");
            // The most outliers (layer 3) prunes least, the fewest (layer 0) most; the spread
            // is 2 lambda.
            assert!(
                s[3] < s[1] && s[1] < s[4] && s[4] < s[2] && s[2] < s[0],
                "{s:?}"
            );
            assert!((s[0] - s[3] - 0.16).abs() < 1e-12);
        }
        // Equal LODs: every layer at the target.
        assert_eq!(layer_sparsities(&[0.1; 3], 0.6, 0.08), [0.6; 3]);
    }

    #[test]
    fn nm_layers_keep_the_model_at_the_target() {
        let s = layer_sparsities(&[0.01, 0.05, 0.02, 0.08, 0.03, 0.04], 0.5, 0.08);
        for (n, m) in [(2usize, 4usize), (4, 8)] {
            let p = layer_patterns(&s, Pattern::NM { n, m });
            let ns: Vec<usize> = p
                .iter()
                .map(|p| match p {
                    Pattern::NM { n, .. } => *n,
                    _ => unreachable!(),
                })
                .collect();
            assert_eq!(ns.iter().sum::<usize>(), n * s.len(), "{ns:?}");
            assert!(ns.iter().all(|&k| (1..m).contains(&k)));
            // The layer with the most outliers (3) is pruned no more than the one with the
            // fewest (0).
            assert!(ns[3] <= ns[0], "{ns:?}");
        }
    }

    #[test]
    fn settings_that_leave_0_1_are_refused() {
        use alloc::string::ToString;
        let p = OwlParams {
            m: 5.0,
            lambda: 0.2,
        };
        let err = p
            .validate_for(Pattern::Unstructured { sparsity: 0.7 })
            .unwrap_err();
        assert!(err.to_string().contains("0.300..1.100"), "{err}");
        assert!(OwlParams::default()
            .validate_for(Pattern::Unstructured { sparsity: 0.7 })
            .is_ok());
    }
}
