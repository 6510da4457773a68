//! AdamW (Kingma & Ba 2015; decoupled weight decay, Loshchilov & Hutter 2019), as
//! `torch.optim.AdamW` computes it:
//!
//! `p ← p (1 − η λ)`, `m ← m + (1 − β1)(g − m)`, `v ← β2 v + (1 − β2) g²`,
//! `p ← p − (η / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + ε)`.
//!
//! State: two full-size moments, 8 bytes per parameter value.

use super::{check_beta, check_positive, f32_bytes, ParamShape, ParamSpec, Rule, Stepper};
use crate::math::{pow, sqrt, sqrtf};
use crate::Result;
use alloc::vec;
use alloc::vec::Vec;

/// AdamW's hyperparameters (defaults: torch's, weight decay 0.01).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWParams {
    fn default() -> Self {
        AdamWParams {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

impl AdamWParams {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<()> {
        super::check_lr(self.lr)?;
        check_beta("beta1", self.beta1)?;
        check_beta("beta2", self.beta2)?;
        check_positive("eps", self.eps, true)?;
        check_positive("weight_decay", self.weight_decay, false)
    }
}

/// AdamW over declared parameters.
pub type AdamW = Stepper<AdamWParams>;

impl AdamW {
    /// AdamW for `params` (every value starts with zero moments).
    pub fn create(hp: AdamWParams, params: Vec<ParamSpec>) -> Result<Self> {
        hp.validate()?;
        Stepper::new(hp, params)
    }
}

/// The two moments of one parameter.
pub struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Rule for AdamWParams {
    type State = Moments;
    const NAME: &'static str = "adamw";

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn init(&self, spec: &ParamSpec, _index: usize) -> Moments {
        let n = spec.shape.len();
        Moments {
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    fn update(&self, s: &mut Moments, _shape: ParamShape, t: u64, p: &mut [f32], g: &[f32]) {
        // Scalars as torch forms them: in f64, then used as f32.
        let bc1 = 1.0 - pow(self.beta1, t as f64);
        let bc2_sqrt = sqrt(1.0 - pow(self.beta2, t as f64)) as f32;
        let step = (self.lr / bc1) as f32;
        let decay = (1.0 - self.lr * self.weight_decay) as f32;
        let (b1c, b2, b2c) = (
            (1.0 - self.beta1) as f32,
            self.beta2 as f32,
            (1.0 - self.beta2) as f32,
        );
        let eps = self.eps as f32;
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(&mut s.m).zip(&mut s.v) {
            *p *= decay;
            *m += b1c * (g - *m);
            *v = b2 * *v + b2c * g * g;
            *p -= step * *m / (sqrtf(*v) / bc2_sqrt + eps);
        }
    }

    fn state_of(s: &Moments) -> (usize, Option<super::Factors>) {
        (f32_bytes(s.m.len() + s.v.len()), None)
    }

    fn scratch_bytes(&self, _shape: ParamShape) -> usize {
        0
    }
}
