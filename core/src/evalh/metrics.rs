//! Per-document metrics and their aggregation, as lm-evaluation-harness defines them, with
//! bootstrap standard errors.

use crate::math::sqrt;
use crate::model::sampling::Rng;
use alloc::vec::Vec;

/// Index of the largest score, the first on ties (numpy's `argmax`).
pub fn argmax_f64(xs: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// The choice a multiple-choice metric picks from the log-likelihoods `lls`:
/// `acc` argmax ll; `acc_norm` argmax ll / len(choice in characters);
/// `acc_bytes` argmax ll / len(choice in UTF-8 bytes). Lengths count the choice text alone,
/// not the target delimiter before it (lm-eval's `completion_len`).
pub fn pick(lls: &[f64], choices: &[&str], normalize: Normalize) -> usize {
    let scores: Vec<f64> = lls
        .iter()
        .zip(choices)
        .map(|(&ll, c)| match normalize {
            Normalize::None => ll,
            Normalize::Chars => ll / c.chars().count() as f64,
            Normalize::Bytes => ll / c.len() as f64,
        })
        .collect();
    argmax_f64(&scores)
}

/// How a multiple-choice metric normalizes the log-likelihoods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalize {
    None,
    Chars,
    Bytes,
}

/// Exact match after trimming surrounding whitespace on both sides.
pub fn exact_match(prediction: &str, target: &str) -> f64 {
    (prediction.trim() == target.trim()) as u8 as f64
}

/// Length of the longest common subsequence of two word sequences (O(|a| |b|) time,
/// O(|b|) memory).
pub fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row = alloc::vec![0usize; b.len() + 1];
    for x in a {
        let mut diag = 0;
        for (j, y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y { diag + 1 } else { up.max(row[j]) };
            diag = up;
        }
    }
    row[b.len()]
}

/// Word-level LCS F1 (SynEval's blank score): with words split on whitespace and compared
/// case-insensitively, P = LCS / |prediction|, R = LCS / |target|, F1 = 2PR / (P + R);
/// 1 when both are empty, 0 when only one is.
pub fn lcs_f1(prediction: &str, target: &str) -> f64 {
    let words = |s: &str| -> Vec<alloc::string::String> {
        s.split_whitespace().map(|w| w.to_lowercase()).collect()
    };
    let (p, t) = (words(prediction), words(target));
    if p.is_empty() || t.is_empty() {
        return (p.is_empty() && t.is_empty()) as u8 as f64;
    }
    let l = lcs_len(&p, &t) as f64;
    if l == 0.0 {
        return 0.0;
    }
    let (precision, recall) = (l / p.len() as f64, l / t.len() as f64);
    2.0 * precision * recall / (precision + recall)
}

/// Mean of `xs` (0 for none).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Sample standard error of the mean, `sd(xs, ddof = 1) / sqrt(n)` (lm-eval's `mean_stderr`).
pub fn mean_stderr(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
    sqrt(var / n as f64)
}

/// Bootstrap standard error of `statistic` over `n` documents: the standard deviation
/// (ddof = 1) of the statistic over `iters` resamples of the document indices with
/// replacement, drawn from `seed`. For a mean it converges to [`mean_stderr`].
pub fn bootstrap_stderr(
    n: usize,
    iters: usize,
    seed: u64,
    statistic: &dyn Fn(&[usize]) -> f64,
) -> f64 {
    if n < 2 || iters < 2 {
        return 0.0;
    }
    let mut rng = Rng::new(seed);
    let mut idx = alloc::vec![0usize; n];
    let stats: Vec<f64> = (0..iters)
        .map(|_| {
            for i in idx.iter_mut() {
                *i = (rng.next_u64() % n as u64) as usize;
            }
            statistic(&idx)
        })
        .collect();
    let m = mean(&stats);
    sqrt(stats.iter().map(|s| (s - m) * (s - m)).sum::<f64>() / (iters - 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiple_choice_picks_by_raw_and_normalized_likelihood() {
        let choices = ["a", "much longer", "é"];
        let lls = [-2.0, -5.5, -2.0];
        assert_eq!(
            pick(&lls, &choices, Normalize::None),
            0,
            "first of tied maxima"
        );
        // Per character: -2, -0.5, -2.
        assert_eq!(pick(&lls, &choices, Normalize::Chars), 1);
        // "é" is one character but two bytes: per byte -2, -0.5, -0.45; per character -0.9.
        assert_eq!(pick(&[-2.0, -5.5, -0.9], &choices, Normalize::Bytes), 2);
        assert_eq!(pick(&[-2.0, -5.5, -0.9], &choices, Normalize::Chars), 1);
        assert_eq!(pick(&[-2.0, -5.5, -1.1], &choices, Normalize::Bytes), 1);
        assert_eq!(pick(&[-2.0, -5.5, -1.1], &choices, Normalize::Chars), 1);
    }

    #[test]
    fn exact_match_trims_only_the_ends() {
        assert_eq!(exact_match(" Paris\n", "Paris"), 1.0);
        assert_eq!(exact_match("paris", "Paris"), 0.0);
        assert_eq!(exact_match("Par is", "Paris"), 0.0);
    }

    #[test]
    fn lcs_f1_on_hand_made_cases() {
        assert_eq!(lcs_len(&[1, 2, 3, 4], &[2, 4, 3]), 2);
        assert_eq!(lcs_f1("the old man", "The old man"), 1.0);
        // LCS("the man" , "the old man") = 2: P = 1, R = 2/3, F1 = 0.8.
        assert!((lcs_f1("the man", "the old man") - 0.8).abs() < 1e-12);
        // LCS = 1 ("b"): P = 1/3, R = 1/2, F1 = 0.4.
        assert!((lcs_f1("a b c", "b d") - 0.4).abs() < 1e-12);
        assert_eq!(lcs_f1("x y", "z"), 0.0);
        assert_eq!(lcs_f1("", ""), 1.0);
        assert_eq!(lcs_f1("", "a"), 0.0);
    }

    #[test]
    fn bootstrap_stderr_of_a_mean_matches_the_closed_form() {
        let xs: Vec<f64> = (0..400)
            .map(|i| ((i * 7919) % 10 < 3) as u8 as f64)
            .collect();
        let closed = mean_stderr(&xs);
        let stat = |idx: &[usize]| idx.iter().map(|&i| xs[i]).sum::<f64>() / idx.len() as f64;
        let boot = bootstrap_stderr(xs.len(), 4000, 7, &stat);
        // sqrt(p(1-p)/(n-1)) with p = 0.3: 0.02294; the bootstrap's own error is ~1-2%.
        assert!((closed - 0.022941).abs() < 1e-5, "{closed}");
        assert!((boot / closed - 1.0).abs() < 0.05, "{boot} vs {closed}");
        assert_eq!(
            bootstrap_stderr(xs.len(), 100, 1, &stat),
            bootstrap_stderr(xs.len(), 100, 1, &stat)
        );
    }
}
