//! Adapprox (Zhao et al. 2024): Adam's second moment kept, per matrix, as rank-`k` factors
//! `V ≈ Q Uᵀ` found by randomized subspace iteration ([`crate::kernels::range_finder`]), the rank
//! adapting between `k_min` and `k_max` to the relative approximation error.
//!
//! One step of a `rows x cols` matrix with gradient `g`:
//! 1. `V_t = β2 max(Q Uᵀ, 0) + (1 − β2) g²` (dense, for this step only): the carried
//!    low-rank estimate is clamped at zero before it is used (it can dip below where the true
//!    `V` is near zero, e.g. embedding rows of tokens not seen lately), so `V_t >= (1 − β2) g²`
//!    and no element's update exceeds Adam's bound `sqrt((1 − β2^t) / (1 − β2))` — without the
//!    clamp one such element gets `g / ε`, the RMS clip then scales the whole matrix's update
//!    down to it, and training diverges;
//! 2. `u = g / (sqrt(V_t / (1 − β2^t)) + ε)` (Adam's bias correction), then the RMS clip
//!    `u ← u / max(1, RMS(u) / d)`;
//! 3. `(Q, U)` ← the rank-`r` truncation of `V_t`'s sketch, `r` the smallest rank in
//!    `[k_min, min(k_max, s)]` whose relative error `‖V_t − Q Uᵀ‖_F / ‖V_t‖_F` is at most `ξ`
//!    (all ranks' errors come from one sketch of width `s = k + p`);
//! 4. with a first moment, `m ← β1 m + (1 − β1) u` and the step is along `m / (1 − β1^t)`,
//!    optionally scaled by the cosine guidance `γ = (1 + cos(u, m_{t−1})) / 2`; without, along
//!    `u`; after decoupled weight decay: `p ← p (1 − η λ) − η γ m̂`.
//!
//! Choices the paper leaves open, made here:
//! - **Rank adaptation.** The sketch width is `k + p`. If no rank up to the sketch width (and
//!   `k_max`) meets `ξ`, the factors keep the widest and `k` doubles for the next step (up to
//!   `k_max`); if rank `r` meets it, `k` moves to `r` when `r >= k` and only halfway down
//!   (`ceil((k + r) / 2)`) when `r < k`, so one easy step does not drop the rank at once: the
//!   smoothing over steps. Defaults: `k_min = 1`, `k_max = 64`, `ξ = 0.05`, `p = 5`, one power
//!   iteration; `k` starts at `k_min`.
//! - **Bias correction.** Both moments are bias-corrected as in Adam, so the first step is not
//!   `sqrt(1 / (1 − β2))` times too large before the clip.
//! - **Cosine guidance.** `γ_t = (1 + cos θ_t) / 2 ∈ [0, 1]` with `θ_t` the angle between this
//!   step's clipped update and the previous first moment (`γ = 1` when that is zero): when the
//!   fresh gradient direction disagrees with the momentum, the momentum is stale and the step
//!   shrinks (to half when orthogonal, to zero when opposite). Off by default.
//!
//! Vectors (and any parameter declared as one) keep the full second moment and follow the same
//! rule, so a matrix at full rank reduces to it exactly (tested).

use super::{
    check_beta, check_positive, clip_by_rms, f32_bytes, Factors, ParamShape, ParamSpec, Rule,
    Stepper,
};
use crate::kernels::gemm::{gemm, Mat};
use crate::kernels::range_finder::RangeSketch;
use crate::math::{pow, sqrt, sqrtf};
use crate::model::sampling::Rng;
use crate::{Error, Result};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Adapprox's hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdapproxParams {
    pub lr: f64,
    /// The first moment's decay, or none (the memory-lean variant).
    pub beta1: Option<f64>,
    pub beta2: f64,
    pub eps: f64,
    /// The clipping threshold `d`.
    pub clip: f64,
    pub weight_decay: f64,
    /// `k_min`: the lowest rank of a matrix's factors.
    pub rank_min: usize,
    /// `k_max`: the highest rank (clamped per matrix to where the factors would outgrow it).
    pub rank_max: usize,
    /// `ξ`: the relative error the rank is chosen to meet.
    pub error_target: f64,
    /// `p`: extra sketch columns beyond the target rank.
    pub oversample: usize,
    /// `l`: power iterations of the range finder.
    pub power_iters: usize,
    /// Scale the step by the cosine guidance (needs the first moment).
    pub guidance: bool,
    /// Seed of the Gaussian test matrices (each matrix draws from its own stream).
    pub seed: u64,
}

