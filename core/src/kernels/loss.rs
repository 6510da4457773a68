//! The cross-entropy loss of next-token prediction over one row of logits, and its backward.

use crate::math::{expf, ln};
use crate::{Error, Result};
use alloc::format;

/// `ln Σ_i e^(logits[i])`, computed stably as `m + ln Σ_i e^(logits[i] − m)` with `m` the
/// largest logit: each exponential in f32 (its argument is `<= 0`, so it cannot overflow and is
/// accurate to an ulp), their sum and the logarithm in f64 in index order. `-inf` logits add
/// nothing; the row must hold at least one finite logit (else the result is NaN).
pub fn log_sum_exp(logits: &[f32]) -> f64 {
    let max = max_logit(logits);
    max as f64 + ln(logits.iter().map(|&l| expf(l - max) as f64).sum())
}

fn max_logit(logits: &[f32]) -> f32 {
    logits.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// Checks that `target` is a valid index into a row of `vocab` logits.
fn check_target(target: u32, vocab: usize) -> Result<usize> {
    match target as usize {
        t if t < vocab => Ok(t),
        _ => Err(Error::TokenOutOfRange {
            id: target,
            vocab_size: vocab,
        }),
    }
}

/// Cross-entropy of one row: `−ln softmax(logits)[target] = lse(logits) − logits[target]`, with
/// `lse` from [`log_sum_exp`] (f64), the difference rounded to f32 once.
///
/// A `target` outside the row is [`Error::TokenOutOfRange`] (naming it and the vocabulary size).
pub fn cross_entropy(logits: &[f32], target: u32) -> Result<f32> {
    let t = check_target(target, logits.len())?;
    Ok((log_sum_exp(logits) - logits[t] as f64) as f32)
}

/// Backward of `scale * cross_entropy(logits, target)`, returning the cross-entropy too: with
/// `p = softmax(logits)`,
///
/// ```text
/// ∂L/∂logits_i = scale · (p_i − [i = target])      (written to dlogits)
/// ```
///
/// One pass of exponentials serves both: `e_i = e^(logits_i − m)` ([`log_sum_exp`]'s terms) is
/// kept in `dlogits`, `p_i = e_i / Σ e`, and the loss is `m + ln Σ e − logits_target` as
/// [`cross_entropy`] computes it. `scale` is typically `1 / tokens` for a mean loss. A `target`
/// outside the row is [`Error::TokenOutOfRange`]; `dlogits` shorter or longer than `logits` is
/// [`Error::InvalidArgument`]; on error `dlogits` is left untouched.
pub fn cross_entropy_backward(
    logits: &[f32],
    target: u32,
    scale: f32,
    dlogits: &mut [f32],
) -> Result<f32> {
    let t = check_target(target, logits.len())?;
    if dlogits.len() != logits.len() {
        return Err(Error::invalid(format!(
            "cross-entropy gradient of {} floats for a row of {} logits",
            dlogits.len(),
            logits.len()
        )));
    }
    let max = max_logit(logits);
    let mut sum = 0f64;
    for (d, &l) in dlogits.iter_mut().zip(logits) {
        *d = expf(l - max);
        sum += *d as f64;
    }
    let k = (scale as f64 / sum) as f32;
    dlogits.iter_mut().for_each(|d| *d *= k);
    dlogits[t] -= scale;
    Ok((max as f64 + ln(sum) - logits[t] as f64) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{check_directional, TestRng};
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn closed_form_on_three_logits() {
        // logits ln 1, ln 2, ln 3: p = (1/6, 2/6, 3/6); loss at target 2 is ln 2.
        let logits = [0.0f32, 2f32.ln(), 3f32.ln()];
        let loss = cross_entropy(&logits, 2).unwrap();
        assert!((loss as f64 - 2f64.ln()).abs() < 1e-7, "{loss}");
        assert!((cross_entropy(&logits, 0).unwrap() as f64 - 6f64.ln()).abs() < 1e-6);
        let mut d = [0f32; 3];
        let l2 = cross_entropy_backward(&logits, 2, 0.5, &mut d).unwrap();
        assert_eq!(l2, loss, "the backward returns the forward's loss");
        let want = [0.5 / 6.0, 0.5 * 2.0 / 6.0, 0.5 * (3.0 / 6.0 - 1.0)];
        for i in 0..3 {
            assert!(
                (d[i] as f64 - want[i]).abs() < 1e-7,
                "{i}: {} vs {}",
                d[i],
                want[i]
            );
        }
    }

    #[test]
    fn large_and_masked_logits_stay_finite() {
        // Two equal logits of 1000 (e^1000 overflows without the max): ln 2.
        let loss = cross_entropy(&[1000.0, 1000.0], 0).unwrap();
        assert!((loss as f64 - 2f64.ln()).abs() < 1e-7, "{loss}");
        // A masked logit gets probability 0 and gradient 0; the target's logit 30 above the
        // rest gives a loss of ln(1 + e^-30) ≈ e^-30, resolved by the f64 sum to a few percent
        // (an f32 log-sum-exp would round it to 0).
        let logits = [30.0, 0.0, f32::NEG_INFINITY];
        let loss = cross_entropy(&logits, 0).unwrap() as f64;
        let want = (-30f64).exp();
        assert!((loss - want).abs() < 0.05 * want, "{loss} vs {want}");
        let mut d = [9f32; 3];
        cross_entropy_backward(&logits, 1, 1.0, &mut d).unwrap();
        assert_eq!(d[2], 0.0);
        assert!((d[1] + 1.0).abs() < 1e-6 && d[0] > 0.999);
    }

    #[test]
    fn backward_matches_central_differences() {
        // Logits of scale 4 over vocabularies up to 5000; h = 1e-2, relative 1e-3.
        let mut rng = TestRng::new(31);
        for vocab in [2usize, 10, 257, 5000] {
            for _ in 0..3 {
                let logits: Vec<f32> = rng.vec(vocab).iter().map(|v| v * 4.0).collect();
                let target = (rng.next_u64() % vocab as u64) as u32;
                let scale = 0.5 + rng.uniform().abs();
                let mut d = vec![0f32; vocab];
                cross_entropy_backward(&logits, target, scale, &mut d).unwrap();
                let what = alloc::format!("vocab {vocab} target {target}");
                check_directional(&mut rng, &what, &logits, &d, 1e-2, 1e-3, |l| {
                    scale as f64 * cross_entropy(l, target).unwrap() as f64
                });
                // Softmax minus a one-hot: the gradient sums to zero.
                let total: f64 = d.iter().map(|&v| v as f64).sum();
                assert!(total.abs() < 1e-6, "vocab {vocab}: Σ = {total}");
            }
        }
    }

    #[test]
    fn bad_target_and_length_are_errors() {
        let logits = [0.0f32; 5];
        let bad = Err(Error::TokenOutOfRange {
            id: 5,
            vocab_size: 5,
        });
        assert_eq!(cross_entropy(&logits, 5), bad);
        let mut d = [7f32; 5];
        assert_eq!(cross_entropy_backward(&logits, 5, 1.0, &mut d), bad);
        assert_eq!(d, [7.0; 5], "untouched on error");
        let msg = alloc::string::ToString::to_string(&cross_entropy(&[], 0).unwrap_err());
        assert!(
            msg.contains("token id 0") && msg.contains("vocabulary of 0"),
            "{msg}"
        );
        let mut short = [0f32; 4];
        let Err(Error::InvalidArgument(m)) = cross_entropy_backward(&logits, 1, 1.0, &mut short)
        else {
            panic!("a short gradient row must be refused");
        };
        assert!(m.contains('4') && m.contains('5'), "{m}");
    }
}
