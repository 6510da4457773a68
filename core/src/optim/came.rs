//! CAME, confidence-guided adaptive memory-efficient optimization (Luo et al., ACL 2023), as the
//! authors' `came-pytorch` computes it. On top of Adafactor's factored second moment (constant
//! `β2` here) and RMS-clipped update `u`:
//!
//! `m ← β1 m + (1 − β1) u` (Alg. 1 line 8), the instability `U = (u − m)² + ε2` (line 9),
//! factored like the second moment with decay `β3` into `R, C` (lines 10-11), and the update
//! `m / sqrt(Û)` with `Û_ij = R_i C_j / mean(R)` (lines 12-13): steps where the momentum and the
//! fresh update disagree are taken with less confidence. Vectors keep a full second moment and
//! step along `m`. Then `p ← p − η λ p − η · update`.
//!
//! State: the full first moment plus four factor vectors per matrix.

use super::adafactor::SecondMoment;
use super::factored::Factored;
use super::{
    check_beta, check_positive, clip_by_rms, f32_bytes, ParamShape, ParamSpec, Rule, Stepper,
};
use crate::Result;
use alloc::vec;
use alloc::vec::Vec;

/// CAME's hyperparameters (defaults: the authors').
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameParams {
    pub lr: f64,
    /// `ε1`, added to `g²`.
    pub eps1: f64,
    /// `ε2`, added to the instability.
    pub eps2: f64,
    /// The clipping threshold `d`.
    pub clip: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub beta3: f64,
    pub weight_decay: f64,
}

impl Default for CameParams {
    fn default() -> Self {
        CameParams {
            lr: 2e-4,
            eps1: 1e-30,
            eps2: 1e-16,
            clip: 1.0,
            beta1: 0.9,
            beta2: 0.999,
            beta3: 0.9999,
            weight_decay: 0.0,
        }
    }
}

impl CameParams {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<()> {
        super::check_lr(self.lr)?;
        check_positive("eps1", self.eps1, true)?;
        check_positive("eps2", self.eps2, true)?;
        check_positive("clip", self.clip, true)?;
        check_beta("beta1", self.beta1)?;
        check_beta("beta2", self.beta2)?;
        check_beta("beta3", self.beta3)?;
        check_positive("weight_decay", self.weight_decay, false)
    }
}

/// CAME over declared parameters.
pub type Came = Stepper<CameParams>;

impl Came {
    /// CAME for `params`.
    pub fn create(hp: CameParams, params: Vec<ParamSpec>) -> Result<Self> {
        hp.validate()?;
        Stepper::new(hp, params)
    }
}

/// One parameter's CAME state.
pub struct CameState {
    v: SecondMoment,
    m: Vec<f32>,
    /// The factored instability (matrices only).
    res: Option<Factored>,
}

impl Rule for CameParams {
    type State = CameState;
    const NAME: &'static str = "came";

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn init(&self, spec: &ParamSpec, _index: usize) -> CameState {
        CameState {
            v: SecondMoment::new(spec.shape),
            m: vec![0.0; spec.shape.len()],
            res: match spec.shape {
                ParamShape::Matrix { rows, cols } => Some(Factored::new(rows, cols)),
                ParamShape::Vector { .. } => None,
            },
        }
    }

    fn update(&self, s: &mut CameState, _shape: ParamShape, _t: u64, p: &mut [f32], g: &[f32]) {
        let mut u = vec![0f32; g.len()];
        s.v.normalize(g, self.eps1, self.beta2, &mut u);
        clip_by_rms(&mut u, self.clip);
        let (b1, b1c, eps2) = (
            self.beta1 as f32,
            (1.0 - self.beta1) as f32,
            self.eps2 as f32,
        );
        for (m, &x) in s.m.iter_mut().zip(&u) {
            *m = b1 * *m + b1c * x;
        }
        match &mut s.res {
            Some(res) => {
                for (x, &m) in u.iter_mut().zip(&s.m) {
                    *x = (*x - m) * (*x - m) + eps2;
                }
                res.accumulate(&u, self.beta3);
                u.copy_from_slice(&s.m);
                res.scale_by_rsqrt(&mut u);
            }
            None => u.copy_from_slice(&s.m),
        }
        let (lr, decay) = (self.lr as f32, (self.weight_decay * self.lr) as f32);
        for (p, x) in p.iter_mut().zip(&u) {
            if decay != 0.0 {
                *p += *p * -decay;
            }
            *p -= x * lr;
        }
    }

    fn state_of(s: &CameState) -> (usize, Option<super::Factors>) {
        let res = s.res.as_ref().map_or(0, Factored::bytes);
        (s.v.bytes() + f32_bytes(s.m.len()) + res, None)
    }

    fn scratch_bytes(&self, shape: ParamShape) -> usize {
        f32_bytes(shape.len())
    }
}