impl Default for AdapproxParams {
    fn default() -> Self {
        AdapproxParams {
            lr: 1e-3,
            beta1: Some(0.9),
            beta2: 0.999,
            eps: 1e-8,
            clip: 1.0,
            weight_decay: 0.0,
            rank_min: 1,
            rank_max: 64,
            error_target: 0.05,
            oversample: 5,
            power_iters: 1,
            guidance: false,
            seed: 0,
        }
    }
}

impl AdapproxParams {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<()> {
        super::check_lr(self.lr)?;
        if let Some(b) = self.beta1 {
            check_beta("beta1", b)?;
        }
        check_beta("beta2", self.beta2)?;
        check_positive("eps", self.eps, true)?;
        check_positive("clip", self.clip, true)?;
        check_positive("weight_decay", self.weight_decay, false)?;
        check_positive("error_target", self.error_target, false)?;
        if self.rank_min == 0 || self.rank_min > self.rank_max {
            return Err(Error::invalid(format!(
                "rank range [{}, {}] is empty (need 1 <= rank_min <= rank_max)",
                self.rank_min, self.rank_max
            )));
        }
        if self.guidance && self.beta1.is_none() {
            return Err(Error::invalid(
                "cosine guidance compares the update with the first moment: set beta1",
            ));
        }
        Ok(())
    }
}

/// Adapprox over declared parameters.
pub type Adapprox = Stepper<AdapproxParams>;

impl Adapprox {
    /// Adapprox for `params`.
    pub fn create(hp: AdapproxParams, params: Vec<ParamSpec>) -> Result<Self> {
        hp.validate()?;
        Stepper::new(hp, params)
    }
}

/// A matrix's second moment as rank-`rank` factors `Q` (`rows x rank`) and `U` (`cols x rank`).
pub struct LowRank {
    rows: usize,
    cols: usize,
    q: Vec<f32>,
    u: Vec<f32>,
    rank: usize,
    /// The target rank `k` of the next sketch.
    k: usize,
    /// The relative error of the factors kept.
    error: f64,
    rng: Rng,
}

/// The second moment of one parameter.
pub enum Moment {
    LowRank(LowRank),
    Full(Vec<f32>),
}

/// One parameter's Adapprox state.
pub struct AdapproxState {
    v: Moment,
    m: Option<Vec<f32>>,
}

impl AdapproxParams {
    /// The highest rank of a `rows x cols` matrix's factors: `k_max`, but never so high that
    /// the factors (`(rows + cols) k` values) outgrow the matrix, nor below `k_min`.
    fn rank_cap(&self, rows: usize, cols: usize) -> usize {
        let dense_break_even = rows * cols / (rows + cols);
        self.rank_max
            .min(dense_break_even)
            .max(self.rank_min)
            .min(rows)
            .min(cols)
    }

