//! The training loop: sampled batches, the gradient, global-norm clipping, a warm-up + cosine
//! learning-rate schedule, the optimizer step, and held-out evaluation every few steps.

use super::data::TokenData;
use super::decoder::{Decoder, TokenBatch};
use super::params::Params;
use crate::math::{cos, sqrt};
use crate::model::generate::now;
use crate::model::sampling::Rng;
use crate::optim::Optimizer;
use crate::{Error, Result};
use alloc::format;
use alloc::vec::Vec;

/// Settings of [`train`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    pub steps: usize,
    /// Sequences per batch.
    pub rows: usize,
    /// Predictions per sequence.
    pub seq: usize,
    /// The peak learning rate.
    pub lr: f64,
    /// Steps of linear warm-up from 0 to `lr`.
    pub warmup: usize,
    /// The cosine schedule ends at `lr * min_lr_ratio` (1 keeps the rate constant).
    pub min_lr_ratio: f64,
    /// Clip the gradient's global L2 norm to this (`None`: no clipping).
    pub grad_clip: Option<f64>,
    /// Evaluate on the held-out windows every this many steps (and after the last); 0: never.
    pub eval_every: usize,
    /// At most this many held-out windows per evaluation.
    pub eval_windows: usize,
    /// Recompute each layer's activations in the backward instead of keeping them.
    pub checkpoint: bool,
    /// Seed of the batch sampler.
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            steps: 100,
            rows: 8,
            seq: 128,
            lr: 1e-3,
            warmup: 10,
            min_lr_ratio: 0.1,
            grad_clip: Some(1.0),
            eval_every: 50,
            eval_windows: 64,
            checkpoint: false,
            seed: 0,
        }
    }
}

impl TrainSettings {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.rows == 0 || self.seq == 0 {
            return Err(Error::invalid(format!(
                "steps ({}), rows ({}) and seq ({}) must all be positive",
                self.steps, self.rows, self.seq
            )));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::invalid(format!(
                "learning rate {} must be finite and > 0",
                self.lr
            )));
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return Err(Error::invalid(format!(
                "min_lr_ratio {} must lie in [0, 1]",
                self.min_lr_ratio
            )));
        }
        if let Some(c) = self.grad_clip {
            if !(c.is_finite() && c > 0.0) {
                return Err(Error::invalid(format!(
                    "grad_clip {c} must be finite and > 0"
                )));
            }
        }
        Ok(())
    }

    /// The learning rate of step `t` (1-based): `lr t / warmup` during warm-up, then
    /// `lr (r + (1 − r)(1 + cos(π p)) / 2)` with `p` the fraction of the remaining steps done.
    pub fn lr_at(&self, t: usize) -> f64 {
        if t <= self.warmup {
            return self.lr * t as f64 / self.warmup as f64;
        }
        let rest = (self.steps - self.warmup).max(1) as f64;
        let p = ((t - self.warmup) as f64 / rest).min(1.0);
        let r = self.min_lr_ratio;
        self.lr * (r + (1.0 - r) * (1.0 + cos(core::f64::consts::PI * p)) / 2.0)
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// 1-based.
    pub step: usize,
    /// The batch's mean cross-entropy before the update.
    pub loss: f32,
    pub lr: f64,
    /// The gradient's global L2 norm before clipping.
    pub grad_norm: f64,
    /// Wall time of the step (gradient and update), seconds.
    pub seconds: f64,
    /// Predictions per second of the step.
    pub tokens_per_s: f64,
    /// Bytes of optimizer state after the step.
    pub optimizer_bytes: usize,
    /// The held-out loss after the step, on the steps that evaluate.
    pub valid_loss: Option<f32>,
}

/// The mean cross-entropy over `data`'s held-out windows (at most `windows` of `seq`
/// predictions), evaluated `rows` windows at a time.
pub fn validation_loss(
    params: &Params,
    data: &TokenData,
    seq: usize,
    rows: usize,
    windows: usize,
) -> Result<f32> {
    let ws = data.validation_windows(seq, windows);
    if ws.is_empty() {
        return Err(Error::invalid(format!(
            "the held-out data holds {} tokens, fewer than one window of {}",
            data.valid_len(),
            seq + 1
        )));
    }
    let dec = Decoder::new(params);
    let mut total = 0f64;
    for group in ws.chunks(rows.max(1)) {
        let tokens: Vec<u32> = group.iter().flat_map(|w| w.iter().copied()).collect();
        let batch = TokenBatch {
            tokens: &tokens,
            rows: group.len(),
            seq,
        };
        total += dec.loss(&batch)? as f64 * group.len() as f64;
    }
    Ok((total / ws.len() as f64) as f32)
}

