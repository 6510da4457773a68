//! Adafactor (Shazeer & Stern 2018) as Hugging Face transformers' `Adafactor` computes it:
//! with `β2_t = 1 − t^c` (decay rate `c = −0.8`) and `x = g² + ε1`, a matrix keeps the factored
//! second moment of [`super::factored`], a vector the full one (`v ← β2_t v + (1 − β2_t) x`);
//! the update `u = g / sqrt(v̂)` is clipped by RMS (`u / max(1, RMS(u) / d)`, Eq. 7), scaled by
//! the step size `α_t`, optionally averaged (`m ← β1 m + (1 − β1) u`, then `u = m`), and applied
//! after decoupled weight decay: `p ← p − α_t λ p − u`.
//!
//! `α_t` is the learning rate, or with the relative step `min(10⁻², 1/sqrt(t))`
//! (`min(10⁻⁶ t, 1/sqrt(t))` with warm-up init); with parameter scaling it is multiplied by
//! `max(ε2, RMS(p))`. Relative step and parameter scaling are off by default here (transformers
//! turns both on): the learning rate is the caller's, as with every other optimizer.

use super::factored::Factored;
use super::{
    check_beta, check_positive, clip_by_rms, f32_bytes, rms, ParamShape, ParamSpec, Rule, Stepper,
};
use crate::math::{pow, sqrt, sqrtf};
use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Adafactor's hyperparameters (defaults: transformers' with the relative step and parameter
/// scaling off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdafactorParams {
    pub lr: f64,
    /// `ε1`, added to `g²`.
    pub eps1: f64,
    /// `ε2`, the floor of the parameter scale.
    pub eps2: f64,
    /// The clipping threshold `d`.
    pub clip: f64,
    /// `c` in `β2_t = 1 − t^c`, in [-1, 0).
    pub decay_rate: f64,
    /// The first moment's decay, or none (the memory-lean default).
    pub beta1: Option<f64>,
    pub weight_decay: f64,
    pub scale_parameter: bool,
    pub relative_step: bool,
    pub warmup_init: bool,
}

impl Default for AdafactorParams {
    fn default() -> Self {
        AdafactorParams {
            lr: 1e-3,
            eps1: 1e-30,
            eps2: 1e-3,
            clip: 1.0,
            decay_rate: -0.8,
            beta1: None,
            weight_decay: 0.0,
            scale_parameter: false,
            relative_step: false,
            warmup_init: false,
        }
    }
}

impl AdafactorParams {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<()> {
        super::check_lr(self.lr)?;
        check_positive("eps1", self.eps1, true)?;
        check_positive("eps2", self.eps2, true)?;
        check_positive("clip", self.clip, true)?;
        if !(self.decay_rate >= -1.0 && self.decay_rate < 0.0) {
            return Err(Error::invalid(format!(
                "decay_rate = {} must lie in [-1, 0)",
                self.decay_rate
            )));
        }
        if let Some(b) = self.beta1 {
            check_beta("beta1", b)?;
        }
        if self.warmup_init && !self.relative_step {
            return Err(Error::invalid("warmup_init needs relative_step"));
        }
        check_positive("weight_decay", self.weight_decay, false)
    }

    /// `α_t` for a parameter whose RMS is `p_rms`.
    fn step_size(&self, t: u64, p_rms: f32) -> f32 {
        let mut lr = self.lr;
        if self.relative_step {
            let min_step = if self.warmup_init {
                1e-6 * t as f64
            } else {
                1e-2
            };
            lr = min_step.min(1.0 / sqrt(t as f64));
        }
        if self.scale_parameter {
            // transformers multiplies the Python float by the f32 RMS tensor.
            return lr as f32 * (self.eps2 as f32).max(p_rms);
        }
        lr as f32
    }
}

/// Adafactor over declared parameters.
pub type Adafactor = Stepper<AdafactorParams>;

impl Adafactor {
    /// Adafactor for `params`.
    pub fn create(hp: AdafactorParams, params: Vec<ParamSpec>) -> Result<Self> {
        hp.validate()?;
        Stepper::new(hp, params)
    }
}

/// A second moment: factored for matrices, full for vectors.
pub enum SecondMoment {
    Factored(Factored),
    Full(Vec<f32>),
}

impl SecondMoment {
    pub(crate) fn new(shape: ParamShape) -> Self {
        match shape {
            ParamShape::Matrix { rows, cols } => SecondMoment::Factored(Factored::new(rows, cols)),
            ParamShape::Vector { len } => SecondMoment::Full(vec![0.0; len]),
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        match self {
            SecondMoment::Factored(f) => f.bytes(),
            SecondMoment::Full(v) => f32_bytes(v.len()),
        }
    }

    /// Folds in `x = g² + eps1` with decay `beta` and writes `u = g / sqrt(v̂)`.
    pub(crate) fn normalize(&mut self, g: &[f32], eps1: f64, beta: f64, u: &mut [f32]) {
        let (eps1, b, bc) = (eps1 as f32, beta as f32, (1.0 - beta) as f32);
        match self {
            SecondMoment::Factored(f) => {
                u.iter_mut().zip(g).for_each(|(x, &g)| *x = g * g + eps1);
                f.accumulate(u, beta);
                u.copy_from_slice(g);
                f.scale_by_rsqrt(u);
            }
            SecondMoment::Full(v) => {
                for ((u, v), &g) in u.iter_mut().zip(v.iter_mut()).zip(g) {
                    *v = b * *v + bc * (g * g + eps1);
                    *u = (1.0 / sqrtf(*v)) * g;
                }
            }
        }
    }
}

/// One parameter's Adafactor state.
pub struct AdafactorState {
    v: SecondMoment,
    m: Option<Vec<f32>>,
}

impl Rule for AdafactorParams {
    type State = AdafactorState;
    const NAME: &'static str = "adafactor";

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn init(&self, spec: &ParamSpec, _index: usize) -> AdafactorState {
        AdafactorState {
            v: SecondMoment::new(spec.shape),
            m: self.beta1.map(|_| vec![0.0; spec.shape.len()]),
        }
    }

    fn update(&self, s: &mut AdafactorState, _shape: ParamShape, t: u64, p: &mut [f32], g: &[f32]) {
        let lr = self.step_size(t, rms(p));
        let beta2t = 1.0 - pow(t as f64, self.decay_rate);
        let mut u = vec![0f32; g.len()];
        s.v.normalize(g, self.eps1, beta2t, &mut u);
        clip_by_rms(&mut u, self.clip);
        u.iter_mut().for_each(|x| *x *= lr);
        if let (Some(m), Some(b1)) = (&mut s.m, self.beta1) {
            let (b, bc) = (b1 as f32, (1.0 - b1) as f32);
            for (m, x) in m.iter_mut().zip(u.iter_mut()) {
                *m = b * *m + bc * *x;
                *x = *m;
            }
        }
        let decay = self.weight_decay as f32 * lr;
        for (p, x) in p.iter_mut().zip(&u) {
            if decay != 0.0 {
                *p += *p * -decay;
            }
            *p -= x;
        }
    }

    fn state_of(s: &AdafactorState) -> (usize, Option<super::Factors>) {
        (
            s.v.bytes() + s.m.as_ref().map_or(0, |m| f32_bytes(m.len())),
            None,
        )
    }

    fn scratch_bytes(&self, shape: ParamShape) -> usize {
        f32_bytes(shape.len())
    }
}