    /// Step 3: re-factors `v` (the dense `V_t`) and adapts the rank.
    fn refactor(&self, lr: &mut LowRank, v: &[f32]) {
        let cap = self.rank_cap(lr.rows, lr.cols);
        let sketch = RangeSketch::new(
            v,
            lr.rows,
            lr.cols,
            lr.k + self.oversample,
            self.power_iters,
            &mut lr.rng,
        );
        let widest = cap.min(sketch.width());
        let target = self.error_target;
        let met = (self.rank_min..=widest).find(|&r| sketch.relative_error(r) <= target);
        let rank = met.unwrap_or(widest);
        lr.k = match met {
            None => cap.min(2 * lr.k),
            Some(r) if r >= lr.k => r,
            Some(r) => r.max(lr.k - (lr.k - r) / 2),
        };
        let (q, u) = sketch.truncate(rank);
        lr.error = sketch.relative_error(rank);
        lr.q = q;
        lr.u = u;
        lr.rank = rank;
    }
}

impl Rule for AdapproxParams {
    type State = AdapproxState;
    const NAME: &'static str = "adapprox";

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn check_param(&self, spec: &ParamSpec) -> Result<()> {
        if let ParamShape::Matrix { rows, cols } = spec.shape {
            if self.rank_min > rows.min(cols) {
                return Err(Error::invalid(format!(
                    "rank_min {} is larger than matrix '{}' ({rows}x{cols}) allows",
                    self.rank_min, spec.name
                )));
            }
        }
        Ok(())
    }