/// Trains `params` with `opt` (created for `params.layout.specs`) on `data`. `report` sees
/// every step; returning `false` stops with [`Error::Cancelled`] (the parameters keep the
/// steps taken). A step whose gradient is not finite is refused by the optimizer and ends the
/// run with its error, the parameters as they were before it.
pub fn train(
    params: &mut Params,
    opt: &mut dyn Optimizer,
    data: &TokenData,
    s: &TrainSettings,
    report: &mut dyn FnMut(&StepReport) -> bool,
) -> Result<Vec<StepReport>> {
    s.validate()?;
    data.check(s.seq)?;
    if opt.params() != params.layout.specs.as_slice() {
        return Err(Error::invalid(
            "the optimizer was created for other parameters than the model's",
        ));
    }
    let mut rng = Rng::new(s.seed);
    let mut tokens = Vec::new();
    let mut grads = params.zeros_like();
    let mut history = Vec::with_capacity(s.steps);
    for step in 1..=s.steps {
        let t0 = now();
        let batch = data.sample(&mut rng, s.rows, s.seq, &mut tokens)?;
        grads
            .iter_mut()
            .for_each(|g| g.iter_mut().for_each(|v| *v = 0.0));
        let loss = Decoder::new(params).loss_and_grad(&batch, &mut grads, s.checkpoint)?;
        let grad_norm = sqrt(
            grads
                .iter()
                .flat_map(|g| g.iter())
                .map(|&v| v as f64 * v as f64)
                .sum(),
        );
        if let Some(c) = s.grad_clip {
            if grad_norm > c {
                let k = (c / grad_norm) as f32;
                grads
                    .iter_mut()
                    .for_each(|g| g.iter_mut().for_each(|v| *v *= k));
            }
        }
        let lr = s.lr_at(step);
        opt.set_lr(lr.max(f64::MIN_POSITIVE))?;
        let mut ps: Vec<&mut [f32]> = params.tensors.iter_mut().map(Vec::as_mut_slice).collect();
        let gs: Vec<&[f32]> = grads.iter().map(Vec::as_slice).collect();
        opt.step(&mut ps, &gs)?;
        let seconds = now() - t0;
        let evaluate = s.eval_every > 0 && (step % s.eval_every == 0 || step == s.steps);
        let valid_loss = if evaluate {
            Some(validation_loss(
                params,
                data,
                s.seq,
                s.rows,
                s.eval_windows,
            )?)
        } else {
            None
        };
        let r = StepReport {
            step,
            loss,
            lr,
            grad_norm,
            seconds,
            tokens_per_s: (s.rows * s.seq) as f64 / seconds.max(1e-9),
            optimizer_bytes: opt.state_bytes().total,
            valid_loss,
        };
        let go_on = report(&r);
        history.push(r);
        if !go_on {
            return Err(Error::Cancelled);
        }
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Arch, ModelConfig};
    use crate::optim::{AdamW, AdamWParams, Adapprox, AdapproxParams, Optimizer};
    use alloc::boxed::Box;
    use alloc::vec;

    fn tiny() -> ModelConfig {
        ModelConfig {
            arch: Arch::Llama,
            name: "tiny".into(),
            n_layer: 2,
            d_model: 32,
            d_ffn: 48,
            n_head: 4,
            n_kv_head: 2,
            head_dim: 8,
            vocab_size: 13,
            context_length: 64,
            rope_theta: 10000.0,
            rms_eps: 1e-5,
        }
    }

    /// A stream that repeats a period-7 pattern: after a few tokens it is fully predictable.
    fn pattern(len: usize) -> Vec<u32> {
        (0..len).map(|i| [3u32, 1, 4, 1, 5, 9, 2][i % 7]).collect()
    }

    #[test]
    fn the_schedule_warms_up_then_follows_the_cosine() {
        let s = TrainSettings {
            steps: 110,
            warmup: 10,
            lr: 1.0,
            min_lr_ratio: 0.1,
            ..TrainSettings::default()
        };
        assert_eq!(s.lr_at(5), 0.5);
        assert_eq!(s.lr_at(10), 1.0);
        assert!((s.lr_at(60) - 0.55).abs() < 1e-12);
        assert!((s.lr_at(110) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn adamw_and_adapprox_learn_a_repeating_pattern() {
        let data = TokenData::split(pattern(2000), 0.1).unwrap();
        let s = TrainSettings {
            steps: 60,
            rows: 4,
            seq: 16,
            lr: 1e-2,
            warmup: 5,
            eval_every: 60,
            eval_windows: 8,
            ..TrainSettings::default()
        };
        let p0 = Params::init(tiny(), true, 7);
        let before = validation_loss(&p0, &data, 16, 4, 8).unwrap();
        let specs = p0.layout.specs.clone();
        let opts: Vec<Box<dyn Optimizer>> = vec![
            Box::new(AdamW::create(AdamWParams::default(), specs.clone()).unwrap()),
            Box::new(Adapprox::create(AdapproxParams::default(), specs).unwrap()),
        ];
        for mut opt in opts {
            let mut p = p0.clone();
            let hist = train(&mut p, opt.as_mut(), &data, &s, &mut |_| true).unwrap();
            let after = hist.last().unwrap().valid_loss.unwrap();
            assert!(
                after < 0.25 * before,
                "{}: held-out loss {before} -> {after}",
                opt.name()
            );
            assert!(hist
                .iter()
                .all(|r| r.loss.is_finite() && r.optimizer_bytes > 0));
        }
    }

    #[test]
    fn a_callback_can_stop_the_run() {
        let data = TokenData::split(pattern(500), 0.2).unwrap();
        let mut p = Params::init(tiny(), true, 1);
        let mut opt = AdamW::create(AdamWParams::default(), p.layout.specs.clone()).unwrap();
        let s = TrainSettings {
            steps: 10,
            rows: 2,
            seq: 8,
            ..TrainSettings::default()
        };
        let mut seen = 0;
        let r = train(&mut p, &mut opt, &data, &s, &mut |_| {
            seen += 1;
            seen < 3
        });
        assert!(matches!(r, Err(Error::Cancelled)));
        assert_eq!(opt.steps(), 3);
        let other = Params::init(
            ModelConfig {
                n_layer: 1,
                ..tiny()
            },
            true,
            1,
        );
        let mut opt = AdamW::create(AdamWParams::default(), other.layout.specs.clone()).unwrap();
        assert!(train(&mut p, &mut opt, &data, &s, &mut |_| true).is_err());
    }
}