    fn init(&self, spec: &ParamSpec, index: usize) -> AdapproxState {
        let v = match spec.shape {
            ParamShape::Matrix { rows, cols } => Moment::LowRank(LowRank {
                rows,
                cols,
                q: Vec::new(),
                u: Vec::new(),
                rank: 0,
                k: self.rank_min,
                error: 0.0,
                rng: Rng::new(self.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            }),
            ParamShape::Vector { len } => Moment::Full(vec![0.0; len]),
        };
        AdapproxState {
            v,
            m: self.beta1.map(|_| vec![0.0; spec.shape.len()]),
        }
    }

    fn update(&self, s: &mut AdapproxState, _shape: ParamShape, t: u64, p: &mut [f32], g: &[f32]) {
        let (b2, b2c) = (self.beta2 as f32, (1.0 - self.beta2) as f32);
        // Step 1: V_t, densely (for a vector, a copy of its full moment after the update).
        let v: Vec<f32> = match &mut s.v {
            Moment::LowRank(lr) => {
                let mut d = vec![0f32; g.len()];
                if lr.rank > 0 {
                    gemm(
                        b2,
                        Mat::new(&lr.q, lr.rows, lr.rank),
                        Mat::new(&lr.u, lr.cols, lr.rank).t(),
                        0.0,
                        &mut d,
                    );
                }
                d.iter_mut()
                    .zip(g)
                    .for_each(|(v, &g)| *v = v.max(0.0) + b2c * g * g);
                d
            }
            Moment::Full(v) => {
                v.iter_mut()
                    .zip(g)
                    .for_each(|(v, &g)| *v = b2 * *v + b2c * g * g);
                v.clone()
            }
        };
        // Step 2: the clipped, bias-corrected update.
        let bc2 = (1.0 - pow(self.beta2, t as f64)) as f32;
        let eps = self.eps as f32;
        let mut u: Vec<f32> = g
            .iter()
            .zip(&v)
            .map(|(&g, &v)| g / (sqrtf(v / bc2) + eps))
            .collect();
        clip_by_rms(&mut u, self.clip);
        // Step 3: the new factors.
        if let Moment::LowRank(lr) = &mut s.v {
            self.refactor(lr, &v);
        }
        // Step 4: the first moment, guidance, weight decay and the step.
        let mut gamma = 1.0f32;
        if let (Some(m), Some(b1)) = (&mut s.m, self.beta1) {
            if self.guidance {
                gamma = cosine_guidance(&u, m);
            }
            let bc1 = (1.0 - pow(b1, t as f64)) as f32;
            let (b, bc) = (b1 as f32, (1.0 - b1) as f32);
            for (m, x) in m.iter_mut().zip(u.iter_mut()) {
                *m = b * *m + bc * *x;
                *x = *m / bc1;
            }
        }
        let decay = (1.0 - self.lr * self.weight_decay) as f32;
        let step = self.lr as f32 * gamma;
        for (p, &x) in p.iter_mut().zip(&u) {
            *p = *p * decay - step * x;
        }
    }

    fn state_of(s: &AdapproxState) -> (usize, Option<Factors>) {
        let m = s.m.as_ref().map_or(0, |m| f32_bytes(m.len()));
        match &s.v {
            Moment::LowRank(lr) => (
                f32_bytes(lr.q.len() + lr.u.len()) + m,
                Some(Factors {
                    rank: lr.rank,
                    error: lr.error,
                }),
            ),
            Moment::Full(v) => (f32_bytes(v.len()) + m, None),
        }
    }

    fn scratch_bytes(&self, shape: ParamShape) -> usize {
        match shape {
            // V_t and u, plus the sketch (Q, Z and Bᵀ, the widest the rank allows).
            ParamShape::Matrix { rows, cols } => {
                let s = (self.rank_cap(rows, cols) + self.oversample)
                    .min(rows)
                    .min(cols);
                f32_bytes(2 * rows * cols + 2 * (rows + cols) * s)
            }
            ParamShape::Vector { len } => f32_bytes(2 * len),
        }
    }
}

/// `γ = (1 + cos(u, m)) / 2`, or 1 when either is zero.
fn cosine_guidance(u: &[f32], m: &[f32]) -> f32 {
    let (mut um, mut uu, mut mm) = (0f64, 0f64, 0f64);
    for (&a, &b) in u.iter().zip(m) {
        um += a as f64 * b as f64;
        uu += a as f64 * a as f64;
        mm += b as f64 * b as f64;
    }
    if uu == 0.0 || mm == 0.0 {
        return 1.0;
    }
    ((1.0 + um / sqrt(uu * mm)) / 2.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;
    use alloc::string::ToString;

    fn normal_vec(rng: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| rng.normal() as f32 * scale).collect()
    }

    /// Runs `hp` on one `rows x cols` parameter declared as a matrix and as a vector over the
    /// same gradients; returns the two final parameters and the matrix's optimizer.
    fn matrix_and_vector(
        hp: AdapproxParams,
        rows: usize,
        cols: usize,
        grads: &[Vec<f32>],
    ) -> (Vec<f32>, Vec<f32>, Adapprox) {
        let init = normal_vec(&mut Rng::new(1), rows * cols, 1.0);
        let mut mat = Adapprox::create(hp, vec![ParamSpec::matrix("w", rows, cols)]).unwrap();
        let mut vec_ = Adapprox::create(hp, vec![ParamSpec::vector("w", rows * cols)]).unwrap();
        let (mut a, mut b) = (init.clone(), init);
        for g in grads {
            mat.step(&mut [&mut a], &[g]).unwrap();
            vec_.step(&mut [&mut b], &[g]).unwrap();
        }
        (a, b, mat)
    }

    fn max_rel(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
            .fold(0.0, f32::max)
    }

    #[test]
    fn full_rank_reduces_to_the_dense_second_moment() {
        let (rows, cols) = (9, 14);
        let mut rng = Rng::new(4);
        let grads: Vec<Vec<f32>> = (0..12)
            .map(|t| normal_vec(&mut rng, rows * cols, if t == 5 { 1e-3 } else { 1.0 }))
            .collect();
        for (beta1, guidance, wd) in [
            (Some(0.9), false, 0.0),
            (None, false, 0.1),
            (Some(0.9), true, 0.01),
        ] {
            let hp = AdapproxParams {
                lr: 1e-2,
                beta1,
                guidance,
                weight_decay: wd,
                rank_min: rows,
                rank_max: rows,
                error_target: 0.0,
                ..AdapproxParams::default()
            };
            let (a, b, opt) = matrix_and_vector(hp, rows, cols, &grads);
            let d = max_rel(&a, &b);
            assert!(d < 2e-5, "beta1 {beta1:?} guidance {guidance}: {d}");
            let f = opt.state_bytes().params[0].factors.unwrap();
            assert_eq!(f.rank, rows);
            assert!(f.error < 1e-3, "full-rank error {}", f.error);
        }
    }

    #[test]
    fn first_step_is_sign_descent() {
        // V_1 = (1 - β2) g², bias-corrected to g²: u = g / (|g| + ε) ≈ sign(g), RMS ≈ 1, so no
        // clip; m̂_1 = u; p_1 = p_0 − η sign(g).
        let g = [0.5f32, -2.0, 1e-3, -7.0];
        let mut p = [1.0f32; 4];
        let hp = AdapproxParams {
            lr: 0.1,
            ..AdapproxParams::default()
        };
        let mut opt = Adapprox::create(hp, vec![ParamSpec::vector("b", 4)]).unwrap();
        opt.step(&mut [&mut p], &[&g]).unwrap();
        for (p, g) in p.iter().zip(g) {
            let want = 1.0 - 0.1 * g.signum();
            assert!((p - want).abs() < 1e-5, "{p} vs {want}");
        }
    }

    #[test]
    fn rank_one_second_moment_stays_rank_one_and_exact() {
        // g_t = c_t a bᵀ: every g_t² is a multiple of (a²)(b²)ᵀ, so V_t has rank one.
        let (rows, cols) = (12, 20);
        let mut rng = Rng::new(8);
        let a = normal_vec(&mut rng, rows, 1.0);
        let b = normal_vec(&mut rng, cols, 1.0);
        let grads: Vec<Vec<f32>> = [1.0f32, -0.3, 2.0, 0.7, -1.5]
            .iter()
            .map(|c| {
                (0..rows * cols)
                    .map(|i| c * a[i / cols] * b[i % cols])
                    .collect()
            })
            .collect();
        let hp = AdapproxParams {
            lr: 1e-2,
            rank_min: 1,
            rank_max: 6,
            error_target: 1e-3,
            ..AdapproxParams::default()
        };
        let (low, dense, opt) = matrix_and_vector(hp, rows, cols, &grads);
        let f = opt.state_bytes().params[0].factors.unwrap();
        assert_eq!(f.rank, 1);
        assert!(f.error < 1e-3, "{}", f.error);
        assert!(max_rel(&low, &dense) < 1e-4);
        // State: Q and U of rank one plus the first moment.
        assert_eq!(opt.state_bytes().total, 4 * ((rows + cols) + rows * cols));
    }

    #[test]
    fn rank_adapts_to_the_error_target() {
        let (rows, cols) = (20, 30);
        let mut rng = Rng::new(3);
        let grads: Vec<Vec<f32>> = (0..6)
            .map(|_| normal_vec(&mut rng, rows * cols, 1.0))
            .collect();
        let rank_for = |target: f64| {
            let hp = AdapproxParams {
                rank_min: 1,
                rank_max: 8,
                error_target: target,
                beta1: None,
                ..AdapproxParams::default()
            };
            let (_, _, opt) = matrix_and_vector(hp, rows, cols, &grads);
            let f = opt.state_bytes().params[0].factors.unwrap();
            (f.rank, f.error)
        };
        // A loose target is met by the leading (mean) direction of g²; a tight one is not met
        // at all, and the rank doubles to k_max (1, 2, 4, 8 over the first steps).
        let (loose, e_loose) = rank_for(0.9);
        assert_eq!(loose, 1, "error {e_loose}");
        let (tight, e_tight) = rank_for(1e-4);
        assert_eq!(tight, 8, "error {e_tight}");
        assert!(e_tight < e_loose && e_tight > 1e-4);
        // Memory: without a first moment the state is only the factors.
        let hp = AdapproxParams {
            rank_max: 8,
            error_target: 1e-4,
            beta1: None,
            ..AdapproxParams::default()
        };
        let (_, _, opt) = matrix_and_vector(hp, rows, cols, &grads);
        assert_eq!(opt.state_bytes().total, 4 * (rows + cols) * 8);
    }

    #[test]
    fn no_element_steps_past_adams_bound_when_the_factors_dip_below_zero() {
        // Embedding-like gradients: a few random rows per step, the rest zero. Rank-2 factors
        // of such a V go negative in places (without the clamp of the carried estimate this
        // test fails: an element there gets g / ε, or NaN). With no clip and no first moment
        // every step must stay within η sqrt((1 − β2^t) / (1 − β2)) per element.
        let (rows, cols) = (30, 6);
        let hp = AdapproxParams {
            lr: 1e-3,
            beta1: None,
            clip: 1e30,
            rank_min: 2,
            rank_max: 2,
            ..AdapproxParams::default()
        };
        let mut opt = Adapprox::create(hp, vec![ParamSpec::matrix("tok", rows, cols)]).unwrap();
        let mut rng = Rng::new(12);
        let mut p = vec![0f32; rows * cols];
        for t in 1..=40u64 {
            let mut g = vec![0f32; rows * cols];
            for _ in 0..3 {
                let r = (rng.next_u64() % rows as u64) as usize;
                for v in &mut g[r * cols..(r + 1) * cols] {
                    *v = rng.normal() as f32 * 0.1;
                }
            }
            let before = p.clone();
            opt.step(&mut [&mut p], &[&g]).unwrap();
            let bound = 1e-3 * sqrt((1.0 - 0.999f64.powi(t as i32)) / 1e-3) as f32 * 1.001;
            for (a, b) in p.iter().zip(&before) {
                assert!(
                    (a - b).abs() <= bound,
                    "step {t}: {} > {bound}",
                    (a - b).abs()
                );
            }
        }
    }

    #[test]
    fn guidance_closed_form() {
        assert_eq!(cosine_guidance(&[1.0, 2.0], &[2.0, 4.0]), 1.0);
        assert_eq!(cosine_guidance(&[1.0, 0.0], &[0.0, 3.0]), 0.5);
        assert_eq!(cosine_guidance(&[1.0, -1.0], &[-2.0, 2.0]), 0.0);
        assert_eq!(cosine_guidance(&[1.0, 2.0], &[0.0, 0.0]), 1.0);
    }

    #[test]
    fn bad_settings_are_named() {
        let m = || vec![ParamSpec::matrix("attn_q", 4, 6)];
        let err = |hp: AdapproxParams| Adapprox::create(hp, m()).err().unwrap().to_string();
        let d = AdapproxParams::default();
        assert!(err(AdapproxParams {
            rank_min: 5,
            rank_max: 3,
            ..d
        })
        .contains("rank range [5, 3] is empty"));
        assert!(err(AdapproxParams { rank_min: 0, ..d }).contains("is empty"));
        assert!(err(AdapproxParams {
            rank_min: 5,
            rank_max: 8,
            ..d
        })
        .contains("'attn_q' (4x6)"));
        assert!(err(AdapproxParams {
            beta1: None,
            guidance: true,
            ..d
        })
        .contains("set beta1"));
        assert!(err(AdapproxParams { beta2: 1.0, ..d }).contains("beta2 = 1"));
        assert!(err(AdapproxParams { lr: f64::NAN, ..d }).contains("learning rate"));
        // k_max larger than the matrix is clamped to it.
        let hp = AdapproxParams {
            rank_max: 100,
            error_target: 0.0,
            ..d
        };
        let mut opt = Adapprox::create(hp, m()).unwrap();
        let mut p = vec![0.5f32; 24];
        let g: Vec<f32> = normal_vec(&mut Rng::new(2), 24, 1.0);
        opt.step(&mut [&mut p], &[&g]).unwrap();
        opt.step(&mut [&mut p], &[&g]).unwrap();
        assert!(opt.state_bytes().params[0].factors.unwrap().rank <= 4);
    }
}
